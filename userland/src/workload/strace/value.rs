//! Argument values as strace prints them, and the bracket-aware scanner that finds where each one ends.
//!
//! Duties: turn the text of one argument (`"a\n"...`, `[3, 4]`, `{st_mode=S_IFREG|0644, ...}`,
//! `O_RDONLY|O_CLOEXEC`, `0x7ffd /* 35 vars */`) into a typed [`Arg`]. Invariant: only the scanner can
//! fail (an unterminated string or comment, a bracket that never closes or closes the wrong kind);
//! classification never fails, and text it cannot type is kept verbatim as [`Arg::Other`]. Nothing here
//! panics on any input.

use serde::{Deserialize, Serialize};

/// One argument of a system call (or a field of a struct, or an element of an array) as strace printed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Arg {
    /// A number: decimal, hexadecimal (`0x7f84...`, addresses above `i64::MAX` wrap to negative values) or
    /// octal with a leading zero (`0644`, as strace prints modes). `NULL` is `Int(0)`.
    Int(i64),
    /// A quoted string with its escapes decoded to bytes. `truncated` is set when strace cut it to its
    /// `-s` limit and printed `"..."...`.
    Str {
        /// The decoded bytes (`\n`, `\"`, `\x41`, octal `\177` already turned into bytes).
        bytes: Vec<u8>,
        /// Whether strace printed only a prefix of the real data.
        truncated: bool,
    },
    /// Symbolic constants joined by `|`, in printed order: `O_RDONLY|O_CLOEXEC`, `AT_FDCWD`, `S_IFREG|0644`.
    /// Numeric parts stay as text (`0644`).
    Flags(Vec<String>),
    /// `[...]`: execve's argv, the fds pipe2 returned, a wait status.
    Array(Vec<Arg>),
    /// `{...}`: a decoded struct; its named fields are [`Arg::Named`], `...` is `Other("...")`.
    Struct(Vec<Arg>),
    /// `name=value`: a struct field, or a named argument as in `clone(child_stack=NULL, flags=...)`.
    Named {
        /// The field or argument name (`st_mode`, `flags`).
        name: String,
        /// Its value.
        value: Box<Arg>,
    },
    /// Anything else, verbatim: `~[RTMIN RT_1]`, `makedev(0x1, 0x3)`, `8192*1024`, `...`,
    /// `WIFEXITED(s) && WEXITSTATUS(s) == 0`, `BTRFS_IOC_CLONE or FICLONE`.
    Other(String),
}

impl Arg {
    /// The number, if this is an [`Arg::Int`] (also seen through a [`Arg::Named`]).
    pub fn as_int(&self) -> Option<i64> {
        match self.unnamed() {
            Arg::Int(value) => Some(*value),
            _ => None,
        }
    }

    /// The string's bytes, if this is an [`Arg::Str`] (also seen through a [`Arg::Named`]).
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self.unnamed() {
            Arg::Str { bytes, .. } => Some(bytes),
            _ => None,
        }
    }

    /// The string as text (invalid UTF-8 replaced), if this is an [`Arg::Str`]; what paths use.
    pub fn as_text(&self) -> Option<String> {
        self.as_bytes().map(|bytes| String::from_utf8_lossy(bytes).into_owned())
    }

    /// Whether `flag` is one of the symbolic constants of an [`Arg::Flags`].
    pub fn has_flag(&self, flag: &str) -> bool {
        match self.unnamed() {
            Arg::Flags(names) => names.iter().any(|name| name == flag),
            _ => false,
        }
    }

    /// The value of the field `name` of an [`Arg::Struct`].
    pub fn field(&self, name: &str) -> Option<&Arg> {
        match self.unnamed() {
            Arg::Struct(fields) => fields.iter().find_map(|field| match field {
                Arg::Named { name: field_name, value } if field_name == name => Some(value.as_ref()),
                _ => None,
            }),
            _ => None,
        }
    }

    /// The value behind a [`Arg::Named`], or `self` for every other variant.
    pub fn unnamed(&self) -> &Arg {
        match self {
            Arg::Named { value, .. } => value.unnamed(),
            other => other,
        }
    }
}

/// What went wrong while scanning a line, at a byte offset of that line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    /// Byte offset in the line (0-based) where the problem was seen.
    pub offset: usize,
    /// What was expected there.
    pub problem: SyntaxProblem,
}

/// The kinds of syntax problems inside one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SyntaxProblem {
    /// Something specific was expected (`what`) but the text had `found` (empty at the end of the line).
    Expected { what: &'static str, found: String },
    /// A `"` opened a string that never closes on this line.
    UnterminatedString,
    /// A `/*` opened a comment that never closes on this line.
    UnterminatedComment,
    /// A bracket opened here never closes on this line.
    Unclosed { open: char },
    /// A closing bracket of the wrong kind for the one opened at `open`.
    Mismatched { open: char, close: char },
}

impl SyntaxError {
    pub(crate) fn expected(offset: usize, what: &'static str, line: &[u8]) -> SyntaxError {
        SyntaxError { offset, problem: SyntaxProblem::Expected { what, found: excerpt(line, offset) } }
    }
}

/// A short printable excerpt of `line` from `offset`, for error messages.
pub(crate) fn excerpt(line: &[u8], offset: usize) -> String {
    const EXCERPT_CHARS: usize = 24;
    let rest = line.get(offset..).unwrap_or_default();
    let text = String::from_utf8_lossy(rest);
    let mut shown: String = text.chars().take(EXCERPT_CHARS).collect();
    if text.chars().count() > EXCERPT_CHARS {
        shown.push_str("...");
    }
    shown
}

fn closer_of(open: u8) -> u8 {
    match open {
        b'(' => b')',
        b'[' => b']',
        _ => b'}',
    }
}

fn is_closer(byte: u8) -> bool {
    matches!(byte, b')' | b']' | b'}')
}

/// Walks `text` from `start`, stepping over strings, comments and balanced brackets, and returns the
/// offset of the first byte outside any bracket for which `stop` holds (or `text.len()`).
/// A closing bracket met outside any bracket always stops the walk: it belongs to the caller.
pub(crate) fn scan(text: &[u8], start: usize, stop: impl Fn(u8) -> bool) -> Result<usize, SyntaxError> {
    let mut open_brackets: Vec<(u8, usize)> = Vec::new();
    let mut pos = start;
    while let Some(&byte) = text.get(pos) {
        if open_brackets.is_empty() && (stop(byte) || is_closer(byte)) {
            return Ok(pos);
        }
        match byte {
            b'"' => pos = string_end(text, pos)?,
            b'/' if text.get(pos + 1) == Some(&b'*') => {
                pos = find(text, pos + 2, b"*/")
                    .map(|end| end + 2)
                    .ok_or(SyntaxError { offset: pos, problem: SyntaxProblem::UnterminatedComment })?;
            }
            b'(' | b'[' | b'{' => {
                open_brackets.push((byte, pos));
                pos += 1;
            }
            b')' | b']' | b'}' => match open_brackets.pop() {
                Some((open, _)) if closer_of(open) != byte => {
                    return Err(SyntaxError {
                        offset: pos,
                        problem: SyntaxProblem::Mismatched { open: char::from(open), close: char::from(byte) },
                    });
                }
                _ => pos += 1,
            },
            _ => pos += 1,
        }
    }
    match open_brackets.last() {
        Some(&(open, offset)) => {
            Err(SyntaxError { offset, problem: SyntaxProblem::Unclosed { open: char::from(open) } })
        }
        None => Ok(pos),
    }
}

/// Offset just past the closing quote of the string whose opening quote is at `quote`.
fn string_end(text: &[u8], quote: usize) -> Result<usize, SyntaxError> {
    let mut pos = quote + 1;
    while let Some(&byte) = text.get(pos) {
        match byte {
            b'\\' => pos += 2,
            b'"' => return Ok(pos + 1),
            _ => pos += 1,
        }
    }
    Err(SyntaxError { offset: quote, problem: SyntaxProblem::UnterminatedString })
}

/// Offset of the first occurrence of `needle` in `text` at or after `from`.
pub(crate) fn find(text: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let haystack = text.get(from..)?;
    haystack.windows(needle.len()).position(|window| window == needle).map(|at| from + at)
}

/// Offset where the value starting at `start` ends: its first `,` outside brackets or strings, or the
/// closing bracket of the list it sits in, or the end of `text`.
pub(crate) fn value_end(text: &[u8], start: usize) -> Result<usize, SyntaxError> {
    scan(text, start, |byte| byte == b',')
}

pub(crate) fn trim(text: &[u8]) -> &[u8] {
    let start = text.iter().position(|byte| !byte.is_ascii_whitespace()).unwrap_or(text.len());
    let end = text.iter().rposition(|byte| !byte.is_ascii_whitespace()).map_or(start, |last| last + 1);
    text.get(start..end).unwrap_or_default()
}

/// Types the text of one value. Never fails: text that does not fit a typed variant is [`Arg::Other`].
/// Expects text the scanner accepted; anything else still yields a value.
pub(crate) fn classify(raw: &[u8]) -> Arg {
    let raw = trim(raw);
    let verbatim = || Arg::Other(String::from_utf8_lossy(raw).into_owned());
    let without_comments = strip_comments(raw);
    let core = trim(&without_comments);
    match core.first() {
        None => verbatim(),
        Some(b'"') => match decode_string(core) {
            Some((bytes, b"")) => Arg::Str { bytes, truncated: false },
            Some((bytes, b"...")) => Arg::Str { bytes, truncated: true },
            _ => verbatim(),
        },
        Some(&open @ (b'[' | b'{')) if encloses_all(core) => {
            let inner = core.get(1..core.len() - 1).unwrap_or_default();
            match split_list(inner) {
                Some(items) if open == b'[' => Arg::Array(items.iter().map(|item| classify(item)).collect()),
                Some(items) => Arg::Struct(items.iter().map(|item| classify_field(item)).collect()),
                None => verbatim(),
            }
        }
        Some(_) => {
            if let Some(value) = parse_int(core) {
                Arg::Int(value)
            } else if core == b"NULL" {
                Arg::Int(0)
            } else if let Some(named) = split_named(core) {
                named
            } else if let Some(flags) = parse_flags(core) {
                Arg::Flags(flags)
            } else {
                verbatim()
            }
        }
    }
}

/// A struct field: `name=value` or a bare value.
fn classify_field(raw: &[u8]) -> Arg {
    let raw = trim(raw);
    split_named(raw).unwrap_or_else(|| classify(raw))
}

/// `name=value` (but not `a == b`) as [`Arg::Named`].
fn split_named(text: &[u8]) -> Option<Arg> {
    let name_len = identifier_len(text);
    if name_len == 0 || text.get(name_len) != Some(&b'=') || text.get(name_len + 1) == Some(&b'=') {
        return None;
    }
    let name = String::from_utf8_lossy(text.get(..name_len)?).into_owned();
    let value = classify(text.get(name_len + 1..)?);
    Some(Arg::Named { name, value: Box::new(value) })
}

/// Length of the C identifier at the start of `text` (0 if none).
pub(crate) fn identifier_len(text: &[u8]) -> usize {
    match text.first() {
        Some(first) if first.is_ascii_alphabetic() || *first == b'_' => {
            text.iter().take_while(|byte| byte.is_ascii_alphanumeric() || **byte == b'_').count()
        }
        _ => 0,
    }
}

/// Whether the bracket opening `text` closes exactly at its last byte.
fn encloses_all(text: &[u8]) -> bool {
    match (text.first(), scan(text, 1, |_| false)) {
        (Some(&open), Ok(close)) => close + 1 == text.len() && text.get(close) == Some(&closer_of(open)),
        _ => false,
    }
}

/// The comma-separated items of a list's inside, or `None` when the scanner rejects it.
fn split_list(inner: &[u8]) -> Option<Vec<&[u8]>> {
    let mut items = Vec::new();
    if trim(inner).is_empty() {
        return Some(items);
    }
    let mut start = 0;
    loop {
        let end = value_end(inner, start).ok()?;
        items.push(inner.get(start..end)?);
        match inner.get(end) {
            Some(b',') => start = end + 1,
            None => return Some(items),
            Some(_) => return None,
        }
    }
}

/// `text` with every `/* ... */` comment outside strings removed.
fn strip_comments(text: &[u8]) -> Vec<u8> {
    let mut kept = Vec::with_capacity(text.len());
    let mut pos = 0;
    while let Some(&byte) = text.get(pos) {
        if byte == b'"' {
            let end = string_end(text, pos).unwrap_or(text.len());
            kept.extend_from_slice(text.get(pos..end).unwrap_or_default());
            pos = end;
        } else if byte == b'/' && text.get(pos + 1) == Some(&b'*') {
            pos = find(text, pos + 2, b"*/").map_or(text.len(), |end| end + 2);
        } else {
            kept.push(byte);
            pos += 1;
        }
    }
    kept
}

/// Decodes the quoted string at the start of `text`; returns its bytes and the text after the closing quote.
fn decode_string(text: &[u8]) -> Option<(Vec<u8>, &[u8])> {
    let mut bytes = Vec::new();
    let mut pos = 1;
    loop {
        match *text.get(pos)? {
            b'"' => return Some((bytes, text.get(pos + 1..)?)),
            b'\\' => {
                let (byte, width) = decode_escape(text.get(pos + 1..)?)?;
                bytes.push(byte);
                pos += 1 + width;
            }
            byte => {
                bytes.push(byte);
                pos += 1;
            }
        }
    }
}

/// Decodes the escape after a backslash; returns the byte and how many bytes of `after` it used.
fn decode_escape(after: &[u8]) -> Option<(u8, usize)> {
    const MAX_OCTAL_DIGITS: usize = 3;
    const MAX_HEX_DIGITS: usize = 2;
    let first = *after.first()?;
    let simple = match first {
        b'n' => Some(b'\n'),
        b't' => Some(b'\t'),
        b'r' => Some(b'\r'),
        b'v' => Some(0x0b),
        b'f' => Some(0x0c),
        b'a' => Some(0x07),
        b'b' => Some(0x08),
        b'e' => Some(0x1b),
        _ => None,
    };
    if let Some(byte) = simple {
        return Some((byte, 1));
    }
    if first == b'x' {
        let digits = after.iter().skip(1).take(MAX_HEX_DIGITS).take_while(|b| b.is_ascii_hexdigit()).count();
        if digits > 0 {
            let text = std::str::from_utf8(after.get(1..=digits)?).ok()?;
            return Some((u8::from_str_radix(text, 16).ok()?, 1 + digits));
        }
    }
    if (b'0'..=b'7').contains(&first) {
        let digits = after.iter().take(MAX_OCTAL_DIGITS).take_while(|b| (b'0'..=b'7').contains(*b)).count();
        let text = std::str::from_utf8(after.get(..digits)?).ok()?;
        // Three octal digits can exceed 255 (`\777`); strace never prints that, so keep the low byte.
        let value = u32::from_str_radix(text, 8).ok()?;
        return Some(((value & 0xff) as u8, digits));
    }
    // `\\`, `\"` and any unknown escape stand for the character itself.
    Some((first, 1))
}

/// Parses a decimal, `0x` hexadecimal or leading-zero octal integer, optionally negative.
pub(crate) fn parse_int(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, text),
    };
    let magnitude = if let Some(hex) = digits.strip_prefix(b"0x") {
        parse_radix(hex, 16)? as i64
    } else if digits.len() > 1 && digits.first() == Some(&b'0') {
        parse_radix(digits, 8)? as i64
    } else {
        let value = parse_radix(digits, 10)?;
        i64::try_from(value).unwrap_or(value as i64)
    };
    Some(if negative { magnitude.wrapping_neg() } else { magnitude })
}

fn parse_radix(digits: &[u8], radix: u32) -> Option<u64> {
    if digits.is_empty() || !digits.iter().all(|byte| char::from(*byte).is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(std::str::from_utf8(digits).ok()?, radix).ok()
}

/// `A|B|0644` as its parts, if every part is a constant name or a number.
fn parse_flags(text: &[u8]) -> Option<Vec<String>> {
    let parts: Vec<&[u8]> = text.split(|byte| *byte == b'|').collect();
    let is_part = |part: &&[u8]| !part.is_empty() && part.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_');
    if !parts.iter().all(is_part) {
        return None;
    }
    Some(parts.iter().map(|part| String::from_utf8_lossy(part).into_owned()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &str) -> Arg {
        Arg::Str { bytes: value.as_bytes().to_vec(), truncated: false }
    }

    fn flags(names: &[&str]) -> Arg {
        Arg::Flags(names.iter().map(|name| name.to_string()).collect())
    }

    fn named(name: &str, value: Arg) -> Arg {
        Arg::Named { name: name.to_string(), value: Box::new(value) }
    }

    #[test]
    fn numbers_in_every_base_strace_prints() {
        assert_eq!(classify(b"42"), Arg::Int(42));
        assert_eq!(classify(b"-1"), Arg::Int(-1));
        assert_eq!(classify(b"0x7f8439e4d000"), Arg::Int(0x7f84_39e4_d000));
        assert_eq!(classify(b"0644"), Arg::Int(0o644));
        assert_eq!(classify(b"0"), Arg::Int(0));
        assert_eq!(classify(b"NULL"), Arg::Int(0));
        assert_eq!(classify(b"0xffffffffffffffff"), Arg::Int(-1));
        assert_eq!(classify(b"9223372035781033984"), Arg::Int(9_223_372_035_781_033_984));
        assert_eq!(classify(b"0x7fff330dde48 /* 35 vars */"), Arg::Int(0x7fff_330d_de48));
    }

    #[test]
    fn strings_decode_every_escape_and_note_truncation() {
        assert_eq!(classify(br#""a\nb\"c\\""#), text("a\nb\"c\\"));
        assert_eq!(classify(br#""\x41\177\0""#), Arg::Str { bytes: vec![b'A', 0o177, 0], truncated: false });
        assert_eq!(classify(br#""\1\2\3""#), Arg::Str { bytes: vec![1, 2, 3], truncated: false });
        assert_eq!(
            classify(br#""\177ELF\2\1"..."#),
            Arg::Str { bytes: vec![0o177, b'E', b'L', b'F', 2, 1], truncated: true }
        );
        assert_eq!(classify(br#""a, (b""#), text("a, (b"));
    }

    #[test]
    fn flags_arrays_structs_and_named_fields() {
        assert_eq!(classify(b"O_RDONLY|O_CLOEXEC"), flags(&["O_RDONLY", "O_CLOEXEC"]));
        assert_eq!(classify(b"AT_FDCWD"), flags(&["AT_FDCWD"]));
        assert_eq!(classify(b"[3, 4]"), Arg::Array(vec![Arg::Int(3), Arg::Int(4)]));
        assert_eq!(classify(b"[]"), Arg::Array(vec![]));
        assert_eq!(classify(br#"["sh", "-c"]"#), Arg::Array(vec![text("sh"), text("-c")]));
        let stat = classify(b"{st_mode=S_IFREG|0644, st_size=14, ...}");
        assert_eq!(
            stat,
            Arg::Struct(vec![
                named("st_mode", flags(&["S_IFREG", "0644"])),
                named("st_size", Arg::Int(14)),
                Arg::Other("...".to_string()),
            ])
        );
        assert_eq!(stat.field("st_size").and_then(Arg::as_int), Some(14));
        assert_eq!(classify(b"flags=CLONE_VM|SIGCHLD"), named("flags", flags(&["CLONE_VM", "SIGCHLD"])));
    }

    #[test]
    fn unusual_values_stay_verbatim() {
        let status = b"[{WIFEXITED(s) && WEXITSTATUS(s) == 0}]";
        assert_eq!(
            classify(status),
            Arg::Array(vec![Arg::Struct(vec![Arg::Other("WIFEXITED(s) && WEXITSTATUS(s) == 0".to_string())])])
        );
        assert_eq!(classify(b"~[RTMIN RT_1]"), Arg::Other("~[RTMIN RT_1]".to_string()));
        assert_eq!(classify(b"makedev(0x1, 0x3)"), Arg::Other("makedev(0x1, 0x3)".to_string()));
        assert_eq!(classify(b"8192*1024"), Arg::Other("8192*1024".to_string()));
        assert_eq!(classify(b"[a] [b]"), Arg::Other("[a] [b]".to_string()));
    }

    #[test]
    fn scanner_finds_value_ends_and_rejects_broken_brackets() {
        let args = br#""a,b", {x=[1, 2]}, f(3, 4)) = 0"#;
        assert_eq!(value_end(args, 0), Ok(5));
        assert_eq!(value_end(args, 6), Ok(17));
        assert_eq!(value_end(args, 18), Ok(26));
        assert_eq!(
            value_end(b"[1, 2", 0),
            Err(SyntaxError { offset: 0, problem: SyntaxProblem::Unclosed { open: '[' } })
        );
        assert_eq!(
            value_end(b"{1]", 0),
            Err(SyntaxError { offset: 2, problem: SyntaxProblem::Mismatched { open: '{', close: ']' } })
        );
        assert_eq!(
            value_end(br#""abc"#, 0),
            Err(SyntaxError { offset: 0, problem: SyntaxProblem::UnterminatedString })
        );
        assert_eq!(
            value_end(b"0x1 /* 3 vars", 0),
            Err(SyntaxError { offset: 4, problem: SyntaxProblem::UnterminatedComment })
        );
    }
}

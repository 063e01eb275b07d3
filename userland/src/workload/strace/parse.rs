//! Reading `strace -f -o FILE` output, line by line, into a [`StraceLog`].
//!
//! Duties: split each line into pid, optional timestamp (`-t`, `-tt`, `-ttt`) and body; parse the body
//! (a call, an `<unfinished ...>` call, a `<... NAME resumed>` tail, a `--- signal ---` or a `+++ exit +++`
//! line); merge each unfinished call with its resumption by pid. Invariants: every error names the line
//! and says what was expected; no input makes the parser panic; a pid has at most one unfinished call.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use super::error::{LoadError, ParseError, ParseProblem};
use super::event::{Call, CallResult, EventKind, StraceLog, TraceEvent};
use super::value::{Arg, SyntaxError, classify, find, identifier_len, parse_int, scan, trim, value_end};

const UNFINISHED: &[u8] = b"<unfinished ...>";
const RESUMED_OPEN: &[u8] = b"<... ";
const RESUMED_CLOSE: &[u8] = b" resumed>";
const EXIT_MARK: &[u8] = b"+++";
const SIGNAL_MARK: &[u8] = b"---";
const NANOS_PER_SECOND: u32 = 1_000_000_000;
const FRACTION_DIGITS_MAX: usize = 9;

/// Reads and parses the log at `path`; messages name the file as given.
pub fn parse_file(path: &Path) -> Result<StraceLog, LoadError> {
    let source = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|error| LoadError::Io { path: source.clone(), error })?;
    parse_log(&source, &bytes).map_err(LoadError::Parse)
}

/// Parses a whole log; `source` names it in error messages (a path, or a label such as `"<stdin>"`).
pub fn parse_log(source: &str, text: &[u8]) -> Result<StraceLog, ParseError> {
    let mut builder = LogBuilder { source, events: Vec::new(), unfinished: BTreeMap::new() };
    let mut lines = text.split(|byte| *byte == b'\n').enumerate().peekable();
    while let Some((index, line)) = lines.next() {
        let number = index + 1;
        let is_last = lines.peek().is_none();
        if is_last {
            if line.is_empty() {
                break;
            }
            return Err(ParseError::at_line(source, number, ParseProblem::TruncatedLastLine));
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if trim(line).is_empty() {
            continue;
        }
        let parsed = parse_line(line).map_err(|error| ParseError::from_syntax(source, number, error))?;
        builder.add(number, parsed)?;
    }
    Ok(StraceLog { source: source.to_string(), events: builder.events })
}

/// A call left `<unfinished ...>`: where its event sits until `<... NAME resumed>` completes it.
struct Unfinished {
    event_index: usize,
    name: String,
    line: usize,
}

struct LogBuilder<'a> {
    source: &'a str,
    events: Vec<TraceEvent>,
    unfinished: BTreeMap<u32, Unfinished>,
}

impl LogBuilder<'_> {
    fn add(&mut self, number: usize, line: Line) -> Result<(), ParseError> {
        let Line { pid, time, body } = line;
        let kind = match body {
            Body::Call { call } => {
                self.refuse_if_unfinished(number, pid, &call.name)?;
                EventKind::Call(call)
            }
            Body::Unfinished { name, args } => {
                self.refuse_if_unfinished(number, pid, &name)?;
                let pending = Unfinished { event_index: self.events.len(), name: name.clone(), line: number };
                self.unfinished.insert(pid, pending);
                let call = Call { name, args, result: CallResult::Unfinished, resumed_line: None, duration: None };
                EventKind::Call(call)
            }
            Body::Resumed { name, args, result, duration } => {
                return self.resume(number, pid, name, args, result, duration);
            }
            Body::Process(kind) => {
                match &kind {
                    // A process that dies inside a call never resumes it; it stays `Unfinished`.
                    EventKind::Exited { .. } | EventKind::Killed { .. } => {
                        self.unfinished.remove(&pid);
                    }
                    // The exec'ing thread continues under its leader's pid; the leader's own call is gone.
                    EventKind::Superseded { leader } => {
                        self.unfinished.remove(leader);
                        if let Some(pending) = self.unfinished.remove(&pid) {
                            if let Some(event) = self.events.get_mut(pending.event_index) {
                                event.pid = *leader;
                            }
                            self.unfinished.insert(*leader, pending);
                        }
                    }
                    _ => {}
                }
                kind
            }
        };
        self.events.push(TraceEvent { line: number, pid, time, kind });
        Ok(())
    }

    fn refuse_if_unfinished(&self, number: usize, pid: u32, name: &str) -> Result<(), ParseError> {
        match self.unfinished.get(&pid) {
            Some(pending) => Err(ParseError::at_line(
                self.source,
                number,
                ParseProblem::StartedWhileUnfinished {
                    pid,
                    name: name.to_string(),
                    pending: pending.name.clone(),
                    pending_line: pending.line,
                },
            )),
            None => Ok(()),
        }
    }

    fn resume(
        &mut self,
        number: usize,
        pid: u32,
        name: String,
        args: Vec<Arg>,
        result: CallResult,
        duration: Option<Duration>,
    ) -> Result<(), ParseError> {
        let problem = match self.unfinished.remove(&pid) {
            None => ParseProblem::ResumedWithoutStart { pid, name },
            Some(pending) if pending.name != name => {
                ParseProblem::ResumedOtherCall { pid, name, pending: pending.name, pending_line: pending.line }
            }
            Some(pending) => {
                if let Some(TraceEvent { kind: EventKind::Call(call), .. }) = self.events.get_mut(pending.event_index) {
                    call.args.extend(args);
                    call.result = result;
                    call.resumed_line = Some(number);
                    call.duration = duration;
                }
                return Ok(());
            }
        };
        Err(ParseError::at_line(self.source, number, problem))
    }
}

/// One line, before unfinished calls are paired with their resumptions.
#[derive(Debug, PartialEq)]
pub(crate) struct Line {
    pid: u32,
    time: Option<Duration>,
    body: Body,
}

#[derive(Debug, PartialEq)]
enum Body {
    /// `name(args) = result`.
    Call { call: Call },
    /// `name(args <unfinished ...>`: the first arguments only.
    Unfinished { name: String, args: Vec<Arg> },
    /// `<... name resumed>args) = result`: the remaining arguments and the result.
    Resumed { name: String, args: Vec<Arg>, result: CallResult, duration: Option<Duration> },
    /// A signal, stop or process end line.
    Process(EventKind),
}

/// Parses one line (without its newline). Offsets in errors are byte offsets in `line`.
pub(crate) fn parse_line(line: &[u8]) -> Result<Line, SyntaxError> {
    let line = line.get(..trim_end_len(line)).unwrap_or_default();
    let pid_len = line.iter().take_while(|byte| byte.is_ascii_digit()).count();
    if pid_len == 0 {
        return Err(SyntaxError::expected(0, "a pid starting the line (record with `strace -f -o FILE`)", line));
    }
    let pid = parse_int(line.get(..pid_len).unwrap_or_default())
        .and_then(|pid| u32::try_from(pid).ok())
        .ok_or_else(|| SyntaxError::expected(0, "a pid that fits in 32 bits", line))?;
    let mut pos = skip_spaces(line, pid_len);
    if pos == pid_len {
        return Err(SyntaxError::expected(pos, "a space after the pid", line));
    }
    let mut time = None;
    if line.get(pos).is_some_and(u8::is_ascii_digit) {
        let token_len = line.iter().skip(pos).take_while(|byte| !byte.is_ascii_whitespace()).count();
        let token = line.get(pos..pos + token_len).unwrap_or_default();
        time = Some(
            parse_timestamp(token)
                .ok_or_else(|| SyntaxError::expected(pos, "a timestamp (HH:MM:SS.micros or seconds.micros)", line))?,
        );
        pos = skip_spaces(line, pos + token_len);
    }
    let body = parse_body(line, pos)?;
    Ok(Line { pid, time, body })
}

fn parse_body(line: &[u8], start: usize) -> Result<Body, SyntaxError> {
    let rest = line.get(start..).unwrap_or_default();
    if rest.starts_with(EXIT_MARK) {
        parse_exit(line, start).map(Body::Process)
    } else if rest.starts_with(SIGNAL_MARK) {
        parse_signal(line, start).map(Body::Process)
    } else if rest.starts_with(RESUMED_OPEN) {
        parse_resumed(line, start)
    } else {
        parse_call(line, start)
    }
}

/// The text between `start_mark ` and ` end_mark` at the ends of the line, as offsets into `line`.
fn between_marks(line: &[u8], start: usize, mark: &[u8], what: &'static str) -> Result<(usize, usize), SyntaxError> {
    let inner_start = start + mark.len() + 1;
    let closed = line.len() > inner_start + mark.len() && line.ends_with(mark);
    let inner_end = line.len().saturating_sub(mark.len() + 1);
    if !closed || line.get(inner_start - 1) != Some(&b' ') || line.get(inner_end) != Some(&b' ') {
        return Err(SyntaxError::expected(line.len().min(start + mark.len()), what, line));
    }
    Ok((inner_start, inner_end))
}

/// `+++ exited with N +++`, `+++ killed by SIG [(core dumped)] +++`, `+++ superseded by execve in pid N +++`.
fn parse_exit(line: &[u8], start: usize) -> Result<EventKind, SyntaxError> {
    const EXPECTED: &str =
        "`+++ exited with N +++`, `+++ killed by SIGNAL +++` or `+++ superseded by execve in pid N +++`";
    let (inner_start, inner_end) = between_marks(line, start, EXIT_MARK, EXPECTED)?;
    let inner = line.get(inner_start..inner_end).unwrap_or_default();
    let fail = || SyntaxError::expected(inner_start, EXPECTED, line);
    if let Some(status) = inner.strip_prefix(b"exited with ") {
        let status = parse_int(status).and_then(|status| i32::try_from(status).ok()).ok_or_else(fail)?;
        Ok(EventKind::Exited { status })
    } else if let Some(killed) = inner.strip_prefix(b"killed by ") {
        let name_len = identifier_len(killed);
        let signal = killed.get(..name_len).filter(|name| !name.is_empty()).ok_or_else(fail)?;
        let core_dumped = match trim(killed.get(name_len..).unwrap_or_default()) {
            b"" => false,
            b"(core dumped)" => true,
            _ => return Err(fail()),
        };
        Ok(EventKind::Killed { signal: lossy(signal), core_dumped })
    } else if let Some(leader) = inner.strip_prefix(b"superseded by execve in pid ") {
        let leader = parse_int(leader).and_then(|pid| u32::try_from(pid).ok()).ok_or_else(fail)?;
        Ok(EventKind::Superseded { leader })
    } else {
        Err(fail())
    }
}

/// `--- SIGCHLD {...} ---` or `--- stopped by SIGSTOP ---`.
fn parse_signal(line: &[u8], start: usize) -> Result<EventKind, SyntaxError> {
    const EXPECTED: &str = "`--- SIGNAL {details} ---` or `--- stopped by SIGNAL ---`";
    let (inner_start, inner_end) = between_marks(line, start, SIGNAL_MARK, EXPECTED)?;
    let inner = line.get(inner_start..inner_end).unwrap_or_default();
    if let Some(stopped) = inner.strip_prefix(b"stopped by ") {
        return Ok(EventKind::Stopped { signal: lossy(trim(stopped)) });
    }
    let name_len = identifier_len(inner);
    if name_len == 0 {
        return Err(SyntaxError::expected(inner_start, "a signal name", line));
    }
    let info_start = skip_spaces(line, inner_start + name_len);
    let info = if info_start >= inner_end {
        None
    } else {
        let bounded = line.get(..inner_end).unwrap_or_default();
        let info_end = scan(bounded, info_start, |_| false)?;
        if info_end != inner_end {
            return Err(SyntaxError::expected(info_end, "the end of the signal details", line));
        }
        Some(classify(bounded.get(info_start..).unwrap_or_default()))
    };
    Ok(EventKind::Signal { signal: lossy(inner.get(..name_len).unwrap_or_default()), info })
}

/// `name(args) = result` or `name(args <unfinished ...>`.
fn parse_call(line: &[u8], start: usize) -> Result<Body, SyntaxError> {
    let name_len = line.iter().skip(start).take_while(|byte| byte.is_ascii_alphanumeric() || **byte == b'_').count();
    let open = start + name_len;
    if name_len == 0 || line.get(open) != Some(&b'(') {
        return Err(SyntaxError::expected(
            open,
            "a system call `name(`, `<... name resumed>`, `--- SIGNAL ---` or `+++ ... +++`",
            line,
        ));
    }
    let name = lossy(line.get(start..open).unwrap_or_default());
    if line.ends_with(UNFINISHED) {
        let before = line.get(..line.len() - UNFINISHED.len()).unwrap_or_default();
        let (args, _) = parse_args(before, open + 1, ArgsEnd::EndOfText)?;
        return Ok(Body::Unfinished { name, args });
    }
    let (args, close) = parse_args(line, open + 1, ArgsEnd::Parenthesis)?;
    let (result, duration) = parse_result(line, close + 1)?;
    Ok(Body::Call { call: Call { name, args, result, resumed_line: None, duration } })
}

/// `<... name resumed>rest of args) = result`.
fn parse_resumed(line: &[u8], start: usize) -> Result<Body, SyntaxError> {
    let name_start = start + RESUMED_OPEN.len();
    let name_len = identifier_len(line.get(name_start..).unwrap_or_default());
    let name_end = name_start + name_len;
    let closes = line.get(name_end..).is_some_and(|rest| rest.starts_with(RESUMED_CLOSE));
    if name_len == 0 || !closes {
        return Err(SyntaxError::expected(name_start, "`<... name resumed>`", line));
    }
    let name = lossy(line.get(name_start..name_end).unwrap_or_default());
    let (args, close) = parse_args(line, name_end + RESUMED_CLOSE.len(), ArgsEnd::ResumedParenthesis)?;
    let (result, duration) = parse_result(line, close + 1)?;
    Ok(Body::Resumed { name, args, result, duration })
}

/// Where an argument list stops.
#[derive(Clone, Copy, PartialEq)]
enum ArgsEnd {
    /// At `)`: a whole call.
    Parenthesis,
    /// At `)`, and the list may start with the `,` that followed the arguments before the interruption.
    ResumedParenthesis,
    /// At the end of the text: the arguments printed before `<unfinished ...>`.
    EndOfText,
}

/// Parses arguments from `start`; returns them and the offset of the closing `)` (or of the text's end).
fn parse_args(text: &[u8], start: usize, end: ArgsEnd) -> Result<(Vec<Arg>, usize), SyntaxError> {
    let mut args = Vec::new();
    let mut pos = start;
    loop {
        pos = skip_spaces(text, pos);
        let rest = text.get(pos..).unwrap_or_default();
        // `read(0,  <unfinished ...>) = ?` and `<... wait4 resumed> <unfinished ...>) = ?`: the process died in
        // the call; the marker stands where the undecoded arguments would be.
        if rest.starts_with(UNFINISHED) {
            pos += UNFINISHED.len();
            continue;
        }
        match (rest.first(), end) {
            (None, ArgsEnd::EndOfText) => return Ok((args, pos)),
            (None, _) => return Err(SyntaxError::expected(pos, "`)` closing the arguments", text)),
            (Some(b')'), ArgsEnd::Parenthesis | ArgsEnd::ResumedParenthesis) => return Ok((args, pos)),
            (Some(b','), ArgsEnd::ResumedParenthesis) if args.is_empty() => {
                pos += 1;
                continue;
            }
            _ => {}
        }
        let value_stop = value_end(text, pos)?;
        if value_stop == pos {
            return Err(SyntaxError::expected(pos, "an argument", text));
        }
        args.push(classify(text.get(pos..value_stop).unwrap_or_default()));
        pos = skip_spaces(text, value_stop);
        match text.get(pos) {
            Some(b',') => pos += 1,
            Some(b')') | None => {}
            Some(_) => return Err(SyntaxError::expected(pos, "`,` or `)` after an argument", text)),
        }
    }
}

/// ` = result [<duration>]` after the closing parenthesis at `start - 1`.
fn parse_result(line: &[u8], start: usize) -> Result<(CallResult, Option<Duration>), SyntaxError> {
    let equals = skip_spaces(line, start);
    if line.get(equals) != Some(&b'=') {
        return Err(SyntaxError::expected(equals, "` = ` and the return value", line));
    }
    let value_start = skip_spaces(line, equals + 1);
    let mut text = line.get(value_start..).unwrap_or_default();
    let mut duration = None;
    if let Some((before, spent)) = split_duration(text) {
        text = before;
        duration = Some(spent);
    }
    if let Some(after) = text.strip_prefix(b"?") {
        return Ok((CallResult::Unknown { errno: errno_name(trim(after)).map(lossy) }, duration));
    }
    let number_len =
        text.iter().take_while(|byte| byte.is_ascii_hexdigit() || **byte == b'x' || **byte == b'-').count();
    let value = parse_int(text.get(..number_len).unwrap_or_default())
        .ok_or_else(|| SyntaxError::expected(value_start, "a return value (a number or `?`)", line))?;
    let rest = trim(text.get(number_len..).unwrap_or_default());
    if value < 0
        && let Some(errno) = errno_name(rest)
    {
        let explanation = trim(rest.get(errno.len()..).unwrap_or_default());
        let message = match explanation {
            [] => None,
            [b'(', inner @ .., b')'] => Some(lossy(inner)),
            other => Some(lossy(other)),
        };
        return Ok((CallResult::Error { errno: lossy(errno), message }, duration));
    }
    let annotation = (!rest.is_empty()).then(|| lossy(rest));
    Ok((CallResult::Value { value, annotation }, duration))
}

/// The errno name (`ENOENT`, `ERESTARTSYS`) starting `text`, if it starts with one.
fn errno_name(text: &[u8]) -> Option<&[u8]> {
    let len = identifier_len(text);
    let name = text.get(..len)?;
    let is_errno = len > 1
        && name.first() == Some(&b'E')
        && name.iter().all(|byte| byte.is_ascii_uppercase() || byte.is_ascii_digit() || *byte == b'_');
    is_errno.then_some(name)
}

/// Splits a trailing ` <0.000012>` (`-T`) off a result.
fn split_duration(text: &[u8]) -> Option<(&[u8], Duration)> {
    let inner_end = text.len().checked_sub(1).filter(|_| text.ends_with(b">"))?;
    let open = text.iter().rposition(|byte| *byte == b'<')?;
    if open == 0 || text.get(open - 1) != Some(&b' ') {
        return None;
    }
    let spent = parse_seconds(text.get(open + 1..inner_end)?)?;
    Some((trim(text.get(..open)?), spent))
}

/// `HH:MM:SS[.frac]` (`-t`, `-tt`) or `seconds[.frac]` (`-ttt`).
fn parse_timestamp(token: &[u8]) -> Option<Duration> {
    const SECONDS_PER_MINUTE: u64 = 60;
    const SECONDS_PER_HOUR: u64 = 3600;
    let parts: Vec<&[u8]> = token.split(|byte| *byte == b':').collect();
    match parts.as_slice() {
        [seconds] => parse_seconds(seconds),
        [hours, minutes, seconds] => {
            let hours = parse_decimal(hours)?;
            let minutes = parse_decimal(minutes)?;
            let of_day = hours.checked_mul(SECONDS_PER_HOUR)?.checked_add(minutes.checked_mul(SECONDS_PER_MINUTE)?)?;
            parse_seconds(seconds)?.checked_add(Duration::from_secs(of_day))
        }
        _ => None,
    }
}

/// `seconds[.fraction]`, the fraction up to nanoseconds.
fn parse_seconds(text: &[u8]) -> Option<Duration> {
    let (whole, fraction) = match find(text, 0, b".") {
        Some(dot) => (text.get(..dot)?, text.get(dot + 1..)?),
        None => (text, &b""[..]),
    };
    if fraction.len() > FRACTION_DIGITS_MAX || (fraction.is_empty() && text.ends_with(b".")) {
        return None;
    }
    let nanos = if fraction.is_empty() {
        0
    } else {
        let scale = 10u32.pow((FRACTION_DIGITS_MAX - fraction.len()) as u32);
        u32::try_from(parse_decimal(fraction)?).ok()?.checked_mul(scale)?
    };
    debug_assert!(nanos < NANOS_PER_SECOND);
    Some(Duration::new(parse_decimal(whole)?, nanos))
}

fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

fn skip_spaces(text: &[u8], from: usize) -> usize {
    from + text.iter().skip(from).take_while(|byte| **byte == b' ' || **byte == b'\t').count()
}

fn trim_end_len(text: &[u8]) -> usize {
    text.iter().rposition(|byte| !byte.is_ascii_whitespace()).map_or(0, |last| last + 1)
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::strace::value::SyntaxProblem;

    fn line(text: &str) -> Line {
        match parse_line(text.as_bytes()) {
            Ok(line) => line,
            Err(error) => panic!("{text:?} did not parse: {error:?}"),
        }
    }

    fn int(value: i64) -> Arg {
        Arg::Int(value)
    }

    fn call(text: &str) -> Call {
        match line(text).body {
            Body::Call { call } => call,
            other => panic!("{text:?} is not a whole call: {other:?}"),
        }
    }

    #[test]
    fn a_whole_call_with_its_result() {
        let parsed = line(r#"2848  openat(AT_FDCWD, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3"#);
        assert_eq!(parsed.pid, 2848);
        assert_eq!(parsed.time, None);
        let Body::Call { call } = parsed.body else { panic!("not a call") };
        assert_eq!(call.name, "openat");
        assert_eq!(call.args.len(), 3);
        assert!(call.args[0].has_flag("AT_FDCWD"));
        assert_eq!(call.args[1].as_text().as_deref(), Some("/etc/ld.so.cache"));
        assert!(call.args[2].has_flag("O_CLOEXEC"));
        assert_eq!(call.result, CallResult::Value { value: 3, annotation: None });
    }

    #[test]
    fn every_kind_of_result() {
        assert_eq!(
            call("1  access(\"/etc/ld.so.preload\", R_OK) = -1 ENOENT (No such file or directory)").result,
            CallResult::Error { errno: "ENOENT".into(), message: Some("No such file or directory".into()) }
        );
        assert_eq!(call("1  exit_group(0)                     = ?").result, CallResult::Unknown { errno: None });
        assert_eq!(
            call("1  brk(NULL)                         = 0x557e5949f000").result.value(),
            Some(0x557e_5949_f000)
        );
        assert_eq!(
            call("1  fcntl(3, F_GETFL) = 0x8000 (flags O_RDONLY|O_LARGEFILE)").result,
            CallResult::Value { value: 0x8000, annotation: Some("(flags O_RDONLY|O_LARGEFILE)".into()) }
        );
        assert_eq!(
            call("1  read(0, 0x7ffd, 16) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)").result,
            CallResult::Unknown { errno: Some("ERESTARTSYS".into()) }
        );
        let timed = call("1  close(3) = 0 <0.000012>");
        assert_eq!(timed.result.value(), Some(0));
        assert_eq!(timed.duration, Some(Duration::from_micros(12)));
    }

    #[test]
    fn timestamps_of_every_format() {
        assert_eq!(
            line("7  04:33:36.816368 close(3) = 0").time,
            Some(Duration::new(4 * 3600 + 33 * 60 + 36, 816_368_000))
        );
        assert_eq!(line("7  04:33:36 close(3) = 0").time, Some(Duration::from_secs(4 * 3600 + 33 * 60 + 36)));
        assert_eq!(line("7  1795235616.830595 close(3) = 0").time, Some(Duration::new(1_795_235_616, 830_595_000)));
    }

    #[test]
    fn nested_and_output_arguments() {
        let pipe = call("3104  pipe2([3, 4], 0)                  = 0");
        assert_eq!(pipe.args, vec![Arg::Array(vec![int(3), int(4)]), int(0)]);
        let wait = call("3104  wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 3105");
        assert_eq!(wait.args.len(), 4);
        let clone = call(
            "3104  clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, \
             child_tidptr=0x7f039c5baa10) = 3105",
        );
        assert!(clone.named("flags").is_some_and(|flags| flags.has_flag("SIGCHLD")));
        assert_eq!(clone.result.value(), Some(3105));
        let exec = call(r#"3105  execve("/usr/bin/cat", ["cat", "/etc/hostname"], 0x556a0f87e978 /* 2 vars */) = 0"#);
        assert_eq!(exec.args[2], int(0x556a_0f87_e978));
        let odd = call("1  ioctl(4, BTRFS_IOC_CLONE or FICLONE, 3) = -1 EOPNOTSUPP (Operation not supported)");
        assert_eq!(odd.args[1], Arg::Other("BTRFS_IOC_CLONE or FICLONE".into()));
        let restart = call("1  restart_syscall(<... resuming interrupted read ...>) = 0");
        assert_eq!(restart.args.len(), 1);
    }

    #[test]
    fn unfinished_and_resumed_halves() {
        assert_eq!(
            line(r#"3104  newfstatat(AT_FDCWD, "/usr/bin/wc",  <unfinished ...>"#).body,
            Body::Unfinished {
                name: "newfstatat".into(),
                args: vec![Arg::Flags(vec!["AT_FDCWD".into()]), classify(br#""/usr/bin/wc""#)],
            }
        );
        assert_eq!(
            line("2  getrandom( <unfinished ...>").body,
            Body::Unfinished { name: "getrandom".into(), args: vec![] }
        );
        let Body::Resumed { name, args, result, .. } =
            line("3104  <... clone resumed>, child_tidptr=0x7f039c5baa10) = 3106").body
        else {
            panic!("not resumed")
        };
        assert_eq!(name, "clone");
        assert_eq!(args.len(), 1);
        assert_eq!(result.value(), Some(3106));
        let Body::Resumed { args, result, .. } = line("9  <... wait4 resumed> <unfinished ...>) = ?").body else {
            panic!("not resumed")
        };
        assert!(args.is_empty());
        assert_eq!(result, CallResult::Unknown { errno: None });
        assert_eq!(call("9  read(0,  <unfinished ...>) = ?").args, vec![int(0)]);
    }

    #[test]
    fn process_lines() {
        assert_eq!(line("3105  +++ exited with 0 +++").body, Body::Process(EventKind::Exited { status: 0 }));
        assert_eq!(
            line("3167  +++ killed by SIGKILL +++").body,
            Body::Process(EventKind::Killed { signal: "SIGKILL".into(), core_dumped: false })
        );
        assert_eq!(
            line("5  +++ killed by SIGSEGV (core dumped) +++").body,
            Body::Process(EventKind::Killed { signal: "SIGSEGV".into(), core_dumped: true })
        );
        assert_eq!(
            line("5  +++ superseded by execve in pid 4 +++").body,
            Body::Process(EventKind::Superseded { leader: 4 })
        );
        let Body::Process(EventKind::Signal { signal, info }) =
            line("3104  --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=3105, si_uid=0} ---").body
        else {
            panic!("not a signal")
        };
        assert_eq!(signal, "SIGCHLD");
        assert_eq!(info.and_then(|info| info.field("si_pid").and_then(Arg::as_int)), Some(3105));
        assert_eq!(
            line("5  --- stopped by SIGSTOP ---").body,
            Body::Process(EventKind::Stopped { signal: "SIGSTOP".into() })
        );
    }

    fn problem_at(text: &str) -> (usize, SyntaxProblem) {
        match parse_line(text.as_bytes()) {
            Ok(parsed) => panic!("{text:?} parsed as {parsed:?}"),
            Err(error) => (error.offset + 1, error.problem),
        }
    }

    #[test]
    fn malformed_lines_name_the_column_and_what_was_expected() {
        let (column, problem) = problem_at("close(3) = 0");
        assert_eq!(column, 1);
        assert!(matches!(problem, SyntaxProblem::Expected { what, .. } if what.contains("pid")));
        let (column, problem) = problem_at(r#"12  openat(AT_FDCWD, "/etc/passwd, O_RDONLY) = 3"#);
        assert_eq!((column, problem), (22, SyntaxProblem::UnterminatedString));
        let (column, problem) = problem_at("12  close(3 = 0");
        assert!(matches!(problem, SyntaxProblem::Expected { what, .. } if what.contains(')')), "{problem:?}");
        assert_eq!(column, 16);
        let (_, problem) = problem_at("12  read(3, [1, 2}, 4) = 4");
        assert_eq!(problem, SyntaxProblem::Mismatched { open: '[', close: '}' });
        let (column, _) = problem_at("12  close(3) 0");
        assert_eq!(column, 14);
        let (_, problem) = problem_at("12  close(3) = zero");
        assert!(matches!(problem, SyntaxProblem::Expected { what, .. } if what.contains("return value")));
        assert!(parse_line(b"12  +++ exited with x +++").is_err());
        assert!(parse_line(b"12  +++ exited with 0").is_err());
        assert!(parse_line(b"12  --- SIGCHLD {si_signo=SIGCHLD ---").is_err());
        assert!(parse_line(b"12  <... close resumed) = 0").is_err());
        assert!(parse_line(b"99999999999  close(3) = 0").is_err());
    }
}

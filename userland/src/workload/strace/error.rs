//! Errors of reading a strace log: every one names the file and the line (and the column when one
//! position is at fault) and says what was expected there.

use std::fmt;

use super::value::{SyntaxError, SyntaxProblem};

/// A log that is not well-formed `strace -f -o FILE` output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The name the log was read under (a file path, or a label given by the caller).
    pub source: String,
    /// 1-based line number.
    pub line: usize,
    /// 1-based byte column in that line, when one position is at fault.
    pub column: Option<usize>,
    /// What is wrong.
    pub problem: ParseProblem,
}

/// The ways a log can be malformed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseProblem {
    /// The text had `found` (empty at the end of the line) where `what` was expected.
    Expected {
        /// What the parser needed at this column.
        what: &'static str,
        /// An excerpt of what was there instead.
        found: String,
    },
    /// A `"` opened a string that the line never closes.
    UnterminatedString,
    /// A `/*` opened a comment that the line never closes.
    UnterminatedComment,
    /// A bracket that the line never closes.
    Unclosed {
        /// The opening bracket.
        open: char,
    },
    /// A bracket closed by the wrong kind of bracket.
    Mismatched {
        /// The opening bracket.
        open: char,
        /// The closing bracket found.
        close: char,
    },
    /// `<... NAME resumed>` for a pid with no call left `<unfinished ...>`.
    ResumedWithoutStart {
        /// The pid of the line.
        pid: u32,
        /// The call named by the line.
        name: String,
    },
    /// `<... NAME resumed>` while the pid's unfinished call is another one.
    ResumedOtherCall {
        /// The pid of the line.
        pid: u32,
        /// The call named by the line.
        name: String,
        /// The call the pid left unfinished.
        pending: String,
        /// Where that call started.
        pending_line: usize,
    },
    /// A new call for a pid whose previous call was left `<unfinished ...>` and never resumed.
    StartedWhileUnfinished {
        /// The pid of the line.
        pid: u32,
        /// The call this line starts.
        name: String,
        /// The call the pid left unfinished.
        pending: String,
        /// Where that call started.
        pending_line: usize,
    },
    /// The log's last line has no newline: the log was cut while strace was writing it.
    TruncatedLastLine,
}

impl ParseError {
    pub(crate) fn from_syntax(source: &str, line: usize, error: SyntaxError) -> ParseError {
        let problem = match error.problem {
            SyntaxProblem::Expected { what, found } => ParseProblem::Expected { what, found },
            SyntaxProblem::UnterminatedString => ParseProblem::UnterminatedString,
            SyntaxProblem::UnterminatedComment => ParseProblem::UnterminatedComment,
            SyntaxProblem::Unclosed { open } => ParseProblem::Unclosed { open },
            SyntaxProblem::Mismatched { open, close } => ParseProblem::Mismatched { open, close },
        };
        ParseError { source: source.to_string(), line, column: Some(error.offset + 1), problem }
    }

    pub(crate) fn at_line(source: &str, line: usize, problem: ParseProblem) -> ParseError {
        ParseError { source: source.to_string(), line, column: None, problem }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.column {
            Some(column) => write!(f, "{}:{}:{}: {}", self.source, self.line, column, self.problem),
            None => write!(f, "{}:{}: {}", self.source, self.line, self.problem),
        }
    }
}

impl std::error::Error for ParseError {}

impl fmt::Display for ParseProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseProblem::Expected { what, found } if found.is_empty() => {
                write!(f, "expected {what}, found the end of the line")
            }
            ParseProblem::Expected { what, found } => write!(f, "expected {what}, found `{found}`"),
            ParseProblem::UnterminatedString => write!(f, "expected a closing `\"` for the string opened here"),
            ParseProblem::UnterminatedComment => write!(f, "expected `*/` closing the comment opened here"),
            ParseProblem::Unclosed { open } => write!(f, "expected a bracket closing the `{open}` opened here"),
            ParseProblem::Mismatched { open, close } => {
                write!(f, "expected the bracket closing `{open}`, found `{close}`")
            }
            ParseProblem::ResumedWithoutStart { pid, name } => write!(
                f,
                "expected an earlier `{name}(... <unfinished ...>` line for pid {pid} before `<... {name} resumed>`"
            ),
            ParseProblem::ResumedOtherCall { pid, name, pending, pending_line } => write!(
                f,
                "expected `<... {pending} resumed>` for pid {pid} (its `{pending}` from line {pending_line} is \
                 unfinished), found `<... {name} resumed>`"
            ),
            ParseProblem::StartedWhileUnfinished { pid, name, pending, pending_line } => write!(
                f,
                "expected `<... {pending} resumed>` for pid {pid} (its `{pending}` from line {pending_line} is \
                 unfinished), found a new call `{name}`"
            ),
            ParseProblem::TruncatedLastLine => {
                write!(f, "expected a newline ending the last line: the log was cut while strace was writing this line")
            }
        }
    }
}

/// A log that could not be read from disk or could not be parsed.
#[derive(Debug)]
pub enum LoadError {
    /// Reading the file failed.
    Io {
        /// The file.
        path: String,
        /// What the operating system said.
        error: std::io::Error,
    },
    /// The file is not a well-formed log.
    Parse(ParseError),
    /// The log holds no system call: nothing to replay (strace killed before it wrote a line,
    /// or the wrong file).
    Empty {
        /// The file.
        path: String,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Io { path, error } => write!(f, "{path}: cannot read the strace log: {error}"),
            LoadError::Parse(error) => error.fmt(f),
            LoadError::Empty { path } => write!(f, "{path}: empty: no system call to replay"),
        }
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoadError::Io { error, .. } => Some(error),
            LoadError::Parse(error) => Some(error),
            LoadError::Empty { .. } => None,
        }
    }
}

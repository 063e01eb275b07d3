//! The parsed log: one [`TraceEvent`] per call, signal or process end, in the order the calls started.
//!
//! Invariant: a call that strace split over an `<unfinished ...>` line and a `<... NAME resumed>` line is
//! one [`Call`], placed at the line where it started, so a `clone` comes before everything its child did.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::value::Arg;

/// A whole parsed `strace -f -o FILE` log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StraceLog {
    /// The name the log was read under, used in messages.
    pub source: String,
    /// Every event, ordered by the line where it started.
    pub events: Vec<TraceEvent>,
}

impl StraceLog {
    /// Every call with the event that holds it.
    pub fn calls(&self) -> impl Iterator<Item = (&TraceEvent, &Call)> {
        self.events.iter().filter_map(|event| match &event.kind {
            EventKind::Call(call) => Some((event, call)),
            _ => None,
        })
    }
}

/// One line of the log (or two merged lines, for a call strace interrupted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceEvent {
    /// 1-based line where the event starts.
    pub line: usize,
    /// The process (or thread) the line belongs to.
    pub pid: u32,
    /// The `-t`/`-tt` time of day, or the `-ttt` time since the Unix epoch, when the log has timestamps.
    pub time: Option<Duration>,
    /// What happened.
    pub kind: EventKind,
}

/// What one event is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    /// A system call.
    Call(Call),
    /// `--- SIGCHLD {si_signo=SIGCHLD, ...} ---`: a signal was delivered.
    Signal {
        /// The signal name (`SIGCHLD`).
        signal: String,
        /// The decoded siginfo, when strace printed one.
        info: Option<Arg>,
    },
    /// `--- stopped by SIGSTOP ---`: the process stopped.
    Stopped {
        /// The stopping signal.
        signal: String,
    },
    /// `+++ exited with N +++`.
    Exited {
        /// The exit status.
        status: i32,
    },
    /// `+++ killed by SIGKILL +++`, optionally `(core dumped)`.
    Killed {
        /// The fatal signal.
        signal: String,
        /// Whether strace reported a core dump.
        core_dumped: bool,
    },
    /// `+++ superseded by execve in pid N +++`: a thread exec'd and took over its leader's pid.
    Superseded {
        /// The thread-group leader whose pid the thread continues under.
        leader: u32,
    },
}

/// One system call with its arguments and result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    /// The system call name as strace printed it (`openat`, `newfstatat`, `clone3`).
    pub name: String,
    /// The arguments, input and output ones, in order.
    pub args: Vec<Arg>,
    /// What the call returned.
    pub result: CallResult,
    /// The `<... NAME resumed>` line, when strace split the call.
    pub resumed_line: Option<usize>,
    /// The `-T` time spent in the call, when the log has it.
    pub duration: Option<Duration>,
}

impl Call {
    /// The argument at `index`, counting from 0.
    pub fn arg(&self, index: usize) -> Option<&Arg> {
        self.args.get(index)
    }

    /// The named argument `name` (as in `clone(child_stack=NULL, flags=...)`).
    pub fn named(&self, name: &str) -> Option<&Arg> {
        self.args.iter().find_map(|arg| match arg {
            Arg::Named { name: arg_name, value } if arg_name == name => Some(value.as_ref()),
            _ => None,
        })
    }
}

/// The return of a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CallResult {
    /// A successful return: `= 3`, `= 0x5616a561a000`; `annotation` keeps what follows the number,
    /// as in `= 0x8000 (flags O_RDONLY|O_LARGEFILE)` or `= 0 (Timeout)`.
    Value {
        /// The returned number.
        value: i64,
        /// The text after the number, if any.
        annotation: Option<String>,
    },
    /// A failure: `= -1 ENOENT (No such file or directory)`.
    Error {
        /// The errno name (`ENOENT`).
        errno: String,
        /// The explanation strace printed, without parentheses.
        message: Option<String>,
    },
    /// `= ?`: the call never returned (exit_group, a process killed in the call), possibly with an
    /// errno such as `ERESTARTSYS`.
    Unknown {
        /// The errno name strace printed after `?`, if any.
        errno: Option<String>,
    },
    /// The call was left `<unfinished ...>` and the log never resumed it (the process died, or the log ends).
    Unfinished,
}

impl CallResult {
    /// The returned number of a successful call.
    pub fn value(&self) -> Option<i64> {
        match self {
            CallResult::Value { value, .. } => Some(*value),
            _ => None,
        }
    }

    /// The errno name of a failed call.
    pub fn errno(&self) -> Option<&str> {
        match self {
            CallResult::Error { errno, .. } => Some(errno),
            CallResult::Unknown { errno } => errno.as_deref(),
            _ => None,
        }
    }
}

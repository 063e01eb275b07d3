//! The "strace replay" workload: real system-call logs of real programs, as written by
//! `strace -f -o FILE` (with or without `-t`, `-tt`, `-ttt` and `-T`), turned into samsara's calls and
//! replayed.
//!
//! Reading, in two stages, each usable alone:
//! 1. [`parse_log`] / [`parse_file`]: the text into a typed [`StraceLog`]: one [`TraceEvent`] per call
//!    (split `<unfinished ...>` / `<... resumed>` pairs merged by pid), signal, or process end; arguments as
//!    [`Arg`] values; results as [`CallResult`]. A malformed log is a [`ParseError`] naming the file, the
//!    line, the column when one position is at fault, and what was expected; nothing panics on any input.
//! 2. [`normalise`]: the calls samsara supports as [`TraceOp`]s with their recorded results
//!    ([`TraceStep`]), the [`ProcessTree`], and the count of every skipped call by name.
//!
//!
//! Replaying: [`sandbox`] decides where the log's paths live in samsara and which files must exist
//! before the replay; [`replay`] plays the trace back with its process tree and real execs, and
//! compares results with the recorded ones.
//!
//! Recorded fixtures of real programs live in `userland/fixtures/strace/` (each `NAME.log` with a
//! `NAME.cmd` giving the command and the strace version; `record.sh` re-records them), and the
//! corpus of everyday programs that must replay to a pass in its `corpus/` (with its own
//! `record.sh`).

mod error;
mod event;
mod normalise;
mod parse;
pub mod replay;
pub mod sandbox;
mod value;

#[cfg(test)]
mod tests;

pub use error::{LoadError, ParseError, ParseProblem};
pub use event::{Call, CallResult, EventKind, StraceLog, TraceEvent};
pub use normalise::{
    FcntlCommand, NormalisedTrace, OpenFlags, ProcessEnd, ProcessNode, ProcessTree, SIGNAL_NAMES, SignalAction,
    TraceOp, TraceStep, UtimeSpec, Whence, normalise,
};
pub use parse::{parse_file, parse_log};
pub use value::Arg;

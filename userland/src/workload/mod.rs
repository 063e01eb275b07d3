//! Workloads that drive the system: programs whose system calls exercise pm, vm and vfs, so that a
//! fault-injection run has requests to break and a result to check.
//!
//! - [`posix`]: the POSIX-behaviour suite (named checks of process, file, memory and exec
//!   semantics); the workload of every fault-injection run.
//! - [`unixbench`]: Unixbench-like loops (syscall, spawn, execl, file copy, pipe, poll) with counters.
//! - [`strace`]: real programs' system-call logs (`strace -f -o FILE`), parsed, mapped onto
//!   samsara's calls with their process tree, and replayed ([`strace::replay`]).
//!
//! A [`Workload`] is what the command line names (`posix`, `unixbench[:N]`, `strace:FILE`). Its
//! [`Workload::run`] is init's body; everything that can fail before the system boots (reading and
//! parsing a log) happens in [`Workload::prepare`], so a bad file is an error naming the file and
//! line, never a failed run.

pub mod posix;
pub mod report;
pub mod strace;
pub mod unixbench;

use crate::libc::Sys;
use os::proto::pm::sig;
use report::Recorder;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use strace::replay::Replay;

/// A workload init can run.
#[derive(Clone, Debug)]
pub enum Workload {
    /// The POSIX-behaviour suite.
    Posix,
    /// Unixbench-like loops, each run `iterations` times.
    Unixbench {
        /// Rounds of every loop.
        iterations: u32,
    },
    /// Replay of a strace log.
    Strace(StraceSource),
}

/// Where a strace workload's trace comes from.
#[derive(Clone, Debug)]
pub enum StraceSource {
    /// A log file not read yet ([`Workload::prepare`] reads it).
    File(PathBuf),
    /// A parsed, normalised trace with its sandbox planned, ready to replay.
    Loaded(Arc<Replay>),
}

/// A workload name the command line did not understand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadWorkloadName(String);

impl fmt::Display for BadWorkloadName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: expected `posix`, `unixbench`, `unixbench:ITERATIONS` (at least 1) or `strace:FILE`", self.0)
    }
}

impl std::error::Error for BadWorkloadName {}

/// Why a workload cannot be prepared.
#[derive(Debug)]
pub enum WorkloadError {
    /// The strace log could not be read or parsed (the error names the file and the line).
    Strace(strace::LoadError),
}

impl fmt::Display for WorkloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkloadError::Strace(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for WorkloadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WorkloadError::Strace(e) => Some(e),
        }
    }
}

impl FromStr for Workload {
    type Err = BadWorkloadName;

    /// `posix`, `unixbench`, `unixbench:N`, `strace:FILE`.
    fn from_str(s: &str) -> Result<Workload, BadWorkloadName> {
        let bad = || BadWorkloadName(s.to_string());
        match s.split_once(':') {
            None if s == "posix" => Ok(Workload::Posix),
            None if s == "unixbench" => Ok(Workload::Unixbench { iterations: unixbench::DEFAULT_ITERATIONS }),
            // Zero rounds would measure nothing and pass whatever the system did.
            Some(("unixbench", n)) => match n.parse() {
                Ok(iterations) if iterations > 0 => Ok(Workload::Unixbench { iterations }),
                _ => Err(bad()),
            },
            Some(("strace", file)) if !file.is_empty() => Ok(Workload::Strace(StraceSource::File(PathBuf::from(file)))),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Workload::Posix => f.write_str("posix"),
            Workload::Unixbench { iterations } => write!(f, "unixbench:{iterations}"),
            Workload::Strace(StraceSource::File(path)) => write!(f, "strace:{}", path.display()),
            Workload::Strace(StraceSource::Loaded(replay)) => write!(f, "strace:{}", replay.trace.source),
        }
    }
}

impl Workload {
    /// Every workload kind with its one-line description, for `--help` and listings.
    pub const KINDS: [(&'static str, &'static str); 3] = [
        (
            "posix",
            "the POSIX-behaviour suite: process, file, pipe, directory, memory and exec semantics as named checks",
        ),
        ("unixbench[:N]", "Unixbench-like loops (syscall, spawn, execl, file copy, pipe, poll), N rounds each"),
        ("strace:FILE", "replay of a real program's `strace -f` log, process tree and exec included"),
    ];

    /// A one-line description of this workload.
    pub fn description(&self) -> String {
        match self {
            Workload::Posix => Workload::KINDS[0].1.to_string(),
            Workload::Unixbench { iterations } => {
                let rounds = if *iterations == 1 { "round" } else { "rounds" };
                format!(
                    "Unixbench-like loops (syscall, spawn, execl, file copy, pipe, poll), {iterations} {rounds} each"
                )
            }
            Workload::Strace(StraceSource::File(path)) => format!("replay of the strace log {}", path.display()),
            Workload::Strace(StraceSource::Loaded(replay)) => format!(
                "replay of the strace log {} ({} calls over {} processes, {} calls skipped)",
                replay.trace.source,
                replay.trace.steps.len(),
                replay.trace.processes.processes.len(),
                replay.trace.skipped_total()
            ),
        }
    }

    /// Does everything that can fail before a run: reads, parses and normalises a strace log and
    /// plans its sandbox. Idempotent; a prepared workload runs without touching the host.
    pub fn prepare(self) -> Result<Workload, WorkloadError> {
        match self {
            Workload::Strace(StraceSource::File(path)) => {
                let replay = Replay::load(&path).map_err(WorkloadError::Strace)?;
                Ok(Workload::Strace(StraceSource::Loaded(Arc::new(replay))))
            }
            other => Ok(other),
        }
    }

    /// The workload as init's body: runs it and records its checks and counters in `rec`.
    ///
    /// A strace workload that was not prepared reads its log here; a log that fails to load is
    /// then a failed `strace.load` check (use [`Workload::prepare`] to get the error up front).
    pub fn run(&self, sys: &Sys<'_>, rec: &Recorder) {
        match self {
            Workload::Posix => posix::run(sys, rec),
            Workload::Unixbench { iterations } => unixbench::run(sys, rec, &unixbench::Loops::uniform(*iterations)),
            Workload::Strace(StraceSource::Loaded(replay)) => replay.run(sys, rec),
            Workload::Strace(StraceSource::File(path)) => match Replay::load(path) {
                Ok(replay) => replay.run(sys, rec),
                Err(e) => {
                    rec.check("strace.load", false, || e.to_string());
                }
            },
        }
    }
}

/// The bits of a wait status that hold the signal a process died of (`signal_status`'s inverse).
const SIGNAL_BITS: i32 = 0x7f;
/// Where a wait status keeps the exit code (`exit_status`'s inverse).
const EXIT_CODE_SHIFT: i32 = 8;
/// The bits of the exit code a wait status keeps.
const EXIT_CODE_BITS: i32 = 0xff;
/// Names of the signals a test's process may die of, for messages.
const SIGNAL_NAMES: [(i32, &str); 4] =
    [(sig::SIGKILL, "SIGKILL"), (sig::SIGTERM, "SIGTERM"), (sig::SIGSEGV, "SIGSEGV"), (sig::SIGPIPE, "SIGPIPE")];
/// A wait status in words: "exit 3", "killed by signal 9".
pub(crate) fn status_text(status: i32) -> String {
    match status & SIGNAL_BITS {
        0 => format!("exit {}", (status >> EXIT_CODE_SHIFT) & EXIT_CODE_BITS),
        signal => match SIGNAL_NAMES.iter().find(|(number, _)| *number == signal) {
            Some((_, name)) => format!("killed by {name}"),
            None => format!("killed by signal {signal}"),
        },
    }
}

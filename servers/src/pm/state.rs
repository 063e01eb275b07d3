//! pm's state: the process table (one entry per user process, keyed by slot) and the pid
//! allocator.
//!
//! Invariants: pids are unique among entries; a child's `parent` names a live or zombie entry, or
//! init after re-parenting; a process's `phase` says exactly which flow it is in.

use crate::proto::{INIT_PID, Pid, ProcKey, key_of};
use kernel_sim::Endpoint;
use recovery::{Journal, ProcTable, StateClass, TrackedCell, tracked_state};

/// The most user processes pm keeps at once; a fork past it fails with EAGAIN.
pub const NR_PROCS: usize = 1024;
/// Pids wrap around after this (MINIX's PID_MAX is 30000).
pub const PID_MAX: Pid = 30_000;
/// The uid of the superuser.
pub const ROOT_UID: u32 = 0;

/// Which flow a process is in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Running user code, or blocked in a call pm has nothing to do with.
    Running,
    /// Created by fork; waits for vfs to copy its descriptors before it may run.
    Newborn,
    /// Suspended in fork until vfs has copied the descriptors for `child`.
    Forking {
        /// The child being made.
        child: Endpoint,
    },
    /// Suspended in wait4 for `pid` (-1: any child).
    Waiting {
        /// Which child.
        pid: Pid,
    },
    /// Suspended in exec while vfs loads the program; `argv` is what the new program gets.
    Execing {
        /// The new program's arguments.
        argv: Vec<String>,
    },
    /// Exit was asked for (or the process died); the cleanup flow is under way.
    Exiting {
        /// The wait status the parent will see.
        status: i32,
        /// Whether the kernel has reported the process's end (its body no longer runs).
        ended: bool,
    },
    /// Gone but for this entry, which holds the status until the parent waits.
    Zombie {
        /// The wait status.
        status: i32,
    },
}

/// One process-table entry (MINIX's `struct mproc`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MProc {
    /// The process's endpoint.
    pub ep: Endpoint,
    /// Its pid.
    pub pid: Pid,
    /// Its parent's pid (0 for init).
    pub parent: Pid,
    /// Real user id.
    pub uid: u32,
    /// Real group id.
    pub gid: u32,
    /// Effective user id.
    pub euid: u32,
    /// Effective group id.
    pub egid: u32,
    /// Which flow it is in.
    pub phase: Phase,
}

/// Whether the system is up or on its way down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SystemPhase {
    /// Serving.
    Up,
    /// reboot was asked: every user process is being ended; vfs is told once none is left.
    ShuttingDown,
}

/// All of pm's mutable state.
pub struct PmState {
    /// The journal of the recovery window.
    pub journal: Journal,
    /// The process table, keyed by slot.
    pub procs: ProcTable<ProcKey, MProc>,
    /// The next pid to try.
    pub next_pid: TrackedCell<Pid>,
    /// Up, or shutting down.
    pub system: TrackedCell<SystemPhase>,
}

tracked_state!(PmState { journal: journal, fields: [procs, next_pid, system] });

impl PmState {
    /// The state with init alone (the boot state).
    pub fn with_init(init: Endpoint) -> PmState {
        let journal = Journal::new();
        let mut procs = ProcTable::new(&journal, "pm.procs");
        let init_entry = MProc {
            ep: init,
            pid: INIT_PID,
            parent: 0,
            uid: ROOT_UID,
            gid: 0,
            euid: ROOT_UID,
            egid: 0,
            phase: Phase::Running,
        };
        procs.insert_global(key_of(init), init_entry);
        PmState {
            next_pid: TrackedCell::new(&journal, "pm.next_pid", StateClass::Global, INIT_PID + 1),
            system: TrackedCell::new(&journal, "pm.system", StateClass::Global, SystemPhase::Up),
            procs,
            journal,
        }
    }

    /// The key of the entry whose pid is `pid`.
    pub fn key_of_pid(&mut self, pid: Pid) -> Option<ProcKey> {
        self.procs.iter().find(|(_, p)| p.pid == pid).map(|(k, _)| *k)
    }

    /// The entries whose parent is `pid`.
    pub fn children_of(&mut self, pid: Pid) -> Vec<(ProcKey, MProc)> {
        self.procs.iter().filter(|(_, p)| p.parent == pid).map(|(k, p)| (*k, p.clone())).collect()
    }
}

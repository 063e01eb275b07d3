//! sched's state: one entry per scheduled user process (MINIX's `schedproc`), keyed by slot.
//!
//! Invariants (`checker/sched.rs`, also the loop-top self-check): each entry is filed under its
//! endpoint's slot, its nice value is within [PRIO_MIN, PRIO_MAX], and its priority is a user
//! queue no higher than its nice value allows. Across servers: sched schedules exactly pm's
//! running processes.

use crate::proto::ProcKey;
use crate::proto::sched::{PRIO_MAX, PRIO_MIN};
use kernel_sim::{Endpoint, NR_SCHED_QUEUES};
use recovery::{Journal, StateClass, TrackedMap, tracked_state};

/// The highest-priority queue a user process may have (MINIX's MAX_USER_Q).
pub const MAX_USER_Q: u8 = 0;
/// The lowest-priority queue (MINIX's MIN_USER_Q): where a process that keeps using up its
/// quanta sinks to.
pub const MIN_USER_Q: u8 = NR_SCHED_QUEUES - 1;
/// The nice value of init and of a process whose parent sched does not know.
pub const DEFAULT_NICE: i32 = 0;
/// A quantum, in kernel entries (IPC and kernel calls): the engines have no instruction clock.
/// 500 entries lets a POSIX-suite process finish most calls within one quantum while a spinning
/// one runs out several times (MINIX's 200 ms slice, scaled to what a process does here).
pub const QUANTUM_ENTRIES: u32 = 500;

/// MINIX's `nice_to_priority`: nice values spread evenly over the user queues.
pub fn nice_to_priority(nice: i32) -> u8 {
    let queues = i32::from(MIN_USER_Q - MAX_USER_Q) + 1;
    let q = i32::from(MAX_USER_Q) + (nice - PRIO_MIN) * queues / (PRIO_MAX - PRIO_MIN + 1);
    q.clamp(i32::from(MAX_USER_Q), i32::from(MIN_USER_Q)) as u8
}

/// One scheduled process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchedProc {
    /// Its endpoint.
    pub ep: Endpoint,
    /// Its nice value (what setpriority set, or its parent's).
    pub nice: i32,
    /// Its queue now: its nice value's, lowered by one for each quantum it used up.
    pub priority: u8,
    /// Its quantum, in kernel entries (MINIX's time slice).
    pub quantum: u32,
    /// How many quanta it used up.
    pub expiries: u32,
}

/// All of sched's mutable state.
pub struct SchedState {
    /// The journal of the recovery window.
    pub journal: Journal,
    /// slot -> the process scheduled there.
    pub procs: TrackedMap<ProcKey, SchedProc>,
}

tracked_state!(SchedState { journal: journal, fields: [procs] });

impl SchedState {
    /// The table with init alone (boot, and a fresh restart).
    pub fn with_init(init: Endpoint) -> SchedState {
        let journal = Journal::new();
        let mut procs = TrackedMap::new(&journal, "sched.procs", StateClass::Global);
        let entry = SchedProc {
            ep: init,
            nice: DEFAULT_NICE,
            priority: nice_to_priority(DEFAULT_NICE),
            quantum: QUANTUM_ENTRIES,
            expiries: 0,
        };
        procs.insert(crate::proto::key_of(init), entry);
        SchedState { journal, procs }
    }

    /// The whole-state self-check (`checker/sched.rs`), as readable lines (empty when consistent).
    pub fn check_invariants(&mut self) -> Vec<String> {
        super::check::check(self).into_iter().map(|v| v.to_string()).collect()
    }
}

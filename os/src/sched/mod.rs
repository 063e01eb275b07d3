//! sched, the user-process scheduler (MINIX_FLOWS: "sched"): pm starts scheduling a process at
//! fork (it inherits its parent's nice value), stops at exit, and sets or reads its nice value
//! (setpriority, getpriority); the kernel notifies sched when a process's quantum runs out, and
//! sched gives it a new one with the `schedule` kernel call (which only sched may make).
//!
//! The kernel records each process's priority and quantum; the engines' seeded schedulers do not
//! read the priority (a run's interleaving stays the seed's alone, see `kernel_sim::core`).
//!
//! Who may call: pm alone (sched checks it too); the kernel's notifications.
//!
//! Files: `state.rs` (the per-process table, its invariants), `table.rs` (message type ->
//! handler), `schedule.rs` (start, stop, nice, and the quantum that ran out).

pub mod check;
pub mod schedule;
pub mod state;
pub mod table;

use crate::proto::INIT;
use crate::task::{Call, Server};
use kernel_sim::Proc;
use state::{DEFAULT_NICE, QUANTUM_ENTRIES, SchedState, nice_to_priority};

/// The scheduler.
pub struct Sched;

impl Server for Sched {
    const NAME: &'static str = "sched";
    type State = SchedState;

    fn calls() -> &'static [Call<SchedState>] {
        table::CALLS
    }

    fn check_invariants(state: &mut SchedState) -> Vec<String> {
        state.check_invariants()
    }

    fn boot(proc: &Proc) -> SchedState {
        // init exists before any fork: sched schedules it from the start, as pm knows it (an init
        // already gone has ended the run).
        let _ = proc.sys_schedule(INIT, nice_to_priority(DEFAULT_NICE), QUANTUM_ENTRIES);
        SchedState::with_init(INIT)
    }

    fn fresh(_proc: &Proc) -> SchedState {
        SchedState::with_init(INIT)
    }
}

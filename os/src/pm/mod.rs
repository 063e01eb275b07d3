//! pm, the process manager: process table, pids, fork, exit and wait, exec, ids, signals,
//! shutdown. It orchestrates the flows that span vm and vfs (MINIX_FLOWS: fork, exec, exit), and
//! never blocks on vfs: it tells vfs asynchronously, suspends the caller, and finishes on vfs's
//! answer.
//!
//! Files: `state.rs` (the process table and its indexes), `table.rs` (message type -> handler), `forkexit.rs`
//! (fork, exit, wait4, deaths), `exec.rs`, `getset.rs` (getpid, ids), `signal.rs` (kill,
//! sigaction, sigprocmask, sigpending, sigsuspend, sigreturn, delivery), `ids.rs` (effective ids,
//! groups, process groups and sessions), `time.rs` (alarm, itimers, clocks, times, getrusage),
//! `misc.rs` (reboot), `priority.rs` (getpriority, setpriority, through sched).

pub mod check;
pub mod exec;
pub mod forkexit;
pub mod getset;
pub mod ids;
pub mod misc;
pub mod priority;
pub mod signal;
pub mod state;
pub mod table;
pub mod time;

use crate::proto::INIT;
use crate::task::{Call, Compensation, Server};
use kernel_sim::Endpoint;
use kernel_sim::Proc;
use state::PmState;

/// The process manager.
pub struct Pm;

impl Server for Pm {
    const NAME: &'static str = "pm";
    type State = PmState;

    fn calls() -> &'static [Call<PmState>] {
        table::CALLS
    }

    fn check_invariants(state: &mut PmState) -> Vec<String> {
        state.check_invariants()
    }

    fn boot(_proc: &Proc) -> PmState {
        PmState::with_init(INIT)
    }

    fn fresh(_proc: &Proc) -> PmState {
        PmState::with_init(INIT)
    }

    fn compensations() -> &'static [Compensation] {
        forkexit::COMPENSATIONS
    }

    fn restarted(proc: &Proc, state: &mut PmState) {
        time::rearm_after_restart(proc, state);
    }

    fn suspended(state: &mut PmState) -> Vec<Endpoint> {
        state.suspended()
    }
}

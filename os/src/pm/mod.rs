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

use crate::proto::pm::{
    PM_VFS_EXEC, PM_VFS_EXIT, PM_VFS_FORK, PM_VFS_SETID, VfsExecRequest, VfsForkNotice, VfsProcNotice, VfsSetIdNotice,
};
use crate::proto::{INIT, VFS, call_name, key_of};
use crate::task::{Call, Compensation, Param, Sent, Server};
use kernel_sim::{Endpoint, Message, Proc};
use state::{NR_PROCS, Phase, PmState};

/// The size pm's manifest entry may set: its process table's entries (init included; the last
/// few are root's).
pub const PARAMS: &[Param] = &[Param {
    name: "procs",
    what: "entries of the process table",
    default: NR_PROCS as u64,
    min: 8,
    max: NR_PROCS as u64,
}];

/// The process manager.
pub struct Pm;

impl Server for Pm {
    const NAME: &'static str = "pm";
    const PARAMS: &'static [Param] = PARAMS;
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

    fn awaiting_lost(state: &mut PmState, lost: &[&Sent]) -> Vec<String> {
        lost.iter().filter(|s| s.to == VFS).filter_map(|s| vfs_answer_awaited(state, &s.message)).collect()
    }
}

/// Whether pm's state waits for vfs's answer to `request` (a process in the phase the answer
/// ends), as the violation its loss is. An exit always waits: only with vfs's answer is the
/// process's memory freed, and vfs forgets the process only on the request.
fn vfs_answer_awaited(state: &mut PmState, request: &Message) -> Option<String> {
    let mut phase_of = |ep: Endpoint| state.procs.get(key_of(ep)).filter(|p| p.ep == ep).map(|p| p.phase.clone());
    let (proc, waits) = match request.m_type {
        PM_VFS_FORK => {
            let n: VfsForkNotice = request.get();
            (n.parent, phase_of(n.parent) == Some(Phase::Forking { child: n.child }))
        }
        PM_VFS_EXEC => {
            let r: VfsExecRequest = request.get();
            (r.proc, matches!(phase_of(r.proc), Some(Phase::Execing { .. })))
        }
        PM_VFS_SETID => {
            let n: VfsSetIdNotice = request.get();
            (n.proc, phase_of(n.proc) == Some(Phase::SettingIds))
        }
        PM_VFS_EXIT => (request.get::<VfsProcNotice>().proc, true),
        _ => return None,
    };
    waits.then(|| {
        format!("request-lost: {proc} waits for vfs's answer to {}, which never left pm", call_name(request.m_type))
    })
}

//! fork, exit, wait4, and the deaths the kernel reports (pm is the signal manager of every user
//! process).
//!
//! fork: pm asks vm to copy the address space (VM_FORK, after which the fork cannot fail), fills
//! the child's entry, tells vfs (asynchronously) and suspends the parent; on vfs's answer pm asks
//! sched to schedule the child (SCHED_START) and replies to both. exit: the process asks, pm
//! agrees, the process ends; the kernel reports the end; pm tells vm the process will exit, sched
//! to stop scheduling it (SCHED_STOP), and tells vfs; on vfs's answer it asks vm to free the memory
//! and the slot, then hands the status to a waiting parent or keeps a zombie.

use super::state::{LAST_FEW, MProc, Phase, PmState, ROOT_UID};
use crate::errno::Errno;
use crate::proto::pm::*;
use crate::proto::sched::{SCHED_START, SCHED_STOP, SchedProcRequest, SchedStartRequest};
use crate::proto::vm::{VM_EXIT, VM_FORK, VM_WILLEXIT, VmForkReply, VmForkRequest, VmProcRequest};
use crate::proto::{INIT_PID, ProcKey, SCHED, VFS, VM, key_of};
use crate::task::{Compensation, Ctx, Handled, Sent};
use kernel_sim::{EndCause, Endpoint, KernelCall, Message, Proc};

type PmCtx<'a> = Ctx<'a, PmState>;

/// PM_FORK: make a child of the caller.
pub fn do_fork(ctx: &mut PmCtx<'_>) -> Handled {
    let who = ctx.requester();
    let Some(parent) = ctx.state.procs.get_own(&who).cloned() else { return Handled::Reply(Err(Errno::ESRCH)) };
    if parent.phase != Phase::Running {
        return Handled::Reply(Err(Errno::EINVAL));
    }
    // As MINIX's do_fork: the table full, or all but the superuser's last few entries in use.
    let table = super::PARAMS[0].of(ctx.proc) as usize;
    let in_use = ctx.state.procs.len();
    if in_use >= table || (in_use >= table - LAST_FEW && parent.euid != ROOT_UID) {
        return Handled::Reply(Err(Errno::EAGAIN));
    }
    let child_slot = ctx.state.free_slot();
    let request = VmForkRequest { parent: parent.ep, child_slot };
    let answer = match ctx.sendrec(VM, Message::with(VM_FORK, &request)) {
        Ok(answer) => answer,
        Err(e) => return Handled::Reply(Err(e)),
    };
    // From here on the child exists: the fork cannot fail any more.
    let child_ep = answer.get::<VmForkReply>().child;
    let pid = ctx.state.allocate_pid();
    let child =
        MProc { ep: child_ep, pid, parent: parent.pid, phase: Phase::Newborn, scheduled: false, ..parent.clone() };
    ctx.state.insert_proc(key_of(child_ep), child);
    super::signal::inherit(ctx.state, key_of(parent.ep), key_of(child_ep));
    ctx.state.procs.get_own_mut(&who).expect("checked above").phase = Phase::Forking { child: child_ep };
    let notice = VfsForkNotice { parent: parent.ep, child: child_ep, child_pid: pid };
    if let Err(e) = ctx.asynsend(VFS, Message::with(PM_VFS_FORK, &notice)) {
        // vfs is gone: the child cannot get descriptors. Finish the fork without them; vfs's
        // restart decides what the child finds.
        let _ = e;
        finish_fork(ctx, parent.ep, child_ep);
    }
    Handled::Suspend
}

/// What undoes the requests fork sends, when pm is rolled back past them: ending the child. Its
/// death takes the normal exit path (VM_WILLEXIT, PM_VFS_EXIT, VM_EXIT), which frees what vm and
/// vfs made for it, as for a child whose fork was cut short (pm's rolled-back table no longer
/// knows it). The analysis checks that each inverse covers what its request writes.
pub static COMPENSATIONS: &[Compensation] = &[
    Compensation { forward: VM_FORK, inverse: VM_EXIT, needs_answer: true, undo: end_forked_child },
    Compensation { forward: PM_VFS_FORK, inverse: PM_VFS_EXIT, needs_answer: false, undo: end_forked_child },
    Compensation { forward: SCHED_START, inverse: SCHED_STOP, needs_answer: false, undo: end_forked_child },
];

/// Ends the child a fork made (VM_FORK's answer, or the notice to vfs, names it).
fn end_forked_child(proc: &Proc, sent: &Sent) {
    let child = match (sent.message.m_type, sent.answer()) {
        (VM_FORK, Some(answer)) => answer.get::<VmForkReply>().child,
        (VM_FORK, None) => return,
        (SCHED_START, _) => sent.message.get::<SchedStartRequest>().proc,
        _ => sent.message.get::<VfsForkNotice>().child,
    };
    // Already ending, when both of fork's requests name it: the kill is idempotent.
    let _ = proc.sys_kill(child);
}

/// VFS_PM_FORK_REPLY: vfs copied the descriptors; both processes may run.
pub fn do_vfs_fork_reply(ctx: &mut PmCtx<'_>) -> Handled {
    if ctx.who() != VFS {
        // Only that server sends this; anyone else (a user under a permissive manifest)
        // is told no rather than left waiting.
        return Handled::Reply(Err(Errno::EPERM));
    }
    let child = ctx.m.get::<VfsProcReply>().proc;
    let parent = ctx.state.procs.get(key_of(child)).map(|c| c.parent);
    let parent_ep = parent.and_then(|pid| ctx.state.key_of_pid(pid)).and_then(|k| ctx.state.procs.get(k)).map(|p| p.ep);
    if let Some(parent_ep) = parent_ep {
        finish_fork(ctx, parent_ep, child);
    }
    Handled::NoReply
}

fn finish_fork(ctx: &mut PmCtx<'_>, parent: Endpoint, child: Endpoint) {
    let Some(c) = ctx.state.procs.get_mut_global(key_of(child)) else { return };
    if c.phase == Phase::Newborn {
        c.phase = Phase::Running;
    }
    let child_pid = c.pid;
    if let Some(p) = ctx.state.procs.get_mut_global(key_of(parent))
        && p.phase == (Phase::Forking { child })
    {
        p.phase = Phase::Running;
    }
    // Scheduled before it first runs, with its parent's nice value (MINIX: on vfs's answer). A
    // sched that cannot schedule it (the child already gone) changes nothing for the fork.
    let started = ctx.sendrec(SCHED, Message::with(SCHED_START, &SchedStartRequest { proc: child, parent }));
    let taken = started.is_ok();
    step_taken(started, "SCHED_START");
    if taken && let Some(c) = ctx.state.procs.get_mut_global(key_of(child)).filter(|c| c.ep == child) {
        c.scheduled = true;
    }
    // Signals raised while the fork was under way (they waited for it).
    super::signal::deliver_pending(ctx, key_of(child));
    super::signal::deliver_pending(ctx, key_of(parent));
    ctx.reply_async(child, Message::with(0, &ForkReply { pid: 0 }));
    ctx.reply(parent, Message::with(0, &ForkReply { pid: child_pid }));
}

/// PM_EXIT: the caller wants to end with `status`. pm agrees; the caller then ends its body and
/// the kernel's death report continues the flow.
pub fn do_exit(ctx: &mut PmCtx<'_>) -> Handled {
    let status = ctx.m.get::<ExitRequest>().status;
    let who = ctx.requester();
    match ctx.state.procs.get_own_mut(&who) {
        Some(p) if !matches!(p.phase, Phase::Exiting { .. } | Phase::Zombie { .. }) => {
            p.phase = Phase::Exiting { status: exit_status(status), ended: false };
            Handled::Reply(Ok(Message::new(0)))
        }
        Some(_) => Handled::Reply(Err(Errno::EINVAL)),
        None => Handled::Reply(Err(Errno::ESRCH)),
    }
}

/// A notification from the kernel: collect every death it reports.
pub fn do_kernel_notify(ctx: &mut PmCtx<'_>) -> Handled {
    if ctx.who() != Endpoint::KERNEL {
        // Only that server sends this; anyone else (a user under a permissive manifest)
        // is told no rather than left waiting.
        return Handled::Reply(Err(Errno::EPERM));
    }
    // Taking a death changes the kernel's queue: through `ctx.kernel`, so that a reprocessed
    // notification replays the deaths its crashed attempt took rather than finding none.
    while let Ok(Some(death)) = ctx.kernel(KernelCall::Remains, |k| k.sys_next_death()) {
        let status = match &death.cause {
            EndCause::Exited => exit_status(0),
            EndCause::Crashed { .. } => signal_status(sig::SIGSEGV),
            EndCause::Killed { .. } => signal_status(sig::SIGKILL),
        };
        process_ended(ctx, death.ep, status);
    }
    // The kernel's alarm rings as a notification from the kernel too.
    super::time::expire_timers(ctx);
    Handled::NoReply
}

/// The kernel reports that `ep`'s body no longer runs: start the cleanup with vfs.
fn process_ended(ctx: &mut PmCtx<'_>, ep: Endpoint, default_status: i32) {
    let key = key_of(ep);
    let scheduled = match ctx.state.procs.get_mut_global(key).filter(|p| p.ep == ep) {
        Some(p) => {
            let status = match p.phase {
                Phase::Exiting { status, .. } => status,
                _ => default_status,
            };
            p.phase = Phase::Exiting { status, ended: true };
            p.scheduled
        }
        None => false,
    };
    // vm keeps the memory until VM_EXIT, but stops serving the process's own memory calls.
    step_taken(ctx.sendrec(VM, Message::with(VM_WILLEXIT, &VmProcRequest { proc: ep })), "VM_WILLEXIT");
    // sched stops scheduling it (ESRCH for a process it never scheduled: a fork cut short). One
    // it took SCHED_START for and does not know has been stopped as another (a garbled request),
    // and the process it schedules still: pm stops here rather than leave the two apart.
    let stopped = ctx.sendrec(SCHED, Message::with(SCHED_STOP, &SchedProcRequest { proc: ep }));
    assert!(!(scheduled && stopped == Err(Errno::ESRCH)), "sched did not know {ep}, which it was scheduling");
    step_taken(stopped, "SCHED_STOP");
    // Even a process pm does not know (its fork was cut short) has descriptors and memory to free.
    if ctx.asynsend(VFS, Message::with(PM_VFS_EXIT, &VfsProcNotice { proc: ep })).is_err() {
        free_memory_and_reap(ctx, ep);
    }
}

/// A step of the fork or exit flow whose refusal pm goes on past (a process vm or sched never
/// knew), but not its loss: the server crashed on it and dropped it (ERECOVERED), or refuses it
/// after crashing on it persistently (EQUARANTINED), and pm running on would leave the two apart.
/// pm stops here instead, a crash of its own request.
fn step_taken(answer: Result<Message, Errno>, step: &str) {
    assert!(
        !matches!(answer, Err(Errno::ERECOVERED | Errno::EQUARANTINED)),
        "{step} was dropped by the server that crashed on it"
    );
}

/// VFS_PM_EXIT_REPLY: vfs closed the descriptors; free the memory and settle the status.
pub fn do_vfs_exit_reply(ctx: &mut PmCtx<'_>) -> Handled {
    if ctx.who() != VFS {
        // Only that server sends this; anyone else (a user under a permissive manifest)
        // is told no rather than left waiting.
        return Handled::Reply(Err(Errno::EPERM));
    }
    let ep = ctx.m.get::<VfsProcReply>().proc;
    free_memory_and_reap(ctx, ep);
    Handled::NoReply
}

fn free_memory_and_reap(ctx: &mut PmCtx<'_>, ep: Endpoint) {
    settle_exit(ctx, ep);
    super::misc::continue_shutdown(ctx);
}

fn settle_exit(ctx: &mut PmCtx<'_>, ep: Endpoint) {
    // vm frees the frames and clears the kernel slot; the endpoint is stale after this.
    step_taken(ctx.sendrec(VM, Message::with(VM_EXIT, &VmProcRequest { proc: ep })), "VM_EXIT");
    let key = key_of(ep);
    let Some(dead) = ctx.state.procs.get(key).filter(|p| p.ep == ep).cloned() else { return };
    let Phase::Exiting { status, .. } = dead.phase else { return };
    // Orphans go to init. init's own, when init ends (the workload's end), have nobody left to
    // wait for them: its zombies are freed, or pm would keep them for ever.
    for child_key in ctx.state.children_of(dead.pid) {
        if dead.pid == INIT_PID {
            if ctx.state.procs.get(child_key).is_some_and(|c| matches!(c.phase, Phase::Zombie { .. })) {
                ctx.state.remove_proc(child_key);
            }
            continue;
        }
        ctx.state.reparent(child_key, INIT_PID);
        reap_if_waited(ctx, child_key);
    }
    // Nobody can wait for a process without a parent: init itself, or a child of init after
    // init ended (its own were left running, and init is not there to reap them).
    if dead.parent == 0 || ctx.state.key_of_pid(dead.parent).is_none() {
        ctx.state.remove_proc(key);
        return;
    }
    ctx.state.make_zombie(key, status);
    reap_if_waited(ctx, key);
    // After the reap: a parent waiting for this child gets it, not EINTR.
    super::signal::child_ended(ctx, dead.parent);
}

/// If `key` is a zombie whose parent waits for it, hands the status over and frees the entry.
fn reap_if_waited(ctx: &mut PmCtx<'_>, key: ProcKey) {
    let Some(child) = ctx.state.procs.get(key).cloned() else { return };
    let Phase::Zombie { status } = child.phase else { return };
    let Some(parent_key) = ctx.state.key_of_pid(child.parent) else { return };
    let parent = ctx.state.procs.get(parent_key).cloned().expect("found by pid");
    if let Phase::Waiting { pid } = parent.phase
        && waits_for(pid, &parent, &child)
    {
        ctx.state.remove_proc(key);
        ctx.state.procs.get_mut_global(parent_key).expect("present").phase = Phase::Running;
        ctx.reply(parent.ep, Message::with(0, &WaitReply { pid: child.pid, status }));
    }
}

/// Whether a wait4 for `pid` by `parent` takes `child`: -1 any child, above 0 that one, 0 one in
/// the parent's group, below -1 one in group `-pid`.
fn waits_for(pid: crate::proto::Pid, parent: &MProc, child: &MProc) -> bool {
    match pid {
        -1 => true,
        0 => child.pgrp == parent.pgrp,
        p if p < -1 => Some(child.pgrp) == p.checked_neg(),
        p => p == child.pid,
    }
}

/// PM_WAIT4: collect a zombie child, or wait for one.
pub fn do_wait4(ctx: &mut PmCtx<'_>) -> Handled {
    let WaitRequest { pid, options } = ctx.m.get();
    let who = ctx.requester();
    let Some(me) = ctx.state.procs.get_own(&who).cloned() else { return Handled::Reply(Err(Errno::ESRCH)) };
    if me.phase != Phase::Running {
        // A process that asked to exit waits for nobody.
        return Handled::Reply(Err(Errno::EINVAL));
    }
    if pid == i32::MIN {
        // No group has this id's negation.
        return Handled::Reply(Err(Errno::ECHILD));
    }
    // The child waited for: any zombie child, one of a group (0: the caller's, below -1: group
    // -pid), or the one named if it is the caller's.
    let zombie = if pid == -1 {
        if !ctx.state.has_children(me.pid) {
            return Handled::Reply(Err(Errno::ECHILD));
        }
        ctx.state.zombie_child_of(me.pid)
    } else if pid <= 0 {
        let in_group: Vec<(ProcKey, bool)> = ctx
            .state
            .children_of(me.pid)
            .into_iter()
            .filter_map(|key| ctx.state.procs.get(key).map(|c| (key, c.clone())))
            .filter(|(_, c)| waits_for(pid, &me, c))
            .map(|(key, c)| (key, matches!(c.phase, Phase::Zombie { .. })))
            .collect();
        if in_group.is_empty() {
            return Handled::Reply(Err(Errno::ECHILD));
        }
        in_group.into_iter().find(|&(_, zombie)| zombie).map(|(key, _)| key)
    } else {
        let child = ctx.state.key_of_pid(pid).and_then(|key| Some((key, ctx.state.procs.get(key)?.clone())));
        match child {
            Some((key, c)) if c.parent == me.pid => matches!(c.phase, Phase::Zombie { .. }).then_some(key),
            _ => return Handled::Reply(Err(Errno::ECHILD)),
        }
    };
    if let Some(key) = zombie {
        let zombie = ctx.state.remove_proc(key).expect("found just now");
        let Phase::Zombie { status } = zombie.phase else { unreachable!("filed as a zombie") };
        return Handled::Reply(Ok(Message::with(0, &WaitReply { pid: zombie.pid, status })));
    }
    if options & WNOHANG != 0 {
        return Handled::Reply(Ok(Message::with(0, &WaitReply { pid: 0, status: 0 })));
    }
    ctx.state.procs.get_own_mut(&who).expect("found above").phase = Phase::Waiting { pid };
    Handled::Suspend
}

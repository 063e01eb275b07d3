//! SCHED_START, SCHED_STOP, SCHED_SET_NICE, SCHED_GET_NICE (from pm), and the kernel's word that
//! quanta ran out. Every priority and quantum reaches the kernel through `Ctx::kernel`, so a
//! reprocessed request replays it rather than scheduling twice.

use super::state::{DEFAULT_NICE, MIN_USER_Q, QUANTUM_ENTRIES, SchedProc, SchedState, nice_to_priority};
use crate::errno::Errno;
use crate::proto::sched::*;
use crate::proto::{PM, key_of};
use crate::task::{Ctx, Handled};
use kernel_sim::{Endpoint, KernelCall, Message};

type SchedCtx<'a> = Ctx<'a, SchedState>;

/// The entry of `ep`, if sched schedules it (under that endpoint).
fn scheduled(ctx: &mut SchedCtx<'_>, ep: Endpoint) -> Option<SchedProc> {
    ctx.state.procs.get(&key_of(ep)).filter(|p| p.ep == ep).cloned()
}

/// Gives `ep` priority `priority` and a fresh quantum of `quantum` kernel entries.
fn give_quantum(ctx: &mut SchedCtx<'_>, ep: Endpoint, priority: u8, quantum: u32) -> Result<(), Errno> {
    ctx.kernel(KernelCall::Schedule, |k| k.sys_schedule(ep, priority, quantum))
}

/// SCHED_START: schedule a new process with its parent's nice value.
pub fn do_start(ctx: &mut SchedCtx<'_>) -> Handled {
    if ctx.who() != PM {
        return Handled::Reply(Err(Errno::EPERM));
    }
    let SchedStartRequest { proc, parent } = ctx.m.get();
    if ctx.state.procs.contains_key(&key_of(proc)) {
        // The slot is scheduled already: pm never forks into a slot in use.
        return Handled::Reply(Err(Errno::EBUSY));
    }
    // The child gets its parent's nice value and time slice (MINIX's do_start_scheduling).
    let (nice, quantum) = scheduled(ctx, parent).map_or((DEFAULT_NICE, QUANTUM_ENTRIES), |p| (p.nice, p.quantum));
    let priority = nice_to_priority(nice);
    if let Err(e) = give_quantum(ctx, proc, priority, quantum) {
        // No such live user process.
        return Handled::Reply(Err(if e == Errno::EINVAL { Errno::EINVAL } else { Errno::ESRCH }));
    }
    ctx.state.procs.insert(key_of(proc), SchedProc { ep: proc, nice, priority, quantum, expiries: 0 });
    Handled::status(Ok(0))
}

/// SCHED_STOP: forget an exiting process.
pub fn do_stop(ctx: &mut SchedCtx<'_>) -> Handled {
    if ctx.who() != PM {
        return Handled::Reply(Err(Errno::EPERM));
    }
    let proc = ctx.m.get::<SchedProcRequest>().proc;
    if scheduled(ctx, proc).is_none() {
        return Handled::Reply(Err(Errno::ESRCH));
    }
    // The kernel forgets its quantum (undoing SCHED_START's kernel call); a process already
    // cleared has none left to forget.
    let _ = ctx.kernel(KernelCall::Schedule, |k| k.sys_unschedule(proc));
    ctx.state.procs.remove(&key_of(proc));
    // The kernel no longer runs it for sched: an entry left behind would be scheduled for ever.
    assert!(scheduled(ctx, proc).is_none(), "sched still schedules {proc} after forgetting it");
    Handled::status(Ok(0))
}

/// SCHED_SET_NICE: a new nice value, and the priority it gives.
pub fn do_set_nice(ctx: &mut SchedCtx<'_>) -> Handled {
    if ctx.who() != PM {
        return Handled::Reply(Err(Errno::EPERM));
    }
    let SchedNiceRequest { proc, nice, privileged } = ctx.m.get();
    if !(PRIO_MIN..=PRIO_MAX).contains(&nice) {
        return Handled::Reply(Err(Errno::EINVAL));
    }
    let Some(mut entry) = scheduled(ctx, proc) else { return Handled::Reply(Err(Errno::ESRCH)) };
    if nice < entry.nice && !privileged {
        // Raising the priority is the superuser's (MINIX's pm: EACCES).
        return Handled::Reply(Err(Errno::EACCES));
    }
    let priority = nice_to_priority(nice);
    if let Err(e) = give_quantum(ctx, proc, priority, entry.quantum) {
        return Handled::Reply(Err(e));
    }
    entry.nice = nice;
    entry.priority = priority;
    ctx.state.procs.insert(key_of(proc), entry);
    Handled::status(Ok(0))
}

/// SCHED_GET_NICE: a process's nice value.
pub fn do_get_nice(ctx: &mut SchedCtx<'_>) -> Handled {
    if ctx.who() != PM {
        return Handled::Reply(Err(Errno::EPERM));
    }
    let proc = ctx.m.get::<SchedProcRequest>().proc;
    match scheduled(ctx, proc) {
        Some(p) => Handled::Reply(Ok(Message::with(0, &SchedNiceReply { nice: p.nice }))),
        None => Handled::Reply(Err(Errno::ESRCH)),
    }
}

/// A notification from the kernel: processes ran out of quantum. Each sinks one queue (MINIX's
/// `do_noquantum`) and gets a new quantum.
pub fn do_kernel_notify(ctx: &mut SchedCtx<'_>) -> Handled {
    if ctx.who() != Endpoint::KERNEL {
        return Handled::Reply(Err(Errno::EPERM));
    }
    while let Ok(Some(ep)) = ctx.kernel(KernelCall::Schedule, |k| k.sys_next_expired()) {
        // A process sched does not know (stopped meanwhile) keeps its empty quantum.
        let Some(mut entry) = scheduled(ctx, ep) else { continue };
        entry.priority = (entry.priority + 1).min(MIN_USER_Q);
        entry.expiries += 1;
        if give_quantum(ctx, ep, entry.priority, entry.quantum).is_ok() {
            ctx.state.procs.insert(key_of(ep), entry);
        }
    }
    Handled::NoReply
}

//! getpriority and setpriority (MINIX's `do_getsetpriority`): pm checks who may ask about whom,
//! sched holds the nice values and answers.

use super::state::{MProc, Phase, PmState, ROOT_UID};
use crate::errno::Errno;
use crate::proto::SCHED;
use crate::proto::pm::*;
use crate::proto::sched::{PRIO_MAX, PRIO_MIN, PRIO_PROCESS, SCHED_GET_NICE, SCHED_SET_NICE};
use crate::proto::sched::{SchedNiceReply, SchedNiceRequest, SchedProcRequest};
use crate::task::{Ctx, Handled};
use kernel_sim::Message;

type PmCtx<'a> = Ctx<'a, PmState>;

/// The caller and the process a priority call names, once the caller may ask about it: EINVAL
/// for a `which` other than PRIO_PROCESS, ESRCH for no such live process, EPERM when the caller
/// is neither root nor the target's owner (MINIX's checks, in its order).
fn caller_and_target(ctx: &mut PmCtx<'_>, which: i32, pid: i32) -> Result<(MProc, MProc), Errno> {
    if which != PRIO_PROCESS {
        return Err(Errno::EINVAL);
    }
    let who = ctx.requester();
    let me = ctx.state.procs.get_own(&who).cloned().ok_or(Errno::ESRCH)?;
    let target = if pid == 0 {
        me.clone()
    } else {
        let key = ctx.state.key_of_pid(pid).ok_or(Errno::ESRCH)?;
        ctx.state.procs.get(key).cloned().ok_or(Errno::ESRCH)?
    };
    if matches!(target.phase, Phase::Zombie { .. } | Phase::Exiting { .. }) {
        return Err(Errno::ESRCH);
    }
    if me.euid != ROOT_UID && me.euid != target.euid && me.euid != target.uid {
        return Err(Errno::EPERM);
    }
    Ok((me, target))
}

/// PM_GETPRIORITY: the nice value sched holds for the process.
pub fn do_getpriority(ctx: &mut PmCtx<'_>) -> Handled {
    let PriorityRequest { which, who, .. } = ctx.m.get();
    let target = match caller_and_target(ctx, which, who) {
        Ok((_, target)) => target,
        Err(e) => return Handled::Reply(Err(e)),
    };
    let asked = ctx.sendrec(SCHED, Message::with(SCHED_GET_NICE, &SchedProcRequest { proc: target.ep }));
    Handled::Reply(asked.map(|answer| Message::with(0, &PriorityReply { nice: answer.get::<SchedNiceReply>().nice })))
}

/// PM_SETPRIORITY: a new nice value, set by sched; only root may lower it (raise the priority).
pub fn do_setpriority(ctx: &mut PmCtx<'_>) -> Handled {
    let PriorityRequest { which, who, prio } = ctx.m.get();
    let (me, target) = match caller_and_target(ctx, which, who) {
        Ok(found) => found,
        Err(e) => return Handled::Reply(Err(e)),
    };
    if !(PRIO_MIN..=PRIO_MAX).contains(&prio) {
        return Handled::Reply(Err(Errno::EINVAL));
    }
    let request = SchedNiceRequest { proc: target.ep, nice: prio, privileged: me.euid == ROOT_UID };
    Handled::status(ctx.sendrec(SCHED, Message::with(SCHED_SET_NICE, &request)).map(|_| 0))
}

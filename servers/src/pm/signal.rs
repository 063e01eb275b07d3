//! kill: SIGKILL and SIGTERM end the target (no handlers are installed in samsara's programs, so
//! every terminating signal takes its default action); SIGCHLD is ignored by default; signal 0
//! only checks that the target exists and may be signalled.

use super::state::{Phase, PmState, ROOT_UID};
use crate::errno::Errno;
use crate::proto::pm::*;
use crate::task::{Ctx, Handled};
use kernel_sim::KernelCall;

type PmCtx<'a> = Ctx<'a, PmState>;

/// PM_KILL: send `signal` to `pid`.
pub fn do_kill(ctx: &mut PmCtx<'_>) -> Handled {
    let KillRequest { pid, signal } = ctx.m.get();
    if !(0..=sig::NSIG).contains(&signal) {
        return Handled::Reply(Err(Errno::EINVAL));
    }
    if pid <= 0 {
        // Process groups and "everyone" are not supported.
        return Handled::Reply(Err(Errno::EINVAL));
    }
    let who = ctx.requester();
    let Some(me) = ctx.state.procs.get_own(&who).cloned() else { return Handled::Reply(Err(Errno::ESRCH)) };
    let Some(key) = ctx.state.key_of_pid(pid) else { return Handled::Reply(Err(Errno::ESRCH)) };
    let target = ctx.state.procs.get(key).cloned().expect("found by pid");
    if matches!(target.phase, Phase::Zombie { .. }) {
        return Handled::Reply(Err(Errno::ESRCH));
    }
    if me.euid != ROOT_UID && me.euid != target.uid {
        return Handled::Reply(Err(Errno::EPERM));
    }
    if signal == 0 || signal == sig::SIGCHLD {
        return Handled::Reply(Ok(kernel_sim::Message::new(0)));
    }
    if let Phase::Exiting { ended: true, .. } = target.phase {
        // Already gone: the first cause of death stands.
        return Handled::Reply(Ok(kernel_sim::Message::new(0)));
    }
    match ctx.kernel(KernelCall::Kill, |k| k.sys_kill(target.ep)) {
        // It dies of this signal: running, or it asked to exit but its body still runs (one that
        // sent PM_EXIT by hand and went on).
        Ok(()) => {
            ctx.state.procs.get_mut_global(key).expect("found").phase =
                Phase::Exiting { status: signal_status(signal), ended: false };
            Handled::Reply(Ok(kernel_sim::Message::new(0)))
        }
        // It had just exited and its end is not reported yet: its exit status stands.
        Err(_) if matches!(target.phase, Phase::Exiting { .. }) => Handled::Reply(Ok(kernel_sim::Message::new(0))),
        Err(e) => Handled::Reply(Err(e)),
    }
}

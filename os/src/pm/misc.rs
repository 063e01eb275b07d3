//! reboot: an orderly shutdown. Every user process is ended and cleaned up through the normal exit
//! flow; once none is left, vfs is told to finish, and on its answer pm halts the system.

use super::state::{Phase, PmState, ROOT_UID, SystemPhase};
use crate::errno::Errno;
use crate::proto::VFS;
use crate::proto::pm::*;
use crate::task::{Ctx, Handled};
use kernel_sim::{KernelCall, Message};

type PmCtx<'a> = Ctx<'a, PmState>;

/// PM_REBOOT: root only.
pub fn do_reboot(ctx: &mut PmCtx<'_>) -> Handled {
    let who = ctx.requester();
    let Some(me) = ctx.state.procs.get_own(&who).cloned() else { return Handled::Reply(Err(Errno::ESRCH)) };
    if me.euid != ROOT_UID {
        return Handled::Reply(Err(Errno::EPERM));
    }
    ctx.state.system.set(SystemPhase::ShuttingDown);
    let victims: Vec<_> = ctx
        .state
        .procs
        .iter()
        .filter(|(_, p)| !matches!(p.phase, Phase::Zombie { .. } | Phase::Exiting { ended: true, .. }))
        .map(|(k, p)| (*k, p.ep))
        .collect();
    for (key, ep) in victims {
        ctx.state.procs.get_mut_global(key).expect("listed").phase =
            Phase::Exiting { status: signal_status(sig::SIGKILL), ended: false };
        let _ = ctx.kernel(KernelCall::Kill, |k| k.sys_kill(ep));
    }
    Handled::NoReply
}

/// Called after every reap: once a shutdown has emptied the process table of the living, tell vfs.
pub fn continue_shutdown(ctx: &mut PmCtx<'_>) {
    if *ctx.state.system.get() != SystemPhase::ShuttingDown {
        return;
    }
    if ctx.state.procs.iter().any(|(_, p)| !matches!(p.phase, Phase::Zombie { .. })) {
        return;
    }
    if ctx.asynsend(VFS, Message::with(PM_VFS_REBOOT, &VfsProcNotice { proc: ctx.proc.endpoint() })).is_err() {
        let _ = ctx.kernel(KernelCall::Shutdown, |k| k.sys_shutdown("reboot (vfs unreachable)"));
    }
}

/// VFS_PM_REBOOT_REPLY: vfs is done; halt.
pub fn do_vfs_reboot_reply(ctx: &mut PmCtx<'_>) -> Handled {
    if ctx.who() != VFS {
        return Handled::Reply(Err(Errno::EPERM));
    }
    let _ = ctx.kernel(KernelCall::Shutdown, |k| k.sys_shutdown("reboot"));
    Handled::NoReply
}

//! reboot: an orderly shutdown. Every user process is ended and cleaned up through the normal exit
//! flow; once none is left, vfs is told to finish, and on its answer pm halts the system. uname:
//! the system's names (MINIX's SYSUNAME), the node name root may set.

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

/// The names uname gives besides the node name, as MINIX's pm keeps them.
const SYSNAME: &[u8] = b"samsara";
const RELEASE: &[u8] = env!("CARGO_PKG_VERSION").as_bytes();
const VERSION: &[u8] = b"a MINIX-3-style multiserver system";
const MACHINE: &[u8] = b"sim";

/// PM_SYSUNAME: every name into the caller's grant (EINVAL when it is too small for them), or,
/// by root, a new node name from it (EINVAL when empty or not shorter than a field, EPERM for
/// anyone else). A bad grant is EFAULT.
pub fn do_uname(ctx: &mut PmCtx<'_>) -> Handled {
    let r: UnameRequest = ctx.m.get();
    let who = ctx.who();
    let grant = r.grant;
    let result = match r.set {
        0 => {
            if r.len < (UTSNAME_FIELD * UTSNAME_FIELDS) as u64 {
                return Handled::Reply(Err(Errno::EINVAL));
            }
            let nodename = ctx.state.nodename.get().clone();
            let mut names = Vec::with_capacity(UTSNAME_FIELD * UTSNAME_FIELDS);
            for name in [SYSNAME, &nodename, RELEASE, VERSION, MACHINE] {
                let mut field = name.to_vec();
                field.resize(UTSNAME_FIELD, 0);
                names.extend_from_slice(&field);
            }
            ctx.proc.safecopy_to(who, grant, 0, &names).map_err(|_| Errno::EFAULT)
        }
        1 => set_nodename(ctx, who, grant, r.len),
        _ => Err(Errno::EINVAL),
    };
    Handled::Reply(result.map(|()| Message::new(0)))
}

fn set_nodename(
    ctx: &mut PmCtx<'_>,
    who: kernel_sim::Endpoint,
    grant: kernel_sim::memory::GrantId,
    len: u64,
) -> Result<(), Errno> {
    let me = ctx.requester();
    let euid = ctx.state.procs.get_own(&me).map(|p| p.euid).ok_or(Errno::ESRCH)?;
    if euid != ROOT_UID {
        return Err(Errno::EPERM);
    }
    if len == 0 || len >= UTSNAME_FIELD as u64 {
        return Err(Errno::EINVAL);
    }
    let mut name = vec![0u8; len as usize];
    ctx.proc.safecopy_from(who, grant, 0, &mut name).map_err(|_| Errno::EFAULT)?;
    if name.contains(&0) {
        return Err(Errno::EINVAL);
    }
    ctx.state.nodename.set(name);
    Ok(())
}

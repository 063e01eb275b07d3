//! getpid, getuid, setuid, setgid: answered by pm alone (setuid and setgid tell vfs, which keeps
//! the ids it checks permissions with).

use super::state::{Phase, PmState, ROOT_UID};
use crate::errno::Errno;
use crate::proto::pm::*;
use crate::proto::{VFS, key_of};
use crate::task::{Ctx, Handled};
use kernel_sim::Message;
use recovery::Requester;

type PmCtx<'a> = Ctx<'a, PmState>;

/// PM_GETPID: pid and parent pid.
pub fn do_getpid(ctx: &mut PmCtx<'_>) -> Handled {
    let who = ctx.requester();
    match ctx.state.procs.get_own(&who) {
        Some(p) => Handled::Reply(Ok(Message::with(0, &PidReply { pid: p.pid, ppid: p.parent }))),
        None => Handled::Reply(Err(Errno::ESRCH)),
    }
}

/// PM_GETUID: real and effective ids.
pub fn do_getuid(ctx: &mut PmCtx<'_>) -> Handled {
    let who = ctx.requester();
    match ctx.state.procs.get_own(&who) {
        Some(p) => {
            Handled::Reply(Ok(Message::with(0, &IdsReply { uid: p.uid, gid: p.gid, euid: p.euid, egid: p.egid })))
        }
        None => Handled::Reply(Err(Errno::ESRCH)),
    }
}

/// PM_SETUID: only root may become someone else; anyone may set the id it already has.
pub fn do_setuid(ctx: &mut PmCtx<'_>) -> Handled {
    set_id(ctx, true)
}

/// PM_SETGID: as setuid, for the group.
pub fn do_setgid(ctx: &mut PmCtx<'_>) -> Handled {
    set_id(ctx, false)
}

fn set_id(ctx: &mut PmCtx<'_>, user: bool) -> Handled {
    let id = ctx.m.get::<SetIdRequest>().id;
    let who = ctx.requester();
    let Some(p) = ctx.state.procs.get_own(&who).cloned() else { return Handled::Reply(Err(Errno::ESRCH)) };
    if p.phase != Phase::Running {
        // A process that asked to exit (or is mid-call) makes no new calls.
        return Handled::Reply(Err(Errno::EINVAL));
    }
    let current = if user { p.uid } else { p.gid };
    if p.euid != ROOT_UID && id != current {
        return Handled::Reply(Err(Errno::EPERM));
    }
    let entry = ctx.state.procs.get_own_mut(&who).expect("found above");
    if user {
        entry.uid = id;
        entry.euid = id;
    } else {
        entry.gid = id;
        entry.egid = id;
    }
    entry.phase = Phase::SettingIds;
    let notice = VfsSetIdNotice { proc: p.ep, uid: entry.euid, gid: entry.egid };
    super::ids::tell_vfs_ids(ctx, &who, notice)
}

/// VFS_PM_SETID_REPLY: vfs took the new ids; the caller's setuid/setgid returns.
pub fn do_vfs_setid_reply(ctx: &mut PmCtx<'_>) -> Handled {
    if ctx.who() != VFS {
        // Only that server sends this; anyone else (a user under a permissive manifest)
        // is told no rather than left waiting.
        return Handled::Reply(Err(Errno::EPERM));
    }
    let r = ctx.m.get::<VfsProcReply>();
    // On behalf of the process it names: its entry alone changes.
    let on_behalf = Requester::new(key_of(r.proc));
    if let Some(p) = ctx.state.procs.get_own_mut(&on_behalf).filter(|p| p.ep == r.proc && p.phase == Phase::SettingIds)
    {
        p.phase = Phase::Running;
        ctx.reply(r.proc, Message::new(r.status));
    }
    Handled::NoReply
}

//! The everyday id calls pm answers alone: getppid, getgid, geteuid, getegid, seteuid, setegid
//! (which tell vfs, as setuid does), getgroups, setgroups, issetugid; who is at an endpoint and
//! where a pid is (getepinfo, getprocnr); and process groups and sessions:
//! setsid, getpgrp, getsid, getpgid, setpgid (MINIX's `getset.c`).
//!
//! Invariants kept here (checked in `check.rs`): a group lies within one session; a session
//! leader (pid = sid) leads its group too; a group or session id, while it has members, is no
//! other process's pid (fork skips such pids); `pgroups` and `sessions` index exactly the table.

use super::state::{MProc, Phase, PmState, ROOT_UID};
use crate::errno::Errno;
use crate::proto::pm::*;
use crate::proto::{Pid, ProcKey, VFS};
use crate::task::{Ctx, Handled};
use kernel_sim::Message;
use recovery::Requester;

type PmCtx<'a> = Ctx<'a, PmState>;

/// The caller's entry, or ESRCH.
fn me(ctx: &mut PmCtx<'_>) -> Result<MProc, Errno> {
    let who = ctx.requester();
    ctx.state.procs.get_own(&who).cloned().ok_or(Errno::ESRCH)
}

fn id_reply(id: Result<i32, Errno>) -> Handled {
    Handled::Reply(id.map(|id| Message::with(0, &IdReply { id })))
}

/// PM_GETPPID: the parent's pid.
pub fn do_getppid(ctx: &mut PmCtx<'_>) -> Handled {
    id_reply(me(ctx).map(|p| p.parent))
}

/// PM_GETGID: the real group id.
pub fn do_getgid(ctx: &mut PmCtx<'_>) -> Handled {
    id_reply(me(ctx).map(|p| p.gid as i32))
}

/// PM_GETEUID: the effective user id.
pub fn do_geteuid(ctx: &mut PmCtx<'_>) -> Handled {
    id_reply(me(ctx).map(|p| p.euid as i32))
}

/// PM_GETEGID: the effective group id.
pub fn do_getegid(ctx: &mut PmCtx<'_>) -> Handled {
    id_reply(me(ctx).map(|p| p.egid as i32))
}

/// PM_ISSETUGID: whether the caller's image is tainted (see `MProc::tainted`).
pub fn do_issetugid(ctx: &mut PmCtx<'_>) -> Handled {
    id_reply(me(ctx).map(|p| i32::from(p.tainted)))
}

/// PM_GETEPINFO: the pid and effective ids of the process at an endpoint (of this incarnation:
/// a stale endpoint is ESRCH).
pub fn do_getepinfo(ctx: &mut PmCtx<'_>) -> Handled {
    let ep = kernel_sim::Endpoint::from_raw(ctx.m.get::<EpRequest>().ep);
    let found = ctx
        .state
        .procs
        .get(crate::proto::key_of(ep))
        .filter(|p| p.ep == ep && !matches!(p.phase, Phase::Zombie { .. }))
        .cloned();
    Handled::Reply(
        found.map(|p| Message::with(0, &EpinfoReply { pid: p.pid, euid: p.euid, egid: p.egid })).ok_or(Errno::ESRCH),
    )
}

/// PM_GETPROCNR: the endpoint of a pid (0: the caller's own), for root only.
pub fn do_getprocnr(ctx: &mut PmCtx<'_>) -> Handled {
    let pid = ctx.m.get::<PidRequest>().pid;
    let result = me(ctx).and_then(|caller| {
        if caller.euid != ROOT_UID {
            return Err(Errno::EPERM);
        }
        if pid == 0 {
            return Ok(caller.ep);
        }
        let key = ctx.state.key_of_pid(pid).ok_or(Errno::ESRCH)?;
        let p = ctx.state.procs.get(key).ok_or(Errno::ESRCH)?;
        if matches!(p.phase, Phase::Zombie { .. }) { Err(Errno::ESRCH) } else { Ok(p.ep) }
    });
    Handled::Reply(result.map(|ep| Message::with(0, &EpRequest { ep: ep.raw() })))
}

/// PM_SETEUID: root may take any effective uid, anyone else only its real one.
pub fn do_seteuid(ctx: &mut PmCtx<'_>) -> Handled {
    set_effective(ctx, true)
}

/// PM_SETEGID: root may take any effective gid, anyone else only its real one.
pub fn do_setegid(ctx: &mut PmCtx<'_>) -> Handled {
    set_effective(ctx, false)
}

fn set_effective(ctx: &mut PmCtx<'_>, user: bool) -> Handled {
    let id = ctx.m.get::<SetIdRequest>().id;
    let who = ctx.requester();
    let Some(p) = ctx.state.procs.get_own(&who).cloned() else { return Handled::Reply(Err(Errno::ESRCH)) };
    if p.phase != Phase::Running {
        return Handled::Reply(Err(Errno::EINVAL));
    }
    let real = if user { p.uid } else { p.gid };
    if p.euid != ROOT_UID && id != real {
        return Handled::Reply(Err(Errno::EPERM));
    }
    let entry = ctx.state.procs.get_own_mut(&who).expect("found above");
    if user {
        entry.euid = id;
    } else {
        entry.egid = id;
    }
    entry.phase = Phase::SettingIds;
    let notice = VfsSetIdNotice { proc: p.ep, uid: entry.euid, gid: entry.egid };
    tell_vfs_ids(ctx, &who, notice)
}

/// Tells vfs a caller's new ids (it checks permissions with the effective ones) and suspends the
/// caller, whose entry is in phase `SettingIds`, until vfs answers VFS_PM_SETID_REPLY
/// (`getset::do_vfs_setid_reply` answers the caller).
pub(super) fn tell_vfs_ids(ctx: &mut PmCtx<'_>, who: &Requester<ProcKey>, notice: VfsSetIdNotice) -> Handled {
    match ctx.asynsend(VFS, Message::with(PM_VFS_SETID, &notice)) {
        Ok(()) => Handled::Suspend,
        Err(e) => {
            ctx.state.procs.get_own_mut(who).expect("the caller's entry").phase = Phase::Running;
            Handled::Reply(Err(e))
        }
    }
}

/// PM_GETGROUPS: the supplementary groups; `size` 0 only counts them, a smaller room than that
/// is EINVAL.
pub fn do_getgroups(ctx: &mut PmCtx<'_>) -> Handled {
    let size = ctx.m.get::<GetgroupsRequest>().size;
    let p = match me(ctx) {
        Ok(p) => p,
        Err(e) => return Handled::Reply(Err(e)),
    };
    let count = p.groups.len();
    if size < 0 || (size != 0 && (size as usize) < count) {
        return Handled::Reply(Err(Errno::EINVAL));
    }
    let mut groups = [0u32; NGROUPS_MAX];
    if size != 0 {
        groups[..count].copy_from_slice(&p.groups);
    }
    Handled::Reply(Ok(Message::with(0, &GroupsPayload { count: count as u32, groups })))
}

/// PM_SETGROUPS: root only; at most NGROUPS_MAX groups.
pub fn do_setgroups(ctx: &mut PmCtx<'_>) -> Handled {
    let r: GroupsPayload = ctx.m.get();
    if r.count as usize > NGROUPS_MAX {
        return Handled::Reply(Err(Errno::EINVAL));
    }
    let who = ctx.requester();
    let Some(p) = ctx.state.procs.get_own(&who).cloned() else { return Handled::Reply(Err(Errno::ESRCH)) };
    if p.euid != ROOT_UID {
        return Handled::Reply(Err(Errno::EPERM));
    }
    ctx.state.procs.get_own_mut(&who).expect("found above").groups = r.groups[..r.count as usize].to_vec();
    Handled::Reply(Ok(Message::new(0)))
}

/// PM_SETSID: the caller leads a new session and a new group, both named by its pid; a group
/// leader (or a pid some group still goes by) may not.
pub fn do_setsid(ctx: &mut PmCtx<'_>) -> Handled {
    let p = match me(ctx) {
        Ok(p) => p,
        Err(e) => return Handled::Reply(Err(e)),
    };
    if p.pgrp == p.pid || ctx.state.names_a_group_or_session(p.pid) {
        return Handled::Reply(Err(Errno::EPERM));
    }
    let key = ctx.requester().key();
    ctx.state.set_group(key, p.pid, p.pid);
    id_reply(Ok(p.pid))
}

/// PM_GETPGRP: the caller's group.
pub fn do_getpgrp(ctx: &mut PmCtx<'_>) -> Handled {
    id_reply(me(ctx).map(|p| p.pgrp))
}

/// The entry `pid` names (0: the caller), zombies included.
fn named(ctx: &mut PmCtx<'_>, pid: Pid) -> Result<MProc, Errno> {
    match pid {
        0 => me(ctx),
        p if p > 0 => {
            let key = ctx.state.key_of_pid(p).ok_or(Errno::ESRCH)?;
            Ok(ctx.state.procs.get(key).cloned().expect("found by pid"))
        }
        _ => Err(Errno::EINVAL),
    }
}

/// PM_GETSID: a process's session.
pub fn do_getsid(ctx: &mut PmCtx<'_>) -> Handled {
    let pid = ctx.m.get::<PidRequest>().pid;
    id_reply(named(ctx, pid).map(|p| p.sid))
}

/// PM_GETPGID: a process's group.
pub fn do_getpgid(ctx: &mut PmCtx<'_>) -> Handled {
    let pid = ctx.m.get::<PidRequest>().pid;
    id_reply(named(ctx, pid).map(|p| p.pgrp))
}

/// PM_SETPGID: moves the caller or one of its children into group `pgid` (0: its own pid) of
/// the caller's session: a new group named by the process's pid, or one that exists in the
/// session. A session leader stays where it is.
pub fn do_setpgid(ctx: &mut PmCtx<'_>) -> Handled {
    let SetpgidRequest { pid, pgid } = ctx.m.get();
    if pgid < 0 || pid < 0 {
        return Handled::Reply(Err(Errno::EINVAL));
    }
    let caller = match me(ctx) {
        Ok(p) => p,
        Err(e) => return Handled::Reply(Err(e)),
    };
    let target = if pid == 0 || pid == caller.pid {
        caller.clone()
    } else {
        match named(ctx, pid) {
            Ok(t) if t.parent == caller.pid && !matches!(t.phase, Phase::Zombie { .. }) => t,
            _ => return Handled::Reply(Err(Errno::ESRCH)),
        }
    };
    if target.sid != caller.sid || target.pid == target.sid {
        return Handled::Reply(Err(Errno::EPERM));
    }
    let pgid = if pgid == 0 { target.pid } else { pgid };
    if pgid != target.pid && !ctx.state.session_has_group(caller.sid, pgid) {
        return Handled::Reply(Err(Errno::EPERM));
    }
    let key = ctx.state.key_of_pid(target.pid).expect("found above");
    ctx.state.set_group(key, pgid, target.sid);
    Handled::Reply(Ok(Message::new(0)))
}

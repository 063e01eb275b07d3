//! flock: whole-file advisory locks held by open files (BSD's semantics: a lock belongs to the
//! open file, is shared by the descriptors on it after dup and fork, and goes when it is released
//! or the open file's last descriptor closes).
//!
//! A shared lock (LOCK_SH) conflicts with another open file's exclusive lock; an exclusive one
//! (LOCK_EX) with any other open file's lock. A lock that conflicts waits, suspended like a pipe
//! read (`Suspended::Flock`), unless LOCK_NB asks for EWOULDBLOCK (EAGAIN) instead; every release
//! on a file grants, in slot order, each waiter that no longer conflicts. Changing a held lock
//! (shared to exclusive or back) is checked against the other open files only.
//!
//! Invariants (checked by `checker::vfs`): only live open files hold locks; an exclusive lock is
//! the only lock on its file; a suspended flock conflicts with a held lock.

use super::state::{FilpId, Flock, Suspended, VfsState, VnodeId};
use super::{VfsCtx, caller};
use crate::errno::Errno;
use crate::proto::ProcKey;
use crate::proto::vfs::FlockRequest;
use crate::proto::vfs::flock::{LOCK_EX, LOCK_NB, LOCK_SH, LOCK_UN};
use crate::task::Handled;
use kernel_sim::{Endpoint, Message};

/// Whether open file `id` (on vnode `ino`) may take `want` now: no other open file on the vnode
/// holds a lock that conflicts.
pub fn grantable(state: &mut VfsState, id: FilpId, ino: VnodeId, want: Flock) -> bool {
    let held: Vec<(FilpId, Flock)> = state
        .flocks
        .iter()
        .enumerate()
        .filter_map(|(other, lock)| Some((other as FilpId, (*lock)?)))
        .filter(|&(other, _)| other != id)
        .collect();
    held.into_iter().all(|(other, lock)| {
        let same_file = state.filp(other).is_some_and(|f| f.vnode == ino);
        !same_file || (want == Flock::Shared && lock == Flock::Shared)
    })
}

/// VFS_FLOCK: take, change or release the open file's lock.
pub fn do_flock(ctx: &mut VfsCtx<'_>) -> Handled {
    match flock(ctx) {
        Ok(true) => Handled::status(Ok(0)),
        Ok(false) => Handled::Suspend,
        Err(e) => Handled::Reply(Err(e)),
    }
}

/// Done (true), or the caller was suspended (false).
fn flock(ctx: &mut VfsCtx<'_>) -> Result<bool, Errno> {
    let FlockRequest { fd, op } = ctx.m.get();
    let fp = caller(ctx)?;
    let id = fp.filp_of(fd)?;
    let want = match op & !LOCK_NB {
        LOCK_SH => Some(Flock::Shared),
        LOCK_EX => Some(Flock::Exclusive),
        LOCK_UN => None,
        _ => return Err(Errno::EINVAL),
    };
    let ino = ctx.state.live_filp(id).vnode;
    let slot = id as usize;
    let Some(want) = want else {
        if ctx.state.flocks.get(slot).copied().flatten().is_some() {
            ctx.state.flocks.set(slot, None);
            revive(ctx, ino);
        }
        return Ok(true);
    };
    if grantable(ctx.state, id, ino, want) {
        let before = ctx.state.flocks.get(slot).copied().flatten();
        ctx.state.flocks.set(slot, Some(want));
        if before == Some(Flock::Exclusive) && want == Flock::Shared {
            // A downgrade lets shared waiters in.
            revive(ctx, ino);
        }
        return Ok(true);
    }
    if op & LOCK_NB != 0 {
        return Err(Errno::EAGAIN);
    }
    let who = ctx.requester();
    *ctx.state.suspended.get_own_mut(&who).expect("the caller's entry was found by `caller`") =
        Some(Suspended::Flock { filp: id, exclusive: want == Flock::Exclusive });
    Ok(false)
}

/// Open file `id` (on vnode `ino`) was freed: its lock goes, and waiters on the file may go on.
pub fn release(ctx: &mut VfsCtx<'_>, id: FilpId, ino: VnodeId) {
    if ctx.state.flocks.get(id as usize).copied().flatten().is_some() {
        ctx.state.flocks.set(id as usize, None);
        revive(ctx, ino);
    }
}

/// Grants, in slot order, every suspended flock on vnode `ino` that no longer conflicts, answering
/// each waiter.
pub fn revive(ctx: &mut VfsCtx<'_>, ino: VnodeId) {
    let waiting: Vec<(ProcKey, FilpId, bool)> = ctx
        .state
        .suspended
        .iter()
        .filter_map(|(key, call)| match call {
            Some(Suspended::Flock { filp, exclusive }) => Some((*key, *filp, *exclusive)),
            _ => None,
        })
        .collect();
    for (key, id, exclusive) in waiting {
        if ctx.state.filp(id).is_none_or(|f| f.vnode != ino) {
            continue;
        }
        let want = if exclusive { Flock::Exclusive } else { Flock::Shared };
        if !grantable(ctx.state, id, ino, want) {
            continue;
        }
        ctx.state.flocks.set(id as usize, Some(want));
        *ctx.state.suspended.get_mut_global(key).expect("listed just now") = None;
        let ep: Endpoint = ctx.state.fprocs.get(key).expect("a suspended process has an entry").ep;
        ctx.reply(ep, Message::new(0));
    }
}

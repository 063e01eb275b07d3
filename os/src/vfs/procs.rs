//! pm's notices: fork (copy the descriptor table, the open files become shared, the working
//! directory gains a reference), exit (close every descriptor, give the working directory's
//! reference back), id changes, and shutdown (the root unmounted). vfs answers each with a
//! message to pm.
//!
//! Each notice acts on behalf of the process its payload names, so writes to that process's entry
//! are process-local (`Requester::new(key_of(proc))`); the child's new entry at fork is global.
//! Exit removes the entry (and any call it was suspended in) before closing the descriptors, so
//! the wake-ups the closes cause never answer the dead process.

use super::VfsCtx;
use super::state::{Fproc, VnodeId};
use super::vnode::{clean_fs_refs, put_vnode};
use crate::errno::Errno;
use crate::proto::fs::REQ_UNMOUNT;
use crate::proto::pm::*;
use crate::proto::{PM, key_of};
use crate::task::Handled;
use kernel_sim::Message;
use recovery::Requester;

fn answer(ctx: &mut VfsCtx<'_>, m_type: i32, proc: kernel_sim::Endpoint, status: i32) {
    let _ = ctx.send(PM, Message::with(m_type, &VfsProcReply { proc, status }));
}

/// PM_VFS_FORK: the child gets a copy of the parent's descriptors, cwd and ids.
pub fn do_pm_fork(ctx: &mut VfsCtx<'_>) -> Handled {
    if ctx.who() != PM {
        // Only that server sends this; anyone else (a user under a permissive manifest)
        // is told no rather than left waiting.
        return Handled::Reply(Err(Errno::EPERM));
    }
    let notice: VfsForkNotice = ctx.m.get();
    let on_behalf = Requester::new(key_of(notice.parent));
    let parent = ctx.state.fprocs.get_own(&on_behalf).filter(|f| f.ep == notice.parent).cloned();
    let child = match parent {
        Some(parent) => {
            for id in parent.fds.iter().flatten() {
                ctx.state.dup_filp(*id);
            }
            Fproc { ep: notice.child, ..parent }
        }
        None => Fproc::new(notice.child, ctx.state.root_mount().root),
    };
    ctx.state.dup_vnode(child.cwd);
    ctx.state.fprocs.insert_global(key_of(notice.child), child);
    ctx.state.suspended.insert_global(key_of(notice.child), None);
    answer(ctx, VFS_PM_FORK_REPLY, notice.child, 0);
    Handled::NoReply
}

/// PM_VFS_EXIT: close every descriptor of the process and forget it.
pub fn do_pm_exit(ctx: &mut VfsCtx<'_>) -> Handled {
    if ctx.who() != PM {
        // Only that server sends this; anyone else (a user under a permissive manifest)
        // is told no rather than left waiting.
        return Handled::Reply(Err(Errno::EPERM));
    }
    let ep = ctx.m.get::<VfsProcNotice>().proc;
    let on_behalf = Requester::new(key_of(ep));
    if ctx.state.fprocs.get_own(&on_behalf).is_some_and(|f| f.ep == ep) {
        ctx.state.suspended.discard_own(&on_behalf);
        let fp = ctx.state.fprocs.remove_own(&on_behalf).expect("present just now");
        for id in fp.fds.iter().flatten() {
            super::close_filp(ctx, *id);
        }
        put_vnode(ctx, fp.cwd);
    }
    answer(ctx, VFS_PM_EXIT_REPLY, ep, 0);
    Handled::NoReply
}
/// PM_VFS_SETID: the process's ids changed.
pub fn do_pm_setid(ctx: &mut VfsCtx<'_>) -> Handled {
    if ctx.who() != PM {
        // Only that server sends this; anyone else (a user under a permissive manifest)
        // is told no rather than left waiting.
        return Handled::Reply(Err(Errno::EPERM));
    }
    let n: VfsSetIdNotice = ctx.m.get();
    let on_behalf = Requester::new(key_of(n.proc));
    let status = match ctx.state.fprocs.get_own_mut(&on_behalf).filter(|f| f.ep == n.proc) {
        Some(fp) => {
            fp.uid = n.uid;
            fp.gid = n.gid;
            0
        }
        None => crate::errno::Errno::ESRCH.status(),
    };
    answer(ctx, VFS_PM_SETID_REPLY, n.proc, status);
    Handled::NoReply
}

/// PM_VFS_REBOOT, as MINIX's pm_reboot: every user process has exited (pm ends them first), so
/// the root file system is unmounted (written back, its disk closed) and pm answered. One that
/// stays busy or refuses (EBUSY, EIO) stays mounted, and the answer carries the error; pm halts
/// the system all the same.
pub fn do_pm_reboot(ctx: &mut VfsCtx<'_>) -> Handled {
    if ctx.who() != PM {
        // Only that server sends this; anyone else (a user under a permissive manifest)
        // is told no rather than left waiting.
        return Handled::Reply(Err(Errno::EPERM));
    }
    let proc = ctx.m.get::<VfsProcNotice>().proc;
    let status = unmount_root(ctx).map_or_else(Errno::status, |()| 0);
    answer(ctx, VFS_PM_REBOOT_REPLY, proc, status);
    Handled::NoReply
}

/// Unmounts the root file system (REQ_UNMOUNT): EBUSY while vfs holds a file of it other than the
/// root's vnode, or the root by more than the mount (a working directory). On success the mount's
/// vnode goes (the file system took its reference back with the unmount) and the table is empty.
fn unmount_root(ctx: &mut VfsCtx<'_>) -> Result<(), Errno> {
    let Some(mount) = *ctx.state.mount.get() else { return Ok(()) };
    // The processes are gone, and with them their mappings; vm's word of it may come after pm's.
    super::mmap::release_unmapped(ctx);
    let busy = ctx.state.vnodes.iter().enumerate().any(|(id, slot)| {
        slot.as_ref().is_some_and(|v| v.inode.is_some() && (id as VnodeId != mount.root || v.refs != 1))
    });
    if busy {
        return Err(Errno::EBUSY);
    }
    // The lookups of the root collected references the file system still counts: all but the
    // mount's go back first (MINIX's vnode_clean_refs before its unmount).
    clean_fs_refs(ctx, mount.root);
    ctx.sendrec(mount.fs, Message::new(REQ_UNMOUNT))?;
    ctx.state.vnodes.set(mount.root as usize, None);
    ctx.state.mount.set(None);
    Ok(())
}

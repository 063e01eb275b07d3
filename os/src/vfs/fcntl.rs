//! The descriptor side's everyday calls: fcntl (F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD/F_SETFD,
//! F_GETFL/F_SETFL), umask, pipe2, fchdir and getcwd; and exec's closing of the descriptors
//! marked close-on-exec.
//!
//! Descriptor flags (FD_CLOEXEC) belong to a descriptor (`Fproc::cloexec`, a descriptor set); status
//! flags (O_APPEND, O_NONBLOCK) to the open file, shared by every descriptor on it after dup and
//! fork. MINIX has no dup or dup2 call of its own (its libc builds them on fcntl); samsara keeps
//! its VFS_DUP and VFS_DUP2 beside F_DUPFD.
//!
//! Invariants kept: FD_CLOEXEC is set only on open descriptors (`set_fd` clears it whenever a
//! descriptor changes); a mask is within UMASK_MAX; an open file keeps only its access mode and
//! SETFL_MASK's flags.

use super::path::X_OK;
use super::stat::stat_of;
use super::state::UMASK_MAX;
use super::vnode::{mount, pass_on, put_vnode};
use super::{VfsCtx, caller, close_filp, set_cloexec, set_fd};
use crate::errno::Errno;
use crate::proto::PATH_MAX;
use crate::proto::fs::{PathnameRequest, REQ_PATHNAME};
use crate::proto::vfs::fcntl::*;
use crate::proto::vfs::flags::{O_CLOEXEC, O_NONBLOCK, SETFL_MASK};
use crate::proto::vfs::{FcntlRequest, FdRequest, FlagsRequest, IoRequest};
use crate::task::Handled;
use kernel_sim::Message;
use kernel_sim::memory::Access;
use recovery::Requester;

/// VFS_FCNTL: one of the commands of `proto::vfs::fcntl` on a descriptor.
pub fn do_fcntl(ctx: &mut VfsCtx<'_>) -> Handled {
    Handled::status(fcntl(ctx))
}

fn fcntl(ctx: &mut VfsCtx<'_>) -> Result<i32, Errno> {
    let FcntlRequest { fd, cmd, arg } = ctx.m.get();
    let fp = caller(ctx)?;
    let id = fp.filp_of(fd)?;
    let slot = fd as usize;
    match cmd {
        F_DUPFD | F_DUPFD_CLOEXEC => {
            // POSIX: EINVAL for a start that is negative or past the largest descriptor.
            let limit = super::descriptors(ctx);
            let from = usize::try_from(arg).ok().filter(|&a| a < limit).ok_or(Errno::EINVAL)?;
            let new = fp.free_fd(from, limit)?;
            ctx.state.dup_filp(id);
            set_fd(ctx, new, Some(id));
            if cmd == F_DUPFD_CLOEXEC {
                set_cloexec(ctx, new, true);
            }
            Ok(new as i32)
        }
        F_GETFD => Ok(if fp.is_cloexec(slot) { FD_CLOEXEC } else { 0 }),
        F_SETFD => {
            set_cloexec(ctx, slot, arg & FD_CLOEXEC != 0);
            Ok(0)
        }
        F_GETFL => Ok(ctx.state.live_filp(id).flags as i32),
        F_SETFL => {
            // Only the status flags change; the access mode and creation flags in `arg` are
            // ignored, as POSIX says.
            let filp = ctx.state.live_filp_mut(id);
            filp.flags = (filp.flags & !SETFL_MASK) | (arg as u32 & SETFL_MASK);
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// VFS_UMASK: the caller's new file-creation mask (only its permission bits count); the reply is
/// the old one. It cannot fail (but for a caller vfs does not know).
pub fn do_umask(ctx: &mut VfsCtx<'_>) -> Handled {
    Handled::status(umask(ctx))
}

fn umask(ctx: &mut VfsCtx<'_>) -> Result<i32, Errno> {
    let mask = ctx.m.get::<FlagsRequest>().flags & UMASK_MAX;
    let old = caller(ctx)?.umask;
    let who = ctx.requester();
    ctx.state.fprocs.get_own_mut(&who).expect("the caller's entry was found by `caller`").umask = mask;
    Ok(old as i32)
}

/// VFS_PIPE2: a pipe whose ends may be non-blocking (O_NONBLOCK) and closed on exec (O_CLOEXEC);
/// EINVAL for any other flag.
pub fn do_pipe2(ctx: &mut VfsCtx<'_>) -> Handled {
    let flags = ctx.m.get::<FlagsRequest>().flags;
    if flags & !(O_CLOEXEC | O_NONBLOCK) != 0 {
        return Handled::Reply(Err(Errno::EINVAL));
    }
    Handled::Reply(super::pipe::pipe_with(ctx, flags).map(|reply| Message::with(0, &reply)))
}

/// VFS_FCHDIR: work in the directory a descriptor is open on (ENOTDIR for anything else, EACCES
/// without search permission).
pub fn do_fchdir(ctx: &mut VfsCtx<'_>) -> Handled {
    Handled::status(fchdir(ctx).map(|()| 0))
}

fn fchdir(ctx: &mut VfsCtx<'_>) -> Result<(), Errno> {
    let fd = ctx.m.get::<FdRequest>().fd;
    let fp = caller(ctx)?;
    let vnode = ctx.state.live_filp(fp.filp_of(fd)?).vnode;
    let v = ctx.state.live_vnode(vnode).clone();
    if !v.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    // Removed while open: a working directory is a live, named directory (its file system knows
    // its links).
    if stat_of(ctx, vnode)?.nlink == 0 {
        return Err(Errno::ENOENT);
    }
    if !v.permits(fp.uid, fp.gid, X_OK) {
        return Err(Errno::EACCES);
    }
    // The working directory holds a reference of its own on the vnode; the old one's goes back.
    ctx.state.dup_vnode(vnode);
    let who = ctx.requester();
    ctx.state.fprocs.get_own_mut(&who).expect("the caller's entry was found by `caller`").cwd = vnode;
    put_vnode(ctx, fp.cwd);
    Ok(())
}

/// VFS_GETCWD: the working directory's absolute path into the caller's buffer (no NUL); EINVAL
/// for an empty buffer, ERANGE for one too small. The file system walks the names
/// (REQ_PATHNAME), writing through the caller's buffer passed on.
pub fn do_getcwd(ctx: &mut VfsCtx<'_>) -> Handled {
    Handled::status(getcwd(ctx))
}

fn getcwd(ctx: &mut VfsCtx<'_>) -> Result<i32, Errno> {
    let req: IoRequest = ctx.m.get();
    if req.len == 0 {
        return Err(Errno::EINVAL);
    }
    let fp = caller(ctx)?;
    let m = mount(ctx);
    let root = ctx.state.live_vnode(m.root).ino();
    let dir = ctx.state.live_vnode(fp.cwd).ino();
    // At most PATH_MAX bytes are ever written: the grant passed on need not cover more.
    let len = req.len.min(PATH_MAX as u64);
    let buffer = pass_on(ctx, req.grant, len, Access::Write);
    let ask = PathnameRequest { dir, root, grant: buffer.id, len: req.len };
    let reply = ctx.sendrec(m.fs, Message::with(REQ_PATHNAME, &ask))?;
    Ok(reply.m_type)
}

/// Closes every descriptor of process `owner` marked close-on-exec (exec's new image is mapped:
/// POSIX closes them only once exec cannot fail any more).
pub fn close_on_exec(ctx: &mut VfsCtx<'_>, owner: &Requester<crate::proto::ProcKey>) {
    let Some(fp) = ctx.state.fprocs.get_own_mut(owner) else { return };
    let marked = std::mem::take(&mut fp.cloexec);
    let closing: Vec<_> = marked.iter().filter_map(|fd| fp.fds.get_mut(fd).and_then(Option::take)).collect();
    for id in closing {
        close_filp(ctx, id);
    }
}

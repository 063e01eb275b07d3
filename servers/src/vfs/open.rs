//! open (with O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_NONBLOCK, O_DIRECTORY, O_CLOEXEC) and close.
//!
//! open checks, in order, before changing anything: the access mode, a free descriptor (EMFILE),
//! a free open-file slot (ENFILE), the path, existence and O_EXCL, the file's kind against the
//! flags, and permissions; only then does it create or truncate the file and take the slot.

use super::link::create;
use super::path::{R_OK, W_OK, check_access, lookup, read_path};
use super::state::InodeKind;
use super::{VfsCtx, caller, close_filp, set_fd};
use crate::errno::Errno;
use crate::proto::vfs::flags::*;
use crate::proto::vfs::{FdRequest, PathRequest};
use crate::task::Handled;

/// The flags an open file keeps; the others only matter while opening.
const KEPT_FLAGS: u32 = O_ACCMODE | SETFL_MASK;

/// VFS_OPEN: open (or create) a file; the reply is the new descriptor.
pub fn do_open(ctx: &mut VfsCtx<'_>) -> Handled {
    Handled::status(open(ctx))
}

fn open(ctx: &mut VfsCtx<'_>) -> Result<i32, Errno> {
    let req: PathRequest = ctx.m.get();
    let flags = req.flags;
    let access = flags & O_ACCMODE;
    if access == O_ACCMODE {
        return Err(Errno::EINVAL);
    }
    let fp = caller(ctx)?;
    let fd = fp.free_fd(0)?;
    if !ctx.state.has_free_filps(1) {
        return Err(Errno::ENFILE);
    }
    let path = read_path(ctx.proc, ctx.who(), req.grant, req.len)?;
    let l = lookup(ctx.state, &fp, &path)?;
    let ino = match l.found {
        Some(ino) => {
            if flags & O_CREAT != 0 && flags & O_EXCL != 0 {
                return Err(Errno::EEXIST);
            }
            let inode = ctx.state.live(ino);
            let (is_dir, is_regular) = (inode.is_dir(), inode.is_regular());
            if is_dir && (access != O_RDONLY || flags & O_CREAT != 0) {
                return Err(Errno::EISDIR);
            }
            if !is_dir && flags & O_DIRECTORY != 0 {
                return Err(Errno::ENOTDIR);
            }
            let mut want = 0;
            if access != O_WRONLY {
                want |= R_OK;
            }
            if access != O_RDONLY || flags & O_TRUNC != 0 {
                want |= W_OK;
            }
            check_access(ctx.state, &fp, ino, want)?;
            if flags & O_TRUNC != 0 && is_regular {
                ctx.state.truncate(ino);
            }
            ino
        }
        None if flags & O_CREAT == 0 => return Err(Errno::ENOENT),
        None if flags & O_DIRECTORY != 0 => return Err(Errno::EINVAL),
        None if l.trailing_slash => return Err(Errno::EISDIR),
        None => create(ctx.state, &fp, l.dir, &l.name, InodeKind::Regular, req.mode)?,
    };
    let id = ctx.state.open_filp(ino, flags & KEPT_FLAGS)?;
    set_fd(ctx, fd, Some(id));
    if flags & O_CLOEXEC != 0 {
        super::set_cloexec(ctx, fd, true);
    }
    Ok(fd as i32)
}

/// VFS_CLOSE: close a descriptor.
pub fn do_close(ctx: &mut VfsCtx<'_>) -> Handled {
    Handled::status(close(ctx))
}

fn close(ctx: &mut VfsCtx<'_>) -> Result<i32, Errno> {
    let fd = ctx.m.get::<FdRequest>().fd;
    let fp = caller(ctx)?;
    let id = fp.filp_of(fd)?;
    set_fd(ctx, fd as usize, None);
    close_filp(ctx, id);
    Ok(0)
}

//! dup and dup2: another descriptor for the same open file (offset and flags shared).

use super::{VfsCtx, caller, close_filp, set_fd};
use crate::errno::Errno;
use crate::proto::vfs::{Dup2Request, FdRequest};
use crate::task::Handled;

/// VFS_DUP: the lowest free descriptor, pointing where `fd` points.
pub fn do_dup(ctx: &mut VfsCtx<'_>) -> Handled {
    Handled::status(dup(ctx))
}

fn dup(ctx: &mut VfsCtx<'_>) -> Result<i32, Errno> {
    let fd = ctx.m.get::<FdRequest>().fd;
    let fp = caller(ctx)?;
    let id = fp.filp_of(fd)?;
    let new = fp.free_fd(0, super::descriptors(ctx))?;
    ctx.state.dup_filp(id);
    set_fd(ctx, new, Some(id));
    Ok(new as i32)
}

/// VFS_DUP2: make `fd2` point where `fd` points, closing what `fd2` had open; `fd2 == fd` is a
/// no-op once `fd` is known to be open.
pub fn do_dup2(ctx: &mut VfsCtx<'_>) -> Handled {
    Handled::status(dup2(ctx))
}

fn dup2(ctx: &mut VfsCtx<'_>) -> Result<i32, Errno> {
    let Dup2Request { fd, fd2 } = ctx.m.get();
    let fp = caller(ctx)?;
    let id = fp.filp_of(fd)?;
    let slot = usize::try_from(fd2).ok().filter(|&s| s < super::descriptors(ctx)).ok_or(Errno::EBADF)?;
    if fd == fd2 {
        return Ok(fd2);
    }
    ctx.state.dup_filp(id);
    set_fd(ctx, slot, Some(id));
    if let Some(old) = fp.fds.get(slot).copied().flatten() {
        close_filp(ctx, old);
    }
    Ok(fd2)
}

//! REQ_STAT, REQ_CHMOD, REQ_CHOWN: an inode's attributes, read and changed.

use super::{MfsCtx, client};
use crate::errno::Errno;
use crate::proto::fs::{InodeRequest, ROOT_UID};
use crate::proto::vfs::StatReply;
use crate::proto::vfs::mode::PERM_MASK;
use crate::task::Handled;
use kernel_sim::Message;

/// REQ_STAT: the attributes of an inode.
pub fn do_stat(ctx: &mut MfsCtx<'_>) -> Handled {
    Handled::Reply(stat(ctx).map(|s| Message::with(0, &s)))
}

fn stat(ctx: &mut MfsCtx<'_>) -> Result<StatReply, Errno> {
    client(ctx)?;
    let ino = ctx.m.get::<InodeRequest>().ino;
    let inode = ctx.state.named(ino)?;
    Ok(StatReply {
        ino,
        kind: inode.wire_kind(),
        mode: inode.mode,
        nlink: inode.nlink,
        uid: inode.uid,
        gid: inode.gid,
        size: inode.size,
        blocks: inode.blocks.len() as u64,
    })
}

/// REQ_CHMOD: new permission bits, set by the owner or root (EPERM for anyone else).
pub fn do_chmod(ctx: &mut MfsCtx<'_>) -> Handled {
    Handled::status(chmod(ctx).map(|()| 0))
}

fn chmod(ctx: &mut MfsCtx<'_>) -> Result<(), Errno> {
    client(ctx)?;
    let req: InodeRequest = ctx.m.get();
    let owner = ctx.state.named(req.ino)?.uid;
    if req.count != ROOT_UID && req.count != owner {
        return Err(Errno::EPERM);
    }
    ctx.state.live_mut(req.ino).mode = req.mode & PERM_MASK;
    Ok(())
}

/// REQ_CHOWN: a new owner and group, set by root only (EPERM for anyone else).
pub fn do_chown(ctx: &mut MfsCtx<'_>) -> Handled {
    Handled::status(chown(ctx).map(|()| 0))
}

fn chown(ctx: &mut MfsCtx<'_>) -> Result<(), Errno> {
    client(ctx)?;
    let req: InodeRequest = ctx.m.get();
    ctx.state.named(req.ino)?;
    if req.count != ROOT_UID {
        return Err(Errno::EPERM);
    }
    let inode = ctx.state.live_mut(req.ino);
    inode.uid = req.uid;
    inode.gid = req.gid;
    Ok(())
}

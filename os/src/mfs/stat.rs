//! REQ_STAT, REQ_CHMOD, REQ_CHOWN: an inode's attributes, read and changed (vfs checked that the
//! caller may change them, as MINIX's vfs does); REQ_STATVFS: the file system's totals.

use super::state::{BLOCK_SIZE, NR_BLOCKS, NR_INODES};
use super::{MfsCtx, client};
use crate::errno::Errno;
use crate::proto::fs::InodeRequest;
use crate::proto::vfs::mode::PERM_MASK;
use crate::proto::vfs::{NAME_MAX, StatReply, StatvfsReply};
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

/// REQ_CHMOD: new permission bits.
pub fn do_chmod(ctx: &mut MfsCtx<'_>) -> Handled {
    Handled::status(chmod(ctx).map(|()| 0))
}

fn chmod(ctx: &mut MfsCtx<'_>) -> Result<(), Errno> {
    client(ctx)?;
    let req: InodeRequest = ctx.m.get();
    ctx.state.named(req.ino)?;
    ctx.state.live_mut(req.ino).mode = req.mode & PERM_MASK;
    Ok(())
}

/// REQ_CHOWN: a new owner and group.
pub fn do_chown(ctx: &mut MfsCtx<'_>) -> Handled {
    Handled::status(chown(ctx).map(|()| 0))
}

fn chown(ctx: &mut MfsCtx<'_>) -> Result<(), Errno> {
    client(ctx)?;
    let req: InodeRequest = ctx.m.get();
    ctx.state.named(req.ino)?;
    let inode = ctx.state.live_mut(req.ino);
    inode.uid = req.uid;
    inode.gid = req.gid;
    Ok(())
}

/// REQ_STATVFS: block size, blocks and inodes, in all and free.
pub fn do_statvfs(ctx: &mut MfsCtx<'_>) -> Handled {
    Handled::Reply(statvfs(ctx).map(|s| Message::with(0, &s)))
}

fn statvfs(ctx: &mut MfsCtx<'_>) -> Result<StatvfsReply, Errno> {
    client(ctx)?;
    let free_inodes = (1..NR_INODES as u32).filter(|&i| ctx.state.inode(i).is_none()).count();
    Ok(StatvfsReply {
        bsize: BLOCK_SIZE as u32,
        namemax: NAME_MAX as u32,
        blocks: NR_BLOCKS as u64,
        bfree: ctx.state.free_block_count() as u64,
        // Inode 0 is never used.
        files: (NR_INODES - 1) as u64,
        ffree: free_inodes as u64,
    })
}

//! REQ_STAT, REQ_CHMOD, REQ_CHOWN, REQ_UTIME: an inode's attributes, read and changed (vfs
//! checked that the caller may change them, as MINIX's vfs does); REQ_STATVFS: the file system's
//! totals.

use super::state::{BLOCK_SIZE, times};
use super::{MfsCtx, client, now};
use crate::errno::Errno;
use crate::proto::fs::{InodeRequest, UtimeRequest};
use crate::proto::vfs::mode::PERM_MASK;
use crate::proto::vfs::utime::{UTIME_NOW, UTIME_OMIT, valid_nsec};
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
        // The kinds are small numbers; at most LINK_MAX links; permission bits in PERM_MASK; at
        // most MAX_FILE_BLOCKS blocks.
        kind: inode.wire_kind() as u8,
        nlink: u8::try_from(inode.nlink).unwrap_or(u8::MAX),
        mode: inode.mode as u16,
        uid: inode.uid,
        gid: inode.gid,
        blocks: u32::try_from(inode.blocks.len()).unwrap_or(u32::MAX),
        rdev: inode.rdev(),
        size: inode.size,
        atime: inode.atime,
        mtime: inode.mtime,
        ctime: inode.ctime,
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
    let now = now(ctx);
    ctx.state.stamp(req.ino, times::CTIME, now);
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
    let now = now(ctx);
    ctx.state.stamp(req.ino, times::CTIME, now);
    Ok(())
}

/// REQ_UTIME: new access and modification times (each given, now, or kept), and the change time
/// now, as MINIX's fs_utime sets them.
pub fn do_utime(ctx: &mut MfsCtx<'_>) -> Handled {
    Handled::status(utime(ctx).map(|()| 0))
}

fn utime(ctx: &mut MfsCtx<'_>) -> Result<(), Errno> {
    client(ctx)?;
    let req: UtimeRequest = ctx.m.get();
    if !valid_nsec(req.atime_nsec) || !valid_nsec(req.mtime_nsec) {
        return Err(Errno::EINVAL);
    }
    ctx.state.named(req.ino)?;
    let now = now(ctx);
    // Microseconds since the Epoch: nanoseconds are cut to the microsecond (MINIX's mfs keeps
    // seconds only).
    let at = |sec: i64, nsec: u32| match nsec {
        UTIME_NOW => Some(now),
        UTIME_OMIT => None,
        _ => Some(sec.saturating_mul(1_000_000).saturating_add(i64::from(nsec / 1_000))),
    };
    let (atime, mtime) = (at(req.atime_sec, req.atime_nsec), at(req.mtime_sec, req.mtime_nsec));
    let inode = ctx.state.live_mut(req.ino);
    if let Some(t) = atime {
        inode.atime = t;
    }
    if let Some(t) = mtime {
        inode.mtime = t;
    }
    inode.ctime = now;
    Ok(())
}

/// REQ_STATVFS: block size, blocks and inodes, in all and free.
pub fn do_statvfs(ctx: &mut MfsCtx<'_>) -> Handled {
    Handled::Reply(statvfs(ctx).map(|s| Message::with(0, &s)))
}

fn statvfs(ctx: &mut MfsCtx<'_>) -> Result<StatvfsReply, Errno> {
    client(ctx)?;
    let sizes = ctx.state.sizes();
    let free_inodes = (1..sizes.inodes as u32).filter(|&i| ctx.state.inode(i).is_none()).count();
    Ok(StatvfsReply {
        bsize: BLOCK_SIZE as u32,
        namemax: NAME_MAX as u32,
        blocks: sizes.blocks as u64,
        bfree: ctx.state.free_block_count() as u64,
        // Inode 0 is never used.
        files: (sizes.inodes - 1) as u64,
        ffree: free_inodes as u64,
    })
}

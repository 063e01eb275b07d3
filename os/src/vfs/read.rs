//! read, write, lseek and getdents: the calls that move bytes between a caller's memory and a
//! file, a directory, a pipe (handed to `pipe.rs`) or a character device (to its driver,
//! `device.rs`). A file's bytes are the file
//! system's: vfs passes the caller's buffer on by an indirect grant (REQ_READ, REQ_WRITE,
//! REQ_GETDENTS) and moves the shared offset by what the file system answers.
//!
//! A regular file's read returns fewer bytes at the end of file and 0 past it; a write goes to the
//! shared offset (or the end, with O_APPEND), grows the file, and stops short at a full disk
//! (ENOSPC if nothing fit) or at MAX_FILE_SIZE (EFBIG if nothing fit). A bad buffer (EFAULT, or
//! EPERM for a bad grant) leaves everything as it was: the file system copies before it changes
//! the file, and vfs moves the offset only after a success.

use super::mmap::show_change;
use super::pipe;
use super::state::{Filp, FilpId};
use super::vnode::{mount, pass_on};
use super::{VfsCtx, caller_filp};
use crate::errno::Errno;
use crate::proto::cdev::{CDEV_READ, CDEV_WRITE};
use crate::proto::fs::{IoReply, REQ_GETDENTS, REQ_READ, REQ_WRITE};
use crate::proto::vfs::whence::{SEEK_CUR, SEEK_END, SEEK_SET};
use crate::proto::vfs::{IoRequest, SeekReply, SeekRequest};
use crate::task::Handled;
use kernel_sim::Message;
use kernel_sim::memory::Access;

/// The descriptor's open file, by id and value.
fn open_file(ctx: &mut VfsCtx<'_>, fd: i32) -> Result<(FilpId, Filp), Errno> {
    let id = caller_filp(ctx, fd)?;
    Ok((id, ctx.state.live_filp(id)))
}

fn count(n: u64) -> Handled {
    // Byte counts are bounded by MAX_FILE_SIZE (64 MiB) or a driver's status, an i32.
    Handled::status(Ok(i32::try_from(n).expect("a byte count fits a status")))
}

/// Has the file system move `len` bytes at `pos` of the open file's inode through the caller's
/// buffer under `grant` (`access`: what the file system does to the buffer).
fn file_io(
    ctx: &mut VfsCtx<'_>,
    filp: &Filp,
    m_type: kernel_sim::MsgType,
    grant: u32,
    pos: u64,
    len: u64,
    access: Access,
) -> Result<IoReply, Errno> {
    let ino = ctx.state.live_vnode(filp.vnode).ino();
    let buffer = pass_on(ctx, grant, len, access);
    let req = crate::proto::fs::IoRequest { ino, grant: buffer.id, pos, len };
    let fs = mount(ctx).fs;
    let reply: IoReply = ctx.sendrec(fs, Message::with(m_type, &req))?.get();
    Ok(reply)
}

/// A read or write of a character special file: its driver moves the bytes at the open file's
/// offset, which moves on by what it moved.
fn device_io(
    ctx: &mut VfsCtx<'_>,
    id: FilpId,
    filp: &Filp,
    dev: u32,
    m_type: kernel_sim::MsgType,
    grant: u32,
    len: u64,
) -> Handled {
    match super::device::transfer(ctx, dev, m_type, grant, filp.offset, len) {
        Ok(n) => {
            ctx.state.live_filp_mut(id).offset = filp.offset.saturating_add(n);
            count(n)
        }
        Err(e) => Handled::Reply(Err(e)),
    }
}

/// VFS_READ: up to `len` bytes from the descriptor into the caller's buffer.
pub fn do_read(ctx: &mut VfsCtx<'_>) -> Handled {
    let req: IoRequest = ctx.m.get();
    let (id, filp) = match open_file(ctx, req.fd) {
        Ok(f) => f,
        Err(e) => return Handled::Reply(Err(e)),
    };
    if !filp.readable() {
        return Handled::Reply(Err(Errno::EBADF));
    }
    let vnode = ctx.state.live_vnode(filp.vnode);
    if vnode.pipe().is_some() {
        return pipe::read(ctx, id, filp.vnode, req.grant, req.len);
    }
    if vnode.is_dir() {
        return Handled::Reply(Err(Errno::EISDIR));
    }
    if let Some(dev) = vnode.char_device() {
        return device_io(ctx, id, &filp, dev, CDEV_READ, req.grant, req.len);
    }
    match file_io(ctx, &filp, REQ_READ, req.grant, filp.offset, req.len, Access::Write) {
        Ok(r) => {
            ctx.state.live_filp_mut(id).offset += r.count;
            count(r.count)
        }
        Err(e) => Handled::Reply(Err(e)),
    }
}

/// VFS_WRITE: `len` bytes from the caller's buffer to the descriptor.
pub fn do_write(ctx: &mut VfsCtx<'_>) -> Handled {
    let req: IoRequest = ctx.m.get();
    let (id, filp) = match open_file(ctx, req.fd) {
        Ok(f) => f,
        Err(e) => return Handled::Reply(Err(e)),
    };
    if !filp.writable() {
        return Handled::Reply(Err(Errno::EBADF));
    }
    let vnode = ctx.state.live_vnode(filp.vnode);
    if vnode.pipe().is_some() {
        return pipe::write(ctx, id, filp.vnode, req.grant, req.len);
    }
    if let Some(dev) = vnode.char_device() {
        return device_io(ctx, id, &filp, dev, CDEV_WRITE, req.grant, req.len);
    }
    assert!(vnode.is_regular(), "directories are never open for writing, block special files never open");
    if req.len == 0 {
        return count(0);
    }
    let offset = if filp.flags & crate::proto::vfs::flags::O_APPEND != 0 { vnode.size } else { filp.offset };
    match file_io(ctx, &filp, REQ_WRITE, req.grant, offset, req.len, Access::Read) {
        Ok(r) => {
            ctx.state.live_vnode_mut(filp.vnode).size = r.size;
            ctx.state.live_filp_mut(id).offset = offset + r.count;
            show_change(ctx, filp.vnode, offset, offset + r.count);
            count(r.count)
        }
        Err(e) => Handled::Reply(Err(e)),
    }
}

/// VFS_LSEEK: move the shared offset; the reply carries the new one.
pub fn do_lseek(ctx: &mut VfsCtx<'_>) -> Handled {
    match lseek(ctx) {
        Ok(offset) => Handled::Reply(Ok(Message::with(0, &SeekReply { offset }))),
        Err(e) => Handled::Reply(Err(e)),
    }
}

fn lseek(ctx: &mut VfsCtx<'_>) -> Result<i64, Errno> {
    let req: SeekRequest = ctx.m.get();
    let (id, filp) = open_file(ctx, req.fd)?;
    let vnode = ctx.state.live_vnode(filp.vnode).clone();
    if vnode.pipe().is_some() {
        return Err(Errno::ESPIPE);
    }
    let base = match req.whence {
        SEEK_SET => 0,
        SEEK_CUR => filp.offset,
        SEEK_END if vnode.is_dir() => super::stat::stat_of(ctx, filp.vnode)?.size,
        SEEK_END => vnode.size,
        _ => return Err(Errno::EINVAL),
    };
    let base = i64::try_from(base).map_err(|_| Errno::EINVAL)?;
    let offset = base.checked_add(req.offset).filter(|&o| o >= 0).ok_or(Errno::EINVAL)?;
    ctx.state.live_filp_mut(id).offset = offset as u64;
    Ok(offset)
}

/// VFS_GETDENTS: the directory's next entries as records (format in `proto::vfs`), as many whole
/// ones as fit; 0 at the end.
pub fn do_getdents(ctx: &mut VfsCtx<'_>) -> Handled {
    let req: IoRequest = ctx.m.get();
    let (id, filp) = match open_file(ctx, req.fd) {
        Ok(f) => f,
        Err(e) => return Handled::Reply(Err(e)),
    };
    if !ctx.state.live_vnode(filp.vnode).is_dir() {
        return Handled::Reply(Err(Errno::ENOTDIR));
    }
    if !filp.readable() {
        return Handled::Reply(Err(Errno::EBADF));
    }
    match file_io(ctx, &filp, REQ_GETDENTS, req.grant, filp.offset, req.len, Access::Write) {
        Ok(r) => {
            if r.count > 0 {
                ctx.state.live_filp_mut(id).offset = r.pos;
            }
            count(r.count)
        }
        Err(e) => Handled::Reply(Err(e)),
    }
}

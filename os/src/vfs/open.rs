//! open (with O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_NONBLOCK, O_DIRECTORY, O_CLOEXEC) and close.
//!
//! open checks, in order, before changing anything: the access mode, a free descriptor (EMFILE),
//! a free open-file slot (ENFILE), the path (walked by the file system, which takes a reference on
//! the file found), existence and O_EXCL, the file's kind against the flags, and permissions; only
//! then does it truncate the file or have the file system create it, and take the slot. A check
//! that fails after the lookup gives the reference back. A named pipe opened for reading only or
//! writing only waits for its other end (`pipe::open_fifo`); a character special file's driver
//! opens its device first (`device.rs`).

use super::mmap::resized;
use super::path::read_path;
use super::state::{FilpId, VnodeId, VnodeKind};
use super::vnode::{PassedOn, get_vnode, lookup, mount, pass_on, unget_vnode};
use super::{VfsCtx, caller, close_filp, set_fd};
use crate::errno::Errno;
use crate::proto::fs::{EntryRequest, InodeRequest, NodeReply, R_OK, REQ_CREATE, REQ_FTRUNC, W_OK, lookup as how};
use crate::proto::vfs::flags::*;
use crate::proto::vfs::{FdRequest, PathRequest};
use crate::task::Handled;
use kernel_sim::Message;
use kernel_sim::memory::Access;

/// The flags an open file keeps; the others only matter while opening.
const KEPT_FLAGS: u32 = O_ACCMODE | SETFL_MASK;

/// VFS_OPEN: open (or create) a file; the reply is the new descriptor. A named pipe's open may
/// wait for the other end (`pipe::open_fifo`).
pub fn do_open(ctx: &mut VfsCtx<'_>) -> Handled {
    match open(ctx) {
        Ok(Opened { fd, filp, vnode }) if ctx.state.live_vnode(vnode).is_fifo() => {
            super::pipe::open_fifo(ctx, vnode, filp, fd)
        }
        opened => Handled::status(opened.map(|o| o.fd as i32)),
    }
}

/// What an open made: the descriptor, the open file it points at, the vnode opened.
struct Opened {
    fd: u32,
    filp: FilpId,
    vnode: VnodeId,
}

fn open(ctx: &mut VfsCtx<'_>) -> Result<Opened, Errno> {
    let req: PathRequest = ctx.m.get();
    let flags = req.flags;
    let access = flags & O_ACCMODE;
    if access == O_ACCMODE {
        return Err(Errno::EINVAL);
    }
    let fp = caller(ctx)?;
    let fd = fp.free_fd(0, super::descriptors(ctx))?;
    if !ctx.state.has_free_filps(1) {
        return Err(Errno::ENFILE);
    }
    read_path(ctx.proc, ctx.who(), req.grant, req.len)?;
    let path = pass_on(ctx, req.grant, req.len.into(), Access::Read);
    let found = lookup(ctx, &fp, &path, 0, req.len, how::PARENT | how::TAKE)?;
    let vnode = if found.ino != 0 {
        let vnode = get_vnode(ctx, &found)?;
        if let Err(e) = check_existing(ctx, &fp, vnode, flags).and_then(|()| open_device(ctx, vnode, flags)) {
            unget_vnode(ctx, vnode);
            return Err(e);
        }
        vnode
    } else if flags & O_CREAT == 0 {
        return Err(Errno::ENOENT);
    } else if flags & O_DIRECTORY != 0 {
        return Err(Errno::EINVAL);
    } else if found.trailing_slash != 0 {
        return Err(Errno::EISDIR);
    } else {
        create(ctx, &fp, &path, &found, req.mode)?
    };
    let filp = ctx.state.open_filp(vnode, flags & KEPT_FLAGS).expect("a free slot was checked");
    set_fd(ctx, fd, Some(filp));
    if flags & O_CLOEXEC != 0 {
        super::set_cloexec(ctx, fd, true);
    }
    // Descriptors are below DESCRIPTORS_MAX (1,024).
    Ok(Opened { fd: fd as u32, filp, vnode })
}

/// An existing file may be opened with `flags` by `fp`: O_EXCL, the kind, the permissions; then
/// O_TRUNC cuts a regular file.
fn check_existing(ctx: &mut VfsCtx<'_>, fp: &super::state::Fproc, vnode: VnodeId, flags: u32) -> Result<(), Errno> {
    let access = flags & O_ACCMODE;
    if flags & O_CREAT != 0 && flags & O_EXCL != 0 {
        return Err(Errno::EEXIST);
    }
    let v = ctx.state.live_vnode(vnode).clone();
    if v.is_dir() && (access != O_RDONLY || flags & O_CREAT != 0) {
        return Err(Errno::EISDIR);
    }
    if !v.is_dir() && flags & O_DIRECTORY != 0 {
        return Err(Errno::ENOTDIR);
    }
    let mut want = 0;
    if access != O_WRONLY {
        want |= R_OK;
    }
    if access != O_RDONLY || flags & O_TRUNC != 0 {
        want |= W_OK;
    }
    if !v.permits(fp.uid, fp.gid, want) {
        return Err(Errno::EACCES);
    }
    if flags & O_TRUNC != 0 && v.is_regular() {
        let req = InodeRequest { ino: v.ino(), count: 0, mode: 0, uid: 0, gid: 0, size: 0 };
        let fs = mount(ctx).fs;
        ctx.sendrec(fs, Message::with(REQ_FTRUNC, &req))?;
        resized(ctx, vnode, 0);
    }
    Ok(())
}

/// A special file's driver opens its device (`device.rs`); a block special file is ENXIO.
fn open_device(ctx: &mut VfsCtx<'_>, vnode: VnodeId, flags: u32) -> Result<(), Errno> {
    match ctx.state.live_vnode(vnode).kind {
        VnodeKind::CharDevice(dev) => super::device::open(ctx, dev, flags),
        VnodeKind::BlockDevice(_) => Err(Errno::ENXIO),
        _ => Ok(()),
    }
}

/// Has the file system create the regular file the lookup `found` missing; the new file's
/// reference becomes a vnode.
fn create(
    ctx: &mut VfsCtx<'_>,
    fp: &super::state::Fproc,
    path: &PassedOn<'_>,
    found: &NodeReply,
    mode: u32,
) -> Result<VnodeId, Errno> {
    let req = EntryRequest {
        dir: found.dir,
        grant: path.id,
        offset: found.last_offset,
        len: found.last_len,
        uid: fp.uid,
        gid: fp.gid,
        // The creator's file-creation mask clears permission bits (MINIX's vfs applies it).
        mode: mode & !fp.umask,
        flags: 0,
        dev: 0,
    };
    let fs = mount(ctx).fs;
    let made: NodeReply = ctx.sendrec(fs, Message::with(REQ_CREATE, &req))?.get();
    get_vnode(ctx, &made)
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

//! stat, lstat, fstat, readlink and chdir: reading a file's attributes (the file system's, REQ_STAT; a pipe's are
//! vfs's), and moving a process's working directory.
//!
//! Invariant kept: a working directory is a directory vnode the process holds a reference on
//! (chdir takes only searchable directories, looked up with a reference; the old one's goes back).

use super::path::read_path;
use super::state::VnodeId;
use super::vnode::{get_vnode, lookup, mount, pass_on, put_vnode, unget_vnode};
use super::{VfsCtx, caller, caller_filp};
use crate::errno::Errno;
use crate::proto::fs::{InodeRequest, IoReply, REQ_RDLINK, REQ_STAT, X_OK, lookup as how};
use crate::proto::vfs::{FdRequest, PathRequest, ReadlinkRequest, StatReply, kind};
use crate::task::Handled;
use kernel_sim::Message;
use kernel_sim::memory::Access;

/// The attributes of inode `ino` of the mounted file system.
fn stat_inode(ctx: &mut VfsCtx<'_>, ino: u32) -> Result<StatReply, Errno> {
    let req = InodeRequest { ino, count: 0, mode: 0, uid: 0, gid: 0, size: 0 };
    let fs = mount(ctx).fs;
    Ok(ctx.sendrec(fs, Message::with(REQ_STAT, &req))?.get())
}

/// The attributes of vnode `id`: an unnamed pipe's from vfs (as MINIX: its size is the bytes it
/// buffers), a file's (a named pipe's too) from its file system.
pub fn stat_of(ctx: &mut VfsCtx<'_>, id: VnodeId) -> Result<StatReply, Errno> {
    let v = ctx.state.live_vnode(id).clone();
    if v.inode.is_some() {
        return stat_inode(ctx, v.ino());
    }
    let size = ctx.state.pipe_bufs.get(id as usize).map_or(0, |bytes| bytes.len() as u64);
    // A pipe keeps no times (its vnode is vfs's own, as in MINIX's pipes it is not an inode of a
    // file system's): they read as the Epoch.
    Ok(StatReply {
        ino: id,
        kind: kind::FIFO as u8,
        nlink: 0,
        mode: v.mode as u16,
        rdev: 0,
        uid: v.uid,
        gid: v.gid,
        blocks: 0,
        size,
        atime: 0,
        mtime: 0,
        ctime: 0,
    })
}

fn reply(result: Result<StatReply, Errno>) -> Handled {
    Handled::Reply(result.map(|s| Message::with(0, &s)))
}

/// VFS_STAT: the attributes of the file a path names.
pub fn do_stat(ctx: &mut VfsCtx<'_>) -> Handled {
    reply(stat(ctx, 0))
}

fn stat(ctx: &mut VfsCtx<'_>, flags: u32) -> Result<StatReply, Errno> {
    let req: PathRequest = ctx.m.get();
    let fp = caller(ctx)?;
    read_path(ctx.proc, ctx.who(), req.grant, req.len)?;
    let path = pass_on(ctx, req.grant, req.len.into(), Access::Read);
    let found = lookup(ctx, &fp, &path, 0, req.len, flags)?;
    stat_inode(ctx, found.ino)
}

/// VFS_LSTAT: the attributes of what a path names, a symbolic link itself.
pub fn do_lstat(ctx: &mut VfsCtx<'_>) -> Handled {
    reply(stat(ctx, how::NOFOLLOW))
}

/// VFS_READLINK: a symbolic link's target into the caller's buffer, at most its length (no NUL
/// added); EINVAL for anything but a link.
pub fn do_readlink(ctx: &mut VfsCtx<'_>) -> Handled {
    Handled::status(readlink(ctx))
}

fn readlink(ctx: &mut VfsCtx<'_>) -> Result<i32, Errno> {
    let req: ReadlinkRequest = ctx.m.get();
    let fp = caller(ctx)?;
    read_path(ctx.proc, ctx.who(), req.grant, req.len)?;
    let link = {
        let path = pass_on(ctx, req.grant, req.len.into(), Access::Read);
        lookup(ctx, &fp, &path, 0, req.len, how::NOFOLLOW)?
    };
    if link.kind != kind::SYMLINK {
        return Err(Errno::EINVAL);
    }
    let buffer = pass_on(ctx, req.buf_grant, req.buf_len, Access::Write);
    let io = crate::proto::fs::IoRequest { ino: link.ino, grant: buffer.id, pos: 0, len: req.buf_len };
    let fs = mount(ctx).fs;
    let answer: IoReply = ctx.sendrec(fs, Message::with(REQ_RDLINK, &io))?.get();
    // A target is at most PATH_MAX bytes.
    Ok(i32::try_from(answer.count).expect("a link's target fits a status"))
}

/// VFS_FSTAT: the attributes of the file a descriptor is open on.
pub fn do_fstat(ctx: &mut VfsCtx<'_>) -> Handled {
    reply(fstat(ctx))
}

fn fstat(ctx: &mut VfsCtx<'_>) -> Result<StatReply, Errno> {
    let fd = ctx.m.get::<FdRequest>().fd;
    let id = caller_filp(ctx, fd)?;
    let vnode = ctx.state.live_filp(id).vnode;
    stat_of(ctx, vnode)
}

/// VFS_CHDIR: work in another directory.
pub fn do_chdir(ctx: &mut VfsCtx<'_>) -> Handled {
    Handled::status(chdir(ctx).map(|()| 0))
}

fn chdir(ctx: &mut VfsCtx<'_>) -> Result<(), Errno> {
    let req: PathRequest = ctx.m.get();
    let fp = caller(ctx)?;
    read_path(ctx.proc, ctx.who(), req.grant, req.len)?;
    let path = pass_on(ctx, req.grant, req.len.into(), Access::Read);
    let found = lookup(ctx, &fp, &path, 0, req.len, how::TAKE)?;
    let dir = get_vnode(ctx, &found)?;
    let v = ctx.state.live_vnode(dir).clone();
    let refused = if !v.is_dir() {
        Some(Errno::ENOTDIR)
    } else if !v.permits(fp.uid, fp.gid, X_OK) {
        Some(Errno::EACCES)
    } else {
        None
    };
    if let Some(e) = refused {
        unget_vnode(ctx, dir);
        return Err(e);
    }
    let who = ctx.requester();
    ctx.state.fprocs.get_own_mut(&who).expect("the caller's entry was found by `caller`").cwd = dir;
    put_vnode(ctx, fp.cwd);
    Ok(())
}

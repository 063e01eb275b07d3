//! stat, fstat and chdir: reading an inode's attributes, and moving a process's working directory.
//!
//! Invariant kept: a working directory is a live directory (chdir takes only searchable
//! directories; rmdir and rename refuse to remove one that is in use).

use super::path::{X_OK, check_access, read_path, resolve};
use super::state::{Ino, InodeKind, VfsState};
use super::{VfsCtx, caller, caller_filp};
use crate::errno::Errno;
use crate::proto::vfs::{FdRequest, PathRequest, StatReply, kind};
use crate::task::Handled;
use kernel_sim::Message;

/// The attributes of inode `ino`.
pub fn stat_of(state: &mut VfsState, ino: Ino) -> StatReply {
    let inode = state.live(ino).clone();
    let (kind, size) = match inode.kind {
        InodeKind::Regular => (kind::REGULAR, inode.size),
        InodeKind::Directory => (kind::DIRECTORY, inode.size),
        // As MINIX: a pipe's size is the bytes it buffers.
        InodeKind::Pipe(_) => (kind::FIFO, state.pipe_bufs.get(ino as usize).map_or(0, |bytes| bytes.len() as u64)),
    };
    StatReply {
        ino,
        kind,
        mode: inode.mode,
        nlink: inode.nlink,
        uid: inode.uid,
        gid: inode.gid,
        size,
        blocks: inode.blocks.len() as u64,
    }
}

fn reply(result: Result<StatReply, Errno>) -> Handled {
    Handled::Reply(result.map(|s| Message::with(0, &s)))
}

/// VFS_STAT: the attributes of the file a path names.
pub fn do_stat(ctx: &mut VfsCtx<'_>) -> Handled {
    reply(stat(ctx))
}

fn stat(ctx: &mut VfsCtx<'_>) -> Result<StatReply, Errno> {
    let req: PathRequest = ctx.m.get();
    let fp = caller(ctx)?;
    let path = read_path(ctx.proc, ctx.who(), req.grant, req.len)?;
    let ino = resolve(ctx.state, &fp, &path)?;
    Ok(stat_of(ctx.state, ino))
}

/// VFS_FSTAT: the attributes of the file a descriptor is open on.
pub fn do_fstat(ctx: &mut VfsCtx<'_>) -> Handled {
    reply(fstat(ctx))
}

fn fstat(ctx: &mut VfsCtx<'_>) -> Result<StatReply, Errno> {
    let fd = ctx.m.get::<FdRequest>().fd;
    let id = caller_filp(ctx, fd)?;
    let ino = ctx.state.live_filp(id).ino;
    Ok(stat_of(ctx.state, ino))
}

/// VFS_CHDIR: work in another directory.
pub fn do_chdir(ctx: &mut VfsCtx<'_>) -> Handled {
    Handled::status(chdir(ctx).map(|()| 0))
}

fn chdir(ctx: &mut VfsCtx<'_>) -> Result<(), Errno> {
    let req: PathRequest = ctx.m.get();
    let fp = caller(ctx)?;
    let path = read_path(ctx.proc, ctx.who(), req.grant, req.len)?;
    let ino = resolve(ctx.state, &fp, &path)?;
    if !ctx.state.live(ino).is_dir() {
        return Err(Errno::ENOTDIR);
    }
    check_access(ctx.state, &fp, ino, X_OK)?;
    let who = ctx.requester();
    ctx.state.fprocs.get_own_mut(&who).expect("the caller's entry was found by `caller`").cwd = ino;
    Ok(())
}

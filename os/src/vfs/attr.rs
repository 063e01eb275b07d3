//! A file's attributes changed or tested: chmod, fchmod, chown, fchown, utimens, truncate,
//! ftruncate, access; the file system's totals: statvfs, fstatvfs, getvfsstat; and its data made durable:
//! fsync, sync
//! (REQ_SYNC: a pipe has no disk, EINVAL, as Linux answers).
//!
//! As in MINIX, vfs decides who may (from the attributes the lookup reports, or its vnode's cache)
//! and the file system applies (REQ_CHMOD, REQ_CHOWN, REQ_FTRUNC, REQ_STATVFS); vfs then brings
//! the cache of any vnode it has of the file up to date. A pipe's attributes are vfs's own.
//! Errnos: only the owner or root may chmod (EPERM); only root may give a file away, and an owner
//! may only set the group to its own (EPERM); a negative size is EINVAL, a directory EISDIR, a
//! descriptor not open for writing EBADF (MINIX's ftruncate), a pipe EINVAL; access tests the
//! caller's effective ids (vfs keeps no others) and refuses an unknown mode bit with EINVAL.

use super::mmap::resized;
use super::path::read_path;
use super::state::{Fproc, ROOT_UID, VnodeId, VnodeKind};
use super::vnode::{lookup, mount, pass_on};
use super::{VfsCtx, caller, caller_filp};
use crate::errno::Errno;
use crate::proto::fs::{
    InodeRequest, NodeReply, R_OK, REQ_CHMOD, REQ_CHOWN, REQ_FTRUNC, REQ_STATVFS, REQ_SYNC, REQ_UTIME, UtimeRequest,
    W_OK, X_OK, lookup as how, permitted,
};
use crate::proto::vfs::mode::PERM_MASK;
use crate::proto::vfs::utime::{AT_SYMLINK_NOFOLLOW, UTIME_NOW, UTIME_OMIT, valid_nsec};
use crate::proto::vfs::{
    AT_FDCWD, F_OK, FdAttrRequest, GetvfsstatRequest, KEEP_ID, PathAttrRequest, ST_NOWAIT, ST_WAIT, StatvfsReply,
    UtimensRequest, kind,
};
use crate::task::Handled;
use kernel_sim::Message;
use kernel_sim::memory::Access;

/// What a call changes: an inode of the mounted file system, or a pipe (vfs's own vnode).
enum Target {
    /// An inode, with the attributes the permission checks need.
    Inode { ino: u32, kind: u32, mode: u32, uid: u32, gid: u32 },
    /// A pipe's vnode.
    Pipe(VnodeId),
}

impl Target {
    fn owner(&self, ctx: &mut VfsCtx<'_>) -> (u32, u32) {
        match *self {
            Target::Inode { uid, gid, .. } => (uid, gid),
            Target::Pipe(id) => {
                let v = ctx.state.live_vnode(id);
                (v.uid, v.gid)
            }
        }
    }
}

fn status(r: Result<(), Errno>) -> Handled {
    Handled::status(r.map(|()| 0))
}

/// The file a path call names, walked as the caller: the caller and what the lookup reports.
fn by_path(ctx: &mut VfsCtx<'_>) -> Result<(Fproc, PathAttrRequest, NodeReply), Errno> {
    let req: PathAttrRequest = ctx.m.get();
    let (fp, found) = walk(ctx, req.grant, req.len, 0)?;
    Ok((fp, req, found))
}

/// The caller and what the path of `len` bytes under `grant` names, walked with lookup `flags`.
fn walk(ctx: &mut VfsCtx<'_>, grant: u32, len: u32, flags: u32) -> Result<(Fproc, NodeReply), Errno> {
    let fp = caller(ctx)?;
    read_path(ctx.proc, ctx.who(), grant, len)?;
    let path = pass_on(ctx, grant, len.into(), Access::Read);
    let found = lookup(ctx, &fp, &path, 0, len, flags)?;
    Ok((fp, found))
}

fn path_target(found: &NodeReply) -> Target {
    Target::Inode { ino: found.ino, kind: found.kind, mode: found.mode, uid: found.uid, gid: found.gid }
}

/// The file a descriptor call names: the caller, the request, the open file's target.
fn by_fd(ctx: &mut VfsCtx<'_>) -> Result<(Fproc, FdAttrRequest, VnodeId, Target), Errno> {
    let req: FdAttrRequest = ctx.m.get();
    let (fp, id, target) = fd_target(ctx, req.fd)?;
    Ok((fp, req, id, target))
}

/// The caller, the open file descriptor `fd` points at, and its target.
fn fd_target(ctx: &mut VfsCtx<'_>, fd: i32) -> Result<(Fproc, VnodeId, Target), Errno> {
    let id = caller_filp(ctx, fd)?;
    let fp = caller(ctx)?;
    let vnode = ctx.state.live_filp(id).vnode;
    let v = ctx.state.live_vnode(vnode).clone();
    let kind = match v.kind {
        VnodeKind::Pipe(_) => return Ok((fp, id, Target::Pipe(vnode))),
        VnodeKind::Fifo(_) => kind::FIFO,
        VnodeKind::Directory => kind::DIRECTORY,
        VnodeKind::Regular => kind::REGULAR,
        VnodeKind::CharDevice(_) => kind::CHAR_DEVICE,
        VnodeKind::BlockDevice(_) => kind::BLOCK_DEVICE,
    };
    Ok((fp, id, Target::Inode { ino: v.ino(), kind, mode: v.mode, uid: v.uid, gid: v.gid }))
}

/// Brings the cache of vfs's vnode of inode `ino`, if it has one, up to date.
fn refresh(ctx: &mut VfsCtx<'_>, ino: u32, update: impl FnOnce(&mut super::state::Vnode)) {
    let fs = mount(ctx).fs;
    if let Some(id) = ctx.state.find_vnode(fs, ino) {
        update(ctx.state.live_vnode_mut(id));
    }
}

/// Sends `m_type` about inode `ino` with the attributes in `req`.
fn inode_request(ctx: &mut VfsCtx<'_>, m_type: kernel_sim::MsgType, req: InodeRequest) -> Result<(), Errno> {
    let fs = mount(ctx).fs;
    ctx.sendrec(fs, Message::with(m_type, &req)).map(drop)
}

fn chmod(ctx: &mut VfsCtx<'_>, fp: &Fproc, target: Target, mode: u32) -> Result<(), Errno> {
    let (owner, _) = target.owner(ctx);
    if fp.uid != ROOT_UID && fp.uid != owner {
        return Err(Errno::EPERM);
    }
    let mode = mode & PERM_MASK;
    match target {
        Target::Pipe(id) => ctx.state.live_vnode_mut(id).mode = mode,
        Target::Inode { ino, .. } => {
            inode_request(ctx, REQ_CHMOD, InodeRequest { ino, count: 0, mode, uid: 0, gid: 0, size: 0 })?;
            refresh(ctx, ino, |v| v.mode = mode);
        }
    }
    Ok(())
}

/// VFS_CHMOD: new permission bits for the file a path names.
pub fn do_chmod(ctx: &mut VfsCtx<'_>) -> Handled {
    status(by_path(ctx).and_then(|(fp, req, found)| chmod(ctx, &fp, path_target(&found), req.mode)))
}

/// VFS_FCHMOD: new permission bits for the file a descriptor is open on.
pub fn do_fchmod(ctx: &mut VfsCtx<'_>) -> Handled {
    status(by_fd(ctx).and_then(|(fp, req, _, target)| chmod(ctx, &fp, target, req.mode)))
}

fn chown(ctx: &mut VfsCtx<'_>, fp: &Fproc, target: Target, uid: u32, gid: u32) -> Result<(), Errno> {
    let (owner, group) = target.owner(ctx);
    let uid = if uid == KEEP_ID { owner } else { uid };
    let gid = if gid == KEEP_ID { group } else { gid };
    // MINIX's rule: root does anything; an owner may only set the group, and only to its own.
    if fp.uid != ROOT_UID && (owner != fp.uid || uid != owner || gid != fp.gid) {
        return Err(Errno::EPERM);
    }
    match target {
        Target::Pipe(id) => {
            let v = ctx.state.live_vnode_mut(id);
            v.uid = uid;
            v.gid = gid;
        }
        Target::Inode { ino, .. } => {
            inode_request(ctx, REQ_CHOWN, InodeRequest { ino, count: 0, mode: 0, uid, gid, size: 0 })?;
            refresh(ctx, ino, |v| {
                v.uid = uid;
                v.gid = gid;
            });
        }
    }
    Ok(())
}

/// VFS_CHOWN: a new owner and group for the file a path names.
pub fn do_chown(ctx: &mut VfsCtx<'_>) -> Handled {
    status(by_path(ctx).and_then(|(fp, req, found)| chown(ctx, &fp, path_target(&found), req.uid, req.gid)))
}

/// VFS_FCHOWN: a new owner and group for the file a descriptor is open on.
pub fn do_fchown(ctx: &mut VfsCtx<'_>) -> Handled {
    status(by_fd(ctx).and_then(|(fp, req, _, target)| chown(ctx, &fp, target, req.uid, req.gid)))
}

/// Sets regular file `ino`'s size; its vnode, if it has one, follows (`mmap::resized`).
fn resize(ctx: &mut VfsCtx<'_>, ino: u32, size: u64) -> Result<(), Errno> {
    inode_request(ctx, REQ_FTRUNC, InodeRequest { ino, count: 0, mode: 0, uid: 0, gid: 0, size })?;
    let fs = mount(ctx).fs;
    if let Some(id) = ctx.state.find_vnode(fs, ino) {
        resized(ctx, id, size);
    }
    Ok(())
}

/// VFS_TRUNCATE: a new size for the regular file a path names (write permission needed).
pub fn do_truncate(ctx: &mut VfsCtx<'_>) -> Handled {
    status(truncate(ctx))
}

fn truncate(ctx: &mut VfsCtx<'_>) -> Result<(), Errno> {
    let size = u64::try_from(ctx.m.get::<PathAttrRequest>().size).map_err(|_| Errno::EINVAL)?;
    let (fp, _, found) = by_path(ctx)?;
    if found.kind == kind::DIRECTORY {
        return Err(Errno::EISDIR);
    }
    if !permitted(found.mode, found.uid, found.gid, false, fp.uid, fp.gid, W_OK) {
        return Err(Errno::EACCES);
    }
    resize(ctx, found.ino, size)
}

/// VFS_FTRUNCATE: a new size for the regular file a descriptor is open on for writing.
pub fn do_ftruncate(ctx: &mut VfsCtx<'_>) -> Handled {
    status(ftruncate(ctx))
}

fn ftruncate(ctx: &mut VfsCtx<'_>) -> Result<(), Errno> {
    let size = u64::try_from(ctx.m.get::<FdAttrRequest>().size).map_err(|_| Errno::EINVAL)?;
    let (_, _, id, target) = by_fd(ctx)?;
    if !ctx.state.live_filp(id).writable() {
        return Err(Errno::EBADF);
    }
    match target {
        Target::Inode { ino, kind: kind::REGULAR, .. } => resize(ctx, ino, size),
        _ => Err(Errno::EINVAL),
    }
}

/// VFS_ACCESS: 0 if the caller may access the file a path names as `mode` asks.
pub fn do_access(ctx: &mut VfsCtx<'_>) -> Handled {
    status(access(ctx))
}

fn access(ctx: &mut VfsCtx<'_>) -> Result<(), Errno> {
    let mode = ctx.m.get::<PathAttrRequest>().mode;
    if mode & !(R_OK | W_OK | X_OK) != 0 {
        return Err(Errno::EINVAL);
    }
    let (fp, _, found) = by_path(ctx)?;
    let is_dir = found.kind == kind::DIRECTORY;
    if mode == F_OK || permitted(found.mode, found.uid, found.gid, is_dir, fp.uid, fp.gid, mode) {
        Ok(())
    } else {
        Err(Errno::EACCES)
    }
}

/// VFS_UTIMENS: a file's access and modification times, as MINIX's do_utimens sets them: each is
/// given, now (UTIME_NOW) or kept (UTIME_OMIT); the owner or root may set any, whoever may write
/// the file may set both to now (else EACCES), anyone else gets EPERM. A nanosecond count out of
/// range or an unknown flag is EINVAL; both kept changes nothing and needs no permission. A path
/// is taken from the working directory only (`fd` AT_FDCWD, as MINIX's utimensat), a descriptor
/// when there is no path; a pipe keeps no times (EINVAL).
pub fn do_utimens(ctx: &mut VfsCtx<'_>) -> Handled {
    status(utimens(ctx))
}

fn utimens(ctx: &mut VfsCtx<'_>) -> Result<(), Errno> {
    let r: UtimensRequest = ctx.m.get();
    if r.flags & !AT_SYMLINK_NOFOLLOW != 0 || !valid_nsec(r.atime_nsec) || !valid_nsec(r.mtime_nsec) {
        return Err(Errno::EINVAL);
    }
    let (fp, target) = if r.len > 0 {
        if r.fd != AT_FDCWD {
            return Err(Errno::EINVAL);
        }
        let flags = if r.flags & AT_SYMLINK_NOFOLLOW != 0 { how::NOFOLLOW } else { 0 };
        let (fp, found) = walk(ctx, r.grant, r.len, flags)?;
        (fp, path_target(&found))
    } else {
        let (fp, _, target) = fd_target(ctx, r.fd)?;
        (fp, target)
    };
    let Target::Inode { ino, kind, mode, uid, gid } = target else { return Err(Errno::EINVAL) };
    if r.atime_nsec == UTIME_OMIT && r.mtime_nsec == UTIME_OMIT {
        // Nothing to change: POSIX asks for no permission then.
        return Ok(());
    }
    if fp.uid != ROOT_UID && fp.uid != uid {
        let both_now = r.atime_nsec == UTIME_NOW && r.mtime_nsec == UTIME_NOW;
        if !both_now {
            return Err(Errno::EPERM);
        }
        if !permitted(mode, uid, gid, kind == kind::DIRECTORY, fp.uid, fp.gid, W_OK) {
            return Err(Errno::EACCES);
        }
    }
    let req = UtimeRequest {
        ino,
        atime_nsec: r.atime_nsec,
        mtime_nsec: r.mtime_nsec,
        atime_sec: r.atime_sec,
        mtime_sec: r.mtime_sec,
    };
    let fs = mount(ctx).fs;
    ctx.sendrec(fs, Message::with(REQ_UTIME, &req)).map(drop)
}

/// The mounted file system's totals.
fn statvfs_of_root(ctx: &mut VfsCtx<'_>) -> Result<StatvfsReply, Errno> {
    let fs = mount(ctx).fs;
    Ok(ctx.sendrec(fs, Message::new(REQ_STATVFS))?.get())
}

fn statvfs_reply(result: Result<StatvfsReply, Errno>) -> Handled {
    Handled::Reply(result.map(|s| Message::with(0, &s)))
}

/// VFS_STATVFS: the totals of the file system a path is on.
pub fn do_statvfs(ctx: &mut VfsCtx<'_>) -> Handled {
    statvfs_reply(by_path(ctx).and_then(|_| statvfs_of_root(ctx)))
}

/// VFS_FSTATVFS: the totals of the file system a descriptor's file is on (a pipe is on none:
/// EINVAL).
pub fn do_fstatvfs(ctx: &mut VfsCtx<'_>) -> Handled {
    statvfs_reply(by_fd(ctx).and_then(|(_, _, _, target)| match target {
        Target::Pipe(_) => Err(Errno::EINVAL),
        Target::Inode { .. } => statvfs_of_root(ctx),
    }))
}

/// Has the mounted file system write back what is dirty.
fn sync_root(ctx: &mut VfsCtx<'_>) -> Result<(), Errno> {
    let fs = mount(ctx).fs;
    ctx.sendrec(fs, Message::new(REQ_SYNC))?;
    Ok(())
}

/// VFS_FSYNC: the file a descriptor is open on written back (a pipe has no disk: EINVAL).
pub fn do_fsync(ctx: &mut VfsCtx<'_>) -> Handled {
    Handled::status(by_fd(ctx).and_then(|(_, _, _, target)| match target {
        Target::Pipe(_) => Err(Errno::EINVAL),
        Target::Inode { .. } => sync_root(ctx).map(|()| 0),
    }))
}

/// VFS_SYNC: every mounted file system written back (one: the root). sync cannot fail (POSIX);
/// a write-back the driver refused stays dirty for the next one.
pub fn do_sync(ctx: &mut VfsCtx<'_>) -> Handled {
    let _ = sync_root(ctx);
    Handled::status(Ok(0))
}

/// VFS_GETVFSSTAT: the mounted file systems' totals (one: the root) into the caller's grant, as
/// many as fit; with no room asked, how many are mounted. A bad grant is EFAULT.
pub fn do_getvfsstat(ctx: &mut VfsCtx<'_>) -> Handled {
    use kernel_sim::{PAYLOAD_SIZE, Payload};
    let r: GetvfsstatRequest = ctx.m.get();
    if r.flags != ST_WAIT && r.flags != ST_NOWAIT {
        return Handled::status(Err(Errno::EINVAL));
    }
    const MOUNTED: i32 = 1;
    if r.len == 0 {
        return Handled::status(Ok(MOUNTED));
    }
    if r.len < StatvfsReply::SIZE as u64 {
        return Handled::status(Ok(0));
    }
    let result = statvfs_of_root(ctx).and_then(|totals| {
        let mut layout = [0u8; PAYLOAD_SIZE];
        totals.write(&mut layout);
        ctx.proc.safecopy_to(ctx.who(), r.grant, 0, &layout[..StatvfsReply::SIZE]).map_err(|_| Errno::EFAULT)?;
        Ok(MOUNTED)
    });
    Handled::status(result)
}

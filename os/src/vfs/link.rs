//! Names: link, unlink, rename, mkdir, mknod, rmdir, symlink. A symbolic link as the last component is
//! the name itself (NOFOLLOW): unlink and rename act on the link, not on what it names. vfs reads and checks the paths, has the file system
//! walk each to the directory holding its last component (REQ_LOOKUP with PARENT), and sends the
//! request naming that directory and the name; the file system checks the rest (existence,
//! permissions, room) before its first write, so a failure changes nothing. What only vfs knows
//! goes with the request: whether the entry is some process's working directory (rmdir and rename
//! refuse to remove one).

use super::path::{read_path, read_two_paths};
use super::state::{Ino, ROOT_UID};
use super::vnode::{PassedOn, lookup, mount, pass_on};
use super::{VfsCtx, caller};
use crate::errno::Errno;
use crate::proto::fs::{
    EntryRequest, LinkRequest, NodeReply, REQ_LINK, REQ_MKDIR, REQ_MKNOD, REQ_RENAME, REQ_RMDIR, REQ_SLINK, REQ_UNLINK,
    RenameRequest, SlinkRequest, entry, lookup as how,
};
use crate::proto::vfs::file_type::{S_IFIFO, S_IFMT, S_IFREG};
use crate::proto::vfs::{MknodRequest, PathRequest, TwoPathRequest, kind};
use crate::task::Handled;
use kernel_sim::memory::Access;
use kernel_sim::{Message, MsgType};

fn status(r: Result<(), Errno>) -> Handled {
    Handled::status(r.map(|()| 0))
}

/// Whether inode `ino` of the mounted file system is some process's working directory.
fn is_a_cwd(ctx: &mut VfsCtx<'_>, ino: Ino) -> bool {
    let fs = mount(ctx).fs;
    let cwds: Vec<u32> = ctx.state.fprocs.iter().map(|(_, f)| f.cwd).collect();
    cwds.into_iter().any(|id| ctx.state.vnode(id).is_some_and(|v| v.inode == Some((fs, ino))))
}

/// The entry flags of a walked path's last component.
fn flags_of(ctx: &mut VfsCtx<'_>, found: &NodeReply) -> u32 {
    let mut flags = 0;
    if found.ino != 0 && is_a_cwd(ctx, found.ino) {
        flags |= entry::BUSY;
    }
    if found.trailing_slash != 0 {
        flags |= entry::TRAILING_SLASH;
    }
    flags
}

/// The request `m_type` naming the last component of a path walked into `found`, whose range
/// starts at `base` of the grant (`dev`: mknod's device number).
fn entry_request(
    ctx: &mut VfsCtx<'_>,
    m_type: MsgType,
    path: &PassedOn<'_>,
    base: u32,
    found: &NodeReply,
    (mode, dev): (u32, u32),
) -> Result<(), Errno> {
    let fp = caller(ctx)?;
    let req = EntryRequest {
        dir: found.dir,
        grant: path.id,
        offset: base + found.last_offset,
        len: found.last_len,
        uid: fp.uid,
        gid: fp.gid,
        mode,
        flags: flags_of(ctx, found),
        dev,
    };
    let fs = mount(ctx).fs;
    ctx.sendrec(fs, Message::with(m_type, &req)).map(drop)
}

/// mkdir, rmdir, unlink: one path, walked to its last component, then the request on it.
fn one_path(ctx: &mut VfsCtx<'_>, m_type: MsgType) -> Result<(), Errno> {
    let req: PathRequest = ctx.m.get();
    entry_at(ctx, m_type, req.grant, req.len, (req.mode, 0))
}

/// The path of `len` bytes under `grant` walked to its last component, then the request
/// `m_type` on it, with `mode`.
fn entry_at(ctx: &mut VfsCtx<'_>, m_type: MsgType, grant: u32, len: u32, (mode, dev): (u32, u32)) -> Result<(), Errno> {
    let fp = caller(ctx)?;
    read_path(ctx.proc, ctx.who(), grant, len)?;
    let path = pass_on(ctx, grant, len.into(), Access::Read);
    let found = lookup(ctx, &fp, &path, 0, len, how::PARENT | how::NOFOLLOW)?;
    match m_type {
        REQ_MKDIR | REQ_MKNOD if found.ino != 0 => return Err(Errno::EEXIST),
        REQ_UNLINK | REQ_RMDIR if found.ino == 0 => return Err(Errno::ENOENT),
        _ => {}
    }
    // The creator's file-creation mask clears permission bits of a new file (MINIX's vfs applies
    // it before the request; the file system keeps PERM_MASK's bits). The mask holds permission
    // bits only (UMASK_MAX), so a file type in `mode` stays.
    entry_request(ctx, m_type, &path, 0, &found, (mode & !fp.umask, dev))
}

/// VFS_MKDIR: make a directory.
pub fn do_mkdir(ctx: &mut VfsCtx<'_>) -> Handled {
    status(one_path(ctx, REQ_MKDIR))
}

/// VFS_MKNOD: a new file of the type in the mode's `S_IFMT` bits, its permission bits cut by the
/// creator's mask. As MINIX's do_mknod: only root makes anything but a regular file or a named
/// pipe (EPERM); an existing name is EEXIST. The file system makes regular files (type bits 0 or
/// S_IFREG), named pipes (S_IFIFO) and special files (S_IFCHR, S_IFBLK, with the device number),
/// and answers EINVAL for the types mknod does not make (directories, symbolic links).
pub fn do_mknod(ctx: &mut VfsCtx<'_>) -> Handled {
    status(mknod(ctx))
}

fn mknod(ctx: &mut VfsCtx<'_>) -> Result<(), Errno> {
    let req: MknodRequest = ctx.m.get();
    let fp = caller(ctx)?;
    if fp.uid != ROOT_UID && !matches!(req.mode & S_IFMT, 0 | S_IFREG | S_IFIFO) {
        return Err(Errno::EPERM);
    }
    entry_at(ctx, REQ_MKNOD, req.grant, req.len, (req.mode, req.dev))
}

/// VFS_RMDIR: remove an empty directory.
pub fn do_rmdir(ctx: &mut VfsCtx<'_>) -> Handled {
    status(one_path(ctx, REQ_RMDIR))
}

/// VFS_UNLINK: remove a name of a file (not a directory: EISDIR).
pub fn do_unlink(ctx: &mut VfsCtx<'_>) -> Handled {
    status(one_path(ctx, REQ_UNLINK))
}

/// VFS_LINK: a new name for an existing file (not a directory: EPERM).
pub fn do_link(ctx: &mut VfsCtx<'_>) -> Handled {
    status(link(ctx))
}

fn link(ctx: &mut VfsCtx<'_>) -> Result<(), Errno> {
    let req: TwoPathRequest = ctx.m.get();
    let fp = caller(ctx)?;
    read_two_paths(ctx.proc, ctx.who(), req.grant, req.old_len, req.new_len)?;
    let paths = pass_on(ctx, req.grant, u64::from(req.old_len) + u64::from(req.new_len), Access::Read);
    let src = lookup(ctx, &fp, &paths, 0, req.old_len, 0)?;
    if src.kind == kind::DIRECTORY {
        return Err(Errno::EPERM);
    }
    let to = lookup(ctx, &fp, &paths, req.old_len, req.new_len, how::PARENT | how::NOFOLLOW)?;
    if to.ino != 0 {
        return Err(Errno::EEXIST);
    }
    let link = LinkRequest {
        ino: src.ino,
        dir: to.dir,
        grant: paths.id,
        offset: req.old_len + to.last_offset,
        len: to.last_len,
        uid: fp.uid,
        gid: fp.gid,
        flags: flags_of(ctx, &to),
    };
    let fs = mount(ctx).fs;
    ctx.sendrec(fs, Message::with(REQ_LINK, &link)).map(drop)
}

/// VFS_RENAME: move a name, replacing what the new name named (a file by a file, an empty
/// directory by a directory).
pub fn do_rename(ctx: &mut VfsCtx<'_>) -> Handled {
    status(rename(ctx))
}

fn rename(ctx: &mut VfsCtx<'_>) -> Result<(), Errno> {
    let req: TwoPathRequest = ctx.m.get();
    let fp = caller(ctx)?;
    read_two_paths(ctx.proc, ctx.who(), req.grant, req.old_len, req.new_len)?;
    let paths = pass_on(ctx, req.grant, u64::from(req.old_len) + u64::from(req.new_len), Access::Read);
    let from = lookup(ctx, &fp, &paths, 0, req.old_len, how::PARENT | how::NOFOLLOW)?;
    if from.ino == 0 {
        return Err(Errno::ENOENT);
    }
    let to = lookup(ctx, &fp, &paths, req.old_len, req.new_len, how::PARENT | how::NOFOLLOW)?;
    // Offsets and lengths within two paths of at most PATH_MAX bytes each fit a u16.
    let narrow = |n: u32| u16::try_from(n).expect("a path is at most PATH_MAX bytes");
    let rename = RenameRequest {
        old_dir: from.dir,
        new_dir: to.dir,
        grant: paths.id,
        old_offset: narrow(from.last_offset),
        old_len: narrow(from.last_len),
        new_offset: narrow(req.old_len + to.last_offset),
        new_len: narrow(to.last_len),
        uid: fp.uid,
        gid: fp.gid,
        flags: flags_of(ctx, &to),
    };
    let fs = mount(ctx).fs;
    ctx.sendrec(fs, Message::with(REQ_RENAME, &rename)).map(drop)
}

/// VFS_SYMLINK: a symbolic link at the second path naming the first (stored as given: it is
/// resolved when followed).
pub fn do_symlink(ctx: &mut VfsCtx<'_>) -> Handled {
    status(symlink(ctx))
}

fn symlink(ctx: &mut VfsCtx<'_>) -> Result<(), Errno> {
    let req: TwoPathRequest = ctx.m.get();
    let fp = caller(ctx)?;
    if req.old_len == 0 {
        // POSIX: an empty target names nothing.
        return Err(Errno::ENOENT);
    }
    read_two_paths(ctx.proc, ctx.who(), req.grant, req.old_len, req.new_len)?;
    let paths = pass_on(ctx, req.grant, u64::from(req.old_len) + u64::from(req.new_len), Access::Read);
    let at = lookup(ctx, &fp, &paths, req.old_len, req.new_len, how::PARENT | how::NOFOLLOW)?;
    if at.ino != 0 {
        return Err(Errno::EEXIST);
    }
    // Offsets and lengths within two paths of at most PATH_MAX bytes each fit a u16.
    let narrow = |n: u32| u16::try_from(n).expect("a path is at most PATH_MAX bytes");
    let slink = SlinkRequest {
        dir: at.dir,
        grant: paths.id,
        name_offset: narrow(req.old_len + at.last_offset),
        name_len: narrow(at.last_len),
        target_offset: 0,
        target_len: narrow(req.old_len),
        uid: fp.uid,
        gid: fp.gid,
    };
    let fs = mount(ctx).fs;
    ctx.sendrec(fs, Message::with(REQ_SLINK, &slink)).map(drop)
}

//! Names: REQ_CREATE, REQ_MKDIR, REQ_MKNOD, REQ_UNLINK, REQ_RMDIR, REQ_LINK, REQ_RENAME. vfs has walked
//! the path (REQ_LOOKUP) to the directory that holds the entry; these name the entry by that
//! directory and the name, and check everything else (existence, permissions, room) before their
//! first write, so a failure changes nothing.
//!
//! Invariants kept: an inode's link count equals the entries naming it (a directory: its entry in
//! the parent, its own `.`, and the `..` of each subdirectory); a directory is never hard-linked,
//! never moved below itself, and never removed while not empty, while it is the root, or while it
//! is some process's working directory (vfs says so with `entry::BUSY`); an inode whose last name
//! goes while vfs holds a reference lives on, nameless, until REQ_PUTNODE gives the last back.

use super::path::{Cred, copy_from_vfs, node_reply, read_name};
use super::state::{Ino, Inode, InodeKind, LINK_MAX, MfsState, ROOT_INO, ROOT_UID, times};
use super::{MfsCtx, client, now};
use crate::errno::Errno;
use crate::proto::fs::{EntryRequest, LinkRequest, RenameRequest, SlinkRequest, W_OK, X_OK, entry};
use crate::proto::vfs::file_type::{S_IFBLK, S_IFCHR, S_IFIFO, S_IFMT, S_IFREG};
use crate::proto::vfs::mode::{PERM_MASK, S_ISVTX};
use crate::task::Handled;
use kernel_sim::Message;

/// EACCES unless `cred` may access inode `ino` as `want`.
fn check_access(state: &mut MfsState, cred: Cred, ino: Ino, want: u32) -> Result<(), Errno> {
    let inode = state.inode(ino).ok_or(Errno::ENOENT)?;
    if inode.permits(cred.uid, cred.gid, want) { Ok(()) } else { Err(Errno::EACCES) }
}

/// Directory `dir` named by a request: EINVAL unless it is a live inode, ENOTDIR unless a
/// directory.
fn named_dir(state: &mut MfsState, dir: Ino) -> Result<(), Errno> {
    if state.named(dir)?.is_dir() { Ok(()) } else { Err(Errno::ENOTDIR) }
}

/// Creates an inode of `kind` named `name` in directory `dir`, owned by `cred`, with permission
/// bits `mode`, at time `now`: `cred` needs write and search permission on `dir`, which must still
/// be linked; a directory needs a link to spare in its parent; the inode and the blocks must be
/// there.
pub fn create(
    state: &mut MfsState,
    cred: Cred,
    dir: Ino,
    name: &[u8],
    kind: InodeKind,
    mode: u32,
    now: i64,
) -> Result<Ino, Errno> {
    let ino = make(state, cred, dir, name, kind, mode)?;
    state.stamp(ino, times::ALL, now);
    state.stamp(dir, times::MODIFIED, now);
    Ok(ino)
}

fn make(state: &mut MfsState, cred: Cred, dir: Ino, name: &[u8], kind: InodeKind, mode: u32) -> Result<Ino, Errno> {
    let parent = state.inode(dir).ok_or(Errno::ENOENT)?;
    if !parent.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if parent.nlink == 0 {
        // Removed while open or in use: no new names in it.
        return Err(Errno::ENOENT);
    }
    let is_dir = kind == InodeKind::Directory;
    if is_dir && parent.nlink >= LINK_MAX {
        return Err(Errno::EMLINK);
    }
    check_access(state, cred, dir, W_OK | X_OK)?;
    if !state.has_free_inode() {
        return Err(Errno::ENOSPC);
    }
    // A directory's first block holds its dots, a link's its target (at most PATH_MAX bytes).
    let blocks = state.dir_blocks_needed(dir)? + usize::from(kind != InodeKind::Regular);
    if state.free_block_count() < blocks {
        return Err(Errno::ENOSPC);
    }
    let mode = mode & PERM_MASK;
    if is_dir {
        return state.make_dir(Some(dir), name, mode, cred.uid, cred.gid);
    }
    let ino = state.alloc_inode(Inode::new(kind, mode, cred.uid, cred.gid))?;
    if let Err(e) = state.dir_insert(dir, name, ino) {
        state.release_if_unused(ino);
        return Err(e);
    }
    state.live_mut(ino).nlink = 1;
    Ok(ino)
}

/// Drops one link to `ino`, freeing it if it was the last and vfs holds no reference.
fn drop_link(state: &mut MfsState, ino: Ino) {
    let inode = state.live_mut(ino);
    assert!(inode.nlink > 0, "inode {ino} counts the entry being removed");
    inode.nlink -= 1;
    state.release_if_unused(ino);
}

/// `cred` may remove or replace the entry naming `target` from directory `dir`: write and search
/// permission on `dir`, and in a sticky directory, ownership of `target` or `dir` (or root).
fn may_remove(state: &mut MfsState, cred: Cred, dir: Ino, target: Ino) -> Result<(), Errno> {
    check_access(state, cred, dir, W_OK | X_OK)?;
    let (dir_mode, dir_uid) = (state.live(dir).mode, state.live(dir).uid);
    let target_uid = state.live(target).uid;
    if dir_mode & S_ISVTX != 0 && cred.uid != ROOT_UID && cred.uid != dir_uid && cred.uid != target_uid {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// Whether directory `dir` is `ancestor` or lies below it (following `..` up to the root).
fn is_below(state: &mut MfsState, ancestor: Ino, mut dir: Ino) -> bool {
    // A tree is at most as deep as there are inodes: the bound only guards against damage.
    for _ in 0..state.sizes().inodes {
        if dir == ancestor {
            return true;
        }
        if dir == ROOT_INO {
            return false;
        }
        dir = state.dir_lookup(dir, b"..").unwrap_or(ROOT_INO);
    }
    false
}

/// Removes empty directory `ino`, named in `parent`: its `.` and `..` go with its blocks.
fn remove_dir(state: &mut MfsState, parent: Ino, ino: Ino) {
    assert_eq!(state.live(ino).nlink, 2, "an empty directory has its entry and its own .");
    assert_eq!(state.dir_lookup(ino, b".."), Some(parent), "a directory's .. names its parent");
    state.truncate(ino);
    state.live_mut(ino).nlink = 0;
    let parent = state.live_mut(parent);
    assert!(parent.nlink > 2, "a parent counts the .. of each subdirectory");
    parent.nlink -= 1;
}

/// A symbolic link's permission bits: everyone (what matters is the target's).
const SYMLINK_MODE: u32 = 0o777;

fn status(r: Result<(), Errno>) -> Handled {
    Handled::status(r.map(|()| 0))
}

/// The entry a request names: its directory (checked), its name, the caller's ids.
fn entry_of(ctx: &mut MfsCtx<'_>) -> Result<(EntryRequest, Vec<u8>, Cred), Errno> {
    client(ctx)?;
    let req: EntryRequest = ctx.m.get();
    named_dir(ctx.state, req.dir)?;
    let name = read_name(ctx, req.grant, req.offset, req.len)?;
    Ok((req, name, Cred { uid: req.uid, gid: req.gid }))
}

/// REQ_CREATE: a new regular file; the reply names it, with one reference for vfs's vnode.
pub fn do_create(ctx: &mut MfsCtx<'_>) -> Handled {
    let handled = Handled::Reply(create_file(ctx).map(|r| Message::with(0, &r)));
    // What is not written back stays dirty for the next write-back; the cache holds it.
    let _ = super::block::write_back(ctx);
    handled
}

fn create_file(ctx: &mut MfsCtx<'_>) -> Result<crate::proto::fs::NodeReply, Errno> {
    let (req, name, cred) = entry_of(ctx)?;
    if ctx.state.dir_lookup(req.dir, &name).is_some() {
        return Err(Errno::EEXIST);
    }
    let ino = create(ctx.state, cred, req.dir, &name, InodeKind::Regular, req.mode, now(ctx))?;
    ctx.state.take_ref(ino);
    Ok(node_reply(ctx.state, req.dir, ino))
}

/// REQ_SLINK: make a symbolic link (permission bits 0777, as POSIX's links have) holding its
/// target; an empty target is ENOENT, as POSIX's symlink says.
pub fn do_slink(ctx: &mut MfsCtx<'_>) -> Handled {
    status(slink(ctx))
}

fn slink(ctx: &mut MfsCtx<'_>) -> Result<(), Errno> {
    client(ctx)?;
    let req: SlinkRequest = ctx.m.get();
    let cred = Cred { uid: req.uid, gid: req.gid };
    named_dir(ctx.state, req.dir)?;
    let name = read_name(ctx, req.grant, req.name_offset.into(), req.name_len.into())?;
    if req.target_len == 0 {
        return Err(Errno::ENOENT);
    }
    let target = copy_from_vfs(ctx, req.grant, req.target_offset.into(), req.target_len.into())?;
    if target.contains(&0) {
        return Err(Errno::EINVAL);
    }
    if ctx.state.dir_lookup(req.dir, &name).is_some() {
        return Err(Errno::EEXIST);
    }
    let ino = create(ctx.state, cred, req.dir, &name, InodeKind::Symlink, SYMLINK_MODE, now(ctx))?;
    let written = ctx.state.write_data(ino, 0, &target);
    assert_eq!(written, Ok(target.len()), "create kept a block for the target");
    Ok(())
}

/// REQ_MKDIR: make a directory.
pub fn do_mkdir(ctx: &mut MfsCtx<'_>) -> Handled {
    let handled = status(mkdir(ctx));
    // What is not written back stays dirty for the next write-back; the cache holds it.
    let _ = super::block::write_back(ctx);
    handled
}

fn mkdir(ctx: &mut MfsCtx<'_>) -> Result<(), Errno> {
    let (req, name, cred) = entry_of(ctx)?;
    if ctx.state.dir_lookup(req.dir, &name).is_some() {
        return Err(Errno::EEXIST);
    }
    create(ctx.state, cred, req.dir, &name, InodeKind::Directory, req.mode, now(ctx)).map(drop)
}

/// REQ_MKNOD: make a file of the type in the mode's `S_IFMT` bits: a regular file (type bits 0
/// or S_IFREG) or a named pipe (S_IFIFO). A device file is EINVAL (vfs refused a user's with
/// EPERM before: samsara has no device files), a directory or any other type EINVAL, as POSIX's
/// mknod answers an invalid type.
pub fn do_mknod(ctx: &mut MfsCtx<'_>) -> Handled {
    let handled = status(mknod(ctx));
    // What is not written back stays dirty for the next write-back; the cache holds it.
    let _ = super::block::write_back(ctx);
    handled
}

fn mknod(ctx: &mut MfsCtx<'_>) -> Result<(), Errno> {
    let (req, name, cred) = entry_of(ctx)?;
    let kind = match req.mode & S_IFMT {
        0 | S_IFREG => InodeKind::Regular,
        S_IFIFO => InodeKind::Fifo,
        S_IFCHR => InodeKind::CharDevice(req.dev),
        S_IFBLK => InodeKind::BlockDevice(req.dev),
        _ => return Err(Errno::EINVAL),
    };
    if ctx.state.dir_lookup(req.dir, &name).is_some() {
        return Err(Errno::EEXIST);
    }
    create(ctx.state, cred, req.dir, &name, kind, req.mode, now(ctx)).map(drop)
}

/// REQ_RMDIR: remove an empty directory.
pub fn do_rmdir(ctx: &mut MfsCtx<'_>) -> Handled {
    let handled = status(rmdir(ctx));
    // What is not written back stays dirty for the next write-back; the cache holds it.
    let _ = super::block::write_back(ctx);
    handled
}

fn rmdir(ctx: &mut MfsCtx<'_>) -> Result<(), Errno> {
    let (req, name, cred) = entry_of(ctx)?;
    let state = &mut *ctx.state;
    let ino = state.dir_lookup(req.dir, &name).ok_or(Errno::ENOENT)?;
    if !state.live(ino).is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if ino == ROOT_INO {
        return Err(Errno::EBUSY);
    }
    if name == b"." {
        return Err(Errno::EINVAL);
    }
    if name == b".." {
        return Err(Errno::ENOTEMPTY);
    }
    may_remove(state, cred, req.dir, ino)?;
    if !state.dir_is_empty(ino) {
        return Err(Errno::ENOTEMPTY);
    }
    if req.flags & entry::BUSY != 0 {
        return Err(Errno::EBUSY);
    }
    let removed = state.dir_remove(req.dir, &name);
    assert_eq!(removed, Some(ino), "the entry just looked up");
    remove_dir(state, req.dir, ino);
    state.release_if_unused(ino);
    let now = now(ctx);
    ctx.state.stamp(req.dir, times::MODIFIED, now);
    Ok(())
}

/// REQ_UNLINK: remove a name of a file (not a directory: EISDIR).
pub fn do_unlink(ctx: &mut MfsCtx<'_>) -> Handled {
    let handled = status(unlink(ctx));
    // What is not written back stays dirty for the next write-back; the cache holds it.
    let _ = super::block::write_back(ctx);
    handled
}

fn unlink(ctx: &mut MfsCtx<'_>) -> Result<(), Errno> {
    let (req, name, cred) = entry_of(ctx)?;
    let ino = ctx.state.dir_lookup(req.dir, &name).ok_or(Errno::ENOENT)?;
    if ctx.state.live(ino).is_dir() {
        return Err(Errno::EISDIR);
    }
    may_remove(ctx.state, cred, req.dir, ino)?;
    let removed = ctx.state.dir_remove(req.dir, &name);
    assert_eq!(removed, Some(ino), "the entry just looked up");
    drop_link(ctx.state, ino);
    let now = now(ctx);
    ctx.state.stamp(req.dir, times::MODIFIED, now);
    ctx.state.stamp(ino, times::CTIME, now);
    Ok(())
}

/// A name that does not exist yet may be added to directory `dir` by `cred`: the directory is
/// still linked, writable and searchable, and has room.
fn check_new_name(state: &mut MfsState, cred: Cred, dir: Ino, trailing_slash: bool) -> Result<(), Errno> {
    if trailing_slash {
        return Err(Errno::ENOENT);
    }
    if state.live(dir).nlink == 0 {
        return Err(Errno::ENOENT);
    }
    check_access(state, cred, dir, W_OK | X_OK)?;
    if state.free_block_count() < state.dir_blocks_needed(dir)? {
        return Err(Errno::ENOSPC);
    }
    Ok(())
}

/// REQ_LINK: a new name for an existing file (not a directory: EPERM).
pub fn do_link(ctx: &mut MfsCtx<'_>) -> Handled {
    let handled = status(link(ctx));
    // What is not written back stays dirty for the next write-back; the cache holds it.
    let _ = super::block::write_back(ctx);
    handled
}

fn link(ctx: &mut MfsCtx<'_>) -> Result<(), Errno> {
    client(ctx)?;
    let req: LinkRequest = ctx.m.get();
    let cred = Cred { uid: req.uid, gid: req.gid };
    if ctx.state.named(req.ino)?.is_dir() {
        return Err(Errno::EPERM);
    }
    named_dir(ctx.state, req.dir)?;
    let name = read_name(ctx, req.grant, req.offset, req.len)?;
    let state = &mut *ctx.state;
    if state.dir_lookup(req.dir, &name).is_some() {
        return Err(Errno::EEXIST);
    }
    if state.live(req.ino).nlink >= LINK_MAX {
        return Err(Errno::EMLINK);
    }
    check_new_name(state, cred, req.dir, req.flags & entry::TRAILING_SLASH != 0)?;
    state.dir_insert(req.dir, &name, req.ino)?;
    state.live_mut(req.ino).nlink += 1;
    let now = now(ctx);
    ctx.state.stamp(req.dir, times::MODIFIED, now);
    ctx.state.stamp(req.ino, times::CTIME, now);
    Ok(())
}

/// REQ_RENAME: move a name, replacing what the new name named (a file by a file, an empty
/// directory by a directory).
pub fn do_rename(ctx: &mut MfsCtx<'_>) -> Handled {
    let handled = status(rename(ctx));
    // What is not written back stays dirty for the next write-back; the cache holds it.
    let _ = super::block::write_back(ctx);
    handled
}

fn rename(ctx: &mut MfsCtx<'_>) -> Result<(), Errno> {
    client(ctx)?;
    let req: RenameRequest = ctx.m.get();
    let cred = Cred { uid: req.uid, gid: req.gid };
    named_dir(ctx.state, req.old_dir)?;
    named_dir(ctx.state, req.new_dir)?;
    let old = read_name(ctx, req.grant, req.old_offset.into(), req.old_len.into())?;
    let new = read_name(ctx, req.grant, req.new_offset.into(), req.new_len.into())?;
    let (from_dir, to_dir) = (req.old_dir, req.new_dir);
    let state = &mut *ctx.state;
    let src = state.dir_lookup(from_dir, &old).ok_or(Errno::ENOENT)?;
    let dots = |n: &[u8]| n == b"." || n == b"..";
    if dots(&old) || dots(&new) {
        return Err(Errno::EINVAL);
    }
    let src_is_dir = state.live(src).is_dir();
    may_remove(state, cred, from_dir, src)?;
    if src_is_dir && is_below(state, src, to_dir) {
        // Into itself or below: the directory would be cut off from the tree.
        return Err(Errno::EINVAL);
    }
    let moves_dir_across = src_is_dir && from_dir != to_dir;
    let replaced = state.dir_lookup(to_dir, &new);
    match replaced {
        Some(dst) if dst == src => return Ok(()),
        Some(dst) => {
            let dst_is_dir = state.live(dst).is_dir();
            match (src_is_dir, dst_is_dir) {
                (true, false) => return Err(Errno::ENOTDIR),
                (false, true) => return Err(Errno::EISDIR),
                _ => {}
            }
            may_remove(state, cred, to_dir, dst)?;
            if dst_is_dir && !state.dir_is_empty(dst) {
                return Err(Errno::ENOTEMPTY);
            }
            if dst_is_dir && req.flags & entry::BUSY != 0 {
                return Err(Errno::EBUSY);
            }
            let replaced = state.dir_replace(to_dir, &new, src);
            assert_eq!(replaced, Some(dst), "the entry just looked up");
            if dst_is_dir {
                remove_dir(state, to_dir, dst);
                state.release_if_unused(dst);
            } else {
                drop_link(state, dst);
            }
        }
        None => {
            if moves_dir_across && state.live(to_dir).nlink >= LINK_MAX {
                return Err(Errno::EMLINK);
            }
            check_new_name(state, cred, to_dir, req.flags & entry::TRAILING_SLASH != 0)?;
            state.dir_insert(to_dir, &new, src)?;
        }
    }
    let removed = state.dir_remove(from_dir, &old);
    assert_eq!(removed, Some(src), "the entry looked up at the start");
    if moves_dir_across {
        let up = state.dir_replace(src, b"..", to_dir);
        assert_eq!(up, Some(from_dir), "a directory's .. names its parent");
        state.live_mut(from_dir).nlink -= 1;
        state.live_mut(to_dir).nlink += 1;
    }
    let now = now(ctx);
    for (ino, what) in [(from_dir, times::MODIFIED), (to_dir, times::MODIFIED), (src, times::CTIME)] {
        ctx.state.stamp(ino, what, now);
    }
    if let Some(dst) = replaced {
        ctx.state.stamp(dst, times::CTIME, now);
    }
    Ok(())
}

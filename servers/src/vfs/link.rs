//! Names: creating files and directories (shared by open's O_CREAT), link, unlink, rename, mkdir,
//! rmdir.
//!
//! Invariants kept: an inode's link count equals the entries naming it (a directory: its entry in
//! the parent, its own `.`, and the `..` of each subdirectory); a directory is never hard-linked,
//! never moved below itself, and never removed while not empty, while it is the root, or while it
//! is some process's working directory; an inode whose last name goes while it is open lives on,
//! nameless, until its last close. Each call checks everything (existence, permissions, room)
//! before its first write, so a failure changes nothing.

use super::path::{self, Lookup, W_OK, X_OK, check_access, lookup, read_path, read_two_paths};
use super::state::{Fproc, Ino, Inode, InodeKind, LINK_MAX, NR_INODES, ROOT_INO, ROOT_UID, VfsState};
use super::{VfsCtx, caller};
use crate::errno::Errno;
use crate::proto::vfs::mode::{PERM_MASK, S_ISVTX};
use crate::proto::vfs::{PathRequest, TwoPathRequest};
use crate::task::Handled;

/// Creates an inode of `kind` named `name` in directory `dir`, owned by `fp`, with permission
/// bits `mode` less `fp`'s umask: `fp` needs write and search permission on `dir`, which must still be linked; a
/// directory needs a link to spare in its parent; the inode and the blocks must be there.
pub fn create(
    state: &mut VfsState,
    fp: &Fproc,
    dir: Ino,
    name: &[u8],
    kind: InodeKind,
    mode: u32,
) -> Result<Ino, Errno> {
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
    check_access(state, fp, dir, W_OK | X_OK)?;
    if !state.has_free_inode() {
        return Err(Errno::ENOSPC);
    }
    let blocks = state.dir_blocks_needed(dir)? + usize::from(is_dir);
    if state.free_block_count() < blocks {
        return Err(Errno::ENOSPC);
    }
    // The creator's file-creation mask clears permission bits (never the sticky bit).
    let mode = mode & PERM_MASK & !fp.umask;
    if is_dir {
        return state.make_dir(Some(dir), name, mode, fp.uid, fp.gid);
    }
    let ino = state.alloc_inode(Inode::new(kind, mode, fp.uid, fp.gid))?;
    if let Err(e) = state.dir_insert(dir, name, ino) {
        state.release_if_unused(ino);
        return Err(e);
    }
    state.live_mut(ino).nlink = 1;
    Ok(ino)
}

/// Drops one link to `ino`, freeing it if it was the last and nothing has it open.
fn drop_link(state: &mut VfsState, ino: Ino) {
    let inode = state.live_mut(ino);
    assert!(inode.nlink > 0, "inode {ino} counts the entry being removed");
    inode.nlink -= 1;
    state.release_if_unused(ino);
}

/// `fp` may remove or replace entry naming `target` from directory `dir`: write and search
/// permission on `dir`, and in a sticky directory, ownership of `target` or `dir` (or root).
fn may_remove(state: &mut VfsState, fp: &Fproc, dir: Ino, target: Ino) -> Result<(), Errno> {
    check_access(state, fp, dir, W_OK | X_OK)?;
    let (dir_mode, dir_uid) = (state.live(dir).mode, state.live(dir).uid);
    let target_uid = state.live(target).uid;
    if dir_mode & S_ISVTX != 0 && fp.uid != ROOT_UID && fp.uid != dir_uid && fp.uid != target_uid {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// Whether some process works in directory `ino`.
fn is_a_cwd(state: &mut VfsState, ino: Ino) -> bool {
    state.fprocs.iter().any(|(_, f)| f.cwd == ino)
}

/// Whether directory `dir` is `ancestor` or lies below it (following `..` up to the root).
fn is_below(state: &mut VfsState, ancestor: Ino, mut dir: Ino) -> bool {
    // A tree is at most as deep as there are inodes: the bound only guards against damage.
    for _ in 0..NR_INODES {
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

/// Removes empty directory `ino`, named `name` in `parent`: its `.` and `..` go with its blocks.
fn remove_dir(state: &mut VfsState, parent: Ino, ino: Ino) {
    assert_eq!(state.live(ino).nlink, 2, "an empty directory has its entry and its own .");
    assert_eq!(state.dir_lookup(ino, b".."), Some(parent), "a directory's .. names its parent");
    state.truncate(ino);
    state.live_mut(ino).nlink = 0;
    let parent = state.live_mut(parent);
    assert!(parent.nlink > 2, "a parent counts the .. of each subdirectory");
    parent.nlink -= 1;
}

fn status(r: Result<(), Errno>) -> Handled {
    Handled::status(r.map(|()| 0))
}

/// VFS_MKDIR: make a directory.
pub fn do_mkdir(ctx: &mut VfsCtx<'_>) -> Handled {
    status(mkdir(ctx))
}

fn mkdir(ctx: &mut VfsCtx<'_>) -> Result<(), Errno> {
    let req: PathRequest = ctx.m.get();
    let fp = caller(ctx)?;
    let path = read_path(ctx.proc, ctx.who(), req.grant, req.len)?;
    let l = lookup(ctx.state, &fp, &path)?;
    if l.found.is_some() {
        return Err(Errno::EEXIST);
    }
    create(ctx.state, &fp, l.dir, &l.name, InodeKind::Directory, req.mode).map(drop)
}

/// VFS_RMDIR: remove an empty directory.
pub fn do_rmdir(ctx: &mut VfsCtx<'_>) -> Handled {
    status(rmdir(ctx))
}

fn rmdir(ctx: &mut VfsCtx<'_>) -> Result<(), Errno> {
    let req: PathRequest = ctx.m.get();
    let fp = caller(ctx)?;
    let path = read_path(ctx.proc, ctx.who(), req.grant, req.len)?;
    let l = lookup(ctx.state, &fp, &path)?;
    let ino = l.existing()?;
    let state = &mut *ctx.state;
    if !state.live(ino).is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if ino == ROOT_INO {
        return Err(Errno::EBUSY);
    }
    if l.name == b"." {
        return Err(Errno::EINVAL);
    }
    if l.name == b".." {
        return Err(Errno::ENOTEMPTY);
    }
    may_remove(state, &fp, l.dir, ino)?;
    if !state.dir_is_empty(ino) {
        return Err(Errno::ENOTEMPTY);
    }
    if is_a_cwd(state, ino) {
        return Err(Errno::EBUSY);
    }
    let removed = state.dir_remove(l.dir, &l.name);
    assert_eq!(removed, Some(ino), "the entry just looked up");
    remove_dir(state, l.dir, ino);
    state.release_if_unused(ino);
    Ok(())
}

/// VFS_UNLINK: remove a name of a file (not a directory: EISDIR).
pub fn do_unlink(ctx: &mut VfsCtx<'_>) -> Handled {
    status(unlink(ctx))
}

fn unlink(ctx: &mut VfsCtx<'_>) -> Result<(), Errno> {
    let req: PathRequest = ctx.m.get();
    let fp = caller(ctx)?;
    let path = read_path(ctx.proc, ctx.who(), req.grant, req.len)?;
    let l = lookup(ctx.state, &fp, &path)?;
    let ino = l.existing()?;
    if ctx.state.live(ino).is_dir() {
        return Err(Errno::EISDIR);
    }
    may_remove(ctx.state, &fp, l.dir, ino)?;
    let removed = ctx.state.dir_remove(l.dir, &l.name);
    assert_eq!(removed, Some(ino), "the entry just looked up");
    drop_link(ctx.state, ino);
    Ok(())
}

/// VFS_LINK: a new name for an existing file (not a directory: EPERM).
pub fn do_link(ctx: &mut VfsCtx<'_>) -> Handled {
    status(link(ctx))
}

fn link(ctx: &mut VfsCtx<'_>) -> Result<(), Errno> {
    let req: TwoPathRequest = ctx.m.get();
    let fp = caller(ctx)?;
    let (old, new) = read_two_paths(ctx.proc, ctx.who(), req.grant, req.old_len, req.new_len)?;
    let state = &mut *ctx.state;
    let src = path::resolve(state, &fp, &old)?;
    if state.live(src).is_dir() {
        return Err(Errno::EPERM);
    }
    let l = lookup(state, &fp, &new)?;
    if l.found.is_some() {
        return Err(Errno::EEXIST);
    }
    if state.live(src).nlink >= LINK_MAX {
        return Err(Errno::EMLINK);
    }
    check_new_name(state, &fp, &l)?;
    state.dir_insert(l.dir, &l.name, src)?;
    state.live_mut(src).nlink += 1;
    Ok(())
}

/// A name that does not exist yet may be added to its directory by `fp`: the directory is still
/// linked, writable and searchable, and has room.
fn check_new_name(state: &mut VfsState, fp: &Fproc, l: &Lookup) -> Result<(), Errno> {
    if l.trailing_slash {
        return Err(Errno::ENOENT);
    }
    if state.live(l.dir).nlink == 0 {
        return Err(Errno::ENOENT);
    }
    check_access(state, fp, l.dir, W_OK | X_OK)?;
    if state.free_block_count() < state.dir_blocks_needed(l.dir)? {
        return Err(Errno::ENOSPC);
    }
    Ok(())
}

/// VFS_RENAME: move a name, replacing what the new name named (a file by a file, an empty
/// directory by a directory).
pub fn do_rename(ctx: &mut VfsCtx<'_>) -> Handled {
    status(rename(ctx))
}

fn rename(ctx: &mut VfsCtx<'_>) -> Result<(), Errno> {
    let req: TwoPathRequest = ctx.m.get();
    let fp = caller(ctx)?;
    let (old, new) = read_two_paths(ctx.proc, ctx.who(), req.grant, req.old_len, req.new_len)?;
    let state = &mut *ctx.state;
    let from = lookup(state, &fp, &old)?;
    let src = from.existing()?;
    let to = lookup(state, &fp, &new)?;
    if from.is_dot_or_dotdot() || to.is_dot_or_dotdot() {
        return Err(Errno::EINVAL);
    }
    let src_is_dir = state.live(src).is_dir();
    may_remove(state, &fp, from.dir, src)?;
    if src_is_dir && is_below(state, src, to.dir) {
        // Into itself or below: the directory would be cut off from the tree.
        return Err(Errno::EINVAL);
    }
    let moves_dir_across = src_is_dir && from.dir != to.dir;
    match to.found {
        Some(dst) if dst == src => return Ok(()),
        Some(dst) => {
            let dst_is_dir = state.live(dst).is_dir();
            match (src_is_dir, dst_is_dir) {
                (true, false) => return Err(Errno::ENOTDIR),
                (false, true) => return Err(Errno::EISDIR),
                _ => {}
            }
            may_remove(state, &fp, to.dir, dst)?;
            if dst_is_dir && !state.dir_is_empty(dst) {
                return Err(Errno::ENOTEMPTY);
            }
            if dst_is_dir && is_a_cwd(state, dst) {
                return Err(Errno::EBUSY);
            }
            let replaced = state.dir_replace(to.dir, &to.name, src);
            assert_eq!(replaced, Some(dst), "the entry just looked up");
            if dst_is_dir {
                remove_dir(state, to.dir, dst);
                state.release_if_unused(dst);
            } else {
                drop_link(state, dst);
            }
        }
        None => {
            if moves_dir_across && state.live(to.dir).nlink >= LINK_MAX {
                return Err(Errno::EMLINK);
            }
            check_new_name(state, &fp, &to)?;
            state.dir_insert(to.dir, &to.name, src)?;
        }
    }
    let removed = state.dir_remove(from.dir, &from.name);
    assert_eq!(removed, Some(src), "the entry looked up at the start");
    if moves_dir_across {
        let up = state.dir_replace(src, b"..", to.dir);
        assert_eq!(up, Some(from.dir), "a directory's .. names its parent");
        state.live_mut(from.dir).nlink -= 1;
        state.live_mut(to.dir).nlink += 1;
    }
    Ok(())
}

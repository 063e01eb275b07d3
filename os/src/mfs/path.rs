//! REQ_LOOKUP: walking a path from a directory, as MINIX's mfs does for vfs, and reading the
//! names and paths vfs passes on by grant; REQ_PATHNAME: a directory's path, for getcwd.
//!
//! Rules: each component is at most NAME_MAX bytes (ENAMETOOLONG); repeated slashes count as one;
//! `.` and `..` are real directory entries, so they need no special case (`..` of the root is the
//! root); every directory searched needs execute permission (EACCES); a component that is not a
//! directory where one is needed is ENOTDIR; a trailing slash requires a directory. A request
//! naming an inode that is not live (a start directory, a root) is EINVAL.

use super::state::{Ino, MfsState};
use super::{MfsCtx, client};
use crate::errno::Errno;
use crate::proto::PATH_MAX;
use crate::proto::fs::{LookupRequest, NodeReply, PathnameRequest, X_OK, lookup};
use crate::proto::vfs::NAME_MAX;
use crate::task::Handled;
use kernel_sim::Message;
use std::ops::Range;

/// Whose call a request serves: the ids permission checks use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cred {
    /// Effective user id.
    pub uid: u32,
    /// Effective group id.
    pub gid: u32,
}

/// Copies `[offset, offset+len)` of the buffer vfs passed on under `grant` (a bad grant is EPERM,
/// a range outside the buffer EFAULT: the kernel's answers).
pub fn copy_from_vfs(ctx: &mut MfsCtx<'_>, grant: u32, offset: u32, len: u32) -> Result<Vec<u8>, Errno> {
    if len as usize > PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    let mut buf = vec![0u8; len as usize];
    ctx.proc.safecopy_from(ctx.who(), grant, u64::from(offset), &mut buf)?;
    Ok(buf)
}

/// Reads the entry name `[offset, offset+len)` under `grant`: len 0 is `.` (a path of slashes
/// only names the root as its own `.`); a name is at most NAME_MAX bytes with no slash or NUL.
pub fn read_name(ctx: &mut MfsCtx<'_>, grant: u32, offset: u32, len: u32) -> Result<Vec<u8>, Errno> {
    if len == 0 {
        return Ok(b".".to_vec());
    }
    if len as usize > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    let name = copy_from_vfs(ctx, grant, offset, len)?;
    if name.contains(&b'/') || name.contains(&0) {
        return Err(Errno::EINVAL);
    }
    Ok(name)
}

/// Symbolic links one walk follows at most before it gives up with ELOOP (MINIX's SYMLOOP_MAX).
pub const SYMLOOP_MAX: u32 = 16;

/// A walked path: the directory its last component is in, that component, and what it names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Walked {
    /// The directory holding the last component.
    pub dir: Ino,
    /// Where the last component is in the path (empty for a path of slashes only: `.`). Links
    /// followed on the way rewrite what comes before it, never it, unless it was followed itself.
    pub last: Range<usize>,
    /// The last component.
    pub name: Vec<u8>,
    /// The inode the last component names, if it exists.
    pub found: Option<Ino>,
    /// Whether the path ended in a slash (it must name a directory).
    pub trailing_slash: bool,
    /// Whether the last component was a symbolic link, followed (`dir` and `name` are then the
    /// target's, not in the path).
    pub followed_last: bool,
}

/// Looks `name` up in directory `dir` as `cred`: `dir` must be a directory (ENOTDIR) that `cred`
/// may search (EACCES).
pub fn step(state: &mut MfsState, cred: Cred, dir: Ino, name: &[u8]) -> Result<Option<Ino>, Errno> {
    let inode = state.inode(dir).ok_or(Errno::ENOENT)?;
    if !inode.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if !inode.permits(cred.uid, cred.gid, X_OK) {
        return Err(Errno::EACCES);
    }
    Ok(state.dir_lookup(dir, name))
}

/// The non-empty components of `path`, with their places in it; ENAMETOOLONG for a long one.
fn components(path: &[u8]) -> Result<Vec<Range<usize>>, Errno> {
    let mut found = Vec::new();
    let mut at = 0;
    for piece in path.split(|&b| b == b'/') {
        if piece.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        if !piece.is_empty() {
            found.push(at..at + piece.len());
        }
        at += piece.len() + 1;
    }
    Ok(found)
}

/// Walks `path` as `cred` down to its last component, from `start` (or `root` for a path that
/// starts with a slash), following symbolic links on the way, and the last component too when
/// `follow_last` (or the path ends in a slash).
pub fn walk(
    state: &mut MfsState,
    cred: Cred,
    start: Ino,
    root: Ino,
    path: &[u8],
    follow_last: bool,
) -> Result<Walked, Errno> {
    if path.is_empty() {
        return Err(Errno::EINVAL);
    }
    for ino in [start, root] {
        if !state.named(ino)?.is_dir() {
            return Err(Errno::EINVAL);
        }
    }
    let places = components(path)?;
    let trailing_slash = path.ends_with(b"/");
    let Some(last) = places.last().cloned() else {
        // Only slashes: the root itself, as its own ".".
        let found = step(state, cred, root, b".")?;
        return Ok(Walked { dir: root, last: 0..0, name: b".".to_vec(), found, trailing_slash, followed_last: false });
    };
    let mut rest: std::collections::VecDeque<Vec<u8>> = places.iter().map(|c| path[c.clone()].to_vec()).collect();
    let mut dir = if path[0] == b'/' { root } else { start };
    let (mut links, mut followed_last) = (0, false);
    loop {
        let name = rest.pop_front().expect("a walk ends at its last component");
        let is_last = rest.is_empty();
        let found = step(state, cred, dir, &name)?;
        if let Some(ino) = found
            && state.live(ino).is_symlink()
            && (!is_last || follow_last || trailing_slash)
        {
            links += 1;
            if links > SYMLOOP_MAX {
                return Err(Errno::ELOOP);
            }
            followed_last |= is_last;
            let size = state.live(ino).size;
            let target = state.read_data(ino, 0, size);
            if target.first() == Some(&b'/') {
                dir = root;
            }
            let mut pieces: Vec<Vec<u8>> = components(&target)?.into_iter().map(|c| target[c].to_vec()).collect();
            if pieces.is_empty() {
                // A link to "/": the root, as its own ".".
                pieces.push(b".".to_vec());
            }
            for piece in pieces.into_iter().rev() {
                rest.push_front(piece);
            }
            continue;
        }
        if !is_last {
            dir = found.ok_or(Errno::ENOENT)?;
            continue;
        }
        if trailing_slash
            && let Some(ino) = found
            && !state.live(ino).is_dir()
        {
            return Err(Errno::ENOTDIR);
        }
        return Ok(Walked { dir, last: last.clone(), name, found, trailing_slash, followed_last });
    }
}

/// The reply naming inode `ino` (0: none) beside directory `dir`.
pub fn node_reply(state: &mut MfsState, dir: Ino, ino: Ino) -> NodeReply {
    let mut reply = NodeReply {
        dir,
        ino,
        kind: 0,
        mode: 0,
        uid: 0,
        gid: 0,
        size: 0,
        last_offset: 0,
        last_len: 0,
        trailing_slash: 0,
        rdev: 0,
    };
    if let Some(inode) = state.inode(ino) {
        reply.kind = inode.wire_kind();
        reply.rdev = inode.rdev();
        reply.mode = inode.mode;
        reply.uid = inode.uid;
        reply.gid = inode.gid;
        reply.size = inode.size;
    }
    reply
}

/// REQ_LOOKUP: walk a path; the reply names what it found (a reference taken with
/// `lookup::TAKE`), or with `lookup::PARENT` the directory of the last component and what that
/// names, if anything.
pub fn do_lookup(ctx: &mut MfsCtx<'_>) -> Handled {
    Handled::Reply(lookup_path(ctx).map(|r| Message::with(0, &r)))
}

fn lookup_path(ctx: &mut MfsCtx<'_>) -> Result<NodeReply, Errno> {
    client(ctx)?;
    let req: LookupRequest = ctx.m.get();
    let path = copy_from_vfs(ctx, req.grant, req.offset, req.len)?;
    let cred = Cred { uid: req.uid, gid: req.gid };
    let w = walk(ctx.state, cred, req.dir, req.root, &path, req.flags & lookup::NOFOLLOW == 0)?;
    let found = match w.found {
        Some(ino) => ino,
        None if req.flags & lookup::PARENT != 0 && !w.followed_last => 0,
        None => return Err(Errno::ENOENT),
    };
    if found != 0 && req.flags & lookup::TAKE != 0 {
        ctx.state.take_ref(found);
    }
    let mut reply = node_reply(ctx.state, w.dir, found);
    // Ranges within a path of at most PATH_MAX bytes.
    reply.last_offset = w.last.start as u32;
    reply.last_len = w.last.len() as u32;
    reply.trailing_slash = u32::from(w.trailing_slash);
    Ok(reply)
}

/// REQ_PATHNAME: a directory's absolute path, for getcwd.
pub fn do_pathname(ctx: &mut MfsCtx<'_>) -> Handled {
    Handled::status(pathname(ctx))
}

fn pathname(ctx: &mut MfsCtx<'_>) -> Result<i32, Errno> {
    client(ctx)?;
    let req: PathnameRequest = ctx.m.get();
    let path = path_of(ctx.state, req.dir, req.root)?;
    if path.len() as u64 > req.len {
        return Err(Errno::ERANGE);
    }
    ctx.proc.safecopy_to(ctx.who(), req.grant, 0, &path)?;
    Ok(path.len() as i32)
}

/// The absolute path of directory `dir` below `root`, found by walking `..` up to the root and
/// looking each directory's name up in its parent (MINIX's libc getcwd does the same walk with
/// stat and readdir). EINVAL for an inode that is not live, ENOTDIR for a file, ENOENT for a
/// removed directory (or one whose parent does not name it: damage the checker reports),
/// ENAMETOOLONG past PATH_MAX.
pub fn path_of(state: &mut MfsState, dir: Ino, root: Ino) -> Result<Vec<u8>, Errno> {
    state.named(root)?;
    let mut names: Vec<Vec<u8>> = Vec::new();
    let mut at = dir;
    let mut length = 0;
    while at != root {
        let inode = state.named(at)?;
        if !inode.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if inode.nlink == 0 {
            return Err(Errno::ENOENT);
        }
        let parent = state.dir_lookup(at, b"..").ok_or(Errno::ENOENT)?;
        let name = state
            .dir_entries(parent)
            .into_iter()
            .find(|e| e.ino == at && e.name != b"." && e.name != b"..")
            .map(|e| e.name)
            .ok_or(Errno::ENOENT)?;
        length += name.len() + 1;
        if length > PATH_MAX {
            // Also ends a walk through damaged `..` entries that loop: each step adds a byte.
            return Err(Errno::ENAMETOOLONG);
        }
        names.push(name);
        at = parent;
    }
    if names.is_empty() {
        return Ok(b"/".to_vec());
    }
    Ok(names.iter().rev().flat_map(|name| [b"/".as_slice(), name].concat()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mfs::state::{InodeKind, ROOT_INO};

    fn tree() -> (MfsState, Ino, Ino) {
        let mut s = MfsState::empty();
        s.make_root(0o755);
        let etc = s.make_dir(Some(ROOT_INO), b"etc", 0o755, 0, 0).unwrap();
        let motd = s.make_file(etc, b"motd", 0o644, b"hi").unwrap();
        (s, etc, motd)
    }

    const ROOT: Cred = Cred { uid: 0, gid: 0 };

    fn resolve(s: &mut MfsState, cred: Cred, cwd: Ino, path: &[u8]) -> Result<Ino, Errno> {
        walk(s, cred, cwd, ROOT_INO, path, true)?.found.ok_or(Errno::ENOENT)
    }

    #[test]
    fn absolute_relative_dots_and_slashes_resolve_alike() {
        let (mut s, etc, motd) = tree();
        for p in ["/etc/motd", "//etc///motd", "/etc/./motd", "/etc/../etc/motd", "/../etc/motd"] {
            assert_eq!(resolve(&mut s, ROOT, ROOT_INO, p.as_bytes()), Ok(motd), "{p}");
        }
        assert_eq!(resolve(&mut s, ROOT, etc, b"motd"), Ok(motd));
        assert_eq!(resolve(&mut s, ROOT, etc, b".."), Ok(ROOT_INO));
        assert_eq!(resolve(&mut s, ROOT, etc, b"/"), Ok(ROOT_INO));
        assert_eq!(resolve(&mut s, ROOT, etc, b"etc/"), Err(Errno::ENOENT));
        assert_eq!(resolve(&mut s, ROOT, etc, b"/etc/"), Ok(etc));
        let w = walk(&mut s, ROOT, ROOT_INO, ROOT_INO, b"/etc//motd", true).unwrap();
        assert_eq!((w.dir, w.last, w.found), (etc, 6..10, Some(motd)), "the last component's place in the path");
    }

    #[test]
    fn bad_paths_and_bad_inodes_get_their_errno() {
        let (mut s, _, motd) = tree();
        assert_eq!(resolve(&mut s, ROOT, ROOT_INO, b"/nope"), Err(Errno::ENOENT));
        assert_eq!(resolve(&mut s, ROOT, ROOT_INO, b"/etc/motd/x"), Err(Errno::ENOTDIR));
        assert_eq!(resolve(&mut s, ROOT, ROOT_INO, b"/etc/motd/"), Err(Errno::ENOTDIR));
        assert_eq!(resolve(&mut s, ROOT, ROOT_INO, b""), Err(Errno::EINVAL));
        assert_eq!(resolve(&mut s, ROOT, ROOT_INO, &[b'a'; NAME_MAX + 1]), Err(Errno::ENAMETOOLONG));
        assert_eq!(resolve(&mut s, ROOT, 999, b"x"), Err(Errno::EINVAL), "a start inode that is not live");
        assert_eq!(resolve(&mut s, ROOT, motd, b"x"), Err(Errno::EINVAL), "a start inode that is no directory");
        s.live_mut(ROOT_INO).mode = 0o700;
        assert_eq!(resolve(&mut s, Cred { uid: 100, gid: 0 }, ROOT_INO, b"/etc"), Err(Errno::EACCES));
    }

    #[test]
    fn a_directory_path_walks_up_to_the_root_and_refuses_what_is_no_directory() {
        let (mut s, etc, motd) = tree();
        let deep = s.make_dir(Some(etc), b"deep", 0o755, 0, 0).unwrap();
        assert_eq!(path_of(&mut s, ROOT_INO, ROOT_INO), Ok(b"/".to_vec()));
        assert_eq!(path_of(&mut s, deep, ROOT_INO), Ok(b"/etc/deep".to_vec()));
        assert_eq!(path_of(&mut s, motd, ROOT_INO), Err(Errno::ENOTDIR));
        assert_eq!(path_of(&mut s, 999, ROOT_INO), Err(Errno::EINVAL), "not a live inode");
    }

    #[test]
    fn symbolic_links_are_followed_on_the_way_and_at_the_end_unless_told_not_to() {
        let (mut s, etc, motd) = tree();
        let link = |s: &mut MfsState, dir: Ino, name: &[u8], target: &[u8]| {
            let ino = crate::mfs::link::create(s, ROOT, dir, name, InodeKind::Symlink, 0o777, 0).unwrap();
            assert_eq!(s.write_data(ino, 0, target), Ok(target.len()));
            ino
        };
        let to_etc = link(&mut s, ROOT_INO, b"e", b"/etc");
        let to_motd = link(&mut s, etc, b"m", b"motd");
        link(&mut s, ROOT_INO, b"slash", b"/");
        link(&mut s, ROOT_INO, b"loop", b"loop");
        assert_eq!(resolve(&mut s, ROOT, ROOT_INO, b"/e/motd"), Ok(motd), "through a link on the way");
        assert_eq!(resolve(&mut s, ROOT, ROOT_INO, b"/e/m"), Ok(motd), "two links, one relative");
        assert_eq!(resolve(&mut s, ROOT, ROOT_INO, b"/slash/etc"), Ok(etc));
        assert_eq!(resolve(&mut s, ROOT, ROOT_INO, b"/e/"), Ok(etc));
        let w = walk(&mut s, ROOT, ROOT_INO, ROOT_INO, b"/e/m", false).unwrap();
        assert_eq!((w.dir, w.found, w.last, w.followed_last), (etc, Some(to_motd), 3..4, false), "not the last");
        assert_eq!(walk(&mut s, ROOT, ROOT_INO, ROOT_INO, b"/e", false).unwrap().found, Some(to_etc));
        assert_eq!(resolve(&mut s, ROOT, ROOT_INO, b"/loop"), Err(Errno::ELOOP));
        assert_eq!(resolve(&mut s, ROOT, ROOT_INO, b"/loop/x"), Err(Errno::ELOOP));
        assert_eq!(s.check_invariants(), Vec::<String>::new());
    }
}

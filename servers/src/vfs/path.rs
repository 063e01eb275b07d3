//! Paths and permissions: reading a path from the caller's memory through its grant, walking it
//! from the root or the working directory, and the mode-bit checks every call makes.
//!
//! Rules: a path is 1..=PATH_MAX bytes without NUL (else EINVAL, or ENAMETOOLONG when too long);
//! each component is at most NAME_MAX bytes (ENAMETOOLONG); repeated slashes count as one; `.`
//! and `..` are real directory entries, so they need no special case (`..` of the root is the
//! root); every directory searched needs execute permission (EACCES); a component that is not a
//! directory where one is needed is ENOTDIR; a trailing slash requires a directory.

use super::state::{Fproc, Ino, Inode, ROOT_INO, ROOT_UID, VfsState};
use crate::errno::Errno;
use crate::proto::PATH_MAX;
use crate::proto::vfs::NAME_MAX;
use crate::task::Ctx;
use kernel_sim::{Endpoint, Proc};

/// Permission to read (MINIX's R_BIT).
pub const R_OK: u32 = 4;
/// Permission to write.
pub const W_OK: u32 = 2;
/// Permission to execute a file or search a directory.
pub const X_OK: u32 = 1;

/// Copies `len` bytes through `owner`'s read grant `grant`; a bad grant is EPERM, a range outside
/// the owner's memory EFAULT (the kernel's answers), never a panic.
pub fn copy_in(proc: &Proc, owner: Endpoint, grant: u32, offset: u64, len: usize) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; len];
    proc.safecopy_from(owner, grant, offset, &mut buf)?;
    Ok(buf)
}

/// Checks a path's length and bytes before it is copied or walked.
fn check_len(len: u32) -> Result<usize, Errno> {
    match len as usize {
        0 => Err(Errno::EINVAL),
        n if n > PATH_MAX => Err(Errno::ENAMETOOLONG),
        n => Ok(n),
    }
}

fn check_bytes(path: Vec<u8>) -> Result<Vec<u8>, Errno> {
    if path.contains(&0) {
        return Err(Errno::EINVAL);
    }
    Ok(path)
}

/// Reads one path of `len` bytes from `owner`'s memory under read grant `grant`.
pub fn read_path(proc: &Proc, owner: Endpoint, grant: u32, len: u32) -> Result<Vec<u8>, Errno> {
    let len = check_len(len)?;
    check_bytes(copy_in(proc, owner, grant, 0, len)?)
}

/// Reads one path as [`read_path`] does, kept in the request's log (exec: the request replaces the
/// memory the path is in, so handling it again must read what the first attempt read).
pub fn read_path_kept<S>(ctx: &mut Ctx<'_, S>, owner: Endpoint, grant: u32, len: u32) -> Result<Vec<u8>, Errno> {
    let len = check_len(len)?;
    check_bytes(ctx.copy_in_kept(owner, grant, len)?)
}

/// Reads the two paths of link and rename, back to back under one grant.
pub fn read_two_paths(
    proc: &Proc,
    owner: Endpoint,
    grant: u32,
    old_len: u32,
    new_len: u32,
) -> Result<(Vec<u8>, Vec<u8>), Errno> {
    let (old, new) = (check_len(old_len)?, check_len(new_len)?);
    let both = copy_in(proc, owner, grant, 0, old + new)?;
    let (a, b) = both.split_at(old);
    Ok((check_bytes(a.to_vec())?, check_bytes(b.to_vec())?))
}

/// Whether a process with ids `uid`/`gid` may access `inode` as `want` (R_OK|W_OK|X_OK). Root
/// passes everything except executing a file that nobody may execute.
pub fn permitted(inode: &Inode, uid: u32, gid: u32, want: u32) -> bool {
    if uid == ROOT_UID {
        return want & X_OK == 0 || inode.is_dir() || inode.mode & 0o111 != 0;
    }
    let bits = if uid == inode.uid {
        inode.mode >> 6
    } else if gid == inode.gid {
        inode.mode >> 3
    } else {
        inode.mode
    };
    bits & want & 0o7 == want
}

/// EACCES unless `fp` may access inode `ino` as `want`.
pub fn check_access(state: &mut VfsState, fp: &Fproc, ino: Ino, want: u32) -> Result<(), Errno> {
    let inode = state.inode(ino).ok_or(Errno::ENOENT)?;
    if permitted(inode, fp.uid, fp.gid, want) { Ok(()) } else { Err(Errno::EACCES) }
}

/// A walked path: the directory its last component is in, that component, and what it names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lookup {
    /// The directory holding the last component.
    pub dir: Ino,
    /// The last component (`.` for a path of slashes only, which names the root).
    pub name: Vec<u8>,
    /// The inode the last component names, if it exists.
    pub found: Option<Ino>,
    /// Whether the path ended in a slash (it must name a directory).
    pub trailing_slash: bool,
}

impl Lookup {
    /// The inode named, ENOENT if missing.
    pub fn existing(&self) -> Result<Ino, Errno> {
        self.found.ok_or(Errno::ENOENT)
    }

    /// Whether the last component is `.` or `..`, which no call may create, remove or rename.
    pub fn is_dot_or_dotdot(&self) -> bool {
        self.name == b"." || self.name == b".."
    }
}

/// Looks `name` up in directory `dir` as `fp`: `dir` must be a directory (ENOTDIR) that `fp` may
/// search (EACCES).
fn step(state: &mut VfsState, fp: &Fproc, dir: Ino, name: &[u8]) -> Result<Option<Ino>, Errno> {
    let inode = state.inode(dir).ok_or(Errno::ENOENT)?;
    if !inode.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if !permitted(inode, fp.uid, fp.gid, X_OK) {
        return Err(Errno::EACCES);
    }
    Ok(state.dir_lookup(dir, name))
}

/// Walks `path` as `fp` down to its last component.
pub fn lookup(state: &mut VfsState, fp: &Fproc, path: &[u8]) -> Result<Lookup, Errno> {
    if path.is_empty() {
        return Err(Errno::EINVAL);
    }
    let components: Vec<&[u8]> = path.split(|&b| b == b'/').filter(|c| !c.is_empty()).collect();
    if components.iter().any(|c| c.len() > NAME_MAX) {
        return Err(Errno::ENAMETOOLONG);
    }
    let trailing_slash = path.ends_with(b"/");
    let mut dir = if path[0] == b'/' { ROOT_INO } else { fp.cwd };
    let Some((last, walk)) = components.split_last() else {
        // Only slashes: the root itself, as its own ".".
        let found = step(state, fp, ROOT_INO, b".")?;
        return Ok(Lookup { dir: ROOT_INO, name: b".".to_vec(), found, trailing_slash });
    };
    for name in walk {
        dir = step(state, fp, dir, name)?.ok_or(Errno::ENOENT)?;
    }
    let found = step(state, fp, dir, last)?;
    if trailing_slash
        && let Some(ino) = found
        && !state.live(ino).is_dir()
    {
        return Err(Errno::ENOTDIR);
    }
    Ok(Lookup { dir, name: last.to_vec(), found, trailing_slash })
}

/// Walks `path` as `fp` to the inode it names (ENOENT if missing).
pub fn resolve(state: &mut VfsState, fp: &Fproc, path: &[u8]) -> Result<Ino, Errno> {
    lookup(state, fp, path)?.existing()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::INIT;

    fn tree() -> (VfsState, Fproc, Ino, Ino) {
        let mut s = VfsState::empty();
        s.make_root(0o755);
        let etc = s.make_dir(Some(ROOT_INO), b"etc", 0o755, 0, 0).unwrap();
        let motd = s.make_file(etc, b"motd", 0o644, b"hi").unwrap();
        (s, Fproc::new(INIT), etc, motd)
    }

    #[test]
    fn absolute_relative_dots_and_slashes_resolve_alike() {
        let (mut s, mut fp, etc, motd) = tree();
        for p in ["/etc/motd", "//etc///motd", "/etc/./motd", "/etc/../etc/motd", "/../etc/motd"] {
            assert_eq!(resolve(&mut s, &fp, p.as_bytes()), Ok(motd), "{p}");
        }
        fp.cwd = etc;
        assert_eq!(resolve(&mut s, &fp, b"motd"), Ok(motd));
        assert_eq!(resolve(&mut s, &fp, b".."), Ok(ROOT_INO));
        assert_eq!(resolve(&mut s, &fp, b"/"), Ok(ROOT_INO));
        assert_eq!(resolve(&mut s, &fp, b"etc/"), Err(Errno::ENOENT));
        assert_eq!(resolve(&mut s, &fp, b"/etc/"), Ok(etc));
    }

    #[test]
    fn bad_paths_get_their_errno() {
        let (mut s, mut fp, _, _) = tree();
        assert_eq!(resolve(&mut s, &fp, b"/nope"), Err(Errno::ENOENT));
        assert_eq!(resolve(&mut s, &fp, b"/etc/motd/x"), Err(Errno::ENOTDIR));
        assert_eq!(resolve(&mut s, &fp, b"/etc/motd/"), Err(Errno::ENOTDIR));
        assert_eq!(resolve(&mut s, &fp, b""), Err(Errno::EINVAL));
        assert_eq!(resolve(&mut s, &fp, &[b'a'; NAME_MAX + 1]), Err(Errno::ENAMETOOLONG));
        s.live_mut(ROOT_INO).mode = 0o700;
        fp.uid = 100;
        assert_eq!(resolve(&mut s, &fp, b"/etc"), Err(Errno::EACCES));
    }

    #[test]
    fn permission_bits_pick_owner_group_or_others() {
        let mut inode = Inode::new(super::super::state::InodeKind::Regular, 0o640, 10, 20);
        assert!(permitted(&inode, 10, 99, R_OK | W_OK));
        assert!(permitted(&inode, 11, 20, R_OK));
        assert!(!permitted(&inode, 11, 20, W_OK));
        assert!(!permitted(&inode, 11, 21, R_OK));
        assert!(permitted(&inode, ROOT_UID, 0, R_OK | W_OK));
        assert!(!permitted(&inode, ROOT_UID, 0, X_OK), "root executes only what someone may");
        inode.mode = 0o100;
        assert!(permitted(&inode, ROOT_UID, 0, X_OK));
    }
}

//! Requests from vfs to a file-system server (range 0x200, MINIX's REQ_* of `vfsif.h`): message
//! types, payload layouts, and what both sides share (inode kinds on the wire, the permission rule).
//!
//! Names and paths travel as in MINIX: vfs passes the user's path buffer on to the file system by
//! an indirect grant, and a request names a byte range of it (`grant`, `offset`, `len`). File
//! bytes travel the same way: REQ_READ, REQ_WRITE and REQ_GETDENTS carry an indirect grant of the
//! user's buffer, and the file system safecopies through it. vfs has no memory of its own to
//! grant, so the one small read vfs needs for itself (exec's program header) comes back inline in
//! the reply (REQ_PEEK).
//!
//! References: a lookup with `LOOKUP_TAKE`, a create and a readsuper each give vfs one reference
//! on the inode they return (MINIX's `i_count`); vfs gives references back with REQ_PUTNODE. An
//! inode with neither links nor references is freed. vfs takes a reference only on what it keeps
//! past the request (an open file, a working directory, the mounted root): vfs is single-threaded
//! and the file system's only client, so nothing changes between two requests of one call.

use kernel_sim::msgtype::FS_BASE;
use kernel_sim::{MsgType, payload};

/// Mount the file system as the root: the reply names the root directory (one reference).
pub const REQ_READSUPER: MsgType = FS_BASE;
/// Walk a path from a directory: the reply names what it found (see `LookupRequest`).
pub const REQ_LOOKUP: MsgType = FS_BASE + 0x01;
/// Create a regular file named in a directory: the reply names it (one reference).
pub const REQ_CREATE: MsgType = FS_BASE + 0x02;
/// Make a directory named in a directory.
pub const REQ_MKDIR: MsgType = FS_BASE + 0x03;
/// Remove a name of a file (not a directory) from a directory.
pub const REQ_UNLINK: MsgType = FS_BASE + 0x04;
/// Remove an empty directory named in a directory.
pub const REQ_RMDIR: MsgType = FS_BASE + 0x05;
/// Move a name from one directory to another (`RenameRequest`).
pub const REQ_RENAME: MsgType = FS_BASE + 0x06;
/// Give an inode one more name (`LinkRequest`).
pub const REQ_LINK: MsgType = FS_BASE + 0x07;
/// Read a file's bytes into a granted buffer; the reply's status is the byte count.
pub const REQ_READ: MsgType = FS_BASE + 0x08;
/// Write a granted buffer into a file; the reply carries the count and the new size.
pub const REQ_WRITE: MsgType = FS_BASE + 0x09;
/// Cut or extend a file to a size.
pub const REQ_FTRUNC: MsgType = FS_BASE + 0x0A;
/// An inode's attributes (`proto::vfs::StatReply`).
pub const REQ_STAT: MsgType = FS_BASE + 0x0B;
/// Change an inode's permission bits (owner or root only).
pub const REQ_CHMOD: MsgType = FS_BASE + 0x0C;
/// Change an inode's owner and group (root only).
pub const REQ_CHOWN: MsgType = FS_BASE + 0x0D;
/// A directory's entries as getdents records into a granted buffer, from a position.
pub const REQ_GETDENTS: MsgType = FS_BASE + 0x0E;
/// Give back references on an inode.
pub const REQ_PUTNODE: MsgType = FS_BASE + 0x0F;
/// At most PEEK_MAX bytes of a file, in the reply (exec's program header).
pub const REQ_PEEK: MsgType = FS_BASE + 0x10;
/// The file system's totals: block size, blocks, inodes, free ones (`proto::vfs::StatvfsReply`).
pub const REQ_STATVFS: MsgType = FS_BASE + 0x11;
/// Make a symbolic link named in a directory (`SlinkRequest`).
pub const REQ_SLINK: MsgType = FS_BASE + 0x12;
/// A symbolic link's target into a granted buffer (`IoRequest`); the status is the byte count.
pub const REQ_RDLINK: MsgType = FS_BASE + 0x13;
/// Write every dirty block back to the disk (fsync, sync); EIO when the driver refused a block
/// (it stays dirty, in the cache). Carries nothing.
pub const REQ_SYNC: MsgType = FS_BASE + 0x14;
/// Set an inode's access and modification times, and its change time to now (`UtimeRequest`;
/// vfs checked that the caller may).
pub const REQ_UTIME: MsgType = FS_BASE + 0x15;
/// Make a file of a type other than a directory or a link named in a directory (`EntryRequest`,
/// its `mode` holding the `S_IFMT` type bits): a regular file, as MINIX's REQ_MKNOD.
pub const REQ_MKNOD: MsgType = FS_BASE + 0x16;
/// Unmount (MINIX's REQ_UNMOUNT, at reboot): EBUSY while vfs holds any reference but the mount's
/// on the root; otherwise what is dirty is written back, the root's reference given back and the
/// disk closed. Carries nothing.
pub const REQ_UNMOUNT: MsgType = FS_BASE + 0x17;

/// The absolute path of a directory into a granted buffer (`PathnameRequest`): getcwd's walk up
/// `..`, done where the directories are. Far from the other requests' numbers so that the file
/// system's calls added beside it on other branches do not collide.
pub const REQ_PATHNAME: MsgType = FS_BASE + 0x20;

/// The most bytes REQ_PEEK returns: the reply's payload less its count.
pub const PEEK_MAX: usize = 48;

/// Lookup flags.
pub mod lookup {
    /// Stop at the directory holding the last component (MINIX's last_dir): the reply names that
    /// directory, and the last component's inode if it exists.
    pub const PARENT: u32 = 1;
    /// Take a reference on the inode found (what vfs keeps past the request).
    pub const TAKE: u32 = 2;
    /// Do not follow the last component if it is a symbolic link (lstat, readlink, and every
    /// call that names the link itself: unlink, rename...). Links on the way are followed; a
    /// followed last component that names nothing is ENOENT, even with PARENT (nothing is made
    /// through a dangling link).
    pub const NOFOLLOW: u32 = 4;
}

/// Flags of the requests that name a directory entry.
pub mod entry {
    /// The entry's inode is some process's working directory (vfs knows; rmdir and rename refuse
    /// to remove one with EBUSY, in their place among the other checks).
    pub const BUSY: u32 = 1;
    /// The path named ended in a slash (it must name a directory).
    pub const TRAILING_SLASH: u32 = 2;
}

/// An inode's kind on the wire (`proto::vfs::kind` values: a file system holds no pipes).
pub use super::vfs::kind;

payload! {
    /// Requests naming one inode: REQ_STAT; REQ_PUTNODE gives back `count` references; REQ_FTRUNC
    /// sets the size to `size`; REQ_CHMOD sets permission bits `mode`, REQ_CHOWN owner `uid` and
    /// group `gid` (vfs checked the caller may, as MINIX's vfs does). REQ_READSUPER and
    /// REQ_STATVFS carry nothing.
    pub struct InodeRequest { pub ino: u32, pub count: u32, pub mode: u32, pub uid: u32, pub gid: u32, pub size: u64 }
}
payload! {
    /// REQ_LOOKUP: walk `[offset, offset+len)` of the path under `grant` from directory `dir` (a
    /// path starting with a slash starts from `root`), as `uid`/`gid` (search permission on every
    /// directory crossed), with `lookup::*` flags.
    pub struct LookupRequest { pub grant: u32, pub offset: u32, pub len: u32, pub dir: u32, pub root: u32, pub uid: u32, pub gid: u32, pub flags: u32 }
}
payload! {
    /// The inode a lookup, a create or a readsuper names, with the attributes vfs caches in its
    /// vnode. After a PARENT lookup, `dir` is the directory holding the last component, whose name
    /// is `[last_offset, last_offset+last_len)` of the request's range (len 0: the path was only
    /// slashes, the name is `.`), `ino` what it names (0: nothing) and `trailing_slash` 1 when the
    /// path ended in a slash. `rdev` is a special file's device number.
    pub struct NodeReply { pub dir: u32, pub ino: u32, pub kind: u32, pub mode: u32, pub uid: u32, pub gid: u32, pub size: u64, pub last_offset: u32, pub last_len: u32, pub trailing_slash: u32, pub rdev: u32 }
}
payload! {
    /// REQ_CREATE, REQ_MKDIR, REQ_UNLINK, REQ_RMDIR: the entry `[offset, offset+len)` under
    /// `grant` in directory `dir`, as `uid`/`gid`, with permission bits `mode` (create, mkdir;
    /// mknod's type bits too) and `entry::*` flags; `dev` is mknod's device number.
    pub struct EntryRequest { pub dir: u32, pub grant: u32, pub offset: u32, pub len: u32, pub uid: u32, pub gid: u32, pub mode: u32, pub flags: u32, pub dev: u32 }
}
payload! {
    /// REQ_SLINK: a symbolic link named `[name_offset, +name_len)` in `dir`, whose target is
    /// `[target_offset, +target_len)`, both under `grant`, owned by `uid`/`gid`.
    pub struct SlinkRequest { pub dir: u32, pub grant: u32, pub name_offset: u16, pub name_len: u16, pub target_offset: u16, pub target_len: u16, pub uid: u32, pub gid: u32 }
}
payload! {
    /// REQ_LINK: a new entry for inode `ino`, named `[offset, offset+len)` under `grant` in `dir`.
    pub struct LinkRequest { pub ino: u32, pub dir: u32, pub grant: u32, pub offset: u32, pub len: u32, pub uid: u32, pub gid: u32, pub flags: u32 }
}
payload! {
    /// REQ_RENAME: entry `old` of `old_dir` becomes `new` of `new_dir`; both names are ranges
    /// under one grant (u16 offsets and lengths: a path is at most PATH_MAX bytes).
    pub struct RenameRequest { pub old_dir: u32, pub new_dir: u32, pub grant: u32, pub old_offset: u16, pub old_len: u16, pub new_offset: u16, pub new_len: u16, pub uid: u32, pub gid: u32, pub flags: u32 }
}
payload! {
    /// REQ_UTIME: inode `ino`'s new access and modification times as utimens gave them (seconds
    /// and nanoseconds, the nanoseconds UTIME_NOW or UTIME_OMIT; vfs checked the ranges), as
    /// MINIX's fs_utime takes them.
    pub struct UtimeRequest { pub ino: u32, pub atime_nsec: u32, pub mtime_nsec: u32, pub atime_sec: i64, pub mtime_sec: i64 }
}
payload! {
    /// REQ_PATHNAME: the path of directory `dir` from `root` (no NUL; `/` for the root itself)
    /// into the buffer under `grant`, at most `len` bytes; the reply's status is its length.
    /// ERANGE when `len` is too small, ENAMETOOLONG past PATH_MAX, ENOENT for a removed directory.
    pub struct PathnameRequest { pub dir: u32, pub root: u32, pub grant: u32, pub len: u64 }
}
payload! {
    /// REQ_READ, REQ_WRITE, REQ_GETDENTS, REQ_PEEK: `len` bytes at position `pos` of inode `ino`,
    /// to or from the buffer under `grant` (none for REQ_PEEK).
    pub struct IoRequest { pub ino: u32, pub grant: u32, pub pos: u64, pub len: u64 }
}
payload! {
    /// REQ_READ, REQ_WRITE, REQ_GETDENTS reply: bytes moved, the file's size after, and for
    /// getdents the position the next call resumes at.
    pub struct IoReply { pub count: u64, pub size: u64, pub pos: u64 }
}

/// REQ_PEEK's reply: the count in the status, the bytes in the payload.
pub fn peek_reply(bytes: &[u8]) -> kernel_sim::Message {
    assert!(bytes.len() <= PEEK_MAX, "a peek fits the reply");
    let mut m = kernel_sim::Message::new(bytes.len() as i32);
    m.payload[..bytes.len()].copy_from_slice(bytes);
    m
}

/// Permission to read (MINIX's R_BIT).
pub const R_OK: u32 = 4;
/// Permission to write.
pub const W_OK: u32 = 2;
/// Permission to execute a file or search a directory.
pub const X_OK: u32 = 1;
/// The uid of the superuser, who passes every permission check but execute-with-no-x-bit.
pub const ROOT_UID: u32 = 0;

/// Whether a process with ids `uid`/`gid` may access a file of permission bits `mode`, owner
/// `owner`/`group`, as `want` (R_OK|W_OK|X_OK). Root passes everything except executing a file
/// that nobody may execute. vfs (open, chdir, exec) and the file system (path walks, creation,
/// removal) apply the same rule.
pub fn permitted(mode: u32, owner: u32, group: u32, is_dir: bool, uid: u32, gid: u32, want: u32) -> bool {
    if uid == ROOT_UID {
        return want & X_OK == 0 || is_dir || mode & 0o111 != 0;
    }
    let bits = if uid == owner {
        mode >> 6
    } else if gid == group {
        mode >> 3
    } else {
        mode
    };
    bits & want & 0o7 == want
}

/// The name of a file-system request.
pub fn name(t: MsgType) -> Option<&'static str> {
    Some(match t {
        REQ_READSUPER => "req_readsuper",
        REQ_LOOKUP => "req_lookup",
        REQ_CREATE => "req_create",
        REQ_MKDIR => "req_mkdir",
        REQ_UNLINK => "req_unlink",
        REQ_RMDIR => "req_rmdir",
        REQ_RENAME => "req_rename",
        REQ_LINK => "req_link",
        REQ_READ => "req_read",
        REQ_WRITE => "req_write",
        REQ_FTRUNC => "req_ftrunc",
        REQ_STAT => "req_stat",
        REQ_CHMOD => "req_chmod",
        REQ_CHOWN => "req_chown",
        REQ_GETDENTS => "req_getdents",
        REQ_PUTNODE => "req_putnode",
        REQ_PEEK => "req_peek",
        REQ_STATVFS => "req_statvfs",
        REQ_SLINK => "req_slink",
        REQ_RDLINK => "req_rdlink",
        REQ_SYNC => "req_sync",
        REQ_UTIME => "req_utime",
        REQ_MKNOD => "req_mknod",
        REQ_UNMOUNT => "req_unmount",
        REQ_PATHNAME => "req_pathname",
        _ => return None,
    })
}

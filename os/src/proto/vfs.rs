//! Calls to vfs (range 0x100): message types, payload layouts, open flags, and the two byte
//! formats that cross the grant boundary (path buffers and getdents records).
//!
//! Paths travel in the caller's memory under a read grant: `PathRequest` names one, of `len`
//! bytes, no terminating NUL (a NUL inside is EINVAL). link and rename name two paths in one grant,
//! back to back: the old path in `[0, old_len)`, the new one in `[old_len, old_len + new_len)`.
//!
//! getdents fills the caller's buffer with whole records, one per directory entry, in directory
//! order, and returns the number of bytes used (0 at the end of the directory):
//!
//! ```text
//! offset 0: ino       u32, little-endian
//! offset 4: name_len  u8   (1..=NAME_MAX)
//! offset 5: name      name_len bytes, no NUL
//! ```
//!
//! A buffer too small for the next record is EINVAL. The open file's offset remembers where the
//! next getdents resumes, so a directory is listed by calling getdents until it returns 0.

use kernel_sim::msgtype::VFS_BASE;
use kernel_sim::{MsgType, payload};

/// open(path, flags, mode).
pub const VFS_OPEN: MsgType = VFS_BASE + 0x01;
/// close(fd).
pub const VFS_CLOSE: MsgType = VFS_BASE + 0x03;
/// read(fd, buf, len).
pub const VFS_READ: MsgType = VFS_BASE + 0x04;
/// write(fd, buf, len).
pub const VFS_WRITE: MsgType = VFS_BASE + 0x05;
/// lseek(fd, offset, whence).
pub const VFS_LSEEK: MsgType = VFS_BASE + 0x06;
/// unlink(path).
pub const VFS_UNLINK: MsgType = VFS_BASE + 0x07;
/// mkdir(path, mode).
pub const VFS_MKDIR: MsgType = VFS_BASE + 0x08;
/// rmdir(path).
pub const VFS_RMDIR: MsgType = VFS_BASE + 0x09;
/// stat(path).
pub const VFS_STAT: MsgType = VFS_BASE + 0x0A;
/// fstat(fd).
pub const VFS_FSTAT: MsgType = VFS_BASE + 0x0B;
/// dup(fd).
pub const VFS_DUP: MsgType = VFS_BASE + 0x0C;
/// dup2(fd, fd2).
pub const VFS_DUP2: MsgType = VFS_BASE + 0x0D;
/// pipe().
pub const VFS_PIPE: MsgType = VFS_BASE + 0x0E;
/// getdents(fd, buf, len).
pub const VFS_GETDENTS: MsgType = VFS_BASE + 0x0F;
/// chdir(path).
pub const VFS_CHDIR: MsgType = VFS_BASE + 0x10;
/// link(old, new): both paths in one grant (`TwoPathRequest`).
pub const VFS_LINK: MsgType = VFS_BASE + 0x11;
/// rename(old, new): both paths in one grant (`TwoPathRequest`).
pub const VFS_RENAME: MsgType = VFS_BASE + 0x12;
/// fcntl(fd, cmd, arg): duplicate a descriptor, read or set its flags (FD_CLOEXEC) or its open
/// file's status flags (O_APPEND, O_NONBLOCK). `FcntlRequest`; the reply's status is the answer.
pub const VFS_FCNTL: MsgType = VFS_BASE + 0x20;
/// umask(mask): set the caller's file-creation mask; the reply's status is the old mask.
pub const VFS_UMASK: MsgType = VFS_BASE + 0x21;
/// pipe2(flags): pipe() with O_CLOEXEC and O_NONBLOCK (`FlagsRequest`; reply `PipeReply`).
pub const VFS_PIPE2: MsgType = VFS_BASE + 0x22;
/// fchdir(fd): work in the directory a descriptor is open on.
pub const VFS_FCHDIR: MsgType = VFS_BASE + 0x23;
/// poll(fds, nfds, timeout): readiness of descriptors, waiting up to a timeout (`PollRequest`,
/// the `pollfd` array in the caller's memory; format in [`poll`]).
pub const VFS_POLL: MsgType = VFS_BASE + 0x24;
/// getcwd(buf, len): the working directory's path, written into the caller's buffer under a write
/// grant (`IoRequest`, `fd` unused); the reply's status is its length (no NUL).
pub const VFS_GETCWD: MsgType = VFS_BASE + 0x25;
/// flock(fd, op): a whole-file advisory lock on the descriptor's open file (`FlockRequest`,
/// operations in [`flock`]). MINIX's libc builds flock on fcntl's record locks; samsara keeps BSD's
/// semantics: the lock belongs to the open file and goes when its last descriptor closes.
pub const VFS_FLOCK: MsgType = VFS_BASE + 0x26;
/// chmod: new permission bits for the file a path names (`PathAttrRequest`).
pub const VFS_CHMOD: MsgType = VFS_BASE + 0x50;
/// fchmod: new permission bits for the file a descriptor is open on (`FdAttrRequest`).
pub const VFS_FCHMOD: MsgType = VFS_BASE + 0x51;
/// chown: a new owner and group (`KEEP_ID`: unchanged) for the file a path names.
pub const VFS_CHOWN: MsgType = VFS_BASE + 0x52;
/// fchown: a new owner and group for the file a descriptor is open on.
pub const VFS_FCHOWN: MsgType = VFS_BASE + 0x53;
/// truncate: a new size for the regular file a path names.
pub const VFS_TRUNCATE: MsgType = VFS_BASE + 0x54;
/// ftruncate: a new size for the regular file a descriptor is open on for writing.
pub const VFS_FTRUNCATE: MsgType = VFS_BASE + 0x55;
/// access: whether the caller may read, write or execute (`mode`: R_OK|W_OK|X_OK, or F_OK for
/// existence) the file a path names.
pub const VFS_ACCESS: MsgType = VFS_BASE + 0x56;
/// statvfs: the totals of the file system a path is on (`StatvfsReply`).
pub const VFS_STATVFS: MsgType = VFS_BASE + 0x57;
/// fstatvfs: the totals of the file system a descriptor's file is on.
pub const VFS_FSTATVFS: MsgType = VFS_BASE + 0x58;

/// symlink(target, linkpath): both paths in one grant (`TwoPathRequest`, the target first).
pub const VFS_SYMLINK: MsgType = VFS_BASE + 0x59;
/// readlink: a symbolic link's target into the caller's buffer (`ReadlinkRequest`); the reply's
/// status is the byte count.
pub const VFS_READLINK: MsgType = VFS_BASE + 0x5A;
/// lstat: the attributes of what a path names, a symbolic link itself rather than its target.
pub const VFS_LSTAT: MsgType = VFS_BASE + 0x5B;
/// fsync(fd): the file system writes the file's data back to its disk (`FdAttrRequest`; MINIX's
/// file systems write back everything dirty, and so does mfs). fdatasync is the same call.
pub const VFS_FSYNC: MsgType = VFS_BASE + 0x5C;
/// sync: every mounted file system writes back what is dirty. Carries nothing; always 0.
pub const VFS_SYNC: MsgType = VFS_BASE + 0x5D;
/// getvfsstat(buf, len, flags): the totals of every mounted file system, `StatvfsReply`
/// layouts one after another into `len` bytes of `grant` (`GetvfsstatRequest`; `len` 0: none
/// written); the status is how many were written, or with `len` 0 how many are mounted. `flags`
/// is ST_WAIT or ST_NOWAIT (EINVAL otherwise).
pub const VFS_GETVFSSTAT: MsgType = VFS_BASE + 0x5E;
/// utimensat(AT_FDCWD, path, times, flags) and futimens(fd, times): a file's access and
/// modification times (`UtimensRequest`: a path when `len` > 0, else descriptor `fd`).
pub const VFS_UTIMENS: MsgType = VFS_BASE + 0x5F;
/// mknod(path, mode, dev): a new file of the type in `mode`'s `S_IFMT` bits (`MknodRequest`).
pub const VFS_MKNOD: MsgType = VFS_BASE + 0x60;
/// mmap(NULL, len, prot, flags, fd, offset): a mapping of a file's bytes (`MmapFileRequest`;
/// reply `proto::vm::MmapReply`). Anonymous memory is vm's (VM_MMAP); a file's is entered here,
/// where its descriptor is.
pub const VFS_MMAP: MsgType = VFS_BASE + 0x61;
/// getvfsstat's flags: refresh the totals first (ST_WAIT) or give the last known (ST_NOWAIT);
/// samsara's are always current.
pub const ST_WAIT: u32 = 1;
/// See [`ST_WAIT`].
pub const ST_NOWAIT: u32 = 2;

/// The working directory, as a directory descriptor (POSIX's `AT_FDCWD`, Linux's value).
pub const AT_FDCWD: i32 = -100;
/// Nanoseconds in a second: a time's nanosecond count is below it.
pub const NANOS_PER_SECOND: u32 = 1_000_000_000;

/// utimens's special nanosecond values: set the time to now, or leave it as it is (POSIX's).
pub mod utime {
    /// The time becomes the current time.
    pub const UTIME_NOW: u32 = (1 << 30) - 1;
    /// The time stays as it is.
    pub const UTIME_OMIT: u32 = (1 << 30) - 2;
    /// Do not follow a symbolic link the path ends in (the only flag utimensat takes).
    pub const AT_SYMLINK_NOFOLLOW: u32 = 0x200;

    /// Whether `nsec` is a time's nanoseconds utimens takes: below a second, or one of the two
    /// special values.
    pub fn valid_nsec(nsec: u32) -> bool {
        nsec < super::NANOS_PER_SECOND || nsec == UTIME_NOW || nsec == UTIME_OMIT
    }
}

/// mknod's file types, the `S_IFMT` bits of its mode (POSIX's values).
pub mod file_type {
    /// The bits that hold the type.
    pub const S_IFMT: u32 = 0o170000;
    /// A named pipe.
    pub const S_IFIFO: u32 = 0o010000;
    /// A character device.
    pub const S_IFCHR: u32 = 0o020000;
    /// A directory.
    pub const S_IFDIR: u32 = 0o040000;
    /// A block device.
    pub const S_IFBLK: u32 = 0o060000;
    /// A regular file.
    pub const S_IFREG: u32 = 0o100000;
}

/// chown's owner or group that stays as it is (POSIX's `(uid_t)-1`).
pub const KEEP_ID: u32 = u32::MAX;
/// access's test of existence alone.
pub const F_OK: u32 = 0;

/// The longest name of one directory entry, in bytes: a directory entry is 64 bytes on disk, 4 of
/// them the inode number (MINIX V3's `struct direct`).
pub const NAME_MAX: usize = 60;

/// Bytes of a getdents record before its name: inode number (4) and name length (1).
pub const DIRENT_HEADER: usize = 5;

/// open flags (MINIX/POSIX values).
pub mod flags {
    /// Read only.
    pub const O_RDONLY: u32 = 0o0;
    /// Write only.
    pub const O_WRONLY: u32 = 0o1;
    /// Read and write.
    pub const O_RDWR: u32 = 0o2;
    /// The access-mode bits.
    pub const O_ACCMODE: u32 = 0o3;
    /// Create if missing.
    pub const O_CREAT: u32 = 0o100;
    /// With O_CREAT: fail if it exists.
    pub const O_EXCL: u32 = 0o200;
    /// Truncate to zero length.
    pub const O_TRUNC: u32 = 0o1000;
    /// Every write goes to the end.
    pub const O_APPEND: u32 = 0o2000;
    /// Reads and writes that would wait fail with EAGAIN instead (pipes).
    pub const O_NONBLOCK: u32 = 0o4000;
    /// Fail unless a directory.
    pub const O_DIRECTORY: u32 = 0o200000;
    /// The new descriptor is closed when exec succeeds (open, pipe2).
    pub const O_CLOEXEC: u32 = 0o2000000;
    /// The status flags F_SETFL may change; the others (access mode, creation flags) stay.
    pub const SETFL_MASK: u32 = O_APPEND | O_NONBLOCK;
}

/// fcntl commands and descriptor flags (POSIX names; Linux's values, as strace logs show them).
pub mod fcntl {
    /// Duplicate onto the lowest free descriptor at or above `arg`.
    pub const F_DUPFD: u32 = 0;
    /// The descriptor's flags (FD_CLOEXEC).
    pub const F_GETFD: u32 = 1;
    /// Set the descriptor's flags to `arg`.
    pub const F_SETFD: u32 = 2;
    /// The open file's access mode and status flags.
    pub const F_GETFL: u32 = 3;
    /// Set the open file's status flags (O_APPEND, O_NONBLOCK) to `arg`.
    pub const F_SETFL: u32 = 4;
    /// F_DUPFD, the new descriptor closed on exec.
    pub const F_DUPFD_CLOEXEC: u32 = 1030;
    /// The descriptor flag: close when exec succeeds.
    pub const FD_CLOEXEC: i32 = 1;
}

/// flock operations (BSD's values).
pub mod flock {
    /// A shared lock.
    pub const LOCK_SH: u32 = 1;
    /// An exclusive lock.
    pub const LOCK_EX: u32 = 2;
    /// With LOCK_SH or LOCK_EX: fail with EWOULDBLOCK (EAGAIN) instead of waiting.
    pub const LOCK_NB: u32 = 4;
    /// Release the lock.
    pub const LOCK_UN: u32 = 8;
}

/// poll's `pollfd` records and event bits (Linux's values).
///
/// The caller's array holds `nfds` records of [`POLLFD_SIZE`] bytes, little-endian:
///
/// ```text
/// offset 0: fd       i32  (negative: ignored, revents 0)
/// offset 4: events   i16  (what the caller waits for)
/// offset 6: revents  i16  (written by vfs: what is ready; POLLHUP, POLLERR, POLLNVAL always)
/// ```
pub mod poll {
    /// Bytes of one `pollfd` record.
    pub const POLLFD_SIZE: usize = 8;
    /// Data to read (or end of file).
    pub const POLLIN: u16 = 0x001;
    /// Urgent data: never, here.
    pub const POLLPRI: u16 = 0x002;
    /// Room to write.
    pub const POLLOUT: u16 = 0x004;
    /// An error: the write end of a pipe with no reader left.
    pub const POLLERR: u16 = 0x008;
    /// Hang-up: the read end of a pipe with no writer left.
    pub const POLLHUP: u16 = 0x010;
    /// Not an open descriptor.
    pub const POLLNVAL: u16 = 0x020;
    /// As POLLIN.
    pub const POLLRDNORM: u16 = 0x040;
    /// As POLLOUT.
    pub const POLLWRNORM: u16 = 0x100;
    /// Wait without a timeout (any negative timeout does).
    pub const INFTIM: i32 = -1;
}

/// lseek whence values.
pub mod whence {
    /// From the start.
    pub const SEEK_SET: u32 = 0;
    /// From the current offset.
    pub const SEEK_CUR: u32 = 1;
    /// From the end.
    pub const SEEK_END: u32 = 2;
}

/// File types in `StatReply::kind`.
pub mod kind {
    /// A regular file.
    pub const REGULAR: u32 = 1;
    /// A directory.
    pub const DIRECTORY: u32 = 2;
    /// A pipe.
    pub const FIFO: u32 = 3;
    /// A symbolic link (lstat; every other call follows it).
    pub const SYMLINK: u32 = 4;
    /// A character special file (mknod S_IFCHR): its driver's device.
    pub const CHAR_DEVICE: u32 = 5;
    /// A block special file (mknod S_IFBLK).
    pub const BLOCK_DEVICE: u32 = 6;
}

/// Permission bits of `StatReply::mode` beyond rwx.
pub mod mode {
    /// Sticky directory: only a file's owner (or the directory's, or root) may remove it.
    pub const S_ISVTX: u32 = 0o1000;
    /// Every permission bit a file keeps (rwx for owner, group, others, and sticky).
    pub const PERM_MASK: u32 = 0o1777;
}

payload! {
    /// Calls naming a path in the caller's memory under a read grant, with flags and a mode
    /// (open, unlink, mkdir, rmdir, stat, chdir).
    pub struct PathRequest { pub grant: u32, pub len: u32, pub flags: u32, pub mode: u32 }
}
payload! {
    /// link and rename: two paths back to back under one read grant.
    pub struct TwoPathRequest { pub grant: u32, pub old_len: u32, pub new_len: u32 }
}
payload! {
    /// Calls naming a descriptor (close, fstat, dup).
    pub struct FdRequest { pub fd: i32 }
}
payload! {
    /// dup2.
    pub struct Dup2Request { pub fd: i32, pub fd2: i32 }
}
payload! {
    /// read, write, getdents: a buffer of `len` bytes in the caller's memory under a grant (write
    /// access for read and getdents, read access for write). The reply's status is the byte count.
    pub struct IoRequest { pub fd: i32, pub grant: u32, pub len: u64 }
}
payload! {
    /// fcntl: the descriptor, the command (`fcntl::F_*`) and its argument.
    pub struct FcntlRequest { pub fd: i32, pub cmd: u32, pub arg: i32 }
}
payload! {
    /// Calls taking flags or a mask only (umask, pipe2).
    pub struct FlagsRequest { pub flags: u32 }
}
payload! {
    /// flock: the descriptor and the operation (`flock::LOCK_*`).
    pub struct FlockRequest { pub fd: i32, pub op: u32 }
}
payload! {
    /// poll: `nfds` records (format in [`poll`]) under a read-write grant, and the timeout in
    /// milliseconds (0: check and return; negative: wait without one). The reply's status is the
    /// number of records with revents set.
    pub struct PollRequest { pub grant: u32, pub nfds: u32, pub timeout_ms: i32 }
}
payload! {
    /// lseek.
    pub struct SeekRequest { pub fd: i32, pub offset: i64, pub whence: u32 }
}
payload! {
    /// lseek reply: the new offset.
    pub struct SeekReply { pub offset: i64 }
}
payload! {
    /// pipe reply: read end, write end.
    pub struct PipeReply { pub read_fd: i32, pub write_fd: i32 }
}
payload! {
    /// chmod (`mode`), chown (`uid`, `gid`), truncate (`size`), access (`mode`): a path in the
    /// caller's memory under a read grant, and the attributes to set or test.
    pub struct PathAttrRequest { pub grant: u32, pub len: u32, pub mode: u32, pub uid: u32, pub gid: u32, pub size: i64 }
}
payload! {
    /// readlink: the path under a read grant, the buffer under a write grant.
    pub struct ReadlinkRequest { pub grant: u32, pub len: u32, pub buf_grant: u32, pub buf_len: u64 }
}
payload! {
    /// fchmod, fchown, ftruncate: a descriptor and the attributes to set.
    pub struct FdAttrRequest { pub fd: i32, pub mode: u32, pub uid: u32, pub gid: u32, pub size: i64 }
}
payload! {
    /// statvfs and fstatvfs reply: block size, longest name, blocks and inodes in all and free.
    pub struct StatvfsReply { pub bsize: u32, pub namemax: u32, pub blocks: u64, pub bfree: u64, pub files: u64, pub ffree: u64 }
}
payload! {
    /// getvfsstat.
    pub struct GetvfsstatRequest { pub grant: u32, pub flags: u32, pub len: u64 }
}
payload! {
    /// stat and fstat reply. Times are microseconds since the Epoch: access (`atime`), data
    /// modification (`mtime`) and attribute change (`ctime`); `rdev` is a special file's device
    /// number (`proto::cdev::dev`), 0 for anything else. The fields are sized to fit the 56-byte
    /// payload (a kind is a small number, a link count at most LINK_MAX, permission bits 12).
    pub struct StatReply { pub ino: u32, pub kind: u8, pub nlink: u8, pub mode: u16, pub uid: u32, pub gid: u32, pub blocks: u32, pub rdev: u32, pub size: u64, pub atime: i64, pub mtime: i64, pub ctime: i64 }
}
payload! {
    /// utimens: the file a path names (`grant`, `len` > 0; `flags` may hold AT_SYMLINK_NOFOLLOW)
    /// or descriptor `fd` is open on (`len` 0); each time in seconds and nanoseconds, the
    /// nanoseconds UTIME_NOW or UTIME_OMIT for the current time or none.
    pub struct UtimensRequest { pub fd: i32, pub grant: u32, pub len: u32, pub flags: u32, pub atime_sec: i64, pub atime_nsec: u32, pub mtime_sec: i64, pub mtime_nsec: u32 }
}
payload! {
    /// mknod: the path under `grant`, the type and permission bits in `mode`, the device number
    /// `dev` of a device file.
    pub struct MknodRequest { pub grant: u32, pub len: u32, pub mode: u32, pub dev: u32 }
}
payload! {
    /// mmap of a file: `len` bytes of descriptor `fd`'s file from `offset` (page-aligned), with
    /// protection `prot` (`proto::vm::prot`) and sharing `flags` ([`map`]).
    pub struct MmapFileRequest { pub fd: i32, pub offset: u64, pub len: u64, pub prot: u32, pub flags: u32 }
}

/// mmap's sharing flags (POSIX names, Linux's values): exactly one of them.
pub mod map {
    /// Changes are the file's, and the file's changes the mapping's.
    pub const MAP_SHARED: u32 = 0x01;
    /// A private copy: changes stay in the mapping.
    pub const MAP_PRIVATE: u32 = 0x02;
    /// The bits that say which of the two.
    pub const MAP_TYPE: u32 = 0x0F;
}

/// The name of a vfs message type.
pub fn name(t: MsgType) -> Option<&'static str> {
    Some(match t {
        VFS_OPEN => "open",
        VFS_CLOSE => "close",
        VFS_READ => "read",
        VFS_WRITE => "write",
        VFS_LSEEK => "lseek",
        VFS_UNLINK => "unlink",
        VFS_MKDIR => "mkdir",
        VFS_RMDIR => "rmdir",
        VFS_STAT => "stat",
        VFS_FSTAT => "fstat",
        VFS_DUP => "dup",
        VFS_DUP2 => "dup2",
        VFS_PIPE => "pipe",
        VFS_GETDENTS => "getdents",
        VFS_CHDIR => "chdir",
        VFS_LINK => "link",
        VFS_RENAME => "rename",
        VFS_FCNTL => "fcntl",
        VFS_UMASK => "umask",
        VFS_PIPE2 => "pipe2",
        VFS_FCHDIR => "fchdir",
        VFS_POLL => "poll",
        VFS_GETCWD => "getcwd",
        VFS_FLOCK => "flock",
        VFS_CHMOD => "chmod",
        VFS_FCHMOD => "fchmod",
        VFS_CHOWN => "chown",
        VFS_FCHOWN => "fchown",
        VFS_TRUNCATE => "truncate",
        VFS_FTRUNCATE => "ftruncate",
        VFS_ACCESS => "access",
        VFS_STATVFS => "statvfs",
        VFS_FSTATVFS => "fstatvfs",
        VFS_SYMLINK => "symlink",
        VFS_READLINK => "readlink",
        VFS_LSTAT => "lstat",
        VFS_FSYNC => "fsync",
        VFS_SYNC => "sync",
        VFS_GETVFSSTAT => "getvfsstat",
        VFS_UTIMENS => "utimens",
        VFS_MKNOD => "mknod",
        VFS_MMAP => "mmap",
        _ => return None,
    })
}

//! File-system calls (to vfs): open, creat, close, read, write (and their raw-address forms
//! `read_at`/`write_at`), lseek, unlink, mkdir, rmdir, stat, fstat, dup, dup2, pipe, getdents,
//! chdir, link, rename, fcntl, umask, pipe2, fchdir, getcwd, poll, flock, chmod, fchmod, chown,
//! fchown, truncate, ftruncate, access, statvfs, fstatvfs, symlink, readlink, lstat.
//!
//! Paths are staged at the start of the scratch buffer (two paths back to back for link and
//! rename); data between DATA_OFFSET and the end of the scratch buffer, so large transfers loop
//! over chunks. Each call grants vfs exactly the bytes it may touch, and revokes the grant after
//! (`Lent`): a read of an empty pipe may block for ever, and a process killed there is unwound
//! with the grant still lent.

use super::Sys;
use super::time::Timespec;
use kernel_sim::memory::{Access, GrantId};
use kernel_sim::{Message, Proc};
use os::errno::Errno;
use os::proto::VFS;
use os::proto::vfs::flags::{O_CREAT, O_TRUNC, O_WRONLY};
use os::proto::vfs::*;
use os::proto::vm::layout::SCRATCH_LEN;

/// Where data is staged in the scratch buffer: paths use the bytes below.
const DATA_OFFSET: u64 = 4096;
/// The most bytes one read or write moves through the scratch buffer.
const CHUNK: u64 = SCRATCH_LEN - DATA_OFFSET;

/// A grant to vfs for the length of one call. It is revoked when dropped, unless the process is
/// being unwound (killed while blocked in the call): then the grant dies with the process, and the
/// kernel may not be entered again.
struct Lent<'a> {
    proc: &'a Proc,
    id: GrantId,
}

impl<'a> Lent<'a> {
    fn new(proc: &'a Proc, addr: u64, len: u64, access: Access) -> Lent<'a> {
        Lent { proc, id: proc.grant(VFS, addr, len, access) }
    }
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.proc.revoke(self.id);
        }
    }
}

/// What stat and fstat return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    /// Inode number.
    pub ino: u32,
    /// File type (`proto::vfs::kind`).
    pub kind: u32,
    /// Permission bits.
    pub mode: u32,
    /// Links to it.
    pub nlink: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// A special file's device number (`proto::cdev::dev`), 0 for anything else.
    pub rdev: u32,
    /// Bytes.
    pub size: u64,
    /// Blocks in use.
    pub blocks: u64,
    /// Last access (set at creation and by utimens: the file system is mounted `noatime`).
    pub atime: Timespec,
    /// Last modification of the data.
    pub mtime: Timespec,
    /// Last change of the file's attributes or data.
    pub ctime: Timespec,
}

impl From<StatReply> for Stat {
    fn from(r: StatReply) -> Stat {
        Stat {
            ino: r.ino,
            kind: r.kind.into(),
            mode: r.mode.into(),
            nlink: r.nlink.into(),
            uid: r.uid,
            gid: r.gid,
            rdev: r.rdev,
            size: r.size,
            blocks: r.blocks.into(),
            atime: Timespec::from_micros(r.atime),
            mtime: Timespec::from_micros(r.mtime),
            ctime: Timespec::from_micros(r.ctime),
        }
    }
}

/// A time utimensat and futimens set: its nanoseconds on the wire (`UTIME_NOW` and `UTIME_OMIT`
/// pass as they are; anything else out of range as a count vfs refuses with EINVAL).
fn wire_nsec(t: Timespec) -> u32 {
    match u32::try_from(t.nsec) {
        Ok(nsec) if utime::valid_nsec(nsec) => nsec,
        _ => u32::MAX,
    }
}

/// One record of poll: a descriptor, what to wait for, and (after the call) what is ready
/// (`proto::vfs::poll`'s bits).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PollFd {
    /// The descriptor (negative: skipped).
    pub fd: i32,
    /// The events asked for.
    pub events: u16,
    /// The events ready, filled by poll.
    pub revents: u16,
}

impl PollFd {
    /// A record asking for `events` on `fd`.
    pub fn new(fd: i32, events: u16) -> PollFd {
        PollFd { fd, events, revents: 0 }
    }
}

/// One directory entry from getdents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// Inode number.
    pub ino: u32,
    /// Name.
    pub name: String,
}

impl DirEntry {
    /// Decodes getdents records (format in `proto::vfs`); a truncated record ends the list.
    pub fn decode_all(mut raw: &[u8]) -> Vec<DirEntry> {
        let mut entries = Vec::new();
        while raw.len() >= DIRENT_HEADER {
            let ino = u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
            let len = raw[4] as usize;
            let Some(name) = raw.get(DIRENT_HEADER..DIRENT_HEADER + len) else { break };
            entries.push(DirEntry { ino, name: String::from_utf8_lossy(name).into_owned() });
            raw = &raw[DIRENT_HEADER + len..];
        }
        entries
    }
}

impl Sys<'_> {
    /// `path` staged in the scratch area and lent to vfs under a read grant, with its length.
    fn lend_path(&self, path: &str) -> Result<(Lent<'_>, u32), Errno> {
        let bytes = path.as_bytes();
        if bytes.len() as u64 > DATA_OFFSET {
            return Err(Errno::ENAMETOOLONG);
        }
        let addr = self.stage(0, bytes)?;
        Ok((Lent::new(self.proc(), addr, bytes.len() as u64, Access::Read), bytes.len() as u32))
    }

    /// A call naming one path, with flags and a mode.
    fn path_call(&self, m_type: i32, path: &str, flags: u32, mode: u32) -> Result<Message, Errno> {
        let (grant, len) = self.lend_path(path)?;
        let request = PathRequest { grant: grant.id, len, flags, mode };
        self.call(VFS, Message::with(m_type, &request))
    }

    /// A call naming two paths (link, rename).
    fn two_path_call(&self, m_type: i32, old: &str, new: &str) -> Result<(), Errno> {
        let (old, new) = (old.as_bytes(), new.as_bytes());
        if (old.len() + new.len()) as u64 > DATA_OFFSET {
            return Err(Errno::ENAMETOOLONG);
        }
        let addr = self.stage(0, &[old, new].concat())?;
        let grant = Lent::new(self.proc(), addr, (old.len() + new.len()) as u64, Access::Read);
        let request = TwoPathRequest { grant: grant.id, old_len: old.len() as u32, new_len: new.len() as u32 };
        self.call(VFS, Message::with(m_type, &request)).map(drop)
    }

    /// A call naming a path and attributes (chmod, chown, truncate, access, statvfs).
    fn path_attr_call(&self, m_type: i32, path: &str, attrs: PathAttrRequest) -> Result<Message, Errno> {
        let (grant, len) = self.lend_path(path)?;
        let request = PathAttrRequest { grant: grant.id, len, ..attrs };
        self.call(VFS, Message::with(m_type, &request))
    }

    fn fd_attr_call(&self, m_type: i32, attrs: FdAttrRequest) -> Result<(), Errno> {
        self.call(VFS, Message::with(m_type, &attrs)).map(drop)
    }

    fn fd_call(&self, m_type: i32, fd: i32) -> Result<Message, Errno> {
        self.call(VFS, Message::with(m_type, &FdRequest { fd }))
    }

    /// Opens `path` with `flags` (`proto::vfs::flags`), creating it with permission bits `mode`
    /// under O_CREAT; returns the descriptor.
    pub fn open(&self, path: &str, flags: u32, mode: u32) -> Result<i32, Errno> {
        Ok(self.path_call(VFS_OPEN, path, flags, mode)?.m_type)
    }

    /// Creates (or truncates) `path` for writing.
    pub fn creat(&self, path: &str, mode: u32) -> Result<i32, Errno> {
        self.open(path, O_CREAT | O_WRONLY | O_TRUNC, mode)
    }

    /// Closes a descriptor.
    pub fn close(&self, fd: i32) -> Result<(), Errno> {
        self.fd_call(VFS_CLOSE, fd).map(drop)
    }

    /// Reads into `buf`; returns the bytes read (fewer at the end of a file, or what a pipe
    /// holds; 0 at the end).
    pub fn read(&self, fd: i32, buf: &mut [u8]) -> Result<usize, Errno> {
        let mut done = 0;
        loop {
            let want = (buf.len() - done).min(CHUNK as usize);
            let addr = self.stage(DATA_OFFSET, &[])?;
            let n = self.read_at(fd, addr, want as u64)?.min(want);
            self.proc().mem_read(addr, &mut buf[done..done + n])?;
            done += n;
            if n < want || done == buf.len() {
                return Ok(done);
            }
        }
    }

    /// Writes `data`; returns the bytes written (fewer when the disk or the file is full).
    pub fn write(&self, fd: i32, data: &[u8]) -> Result<usize, Errno> {
        let mut done = 0;
        loop {
            let chunk = &data[done..data.len().min(done + CHUNK as usize)];
            let addr = self.stage(DATA_OFFSET, chunk)?;
            let n = match self.write_at(fd, addr, chunk.len() as u64) {
                Ok(n) => n.min(chunk.len()),
                // The disk filled after some bytes went in: report those.
                Err(_) if done > 0 => return Ok(done),
                Err(e) => return Err(e),
            };
            done += n;
            if n < chunk.len() || done == data.len() {
                return Ok(done);
            }
        }
    }

    /// Reads up to `len` bytes into this process's memory at `addr` (no staging: an address
    /// outside the address space is vfs's EFAULT).
    pub fn read_at(&self, fd: i32, addr: u64, len: u64) -> Result<usize, Errno> {
        let grant = Lent::new(self.proc(), addr, len, Access::Write);
        let r = self.call(VFS, Message::with(VFS_READ, &IoRequest { fd, grant: grant.id, len }))?;
        Ok(r.m_type as usize)
    }

    /// Writes `len` bytes from this process's memory at `addr`.
    pub fn write_at(&self, fd: i32, addr: u64, len: u64) -> Result<usize, Errno> {
        let grant = Lent::new(self.proc(), addr, len, Access::Read);
        let r = self.call(VFS, Message::with(VFS_WRITE, &IoRequest { fd, grant: grant.id, len }))?;
        Ok(r.m_type as usize)
    }

    /// Moves the offset (`proto::vfs::whence`); returns the new one.
    pub fn lseek(&self, fd: i32, offset: i64, whence: u32) -> Result<i64, Errno> {
        let r = self.call(VFS, Message::with(VFS_LSEEK, &SeekRequest { fd, offset, whence }))?;
        Ok(r.get::<SeekReply>().offset)
    }

    /// Removes a name of a file.
    pub fn unlink(&self, path: &str) -> Result<(), Errno> {
        self.path_call(VFS_UNLINK, path, 0, 0).map(drop)
    }

    /// Makes a directory with permission bits `mode`.
    pub fn mkdir(&self, path: &str, mode: u32) -> Result<(), Errno> {
        self.path_call(VFS_MKDIR, path, 0, mode).map(drop)
    }

    /// Removes an empty directory.
    pub fn rmdir(&self, path: &str) -> Result<(), Errno> {
        self.path_call(VFS_RMDIR, path, 0, 0).map(drop)
    }

    /// The attributes of the file `path` names.
    pub fn stat(&self, path: &str) -> Result<Stat, Errno> {
        Ok(self.path_call(VFS_STAT, path, 0, 0)?.get::<StatReply>().into())
    }

    /// The attributes of the file `fd` is open on.
    pub fn fstat(&self, fd: i32) -> Result<Stat, Errno> {
        Ok(self.fd_call(VFS_FSTAT, fd)?.get::<StatReply>().into())
    }

    /// The lowest free descriptor, sharing `fd`'s open file.
    pub fn dup(&self, fd: i32) -> Result<i32, Errno> {
        Ok(self.fd_call(VFS_DUP, fd)?.m_type)
    }

    /// Makes `fd2` share `fd`'s open file (closing what it had).
    pub fn dup2(&self, fd: i32, fd2: i32) -> Result<i32, Errno> {
        Ok(self.call(VFS, Message::with(VFS_DUP2, &Dup2Request { fd, fd2 }))?.m_type)
    }

    /// A new pipe: (read end, write end).
    pub fn pipe(&self) -> Result<(i32, i32), Errno> {
        let r = self.call(VFS, Message::new(VFS_PIPE))?.get::<PipeReply>();
        Ok((r.read_fd, r.write_fd))
    }

    /// The directory's next entries (as many as the scratch buffer holds); empty at the end.
    pub fn getdents(&self, fd: i32) -> Result<Vec<DirEntry>, Errno> {
        let addr = self.stage(DATA_OFFSET, &[])?;
        let n = self.getdents_at(fd, addr, CHUNK)?;
        let mut raw = vec![0u8; n];
        self.proc().mem_read(addr, &mut raw)?;
        Ok(DirEntry::decode_all(&raw))
    }

    /// getdents into this process's memory at `addr`, at most `len` bytes; returns the bytes of
    /// records written (decode them with [`DirEntry::decode_all`]).
    pub fn getdents_at(&self, fd: i32, addr: u64, len: u64) -> Result<usize, Errno> {
        let grant = Lent::new(self.proc(), addr, len, Access::Write);
        let r = self.call(VFS, Message::with(VFS_GETDENTS, &IoRequest { fd, grant: grant.id, len }))?;
        Ok(r.m_type as usize)
    }

    /// Every entry of directory `path` (opens it, calls getdents to the end, closes it).
    pub fn list_dir(&self, path: &str) -> Result<Vec<DirEntry>, Errno> {
        let fd = self.open(path, os::proto::vfs::flags::O_RDONLY | os::proto::vfs::flags::O_DIRECTORY, 0)?;
        let mut all = Vec::new();
        let listed = loop {
            match self.getdents(fd) {
                Ok(batch) if batch.is_empty() => break Ok(all),
                Ok(batch) => all.extend(batch),
                Err(e) => break Err(e),
            }
        };
        self.close(fd)?;
        listed
    }

    /// Works in directory `path` from now on.
    pub fn chdir(&self, path: &str) -> Result<(), Errno> {
        self.path_call(VFS_CHDIR, path, 0, 0).map(drop)
    }

    /// Gives the file `old` names the new name `new` too.
    pub fn link(&self, old: &str, new: &str) -> Result<(), Errno> {
        self.two_path_call(VFS_LINK, old, new)
    }

    /// Moves name `old` to `new`.
    pub fn rename(&self, old: &str, new: &str) -> Result<(), Errno> {
        self.two_path_call(VFS_RENAME, old, new)
    }

    /// fcntl: command `cmd` (`proto::vfs::fcntl`) with argument `arg`; returns its answer (a
    /// descriptor, flags, or 0).
    pub fn fcntl(&self, fd: i32, cmd: u32, arg: i32) -> Result<i32, Errno> {
        Ok(self.call(VFS, Message::with(VFS_FCNTL, &FcntlRequest { fd, cmd, arg }))?.m_type)
    }

    /// Sets the file-creation mask; returns the old one.
    pub fn umask(&self, mask: u32) -> Result<u32, Errno> {
        Ok(self.call(VFS, Message::with(VFS_UMASK, &FlagsRequest { flags: mask }))?.m_type as u32)
    }

    /// A new pipe whose ends may be non-blocking (O_NONBLOCK) and closed on exec (O_CLOEXEC).
    pub fn pipe2(&self, flags: u32) -> Result<(i32, i32), Errno> {
        let r = self.call(VFS, Message::with(VFS_PIPE2, &FlagsRequest { flags }))?.get::<PipeReply>();
        Ok((r.read_fd, r.write_fd))
    }

    /// Takes, changes or releases the whole-file lock of `fd`'s open file (`proto::vfs::flock`);
    /// waits for a conflicting lock to go unless `LOCK_NB` asks for EAGAIN.
    pub fn flock(&self, fd: i32, op: u32) -> Result<(), Errno> {
        self.call(VFS, Message::with(VFS_FLOCK, &FlockRequest { fd, op })).map(drop)
    }

    /// Works in the directory `fd` is open on.
    pub fn fchdir(&self, fd: i32) -> Result<(), Errno> {
        self.fd_call(VFS_FCHDIR, fd).map(drop)
    }

    /// The working directory's absolute path.
    pub fn getcwd(&self) -> Result<String, Errno> {
        let addr = self.stage(DATA_OFFSET, &[])?;
        let len = os::proto::PATH_MAX as u64;
        let grant = Lent::new(self.proc(), addr, len, Access::Write);
        let n = self.call(VFS, Message::with(VFS_GETCWD, &IoRequest { fd: -1, grant: grant.id, len }))?.m_type;
        let mut path = vec![0u8; n as usize];
        self.proc().mem_read(addr, &mut path)?;
        Ok(String::from_utf8_lossy(&path).into_owned())
    }

    /// Waits until one of `fds` is ready or `timeout_ms` milliseconds pass (0: just look;
    /// negative: no timeout); fills each record's `revents` and returns how many are set.
    pub fn poll(&self, fds: &mut [PollFd], timeout_ms: i32) -> Result<usize, Errno> {
        use os::proto::vfs::poll::POLLFD_SIZE;
        let raw: Vec<u8> = fds
            .iter()
            .flat_map(|p| [p.fd.to_le_bytes().as_slice(), &p.events.to_le_bytes(), &0u16.to_le_bytes()].concat())
            .collect();
        let addr = self.stage(DATA_OFFSET, &raw)?;
        let ready = self.poll_at(addr, fds.len() as u32, timeout_ms)?;
        let mut out = vec![0u8; raw.len()];
        self.proc().mem_read(addr, &mut out)?;
        for (p, record) in fds.iter_mut().zip(out.chunks_exact(POLLFD_SIZE)) {
            p.revents = u16::from_le_bytes([record[6], record[7]]);
        }
        Ok(ready)
    }

    /// poll on `nfds` records at `addr` in this process's memory (no staging).
    pub fn poll_at(&self, addr: u64, nfds: u32, timeout_ms: i32) -> Result<usize, Errno> {
        let len = u64::from(nfds) * os::proto::vfs::poll::POLLFD_SIZE as u64;
        let grant = Lent::new(self.proc(), addr, len, Access::ReadWrite);
        let r = self.call(VFS, Message::with(VFS_POLL, &PollRequest { grant: grant.id, nfds, timeout_ms }))?;
        Ok(r.m_type as usize)
    }

    /// Sets the permission bits of the file `path` names.
    pub fn chmod(&self, path: &str, mode: u32) -> Result<(), Errno> {
        self.path_attr_call(VFS_CHMOD, path, PathAttrRequest { mode, ..NO_ATTRS }).map(drop)
    }

    /// Sets the permission bits of the file `fd` is open on.
    pub fn fchmod(&self, fd: i32, mode: u32) -> Result<(), Errno> {
        self.fd_attr_call(VFS_FCHMOD, FdAttrRequest { fd, mode, uid: 0, gid: 0, size: 0 })
    }

    /// Sets the access and modification times (in that order) of the file `path` names, from the
    /// working directory (`dirfd` AT_FDCWD); `None` sets both to now; a time whose `nsec` is
    /// `utime::UTIME_NOW` or `UTIME_OMIT` is now or kept. `flags`: `utime::AT_SYMLINK_NOFOLLOW`.
    pub fn utimensat(&self, dirfd: i32, path: &str, times: Option<[Timespec; 2]>, flags: u32) -> Result<(), Errno> {
        // POSIX: an empty path names nothing (vfs takes a path of no bytes for a descriptor call).
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        let (grant, len) = self.lend_path(path)?;
        self.utimens(dirfd, grant.id, len, times, flags)
    }

    /// Sets the access and modification times of the file `fd` is open on (see [`Sys::utimensat`]).
    pub fn futimens(&self, fd: i32, times: Option<[Timespec; 2]>) -> Result<(), Errno> {
        self.utimens(fd, 0, 0, times, 0)
    }

    fn utimens(&self, fd: i32, grant: u32, len: u32, times: Option<[Timespec; 2]>, flags: u32) -> Result<(), Errno> {
        let now = Timespec { sec: 0, nsec: utime::UTIME_NOW.into() };
        let [atime, mtime] = times.unwrap_or([now, now]);
        let request = UtimensRequest {
            fd,
            grant,
            len,
            flags,
            atime_sec: atime.sec,
            atime_nsec: wire_nsec(atime),
            mtime_sec: mtime.sec,
            mtime_nsec: wire_nsec(mtime),
        };
        self.call(VFS, Message::with(VFS_UTIMENS, &request)).map(drop)
    }

    /// Makes a file of the type in `mode`'s `file_type::S_IFMT` bits at `path`, with `mode`'s
    /// permission bits less the creation mask; `dev` is a device file's number.
    pub fn mknod(&self, path: &str, mode: u32, dev: u32) -> Result<(), Errno> {
        let (grant, len) = self.lend_path(path)?;
        let request = MknodRequest { grant: grant.id, len, mode, dev };
        self.call(VFS, Message::with(VFS_MKNOD, &request)).map(drop)
    }

    /// Makes a named pipe at `path` with permission bits `mode` (cut by the umask): mknod with
    /// S_IFIFO, as POSIX's mkfifo.
    pub fn mkfifo(&self, path: &str, mode: u32) -> Result<(), Errno> {
        self.mknod(path, os::proto::vfs::file_type::S_IFIFO | (mode & 0o7777), 0)
    }

    /// Sets the owner and group of the file `path` names (`KEEP_ID` leaves one as it is).
    pub fn chown(&self, path: &str, uid: u32, gid: u32) -> Result<(), Errno> {
        self.path_attr_call(VFS_CHOWN, path, PathAttrRequest { uid, gid, ..NO_ATTRS }).map(drop)
    }

    /// Sets the owner and group of the file `fd` is open on.
    pub fn fchown(&self, fd: i32, uid: u32, gid: u32) -> Result<(), Errno> {
        self.fd_attr_call(VFS_FCHOWN, FdAttrRequest { fd, mode: 0, uid, gid, size: 0 })
    }

    /// Cuts or extends the regular file `path` names to `size` bytes.
    pub fn truncate(&self, path: &str, size: i64) -> Result<(), Errno> {
        self.path_attr_call(VFS_TRUNCATE, path, PathAttrRequest { size, ..NO_ATTRS }).map(drop)
    }

    /// Cuts or extends the regular file `fd` is open on (for writing) to `size` bytes.
    pub fn ftruncate(&self, fd: i32, size: i64) -> Result<(), Errno> {
        self.fd_attr_call(VFS_FTRUNCATE, FdAttrRequest { fd, mode: 0, uid: 0, gid: 0, size })
    }

    /// Whether this process may access the file `path` names as `mode` (`proto::fs::R_OK`...,
    /// or `F_OK`: whether it exists).
    pub fn access(&self, path: &str, mode: u32) -> Result<(), Errno> {
        self.path_attr_call(VFS_ACCESS, path, PathAttrRequest { mode, ..NO_ATTRS }).map(drop)
    }

    /// The totals of the file system `path` is on.
    pub fn statvfs(&self, path: &str) -> Result<StatvfsReply, Errno> {
        Ok(self.path_attr_call(VFS_STATVFS, path, NO_ATTRS)?.get())
    }

    /// The totals of the file system the file `fd` is open on is on.
    pub fn fstatvfs(&self, fd: i32) -> Result<StatvfsReply, Errno> {
        Ok(self.call(VFS, Message::with(VFS_FSTATVFS, &FdAttrRequest { fd, mode: 0, uid: 0, gid: 0, size: 0 }))?.get())
    }

    /// How many file systems are mounted (getvfsstat with no room).
    pub fn getvfsstat_count(&self, flags: u32) -> Result<usize, Errno> {
        let request = GetvfsstatRequest { grant: 0, flags, len: 0 };
        Ok(self.call(VFS, Message::with(VFS_GETVFSSTAT, &request))?.m_type as usize)
    }

    /// The totals of the mounted file systems, at most `max` of them.
    pub fn getvfsstat(&self, max: usize, flags: u32) -> Result<Vec<StatvfsReply>, Errno> {
        use kernel_sim::{PAYLOAD_SIZE, Payload};
        let record = StatvfsReply::SIZE as u64;
        let len = (max as u64).saturating_mul(record).min(CHUNK);
        if len == 0 {
            // No room: the call would answer how many are mounted, not fill anything.
            return Ok(Vec::new());
        }
        let addr = self.stage(DATA_OFFSET, &[])?;
        let grant = Lent::new(self.proc(), addr, len, Access::Write);
        let request = GetvfsstatRequest { grant: grant.id, flags, len };
        let written = self.call(VFS, Message::with(VFS_GETVFSSTAT, &request))?.m_type as u64;
        let mut raw = vec![0u8; (written * record) as usize];
        self.proc().mem_read(addr, &mut raw)?;
        Ok(raw
            .chunks_exact(record as usize)
            .map(|r| {
                let mut layout = [0u8; PAYLOAD_SIZE];
                layout[..r.len()].copy_from_slice(r);
                StatvfsReply::read(&layout)
            })
            .collect())
    }

    /// Has the file system write the file `fd` is open on back to its disk.
    pub fn fsync(&self, fd: i32) -> Result<(), Errno> {
        self.call(VFS, Message::with(VFS_FSYNC, &FdAttrRequest { fd, mode: 0, uid: 0, gid: 0, size: 0 })).map(drop)
    }

    /// fsync: mfs keeps no metadata apart from the blocks it writes back (MINIX's libc does the same).
    pub fn fdatasync(&self, fd: i32) -> Result<(), Errno> {
        self.fsync(fd)
    }

    /// Has every mounted file system write back what is dirty.
    pub fn sync(&self) -> Result<(), Errno> {
        self.call(VFS, Message::new(VFS_SYNC)).map(drop)
    }
}

impl Sys<'_> {
    /// Makes `link` a symbolic link naming `target` (stored as given).
    pub fn symlink(&self, target: &str, link: &str) -> Result<(), Errno> {
        self.two_path_call(VFS_SYMLINK, target, link)
    }

    /// The attributes of what `path` names, a symbolic link itself rather than its target.
    pub fn lstat(&self, path: &str) -> Result<Stat, Errno> {
        Ok(self.path_call(VFS_LSTAT, path, 0, 0)?.get::<StatReply>().into())
    }

    /// The target the symbolic link `path` names.
    pub fn readlink(&self, path: &str) -> Result<Vec<u8>, Errno> {
        let bytes = path.as_bytes();
        if bytes.len() as u64 > DATA_OFFSET {
            return Err(Errno::ENAMETOOLONG);
        }
        let at = self.stage(0, bytes)?;
        let buf = self.stage(DATA_OFFSET, &[])?;
        let (name, into) = (
            Lent::new(self.proc(), at, bytes.len() as u64, Access::Read),
            Lent::new(self.proc(), buf, os::proto::PATH_MAX as u64, Access::Write),
        );
        let request = ReadlinkRequest {
            grant: name.id,
            len: bytes.len() as u32,
            buf_grant: into.id,
            buf_len: os::proto::PATH_MAX as u64,
        };
        let n = self.call(VFS, Message::with(VFS_READLINK, &request))?.m_type as usize;
        let mut target = vec![0u8; n];
        self.proc().mem_read(buf, &mut target)?;
        Ok(target)
    }
}

/// A path request's attributes, all unset (the grant and length are filled in per call).
const NO_ATTRS: PathAttrRequest = PathAttrRequest { grant: 0, len: 0, mode: 0, uid: 0, gid: 0, size: 0 };

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirent_records_decode_and_a_truncated_one_ends_the_list() {
        let mut raw = Vec::new();
        for (ino, name) in [(1u32, "."), (7, "motd")] {
            raw.extend_from_slice(&ino.to_le_bytes());
            raw.push(name.len() as u8);
            raw.extend_from_slice(name.as_bytes());
        }
        raw.extend_from_slice(&[9, 0, 0, 0, 10, b'x']);
        let names: Vec<(u32, String)> = DirEntry::decode_all(&raw).into_iter().map(|e| (e.ino, e.name)).collect();
        assert_eq!(names, [(1, ".".to_string()), (7, "motd".to_string())]);
    }
}

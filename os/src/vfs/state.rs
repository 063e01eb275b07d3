//! vfs's state: the vnode table (one vnode per file in use: the file system's endpoint and inode
//! number, or a pipe, with the references vfs holds and the attributes it caches, as MINIX's
//! vnode), the mount table (the root file system), pipes' bytes, the global open-file table, and
//! the per-process descriptor tables. Files, directories and their blocks are mfs's.
//!
//! Classes: the vnodes, the mount, the pipe buffers and the open-file table are global (any
//! process may reach them); `fprocs` (descriptors, cwd, ids) and `suspended` (the call a process
//! is blocked in) are per process.
//!
//! Invariants (checked as a whole by `check.rs`, and against mfs by the testbed's `checker/cross.rs`):
//! - An open file's `count` equals the descriptors, in all processes, that point at it; a free
//!   slot of the open-file table has none.
//! - A vnode's `refs` equals the open files on it, the working directories that are it, and the
//!   mount if it is the root; a vnode with no reference is freed at once. A pipe's `readers` and
//!   `writers` count the open files on it by access mode.
//! - A file system's vnode is the only one naming its inode; the file system counts `fs_refs`
//!   references for it (summed over vnodes, the inode's `refs` in mfs).
//! - A pipe's bytes are in its buffer (at most PIPE_BUF of them); every other vnode's buffer is
//!   empty.
//! - A descriptor is below DESCRIPTORS_MAX (the manifest's `descriptors`, at most that, is applied
//!   at the call).
//! - FD_CLOEXEC flags (`Fproc::cloexec`) are set only on open descriptors; a file-creation mask is
//!   within UMASK_MAX; an open file keeps only its access mode and the status flags.
//! - A suspended poll watches open descriptors only, none of them ready (`poll.rs`).
//! - Only live open files hold flocks; an exclusive flock is the only one on its file; a
//!   suspended flock waits on a conflicting one (`flock.rs`).

use crate::errno::Errno;
use crate::proto::ProcKey;
use crate::proto::vfs::flags::{O_ACCMODE, O_RDONLY, O_RDWR, O_WRONLY};
use kernel_sim::Endpoint;
use recovery::{Journal, ProcTable, StateClass, TrackedCell, TrackedMap, TrackedVec, tracked_state};

/// The largest file, in bytes (the file system's limit, which lseek and the libc know).
pub use crate::mfs::state::MAX_FILE_SIZE;
/// Slots of the vnode table by default (`param vnodes N;` sets another size): files in use (open,
/// a working directory, the root) and pipes at once (MINIX's NR_VNODES). As many as mfs has
/// inodes by default: a pipe is a vnode of its own.
pub const NR_VNODES: usize = 1024;
/// References vfs lets one vnode collect on its file system before giving the extra ones back
/// (MINIX's vnode_clean_refs at 256): each lookup that takes a reference on a file vfs already
/// has a vnode for adds one.
pub const FS_REFS_CLEAN_AT: u32 = 256;
/// Descriptors per process by default (MINIX's OPEN_MAX; `param descriptors N;` sets another
/// number, up to DESCRIPTORS_MAX).
pub const OPEN_MAX: usize = 255;
/// The most descriptors a process may be given (Linux's default soft RLIMIT_NOFILE): the size of
/// a descriptor set.
pub const DESCRIPTORS_MAX: usize = 1024;
/// Entries in the open-file table by default (MINIX's NR_FILPS; `param files N;` sets another).
pub const NR_FILPS: usize = 512;
/// Bytes a pipe buffers (POSIX's PIPE_BUF): a write of at most this many bytes is atomic; a writer
/// finding the pipe full waits for a reader.
pub const PIPE_BUF: usize = 4096;
pub use crate::proto::fs::ROOT_UID;

/// An inode number on a file system.
pub type Ino = u32;
/// An index in the vnode table.
pub type VnodeId = u32;
/// An index in the open-file table.
pub type FilpId = u32;

/// What a vnode is, with the data only that kind has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VnodeKind {
    /// A regular file on a file system.
    Regular,
    /// A directory on a file system.
    Directory,
    /// A pipe: vfs's own (MINIX puts them on pfs; here vfs keeps them), no inode anywhere; the
    /// bytes written and not yet read wait in its buffer (`VfsState::pipe_bufs`).
    Pipe(Pipe),
    /// A named pipe (mkfifo): an inode on a file system for its name and attributes, and a pipe
    /// of vfs's own, as an unnamed pipe's, for its ends and its bytes while it is open.
    Fifo(Pipe),
    /// A character special file: an inode for its name and attributes; its bytes are the
    /// driver's of its device number's major (`device.rs`).
    CharDevice(u32),
    /// A block special file: an inode and a device number (no block driver is reachable through
    /// one: opening it is ENXIO).
    BlockDevice(u32),
}

impl VnodeKind {
    /// A file system's kind on the wire (`proto::fs::kind`) with the device number of a special
    /// file; `None` for anything else.
    pub fn from_wire(kind: u32, rdev: u32) -> Option<VnodeKind> {
        use crate::proto::fs::kind::*;
        match kind {
            REGULAR => Some(VnodeKind::Regular),
            DIRECTORY => Some(VnodeKind::Directory),
            FIFO => Some(VnodeKind::Fifo(Pipe::default())),
            CHAR_DEVICE => Some(VnodeKind::CharDevice(rdev)),
            BLOCK_DEVICE => Some(VnodeKind::BlockDevice(rdev)),
            _ => None,
        }
    }
}

/// A pipe's ends. Its bytes are not here: moving bytes through a pipe writes its buffer only, so
/// that each request logs the bytes, not the vnode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pipe {
    /// Open files reading from it.
    pub readers: u32,
    /// Open files writing to it.
    pub writers: u32,
}

/// One file in use (MINIX's `struct vnode`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vnode {
    /// Regular file, directory or pipe.
    pub kind: VnodeKind,
    /// The file system's endpoint (from the mount table) and the inode there; none for a pipe.
    pub inode: Option<(kernel_sim::Endpoint, Ino)>,
    /// References vfs holds: open files on it, working directories that are it, the mount, and
    /// one for all the shared mappings that show it (`mapped`).
    pub refs: u32,
    /// References the file system counts for this vnode (MINIX's `v_fs_count`): one per lookup
    /// that took one; given back with REQ_PUTNODE when `refs` falls to zero.
    pub fs_refs: u32,
    /// Cached attributes: permission bits, owner, group (for vfs's permission checks).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Cached size in bytes of a regular file (O_APPEND, SEEK_END): vfs updates it from every
    /// reply that changes it. A directory's grows as the file system adds entries: vfs asks.
    pub size: u64,
    /// Whether vm may have a shared mapping that shows this file (`mmap.rs`): vfs then holds a
    /// reference on it, and has vm's mappings see every change to its bytes.
    pub mapped: bool,
}

impl Vnode {
    /// Whether it is a directory.
    pub fn is_dir(&self) -> bool {
        self.kind == VnodeKind::Directory
    }

    /// Whether it is a regular file.
    pub fn is_regular(&self) -> bool {
        self.kind == VnodeKind::Regular
    }

    /// Its device number, if it is a character special file.
    pub fn char_device(&self) -> Option<u32> {
        match self.kind {
            VnodeKind::CharDevice(dev) => Some(dev),
            _ => None,
        }
    }

    /// Its pipe, if it is one, named or not.
    pub fn pipe(&self) -> Option<&Pipe> {
        match &self.kind {
            VnodeKind::Pipe(p) | VnodeKind::Fifo(p) => Some(p),
            _ => None,
        }
    }

    /// Its pipe, if it is one, to modify.
    pub fn pipe_mut(&mut self) -> Option<&mut Pipe> {
        match &mut self.kind {
            VnodeKind::Pipe(p) | VnodeKind::Fifo(p) => Some(p),
            _ => None,
        }
    }

    /// Whether it is a named pipe.
    pub fn is_fifo(&self) -> bool {
        matches!(self.kind, VnodeKind::Fifo(_))
    }

    /// The inode number on its file system (0 for a pipe).
    pub fn ino(&self) -> Ino {
        self.inode.map_or(0, |(_, ino)| ino)
    }

    /// Whether ids `uid`/`gid` may access it as `want` (`proto::fs::permitted`, on the cache).
    pub fn permits(&self, uid: u32, gid: u32, want: u32) -> bool {
        crate::proto::fs::permitted(self.mode, self.uid, self.gid, self.is_dir(), uid, gid, want)
    }
}

/// The mount table's one entry: the root file system.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mount {
    /// The file system's endpoint, learnt when it was mounted (REQ_READSUPER).
    pub fs: kernel_sim::Endpoint,
    /// The root directory's vnode (the mount holds one reference on it).
    pub root: VnodeId,
}

// A vnode's or fproc's pre-image is cloned into a spent one on the first write of each request.
recovery::clone_fields!(Fproc { ep, fds, cloexec, cwd, uid, gid, umask });

/// One open file, shared by every descriptor that points at it (after fork and dup).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filp {
    /// The vnode it is open on.
    pub vnode: VnodeId,
    /// The open flags it keeps: access mode and the status flags (O_APPEND, O_NONBLOCK).
    pub flags: u32,
    /// The shared file offset (for a directory: the byte offset of the next entry getdents reads).
    pub offset: u64,
    /// Descriptors pointing here.
    pub count: u32,
}

impl Filp {
    /// Whether it was opened for reading.
    pub fn readable(&self) -> bool {
        matches!(self.flags & O_ACCMODE, O_RDONLY | O_RDWR)
    }

    /// Whether it was opened for writing.
    pub fn writable(&self) -> bool {
        matches!(self.flags & O_ACCMODE, O_WRONLY | O_RDWR)
    }
}

/// A call the process is blocked in until another process's call lets it finish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Suspended {
    /// read on an empty pipe that still has writers.
    PipeRead {
        /// The open file read from.
        filp: FilpId,
        /// The caller's buffer (write grant).
        grant: u32,
        /// Bytes asked for.
        len: u64,
    },
    /// write to a pipe without room for it.
    PipeWrite {
        /// The open file written to.
        filp: FilpId,
        /// The caller's data (read grant).
        grant: u32,
        /// Bytes to write.
        len: u64,
        /// Bytes already in the pipe.
        done: u64,
    },
    /// poll with nothing ready yet and a timeout that is not 0 (boxed: its descriptor sets are
    /// large, and every other suspended call, and every process's empty entry, stays small).
    Poll(Box<PollWait>),
    /// flock waiting for a conflicting lock on the same file to go (`flock.rs`).
    Flock {
        /// The open file to lock.
        filp: FilpId,
        /// Exclusive (LOCK_EX) or shared (LOCK_SH).
        exclusive: bool,
    },
    /// open of a named pipe for reading with no writer, or for writing with no reader, waiting
    /// for the other end to be opened (`pipe.rs`). The open file and the descriptor are made: the
    /// answer is the descriptor; an interrupted open closes them again.
    FifoOpen {
        /// The open file made.
        filp: FilpId,
        /// The descriptor that points at it.
        fd: u32,
    },
}

/// A whole-file advisory lock an open file holds (flock).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flock {
    /// LOCK_SH: other open files may hold shared locks too.
    Shared,
    /// LOCK_EX: no other open file holds a lock on the file.
    Exclusive,
}

impl Suspended {
    /// The open file the call waits on; none for a poll (it watches descriptors).
    pub fn filp(&self) -> Option<FilpId> {
        match *self {
            Suspended::PipeRead { filp, .. }
            | Suspended::PipeWrite { filp, .. }
            | Suspended::Flock { filp, .. }
            | Suspended::FifoOpen { filp, .. } => Some(filp),
            Suspended::Poll(_) => None,
        }
    }
}

/// A poll waiting for one of its descriptors to become ready, or for its deadline (`poll.rs`).
///
/// The `pollfd` records stay in the caller's memory (the caller is blocked, its grant lent); the
/// descriptors they name are kept here as descriptor sets so that the checker can tell that none
/// of them is ready: a ready one would have ended the wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PollWait {
    /// The caller's records (read-write grant).
    pub grant: u32,
    /// How many records.
    pub nfds: u32,
    /// Descriptors watched for reading (POLLIN, POLLRDNORM).
    pub readable: FdSet,
    /// Descriptors watched for writing (POLLOUT, POLLWRNORM).
    pub writable: FdSet,
    /// Every descriptor the records name (hang-ups and errors are reported whatever was asked).
    pub watched: FdSet,
    /// When the wait ends with nothing ready (the clock's microseconds); none: no timeout.
    pub deadline: Option<kernel_sim::Micros>,
}

/// One process's file-system view (MINIX's `struct fproc`).
#[derive(Debug, PartialEq, Eq)]
pub struct Fproc {
    /// Whose.
    pub ep: Endpoint,
    /// Its descriptors: an open-file index or nothing, up to the highest one ever open (vfs's
    /// `descriptors` param bounds them). A vector that grows as descriptors are taken: most processes
    /// use a handful, and a pre-image of the entry, taken on a request's first write to it, copies
    /// only those (reusing a spent one's vector).
    pub fds: Vec<Option<FilpId>>,
    /// Its descriptors' FD_CLOEXEC flags (MINIX's `fp_cloexec`): set only on open descriptors;
    /// exec closes these when it succeeds.
    pub cloexec: FdSet,
    /// Its working directory's vnode (it holds a reference on it).
    pub cwd: VnodeId,
    /// Effective user id, for permission checks.
    pub uid: u32,
    /// Effective group id.
    pub gid: u32,
    /// File-creation mask (at most UMASK_MAX): permission bits open(O_CREAT) and mkdir clear.
    pub umask: u32,
}

/// The bits a file-creation mask may hold (rwx for owner, group and others).
pub const UMASK_MAX: u32 = 0o777;
/// init's file-creation mask: none, so that a file gets the mode its creator asked for until a
/// process sets a mask (children inherit it).
pub const DEFAULT_UMASK: u32 = 0;

/// A set of descriptors, one bit each (MINIX's bit maps of `bitchunk_t`), for any descriptor below
/// DESCRIPTORS_MAX.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FdSet([u64; DESCRIPTORS_MAX / 64]);

impl FdSet {
    /// The empty set.
    pub const EMPTY: FdSet = FdSet([0; DESCRIPTORS_MAX / 64]);

    /// Whether `fd` is in the set (no descriptor at or past DESCRIPTORS_MAX ever is).
    pub fn contains(&self, fd: usize) -> bool {
        fd < DESCRIPTORS_MAX && self.0[fd / 64] & (1 << (fd % 64)) != 0
    }

    /// Adds `fd` (below DESCRIPTORS_MAX) to the set.
    pub fn insert(&mut self, fd: usize) {
        self.0[fd / 64] |= 1 << (fd % 64);
    }

    /// Takes `fd` out of the set.
    pub fn remove(&mut self, fd: usize) {
        if fd < DESCRIPTORS_MAX {
            self.0[fd / 64] &= !(1 << (fd % 64));
        }
    }

    /// Whether every descriptor of the set is in `other`.
    pub fn is_subset(&self, other: &FdSet) -> bool {
        self.0.iter().zip(&other.0).all(|(mine, theirs)| mine & !theirs == 0)
    }

    /// The set's descriptors, lowest first.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.0
            .iter()
            .enumerate()
            .flat_map(|(word, &bits)| (0..64).filter(move |bit| bits & (1 << bit) != 0).map(move |bit| word * 64 + bit))
    }
}

impl FromIterator<usize> for FdSet {
    fn from_iter<I: IntoIterator<Item = usize>>(fds: I) -> FdSet {
        let mut set = FdSet::EMPTY;
        fds.into_iter().for_each(|fd| set.insert(fd));
        set
    }
}

impl Fproc {
    /// A process with no descriptors, working in `cwd`, as root (the caller counts the cwd's
    /// reference).
    pub fn new(ep: Endpoint, cwd: VnodeId) -> Fproc {
        Fproc { ep, fds: Vec::new(), cloexec: FdSet::EMPTY, cwd, uid: ROOT_UID, gid: 0, umask: DEFAULT_UMASK }
    }

    /// Whether descriptor `fd` (open or not) is marked close-on-exec.
    pub fn is_cloexec(&self, fd: usize) -> bool {
        self.cloexec.contains(fd)
    }

    /// The open file descriptor `fd` points at; EBADF for a closed or impossible descriptor.
    pub fn filp_of(&self, fd: i32) -> Result<FilpId, Errno> {
        let index = usize::try_from(fd).map_err(|_| Errno::EBADF)?;
        self.fds.get(index).copied().flatten().ok_or(Errno::EBADF)
    }

    /// The lowest closed descriptor at or above `from` and below `limit` (vfs's `descriptors`);
    /// EMFILE if none.
    pub fn free_fd(&self, from: usize, limit: usize) -> Result<usize, Errno> {
        (from..limit).find(|&fd| self.fds.get(fd).is_none_or(Option::is_none)).ok_or(Errno::EMFILE)
    }

    /// Points descriptor `fd` at `filp` or closes it, growing the table to reach it.
    pub fn set(&mut self, fd: usize, filp: Option<FilpId>) {
        if fd >= self.fds.len() {
            if filp.is_none() {
                return;
            }
            self.fds.resize(fd + 1, None);
        }
        self.fds[fd] = filp;
    }

    /// The open descriptors' set (of those below DESCRIPTORS_MAX: past it is damage the checker
    /// reports, `vfs.descriptor-limit`).
    pub fn open(&self) -> FdSet {
        self.fds.iter().take(DESCRIPTORS_MAX).enumerate().filter(|(_, f)| f.is_some()).map(|(fd, _)| fd).collect()
    }
}

/// All of vfs's mutable state.
pub struct VfsState {
    /// The journal of the recovery window.
    pub journal: Journal,
    /// The vnode table.
    pub vnodes: TrackedVec<Option<Vnode>>,
    /// The mount table: the root file system, once mounted.
    pub mount: TrackedCell<Option<Mount>>,
    /// Each pipe's bytes, written and not yet read, oldest first (at most PIPE_BUF), indexed by
    /// the pipe's vnode; empty for every other vnode. Beside the vnode table: a pipe read or write
    /// logs the bytes it moves, not the vnode.
    pub pipe_bufs: TrackedVec<Vec<u8>>,
    /// The open-file table.
    pub filps: TrackedVec<Option<Filp>>,
    /// Per-process descriptor tables, keyed by slot.
    pub fprocs: ProcTable<ProcKey, Fproc>,
    /// The call each process is blocked in, if any, keyed by slot: an entry for exactly the
    /// processes `fprocs` has. MINIX keeps it in the fproc; here it is a table of its own because
    /// a call is suspended and revived on every blocking pipe read or write while the descriptor
    /// table seldom changes: each logs this small pre-image, not the descriptors.
    pub suspended: ProcTable<ProcKey, Option<Suspended>>,
    /// The flock each open file holds, indexed like `filps` (none for a free slot): beside the
    /// open-file table, so that locking logs this small slot, not the open file.
    pub flocks: TrackedVec<Option<Flock>>,
    /// The endpoint each character-device driver was last found at in ds, by major (MINIX's
    /// dmap): looked up at first use and again when the driver died (`device.rs`).
    pub drivers: TrackedMap<u32, Endpoint>,
}

tracked_state!(VfsState {
    journal: journal,
    fields: [vnodes, mount, pipe_bufs, filps, fprocs, suspended, flocks, drivers]
});

impl VfsState {
    /// Nothing mounted, no open files, no processes; the tables of the default sizes.
    pub fn empty() -> VfsState {
        VfsState::sized(NR_VNODES, NR_FILPS)
    }

    /// Nothing mounted, no open files, no processes; `vnodes` vnode slots and `files` open-file
    /// entries.
    pub fn sized(vnodes: usize, files: usize) -> VfsState {
        let journal = Journal::new();
        VfsState {
            vnodes: TrackedVec::from_vec(&journal, "vfs.vnodes", StateClass::Global, vec![None; vnodes]),
            mount: TrackedCell::new(&journal, "vfs.mount", StateClass::Global, None),
            pipe_bufs: TrackedVec::from_vec(&journal, "vfs.pipe_bufs", StateClass::Global, vec![Vec::new(); vnodes]),
            filps: TrackedVec::from_vec(&journal, "vfs.filps", StateClass::Global, vec![None; files]),
            fprocs: ProcTable::new(&journal, "vfs.fprocs"),
            suspended: ProcTable::new(&journal, "vfs.suspended"),
            flocks: TrackedVec::from_vec(&journal, "vfs.flocks", StateClass::Global, vec![None; files]),
            drivers: TrackedMap::new(&journal, "vfs.drivers", StateClass::Global),
            journal,
        }
    }

    /// The whole-state self-check: every invariant of the module doc vfs can see alone, as
    /// readable lines (empty when consistent).
    pub fn check_invariants(&mut self) -> Vec<String> {
        super::check::check(self).into_iter().map(|v| v.to_string()).collect()
    }

    /// The processes suspended in a vfs call (a pipe read or write, a poll, a lock wait), to be
    /// answered by a later request.
    pub fn suspended_callers(&mut self) -> Vec<Endpoint> {
        let keys: Vec<ProcKey> = self.suspended.iter().filter(|(_, s)| s.is_some()).map(|(&k, _)| k).collect();
        keys.into_iter().filter_map(|k| self.fprocs.get(k).map(|f| f.ep)).collect()
    }

    /// The root mount; vfs mounts it at boot, before it serves anything.
    pub fn root_mount(&mut self) -> Mount {
        self.mount.get().expect("the root file system is mounted at boot")
    }

    // ---- vnodes -------------------------------------------------------------------------------

    /// Reads vnode `id`, `None` if free or out of range.
    pub fn vnode(&mut self, id: VnodeId) -> Option<&Vnode> {
        self.vnodes.get(id as usize).and_then(Option::as_ref)
    }

    /// Vnode `id`, which the caller knows is in use (an open file, a cwd or the mount holds it).
    pub fn live_vnode(&mut self, id: VnodeId) -> &Vnode {
        self.vnode(id).unwrap_or_else(|| panic!("vnode {id} is in use"))
    }

    /// Vnode `id` to modify, which the caller knows is in use.
    #[track_caller]
    pub fn live_vnode_mut(&mut self, id: VnodeId) -> &mut Vnode {
        let slot = self.vnodes.get_mut(id as usize);
        slot.and_then(Option::as_mut).unwrap_or_else(|| panic!("vnode {id} is in use"))
    }

    /// The vnode of inode `ino` on file system `fs`, if vfs has one.
    pub fn find_vnode(&mut self, fs: kernel_sim::Endpoint, ino: Ino) -> Option<VnodeId> {
        self.vnodes.iter().position(|v| v.as_ref().is_some_and(|v| v.inode == Some((fs, ino)))).map(|i| i as VnodeId)
    }

    /// Whether a vnode slot is free.
    pub fn has_free_vnode(&mut self) -> bool {
        self.vnodes.iter().any(Option::is_none)
    }

    /// Takes the lowest free vnode slot for `vnode`; ENFILE when the table is full.
    pub fn alloc_vnode(&mut self, vnode: Vnode) -> Result<VnodeId, Errno> {
        let id = self.vnodes.iter().position(Option::is_none).ok_or(Errno::ENFILE)?;
        assert!(self.pipe_bufs.get(id).is_some_and(Vec::is_empty), "free vnode {id} buffers no pipe bytes");
        self.vnodes.set(id, Some(vnode));
        Ok(id as VnodeId)
    }

    /// One more vfs reference on vnode `id` (fork copies a cwd, open keeps what it looked up).
    pub fn dup_vnode(&mut self, id: VnodeId) {
        let v = self.live_vnode_mut(id);
        assert!(v.refs > 0, "vnode {id} is referenced");
        v.refs += 1;
    }

    /// The vnodes that hold a reference for shared mappings.
    pub fn mapped_vnodes(&mut self) -> Vec<VnodeId> {
        let mapped = |(id, v): (usize, &Option<Vnode>)| v.as_ref().is_some_and(|v| v.mapped).then_some(id as VnodeId);
        self.vnodes.iter().enumerate().filter_map(mapped).collect()
    }

    // ---- the open-file table ----------------------------------------------------------------

    /// Reads open file `id`, `None` if free or out of range.
    pub fn filp(&mut self, id: FilpId) -> Option<&Filp> {
        self.filps.get(id as usize).and_then(Option::as_ref)
    }

    /// Open file `id`, which a descriptor points at.
    pub fn live_filp(&mut self, id: FilpId) -> Filp {
        self.filp(id).cloned().unwrap_or_else(|| panic!("a descriptor points at live open file {id}"))
    }

    /// Modifies open file `id`, which a descriptor points at.
    #[track_caller]
    pub fn live_filp_mut(&mut self, id: FilpId) -> &mut Filp {
        let slot = self.filps.get_mut(id as usize);
        slot.and_then(Option::as_mut).unwrap_or_else(|| panic!("a descriptor points at live open file {id}"))
    }

    /// How many open-file slots are free, up to `want` (to check room before creating anything).
    pub fn has_free_filps(&mut self, want: usize) -> bool {
        let files = self.filps.len();
        (0..files).filter(|&i| self.filps.get(i).is_some_and(Option::is_none)).take(want).count() == want
    }

    /// Opens vnode `vnode` with `flags`, taking over one reference the caller holds on it (one
    /// descriptor will point at the open file); ENFILE when the table is full.
    pub fn open_filp(&mut self, vnode: VnodeId, flags: u32) -> Result<FilpId, Errno> {
        let files = self.filps.len();
        let id = (0..files).find(|&i| self.filps.get(i).is_some_and(Option::is_none)).ok_or(Errno::ENFILE)?;
        let filp = Filp { vnode, flags, offset: 0, count: 1 };
        let (reads, writes) = (filp.readable(), filp.writable());
        if let Some(pipe) = self.live_vnode_mut(vnode).pipe_mut() {
            pipe.readers += u32::from(reads);
            pipe.writers += u32::from(writes);
        }
        self.filps.set(id, Some(filp));
        Ok(id as FilpId)
    }

    /// One more descriptor points at open file `id` (dup, fork).
    pub fn dup_filp(&mut self, id: FilpId) {
        let filp = self.live_filp_mut(id);
        assert!(filp.count > 0, "open file {id} is referenced");
        filp.count += 1;
    }

    /// Drops one descriptor's reference to an open file. At zero the open file is freed and a
    /// pipe loses an end; returns the vnode then, whose reference the caller now gives back
    /// (`vnode::put_vnode`).
    pub fn put_filp(&mut self, id: FilpId) -> Option<VnodeId> {
        let filp = self.live_filp_mut(id);
        assert!(filp.count > 0, "open file {id} has a positive count while referenced");
        filp.count -= 1;
        if filp.count > 0 {
            return None;
        }
        let filp = filp.clone();
        self.filps.set(id as usize, None);
        if let Some(pipe) = self.live_vnode_mut(filp.vnode).pipe_mut() {
            if filp.readable() {
                assert!(pipe.readers > 0, "pipe {} counts its reader", filp.vnode);
                pipe.readers -= 1;
            }
            if filp.writable() {
                assert!(pipe.writers > 0, "pipe {} counts its writer", filp.vnode);
                pipe.writers -= 1;
            }
        }
        Some(filp.vnode)
    }
}

//! vfs's state: the in-memory file system (inode table, block pool with its free list; directory
//! entries live in the directories' blocks; pipes' bytes in their own buffers), the global
//! open-file table, and the per-process descriptor tables. This file holds the types and the
//! allocators; `fs.rs` holds what moves bytes (file data, directory entries), `pipe.rs` a pipe's.
//!
//! Classes: the inode table, the blocks, the pipe buffers, the free list and the open-file table
//! are global (any process may reach them); `fprocs` (descriptors, cwd, ids) and `suspended` (the
//! call a process is blocked in) are per process.
//!
//! Invariants (checked as a whole by `checker::vfs`, asserted here where they are kept):
//! - An open file's `count` equals the descriptors, in all processes, that point at it; a free
//!   slot of the open-file table has none.
//! - An inode's `opens` equals the open files on it; a pipe's `readers` and `writers` count the
//!   open files on it by access mode.
//! - An inode's `nlink` equals the directory entries naming it, `.` and `..` included; an inode
//!   with neither links nor opens is freed at once.
//! - A block is on the free list (holding no data) or in exactly one inode's block list; a file of
//!   `size` bytes holds exactly `ceil(size / BLOCK_SIZE)` blocks (no holes).
//! - A pipe's bytes are in its buffer (at most PIPE_BUF of them); its inode has no blocks and size
//!   0. Every other inode number's buffer is empty.
//! - FD_CLOEXEC flags (`Fproc::cloexec`) are set only on open descriptors; a file-creation mask is
//!   within UMASK_MAX; an open file keeps only its access mode and the status flags.
//! - A suspended poll watches open descriptors only, none of them ready (`poll.rs`).
//! - Only live open files hold flocks; an exclusive flock is the only one on its file; a
//!   suspended flock waits on a conflicting one (`flock.rs`).

use crate::errno::Errno;
use crate::proto::ProcKey;
use crate::proto::vfs::flags::{O_ACCMODE, O_RDONLY, O_RDWR, O_WRONLY};
use kernel_sim::Endpoint;
use recovery::{Journal, ProcTable, StateClass, TrackedVec, tracked_state};

/// Bytes in a block (MINIX's default block size).
pub const BLOCK_SIZE: usize = 1024;
/// Blocks on the disk: 4 MiB, enough for every workload, small enough that a test fills it.
pub const NR_BLOCKS: usize = 4096;
/// Blocks one file may hold (only direct blocks): caps a file at 1 MiB; past it, EFBIG.
pub const MAX_FILE_BLOCKS: usize = 1024;
/// The largest file, in bytes.
pub const MAX_FILE_SIZE: u64 = (MAX_FILE_BLOCKS * BLOCK_SIZE) as u64;
/// Slots of the inode table; inode 0 is never used (it marks a free directory entry), so this
/// many minus one files, directories and pipes can exist at once.
pub const NR_INODES: usize = 1024;
/// Descriptors per process (MINIX's OPEN_MAX).
pub const OPEN_MAX: usize = 32;
/// Entries in the open-file table (MINIX's NR_FILPS).
pub const NR_FILPS: usize = 512;
/// The most links one inode may have (MINIX's LINK_MAX for its V3 file system is larger; a small
/// limit keeps EMLINK reachable).
pub const LINK_MAX: u32 = 127;
/// Bytes a pipe buffers (POSIX's PIPE_BUF): a write of at most this many bytes is atomic; a writer
/// finding the pipe full waits for a reader.
pub const PIPE_BUF: usize = 4096;
/// The uid of the superuser, who passes every permission check but execute-with-no-x-bit.
pub const ROOT_UID: u32 = 0;

/// An inode number.
pub type Ino = u32;
/// The root directory's inode.
pub const ROOT_INO: Ino = 1;
/// An index in the open-file table.
pub type FilpId = u32;
/// A block number.
pub type BlockNo = u32;

/// What an inode is, with the data only that kind has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InodeKind {
    /// A regular file: its bytes are in its blocks.
    Regular,
    /// A directory: its blocks hold 64-byte entries (see `fs.rs`).
    Directory,
    /// A pipe: no name, no blocks; the bytes written and not yet read wait in its buffer
    /// (`VfsState::pipe_bufs`).
    Pipe(Pipe),
}

/// A pipe's ends. Its bytes are not here: moving bytes through a pipe writes its buffer only, so
/// that each request logs the bytes, not the inode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pipe {
    /// Open files reading from it.
    pub readers: u32,
    /// Open files writing to it.
    pub writers: u32,
}

/// One inode (MINIX's `struct inode`).
#[derive(Debug, PartialEq, Eq)]
pub struct Inode {
    /// Regular file, directory or pipe.
    pub kind: InodeKind,
    /// Permission bits (`proto::vfs::mode::PERM_MASK`).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Directory entries naming it.
    pub nlink: u32,
    /// Open files on it (MINIX's `i_count`).
    pub opens: u32,
    /// Bytes (0 for a pipe: its buffer holds its bytes).
    pub size: u64,
    /// Its blocks, in file order; `ceil(size / BLOCK_SIZE)` of them.
    pub blocks: Vec<BlockNo>,
}

// An inode's or fproc's pre-image is cloned into a spent one on the first write of each request:
// field by field, so that its block list or descriptors are copied into the spent one's.
recovery::clone_fields!(Inode { kind, mode, uid, gid, nlink, opens, size, blocks });
recovery::clone_fields!(Fproc { ep, fds, cloexec, cwd, uid, gid, umask });

impl Inode {
    /// A new inode with no links, no opens and no data.
    pub fn new(kind: InodeKind, mode: u32, uid: u32, gid: u32) -> Inode {
        Inode { kind, mode, uid, gid, nlink: 0, opens: 0, size: 0, blocks: Vec::new() }
    }

    /// Whether it is a directory.
    pub fn is_dir(&self) -> bool {
        self.kind == InodeKind::Directory
    }

    /// Whether it is a regular file.
    pub fn is_regular(&self) -> bool {
        self.kind == InodeKind::Regular
    }

    /// Its pipe, if it is one.
    pub fn pipe(&self) -> Option<&Pipe> {
        match &self.kind {
            InodeKind::Pipe(p) => Some(p),
            _ => None,
        }
    }

    /// Its pipe, if it is one, to modify.
    pub fn pipe_mut(&mut self) -> Option<&mut Pipe> {
        match &mut self.kind {
            InodeKind::Pipe(p) => Some(p),
            _ => None,
        }
    }
}

/// The blocks a file of `size` bytes holds.
pub fn blocks_for(size: u64) -> usize {
    size.div_ceil(BLOCK_SIZE as u64) as usize
}

/// One open file, shared by every descriptor that points at it (after fork and dup).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filp {
    /// The inode it is open on.
    pub ino: Ino,
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    /// poll with nothing ready yet and a timeout that is not 0.
    Poll(PollWait),
    /// flock waiting for a conflicting lock on the same file to go (`flock.rs`).
    Flock {
        /// The open file to lock.
        filp: FilpId,
        /// Exclusive (LOCK_EX) or shared (LOCK_SH).
        exclusive: bool,
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
            Suspended::PipeRead { filp, .. } | Suspended::PipeWrite { filp, .. } | Suspended::Flock { filp, .. } => {
                Some(filp)
            }
            Suspended::Poll(_) => None,
        }
    }
}

/// A poll waiting for one of its descriptors to become ready, or for its deadline (`poll.rs`).
///
/// The `pollfd` records stay in the caller's memory (the caller is blocked, its grant lent); the
/// descriptors they name are kept here as bit sets (bit `fd`; OPEN_MAX is 32) so that the checker
/// can tell that none of them is ready: a ready one would have ended the wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PollWait {
    /// The caller's records (read-write grant).
    pub grant: u32,
    /// How many records.
    pub nfds: u32,
    /// Descriptors watched for reading (POLLIN, POLLRDNORM).
    pub readable: u32,
    /// Descriptors watched for writing (POLLOUT, POLLWRNORM).
    pub writable: u32,
    /// Every descriptor the records name (hang-ups and errors are reported whatever was asked).
    pub watched: u32,
    /// When the wait ends with nothing ready (the clock's microseconds); none: no timeout.
    pub deadline: Option<kernel_sim::Micros>,
}

/// One process's file-system view (MINIX's `struct fproc`).
#[derive(Debug, PartialEq, Eq)]
pub struct Fproc {
    /// Whose.
    pub ep: Endpoint,
    /// Its descriptors: an open-file index or nothing; OPEN_MAX of them. A vector, not an array:
    /// handlers take a copy of the caller's entry on every call, and a 300-byte entry costs more
    /// to copy around than an allocation (a pre-image reuses a spent one's vector).
    pub fds: Vec<Option<FilpId>>,
    /// Its descriptors' FD_CLOEXEC flags, bit `fd` (OPEN_MAX is 32): set only on open descriptors;
    /// exec closes these when it succeeds.
    pub cloexec: u32,
    /// Its working directory (a live directory: rmdir refuses a cwd).
    pub cwd: Ino,
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
// Descriptor bit sets (`Fproc::cloexec`, `PollWait`) are u32s: one bit per descriptor.
const _: () = assert!(OPEN_MAX <= u32::BITS as usize);

impl Fproc {
    /// A process with no descriptors, in `/`, as root.
    pub fn new(ep: Endpoint) -> Fproc {
        Fproc { ep, fds: vec![None; OPEN_MAX], cloexec: 0, cwd: ROOT_INO, uid: ROOT_UID, gid: 0, umask: DEFAULT_UMASK }
    }

    /// Whether descriptor `fd` (open or not) is marked close-on-exec.
    pub fn is_cloexec(&self, fd: usize) -> bool {
        fd < OPEN_MAX && self.cloexec & (1 << fd) != 0
    }

    /// The open file descriptor `fd` points at; EBADF for a closed or impossible descriptor.
    pub fn filp_of(&self, fd: i32) -> Result<FilpId, Errno> {
        let index = usize::try_from(fd).map_err(|_| Errno::EBADF)?;
        self.fds.get(index).copied().flatten().ok_or(Errno::EBADF)
    }

    /// The lowest closed descriptor at or above `from`; EMFILE if none.
    pub fn free_fd(&self, from: usize) -> Result<usize, Errno> {
        (from..self.fds.len()).find(|&fd| self.fds[fd].is_none()).ok_or(Errno::EMFILE)
    }
}

/// All of vfs's mutable state.
pub struct VfsState {
    /// The journal of the recovery window.
    pub journal: Journal,
    /// The inode table, indexed by inode number (slot 0 stays empty).
    pub inodes: TrackedVec<Option<Inode>>,
    /// The disk: every block's bytes. A block holds at most BLOCK_SIZE bytes; bytes past its
    /// length read as zeros (blocks are zero-filled lazily, and a free block holds none).
    pub blocks: TrackedVec<Vec<u8>>,
    /// Each pipe's bytes, written and not yet read, oldest first (at most PIPE_BUF), indexed by
    /// the pipe's inode number; empty for every other inode number. Beside the inode table, as a
    /// file's bytes are in blocks: a pipe read or write logs the bytes it moves, not the inode.
    pub pipe_bufs: TrackedVec<Vec<u8>>,
    /// The free blocks, a stack: allocation pops the last.
    pub free_blocks: TrackedVec<BlockNo>,
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
}

tracked_state!(VfsState {
    journal: journal,
    fields: [inodes, blocks, pipe_bufs, free_blocks, filps, fprocs, suspended, flocks],
});

impl VfsState {
    /// An empty disk (not even a root directory), no open files, no processes.
    pub fn empty() -> VfsState {
        let journal = Journal::new();
        // Reversed, so that allocation (a pop) hands out blocks 0, 1, 2... in order.
        let free: Vec<BlockNo> = (0..NR_BLOCKS as BlockNo).rev().collect();
        VfsState {
            inodes: TrackedVec::from_vec(&journal, "vfs.inodes", StateClass::Global, vec![None; NR_INODES]),
            blocks: TrackedVec::from_vec(&journal, "vfs.blocks", StateClass::Global, vec![Vec::new(); NR_BLOCKS]),
            pipe_bufs: TrackedVec::from_vec(&journal, "vfs.pipe_bufs", StateClass::Global, vec![Vec::new(); NR_INODES]),
            free_blocks: TrackedVec::from_vec(&journal, "vfs.free_blocks", StateClass::Global, free),
            filps: TrackedVec::from_vec(&journal, "vfs.filps", StateClass::Global, vec![None; NR_FILPS]),
            fprocs: ProcTable::new(&journal, "vfs.fprocs"),
            suspended: ProcTable::new(&journal, "vfs.suspended"),
            flocks: TrackedVec::from_vec(&journal, "vfs.flocks", StateClass::Global, vec![None; NR_FILPS]),
            journal,
        }
    }

    /// The whole-state self-check: every invariant of the module doc, as readable lines (empty
    /// when consistent). The recovery loop may call it after a recovery.
    pub fn check_invariants(&mut self) -> Vec<String> {
        crate::checker::vfs::check(self).into_iter().map(|v| v.to_string()).collect()
    }

    // ---- inodes -----------------------------------------------------------------------------

    /// Reads inode `ino`, `None` if it is free or out of range.
    pub fn inode(&mut self, ino: Ino) -> Option<&Inode> {
        self.inodes.get(ino as usize).and_then(Option::as_ref)
    }

    /// Modifies inode `ino`, `None` if it is free or out of range.
    #[track_caller]
    pub fn inode_mut(&mut self, ino: Ino) -> Option<&mut Inode> {
        if (ino as usize) >= NR_INODES || self.inodes.get(ino as usize).is_none_or(Option::is_none) {
            return None;
        }
        self.inodes.get_mut(ino as usize).and_then(Option::as_mut)
    }

    /// Inode `ino`, which the caller knows is live (a descriptor, a cwd or an entry names it).
    pub fn live(&mut self, ino: Ino) -> &Inode {
        self.inode(ino).unwrap_or_else(|| panic!("inode {ino} is live"))
    }

    /// Inode `ino` to modify, which the caller knows is live.
    #[track_caller]
    pub fn live_mut(&mut self, ino: Ino) -> &mut Inode {
        self.inode_mut(ino).unwrap_or_else(|| panic!("inode {ino} is live"))
    }

    /// Whether an inode is free.
    pub fn has_free_inode(&mut self) -> bool {
        (1..NR_INODES).any(|i| self.inodes.get(i).is_some_and(Option::is_none))
    }

    /// Takes the lowest free inode for `inode`; ENOSPC when the table is full.
    pub fn alloc_inode(&mut self, inode: Inode) -> Result<Ino, Errno> {
        assert!(inode.nlink == 0 && inode.opens == 0 && inode.blocks.is_empty(), "a new inode is bare");
        let ino = (1..NR_INODES).find(|&i| self.inodes.get(i).is_some_and(Option::is_none)).ok_or(Errno::ENOSPC)?;
        assert!(self.pipe_bufs.get(ino).is_some_and(Vec::is_empty), "free inode {ino} buffers no pipe bytes");
        self.inodes.set(ino, Some(inode));
        Ok(ino as Ino)
    }

    /// Frees inode `ino` and its blocks if nothing names it and nothing has it open. Returns
    /// whether it was freed.
    pub fn release_if_unused(&mut self, ino: Ino) -> bool {
        let inode = self.live(ino);
        if inode.nlink > 0 || inode.opens > 0 {
            return false;
        }
        assert!(ino != ROOT_INO, "the root directory is never freed");
        let unread = self.pipe_bufs.get(ino as usize).is_some_and(|bytes| !bytes.is_empty());
        if unread {
            // A pipe whose last end closed with bytes in it: they go with it.
            self.pipe_bufs.set(ino as usize, Vec::new());
        }
        self.truncate(ino);
        self.inodes.set(ino as usize, None);
        true
    }

    // ---- blocks -----------------------------------------------------------------------------

    /// Free blocks left.
    pub fn free_block_count(&mut self) -> usize {
        self.free_blocks.len()
    }

    /// Takes a free block (it holds no data, so it reads as zeros); ENOSPC when the disk is full.
    pub fn alloc_block(&mut self) -> Result<BlockNo, Errno> {
        let block = self.free_blocks.pop().ok_or(Errno::ENOSPC)?;
        assert!((block as usize) < NR_BLOCKS, "free list holds block {block} past the disk");
        assert!(self.blocks.get(block as usize).is_some_and(Vec::is_empty), "free block {block} holds no data");
        Ok(block)
    }

    /// Returns a block to the free list, dropping its data.
    pub fn free_block(&mut self, block: BlockNo) {
        assert!((block as usize) < NR_BLOCKS, "freeing block {block} past the disk");
        self.blocks.set(block as usize, Vec::new());
        self.free_blocks.push(block);
        assert!(self.free_blocks.len() <= NR_BLOCKS, "more free blocks than the disk holds");
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
        (0..NR_FILPS).filter(|&i| self.filps.get(i).is_some_and(Option::is_none)).take(want).count() == want
    }

    /// Opens inode `ino` with `flags` (one descriptor will point at it); ENFILE when the table is
    /// full.
    pub fn open_filp(&mut self, ino: Ino, flags: u32) -> Result<FilpId, Errno> {
        let id = (0..NR_FILPS).find(|&i| self.filps.get(i).is_some_and(Option::is_none)).ok_or(Errno::ENFILE)?;
        let filp = Filp { ino, flags, offset: 0, count: 1 };
        let (reads, writes) = (filp.readable(), filp.writable());
        let inode = self.live_mut(ino);
        inode.opens += 1;
        if let Some(pipe) = inode.pipe_mut() {
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

    /// Drops one descriptor's reference to an open file. At zero the open file is freed and the
    /// inode loses an open (and is freed if nothing names it either); returns the inode then, so
    /// the caller can wake the other end of a pipe.
    pub fn put_filp(&mut self, id: FilpId) -> Option<Ino> {
        let filp = self.live_filp_mut(id);
        assert!(filp.count > 0, "open file {id} has a positive count while referenced");
        filp.count -= 1;
        if filp.count > 0 {
            return None;
        }
        let filp = filp.clone();
        self.filps.set(id as usize, None);
        let inode = self.live_mut(filp.ino);
        assert!(inode.opens > 0, "inode {} counts open file {id}", filp.ino);
        inode.opens -= 1;
        if let Some(pipe) = inode.pipe_mut() {
            if filp.readable() {
                assert!(pipe.readers > 0, "pipe {} counts its reader", filp.ino);
                pipe.readers -= 1;
            }
            if filp.writable() {
                assert!(pipe.writers > 0, "pipe {} counts its writer", filp.ino);
                pipe.writers -= 1;
            }
        }
        self.release_if_unused(filp.ino);
        Some(filp.ino)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_handed_out_in_order_and_come_back() {
        let mut s = VfsState::empty();
        assert_eq!(s.alloc_block(), Ok(0));
        assert_eq!(s.alloc_block(), Ok(1));
        s.free_block(0);
        assert_eq!(s.free_block_count(), NR_BLOCKS - 1);
        assert_eq!(s.alloc_block(), Ok(0));
    }

    fn disk() -> VfsState {
        let mut s = VfsState::empty();
        s.make_root(0o755);
        s
    }

    #[test]
    fn the_last_close_of_an_unlinked_file_frees_it() {
        let mut s = disk();
        let ino = s.alloc_inode(Inode::new(InodeKind::Regular, 0o644, 0, 0)).unwrap();
        let id = s.open_filp(ino, O_RDWR).unwrap();
        s.dup_filp(id);
        assert_eq!(s.put_filp(id), None);
        assert_eq!(s.put_filp(id), Some(ino));
        assert!(s.inode(ino).is_none());
        assert!(s.filp(id).is_none());
    }

    #[test]
    fn pipe_ends_are_counted_by_access_mode() {
        let mut s = disk();
        let ino = s.alloc_inode(Inode::new(InodeKind::Pipe(Pipe::default()), 0o600, 0, 0)).unwrap();
        let r = s.open_filp(ino, O_RDONLY).unwrap();
        let w = s.open_filp(ino, O_WRONLY).unwrap();
        assert_eq!(s.live(ino).pipe().map(|p| (p.readers, p.writers)), Some((1, 1)));
        s.put_filp(w);
        assert_eq!(s.live(ino).pipe().map(|p| (p.readers, p.writers)), Some((1, 0)));
        s.put_filp(r);
        assert!(s.inode(ino).is_none());
    }
}

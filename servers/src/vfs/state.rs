//! vfs's state: per-process descriptor tables (keyed by slot) and the global open-file table.
//!
//! Invariants: an open file's `count` equals the number of descriptors, in all processes, that
//! point at it; a free slot of the open-file table has no descriptor pointing at it.

use crate::proto::ProcKey;
use kernel_sim::Endpoint;
use recovery::{Journal, ProcTable, StateClass, TrackedVec, tracked_state};

/// Descriptors per process (MINIX's OPEN_MAX).
pub const OPEN_MAX: usize = 32;
/// Entries in the open-file table (MINIX's NR_FILPS).
pub const NR_FILPS: usize = 512;

/// An inode number.
pub type Ino = u32;
/// The root directory's inode.
pub const ROOT_INO: Ino = 1;
/// An index in the open-file table.
pub type FilpId = u32;

/// One open file, shared by every descriptor that points at it (after fork and dup).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filp {
    /// The inode it is open on.
    pub ino: Ino,
    /// The open flags (access mode, append).
    pub flags: u32,
    /// The shared file offset.
    pub offset: u64,
    /// Descriptors pointing here.
    pub count: u32,
}

/// One process's file-system view (MINIX's `struct fproc`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fproc {
    /// Whose.
    pub ep: Endpoint,
    /// Its descriptors: an open-file index or nothing.
    pub fds: Vec<Option<FilpId>>,
    /// Its working directory.
    pub cwd: Ino,
    /// Effective user id, for permission checks.
    pub uid: u32,
    /// Effective group id.
    pub gid: u32,
}

impl Fproc {
    /// A process with no descriptors, in `/`, as root.
    pub fn new(ep: Endpoint) -> Fproc {
        Fproc { ep, fds: vec![None; OPEN_MAX], cwd: ROOT_INO, uid: 0, gid: 0 }
    }
}

/// All of vfs's mutable state.
pub struct VfsState {
    /// The journal of the recovery window.
    pub journal: Journal,
    /// The open-file table.
    pub filps: TrackedVec<Option<Filp>>,
    /// Per-process descriptor tables, keyed by slot.
    pub fprocs: ProcTable<ProcKey, Fproc>,
}

tracked_state!(VfsState { journal: journal, fields: [filps, fprocs] });

impl VfsState {
    /// No open files, no processes.
    pub fn empty() -> VfsState {
        let journal = Journal::new();
        VfsState {
            filps: TrackedVec::from_vec(&journal, "vfs.filps", StateClass::Global, vec![None; NR_FILPS]),
            fprocs: ProcTable::new(&journal, "vfs.fprocs"),
            journal,
        }
    }

    /// Drops one reference to an open file, freeing it at zero.
    pub fn put_filp(&mut self, id: FilpId) {
        let slot = self.filps.get_mut(id as usize).expect("descriptors point into the table");
        let filp = slot.as_mut().expect("a descriptor points at a live open file");
        assert!(filp.count > 0, "open file {id} has a positive count while referenced");
        filp.count -= 1;
        if filp.count == 0 {
            *slot = None;
        }
    }
}

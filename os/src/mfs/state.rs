//! mfs's state: the inode table (each inode with its link count and MINIX's `i_count`, the
//! references vfs holds), and the block pool with its free list (directory entries live in the
//! directories' blocks). This file holds the types and the inode
//! allocator; `block.rs` the block interface, `fs.rs` what moves bytes (file data, directory
//! entries).
//!
//! The blocks are a cache of the whole disk, authoritative while mfs runs (and rolled back with
//! it); what a request wrote goes to the block device at its end (`block.rs`'s write-back).
//!
//! Classes: all global (any process's call through vfs may reach any inode or block).
//!
//! Invariants (checked as a whole by `check.rs`, asserted here where they are kept):
//! - An inode's `nlink` equals the directory entries naming it, `.` and `..` included; an inode
//!   with neither links nor references is freed at once.
//! - An inode's `refs` equals the references vfs's vnodes hold on it (`checker::cross`).
//! - A block is on the free list (holding no data) or in exactly one inode's block list; a file of
//!   `size` bytes holds exactly `ceil(size / BLOCK_SIZE)` blocks (no holes).

use crate::errno::Errno;
use crate::libbdev::Driver;
use recovery::{Journal, StateClass, TrackedCell, TrackedMap, TrackedVec, tracked_state};

/// Bytes in a block (MINIX's default block size).
pub const BLOCK_SIZE: usize = 1024;
/// Blocks on the disk by default: 4 MiB, enough for every workload and its fixtures, small enough
/// that a test fills it and a campaign stays fast (`param blocks N;` in mfs's manifest entry sets
/// another size; memdisk's memory must hold it).
pub const NR_BLOCKS: usize = 4096;
/// Zone numbers an indirect block of MINIX's V3 file system holds (4 bytes each).
const ZONES_PER_BLOCK: usize = BLOCK_SIZE / 4;
/// Blocks one file may hold: as many as a MINIX V3 inode reaches with 1 KiB blocks (7 direct
/// zones, one indirect and one double indirect: 65,799 blocks, a little over 64 MiB), the limit
/// MINIX's mkfs writes into the superblock. samsara keeps a file's block list whole but caps it
/// where MINIX does; past it, EFBIG. A file larger than the disk ends in ENOSPC first.
pub const MAX_FILE_BLOCKS: usize = 7 + ZONES_PER_BLOCK + ZONES_PER_BLOCK * ZONES_PER_BLOCK;
/// The largest file, in bytes.
pub const MAX_FILE_SIZE: u64 = (MAX_FILE_BLOCKS * BLOCK_SIZE) as u64;
/// Slots of the inode table by default (`param inodes N;` sets another size); inode 0 is never
/// used (it marks a free directory entry), so this many minus one files and directories can exist
/// at once.
pub const NR_INODES: usize = 1024;

/// How big the file system is: its inode table's slots and its blocks, fixed at boot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sizes {
    /// Slots of the inode table.
    pub inodes: usize,
    /// Blocks on the disk.
    pub blocks: usize,
}

impl Sizes {
    /// The sizes when the manifest sets none.
    pub const DEFAULT: Sizes = Sizes { inodes: NR_INODES, blocks: NR_BLOCKS };
}
/// The most links one inode may have (MINIX's LINK_MAX for its V3 file system is larger; a small
/// limit keeps EMLINK reachable).
pub const LINK_MAX: u32 = 127;
pub use crate::proto::fs::ROOT_UID;

/// An inode number.
pub type Ino = u32;
/// The root directory's inode.
pub const ROOT_INO: Ino = 1;
/// A block number.
pub type BlockNo = u32;

/// What an inode is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InodeKind {
    /// A regular file: its bytes are in its blocks.
    Regular,
    /// A directory: its blocks hold 64-byte entries (see `fs.rs`).
    Directory,
    /// A symbolic link: its bytes (in its blocks) are the path it names.
    Symlink,
    /// A named pipe (mkfifo): a name and attributes only; its bytes pass through vfs, which
    /// keeps a pipe for it while it is open.
    Fifo,
    /// A character special file: a name, attributes and a device number (MINIX keeps it in the
    /// first zone); its bytes are its driver's, reached through vfs.
    CharDevice(u32),
    /// A block special file: the same, for a block device.
    BlockDevice(u32),
}

/// One inode (MINIX's `struct inode`).
#[derive(Debug, PartialEq, Eq)]
pub struct Inode {
    /// Regular file, directory, symbolic link, named pipe or special file.
    pub kind: InodeKind,
    /// Permission bits (`proto::vfs::mode::PERM_MASK`).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Directory entries naming it.
    pub nlink: u32,
    /// References vfs holds on it (MINIX's `i_count`): given by lookups that take one, creates
    /// and readsuper, given back by REQ_PUTNODE.
    pub refs: u32,
    /// Bytes.
    pub size: u64,
    /// Its blocks, in file order; `ceil(size / BLOCK_SIZE)` of them.
    pub blocks: Vec<BlockNo>,
    /// Last access, microseconds since the Epoch: set at creation and by utimens only (the file
    /// system is mounted `noatime`: a read writes nothing, so it stays a read for recovery).
    pub atime: i64,
    /// Last change of its data (a write, a truncate, an entry added or removed).
    pub mtime: i64,
    /// Last change of the inode itself (its data, links, permissions, owner or times).
    pub ctime: i64,
}

/// Which of an inode's times a change marks (MINIX's `i_update` bits), for [`MfsState::stamp`].
pub mod times {
    /// The access time.
    pub const ATIME: u8 = 1;
    /// The modification time.
    pub const MTIME: u8 = 2;
    /// The change time.
    pub const CTIME: u8 = 4;
    /// An entry of a directory or the data of a file changed.
    pub const MODIFIED: u8 = MTIME | CTIME;
    /// All three: a new inode.
    pub const ALL: u8 = ATIME | MTIME | CTIME;
}

// An inode's pre-image is cloned into a spent one on the first write of each request: field by
// field, so that its block list is copied into the spent one's.
recovery::clone_fields!(Inode { kind, mode, uid, gid, nlink, refs, size, blocks, atime, mtime, ctime });

impl Inode {
    /// A new inode with no links, no references and no data.
    pub fn new(kind: InodeKind, mode: u32, uid: u32, gid: u32) -> Inode {
        Inode { kind, mode, uid, gid, nlink: 0, refs: 0, size: 0, blocks: Vec::new(), atime: 0, mtime: 0, ctime: 0 }
    }

    /// Whether it is a directory.
    pub fn is_dir(&self) -> bool {
        self.kind == InodeKind::Directory
    }

    /// Whether it is a regular file.
    pub fn is_regular(&self) -> bool {
        self.kind == InodeKind::Regular
    }

    /// Whether it is a symbolic link.
    pub fn is_symlink(&self) -> bool {
        self.kind == InodeKind::Symlink
    }

    /// Its kind on the wire (`proto::fs::kind`).
    pub fn wire_kind(&self) -> u32 {
        match self.kind {
            InodeKind::Regular => crate::proto::fs::kind::REGULAR,
            InodeKind::Directory => crate::proto::fs::kind::DIRECTORY,
            InodeKind::Symlink => crate::proto::fs::kind::SYMLINK,
            InodeKind::Fifo => crate::proto::fs::kind::FIFO,
            InodeKind::CharDevice(_) => crate::proto::fs::kind::CHAR_DEVICE,
            InodeKind::BlockDevice(_) => crate::proto::fs::kind::BLOCK_DEVICE,
        }
    }

    /// Its device number: a special file's, 0 for anything else.
    pub fn rdev(&self) -> u32 {
        match self.kind {
            InodeKind::CharDevice(dev) | InodeKind::BlockDevice(dev) => dev,
            _ => 0,
        }
    }

    /// Whether ids `uid`/`gid` may access it as `want` (`proto::fs::permitted`).
    pub fn permits(&self, uid: u32, gid: u32, want: u32) -> bool {
        crate::proto::fs::permitted(self.mode, self.uid, self.gid, self.is_dir(), uid, gid, want)
    }
}

/// The blocks a file of `size` bytes holds.
pub fn blocks_for(size: u64) -> usize {
    size.div_ceil(BLOCK_SIZE as u64) as usize
}

/// All of mfs's mutable state.
pub struct MfsState {
    /// The journal of the recovery window.
    pub journal: Journal,
    /// The inode table, indexed by inode number (slot 0 stays empty).
    pub inodes: TrackedVec<Option<Inode>>,
    /// The disk: every block's bytes, reached only through `block.rs`. A block holds at most
    /// BLOCK_SIZE bytes; bytes past its length read as zeros (blocks are zero-filled lazily, and a
    /// free block holds none).
    pub blocks: TrackedVec<Vec<u8>>,
    /// The free blocks, a stack: allocation pops the last.
    pub free_blocks: TrackedVec<BlockNo>,
    /// The block device the blocks are kept on, as libbdev knows it (found by name through ds,
    /// opened at the first write-back); `None` until then.
    pub disk: TrackedCell<Option<Driver>>,
    /// Blocks written since their last write-back to the device (MINIX's dirty buffers).
    pub dirty: TrackedMap<BlockNo, ()>,
}

tracked_state!(MfsState { journal: journal, fields: [inodes, blocks, free_blocks, disk, dirty] });

impl MfsState {
    /// An empty disk of the default sizes (not even a root directory).
    pub fn empty() -> MfsState {
        MfsState::sized(Sizes::DEFAULT)
    }

    /// An empty disk of `sizes`.
    pub fn sized(sizes: Sizes) -> MfsState {
        let journal = Journal::new();
        // Reversed, so that allocation (a pop) hands out blocks 0, 1, 2... in order.
        let free: Vec<BlockNo> = (0..sizes.blocks as BlockNo).rev().collect();
        MfsState {
            inodes: TrackedVec::from_vec(&journal, "mfs.inodes", StateClass::Global, vec![None; sizes.inodes]),
            blocks: TrackedVec::from_vec(&journal, "mfs.blocks", StateClass::Global, vec![Vec::new(); sizes.blocks]),
            free_blocks: TrackedVec::from_vec(&journal, "mfs.free_blocks", StateClass::Global, free),
            disk: TrackedCell::new(&journal, "mfs.disk", StateClass::Global, None),
            dirty: TrackedMap::new(&journal, "mfs.dirty", StateClass::Global),
            journal,
        }
    }

    /// The file system's sizes: its tables' lengths, fixed at boot.
    pub fn sizes(&mut self) -> Sizes {
        Sizes { inodes: self.inodes.len(), blocks: self.blocks.len() }
    }

    /// The whole-state self-check: every invariant of the module doc that mfs can see alone, as
    /// readable lines (empty when consistent).
    pub fn check_invariants(&mut self) -> Vec<String> {
        super::check::check(self).into_iter().map(|v| v.to_string()).collect()
    }

    /// Reads inode `ino`, `None` if it is free or out of range.
    pub fn inode(&mut self, ino: Ino) -> Option<&Inode> {
        self.inodes.get(ino as usize).and_then(Option::as_ref)
    }

    /// Modifies inode `ino`, `None` if it is free or out of range.
    #[track_caller]
    pub fn inode_mut(&mut self, ino: Ino) -> Option<&mut Inode> {
        if self.inodes.get(ino as usize).is_none_or(Option::is_none) {
            return None;
        }
        self.inodes.get_mut(ino as usize).and_then(Option::as_mut)
    }

    /// Inode `ino`, which the caller knows is live (an entry names it, or it was checked).
    pub fn live(&mut self, ino: Ino) -> &Inode {
        self.inode(ino).unwrap_or_else(|| panic!("inode {ino} is live"))
    }

    /// Inode `ino` to modify, which the caller knows is live.
    #[track_caller]
    pub fn live_mut(&mut self, ino: Ino) -> &mut Inode {
        self.inode_mut(ino).unwrap_or_else(|| panic!("inode {ino} is live"))
    }

    /// Inode `ino` named by a request: EINVAL for a number that names no live inode (vfs asked
    /// about an inode it holds no vnode for: an errno, never a panic).
    pub fn named(&mut self, ino: Ino) -> Result<&Inode, Errno> {
        self.inode(ino).ok_or(Errno::EINVAL)
    }

    /// Whether an inode is free.
    pub fn has_free_inode(&mut self) -> bool {
        let slots = self.inodes.len();
        (1..slots).any(|i| self.inodes.get(i).is_some_and(Option::is_none))
    }

    /// Takes the lowest free inode for `inode`; ENOSPC when the table is full.
    pub fn alloc_inode(&mut self, inode: Inode) -> Result<Ino, Errno> {
        assert!(inode.nlink == 0 && inode.refs == 0 && inode.blocks.is_empty(), "a new inode is bare");
        let slots = self.inodes.len();
        let ino = (1..slots).find(|&i| self.inodes.get(i).is_some_and(Option::is_none)).ok_or(Errno::ENOSPC)?;
        self.inodes.set(ino, Some(inode));
        Ok(ino as Ino)
    }

    /// Frees inode `ino` and its blocks if nothing names it and vfs holds no reference on it.
    /// Returns whether it was freed.
    pub fn release_if_unused(&mut self, ino: Ino) -> bool {
        let inode = self.live(ino);
        if inode.nlink > 0 || inode.refs > 0 {
            return false;
        }
        assert!(ino != ROOT_INO, "the root directory is never freed");
        self.truncate(ino);
        self.inodes.set(ino as usize, None);
        true
    }

    /// Sets the times `what` (`times::*`) of inode `ino` to `now`, microseconds since the Epoch; an
    /// inode the change freed has none to set.
    pub fn stamp(&mut self, ino: Ino, what: u8, now: i64) {
        if let Some(inode) = self.inode_mut(ino) {
            if what & times::ATIME != 0 {
                inode.atime = now;
            }
            if what & times::MTIME != 0 {
                inode.mtime = now;
            }
            if what & times::CTIME != 0 {
                inode.ctime = now;
            }
        }
    }

    /// One more reference on live inode `ino` (vfs keeps a vnode of it).
    pub fn take_ref(&mut self, ino: Ino) {
        self.live_mut(ino).refs += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unlinked_inode_lives_while_referenced() {
        let mut s = MfsState::empty();
        s.make_root(0o755);
        let ino = s.alloc_inode(Inode::new(InodeKind::Regular, 0o644, 0, 0)).unwrap();
        s.take_ref(ino);
        assert!(!s.release_if_unused(ino), "a reference keeps it");
        s.live_mut(ino).refs = 0;
        assert!(s.release_if_unused(ino));
        assert!(s.inode(ino).is_none());
    }
}

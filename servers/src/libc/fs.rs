//! File-system calls (to vfs).

use super::Sys;

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
    /// Bytes.
    pub size: u64,
    /// Blocks in use.
    pub blocks: u64,
}

/// One directory entry from getdents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// Inode number.
    pub ino: u32,
    /// Name.
    pub name: String,
}

impl Sys<'_> {}

//! The file system proper, on mfs's state: file data in blocks (read, write, truncate) and
//! directories as files of fixed-size entries (lookup, insert, remove, list), plus building the
//! boot tree. Blocks are reached through `block.rs` only.
//!
//! Directory format (MINIX V3's `struct direct`): a directory's bytes are DIRENT_SIZE-byte slots,
//! each an inode number (u32, little-endian; 0 = a free slot) and a name of up to NAME_MAX bytes,
//! NUL-padded. Every live directory holds `.` (itself) and `..` (its parent; the root's is itself),
//! so a directory's link count is 2 plus its subdirectories. Removing an entry zeroes its slot; a
//! directory never shrinks (as in MINIX) until it is removed.
//!
//! Invariants kept: a file holds exactly `blocks_for(size)` blocks (a write past the end allocates
//! every block up to it, zero-filled); a write that cannot get every block it needs writes what
//! fits and gives the rest back; no name appears twice in one directory.

use super::state::{BLOCK_SIZE, BlockNo, Ino, Inode, InodeKind, MAX_FILE_SIZE, MfsState, ROOT_INO, blocks_for};
use crate::errno::Errno;
use crate::proto::vfs::NAME_MAX;

/// Bytes of one directory entry on disk: the inode number (4) and the name (NAME_MAX).
pub const DIRENT_SIZE: usize = 4 + NAME_MAX;

/// One used slot of a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirSlot {
    /// The slot's byte offset in the directory.
    pub offset: u64,
    /// The inode it names.
    pub ino: Ino,
    /// The name.
    pub name: Vec<u8>,
}

fn encode_dirent(ino: Ino, name: &[u8]) -> [u8; DIRENT_SIZE] {
    assert!(!name.is_empty() && name.len() <= NAME_MAX && !name.contains(&0), "a valid entry name");
    let mut raw = [0u8; DIRENT_SIZE];
    raw[..4].copy_from_slice(&ino.to_le_bytes());
    raw[4..4 + name.len()].copy_from_slice(name);
    raw
}

fn decode_dirent(raw: &[u8]) -> (Ino, Vec<u8>) {
    let ino = Ino::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
    let name = &raw[4..];
    let len = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    (ino, name[..len].to_vec())
}

impl MfsState {
    // ---- file data ----------------------------------------------------------------------------

    /// Up to `len` bytes of regular file or directory `ino` from `offset` (fewer at the end).
    pub fn read_data(&mut self, ino: Ino, offset: u64, len: u64) -> Vec<u8> {
        let inode = self.live(ino);
        let end = offset.saturating_add(len).min(inode.size);
        if offset >= end {
            return Vec::new();
        }
        let first = (offset / BLOCK_SIZE as u64) as usize;
        let last = ((end - 1) / BLOCK_SIZE as u64) as usize;
        let blocks: Vec<BlockNo> = inode.blocks[first..=last].to_vec();
        let mut out = Vec::with_capacity((end - offset) as usize);
        let mut pos = offset;
        for block in blocks {
            let within = (pos % BLOCK_SIZE as u64) as usize;
            let chunk = (BLOCK_SIZE - within).min((end - pos) as usize);
            let data = self.read_block(block);
            // Bytes past the block's data are zeros (lazy zero-fill).
            let stored = data.get(within..data.len().min(within + chunk)).unwrap_or(&[]);
            out.extend_from_slice(stored);
            out.resize(out.len() + (chunk - stored.len()), 0);
            pos += chunk as u64;
        }
        assert_eq!(pos, end, "read every block of the range");
        out
    }

    /// Writes `data` into regular file or directory `ino` at `offset`, growing it as needed.
    /// Returns the bytes written: fewer than asked when the disk fills (ENOSPC if none fit) or the
    /// file reaches MAX_FILE_SIZE (EFBIG if none fit).
    pub fn write_data(&mut self, ino: Ino, offset: u64, data: &[u8]) -> Result<usize, Errno> {
        if data.is_empty() {
            return Ok(0);
        }
        if offset >= MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        let inode = self.live(ino);
        let (had, size) = (inode.blocks.len(), inode.size);
        assert_eq!(had, blocks_for(size), "inode {ino} holds one block per started BLOCK_SIZE bytes");
        let mut end = offset.saturating_add(data.len() as u64).min(MAX_FILE_SIZE);
        let mut grown = Vec::new();
        for _ in had..blocks_for(end) {
            match self.alloc_block() {
                Ok(block) => grown.push(block),
                Err(_) => break,
            }
        }
        end = end.min(((had + grown.len()) * BLOCK_SIZE) as u64);
        if end <= offset {
            // Not even the first byte's block: give back the blocks of the gap and change nothing.
            for block in grown {
                self.free_block(block);
            }
            return Err(Errno::ENOSPC);
        }
        // An overwrite inside the file leaves the inode as it is: it is written only when the file
        // grows, so that such a write logs no inode pre-image.
        if !grown.is_empty() || end > size {
            let inode = self.live_mut(ino);
            inode.blocks.extend_from_slice(&grown);
            inode.size = inode.size.max(end);
        }
        let blocks = self.live(ino).blocks.clone();
        let mut pos = offset;
        while pos < end {
            let within = (pos % BLOCK_SIZE as u64) as usize;
            let chunk = (BLOCK_SIZE - within).min((end - pos) as usize);
            let block = blocks[(pos / BLOCK_SIZE as u64) as usize];
            let from = (pos - offset) as usize;
            self.write_block(block, within, &data[from..from + chunk]);
            pos += chunk as u64;
        }
        Ok((end - offset) as usize)
    }

    /// Cuts regular file or directory `ino` to zero bytes, freeing its blocks.
    pub fn truncate(&mut self, ino: Ino) {
        let inode = self.live_mut(ino);
        let blocks = std::mem::take(&mut inode.blocks);
        inode.size = 0;
        for block in blocks {
            self.free_block(block);
        }
    }

    /// Sets regular file `ino`'s size to `size`: a shorter file frees the blocks past its end (and
    /// the bytes past it in its last block read as zeros again); a longer one gets zero-filled
    /// blocks up to it, all or none (ENOSPC), at most MAX_FILE_SIZE (EFBIG).
    pub fn resize(&mut self, ino: Ino, size: u64) -> Result<(), Errno> {
        if size > MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        let (old, had) = (self.live(ino).size, self.live(ino).blocks.len());
        let want = blocks_for(size);
        if want > had && self.free_block_count() < want - had {
            return Err(Errno::ENOSPC);
        }
        let mut grown = Vec::new();
        for _ in had..want {
            grown.push(self.alloc_block().expect("room was checked"));
        }
        let inode = self.live_mut(ino);
        let cut = inode.blocks.split_off(want.min(had));
        inode.blocks.extend_from_slice(&grown);
        inode.size = size;
        let last = inode.blocks.last().copied();
        for block in cut {
            self.free_block(block);
        }
        if size < old
            && let Some(last) = last
        {
            let keep = size as usize - (want - 1) * BLOCK_SIZE;
            self.cut_block(last, keep);
        }
        Ok(())
    }

    // ---- directories --------------------------------------------------------------------------

    /// Every used slot of directory `dir`, in order.
    pub fn dir_entries(&mut self, dir: Ino) -> Vec<DirSlot> {
        assert!(self.live(dir).is_dir(), "inode {dir} is a directory");
        let size = self.live(dir).size;
        assert_eq!(size % DIRENT_SIZE as u64, 0, "directory {dir} holds whole entries");
        let raw = self.read_data(dir, 0, size);
        raw.chunks_exact(DIRENT_SIZE)
            .enumerate()
            .map(|(i, slot)| (i, decode_dirent(slot)))
            .filter(|(_, (ino, _))| *ino != 0)
            .map(|(i, (ino, name))| DirSlot { offset: (i * DIRENT_SIZE) as u64, ino, name })
            .collect()
    }

    /// The inode `name` names in directory `dir`.
    pub fn dir_lookup(&mut self, dir: Ino, name: &[u8]) -> Option<Ino> {
        self.dir_entries(dir).into_iter().find(|e| e.name == name).map(|e| e.ino)
    }

    /// Where the next entry of `dir` would go: its first free slot, or its end.
    fn dir_free_offset(&mut self, dir: Ino) -> u64 {
        let size = self.live(dir).size;
        let raw = self.read_data(dir, 0, size);
        let free = raw.chunks_exact(DIRENT_SIZE).position(|slot| decode_dirent(slot).0 == 0);
        free.map_or(size, |i| (i * DIRENT_SIZE) as u64)
    }

    /// Blocks a new entry in `dir` needs (0 or 1); ENOSPC if the directory cannot grow.
    pub fn dir_blocks_needed(&mut self, dir: Ino) -> Result<usize, Errno> {
        let offset = self.dir_free_offset(dir);
        let end = offset + DIRENT_SIZE as u64;
        if end > MAX_FILE_SIZE {
            return Err(Errno::ENOSPC);
        }
        Ok(blocks_for(end).saturating_sub(self.live(dir).blocks.len()))
    }

    /// Adds entry `name` -> `ino` to directory `dir` (the caller checked that the name is free and
    /// counts the link); ENOSPC when the directory cannot grow.
    pub fn dir_insert(&mut self, dir: Ino, name: &[u8], ino: Ino) -> Result<(), Errno> {
        assert!(ino != 0, "an entry names a real inode");
        debug_assert!(self.dir_lookup(dir, name).is_none(), "no name twice in one directory");
        let offset = self.dir_free_offset(dir);
        match self.write_data(dir, offset, &encode_dirent(ino, name)) {
            Ok(DIRENT_SIZE) => Ok(()),
            Ok(_) => unreachable!("a slot never straddles a block: BLOCK_SIZE is a multiple of DIRENT_SIZE"),
            Err(_) => Err(Errno::ENOSPC),
        }
    }

    /// Points the existing entry `name` of `dir` at `ino` instead; returns the inode it named.
    pub fn dir_replace(&mut self, dir: Ino, name: &[u8], ino: Ino) -> Option<Ino> {
        let slot = self.dir_entries(dir).into_iter().find(|e| e.name == name)?;
        let written = self.write_data(dir, slot.offset, &encode_dirent(ino, name));
        assert_eq!(written, Ok(DIRENT_SIZE), "rewriting a slot inside the directory needs no block");
        Some(slot.ino)
    }

    /// Removes entry `name` from `dir` (the caller drops the link); returns the inode it named.
    pub fn dir_remove(&mut self, dir: Ino, name: &[u8]) -> Option<Ino> {
        let slot = self.dir_entries(dir).into_iter().find(|e| e.name == name)?;
        let written = self.write_data(dir, slot.offset, &[0u8; DIRENT_SIZE]);
        assert_eq!(written, Ok(DIRENT_SIZE), "clearing a slot inside the directory needs no block");
        Some(slot.ino)
    }

    /// Whether directory `dir` holds nothing but `.` and `..`.
    pub fn dir_is_empty(&mut self, dir: Ino) -> bool {
        self.dir_entries(dir).iter().all(|e| e.name == b"." || e.name == b"..")
    }

    // ---- building -----------------------------------------------------------------------------

    /// Makes directory `name` in `parent` (or the root, when `parent` is None): `.` and `..`
    /// written, links counted. For boot; handlers check permissions and room first.
    pub fn make_dir(&mut self, parent: Option<Ino>, name: &[u8], mode: u32, uid: u32, gid: u32) -> Result<Ino, Errno> {
        let ino = self.alloc_inode(Inode::new(InodeKind::Directory, mode, uid, gid))?;
        let up = parent.unwrap_or(ino);
        let made =
            self.dir_insert(ino, b".", ino).and_then(|()| self.dir_insert(ino, b"..", up)).and_then(
                |()| match parent {
                    Some(parent) => self.dir_insert(parent, name, ino),
                    None => Ok(()),
                },
            );
        if let Err(e) = made {
            self.truncate(ino);
            self.inodes.set(ino as usize, None);
            return Err(e);
        }
        // Its entry in the parent and its own "." (the root: its "." and its ".."); the parent
        // gains the new ".." .
        self.live_mut(ino).nlink = 2;
        if let Some(parent) = parent {
            self.live_mut(parent).nlink += 1;
        }
        Ok(ino)
    }

    /// Makes regular file `name` in `dir` holding `contents`. For boot.
    pub fn make_file(&mut self, dir: Ino, name: &[u8], mode: u32, contents: &[u8]) -> Result<Ino, Errno> {
        let ino = self.make_node(dir, name, InodeKind::Regular, mode)?;
        let written = self.write_data(ino, 0, contents)?;
        assert_eq!(written, contents.len(), "a boot file fits");
        Ok(ino)
    }

    /// Makes `name` in `dir`, an inode of kind `kind` with one link and no data (a special file,
    /// or a regular file before its bytes). For boot.
    pub fn make_node(&mut self, dir: Ino, name: &[u8], kind: InodeKind, mode: u32) -> Result<Ino, Errno> {
        let ino = self.alloc_inode(Inode::new(kind, mode, 0, 0))?;
        self.dir_insert(dir, name, ino)?;
        self.live_mut(ino).nlink = 1;
        Ok(ino)
    }

    /// The root directory, at ROOT_INO, on an empty disk.
    pub fn make_root(&mut self, mode: u32) {
        let ino = self.make_dir(None, b"/", mode, 0, 0).expect("an empty disk has room for the root");
        assert_eq!(ino, ROOT_INO, "the root is the first inode");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mfs::state::NR_BLOCKS;

    fn disk() -> MfsState {
        let mut s = MfsState::empty();
        s.make_root(0o755);
        s
    }

    #[test]
    fn data_round_trips_across_blocks_and_holes_read_as_zeros() {
        let mut s = disk();
        let f = s.make_file(ROOT_INO, b"f", 0o644, b"hello").unwrap();
        assert_eq!(s.write_data(f, 3000, b"world"), Ok(5));
        assert_eq!(s.live(f).size, 3005);
        assert_eq!(s.live(f).blocks.len(), 3);
        let all = s.read_data(f, 0, 10_000);
        assert_eq!(all.len(), 3005);
        assert_eq!(&all[..5], b"hello");
        assert!(all[5..3000].iter().all(|&b| b == 0));
        assert_eq!(&all[3000..], b"world");
        assert_eq!(s.read_data(f, 1020, 8), vec![0; 8]);
    }

    #[test]
    fn a_full_disk_writes_what_fits_then_enospc() {
        let mut s = disk();
        let mut files = Vec::new();
        let chunk = vec![7u8; 1024 * BLOCK_SIZE];
        loop {
            let f = s.make_file(ROOT_INO, format!("f{}", files.len()).as_bytes(), 0o644, b"").unwrap();
            files.push(f);
            match s.write_data(f, 0, &chunk) {
                Ok(n) if n == chunk.len() => {}
                Ok(n) => {
                    assert!(n < chunk.len());
                    break;
                }
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(s.free_block_count(), 0);
        let last = *files.last().unwrap();
        let size = s.live(last).size;
        assert_eq!(s.write_data(last, size, b"x"), Err(Errno::ENOSPC));
        assert_eq!(s.write_data(last, MAX_FILE_SIZE, b"x"), Err(Errno::EFBIG));
        for f in files {
            s.truncate(f);
        }
        assert_eq!(s.free_block_count(), NR_BLOCKS - 1, "all but the root's block come back");
    }

    #[test]
    fn directory_entries_reuse_free_slots() {
        let mut s = disk();
        let a = s.make_file(ROOT_INO, b"a", 0o644, b"").unwrap();
        let b = s.make_file(ROOT_INO, b"b", 0o644, b"").unwrap();
        assert_eq!(s.dir_remove(ROOT_INO, b"a"), Some(a));
        s.dir_insert(ROOT_INO, b"c", b).unwrap();
        let names: Vec<Vec<u8>> = s.dir_entries(ROOT_INO).into_iter().map(|e| e.name).collect();
        assert_eq!(names, [b".".to_vec(), b"..".to_vec(), b"c".to_vec(), b"b".to_vec()]);
        assert_eq!(s.dir_lookup(ROOT_INO, b"a"), None);
        assert_eq!(s.dir_replace(ROOT_INO, b"c", a), Some(b));
        assert_eq!(s.dir_lookup(ROOT_INO, b"c"), Some(a));
        let long = [b'x'; NAME_MAX];
        s.dir_insert(ROOT_INO, &long, a).unwrap();
        assert_eq!(s.dir_lookup(ROOT_INO, &long), Some(a));
    }

    #[test]
    fn resizing_frees_or_zero_fills_blocks() {
        let mut s = disk();
        let f = s.make_file(ROOT_INO, b"f", 0o644, &[9u8; 3000]).unwrap();
        let free = s.free_block_count();
        assert_eq!(s.resize(f, 1500), Ok(()));
        assert_eq!((s.live(f).size, s.live(f).blocks.len(), s.free_block_count()), (1500, 2, free + 1));
        assert_eq!(s.resize(f, 2500), Ok(()));
        let all = s.read_data(f, 0, 3000);
        assert!(
            all[..1500].iter().all(|&b| b == 9) && all[1500..].iter().all(|&b| b == 0),
            "the cut bytes read as zeros"
        );
        assert_eq!(s.resize(f, MAX_FILE_SIZE + 1), Err(Errno::EFBIG));
    }
}

//! mfs's block interface: read block n, write block n, allocate, free. Everything else in mfs
//! reaches the disk only through these four, so that moving the blocks behind a block-device
//! driver changes this file alone.
//!
//! On the disk, the blocks follow the boot block and the superblock (`superblock.rs`).
//!
//! The pool is in mfs's own tracked state (`MfsState::blocks`, with the free list): a cache of
//! the whole disk, as MINIX's buffer cache holds blocks, authoritative while mfs runs and rolled
//! back with it. The disk itself is a block device (memdisk) found by name through ds: the
//! blocks a request wrote are dirty, and written back through the driver at the request's end
//! (`write_back`), with libbdev riding out the driver's restarts. Freed blocks are not written:
//! the cache says they hold nothing, and an allocation reads them as zeros from it.

use super::MfsCtx;
use super::state::{BLOCK_SIZE, BlockNo, MfsState};
use super::superblock::{SUPERBLOCK_AT, Superblock, block_at, disk_bytes, disk_position};
use crate::errno::Errno;
use crate::libbdev::{self, Driver};
use crate::proto::bdev::{BDEV_R_BIT, BDEV_W_BIT, BDEV_WRITE, BdevIoRequest, MEMDISK_LABEL, MEMDISK_MINOR};
use crate::task::Sent;
use kernel_sim::memory::SERVICE_MEMORY_BASE;

/// Where mfs's transfer buffer is: the start of its manifest-declared memory, one block long.
pub const TRANSFER_BUFFER: u64 = SERVICE_MEMORY_BASE;

/// A dropped request's block writes reached the disk, and the rollback took them back in the
/// cache alone: those blocks are dirty again, so the next write-back puts the cache's bytes, the
/// authoritative ones, back on the disk.
pub fn rewrite_dropped_writes(state: &mut MfsState, sent: &[Sent]) {
    let blocks = state.blocks.len();
    for write in sent.iter().filter(|s| s.message.m_type == BDEV_WRITE) {
        let io: BdevIoRequest = write.message.get();
        // The superblock written at a blank disk's formatting is the same whatever request
        // wrote it: only the file system's blocks are taken back.
        let end = io.position.saturating_add(io.count);
        for position in (io.position..end).step_by(BLOCK_SIZE) {
            if let Some(block) = block_at(position, blocks) {
                state.dirty.insert(block, ());
            }
        }
    }
}

/// Writes back every dirty block to the disk, opening the disk first if mfs has not yet (at the
/// mount, or after a fresh restart, whose rebuilt tree is all dirty). A block that cannot be
/// written stays dirty for the next write-back: the cache keeps the data, as MINIX's does when a
/// write-back fails. Returns the first error.
pub fn write_back(ctx: &mut MfsCtx<'_>) -> Result<(), Errno> {
    if ctx.state.dirty.is_empty() && ctx.state.disk.get().is_some() {
        return Ok(());
    }
    let mut driver = match ctx.state.disk.get().clone() {
        Some(driver) => driver,
        None => open_disk(ctx)?,
    };
    let dirty: Vec<BlockNo> = ctx.state.dirty.iter().map(|(&b, ())| b).collect();
    let mut result = Ok(());
    for block in dirty {
        let mut data = ctx.state.read_block(block).to_vec();
        data.resize(BLOCK_SIZE, 0);
        match libbdev::write(ctx, &mut driver, disk_position(block), &data) {
            Ok(()) => {
                ctx.state.dirty.remove(&block);
            }
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    ctx.state.disk.set(Some(driver));
    result
}

/// Opens the disk for reading and writing and checks it holds the file system (`formatted`). A
/// disk refused is closed again, so that the next write-back opens and checks it anew.
fn open_disk(ctx: &mut MfsCtx<'_>) -> Result<Driver, Errno> {
    let mut driver = Driver::new(MEMDISK_LABEL, MEMDISK_MINOR, TRANSFER_BUFFER, BLOCK_SIZE as u64);
    libbdev::open(ctx, &mut driver, BDEV_R_BIT | BDEV_W_BIT)?;
    if let Err(e) = formatted(ctx, &mut driver) {
        let _ = libbdev::close(ctx, &mut driver);
        return Err(e);
    }
    ctx.state.disk.set(Some(driver.clone()));
    Ok(driver)
}

/// Whether the open disk holds the file system: EIO when it is smaller, EINVAL when its
/// superblock is another file system's (or another geometry's). A blank disk is formatted: its
/// superblock written.
fn formatted(ctx: &mut MfsCtx<'_>, driver: &mut Driver) -> Result<(), Errno> {
    let sizes = ctx.state.sizes();
    if libbdev::geometry(ctx, driver)?.size < disk_bytes(sizes.blocks) {
        return Err(Errno::EIO);
    }
    let mut found = vec![0u8; BLOCK_SIZE];
    libbdev::read(ctx, driver, SUPERBLOCK_AT, &mut found)?;
    let ours = Superblock::ours(sizes);
    match Superblock::decode(&found) {
        Some(theirs) if theirs == ours => Ok(()),
        Some(_) => Err(Errno::EINVAL),
        None => libbdev::write(ctx, driver, SUPERBLOCK_AT, &ours.encode()),
    }
}

/// Closes the disk mfs holds open (at the unmount); nothing to do when it holds none. A close the
/// driver refuses keeps the disk open.
pub fn close_disk(ctx: &mut MfsCtx<'_>) -> Result<(), Errno> {
    let Some(mut driver) = ctx.state.disk.get().clone() else { return Ok(()) };
    libbdev::close(ctx, &mut driver)?;
    ctx.state.disk.set(None);
    Ok(())
}

impl MfsState {
    /// The bytes block `block` stores (possibly fewer than BLOCK_SIZE: the rest reads as zeros).
    pub fn read_block(&mut self, block: BlockNo) -> &[u8] {
        self.blocks.get(block as usize).unwrap_or_else(|| panic!("block {block} is on the disk"))
    }

    /// Writes `data` into block `block` at byte `within`, zero-filling any gap before it.
    pub fn write_block(&mut self, block: BlockNo, within: usize, data: &[u8]) {
        assert!(within + data.len() <= BLOCK_SIZE, "a write stays inside its block");
        let stored = self.blocks.get_mut(block as usize).unwrap_or_else(|| panic!("block {block} is on the disk"));
        if stored.len() < within + data.len() {
            stored.resize(within + data.len(), 0);
        }
        stored[within..within + data.len()].copy_from_slice(data);
        self.dirty.insert(block, ());
        // A changed block left clean would never reach the disk: the next write-back skips it.
        assert!(self.dirty.contains_key(&block), "block {block} was written but is not marked for write-back");
    }

    /// Cuts block `block` to its first `keep` bytes (the rest reads as zeros again).
    pub fn cut_block(&mut self, block: BlockNo, keep: usize) {
        let stored = self.blocks.get(block as usize).unwrap_or_else(|| panic!("block {block} is on the disk"));
        if stored.len() > keep {
            self.blocks.get_mut(block as usize).expect("checked just now").truncate(keep);
            self.dirty.insert(block, ());
        }
    }

    /// Free blocks left.
    pub fn free_block_count(&mut self) -> usize {
        self.free_blocks.len()
    }

    /// Takes a free block (it holds no data, so it reads as zeros); ENOSPC when the disk is full.
    /// It is dirty at once, as MINIX's zeroed new buffer is: the disk still holds what its last
    /// owner wrote there, and a block no write reaches (a hole, a file grown by truncate) must
    /// read as zeros on the disk too.
    pub fn alloc_block(&mut self) -> Result<BlockNo, Errno> {
        let block = self.free_blocks.pop().ok_or(Errno::ENOSPC)?;
        assert!((block as usize) < self.blocks.len(), "free list holds block {block} past the disk");
        assert!(self.blocks.get(block as usize).is_some_and(Vec::is_empty), "free block {block} holds no data");
        self.dirty.insert(block, ());
        Ok(block)
    }

    /// Returns a block to the free list, dropping its data.
    pub fn free_block(&mut self, block: BlockNo) {
        let disk = self.blocks.len();
        assert!((block as usize) < disk, "freeing block {block} past the disk");
        self.blocks.set(block as usize, Vec::new());
        if self.dirty.contains_key(&block) {
            self.dirty.remove(&block);
        }
        self.free_blocks.push(block);
        assert!(self.free_blocks.len() <= disk, "more free blocks than the disk holds");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_handed_out_in_order_and_come_back() {
        let mut s = MfsState::empty();
        assert_eq!(s.alloc_block(), Ok(0));
        assert_eq!(s.alloc_block(), Ok(1));
        s.free_block(0);
        assert_eq!(s.free_block_count(), crate::mfs::state::NR_BLOCKS - 1);
        assert_eq!(s.alloc_block(), Ok(0));
    }
}

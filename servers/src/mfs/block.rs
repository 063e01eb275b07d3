//! mfs's block interface: read block n, write block n, allocate, free. Everything else in mfs
//! reaches the disk only through these four, so that moving the blocks behind a block-device
//! driver changes this file alone.
//!
//! Today the pool is in mfs's own tracked state (`MfsState::blocks`, with the free list), as vfs
//! kept it before the split.

use super::state::{BLOCK_SIZE, BlockNo, MfsState, NR_BLOCKS};
use crate::errno::Errno;

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
    }

    /// Cuts block `block` to its first `keep` bytes (the rest reads as zeros again).
    pub fn cut_block(&mut self, block: BlockNo, keep: usize) {
        let stored = self.blocks.get(block as usize).unwrap_or_else(|| panic!("block {block} is on the disk"));
        if stored.len() > keep {
            self.blocks.get_mut(block as usize).expect("checked just now").truncate(keep);
        }
    }

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
        assert_eq!(s.free_block_count(), NR_BLOCKS - 1);
        assert_eq!(s.alloc_block(), Ok(0));
    }
}

//! The disk's layout and its superblock (MINIX's `struct super_block`): block 0 is the boot
//! block, block 1 the superblock, and the file system's blocks follow from FIRST_DATA_BLOCK on.
//! mfs keeps its inodes in its own state (its cache holds the whole file system), so the
//! superblock says what the disk is formatted for: the magic number, the block size, where the
//! data begins, how many blocks and inodes.
//!
//! mfs reads it at every opening of its disk (at the mount, after a fresh restart), as MINIX's
//! read_super does: a disk formatted for another file system or another geometry is refused
//! (EINVAL); a blank one (all zeros) is formatted then, its superblock written (samsara's mkfs
//! runs at the first mount).

use super::state::{BLOCK_SIZE, BlockNo, Sizes};

/// The magic number of MINIX's V3 file system.
pub const MAGIC: u16 = 0x4d5a;
/// The first block of the file system's blocks on the disk: block `b` of mfs is disk block
/// `FIRST_DATA_BLOCK + b`.
pub const FIRST_DATA_BLOCK: u64 = 2;
/// Where the superblock is on the disk (MINIX's SUPER_OFFSET_BYTES).
pub const SUPERBLOCK_AT: u64 = BLOCK_SIZE as u64;
/// The bytes a disk needs for a file system of `blocks` blocks: the boot block, the superblock
/// and the blocks.
pub fn disk_bytes(blocks: usize) -> u64 {
    (FIRST_DATA_BLOCK + blocks as u64) * BLOCK_SIZE as u64
}

/// Where mfs's block `block` is on the disk, in bytes.
pub fn disk_position(block: BlockNo) -> u64 {
    (FIRST_DATA_BLOCK + u64::from(block)) * BLOCK_SIZE as u64
}

/// mfs's block at disk byte `position`, if it is one of the `blocks` blocks of the file system.
pub fn block_at(position: u64, blocks: usize) -> Option<BlockNo> {
    let block = (position / BLOCK_SIZE as u64).checked_sub(FIRST_DATA_BLOCK)?;
    BlockNo::try_from(block).ok().filter(|&b| (b as usize) < blocks)
}

/// What a superblock says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Superblock {
    /// MAGIC for a disk formatted by mfs.
    pub magic: u16,
    /// Bytes in a block.
    pub block_size: u32,
    /// The disk block where the file system's blocks begin.
    pub first_data_block: u32,
    /// The file system's blocks.
    pub blocks: u32,
    /// Slots of the inode table.
    pub inodes: u32,
}

/// The bytes of the superblock's fields as stored (little-endian, in the order above).
const ENCODED_LEN: usize = 18;

impl Superblock {
    /// The superblock of a file system of `sizes` made by mfs.
    pub fn ours(sizes: Sizes) -> Superblock {
        Superblock {
            magic: MAGIC,
            block_size: BLOCK_SIZE as u32,
            first_data_block: FIRST_DATA_BLOCK as u32,
            blocks: sizes.blocks as u32,
            inodes: sizes.inodes as u32,
        }
    }

    /// The superblock as a block of the disk (zero past its fields).
    pub fn encode(&self) -> Vec<u8> {
        let mut block = Vec::with_capacity(BLOCK_SIZE);
        block.extend_from_slice(&self.magic.to_le_bytes());
        for field in [self.block_size, self.first_data_block, self.blocks, self.inodes] {
            block.extend_from_slice(&field.to_le_bytes());
        }
        debug_assert_eq!(block.len(), ENCODED_LEN);
        block.resize(BLOCK_SIZE, 0);
        block
    }

    /// The superblock a disk block holds; `None` for a blank block (all zeros).
    pub fn decode(block: &[u8]) -> Option<Superblock> {
        if block.iter().all(|&b| b == 0) {
            return None;
        }
        let mut bytes = [0u8; ENCODED_LEN];
        let n = block.len().min(ENCODED_LEN);
        bytes[..n].copy_from_slice(&block[..n]);
        let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("four bytes"));
        Some(Superblock {
            magic: u16::from_le_bytes([bytes[0], bytes[1]]),
            block_size: word(2),
            first_data_block: word(6),
            blocks: word(10),
            inodes: word(14),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_superblock_round_trips_and_a_blank_block_is_none() {
        let ours = Superblock::ours(Sizes::DEFAULT);
        let block = ours.encode();
        assert_eq!(block.len(), BLOCK_SIZE);
        assert_eq!(Superblock::decode(&block), Some(ours));
        assert_eq!(Superblock::decode(&[0u8; BLOCK_SIZE]), None);
        let mut other = block.clone();
        other[10] ^= 1;
        assert_ne!(Superblock::decode(&other), Some(ours), "another geometry is another superblock");
    }

    #[test]
    fn blocks_sit_after_the_boot_block_and_the_superblock() {
        assert_eq!(disk_position(0), 2 * BLOCK_SIZE as u64);
        let blocks = Sizes::DEFAULT.blocks;
        assert_eq!(block_at(disk_position(7), blocks), Some(7));
        assert_eq!(block_at(disk_position(7) + 100, blocks), Some(7));
        assert_eq!(block_at(SUPERBLOCK_AT, blocks), None, "the superblock is no file-system block");
        assert_eq!(block_at(0, blocks), None);
        assert_eq!(block_at(disk_bytes(blocks), blocks), None, "past the file system");
        assert_eq!(block_at(disk_bytes(blocks) - 1, blocks), Some(blocks as BlockNo - 1));
        assert_eq!(block_at(disk_bytes(blocks) - 1, blocks - 1), None, "past a smaller one");
    }
}

//! memdisk's state: the disk's geometry and who has it open (global: an opener is a file-system
//! server, and its open is shared by every request it serves).
//!
//! The disk's blocks are not here: they are the driver's manifest-declared memory, which the
//! kernel keeps across incarnations (a RAM disk's contents outlive a driver restart, as in MINIX,
//! where they live in memory the restarted driver re-finds). So a rollback of this state never
//! undoes a block write, and a fresh restart does not lose the disk: a write is idempotent, and a
//! file system whose write was cut short by a crash sends it again to the new incarnation.
//!
//! Invariants (`checker/memdisk.rs`, also the loop-top self-check): the size is a positive whole
//! number of blocks; every opening has a positive count of distinct open ids and a valid,
//! non-empty access mode.
//! Openings made to an earlier incarnation (under an older endpoint of the driver) are stale: the
//! opener re-opens after every restart, which replaces them.

use crate::proto::bdev::{BDEV_R_BIT, BDEV_W_BIT};
use kernel_sim::Endpoint;
use recovery::{Journal, StateClass, TrackedCell, TrackedMap, tracked_state};

/// One opener's hold on the disk (MINIX counts opens per minor; samsara per opener too, so the
/// checker can match each file system's count).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opening {
    /// The request ids of the opens the opener has not closed, oldest first: their number is its
    /// count, and an open whose id is among them is one the opener sent again (after a restart
    /// whose new incarnation handled it already), not another open.
    pub ids: Vec<u32>,
    /// The access modes it opened with (`BDEV_R_BIT | BDEV_W_BIT`), joined.
    pub access: u32,
    /// The driver's endpoint the opens were made to: another incarnation's means stale.
    pub via: Endpoint,
}

impl Opening {
    /// How many opens the opener has not closed.
    pub fn count(&self) -> u32 {
        self.ids.len() as u32
    }

    /// Whether it may read (`BDEV_R_BIT`) or write (`BDEV_W_BIT`).
    pub fn allows(&self, bit: u32) -> bool {
        self.access & bit != 0
    }
}

/// Every access bit a valid opening may hold.
pub const ACCESS_BITS: u32 = BDEV_R_BIT | BDEV_W_BIT;

/// All of memdisk's mutable state.
pub struct MemdiskState {
    /// The journal of the recovery window.
    pub journal: Journal,
    /// The disk's size in bytes: the memory the manifest declares for the driver.
    pub size: TrackedCell<u64>,
    /// Who has the disk open, by the opener's endpoint (raw).
    pub opens: TrackedMap<u32, Opening>,
}

tracked_state!(MemdiskState { journal: journal, fields: [size, opens] });

impl MemdiskState {
    /// The state of a driver whose disk is `size` bytes, opened by nobody.
    pub fn new(size: u64) -> MemdiskState {
        let journal = Journal::new();
        MemdiskState {
            size: TrackedCell::new(&journal, "memdisk.size", StateClass::Global, size),
            opens: TrackedMap::new(&journal, "memdisk.opens", StateClass::Global),
            journal,
        }
    }

    /// `opener`'s opening, if it opened the disk on the driver at `me` (not on an earlier
    /// incarnation).
    pub fn opening(&mut self, opener: Endpoint, me: Endpoint) -> Option<Opening> {
        self.opens.get(&opener.raw()).filter(|o| o.via == me).cloned()
    }

    /// The whole-state self-check (`checker/memdisk.rs`), as readable lines.
    pub fn check_invariants(&mut self) -> Vec<String> {
        super::check::check(self).into_iter().map(|v| v.to_string()).collect()
    }
}

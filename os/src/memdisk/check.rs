//! memdisk's own invariants: a disk of whole blocks; every opening with a positive count and a
//! valid access mode. Its loop-top self-check, and the testbed's checker's part for memdisk.

use crate::invariant::{Violation, listed, violation};
use crate::memdisk::state::{ACCESS_BITS, MemdiskState};
use crate::proto::bdev::BLOCK_SIZE;
use kernel_sim::Endpoint;

/// Every invariant of `memdisk::state` broken in `disk` (the driver's own, also its loop-top
/// self-check).
pub fn check(disk: &mut MemdiskState) -> Vec<Violation> {
    let mut found = Vec::new();
    let size = *disk.size.get();
    if size == 0 || !size.is_multiple_of(BLOCK_SIZE) {
        found.push(violation("memdisk.geometry", format!("the disk's size {size} is not a positive number of blocks")));
    }
    for (&opener, o) in disk.opens.iter() {
        let mut ids = o.ids.clone();
        ids.sort_unstable();
        ids.dedup();
        if o.ids.is_empty() || ids.len() != o.ids.len() {
            let opener = Endpoint::from_raw(opener);
            found.push(violation(
                "memdisk.open-count",
                format!("{opener} holds an opening whose opens are not distinct and at least one: {}", listed(&o.ids)),
            ));
        }
        if o.access == 0 || o.access & !ACCESS_BITS != 0 {
            let opener = Endpoint::from_raw(opener);
            found
                .push(violation("memdisk.open-access", format!("{opener} holds the disk with access {:#x}", o.access)));
        }
    }
    found
}

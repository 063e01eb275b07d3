//! memdisk's invariants: a disk of whole blocks; every opening with a positive count and a valid
//! access mode; and, against the kernel's process table, every opening on the running incarnation
//! held by a live process (an opener that died holding the disk leaks an open the driver can never
//! see closed).

use super::Violation;
use crate::memdisk::state::{ACCESS_BITS, MemdiskState};
use crate::proto::bdev::BLOCK_SIZE;
use crate::task::Server;
use kernel_sim::{Endpoint, ProcInfo};

fn violation(invariant: &'static str, detail: String) -> Violation {
    Violation { invariant, detail }
}

/// Every invariant of `memdisk::state` broken in `disk` (the driver's own, also its loop-top
/// self-check).
pub fn check(disk: &mut MemdiskState) -> Vec<Violation> {
    let mut found = Vec::new();
    let size = *disk.size.get();
    if size == 0 || !size.is_multiple_of(BLOCK_SIZE) {
        found.push(violation("memdisk.geometry", format!("the disk's size {size} is not a positive number of blocks")));
    }
    for (&opener, o) in disk.opens.iter() {
        if o.count == 0 {
            let opener = Endpoint::from_raw(opener);
            found.push(violation("memdisk.open-count", format!("{opener} holds an opening with no open")));
        }
        if o.access == 0 || o.access & !ACCESS_BITS != 0 {
            let opener = Endpoint::from_raw(opener);
            found
                .push(violation("memdisk.open-access", format!("{opener} holds the disk with access {:#x}", o.access)));
        }
    }
    found
}

/// The driver's running endpoint in the kernel's table, if it runs.
pub fn running_driver(procs: &[ProcInfo]) -> Option<Endpoint> {
    procs.iter().find(|p| !p.is_user && p.name == crate::memdisk::Memdisk::NAME && p.ended.is_none()).map(|p| p.ep)
}

/// Openings on the running driver whose opener the kernel does not show alive.
pub fn check_openers(disk: &mut MemdiskState, procs: &[ProcInfo]) -> Vec<Violation> {
    let Some(driver) = running_driver(procs) else { return Vec::new() };
    let live = |ep: Endpoint| procs.iter().any(|p| p.ep == ep && p.ended.is_none());
    disk.opens
        .iter()
        .filter(|(_, o)| o.via == driver)
        .map(|(&opener, o)| (Endpoint::from_raw(opener), o.count))
        .filter(|&(opener, _)| !live(opener))
        .map(|(opener, count)| {
            violation(
                "memdisk.opener-alive",
                format!("{opener}, not a live process, holds {count} open(s) of the disk"),
            )
        })
        .collect()
}

//! memdisk against the rest of the machine: against the kernel's process table, every opening on
//! the running incarnation held by a live process (an opener that died holding the disk leaks an
//! open the driver can never see closed); against a client's view of the driver (a file system's
//! `libbdev::Driver`), the opens it believes it holds and the disk's size it believes; and against
//! mfs's cache, every block it holds and has written back is on the disk as it holds it, and the
//! disk carries its superblock.

use crate::boot::Machine;
use kernel_sim::{Endpoint, ProcInfo};
use os::invariant::{Violation, violation};
use os::libbdev::Driver;
use os::memdisk::state::MemdiskState;
use os::mfs::state::{BLOCK_SIZE as FS_BLOCK_SIZE, MfsState};
use os::mfs::superblock::{SUPERBLOCK_AT, Superblock, disk_position};
use os::task::Server;

/// The driver's running endpoint in the kernel's table, if it runs.
pub fn running_driver(procs: &[ProcInfo]) -> Option<Endpoint> {
    procs.iter().find(|p| !p.is_user && p.name == os::memdisk::Memdisk::NAME && p.ended.is_none()).map(|p| p.ep)
}

/// Openings on the running driver whose opener the kernel does not show alive.
pub fn check_openers(disk: &mut MemdiskState, procs: &[ProcInfo]) -> Vec<Violation> {
    let Some(driver) = running_driver(procs) else { return Vec::new() };
    let live = |ep: Endpoint| procs.iter().any(|p| p.ep == ep && p.ended.is_none());
    disk.opens
        .iter()
        .filter(|(_, o)| o.via == driver)
        .map(|(&opener, o)| (Endpoint::from_raw(opener), o.count()))
        .filter(|&(opener, _)| !live(opener))
        .map(|(opener, count)| {
            violation(
                "memdisk.opener-alive",
                format!(
                    "{opener}, not a live process, holds {} of the disk",
                    recovery::counted(u64::from(count), "open")
                ),
            )
        })
        .collect()
}

/// A client's view of the driver (`client` is its endpoint, `view` what its libbdev knows) against
/// the driver's state: the opens the client believes it holds on the running driver are the ones
/// the driver counts for it, and the size it was told is the disk's. A client that looked up an
/// earlier incarnation holds no open on this one until it next reaches the driver (it re-opens
/// then): only its size is compared.
pub fn check_client(disk: &mut MemdiskState, procs: &[ProcInfo], client: Endpoint, view: &Driver) -> Vec<Violation> {
    let mut found = Vec::new();
    let size = *disk.size.get();
    if let Some(believed) = view.size
        && believed != size
    {
        found.push(violation(
            "memdisk.client-size",
            format!("{client} believes the disk holds {believed} bytes; the driver has {size}"),
        ));
    }
    let Some(driver) = running_driver(procs) else { return found };
    if view.endpoint != Some(driver) {
        return found;
    }
    let counted = disk.opens.get(&client.raw()).filter(|o| o.via == driver).map_or(0, |o| o.count());
    if counted != view.opens {
        found.push(violation(
            "memdisk.client-opens",
            format!(
                "{client} believes it holds {} of the disk; the driver counts {counted}",
                recovery::counted(u64::from(view.opens), "open")
            ),
        ));
    }
    found
}

/// The disk's copy of every block mfs holds in a live inode and has written back (not dirty), read
/// from the driver's memory as the kernel keeps it; nothing when mfs never opened its disk or the
/// system has no memdisk.
pub fn disk_copies(machine: &Machine, mfs: &mut MfsState) -> Vec<(u32, Vec<u8>)> {
    if mfs.disk.get().is_none() {
        return Vec::new();
    }
    let mut held = Vec::new();
    for ino in 1..mfs.sizes().inodes {
        if let Some(inode) = mfs.inodes.get(ino).and_then(Option::as_ref) {
            held.extend(inode.blocks.iter().copied());
        }
    }
    held.retain(|b| !mfs.dirty.contains_key(b));
    held.into_iter()
        .filter_map(|block| {
            let mut bytes = vec![0u8; FS_BLOCK_SIZE];
            let at = disk_position(block);
            machine.system.read_service_memory(os::memdisk::Memdisk::NAME, at, &mut bytes).ok()?;
            Some((block, bytes))
        })
        .collect()
}

/// Every block mfs holds and has written back reads on the disk as in mfs's cache (zero-padded
/// to a block): otherwise the disk lost a write the driver answered, or mfs's cache went back
/// (a rollback) past what it had written to the disk.
pub fn check_disk_blocks(mfs: &mut MfsState, disk_blocks: &[(u32, Vec<u8>)]) -> Vec<Violation> {
    let mut found = Vec::new();
    for (block, on_disk) in disk_blocks {
        let Some(cached) = mfs.blocks.get(*block as usize) else { continue };
        let mut cached = cached.clone();
        cached.resize(FS_BLOCK_SIZE, 0);
        if let Some(first) = cached.iter().zip(on_disk).position(|(a, b)| a != b) {
            found.push(violation(
                "mfs.disk-blocks",
                format!("block {block}: mfs's cache and the disk differ from byte {first} (written back, not dirty)"),
            ));
        }
    }
    found
}

/// The disk's superblock block, read from the driver's memory as the kernel keeps it; nothing
/// when the system has no memdisk.
pub fn disk_superblock(machine: &Machine) -> Option<Vec<u8>> {
    let mut bytes = vec![0u8; FS_BLOCK_SIZE];
    machine.system.read_service_memory(os::memdisk::Memdisk::NAME, SUPERBLOCK_AT, &mut bytes).ok()?;
    Some(bytes)
}

/// The disk carries the file system's superblock, or none yet (blank, before mfs's first mount):
/// otherwise it was formatted for something else (mfs refuses it, and the file system's blocks
/// reach no disk), or a write garbled its superblock.
pub fn check_superblock(mfs: &mut MfsState, on_disk: &[u8]) -> Vec<Violation> {
    let ours = Superblock::ours(mfs.sizes());
    match Superblock::decode(on_disk) {
        None => Vec::new(),
        Some(found) if found == ours => Vec::new(),
        found => {
            vec![violation("mfs.superblock", format!("the disk carries {found:?}, not the file system's {ours:?}"))]
        }
    }
}

//! The cross-server consistency checker: given a stopped system, check every server's own
//! invariants (each server's `check.rs`, also its loop-top self-check) and every invariant that
//! spans servers and the kernel, and return every violation with readable detail.
//!
//! It is the oracle of every fault-injection run, so it must find real damage: each invariant is
//! tested by deliberately breaking it (tests/checker.rs). It reads server state through the
//! tracked containers' API, so an SRS suspect is seen as the next reader would see it.

mod cross;
pub mod ds;
pub mod memdisk;
pub mod sched;
pub mod vm;

use crate::boot::Machine;
use kernel_sim::ProcInfo;
use os::ds::state::DsState;
pub use os::invariant::Violation;
use os::memdisk::state::MemdiskState;
use os::memory::state::MemoryState;
use os::mfs::state::MfsState;
use os::pm::state::PmState;
use os::sched::state::SchedState;
use os::vfs::state::VfsState;
use os::vm::state::VmState;

/// Everything the checker looks at: the kernel's process table and each server's last state
/// (`None` when the server is dead with no state to show).
pub struct Snapshot {
    /// The kernel's process table.
    pub procs: Vec<ProcInfo>,
    /// pm's state.
    pub pm: Option<PmState>,
    /// vm's state.
    pub vm: Option<VmState>,
    /// vfs's state.
    pub vfs: Option<VfsState>,
    /// ds's state.
    pub ds: Option<DsState>,
    /// sched's state.
    pub sched: Option<SchedState>,
    /// memdisk's state (`None` also when the system has no memdisk).
    pub memdisk: Option<MemdiskState>,
    /// The memory driver's state (`None` also when the system has none).
    pub memory: Option<MemoryState>,
    /// mfs's state.
    pub mfs: Option<MfsState>,
    /// What the disk holds, as the kernel keeps the driver's memory, of every block mfs holds in
    /// a file or directory and has written back (not dirty): `(block, its bytes on the disk)`.
    pub disk_blocks: Vec<(u32, Vec<u8>)>,
    /// The disk's superblock block (when the system has mfs and memdisk).
    pub superblock: Option<Vec<u8>>,
}

impl Snapshot {
    /// Takes the stopped machine's snapshot (the servers' states leave the vault; the process
    /// table is the kernel's as the run stopped).
    pub fn take(machine: &Machine) -> Snapshot {
        let mut mfs: Option<MfsState> = machine.vault.take("mfs");
        let disk_blocks = mfs.as_mut().map(|m| memdisk::disk_copies(machine, m)).unwrap_or_default();
        let superblock = mfs.as_ref().and_then(|_| memdisk::disk_superblock(machine));
        Snapshot {
            disk_blocks,
            superblock,
            procs: machine.stopped_procs.clone(),
            pm: machine.vault.take("pm"),
            vm: machine.vault.take("vm"),
            vfs: machine.vault.take("vfs"),
            ds: machine.vault.take("ds"),
            sched: machine.vault.take("sched"),
            memdisk: machine.vault.take("memdisk"),
            memory: machine.vault.take("memory"),
            mfs,
        }
    }
}

/// Checks every invariant; an empty list means consistent.
pub fn check(snapshot: &mut Snapshot) -> Vec<Violation> {
    let mut found = Vec::new();
    for (name, present) in [
        ("pm", snapshot.pm.is_some()),
        ("vm", snapshot.vm.is_some()),
        ("vfs", snapshot.vfs.is_some()),
        ("mfs", snapshot.mfs.is_some()),
    ] {
        if !present {
            found.push(Violation { invariant: "server.state", detail: format!("{name} left no state: it is dead") });
        }
    }
    // The others are checked where the manifest has them (a slot in the process table, the
    // server dead or alive): missing only when the kernel ran one.
    for (name, present) in [
        ("ds", snapshot.ds.is_some()),
        ("sched", snapshot.sched.is_some()),
        ("memdisk", snapshot.memdisk.is_some()),
        ("memory", snapshot.memory.is_some()),
    ] {
        if !present && snapshot.procs.iter().any(|p| !p.is_user && p.name == name) {
            found.push(Violation { invariant: "server.state", detail: format!("{name} left no state: it is dead") });
        }
    }
    if let Some(sched) = snapshot.sched.as_mut() {
        found.extend(os::sched::check::check(sched));
        if let Some(pm) = snapshot.pm.as_mut() {
            found.extend(sched::check_against_pm(sched, pm));
        }
    }
    if let Some(ds) = snapshot.ds.as_mut() {
        found.extend(os::ds::check::check(ds));
        found.extend(ds::check_labels(ds, &snapshot.procs));
    }
    if let Some(pm) = snapshot.pm.as_mut() {
        found.extend(os::pm::check::check(pm));
    }
    if let Some(disk) = snapshot.memdisk.as_mut() {
        found.extend(os::memdisk::check::check(disk));
        found.extend(memdisk::check_openers(disk, &snapshot.procs));
        // The file system's view of its disk (opens held, size) against the driver's.
        let mfs_ep = snapshot.procs.iter().find(|p| !p.is_user && p.name == "mfs" && p.ended.is_none()).map(|p| p.ep);
        if let (Some(ep), Some(mfs)) = (mfs_ep, snapshot.mfs.as_mut())
            && let Some(view) = mfs.disk.get().clone()
        {
            found.extend(memdisk::check_client(disk, &snapshot.procs, ep, &view));
        }
        if let Some(mfs) = snapshot.mfs.as_mut() {
            found.extend(memdisk::check_disk_blocks(mfs, &snapshot.disk_blocks));
        }
        if let (Some(mfs), Some(superblock)) = (snapshot.mfs.as_mut(), &snapshot.superblock) {
            found.extend(memdisk::check_superblock(mfs, superblock));
        }
    }
    if let Some(vm) = snapshot.vm.as_mut() {
        found.extend(vm::check(vm, &snapshot.procs));
    }
    if let Some(vfs) = snapshot.vfs.as_mut() {
        found.extend(os::vfs::check::check(vfs));
    }
    if let Some(mfs) = snapshot.mfs.as_mut() {
        found.extend(os::mfs::check::check(mfs));
    }
    found.extend(cross::check(snapshot));
    found
}

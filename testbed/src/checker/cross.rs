//! Invariants across pm, vm, vfs, mfs and the kernel: one entry per live process everywhere,
//! nothing for anyone else; nothing per-process left once every user process is gone; the
//! references vfs's vnodes hold on mfs's inodes are exactly the references mfs counts; the files
//! vm's shared mappings show are exactly those vfs holds for them. (pm's own, unique pids among
//! them, are `pm.rs`'s.)

use super::Snapshot;
use kernel_sim::{Endpoint, ProcInfo, ProcState};
use os::invariant::{Violation, violation};
use os::mfs::state::InodeKind;
use os::pm::state::Phase;
use os::proto::{PM, ProcKey};
use recovery::counted;
use std::collections::{BTreeMap, BTreeSet};

pub(super) fn check(s: &mut Snapshot) -> Vec<Violation> {
    let mut found = Vec::new();
    if let (Some(vfs), Some(mfs)) = (s.vfs.as_mut(), s.mfs.as_mut()) {
        check_vnodes(vfs, mfs, &mut found);
    }
    if let Some(vfs) = s.vfs.as_mut() {
        check_drivers(vfs, &s.procs, &mut found);
    }
    if let (Some(vfs), Some(vm)) = (s.vfs.as_mut(), s.vm.as_mut()) {
        check_mapped_files(vfs, vm, &mut found);
    }
    // The living, as each party sees them: key -> endpoint.
    let kernel: BTreeMap<ProcKey, Endpoint> =
        s.procs.iter().filter(|p| p.is_user && p.ended.is_none()).map(|p| (p.ep.slot() as ProcKey, p.ep)).collect();
    let kernel_ended: BTreeSet<Endpoint> =
        s.procs.iter().filter(|p| p.is_user && p.ended.is_some()).map(|p| p.ep).collect();
    let mut pm_living = BTreeMap::new();
    if let Some(pm) = s.pm.as_mut() {
        for (&key, p) in pm.procs.iter() {
            match p.phase {
                Phase::Zombie { .. } => {
                    if kernel.contains_key(&key) && kernel[&key] == p.ep {
                        found.push(violation(
                            "pm.zombie-gone",
                            format!("zombie pid {} ({}) still runs in the kernel", p.pid, p.ep),
                        ));
                    }
                }
                _ => {
                    pm_living.insert(key, (p.ep, p.pid));
                }
            }
        }
        for (&key, &(ep, pid)) in &pm_living {
            if kernel.get(&key) != Some(&ep) && !kernel_ended.contains(&ep) {
                found.push(violation(
                    "kernel.pm-process",
                    format!("pm's pid {pid} ({ep}) has no process in the kernel"),
                ));
            }
        }
        for (&key, &ep) in &kernel {
            if !pm_living.contains_key(&key) {
                found.push(violation("pm.kernel-process", format!("kernel process {ep} has no pm entry")));
            }
        }
        // A process the kernel holds stopped is one pm stopped.
        for info in s.procs.iter().filter(|k| k.is_user && k.state == ProcState::Stopped) {
            let stopped = pm.sigs.get(info.ep.slot() as ProcKey).map(|sigs| sigs.stopped);
            if stopped != Some(true) {
                let pm_has = if stopped.is_some() {
                    "pm's signal state has it not stopped"
                } else {
                    "pm has no signal state for it"
                };
                found.push(violation("pm.stopped", format!("the kernel has {} stopped, but {pm_has}", info.ep)));
            }
        }
        // A process pm holds in sigsuspend waits for pm's answer in the kernel.
        for (_, p) in pm.procs.iter() {
            if !matches!(p.phase, Phase::Pausing { .. }) {
                continue;
            }
            let state = s.procs.iter().find(|k| k.ep == p.ep).map(|k| k.state);
            let blocked_on_pm =
                matches!(state, Some(ProcState::Receiving(PM) | ProcState::Sending(PM) | ProcState::Ended) | None);
            if !blocked_on_pm {
                found.push(violation(
                    "pm.sigsuspend-blocked",
                    format!(
                        "pid {} ({}) is in sigsuspend but the kernel has it {}",
                        p.pid,
                        p.ep,
                        state.map_or("nowhere".to_string(), state_for_people)
                    ),
                ));
            }
        }
    }
    if let Some(vm) = s.vm.as_mut() {
        let spaces: BTreeMap<ProcKey, Endpoint> = vm.spaces.iter().map(|(&k, a)| (k, a.ep)).collect();
        compare("vm.address-space", "vm address space", &pm_living, &spaces, s.pm.is_some(), &mut found);
    }
    if let Some(vfs) = s.vfs.as_mut() {
        let fprocs: BTreeMap<ProcKey, Endpoint> = vfs.fprocs.iter().map(|(&k, f)| (k, f.ep)).collect();
        compare("vfs.process-entry", "vfs process entry", &pm_living, &fprocs, s.pm.is_some(), &mut found);
    }
    let anyone_left = !kernel.is_empty() || !kernel_ended.is_empty() || !pm_living.is_empty();
    if !anyone_left {
        if let Some(pm) = s.pm.as_mut()
            && !pm.procs.is_empty()
        {
            found.push(violation(
                "cleanup.pm",
                format!("no user process is left but pm keeps {}", counted(pm.procs.len() as u64, "entry")),
            ));
        }
        if let Some(vm) = s.vm.as_mut()
            && !vm.spaces.is_empty()
        {
            found.push(violation(
                "cleanup.vm",
                format!("no user process is left but vm keeps {}", counted(vm.spaces.len() as u64, "address space")),
            ));
        }
        if let Some(vfs) = s.vfs.as_mut()
            && !vfs.fprocs.is_empty()
        {
            found.push(violation(
                "cleanup.vfs",
                format!("no user process is left but vfs keeps {}", counted(vfs.fprocs.len() as u64, "process entry")),
            ));
        }
    }
    found
}

/// Each process pm knows alive has exactly one entry in `theirs`, under the same endpoint, and
/// `theirs` has nothing for anyone else.
fn compare(
    invariant: &'static str,
    what: &str,
    pm_living: &BTreeMap<ProcKey, (Endpoint, i32)>,
    theirs: &BTreeMap<ProcKey, Endpoint>,
    pm_known: bool,
    found: &mut Vec<Violation>,
) {
    if !pm_known {
        return;
    }
    for (key, &(ep, pid)) in pm_living {
        match theirs.get(key) {
            None => found.push(violation(invariant, format!("pid {pid} ({ep}) has no {what}"))),
            Some(&other) if other != ep => {
                found.push(violation(invariant, format!("pid {pid} ({ep}) finds the {what} of {other} in its slot")))
            }
            Some(_) => {}
        }
    }
    for (key, &ep) in theirs {
        if !pm_living.contains_key(key) {
            found.push(violation(invariant, format!("{what} of {ep} belongs to no live process")));
        }
    }
}

/// Each vnode on the file system names a live inode of the kind it caches, and a regular file's
/// vnode its size (vfs changes a file's size only through its own requests; a directory's grows
/// with entries the file system adds, and vfs asks for it when it needs it); each inode's
/// references (MINIX's `i_count`) equal the references vfs's vnodes hold on it.
fn check_vnodes(vfs: &mut os::vfs::state::VfsState, mfs: &mut os::mfs::state::MfsState, found: &mut Vec<Violation>) {
    use os::vfs::state::VnodeKind;
    let mut held: BTreeMap<u32, u32> = BTreeMap::new();
    let vnodes: Vec<(usize, os::vfs::state::Vnode)> =
        vfs.vnodes.iter().enumerate().filter_map(|(i, v)| Some((i, v.clone()?))).collect();
    for (id, v) in vnodes {
        let Some((_, ino)) = v.inode else { continue };
        *held.entry(ino).or_default() += v.fs_refs;
        let Some(inode) = mfs.inode(ino) else {
            found.push(violation("vfs-mfs.vnode-inode", format!("vnode {id} names free inode {ino}")));
            continue;
        };
        let kind_ok = match v.kind {
            VnodeKind::Regular => inode.is_regular(),
            VnodeKind::Directory => inode.is_dir(),
            VnodeKind::Fifo(_) => inode.kind == InodeKind::Fifo,
            VnodeKind::CharDevice(dev) => inode.kind == InodeKind::CharDevice(dev),
            VnodeKind::BlockDevice(dev) => inode.kind == InodeKind::BlockDevice(dev),
            VnodeKind::Pipe(_) => false,
        };
        if !kind_ok || (inode.is_regular() && v.size != inode.size) {
            found.push(violation(
                "vfs-mfs.vnode-cache",
                format!(
                    "vnode {id} caches {} of {} but inode {ino} is {} of {}",
                    vnode_kind(&v.kind),
                    counted(v.size, "byte"),
                    inode_kind(inode.kind),
                    counted(inode.size, "byte")
                ),
            ));
        }
    }
    let inodes: Vec<(u32, u32)> =
        mfs.inodes.iter().enumerate().filter_map(|(i, n)| Some((i as u32, n.as_ref()?.refs))).collect();
    for (ino, refs) in inodes {
        let n = held.get(&ino).copied().unwrap_or(0);
        if refs != n {
            found.push(violation(
                "vfs-mfs.inode-refs",
                format!("inode {ino} counts {} but vfs's vnodes hold {n}", counted(refs, "reference")),
            ));
        }
    }
}

/// vfs's dmap: each driver endpoint it keeps is one its major's driver ran under (this
/// incarnation or an earlier one, which vfs finds dead at its next request and looks up again),
/// for a major that has a driver.
fn check_drivers(vfs: &mut os::vfs::state::VfsState, procs: &[ProcInfo], found: &mut Vec<Violation>) {
    for (&major, &ep) in vfs.drivers.iter() {
        let Some(label) = os::vfs::device::driver_label(major) else {
            found.push(violation(
                "vfs.driver",
                format!("vfs keeps endpoint {ep} for major {major}, which has no driver"),
            ));
            continue;
        };
        let ran = procs
            .iter()
            .any(|p| !p.is_user && p.name == label && p.ep.slot() == ep.slot() && p.ep.generation() >= ep.generation());
        if !ran {
            found.push(violation(
                "vfs.driver",
                format!("vfs keeps endpoint {ep} for major {major}'s driver `{label}`, which never ran there"),
            ));
        }
    }
}

/// A kernel process state as a violation names it: `running`, `sending to 7.0`...
/// Every file a shared mapping shows is held by vfs for mappings (its vnode `mapped`: the
/// inode cannot go while it is shown), and vfs holds no file for mappings that none shows (vm
/// notified vfs when the last one went).
fn check_mapped_files(vfs: &mut os::vfs::state::VfsState, vm: &mut os::vm::state::VmState, found: &mut Vec<Violation>) {
    let mut shown: BTreeMap<u32, (Endpoint, u64)> = BTreeMap::new();
    for (_, space) in vm.spaces.iter() {
        for r in &space.regions {
            if let Some(file) = r.file {
                shown.entry(file.ino).or_insert((space.ep, r.start));
            }
        }
    }
    let held: BTreeSet<u32> =
        vfs.vnodes.iter().flatten().filter(|v| v.mapped).filter_map(|v| v.inode.map(|(_, ino)| ino)).collect();
    for (ino, (ep, start)) in &shown {
        if !held.contains(ino) {
            found.push(violation(
                "vm.mapped-file-held",
                format!("{ep}'s shared mapping at {start:#x} shows inode {ino}, which vfs does not hold for mappings"),
            ));
        }
    }
    for ino in held.iter().filter(|ino| !shown.contains_key(ino)) {
        found.push(violation(
            "vfs.mapping-hold",
            format!("vfs holds inode {ino} for shared mappings, but no mapping shows it"),
        ));
    }
}

fn state_for_people(state: ProcState) -> String {
    match state {
        ProcState::Running => "running".to_string(),
        ProcState::Sending(to) => format!("sending to {to}"),
        ProcState::Receiving(from) => format!("receiving from {from}"),
        ProcState::Hung => "hung".to_string(),
        ProcState::Stopped => "stopped".to_string(),
        ProcState::Ended => "ended".to_string(),
    }
}

/// What a vnode caches, with its article: `a regular file`, `a directory`, `a pipe`, `the
/// character special file 1,3`.
fn vnode_kind(kind: &os::vfs::state::VnodeKind) -> String {
    use os::vfs::state::VnodeKind;
    match *kind {
        VnodeKind::Regular => "a regular file".into(),
        VnodeKind::Directory => "a directory".into(),
        VnodeKind::Pipe(_) => "a pipe".into(),
        VnodeKind::Fifo(_) => "a named pipe".into(),
        VnodeKind::CharDevice(dev) => special_file("character", dev),
        VnodeKind::BlockDevice(dev) => special_file("block", dev),
    }
}

/// What an inode is, with its article: `a regular file`, `a directory`, `a symbolic link`...
fn inode_kind(kind: InodeKind) -> String {
    match kind {
        InodeKind::Regular => "a regular file".into(),
        InodeKind::Directory => "a directory".into(),
        InodeKind::Symlink => "a symbolic link".into(),
        InodeKind::Fifo => "a named pipe".into(),
        InodeKind::CharDevice(dev) => special_file("character", dev),
        InodeKind::BlockDevice(dev) => special_file("block", dev),
    }
}

/// A special file of device number `dev`: `the character special file 1,3`.
fn special_file(what: &str, dev: u32) -> String {
    use os::proto::cdev::dev::{major, minor};
    format!("the {what} special file {},{}", major(dev), minor(dev))
}

//! vfs's invariants: descriptors and open-file counts, inode opens and pipe ends, link counts
//! against directory entries, block ownership and accounting, working directories, suspended
//! calls.
//!
//! It reads a stopped (or crashed) vfs's state and must not panic on damage: every index is
//! checked before it is followed, and a directory is parsed only when its blocks are sane.

use super::Violation;
use crate::proto::ProcKey;
use crate::proto::vfs::flags::{O_ACCMODE, SETFL_MASK};
use crate::vfs::fs::DIRENT_SIZE;
use crate::vfs::state::{
    BlockNo, Filp, FilpId, Flock, Fproc, Ino, Inode, InodeKind, NR_BLOCKS, NR_FILPS, NR_INODES, OPEN_MAX, PIPE_BUF,
    ROOT_INO, Suspended, UMASK_MAX, VfsState, blocks_for,
};
use std::collections::{BTreeMap, BTreeSet};

fn violation(invariant: &'static str, detail: String) -> Violation {
    Violation { invariant, detail }
}

/// Every invariant of `vfs::state`: each open file's count equals the descriptors pointing at it;
/// each descriptor points at a live open file and each open file at a live inode; each inode's
/// opens (and a pipe's readers and writers) match the open files on it; each inode's link count
/// equals the directory entries naming it (`.` and `..` included) and no inode is both nameless
/// and closed; each pipe buffers at most PIPE_BUF bytes, and nothing else buffers any; no block is
/// both free and used or used twice, and free plus used equals the disk; each cwd is a live
/// directory; each suspended call waits on a pipe the process has open; a suspended poll watches
/// open descriptors none of which is ready; close-on-exec flags are on open descriptors only,
/// masks within UMASK_MAX, open files keep only their access mode and status flags; flocks are
/// held by live open files, an exclusive one alone, and a suspended flock waits on a conflict.
pub fn check(vfs: &mut VfsState) -> Vec<Violation> {
    let mut found = Vec::new();
    let inodes: BTreeMap<Ino, Inode> =
        vfs.inodes.iter().enumerate().filter_map(|(i, slot)| Some((i as Ino, slot.clone()?))).collect();
    let filps: BTreeMap<FilpId, Filp> =
        vfs.filps.iter().enumerate().filter_map(|(i, slot)| Some((i as FilpId, slot.clone()?))).collect();
    let fprocs: BTreeMap<ProcKey, Fproc> = vfs.fprocs.iter().map(|(k, f)| (*k, f.clone())).collect();
    let suspended: BTreeMap<ProcKey, Option<Suspended>> = vfs.suspended.iter().map(|(k, call)| (*k, *call)).collect();
    if vfs.inodes.len() != NR_INODES
        || vfs.pipe_bufs.len() != NR_INODES
        || vfs.filps.len() != NR_FILPS
        || vfs.blocks.len() != NR_BLOCKS
    {
        found.push(violation("vfs.table-sizes", "a fixed-size table changed its size".into()));
    }
    check_descriptors(fprocs.values(), &filps, &mut found);
    check_opens(&inodes, &filps, &mut found);
    check_pipe_buffers(vfs, &inodes, &mut found);
    let sane = check_blocks(vfs, &inodes, &mut found);
    check_links(vfs, &inodes, &sane, &mut found);
    check_processes(&fprocs, &suspended, &inodes, &filps, &mut found);
    check_flags(&fprocs, &filps, &mut found);
    check_polls(vfs, &fprocs, &suspended, &inodes, &filps, &mut found);
    check_flocks(vfs, &fprocs, &suspended, &filps, &mut found);
    found
}

/// Only live open files hold flocks; an exclusive one is alone on its file; a suspended flock
/// conflicts with a lock another open file holds (or it would have been granted).
fn check_flocks(
    vfs: &mut VfsState,
    fprocs: &BTreeMap<ProcKey, Fproc>,
    suspended: &BTreeMap<ProcKey, Option<Suspended>>,
    filps: &BTreeMap<FilpId, Filp>,
    found: &mut Vec<Violation>,
) {
    if vfs.flocks.len() != NR_FILPS {
        found.push(violation("vfs.table-sizes", "the flock table changed its size".into()));
    }
    let mut held: BTreeMap<Ino, Vec<(FilpId, Flock)>> = BTreeMap::new();
    for (id, lock) in vfs.flocks.iter().enumerate() {
        let (id, Some(lock)) = (id as FilpId, *lock) else { continue };
        match filps.get(&id) {
            Some(filp) => held.entry(filp.ino).or_default().push((id, lock)),
            None => found.push(violation("vfs.flock-live", format!("free open file {id} holds a {lock:?} flock"))),
        }
    }
    for (ino, locks) in &held {
        if locks.len() > 1 && locks.iter().any(|(_, l)| *l == Flock::Exclusive) {
            found.push(violation("vfs.flock-conflict", format!("inode {ino} has an exclusive flock among {locks:?}")));
        }
    }
    for (key, call) in suspended {
        let (Some(fp), Some(Suspended::Flock { filp, exclusive })) = (fprocs.get(key), call) else { continue };
        let Some(ino) = filps.get(filp).map(|f| f.ino) else { continue };
        let blocked = held.get(&ino).is_some_and(|locks| {
            locks.iter().any(|(other, l)| other != filp && (*exclusive || *l == Flock::Exclusive))
        });
        if !blocked {
            found.push(violation(
                "vfs.flock-wait",
                format!("{} waits to lock open file {filp} (inode {ino}) though nothing conflicts", fp.ep),
            ));
        }
    }
}

/// Descriptor flags only on open descriptors; masks within UMASK_MAX; an open file keeps only its
/// access mode (a valid one) and the status flags.
fn check_flags(fprocs: &BTreeMap<ProcKey, Fproc>, filps: &BTreeMap<FilpId, Filp>, found: &mut Vec<Violation>) {
    for fp in fprocs.values() {
        let open: u32 = fp.fds.iter().enumerate().filter(|(_, f)| f.is_some()).map(|(fd, _)| 1u32 << fd).sum();
        if fp.cloexec & !open != 0 {
            found.push(violation(
                "vfs.cloexec-open",
                format!("{} marks closed descriptors close-on-exec (bits {:#x})", fp.ep, fp.cloexec & !open),
            ));
        }
        if fp.umask & !UMASK_MAX != 0 {
            found.push(violation("vfs.umask", format!("{} has mask {:#o}", fp.ep, fp.umask)));
        }
    }
    for (&id, filp) in filps {
        if filp.flags & !(O_ACCMODE | SETFL_MASK) != 0 || filp.flags & O_ACCMODE == O_ACCMODE {
            found.push(violation("vfs.filp-flags", format!("open file {id} keeps flags {:#o}", filp.flags)));
        }
    }
}

/// A suspended poll watches only open descriptors (within OPEN_MAX), asks for reading or writing
/// only on watched ones, and none of them is ready: a ready one ends the wait at once.
fn check_polls(
    vfs: &mut VfsState,
    fprocs: &BTreeMap<ProcKey, Fproc>,
    suspended: &BTreeMap<ProcKey, Option<Suspended>>,
    inodes: &BTreeMap<Ino, Inode>,
    filps: &BTreeMap<FilpId, Filp>,
    found: &mut Vec<Violation>,
) {
    for (key, call) in suspended {
        let (Some(fp), Some(Suspended::Poll(wait))) = (fprocs.get(key), call) else { continue };
        if wait.nfds as usize > OPEN_MAX || (wait.readable | wait.writable) & !wait.watched != 0 {
            found.push(violation(
                "vfs.poll-wait",
                format!("{} polls {} records, asking beyond what it watches", fp.ep, wait.nfds),
            ));
        }
        for fd in (0..OPEN_MAX).filter(|&fd| wait.watched & (1 << fd) != 0) {
            let Some(filp) = fp.fds.get(fd).copied().flatten().and_then(|id| filps.get(&id)) else {
                found.push(violation("vfs.poll-wait", format!("{} polls closed descriptor {fd}", fp.ep)));
                continue;
            };
            let Some(InodeKind::Pipe(pipe)) = inodes.get(&filp.ino).map(|i| &i.kind) else {
                // A file or directory is always ready.
                found.push(violation("vfs.poll-ready", format!("{} waits in poll on ready file {fd}", fp.ep)));
                continue;
            };
            let buffered = vfs.pipe_bufs.get(filp.ino as usize).map_or(0, Vec::len);
            let bit = 1u32 << fd;
            let ready = (filp.readable() && (pipe.writers == 0 || (wait.readable & bit != 0 && buffered > 0)))
                || (filp.writable() && (pipe.readers == 0 || (wait.writable & bit != 0 && buffered < PIPE_BUF)));
            if ready {
                found.push(violation(
                    "vfs.poll-ready",
                    format!("{} waits in poll though descriptor {fd} (pipe {}) is ready", fp.ep, filp.ino),
                ));
            }
        }
    }
}

/// Descriptors point at live open files; each open file's count is its descriptors.
fn check_descriptors<'a>(
    fprocs: impl Iterator<Item = &'a Fproc>,
    filps: &BTreeMap<FilpId, Filp>,
    found: &mut Vec<Violation>,
) {
    let mut refs: BTreeMap<FilpId, u32> = BTreeMap::new();
    for fp in fprocs {
        for (fd, id) in fp.fds.iter().enumerate() {
            let Some(id) = *id else { continue };
            if filps.contains_key(&id) {
                *refs.entry(id).or_default() += 1;
            } else {
                found
                    .push(violation("vfs.descriptor-live", format!("{} fd {fd} points at free open file {id}", fp.ep)));
            }
        }
    }
    for (&id, filp) in filps {
        let n = refs.get(&id).copied().unwrap_or(0);
        if filp.count != n {
            found.push(violation(
                "vfs.filp-count",
                format!("open file {id} (inode {}) counts {} descriptors but {n} point at it", filp.ino, filp.count),
            ));
        }
    }
}

/// Open files are on live inodes; opens and pipe ends add up.
fn check_opens(inodes: &BTreeMap<Ino, Inode>, filps: &BTreeMap<FilpId, Filp>, found: &mut Vec<Violation>) {
    let mut opens: BTreeMap<Ino, (u32, u32, u32)> = BTreeMap::new();
    for (&id, filp) in filps {
        if !inodes.contains_key(&filp.ino) {
            found.push(violation("vfs.filp-inode", format!("open file {id} is on free inode {}", filp.ino)));
            continue;
        }
        let e = opens.entry(filp.ino).or_default();
        e.0 += 1;
        e.1 += u32::from(filp.readable());
        e.2 += u32::from(filp.writable());
    }
    for (&ino, inode) in inodes {
        let (n, readers, writers) = opens.get(&ino).copied().unwrap_or_default();
        if inode.opens != n {
            found.push(violation(
                "vfs.inode-opens",
                format!("inode {ino} counts {} opens but {n} open files are on it", inode.opens),
            ));
        }
        if let InodeKind::Pipe(pipe) = &inode.kind
            && (pipe.readers, pipe.writers) != (readers, writers)
        {
            found.push(violation(
                "vfs.pipe-ends",
                format!(
                    "pipe {ino} counts {} readers and {} writers but has {readers} and {writers}",
                    pipe.readers, pipe.writers
                ),
            ));
        }
    }
}

/// Each pipe buffers at most PIPE_BUF bytes and keeps no size of its own; no other inode number
/// has bytes in a pipe buffer.
fn check_pipe_buffers(vfs: &mut VfsState, inodes: &BTreeMap<Ino, Inode>, found: &mut Vec<Violation>) {
    for (ino, bytes) in vfs.pipe_bufs.iter().enumerate() {
        let ino = ino as Ino;
        let detail = match inodes.get(&ino) {
            Some(inode) if inode.pipe().is_some() => (bytes.len() > PIPE_BUF || inode.size != 0)
                .then(|| format!("pipe {ino} buffers {} bytes with size {}", bytes.len(), inode.size)),
            _ => (!bytes.is_empty()).then(|| format!("inode {ino}, not a pipe, buffers {} bytes", bytes.len())),
        };
        found.extend(detail.map(|detail| violation("vfs.pipe-buffer", detail)));
    }
}

/// Each block is free or in one file, the free list holds no data, and the counts add up.
/// Returns the inodes whose block lists are sane (safe to read).
fn check_blocks(vfs: &mut VfsState, inodes: &BTreeMap<Ino, Inode>, found: &mut Vec<Violation>) -> BTreeSet<Ino> {
    let mut owner: BTreeMap<BlockNo, Ino> = BTreeMap::new();
    let mut sane = BTreeSet::new();
    for (&ino, inode) in inodes {
        let mut ok = true;
        if inode.blocks.len() != blocks_for(inode.size) && inode.pipe().is_none() {
            found.push(violation(
                "vfs.inode-size",
                format!("inode {ino} of {} bytes holds {} blocks", inode.size, inode.blocks.len()),
            ));
            ok = false;
        }
        if inode.pipe().is_some() && !inode.blocks.is_empty() {
            found.push(violation("vfs.inode-size", format!("pipe {ino} holds blocks")));
        }
        for &block in &inode.blocks {
            if block as usize >= NR_BLOCKS {
                found.push(violation("vfs.block-range", format!("inode {ino} holds block {block} past the disk")));
                ok = false;
            } else if let Some(other) = owner.insert(block, ino) {
                found.push(violation("vfs.block-shared", format!("block {block} is in inodes {other} and {ino}")));
            }
        }
        if ok {
            sane.insert(ino);
        }
    }
    let free: Vec<BlockNo> = vfs.free_blocks.iter().copied().collect();
    let mut free_set = BTreeSet::new();
    for &block in &free {
        if block as usize >= NR_BLOCKS {
            found.push(violation("vfs.block-range", format!("the free list holds block {block} past the disk")));
        } else if !free_set.insert(block) {
            found.push(violation("vfs.block-free-twice", format!("block {block} is on the free list twice")));
        } else if let Some(ino) = owner.get(&block) {
            found.push(violation("vfs.block-free-and-used", format!("block {block} is free and in inode {ino}")));
        } else if vfs.blocks.get(block as usize).is_some_and(|data| !data.is_empty()) {
            found.push(violation("vfs.block-free-data", format!("free block {block} holds data")));
        }
    }
    if free.len() + owner.len() != NR_BLOCKS {
        found.push(violation(
            "vfs.block-accounting",
            format!("{} free + {} used blocks != {NR_BLOCKS} on the disk", free.len(), owner.len()),
        ));
    }
    sane
}

/// Link counts equal the entries naming each inode; entries name live inodes; directories hold
/// their `.` and `..`; nothing is nameless and closed; the root is a live directory.
fn check_links(vfs: &mut VfsState, inodes: &BTreeMap<Ino, Inode>, sane: &BTreeSet<Ino>, found: &mut Vec<Violation>) {
    let mut names: BTreeMap<Ino, u32> = BTreeMap::new();
    let mut unparsed = false;
    for (&dir, inode) in inodes.iter().filter(|(_, i)| i.is_dir()) {
        if !sane.contains(&dir) || inode.size % DIRENT_SIZE as u64 != 0 {
            found.push(violation("vfs.dir-format", format!("directory {dir} cannot be read ({} bytes)", inode.size)));
            unparsed = true;
            continue;
        }
        let entries = vfs.dir_entries(dir);
        for e in &entries {
            if inodes.contains_key(&e.ino) {
                *names.entry(e.ino).or_default() += 1;
            } else {
                let name = String::from_utf8_lossy(&e.name);
                found.push(violation(
                    "vfs.dirent-live",
                    format!("entry {name:?} of directory {dir} names free inode {}", e.ino),
                ));
            }
        }
        if inode.nlink > 0 {
            let dot = entries.iter().find(|e| e.name == b".").map(|e| e.ino);
            let dotdot = entries.iter().find(|e| e.name == b"..").map(|e| e.ino);
            let parent_ok = dotdot.is_some_and(|p| inodes.get(&p).is_some_and(Inode::is_dir));
            if dot != Some(dir) || !parent_ok {
                found.push(violation("vfs.dir-dots", format!("directory {dir} has . = {dot:?} and .. = {dotdot:?}")));
            }
        }
    }
    if unparsed {
        return;
    }
    for (&ino, inode) in inodes {
        let n = names.get(&ino).copied().unwrap_or(0);
        if inode.nlink != n {
            found.push(violation(
                "vfs.link-count",
                format!("inode {ino} counts {} links but {n} entries name it", inode.nlink),
            ));
        }
        if inode.nlink == 0 && inode.opens == 0 {
            found.push(violation(
                "vfs.inode-leak",
                format!("inode {ino} has no name and is not open, yet is not freed"),
            ));
        }
    }
    if !inodes.get(&ROOT_INO).is_some_and(Inode::is_dir) {
        found.push(violation("vfs.root", "the root directory is missing".into()));
    }
}

/// Working directories are live directories; every process has one suspension entry and no other
/// slot has one; suspended calls wait on a pipe the process holds.
fn check_processes(
    fprocs: &BTreeMap<ProcKey, Fproc>,
    suspended: &BTreeMap<ProcKey, Option<Suspended>>,
    inodes: &BTreeMap<Ino, Inode>,
    filps: &BTreeMap<FilpId, Filp>,
    found: &mut Vec<Violation>,
) {
    for fp in fprocs.values() {
        if !inodes.get(&fp.cwd).is_some_and(Inode::is_dir) {
            found.push(violation("vfs.cwd-live", format!("{} works in inode {}, not a live directory", fp.ep, fp.cwd)));
        }
    }
    if !fprocs.keys().eq(suspended.keys()) {
        let (procs, entries): (Vec<_>, Vec<_>) = (fprocs.keys().collect(), suspended.keys().collect());
        found.push(violation(
            "vfs.suspension-entries",
            format!("processes in slots {procs:?} but suspension entries for {entries:?}"),
        ));
    }
    for (key, call) in suspended {
        let (Some(fp), Some(call)) = (fprocs.get(key), call) else { continue };
        let Some(id) = call.filp() else { continue };
        if matches!(call, Suspended::Flock { .. }) {
            // A flock may wait on any kind of file; `check_flocks` checks what it waits for.
            if !fp.fds.contains(&Some(id)) || !filps.contains_key(&id) {
                found.push(violation(
                    "vfs.suspended-call",
                    format!("{} waits to lock open file {id}, which it does not hold", fp.ep),
                ));
            }
            continue;
        }
        let on_pipe = filps.get(&id).and_then(|f| inodes.get(&f.ino)).is_some_and(|i| i.pipe().is_some());
        if !on_pipe || !fp.fds.contains(&Some(id)) {
            found.push(violation(
                "vfs.suspended-call",
                format!("{} waits on open file {id}, not a pipe it holds", fp.ep),
            ));
        }
    }
}

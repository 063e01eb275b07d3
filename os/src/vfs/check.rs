//! vfs's invariants: descriptors and open-file counts, vnode references against their holders,
//! pipe ends and buffers, working directories, the mount, suspended calls. (Vnodes against the
//! file system's inodes are `cross.rs`'s.)
//!
//! It reads a stopped (or crashed) vfs's state and must not panic on damage: every index is
//! checked before it is followed.

use crate::invariant::{Violation, listed, violation};
use crate::proto::ProcKey;
use crate::proto::vfs::flags::{O_ACCMODE, SETFL_MASK};
use crate::vfs::state::{
    DESCRIPTORS_MAX, Filp, FilpId, Flock, Fproc, Mount, PIPE_BUF, Suspended, UMASK_MAX, VfsState, Vnode, VnodeId,
    VnodeKind,
};
use recovery::{TrackedVec, counted};
use std::collections::{BTreeMap, BTreeSet};

/// Every invariant of `vfs::state` vfs can see alone: each open file's count equals the
/// descriptors pointing at it; each descriptor points at a live open file and each open file at a
/// live vnode; each vnode's references equal its open files, the working directories that are it,
/// the mount and one for shared mappings (a regular file's only), and a pipe's readers and writers
/// its open files by access mode; no vnode is unreferenced, and no two name one inode; each pipe
/// buffers at most PIPE_BUF bytes, and nothing else any; the mount's root and each cwd are
/// directory vnodes; each suspended call waits on a pipe the process has open; a suspended poll
/// watches open descriptors none of which is ready; close-on-exec flags are on open descriptors
/// only, masks within UMASK_MAX, open files keep only their access mode and status flags; flocks
/// are held by live open files, an exclusive one alone, and a suspended flock waits on a conflict.
pub fn check(vfs: &mut VfsState) -> Vec<Violation> {
    check_reaching(vfs, None)
}

/// The loop-top self-check after a request whose window began on a state that passed [`check`]:
/// the same verdict, reading of the pipe buffers and the flock table (large, and cold: few
/// requests touch them) only the entries that can have gone wrong since: those the window wrote,
/// those of the open files and vnodes it wrote, and those of the live ones.
pub fn check_window(vfs: &mut VfsState) -> Vec<Violation> {
    // A fixed-size table that pushed or popped is damage the whole check reports.
    let resized = vfs.vnodes.length_written()
        || vfs.filps.length_written()
        || vfs.pipe_bufs.length_written()
        || vfs.flocks.length_written();
    if resized {
        return check(vfs);
    }
    let mut vnodes: BTreeSet<VnodeId> = vfs.pipe_bufs.window_changes().map(|(id, _, _)| id as VnodeId).collect();
    vnodes.extend(vfs.vnodes.window_changes().map(|(id, _, _)| id as VnodeId));
    let mut filps: BTreeSet<FilpId> = vfs.flocks.window_changes().map(|(id, _, _)| id as FilpId).collect();
    filps.extend(vfs.filps.window_changes().map(|(id, _, _)| id as FilpId));
    check_reaching(vfs, Some(Reach { vnodes, filps }))
}

/// The entries of the pipe buffers and the flock table a check reads besides the live vnodes'
/// and open files' (none: all of them).
struct Reach {
    /// Vnodes whose buffers are read.
    vnodes: BTreeSet<VnodeId>,
    /// Open files whose flocks are read.
    filps: BTreeSet<FilpId>,
}

/// [`check`], reading of the pipe buffers and flocks only what `reach` says besides the live.
fn check_reaching(vfs: &mut VfsState, reach: Option<Reach>) -> Vec<Violation> {
    let mut found = Vec::new();
    // The vnode and pipe-buffer tables, the open-file and flock tables, each pair alike and in
    // the sizes vfs takes.
    let (vnodes, buffers, files, flocks) = (vfs.vnodes.len(), vfs.pipe_bufs.len(), vfs.filps.len(), vfs.flocks.len());
    let [vnodes_param, files_param, _] = super::PARAMS else { unreachable!("vfs takes three sizes") };
    if buffers != vnodes
        || flocks != files
        || !vnodes_param.accepts(vnodes as u64)
        || !files_param.accepts(files as u64)
    {
        found.push(violation(
            "vfs.table-sizes",
            format!("{vnodes} vnodes, {buffers} pipe buffers, {files} open files, {flocks} flocks: tables apart or out of range"),
        ));
    }
    let mount = *vfs.mount.get();
    let suspended: BTreeMap<ProcKey, Option<Suspended>> =
        vfs.suspended.iter().map(|(k, call)| (*k, call.clone())).collect();
    // Borrowed, not copied: this runs after every vfs request that wrote.
    let VfsState { vnodes, filps, fprocs, pipe_bufs, flocks, .. } = vfs;
    let vnodes: Vnodes<'_> =
        vnodes.iter().enumerate().filter_map(|(i, slot)| Some((i as VnodeId, slot.as_ref()?))).collect();
    let filps: Filps<'_> =
        filps.iter().enumerate().filter_map(|(i, slot)| Some((i as FilpId, slot.as_ref()?))).collect();
    let fprocs: Fprocs<'_> = fprocs.iter().map(|(k, f)| (*k, f)).collect();
    let (buffers, locks) = match reach {
        None => (None, None),
        Some(Reach { vnodes: mut buffers, filps: mut locks }) => {
            buffers.extend(vnodes.keys());
            locks.extend(filps.keys());
            (Some(buffers), Some(locks))
        }
    };
    check_descriptors(fprocs.values().copied(), &filps, &mut found);
    check_vnode_refs(&vnodes, &filps, &fprocs, mount, &mut found);
    check_pipe_buffers(pipe_bufs, buffers.as_ref(), &vnodes, &mut found);
    check_processes(&fprocs, &suspended, &vnodes, &filps, &mut found);
    check_flags(&fprocs, &filps, &mut found);
    check_polls(pipe_bufs, &fprocs, &suspended, &vnodes, &filps, &mut found);
    check_flocks(flocks, locks.as_ref(), &fprocs, &suspended, &filps, &mut found);
    found
}

/// The live vnodes, by id.
type Vnodes<'a> = BTreeMap<VnodeId, &'a Vnode>;
/// The live open files, by id.
type Filps<'a> = BTreeMap<FilpId, &'a Filp>;
/// The processes, by slot.
type Fprocs<'a> = BTreeMap<ProcKey, &'a Fproc>;

/// Only live open files hold flocks; an exclusive one is alone on its file; a suspended flock
/// conflicts with a lock another open file holds (or it would have been granted).
fn check_flocks(
    flocks: &mut TrackedVec<Option<Flock>>,
    reach: Option<&BTreeSet<FilpId>>,
    fprocs: &Fprocs<'_>,
    suspended: &BTreeMap<ProcKey, Option<Suspended>>,
    filps: &Filps<'_>,
    found: &mut Vec<Violation>,
) {
    let mut held: BTreeMap<VnodeId, Vec<(FilpId, Flock)>> = BTreeMap::new();
    let locks: Vec<(FilpId, Flock)> = match reach {
        None => flocks.iter().enumerate().filter_map(|(id, lock)| Some((id as FilpId, (*lock)?))).collect(),
        Some(ids) => ids.iter().filter_map(|&id| Some((id, (*flocks.get(id as usize)?)?))).collect(),
    };
    for (id, lock) in locks {
        match filps.get(&id) {
            Some(filp) => held.entry(filp.vnode).or_default().push((id, lock)),
            None => found.push(violation("vfs.flock-live", format!("free open file {id} holds {}", a_flock(lock)))),
        }
    }
    for (vnode, locks) in &held {
        if locks.len() > 1 && locks.iter().any(|(_, l)| *l == Flock::Exclusive) {
            let all = listed(locks.iter().map(|(id, lock)| format!("{} on open file {id}", a_flock(*lock))));
            found.push(violation(
                "vfs.flock-conflict",
                format!("vnode {vnode} has an exclusive flock among others: {all}"),
            ));
        }
    }
    for (key, call) in suspended {
        let (Some(fp), Some(Suspended::Flock { filp, exclusive })) = (fprocs.get(key), call) else { continue };
        let Some(vnode) = filps.get(filp).map(|f| f.vnode) else { continue };
        let blocked = held.get(&vnode).is_some_and(|locks| {
            locks.iter().any(|(other, l)| other != filp && (*exclusive || *l == Flock::Exclusive))
        });
        if !blocked {
            found.push(violation(
                "vfs.flock-wait",
                format!("{} waits to lock open file {filp} (vnode {vnode}) though nothing conflicts", fp.ep),
            ));
        }
    }
}

/// A flock for people, with its article: `a shared flock`, `an exclusive flock`.
fn a_flock(lock: Flock) -> &'static str {
    match lock {
        Flock::Shared => "a shared flock",
        Flock::Exclusive => "an exclusive flock",
    }
}

/// Descriptor flags only on open descriptors; masks within UMASK_MAX; an open file keeps only its
/// access mode (a valid one) and the status flags.
fn check_flags(fprocs: &Fprocs<'_>, filps: &Filps<'_>, found: &mut Vec<Violation>) {
    for fp in fprocs.values() {
        let open = fp.open();
        if !fp.cloexec.is_subset(&open) {
            let closed: Vec<usize> = fp.cloexec.iter().filter(|&fd| !open.contains(fd)).collect();
            found.push(violation(
                "vfs.cloexec-open",
                format!("{} marks closed descriptors close-on-exec ({closed:?})", fp.ep),
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

/// A suspended poll watches only open descriptors (at most DESCRIPTORS_MAX records: the limit the
/// manifest sets is vfs's to apply, at the call), asks for reading or writing only on watched ones,
/// and none of them is ready: a ready one ends the wait at once.
fn check_polls(
    pipe_bufs: &mut TrackedVec<Vec<u8>>,
    fprocs: &Fprocs<'_>,
    suspended: &BTreeMap<ProcKey, Option<Suspended>>,
    vnodes: &Vnodes<'_>,
    filps: &Filps<'_>,
    found: &mut Vec<Violation>,
) {
    for (key, call) in suspended {
        let (Some(fp), Some(Suspended::Poll(wait))) = (fprocs.get(key), call) else { continue };
        let asks_unwatched = !wait.readable.is_subset(&wait.watched) || !wait.writable.is_subset(&wait.watched);
        if wait.nfds as usize > DESCRIPTORS_MAX || asks_unwatched {
            found.push(violation(
                "vfs.poll-wait",
                format!("{} polls {}, asking beyond what it watches", fp.ep, counted(wait.nfds, "record")),
            ));
        }
        for fd in wait.watched.iter() {
            let Some(filp) = fp.fds.get(fd).copied().flatten().and_then(|id| filps.get(&id)) else {
                found.push(violation("vfs.poll-wait", format!("{} polls closed descriptor {fd}", fp.ep)));
                continue;
            };
            let Some(pipe) = vnodes.get(&filp.vnode).and_then(|v| v.pipe()) else {
                // A file or directory is always ready.
                found.push(violation("vfs.poll-ready", format!("{} waits in poll on ready file {fd}", fp.ep)));
                continue;
            };
            let buffered = pipe_bufs.get(filp.vnode as usize).map_or(0, Vec::len);
            let ready = (filp.readable() && (pipe.writers == 0 || (wait.readable.contains(fd) && buffered > 0)))
                || (filp.writable() && (pipe.readers == 0 || (wait.writable.contains(fd) && buffered < PIPE_BUF)));
            if ready {
                found.push(violation(
                    "vfs.poll-ready",
                    format!("{} waits in poll though descriptor {fd} (pipe {}) is ready", fp.ep, filp.vnode),
                ));
            }
        }
    }
}

/// Descriptors are below DESCRIPTORS_MAX and point at live open files; each open file's count is
/// its descriptors.
fn check_descriptors<'a>(fprocs: impl Iterator<Item = &'a Fproc>, filps: &Filps<'_>, found: &mut Vec<Violation>) {
    let mut refs: BTreeMap<FilpId, u32> = BTreeMap::new();
    for fp in fprocs {
        for (fd, id) in fp.fds.iter().enumerate() {
            let Some(id) = *id else { continue };
            if fd >= DESCRIPTORS_MAX {
                found.push(violation(
                    "vfs.descriptor-limit",
                    format!("{} holds descriptor {fd}, past the {DESCRIPTORS_MAX} a process may ever have", fp.ep),
                ));
            }
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
                format!(
                    "open file {id} (vnode {}) counts {} but {n} {} at it",
                    filp.vnode,
                    counted(filp.count, "descriptor"),
                    if n == 1 { "points" } else { "point" }
                ),
            ));
        }
    }
}

/// Open files are on live vnodes; each vnode's references are its holders (all shared mappings
/// count one, and only a regular file has them); pipe ends add up; the mount's root is a
/// directory; no two vnodes name one inode.
fn check_vnode_refs(
    vnodes: &Vnodes<'_>,
    filps: &Filps<'_>,
    fprocs: &Fprocs<'_>,
    mount: Option<Mount>,
    found: &mut Vec<Violation>,
) {
    // Per vnode: holders, readers, writers.
    let mut held: BTreeMap<VnodeId, (u32, u32, u32)> = BTreeMap::new();
    for (&id, filp) in filps {
        if !vnodes.contains_key(&filp.vnode) {
            found.push(violation("vfs.filp-vnode", format!("open file {id} is on free vnode {}", filp.vnode)));
            continue;
        }
        let e = held.entry(filp.vnode).or_default();
        e.0 += 1;
        e.1 += u32::from(filp.readable());
        e.2 += u32::from(filp.writable());
    }
    for fp in fprocs.values() {
        held.entry(fp.cwd).or_default().0 += 1;
    }
    match mount {
        Some(m) if vnodes.get(&m.root).is_some_and(|v| v.is_dir()) => held.entry(m.root).or_default().0 += 1,
        Some(m) => {
            found.push(violation("vfs.mount-root", format!("the root mount's vnode {} is no directory", m.root)))
        }
        // Unmounted (at reboot, once every process has gone): nothing may be left to need it.
        None if fprocs.is_empty() && vnodes.is_empty() => {}
        None => found.push(violation(
            "vfs.mount-root",
            format!(
                "no root file system is mounted, yet {} and {} are left",
                recovery::counted(fprocs.len() as u64, "process"),
                recovery::counted(vnodes.len() as u64, "vnode")
            ),
        )),
    }
    let mut named: BTreeMap<(kernel_sim::Endpoint, u32), VnodeId> = BTreeMap::new();
    for (&id, v) in vnodes {
        let (n, readers, writers) = held.get(&id).copied().unwrap_or_default();
        let n = n + u32::from(v.mapped);
        if v.refs != n || n == 0 {
            found.push(violation(
                "vfs.vnode-refs",
                format!(
                    "vnode {id} counts {} but has {} among open files, working directories, the mount and shared mappings",
                    counted(v.refs, "reference"),
                    counted(n, "holder")
                ),
            ));
        }
        if v.mapped && !v.is_regular() {
            found.push(violation(
                "vfs.vnode-mapped",
                format!("vnode {id} is held for shared mappings but is no regular file"),
            ));
        }
        if let Some(pipe) = v.pipe()
            && (pipe.readers, pipe.writers) != (readers, writers)
        {
            found.push(violation(
                "vfs.pipe-ends",
                format!(
                    "pipe {id} counts {} and {} but has {readers} and {writers}",
                    counted(pipe.readers, "reader"),
                    counted(pipe.writers, "writer")
                ),
            ));
        }
        match v.inode {
            Some(inode) => {
                if let Some(other) = named.insert(inode, id) {
                    found.push(violation(
                        "vfs.vnode-unique",
                        format!("vnodes {other} and {id} both name inode {} of {}", inode.1, inode.0),
                    ));
                }
                if v.fs_refs == 0 {
                    found.push(violation("vfs.vnode-refs", format!("vnode {id} holds no reference on its inode")));
                }
                if matches!(v.kind, VnodeKind::Pipe(_)) {
                    found.push(violation("vfs.vnode-inode", format!("unnamed pipe {id} names inode {}", inode.1)));
                }
            }
            None if !matches!(v.kind, VnodeKind::Pipe(_)) => {
                found.push(violation("vfs.vnode-inode", format!("vnode {id} is neither a pipe nor on a file system")))
            }
            None => {}
        }
    }
    for (&id, _) in held.iter().filter(|(id, _)| !vnodes.contains_key(id)) {
        found.push(violation("vfs.vnode-live", format!("free vnode {id} is held (a cwd or the mount)")));
    }
}

/// Each pipe buffers at most PIPE_BUF bytes; no other vnode has bytes in a pipe buffer.
fn check_pipe_buffers(
    pipe_bufs: &mut TrackedVec<Vec<u8>>,
    reach: Option<&BTreeSet<VnodeId>>,
    vnodes: &Vnodes<'_>,
    found: &mut Vec<Violation>,
) {
    // An empty buffer is right whatever its vnode: only the few holding bytes are looked up (this
    // runs after every vfs request that wrote, over the whole table or the reachable part).
    let buffers: Vec<(VnodeId, usize)> = match reach {
        None => {
            pipe_bufs.iter().enumerate().map(|(id, bytes)| (id as VnodeId, bytes.len())).filter(|b| b.1 > 0).collect()
        }
        Some(ids) => {
            ids.iter().filter_map(|&id| Some((id, pipe_bufs.get(id as usize)?.len()))).filter(|b| b.1 > 0).collect()
        }
    };
    for (id, len) in buffers {
        let detail = match vnodes.get(&id) {
            Some(v) if v.pipe().is_some() => {
                (len > PIPE_BUF).then(|| format!("pipe {id} buffers {}", counted(len as u64, "byte")))
            }
            _ => Some(format!("vnode {id}, not a pipe, buffers {}", counted(len as u64, "byte"))),
        };
        found.extend(detail.map(|detail| violation("vfs.pipe-buffer", detail)));
    }
}

/// Working directories are directory vnodes; every process has one suspension entry and no other
/// slot has one; suspended calls wait on a pipe the process holds.
fn check_processes(
    fprocs: &Fprocs<'_>,
    suspended: &BTreeMap<ProcKey, Option<Suspended>>,
    vnodes: &Vnodes<'_>,
    filps: &Filps<'_>,
    found: &mut Vec<Violation>,
) {
    for fp in fprocs.values() {
        if !vnodes.get(&fp.cwd).is_some_and(|v| v.is_dir()) {
            found.push(violation("vfs.cwd-live", format!("{} works in vnode {}, not a directory", fp.ep, fp.cwd)));
        }
    }
    if !fprocs.keys().eq(suspended.keys()) {
        found.push(violation(
            "vfs.suspension-entries",
            format!(
                "processes in slots {} but suspension entries for {}",
                listed(fprocs.keys()),
                listed(suspended.keys())
            ),
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
        let filp = filps.get(&id);
        let pipe = filp.and_then(|f| vnodes.get(&f.vnode)).and_then(|v| v.pipe());
        if pipe.is_none() || !fp.fds.contains(&Some(id)) {
            found.push(violation(
                "vfs.suspended-call",
                format!("{} waits on open file {id}, not a pipe it holds", fp.ep),
            ));
        }
        if let (Suspended::FifoOpen { fd, .. }, Some(filp), Some(pipe)) = (call, filp, pipe) {
            let other_ends = if filp.writable() { pipe.readers } else { pipe.writers };
            if fp.fds.get(*fd as usize) != Some(&Some(id)) || filp.readable() == filp.writable() || other_ends > 0 {
                found.push(violation(
                    "vfs.suspended-call",
                    format!(
                        "{} waits to open named pipe {} at descriptor {fd}, which is not that open file's, or \
                         needs no wait",
                        fp.ep, filp.vnode
                    ),
                ));
            }
        }
    }
}

//! File mappings, on vfs's behalf (VM_VFS_MMAP, VM_VFS_MAP_REFRESH, VM_VFS_MMAP_DONE,
//! VM_VFS_MAPPED): pages of a process filled with a file's bytes.
//!
//! MINIX's vm maps a file itself and asks vfs for the descriptor's file and its pages
//! (VMVFSREQ_FDLOOKUP, VMVFSREQ_FDIO), asynchronously, so that vm never waits on vfs. samsara's
//! vm sends no request at all: mmap of a file enters at vfs, which owns the descriptor, and vfs
//! asks vm in two steps. VM_VFS_MMAP takes zeroed pages, maps them into the process and lends the
//! ones to fill to vfs: they are mapped writable in a window of vm's own page table
//! ([`Fill::window`]) under vm's write grant to vfs, which passes it on to the file system for a
//! read, as it passes on a user's buffer. VM_VFS_MMAP_DONE takes the pages back (grant revoked,
//! window unmapped) and drops the mapping when the read failed. The process waits in vfs between
//! the two, so it never sees a mapping half filled; a fill vfs never finished (it crashed between
//! the two) is taken back at the process's next file mapping or at its exit.
//!
//! A shared mapping (MAP_SHARED, read-only) shows the file as it is, as MINIX's mappings of its
//! page cache do: its region is tagged with the file ([`FileTag`]), and when a write or a
//! truncation changes bytes it shows, vfs walks the tagged regions with VM_VFS_MAP_REFRESH, which
//! lends their pages again the same way, and has the file system read the new bytes in. vfs
//! holds a reference on the file while a region shows it. When such a region loses pages, vm
//! notifies vfs (`space::announce_release`), which asks with VM_VFS_MAPPED which files are still
//! shown and gives back its references on the others: MINIX's vm likewise closes, asynchronously,
//! the descriptor it keeps open for a mapped file when the file's last region goes.

use super::request::{VmCtx, check_caller, running_space_of, space_of, store_own};
use super::space::{free_region, fresh_pages};
use super::state::{AddressSpace, FileTag, Fill, Region, RegionKind};
use crate::errno::Errno;
use crate::proto::vm::layout::{PAGE, page_round_up};
use crate::proto::vm::*;
use crate::proto::{ProcKey, VFS, VM};
use crate::task::Handled;
use kernel_sim::memory::{Access, Frame};
use kernel_sim::{Endpoint, Message};

/// VM_VFS_MMAP (vfs): a new mapping of `len` bytes in `proc`, its first `fill` bytes lent to vfs.
pub fn do_vfs_mmap(ctx: &mut VmCtx<'_>) -> Handled {
    Handled::Reply(lend(ctx).map(|reply| Message::with(0, &reply)))
}

fn lend(ctx: &mut VmCtx<'_>) -> Result<VmFileMapReply, Errno> {
    check_caller(ctx)?;
    let VmFileMapRequest { proc, len, writable, fill, shared, ino, offset } = ctx.m.get();
    let bytes = page_round_up(len).ok_or(Errno::ENOMEM)?;
    let shown = shared && offset.checked_add(bytes).is_some() && offset % PAGE == 0 && !writable;
    if len == 0 || fill > bytes || shared && !shown {
        return Err(Errno::EINVAL);
    }
    let (owner, mut space) = running_space_of(ctx, proc)?;
    abandon(ctx, &mut space);
    let start = space.mmap_gap(bytes).ok_or(Errno::ENOMEM)?;
    let frames = fresh_pages(ctx, proc, start, bytes / PAGE, writable)?;
    let file = shared.then_some(FileTag { ino, offset });
    let region = Region { file, ..Region::new(RegionKind::Mmap, start, frames, writable) };
    let grant = match lend_pages(ctx, proc, &region, 0, fill) {
        Ok(grant) => grant,
        Err(e) => {
            free_region(ctx, proc, &region);
            return Err(e);
        }
    };
    space.insert(region);
    space.fill = Some(Fill { start, pages: fill.div_ceil(PAGE), grant, refresh: false });
    store_own(ctx, &owner, space);
    Ok(VmFileMapReply { addr: start, grant })
}

/// Maps the pages of `region` that hold its bytes `[from, from + len)` (`from` page-aligned) in
/// their window of vm's own page table and grants vfs writing them.
fn lend_pages(ctx: &mut VmCtx<'_>, proc: Endpoint, region: &Region, from: u64, len: u64) -> Result<u32, Errno> {
    let first = (from / PAGE) as usize;
    let pages = &region.frames[first..first + len.div_ceil(PAGE) as usize];
    let window = Fill::window(proc, region.start + from);
    map_window(ctx, window, pages)?;
    Ok(ctx.proc.grant(VFS, window, len, Access::Write))
}

/// Maps `frames` at `window` in vm's own page table (undone on failure). Straight to the kernel,
/// not through `ctx.kernel`: vm's page table, like its grants, goes with its incarnation, so a
/// request handled again after a restart must map its window again, where a kernel call replayed
/// from the crashed attempt's log would leave it unmapped (and the file system's read through
/// vm's grant would fault). Nothing another process sees changes.
fn map_window(ctx: &mut VmCtx<'_>, window: u64, frames: &[Frame]) -> Result<(), Errno> {
    let first = window / PAGE;
    for (i, &frame) in frames.iter().enumerate() {
        if let Err(e) = ctx.proc.sys_vm_map(VM, first + i as u64, frame, true) {
            unmap_window(ctx, window, i as u64);
            return Err(e.into());
        }
    }
    Ok(())
}

/// Unmaps `pages` pages at `window` from vm's own page table (see [`map_window`]).
fn unmap_window(ctx: &mut VmCtx<'_>, window: u64, pages: u64) {
    let first = window / PAGE;
    for page in first..first + pages {
        // Fails only for a page that is not mapped: nothing to undo then.
        let _ = ctx.proc.sys_vm_unmap(VM, page);
    }
}

/// VM_VFS_MAP_REFRESH (vfs): the pages of the next shared mapping of a file that show some of
/// its changed bytes, lent to vfs to read the file into.
pub fn do_vfs_map_refresh(ctx: &mut VmCtx<'_>) -> Handled {
    Handled::Reply(lend_again(ctx).map(|reply| Message::with(0, &reply)))
}

fn lend_again(ctx: &mut VmCtx<'_>) -> Result<VmMapRefreshReply, Errno> {
    check_caller(ctx)?;
    let VmMapRefreshRequest { ino, lo, hi, from_slot, from_addr } = ctx.m.get();
    if lo >= hi {
        return Err(Errno::EINVAL);
    }
    let (slot, start, from, to, mut space) = loop {
        // The first pages at or after the cursor that show [lo, hi): slots in order, then addresses.
        let next = ctx.state.spaces.iter().find_map(|(&slot, space)| {
            space.regions.iter().find_map(|r| {
                let (from, to) = r.showing(ino, lo, hi)?;
                let from = if slot == from_slot { from.max(from_addr) } else { from };
                ((slot, to) > (from_slot, from_addr) && from < to).then_some((slot, r.start, from, to))
            })
        });
        let (slot, start, from, to) = next.ok_or(Errno::ENOENT)?;
        let mut space = ctx.state.spaces.get(slot).expect("found above").clone();
        if space.fill.is_none() {
            break (slot, start, from, to, space);
        }
        // A fill vfs never finished (it may drop the mapping found): taken back, then look again.
        abandon(ctx, &mut space);
        store_found(ctx, slot, space);
    };
    let proc = space.ep;
    let region = space.regions.iter().find(|r| r.start == start).expect("found above");
    let offset = region.file.expect("it shows a file").offset + (from - start);
    let grant = lend_pages(ctx, proc, region, from - start, to - from)?;
    space.fill = Some(Fill { start: from, pages: (to - from) / PAGE, grant, refresh: true });
    store_found(ctx, slot, space);
    Ok(VmMapRefreshReply { proc, addr: from, offset, len: to - from, grant })
}

/// Stores the space of the process in `slot`, found by what its mappings show, not named by the
/// request: a write to another process's entry, so global (`store_own` is for the requester's
/// own entry or the one its message names).
fn store_found(ctx: &mut VmCtx<'_>, slot: ProcKey, space: AddressSpace) {
    space.assert_sound();
    *ctx.state.spaces.get_mut_global(slot).expect("the space was read in this request") = space;
}

/// VM_VFS_MAPPED (vfs): 1 if a shared mapping of any process shows inode `ino`, else 0.
pub fn do_vfs_mapped(ctx: &mut VmCtx<'_>) -> Handled {
    Handled::status(check_caller(ctx).map(|()| {
        let VmMappedRequest { ino } = ctx.m.get();
        let shown =
            ctx.state.spaces.iter().any(|(_, s)| s.regions.iter().any(|r| r.file.is_some_and(|f| f.ino == ino)));
        i32::from(shown)
    }))
}

/// VM_VFS_MMAP_DONE (vfs): the pages lent at `addr` come back, filled or not; a new mapping whose
/// pages were not filled goes, a refreshed one stays.
pub fn do_vfs_mmap_done(ctx: &mut VmCtx<'_>) -> Handled {
    Handled::status(done(ctx))
}

fn done(ctx: &mut VmCtx<'_>) -> Result<i32, Errno> {
    check_caller(ctx)?;
    let VmFileMapDone { proc, addr, keep } = ctx.m.get();
    let (owner, mut space) = space_of(ctx, proc)?;
    let fill = space.fill.filter(|f| f.start == addr).ok_or(Errno::EINVAL)?;
    space.fill = None;
    take_back(ctx, proc, fill);
    // Refreshed pages stay whatever vfs managed: the mapping was the process's before.
    if !keep && !fill.refresh {
        drop_mapping(ctx, &mut space, addr);
    }
    store_own(ctx, &owner, space);
    Ok(0)
}

/// Takes back pages lent to vfs for `proc`'s mapping: the grant is revoked, the window unmapped.
pub fn take_back(ctx: &mut VmCtx<'_>, proc: Endpoint, fill: Fill) {
    ctx.proc.revoke(fill.grant);
    unmap_window(ctx, Fill::window(proc, fill.start), fill.pages);
}

/// Takes back pages lent to vfs in `[start, end)` of a process's space before its own munmap or
/// mremap changes them: their frames may go or move, and the file system's read must not follow
/// them. vfs's read then fails, and its VM_VFS_MMAP_DONE finds nothing lent, which ends nothing
/// but that mapping's refresh (a process whose new mapping is being filled waits in vfs). Whether
/// it took any back.
pub fn take_back_within(ctx: &mut VmCtx<'_>, space: &mut AddressSpace, start: u64, end: u64) -> bool {
    let lent = space.fill.filter(|f| f.start < end && start < f.start.saturating_add(f.pages.saturating_mul(PAGE)));
    if let Some(fill) = lent {
        space.fill = None;
        take_back(ctx, space.ep, fill);
    }
    lent.is_some()
}

/// Takes back a fill vfs never finished, and drops a new mapping's: the process never learnt of
/// it.
fn abandon(ctx: &mut VmCtx<'_>, space: &mut AddressSpace) {
    if let Some(fill) = space.fill.take() {
        take_back(ctx, space.ep, fill);
        if !fill.refresh {
            drop_mapping(ctx, space, fill.start);
        }
    }
}

/// Unmaps and frees the whole mapping that starts at `start`.
fn drop_mapping(ctx: &mut VmCtx<'_>, space: &mut AddressSpace, start: u64) {
    let at = space.regions.iter().position(|r| r.kind == RegionKind::Mmap && r.start == start);
    let region = space.regions.remove(at.expect("a space's fill names one of its mappings"));
    free_region(ctx, space.ep, &region);
}

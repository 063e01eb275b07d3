//! File mappings, on vfs's behalf (VM_VFS_MMAP, VM_VFS_MMAP_DONE): pages of a process filled
//! with a file's bytes.
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

use super::request::{VmCtx, check_caller, running_space_of, space_of, store_own};
use super::space::{free_region, fresh_pages, map_pages, unmap_pages};
use super::state::{AddressSpace, Fill, Region, RegionKind};
use crate::errno::Errno;
use crate::proto::vm::layout::{PAGE, page_round_up};
use crate::proto::vm::*;
use crate::proto::{VFS, VM};
use crate::task::Handled;
use kernel_sim::memory::Access;
use kernel_sim::{Endpoint, Message};

/// VM_VFS_MMAP (vfs): a new mapping of `len` bytes in `proc`, its first `fill` bytes lent to vfs.
pub fn do_vfs_mmap(ctx: &mut VmCtx<'_>) -> Handled {
    Handled::Reply(lend(ctx).map(|reply| Message::with(0, &reply)))
}

fn lend(ctx: &mut VmCtx<'_>) -> Result<VmFileMapReply, Errno> {
    check_caller(ctx)?;
    let VmFileMapRequest { proc, len, writable, fill } = ctx.m.get();
    if len == 0 || fill > len {
        return Err(Errno::EINVAL);
    }
    let (owner, mut space) = running_space_of(ctx, proc)?;
    abandon(ctx, &mut space);
    let bytes = page_round_up(len).ok_or(Errno::ENOMEM)?;
    let start = space.mmap_gap(bytes).ok_or(Errno::ENOMEM)?;
    let frames = fresh_pages(ctx, proc, start, bytes / PAGE, writable)?;
    let lent = fill.div_ceil(PAGE);
    let window = Fill::window(proc, start);
    let region = Region { kind: RegionKind::Mmap, start, frames, writable };
    if let Err(e) = map_pages(ctx, VM, window, &region.frames[..lent as usize], true) {
        free_region(ctx, proc, &region);
        return Err(e);
    }
    let grant = ctx.proc.grant(VFS, window, fill, Access::Write);
    space.insert(region);
    space.fill = Some(Fill { start, pages: lent, grant });
    store_own(ctx, &owner, space);
    Ok(VmFileMapReply { addr: start, grant })
}

/// VM_VFS_MMAP_DONE (vfs): the lent pages of the mapping at `addr` come back, filled (the mapping
/// stays) or not (it goes).
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
    if !keep {
        drop_mapping(ctx, &mut space, addr);
    }
    store_own(ctx, &owner, space);
    Ok(0)
}

/// Takes back pages lent to vfs for `proc`'s mapping: the grant is revoked, the window unmapped.
pub fn take_back(ctx: &mut VmCtx<'_>, proc: Endpoint, fill: Fill) {
    ctx.proc.revoke(fill.grant);
    unmap_pages(ctx, VM, Fill::window(proc, fill.start), fill.pages);
}

/// Takes back a fill vfs never finished and drops its mapping: the process never learnt of it.
fn abandon(ctx: &mut VmCtx<'_>, space: &mut AddressSpace) {
    if let Some(fill) = space.fill.take() {
        take_back(ctx, space.ep, fill);
        drop_mapping(ctx, space, fill.start);
    }
}

/// Unmaps and frees the whole mapping that starts at `start`.
fn drop_mapping(ctx: &mut VmCtx<'_>, space: &mut AddressSpace, start: u64) {
    let at = space.regions.iter().position(|r| r.kind == RegionKind::Mmap && r.start == start);
    let region = space.regions.remove(at.expect("a space's fill names one of its mappings"));
    free_region(ctx, space.ep, &region);
}

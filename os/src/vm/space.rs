//! Building, filling and freeing address spaces, and keeping the kernel's page tables in step
//! with them.
//!
//! Page-table changes (`sys_vm_map`, `sys_vm_unmap`) go through `ctx.kernel`, so the recovery
//! window knows the request changed state outside vm. Zeroing and copying frames go straight to
//! the kernel: they only touch frames vm has just taken from its free list and no process maps
//! yet, so rolling vm back (which puts those frames back on the free list) leaves nothing visible.
//!
//! Invariant kept by every function here: on failure, nothing changed — frames taken are back on
//! the free list and pages mapped are unmapped — so a handler can answer an error and go on.

use super::request::VmCtx;
use super::state::{AddressSpace, Region, RegionKind, SpacePhase, VmState};
use crate::errno::Errno;
use crate::proto::vm::layout::*;
use crate::proto::{VFS, key_of};
use kernel_sim::memory::Frame;
use kernel_sim::{Endpoint, KernelCall, Proc};

/// Maps `frames` at consecutive pages of `ep` from address `start`. On failure, unmaps what it
/// mapped.
pub fn map_pages(ctx: &mut VmCtx<'_>, ep: Endpoint, start: u64, frames: &[Frame], writable: bool) -> Result<(), Errno> {
    let first = start / PAGE;
    for (i, &frame) in frames.iter().enumerate() {
        let page = first + i as u64;
        if let Err(e) = ctx.kernel(KernelCall::VmCtl, |k| k.sys_vm_map(ep, page, frame, writable)) {
            unmap_pages(ctx, ep, start, i as u64);
            return Err(e);
        }
    }
    Ok(())
}

/// Unmaps `pages` consecutive pages of `ep` from address `start`.
pub fn unmap_pages(ctx: &mut VmCtx<'_>, ep: Endpoint, start: u64, pages: u64) {
    let first = start / PAGE;
    for page in first..first + pages {
        // Unmapping fails only for an endpoint the kernel no longer knows: nothing is mapped then.
        let _ = ctx.kernel(KernelCall::VmCtl, |k| k.sys_vm_unmap(ep, page));
    }
}

/// Maps every page of `region` in `ep`'s page table (undone on failure).
pub fn map_region(ctx: &mut VmCtx<'_>, ep: Endpoint, region: &Region) -> Result<(), Errno> {
    map_pages(ctx, ep, region.start, &region.frames, region.writable)
}

/// Unmaps every page of `region` from `ep`'s page table.
pub fn unmap_region(ctx: &mut VmCtx<'_>, ep: Endpoint, region: &Region) {
    unmap_pages(ctx, ep, region.start, region.pages());
}

/// Zeroes frames vm has just taken from its free list (no process maps them yet).
pub fn zero_frames(proc: &Proc, frames: &[Frame]) -> Result<(), Errno> {
    frames.iter().try_for_each(|&f| proc.sys_frame_zero(f)).map_err(Errno::from)
}

/// Takes `pages` frames, zeroes them and maps them at `start` in `ep`: the frames of new
/// anonymous memory. ENOMEM when too few are free; nothing changes on failure.
pub fn fresh_pages(
    ctx: &mut VmCtx<'_>,
    ep: Endpoint,
    start: u64,
    pages: u64,
    writable: bool,
) -> Result<Vec<Frame>, Errno> {
    let count = usize::try_from(pages).map_err(|_| Errno::ENOMEM)?;
    let frames = ctx.state.alloc_frames(count).ok_or(Errno::ENOMEM)?;
    match zero_frames(ctx.proc, &frames).and_then(|()| map_pages(ctx, ep, start, &frames, writable)) {
        Ok(()) => Ok(frames),
        Err(e) => {
            ctx.state.free_frames(&frames);
            Err(e)
        }
    }
}

/// Unmaps `region` from `ep`'s page table and frees its frames.
pub fn free_region(ctx: &mut VmCtx<'_>, ep: Endpoint, region: &Region) {
    unmap_region(ctx, ep, region);
    ctx.state.free_frames(&region.frames);
    if region.file.is_some() {
        announce_release(ctx);
    }
}

/// Tells vfs that a shared file mapping lost pages, so that it gives back its reference on a
/// file no mapping shows any more (`filemap.rs`). A notification: vm never waits on vfs, and a
/// vfs that is down learns nothing it needs (a fresh one holds no such reference).
pub fn announce_release(ctx: &mut VmCtx<'_>) {
    let _ = ctx.notify(VFS);
}

/// Unmaps every region of `space` and frees its frames (and takes back pages lent to fill).
pub fn free_space(ctx: &mut VmCtx<'_>, space: &AddressSpace) {
    if let Some(fill) = space.fill {
        super::filemap::take_back(ctx, space.ep, fill);
    }
    for r in &space.regions {
        free_region(ctx, space.ep, r);
    }
}

/// The text pages an image of `text_bytes` gets: at least one, at most `MAX_TEXT_PAGES`.
pub fn text_pages_for(text_bytes: u64) -> u64 {
    text_bytes.div_ceil(PAGE).clamp(1, MAX_TEXT_PAGES)
}

/// The regions of a new image, as (kind, start, pages, writable): text of `text_pages`, an empty
/// heap after it, the stack.
pub fn image_layout(text_pages: u64) -> [(RegionKind, u64, u64, bool); 3] {
    assert!(
        (1..=MAX_TEXT_PAGES).contains(&text_pages),
        "an image has 1..={MAX_TEXT_PAGES} text pages, not {text_pages}"
    );
    [
        (RegionKind::Text, TEXT_START, text_pages, false),
        (RegionKind::Heap, TEXT_START + text_pages * PAGE, 0, true),
        (RegionKind::Stack, STACK_START, STACK_PAGES, true),
    ]
}

/// The frames an image with `text_pages` of text needs.
pub fn image_pages(text_pages: u64) -> u64 {
    image_layout(text_pages).iter().map(|l| l.2).sum()
}

/// The break of a fresh image: the end of its text (the heap is empty).
fn image_brk(text_pages: u64) -> u64 {
    TEXT_START + text_pages * PAGE
}

/// Builds a fresh image of `text_pages` for `ep`: frames zeroed and mapped. Nothing changes on
/// failure (ENOMEM when too few frames are free).
pub fn build_image(ctx: &mut VmCtx<'_>, ep: Endpoint, text_pages: u64) -> Result<AddressSpace, Errno> {
    if (ctx.state.free.len() as u64) < image_pages(text_pages) {
        return Err(Errno::ENOMEM);
    }
    let mut regions: Vec<Region> = Vec::new();
    for (kind, start, pages, writable) in image_layout(text_pages) {
        match fresh_pages(ctx, ep, start, pages, writable) {
            Ok(frames) => regions.push(Region::new(kind, start, frames, writable)),
            Err(e) => {
                let partial = AddressSpace { ep, regions, brk: 0, phase: SpacePhase::Running, fill: None };
                free_space(ctx, &partial);
                return Err(e);
            }
        }
    }
    let space = AddressSpace { ep, regions, brk: image_brk(text_pages), phase: SpacePhase::Running, fill: None };
    space.assert_sound();
    Ok(space)
}

/// Gives init its first address space (boot only: no request, no recovery window, so the kernel
/// calls go straight to the kernel).
pub fn create_initial(proc: &Proc, state: &mut VmState, init: Endpoint) -> Result<(), Errno> {
    let mut regions = Vec::new();
    for (kind, start, pages, writable) in image_layout(DEFAULT_TEXT_PAGES) {
        let frames = state.alloc_frames(pages as usize).ok_or(Errno::ENOMEM)?;
        zero_frames(proc, &frames)?;
        for (i, &frame) in frames.iter().enumerate() {
            proc.sys_vm_map(init, start / PAGE + i as u64, frame, writable)?;
        }
        regions.push(Region::new(kind, start, frames, writable));
    }
    let space =
        AddressSpace { ep: init, regions, brk: image_brk(DEFAULT_TEXT_PAGES), phase: SpacePhase::Running, fill: None };
    space.assert_sound();
    state.spaces.insert_global(key_of(init), space);
    Ok(())
}

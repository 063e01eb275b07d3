//! mremap: growing, shrinking or moving a mapping (VM_MREMAP).
//!
//! The range must lie in one mapping (or pieces of one, contiguous in memory and in the file they
//! show). Shrinking frees the pages past the new end (the mapping splits if the range ended
//! inside it). Growing takes fresh zeroed pages right after the range when the range ends the
//! mapping and nothing lies there; otherwise, with MREMAP_MAYMOVE, the range's frames move (no
//! copy: the same frames are mapped at the new place, the old pages unmapped) to the first gap
//! that fits the new length, followed by the fresh pages.
//!
//! Errors, checked before anything changes: EINVAL for an unaligned start, a zero length, unknown
//! flags, a range in text, heap or stack, or growing a shared file mapping (vm cannot read the
//! file's next pages, which Linux would map); EFAULT for a range not inside one mapping; ENOMEM
//! when it cannot grow in place (without MREMAP_MAYMOVE), no gap fits, or frames run out.

use super::filemap::take_back_within;
use super::request::{VmCtx, check_caller, own_running_space, store_own};
use super::space::{announce_release, fresh_pages, unmap_pages};
use super::state::{Region, RegionKind};
use crate::errno::Errno;
use crate::proto::vm::layout::{MMAP_LIMIT, PAGE, page_round_up};
use crate::proto::vm::*;
use crate::task::Handled;
use kernel_sim::memory::Frame;
use kernel_sim::{Endpoint, KernelCall, Message};

/// VM_MREMAP (user): the mapping at `addr` now `new_len` bytes long; the reply says where.
pub fn do_mremap(ctx: &mut VmCtx<'_>) -> Handled {
    Handled::Reply(mremap(ctx).map(|addr| Message::with(0, &MmapReply { addr })))
}

fn mremap(ctx: &mut VmCtx<'_>) -> Result<u64, Errno> {
    check_caller(ctx)?;
    let MremapRequest { addr, old_len, new_len, flags } = ctx.m.get();
    if addr % PAGE != 0 || old_len == 0 || new_len == 0 || flags & !MREMAP_MAYMOVE != 0 {
        return Err(Errno::EINVAL);
    }
    let old_end = addr.checked_add(old_len).and_then(page_round_up).ok_or(Errno::EINVAL)?;
    let new_bytes = page_round_up(new_len).ok_or(Errno::ENOMEM)?;
    let old_bytes = old_end - addr;
    let (owner, mut space) = own_running_space(ctx)?;
    if take_back_within(ctx, &mut space, addr, old_end) {
        store_own(ctx, &owner, space.clone());
    }
    let index = one_mapping(&mut space.regions, addr, old_end)?;
    let ep = space.ep;
    if new_bytes == old_bytes {
        return Ok(addr);
    }
    if new_bytes < old_bytes {
        // Shrink: the pages of [addr + new_bytes, old_end) go.
        let shrunk = space.regions.remove(index);
        let file_released = shrunk.file.is_some();
        let (kept, gone) = cut(shrunk, addr + new_bytes, old_end);
        unmap_pages(ctx, ep, addr + new_bytes, gone.len() as u64);
        ctx.state.free_frames(&gone);
        kept.into_iter().for_each(|r| space.insert(r));
        store_own(ctx, &owner, space);
        if file_released {
            announce_release(ctx);
        }
        return Ok(addr);
    }
    if space.regions[index].file.is_some() {
        // vm cannot read a file: the pages a grown file mapping would show are vfs's to fill.
        return Err(Errno::EINVAL);
    }
    let extra = (new_bytes - old_bytes) / PAGE;
    let grown_end = addr.checked_add(new_bytes).ok_or(Errno::ENOMEM)?;
    let region_end = space.regions[index].end();
    if old_end == region_end && grown_end <= MMAP_LIMIT && !space.overlaps_other(old_end, grown_end, Some(index)) {
        // Grow in place.
        let writable = space.regions[index].writable;
        let fresh = fresh_pages(ctx, ep, old_end, extra, writable)?;
        space.regions[index].frames.extend(fresh);
        store_own(ctx, &owner, space);
        return Ok(addr);
    }
    if flags & MREMAP_MAYMOVE == 0 {
        return Err(Errno::ENOMEM);
    }
    // Move: take the range out, find a gap for the new length among what is left.
    let writable = space.regions[index].writable;
    let (kept, moved) = cut(space.regions.remove(index), addr, old_end);
    kept.into_iter().for_each(|r| space.insert(r));
    let to = space.mmap_gap(new_bytes).ok_or(Errno::ENOMEM)?;
    if (ctx.state.free.len() as u64) < extra {
        return Err(Errno::ENOMEM);
    }
    unmap_pages(ctx, ep, addr, moved.len() as u64);
    map_moved(ctx, ep, to, &moved, writable);
    let fresh = fresh_pages(ctx, ep, to + old_bytes, extra, writable)
        .unwrap_or_else(|e| panic!("{extra} free frames were counted for {ep}'s mremap: {e}"));
    let mut frames = moved;
    frames.extend(fresh);
    space.insert(Region::new(RegionKind::Mmap, to, frames, writable));
    store_own(ctx, &owner, space);
    Ok(to)
}

/// The index of the one region holding `[addr, end)`, after joining the neighbouring pieces of
/// anonymous memory that cover it (mmap does not merge neighbours, and mprotect splits a mapping):
/// the pieces must be contiguous and equally protected (EFAULT otherwise, and for a range with an
/// unmapped page); text, heap and stack are EINVAL.
fn one_mapping(regions: &mut Vec<Region>, addr: u64, end: u64) -> Result<usize, Errno> {
    let touched: Vec<usize> = (0..regions.len()).filter(|&i| regions[i].overlaps(addr, end)).collect();
    let (Some(&first), Some(&last)) = (touched.first(), touched.last()) else { return Err(Errno::EFAULT) };
    if touched.iter().any(|&i| regions[i].kind != RegionKind::Mmap) {
        return Err(Errno::EINVAL);
    }
    let continued = touched.windows(2).all(|w| regions[w[0]].continued_by(&regions[w[1]]));
    if regions[first].start > addr || regions[last].end() < end || !continued {
        return Err(Errno::EFAULT);
    }
    // Regions are sorted and do not overlap: the touched ones are consecutive.
    let mut pieces = regions.drain(first..=last);
    let mut joined = pieces.next().expect("at least one region is touched");
    for piece in pieces {
        joined.frames.extend(piece.frames);
    }
    regions.insert(first, joined);
    Ok(first)
}

/// Splits `r` around `[from, to)` (page-aligned, inside it): the pieces before and after, and the
/// frames of the range.
fn cut(mut r: Region, from: u64, to: u64) -> (Vec<Region>, Vec<Frame>) {
    let first = ((from - r.start) / PAGE) as usize;
    let last = ((to - r.start) / PAGE) as usize;
    let mut frames = std::mem::take(&mut r.frames);
    let after = frames.split_off(last);
    let range = frames.split_off(first);
    let mut kept = Vec::new();
    if !frames.is_empty() {
        kept.push(r.part(0, frames));
    }
    if !after.is_empty() {
        kept.push(r.part(last, after));
    }
    (kept, range)
}

/// Maps the moved `frames` at `start` in `ep`.
fn map_moved(ctx: &mut VmCtx<'_>, ep: Endpoint, start: u64, frames: &[Frame], writable: bool) {
    for (i, &frame) in frames.iter().enumerate() {
        let page = start / PAGE + i as u64;
        // Fails only for an endpoint the kernel no longer knows, and the caller is blocked in
        // this call: a failure is broken state, not a user error.
        ctx.kernel(KernelCall::VmCtl, |k| k.sys_vm_map(ep, page, frame, writable))
            .unwrap_or_else(|e| panic!("mapping page {page:#x} of {ep}, blocked in mremap: {e}"));
    }
}

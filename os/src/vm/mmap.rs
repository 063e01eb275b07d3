//! mmap and munmap: anonymous mappings of the caller (VM_MMAP, VM_MUNMAP).
//!
//! A mapping is zeroed memory, writable or read-only, placed first-fit from `MMAP_BASE` upwards
//! below `MMAP_LIMIT`. Each mmap makes its own region (neighbours are not merged); munmap removes
//! whole pages from any mappings in its range, shrinking or splitting them, and refuses a range
//! that touches the text, heap or stack or holds no mapping at all.

use super::filemap::take_back_within;
use super::request::{VmCtx, check_caller, own_running_space, store_own};
use super::space::{announce_release, fresh_pages, unmap_pages};
use super::state::{Region, RegionKind};
use crate::errno::Errno;
use crate::proto::vm::layout::{PAGE, page_round_up};
use crate::proto::vm::*;
use crate::task::Handled;
use kernel_sim::Message;

/// VM_MMAP (user): map `len` bytes (rounded up to pages) of zeroed memory; the reply gives where.
pub fn do_mmap(ctx: &mut VmCtx<'_>) -> Handled {
    Handled::Reply(mmap(ctx).map(|addr| Message::with(0, &MmapReply { addr })))
}

fn mmap(ctx: &mut VmCtx<'_>) -> Result<u64, Errno> {
    check_caller(ctx)?;
    let MmapRequest { len, writable } = ctx.m.get();
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    let (owner, mut space) = own_running_space(ctx)?;
    let bytes = page_round_up(len).ok_or(Errno::ENOMEM)?;
    let start = space.mmap_gap(bytes).ok_or(Errno::ENOMEM)?;
    let frames = fresh_pages(ctx, space.ep, start, bytes / PAGE, writable)?;
    space.insert(Region::new(RegionKind::Mmap, start, frames, writable));
    store_own(ctx, &owner, space);
    Ok(start)
}

/// VM_MUNMAP (user): unmap the pages of `[addr, addr + len)` (len rounded up to pages).
pub fn do_munmap(ctx: &mut VmCtx<'_>) -> Handled {
    Handled::status(munmap(ctx))
}

fn munmap(ctx: &mut VmCtx<'_>) -> Result<i32, Errno> {
    check_caller(ctx)?;
    let MunmapRequest { addr, len } = ctx.m.get();
    if addr % PAGE != 0 || len == 0 {
        return Err(Errno::EINVAL);
    }
    let end = addr.checked_add(len).and_then(page_round_up).ok_or(Errno::EINVAL)?;
    let (owner, mut space) = own_running_space(ctx)?;
    let touched: Vec<&Region> = space.regions.iter().filter(|r| r.overlaps(addr, end)).collect();
    if touched.is_empty() || touched.iter().any(|r| r.kind != RegionKind::Mmap) {
        return Err(Errno::EINVAL);
    }
    take_back_within(ctx, &mut space, addr, end);
    let mut kept = Vec::with_capacity(space.regions.len() + 1);
    let mut freed = Vec::new();
    let mut file_released = false;
    for mut r in std::mem::take(&mut space.regions) {
        if !r.overlaps(addr, end) {
            kept.push(r);
            continue;
        }
        // Pages [cut_from, cut_to) of this mapping go; what lies before and after stays.
        let cut_from = ((addr.max(r.start) - r.start) / PAGE) as usize;
        let cut_to = ((end.min(r.end()) - r.start) / PAGE) as usize;
        let mut frames = std::mem::take(&mut r.frames);
        let after = frames.split_off(cut_to);
        let gone = frames.split_off(cut_from);
        unmap_pages(ctx, space.ep, r.start + cut_from as u64 * PAGE, gone.len() as u64);
        freed.extend(gone);
        file_released |= r.file.is_some();
        if !frames.is_empty() {
            kept.push(r.part(0, frames));
        }
        if !after.is_empty() {
            kept.push(r.part(cut_to, after));
        }
    }
    space.regions = kept;
    ctx.state.free_frames(&freed);
    if file_released {
        announce_release(ctx);
    }
    store_own(ctx, &owner, space);
    Ok(0)
}

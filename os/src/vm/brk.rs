//! brk: grow or shrink the caller's heap (VM_BRK).
//!
//! The heap region starts right after the text and ends at the break rounded up to a page. Growing
//! takes zeroed frames and maps them; shrinking unmaps and frees the pages past the new end. The
//! heap never passes `HEAP_LIMIT`, so it never meets the mappings or the stack.

use super::request::{VmCtx, check_caller, own_running_space, store_own};
use super::space::{fresh_pages, unmap_pages};
use crate::errno::Errno;
use crate::proto::vm::layout::{HEAP_LIMIT, PAGE, page_round_up};
use crate::proto::vm::*;
use crate::task::Handled;
use kernel_sim::Message;

/// VM_BRK (user): set the end of the caller's heap; the reply gives the break now. An address of
/// 0 or below the heap's start asks for the current break and changes nothing (Linux's brk).
pub fn do_brk(ctx: &mut VmCtx<'_>) -> Handled {
    Handled::Reply(brk(ctx).map(|addr| Message::with(0, &BrkReply { addr })))
}

fn brk(ctx: &mut VmCtx<'_>) -> Result<u64, Errno> {
    check_caller(ctx)?;
    let addr = ctx.m.get::<BrkRequest>().addr;
    let (owner, mut space) = own_running_space(ctx)?;
    let h = space.heap_index();
    let (heap_start, old_end) = (space.regions[h].start, space.regions[h].end());
    if addr == 0 || addr < heap_start {
        return Ok(space.brk);
    }
    if addr > HEAP_LIMIT {
        return Err(Errno::ENOMEM);
    }
    let new_end = page_round_up(addr).ok_or(Errno::ENOMEM)?;
    if new_end > old_end {
        if space.overlaps_other(old_end, new_end, Some(h)) {
            return Err(Errno::ENOMEM);
        }
        let frames = fresh_pages(ctx, space.ep, old_end, (new_end - old_end) / PAGE, true)?;
        space.regions[h].frames.extend(frames);
    } else if new_end < old_end {
        let keep = ((new_end - heap_start) / PAGE) as usize;
        let gone = space.regions[h].frames.split_off(keep);
        unmap_pages(ctx, space.ep, new_end, gone.len() as u64);
        ctx.state.free_frames(&gone);
    }
    space.brk = addr;
    store_own(ctx, &owner, space);
    Ok(addr)
}

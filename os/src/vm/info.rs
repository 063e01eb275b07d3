//! Memory statistics: VM_INFO (user: the machine and the caller), VM_REGIONS (user: the caller's
//! regions, its memory map) and VM_GETRUSAGE (pm: one process, per kind of region).

use super::request::{VmCtx, check_caller, space_of};
use super::state::RegionKind;
use crate::errno::Errno;
use crate::proto::vm::*;
use crate::task::Handled;
use kernel_sim::Message;

/// VM_GETRUSAGE (pm): pages a process uses, in all and per kind of region.
pub fn do_getrusage(ctx: &mut VmCtx<'_>) -> Handled {
    Handled::Reply(getrusage(ctx).map(|usage| Message::with(0, &usage)))
}

fn getrusage(ctx: &mut VmCtx<'_>) -> Result<VmUsageReply, Errno> {
    check_caller(ctx)?;
    let ep = ctx.m.get::<VmProcRequest>().proc;
    let (_, space) = space_of(ctx, ep)?;
    Ok(VmUsageReply {
        pages: space.pages(),
        text_pages: space.pages_of(RegionKind::Text),
        heap_pages: space.pages_of(RegionKind::Heap),
        stack_pages: space.pages_of(RegionKind::Stack),
        mmap_pages: space.pages_of(RegionKind::Mmap),
    })
}

/// VM_INFO (user): frames in the machine, free frames, pages the caller uses.
pub fn do_info(ctx: &mut VmCtx<'_>) -> Handled {
    Handled::Reply(info(ctx).map(|reply| Message::with(0, &reply)))
}

fn info(ctx: &mut VmCtx<'_>) -> Result<VmInfoReply, Errno> {
    check_caller(ctx)?;
    let who = ctx.who();
    let caller_pages = space_of(ctx, who).map_or(0, |(_, s)| s.pages());
    let total = *ctx.state.total.get();
    let free = ctx.state.free.len() as u64;
    Ok(VmInfoReply { total, free, caller_pages })
}

/// VM_REGIONS (user): the caller's regions as records (`proto::vm::region_record`) in its buffer,
/// as many as fit; the reply is how many there are. Empty regions (a heap at its start) count.
pub fn do_regions(ctx: &mut VmCtx<'_>) -> Handled {
    Handled::status(regions(ctx))
}

fn regions(ctx: &mut VmCtx<'_>) -> Result<i32, Errno> {
    use region_record::*;
    check_caller(ctx)?;
    let RegionsRequest { grant, len } = ctx.m.get();
    let who = ctx.who();
    let (_, space) = space_of(ctx, who)?;
    let fit = usize::try_from(len / SIZE as u64).unwrap_or(usize::MAX);
    let mut out = Vec::with_capacity(space.regions.len().min(fit) * SIZE);
    for r in space.regions.iter().take(fit) {
        let kind = match r.kind {
            RegionKind::Text => REGION_TEXT,
            RegionKind::Heap => REGION_HEAP,
            RegionKind::Stack => REGION_STACK,
            RegionKind::Mmap => REGION_MMAP,
        };
        out.extend_from_slice(&r.start.to_le_bytes());
        out.extend_from_slice(&r.pages().to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&u32::from(r.writable).to_le_bytes());
    }
    if !out.is_empty() {
        ctx.proc.safecopy_to(who, grant, 0, &out).map_err(Errno::from)?;
    }
    // A space holds a few dozen regions at most (the mmap area is bounded), far below i32::MAX.
    Ok(i32::try_from(space.regions.len()).expect("a region count fits a status"))
}

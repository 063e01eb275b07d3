//! Memory statistics: VM_INFO (user: the machine and the caller) and VM_GETRUSAGE (pm: one
//! process, per kind of region).

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

//! Memory statistics.

use super::state::VmState;
use crate::proto::vm::*;
use crate::task::{Ctx, Handled};
use kernel_sim::Message;

/// VM_INFO: frames in the machine, free frames, pages the caller uses.
pub fn do_info(ctx: &mut Ctx<'_, VmState>) -> Handled {
    let who = ctx.requester();
    let caller_pages = ctx.state.spaces.get_own(&who).map_or(0, |s| s.pages());
    let total = *ctx.state.total.get();
    let free = ctx.state.free.len() as u64;
    Handled::Reply(Ok(Message::with(0, &VmInfoReply { total, free, caller_pages })))
}

//! fork and exit: copy an address space into a new kernel slot; free one and clear the slot.

use super::space::{map_region, unmap_region};
use super::state::{AddressSpace, Region, VmState};
use crate::errno::Errno;
use crate::proto::key_of;
use crate::proto::vm::*;
use crate::task::{Ctx, Handled};
use kernel_sim::Message;
use recovery::Requester;

type VmCtx<'a> = Ctx<'a, VmState>;

/// VM_FORK (from pm): create the child's slot and give it a copy of the parent's memory. All the
/// frames are found before the slot is made, so running out of memory changes nothing.
pub fn do_fork(ctx: &mut VmCtx<'_>) -> Handled {
    let VmForkRequest { parent, child_slot } = ctx.m.get();
    // pm asks on behalf of the parent: writes keyed by it are the requesting process's own.
    let on_behalf = Requester::new(key_of(parent));
    let Some(space) = ctx.state.spaces.get_own(&on_behalf).filter(|s| s.ep == parent).cloned() else {
        return Handled::Reply(Err(Errno::ESRCH));
    };
    let Some(mut frames) = ctx.state.alloc_frames(space.pages() as usize).map(Vec::into_iter) else {
        return Handled::Reply(Err(Errno::ENOMEM));
    };
    let child = match ctx.proc.sys_fork(parent, child_slot as usize) {
        Ok(child) => child,
        Err(e) => {
            let back: Vec<_> = frames.collect();
            ctx.state.free_frames(&back);
            return Handled::Reply(Err(e.into()));
        }
    };
    let mut regions = Vec::with_capacity(space.regions.len());
    for r in &space.regions {
        let copy = Region { frames: frames.by_ref().take(r.frames.len()).collect(), ..r.clone() };
        for (&from, &to) in r.frames.iter().zip(&copy.frames) {
            let copied = ctx.proc.sys_frame_copy(from, to);
            debug_assert!(copied.is_ok(), "frames vm owns are valid");
        }
        if let Err(e) = map_region(ctx.proc, child, &copy) {
            return Handled::Reply(Err(e));
        }
        regions.push(copy);
    }
    ctx.state.spaces.insert_global(key_of(child), AddressSpace { ep: child, regions, brk: space.brk });
    Handled::Reply(Ok(Message::with(0, &VmForkReply { child })))
}

/// VM_EXIT (from pm): free the process's memory and clear its kernel slot.
pub fn do_exit(ctx: &mut VmCtx<'_>) -> Handled {
    let ep = ctx.m.get::<VmProcRequest>().proc;
    let on_behalf = Requester::new(key_of(ep));
    if let Some(space) = ctx.state.spaces.get_own(&on_behalf).filter(|s| s.ep == ep).cloned() {
        for r in &space.regions {
            unmap_region(ctx.proc, ep, r);
            ctx.state.free_frames(&r.frames);
        }
        ctx.state.spaces.remove_own(&on_behalf);
    }
    match ctx.proc.sys_clear(ep) {
        Ok(()) => Handled::Reply(Ok(Message::new(0))),
        Err(e) => Handled::Reply(Err(e.into())),
    }
}

//! fork and exit (from pm): copy an address space into a new kernel slot (VM_FORK); note that a
//! process will exit (VM_WILLEXIT); free its memory and clear its slot (VM_EXIT).
//!
//! fork copies every frame eagerly (no copy-on-write: the kernel reports no write faults). All
//! the frames are found before the kernel slot is made, so running out of memory changes nothing.

use super::request::{VmCtx, check_caller, running_space_of, space_of, store_own};
use super::space::{free_space, map_region};
use super::state::{AddressSpace, Region, SpacePhase};
use crate::errno::Errno;
use crate::proto::key_of;
use crate::proto::vm::*;
use crate::task::Handled;
use kernel_sim::{Endpoint, KernelCall, Message};

/// VM_FORK (pm): create the child's slot and give it a copy of the parent's memory.
pub fn do_fork(ctx: &mut VmCtx<'_>) -> Handled {
    Handled::Reply(fork(ctx).map(|child| Message::with(0, &VmForkReply { child })))
}

fn fork(ctx: &mut VmCtx<'_>) -> Result<Endpoint, Errno> {
    check_caller(ctx)?;
    let VmForkRequest { parent, child_slot } = ctx.m.get();
    // pm asks on behalf of the parent: reads keyed by it are the requesting process's own.
    let (_, space) = running_space_of(ctx, parent)?;
    // A space still in the child's slot would be overwritten and its frames lost: refuse, and
    // leave the stale space for the consistency checker to see.
    if ctx.state.spaces.contains(child_slot) {
        return Err(Errno::EAGAIN);
    }
    let mut frames = ctx.state.alloc_frames(space.pages() as usize).ok_or(Errno::ENOMEM)?.into_iter();
    let child = match ctx.kernel(KernelCall::Fork, |k| k.sys_fork(parent, child_slot as usize)) {
        Ok(child) => child,
        Err(e) => {
            let back: Vec<_> = frames.collect();
            ctx.state.free_frames(&back);
            return Err(e);
        }
    };
    assert_eq!(key_of(child), child_slot, "the kernel made the child in the slot pm picked");
    // From here on nothing can fail: the frames are vm's and the child was just made.
    let mut regions = Vec::with_capacity(space.regions.len());
    for r in &space.regions {
        let copy = Region { frames: frames.by_ref().take(r.frames.len()).collect(), ..r.clone() };
        // The copies are fresh frames no process maps yet (see space.rs): straight to the kernel.
        for (&from, &to) in r.frames.iter().zip(&copy.frames) {
            ctx.proc.sys_frame_copy(from, to).expect("vm's frames exist in the kernel");
        }
        map_region(ctx, child, &copy).expect("the child was just made");
        regions.push(copy);
    }
    assert!(frames.next().is_none(), "fork took exactly the parent's pages");
    let copy = AddressSpace { ep: child, regions, brk: space.brk, phase: SpacePhase::Running, fill: None };
    copy.assert_sound();
    ctx.state.spaces.insert_global(key_of(child), copy);
    Ok(child)
}

/// VM_WILLEXIT (pm): the process is on its way out. Its memory stays until VM_EXIT, and it may no
/// longer change it.
pub fn do_willexit(ctx: &mut VmCtx<'_>) -> Handled {
    Handled::status(willexit(ctx))
}

fn willexit(ctx: &mut VmCtx<'_>) -> Result<i32, Errno> {
    check_caller(ctx)?;
    let ep = ctx.m.get::<VmProcRequest>().proc;
    let (owner, mut space) = space_of(ctx, ep)?;
    if space.phase == SpacePhase::Running {
        space.phase = SpacePhase::Exiting;
        store_own(ctx, &owner, space);
    }
    Ok(0)
}

/// VM_EXIT (pm): free the ended process's memory and clear its kernel slot.
pub fn do_exit(ctx: &mut VmCtx<'_>) -> Handled {
    Handled::status(exit(ctx))
}

fn exit(ctx: &mut VmCtx<'_>) -> Result<i32, Errno> {
    check_caller(ctx)?;
    let ep = ctx.m.get::<VmProcRequest>().proc;
    // A process that still runs keeps its memory (it would fault on its next access).
    if let Ok(info) = ctx.proc.sys_procinfo(ep)
        && info.ended.is_none()
    {
        return Err(Errno::EBUSY);
    }
    if let Ok((owner, space)) = space_of(ctx, ep) {
        free_space(ctx, &space);
        ctx.state.spaces.discard_own(&owner);
        // Its frames are free now: a space left behind would hold them twice.
        assert!(space_of(ctx, ep).is_err(), "vm still holds the space of {ep}, whose frames it freed");
    }
    ctx.kernel(KernelCall::Clear, |k| k.sys_clear(ep))?;
    Ok(0)
}

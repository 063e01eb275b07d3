//! Whom a request acts for: vm's own check of who may make each call (defence in depth behind the
//! manifest, as MINIX's vm checks its call mask), and the address space a call acts on.
//!
//! A user call acts on the caller's own space (its writes are process-local through
//! `ctx.requester()`); a call from pm or vfs on behalf of a process acts on that process's own
//! entry (`Requester::new(key_of(proc))`), which is that process's process-local state too.

use super::state::{AddressSpace, SpacePhase, VmState};
use crate::errno::Errno;
use crate::proto::vm::{VmCaller, caller_of};
use crate::proto::{PM, ProcKey, VFS, key_of};
use crate::task::Ctx;
use kernel_sim::Endpoint;
use kernel_sim::manifest::FIRST_USER_SLOT;
use recovery::Requester;

/// vm's handler context.
pub type VmCtx<'a> = Ctx<'a, VmState>;

/// EPERM unless the sender may make this call: pm's calls from pm, vfs's from vfs, user calls
/// from user processes.
pub fn check_caller(ctx: &VmCtx<'_>) -> Result<(), Errno> {
    let who = ctx.who();
    let allowed = match caller_of(ctx.m.m_type) {
        Some(VmCaller::Pm) => who == PM,
        Some(VmCaller::Vfs) => who == VFS,
        Some(VmCaller::User) => !who.is_special() && who.slot() >= FIRST_USER_SLOT,
        None => false,
    };
    if allowed { Ok(()) } else { Err(Errno::EPERM) }
}

/// The space of process `ep`, and the token for writing it as that process's own entry. ESRCH
/// when vm keeps no space for exactly this endpoint.
pub fn space_of(ctx: &mut VmCtx<'_>, ep: Endpoint) -> Result<(Requester<ProcKey>, AddressSpace), Errno> {
    let owner = Requester::new(key_of(ep));
    match ctx.state.spaces.get_own(&owner) {
        Some(space) if space.ep == ep => Ok((owner, space.clone())),
        _ => Err(Errno::ESRCH),
    }
}

/// The space of process `ep` if it may still change (not exiting, image not lost): ESRCH
/// otherwise.
pub fn running_space_of(ctx: &mut VmCtx<'_>, ep: Endpoint) -> Result<(Requester<ProcKey>, AddressSpace), Errno> {
    let (owner, space) = space_of(ctx, ep)?;
    match space.phase {
        SpacePhase::Running => Ok((owner, space)),
        SpacePhase::Exiting | SpacePhase::ImageLost => Err(Errno::ESRCH),
    }
}

/// The caller's own space, if it may still change.
pub fn own_running_space(ctx: &mut VmCtx<'_>) -> Result<(Requester<ProcKey>, AddressSpace), Errno> {
    let who = ctx.who();
    let (owner, space) = running_space_of(ctx, who)?;
    debug_assert_eq!(owner, ctx.requester(), "a user call acts on the caller's own entry");
    Ok((owner, space))
}

/// Stores `space` as its process's own entry, after checking its layout.
#[track_caller]
pub fn store_own(ctx: &mut VmCtx<'_>, owner: &Requester<ProcKey>, space: AddressSpace) {
    space.assert_sound();
    let entry = ctx.state.spaces.get_own_mut(owner).expect("the space was read in this request");
    assert_eq!(entry.ep, space.ep, "a space keeps its endpoint");
    *entry = space;
}

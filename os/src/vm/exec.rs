//! exec: replace a process's memory with a fresh image (VM_EXEC_NEWMEM, from vfs).
//!
//! vm counts the frames the new image needs against the free ones plus the old image's before it
//! frees anything: when they do not suffice it answers ENOMEM with the old image intact. Past that
//! point the old image is gone; the new one is built from frames known to exist, so it can only
//! fail if the kernel refuses a mapping, which leaves the space with no image (`ImageLost`) and
//! answers `EXEC_IMAGE_LOST` (the contract is on `proto::vm::VmExecRequest`).

use super::request::{VmCtx, check_caller, running_space_of, store_own};
use super::space::{build_image, free_space, image_pages, text_pages_for};
use super::state::{AddressSpace, SpacePhase};
use crate::errno::Errno;
use crate::proto::vm::*;
use crate::task::Handled;

/// VM_EXEC_NEWMEM (vfs): free `proc`'s regions and build an image with `text_bytes` of text.
pub fn do_exec_newmem(ctx: &mut VmCtx<'_>) -> Handled {
    Handled::status(exec_newmem(ctx))
}

fn exec_newmem(ctx: &mut VmCtx<'_>) -> Result<i32, Errno> {
    check_caller(ctx)?;
    let VmExecRequest { proc, text_bytes } = ctx.m.get();
    let (owner, old) = running_space_of(ctx, proc)?;
    let text_pages = text_pages_for(text_bytes);
    let available = ctx.state.free.len() as u64 + old.pages();
    if available < image_pages(text_pages) {
        return Err(Errno::ENOMEM);
    }
    // The point of no return: the old image goes.
    free_space(ctx, &old);
    match build_image(ctx, proc, text_pages) {
        Ok(new) => {
            store_own(ctx, &owner, new);
            Ok(0)
        }
        Err(_) => {
            let lost = AddressSpace { ep: proc, regions: Vec::new(), brk: 0, phase: SpacePhase::ImageLost, fill: None };
            store_own(ctx, &owner, lost);
            Err(EXEC_IMAGE_LOST)
        }
    }
}

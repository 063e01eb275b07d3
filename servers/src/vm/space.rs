//! Building address spaces and keeping the kernel's page tables in step with them.

use super::state::{AddressSpace, Region, RegionKind, VmState};
use crate::errno::Errno;
use crate::proto::key_of;
use crate::proto::vm::layout::*;
use kernel_sim::{Endpoint, Proc};

/// Maps every page of `region` in `ep`'s page table.
pub fn map_region(proc: &Proc, ep: Endpoint, region: &Region) -> Result<(), Errno> {
    for (i, &frame) in region.frames.iter().enumerate() {
        proc.sys_vm_map(ep, region.first_page() + i as u64, frame, region.writable)?;
    }
    Ok(())
}

/// Unmaps every page of `region` from `ep`'s page table.
pub fn unmap_region(proc: &Proc, ep: Endpoint, region: &Region) {
    for i in 0..region.frames.len() as u64 {
        let _ = proc.sys_vm_unmap(ep, region.first_page() + i);
    }
}

/// The regions of a new image: text of `text_pages`, an empty heap after it, the stack.
pub fn image_layout(text_pages: u64) -> Vec<(RegionKind, u64, u64, bool)> {
    vec![
        (RegionKind::Text, TEXT_START, text_pages, false),
        (RegionKind::Heap, TEXT_START + text_pages * PAGE, 0, true),
        (RegionKind::Stack, STACK_START, STACK_PAGES, true),
    ]
}

/// Builds a fresh image of `text_pages` for `ep`: frames zeroed and mapped. Nothing changes on
/// failure.
pub fn build_image(proc: &Proc, state: &mut VmState, ep: Endpoint, text_pages: u64) -> Result<AddressSpace, Errno> {
    let layout = image_layout(text_pages);
    let needed: u64 = layout.iter().map(|l| l.2).sum();
    let mut frames = state.alloc_frames(needed as usize).ok_or(Errno::ENOMEM)?.into_iter();
    let mut regions = Vec::new();
    for (kind, start, pages, writable) in layout {
        let region = Region { kind, start, frames: frames.by_ref().take(pages as usize).collect(), writable };
        for &f in &region.frames {
            proc.sys_frame_zero(f)?;
        }
        map_region(proc, ep, &region)?;
        regions.push(region);
    }
    let brk = TEXT_START + text_pages * PAGE;
    Ok(AddressSpace { ep, regions, brk })
}

/// Gives init its first address space (boot only).
pub fn create_initial(proc: &Proc, state: &mut VmState, init: Endpoint) -> Result<(), Errno> {
    let space = build_image(proc, state, init, DEFAULT_TEXT_PAGES)?;
    state.spaces.insert_global(key_of(init), space);
    Ok(())
}

//! mprotect: the protection of anonymous mappings' pages (VM_MPROTECT).
//!
//! A region has one protection, so changing part of a mapping splits it (as munmap does); the
//! kernel's page table entries of the changed pages are rewritten with the new writability, so a
//! write to a page made read-only faults. Text, heap and stack keep the layout's protections
//! (EACCES): the layout invariants (`state.rs`) pin them.
//!
//! Errors, checked before anything changes: EINVAL for an unaligned start or unknown protection
//! bits, ENOTSUP for a protection the page tables cannot express (no PROT_READ), ENOMEM for a range
//! with an unmapped page (or past the address space), EACCES for text, heap or stack.

use super::request::{VmCtx, check_caller, own_running_space, store_own};
use super::state::{Region, RegionKind};
use crate::errno::Errno;
use crate::proto::vm::layout::{PAGE, page_round_up};
use crate::proto::vm::prot::{PROT_ALL, PROT_READ, PROT_WRITE};
use crate::proto::vm::*;
use crate::task::Handled;
use kernel_sim::memory::Frame;
use kernel_sim::{Endpoint, KernelCall};

/// VM_MPROTECT (user): pages of `[addr, addr + len)` become read-only or read-write.
pub fn do_mprotect(ctx: &mut VmCtx<'_>) -> Handled {
    Handled::status(mprotect(ctx))
}

fn mprotect(ctx: &mut VmCtx<'_>) -> Result<i32, Errno> {
    check_caller(ctx)?;
    let MprotectRequest { addr, len, prot } = ctx.m.get();
    if addr % PAGE != 0 || prot & !PROT_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    if prot & PROT_READ == 0 {
        return Err(Errno::ENOTSUP);
    }
    if len == 0 {
        return Ok(0);
    }
    let end = addr.checked_add(len).and_then(page_round_up).ok_or(Errno::ENOMEM)?;
    let writable = prot & PROT_WRITE != 0;
    let (owner, mut space) = own_running_space(ctx)?;
    let touched: Vec<&Region> = space.regions.iter().filter(|r| r.overlaps(addr, end)).collect();
    let covered: u64 = touched.iter().map(|r| (end.min(r.end()) - addr.max(r.start)) / PAGE).sum();
    if covered != (end - addr) / PAGE {
        return Err(Errno::ENOMEM);
    }
    if touched.iter().any(|r| r.kind != RegionKind::Mmap) {
        return Err(Errno::EACCES);
    }
    // A shared file mapping shows the file as vfs writes it, so it stays read-only (MINIX
    // refuses writable shared mappings; Linux's answer for a file open read-only).
    if writable && touched.iter().any(|r| r.file.is_some()) {
        return Err(Errno::EACCES);
    }
    let mut kept = Vec::with_capacity(space.regions.len() + 2);
    for mut r in std::mem::take(&mut space.regions) {
        if !r.overlaps(addr, end) || r.writable == writable {
            kept.push(r);
            continue;
        }
        // Pages [from, to) of this mapping change; what lies before and after keeps its protection.
        let from = ((addr.max(r.start) - r.start) / PAGE) as usize;
        let to = ((end.min(r.end()) - r.start) / PAGE) as usize;
        let mut frames = std::mem::take(&mut r.frames);
        let after = frames.split_off(to);
        let changed = frames.split_off(from);
        let changed = Region { writable, ..r.part(from, changed) };
        remap(ctx, space.ep, changed.start, &changed.frames, writable);
        if !frames.is_empty() {
            kept.push(r.part(0, frames));
        }
        kept.push(changed);
        if !after.is_empty() {
            kept.push(r.part(to, after));
        }
    }
    space.regions = kept;
    store_own(ctx, &owner, space);
    Ok(0)
}

/// Rewrites the page-table entries of `frames`, mapped from `start` in `ep`, with `writable`.
fn remap(ctx: &mut VmCtx<'_>, ep: Endpoint, start: u64, frames: &[Frame], writable: bool) {
    for (i, &frame) in frames.iter().enumerate() {
        let page = start / PAGE + i as u64;
        // Fails only for an endpoint the kernel no longer knows, and the caller is blocked in
        // this call: a failure is broken state, not a user error.
        ctx.kernel(KernelCall::VmCtl, |k| k.sys_vm_map(ep, page, frame, writable))
            .unwrap_or_else(|e| panic!("remapping page {page:#x} of {ep}, blocked in mprotect: {e}"));
    }
}

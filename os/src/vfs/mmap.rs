//! mmap of a file (VFS_MMAP): a mapping that holds the file's bytes; and keeping shared mappings
//! in step with their files.
//!
//! vfs checks the descriptor as Linux's and MINIX's mmap do, then has vm map zeroed pages into the
//! caller and lend it the ones the file's bytes go to, has the file system read them in (vm's
//! grant passed on, as a user's buffer is for a read), and gives the pages back to vm, which drops
//! the mapping if the read failed (`vm/filemap.rs` tells the protocol, and why it enters here).
//! Past the file's end the mapping is zero.
//!
//! A private mapping (MAP_PRIVATE) is a copy of the file's bytes at map time, writable or not,
//! whose changes stay in it, as POSIX has it. A shared one (MAP_SHARED) may only be read (MINIX
//! refuses a writable one, ENXIO) and shows the file as it is, as MINIX's do through the page
//! cache vm keeps for its file systems: vm tags its pages with the file, and every write or
//! truncation of the file through vfs has vm lend the pages that show the changed bytes again,
//! for the file system to read them in afresh ([`show_change`]). A shared mapping holds the file:
//! the vnode keeps one reference (`Vnode::mapped`) while any mapping shows it, so its inode
//! outlives the descriptor and the file's last name, as a mapped file does in MINIX (whose vm
//! keeps it open). vm notifies vfs when a mapping of a file loses pages; vfs then gives back the
//! references no mapping needs any more ([`release_unmapped`]).

use super::VfsCtx;
use super::caller_filp;
use super::state::VnodeId;
use super::vnode::{PassedOn, mount, put_vnode};
use crate::errno::Errno;
use crate::proto::VM;
use crate::proto::fs::{IoReply, IoRequest, REQ_READ};
use crate::proto::vfs::MmapFileRequest;
use crate::proto::vfs::flags::O_APPEND;
use crate::proto::vfs::map::{MAP_PRIVATE, MAP_SHARED, MAP_TYPE};
use crate::proto::vm::layout::{PAGE, page_round_up};
use crate::proto::vm::prot::{PROT_ALL, PROT_READ, PROT_WRITE};
use crate::proto::vm::{
    MmapReply, VM_VFS_MAP_REFRESH, VM_VFS_MAPPED, VM_VFS_MMAP, VM_VFS_MMAP_DONE, VmFileMapDone, VmFileMapReply,
    VmFileMapRequest, VmMapRefreshReply, VmMapRefreshRequest, VmMappedRequest,
};
use crate::task::Handled;
use kernel_sim::Message;
use kernel_sim::memory::Access;

/// VFS_MMAP: map `len` bytes of the descriptor's file from `offset`; the reply gives where.
pub fn do_mmap(ctx: &mut VfsCtx<'_>) -> Handled {
    Handled::Reply(mmap(ctx).map(|addr| Message::with(0, &MmapReply { addr })))
}

fn mmap(ctx: &mut VfsCtx<'_>) -> Result<u64, Errno> {
    let MmapFileRequest { fd, offset, len, prot, flags } = ctx.m.get();
    let shared = match flags & MAP_TYPE {
        MAP_SHARED => true,
        MAP_PRIVATE => false,
        _ => return Err(Errno::EINVAL),
    };
    if len == 0 || offset % PAGE != 0 || prot & !PROT_ALL != 0 || offset.checked_add(len).is_none() {
        return Err(Errno::EINVAL);
    }
    let id = caller_filp(ctx, fd)?;
    let filp = ctx.state.live_filp(id);
    let vnode = ctx.state.live_vnode(filp.vnode).clone();
    // Linux's answer for what has no pages to map: pipes, directories.
    if !vnode.is_regular() {
        return Err(Errno::ENODEV);
    }
    let writable = prot & PROT_WRITE != 0;
    if !filp.readable() || shared && writable && (!filp.writable() || filp.flags & O_APPEND != 0) {
        return Err(Errno::EACCES);
    }
    if shared && writable {
        // MINIX's vm: "we only can't accept writable MAP_SHARED mappings".
        return Err(Errno::ENXIO);
    }
    // The kernel's pages are readable or read-write: a page that may not be read is not kept.
    if prot & PROT_READ == 0 {
        return Err(Errno::ENOTSUP);
    }
    // The file's bytes up to the end of the mapping's last page, as Linux's mappings show them.
    let fill = vnode.size.saturating_sub(offset).min(page_round_up(len).ok_or(Errno::ENOMEM)?);
    // Held before vm tags a mapping with it: vm never shows a file vfs does not hold.
    let held_now = shared && hold(ctx, filp.vnode);
    let ino = vnode.ino();
    let request = VmFileMapRequest { proc: ctx.who(), len, writable, fill, shared, ino, offset };
    let mapped = map_and_fill(ctx, request, offset);
    if mapped.is_err() && held_now {
        release_if_unmapped(ctx, filp.vnode);
    }
    mapped
}

/// Has vm make the mapping `request` asks for, and the file system fill it from file offset
/// `offset`; where the mapping is.
fn map_and_fill(ctx: &mut VfsCtx<'_>, request: VmFileMapRequest, offset: u64) -> Result<u64, Errno> {
    let lent: VmFileMapReply = ctx.sendrec(VM, Message::with(VM_VFS_MMAP, &request))?.get();
    let fill = request.fill;
    let read = if fill == 0 { Ok(()) } else { read_in(ctx, request.ino, offset, fill, lent.grant) };
    let done = VmFileMapDone { proc: request.proc, addr: lent.addr, keep: read.is_ok() };
    ctx.sendrec(VM, Message::with(VM_VFS_MMAP_DONE, &done))?;
    read.map(|()| lent.addr)
}

/// Takes the reference all shared mappings of `vnode` hold, if it is not taken yet; whether it
/// took it.
fn hold(ctx: &mut VfsCtx<'_>, vnode: VnodeId) -> bool {
    let v = ctx.state.live_vnode_mut(vnode);
    let taking = !v.mapped;
    if taking {
        v.mapped = true;
        v.refs += 1;
    }
    taking
}

/// Has every shared mapping of `vnode` show its bytes `[lo, hi)` as they are now: after a write or
/// a truncation. Each mapping's pages that show them are lent by vm in turn and read in from the
/// file system; what lies past the file's end is zeroed. The file has changed whatever its
/// mappings show: the caller's call succeeds even where a mapping could not be brought up to
/// date, as a write does in MINIX whatever its page cache's fate.
pub fn show_change(ctx: &mut VfsCtx<'_>, vnode: VnodeId, lo: u64, hi: u64) {
    let v = ctx.state.live_vnode(vnode);
    if v.mapped && lo < hi {
        let (ino, size) = (v.ino(), v.size);
        refresh_mappings(ctx, ino, size, lo, hi);
    }
}

/// Regular file `vnode` is now `size` bytes long (a truncation): the vnode's cached size follows,
/// and so do the shared mappings of the bytes between the old end and the new (zeros now, or
/// gone).
pub fn resized(ctx: &mut VfsCtx<'_>, vnode: VnodeId, size: u64) {
    let old = std::mem::replace(&mut ctx.state.live_vnode_mut(vnode).size, size);
    show_change(ctx, vnode, old.min(size), old.max(size));
}

/// [`show_change`]'s walk over the mappings of inode `ino`, now `size` bytes long. It ends when vm
/// has no mapping left to lend (ENOENT) or cannot lend one; a mapping that could not be filled
/// does not stop it (its process may have unmapped the pages or gone meanwhile).
fn refresh_mappings(ctx: &mut VfsCtx<'_>, ino: u32, size: u64, lo: u64, hi: u64) {
    let (mut from_slot, mut from_addr) = (0, 0);
    loop {
        let request = VmMapRefreshRequest { ino, lo, hi, from_slot, from_addr };
        let Ok(lent) = ctx.sendrec(VM, Message::with(VM_VFS_MAP_REFRESH, &request)) else { return };
        let lent: VmMapRefreshReply = lent.get();
        let fill = size.saturating_sub(lent.offset).min(lent.len);
        let read = if fill == 0 { Ok(()) } else { read_in(ctx, ino, lent.offset, fill, lent.grant) };
        let filled = read.and_then(|()| zero_past(ctx, lent.grant, fill, lent.len));
        let done = VmFileMapDone { proc: lent.proc, addr: lent.addr, keep: filled.is_ok() };
        let _ = ctx.sendrec(VM, Message::with(VM_VFS_MMAP_DONE, &done));
        (from_slot, from_addr) = (lent.proc.slot() as u32, lent.addr + lent.len);
    }
}

/// Zeroes bytes `[from, to)` of the pages vm lent under `grant`: they lie past the file's end.
fn zero_past(ctx: &mut VfsCtx<'_>, grant: u32, from: u64, to: u64) -> Result<(), Errno> {
    const ZEROS: [u8; PAGE as usize] = [0; PAGE as usize];
    let mut at = from;
    while at < to {
        let n = (to - at).min(PAGE);
        ctx.proc.safecopy_to(VM, grant, at, &ZEROS[..n as usize]).map_err(Errno::from)?;
        at += n;
    }
    Ok(())
}

/// A notification from vm: a shared mapping lost pages. Every file vfs holds for its mappings is
/// asked after (VM_VFS_MAPPED), and the references of those no mapping shows any more go back.
pub fn release_unmapped(ctx: &mut VfsCtx<'_>) {
    for id in ctx.state.mapped_vnodes() {
        release_if_unmapped(ctx, id);
    }
}

/// Gives back the reference `vnode` holds for shared mappings if vm says none shows it.
fn release_if_unmapped(ctx: &mut VfsCtx<'_>, vnode: VnodeId) {
    let ino = ctx.state.live_vnode(vnode).ino();
    match ctx.sendrec(VM, Message::with(VM_VFS_MAPPED, &VmMappedRequest { ino })) {
        Ok(m) if m.m_type == 0 => {
            ctx.state.live_vnode_mut(vnode).mapped = false;
            put_vnode(ctx, vnode);
        }
        // Still shown, or vm cannot say: the reference stays.
        _ => {}
    }
}

/// Has the file system read `len` bytes of inode `ino` from `pos` into the pages vm lent under
/// `grant`.
fn read_in(ctx: &mut VfsCtx<'_>, ino: u32, pos: u64, len: u64, grant: u32) -> Result<(), Errno> {
    let fs = mount(ctx).fs;
    let pages = PassedOn::new(ctx.proc, fs, VM, grant, len, Access::Write);
    let request = IoRequest { ino, grant: pages.id, pos, len };
    let _: IoReply = ctx.sendrec(fs, Message::with(REQ_READ, &request))?.get();
    Ok(())
}

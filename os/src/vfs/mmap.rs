//! mmap of a file (VFS_MMAP): a mapping that holds the file's bytes.
//!
//! vfs checks the descriptor as Linux's and MINIX's mmap do, then has vm map zeroed pages into the
//! caller and lend it the ones the file's bytes go to, has the file system read them in (vm's
//! grant passed on, as a user's buffer is for a read), and gives the pages back to vm, which drops
//! the mapping if the read failed (`vm/filemap.rs` tells the protocol, and why it enters here).
//! Past the file's end the mapping is zero.
//!
//! What a file mapping is: the file's bytes as they were when it was mapped. A private mapping
//! (MAP_PRIVATE) is a copy, writable or not, whose changes stay in it, as POSIX has it. A shared
//! one (MAP_SHARED) may only be read: MINIX refuses a writable one (ENXIO), and MINIX's read-only
//! ones share the page cache vm keeps for its file systems, which samsara's file system does not
//! use, so later writes to the file do not reach a mapping made before them. The mapping keeps no
//! reference on the file: closing the descriptor or removing the file leaves it as it is.

use super::VfsCtx;
use super::caller_filp;
use super::vnode::{PassedOn, mount};
use crate::errno::Errno;
use crate::proto::VM;
use crate::proto::fs::{IoReply, IoRequest, REQ_READ};
use crate::proto::vfs::MmapFileRequest;
use crate::proto::vfs::flags::O_APPEND;
use crate::proto::vfs::map::{MAP_PRIVATE, MAP_SHARED, MAP_TYPE};
use crate::proto::vm::layout::PAGE;
use crate::proto::vm::prot::{PROT_ALL, PROT_READ, PROT_WRITE};
use crate::proto::vm::{MmapReply, VM_VFS_MMAP, VM_VFS_MMAP_DONE, VmFileMapDone, VmFileMapReply, VmFileMapRequest};
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
    let fill = vnode.size.saturating_sub(offset).min(len);
    let request = VmFileMapRequest { proc: ctx.who(), len, writable, fill };
    let lent: VmFileMapReply = ctx.sendrec(VM, Message::with(VM_VFS_MMAP, &request))?.get();
    let read = if fill == 0 { Ok(()) } else { read_in(ctx, vnode.ino(), offset, fill, lent.grant) };
    let done = VmFileMapDone { proc: ctx.who(), addr: lent.addr, keep: read.is_ok() };
    ctx.sendrec(VM, Message::with(VM_VFS_MMAP_DONE, &done))?;
    read.map(|()| lent.addr)
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

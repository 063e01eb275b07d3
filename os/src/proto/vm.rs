//! Calls to vm (range 0xC00): from pm (0xC00..0xC0F), from vfs (0xC10..0xC1F), from user
//! processes (0xC20..0xC3F). The manifest grants each caller only its part, and vm checks the same
//! split itself ([`caller_of`]), as MINIX's vm checks its own call mask.
//!
//! Addresses and lengths are bytes; vm works in pages of [`layout::PAGE`] bytes and rounds lengths
//! up to whole pages.

use crate::errno::Errno;
use kernel_sim::msgtype::VM_BASE;
use kernel_sim::{Endpoint, MsgType, payload};

/// pm: free a process's memory and clear its kernel slot (the end of exit).
pub const VM_EXIT: MsgType = VM_BASE + 0x01;
/// pm: create the child's slot and copy the parent's address space.
pub const VM_FORK: MsgType = VM_BASE + 0x02;
/// pm: a process is about to exit (its memory must stay until VM_EXIT).
pub const VM_WILLEXIT: MsgType = VM_BASE + 0x04;
/// pm: memory usage of a process.
pub const VM_GETRUSAGE: MsgType = VM_BASE + 0x05;
/// vfs: replace a process's memory with a new image (exec). See [`VmExecRequest`] for the answers.
pub const VM_EXEC_NEWMEM: MsgType = VM_BASE + 0x11;
/// vfs: take zeroed pages for a file mapping of a process, map them, and lend vfs the first
/// `fill` bytes to fill with the file's (`VmFileMapRequest`; reply `VmFileMapReply`).
pub const VM_VFS_MMAP: MsgType = VM_BASE + 0x12;
/// vfs: the pages VM_VFS_MMAP or VM_VFS_MAP_REFRESH lent are filled, or not (`VmFileMapDone`):
/// vm takes them back and, when a new mapping's are not, drops the mapping.
pub const VM_VFS_MMAP_DONE: MsgType = VM_BASE + 0x13;
/// vfs: some bytes of a file changed; lend the pages of the next shared mapping that shows them
/// (`VmMapRefreshRequest`; reply `VmMapRefreshReply`; ENOENT when none is left).
pub const VM_VFS_MAP_REFRESH: MsgType = VM_BASE + 0x14;
/// vfs: whether a shared mapping still shows a file (`VmMappedRequest`; status 1 or 0).
pub const VM_VFS_MAPPED: MsgType = VM_BASE + 0x15;
/// user: set the heap's end.
pub const VM_BRK: MsgType = VM_BASE + 0x20;
/// user: map anonymous memory.
pub const VM_MMAP: MsgType = VM_BASE + 0x21;
/// user: unmap memory.
pub const VM_MUNMAP: MsgType = VM_BASE + 0x22;
/// user: memory statistics.
pub const VM_INFO: MsgType = VM_BASE + 0x23;
/// user: change the protection of anonymous mappings' pages (`MprotectRequest`).
pub const VM_MPROTECT: MsgType = VM_BASE + 0x24;

/// user: grow, shrink or move an anonymous mapping (`MremapRequest`; reply `MmapReply`).
pub const VM_MREMAP: MsgType = VM_BASE + 0x25;
/// user: the caller's regions, as records in its buffer (MINIX's VM_INFO with VMIW_REGION, what
/// its procfs reads for a process's memory map): `RegionsRequest`, records as [`RegionRecord`]
/// says; the reply's status is how many regions there are (records past the buffer are left out).
pub const VM_REGIONS: MsgType = VM_BASE + 0x26;
/// mremap's flag: the mapping may move when it cannot grow where it is.
pub const MREMAP_MAYMOVE: u32 = 0x1;

/// mprotect's protection bits (POSIX names, Linux's values). The kernel's page tables know
/// read-only and read-write pages: a protection without PROT_READ is ENOTSUP; PROT_EXEC is
/// accepted and means nothing more (no page is executed).
pub mod prot {
    /// Pages may be read.
    pub const PROT_READ: u32 = 0x1;
    /// Pages may be written.
    pub const PROT_WRITE: u32 = 0x2;
    /// Pages may be executed.
    pub const PROT_EXEC: u32 = 0x4;
    /// Every bit mprotect knows.
    pub const PROT_ALL: u32 = PROT_READ | PROT_WRITE | PROT_EXEC;
}

/// Who may make a vm call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmCaller {
    /// pm alone (0xC00..0xC0F).
    Pm,
    /// vfs alone (0xC10..0xC1F).
    Vfs,
    /// Any user process, for itself (0xC20..0xC3F).
    User,
}

/// Bounds (offsets from `VM_BASE`, inclusive) of each caller's part of vm's range.
const PM_CALLS: (MsgType, MsgType) = (0x00, 0x0F);
const VFS_CALLS: (MsgType, MsgType) = (0x10, 0x1F);
const USER_CALLS: (MsgType, MsgType) = (0x20, 0x3F);

/// Who may make the vm call `t` (`None`: not a vm call).
pub fn caller_of(t: MsgType) -> Option<VmCaller> {
    let offset = t.checked_sub(VM_BASE)?;
    let within = |(lo, hi): (MsgType, MsgType)| (lo..=hi).contains(&offset);
    if within(PM_CALLS) {
        Some(VmCaller::Pm)
    } else if within(VFS_CALLS) {
        Some(VmCaller::Vfs)
    } else if within(USER_CALLS) {
        Some(VmCaller::User)
    } else {
        None
    }
}

payload! {
    /// Any vm call naming one process (VM_EXIT, VM_WILLEXIT, VM_GETRUSAGE).
    pub struct VmProcRequest { pub proc: Endpoint }
}
payload! {
    /// VM_FORK: the parent, and the slot pm picked for the child (the index of its table entry).
    pub struct VmForkRequest { pub parent: Endpoint, pub child_slot: u32 }
}
payload! {
    /// VM_FORK reply: the child's endpoint.
    pub struct VmForkReply { pub child: Endpoint }
}
payload! {
    /// VM_EXEC_NEWMEM: the process, and the new image's text size in bytes (the text gets
    /// `ceil(text_bytes / PAGE)` pages, at least one, at most [`layout::MAX_TEXT_PAGES`]).
    ///
    /// The answer's status:
    /// - `0`: the new image (text, empty heap, stack, all zeroed) is mapped; the old one is gone.
    /// - `-ENOMEM`: too few frames for the new image. vm counts before it frees anything, so the
    ///   old image is intact and the process may go on (exec returns ENOMEM, as Linux's does
    ///   before its point of no return).
    /// - `-ESRCH` (no such process, or it is exiting), `-EPERM` (not from vfs): nothing changed.
    /// - `-EFAULT` ([`EXEC_IMAGE_LOST`]): the old image was freed but the kernel refused to map
    ///   the new one; the process has no memory left and must be ended. Use [`exec_image_lost`].
    pub struct VmExecRequest { pub proc: Endpoint, pub text_bytes: u64 }
}
payload! {
    /// VM_GETRUSAGE reply: pages the process uses, in all and per kind of region.
    pub struct VmUsageReply {
        pub pages: u64,
        pub text_pages: u64,
        pub heap_pages: u64,
        pub stack_pages: u64,
        pub mmap_pages: u64,
    }
}
payload! {
    /// VM_BRK: the wanted end of the heap (0, or anything below the heap's start, asks for the
    /// current end without changing it).
    pub struct BrkRequest { pub addr: u64 }
}
payload! {
    /// VM_BRK reply: the end of the heap now.
    pub struct BrkReply { pub addr: u64 }
}
payload! {
    /// VM_MMAP: bytes wanted (rounded up to pages), writable or read-only. The memory is
    /// anonymous and zeroed.
    pub struct MmapRequest { pub len: u64, pub writable: bool }
}
payload! {
    /// VM_MMAP reply: where.
    pub struct MmapReply { pub addr: u64 }
}
payload! {
    /// VM_VFS_MMAP: for process `proc`, `len` bytes (rounded up to pages) of zeroed memory,
    /// writable or read-only for the process; the first `fill` bytes (at most `len` rounded up to
    /// pages) are lent to vfs under a write grant. A `shared` mapping (read-only) shows inode
    /// `ino` from file offset `offset`, and vfs lends its pages again when the file changes.
    pub struct VmFileMapRequest {
        pub proc: Endpoint,
        pub len: u64,
        pub writable: bool,
        pub fill: u64,
        pub shared: bool,
        pub ino: u32,
        pub offset: u64,
    }
}
payload! {
    /// VM_VFS_MMAP reply: where the mapping is in the process, and vm's grant to vfs of the
    /// bytes to fill (valid until VM_VFS_MMAP_DONE).
    pub struct VmFileMapReply { pub addr: u64, pub grant: u32 }
}
payload! {
    /// VM_VFS_MMAP_DONE: the mapping at `addr` of `proc`, filled (`keep`) or to be dropped.
    pub struct VmFileMapDone { pub proc: Endpoint, pub addr: u64, pub keep: bool }
}
payload! {
    /// VM_VFS_MAP_REFRESH: the bytes `[lo, hi)` of inode `ino` changed. vm lends the pages that
    /// show them of the first shared mapping at or after process slot `from_slot`, address
    /// `from_addr` (slots in order, then addresses): vfs walks every mapping from `(0, 0)`.
    pub struct VmMapRefreshRequest { pub ino: u32, pub lo: u64, pub hi: u64, pub from_slot: u32, pub from_addr: u64 }
}
payload! {
    /// VM_VFS_MAP_REFRESH reply: `len` bytes (whole pages) of process `proc` from `addr`, which
    /// show the file from `offset`, lent under `grant` until VM_VFS_MMAP_DONE.
    pub struct VmMapRefreshReply { pub proc: Endpoint, pub addr: u64, pub offset: u64, pub len: u64, pub grant: u32 }
}
payload! {
    /// VM_VFS_MAPPED: inode `ino` of the root file system.
    pub struct VmMappedRequest { pub ino: u32 }
}
payload! {
    /// VM_MUNMAP: a page-aligned start and a length (rounded up to pages).
    pub struct MunmapRequest { pub addr: u64, pub len: u64 }
}
payload! {
    /// VM_MPROTECT: a page-aligned start, a length (rounded up to pages) and the protection
    /// (`prot`). Every page of the range must be in an anonymous mapping.
    pub struct MprotectRequest { pub addr: u64, pub len: u64, pub prot: u32 }
}
payload! {
    /// VM_MREMAP: the page-aligned start of (part of) one anonymous mapping, its length and the
    /// length wanted (both rounded up to pages), and flags (`MREMAP_MAYMOVE`). The reply is a
    /// `MmapReply` with where the mapping is now.
    pub struct MremapRequest { pub addr: u64, pub old_len: u64, pub new_len: u64, pub flags: u32 }
}
payload! {
    /// VM_REGIONS: a buffer of `len` bytes in the caller's memory under a write grant.
    pub struct RegionsRequest { pub grant: u32, pub len: u64 }
}

/// One record of VM_REGIONS's answer, in region order: 24 bytes, little-endian.
///
/// ```text
/// offset 0:  start     u64  (page-aligned)
/// offset 8:  pages     u64
/// offset 16: kind      u32  (REGION_TEXT, REGION_HEAP, REGION_STACK, REGION_MMAP)
/// offset 20: writable  u32  (0 or 1)
/// ```
pub mod region_record {
    /// Bytes of one record.
    pub const SIZE: usize = 24;
    /// The program's text.
    pub const REGION_TEXT: u32 = 1;
    /// The heap.
    pub const REGION_HEAP: u32 = 2;
    /// The stack.
    pub const REGION_STACK: u32 = 3;
    /// An anonymous mapping.
    pub const REGION_MMAP: u32 = 4;
}

payload! {
    /// VM_INFO reply: frames in the machine, free, and used by the caller.
    pub struct VmInfoReply { pub total: u64, pub free: u64, pub caller_pages: u64 }
}

/// The error VM_EXEC_NEWMEM answers when the old image is gone and no new one could be mapped.
pub const EXEC_IMAGE_LOST: Errno = Errno::EFAULT;

/// Whether a failed VM_EXEC_NEWMEM left the process without an image (it must then be ended);
/// every other failure leaves the old image intact.
pub fn exec_image_lost(e: Errno) -> bool {
    e == EXEC_IMAGE_LOST
}

/// The name of a vm message type.
pub fn name(t: MsgType) -> Option<&'static str> {
    Some(match t {
        VM_EXIT => "vm_exit",
        VM_FORK => "vm_fork",
        VM_WILLEXIT => "vm_willexit",
        VM_GETRUSAGE => "vm_getrusage",
        VM_EXEC_NEWMEM => "vm_exec_newmem",
        VM_VFS_MMAP => "vm_vfs_mmap",
        VM_VFS_MMAP_DONE => "vm_vfs_mmap_done",
        VM_VFS_MAP_REFRESH => "vm_vfs_map_refresh",
        VM_VFS_MAPPED => "vm_vfs_mapped",
        VM_BRK => "brk",
        VM_MMAP => "mmap",
        VM_MUNMAP => "munmap",
        VM_INFO => "vm_info",
        VM_MPROTECT => "mprotect",
        VM_MREMAP => "mremap",
        VM_REGIONS => "vm_regions",
        _ => return None,
    })
}

/// The user address-space layout vm builds and the syscall library relies on.
///
/// ```text
/// TEXT_START  text (read-only) | heap (grows up by brk, to HEAP_LIMIT)
/// MMAP_BASE   anonymous mappings, placed first-fit upwards, below MMAP_LIMIT
/// STACK_START stack (fixed size; its bottom half is the syscall library's scratch buffer)
/// STACK_TOP
/// ```
pub mod layout {
    use kernel_sim::memory::PAGE_SIZE;

    /// Bytes in a page.
    pub const PAGE: u64 = PAGE_SIZE as u64;
    /// Where the text (program image) starts.
    pub const TEXT_START: u64 = 0x0001_0000;
    /// Text pages of init and of a program whose file gives no size.
    pub const DEFAULT_TEXT_PAGES: u64 = 2;
    /// The most text pages an image gets: 256 pages, 1 MiB. Programs are registered closures, so
    /// the text only stands for the program file's size in the frame accounting; the cap keeps
    /// one large file from taking a big share of the machine's frames.
    pub const MAX_TEXT_PAGES: u64 = 256;
    /// The top of the stack (it grows down from here).
    pub const STACK_TOP: u64 = 0x8000_0000;
    /// Pages of stack, the syscall library's scratch buffer included.
    pub const STACK_PAGES: u64 = 16;
    /// Where the stack region starts.
    pub const STACK_START: u64 = STACK_TOP - STACK_PAGES * PAGE;
    /// The syscall library's marshalling buffer: the bottom half of the stack region. Paths,
    /// arguments and I/O data pass through here on their way to a grant.
    pub const SCRATCH: u64 = STACK_START;
    /// Bytes of the scratch buffer.
    pub const SCRATCH_LEN: u64 = STACK_PAGES / 2 * PAGE;
    /// Where anonymous mappings are placed, upwards.
    pub const MMAP_BASE: u64 = 0x4000_0000;
    /// Anonymous mappings end below here: they never reach the stack.
    pub const MMAP_LIMIT: u64 = STACK_START;
    /// The heap may not grow past here (so it never meets the mappings).
    pub const HEAP_LIMIT: u64 = MMAP_BASE;

    const _: () =
        assert!(TEXT_START.is_multiple_of(PAGE) && MMAP_BASE.is_multiple_of(PAGE) && STACK_START.is_multiple_of(PAGE));
    const _: () = assert!(TEXT_START + MAX_TEXT_PAGES * PAGE < HEAP_LIMIT, "the largest text leaves room for a heap");
    const _: () = assert!(HEAP_LIMIT <= MMAP_BASE && MMAP_BASE < MMAP_LIMIT && MMAP_LIMIT <= STACK_START);

    /// `addr` rounded up to a page boundary (`None` on overflow).
    pub const fn page_round_up(addr: u64) -> Option<u64> {
        match addr.checked_add(PAGE - 1) {
            Some(a) => Some(a / PAGE * PAGE),
            None => None,
        }
    }
}

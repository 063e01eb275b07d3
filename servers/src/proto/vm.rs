//! Calls to vm (range 0xC00): from pm (0xC00..0xC0F), from vfs (0xC10..0xC1F), from user
//! processes (0xC20..0xC3F). The manifest grants each caller only its part.

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
/// vfs: replace a process's memory with a new image (exec).
pub const VM_EXEC_NEWMEM: MsgType = VM_BASE + 0x11;
/// user: set the heap's end.
pub const VM_BRK: MsgType = VM_BASE + 0x20;
/// user: map anonymous memory.
pub const VM_MMAP: MsgType = VM_BASE + 0x21;
/// user: unmap memory.
pub const VM_MUNMAP: MsgType = VM_BASE + 0x22;
/// user: memory statistics.
pub const VM_INFO: MsgType = VM_BASE + 0x23;

payload! {
    /// Any vm call naming one process.
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
    /// VM_EXEC_NEWMEM: the new image's text size in bytes.
    pub struct VmExecRequest { pub proc: Endpoint, pub text_bytes: u64 }
}
payload! {
    /// VM_GETRUSAGE reply.
    pub struct VmUsageReply { pub pages: u64 }
}
payload! {
    /// VM_BRK: the wanted end of the heap.
    pub struct BrkRequest { pub addr: u64 }
}
payload! {
    /// VM_BRK reply: the end of the heap now.
    pub struct BrkReply { pub addr: u64 }
}
payload! {
    /// VM_MMAP: bytes wanted (rounded up to pages), writable or not.
    pub struct MmapRequest { pub len: u64, pub writable: bool }
}
payload! {
    /// VM_MMAP reply: where.
    pub struct MmapReply { pub addr: u64 }
}
payload! {
    /// VM_MUNMAP.
    pub struct MunmapRequest { pub addr: u64, pub len: u64 }
}
payload! {
    /// VM_INFO reply: frames in the machine, free, and used by the caller.
    pub struct VmInfoReply { pub total: u64, pub free: u64, pub caller_pages: u64 }
}

/// The name of a vm message type.
pub fn name(t: MsgType) -> Option<&'static str> {
    Some(match t {
        VM_EXIT => "vm_exit",
        VM_FORK => "vm_fork",
        VM_WILLEXIT => "vm_willexit",
        VM_GETRUSAGE => "vm_getrusage",
        VM_EXEC_NEWMEM => "vm_exec_newmem",
        VM_BRK => "brk",
        VM_MMAP => "mmap",
        VM_MUNMAP => "munmap",
        VM_INFO => "vm_info",
        _ => return None,
    })
}

/// The user address-space layout vm builds and the syscall library relies on.
pub mod layout {
    use kernel_sim::memory::PAGE_SIZE;

    /// Bytes in a page.
    pub const PAGE: u64 = PAGE_SIZE as u64;
    /// Where the text (program image) starts.
    pub const TEXT_START: u64 = 0x0001_0000;
    /// Text pages of init and of a program whose file gives no size.
    pub const DEFAULT_TEXT_PAGES: u64 = 2;
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
    /// The heap may not grow past here.
    pub const HEAP_LIMIT: u64 = MMAP_BASE;
}

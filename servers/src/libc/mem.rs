//! Memory calls (to vm): brk, sbrk, mmap, munmap, mprotect, mremap, and vm's statistics.

use super::Sys;
use crate::errno::Errno;
use crate::proto::VM;
use crate::proto::vm::*;
use kernel_sim::Message;

impl Sys<'_> {
    /// Sets the end of the heap to `addr`; returns the break now. `brk(0)` (or any address below
    /// the heap's start) returns the current break without changing it. ENOMEM when memory runs
    /// out or `addr` is past the heap's limit.
    pub fn brk(&self, addr: u64) -> Result<u64, Errno> {
        Ok(self.call(VM, Message::with(VM_BRK, &BrkRequest { addr }))?.get::<BrkReply>().addr)
    }

    /// Moves the break by `increment` bytes (either way); returns the old break.
    pub fn sbrk(&self, increment: i64) -> Result<u64, Errno> {
        let old = self.brk(0)?;
        if increment == 0 {
            return Ok(old);
        }
        let wanted = old.checked_add_signed(increment).ok_or(Errno::ENOMEM)?;
        // vm answers a request below the heap's start with the unchanged break: that is a failure.
        match self.brk(wanted)? {
            now if now == wanted => Ok(old),
            _ => Err(Errno::ENOMEM),
        }
    }

    /// Maps `len` bytes (rounded up to pages) of zeroed memory, writable or read-only; returns
    /// its address.
    pub fn mmap(&self, len: u64, writable: bool) -> Result<u64, Errno> {
        Ok(self.call(VM, Message::with(VM_MMAP, &MmapRequest { len, writable }))?.get::<MmapReply>().addr)
    }

    /// Unmaps the pages of `[addr, addr + len)`; `addr` must be page-aligned and the range must
    /// hold mappings only.
    pub fn munmap(&self, addr: u64, len: u64) -> Result<(), Errno> {
        self.call(VM, Message::with(VM_MUNMAP, &MunmapRequest { addr, len })).map(drop)
    }

    /// Sets the protection (`proto::vm::prot`) of the pages of `[addr, addr + len)`, which must
    /// all be in anonymous mappings.
    pub fn mprotect(&self, addr: u64, len: u64, prot: u32) -> Result<(), Errno> {
        self.call(VM, Message::with(VM_MPROTECT, &MprotectRequest { addr, len, prot })).map(drop)
    }

    /// Grows or shrinks the mapping at `addr` from `old_len` to `new_len` bytes (moving it, with
    /// `MREMAP_MAYMOVE`, when it cannot grow in place); returns where it is now.
    pub fn mremap(&self, addr: u64, old_len: u64, new_len: u64, flags: u32) -> Result<u64, Errno> {
        let request = MremapRequest { addr, old_len, new_len, flags };
        Ok(self.call(VM, Message::with(VM_MREMAP, &request))?.get::<MmapReply>().addr)
    }

    /// Frames in the machine, free frames, and pages this process uses.
    pub fn vm_info(&self) -> Result<VmInfoReply, Errno> {
        Ok(self.call(VM, Message::new(VM_INFO))?.get::<VmInfoReply>())
    }
}

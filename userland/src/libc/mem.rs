//! Memory calls (to vm): brk, sbrk, mmap, munmap, mprotect, mremap, and vm's statistics and
//! memory map; and mmap of a file (to vfs, which owns the descriptor).

use super::Sys;
use kernel_sim::Message;
use kernel_sim::memory::Access;
use os::errno::Errno;
use os::proto::VM;
use os::proto::vm::*;

/// The most regions [`Sys::vm_regions`] lists: far more than a process holds (text, heap, stack
/// and a few dozen mappings).
const REGIONS_LISTED: usize = 128;

/// One region of this process's memory map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapEntry {
    /// Its first address.
    pub start: u64,
    /// Its pages.
    pub pages: u64,
    /// What it is (`proto::vm::region_record::REGION_*`).
    pub kind: u32,
    /// Whether it may be written.
    pub writable: bool,
}

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

    /// Maps `len` bytes (rounded up to pages) of descriptor `fd`'s file from `offset` (a whole
    /// number of pages), with protection `prot` (`proto::vm::prot`) and `flags` MAP_PRIVATE or
    /// MAP_SHARED (`proto::vfs::map`); returns its address. The mapping holds the file's bytes as
    /// they are now, zero past its end; a shared one goes on showing them as the file is written
    /// (vfs's `mmap.rs`).
    pub fn mmap_file(&self, fd: i32, offset: u64, len: u64, prot: u32, flags: u32) -> Result<u64, Errno> {
        let request = os::proto::vfs::MmapFileRequest { fd, offset, len, prot, flags };
        let reply = self.call(os::proto::VFS, Message::with(os::proto::vfs::VFS_MMAP, &request))?;
        Ok(reply.get::<MmapReply>().addr)
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

    /// This process's memory map: its regions in address order.
    pub fn vm_regions(&self) -> Result<Vec<MapEntry>, Errno> {
        use os::proto::vm::region_record::SIZE;
        let len = (REGIONS_LISTED * SIZE) as u64;
        let addr = self.stage(0, &[])?;
        let grant = self.grant(VM, addr, len, Access::Write);
        let count = self.call(VM, Message::with(VM_REGIONS, &RegionsRequest { grant: grant.id, len }))?.m_type;
        drop(grant);
        let mut raw = vec![0u8; (count as usize).min(REGIONS_LISTED) * SIZE];
        self.proc().mem_read(addr, &mut raw)?;
        let word = |r: &[u8], at: usize| u64::from_le_bytes(r[at..at + 8].try_into().expect("8 bytes"));
        let half = |r: &[u8], at: usize| u32::from_le_bytes(r[at..at + 4].try_into().expect("4 bytes"));
        Ok(raw
            .chunks_exact(SIZE)
            .map(|r| MapEntry { start: word(r, 0), pages: word(r, 8), kind: half(r, 16), writable: half(r, 20) != 0 })
            .collect())
    }

    /// Frames in the machine, free frames, and pages this process uses.
    pub fn vm_info(&self) -> Result<VmInfoReply, Errno> {
        Ok(self.call(VM, Message::new(VM_INFO))?.get::<VmInfoReply>())
    }
}

//! Simulated physical memory, address spaces, grants and safecopy.
//!
//! The kernel owns physical frames and each process's page table, as MINIX's kernel does; vm decides
//! which frame goes where (through the `vmctl` kernel calls) and keeps its own free-frame accounting.
//! User processes read and write their own memory through their page table, and bulk data moves
//! between processes only through grants: the owner of some memory grants one other endpoint access
//! to a range of it, and that endpoint copies through the kernel with safecopy, which checks the
//! grant, the range and the mapping on every call.
//!
//! Invariant: a frame's contents exist only once written (untouched memory reads as zero), so a
//! machine of many megabytes costs nothing until used.

use crate::endpoint::Endpoint;
use crate::error::KernelError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Bytes in a page and in a frame.
pub const PAGE_SIZE: usize = 4096;

/// Where a service's manifest-declared memory is mapped in each of its incarnations (see
/// `manifest::Service::memory_pages`): the same frames at the same address, whatever the
/// incarnation, so a restarted service re-finds what it kept there.
pub const SERVICE_MEMORY_BASE: VirtAddr = 0x9000_0000;

/// A physical frame number.
pub type Frame = u32;

/// A virtual address in a process's address space.
pub type VirtAddr = u64;

/// Physical memory: frames whose contents are allocated on first write.
#[derive(Debug)]
pub(crate) struct PhysMem {
    frames: Vec<Option<Box<[u8; PAGE_SIZE]>>>,
}

impl PhysMem {
    pub fn new(total: usize) -> PhysMem {
        PhysMem { frames: (0..total).map(|_| None).collect() }
    }

    fn check(&self, frame: Frame) -> Result<usize, KernelError> {
        let i = frame as usize;
        if i < self.frames.len() { Ok(i) } else { Err(KernelError::Invalid) }
    }

    pub(crate) fn read(&self, frame: Frame, offset: usize, out: &mut [u8]) {
        match &self.frames[frame as usize] {
            Some(data) => out.copy_from_slice(&data[offset..offset + out.len()]),
            None => out.fill(0),
        }
    }

    fn write(&mut self, frame: Frame, offset: usize, data: &[u8]) {
        let f = self.frames[frame as usize].get_or_insert_with(|| Box::new([0; PAGE_SIZE]));
        f[offset..offset + data.len()].copy_from_slice(data);
    }

    pub fn copy_frame(&mut self, from: Frame, to: Frame) -> Result<(), KernelError> {
        let (from, to) = (self.check(from)?, self.check(to)?);
        self.frames[to] = self.frames[from].clone();
        Ok(())
    }

    pub fn zero_frame(&mut self, frame: Frame) -> Result<(), KernelError> {
        let i = self.check(frame)?;
        self.frames[i] = None;
        Ok(())
    }
}

/// One page-table entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    /// The physical frame.
    pub frame: Frame,
    /// Whether the process may write through this mapping.
    pub writable: bool,
}

/// What a grant lets the grantee do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Access {
    /// Copy from the granter's memory.
    Read,
    /// Copy into the granter's memory.
    Write,
    /// Both.
    ReadWrite,
}

impl Access {
    fn allows(self, wanted: Access) -> bool {
        self == Access::ReadWrite || self == wanted
    }
}

/// A grant's number in its owner's grant table; travels in messages.
pub type GrantId = u32;

/// One entry of a process's grant table: MINIX's direct grant, or its indirect grant (a grant
/// passed on: vfs lets a file-system server copy a user's buffer the user granted to vfs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Grant {
    pub grantee: Endpoint,
    /// For a direct grant, the address in the granter's memory; for an indirect one, the offset
    /// in the grant it passes on.
    pub addr: VirtAddr,
    pub len: u64,
    pub access: Access,
    /// An indirect grant: whose grant it passes on, and which.
    pub via: Option<(Endpoint, GrantId)>,
}

/// Where a checked grant leads: an address in the granter's memory, or another process's grant
/// (an indirect grant), at an offset.
pub(crate) enum GrantTarget {
    Direct(VirtAddr),
    Indirect { owner: Endpoint, grant: GrantId, offset: u64 },
}

/// A process's memory: page table and grant table.
#[derive(Debug, Default)]
pub(crate) struct AddressSpace {
    pub pages: BTreeMap<u64, Mapping>,
    pub grants: Vec<Option<Grant>>,
}

impl AddressSpace {
    /// Walks `[addr, addr + len)` page by page: calls `f(frame, offset in frame, range in buffer)`.
    fn walk(
        &self,
        addr: VirtAddr,
        len: usize,
        write: bool,
        mut f: impl FnMut(Frame, usize, std::ops::Range<usize>),
    ) -> Result<(), KernelError> {
        let end = addr.checked_add(len as u64).ok_or(KernelError::Fault)?;
        // Check the whole range first, so a faulting copy changes nothing.
        let mut page = addr / PAGE_SIZE as u64;
        while page * (PAGE_SIZE as u64) < end {
            match self.pages.get(&page) {
                Some(m) if !write || m.writable => {}
                _ => return Err(KernelError::Fault),
            }
            page += 1;
        }
        let mut done = 0usize;
        while done < len {
            let at = addr + done as u64;
            let offset = (at % PAGE_SIZE as u64) as usize;
            let chunk = (PAGE_SIZE - offset).min(len - done);
            let frame = self.pages[&(at / PAGE_SIZE as u64)].frame;
            f(frame, offset, done..done + chunk);
            done += chunk;
        }
        Ok(())
    }

    /// Copies from this address space into `out`.
    pub fn read(&self, mem: &PhysMem, addr: VirtAddr, out: &mut [u8]) -> Result<(), KernelError> {
        self.walk(addr, out.len(), false, |frame, offset, range| mem.read(frame, offset, &mut out[range]))
    }

    /// Copies `data` into this address space.
    pub fn write(&self, mem: &mut PhysMem, addr: VirtAddr, data: &[u8]) -> Result<(), KernelError> {
        self.walk(addr, data.len(), true, |frame, offset, range| mem.write(frame, offset, &data[range]))
    }

    /// Adds a grant and returns its id (the lowest free entry).
    pub fn add_grant(&mut self, grant: Grant) -> GrantId {
        match self.grants.iter().position(Option::is_none) {
            Some(i) => {
                self.grants[i] = Some(grant);
                i as GrantId
            }
            None => {
                self.grants.push(Some(grant));
                (self.grants.len() - 1) as GrantId
            }
        }
    }

    /// Checks that `grantee` may access `[offset, offset+len)` of grant `id` as `access`, and
    /// returns the granter-side address it starts at.
    pub fn check_grant(
        &self,
        id: GrantId,
        grantee: Endpoint,
        access: Access,
        offset: u64,
        len: usize,
    ) -> Result<GrantTarget, KernelError> {
        let g = self.grants.get(id as usize).copied().flatten().ok_or(KernelError::BadGrant)?;
        if g.grantee != grantee || !g.access.allows(access) {
            return Err(KernelError::BadGrant);
        }
        let end = offset.checked_add(len as u64).ok_or(KernelError::Fault)?;
        if end > g.len {
            return Err(KernelError::Fault);
        }
        Ok(match g.via {
            None => GrantTarget::Direct(g.addr + offset),
            Some((owner, grant)) => GrantTarget::Indirect { owner, grant, offset: g.addr + offset },
        })
    }
}

//! vm's state: the free frames and one address space per user process, keyed by slot.
//!
//! Invariants: every frame is either free or in exactly one region of one address space (free
//! plus used equals total); regions of one space do not overlap; a region's pages are mapped in the
//! kernel's page table of that process to exactly those frames.

use crate::proto::ProcKey;
use crate::proto::vm::layout::PAGE;
use kernel_sim::Endpoint;
use kernel_sim::memory::Frame;
use recovery::{Journal, ProcTable, StateClass, TrackedCell, TrackedVec, tracked_state};

/// What a region is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionKind {
    /// The program image.
    Text,
    /// The heap, grown and shrunk by brk.
    Heap,
    /// The stack (and the syscall library's scratch buffer).
    Stack,
    /// An anonymous mapping.
    Mmap,
}

/// A contiguous range of pages backed by frames.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    /// What it is for.
    pub kind: RegionKind,
    /// Its first address (page-aligned).
    pub start: u64,
    /// The frame behind each page, in order.
    pub frames: Vec<Frame>,
    /// Whether the process may write it.
    pub writable: bool,
}

impl Region {
    /// One past its last address.
    pub fn end(&self) -> u64 {
        self.start + self.frames.len() as u64 * PAGE
    }

    /// Its first virtual page number.
    pub fn first_page(&self) -> u64 {
        self.start / PAGE
    }
}

/// One process's memory (MINIX's `struct vmproc`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressSpace {
    /// Whose.
    pub ep: Endpoint,
    /// Its regions, sorted by start.
    pub regions: Vec<Region>,
    /// The end of the heap as brk sees it (may be inside the heap region's last page).
    pub brk: u64,
}

impl AddressSpace {
    /// Pages in use.
    pub fn pages(&self) -> u64 {
        self.regions.iter().map(|r| r.frames.len() as u64).sum()
    }
}

/// All of vm's mutable state.
pub struct VmState {
    /// The journal of the recovery window.
    pub journal: Journal,
    /// Frames in the machine (read from the kernel at boot).
    pub total: TrackedCell<u64>,
    /// Free frames; allocation pops from the end.
    pub free: TrackedVec<Frame>,
    /// The address spaces, keyed by slot.
    pub spaces: ProcTable<ProcKey, AddressSpace>,
}

tracked_state!(VmState { journal: journal, fields: [total, free, spaces] });

impl VmState {
    /// Every frame free, no address space.
    pub fn empty(total: u64) -> VmState {
        let journal = Journal::new();
        // Reversed, so that allocation hands out low frames first.
        let frames: Vec<Frame> = (0..total as Frame).rev().collect();
        VmState {
            total: TrackedCell::new(&journal, "vm.total", StateClass::Global, total),
            free: TrackedVec::from_vec(&journal, "vm.free", StateClass::Global, frames),
            spaces: ProcTable::new(&journal, "vm.spaces"),
            journal,
        }
    }

    /// Takes `n` frames, or none if fewer are free.
    pub fn alloc_frames(&mut self, n: usize) -> Option<Vec<Frame>> {
        if self.free.len() < n {
            return None;
        }
        Some((0..n).map(|_| self.free.pop().expect("counted")).collect())
    }

    /// Returns frames to the free list.
    pub fn free_frames(&mut self, frames: &[Frame]) {
        for &f in frames {
            self.free.push(f);
        }
    }
}

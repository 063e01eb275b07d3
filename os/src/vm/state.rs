//! vm's state: the free frames (global) and one address space per user process, keyed by slot
//! (process-local: a space belongs to its process).
//!
//! Invariants, asserted where the state changes and checked as a whole by
//! [`VmState::check_invariants`] (see `audit.rs`):
//! - every frame is either free or in exactly one region of one address space, so free plus used
//!   equals total, and the free list holds no frame twice;
//! - the regions of a space are sorted by start, page-aligned, non-overlapping and where the
//!   layout (`proto::vm::layout`) puts them: one text, one heap right after it whose end is the
//!   break rounded up to a page, one stack, and anonymous mappings between `MMAP_BASE` and
//!   `MMAP_LIMIT`;
//! - each region's pages are mapped in the kernel's page table of its process to exactly its
//!   frames, with its writability, and nothing else is mapped there;
//! - pages lent to vfs to fill (`AddressSpace::fill`) are pages of one of the space's mappings;
//! - a shared file mapping (tagged with its file, [`FileTag`]) is a read-only mapping whose file
//!   offset is page-aligned.

use crate::proto::ProcKey;
use crate::proto::vm::layout::*;
use kernel_sim::Endpoint;
use kernel_sim::memory::Frame;
use recovery::{Journal, ProcTable, StateClass, TrackedCell, TrackedVec, counted, tracked_state};

/// What a region is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RegionKind {
    /// The program image (read-only).
    Text,
    /// The heap, grown and shrunk by brk.
    Heap,
    /// The stack (and the syscall library's scratch buffer).
    Stack,
    /// An anonymous mapping.
    Mmap,
}

impl std::fmt::Display for RegionKind {
    /// The kind as a violation names it: `text`, `heap`, `stack`, `mapping`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RegionKind::Text => "text",
            RegionKind::Heap => "heap",
            RegionKind::Stack => "stack",
            RegionKind::Mmap => "mapping",
        })
    }
}

/// A region's access for people: `writable` or `read-only`.
fn access(writable: bool) -> &'static str {
    if writable { "writable" } else { "read-only" }
}

/// A contiguous range of pages backed by frames.
#[derive(Debug, PartialEq, Eq)]
pub struct Region {
    /// What it is for.
    pub kind: RegionKind,
    /// Its first address (page-aligned).
    pub start: u64,
    /// The frame behind each page, in order.
    pub frames: Vec<Frame>,
    /// Whether the process may write it.
    pub writable: bool,
    /// The file a shared file mapping (MAP_SHARED) shows, and where in it its first page is: vfs
    /// has vm lend these pages again whenever the file's bytes under them change.
    pub file: Option<FileTag>,
}

/// Which bytes of a file a shared mapping shows: inode `ino` of the root file system (vfs holds
/// a reference on it while a mapping shows it), from file offset `offset` (page-aligned).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileTag {
    /// The inode.
    pub ino: u32,
    /// The file offset of the mapping's first page.
    pub offset: u64,
}

// A space's pre-image is cloned into a spent one on the first write of each request (and on
// exit's removal): field by field, so that its regions' frame lists are copied into the spent
// one's.
recovery::clone_fields!(Region { kind, start, frames, writable, file });
recovery::clone_fields!(AddressSpace { ep, regions, brk, phase, fill });

impl Region {
    /// A region that shows no file.
    pub fn new(kind: RegionKind, start: u64, frames: Vec<Frame>, writable: bool) -> Region {
        Region { kind, start, frames, writable, file: None }
    }

    /// The part of this region from its page `first` on, backed by `frames`: a region split
    /// keeps its kind, access and file, the file offset moved with the start.
    pub fn part(&self, first: usize, frames: Vec<Frame>) -> Region {
        let skip = first as u64 * PAGE;
        let file = self.file.map(|f| FileTag { offset: f.offset.saturating_add(skip), ..f });
        Region { kind: self.kind, start: self.start + skip, frames, writable: self.writable, file }
    }

    /// Whether `next`, which starts where this region ends, continues it: the same access, and
    /// the next bytes of the same file or no file at both.
    pub fn continued_by(&self, next: &Region) -> bool {
        let file = match (self.file, next.file) {
            (None, None) => true,
            (Some(a), Some(b)) => a.ino == b.ino && a.offset.checked_add(self.pages() * PAGE) == Some(b.offset),
            _ => false,
        };
        self.end() == next.start && self.writable == next.writable && file
    }

    /// The addresses `[from, to)` of its pages that show some of file `ino`'s bytes `[lo, hi)`,
    /// if any.
    pub fn showing(&self, ino: u32, lo: u64, hi: u64) -> Option<(u64, u64)> {
        let f = self.file.filter(|f| f.ino == ino)?;
        let end = f.offset.saturating_add(self.pages() * PAGE);
        if hi <= f.offset || lo >= end {
            return None;
        }
        let from = lo.saturating_sub(f.offset) / PAGE * PAGE;
        let to = (hi.min(end) - f.offset).div_ceil(PAGE) * PAGE;
        Some((self.start + from, self.start + to))
    }

    /// Pages in it.
    pub fn pages(&self) -> u64 {
        self.frames.len() as u64
    }

    /// One past its last address (saturating, so damaged state cannot overflow a check).
    pub fn end(&self) -> u64 {
        self.start.saturating_add(self.pages().saturating_mul(PAGE))
    }

    /// Its first virtual page number.
    pub fn first_page(&self) -> u64 {
        self.start / PAGE
    }

    /// Whether it shares an address with `[start, end)` (an empty region shares none).
    pub fn overlaps(&self, start: u64, end: u64) -> bool {
        self.start < end && start < self.end()
    }
}

/// Where a space is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpacePhase {
    /// The process runs; its memory calls are served.
    Running,
    /// pm said the process will exit (VM_WILLEXIT): its memory stays as it is until VM_EXIT, and
    /// it may no longer change it.
    Exiting,
    /// An exec freed the old image and could not map the new one: the space has no regions and
    /// waits for pm to end the process.
    ImageLost,
}

/// One process's memory (MINIX's `struct vmproc`).
#[derive(Debug, PartialEq, Eq)]
pub struct AddressSpace {
    /// Whose.
    pub ep: Endpoint,
    /// Its regions, sorted by start.
    pub regions: Vec<Region>,
    /// The end of the heap as brk sees it (may be inside the heap region's last page).
    pub brk: u64,
    /// Where it is in its life.
    pub phase: SpacePhase,
    /// Pages of a file mapping vm lent vfs to fill, between VM_VFS_MMAP (a new mapping; the
    /// process waits in vfs meanwhile) or VM_VFS_MAP_REFRESH (a shared one whose file changed)
    /// and VM_VFS_MMAP_DONE.
    pub fill: Option<Fill>,
}

/// A file mapping's pages lent to vfs to fill: mapped writable at [`Fill::window`] in vm's own
/// page table, under vm's write grant to vfs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fill {
    /// The first lent page's address in the process.
    pub start: u64,
    /// Pages lent.
    pub pages: u64,
    /// vm's grant to vfs over them.
    pub grant: kernel_sim::memory::GrantId,
    /// Whether they are a shared mapping's, lent again because its file changed (kept if vfs
    /// never gives them back), not a new mapping's first pages (dropped with it then).
    pub refresh: bool,
}

impl Fill {
    /// Where vm maps the lent pages in its own page table: the mapping's address, in a 4 GiB
    /// stretch of vm's own per process slot (user addresses are below 2 GiB), so that the pages
    /// lent for different processes never meet.
    pub fn window(ep: Endpoint, start: u64) -> u64 {
        ((ep.slot() as u64 + 1) << 32) | start
    }
}

impl AddressSpace {
    /// Pages in use.
    pub fn pages(&self) -> u64 {
        self.regions.iter().map(Region::pages).sum()
    }

    /// The mapping that holds the first page lent in `fill`.
    pub fn filled_region(&self, fill: &Fill) -> Option<&Region> {
        self.regions.iter().find(|r| r.kind == RegionKind::Mmap && r.start <= fill.start && fill.start < r.end())
    }

    /// Pages in use by regions of `kind`.
    pub fn pages_of(&self, kind: RegionKind) -> u64 {
        self.regions.iter().filter(|r| r.kind == kind).map(Region::pages).sum()
    }

    /// The index of the heap region (a running or exiting space has exactly one).
    pub fn heap_index(&self) -> usize {
        let i = self.regions.iter().position(|r| r.kind == RegionKind::Heap);
        i.unwrap_or_else(|| panic!("the address space of {} has a heap", self.ep))
    }

    /// The heap region.
    pub fn heap(&self) -> &Region {
        &self.regions[self.heap_index()]
    }

    /// Whether any region other than the one at `except` shares an address with `[start, end)`.
    pub fn overlaps_other(&self, start: u64, end: u64, except: Option<usize>) -> bool {
        self.regions.iter().enumerate().any(|(i, r)| Some(i) != except && r.overlaps(start, end))
    }

    /// The lowest address from `MMAP_BASE` up where `bytes` fit below `MMAP_LIMIT` without
    /// touching a region (first fit).
    pub fn mmap_gap(&self, bytes: u64) -> Option<u64> {
        let mut at = MMAP_BASE;
        for r in self.regions.iter().filter(|r| r.end() > MMAP_BASE && r.pages() > 0) {
            if r.start >= at.checked_add(bytes)? {
                break;
            }
            at = at.max(r.end());
        }
        (at.checked_add(bytes)? <= MMAP_LIMIT).then_some(at)
    }

    /// Adds `region` in start order. Panics if it overlaps a region (callers check first).
    pub fn insert(&mut self, region: Region) {
        assert!(
            !self.overlaps_other(region.start, region.end(), None),
            "{}: new {} region at {:#x} overlaps another",
            self.ep,
            region.kind,
            region.start
        );
        let at = self.regions.partition_point(|r| r.start <= region.start);
        self.regions.insert(at, region);
    }

    /// What is wrong with this space's layout, as readable sentences (empty: nothing).
    pub fn layout_breaches(&self) -> Vec<String> {
        let mut found = Vec::new();
        let ep = self.ep;
        for pair in self.regions.windows(2) {
            if pair[0].start > pair[1].start || pair[0].end() > pair[1].start {
                found.push(format!(
                    "{ep}: {} region {:#x}..{:#x} and {} region {:#x}..{:#x} are out of order or overlap",
                    pair[0].kind,
                    pair[0].start,
                    pair[0].end(),
                    pair[1].kind,
                    pair[1].start,
                    pair[1].end()
                ));
            }
        }
        for r in &self.regions {
            if r.start % PAGE != 0 {
                found.push(format!("{ep}: {} region starts at {:#x}, not on a page boundary", r.kind, r.start));
            }
        }
        let count = |kind| self.regions.iter().filter(|r| r.kind == kind).count();
        if self.phase == SpacePhase::ImageLost {
            if !self.regions.is_empty() {
                found.push(format!("{ep}: lost its image but keeps {}", counted(self.regions.len() as u64, "region")));
            }
            return found;
        }
        for kind in [RegionKind::Text, RegionKind::Heap, RegionKind::Stack] {
            if count(kind) != 1 {
                found.push(format!("{ep}: has {}, not one", counted(count(kind) as u64, &format!("{kind} region"))));
            }
        }
        if !found.is_empty() {
            return found;
        }
        let text = self.regions.iter().find(|r| r.kind == RegionKind::Text).expect("counted");
        let heap = self.heap();
        let stack = self.regions.iter().find(|r| r.kind == RegionKind::Stack).expect("counted");
        if text.start != TEXT_START || text.pages() == 0 || text.pages() > MAX_TEXT_PAGES || text.writable {
            found.push(format!(
                "{ep}: text is {:#x}..{:#x} ({}, {}); it must start at {TEXT_START:#x}, hold 1..={MAX_TEXT_PAGES} pages and be read-only",
                text.start,
                text.end(),
                counted(text.pages(), "page"),
                access(text.writable)
            ));
        }
        if heap.start != text.end() || heap.end() > HEAP_LIMIT || !heap.writable {
            found.push(format!(
                "{ep}: heap is {:#x}..{:#x} ({}); it must start at the text's end {:#x}, end by {HEAP_LIMIT:#x} and be writable",
                heap.start,
                heap.end(),
                access(heap.writable),
                text.end()
            ));
        }
        if self.brk < heap.start || page_round_up(self.brk) != Some(heap.end()) {
            found.push(format!(
                "{ep}: break {:#x} does not round up to the heap's end {:#x} (heap starts at {:#x})",
                self.brk,
                heap.end(),
                heap.start
            ));
        }
        if stack.start != STACK_START || stack.pages() != STACK_PAGES || !stack.writable {
            found.push(format!(
                "{ep}: stack is {:#x}..{:#x} ({}); it must be {STACK_START:#x}..{STACK_TOP:#x} and writable",
                stack.start,
                stack.end(),
                access(stack.writable)
            ));
        }
        for r in self.regions.iter().filter(|r| r.kind == RegionKind::Mmap) {
            if r.pages() == 0 || r.start < MMAP_BASE || r.end() > MMAP_LIMIT {
                found.push(format!(
                    "{ep}: mapping {:#x}..{:#x} is empty or outside {MMAP_BASE:#x}..{MMAP_LIMIT:#x}",
                    r.start,
                    r.end()
                ));
            }
        }
        for r in &self.regions {
            if let Some(f) = r.file
                && (r.kind != RegionKind::Mmap || r.writable || f.offset % PAGE != 0)
            {
                found.push(format!(
                    "{ep}: {} region {:#x}..{:#x} ({}) shows inode {} from offset {:#x}; only a read-only mapping may show a file, from a page boundary",
                    r.kind,
                    r.start,
                    r.end(),
                    access(r.writable),
                    f.ino,
                    f.offset
                ));
            }
        }
        if let Some(fill) = self.fill {
            let end = fill.start.saturating_add(fill.pages.saturating_mul(PAGE));
            let filled = self.filled_region(&fill);
            if filled.is_none_or(|r| end > r.end() || !fill.refresh && r.start != fill.start) {
                found.push(format!(
                    "{ep}: {} lent to vfs to fill at {:#x}, but no mapping holds them",
                    counted(fill.pages, "page"),
                    fill.start
                ));
            }
        }
        found
    }

    /// Panics unless the layout is sound: a handler that damaged a space stops here, as a crash
    /// the recovery machinery sees, instead of leaving silent damage.
    pub fn assert_sound(&self) {
        let breaches = self.layout_breaches();
        assert!(breaches.is_empty(), "vm address space damaged: {}", breaches.join("; "));
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

    /// Takes `n` frames, or none (and changes nothing) if fewer are free.
    pub fn alloc_frames(&mut self, n: usize) -> Option<Vec<Frame>> {
        if self.free.len() < n {
            return None;
        }
        let total = *self.total.get();
        let frames: Vec<Frame> = (0..n).map(|_| self.free.pop().expect("counted")).collect();
        assert!(frames.iter().all(|&f| u64::from(f) < total), "vm.free holds a frame past the machine's {total}");
        Some(frames)
    }

    /// Returns frames to the free list.
    pub fn free_frames(&mut self, frames: &[Frame]) {
        let total = *self.total.get();
        for &f in frames {
            assert!(u64::from(f) < total, "freeing frame {f}, past the machine's {total}");
            self.free.push(f);
            // A frame listed as another (a garbled write) would be handed out twice, and the one
            // freed never again.
            let last = self.free.len() - 1;
            assert_eq!(self.free.get(last), Some(&f), "frame {f} went onto the free list as another");
        }
        let free = self.free.len() as u64;
        assert!(free <= total, "{free} free frames in a machine of {total}: a frame was freed twice");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(kind: RegionKind, start: u64, pages: u32, writable: bool) -> Region {
        Region::new(kind, start, (0..pages).collect(), writable)
    }

    fn image() -> AddressSpace {
        let heap_start = TEXT_START + 2 * PAGE;
        AddressSpace {
            ep: Endpoint::new(16, 0),
            regions: vec![
                region(RegionKind::Text, TEXT_START, 2, false),
                region(RegionKind::Heap, heap_start, 1, true),
                region(RegionKind::Stack, STACK_START, STACK_PAGES as u32, true),
            ],
            brk: heap_start + 10,
            phase: SpacePhase::Running,
            fill: None,
        }
    }

    #[test]
    fn mappings_go_first_fit_from_the_base() {
        let mut space = image();
        assert_eq!(space.mmap_gap(PAGE), Some(MMAP_BASE));
        space.insert(region(RegionKind::Mmap, MMAP_BASE + PAGE, 2, true));
        assert_eq!(space.mmap_gap(PAGE), Some(MMAP_BASE), "the hole before it fits one page");
        assert_eq!(space.mmap_gap(2 * PAGE), Some(MMAP_BASE + 3 * PAGE), "but not two");
        assert_eq!(space.mmap_gap(MMAP_LIMIT - MMAP_BASE), None, "the area is no longer free as a whole");
        assert_eq!(space.mmap_gap(u64::MAX), None);
        assert!(space.regions.windows(2).all(|w| w[0].start < w[1].start), "inserted in order");
        assert_eq!(space.layout_breaches(), Vec::<String>::new());
    }

    #[test]
    fn layout_damage_is_described() {
        let mut overlapping = image();
        overlapping.insert(region(RegionKind::Mmap, MMAP_BASE, 1, true));
        overlapping.regions[2].start = STACK_START - PAGE / 2;
        let broken = overlapping.layout_breaches();
        assert!(broken.iter().any(|b| b.contains("overlap")), "{broken:?}");
        assert!(broken.iter().any(|b| b.contains("not on a page boundary")), "{broken:?}");

        let mut no_heap = image();
        no_heap.regions.remove(1);
        assert_eq!(no_heap.layout_breaches(), ["16.0: has 0 heap regions, not one"]);

        let mut writable_text = image();
        writable_text.regions[0].writable = true;
        assert!(writable_text.layout_breaches()[0].contains("read-only"));

        let mut lost = image();
        lost.phase = SpacePhase::ImageLost;
        assert!(lost.layout_breaches()[0].contains("lost its image but keeps 3 regions"));
    }
}

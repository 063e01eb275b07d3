//! vm's invariants, checked over the whole state: [`VmState::audit`] (named breaches, shared with
//! the consistency checker) and [`VmState::check_invariants`] (the same as sentences, for the
//! recovery loop-top self-checks).
//!
//! What is checked (the kernel's page tables are the testbed checker's part,
//! `testbed/src/checker/vm.rs`):
//! - `vm.frame-range`: every frame number, free or used, is below the machine's total;
//! - `vm.free-duplicate`: the free list holds no frame twice;
//! - `vm.frame-owners`: no frame backs two pages;
//! - `vm.frame-free-and-used`: no frame is both free and in a region;
//! - `vm.frame-lost`: no frame is neither;
//! - `vm.frame-accounting`: free plus used equals total;
//! - `vm.space-key`: each space is filed under its process's slot;
//! - `vm.space-layout`: each space's regions are sorted, disjoint and where the layout puts them.
//!
//! Reading goes through the tracked containers, so an SRS suspect is seen as the next reader
//! would see it (and is restored).

use super::state::VmState;
use crate::proto::key_of;
use crate::proto::vm::layout::PAGE;
use kernel_sim::Endpoint;
use kernel_sim::memory::Frame;
use std::collections::BTreeMap;
use std::fmt::Display;

/// Items a detail lists before it only counts the rest.
const LISTED_MAX: usize = 8;

/// Frames whose holders the audit keeps in a table indexed by frame number (65,536 frames:
/// a 256 MiB machine); any beyond (a larger machine, or a damaged frame number) go in a map. The
/// loop-top self-check audits after every request that wrote, so the common case builds no map.
const INDEXED_FRAMES_MAX: u64 = 1 << 16;

/// Who holds each frame seen so far.
struct Holders {
    indexed: Vec<Option<Holder>>,
    beyond: BTreeMap<Frame, Holder>,
}

impl Holders {
    fn new(total: u64) -> Self {
        Holders { indexed: vec![None; total.min(INDEXED_FRAMES_MAX) as usize], beyond: BTreeMap::new() }
    }

    fn get(&self, f: Frame) -> Option<Holder> {
        match self.indexed.get(f as usize) {
            Some(slot) => *slot,
            None => self.beyond.get(&f).copied(),
        }
    }

    /// Records `holder` for `f`; whether `f` already had one.
    fn insert(&mut self, f: Frame, holder: Holder) -> bool {
        match self.indexed.get_mut(f as usize) {
            Some(slot) => slot.replace(holder).is_some(),
            None => self.beyond.insert(f, holder).is_some(),
        }
    }

    /// How many frames below `total` have a holder.
    fn held_below(&self, total: u64) -> u64 {
        let indexed = self.indexed.iter().filter(|h| h.is_some()).count() as u64;
        indexed + self.beyond.keys().filter(|&&f| u64::from(f) < total).count() as u64
    }
}

/// One broken invariant of vm's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Breach {
    /// Which invariant (a short stable name, e.g. `vm.frame-accounting`).
    pub invariant: &'static str,
    /// What exactly is wrong.
    pub detail: String,
}

/// Who holds a frame, as vm records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Holder {
    /// The free list.
    Free,
    /// The page at `vaddr` of `ep`.
    Page { ep: Endpoint, vaddr: u64 },
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Holder::Free => f.write_str("the free list"),
            Holder::Page { ep, vaddr } => write!(f, "page {vaddr:#x} of {ep}"),
        }
    }
}

/// `items` as a readable list, the first few named and the rest counted.
pub fn listing<T: Display>(items: &[T]) -> String {
    let named: Vec<String> = items.iter().take(LISTED_MAX).map(ToString::to_string).collect();
    match items.len() {
        n if n > LISTED_MAX => format!("{} and {} more", named.join(", "), n - LISTED_MAX),
        _ => named.join(", "),
    }
}

impl VmState {
    /// Every broken invariant of the state (empty: consistent).
    pub fn audit(&mut self) -> Vec<Breach> {
        let mut found = Vec::new();
        let mut breach = |invariant, detail| found.push(Breach { invariant, detail });
        let total = *self.total.get();
        let free: Vec<Frame> = self.free.iter().copied().collect();
        let spaces: Vec<_> = self.spaces.iter().map(|(&k, s)| (k, s.clone())).collect();

        let mut holders = Holders::new(total);
        let mut out_of_range = Vec::new();
        let mut duplicates = Vec::new();
        for &f in &free {
            if u64::from(f) >= total {
                out_of_range.push(format!("{f} (free)"));
            }
            if holders.insert(f, Holder::Free) {
                duplicates.push(f);
            }
        }
        if !duplicates.is_empty() {
            breach("vm.free-duplicate", format!("the free list holds frames {} more than once", listing(&duplicates)));
        }
        let mut used = 0u64;
        for (key, space) in &spaces {
            if *key != key_of(space.ep) {
                breach("vm.space-key", format!("the address space of {} is filed under slot {key}", space.ep));
            }
            for detail in space.layout_breaches() {
                breach("vm.space-layout", detail);
            }
            for r in &space.regions {
                used += r.pages();
                for (i, &f) in r.frames.iter().enumerate() {
                    let here = Holder::Page { ep: space.ep, vaddr: r.start.saturating_add(i as u64 * PAGE) };
                    if u64::from(f) >= total {
                        out_of_range.push(format!("{f} ({here})"));
                    }
                    match holders.get(f) {
                        None => {
                            holders.insert(f, here);
                        }
                        Some(Holder::Free) => breach(
                            "vm.frame-free-and-used",
                            format!("frame {f} backs {here} but is also on the free list"),
                        ),
                        Some(other) => breach("vm.frame-owners", format!("frame {f} backs both {other} and {here}")),
                    }
                }
            }
        }
        if !out_of_range.is_empty() {
            breach("vm.frame-range", format!("frames past the machine's {total}: {}", listing(&out_of_range)));
        }
        // Counted, not listed one by one: a damaged total must not make the check run for ever.
        let held = holders.held_below(total);
        if held < total {
            let first: Vec<u64> = (0..total).filter(|&f| holders.get(f as Frame).is_none()).take(LISTED_MAX).collect();
            breach(
                "vm.frame-lost",
                format!("{} frames are neither free nor used, the first {}", total - held, listing(&first)),
            );
        }
        let accounted = free.len() as u64 + used;
        if accounted != total {
            breach(
                "vm.frame-accounting",
                format!("{} free plus {used} used is {accounted}, not the machine's {total} frames", free.len()),
            );
        }
        found
    }

    /// Every broken invariant, as `invariant: detail` sentences (empty: consistent). For the
    /// self-checks at the top of the task loop.
    pub fn check_invariants(&mut self) -> Vec<String> {
        self.audit().into_iter().map(|b| format!("{}: {}", b.invariant, b.detail)).collect()
    }
}

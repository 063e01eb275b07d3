//! vm's invariants, checked over the whole state: [`VmState::audit`] (named breaches, shared with
//! the consistency checker) and [`VmState::check_invariants`] (for the loop-top self-check after
//! every vm request that wrote: the invariants whose check costs what the address spaces hold —
//! range, accounting, keys and layout — not those that take a pass over every frame of the
//! machine, which the testbed's checker runs on the stopped system).
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

/// Who holds each frame: a table indexed by frame number (the audit's one pass over the whole
/// machine stays linear, however many frames it has), and a map for numbers past it (damage).
struct Holders {
    /// Frames `0..indexed.len()`; sized by the frames held, not by the total, so a damaged total
    /// cannot make it huge.
    indexed: Vec<Option<Holder>>,
    /// Frames at or past `indexed.len()`.
    beyond: BTreeMap<Frame, Holder>,
}

impl Holders {
    fn new(total: u64, held_pages: usize) -> Holders {
        let len = usize::try_from(total).unwrap_or(usize::MAX).min(held_pages);
        Holders { indexed: vec![None; len], beyond: BTreeMap::new() }
    }

    fn get(&self, f: Frame) -> Option<Holder> {
        match self.indexed.get(f as usize) {
            Some(held) => *held,
            None => self.beyond.get(&f).copied(),
        }
    }

    /// Records `holder` for `f`; what held it before, if anything.
    fn insert(&mut self, f: Frame, holder: Holder) -> Option<Holder> {
        match self.indexed.get_mut(f as usize) {
            Some(held) => held.replace(holder),
            None => self.beyond.insert(f, holder),
        }
    }

    /// How many frames below `total` have a holder.
    fn held_below(&self, total: u64) -> u64 {
        let indexed = self.indexed.iter().take(usize::try_from(total).unwrap_or(usize::MAX)).flatten().count();
        indexed as u64 + self.beyond.keys().filter(|&&f| u64::from(f) < total).count() as u64
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

        let held_pages = free.len() + spaces.iter().map(|(_, s)| s.pages() as usize).sum::<usize>();
        let mut holders = Holders::new(total, held_pages);
        let mut out_of_range = Vec::new();
        let mut duplicates = Vec::new();
        for &f in &free {
            if u64::from(f) >= total {
                out_of_range.push(format!("{f} (free)"));
            }
            if holders.insert(f, Holder::Free).is_some() {
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
                format!(
                    "{} {} neither free nor used, the first {}",
                    recovery::counted(total - held, "frame"),
                    if total - held == 1 { "is" } else { "are" },
                    listing(&first)
                ),
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

    /// The broken invariants whose check costs what the address spaces hold (range, accounting,
    /// keys, layout), as `invariant: detail` sentences (empty: consistent). For the self-checks at
    /// the top of the task loop: a pass over the free list and every frame after each request
    /// would cost a campaign more than its runs.
    pub fn check_invariants(&mut self) -> Vec<String> {
        let total = *self.total.get();
        let free = self.free.len() as u64;
        let mut found = Vec::new();
        let mut used = 0u64;
        for (&key, space) in self.spaces.iter() {
            if key != key_of(space.ep) {
                found.push(format!("vm.space-key: the address space of {} is filed under slot {key}", space.ep));
            }
            found.extend(space.layout_breaches().into_iter().map(|detail| format!("vm.space-layout: {detail}")));
            for r in &space.regions {
                used += r.pages();
                if let Some(f) = r.frames.iter().find(|&&f| u64::from(f) >= total) {
                    found.push(format!("vm.frame-range: frame {f} of {} is past the machine's {total}", space.ep));
                }
            }
        }
        if free + used != total {
            found.push(format!(
                "vm.frame-accounting: {free} free plus {used} used is {}, not the machine's {total} frames",
                free + used
            ));
        }
        found
    }
}

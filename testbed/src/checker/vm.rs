//! vm's invariants: frame accounting (free plus used equals total, no frame with two owners, no
//! frame both free and used or neither, no duplicate on the free list), each space's layout, and
//! the kernel's page tables.
//!
//! Page tables: every user process the kernel keeps (running, or ended but not yet cleared) has
//! exactly the pages vm records for its endpoint, each to the recorded frame with the recorded
//! writability, and nothing more (`vm.page-table`); every address space vm keeps belongs to a
//! process the kernel knows (`vm.space-process`); vm's own page table maps exactly the pages it
//! lent vfs to fill file mappings, each writable at its window (`vm.fill-window`).

use kernel_sim::memory::Mapping;
use kernel_sim::{Endpoint, ProcInfo};
use os::invariant::Violation;
use os::proto::key_of;
use os::proto::vm::layout::PAGE;
use os::vm::check::listing;
use os::vm::state::{Fill, VmState};
use std::collections::{BTreeMap, BTreeSet};

/// Every vm invariant broken in `vm` as the kernel's process table `procs` shows it.
pub fn check(vm: &mut VmState, procs: &[ProcInfo]) -> Vec<Violation> {
    let mut found: Vec<Violation> =
        vm.audit().into_iter().map(|b| Violation { invariant: b.invariant, detail: b.detail }).collect();
    // What vm records, per endpoint: virtual page -> mapping.
    let recorded: BTreeMap<Endpoint, BTreeMap<u64, Mapping>> = vm
        .spaces
        .iter()
        .filter(|&(&k, s)| k == key_of(s.ep))
        .map(|(_, s)| {
            let pages = s
                .regions
                .iter()
                .flat_map(|r| {
                    r.frames
                        .iter()
                        .enumerate()
                        .map(|(i, &frame)| (r.first_page() + i as u64, Mapping { frame, writable: r.writable }))
                })
                .collect();
            (s.ep, pages)
        })
        .collect();
    let empty = BTreeMap::new();
    for p in procs.iter().filter(|p| p.is_user) {
        let mine = recorded.get(&p.ep).unwrap_or(&empty);
        let theirs: BTreeMap<u64, Mapping> = p.pages.iter().copied().collect();
        let differences = page_differences(mine, &theirs);
        if differences.is_empty() {
            continue;
        }
        let whose = if recorded.contains_key(&p.ep) { "its address space" } else { "no address space (vm keeps none)" };
        found.push(Violation {
            invariant: "vm.page-table",
            detail: format!(
                "{} ({}): the kernel's page table differs from {whose} at {}: {}",
                p.ep,
                p.name,
                recovery::counted(differences.len() as u64, "page"),
                listing(&differences)
            ),
        });
    }
    if let Some(vm_proc) = procs.iter().find(|p| p.ep == os::proto::VM && p.ended.is_none()) {
        let theirs: BTreeMap<u64, Mapping> = vm_proc.pages.iter().copied().collect();
        let differences = page_differences(&lent(vm), &theirs);
        if !differences.is_empty() {
            found.push(Violation {
                invariant: "vm.fill-window",
                detail: format!(
                    "vm's own page table differs from the pages it lent to fill at {}: {}",
                    recovery::counted(differences.len() as u64, "page"),
                    listing(&differences)
                ),
            });
        }
    }
    let known: BTreeSet<Endpoint> = procs.iter().filter(|p| p.is_user).map(|p| p.ep).collect();
    for (&key, space) in vm.spaces.iter() {
        if !known.contains(&space.ep) {
            found.push(Violation {
                invariant: "vm.space-process",
                detail: format!(
                    "vm keeps the address space of {} (slot {key}, {}) but the kernel has no such process",
                    space.ep,
                    recovery::counted(space.pages(), "page")
                ),
            });
        }
    }
    found
}

/// The pages vm's own page table should map: those lent to fill a file mapping, each writable at
/// its window (`os::vm::state::Fill::window`) to the mapping's frame.
fn lent(vm: &mut VmState) -> BTreeMap<u64, Mapping> {
    let mut pages = BTreeMap::new();
    for (_, space) in vm.spaces.iter() {
        let Some(fill) = space.fill else { continue };
        let Some(region) = space.filled_region(&fill) else { continue };
        let first = Fill::window(space.ep, fill.start) / PAGE;
        let skip = ((fill.start - region.start) / PAGE) as usize;
        for (i, &frame) in region.frames.iter().skip(skip).take(fill.pages as usize).enumerate() {
            pages.insert(first + i as u64, Mapping { frame, writable: true });
        }
    }
    pages
}

fn describe(m: Option<&Mapping>) -> String {
    match m {
        None => "nothing".to_string(),
        Some(m) => format!("frame {} ({})", m.frame, if m.writable { "rw" } else { "ro" }),
    }
}

/// The pages where vm's record and the kernel's page table disagree, described.
fn page_differences(vm: &BTreeMap<u64, Mapping>, kernel: &BTreeMap<u64, Mapping>) -> Vec<String> {
    let pages: BTreeSet<u64> = vm.keys().chain(kernel.keys()).copied().collect();
    pages
        .into_iter()
        .filter(|page| vm.get(page) != kernel.get(page))
        .map(|page| {
            format!(
                "page {:#x}: vm records {}, the kernel maps {}",
                page * PAGE,
                describe(vm.get(&page)),
                describe(kernel.get(&page))
            )
        })
        .collect()
}

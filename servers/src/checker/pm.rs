//! pm's invariants: unique pids, each entry filed under its endpoint's slot, and the indexes
//! (`pids`, `children`, `zombies`, `free_slots` and `fresh_slot`) saying exactly what the table
//! says.
//!
//! It reads a stopped (or crashed) pm's state and must not panic on damage: it compares what each
//! index holds with what it would hold if rebuilt from the table.

use super::Violation;
use crate::pm::state::{ChildLink, NR_PROCS, Phase, PmState};
use crate::proto::{Pid, ProcKey};
use kernel_sim::manifest::FIRST_USER_SLOT;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

/// Differences an index violation lists before it only counts the rest.
const LISTED_MAX: usize = 8;

/// Every invariant of `pm::state` broken in `pm`.
pub fn check(pm: &mut PmState) -> Vec<Violation> {
    let mut found = Vec::new();
    // (slot, pid, parent, zombie) of every entry, and the pid index rebuilt from them.
    let mut procs: Vec<(ProcKey, Pid, Pid, bool)> = Vec::new();
    let mut pids = BTreeMap::new();
    for (&key, p) in pm.procs.iter() {
        procs.push((key, p.pid, p.parent, matches!(p.phase, Phase::Zombie { .. })));
        if let Some(other) = pids.insert(p.pid, key) {
            found.push(violation("pm.unique-pids", format!("pid {} is held by slots {other} and {key}", p.pid)));
        }
        if key != p.ep.slot() as ProcKey {
            found.push(violation("pm.slot-key", format!("entry at slot {key} names endpoint {}", p.ep)));
        }
    }

    let filed: BTreeMap<Pid, ProcKey> = pm.pids.iter().map(|(&pid, &key)| (pid, key)).collect();
    compare("pm.pid-index", "pm.pids", &pids, &filed, &mut found);
    let children: BTreeMap<ChildLink, ()> = procs.iter().map(|&(key, _, parent, _)| ((parent, key), ())).collect();
    let filed: BTreeMap<ChildLink, ()> = pm.children.iter().map(|(&link, _)| (link, ())).collect();
    compare("pm.child-index", "pm.children", &children, &filed, &mut found);
    let zombies: BTreeMap<ChildLink, ()> =
        procs.iter().filter(|p| p.3).map(|&(key, _, parent, _)| ((parent, key), ())).collect();
    let filed: BTreeMap<ChildLink, ()> = pm.zombies.iter().map(|(&link, _)| (link, ())).collect();
    compare("pm.zombie-index", "pm.zombies", &zombies, &filed, &mut found);

    // Every slot below `fresh_slot` is held or free, never both; none above is either.
    let mut fresh = *pm.fresh_slot.get();
    let past_the_table = (FIRST_USER_SLOT + NR_PROCS) as ProcKey;
    if fresh > past_the_table {
        found.push(violation(
            "pm.slot-index",
            format!("pm.fresh_slot {fresh} is past the last slot a table of {NR_PROCS} entries can reach"),
        ));
        fresh = past_the_table;
    }
    let held: BTreeSet<ProcKey> = procs.iter().map(|p| p.0).collect();
    let free: BTreeSet<ProcKey> = pm.free_slots.iter().map(|(&key, _)| key).collect();
    let expected: BTreeMap<ProcKey, ()> =
        (FIRST_USER_SLOT as ProcKey..fresh).filter(|key| !held.contains(key)).map(|key| (key, ())).collect();
    let filed: BTreeMap<ProcKey, ()> = free.iter().map(|&key| (key, ())).collect();
    compare("pm.slot-index", "pm.free_slots", &expected, &filed, &mut found);
    if let Some(&past) = held.range(fresh..).next() {
        found.push(violation("pm.slot-index", format!("slot {past} is held, at or above pm.fresh_slot {fresh}")));
    }
    found
}

fn violation(invariant: &'static str, detail: String) -> Violation {
    Violation { invariant, detail }
}

/// `filed` (an index as pm keeps it) against `expected` (the index rebuilt from the table).
fn compare<K: Ord + Debug, V: PartialEq + Debug>(
    invariant: &'static str,
    index: &str,
    expected: &BTreeMap<K, V>,
    filed: &BTreeMap<K, V>,
    found: &mut Vec<Violation>,
) {
    let mut differences = Vec::new();
    for (key, value) in expected {
        match filed.get(key) {
            None => differences.push(format!("{key:?} is missing")),
            Some(other) if other != value => differences.push(format!("{key:?} holds {other:?}, not {value:?}")),
            Some(_) => {}
        }
    }
    differences.extend(filed.keys().filter(|key| !expected.contains_key(key)).map(|key| format!("{key:?} is stray")));
    if differences.is_empty() {
        return;
    }
    let listed: Vec<&str> = differences.iter().take(LISTED_MAX).map(String::as_str).collect();
    let more = differences.len().saturating_sub(LISTED_MAX);
    let tail = if more > 0 { format!(" and {more} more") } else { String::new() };
    found.push(violation(invariant, format!("{index} disagrees with the process table: {}{tail}", listed.join(", "))));
}

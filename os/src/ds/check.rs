//! ds's own invariants: valid names and values, valid patterns, one subscriber per slot, every
//! pending change owed to a subscription that matches it. Its loop-top self-check, and the
//! testbed's checker's part for ds.
//!
//! It reads a stopped (or crashed) ds's state and must not panic on damage.

use crate::ds::state::DsState;
use crate::invariant::{Violation, violation};
use crate::proto::ds::{DsValue, encode_name, glob_matches};

/// Every invariant of `ds::state` broken in `ds`.
pub fn check(ds: &mut DsState) -> Vec<Violation> {
    let mut found = Vec::new();
    for (name, entry) in ds.entries.iter() {
        if encode_name(name).is_err() {
            found.push(violation("ds.entry-name", format!("entry {name:?} has an invalid name")));
        }
        if let DsValue::Endpoint(ep) = entry.value
            && ep.is_special()
        {
            found.push(violation("ds.entry-value", format!("entry {name:?} holds the special endpoint {ep}")));
        }
    }
    let subscriptions: Vec<(u32, String)> = ds.subscriptions.iter().map(|(k, _)| k.clone()).collect();
    for (sub, pattern) in &subscriptions {
        if encode_name(pattern).is_err() {
            found.push(violation("ds.pattern", format!("subscriber {sub:#x} holds the invalid pattern {pattern:?}")));
        }
    }
    // One process per slot: two subscribers in one slot mean an earlier incarnation's were kept.
    let mut by_slot = std::collections::BTreeMap::new();
    for (sub, _) in &subscriptions {
        let ep = kernel_sim::Endpoint::from_raw(*sub);
        if let Some(other) = by_slot.insert(ep.slot(), ep)
            && other != ep
        {
            found.push(violation(
                "ds.subscriber-slot",
                format!("slot {} subscribes as both {other} and {ep}", ep.slot()),
            ));
        }
    }
    for ((sub, name), _) in ds.changed.iter() {
        let owed = subscriptions.iter().any(|(s, pattern)| s == sub && glob_matches(pattern, name));
        if !owed {
            found.push(violation(
                "ds.changed-subscribed",
                format!("a change of {name:?} is pending for {sub:#x}, which subscribed to no pattern matching it"),
            ));
        }
    }
    found
}

//! ds's state: the entries, the subscriptions, and each subscriber's changed entries not yet
//! checked.
//!
//! Invariants (checked by `checker/ds.rs`, also the loop-top self-check): every entry's name is
//! a valid name and its value a valid value; every subscription's pattern is a valid name; the
//! subscribers of one slot are one process (an earlier incarnation's subscriptions go when the
//! next subscribes); every pending change belongs to a subscriber that has a subscription
//! matching it.

use crate::proto::ds::DsValue;
use recovery::{Journal, StateClass, TrackedMap, tracked_state};

/// One entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DsEntry {
    /// What it holds.
    pub value: DsValue,
    /// The slot of the service that published it: only that service (in any incarnation) or rs
    /// may replace or delete it.
    pub owner: u32,
}

/// A subscriber, as the raw value of its endpoint (its notifications go there).
pub type Subscriber = u32;

/// All of ds's mutable state.
pub struct DsState {
    /// The journal of the recovery window.
    pub journal: Journal,
    /// name -> entry.
    pub entries: TrackedMap<String, DsEntry>,
    /// (subscriber, pattern): who is told of changes to which names.
    pub subscriptions: TrackedMap<(Subscriber, String), ()>,
    /// (subscriber, name): the changes a subscriber has not checked yet, in name order.
    pub changed: TrackedMap<(Subscriber, String), ()>,
}

tracked_state!(DsState { journal: journal, fields: [entries, subscriptions, changed] });

impl DsState {
    /// The empty store (boot, and a fresh restart: rs publishes the services' labels again).
    pub fn empty() -> DsState {
        let journal = Journal::new();
        DsState {
            entries: TrackedMap::new(&journal, "ds.entries", StateClass::Global),
            subscriptions: TrackedMap::new(&journal, "ds.subscriptions", StateClass::Global),
            changed: TrackedMap::new(&journal, "ds.changed", StateClass::Global),
            journal,
        }
    }

    /// The whole-state self-check (`checker/ds.rs`), as readable lines (empty when consistent).
    pub fn check_invariants(&mut self) -> Vec<String> {
        super::check::check(self).into_iter().map(|v| v.to_string()).collect()
    }

    /// The subscribers with a pattern matching `name`, each once, in order.
    pub fn subscribers_of(&mut self, name: &str) -> Vec<Subscriber> {
        let mut found: Vec<Subscriber> = self
            .subscriptions
            .iter()
            .filter(|((_, pattern), _)| crate::proto::ds::glob_matches(pattern, name))
            .map(|((sub, _), _)| *sub)
            .collect();
        found.dedup();
        found
    }
}

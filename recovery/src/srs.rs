//! SRS-style crash suppression: lazy, on-demand restore of the entries a crashed request dirtied.
//!
//! After a crash, [`crate::TrackedState::suppress`] does not restore anything. Each entry the
//! faulty request dirtied in the current window becomes a *suspect* that keeps its pre-image:
//! - a later **read** of a suspect (any read accessor, or a read-modify-write such as `get_mut`,
//!   `remove` or `pop`) restores the pre-image first: *restored on read*;
//! - a later **store** to a suspect that was not read first (`set`, map `insert`) drops the
//!   pre-image and restores nothing: the entry *self-cleansed*;
//! - [`crate::TrackedState::restore_all_suspects`] restores every remaining suspect eagerly.
//!
//! Invariants:
//! - The *visible* state (what any read returns) right after `suppress` is exactly the state at the
//!   checkpoint, as after a rollback; only the moment of repair differs.
//! - Suspects survive checkpoints: a checkpoint touches neither entries nor suspects. A write in a
//!   later window to a suspect logs the suspect's pre-image (the visible value) as its undo
//!   pre-image, so rolling that later window back yields that window's visible checkpoint state.
//!   Restoring a suspect on read changes no visible value and is therefore not logged.
//! - A suspect is never also logged in the current window: the first touch of a suspect in a
//!   window removes it before any logging happens.
//! - The counters are measurements of events, not state: rollback does not rewind them.

use std::ops::AddAssign;
use std::panic::Location;

use serde::{Deserialize, Serialize};

use crate::StateClass;

/// The SRS measure of one field (or of a whole state): what happened to its suspects.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SrsCounters {
    /// Entries that became suspect at a suppression.
    pub suspects_created: u64,
    /// Suspects restored because they were read before being overwritten.
    pub restored_on_read: u64,
    /// Suspects overwritten before any read: their pre-image was dropped, nothing restored.
    pub self_cleansed: u64,
    /// Suspects restored by an explicit eager restore of everything.
    pub restored_eagerly: u64,
}

impl SrsCounters {
    /// All restores, on demand or eager.
    pub fn restored(&self) -> u64 {
        self.restored_on_read + self.restored_eagerly
    }

    /// The share of resolved suspects that cleansed themselves (0.0 when none was resolved yet).
    pub fn self_cleansing_ratio(&self) -> f64 {
        let resolved = self.self_cleansed + self.restored();
        if resolved == 0 { 0.0 } else { self.self_cleansed as f64 / resolved as f64 }
    }
}

impl AddAssign for SrsCounters {
    fn add_assign(&mut self, other: Self) {
        self.suspects_created += other.suspects_created;
        self.restored_on_read += other.restored_on_read;
        self.self_cleansed += other.self_cleansed;
        self.restored_eagerly += other.restored_eagerly;
    }
}

/// The SRS measure of one field, with the suspects it still holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldSrs {
    /// The field's declared name.
    pub field: String,
    /// What happened to its suspects so far.
    pub counters: SrsCounters,
    /// Suspects not yet read, overwritten or eagerly restored.
    pub pending: usize,
}

/// The SRS measure of a whole server state: per field and in total.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SrsReport {
    /// One line per field, in declaration order.
    pub fields: Vec<FieldSrs>,
    /// The sum over all fields.
    pub total: SrsCounters,
    /// Suspects pending over all fields.
    pub pending: usize,
}

impl SrsReport {
    pub(crate) fn add_field(&mut self, field: &str, counters: SrsCounters, pending: usize) {
        self.total += counters;
        self.pending += pending;
        self.fields.push(FieldSrs { field: field.to_owned(), counters, pending });
    }

    /// The line of the field named `field`, if the state has one.
    pub fn field(&self, field: &str) -> Option<&FieldSrs> {
        self.fields.iter().find(|line| line.field == field)
    }
}

/// A dirtied entry kept by suppression: its pre-image and the faulty write that dirtied it.
#[derive(Debug, Clone)]
pub(crate) struct Suspect<P> {
    pub pre_image: P,
    pub site: &'static Location<'static>,
    pub class: StateClass,
}

/// Why a suspect is being restored, to count it in the right column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RestoreCause {
    /// A read reached the suspect.
    Read,
    /// An explicit restore of all suspects.
    Eager,
}

impl SrsCounters {
    pub(crate) fn count_restored(&mut self, cause: RestoreCause, entries: u64) {
        match cause {
            RestoreCause::Read => self.restored_on_read += entries,
            RestoreCause::Eager => self.restored_eagerly += entries,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_sums_fields_and_computes_the_cleansing_ratio() {
        let mut report = SrsReport::default();
        let a = SrsCounters { suspects_created: 4, restored_on_read: 1, self_cleansed: 3, restored_eagerly: 0 };
        let b = SrsCounters { suspects_created: 2, restored_on_read: 0, self_cleansed: 0, restored_eagerly: 1 };
        report.add_field("a", a, 0);
        report.add_field("b", b, 1);
        assert_eq!(report.total.suspects_created, 6);
        assert_eq!(report.total.restored(), 2);
        assert_eq!(report.pending, 1);
        assert_eq!(report.field("b").unwrap().counters, b);
        assert!((report.total.self_cleansing_ratio() - 0.6).abs() < 1e-9);
        assert_eq!(SrsCounters::default().self_cleansing_ratio(), 0.0);
    }
}

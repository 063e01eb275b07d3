//! [`TrackedCell`]: one tracked value (a counter, a flag, a small struct).
//!
//! Its single entry is [`KeyRepr::Whole`]; it has no neighbour, so an overflow fault proceeds as a
//! normal write.

use std::fmt;
use std::mem;
use std::panic::Location;

use super::FieldCore;
use crate::journal::{UndoLog, UndoRecord};
use crate::srs::{RestoreCause, Suspect};
use crate::{DirtyEntry, Epoch, Journal, KeyRepr, SrsCounters, StateClass, TrackedField, WriteAction, WriteOp};

/// One value under the undo log.
pub struct TrackedCell<T> {
    core: FieldCore,
    value: T,
    /// Equal to the current epoch iff the pre-image is already logged in this window.
    stamp: Epoch,
    log: UndoLog<T>,
    suspect: Option<Suspect<T>>,
    /// Receives the writes of a `get_mut` whose store the observer skipped.
    scratch: Option<T>,
}

impl<T: Clone + 'static> TrackedCell<T> {
    /// A cell named `name` of class `class` holding `value`, on `journal`.
    pub fn new(journal: &Journal, name: &'static str, class: StateClass, value: T) -> Self {
        Self {
            core: FieldCore::new(journal, name, class),
            value,
            stamp: Epoch::NEVER,
            log: UndoLog::new(),
            suspect: None,
            scratch: None,
        }
    }

    /// Reads the value (restoring it first if it is an SRS suspect).
    pub fn get(&mut self) -> &T {
        self.restore_suspect(RestoreCause::Read);
        &self.value
    }

    /// Stores `value` without reading the old one (an unread suspect self-cleanses).
    #[track_caller]
    pub fn set(&mut self, value: T) {
        let site = Location::caller();
        let epoch = self.core.epoch();
        let class = self.core.declared;
        let mut value = value;
        match self.observe(WriteOp::Store, site, epoch) {
            WriteAction::Skip => return,
            WriteAction::Corrupt { bit } => {
                crate::corrupt::corrupt(&mut value, bit);
            }
            WriteAction::Proceed | WriteAction::Neighbour => {}
        }
        let old = mem::replace(&mut self.value, value);
        let visible_before = match self.suspect.take() {
            Some(suspect) => {
                self.core.srs.self_cleansed += 1;
                suspect.pre_image
            }
            None => old,
        };
        self.log_first_write(epoch, site, class, || visible_before);
        self.core.note_write(epoch, class);
    }

    /// Reads and modifies the value in place (a suspect is restored first).
    #[track_caller]
    pub fn get_mut(&mut self) -> &mut T {
        let site = Location::caller();
        let epoch = self.core.epoch();
        let class = self.core.declared;
        self.restore_suspect(RestoreCause::Read);
        let action = self.observe(WriteOp::Update, site, epoch);
        if action == WriteAction::Skip {
            return self.scratch.insert(self.value.clone());
        }
        if self.stamp != epoch {
            self.log.push_clone(epoch, &self.value, site, class);
            self.stamp = epoch;
        }
        self.core.note_write(epoch, class);
        if let WriteAction::Corrupt { bit } = action {
            crate::corrupt::corrupt(&mut self.value, bit);
        }
        &mut self.value
    }

    fn observe(&self, op: WriteOp, site: &'static Location<'static>, epoch: Epoch) -> WriteAction {
        let pending = self.core.pending::<T>(op, self.core.declared, site, epoch);
        let first = self.stamp != epoch;
        self.core.journal.observe(|| pending.event(KeyRepr::Whole, first, None))
    }

    fn log_first_write(
        &mut self,
        epoch: Epoch,
        site: &'static Location<'static>,
        class: StateClass,
        visible_before: impl FnOnce() -> T,
    ) {
        if self.stamp != epoch {
            self.log.push(epoch, UndoRecord { entry: visible_before(), site, class });
            self.stamp = epoch;
        }
    }

    fn restore_suspect(&mut self, cause: RestoreCause) {
        if let Some(suspect) = self.suspect.take() {
            assert_ne!(self.stamp, self.core.epoch(), "suspect `{}` logged in this window", self.core.name);
            self.value = suspect.pre_image;
            self.core.srs.count_restored(cause, 1);
        }
    }
}

impl<T: Clone + 'static> TrackedField for TrackedCell<T> {
    fn name(&self) -> &'static str {
        self.core.name
    }

    fn declared_class(&self) -> StateClass {
        self.core.declared
    }

    fn journal(&self) -> &Journal {
        &self.core.journal
    }

    fn rollback(&mut self) {
        let records = self.log.take_window(self.core.epoch());
        assert!(records.len() <= 1, "cell `{}` logged twice in one window", self.core.name);
        if let Some(record) = records.into_iter().next() {
            self.value = record.entry;
        }
        self.stamp = Epoch::NEVER;
        self.core.forget_window_writes();
    }

    fn suppress(&mut self) {
        let records = self.log.take_window(self.core.epoch());
        assert!(records.len() <= 1, "cell `{}` logged twice in one window", self.core.name);
        if let Some(record) = records.into_iter().next() {
            assert!(self.suspect.is_none(), "cell `{}` dirtied while suspect", self.core.name);
            self.suspect = Some(Suspect { pre_image: record.entry, site: record.site, class: record.class });
            self.core.srs.suspects_created += 1;
        }
        self.stamp = Epoch::NEVER;
        self.core.forget_window_writes();
    }

    fn restore_all_suspects(&mut self) {
        self.restore_suspect(RestoreCause::Eager);
    }

    fn suspect_count(&self) -> usize {
        usize::from(self.suspect.is_some())
    }

    fn suspects(&self) -> Vec<DirtyEntry> {
        self.suspect
            .iter()
            .map(|suspect| DirtyEntry {
                field: self.core.name,
                key: KeyRepr::Whole,
                class: suspect.class,
                site: suspect.site,
            })
            .collect()
    }

    fn srs_counters(&self) -> SrsCounters {
        self.core.srs
    }

    fn dirty_entries(&self) -> Vec<DirtyEntry> {
        self.log
            .window(self.core.epoch())
            .iter()
            .map(|record| DirtyEntry {
                field: self.core.name,
                key: KeyRepr::Whole,
                class: record.class,
                site: record.site,
            })
            .collect()
    }

    fn worst_written_class(&self) -> Option<StateClass> {
        self.core.worst_written_class()
    }
}

impl<T: fmt::Debug> fmt::Debug for TrackedCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrackedCell")
            .field("name", &self.core.name)
            .field("class", &self.core.declared)
            .field("value", &self.value)
            .field("suspect", &self.suspect.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WriteEvent;

    fn counter(journal: &Journal) -> TrackedCell<u32> {
        TrackedCell::new(journal, "next_pid", StateClass::Global, 7)
    }

    #[test]
    fn rollback_restores_the_checkpoint_value_after_many_writes() {
        let journal = Journal::new();
        let mut cell = counter(&journal);
        journal.checkpoint();
        cell.set(8);
        *cell.get_mut() += 10;
        cell.set(30);
        assert_eq!(cell.dirty_entries().len(), 1, "only the first write logs");
        cell.rollback();
        assert_eq!(*cell.get(), 7);
        // The window stays open: a new write logs again and rolls back again.
        cell.set(9);
        cell.rollback();
        assert_eq!(*cell.get(), 7);
    }

    #[test]
    fn a_checkpoint_makes_the_window_writes_permanent() {
        let journal = Journal::new();
        let mut cell = counter(&journal);
        journal.checkpoint();
        cell.set(8);
        journal.checkpoint();
        cell.rollback();
        assert_eq!(*cell.get(), 8);
        assert!(cell.dirty_entries().is_empty());
    }

    #[test]
    fn the_write_site_is_the_callers_line() {
        let journal = Journal::new();
        let mut cell = counter(&journal);
        let line = line!() + 1;
        cell.set(1);
        let dirty = cell.dirty_entries();
        assert_eq!(dirty[0].site.file(), file!());
        assert_eq!(dirty[0].site.line(), line);
        assert_eq!(dirty[0].class, StateClass::Global);
        assert_eq!(cell.worst_written_class(), Some(StateClass::Global));
    }

    #[test]
    fn skipped_get_mut_writes_go_to_a_scratch_copy() {
        let journal = Journal::new();
        let mut cell = counter(&journal);
        journal.set_observer(Box::new(|_: &WriteEvent| WriteAction::Skip));
        *cell.get_mut() = 100;
        cell.set(200);
        journal.take_observer();
        assert_eq!(*cell.get(), 7);
        assert!(cell.dirty_entries().is_empty());
    }

    #[test]
    fn suspect_is_restored_on_read_or_cleansed_by_a_store() {
        let journal = Journal::new();
        let mut read_first = counter(&journal);
        let mut stored_first = TrackedCell::new(&journal, "flag", StateClass::RequestLocal, false);
        journal.checkpoint();
        read_first.set(666);
        stored_first.set(true);
        read_first.suppress();
        stored_first.suppress();
        journal.checkpoint();
        assert_eq!(read_first.suspect_count(), 1);
        assert_eq!(*read_first.get(), 7);
        stored_first.set(false);
        assert!(!*stored_first.get());
        assert_eq!(read_first.srs_counters().restored_on_read, 1);
        assert_eq!(stored_first.srs_counters().self_cleansed, 1);
        assert_eq!(read_first.suspect_count() + stored_first.suspect_count(), 0);
    }
}

//! The ordered map behind [`super::TrackedMap`] and [`super::ProcTable`]: entries keyed by `K`, a
//! key's absence being a value like any other ("did not exist" is a pre-image).
//!
//! The effective class of a write is decided by the wrapper and passed in.
//!
//! Invariants: a key is logged at most once per window; a present key is logged iff its stamp is
//! the current epoch; an absent key is logged iff it is in `vacated` (valid for the log's window
//! only, so cleared whenever the log moves to a newer window); a suspect is never logged in the
//! current window.
//!
//! Overflow faults hit the next present key in order (the previous one past the last key).

use std::collections::{BTreeMap, btree_map};
use std::fmt;
use std::ops::{Bound, RangeBounds};
use std::panic::Location;

use super::{FieldCore, Slot};
use crate::journal::{CloneEntry, UndoLog, UndoRecord};
use crate::srs::{RestoreCause, Suspect};
use crate::{DirtyEntry, Epoch, Journal, SrsCounters, StateClass, TrackKey, WriteAction, WriteOp};

/// The pre-image of one key: its value at the checkpoint, or that it did not exist.
///
/// A "did not exist" record keeps the value storage of the spent record it was written over, for
/// the next pre-image cloned into it: a table whose requests insert and remove entries in turn (a
/// process made at fork, reaped at wait) then logs without allocating or freeing.
#[derive(Debug, Clone)]
struct KeyPreImage<K, V> {
    key: K,
    existed: bool,
    /// The value at the checkpoint when `existed`; otherwise spent storage, or nothing.
    value: Option<V>,
}

impl<K, V> KeyPreImage<K, V> {
    /// The pre-image of a key that existed, owning the value a write took out of the map.
    fn moved(key: K, value: V) -> Self {
        Self { key, existed: true, value: Some(value) }
    }

    /// The key and its value at the checkpoint (`None`: it did not exist).
    fn into_parts(self) -> (K, Option<V>) {
        (self.key, self.value.filter(|_| self.existed))
    }
}

/// A present key's pre-image is cloned into a spent record's storage (see [`UndoLog::push_clone`]).
impl<'a, K, V: Clone> CloneEntry<(K, &'a V)> for KeyPreImage<K, V> {
    fn new_from((key, value): (K, &'a V)) -> Self {
        Self { key, existed: true, value: Some(value.clone()) }
    }

    fn refill(&mut self, (key, value): (K, &'a V)) {
        self.key = key;
        self.existed = true;
        match &mut self.value {
            Some(spent) => spent.clone_from(value),
            none => *none = Some(value.clone()),
        }
    }
}

/// A key that did not exist at the checkpoint.
struct Absent<K>(K);

/// An absent key's record keeps the spent record's storage.
impl<K, V> CloneEntry<Absent<K>> for KeyPreImage<K, V> {
    fn new_from(Absent(key): Absent<K>) -> Self {
        Self { key, existed: false, value: None }
    }

    fn refill(&mut self, Absent(key): Absent<K>) {
        self.key = key;
        self.existed = false;
    }
}

pub(super) struct MapCore<K, V> {
    pub(super) core: FieldCore,
    entries: BTreeMap<K, Slot<V>>,
    /// Keys absent now whose pre-image is already in the log's window, sorted. A few per window:
    /// a vector, emptied at every window without freeing (a set would free and allocate its nodes
    /// on every request that removes an entry).
    vacated: Vec<K>,
    log: UndoLog<KeyPreImage<K, V>>,
    suspects: BTreeMap<K, Suspect<Option<V>>>,
    /// Receives the writes of a `get_mut` whose store the observer skipped.
    scratch: Option<V>,
}

impl<K: Ord + Clone + TrackKey, V: Clone + 'static> MapCore<K, V> {
    pub(super) fn new(journal: &Journal, name: &'static str, declared: StateClass) -> Self {
        Self {
            core: FieldCore::new(journal, name, declared),
            entries: BTreeMap::new(),
            vacated: Vec::new(),
            log: UndoLog::new(),
            suspects: BTreeMap::new(),
            scratch: None,
        }
    }

    pub(super) fn get(&mut self, key: &K) -> Option<&V> {
        self.restore_key(key, RestoreCause::Read);
        self.entries.get(key).map(|slot| &slot.value)
    }

    pub(super) fn contains_key(&mut self, key: &K) -> bool {
        self.get(key).is_some()
    }

    /// The number of entries (a read of every key's existence: all suspects are restored).
    pub(super) fn len(&mut self) -> usize {
        self.restore_everything(RestoreCause::Read);
        self.entries.len()
    }

    pub(super) fn iter(&mut self) -> impl Iterator<Item = (&K, &V)> {
        self.restore_everything(RestoreCause::Read);
        self.entries.iter().map(|(key, slot)| (key, &slot.value))
    }

    /// The entries whose keys are in `range`, in key order: a read of those keys only, so only
    /// the suspects in the range are restored.
    pub(super) fn range(&mut self, range: impl RangeBounds<K>) -> impl Iterator<Item = (&K, &V)> {
        let bounds = (range.start_bound().cloned(), range.end_bound().cloned());
        if !self.suspects.is_empty() {
            let keys: Vec<K> = self.suspects.range(bounds.clone()).map(|(key, _)| key.clone()).collect();
            for key in keys {
                self.restore_key(&key, RestoreCause::Read);
            }
        }
        self.entries.range(bounds).map(|(key, slot)| (key, &slot.value))
    }

    pub(super) fn insert(&mut self, key: K, value: V, class: StateClass, site: &'static Location<'static>) {
        let epoch = self.core.epoch();
        let mut value = value;
        let key = match self.observe(WriteOp::Store, &key, class, site, epoch) {
            WriteAction::Skip => return,
            WriteAction::Neighbour => self.neighbour_of(&key).unwrap_or(key),
            WriteAction::Proceed => key,
            WriteAction::Corrupt { bit } => {
                crate::corrupt::corrupt(&mut value, bit);
                key
            }
        };
        let cleansed = self.suspects.remove(&key).map(|suspect| suspect.pre_image);
        let was_suspect = cleansed.is_some();
        if was_suspect {
            self.core.srs.self_cleansed += 1;
        }
        // `is_logged` and the store in one search of the entries.
        let slot = Slot { value, stamp: epoch };
        let (logged, old) = match self.entries.entry(key.clone()) {
            btree_map::Entry::Occupied(mut present) => {
                (present.get().stamp == epoch, Some(std::mem::replace(present.get_mut(), slot)))
            }
            btree_map::Entry::Vacant(absent) => {
                let logged = self.log.is_window(epoch) && self.vacated.binary_search(&key).is_ok();
                absent.insert(slot);
                (logged, None)
            }
        };
        if logged {
            assert!(!was_suspect, "`{}`: suspect logged in this window", self.core.name);
        } else {
            // The visible pre-image: a suspect's value was never visible.
            let pre_image = cleansed.unwrap_or_else(|| old.map(|slot| slot.value));
            self.log_pre_image(key.clone(), pre_image, site, class, epoch);
        }
        if let Ok(at) = self.vacated.binary_search(&key) {
            self.vacated.remove(at);
        }
        self.core.note_write(epoch, class);
    }

    pub(super) fn get_mut(&mut self, key: &K, class: StateClass, site: &'static Location<'static>) -> Option<&mut V> {
        let epoch = self.core.epoch();
        self.restore_key(key, RestoreCause::Read);
        if !self.entries.contains_key(key) {
            return None;
        }
        let action = self.observe(WriteOp::Update, key, class, site, epoch);
        let target = match action {
            WriteAction::Skip => {
                let copy = self.entries[key].value.clone();
                return Some(self.scratch.insert(copy));
            }
            WriteAction::Neighbour => self.read_neighbour(key),
            WriteAction::Proceed | WriteAction::Corrupt { .. } => key.clone(),
        };
        // One search from here on: the log, the vacated keys and the core are other fields.
        let slot = self.entries.get_mut(&target).expect("target is present");
        if slot.stamp != epoch {
            slot.stamp = epoch;
            if self.log.push_clone(epoch, (target.clone(), &slot.value), site, class) {
                self.vacated.clear();
            }
        }
        self.core.note_write(epoch, class);
        let value = &mut slot.value;
        if let WriteAction::Corrupt { bit } = action {
            crate::corrupt::corrupt(value, bit);
        }
        Some(value)
    }

    pub(super) fn remove(&mut self, key: &K, class: StateClass, site: &'static Location<'static>) -> Option<V> {
        let epoch = self.core.epoch();
        self.restore_key(key, RestoreCause::Read);
        if !self.entries.contains_key(key) {
            return None;
        }
        let target = match self.observe(WriteOp::Remove, key, class, site, epoch) {
            WriteAction::Skip => return Some(self.entries[key].value.clone()),
            WriteAction::Neighbour => self.read_neighbour(key),
            WriteAction::Proceed | WriteAction::Corrupt { .. } => key.clone(),
        };
        // A redirected removal still hands the caller the value it asked for: the damage is silent.
        let asked_for = (target != *key).then(|| self.entries[key].value.clone());
        let slot = self.entries.remove(&target).expect("target is present");
        if slot.stamp != epoch && self.log.push_clone(epoch, (target.clone(), &slot.value), site, class) {
            self.vacated.clear();
        }
        let removed = slot.value;
        if let Err(at) = self.vacated.binary_search(&target) {
            self.vacated.insert(at, target);
        }
        self.core.note_write(epoch, class);
        Some(asked_for.unwrap_or(removed))
    }

    /// `remove` for a caller that keeps nothing: the log takes the removed value itself (when it is
    /// the key's pre-image) instead of a copy. Same write, same observation, same faults.
    pub(super) fn discard(&mut self, key: &K, class: StateClass, site: &'static Location<'static>) -> bool {
        let epoch = self.core.epoch();
        self.restore_key(key, RestoreCause::Read);
        if !self.entries.contains_key(key) {
            return false;
        }
        let target = match self.observe(WriteOp::Remove, key, class, site, epoch) {
            WriteAction::Skip => return true,
            WriteAction::Neighbour => self.read_neighbour(key),
            WriteAction::Proceed | WriteAction::Corrupt { .. } => key.clone(),
        };
        let slot = self.entries.remove(&target).expect("target is present");
        if slot.stamp != epoch {
            self.log_pre_image(target.clone(), Some(slot.value), site, class, epoch);
        }
        if let Err(at) = self.vacated.binary_search(&target) {
            self.vacated.insert(at, target);
        }
        self.core.note_write(epoch, class);
        true
    }

    fn observe(
        &self,
        op: WriteOp,
        key: &K,
        class: StateClass,
        site: &'static Location<'static>,
        epoch: Epoch,
    ) -> WriteAction {
        let pending = self.core.pending::<V>(op, class, site, epoch);
        self.core.journal.observe(|| {
            let neighbour = self.neighbour_of(key).map(|neighbour| neighbour.key_repr());
            pending.event(key.key_repr(), !self.is_logged(key, epoch), neighbour)
        })
    }

    /// The present key an overflow at `key` hits: the next one, else the previous one.
    fn neighbour_of(&self, key: &K) -> Option<K> {
        let next = self.entries.range((Bound::Excluded(key), Bound::Unbounded)).next();
        let previous = || self.entries.range(..key).next_back();
        next.or_else(previous).map(|(neighbour, _)| neighbour.clone())
    }

    /// The neighbour a read-modify-write at present key `key` is redirected to, restored if it was
    /// suspect; `key` itself when there is none left (a restored neighbour may not have existed).
    fn read_neighbour(&mut self, key: &K) -> K {
        match self.neighbour_of(key) {
            Some(neighbour) => {
                self.restore_key(&neighbour, RestoreCause::Read);
                if self.entries.contains_key(&neighbour) { neighbour } else { key.clone() }
            }
            None => key.clone(),
        }
    }

    fn is_logged(&self, key: &K, epoch: Epoch) -> bool {
        match self.entries.get(key) {
            Some(slot) => slot.stamp == epoch,
            None => self.log.is_window(epoch) && self.vacated.binary_search(key).is_ok(),
        }
    }

    /// Logs the pre-image a store replaced: the value it took out of the map, or that the key did
    /// not exist.
    fn log_pre_image(
        &mut self,
        key: K,
        pre_image: Option<V>,
        site: &'static Location<'static>,
        class: StateClass,
        epoch: Epoch,
    ) {
        let stale = match pre_image {
            Some(value) => {
                let entry = KeyPreImage::moved(key, value);
                self.log.push(epoch, UndoRecord { entry, site, class })
            }
            None => self.log.push_clone(epoch, Absent(key), site, class),
        };
        if stale {
            self.vacated.clear();
        }
    }

    /// Restores `key` if it is a suspect. Inlined: every access calls it, and almost always there
    /// is no suspect at all.
    #[inline]
    fn restore_key(&mut self, key: &K, cause: RestoreCause) {
        if self.suspects.is_empty() {
            return;
        }
        if let Some(suspect) = self.suspects.remove(key) {
            self.restore_suspect(key.clone(), suspect, cause);
        }
    }

    fn restore_everything(&mut self, cause: RestoreCause) {
        if self.suspects.is_empty() {
            // The common case, on every iteration: no map to take apart.
            return;
        }
        for (key, suspect) in std::mem::take(&mut self.suspects) {
            self.restore_suspect(key, suspect, cause);
        }
    }

    fn restore_suspect(&mut self, key: K, suspect: Suspect<Option<V>>, cause: RestoreCause) {
        let overwritten = self.put_back(key, suspect.pre_image);
        let epoch = self.core.epoch();
        assert!(
            overwritten.is_none_or(|slot| slot.stamp != epoch),
            "`{}`: suspect logged in this window",
            self.core.name
        );
        self.core.srs.count_restored(cause, 1);
    }

    /// Puts a pre-image back as a value not written in the current window; returns what it
    /// replaced.
    fn put_back(&mut self, key: K, pre_image: Option<V>) -> Option<Slot<V>> {
        match pre_image {
            Some(value) => self.entries.insert(key, Slot::clean(value)),
            None => self.entries.remove(&key),
        }
    }

    pub(super) fn rollback(&mut self) {
        let records = self.log.take_window(self.core.epoch());
        for record in records.into_iter().rev() {
            let (key, pre_image) = record.entry.into_parts();
            assert!(!self.suspects.contains_key(&key), "`{}`: suspect logged in this window", self.core.name);
            self.put_back(key, pre_image);
        }
        self.vacated.clear();
        self.core.forget_window_writes();
    }

    pub(super) fn suppress(&mut self) {
        let records = self.log.take_window(self.core.epoch());
        for UndoRecord { entry, site, class } in records {
            let (key, pre_image) = entry.into_parts();
            if let Some(slot) = self.entries.get_mut(&key) {
                slot.stamp = Epoch::NEVER;
            }
            let twice = self.suspects.insert(key, Suspect { pre_image, site, class });
            assert!(twice.is_none(), "`{}`: entry dirtied while suspect, or logged twice", self.core.name);
            self.core.srs.suspects_created += 1;
        }
        self.vacated.clear();
        self.core.forget_window_writes();
    }

    pub(super) fn restore_all_suspects(&mut self) {
        self.restore_everything(RestoreCause::Eager);
    }

    pub(super) fn suspect_count(&self) -> usize {
        self.suspects.len()
    }

    pub(super) fn suspects(&self) -> Vec<DirtyEntry> {
        self.suspects
            .iter()
            .map(|(key, suspect)| DirtyEntry {
                field: self.core.name,
                key: key.key_repr(),
                class: suspect.class,
                site: suspect.site,
            })
            .collect()
    }

    pub(super) fn srs_counters(&self) -> SrsCounters {
        self.core.srs
    }

    pub(super) fn dirty_entries(&self) -> Vec<DirtyEntry> {
        self.log
            .window(self.core.epoch())
            .iter()
            .map(|record| DirtyEntry {
                field: self.core.name,
                key: record.entry.key.key_repr(),
                class: record.class,
                site: record.site,
            })
            .collect()
    }
}

/// Shows a map's values without their stamps.
struct DebugEntries<'a, K, V>(&'a BTreeMap<K, Slot<V>>);

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for DebugEntries<'_, K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.0.iter().map(|(key, slot)| (key, &slot.value))).finish()
    }
}

impl<K: fmt::Debug, V: fmt::Debug> MapCore<K, V> {
    pub(super) fn debug_fields(&self, f: &mut fmt::DebugStruct<'_, '_>) {
        f.field("name", &self.core.name)
            .field("class", &self.core.declared)
            .field("entries", &DebugEntries(&self.entries))
            .field("suspects", &self.suspects.len());
    }
}

//! [`TrackedMap`]: an ordered map (BTreeMap-based, so iteration order is deterministic) whose
//! every write has the field's declared class.
//!
//! A key's absence is a pre-image like any value: rolling back an insert of a new key removes it.
//! `insert` is a pure store (it returns nothing, so it may self-cleanse a suspect); `remove`
//! returns the value, so it reads.

use std::fmt;
use std::ops::RangeBounds;
use std::panic::Location;

use super::map_core::MapCore;
use crate::{DirtyEntry, Journal, SrsCounters, StateClass, TrackKey, TrackedField};

/// An ordered map under the undo log.
pub struct TrackedMap<K, V> {
    inner: MapCore<K, V>,
}

impl<K: Ord + Clone + TrackKey, V: Clone + 'static> TrackedMap<K, V> {
    /// An empty map named `name` of class `class`, on `journal`.
    pub fn new(journal: &Journal, name: &'static str, class: StateClass) -> Self {
        Self { inner: MapCore::new(journal, name, class) }
    }

    /// Reads the value at `key`.
    pub fn get(&mut self, key: &K) -> Option<&V> {
        self.inner.get(key)
    }

    /// Whether `key` is present.
    pub fn contains_key(&mut self, key: &K) -> bool {
        self.inner.contains_key(key)
    }

    /// The number of entries (reads every key's presence: restores all suspects).
    pub fn len(&mut self) -> usize {
        self.inner.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&mut self) -> bool {
        self.len() == 0
    }

    /// Every entry in key order (restores all suspects first).
    pub fn iter(&mut self) -> impl Iterator<Item = (&K, &V)> {
        self.inner.iter()
    }

    /// The entries whose keys are in `range`, in key order (restores the suspects in the range
    /// first): one parent's children under `(parent, child)` keys, the lowest key of a free set.
    pub fn range(&mut self, range: impl RangeBounds<K>) -> impl Iterator<Item = (&K, &V)> {
        self.inner.range(range)
    }

    /// Stores `value` at `key`, creating the entry if needed, without reading the old value.
    #[track_caller]
    pub fn insert(&mut self, key: K, value: V) {
        let class = self.inner.core.declared;
        self.inner.insert(key, value, class, Location::caller());
    }

    /// Reads and modifies the value at `key` in place, `None` if absent.
    #[track_caller]
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let class = self.inner.core.declared;
        self.inner.get_mut(key, class, Location::caller())
    }

    /// Removes and returns the value at `key`, `None` if absent.
    #[track_caller]
    pub fn remove(&mut self, key: &K) -> Option<V> {
        let class = self.inner.core.declared;
        self.inner.remove(key, class, Location::caller())
    }
}

impl<K: Ord + Clone + TrackKey, V: Clone + 'static> TrackedField for TrackedMap<K, V> {
    fn name(&self) -> &'static str {
        self.inner.core.name
    }

    fn declared_class(&self) -> StateClass {
        self.inner.core.declared
    }

    fn journal(&self) -> &Journal {
        &self.inner.core.journal
    }

    fn rollback(&mut self) {
        self.inner.rollback();
    }

    fn suppress(&mut self) {
        self.inner.suppress();
    }

    fn restore_all_suspects(&mut self) {
        self.inner.restore_all_suspects();
    }

    fn suspect_count(&self) -> usize {
        self.inner.suspect_count()
    }

    fn suspects(&self) -> Vec<DirtyEntry> {
        self.inner.suspects()
    }

    fn srs_counters(&self) -> SrsCounters {
        self.inner.srs_counters()
    }

    fn dirty_entries(&self) -> Vec<DirtyEntry> {
        self.inner.dirty_entries()
    }

    fn worst_written_class(&self) -> Option<StateClass> {
        self.inner.core.worst_written_class()
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for TrackedMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("TrackedMap");
        self.inner.debug_fields(&mut debug);
        debug.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{KeyRepr, WriteAction, WriteEvent};

    fn inodes(journal: &Journal) -> TrackedMap<u32, &'static str> {
        let mut map = TrackedMap::new(journal, "inodes", StateClass::Global);
        map.insert(1, "root");
        map.insert(5, "etc");
        map.insert(9, "tmp");
        journal.checkpoint();
        map
    }

    fn contents(map: &mut TrackedMap<u32, &'static str>) -> Vec<(u32, &'static str)> {
        map.iter().map(|(key, value)| (*key, *value)).collect()
    }

    #[test]
    fn rollback_restores_changed_removed_and_absent_keys() {
        let journal = Journal::new();
        let mut map = inodes(&journal);
        let before = contents(&mut map);
        map.insert(1, "ROOT");
        map.remove(&5);
        map.insert(7, "new");
        map.insert(5, "back");
        *map.get_mut(&9).unwrap() = "TMP";
        map.remove(&7);
        map.rollback();
        assert_eq!(contents(&mut map), before);
    }

    #[test]
    fn remove_then_reinsert_logs_the_key_once() {
        let journal = Journal::new();
        let mut map = inodes(&journal);
        map.remove(&5);
        map.insert(5, "again");
        map.remove(&5);
        map.insert(3, "new");
        map.remove(&3);
        map.insert(3, "newer");
        let keys: Vec<KeyRepr> = map.dirty_entries().into_iter().map(|entry| entry.key).collect();
        assert_eq!(keys, vec![KeyRepr::Uint(5), KeyRepr::Uint(3)]);
    }

    #[test]
    fn overflow_fault_writes_the_next_key_and_skip_drops_the_write() {
        let journal = Journal::new();
        let mut map = inodes(&journal);
        let events = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = events.clone();
        journal.set_observer(Box::new(move |event: &WriteEvent| {
            seen.lock().unwrap().push(event.clone());
            if event.key == KeyRepr::Uint(1) { WriteAction::Neighbour } else { WriteAction::Skip }
        }));
        map.insert(1, "smashed");
        assert_eq!(map.remove(&9), Some("tmp"), "a skipped removal still answers");
        journal.take_observer();
        assert_eq!(contents(&mut map), vec![(1, "root"), (5, "smashed"), (9, "tmp")]);
        let events = events.lock().unwrap();
        assert_eq!(events[0].neighbour, Some(KeyRepr::Uint(5)));
        assert_eq!(events[1].neighbour, Some(KeyRepr::Uint(5)), "past the last key: the previous");
        assert!(events.iter().all(|event| event.first_in_window && event.field == "inodes"));
    }

    /// A map whose last request (insert 4, remove 9) was suppressed, in the next window.
    fn after_a_suppressed_insert_and_remove(journal: &Journal) -> TrackedMap<u32, &'static str> {
        let mut map = inodes(journal);
        map.insert(4, "garbage");
        map.remove(&9);
        map.suppress();
        journal.checkpoint();
        map
    }

    #[test]
    fn a_range_reads_and_restores_only_its_own_keys() {
        let journal = Journal::new();
        let mut map = after_a_suppressed_insert_and_remove(&journal);
        let low: Vec<(u32, &str)> = map.range(..5).map(|(key, value)| (*key, *value)).collect();
        assert_eq!(low, vec![(1, "root")], "the suppressed insert of 4 is gone from the range");
        assert_eq!(map.srs_counters().restored_on_read, 1);
        assert_eq!(map.suspect_count(), 1, "9 lies outside the range: still suspect");
        let high: Vec<u32> = map.range(5..).map(|(key, _)| *key).collect();
        assert_eq!(high, vec![5, 9]);
        assert_eq!(map.suspect_count(), 0);
    }

    #[test]
    fn suppressed_insert_of_a_new_key_disappears_when_read() {
        let journal = Journal::new();
        let mut map = after_a_suppressed_insert_and_remove(&journal);
        assert_eq!(map.get(&4), None);
        assert_eq!(map.get(&9), Some(&"tmp"));
        assert_eq!(map.srs_counters().restored_on_read, 2);
        assert_eq!(map.suspect_count(), 0);
    }
}

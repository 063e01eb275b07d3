//! [`ProcTable`]: per-process state keyed by a process key, where the *accessor* says whose entry
//! a write touches.
//!
//! The key type is generic (`K: Ord + Copy`): a server picks its own process key (a process slot
//! number, an endpoint). The table is declared process-local. A write through an `*_own` accessor
//! takes the current request's [`Requester`] token and is process-local; a write through a
//! `*_global` accessor names any key and is classified global, even when that key happens to be
//! the requester's: the class is decided by the code, so the static analysis and the run-time
//! write set agree.

use std::fmt;
use std::panic::Location;

use super::map_core::MapCore;
use crate::{DirtyEntry, Journal, SrsCounters, StateClass, TrackKey, TrackedField};

/// The process that sent the request being handled, as a key of a [`ProcTable`].
///
/// The task loop makes one per request from the message's source; handlers pass it to `*_own`
/// accessors. It marks intent for classification; it is not a security capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Requester<K> {
    key: K,
}

impl<K: Copy> Requester<K> {
    /// The requester whose process key is `key`.
    pub fn new(key: K) -> Self {
        Self { key }
    }

    /// The requester's process key.
    pub fn key(&self) -> K {
        self.key
    }
}

/// A table of per-process entries under the undo log.
pub struct ProcTable<K, V> {
    inner: MapCore<K, V>,
}

impl<K: Ord + Copy + TrackKey, V: Clone + 'static> ProcTable<K, V> {
    /// An empty process-local table named `name`, on `journal`.
    pub fn new(journal: &Journal, name: &'static str) -> Self {
        Self { inner: MapCore::new(journal, name, StateClass::ProcessLocal) }
    }

    /// Reads the entry of process `key`.
    pub fn get(&mut self, key: K) -> Option<&V> {
        self.inner.get(&key)
    }

    /// Reads the requester's entry.
    pub fn get_own(&mut self, requester: &Requester<K>) -> Option<&V> {
        self.inner.get(&requester.key)
    }

    /// Whether process `key` has an entry.
    pub fn contains(&mut self, key: K) -> bool {
        self.inner.contains_key(&key)
    }

    /// The number of entries (restores all suspects).
    pub fn len(&mut self) -> usize {
        self.inner.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&mut self) -> bool {
        self.len() == 0
    }

    /// Every entry in key order (restores all suspects first).
    pub fn iter(&mut self) -> impl Iterator<Item = (&K, &V)> {
        self.inner.iter()
    }

    /// Stores the requester's entry: process-local.
    #[track_caller]
    pub fn insert_own(&mut self, requester: &Requester<K>, value: V) {
        self.inner.insert(requester.key, value, StateClass::ProcessLocal, Location::caller());
    }

    /// Modifies the requester's entry in place: process-local.
    #[track_caller]
    pub fn get_own_mut(&mut self, requester: &Requester<K>) -> Option<&mut V> {
        self.inner.get_mut(&requester.key, StateClass::ProcessLocal, Location::caller())
    }

    /// Removes the requester's entry: process-local.
    #[track_caller]
    pub fn remove_own(&mut self, requester: &Requester<K>) -> Option<V> {
        self.inner.remove(&requester.key, StateClass::ProcessLocal, Location::caller())
    }

    /// Removes the requester's entry without handing it back (see [`Self::discard_global`]):
    /// process-local. Returns whether there was one.
    #[track_caller]
    pub fn discard_own(&mut self, requester: &Requester<K>) -> bool {
        self.inner.discard(&requester.key, StateClass::ProcessLocal, Location::caller())
    }

    /// Stores the entry of any process (a child at fork, a parent at exit): global.
    #[track_caller]
    pub fn insert_global(&mut self, key: K, value: V) {
        self.inner.insert(key, value, StateClass::Global, Location::caller());
    }

    /// Modifies the entry of any process in place: global.
    #[track_caller]
    pub fn get_mut_global(&mut self, key: K) -> Option<&mut V> {
        self.inner.get_mut(&key, StateClass::Global, Location::caller())
    }

    /// Removes the entry of any process: global.
    #[track_caller]
    pub fn remove_global(&mut self, key: K) -> Option<V> {
        self.inner.remove(&key, StateClass::Global, Location::caller())
    }

    /// Removes the entry of any process without handing it back: global. Returns whether there
    /// was one. The undo log takes the value itself as its pre-image, where `remove_*` must log a
    /// copy of what it returns: for a caller that drops the entry anyway, a copy saved.
    #[track_caller]
    pub fn discard_global(&mut self, key: K) -> bool {
        self.inner.discard(&key, StateClass::Global, Location::caller())
    }
}

impl<K: Ord + Copy + TrackKey, V: Clone + 'static> TrackedField for ProcTable<K, V> {
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

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for ProcTable<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("ProcTable");
        self.inner.debug_fields(&mut debug);
        debug.finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::{KeyRepr, WriteAction, WriteEvent};

    #[derive(Debug, Clone, PartialEq)]
    struct Proc {
        parent: u32,
        exit_status: Option<i32>,
    }

    fn table(journal: &Journal) -> ProcTable<u32, Proc> {
        let mut procs = ProcTable::new(journal, "procs");
        procs.insert_global(1, Proc { parent: 0, exit_status: None });
        journal.checkpoint();
        procs
    }

    #[test]
    fn own_writes_are_process_local_and_other_keys_are_global() {
        let journal = Journal::new();
        let mut procs = table(&journal);
        let init = Requester::new(1);
        procs.get_own_mut(&init).unwrap().exit_status = Some(0);
        assert_eq!(procs.worst_written_class(), Some(StateClass::ProcessLocal));
        // A fork: the child's entry is somebody else's.
        procs.insert_global(2, Proc { parent: init.key(), exit_status: None });
        assert_eq!(procs.worst_written_class(), Some(StateClass::Global));
        let classes: Vec<(KeyRepr, StateClass)> =
            procs.dirty_entries().into_iter().map(|entry| (entry.key, entry.class)).collect();
        assert_eq!(classes, vec![(KeyRepr::Uint(1), StateClass::ProcessLocal), (KeyRepr::Uint(2), StateClass::Global)]);
        assert_eq!(procs.declared_class(), StateClass::ProcessLocal);
    }

    #[test]
    fn a_global_accessor_stays_global_even_on_the_requesters_key() {
        let journal = Journal::new();
        let mut procs = table(&journal);
        let classes = Arc::new(Mutex::new(Vec::new()));
        let seen = classes.clone();
        journal.set_observer(Box::new(move |event: &WriteEvent| {
            seen.lock().unwrap().push(event.class);
            WriteAction::Proceed
        }));
        let init = Requester::new(1);
        procs.remove_global(1);
        procs.insert_own(&init, Proc { parent: 0, exit_status: Some(1) });
        journal.take_observer();
        assert_eq!(*classes.lock().unwrap(), vec![StateClass::Global, StateClass::ProcessLocal]);
        assert_eq!(procs.get_own(&init).unwrap().exit_status, Some(1));
    }

    #[test]
    fn rollback_of_a_fork_removes_the_child() {
        let journal = Journal::new();
        let mut procs = table(&journal);
        procs.insert_global(2, Proc { parent: 1, exit_status: None });
        procs.rollback();
        assert!(!procs.contains(2));
        assert_eq!(procs.len(), 1);
        assert_eq!(procs.worst_written_class(), None);
    }
}

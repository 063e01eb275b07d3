//! [`TrackedVec`]: an indexable table (free lists, fixed tables, stacks).
//!
//! Entries are the elements, keyed by index, plus the *length*, a location of its own: `push` and
//! `pop` write it, like the count beside a C array. Growth needs no "did not exist" pre-images:
//! restoring the length truncates what was pushed.
//!
//! SRS: a suspect length is restored (truncating what the faulty request pushed, re-appending what
//! it popped) by any access that depends on the length: `len`, `push`, `pop`, `iter`, and any
//! index at or past the shorter of the two lengths. The length never self-cleanses: no operation
//! stores it without reading it.
//!
//! Invariants: every element suspect has an index below both the current length and the length a
//! suspect length would restore; an element is logged at most once per window (a popped element is
//! logged when popped, a pushed one is stamped on push and never logged).
//!
//! Overflow faults hit index `i + 1` (or `i - 1` at the end); a faulty `push` overwrites the last
//! element instead of appending.

use std::collections::BTreeMap;
use std::fmt;
use std::mem;
use std::panic::Location;

use super::{FieldCore, Slot};
use crate::journal::{CloneEntry, UndoLog, UndoRecord};
use crate::srs::{RestoreCause, Suspect};
use crate::{DirtyEntry, Epoch, Journal, KeyRepr, SrsCounters, StateClass, TrackedField, WriteAction, WriteOp};

/// The pre-image of one entry of a vector.
#[derive(Debug, Clone)]
enum VecEntry<T> {
    /// Element `index` held `value` (it existed at the checkpoint).
    Element { index: usize, value: T },
    /// The length was this.
    Length(usize),
}

/// An element's pre-image is cloned into a spent record's storage (see [`UndoLog::push_clone`]).
impl<'a, T: Clone> CloneEntry<(usize, &'a T)> for VecEntry<T> {
    fn new_from((index, value): (usize, &'a T)) -> Self {
        VecEntry::Element { index, value: value.clone() }
    }

    fn refill(&mut self, (index, value): (usize, &'a T)) {
        match self {
            VecEntry::Element { index: spent_index, value: spent } => {
                *spent_index = index;
                spent.clone_from(value);
            }
            VecEntry::Length(_) => *self = Self::new_from((index, value)),
        }
    }
}

/// A length dirtied by a suppressed request.
#[derive(Debug, Clone)]
struct LengthSuspect<T> {
    /// The length at the checkpoint.
    checkpoint_len: usize,
    /// The elements the faulty request popped, for indices `current_len..checkpoint_len`.
    popped: Vec<T>,
    site: &'static Location<'static>,
    class: StateClass,
}

/// A growable table under the undo log.
pub struct TrackedVec<T> {
    core: FieldCore,
    slots: Vec<Slot<T>>,
    /// Equal to the current epoch iff the length is already logged in this window.
    length_stamp: Epoch,
    log: UndoLog<VecEntry<T>>,
    suspects: BTreeMap<usize, Suspect<T>>,
    length_suspect: Option<LengthSuspect<T>>,
    /// Receives the writes of a `get_mut` whose store the observer skipped.
    scratch: Option<T>,
}

impl<T: Clone + 'static> TrackedVec<T> {
    /// An empty table named `name` of class `class`, on `journal`.
    pub fn new(journal: &Journal, name: &'static str, class: StateClass) -> Self {
        Self::from_vec(journal, name, class, Vec::new())
    }

    /// A table holding `initial` (the state of a fresh incarnation; not logged).
    pub fn from_vec(journal: &Journal, name: &'static str, class: StateClass, initial: Vec<T>) -> Self {
        Self {
            core: FieldCore::new(journal, name, class),
            slots: initial.into_iter().map(Slot::clean).collect(),
            length_stamp: Epoch::NEVER,
            log: UndoLog::new(),
            suspects: BTreeMap::new(),
            length_suspect: None,
            scratch: None,
        }
    }

    /// The number of elements.
    pub fn len(&mut self) -> usize {
        self.restore_length(RestoreCause::Read);
        self.slots.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&mut self) -> bool {
        self.len() == 0
    }

    /// Reads element `index`, `None` past the end.
    pub fn get(&mut self, index: usize) -> Option<&T> {
        self.restore_for_access(index);
        if index >= self.slots.len() {
            return None;
        }
        self.restore_element(index, RestoreCause::Read);
        Some(&self.slots[index].value)
    }

    /// What the current window changed, for a check of only that: each element it wrote, in the
    /// order first written, with its value at the checkpoint and its value now (`None` once
    /// popped). An element pushed in this window had no value at the checkpoint and is not
    /// listed: [`Self::length_written`] says whether the length changed.
    ///
    /// Reads nothing suspect: an element written in this window was restored before the write.
    pub fn window_changes(&self) -> impl Iterator<Item = (usize, &T, Option<&T>)> {
        self.log.window(self.core.epoch()).iter().filter_map(|record| match &record.entry {
            VecEntry::Element { index, value } => Some((*index, value, self.slots.get(*index).map(|s| &s.value))),
            VecEntry::Length(_) => None,
        })
    }

    /// Whether the current window pushed or popped.
    pub fn length_written(&self) -> bool {
        self.length_stamp == self.core.epoch()
    }

    /// Reads every element in order (all suspects are restored first: everything is read).
    pub fn iter(&mut self) -> impl Iterator<Item = &T> {
        self.restore_everything(RestoreCause::Read);
        self.slots.iter().map(|slot| &slot.value)
    }

    /// Stores `value` at `index` without reading the old element. Panics past the end.
    #[track_caller]
    pub fn set(&mut self, index: usize, value: T) {
        let site = Location::caller();
        let epoch = self.core.epoch();
        let class = self.core.declared;
        self.restore_for_access(index);
        let len = self.slots.len();
        assert!(index < len, "`{}`: set at {index} past length {len}", self.core.name);
        let mut value = value;
        let target = match self.observe_element(WriteOp::Store, index, site, epoch) {
            WriteAction::Skip => return,
            WriteAction::Neighbour => self.reachable_neighbour(index),
            WriteAction::Proceed => index,
            WriteAction::Corrupt { bit } => {
                crate::corrupt::corrupt(&mut value, bit);
                index
            }
        };
        self.store_element(target, value, site, class, epoch);
    }

    /// Reads and modifies element `index` in place, `None` past the end.
    #[track_caller]
    pub fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        let site = Location::caller();
        let epoch = self.core.epoch();
        let class = self.core.declared;
        self.restore_for_access(index);
        if index >= self.slots.len() {
            return None;
        }
        self.restore_element(index, RestoreCause::Read);
        let action = self.observe_element(WriteOp::Update, index, site, epoch);
        let target = match action {
            WriteAction::Skip => return Some(self.scratch.insert(self.slots[index].value.clone())),
            WriteAction::Neighbour => self.reachable_neighbour(index),
            WriteAction::Proceed | WriteAction::Corrupt { .. } => index,
        };
        self.restore_element(target, RestoreCause::Read);
        let slot = &mut self.slots[target];
        if slot.stamp != epoch {
            self.log.push_clone(epoch, (target, &slot.value), site, class);
            slot.stamp = epoch;
        }
        self.core.note_write(epoch, class);
        if let WriteAction::Corrupt { bit } = action {
            crate::corrupt::corrupt(&mut self.slots[target].value, bit);
        }
        Some(&mut self.slots[target].value)
    }

    /// Appends `value`.
    #[track_caller]
    pub fn push(&mut self, value: T) {
        let site = Location::caller();
        let epoch = self.core.epoch();
        let class = self.core.declared;
        self.restore_length(RestoreCause::Read);
        let len = self.slots.len();
        let pending = self.core.pending::<T>(WriteOp::Push, class, site, epoch);
        let first = self.length_stamp != epoch;
        let last = len.checked_sub(1);
        let action = self
            .core
            .journal
            .observe(|| pending.event(KeyRepr::Uint(len as u64), first, last.map(|i| KeyRepr::Uint(i as u64))));
        let mut value = value;
        match (action, last) {
            (WriteAction::Skip, _) => return,
            (WriteAction::Corrupt { bit }, _) => {
                crate::corrupt::corrupt(&mut value, bit);
            }
            (WriteAction::Neighbour, Some(last)) => {
                self.store_element(last, value, site, class, epoch);
                return;
            }
            (WriteAction::Neighbour | WriteAction::Proceed, _) => {}
        }
        self.log_length(epoch, site, class);
        self.slots.push(Slot { value, stamp: epoch });
        self.core.note_write(epoch, class);
    }

    /// Removes and returns the last element, `None` when empty.
    #[track_caller]
    pub fn pop(&mut self) -> Option<T> {
        let site = Location::caller();
        let epoch = self.core.epoch();
        let class = self.core.declared;
        self.restore_length(RestoreCause::Read);
        let index = self.slots.len().checked_sub(1)?;
        self.restore_element(index, RestoreCause::Read);
        let pending = self.core.pending::<T>(WriteOp::Pop, class, site, epoch);
        let first = self.length_stamp != epoch;
        let action = self.core.journal.observe(|| pending.event(KeyRepr::Uint(index as u64), first, None));
        if action == WriteAction::Skip {
            return Some(self.slots[index].value.clone());
        }
        self.log_length(epoch, site, class);
        let slot = self.slots.pop().expect("length checked above");
        if slot.stamp != epoch {
            self.log.push_clone(epoch, (index, &slot.value), site, class);
        }
        self.core.note_write(epoch, class);
        Some(slot.value)
    }

    fn observe_element(
        &self,
        op: WriteOp,
        index: usize,
        site: &'static Location<'static>,
        epoch: Epoch,
    ) -> WriteAction {
        let pending = self.core.pending::<T>(op, self.core.declared, site, epoch);
        let first = self.slots[index].stamp != epoch;
        self.core.journal.observe(|| {
            let neighbour = self.neighbour_of(index).map(|i| KeyRepr::Uint(i as u64));
            pending.event(KeyRepr::Uint(index as u64), first, neighbour)
        })
    }

    /// The element an overflow at `index` hits: the next one, or the previous one at the end.
    fn neighbour_of(&self, index: usize) -> Option<usize> {
        if index + 1 < self.slots.len() { Some(index + 1) } else { index.checked_sub(1) }
    }

    /// The neighbour of reachable element `index`, with a suspect length restored first if the
    /// neighbour lies in its range; `index` itself when no neighbour is left.
    fn reachable_neighbour(&mut self, index: usize) -> usize {
        let Some(neighbour) = self.neighbour_of(index) else { return index };
        self.restore_for_access(neighbour);
        if neighbour < self.slots.len() { neighbour } else { index }
    }

    /// A store to an existing element: cleanses its suspect, logs the visible pre-image once.
    fn store_element(
        &mut self,
        index: usize,
        value: T,
        site: &'static Location<'static>,
        class: StateClass,
        epoch: Epoch,
    ) {
        let cleansed = self.suspects.remove(&index).map(|suspect| suspect.pre_image);
        let was_suspect = cleansed.is_some();
        if was_suspect {
            self.core.srs.self_cleansed += 1;
        }
        let slot = &mut self.slots[index];
        let old = mem::replace(&mut slot.value, value);
        if slot.stamp != epoch {
            slot.stamp = epoch;
            // The visible pre-image: a suspect's value was never visible.
            let entry = VecEntry::Element { index, value: cleansed.unwrap_or(old) };
            self.log.push(epoch, UndoRecord { entry, site, class });
        } else {
            assert!(!was_suspect, "`{}`: suspect {index} logged in this window", self.core.name);
        }
        self.core.note_write(epoch, class);
    }

    fn log_length(&mut self, epoch: Epoch, site: &'static Location<'static>, class: StateClass) {
        if self.length_stamp != epoch {
            self.length_stamp = epoch;
            self.log.push(epoch, UndoRecord { entry: VecEntry::Length(self.slots.len()), site, class });
        }
    }

    /// Restores a suspect length if reaching `index` depends on it.
    fn restore_for_access(&mut self, index: usize) {
        if let Some(suspect) = &self.length_suspect
            && index >= self.slots.len().min(suspect.checkpoint_len)
        {
            self.restore_length(RestoreCause::Read);
        }
    }

    fn restore_length(&mut self, cause: RestoreCause) {
        let Some(suspect) = self.length_suspect.take() else { return };
        let current_len = self.slots.len();
        assert_ne!(self.length_stamp, self.core.epoch(), "`{}`: suspect length logged", self.core.name);
        assert_eq!(suspect.popped.len(), suspect.checkpoint_len.saturating_sub(current_len));
        self.slots.truncate(suspect.checkpoint_len);
        self.slots.extend(suspect.popped.into_iter().map(Slot::clean));
        assert_eq!(self.slots.len(), suspect.checkpoint_len);
        // The length and every element it made appear or disappear.
        let entries = 1 + current_len.abs_diff(suspect.checkpoint_len);
        self.core.srs.count_restored(cause, entries as u64);
    }

    /// Restores element `index` if it is a suspect. Inlined: every access calls it, and almost
    /// always there is no suspect at all.
    #[inline]
    fn restore_element(&mut self, index: usize, cause: RestoreCause) {
        if self.suspects.is_empty() {
            return;
        }
        if let Some(suspect) = self.suspects.remove(&index) {
            self.put_back_element(index, suspect, cause);
        }
    }

    fn restore_everything(&mut self, cause: RestoreCause) {
        self.restore_length(cause);
        if self.suspects.is_empty() {
            // The common case, on every iteration: no map to take apart.
            return;
        }
        for (index, suspect) in mem::take(&mut self.suspects) {
            self.put_back_element(index, suspect, cause);
        }
    }

    fn put_back_element(&mut self, index: usize, suspect: Suspect<T>, cause: RestoreCause) {
        let slot = &mut self.slots[index];
        assert_ne!(slot.stamp, self.core.epoch(), "`{}`: suspect {index} logged in this window", self.core.name);
        slot.value = suspect.pre_image;
        self.core.srs.count_restored(cause, 1);
    }

    /// The length at the checkpoint and the pre-images of elements, from this window's records.
    fn split_window(
        records: Vec<UndoRecord<VecEntry<T>>>,
        current_len: usize,
    ) -> (usize, Option<UndoRecord<()>>, BTreeMap<usize, UndoRecord<T>>) {
        let mut checkpoint_len = current_len;
        let mut length_record = None;
        let mut elements = BTreeMap::new();
        for UndoRecord { entry, site, class } in records {
            match entry {
                VecEntry::Length(len) => {
                    assert!(length_record.is_none(), "length logged twice in one window");
                    checkpoint_len = len;
                    length_record = Some(UndoRecord { entry: (), site, class });
                }
                VecEntry::Element { index, value } => {
                    let twice = elements.insert(index, UndoRecord { entry: value, site, class });
                    assert!(twice.is_none(), "element {index} logged twice in one window");
                }
            }
        }
        (checkpoint_len, length_record, elements)
    }
}

impl<T: Clone + 'static> TrackedField for TrackedVec<T> {
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
        let (checkpoint_len, _, elements) = Self::split_window(records, self.slots.len());
        // Drop what was pushed; rewrite what was changed; re-append what was popped, in order.
        self.slots.truncate(checkpoint_len.min(self.slots.len()));
        for (index, record) in elements {
            assert!(index < checkpoint_len, "`{}`: element {index} logged past the checkpoint length", self.core.name);
            if index < self.slots.len() {
                self.slots[index] = Slot::clean(record.entry);
            } else {
                assert_eq!(index, self.slots.len(), "`{}`: popped elements not contiguous", self.core.name);
                self.slots.push(Slot::clean(record.entry));
            }
        }
        assert_eq!(self.slots.len(), checkpoint_len, "`{}`: popped element missing from the log", self.core.name);
        self.length_stamp = Epoch::NEVER;
        self.core.forget_window_writes();
    }

    fn suppress(&mut self) {
        let records = self.log.take_window(self.core.epoch());
        let current_len = self.slots.len();
        let (checkpoint_len, length_record, elements) = Self::split_window(records, current_len);
        let shared_prefix = current_len.min(checkpoint_len);
        let mut popped = Vec::new();
        for (index, record) in elements {
            let suspect = Suspect { pre_image: record.entry, site: record.site, class: record.class };
            if index < shared_prefix {
                self.slots[index].stamp = Epoch::NEVER;
                let twice = self.suspects.insert(index, suspect);
                assert!(twice.is_none(), "`{}`: element {index} dirtied while suspect", self.core.name);
                self.core.srs.suspects_created += 1;
            } else {
                assert_eq!(index, current_len + popped.len(), "`{}`: popped elements not contiguous", self.core.name);
                popped.push(suspect.pre_image);
            }
        }
        if let Some(record) = length_record.filter(|_| checkpoint_len != current_len) {
            assert!(self.length_suspect.is_none(), "`{}`: length dirtied while suspect", self.core.name);
            for slot in &mut self.slots[shared_prefix..] {
                slot.stamp = Epoch::NEVER;
            }
            self.length_suspect =
                Some(LengthSuspect { checkpoint_len, popped, site: record.site, class: record.class });
            self.core.srs.suspects_created += 1 + current_len.abs_diff(checkpoint_len) as u64;
        } else {
            assert!(popped.is_empty(), "`{}`: elements popped without a length change", self.core.name);
        }
        self.length_stamp = Epoch::NEVER;
        self.core.forget_window_writes();
    }

    fn restore_all_suspects(&mut self) {
        self.restore_everything(RestoreCause::Eager);
    }

    fn suspect_count(&self) -> usize {
        let length =
            self.length_suspect.as_ref().map_or(0, |suspect| 1 + self.slots.len().abs_diff(suspect.checkpoint_len));
        self.suspects.len() + length
    }

    fn suspects(&self) -> Vec<DirtyEntry> {
        let length = self.length_suspect.iter().map(|suspect| (KeyRepr::Length, suspect.site, suspect.class));
        let elements =
            self.suspects.iter().map(|(index, suspect)| (KeyRepr::Uint(*index as u64), suspect.site, suspect.class));
        length
            .chain(elements)
            .map(|(key, site, class)| DirtyEntry { field: self.core.name, key, class, site })
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
                key: match record.entry {
                    VecEntry::Element { index, .. } => KeyRepr::Uint(index as u64),
                    VecEntry::Length(_) => KeyRepr::Length,
                },
                class: record.class,
                site: record.site,
            })
            .collect()
    }

    fn worst_written_class(&self) -> Option<StateClass> {
        self.core.worst_written_class()
    }
}

impl<T: fmt::Debug> fmt::Debug for TrackedVec<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrackedVec")
            .field("name", &self.core.name)
            .field("class", &self.core.declared)
            .field("elements", &self.slots.iter().map(|slot| &slot.value).collect::<Vec<_>>())
            .field("suspect_elements", &self.suspects.len())
            .field("suspect_length", &self.length_suspect.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WriteEvent;

    fn table(journal: &Journal, initial: &[u32]) -> TrackedVec<u32> {
        TrackedVec::from_vec(journal, "frames", StateClass::Global, initial.to_vec())
    }

    fn contents(vec: &mut TrackedVec<u32>) -> Vec<u32> {
        vec.iter().copied().collect()
    }

    #[test]
    fn a_window_lists_what_it_changed_with_the_values_at_its_checkpoint() {
        let journal = Journal::new();
        let mut vec = table(&journal, &[1, 2, 3]);
        vec.set(0, 5);
        journal.checkpoint();
        assert_eq!(vec.window_changes().count(), 0);
        assert!(!vec.length_written());
        vec.set(2, 30);
        *vec.get_mut(2).unwrap() += 1;
        assert_eq!(vec.pop(), Some(31));
        *vec.get_mut(0).unwrap() += 1;
        vec.push(40);
        let changes: Vec<(usize, u32, Option<u32>)> =
            vec.window_changes().map(|(i, before, now)| (i, *before, now.copied())).collect();
        // Element 2 was written, then popped (40 was pushed at its index): listed once, with its
        // value at the checkpoint.
        assert_eq!(changes, vec![(2, 3, Some(40)), (0, 5, Some(6))]);
        assert!(vec.length_written());
        journal.checkpoint();
        assert_eq!(vec.window_changes().count(), 0);
        assert!(!vec.length_written());
    }

    #[test]
    fn rollback_undoes_sets_pushes_and_pops() {
        let journal = Journal::new();
        let mut vec = table(&journal, &[1, 2, 3]);
        journal.checkpoint();
        vec.set(0, 10);
        assert_eq!(vec.pop(), Some(3));
        assert_eq!(vec.pop(), Some(2));
        vec.push(20);
        vec.push(21);
        vec.push(22);
        *vec.get_mut(1).unwrap() += 1;
        assert_eq!(contents(&mut vec), vec![10, 21, 21, 22]);
        vec.rollback();
        assert_eq!(contents(&mut vec), vec![1, 2, 3]);
    }

    #[test]
    fn each_entry_is_logged_once_per_window() {
        let journal = Journal::new();
        let mut vec = table(&journal, &[1, 2]);
        journal.checkpoint();
        vec.set(0, 5);
        vec.set(0, 6);
        vec.push(7);
        vec.push(8);
        vec.set(2, 9);
        let keys: Vec<KeyRepr> = vec.dirty_entries().into_iter().map(|entry| entry.key).collect();
        // Pushed elements did not exist at the checkpoint: the length covers them.
        assert_eq!(keys, vec![KeyRepr::Uint(0), KeyRepr::Length]);
    }

    #[test]
    fn overflow_fault_hits_the_next_element_and_push_overwrites_the_last() {
        let journal = Journal::new();
        let mut vec = table(&journal, &[1, 2, 3]);
        journal.set_observer(Box::new(|_: &WriteEvent| WriteAction::Neighbour));
        vec.set(0, 10);
        vec.set(2, 30);
        vec.push(40);
        *vec.get_mut(1).unwrap() = 50;
        journal.take_observer();
        // set(0) hit 1; set(2) hit 1 (no element after 2); push overwrote 2; get_mut(1) hit 2.
        assert_eq!(contents(&mut vec), vec![1, 30, 50]);
    }

    #[test]
    fn suppressed_pushes_and_pops_are_restored_with_the_length() {
        let journal = Journal::new();
        let mut grown = table(&journal, &[1, 2]);
        let mut shrunk = TrackedVec::from_vec(&journal, "free", StateClass::Global, vec![1, 2, 3]);
        journal.checkpoint();
        grown.push(3);
        grown.push(4);
        shrunk.pop();
        shrunk.pop();
        grown.suppress();
        shrunk.suppress();
        journal.checkpoint();
        assert_eq!(grown.suspect_count(), 3, "the length and two pushed elements");
        // Index 0 lies below both lengths: reading it leaves the length suspect.
        assert_eq!(grown.get(0), Some(&1));
        assert_eq!(grown.suspect_count(), 3);
        assert_eq!(grown.get(2), None);
        assert_eq!(grown.suspect_count(), 0);
        assert_eq!(shrunk.len(), 3);
        assert_eq!(contents(&mut shrunk), vec![1, 2, 3]);
        assert_eq!(grown.srs_counters().restored_on_read, 3);
        assert_eq!(shrunk.srs_counters().restored_on_read, 3);
    }

    #[test]
    fn suppressed_element_writes_restore_on_read_and_cleanse_on_store() {
        let journal = Journal::new();
        let mut vec = table(&journal, &[1, 2, 3]);
        journal.checkpoint();
        vec.set(0, 100);
        vec.set(1, 200);
        vec.set(2, 300);
        vec.suppress();
        journal.checkpoint();
        assert_eq!(vec.get(0), Some(&1));
        vec.set(1, 20);
        *vec.get_mut(2).unwrap() += 1;
        assert_eq!(contents(&mut vec), vec![1, 20, 4]);
        let counters = vec.srs_counters();
        assert_eq!((counters.suspects_created, counters.restored_on_read, counters.self_cleansed), (3, 2, 1));
    }
}

//! The journal one server's state shares: the epoch of the current recovery window, the optional
//! write observer, and the undo-log record type every container keeps its pre-images in.
//!
//! Duties and invariants:
//! - [`Journal::checkpoint`] opens a new window in O(1): it bumps the epoch and nothing else. Every
//!   tracked entry carries the epoch of its last logged write (its *stamp*); a stamp older than the
//!   current epoch means "not yet written in this window", so all entries become clean at once.
//! - The undo log is partitioned per field: each container keeps the records of its own entries
//!   (typed pre-images, no type erasure). Fields are disjoint, so replaying each field's records
//!   backwards is the same as replaying one global log backwards. A field's records of an older
//!   window are dropped lazily, at its first write in a newer window; their number is bounded by
//!   that older window's writes, so the cost is paid by the writes that made them.
//! - An entry is logged at most once per window: the first write saves the pre-image; later writes
//!   to the same entry in the same window log nothing.
//! - The journal is `Send + Sync` (atomics and a mutex), so a whole server state can be handed from
//!   a crashed incarnation's thread to another in the threaded engine.

use std::fmt;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use crate::observer::{WriteAction, WriteEvent, WriteObserver};
use crate::{KeyRepr, StateClass, WriteOp};

/// The number of a recovery window. Each checkpoint opens the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Epoch(pub(crate) u64);

impl Epoch {
    /// The stamp of an entry never written in any window (and of one reset by rollback or
    /// suppression). No window has this number.
    pub(crate) const NEVER: Epoch = Epoch(0);
    /// The window a fresh journal is in before its first checkpoint.
    const FIRST: Epoch = Epoch(1);

    /// The window number.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A shared handle on one server state's journal. Clones refer to the same journal.
#[derive(Clone)]
pub struct Journal {
    shared: Arc<Shared>,
}

struct Shared {
    epoch: AtomicU64,
    /// Mirrors `observer.is_some()` so that an unobserved write costs one load and one branch.
    observer_installed: AtomicBool,
    observer: Mutex<Option<Box<dyn WriteObserver>>>,
    /// Whether any tracked entry was written since the last checkpoint: a server's loop-top
    /// self-check runs only after a request that changed its state (a read-only request cannot
    /// break an invariant).
    written: AtomicBool,
}

impl Journal {
    /// A new journal in its first window, with no observer.
    pub fn new() -> Self {
        Self {
            shared: Arc::new(Shared {
                epoch: AtomicU64::new(Epoch::FIRST.0),
                observer_installed: AtomicBool::new(false),
                observer: Mutex::new(None),
                written: AtomicBool::new(false),
            }),
        }
    }

    /// The current window.
    pub fn epoch(&self) -> Epoch {
        Epoch(self.shared.epoch.load(Ordering::Relaxed))
    }

    /// Opens a new recovery window and returns its epoch. O(1): touches no entry and no log.
    ///
    /// Suspects left by an earlier [`crate::TrackedState::suppress`] stay suspect.
    ///
    /// Only the thread that owns the state (its server's task loop) opens windows, so a plain load
    /// and store suffice: a locked read-modify-write would cost every request a full fence (about
    /// 1% of a file-system call).
    pub fn checkpoint(&self) -> Epoch {
        let previous = self.shared.epoch.load(Ordering::Relaxed);
        assert!(previous < u64::MAX, "epoch counter exhausted");
        self.shared.epoch.store(previous + 1, Ordering::Relaxed);
        self.shared.written.store(false, Ordering::Relaxed);
        Epoch(previous + 1)
    }

    /// Whether any tracked entry was written (or a write attempted) since the last checkpoint.
    pub fn written(&self) -> bool {
        self.shared.written.load(Ordering::Relaxed)
    }

    /// Whether `other` is a handle on this same journal.
    pub fn same_as(&self, other: &Journal) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Installs `observer` for every later write, returning the one it replaces.
    pub fn set_observer(&self, observer: Box<dyn WriteObserver>) -> Option<Box<dyn WriteObserver>> {
        let mut slot = self.observer_slot();
        let previous = slot.replace(observer);
        self.shared.observer_installed.store(true, Ordering::Relaxed);
        previous
    }

    /// Removes and returns the observer; writes go back to costing one branch.
    pub fn take_observer(&self) -> Option<Box<dyn WriteObserver>> {
        let mut slot = self.observer_slot();
        self.shared.observer_installed.store(false, Ordering::Relaxed);
        slot.take()
    }

    /// Whether an observer is installed.
    pub fn has_observer(&self) -> bool {
        self.shared.observer_installed.load(Ordering::Relaxed)
    }

    /// Asks the observer, if any, what to do with a write. The event is only built when an
    /// observer is installed.
    #[inline]
    pub(crate) fn observe(&self, event: impl FnOnce() -> WriteEvent) -> WriteAction {
        self.shared.written.store(true, Ordering::Relaxed);
        if !self.has_observer() {
            return WriteAction::Proceed;
        }
        self.observe_slow(event())
    }

    #[cold]
    fn observe_slow(&self, event: WriteEvent) -> WriteAction {
        match self.observer_slot().as_mut() {
            Some(observer) => observer.on_write(&event),
            None => WriteAction::Proceed,
        }
    }

    /// The observer slot. A poisoned lock only means an observer panicked on purpose (an injected
    /// crash) while running; the slot itself is still valid.
    fn observer_slot(&self) -> MutexGuard<'_, Option<Box<dyn WriteObserver>>> {
        self.shared.observer.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Default for Journal {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Journal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Journal").field("epoch", &self.epoch()).field("observer", &self.has_observer()).finish()
    }
}

/// The description of a write the observer needs, before the container knows the action.
pub(crate) struct PendingWrite {
    pub corruptible: bool,
    pub field: &'static str,
    pub class: StateClass,
    pub op: WriteOp,
    pub site: &'static Location<'static>,
    pub epoch: Epoch,
}

impl PendingWrite {
    pub(crate) fn event(&self, key: KeyRepr, first_in_window: bool, neighbour: Option<KeyRepr>) -> WriteEvent {
        WriteEvent {
            field: self.field,
            key,
            class: self.class,
            op: self.op,
            site: self.site,
            epoch: self.epoch,
            first_in_window,
            neighbour,
            corruptible: self.corruptible,
        }
    }
}

/// One pre-image: the entry `entry` of a container as it was at the checkpoint, and the first write
/// of the window that changed it.
#[derive(Debug, Clone)]
pub(crate) struct UndoRecord<E> {
    pub entry: E,
    pub site: &'static Location<'static>,
    pub class: StateClass,
}

/// Spent records a log keeps for their storage (see [`UndoLog`]): more than the entries one request
/// writes in one field on the syscall paths (at most 8), few enough that a window that wrote
/// thousands of entries (the boot's file system) does not keep them all.
const SPARE_RECORDS: usize = 16;

/// A log entry made from a borrowed pre-image. `refill` rewrites a spent entry in place, so that
/// the pre-image's buffers are copied into the spent entry's allocations (`Clone::clone_from`)
/// instead of new ones.
pub(crate) trait CloneEntry<Source> {
    /// A new entry holding a clone of `source`.
    fn new_from(source: Source) -> Self;
    /// Makes this (spent) entry hold a clone of `source`, reusing its storage where it can.
    fn refill(&mut self, source: Source);
}

/// A cell's entry is its value.
impl<'a, T: Clone> CloneEntry<&'a T> for T {
    fn new_from(source: &'a T) -> T {
        source.clone()
    }

    fn refill(&mut self, source: &'a T) {
        self.clone_from(source);
    }
}

/// The undo records of one field for one window.
///
/// The records of an older window are not dropped when the next window begins: they stay behind
/// the live ones as spent records (up to [`SPARE_RECORDS`]), and [`UndoLog::push_clone`] clones the
/// next pre-images into them. Logging a 1 KiB block, a descriptor table or a pipe's buffer then
/// costs a copy, not an allocation and a free, on every request.
#[derive(Debug, Clone)]
pub(crate) struct UndoLog<E> {
    /// The window the live records belong to.
    epoch: Epoch,
    /// The live records, oldest first, then the spent ones.
    records: Vec<UndoRecord<E>>,
    /// How many records are live.
    live: usize,
}

impl<E> UndoLog<E> {
    pub(crate) fn new() -> Self {
        Self { epoch: Epoch::NEVER, records: Vec::new(), live: 0 }
    }

    /// Whether the log holds (possibly zero) records of window `epoch`, i.e. side tables that
    /// describe this log are valid for that window.
    pub(crate) fn is_window(&self, epoch: Epoch) -> bool {
        self.epoch == epoch
    }

    /// Moves the log to window `epoch`; the records of an older window become spent. Returns
    /// true when it did, so that the caller resets its own per-window side tables.
    #[inline]
    fn enter(&mut self, epoch: Epoch) -> bool {
        let stale = self.epoch != epoch;
        if stale {
            assert!(self.epoch < epoch, "undo log from a future window");
            self.records.truncate(SPARE_RECORDS);
            self.live = 0;
            self.epoch = epoch;
        }
        stale
    }

    /// Appends a record for window `epoch`, taking ownership of its pre-image (a value the write
    /// replaced). Returns true when this ended an older window (see [`Self::enter`]).
    pub(crate) fn push(&mut self, epoch: Epoch, record: UndoRecord<E>) -> bool {
        let stale = self.enter(epoch);
        match self.records.get_mut(self.live) {
            Some(spent) => *spent = record,
            None => self.records.push(record),
        }
        self.live += 1;
        stale
    }

    /// Appends a record for window `epoch` holding a clone of `source`, made in a spent record's
    /// storage when there is one. Returns true when this ended an older window.
    #[inline]
    pub(crate) fn push_clone<S>(
        &mut self,
        epoch: Epoch,
        source: S,
        site: &'static Location<'static>,
        class: StateClass,
    ) -> bool
    where
        E: CloneEntry<S>,
    {
        let stale = self.enter(epoch);
        match self.records.get_mut(self.live) {
            Some(spent) => {
                spent.entry.refill(source);
                spent.site = site;
                spent.class = class;
            }
            None => self.records.push(UndoRecord { entry: E::new_from(source), site, class }),
        }
        self.live += 1;
        stale
    }

    /// The records of window `epoch` (none when the log is of another window).
    pub(crate) fn window(&self, epoch: Epoch) -> &[UndoRecord<E>] {
        if self.epoch == epoch { &self.records[..self.live] } else { &[] }
    }

    /// Removes and returns the records of window `epoch`, oldest first; the log stays on `epoch`
    /// and empty (spent records are dropped: this is rollback's and suppression's path, not the
    /// request's).
    pub(crate) fn take_window(&mut self, epoch: Epoch) -> Vec<UndoRecord<E>> {
        let mut records = std::mem::take(&mut self.records);
        records.truncate(if self.epoch == epoch { self.live } else { 0 });
        self.live = 0;
        self.epoch = epoch;
        records
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_opens_the_next_window_for_every_handle() {
        let journal = Journal::new();
        let other_handle = journal.clone();
        let first = journal.epoch();
        assert_ne!(first, Epoch::NEVER);
        let second = other_handle.checkpoint();
        assert_eq!(second.get(), first.get() + 1);
        assert_eq!(journal.epoch(), second);
        assert!(journal.same_as(&other_handle));
        assert!(!journal.same_as(&Journal::new()));
    }

    #[test]
    fn a_window_is_written_from_its_first_write_even_a_skipped_one() {
        let journal = Journal::new();
        let mut cell = crate::TrackedCell::new(&journal, "test.cell", StateClass::Global, 0u32);
        journal.checkpoint();
        assert!(!journal.written(), "a new window starts clean");
        let _ = *cell.get();
        assert!(!journal.written(), "a read is not a write");
        cell.set(1);
        assert!(journal.written());
        journal.checkpoint();
        assert!(!journal.written());
        // A fault that skips the write still leaves the state to be checked.
        journal.set_observer(Box::new(|_: &WriteEvent| WriteAction::Skip));
        cell.set(2);
        assert_eq!(*cell.get(), 1);
        assert!(journal.written());
    }

    #[test]
    fn observer_can_be_installed_replaced_and_removed() {
        let journal = Journal::new();
        assert!(!journal.has_observer());
        let skip_all = |_: &WriteEvent| WriteAction::Skip;
        assert!(journal.set_observer(Box::new(skip_all)).is_none());
        assert!(journal.has_observer());
        assert!(journal.set_observer(Box::new(skip_all)).is_some());
        assert!(journal.take_observer().is_some());
        assert!(!journal.has_observer());
        assert!(journal.take_observer().is_none());
    }

    #[test]
    fn undo_log_drops_records_of_an_older_window_at_the_first_new_push() {
        let site = Location::caller();
        let record = |entry| UndoRecord { entry, site, class: StateClass::Global };
        let mut log = UndoLog::new();
        assert!(log.push(Epoch(1), record(10)));
        assert!(!log.push(Epoch(1), record(11)));
        assert_eq!(log.window(Epoch(1)).len(), 2);
        assert!(log.window(Epoch(2)).is_empty());
        assert!(log.push(Epoch(2), record(20)));
        let taken: Vec<i32> = log.take_window(Epoch(2)).into_iter().map(|r| r.entry).collect();
        assert_eq!(taken, vec![20]);
        assert!(log.window(Epoch(2)).is_empty());
        assert!(log.is_window(Epoch(2)));
    }

    #[test]
    fn a_pre_image_is_cloned_into_a_spent_record_of_an_older_window() {
        let site = Location::caller();
        let mut log: UndoLog<Vec<u8>> = UndoLog::new();
        log.push_clone(Epoch(1), &vec![1u8; 1024], site, StateClass::Global);
        let buffer = log.window(Epoch(1))[0].entry.as_ptr();
        assert!(log.push_clone(Epoch(2), &vec![2u8; 1024], site, StateClass::ProcessLocal));
        let records = log.window(Epoch(2));
        assert_eq!(records.len(), 1, "the spent record is not part of the new window");
        assert_eq!((records[0].entry.as_slice(), records[0].class), (&[2u8; 1024][..], StateClass::ProcessLocal));
        assert_eq!(records[0].entry.as_ptr(), buffer, "the spent record's buffer was reused");
        // A window of many writes keeps only SPARE_RECORDS of them once it is over.
        for i in 0..3 * SPARE_RECORDS {
            log.push(Epoch(3), UndoRecord { entry: vec![i as u8], site, class: StateClass::Global });
        }
        assert_eq!(log.window(Epoch(3)).len(), 3 * SPARE_RECORDS);
        log.push(Epoch(4), UndoRecord { entry: Vec::new(), site, class: StateClass::Global });
        assert_eq!(log.records.len(), SPARE_RECORDS);
        assert_eq!(log.take_window(Epoch(4)).len(), 1);
        assert!(log.records.is_empty());
    }
}

//! The tracked containers server code keeps all of its mutable state in.
//!
//! Common contract of every container:
//! - It is created on a [`Journal`] with a declared name and [`StateClass`].
//! - Every mutating method is `#[track_caller]`: the caller's source line is the write's site.
//! - Before the write, the journal's observer (if any) sees a [`crate::WriteEvent`] and may skip
//!   or redirect it; without an observer this costs one branch.
//! - The first write to an entry in the current window logs the entry's visible pre-image
//!   (including "did not exist"); later writes to it in the same window log nothing.
//! - Reads go through the container (they take `&mut self`) because a read of an SRS suspect
//!   restores its pre-image first; see [`crate::srs`].
//! - Values must be `Clone` for pre-images.

mod cell;
mod map;
mod map_core;
mod proc_table;
mod vec;

pub use cell::TrackedCell;
pub use map::TrackedMap;
pub use proc_table::{ProcTable, Requester};
pub use vec::TrackedVec;

use std::panic::Location;

use crate::journal::PendingWrite;
use crate::{Epoch, Journal, SrsCounters, StateClass, WriteOp};

/// One value with the epoch of the window that last logged it.
#[derive(Debug, Clone)]
struct Slot<T> {
    value: T,
    /// Equal to the current epoch iff the entry's pre-image is already in this window's log.
    stamp: Epoch,
}

impl<T> Slot<T> {
    /// A value not written in the current window.
    fn clean(value: T) -> Self {
        Self { value, stamp: Epoch::NEVER }
    }
}

/// What every container has besides its entries: identity, journal, SRS counters, and the worst
/// class written in the current window.
#[derive(Debug, Clone)]
struct FieldCore {
    journal: Journal,
    name: &'static str,
    declared: StateClass,
    srs: SrsCounters,
    /// The window `worst_written.1` refers to.
    worst_written: (Epoch, Option<StateClass>),
}

impl FieldCore {
    fn new(journal: &Journal, name: &'static str, declared: StateClass) -> Self {
        Self {
            journal: journal.clone(),
            name,
            declared,
            srs: SrsCounters::default(),
            worst_written: (Epoch::NEVER, None),
        }
    }

    fn epoch(&self) -> Epoch {
        self.journal.epoch()
    }

    /// The write about to happen to a value of type `T`, as the observer will be told of it.
    fn pending<T: 'static>(
        &self,
        op: WriteOp,
        class: StateClass,
        site: &'static Location<'static>,
        epoch: Epoch,
    ) -> PendingWrite {
        PendingWrite { corruptible: crate::corrupt::corruptible::<T>(), field: self.name, class, op, site, epoch }
    }

    /// Notes that a write of `class` happened in window `epoch`.
    fn note_write(&mut self, epoch: Epoch, class: StateClass) {
        let (window, worst) = &mut self.worst_written;
        if *window != epoch {
            *window = epoch;
            *worst = None;
        }
        *worst = (*worst).max(Some(class));
    }

    fn worst_written_class(&self) -> Option<StateClass> {
        let (window, worst) = self.worst_written;
        if window == self.epoch() { worst } else { None }
    }

    /// The current window's writes were undone or turned into suspects.
    fn forget_window_writes(&mut self) {
        self.worst_written = (Epoch::NEVER, None);
    }
}

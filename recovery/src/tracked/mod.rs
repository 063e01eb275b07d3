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
//! - Values must be `Clone` for pre-images. A pre-image is cloned into a spent record of an older
//!   window with `Clone::clone_from`, which a value holding buffers should implement to reuse
//!   them ([`clone_fields!`](crate::clone_fields) does, for a struct); `derive(Clone)` drops them
//!   and allocates new ones.

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

/// Implements `Clone` for a struct field by field, with a `clone_from` that clones each field into
/// the old one, so that the undo log, cloning a pre-image into a spent record's value, reuses its
/// vectors instead of freeing them and allocating new ones (`derive(Clone)` does the latter).
///
/// Every field must be listed: the struct is destructured without `..`, so a field added later
/// and forgotten here is a compile error, not a field silently left out of a pre-image.
///
/// ```
/// struct Region {
///     start: u64,
///     frames: Vec<u32>,
/// }
/// recovery::clone_fields!(Region { start, frames });
///
/// let mut spent = Region { start: 0, frames: Vec::with_capacity(8) };
/// let buffer = spent.frames.as_ptr();
/// spent.clone_from(&Region { start: 4096, frames: vec![7, 8] });
/// assert_eq!((spent.start, spent.frames.as_slice()), (4096, &[7, 8][..]));
/// assert_eq!(spent.frames.as_ptr(), buffer, "the spent vector was reused");
/// ```
#[macro_export]
macro_rules! clone_fields {
    ($ty:ident { $($field:ident),+ $(,)? }) => {
        impl ::std::clone::Clone for $ty {
            fn clone(&self) -> Self {
                let $ty { $($field),+ } = self;
                $ty { $($field: ::std::clone::Clone::clone($field)),+ }
            }

            fn clone_from(&mut self, source: &Self) {
                let $ty { $($field),+ } = source;
                $( ::std::clone::Clone::clone_from(&mut self.$field, $field); )+
            }
        }
    };
}

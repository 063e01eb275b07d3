//! How a server's state struct exposes its tracked fields, so that checkpoint, rollback and
//! suppression apply to all of them at once.
//!
//! A state struct holds one [`Journal`] and tracked containers created on it, and lists them with
//! [`tracked_state!`](crate::tracked_state) (or a hand-written [`TrackedState`] impl). Every
//! whole-state operation is a provided method of [`TrackedState`].
//!
//! Invariants checked on every rollback and suppression: every listed field was created on the
//! state's journal (a field on another journal would silently miss checkpoints), and field names
//! are unique (reports and write events identify fields by name). A field left out of the list is
//! not detectable here: keep the list next to the struct.

use std::collections::BTreeSet;
use std::panic::Location;

use crate::{Journal, KeyRepr, SrsReport, StateClass, Window};

/// An entry written in the current window (or left suspect by a suppressed one), with the first
/// write that dirtied it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirtyEntry {
    /// The field's declared name.
    pub field: &'static str,
    /// The entry.
    pub key: KeyRepr,
    /// The effective class of the first write to it.
    pub class: StateClass,
    /// The source line of that write.
    pub site: &'static Location<'static>,
}

/// One tracked container seen as a whole: what a state-wide operation needs from it.
pub trait TrackedField {
    /// The declared name of the field.
    fn name(&self) -> &'static str;
    /// The declared class of the field.
    fn declared_class(&self) -> StateClass;
    /// The journal the field was created on.
    fn journal(&self) -> &Journal;
    /// Undoes every write of the current window. The window stays open, clean, at the checkpoint.
    fn rollback(&mut self);
    /// Turns every entry the current window dirtied into a suspect (see [`crate::srs`]) and
    /// empties the window's log.
    fn suppress(&mut self);
    /// Restores every suspect now.
    fn restore_all_suspects(&mut self);
    /// The number of suspect entries not yet resolved.
    fn suspect_count(&self) -> usize;
    /// The suspects not yet resolved, each with the faulty write that dirtied it. A vector's
    /// suspect length is one line standing for the elements its restore adds or removes.
    fn suspects(&self) -> Vec<DirtyEntry>;
    /// What happened to this field's suspects so far.
    fn srs_counters(&self) -> crate::SrsCounters;
    /// The entries written in the current window, in the order they were first written.
    fn dirty_entries(&self) -> Vec<DirtyEntry>;
    /// The worst effective class of any write in the current window, `None` if none.
    fn worst_written_class(&self) -> Option<StateClass>;
}

/// A server state made of tracked fields sharing one journal.
pub trait TrackedState {
    /// The journal all fields were created on.
    fn journal(&self) -> &Journal;

    /// Calls `visit` once on every tracked field, in declaration order.
    fn for_each_field(&mut self, visit: &mut dyn FnMut(&mut dyn TrackedField));

    /// Opens a new recovery window, O(1): touches no field. Returns the empty IPC record of it.
    fn checkpoint(&self) -> Window {
        Window::open(self.journal().checkpoint())
    }

    /// Restores the state exactly as at the last checkpoint (suspects of earlier suppressions
    /// included). The window stays open.
    fn rollback(&mut self) {
        for_each_checked_field(self, &mut |field| field.rollback());
    }

    /// Suppresses a crash of the current request: nothing is restored now; every entry it dirtied
    /// becomes suspect and is restored only if read before being overwritten.
    fn suppress(&mut self) {
        for_each_checked_field(self, &mut |field| field.suppress());
    }

    /// Restores every suspect of every field now.
    fn restore_all_suspects(&mut self) {
        for_each_checked_field(self, &mut |field| field.restore_all_suspects());
    }

    /// The SRS counters per field and in total.
    fn srs_report(&mut self) -> SrsReport {
        let mut report = SrsReport::default();
        self.for_each_field(&mut |field| report.add_field(field.name(), field.srs_counters(), field.suspect_count()));
        report
    }

    /// Every entry written in the current window, field by field.
    fn dirty_entries(&mut self) -> Vec<DirtyEntry> {
        let mut entries = Vec::new();
        self.for_each_field(&mut |field| entries.extend(field.dirty_entries()));
        entries
    }

    /// Every pending suspect, field by field, with the faulty write that dirtied it.
    fn suspects(&mut self) -> Vec<DirtyEntry> {
        let mut entries = Vec::new();
        self.for_each_field(&mut |field| entries.extend(field.suspects()));
        entries
    }

    /// The worst effective class written in the current window, `None` if nothing was written.
    fn worst_written_class(&mut self) -> Option<StateClass> {
        let mut worst = None;
        self.for_each_field(&mut |field| worst = worst.max(field.worst_written_class()));
        worst
    }
}

/// A tracked state behind a trait object: what the recovery manager does to a crashed server's
/// state without knowing the server.
pub trait Recoverable: Send {
    /// Restores the state as at the last checkpoint.
    fn rollback(&mut self);
    /// Makes the crashed request's writes suspects (SRS).
    fn suppress(&mut self);
    /// The SRS counters.
    fn srs_report(&mut self) -> SrsReport;
    /// Entries written in the current window.
    fn dirty_entries(&mut self) -> Vec<DirtyEntry>;
    /// Hands the concrete state back (to the new incarnation).
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any + Send>;
}

impl<T: TrackedState + Send + 'static> Recoverable for T {
    fn rollback(&mut self) {
        TrackedState::rollback(self)
    }
    fn suppress(&mut self) {
        TrackedState::suppress(self)
    }
    fn srs_report(&mut self) -> SrsReport {
        TrackedState::srs_report(self)
    }
    fn dirty_entries(&mut self) -> Vec<DirtyEntry> {
        TrackedState::dirty_entries(self)
    }
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any + Send> {
        self
    }
}

/// Visits every field after asserting the state's invariants (one journal, unique names).
fn for_each_checked_field<S: TrackedState + ?Sized>(state: &mut S, action: &mut dyn FnMut(&mut dyn TrackedField)) {
    let journal = state.journal().clone();
    let mut names = BTreeSet::new();
    state.for_each_field(&mut |field| {
        assert!(field.journal().same_as(&journal), "field `{}` was created on another journal", field.name());
        assert!(names.insert(field.name()), "two fields are named `{}`", field.name());
    });
    state.for_each_field(action);
}

/// Implements [`TrackedState`] for a struct by naming its journal and its tracked fields.
///
/// ```
/// use recovery::{tracked_state, Journal, StateClass, TrackedCell, TrackedState, TrackedVec};
///
/// struct Allocator {
///     journal: Journal,
///     next_id: TrackedCell<u32>,
///     free: TrackedVec<u32>,
/// }
/// tracked_state!(Allocator { journal: journal, fields: [next_id, free] });
///
/// let journal = Journal::new();
/// let mut state = Allocator {
///     next_id: TrackedCell::new(&journal, "next_id", StateClass::Global, 1),
///     free: TrackedVec::new(&journal, "free", StateClass::Global),
///     journal,
/// };
/// state.checkpoint();
/// state.next_id.set(2);
/// state.free.push(1);
/// state.rollback();
/// assert_eq!(*state.next_id.get(), 1);
/// assert_eq!(state.free.len(), 0);
/// ```
///
/// Fields of nested structs are named by path: `fields: [procs, files.table]`.
#[macro_export]
macro_rules! tracked_state {
    ($state:ty { journal: $($journal:ident).+, fields: [$($($field:ident).+),* $(,)?] $(,)? }) => {
        impl $crate::TrackedState for $state {
            fn journal(&self) -> &$crate::Journal {
                &self.$($journal).+
            }

            fn for_each_field(
                &mut self,
                visit: &mut dyn FnMut(&mut dyn $crate::TrackedField),
            ) {
                $( visit(&mut self.$($field).+); )*
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use crate::{Journal, StateClass, TrackedCell, TrackedMap, TrackedState};

    struct Files {
        table: TrackedMap<u32, u32>,
    }

    struct Vfs {
        journal: Journal,
        next_inode: TrackedCell<u32>,
        files: Files,
    }

    tracked_state!(Vfs { journal: journal, fields: [next_inode, files.table] });

    fn vfs(table_name: &'static str) -> Vfs {
        let journal = Journal::new();
        Vfs {
            next_inode: TrackedCell::new(&journal, "next_inode", StateClass::Global, 1),
            files: Files { table: TrackedMap::new(&journal, table_name, StateClass::Global) },
            journal,
        }
    }

    #[test]
    fn nested_fields_are_checkpointed_with_the_rest() {
        let mut state = vfs("files");
        state.checkpoint();
        state.next_inode.set(2);
        state.files.table.insert(1, 10);
        assert_eq!(state.dirty_entries().len(), 2);
        assert_eq!(state.worst_written_class(), Some(StateClass::Global));
        state.rollback();
        assert_eq!(*state.next_inode.get(), 1);
        assert!(state.files.table.is_empty());
        assert_eq!(state.worst_written_class(), None);
        let report = state.srs_report();
        let names: Vec<&str> = report.fields.iter().map(|line| line.field.as_str()).collect();
        assert_eq!(names, vec!["next_inode", "files"]);
    }

    #[test]
    #[should_panic(expected = "two fields are named `next_inode`")]
    fn duplicate_field_names_are_caught() {
        let mut state = vfs("next_inode");
        state.suppress();
    }
}

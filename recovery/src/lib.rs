//! Crash recovery for samsara's servers. This crate knows no particular server and no kernel: it
//! gives server code containers to keep its mutable state in, and gives the recovery machinery
//! whole-state operations on them.
//!
//! - [`StateClass`] ([`class`]): the declared reach of a field and the effective class of a write.
//! - Tracked containers ([`TrackedCell`], [`TrackedVec`], [`TrackedMap`], [`ProcTable`]): every
//!   write goes through them, is attributed to its source line, and logs a pre-image the first
//!   time an entry is written in the current recovery window.
//! - [`Journal`] ([`journal`]): the epoch shared by one state's containers. A checkpoint is O(1):
//!   it bumps the epoch, which makes every entry clean at once.
//! - [`TrackedState`] and [`tracked_state!`] ([`state`]): a state struct lists its fields once;
//!   checkpoint, rollback, SRS suppression and reports then apply to all of them.
//! - SRS crash suppression ([`srs`]): dirtied entries become suspects, restored only if read
//!   before being overwritten, with counters of restored versus self-cleansed entries.
//! - [`WriteObserver`] ([`observer`]): an optional hook on every write, for profiling, write-set
//!   recording and fault injection (skip a store, or write the neighbouring entry).
//! - [`Window`] ([`window`]): the outgoing IPC of the current request, which tells whether the
//!   recovery window is still closed to other components.
//!
//! The whole state (containers and journal) is `Send`: a crashed incarnation's state is handed to
//! another thread in the threaded engine.

pub mod class;
pub mod corrupt;
pub mod journal;
pub mod key;
pub mod observer;
pub mod policy;
pub mod srs;
pub mod state;
pub mod table;
pub mod tracked;
pub mod window;

pub use class::StateClass;
pub use journal::{Epoch, Journal};
pub use key::{KeyRepr, TrackKey};
pub use observer::{WriteAction, WriteEvent, WriteObserver, WriteOp};
pub use policy::{CrashFacts, Decision, PolicyKind, StateAction, decide};
pub use srs::{FieldSrs, SrsCounters, SrsReport};
pub use state::{DirtyEntry, Recoverable, TrackedField, TrackedState};
pub use table::{ClassCounts, RecoveryClass, RecoveryTable, SendSite, TableError, TableRow};
pub use tracked::{ProcTable, Requester, TrackedCell, TrackedMap, TrackedVec};
pub use window::{IpcId, OutgoingIpc, OutgoingKind, Window};

/// Compile-time proof that state built from these types can move between threads.
const _: () = {
    const fn assert_send<T: Send>() {}
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Journal>();
    assert_send::<TrackedCell<String>>();
    assert_send::<TrackedVec<Vec<u8>>>();
    assert_send::<TrackedMap<u32, String>>();
    assert_send::<ProcTable<u32, String>>();
    assert_send::<Window>();
    assert_send::<Box<dyn WriteObserver>>();
};

/// `n` and its noun for people, as decisions and reports count things: "1 message", "3 messages",
/// "2 policies", "4 processes".
pub fn counted(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    if n == 1 {
        return format!("1 {noun}");
    }
    let plural = match noun.strip_suffix('y') {
        Some(stem) if !stem.ends_with(['a', 'e', 'o', 'u']) => format!("{stem}ies"),
        _ if noun.ends_with(['s', 'x']) || noun.ends_with("sh") || noun.ends_with("ch") => format!("{noun}es"),
        _ => format!("{noun}s"),
    };
    format!("{n} {plural}")
}

#[cfg(test)]
mod tests {
    use super::counted;

    #[test]
    fn counted_nouns_take_their_plurals() {
        assert_eq!(counted(1u64, "policy"), "1 policy");
        assert_eq!(counted(2u64, "policy"), "2 policies");
        assert_eq!(counted(2u64, "day"), "2 days");
        assert_eq!(counted(3u64, "process"), "3 processes");
        assert_eq!(counted(0u64, "run"), "0 runs");
        assert_eq!(counted(2u64, "match"), "2 matches");
    }
}

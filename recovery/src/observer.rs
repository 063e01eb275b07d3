//! The write hook: an optional observer on a [`crate::Journal`] that sees every tracked write and may
//! turn it into a fault.
//!
//! Later stages build on it: profiling fault-injection sites (count hits per [`WriteEvent::site`]),
//! recording the dynamic write set of each request (field, key, effective class) to cross-check
//! the static table, and injecting faults at the n-th hit of a site through [`WriteAction`].
//!
//! Invariants: the observer is consulted *before* the write touches the container or the undo log,
//! so a panicking observer (an injected crash) leaves the state and log consistent. It must not
//! touch tracked state itself (the journal's observer lock is held while it runs).

use std::panic::Location;

use serde::{Deserialize, Serialize};

use crate::{Epoch, KeyRepr, StateClass};

/// The kind of mutation a write site performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WriteOp {
    /// A whole-value store without reading the old value (`set`, map `insert`).
    Store,
    /// A read-modify-write through a mutable reference (`get_mut`).
    Update,
    /// A removal of a map entry (`remove`).
    Remove,
    /// An append to a vector (`push`): writes the new element and the length.
    Push,
    /// A removal of a vector's last element (`pop`): writes the length.
    Pop,
}

/// One tracked write, as shown to the observer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteEvent {
    /// The declared name of the field written.
    pub field: &'static str,
    /// The entry the code meant to write.
    pub key: KeyRepr,
    /// The effective class of the write (for a process table: decided by the accessor used).
    pub class: StateClass,
    /// What kind of mutation this is.
    pub op: WriteOp,
    /// The source line of the write (the caller of the container method).
    pub site: &'static Location<'static>,
    /// The recovery window the write happens in.
    pub epoch: Epoch,
    /// Whether this is the first write to `key` in the window (so it would log a pre-image). For
    /// [`WriteOp::Push`] and [`WriteOp::Pop`], whether it is the first write to the length.
    pub first_in_window: bool,
    /// The entry a [`WriteAction::Neighbour`] fault would hit instead; `None` when the container
    /// has no neighbour to offer for this write.
    pub neighbour: Option<KeyRepr>,
    /// Whether the value type can take a [`WriteAction::Corrupt`] fault (a plain integer or bool).
    pub corruptible: bool,
}

/// What the observer wants done with a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WriteAction {
    /// Perform the write as the code asked.
    Proceed,
    /// Drop the write silently ("missing store" fault): the container is untouched, and a
    /// `get_mut` hands out a scratch copy whose changes are discarded.
    Skip,
    /// Write [`WriteEvent::neighbour`] instead of the intended entry ("overflow" fault).
    /// When the event offered no neighbour the write proceeds normally.
    Neighbour,
    /// Perform the write, then flip bit `bit` of the stored value ("corrupt" fault: a wrong value
    /// stored). Only values the event calls [`WriteEvent::corruptible`] change; others are written
    /// as asked.
    Corrupt {
        /// Which bit (taken modulo the value's width).
        bit: u8,
    },
}

/// Receives every tracked write of the journal it is installed on.
pub trait WriteObserver: Send {
    /// Called once per write, before the write happens.
    fn on_write(&mut self, event: &WriteEvent) -> WriteAction;
}

impl<F> WriteObserver for F
where
    F: FnMut(&WriteEvent) -> WriteAction + Send,
{
    fn on_write(&mut self, event: &WriteEvent) -> WriteAction {
        self(event)
    }
}

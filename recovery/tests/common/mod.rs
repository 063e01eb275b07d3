//! A small server-like state with one container of each kind, a plain model of its visible
//! contents, and random operations applied to both.

#![allow(dead_code)] // each test binary uses a different part

use std::collections::BTreeMap;

use proptest::prelude::*;
use recovery::{
    Journal, ProcTable, Requester, StateClass, TrackedCell, TrackedMap, TrackedState, TrackedVec, tracked_state,
};

/// Keys are drawn from a small range so that operations collide on the same entries.
pub const KEY_RANGE: u8 = 6;

#[derive(Debug)]
pub struct TestState {
    pub journal: Journal,
    pub counter: TrackedCell<u32>,
    pub table: TrackedVec<u32>,
    pub names: TrackedMap<u8, u32>,
    pub procs: ProcTable<u8, u32>,
}

tracked_state!(TestState { journal: journal, fields: [counter, table, names, procs] });

/// What every read of the state returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Model {
    pub counter: u32,
    pub table: Vec<u32>,
    pub names: BTreeMap<u8, u32>,
    pub procs: BTreeMap<u8, u32>,
}

impl TestState {
    pub fn new() -> Self {
        let journal = Journal::new();
        Self {
            counter: TrackedCell::new(&journal, "counter", StateClass::Global, 0),
            table: TrackedVec::new(&journal, "table", StateClass::Global),
            names: TrackedMap::new(&journal, "names", StateClass::RequestLocal),
            procs: ProcTable::new(&journal, "procs"),
            journal,
        }
    }

    /// The visible contents, read through the containers (this restores every suspect).
    pub fn read_all(&mut self) -> Model {
        Model {
            counter: *self.counter.get(),
            table: self.table.iter().copied().collect(),
            names: self.names.iter().map(|(k, v)| (*k, *v)).collect(),
            procs: self.procs.iter().map(|(k, v)| (*k, *v)).collect(),
        }
    }
}

/// One operation of a request. Indices are reduced modulo the visible length when applied.
#[derive(Debug, Clone)]
pub enum Op {
    CounterGet,
    CounterSet(u32),
    CounterAdd(u32),
    TableGet(u8),
    TableLen,
    TableSet(u8, u32),
    TableAdd(u8, u32),
    TablePush(u32),
    TablePop,
    NamesGet(u8),
    NamesLen,
    NamesInsert(u8, u32),
    NamesAdd(u8, u32),
    NamesRemove(u8),
    ProcsGet(u8),
    ProcsInsertOwn(u32),
    ProcsAddOwn(u32),
    ProcsRemoveOwn,
    ProcsDiscardOwn,
    ProcsInsertGlobal(u8, u32),
    ProcsRemoveGlobal(u8),
    ProcsDiscardGlobal(u8),
}

pub fn op() -> impl Strategy<Value = Op> {
    let key = 0..KEY_RANGE;
    let value = 0..1000u32;
    prop_oneof![
        Just(Op::CounterGet),
        value.clone().prop_map(Op::CounterSet),
        value.clone().prop_map(Op::CounterAdd),
        any::<u8>().prop_map(Op::TableGet),
        Just(Op::TableLen),
        (any::<u8>(), value.clone()).prop_map(|(i, v)| Op::TableSet(i, v)),
        (any::<u8>(), value.clone()).prop_map(|(i, v)| Op::TableAdd(i, v)),
        value.clone().prop_map(Op::TablePush),
        Just(Op::TablePop),
        key.clone().prop_map(Op::NamesGet),
        Just(Op::NamesLen),
        (key.clone(), value.clone()).prop_map(|(k, v)| Op::NamesInsert(k, v)),
        (key.clone(), value.clone()).prop_map(|(k, v)| Op::NamesAdd(k, v)),
        key.clone().prop_map(Op::NamesRemove),
        key.clone().prop_map(Op::ProcsGet),
        value.clone().prop_map(Op::ProcsInsertOwn),
        value.clone().prop_map(Op::ProcsAddOwn),
        Just(Op::ProcsRemoveOwn),
        Just(Op::ProcsDiscardOwn),
        (key.clone(), value).prop_map(|(k, v)| Op::ProcsInsertGlobal(k, v)),
        key.clone().prop_map(Op::ProcsRemoveGlobal),
        key.prop_map(Op::ProcsDiscardGlobal),
    ]
}

/// Applies `op` to the model; returns what a read (or pop/remove) yields.
pub fn apply_model(model: &mut Model, op: &Op, requester: u8) -> Option<u32> {
    let index = |i: u8, len: usize| (len > 0).then(|| usize::from(i) % len);
    match *op {
        Op::CounterGet => Some(model.counter),
        Op::CounterSet(v) => {
            model.counter = v;
            None
        }
        Op::CounterAdd(v) => {
            model.counter += v;
            None
        }
        Op::TableGet(i) => index(i, model.table.len()).map(|i| model.table[i]),
        Op::TableLen => Some(model.table.len() as u32),
        Op::TableSet(i, v) => {
            if let Some(i) = index(i, model.table.len()) {
                model.table[i] = v;
            }
            None
        }
        Op::TableAdd(i, v) => {
            if let Some(i) = index(i, model.table.len()) {
                model.table[i] += v;
            }
            None
        }
        Op::TablePush(v) => {
            model.table.push(v);
            None
        }
        Op::TablePop => model.table.pop(),
        Op::NamesGet(k) => model.names.get(&k).copied(),
        Op::NamesLen => Some(model.names.len() as u32),
        Op::NamesInsert(k, v) => {
            model.names.insert(k, v);
            None
        }
        Op::NamesAdd(k, v) => {
            if let Some(value) = model.names.get_mut(&k) {
                *value += v;
            }
            None
        }
        Op::NamesRemove(k) => model.names.remove(&k),
        Op::ProcsGet(k) => model.procs.get(&k).copied(),
        Op::ProcsInsertOwn(v) => {
            model.procs.insert(requester, v);
            None
        }
        Op::ProcsAddOwn(v) => {
            if let Some(value) = model.procs.get_mut(&requester) {
                *value += v;
            }
            None
        }
        Op::ProcsRemoveOwn => model.procs.remove(&requester),
        Op::ProcsDiscardOwn => model.procs.remove(&requester).map(|_| 1),
        Op::ProcsInsertGlobal(k, v) => {
            model.procs.insert(k, v);
            None
        }
        Op::ProcsRemoveGlobal(k) => model.procs.remove(&k),
        Op::ProcsDiscardGlobal(k) => model.procs.remove(&k).map(|_| 1),
    }
}

/// Applies `op` to the tracked state. `table_len` is the visible table length used to reduce
/// indices: the model's, so that choosing an index does not itself read the state.
pub fn apply_state(state: &mut TestState, op: &Op, requester: u8, table_len: usize) -> Option<u32> {
    let index = |i: u8| (table_len > 0).then(|| usize::from(i) % table_len);
    let own = Requester::new(requester);
    match *op {
        Op::CounterGet => Some(*state.counter.get()),
        Op::CounterSet(v) => {
            state.counter.set(v);
            None
        }
        Op::CounterAdd(v) => {
            *state.counter.get_mut() += v;
            None
        }
        Op::TableGet(i) => index(i).and_then(|i| state.table.get(i).copied()),
        Op::TableLen => Some(state.table.len() as u32),
        Op::TableSet(i, v) => {
            if let Some(i) = index(i) {
                state.table.set(i, v);
            }
            None
        }
        Op::TableAdd(i, v) => {
            if let Some(value) = index(i).and_then(|i| state.table.get_mut(i)) {
                *value += v;
            }
            None
        }
        Op::TablePush(v) => {
            state.table.push(v);
            None
        }
        Op::TablePop => state.table.pop(),
        Op::NamesGet(k) => state.names.get(&k).copied(),
        Op::NamesLen => Some(state.names.len() as u32),
        Op::NamesInsert(k, v) => {
            state.names.insert(k, v);
            None
        }
        Op::NamesAdd(k, v) => {
            if let Some(value) = state.names.get_mut(&k) {
                *value += v;
            }
            None
        }
        Op::NamesRemove(k) => state.names.remove(&k),
        Op::ProcsGet(k) => state.procs.get(k).copied(),
        Op::ProcsInsertOwn(v) => {
            state.procs.insert_own(&own, v);
            None
        }
        Op::ProcsAddOwn(v) => {
            if let Some(value) = state.procs.get_own_mut(&own) {
                *value += v;
            }
            None
        }
        Op::ProcsRemoveOwn => state.procs.remove_own(&own),
        Op::ProcsDiscardOwn => state.procs.discard_own(&own).then_some(1),
        Op::ProcsInsertGlobal(k, v) => {
            state.procs.insert_global(k, v);
            None
        }
        Op::ProcsRemoveGlobal(k) => state.procs.remove_global(k),
        Op::ProcsDiscardGlobal(k) => state.procs.discard_global(k).then_some(1),
    }
}

/// Applies `op` to both, asserting the state answers what the model answers.
pub fn apply_both(state: &mut TestState, model: &mut Model, op: &Op, requester: u8) {
    let table_len = model.table.len();
    let expected = apply_model(model, op, requester);
    let got = apply_state(state, op, requester, table_len);
    assert_eq!(got, expected, "{op:?} answered differently from the model");
}

/// A fresh state and its model after `ops` applied in the first window, then committed.
pub fn prepared(ops: &[Op]) -> (TestState, Model) {
    let mut state = TestState::new();
    let mut model = Model::default();
    for op in ops {
        apply_both(&mut state, &mut model, op, 0);
    }
    state.checkpoint();
    (state, model)
}

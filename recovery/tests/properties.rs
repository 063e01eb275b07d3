//! Properties of the undo log and of SRS suppression over random requests on every container.

mod common;

use std::collections::BTreeSet;

use common::{Model, TestState, apply_both, apply_state, op, prepared};
use proptest::prelude::*;
use recovery::{TrackedState, WriteAction, WriteEvent};

/// How a simulated request ends.
#[derive(Debug, Clone, Copy)]
enum Ending {
    /// It completes: its writes stay.
    Commit,
    /// It crashes and the server rolls back.
    Rollback,
    /// It crashes and the crash is suppressed (SRS).
    Suppress,
    /// It crashes, is suppressed, and then every suspect is restored eagerly.
    SuppressAndRestoreAll,
}

impl Ending {
    /// Ends the request on `state` as this ending says.
    fn apply(self, state: &mut impl TrackedState) {
        match self {
            Ending::Commit => {}
            Ending::Rollback => state.rollback(),
            Ending::Suppress => state.suppress(),
            Ending::SuppressAndRestoreAll => {
                state.suppress();
                state.restore_all_suspects();
            }
        }
    }
}

fn ending() -> impl Strategy<Value = Ending> {
    prop_oneof![
        Just(Ending::Commit),
        Just(Ending::Rollback),
        Just(Ending::Suppress),
        Just(Ending::SuppressAndRestoreAll),
    ]
}

/// Every suspect ever created is restored, self-cleansed, or still pending.
fn assert_suspects_accounted(state: &mut TestState) {
    let report = state.srs_report();
    for line in &report.fields {
        let c = line.counters;
        assert_eq!(
            c.suspects_created,
            c.restored_on_read + c.self_cleansed + c.restored_eagerly + line.pending as u64,
            "field {} lost track of a suspect: {c:?}, pending {}",
            line.field,
            line.pending
        );
    }
}

fn fault(code: u8) -> WriteAction {
    match code % 4 {
        0 => WriteAction::Skip,
        1 => WriteAction::Neighbour,
        _ => WriteAction::Proceed,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// A window of random writes followed by rollback gives back exactly the checkpoint state, and
    /// each entry was logged at most once.
    #[test]
    fn rollback_restores_the_checkpoint_state(
        before in prop::collection::vec(op(), 0..40),
        window in prop::collection::vec(op(), 0..60),
        requester in 0..common::KEY_RANGE,
    ) {
        let (mut state, checkpoint_model) = prepared(&before);
        let mut model = checkpoint_model.clone();
        for op in &window {
            apply_both(&mut state, &mut model, op, requester);
        }
        let dirty = state.dirty_entries();
        let distinct: BTreeSet<_> = dirty.iter().map(|entry| (entry.field, entry.key.clone())).collect();
        prop_assert_eq!(distinct.len(), dirty.len(), "an entry was logged twice: {:?}", dirty);
        state.rollback();
        prop_assert!(state.dirty_entries().is_empty());
        prop_assert_eq!(state.read_all(), checkpoint_model);
    }

    /// Faults injected through the observer (skipped stores, writes to the neighbour) damage the
    /// state, and rollback still gives back exactly the checkpoint state.
    #[test]
    fn rollback_undoes_injected_faults(
        before in prop::collection::vec(op(), 0..40),
        window in prop::collection::vec(op(), 1..60),
        faults in prop::collection::vec(any::<u8>(), 1..16),
    ) {
        let (mut state, checkpoint_model) = prepared(&before);
        let mut next = 0;
        state.journal.set_observer(Box::new(move |_: &WriteEvent| {
            next += 1;
            fault(faults[next % faults.len()])
        }));
        for op in &window {
            let table_len = state.table.len();
            apply_state(&mut state, op, 1, table_len);
        }
        state.journal.take_observer();
        state.rollback();
        prop_assert_eq!(state.read_all(), checkpoint_model);
    }

    /// Over many requests, some crashing, a suppressed crash is invisible to every later read: the
    /// state answers like a model that simply forgot the crashed request, exactly as after a
    /// rollback. Suspects survive checkpoints and later windows' rollbacks, and every suspect is
    /// accounted for as restored, self-cleansed or pending.
    #[test]
    fn suppression_is_observationally_a_rollback(
        before in prop::collection::vec(op(), 0..30),
        requests in prop::collection::vec(
            (prop::collection::vec(op(), 0..25), 0..common::KEY_RANGE, ending(), any::<bool>()),
            1..12,
        ),
    ) {
        let (mut state, mut model) = prepared(&before);
        // The visible state the current window would roll back to.
        let mut at_checkpoint: Model = model.clone();
        for (ops, requester, ending, checkpoint_after) in &requests {
            for op in ops {
                apply_both(&mut state, &mut model, op, *requester);
            }
            ending.apply(&mut state);
            if matches!(ending, Ending::SuppressAndRestoreAll) {
                prop_assert_eq!(state.srs_report().pending, 0);
            }
            if !matches!(ending, Ending::Commit) {
                model = at_checkpoint.clone();
            }
            if *checkpoint_after || !matches!(ending, Ending::Commit) {
                // After a rollback or a suppression the window is clean at the visible state.
                at_checkpoint = model.clone();
            }
            if *checkpoint_after {
                state.checkpoint();
            }
            assert_suspects_accounted(&mut state);
        }
        prop_assert_eq!(state.read_all(), model);
        prop_assert_eq!(state.srs_report().pending, 0, "reading everything resolves every suspect");
        assert_suspects_accounted(&mut state);
    }
}

/// Values with buffers, whose pre-images are cloned into spent records of older windows.
struct Buffers {
    journal: recovery::Journal,
    cell: recovery::TrackedCell<Vec<u8>>,
    table: recovery::TrackedVec<Vec<u8>>,
    map: recovery::TrackedMap<u8, Vec<u8>>,
}

recovery::tracked_state!(Buffers { journal: journal, fields: [cell, table, map] });

/// One write to a buffer state: which entry (reduced modulo what exists) and how many bytes.
#[derive(Debug, Clone)]
enum BufferOp {
    CellAppend(u8),
    CellSet(u8),
    TableAppend(u8, u8),
    TableTruncate(u8),
    TablePush(u8),
    TablePop,
    MapAppend(u8, u8),
    MapInsert(u8, u8),
    MapRemove(u8),
}

fn buffer_op() -> impl Strategy<Value = BufferOp> {
    let (key, len) = (0..4u8, 0..40u8);
    prop_oneof![
        len.clone().prop_map(BufferOp::CellAppend),
        len.clone().prop_map(BufferOp::CellSet),
        (any::<u8>(), len.clone()).prop_map(|(i, n)| BufferOp::TableAppend(i, n)),
        any::<u8>().prop_map(BufferOp::TableTruncate),
        len.clone().prop_map(BufferOp::TablePush),
        Just(BufferOp::TablePop),
        (key.clone(), len.clone()).prop_map(|(k, n)| BufferOp::MapAppend(k, n)),
        (key.clone(), len).prop_map(|(k, n)| BufferOp::MapInsert(k, n)),
        key.prop_map(BufferOp::MapRemove),
    ]
}

type BufferModel = (Vec<u8>, Vec<Vec<u8>>, std::collections::BTreeMap<u8, Vec<u8>>);

/// Applies `op` to the model and to the state alike; `fill` is the byte written.
fn apply_buffers(state: &mut Buffers, model: &mut BufferModel, op: &BufferOp, fill: u8) {
    let bytes = |n: u8| vec![fill; usize::from(n)];
    let index = |i: u8, len: usize| (len > 0).then(|| usize::from(i) % len);
    match *op {
        BufferOp::CellAppend(n) => {
            model.0.extend(bytes(n));
            state.cell.get_mut().extend(bytes(n));
        }
        BufferOp::CellSet(n) => {
            model.0 = bytes(n);
            state.cell.set(bytes(n));
        }
        BufferOp::TableAppend(i, n) => {
            if let Some(i) = index(i, model.1.len()) {
                model.1[i].extend(bytes(n));
                state.table.get_mut(i).expect("in range").extend(bytes(n));
            }
        }
        BufferOp::TableTruncate(i) => {
            if let Some(i) = index(i, model.1.len()) {
                let half = model.1[i].len() / 2;
                model.1[i].truncate(half);
                state.table.get_mut(i).expect("in range").truncate(half);
            }
        }
        BufferOp::TablePush(n) => {
            model.1.push(bytes(n));
            state.table.push(bytes(n));
        }
        BufferOp::TablePop => assert_eq!(state.table.pop(), model.1.pop()),
        BufferOp::MapAppend(k, n) => {
            if let Some(value) = model.2.get_mut(&k) {
                value.extend(bytes(n));
                state.map.get_mut(&k).expect("present in the model").extend(bytes(n));
            }
        }
        BufferOp::MapInsert(k, n) => {
            model.2.insert(k, bytes(n));
            state.map.insert(k, bytes(n));
        }
        BufferOp::MapRemove(k) => assert_eq!(state.map.remove(&k), model.2.remove(&k)),
    }
}

fn read_buffers(state: &mut Buffers) -> BufferModel {
    (
        state.cell.get().clone(),
        state.table.iter().cloned().collect(),
        state.map.iter().map(|(k, v)| (*k, v.clone())).collect(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Pre-images cloned into the storage of spent records (buffers of other lengths, of other
    /// entries, of a vector's length record) roll back and restore exactly, window after window.
    #[test]
    fn pre_images_in_spent_records_restore_exactly(
        requests in prop::collection::vec((prop::collection::vec(buffer_op(), 0..20), ending()), 1..16),
    ) {
        let journal = recovery::Journal::new();
        let mut state = Buffers {
            cell: recovery::TrackedCell::new(&journal, "cell", recovery::StateClass::Global, Vec::new()),
            table: recovery::TrackedVec::new(&journal, "table", recovery::StateClass::Global),
            map: recovery::TrackedMap::new(&journal, "map", recovery::StateClass::Global),
            journal,
        };
        let mut model = BufferModel::default();
        for (n, (ops, ending)) in requests.iter().enumerate() {
            state.checkpoint();
            let at_checkpoint = model.clone();
            for op in ops {
                apply_buffers(&mut state, &mut model, op, n as u8);
            }
            ending.apply(&mut state);
            if !matches!(ending, Ending::Commit) {
                model = at_checkpoint;
            }
            if matches!(ending, Ending::Rollback) {
                // Suppressed windows are left unread: their suspects meet the next windows' writes.
                prop_assert_eq!(read_buffers(&mut state), model.clone());
            }
        }
        prop_assert_eq!(read_buffers(&mut state), model);
    }
}

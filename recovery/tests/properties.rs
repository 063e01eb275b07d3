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
            match ending {
                Ending::Commit => {}
                Ending::Rollback => state.rollback(),
                Ending::Suppress => state.suppress(),
                Ending::SuppressAndRestoreAll => {
                    state.suppress();
                    state.restore_all_suspects();
                    prop_assert_eq!(state.srs_report().pending, 0);
                }
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

//! Whole-state scenarios a recovery manager and a fault-injection campaign rely on.

mod common;

use std::cell::Cell;
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};

use common::TestState;
use recovery::{
    Journal, KeyRepr, ProcTable, Requester, StateClass, TrackedCell, TrackedMap, TrackedState, TrackedVec, WriteAction,
    WriteEvent, tracked_state,
};

thread_local! {
    static CLONES: Cell<usize> = const { Cell::new(0) };
}

/// A value that counts its clones, to see which entries the machinery copies.
#[derive(Debug, PartialEq)]
struct Counted(u64);

impl Clone for Counted {
    fn clone(&self) -> Self {
        CLONES.with(|clones| clones.set(clones.get() + 1));
        Counted(self.0)
    }
}

fn clones() -> usize {
    CLONES.with(Cell::get)
}

struct BigState {
    journal: Journal,
    cell: TrackedCell<Counted>,
    vec: TrackedVec<Counted>,
    map: TrackedMap<u64, Counted>,
    procs: ProcTable<u64, Counted>,
}

tracked_state!(BigState { journal: journal, fields: [cell, vec, map, procs] });

impl BigState {
    fn with_entries(entries: u64) -> Self {
        let journal = Journal::new();
        let mut state = BigState {
            cell: TrackedCell::new(&journal, "cell", StateClass::Global, Counted(0)),
            vec: TrackedVec::from_vec(&journal, "vec", StateClass::Global, (0..entries).map(Counted).collect()),
            map: TrackedMap::new(&journal, "map", StateClass::Global),
            procs: ProcTable::new(&journal, "procs"),
            journal,
        };
        for key in 0..entries {
            state.map.insert(key, Counted(key));
            state.procs.insert_global(key, Counted(key));
        }
        state
    }

    /// One small request: the same four writes whatever the state's size.
    fn small_request(&mut self) {
        self.cell.get_mut().0 += 1;
        self.vec.get_mut(3).unwrap().0 += 1;
        self.map.get_mut(&3).unwrap().0 += 1;
        self.procs.get_own_mut(&Requester::new(3)).unwrap().0 += 1;
    }
}

/// Checkpointing copies nothing and logs nothing, and a request's logging cost depends on what it
/// writes, not on how big the state is.
#[test]
fn checkpoint_cost_does_not_depend_on_state_size() {
    let mut costs = Vec::new();
    for entries in [10, 10_000] {
        let mut state = BigState::with_entries(entries);
        let before = clones();
        for _ in 0..100 {
            state.checkpoint();
        }
        assert_eq!(clones(), before, "a checkpoint copied entries");
        assert!(state.dirty_entries().is_empty(), "a checkpoint left log records");

        let before = clones();
        state.small_request();
        costs.push((clones() - before, state.dirty_entries().len()));
        state.rollback();
        assert_eq!(state.vec.get(3), Some(&Counted(3)));
        assert_eq!(state.procs.get(3), Some(&Counted(3)));
    }
    // One pre-image per written entry, for the small state and the large one alike.
    assert_eq!(costs, vec![(4, 4), (4, 4)]);
}

/// The example of the task loop: a request that crashes after a few writes is rolled back.
#[test]
fn a_crashed_request_is_rolled_back_after_catch_unwind() {
    let mut state = TestState::new();
    state.counter.set(1);
    state.table.push(10);
    let mut window = state.checkpoint();
    let crashed = catch_unwind(AssertUnwindSafe(|| {
        state.counter.set(2);
        state.table.push(20);
        state.names.insert(1, 7);
        window.record_request(8, 0xC01);
        panic!("injected crash");
    }));
    assert!(crashed.is_err());
    assert!(window.is_closed(), "the request left the server before the crash");
    assert_eq!(state.worst_written_class(), Some(StateClass::Global));
    state.rollback();
    assert_eq!(state.read_all().counter, 1);
    assert_eq!(state.read_all().table, vec![10]);
    assert!(state.read_all().names.is_empty());
}

/// SRS: suspects survive later checkpoints and later windows, are restored when read and
/// cleansed when overwritten, and are counted per field and in total.
#[test]
fn suspects_survive_checkpoints_until_read_or_overwritten() {
    let mut state = TestState::new();
    let user = Requester::new(4);
    state.counter.set(5);
    state.names.insert(1, 100);
    state.names.insert(2, 200);
    state.procs.insert_own(&user, 40);
    state.checkpoint();

    // The faulty request corrupts four entries, then crashes and is suppressed.
    state.counter.set(666);
    state.names.insert(1, 666);
    state.names.insert(2, 666);
    state.procs.insert_own(&user, 666);
    state.suppress();
    assert_eq!(state.srs_report().pending, 4);
    let dirtied: Vec<(&str, KeyRepr)> = state.suspects().into_iter().map(|s| (s.field, s.key)).collect();
    assert_eq!(
        dirtied,
        vec![
            ("counter", KeyRepr::Whole),
            ("names", KeyRepr::Uint(1)),
            ("names", KeyRepr::Uint(2)),
            ("procs", KeyRepr::Uint(4))
        ]
    );

    // Several benign requests go by without touching the suspects.
    for _ in 0..3 {
        state.checkpoint();
        state.names.insert(3, 300);
    }
    assert_eq!(state.srs_report().pending, 4, "a checkpoint lost suspects");

    // A request overwrites names[1] (cleansed), reads names[2] (restored), then crashes and is
    // rolled back: the rollback gives back the visible checkpoint values, not the corrupt ones.
    state.checkpoint();
    state.names.insert(1, 111);
    assert_eq!(state.names.get(&2), Some(&200));
    state.rollback();
    assert_eq!(state.names.get(&1), Some(&100));

    // The counter is overwritten first, the process entry read first.
    state.checkpoint();
    state.counter.set(6);
    assert_eq!(state.procs.get_own(&user), Some(&40));

    let report = state.srs_report();
    assert_eq!(report.pending, 0);
    assert_eq!(report.total.suspects_created, 4);
    assert_eq!(report.total.self_cleansed, 2);
    assert_eq!(report.total.restored_on_read, 2);
    let names = report.field("names").unwrap().counters;
    assert_eq!((names.self_cleansed, names.restored_on_read), (1, 1));
    assert_eq!(report.field("counter").unwrap().counters.self_cleansed, 1);
    assert_eq!(report.field("procs").unwrap().counters.restored_on_read, 1);
    assert!((report.total.self_cleansing_ratio() - 0.5).abs() < 1e-9);
}

#[test]
fn restore_all_suspects_restores_eagerly_and_counts_it() {
    let mut state = TestState::new();
    state.table.push(1);
    state.checkpoint();
    state.table.set(0, 9);
    state.table.push(2);
    state.names.insert(5, 5);
    state.suppress();
    state.checkpoint();
    state.restore_all_suspects();
    let report = state.srs_report();
    assert_eq!(report.pending, 0);
    // The table's element 0, its length and the element the length dropped; the new name.
    assert_eq!(report.total.restored_eagerly, 4);
    assert_eq!(report.total.restored_on_read, 0);
    assert_eq!(state.read_all().table, vec![1]);
    assert!(state.read_all().names.is_empty());
}

/// One write of a request's dynamic write set: field, key, effective class.
type WriteSetEntry = (&'static str, KeyRepr, StateClass);

/// The hook's three uses: a site profile with hit counts, the dynamic write set of a request with
/// effective classes, and a fault at the n-th hit of one site.
#[test]
fn observer_profiles_sites_records_write_sets_and_injects_at_the_nth_hit() {
    let mut state = TestState::new();
    for value in 0..4 {
        state.table.push(value);
    }
    state.checkpoint();

    let hits: Arc<Mutex<BTreeMap<(String, u32), usize>>> = Arc::default();
    let write_set: Arc<Mutex<Vec<WriteSetEntry>>> = Arc::default();
    let (hits_seen, set_seen) = (hits.clone(), write_set.clone());
    let target_line = Arc::new(Mutex::new(0));
    let target = target_line.clone();
    state.journal.set_observer(Box::new(move |event: &WriteEvent| {
        let site = (event.site.file().to_owned(), event.site.line());
        let mut hits = hits_seen.lock().unwrap();
        let count = hits.entry(site).or_default();
        *count += 1;
        set_seen.lock().unwrap().push((event.field, event.key.clone(), event.class));
        let is_target = event.site.line() == *target.lock().unwrap();
        if is_target && *count == 3 { WriteAction::Skip } else { WriteAction::Proceed }
    }));

    let user = Requester::new(2);
    *target_line.lock().unwrap() = line!() + 2;
    for index in 0..4 {
        state.table.set(index, 10 + index as u32);
    }
    state.procs.insert_own(&user, 1);
    state.procs.insert_global(3, 1);
    state.journal.take_observer();

    // The third hit of the loop's store was dropped: a missing store.
    assert_eq!(state.read_all().table, vec![10, 11, 2, 13]);
    let hits = hits.lock().unwrap();
    assert_eq!(hits[&(file!().to_owned(), *target_line.lock().unwrap())], 4);
    assert_eq!(hits.len(), 3, "three write sites");
    let write_set = write_set.lock().unwrap();
    assert_eq!(write_set.len(), 6);
    assert_eq!(write_set[4], ("procs", KeyRepr::Uint(2), StateClass::ProcessLocal));
    assert_eq!(write_set[5], ("procs", KeyRepr::Uint(3), StateClass::Global));
}

/// A crash injected by the observer itself happens before the write: state and log stay
/// consistent, the journal stays usable, and rollback restores the checkpoint.
#[test]
fn a_panicking_observer_leaves_the_state_recoverable() {
    let mut state = TestState::new();
    state.counter.set(1);
    state.checkpoint();
    state.journal.set_observer(Box::new(|event: &WriteEvent| {
        if event.field == "names" {
            panic!("injected crash at {}", event.site);
        }
        WriteAction::Proceed
    }));
    let crashed = catch_unwind(AssertUnwindSafe(|| {
        state.counter.set(2);
        state.names.insert(1, 1);
    }));
    assert!(crashed.is_err());
    assert!(state.names.get(&1).is_none(), "the crashing write did not happen");
    state.journal.take_observer();
    state.rollback();
    assert_eq!(*state.counter.get(), 1);
    state.names.insert(1, 1);
    assert_eq!(state.names.get(&1), Some(&1));
}

/// The threaded engine hands a crashed incarnation's state, undo log included, to another thread.
#[test]
fn a_crashed_state_can_be_recovered_on_another_thread() {
    let mut state = TestState::new();
    state.table.push(1);
    state.checkpoint();
    state.table.push(2);
    state.counter.set(9);
    let recovered = std::thread::spawn(move || {
        state.rollback();
        state
    })
    .join()
    .unwrap();
    let mut recovered = recovered;
    assert_eq!(recovered.read_all().table, vec![1]);
    assert_eq!(recovered.read_all().counter, 0);
}

#[test]
#[should_panic(expected = "created on another journal")]
fn a_field_on_another_journal_is_caught_at_rollback() {
    let mut state = TestState::new();
    state.table = TrackedVec::new(&Journal::new(), "table", StateClass::Global);
    state.rollback();
}

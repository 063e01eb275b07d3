//! Recovery-crate measurements on a synthetic server state: what a checkpoint, a request's
//! tracked writes, a rollback and an SRS suppression cost on a state of `n` entries, against the
//! same work on plain containers.
//!
//! The state is one [`TrackedMap`] of `n` entries of [`Entry`] (64 bytes, the size of pm's
//! process entry). A simulated request is a checkpoint followed by `k` read-modify-writes of
//! entries picked by a seeded generator across the whole map (a handler touches the requester's
//! entry and a few shared ones, anywhere in the table). The plain baseline does the same writes
//! on a `BTreeMap` with no checkpoint.

use recovery::{Journal, StateClass, TrackedMap, TrackedState, tracked_state};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

/// One entry: 64 bytes, as pm's process entry.
pub type Entry = [u64; 8];

/// The synthetic server state.
pub struct BenchState {
    journal: Journal,
    table: TrackedMap<u64, Entry>,
}

tracked_state!(BenchState { journal: journal, fields: [table] });

impl BenchState {
    /// A state of `n` entries, checkpointed: the next write of every entry logs its pre-image.
    pub fn new(n: usize) -> BenchState {
        let state = BenchState::logged(n);
        state.checkpoint();
        state
    }

    /// A state of `n` entries still in the window that built it: every entry is already logged, so
    /// no write logs anything until the next checkpoint. This is the state a server with
    /// checkpointing off is in (its one window never closes).
    pub fn logged(n: usize) -> BenchState {
        let journal = Journal::new();
        let mut table = TrackedMap::new(&journal, "bench.table", StateClass::Global);
        for key in 0..n as u64 {
            table.insert(key, [key; 8]);
        }
        BenchState { journal, table }
    }

    /// Two states of `n` entries built side by side (their entries interleave in memory, so
    /// neither has better locality): one checkpointed ([`BenchState::new`]), one still in its
    /// first window ([`BenchState::logged`]).
    pub fn pair(n: usize) -> (BenchState, BenchState) {
        let (on_journal, off_journal) = (Journal::new(), Journal::new());
        let mut on = TrackedMap::new(&on_journal, "bench.table", StateClass::Global);
        let mut off = TrackedMap::new(&off_journal, "bench.table", StateClass::Global);
        for key in 0..n as u64 {
            on.insert(key, [key; 8]);
            off.insert(key, [key; 8]);
        }
        let on = BenchState { journal: on_journal, table: on };
        on.checkpoint();
        (on, BenchState { journal: off_journal, table: off })
    }

    /// One tracked read-modify-write of entry `key`.
    #[inline]
    pub fn touch(&mut self, key: u64) {
        if let Some(e) = self.table.get_mut(&key) {
            e[0] = e[0].wrapping_add(1);
        }
    }
}

/// The plain-container twin of [`BenchState`].
pub fn plain_state(n: usize) -> BTreeMap<u64, Entry> {
    (0..n as u64).map(|k| (k, [k; 8])).collect()
}

/// A small seeded generator (SplitMix64): keys are reproducible and cost a few cycles.
#[derive(Clone)]
pub struct Keys {
    state: u64,
    n: u64,
}

impl Keys {
    /// Keys in `0..n` from `seed`.
    pub fn new(seed: u64, n: usize) -> Keys {
        Keys { state: seed, n: n.max(1) as u64 }
    }

    /// The next key.
    #[inline]
    pub fn next_key(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % self.n
    }
}

/// The seed of every key sequence (any fixed value: runs compare alike).
const SEED: u64 = 0x5A4D_5341_5241;

/// Nanoseconds per request of `k` tracked writes on a state of `n` entries, each request opening
/// a recovery window first when `checkpoint` (checkpointing on), or none (checkpointing off: on a
/// [`BenchState::logged`] state no write logs anything).
pub fn tracked_request_ns(state: &mut BenchState, k: usize, requests: u32, checkpoint: bool) -> f64 {
    let mut keys = Keys::new(SEED, state_len(state));
    let start = Instant::now();
    for _ in 0..requests {
        if checkpoint {
            black_box(state.checkpoint());
        }
        for _ in 0..k {
            state.touch(keys.next_key());
        }
    }
    start.elapsed().as_nanos() as f64 / f64::from(requests.max(1))
}

/// Nanoseconds per request of `k` tracked writes (a checkpoint first when `checkpoint`) to the
/// same `k` entries every request, picked once from `seed`: they stay in cache, so the time is the
/// containers' and the checkpoint's own work, not the memory's. (A write's cache misses cost the
/// same with checkpointing on and off; on a large state they dwarf the difference this isolates.)
pub fn hot_request_ns(state: &mut BenchState, k: usize, requests: u32, checkpoint: bool, seed: u64) -> f64 {
    let mut keys = Keys::new(seed, state_len(state));
    let batch: Vec<u64> = (0..k).map(|_| keys.next_key()).collect();
    let start = Instant::now();
    for _ in 0..requests {
        if checkpoint {
            black_box(state.checkpoint());
        }
        for &key in &batch {
            state.touch(key);
        }
    }
    start.elapsed().as_nanos() as f64 / f64::from(requests.max(1))
}

/// Nanoseconds per request: the same `k` writes on a plain `BTreeMap` of `n` entries.
pub fn plain_request_ns(plain: &mut BTreeMap<u64, Entry>, k: usize, requests: u32) -> f64 {
    let mut keys = Keys::new(SEED, plain.len());
    let start = Instant::now();
    for _ in 0..requests {
        for _ in 0..k {
            if let Some(e) = plain.get_mut(&keys.next_key()) {
                e[0] = e[0].wrapping_add(1);
            }
        }
    }
    start.elapsed().as_nanos() as f64 / f64::from(requests.max(1))
}

/// The cost of reading the clock twice, subtracted from per-event timings.
pub fn timer_overhead_ns() -> f64 {
    const N: u32 = 10_000;
    let start = Instant::now();
    let mut sink = std::time::Duration::ZERO;
    for _ in 0..N {
        let t = Instant::now();
        sink += t.elapsed();
    }
    black_box(sink);
    start.elapsed().as_nanos() as f64 / f64::from(N)
}

/// Which recovery a per-event timing measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Undo {
    /// Eager restore of everything the request wrote.
    Rollback,
    /// SRS: make the request's writes suspects, restore nothing now.
    Suppress,
}

/// Nanoseconds per recovery after a request of `k` writes (each event timed alone, the timer's
/// own cost `timer_ns` subtracted).
pub fn undo_ns(state: &mut BenchState, undo: Undo, k: usize, requests: u32, timer_ns: f64) -> f64 {
    let mut keys = Keys::new(SEED, state_len(state));
    let mut total = 0u128;
    for _ in 0..requests {
        state.checkpoint();
        for _ in 0..k {
            state.touch(keys.next_key());
        }
        let t = Instant::now();
        match undo {
            Undo::Rollback => state.rollback(),
            Undo::Suppress => state.suppress(),
        }
        total += t.elapsed().as_nanos();
        if undo == Undo::Suppress {
            // Resolve the suspects untimed, so every suppression starts from the same state.
            state.restore_all_suspects();
        }
    }
    (total as f64 / f64::from(requests.max(1)) - timer_ns).max(0.0)
}

/// Nanoseconds to restore a state of `n` entries by copying a full snapshot of it (the classic
/// alternative to an undo log).
pub fn snapshot_copy_ns(plain: &BTreeMap<u64, Entry>, copies: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..copies {
        black_box(plain.clone());
    }
    start.elapsed().as_nanos() as f64 / f64::from(copies.max(1))
}

fn state_len(state: &mut BenchState) -> usize {
    state.table.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_loop_leaves_the_state_checkpointed_and_whole() {
        let mut logged = BenchState::logged(100);
        tracked_request_ns(&mut logged, 4, 10, false);
        assert_eq!(logged.dirty_entries().len(), 100, "every entry stays logged in the one window");
        let mut state = BenchState::new(100);
        tracked_request_ns(&mut state, 4, 10, true);
        for undo in [Undo::Rollback, Undo::Suppress] {
            undo_ns(&mut state, undo, 4, 10, 0.0);
        }
        assert_eq!(state.table.len(), 100);
        assert!(state.dirty_entries().is_empty());
        assert_eq!(state.srs_report().pending, 0);
    }

    #[test]
    fn keys_stay_in_range_and_repeat_from_the_seed() {
        let mut a = Keys::new(1, 10);
        let mut b = Keys::new(1, 10);
        for _ in 0..100 {
            let k = a.next_key();
            assert!(k < 10);
            assert_eq!(k, b.next_key());
        }
    }
}

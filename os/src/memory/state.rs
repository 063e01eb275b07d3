//! memory's state: the generator behind `/dev/random` and `/dev/urandom` (splitmix64: any state
//! is valid, so the driver has no invariant to check).

use recovery::{Journal, StateClass, TrackedCell, tracked_state};

/// The generator's state at boot and at a fresh restart: a run's random devices give the same
/// bytes when it is replayed from its seed.
pub const GENERATOR_SEED: u64 = 0x5a3a_5a2a_0000_0001;

/// All of memory's mutable state.
pub struct MemoryState {
    /// The journal of the recovery window.
    pub journal: Journal,
    /// The random devices' generator (splitmix64's counter).
    pub generator: TrackedCell<u64>,
}

tracked_state!(MemoryState { journal: journal, fields: [generator] });

impl MemoryState {
    /// The state at boot.
    pub fn new() -> MemoryState {
        let journal = Journal::new();
        MemoryState {
            generator: TrackedCell::new(&journal, "memory.generator", StateClass::Global, GENERATOR_SEED),
            journal,
        }
    }
}

/// Fills `out` with the stream that follows generator state `state`, one step per 8 bytes;
/// returns the state after.
pub fn random_bytes(mut state: u64, out: &mut [u8]) -> u64 {
    for chunk in out.chunks_mut(8) {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
    }
    state
}

impl Default for MemoryState {
    fn default() -> Self {
        MemoryState::new()
    }
}

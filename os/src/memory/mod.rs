//! memory, the character-device driver of MINIX's memory driver: `/dev/null`, `/dev/zero`,
//! `/dev/full`, `/dev/random` and `/dev/urandom` (`proto::cdev::memory`), the devices of major
//! [`MEMORY_MAJOR`](crate::proto::cdev::MEMORY_MAJOR). vfs finds it by its label through ds when a
//! process opens one of their special files, and sends it MINIX's CDEV_* requests.
//!
//! Like MINIX's, it keeps nothing per open (an open checks the minor and the access; there is no
//! close to count), so a restart loses nothing vfs relies on: vfs looks its new endpoint up and
//! sends the request again. Its one piece of state is the random devices' generator, seeded the
//! same at every boot and fresh restart so that a run replays.
//!
//! Files: `state.rs` (the generator), `table.rs` (message type -> handler), `io.rs` (open, read,
//! write).

pub mod io;
pub mod state;
pub mod table;

use crate::task::{Call, Server};
use kernel_sim::Proc;
use state::MemoryState;

/// The memory driver's character devices.
pub struct Memory;

impl Server for Memory {
    const NAME: &'static str = "memory";
    type State = MemoryState;

    fn calls() -> &'static [Call<MemoryState>] {
        table::CALLS
    }

    fn boot(proc: &Proc) -> MemoryState {
        Memory::fresh(proc)
    }

    fn fresh(_proc: &Proc) -> MemoryState {
        MemoryState::new()
    }
}

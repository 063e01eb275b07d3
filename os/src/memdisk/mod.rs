//! memdisk, a block-device driver for a memory disk (MINIX's `memory` driver's RAM disk): one
//! minor device whose blocks are the driver's manifest-declared memory. It serves MINIX's bdev
//! requests (`proto::bdev`): open, close, read and write through the caller's grants, and the
//! geometry ioctl. A file system finds it by name through ds.
//!
//! Recovery as in MINIX: rs restarts it under a new endpoint; the disk's contents survive (the
//! kernel keeps the driver's memory across incarnations), its bookkeeping (who has it open) is
//! tracked state; openers learn the new endpoint, open again and send what was in flight again.
//!
//! Files: `state.rs` (geometry, openings), `table.rs` (message type -> handler), `open.rs` (open,
//! close, ioctl), `io.rs` (read, write).

pub mod check;
pub mod io;
pub mod open;
pub mod state;
pub mod table;

use crate::proto::bdev::BLOCK_SIZE;
use crate::task::{Call, Server};
use kernel_sim::Proc;
use state::MemdiskState;

/// The memory-disk driver.
pub struct Memdisk;

impl Server for Memdisk {
    const NAME: &'static str = "memdisk";
    type State = MemdiskState;

    fn calls() -> &'static [Call<MemdiskState>] {
        table::CALLS
    }

    fn check_invariants(state: &mut MemdiskState) -> Vec<String> {
        state.check_invariants()
    }

    fn boot(proc: &Proc) -> MemdiskState {
        Memdisk::fresh(proc)
    }

    fn fresh(proc: &Proc) -> MemdiskState {
        // The disk is the whole blocks of the driver's memory (the manifest declares pages).
        let memory = proc.service_memory_bytes();
        MemdiskState::new(memory - memory % BLOCK_SIZE)
    }
}

//! vfs, the virtual file system: per-process descriptor tables and working directories, the global
//! open-file table shared by descriptors after fork and dup, and pm's process notices.
//!
//! Files: `state.rs`, `table.rs` (message type -> handler), `procs.rs` (pm's notices).

pub mod procs;
pub mod state;
pub mod table;

use crate::proto::{INIT, key_of};
use crate::task::{Call, Ctx, Server};
use kernel_sim::Proc;
use state::{FilpId, Fproc, VfsState};

/// The virtual file system.
pub struct Vfs;

impl Server for Vfs {
    const NAME: &'static str = "vfs";
    type State = VfsState;

    fn calls() -> &'static [Call<VfsState>] {
        table::CALLS
    }

    fn boot(_proc: &Proc) -> VfsState {
        let mut state = VfsState::empty();
        state.fprocs.insert_global(key_of(INIT), Fproc::new(INIT));
        state
    }

    fn fresh(proc: &Proc) -> VfsState {
        Vfs::boot(proc)
    }
}

/// Drops a descriptor's reference to an open file.
pub fn close_filp(ctx: &mut Ctx<'_, VfsState>, id: FilpId) {
    ctx.state.put_filp(id);
}

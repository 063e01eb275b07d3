//! vm, the virtual memory manager: frames from the kernel, one address space per user process made
//! of regions (text, heap, stack, anonymous mappings), fork copies, exec replaces, exit frees.
//! vm decides which frame backs which page and tells the kernel through `vmctl` kernel calls.
//!
//! Files: `state.rs` (frames and address spaces), `table.rs` (message type -> handler), `fork.rs`
//! (fork and exit), `info.rs` (statistics), `space.rs` (building and mapping address spaces).

pub mod fork;
pub mod info;
pub mod space;
pub mod state;
pub mod table;

use crate::proto::INIT;
use crate::task::{Call, Server};
use kernel_sim::Proc;
use state::VmState;

/// The virtual memory manager.
pub struct Vm;

impl Server for Vm {
    const NAME: &'static str = "vm";
    type State = VmState;

    fn calls() -> &'static [Call<VmState>] {
        table::CALLS
    }

    fn boot(proc: &Proc) -> VmState {
        let mut state = Vm::fresh(proc);
        space::create_initial(proc, &mut state, INIT).expect("the machine has memory for init");
        state
    }

    fn fresh(proc: &Proc) -> VmState {
        let total = proc.sys_total_frames().expect("vm may read the memory size") as u64;
        VmState::empty(total)
    }
}

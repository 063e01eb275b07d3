//! vm, the virtual memory manager: frames from the kernel, one address space per user process made
//! of regions (text, heap grown by brk, stack, anonymous mappings); fork copies, exec replaces,
//! exit frees. vm decides which frame backs which page and tells the kernel through the `vmctl`
//! kernel calls, so the kernel's page table of a process always equals vm's regions for it.
//!
//! Who may call: pm (fork, willexit, exit, getrusage), vfs (exec's new memory, file mappings),
//! user processes (brk, mmap, munmap, mprotect, mremap, info, regions), each for its own range of
//! message types; vm checks this itself too.
//!
//! Files: `state.rs` (frames and address spaces, their invariants), `table.rs` (message type ->
//! handler), `request.rs` (who may call, which space a call acts on), `brk.rs`, `mmap.rs` (mmap,
//! munmap), `filemap.rs` (file mappings, filled through vfs; shared ones tagged with their file
//! and lent again when it changes), `protect.rs` (mprotect), `remap.rs` (mremap), `exec.rs`,
//! `fork.rs` (fork, willexit, exit), `info.rs` (statistics, the memory map), `space.rs` (building,
//! filling and freeing spaces in step with the kernel), `check.rs` (the invariants checked over
//! the whole state).

pub mod brk;
pub mod check;
pub mod exec;
pub mod filemap;
pub mod fork;
pub mod info;
pub mod mmap;
pub mod protect;
pub mod remap;
pub mod request;
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

    fn check_invariants(state: &mut VmState) -> Vec<String> {
        state.check_invariants()
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

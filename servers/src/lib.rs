//! samsara's system servers (pm, vm, vfs, ds, sched, rs), the user-side syscall library, user programs,
//! workloads, and the cross-server consistency checker.
//!
//! Every server has the same shape (MINIX's): `state.rs` (all mutable state, in `recovery`'s
//! tracked containers), `table.rs` (message type -> `do_*` handler), handlers grouped by topic,
//! and `mod.rs` tying them to the one task loop in [`task`]. Servers reach each other only by IPC
//! through the kernel. Start reading at [`task`], then [`pm`].

pub mod boot;
pub mod checker;
pub mod ds;
pub mod errno;
pub mod fault;
pub mod fuzz;
pub mod libbdev;
pub mod libc;
pub mod memdisk;
pub mod mfs;
pub mod pm;
pub mod programs;
pub mod proto;
pub mod rs;
pub mod run;
pub mod sched;
pub mod sef;
pub mod task;
pub mod vfs;
pub mod vm;
pub mod workload;

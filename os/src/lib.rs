//! samsara's operating system: the servers (pm, vm, vfs, mfs, memdisk, memory, ds, sched, rs), the
//! protocols they speak, and the one task loop they share.
//!
//! Every server has the same shape (MINIX's): `state.rs` (all mutable state, in `recovery`'s
//! tracked containers), `table.rs` (message type -> `do_*` handler), `check.rs` (its invariants,
//! checked at the top of its loop), handlers grouped by topic, and `mod.rs` tying them to the task
//! loop in [`task`]. Servers reach each other only by IPC through the kernel. Start reading at
//! [`task`], then [`pm`]. Everything here is what the static analysis reads: a server or code
//! linked into the servers.

pub mod ds;
pub mod errno;
pub mod fault;
pub mod invariant;
pub mod libbdev;
pub mod memdisk;
pub mod memory;
pub mod mfs;
pub mod pm;
pub mod proto;
pub mod rs;
pub mod sched;
pub mod sef;
pub mod task;
pub mod vfs;
pub mod vm;

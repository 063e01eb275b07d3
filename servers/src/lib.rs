//! samsara's system servers (pm, vm, vfs, rs), the user-side syscall library, workloads and the
//! cross-server consistency checker.
//!
//! Not built yet (issue 3); nothing here pretends to work.

pub mod workload;

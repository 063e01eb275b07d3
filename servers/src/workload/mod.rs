//! Workloads that drive the system: programs whose system calls exercise pm, vm and vfs, so that a
//! fault-injection run has requests to break and a result to check.
//!
//! - [`strace`]: real programs' system-call logs (`strace -f -o FILE`), parsed and mapped onto
//!   samsara's calls with their process tree, ready to be replayed.

pub mod strace;

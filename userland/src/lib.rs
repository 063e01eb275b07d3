//! samsara's user side: what runs in user processes on top of the servers.
//!
//! [`libc`] is the syscall library (every call a message to pm, vm or vfs; signal handlers run at
//! its syscall boundary), [`programs`] the programs exec loads, [`workload`] the POSIX suite,
//! unixbench's loops and strace replay, and [`fuzz`] the plans of hostile calls the fuzzer's
//! workers make.

pub mod fuzz;
pub mod libc;
pub mod programs;
pub mod workload;

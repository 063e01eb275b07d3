//! The user programs exec can load, by the name a program file stores.
//!
//! A program is a function of the system calls and the argument vector returning the exit status.
//! The boot puts them in the kernel's boot image, and mfs makes `/bin/NAME` for each; a program
//! file holds `os::proto::PROGRAM_MAGIC` and the program's name.

pub mod coreutils;
pub mod workload;

use crate::libc::Sys;

/// A user program's entry point.
pub type UserMain = fn(&Sys<'_>, &[String]) -> i32;

/// Every program, by name.
pub fn registry() -> &'static [(&'static str, UserMain)] {
    &[
        ("true", true_main),
        ("false", false_main),
        ("echo", coreutils::echo),
        ("cat", coreutils::cat),
        ("exit_with", coreutils::exit_with),
        ("replay", workload::replay_main),
    ]
}

fn true_main(_: &Sys<'_>, _: &[String]) -> i32 {
    0
}

fn false_main(_: &Sys<'_>, _: &[String]) -> i32 {
    1
}

//! The user programs exec can load, by the name a program file stores.
//!
//! A program is a function of the system calls and the argument vector returning the exit status.
//! vfs creates `/bin/NAME` for each at boot; the file's contents name the program.

pub mod coreutils;
pub mod workload;

use crate::libc::Sys;

/// A user program's entry point.
pub type UserMain = fn(&Sys<'_>, &[String]) -> i32;

/// The first bytes of every program file.
pub const PROGRAM_MAGIC: &[u8] = b"#!samsara ";

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

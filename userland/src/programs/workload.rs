//! Programs the workloads exec.
//!
//! - `replay`: the image a replayed strace `execve` loads. Every program a replayed log exec'd is a
//!   program file in the replay's sandbox naming this program; the new image reads the plan its
//!   process left before the exec and goes on replaying (`workload::strace::replay`).

use crate::libc::Sys;

/// `replay`: continues a strace replay after a real exec; exits with the traced process's status.
pub fn replay_main(sys: &Sys<'_>, argv: &[String]) -> i32 {
    crate::workload::strace::replay::resume(sys, argv)
}

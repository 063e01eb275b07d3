//! Calls to sched (range 0xA00), all from pm: start scheduling a process (at fork, inheriting its
//! parent's nice value), stop (at exit), set and get its nice value (setpriority, getpriority).
//! The kernel's word that a quantum ran out is a notification from the kernel, not a call.

use kernel_sim::msgtype::SCHED_BASE;
use kernel_sim::{Endpoint, MsgType, payload};

/// pm: schedule the new process `proc`, with the nice value of `parent` (init: the default).
pub const SCHED_START: MsgType = SCHED_BASE + 0x01;
/// pm: stop scheduling `proc` (it is exiting). ESRCH when sched does not schedule it.
pub const SCHED_STOP: MsgType = SCHED_BASE + 0x02;
/// pm: set `proc`'s nice value (setpriority). EINVAL out of [`PRIO_MIN`, `PRIO_MAX`], EACCES
/// when it lowers the value (raises the priority) and the caller is not privileged, ESRCH when
/// not scheduled.
pub const SCHED_SET_NICE: MsgType = SCHED_BASE + 0x03;
/// pm: `proc`'s nice value (getpriority). ESRCH when not scheduled.
pub const SCHED_GET_NICE: MsgType = SCHED_BASE + 0x04;

/// The lowest nice value: the highest priority (POSIX's and MINIX's PRIO_MIN).
pub const PRIO_MIN: i32 = -20;
/// The highest nice value: the lowest priority (PRIO_MAX).
pub const PRIO_MAX: i32 = 19;
/// getpriority/setpriority's `which` for one process (the only one MINIX's pm serves).
pub const PRIO_PROCESS: i32 = 0;
/// `which` for a process group (EINVAL here, as in MINIX).
pub const PRIO_PGRP: i32 = 1;
/// `which` for a user (EINVAL here, as in MINIX).
pub const PRIO_USER: i32 = 2;

payload! {
    /// SCHED_START: the new process and its parent (whose nice value it inherits).
    pub struct SchedStartRequest { pub proc: Endpoint, pub parent: Endpoint }
}
payload! {
    /// SCHED_STOP and SCHED_GET_NICE: the process.
    pub struct SchedProcRequest { pub proc: Endpoint }
}
payload! {
    /// SCHED_SET_NICE: the process, its new nice value, and whether the caller may lower it
    /// (pm says so for the superuser).
    pub struct SchedNiceRequest { pub proc: Endpoint, pub nice: i32, pub privileged: bool }
}
payload! {
    /// SCHED_GET_NICE reply: the nice value.
    pub struct SchedNiceReply { pub nice: i32 }
}

/// The name of a sched message type.
pub fn name(t: MsgType) -> Option<&'static str> {
    Some(match t {
        SCHED_START => "sched_start",
        SCHED_STOP => "sched_stop",
        SCHED_SET_NICE => "sched_set_nice",
        SCHED_GET_NICE => "sched_get_nice",
        _ => return None,
    })
}

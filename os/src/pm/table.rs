//! pm's call table: message type -> `do_*` handler (MINIX's `table.c`), sorted by type.

use super::{exec, forkexit, getset, ids, misc, priority, signal, time};
use crate::proto::pm::*;
use crate::task::Call;
use kernel_sim::msgtype::NOTIFY_MESSAGE;

use super::state::PmState;

/// Every call pm serves.
pub static CALLS: &[Call<PmState>] = &[
    Call { m_type: PM_EXIT, name: "exit", handler: forkexit::do_exit },
    Call { m_type: PM_FORK, name: "fork", handler: forkexit::do_fork },
    Call { m_type: PM_WAIT4, name: "wait4", handler: forkexit::do_wait4 },
    Call { m_type: PM_GETPID, name: "getpid", handler: getset::do_getpid },
    Call { m_type: PM_GETUID, name: "getuid", handler: getset::do_getuid },
    Call { m_type: PM_SETUID, name: "setuid", handler: getset::do_setuid },
    Call { m_type: PM_SETGID, name: "setgid", handler: getset::do_setgid },
    Call { m_type: PM_KILL, name: "kill", handler: signal::do_kill },
    Call { m_type: PM_EXEC, name: "exec", handler: exec::do_exec },
    Call { m_type: PM_REBOOT, name: "reboot", handler: misc::do_reboot },
    Call { m_type: PM_SIGACTION, name: "sigaction", handler: signal::do_sigaction },
    Call { m_type: PM_SIGPROCMASK, name: "sigprocmask", handler: signal::do_sigprocmask },
    Call { m_type: PM_SIGPENDING, name: "sigpending", handler: signal::do_sigpending },
    Call { m_type: PM_SIGSUSPEND, name: "sigsuspend", handler: signal::do_sigsuspend },
    Call { m_type: PM_SIGRETURN, name: "sigreturn", handler: signal::do_sigreturn },
    Call { m_type: PM_ALARM, name: "alarm", handler: time::do_alarm },
    Call { m_type: PM_SETITIMER, name: "setitimer", handler: time::do_setitimer },
    Call { m_type: PM_GETITIMER, name: "getitimer", handler: time::do_getitimer },
    Call { m_type: PM_GETPPID, name: "getppid", handler: ids::do_getppid },
    Call { m_type: PM_GETGID, name: "getgid", handler: ids::do_getgid },
    Call { m_type: PM_GETEUID, name: "geteuid", handler: ids::do_geteuid },
    Call { m_type: PM_GETEGID, name: "getegid", handler: ids::do_getegid },
    Call { m_type: PM_SETEUID, name: "seteuid", handler: ids::do_seteuid },
    Call { m_type: PM_SETEGID, name: "setegid", handler: ids::do_setegid },
    Call { m_type: PM_SETSID, name: "setsid", handler: ids::do_setsid },
    Call { m_type: PM_GETPGRP, name: "getpgrp", handler: ids::do_getpgrp },
    Call { m_type: PM_GETSID, name: "getsid", handler: ids::do_getsid },
    Call { m_type: PM_GETPGID, name: "getpgid", handler: ids::do_getpgid },
    Call { m_type: PM_SETPGID, name: "setpgid", handler: ids::do_setpgid },
    Call { m_type: PM_GETGROUPS, name: "getgroups", handler: ids::do_getgroups },
    Call { m_type: PM_SETGROUPS, name: "setgroups", handler: ids::do_setgroups },
    Call { m_type: PM_GETRUSAGE, name: "getrusage", handler: time::do_getrusage },
    Call { m_type: PM_TIMES, name: "times", handler: time::do_times },
    Call { m_type: PM_CLOCK_GETTIME, name: "clock_gettime", handler: time::do_clock_gettime },
    Call { m_type: PM_CLOCK_SETTIME, name: "clock_settime", handler: time::do_clock_settime },
    Call { m_type: PM_GETTIMEOFDAY, name: "gettimeofday", handler: time::do_gettimeofday },
    Call { m_type: PM_GETPRIORITY, name: "getpriority", handler: priority::do_getpriority },
    Call { m_type: PM_SETPRIORITY, name: "setpriority", handler: priority::do_setpriority },
    Call { m_type: VFS_PM_FORK_REPLY, name: "vfs_pm_fork_reply", handler: forkexit::do_vfs_fork_reply },
    Call { m_type: VFS_PM_EXIT_REPLY, name: "vfs_pm_exit_reply", handler: forkexit::do_vfs_exit_reply },
    Call { m_type: VFS_PM_EXEC_REPLY, name: "vfs_pm_exec_reply", handler: exec::do_vfs_exec_reply },
    Call { m_type: VFS_PM_SETID_REPLY, name: "vfs_pm_setid_reply", handler: getset::do_vfs_setid_reply },
    Call { m_type: VFS_PM_REBOOT_REPLY, name: "vfs_pm_reboot_reply", handler: misc::do_vfs_reboot_reply },
    Call { m_type: VFS_PM_UNPAUSE_REPLY, name: "vfs_pm_unpause_reply", handler: signal::do_vfs_unpause_reply },
    Call { m_type: NOTIFY_MESSAGE, name: "kernel_notify", handler: forkexit::do_kernel_notify },
];

//! pm's call table: message type -> `do_*` handler (MINIX's `table.c`), sorted by type.

use super::{exec, forkexit, getset, misc, priority, signal};
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
    Call { m_type: PM_GETPRIORITY, name: "getpriority", handler: priority::do_getpriority },
    Call { m_type: PM_SETPRIORITY, name: "setpriority", handler: priority::do_setpriority },
    Call { m_type: VFS_PM_FORK_REPLY, name: "vfs_pm_fork_reply", handler: forkexit::do_vfs_fork_reply },
    Call { m_type: VFS_PM_EXIT_REPLY, name: "vfs_pm_exit_reply", handler: forkexit::do_vfs_exit_reply },
    Call { m_type: VFS_PM_EXEC_REPLY, name: "vfs_pm_exec_reply", handler: exec::do_vfs_exec_reply },
    Call { m_type: VFS_PM_SETID_REPLY, name: "vfs_pm_setid_reply", handler: getset::do_vfs_setid_reply },
    Call { m_type: VFS_PM_REBOOT_REPLY, name: "vfs_pm_reboot_reply", handler: misc::do_vfs_reboot_reply },
    Call { m_type: NOTIFY_MESSAGE, name: "kernel_notify", handler: forkexit::do_kernel_notify },
];

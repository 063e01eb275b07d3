//! vfs's call table: message type -> `do_*` handler, sorted by type.

use super::procs;
use super::state::VfsState;
use crate::proto::pm::*;
use crate::task::Call;

/// Every call vfs serves.
pub static CALLS: &[Call<VfsState>] = &[
    Call { m_type: PM_VFS_FORK, name: "pm_vfs_fork", handler: procs::do_pm_fork },
    Call { m_type: PM_VFS_EXIT, name: "pm_vfs_exit", handler: procs::do_pm_exit },
    Call { m_type: PM_VFS_SETID, name: "pm_vfs_setid", handler: procs::do_pm_setid },
    Call { m_type: PM_VFS_REBOOT, name: "pm_vfs_reboot", handler: procs::do_pm_reboot },
];

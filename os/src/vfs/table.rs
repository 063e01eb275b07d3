//! vfs's call table: message type -> `do_*` handler, sorted by type (user calls, then pm's
//! requests, then notifications: the kernel's alarm, for poll's timeouts).

use super::state::VfsState;
use super::{attr, dup, exec, fcntl, flock, link, mmap, open, pipe, poll, procs, read, stat};
use crate::proto::pm::*;
use crate::proto::vfs::*;
use crate::task::Call;
use kernel_sim::msgtype::NOTIFY_MESSAGE;

/// Every call vfs serves.
pub static CALLS: &[Call<VfsState>] = &[
    Call { m_type: VFS_OPEN, name: "open", handler: open::do_open },
    Call { m_type: VFS_CLOSE, name: "close", handler: open::do_close },
    Call { m_type: VFS_READ, name: "read", handler: read::do_read },
    Call { m_type: VFS_WRITE, name: "write", handler: read::do_write },
    Call { m_type: VFS_LSEEK, name: "lseek", handler: read::do_lseek },
    Call { m_type: VFS_UNLINK, name: "unlink", handler: link::do_unlink },
    Call { m_type: VFS_MKDIR, name: "mkdir", handler: link::do_mkdir },
    Call { m_type: VFS_RMDIR, name: "rmdir", handler: link::do_rmdir },
    Call { m_type: VFS_STAT, name: "stat", handler: stat::do_stat },
    Call { m_type: VFS_FSTAT, name: "fstat", handler: stat::do_fstat },
    Call { m_type: VFS_DUP, name: "dup", handler: dup::do_dup },
    Call { m_type: VFS_DUP2, name: "dup2", handler: dup::do_dup2 },
    Call { m_type: VFS_PIPE, name: "pipe", handler: pipe::do_pipe },
    Call { m_type: VFS_GETDENTS, name: "getdents", handler: read::do_getdents },
    Call { m_type: VFS_CHDIR, name: "chdir", handler: stat::do_chdir },
    Call { m_type: VFS_LINK, name: "link", handler: link::do_link },
    Call { m_type: VFS_RENAME, name: "rename", handler: link::do_rename },
    Call { m_type: VFS_FCNTL, name: "fcntl", handler: fcntl::do_fcntl },
    Call { m_type: VFS_UMASK, name: "umask", handler: fcntl::do_umask },
    Call { m_type: VFS_PIPE2, name: "pipe2", handler: fcntl::do_pipe2 },
    Call { m_type: VFS_FCHDIR, name: "fchdir", handler: fcntl::do_fchdir },
    Call { m_type: VFS_POLL, name: "poll", handler: poll::do_poll },
    Call { m_type: VFS_GETCWD, name: "getcwd", handler: fcntl::do_getcwd },
    Call { m_type: VFS_FLOCK, name: "flock", handler: flock::do_flock },
    Call { m_type: VFS_CHMOD, name: "chmod", handler: attr::do_chmod },
    Call { m_type: VFS_FCHMOD, name: "fchmod", handler: attr::do_fchmod },
    Call { m_type: VFS_CHOWN, name: "chown", handler: attr::do_chown },
    Call { m_type: VFS_FCHOWN, name: "fchown", handler: attr::do_fchown },
    Call { m_type: VFS_TRUNCATE, name: "truncate", handler: attr::do_truncate },
    Call { m_type: VFS_FTRUNCATE, name: "ftruncate", handler: attr::do_ftruncate },
    Call { m_type: VFS_ACCESS, name: "access", handler: attr::do_access },
    Call { m_type: VFS_STATVFS, name: "statvfs", handler: attr::do_statvfs },
    Call { m_type: VFS_FSTATVFS, name: "fstatvfs", handler: attr::do_fstatvfs },
    Call { m_type: VFS_SYMLINK, name: "symlink", handler: link::do_symlink },
    Call { m_type: VFS_READLINK, name: "readlink", handler: stat::do_readlink },
    Call { m_type: VFS_LSTAT, name: "lstat", handler: stat::do_lstat },
    Call { m_type: VFS_FSYNC, name: "fsync", handler: attr::do_fsync },
    Call { m_type: VFS_SYNC, name: "sync", handler: attr::do_sync },
    Call { m_type: VFS_GETVFSSTAT, name: "getvfsstat", handler: attr::do_getvfsstat },
    Call { m_type: VFS_UTIMENS, name: "utimens", handler: attr::do_utimens },
    Call { m_type: VFS_MKNOD, name: "mknod", handler: link::do_mknod },
    Call { m_type: VFS_MMAP, name: "mmap", handler: mmap::do_mmap },
    Call { m_type: PM_VFS_FORK, name: "pm_vfs_fork", handler: procs::do_pm_fork },
    Call { m_type: PM_VFS_EXIT, name: "pm_vfs_exit", handler: procs::do_pm_exit },
    Call { m_type: PM_VFS_EXEC, name: "pm_vfs_exec", handler: exec::do_pm_exec },
    Call { m_type: PM_VFS_SETID, name: "pm_vfs_setid", handler: procs::do_pm_setid },
    Call { m_type: PM_VFS_REBOOT, name: "pm_vfs_reboot", handler: procs::do_pm_reboot },
    Call { m_type: PM_VFS_UNPAUSE, name: "pm_vfs_unpause", handler: pipe::do_pm_unpause },
    Call { m_type: NOTIFY_MESSAGE, name: "vfs_notify", handler: super::do_notify },
];

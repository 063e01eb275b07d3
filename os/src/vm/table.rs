//! vm's call table: message type -> `do_*` handler, sorted by type. Who may make each call is
//! fixed by its range (`proto::vm::caller_of`); every handler checks it first.

use super::state::VmState;
use super::{brk, exec, filemap, fork, info, mmap, protect, remap};
use crate::proto::vm::*;
use crate::task::Call;

/// Every call vm serves.
pub static CALLS: &[Call<VmState>] = &[
    Call { m_type: VM_EXIT, name: "vm_exit", handler: fork::do_exit },
    Call { m_type: VM_FORK, name: "vm_fork", handler: fork::do_fork },
    Call { m_type: VM_WILLEXIT, name: "vm_willexit", handler: fork::do_willexit },
    Call { m_type: VM_GETRUSAGE, name: "vm_getrusage", handler: info::do_getrusage },
    Call { m_type: VM_EXEC_NEWMEM, name: "vm_exec_newmem", handler: exec::do_exec_newmem },
    Call { m_type: VM_VFS_MMAP, name: "vm_vfs_mmap", handler: filemap::do_vfs_mmap },
    Call { m_type: VM_VFS_MMAP_DONE, name: "vm_vfs_mmap_done", handler: filemap::do_vfs_mmap_done },
    Call { m_type: VM_VFS_MAP_REFRESH, name: "vm_vfs_map_refresh", handler: filemap::do_vfs_map_refresh },
    Call { m_type: VM_VFS_MAPPED, name: "vm_vfs_mapped", handler: filemap::do_vfs_mapped },
    Call { m_type: VM_BRK, name: "brk", handler: brk::do_brk },
    Call { m_type: VM_MMAP, name: "mmap", handler: mmap::do_mmap },
    Call { m_type: VM_MUNMAP, name: "munmap", handler: mmap::do_munmap },
    Call { m_type: VM_INFO, name: "vm_info", handler: info::do_info },
    Call { m_type: VM_MPROTECT, name: "mprotect", handler: protect::do_mprotect },
    Call { m_type: VM_MREMAP, name: "mremap", handler: remap::do_mremap },
    Call { m_type: VM_REGIONS, name: "vm_regions", handler: info::do_regions },
];

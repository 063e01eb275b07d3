//! vm's call table: message type -> `do_*` handler, sorted by type.

use super::state::VmState;
use super::{fork, info};
use crate::proto::vm::*;
use crate::task::Call;

/// Every call vm serves.
pub static CALLS: &[Call<VmState>] = &[
    Call { m_type: VM_EXIT, name: "vm_exit", handler: fork::do_exit },
    Call { m_type: VM_FORK, name: "vm_fork", handler: fork::do_fork },
    Call { m_type: VM_INFO, name: "vm_info", handler: info::do_info },
];

//! sched's call table: message type -> `do_*` handler, sorted by type.

use super::schedule;
use super::state::SchedState;
use crate::proto::sched::*;
use crate::task::Call;
use kernel_sim::msgtype::NOTIFY_MESSAGE;

/// Every call sched serves.
pub static CALLS: &[Call<SchedState>] = &[
    Call { m_type: SCHED_START, name: "sched_start", handler: schedule::do_start },
    Call { m_type: SCHED_STOP, name: "sched_stop", handler: schedule::do_stop },
    Call { m_type: SCHED_SET_NICE, name: "sched_set_nice", handler: schedule::do_set_nice },
    Call { m_type: SCHED_GET_NICE, name: "sched_get_nice", handler: schedule::do_get_nice },
    Call { m_type: NOTIFY_MESSAGE, name: "sched_kernel_notify", handler: schedule::do_kernel_notify },
];

//! memory's call table: message type -> `do_*` handler (MINIX's `chardriver` table), sorted by
//! type.

use super::io;
use super::state::MemoryState;
use crate::proto::cdev::*;
use crate::task::Call;

/// Every request memory serves.
pub static CALLS: &[Call<MemoryState>] = &[
    Call { m_type: CDEV_OPEN, name: "cdev_open", handler: io::do_open },
    Call { m_type: CDEV_READ, name: "cdev_read", handler: io::do_read },
    Call { m_type: CDEV_WRITE, name: "cdev_write", handler: io::do_write },
];

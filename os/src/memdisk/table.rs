//! memdisk's call table: message type -> `do_*` handler (MINIX's `bdev_driver` table), sorted by
//! type.

use super::state::MemdiskState;
use super::{io, open};
use crate::proto::bdev::*;
use crate::task::Call;

/// Every request memdisk serves.
pub static CALLS: &[Call<MemdiskState>] = &[
    Call { m_type: BDEV_OPEN, name: "bdev_open", handler: open::do_open },
    Call { m_type: BDEV_CLOSE, name: "bdev_close", handler: open::do_close },
    Call { m_type: BDEV_READ, name: "bdev_read", handler: io::do_read },
    Call { m_type: BDEV_WRITE, name: "bdev_write", handler: io::do_write },
    Call { m_type: BDEV_IOCTL, name: "bdev_ioctl", handler: open::do_ioctl },
];

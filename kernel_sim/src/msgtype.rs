//! Message-type ranges, allocated per server as in MINIX's `com.h`, with membership predicates.
//!
//! The kernel knows only the ranges (so the manifest can grant "all calls to vm", and traces can say
//! which server a message was for); each server defines its own calls inside its range.

use crate::message::MsgType;

/// Width of a request range.
pub const RANGE_SIZE: MsgType = 0x100;
/// Width of each half of the pm <-> vfs range.
pub const HALF_RANGE_SIZE: MsgType = 0x80;

/// Calls to pm.
pub const PM_BASE: MsgType = 0x000;
/// Calls to vfs.
pub const VFS_BASE: MsgType = 0x100;
/// Requests from vfs to a file-system server (MINIX's REQ_*, `vfsif.h`).
pub const FS_BASE: MsgType = 0x200;
/// Requests to a block-device driver (MINIX's BDEV_*).
pub const BDEV_BASE: MsgType = 0x300;
/// Requests to a character-device driver (MINIX's CDEV_*).
pub const CDEV_BASE: MsgType = 0x400;
/// Calls to rs.
pub const RS_BASE: MsgType = 0x700;
/// Calls to ds, the data store.
pub const DS_BASE: MsgType = 0x800;
/// Calls to sched (from pm; the kernel's out-of-quantum messages are notifications).
pub const SCHED_BASE: MsgType = 0xA00;
/// Requests from pm to vfs.
pub const PM_VFS_BASE: MsgType = 0x900;
/// Replies and requests from vfs to pm.
pub const VFS_PM_BASE: MsgType = 0x980;
/// Calls to vm.
pub const VM_BASE: MsgType = 0xC00;
/// Notifications (kernel-made messages: notify, alarms).
pub const NOTIFY_BASE: MsgType = 0x1000;
/// Control messages from rs to any service (heartbeat pings, fault injection, live update).
pub const SEF_BASE: MsgType = 0x1100;

/// The type of a message made by the kernel for a `notify`.
pub const NOTIFY_MESSAGE: MsgType = NOTIFY_BASE;

const fn within(t: MsgType, base: MsgType, size: MsgType) -> bool {
    t >= base && t < base + size
}

/// A call to pm.
pub const fn is_pm_call(t: MsgType) -> bool {
    within(t, PM_BASE, RANGE_SIZE)
}
/// A call to vfs.
pub const fn is_vfs_call(t: MsgType) -> bool {
    within(t, VFS_BASE, RANGE_SIZE)
}
/// A request to a file-system server.
pub const fn is_fs_request(t: MsgType) -> bool {
    within(t, FS_BASE, RANGE_SIZE)
}
/// A request to a block-device driver.
pub const fn is_bdev_request(t: MsgType) -> bool {
    within(t, BDEV_BASE, RANGE_SIZE)
}
/// A request to a character-device driver.
pub const fn is_cdev_request(t: MsgType) -> bool {
    within(t, CDEV_BASE, RANGE_SIZE)
}
/// A call to sched.
pub const fn is_sched_call(t: MsgType) -> bool {
    within(t, SCHED_BASE, RANGE_SIZE)
}
/// A call to rs.
pub const fn is_rs_call(t: MsgType) -> bool {
    within(t, RS_BASE, RANGE_SIZE)
}
/// A call to ds.
pub const fn is_ds_call(t: MsgType) -> bool {
    within(t, DS_BASE, RANGE_SIZE)
}
/// A request from pm to vfs.
pub const fn is_pm_vfs_request(t: MsgType) -> bool {
    within(t, PM_VFS_BASE, HALF_RANGE_SIZE)
}
/// A message from vfs to pm.
pub const fn is_vfs_pm_message(t: MsgType) -> bool {
    within(t, VFS_PM_BASE, HALF_RANGE_SIZE)
}
/// A call to vm.
pub const fn is_vm_call(t: MsgType) -> bool {
    within(t, VM_BASE, RANGE_SIZE)
}
/// A kernel-made notification.
pub const fn is_notify(t: MsgType) -> bool {
    within(t, NOTIFY_BASE, RANGE_SIZE)
}
/// A control message of the shared receive wrapper (SEF).
pub const fn is_sef_control(t: MsgType) -> bool {
    within(t, SEF_BASE, RANGE_SIZE)
}

/// The name of the range `t` falls in, for traces and reports.
pub fn range_name(t: MsgType) -> &'static str {
    match t {
        t if t < 0 => "error-reply",
        t if is_pm_call(t) => "pm",
        t if is_vfs_call(t) => "vfs",
        t if is_fs_request(t) => "fs",
        t if is_bdev_request(t) => "bdev",
        t if is_cdev_request(t) => "cdev",
        t if is_sched_call(t) => "sched",
        t if is_rs_call(t) => "rs",
        t if is_ds_call(t) => "ds",
        t if is_pm_vfs_request(t) => "pm->vfs",
        t if is_vfs_pm_message(t) => "vfs->pm",
        t if is_vm_call(t) => "vm",
        t if is_notify(t) => "notify",
        t if is_sef_control(t) => "sef",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_do_not_overlap() {
        let predicates: [fn(MsgType) -> bool; 14] = [
            is_pm_call,
            is_vfs_call,
            is_fs_request,
            is_bdev_request,
            is_cdev_request,
            is_sched_call,
            is_rs_call,
            is_ds_call,
            is_pm_vfs_request,
            is_vfs_pm_message,
            is_vm_call,
            is_notify,
            is_sef_control,
            |t| t < 0,
        ];
        for t in -5..0x1300 {
            let hits = predicates.iter().filter(|p| p(t)).count();
            assert!(hits <= 1, "type {t:#x} is in {hits} ranges");
        }
    }

    #[test]
    fn predicates_match_minix_bases() {
        assert!(is_pm_call(0x001));
        assert!(is_vfs_call(0x10f));
        assert!(is_pm_vfs_request(0x901));
        assert!(is_vfs_pm_message(0x981));
        assert!(!is_pm_vfs_request(0x981));
        assert!(is_vm_call(0xC03));
        assert_eq!(range_name(0xC03), "vm");
        assert_eq!(range_name(-22), "error-reply");
    }
}

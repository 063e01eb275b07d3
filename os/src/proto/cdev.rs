//! Requests to a character-device driver (range 0x400, MINIX's CDEV_*): open a minor device,
//! read and write bytes through a grant of the user's buffer. vfs sends them when a process opens,
//! reads or writes a character special file (mknod S_IFCHR); the device's major number names the
//! driver (vfs's dmap) and its minor the device the driver serves.
//!
//! The driver answers [`CDEV_REPLY`], whose status is the result: 0 for an open, the bytes moved
//! for a read or a write, `-errno` on failure (in the payload, as MINIX's drivers answer: an error
//! the driver reports, say a copy to a process that died meanwhile, is never taken for the
//! kernel's error that the driver itself died):
//! - `ENXIO`: no such minor device;
//! - `EINVAL`: a bad access mode;
//! - `ENOSPC`: a write to a device that is always full (`/dev/full`);
//! - `EPERM`, `EFAULT`: the grant is not the driver's, or is shorter than `count` (safecopy's).
//!
//! A driver is found by its label through ds, and after a restart it answers under a new endpoint:
//! a request to the old one fails with the kernel's dead-endpoint error, and vfs waits for ds's
//! news of the label and sends the request again (MINIX's vfs learns the new endpoint from ds's
//! notification, `dmap_endpt_up`).

use kernel_sim::msgtype::CDEV_BASE;
use kernel_sim::{MsgType, payload};

/// Open a minor device for reading and/or writing ([`CdevRequest`]'s `access`); answers 0.
pub const CDEV_OPEN: MsgType = CDEV_BASE + 0x01;
/// Read up to `count` bytes at `position` into the granted buffer ([`CdevRequest`]); answers
/// the bytes read.
pub const CDEV_READ: MsgType = CDEV_BASE + 0x03;
/// Write `count` bytes at `position` from the granted buffer ([`CdevRequest`]); answers the
/// bytes written.
pub const CDEV_WRITE: MsgType = CDEV_BASE + 0x04;

/// The driver's answer to any request ([`CdevReply`]).
pub const CDEV_REPLY: MsgType = CDEV_BASE + 0x80;

/// Open for reading (MINIX's CDEV_R_BIT).
pub const CDEV_R_BIT: u32 = 0x01;
/// Open for writing (MINIX's CDEV_W_BIT).
pub const CDEV_W_BIT: u32 = 0x02;

/// A device number's major (the driver) and minor (the device it serves), packed as Linux's
/// `makedev` packs the small numbers (major in bits 8..20, minor in bits 0..8 and 20..32), so a
/// number an strace log shows means the same device here.
pub mod dev {
    /// The driver's number.
    pub fn major(dev: u32) -> u32 {
        (dev >> 8) & 0xfff
    }
    /// The device's number within its driver.
    pub fn minor(dev: u32) -> u32 {
        (dev & 0xff) | ((dev >> 12) & 0xfff00)
    }
    /// The device number of `major`, `minor`.
    pub fn makedev(major: u32, minor: u32) -> u32 {
        (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & !0xff) << 12)
    }
}

/// The memory driver's major (MINIX's MEMORY_MAJOR and Linux's mem are both 1) and its label in
/// ds.
pub const MEMORY_MAJOR: u32 = 1;
/// The memory driver's label: the name rs publishes it under.
pub const MEMORY_LABEL: &str = "memory";
/// The controlling terminal's major, `/dev/tty` (MINIX's CTTY_MAJOR and Linux's tty are both 5,
/// minor 0): vfs answers it itself, not a driver (`vfs/device.rs`).
pub const CTTY_MAJOR: u32 = 5;

/// The memory driver's devices, with Linux's and MINIX's minors.
pub mod memory {
    /// `/dev/null`: reads find the end of file, writes vanish.
    pub const NULL: u32 = 3;
    /// `/dev/zero`: reads give zeros, writes vanish.
    pub const ZERO: u32 = 5;
    /// `/dev/full`: reads give zeros, writes fail with ENOSPC (Linux's).
    pub const FULL: u32 = 7;
    /// `/dev/random`: a byte stream from the driver's generator, which its seed makes
    /// deterministic (a run must replay); writes are taken and change nothing.
    pub const RANDOM: u32 = 8;
    /// `/dev/urandom`: the same stream as [`RANDOM`].
    pub const URANDOM: u32 = 9;
    /// Every minor the driver serves, with the name of its special file under `/dev`.
    pub const DEVICES: [(u32, &str); 5] =
        [(NULL, "null"), (ZERO, "zero"), (FULL, "full"), (RANDOM, "random"), (URANDOM, "urandom")];
}

payload! {
    /// Every CDEV_* request: which minor; for an open, how ([`CDEV_R_BIT`] | [`CDEV_W_BIT`], at
    /// least one); for a read or write, the grant of the user's buffer (at least `count` bytes),
    /// the open file's position and the count, in bytes.
    pub struct CdevRequest { pub minor: u32, pub access: u32, pub grant: u32, pub position: u64, pub count: u64 }
}

payload! {
    /// CDEV_REPLY: the request's result.
    pub struct CdevReply { pub status: i32 }
}

/// The name of a character-device request.
pub fn name(t: MsgType) -> Option<&'static str> {
    Some(match t {
        CDEV_OPEN => "cdev_open",
        CDEV_READ => "cdev_read",
        CDEV_WRITE => "cdev_write",
        CDEV_REPLY => "cdev_reply",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::dev::{major, makedev, minor};

    #[test]
    fn device_numbers_pack_as_linuxs_makedev() {
        assert_eq!(makedev(1, 3), 0x103, "/dev/null");
        assert_eq!((major(0x103), minor(0x103)), (1, 3));
        let big = makedev(0xabc, 0x12345);
        assert_eq!((major(big), minor(big)), (0xabc, 0x12345));
    }
}

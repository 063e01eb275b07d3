//! Requests to a block-device driver (range 0x300, MINIX's BDEV_*): open and close a minor device,
//! read and write bytes at a position through a grant, ask the device's geometry.
//!
//! The caller grants its buffer (read access for a write, write access for a read) and names the
//! grant; the driver copies to or from it with safecopy. Every request carries an id the caller
//! chose, and the driver answers [`BDEV_REPLY`] with that id and the status (as MINIX's drivers
//! do): a caller that re-sends after a driver restart can tell a stale answer from the one it
//! waits for. A read or write's status is the number of bytes moved; it moves all of `count` or
//! nothing. Error statuses, as MINIX's drivers answer them:
//! - `ENXIO`: no such minor device;
//! - `EBADF`: the caller has not opened the device (for writing, for a write);
//! - `EINVAL`: a bad access mode, an unknown flag, a position or count not a multiple of
//!   [`SECTOR_SIZE`], a count above [`MAX_TRANSFER`];
//! - `EIO`: a transfer that would run past the end of the disk;
//! - `EPERM`, `EFAULT`: the grant is not the driver's, or is shorter than `count` (safecopy's);
//! - `ENOTTY`: an ioctl the driver does not know.
//!
//! A driver is found by name through ds, and after a restart it answers under a new endpoint: a
//! request to the old one fails with the kernel's dead-endpoint error, and the caller opens the
//! device again on the new endpoint before it sends anything else (MINIX's libbdev does the same).

use kernel_sim::msgtype::BDEV_BASE;
use kernel_sim::{MsgType, payload};

/// Open a minor device for reading and/or writing ([`BdevOpenRequest`]); answers 0.
pub const BDEV_OPEN: MsgType = BDEV_BASE + 0x01;
/// Close a minor device the caller opened ([`BdevMinorRequest`]); answers 0.
pub const BDEV_CLOSE: MsgType = BDEV_BASE + 0x02;
/// Read `count` bytes at `position` into the caller's granted buffer ([`BdevIoRequest`]); answers
/// the bytes read.
pub const BDEV_READ: MsgType = BDEV_BASE + 0x03;
/// Write `count` bytes at `position` from the caller's granted buffer ([`BdevIoRequest`]);
/// answers the bytes written.
pub const BDEV_WRITE: MsgType = BDEV_BASE + 0x04;
/// A device control request ([`BdevIoctlRequest`]); [`DIOCGETP`] answers [`BdevGeometryReply`].
pub const BDEV_IOCTL: MsgType = BDEV_BASE + 0x05;
/// The driver's answer to any request: [`BdevReply`] (or [`BdevGeometryReply`] for DIOCGETP),
/// whose status is the request's result (`-errno` on failure).
pub const BDEV_REPLY: MsgType = BDEV_BASE + 0x80;

/// The unit of alignment of every position and count, in bytes (MINIX's SECTOR_SIZE).
pub const SECTOR_SIZE: u64 = 512;
/// The block size the driver reports, in bytes: a file system's block (and a page, so that a
/// block is one frame of the disk's memory).
pub const BLOCK_SIZE: u64 = 4096;
/// The most bytes one read or write moves (16 blocks): the driver stages a transfer in its own
/// memory, so this bounds what one request can make it allocate.
pub const MAX_TRANSFER: u64 = 16 * BLOCK_SIZE;

/// Open for reading (MINIX's BDEV_R_BIT).
pub const BDEV_R_BIT: u32 = 0x01;
/// Open for writing (MINIX's BDEV_W_BIT).
pub const BDEV_W_BIT: u32 = 0x02;

/// Get the device's geometry (MINIX's DIOCGETP, "get partition").
pub const DIOCGETP: u32 = 0x01;

/// The memory disk's only minor device.
pub const MEMDISK_MINOR: u32 = 0;

/// The name a driver's endpoint is published under in ds (rs publishes every service's label).
pub const MEMDISK_LABEL: &str = "memdisk";

payload! {
    /// BDEV_OPEN: the request's id, which minor, and how ([`BDEV_R_BIT`] | [`BDEV_W_BIT`], at
    /// least one).
    pub struct BdevOpenRequest { pub id: u32, pub minor: u32, pub access: u32 }
}
payload! {
    /// BDEV_CLOSE: the request's id, which minor.
    pub struct BdevMinorRequest { pub id: u32, pub minor: u32 }
}
payload! {
    /// BDEV_READ, BDEV_WRITE: the request's id, which minor, the caller's grant of its buffer (at
    /// least `count` bytes), the position on the disk and the count, both in bytes.
    pub struct BdevIoRequest { pub id: u32, pub minor: u32, pub grant: u32, pub position: u64, pub count: u64 }
}
payload! {
    /// BDEV_IOCTL: the request's id, which minor, which request ([`DIOCGETP`]).
    pub struct BdevIoctlRequest { pub id: u32, pub minor: u32, pub request: u32 }
}
payload! {
    /// BDEV_REPLY: the id of the request answered, and its status.
    pub struct BdevReply { pub id: u32, pub status: i32 }
}
payload! {
    /// BDEV_REPLY to DIOCGETP: [`BdevReply`]'s fields, then the device's size and block size in
    /// bytes.
    pub struct BdevGeometryReply { pub id: u32, pub status: i32, pub size: u64, pub block_size: u64 }
}

/// The id every request layout starts with.
pub fn request_id(m: &kernel_sim::Message) -> u32 {
    m.get::<BdevMinorRequest>().id
}

/// The name of a block-device request.
pub fn name(t: MsgType) -> Option<&'static str> {
    Some(match t {
        BDEV_OPEN => "bdev_open",
        BDEV_CLOSE => "bdev_close",
        BDEV_READ => "bdev_read",
        BDEV_WRITE => "bdev_write",
        BDEV_IOCTL => "bdev_ioctl",
        BDEV_REPLY => "bdev_reply",
        _ => return None,
    })
}

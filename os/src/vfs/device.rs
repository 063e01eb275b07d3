//! Special files (MINIX's vfs `device.c` and its dmap): a character special file's open, read and
//! write go to the driver of its device number's major, as CDEV_* requests (`proto::cdev`), the
//! caller's buffer passed on by an indirect grant as for a file system. The dmap names each
//! major's driver by its label; vfs finds the driver's endpoint in ds at first use, keeps it
//! (`VfsState::drivers`). When the driver died (the kernel's dead-endpoint error, or a recovered
//! driver dropping the request; a driver's own errors come in its CDEV_REPLY, never taken for
//! its death), vfs follows the label, waits for ds's news of the restarted driver (rs publishes
//! it again, or deletes the label of a driver it leaves dead, which news also ends the wait) and
//! sends the request again, at most `libbdev::DRIVER_TRIES` times; then EIO.
//!
//! A major without a driver in the dmap, or whose driver is not running (the manifest has no such
//! service), is ENXIO at open, as is every block special file: samsara's one block driver serves
//! the root file system only. The memory driver keeps nothing per open (as MINIX's), so vfs has
//! no close to send.
//!
//! `/dev/tty` (CTTY_MAJOR) is the caller's controlling terminal, which MINIX's vfs handles itself
//! (`ctty_opcl`): a process without one gets ENXIO at open. samsara has no terminal driver, so no
//! process has a controlling terminal and every open of it is ENXIO, as on Linux for a process
//! started without one (a daemon, or a program run as the strace corpus runs them).

use super::VfsCtx;
use super::vnode::PassedOn;
use crate::errno::Errno;
use crate::libbdev::{DRIVER_TRIES, Port, misdirected};
use crate::proto::cdev::dev::{major, minor};
use crate::proto::cdev::*;
use crate::proto::vfs::flags::{O_ACCMODE, O_RDONLY, O_WRONLY};
use kernel_sim::memory::Access;
use kernel_sim::{Endpoint, Message, MsgType};

/// The label of the driver of `major` (MINIX's dmap), if there is one.
pub fn driver_label(major: u32) -> Option<&'static str> {
    match major {
        MEMORY_MAJOR => Some(MEMORY_LABEL),
        _ => None,
    }
}

/// Opens device `dev` for an open file of access mode `flags & O_ACCMODE`: the driver checks
/// the minor (ENXIO) and the access.
pub fn open(ctx: &mut VfsCtx<'_>, dev: u32, flags: u32) -> Result<(), Errno> {
    if major(dev) == CTTY_MAJOR {
        // No process has a controlling terminal (MINIX's ctty_opcl without fp_tty).
        return Err(Errno::ENXIO);
    }
    let access = match flags & O_ACCMODE {
        O_RDONLY => CDEV_R_BIT,
        O_WRONLY => CDEV_W_BIT,
        _ => CDEV_R_BIT | CDEV_W_BIT,
    };
    let req = CdevRequest { minor: minor(dev), access, grant: 0, position: 0, count: 0 };
    call(ctx, dev, CDEV_OPEN, |_| (req, None)).map(drop)
}

/// Moves up to `len` bytes between the caller's buffer under `grant` and device `dev` at
/// `position` (`CDEV_READ` or `CDEV_WRITE`): the bytes moved.
pub fn transfer(
    ctx: &mut VfsCtx<'_>,
    dev: u32,
    m_type: MsgType,
    grant: u32,
    position: u64,
    len: u64,
) -> Result<u64, Errno> {
    // The driver writes into the buffer for a read and reads it for a write.
    let access = if m_type == CDEV_READ { Access::Write } else { Access::Read };
    let (proc, who) = (ctx.proc, ctx.who());
    let moved = call(ctx, dev, m_type, |driver| {
        let buffer = PassedOn::new(proc, driver, who, grant, len, access);
        let req = CdevRequest { minor: minor(dev), access: 0, grant: buffer.id, position, count: len };
        (req, Some(buffer))
    })?;
    // A driver that claims more than it was asked is broken (or its answer garbled).
    if moved > len { Err(Errno::EIO) } else { Ok(moved) }
}

/// Sends request `m_type`, as `make` builds it for the driver's endpoint (with the grant it names,
/// kept until the answer came), until the driver answers it: through its restarts, waiting for
/// ds's news of each, at most DRIVER_TRIES times, then EIO. The answer's status (a count, or 0).
fn call<'p>(
    ctx: &mut VfsCtx<'p>,
    dev: u32,
    m_type: MsgType,
    make: impl Fn(Endpoint) -> (CdevRequest, Option<PassedOn<'p>>),
) -> Result<u64, Errno> {
    let major = major(dev);
    let label = driver_label(major).ok_or(Errno::ENXIO)?;
    for _ in 0..=DRIVER_TRIES {
        let driver = match ctx.state.drivers.get(&major).copied() {
            Some(ep) => ep,
            None => {
                let ep = ctx.lookup(label).map_err(|_| Errno::ENXIO)?;
                ctx.state.drivers.insert(major, ep);
                ep
            }
        };
        let (req, grant) = make(driver);
        let answer = ctx.sendrec(driver, Message::with(m_type, &req));
        drop(grant);
        match answer {
            Ok(m) if m.m_type == CDEV_REPLY => {
                let status = m.get::<CdevReply>().status;
                return u64::try_from(status).map_err(|_| Errno::from_status(status));
            }
            // The kernel's word that the driver died (or its next incarnation dropped the
            // request): followed from now on, it is looked up again once ds knows of its restart.
            Err(Errno::EDEADSRCDST | Errno::ERECOVERED) => {
                ctx.follow(label).map_err(|_| Errno::EIO)?;
                if ctx.lookup(label) == Ok(driver) {
                    ctx.await_news(label);
                }
                ctx.state.drivers.remove(&major);
            }
            // Not a driver's answer (a driver answers CDEV_REPLY, its own errors inside): sent
            // to a garbled lookup's endpoint, it goes to the driver; from the driver itself, it
            // fails the call.
            other => {
                if misdirected(ctx, label, driver).is_none() {
                    return Err(other.err().unwrap_or(Errno::EIO));
                }
                ctx.state.drivers.remove(&major);
            }
        }
    }
    Err(Errno::EIO)
}

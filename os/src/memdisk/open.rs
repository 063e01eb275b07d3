//! BDEV_OPEN, BDEV_CLOSE and BDEV_IOCTL: who holds the disk, and its geometry.

use super::state::{ACCESS_BITS, MemdiskState, Opening};
use crate::errno::Errno;
use crate::proto::bdev::*;
use crate::task::{Ctx, Handled};
use kernel_sim::Message;

/// A memdisk handler's context.
pub type MemdiskCtx<'a> = Ctx<'a, MemdiskState>;

/// The minor device a request names, if the driver has it.
pub fn check_minor(minor: u32) -> Result<(), Errno> {
    if minor == MEMDISK_MINOR { Ok(()) } else { Err(Errno::ENXIO) }
}

/// The driver's answer to the request being handled: BDEV_REPLY with its id and `result` (a
/// count or 0, or an error) as the status.
pub fn answer(ctx: &MemdiskCtx<'_>, result: Result<u64, Errno>) -> Handled {
    let status = match result {
        Ok(n) => i32::try_from(n).expect("a status is a count of at most MAX_TRANSFER bytes, or 0"),
        Err(e) => e.status(),
    };
    Handled::Reply(Ok(Message::with(BDEV_REPLY, &BdevReply { id: request_id(&ctx.m), status })))
}

/// The requester's opening on this incarnation, or EBADF.
pub fn opening_of_requester(ctx: &mut MemdiskCtx<'_>) -> Result<Opening, Errno> {
    let (who, me) = (ctx.who(), ctx.proc.endpoint());
    ctx.state.opening(who, me).ok_or(Errno::EBADF)
}

/// BDEV_OPEN: one more open by the requester. An opening made to an earlier incarnation is
/// replaced: the opener re-opens after a restart, and its count starts again. An open whose id
/// the opening holds already is answered without counting it again: the opener sent it again
/// after a restart whose new incarnation had handled it (rs has a server's request handled
/// again), and it waits for one answer.
pub fn do_open(ctx: &mut MemdiskCtx<'_>) -> Handled {
    let result = open(ctx).map(|()| 0);
    answer(ctx, result)
}

fn open(ctx: &mut MemdiskCtx<'_>) -> Result<(), Errno> {
    let req: BdevOpenRequest = ctx.m.get();
    check_minor(req.minor)?;
    if req.access == 0 || req.access & !ACCESS_BITS != 0 {
        return Err(Errno::EINVAL);
    }
    let (who, me) = (ctx.who(), ctx.proc.endpoint());
    let opening = match ctx.state.opening(who, me) {
        Some(held) if held.ids.contains(&req.id) => return Ok(()),
        Some(mut held) => {
            held.ids.push(req.id);
            Opening { access: held.access | req.access, ..held }
        }
        None => Opening { ids: vec![req.id], access: req.access, via: me },
    };
    ctx.state.opens.insert(who.raw(), opening);
    Ok(())
}

/// BDEV_CLOSE: one open fewer; the last close forgets the opener.
pub fn do_close(ctx: &mut MemdiskCtx<'_>) -> Handled {
    let result = close(ctx).map(|()| 0);
    answer(ctx, result)
}

fn close(ctx: &mut MemdiskCtx<'_>) -> Result<(), Errno> {
    let req: BdevMinorRequest = ctx.m.get();
    check_minor(req.minor)?;
    let mut held = opening_of_requester(ctx)?;
    let who = ctx.who().raw();
    held.ids.pop();
    if held.ids.is_empty() {
        ctx.state.opens.remove(&who);
    } else {
        ctx.state.opens.insert(who, held);
    }
    Ok(())
}

/// BDEV_IOCTL: DIOCGETP answers the disk's size and block size; any other request is ENOTTY.
pub fn do_ioctl(ctx: &mut MemdiskCtx<'_>) -> Handled {
    match ioctl(ctx) {
        Ok(size) => {
            let geometry = BdevGeometryReply { id: request_id(&ctx.m), status: 0, size, block_size: BLOCK_SIZE };
            Handled::Reply(Ok(Message::with(BDEV_REPLY, &geometry)))
        }
        Err(e) => answer(ctx, Err(e)),
    }
}

/// DIOCGETP's disk size, or why not.
fn ioctl(ctx: &mut MemdiskCtx<'_>) -> Result<u64, Errno> {
    let req: BdevIoctlRequest = ctx.m.get();
    check_minor(req.minor)?;
    opening_of_requester(ctx)?;
    match req.request {
        DIOCGETP => Ok(*ctx.state.size.get()),
        _ => Err(Errno::ENOTTY),
    }
}

//! CDEV_OPEN, CDEV_READ and CDEV_WRITE on the memory driver's devices. A read moves at most
//! [`MAX_TRANSFER`] bytes (a character device may answer a read short; the caller reads on), so
//! no request makes the driver stage more than that; a write takes up to Linux's MAX_RW_COUNT.

use super::state::{MemoryState, random_bytes};
use crate::errno::Errno;
use crate::proto::cdev::memory::{DEVICES, FULL, NULL, RANDOM, URANDOM};
use crate::proto::cdev::{CDEV_R_BIT, CDEV_REPLY, CDEV_W_BIT, CdevReply, CdevRequest};
use crate::task::{Ctx, Handled};
use kernel_sim::Message;

/// A memory handler's context.
pub type MemoryCtx<'a> = Ctx<'a, MemoryState>;

/// The most bytes one read moves (1 MiB, the largest file's size).
pub const MAX_TRANSFER: u64 = 1 << 20;
/// The most bytes one write takes (Linux's MAX_RW_COUNT), so that the count fits the status.
pub const MAX_WRITE: u64 = 0x7fff_f000;

/// The minor device a request names, if the driver has it.
fn check_minor(minor: u32) -> Result<u32, Errno> {
    DEVICES.iter().any(|&(m, _)| m == minor).then_some(minor).ok_or(Errno::ENXIO)
}

/// The driver's answer: CDEV_REPLY with `result` (a count or 0, or an error) as its status.
fn answer(result: Result<u64, Errno>) -> Handled {
    let status = match result {
        Ok(n) => i32::try_from(n).expect("a transfer is at most MAX_WRITE bytes"),
        Err(e) => e.status(),
    };
    Handled::Reply(Ok(Message::with(CDEV_REPLY, &CdevReply { status })))
}

/// CDEV_OPEN: the device exists and the access mode is one.
pub fn do_open(ctx: &mut MemoryCtx<'_>) -> Handled {
    let req: CdevRequest = ctx.m.get();
    let opened = check_minor(req.minor).and_then(|_| {
        let valid = req.access != 0 && req.access & !(CDEV_R_BIT | CDEV_W_BIT) == 0;
        if valid { Ok(0) } else { Err(Errno::EINVAL) }
    });
    answer(opened)
}

/// CDEV_READ: `/dev/null` is at its end; `/dev/zero` and `/dev/full` give zeros; the random
/// devices give the generator's next bytes.
pub fn do_read(ctx: &mut MemoryCtx<'_>) -> Handled {
    answer(read(ctx))
}

fn read(ctx: &mut MemoryCtx<'_>) -> Result<u64, Errno> {
    let req: CdevRequest = ctx.m.get();
    let minor = check_minor(req.minor)?;
    let len = req.count.min(MAX_TRANSFER);
    if minor == NULL || len == 0 {
        return Ok(0);
    }
    // `/dev/zero` and `/dev/full` give the zeros as they are.
    let mut data = vec![0u8; len as usize];
    let next = matches!(minor, RANDOM | URANDOM).then(|| random_bytes(*ctx.state.generator.get(), &mut data));
    ctx.proc.safecopy_to(ctx.who(), req.grant, 0, &data)?;
    // Moved only once the bytes were copied: a bad grant leaves the generator where it was.
    if let Some(next) = next {
        ctx.state.generator.set(next);
    }
    Ok(len)
}

/// CDEV_WRITE: every device but `/dev/full` takes the bytes and keeps none (they are not even
/// read, as on Linux); `/dev/full` answers ENOSPC.
pub fn do_write(ctx: &mut MemoryCtx<'_>) -> Handled {
    let req: CdevRequest = ctx.m.get();
    answer(match check_minor(req.minor) {
        Ok(FULL) if req.count > 0 => Err(Errno::ENOSPC),
        Ok(_) => Ok(req.count.min(MAX_WRITE)),
        Err(e) => Err(e),
    })
}

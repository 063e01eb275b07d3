//! BDEV_READ and BDEV_WRITE: bytes between the caller's granted buffer and the disk, which is the
//! driver's manifest-declared memory (kept across its incarnations). A transfer moves all of its
//! count or nothing: every check comes before the first byte moves.

use super::open::{MemdiskCtx, answer, check_minor, opening_of_requester};
use crate::errno::Errno;
use crate::proto::bdev::*;
use crate::task::Handled;
use kernel_sim::memory::SERVICE_MEMORY_BASE;

/// Checks a request against the caller's opening and the disk: the bytes it covers.
fn transfer(ctx: &mut MemdiskCtx<'_>, access: u32) -> Result<BdevIoRequest, Errno> {
    let req: BdevIoRequest = ctx.m.get();
    check_minor(req.minor)?;
    if !opening_of_requester(ctx)?.allows(access) {
        return Err(Errno::EBADF);
    }
    if !req.position.is_multiple_of(SECTOR_SIZE) || !req.count.is_multiple_of(SECTOR_SIZE) || req.count > MAX_TRANSFER {
        return Err(Errno::EINVAL);
    }
    let end = req.position.checked_add(req.count).ok_or(Errno::EINVAL)?;
    if end > *ctx.state.size.get() {
        return Err(Errno::EIO);
    }
    Ok(req)
}

/// BDEV_READ: `count` bytes at `position` into the caller's buffer.
pub fn do_read(ctx: &mut MemdiskCtx<'_>) -> Handled {
    let result = read(ctx);
    answer(ctx, result)
}

fn read(ctx: &mut MemdiskCtx<'_>) -> Result<u64, Errno> {
    let req = transfer(ctx, BDEV_R_BIT)?;
    let mut data = vec![0u8; req.count as usize];
    ctx.proc.mem_read(SERVICE_MEMORY_BASE + req.position, &mut data).expect("the disk is the driver's memory");
    ctx.proc.safecopy_to(ctx.who(), req.grant, 0, &data)?;
    Ok(req.count)
}

/// BDEV_WRITE: `count` bytes from the caller's buffer at `position`.
pub fn do_write(ctx: &mut MemdiskCtx<'_>) -> Handled {
    let result = write(ctx);
    answer(ctx, result)
}

fn write(ctx: &mut MemdiskCtx<'_>) -> Result<u64, Errno> {
    let req = transfer(ctx, BDEV_W_BIT)?;
    let mut data = vec![0u8; req.count as usize];
    ctx.proc.safecopy_from(ctx.who(), req.grant, 0, &mut data)?;
    ctx.proc.mem_write(SERVICE_MEMORY_BASE + req.position, &data).expect("the disk is the driver's memory");
    Ok(req.count)
}

//! Paths: reading a path from the caller's memory through its grant and checking it before it is
//! passed on to the file system, which walks it (`vnode::lookup`, mfs's `path.rs`).
//!
//! Rule: a path is 1..=PATH_MAX bytes without NUL (else EINVAL, or ENAMETOOLONG when too long).

use crate::errno::Errno;
use crate::proto::PATH_MAX;
use crate::task::Ctx;
use kernel_sim::{Endpoint, Proc};

/// Permission to read (MINIX's R_BIT).
pub const R_OK: u32 = 4;
/// Permission to write.
pub const W_OK: u32 = 2;
/// Permission to execute a file or search a directory.
pub const X_OK: u32 = 1;

/// Copies `len` bytes through `owner`'s read grant `grant`; a bad grant is EPERM, a range outside
/// the owner's memory EFAULT (the kernel's answers), never a panic.
pub fn copy_in(proc: &Proc, owner: Endpoint, grant: u32, offset: u64, len: usize) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; len];
    proc.safecopy_from(owner, grant, offset, &mut buf)?;
    Ok(buf)
}

/// Checks a path's length and bytes before it is copied or walked.
fn check_len(len: u32) -> Result<usize, Errno> {
    match len as usize {
        0 => Err(Errno::EINVAL),
        n if n > PATH_MAX => Err(Errno::ENAMETOOLONG),
        n => Ok(n),
    }
}

fn check_bytes(path: Vec<u8>) -> Result<Vec<u8>, Errno> {
    if path.contains(&0) {
        return Err(Errno::EINVAL);
    }
    Ok(path)
}

/// Reads one path of `len` bytes from `owner`'s memory under read grant `grant`.
pub fn read_path(proc: &Proc, owner: Endpoint, grant: u32, len: u32) -> Result<Vec<u8>, Errno> {
    let len = check_len(len)?;
    check_bytes(copy_in(proc, owner, grant, 0, len)?)
}

/// Reads one path as [`read_path`] does, kept in the request's log (exec: the request replaces the
/// memory the path is in, so handling it again must read what the first attempt read).
pub fn read_path_kept<S>(ctx: &mut Ctx<'_, S>, owner: Endpoint, grant: u32, len: u32) -> Result<Vec<u8>, Errno> {
    let len = check_len(len)?;
    check_bytes(ctx.copy_in_kept(owner, grant, len)?)
}

/// Reads the two paths of link and rename, back to back under one grant.
pub fn read_two_paths(
    proc: &Proc,
    owner: Endpoint,
    grant: u32,
    old_len: u32,
    new_len: u32,
) -> Result<(Vec<u8>, Vec<u8>), Errno> {
    let (old, new) = (check_len(old_len)?, check_len(new_len)?);
    let both = copy_in(proc, owner, grant, 0, old + new)?;
    let (a, b) = both.split_at(old);
    Ok((check_bytes(a.to_vec())?, check_bytes(b.to_vec())?))
}

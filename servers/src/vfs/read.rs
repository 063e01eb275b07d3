//! read, write, lseek and getdents: the calls that move bytes between a caller's memory (through
//! its grant, by safecopy) and a file, a directory or a pipe (pipes are handed to `pipe.rs`).
//!
//! A regular file's read returns fewer bytes at the end of file and 0 past it; a write goes to the
//! shared offset (or the end, with O_APPEND), grows the file, and stops short at a full disk
//! (ENOSPC if nothing fit) or at MAX_FILE_SIZE (EFBIG if nothing fit). The caller's buffer is
//! copied before the file changes (write) or before the offset moves (read), so a bad buffer
//! (EFAULT, or EPERM for a bad grant) leaves everything as it was.

use super::pipe;
use super::state::{Filp, FilpId, MAX_FILE_SIZE};
use super::{VfsCtx, caller_filp};
use crate::errno::Errno;
use crate::proto::vfs::whence::{SEEK_CUR, SEEK_END, SEEK_SET};
use crate::proto::vfs::{DIRENT_HEADER, IoRequest, SeekReply, SeekRequest};
use crate::task::Handled;
use kernel_sim::Message;

/// The descriptor's open file, by id and value.
fn open_file(ctx: &mut VfsCtx<'_>, fd: i32) -> Result<(FilpId, Filp), Errno> {
    let id = caller_filp(ctx, fd)?;
    Ok((id, ctx.state.live_filp(id)))
}

fn count(n: usize) -> Handled {
    // Byte counts are bounded by MAX_FILE_SIZE (1 MiB), far below i32::MAX.
    Handled::status(Ok(i32::try_from(n).expect("a byte count fits a status")))
}

/// VFS_READ: up to `len` bytes from the descriptor into the caller's buffer.
pub fn do_read(ctx: &mut VfsCtx<'_>) -> Handled {
    let req: IoRequest = ctx.m.get();
    let (id, filp) = match open_file(ctx, req.fd) {
        Ok(f) => f,
        Err(e) => return Handled::Reply(Err(e)),
    };
    if !filp.readable() {
        return Handled::Reply(Err(Errno::EBADF));
    }
    let inode = ctx.state.live(filp.ino);
    if inode.pipe().is_some() {
        return pipe::read(ctx, id, filp.ino, req.grant, req.len);
    }
    if inode.is_dir() {
        return Handled::Reply(Err(Errno::EISDIR));
    }
    let data = ctx.state.read_data(filp.ino, filp.offset, req.len);
    if let Err(e) = ctx.proc.safecopy_to(ctx.who(), req.grant, 0, &data) {
        return Handled::Reply(Err(e.into()));
    }
    ctx.state.live_filp_mut(id).offset += data.len() as u64;
    count(data.len())
}

/// VFS_WRITE: `len` bytes from the caller's buffer to the descriptor.
pub fn do_write(ctx: &mut VfsCtx<'_>) -> Handled {
    let req: IoRequest = ctx.m.get();
    let (id, filp) = match open_file(ctx, req.fd) {
        Ok(f) => f,
        Err(e) => return Handled::Reply(Err(e)),
    };
    if !filp.writable() {
        return Handled::Reply(Err(Errno::EBADF));
    }
    let inode = ctx.state.live(filp.ino);
    if inode.pipe().is_some() {
        return pipe::write(ctx, id, filp.ino, req.grant, req.len);
    }
    assert!(inode.is_regular(), "directories are never open for writing");
    if req.len == 0 {
        return count(0);
    }
    let offset = if filp.flags & crate::proto::vfs::flags::O_APPEND != 0 { inode.size } else { filp.offset };
    if offset >= MAX_FILE_SIZE {
        return Handled::Reply(Err(Errno::EFBIG));
    }
    // At most up to the largest file: never more than 1 MiB staged, whatever `len` says.
    let n = req.len.min(MAX_FILE_SIZE - offset) as usize;
    let mut data = vec![0u8; n];
    if let Err(e) = ctx.proc.safecopy_from(ctx.who(), req.grant, 0, &mut data) {
        return Handled::Reply(Err(e.into()));
    }
    match ctx.state.write_data(filp.ino, offset, &data) {
        Ok(written) => {
            ctx.state.live_filp_mut(id).offset = offset + written as u64;
            count(written)
        }
        Err(e) => Handled::Reply(Err(e)),
    }
}

/// VFS_LSEEK: move the shared offset; the reply carries the new one.
pub fn do_lseek(ctx: &mut VfsCtx<'_>) -> Handled {
    match lseek(ctx) {
        Ok(offset) => Handled::Reply(Ok(Message::with(0, &SeekReply { offset }))),
        Err(e) => Handled::Reply(Err(e)),
    }
}

fn lseek(ctx: &mut VfsCtx<'_>) -> Result<i64, Errno> {
    let req: SeekRequest = ctx.m.get();
    let (id, filp) = open_file(ctx, req.fd)?;
    let inode = ctx.state.live(filp.ino);
    if inode.pipe().is_some() {
        return Err(Errno::ESPIPE);
    }
    let base = match req.whence {
        SEEK_SET => 0,
        SEEK_CUR => filp.offset,
        SEEK_END => inode.size,
        _ => return Err(Errno::EINVAL),
    };
    let base = i64::try_from(base).map_err(|_| Errno::EINVAL)?;
    let offset = base.checked_add(req.offset).filter(|&o| o >= 0).ok_or(Errno::EINVAL)?;
    ctx.state.live_filp_mut(id).offset = offset as u64;
    Ok(offset)
}

/// VFS_GETDENTS: the directory's next entries as records (format in `proto::vfs`), as many whole
/// ones as fit; 0 at the end.
pub fn do_getdents(ctx: &mut VfsCtx<'_>) -> Handled {
    let req: IoRequest = ctx.m.get();
    let (id, filp) = match open_file(ctx, req.fd) {
        Ok(f) => f,
        Err(e) => return Handled::Reply(Err(e)),
    };
    if !ctx.state.live(filp.ino).is_dir() {
        return Handled::Reply(Err(Errno::ENOTDIR));
    }
    if !filp.readable() {
        return Handled::Reply(Err(Errno::EBADF));
    }
    let mut out = Vec::new();
    let mut resume = filp.offset;
    for entry in ctx.state.dir_entries(filp.ino).into_iter().filter(|e| e.offset >= filp.offset) {
        let record = DIRENT_HEADER + entry.name.len();
        if (out.len() + record) as u64 > req.len {
            if out.is_empty() {
                return Handled::Reply(Err(Errno::EINVAL));
            }
            break;
        }
        out.extend_from_slice(&entry.ino.to_le_bytes());
        out.push(u8::try_from(entry.name.len()).expect("names are at most NAME_MAX bytes"));
        out.extend_from_slice(&entry.name);
        resume = entry.offset + super::fs::DIRENT_SIZE as u64;
    }
    if out.is_empty() {
        return count(0);
    }
    if let Err(e) = ctx.proc.safecopy_to(ctx.who(), req.grant, 0, &out) {
        return Handled::Reply(Err(e.into()));
    }
    ctx.state.live_filp_mut(id).offset = resume;
    count(out.len())
}

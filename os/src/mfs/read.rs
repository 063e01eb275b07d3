//! REQ_READ, REQ_WRITE, REQ_PEEK, REQ_GETDENTS, REQ_FTRUNC: moving a file's bytes to and from
//! the buffer vfs passed on (an indirect grant of the user's buffer), by safecopy.
//!
//! A read returns fewer bytes at the end of file and 0 past it; a write grows the file and stops
//! short at a full disk (ENOSPC if nothing fit) or at MAX_FILE_SIZE (EFBIG if nothing fit). The
//! buffer is copied before the file changes (write), so a bad buffer (EFAULT, or EPERM for a bad
//! grant) leaves everything as it was.

use super::fs::DIRENT_SIZE;
use super::state::{BLOCK_SIZE, Ino, MAX_FILE_SIZE, MfsState, times};
use super::{MfsCtx, client, now};
use crate::errno::Errno;
use crate::proto::fs::{InodeRequest, IoReply, IoRequest, PEEK_MAX, peek_reply};
use crate::proto::vfs::DIRENT_HEADER;
use crate::task::Handled;
use kernel_sim::Message;

/// A regular file named by a request: EINVAL unless live (or for a symbolic link or a named pipe,
/// which vfs never reads or writes as a file), EISDIR for a directory.
fn regular(state: &mut MfsState, ino: Ino) -> Result<(), Errno> {
    let inode = state.named(ino)?;
    if inode.is_dir() {
        Err(Errno::EISDIR)
    } else if !inode.is_regular() {
        // A symbolic link's bytes are its target's name; a named pipe's pass through vfs.
        Err(Errno::EINVAL)
    } else {
        Ok(())
    }
}

fn io_reply(result: Result<IoReply, Errno>) -> Handled {
    // Byte counts are bounded by MAX_FILE_SIZE (64 MiB), far below i32::MAX.
    Handled::Reply(result.map(|r| Message::with(i32::try_from(r.count).expect("a count fits a status"), &r)))
}

/// REQ_READ: up to `len` bytes from `pos` into the granted buffer.
pub fn do_read(ctx: &mut MfsCtx<'_>) -> Handled {
    io_reply(read(ctx))
}

fn read(ctx: &mut MfsCtx<'_>) -> Result<IoReply, Errno> {
    client(ctx)?;
    let req: IoRequest = ctx.m.get();
    regular(ctx.state, req.ino)?;
    let data = ctx.state.read_data(req.ino, req.pos, req.len);
    ctx.proc.safecopy_to(ctx.who(), req.grant, 0, &data)?;
    let size = ctx.state.live(req.ino).size;
    Ok(IoReply { count: data.len() as u64, size, pos: req.pos + data.len() as u64 })
}

/// REQ_WRITE: `len` bytes of the granted buffer to `pos`, growing the file.
pub fn do_write(ctx: &mut MfsCtx<'_>) -> Handled {
    let written = write(ctx);
    // What is not written back stays dirty for the next write-back; the cache holds it.
    let _ = super::block::write_back(ctx);
    io_reply(written)
}

fn write(ctx: &mut MfsCtx<'_>) -> Result<IoReply, Errno> {
    client(ctx)?;
    let req: IoRequest = ctx.m.get();
    regular(ctx.state, req.ino)?;
    let size = ctx.state.live(req.ino).size;
    if req.len == 0 {
        return Ok(IoReply { count: 0, size, pos: req.pos });
    }
    if req.pos >= MAX_FILE_SIZE {
        return Err(Errno::EFBIG);
    }
    // Never more staged than the file may grow to and the disk can take (what the file holds
    // from `pos` on, the free blocks and the last block's slack), whatever `len` says.
    let room = size.saturating_sub(req.pos) + (ctx.state.free_block_count() + 1) as u64 * BLOCK_SIZE as u64;
    let n = req.len.min(MAX_FILE_SIZE - req.pos).min(room) as usize;
    let mut data = vec![0u8; n];
    ctx.proc.safecopy_from(ctx.who(), req.grant, 0, &mut data)?;
    let written = ctx.state.write_data(req.ino, req.pos, &data)? as u64;
    if written > 0 {
        let now = now(ctx);
        ctx.state.stamp(req.ino, times::MODIFIED, now);
    }
    let size = ctx.state.live(req.ino).size;
    Ok(IoReply { count: written, size, pos: req.pos + written })
}

/// REQ_PEEK: at most PEEK_MAX bytes from `pos`, in the reply.
pub fn do_peek(ctx: &mut MfsCtx<'_>) -> Handled {
    Handled::Reply(peek(ctx))
}

fn peek(ctx: &mut MfsCtx<'_>) -> Result<Message, Errno> {
    client(ctx)?;
    let req: IoRequest = ctx.m.get();
    regular(ctx.state, req.ino)?;
    if req.len > PEEK_MAX as u64 {
        return Err(Errno::EINVAL);
    }
    Ok(peek_reply(&ctx.state.read_data(req.ino, req.pos, req.len)))
}

/// REQ_GETDENTS: the directory's entries from position `pos` as records (format in
/// `proto::vfs`), as many whole ones as fit; count 0 at the end. The reply's `pos` is where the
/// next call resumes.
pub fn do_getdents(ctx: &mut MfsCtx<'_>) -> Handled {
    io_reply(getdents(ctx))
}

fn getdents(ctx: &mut MfsCtx<'_>) -> Result<IoReply, Errno> {
    client(ctx)?;
    let req: IoRequest = ctx.m.get();
    if !ctx.state.named(req.ino)?.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    let mut out = Vec::new();
    let mut resume = req.pos;
    for entry in ctx.state.dir_entries(req.ino).into_iter().filter(|e| e.offset >= req.pos) {
        let record = DIRENT_HEADER + entry.name.len();
        if (out.len() + record) as u64 > req.len {
            if out.is_empty() {
                return Err(Errno::EINVAL);
            }
            break;
        }
        out.extend_from_slice(&entry.ino.to_le_bytes());
        out.push(u8::try_from(entry.name.len()).expect("names are at most NAME_MAX bytes"));
        out.extend_from_slice(&entry.name);
        resume = entry.offset + DIRENT_SIZE as u64;
    }
    let size = ctx.state.live(req.ino).size;
    if out.is_empty() {
        return Ok(IoReply { count: 0, size, pos: req.pos });
    }
    ctx.proc.safecopy_to(ctx.who(), req.grant, 0, &out)?;
    Ok(IoReply { count: out.len() as u64, size, pos: resume })
}

/// REQ_RDLINK: a symbolic link's target (at most `len` bytes of it) into the granted buffer;
/// EINVAL for anything else.
pub fn do_rdlink(ctx: &mut MfsCtx<'_>) -> Handled {
    io_reply(rdlink(ctx))
}

fn rdlink(ctx: &mut MfsCtx<'_>) -> Result<IoReply, Errno> {
    client(ctx)?;
    let req: IoRequest = ctx.m.get();
    if !ctx.state.named(req.ino)?.is_symlink() {
        return Err(Errno::EINVAL);
    }
    let data = ctx.state.read_data(req.ino, 0, req.len);
    ctx.proc.safecopy_to(ctx.who(), req.grant, 0, &data)?;
    let size = ctx.state.live(req.ino).size;
    Ok(IoReply { count: data.len() as u64, size, pos: data.len() as u64 })
}

/// REQ_FTRUNC: set a regular file's size (shorter frees blocks, longer reads as zeros).
pub fn do_ftrunc(ctx: &mut MfsCtx<'_>) -> Handled {
    let handled = Handled::status(ftrunc(ctx).map(|()| 0));
    // What is not written back stays dirty for the next write-back; the cache holds it.
    let _ = super::block::write_back(ctx);
    handled
}

fn ftrunc(ctx: &mut MfsCtx<'_>) -> Result<(), Errno> {
    client(ctx)?;
    let req: InodeRequest = ctx.m.get();
    regular(ctx.state, req.ino)?;
    ctx.state.resize(req.ino, req.size)?;
    // MINIX's truncate marks both times whether or not the size changed.
    let now = now(ctx);
    ctx.state.stamp(req.ino, times::MODIFIED, now);
    Ok(())
}

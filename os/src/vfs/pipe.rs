//! Pipes: pipe(), reading and writing a pipe, the opens of a named pipe, and the calls suspended
//! on one. A named pipe (`VnodeKind::Fifo`) is a pipe whose vnode also names an inode: an open
//! for one end waits for the other (`Suspended::FifoOpen`), and everything else is a pipe's.
//!
//! A read of an empty pipe that still has writers suspends the reader: the task loop sends no
//! answer and the reader's fproc remembers the call (`Suspended::PipeRead`). A write that does not
//! fit suspends the writer the same way, with the bytes already written (`Suspended::PipeWrite`);
//! a write of at most PIPE_BUF bytes is atomic: it waits until it fits whole. Whenever a pipe
//! changes (bytes in, bytes out, an end closed) `revive` finishes every suspended call on it that
//! can now finish, answering each caller with `ctx.reply`. A read with no writers left returns 0
//! (end of file); a write with no readers left fails with EPIPE (or returns the bytes it had
//! already written). A process killed while suspended is forgotten by pm's exit notice, which
//! removes its fproc (and so its suspended call) before closing its descriptors. An open file in
//! non-blocking mode (O_NONBLOCK, from open, pipe2 or fcntl) never suspends: a read that would
//! wait fails with EAGAIN, and so does a write none of whose bytes fit (one that moved some
//! returns their count). Every change of a pipe also wakes the polls that may watch it.
//!
//! Invariant: a suspended call names a live open file on a pipe that the process holds a
//! descriptor for; a pipe's buffer (`pipe_bufs`, beside its vnode) never holds more than PIPE_BUF
//! bytes. Moving bytes writes the buffer only: the vnode changes when an end opens or closes.

use super::state::{FilpId, PIPE_BUF, Pipe, Suspended, Vnode, VnodeId, VnodeKind};
use super::{VfsCtx, caller};
use crate::errno::Errno;
use crate::proto::ProcKey;
use crate::proto::vfs::PipeReply;
use crate::proto::vfs::flags::{O_CLOEXEC, O_NONBLOCK, O_RDONLY, O_WRONLY};
use crate::task::Handled;
use kernel_sim::{Endpoint, Message};

/// A pipe's permission bits: its creator may read and write (nobody can open it by name anyway).
const PIPE_MODE: u32 = 0o600;

/// VFS_PIPE: a new pipe, open for reading on one descriptor and writing on another.
pub fn do_pipe(ctx: &mut VfsCtx<'_>) -> Handled {
    match pipe(ctx) {
        Ok(reply) => Handled::Reply(Ok(Message::with(0, &reply))),
        Err(e) => Handled::Reply(Err(e)),
    }
}

fn pipe(ctx: &mut VfsCtx<'_>) -> Result<PipeReply, Errno> {
    pipe_with(ctx, 0)
}

/// A new pipe whose open files keep `status` (O_NONBLOCK or nothing) and whose descriptors are
/// closed on exec if `cloexec` (pipe2's flags, checked by the caller).
pub fn pipe_with(ctx: &mut VfsCtx<'_>, flags: u32) -> Result<PipeReply, Errno> {
    let status = flags & O_NONBLOCK;
    let fp = caller(ctx)?;
    let limit = super::descriptors(ctx);
    let read_fd = fp.free_fd(0, limit)?;
    let write_fd = fp.free_fd(read_fd + 1, limit)?;
    if !ctx.state.has_free_filps(2) {
        return Err(Errno::ENFILE);
    }
    // Its two open files hold its two references.
    let vnode = Vnode {
        kind: VnodeKind::Pipe(Pipe::default()),
        inode: None,
        refs: 2,
        fs_refs: 0,
        mode: PIPE_MODE,
        uid: fp.uid,
        gid: fp.gid,
        size: 0,
        mapped: false,
    };
    let ino = ctx.state.alloc_vnode(vnode)?;
    let read_end = ctx.state.open_filp(ino, O_RDONLY | status).expect("two free slots were checked");
    let write_end = ctx.state.open_filp(ino, O_WRONLY | status).expect("two free slots were checked");
    super::set_fd(ctx, read_fd, Some(read_end));
    super::set_fd(ctx, write_fd, Some(write_end));
    if flags & O_CLOEXEC != 0 {
        super::set_cloexec(ctx, read_fd, true);
        super::set_cloexec(ctx, write_fd, true);
    }
    Ok(PipeReply { read_fd: read_fd as i32, write_fd: write_fd as i32 })
}

/// How far a pipe call got.
enum Step {
    /// Finished: the answer for the caller.
    Done(Result<u64, Errno>),
    /// Must wait; for a write, with this many bytes in so far.
    Blocked(u64),
}

/// The ends of pipe `ino`, which a live open file is on.
fn pipe_of(ctx: &mut VfsCtx<'_>, ino: VnodeId) -> Pipe {
    *ctx.state.live_vnode(ino).pipe().expect("the open file is on a pipe")
}

/// The bytes pipe `ino` buffers.
fn buffered<'s>(ctx: &'s mut VfsCtx<'_>, ino: VnodeId) -> &'s Vec<u8> {
    ctx.state.pipe_bufs.get(ino as usize).expect("a vnode has a buffer")
}

/// Moves up to `len` buffered bytes of pipe `ino` into `who`'s buffer under `grant`.
fn read_step(ctx: &mut VfsCtx<'_>, ino: VnodeId, who: Endpoint, grant: u32, len: u64) -> Step {
    let pipe = pipe_of(ctx, ino);
    if len == 0 {
        return Step::Done(Ok(0));
    }
    let data = buffered(ctx, ino);
    if data.is_empty() {
        return if pipe.writers == 0 { Step::Done(Ok(0)) } else { Step::Blocked(0) };
    }
    let n = data.len().min(usize::try_from(len).unwrap_or(usize::MAX));
    let chunk = data[..n].to_vec();
    // Copy first: a bad buffer fails the read and leaves the bytes in the pipe.
    if let Err(e) = ctx.proc.safecopy_to(who, grant, 0, &chunk) {
        return Step::Done(Err(e.into()));
    }
    ctx.state.pipe_bufs.get_mut(ino as usize).expect("a vnode has a buffer").drain(..n);
    Step::Done(Ok(n as u64))
}

/// Moves as much of `who`'s `len` bytes under `grant` as fits into pipe `ino`, `done` of them
/// being in already.
fn write_step(ctx: &mut VfsCtx<'_>, ino: VnodeId, who: Endpoint, grant: u32, len: u64, done: u64) -> Step {
    let pipe = pipe_of(ctx, ino);
    if pipe.readers == 0 {
        return Step::Done(if done > 0 { Ok(done) } else { Err(Errno::EPIPE) });
    }
    if done == len {
        return Step::Done(Ok(done));
    }
    let room = PIPE_BUF - buffered(ctx, ino).len();
    if room == 0 || (len <= PIPE_BUF as u64 && (room as u64) < len) {
        // Full, or a small write that must go in whole.
        return Step::Blocked(done);
    }
    let n = (len - done).min(room as u64) as usize;
    let mut chunk = vec![0u8; n];
    if let Err(e) = ctx.proc.safecopy_from(who, grant, done, &mut chunk) {
        let e = Errno::from(e);
        return Step::Done(if done > 0 { Ok(done) } else { Err(e) });
    }
    let data = ctx.state.pipe_bufs.get_mut(ino as usize).expect("a vnode has a buffer");
    data.extend_from_slice(&chunk);
    assert!(data.len() <= PIPE_BUF, "a pipe buffers at most PIPE_BUF bytes");
    let done = done + n as u64;
    if done == len { Step::Done(Ok(done)) } else { Step::Blocked(done) }
}

/// An open of named pipe `ino` waiting on its open file `filp`: done, answering descriptor `fd`,
/// once the other end is open (a reader waits for a writer, a writer for a reader).
fn open_step(ctx: &mut VfsCtx<'_>, ino: VnodeId, filp: FilpId, fd: u32) -> Step {
    let pipe = pipe_of(ctx, ino);
    let other_ends = if ctx.state.live_filp(filp).writable() { pipe.readers } else { pipe.writers };
    if other_ends > 0 { Step::Done(Ok(u64::from(fd))) } else { Step::Blocked(0) }
}

/// Opens named pipe vnode `ino` on open file `filp` at the caller's descriptor `fd` (both made,
/// the open file counted as an end): at once when the other end is open, for reading and writing,
/// or in non-blocking mode for reading; ENXIO in non-blocking mode for writing with no reader;
/// otherwise the caller waits for the other end (POSIX's and MINIX's pipe_open), unless it has a
/// call suspended already (EAGAIN, as for a pipe's read). A refused open is undone. Openers
/// waiting for this end go on.
pub fn open_fifo(ctx: &mut VfsCtx<'_>, ino: VnodeId, filp: FilpId, fd: u32) -> Handled {
    let f = ctx.state.live_filp(filp);
    let alone = f.readable() != f.writable() && matches!(open_step(ctx, ino, filp, fd), Step::Blocked(_));
    let nonblocking = f.flags & O_NONBLOCK != 0;
    let refused = match (alone, nonblocking) {
        (true, true) if f.writable() => Some(Errno::ENXIO),
        (true, false) if !suspend(ctx, Suspended::FifoOpen { filp, fd }) => Some(Errno::EAGAIN),
        _ => None,
    };
    if let Some(e) = refused {
        super::set_fd(ctx, fd as usize, None);
        super::close_filp(ctx, filp);
        return Handled::Reply(Err(e));
    }
    revive(ctx, ino);
    if alone && !nonblocking { Handled::Suspend } else { Handled::Reply(Ok(answer(Ok(u64::from(fd))))) }
}

fn answer(result: Result<u64, Errno>) -> Message {
    match result {
        // A write's count is bounded by the caller's mapped memory, far below i32::MAX; saturate
        // rather than trust that.
        Ok(n) => Message::new(i32::try_from(n).unwrap_or(i32::MAX)),
        Err(e) => Message::new(e.status()),
    }
}

/// read on pipe open file `filp` (on vnode `ino`): the bytes there, end of file, or suspension.
pub fn read(ctx: &mut VfsCtx<'_>, filp: FilpId, ino: VnodeId, grant: u32, len: u64) -> Handled {
    let who = ctx.who();
    match read_step(ctx, ino, who, grant, len) {
        Step::Done(result) => {
            if matches!(result, Ok(n) if n > 0) {
                // Room was made: a suspended writer may go on.
                revive(ctx, ino);
            }
            Handled::Reply(Ok(answer(result)))
        }
        Step::Blocked(_) => {
            if nonblocking(ctx, filp) || !suspend(ctx, Suspended::PipeRead { filp, grant, len }) {
                return Handled::Reply(Err(Errno::EAGAIN));
            }
            Handled::Suspend
        }
    }
}

/// write on pipe open file `filp` (on vnode `ino`): all of it, EPIPE, or suspension.
pub fn write(ctx: &mut VfsCtx<'_>, filp: FilpId, ino: VnodeId, grant: u32, len: u64) -> Handled {
    let who = ctx.who();
    match write_step(ctx, ino, who, grant, len, 0) {
        Step::Done(result) => {
            if matches!(result, Ok(n) if n > 0) {
                revive(ctx, ino);
            }
            Handled::Reply(Ok(answer(result)))
        }
        Step::Blocked(done) => {
            if nonblocking(ctx, filp) || !suspend(ctx, Suspended::PipeWrite { filp, grant, len, done }) {
                // What went in stays in (readers may take it); say how much, or that none fit.
                if done > 0 {
                    revive(ctx, ino);
                }
                return Handled::Reply(if done > 0 { Ok(answer(Ok(done))) } else { Err(Errno::EAGAIN) });
            }
            if done > 0 {
                // Readers may take what went in, which may in turn let this write finish: then
                // `revive` answers the caller itself.
                revive(ctx, ino);
            }
            Handled::Suspend
        }
    }
}

/// Whether open file `filp` is in non-blocking mode: a call that would wait fails with EAGAIN.
fn nonblocking(ctx: &mut VfsCtx<'_>, filp: FilpId) -> bool {
    ctx.state.live_filp(filp).flags & O_NONBLOCK != 0
}

/// Suspends the caller's call; false when it already has one suspended. A well-behaved process
/// blocked in its call makes no other, but one that sent its first call with asynsend or send runs
/// on: its second blocking call is refused rather than trusted.
fn suspend(ctx: &mut VfsCtx<'_>, call: Suspended) -> bool {
    let who = ctx.requester();
    let slot = ctx.state.suspended.get_own_mut(&who).expect("the caller's entry was found by `caller`");
    if slot.is_some() {
        return false;
    }
    *slot = Some(call);
    true
}

/// The processes suspended on pipe `ino`, in slot order.
fn suspended_on(ctx: &mut VfsCtx<'_>, ino: VnodeId) -> Vec<(ProcKey, Endpoint, Suspended)> {
    // Calls on an open file only: a poll (boxed) is never copied here.
    let waiting: Vec<(ProcKey, Suspended)> = ctx
        .state
        .suspended
        .iter()
        .filter_map(|(key, call)| call.as_ref().filter(|c| c.filp().is_some()).map(|c| (*key, c.clone())))
        .collect();
    let mut on_pipe = Vec::new();
    for (key, call) in waiting {
        if call.filp().and_then(|id| ctx.state.filp(id)).is_some_and(|f| f.vnode == ino) {
            let ep = ctx.state.fprocs.get(key).expect("a suspended process has an entry").ep;
            on_pipe.push((key, ep, call));
        }
    }
    on_pipe
}

/// Finishes every call suspended on pipe `ino` that can finish now, answering each caller;
/// repeats while anything moves (a reader's read makes room for a writer and the other way round).
pub fn revive(ctx: &mut VfsCtx<'_>, ino: VnodeId) {
    while ctx.state.vnode(ino).is_some_and(|v| v.pipe().is_some()) {
        let mut moved = false;
        for (key, ep, call) in suspended_on(ctx, ino) {
            let (step, before) = match call {
                Suspended::PipeRead { grant, len, .. } => (read_step(ctx, ino, ep, grant, len), 0),
                Suspended::PipeWrite { grant, len, done, .. } => (write_step(ctx, ino, ep, grant, len, done), done),
                Suspended::FifoOpen { filp, fd } => (open_step(ctx, ino, filp, fd), 0),
                Suspended::Poll(_) | Suspended::Flock { .. } => unreachable!("only pipe calls are listed"),
            };
            match step {
                Step::Done(result) => {
                    *ctx.state.suspended.get_mut_global(key).expect("listed just now") = None;
                    moved = true;
                    ctx.reply(ep, answer(result));
                }
                Step::Blocked(done) if done != before => {
                    let call = ctx.state.suspended.get_mut_global(key).expect("listed just now");
                    if let Some(Suspended::PipeWrite { done: d, .. }) = call {
                        *d = done;
                    }
                    moved = true;
                }
                Step::Blocked(_) => {}
            }
        }
        if !moved {
            break;
        }
    }
    // The pipe changed: a poll watching either end may now have something ready.
    super::poll::wake(ctx);
}

/// PM_VFS_UNPAUSE: a caught signal is on its way to a process; the call it is suspended in (if
/// any) ends now (MINIX's unpause): a read with EINTR, a write with the bytes it had already
/// written, or EINTR if none. vfs answers pm either way (1: a call was ended, 0: none was
/// suspended, as when the call finished before pm asked).
pub fn do_pm_unpause(ctx: &mut VfsCtx<'_>) -> Handled {
    if ctx.who() != crate::proto::PM {
        // Only that server sends this; anyone else (a user under a permissive manifest)
        // is told no rather than left waiting.
        return Handled::Reply(Err(Errno::EPERM));
    }
    let ep = ctx.m.get::<crate::proto::pm::VfsProcNotice>().proc;
    let on_behalf = recovery::Requester::new(crate::proto::key_of(ep));
    let known = ctx.state.fprocs.get_own(&on_behalf).is_some_and(|f| f.ep == ep);
    let call = if known { ctx.state.suspended.get_own_mut(&on_behalf).and_then(Option::take) } else { None };
    if let Some(call) = &call {
        let result = match *call {
            Suspended::PipeWrite { done, .. } if done > 0 => Ok(done),
            Suspended::FifoOpen { filp, fd } => {
                // The open is undone: its descriptor and open file go.
                let fp = ctx.state.fprocs.get_own_mut(&on_behalf).expect("known just now");
                fp.set(fd as usize, None);
                fp.cloexec.remove(fd as usize);
                super::close_filp(ctx, filp);
                Err(Errno::EINTR)
            }
            _ => Err(Errno::EINTR),
        };
        ctx.reply(ep, answer(result));
    }
    let reply = crate::proto::pm::VfsProcReply { proc: ep, status: i32::from(call.is_some()) };
    let _ = ctx.send(crate::proto::PM, Message::with(crate::proto::pm::VFS_PM_UNPAUSE_REPLY, &reply));
    Handled::NoReply
}

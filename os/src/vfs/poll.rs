//! poll: which of a caller's descriptors are ready, waiting for one (or a timeout) if none is.
//!
//! Readiness: a regular file or a directory is always ready for what was asked. A pipe's read end
//! is readable (POLLIN) when it buffers bytes, and hung up (POLLHUP, reported whatever was asked)
//! when no writer is left; its write end is writable (POLLOUT) while the buffer has room, and in
//! error (POLLERR, always reported) when no reader is left. A closed descriptor is POLLNVAL; a
//! negative one is skipped.
//!
//! A poll with nothing ready and a timeout other than 0 is suspended like a pipe read
//! (`Suspended::Poll`, the one table of suspended calls, so that whatever ends a suspended call —
//! pm's exit notice, an unpause — ends a poll too). Every change of a pipe (`pipe::revive`) calls
//! [`wake`], which answers each waiting poll that now has a descriptor ready. A timeout becomes a
//! deadline on the clock; vfs's one kernel alarm is set for the earliest deadline, and its
//! notification ([`alarm`]) answers 0 to every poll whose deadline has passed.
//!
//! Invariant: a suspended poll watches only open descriptors, and none of them is ready (a ready
//! one ends the wait at once); the checker verifies both.

use super::state::{FdSet, Filp, Fproc, PIPE_BUF, PollWait, Suspended, VfsState};
use super::{VfsCtx, caller};
use crate::errno::Errno;
use crate::proto::ProcKey;
use crate::proto::vfs::PollRequest;
use crate::proto::vfs::poll::*;
use crate::task::Handled;
use kernel_sim::{Endpoint, KernelCall, Message, Micros, Proc};

/// Microseconds in one millisecond of poll's timeout.
const MICROS_PER_MS: Micros = 1_000;
/// The events that ask for reading.
const WANT_READ: u16 = POLLIN | POLLRDNORM;
/// The events that ask for writing.
const WANT_WRITE: u16 = POLLOUT | POLLWRNORM;

/// One `pollfd` record as the caller wrote it.
#[derive(Clone, Copy, Debug)]
struct Record {
    fd: i32,
    events: u16,
}

fn decode(raw: &[u8]) -> Vec<Record> {
    raw.chunks_exact(POLLFD_SIZE)
        .map(|r| Record { fd: i32::from_le_bytes([r[0], r[1], r[2], r[3]]), events: u16::from_le_bytes([r[4], r[5]]) })
        .collect()
}

/// What is ready on descriptor `fd` of `fp`, of what `events` asks (plus the conditions always
/// reported).
fn revents(state: &mut VfsState, fp: &Fproc, fd: i32, events: u16) -> u16 {
    if fd < 0 {
        return 0;
    }
    let Ok(id) = fp.filp_of(fd) else { return POLLNVAL };
    let filp = state.live_filp(id);
    pipe_revents(state, &filp).map_or(events & (WANT_READ | WANT_WRITE), |ready| ready & (events | POLLHUP | POLLERR))
}

/// What is ready on an open file on a pipe (every event that holds, before masking); none for
/// another kind of file (always ready).
fn pipe_revents(state: &mut VfsState, filp: &Filp) -> Option<u16> {
    let pipe = *state.live_vnode(filp.vnode).pipe()?;
    let buffered = state.pipe_bufs.get(filp.vnode as usize).map_or(0, Vec::len);
    let mut ready = 0;
    if filp.readable() {
        if buffered > 0 {
            ready |= WANT_READ;
        }
        if pipe.writers == 0 {
            ready |= POLLHUP;
        }
    }
    if filp.writable() {
        if pipe.readers == 0 {
            ready |= POLLERR;
        } else if buffered < PIPE_BUF {
            ready |= WANT_WRITE;
        }
    }
    Some(ready)
}

/// The records' revents, in order, and how many are not 0.
fn evaluate(state: &mut VfsState, fp: &Fproc, records: &[Record]) -> (Vec<u16>, i32) {
    let revents: Vec<u16> = records.iter().map(|r| revents(state, fp, r.fd, r.events)).collect();
    let ready = revents.iter().filter(|&&r| r != 0).count() as i32;
    (revents, ready)
}

/// `raw` with each record's revents replaced.
fn with_revents(raw: &[u8], revents: &[u16]) -> Vec<u8> {
    let mut out = raw.to_vec();
    for (record, r) in out.chunks_exact_mut(POLLFD_SIZE).zip(revents) {
        record[6..8].copy_from_slice(&r.to_le_bytes());
    }
    out
}

/// VFS_POLL: the readiness of `nfds` records, now or when one is ready or the timeout expires.
pub fn do_poll(ctx: &mut VfsCtx<'_>) -> Handled {
    match poll(ctx) {
        Ok(Some(ready)) => Handled::status(Ok(ready)),
        Ok(None) => Handled::Suspend,
        Err(e) => Handled::Reply(Err(e)),
    }
}

/// The count of ready records, or none when the caller was suspended.
fn poll(ctx: &mut VfsCtx<'_>) -> Result<Option<i32>, Errno> {
    let PollRequest { grant, nfds, timeout_ms } = ctx.m.get();
    // POSIX: EINVAL when nfds exceeds OPEN_MAX (a process's descriptors).
    if nfds as usize > super::descriptors(ctx) {
        return Err(Errno::EINVAL);
    }
    let fp = caller(ctx)?;
    let who = ctx.who();
    let mut raw = vec![0u8; nfds as usize * POLLFD_SIZE];
    ctx.proc.safecopy_from(who, grant, 0, &mut raw).map_err(Errno::from)?;
    let records = decode(&raw);
    let (revents, ready) = evaluate(ctx.state, &fp, &records);
    if ready > 0 || timeout_ms == 0 {
        ctx.proc.safecopy_to(who, grant, 0, &with_revents(&raw, &revents)).map_err(Errno::from)?;
        return Ok(Some(ready));
    }
    let (readable, writable, watched) = (FdSet::EMPTY, FdSet::EMPTY, FdSet::EMPTY);
    let mut wait = PollWait { grant, nfds, readable, writable, watched, deadline: None };
    for r in records.iter().filter(|r| r.fd >= 0) {
        // Every one is open (a closed one is POLLNVAL, and nothing was ready): below DESCRIPTORS_MAX.
        let fd = r.fd as usize;
        wait.watched.insert(fd);
        if r.events & WANT_READ != 0 {
            wait.readable.insert(fd);
        }
        if r.events & WANT_WRITE != 0 {
            wait.writable.insert(fd);
        }
    }
    if timeout_ms > 0 {
        wait.deadline = Some(ctx.proc.now().saturating_add(timeout_ms as Micros * MICROS_PER_MS));
    }
    let who_key = ctx.requester();
    *ctx.state.suspended.get_own_mut(&who_key).expect("the caller's entry was found by `caller`") =
        Some(Suspended::Poll(Box::new(wait)));
    if wait.deadline.is_some() {
        arm_alarm(ctx);
    }
    Ok(None)
}

/// The polls waiting now: slot, endpoint and wait.
fn waiting(ctx: &mut VfsCtx<'_>) -> Vec<(ProcKey, Endpoint, PollWait)> {
    let polls: Vec<(ProcKey, PollWait)> = ctx
        .state
        .suspended
        .iter()
        .filter_map(|(key, call)| match call {
            Some(Suspended::Poll(wait)) => Some((*key, **wait)),
            _ => None,
        })
        .collect();
    polls
        .into_iter()
        .map(|(key, wait)| (key, ctx.state.fprocs.get(key).expect("a suspended process has an entry").ep, wait))
        .collect()
}

/// Whether any descriptor a suspended poll watches is ready: what [`wake`] looks for before it
/// reads the caller's records (and what the checker says never holds between requests).
pub fn any_ready(state: &mut VfsState, fp: &Fproc, wait: &PollWait) -> bool {
    wait.watched.iter().any(|fd| {
        let asked = if wait.readable.contains(fd) { WANT_READ } else { 0 }
            | if wait.writable.contains(fd) { WANT_WRITE } else { 0 };
        revents(state, fp, fd as i32, asked) != 0
    })
}

/// Ends the suspended poll of process `key`: the records' revents into its memory, and the
/// answer `ready` (or EFAULT if its memory went bad).
fn finish(ctx: &mut VfsCtx<'_>, key: ProcKey, ep: Endpoint, wait: &PollWait, revents: Option<&[u16]>) {
    *ctx.state.suspended.get_mut_global(key).expect("listed just now") = None;
    let mut raw = vec![0u8; wait.nfds as usize * POLLFD_SIZE];
    let status = ctx.proc.safecopy_from(ep, wait.grant, 0, &mut raw).map_err(Errno::from).and_then(|()| {
        let zeros = vec![0; wait.nfds as usize];
        let revents = revents.unwrap_or(&zeros);
        ctx.proc.safecopy_to(ep, wait.grant, 0, &with_revents(&raw, revents)).map_err(Errno::from)?;
        Ok(revents.iter().filter(|&&r| r != 0).count() as i32)
    });
    ctx.reply(ep, Message::new(status.unwrap_or_else(Errno::status)));
}

/// Answers every suspended poll that has a descriptor ready now (after a pipe changed).
pub fn wake(ctx: &mut VfsCtx<'_>) {
    for (key, ep, wait) in waiting(ctx) {
        let fp = ctx.state.fprocs.get(key).expect("a suspended process has an entry").clone();
        if !any_ready(ctx.state, &fp, &wait) {
            continue;
        }
        let mut raw = vec![0u8; wait.nfds as usize * POLLFD_SIZE];
        let revents = match ctx.proc.safecopy_from(ep, wait.grant, 0, &mut raw) {
            Ok(()) => Some(evaluate(ctx.state, &fp, &decode(&raw)).0),
            Err(_) => None,
        };
        finish(ctx, key, ep, &wait, revents.as_deref());
    }
}

/// Sets vfs's alarm for the earliest deadline of a waiting poll (an alarm that comes when no
/// deadline is due any more finds nothing to do).
fn arm_alarm(ctx: &mut VfsCtx<'_>) {
    let Some(earliest) = waiting(ctx).iter().filter_map(|(_, _, w)| w.deadline).min() else { return };
    // At least 1 µs: a delay of 0 would cancel the alarm.
    let delay = earliest.saturating_sub(ctx.proc.now()).max(1);
    // Only vfs's own slot is named: the call fails only for a manifest without `alarm`, and then
    // polls wait without their timeout rather than vfs failing.
    let _ = ctx.kernel(KernelCall::Alarm, |p| p.sys_setalarm(delay));
}

/// After a restart: the kernel cancelled vfs's alarm when the old incarnation ended, so it is set
/// again for the earliest deadline of the polls the state this incarnation starts on still has
/// waiting (else they would wait past their timeout for ever).
pub fn rearm_after_restart(proc: &Proc, state: &mut VfsState) {
    let earliest = state
        .suspended
        .iter()
        .filter_map(|(_, call)| match call {
            Some(Suspended::Poll(wait)) => wait.deadline,
            _ => None,
        })
        .min();
    if let Some(earliest) = earliest {
        // At least 1 µs: a delay of 0 would cancel the alarm. A failure is a manifest without
        // `alarm` for vfs, where polls wait without their timeout (as `arm_alarm` says).
        let _ = proc.sys_setalarm(earliest.saturating_sub(proc.now()).max(1));
    }
}

/// vfs's alarm went off: every poll whose deadline has passed is answered 0 (nothing ready), and
/// the alarm is set for the next deadline.
pub fn alarm(ctx: &mut VfsCtx<'_>) {
    let now = ctx.proc.now();
    for (key, ep, wait) in waiting(ctx) {
        if wait.deadline.is_some_and(|d| d <= now) {
            finish(ctx, key, ep, &wait, None);
        }
    }
    arm_alarm(ctx);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_decode_and_take_their_revents() {
        let mut raw = Vec::new();
        for (fd, events) in [(3i32, POLLIN), (-1, POLLOUT)] {
            raw.extend_from_slice(&fd.to_le_bytes());
            raw.extend_from_slice(&events.to_le_bytes());
            raw.extend_from_slice(&0u16.to_le_bytes());
        }
        let records = decode(&raw);
        assert_eq!((records[0].fd, records[0].events, records[1].fd), (3, POLLIN, -1));
        let out = with_revents(&raw, &[POLLIN | POLLHUP, 0]);
        assert_eq!(u16::from_le_bytes([out[6], out[7]]), POLLIN | POLLHUP);
        assert_eq!(&out[..6], &raw[..6], "fd and events stay");
    }
}

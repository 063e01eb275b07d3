//! Time: alarm, setitimer, getitimer (ITIMER_REAL on the kernel's alarm), times, clock_gettime,
//! clock_settime, gettimeofday, and getrusage (pm's counts with vm's memory).
//!
//! pm has one kernel alarm (MINIX's pm keeps its timers on one too): every process's ITIMER_REAL
//! is in `PmState::timers`, soonest first, and the kernel alarm is set to ring at the soonest
//! (`alarm_due` says when it was last set for). When it rings (a notification from the kernel,
//! like a death report), every expired timer raises SIGALRM and a periodic one is re-armed.
//! CLOCK_MONOTONIC is the kernel's clock; CLOCK_REALTIME is it plus the system's offset, which
//! root moves with clock_settime (the Epoch is at boot: nothing reads the host's clock).
//! Reading the clock is a read of the kernel, not a kernel call.

use super::signal;
use super::state::{PmState, ROOT_UID, RealTimer};
use crate::errno::Errno;
use crate::proto::pm::*;
use crate::proto::vm::{VM_GETRUSAGE, VmProcRequest, VmUsageReply, layout::PAGE};
use crate::proto::{ProcKey, VM};
use crate::task::{Ctx, Handled};
use kernel_sim::{KernelCall, Message, Micros, Proc};

type PmCtx<'a> = Ctx<'a, PmState>;

/// Microseconds in a second.
const MICROS_PER_SECOND: u64 = 1_000_000;
/// Nanoseconds in a microsecond.
const NANOS_PER_MICRO: i64 = 1_000;
/// Nanoseconds in a second (a timespec's `tv_nsec` stays below it).
const NANOS_PER_SECOND: i64 = 1_000_000_000;
/// The longest timer a process may set: 100 million seconds (about three years, Linux's own
/// bound for alarm and setitimer), so that its due time never overflows the clock.
pub const MAX_TIMER_US: u64 = 100_000_000 * MICROS_PER_SECOND;
/// The furthest clock_settime may move CLOCK_REALTIME from the kernel's clock, either way: about
/// 292,000 years of microseconds fit in an i64; a tenth of that is plenty and never overflows.
const MAX_CLOCK_OFFSET_US: i64 = i64::MAX / 10;

/// Bytes in a KiB, for getrusage's resident size.
const KIB: u64 = 1024;

/// The clock now (a read of the kernel, as MINIX's pm reads its uptime).
fn now(ctx: &PmCtx<'_>) -> Micros {
    ctx.proc.now()
}

/// Time left of `timer` at `now` (at least 1 µs while it runs: an expired timer not yet rung is
/// still armed).
fn left(timer: RealTimer, now: Micros) -> u64 {
    timer.due.saturating_sub(now).max(1)
}

/// PM_ALARM: SIGALRM after `seconds` (0 cancels); answers the seconds the previous one had
/// left, rounded up.
pub fn do_alarm(ctx: &mut PmCtx<'_>) -> Handled {
    let seconds = ctx.m.get::<AlarmRequest>().seconds;
    let who = ctx.requester();
    let Some(old) = ctx.state.sigs.get_own(&who).map(|s| s.timer) else { return Handled::Reply(Err(Errno::ESRCH)) };
    let now = now(ctx);
    let remaining = old.map_or(0, |t| left(t, now).div_ceil(MICROS_PER_SECOND)) as u32;
    let delay = u64::from(seconds) * MICROS_PER_SECOND;
    if delay > MAX_TIMER_US {
        return Handled::Reply(Err(Errno::EINVAL));
    }
    let timer = (seconds > 0).then_some(RealTimer { due: now + delay, interval: 0 });
    if let Err(e) = arm(ctx, who.key(), timer) {
        return Handled::Reply(Err(e));
    }
    Handled::Reply(Ok(Message::with(0, &AlarmReply { remaining })))
}

/// PM_SETITIMER: set ITIMER_REAL (value 0 stops it); answers the old one.
pub fn do_setitimer(ctx: &mut PmCtx<'_>) -> Handled {
    let r: SetitimerRequest = ctx.m.get();
    if let Err(e) = check_which(r.which) {
        return Handled::Reply(Err(e));
    }
    if r.value_us > MAX_TIMER_US || r.interval_us > MAX_TIMER_US {
        return Handled::Reply(Err(Errno::EINVAL));
    }
    let who = ctx.requester();
    let Some(old) = ctx.state.sigs.get_own(&who).map(|s| s.timer) else { return Handled::Reply(Err(Errno::ESRCH)) };
    let now = now(ctx);
    let timer = (r.value_us > 0).then_some(RealTimer { due: now + r.value_us, interval: r.interval_us });
    if let Err(e) = arm(ctx, who.key(), timer) {
        return Handled::Reply(Err(e));
    }
    Handled::Reply(Ok(Message::with(0, &itimer_reply(old, now))))
}

/// PM_GETITIMER: ITIMER_REAL's time to expiry and period.
pub fn do_getitimer(ctx: &mut PmCtx<'_>) -> Handled {
    let which = ctx.m.get::<GetitimerRequest>().which;
    if let Err(e) = check_which(which) {
        return Handled::Reply(Err(e));
    }
    let who = ctx.requester();
    let Some(timer) = ctx.state.sigs.get_own(&who).map(|s| s.timer) else { return Handled::Reply(Err(Errno::ESRCH)) };
    let now = now(ctx);
    Handled::Reply(Ok(Message::with(0, &itimer_reply(timer, now))))
}

/// ITIMER_REAL is kept; the CPU-time timers are not (the kernel accounts no CPU time per
/// process): ENOSYS; anything else is no timer (EINVAL).
fn check_which(which: i32) -> Result<(), Errno> {
    match which {
        ITIMER_REAL => Ok(()),
        ITIMER_VIRTUAL | ITIMER_PROF => Err(Errno::ENOSYS),
        _ => Err(Errno::EINVAL),
    }
}

fn itimer_reply(timer: Option<RealTimer>, now: Micros) -> ItimerReply {
    match timer {
        Some(t) => ItimerReply { value_us: left(t, now), interval_us: t.interval },
        None => ItimerReply { value_us: 0, interval_us: 0 },
    }
}

/// Sets (or stops) the timer of the entry at `key`, and pm's kernel alarm for the soonest.
fn arm(ctx: &mut PmCtx<'_>, key: ProcKey, timer: Option<RealTimer>) -> Result<(), Errno> {
    ctx.state.set_timer(key, timer);
    set_kernel_alarm(ctx)
}

/// Sets pm's kernel alarm to ring at the soonest timer (or cancels it), unless it already does.
fn set_kernel_alarm(ctx: &mut PmCtx<'_>) -> Result<(), Errno> {
    let soonest = ctx.state.timers.range(..).next().map(|(&(due, _), _)| due);
    if soonest == *ctx.state.alarm_due.get() {
        return Ok(());
    }
    // The kernel takes a delay, 0 cancelling: a due time already reached rings at the next tick.
    let delay = soonest.map_or(0, |due| due.saturating_sub(now(ctx)).max(1));
    ctx.kernel(KernelCall::Alarm, |k| k.sys_setalarm(delay))?;
    ctx.state.alarm_due.set(soonest);
    Ok(())
}

/// After a restart: the kernel cancelled pm's alarm when the old incarnation ended, so it is set
/// again for the soonest timer of the state this incarnation starts on (else every ITIMER_REAL
/// would wait for a ring that never comes).
pub fn rearm_after_restart(proc: &Proc, state: &mut PmState) {
    let soonest = state.timers.range(..).next().map(|(&(due, _), _)| due);
    let armed = match soonest {
        // At least 1 µs: a delay of 0 would cancel the alarm; a passed due time rings at once.
        Some(due) => proc.sys_setalarm(due.saturating_sub(proc.now()).max(1)).is_ok(),
        None => false,
    };
    state.alarm_due.set(soonest.filter(|_| armed));
}

/// The kernel's alarm rang (or any notification from the kernel came): every expired timer
/// raises SIGALRM; a periodic one is re-armed one period on (skipping periods that passed
/// unseen, as a late tick does in MINIX).
pub fn expire_timers(ctx: &mut PmCtx<'_>) {
    let now = now(ctx);
    // The alarm that rang is spent.
    if ctx.state.alarm_due.get().is_some_and(|due| due <= now) {
        ctx.state.alarm_due.set(None);
    }
    loop {
        let soonest = ctx.state.timers.range(..).next().map(|(&k, _)| k);
        let Some((due, key)) = soonest.filter(|&(due, _)| due <= now) else { break };
        let interval = ctx.state.sigs.get(key).and_then(|s| s.timer).map_or(0, |t| t.interval);
        let next = (interval > 0).then(|| {
            let periods = (now - due) / interval + 1;
            RealTimer { due: due + periods * interval, interval }
        });
        ctx.state.set_timer(key, next);
        let _ = signal::raise(ctx, key, sig::SIGALRM);
    }
    let _ = set_kernel_alarm(ctx);
}

/// PM_TIMES: clock ticks since boot. (The CPU times of `struct tms` are not accounted: the
/// kernel keeps no CPU time per process.)
pub fn do_times(ctx: &mut PmCtx<'_>) -> Handled {
    let elapsed_ticks = now(ctx) * CLOCK_TICKS_PER_SECOND / MICROS_PER_SECOND;
    Handled::Reply(Ok(Message::with(0, &TimesReply { elapsed_ticks })))
}

/// CLOCK_REALTIME now, in microseconds since the Epoch.
fn realtime_us(ctx: &mut PmCtx<'_>) -> i64 {
    let offset = *ctx.state.clock_offset.get();
    // The kernel's clock (µs since boot) fits an i64 for 292,000 years.
    (now(ctx) as i64).saturating_add(offset)
}

/// PM_CLOCK_GETTIME: CLOCK_REALTIME or CLOCK_MONOTONIC.
pub fn do_clock_gettime(ctx: &mut PmCtx<'_>) -> Handled {
    let clock = ctx.m.get::<ClockRequest>().clock;
    let us = match clock {
        CLOCK_REALTIME => realtime_us(ctx),
        CLOCK_MONOTONIC => now(ctx) as i64,
        _ => return Handled::Reply(Err(Errno::EINVAL)),
    };
    let sec = us.div_euclid(MICROS_PER_SECOND as i64);
    let nsec = us.rem_euclid(MICROS_PER_SECOND as i64) * NANOS_PER_MICRO;
    Handled::Reply(Ok(Message::with(0, &TimespecPayload { clock, sec, nsec })))
}

/// PM_CLOCK_SETTIME: only CLOCK_REALTIME is settable, only by root; the new time moves the
/// system's offset over the kernel's clock.
pub fn do_clock_settime(ctx: &mut PmCtx<'_>) -> Handled {
    let r: TimespecPayload = ctx.m.get();
    if r.clock != CLOCK_REALTIME || !(0..NANOS_PER_SECOND).contains(&r.nsec) {
        return Handled::Reply(Err(Errno::EINVAL));
    }
    let who = ctx.requester();
    let Some(me) = ctx.state.procs.get_own(&who).cloned() else { return Handled::Reply(Err(Errno::ESRCH)) };
    if me.euid != ROOT_UID {
        return Handled::Reply(Err(Errno::EPERM));
    }
    let target = r
        .sec
        .checked_mul(MICROS_PER_SECOND as i64)
        .and_then(|us| us.checked_add(r.nsec / NANOS_PER_MICRO))
        .and_then(|us| us.checked_sub(now(ctx) as i64));
    match target {
        Some(offset) if offset.unsigned_abs() <= MAX_CLOCK_OFFSET_US.unsigned_abs() => {
            ctx.state.clock_offset.set(offset);
            Handled::Reply(Ok(Message::new(0)))
        }
        _ => Handled::Reply(Err(Errno::EINVAL)),
    }
}

/// PM_CLOCK_GETRES: both clocks count the kernel's microseconds.
pub fn do_clock_getres(ctx: &mut PmCtx<'_>) -> Handled {
    let clock = ctx.m.get::<ClockRequest>().clock;
    if clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC {
        return Handled::Reply(Err(Errno::EINVAL));
    }
    Handled::Reply(Ok(Message::with(0, &TimespecPayload { clock, sec: 0, nsec: NANOS_PER_MICRO })))
}

/// PM_GETTIMEOFDAY: CLOCK_REALTIME in seconds and microseconds.
pub fn do_gettimeofday(ctx: &mut PmCtx<'_>) -> Handled {
    let us = realtime_us(ctx);
    let reply =
        TimevalReply { sec: us.div_euclid(MICROS_PER_SECOND as i64), usec: us.rem_euclid(MICROS_PER_SECOND as i64) };
    Handled::Reply(Ok(Message::with(0, &reply)))
}

/// PM_GETRUSAGE: pm's part (signals delivered) and, for the caller itself, vm's part (its
/// memory, asked of vm with VM_GETRUSAGE, as MINIX's pm does).
pub fn do_getrusage(ctx: &mut PmCtx<'_>) -> Handled {
    let who_usage = ctx.m.get::<RusageRequest>().who;
    let who = ctx.requester();
    let Some(s) = ctx.state.sigs.get_own(&who).cloned() else { return Handled::Reply(Err(Errno::ESRCH)) };
    let Some(ep) = ctx.state.procs.get_own(&who).map(|p| p.ep) else { return Handled::Reply(Err(Errno::ESRCH)) };
    let reply = match who_usage {
        RUSAGE_SELF => {
            let usage = match ctx.sendrec(VM, Message::with(VM_GETRUSAGE, &VmProcRequest { proc: ep })) {
                Ok(answer) => answer.get::<VmUsageReply>(),
                Err(e) => return Handled::Reply(Err(e)),
            };
            RusageReply {
                nsignals: s.delivered,
                rss_kb: usage.pages * PAGE / KIB,
                text_pages: usage.text_pages,
                heap_pages: usage.heap_pages,
                stack_pages: usage.stack_pages,
                mmap_pages: usage.mmap_pages,
            }
        }
        RUSAGE_CHILDREN => RusageReply {
            nsignals: s.children_delivered,
            rss_kb: 0,
            text_pages: 0,
            heap_pages: 0,
            stack_pages: 0,
            mmap_pages: 0,
        },
        _ => return Handled::Reply(Err(Errno::EINVAL)),
    };
    Handled::Reply(Ok(Message::with(0, &reply)))
}

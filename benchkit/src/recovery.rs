//! Recovery latencies, at two levels.
//!
//! - The recovery crate: on a state of `n` entries after a request of `k` writes, an eager
//!   rollback (baseline: restoring a full copy of the state, the classic snapshot) and an SRS
//!   suppression (baseline: the rollback it replaces).
//! - End to end, on a whole system: pm crashes on a getpid (an injected panic at the start of the
//!   request) and rs recovers it under `restart` (MINIX's fresh incarnation), `rollback` and
//!   `srs`; pm crashes in a fork after its first message to vm and `pessimistic` halts the system
//!   (fail-stop). The latency is the wall time from the crash event (the crashed incarnation's
//!   end, after its stack has unwound) to the new incarnation's start, or to the halt. Under `sim`
//!   every kernel event is stamped with the wall clock as it happens (a `tracing` subscriber for
//!   the duration of the run, about 50 ns an event); under `threads` the event log's clock, which
//!   every kernel call and every process's end bring up to the wall clock (1 µs resolution). The
//!   notes add what the requester waited in all (the crash's unwinding included) and, under
//!   `sim`, the virtual time. The baseline of `restart` is a fault-free getpid round trip in the
//!   same run; the others compare with `restart`.
//!
//! Target (issue 4): rollback under `sim` in less than 10 µs.

use crate::measure::{self, Spread};
use crate::plan::Plan;
use crate::report::{Figure, Section, Unit, duration};
use crate::system::Setup;
use crate::undo::{self, BenchState, Undo};
use kernel_sim::{EndCause, EngineKind, Event, EventKind, Micros, RunEnd};
use os::errno::Errno;
use os::fault::FaultSpec;
use os::proto::PM;
use recovery::PolicyKind;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use testbed::boot::boot;

/// The rollback target under `sim`, ns.
pub const ROLLBACK_TARGET_NS: f64 = 10_000.0;
/// getpid calls init makes before the crashing one (boot's readiness probe makes one more).
const WARM_CALLS: u32 = 2;
/// The fault of the recovered crashes: pm panics at the start of init's next getpid (pm's
/// fourth: boot's probe, the warm-up calls, then this one).
const CRASH_FAULT: &str = "panic:pm:getpid:start:4";
/// The fault of the fail-stop: pm panics in a fork after its first message to vm; under
/// `pessimistic` a message out closes the window, so the system halts.
const FAIL_STOP_FAULT: &str = "panic:pm:fork:after-ipc-1:1";
/// Snapshot copies per sample (each copies the whole state).
const COPIES: u32 = 20;
/// The target of the kernel's events in `tracing`.
const KERNEL_TARGET: &str = "samsara::kernel";

/// One end-to-end crash, timed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CrashLatency {
    /// Wall nanoseconds from the crash event to the new incarnation's spawn (or to the halt).
    pub wall_ns: f64,
    /// Wall nanoseconds the requester waited for the crashed call (recovered crashes only).
    pub requester_ns: Option<f64>,
    /// A fault-free getpid round trip in the same run, wall nanoseconds.
    pub call_ns: f64,
    /// Virtual microseconds from the crash event to the spawn or halt (`sim` only).
    pub virtual_us: Option<Micros>,
}

/// A `tracing` subscriber that stamps each kernel event (by its sequence number) with the wall
/// clock. Installed only around a `sim` run, on its one thread.
#[derive(Clone, Default)]
struct Stamps(Arc<Mutex<Vec<(u64, Instant)>>>);

struct SeqField(Option<u64>);

impl tracing::field::Visit for SeqField {
    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        if field.name() == "seq" {
            self.0 = Some(value);
        }
    }
    fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
}

impl tracing::Subscriber for Stamps {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        metadata.target() == KERNEL_TARGET
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let at = Instant::now();
        let mut seq = SeqField(None);
        event.record(&mut seq);
        if let Some(seq) = seq.0 {
            self.0.lock().unwrap_or_else(|e| e.into_inner()).push((seq, at));
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// What init saw.
#[derive(Default)]
struct Seen {
    /// A fault-free getpid.
    call: Option<Duration>,
    /// The crashed call (recovered crashes).
    crashed_call: Option<Duration>,
    /// What went wrong, if anything.
    error: Option<String>,
}

/// Crashes pm under `policy` on `engine` once and times it.
pub fn crash_once(engine: EngineKind, policy: PolicyKind) -> Result<CrashLatency, String> {
    let fail_stop = policy == PolicyKind::Pessimistic;
    let fault: FaultSpec = if fail_stop { FAIL_STOP_FAULT } else { CRASH_FAULT }.parse()?;
    let setup = Setup { fault: Some((fault, policy)), record_events: true, ..Setup::new(engine) };
    let config = setup.machine_config();
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let out = seen.clone();
    let init = move |sys: &userland::libc::Sys<'_>| {
        let record = |f: &mut dyn FnMut(&mut Seen)| f(&mut out.lock().unwrap_or_else(|e| e.into_inner()));
        for _ in 0..WARM_CALLS {
            let start = Instant::now();
            if let Err(e) = sys.getpid() {
                record(&mut |s| s.error = Some(format!("warm-up getpid: {e}")));
                return 1;
            }
            let took = start.elapsed();
            record(&mut |s| s.call = Some(s.call.map_or(took, |c| c.min(took))));
        }
        if fail_stop {
            let r = sys.fork(|_| 0);
            record(&mut |s| s.error = Some(format!("the fork that should halt the system returned {r:?}")));
            return 1;
        }
        let start = Instant::now();
        // table and srs handle the crashed getpid again (the caller gets its pid); the classic
        // policies drop it (the caller gets ERECOVERED).
        let replayed = matches!(policy, PolicyKind::Table | PolicyKind::Srs);
        match sys.getpid() {
            Err(Errno::ERECOVERED) if !replayed => {
                let took = start.elapsed();
                record(&mut |s| s.crashed_call = Some(took));
                0
            }
            Ok(_) if replayed => {
                let took = start.elapsed();
                record(&mut |s| s.crashed_call = Some(took));
                0
            }
            other => {
                let expected = if replayed { "its pid" } else { "ERECOVERED" };
                record(&mut |s| s.error = Some(format!("the crashed getpid returned {other:?}, not {expected}")));
                1
            }
        }
    };
    let stamps = Stamps::default();
    let (report, events) = if engine == EngineKind::Sim {
        tracing::subscriber::with_default(stamps.clone(), || {
            let mut machine = boot(&config, init);
            let report = machine.run();
            (report, machine.system.events())
        })
    } else {
        let mut machine = boot(&config, init);
        let report = machine.run();
        (report, machine.system.events())
    };
    let seen = std::mem::take(&mut *seen.lock().unwrap_or_else(|e| e.into_inner()));
    if let Some(e) = seen.error.filter(|_| !fail_stop || !matches!(report.end, RunEnd::Shutdown { .. })) {
        return Err(e);
    }
    let ended_right = if fail_stop {
        matches!(&report.end, RunEnd::Shutdown { reason, .. } if reason.starts_with("fail-stop"))
    } else {
        report.end == RunEnd::Finished
    };
    if !ended_right {
        return Err(format!("the {policy} crash ended the run with {:?}", report.end));
    }
    let (crash, next) = crash_and_next(&events, fail_stop).ok_or("no crash of pm and no recovery in the event log")?;
    let wall_ns = if engine == EngineKind::Sim {
        let stamps = stamps.0.lock().unwrap_or_else(|e| e.into_inner());
        let at = |seq: u64| stamps.iter().find(|(s, _)| *s == seq).map(|(_, t)| *t);
        match (at(crash.seq), at(next.seq)) {
            (Some(a), Some(b)) => ns(b - a),
            _ => return Err("the kernel's events were not stamped (no tracing callsite?)".into()),
        }
    } else {
        (next.time - crash.time) as f64 * 1e3
    };
    Ok(CrashLatency {
        wall_ns,
        requester_ns: seen.crashed_call.map(ns),
        call_ns: seen.call.map_or(f64::NAN, ns),
        virtual_us: (engine == EngineKind::Sim).then(|| next.time - crash.time),
    })
}

/// pm's crash event and the event that ends its recovery: pm's next spawn, or the shutdown.
fn crash_and_next(events: &[Event], to_shutdown: bool) -> Option<(&Event, &Event)> {
    let crash = events.iter().position(
        |e| matches!(&e.kind, EventKind::End { ep, cause: EndCause::Crashed { .. } } if ep.slot() == PM.slot()),
    )?;
    let next = events[crash..].iter().find(|e| match &e.kind {
        EventKind::Spawn { ep, .. } => !to_shutdown && ep.slot() == PM.slot(),
        EventKind::Shutdown { .. } => to_shutdown,
        _ => false,
    })?;
    Some((&events[crash], next))
}

/// The recovery section.
pub fn section(plan: &Plan) -> Section {
    let mut s = Section::new("recovery", "Recovery latency");
    crate_level(plan, &mut s);
    for engine in [EngineKind::Sim, EngineKind::Threads] {
        if let Err(e) = end_to_end(plan, engine, &mut s) {
            s.missing(format!("recovery.e2e.{engine}"), format!("end-to-end recovery, {engine}"), e);
        }
    }
    s
}

fn crate_level(plan: &Plan, s: &mut Section) {
    let (n, k) = (plan.state_entries, plan.writes_per_request);
    let mut state = BenchState::new(n);
    let plain = undo::plain_state(n);
    let timer = undo::timer_overhead_ns();
    let rollback = measure::repeat(plan.repeats, || undo::undo_ns(&mut state, Undo::Rollback, k, plan.requests, timer));
    let suppress = measure::repeat(plan.repeats, || undo::undo_ns(&mut state, Undo::Suppress, k, plan.requests, timer));
    let copy = measure::repeat(plan.repeats, || undo::snapshot_copy_ns(&plain, COPIES));
    let what = format!("{n} entries, request of {k} writes");
    s.push(
        Figure::new(
            "recovery.rollback",
            format!("rollback, recovery crate ({what})"),
            Unit::Nanos,
            rollback,
            "restoring a full copy",
            copy,
        )
        .with_target("under 10 µs", rollback.median < ROLLBACK_TARGET_NS),
    );
    s.push(
        Figure::new(
            "recovery.suppress",
            format!("SRS suppression, recovery crate ({what})"),
            Unit::Nanos,
            suppress,
            "eager rollback",
            rollback,
        )
        .with_note("suspects are restored later, on their first read; that cost is not in this figure"),
    );
}

fn end_to_end(plan: &Plan, engine: EngineKind, s: &mut Section) -> Result<(), String> {
    let crashes = match engine {
        EngineKind::Sim => plan.crashes.sim,
        EngineKind::Threads => plan.crashes.threads,
    };
    let mut measured = Vec::new();
    for policy in [PolicyKind::Restart, PolicyKind::Rollback, PolicyKind::Srs, PolicyKind::Pessimistic] {
        let latencies: Vec<CrashLatency> =
            (0..crashes.max(1)).map(|_| crash_once(engine, policy)).collect::<Result<_, _>>()?;
        measured.push((policy, latencies));
    }
    let spread = |l: &[CrashLatency], f: &dyn Fn(&CrashLatency) -> Option<f64>| {
        let v: Vec<f64> = l.iter().filter_map(f).filter(|x| x.is_finite()).collect();
        (!v.is_empty()).then(|| Spread::of(&v))
    };
    let restart = spread(&measured[0].1, &|l| Some(l.wall_ns)).ok_or("no restart measured")?;
    let all: Vec<CrashLatency> = measured.iter().flat_map(|(_, l)| l.iter().copied()).collect();
    let call = spread(&all, &|l| Some(l.call_ns)).ok_or("no fault-free call measured")?;
    for (policy, latencies) in &measured {
        let wall = spread(latencies, &|l| Some(l.wall_ns)).ok_or("no latency measured")?;
        let requester = spread(latencies, &|l| l.requester_ns);
        let virtual_us = latencies.first().and_then(|l| l.virtual_us);
        let (id, name, end) = match policy {
            PolicyKind::Restart => ("restart", "restart (fresh state)", "new incarnation"),
            PolicyKind::Rollback => ("rollback", "rollback", "new incarnation"),
            PolicyKind::Srs => ("srs", "SRS suppression", "new incarnation"),
            _ => ("fail-stop", "fail-stop (pessimistic)", "halt"),
        };
        let mut note = if *policy == PolicyKind::Pessimistic {
            "pm crashes in fork after its message to vm".to_string()
        } else {
            "pm crashes on getpid".to_string()
        };
        if let Some(r) = requester {
            note += &format!("; the requester waited {} (unwinding the crash included)", duration(r.median));
        }
        if let Some(v) = virtual_us {
            note += &format!("; virtual time {v} us");
        }
        note += &format!("; median of {crashes} crashes");
        let (baseline_name, baseline) =
            if *policy == PolicyKind::Restart { ("fault-free getpid", call) } else { ("restart", restart) };
        let mut f = Figure::new(
            format!("recovery.e2e.{engine}.{id}"),
            format!("{name}: crash -> {end}, {engine}"),
            Unit::Nanos,
            wall,
            baseline_name,
            baseline,
        )
        .with_note(note);
        if *policy == PolicyKind::Rollback && engine == EngineKind::Sim {
            f = f.with_target("under 10 µs", wall.median < ROLLBACK_TARGET_NS);
        }
        s.push(f);
    }
    Ok(())
}

/// A duration's nanoseconds as a float.
fn ns(d: Duration) -> f64 {
    d.as_nanos() as f64
}

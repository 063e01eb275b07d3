//! Scaling curves.
//!
//! - Checkpoint cost against state size: a request of `k` tracked writes on states of 10^3 to
//!   10^6 entries, checkpointing on against off (off: the state's one window never closes, so no
//!   write logs a pre-image). Checkpointing's cost is the difference; the goal is that it stays
//!   flat as the state grows (a checkpoint is O(1) and a write logs one pre-image, whatever the
//!   size). The same writes on a plain `BTreeMap` show what tracking itself costs.
//! - Syscall throughput against the number of live user processes (1 to 10,000, init included):
//!   getpid and fork+exit+wait while the other processes sit blocked. The goal is that neither
//!   falls as processes are added: nothing on those paths (pm's fork, exit and wait, the kernel's
//!   end of a process) looks at every process.
//! - Campaign runs per second against the number of worker threads: see [`crate::campaigns`].

use crate::measure::Spread;
use crate::plan::Plan;
use crate::report::{Curve, Figure, Section, Series, Unit, duration};
use crate::syscalls::{Op, run_op};
use crate::system::{Setup, run_in_init};
use crate::undo::{self, BenchState};
use kernel_sim::EngineKind;

/// "Flat": the checkpoint cost at the largest state is at most this many times the smallest's.
pub const FLAT_RATIO: f64 = 1.5;
/// The least checkpoint cost reported, in ns: the clock's resolution. Noise on a busy machine
/// can put the median of on minus off at or below zero for a small state, and the flatness
/// ratio divides by that cost (and the chart's scale is logarithmic).
const LEAST_COST_NS: f64 = 1.0;
/// Chunks each repeat of the in-cache loops is cut into, alternating on and off.
const HOT_CHUNKS: u32 = 10;
/// Repeats of the whole-request (cold) loops of the checkpoint-cost curve: they are context
/// for the notes and the chart, and on a 10^6-entry state each request costs microseconds.
const COLD_REPEATS: u64 = 3;
/// The cold loops run this fraction of the plan's requests (1/COLD_SHARE).
const COLD_SHARE: u32 = 10;
/// At most this many repeats of a live-process point (each boots a machine with all of them).
const LIVE_REPEATS: usize = 3;
/// From this many live processes on, a `threads` point is measured once: each process is an OS
/// thread, and starting 10,000 of them takes seconds, far more than the loop measured (under
/// `sim` they start in a quarter of a second).
const THREADS_ONE_REPEAT_FROM: usize = 3_000;

/// The checkpoint cost curve, its rows, and the flatness figure.
///
/// Each size is measured twice. With the request's entries in cache ([`undo::hot_request_ns`]:
/// the same entries every request), checkpointing on against off: the difference is
/// checkpointing's own cost (the checkpoint and the pre-image logging), which the rows and the
/// flatness target are about. With the entries anywhere in the state (cold), on, off and on a
/// plain map: what a request costs in all, for the curve and the notes — on a large state that is
/// cache misses, the same with checkpointing on and off, and they drown the difference.
pub fn checkpoint_cost(plan: &Plan, s: &mut Section) -> Curve {
    let k = plan.writes_per_request;
    let mut series: [Vec<(f64, f64)>; 4] = Default::default();
    let mut costs: Vec<(usize, Spread)> = Vec::new();
    for &n in &plan.state_sizes {
        let (mut on_state, mut off_state) = BenchState::pair(n);
        let mut plain = undo::plain_state(n);
        let (mut on, mut off, mut cost) = (Vec::new(), Vec::new(), Vec::new());
        let (mut cold_on, mut cold_off, mut cold_plain) = (Vec::new(), Vec::new(), Vec::new());
        for seed in 0..plan.repeats.max(1) as u64 {
            // On and off alternate in short chunks, so that a slow spell of the machine hits both
            // alike; the repeat's figures are the medians over its chunks.
            let chunk = (plan.requests / HOT_CHUNKS).max(1);
            let (mut a, mut b, mut d) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..HOT_CHUNKS {
                let x = undo::hot_request_ns(&mut on_state, k, chunk, true, seed);
                let y = undo::hot_request_ns(&mut off_state, k, chunk, false, seed);
                a.push(x);
                b.push(y);
                d.push(x - y);
            }
            on.push(Spread::of(&a).median);
            off.push(Spread::of(&b).median);
            cost.push(Spread::of(&d).median.max(LEAST_COST_NS));
            if seed < COLD_REPEATS {
                let requests = (plan.requests / COLD_SHARE).max(1);
                cold_on.push(undo::tracked_request_ns(&mut on_state, k, requests, true));
                cold_off.push(undo::tracked_request_ns(&mut off_state, k, requests, false));
                cold_plain.push(undo::plain_request_ns(&mut plain, k, requests));
            }
        }
        let (on, off, cost) = (Spread::of(&on), Spread::of(&off), Spread::of(&cost));
        let (cold_on, cold_off, cold_plain) =
            (Spread::of(&cold_on).median, Spread::of(&cold_off).median, Spread::of(&cold_plain).median);
        s.push(
            Figure::new(
                format!("scaling.checkpoint.{n}"),
                format!("request of {k} writes, checkpointing on, {} entries", count(n)),
                Unit::Nanos,
                on,
                "checkpointing off",
                off,
            )
            .with_overhead()
            .with_note(format!(
                "the same {k} entries every request (in cache); {k} entries anywhere in the state: on {}, off {}, plain BTreeMap {}",
                duration(cold_on),
                duration(cold_off),
                duration(cold_plain)
            )),
        );
        for (line, y) in series.iter_mut().zip([cost.median, cold_on, cold_off, cold_plain]) {
            line.push((n as f64, y));
        }
        costs.push((n, cost));
    }
    if let (Some((small_n, small)), Some((big_n, big))) = (costs.first(), costs.last()) {
        let f = Figure::new(
            "scaling.checkpoint.flatness",
            format!("checkpointing's cost per {k}-write request, {} entries", count(*big_n)),
            Unit::Nanos,
            *big,
            format!("at {} entries", count(*small_n)),
            *small,
        );
        let met = f.ratio <= FLAT_RATIO;
        s.push(
            f.with_target(format!("flat (at most {FLAT_RATIO}x)"), met)
                .with_note("on minus off, entries in cache: the checkpoint and the pre-image logging alone"),
        );
    }
    let [cost, cold_on, cold_off, cold_plain] = series;
    Curve {
        id: "checkpoint-cost".into(),
        title: format!("A request of {k} writes vs state size"),
        x_label: "state entries".into(),
        y_label: "ns per request".into(),
        log_x: true,
        log_y: true,
        whole_x: true,
        series: vec![
            Series { name: "checkpointing's cost (on - off, entries in cache)".into(), points: cost },
            Series { name: "whole request, checkpointing on".into(), points: cold_on },
            Series { name: "whole request, checkpointing off".into(), points: cold_off },
            Series { name: "same writes, plain BTreeMap".into(), points: cold_plain },
        ],
    }
}

fn count(n: usize) -> String {
    match n {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n if n >= 1_000 && n % 1_000 == 0 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

/// Syscall throughput against live processes, both engines: rows and one curve.
pub fn live_processes(plan: &Plan, s: &mut Section) -> Curve {
    let mut series = Vec::new();
    for engine in [EngineKind::Sim, EngineKind::Threads] {
        let ops = [Op::Getpid, Op::Spawn];
        let mut points: Vec<Vec<(f64, f64)>> = vec![Vec::new(); ops.len()];
        let mut first: Vec<Option<Spread>> = vec![None; ops.len()];
        for &live in &plan.live_processes {
            let counts = [op_count(plan, engine, Op::Getpid), op_count(plan, engine, Op::Spawn)];
            let setup = Setup { live, ..Setup::new(engine) };
            let mut samples: Vec<Vec<f64>> = vec![Vec::new(); ops.len()];
            let mut failed = None;
            let one_repeat = engine == EngineKind::Threads && live >= THREADS_ONE_REPEAT_FROM;
            let repeats = if one_repeat { 1 } else { plan.repeats.clamp(1, LIVE_REPEATS) };
            for _ in 0..repeats {
                match run_in_init(&setup, move |sys| {
                    Ok([run_op(sys, Op::Getpid, counts[0])?, run_op(sys, Op::Spawn, counts[1])?])
                }) {
                    Ok(ran) => {
                        for (i, ns) in ran.value.into_iter().enumerate() {
                            samples[i].push(ns);
                        }
                    }
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            for (i, op) in ops.into_iter().enumerate() {
                let id = format!("scaling.live.{engine}.{}.{live}", op.id());
                let name = format!("{} throughput, {engine}, {live} live process{}", op.name(), plural(live));
                if let Some(e) = &failed {
                    s.missing(id, name, e.clone());
                    continue;
                }
                let rate = Spread::of(&samples[i]).to_rate();
                let base = *first[i].get_or_insert(rate);
                s.push(Figure::new(id, name, Unit::OpsPerSec, rate, "with 1 live process", base));
                points[i].push((live as f64, rate.median));
            }
        }
        for (i, op) in ops.into_iter().enumerate() {
            series.push(Series { name: format!("{}, {engine}", op.name()), points: std::mem::take(&mut points[i]) });
        }
    }
    Curve {
        id: "live-processes".into(),
        title: "Syscall throughput vs live user processes".into(),
        x_label: "live user processes".into(),
        y_label: "operations per second".into(),
        log_x: true,
        log_y: true,
        whole_x: true,
        series,
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "es" }
}

/// Operations per point: a quarter of the syscall section's loop (each point boots a machine
/// with all its live processes, a few times).
fn op_count(plan: &Plan, engine: EngineKind, op: Op) -> u32 {
    let c = op.counts(plan);
    let n = match engine {
        EngineKind::Sim => c.sim,
        EngineKind::Threads => c.threads,
    };
    (n / 4).max(1)
}

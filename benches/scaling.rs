//! Scaling (the same measurements as `samsara bench`'s scaling section): a request's checkpoint
//! cost against state size (10^3 to 10^6 entries, 8 writes per request: flat is the goal), and
//! getpid and fork+exit+wait throughput against the number of live user processes (1 to 10,000,
//! init included: flat is the goal). Every sample boots a machine with all its live processes
//! (untimed): at 10,000 under `threads`, that is seconds a sample.

use benchkit::syscalls::{Op, run_op};
use benchkit::system::{Setup, run_in_init};
use benchkit::undo::{self, BenchState};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use kernel_sim::EngineKind;
use std::time::Duration;

const WRITES: usize = 8;

fn checkpoint_cost(c: &mut Criterion) {
    let mut g = c.benchmark_group("checkpoint_cost");
    g.measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500)).sample_size(20);
    for n in [1_000, 10_000, 100_000, 1_000_000] {
        let (mut on, mut off) = BenchState::pair(n);
        for (label, state, checkpoint) in [("on", &mut on, true), ("off", &mut off, false)] {
            g.bench_with_input(BenchmarkId::new(format!("checkpointing_{label}"), n), &n, |b, _| {
                b.iter_custom(|iters| {
                    let r = u32::try_from(iters).unwrap_or(u32::MAX);
                    Duration::from_nanos((undo::hot_request_ns(state, WRITES, r, checkpoint, 1) * iters as f64) as u64)
                })
            });
        }
    }
    g.finish();
}

fn live_processes(c: &mut Criterion) {
    for engine in [EngineKind::Sim, EngineKind::Threads] {
        let mut g = c.benchmark_group(format!("live_processes_{engine}"));
        g.measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_millis(500)).sample_size(10);
        for live in [1, 10, 100, 1_000, 10_000] {
            for op in [Op::Getpid, Op::Spawn] {
                let setup = Setup { live, ..Setup::new(engine) };
                g.bench_with_input(BenchmarkId::new(op.id(), live), &live, |b, _| {
                    b.iter_custom(|iters| {
                        let n = u32::try_from(iters).unwrap_or(u32::MAX);
                        let ns = run_in_init(&setup, move |sys| run_op(sys, op, n)).expect("the loop runs").value;
                        Duration::from_nanos((ns * iters as f64) as u64)
                    })
                });
            }
        }
        g.finish();
    }
}

criterion_group!(benches, checkpoint_cost, live_processes);
criterion_main!(benches);

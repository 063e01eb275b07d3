//! Recovery latencies (the same measurements as `samsara bench`'s recovery section): rollback and
//! SRS suppression in the recovery crate against restoring a full copy, and end to end on a whole
//! system — pm crashes and rs brings it back under restart, rollback and srs, or pessimistic
//! halts it — from the crash event to the new incarnation (or the halt).
//!
//! Target (issue 4): rollback under `sim` in less than 10 µs.

use benchkit::recovery::crash_once;
use benchkit::undo::{self, BenchState, Undo};
use criterion::{Criterion, criterion_group, criterion_main};
use kernel_sim::EngineKind;
use recovery::PolicyKind;
use std::time::Duration;

/// Entries of the state and writes of the crashed request.
const ENTRIES: usize = 10_000;
const WRITES: usize = 8;

fn recovery_crate(c: &mut Criterion) {
    let mut g = c.benchmark_group("recovery_crate");
    g.measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_millis(500)).sample_size(20);
    let timer = undo::timer_overhead_ns();
    let mut state = BenchState::new(ENTRIES);
    for (name, undo) in [("rollback", Undo::Rollback), ("suppress", Undo::Suppress)] {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let n = u32::try_from(iters).unwrap_or(u32::MAX);
                Duration::from_nanos((undo::undo_ns(&mut state, undo, WRITES, n, timer) * iters as f64) as u64)
            })
        });
    }
    let plain = undo::plain_state(ENTRIES);
    g.bench_function("baseline_full_copy", |b| b.iter(|| std::hint::black_box(plain.clone())));
    g.finish();
}

fn end_to_end(c: &mut Criterion) {
    for engine in [EngineKind::Sim, EngineKind::Threads] {
        let mut g = c.benchmark_group(format!("recovery_e2e_{engine}"));
        g.measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_millis(500)).sample_size(10);
        for policy in [PolicyKind::Restart, PolicyKind::Rollback, PolicyKind::Srs, PolicyKind::Pessimistic] {
            let name = if policy == PolicyKind::Pessimistic { "fail-stop".to_string() } else { policy.to_string() };
            g.bench_function(name, |b| {
                b.iter_custom(|iters| {
                    let total: f64 =
                        (0..iters).map(|_| crash_once(engine, policy).expect("the crash recovers").wall_ns).sum();
                    Duration::from_nanos(total as u64)
                })
            });
        }
        g.finish();
    }
}

criterion_group!(benches, recovery_crate, end_to_end);
criterion_main!(benches);

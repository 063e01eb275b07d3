//! IPC round-trip cost: `sendrec` under `sim` and `threads`, with the physical baselines measured
//! in the same run (a raw crossbeam-channel ping-pong between two threads, and a plain call). The
//! loops are benchkit's, the same ones `samsara bench` runs.
//!
//! Targets (issue 2): `sim` at most 150 ns per round trip; `threads` at most 1.5x the raw ping-pong.

use benchkit::ipc::{crossbeam_rounds, plain_calls, sendrec_rounds};
use criterion::{Criterion, criterion_group, criterion_main};
use kernel_sim::EngineKind;
use std::time::Duration;

fn ipc(c: &mut Criterion) {
    let mut g = c.benchmark_group("sendrec_round_trip");
    g.measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1)).sample_size(20);
    g.bench_function("sim", |b| b.iter_custom(|iters| sendrec_rounds(EngineKind::Sim, iters)));
    g.bench_function("threads", |b| b.iter_custom(|iters| sendrec_rounds(EngineKind::Threads, iters)));
    g.bench_function("baseline_crossbeam_ping_pong", |b| b.iter_custom(crossbeam_rounds));
    g.bench_function("baseline_plain_call", |b| b.iter_custom(plain_calls));
    g.finish();
}

criterion_group!(benches, ipc);
criterion_main!(benches);

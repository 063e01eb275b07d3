//! Campaign throughput (the same measurement as `samsara bench`'s campaign section): a real
//! campaign of the posix workload, every fault under all six policies, on 1 to all cores; one
//! iteration is one fault-injection run.
//!
//! Target (issue 6): at least 500 runs per second on 2 cores under `sim`.

use benchkit::campaigns::{CampaignRun, fault_free_rate};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::time::Duration;

/// Faults of the benchmarked campaign (x 6 policies = runs per campaign execution).
const FAULTS: usize = 50;

fn campaign(c: &mut Criterion) {
    let run = CampaignRun::new(FAULTS).expect("the golden run passes");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut g = c.benchmark_group("campaign");
    g.measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1)).sample_size(10);
    g.throughput(Throughput::Elements(1));
    for threads in 1..=cores {
        g.bench_with_input(BenchmarkId::new("runs", threads), &threads, |b, &threads| {
            b.iter_custom(|iters| {
                // Whole campaigns until `iters` runs are done; the time of `iters` runs.
                let (mut runs, mut seconds) = (0usize, 0f64);
                while (runs as u64) < iters {
                    let (r, s) = run.run(threads).expect("the campaign runs");
                    runs += r;
                    seconds += s;
                }
                Duration::from_secs_f64(seconds * iters as f64 / runs as f64)
            })
        });
    }
    g.bench_function("baseline_fault_free_run", |b| {
        b.iter_custom(|iters| {
            let n = u32::try_from(iters).unwrap_or(u32::MAX);
            Duration::from_secs_f64(f64::from(n) / fault_free_rate(n).expect("the posix workload passes"))
        })
    });
    g.finish();
}

criterion_group!(benches, campaign);
criterion_main!(benches);

//! Syscall throughput under each engine, checkpointing off and on (the same loops as
//! `samsara bench`'s syscall section): getpid, fork+exit+wait, fork+exec+wait, a 1 KiB file
//! write+read through mfs, a pipe round trip, a signal round trip, stat and getrusage.
//!
//! Target (issue 5): checkpointing on costs at most 3% over off.

use benchkit::syscalls::{Op, time_op};
use benchkit::system::Setup;
use criterion::{Criterion, criterion_group, criterion_main};
use kernel_sim::EngineKind;
use os::task::CheckpointSwitch;
use std::time::Duration;

fn syscalls(c: &mut Criterion) {
    for engine in [EngineKind::Sim, EngineKind::Threads] {
        let mut g = c.benchmark_group(format!("syscalls_{engine}"));
        g.measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_millis(500)).sample_size(10);
        for op in Op::ALL {
            for on in [false, true] {
                let setup = Setup { checkpoints: CheckpointSwitch::new(on), ..Setup::new(engine) };
                let name = format!("{}/checkpointing_{}", op.id(), if on { "on" } else { "off" });
                g.bench_function(name, |b| {
                    b.iter_custom(|iters| {
                        let n = u32::try_from(iters).unwrap_or(u32::MAX);
                        let ns = time_op(&setup, op, n).expect("the loop runs");
                        Duration::from_nanos((ns * iters as f64) as u64)
                    })
                });
            }
        }
        g.finish();
    }
}

criterion_group!(benches, syscalls);
criterion_main!(benches);

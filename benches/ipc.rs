//! IPC round-trip cost: `sendrec` under `sim` and `threads`, with the physical baselines measured
//! in the same run (a raw crossbeam-channel ping-pong between two threads, and a plain call).
//!
//! Targets (issue 2): `sim` at most 150 ns per round trip; `threads` at most 1.5x the raw ping-pong.

use criterion::{Criterion, criterion_group, criterion_main};
use kernel_sim::{Config, Endpoint, EngineKind, Manifest, Message, SchedMode, System};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

const MANIFEST: &str = "service echo { slot 1; ipc ALL; kernel NONE; };\nuser { ipc echo; kernel NONE; };";
const ECHO: Endpoint = Endpoint::new(1, 0);

/// Times `rounds` sendrec round trips between a user and an echo server on `engine`.
pub fn sendrec_rounds(engine: EngineKind, rounds: u64) -> Duration {
    let manifest = Arc::new(Manifest::parse(MANIFEST, "bench.conf", &|_| None).expect("valid"));
    let config = Config { engine, sched: SchedMode::Fifo, record_events: false, ..Config::default() };
    let mut sys = System::new(manifest, config);
    sys.spawn_service("echo", |p| {
        // A server's loop: answer, then wait for the next request, in one kernel entry.
        let mut m = p.receive(Endpoint::ANY).expect("receive");
        loop {
            m = p.reply_receive(m.source, m, Endpoint::ANY).expect("receive");
        }
    })
    .expect("spawn");
    let elapsed = Arc::new(parking_lot::Mutex::new(Duration::ZERO));
    let out = elapsed.clone();
    sys.spawn_user("client", move |p| {
        let m = Message::new(0x01);
        p.sendrec(ECHO, m).expect("warm-up");
        let start = Instant::now();
        for _ in 0..rounds {
            black_box(p.sendrec(ECHO, black_box(m)).expect("sendrec"));
        }
        *out.lock() = start.elapsed();
    })
    .expect("spawn");
    sys.run();
    *elapsed.lock()
}

/// Times `rounds` ping-pongs over two crossbeam channels between two threads.
pub fn crossbeam_rounds(rounds: u64) -> Duration {
    let (to_server, server_rx) = crossbeam_channel::bounded::<Message>(1);
    let (to_client, client_rx) = crossbeam_channel::bounded::<Message>(1);
    let server = std::thread::spawn(move || {
        while let Ok(m) = server_rx.recv() {
            if to_client.send(m).is_err() {
                break;
            }
        }
    });
    let m = Message::new(0x01);
    to_server.send(m).unwrap();
    client_rx.recv().unwrap();
    let start = Instant::now();
    for _ in 0..rounds {
        to_server.send(black_box(m)).unwrap();
        black_box(client_rx.recv().unwrap());
    }
    let d = start.elapsed();
    drop(to_server);
    server.join().unwrap();
    d
}

#[inline(never)]
fn plain_call(m: Message) -> Message {
    black_box(m)
}

fn ipc(c: &mut Criterion) {
    let mut g = c.benchmark_group("sendrec_round_trip");
    g.measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1)).sample_size(20);
    g.bench_function("sim", |b| b.iter_custom(|iters| sendrec_rounds(EngineKind::Sim, iters)));
    g.bench_function("threads", |b| b.iter_custom(|iters| sendrec_rounds(EngineKind::Threads, iters)));
    g.bench_function("baseline_crossbeam_ping_pong", |b| b.iter_custom(crossbeam_rounds));
    g.bench_function("baseline_plain_call", |b| b.iter(|| plain_call(black_box(Message::new(1)))));
    g.finish();
}

criterion_group!(benches, ipc);
criterion_main!(benches);

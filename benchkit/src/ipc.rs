//! IPC: the `sendrec` round trip under `sim` and `threads`, beside the physical baselines — a raw
//! crossbeam-channel ping-pong between two OS threads, and a plain function call.
//!
//! Targets (issue 2): `sim` at most 150 ns per round trip; `threads` at most 1.5x the raw
//! ping-pong.

use crate::measure;
use crate::plan::Plan;
use crate::report::{Figure, Section, Unit};
use kernel_sim::{Config, Endpoint, EngineKind, Manifest, Message, SchedMode, System};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A one-service system: an echo server a user process calls.
const MANIFEST: &str = "service echo { slot 1; ipc ALL; kernel NONE; };\nuser { ipc echo; kernel NONE; };";
const ECHO: Endpoint = Endpoint::new(1, 0);

/// The `sim` target: at most this many nanoseconds per round trip.
pub const SIM_TARGET_NS: f64 = 150.0;
/// The `threads` target: at most this many times the raw crossbeam ping-pong.
pub const THREADS_TARGET_RATIO: f64 = 1.5;

/// Times `rounds` sendrec round trips between a user and an echo server on `engine`.
pub fn sendrec_rounds(engine: EngineKind, rounds: u64) -> Duration {
    let manifest = Arc::new(Manifest::parse(MANIFEST, "bench.conf", &|_| None).expect("valid"));
    let config = Config { engine, sched: SchedMode::Fifo, record_events: false, ..Config::default() };
    let sys = System::new(manifest, config);
    // The loop every samsara server runs (servers' `sef::receive`): the answer goes out with the
    // next receive, in one kernel entry.
    sys.spawn_service("echo", |p| {
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
    let mut sys = sys;
    sys.run();
    *elapsed.lock()
}

/// Times `rounds` ping-pongs of a message over two crossbeam channels between two threads.
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
    to_server.send(m).expect("the server thread runs");
    client_rx.recv().expect("the server thread answers");
    let start = Instant::now();
    for _ in 0..rounds {
        to_server.send(black_box(m)).expect("the server thread runs");
        black_box(client_rx.recv().expect("the server thread answers"));
    }
    let d = start.elapsed();
    drop(to_server);
    server.join().expect("the server thread ends cleanly");
    d
}

/// A call the optimiser cannot remove: the floor of any request/response.
#[inline(never)]
pub fn plain_call(m: Message) -> Message {
    black_box(m)
}

/// Times `calls` plain calls.
pub fn plain_calls(calls: u64) -> Duration {
    let m = Message::new(1);
    let start = Instant::now();
    for _ in 0..calls {
        black_box(plain_call(black_box(m)));
    }
    start.elapsed()
}

fn ns_per(d: Duration, n: u32) -> f64 {
    d.as_nanos() as f64 / f64::from(n.max(1))
}

/// The IPC section.
pub fn section(plan: &Plan) -> Section {
    let mut s = Section::new("ipc", "IPC: sendrec round trip (user -> server -> user)");
    let r = plan.ipc_rounds;
    let repeats = plan.repeats;
    let sim = measure::repeat(repeats, || ns_per(sendrec_rounds(EngineKind::Sim, r.sim.into()), r.sim));
    let plain = measure::repeat(repeats, || ns_per(plain_calls(plan.plain_calls.into()), plan.plain_calls));
    // Alternated, so that a busy spell of the machine (it moves thread round trips by whole
    // microseconds) hits the engine and its baseline alike.
    let (threads, crossbeam) = measure::try_repeat_pair::<std::convert::Infallible>(
        repeats,
        || Ok(ns_per(sendrec_rounds(EngineKind::Threads, r.threads.into()), r.threads)),
        || Ok(ns_per(crossbeam_rounds(r.threads.into()), r.threads)),
    )
    .unwrap_or_else(|never| match never {});
    s.push(
        Figure::new("ipc.sendrec.sim", "sendrec round trip, sim", Unit::Nanos, sim, "plain function call", plain)
            .with_target(format!("at most {SIM_TARGET_NS:.0} ns"), sim.median <= SIM_TARGET_NS),
    );
    let f = Figure::new(
        "ipc.sendrec.threads",
        "sendrec round trip, threads",
        Unit::Nanos,
        threads,
        "crossbeam ping-pong",
        crossbeam,
    );
    let met = f.ratio <= THREADS_TARGET_RATIO;
    s.push(f.with_target(format!("at most {THREADS_TARGET_RATIO}x the ping-pong"), met));
    s.push(Figure::new(
        "ipc.crossbeam",
        "raw crossbeam ping-pong (2 threads)",
        Unit::Nanos,
        crossbeam,
        "plain function call",
        plain,
    ));
    s
}

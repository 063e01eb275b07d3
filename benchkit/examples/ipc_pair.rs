//! The `threads` sendrec round trip beside the raw crossbeam ping-pong, alternately, nothing else:
//! the figure `samsara bench` reports, alone, so that it can be measured with both threads on
//! cores of their own. Linux often runs a ping-pong's two threads on one core (then every
//! hand-over waits for the scheduler); as real-time threads they get a core each:
//!
//! ```text
//! cargo build --release -p benchkit --example ipc_pair
//! chrt -f 10 target/release/examples/ipc_pair [ROUNDS] [REPEATS]
//! ```
//!
//! Prints every pair (engine / ping-pong, in ns per round trip) and the medians' ratio; the target
//! (issue 2) is at most 1.5x.

use benchkit::ipc::{THREADS_TARGET_RATIO, crossbeam_rounds, sendrec_rounds};
use benchkit::measure::Spread;
use kernel_sim::EngineKind;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<u64>());
    let (rounds, repeats) = match (args.next().unwrap_or(Ok(100_000)), args.next().unwrap_or(Ok(9))) {
        (Ok(rounds), Ok(repeats)) if rounds > 0 && repeats > 0 => (rounds, repeats),
        _ => {
            eprintln!("usage: ipc_pair [ROUNDS (100000)] [REPEATS (9)], both positive integers");
            return ExitCode::FAILURE;
        }
    };
    let per_round = |d: std::time::Duration| d.as_nanos() as f64 / rounds as f64;
    let (mut engine, mut raw) = (Vec::new(), Vec::new());
    for _ in 0..repeats {
        let (e, r) = (per_round(sendrec_rounds(EngineKind::Threads, rounds)), per_round(crossbeam_rounds(rounds)));
        println!("{e:.0} / {r:.0} ns");
        engine.push(e);
        raw.push(r);
    }
    let (engine, raw) = (Spread::of(&engine), Spread::of(&raw));
    let ratio = engine.median / raw.median;
    println!(
        "median: threads {:.0} ns, crossbeam ping-pong {:.0} ns: {ratio:.2}x (target at most {THREADS_TARGET_RATIO}x: {})",
        engine.median,
        raw.median,
        if ratio <= THREADS_TARGET_RATIO { "met" } else { "NOT MET" }
    );
    ExitCode::SUCCESS
}

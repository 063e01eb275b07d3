//! The fuzzer of user behaviour (`userland::fuzz`) against the whole system: several non-root
//! processes at once making random system calls with hostile arguments (huge lengths, negative and
//! stale descriptors, buffers outside the address space, forged grants, strangers' pids, deep and
//! over-long paths, names with NUL bytes and slashes), raw messages of every type to every
//! endpoint, kernel calls, forks, exits, kills and waits.
//!
//! After every run: no server crashed (rs decided nothing), every call got success or a defined
//! errno, every kernel call was denied, the consistency checker is clean, nothing leaked (every
//! frame back, no process entry, address space, descriptor table, open file or pipe left but
//! init's). `FuzzOutcome::problems` says which rule broke.
//!
//! The short modes run here on every `cargo test`: proptest over programs (shrinking to the few
//! calls that matter), a fixed set of seeded plans, the `threads` engine. The long mode — at least
//! a million calls — is `long_fuzz_a_million_calls`, ignored by default:
//!
//! ```text
//! cargo test --release -p testbed --test hostile_fuzz -- --ignored --nocapture
//! SAMSARA_FUZZ_CALLS=5000000 SAMSARA_FUZZ_SEED=1000 cargo test --release ...   # longer, elsewhere
//! ```

use kernel_sim::EngineKind;
use proptest::prelude::*;
use std::collections::BTreeSet;
use testbed::fuzz::{self, FuzzOutcome, FuzzRun, LongRun};
use userland::fuzz::{Op, Plan, Words};

/// Random words each op draws from (an op uses at most this many; the rest of a word list is
/// zeros, which pick plain choices).
const WORDS_PER_OP: usize = 12;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Panics with every problem, the plan and how to replay it.
fn assert_clean(what: &str, run: &FuzzRun, out: &FuzzOutcome) {
    let problems = out.problems();
    assert!(
        problems.is_empty(),
        "{what}: {} problems after {} calls (scheduler seed {}, engine {}):\n  {}\nplan:\n{}",
        problems.len(),
        out.calls(),
        run.seed,
        run.engine,
        problems.join("\n  "),
        show(&run.plan)
    );
}

/// A plan, one op a line, workers apart.
fn show(plan: &Plan) -> String {
    let mut out = String::new();
    for (k, ops) in plan.workers.iter().enumerate() {
        out += &format!("  worker {k}:\n");
        for op in ops {
            out += &format!("    {op:?}\n");
        }
    }
    out
}

fn plan_of(programs: &[Vec<Vec<u64>>]) -> Plan {
    Plan {
        workers: programs
            .iter()
            .map(|program| program.iter().map(|words| Op::generate(&mut Words(words))).collect())
            .collect(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: env_u64("PROPTEST_CASES", 10) as u32,
        // A failure prints its shrunk plan; no regression files in the source tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Programs drawn by proptest: a failure shrinks to the fewest, plainest calls that still
    /// break a rule.
    #[test]
    fn random_programs_never_crash_a_server_nor_leave_damage(
        programs in prop::collection::vec(
            prop::collection::vec(prop::collection::vec(any::<u64>(), WORDS_PER_OP), 0..60),
            1..4,
        ),
        seed in any::<u64>(),
    ) {
        let run = FuzzRun::sim(plan_of(&programs), seed);
        let out = fuzz::run(&run);
        assert_clean("proptest plan", &run, &out);
    }
}

#[test]
fn seeded_plans_never_crash_a_server_nor_leave_damage() {
    /// Plans and their size: ~3,000 calls, every server checking its invariants after every
    /// request.
    const SEEDS: u64 = 8;
    let mut calls = 0;
    let mut ops_made = BTreeSet::new();
    for seed in 0..SEEDS {
        let run = FuzzRun::sim(Plan::generate(seed, 4, 120), seed);
        let out = fuzz::run(&run);
        assert_clean(&format!("Plan::generate({seed}, 4, 120)"), &run, &out);
        calls += out.calls();
        ops_made.extend(out.report.counters.keys().filter_map(|k| k.strip_prefix("fuzz.op.")).map(String::from));
    }
    assert!(calls > 1_000, "the plans ran: {calls} calls");
    for op in ["open", "read", "write", "fork", "exec", "kill", "wait4", "raw", "kernel_call", "mmap", "pipe", "rename"]
    {
        assert!(ops_made.contains(op), "no `{op}` was made: {ops_made:?}");
    }
}

#[test]
fn the_same_seed_gives_the_same_fuzz_run() {
    let run = FuzzRun::sim(Plan::generate(77, 3, 80), 77);
    let (a, b) = (fuzz::run(&run), fuzz::run(&run));
    assert_eq!(a.report, b.report, "every answer and counter is the same");
    assert_eq!(a.end, b.end);
    assert!(a.calls() > 50, "{}", a.calls());
}

#[test]
fn the_generator_draws_every_kind_of_hostile_argument() {
    let plan = Plan::generate(1, 8, 400);
    let text = format!("{plan:?}");
    for needle in [
        "Nul(",
        "Deep(",
        "Long(",
        "LongName(",
        "Slashes(",
        "Forged(",
        "Revoked",
        "WrongGrantee",
        "Max(",
        "StackTop",
        "Stale(",
        "Raw(-1)",
        "Other(",
        "Kernel {",
        "StaleServer",
        "Exec {",
        "Fork {",
    ] {
        assert!(text.contains(needle), "no {needle} in 3,200 generated ops");
    }
    // A word list of zeros is the plainest program: getpids.
    assert_eq!(Op::generate(&mut Words(&[])), Op::Getpid);
}

#[test]
fn the_threads_engine_survives_the_fuzzer_too() {
    // Real parallelism: not reproducible from the seed, so few runs; init ends blocked workers
    // after 300 ms of wall time without progress.
    for seed in 0..2 {
        let mut run = FuzzRun::sim(Plan::generate(seed, 3, 60), seed);
        run.engine = EngineKind::Threads;
        run.options.stall_micros = 300_000;
        let out = fuzz::run(&run);
        assert_clean("threads", &run, &out);
    }
}

#[test]
fn a_small_machine_runs_out_of_memory_cleanly_under_the_fuzzer() {
    // 160 frames: the workers' images, forks and mappings exhaust memory at once.
    for seed in 0..3 {
        let mut run = FuzzRun::sim(Plan::generate(100 + seed, 5, 80), seed);
        run.frames = 160;
        let out = fuzz::run(&run);
        assert_clean("160 frames", &run, &out);
        assert!(out.report.counters.contains_key("fuzz.answer.ENOMEM"), "{:?}", out.report.counters);
    }
}

/// The long mode: plans from consecutive seeds (from `SAMSARA_FUZZ_SEED`, default 0) on every
/// core until a million calls (or `SAMSARA_FUZZ_CALLS`) were made, servers checking their
/// invariants after every request (`SAMSARA_FUZZ_INVARIANTS=0`: only the checker at the end, ~35x
/// faster). `SAMSARA_FUZZ_WORKERS`, `SAMSARA_FUZZ_OPS` and `SAMSARA_FUZZ_FRAMES` shape the runs.
/// Prints calls/s.
#[test]
#[ignore = "long mode: a million calls; run with --release --ignored --nocapture"]
fn long_fuzz_a_million_calls() {
    let opts = LongRun {
        calls: env_u64("SAMSARA_FUZZ_CALLS", 1_000_000),
        first_seed: env_u64("SAMSARA_FUZZ_SEED", 0),
        threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
        workers: env_u64("SAMSARA_FUZZ_WORKERS", 4) as usize,
        ops: env_u64("SAMSARA_FUZZ_OPS", 150) as usize,
        check_invariants: env_u64("SAMSARA_FUZZ_INVARIANTS", 1) != 0,
        frames: env_u64("SAMSARA_FUZZ_FRAMES", testbed::run::DEFAULT_FRAMES as u64) as usize,
    };
    eprintln!("long fuzz: {opts:?}");
    let last = std::sync::Mutex::new(std::time::Instant::now());
    let report = fuzz::long_run(&opts, |r| {
        let mut last = last.lock().unwrap();
        if last.elapsed().as_secs() >= 10 {
            *last = std::time::Instant::now();
            eprintln!("  {r}");
        }
    });
    eprintln!("long fuzz: {report}");
    for (seed, problems) in report.failing.iter().take(5) {
        eprintln!(
            "  seed {seed} (replay: FuzzRun::sim(Plan::generate({seed}, {}, {}), {seed}) with {} frames):",
            opts.workers, opts.ops, opts.frames
        );
        for p in problems.iter().take(10) {
            eprintln!("    {p}");
        }
    }
    assert!(report.calls >= opts.calls, "{report}");
    assert_eq!((report.server_panics, report.violations, report.failing.len()), (0, 0, 0), "{report}");
}

//! Fuzz runs: a machine booted with the fuzzer's workload ([`userland::fuzz`]), and the stopped
//! system judged by the rules in that module's docs ([`FuzzOutcome::problems`]); and the long mode,
//! many runs from consecutive seeds.

use crate::boot::{MachineConfig, boot};
use crate::checker::{self, Snapshot};
use kernel_sim::{Config, EngineKind, RunEnd, SchedMode};
use os::proto::{INIT, key_of};
use os::rs::decisions::DecisionRecord;
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use userland::fuzz::{FuzzOptions, Plan, workload};
use userland::workload::report::{Recorder, WorkloadReport};

// ---- one run ----------------------------------------------------------------------------------

/// Everything one fuzz run needs.
#[derive(Clone, Debug)]
pub struct FuzzRun {
    /// The programs.
    pub plan: Plan,
    /// The engine.
    pub engine: EngineKind,
    /// The scheduler's seed.
    pub seed: u64,
    /// Every server checks its invariants after every request (a breach becomes a crash).
    pub check_invariants: bool,
    /// Frames of simulated memory.
    pub frames: usize,
    /// Supervision.
    pub options: FuzzOptions,
}

impl FuzzRun {
    /// A `sim` run of `plan` with the scheduler seeded by `seed`, invariants checked.
    pub fn sim(plan: Plan, seed: u64) -> FuzzRun {
        FuzzRun {
            plan,
            engine: EngineKind::Sim,
            seed,
            check_invariants: true,
            frames: crate::run::DEFAULT_FRAMES,
            options: FuzzOptions::default(),
        }
    }
}

/// What a fuzz run found.
#[derive(Clone, Debug)]
pub struct FuzzOutcome {
    /// How the kernel's run ended.
    pub end: RunEnd,
    /// rs's decisions: each one a server that died.
    pub decisions: Vec<DecisionRecord>,
    /// The consistency checker's findings.
    pub violations: Vec<String>,
    /// State that outlived every worker.
    pub leaks: Vec<String>,
    /// The workload's checks and counters (`fuzz.calls`, `fuzz.answer.ENOENT`...).
    pub report: WorkloadReport,
}

impl FuzzOutcome {
    /// Calls the workers made.
    pub fn calls(&self) -> u64 {
        self.report.counters.get("fuzz.calls").copied().unwrap_or(0)
    }

    /// Server deaths (rs's decisions).
    pub fn server_panics(&self) -> usize {
        self.decisions.len()
    }

    /// Every breach of the rules in the module docs, as readable lines; empty when the run is clean.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.end != RunEnd::Finished {
            out.push(format!("the run ended {:?}, not Finished", self.end));
        }
        out.extend(self.decisions.iter().map(|d| format!("a server died: {d}")));
        out.extend(self.violations.iter().map(|v| format!("checker: {v}")));
        out.extend(self.leaks.iter().map(|l| format!("leak: {l}")));
        out.extend(self.report.failures.iter().cloned());
        if let Some(n) = self.report.counters.get("fuzz.failures.unkept") {
            out.push(format!("... and {n} more failures"));
        }
        out
    }
}

/// Boots a machine, runs `run`'s plan, and judges the stopped system.
pub fn run(run: &FuzzRun) -> FuzzOutcome {
    let config = MachineConfig {
        kernel: Config {
            engine: run.engine,
            seed: run.seed,
            sched: SchedMode::Random,
            time_limit: crate::run::DEFAULT_TIME_LIMIT,
            event_limit: crate::run::DEFAULT_EVENT_LIMIT,
            record_events: false,
            finish_after: Some(INIT),
            frames: run.frames,
            ..Config::default()
        },
        check_invariants: run.check_invariants,
        ..MachineConfig::default()
    };
    let recorder = Recorder::default();
    let init = workload(run.plan.clone(), run.options.clone());
    let rec = recorder.clone();
    let mut machine = boot(&config, move |sys| {
        init(sys, &rec);
        0
    });
    let end = machine.run().end;
    let mut snapshot = Snapshot::take(&machine);
    let violations = checker::check(&mut snapshot).iter().map(ToString::to_string).collect();
    let leaks = leaks(&mut snapshot);
    FuzzOutcome { end, decisions: machine.decisions.records(), violations, leaks, report: recorder.report() }
}

/// What the servers still hold for processes other than init, or open files init does not hold.
pub fn leaks(s: &mut Snapshot) -> Vec<String> {
    let init = key_of(INIT);
    let mut out = Vec::new();
    if let Some(pm) = s.pm.as_mut() {
        let others: Vec<String> =
            pm.procs.iter().filter(|(k, _)| **k != init).map(|(_, p)| format!("{} ({:?})", p.pid, p.phase)).collect();
        if !others.is_empty() {
            out.push(format!("pm still has process entries {others:?}"));
        }
    }
    if let Some(vm) = s.vm.as_mut() {
        let others: Vec<u32> = vm.spaces.iter().map(|(k, _)| *k).filter(|k| *k != init).collect();
        if !others.is_empty() {
            out.push(format!("vm still has address spaces of slots {others:?}"));
        }
    }
    if let Some(vfs) = s.vfs.as_mut() {
        let others: Vec<u32> = vfs.fprocs.iter().map(|(k, _)| *k).filter(|k| *k != init).collect();
        if !others.is_empty() {
            out.push(format!("vfs still has descriptor tables of slots {others:?}"));
        }
        let held: Vec<u32> = vfs
            .fprocs
            .iter()
            .filter(|(k, _)| **k == init)
            .flat_map(|(_, f)| f.fds.iter().flatten().copied().collect::<Vec<_>>())
            .collect();
        let open: Vec<usize> = vfs
            .filps
            .iter()
            .enumerate()
            .filter(|(i, f)| f.is_some() && !held.contains(&(*i as u32)))
            .map(|(i, _)| i)
            .collect();
        if !open.is_empty() {
            out.push(format!("vfs still has open files {open:?} that no descriptor of init holds"));
        }
        let pipes = vfs.vnodes.iter().flatten().filter(|v| v.pipe().is_some()).count();
        if pipes > 0 {
            out.push(format!("vfs still has {pipes} pipes"));
        }
    }
    out
}

// ---- the long mode ------------------------------------------------------------------------------

/// A long fuzzing session: many runs, each a fresh plan from its own seed.
#[derive(Clone, Debug)]
pub struct LongRun {
    /// Stop starting runs once this many calls were made.
    pub calls: u64,
    /// The first run's seed; run `i` uses `first_seed + i` for its plan and its scheduler.
    pub first_seed: u64,
    /// OS threads running machines side by side.
    pub threads: usize,
    /// Workers per run.
    pub workers: usize,
    /// Ops per worker.
    pub ops: usize,
    /// Every server checks its invariants after every request.
    pub check_invariants: bool,
    /// Frames of simulated memory per machine (few: memory runs out often).
    pub frames: usize,
}

/// What a long session found.
#[derive(Clone, Debug, Default)]
pub struct LongReport {
    /// Runs made.
    pub runs: u64,
    /// Calls the workers made.
    pub calls: u64,
    /// Server deaths over all runs.
    pub server_panics: u64,
    /// Consistency violations over all runs.
    pub violations: u64,
    /// Runs with any problem, by seed, with their problems.
    pub failing: Vec<(u64, Vec<String>)>,
    /// Wall seconds.
    pub seconds: f64,
}

impl LongReport {
    /// Calls per wall second.
    pub fn calls_per_second(&self) -> f64 {
        self.calls as f64 / self.seconds.max(1e-9)
    }
}

impl fmt::Display for LongReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} runs, {} calls in {:.1} s ({:.0} calls/s): {} server panics, {} consistency violations, \
             {} failing runs",
            self.runs,
            self.calls,
            self.seconds,
            self.calls_per_second(),
            self.server_panics,
            self.violations,
            self.failing.len()
        )
    }
}

/// Runs plans from consecutive seeds on `threads` threads until `calls` calls were made; calls
/// `progress` after every run.
pub fn long_run(opts: &LongRun, progress: impl Fn(&LongReport) + Sync) -> LongReport {
    let started = Instant::now();
    let next = AtomicU64::new(0);
    let report = Mutex::new(LongReport::default());
    std::thread::scope(|s| {
        for _ in 0..opts.threads.max(1) {
            s.spawn(|| {
                loop {
                    if report.lock().unwrap_or_else(|e| e.into_inner()).calls >= opts.calls {
                        return;
                    }
                    let seed = opts.first_seed + next.fetch_add(1, Ordering::Relaxed);
                    let plan = Plan::generate(seed, opts.workers, opts.ops);
                    let out = run(&FuzzRun {
                        check_invariants: opts.check_invariants,
                        frames: opts.frames,
                        ..FuzzRun::sim(plan, seed)
                    });
                    let mut r = report.lock().unwrap_or_else(|e| e.into_inner());
                    r.runs += 1;
                    r.calls += out.calls();
                    r.server_panics += out.server_panics() as u64;
                    r.violations += out.violations.len() as u64;
                    let problems = out.problems();
                    if !problems.is_empty() {
                        r.failing.push((seed, problems));
                    }
                    r.seconds = started.elapsed().as_secs_f64();
                    progress(&r);
                }
            });
        }
    });
    let mut r = report.into_inner().unwrap_or_else(|e| e.into_inner());
    r.seconds = started.elapsed().as_secs_f64();
    r.failing.sort_by_key(|(seed, _)| *seed);
    r
}

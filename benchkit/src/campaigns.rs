//! Campaign throughput: fault-injection runs per second of a real campaign (`Campaign::run`: the
//! posix workload, sampled faults in pm, vm and vfs, every fault under every policy, results
//! written as JSON lines) on 1 to all cores, against the same workload's fault-free runs back to
//! back on one core.
//!
//! Target (issue 6): at least 500 runs per second on 2 cores under `sim`.

use crate::measure::Spread;
use crate::plan::{Mode, Plan};
use crate::report::{Curve, Figure, Section, Series, Unit};
use campaign::execute::{Campaign, Golden, Options};
use campaign::plan::CampaignSpec;
use recovery::PolicyKind;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;
use testbed::boot::default_table;
use testbed::run::{Outcome, RunSpec, execute};

/// The target: runs per second on [`TARGET_CORES`] cores.
pub const TARGET_RUNS_PER_S: f64 = 500.0;
/// The cores the target is stated for.
pub const TARGET_CORES: usize = 2;

/// What the campaign measurements found.
pub struct CampaignRates {
    /// Runs per second per worker-thread count, 1 to all cores.
    pub by_threads: Vec<(usize, Spread)>,
    /// Fault-free runs per second back to back on one core.
    pub fault_free: Spread,
    /// Runs per campaign execution.
    pub runs: usize,
    /// The machine's own parallel speedup on 1 to all threads: a CPU-bound loop with no sharing
    /// (on a shared machine, other work takes cores from both alike).
    pub cpu_speedup: Vec<(usize, Spread)>,
}

/// Iterations of the CPU-bound probe per thread (about 0.1 s on a 2020s core).
const PROBE_ITERATIONS: u64 = 200_000_000;

/// The speedup of `threads` threads each running the same CPU-bound loop, over one thread.
fn cpu_probe(threads: usize, iterations: u64) -> f64 {
    let run = |threads: usize| {
        let start = Instant::now();
        std::thread::scope(|scope| {
            for t in 0..threads {
                scope.spawn(move || {
                    let mut x = t as u64 + 1;
                    for _ in 0..iterations {
                        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    }
                    std::hint::black_box(x)
                });
            }
        });
        (threads as f64 * iterations as f64) / start.elapsed().as_secs_f64().max(1e-9)
    };
    let one = run(1);
    run(threads) / one
}

fn workload() -> campaign::execute::WorkloadFn {
    Arc::new(userland::workload::posix::run)
}

/// A campaign of the posix workload ready to run again and again (its golden run done), writing
/// its results to a scratch file that is removed afterwards.
pub struct CampaignRun {
    campaign: Campaign,
    golden: Golden,
    out: PathBuf,
}

impl CampaignRun {
    /// `faults` sampled faults, each under every policy.
    pub fn new(faults: usize) -> Result<CampaignRun, String> {
        let spec = CampaignSpec { faults, ..CampaignSpec::default() };
        let campaign = Campaign { spec, workload: workload(), table: default_table(), manifest: None };
        let golden = campaign.golden()?;
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let out = std::env::temp_dir().join(format!(
            "samsara-bench-{}-{}.jsonl",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        Ok(CampaignRun { campaign, golden, out })
    }

    /// Runs the whole campaign on `threads` worker threads: the runs done and the wall seconds.
    pub fn run(&self, threads: usize) -> Result<(usize, f64), String> {
        let e = self
            .campaign
            .run(&self.golden, &self.out, Options { threads: Some(threads.max(1)), ..Options::default() })
            .map_err(|e| e.to_string())?;
        Ok((e.ran, e.seconds))
    }
}

impl Drop for CampaignRun {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.out);
    }
}

/// Fault-free runs of the posix workload per second, `runs` of them back to back on this thread.
pub fn fault_free_rate(runs: u32) -> Result<f64, String> {
    let spec = RunSpec::default();
    let table = default_table();
    let start = Instant::now();
    for _ in 0..runs.max(1) {
        let r = execute(&spec, table.clone(), userland::workload::posix::run);
        if r.outcome != Outcome::Pass {
            return Err(format!("a fault-free posix run did not pass: {}", r.outcome));
        }
    }
    Ok(f64::from(runs.max(1)) / start.elapsed().as_secs_f64().max(1e-9))
}

/// Repeats of each campaign measurement (a campaign takes a second or more: two is enough to
/// catch an outlier without doubling a quick run).
const CAMPAIGN_REPEATS: usize = 2;

/// Measures a campaign of `plan.campaign_faults` faults under all policies on 1..=`cores`
/// worker threads, the fault-free baseline, and the machine's own parallelism.
pub fn measure(plan: &Plan, cores: usize) -> Result<CampaignRates, String> {
    let c = CampaignRun::new(plan.campaign_faults)?;
    let mut by_threads = Vec::new();
    let mut runs = 0;
    for threads in 1..=cores.max(1) {
        let mut samples = Vec::new();
        for _ in 0..CAMPAIGN_REPEATS {
            let (ran, seconds) = c.run(threads)?;
            runs = ran;
            samples.push(ran as f64 / seconds.max(1e-9));
        }
        by_threads.push((threads, Spread::of(&samples)));
    }
    let iterations = match plan.mode {
        Mode::Full => PROBE_ITERATIONS,
        Mode::Quick => PROBE_ITERATIONS / 4,
        Mode::Smoke => PROBE_ITERATIONS / 1000,
    };
    let cpu_speedup = (1..=cores.max(1))
        .map(|t| match t {
            1 => (1, Spread::exact(1.0)),
            t => (t, Spread::of(&(0..CAMPAIGN_REPEATS).map(|_| cpu_probe(t, iterations)).collect::<Vec<_>>())),
        })
        .collect();
    let fault_free =
        (0..CAMPAIGN_REPEATS).map(|_| fault_free_rate(plan.baseline_runs)).collect::<Result<Vec<_>, _>>()?;
    Ok(CampaignRates { by_threads, fault_free: Spread::of(&fault_free), runs, cpu_speedup })
}

/// The campaign-throughput section's figure, and the runs-per-core rows and curve of the
/// scaling section.
pub fn sections(rates: &CampaignRates, throughput: &mut Section, scaling: &mut Section) -> Curve {
    let one = rates.by_threads.first().map(|(_, s)| *s);
    for &(threads, rate) in &rates.by_threads {
        scaling.push(Figure::new(
            format!("scaling.campaign.{threads}"),
            format!("campaign runs/s, {threads} worker thread{}", if threads == 1 { "" } else { "s" }),
            Unit::RunsPerSec,
            rate,
            "1 worker thread",
            one.unwrap_or(rate),
        ));
    }
    for &(threads, speedup) in rates.cpu_speedup.iter().filter(|(t, _)| *t > 1) {
        scaling.push(
            Figure::new(
                format!("scaling.cpu.{threads}"),
                format!("machine check: CPU-bound loop, {threads} threads"),
                Unit::Factor,
                speedup,
                "1 thread",
                Spread::exact(1.0),
            )
            .with_note("speedup of a loop that shares nothing: the parallelism the machine gave during this run"),
        );
    }
    let at_target = rates.by_threads.iter().rev().find(|(t, _)| *t <= TARGET_CORES);
    if let Some(&(threads, rate)) = at_target {
        let f = Figure::new(
            "campaign.throughput",
            format!("campaign throughput, {threads} worker thread{}, sim", if threads == 1 { "" } else { "s" }),
            Unit::RunsPerSec,
            rate,
            "fault-free runs, 1 core",
            rates.fault_free,
        )
        .with_note(format!(
            "{} runs of the posix workload ({} faults x {} policies), results written as JSON lines",
            rates.runs,
            rates.runs / PolicyKind::ALL.len(),
            PolicyKind::ALL.len()
        ));
        let met = threads >= TARGET_CORES && rate.median >= TARGET_RUNS_PER_S;
        throughput.push(f.with_target(format!("at least {TARGET_RUNS_PER_S:.0} runs/s on {TARGET_CORES} cores"), met));
    }
    if let Some(&(threads, rate)) = rates.by_threads.last().filter(|(t, _)| *t > TARGET_CORES) {
        throughput.push(Figure::new(
            "campaign.throughput.all",
            format!("campaign throughput, all {threads} cores, sim"),
            Unit::RunsPerSec,
            rate,
            "fault-free runs, 1 core",
            rates.fault_free,
        ));
    }
    let one_rate = one.map_or(0.0, |s| s.median);
    Curve {
        id: "campaign-cores".into(),
        title: "Campaign runs per second vs worker threads".into(),
        x_label: "worker threads (cores)".into(),
        y_label: "runs per second".into(),
        log_x: false,
        log_y: false,
        whole_x: true,
        series: vec![
            Series {
                name: format!("campaign (posix, {} policies)", PolicyKind::ALL.len()),
                points: rates.by_threads.iter().map(|(t, s)| (*t as f64, s.median)).collect(),
            },
            Series {
                name: "linear from 1 thread".into(),
                points: rates.by_threads.iter().map(|(t, _)| (*t as f64, one_rate * *t as f64)).collect(),
            },
            Series {
                name: "1 thread x the machine's CPU-bound speedup".into(),
                points: rates.cpu_speedup.iter().map(|(t, s)| (*t as f64, one_rate * s.median)).collect(),
            },
        ],
    }
}

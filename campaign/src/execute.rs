//! Running a campaign: the golden run, then every planned run in parallel on all cores (rayon),
//! each a deterministic `sim` run, appended to the results file as it finishes, with a progress
//! bar showing the ETA and the live outcome counts. Results do not depend on the thread count:
//! each run depends only on its fault, its policy and the seed.
//!
//! A run whose simulator panics (a samsara bug, not a recovery result) does not take the campaign
//! down: it is recorded as a `crash` with the panic message, and summaries count it apart.

use crate::plan::{CampaignSpec, RunId, Shard, runs, sample_faults};
use crate::results::{self, BadRecords, Dropped, Header, ResultsError, RunRecord, Writer};
use indicatif::{ProgressBar, ProgressStyle};
use kernel_sim::Manifest;
use os::fault::{FaultSpec, SiteProfile, Trigger};
use rayon::prelude::*;
use recovery::{PolicyKind, RecoveryTable};
use std::collections::{BTreeMap, BTreeSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use testbed::run::{Outcome, RunResult, RunSpec, Verdict, execute};
use userland::libc::Sys;
use userland::workload::report::Recorder;

/// A workload as campaigns run it: the init body of every run.
pub type WorkloadFn = Arc<dyn Fn(&Sys<'_>, &Recorder) + Send + Sync>;

/// A campaign ready to run.
pub struct Campaign {
    /// What it is.
    pub spec: CampaignSpec,
    /// The workload's init body.
    pub workload: WorkloadFn,
    /// The recovery-class table `table` and `srs` consult.
    pub table: Arc<RecoveryTable>,
    /// The service manifest every run boots, parsed from `spec.manifest` (`None`: the built-in).
    pub manifest: Option<Arc<Manifest>>,
}

/// The golden run: the workload fault-free, with every site's executions counted.
pub struct Golden {
    /// The run itself (it must pass).
    pub result: RunResult,
    /// The sites it executed.
    pub profile: SiteProfile,
    /// Kernel events a faulty run gets before it counts as livelocked (from the golden run's).
    pub event_limit: u64,
}

/// What a panic said.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(a panic without a message)".to_string())
}

/// How to execute a campaign's runs (by default: all of them, afresh, on every core, quietly).
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Run only this shard's runs.
    pub shard: Option<Shard>,
    /// Keep the runs already in the results file and run the rest; `None`: start afresh. The
    /// file's records are checked against the plan; the bad ones refused or dropped.
    pub resume: Option<BadRecords>,
    /// Worker threads (`None`: every core).
    pub threads: Option<usize>,
    /// Show a progress bar.
    pub progress: bool,
    /// Which of a resumed file's kept records to run again and compare before keeping them.
    pub verify: Verify,
}

/// Which kept records a resumed campaign runs again to check them (a `sim` run replays from its
/// seed, so a record that differs from its re-run was edited, or written by another build).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verify {
    /// This many, spread evenly over the file (all of them when it holds fewer).
    Sample(usize),
    /// Every one (as long as running them afresh).
    All,
}

impl Default for Verify {
    fn default() -> Verify {
        Verify::Sample(DEFAULT_VERIFIED)
    }
}

/// Kept records a resumed campaign runs again by default: a fraction of a second of runs.
pub const DEFAULT_VERIFIED: usize = 16;

impl std::fmt::Display for Verify {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verify::Sample(n) => write!(f, "{n}"),
            Verify::All => write!(f, "all"),
        }
    }
}

impl std::str::FromStr for Verify {
    type Err = String;
    fn from_str(text: &str) -> Result<Verify, String> {
        match text {
            "all" => Ok(Verify::All),
            n => n.parse().map(Verify::Sample).map_err(|_| format!("`{text}`: expected a number of records or `all`")),
        }
    }
}

/// How a campaign execution went.
pub struct Execution {
    /// Runs done by this execution.
    pub ran: usize,
    /// Runs found already done in the results file (a resumed campaign).
    pub already_done: usize,
    /// Records of the resumed file dropped as not of its plan (under [`BadRecords::Drop`]).
    pub dropped: Vec<Dropped>,
    /// The resumed file ended in a torn line (the kill came mid-write), cut off: its run ran again.
    pub cut_torn_line: bool,
    /// Wall seconds this execution took.
    pub seconds: f64,
}

impl Campaign {
    fn spec_for(&self, fault: Option<FaultSpec>, policy: PolicyKind, profile: bool) -> RunSpec {
        RunSpec {
            event_limit: testbed::run::DEFAULT_EVENT_LIMIT,
            seed: self.spec.seed,
            policy,
            fault,
            check_invariants: self.spec.check_invariants,
            profile,
            manifest: self.manifest.clone(),
            ..RunSpec::default()
        }
    }

    fn execute(&self, spec: &RunSpec) -> RunResult {
        let workload = self.workload.clone();
        execute(spec, self.table.clone(), move |sys, rec| workload(sys, rec))
    }

    /// Runs the workload fault-free with site profiling. A workload that fails without faults
    /// would make every outcome meaningless: that is an error.
    pub fn golden(&self) -> Result<Golden, String> {
        let mut result = self.execute(&self.spec_for(None, PolicyKind::Restart, true));
        if result.outcome != Outcome::Pass {
            return Err(format!(
                "the golden run of `{}` does not pass without faults ({}): {:?} {:?}",
                self.spec.workload, result.outcome, result.workload.failures, result.violations
            ));
        }
        let profile = result.profile.take().expect("profiled");
        let event_limit = testbed::run::livelock_limit(result.events);
        Ok(Golden { result, profile, event_limit })
    }

    /// The faults of the campaign, from the golden run's profile.
    pub fn faults(&self, golden: &Golden) -> Vec<FaultSpec> {
        sample_faults(&self.spec, &golden.profile)
    }

    /// One run: `fault` under `policy`, cut short as a livelock past `golden`'s event limit.
    pub fn run_one(&self, golden: &Golden, id: RunId, fault: &FaultSpec, policy: PolicyKind) -> RunRecord {
        let spec = RunSpec { event_limit: golden.event_limit, ..self.spec_for(Some(fault.clone()), policy, false) };
        let handler = match &fault.trigger {
            Trigger::Site { handler, .. } => handler.clone(),
            Trigger::Request { m_type, .. } => os::proto::call_name(*m_type).to_string(),
        };
        let record = RunRecord {
            id,
            fault: fault.to_string(),
            kind: fault.kind,
            persistence: fault.persistence,
            server: fault.server.clone(),
            handler,
            policy,
            // What a run whose simulator panicked keeps: a crash, no checker finding (the checker
            // never ran: its panic, not its verdict, is what the summaries count).
            outcome: Outcome::Crash,
            checker: Verdict::Clean,
            fault_fired: false,
            fault_firings: 0,
            simulator_panic: None,
            decisions: Vec::new(),
            reason: None,
            violations: Vec::new(),
            workload_failures: Vec::new(),
            srs: BTreeMap::new(),
            virtual_us: 0,
        };
        // The machine is dropped with the unwind: nothing of it is read after a panic.
        match catch_unwind(AssertUnwindSafe(|| self.execute(&spec))) {
            Ok(r) => RunRecord {
                outcome: r.outcome,
                checker: r.checker,
                fault_fired: r.fault_fired,
                fault_firings: r.fault_firings,
                decisions: r.decisions.iter().map(|d| d.decision.label().to_string()).collect(),
                reason: r.decisions.first().map(|d| d.decision.reason().to_string()),
                violations: r.violations.iter().map(|v| format!("{}: {}", v.invariant, v.detail)).collect(),
                workload_failures: r.workload.failures.clone(),
                srs: r.srs,
                virtual_us: r.time,
                ..record
            },
            Err(payload) => RunRecord { simulator_panic: Some(panic_message(payload.as_ref())), ..record },
        }
    }

    /// Runs again the records of `file` (read from `out`, checked against the plan) that `verify`
    /// picks and compares each with its re-run: one that differs is refused naming its line, or
    /// dropped (and so run again) under [`BadRecords::Drop`].
    fn verify_kept(
        &self,
        golden: &Golden,
        out: &Path,
        file: &mut results::ResultsFile,
        faults: &[FaultSpec],
        verify: Verify,
        bad: BadRecords,
    ) -> Result<Vec<Dropped>, ResultsError> {
        let kept = file.runs.len();
        let picked: BTreeSet<usize> = match verify {
            Verify::All => (0..kept).collect(),
            Verify::Sample(n) => (0..n.min(kept)).map(|i| i * kept / n.min(kept)).collect(),
        };
        let rerun: Vec<(usize, RunRecord)> = picked
            .into_par_iter()
            .map(|i| {
                let id = file.runs[i].id;
                (i, self.run_one(golden, id, &faults[id.fault], id.policy))
            })
            .collect();
        let mut dropped = Vec::new();
        for (i, again) in rerun {
            let Some(difference) = differs(&file.runs[i], &again) else { continue };
            let why = format!(
                "run {} does not match its re-run ({difference}): the file was edited, or written by another build of samsara",
                again.id
            );
            match bad {
                BadRecords::Refuse => {
                    return Err(ResultsError { file: out.to_path_buf(), line: file.lines[i], message: why });
                }
                BadRecords::Drop => dropped.push(Dropped { file: out.to_path_buf(), line: file.lines[i], why }),
            }
        }
        let bad_lines: BTreeSet<usize> = dropped.iter().map(|d| d.line).collect();
        let keep: Vec<bool> = file.lines.iter().map(|l| !bad_lines.contains(l)).collect();
        file.keep(&keep);
        Ok(dropped)
    }

    /// Runs every planned run of the shard not yet in `out` (all of them unless resuming),
    /// appending each to `out` as it finishes; at the end the file is put in the plan's order.
    pub fn run(&self, golden: &Golden, out: &Path, options: Options) -> Result<Execution, ResultsError> {
        let Options { shard, resume, threads, progress, verify } = options;
        let started = Instant::now();
        let faults = self.faults(golden);
        let header = Header {
            campaign: self.spec.clone(),
            shard,
            planned_faults: faults.len(),
            plan: faults.iter().map(|f| f.to_string()).collect(),
            event_limit: Some(golden.event_limit),
        };
        let io = |e: std::io::Error| ResultsError { file: out.to_path_buf(), line: 0, message: e.to_string() };
        let (mut writer, done, dropped, cut_torn_line) = match resume {
            Some(bad) if out.exists() => {
                let mut existing = results::read(out)?;
                if existing.header != header {
                    return Err(ResultsError {
                        file: out.to_path_buf(),
                        line: 1,
                        message: "holds another campaign (spec, shard or plan differ): resume only the same campaign"
                            .into(),
                    });
                }
                let mut dropped = results::check_plan(out, &mut existing, bad)?;
                dropped.extend(self.verify_kept(golden, out, &mut existing, &faults, verify, bad)?);
                let done: BTreeSet<RunId> = existing.runs.iter().map(|r| r.id).collect();
                // What is kept, whole and in order, before anything is appended.
                results::rewrite(out, &header, existing.runs).map_err(io)?;
                (Writer::append(out).map_err(io)?, done, dropped, existing.dropped_torn_line)
            }
            _ => (Writer::create(out, &header).map_err(io)?, BTreeSet::new(), Vec::new(), false),
        };
        let todo: Vec<RunId> =
            runs(faults.len(), &self.spec.policies, shard).into_iter().filter(|id| !done.contains(id)).collect();
        let bar = if progress { ProgressBar::new(todo.len() as u64) } else { ProgressBar::hidden() };
        bar.set_style(
            ProgressStyle::with_template("{bar:40.cyan/blue} {pos}/{len} runs  {per_sec}  ETA {eta}  {msg}")
                .expect("a valid template"),
        );
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads.unwrap_or(0)).build().map_err(|e| {
            ResultsError { file: out.to_path_buf(), line: 0, message: format!("cannot start worker threads: {e}") }
        })?;
        let (tx, rx) = std::sync::mpsc::channel::<RunRecord>();
        let mut counts: BTreeMap<Outcome, u64> = BTreeMap::new();
        let ran = std::thread::scope(|scope| -> Result<usize, ResultsError> {
            let todo = &todo;
            let faults = &faults;
            scope.spawn(move || {
                pool.install(|| {
                    todo.par_iter().for_each_with(tx, |tx, &id| {
                        let _ = tx.send(self.run_one(golden, id, &faults[id.fault], id.policy));
                    })
                })
            });
            let mut ran = 0;
            for record in rx {
                writer.write(&record).map_err(io)?;
                *counts.entry(record.outcome).or_default() += 1;
                ran += 1;
                bar.inc(1);
                bar.set_message(counts.iter().rev().map(|(o, n)| format!("{o} {n}")).collect::<Vec<_>>().join("  "));
            }
            Ok(ran)
        })?;
        bar.finish_and_clear();
        drop(writer);
        // Runs finish in thread-timing order; the file a seed gives is the plan's order.
        let finished = results::read(out)?;
        results::rewrite(out, &header, finished.runs).map_err(io)?;
        Ok(Execution {
            ran,
            already_done: done.len(),
            dropped,
            cut_torn_line,
            seconds: started.elapsed().as_secs_f64(),
        })
    }
}

/// The first field in which `recorded` and `rerun` differ, with both values, if any does.
fn differs(recorded: &RunRecord, rerun: &RunRecord) -> Option<String> {
    if recorded == rerun {
        return None;
    }
    let (a, b) = (serde_json::to_value(recorded).ok()?, serde_json::to_value(rerun).ok()?);
    let (a, b) = (a.as_object()?, b.as_object()?);
    let field = a.keys().chain(b.keys()).find(|k| a.get(*k) != b.get(*k))?;
    let shown = |v: Option<&serde_json::Value>| v.map_or("nothing".to_string(), |v| v.to_string());
    Some(format!("`{field}`: recorded {}, re-run gives {}", shown(a.get(field)), shown(b.get(field))))
}

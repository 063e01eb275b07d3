//! One run: boot a machine, run a workload, inject at most one fault, let detection and the
//! recovery policy act, run the consistency checker on the stopped system, and classify.
//!
//! Outcomes (DESIGN, "Outcomes of one fault-injection run"): `pass` (the workload completed and the
//! system is consistent); `recovered` (a crash was recovered: a requester saw an error, the system
//! is consistent); `fail-stop` (a controlled halt); `crash` (the system died, hung or deadlocked);
//! `inconsistent` (the checker found silent damage — the worst outcome); `workload-failed` (the
//! system is consistent but a workload check got a wrong result: lost or damaged state that the
//! checker cannot see, such as a fresh server that forgot a process's memory).
//!
//! Damage is never hidden: beside its outcome every run records the checker's [`Verdict`] on the
//! stopped system, so a fail-stop or a crash that left damaged state behind is told apart from a
//! clean one (`inconsistent` is kept for a system that ran on with silent damage).
//!
//! A run finishes when init (the workload) is gone and nothing can run: a process a bad recovery
//! leaked, blocked for ever, does not make the run look hung; the checker judges it.

use crate::boot::{MachineConfig, boot};
use crate::checker::{self, Snapshot, Violation};
use kernel_sim::{Config, EngineKind, Manifest, Micros, RunEnd, SchedMode};
use os::fault::{FaultSpec, SiteProfile};
use os::proto::INIT;
use os::rs::decisions::DecisionRecord;
use recovery::{Decision, FieldSrs, PolicyKind, RecoveryTable, SrsCounters, TrackedState};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use userland::libc::Sys;
use userland::workload::report::{Recorder, WorkloadReport};

/// How a run ended, from the worst to the best.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Silent damage: the checker found broken invariants.
    Inconsistent,
    /// The system died, hung or deadlocked.
    Crash,
    /// Consistent, but a workload check got a wrong result a recovered crash does not explain.
    WorkloadFailed,
    /// A controlled halt by the recovery policy.
    FailStop,
    /// A crash was recovered; a requester saw an error; the system is consistent.
    Recovered,
    /// Everything worked.
    Pass,
}

impl Outcome {
    /// Every outcome, best first, as reports list them.
    pub const ALL: [Outcome; 6] = [
        Outcome::Pass,
        Outcome::Recovered,
        Outcome::FailStop,
        Outcome::WorkloadFailed,
        Outcome::Crash,
        Outcome::Inconsistent,
    ];

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Recovered => "recovered",
            Outcome::FailStop => "fail-stop",
            Outcome::WorkloadFailed => "workload-failed",
            Outcome::Crash => "crash",
            Outcome::Inconsistent => "inconsistent",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The consistency checker's verdict on a run's stopped system.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// No invariant is broken.
    #[default]
    Clean,
    /// Some invariant is broken (the run's violations say which).
    Damaged,
}

impl Verdict {
    /// The verdict of the checker's findings.
    pub fn of<T>(violations: &[T]) -> Verdict {
        if violations.is_empty() { Verdict::Clean } else { Verdict::Damaged }
    }

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Clean => "clean",
            Verdict::Damaged => "damaged",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything that defines a run; the same spec always gives the same run under `sim`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunSpec {
    /// The engine.
    pub engine: EngineKind,
    /// The seed.
    pub seed: u64,
    /// The recovery policy.
    pub policy: PolicyKind,
    /// The fault, if any.
    pub fault: Option<FaultSpec>,
    /// Loop-top invariant checks in every server.
    pub check_invariants: bool,
    /// Virtual (sim) or wall (threads) microseconds before the run counts as hung.
    pub time_limit: Micros,
    /// Kernel events before the run counts as livelocked.
    #[serde(default = "default_event_limit")]
    pub event_limit: u64,
    /// Keep the kernel's event log (for replay and the demo).
    pub record_events: bool,
    /// Count every site's executions (a campaign's golden run).
    #[serde(default)]
    pub profile: bool,
    /// Physical frames of simulated memory (4 KiB each).
    #[serde(default = "default_frames")]
    pub frames: usize,
    /// The service manifest to boot (`None`: the built-in `etc/system.conf`).
    #[serde(skip)]
    pub manifest: Option<Arc<Manifest>>,
}

fn default_event_limit() -> u64 {
    DEFAULT_EVENT_LIMIT
}

fn default_frames() -> usize {
    DEFAULT_FRAMES
}

/// Frames a run's machine has: 64 MiB, a small real machine's memory, which real programs' strace
/// logs need (a shell pipeline of three dynamically linked programs maps about 40 MiB, each fork
/// copying its parent's); frames are materialised only when touched and vm's free list is one
/// vector, so booting thousands of runs costs what it did with 16 MiB (README, "Measured").
pub const DEFAULT_FRAMES: usize = 16384;

impl Default for RunSpec {
    fn default() -> Self {
        RunSpec {
            engine: EngineKind::Sim,
            seed: 0,
            policy: PolicyKind::Restart,
            fault: None,
            check_invariants: false,
            time_limit: DEFAULT_TIME_LIMIT,
            event_limit: DEFAULT_EVENT_LIMIT,
            record_events: false,
            profile: false,
            frames: DEFAULT_FRAMES,
            manifest: None,
        }
    }
}

/// Virtual time a run gets before it counts as hung: long enough for heartbeats to find a hang
/// (two 1 s periods) and a restart to finish, short enough to cost nothing under `sim`.
pub const DEFAULT_TIME_LIMIT: Micros = 20_000_000;

/// Kernel events a run gets by default: no limit but time's (a run with no fault has no
/// livelock to cut short).
pub const DEFAULT_EVENT_LIMIT: u64 = u64::MAX;

/// Kernel events a faulty run gets before it counts as livelocked, from its workload's golden run
/// (the same run without the fault): 50 times as many, and at least 100,000. A recovered run
/// repeats a little of the work; a livelock (a fault that sends a process round a loop of calls
/// that never advances) would otherwise spin to the time limit, 20 s of virtual time at a kernel
/// entry a microsecond, some 15 million events and seconds of a campaign's worker.
pub fn livelock_limit(golden_events: u64) -> u64 {
    golden_events.saturating_mul(50).max(100_000)
}

/// What one run did.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunResult {
    /// Its classification.
    pub outcome: Outcome,
    /// The checker's verdict on the stopped system, whatever the outcome (a fail-stop or a crash
    /// can leave damage behind too).
    #[serde(default)]
    pub checker: Verdict,
    /// How the kernel's run ended.
    pub end: RunEnd,
    /// Whether the fault fired (a fault on a request the workload never made does not).
    pub fault_fired: bool,
    /// How many times it fired (at most once when transient; a persistent fault fires again at
    /// every later occasion).
    #[serde(default)]
    pub fault_firings: u64,
    /// The workload's report.
    pub workload: WorkloadReport,
    /// rs's decisions, in order.
    pub decisions: Vec<DecisionRecord>,
    /// The checker's findings.
    pub violations: Vec<Finding>,
    /// SRS counters of each server's final state.
    pub srs: BTreeMap<String, SrsCounters>,
    /// Per server, the fields that held SRS suspects and how each was resolved.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub srs_fields: BTreeMap<String, Vec<FieldSrs>>,
    /// The clock when the run ended.
    pub time: Micros,
    /// Kernel events that happened.
    pub events: u64,
    /// The event log as text, when recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_log: Option<String>,
    /// Every site executed, when profiled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<SiteProfile>,
}

/// A checker finding, as results files keep it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Which invariant.
    pub invariant: String,
    /// What is wrong.
    pub detail: String,
}

impl From<&Violation> for Finding {
    fn from(v: &Violation) -> Finding {
        Finding { invariant: v.invariant.to_string(), detail: v.detail.clone() }
    }
}

/// Runs `workload` as init under `spec`, with `table` for the table-driven policies.
pub fn execute(
    spec: &RunSpec,
    table: Arc<RecoveryTable>,
    workload: impl FnOnce(&Sys<'_>, &Recorder) + Send + 'static,
) -> RunResult {
    let recorder = Recorder::default();
    let profile = spec.profile.then(|| Arc::new(Mutex::new(SiteProfile::default())));
    let config = MachineConfig {
        kernel: Config {
            engine: spec.engine,
            seed: spec.seed,
            sched: SchedMode::Random,
            time_limit: spec.time_limit,
            event_limit: spec.event_limit,
            record_events: spec.record_events,
            finish_after: Some(INIT),
            frames: spec.frames,
            ..Config::default()
        },
        profile: profile.clone(),
        policy: spec.policy,
        table,
        fault: spec.fault.clone(),
        check_invariants: spec.check_invariants,
        manifest: spec.manifest.clone().unwrap_or_else(crate::boot::default_manifest),
        ..MachineConfig::default()
    };
    let init_recorder = recorder.clone();
    let mut machine = boot(&config, move |sys| {
        workload(sys, &init_recorder);
        0
    });
    let report = machine.run();
    let mut snapshot = Snapshot::take(&machine);
    let (mut srs, mut srs_fields) = (BTreeMap::new(), BTreeMap::new());
    for (name, report) in [
        ("pm", snapshot.pm.as_mut().map(|s| s.srs_report())),
        ("vm", snapshot.vm.as_mut().map(|s| s.srs_report())),
        ("vfs", snapshot.vfs.as_mut().map(|s| s.srs_report())),
        ("ds", snapshot.ds.as_mut().map(|s| s.srs_report())),
        ("sched", snapshot.sched.as_mut().map(|s| s.srs_report())),
        ("mfs", snapshot.mfs.as_mut().map(|s| s.srs_report())),
    ] {
        if let Some(r) = report {
            srs.insert(name.to_string(), r.total);
            let suspected: Vec<FieldSrs> = r.fields.into_iter().filter(|f| f.counters.suspects_created > 0).collect();
            if !suspected.is_empty() {
                srs_fields.insert(name.to_string(), suspected);
            }
        }
    }
    let violations = checker::check(&mut snapshot);
    let decisions = machine.decisions.records();
    let workload = recorder.report();
    let outcome = classify(&report.end, &violations, &decisions, &workload);
    let checker = Verdict::of(&violations);
    let violations = violations.iter().map(Finding::from).collect();
    RunResult {
        outcome,
        checker,
        end: report.end,
        fault_fired: machine.injector.as_ref().is_some_and(|i| i.fired()),
        fault_firings: machine.injector.as_ref().map_or(0, |i| i.fired_times()),
        workload,
        decisions,
        violations,
        srs,
        srs_fields,
        time: report.time,
        events: report.events,
        event_log: spec.record_events.then(|| machine.system.render_events()),
        profile: profile.map(|p| p.lock().unwrap_or_else(|e| e.into_inner()).clone()),
    }
}

/// The outcome of a run from how it ended, what the checker found and what rs decided. A halt or a
/// hang wins over the checker here (`inconsistent` means the system ran on damaged); the run's
/// [`Verdict`] keeps the checker's word beside it.
pub fn classify(
    end: &RunEnd,
    violations: &[Violation],
    decisions: &[DecisionRecord],
    workload: &WorkloadReport,
) -> Outcome {
    let fail_stopped = matches!(end, RunEnd::Shutdown { reason, .. } if reason.starts_with("fail-stop"));
    let recovered = decisions.iter().any(|d| matches!(d.decision, Decision::Recover { .. }));
    let requester_ended = decisions.iter().any(|d| matches!(d.decision, Decision::Recover { end_requester: true, .. }));
    match end {
        _ if fail_stopped => Outcome::FailStop,
        RunEnd::TimeLimit | RunEnd::EventLimit | RunEnd::Stalled => Outcome::Crash,
        RunEnd::Shutdown { .. } if !violations.is_empty() => Outcome::Inconsistent,
        RunEnd::Shutdown { .. } => Outcome::Crash,
        RunEnd::Finished if !violations.is_empty() => Outcome::Inconsistent,
        RunEnd::Finished if workload.unexplained_failures(requester_ended).next().is_some() => Outcome::WorkloadFailed,
        RunEnd::Finished if recovered => Outcome::Recovered,
        RunEnd::Finished => Outcome::Pass,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use os::proto::RS;

    fn damage() -> Vec<Violation> {
        vec![Violation { invariant: "vm.frame-accounting", detail: "frame 7 owned twice".into() }]
    }

    #[test]
    fn a_fail_stop_with_violations_stays_a_fail_stop_and_is_damaged() {
        let end = RunEnd::Shutdown { by: RS, reason: "fail-stop: pm crashed".into() };
        let violations = damage();
        assert_eq!(classify(&end, &violations, &[], &WorkloadReport::default()), Outcome::FailStop);
        assert_eq!(Verdict::of(&violations), Verdict::Damaged);
        assert_eq!(classify(&end, &[], &[], &WorkloadReport::default()), Outcome::FailStop);
        assert_eq!(Verdict::of::<Violation>(&[]), Verdict::Clean);
    }

    #[test]
    fn a_hang_with_violations_is_a_crash_with_damage_and_a_run_on_is_inconsistent() {
        let violations = damage();
        assert_eq!(classify(&RunEnd::TimeLimit, &violations, &[], &WorkloadReport::default()), Outcome::Crash);
        assert_eq!(classify(&RunEnd::Stalled, &violations, &[], &WorkloadReport::default()), Outcome::Crash);
        assert_eq!(Verdict::of(&violations), Verdict::Damaged);
        assert_eq!(
            classify(&RunEnd::Finished, &violations, &[], &WorkloadReport::default()),
            Outcome::Inconsistent,
            "the system ran on with silent damage"
        );
    }

    #[test]
    fn results_without_a_verdict_read_as_clean() {
        let verdict: Verdict = serde_json::from_str("\"damaged\"").unwrap();
        assert_eq!(verdict, Verdict::Damaged);
        #[derive(Deserialize)]
        struct Old {
            #[serde(default)]
            checker: Verdict,
        }
        assert_eq!(serde_json::from_str::<Old>("{}").unwrap().checker, Verdict::Clean);
    }
}

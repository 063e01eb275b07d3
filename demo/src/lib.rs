//! The teaching demo: narrated scenarios of reincarnation and recovery.
//!
//! Each scenario ([`scenario`]) is one or two real runs of the system under `sim` — a workload as
//! init, one injected fault, one recovery policy — through the same harness as `samsara run`
//! (`testbed::run::execute`), with the kernel's event log recorded. The demo then reads that log
//! back ([`log`]), names its processes ([`cast`]), ties rs's decisions to the events that tell them
//! ([`incident`]) and narrates the run step by step ([`story`]): the messages, the checkpoint, the
//! crash or hang, rs's detection, the decision with its reason, the next incarnation, the outcome
//! and the consistency checker's verdict. It renders the story for a terminal ([`text`]), as a
//! single-file offline HTML page ([`html`]) with an SVG message sequence chart ([`chart`]) and the
//! call graph of the crashed entry point ([`graph`]), and as facts for scripts ([`facts`]).
//!
//! Invariant: nothing in a story is canned. Every line tells one event of the run's log (and says
//! which), or a fact of the run's result (decision trail, checker findings, SRS counters); the
//! scenario only chooses the workload, the fault and the policy.

pub mod cast;
pub mod chart;
pub mod facts;
pub mod graph;
pub mod html;
pub mod incident;
pub mod log;
pub mod scenario;
pub mod story;
pub mod text;

use cast::Cast;
use incident::Incident;
use kernel_sim::EngineKind;
use log::Entry;
use os::fault::FaultSpec;
use recovery::{FieldSrs, PolicyKind, RecoveryTable, TableRow};
use scenario::Scenario;
use std::collections::BTreeMap;
use std::sync::Arc;
use story::Story;
use testbed::run::{RunResult, RunSpec, execute};

/// One run of a scenario (or a campaign run replayed), with everything the demo read from it.
pub struct DemoRun {
    /// The recovery policy rs applied.
    pub policy: PolicyKind,
    /// The fault, as `samsara run --inject` spells it.
    pub fault: String,
    /// What to watch for in this run.
    pub watch: String,
    /// The run's spec.
    pub spec: RunSpec,
    /// Its result (the event log included).
    pub result: RunResult,
    /// The parsed event log.
    pub entries: Vec<Entry>,
    /// Its processes.
    pub cast: Cast,
    /// rs's decisions tied to the log.
    pub incidents: Vec<Incident>,
    /// SRS per field, for runs under the `srs` policy.
    pub srs_fields: BTreeMap<String, Vec<FieldSrs>>,
    /// The recovery-class table row of the first crashed entry point, if the table has one.
    pub table_row: Option<TableRow>,
    /// The narrated story.
    pub story: Story,
}

impl DemoRun {
    /// The first incident (the injected fault's), if rs decided anything.
    pub fn incident(&self) -> Option<&Incident> {
        self.incidents.first()
    }
}

/// What a told story is about: a scenario, or one campaign run replayed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heading {
    /// A short name, also an HTML id (`window`, `f00042-table`).
    pub name: String,
    /// One line saying what happens.
    pub summary: String,
}

impl Heading {
    /// A scenario's heading.
    pub fn of(scenario: Scenario) -> Heading {
        Heading { name: scenario.name().to_string(), summary: scenario.summary().to_string() }
    }
}

/// A scenario's runs.
pub struct Demo {
    /// What it is about.
    pub heading: Heading,
    /// The seed its runs used.
    pub seed: u64,
    /// The runs, in order.
    pub runs: Vec<DemoRun>,
}

/// Runs `scenario` under `sim` with `seed`, the table-driven policies reading `table`, on the
/// built-in system.
pub fn run(scenario: Scenario, seed: u64, table: Arc<RecoveryTable>) -> Result<Demo, String> {
    run_on(scenario, seed, table, None)
}

/// [`run`] on the system `manifest` describes (`None`: the built-in `etc/system.conf`).
pub fn run_on(
    scenario: Scenario,
    seed: u64,
    table: Arc<RecoveryTable>,
    manifest: Option<Arc<kernel_sim::Manifest>>,
) -> Result<Demo, String> {
    let mut runs = Vec::new();
    for plan in scenario.plans() {
        let fault: FaultSpec = plan.fault.parse().map_err(|e| format!("scenario {scenario}: {e}"))?;
        let spec = RunSpec {
            engine: EngineKind::Sim,
            seed,
            policy: plan.policy,
            fault: Some(fault),
            record_events: true,
            manifest: manifest.clone(),
            ..RunSpec::default()
        };
        let result = execute(&spec, table.clone(), scenario::as_init(plan.workload));
        runs.push(read_run(spec, result, &table, plan.watch.to_string()));
    }
    Ok(Demo { heading: Heading::of(scenario), seed, runs })
}

/// Reads a finished run (its event log recorded) as the demo reads its own: the log parsed, the
/// processes named, rs's decisions tied to their events, the story told.
pub fn read_run(spec: RunSpec, result: RunResult, table: &RecoveryTable, watch: String) -> DemoRun {
    let text = result.event_log.clone().unwrap_or_default();
    let entries = log::parse(&text);
    let cast = Cast::of(&entries);
    let incidents = incident::find(&entries, &result.decisions);
    let srs_fields = if spec.policy == PolicyKind::Srs { result.srs_fields.clone() } else { BTreeMap::new() };
    let table_row =
        incidents.first().and_then(|i| i.record.call.as_ref().and_then(|(_, t)| table.lookup(&i.server, *t))).cloned();
    let story = story::build(&story::Inputs {
        entries: &entries,
        cast: &cast,
        incidents: &incidents,
        result: &result,
        policy: spec.policy,
        srs_fields: &srs_fields,
    });
    let fault = spec.fault.as_ref().map_or_else(|| "none".to_string(), ToString::to_string);
    DemoRun { policy: spec.policy, fault, watch, spec, result, entries, cast, incidents, srs_fields, table_row, story }
}

/// A campaign run replayed (`samsara replay`), told as a scenario is: `id` names it, `results`
/// the file it came from.
pub fn replayed(id: &str, results: &str, spec: RunSpec, result: RunResult, table: &RecoveryTable) -> Demo {
    let seed = spec.seed;
    let summary = format!(
        "run {id} of the campaign in {results}: fault {} under policy {}, replayed from its seed",
        spec.fault.as_ref().map_or_else(|| "none".to_string(), ToString::to_string),
        spec.policy
    );
    let run = read_run(spec, result, table, "how the system meets the fault, and what rs decides".into());
    Demo { heading: Heading { name: id.to_string(), summary }, seed, runs: vec![run] }
}

//! The facts of a scenario for scripts (`samsara --json demo SCENARIO`): per run, who crashed and
//! how (read from the event log), rs's decision and its reason, the outcome, the checker's
//! findings, the SRS detail, and the story itself.

use crate::incident::Death;
use crate::story::Story;
use crate::{Demo, DemoRun};
use recovery::FieldSrs;
use serde::Serialize;
use std::collections::BTreeMap;
use testbed::run::{Finding, Outcome};

/// A scenario's facts.
#[derive(Serialize)]
pub struct DemoFacts<'a> {
    /// The scenario's name.
    pub scenario: &'a str,
    /// What it shows.
    pub summary: &'a str,
    /// The seed its runs used.
    pub seed: u64,
    /// Its runs.
    pub runs: Vec<RunFacts<'a>>,
}

/// One run's facts.
#[derive(Serialize)]
pub struct RunFacts<'a> {
    /// The policy.
    pub policy: String,
    /// The fault.
    pub fault: &'a str,
    /// Whether it fired.
    pub fault_fired: bool,
    /// The crashed (or hung) server, as the event log says.
    pub crashed: Option<CrashFacts>,
    /// rs's decisions: label and reason.
    pub decisions: Vec<DecisionFacts>,
    /// The run's outcome.
    pub outcome: Outcome,
    /// The checker's findings (empty: consistent).
    pub findings: &'a [Finding],
    /// SRS per server and field.
    pub srs: &'a BTreeMap<String, Vec<FieldSrs>>,
    /// Processes in the event log (one lifeline each in the chart).
    pub processes: Vec<String>,
    /// Messages sent (one arrow each in the chart).
    pub messages: usize,
    /// Kernel events recorded.
    pub events: usize,
    /// The story.
    pub story: &'a Story,
}

/// Who died and how.
#[derive(Serialize)]
pub struct CrashFacts {
    /// The server.
    pub server: String,
    /// `crash` or `hang` (or `killed`, `exit`).
    pub cause: String,
    /// The request it died in.
    pub call: Option<String>,
    /// Who sent that request (a name from the log).
    pub requester: Option<String>,
    /// The event that ended the incarnation.
    pub event: Option<u64>,
    /// The request's delivery (its checkpoint came just before).
    pub checkpoint_event: Option<u64>,
    /// Messages the server sent inside the recovery window.
    pub window_messages: usize,
}

/// One decision.
#[derive(Serialize)]
pub struct DecisionFacts {
    /// `rollback`, `restart`, `fail-stop`...
    pub label: &'static str,
    /// Why.
    pub reason: String,
    /// rs's note in the event log.
    pub event: Option<u64>,
}

/// The facts of `demo`.
pub fn of(demo: &Demo) -> DemoFacts<'_> {
    DemoFacts {
        scenario: &demo.heading.name,
        summary: &demo.heading.summary,
        seed: demo.seed,
        runs: demo.runs.iter().map(run_facts).collect(),
    }
}

fn run_facts(run: &DemoRun) -> RunFacts<'_> {
    let crashed = run.incident().map(|i| CrashFacts {
        server: i.server.clone(),
        cause: match &i.death {
            Some(Death::Crash { .. }) => "crash".into(),
            Some(Death::Hang { .. }) => "hang".into(),
            _ => i.record.cause.clone(),
        },
        call: i.record.call.as_ref().map(|(c, _)| c.clone()),
        requester: i.requester.map(|r| run.cast.name(r)),
        event: i.death.as_ref().map(Death::seq),
        checkpoint_event: i.checkpoint,
        window_messages: i.window.len(),
    });
    RunFacts {
        policy: run.policy.to_string(),
        fault: &run.fault,
        fault_fired: run.result.fault_fired,
        crashed,
        decisions: run
            .incidents
            .iter()
            .map(|i| DecisionFacts {
                label: i.record.decision.label(),
                reason: i.record.decision.reason().to_string(),
                event: i.decided,
            })
            .collect(),
        outcome: run.result.outcome,
        findings: &run.result.violations,
        srs: &run.srs_fields,
        processes: run.cast.actors.iter().map(|a| a.name.clone()).collect(),
        messages: run.entries.iter().filter(|e| matches!(e.kind, crate::log::Kind::Send { .. })).count(),
        events: run.entries.len(),
        story: &run.story,
    }
}

//! Summaries of a campaign's results: per policy x outcome (counts and shares), per server, per
//! fault kind, per persistence (transient or persistent); the denominators (sites executed,
//! executions, candidate and planned faults); OSIRIS's recovery coverage; SRS's restored versus
//! self-cleansed entries; a CSV for scripts.
//!
//! Damage is never hidden: a fail-stop or a crash whose stopped system the checker found damaged
//! is counted apart from a clean one (the `fail-stop+damage` and `crash+damage` columns), and runs
//! whose simulator panicked (samsara bugs, recorded as crashes) are counted apart too.

use crate::results::RunRecord;
use os::fault::{FaultKind, Persistence, SiteProfile};
use recovery::PolicyKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;
use testbed::run::{Outcome, Verdict};

/// Outcome counts of a group of runs, with how many of each left a damaged system behind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Runs per outcome.
    pub outcomes: BTreeMap<Outcome, u64>,
    /// Of those, runs whose stopped system the checker found damaged (every `inconsistent` run;
    /// a `fail-stop` or a `crash` may be either).
    pub damaged: BTreeMap<Outcome, u64>,
}

impl Counts {
    /// Counts one run.
    pub fn add(&mut self, outcome: Outcome, checker: Verdict) {
        *self.outcomes.entry(outcome).or_default() += 1;
        if checker == Verdict::Damaged {
            *self.damaged.entry(outcome).or_default() += 1;
        }
    }

    /// Runs with this outcome.
    pub fn get(&self, outcome: Outcome) -> u64 {
        self.outcomes.get(&outcome).copied().unwrap_or(0)
    }

    /// Runs with this outcome whose system the checker found damaged.
    pub fn damaged(&self, outcome: Outcome) -> u64 {
        self.damaged.get(&outcome).copied().unwrap_or(0)
    }

    /// Runs counted.
    pub fn total(&self) -> u64 {
        self.outcomes.values().sum()
    }
}

/// A column of the outcome tables: an outcome, and for the two that can end either way (a halt or
/// a hang wins over the checker), the checker's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    /// The outcome.
    pub outcome: Outcome,
    /// `Some` for the outcomes split by the checker's verdict.
    pub checker: Option<Verdict>,
}

impl Column {
    const fn of(outcome: Outcome) -> Column {
        Column { outcome, checker: None }
    }

    const fn split(outcome: Outcome, checker: Verdict) -> Column {
        Column { outcome, checker: Some(checker) }
    }

    /// Every column, best first: the columns of a row add up to its runs.
    pub const ALL: [Column; 8] = [
        Column::of(Outcome::Pass),
        Column::of(Outcome::Recovered),
        Column::split(Outcome::FailStop, Verdict::Clean),
        Column::split(Outcome::FailStop, Verdict::Damaged),
        Column::of(Outcome::WorkloadFailed),
        Column::split(Outcome::Crash, Verdict::Clean),
        Column::split(Outcome::Crash, Verdict::Damaged),
        Column::of(Outcome::Inconsistent),
    ];

    /// Its heading: the outcome, `+damage` where the checker found damage.
    pub fn name(self) -> String {
        match self.checker {
            Some(Verdict::Damaged) => format!("{}+damage", self.outcome),
            _ => self.outcome.to_string(),
        }
    }

    /// The checker's verdict of the runs it counts (`inconsistent` runs are damaged by definition;
    /// pass, recovered and workload-failed runs clean).
    pub fn verdict(self) -> Verdict {
        self.checker.unwrap_or(if self.outcome == Outcome::Inconsistent { Verdict::Damaged } else { Verdict::Clean })
    }

    /// The runs of `counts` it holds.
    pub fn count(self, counts: &Counts) -> u64 {
        match self.checker {
            None => counts.get(self.outcome),
            Some(Verdict::Clean) => counts.get(self.outcome) - counts.damaged(self.outcome),
            Some(Verdict::Damaged) => counts.damaged(self.outcome),
        }
    }
}

/// What a campaign found.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Runs summarised.
    pub runs: u64,
    /// Runs whose fault never fired (its site did not run that many times under this policy's
    /// path): reported apart, and counted in their outcome.
    pub not_fired: u64,
    /// Runs whose simulator panicked (samsara bugs, not recovery results): reported apart, and
    /// counted as crashes.
    #[serde(default)]
    pub simulator_panics: u64,
    /// Per policy.
    pub by_policy: BTreeMap<PolicyKind, Counts>,
    /// Per server, per policy.
    pub by_server: BTreeMap<String, BTreeMap<PolicyKind, Counts>>,
    /// Per fault kind, per policy.
    pub by_kind: BTreeMap<FaultKind, BTreeMap<PolicyKind, Counts>>,
    /// Per persistence (transient or persistent faults), per policy.
    #[serde(default)]
    pub by_persistence: BTreeMap<Persistence, BTreeMap<PolicyKind, Counts>>,
    /// SRS entries restored on read, and self-cleansed, summed per policy.
    pub srs: BTreeMap<PolicyKind, (u64, u64)>,
    /// Denominators from the golden run.
    pub golden: Option<GoldenFigures>,
}

/// The golden run's denominators.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct GoldenFigures {
    /// Distinct sites executed.
    pub sites: u64,
    /// Site executions.
    pub executions: u64,
    /// Executions before the request's first state-changing IPC, over all executions.
    pub recovery_coverage: f64,
    /// Per policy, the share of executions at which it would recover a crash rather than halt
    /// (OSIRIS's recovery coverage), for a transient and a persistent fault.
    #[serde(default)]
    pub coverage: Vec<PolicyCoverage>,
}

/// One policy's recovery coverage over the golden run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyCoverage {
    /// The policy.
    pub policy: PolicyKind,
    /// The share of executions where a transient fault's crash is recovered.
    pub transient: f64,
    /// The share where a persistent fault's crash is (its reprocessing attempts spent).
    pub persistent: f64,
}

impl GoldenFigures {
    /// The figures of a profile, with the coverage of each of `policies`.
    pub fn of(profile: &SiteProfile, policies: &[PolicyKind]) -> GoldenFigures {
        GoldenFigures {
            sites: profile.sites.len() as u64,
            executions: profile.sites.values().map(|s| s.hits).sum(),
            recovery_coverage: profile.recovery_coverage(),
            coverage: policies
                .iter()
                .map(|&policy| PolicyCoverage {
                    policy,
                    transient: profile.coverage(policy, false),
                    persistent: profile.coverage(policy, true),
                })
                .collect(),
        }
    }

    /// The coverage lines for people: one per policy.
    pub fn coverage_lines(&self) -> Vec<String> {
        self.coverage
            .iter()
            .map(|c| {
                format!(
                    "{:<12} {:>5.1}% of executions with a transient fault, {:>5.1}% with a persistent one",
                    c.policy.name(),
                    100.0 * c.transient,
                    100.0 * c.persistent
                )
            })
            .collect()
    }
}

/// Summarises `records`.
pub fn summarise(records: &[RunRecord], golden: Option<GoldenFigures>) -> Summary {
    let mut s = Summary { golden, ..Summary::default() };
    for r in records {
        s.runs += 1;
        s.not_fired += u64::from(!r.fault_fired);
        s.simulator_panics += u64::from(r.simulator_panic.is_some());
        s.by_policy.entry(r.policy).or_default().add(r.outcome, r.checker);
        s.by_server.entry(r.server.clone()).or_default().entry(r.policy).or_default().add(r.outcome, r.checker);
        s.by_kind.entry(r.kind).or_default().entry(r.policy).or_default().add(r.outcome, r.checker);
        s.by_persistence.entry(r.persistence).or_default().entry(r.policy).or_default().add(r.outcome, r.checker);
        let srs = s.srs.entry(r.policy).or_default();
        for c in r.srs.values() {
            srs.0 += c.restored();
            srs.1 += c.self_cleansed;
        }
    }
    s
}

/// Width of a table cell: `12345 100.0%`.
const CELL: usize = 12;

fn row(label: &str, counts: &Counts) -> String {
    let total = counts.total();
    let mut line = format!("{label:<14}{total:>6}");
    for c in Column::ALL {
        let n = c.count(counts);
        let pct = if total == 0 { 0.0 } else { 100.0 * n as f64 / total as f64 };
        let width = c.name().len().max(CELL);
        let _ = write!(line, "  {:>width$}", format!("{n:>5} {pct:>5.1}%"));
    }
    line
}

fn header(first: &str) -> String {
    let mut line = format!("{first:<14}{:>6}", "runs");
    for c in Column::ALL {
        let width = c.name().len().max(CELL);
        let _ = write!(line, "  {:>width$}", c.name());
    }
    line
}

impl Summary {
    /// The summary as tables for people.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Some(g) = &self.golden {
            let _ = writeln!(
                out,
                "golden run: {} sites executed {} times; {:.1}% of executions ran before their request's first state-changing IPC",
                g.sites,
                g.executions,
                100.0 * g.recovery_coverage
            );
            if !g.coverage.is_empty() {
                let _ =
                    writeln!(out, "recovery coverage (executions at which a crash would be recovered, not halted):");
                for line in g.coverage_lines() {
                    let _ = writeln!(out, "  {line}");
                }
            }
        }
        let _ = writeln!(
            out,
            "{} ({} whose fault never fired; {} whose simulator panicked, counted as crash)\n",
            recovery::counted(self.runs, "run"),
            self.not_fired,
            self.simulator_panics
        );
        let _ = writeln!(out, "{}", header("policy"));
        for (p, counts) in &self.by_policy {
            let _ = writeln!(out, "{}", row(p.name(), counts));
        }
        for (server, by_policy) in &self.by_server {
            let _ = writeln!(out, "\nfaults in {server}\n{}", header("policy"));
            for (p, counts) in by_policy {
                let _ = writeln!(out, "{}", row(p.name(), counts));
            }
        }
        for (kind, by_policy) in &self.by_kind {
            let _ = writeln!(out, "\n{kind} faults\n{}", header("policy"));
            for (p, counts) in by_policy {
                let _ = writeln!(out, "{}", row(p.name(), counts));
            }
        }
        for (persistence, by_policy) in &self.by_persistence {
            let _ = writeln!(out, "\n{persistence} faults\n{}", header("policy"));
            for (p, counts) in by_policy {
                let _ = writeln!(out, "{}", row(p.name(), counts));
            }
        }
        if let Some((restored, cleansed)) = self.srs.get(&PolicyKind::Srs) {
            let total = restored + cleansed;
            let share = if total == 0 { 0.0 } else { 100.0 * *cleansed as f64 / total as f64 };
            let _ = writeln!(
                out,
                "\nSRS: {restored} suspect entries restored on read, {cleansed} self-cleansed ({share:.1}% cleansed themselves)"
            );
        }
        out
    }

    /// The summary as CSV: scope,policy,outcome,checker,count,percent (one line per table
    /// column: `fail-stop` and `crash` once clean and once damaged).
    pub fn csv(&self) -> String {
        let mut out = String::from("scope,policy,outcome,checker,count,percent\n");
        let mut emit = |scope: &str, policy: PolicyKind, counts: &Counts| {
            let total = counts.total();
            for c in Column::ALL {
                let n = c.count(counts);
                let pct = if total == 0 { 0.0 } else { 100.0 * n as f64 / total as f64 };
                let _ = writeln!(out, "{scope},{policy},{},{},{n},{pct:.2}", c.outcome, c.verdict());
            }
        };
        for (p, c) in &self.by_policy {
            emit("all", *p, c);
        }
        for (server, by) in &self.by_server {
            for (p, c) in by {
                emit(&format!("server:{server}"), *p, c);
            }
        }
        for (kind, by) in &self.by_kind {
            for (p, c) in by {
                emit(&format!("kind:{kind}"), *p, c);
            }
        }
        for (persistence, by) in &self.by_persistence {
            for (p, c) in by {
                emit(&format!("persistence:{persistence}"), *p, c);
            }
        }
        out
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::plan::RunId;

    /// A run of fault `fault` (a hang in pm's fork) under `policy`.
    pub(crate) fn record(fault: usize, policy: PolicyKind, outcome: Outcome, violations: &[&str]) -> RunRecord {
        RunRecord {
            id: RunId { fault, policy },
            fault: "hang@pm:fork:a.rs:1#1".into(),
            kind: FaultKind::Hang,
            persistence: if fault.is_multiple_of(2) { Persistence::Transient } else { Persistence::Persistent },
            server: "pm".into(),
            handler: "fork".into(),
            policy,
            outcome,
            checker: Verdict::of(violations),
            fault_fired: true,
            fault_firings: 1,
            simulator_panic: None,
            decisions: Vec::new(),
            reason: None,
            violations: violations.iter().map(|v| v.to_string()).collect(),
            workload_failures: Vec::new(),
            srs: BTreeMap::new(),
            virtual_us: 0,
        }
    }

    #[test]
    fn a_fail_stop_or_crash_with_violations_is_counted_as_damaged() {
        let damage = ["pm.children: 12 is nobody's child"];
        let records = [
            record(0, PolicyKind::Table, Outcome::FailStop, &[]),
            record(1, PolicyKind::Table, Outcome::FailStop, &damage),
            record(2, PolicyKind::Table, Outcome::Crash, &damage),
            record(3, PolicyKind::Table, Outcome::Inconsistent, &damage),
            record(4, PolicyKind::Table, Outcome::Pass, &[]),
        ];
        let s = summarise(&records, None);
        let table = &s.by_policy[&PolicyKind::Table];
        assert_eq!((table.get(Outcome::FailStop), table.damaged(Outcome::FailStop)), (2, 1));
        assert_eq!((table.get(Outcome::Crash), table.damaged(Outcome::Crash)), (1, 1));
        let columns: Vec<(String, u64)> = Column::ALL.iter().map(|c| (c.name(), c.count(table))).collect();
        assert_eq!(
            columns,
            [
                ("pass".to_string(), 1),
                ("recovered".into(), 0),
                ("fail-stop".into(), 1),
                ("fail-stop+damage".into(), 1),
                ("workload-failed".into(), 0),
                ("crash".into(), 0),
                ("crash+damage".into(), 1),
                ("inconsistent".into(), 1),
            ]
        );
        let text = s.render();
        assert!(text.contains("fail-stop+damage") && text.contains("crash+damage"), "{text}");
        let csv = s.csv();
        assert!(csv.starts_with("scope,policy,outcome,checker,count,percent\n"), "{csv}");
        assert!(csv.contains("all,table,fail-stop,clean,1,20.00\n"), "{csv}");
        assert!(csv.contains("all,table,fail-stop,damaged,1,20.00\n"), "{csv}");
        assert!(csv.contains("all,table,crash,damaged,1,20.00\n"), "{csv}");
        assert!(csv.contains("all,table,crash,clean,0,0.00\n"), "{csv}");
        let json: serde_json::Value = serde_json::to_value(&s).unwrap();
        assert_eq!(json["by_policy"]["table"]["damaged"]["fail-stop"], 1);
    }

    #[test]
    fn summaries_split_transient_and_persistent_faults_and_count_simulator_panics() {
        let mut panicked = record(3, PolicyKind::Rollback, Outcome::Crash, &[]);
        panicked.simulator_panic = Some("a ready slot has a coroutine".into());
        let records = [
            record(0, PolicyKind::Rollback, Outcome::Recovered, &[]),
            record(1, PolicyKind::Rollback, Outcome::FailStop, &[]),
            record(2, PolicyKind::Rollback, Outcome::Recovered, &[]),
            panicked,
        ];
        let s = summarise(&records, None);
        assert_eq!(s.simulator_panics, 1);
        let transient = &s.by_persistence[&Persistence::Transient][&PolicyKind::Rollback];
        let persistent = &s.by_persistence[&Persistence::Persistent][&PolicyKind::Rollback];
        assert_eq!((transient.get(Outcome::Recovered), transient.total()), (2, 2));
        assert_eq!((persistent.get(Outcome::FailStop), persistent.get(Outcome::Crash)), (1, 1));
        let text = s.render();
        assert!(text.contains("\ntransient faults\n") && text.contains("\npersistent faults\n"), "{text}");
        assert!(text.contains("1 whose simulator panicked"), "{text}");
        assert!(s.csv().contains("persistence:persistent,rollback,fail-stop,clean,1,50.00\n"), "{}", s.csv());
    }
}

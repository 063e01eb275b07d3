//! Summaries of a campaign's results: per policy x outcome (counts and shares), per server, per
//! fault type; the denominators (sites executed, executions, candidate and planned faults); OSIRIS's
//! recovery coverage; SRS's restored versus self-cleansed entries; a CSV for scripts.

use crate::results::RunRecord;
use recovery::PolicyKind;
use serde::{Deserialize, Serialize};
use servers::fault::{FaultKind, SiteProfile};
use servers::run::Outcome;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Outcome counts.
pub type Counts = BTreeMap<Outcome, u64>;

/// What a campaign found.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Runs summarised.
    pub runs: u64,
    /// Runs whose fault never fired (its site did not run that many times under this policy's
    /// path): reported apart, and counted in their outcome.
    pub not_fired: u64,
    /// Per policy.
    pub by_policy: BTreeMap<PolicyKind, Counts>,
    /// Per server, per policy.
    pub by_server: BTreeMap<String, BTreeMap<PolicyKind, Counts>>,
    /// Per fault kind, per policy.
    pub by_kind: BTreeMap<FaultKind, BTreeMap<PolicyKind, Counts>>,
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
        *s.by_policy.entry(r.policy).or_default().entry(r.outcome).or_default() += 1;
        *s.by_server.entry(r.server.clone()).or_default().entry(r.policy).or_default().entry(r.outcome).or_default() +=
            1;
        *s.by_kind.entry(r.kind).or_default().entry(r.policy).or_default().entry(r.outcome).or_default() += 1;
        let srs = s.srs.entry(r.policy).or_default();
        for c in r.srs.values() {
            srs.0 += c.restored();
            srs.1 += c.self_cleansed;
        }
    }
    s
}

fn row(label: &str, counts: &Counts) -> String {
    let total: u64 = counts.values().sum();
    let mut line = format!("{label:<14}{total:>6}");
    for o in Outcome::ALL {
        let n = counts.get(&o).copied().unwrap_or(0);
        let pct = if total == 0 { 0.0 } else { 100.0 * n as f64 / total as f64 };
        let _ = write!(line, "  {n:>5} {pct:>5.1}%");
    }
    line
}

fn header(first: &str) -> String {
    let mut line = format!("{first:<14}{:>6}", "runs");
    for o in Outcome::ALL {
        let _ = write!(line, "  {:>12}", o.name());
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
        let _ = writeln!(out, "{} runs ({} whose fault never fired)\n", self.runs, self.not_fired);
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

    /// The summary as CSV: scope,policy,outcome,count,percent.
    pub fn csv(&self) -> String {
        let mut out = String::from("scope,policy,outcome,count,percent\n");
        let mut emit = |scope: &str, policy: PolicyKind, counts: &Counts| {
            let total: u64 = counts.values().sum();
            for o in Outcome::ALL {
                let n = counts.get(&o).copied().unwrap_or(0);
                let pct = if total == 0 { 0.0 } else { 100.0 * n as f64 / total as f64 };
                let _ = writeln!(out, "{scope},{policy},{o},{n},{pct:.2}");
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
        out
    }
}

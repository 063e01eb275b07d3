//! The measurements behind `samsara bench` (and the criterion benches in `benches/`): samsara's
//! headline figures, each beside a baseline measured in the same run, with their ratio and the
//! target a project issue set for it.
//!
//! - [`ipc`]: the `sendrec` round trip under `sim` and `threads`; a raw crossbeam ping-pong and a
//!   plain call as the physical baselines.
//! - [`syscalls`]: getpid, fork+exit+wait, fork+exec+wait, file write+read and a pipe round trip
//!   under each engine, checkpointing off (the baseline) and on: the overhead in percent.
//! - [`recovery`]: rollback and SRS suppression in the recovery crate; restart, rollback, SRS
//!   and fail-stop end to end on a whole system.
//! - [`scaling`]: checkpoint cost against state size; syscall throughput against live processes;
//!   campaign runs per second against cores ([`campaigns`]).
//! - [`campaigns`]: campaign throughput in runs per second.
//!
//! Underneath: [`system`] boots a measured machine (init runs the loop, beside live processes,
//! with the servers' checkpoint on or off); [`undo`] is the synthetic tracked state of the
//! recovery-crate figures; [`measure`] repeats and summarises; [`report`], [`chart`] and
//! [`machine`] are the output.
//!
//! A [`Plan`] says how long each measurement runs and how many points each curve has (`quick`,
//! `full`, `smoke`); every point it lists is measured. [`run`] measures the sections asked for and
//! returns a [`Report`]: a table for people ([`Report::render`]), JSON for scripts (serde), and the
//! scaling curves for the SVG chart ([`chart::render`]).
//!
//! Duties: no figure without its baseline from the same run; nothing that could not be measured
//! is faked — it is listed as missing with the reason. Timing assertions belong to no test: the
//! numbers are reported, never checked, except against the issues' targets in the report.

pub mod campaigns;
pub mod chart;
pub mod ipc;
pub mod machine;
pub mod measure;
pub mod plan;
pub mod recovery;
pub mod report;
pub mod scaling;
pub mod syscalls;
pub mod system;
pub mod undo;

pub use plan::{Mode, Plan};
pub use report::Report;

use machine::Machine;
use report::Section;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// The sections of a report, in the order they are measured and printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SectionId {
    /// sendrec against the physical baselines.
    Ipc,
    /// Syscall throughput, checkpointing off and on.
    Syscalls,
    /// Recovery latencies.
    Recovery,
    /// Scaling curves.
    Scaling,
    /// Campaign throughput.
    Campaign,
}

impl SectionId {
    /// Every section.
    pub const ALL: [SectionId; 5] =
        [SectionId::Ipc, SectionId::Syscalls, SectionId::Recovery, SectionId::Scaling, SectionId::Campaign];

    /// Its name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            SectionId::Ipc => "ipc",
            SectionId::Syscalls => "syscalls",
            SectionId::Recovery => "recovery",
            SectionId::Scaling => "scaling",
            SectionId::Campaign => "campaign",
        }
    }
}

impl std::str::FromStr for SectionId {
    type Err = String;
    fn from_str(s: &str) -> Result<SectionId, String> {
        SectionId::ALL
            .into_iter()
            .find(|id| id.name() == s)
            .ok_or_else(|| format!("unknown section `{s}` (ipc, syscalls, recovery, scaling, campaign)"))
    }
}

/// Measures `sections` (all of them when empty) under `plan`; `progress` hears what is being
/// measured as it starts.
pub fn run(plan: &Plan, sections: &[SectionId], progress: &mut dyn FnMut(&str)) -> Report {
    let started = Instant::now();
    let machine = Machine::detect();
    let wanted = |id: SectionId| sections.is_empty() || sections.contains(&id);
    let mut out: Vec<Section> = Vec::new();
    let mut curves = Vec::new();
    let timed = |f: &mut dyn FnMut() -> Section| {
        let start = Instant::now();
        let mut section = f();
        section.seconds = start.elapsed().as_secs_f64();
        section
    };
    if wanted(SectionId::Ipc) {
        progress("ipc: sendrec round trips and the physical baselines");
        out.push(timed(&mut || ipc::section(plan)));
    }
    if wanted(SectionId::Syscalls) {
        progress("syscalls: five loops x two engines, checkpointing off and on");
        out.push(timed(&mut || syscalls::section(plan)));
    }
    if wanted(SectionId::Recovery) {
        progress("recovery: recovery-crate latencies and end-to-end crashes");
        out.push(timed(&mut || recovery::section(plan)));
    }
    let mut scaling = Section::new("scaling", "Scaling");
    let mut campaign = Section::new("campaign", "Campaign throughput");
    let scaling_started = Instant::now();
    if wanted(SectionId::Scaling) {
        progress("scaling: checkpoint cost against state size");
        curves.push(scaling::checkpoint_cost(plan, &mut scaling));
        progress("scaling: syscall throughput against live processes");
        curves.push(scaling::live_processes(plan, &mut scaling));
    }
    scaling.seconds = scaling_started.elapsed().as_secs_f64();
    if wanted(SectionId::Scaling) || wanted(SectionId::Campaign) {
        progress("campaign: runs per second on 1 to all cores");
        let started = Instant::now();
        let mut rows = Section::new("scaling", "Scaling");
        match campaigns::measure(plan, machine.cores) {
            Ok(rates) => {
                let curve = campaigns::sections(&rates, &mut campaign, &mut rows);
                if wanted(SectionId::Scaling) {
                    scaling.figures.extend(rows.figures);
                    curves.push(curve);
                }
            }
            Err(e) => {
                campaign.missing("campaign.throughput", "campaign throughput", e.clone());
                scaling.missing("scaling.campaign", "campaign runs/s against cores", e);
            }
        }
        // One measurement feeds both sections: its time counts in the campaign section's.
        campaign.seconds = started.elapsed().as_secs_f64();
    }
    if wanted(SectionId::Scaling) {
        out.push(scaling);
    }
    if wanted(SectionId::Campaign) {
        out.push(campaign);
    }
    Report { mode: plan.mode, machine, seconds: started.elapsed().as_secs_f64(), sections: out, curves, chart: None }
}

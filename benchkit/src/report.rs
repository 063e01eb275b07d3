//! What `samsara bench` reports: figures, each with the baseline measured in the same run and
//! their ratio, grouped in sections; the scaling curves; the machine it ran on. Renders as a table
//! for people; serialises as JSON for scripts (the same data, nothing dropped).
//!
//! Invariant: every figure has a baseline and a finite ratio `value / baseline` in the figure's
//! unit; a figure that could not be measured is not faked — it is listed under its section's
//! `missing` with the reason.

use crate::machine::Machine;
use crate::measure::Spread;
use crate::plan::Mode;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// The unit of a figure and of its baseline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unit {
    /// Nanoseconds per operation or per event (lower is better).
    #[serde(rename = "ns")]
    Nanos,
    /// Operations per second (higher is better).
    #[serde(rename = "ops/s")]
    OpsPerSec,
    /// Fault-injection runs per second (higher is better).
    #[serde(rename = "runs/s")]
    RunsPerSec,
    /// A dimensionless factor (a speedup).
    #[serde(rename = "x")]
    Factor,
}

impl Unit {
    /// Renders `value` in this unit for people.
    pub fn render(self, value: f64) -> String {
        match self {
            Unit::Nanos => duration(value),
            Unit::OpsPerSec => format!("{} ops/s", rate(value)),
            Unit::RunsPerSec => format!("{} runs/s", rate(value)),
            Unit::Factor => ratio_text(value),
        }
    }
}

/// `1.23 µs`, `141 ns`, `12.3 ms`.
pub fn duration(ns: f64) -> String {
    let (v, unit) = if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    format!("{} {unit}", three_digits(v))
}

/// `3.91 M`, `673`, `12.3 k`.
fn rate(per_s: f64) -> String {
    if per_s >= 1e6 {
        format!("{} M", three_digits(per_s / 1e6))
    } else if per_s >= 1e4 {
        format!("{} k", three_digits(per_s / 1e3))
    } else {
        format!("{per_s:.0}")
    }
}

/// Three significant digits.
fn three_digits(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// A ratio for people: `12.2x`, `1.02x`.
pub fn ratio_text(ratio: f64) -> String {
    if !ratio.is_finite() {
        "-".into()
    } else if ratio >= 100.0 {
        format!("{ratio:.0}x")
    } else if ratio >= 10.0 {
        format!("{ratio:.1}x")
    } else if ratio >= 0.1 {
        format!("{ratio:.2}x")
    } else {
        format!("{ratio:.3}x")
    }
}

/// What a figure is compared with, measured in the same run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// What it is.
    pub name: String,
    /// Its median, in the figure's unit.
    pub value: f64,
    /// Its samples.
    pub spread: Spread,
}

/// A target named by a project issue, and whether this run met it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// The target as the issue states it (`at most 150 ns`).
    pub text: String,
    /// Whether the measured figure meets it.
    pub met: bool,
}

/// One measured figure beside its baseline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// A stable key for scripts (`ipc.sendrec.sim`).
    pub id: String,
    /// What it is, for people.
    pub name: String,
    /// Its unit (and its baseline's).
    pub unit: Unit,
    /// The median of its samples.
    pub value: f64,
    /// Its samples.
    pub spread: Spread,
    /// What it is compared with.
    pub baseline: Baseline,
    /// `value / baseline.value`.
    pub ratio: f64,
    /// For costs compared with the same thing without them (checkpointing on against off): the
    /// extra time in percent of the baseline's time (from paired samples: the median of the
    /// pairs' overheads, which may differ a little from what `ratio` says).
    pub overhead_pct: Option<f64>,
    /// The target an issue names for it, if any.
    pub target: Option<Target>,
    /// How it was measured, when the name does not say it all.
    pub note: Option<String>,
}

impl Figure {
    /// The figure `spread` (in `unit`) against `baseline` (same unit).
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        unit: Unit,
        spread: Spread,
        baseline_name: impl Into<String>,
        baseline: Spread,
    ) -> Figure {
        let ratio = if baseline.median != 0.0 { spread.median / baseline.median } else { f64::NAN };
        Figure {
            id: id.into(),
            name: name.into(),
            unit,
            value: spread.median,
            spread,
            baseline: Baseline { name: baseline_name.into(), value: baseline.median, spread: baseline },
            ratio,
            overhead_pct: None,
            target: None,
            note: None,
        }
    }

    /// Marks the figure as a cost measured against the same thing without it: computes the
    /// overhead in percent of the baseline's time.
    pub fn with_overhead(mut self) -> Figure {
        let time_ratio = match self.unit {
            Unit::Nanos => self.ratio,
            Unit::OpsPerSec | Unit::RunsPerSec | Unit::Factor => 1.0 / self.ratio,
        };
        self.overhead_pct = Some((time_ratio - 1.0) * 100.0);
        self
    }

    /// Marks the figure as a cost measured in pairs of samples with and without it: `pct` is the
    /// median of the pairs' overheads (robust to a burst of noise that slows one sample of a
    /// pair, which the medians of each side are not).
    pub fn with_paired_overhead(mut self, pct: f64) -> Figure {
        self.overhead_pct = Some(pct);
        self
    }

    /// Attaches a target and whether it is met.
    pub fn with_target(mut self, text: impl Into<String>, met: bool) -> Figure {
        self.target = Some(Target { text: text.into(), met });
        self
    }

    /// Attaches a note.
    pub fn with_note(mut self, note: impl Into<String>) -> Figure {
        self.note = Some(note.into());
        self
    }
}

/// A figure the run could not measure, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Missing {
    /// The key it would have.
    pub id: String,
    /// What it is.
    pub name: String,
    /// Why it is not measured (and what it would take).
    pub reason: String,
}

/// A group of figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Section {
    /// A stable key (`ipc`, `syscalls`, `recovery`, `scaling`, `campaign`).
    pub id: String,
    /// Its heading.
    pub title: String,
    /// What it measured.
    pub figures: Vec<Figure>,
    /// What it could not.
    pub missing: Vec<Missing>,
    /// Wall seconds it took to measure.
    pub seconds: f64,
}

impl Section {
    /// An empty section.
    pub fn new(id: &str, title: &str) -> Section {
        Section { id: id.into(), title: title.into(), figures: Vec::new(), missing: Vec::new(), seconds: 0.0 }
    }

    /// Adds a figure.
    pub fn push(&mut self, figure: Figure) {
        self.figures.push(figure);
    }

    /// Records a figure that could not be measured.
    pub fn missing(&mut self, id: impl Into<String>, name: impl Into<String>, reason: impl Into<String>) {
        self.missing.push(Missing { id: id.into(), name: name.into(), reason: reason.into() });
    }
}

/// One line of a curve.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// Its legend.
    pub name: String,
    /// `(x, y)` points, in increasing x.
    pub points: Vec<(f64, f64)>,
}

/// A scaling curve (drawn in the SVG chart).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Curve {
    /// A stable key.
    pub id: String,
    /// Its title.
    pub title: String,
    /// The x axis.
    pub x_label: String,
    /// The y axis.
    pub y_label: String,
    /// Whether x is drawn on a log scale.
    pub log_x: bool,
    /// Whether y is drawn on a log scale.
    pub log_y: bool,
    /// Whether x counts whole things (threads, processes): its ticks are whole numbers only.
    #[serde(default)]
    pub whole_x: bool,
    /// Its lines.
    pub series: Vec<Series>,
}

/// A whole `samsara bench` run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The plan's mode.
    pub mode: Mode,
    /// The machine.
    pub machine: Machine,
    /// Wall seconds the run took.
    pub seconds: f64,
    /// The figures, by section.
    pub sections: Vec<Section>,
    /// The scaling curves.
    pub curves: Vec<Curve>,
    /// Where the SVG chart of the curves was written, if it was.
    pub chart: Option<String>,
}

impl Report {
    /// Every figure, in order.
    pub fn figures(&self) -> impl Iterator<Item = &Figure> {
        self.sections.iter().flat_map(|s| s.figures.iter())
    }

    /// The figure with key `id`.
    pub fn figure(&self, id: &str) -> Option<&Figure> {
        self.figures().find(|f| f.id == id)
    }

    /// Every figure with a target, and whether it was met.
    pub fn targets(&self) -> impl Iterator<Item = (&Figure, &Target)> {
        self.figures().filter_map(|f| f.target.as_ref().map(|t| (f, t)))
    }

    /// The report as a table for people.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "samsara bench ({} mode) on {}: {:.1} s",
            self.mode.name(),
            self.machine.summary(),
            self.seconds
        );
        for section in &self.sections {
            out.push('\n');
            out.push_str(&render_section(section));
        }
        let (met, all) = self.targets().fold((0, 0), |(m, a), (_, t)| (m + usize::from(t.met), a + 1));
        let _ = writeln!(out, "\ntargets: {met} of {all} met");
        for (f, t) in self.targets().filter(|(_, t)| !t.met) {
            let _ = writeln!(out, "  not met: {} = {} (target {})", f.name, f.unit.render(f.value), t.text);
        }
        if let Some(chart) = &self.chart {
            let _ = writeln!(out, "scaling curves: {chart}");
        }
        out
    }
}

fn render_section(section: &Section) -> String {
    let rows: Vec<[String; 5]> = section
        .figures
        .iter()
        .map(|f| {
            let ratio = match f.overhead_pct {
                Some(pct) => format!("{} ({pct:+.1}%)", ratio_text(f.ratio)),
                None => ratio_text(f.ratio),
            };
            let target = f
                .target
                .as_ref()
                .map(|t| format!("{}: {}", t.text, if t.met { "met" } else { "NOT MET" }))
                .unwrap_or_default();
            [
                f.name.clone(),
                f.unit.render(f.value),
                format!("{} {}", f.baseline.name, f.unit.render(f.baseline.value)),
                ratio,
                target,
            ]
        })
        .collect();
    let header = ["figure", "measured", "baseline (same run)", "ratio", "target"].map(String::from);
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String; 5]| {
        let mut s = String::from("  ");
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            let pad = w.saturating_sub(cell.chars().count());
            if i == 1 || i == 3 {
                s += &format!("{}{cell}  ", " ".repeat(pad));
            } else {
                s += &format!("{cell}{}  ", " ".repeat(pad));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = format!("{} ({:.1} s)\n", section.title, section.seconds);
    out += &line(&header);
    for (row, f) in rows.iter().zip(&section.figures) {
        out += &line(row);
        if let Some(note) = &f.note {
            out += &format!("      note: {note}\n");
        }
    }
    // One line per reason: points past a limit share theirs.
    let mut reasons: Vec<(&str, Vec<&str>)> = Vec::new();
    for m in &section.missing {
        match reasons.iter_mut().find(|(r, _)| *r == m.reason) {
            Some((_, names)) => names.push(&m.name),
            None => reasons.push((&m.reason, vec![&m.name])),
        }
    }
    for (reason, names) in reasons {
        out += &format!("  not measured: {}\n      because {reason}\n", names.join("; "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_render_with_three_digits_and_their_unit() {
        assert_eq!(Unit::Nanos.render(141.2), "141 ns");
        assert_eq!(Unit::Nanos.render(1312.0), "1.31 µs");
        assert_eq!(Unit::OpsPerSec.render(3_910_000.0), "3.91 M ops/s");
        assert_eq!(Unit::RunsPerSec.render(673.4), "673 runs/s");
    }

    #[test]
    fn figures_that_could_not_be_measured_share_one_line_per_reason() {
        let mut s = Section::new("scaling", "Scaling");
        let why = "the run did not finish";
        s.missing("a", "getpid, 10 live processes", why);
        s.missing("b", "fork, 10 live processes", why);
        s.missing("c", "campaign", "no golden run");
        assert_eq!(
            render_section(&s),
            "Scaling (0.0 s)\n  figure  measured  baseline (same run)  ratio  target\n  not measured: getpid, 10 live \
             processes; fork, 10 live processes\n      because the run did not finish\n  not measured: campaign\n      \
             because no golden run\n"
        );
    }

    #[test]
    fn overhead_is_the_extra_time_whatever_the_unit() {
        let slow = Spread::exact(97.0);
        let fast = Spread::exact(100.0);
        let f = Figure::new("x", "x", Unit::OpsPerSec, slow, "off", fast).with_overhead();
        assert!((f.overhead_pct.unwrap() - 3.0928).abs() < 1e-3);
        let f = Figure::new("y", "y", Unit::Nanos, Spread::exact(103.0), "off", fast).with_overhead();
        assert!((f.overhead_pct.unwrap() - 3.0).abs() < 1e-9);
    }
}

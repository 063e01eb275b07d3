//! The campaign report: one self-contained HTML file (no network, no scripts) with SVG charts
//! drawn by plotters — outcome shares per policy, per server, per fault kind and per persistence,
//! a fail-stop or a crash that left damage behind apart from a clean one — the tables, the
//! denominators, the simulator panics, and every noteworthy run with the command that replays it.

use crate::plan::CampaignSpec;
use crate::results::RunRecord;
use crate::summary::{Column, Counts, Summary};
use plotters::prelude::*;
use recovery::PolicyKind;
use servers::run::{Outcome, Verdict};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

/// The colour of a table column, the same in every chart: a damaged fail-stop or crash is the
/// darker shade of the clean one.
fn colour(c: Column) -> RGBColor {
    match (c.outcome, c.checker) {
        (Outcome::Pass, _) => RGBColor(46, 160, 67),
        (Outcome::Recovered, _) => RGBColor(31, 136, 178),
        (Outcome::FailStop, Some(Verdict::Damaged)) => RGBColor(150, 105, 10),
        (Outcome::FailStop, _) => RGBColor(230, 170, 30),
        (Outcome::WorkloadFailed, _) => RGBColor(240, 120, 40),
        (Outcome::Crash, Some(Verdict::Damaged)) => RGBColor(120, 20, 20),
        (Outcome::Crash, _) => RGBColor(200, 40, 40),
        (Outcome::Inconsistent, _) => RGBColor(110, 30, 120),
    }
}

fn hex(c: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

/// A horizontal 100%-stacked bar chart: one bar per label, segments per table column.
fn stacked_bars(title: &str, bars: &[(String, Counts)]) -> String {
    let mut svg = String::new();
    let height = 70 + 34 * bars.len().max(1) as u32;
    {
        let root = SVGBackend::with_string(&mut svg, (760, height)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(28)
            .y_label_area_size(110)
            .build_cartesian_2d(0f64..100f64, 0..bars.len().max(1) as i32);
        let Ok(mut chart) = chart else { return svg_fallback(title) };
        let labels: Vec<String> = bars.iter().map(|b| b.0.clone()).collect();
        let _ = chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc("% of runs")
            .y_labels(bars.len().max(1))
            .y_label_formatter(&|i| labels.get(*i as usize).cloned().unwrap_or_default())
            .draw();
        for (i, (_, counts)) in bars.iter().enumerate() {
            let total = counts.total();
            let mut x = 0.0;
            for c in Column::ALL {
                let n = c.count(counts);
                if n == 0 || total == 0 {
                    continue;
                }
                let w = 100.0 * n as f64 / total as f64;
                let y = i as i32;
                let _ =
                    chart.draw_series(std::iter::once(Rectangle::new([(x, y), (x + w, y + 1)], colour(c).filled())));
                x += w;
            }
        }
        let _ = root.present();
    }
    svg
}

fn svg_fallback(title: &str) -> String {
    format!("<p>(chart {title} could not be drawn)</p>")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn table(out: &mut String, first: &str, rows: &[(String, Counts)]) {
    let _ = write!(out, "<table><tr><th>{first}</th><th>runs</th>");
    for c in Column::ALL {
        let _ = write!(out, "<th><span class=dot style=\"background:{}\"></span>{}</th>", hex(colour(c)), c.name());
    }
    out.push_str("</tr>");
    for (label, counts) in rows {
        let total = counts.total();
        let _ = write!(out, "<tr><td>{}</td><td>{total}</td>", escape(label));
        for c in Column::ALL {
            let n = c.count(counts);
            let pct = if total == 0 { 0.0 } else { 100.0 * n as f64 / total as f64 };
            let _ = write!(out, "<td>{n} <small>({pct:.1}%)</small></td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
}

fn flatten(by: &BTreeMap<PolicyKind, Counts>, prefix: &str) -> Vec<(String, Counts)> {
    by.iter().map(|(p, c)| (format!("{prefix}{p}"), c.clone())).collect()
}

/// Writes the report for `summary` of `records` to `path`.
pub fn write_html(
    path: &Path,
    spec: &CampaignSpec,
    summary: &Summary,
    records: &[RunRecord],
    results: &Path,
) -> std::io::Result<()> {
    let mut out = String::from(
        "<!doctype html><html><head><meta charset=utf-8><title>samsara campaign report</title><style>\
         body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}\
         table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}\
         td:first-child,th:first-child{text-align:left}.dot{display:inline-block;width:10px;height:10px;margin-right:4px}\
         code{background:#f4f4f4;padding:1px 4px}small{color:#666}</style></head><body>",
    );
    let _ = write!(
        out,
        "<h1>samsara fault-injection campaign</h1><p>workload <code>{}</code>, seed {}, {} runs ({} faults x {} policies); kinds: {}; servers: {}.</p>",
        escape(&spec.workload),
        spec.seed,
        summary.runs,
        summary.runs / spec.policies.len().max(1) as u64,
        spec.policies.len(),
        spec.kinds.iter().map(|k| k.name()).collect::<Vec<_>>().join(", "),
        spec.servers.join(", ")
    );
    if let Some(g) = &summary.golden {
        let _ = write!(
            out,
            "<p>Golden run: {} code sites executed {} times; candidate faults come only from them. {:.1}% of executions ran before their request's first state-changing IPC.</p>",
            g.sites,
            g.executions,
            100.0 * g.recovery_coverage
        );
        if !g.coverage.is_empty() {
            out.push_str("<h2>Recovery coverage</h2><p>The share of the golden run's executions at which each policy would recover a crash rather than halt (OSIRIS reported about 64% for its enhanced mode).</p>");
            out.push_str("<table><tr><th>policy</th><th>transient fault</th><th>persistent fault</th></tr>");
            for c in &g.coverage {
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td>{:.1}%</td><td>{:.1}%</td></tr>",
                    c.policy,
                    100.0 * c.transient,
                    100.0 * c.persistent
                );
            }
            out.push_str("</table>");
        }
    }
    let _ = write!(
        out,
        "<p>{} runs whose fault never fired are counted in their outcome. {} runs whose simulator panicked (samsara bugs, not recovery results) are counted as crash. A fail-stop or a crash whose stopped system the consistency checker found damaged is counted apart (<i>+damage</i>); <i>inconsistent</i> runs ran on with silent damage.</p>",
        summary.not_fired, summary.simulator_panics
    );
    out.push_str("<h2>Outcomes per policy</h2>");
    let by_policy: Vec<(String, Counts)> = summary.by_policy.iter().map(|(p, c)| (p.to_string(), c.clone())).collect();
    out.push_str(&stacked_bars("outcomes per policy", &by_policy));
    table(&mut out, "policy", &by_policy);
    for (server, by) in &summary.by_server {
        let _ = write!(out, "<h2>Faults in {}</h2>", escape(server));
        let rows = flatten(by, "");
        out.push_str(&stacked_bars(&format!("faults in {server}"), &rows));
        table(&mut out, "policy", &rows);
    }
    for (kind, by) in &summary.by_kind {
        let _ = write!(out, "<h2>{} faults</h2>", kind.name());
        let rows = flatten(by, "");
        out.push_str(&stacked_bars(&format!("{kind} faults"), &rows));
        table(&mut out, "policy", &rows);
    }
    for (persistence, by) in &summary.by_persistence {
        let _ = write!(out, "<h2>{} faults</h2>", persistence.name());
        let rows = flatten(by, "");
        out.push_str(&stacked_bars(&format!("{persistence} faults"), &rows));
        table(&mut out, "policy", &rows);
    }
    if let Some((restored, cleansed)) = summary.srs.get(&PolicyKind::Srs) {
        let _ = write!(
            out,
            "<h2>SRS self-cleansing</h2><p>{restored} suspect entries were restored on read; {cleansed} cleansed themselves (overwritten before any read).</p>"
        );
    }
    out.push_str("<h2>Runs that did not pass or recover</h2><table><tr><th>run</th><th>fault</th><th>outcome</th><th>checker</th><th>decision</th><th>replay</th></tr>");
    for r in records.iter().filter(|r| !matches!(r.outcome, Outcome::Pass | Outcome::Recovered)) {
        let _ = write!(
            out,
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td><code>samsara replay {} --results {}</code></td></tr>",
            r.id,
            escape(&r.fault),
            r.outcome,
            match &r.simulator_panic {
                Some(message) => format!("simulator panic: {}", escape(message)),
                None => r.checker.to_string(),
            },
            escape(r.decisions.first().map_or("-", String::as_str)),
            r.id,
            escape(&results.display().to_string())
        );
    }
    out.push_str("</table></body></html>\n");
    std::fs::write(path, out)
}

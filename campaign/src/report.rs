//! The campaign report: one self-contained HTML file (no network, no scripts) with SVG charts
//! drawn by plotters — outcome shares per policy, per server, per fault kind and per persistence,
//! a fail-stop or a crash that left damage behind apart from a clean one — the tables, the
//! denominators, the simulator panics, and the runs that did not pass or recover, grouped by where
//! the fault was and how the run ended, each group with a command that replays one of its runs.

use crate::plan::CampaignSpec;
use crate::results::RunRecord;
use crate::summary::{Column, Counts, Summary};
use plotters::prelude::*;
use recovery::PolicyKind;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;
use testbed::run::{Outcome, Verdict};

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

/// Pixels between two bars (each bar's share of its row is the rest).
const BAR_GAP: u32 = 8;
/// Pixels of a chart's row: a bar and its gap.
const BAR_ROW: u32 = 34;
/// Room right of the plot, so the axis's last label ("100") is drawn whole.
const RIGHT_MARGIN: u32 = 24;

/// A horizontal 100%-stacked bar chart: one bar per label, its label centred on it, segments per
/// table column.
fn stacked_bars(title: &str, bars: &[(String, Counts)]) -> String {
    let mut svg = String::new();
    let rows = bars.len().max(1) as i32;
    let height = 70 + BAR_ROW * rows as u32;
    {
        let root = SVGBackend::with_string(&mut svg, (760, height)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(10)
            .margin_right(RIGHT_MARGIN)
            .x_label_area_size(28)
            .y_label_area_size(110)
            .build_cartesian_2d(0f64..100f64, (0..rows).into_segmented());
        let Ok(mut chart) = chart else { return svg_fallback(title) };
        let labels: Vec<String> = bars.iter().map(|b| b.0.clone()).collect();
        let _ = chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc("% of runs")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_labels(rows as usize)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => labels.get(*i as usize).cloned().unwrap_or_default(),
                _ => String::new(),
            })
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
                let (bottom, top) = (SegmentValue::Exact(i as i32), SegmentValue::Exact(i as i32 + 1));
                let mut bar = Rectangle::new([(x, bottom), (x + w, top)], colour(c).filled());
                bar.set_margin(BAR_GAP / 2, BAR_GAP / 2, 0, 0);
                let _ = chart.draw_series(std::iter::once(bar));
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

/// Runs that did not pass or recover that share a place and an end.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct FailureGroup {
    server: String,
    handler: String,
    kind: String,
    outcome: Outcome,
    /// The checker's verdict, or that the simulator panicked.
    checker: String,
}

/// The runs that did not pass or recover, grouped by server, handler, fault kind and outcome (the
/// largest group first), with the policies each group's runs ran under and one replay command.
fn failing_groups(out: &mut String, records: &[RunRecord], results: &Path) {
    let mut groups: BTreeMap<FailureGroup, (u64, BTreeMap<PolicyKind, u64>, &RunRecord)> = BTreeMap::new();
    for r in records.iter().filter(|r| !matches!(r.outcome, Outcome::Pass | Outcome::Recovered)) {
        let key = FailureGroup {
            server: r.server.clone(),
            handler: r.handler.clone(),
            kind: r.kind.name().to_string(),
            outcome: r.outcome,
            checker: match r.simulator_panic {
                Some(_) => "simulator panic".to_string(),
                None => r.checker.to_string(),
            },
        };
        let group = groups.entry(key).or_insert((0, BTreeMap::new(), r));
        group.0 += 1;
        *group.1.entry(r.policy).or_default() += 1;
    }
    let mut groups: Vec<_> = groups.into_iter().collect();
    groups.sort_by(|a, b| b.1.0.cmp(&a.1.0).then_with(|| a.0.cmp(&b.0)));
    let total: u64 = groups.iter().map(|g| g.1.0).sum();
    let _ = write!(
        out,
        "<h2>Runs that did not pass or recover</h2><p>{total} {}, in {} {} of the same server, handler, fault kind and outcome; each group's replay command re-runs its first run with its full event log.</p>",
        if total == 1 { "run" } else { "runs" },
        groups.len(),
        if groups.len() == 1 { "group" } else { "groups" }
    );
    out.push_str("<table class=groups><tr><th>server</th><th>handler</th><th>fault kind</th><th>outcome</th><th>checker</th><th>runs</th><th>policies</th></tr>");
    for (g, (count, policies, first)) in &groups {
        let policies: Vec<String> = policies.iter().map(|(p, n)| format!("{p} {n}")).collect();
        // The command goes on a row of its own: a results path is as long as it is.
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{count}</td><td>{}</td></tr><tr class=replay><td colspan=7>replay: <code>samsara replay {} --results {}</code></td></tr>",
            escape(&g.server),
            escape(&g.handler),
            g.kind,
            g.outcome,
            escape(&g.checker),
            policies.join(", "),
            first.id,
            escape(&results.display().to_string())
        );
    }
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
         code{background:#f4f4f4;padding:1px 4px;white-space:nowrap}small{color:#666}\
         table.groups td{text-align:left}tr.replay td{border-top:none;padding-left:2em}</style></head><body>",
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
    failing_groups(&mut out, records, results);
    out.push_str("</table></body></html>\n");
    std::fs::write(path, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(outcomes: &[(Outcome, Verdict, u64)]) -> Counts {
        let mut c = Counts::default();
        for &(o, v, n) in outcomes {
            (0..n).for_each(|_| c.add(o, v));
        }
        c
    }

    /// The value of attribute `name` in the SVG element `tag`.
    fn attr(tag: &str, name: &str) -> f64 {
        let at = tag.find(&format!(" {name}=\"")).unwrap_or_else(|| panic!("{name} in {tag}")) + name.len() + 3;
        tag[at..].split('"').next().unwrap().parse().unwrap()
    }

    #[test]
    fn bars_have_gaps_their_labels_centred_and_the_axis_drawn_whole() {
        let bars: Vec<(String, Counts)> = ["none", "rollback", "table"]
            .iter()
            .map(|p| {
                (p.to_string(), counts(&[(Outcome::Pass, Verdict::Clean, 3), (Outcome::Crash, Verdict::Damaged, 1)]))
            })
            .collect();
        let svg = stacked_bars("outcomes", &bars);
        let width = attr(&svg[..svg.find('>').unwrap()], "width");
        let pass = hex(colour(Column::ALL[0])).to_uppercase();
        // One pass segment per bar: their vertical extents.
        let mut spans: Vec<(f64, f64)> = svg
            .split("<rect")
            .skip(1)
            .filter(|r| r.contains(&format!("fill=\"{pass}\"")))
            .map(|r| (attr(r, "y"), attr(r, "y") + attr(r, "height")))
            .collect();
        spans.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert_eq!(spans.len(), 3, "{svg}");
        for pair in spans.windows(2) {
            assert!(pair[1].0 - pair[0].1 >= BAR_GAP as f64 - 1.0, "bars touch: {pair:?}");
        }
        for (name, _) in &bars {
            let text =
                svg.split("<text").find(|t| t.contains(&format!(">\n{name}\n<"))).unwrap_or_else(|| panic!("{name}"));
            let y = attr(text, "y");
            assert!(
                spans.iter().any(|&(top, bottom)| (y - (top + bottom) / 2.0).abs() < 4.0),
                "label {name} at y {y} is not centred on a bar: {spans:?}"
            );
        }
        let hundred = svg.split("<text").find(|t| t.contains(">\n100\n<")).expect("the 100 tick");
        assert!(attr(hundred, "x") + 12.0 <= width, "the 100 tick is clipped: {hundred}");
    }

    #[test]
    fn failing_runs_are_grouped_with_counts_and_one_replay_command_each() {
        use crate::summary::tests::record;
        let damage = ["pm.children: 12 is nobody's child"];
        let mut records: Vec<RunRecord> =
            (0..40).map(|f| record(f, PolicyKind::Table, Outcome::FailStop, &[])).collect();
        records.extend((0..3).map(|f| record(f, PolicyKind::Rollback, Outcome::FailStop, &[])));
        records.extend((0..5).map(|f| record(f, PolicyKind::None, Outcome::Crash, &damage)));
        records.extend((0..9).map(|f| record(f, PolicyKind::Srs, Outcome::Recovered, &[])));
        let mut out = String::new();
        failing_groups(&mut out, &records, Path::new("c.jsonl"));
        assert!(out.contains("48 runs, in 2 groups"), "{out}");
        let rows: Vec<&str> = out.split("<tr>").skip(2).collect();
        let replays: Vec<&str> = out.split("<tr class=replay>").skip(1).collect();
        assert_eq!(rows.len(), 2, "{out}");
        assert!(
            rows[0].contains("<td>fail-stop</td><td>clean</td><td>43</td><td>rollback 3, table 40</td>"),
            "{}",
            rows[0]
        );
        assert!(replays[0].contains("samsara replay f00000-table --results c.jsonl"), "{}", replays[0]);
        assert!(rows[1].contains("<td>crash</td><td>damaged</td><td>5</td><td>none 5</td>"), "{}", rows[1]);
        assert_eq!(out.matches("samsara replay").count(), 2, "one command per group");
    }
}

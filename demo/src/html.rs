//! The demo as one offline HTML page: per run, the verdict, the message sequence chart beside the
//! narrated story, and the call graph of the crashed entry point. No external resource: styles
//! inline, pictures inline SVG (the analysis's call graph as a data URI image, so its ids and
//! classes stay its own).
//!
//! A tiny script checks the page after load: in every chart it counts the lifelines and message
//! arrows drawn against the numbers the chart declares, and sets `data-ok` on `<body>` ("true" or
//! "false"); a page whose script failed has no `data-ok` at all. Browser tests read that attribute
//! from the dumped DOM.

use crate::chart::{self, esc};
use crate::graph;
use crate::story::{Phase, Tone};
use crate::{Demo, DemoRun};
use recovery::RecoveryTable;
use std::fmt::Write;

/// Gives the analysis's call graph of an entry point (server, message type), when there is one.
pub type GraphSource<'a> = &'a dyn Fn(&str, i32) -> Option<graph::AnalysisGraph>;

const STYLE: &str = r#"
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #111827; background: #f9fafb; }
header.page { background: #1f2937; color: white; padding: 14px 24px; }
header.page h1 { margin: 0 0 4px 0; font-size: 22px; }
header.page p { margin: 2px 0; color: #d1d5db; }
section.scenario { padding: 8px 24px 24px 24px; }
section.scenario > h2 { border-bottom: 2px solid #374151; padding-bottom: 4px; }
article.run { background: white; border: 1px solid #e5e7eb; border-radius: 8px; padding: 12px 16px; margin: 16px 0; }
article.run h3 { margin: 4px 0 8px 0; }
.summary { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0 12px 0; }
.card { border-radius: 6px; padding: 6px 10px; background: #f3f4f6; font-size: 14px; }
.card b { display: block; font-size: 11px; text-transform: uppercase; color: #6b7280; }
.outcome-pass, .outcome-recovered { background: #dcfce7; }
.outcome-fail-stop { background: #fef3c7; }
.outcome-inconsistent, .outcome-crash, .outcome-workload-failed { background: #fee2e2; }
.columns { display: flex; gap: 16px; align-items: flex-start; }
.chart-box { flex: 0 1 auto; max-width: 70%; max-height: 900px; overflow: auto; border: 1px solid #e5e7eb; border-radius: 6px; }
.story { flex: 1 1 0; min-width: 360px; max-height: 900px; overflow: auto; font-size: 13px; }
.step h4 { margin: 10px 0 4px 0; font-size: 14px; }
.step ol { list-style: none; margin: 0; padding: 0; }
.step li { padding: 1px 0; font-family: ui-monospace, monospace; font-size: 12px; }
.step li .ev { color: #9ca3af; display: inline-block; min-width: 11.5em; }
.tone-answer { color: #1d4ed8; } .tone-heartbeat { color: #9ca3af; } .tone-kernel { color: #6b7280; }
.tone-note { color: #0e7490; } .tone-checkpoint { color: #b45309; font-weight: bold; } .tone-window { color: #b45309; }
.tone-crash { color: #dc2626; font-weight: bold; } .tone-detection { color: #a16207; font-weight: bold; }
.tone-decision { color: #a21caf; font-weight: bold; } .tone-recovery { color: #15803d; font-weight: bold; }
.tone-halt { color: white; background: #dc2626; font-weight: bold; } .tone-good { color: #15803d; font-weight: bold; }
.tone-bad { color: #dc2626; font-weight: bold; }
.phase-crash h4, .phase-fail-stop h4 { color: #dc2626; } .phase-decision h4 { color: #a21caf; } .phase-recovery h4 { color: #15803d; }
.legend { font-size: 12px; color: #374151; margin: 6px 0; }
.legend span { margin-right: 14px; white-space: nowrap; }
.legend i { display: inline-block; width: 22px; height: 0; border-top: 2px solid; vertical-align: middle; margin-right: 4px; }
.graph-box { overflow: auto; border: 1px solid #e5e7eb; border-radius: 6px; padding: 6px; margin: 6px 0; background: white; }
.graph-box img { max-width: none; }
pre.dot { font-size: 11px; background: #f3f4f6; padding: 8px; overflow: auto; max-height: 300px; }
"#;

const SCRIPT: &str = r#"
(function () {
  var ok = true;
  var charts = document.querySelectorAll('svg.sequence-chart');
  for (var i = 0; i < charts.length; i++) {
    var s = charts[i];
    var lifelines = s.querySelectorAll('g.lifeline').length;
    var messages = s.querySelectorAll('g.message').length;
    s.setAttribute('data-drawn-lifelines', String(lifelines));
    s.setAttribute('data-drawn-messages', String(messages));
    if (String(lifelines) !== s.getAttribute('data-lifelines') || String(messages) !== s.getAttribute('data-messages')) ok = false;
  }
  document.body.setAttribute('data-charts', String(charts.length));
  document.body.setAttribute('data-ok', ok && charts.length > 0 ? 'true' : 'false');
})();
"#;

/// The page of one or more scenarios.
pub fn render(demos: &[Demo], table: &RecoveryTable, graphs: GraphSource<'_>) -> String {
    let title = match demos {
        [one] => format!("samsara demo: {}", one.scenario),
        _ => "samsara demo: every scenario".to_string(),
    };
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(&title)
    );
    let _ = writeln!(
        out,
        "<header class=\"page\"><h1>{}</h1><p>Real runs of samsara's MINIX-style servers under the deterministic <code>sim</code> engine: every line and every arrow below is an event of the run's own kernel log.</p></header>",
        esc(&title)
    );
    for demo in demos {
        scenario(&mut out, demo, table, graphs);
    }
    let _ = write!(out, "<script>{SCRIPT}</script>\n</body>\n</html>\n");
    out
}

fn scenario(out: &mut String, demo: &Demo, table: &RecoveryTable, graphs: GraphSource<'_>) {
    let _ = writeln!(
        out,
        "<section class=\"scenario\" id=\"{0}\" data-scenario=\"{0}\"><h2>{0}</h2><p>{1}</p>",
        esc(demo.scenario.name()),
        esc(demo.scenario.summary())
    );
    for (i, run) in demo.runs.iter().enumerate() {
        run_article(out, demo, i, run, table, graphs);
    }
    out.push_str("</section>\n");
}

fn card(out: &mut String, class: &str, label: &str, value: &str) {
    let _ = write!(out, "<div class=\"card {class}\"><b>{}</b>{}</div>", esc(label), esc(value));
}

fn run_article(
    out: &mut String,
    demo: &Demo,
    index: usize,
    run: &DemoRun,
    table: &RecoveryTable,
    graphs: GraphSource<'_>,
) {
    let r = &run.result;
    let _ = writeln!(
        out,
        "<article class=\"run\" data-policy=\"{}\" data-outcome=\"{}\"><h3>Run {} of {}: policy {}, fault <code>{}</code>, seed {}</h3><p>Watch {}.</p>",
        run.plan.policy,
        r.outcome,
        index + 1,
        demo.runs.len(),
        run.plan.policy,
        esc(run.plan.fault),
        demo.seed,
        esc(run.plan.watch)
    );
    out.push_str("<div class=\"summary\">");
    if let Some(inc) = run.incident() {
        let call = inc.record.call.as_ref().map_or("-".to_string(), |(c, _)| c.clone());
        card(out, "", "crashed", &format!("{} ({}) in {call}", inc.server, inc.record.cause));
        card(out, "", "decision", inc.record.decision.label());
    }
    card(out, &format!("outcome-{}", r.outcome), "outcome", r.outcome.name());
    let checker = if r.violations.is_empty() {
        "consistent".to_string()
    } else {
        r.violations.iter().map(|v| v.invariant.clone()).collect::<Vec<_>>().join(", ")
    };
    card(out, if r.violations.is_empty() { "outcome-pass" } else { "outcome-inconsistent" }, "checker", &checker);
    out.push_str("</div>\n");
    if let Some(inc) = run.incident() {
        let _ = writeln!(out, "<p class=\"reason\"><b>Reason:</b> {}</p>", esc(inc.record.decision.reason()));
    }
    out.push_str(LEGEND);
    out.push_str("<div class=\"columns\"><div class=\"chart-box\">");
    let (svg, _) = chart::render(&run.entries, &run.cast, &run.incidents, &format!("{}-{}", demo.scenario, index + 1));
    out.push_str(&svg);
    out.push_str("</div><div class=\"story\">");
    for (k, step) in run.story.steps.iter().enumerate() {
        let _ = write!(
            out,
            "<section class=\"step phase-{}\"><h4>{}. {}</h4><ol>",
            phase_class(step.phase),
            k + 1,
            esc(&step.title)
        );
        for l in &step.lines {
            let place = match (l.seq, l.time) {
                (Some(seq), Some(time)) => format!("#{seq} · {time}us"),
                _ => String::new(),
            };
            let _ = write!(
                out,
                "<li class=\"tone-{}\"><span class=\"ev\">{}</span>{}</li>",
                tone_class(l.tone),
                esc(&place),
                esc(&l.text)
            );
        }
        out.push_str("</ol></section>");
    }
    out.push_str("</div></div>\n");
    call_graph(out, run, table, graphs);
    out.push_str("</article>\n");
}

const LEGEND: &str = concat!(
    "<div class=\"legend\">",
    "<span><i style=\"border-color:#111827\"></i>request</span>",
    "<span><i style=\"border-color:#2563eb;border-top-style:dashed\"></i>answer</span>",
    "<span><i style=\"border-color:#b45309\"></i>sent inside the recovery window</span>",
    "<span><i style=\"border-color:#9ca3af;border-top-style:dashed\"></i>heartbeat</span>",
    "<span><i style=\"border-color:#7c3aed;border-top-style:dotted\"></i>kernel notification</span>",
    "<span><i style=\"border-color:#dc2626;border-top-style:dotted\"></i>failed IPC</span>",
    "<span style=\"color:#dc2626\">✗ crash</span><span style=\"color:#16a34a\">● new incarnation</span>",
    "<span style=\"color:#a21caf\">▭ rs's decision</span><span style=\"color:#d97706\">⚑ checkpoint</span>",
    "</div>\n"
);

fn call_graph(out: &mut String, run: &DemoRun, table: &RecoveryTable, graphs: GraphSource<'_>) {
    let Some(inc) = run.incident() else { return };
    let Some((call, m_type)) = inc.record.call.clone() else { return };
    let _ = writeln!(out, "<h3>Call graph of the crashed entry point: {} / {}</h3>", esc(&inc.server), esc(&call));
    match graph::table_svg(table, &inc.server, m_type) {
        Some(svg) => {
            let _ = write!(
                out,
                "<p>From the recovery-class table ({}): the entry point, the requests it sends and what each may write.</p><div class=\"graph-box table-graph\">{svg}</div>",
                esc(&table.provenance)
            );
        }
        None => {
            let _ = write!(
                out,
                "<p class=\"tone-bad\">The recovery-class table has no row for {} / {call}: the table policies fail-stop on it (unknown effects).</p>",
                esc(&inc.server)
            );
        }
    }
    let Some(drawn) = graphs(&inc.server, m_type) else {
        out.push_str("<p>The static analysis's function-level graph is not available here (run <code>samsara analyze</code> in the workspace).</p>");
        return;
    };
    let _ = write!(
        out,
        "<p>From the static analysis (<code>samsara analyze</code>): the functions the request runs in each component, the fields they write, fused IPC edges dashed.</p><div class=\"graph-box analysis-graph\"><img alt=\"call graph of {} / {}\" src=\"data:image/svg+xml;charset=utf-8,{}\"></div><details><summary>the same graph in DOT, for graphviz</summary><pre class=\"dot\">{}</pre></details>",
        esc(&inc.server),
        esc(&call),
        data_uri_escape(&drawn.svg),
        esc(&drawn.dot)
    );
}

/// Percent-escapes the characters a `data:` URI in an attribute cannot hold as they are.
fn data_uri_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '#' => out.push_str("%23"),
            '"' => out.push_str("%22"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            '&' => out.push_str("%26"),
            '\n' => out.push_str("%0A"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

fn phase_class(p: Phase) -> &'static str {
    match p {
        Phase::Boot => "boot",
        Phase::Program => "program",
        Phase::Checkpoint => "checkpoint",
        Phase::Crash => "crash",
        Phase::Detection => "detection",
        Phase::Decision => "decision",
        Phase::Recovery => "recovery",
        Phase::FailStop => "fail-stop",
        Phase::Afterwards => "afterwards",
        Phase::End => "end",
        Phase::Verdict => "verdict",
    }
}

fn tone_class(t: Tone) -> &'static str {
    match t {
        Tone::Message => "message",
        Tone::Answer => "answer",
        Tone::Heartbeat => "heartbeat",
        Tone::Kernel => "kernel",
        Tone::Note => "note",
        Tone::Checkpoint => "checkpoint",
        Tone::Window => "window",
        Tone::Crash => "crash",
        Tone::Detection => "detection",
        Tone::Decision => "decision",
        Tone::Recovery => "recovery",
        Tone::Halt => "halt",
        Tone::Good => "good",
        Tone::Bad => "bad",
        Tone::Plain => "plain",
    }
}

//! The message sequence chart of one run, as SVG: one lifeline per process of the log (a server
//! keeps its lifeline across incarnations; a gap shows where it was dead), one arrow per message
//! sent, in the log's order, one row each. Marked on top: the checkpoint and the recovery window of
//! the failing request, the crash or the kill, rs's decision, the next incarnation, the halt.
//!
//! Elements carry classes and data attributes for tests and the page's self-check: the root
//! `svg.sequence-chart` has `data-lifelines` and `data-messages`; each process is a
//! `g.lifeline[data-ep]`; each message a `g.message[data-seq]`. Every mark has a `<title>` with
//! the raw log line, so hovering shows the event itself.

use crate::cast::Cast;
use crate::incident::{Death, Incident, is_answer};
use crate::log::{Entry, Kind};
use crate::story::message_text;
use kernel_sim::msgtype::NOTIFY_MESSAGE;
use kernel_sim::{Endpoint, Primitive};
use os::proto::RS;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Pixels between two lifelines.
const COLUMN: i64 = 112;
/// x of the kernel's lane (not a process: no lifeline).
const KERNEL_X: i64 = 36;
/// x of the first lifeline.
const FIRST_X: i64 = 120;
/// The space above the first row, where the head boxes are.
const HEAD: i64 = 64;
/// Top of a head box.
const HEAD_TOP: i64 = 8;
/// Size of a head box.
const HEAD_W: i64 = 98;
/// Height of a head box.
const HEAD_H: i64 = 36;
/// Baselines of a head box's two lines (name, endpoint), from the box's top.
const HEAD_LINES: [i64; 2] = [16, 30];
/// Pixels per row (one event a row).
const ROW: i64 = 22;
/// From a row's centre down to the baseline of its text.
const BASELINE: i64 = 4;
/// From a mark to the text beside it.
const TEXT_GAP: i64 = 6;
/// Half the size of a crash cross.
const CROSS: i64 = 7;
/// Radius of a spawn dot.
const DOT_R: i64 = 5;
/// Width of a recovery window band.
const WINDOW_W: i64 = 14;
/// Size of the checkpoint flag.
const FLAG: i64 = 12;
/// Space below the last row.
const FOOT: i64 = 30;
/// Margin of boxes drawn across the chart (notes, the halt).
const MARGIN: i64 = 4;
/// Pixels a character of the 11px monospace labels takes, rounded up.
const CHAR_W: i64 = 7;
/// Padding around a note's text.
const NOTE_PAD: i64 = 6;
/// The narrowest note box.
const NOTE_MIN_W: i64 = 60;
/// How far a message to oneself loops out.
const SELF_LOOP: i64 = 24;
/// Characters a chart label keeps.
const LABEL_MAX: usize = 110;

/// Dash patterns.
const DASH_ANSWER: &str = "5 3";
const DASH_FAILED: &str = "2 2";
const DASH_NOTICE: &str = "1 3";
const DASH_KERNEL_CALL: &str = "4 2";
const DASH_LANE: &str = "2 4";
const DASH_GAP: &str = "3 3";

/// Escapes text for XML.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// What the chart drew, for the page's legend and the tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChartCounts {
    /// Lifelines (processes).
    pub lifelines: usize,
    /// Message arrows.
    pub messages: usize,
}

/// The incident marks, by event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mark {
    /// The failing request's delivery: the server checkpointed just before.
    Checkpoint,
    /// rs's note of its decision.
    Decision,
    /// The next incarnation's spawn.
    Respawn,
}

/// Whether an event gets a row of its own.
fn has_row(e: &Entry, marked: &BTreeMap<u64, Mark>) -> bool {
    if marked.contains_key(&e.seq) {
        return true;
    }
    match &e.kind {
        Kind::Send { .. }
        | Kind::Fail { .. }
        | Kind::Deny { .. }
        | Kind::KernelCall { .. }
        | Kind::KernelDeny { .. }
        | Kind::Spawn { .. }
        | Kind::Exit { .. }
        | Kind::Crash { .. }
        | Kind::Killed { .. }
        | Kind::Exec { .. }
        | Kind::Note { .. }
        | Kind::Shutdown { .. }
        | Kind::Unparsed(_) => true,
        Kind::Deliver { from, .. } => *from == Endpoint::KERNEL,
        Kind::Reply { .. } | Kind::Alarm { .. } | Kind::Clear { .. } => false,
    }
}

/// One arrow between two lanes, with its label above it.
struct Arrow<'a> {
    class: &'a str,
    seq: u64,
    from: (Endpoint, i64),
    to: (Endpoint, i64),
    y: i64,
    colour: &'a str,
    /// A dash pattern, or none for a solid line.
    dash: Option<&'a str>,
    /// An open arrowhead (asynchronous sends, notifications) rather than a filled one.
    open: bool,
    label: String,
    title: &'a str,
}

impl Arrow<'_> {
    fn draw(&self, svg: &mut String, id: &str) {
        let ((from, x1), (to, x2), y) = (self.from, self.to, self.y);
        let (path, lx, anchor) = if x1 == x2 {
            (format!("M{x1} {} h{SELF_LOOP} v8 h-{SELF_LOOP}", y - BASELINE), x1 + SELF_LOOP + BASELINE, "start")
        } else {
            (format!("M{x1} {y} L{x2} {y}"), (x1 + x2) / 2, "middle")
        };
        let dash = self.dash.map(|d| format!(r#" stroke-dasharray="{d}""#)).unwrap_or_default();
        let marker = if self.open { "open-arrow" } else { "arrow" };
        let _ = writeln!(
            svg,
            r##"<g class="{}" data-seq="{}" data-from="{from}" data-to="{to}">{}<path d="{path}" fill="none" stroke="{}" stroke-width="1.3"{dash} marker-end="url(#{id}-{marker})"/><text x="{lx}" y="{}" text-anchor="{anchor}" fill="{}">{}</text></g>"##,
            self.class,
            self.seq,
            self.title,
            self.colour,
            y - BASELINE + 1,
            self.colour,
            esc(&self.label)
        );
    }
}

/// A cross on a lifeline (a crash or a kill) with a word beside it; `look` is the class, the
/// colour and the stroke width.
fn cross(svg: &mut String, seq: u64, title: &str, (cx, cy): (i64, i64), look: (&str, &str, u32), word: &str) {
    let (class, colour, width) = look;
    let (l, r, t, b) = (cx - CROSS, cx + CROSS, cy - CROSS, cy + CROSS);
    let _ = writeln!(
        svg,
        r##"<g class="{class}" data-seq="{seq}">{title}<path d="M{l} {t} L{r} {b} M{r} {t} L{l} {b}" stroke="{colour}" stroke-width="{width}"/><text x="{}" y="{}" fill="{colour}" font-weight="bold">{}</text></g>"##,
        r + TEXT_GAP / 2,
        cy + BASELINE,
        esc(word)
    );
}

/// A long text cut for a label.
fn short(s: &str) -> String {
    if s.chars().count() <= LABEL_MAX {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(LABEL_MAX).collect::<String>())
    }
}

/// Draws the chart of a run; `id` makes the chart's element ids unique in a page.
pub fn render(entries: &[Entry], cast: &Cast, incidents: &[Incident], id: &str) -> (String, ChartCounts) {
    let mut marks: BTreeMap<u64, Mark> = BTreeMap::new();
    for inc in incidents {
        for (seq, mark) in
            [(inc.checkpoint, Mark::Checkpoint), (inc.decided, Mark::Decision), (inc.respawned, Mark::Respawn)]
        {
            if let Some(s) = seq {
                marks.insert(s, mark);
            }
        }
    }
    // Rows: one per drawn event; the final teardown shares one row.
    let teardown = entries
        .iter()
        .rposition(|e| !matches!(e.kind, Kind::Killed { by: Endpoint::KERNEL, .. } | Kind::Clear { .. }))
        .map_or(0, |i| i + 1);
    let live = &entries[..teardown];
    let mut row_of: BTreeMap<u64, i64> = BTreeMap::new();
    for e in live.iter().filter(|e| has_row(e, &marks)) {
        row_of.insert(e.seq, row_of.len() as i64);
    }
    let end_row = row_of.len() as i64;
    let y = |row: i64| HEAD + ROW / 2 + row * ROW;
    let x = |ep: Endpoint| -> i64 {
        match cast.column(ep) {
            Some(c) if ep != Endpoint::KERNEL => FIRST_X + c as i64 * COLUMN,
            _ => KERNEL_X,
        }
    };
    let width = FIRST_X + cast.actors.len().max(1) as i64 * COLUMN;
    let height = y(end_row) + ROW + FOOT;

    // Lifeline segments per actor: (start row, end row, how it ended).
    let mut segments: BTreeMap<Endpoint, Vec<(i64, i64, &'static str)>> = BTreeMap::new();
    let mut open: BTreeMap<Endpoint, i64> = BTreeMap::new();
    for e in live {
        let row = row_of.get(&e.seq).copied();
        match &e.kind {
            Kind::Spawn { ep, .. } => {
                open.insert(*ep, row.unwrap_or(0));
            }
            Kind::Exit { ep } | Kind::Crash { ep, .. } | Kind::Killed { ep, .. } => {
                if let Some(start) = open.remove(ep) {
                    let how = match e.kind {
                        Kind::Crash { .. } => "crashed",
                        Kind::Killed { .. } => "killed",
                        _ => "exited",
                    };
                    segments.entry(*ep).or_default().push((start, row.unwrap_or(end_row), how));
                }
            }
            _ => {}
        }
    }
    for (ep, start) in open {
        segments.entry(ep).or_default().push((start, end_row, "running"));
    }

    let mut svg = String::new();
    let mut counts = ChartCounts { lifelines: cast.actors.len(), messages: 0 };
    let messages_total = live.iter().filter(|e| matches!(e.kind, Kind::Send { .. })).count();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="sequence-chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" data-lifelines="{}" data-messages="{messages_total}" font-family="monospace" font-size="11">"#,
        cast.actors.len()
    );
    let _ = writeln!(
        svg,
        r##"<defs><marker id="{id}-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker><marker id="{id}-open-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10" fill="none" stroke="context-stroke"/></marker></defs>"##
    );
    let _ = writeln!(svg, r#"<rect class="background" x="0" y="0" width="{width}" height="{height}" fill="white"/>"#);

    // The recovery windows, under everything else.
    for inc in incidents {
        let (Some(c), Some(d)) = (inc.checkpoint, inc.death.as_ref().map(Death::seq)) else { continue };
        let (Some(&r0), Some(&r1)) = (row_of.get(&c), row_of.get(&d)) else { continue };
        let _ = writeln!(
            svg,
            r##"<rect class="window" x="{}" y="{}" width="{WINDOW_W}" height="{}" fill="#fde68a" stroke="#d97706"><title>{}'s recovery window: from the checkpoint (event #{c}) to the end of this incarnation (event #{d})</title></rect>"##,
            x(inc.ep) - WINDOW_W / 2,
            y(r0),
            (y(r1) - y(r0)).max(ROW / 2),
            esc(&inc.server)
        );
    }

    // The kernel's lane.
    let _ = writeln!(
        svg,
        r##"<g class="kernel-lane"><text x="{KERNEL_X}" y="{}" text-anchor="middle" fill="#6b7280">kernel</text><line x1="{KERNEL_X}" y1="{HEAD}" x2="{KERNEL_X}" y2="{}" stroke="#d1d5db" stroke-dasharray="{DASH_LANE}"/></g>"##,
        HEAD / 2,
        y(end_row)
    );

    // The lifelines.
    for a in &cast.actors {
        let cx = x(a.ep);
        let fill = if a.server { "#e0e7ff" } else { "#dcfce7" };
        let _ = write!(
            svg,
            r##"<g class="lifeline" data-ep="{}" data-name="{}"><rect x="{}" y="{HEAD_TOP}" width="{HEAD_W}" height="{HEAD_H}" rx="5" fill="{fill}" stroke="#4b5563"/><text x="{cx}" y="{}" text-anchor="middle" font-weight="bold">{}</text><text x="{cx}" y="{}" text-anchor="middle" fill="#4b5563">{}</text>"##,
            a.ep,
            esc(&a.name),
            cx - HEAD_W / 2,
            HEAD_TOP + HEAD_LINES[0],
            esc(&a.name),
            HEAD_TOP + HEAD_LINES[1],
            a.ep
        );
        let mut last_end: Option<i64> = None;
        for (start, end, how) in segments.get(&a.ep).map(Vec::as_slice).unwrap_or_default() {
            let (class, from, colour, dash) = match last_end {
                Some(prev) => ("gap", y(prev), "#ef4444", DASH_GAP),
                None => ("unborn", HEAD_TOP + HEAD_H, "#e5e7eb", DASH_LANE),
            };
            let _ = write!(
                svg,
                r##"<line class="{class}" x1="{cx}" y1="{from}" x2="{cx}" y2="{}" stroke="{colour}" stroke-dasharray="{dash}"/><line class="incarnation" data-end="{how}" x1="{cx}" y1="{}" x2="{cx}" y2="{}" stroke="#374151" stroke-width="1.5"/>"##,
                y(*start),
                y(*start),
                y(*end)
            );
            last_end = Some(*end);
        }
        svg.push_str("</g>\n");
    }

    // The events, a row each.
    for e in live {
        let Some(&row) = row_of.get(&e.seq) else { continue };
        let ry = y(row);
        let title = format!("<title>#{} at {}us: {}</title>", e.seq, e.time, esc(e.to_string().trim()));
        let in_window = incidents.iter().any(|i| i.window.contains(&e.seq));
        let arrow = |class: &'static str, from: Endpoint, to: Endpoint, colour: &'static str| Arrow {
            class,
            seq: e.seq,
            from: (from, x(from)),
            to: (to, x(to)),
            y: ry,
            colour,
            dash: Some(DASH_FAILED),
            open: false,
            label: String::new(),
            title: "",
        };
        match &e.kind {
            Kind::Send { from, to, m_type, prim } => {
                counts.messages += 1;
                let answer = is_answer(*m_type, *prim);
                let heartbeat = *m_type == NOTIFY_MESSAGE
                    && ((*from == RS && Cast::is_server(*to)) || (*to == RS && Cast::is_server(*from)));
                let class = match (answer, heartbeat, in_window) {
                    (_, true, _) => "message heartbeat",
                    (true, _, true) => "message answer in-window",
                    (true, _, false) => "message answer",
                    (false, _, true) => "message request in-window",
                    (false, _, false) => "message request",
                };
                let colour = match (in_window, heartbeat, answer) {
                    (true, _, _) => "#b45309",
                    (_, true, _) => "#9ca3af",
                    (_, _, true) => "#2563eb",
                    _ => "#111827",
                };
                let label = match (heartbeat, *from == RS) {
                    (true, true) => "heartbeat ping".to_string(),
                    (true, false) => "heartbeat answer".to_string(),
                    _ => message_text(*m_type, *prim),
                };
                Arrow {
                    dash: (answer || heartbeat).then_some(DASH_ANSWER),
                    open: matches!(prim, Primitive::AsynSend | Primitive::Notify),
                    label,
                    title: &title,
                    ..arrow(class, *from, *to, colour)
                }
                .draw(&mut svg, id);
            }
            Kind::Fail { from, to, m_type, error } => {
                let what = if *m_type == 0 { "receive".into() } else { message_text(*m_type, Primitive::SendRec) };
                Arrow { label: format!("{what} ✗ {error}"), title: &title, ..arrow("failed", *from, *to, "#dc2626") }
                    .draw(&mut svg, id);
            }
            Kind::Deny { from, to, m_type, prim } => {
                let label = format!("{} ✗ denied", message_text(*m_type, *prim));
                Arrow { label, title: &title, ..arrow("failed denied", *from, *to, "#dc2626") }.draw(&mut svg, id);
            }
            Kind::Deliver { from: Endpoint::KERNEL, to, .. } => Arrow {
                dash: Some(DASH_NOTICE),
                open: true,
                label: "notification".into(),
                title: &title,
                ..arrow("notice", Endpoint::KERNEL, *to, "#7c3aed")
            }
            .draw(&mut svg, id),
            Kind::KernelCall { by, call, target } => Arrow {
                dash: Some(DASH_KERNEL_CALL),
                label: format!("{call} {}", cast.name(*target)),
                title: &title,
                ..arrow("kernel-call", *by, Endpoint::KERNEL, "#9ca3af")
            }
            .draw(&mut svg, id),
            Kind::KernelDeny { by, call } => Arrow {
                label: format!("{call} ✗ denied"),
                title: &title,
                ..arrow("kernel-call failed", *by, Endpoint::KERNEL, "#dc2626")
            }
            .draw(&mut svg, id),
            Kind::Spawn { ep, .. } => {
                let respawn = marks.get(&e.seq) == Some(&Mark::Respawn);
                let (class, fill, label) =
                    if respawn { ("spawn recovery", "#16a34a", "new incarnation") } else { ("spawn", "#374151", "") };
                let _ = writeln!(
                    svg,
                    r##"<g class="{class}" data-seq="{}">{title}<circle cx="{}" cy="{ry}" r="{DOT_R}" fill="{fill}"/><text x="{}" y="{}" fill="{fill}" font-weight="bold">{label}</text></g>"##,
                    e.seq,
                    x(*ep),
                    x(*ep) + DOT_R + TEXT_GAP / 2,
                    ry + BASELINE
                );
            }
            Kind::Crash { ep, .. } => {
                cross(&mut svg, e.seq, &title, (x(*ep), ry), ("crash", "#dc2626", 3), "crash");
            }
            Kind::Killed { ep, by } => {
                let word = format!("killed by {}", cast.name(*by));
                cross(&mut svg, e.seq, &title, (x(*ep), ry), ("killed", "#9a3412", 2), &word);
            }
            Kind::Exit { ep } => {
                let cx = x(*ep);
                let _ = writeln!(
                    svg,
                    r##"<g class="exit" data-seq="{}">{title}<rect x="{}" y="{}" width="{}" height="{}" fill="#374151"/><text x="{}" y="{}" fill="#374151">exit</text></g>"##,
                    e.seq,
                    cx - DOT_R,
                    ry - DOT_R / 2,
                    2 * DOT_R,
                    DOT_R,
                    cx + DOT_R + TEXT_GAP / 2,
                    ry + BASELINE
                );
            }
            Kind::Exec { ep, program } => {
                let _ = writeln!(
                    svg,
                    r##"<g class="exec" data-seq="{}">{title}<text x="{}" y="{}" fill="#374151">exec {}</text></g>"##,
                    e.seq,
                    x(*ep) + TEXT_GAP,
                    ry + BASELINE,
                    esc(program)
                );
            }
            Kind::Note { by, text } => {
                let frame = Frame { cast, incidents, width };
                note(&mut svg, &frame, e, &title, (x(*by), ry), *by, text);
            }
            Kind::Shutdown { reason, .. } => {
                let _ = writeln!(
                    svg,
                    r##"<g class="shutdown" data-seq="{}">{title}<rect x="{MARGIN}" y="{}" width="{}" height="{}" fill="#fee2e2" stroke="#dc2626"/><text x="{}" y="{}" fill="#991b1b" font-weight="bold">halt: {}</text></g>"##,
                    e.seq,
                    ry - ROW / 2 + MARGIN / 2,
                    width - 2 * MARGIN,
                    ROW - MARGIN,
                    MARGIN + TEXT_GAP,
                    ry + BASELINE,
                    esc(&short(reason))
                );
            }
            Kind::Unparsed(line) => {
                let _ = writeln!(
                    svg,
                    r##"<g class="unparsed" data-seq="{}">{title}<text x="{}" y="{}" fill="#6b7280">{}</text></g>"##,
                    e.seq,
                    MARGIN + TEXT_GAP,
                    ry + BASELINE,
                    esc(line.trim())
                );
            }
            Kind::Deliver { .. } | Kind::Reply { .. } | Kind::Alarm { .. } | Kind::Clear { .. } => {}
        }
        if marks.get(&e.seq) == Some(&Mark::Checkpoint)
            && let Some(i) = incidents.iter().find(|i| i.checkpoint == Some(e.seq))
        {
            let cx = x(i.ep);
            let call = i.record.call.as_ref().map_or(String::new(), |(c, _)| c.clone());
            let _ = writeln!(
                svg,
                r##"<g class="checkpoint" data-seq="{}">{title}<path d="M{cx} {} l0 -{} l{FLAG} {} l-{FLAG} {}" fill="#d97706" stroke="#92400e"/><text x="{}" y="{}" fill="#92400e" font-weight="bold">checkpoint, then {} takes {}</text></g>"##,
                e.seq,
                ry + BASELINE,
                FLAG + 2,
                FLAG / 3,
                FLAG / 3,
                cx + FLAG + 2,
                ry + BASELINE,
                esc(&i.server),
                esc(&call)
            );
        }
    }
    let _ = writeln!(
        svg,
        r##"<g class="run-end"><line x1="{MARGIN}" y1="{0}" x2="{1}" y2="{0}" stroke="#9ca3af"/><text x="{2}" y="{3}" fill="#6b7280">end of run: the kernel stops every process still there</text></g>"##,
        y(end_row),
        width - MARGIN,
        MARGIN + TEXT_GAP,
        y(end_row) + ROW / 2 + BASELINE
    );
    svg.push_str("</svg>\n");
    (svg, counts)
}

/// What a note needs to know of the chart around it.
struct Frame<'a> {
    cast: &'a Cast,
    incidents: &'a [Incident],
    width: i64,
}

/// A note box beside its writer's lifeline: rs's decision, another rs note, or a program's note.
fn note(svg: &mut String, frame: &Frame<'_>, e: &Entry, title: &str, (lx, ry): (i64, i64), by: Endpoint, text: &str) {
    let Frame { cast, incidents, width } = *frame;
    let (class, fill, stroke, label) = match incidents.iter().find(|i| i.decided == Some(e.seq)) {
        Some(i) => (
            "decision",
            "#fae8ff",
            "#a21caf",
            format!("decision: {} — {}", i.record.decision.label(), short(i.record.decision.reason())),
        ),
        None if by == RS => ("note rs-note", "#f3f4f6", "#9ca3af", short(text)),
        None => ("note", "#eff6ff", "#93c5fd", format!("{}: {}", cast.name(by), short(text))),
    };
    // Right of the writer's lifeline, or left of it when the chart's edge is near.
    let want = label.chars().count() as i64 * CHAR_W + 2 * NOTE_PAD;
    let right = width - (lx + TEXT_GAP) - MARGIN;
    let left = lx - TEXT_GAP - MARGIN;
    let (nx, w) = if want <= right || right >= left {
        (lx + TEXT_GAP, want.min(right).max(NOTE_MIN_W))
    } else {
        let w = want.min(left).max(NOTE_MIN_W);
        (lx - TEXT_GAP - w, w)
    };
    let fits = ((w - 2 * NOTE_PAD) / CHAR_W).max(1) as usize;
    let label = if label.chars().count() > fits {
        format!("{}…", label.chars().take(fits.saturating_sub(1)).collect::<String>())
    } else {
        label
    };
    let _ = writeln!(
        svg,
        r##"<g class="{class}" data-seq="{}">{title}<rect x="{nx}" y="{}" width="{w}" height="{}" rx="3" fill="{fill}" stroke="{stroke}"/><text x="{}" y="{}">{}</text></g>"##,
        e.seq,
        ry - ROW / 2 + MARGIN / 2,
        ROW - MARGIN,
        nx + NOTE_PAD,
        ry + BASELINE,
        esc(&label)
    );
}

//! The call graph of the crashed entry point, two ways.
//!
//! - From the static analysis: `samsara analyze` draws a graph per entry point (a cluster per
//!   component, the functions the request runs there with the fields each writes, fused IPC edges)
//!   as SVG, with its DOT text beside it; the command line hands both in ([`AnalysisGraph`]).
//! - From the recovery-class table alone ([`table_svg`]): the entry point, the requests it sends
//!   (its send sites) and, transitively, theirs, each with the fields it may write and its class —
//!   a picture that needs the table only.
//!
//! Neither needs a program the README did not ask for (no graphviz).

use crate::chart::esc;
use recovery::{RecoveryTable, TableRow};
use std::fmt::Write;

/// The analysis's graph of one entry point, as the command line hands it in.
#[derive(Clone, Debug)]
pub struct AnalysisGraph {
    /// Drawn, a standalone SVG document.
    pub svg: String,
    /// The same graph in DOT, for graphviz users.
    pub dot: String,
}

/// How deep the table graph follows send sites (an entry point's requests, theirs, and so on).
const MAX_DEPTH: usize = 4;
/// Width of a node box.
const NODE_W: i64 = 300;
/// Horizontal space between depths.
const GAP_X: i64 = 90;
/// Vertical space between nodes of one depth.
const GAP_Y: i64 = 18;
/// Height of a text line in a node.
const LINE_H: i64 = 14;
/// Padding inside a node.
const PAD: i64 = 8;
/// Fields a node lists at most before summarising.
const FIELDS_SHOWN: usize = 6;

struct Node<'a> {
    /// The entry point's row; `None` for a kernel call or a receiver the table does not list.
    row: Option<&'a TableRow>,
    depth: usize,
    lines: Vec<String>,
}

/// The entry point `server`/`m_type` and what it reaches through its send sites, drawn from the
/// table; `None` when the table has no row for it.
pub fn table_svg(table: &RecoveryTable, server: &str, m_type: i32) -> Option<String> {
    let root = table.lookup(server, m_type)?;
    let mut nodes: Vec<Node<'_>> = Vec::new();
    let mut edges: Vec<(usize, usize, String)> = Vec::new();
    let mut queue = vec![(root, 0usize, None::<(usize, String)>)];
    while let Some((row, depth, parent)) = queue.pop() {
        let existing =
            nodes.iter().position(|n| n.row.is_some_and(|r| r.server == row.server && r.m_type == row.m_type));
        let index = match existing {
            Some(i) => i,
            None => {
                nodes.push(Node { row: Some(row), depth, lines: node_lines(row) });
                nodes.len() - 1
            }
        };
        if let Some((from, label)) = parent {
            edges.push((from, index, label));
        }
        if existing.is_some() || depth >= MAX_DEPTH {
            continue;
        }
        for site in row.send_sites.iter().rev() {
            let label = format!("{} ({})", site.call, site.site);
            match table.lookup(&site.to, site.m_type) {
                Some(next) => queue.push((next, depth + 1, Some((index, label)))),
                None => {
                    // A kernel call or an unlisted receiver: a leaf of its own, once per call.
                    let first = format!("{} / {}", site.to, site.call);
                    if let Some(leaf) = nodes.iter().position(|n| n.row.is_none() && n.lines.first() == Some(&first)) {
                        if !edges.iter().any(|(f, t, _)| *f == index && *t == leaf) {
                            edges.push((index, leaf, label));
                        }
                        continue;
                    }
                    nodes.push(Node {
                        row: None,
                        depth: depth + 1,
                        lines: vec![first, format!("class {}", site.class)],
                    });
                    let leaf = nodes.len() - 1;
                    edges.push((index, leaf, label));
                }
            }
        }
    }
    // Layout: a column per depth, nodes stacked in discovery order.
    let mut column_y: Vec<i64> = vec![PAD; MAX_DEPTH + 2];
    let mut boxes: Vec<(i64, i64, i64)> = Vec::new();
    for n in &nodes {
        let h = n.lines.len() as i64 * LINE_H + 2 * PAD;
        let bx = PAD + n.depth as i64 * (NODE_W + GAP_X);
        let by = column_y[n.depth];
        column_y[n.depth] += h + GAP_Y;
        boxes.push((bx, by, h));
    }
    let width = PAD * 2 + (nodes.iter().map(|n| n.depth).max().unwrap_or(0) as i64 + 1) * (NODE_W + GAP_X);
    let height = column_y.iter().copied().max().unwrap_or(PAD) + PAD;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="call-graph" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="monospace" font-size="11">"#
    );
    svg.push_str(r##"<defs><marker id="graph-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#1d4ed8"/></marker></defs>"##);
    for (from, to, label) in &edges {
        let (fx, fy, fh) = boxes[*from];
        let (tx, ty, th) = boxes[*to];
        let (x1, y1, x2, y2) = (fx + NODE_W, fy + fh / 2, tx, ty + th / 2);
        let _ = write!(
            svg,
            r##"<g class="graph-edge"><path d="M{x1} {y1} C{} {y1} {} {y2} {x2} {y2}" fill="none" stroke="#1d4ed8" stroke-dasharray="5 3" marker-end="url(#graph-arrow)"/><text x="{}" y="{}" text-anchor="end" fill="#1d4ed8" font-size="10">{}</text></g>"##,
            x1 + GAP_X / 2,
            x2 - GAP_X / 2,
            x2 - 4,
            y2 - 4,
            esc(label.split(' ').next().unwrap_or(""))
        );
    }
    for (i, n) in nodes.iter().enumerate() {
        let (bx, by, h) = boxes[i];
        let class = n.lines.get(1).map_or("", |l| l.as_str());
        let fill = if class.contains("class G") {
            "#fee2e2"
        } else if class.contains("class P") {
            "#fef3c7"
        } else {
            "#dcfce7"
        };
        let stroke_w = if i == 0 { 3 } else { 1 };
        let _ = write!(
            svg,
            r##"<g class="graph-node"><rect x="{bx}" y="{by}" width="{NODE_W}" height="{h}" rx="6" fill="{fill}" stroke="#374151" stroke-width="{stroke_w}"/>"##
        );
        for (k, line) in n.lines.iter().enumerate() {
            let weight = if k == 0 { r#" font-weight="bold""# } else { "" };
            let _ = write!(
                svg,
                r#"<text x="{}" y="{}"{weight}>{}</text>"#,
                bx + PAD,
                by + PAD + (k as i64 + 1) * LINE_H - 3,
                esc(line)
            );
        }
        svg.push_str("</g>");
    }
    svg.push_str("</svg>\n");
    Some(svg)
}

fn node_lines(row: &TableRow) -> Vec<String> {
    let mut lines = vec![
        format!("{} / {}  ({})", row.server, row.call, row.handler),
        format!("class {} (own writes {})", row.class, row.local_class),
    ];
    let own: Vec<String> = row
        .fields
        .get(&row.server)
        .map(|f| f.iter().map(|(name, class)| format!("{name} ({class})")).collect())
        .unwrap_or_default();
    if own.is_empty() {
        lines.push("writes nothing".to_string());
    } else {
        for chunk in own.iter().take(FIELDS_SHOWN) {
            lines.push(format!("writes {chunk}"));
        }
        if own.len() > FIELDS_SHOWN {
            lines.push(format!("... and {} more", own.len() - FIELDS_SHOWN));
        }
    }
    if !row.depends_on.is_empty() {
        lines.push(format!("depends on {}", row.depends_on.join(", ")));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use recovery::{RecoveryClass, SendSite};
    use std::collections::BTreeMap;

    fn row(server: &str, m_type: i32, call: &str, class: RecoveryClass, sends: Vec<SendSite>) -> TableRow {
        TableRow {
            server: server.into(),
            m_type,
            call: call.into(),
            handler: format!("do_{call}"),
            depends_on: sends.iter().map(|s| s.to.clone()).collect(),
            writes: BTreeMap::new(),
            fields: BTreeMap::new(),
            local_class: class,
            send_sites: sends,
            unknown_effects: Vec::new(),
            class,
        }
    }

    #[test]
    fn the_table_graph_follows_send_sites_and_stops_at_cycles() {
        let send = |to: &str, m_type, call: &str| SendSite {
            to: to.into(),
            m_type,
            call: call.into(),
            class: RecoveryClass::G,
            site: "x.rs:1".into(),
            inverse: None,
        };
        let table = RecoveryTable {
            provenance: "test".into(),
            rows: vec![
                row("pm", 2, "fork", RecoveryClass::G, vec![send("vm", 3074, "vm_fork"), send("kernel", 0, "fork")]),
                row("vm", 3074, "vm_fork", RecoveryClass::G, vec![send("pm", 2, "fork")]),
            ],
        };
        let svg = table_svg(&table, "pm", 2).expect("a row");
        assert_eq!(svg.matches(r#"class="graph-node""#).count(), 3, "{svg}");
        assert_eq!(svg.matches(r#"class="graph-edge""#).count(), 3, "{svg}");
        assert!(svg.contains("pm / fork") && svg.contains("vm / vm_fork") && svg.contains("kernel / fork"));
        assert_eq!(table_svg(&table, "vfs", 1), None);
    }
}

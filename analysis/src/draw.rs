//! Graphs as pictures with no external tool: a small graph model (components as clusters,
//! functions as boxes, call and IPC edges) written both as DOT, for graphviz when one has it, and
//! as SVG laid out here.
//!
//! The layout is the fusing paper's picture of a request: one column per component, left to right
//! in the order the request reaches them (the entry point's server first, the kernel last), each
//! column's functions top to bottom in call order from its handlers. Edges are curves between box
//! sides: calls inside a component bend out to the column's right, IPC edges cross to the next
//! column with the message's name on them. Output is a pure function of the graph (no clock, no
//! machine), so the same analysis draws the same bytes.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;

/// How an edge is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum EdgeKind {
    /// A function call inside a component.
    Call,
    /// A request fused to the handler that receives it.
    Ipc,
    /// A kernel call.
    Kernel,
    /// A request no handler receives.
    Unhandled,
}

impl EdgeKind {
    fn colour(self) -> &'static str {
        match self {
            EdgeKind::Call => "#444444",
            EdgeKind::Ipc => "#1f5fbf",
            EdgeKind::Kernel => "#c0392b",
            EdgeKind::Unhandled => "#888888",
        }
    }

    fn dash(self) -> &'static str {
        match self {
            EdgeKind::Call => "",
            EdgeKind::Ipc | EdgeKind::Kernel => " stroke-dasharray=\"6 4\"",
            EdgeKind::Unhandled => " stroke-dasharray=\"2 3\"",
        }
    }

    fn dot_attributes(self) -> &'static str {
        match self {
            EdgeKind::Call => "",
            EdgeKind::Ipc => "style=dashed, color=blue",
            EdgeKind::Kernel => "style=dashed, color=red",
            EdgeKind::Unhandled => "style=dotted",
        }
    }

    const ALL: [EdgeKind; 4] = [EdgeKind::Call, EdgeKind::Ipc, EdgeKind::Kernel, EdgeKind::Unhandled];
}

/// A box: a function (or a kernel call, an unhandled message).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphNode {
    /// Unique in the graph (`pm:mx_pm_do_fork`).
    pub id: String,
    /// The component (cluster) it is drawn in.
    pub cluster: String,
    /// Its text, one entry per line.
    pub lines: Vec<String>,
    /// Drawn bold: a handler of the request.
    pub bold: bool,
    /// Drawn round: not a function (a kernel call).
    pub round: bool,
}

/// An arrow.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct GraphEdge {
    /// From this node's id.
    pub from: String,
    /// To this node's id.
    pub to: String,
    /// How it is drawn.
    pub kind: EdgeKind,
    /// Its label (the message's name), if any.
    pub label: Option<String>,
}

/// A graph to draw.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    /// Its name (a file stem).
    pub name: String,
    /// Its title.
    pub title: String,
    /// Components left to right.
    pub clusters: Vec<String>,
    /// Boxes, each in one of `clusters`.
    pub nodes: Vec<GraphNode>,
    /// Arrows between boxes.
    pub edges: BTreeSet<GraphEdge>,
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Font size of a box's text, pixels.
const FONT: i64 = 11;
/// Width of one character of the monospace font at `FONT`, pixels (a conservative 0.62 em).
const CHAR_W: i64 = 7;
/// Height of a text line, pixels.
const LINE_H: i64 = 14;
/// Padding inside a box, pixels.
const PAD: i64 = 7;
/// Vertical space between boxes of a column, pixels.
const GAP_Y: i64 = 26;
/// Horizontal space between columns: room for the IPC edges and their labels, pixels.
const GAP_X: i64 = 150;
/// Room for a column's own call edges, which bend out to its right, pixels.
const CALL_BEND: i64 = 34;
/// Space around the whole drawing and above the columns (title, cluster names), pixels.
const MARGIN: i64 = 16;
const HEADER: i64 = 58;
/// Characters a box line shows at most (longer lines end in an ellipsis).
const MAX_LINE: usize = 60;

/// Where a box is.
#[derive(Clone, Copy, Debug)]
struct Placed {
    x: i64,
    y: i64,
    w: i64,
    h: i64,
}

impl Graph {
    /// The graph in DOT, a cluster per component.
    pub fn dot(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "digraph \"{}\" {{", dot_escape(&self.name));
        let _ = writeln!(out, "  label=\"{}\";", dot_escape(&self.title));
        let _ = writeln!(out, "  labelloc=t; compound=true; node [shape=box, fontname=\"monospace\", fontsize=10];");
        for cluster in &self.clusters {
            let _ = writeln!(
                out,
                "  subgraph \"cluster_{}\" {{\n    label=\"{}\"; style=rounded;",
                dot_escape(cluster),
                dot_escape(cluster)
            );
            for n in self.nodes.iter().filter(|n| &n.cluster == cluster) {
                let label = n.lines.iter().map(|l| dot_escape(l)).collect::<Vec<_>>().join("\\n");
                let style = match (n.bold, n.round) {
                    (true, _) => ", style=bold",
                    (_, true) => ", shape=ellipse",
                    _ => "",
                };
                let _ = writeln!(out, "    \"{}\" [label=\"{label}\"{style}];", dot_escape(&n.id));
            }
            let _ = writeln!(out, "  }}");
        }
        for e in &self.edges {
            let mut attributes: Vec<String> = Vec::new();
            if !e.kind.dot_attributes().is_empty() {
                attributes.push(e.kind.dot_attributes().to_string());
            }
            if let Some(label) = &e.label {
                attributes.push(format!("label=\"{}\"", dot_escape(label)));
            }
            let attributes =
                if attributes.is_empty() { String::new() } else { format!(" [{}]", attributes.join(", ")) };
            let _ = writeln!(out, "  \"{}\" -> \"{}\"{attributes};", dot_escape(&e.from), dot_escape(&e.to));
        }
        let _ = writeln!(out, "}}");
        out
    }

    /// Each column's boxes in call order: breadth first from the boxes no call inside the column
    /// reaches (its handlers), then whatever is left, by id.
    fn column_order(&self, cluster: &str) -> Vec<usize> {
        let members: Vec<usize> = (0..self.nodes.len()).filter(|&i| self.nodes[i].cluster == cluster).collect();
        let index: BTreeMap<&str, usize> = members.iter().map(|&i| (self.nodes[i].id.as_str(), i)).collect();
        let mut callees: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        let mut called: BTreeSet<usize> = BTreeSet::new();
        for e in self.edges.iter().filter(|e| e.kind == EdgeKind::Call) {
            if let (Some(&a), Some(&b)) = (index.get(e.from.as_str()), index.get(e.to.as_str()))
                && a != b
            {
                callees.entry(a).or_default().push(b);
                called.insert(b);
            }
        }
        let mut roots: Vec<usize> = members.iter().copied().filter(|i| !called.contains(i)).collect();
        roots.sort_by_key(|&i| (!self.nodes[i].bold, self.nodes[i].id.clone()));
        let mut order = Vec::new();
        let mut seen = BTreeSet::new();
        let mut queue: VecDeque<usize> = roots.into_iter().collect();
        loop {
            while let Some(i) = queue.pop_front() {
                if seen.insert(i) {
                    order.push(i);
                    queue.extend(callees.get(&i).into_iter().flatten().copied());
                }
            }
            // A cycle with no root: start from its first box.
            match members.iter().find(|i| !seen.contains(i)) {
                Some(&i) => queue.push_back(i),
                None => break,
            }
        }
        order
    }

    /// The graph as a standalone SVG document.
    pub fn svg(&self) -> String {
        let mut placed: Vec<Option<Placed>> = vec![None; self.nodes.len()];
        let mut columns: Vec<(i64, i64, i64)> = Vec::new(); // x, width, bottom
        let mut x = MARGIN;
        for cluster in &self.clusters {
            let order = self.column_order(cluster);
            let text_w =
                |i: usize| self.nodes[i].lines.iter().map(|l| l.chars().count().min(MAX_LINE)).max().unwrap_or(1);
            let width = order.iter().map(|&i| text_w(i) as i64 * CHAR_W + 2 * PAD).max().unwrap_or(80).max(80);
            let mut y = MARGIN + HEADER;
            for &i in &order {
                let h = self.nodes[i].lines.len().max(1) as i64 * LINE_H + 2 * PAD;
                placed[i] = Some(Placed { x, y, w: width, h });
                y += h + GAP_Y;
            }
            columns.push((x, width, y));
            x += width + CALL_BEND + GAP_X;
        }
        let width = x - GAP_X + MARGIN;
        let height = columns.iter().map(|c| c.2).max().unwrap_or(MARGIN + HEADER) + MARGIN;
        let mut out = String::new();
        let _ = write!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"call-graph\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"monospace\" font-size=\"{FONT}\">"
        );
        out.push_str("<defs>");
        for kind in EdgeKind::ALL {
            let _ = write!(
                out,
                "<marker id=\"arrow-{kind:?}\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"{}\"/></marker>",
                kind.colour()
            );
        }
        out.push_str("</defs><rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
        let _ = write!(
            out,
            "<text x=\"{MARGIN}\" y=\"{}\" font-family=\"sans-serif\" font-size=\"15\" font-weight=\"bold\">{}</text>",
            MARGIN + 12,
            xml_escape(&self.title)
        );
        for (cluster, &(cx, cw, bottom)) in self.clusters.iter().zip(&columns) {
            let _ = write!(
                out,
                "<g class=\"cluster\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"10\" fill=\"#f5f7fa\" stroke=\"#9aa5b1\"/><text x=\"{}\" y=\"{}\" font-family=\"sans-serif\" font-size=\"13\" font-weight=\"bold\" fill=\"#34495e\">{}</text></g>",
                cx - 8,
                MARGIN + HEADER - 26,
                cw + 16,
                bottom - (MARGIN + HEADER) + 26 - GAP_Y + 10,
                cx,
                MARGIN + HEADER - 10,
                xml_escape(cluster)
            );
        }
        let at: BTreeMap<&str, usize> = self.nodes.iter().enumerate().map(|(i, n)| (n.id.as_str(), i)).collect();
        for e in &self.edges {
            let (Some(&a), Some(&b)) = (at.get(e.from.as_str()), at.get(e.to.as_str())) else { continue };
            let (Some(p), Some(q)) = (placed[a], placed[b]) else { continue };
            let (sx, sy, tx, ty, c1, c2, label_at);
            if p.x == q.x {
                // Inside a column: out of the right side and back, bending right.
                let bend = CALL_BEND.min(12 + (q.y - p.y).abs() / 8);
                (sx, sy, tx, ty) = (p.x + p.w, p.y + p.h / 2, q.x + q.w, q.y + q.h / 2);
                (c1, c2) = ((sx + bend, sy), (tx + bend, ty));
                label_at = (sx + bend, (sy + ty) / 2);
            } else {
                let rightwards = q.x > p.x;
                sx = if rightwards { p.x + p.w } else { p.x };
                tx = if rightwards { q.x } else { q.x + q.w };
                (sy, ty) = (p.y + p.h / 2, q.y + q.h / 2);
                let pull = (tx - sx).abs() / 2;
                let sign = if rightwards { 1 } else { -1 };
                (c1, c2) = ((sx + sign * pull, sy), (tx - sign * pull, ty));
                // In the gap before the target's column, where the curve runs level: an edge that
                // skips a column passes behind its boxes, its label must not.
                label_at = (tx - sign * GAP_X / 2, ty);
            }
            let _ = write!(
                out,
                "<path class=\"edge edge-{:?}\" d=\"M{sx},{sy} C{},{} {},{} {tx},{ty}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.4\"{} marker-end=\"url(#arrow-{:?})\"/>",
                e.kind,
                c1.0,
                c1.1,
                c2.0,
                c2.1,
                e.kind.colour(),
                e.kind.dash(),
                e.kind
            );
            if let Some(label) = &e.label {
                let _ = write!(
                    out,
                    "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-family=\"sans-serif\" font-size=\"10\" fill=\"{}\" stroke=\"white\" stroke-width=\"3\" paint-order=\"stroke\">{}</text>",
                    label_at.0,
                    label_at.1 - 4,
                    e.kind.colour(),
                    xml_escape(label)
                );
            }
        }
        for (n, p) in self.nodes.iter().zip(&placed) {
            let Some(p) = p else { continue };
            let (rx, stroke) = match (n.round, n.bold) {
                (true, _) => (p.h / 2, "1"),
                (_, true) => (3, "2.2"),
                _ => (3, "1"),
            };
            let _ = write!(
                out,
                "<g class=\"node\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"{rx}\" fill=\"white\" stroke=\"#222\" stroke-width=\"{stroke}\"/>",
                p.x, p.y, p.w, p.h
            );
            for (k, line) in n.lines.iter().enumerate() {
                let shown: String = if line.chars().count() > MAX_LINE {
                    line.chars().take(MAX_LINE - 1).chain(std::iter::once('…')).collect()
                } else {
                    line.clone()
                };
                let weight = if k == 0 && n.bold { " font-weight=\"bold\"" } else { "" };
                let _ = write!(
                    out,
                    "<text x=\"{}\" y=\"{}\"{weight}>{}</text>",
                    p.x + PAD,
                    p.y + PAD + LINE_H * (k as i64 + 1) - 3,
                    xml_escape(&shown)
                );
            }
            out.push_str("</g>");
        }
        out.push_str("</svg>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, cluster: &str, lines: &[&str], bold: bool) -> GraphNode {
        GraphNode {
            id: id.into(),
            cluster: cluster.into(),
            lines: lines.iter().map(|l| l.to_string()).collect(),
            bold,
            round: false,
        }
    }

    fn edge(from: &str, to: &str, kind: EdgeKind, label: Option<&str>) -> GraphEdge {
        GraphEdge { from: from.into(), to: to.into(), kind, label: label.map(String::from) }
    }

    fn fork() -> Graph {
        Graph {
            name: "pm.fork".into(),
            title: "fork at pm <do_fork>".into(),
            clusters: vec!["pm".into(), "vm".into(), "kernel".into()],
            nodes: vec![
                node("pm:do_fork", "pm", &["do_fork", "writes pm.procs (G)"], true),
                node("pm:alloc", "pm", &["alloc_slot"], false),
                node("vm:do_fork", "vm", &["vm_fork", "writes vm.spaces (P)"], true),
                GraphNode { round: true, ..node("kernel:fork", "kernel", &["fork"], false) },
            ],
            edges: [
                edge("pm:do_fork", "pm:alloc", EdgeKind::Call, None),
                edge("pm:do_fork", "vm:do_fork", EdgeKind::Ipc, Some("VM_FORK")),
                edge("vm:do_fork", "kernel:fork", EdgeKind::Kernel, None),
            ]
            .into_iter()
            .collect(),
        }
    }

    /// `(x, y, width, height)` of every box.
    fn boxes(svg: &str) -> Vec<(i64, i64, i64, i64)> {
        let attr = |tag: &str, name: &str| -> i64 {
            let at = tag.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
            tag[at..].split('"').next().unwrap().parse().unwrap()
        };
        svg.split("<g class=\"node\"><rect")
            .skip(1)
            .map(|t| (attr(t, "x"), attr(t, "y"), attr(t, "width"), attr(t, "height")))
            .collect()
    }

    #[test]
    fn every_box_edge_and_label_is_drawn_and_no_boxes_overlap() {
        let svg = fork().svg();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        let boxes = boxes(&svg);
        assert_eq!(boxes.len(), 4);
        for (i, a) in boxes.iter().enumerate() {
            for b in &boxes[i + 1..] {
                let apart = a.0 + a.2 <= b.0 || b.0 + b.2 <= a.0 || a.1 + a.3 <= b.1 || b.1 + b.3 <= a.1;
                assert!(apart, "boxes {a:?} and {b:?} overlap");
            }
        }
        assert_eq!(svg.matches("class=\"edge ").count(), 3);
        for text in ["do_fork", "writes pm.procs (G)", "VM_FORK", "kernel", "fork at pm &lt;do_fork&gt;"] {
            assert!(svg.contains(&format!(">{text}<")), "{text} is drawn: {svg}");
        }
        // Columns left to right: pm, vm, kernel; the handler above the function it calls.
        assert!(boxes[0].0 < boxes[2].0 && boxes[2].0 < boxes[3].0, "{boxes:?}");
        assert!(boxes[0].1 < boxes[1].1, "{boxes:?}");
    }

    #[test]
    fn the_dot_text_names_every_cluster_node_and_edge() {
        let dot = fork().dot();
        for part in [
            "subgraph \"cluster_vm\"",
            "\"pm:do_fork\" [label=\"do_fork\\nwrites pm.procs (G)\", style=bold];",
            "\"kernel:fork\" [label=\"fork\", shape=ellipse];",
            "\"pm:do_fork\" -> \"vm:do_fork\" [style=dashed, color=blue, label=\"VM_FORK\"];",
            "\"pm:do_fork\" -> \"pm:alloc\";",
        ] {
            assert!(dot.contains(part), "{part} in {dot}");
        }
    }
}

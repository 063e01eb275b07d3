//! What people and scripts read: the table in the shape of the fusing paper's Table 4, the fusing
//! statistics of its Tables 1-3, per entry point call graphs (clustered by component, like its
//! figures) drawn as SVG here and written as DOT too, and everything as JSON.
//!
//! Invariant: every output is a pure function of the analysis (sorted, no clocks, no paths of the
//! machine it ran on), so two runs on the same source print the same bytes.

use crate::Analysis;
use crate::classify::{EntryPoint, KERNEL_COMPONENT};
use crate::draw::{EdgeKind, Graph, GraphEdge, GraphNode};
use crate::fuse::{Edge, Node, Target};
use crate::stats::Statistics;
use recovery::{RecoveryTable, StateClass};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

/// Where `samsara analyze` writes its graphs unless told otherwise.
pub const DEFAULT_GRAPH_DIR: &str = "target/analysis";

fn class_letter(c: StateClass) -> &'static str {
    match c {
        StateClass::RequestLocal => "R",
        StateClass::ProcessLocal => "P",
        StateClass::Global => "G",
    }
}

/// The table as text, in the shape of the paper's Table 4: per entry point and component, the
/// written fields counted by class. Every column is as wide as its widest cell, so none overflows
/// into the next (the last, the send sites, runs free).
pub fn table_text(table: &RecoveryTable) -> String {
    const HEADER: [&str; COLUMNS] = [
        "system call",
        "entry point",
        "module",
        "depends on",
        "request-local",
        "process-local",
        "global",
        "class",
        "sends",
    ];
    // Counts are right-aligned, names left-aligned.
    const RIGHT: [bool; COLUMNS] = [false, false, false, false, true, true, true, false, false];
    const COLUMNS: usize = 9;

    // Lines of cells per server, in table order.
    let mut sections: Vec<(&str, Vec<[String; COLUMNS]>)> = Vec::new();
    for row in &table.rows {
        if sections.last().is_none_or(|(server, _)| *server != row.server) {
            sections.push((&row.server, Vec::new()));
        }
        let lines = &mut sections.last_mut().expect("pushed above").1;
        let depends = if row.depends_on.is_empty() { "-".to_string() } else { row.depends_on.join(", ") };
        let mut sends: Vec<String> = Vec::new();
        for s in &row.send_sites {
            let text = format!("{}->{} ({})", s.call, s.to, s.class);
            if !sends.contains(&text) {
                sends.push(text);
            }
        }
        let sends = if sends.is_empty() { "-".to_string() } else { sends.join(", ") };
        let mut components: Vec<&String> = row.writes.keys().collect();
        // The server itself first, then the components it depends on.
        components.sort_by_key(|c| (**c != row.server, (*c).clone()));
        for (i, component) in components.iter().enumerate() {
            let counts = &row.writes[*component];
            let first = i == 0;
            let only_first = |text: &str| if first { text.to_string() } else { String::new() };
            lines.push([
                only_first(&row.call),
                only_first(&row.handler),
                component.to_string(),
                only_first(&depends),
                counts.request_local.to_string(),
                counts.process_local.to_string(),
                counts.global.to_string(),
                only_first(&row.class.to_string()),
                only_first(&sends),
            ]);
        }
    }

    let mut widths = HEADER.map(str::len);
    for line in sections.iter().flat_map(|(_, lines)| lines) {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let format_line = |cells: [&str; COLUMNS]| {
        let mut text = String::new();
        for (column, cell) in cells.iter().enumerate() {
            if column > 0 {
                text.push_str("  ");
            }
            let width = if column + 1 == COLUMNS { 0 } else { widths[column] };
            let _ = if RIGHT[column] { write!(text, "{cell:>width$}") } else { write!(text, "{cell:<width$}") };
        }
        text.trim_end().to_string()
    };

    let mut out = String::new();
    let _ = writeln!(out, "Recovery-class table ({} entry points; the fusing paper's Table 4)", table.rows.len());
    let _ = writeln!(out, "{}", table.provenance);
    let header = format_line(HEADER);
    for (server, lines) in &sections {
        let _ = writeln!(out, "\n[{server}]\n{header}");
        for line in lines {
            let _ = writeln!(out, "{}", format_line(line.each_ref().map(String::as_str)));
        }
    }
    out
}

fn yes(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}

/// The statistics as text (the paper's Tables 1-3).
pub fn stats_text(s: &Statistics) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "Fusing statistics (the fusing paper's Tables 1-3)");
    let _ = writeln!(
        w,
        "  source                          {} files under os/src, {} of servers and shared code ({}); {} functions in the fused program, {} call edges, {} calls through function values (each to every address-taken function of its signature)",
        s.source.files,
        s.source.analysed_files,
        s.source.digest,
        s.source.functions,
        s.source.call_edges,
        s.source.function_value_calls
    );
    let roles: BTreeMap<String, Vec<&String>> = s.source.components.iter().fold(BTreeMap::new(), |mut m, (c, r)| {
        m.entry(format!("{r:?}").to_lowercase()).or_insert_with(Vec::new).push(c);
        m
    });
    for (role, cs) in &roles {
        let names: Vec<&str> = cs.iter().map(|c| c.as_str()).collect();
        let _ = writeln!(w, "  components: {role:<20} {}", names.join(", "));
    }
    let _ = writeln!(w, "Send side (Table 1)");
    let out_of_scope: Vec<String> = s.send.out_of_scope_sites.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let _ = writeln!(
        w,
        "  request primitives              {} (by effect: each delivers to a receive loop; out of scope, answers to a waiting sendrec: {})",
        s.send.request_primitives.join(", "),
        if out_of_scope.is_empty() { "none".into() } else { out_of_scope.join(", ") }
    );
    let _ = writeln!(w, "  send-primitive callers          {}", s.send.callers);
    let _ = writeln!(
        w,
        "  call sites                      {} ({} IPC, {} kernel calls)",
        s.send.call_sites, s.send.ipc_call_sites, s.send.kernel_call_sites
    );
    let _ = writeln!(
        w,
        "  target call sites (inlined)     {} ({} through inlined callers)",
        s.send.contexts, s.send.inlined_contexts
    );
    let _ = writeln!(
        w,
        "  IPC destinations                {} constant, {} decided at run time",
        s.send.constant_destinations, s.send.runtime_destinations
    );
    let _ = writeln!(
        w,
        "  message types resolved          {} of {}: requests and kernel calls {} of {} = {:.1}% (target >= {:.0}%: {}); by effect {} of {}",
        s.send.m_types_resolved,
        s.send.contexts,
        s.send.request_contexts.1,
        s.send.request_contexts.0,
        s.send.m_types_resolved_percent,
        s.targets.m_type_percent_min,
        yes(s.targets.m_type_met),
        s.send.by_effect_contexts.1,
        s.send.by_effect_contexts.0
    );
    for u in &s.send.unresolved {
        let _ = writeln!(w, "    unresolved: {u}");
    }
    let _ = writeln!(w, "Receive side (Table 2)");
    for l in &s.receive.loops {
        let _ = writeln!(
            w,
            "  receive loop                    {} ({}; run by {})",
            l.function,
            l.kind,
            l.servers.join(", ")
        );
    }
    let _ = writeln!(w, "  receive-loop clones             {}", s.receive.clones);
    let tables: Vec<String> = s
        .receive
        .servers
        .iter()
        .map(|sv| format!("{} {} (slot {})", sv.name, sv.entry_points, sv.slot.map_or("-".into(), |x| x.to_string())))
        .collect();
    let _ = writeln!(w, "  dispatch tables (entry points)  {} = {}", tables.join(", "), s.receive.entry_points);
    let _ = writeln!(w, "Fusing (Table 3)");
    let _ = writeln!(
        w,
        "  IPC contexts fused              {}: {} to exact destinations ({} of them through the message type: a run-time destination), {} to several, {} to no handler",
        s.fusing.ipc_contexts, s.fusing.exact, s.fusing.exact_by_type, s.fusing.multiple, s.fusing.no_handler
    );
    let _ = writeln!(
        w,
        "    requests (sendrec, asynsend)  {}: {} exact = {:.1}% (target >= {:.0}%: {})",
        s.fusing.request_contexts,
        s.fusing.request_exact,
        s.fusing.exact_percent,
        s.targets.exact_percent_min,
        yes(s.targets.exact_met)
    );
    let _ = writeln!(
        w,
        "    by effect (send, sendnb, senda, notify) {}: {} exact",
        s.fusing.by_effect_contexts, s.fusing.by_effect_exact
    );
    for m in &s.fusing.multiple_sites {
        let _ = writeln!(w, "    several: {m}");
    }
    for n in &s.fusing.no_handler_sites {
        let _ = writeln!(w, "    no handler: {n}");
    }
    let _ = writeln!(w, "  kernel-call contexts            {}", s.fusing.kernel);
    let _ = writeln!(w, "State writes");
    let _ = writeln!(
        w,
        "  tracked fields                  {}; mutator calls {} ({} identified by name only, over-approximated)",
        s.writes.tracked_fields, s.writes.write_sites, s.writes.approximate_write_sites
    );
    if !s.writes.direct_kernel_calls.is_empty() {
        let _ = writeln!(
            w,
            "  kernel calls outside ctx.kernel {} (not recorded in the recovery window):",
            s.writes.direct_kernel_calls.len()
        );
        for d in &s.writes.direct_kernel_calls {
            let _ = writeln!(w, "    {d}");
        }
    }
    let _ = writeln!(w, "Not followed (each makes the entry points running it class G, naming it)");
    let mut by_kind: BTreeMap<&str, Vec<&crate::stats::NotFollowedSite>> = BTreeMap::new();
    for n in &s.not_followed {
        by_kind.entry(n.kind.as_str()).or_default().push(n);
    }
    if by_kind.is_empty() {
        let _ = writeln!(w, "  nothing: every construct in the fused program was followed");
    }
    for (kind, sites) in &by_kind {
        let _ = writeln!(w, "  {kind:<31} {}", sites.len());
        for n in sites {
            let within = if n.within.is_empty() { String::new() } else { format!(" in {}", n.within) };
            let _ = writeln!(w, "    {}: {}{within}", n.site, n.what);
        }
    }
    out
}

fn file_stem(e: &EntryPoint) -> String {
    let call: String = e.call.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    format!("{}.{call}", e.server)
}

/// One entry point's call graph: a cluster per component, the functions it runs there (with the
/// fields each writes), call edges, fused IPC edges and kernel calls.
pub fn entry_graph(a: &Analysis, entry: usize) -> Graph {
    let e = &a.entries[entry];
    let mut involved: Vec<usize> = vec![entry];
    involved.extend(e.closure.iter().copied().filter(|&r| r != entry));
    // Nodes per server copy: shared code appears in each server that runs it.
    let mut clusters: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    for &i in &involved {
        clusters.entry(a.entries[i].server.clone()).or_default().extend(a.entries[i].reach.iter().copied());
    }
    let id = |server: &str, f: usize| format!("{server}:{}", a.names.of(f));
    let mut graph = Graph {
        name: file_stem(e),
        title: format!("{} at {} ({}): class {}", e.call, e.server, a.names.of(e.handler), e.class),
        ..Graph::default()
    };
    let handlers: BTreeSet<(String, usize)> =
        involved.iter().map(|&i| (a.entries[i].server.clone(), a.entries[i].handler)).collect();
    for (server, fns) in &clusters {
        for &f in fns {
            let mut lines = vec![a.names.of(f).to_string()];
            let mut written: BTreeSet<String> = BTreeSet::new();
            for wr in &a.facts[f].writes {
                for &field in &wr.fields {
                    let class = match wr.class {
                        crate::tracked::WriteClass::Declared => a.tracked.fields[field].class,
                        crate::tracked::WriteClass::Fixed(c) => c,
                    };
                    written.insert(format!("{} ({})", a.tracked.fields[field].name, class_letter(class)));
                }
            }
            if !written.is_empty() {
                lines.push(format!("writes {}", written.into_iter().collect::<Vec<_>>().join(", ")));
            }
            graph.nodes.push(GraphNode {
                id: id(server, f),
                cluster: server.clone(),
                lines,
                bold: handlers.contains(&(server.clone(), f)),
                round: false,
            });
        }
    }
    for (server, fns) in &clusters {
        for &f in fns {
            let Some(&from) = a.fusion.node_of.get(&f) else { continue };
            for edge in a.fusion.graph.edges(from) {
                use petgraph::visit::EdgeRef;
                if let (Edge::Call, Node::Fn(g)) = (edge.weight(), &a.fusion.graph[edge.target()])
                    && fns.contains(g)
                {
                    graph.edges.insert(GraphEdge {
                        from: id(server, f),
                        to: id(server, *g),
                        kind: EdgeKind::Call,
                        label: None,
                    });
                }
            }
        }
    }
    let mut extra_nodes: BTreeMap<String, GraphNode> = BTreeMap::new();
    // Components in the order the request reaches them.
    let mut reached: Vec<String> = vec![e.server.clone()];
    for &i in &involved {
        let ep = &a.entries[i];
        for &c in &ep.contexts {
            let fused = &a.fusion.fused[c];
            let site = &a.fusion.sites[fused.site];
            let from = id(&ep.server, site.f);
            for t in &fused.targets {
                match t {
                    Target::Handler { server, handler, m_type } => {
                        let name = a
                            .entries
                            .iter()
                            .find(|x| x.server == *server && x.m_type == *m_type)
                            .map_or("?", |x| &x.const_name);
                        if !reached.contains(server) {
                            reached.push(server.clone());
                        }
                        let to = id(server, *handler);
                        graph.edges.insert(GraphEdge {
                            from: from.clone(),
                            to,
                            kind: EdgeKind::Ipc,
                            label: Some(name.to_string()),
                        });
                    }
                    Target::Kernel { call, .. } => {
                        let to = format!("{KERNEL_COMPONENT}:{call}");
                        extra_nodes.entry(to.clone()).or_insert_with(|| GraphNode {
                            id: to.clone(),
                            cluster: KERNEL_COMPONENT.to_string(),
                            lines: vec![call.clone()],
                            bold: false,
                            round: true,
                        });
                        graph.edges.insert(GraphEdge { from: from.clone(), to, kind: EdgeKind::Kernel, label: None });
                    }
                    Target::Unhandled { server, m_type } => {
                        let to = format!("{server}:unhandled {m_type:#x}");
                        extra_nodes.entry(to.clone()).or_insert_with(|| GraphNode {
                            id: to.clone(),
                            cluster: server.clone(),
                            lines: vec![format!("unhandled {m_type:#x}")],
                            bold: false,
                            round: true,
                        });
                        graph.edges.insert(GraphEdge {
                            from: from.clone(),
                            to,
                            kind: EdgeKind::Unhandled,
                            label: None,
                        });
                    }
                    Target::NotAServer { .. } => {}
                }
            }
        }
    }
    graph.nodes.extend(extra_nodes.into_values());
    let mut all: BTreeSet<String> = graph.nodes.iter().map(|n| n.cluster.clone()).collect();
    all.remove(KERNEL_COMPONENT);
    graph.clusters = reached.into_iter().filter(|c| all.remove(c)).collect();
    graph.clusters.extend(all);
    if graph.nodes.iter().any(|n| n.cluster == KERNEL_COMPONENT) {
        graph.clusters.push(KERNEL_COMPONENT.to_string());
    }
    graph
}

/// One entry point's call graph in DOT.
pub fn entry_dot(a: &Analysis, entry: usize) -> String {
    entry_graph(a, entry).dot()
}

/// What writing the graphs did.
#[derive(Clone, Debug, Serialize)]
pub struct GraphOutput {
    /// The directory.
    pub dir: String,
    /// The graphs written (file stems in `dir`: each has a `.dot` and an `.svg`).
    pub graphs: Vec<String>,
}

/// Writes every entry point's graph to `dir` as `SERVER.CALL.svg`, drawn here, and
/// `SERVER.CALL.dot` for graphviz users.
pub fn write_graphs(a: &Analysis, dir: &Path) -> std::io::Result<GraphOutput> {
    std::fs::create_dir_all(dir)?;
    let mut graphs = Vec::new();
    for i in 0..a.entries.len() {
        let graph = entry_graph(a, i);
        std::fs::write(dir.join(format!("{}.dot", graph.name)), graph.dot())?;
        std::fs::write(dir.join(format!("{}.svg", graph.name)), graph.svg())?;
        graphs.push(graph.name);
    }
    Ok(GraphOutput { dir: dir.display().to_string(), graphs })
}

/// Everything `samsara analyze --json` prints.
#[derive(Serialize)]
pub struct JsonReport<'a> {
    /// The table.
    pub table: &'a RecoveryTable,
    /// The statistics.
    pub statistics: &'a Statistics,
    /// The send sites, each with its contexts and what they reach.
    pub send_sites: Vec<JsonSite>,
    /// The graphs written, if any.
    pub graphs: Option<&'a GraphOutput>,
    /// Whether the table files were written.
    pub table_written: bool,
    /// Warnings.
    pub warnings: &'a [String],
}

/// One send site in the JSON report.
#[derive(Serialize)]
pub struct JsonSite {
    /// `file:line`.
    pub site: String,
    /// The function holding it.
    pub function: String,
    /// The primitive.
    pub primitive: crate::body::Primitive,
    /// Its contexts.
    pub contexts: Vec<JsonContext>,
}

/// One context in the JSON report.
#[derive(Serialize)]
pub struct JsonContext {
    /// The inlined callers, innermost first.
    pub inlined: Vec<String>,
    /// Destination candidates (constant names).
    pub destinations: Vec<String>,
    /// Message-type candidates (constant names).
    pub message_types: Vec<String>,
    /// Why something is decided at run time.
    pub runtime: Vec<String>,
    /// How it was fused.
    pub fusing: crate::fuse::Fusing,
    /// What it reaches.
    pub targets: Vec<Target>,
}

/// The send sites for the JSON report.
pub fn json_sites(a: &Analysis) -> Vec<JsonSite> {
    a.fusion
        .sites
        .iter()
        .map(|s| JsonSite {
            site: s.site.clone(),
            function: a.names.of(s.f).to_string(),
            primitive: s.send.primitive,
            contexts: s
                .contexts
                .iter()
                .map(|&c| {
                    let fused = &a.fusion.fused[c];
                    JsonContext {
                        inlined: fused.context.chain.iter().map(|(g, _)| a.names.of(*g).to_string()).collect(),
                        destinations: fused.context.dst.consts.iter().map(|(_, n)| n.clone()).collect(),
                        message_types: fused.context.m_type.consts.iter().map(|(_, n)| n.clone()).collect(),
                        runtime: fused
                            .context
                            .dst
                            .runtime
                            .iter()
                            .chain(&fused.context.m_type.runtime)
                            .cloned()
                            .collect(),
                        fusing: fused.fusing,
                        targets: fused.targets.clone(),
                    }
                })
                .collect(),
        })
        .collect()
}

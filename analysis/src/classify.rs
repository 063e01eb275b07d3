//! Write sets and classification: per entry point (server, message type), what every component
//! may write while handling it, and so its recovery class - the recovery-class table.
//!
//! - A function's own writes are its calls of container mutators, each with its effective class
//!   (the field's declared class, or the accessor's fixed class: `*_own` process-local, `*_global`
//!   global). A `&mut` obtained from a mutator (`get_mut`, `get_own_mut`...) is the write: the
//!   container counts it there, whatever is done through the reference afterwards.
//! - An entry point's *local* writes are those of every function its handler reaches by calls
//!   inside its server (helpers in other files, methods of the state, closures, shared code).
//! - Its *send sites* are the contexts of sends those functions make (a context counts when the
//!   entry point reaches its outermost inlined caller). Each site's class is the class of the
//!   entry points it is fused to (transitively: what the receiver's own sends reach counts too);
//!   a kernel call is global when it changes kernel state; a request nobody handles changes
//!   nothing.
//! - The entry point's class is the worst of its local class and its sites' classes; its written
//!   fields per component are the union over everything it reaches.
//!
//! Invariant (the table's): a row's `class` is the worst class over every component it may write,
//! and a site's `class` the worst its receiver may write, transitively. Write sets are computed as
//! a fixpoint over the entry-point graph, so cycles of requests (a reaches b reaches a) are sound.

use crate::body::Facts;
use crate::components::{Components, ServerDef};
use crate::fuse::{Edge, Fusion, Target};
use crate::index::{FnId, Index};
use crate::names::Names;
use crate::tracked::{Tracked, WriteClass};
use petgraph::visit::{Dfs, EdgeFiltered};
use recovery::{ClassCounts, RecoveryClass, RecoveryTable, SendSite, StateClass, TableRow};
use std::collections::{BTreeMap, BTreeSet};

/// Where kernel calls go, in the table's `to`.
pub const KERNEL_COMPONENT: &str = "kernel";
/// Where requests to user processes go, in the table's `to`.
pub const USER_COMPONENT: &str = "user";

/// One entry point and what it may do.
#[derive(Clone)]
pub struct EntryPoint {
    /// The server.
    pub server: String,
    /// Its component.
    pub component: String,
    /// The message type.
    pub m_type: i128,
    /// The call's name in the table.
    pub call: String,
    /// The type's constant (`PM_FORK`).
    pub const_name: String,
    /// The handler.
    pub handler: FnId,
    /// The functions it runs in its own server.
    pub reach: BTreeSet<FnId>,
    /// Its own writes: (field, effective class) -> sites.
    pub local: BTreeMap<(usize, StateClass), BTreeSet<String>>,
    /// The contexts it sends (indices in the fusion's contexts).
    pub contexts: Vec<usize>,
    /// The entry points its sends reach directly.
    pub receivers: BTreeSet<usize>,
    /// Every entry point its sends reach, transitively.
    pub closure: BTreeSet<usize>,
    /// Every (field, effective class) it may write, its own and its receivers'.
    pub writes: BTreeSet<(usize, StateClass)>,
    /// What it runs that the analysis does not follow (`kind: what at file:line`): unknown
    /// effects, which make it class G.
    pub unknown: BTreeSet<String>,
    /// The worst class of its own writes (R when it writes nothing).
    pub local_class: RecoveryClass,
    /// Its class.
    pub class: RecoveryClass,
}

fn effective(tracked: &Tracked, field: usize, class: WriteClass) -> StateClass {
    match class {
        WriteClass::Declared => tracked.fields[field].class,
        WriteClass::Fixed(c) => c,
    }
}

fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, ch) in name.chars().enumerate() {
        if ch.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(ch.to_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

/// The table's name of a kernel call (`kernel_exec`).
pub fn kernel_call_name(variant: &str) -> String {
    format!("kernel_{}", snake(variant))
}

/// Every entry point of every server, classified.
pub fn entry_points(
    index: &Index,
    tracked: &Tracked,
    components: &Components,
    facts: &[Facts],
    fusion: &Fusion,
) -> Vec<EntryPoint> {
    let mut entries: Vec<EntryPoint> = Vec::new();
    let mut by_key: BTreeMap<(String, i128), usize> = BTreeMap::new();
    let calls_only = EdgeFiltered::from_fn(&fusion.graph, |e| *e.weight() == Edge::Call);
    for server in &components.servers {
        for call in &server.calls {
            let mut reach = BTreeSet::new();
            if let Some(&start) = fusion.node_of.get(&call.handler) {
                let mut dfs = Dfs::new(&calls_only, start);
                while let Some(n) = dfs.next(&calls_only) {
                    if let crate::fuse::Node::Fn(f) = fusion.graph[n] {
                        reach.insert(f);
                    }
                }
            }
            let mut local: BTreeMap<(usize, StateClass), BTreeSet<String>> = BTreeMap::new();
            for &f in &reach {
                let file = &index.src.modules[index.fns[f].module].file;
                for w in &facts[f].writes {
                    for &field in &w.fields {
                        let key = (field, effective(tracked, field, w.class));
                        local.entry(key).or_default().insert(format!("{file}:{}", w.pos.0));
                    }
                }
            }
            let contexts: Vec<usize> = (0..fusion.fused.len())
                .filter(|&c| {
                    let site = &fusion.sites[fusion.fused[c].site];
                    reach.contains(&site.f) && reach.contains(&fusion.fused[c].context.anchor)
                })
                .collect();
            let mut unknown = BTreeSet::new();
            for &f in &reach {
                let module = index.fns[f].module;
                let file = &index.src.modules[module].file;
                for n in &facts[f].not_followed {
                    unknown.insert(format!("{}: {} at {file}:{}", n.kind, n.what, n.pos.0));
                }
            }
            // Item macros not expanded in code it runs or in its own server: what they define is unknown.
            let reached: BTreeSet<String> = reach.iter().map(|&f| index.component(index.fns[f].module)).collect();
            for (m, name, line) in &index.src.unexpanded_items {
                let component = index.component(*m);
                if component == server.component || reached.contains(&component) {
                    let file = &index.src.modules[*m].file;
                    unknown.insert(format!("macro: {name}! items (not expanded) at {file}:{line}"));
                }
            }
            let local_class = local.keys().map(|(_, c)| RecoveryClass::of(*c)).max().unwrap_or(RecoveryClass::R);
            by_key.insert((server.name.clone(), call.m_type), entries.len());
            entries.push(EntryPoint {
                server: server.name.clone(),
                component: server.component.clone(),
                m_type: call.m_type,
                call: call.call.clone(),
                const_name: call.const_name.clone(),
                handler: call.handler,
                reach,
                local,
                contexts,
                unknown,
                receivers: BTreeSet::new(),
                closure: BTreeSet::new(),
                writes: BTreeSet::new(),
                local_class,
                class: local_class,
            });
        }
    }
    // Direct receivers and kernel effects.
    // Unknown effects make the entry point G, but not its local class: the recovery policy takes
    // the server's own writes as undone by the rollback, which an unknown effect may not be.
    let mut own_class: Vec<RecoveryClass> =
        entries.iter().map(|e| if e.unknown.is_empty() { e.local_class } else { RecoveryClass::G }).collect();
    for (i, e) in entries.iter_mut().enumerate() {
        for &c in &e.contexts {
            for t in &fusion.fused[c].targets {
                match t {
                    Target::Handler { server, m_type, .. } => {
                        if let Some(&r) = by_key.get(&(server.clone(), *m_type)) {
                            e.receivers.insert(r);
                        }
                    }
                    Target::Kernel { changes_state: true, .. } => own_class[i] = RecoveryClass::G,
                    _ => {}
                }
            }
        }
    }
    // Transitive closure of receivers and the classes: a fixpoint (request cycles are allowed).
    for i in 0..entries.len() {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<usize> = entries[i].receivers.iter().copied().collect();
        while let Some(r) = todo.pop() {
            if seen.insert(r) {
                todo.extend(entries[r].receivers.iter().copied());
            }
        }
        entries[i].closure = seen;
    }
    for i in 0..entries.len() {
        let mut writes: BTreeSet<(usize, StateClass)> = entries[i].local.keys().copied().collect();
        let mut class = own_class[i];
        for &r in &entries[i].closure {
            writes.extend(entries[r].local.keys().copied());
            class = class.max(own_class[r]);
        }
        entries[i].writes = writes;
        entries[i].class = class;
    }
    entries
}

/// Written (field, class) pairs counted by class: a field written both process-locally and
/// globally counts once in each column, as the paper counts each modified global per class.
fn counts(writes: &BTreeSet<(usize, StateClass)>) -> ClassCounts {
    let mut c = ClassCounts::default();
    for &(_, class) in writes {
        match class {
            StateClass::RequestLocal => c.request_local += 1,
            StateClass::ProcessLocal => c.process_local += 1,
            StateClass::Global => c.global += 1,
        }
    }
    c
}

/// The recovery-class table of `entries`.
pub fn table(
    tracked: &Tracked,
    components: &Components,
    fusion: &Fusion,
    entries: &[EntryPoint],
    names: &Names,
    provenance: String,
) -> RecoveryTable {
    let by_key: BTreeMap<(&str, i128), &EntryPoint> =
        entries.iter().map(|e| ((e.server.as_str(), e.m_type), e)).collect();
    let server_of_component: BTreeMap<&str, &ServerDef> =
        components.servers.iter().map(|s| (s.component.as_str(), s)).collect();
    let mut rows = Vec::new();
    for e in entries {
        let mut per_component: BTreeMap<String, BTreeSet<(usize, StateClass)>> = BTreeMap::new();
        per_component.entry(e.server.clone()).or_default();
        for &(field, class) in &e.writes {
            let component = &tracked.fields[field].component;
            let name = server_of_component.get(component.as_str()).map_or(component.clone(), |s| s.name.clone());
            per_component.entry(name).or_default().insert((field, class));
        }
        let writes = per_component.iter().map(|(c, w)| (c.clone(), counts(w))).collect();
        let fields = per_component
            .iter()
            .map(|(c, w)| {
                let mut list: Vec<(String, StateClass)> =
                    w.iter().map(|&(f, class)| (tracked.fields[f].name.clone(), class)).collect();
                list.sort();
                (c.clone(), list)
            })
            .collect();
        let mut depends_on: Vec<String> =
            e.closure.iter().map(|&r| entries[r].server.clone()).filter(|s| *s != e.server).collect();
        depends_on.sort();
        depends_on.dedup();
        let mut send_sites: Vec<(String, i32, SendSite)> = Vec::new();
        for &c in &e.contexts {
            let fused = &fusion.fused[c];
            let site = &fusion.sites[fused.site].site;
            for t in &fused.targets {
                let s = match t {
                    Target::Handler { server, m_type, .. } => {
                        let receiver = by_key[&(server.as_str(), *m_type)];
                        SendSite {
                            to: server.clone(),
                            m_type: *m_type as i32,
                            call: receiver.call.clone(),
                            class: receiver.class,
                            site: site.clone(),
                            inverse: None,
                        }
                    }
                    Target::Unhandled { server, m_type } => {
                        let name = fused
                            .context
                            .m_type
                            .consts
                            .iter()
                            .find(|(v, _)| v == m_type)
                            .map_or_else(|| format!("{m_type:#x}"), |(_, n)| n.to_lowercase());
                        SendSite {
                            to: server.clone(),
                            m_type: *m_type as i32,
                            call: name,
                            class: RecoveryClass::R,
                            site: site.clone(),
                            inverse: None,
                        }
                    }
                    Target::NotAServer { .. } => continue,
                    Target::Kernel { code, .. } if *code < 0 => continue,
                    Target::Kernel { call, code, changes_state } => SendSite {
                        to: KERNEL_COMPONENT.into(),
                        m_type: *code as i32,
                        call: kernel_call_name(call),
                        class: if *changes_state { RecoveryClass::G } else { RecoveryClass::R },
                        site: site.clone(),
                        inverse: None,
                    },
                };
                send_sites.push((site.clone(), s.m_type, s));
            }
        }
        send_sites
            .sort_by(|a, b| site_order(&a.0).cmp(&site_order(&b.0)).then(a.1.cmp(&b.1)).then(a.2.to.cmp(&b.2.to)));
        send_sites.dedup_by(|a, b| a.2 == b.2);
        let send_sites: Vec<SendSite> = send_sites.into_iter().map(|(_, _, s)| s).collect();
        // The table's invariant: the row's class is the worst of its own, its unknown effects' (G)
        // and its sites' classes.
        let unknown_class = if e.unknown.is_empty() { RecoveryClass::R } else { RecoveryClass::G };
        let class = send_sites.iter().map(|s| s.class).fold(e.local_class.max(unknown_class), RecoveryClass::max);
        assert_eq!(class, e.class, "{}/{}: the row's class agrees with the write-set fixpoint", e.server, e.call);
        rows.push(TableRow {
            server: e.server.clone(),
            m_type: e.m_type as i32,
            call: e.call.clone(),
            handler: names.of(e.handler).to_string(),
            depends_on,
            writes,
            fields,
            local_class: e.local_class,
            send_sites,
            unknown_effects: e.unknown.iter().cloned().collect(),
            class,
        });
    }
    rows.sort_by(|a, b| a.server.cmp(&b.server).then(a.m_type.cmp(&b.m_type)));
    RecoveryTable { provenance, rows }
}

/// `file:line` ordered by file, then line as a number.
fn site_order(site: &str) -> (String, usize) {
    match site.rsplit_once(':') {
        Some((file, line)) => (file.to_string(), line.parse().unwrap_or(0)),
        None => (site.to_string(), 0),
    }
}

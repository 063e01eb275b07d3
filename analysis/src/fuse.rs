//! Fusing: every context of every send site is linked to the handler(s) that receive it, making
//! the servers one program whose inter-component dependencies are plain call-graph edges.
//!
//! A context's destination slot names a server (the manifest's slots); its message type picks the
//! row of that server's call table - the receive loop pruned to the one branch the message takes
//! (`task::run` dispatches by binary search on the table, so the pruned loop is exactly the
//! handler). A destination known only at run time fans out to the servers whose tables serve its
//! (constant) message type, else to every server; a message type known only at run time fans out
//! to every row of the destination's table. A request whose type the
//! destination's table lacks is answered `ENOSYS` by the task loop and changes nothing there.
//! Kernel calls go to the kernel node.
//!
//! The whole-system graph (petgraph) has a node per function of the fused program and per kernel
//! call, `Call` edges for direct calls, method calls and functions passed as values, and `Fused`
//! edges from the function holding a send to each receiving handler.

use crate::body::{Callee, Facts, Primitive, SendFact};
use crate::components::Components;
use crate::index::{FnId, Index};
use crate::trace::{Context, Tracer};
use petgraph::graph::{DiGraph, NodeIndex};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Kernel calls that only read kernel state (process table, clock, memory size): a request to the
/// kernel that changes nothing is request-local. Every other call made through `ctx.kernel`
/// changes state outside the server (a process, a page table, another process's memory), which a
/// rollback of the server cannot undo: global.
pub const READ_ONLY_KERNEL_CALLS: [&str; 1] = ["GetInfo"];

/// A node of the whole-system graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// A function of the fused program.
    Fn(FnId),
    /// A kernel call (`Exec`, `Kill`...).
    Kernel(String),
}

/// An edge of the whole-system graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Edge {
    /// A call inside one component (or into shared code).
    Call,
    /// A fused IPC: the fused context's index.
    Fused(usize),
}

/// What one context of a send reaches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Target {
    /// A server's handler.
    Handler {
        /// The server.
        server: String,
        /// The message type.
        m_type: i128,
        /// The handler.
        #[serde(skip)]
        handler: FnId,
    },
    /// A server whose table lacks the type (it answers ENOSYS).
    Unhandled {
        /// The server.
        server: String,
        /// The message type.
        m_type: i128,
    },
    /// An endpoint that is no server (a user process).
    NotAServer {
        /// Its slot.
        slot: u64,
    },
    /// The kernel.
    Kernel {
        /// The call (`Exec`).
        call: String,
        /// Its window code.
        code: i128,
        /// Whether it changes kernel state.
        changes_state: bool,
    },
}

/// How a context was fused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fusing {
    /// To exactly one handler.
    Exact,
    /// To exactly one handler, through its message type: the destination is a run-time value
    /// (an endpoint from the mount table or ds), and one server's call table serves the type.
    ByType,
    /// To several possible handlers (a destination or type known only at run time).
    Multiple,
    /// To a server that has no handler for the type, or to a user process: no receiver state.
    NoHandler,
    /// A kernel call.
    Kernel,
}

/// One call of a request primitive.
#[derive(Clone)]
pub struct Site {
    /// The function holding it.
    pub f: FnId,
    /// The call.
    pub send: SendFact,
    /// `file:line`.
    pub site: String,
    /// Its contexts (indices in [`Fusion::fused`]).
    pub contexts: Vec<usize>,
}

/// One context, fused.
#[derive(Clone)]
pub struct Fused {
    /// Its send site (index in [`Fusion::sites`]).
    pub site: usize,
    /// The context.
    pub context: Context,
    /// What it reaches.
    pub targets: Vec<Target>,
    /// How.
    pub fusing: Fusing,
}

/// The fused program.
pub struct Fusion {
    /// Every send site of the fused program, in source order.
    pub sites: Vec<Site>,
    /// Every context.
    pub fused: Vec<Fused>,
    /// The whole-system graph.
    pub graph: DiGraph<Node, Edge>,
    /// Each function's node.
    pub node_of: BTreeMap<FnId, NodeIndex>,
    /// Each kernel call's node.
    pub kernel_node: BTreeMap<String, NodeIndex>,
}

/// The fused program: every function reachable by calls from `roots`.
pub fn program(facts: &[Facts], roots: &BTreeSet<FnId>) -> BTreeSet<FnId> {
    let mut seen: BTreeSet<FnId> = BTreeSet::new();
    let mut todo: Vec<FnId> = roots.iter().copied().collect();
    while let Some(f) = todo.pop() {
        if !seen.insert(f) {
            continue;
        }
        for call in &facts[f].calls {
            match &call.callee {
                Callee::Fn(g) => todo.push(*g),
                Callee::Methods(gs) => todo.extend(gs.iter().copied()),
            }
        }
    }
    seen
}

fn targets_of(components: &Components, context: &Context, send: &SendFact) -> (Vec<Target>, Fusing) {
    if send.primitive == Primitive::Kernel {
        // The class comes from what the closure does as well as from the label: a label that
        // reads but a closure that changes kernel state changes kernel state.
        let effects_change = send.effects.iter().any(|e| !crate::body::READ_ONLY_SYS_CALLS.contains(&e.as_str()));
        let mut targets: Vec<Target> = context
            .m_type
            .consts
            .iter()
            .map(|(code, name)| Target::Kernel {
                call: name.clone(),
                code: *code,
                changes_state: effects_change || !READ_ONLY_KERNEL_CALLS.contains(&name.as_str()),
            })
            .collect();
        if !context.m_type.all_constant() {
            // An unknown kernel call: assume it changes state.
            targets.push(Target::Kernel { call: "?".into(), code: -1, changes_state: true });
        }
        return (targets, Fusing::Kernel);
    }
    let mut slots: Vec<u64> = context.dst.consts.iter().map(|(s, _)| *s as u64).collect();
    // A destination known only at run time (an endpoint from the mount table, from ds): with a
    // constant message type, only a server whose call table serves that type can change state on
    // it (any other answers ENOSYS and changes nothing), so it fans out to those servers; with no
    // such server, or a type known only at run time too, to every server.
    let by_type = !context.dst.all_constant() && context.m_type.all_constant();
    let serving: Vec<u64> = components
        .servers
        .iter()
        .filter(|s| s.calls.iter().any(|c| context.m_type.consts.iter().any(|(t, _)| *t == c.m_type)))
        .filter_map(|s| s.slot)
        .collect();
    if !context.dst.all_constant() {
        if by_type && !serving.is_empty() {
            slots.extend(serving);
        } else {
            slots.extend(components.servers.iter().filter_map(|s| s.slot));
        }
    }
    slots.sort();
    slots.dedup();
    let mut targets = Vec::new();
    for slot in slots {
        let Some(server) = components.server_at(slot) else {
            targets.push(Target::NotAServer { slot });
            continue;
        };
        let mut types: Vec<i128> = context.m_type.consts.iter().map(|(t, _)| *t).collect();
        if !context.m_type.all_constant() {
            types.extend(server.calls.iter().map(|c| c.m_type));
        }
        types.sort();
        types.dedup();
        for t in types {
            match server.calls.iter().find(|c| c.m_type == t) {
                Some(c) => targets.push(Target::Handler { server: server.name.clone(), m_type: t, handler: c.handler }),
                None => targets.push(Target::Unhandled { server: server.name.clone(), m_type: t }),
            }
        }
    }
    let handlers = targets.iter().filter(|t| matches!(t, Target::Handler { .. })).count();
    let exact = context.dst.exact().is_some() && context.m_type.exact().is_some();
    let fusing = match (exact, handlers) {
        (false, 1) if by_type && context.m_type.exact().is_some() => Fusing::ByType,
        (true, 1) => Fusing::Exact,
        (true, 0) => Fusing::NoHandler,
        (false, 0) if !targets.is_empty() => Fusing::NoHandler,
        _ => Fusing::Multiple,
    };
    (targets, fusing)
}

impl Fusion {
    /// Fuses every send site of the program.
    pub fn build(
        index: &Index,
        components: &Components,
        facts: &[Facts],
        tracer: &Tracer<'_>,
        program: &BTreeSet<FnId>,
    ) -> Fusion {
        let mut graph = DiGraph::new();
        let mut node_of = BTreeMap::new();
        for &f in program {
            node_of.insert(f, graph.add_node(Node::Fn(f)));
        }
        for (&f, &from) in &node_of {
            for call in &facts[f].calls {
                let callees = match &call.callee {
                    Callee::Fn(g) => vec![*g],
                    Callee::Methods(gs) => gs.clone(),
                };
                for g in callees {
                    if let Some(&to) = node_of.get(&g)
                        && graph.find_edge(from, to).is_none_or(|e| graph[e] != Edge::Call)
                    {
                        graph.add_edge(from, to, Edge::Call);
                    }
                }
            }
        }
        let mut sites = Vec::new();
        let mut fused = Vec::new();
        let mut kernel_node = BTreeMap::new();
        for (&f, &from) in &node_of {
            for send in &facts[f].sends {
                let site_id = sites.len();
                let mut contexts = Vec::new();
                for context in tracer.contexts(f, send) {
                    let (targets, fusing) = targets_of(components, &context, send);
                    let id = fused.len();
                    for t in &targets {
                        let to = match t {
                            Target::Handler { handler, .. } => node_of.get(handler).copied(),
                            Target::Kernel { call, .. } => Some(
                                *kernel_node
                                    .entry(call.clone())
                                    .or_insert_with(|| graph.add_node(Node::Kernel(call.clone()))),
                            ),
                            _ => None,
                        };
                        if let Some(to) = to {
                            graph.add_edge(from, to, Edge::Fused(id));
                        }
                    }
                    fused.push(Fused { site: site_id, context, targets, fusing });
                    contexts.push(id);
                }
                let file = &index.src.modules[index.fns[f].module].file;
                sites.push(Site { f, send: send.clone(), site: format!("{file}:{}", send.pos.0), contexts });
            }
        }
        Fusion { sites, fused, graph, node_of, kernel_node }
    }
}

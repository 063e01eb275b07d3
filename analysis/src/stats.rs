//! The fusing statistics, in the shape of the fusing paper's Tables 1-3: the send side (send
//! primitives, their callers, call sites before and after inlining, constant destinations, message
//! types resolved), the receive side (receive loops and their clones, dispatch tables), and the
//! fusing itself (contexts fused to exact destinations, to several, to none).

use crate::Analysis;
use crate::body::Primitive;
use crate::components::{ReceiveLoopKind, Role};
use crate::fuse::Fusing;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The share of IPC contexts that must be fused to exactly one handler (the paper reached 90%).
pub const EXACT_FUSING_TARGET_PERCENT: f64 = 95.0;
/// The share of contexts whose message type must be resolved to constants (the paper: 98%).
pub const M_TYPE_TARGET_PERCENT: f64 = 98.0;

/// What was read.
#[derive(Clone, Debug, Serialize)]
pub struct SourceStats {
    /// `.rs` files under os/src.
    pub files: usize,
    /// Of which the table depends on (servers and shared code).
    pub analysed_files: usize,
    /// Their digest.
    pub digest: String,
    /// Each top-level module's role.
    pub components: BTreeMap<String, Role>,
    /// Functions in the fused program.
    pub functions: usize,
    /// Call edges in the fused program (direct calls, methods, function values).
    pub call_edges: usize,
    /// Calls through function values the analysis cannot follow, outside the task loop's
    /// dispatch (which is modelled by fusing).
    pub unfollowed_calls: usize,
}

/// The send side (Table 1).
#[derive(Clone, Debug, Serialize)]
pub struct SendStats {
    /// The state-changing request primitives.
    pub request_primitives: Vec<&'static str>,
    /// Calls of out-of-scope primitives (answers and notifications), by name.
    pub out_of_scope_sites: BTreeMap<String, usize>,
    /// Functions that call a request primitive.
    pub callers: usize,
    /// Calls of request primitives.
    pub call_sites: usize,
    /// Of which IPC (`sendrec`, `asynsend`).
    pub ipc_call_sites: usize,
    /// Of which kernel calls.
    pub kernel_call_sites: usize,
    /// Target call sites after inlining callers (contexts).
    pub contexts: usize,
    /// Contexts resolved through at least one inlined caller.
    pub inlined_contexts: usize,
    /// IPC contexts whose destination is a constant.
    pub constant_destinations: usize,
    /// IPC contexts whose destination is decided at run time.
    pub runtime_destinations: usize,
    /// Contexts whose message type (or kernel call) is a constant.
    pub m_types_resolved: usize,
    /// The same, in percent of all contexts.
    pub m_types_resolved_percent: f64,
    /// What could not be resolved, with where and why.
    pub unresolved: Vec<String>,
}

/// A receive loop (Table 2).
#[derive(Clone, Debug, Serialize)]
pub struct LoopStats {
    /// The function (fused name).
    pub function: String,
    /// `call table` (dispatches through the server's table) or `own` (no table).
    pub kind: &'static str,
    /// The servers running a clone of it.
    pub servers: Vec<String>,
}

/// A server's dispatch table.
#[derive(Clone, Debug, Serialize)]
pub struct ServerStats {
    /// Its name.
    pub name: String,
    /// Its endpoint's slot.
    pub slot: Option<u64>,
    /// Rows of its call table (entry points).
    pub entry_points: usize,
}

/// The receive side (Table 2).
#[derive(Clone, Debug, Serialize)]
pub struct ReceiveStats {
    /// The receive loops found.
    pub loops: Vec<LoopStats>,
    /// Clones of receive loops (one per server running one).
    pub clones: usize,
    /// The servers and their tables.
    pub servers: Vec<ServerStats>,
    /// Entry points in all.
    pub entry_points: usize,
}

/// The fusing (Table 3).
#[derive(Clone, Debug, Serialize)]
pub struct FusingStats {
    /// IPC contexts.
    pub ipc_contexts: usize,
    /// Fused to exactly one handler.
    pub exact: usize,
    /// Of those, through the message type alone: a run-time destination, one server serving the type.
    pub exact_by_type: usize,
    /// Fused to several possible handlers.
    pub multiple: usize,
    /// Reaching no handler (a type the destination does not serve, or a user process).
    pub no_handler: usize,
    /// Kernel-call contexts (to the kernel node).
    pub kernel: usize,
    /// `exact` in percent of IPC contexts.
    pub exact_percent: f64,
    /// The contexts reaching no handler, with where.
    pub no_handler_sites: Vec<String>,
}

/// State writes.
#[derive(Clone, Debug, Serialize)]
pub struct WriteStats {
    /// Tracked fields declared by the servers.
    pub tracked_fields: usize,
    /// Mutator calls found.
    pub write_sites: usize,
    /// Of which the field was known only by name or container type (over-approximated).
    pub approximate_write_sites: usize,
    /// Kernel calls made directly on the process (not through `ctx.kernel`, so not in the window).
    pub direct_kernel_calls: Vec<String>,
}

/// The targets and whether they are met.
#[derive(Clone, Debug, Serialize)]
pub struct Targets {
    /// Minimum share of IPC contexts fused to exact destinations.
    pub exact_percent_min: f64,
    /// Whether it is met.
    pub exact_met: bool,
    /// Minimum share of contexts with a resolved message type.
    pub m_type_percent_min: f64,
    /// Whether it is met.
    pub m_type_met: bool,
}

/// All statistics.
#[derive(Clone, Debug, Serialize)]
pub struct Statistics {
    /// What was read.
    pub source: SourceStats,
    /// The send side.
    pub send: SendStats,
    /// The receive side.
    pub receive: ReceiveStats,
    /// The fusing.
    pub fusing: FusingStats,
    /// State writes.
    pub writes: WriteStats,
    /// The targets.
    pub targets: Targets,
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 { 100.0 } else { (part as f64) * 100.0 / (whole as f64) }
}

impl Statistics {
    /// The statistics of an analysis.
    pub fn of(a: &Analysis) -> Statistics {
        let program: Vec<usize> = a.fusion.node_of.keys().copied().collect();
        let mut out_of_scope: BTreeMap<String, usize> = BTreeMap::new();
        let mut direct_kernel = Vec::new();
        let (mut write_sites, mut approximate) = (0, 0);
        // Servers with a loop of their own (rs) keep no recovery window: their kernel calls are
        // not listed.
        let windowless: BTreeSet<String> = a
            .components
            .servers
            .iter()
            .filter(|s| matches!(s.receive_loop, ReceiveLoopKind::Own(_)))
            .map(|s| s.component.clone())
            .collect();
        for &f in &program {
            let file = &a.index.src.modules[a.index.fns[f].module].file;
            for (name, _) in &a.facts[f].answers {
                *out_of_scope.entry(name.clone()).or_default() += 1;
            }
            if !windowless.contains(&a.index.component(a.index.fns[f].module)) {
                for (name, pos) in &a.facts[f].direct_kernel {
                    direct_kernel.push(format!("{file}:{}: {name} in {}", pos.0, a.names.of(f)));
                }
            }
            write_sites += a.facts[f].writes.len();
            approximate += a.facts[f].writes.iter().filter(|w| !w.precise).count();
        }
        let callers = {
            let mut fs: Vec<usize> = a.fusion.sites.iter().map(|s| s.f).collect();
            fs.sort();
            fs.dedup();
            fs.len()
        };
        let kernel_call_sites = a.fusion.sites.iter().filter(|s| s.send.primitive == Primitive::Kernel).count();
        let mut unresolved = Vec::new();
        let (mut constant_dst, mut runtime_dst, mut resolved, mut inlined) = (0, 0, 0, 0);
        let (mut ipc, mut exact, mut multiple, mut no_handler, mut kernel) = (0, 0, 0, 0, 0);
        let mut by_type = 0;
        let mut no_handler_sites = Vec::new();
        for fused in &a.fusion.fused {
            let site = &a.fusion.sites[fused.site];
            let is_kernel = site.send.primitive == Primitive::Kernel;
            if !fused.context.chain.is_empty() {
                inlined += 1;
            }
            if fused.context.m_type.all_constant() {
                resolved += 1;
            } else {
                let what = if is_kernel { "kernel call" } else { "message type" };
                unresolved.push(format!("{}: {what}: {}", site.site, fused.context.m_type.runtime.join("; ")));
            }
            if is_kernel {
                kernel += 1;
                continue;
            }
            ipc += 1;
            if fused.context.dst.all_constant() {
                constant_dst += 1;
            } else {
                runtime_dst += 1;
                unresolved.push(format!("{}: destination: {}", site.site, fused.context.dst.runtime.join("; ")));
            }
            match fused.fusing {
                Fusing::Exact => exact += 1,
                Fusing::ByType => {
                    exact += 1;
                    by_type += 1;
                }
                Fusing::Multiple => multiple += 1,
                Fusing::NoHandler => {
                    no_handler += 1;
                    let what: Vec<String> = fused
                        .targets
                        .iter()
                        .map(|t| match t {
                            crate::fuse::Target::Unhandled { server, m_type } => {
                                format!("{server} has no handler for {m_type:#x}")
                            }
                            crate::fuse::Target::NotAServer { slot } => format!("slot {slot} is no server"),
                            _ => String::new(),
                        })
                        .collect();
                    no_handler_sites.push(format!("{}: {}", site.site, what.join(", ")));
                }
                Fusing::Kernel => {}
            }
        }
        let mut loops = Vec::new();
        let mut clones = 0;
        let table_loops: Vec<usize> = program
            .iter()
            .copied()
            .filter(|&f| a.facts[f].receive_loop && a.facts[f].table_dispatch && a.index.fns[f].ident != "receive")
            .collect();
        for f in table_loops {
            let servers: Vec<String> = a
                .components
                .servers
                .iter()
                .filter(|s| matches!(s.receive_loop, ReceiveLoopKind::TaskLoop(_)))
                .map(|s| s.name.clone())
                .collect();
            clones += servers.len();
            loops.push(LoopStats { function: a.names.of(f).to_string(), kind: "call table", servers });
        }
        for s in &a.components.servers {
            if let ReceiveLoopKind::Own(f) = s.receive_loop {
                clones += 1;
                loops.push(LoopStats {
                    function: a.names.of(f).to_string(),
                    kind: "own",
                    servers: vec![s.name.clone()],
                });
            }
        }
        let servers: Vec<ServerStats> = a
            .components
            .servers
            .iter()
            .map(|s| ServerStats { name: s.name.clone(), slot: s.slot, entry_points: s.calls.len() })
            .collect();
        let entry_points = servers.iter().map(|s| s.entry_points).sum();
        let contexts = a.fusion.fused.len();
        let (analysed_files, digest) = crate::analysed_source(&a.index, &a.components);
        let exact_percent = percent(exact, ipc);
        let m_types_resolved_percent = percent(resolved, contexts);
        Statistics {
            source: SourceStats {
                files: a.index.src.os_files.len(),
                analysed_files,
                digest,
                components: a.components.roles.clone(),
                functions: program.len(),
                call_edges: a.fusion.graph.edge_weights().filter(|e| **e == crate::fuse::Edge::Call).count(),
                unfollowed_calls: program
                    .iter()
                    .filter(|&&f| !a.facts[f].table_dispatch)
                    .map(|&f| a.facts[f].dynamic_calls)
                    .sum(),
            },
            send: SendStats {
                request_primitives: vec![
                    Primitive::Sendrec.name(),
                    Primitive::Asynsend.name(),
                    Primitive::Kernel.name(),
                ],
                out_of_scope_sites: out_of_scope,
                callers,
                call_sites: a.fusion.sites.len(),
                ipc_call_sites: a.fusion.sites.len() - kernel_call_sites,
                kernel_call_sites,
                contexts,
                inlined_contexts: inlined,
                constant_destinations: constant_dst,
                runtime_destinations: runtime_dst,
                m_types_resolved: resolved,
                m_types_resolved_percent,
                unresolved,
            },
            receive: ReceiveStats { loops, clones, servers, entry_points },
            fusing: FusingStats {
                ipc_contexts: ipc,
                exact,
                exact_by_type: by_type,
                multiple,
                no_handler,
                kernel,
                exact_percent,
                no_handler_sites,
            },
            writes: WriteStats {
                tracked_fields: a.tracked.fields.len(),
                write_sites,
                approximate_write_sites: approximate,
                direct_kernel_calls: direct_kernel,
            },
            targets: Targets {
                exact_percent_min: EXACT_FUSING_TARGET_PERCENT,
                exact_met: exact_percent >= EXACT_FUSING_TARGET_PERCENT,
                m_type_percent_min: M_TYPE_TARGET_PERCENT,
                m_type_met: m_types_resolved_percent >= M_TYPE_TARGET_PERCENT,
            },
        }
    }
}

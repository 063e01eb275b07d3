//! IPC destination points and the components of the fused program.
//!
//! - A *server* is a top-level module of the OS crate that implements `task::Server` (its
//!   receive loop is the shared `task::run`, which dispatches through `S::calls()`, the server's
//!   call table) or whose `main` receives in a loop of its own (rs, which serves no calls). Its name
//!   is its `NAME`, its endpoint's slot comes from the manifest, its entry points are its call
//!   table's rows (`Call { m_type, name, handler }`).
//! - The *fused program* is every function reachable by calls from the servers' receive loops and
//!   call-table handlers. Every other top-level module of the OS crate is *shared* (`task`, `sef`,
//!   `proto`, `errno`, `fault`...): linked into every server, analysed as part of whichever server
//!   calls it, owning no state of its own. The OS crate holds nothing else by construction (user
//!   programs and the testbed are crates of their own), so nothing it holds is left out; a module
//!   no server runs or uses is reported. Boot-time code (vfs's mount, mfs's boot tree) runs before
//!   any request, so it belongs to no entry point.

use crate::error::AnalysisError;
use crate::index::{ConstDef, FnId, Index, Item};
use crate::source::{OS_CRATE, position};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use syn::spanned::Spanned;
use syn::visit::Visit;

/// What a component is in the fused program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A server process: it has a receive loop.
    Server,
    /// Code linked into the servers (the task loop, the protocol, errno...).
    Shared,
}

/// One row of a server's call table.
#[derive(Clone, Debug)]
pub struct CallEntry {
    /// The message type.
    pub m_type: i128,
    /// The constant it is written as (`PM_FORK`).
    pub const_name: String,
    /// The call's name in the table (`fork`).
    pub call: String,
    /// The handler.
    pub handler: FnId,
    /// Where the row is (`os/src/pm/table.rs:13`).
    pub site: String,
}

/// A declared compensation: a request the server sends and the request that undoes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompensationDecl {
    /// The request sent.
    pub forward: i128,
    /// The request that undoes it.
    pub inverse: i128,
    /// Where it is declared (`os/src/pm/forkexit.rs:30`).
    pub site: String,
}

/// A server.
#[derive(Clone, Debug)]
pub struct ServerDef {
    /// Its name (`pm`): the `NAME` of its `Server` impl, or its module's name.
    pub name: String,
    /// Its top-level module.
    pub component: String,
    /// Its endpoint's slot, from the manifest.
    pub slot: Option<u64>,
    /// Its state struct's path.
    pub state: Option<String>,
    /// Its call table, sorted by message type.
    pub calls: Vec<CallEntry>,
    /// The requests it declares an inverse for (`Server::compensations`).
    pub compensations: Vec<CompensationDecl>,
    /// Its receive loop: the shared `task::run` (through its `Server` impl) or its own `main`.
    pub receive_loop: ReceiveLoopKind,
}

/// How a server receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReceiveLoopKind {
    /// The shared task loop, dispatching through the call table (the path of the `Server` type).
    TaskLoop(String),
    /// Its own loop in `main`, without a call table.
    Own(FnId),
}

/// The components and servers.
pub struct Components {
    /// Every top-level module of the OS crate and its role.
    pub roles: BTreeMap<String, Role>,
    /// The servers, by name.
    pub servers: Vec<ServerDef>,
    /// Per component, the components a call in it may reach (itself and the shared code it uses).
    pub reach: BTreeMap<String, BTreeSet<String>>,
}

/// Finds `receive` called inside a loop.
#[derive(Default)]
struct ReceiveLoopScan {
    depth: usize,
    found: bool,
}

impl<'ast> Visit<'ast> for ReceiveLoopScan {
    fn visit_expr_loop(&mut self, e: &'ast syn::ExprLoop) {
        self.depth += 1;
        syn::visit::visit_expr_loop(self, e);
        self.depth -= 1;
    }
    fn visit_expr_while(&mut self, e: &'ast syn::ExprWhile) {
        self.depth += 1;
        syn::visit::visit_expr_while(self, e);
        self.depth -= 1;
    }
    fn visit_expr_method_call(&mut self, e: &'ast syn::ExprMethodCall) {
        if self.depth > 0 && e.method == "receive" {
            self.found = true;
        }
        syn::visit::visit_expr_method_call(self, e);
    }
    fn visit_expr_call(&mut self, e: &'ast syn::ExprCall) {
        if self.depth > 0
            && let syn::Expr::Path(p) = &*e.func
            && p.path.segments.last().is_some_and(|s| s.ident == "receive")
        {
            self.found = true;
        }
        syn::visit::visit_expr_call(self, e);
    }
}

/// Whether `block` receives in a loop.
pub fn receives_in_a_loop(block: &syn::Block) -> bool {
    let mut scan = ReceiveLoopScan::default();
    scan.visit_block(block);
    scan.found
}

fn strip(expr: &syn::Expr) -> &syn::Expr {
    match expr {
        syn::Expr::Reference(r) => strip(&r.expr),
        syn::Expr::Paren(p) => strip(&p.expr),
        syn::Expr::Group(g) => strip(&g.expr),
        other => other,
    }
}

fn tail(block: &syn::Block) -> Option<&syn::Expr> {
    match block.stmts.last() {
        Some(syn::Stmt::Expr(e, None)) => Some(e),
        _ => None,
    }
}

/// The static or const at `static_path` that holds an array of `what` (a server's table), with the
/// file it is in.
fn static_array<'a>(
    index: &'a Index,
    static_path: &str,
    what: &str,
) -> Result<(&'a ConstDef, String, &'a syn::ExprArray), AnalysisError> {
    let Some(Item::Const(id)) = index.items.get(static_path) else {
        return Err(AnalysisError::file(static_path, format!("the table of `{what}`s is not a static or const")));
    };
    let def = &index.consts[*id];
    let file = index.src.modules[def.module].file.clone();
    let syn::Expr::Array(array) = strip(&def.expr) else {
        return Err(AnalysisError::at(file, def.line, 1, format!("`{static_path}` is not an array of `{what}`s")));
    };
    Ok((def, file, array))
}

/// Reads a call table: `&[Call { m_type: X, name: "..", handler: path }, ..]`.
fn read_table(index: &Index, static_path: &str) -> Result<Vec<CallEntry>, AnalysisError> {
    let (def, file, array) = static_array(index, static_path, "Call")?;
    let mut rows = Vec::new();
    for elem in &array.elems {
        let (line, column) = position(elem.span());
        let bad = |what: &str| AnalysisError::at(file.clone(), line, column, format!("call table entry: {what}"));
        let syn::Expr::Struct(s) = elem else { return Err(bad("not a `Call { m_type, name, handler }`")) };
        let field = |name: &str| {
            s.fields.iter().find(|fv| matches!(&fv.member, syn::Member::Named(i) if i == name)).map(|fv| &fv.expr)
        };
        let m_type_expr = field("m_type").ok_or_else(|| bad("no `m_type`"))?;
        let m_type = index
            .eval(def.module, m_type_expr, None)
            .and_then(|v| v.int())
            .ok_or_else(|| bad("`m_type` is not a constant the analysis can evaluate"))?;
        let const_name = match strip(m_type_expr) {
            syn::Expr::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default(),
            other => crate::trace::text(other),
        };
        let call = match field("name").map(strip) {
            Some(syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(l), .. })) => l.value(),
            _ => return Err(bad("`name` is not a string literal")),
        };
        let handler = match field("handler").map(strip) {
            Some(syn::Expr::Path(p)) => match index
                .resolve_syn_path(def.module, &p.path, None)
                .and_then(|path| index.items.get(&path).cloned())
            {
                Some(Item::Fn(f)) => f,
                _ => return Err(bad(&format!("handler `{}` is not a function of the servers", crate::trace::text(p)))),
            },
            _ => return Err(bad("`handler` is not a path to a function")),
        };
        rows.push(CallEntry { m_type, const_name, call, handler, site: format!("{file}:{line}") });
    }
    rows.sort_by_key(|r| r.m_type);
    Ok(rows)
}

/// Reads a compensation table: `&[Compensation { forward: X, inverse: Y, .. }, ..]`.
fn read_compensations(index: &Index, static_path: &str) -> Result<Vec<CompensationDecl>, AnalysisError> {
    let (def, file, array) = static_array(index, static_path, "Compensation")?;
    array
        .elems
        .iter()
        .map(|elem| {
            let (line, column) = position(elem.span());
            let bad = |what: &str| AnalysisError::at(file.clone(), line, column, format!("compensation: {what}"));
            let syn::Expr::Struct(s) = elem else { return Err(bad("not a `Compensation { forward, inverse, .. }`")) };
            let value = |name: &str| {
                let expr = s
                    .fields
                    .iter()
                    .find(|fv| matches!(&fv.member, syn::Member::Named(i) if i == name))
                    .map(|fv| &fv.expr)
                    .ok_or_else(|| bad(&format!("no `{name}`")))?;
                index
                    .eval(def.module, expr, None)
                    .and_then(|v| v.int())
                    .ok_or_else(|| bad(&format!("`{name}` is not a constant the analysis can evaluate")))
            };
            Ok(CompensationDecl {
                forward: value("forward")?,
                inverse: value("inverse")?,
                site: format!("{file}:{line}"),
            })
        })
        .collect()
}

/// The path of the table a `Server` method returns by path (`calls`, `compensations`).
fn returned_table(index: &Index, ty: &str, method: &str) -> Result<Option<String>, AnalysisError> {
    let Some(&f) = index.methods.get(ty).and_then(|m| m.get(method)) else { return Ok(None) };
    let def = &index.fns[f];
    tail(&def.block)
        .and_then(|e| match strip(e) {
            syn::Expr::Path(p) => index.resolve_syn_path(def.module, &p.path, def.self_ty.as_ref()),
            _ => None,
        })
        .map(Some)
        .ok_or_else(|| {
            AnalysisError::at(
                index.src.modules[def.module].file.clone(),
                def.line,
                1,
                format!("`{ty}::{method}` does not return a table by path"),
            )
        })
}

impl Components {
    /// Finds the servers, their tables and receive loops, and every component's role.
    pub fn find(index: &Index) -> Result<Components, AnalysisError> {
        let root = index.src.crates[OS_CRATE];
        let top: Vec<String> = index.src.modules[root].children.keys().cloned().collect();
        let mut servers = Vec::new();
        // Table servers: impls of `Server`.
        let mut server_types: BTreeSet<String> = BTreeSet::new();
        for def in &index.fns {
            if def.trait_path.as_deref().is_some_and(|t| t.ends_with("::Server"))
                && let Some(ty) = &def.self_ty
                && index.src.modules[def.module].krate == OS_CRATE
            {
                server_types.insert(ty.path.clone());
            }
        }
        for ty in &server_types {
            let module = match index.items.get(ty) {
                Some(Item::Struct) => index.structs[ty].module,
                _ => continue,
            };
            let component = index.component(module);
            let name = match index.const_value(&format!("{ty}::NAME")) {
                Some(crate::consts::Value::Str(s)) => s,
                _ => component.clone(),
            };
            let state = index.assoc_types.get(&format!("{ty}::State")).map(|t| t.path.clone());
            let calls = match returned_table(index, ty, "calls")? {
                Some(table) => read_table(index, &table)?,
                None => Vec::new(),
            };
            let compensations = match returned_table(index, ty, "compensations")? {
                Some(table) => read_compensations(index, &table)?,
                None => Vec::new(),
            };
            let slot = index.src.slots.iter().find(|(_, n)| **n == name).map(|(s, _)| *s);
            servers.push(ServerDef {
                name,
                component,
                slot,
                state,
                calls,
                compensations,
                receive_loop: ReceiveLoopKind::TaskLoop(ty.clone()),
            });
        }
        // Servers with their own loop: a `main` that receives in a loop.
        for component in &top {
            if servers.iter().any(|s| &s.component == component) {
                continue;
            }
            let main = format!("{OS_CRATE}::{component}::main");
            if let Some(Item::Fn(f)) = index.items.get(&main)
                && receives_in_a_loop(&index.fns[*f].block)
            {
                let slot = index.src.slots.iter().find(|(_, n)| *n == component).map(|(s, _)| *s);
                servers.push(ServerDef {
                    name: component.clone(),
                    component: component.clone(),
                    slot,
                    state: None,
                    calls: Vec::new(),
                    compensations: Vec::new(),
                    receive_loop: ReceiveLoopKind::Own(*f),
                });
            }
        }
        servers.sort_by(|a, b| a.name.cmp(&b.name));
        // Which component uses which (through `use` items).
        let mut uses: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (m, module) in index.src.modules.iter().enumerate() {
            if module.krate != OS_CRATE {
                continue;
            }
            let from = index.component(m);
            // Resolved targets, and `crate::x::..` paths whose item the analysis cannot see
            // (generated by a macro, like `errno::Errno`).
            let resolved =
                index.use_targets(m).into_iter().map(|t| t.split("::").map(String::from).collect::<Vec<_>>());
            let written =
                index.use_paths(m).into_iter().filter(|p| p.first().is_some_and(|s| s == "crate")).map(|mut p| {
                    p[0] = OS_CRATE.to_string();
                    p
                });
            for segs in resolved.chain(written) {
                if segs.first().is_some_and(|s| s == OS_CRATE)
                    && let Some(to) = segs.get(1)
                    && *to != from
                    && top.iter().any(|t| t == to)
                {
                    uses.entry(from.clone()).or_default().insert(to.clone());
                }
            }
        }
        let server_components: BTreeSet<String> = servers.iter().map(|s| s.component.clone()).collect();
        // A method call with an unknown receiver may reach the caller's component and the code it
        // uses directly (a server's code reaches another server only by IPC).
        let mut reach: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for component in &top {
            let mut direct = BTreeSet::from([component.clone()]);
            direct
                .extend(uses.get(component).into_iter().flatten().filter(|c| !server_components.contains(*c)).cloned());
            reach.insert(component.clone(), direct);
        }
        let roles = top
            .iter()
            .map(|c| (c.clone(), if server_components.contains(c) { Role::Server } else { Role::Shared }))
            .collect();
        Ok(Components { roles, servers, reach })
    }

    /// The roots of the fused program: every handler of every call table, the shared task loop
    /// (`task_loops`: functions that receive in a loop and dispatch through `S::calls()`), and the
    /// servers' own loops.
    pub fn roots(&self, task_loops: impl IntoIterator<Item = FnId>) -> BTreeSet<FnId> {
        let mut roots: BTreeSet<FnId> = task_loops.into_iter().collect();
        for s in &self.servers {
            roots.extend(s.calls.iter().map(|c| c.handler));
            if let ReceiveLoopKind::Own(f) = s.receive_loop {
                roots.insert(f);
            }
        }
        roots
    }

    /// The shared components no server runs code of or uses an item of: OS code with no part in
    /// the system, worth a warning.
    pub fn unused(&self, index: &Index, program: &BTreeSet<FnId>) -> Vec<String> {
        let mut used: BTreeSet<String> = program.iter().map(|&f| index.component(index.fns[f].module)).collect();
        // Constants and types count too: a module the servers `use` directly is linked into them.
        for s in &self.servers {
            used.extend(self.reach.get(&s.component).into_iter().flatten().cloned());
        }
        self.roles.iter().filter(|(c, r)| **r == Role::Shared && !used.contains(*c)).map(|(c, _)| c.clone()).collect()
    }

    /// The server whose endpoint has `slot`.
    pub fn server_at(&self, slot: u64) -> Option<&ServerDef> {
        self.servers.iter().find(|s| s.slot == Some(slot))
    }

    /// The server named `name`.
    pub fn server(&self, name: &str) -> Option<&ServerDef> {
        self.servers.iter().find(|s| s.name == name)
    }

    /// The role of a component (`None` for one that is not a top-level module of the OS).
    pub fn role(&self, component: &str) -> Option<Role> {
        self.roles.get(component).copied()
    }
}

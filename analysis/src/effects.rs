//! What needs every body read first: the targets of calls through function values, and whether
//! each requester token the servers make carries the key of the process the request is for.
//!
//! - A call through a function value (`step(s)`, `(table[i])(s)`) may reach every function of the
//!   servers whose address is taken anywhere (used as a value in a body, or in a static's or
//!   constant's initialiser) with a matching signature: the same number of parameters, and the
//!   same type where both the argument's and the parameter's are known.
//! - A write through a requester's accessor (`get_own_mut(&who)`) is process-local only because
//!   the token names the process the request is for. The task loop makes the requester's
//!   (`Ctx::requester`); a handler acting for a process a server named in its request
//!   (`Requester::new(key_of(notice.proc))`) must take the key from the request: the analysis
//!   follows each `Requester::new` key back - through `let`s, fields, `key_of`, and parameters to
//!   every caller's argument - to the request message (`ctx.m`) or its sender (`ctx.who()`). A
//!   key it cannot show to come from there is a lie: in that component, every accessor write whose
//!   token is not the task loop's own is counted global.

use crate::body::{CallFact, Callee, Facts, NotFollowed, Pos, WriteFact, ident_of};
use crate::index::{FnId, Index, Item};
use crate::source::OS_CRATE;
use crate::tracked::WriteClass;
use recovery::StateClass;
use std::collections::{BTreeMap, BTreeSet};
use syn::visit::Visit;

/// How far a key is followed back (bindings, fields, callers) before it is called unproven.
const MAX_KEY_DEPTH: usize = 16;

/// Every function of the servers whose address is taken.
pub fn address_taken(index: &Index, facts: &[Facts]) -> BTreeSet<FnId> {
    let mut taken = BTreeSet::new();
    for f in facts {
        for c in f.calls.iter().filter(|c| c.as_value) {
            match &c.callee {
                Callee::Fn(g) => {
                    taken.insert(*g);
                }
                Callee::Methods(gs) => taken.extend(gs.iter().copied()),
            }
        }
    }
    // Functions named in statics' and constants' initialisers (tables of handlers).
    struct Paths<'a> {
        index: &'a Index,
        module: usize,
        self_ty: Option<&'a crate::index::Ty>,
        found: &'a mut BTreeSet<FnId>,
    }
    impl<'ast> Visit<'ast> for Paths<'_> {
        fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
            if let Some(path) = self.index.resolve_syn_path(self.module, &p.path, self.self_ty)
                && let Some(Item::Fn(f)) = self.index.items.get(&path)
            {
                self.found.insert(*f);
            }
        }
    }
    for def in &index.consts {
        if index.src.modules[def.module].krate == OS_CRATE {
            let mut paths = Paths { index, module: def.module, self_ty: def.self_ty.as_ref(), found: &mut taken };
            paths.visit_expr(&def.expr);
        }
    }
    taken.retain(|&f| index.src.modules[index.fns[f].module].krate == OS_CRATE);
    taken
}

/// Adds to every function the calls its calls through function values may make: to functions of
/// the components it may name (its own and the shared code it uses: a server links no other
/// server's code).
pub fn resolve_function_values(index: &Index, facts: &mut [Facts], reach: &BTreeMap<String, BTreeSet<String>>) {
    let taken = address_taken(index, facts);
    let params: BTreeMap<FnId, Vec<Option<crate::index::Ty>>> =
        taken.iter().map(|&g| (g, index.params(g).into_iter().map(|(_, t)| t).collect())).collect();
    let empty = BTreeSet::new();
    // A closure stored somewhere may be what a call through a stored value runs.
    let closures_stored = facts.iter().any(|f| f.stores_closure);
    for (id, f) in facts.iter_mut().enumerate() {
        let nameable = reach.get(&index.component(index.fns[id].module)).unwrap_or(&empty);
        let mut added = Vec::new();
        let mut unknown = Vec::new();
        for call in &f.dynamic_calls {
            let (args, pos) = (&call.args, &call.pos);
            if call.stored && closures_stored {
                unknown.push(NotFollowed {
                    kind: "call",
                    what: "through a stored function value (a stored closure may run here)".into(),
                    pos: *pos,
                });
            }
            let candidates: Vec<FnId> = taken
                .iter()
                .copied()
                .filter(|&g| nameable.contains(&index.component(index.fns[g].module)))
                .filter(|g| {
                    let ps = &params[g];
                    ps.len() == args.len()
                        && ps.iter().zip(args).all(|(p, a)| match (p, a) {
                            (Some(p), Some(a)) => compatible(p, a),
                            _ => true,
                        })
                })
                .collect();
            if !candidates.is_empty() {
                added.push(CallFact {
                    callee: Callee::Methods(candidates),
                    args: Vec::new(),
                    pos: *pos,
                    as_value: false,
                });
            }
        }
        f.calls.extend(added);
        f.not_followed.extend(unknown);
    }
}

/// Whether a parameter of type `p` may take an argument of type `a`: the same type with
/// compatible arguments; a generic parameter or an unknown part matches anything.
fn compatible(p: &crate::index::Ty, a: &crate::index::Ty) -> bool {
    let wild = |t: &crate::index::Ty| t.path.starts_with('<') || t.path == "?";
    wild(p)
        || wild(a)
        || (p.path == a.path
            && (p.args.len() != a.args.len() || p.args.iter().zip(&a.args).all(|(x, y)| compatible(x, y))))
}

/// Proves requester keys; writes through a token whose key is not shown to come from the request
/// become global. Returns the unproven `Requester::new` sites (`file:line`), for the statistics.
pub fn check_requesters(index: &Index, facts: &mut [Facts]) -> Vec<String> {
    let callers = callers(facts);
    let prover = Prover { index, facts, callers: &callers };
    let mut unproven = Vec::new();
    let mut lying_components = BTreeSet::new();
    for (f, fact) in facts.iter().enumerate() {
        for (key, pos) in &fact.requesters_made {
            if !prover.comes_from_request(f, key, Some(*pos), 0) {
                let module = index.fns[f].module;
                unproven.push(format!("{}:{}", index.src.modules[module].file, pos.0));
                lying_components.insert(index.component(module));
            }
        }
    }
    let own_token: Vec<Vec<bool>> = facts
        .iter()
        .enumerate()
        .map(|(f, fact)| fact.writes.iter().map(|w| prover.task_loop_token(f, w)).collect())
        .collect();
    for (f, fact) in facts.iter_mut().enumerate() {
        if !lying_components.contains(&index.component(index.fns[f].module)) {
            continue;
        }
        for (w, write) in fact.writes.iter_mut().enumerate() {
            if write.requester.is_some() && !own_token[f][w] {
                write.class = WriteClass::Fixed(StateClass::Global);
            }
        }
    }
    unproven.sort();
    unproven
}

/// Per function, its callers: (caller, index of the call in its facts).
fn callers(facts: &[Facts]) -> BTreeMap<FnId, Vec<(FnId, usize)>> {
    let mut out: BTreeMap<FnId, Vec<(FnId, usize)>> = BTreeMap::new();
    for (f, fact) in facts.iter().enumerate() {
        for (i, c) in fact.calls.iter().enumerate() {
            if let Callee::Fn(g) = &c.callee
                && !c.as_value
            {
                out.entry(*g).or_default().push((f, i));
            }
        }
    }
    out
}

struct Prover<'a> {
    index: &'a Index,
    facts: &'a [Facts],
    callers: &'a BTreeMap<FnId, Vec<(FnId, usize)>>,
}

fn strip(expr: &syn::Expr) -> &syn::Expr {
    match expr {
        syn::Expr::Paren(p) => strip(&p.expr),
        syn::Expr::Group(g) => strip(&g.expr),
        syn::Expr::Reference(r) => strip(&r.expr),
        syn::Expr::Unary(syn::ExprUnary { op: syn::UnOp::Deref(_), expr, .. }) => strip(expr),
        syn::Expr::Cast(c) => strip(&c.expr),
        syn::Expr::Try(t) => strip(&t.expr),
        other => other,
    }
}

impl Prover<'_> {
    /// The latest binding of `name` in `f` before `at`.
    fn binding(&self, f: FnId, name: &str, at: Option<Pos>) -> Option<&crate::body::Binding> {
        self.facts[f].bindings.iter().rev().find(|b| b.name == name && at.is_none_or(|a| b.pos < a))
    }

    fn param_index(&self, f: FnId, name: &str) -> Option<usize> {
        self.index.params(f).iter().position(|(p, _)| p == name)
    }

    /// Whether the value of `expr` in `f` comes from the request being handled: its message
    /// (`ctx.m`, a payload read from it) or its sender (`ctx.who()`).
    fn comes_from_request(&self, f: FnId, expr: &syn::Expr, at: Option<Pos>, depth: usize) -> bool {
        if depth > MAX_KEY_DEPTH {
            return false;
        }
        match strip(expr) {
            syn::Expr::Field(fe) => {
                let is_message =
                    matches!(&fe.member, syn::Member::Named(n) if n == "m") && self.is_ctx(f, &fe.base, at);
                is_message || self.comes_from_request(f, &fe.base, at, depth + 1)
            }
            syn::Expr::MethodCall(mc) => {
                (mc.method == "who" && mc.args.is_empty() && self.is_ctx(f, &mc.receiver, at))
                    || self.comes_from_request(f, &mc.receiver, at, depth + 1)
            }
            syn::Expr::Call(c) => {
                let syn::Expr::Path(p) = &*c.func else { return false };
                let name = p.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default();
                // A key made of an endpoint from the request (`key_of(ep)`, a conversion).
                matches!(name.as_str(), "key_of" | "from" | "into")
                    && c.args.len() == 1
                    && self.comes_from_request(f, &c.args[0], at, depth + 1)
            }
            syn::Expr::Path(_) => {
                let Some(name) = ident_of(expr) else { return false };
                if let Some(b) = self.binding(f, &name, at) {
                    return match &b.source {
                        Some((source, _)) => self.comes_from_request(f, source, Some(b.pos), depth + 1),
                        None => false,
                    };
                }
                let Some(i) = self.param_index(f, &name) else { return false };
                self.every_caller_passes(f, i, depth, |caller, arg, pos| {
                    self.comes_from_request(caller, arg, pos, depth + 1)
                })
            }
            _ => false,
        }
    }

    /// Whether every caller of `f` passes, as its argument `i`, a value satisfying `check`.
    fn every_caller_passes(
        &self,
        f: FnId,
        i: usize,
        depth: usize,
        check: impl Fn(FnId, &syn::Expr, Option<Pos>) -> bool,
    ) -> bool {
        if depth > MAX_KEY_DEPTH {
            return false;
        }
        let Some(calls) = self.callers.get(&f) else { return false };
        calls.iter().all(|&(caller, c)| {
            let call = &self.facts[caller].calls[c];
            call.args.get(i).is_some_and(|arg| check(caller, arg, Some(call.pos)))
        })
    }

    /// Whether `expr` is the handler's context (`ctx`, of type `task::Ctx`).
    fn is_ctx(&self, f: FnId, expr: &syn::Expr, at: Option<Pos>) -> bool {
        let params = self.index.params(f);
        let ty = crate::body::type_of(self.index, f, &params, &self.facts[f].bindings, at, expr);
        match ty {
            Some(t) => t.path.ends_with("::task::Ctx"),
            None => ident_of(expr).is_some_and(|n| n == "ctx"),
        }
    }

    /// Whether a write's requester token is the task loop's own (`ctx.requester()`), directly or
    /// through `let`s and parameters.
    fn task_loop_token(&self, f: FnId, w: &WriteFact) -> bool {
        w.requester.as_ref().is_some_and(|r| self.is_requester_call(f, r, Some(w.pos), 0))
    }

    fn is_requester_call(&self, f: FnId, expr: &syn::Expr, at: Option<Pos>, depth: usize) -> bool {
        if depth > MAX_KEY_DEPTH {
            return false;
        }
        match strip(expr) {
            syn::Expr::MethodCall(mc) => {
                mc.method == "requester" && mc.args.is_empty() && self.is_ctx(f, &mc.receiver, at)
            }
            syn::Expr::Path(_) => {
                let Some(name) = ident_of(expr) else { return false };
                if let Some(b) = self.binding(f, &name, at) {
                    return match &b.source {
                        Some((source, projs)) if projs.is_empty() => {
                            self.is_requester_call(f, source, Some(b.pos), depth + 1)
                        }
                        _ => false,
                    };
                }
                let Some(i) = self.param_index(f, &name) else { return false };
                self.every_caller_passes(f, i, depth, |caller, arg, pos| {
                    self.is_requester_call(caller, arg, pos, depth + 1)
                })
            }
            _ => false,
        }
    }
}

/// Methods of the standard library's traits implemented by a server's types (`Drop::drop`,
/// `Deref::deref`, operators, `Iterator::next`) run where the language calls them, not where the
/// source names them. One with effects of its own (a write, a send, a call into the servers, a
/// construct not followed) is made a callee of every function of its server's component, so every
/// entry point of that server may run it.
pub fn implicit_calls(index: &Index, facts: &mut [Facts], servers: &BTreeSet<String>) {
    let mut by_component: BTreeMap<String, Vec<FnId>> = BTreeMap::new();
    for (g, def) in index.fns.iter().enumerate() {
        let Some(trait_path) = &def.trait_path else { continue };
        let component = index.component(def.module);
        let foreign_trait = !index.is_servers_trait(trait_path) && !trait_path.starts_with(&format!("{OS_CRATE}::"));
        let fact = &facts[g];
        let has_effects = !fact.writes.is_empty()
            || !fact.sends.is_empty()
            || !fact.not_followed.is_empty()
            || !fact.dynamic_calls.is_empty()
            || fact.calls.iter().any(|c| !c.as_value);
        if foreign_trait && servers.contains(&component) && has_effects {
            by_component.entry(component).or_default().push(g);
        }
    }
    for (f, fact) in facts.iter_mut().enumerate() {
        let Some(implicit) = by_component.get(&index.component(index.fns[f].module)) else { continue };
        let callees: Vec<FnId> = implicit.iter().copied().filter(|&g| g != f).collect();
        if !callees.is_empty() {
            fact.calls.push(CallFact {
                callee: Callee::Methods(callees),
                args: Vec::new(),
                pos: (0, 0),
                as_value: false,
            });
        }
    }
}

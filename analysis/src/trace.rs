//! IPC source points: for each call of a request primitive, the destination endpoint and the
//! message type, traced back from the arguments to constants as the fusing paper does: through
//! `let` bindings, `Message::with(TYPE, ..)`/`Message::new(TYPE)`, later `msg.m_type = X`
//! assignments, struct literals' fields, `if`/`match` branches (several candidates), functions
//! that return the value, and - when an argument is a parameter of the function holding the send -
//! upward through every caller, inlining it: each chain of call sites that reaches constants is one
//! *context* of the send site (the paper's "call sites after inlining").
//!
//! A value that comes from the request's payload, the requester, or anything else computed at run
//! time is *non-constant*, with the reason; a non-constant destination fans out to every server
//! (see `fuse`).
//!
//! Invariant: tracing terminates: every step either shrinks the expression or moves to another
//! function under a depth bound, and a chain never visits a function twice.

use crate::body::{Facts, Pos, Primitive, Proj, SendFact, ident_of};
use crate::consts::Value;
use crate::index::{FnId, Index, Item};
use crate::source::position;
use std::collections::{BTreeMap, BTreeSet};
use syn::spanned::Spanned;

/// How far tracing follows values into other functions (returns and inlined callers) before it
/// calls the value non-constant. Real chains in the servers are two or three calls deep.
pub const MAX_TRACE_DEPTH: usize = 24;
/// How many callers deep a send site is inlined (the paper inlines until constants are found).
pub const MAX_INLINE_DEPTH: usize = 8;

/// What tracing found for one operand: constant candidates (value and the name it was written
/// as), reasons it is decided at run time, and parameters of the outermost function not yet
/// bound to a caller's argument.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Traced {
    /// Constant candidates: value and name.
    pub consts: BTreeSet<(i128, String)>,
    /// Why some candidate is not a constant.
    pub runtime: Vec<String>,
    /// Unbound parameters: (function, position).
    pub params: BTreeSet<(FnId, usize)>,
}

impl Traced {
    fn konst(value: i128, name: String) -> Traced {
        Traced { consts: BTreeSet::from([(value, name)]), ..Traced::default() }
    }

    fn runtime(reason: String) -> Traced {
        Traced { runtime: vec![reason], ..Traced::default() }
    }

    fn merge(&mut self, other: Traced) {
        self.consts.extend(other.consts);
        self.runtime.extend(other.runtime);
        self.params.extend(other.params);
    }

    /// Exactly one constant and nothing else.
    pub fn exact(&self) -> Option<&(i128, String)> {
        (self.consts.len() == 1 && self.runtime.is_empty() && self.params.is_empty())
            .then(|| self.consts.first())
            .flatten()
    }

    /// Every candidate is a constant.
    pub fn all_constant(&self) -> bool {
        !self.consts.is_empty() && self.runtime.is_empty() && self.params.is_empty()
    }
}

/// One function of a context: its arguments at the call that entered it, and where.
#[derive(Clone)]
struct Frame {
    f: FnId,
    args: Option<Vec<syn::Expr>>,
    /// Bindings after this position are not yet made (the send or the call in this function).
    at: Option<Pos>,
    parent: Option<usize>,
}

/// A call edge used to inline: the caller and the index of the call in its facts.
pub type CallRef = (FnId, usize);

/// One context of a send site: the inlined chain of callers and what the operands are in it.
#[derive(Clone)]
pub struct Context {
    /// The callers inlined, innermost first (empty: the operands were resolved in the function
    /// holding the send).
    pub chain: Vec<CallRef>,
    /// The outermost function of the chain: an entry point that reaches it uses this context.
    pub anchor: FnId,
    /// The destination: endpoint slots.
    pub dst: Traced,
    /// The message type (for a kernel call: its code, `KERNEL_CALL_BASE` + the discriminant).
    pub m_type: Traced,
}

/// Traces operands over the functions' facts.
pub struct Tracer<'a> {
    index: &'a Index,
    facts: &'a [Facts],
    callers: BTreeMap<FnId, Vec<CallRef>>,
    /// `KERNEL_CALL_BASE` as the servers' source defines it.
    kernel_call_base: i128,
}

fn strip(expr: &syn::Expr) -> &syn::Expr {
    match expr {
        syn::Expr::Paren(p) => strip(&p.expr),
        syn::Expr::Group(g) => strip(&g.expr),
        syn::Expr::Reference(r) => strip(&r.expr),
        syn::Expr::Cast(c) => strip(&c.expr),
        other => other,
    }
}

/// The source text of a node, for reasons people read.
pub fn text(node: &impl Spanned) -> String {
    node.span().source_text().unwrap_or_else(|| "<expression>".into()).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The expressions a value may come out of: an `if`'s and a `match`'s branches, a block's tail.
/// Branches that never produce a value (`return`, `panic!`...) give none.
fn outcomes(expr: &syn::Expr) -> Option<Vec<&syn::Expr>> {
    match strip(expr) {
        syn::Expr::If(i) => {
            let mut out: Vec<&syn::Expr> = block_tail(&i.then_branch).into_iter().collect();
            if let Some((_, e)) = &i.else_branch {
                out.push(e);
            }
            Some(out)
        }
        syn::Expr::Match(m) => Some(m.arms.iter().map(|a| &*a.body).collect()),
        syn::Expr::Block(b) => Some(block_tail(&b.block).into_iter().collect()),
        syn::Expr::Return(_) | syn::Expr::Break(_) | syn::Expr::Continue(_) => Some(Vec::new()),
        syn::Expr::Macro(m)
            if m.mac.path.segments.last().is_some_and(|s| {
                ["panic", "unreachable", "todo", "unimplemented"].contains(&s.ident.to_string().as_str())
            }) =>
        {
            Some(Vec::new())
        }
        _ => None,
    }
}

fn block_tail(block: &syn::Block) -> Option<&syn::Expr> {
    match block.stmts.last() {
        Some(syn::Stmt::Expr(e, None)) => Some(e),
        _ => None,
    }
}

/// What kind of operand is traced.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    /// An endpoint: slots.
    Endpoint,
    /// An integer (a message type).
    Int,
    /// A message: its type.
    Message,
    /// A `KernelCall`: its window code.
    KernelCall,
}

impl<'a> Tracer<'a> {
    /// A tracer over `facts` (indexed by function). `kernel_call_base` is the servers' window code
    /// base for kernel calls.
    /// Only callers in `program` are inlined.
    pub fn new(index: &'a Index, facts: &'a [Facts], kernel_call_base: i128, program: &BTreeSet<FnId>) -> Tracer<'a> {
        let mut callers: BTreeMap<FnId, Vec<CallRef>> = BTreeMap::new();
        for (g, fx) in facts.iter().enumerate() {
            if !program.contains(&g) {
                continue;
            }
            for (i, call) in fx.calls.iter().enumerate() {
                let targets = match &call.callee {
                    crate::body::Callee::Fn(f) => vec![*f],
                    crate::body::Callee::Methods(fs) => fs.clone(),
                };
                for f in targets {
                    callers.entry(f).or_default().push((g, i));
                }
            }
        }
        Tracer { index, facts, callers, kernel_call_base }
    }

    /// The callers of `f`.
    pub fn callers(&self, f: FnId) -> &[CallRef] {
        self.callers.get(&f).map_or(&[], Vec::as_slice)
    }

    /// Every context of the send `send` in function `f`.
    pub fn contexts(&self, f: FnId, send: &SendFact) -> Vec<Context> {
        let mut out = Vec::new();
        self.expand(f, send, Vec::new(), &mut out);
        out
    }

    /// The frames of a context, outermost first: each function with the arguments of the call
    /// that entered it (none for the outermost) and the position up to which its bindings count.
    fn frames_for(&self, f: FnId, send: &SendFact, chain: &[CallRef]) -> (Vec<Frame>, usize) {
        let n = chain.len();
        let fns: Vec<FnId> = chain.iter().rev().map(|c| c.0).chain(std::iter::once(f)).collect();
        let mut frames = Vec::with_capacity(n + 1);
        for (j, &fj) in fns.iter().enumerate() {
            let args = (j > 0).then(|| {
                let (g, i) = chain[n - j];
                self.facts[g].calls[i].args.clone()
            });
            let at = if j == n {
                send.pos
            } else {
                let (g, i) = chain[n - 1 - j];
                self.facts[g].calls[i].pos
            };
            frames.push(Frame { f: fj, args, at: Some(at), parent: j.checked_sub(1) });
        }
        (frames, n)
    }

    fn expand(&self, f: FnId, send: &SendFact, chain: Vec<CallRef>, out: &mut Vec<Context>) {
        let (mut frames, top) = self.frames_for(f, send, &chain);
        let (dst, m_type) = match send.primitive {
            Primitive::Kernel => {
                (Traced::konst(0, "KERNEL".into()), self.trace(&send.msg, Want::KernelCall, &mut frames, top, 0))
            }
            _ => {
                let dst = send.dst.as_ref().expect("IPC sends have a destination");
                (
                    self.trace(dst, Want::Endpoint, &mut frames, top, 0),
                    self.trace(&send.msg, Want::Message, &mut frames, top, 0),
                )
            }
        };
        let outer = chain.last().map_or(f, |&(caller, _)| caller);
        let unbound: BTreeSet<(FnId, usize)> = dst.params.union(&m_type.params).copied().collect();
        if unbound.is_empty() {
            out.push(Context { chain, anchor: outer, dst, m_type });
            return;
        }
        let callers: Vec<CallRef> = self
            .callers(outer)
            .iter()
            .copied()
            .filter(|(g, _)| *g != f && !chain.iter().any(|(c, _)| c == g))
            .collect();
        if chain.len() >= MAX_INLINE_DEPTH || callers.is_empty() {
            let why = if callers.is_empty() {
                format!("a parameter of `{}`, which no function of the servers calls", self.index.fns[outer].path)
            } else {
                format!("a parameter still unbound after inlining {MAX_INLINE_DEPTH} callers")
            };
            let close = |mut t: Traced| {
                if !t.params.is_empty() {
                    t.params.clear();
                    t.runtime.push(why.clone());
                }
                t
            };
            out.push(Context { chain, anchor: outer, dst: close(dst), m_type: close(m_type) });
            return;
        }
        for caller in callers {
            let mut longer = chain.clone();
            longer.push(caller);
            self.expand(f, send, longer, out);
        }
    }

    fn binding_source(&self, frame: &Frame, name: &str) -> Option<&crate::body::Binding> {
        self.facts[frame.f].bindings.iter().rev().find(|b| b.name == name && frame.at.is_none_or(|at| b.pos < at))
    }

    fn param_index(&self, f: FnId, name: &str) -> Option<usize> {
        self.index.params(f).iter().position(|(n, _)| n == name)
    }

    /// Traces `expr` (written in frame `k`'s function) as `want`.
    fn trace(&self, expr: &syn::Expr, want: Want, frames: &mut Vec<Frame>, k: usize, depth: usize) -> Traced {
        if depth > MAX_TRACE_DEPTH {
            return Traced::runtime(format!("`{}` is too deep to trace", text(expr)));
        }
        let expr = strip(expr);
        if let Some(branches) = outcomes(expr) {
            let mut all = Traced::default();
            for b in branches {
                all.merge(self.trace(b, want, frames, k, depth + 1));
            }
            return all;
        }
        let frame = frames[k].clone();
        let module = self.index.fns[frame.f].module;
        let self_ty = self.index.fns[frame.f].self_ty.clone();
        // A local name or a parameter.
        if let Some(name) = ident_of(expr) {
            if let Some(b) = self.binding_source(&frame, &name).cloned() {
                let mut traced = match &b.source {
                    Some((src, projs)) if projs.is_empty() => self.trace(src, want, frames, k, depth + 1),
                    Some((src, projs)) => self.trace_projected(src, projs, want, frames, k, depth + 1),
                    None => Traced::runtime(format!("`{name}` is a closure parameter")),
                };
                if want == Want::Message {
                    traced.merge(self.assigned_m_type(&name, frames, k, depth));
                }
                return traced;
            }
            if let Some(i) = self.param_index(frame.f, &name) {
                return match &frame.args {
                    Some(args) => match args.get(i) {
                        Some(arg) => {
                            let arg = arg.clone();
                            let parent = frame.parent.expect("a frame with arguments has a caller");
                            self.trace(&arg, want, frames, parent, depth + 1)
                        }
                        None => Traced::runtime(format!("`{name}` comes from a function passed as a value")),
                    },
                    None => Traced { params: BTreeSet::from([(frame.f, i)]), ..Traced::default() },
                };
            }
        }
        match (want, expr) {
            (_, syn::Expr::Path(p)) => {
                let Some(path) = self.index.resolve_syn_path(module, &p.path, self_ty.as_ref()) else {
                    return Traced::runtime(format!("`{}` is not a constant of the crates read", text(expr)));
                };
                self.constant(&path, want)
            }
            (Want::Int, syn::Expr::Lit(_)) | (Want::Int, syn::Expr::Binary(_)) | (Want::Int, syn::Expr::Unary(_)) => {
                match self.index.eval(module, expr, self_ty.as_ref()).and_then(|v| v.int()) {
                    Some(v) => Traced::konst(v, text(expr)),
                    None => Traced::runtime(format!("`{}` is computed at run time", text(expr))),
                }
            }
            (Want::Message, syn::Expr::Call(c)) if self.is_message_ctor(module, &c.func, self_ty.as_ref()) => {
                match c.args.first() {
                    Some(t) => self.trace(t, Want::Int, frames, k, depth + 1),
                    None => Traced::runtime("a message without a type".into()),
                }
            }
            (Want::Endpoint, syn::Expr::Call(_)) if self.index.eval(module, expr, self_ty.as_ref()).is_some() => {
                self.value(self.index.eval(module, expr, self_ty.as_ref()), want, text(expr))
            }
            (_, syn::Expr::Call(c)) => match self.call_target(module, &c.func, self_ty.as_ref()) {
                Some(g) => self.trace_returns(g, c.args.iter().cloned().collect(), want, frames, k, depth),
                None => Traced::runtime(format!("`{}` is computed at run time", text(expr))),
            },
            (_, syn::Expr::MethodCall(mc)) => {
                let method = mc.method.to_string();
                if ["clone", "to_owned"].contains(&method.as_str()) {
                    return self.trace(&mc.receiver, want, frames, k, depth + 1);
                }
                if want == Want::Endpoint && method == "who" {
                    return Traced::runtime("the requester (`ctx.who()`)".into());
                }
                let callee = self.facts[frame.f].calls.iter().find(|c| c.pos == position(mc.method.span())).and_then(
                    |c| match &c.callee {
                        crate::body::Callee::Fn(g) => Some(*g),
                        crate::body::Callee::Methods(gs) if gs.len() == 1 => Some(gs[0]),
                        _ => None,
                    },
                );
                match callee {
                    Some(g) => {
                        let mut args = vec![(*mc.receiver).clone()];
                        args.extend(mc.args.iter().cloned());
                        self.trace_returns(g, args, want, frames, k, depth)
                    }
                    None => Traced::runtime(format!("`{}` is computed at run time", text(expr))),
                }
            }
            (_, syn::Expr::Field(fe)) => {
                let member = match &fe.member {
                    syn::Member::Named(i) => i.to_string(),
                    syn::Member::Unnamed(i) => i.index.to_string(),
                };
                if want == Want::Int && member == "m_type" {
                    return self.trace(&fe.base, Want::Message, frames, k, depth + 1);
                }
                if want == Want::Endpoint && member == "source" {
                    return Traced::runtime(format!("the sender of the request (`{}`)", text(expr)));
                }
                self.trace_projected(&fe.base, &[Proj::Field(member)], want, frames, k, depth + 1)
            }
            _ => Traced::runtime(format!("`{}` is computed at run time", text(expr))),
        }
    }

    /// Traces `base` then the projections: only a struct literal's field can be followed.
    fn trace_projected(
        &self,
        base: &syn::Expr,
        projs: &[Proj],
        want: Want,
        frames: &mut Vec<Frame>,
        k: usize,
        depth: usize,
    ) -> Traced {
        let base = strip(base);
        if let ([Proj::Field(name), rest @ ..], syn::Expr::Struct(s)) = (projs, base)
            && let Some(fv) = s.fields.iter().find(|fv| matches!(&fv.member, syn::Member::Named(i) if i == name))
        {
            return if rest.is_empty() {
                self.trace(&fv.expr, want, frames, k, depth + 1)
            } else {
                self.trace_projected(&fv.expr, rest, want, frames, k, depth + 1)
            };
        }
        if let Some(name) = ident_of(base) {
            let frame = frames[k].clone();
            if let Some(b) = self.binding_source(&frame, &name).cloned()
                && let Some((src, first)) = &b.source
            {
                let mut all = first.clone();
                all.extend(projs.iter().cloned());
                return self.trace_projected(src, &all, want, frames, k, depth + 1);
            }
        }
        if let syn::Expr::MethodCall(mc) = base
            && mc.method == "get"
            && matches!(strip(&mc.receiver), syn::Expr::Field(f) if matches!(&f.member, syn::Member::Named(i) if i == "m"))
        {
            return Traced::runtime(format!("a field of the request's payload (`{}`)", text(base)));
        }
        Traced::runtime(format!("a part of `{}`, known at run time", text(base)))
    }

    /// The `name.m_type = X` assignments in frame `k`'s function.
    fn assigned_m_type(&self, name: &str, frames: &mut Vec<Frame>, k: usize, depth: usize) -> Traced {
        let f = frames[k].f;
        let mut all = Traced::default();
        let assigns: Vec<syn::Expr> = self.facts[f]
            .assigns
            .iter()
            .filter(|(target, _, _)| {
                matches!(strip(target), syn::Expr::Field(fe)
                    if matches!(&fe.member, syn::Member::Named(i) if i == "m_type") && ident_of(&fe.base).as_deref() == Some(name))
            })
            .map(|(_, value, _)| value.clone())
            .collect();
        for value in assigns {
            all.merge(self.trace(&value, Want::Int, frames, k, depth + 1));
        }
        all
    }

    fn trace_returns(
        &self,
        g: FnId,
        args: Vec<syn::Expr>,
        want: Want,
        frames: &mut Vec<Frame>,
        k: usize,
        depth: usize,
    ) -> Traced {
        if frames.iter().any(|fr| fr.f == g) {
            return Traced::runtime(format!("a recursive call of `{}`", self.index.fns[g].path));
        }
        let returns = self.facts[g].returns.clone();
        if returns.is_empty() {
            return Traced::runtime(format!("`{}` returns nothing traceable", self.index.fns[g].path));
        }
        frames.push(Frame { f: g, args: Some(args), at: None, parent: Some(k) });
        let inner = frames.len() - 1;
        let mut all = Traced::default();
        for r in &returns {
            all.merge(self.trace(r, want, frames, inner, depth + 1));
        }
        all
    }

    fn is_message_ctor(&self, module: usize, func: &syn::Expr, self_ty: Option<&crate::index::Ty>) -> bool {
        let syn::Expr::Path(p) = strip(func) else { return false };
        let Some(path) = self.index.resolve_syn_path(module, &p.path, self_ty) else { return false };
        path.ends_with("::Message::with") || path.ends_with("::Message::new")
    }

    fn call_target(&self, module: usize, func: &syn::Expr, self_ty: Option<&crate::index::Ty>) -> Option<FnId> {
        let syn::Expr::Path(p) = strip(func) else { return None };
        let path = self.index.resolve_syn_path(module, &p.path, self_ty)?;
        match self.index.items.get(&path)? {
            Item::Fn(g) if self.index.src.modules[self.index.fns[*g].module].krate == crate::source::OS_CRATE => {
                Some(*g)
            }
            _ => None,
        }
    }

    /// A constant (or enum variant) at `path`, as `want`.
    fn constant(&self, path: &str, want: Want) -> Traced {
        let name = path.rsplit("::").next().unwrap_or(path).to_string();
        match (want, self.index.items.get(path)) {
            (Want::KernelCall, Some(Item::Variant { enum_path, index })) if enum_path.ends_with("::KernelCall") => {
                let def = &self.index.enums[enum_path];
                let discriminant = match &def.variants[*index].1 {
                    Some(d) => self.index.eval(def.module, d, None).and_then(|v| v.int()),
                    None => Some(*index as i128),
                };
                match discriminant {
                    Some(d) => Traced::konst(self.kernel_call_base + d, name),
                    None => Traced::runtime(format!("the discriminant of `{name}` is not a constant")),
                }
            }
            _ => self.value(self.index.const_value(path), want, name),
        }
    }

    fn value(&self, value: Option<Value>, want: Want, name: String) -> Traced {
        match (want, value) {
            (Want::Endpoint, Some(Value::Endpoint { slot, .. })) => Traced::konst(slot as i128, name),
            (Want::Int, Some(Value::Int(v))) => Traced::konst(v, name),
            (_, Some(_)) => Traced::runtime(format!("`{name}` is not the kind of value expected here")),
            (_, None) => Traced::runtime(format!("`{name}` is not a constant")),
        }
    }
}

//! What one function does, read from its body in one pass (closures and macro arguments
//! included, since they run as part of it): the functions it calls, the state-changing requests
//! it sends (the send primitives `sendrec`, `asynsend` and `kernel`), the answers and
//! notifications it sends (out of scope), the tracked fields it writes, the kernel calls it makes
//! behind the recovery window's back, its `let` bindings (for tracing values back), and whether it
//! is a receive loop.
//!
//! Types are inferred only as far as needed to tell whose method is called and which tracked
//! field a container expression is: parameters, `self`, struct fields (generic arguments
//! substituted), `let` annotations, return types of the crates' functions, `?` and the usual
//! `Option`/`Result` unwrapping. Where the receiver's type is unknown, a method call may reach any
//! method of that name in the caller's component or the shared code it uses, and `x.FIELD.m()` is a
//! write to the caller's component's field `FIELD` when `m` is a mutator: over-approximations, so
//! that a missed type never hides a write.

use crate::index::{FnId, Index, Item, Ty, TyScope, substitute};
use crate::source::position;
use crate::tracked::{Tracked, WriteClass};
use proc_macro2::{TokenStream, TokenTree};
use std::collections::{BTreeMap, BTreeSet};
use syn::spanned::Spanned;
use syn::visit::Visit;

/// The send primitives that are state-changing requests (MINIX's sendrec and asynsend).
pub const REQUEST_PRIMITIVES: [&str; 2] = ["sendrec", "asynsend"];
/// The request to the kernel: `ctx.kernel(KernelCall::X, |k| ..)`.
pub const KERNEL_PRIMITIVE: &str = "kernel";
/// Answers and notifications: out of scope, as MINIX's send, sendnb, senda and notify.
pub const ANSWER_PRIMITIVES: [&str; 5] = ["reply", "reply_async", "send", "notify", "sendnb"];
/// A process's own kernel calls (`proc.sys_fork(..)`), made without `ctx.kernel`.
const DIRECT_KERNEL_PREFIX: &str = "sys_";

/// A position in a file: (line, column), both 1-based.
pub type Pos = (usize, usize);

/// One step from a bound expression to the bound value.
#[derive(Clone, Debug, PartialEq)]
pub enum Proj {
    /// A struct field (`let S { f, .. } = e`).
    Field(String),
    /// A tuple element (`let (a, b) = e`).
    Elem(usize),
    /// The value inside `Some`/`Ok` (`if let Some(x) = e`).
    Unwrap,
    /// An element of an iteration (`for x in e`).
    Part,
}

/// A local name: `let` bindings, patterns, closure parameters, local constants.
#[derive(Clone)]
pub struct Binding {
    /// The name.
    pub name: String,
    /// Where it is bound.
    pub pos: Pos,
    /// The expression it comes from (`None` for closure parameters), with the projections
    /// from that expression's value to it.
    pub source: Option<(syn::Expr, Vec<Proj>)>,
    /// Its type, when known.
    pub ty: Option<Ty>,
}

/// Whom a call may reach.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Callee {
    /// Exactly this function.
    Fn(FnId),
    /// A method call on a receiver of unknown type: any of these methods of the name.
    Methods(Vec<FnId>),
}

/// A call (or a function used as a value) in a body.
#[derive(Clone)]
pub struct CallFact {
    /// Whom it reaches.
    pub callee: Callee,
    /// The arguments, the receiver first for a method call.
    pub args: Vec<syn::Expr>,
    /// Where.
    pub pos: Pos,
}

/// The primitive of a state-changing request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Primitive {
    /// Send and wait for the answer.
    Sendrec,
    /// Send without waiting.
    Asynsend,
    /// A kernel call through `ctx.kernel`.
    Kernel,
}

impl Primitive {
    /// The method name.
    pub fn name(self) -> &'static str {
        match self {
            Primitive::Sendrec => "sendrec",
            Primitive::Asynsend => "asynsend",
            Primitive::Kernel => "kernel",
        }
    }
}

/// A call of a request primitive.
#[derive(Clone)]
pub struct SendFact {
    /// Which primitive.
    pub primitive: Primitive,
    /// The destination argument (none for a kernel call).
    pub dst: Option<syn::Expr>,
    /// The message argument, or the `KernelCall` argument of a kernel call.
    pub msg: syn::Expr,
    /// Where.
    pub pos: Pos,
}

/// A write to tracked fields.
#[derive(Clone)]
pub struct WriteFact {
    /// The fields it may write (one when the receiver is known, several when only the container
    /// type or the field name is).
    pub fields: Vec<usize>,
    /// The mutator's class rule.
    pub class: WriteClass,
    /// The mutator (`insert_global`).
    pub method: String,
    /// Where.
    pub pos: Pos,
    /// Whether the field was identified by its receiver's type (not by name only).
    pub precise: bool,
}

/// Everything one function's body says.
#[derive(Clone, Default)]
pub struct Facts {
    /// Local names, in source order.
    pub bindings: Vec<Binding>,
    /// Calls and function references.
    pub calls: Vec<CallFact>,
    /// State-changing requests.
    pub sends: Vec<SendFact>,
    /// Answers and notifications (primitive name, position).
    pub answers: Vec<(String, Pos)>,
    /// Tracked writes.
    pub writes: Vec<WriteFact>,
    /// Kernel calls made directly on the process, not through `ctx.kernel` (name, position).
    pub direct_kernel: Vec<(String, Pos)>,
    /// Assignments `target = value`, for values changed after their binding (`msg.m_type = X`).
    pub assigns: Vec<(syn::Expr, syn::Expr, Pos)>,
    /// The values it returns (tail expression and `return` expressions).
    pub returns: Vec<syn::Expr>,
    /// It receives in a loop.
    pub receive_loop: bool,
    /// It dispatches through a generic server's call table (`S::calls()`).
    pub table_dispatch: bool,
    /// Calls through a function value it cannot follow (`(call.handler)(..)`).
    pub dynamic_calls: usize,
}

/// Reads one function.
pub struct BodyReader<'a> {
    index: &'a Index,
    tracked: &'a Tracked,
    f: FnId,
    component: String,
    /// Components whose methods a call with an unknown receiver may reach.
    reachable_components: &'a BTreeSet<String>,
    /// Types the function's module imports by name (a receiver of unknown type is more likely
    /// one of these or one of its own component's).
    imported_types: BTreeSet<String>,
    params: Vec<(String, Option<Ty>)>,
    facts: Facts,
    loop_depth: usize,
    /// Inside the arguments of `ctx.kernel(..)`: the closure's own kernel call is the recorded one.
    in_kernel_call: usize,
}

/// Whether a function is the definition of a primitive (a wrapper named like one, with `self`):
/// its own body calls the kernel's primitives, which are not sends of the server.
fn defines_primitive(index: &Index, f: FnId) -> bool {
    let def = &index.fns[f];
    def.has_receiver()
        && (REQUEST_PRIMITIVES.contains(&def.ident.as_str())
            || ANSWER_PRIMITIVES.contains(&def.ident.as_str())
            || def.ident == KERNEL_PRIMITIVE)
}

/// Splits a macro's tokens at top-level `,` and `;` and parses each piece that is an expression.
fn macro_exprs(tokens: &TokenStream) -> Vec<syn::Expr> {
    let mut pieces: Vec<TokenStream> = vec![TokenStream::new()];
    for tt in tokens.clone() {
        match &tt {
            TokenTree::Punct(p) if p.as_char() == ',' || p.as_char() == ';' => pieces.push(TokenStream::new()),
            _ => pieces.last_mut().expect("one piece at least").extend([tt]),
        }
    }
    pieces.into_iter().filter(|p| !p.is_empty()).filter_map(|p| syn::parse2::<syn::Expr>(p).ok()).collect()
}

fn pos_of(node: &impl Spanned) -> Pos {
    position(node.span())
}

fn strip(expr: &syn::Expr) -> &syn::Expr {
    match expr {
        syn::Expr::Paren(p) => strip(&p.expr),
        syn::Expr::Group(g) => strip(&g.expr),
        syn::Expr::Reference(r) => strip(&r.expr),
        syn::Expr::Unary(syn::ExprUnary { op: syn::UnOp::Deref(_), expr, .. }) => strip(expr),
        other => other,
    }
}

/// The single identifier a path expression is, if it is one.
pub fn ident_of(expr: &syn::Expr) -> Option<String> {
    match strip(expr) {
        syn::Expr::Path(p) if p.qself.is_none() && p.path.segments.len() == 1 => {
            Some(p.path.segments[0].ident.to_string())
        }
        _ => None,
    }
}

impl<'a> BodyReader<'a> {
    /// Reads function `f`.
    pub fn read(index: &'a Index, tracked: &'a Tracked, f: FnId, reachable_components: &'a BTreeSet<String>) -> Facts {
        let def = &index.fns[f];
        let imported_types = index
            .use_targets(def.module)
            .into_iter()
            .filter(|t| matches!(index.items.get(t), Some(Item::Struct | Item::Enum)))
            .collect();
        let mut reader = BodyReader {
            index,
            tracked,
            f,
            component: index.component(def.module),
            reachable_components,
            imported_types,
            params: index.params(f),
            facts: Facts::default(),
            loop_depth: 0,
            in_kernel_call: 0,
        };
        reader.visit_block(&def.block);
        if let Some(syn::Stmt::Expr(tail, None)) = def.block.stmts.last() {
            reader.facts.returns.push(tail.clone());
        }
        reader.facts
    }

    fn module(&self) -> usize {
        self.index.fns[self.f].module
    }

    fn self_ty(&self) -> Option<&Ty> {
        self.index.fns[self.f].self_ty.as_ref()
    }

    fn scope(&self) -> TyScope<'_> {
        TyScope {
            self_ty: self.self_ty(),
            generics: self.index.fns[self.f].generics.keys().map(String::as_str).collect(),
        }
    }

    /// The latest binding of `name` (in source order, bindings so far).
    fn binding(&self, name: &str) -> Option<&Binding> {
        self.facts.bindings.iter().rev().find(|b| b.name == name)
    }

    /// The type of `expr`, as far as it can be told.
    fn type_of(&self, expr: &syn::Expr) -> Option<Ty> {
        type_of(self.index, self.f, &self.params, &self.facts.bindings, None, expr)
    }

    fn bind_pattern(&mut self, pat: &syn::Pat, source: Option<(syn::Expr, Vec<Proj>)>, ty: Option<Ty>) {
        match pat {
            syn::Pat::Ident(pi) => {
                let ty = ty.or_else(|| {
                    let (e, projs) = source.as_ref()?;
                    project_type(self.index, self.type_of(e)?, projs)
                });
                self.facts.bindings.push(Binding { name: pi.ident.to_string(), pos: pos_of(&pi.ident), source, ty });
                if let Some((_, sub)) = &pi.subpat {
                    self.bind_pattern(sub, None, None);
                }
            }
            syn::Pat::Type(pt) => {
                let ty = self.index.resolve_type(self.module(), &pt.ty, &self.scope());
                self.bind_pattern(&pt.pat, source, ty);
            }
            syn::Pat::Reference(r) => self.bind_pattern(&r.pat, source, ty),
            syn::Pat::Guard(g) => self.bind_pattern(&g.pat, source, ty),
            syn::Pat::Paren(p) => self.bind_pattern(&p.pat, source, ty),
            syn::Pat::Or(o) => {
                if let Some(first) = o.cases.first() {
                    self.bind_pattern(first, source, ty);
                }
            }
            syn::Pat::Tuple(t) => {
                for (i, sub) in t.elems.iter().enumerate() {
                    let s = source.clone().map(|(e, mut p)| {
                        p.push(Proj::Elem(i));
                        (e, p)
                    });
                    let elem_ty = ty.as_ref().and_then(|t| t.args.get(i).cloned());
                    self.bind_pattern(sub, s, elem_ty);
                }
            }
            syn::Pat::Struct(ps) => {
                for fp in &ps.fields {
                    let name = match &fp.member {
                        syn::Member::Named(i) => i.to_string(),
                        syn::Member::Unnamed(i) => i.index.to_string(),
                    };
                    let s = source.clone().map(|(e, mut p)| {
                        p.push(Proj::Field(name.clone()));
                        (e, p)
                    });
                    self.bind_pattern(&fp.pat, s, None);
                }
            }
            syn::Pat::TupleStruct(ts) => {
                let last = ts.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default();
                let unwrap = matches!(last.as_str(), "Some" | "Ok" | "Err");
                for (i, sub) in ts.elems.iter().enumerate() {
                    let s = source.clone().map(|(e, mut p)| {
                        p.push(if unwrap { Proj::Unwrap } else { Proj::Elem(i) });
                        (e, p)
                    });
                    self.bind_pattern(sub, s, None);
                }
            }
            syn::Pat::Slice(s) => {
                for sub in &s.elems {
                    let src = source.clone().map(|(e, mut p)| {
                        p.push(Proj::Part);
                        (e, p)
                    });
                    self.bind_pattern(sub, src, None);
                }
            }
            _ => {}
        }
    }

    /// The tracked fields a container expression stands for, and whether that is known exactly.
    fn tracked_target(&self, expr: &syn::Expr) -> Option<(String, Vec<usize>, bool)> {
        let expr = strip(expr);
        let ty = self.type_of(expr);
        if let Some(ty) = &ty
            && let Some(container) = self.tracked.container_of(ty)
        {
            if let syn::Expr::Field(fe) = expr
                && let syn::Member::Named(member) = &fe.member
                && let Some(base) = self.type_of(&fe.base)
                && let Some(field) = self.tracked.field(&base.path, &member.to_string())
            {
                return Some((container.path.clone(), vec![field], true));
            }
            if let Some(name) = ident_of(expr)
                && let Some(b) = self.binding(&name)
                && let Some((src, projs)) = &b.source
                && projs.is_empty()
                && let Some(found) = self.tracked_target(src)
            {
                return Some(found);
            }
            let fields = self.tracked.fields_of_container(&self.component, &container.path);
            return Some((container.path.clone(), fields, false));
        }
        if ty.is_some() {
            return None;
        }
        // Unknown type: a field named like one of this component's tracked fields.
        if let syn::Expr::Field(fe) = expr
            && let syn::Member::Named(member) = &fe.member
        {
            let fields = self.tracked.fields_named(&self.component, &member.to_string());
            if let Some(&first) = fields.first() {
                return Some((self.tracked.fields[first].container.clone(), fields, false));
            }
        }
        if let Some(name) = ident_of(expr)
            && let Some(b) = self.binding(&name)
            && let Some((src, projs)) = &b.source
            && projs.is_empty()
        {
            return self.tracked_target(src);
        }
        None
    }

    fn record_call(&mut self, callee: Callee, args: Vec<syn::Expr>, pos: Pos) {
        self.facts.calls.push(CallFact { callee, args, pos });
    }

    /// The crate functions a method call may reach.
    fn method_callee(&self, receiver: &syn::Expr, method: &str) -> Option<Callee> {
        match self.type_of(receiver) {
            Some(ty) if ty.path.starts_with('<') => None,
            Some(ty) if ty.is_foreign() || self.tracked.container_of(&ty).is_some() => None,
            Some(ty) => self
                .index
                .methods
                .get(&ty.path)
                .and_then(|m| m.get(method))
                .filter(|&&f| self.in_servers(f))
                .map(|&f| Callee::Fn(f)),
            None => {
                let candidates: Vec<FnId> = self
                    .index
                    .methods_by_name
                    .get(method)
                    .into_iter()
                    .flatten()
                    .copied()
                    .filter(|&f| {
                        let m = self.index.fns[f].module;
                        let component = self.index.component(m);
                        let own_or_imported = component == self.component
                            || self.index.fns[f]
                                .self_ty
                                .as_ref()
                                .is_some_and(|t| self.imported_types.contains(&t.path));
                        self.index.src.modules[m].krate == crate::source::OS_CRATE
                            && self.reachable_components.contains(&component)
                            && own_or_imported
                    })
                    .collect();
                (!candidates.is_empty()).then_some(Callee::Methods(candidates))
            }
        }
    }

    fn path_callee(&self, path: &syn::Path) -> Option<FnId> {
        if path.segments.len() == 1 {
            let name = path.segments[0].ident.to_string();
            if self.binding(&name).is_some() || self.params.iter().any(|(p, _)| *p == name) {
                return None;
            }
        }
        let resolved = self.index.resolve_syn_path(self.module(), path, self.self_ty())?;
        match self.index.items.get(&resolved)? {
            Item::Fn(f) if self.in_servers(*f) => Some(*f),
            _ => None,
        }
    }

    /// Whether `f` is the servers' own code (calls into the kernel's or recovery's library code
    /// are not part of the fused program: the containers' methods are modelled as writes).
    fn in_servers(&self, f: FnId) -> bool {
        self.index.src.modules[self.index.fns[f].module].krate == crate::source::OS_CRATE
    }
}

impl<'ast> Visit<'ast> for BodyReader<'_> {
    fn visit_local(&mut self, local: &'ast syn::Local) {
        if let Some(init) = &local.init {
            self.visit_expr(&init.expr);
            if let Some((_, diverge)) = &init.diverge {
                self.visit_expr(diverge);
            }
        }
        let source = local.init.as_ref().map(|i| ((*i.expr).clone(), Vec::new()));
        self.bind_pattern(&local.pat, source, None);
    }

    fn visit_stmt(&mut self, stmt: &'ast syn::Stmt) {
        match stmt {
            syn::Stmt::Item(syn::Item::Const(c)) => {
                self.visit_expr(&c.expr);
                let ty = self.index.resolve_type(self.module(), &c.ty, &self.scope());
                self.facts.bindings.push(Binding {
                    name: c.ident.to_string(),
                    pos: pos_of(&c.ident),
                    source: Some(((*c.expr).clone(), Vec::new())),
                    ty,
                });
            }
            syn::Stmt::Item(_) => {}
            other => syn::visit::visit_stmt(self, other),
        }
    }

    fn visit_expr_let(&mut self, e: &'ast syn::ExprLet) {
        self.visit_expr(&e.expr);
        self.bind_pattern(&e.pat, Some(((*e.expr).clone(), Vec::new())), None);
    }

    fn visit_expr_match(&mut self, e: &'ast syn::ExprMatch) {
        self.visit_expr(&e.expr);
        for arm in &e.arms {
            self.bind_pattern(&arm.pat, Some(((*e.expr).clone(), Vec::new())), None);
            if let syn::Pat::Guard(g) = &arm.pat {
                self.visit_expr(&g.guard);
            }
            self.visit_expr(&arm.body);
        }
    }

    fn visit_expr_for_loop(&mut self, e: &'ast syn::ExprForLoop) {
        self.visit_expr(&e.expr);
        self.bind_pattern(&e.pat, Some(((*e.expr).clone(), vec![Proj::Part])), None);
        self.loop_depth += 1;
        self.visit_block(&e.body);
        self.loop_depth -= 1;
    }

    fn visit_expr_loop(&mut self, e: &'ast syn::ExprLoop) {
        self.loop_depth += 1;
        syn::visit::visit_expr_loop(self, e);
        self.loop_depth -= 1;
    }

    fn visit_expr_while(&mut self, e: &'ast syn::ExprWhile) {
        self.loop_depth += 1;
        syn::visit::visit_expr_while(self, e);
        self.loop_depth -= 1;
    }

    fn visit_expr_closure(&mut self, e: &'ast syn::ExprClosure) {
        for input in &e.inputs {
            self.bind_pattern(input, None, None);
        }
        self.visit_expr(&e.body);
    }

    fn visit_expr_return(&mut self, e: &'ast syn::ExprReturn) {
        if let Some(v) = &e.expr {
            self.facts.returns.push((**v).clone());
        }
        syn::visit::visit_expr_return(self, e);
    }

    fn visit_expr_assign(&mut self, e: &'ast syn::ExprAssign) {
        self.facts.assigns.push(((*e.left).clone(), (*e.right).clone(), pos_of(&e.left)));
        syn::visit::visit_expr_assign(self, e);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        for expr in macro_exprs(&mac.tokens) {
            self.visit_expr(&expr);
        }
    }

    fn visit_expr_path(&mut self, e: &'ast syn::ExprPath) {
        // A function used as a value (`.map(Region::pages)`): it may be called.
        if let Some(f) = self.path_callee(&e.path) {
            self.record_call(Callee::Fn(f), Vec::new(), pos_of(e));
        }
    }

    fn visit_expr_call(&mut self, e: &'ast syn::ExprCall) {
        match &*e.func {
            syn::Expr::Path(p) => {
                let segs: Vec<String> = p.path.segments.iter().map(|s| s.ident.to_string()).collect();
                let def = &self.index.fns[self.f];
                if let [generic, method] = segs.as_slice()
                    && method == "calls"
                    && def.generics.get(generic).is_some_and(|b| b.iter().any(|b| b == "Server"))
                {
                    self.facts.table_dispatch = true;
                }
                if segs.last().is_some_and(|s| s == "receive") && self.loop_depth > 0 {
                    self.facts.receive_loop = true;
                }
                if let Some(f) = self.path_callee(&p.path) {
                    self.record_call(Callee::Fn(f), e.args.iter().cloned().collect(), pos_of(&e.func));
                }
            }
            other => {
                if !matches!(strip(other), syn::Expr::Closure(_)) && ident_of(other).is_none() {
                    self.facts.dynamic_calls += 1;
                }
                self.visit_expr(other);
            }
        }
        for arg in &e.args {
            self.visit_expr(arg);
        }
    }

    fn visit_expr_method_call(&mut self, e: &'ast syn::ExprMethodCall) {
        let method = e.method.to_string();
        let pos = pos_of(&e.method);
        let args: Vec<syn::Expr> = e.args.iter().cloned().collect();
        if method == "receive" && self.loop_depth > 0 {
            self.facts.receive_loop = true;
        }
        if let Some((container, fields, precise)) = self.tracked_target(&e.receiver) {
            if let Some(class) = self.tracked.containers.get(&container).and_then(|c| c.mutators.get(&method)) {
                self.facts.writes.push(WriteFact { fields, class: *class, method, pos, precise });
            }
            self.visit_expr(&e.receiver);
            for arg in &args {
                self.visit_expr(arg);
            }
            return;
        }
        let is_primitive_site = !defines_primitive(self.index, self.f);
        if is_primitive_site && REQUEST_PRIMITIVES.contains(&method.as_str()) && args.len() == 2 {
            let primitive = if method == "sendrec" { Primitive::Sendrec } else { Primitive::Asynsend };
            self.facts.sends.push(SendFact { primitive, dst: Some(args[0].clone()), msg: args[1].clone(), pos });
        } else if is_primitive_site && method == KERNEL_PRIMITIVE && args.len() == 2 {
            self.facts.sends.push(SendFact { primitive: Primitive::Kernel, dst: None, msg: args[0].clone(), pos });
            self.visit_expr(&e.receiver);
            self.in_kernel_call += 1;
            for arg in &args {
                self.visit_expr(arg);
            }
            self.in_kernel_call -= 1;
            return;
        } else if is_primitive_site && ANSWER_PRIMITIVES.contains(&method.as_str()) {
            self.facts.answers.push((method.clone(), pos));
        } else if method.starts_with(DIRECT_KERNEL_PREFIX) && self.in_kernel_call == 0 {
            self.facts.direct_kernel.push((method.clone(), pos));
        } else if let Some(callee) = self.method_callee(&e.receiver, &method) {
            let mut all = vec![(*e.receiver).clone()];
            all.extend(args.iter().cloned());
            self.record_call(callee, all, pos);
        }
        self.visit_expr(&e.receiver);
        for arg in &args {
            self.visit_expr(arg);
        }
    }
}

/// The type after following `projs` from a value of type `ty`.
pub fn project_type(index: &Index, ty: Ty, projs: &[Proj]) -> Option<Ty> {
    let mut cur = ty;
    for p in projs {
        cur = match p {
            Proj::Field(name) => index.field_type(&cur, name)?,
            Proj::Elem(i) if cur.path == "()" => cur.args.get(*i)?.clone(),
            Proj::Elem(_) => return None,
            Proj::Unwrap => unwrap_type(&cur)?,
            Proj::Part => element_type(&cur)?,
        };
    }
    Some(cur)
}

/// Collections whose element is their first type argument.
const COLLECTIONS: [&str; 7] = ["?Vec", "[]", "?VecDeque", "?BTreeSet", "?Option", "?HashSet", "?Iter"];
/// Iterator adaptors that keep the element type.
const SAME_ELEMENT_METHODS: [&str; 10] =
    ["iter", "iter_mut", "into_iter", "drain", "rev", "skip", "take", "filter", "by_ref", "copied"];

/// The element a `for` loop (or a match arm) gets out of a value of type `ty`.
fn element_type(ty: &Ty) -> Option<Ty> {
    match ty.path.as_str() {
        p if COLLECTIONS.contains(&p) => ty.args.first().cloned(),
        "?Enumerate" => Some(Ty { path: "()".into(), args: vec![Ty::plain("?usize"), ty.args.first()?.clone()] }),
        "?Zip" => Some(Ty { path: "()".into(), args: ty.args.clone() }),
        "?Windows" => Some(Ty { path: "[]".into(), args: ty.args.clone() }),
        _ => None,
    }
}

fn unwrap_type(ty: &Ty) -> Option<Ty> {
    matches!(ty.path.as_str(), "?Option" | "?Result").then(|| ty.args.first().cloned()).flatten()
}

/// Methods of the standard library whose result has the receiver's type, or the value inside
/// the receiver's `Option`/`Result`: enough to follow `.get_own(..).cloned()`, `.expect(..)`.
const SAME_TYPE_METHODS: [&str; 7] = ["clone", "cloned", "copied", "as_ref", "as_mut", "by_ref", "to_owned"];
const UNWRAP_METHODS: [&str; 6] =
    ["unwrap", "expect", "unwrap_or", "unwrap_or_else", "unwrap_or_default", "unwrap_unchecked"];

/// The type of `expr` in function `f` given its parameters and the bindings known (the latest
/// before `at`, or the latest of all when `at` is `None`).
pub fn type_of(
    index: &Index,
    f: FnId,
    params: &[(String, Option<Ty>)],
    bindings: &[Binding],
    at: Option<Pos>,
    expr: &syn::Expr,
) -> Option<Ty> {
    type_of_depth(index, f, params, bindings, at, expr, 0)
}

/// How deep type inference follows bindings into bindings (a chain of `let`s is short; a cycle
/// of names must stop).
const MAX_TYPE_DEPTH: usize = 16;

fn type_of_depth(
    index: &Index,
    f: FnId,
    params: &[(String, Option<Ty>)],
    bindings: &[Binding],
    at: Option<Pos>,
    expr: &syn::Expr,
    depth: usize,
) -> Option<Ty> {
    if depth > MAX_TYPE_DEPTH {
        return None;
    }
    let def = &index.fns[f];
    let again = |e: &syn::Expr| type_of_depth(index, f, params, bindings, at, e, depth + 1);
    match expr {
        syn::Expr::Paren(p) => again(&p.expr),
        syn::Expr::Group(g) => again(&g.expr),
        syn::Expr::Reference(r) => again(&r.expr),
        syn::Expr::Unary(syn::ExprUnary { op: syn::UnOp::Deref(_), expr, .. }) => again(expr),
        syn::Expr::Path(p) => {
            if p.path.segments.len() == 1 {
                let name = p.path.segments[0].ident.to_string();
                let bound = bindings.iter().rev().find(|b| b.name == name && at.is_none_or(|a| b.pos < a));
                if let Some(b) = bound {
                    return b.ty.clone();
                }
                if name == "self" {
                    return def.self_ty.clone();
                }
                if let Some((_, ty)) = params.iter().find(|(n, _)| *n == name) {
                    return ty.clone();
                }
            }
            None
        }
        syn::Expr::Field(fe) => {
            let base = again(&fe.base)?;
            let name = match &fe.member {
                syn::Member::Named(i) => i.to_string(),
                syn::Member::Unnamed(i) => i.index.to_string(),
            };
            if base.path == "()" {
                return name.parse::<usize>().ok().and_then(|i| base.args.get(i).cloned());
            }
            index.field_type(&base, &name)
        }
        syn::Expr::Try(t) => unwrap_type(&again(&t.expr)?),
        syn::Expr::Cast(c) => {
            let scope =
                TyScope { self_ty: def.self_ty.as_ref(), generics: def.generics.keys().map(String::as_str).collect() };
            index.resolve_type(def.module, &c.ty, &scope)
        }
        syn::Expr::Struct(s) => {
            let path = index.resolve_syn_path(def.module, &s.path, def.self_ty.as_ref())?;
            Some(Ty::plain(path))
        }
        syn::Expr::Tuple(t) => {
            Some(Ty { path: "()".into(), args: t.elems.iter().map(|e| again(e).unwrap_or(Ty::plain("?"))).collect() })
        }
        syn::Expr::Index(i) => {
            let base = again(&i.expr)?;
            match base.path.as_str() {
                "?Vec" | "[]" | "?VecDeque" => base.args.first().cloned(),
                _ => None,
            }
        }
        syn::Expr::Call(c) => {
            let syn::Expr::Path(p) = &*c.func else { return None };
            let path = index.resolve_syn_path(def.module, &p.path, def.self_ty.as_ref())?;
            match index.items.get(&path)? {
                Item::Fn(g) => index.return_type(*g, None),
                Item::Struct => Some(Ty::plain(path)),
                _ => None,
            }
        }
        syn::Expr::MethodCall(mc) => {
            let method = mc.method.to_string();
            let recv = again(&mc.receiver)?;
            if SAME_TYPE_METHODS.contains(&method.as_str()) {
                return Some(recv);
            }
            let element = || {
                element_type(&recv)
                    .or_else(|| (recv.path.starts_with("?Iter")).then(|| recv.args.first().cloned()).flatten())
            };
            match method.as_str() {
                m if SAME_ELEMENT_METHODS.contains(&m) => {
                    return element().map(|e| Ty { path: "?Iter".into(), args: vec![e] });
                }
                "enumerate" => return element().map(|e| Ty { path: "?Enumerate".into(), args: vec![e] }),
                "zip" => {
                    let other =
                        again(mc.args.first()?).and_then(|o| element_type(&o).or_else(|| o.args.first().cloned()));
                    return Some(Ty { path: "?Zip".into(), args: vec![element()?, other.unwrap_or(Ty::plain("?"))] });
                }
                "windows" | "chunks" | "chunks_exact" => {
                    return element().map(|e| Ty { path: "?Windows".into(), args: vec![e] });
                }
                _ => {}
            }
            if UNWRAP_METHODS.contains(&method.as_str()) {
                return unwrap_type(&recv);
            }
            let &g = index.methods.get(&recv.path)?.get(&method)?;
            method_return(index, g, &recv)
        }
        _ => None,
    }
}

/// The return type of method `g` called on a receiver of type `recv` (the impl's generic
/// parameters replaced by the receiver's arguments).
pub fn method_return(index: &Index, g: FnId, recv: &Ty) -> Option<Ty> {
    let raw = index.return_type(g, Some(recv))?;
    let impl_ty = index.fns[g].self_ty.as_ref()?;
    let subst: BTreeMap<String, Ty> = impl_ty
        .args
        .iter()
        .zip(&recv.args)
        .filter(|(p, _)| p.path.starts_with('<'))
        .map(|(p, a)| (p.path.clone(), a.clone()))
        .collect();
    Some(substitute(&raw, &subst))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macro_arguments_are_read_as_expressions() {
        let mac: syn::Macro = syn::parse_str("assert_eq!(state.free.pop(), Some(3), \"msg {}\", x)").unwrap();
        let exprs = macro_exprs(&mac.tokens);
        assert_eq!(exprs.len(), 4);
        let mac: syn::Macro = syn::parse_str("matches!(p.phase, Phase::Exiting { status, .. } if status > 0)").unwrap();
        assert_eq!(macro_exprs(&mac.tokens).len(), 1, "the guarded pattern is not an expression");
        let mac: syn::Macro = syn::parse_str("vec![None; NR_FILPS]").unwrap();
        assert_eq!(macro_exprs(&mac.tokens).len(), 2);
    }
}

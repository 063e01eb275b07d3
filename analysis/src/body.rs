//! What one function does, read from its body in one pass (closures, macro arguments and the
//! expansions of the OS's own macros included, since they run as part of it): the functions it
//! calls (directly, by method, through a trait, through a function value), the requests it sends
//! (every primitive that reaches a receive loop - `sendrec`, `asynsend`, `send`, `sendnb`, `senda`,
//! `notify` - and `kernel`), the answers it sends (out of scope), the tracked fields it writes, the
//! kernel calls it makes behind the recovery window's back, the constructs it does not follow
//! (each an unknown effect), its `let` bindings (for tracing values back), and whether it is a
//! receive loop.
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

/// The send primitives that deliver a message to the destination's receive loop, which
/// dispatches on its type whatever the primitive: each is a request by its effect (`Ctx`'s and
/// the kernel's `Proc`'s alike). `notify` sends the notification type.
pub const REQUEST_PRIMITIVES: [&str; 5] = ["sendrec", "asynsend", "send", "sendnb", "senda"];
/// A notification: a request of the notification type (a receiver's table may serve it).
pub const NOTIFY_PRIMITIVE: &str = "notify";
/// The notification message, as the kernel crate names it.
const NOTIFY_MESSAGE_EXPR: &str = "kernel_sim::Message::new(kernel_sim::msgtype::NOTIFY_MESSAGE)";
/// The request to the kernel: `ctx.kernel(KernelCall::X, |k| ..)`.
pub const KERNEL_PRIMITIVE: &str = "kernel";
/// Answers: delivered to a caller blocked in `sendrec` for exactly this answer (the kernel hands it
/// to that `sendrec`, never to a receive loop's dispatch), so they change no receiver's state.
pub const ANSWER_PRIMITIVES: [&str; 2] = ["reply", "reply_async"];
/// A process's own kernel calls (`proc.sys_fork(..)`).
const DIRECT_KERNEL_PREFIX: &str = "sys_";
/// The kernel calls that only read kernel state (`kernel_sim::Proc`'s `sys_*` methods that change
/// nothing): any other `sys_*` call changes state outside the server, whatever label it is made
/// under.
pub const READ_ONLY_SYS_CALLS: [&str; 3] = ["sys_procinfo", "sys_has_program", "sys_total_frames"];
/// The kernel calls that write only the contents of frames the server's own tracked state has just
/// taken from its free list, which no process maps yet (vm's zeroing and copying, `vm/space.rs`):
/// a rollback puts those frames back on the free list, and a frame is zeroed or overwritten before
/// any page maps it, so nothing they did is visible after recovery. Made outside `ctx.kernel` by
/// design, they are modelled as the server's own writes, not as unknown effects.
pub const FRESH_FRAME_SYS_CALLS: [&str; 2] = ["sys_frame_zero", "sys_frame_copy"];
/// The kernel calls that change a page table, when they name vm's own (`sys_vm_map(VM, ..)`: only
/// vm holds the kernel's vmctl privilege, so this is vm mapping the window of pages it lends vfs,
/// `vm/filemap.rs`). vm's page table goes with its incarnation, as its grants do, and no other
/// process sees it: made outside `ctx.kernel` by design (a request handled again after a restart
/// must map its window again), they are modelled as the server's own, not as unknown effects.
pub const OWN_PAGE_TABLE_SYS_CALLS: [&str; 2] = ["sys_vm_map", "sys_vm_unmap"];
/// The endpoint constant an [`OWN_PAGE_TABLE_SYS_CALLS`] call names as its target.
const OWN_PAGE_TABLE_TARGET: &str = "VM";
/// The kernel's process handle (`kernel_sim::Proc`), whose every method is a kernel call.
const PROC_TYPE: &str = "Proc";
/// `Proc` methods other than the request primitives and `sys_*` calls whose effect is modelled:
/// reading (`endpoint`, `now`, `mem_read`, `safecopy_from`, `awaiting_my_answer`, the manifest's
/// `service_param`...), receiving (changes only the
/// caller), the answer's side (`safecopy_to` fills the requester's buffer, `grant`s and `revoke`
/// are the server's own grants for the request), the driver's device memory (`mem_write`: the
/// disk's contents, which outlive the driver's restarts like a device's), the end of a faulty
/// request that recovery handles (`hang`, `crash`, `leave_remains`: the fault injector's and the
/// task loop's), a note in the event log (`note`: text for people, which no process reads). Any
/// other `Proc` method called in server code is not followed.
const MODELLED_PROC_METHODS: [&str; 23] = [
    "awaiting_my_answer",
    "note",
    "hang",
    "crash",
    "leave_remains",
    "endpoint",
    "name",
    "now",
    "random_u64",
    "yield_now",
    "killed_by",
    "mem_read",
    "mem_write",
    "service_memory_bytes",
    "service_param",
    "safecopy_from",
    "safecopy_to",
    "grant",
    "grant_indirect",
    "revoke",
    "receive",
    "reply_receive",
    "reply",
];
/// Macros of the standard library whose arguments are expressions evaluated where they are written
/// (or not at all): reading their arguments as expressions follows them exactly.
const EXPRESSION_MACROS: [&str; 24] = [
    "assert",
    "assert_eq",
    "assert_ne",
    "debug_assert",
    "debug_assert_eq",
    "debug_assert_ne",
    "format",
    "format_args",
    "print",
    "println",
    "eprint",
    "eprintln",
    "write",
    "writeln",
    "panic",
    "unreachable",
    "todo",
    "unimplemented",
    "vec",
    "matches",
    "dbg",
    "concat",
    "stringify",
    "env",
];

/// A construct the analysis does not follow where it appears: its effects are unknown, so every
/// entry point running it is class G, naming it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct NotFollowed {
    /// What kind of construct (`macro`, `call`, `kernel call`, `unsafe`, `static`).
    pub kind: &'static str,
    /// Which one (`set_each!`).
    pub what: String,
    /// Where.
    pub pos: Pos,
}

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
    /// A function used as a value (its address taken), not called here.
    pub as_value: bool,
}

/// The primitive of a state-changing request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Primitive {
    /// Send and wait for the answer.
    Sendrec,
    /// Send without waiting.
    Asynsend,
    /// Send, blocking until it is taken (or not at all: `sendnb`, `senda`).
    Send,
    /// A notification.
    Notify,
    /// A kernel call through `ctx.kernel`.
    Kernel,
}

impl Primitive {
    /// The method name.
    pub fn name(self) -> &'static str {
        match self {
            Primitive::Sendrec => "sendrec",
            Primitive::Asynsend => "asynsend",
            Primitive::Send => "send",
            Primitive::Notify => "notify",
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
    /// For a kernel call, the `sys_*` calls its closure makes: what it does, whatever its label.
    pub effects: Vec<String>,
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
    /// For a requester's accessor (`get_own_mut(&who)`), the requester argument: the write is
    /// process-local only if its key is shown to come from the request (`requester`).
    pub requester: Option<syn::Expr>,
}

/// A call through a function value.
#[derive(Clone)]
pub struct DynamicCall {
    /// The arguments' types, where known.
    pub args: Vec<Option<Ty>>,
    /// Where.
    pub pos: Pos,
    /// The value comes out of a field or a container (it may be a closure stored by an earlier
    /// request), not from a local or a parameter.
    pub stored: bool,
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
    /// Calls through a function value (`step(..)`, `(call.handler)(..)`): the number of
    /// arguments, their types where known, and where. They reach every function whose address is
    /// taken with a matching signature (resolved once every body is read).
    pub dynamic_calls: Vec<DynamicCall>,
    /// Constructs it does not follow.
    pub not_followed: Vec<NotFollowed>,
    /// `Requester::new(key)` calls: the key and where.
    pub requesters_made: Vec<(syn::Expr, Pos)>,
    /// It stores a closure in a struct, a field or a container.
    pub stores_closure: bool,
}

/// The constructor of a requester token (`recovery::Requester::new`).
const REQUESTER_NEW: &str = "::Requester::new";
/// Methods the standard derives and blanket impls give a type (`PmState::default()`): library code.
const DERIVED_METHODS: [&str; 12] =
    ["default", "clone", "from", "into", "try_from", "eq", "ne", "cmp", "partial_cmp", "hash", "fmt", "to_string"];

/// Functions and constructors the prelude gives every module (called by a bare name).
const PRELUDE_FUNCTIONS: [&str; 6] = ["Some", "Ok", "Err", "drop", "None", "Box"];

/// What a path names where a body uses it.
enum PathTarget {
    /// A function of the servers.
    Fn(FnId),
    /// A method of a servers' trait (`Trait::method(x)`): any implementation.
    TraitMethod(String),
    /// A tracked container's method in UFCS form (`TrackedVec::push(&mut v, x)`).
    ContainerMethod(String, String),
    /// `Requester::new`.
    RequesterNew,
    /// A static or constant of the servers (index in the index's consts).
    Static(usize),
    /// A local closure (its body is read where it is written).
    Closure,
    /// A local value or parameter: a function value when called.
    Value,
    /// Library code (the standard library, the kernel's, recovery's).
    Foreign,
    /// Into the servers' crate, but nothing the analysis can see.
    Unresolved,
}

/// Reads one function.
pub struct BodyReader<'a> {
    index: &'a Index,
    tracked: &'a Tracked,
    f: FnId,
    component: String,
    /// Components whose methods a call with an unknown receiver may reach.
    reachable_components: &'a BTreeSet<String>,
    params: Vec<(String, Option<Ty>)>,
    facts: Facts,
    loop_depth: usize,
    /// Inside the arguments of `ctx.kernel(..)`: the index of its send (the closure's `sys_*`
    /// calls are what it does).
    in_kernel_call: Vec<usize>,
    /// How deep inside macro expansions.
    macro_depth: usize,
}

/// Whether a function is the definition of a primitive (a wrapper named like one, with `self`):
/// its own body calls the kernel's primitives, which are not sends of the server.
fn defines_primitive(index: &Index, f: FnId) -> bool {
    let def = &index.fns[f];
    def.has_receiver()
        && (REQUEST_PRIMITIVES.contains(&def.ident.as_str())
            || ANSWER_PRIMITIVES.contains(&def.ident.as_str())
            || def.ident == NOTIFY_PRIMITIVE
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
        let mut reader = BodyReader {
            index,
            tracked,
            f,
            component: index.component(def.module),
            reachable_components,
            params: index.params(f),
            facts: Facts::default(),
            loop_depth: 0,
            in_kernel_call: Vec::new(),
            macro_depth: 0,
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
        self.facts.calls.push(CallFact { callee, args, pos, as_value: false });
    }

    fn not_followed(&mut self, kind: &'static str, what: String, pos: Pos) {
        self.facts.not_followed.push(NotFollowed { kind, what, pos });
    }

    /// Every method of the servers named `method` (a call through a generic bound, a trait
    /// object or `Self` in a trait: any implementation, or the trait's default body).
    fn every_implementation(&self, method: &str) -> Option<Callee> {
        let candidates: Vec<FnId> = self
            .index
            .methods_by_name
            .get(method)
            .into_iter()
            .flatten()
            .copied()
            .filter(|&f| self.in_servers(f))
            .collect();
        (!candidates.is_empty()).then_some(Callee::Methods(candidates))
    }

    /// The crate functions a method call may reach.
    fn method_callee(&self, receiver: &syn::Expr, method: &str) -> Option<Callee> {
        match self.type_of(receiver) {
            // A generic parameter or a trait's `Self`: any implementation.
            Some(ty) if ty.path.starts_with('<') || self.index.is_servers_trait(&ty.path) => {
                self.every_implementation(method)
            }
            Some(ty) if self.tracked.container_of(&ty).is_some() => None,
            // A foreign type (`Box<dyn Trait>`, `&impl Trait`) calling a method of a servers'
            // trait: any implementation.
            Some(ty) if ty.is_foreign() => {
                if self.index.servers_trait_methods.contains(method) {
                    self.every_implementation(method)
                } else {
                    None
                }
            }
            // Its own method, or the default body of a trait it implements.
            Some(ty) => self.index.method_of(&ty.path, method).filter(|&f| self.in_servers(f)).map(Callee::Fn),
            None => {
                let candidates: Vec<FnId> = self
                    .index
                    .methods_by_name
                    .get(method)
                    .into_iter()
                    .flatten()
                    .copied()
                    // Any method of the name in the code the caller can name (its component and
                    // the shared code it uses): a server reaches another's only by IPC.
                    .filter(|&f| {
                        let m = self.index.fns[f].module;
                        self.index.src.modules[m].krate == crate::source::OS_CRATE
                            && self.reachable_components.contains(&self.index.component(m))
                    })
                    .collect();
                (!candidates.is_empty()).then_some(Callee::Methods(candidates))
            }
        }
    }

    /// What a path in a body names, as far as calls are concerned.
    fn path_target(&self, path: &syn::Path) -> PathTarget {
        if path.segments.len() == 1 {
            let name = path.segments[0].ident.to_string();
            if let Some(b) = self.binding(&name) {
                let closure =
                    b.source.as_ref().is_some_and(|(e, p)| p.is_empty() && matches!(strip(e), syn::Expr::Closure(_)));
                return if closure { PathTarget::Closure } else { PathTarget::Value };
            }
            if self.params.iter().any(|(p, _)| *p == name) {
                return PathTarget::Value;
            }
        }
        let Some(resolved) = self.index.resolve_syn_path(self.module(), path, self.self_ty()) else {
            return if self.names_servers_code(path) { PathTarget::Unresolved } else { PathTarget::Foreign };
        };
        match self.index.items.get(&resolved) {
            Some(Item::Fn(f)) if self.in_servers(*f) => {
                let owner = self.index.fns[*f].self_ty.as_ref().map(|t| t.path.clone()).unwrap_or_default();
                if self.index.is_servers_trait(&owner) {
                    PathTarget::TraitMethod(self.index.fns[*f].ident.clone())
                } else {
                    PathTarget::Fn(*f)
                }
            }
            Some(Item::Fn(_)) => match resolved.rsplit_once("::") {
                Some((owner, method)) if self.tracked.containers.contains_key(owner) => {
                    PathTarget::ContainerMethod(owner.to_string(), method.to_string())
                }
                _ if resolved.starts_with(&format!("{}::", crate::source::RECOVERY_CRATE))
                    && resolved.ends_with(REQUESTER_NEW) =>
                {
                    PathTarget::RequesterNew
                }
                _ => PathTarget::Foreign,
            },
            Some(Item::Const(c)) => PathTarget::Static(*c),
            Some(_) => PathTarget::Foreign,
            None => {
                if self.names_servers_code(path) {
                    PathTarget::Unresolved
                } else {
                    PathTarget::Foreign
                }
            }
        }
    }

    /// Whether an unresolved path points into the servers' crate (`crate::x::f`, `super::f`,
    /// `Type::f` for a type of the servers): code the analysis cannot see (made by a macro it did
    /// not expand), not a library's. Methods the standard derives add (`Type::default`) are the
    /// library's.
    fn names_servers_code(&self, path: &syn::Path) -> bool {
        let Some(first) = path.segments.first().map(|s| s.ident.to_string()) else { return false };
        let last = path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default();
        if DERIVED_METHODS.contains(&last.as_str()) {
            return false;
        }
        if matches!(first.as_str(), "crate" | "self" | "super") {
            return true;
        }
        if path.segments.len() < 2 {
            // A bare name: imported from a library, the prelude's, or code the analysis cannot see
            // (a function item nested in a body, one a foreign macro made).
            return match self.index.use_path_of(self.module(), &first) {
                Some(from) => from.first().is_some_and(|s| matches!(s.as_str(), "crate" | "self" | "super")),
                None => !PRELUDE_FUNCTIONS.contains(&first.as_str()),
            };
        }
        let head = if first == "Self" {
            self.self_ty().map(|t| t.path.clone())
        } else {
            self.index.lookup(self.module(), &first)
        };
        let Some(head) = head.filter(|h| h.starts_with(&format!("{}::", crate::source::OS_CRATE))) else {
            return false;
        };
        // An alias of a library type (`Ino = u32`): `Ino::from_le_bytes` is the library's.
        if let Some(alias) = self.index.aliases.get(&head) {
            let scope = TyScope { self_ty: None, generics: Vec::new() };
            return self.index.resolve_type(alias.module, &alias.ty, &scope).is_none_or(|t| !t.is_foreign());
        }
        true
    }

    /// A call of a tracked container's method on `receiver`: a write when it is a mutator.
    fn container_call(&mut self, container: &str, receiver: &syn::Expr, method: &str, args: &[syn::Expr], pos: Pos) {
        for arg in args {
            self.note_stored_closure(arg);
        }
        let Some(&class) = self.tracked.containers.get(container).and_then(|c| c.mutators.get(method)) else { return };
        let Some((_, fields, precise)) = self.tracked_target(receiver) else { return };
        let requester = match class {
            WriteClass::Fixed(recovery::StateClass::ProcessLocal) => args.first().cloned(),
            _ => None,
        };
        self.facts.writes.push(WriteFact { fields, class, method: method.to_string(), pos, precise, requester });
    }

    /// A call through the function value `callee` with `args`: the argument types where known,
    /// else the input types the callee's declared type gives (`f: impl FnOnce(&Fproc) -> R`,
    /// `f: fn(&mut S)`, `F: Fn(&X)`).
    fn dynamic_call(&mut self, callee: &syn::Expr, args: &[syn::Expr], pos: Pos) {
        let declared = ident_of(callee).and_then(|name| self.declared_inputs(&name)).filter(|d| d.len() == args.len());
        let types = args
            .iter()
            .enumerate()
            .map(|(i, a)| self.type_of(a).or_else(|| declared.as_ref().and_then(|d| d[i].clone())))
            .collect();
        let stored = self.comes_from_storage(callee, 0);
        self.facts.dynamic_calls.push(DynamicCall { args: types, pos, stored });
    }

    /// Whether a value comes out of a field, a container or a method's result (following `let`s).
    fn comes_from_storage(&self, expr: &syn::Expr, depth: usize) -> bool {
        if depth > MAX_TYPE_DEPTH {
            return true;
        }
        match strip(expr) {
            syn::Expr::Field(_) | syn::Expr::MethodCall(_) => true,
            syn::Expr::Index(i) => self.comes_from_storage(&i.expr, depth + 1),
            syn::Expr::Path(_) => match ident_of(expr).and_then(|n| self.binding(&n)) {
                Some(Binding { source: Some((source, _)), .. }) => self.comes_from_storage(source, depth + 1),
                _ => false,
            },
            _ => false,
        }
    }

    /// A closure kept beyond the function (in a struct, a field, a container) may run in a later
    /// request: what it does is attributed to this one, so the later caller cannot see it.
    fn note_stored_closure(&mut self, value: &syn::Expr) {
        let boxed = |e: &syn::Expr| match strip(e) {
            syn::Expr::Call(c) if c.args.len() == 1 => Some(c.args[0].clone()),
            _ => None,
        };
        let inner = boxed(value).unwrap_or_else(|| value.clone());
        if matches!(strip(&inner), syn::Expr::Closure(_)) {
            self.not_followed("closure", "stored (it may run in a later request)".into(), pos_of(value));
            self.facts.stores_closure = true;
        }
    }

    /// The input types of parameter `name`'s declared function type.
    fn declared_inputs(&self, name: &str) -> Option<Vec<Option<Ty>>> {
        let def = &self.index.fns[self.f];
        let ty = def.sig.inputs.iter().find_map(|arg| match arg {
            syn::FnArg::Typed(pt) if matches!(&*pt.pat, syn::Pat::Ident(pi) if pi.ident == name) => Some(&*pt.ty),
            _ => None,
        })?;
        let resolve = |t: &syn::Type| self.index.resolve_type(self.module(), t, &self.scope());
        let from_bounds = |bounds: &syn::punctuated::Punctuated<syn::TypeParamBound, syn::Token![+]>| {
            bounds.iter().find_map(|b| match b {
                syn::TypeParamBound::Trait(tb) => match &tb.path.segments.last()?.arguments {
                    syn::PathArguments::Parenthesized(p) => Some(p.inputs.iter().map(|i| resolve(&i.ty)).collect()),
                    _ => None,
                },
                _ => None,
            })
        };
        match ty {
            syn::Type::ImplTrait(it) => from_bounds(&it.bounds),
            syn::Type::FnPtr(bf) => Some(bf.inputs.iter().map(|i| resolve(&i.ty)).collect()),
            syn::Type::Reference(r) => match &*r.elem {
                syn::Type::TraitObject(to) => from_bounds(&to.bounds),
                _ => None,
            },
            syn::Type::Path(p) if p.path.segments.len() == 1 => {
                let generic = p.path.segments[0].ident.to_string();
                def.sig.generics.params.iter().find_map(|g| match g {
                    syn::GenericParam::Type(t) if t.ident == generic => from_bounds(&t.bounds),
                    _ => None,
                })
            }
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

    fn visit_expr_struct(&mut self, e: &'ast syn::ExprStruct) {
        for field in &e.fields {
            self.note_stored_closure(&field.expr);
        }
        syn::visit::visit_expr_struct(self, e);
    }

    fn visit_expr_assign(&mut self, e: &'ast syn::ExprAssign) {
        if matches!(strip(&e.left), syn::Expr::Field(_) | syn::Expr::Index(_)) {
            self.note_stored_closure(&e.right);
        }
        self.facts.assigns.push(((*e.left).clone(), (*e.right).clone(), pos_of(&e.left)));
        syn::visit::visit_expr_assign(self, e);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        let name = mac.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default();
        let pos = pos_of(&mac.path);
        // The servers' own macro: expanded, its statements read in place.
        if mac.path.segments.len() == 1 && self.index.src.macro_names.contains(&name) {
            let expanded = self
                .index
                .src
                .macros
                .get(&name)
                .and_then(|d| d.expand(&mac.tokens))
                .and_then(|t| syn::parse2::<syn::Block>(quote_block(t)).ok());
            match expanded {
                Some(block) if self.macro_depth < crate::macros::MAX_EXPANSION_DEPTH => {
                    self.macro_depth += 1;
                    for stmt in &block.stmts {
                        self.visit_stmt(stmt);
                    }
                    self.macro_depth -= 1;
                }
                _ => self.not_followed("macro", format!("{name}! (not expanded)"), pos),
            }
            return;
        }
        if !EXPRESSION_MACROS.contains(&name.as_str()) {
            self.not_followed("macro", format!("{name}! (not the servers' and not a known expression macro)"), pos);
        }
        for expr in macro_exprs(&mac.tokens) {
            self.visit_expr(&expr);
        }
    }

    fn visit_expr(&mut self, e: &'ast syn::Expr) {
        if let syn::Expr::Verbatim(tokens) = e {
            // Syntax syn keeps as bare tokens (unstable or reserved forms): nothing to read.
            self.not_followed("syntax", format!("`{tokens}` (not parsed)"), pos_of(e));
        }
        syn::visit::visit_expr(self, e);
    }

    fn visit_expr_unsafe(&mut self, e: &'ast syn::ExprUnsafe) {
        self.not_followed("unsafe", "unsafe block".into(), pos_of(e));
        syn::visit::visit_expr_unsafe(self, e);
    }

    fn visit_expr_path(&mut self, e: &'ast syn::ExprPath) {
        match self.path_target(&e.path) {
            // A function used as a value (`.map(Region::pages)`): its address is taken.
            PathTarget::Fn(f) => self.facts.calls.push(CallFact {
                callee: Callee::Fn(f),
                args: Vec::new(),
                pos: pos_of(e),
                as_value: true,
            }),
            PathTarget::TraitMethod(m) => {
                if let Some(callee) = self.every_implementation(&m) {
                    self.facts.calls.push(CallFact { callee, args: Vec::new(), pos: pos_of(e), as_value: true });
                }
            }
            PathTarget::Static(c) => {
                let def = &self.index.consts[c];
                if self.index.src.modules[def.module].krate == crate::source::OS_CRATE && def.interior_mutable {
                    self.not_followed(
                        "static",
                        format!("`{}` (state outside the tracked containers)", def.path),
                        pos_of(e),
                    );
                }
            }
            _ => {}
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
                let args: Vec<syn::Expr> = e.args.iter().cloned().collect();
                let pos = pos_of(&e.func);
                match self.path_target(&p.path) {
                    PathTarget::Fn(f) => self.record_call(Callee::Fn(f), args, pos),
                    PathTarget::TraitMethod(m) => {
                        if let Some(callee) = self.every_implementation(&m) {
                            self.record_call(callee, args, pos);
                        }
                    }
                    PathTarget::ContainerMethod(container, method) => {
                        // `TrackedVec::push(&mut v, x)`: `v.push(x)`.
                        if let Some(receiver) = args.first() {
                            self.container_call(&container, receiver, &method, &args[1..], pos);
                        }
                    }
                    PathTarget::RequesterNew => {
                        if let Some(key) = args.first() {
                            self.facts.requesters_made.push((key.clone(), pos));
                        }
                    }
                    PathTarget::Value => self.dynamic_call(&e.func, &args, pos),
                    PathTarget::Unresolved => self.not_followed(
                        "call",
                        format!("`{}` (not found in the servers' source)", crate::trace::text(p)),
                        pos,
                    ),
                    PathTarget::Static(_) | PathTarget::Closure | PathTarget::Foreign => {}
                }
                if p.qself.is_some()
                    && matches!(self.path_target(&p.path), PathTarget::Foreign | PathTarget::Unresolved)
                {
                    self.not_followed("call", format!("`{}` (qualified path)", crate::trace::text(p)), pos);
                }
            }
            other => {
                // `(call.handler)(ctx)` in the task loop is its call-table dispatch, which fusing follows.
                let table_dispatch = self.facts.table_dispatch
                    && matches!(strip(other), syn::Expr::Field(f) if matches!(&f.member, syn::Member::Named(n) if n == "handler"));
                if !matches!(strip(other), syn::Expr::Closure(_)) && !table_dispatch {
                    let args: Vec<syn::Expr> = e.args.iter().cloned().collect();
                    self.dynamic_call(other, &args, pos_of(other));
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
        if let Some((container, _, _)) = self.tracked_target(&e.receiver) {
            self.container_call(&container, &e.receiver, &method, &args, pos);
            self.visit_expr(&e.receiver);
            for arg in &args {
                self.visit_expr(arg);
            }
            return;
        }
        let is_primitive_site = !defines_primitive(self.index, self.f);
        if is_primitive_site && REQUEST_PRIMITIVES.contains(&method.as_str()) && args.len() == 2 {
            let primitive = match method.as_str() {
                "sendrec" => Primitive::Sendrec,
                "asynsend" => Primitive::Asynsend,
                _ => Primitive::Send,
            };
            self.facts.sends.push(SendFact {
                primitive,
                dst: Some(args[0].clone()),
                msg: args[1].clone(),
                pos,
                effects: Vec::new(),
            });
        } else if is_primitive_site && method == NOTIFY_PRIMITIVE && args.len() == 1 {
            let msg: syn::Expr = syn::parse_str(NOTIFY_MESSAGE_EXPR).expect("a path");
            self.facts.sends.push(SendFact {
                primitive: Primitive::Notify,
                dst: Some(args[0].clone()),
                msg,
                pos,
                effects: Vec::new(),
            });
        } else if is_primitive_site && method == KERNEL_PRIMITIVE && args.len() == 2 {
            self.facts.sends.push(SendFact {
                primitive: Primitive::Kernel,
                dst: None,
                msg: args[0].clone(),
                pos,
                effects: Vec::new(),
            });
            self.visit_expr(&e.receiver);
            self.in_kernel_call.push(self.facts.sends.len() - 1);
            for arg in &args {
                self.visit_expr(arg);
            }
            self.in_kernel_call.pop();
            return;
        } else if is_primitive_site && ANSWER_PRIMITIVES.contains(&method.as_str()) {
            self.facts.answers.push((method.clone(), pos));
        } else if method.starts_with(DIRECT_KERNEL_PREFIX) {
            match self.in_kernel_call.last() {
                // What the kernel call does, whatever its label says.
                Some(&send) => self.facts.sends[send].effects.push(method.clone()),
                None => {
                    self.facts.direct_kernel.push((method.clone(), pos));
                    let own_page_table = OWN_PAGE_TABLE_SYS_CALLS.contains(&method.as_str())
                        && matches!(e.args.first(), Some(syn::Expr::Path(p))
                            if p.path.segments.last().is_some_and(|s| s.ident == OWN_PAGE_TABLE_TARGET));
                    if !READ_ONLY_SYS_CALLS.contains(&method.as_str())
                        && !FRESH_FRAME_SYS_CALLS.contains(&method.as_str())
                        && !own_page_table
                    {
                        self.not_followed(
                            "kernel call",
                            format!("{method} outside ctx.kernel (changes kernel state, not in the recovery window)"),
                            pos,
                        );
                    }
                }
            }
        } else if is_primitive_site
            && !MODELLED_PROC_METHODS.contains(&method.as_str())
            && self.type_of(&e.receiver).is_some_and(|t| {
                t.path.starts_with(&format!("{}::", crate::source::KERNEL_CRATE)) && t.name() == PROC_TYPE
            })
        {
            self.not_followed("kernel call", format!("Proc::{method} (not modelled)"), pos);
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

/// `{ tokens }`: a macro's expansion read as the statements of a block.
fn quote_block(tokens: TokenStream) -> TokenStream {
    TokenStream::from(TokenTree::Group(proc_macro2::Group::new(proc_macro2::Delimiter::Brace, tokens)))
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

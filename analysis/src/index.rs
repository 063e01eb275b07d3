//! The item index: every module's items by full path, what each `use` brings in, and name
//! resolution over it (paths in expressions and types), enough of Rust's rules for the servers'
//! code: `crate::`, `self::`, `super::`, other crates of the workspace by name, `use` renames,
//! groups and globs, re-exports (`pub use`), impl methods and associated constants, enum variants,
//! type aliases with their generic arguments.
//!
//! Invariants: a full path names one item (a second item with the same path, e.g. a method in two
//! trait impls of one type, gets `#2`...); paths into crates that were not read (`std`) resolve to
//! nothing, never to a wrong item.

use crate::source::{ModId, Sources, position};
use std::collections::BTreeMap;
use syn::spanned::Spanned;

/// Index of a function in [`Index::fns`].
pub type FnId = usize;

/// A type as far as the analysis needs it: a resolved path and its type arguments. References,
/// parentheses and lifetimes are dropped. Paths outside the crates read start with `?` (`?Option`),
/// generic parameters are `<S>`, tuples `()`, slices and arrays `[]`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ty {
    /// The resolved path.
    pub path: String,
    /// The type arguments.
    pub args: Vec<Ty>,
}

impl Ty {
    /// A type without arguments.
    pub fn plain(path: impl Into<String>) -> Ty {
        Ty { path: path.into(), args: Vec::new() }
    }

    /// The last segment of the path (`PmState`).
    pub fn name(&self) -> &str {
        self.path.rsplit("::").next().unwrap_or(&self.path).trim_start_matches('?')
    }

    /// A type outside the crates read (std and friends).
    pub fn is_foreign(&self) -> bool {
        self.path.starts_with('?')
    }
}

/// A function or method.
pub struct FnDef {
    /// Its full path (`os::pm::forkexit::do_fork`, `os::vm::state::VmState::alloc_frames`).
    pub path: String,
    /// Its name.
    pub ident: String,
    /// The module it is written in.
    pub module: ModId,
    /// For a method: the type of its impl.
    pub self_ty: Option<Ty>,
    /// For a trait impl's method: the trait's path.
    pub trait_path: Option<String>,
    /// Its signature.
    pub sig: syn::Signature,
    /// Its body.
    pub block: syn::Block,
    /// Its attributes.
    pub attrs: Vec<syn::Attribute>,
    /// Line of its name.
    pub line: usize,
    /// Whether it is `pub` (or a trait impl's method, public with its trait).
    pub public: bool,
    /// Generic type parameters in scope (the impl's and its own) with the last segment of each bound.
    pub generics: BTreeMap<String, Vec<String>>,
}

impl FnDef {
    /// Whether it takes `self`.
    pub fn has_receiver(&self) -> bool {
        self.sig.receiver().is_some()
    }
}

/// A `const` or `static`.
pub struct ConstDef {
    /// Its full path.
    pub path: String,
    /// The module it is written in.
    pub module: ModId,
    /// Its declared type.
    pub ty: syn::Type,
    /// Its value.
    pub expr: syn::Expr,
    /// For an associated constant: the impl's type.
    pub self_ty: Option<Ty>,
    /// Line of its name.
    pub line: usize,
}

/// A struct.
pub struct StructDef {
    /// The module it is written in.
    pub module: ModId,
    /// Its generic type parameters, in order.
    pub generics: Vec<String>,
    /// Its fields (`0`, `1`.. for tuple structs) with their types.
    pub fields: Vec<(String, syn::Type)>,
}

/// An enum.
pub struct EnumDef {
    /// The module it is written in.
    pub module: ModId,
    /// Its variants with their explicit discriminant, if any.
    pub variants: Vec<(String, Option<syn::Expr>)>,
}

/// A type alias.
pub struct AliasDef {
    /// The module it is written in.
    pub module: ModId,
    /// Its generic type parameters.
    pub generics: Vec<String>,
    /// What it stands for.
    pub ty: syn::Type,
}

/// What a full path names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// A module.
    Mod(ModId),
    /// A function or method.
    Fn(FnId),
    /// A constant or static (index in [`Index::consts`]).
    Const(usize),
    /// A struct.
    Struct,
    /// An enum.
    Enum,
    /// An enum variant: its enum and its position.
    Variant {
        /// The enum's path.
        enum_path: String,
        /// Its position among the variants.
        index: usize,
    },
    /// A type alias.
    Alias,
    /// A trait.
    Trait,
}

/// What one module's `use` items bring into scope.
#[derive(Default)]
struct Uses {
    names: BTreeMap<String, Vec<String>>,
    globs: Vec<Vec<String>>,
}

/// Generic parameters in scope and `Self`, for resolving types.
#[derive(Clone, Default)]
pub struct TyScope<'a> {
    /// `Self`, inside an impl.
    pub self_ty: Option<&'a Ty>,
    /// Generic type parameter names.
    pub generics: Vec<&'a str>,
}

/// The index over all loaded sources.
pub struct Index {
    /// The sources.
    pub src: Sources,
    /// Every item by full path.
    pub items: BTreeMap<String, Item>,
    /// Every function and method.
    pub fns: Vec<FnDef>,
    /// Every constant and static.
    pub consts: Vec<ConstDef>,
    /// Structs by full path.
    pub structs: BTreeMap<String, StructDef>,
    /// Enums by full path.
    pub enums: BTreeMap<String, EnumDef>,
    /// Type aliases by full path.
    pub aliases: BTreeMap<String, AliasDef>,
    /// Methods per type path, by name.
    pub methods: BTreeMap<String, BTreeMap<String, FnId>>,
    /// Every method (functions with an impl) by name.
    pub methods_by_name: BTreeMap<String, Vec<FnId>>,
    /// Associated types of impls (`type State = PmState;`), by `TypePath::Name`.
    pub assoc_types: BTreeMap<String, Ty>,
    uses: Vec<Uses>,
}

/// How deep `use` chains and alias expansions are followed before giving up (a cycle in
/// malformed input must not hang the analysis; real chains are two or three long).
const MAX_RESOLVE_DEPTH: usize = 32;

fn segments(path: &syn::Path) -> Vec<String> {
    path.segments.iter().map(|s| s.ident.to_string()).collect()
}

fn collect_use(tree: &syn::UseTree, prefix: &mut Vec<String>, uses: &mut Uses) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            collect_use(&p.tree, prefix, uses);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let name = n.ident.to_string();
            if name == "self" {
                if let Some(last) = prefix.last() {
                    uses.names.insert(last.clone(), prefix.clone());
                }
            } else {
                let mut full = prefix.clone();
                full.push(name.clone());
                uses.names.insert(name, full);
            }
        }
        syn::UseTree::Rename(r) => {
            let mut full = prefix.clone();
            full.push(r.ident.to_string());
            if r.ident == "self" {
                full.pop();
            }
            uses.names.insert(r.rename.to_string(), full);
        }
        syn::UseTree::Glob(_) => uses.globs.push(prefix.clone()),
        syn::UseTree::Group(g) => {
            for t in &g.items {
                collect_use(t, prefix, uses);
            }
        }
    }
}

fn generic_names(generics: &syn::Generics) -> Vec<String> {
    generics
        .params
        .iter()
        .filter_map(|p| match p {
            syn::GenericParam::Type(t) => Some(t.ident.to_string()),
            _ => None,
        })
        .collect()
}

fn generic_bounds(generics: &syn::Generics, out: &mut BTreeMap<String, Vec<String>>) {
    for p in &generics.params {
        if let syn::GenericParam::Type(t) = p {
            let bounds = t
                .bounds
                .iter()
                .filter_map(|b| match b {
                    syn::TypeParamBound::Trait(tb) => tb.path.segments.last().map(|s| s.ident.to_string()),
                    _ => None,
                })
                .collect();
            out.insert(t.ident.to_string(), bounds);
        }
    }
}

impl Index {
    /// Indexes every item of `src`.
    pub fn build(src: Sources) -> Index {
        let mut index = Index {
            uses: src.modules.iter().map(|_| Uses::default()).collect(),
            src,
            items: BTreeMap::new(),
            fns: Vec::new(),
            consts: Vec::new(),
            structs: BTreeMap::new(),
            enums: BTreeMap::new(),
            aliases: BTreeMap::new(),
            methods: BTreeMap::new(),
            methods_by_name: BTreeMap::new(),
            assoc_types: BTreeMap::new(),
        };
        // Pass 1: modules, named items and uses (enough to resolve any path).
        for m in 0..index.src.modules.len() {
            let path = index.src.modules[m].path.clone();
            index.items.insert(path.clone(), Item::Mod(m));
            let items = std::mem::take(&mut index.src.modules[m].items);
            for item in &items {
                index.add_item(m, &path, item);
            }
            index.src.modules[m].items = items;
        }
        // Pass 2: impls, whose self types need the names of pass 1.
        for m in 0..index.src.modules.len() {
            let items = std::mem::take(&mut index.src.modules[m].items);
            for item in &items {
                if let syn::Item::Impl(imp) = item {
                    index.add_impl(m, imp);
                }
            }
            index.src.modules[m].items = items;
        }
        index
    }

    fn insert_unique(&mut self, path: String, item: Item) -> String {
        if !self.items.contains_key(&path) {
            self.items.insert(path.clone(), item);
            return path;
        }
        let mut n = 2;
        loop {
            let candidate = format!("{path}#{n}");
            if !self.items.contains_key(&candidate) {
                self.items.insert(candidate.clone(), item);
                return candidate;
            }
            n += 1;
        }
    }

    fn add_item(&mut self, m: ModId, mpath: &str, item: &syn::Item) {
        match item {
            syn::Item::Use(u) => collect_use(&u.tree, &mut Vec::new(), &mut self.uses[m]),
            syn::Item::Fn(f) => {
                let path = format!("{mpath}::{}", f.sig.ident);
                let mut generics = BTreeMap::new();
                generic_bounds(&f.sig.generics, &mut generics);
                let id = self.fns.len();
                let path = self.insert_unique(path, Item::Fn(id));
                self.fns.push(FnDef {
                    path,
                    ident: f.sig.ident.to_string(),
                    module: m,
                    self_ty: None,
                    trait_path: None,
                    sig: f.sig.clone(),
                    block: (*f.block).clone(),
                    attrs: f.attrs.clone(),
                    line: position(f.sig.ident.span()).0,
                    public: matches!(f.vis, syn::Visibility::Public(_)),
                    generics,
                });
            }
            syn::Item::Const(c) => {
                self.add_const(m, format!("{mpath}::{}", c.ident), &c.ty, &c.expr, None, c.ident.span());
            }
            syn::Item::Static(s) => {
                self.add_const(m, format!("{mpath}::{}", s.ident), &s.ty, &s.expr, None, s.ident.span());
            }
            syn::Item::Struct(s) => {
                let path = format!("{mpath}::{}", s.ident);
                let fields = match &s.fields {
                    syn::Fields::Named(n) => n
                        .named
                        .iter()
                        .map(|f| (f.ident.as_ref().map(|i| i.to_string()).unwrap_or_default(), f.ty.clone()))
                        .collect(),
                    syn::Fields::Unnamed(u) => {
                        u.unnamed.iter().enumerate().map(|(i, f)| (i.to_string(), f.ty.clone())).collect()
                    }
                    syn::Fields::Unit => Vec::new(),
                };
                self.items.insert(path.clone(), Item::Struct);
                self.structs.insert(path, StructDef { module: m, generics: generic_names(&s.generics), fields });
            }
            syn::Item::Enum(e) => {
                let path = format!("{mpath}::{}", e.ident);
                let variants: Vec<(String, Option<syn::Expr>)> = e
                    .variants
                    .iter()
                    .map(|v| (v.ident.to_string(), v.discriminant.as_ref().map(|(_, d)| d.clone())))
                    .collect();
                for (i, (name, _)) in variants.iter().enumerate() {
                    self.items.insert(format!("{path}::{name}"), Item::Variant { enum_path: path.clone(), index: i });
                }
                self.items.insert(path.clone(), Item::Enum);
                self.enums.insert(path, EnumDef { module: m, variants });
            }
            syn::Item::Type(t) => {
                let path = format!("{mpath}::{}", t.ident);
                self.items.insert(path.clone(), Item::Alias);
                self.aliases
                    .insert(path, AliasDef { module: m, generics: generic_names(&t.generics), ty: (*t.ty).clone() });
            }
            syn::Item::Trait(t) => {
                self.items.insert(format!("{mpath}::{}", t.ident), Item::Trait);
            }
            _ => {}
        }
    }

    fn add_const(
        &mut self,
        m: ModId,
        path: String,
        ty: &syn::Type,
        expr: &syn::Expr,
        self_ty: Option<Ty>,
        span: proc_macro2::Span,
    ) {
        let id = self.consts.len();
        let path = self.insert_unique(path, Item::Const(id));
        self.consts.push(ConstDef {
            path,
            module: m,
            ty: ty.clone(),
            expr: expr.clone(),
            self_ty,
            line: position(span).0,
        });
    }

    fn add_impl(&mut self, m: ModId, imp: &syn::ItemImpl) {
        let impl_generics = generic_names(&imp.generics);
        let scope = TyScope { self_ty: None, generics: impl_generics.iter().map(String::as_str).collect() };
        let Some(self_ty) = self.resolve_type(m, &imp.self_ty, &scope) else { return };
        let trait_path = imp.trait_.as_ref().and_then(|(p, _)| self.resolve_path(m, &segments(p), None));
        for item in &imp.items {
            match item {
                syn::ImplItem::Fn(f) => {
                    if crate::source::is_test_only(&f.attrs) {
                        continue;
                    }
                    let name = f.sig.ident.to_string();
                    let id = self.fns.len();
                    let path = self.insert_unique(format!("{}::{name}", self_ty.path), Item::Fn(id));
                    let mut generics = BTreeMap::new();
                    generic_bounds(&imp.generics, &mut generics);
                    generic_bounds(&f.sig.generics, &mut generics);
                    self.fns.push(FnDef {
                        path,
                        ident: name.clone(),
                        module: m,
                        self_ty: Some(self_ty.clone()),
                        trait_path: trait_path.clone(),
                        sig: f.sig.clone(),
                        block: f.block.clone(),
                        attrs: f.attrs.clone(),
                        line: position(f.sig.ident.span()).0,
                        public: trait_path.is_some() || matches!(f.vis, syn::Visibility::Public(_)),
                        generics,
                    });
                    self.methods.entry(self_ty.path.clone()).or_default().entry(name.clone()).or_insert(id);
                    self.methods_by_name.entry(name).or_default().push(id);
                }
                syn::ImplItem::Const(c) => {
                    let path = format!("{}::{}", self_ty.path, c.ident);
                    self.add_const(m, path, &c.ty, &c.expr, Some(self_ty.clone()), c.ident.span());
                }
                syn::ImplItem::Type(t) => {
                    let scope = TyScope { self_ty: Some(&self_ty), generics: scope.generics.clone() };
                    if let Some(ty) = self.resolve_type(m, &t.ty, &scope) {
                        self.assoc_types.insert(format!("{}::{}", self_ty.path, t.ident), ty);
                    }
                }
                _ => {}
            }
        }
    }

    /// The full paths the `use` items of module `m` name (those that resolve).
    pub fn use_targets(&self, m: ModId) -> Vec<String> {
        let uses = &self.uses[m];
        uses.names.values().chain(uses.globs.iter()).filter_map(|segs| self.resolve_use(m, segs, 0)).collect()
    }

    /// The `use` paths of module `m` as written (segments).
    pub fn use_paths(&self, m: ModId) -> Vec<Vec<String>> {
        let uses = &self.uses[m];
        uses.names.values().chain(uses.globs.iter()).cloned().collect()
    }

    /// The root module of `m`'s crate.
    pub fn crate_root(&self, m: ModId) -> ModId {
        let mut cur = m;
        while let Some(p) = self.src.modules[cur].parent {
            cur = p;
        }
        cur
    }

    /// The full path `name` has in module `m`: defined there, a child module, brought in by `use`,
    /// or found through a glob import.
    pub fn lookup(&self, m: ModId, name: &str) -> Option<String> {
        self.lookup_depth(m, name, 0)
    }

    fn lookup_depth(&self, m: ModId, name: &str, depth: usize) -> Option<String> {
        if depth > MAX_RESOLVE_DEPTH {
            return None;
        }
        let module = &self.src.modules[m];
        if let Some(&child) = module.children.get(name) {
            return Some(self.src.modules[child].path.clone());
        }
        let own = format!("{}::{name}", module.path);
        if self.items.contains_key(&own) {
            return Some(own);
        }
        if let Some(target) = self.uses[m].names.get(name) {
            return self.resolve_use(m, target, depth + 1);
        }
        for glob in &self.uses[m].globs {
            let Some(base) = self.resolve_use(m, glob, depth + 1) else { continue };
            match self.items.get(&base) {
                Some(Item::Mod(bm)) => {
                    if let Some(found) = self.lookup_depth(*bm, name, depth + 1) {
                        return Some(found);
                    }
                }
                Some(Item::Enum) => {
                    let variant = format!("{base}::{name}");
                    if self.items.contains_key(&variant) {
                        return Some(variant);
                    }
                }
                _ => {}
            }
        }
        None
    }

    fn resolve_use(&self, m: ModId, segs: &[String], depth: usize) -> Option<String> {
        let (first, rest) = segs.split_first()?;
        let base = match first.as_str() {
            "crate" => self.src.modules[self.crate_root(m)].path.clone(),
            "self" => self.src.modules[m].path.clone(),
            "super" => {
                let mut cur = self.src.modules[m].parent?;
                let mut rest = rest;
                while rest.first().is_some_and(|s| s == "super") {
                    cur = self.src.modules[cur].parent?;
                    rest = &rest[1..];
                }
                return self.walk(self.src.modules[cur].path.clone(), rest, depth);
            }
            name => match self.lookup_depth(m, name, depth + 1) {
                Some(found) => found,
                None => {
                    let &root = self.src.crates.get(name)?;
                    self.src.modules[root].path.clone()
                }
            },
        };
        self.walk(base, rest, depth)
    }

    fn walk(&self, base: String, rest: &[String], depth: usize) -> Option<String> {
        let mut cur = base;
        for seg in rest {
            cur = match self.items.get(&cur)? {
                Item::Mod(mid) => self.lookup_depth(*mid, seg, depth + 1)?,
                Item::Alias => {
                    let target = self.alias_target_path(&cur, depth + 1)?;
                    let next = format!("{target}::{seg}");
                    self.items.contains_key(&next).then_some(next)?
                }
                _ => {
                    let next = format!("{cur}::{seg}");
                    self.items.contains_key(&next).then_some(next)?
                }
            };
        }
        Some(cur)
    }

    fn alias_target_path(&self, alias: &str, depth: usize) -> Option<String> {
        if depth > MAX_RESOLVE_DEPTH {
            return None;
        }
        let def = self.aliases.get(alias)?;
        let syn::Type::Path(tp) = &def.ty else { return None };
        self.resolve_use(def.module, &segments(&tp.path), depth + 1)
    }

    /// Resolves a path written in module `m` (`Self` is `self_ty`).
    pub fn resolve_path(&self, m: ModId, segs: &[String], self_ty: Option<&Ty>) -> Option<String> {
        match (segs.first().map(String::as_str), self_ty) {
            (Some("Self"), Some(ty)) => self.walk(ty.path.clone(), &segs[1..], 0),
            (Some("Self"), None) => None,
            _ => self.resolve_use(m, segs, 0),
        }
    }

    /// Resolves a `syn::Path` written in module `m`.
    pub fn resolve_syn_path(&self, m: ModId, path: &syn::Path, self_ty: Option<&Ty>) -> Option<String> {
        self.resolve_path(m, &segments(path), self_ty)
    }

    /// The type `ty` written in module `m` stands for.
    pub fn resolve_type(&self, m: ModId, ty: &syn::Type, scope: &TyScope<'_>) -> Option<Ty> {
        self.resolve_type_depth(m, ty, scope, 0)
    }

    fn resolve_type_depth(&self, m: ModId, ty: &syn::Type, scope: &TyScope<'_>, depth: usize) -> Option<Ty> {
        if depth > MAX_RESOLVE_DEPTH {
            return None;
        }
        match ty {
            syn::Type::Reference(r) => self.resolve_type_depth(m, &r.elem, scope, depth + 1),
            syn::Type::Paren(p) => self.resolve_type_depth(m, &p.elem, scope, depth + 1),
            syn::Type::Group(g) => self.resolve_type_depth(m, &g.elem, scope, depth + 1),
            syn::Type::Tuple(t) => Some(Ty {
                path: "()".into(),
                args: t
                    .elems
                    .iter()
                    .map(|e| self.resolve_type_depth(m, e, scope, depth + 1).unwrap_or(Ty::plain("?")))
                    .collect(),
            }),
            syn::Type::Slice(s) => Some(Ty {
                path: "[]".into(),
                args: self.resolve_type_depth(m, &s.elem, scope, depth + 1).into_iter().collect(),
            }),
            syn::Type::Array(a) => Some(Ty {
                path: "[]".into(),
                args: self.resolve_type_depth(m, &a.elem, scope, depth + 1).into_iter().collect(),
            }),
            syn::Type::Path(tp) => {
                let segs = segments(&tp.path);
                if segs.len() == 1 {
                    if segs[0] == "Self" {
                        return scope.self_ty.cloned();
                    }
                    if scope.generics.contains(&segs[0].as_str()) {
                        return Some(Ty::plain(format!("<{}>", segs[0])));
                    }
                }
                let args: Vec<Ty> = match tp.path.segments.last().map(|s| &s.arguments) {
                    Some(syn::PathArguments::AngleBracketed(a)) => a
                        .args
                        .iter()
                        .filter_map(|g| match g {
                            syn::GenericArgument::Type(t) => {
                                Some(self.resolve_type_depth(m, t, scope, depth + 1).unwrap_or(Ty::plain("?")))
                            }
                            _ => None,
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                let Some(path) = self.resolve_path(m, &segs, scope.self_ty) else {
                    let last = segs.last().cloned().unwrap_or_default();
                    return Some(Ty { path: format!("?{last}"), args });
                };
                if let Some(Item::Alias) = self.items.get(&path) {
                    let def = self.aliases.get(&path)?;
                    let target = self.resolve_type_depth(
                        def.module,
                        &def.ty,
                        &TyScope { self_ty: None, generics: def.generics.iter().map(String::as_str).collect() },
                        depth + 1,
                    )?;
                    let subst: BTreeMap<String, Ty> =
                        def.generics.iter().map(|g| format!("<{g}>")).zip(args.iter().cloned()).collect();
                    return Some(substitute(&target, &subst));
                }
                Some(Ty { path, args })
            }
            _ => None,
        }
    }

    /// The type of field `field` of a value of type `owner` (generic arguments substituted).
    pub fn field_type(&self, owner: &Ty, field: &str) -> Option<Ty> {
        let def = self.structs.get(&owner.path)?;
        let (_, fty) = def.fields.iter().find(|(name, _)| name == field)?;
        let scope = TyScope { self_ty: Some(owner), generics: def.generics.iter().map(String::as_str).collect() };
        let raw = self.resolve_type(def.module, fty, &scope)?;
        let subst: BTreeMap<String, Ty> =
            def.generics.iter().map(|g| format!("<{g}>")).zip(owner.args.iter().cloned()).collect();
        Some(substitute(&raw, &subst))
    }

    /// The return type of function `f`, with `Self` as `self_ty` when given.
    pub fn return_type(&self, f: FnId, self_ty: Option<&Ty>) -> Option<Ty> {
        let def = &self.fns[f];
        let syn::ReturnType::Type(_, ty) = &def.sig.output else { return Some(Ty::plain("()")) };
        let scope = TyScope {
            self_ty: self_ty.or(def.self_ty.as_ref()),
            generics: def.generics.keys().map(String::as_str).collect(),
        };
        self.resolve_type(def.module, ty, &scope)
    }

    /// The parameters of `f` in order, `self` first for a method: (name, type).
    pub fn params(&self, f: FnId) -> Vec<(String, Option<Ty>)> {
        let def = &self.fns[f];
        let scope =
            TyScope { self_ty: def.self_ty.as_ref(), generics: def.generics.keys().map(String::as_str).collect() };
        def.sig
            .inputs
            .iter()
            .map(|arg| match arg {
                syn::FnArg::Receiver(_) => ("self".to_string(), def.self_ty.clone()),
                syn::FnArg::Typed(pt) => {
                    let name = match &*pt.pat {
                        syn::Pat::Ident(pi) => pi.ident.to_string(),
                        _ => "_".to_string(),
                    };
                    (name, self.resolve_type(def.module, &pt.ty, &scope))
                }
            })
            .collect()
    }

    /// The component of a module of the OS crate: its top-level module (`pm`, `vm`, `task`);
    /// `lib` for the crate root; the crate's name for other crates.
    pub fn component(&self, m: ModId) -> String {
        let module = &self.src.modules[m];
        if module.krate != crate::source::OS_CRATE {
            return module.krate.clone();
        }
        module.path.split("::").nth(1).unwrap_or("lib").to_string()
    }

    /// The file and line of a span in module `m`: `os/src/pm/fork.rs:33`.
    pub fn site(&self, m: ModId, span: proc_macro2::Span) -> String {
        format!("{}:{}", self.src.modules[m].file, position(span).0)
    }

    /// The line of any syntax node.
    pub fn line_of(node: &impl Spanned) -> usize {
        position(node.span()).0
    }
}

/// Replaces generic parameters (`<S>`) in `ty` by `subst`.
pub fn substitute(ty: &Ty, subst: &BTreeMap<String, Ty>) -> Ty {
    if let Some(t) = subst.get(&ty.path) {
        return t.clone();
    }
    Ty { path: ty.path.clone(), args: ty.args.iter().map(|a| substitute(a, subst)).collect() }
}

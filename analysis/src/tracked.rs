//! What counts as a state write, learnt from the source rather than hard-wired:
//!
//! - The tracked containers' API, read from `recovery/src`: the containers are the types the
//!   `recovery` crate exports that have `#[track_caller]` methods (every mutating method of a
//!   container is `#[track_caller]`, the crate's contract); a mutator whose body names a fixed
//!   `StateClass::X` writes with that class (`ProcTable::insert_own`: process-local,
//!   `insert_global`: global), the others with the field's declared class. A constructor is a
//!   method without `self` taking the `&Journal`; its `&'static str` parameter is the field's name
//!   and its `StateClass` parameter (or the fixed class in its body, for `ProcTable::new`) the
//!   declared class.
//! - The servers' state declarations: each state struct with tracked fields, and for each field
//!   the name and class given to the container where the struct is built
//!   (`PmState { next_pid: TrackedCell::new(&journal, "pm.next_pid", StateClass::Global, ..), .. }`
//!   or through a `let`).
//!
//! Invariant: a field whose declaration cannot be read is kept, named after its struct field and
//! classified global (the worst class), with a warning: an unreadable declaration can make the
//! table pessimistic, never optimistic.

use crate::index::{FnId, Index, Item, Ty};
use crate::source::{OS_CRATE, RECOVERY_CRATE};
use recovery::StateClass;
use std::collections::BTreeMap;
use syn::visit::Visit;

/// The class a mutator writes with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteClass {
    /// The field's declared class.
    Declared,
    /// Always this class, whatever the declaration (the process table's accessors).
    Fixed(StateClass),
}

/// How a container's constructor is called.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ctor {
    /// Position of the field-name argument.
    pub name_arg: Option<usize>,
    /// Position of the class argument.
    pub class_arg: Option<usize>,
    /// The class the constructor declares by itself (`ProcTable::new`: process-local).
    pub fixed_class: Option<StateClass>,
}

/// One tracked container type.
#[derive(Clone, Debug)]
pub struct Container {
    /// Its full path.
    pub path: String,
    /// Its mutating methods and the class each writes with.
    pub mutators: BTreeMap<String, WriteClass>,
    /// Its constructors.
    pub ctors: BTreeMap<String, Ctor>,
}

/// One tracked field of a server's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldDecl {
    /// The declared name (`pm.procs`).
    pub name: String,
    /// The struct field (`procs`).
    pub ident: String,
    /// The state struct's path.
    pub state: String,
    /// The container type's path.
    pub container: String,
    /// The declared class.
    pub class: StateClass,
    /// The component whose state it is (`pm`).
    pub component: String,
    /// Where its class is declared (`os/src/pm/state.rs:113`).
    pub site: String,
}

/// The containers and the servers' tracked fields.
pub struct Tracked {
    /// Containers by path.
    pub containers: BTreeMap<String, Container>,
    /// Every tracked field.
    pub fields: Vec<FieldDecl>,
    /// State struct path -> field ident -> index in `fields`.
    pub by_state: BTreeMap<String, BTreeMap<String, usize>>,
    /// Declarations that could not be read.
    pub warnings: Vec<String>,
}

/// Collects the paths `StateClass::X` named in a body.
struct ClassMentions<'a> {
    index: &'a Index,
    module: usize,
    found: Vec<StateClass>,
}

impl<'ast> Visit<'ast> for ClassMentions<'_> {
    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        if let Some(class) = state_class_of_path(self.index, self.module, &p.path) {
            self.found.push(class);
        }
    }
}

/// The state class a path like `StateClass::Global` names.
pub fn state_class_of_path(index: &Index, module: usize, path: &syn::Path) -> Option<StateClass> {
    let resolved = index.resolve_syn_path(module, path, None)?;
    let Some(Item::Variant { enum_path, .. }) = index.items.get(&resolved) else { return None };
    if !enum_path.ends_with("::StateClass") {
        return None;
    }
    let variant = resolved.rsplit("::").next()?;
    StateClass::ALL.into_iter().find(|c| format!("{c:?}") == variant)
}

fn has_attr(attrs: &[syn::Attribute], name: &str) -> bool {
    attrs.iter().any(|a| a.path().is_ident(name))
}

impl Tracked {
    /// Reads the containers' API from the recovery crate and the servers' state declarations.
    pub fn read(index: &Index) -> Tracked {
        let mut tracked = Tracked {
            containers: BTreeMap::new(),
            fields: Vec::new(),
            by_state: BTreeMap::new(),
            warnings: Vec::new(),
        };
        tracked.read_containers(index);
        tracked.read_fields(index);
        tracked
    }

    fn read_containers(&mut self, index: &Index) {
        let Some(&root) = index.src.crates.get(RECOVERY_CRATE) else { return };
        for (type_path, methods) in &index.methods {
            if !type_path.starts_with(&format!("{RECOVERY_CRATE}::")) {
                continue;
            }
            // Only types the crate exports at its root are containers server code can hold.
            let name = type_path.rsplit("::").next().unwrap_or_default();
            if index.lookup(root, name).as_deref() != Some(type_path.as_str()) {
                continue;
            }
            let mut container =
                Container { path: type_path.clone(), mutators: BTreeMap::new(), ctors: BTreeMap::new() };
            for (method, &f) in methods {
                let def = &index.fns[f];
                if !def.public {
                    continue;
                }
                let mut mentions = ClassMentions { index, module: def.module, found: Vec::new() };
                mentions.visit_block(&def.block);
                let fixed = mentions.found.iter().copied().max();
                if def.has_receiver() {
                    if has_attr(&def.attrs, "track_caller") {
                        let class = fixed.map_or(WriteClass::Declared, WriteClass::Fixed);
                        container.mutators.insert(method.clone(), class);
                    }
                    continue;
                }
                let params = index.params(f);
                let takes_journal = params.iter().any(|(_, t)| t.as_ref().is_some_and(|t| t.name() == "Journal"));
                if !takes_journal {
                    continue;
                }
                let name_arg = params.iter().position(|(_, t)| t.as_ref().is_some_and(|t| t.path == "?str"));
                let class_arg = params.iter().position(|(_, t)| t.as_ref().is_some_and(|t| t.name() == "StateClass"));
                container.ctors.insert(
                    method.clone(),
                    Ctor { name_arg, class_arg, fixed_class: if class_arg.is_none() { fixed } else { None } },
                );
            }
            if !container.mutators.is_empty() {
                self.containers.insert(type_path.clone(), container);
            }
        }
    }

    /// The container a type is, if it is one.
    pub fn container_of(&self, ty: &Ty) -> Option<&Container> {
        self.containers.get(&ty.path)
    }

    fn read_fields(&mut self, index: &Index) {
        // State structs: structs of the OS crate with at least one tracked field.
        let mut states: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for (path, def) in &index.structs {
            if index.src.modules[def.module].krate != OS_CRATE {
                continue;
            }
            let owner = Ty::plain(path.clone());
            for (field, _) in &def.fields {
                if let Some(ty) = index.field_type(&owner, field)
                    && self.containers.contains_key(&ty.path)
                {
                    states.entry(path.clone()).or_default().push((field.clone(), ty.path.clone()));
                }
            }
        }
        // Where each state struct is built: the container constructor behind each field.
        let mut found: BTreeMap<(String, String), (String, Option<StateClass>, String)> = BTreeMap::new();
        for (f, def) in index.fns.iter().enumerate() {
            if index.src.modules[def.module].krate != OS_CRATE {
                continue;
            }
            let mut scan = BuildScan { index, f, lets: BTreeMap::new(), literals: Vec::new() };
            scan.visit_block(&def.block);
            for lit in std::mem::take(&mut scan.literals) {
                let Some(state) = index.resolve_syn_path(def.module, &lit.path, def.self_ty.as_ref()) else { continue };
                if !states.contains_key(&state) {
                    continue;
                }
                for fv in &lit.fields {
                    let syn::Member::Named(ident) = &fv.member else { continue };
                    if let Some((name, class, site)) = scan.ctor_behind(self, &fv.expr) {
                        found.insert((state.clone(), ident.to_string()), (name, class, site));
                    }
                }
            }
        }
        for (state, fields) in &states {
            let def = &index.structs[state];
            let component = index.component(def.module);
            for (ident, container) in fields {
                let (name, class, site) = match found.get(&(state.clone(), ident.clone())) {
                    Some((name, Some(class), site)) => (name.clone(), *class, site.clone()),
                    Some((name, None, site)) => {
                        self.warnings
                            .push(format!("{site}: the class of `{name}` is not a constant: counted as global"));
                        (name.clone(), StateClass::Global, site.clone())
                    }
                    None => {
                        let name = format!("{component}.{ident}");
                        let file = &index.src.modules[def.module].file;
                        self.warnings.push(format!(
                            "{file}: no constructor found for `{state}.{ident}`: named `{name}` and counted as global"
                        ));
                        (name, StateClass::Global, file.clone())
                    }
                };
                let id = self.fields.len();
                self.fields.push(FieldDecl {
                    name,
                    ident: ident.clone(),
                    state: state.clone(),
                    container: container.clone(),
                    class,
                    component: component.clone(),
                    site,
                });
                self.by_state.entry(state.clone()).or_default().insert(ident.clone(), id);
            }
        }
    }

    /// The field `ident` of state struct `state`.
    pub fn field(&self, state: &str, ident: &str) -> Option<usize> {
        self.by_state.get(state)?.get(ident).copied()
    }

    /// Every field of `component`'s states whose container is `container` (a container reached
    /// without knowing which field it is).
    pub fn fields_of_container(&self, component: &str, container: &str) -> Vec<usize> {
        (0..self.fields.len())
            .filter(|&i| self.fields[i].component == component && self.fields[i].container == container)
            .collect()
    }

    /// Every field of `component`'s states with ident `ident`.
    pub fn fields_named(&self, component: &str, ident: &str) -> Vec<usize> {
        (0..self.fields.len())
            .filter(|&i| self.fields[i].component == component && self.fields[i].ident == ident)
            .collect()
    }
}

/// Finds struct literals and `let` bindings in one function.
struct BuildScan<'a> {
    index: &'a Index,
    f: FnId,
    lets: BTreeMap<String, syn::Expr>,
    literals: Vec<syn::ExprStruct>,
}

impl<'ast> Visit<'ast> for BuildScan<'_> {
    fn visit_local(&mut self, local: &'ast syn::Local) {
        if let (syn::Pat::Ident(pi), Some(init)) = (strip_type(&local.pat), &local.init) {
            self.lets.insert(pi.ident.to_string(), (*init.expr).clone());
        }
        syn::visit::visit_local(self, local);
    }

    fn visit_expr_struct(&mut self, e: &'ast syn::ExprStruct) {
        self.literals.push(e.clone());
        syn::visit::visit_expr_struct(self, e);
    }
}

fn strip_type(p: &syn::Pat) -> &syn::Pat {
    match p {
        syn::Pat::Type(t) => strip_type(&t.pat),
        other => other,
    }
}

impl BuildScan<'_> {
    /// The (name, declared class, site) of the container constructor `expr` is, directly or
    /// through a `let`.
    fn ctor_behind(&self, tracked: &Tracked, expr: &syn::Expr) -> Option<(String, Option<StateClass>, String)> {
        let def = &self.index.fns[self.f];
        let call = match expr {
            syn::Expr::Call(c) => c,
            syn::Expr::Path(p) if p.path.segments.len() == 1 => {
                let init = self.lets.get(&p.path.segments[0].ident.to_string())?;
                return self.ctor_behind(tracked, init);
            }
            _ => return None,
        };
        let syn::Expr::Path(fp) = &*call.func else { return None };
        let path = self.index.resolve_syn_path(def.module, &fp.path, def.self_ty.as_ref())?;
        let (type_path, ctor_name) = path.rsplit_once("::")?;
        let ctor = tracked.containers.get(type_path)?.ctors.get(ctor_name)?;
        let args: Vec<&syn::Expr> = call.args.iter().collect();
        let name = match ctor.name_arg.and_then(|i| args.get(i)) {
            Some(syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. })) => s.value(),
            _ => return None,
        };
        let class = match ctor.class_arg.and_then(|i| args.get(i)) {
            Some(syn::Expr::Path(p)) => state_class_of_path(self.index, def.module, &p.path),
            Some(_) => None,
            None => ctor.fixed_class,
        };
        Some((name, class, self.index.site(def.module, syn::spanned::Spanned::span(&call.func))))
    }
}

//! Names in the fused program: every function is prefixed with its component, as the fusing paper
//! renames MINIX's functions (pm's `do_fork` becomes `mx_pm_do_fork`; a method keeps its type:
//! `mx_vm_VmState_alloc_frames`). Two functions that would get the same name in one component
//! (same name in two files) get their module path too (`mx_vm_fork_do_exit`).

use crate::index::{FnId, Index};
use crate::source::OS_CRATE;
use std::collections::BTreeMap;

/// The prefix of every fused name.
pub const PREFIX: &str = "mx";

/// Fused names of functions.
pub struct Names {
    names: BTreeMap<FnId, String>,
}

fn base_name(index: &Index, f: FnId) -> String {
    let def = &index.fns[f];
    let component = index.component(def.module);
    match &def.self_ty {
        Some(ty) => format!("{PREFIX}_{component}_{}_{}", ty.name(), def.ident),
        None => format!("{PREFIX}_{component}_{}", def.ident),
    }
}

fn long_name(index: &Index, f: FnId) -> String {
    let def = &index.fns[f];
    let path = def.path.strip_prefix(&format!("{OS_CRATE}::")).unwrap_or(&def.path);
    let cleaned: String = path.replace("::", "_").replace('#', "_");
    format!("{PREFIX}_{cleaned}")
}

impl Names {
    /// Names every function in `fns`.
    pub fn new(index: &Index, fns: impl IntoIterator<Item = FnId>) -> Names {
        let fns: Vec<FnId> = fns.into_iter().collect();
        let mut count: BTreeMap<String, usize> = BTreeMap::new();
        for &f in &fns {
            *count.entry(base_name(index, f)).or_default() += 1;
        }
        let names = fns
            .into_iter()
            .map(|f| {
                let base = base_name(index, f);
                (f, if count[&base] > 1 { long_name(index, f) } else { base })
            })
            .collect();
        Names { names }
    }

    /// The fused name of `f` (its path when it is not part of the fused program).
    pub fn of(&self, f: FnId) -> &str {
        self.names.get(&f).map_or("?", String::as_str)
    }
}

//! Reading the source the analysis works on: the OS crate (`os/src`, the subject), the
//! parts of `kernel_sim` and `recovery` it needs to understand the servers (message-type bases,
//! endpoints, kernel calls; the tracked containers' API), and the manifest's slots.
//!
//! Duties: load each crate's module tree from its `lib.rs` as `rustc` would (`mod x;` is `x.rs` or
//! `x/mod.rs`; inline `mod x { .. }` blocks are modules too), leaving out everything under
//! `#[cfg(test)]`; parse every `.rs` file under `os/src`, in the tree or not, so that a file
//! that does not parse is an error naming it and the position; digest every file, so the table
//! can say exactly which source it was derived from.
//!
//! Invariant: everything here is ordered (sorted directory walks, `BTreeMap`s), so two runs over the
//! same files build the same modules in the same order.

use crate::error::AnalysisError;
use proc_macro2::Span;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where the analysis reads from.
#[derive(Clone, Debug)]
pub struct Inputs {
    /// The servers' crate source, the subject of the analysis (`os/src`).
    pub os_src: PathBuf,
    /// The kernel's source, read for message-type bases, endpoints and kernel calls.
    pub kernel_src: PathBuf,
    /// The recovery crate's source, read for the tracked containers' API.
    pub recovery_src: PathBuf,
    /// The service manifest, read for the slot of each service (which endpoint is which server).
    pub manifest: PathBuf,
}

impl Inputs {
    /// The inputs of the workspace at `root`.
    pub fn workspace(root: &Path) -> Inputs {
        Inputs {
            os_src: root.join("os/src"),
            kernel_src: root.join("kernel_sim/src"),
            recovery_src: root.join("recovery/src"),
            manifest: root.join(DEFAULT_MANIFEST),
        }
    }
}

/// Index of a module in [`Sources::modules`].
pub type ModId = usize;

/// One module: a file, or an inline `mod x { .. }` block.
pub struct Module {
    /// The crate it belongs to (`servers`, `kernel_sim`, `recovery`).
    pub krate: String,
    /// Its full path (`os::pm::forkexit`).
    pub path: String,
    /// The file it is in, as outputs name it (`os/src/pm/forkexit.rs`).
    pub file: String,
    /// Its parent module (`None` for a crate root).
    pub parent: Option<ModId>,
    /// Its items, without those under `#[cfg(test)]` and without child modules' contents.
    pub items: Vec<syn::Item>,
    /// Its child modules by name.
    pub children: BTreeMap<String, ModId>,
}

/// The loaded source.
pub struct Sources {
    /// Every module of every crate read.
    pub modules: Vec<Module>,
    /// The root module of each crate.
    pub crates: BTreeMap<String, ModId>,
    /// Every `.rs` file under `os/src` (as outputs name it) with the digest of its contents.
    pub os_files: BTreeMap<String, u64>,
    /// Service slots from the manifest: slot -> service name.
    pub slots: BTreeMap<u64, String>,
    /// Things worth knowing that do not stop the analysis (a declared module with no file...).
    pub warnings: Vec<String>,
}

/// The manifest the system boots with, relative to the workspace.
pub const DEFAULT_MANIFEST: &str = "etc/system.conf";

/// The crate the analysis is about.
pub const OS_CRATE: &str = "os";
/// The kernel crate (constants and enums only).
pub const KERNEL_CRATE: &str = "kernel_sim";
/// The recovery crate (the tracked containers' API only).
pub const RECOVERY_CRATE: &str = "recovery";

/// 1-based line and column of the start of `span`.
pub fn position(span: Span) -> (usize, usize) {
    let start = span.start();
    (start.line, start.column + 1)
}

/// Whether `attrs` hold `#[cfg(test)]` (the item exists only in unit tests).
pub fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| a.path().is_ident("cfg") && a.parse_args::<syn::Ident>().map(|i| i == "test").unwrap_or(false))
}

/// The attributes of an item, for the `#[cfg(test)]` filter.
pub fn item_attrs(item: &syn::Item) -> &[syn::Attribute] {
    match item {
        syn::Item::Const(i) => &i.attrs,
        syn::Item::Enum(i) => &i.attrs,
        syn::Item::Fn(i) => &i.attrs,
        syn::Item::Impl(i) => &i.attrs,
        syn::Item::Macro(i) => &i.attrs,
        syn::Item::Mod(i) => &i.attrs,
        syn::Item::Static(i) => &i.attrs,
        syn::Item::Struct(i) => &i.attrs,
        syn::Item::Trait(i) => &i.attrs,
        syn::Item::Type(i) => &i.attrs,
        syn::Item::Use(i) => &i.attrs,
        _ => &[],
    }
}

fn read(path: &Path, display: &str) -> Result<String, AnalysisError> {
    std::fs::read_to_string(path).map_err(|e| AnalysisError::file(display, format!("cannot read: {e}")))
}

/// Parses one file; a syntax error names the file, line and column.
pub fn parse(text: &str, display: &str) -> Result<syn::File, AnalysisError> {
    syn::parse_file(text).map_err(|e| {
        let (line, column) = position(e.span());
        AnalysisError::at(display, line, column, format!("does not parse: {e}"))
    })
}

/// Loads crates into modules.
struct Loader {
    modules: Vec<Module>,
    /// Files loaded, by their path on disk.
    loaded: BTreeMap<PathBuf, String>,
    warnings: Vec<String>,
}

impl Loader {
    /// Loads the crate `krate` whose `lib.rs` is in `src`, naming files `display_prefix/...`.
    fn load_crate(&mut self, krate: &str, src: &Path, display_prefix: &str) -> Result<ModId, AnalysisError> {
        let lib = src.join("lib.rs");
        self.load_file(krate, krate.to_string(), &lib, src, display_prefix, None, true)
    }

    #[allow(clippy::too_many_arguments)]
    fn load_file(
        &mut self,
        krate: &str,
        path: String,
        file: &Path,
        src: &Path,
        display_prefix: &str,
        parent: Option<ModId>,
        owns_dir: bool,
    ) -> Result<ModId, AnalysisError> {
        let display = display_name(file, src, display_prefix);
        let text = read(file, &display)?;
        let parsed = parse(&text, &display)?;
        self.loaded.insert(file.to_path_buf(), display.clone());
        // A `mod x;` in `a/b.rs` is `a/b/x.rs`; in `lib.rs` or `mod.rs` it is next to the file.
        let dir = if owns_dir {
            file.parent().map(Path::to_path_buf).unwrap_or_default()
        } else {
            let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            file.parent().map(|p| p.join(stem)).unwrap_or_default()
        };
        self.add_module(krate, path, &display, parsed.items, &dir, src, display_prefix, parent)
    }

    #[allow(clippy::too_many_arguments)]
    fn add_module(
        &mut self,
        krate: &str,
        path: String,
        display: &str,
        items: Vec<syn::Item>,
        dir: &Path,
        src: &Path,
        display_prefix: &str,
        parent: Option<ModId>,
    ) -> Result<ModId, AnalysisError> {
        let id = self.modules.len();
        self.modules.push(Module {
            krate: krate.to_string(),
            path: path.clone(),
            file: display.to_string(),
            parent,
            items: Vec::new(),
            children: BTreeMap::new(),
        });
        let mut kept = Vec::new();
        for item in items {
            if is_test_only(item_attrs(&item)) {
                continue;
            }
            let syn::Item::Mod(m) = item else {
                kept.push(item);
                continue;
            };
            let name = m.ident.to_string();
            let child_path = format!("{path}::{name}");
            let child = match m.content {
                Some((_, inner)) => {
                    self.add_module(krate, child_path, display, inner, &dir.join(&name), src, display_prefix, Some(id))?
                }
                None => {
                    let flat = dir.join(format!("{name}.rs"));
                    let nested = dir.join(&name).join("mod.rs");
                    if flat.is_file() {
                        self.load_file(krate, child_path, &flat, src, display_prefix, Some(id), false)?
                    } else if nested.is_file() {
                        self.load_file(krate, child_path, &nested, src, display_prefix, Some(id), true)?
                    } else {
                        let (line, _) = position(m.ident.span());
                        self.warnings.push(format!(
                            "{display}:{line}: module `{name}` has no file ({name}.rs or {name}/mod.rs): left out"
                        ));
                        continue;
                    }
                }
            };
            self.modules[id].children.insert(name, child);
        }
        self.modules[id].items = kept;
        Ok(id)
    }
}

fn display_name(file: &Path, src: &Path, prefix: &str) -> String {
    match file.strip_prefix(src) {
        Ok(rel) => format!("{prefix}/{}", rel.to_string_lossy().replace('\\', "/")),
        Err(_) => file.to_string_lossy().into_owned(),
    }
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path, display: &str) -> Result<Vec<PathBuf>, AnalysisError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| AnalysisError::file(display, format!("cannot list: {e}")))?;
        for entry in entries {
            let entry = entry.map_err(|e| AnalysisError::file(display, format!("cannot list: {e}")))?;
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The 64-bit FNV-1a offset basis and prime: a fixed, dependency-free digest. It identifies a
/// version of the source (change detection), it is not a security hash.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv1a(hash: &mut u64, bytes: &[u8]) {
    for &b in bytes {
        *hash ^= u64::from(b);
        *hash = hash.wrapping_mul(FNV_PRIME);
    }
}

/// `fnv1a64:<hex>` over the given files (names and content digests, in order).
pub fn digest<'a>(files: impl IntoIterator<Item = (&'a String, &'a u64)>) -> String {
    let mut digest = FNV_OFFSET;
    for (name, content) in files {
        fnv1a(&mut digest, name.as_bytes());
        fnv1a(&mut digest, &[0]);
        fnv1a(&mut digest, &content.to_le_bytes());
    }
    format!("fnv1a64:{digest:016x}")
}

/// Reads the manifest's `service NAME { slot N; .. }` blocks: slot -> name. Only the slots matter
/// here (which endpoint constant is which server); the kernel validates the rest at boot.
pub fn manifest_slots(text: &str, display: &str) -> Result<BTreeMap<u64, String>, AnalysisError> {
    let mut tokens: Vec<(String, usize)> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split('#').next().unwrap_or("");
        let spaced = code.replace('{', " { ").replace('}', " } ").replace(';', " ; ");
        tokens.extend(spaced.split_whitespace().map(|t| (t.to_string(), n + 1)));
    }
    let mut slots = BTreeMap::new();
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i].0 == "service" && i + 2 < tokens.len() && tokens[i + 2].0 == "{" {
            let name = tokens[i + 1].0.clone();
            let mut depth = 0;
            let mut j = i + 2;
            let mut slot = None;
            while j < tokens.len() {
                match tokens[j].0.as_str() {
                    "{" => depth += 1,
                    "}" => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    "slot" if depth == 1 && j + 1 < tokens.len() => {
                        let value = tokens[j + 1].0.parse::<u64>().map_err(|_| {
                            AnalysisError::at(display, tokens[j + 1].1, 1, format!("slot of `{name}` is not a number"))
                        })?;
                        slot = Some(value);
                    }
                    _ => {}
                }
                j += 1;
            }
            match slot {
                Some(s) => {
                    slots.insert(s, name);
                }
                None => {
                    return Err(AnalysisError::at(display, tokens[i].1, 1, format!("service `{name}` has no slot")));
                }
            }
            i = j;
        }
        i += 1;
    }
    Ok(slots)
}

impl Sources {
    /// Loads everything the analysis reads.
    pub fn load(inputs: &Inputs) -> Result<Sources, AnalysisError> {
        let mut loader = Loader { modules: Vec::new(), loaded: BTreeMap::new(), warnings: Vec::new() };
        let mut crates = BTreeMap::new();
        crates.insert(OS_CRATE.to_string(), loader.load_crate(OS_CRATE, &inputs.os_src, "os/src")?);
        let servers_loaded: Vec<PathBuf> = loader.loaded.keys().cloned().collect();
        crates.insert(KERNEL_CRATE.to_string(), loader.load_crate(KERNEL_CRATE, &inputs.kernel_src, "kernel_sim/src")?);
        crates.insert(
            RECOVERY_CRATE.to_string(),
            loader.load_crate(RECOVERY_CRATE, &inputs.recovery_src, "recovery/src")?,
        );
        // Every file under os/src must parse, in the module tree or not.
        let mut os_files = BTreeMap::new();
        let files = rust_files(&inputs.os_src, "os/src")?;
        for file in &files {
            let display = display_name(file, &inputs.os_src, "os/src");
            let text = read(file, &display)?;
            if !servers_loaded.contains(file) {
                parse(&text, &display)?;
                // Unit-test files (`#[cfg(test)] mod tests;`) are expected outside the tree.
                let is_test_file = file.file_stem().is_some_and(|s| s == "tests");
                if !is_test_file {
                    loader.warnings.push(format!("{display}: not part of the crate's module tree: left out"));
                }
            }
            let mut digest = FNV_OFFSET;
            fnv1a(&mut digest, text.as_bytes());
            os_files.insert(display, digest);
        }
        let manifest_display = if inputs.manifest.ends_with(DEFAULT_MANIFEST) {
            DEFAULT_MANIFEST.to_string()
        } else {
            inputs.manifest.display().to_string()
        };
        let manifest_text = read(&inputs.manifest, &manifest_display)?;
        let slots = manifest_slots(&manifest_text, &manifest_display)?;
        Ok(Sources { modules: loader.modules, crates, os_files, slots, warnings: loader.warnings })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_slots_are_read_per_service() {
        let text = "# c\nservice rs {\n slot 1;\n ipc ALL;\n};\nservice pm { slot 2; calls vm 0xC00..0xC05; };\nuser { ipc pm; }\n";
        let slots = manifest_slots(text, "m").unwrap();
        assert_eq!(slots, BTreeMap::from([(1, "rs".to_string()), (2, "pm".to_string())]));
        let e = manifest_slots("service vm {\n ipc ALL;\n};", "m.conf").unwrap_err();
        assert_eq!(e.to_string(), "m.conf:1:1: service `vm` has no slot");
    }

    #[test]
    fn a_file_that_does_not_parse_is_named_with_its_position() {
        let e = parse("fn main() {\n    let x = ;\n}\n", "os/src/pm/bad.rs").err().expect("a syntax error");
        assert_eq!((e.file.as_str(), e.line), ("os/src/pm/bad.rs", Some(2)));
        assert!(e.to_string().starts_with("os/src/pm/bad.rs:2:"), "{e}");
    }
}

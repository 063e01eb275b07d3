//! The static fusing analysis: it reads the servers' own source, links every state-changing IPC
//! send site to the handler that receives it, and derives, per entry point (server and message
//! type), which state every component may write - the recovery-class table the recovery manager
//! reads at run time (`etc/recovery-table.postcard`).
//!
//! It follows the fusing paper (see /work/shared/PAPERS.md) on Rust source instead of LLVM IR:
//!
//! 1. [`source`]: parse every file of `os/src` with syn (an unparsable file is an error naming
//!    it), plus what the servers use from `kernel_sim` (message-type bases, endpoints, kernel
//!    calls) and `recovery` (the tracked containers' API), and the manifest's slots.
//! 2. [`index`], [`consts`]: resolve names and evaluate constants as the compiler would.
//! 3. [`components`]: the servers (their receive loops and call tables) and the shared code linked
//!    into them: every top-level module of the OS crate is one or the other (user programs and the
//!    testbed live in crates of their own). Functions are named by component
//!    ([`names`]: `mx_pm_do_fork`).
//! 4. [`body`]: per function, its calls, its sends (the request primitives `sendrec`, `asynsend`,
//!    `kernel`; answers and notifications are out of scope), its tracked writes ([`tracked`]).
//! 5. [`trace`]: each send's destination and message type traced to constants, inlining callers.
//! 6. [`fuse`]: each send context linked to the pruned receive loop (the handler) of its
//!    destination; the whole-system call graph in petgraph.
//! 7. [`classify`]: write sets per entry point, transitively over the fused graph, classified by
//!    declared class and the process-local rule; the table. [`compensate`] checks the servers'
//!    declared inverses against it and records them.
//! 8. [`report`]: the table as text (the paper's Table 4), the statistics ([`stats`], Tables 1-3),
//!    per entry point DOT graphs clustered by component, JSON.
//!
//! [`dynamic`] (feature `dynamic`) cross-checks the table against the writes servers really make
//! when running a workload.
//!
//! Invariants: the analysis never runs server code; it is deterministic (ordered maps, sorted
//! outputs), so the committed table changes only when the source does; it over-approximates where
//! it cannot be exact (unknown receivers, unknown destinations), so the table can be pessimistic
//! but never optimistic.

pub mod body;
pub mod classify;
pub mod compensate;
pub mod components;
pub mod consts;
#[cfg(feature = "dynamic")]
pub mod draw;
pub mod dynamic;
pub mod error;
pub mod fuse;
pub mod index;
pub mod names;
pub mod report;
pub mod source;
pub mod stats;
pub mod trace;
pub mod tracked;

pub use error::AnalysisError;
pub use source::Inputs;

use body::{BodyReader, Facts};
use classify::EntryPoint;
use components::Components;
use fuse::Fusion;
use index::Index;
use names::Names;
use recovery::RecoveryTable;
use stats::Statistics;
use std::collections::BTreeSet;
use std::path::Path;
use trace::Tracer;
use tracked::Tracked;

/// The table files, relative to the workspace root.
pub const TABLE_JSON: &str = "etc/recovery-table.json";
/// The binary table the runtime loads.
pub const TABLE_POSTCARD: &str = "etc/recovery-table.postcard";
/// The command that regenerates the table files.
pub const REGENERATE: &str = "cargo run -- analyze --write-table";

/// The constant the servers' window records kernel calls with (`KERNEL_CALL_BASE + call`).
const KERNEL_CALL_BASE_NAME: &str = "KERNEL_CALL_BASE";

/// Everything the analysis found.
pub struct Analysis {
    /// The indexed source.
    pub index: Index,
    /// The tracked containers and fields.
    pub tracked: Tracked,
    /// Servers and shared code.
    pub components: Components,
    /// Per function (by id), what its body does; empty for functions outside the program.
    pub facts: Vec<Facts>,
    /// The fused program.
    pub fusion: Fusion,
    /// Every entry point, classified.
    pub entries: Vec<EntryPoint>,
    /// Fused names.
    pub names: Names,
    /// The recovery-class table.
    pub table: RecoveryTable,
    /// Things worth knowing that did not stop the analysis.
    pub warnings: Vec<String>,
}

/// Analyses the workspace at `root`.
pub fn analyze_workspace(root: &Path) -> Result<Analysis, AnalysisError> {
    analyze(&Inputs::workspace(root))
}

/// Analyses the servers' source named by `inputs`.
pub fn analyze(inputs: &Inputs) -> Result<Analysis, AnalysisError> {
    let sources = source::Sources::load(inputs)?;
    let index = Index::build(sources);
    let tracked = Tracked::read(&index);
    let components = Components::find(&index)?;
    let mut warnings = index.src.warnings.clone();
    warnings.extend(tracked.warnings.iter().cloned());
    let empty = BTreeSet::new();
    let facts: Vec<Facts> = (0..index.fns.len())
        .map(|f| {
            let module = index.fns[f].module;
            if index.src.modules[module].krate == source::OS_CRATE {
                let component = index.component(module);
                BodyReader::read(&index, &tracked, f, components.reach.get(&component).unwrap_or(&empty))
            } else {
                Facts::default()
            }
        })
        .collect();
    let task_loops = (0..facts.len()).filter(|&f| facts[f].receive_loop && facts[f].table_dispatch);
    let program = fuse::program(&facts, &components.roots(task_loops));
    for component in components.unused(&index, &program) {
        warnings.push(format!("os/src/{component}: no server runs or uses this module of the OS"));
    }
    let kernel_call_base = index
        .consts
        .iter()
        .find(|c| {
            c.path.ends_with(&format!("::{KERNEL_CALL_BASE_NAME}"))
                && index.src.modules[c.module].krate == source::OS_CRATE
        })
        .and_then(|c| index.const_value(&c.path))
        .and_then(|v| v.int());
    if kernel_call_base.is_none() {
        warnings.push(format!("no `{KERNEL_CALL_BASE_NAME}` constant in os/src: kernel calls are numbered from 0"));
    }
    let tracer = Tracer::new(&index, &facts, kernel_call_base.unwrap_or(0), &program);
    let fusion = Fusion::build(&index, &components, &facts, &tracer, &program);
    let entries = classify::entry_points(&index, &tracked, &components, &facts, &fusion);
    let names = Names::new(&index, fusion.node_of.keys().copied());
    let (files, digest) = analysed_source(&index, &components);
    let provenance = format!(
        "generated by `samsara analyze --write-table` (analysis: static fusing of the servers' IPC, \
         write sets per entry point) from os/src ({files} files of the servers and their shared \
         code, source digest {digest})"
    );
    let mut table = classify::table(&tracked, &components, &fusion, &entries, &names, provenance);
    compensate::check_and_record(&mut table, &components)?;
    for s in &components.servers {
        if s.slot.is_none() {
            warnings.push(format!("server `{}` has no slot in etc/system.conf: no request can reach it", s.name));
        }
    }
    Ok(Analysis { index, tracked, components, facts, fusion, entries, names, table, warnings })
}

/// The files the table depends on - every file of a server or of shared code, which is every
/// file of the OS crate but its root - and their digest. An edit anywhere in them changes the digest, so the committed table must be
/// regenerated; an edit elsewhere cannot change the table and does not.
pub fn analysed_source(index: &Index, components: &Components) -> (usize, String) {
    let mut files: std::collections::BTreeMap<&String, &u64> = std::collections::BTreeMap::new();
    for (m, module) in index.src.modules.iter().enumerate() {
        if module.krate != source::OS_CRATE || module.parent.is_none() {
            continue;
        }
        if components.role(&index.component(m)).is_none() {
            continue;
        }
        if let Some((name, digest)) = index.src.os_files.get_key_value(&module.file) {
            files.insert(name, digest);
        }
    }
    (files.len(), source::digest(files))
}

impl Analysis {
    /// The fusing statistics (the paper's Tables 1-3).
    pub fn statistics(&self) -> Statistics {
        Statistics::of(self)
    }
}

/// The table as the JSON file holds it.
pub fn table_json(table: &RecoveryTable) -> String {
    let mut text = table.to_json();
    text.push('\n');
    text
}

/// Writes `table` to the table files under `root` (JSON for people, postcard for the runtime).
pub fn write_table(root: &Path, table: &RecoveryTable) -> Result<(), AnalysisError> {
    for (file, bytes) in [(TABLE_JSON, table_json(table).into_bytes()), (TABLE_POSTCARD, table.to_postcard())] {
        std::fs::write(root.join(file), bytes).map_err(|e| AnalysisError::file(file, format!("cannot write: {e}")))?;
    }
    Ok(())
}

/// Checks that the table files under `root` hold exactly `table` (derived from the current
/// source). The error says what differs and how to regenerate them.
pub fn check_table(root: &Path, table: &RecoveryTable) -> Result<(), String> {
    let mut problems = Vec::new();
    match std::fs::read_to_string(root.join(TABLE_JSON)) {
        Ok(text) if text == table_json(table) => {}
        Ok(text) => match RecoveryTable::from_json(&text, TABLE_JSON) {
            Ok(committed) => problems.push(format!("{TABLE_JSON}: {}", describe_difference(&committed, table))),
            Err(e) => problems.push(e.to_string()),
        },
        Err(e) => problems.push(format!("{TABLE_JSON}: cannot read: {e}")),
    }
    match std::fs::read(root.join(TABLE_POSTCARD)) {
        Ok(bytes) if bytes == table.to_postcard() => {}
        Ok(bytes) => match RecoveryTable::from_postcard(&bytes, TABLE_POSTCARD) {
            Ok(committed) => problems.push(format!("{TABLE_POSTCARD}: {}", describe_difference(&committed, table))),
            Err(e) => problems.push(e.to_string()),
        },
        Err(e) => problems.push(format!("{TABLE_POSTCARD}: cannot read: {e}")),
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(format!(
        "the committed recovery-class table is not the one the current os/src gives (the runtime \
         must never use a table older than the source):\n  {}\nrun `{REGENERATE}` and commit both files",
        problems.join("\n  ")
    ))
}

/// What differs between a committed table and the current one, briefly.
fn describe_difference(committed: &RecoveryTable, current: &RecoveryTable) -> String {
    let key = |r: &recovery::TableRow| (r.server.clone(), r.m_type);
    let old: std::collections::BTreeMap<_, _> = committed.rows.iter().map(|r| (key(r), r)).collect();
    let new: std::collections::BTreeMap<_, _> = current.rows.iter().map(|r| (key(r), r)).collect();
    let mut out = Vec::new();
    for (k, r) in &new {
        match old.get(k) {
            None => out.push(format!("new entry point {}/{}", r.server, r.call)),
            Some(o) if o != r => {
                out.push(format!("{}/{} changed (class {} -> {})", r.server, r.call, o.class, r.class))
            }
            Some(_) => {}
        }
    }
    for (k, r) in &old {
        if !new.contains_key(k) {
            out.push(format!("entry point {}/{} is gone", r.server, r.call));
        }
    }
    if committed.provenance != current.provenance {
        out.push("the source digest differs".into());
    }
    if out.is_empty() {
        out.push("the file's bytes differ".into());
    }
    out.join("; ")
}

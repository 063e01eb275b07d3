//! The command line: global options, subcommands, human tables and `--json`.

mod analyze;
mod bench;
mod campaign;
mod demo;
mod run;

use clap::{Parser, Subcommand};
use kernel_sim::{EngineKind, Manifest};
use std::path::PathBuf;

/// The manifest samsara boots with unless `--manifest` names another.
pub const DEFAULT_MANIFEST: &str = include_str!("../../etc/system.conf");
const DEFAULT_MANIFEST_NAME: &str = "etc/system.conf (built in)";

/// samsara: a userspace MINIX-3-style multiserver OS for studying how OS servers recover from crashes.
///
/// A simulated microkernel runs single-threaded servers (pm, vm, vfs, mfs, memdisk, memory, ds, sched, rs)
/// that talk by message IPC, exactly as MINIX 3's do. Every run is reproducible from one seed under the default `sim` engine.
#[derive(Parser, Debug)]
#[command(
    name = "samsara",
    version,
    about,
    long_about,
    after_help = "Examples:\n  samsara manifest            show the service manifest the system boots with\n  samsara --json manifest     the same, as JSON for scripts"
)]
pub struct Cli {
    /// Engine: `sim` (deterministic coroutines, virtual time) or `threads` (one OS thread per process).
    #[arg(long, global = true, default_value = "sim")]
    pub engine: EngineKind,
    /// The seed every random choice of a `sim` run comes from.
    #[arg(long, global = true, default_value_t = 0)]
    pub seed: u64,
    /// Print JSON for scripts instead of tables for people.
    #[arg(long, global = true)]
    pub json: bool,
    /// A service manifest to use instead of the built-in etc/system.conf.
    #[arg(long, global = true, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a fault-injection campaign: a golden run, then sampled faults in every server but rs, each
    /// under every recovery policy side by side; prints outcome shares per policy, server and
    /// fault type. Results are JSON lines (resumable, shardable) with a CSV summary and an HTML
    /// report.
    Campaign(campaign::CampaignArgs),
    /// Boot the system and run one workload, optionally injecting one fault under one policy;
    /// prints the workload verdict, the decision trail and the consistency checker's verdict.
    Run(run::RunArgs),
    /// Merge the results files of a sharded campaign into one.
    Merge(campaign::MergeArgs),
    /// Re-run one run of a campaign from its seed and tell it step by step (`--raw`: the event log).
    Replay(campaign::ReplayArgs),
    /// Validate and print the service manifest (per service: slot, IPC and kernel-call masks,
    /// heartbeat, restart pacing, core flag).
    Manifest,
    /// Run the static fusing analysis of the servers' source: the recovery-class table, the
    /// fusing statistics, per entry point call graphs; `--write-table` regenerates the table files.
    Analyze(analyze::AnalyzeArgs),
    /// Measure the headline figures side by side with their baselines (IPC, syscall throughput with
    /// checkpointing off and on, recovery latencies, scaling curves, campaign throughput); prints
    /// each figure, its baseline from the same run, the ratio and the target; writes an SVG chart.
    Bench(bench::BenchArgs),
    /// Narrated scenarios of reincarnation and recovery (restart, rollback, window, reprocess,
    /// process-local, compensation, quarantine, srs, hang, driver), each a real run told step by step from
    /// its event log; `--html` adds a message sequence chart and the crashed entry point's call
    /// graph.
    Demo(demo::DemoArgs),
}

/// Loads the manifest named on the command line, or the built-in one, refusing one samsara
/// cannot boot (a service with no program, a service the boot needs missing).
pub fn load_manifest(path: Option<&PathBuf>) -> Result<Manifest, String> {
    load_manifest_text(path).map(|(manifest, _)| manifest)
}

/// The manifest to boot and, when `--manifest` named one, its text (a campaign records it so
/// that its runs replay on the same system).
pub fn load_manifest_text(path: Option<&PathBuf>) -> Result<(Manifest, Option<String>), String> {
    let (text, name) = match path {
        Some(p) => {
            let bytes = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
            let text = String::from_utf8(bytes)
                .map_err(|e| format!("{}: not UTF-8 text at byte {}", p.display(), e.utf8_error().valid_up_to()))?;
            (text, p.display().to_string())
        }
        None => (DEFAULT_MANIFEST.to_string(), DEFAULT_MANIFEST_NAME.to_string()),
    };
    let manifest = Manifest::parse(&text, &name, &|_| None).map_err(|e| e.to_string())?;
    testbed::boot::check_bootable(&manifest, &name)?;
    Ok((manifest, path.map(|_| text)))
}

/// Refuses a global option the command would ignore: a replay runs with its campaign's seed,
/// engine and manifest, a merge boots nothing, the analysis and the manifest run nothing, and the
/// bench measures both engines of the built-in system.
fn refuse_ignored_options(cli: &Cli) -> Result<(), String> {
    let (name, seed, engine, manifest) = match &cli.command {
        Command::Campaign(_) | Command::Run(_) | Command::Demo(_) => return Ok(()),
        Command::Replay(_) => ("replay (it runs with the campaign's seed, engine and manifest)", false, false, false),
        Command::Merge(_) => ("merge (it runs nothing)", false, false, false),
        Command::Manifest => ("manifest (it runs nothing)", false, false, true),
        Command::Analyze(_) => ("analyze (it runs nothing)", false, false, true),
        Command::Bench(_) => ("bench (it measures both engines of the built-in system)", false, false, false),
    };
    let given = [
        ("--seed", !seed && cli.seed != 0),
        ("--engine", !engine && cli.engine != EngineKind::Sim),
        ("--manifest", !manifest && cli.manifest.is_some()),
    ];
    match given.iter().find(|(_, ignored)| *ignored) {
        Some((option, _)) => Err(format!("{option} does not apply to {name}")),
        None => Ok(()),
    }
}

fn dispatch(cli: &Cli) -> Result<i32, String> {
    refuse_ignored_options(cli)?;
    match &cli.command {
        Command::Campaign(args) => campaign::campaign(cli, args),
        Command::Run(args) => run::run(cli, args),
        Command::Merge(args) => campaign::merge(cli, args),
        Command::Replay(args) => campaign::replay(cli, args),
        Command::Analyze(args) => analyze::analyze(cli, args),
        Command::Demo(args) => demo::demo(cli, args),
        Command::Bench(args) => bench::bench(cli, args),
        Command::Manifest => {
            let manifest = load_manifest(cli.manifest.as_ref())?;
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&manifest).map_err(|e| e.to_string())?);
            } else {
                print!("{}", manifest_table(&manifest));
            }
            Ok(0)
        }
    }
}

fn manifest_table(m: &Manifest) -> String {
    use kernel_sim::manifest::{TargetSet, format_micros};
    let targets = |t: &TargetSet| match t {
        TargetSet::All => "ALL".to_string(),
        TargetSet::Only(t) => t.iter().cloned().collect::<Vec<_>>().join(" "),
    };
    let header = [
        "service",
        "slot",
        "may send to",
        "kernel calls",
        "heartbeat",
        "restart (first/backoff/max)",
        "flags, memory (pages), sizes",
    ];
    let mut rows: Vec<[String; 7]> = vec![header.map(String::from)];
    for s in &m.services {
        let kernel: Vec<&str> = kernel_sim::KernelCall::ALL
            .iter()
            .filter(|k| s.privileges.kernel.contains(**k))
            .map(|k| k.keyword())
            .collect();
        let kernel = match kernel.len() {
            0 => "none".to_string(),
            n if n == kernel_sim::KernelCall::ALL.len() => "ALL".to_string(),
            _ => kernel.join(" "),
        };
        let r = &s.restart;
        // The flags, then the memory and sizes the service is given.
        let flags = [s.core.then_some("core"), s.stateful.then_some("stateful")]
            .into_iter()
            .flatten()
            .map(String::from)
            .chain((s.memory_pages > 0).then(|| format!("memory={}", s.memory_pages)))
            .chain(s.params.iter().map(|(name, value)| format!("{name}={value}")));
        rows.push([
            s.name.clone(),
            s.slot.to_string(),
            targets(&s.privileges.ipc),
            kernel,
            s.heartbeat.map_or("-".to_string(), format_micros),
            format!(
                "{}/{}/{} x{} per {}",
                format_micros(r.first_delay),
                format_micros(r.backoff),
                format_micros(r.max_delay),
                r.intensity,
                format_micros(r.intensity_period)
            ),
            flags.collect::<Vec<_>>().join(","),
        ]);
    }
    let none = || "-".to_string();
    rows.push(["(user)".into(), "16+".into(), targets(&m.user.ipc), "none".into(), none(), none(), none()]);
    // Each column as wide as its widest cell; slot and heartbeat right-aligned.
    let widths: Vec<usize> = (0..7).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (cell, &w))| if c == 1 || c == 4 { format!("{cell:>w$}") } else { format!("{cell:<w$}") })
            .collect();
        out += cells.join("  ").trim_end();
        out.push('\n');
    }
    out
}

/// Runs the tool; returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    match dispatch(&cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("samsara: {e}");
            1
        }
    }
}

//! `samsara demo`: narrated scenarios of reincarnation and recovery, each a real run of the
//! system, told step by step from the run's own event log; `--html` writes the story with its
//! message sequence chart and call graph as one offline page.

use super::Cli;
use demo::scenario::{DEMO_SEED, Scenario};
use std::cell::OnceCell;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use testbed::boot::default_table;

/// Options of `samsara demo`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  samsara demo                          list the scenarios\n  \
     samsara demo window                   pm crashes in fork: rollback, then the table\n  \
     samsara demo hang --step              pause for Enter between steps\n  \
     samsara demo restart --html demo.html the story with its sequence chart, offline\n  \
     samsara --json demo srs               the scenario's facts for scripts\n\n\
     Every scenario is a real run under the deterministic `sim` engine, with seed 1 unless --seed\n\
     names another (seed 0, the global default, means the demo's own seed 1).")]
pub struct DemoArgs {
    /// The scenario: restart, rollback, window, reprocess, process-local, compensation,
    /// quarantine, srs, hang, driver, or all. Without one, the scenarios are listed.
    pub scenario: Option<String>,
    /// Wait for Enter between steps.
    #[arg(long, requires = "scenario")]
    pub step: bool,
    /// Also write the story as a single-file offline HTML page with the message sequence chart
    /// and the crashed entry point's call graph.
    #[arg(long, value_name = "FILE", requires = "scenario")]
    pub html: Option<PathBuf>,
    /// Colours: auto (when printing to a terminal and NO_COLOR is unset), always or never.
    #[arg(long, default_value = "auto", value_parser = ["auto", "always", "never"])]
    pub color: String,
    /// The workspace whose servers' source the call graphs are read from (default: the current
    /// directory when it holds os/src, else the workspace samsara was built from).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
}

/// Runs `samsara demo`; returns the exit code.
pub fn demo(cli: &Cli, args: &DemoArgs) -> Result<i32, String> {
    let colour = match args.color.as_str() {
        "always" => true,
        "never" => false,
        _ => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let Some(name) = &args.scenario else {
        if cli.json {
            let list: Vec<_> = Scenario::ALL
                .iter()
                .map(|s| serde_json::json!({ "scenario": s.name(), "summary": s.summary() }))
                .collect();
            println!("{}", serde_json::to_string_pretty(&list).map_err(|e| e.to_string())?);
        } else {
            print!("{}", demo::text::listing(colour));
        }
        return Ok(0);
    };
    if cli.engine != kernel_sim::EngineKind::Sim {
        return Err(
            "the demo runs under the deterministic `sim` engine only (its story must replay from its seed)".into()
        );
    }
    let scenarios: Vec<Scenario> = if name == "all" { Scenario::ALL.to_vec() } else { vec![name.parse()?] };
    // `--seed 0` is the global default: the demo's own seed then (see DEMO_SEED).
    let seed = if cli.seed == 0 { DEMO_SEED } else { cli.seed };
    let table = default_table();
    let manifest = Some(std::sync::Arc::new(super::load_manifest(cli.manifest.as_ref())?));
    let demos = scenarios
        .into_iter()
        .map(|s| demo::run_on(s, seed, table.clone(), manifest.clone()))
        .collect::<Result<Vec<_>, _>>()?;

    if let Some(path) = &args.html {
        let root = workspace(args.root.as_ref());
        let analysis: OnceCell<Option<analysis::Analysis>> = OnceCell::new();
        let graphs = |server: &str, m_type: i32| -> Option<demo::graph::AnalysisGraph> {
            let a = analysis.get_or_init(|| analysis::analyze_workspace(&root).ok()).as_ref()?;
            let entry = a.entries.iter().position(|e| e.server == server && e.m_type == i128::from(m_type))?;
            let graph = analysis::report::entry_graph(a, entry);
            Some(demo::graph::AnalysisGraph { svg: graph.svg(), dot: graph.dot() })
        };
        let page = demo::html::render(&demos, &table, &graphs);
        // A page into a folder not made yet, as the other commands' outputs go.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::write(path, page).map_err(|e| format!("{}: {e}", path.display()))?;
    }

    if cli.json {
        let facts: Vec<_> = demos.iter().map(demo::facts::of).collect();
        let text = match facts.as_slice() {
            [one] => serde_json::to_string_pretty(one),
            all => serde_json::to_string_pretty(all),
        };
        println!("{}", text.map_err(|e| e.to_string())?);
    } else {
        let pages: Vec<String> = demos.iter().flat_map(|d| demo::text::pages(d, colour)).collect();
        let mut pause = args.step;
        let stdin = std::io::stdin();
        let mut stdout = std::io::stdout();
        for (i, page) in pages.iter().enumerate() {
            print!("{page}");
            let _ = stdout.flush();
            if pause && i + 1 < pages.len() {
                eprint!("  (Enter: next step) ");
                let mut line = String::new();
                // End of input: go on without pausing.
                pause = stdin.lock().read_line(&mut line).is_ok_and(|n| n > 0);
            }
        }
    }
    if let Some(path) = &args.html {
        let note = format!("wrote {}", path.display());
        if cli.json { eprintln!("{note}") } else { println!("\n{note}") }
    }
    Ok(0)
}

/// The workspace the analysis reads, as `samsara analyze` finds it.
fn workspace(root: Option<&PathBuf>) -> PathBuf {
    if let Some(root) = root {
        return root.clone();
    }
    let here = PathBuf::from(".");
    if here.join("os/src").is_dir() { here } else { PathBuf::from(env!("CARGO_MANIFEST_DIR")) }
}

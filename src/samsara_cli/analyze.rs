//! `samsara analyze`: the static fusing analysis of the servers' source. Prints the
//! recovery-class table (the fusing paper's Table 4 shape) and the fusing statistics (its Tables
//! 1-3), writes per entry point call graphs (SVG drawn by samsara itself, and DOT), regenerates the
//! table files with `--write-table`, and prints everything as JSON with `--json`.

use super::Cli;
use analysis::report::{self, DEFAULT_GRAPH_DIR};
use std::path::{Path, PathBuf};

/// Options of `samsara analyze`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  samsara analyze                   table, statistics, graphs in target/analysis/\n  \
     samsara analyze --write-table     regenerate etc/recovery-table.{json,postcard}\n  \
     samsara analyze --check           exit 1 when the committed table is older than the source\n  \
     samsara --json analyze            everything as JSON"
)]
pub struct AnalyzeArgs {
    /// Regenerate etc/recovery-table.json and etc/recovery-table.postcard from the current source.
    #[arg(long)]
    pub write_table: bool,
    /// Only check that the committed table files match the current source (exit code 1 if not).
    #[arg(long, conflicts_with = "write_table")]
    pub check: bool,
    /// Where to write the per entry point call graphs (relative paths are under the workspace).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_GRAPH_DIR)]
    pub graphs: PathBuf,
    /// Do not write the call graphs.
    #[arg(long)]
    pub no_graphs: bool,
    /// The workspace to analyse: default, the current directory when it holds os/src, else
    /// the workspace samsara was built from.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
}

fn workspace(args: &AnalyzeArgs) -> PathBuf {
    if let Some(root) = &args.root {
        return root.clone();
    }
    let here = PathBuf::from(".");
    if here.join("os/src").is_dir() { here } else { PathBuf::from(env!("CARGO_MANIFEST_DIR")) }
}

/// Runs `samsara analyze`; returns the exit code.
pub fn analyze(cli: &Cli, args: &AnalyzeArgs) -> Result<i32, String> {
    let root = workspace(args);
    let mut inputs = analysis::Inputs::workspace(&root);
    if let Some(manifest) = &cli.manifest {
        // The slots of the services decide which endpoint constant is which server.
        inputs.manifest = manifest.clone();
    }
    let a = analysis::analyze(&inputs).map_err(|e| e.to_string())?;
    if args.check {
        return match analysis::check_table(&root, &a.table) {
            Ok(()) => {
                println!("{} and {} match the current source", analysis::TABLE_JSON, analysis::TABLE_POSTCARD);
                Ok(0)
            }
            Err(why) => {
                eprintln!("samsara: {why}");
                Ok(1)
            }
        };
    }
    let stats = a.statistics();
    let graphs = if args.no_graphs {
        None
    } else {
        let dir = if args.graphs.is_absolute() { args.graphs.clone() } else { root.join(&args.graphs) };
        Some(report::write_graphs(&a, &dir).map_err(|e| format!("{}: {e}", dir.display()))?)
    };
    if args.write_table {
        analysis::write_table(&root, &a.table).map_err(|e| e.to_string())?;
    }
    if cli.json {
        let out = report::JsonReport {
            table: &a.table,
            statistics: &stats,
            send_sites: report::json_sites(&a),
            graphs: graphs.as_ref(),
            table_written: args.write_table,
            warnings: &a.warnings,
        };
        println!("{}", serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?);
        return Ok(0);
    }
    print!("{}", report::table_text(&a.table));
    println!();
    print!("{}", report::stats_text(&stats));
    if let Some(g) = &graphs {
        println!(
            "\nCall graphs: {} entry points in {} (SERVER.CALL.svg to view, .dot for graphviz)",
            g.graphs.len(),
            shown(&root, Path::new(&g.dir))
        );
    }
    if args.write_table {
        println!("Wrote {} and {}", analysis::TABLE_JSON, analysis::TABLE_POSTCARD);
    } else if let Err(why) = analysis::check_table(&root, &a.table) {
        println!("\nNote: {why}");
    }
    for w in &a.warnings {
        println!("warning: {w}");
    }
    Ok(0)
}

/// `path` relative to the workspace when it is inside it.
fn shown(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

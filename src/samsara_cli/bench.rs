//! `samsara bench`: the headline figures, each beside its baseline measured in the same run, with
//! the ratio and the target; a table, `--json`, and an SVG chart of the scaling curves.

use super::Cli;
use benchkit::{Mode, Plan, SectionId};
use clap::Args;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Options of `samsara bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Every figure, briefly: under 30 s on two cores (the default full run takes under 5 minutes).
    #[arg(long)]
    pub quick: bool,
    /// Measure only these sections (comma-separated): ipc, syscalls, recovery, scaling, campaign.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<SectionId>,
    /// Where to write the SVG chart of the scaling curves (the scaling section's; default
    /// results/bench-scaling.svg).
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Also write the JSON report to this file.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

fn write(path: &Path, contents: &str) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(path, contents).map_err(|e| format!("{}: {e}", path.display()))
}

/// Where the scaling chart goes unless `--svg` names another file.
const DEFAULT_CHART: &str = "results/bench-scaling.svg";

/// Measures and prints the report. Both engines of the built-in system are always measured (its
/// figures are compared with the README's; another manifest would measure another system under
/// the same names): `--engine`, `--seed` and `--manifest` are refused before this.
pub fn bench(cli: &Cli, args: &BenchArgs) -> Result<i32, String> {
    let plan = Plan::of(if args.quick { Mode::Quick } else { Mode::Full });
    let show_progress = std::io::stderr().is_terminal() && !cli.json;
    let mut progress = |what: &str| {
        if show_progress {
            eprintln!("bench: {what}");
        }
    };
    let mut report = benchkit::run(&plan, &args.only, &mut progress);
    if !report.curves.is_empty() {
        let path = args.svg.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_CHART));
        let svg = benchkit::chart::render(&report.curves).map_err(|e| format!("drawing the chart: {e}"))?;
        write(&path, &svg)?;
        report.chart = Some(path.display().to_string());
    } else if let Some(path) = &args.svg {
        eprintln!(
            "samsara: {}: not written: the chart draws the scaling section, which was not measured",
            path.display()
        );
    }
    let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    if let Some(out) = &args.out {
        write(out, &json)?;
    }
    if cli.json {
        println!("{json}");
    } else {
        print!("{}", report.render());
    }
    Ok(0)
}

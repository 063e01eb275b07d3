//! `samsara campaign`, `samsara merge` and `samsara replay`.

use super::Cli;
use campaign::execute::{Campaign, Options, Verify, WorkloadFn};
use campaign::plan::{CampaignSpec, DEFAULT_FAULTS, RunId, Shard};
use campaign::results::{self, BadRecords, Dropped};
use campaign::summary::{GoldenFigures, summarise};
use clap::Args;
use os::fault::{FaultKind, Persistence};
use recovery::PolicyKind;
use recovery::counted;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use testbed::boot::default_table;
use testbed::run::{RunSpec, execute};
use userland::workload::{StraceSource, Workload};

/// Options of `samsara campaign`.
#[derive(Args, Debug)]
pub struct CampaignArgs {
    /// The workload every run executes (see `samsara run --help`).
    #[arg(long, default_value = "posix")]
    pub workload: Workload,
    /// Faults to sample from the sites the golden run executed (at least 1).
    #[arg(long, default_value_t = DEFAULT_FAULTS, value_parser = at_least_one)]
    pub faults: usize,
    /// Every site x fault kind x execution instead of a sample (of --faults).
    #[arg(long, conflicts_with = "faults")]
    pub exhaustive: bool,
    /// Policies every fault runs under, side by side (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "none,restart,rollback,pessimistic,enhanced,table,srs")]
    pub policies: Vec<PolicyKind>,
    /// Fault kinds to inject (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "panic,hang,corrupt,skip-write,overflow,leak,bad-reply,drop")]
    pub kinds: Vec<FaultKind>,
    /// Transient faults (fire once), persistent ones (fire at every occasion from the NTH on, in
    /// every incarnation, like a real bug), or both (comma-separated; each sampled fault gets one
    /// from the seed, an exhaustive campaign takes every fault as each).
    #[arg(long, value_delimiter = ',', default_value = "transient,persistent")]
    pub persistence: Vec<Persistence>,
    /// Servers to inject into (rs and the kernel are the reliable base).
    #[arg(long, value_delimiter = ',', default_value = "pm,vm,vfs,mfs,ds,sched,memdisk,memory")]
    pub servers: Vec<String>,
    /// Results file (JSON lines); a CSV summary and an HTML report are written beside it.
    #[arg(long, default_value = "results/campaign.jsonl")]
    pub out: PathBuf,
    /// Continue a killed campaign: keep the runs already in `--out`, run the rest. A record the
    /// plan does not account for (an unknown or repeated run id, a fault other than the plan's) is
    /// refused, naming its line.
    #[arg(long)]
    pub resume: bool,
    /// With --resume: drop the records the plan does not account for (counted, and run again)
    /// instead of refusing the file.
    #[arg(long, requires = "resume")]
    pub drop_bad: bool,
    /// With --resume: how many of the kept records to run again and compare before keeping them,
    /// spread over the file, or `all` (a record that differs from its re-run was edited, or written
    /// by another build: refused naming its line, or dropped and run again with --drop-bad).
    #[arg(long, requires = "resume", value_name = "N|all", default_value_t = Verify::default())]
    pub verify: Verify,
    /// Run only shard I of N (`I/N`), for running a campaign across machines; `samsara merge`
    /// combines the shards.
    #[arg(long)]
    pub shard: Option<Shard>,
    /// Worker threads (default: every core).
    #[arg(long, value_parser = at_least_one)]
    pub threads: Option<usize>,
    /// Loop-top invariant checks in every run (the default; kept for older scripts).
    #[arg(long, overrides_with = "no_check_invariants")]
    pub check_invariants: bool,
    /// Servers skip their loop-top self-checks: the system without its assertions, where the
    /// damage a silent fault leaves goes unseen until the checker's end-of-run verdict.
    #[arg(long)]
    pub no_check_invariants: bool,
}

fn workload_fn(workload: Workload) -> Result<WorkloadFn, String> {
    let prepared = workload.prepare().map_err(|e| e.to_string())?;
    Ok(Arc::new(move |sys, rec| prepared.run(sys, rec)))
}

/// The workload as the results file names it: a strace log by its absolute path, so that replay
/// finds it from any folder.
fn recorded_workload(workload: &Workload) -> String {
    match workload {
        Workload::Strace(StraceSource::File(path)) => match std::path::absolute(path) {
            Ok(absolute) => Workload::Strace(StraceSource::File(absolute)).to_string(),
            Err(_) => workload.to_string(),
        },
        other => other.to_string(),
    }
}

/// Refuses a list option that names something twice.
fn refuse_repeats(option: &str, names: impl Iterator<Item = String>) -> Result<(), String> {
    let mut seen = std::collections::BTreeSet::new();
    for name in names {
        if !seen.insert(name.clone()) {
            return Err(format!("{option}: `{name}` is named twice"));
        }
    }
    Ok(())
}

/// Runs a campaign and prints its summary.
pub fn campaign(cli: &Cli, args: &CampaignArgs) -> Result<i32, String> {
    if cli.engine != kernel_sim::EngineKind::Sim {
        return Err(
            "campaigns run under the deterministic `sim` engine only (every run must replay from its seed)".into()
        );
    }
    // A name given twice would plan its runs twice, under the same run ids.
    refuse_repeats("--policies", args.policies.iter().map(|p| p.to_string()))?;
    refuse_repeats("--kinds", args.kinds.iter().map(|k| k.to_string()))?;
    refuse_repeats("--servers", args.servers.iter().cloned())?;
    for s in &args.servers {
        let faultable = os::fault::FAULTABLE_SERVERS;
        if !faultable.contains(&s.as_str()) {
            return Err(format!(
                "--servers: `{s}` takes no faults ({}; rs and the kernel are the reliable base)",
                faultable.join(", ")
            ));
        }
    }
    refuse_overwriting_results(&args.out, &[])?;
    let (manifest, manifest_text) = super::load_manifest_text(cli.manifest.as_ref())?;
    let spec = CampaignSpec {
        workload: recorded_workload(&args.workload),
        seed: cli.seed,
        faults: args.faults,
        exhaustive: args.exhaustive,
        policies: args.policies.clone(),
        kinds: args.kinds.clone(),
        servers: args.servers.clone(),
        check_invariants: !args.no_check_invariants,
        persistence: args.persistence.clone(),
        manifest: manifest_text,
    };
    let c = Campaign {
        spec,
        workload: workload_fn(args.workload.clone())?,
        table: default_table(),
        manifest: Some(Arc::new(manifest)),
    };
    let golden = c.golden()?;
    let planned = c.faults(&golden).len();
    if !args.exhaustive && planned < args.faults {
        eprintln!(
            "samsara: the golden run offers only {} of these kinds in these servers: the plan has them all, not the {} asked",
            counted(planned as u64, "distinct fault"),
            args.faults
        );
    }
    let progress = std::io::stderr().is_terminal() && !cli.json;
    let options = Options {
        shard: args.shard,
        resume: args.resume.then_some(if args.drop_bad { BadRecords::Drop } else { BadRecords::Refuse }),
        threads: args.threads,
        progress,
        verify: args.verify,
    };
    let execution = c.run(&golden, &args.out, options).map_err(|e| e.to_string())?;
    report_dropped(&execution.dropped);
    if execution.cut_torn_line {
        eprintln!(
            "samsara: {}: cut off a torn last line (the campaign was killed while writing it); its run ran again",
            args.out.display()
        );
    }
    let file = results::read(&args.out).map_err(|e| e.to_string())?;
    let summary = summarise(&file.runs, Some(GoldenFigures::of(&golden.profile, &c.spec.policies)));
    let csv = args.out.with_extension("csv");
    std::fs::write(&csv, summary.csv()).map_err(|e| format!("{}: {e}", csv.display()))?;
    let html = args.out.with_extension("html");
    campaign::report::write_html(&html, &c.spec, &summary, &file.runs, &args.out)
        .map_err(|e| format!("{}: {e}", html.display()))?;
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&summary).map_err(|e| e.to_string())?);
    } else {
        println!(
            "campaign: {} on `{}`, seed {}: {} x {}{}",
            if args.exhaustive { "every fault" } else { "sampled faults" },
            args.workload,
            cli.seed,
            counted(file.header.planned_faults as u64, "fault"),
            counted(args.policies.len() as u64, "policy"),
            args.shard.map(|s| format!(", shard {s}")).unwrap_or_default()
        );
        println!(
            "ran {} in {:.1} s ({:.0} runs/s){}",
            counted(execution.ran as u64, "run"),
            execution.seconds,
            execution.ran as f64 / execution.seconds.max(1e-9),
            if execution.already_done > 0 {
                format!(", {} already done", execution.already_done)
            } else {
                String::new()
            }
        );
        println!(
            "results: {} (one JSON line per run), summary: {}, report: {}\n",
            args.out.display(),
            csv.display(),
            html.display()
        );
        print!("{}", summary.render());
        println!(
            "\nreplay any run: samsara replay RUN_ID --results {} (run ids like f00000-table are each line's `id`)",
            args.out.display()
        );
    }
    Ok(0)
}

/// Options of `samsara merge`.
#[derive(Args, Debug)]
pub struct MergeArgs {
    /// The merged results file to write (its CSV summary and HTML report are written beside it).
    pub out: PathBuf,
    /// The shard results files: every shard of one campaign, each complete.
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
    /// Drop the records a shard's plan does not account for (counted) instead of refusing.
    #[arg(long)]
    pub drop_bad: bool,
}

/// Refuses a results file `out` whose summary or report would be written over it (`--out x.html`),
/// or that is one of `inputs` (or would have its summary or report written over one): a run of
/// the command would lose data it was given.
fn refuse_overwriting_results(out: &Path, inputs: &[PathBuf]) -> Result<(), String> {
    let summary_and_report = [out.with_extension("csv"), out.with_extension("html")];
    if summary_and_report.iter().any(|p| p == out) {
        return Err(format!(
            "{}: the summary and the report are written beside the results file, as .csv and .html: name it .jsonl",
            out.display()
        ));
    }
    for input in inputs {
        if same_file(out, input) || summary_and_report.iter().any(|p| same_file(p, input)) {
            return Err(format!(
                "{}: writing it (or its summary and report) would overwrite the input {}",
                out.display(),
                input.display()
            ));
        }
    }
    if out.exists() && !out.is_file() {
        return Err(format!("{}: not a regular file (results are written there, and read back)", out.display()));
    }
    Ok(())
}

/// Whether two paths name one file (as given, when either does not exist yet).
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Says on stderr which records were dropped.
fn report_dropped(dropped: &[Dropped]) {
    if dropped.is_empty() {
        return;
    }
    let records = if dropped.len() == 1 { "record" } else { "records" };
    eprintln!("samsara: dropped {} {records} not of the plan:", dropped.len());
    for d in dropped {
        eprintln!("  {d}");
    }
}

/// Merges shards into one results file, with its summary and report.
pub fn merge(cli: &Cli, args: &MergeArgs) -> Result<i32, String> {
    refuse_overwriting_results(&args.out, &args.shards)?;
    let bad = if args.drop_bad { BadRecords::Drop } else { BadRecords::Refuse };
    let merged = results::merge(&args.shards, &args.out, bad).map_err(|e| e.to_string())?;
    report_dropped(&merged.dropped);
    let summary = summarise(&merged.runs, None);
    let csv = args.out.with_extension("csv");
    std::fs::write(&csv, summary.csv()).map_err(|e| format!("{}: {e}", csv.display()))?;
    let html = args.out.with_extension("html");
    campaign::report::write_html(&html, &merged.header.campaign, &summary, &merged.runs, &args.out)
        .map_err(|e| format!("{}: {e}", html.display()))?;
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&summary).map_err(|e| e.to_string())?);
    } else {
        println!(
            "merged {}: {} into {}, summary: {}, report: {}\n",
            counted(args.shards.len() as u64, "shard"),
            counted(merged.runs.len() as u64, "run"),
            args.out.display(),
            csv.display(),
            html.display()
        );
        print!("{}", summary.render());
    }
    Ok(0)
}

/// Options of `samsara replay`.
#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  samsara replay f00042-table                 the run told step by step, as the demo tells its own\n  \
     samsara replay f00042-table --raw           the kernel's event log as recorded\n  \
     samsara replay f00042-table --html r.html   the demo's page for this run (sequence chart, call graph)\n  \
     samsara --json replay f00042-table          its facts and result, for scripts"
)]
pub struct ReplayArgs {
    /// The run to replay (like f00042-table: each results line's `id`).
    pub run: RunId,
    /// The campaign's results file.
    #[arg(long, default_value = "results/campaign.jsonl")]
    pub results: PathBuf,
    /// Print the raw event log instead of the narrated story.
    #[arg(long)]
    pub raw: bool,
    /// Also write the demo's HTML page for this run (message sequence chart, call graph) here.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// What `samsara --json replay` prints.
#[derive(serde::Serialize)]
struct ReplayJson<'a> {
    run: String,
    fault: &'a str,
    policy: PolicyKind,
    recorded_outcome: testbed::run::Outcome,
    same_outcome: bool,
    /// The story's facts, as `samsara --json demo` gives a scenario's.
    facts: demo::facts::DemoFacts<'a>,
    result: &'a testbed::run::RunResult,
}

/// Re-runs one campaign run from its seed with its event log, and tells it as the demo does;
/// exit code 2 when its outcome is not the one recorded.
pub fn replay(cli: &Cli, args: &ReplayArgs) -> Result<i32, String> {
    if let Some(page) = args.html.as_ref().filter(|page| same_file(page, &args.results)) {
        return Err(format!("--html {}: that is the results file, which the page would overwrite", page.display()));
    }
    let file = results::read(&args.results).map_err(|e| e.to_string())?;
    if file.dropped_torn_line {
        eprintln!("samsara: {}: dropped a torn last line (a campaign killed while writing it)", args.results.display());
    }
    let (record, line) = file
        .runs
        .iter()
        .zip(&file.lines)
        .find(|(r, _)| r.id == args.run)
        .ok_or_else(|| format!("{}: no run {}", args.results.display(), args.run))?;
    if let Some(why) = file.header.refuses(record) {
        return Err(format!("{}:{line}: {why}: not replayed", args.results.display()));
    }
    let workload: Workload =
        file.header.campaign.workload.parse().map_err(|e: userland::workload::BadWorkloadName| e.to_string())?;
    let workload = workload.prepare().map_err(|e| e.to_string())?;
    // The system the campaign booted: its manifest travels in the header.
    let manifest = match &file.header.campaign.manifest {
        Some(text) => {
            let name = format!("{} (the campaign's manifest)", args.results.display());
            let m = kernel_sim::Manifest::parse(text, &name, &|_| None).map_err(|e| e.to_string())?;
            testbed::boot::check_bootable(&m, &name)?;
            Some(Arc::new(m))
        }
        None => None,
    };
    let spec = RunSpec {
        manifest,
        seed: file.header.campaign.seed,
        policy: record.policy,
        fault: Some(record.fault.parse()?),
        check_invariants: file.header.campaign.check_invariants,
        event_limit: file.header.event_limit.unwrap_or(testbed::run::DEFAULT_EVENT_LIMIT),
        record_events: true,
        ..RunSpec::default()
    };
    let table = default_table();
    let result = execute(&spec, table.clone(), move |sys, rec| workload.run(sys, rec));
    let same = result.outcome == record.outcome;
    let raw_log = args.raw.then(|| result.event_log.clone().unwrap_or_default());
    let told = demo::replayed(&record.id.to_string(), &args.results.display().to_string(), spec, result, &table);
    if let Some(path) = &args.html {
        let page = demo::html::render(std::slice::from_ref(&told), &table, &|_, _| None);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::write(path, page).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let run = &told.runs[0];
    if cli.json {
        let out = ReplayJson {
            run: record.id.to_string(),
            fault: &record.fault,
            policy: record.policy,
            recorded_outcome: record.outcome,
            same_outcome: same,
            facts: demo::facts::of(&told),
            result: &run.result,
        };
        println!("{}", serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?);
    } else {
        match &raw_log {
            Some(log) => {
                println!("run {}: fault {} under {}", record.id, record.fault, record.policy);
                print!("{log}");
            }
            None => print!("{}", demo::text::render(&told, std::io::stdout().is_terminal())),
        }
        for v in &run.result.violations {
            println!("checker: {}: {}", v.invariant, v.detail);
        }
        println!(
            "\noutcome: {} (recorded: {}){}",
            run.result.outcome,
            record.outcome,
            if same { "" } else { "  MISMATCH: the replay did not end as the campaign's run did" }
        );
        if let Some(path) = &args.html {
            println!("wrote {}", path.display());
        }
    }
    Ok(if same { 0 } else { 2 })
}

/// `--faults` and `--threads`: a campaign of no fault would write a results file of nothing and
/// call it done; one of no thread would never run.
fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

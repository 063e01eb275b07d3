//! The results file: JSON lines, a header line with the campaign spec and its plan, then one line
//! per run. The schema is in `docs/results-file.md`.
//!
//! Lines are appended and flushed one at a time, so a campaign killed mid-way leaves every
//! finished run on disk; a torn last line (the kill came mid-write) is dropped on reading and
//! reported. Any other malformed line is an error naming the file and the line. A finished
//! campaign's file is in the plan's order, so a seed gives the same file byte for byte whatever the
//! thread count.
//!
//! Integrity: a file cannot hold a run its plan does not account for without a word. Resume,
//! merge and replay check every record against the header's plan ([`check_plan`]): its id must be
//! one of the plan's (in its shard), its fault the plan's fault for that id, and no id may appear
//! twice; a record that fails is refused naming file and line, or dropped and counted when asked.

use crate::plan::{CampaignSpec, RunId, Shard, runs};
use os::fault::{FaultKind, FaultSpec, Persistence};
use recovery::{PolicyKind, SrsCounters};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use testbed::run::{Outcome, Verdict};

/// The first line of a results file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// The campaign.
    pub campaign: CampaignSpec,
    /// The shard this file holds, if it is one.
    pub shard: Option<Shard>,
    /// Faults the plan has (runs = faults x policies).
    pub planned_faults: usize,
    /// The plan's faults in order, as `samsara run --inject` takes them: fault N of a run id is
    /// `plan[N]`. Files older than it have none; their records are checked for ids only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plan: Vec<String>,
    /// Kernel events a run got before it counted as livelocked (from the golden run's). Files
    /// older than it have none: their runs had no limit but time's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_limit: Option<u64>,
}

impl Header {
    /// The runs this file is to hold, in the plan's order.
    pub fn planned_runs(&self) -> Vec<RunId> {
        runs(self.planned_faults, &self.campaign.policies, self.shard)
    }

    /// Why `record` is not one of this file's planned runs, if it is not.
    pub fn refuses(&self, record: &RunRecord) -> Option<String> {
        let id = record.id;
        let policies = &self.campaign.policies;
        let Some(policy_at) = policies.iter().position(|&p| p == id.policy) else {
            return Some(format!("run {id}: `{}` is not one of the campaign's policies", id.policy));
        };
        if id.fault >= self.planned_faults {
            return Some(format!("run {id}: the plan has {} faults", self.planned_faults));
        }
        if let Some(shard) = self.shard
            && (id.fault * policies.len() + policy_at) % shard.count != shard.index
        {
            return Some(format!("run {id} belongs to another shard than {shard}"));
        }
        if record.policy != id.policy {
            return Some(format!("run {id} records policy `{}`", record.policy));
        }
        if let Some(planned) = self.plan.get(id.fault)
            && *planned != record.fault
        {
            return Some(format!(
                "run {id} holds fault `{}`, the plan's fault {} is `{planned}`",
                record.fault, id.fault
            ));
        }
        match record.fault.parse::<FaultSpec>() {
            Err(e) => Some(format!("run {id}: its fault does not parse: {e}")),
            Ok(f)
                if (f.kind, f.server.as_str(), f.persistence)
                    != (record.kind, record.server.as_str(), record.persistence) =>
            {
                Some(format!("run {id}: its kind, server or persistence is not its fault's ({})", record.fault))
            }
            Ok(_) => None,
        }
    }
}

/// One run's line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Which run.
    pub id: RunId,
    /// The fault, as `samsara run --inject` takes it.
    pub fault: String,
    /// Its kind.
    pub kind: FaultKind,
    /// Transient or persistent (results files older than persistent faults hold transient ones).
    #[serde(default)]
    pub persistence: Persistence,
    /// The server it went into.
    pub server: String,
    /// The handler whose code the site is in.
    pub handler: String,
    /// The policy.
    pub policy: PolicyKind,
    /// How the run ended.
    pub outcome: Outcome,
    /// The checker's verdict on the stopped system, beside the outcome (a fail-stop or a crash
    /// can leave damage too). Files older than the verdict get it from `violations` on reading.
    #[serde(default)]
    pub checker: Verdict,
    /// Whether the fault fired.
    pub fault_fired: bool,
    /// How many times it fired (a persistent fault fires at every occasion from its NTH on).
    #[serde(default)]
    pub fault_firings: u64,
    /// The simulator itself panicked (a samsara bug, not a recovery result): the message. The run
    /// is recorded as a `crash`, and summaries count these apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simulator_panic: Option<String>,
    /// rs's decisions (labels), in order.
    pub decisions: Vec<String>,
    /// The reason of the first decision.
    pub reason: Option<String>,
    /// The checker's findings.
    pub violations: Vec<String>,
    /// Workload checks that failed.
    pub workload_failures: Vec<String>,
    /// SRS counters per server.
    pub srs: BTreeMap<String, SrsCounters>,
    /// Virtual time the run took (deterministic; the wall time is not recorded, so that a file
    /// depends on its plan only, not on the machine or the thread count).
    pub virtual_us: u64,
}

/// A results file that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultsError {
    /// Which file.
    pub file: PathBuf,
    /// Which line (1-based), 0 for the file as a whole.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ResultsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            0 => write!(f, "{}: {}", self.file.display(), self.message),
            l => write!(f, "{}:{l}: {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for ResultsError {}

/// A results file as read.
#[derive(Clone, Debug)]
pub struct ResultsFile {
    /// Its header.
    pub header: Header,
    /// Its runs, in file order.
    pub runs: Vec<RunRecord>,
    /// The line each run is on (1-based), for messages.
    pub lines: Vec<usize>,
    /// Whether a torn last line was dropped (a campaign killed mid-write).
    pub dropped_torn_line: bool,
}

impl ResultsFile {
    /// Keeps the records `keep` flags, one flag a record in file order, with their lines.
    pub fn keep(&mut self, keep: &[bool]) {
        assert_eq!(keep.len(), self.runs.len(), "one flag a record");
        let (mut runs, mut lines) = (keep.iter(), keep.iter());
        self.runs.retain(|_| *runs.next().expect("counted"));
        self.lines.retain(|_| *lines.next().expect("counted"));
    }
}

/// Reads a results file.
pub fn read(path: &Path) -> Result<ResultsFile, ResultsError> {
    let error = |line: usize, message: String| ResultsError { file: path.to_path_buf(), line, message };
    let text = std::fs::read(path).map_err(|e| error(0, e.to_string()))?;
    let text = String::from_utf8(text)
        .map_err(|e| error(0, format!("not UTF-8 text at byte {}", e.utf8_error().valid_up_to())))?;
    let complete = text.ends_with('\n') || text.is_empty();
    let lines: Vec<&str> = text.lines().collect();
    let mut dropped_torn_line = false;
    let Some(first) = lines.first() else { return Err(error(0, "empty: no header line".into())) };
    let header: Header =
        serde_json::from_str(first).map_err(|e| error(1, format!("not a campaign header: {}", json_problem(&e))))?;
    let (mut runs, mut run_lines) = (Vec::new(), Vec::new());
    for (i, line) in lines.iter().enumerate().skip(1) {
        match serde_json::from_str::<RunRecord>(line) {
            Ok(mut r) => {
                // A file written before runs recorded the verdict: its findings are the verdict.
                r.checker = r.checker.max(Verdict::of(&r.violations));
                runs.push(r);
                run_lines.push(i + 1);
            }
            Err(_) if i == lines.len() - 1 && !complete => dropped_torn_line = true,
            Err(e) => return Err(error(i + 1, format!("not a run record: {}", json_problem(&e)))),
        }
    }
    Ok(ResultsFile { header, runs, lines: run_lines, dropped_torn_line })
}

/// A JSON error of one line, at its column (serde's own text counts lines within the line).
fn json_problem(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let what = text.split(" at line ").next().unwrap_or(&text);
    format!("{what} (column {})", e.column())
}

/// What to do with a record its file's plan does not account for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadRecords {
    /// An error naming the file and line (the default: nothing is silently lost or kept).
    Refuse,
    /// Leave it out, and count it.
    Drop,
}

/// A record left out of a file, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dropped {
    /// The file.
    pub file: PathBuf,
    /// Its line.
    pub line: usize,
    /// Why.
    pub why: String,
}

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.why)
    }
}

/// Checks every run of `file` (read from `path`) against its header's plan, and that no run
/// appears twice. Under [`BadRecords::Refuse`] the first bad record is an error naming its line;
/// under [`BadRecords::Drop`] the bad records (for a repeated run, the later copies) are left out
/// of `file` and returned.
pub fn check_plan(path: &Path, file: &mut ResultsFile, bad: BadRecords) -> Result<Vec<Dropped>, ResultsError> {
    let mut first_line: HashMap<RunId, usize> = HashMap::new();
    let mut dropped = Vec::new();
    let mut keep = Vec::with_capacity(file.runs.len());
    for (record, &line) in file.runs.iter().zip(&file.lines) {
        let why = file.header.refuses(record).or_else(|| {
            first_line.get(&record.id).map(|first| format!("run {} appears twice (first on line {first})", record.id))
        });
        match (why, bad) {
            (None, _) => {
                first_line.insert(record.id, line);
                keep.push(true);
            }
            (Some(why), BadRecords::Refuse) => {
                return Err(ResultsError { file: path.to_path_buf(), line, message: why });
            }
            (Some(why), BadRecords::Drop) => {
                dropped.push(Dropped { file: path.to_path_buf(), line, why });
                keep.push(false);
            }
        }
    }
    file.keep(&keep);
    Ok(dropped)
}

/// `runs` sorted in the plan's order (fault, then the campaign's policy order).
fn in_plan_order(header: &Header, runs: &mut [RunRecord]) {
    let policy_at = |p: PolicyKind| header.campaign.policies.iter().position(|&q| q == p).unwrap_or(usize::MAX);
    runs.sort_by_key(|r| (r.id.fault, policy_at(r.id.policy)));
}

/// Writes `header` and `runs`, in the plan's order, to `path`, through a file beside it renamed
/// over it (a kill mid-way leaves the old file whole).
pub fn rewrite(path: &Path, header: &Header, mut runs: Vec<RunRecord>) -> std::io::Result<()> {
    in_plan_order(header, &mut runs);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".rewrite");
    let temporary = path.with_file_name(name);
    let mut w = Writer::create(&temporary, header)?;
    for r in &runs {
        w.write(r)?;
    }
    drop(w);
    std::fs::rename(&temporary, path)
}

/// Appends run records to a results file, one flushed line each.
pub struct Writer {
    out: BufWriter<File>,
}

impl Writer {
    /// Creates `path` with `header`.
    pub fn create(path: &Path, header: &Header) -> std::io::Result<Writer> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut out = BufWriter::new(File::create(path)?);
        writeln!(out, "{}", serde_json::to_string(header).expect("headers serialise"))?;
        out.flush()?;
        Ok(Writer { out })
    }

    /// Reopens `path` to append, first cutting a torn last line so the next line starts clean.
    pub fn append(path: &Path) -> std::io::Result<Writer> {
        let text = std::fs::read(path)?;
        if !text.is_empty() && !text.ends_with(b"\n") {
            let keep = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            OpenOptions::new().write(true).open(path)?.set_len(keep as u64)?;
        }
        Ok(Writer { out: BufWriter::new(OpenOptions::new().append(true).open(path)?) })
    }

    /// Appends one run.
    pub fn write(&mut self, record: &RunRecord) -> std::io::Result<()> {
        writeln!(self.out, "{}", serde_json::to_string(record).expect("records serialise"))?;
        self.out.flush()
    }
}

/// What a merge did.
#[derive(Clone, Debug)]
pub struct Merged {
    /// The merged file's header (the campaign, no shard).
    pub header: Header,
    /// The runs in the merged file, in the plan's order.
    pub runs: Vec<RunRecord>,
    /// Records left out under [`BadRecords::Drop`].
    pub dropped: Vec<Dropped>,
}

/// Merges the shard files of one campaign into one file at `out`, in the plan's order. Refused,
/// naming the file: shards of different campaigns or plans, a shard given twice or missing, a
/// shard with a torn last line or lacking any of its runs (resume it first), a record its plan
/// does not account for (unless dropped), a run in two shards.
pub fn merge(shards: &[PathBuf], out: &Path, bad: BadRecords) -> Result<Merged, ResultsError> {
    let whole = |file: &Path, message: String| ResultsError { file: file.to_path_buf(), line: 0, message };
    let mut header: Option<Header> = None;
    let mut split: Option<usize> = None;
    let mut by_shard: BTreeMap<usize, &PathBuf> = BTreeMap::new();
    let mut merged: BTreeMap<RunId, (RunRecord, &PathBuf)> = BTreeMap::new();
    let mut dropped = Vec::new();
    for path in shards {
        let mut file = read(path)?;
        if file.dropped_torn_line {
            let message = "ends in a torn line (a campaign killed while writing it): resume this shard before merging";
            return Err(whole(path, message.into()));
        }
        dropped.extend(check_plan(path, &mut file, bad)?);
        let shard = file.header.shard.unwrap_or(Shard { index: 0, count: 1 });
        let unsharded = Header { shard: None, ..file.header.clone() };
        match &header {
            None => header = Some(unsharded),
            Some(h) if *h != unsharded => {
                return Err(ResultsError {
                    file: path.clone(),
                    line: 1,
                    message: "another campaign or plan than the first shard".into(),
                });
            }
            Some(_) => {}
        }
        match split {
            None => split = Some(shard.count),
            Some(count) if count != shard.count => {
                return Err(whole(
                    path,
                    format!("shard {shard} is of another split than the first shard's (into {count})"),
                ));
            }
            Some(_) => {}
        }
        if let Some(other) = by_shard.insert(shard.index, path) {
            return Err(whole(path, format!("shard {shard} is given twice (also {})", other.display())));
        }
        let planned = file.header.planned_runs();
        let present: BTreeSet<RunId> = file.runs.iter().map(|r| r.id).collect();
        let missing: Vec<&RunId> = planned.iter().filter(|id| !present.contains(id)).collect();
        if let Some(first) = missing.first() {
            return Err(whole(
                path,
                format!(
                    "shard {shard} lacks {} of its {} runs (first: {first}): resume it (`samsara campaign --resume --shard {shard} ...`) before merging",
                    missing.len(),
                    planned.len()
                ),
            ));
        }
        for r in file.runs {
            let id = r.id;
            if let Some((_, other)) = merged.insert(id, (r, path)) {
                return Err(whole(path, format!("run {id} appears twice (also in {})", other.display())));
            }
        }
    }
    let header = header.ok_or_else(|| whole(out, "no shard files given".into()))?;
    let count = split.unwrap_or(1);
    let absent: Vec<String> =
        (0..count).filter(|i| !by_shard.contains_key(i)).map(|i| Shard { index: i, count }.to_string()).collect();
    if !absent.is_empty() {
        let (shards, are) = if absent.len() == 1 { ("shard", "is") } else { ("shards", "are") };
        let message = format!("{shards} {} {are} missing: every shard of the campaign is needed", absent.join(", "));
        return Err(whole(out, message));
    }
    let mut runs: Vec<RunRecord> = merged.into_values().map(|(r, _)| r).collect();
    in_plan_order(&header, &mut runs);
    rewrite(out, &header, runs.clone()).map_err(|e| whole(out, e.to_string()))?;
    Ok(Merged { header, runs, dropped })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_results_files_read_with_their_ids_persistence_and_checker_verdicts() {
        let dir = std::env::temp_dir().join(format!("samsara-results-old-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("old.jsonl");
        let mut header = serde_json::to_value(Header {
            campaign: CampaignSpec::default(),
            shard: None,
            planned_faults: 1,
            plan: vec![],
            event_limit: None,
        })
        .unwrap();
        header["campaign"].as_object_mut().unwrap().remove("persistence");
        // A line as campaigns wrote it before run ids were text and runs recorded their verdict.
        let old = r#"{"id":{"fault":0,"policy":"rollback"},"fault":"hang@pm:fork:a.rs:1#1","kind":"hang","server":"pm","handler":"fork","policy":"rollback","outcome":"fail-stop","fault_fired":true,"decisions":["fail-stop"],"reason":null,"violations":["pm.children: 12 is nobody's child"],"workload_failures":[],"srs":{},"virtual_us":5,"wall_us":9}"#;
        std::fs::write(&path, format!("{header}\n{old}\n")).unwrap();
        let file = read(&path).unwrap();
        assert_eq!(file.header.campaign.persistence, vec![Persistence::Transient]);
        let run = &file.runs[0];
        assert_eq!(run.id.to_string(), "f00000-rollback");
        assert_eq!((run.outcome, run.checker), (Outcome::FailStop, Verdict::Damaged), "the findings are the verdict");
        assert_eq!(
            (run.persistence, run.fault_firings, run.simulator_panic.as_deref()),
            (Persistence::Transient, 0, None)
        );
        let line = serde_json::to_string(run).unwrap();
        assert!(line.starts_with(r#"{"id":"f00000-rollback","#), "the id replay takes: {line}");
    }
}

//! The results file: JSON lines, a header line with the campaign spec, then one line per run.
//!
//! Lines are appended and flushed one at a time, so a campaign killed mid-way leaves every
//! finished run on disk; a torn last line (the kill came mid-write) is dropped on reading and
//! reported. Any other malformed line is an error naming the file and the line.

use crate::plan::{CampaignSpec, RunId, Shard};
use recovery::{PolicyKind, SrsCounters};
use serde::{Deserialize, Serialize};
use servers::fault::{FaultKind, Persistence};
use servers::run::{Outcome, Verdict};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The first line of a results file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// The campaign.
    pub campaign: CampaignSpec,
    /// The shard this file holds, if it is one.
    pub shard: Option<Shard>,
    /// Faults the plan has (runs = faults x policies).
    pub planned_faults: usize,
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
    /// Virtual time the run took (deterministic).
    pub virtual_us: u64,
    /// Wall time the run took on this machine (not deterministic).
    pub wall_us: u64,
}

impl RunRecord {
    /// The record without its wall time: what must not depend on the machine or the thread count.
    pub fn deterministic(&self) -> RunRecord {
        RunRecord { wall_us: 0, ..self.clone() }
    }
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
    /// Whether a torn last line was dropped (a campaign killed mid-write).
    pub dropped_torn_line: bool,
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
    let header: Header = serde_json::from_str(first)
        .map_err(|e| error(1, format!("not a campaign header: {e} (column {})", e.column())))?;
    let mut runs = Vec::new();
    for (i, line) in lines.iter().enumerate().skip(1) {
        match serde_json::from_str::<RunRecord>(line) {
            Ok(mut r) => {
                // A file written before runs recorded the verdict: its findings are the verdict.
                r.checker = r.checker.max(Verdict::of(&r.violations));
                runs.push(r)
            }
            Err(_) if i == lines.len() - 1 && !complete => dropped_torn_line = true,
            Err(e) => return Err(error(i + 1, format!("not a run record: {e} (column {})", e.column()))),
        }
    }
    Ok(ResultsFile { header, runs, dropped_torn_line })
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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Merged {
    /// Runs in the merged file.
    pub runs: usize,
    /// Shards whose torn last line (a campaign killed while writing it) was dropped: their runs
    /// are incomplete; resume them before merging again.
    pub torn: Vec<PathBuf>,
}

/// Merges shard files of one campaign into one file at `out`, in canonical run order. The shards
/// must share the campaign spec and plan, and no run may appear twice.
pub fn merge(shards: &[PathBuf], out: &Path) -> Result<Merged, ResultsError> {
    let whole = |message: String| ResultsError { file: out.to_path_buf(), line: 0, message };
    let mut header: Option<Header> = None;
    let mut runs: BTreeMap<RunId, RunRecord> = BTreeMap::new();
    let mut torn = Vec::new();
    for path in shards {
        let file = read(path)?;
        if file.dropped_torn_line {
            torn.push(path.clone());
        }
        match &header {
            None => header = Some(Header { shard: None, ..file.header.clone() }),
            Some(h) if h.campaign != file.header.campaign || h.planned_faults != file.header.planned_faults => {
                return Err(ResultsError {
                    file: path.clone(),
                    line: 1,
                    message: "another campaign than the first shard".into(),
                });
            }
            Some(_) => {}
        }
        for r in file.runs {
            if let Some(previous) = runs.insert(r.id, r) {
                return Err(ResultsError {
                    file: path.clone(),
                    line: 0,
                    message: format!("run {} appears twice", previous.id),
                });
            }
        }
    }
    let header = header.ok_or_else(|| whole("no shard files given".into()))?;
    let mut w = Writer::create(out, &header).map_err(|e| whole(e.to_string()))?;
    for r in runs.values() {
        w.write(r).map_err(|e| whole(e.to_string()))?;
    }
    Ok(Merged { runs: runs.len(), torn })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_results_files_read_with_their_ids_persistence_and_checker_verdicts() {
        let dir = std::env::temp_dir().join(format!("samsara-results-old-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("old.jsonl");
        let mut header =
            serde_json::to_value(Header { campaign: CampaignSpec::default(), shard: None, planned_faults: 1 }).unwrap();
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

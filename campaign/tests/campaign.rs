//! Campaign promises: thread count changes no result; a killed campaign resumes with nothing lost
//! or duplicated; merged shards equal the unsharded campaign; a malformed or torn results file gets
//! a clear error or is recovered up to its last whole line.

use campaign::execute::{Campaign, WorkloadFn};
use campaign::plan::{CampaignSpec, Shard};
use campaign::results::{self, RunRecord};
use recovery::PolicyKind;
use servers::boot::default_table;
use std::path::PathBuf;
use std::sync::Arc;

/// A small workload with forks, exits, waits and ids: enough sites in all three servers.
fn small_workload() -> WorkloadFn {
    Arc::new(|sys, rec| {
        for code in 0..2 {
            match sys.fork(move |c| {
                let _ = c.getpid();
                code
            }) {
                Ok(pid) => {
                    let w = sys.waitpid(pid, 0);
                    rec.check("wait", w.is_ok(), || format!("{w:?}"));
                }
                Err(e) => {
                    rec.check("fork", false, || format!("{e:?}"));
                }
            }
        }
        rec.expect_eq("getpid", sys.getpid(), Ok(1));
    })
}

fn campaign(faults: usize) -> Campaign {
    Campaign {
        spec: CampaignSpec { workload: "small".into(), faults, seed: 5, ..CampaignSpec::default() },
        workload: small_workload(),
        table: default_table(),
    }
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("samsara-campaign-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn sorted(mut records: Vec<RunRecord>) -> Vec<RunRecord> {
    records.sort_by_key(|r| r.id);
    records.into_iter().map(|r| r.deterministic()).collect()
}

#[test]
fn thread_count_changes_no_result() {
    let c = campaign(8);
    let golden = c.golden().expect("the workload passes");
    let d = dir("threads");
    c.run(&golden, &d.join("one.jsonl"), None, false, Some(1), false).unwrap();
    c.run(&golden, &d.join("two.jsonl"), None, false, Some(2), false).unwrap();
    let one = sorted(results::read(&d.join("one.jsonl")).unwrap().runs);
    let two = sorted(results::read(&d.join("two.jsonl")).unwrap().runs);
    assert_eq!(one.len(), 8 * PolicyKind::ALL.len());
    assert_eq!(one, two);
}

#[test]
fn a_killed_campaign_resumes_with_nothing_lost_or_duplicated() {
    let c = campaign(6);
    let golden = c.golden().unwrap();
    let d = dir("resume");
    let full = d.join("full.jsonl");
    c.run(&golden, &full, None, false, Some(2), false).unwrap();
    // A kill mid-way: keep the header, ten whole lines, and half of the eleventh.
    let text = std::fs::read_to_string(&full).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut cut = lines[..11].join("\n");
    cut.push('\n');
    cut.push_str(&lines[11][..lines[11].len() / 2]);
    let killed = d.join("killed.jsonl");
    std::fs::write(&killed, cut).unwrap();
    let torn = results::read(&killed).unwrap();
    assert!(torn.dropped_torn_line);
    assert_eq!(torn.runs.len(), 10);
    let again = c.run(&golden, &killed, None, true, Some(2), false).unwrap();
    assert_eq!((again.already_done, again.ran), (10, 6 * PolicyKind::ALL.len() - 10));
    let resumed = results::read(&killed).unwrap();
    assert!(!resumed.dropped_torn_line);
    assert_eq!(sorted(resumed.runs), sorted(results::read(&full).unwrap().runs));
}

#[test]
fn merged_shards_equal_the_unsharded_campaign() {
    let c = campaign(5);
    let golden = c.golden().unwrap();
    let d = dir("shards");
    c.run(&golden, &d.join("all.jsonl"), None, false, Some(2), false).unwrap();
    let shards: Vec<PathBuf> = (0..3)
        .map(|i| {
            let p = d.join(format!("shard{i}.jsonl"));
            c.run(&golden, &p, Some(Shard { index: i, count: 3 }), false, Some(1), false).unwrap();
            p
        })
        .collect();
    let merged = d.join("merged.jsonl");
    assert_eq!(results::merge(&shards, &merged).unwrap().runs, 5 * PolicyKind::ALL.len());
    assert_eq!(sorted(results::read(&merged).unwrap().runs), sorted(results::read(&d.join("all.jsonl")).unwrap().runs));
    // A shard merged twice is a duplicate, named.
    let err = results::merge(&[shards[0].clone(), shards[0].clone()], &d.join("dup.jsonl")).unwrap_err();
    assert!(err.to_string().contains("appears twice"), "{err}");
}

#[test]
fn malformed_results_files_get_clear_errors() {
    let d = dir("malformed");
    let bad = d.join("bad.jsonl");
    std::fs::write(&bad, "{\"not\": \"a header\"}\n").unwrap();
    let e = results::read(&bad).unwrap_err().to_string();
    assert!(e.contains("bad.jsonl:1: not a campaign header"), "{e}");
    let c = campaign(1);
    let golden = c.golden().unwrap();
    let good = d.join("good.jsonl");
    c.run(&golden, &good, None, false, Some(1), false).unwrap();
    let mut text = std::fs::read_to_string(&good).unwrap();
    text.insert_str(text.find('\n').unwrap() + 1, "garbage in the middle\n");
    std::fs::write(&bad, text).unwrap();
    let e = results::read(&bad).unwrap_err().to_string();
    assert!(e.contains("bad.jsonl:2: not a run record"), "{e}");
    std::fs::write(&bad, "").unwrap();
    assert!(results::read(&bad).unwrap_err().to_string().contains("empty"));
}

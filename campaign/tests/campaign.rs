//! Campaign promises: a seed gives the same results file byte for byte whatever the thread count;
//! a killed campaign resumes with nothing lost or duplicated; merged shards equal the unsharded
//! campaign; a malformed or torn results file gets a clear error or is recovered up to its last
//! whole line; a record the plan does not account for, or that differs from its re-run, is refused
//! (or dropped and counted), and a merge with a shard missing or incomplete is refused.

use campaign::execute::{Campaign, Options, Verify, WorkloadFn};
use campaign::plan::{CampaignSpec, Shard};
use campaign::results::{self, BadRecords};
use recovery::PolicyKind;
use std::path::PathBuf;
use std::sync::Arc;
use testbed::boot::default_table;

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
        manifest: None,
    }
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("samsara-campaign-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn text(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

fn threads(n: usize) -> Options {
    Options { threads: Some(n), ..Options::default() }
}

#[test]
fn a_seed_gives_the_same_file_byte_for_byte_whatever_the_thread_count() {
    let c = campaign(8);
    let golden = c.golden().expect("the workload passes");
    let d = dir("threads");
    c.run(&golden, &d.join("one.jsonl"), threads(1)).unwrap();
    c.run(&golden, &d.join("two.jsonl"), threads(2)).unwrap();
    c.run(&golden, &d.join("four.jsonl"), threads(4)).unwrap();
    let one = text(&d.join("one.jsonl"));
    assert_eq!(one.lines().count(), 1 + 8 * PolicyKind::ALL.len());
    assert_eq!(one, text(&d.join("two.jsonl")));
    assert_eq!(one, text(&d.join("four.jsonl")));
    let ids: Vec<String> = results::read(&d.join("one.jsonl")).unwrap().runs.iter().map(|r| r.id.to_string()).collect();
    assert_eq!(ids[..2], ["f00000-none".to_string(), "f00000-restart".to_string()], "the plan's order");
}

#[test]
fn a_killed_campaign_resumes_with_nothing_lost_or_duplicated() {
    let c = campaign(6);
    let golden = c.golden().unwrap();
    let d = dir("resume");
    let full = d.join("full.jsonl");
    c.run(&golden, &full, Options { threads: Some(2), ..Options::default() }).unwrap();
    // A kill mid-way: keep the header, ten whole lines, and half of the eleventh.
    let whole = text(&full);
    let lines: Vec<&str> = whole.lines().collect();
    let mut cut = lines[..11].join("\n");
    cut.push('\n');
    cut.push_str(&lines[11][..lines[11].len() / 2]);
    let killed = d.join("killed.jsonl");
    std::fs::write(&killed, cut).unwrap();
    let torn = results::read(&killed).unwrap();
    assert!(torn.dropped_torn_line);
    assert_eq!(torn.runs.len(), 10);
    let resume = Options { resume: Some(BadRecords::Refuse), ..threads(2) };
    let again = c.run(&golden, &killed, resume).unwrap();
    assert_eq!((again.already_done, again.ran), (10, 6 * PolicyKind::ALL.len() - 10));
    assert!(again.cut_torn_line, "the resume says it cut the torn line");
    assert!(!results::read(&killed).unwrap().dropped_torn_line);
    assert_eq!(text(&killed), text(&full), "the resumed file is the uninterrupted one");
}

/// `full`'s text with line `at` (1-based) replaced by what `edit` makes of its record.
fn forged(full: &str, at: usize, edit: impl Fn(&mut serde_json::Value)) -> String {
    let mut lines: Vec<String> = full.lines().map(String::from).collect();
    let mut record: serde_json::Value = serde_json::from_str(&lines[at - 1]).unwrap();
    edit(&mut record);
    lines[at - 1] = record.to_string();
    lines.join("\n") + "\n"
}

#[test]
fn resume_refuses_records_its_plan_does_not_account_for_or_drops_and_counts_them() {
    let c = campaign(3);
    let golden = c.golden().unwrap();
    let d = dir("forged");
    let full_path = d.join("full.jsonl");
    c.run(&golden, &full_path, threads(2)).unwrap();
    let full = text(&full_path);
    let second_fault = results::read(&full_path).unwrap().header.plan[1].clone();
    // A record with damage, whose violations a forger replaces (its verdict stays "damaged").
    let damaged = 1 + full.lines().position(|l| l.contains("\"checker\":\"damaged\"")).expect("a damaged run");
    let cases: [(&str, String); 6] = [
        ("appears twice (first on line 2)", {
            let mut lines: Vec<&str> = full.lines().collect();
            lines[2] = lines[1];
            lines.join("\n") + "\n"
        }),
        ("the plan has 3 faults", forged(&full, 4, |r| r["id"] = "f00009-restart".into())),
        ("the plan's fault 0 is", forged(&full, 2, |r| r["fault"] = second_fault.clone().into())),
        ("records policy", forged(&full, 2, |r| r["policy"] = "table".into())),
        // Records of the plan whose results were made up: their re-runs tell.
        (
            "does not match its re-run (`outcome`: recorded",
            forged(&full, 5, |r| r["outcome"] = if r["outcome"] == "pass" { "recovered" } else { "pass" }.into()),
        ),
        (
            "does not match its re-run (`violations`: recorded [\"forged\"]",
            forged(&full, damaged, |r| r["violations"] = serde_json::json!(["forged"])),
        ),
    ];
    for (why, text_of) in cases {
        let path = d.join("bad.jsonl");
        std::fs::write(&path, &text_of).unwrap();
        let refuse = Options { resume: Some(BadRecords::Refuse), verify: Verify::All, ..threads(1) };
        let e = c.run(&golden, &path, refuse).err().expect("refused").to_string();
        assert!(e.contains("bad.jsonl:") && e.contains(why), "{why}: {e}");
        assert_eq!(text(&path), text_of, "a refused file is left as it was");
        let drop = Options { resume: Some(BadRecords::Drop), verify: Verify::All, ..threads(1) };
        let again = c.run(&golden, &path, drop).unwrap();
        assert_eq!(again.dropped.len(), 1, "{why}: {:?}", again.dropped);
        assert!(again.dropped[0].why.contains(why), "{:?}", again.dropped);
        assert_eq!(text(&path), full, "{why}: the dropped run is run again, the file whole");
    }
}

#[test]
fn merged_shards_equal_the_unsharded_campaign() {
    let c = campaign(5);
    let golden = c.golden().unwrap();
    let d = dir("shards");
    c.run(&golden, &d.join("all.jsonl"), threads(2)).unwrap();
    let shards: Vec<PathBuf> = (0..3)
        .map(|i| {
            let p = d.join(format!("shard{i}.jsonl"));
            c.run(&golden, &p, Options { shard: Some(Shard { index: i, count: 3 }), ..threads(1) }).unwrap();
            p
        })
        .collect();
    let merged = d.join("merged.jsonl");
    assert_eq!(results::merge(&shards, &merged, BadRecords::Refuse).unwrap().runs.len(), 5 * PolicyKind::ALL.len());
    assert_eq!(text(&merged), text(&d.join("all.jsonl")), "byte for byte");
    let merge =
        |files: &[PathBuf]| results::merge(files, &d.join("out.jsonl"), BadRecords::Refuse).unwrap_err().to_string();
    // A shard given twice, a shard missing, a shard cut short or torn: refused, named.
    let twice = merge(&[shards[0].clone(), shards[0].clone(), shards[1].clone(), shards[2].clone()]);
    assert!(twice.contains("shard 0/3 is given twice"), "{twice}");
    let missing = merge(&shards[..2]);
    assert!(missing.contains("shard 2/3 is missing"), "{missing}");
    let short = text(&shards[1]);
    let short: Vec<&str> = short.lines().collect();
    std::fs::write(&shards[1], short[..short.len() - 1].join("\n") + "\n").unwrap();
    let incomplete = merge(&shards);
    assert!(incomplete.contains("shard1.jsonl: shard 1/3 lacks 1 of its"), "{incomplete}");
    let whole = short.join("\n");
    std::fs::write(&shards[1], &whole[..whole.len() - 5]).unwrap();
    let torn = merge(&shards);
    assert!(torn.contains("shard1.jsonl: ends in a torn line"), "{torn}");
    // The same shard of another split, or of another campaign.
    let other = campaign(4);
    let other_golden = other.golden().unwrap();
    let foreign = d.join("foreign.jsonl");
    other.run(&other_golden, &foreign, Options { shard: Some(Shard { index: 1, count: 3 }), ..threads(1) }).unwrap();
    let e = merge(&[shards[0].clone(), foreign, shards[2].clone()]);
    assert!(e.contains("another campaign or plan"), "{e}");
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
    c.run(&golden, &good, Options { threads: Some(1), ..Options::default() }).unwrap();
    let mut text = std::fs::read_to_string(&good).unwrap();
    text.insert_str(text.find('\n').unwrap() + 1, "garbage in the middle\n");
    std::fs::write(&bad, text).unwrap();
    let e = results::read(&bad).unwrap_err().to_string();
    assert!(e.contains("bad.jsonl:2: not a run record"), "{e}");
    std::fs::write(&bad, "").unwrap();
    assert!(results::read(&bad).unwrap_err().to_string().contains("empty"));
}

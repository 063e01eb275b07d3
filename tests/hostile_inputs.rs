//! Malformed input files through the command line, as a user meets them: corrupt and truncated
//! strace logs (`run --workload strace:FILE`), service manifests (`--manifest FILE`), recovery-class
//! table files (`analyze --check`, and the readers themselves) and campaign results files
//! (`replay`, `merge`, `campaign --resume`). Each must give a clear error naming the file and the
//! line (or byte) at fault, exit with status 1 (never a panic's 101), print nothing on stdout, and
//! write nothing: no half-merged file, no rewritten results.
//!
//! Truncation is tried at many byte offsets of real files (the fixtures, the shipped manifest and
//! table, a campaign's own results), not only at a few hand-picked places.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What one run of the tool did.
struct Ran {
    code: i32,
    out: String,
    err: String,
}

fn samsara(args: &[&str], dir: &Path) -> Ran {
    let out = Command::new(env!("CARGO_BIN_EXE_samsara")).args(args).current_dir(dir).output().expect("run samsara");
    Ran {
        code: out.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&out.stdout).into(),
        err: String::from_utf8_lossy(&out.stderr).into(),
    }
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("samsara-hostile-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The run failed cleanly: status 1, an error on stderr that starts with the file's name, nothing
/// on stdout, no panic.
fn assert_refused(what: &str, r: &Ran, file: &str) {
    assert_eq!(r.code, 1, "{what}: exit status (101 is a panic)\nstderr: {}", r.err);
    assert!(!r.err.contains("panicked"), "{what}: {}", r.err);
    assert!(r.out.is_empty(), "{what}: nothing half-printed on stdout, got:\n{}", r.out);
    assert!(r.err.starts_with(&format!("samsara: {file}")), "{what}: the error names {file}: {}", r.err);
}

/// The number after `file:` in an error (`file:LINE:` or `file:LINE:COLUMN:`).
fn line_of(err: &str, file: &str) -> Option<usize> {
    let rest = err.strip_prefix(&format!("samsara: {file}:"))?;
    rest.split(':').next()?.parse().ok()
}

/// Byte offsets to cut `len` bytes at: the first few, then spread over the whole file.
fn cut_points(len: usize, n: usize) -> Vec<usize> {
    let mut at: Vec<usize> = (1..8).collect();
    at.extend((1..n).map(|i| i * len / n));
    at.retain(|&c| c < len);
    at.dedup();
    at
}

// ---- strace logs ----------------------------------------------------------------------------------

fn run_log(dir: &Path, name: &str, bytes: &[u8]) -> Ran {
    std::fs::write(dir.join(name), bytes).unwrap();
    samsara(&["run", "--workload", &format!("strace:{name}")], dir)
}

#[test]
fn corrupt_strace_logs_are_refused_with_their_file_line_and_column() {
    let dir = scratch("strace");
    let cases: [(&str, &[u8], &str); 6] = [
        ("garbage.log", b"\xff\xfe\x00 not strace at all\n", "garbage.log:1:1: expected a pid"),
        ("paren.log", b"123 open(\"/etc/x\", O_RDONLY = 3\n", "paren.log:1:32: expected `)`"),
        ("quote.log", b"123 open(\"/etc/x, O_RDONLY) = 3\n", "quote.log:1:"),
        ("resumed.log", b"1 <... read resumed>\"x\", 1) = 1\n", "resumed.log:1:"),
        (
            "unfinished.log",
            b"1 read(0,  <unfinished ...>\n1 write(1, \"x\", 1) = 1\n",
            "unfinished.log:2: expected `<... read resumed>`",
        ),
        ("cut.log", b"1 getpid() = 1\n1 getpid(", "cut.log:2: expected a newline ending the last line"),
    ];
    for (name, bytes, expected) in cases {
        let r = run_log(&dir, name, bytes);
        assert_refused(name, &r, name);
        assert!(r.err.contains(expected), "{name}: expected `{expected}` in: {}", r.err);
    }
    for (what, arg) in [("a missing log", "strace:missing.log"), ("a directory", "strace:.")] {
        let r = samsara(&["run", "--workload", arg], &dir);
        assert_refused(what, &r, &arg["strace:".len()..]);
        assert!(r.err.contains("cannot read the strace log"), "{what}: {}", r.err);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_strace_log_truncated_anywhere_is_refused_with_its_line() {
    let dir = scratch("strace-cut");
    let log = std::fs::read(workspace().join("userland/fixtures/strace/cp.log")).unwrap();
    for cut in cut_points(log.len(), 24) {
        if log[cut - 1] == b'\n' {
            continue; // a cut at a line's end is a shorter, well-formed log
        }
        let r = run_log(&dir, "cut.log", &log[..cut]);
        let what = format!("cp.log cut at byte {cut}");
        assert_refused(&what, &r, "cut.log");
        let line = log[..cut].iter().filter(|&&b| b == b'\n').count() + 1;
        assert_eq!(line_of(&r.err, "cut.log"), Some(line), "{what}: names the cut line: {}", r.err);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_empty_strace_log_is_refused() {
    let dir = scratch("strace-empty");
    let r = run_log(&dir, "empty.log", b"");
    assert_refused("an empty log", &r, "empty.log");
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- manifests ------------------------------------------------------------------------------------

fn check_manifest(dir: &Path, name: &str, bytes: &[u8]) -> Ran {
    std::fs::write(dir.join(name), bytes).unwrap();
    samsara(&["--manifest", name, "manifest"], dir)
}

#[test]
fn corrupt_manifests_are_refused_with_their_file_line_and_column() {
    let dir = scratch("manifest");
    let shipped = std::fs::read_to_string(workspace().join("etc/system.conf")).unwrap();
    let cases = [
        ("huge-slot.conf", shipped.replace("slot 2;", "slot 99999999999999999999999;"), "is not a number"),
        ("huge-time.conf", shipped.replace("heartbeat 1s;", "heartbeat 99999999999999999s;"), "is not a duration"),
        ("range.conf", shipped.replace("calls vm 0xC00..0xC05;", "calls vm 0xC05..0xC00;"), "empty message-type range"),
        (
            "type.conf",
            shipped.replace("calls vm 0xC00..0xC05;", "calls vm 0xFFFFFFFFFF..0xC05;"),
            "unknown message type",
        ),
        ("twice.conf", shipped.replace("slot 3;", "slot 2;"), "share slot 2"),
        ("kernel.conf", shipped.replace("kernel fork clear", "kernel fork teleport clear"), "unknown kernel call"),
        ("nesting.conf", "service a {".repeat(10_000), "expected"),
    ];
    for (name, text, expected) in cases {
        let r = check_manifest(&dir, name, text.as_bytes());
        assert_refused(name, &r, name);
        assert!(line_of(&r.err, name).is_some_and(|l| l > 0), "{name}: names the line: {}", r.err);
        assert!(r.err.contains(expected), "{name}: expected `{expected}` in: {}", r.err);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_manifest_truncated_anywhere_is_refused() {
    let dir = scratch("manifest-cut");
    let shipped = std::fs::read(workspace().join("etc/system.conf")).unwrap();
    let mut with_line = 0;
    for cut in cut_points(shipped.len(), 24) {
        let r = check_manifest(&dir, "cut.conf", &shipped[..cut]);
        let what = format!("system.conf cut at byte {cut}");
        assert_refused(&what, &r, "cut.conf");
        // A cut inside a statement is named by its line; a cut between blocks leaves a well-formed
        // file that lacks a whole block (`no user block`), an error about the file as a whole.
        if line_of(&r.err, "cut.conf").is_some() {
            with_line += 1;
        } else {
            assert!(r.err.contains("no `user` block") || r.err.contains("no service"), "{what}: {}", r.err);
        }
    }
    assert!(with_line > 10, "most cuts fall inside a statement: {with_line}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_manifest_that_is_not_utf8_is_named_with_its_byte() {
    let dir = scratch("manifest-utf8");
    let mut bytes = std::fs::read(workspace().join("etc/system.conf")).unwrap();
    bytes.insert(100, 0xff);
    let r = check_manifest(&dir, "latin1.conf", &bytes);
    assert_refused("latin1.conf", &r, "latin1.conf");
    assert!(r.err.contains("byte 100") || line_of(&r.err, "latin1.conf").is_some(), "{}", r.err);
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- recovery-class table files --------------------------------------------------------------------

/// A workspace for `analyze --root`: the real servers' source (symlinked) and the given table files.
fn table_root(name: &str, json: &[u8], postcard: &[u8]) -> PathBuf {
    let root = scratch(name);
    for part in ["os", "kernel_sim", "recovery"] {
        std::os::unix::fs::symlink(workspace().join(part), root.join(part)).unwrap();
    }
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::copy(workspace().join("etc/system.conf"), root.join("etc/system.conf")).unwrap();
    std::fs::write(root.join("etc/recovery-table.json"), json).unwrap();
    std::fs::write(root.join("etc/recovery-table.postcard"), postcard).unwrap();
    root
}

#[test]
fn corrupt_table_files_are_refused_with_the_json_line_and_nothing_is_written() {
    let json = std::fs::read(workspace().join("etc/recovery-table.json")).unwrap();
    let postcard = std::fs::read(workspace().join("etc/recovery-table.postcard")).unwrap();
    let (json_cut, postcard_cut) = (&json[..json.len() / 2], &postcard[..postcard.len() / 2]);
    let root = table_root("table", json_cut, postcard_cut);
    let r = samsara(&["analyze", "--check", "--no-graphs", "--root", root.to_str().unwrap()], &root);
    assert_eq!(r.code, 1, "{}", r.err);
    assert!(!r.err.contains("panicked"), "{}", r.err);
    let json_line = json_cut.iter().filter(|&&b| b == b'\n').count() + 1;
    assert!(r.err.contains(&format!("etc/recovery-table.json: line {json_line} column")), "{}", r.err);
    assert!(r.err.contains("etc/recovery-table.postcard: truncated"), "{}", r.err);
    // --check writes nothing: the broken files are as they were, and no graph directory appeared.
    assert_eq!(std::fs::read(root.join("etc/recovery-table.json")).unwrap(), json_cut);
    assert_eq!(std::fs::read(root.join("etc/recovery-table.postcard")).unwrap(), postcard_cut);
    assert!(!root.join("target").exists());
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn table_files_truncated_or_flipped_anywhere_never_load() {
    use recovery::RecoveryTable;
    let json = std::fs::read_to_string(workspace().join("etc/recovery-table.json")).unwrap();
    let postcard = std::fs::read(workspace().join("etc/recovery-table.postcard")).unwrap();
    for cut in cut_points(json.len(), 64).into_iter().filter(|&c| json.is_char_boundary(c)) {
        let e = RecoveryTable::from_json(&json[..cut], "t.json").expect_err("a cut JSON table never loads");
        assert!(e.to_string().starts_with("t.json: line "), "cut at {cut}: {e}");
    }
    for cut in cut_points(postcard.len(), 64) {
        let e = RecoveryTable::from_postcard(&postcard[..cut], "t.postcard").expect_err("a cut table never loads");
        assert!(e.to_string().starts_with("t.postcard: "), "cut at {cut}: {e}");
    }
    // Flipped bytes: an error or (rarely) another well-formed table, never a panic.
    for at in cut_points(postcard.len(), 64) {
        let mut bad = postcard.clone();
        bad[at] ^= 0xA5;
        if let Err(e) = RecoveryTable::from_postcard(&bad, "t.postcard") {
            assert!(e.to_string().starts_with("t.postcard: "), "{e}");
        }
    }
    let mut trailing = postcard.clone();
    trailing.push(0);
    let e = RecoveryTable::from_postcard(&trailing, "t.postcard").unwrap_err();
    assert!(e.to_string().contains(&format!("at byte {}", postcard.len())), "{e}");
}

#[test]
fn a_truncated_postcard_table_is_named_with_its_byte() {
    let postcard = std::fs::read(workspace().join("etc/recovery-table.postcard")).unwrap();
    let e = recovery::RecoveryTable::from_postcard(&postcard[..postcard.len() / 2], "t.postcard").unwrap_err();
    assert!(e.to_string().contains("byte"), "{e}");
}

// ---- campaign results files ------------------------------------------------------------------------

/// A real results file from a tiny campaign in `dir`: header + 4 runs.
fn results(dir: &Path) -> String {
    let r = samsara(
        &["campaign", "--faults", "2", "--policies", "restart,table", "--kinds", "panic", "--out", "c.jsonl"],
        dir,
    );
    assert_eq!(r.code, 0, "{}", r.err);
    std::fs::read_to_string(dir.join("c.jsonl")).unwrap()
}

#[test]
fn corrupt_results_files_are_refused_with_their_line_and_nothing_is_written() {
    let dir = scratch("results");
    let good = results(&dir);
    let lines: Vec<&str> = good.lines().collect();
    assert_eq!(lines.len(), 5, "{good}");
    let mut cut_mid = lines.clone();
    let torn = &lines[2][..lines[2].len() / 2];
    cut_mid[2] = torn;
    let cut_mid = cut_mid.join("\n") + "\n";
    let mut not_utf8 = good.as_bytes().to_vec();
    not_utf8.insert(300, 0xff);
    let mut bad_header = lines.clone();
    bad_header[0] = r#"{"campaign": 5}"#;
    let bad_header = bad_header.join("\n") + "\n";
    let cases: [(&str, &[u8], &str); 4] = [
        ("mid.jsonl", cut_mid.as_bytes(), "mid.jsonl:3: not a run record"),
        ("utf8.jsonl", &not_utf8, "utf8.jsonl: not UTF-8 text at byte 300"),
        ("empty.jsonl", b"", "empty.jsonl: empty: no header line"),
        ("header.jsonl", bad_header.as_bytes(), "header.jsonl:1: not a campaign header"),
    ];
    for (name, bytes, expected) in cases {
        std::fs::write(dir.join(name), bytes).unwrap();
        // replay reads it
        let r = samsara(&["replay", "f00000-restart", "--results", name], &dir);
        assert_refused(&format!("replay of {name}"), &r, name);
        assert!(r.err.contains(expected), "replay of {name}: expected `{expected}` in: {}", r.err);
        // merge refuses before writing anything
        let r = samsara(&["merge", "merged.jsonl", "c.jsonl", name], &dir);
        assert_refused(&format!("merge of {name}"), &r, name);
        assert!(r.err.contains(expected), "merge of {name}: {}", r.err);
        assert!(!dir.join("merged.jsonl").exists(), "merge of {name} left a half-merged file");
        // a resumed campaign refuses before it appends or cuts anything
        let out = format!("resume-{name}");
        std::fs::write(dir.join(&out), bytes).unwrap();
        let args = ["campaign", "--faults", "2", "--policies", "restart,table", "--kinds", "panic", "--resume"];
        let r = samsara(&[&args[..], &["--out", &out]].concat(), &dir);
        assert_eq!(r.code, 1, "resume of {name}: {}", r.err);
        assert!(!r.err.contains("panicked"), "{}", r.err);
        assert!(r.err.contains(&format!("samsara: {out}")), "resume of {name} names its file: {}", r.err);
        assert_eq!(std::fs::read(dir.join(&out)).unwrap(), bytes, "resume of {name} changed the file");
        let stem = out.trim_end_matches(".jsonl");
        for ext in ["csv", "html"] {
            assert!(!dir.join(format!("{stem}.{ext}")).exists(), "resume of {name} wrote a {ext}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_made_up_result_is_refused_by_resume_which_runs_it_again() {
    let dir = scratch("results-made-up");
    let good = results(&dir);
    let mut lines: Vec<String> = good.lines().map(String::from).collect();
    let mut record: serde_json::Value = serde_json::from_str(&lines[2]).unwrap();
    let recorded = record["outcome"].as_str().unwrap().to_string();
    record["outcome"] = if recorded == "pass" { "recovered" } else { "pass" }.into();
    lines[2] = record.to_string();
    let forged = lines.join("\n") + "\n";
    std::fs::write(dir.join("c.jsonl"), &forged).unwrap();
    let args = ["campaign", "--faults", "2", "--policies", "restart,table", "--kinds", "panic", "--out", "c.jsonl"];
    let r = samsara(&[&args[..], &["--resume", "--verify", "all"]].concat(), &dir);
    assert_eq!(r.code, 1, "{}", r.err);
    assert!(r.err.contains("c.jsonl:3: run f00000-table does not match its re-run (`outcome`"), "{}", r.err);
    assert_eq!(std::fs::read_to_string(dir.join("c.jsonl")).unwrap(), forged, "a refused file is left as it was");
    // Dropped, it runs again: the file is the campaign's own once more.
    let r = samsara(&[&args[..], &["--resume", "--drop-bad"]].concat(), &dir);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(r.err.contains("does not match its re-run"), "the drop is reported: {}", r.err);
    assert_eq!(std::fs::read_to_string(dir.join("c.jsonl")).unwrap(), good);
    let r = samsara(&["campaign", "--verify", "all", "--out", "c.jsonl"], &dir);
    assert_eq!(r.code, 2, "--verify needs --resume: {}", r.err);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn no_command_writes_over_the_results_it_was_given() {
    let dir = scratch("results-overwrite");
    let good = results(&dir);
    let refusals: [(&[&str], &str); 5] = [
        (&["campaign", "--faults", "2", "--out", "c.html"], "name it .jsonl"),
        (&["campaign", "--faults", "2", "--out", "c.csv"], "name it .jsonl"),
        (&["campaign", "--faults", "2", "--out", "/dev/null"], "not a regular file"),
        (&["merge", "c.jsonl", "c.jsonl"], "would overwrite the input c.jsonl"),
        (&["replay", "f00000-table", "--results", "c.jsonl", "--html", "./c.jsonl"], "that is the results file"),
    ];
    for (args, says) in refusals {
        let r = samsara(args, &dir);
        assert_eq!(r.code, 1, "{args:?}: {}", r.err);
        assert!(r.err.contains(says), "{args:?}: {}", r.err);
        assert_eq!(std::fs::read_to_string(dir.join("c.jsonl")).unwrap(), good, "{args:?} changed the results");
    }
    for (args, says) in [
        (&["campaign", "--exhaustive", "--faults", "3"][..], "cannot be used with"),
        (&["campaign", "--threads", "0"][..], "must be at least 1"),
        (&["demo", "--html", "d.html"][..], "<SCENARIO>"),
    ] {
        let r = samsara(args, &dir);
        assert_eq!(r.code, 2, "{args:?}: {}", r.err);
        assert!(r.err.contains(says), "{args:?}: {}", r.err);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_torn_shard_is_reported_by_merge() {
    let dir = scratch("results-torn");
    let good = results(&dir);
    let torn = &good[..good.len() - 20];
    std::fs::write(dir.join("torn.jsonl"), torn).unwrap();
    let r = samsara(&["merge", "merged.jsonl", "torn.jsonl"], &dir);
    assert!(r.err.contains("torn.jsonl") && r.err.contains("torn"), "merge says nothing: {}{}", r.out, r.err);
    let _ = std::fs::remove_dir_all(&dir);
}

//! `samsara demo` as a user meets it: the list of scenarios, a narrated scenario, `--step` with no
//! one at the keyboard, `--json` facts, `--html`, and clear errors.

use std::io::Write;
use std::process::{Command, Stdio};

fn samsara(args: &[&str]) -> (i32, String, String) {
    samsara_with_input(args, None)
}

fn samsara_with_input(args: &[&str], input: Option<&str>) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_samsara"))
        .args(args)
        .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run samsara");
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin.write_all(text.as_bytes()).expect("write stdin");
    }
    let out = child.wait_with_output().expect("samsara ends");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

const SCENARIOS: [&str; 10] = [
    "restart",
    "rollback",
    "window",
    "reprocess",
    "process-local",
    "compensation",
    "quarantine",
    "srs",
    "hang",
    "driver",
];

#[test]
fn demo_without_a_scenario_lists_them_with_a_line_each() {
    let (code, out, _) = samsara(&["demo"]);
    assert_eq!(code, 0);
    for s in SCENARIOS {
        assert!(out.lines().any(|l| l.trim_start().starts_with(s) && l.len() > s.len() + 20), "{s} missing:\n{out}");
    }
    let (code, out, _) = samsara(&["--json", "demo"]);
    assert_eq!(code, 0);
    let list: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(list.as_array().map(Vec::len), Some(SCENARIOS.len()));
}

#[test]
fn a_scenario_is_narrated_from_its_run() {
    let (code, out, _) = samsara(&["demo", "rollback", "--color", "never"]);
    assert_eq!(code, 0, "{out}");
    for want in [
        "samsara demo: rollback",
        "pm checkpoints at the top of its loop",
        "pm crashes",
        "kernel → rs: notification — pm died",
        "rs decides: rollback",
        "answer ERECOVERED",
        "init notes: getpid() -> ERECOVERED",
        "Verdict: recovered",
        "consistency checker: consistent",
    ] {
        assert!(out.contains(want), "lacks `{want}`:\n{out}");
    }
    assert!(!out.contains('\x1b'), "no colours when asked for none");
    let (_, coloured, _) = samsara(&["demo", "rollback", "--color", "always"]);
    assert!(coloured.contains("\x1b[1;31m"), "the crash is red");
}

#[test]
fn step_mode_pauses_between_steps_and_goes_on_at_end_of_input() {
    let (code, out, err) = samsara_with_input(&["demo", "hang", "--step", "--color", "never"], Some("\n\n"));
    assert_eq!(code, 0);
    assert!(out.contains("Verdict: recovered"), "every step is told even when input runs out:\n{out}");
    assert_eq!(err.matches("(Enter: next step)").count(), 3, "two Enters, then end of input: {err}");
}

#[test]
fn json_prints_the_facts_of_each_run() {
    let (code, out, _) = samsara(&["--json", "demo", "window"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["scenario"], "window");
    let runs = v["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[0]["policy"], "rollback");
    assert_eq!(runs[0]["crashed"]["server"], "pm");
    assert_eq!(runs[0]["crashed"]["call"], "fork");
    assert_eq!(runs[0]["decisions"][0]["label"], "rollback");
    assert_eq!(runs[0]["outcome"], "inconsistent");
    assert!(runs[0]["findings"].as_array().expect("findings").iter().any(|f| f["invariant"] == "vm.address-space"));
    assert_eq!(runs[1]["policy"], "pessimistic");
    assert_eq!(runs[1]["decisions"][0]["label"], "fail-stop");
    assert_eq!(runs[1]["outcome"], "fail-stop");
    assert_eq!(runs[2]["policy"], "table");
    assert_eq!(runs[2]["decisions"][0]["label"], "rollback+replay");
    assert_eq!(runs[2]["outcome"], "recovered");
    assert!(runs[2]["story"]["steps"].as_array().is_some_and(|s| s.len() > 5));
}

#[test]
fn html_writes_one_page_and_says_where() {
    // Into a folder not made yet: the demo makes it, as the other commands do.
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("demo-cli").join("new-folder");
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("srs.html");
    let (code, out, _) = samsara(&["demo", "srs", "--html", path.to_str().expect("utf-8 path")]);
    assert_eq!(code, 0);
    assert!(out.contains(&format!("wrote {}", path.display())), "{out}");
    let page = std::fs::read_to_string(&path).expect("written");
    assert!(
        page.contains("class=\"sequence-chart\"") && page.contains("SRS vfs vfs.filps"),
        "the chart and the SRS detail"
    );
}

#[test]
fn bad_requests_get_clear_errors() {
    let (code, _, err) = samsara(&["demo", "teleport"]);
    assert_eq!(code, 1);
    assert!(err.contains("unknown scenario `teleport`") && err.contains("process-local"), "{err}");
    let (code, _, err) = samsara(&["--engine", "threads", "demo", "rollback"]);
    assert_eq!(code, 1);
    assert!(err.contains("sim"), "{err}");
    // A folder that cannot be made (a file stands where it would go).
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("demo-cli-bad");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let file = dir.join("a-file");
    std::fs::write(&file, "not a folder").expect("write");
    let bad = file.join("x.html");
    let (code, _, err) = samsara(&["demo", "srs", "--html", bad.to_str().expect("utf-8 path")]);
    assert_eq!(code, 1);
    assert!(err.contains(&file.display().to_string()), "{err}");
}

//! The command line as a user meets it: help, the manifest table and JSON, and clear errors.

use std::process::Command;

fn samsara(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_samsara")).args(args).output().expect("run samsara");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn help_teaches_the_global_options() {
    let (code, out, _) = samsara(&["--help"]);
    assert_eq!(code, 0);
    for word in ["--engine", "--seed", "--json", "manifest", "recover from crashes"] {
        assert!(out.contains(word), "help lacks {word}:\n{out}");
    }
}

#[test]
fn a_campaign_injects_into_every_faultable_server_by_default() {
    let (code, help, _) = samsara(&["campaign", "--help"]);
    assert_eq!(code, 0);
    let default = format!("[default: {}]", os::fault::FAULTABLE_SERVERS.join(","));
    let servers = help.lines().skip_while(|l| !l.contains("--servers")).take(3).collect::<String>();
    assert!(servers.contains(&default), "--servers's default is {default}: {servers}");
}

#[test]
fn manifest_prints_every_service() {
    let (code, out, _) = samsara(&["manifest"]);
    assert_eq!(code, 0);
    for service in ["rs", "pm", "vm", "vfs", "memdisk", "(user)"] {
        assert!(out.lines().any(|l| l.starts_with(service)), "no row for {service}:\n{out}");
    }
    let pm = out.lines().find(|l| l.starts_with("pm ")).unwrap();
    assert!(pm.contains("core,stateful") && pm.contains("1s"), "{pm}");
    // Columns fit their cells: every row's heartbeat ends where the header's does.
    let header = out.lines().next().unwrap();
    let heartbeat_end = header.find("heartbeat").unwrap() + "heartbeat".len();
    for row in out.lines().skip(1) {
        let cell = row[..heartbeat_end].trim_end();
        assert!(cell.ends_with("1s") || cell.ends_with('-'), "a row out of its columns: {row}");
        assert_eq!(cell.len(), heartbeat_end, "a row out of its columns: {row}");
    }
}

#[test]
fn run_output_is_text_for_people_and_json_of_one_shape() {
    let (code, out, err) = samsara(&["run", "--inject", "panic:pm:fork:start", "--policy", "pessimistic"]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains('{') && !out.contains("Shutdown"), "no debug formatting: {out}");
    assert!(out.contains("run end    finished after"), "{out}");
    assert!(out.contains("FAIL (1 check)") && !out.contains(" 1 checks"), "plurals: {out}");
    let (code, out, err) = samsara(&["run", "--inject", "panic:pm:fork:start", "--policy", "none"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("run end    time limit reached after"), "{out}");
    for policy in ["none", "pessimistic"] {
        let (_, out, err) = samsara(&["--json", "run", "--inject", "panic:pm:fork:start", "--policy", policy]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
        assert!(v["end"]["kind"].is_string(), "`end` is an object with its kind: {}", v["end"]);
    }
}

#[test]
fn manifest_json_is_machine_readable() {
    let (code, out, _) = samsara(&["--json", "manifest"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    let services = v["services"].as_array().unwrap();
    assert_eq!(services.len(), testbed::boot::default_manifest().services.len());
    assert!(services.iter().any(|s| s["name"] == "ds"), "ds is a service");
    let vm = services.iter().find(|s| s["name"] == "vm").unwrap();
    assert_eq!(vm["slot"], 3);
    assert!(vm["privileges"]["kernel"].as_array().unwrap().contains(&serde_json::json!("vmctl")));
}

#[test]
fn a_bad_manifest_is_named_with_line_and_column_and_exits_non_zero() {
    let dir = std::env::temp_dir().join(format!("samsara-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("broken.conf");
    std::fs::write(&file, "service pm {\n    slot 2;\n    kernel fork teleport;\n};\nuser { };\n").unwrap();
    let (code, out, err) = samsara(&["--manifest", file.to_str().unwrap(), "manifest"]);
    assert_ne!(code, 0);
    assert!(out.is_empty(), "nothing half-printed: {out}");
    assert!(err.contains("broken.conf:3:17: unknown kernel call `teleport`"), "{err}");
    let (code, _, err) = samsara(&["--manifest", dir.join("missing.conf").to_str().unwrap(), "manifest"]);
    assert_ne!(code, 0);
    assert!(err.contains("missing.conf"), "{err}");
}

#[test]
#[cfg(unix)]
fn a_reader_that_stops_early_ends_the_tool_quietly() {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-early-reader");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let results = dir.join("c.jsonl");
    let results = results.to_str().expect("utf-8 path");
    let (code, _, err) = samsara(&["campaign", "--faults", "1", "--policies", "table", "--out", results]);
    assert_eq!(code, 0, "{err}");
    // `samsara replay f00000-table --results FILE | head -1`: the replay prints the run's whole
    // event log, more than a pipe holds; the reader takes one line and goes.
    let mut child = Command::new(env!("CARGO_BIN_EXE_samsara"))
        .args(["replay", "f00000-table", "--results", results])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run samsara");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("piped")).read_line(&mut first).expect("a line");
    assert!(first.contains("f00000-table"), "{first}");
    // The reader is gone (its end of the pipe dropped with it).
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.is_empty(), "no panic, no message: {stderr}");
    let quiet = out.status.code() == Some(0) || out.status.signal() == Some(13);
    assert!(quiet, "ends with 0 or SIGPIPE (141 in a shell), not {:?}", out.status);
}

#[test]
fn a_campaign_refuses_a_name_given_twice() {
    for (option, list, name) in
        [("--policies", "table,table", "table"), ("--kinds", "panic,hang,panic", "panic"), ("--servers", "pm,pm", "pm")]
    {
        let (code, _, err) = samsara(&["campaign", option, list, "--out", "/dev/null"]);
        assert_eq!(code, 1, "{option} {list}");
        assert!(err.contains(option) && err.contains(&format!("`{name}` is named twice")), "{err}");
    }
}

#[test]
fn a_campaign_of_nothing_is_refused() {
    // No fault, or unixbench of no round, would measure nothing and report it as a result.
    for (args, says) in [
        (&["campaign", "--faults", "0", "--out", "/dev/null"][..], "must be at least 1"),
        (&["campaign", "--workload", "unixbench:0", "--out", "/dev/null"][..], "(at least 1)"),
        (&["run", "--workload", "unixbench:0"][..], "(at least 1)"),
    ] {
        let (code, _, err) = samsara(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

#[test]
fn the_readme_fault_examples_fire() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    for spec in [
        "panic:pm:fork:after-ipc-1",
        "skip-write@vm:vm_exit:os/src/vm/fork.rs:92#2",
        "skip-write@vm:vm_exit:os/src/vm/fork.rs:92#2+",
        "panic:pm:fork:after-ipc-1:1+",
    ] {
        assert!(readme.contains(&format!("`{spec}`")), "the README shows {spec}");
        let (code, out, err) = samsara(&["run", "--inject", spec, "--policy", "table"]);
        assert_eq!(code, 0, "{spec}: {err}");
        let fault = out.lines().find(|l| l.starts_with("fault")).unwrap_or_default();
        assert!(fault.contains("fired") && !fault.contains("never fired"), "{spec}: {fault}");
    }
}

#[test]
fn merge_refuses_a_missing_shard_and_writes_the_summary_and_report_of_a_whole_campaign() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-merge");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let path = |name: &str| dir.join(name).to_str().expect("utf-8 path").to_string();
    for shard in ["0/2", "1/2"] {
        let out = path(&format!("s{}.jsonl", &shard[..1]));
        let (code, _, err) =
            samsara(&["campaign", "--faults", "2", "--policies", "none,table", "--shard", shard, "--out", &out]);
        assert_eq!(code, 0, "{err}");
    }
    let (code, _, err) = samsara(&["merge", &path("m.jsonl"), &path("s0.jsonl")]);
    assert_eq!(code, 1, "a shard missing: {err}");
    assert!(err.contains("shard 1/2 is missing"), "{err}");
    let (code, out, err) = samsara(&["merge", &path("m.jsonl"), &path("s0.jsonl"), &path("s1.jsonl")]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("merged 2 shards: 4 runs"), "{out}");
    let csv = std::fs::read_to_string(dir.join("m.csv")).expect("the summary beside the merged file");
    assert!(csv.lines().any(|l| l.starts_with("all,table,")), "{csv}");
    let html = std::fs::read_to_string(dir.join("m.html")).expect("the report beside the merged file");
    assert!(html.contains("<svg"), "the report has its charts");
}

#[test]
fn replay_refuses_a_record_its_plan_does_not_account_for() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-forged");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let results = dir.join("c.jsonl");
    let results = results.to_str().expect("utf-8 path");
    let (code, _, err) = samsara(&["campaign", "--faults", "1", "--policies", "table", "--out", results]);
    assert_eq!(code, 0, "{err}");
    // A record whose fault was edited: replay would run a fault the campaign never planned.
    let text = std::fs::read_to_string(results).expect("results");
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let mut record: serde_json::Value = serde_json::from_str(&lines[1]).expect("a record");
    record["fault"] = "panic:pm:fork:start".into();
    lines[1] = record.to_string();
    std::fs::write(results, lines.join("\n") + "\n").expect("write");
    let (code, _, err) = samsara(&["replay", "f00000-table", "--results", results]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("c.jsonl:2: run f00000-table holds fault `panic:pm:fork:start`"), "{err}");
}

/// `samsara` with nothing on PATH: no graphviz, no other program to lean on.
fn samsara_without_path(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_samsara"))
        .args(args)
        .env("PATH", "")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run samsara");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn analyze_draws_every_call_graph_as_svg_with_no_graphviz() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-graphs");
    let _ = std::fs::remove_dir_all(&dir);
    let (code, out, err) = samsara_without_path(&["analyze", "--graphs", dir.to_str().expect("utf-8 path")]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("SERVER.CALL.svg"), "{out}");
    let fork = std::fs::read_to_string(dir.join("pm.fork.svg")).expect("pm's fork drawn");
    assert!(fork.starts_with("<svg") && fork.contains(">VM_FORK<"), "the fused request to vm is on the picture");
    let dots = std::fs::read_dir(&dir)
        .expect("the graphs")
        .filter(|e| e.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "dot")))
        .count();
    let svgs = std::fs::read_dir(&dir)
        .expect("the graphs")
        .filter(|e| e.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "svg")))
        .count();
    assert!(dots > 20 && svgs == dots, "a picture for every entry point: {svgs} SVG, {dots} DOT");
}

#[test]
fn the_demo_page_draws_the_analysis_graph_with_no_graphviz() {
    let page = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-demo-graph").join("window.html");
    let (code, _, err) = samsara_without_path(&["demo", "window", "--html", page.to_str().expect("utf-8 path")]);
    assert_eq!(code, 0, "{err}");
    let html = std::fs::read_to_string(&page).expect("the page");
    assert!(html.contains("class=\"graph-box analysis-graph\"><img"), "the analysis's graph is drawn");
    assert!(html.contains("data:image/svg+xml"), "inline, as SVG");
    assert!(!html.contains("install graphviz") && !html.contains("No such file"), "no call to a missing program");
}

/// The built-in manifest with vfs's heartbeat period set to `period`, written under `name`.
fn manifest_with_vfs_heartbeat(name: &str, period: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/etc/system.conf")).expect("manifest");
    let vfs = text.find("service vfs {").expect("vfs");
    let at = vfs + text[vfs..].find("heartbeat 1s;").expect("vfs's heartbeat");
    let text = format!("{}heartbeat {period};{}", &text[..at], &text[at + "heartbeat 1s;".len()..]);
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, text).expect("write");
    path
}

/// The virtual microseconds of `samsara run`'s `run end` line.
fn run_end_us(out: &str) -> u64 {
    let line = out.lines().find(|l| l.starts_with("run end")).unwrap_or_else(|| panic!("{out}"));
    line.split(" after ").nth(1).and_then(|r| r.split(' ').next()).and_then(|n| n.parse().ok()).expect("a time")
}

#[test]
fn every_command_that_boots_uses_the_manifest_and_refuses_a_bad_one() {
    // A hung vfs is found by rs's heartbeats: a longer period finds it later.
    let slow = manifest_with_vfs_heartbeat("slow-vfs.conf", "4s");
    let slow = slow.to_str().expect("utf-8 path");
    let hang = ["run", "--inject", "hang:vfs:write:start", "--policy", "rollback"];
    let (code, built_in, err) = samsara(&hang);
    assert_eq!(code, 0, "{err}");
    let (code, slowed, err) = samsara(&[&["--manifest", slow][..], &hang].concat());
    assert_eq!(code, 0, "{err}");
    assert!(run_end_us(&slowed) > run_end_us(&built_in) + 2_000_000, "the manifest's heartbeat is used");

    // A campaign records its manifest; its runs replay on that system.
    let results = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-manifest").join("c.jsonl");
    let results = results.to_str().expect("utf-8 path");
    let (code, _, err) = samsara(&[
        "--manifest",
        slow,
        "campaign",
        "--faults",
        "3",
        "--kinds",
        "hang",
        "--policies",
        "rollback",
        "--out",
        results,
    ]);
    assert_eq!(code, 0, "{err}");
    let header = std::fs::read_to_string(results).expect("results");
    assert!(header.lines().next().unwrap().contains("heartbeat 4s"), "the header carries the manifest");
    for fault in 0..3 {
        let (code, out, err) = samsara(&["replay", &format!("f0000{fault}-rollback"), "--results", results]);
        assert_eq!(code, 0, "the replay matches the recorded outcome: {out} {err}");
    }
    let (code, out, err) = samsara(&["--manifest", slow, "demo", "hang"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("vfs"), "{out}");

    // Refused, naming the file (and the line where there is one): an empty manifest, a service
    // with no program; bench measures the built-in system only.
    let (code, _, err) = samsara(&["--manifest", "/dev/null", "run"]);
    assert_eq!(code, 1);
    assert!(err.contains("/dev/null"), "{err}");
    let ghost = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("ghost.conf");
    std::fs::write(&ghost, "service rs { slot 1; ipc ALL; kernel ALL; core; };\nservice pm { slot 2; };\nservice vm { slot 3; };\nservice vfs { slot 4; };\nservice ghost { slot 9; };\nuser { ipc pm; };\n").expect("write");
    let ghost = ghost.to_str().expect("utf-8 path");
    for command in [&["run"][..], &["campaign", "--faults", "1"], &["demo", "restart"]] {
        let (code, _, err) = samsara(&[&["--manifest", ghost][..], command].concat());
        assert_eq!(code, 1, "{command:?}");
        assert!(err.contains("ghost.conf:5: service `ghost` has no program"), "{command:?}: {err}");
    }
    // Without its file system (mfs, its disk's driver memdisk, and ds to find it) vfs cannot mount
    // its root: refused before boot rather than left hanging.
    let no_fs = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-fs.conf");
    std::fs::write(&no_fs, "service rs { slot 1; ipc ALL; kernel ALL; core; };\nservice pm { slot 2; };\nservice vm { slot 3; };\nservice vfs { slot 4; };\nuser { ipc pm; };\n").expect("write");
    let (code, _, err) = samsara(&["--manifest", no_fs.to_str().expect("utf-8 path"), "run"]);
    assert_eq!(code, 1);
    assert!(err.contains("no-fs.conf: no service `mfs`"), "{err}");
    // A file system bigger than its disk: refused before boot, naming memdisk's line.
    let conf =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/etc/system.conf")).expect("etc/system.conf");
    let big_fs = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("big-fs.conf");
    std::fs::write(&big_fs, conf.replace("param blocks 4096;", "param blocks 8192;")).expect("write");
    let line = conf.lines().position(|l| l.starts_with("service memdisk")).expect("memdisk's entry") + 1;
    let (code, _, err) = samsara(&["--manifest", big_fs.to_str().expect("utf-8 path"), "manifest"]);
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!("big-fs.conf:{line}: service `memdisk`: its memory (1025 pages) cannot hold")),
        "{err}"
    );
    let (code, _, err) = samsara(&["--manifest", slow, "bench", "--quick"]);
    assert_eq!(code, 1);
    assert!(err.contains("--manifest does not apply"), "{err}");
    // analyze reads the manifest's slots: a manifest the system cannot boot is refused there too.
    let (code, _, err) = samsara(&["--manifest", ghost, "analyze", "--no-graphs"]);
    assert_eq!(code, 1);
    assert!(err.contains("ghost.conf:5: service `ghost` has no program"), "{err}");
}

#[test]
fn a_global_option_a_command_would_ignore_is_refused() {
    for (args, option) in [
        (&["--seed", "7", "replay", "f00000-table"][..], "--seed does not apply to replay"),
        (&["--engine", "threads", "replay", "f00000-table"], "--engine does not apply to replay"),
        (&["--manifest", "etc/system.conf", "replay", "f00000-table"], "--manifest does not apply to replay"),
        (&["--manifest", "etc/system.conf", "merge", "m.jsonl", "s.jsonl"], "--manifest does not apply to merge"),
        (&["--seed", "3", "analyze"], "--seed does not apply to analyze"),
        (&["--engine", "threads", "manifest"], "--engine does not apply to manifest"),
        (&["--seed", "3", "bench", "--quick"], "--seed does not apply to bench"),
    ] {
        let (code, _, err) = samsara(args);
        assert_eq!(code, 1, "{args:?}");
        assert!(err.contains(option), "{args:?}: {err}");
    }
}

#[test]
fn the_readme_says_how_to_get_samsara_and_keeps_measurement_notes_in_docs() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).expect("README");
    assert!(readme.contains("`cargo install --path .`"), "how to put samsara on the PATH");
    assert!(readme.contains("target/release/samsara"), "where the binary is");
    let measured = &readme[readme.find("## Measured").expect("a Measured section")..];
    let measured = &measured[..measured[3..].find("\n## ").map_or(measured.len(), |i| i + 3)];
    assert!(measured.lines().count() < 40, "a table a newcomer can read: {} lines", measured.lines().count());
    assert!(measured.contains("docs/measurements.md"), "the notes are linked");
    let notes = std::fs::read_to_string(format!("{root}/docs/measurements.md")).expect("the notes");
    assert!(notes.contains("wake cell"), "the notes kept their detail");
    let schema = std::fs::read_to_string(format!("{root}/docs/results-file.md")).expect("the results schema");
    assert!(schema.contains("`plan`") && schema.contains("`checker`"), "the results file's fields are documented");
}

#[test]
fn replay_tells_the_run_as_the_demo_does_with_raw_json_and_html_too() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-replay");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let results = dir.join("c.jsonl");
    let results = results.to_str().expect("utf-8 path");
    let (code, _, err) =
        samsara(&["campaign", "--faults", "2", "--kinds", "panic", "--policies", "rollback", "--out", results]);
    assert_eq!(code, 0, "{err}");
    let (code, told, err) = samsara(&["replay", "f00000-rollback", "--results", results]);
    assert_eq!(code, 0, "{err}");
    assert!(told.contains("samsara demo: f00000-rollback"), "a heading: {told}");
    assert!(told.contains("[1/") && told.contains("The system boots"), "numbered steps: {told}");
    assert!(told.contains("rs decides") || told.contains("decision"), "rs's decision told: {told}");
    assert!(told.contains("outcome: "), "the verdict: {told}");
    assert!(!told.lines().any(|l| l.contains(" spawn ")), "the story, not the raw log: {told}");
    let (code, raw, _) = samsara(&["replay", "f00000-rollback", "--results", results, "--raw"]);
    assert_eq!(code, 0);
    assert!(raw.lines().any(|l| l.contains(" spawn ")), "the raw event log: {raw}");
    let (code, json, _) = samsara(&["--json", "replay", "f00000-rollback", "--results", results]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(v["run"], "f00000-rollback");
    assert_eq!(v["same_outcome"], true);
    assert!(v["facts"]["runs"][0]["decisions"].is_array(), "{}", v["facts"]);
    let page = dir.join("page").join("run.html");
    let (code, _, err) =
        samsara(&["replay", "f00000-rollback", "--results", results, "--html", page.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let html = std::fs::read_to_string(&page).expect("the page");
    assert!(html.contains("class=\"sequence-chart\""), "the sequence chart is on the page");
}

#[test]
fn a_site_fault_that_can_never_fire_is_refused_with_the_choices() {
    for (spec, says) in [
        ("skip-write@vm:vm_exit:os/src/vm/fork.rs:95#2", "is not a site `vm_exit` runs (its sites"),
        ("skip-write@vm:nothing:os/src/vm/fork.rs:92#2", "never runs a `nothing` here (its handlers that run: brk"),
        ("skip-write@vm:vm_exit:os/src/vm/fork.rs:92#2000", "fewer than 2000"),
        ("panic@nowhere:fork:os/src/pm/forkexit.rs:1#1", "faults go into"),
    ] {
        // 1: refused by the run; 2: by the argument parser, as every bad option is.
        let (code, _, err) = samsara(&["run", "--inject", spec]);
        assert!(code == 1 || code == 2, "{spec}: {code}");
        assert!(err.contains(says), "{spec}: {err}");
    }
}

#[test]
fn a_request_point_fault_that_can_never_fire_is_refused_with_what_runs() {
    for (spec, says) in [
        ("panic:vm:vm_regions", "`vm` never serves a `vm_regions` here (its calls that run: vm_exec_newmem"),
        ("panic:pm:fork:start:500", "`pm` serves 22 forks without the fault, fewer than 500"),
        ("hang:pm:fork:after-ipc-9:2+", "the 2nd `fork` does not get that far (it begins 2 outgoing IPCs"),
    ] {
        let (code, _, err) = samsara(&["run", "--workload", "unixbench", "--inject", spec]);
        assert_eq!(code, 1, "{spec}: {err}");
        assert!(err.contains(says), "{spec}: {err}");
    }
    // A point the run does reach runs, and fires.
    let (code, out, err) =
        samsara(&["--json", "run", "--workload", "unixbench", "--inject", "panic:pm:fork:after-ipc-1"]);
    assert_eq!(code, 0, "{err}");
    let run: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(run["fault_fired"], true, "{out}");
}

#[test]
fn a_livelock_is_cut_short_by_the_event_limit_not_left_to_spin_to_the_time_limit() {
    // A skipped cursor update: the user's getdents loop never reaches the directory's end.
    let source = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/os/src/vfs/read.rs")).expect("read.rs");
    let line =
        1 + source.lines().position(|l| l.trim() == "ctx.state.live_filp_mut(id).offset = r.pos;").expect("the update");
    let fault = format!("skip-write@vfs:getdents:os/src/vfs/read.rs:{line}#1+");
    let (code, out, err) = samsara(&["--json", "run", "--inject", &fault]);
    assert_eq!(code, 0, "{err}");
    let run: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(run["end"]["kind"], "event-limit", "{out}");
    assert_eq!(run["outcome"], "crash", "{out}");
    let (_, golden, _) = samsara(&["--json", "run"]);
    let golden: serde_json::Value = serde_json::from_str(&golden).expect("JSON");
    let limit = testbed::run::livelock_limit(golden["events"].as_u64().unwrap());
    let events = run["events"].as_u64().unwrap();
    assert!(events > limit && events < limit + 1000, "cut at the limit, {limit}: {events} events");
}

/// The documented top-level fields of `samsara --json COMMAND` (docs/json-outputs.md), with their
/// shapes: the table under the heading `## samsara --json COMMAND...`.
fn documented_fields(command: &str) -> Vec<(String, String)> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/json-outputs.md")).unwrap();
    let heading = format!("## samsara --json {command}");
    let section = doc.split("\n## ").find(|s| format!("## {s}").starts_with(&heading)).expect("a section per command");
    section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .map(|l| {
            let (field, rest) = l.split_once("` | ").expect("a field row");
            (field.to_string(), rest.split(" | ").next().unwrap().to_string())
        })
        .collect()
}

fn shape_of(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "bool",
        serde_json::Value::Number(n) if n.is_f64() => "number",
        serde_json::Value::Number(_) => "integer",
        serde_json::Value::String(_) => "text",
        serde_json::Value::Array(_) => "list",
        serde_json::Value::Object(_) => "object",
    }
}

/// `out`'s top-level fields are exactly the documented ones, each of its documented shape.
fn assert_documented(command: &str, out: &str) {
    let value: serde_json::Value = serde_json::from_str(out).unwrap_or_else(|e| panic!("{command}: {e}\n{out}"));
    let object = value.as_object().unwrap_or_else(|| panic!("{command}: not an object"));
    let documented = documented_fields(command);
    let mut names: Vec<&str> = documented.iter().map(|(f, _)| f.as_str()).collect();
    names.sort_unstable();
    let printed: Vec<&str> = object.keys().map(String::as_str).collect();
    assert_eq!(printed, names, "{command}: the printed fields against docs/json-outputs.md");
    for (field, shape) in &documented {
        let got = shape_of(&object[field]);
        // `number` admits a whole number; `null or X` admits either.
        let fits = shape == got
            || (shape == "number" && got == "integer")
            || shape.strip_prefix("null or ").is_some_and(|s| got == "null" || got == s);
        assert!(fits, "{command}: `{field}` is {got}, documented as {shape}");
    }
}

#[test]
fn every_json_output_has_the_documented_fields() {
    let dir = std::env::temp_dir().join(format!("samsara-json-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let results = dir.join("c.jsonl");
    let results = results.to_str().unwrap();
    let graphs = dir.join("graphs");
    let checks: Vec<(&str, Vec<&str>)> = vec![
        ("run", vec!["--json", "run", "--inject", "panic:pm:fork:start", "--policy", "table"]),
        ("campaign", vec!["--json", "campaign", "--faults", "2", "--policies", "table,srs", "--out", results]),
        ("replay", vec!["--json", "replay", "f00000-table", "--results", results]),
        ("demo", vec!["--json", "demo", "restart"]),
        ("manifest", vec!["--json", "manifest"]),
        ("analyze", vec!["--json", "analyze", "--graphs", graphs.to_str().unwrap()]),
    ];
    for (command, args) in checks {
        let (code, out, err) = samsara(&args);
        assert_eq!(code, 0, "{command}: {err}");
        assert_documented(command, &out);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_machine_too_small_for_a_real_program_says_which_limit_and_where_it_is_set() {
    let log = concat!(env!("CARGO_MANIFEST_DIR"), "/userland/fixtures/strace/corpus/find_xargs.log");
    let workload = format!("strace:{log}");
    // 16 MiB, the old default: xargs's fork of cat finds no memory for the copy.
    let (code, out, err) = samsara(&["run", "--workload", &workload, "--frames", "4096"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("outcome    workload-failed"), "{out}");
    assert!(out.contains("replayed ENOMEM (the machine's memory ran out") && out.contains("--frames N"), "{out}");
    let (code, out, err) = samsara(&["run", "--workload", &workload]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("outcome    pass"), "the default machine holds it: {out}");
    let (code, _, err) = samsara(&["run", "--frames", "10"]);
    assert_ne!(code, 0);
    assert!(err.contains("10 frames: a machine has 256 to 1048576 frames of 4 KiB"), "{err}");
}

#[test]
fn a_strace_campaign_replays_from_any_folder() {
    let dir = std::env::temp_dir().join(format!("samsara-cli-strace-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("elsewhere")).unwrap();
    let log = concat!(env!("CARGO_MANIFEST_DIR"), "/userland/fixtures/strace/cp.log");
    std::fs::copy(log, dir.join("cp.log")).unwrap();
    let in_dir = |sub: &str, args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_samsara")).args(args).current_dir(dir.join(sub)).output().unwrap();
        (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    // The log named relative to the campaign's folder...
    let (code, err) = in_dir(
        "",
        &["campaign", "--workload", "strace:cp.log", "--faults", "2", "--policies", "table", "--out", "r.jsonl"],
    );
    assert_eq!(code, 0, "{err}");
    // ...is found by a replay from another.
    let (code, err) = in_dir("elsewhere", &["replay", "f00000-table", "--results", "../r.jsonl"]);
    assert_eq!(code, 0, "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_campaign_that_plans_fewer_faults_than_asked_says_so() {
    let out = std::env::temp_dir().join(format!("samsara-cli-few-{}.jsonl", std::process::id()));
    let args = ["campaign", "--servers", "sched", "--kinds", "panic", "--persistence", "transient", "--faults", "1000"];
    let (code, stdout, err) = samsara(&[&args[..], &["--policies", "table", "--out", out.to_str().unwrap()]].concat());
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("the plan has them all, not the 1000 asked"), "{err}");
    let planned: usize = err.split("offers only ").nth(1).and_then(|t| t.split(' ').next()).unwrap().parse().unwrap();
    assert!(stdout.contains(&format!("{planned} faults x 1 policy")), "{stdout}");
    for ext in ["jsonl", "csv", "html"] {
        let _ = std::fs::remove_file(out.with_extension(ext));
    }
}

#[test]
fn a_manifests_ipc_targets_have_one_json_shape() {
    let (code, out, err) = samsara(&["--json", "manifest"]);
    assert_eq!(code, 0, "{err}");
    let manifest: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let mut kinds = std::collections::BTreeSet::new();
    for privileges in
        manifest["services"].as_array().unwrap().iter().map(|s| &s["privileges"]).chain([&manifest["user"]])
    {
        let ipc = &privileges["ipc"];
        let kind = ipc["kind"].as_str().unwrap_or_else(|| panic!("ipc is an object with a kind: {ipc}"));
        assert!(kind == "all" || ipc["names"].is_array(), "{ipc}");
        kinds.insert(kind.to_string());
    }
    assert_eq!(kinds.into_iter().collect::<Vec<_>>(), ["all", "only"], "the built-in manifest has both");
}

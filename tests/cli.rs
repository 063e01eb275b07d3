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
fn manifest_prints_every_service() {
    let (code, out, _) = samsara(&["manifest"]);
    assert_eq!(code, 0);
    for service in ["rs", "pm", "vm", "vfs", "(user)"] {
        assert!(out.lines().any(|l| l.starts_with(service)), "no row for {service}:\n{out}");
    }
    let pm = out.lines().find(|l| l.starts_with("pm ")).unwrap();
    assert!(pm.contains("core,stateful") && pm.contains("1s"), "{pm}");
}

#[test]
fn manifest_json_is_machine_readable() {
    let (code, out, _) = samsara(&["--json", "manifest"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    let services = v["services"].as_array().unwrap();
    assert_eq!(services.len(), 5, "rs, pm, vm, vfs, mfs");
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
    assert!(first.starts_with("run f00000-table"), "{first}");
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
fn the_readme_fault_examples_fire() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    for spec in [
        "panic:pm:fork:after-ipc-1",
        "skip-write@vm:vm_exit:servers/src/vm/fork.rs:92#2",
        "skip-write@vm:vm_exit:servers/src/vm/fork.rs:92#2+",
        "panic:pm:fork:after-ipc-1:1+",
    ] {
        assert!(readme.contains(&format!("`{spec}`")), "the README shows {spec}");
        let (code, out, err) = samsara(&["run", "--inject", spec, "--policy", "table"]);
        assert_eq!(code, 0, "{spec}: {err}");
        let fault = out.lines().find(|l| l.starts_with("fault")).unwrap_or_default();
        assert!(fault.contains("fired") && !fault.contains("never fired"), "{spec}: {fault}");
    }
}

//! Every scenario runs under `sim`, and its story matches its event log: who crashed (or hung),
//! the decision, the checker's verdict; every line of the story tells a real event of the log;
//! the sequence chart has one lifeline per process and one arrow per message of the log.

use demo::incident::Death;
use demo::log::{Entry, Kind};
use demo::scenario::{DEMO_SEED, Scenario};
use demo::story::Phase;
use demo::{Demo, DemoRun};
use kernel_sim::Endpoint;
use recovery::{Decision, PolicyKind, RecoveryClass};
use std::collections::{BTreeMap, BTreeSet};
use testbed::boot::default_table;
use testbed::run::Outcome;

fn run(s: Scenario) -> Demo {
    demo::run(s, DEMO_SEED, default_table()).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn only(d: &Demo) -> &DemoRun {
    assert_eq!(d.runs.len(), 1, "{}", d.heading.name);
    &d.runs[0]
}

fn entry(r: &DemoRun, seq: u64) -> &Entry {
    r.entries.iter().find(|e| e.seq == seq).unwrap_or_else(|| panic!("no event #{seq}"))
}

/// The story's text, one string.
fn story_text(r: &DemoRun) -> String {
    r.story
        .steps
        .iter()
        .flat_map(|s| std::iter::once(s.title.clone()).chain(s.lines.iter().map(|l| l.text.clone())))
        .collect::<Vec<_>>()
        .join("\n")
}

fn step_titles(r: &DemoRun, phase: Phase) -> Vec<String> {
    r.story.steps.iter().filter(|s| s.phase == phase).map(|s| s.title.clone()).collect()
}

/// What holds for every run of every scenario: the log reads back losslessly, the fault fired,
/// the story's crash, decision and verdict agree with the log and the result, and every line
/// that names an event tells that event.
fn check_common(r: &DemoRun) {
    let what = format!("{} {}", r.policy, r.fault);
    let log = r.result.event_log.as_deref().expect("recorded");
    assert!(r.result.fault_fired, "{what}: the fault never fired");
    assert!(!r.entries.iter().any(|e| matches!(e.kind, Kind::Unparsed(_))), "{what}: unreadable log lines");
    let back: String = r.entries.iter().map(|e| format!("{e}\n")).collect();
    assert_eq!(back, log, "{what}: the parsed log renders back to the original");

    let inc = r.incident().unwrap_or_else(|| panic!("{what}: rs decided nothing"));
    // Who died: the log's death event is the decision record's server.
    let death = inc.death.as_ref().unwrap_or_else(|| panic!("{what}: no death event"));
    let dead = match &entry(r, death.seq()).kind {
        Kind::Crash { ep, .. } | Kind::Killed { ep, .. } | Kind::Exit { ep } => *ep,
        other => panic!("{what}: death event is {other:?}"),
    };
    assert_eq!(r.cast.name(dead), inc.record.server, "{what}");
    // The decision: rs's note in the log is the record, and the story's decision step says it.
    let decided = inc.decided.unwrap_or_else(|| panic!("{what}: rs's decision note is not in the log"));
    assert!(
        matches!(&entry(r, decided).kind, Kind::Note { by, text } if *by == os::proto::RS && *text == inc.record.to_string())
    );
    // Every decision has its step and its reason in the story (a persistent fault's retry
    // makes two).
    let decisions: Vec<String> =
        r.incidents.iter().map(|i| format!("rs decides: {}", i.record.decision.label())).collect();
    assert_eq!(step_titles(r, Phase::Decision), decisions, "{what}");
    let text = story_text(r);
    for i in &r.incidents {
        assert!(text.contains(i.record.decision.reason()), "{what}: the reason is told");
    }
    // The verdict: outcome and every finding.
    let verdict = r.story.steps.last().expect("steps");
    assert_eq!(verdict.phase, Phase::Verdict);
    assert_eq!(verdict.title, format!("Verdict: {}", r.result.outcome));
    for v in &r.result.violations {
        assert!(
            verdict.lines.iter().any(|l| l.text.contains(&v.invariant) && l.text.contains(&v.detail)),
            "{what}: {v:?}"
        );
    }
    if r.result.violations.is_empty() {
        assert!(verdict.lines.iter().any(|l| l.text.starts_with("consistency checker: consistent")), "{what}");
    }
    // Every line with an event number tells that event: its processes are named in it.
    let seqs: BTreeSet<u64> = r.entries.iter().map(|e| e.seq).collect();
    for step in &r.story.steps {
        for l in &step.lines {
            let Some(seq) = l.seq else { continue };
            assert!(seqs.contains(&seq), "{what}: line tells #{seq}, not in the log");
            let e = entry(r, seq);
            assert_eq!(l.time, Some(e.time), "{what}: #{seq}");
            if let Kind::Send { from, to, .. } = e.kind {
                let arrow = format!("{} → {}", r.cast.name(from), r.cast.name(to));
                assert!(l.text.contains(&arrow), "{what}: #{seq} `{}` should tell {arrow}", l.text);
            }
        }
    }
    // Lines follow the log's order.
    let order: Vec<u64> = r.story.steps.iter().flat_map(|s| s.lines.iter().filter_map(|l| l.seq)).collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{what}: lines out of the log's order: {order:?}");
}

#[test]
fn restart_loses_the_open_files_of_running_processes() {
    let d = run(Scenario::Restart);
    let r = only(&d);
    check_common(r);
    let inc = r.incident().expect("a decision");
    assert_eq!((inc.server.as_str(), inc.record.decision.label()), ("vfs", "restart"));
    assert!(matches!(inc.death, Some(Death::Crash { .. })));
    assert_eq!(inc.requester.map(|e| r.cast.name(e)).as_deref(), Some("init"));
    assert_eq!(r.result.outcome, Outcome::Inconsistent);
    // The child that held /notes.txt and waited on the pipe has no vfs process entry any more.
    let child = r.cast.actors.iter().find(|a| a.name.starts_with("child")).expect("a child");
    assert!(
        r.result
            .violations
            .iter()
            .any(|v| v.invariant == "vfs.process-entry" && v.detail.contains(&child.ep.to_string())),
        "{:#?}",
        r.result.violations
    );
    let text = story_text(r);
    assert!(text.contains("write(fd 1, the pipe) -> ERECOVERED"), "{text}");
    assert!(text.contains("again -> EBADF"), "init's descriptors are gone too: {text}");
    assert!(text.contains("with fresh boot state"), "{text}");
}

#[test]
fn rollback_answers_the_caller_with_an_error_and_goes_on() {
    let d = run(Scenario::Rollback);
    let r = only(&d);
    check_common(r);
    let inc = r.incident().expect("a decision");
    assert_eq!((inc.server.as_str(), inc.record.decision.label()), ("pm", "rollback"));
    assert_eq!(inc.record.call.as_ref().map(|(c, _)| c.as_str()), Some("getpid"));
    assert!(inc.checkpoint.is_some() && inc.window.is_empty(), "crashed at the start: nothing left pm");
    let reply = inc.error_reply.expect("the caller got an answer");
    assert!(matches!(entry(r, reply).kind, Kind::Send { to, m_type: -320, .. } if to == os::proto::INIT));
    assert_eq!(r.result.outcome, Outcome::Recovered);
    assert!(r.result.violations.is_empty());
    let text = story_text(r);
    assert!(text.contains("getpid() -> ERECOVERED") && text.contains("getpid() again -> 1"), "{text}");
    assert_eq!(step_titles(r, Phase::Afterwards), ["The system goes on"]);
}

#[test]
fn window_blind_rollback_leaks_pessimistic_fail_stops_and_the_table_replays() {
    let d = run(Scenario::Window);
    assert_eq!(d.runs.len(), 3);
    for r in &d.runs {
        check_common(r);
        let inc = r.incident().expect("a decision");
        assert_eq!(inc.server, "pm");
        assert_eq!(inc.window.len(), 1, "vm_fork had left pm");
        let sent = entry(r, inc.window[0]);
        assert!(matches!(sent.kind, Kind::Send { to, .. } if to == os::proto::VM), "{sent:?}");
    }
    let (rollback, pessimistic, table) = (&d.runs[0], &d.runs[1], &d.runs[2]);
    assert_eq!(rollback.policy, PolicyKind::Rollback);
    assert_eq!(rollback.incident().map(|i| i.record.decision.label()), Some("rollback"));
    assert_eq!(rollback.result.outcome, Outcome::Inconsistent);
    assert!(
        rollback.result.violations.iter().any(|v| v.invariant == "vm.address-space"),
        "vm still holds the orphaned child's memory: {:#?}",
        rollback.result.violations
    );
    assert_eq!(pessimistic.policy, PolicyKind::Pessimistic);
    let inc = pessimistic.incident().expect("a decision");
    assert_eq!(inc.record.decision.label(), "fail-stop");
    assert_eq!(pessimistic.result.outcome, Outcome::FailStop);
    assert!(inc.halted.is_some(), "the halt is in the log");
    assert_eq!(step_titles(pessimistic, Phase::FailStop), ["rs halts the system (fail-stop)"]);
    assert_eq!(table.policy, PolicyKind::Table);
    let inc = table.incident().expect("a decision");
    assert_eq!(inc.record.decision.label(), "rollback+replay");
    assert_eq!(table.result.outcome, Outcome::Recovered);
    assert!(table.result.violations.is_empty(), "{:#?}", table.result.violations);
    let reason = inc.record.decision.reason();
    assert!(reason.contains("table row pm/fork") && reason.contains("nothing sent twice"), "{reason}");
    let text = story_text(table);
    assert!(text.contains("fork() -> 2"), "init's fork went through: {text}");
    // vm made the child once: the one vm_fork in the run is the crashed attempt's.
    let vm_forks = table
        .entries
        .iter()
        .filter(|e| matches!(e.kind, Kind::Send { m_type, .. } if m_type == os::proto::vm::VM_FORK))
        .count();
    assert_eq!(vm_forks, 1);
}

#[test]
fn reprocess_handles_a_servers_notice_again() {
    let d = run(Scenario::Reprocess);
    let r = only(&d);
    check_common(r);
    let inc = r.incident().expect("a decision");
    assert_eq!((inc.server.as_str(), inc.record.call.as_ref().map(|c| c.0.as_str())), ("vfs", Some("pm_vfs_fork")));
    assert_eq!(inc.record.decision.label(), "rollback+replay");
    assert_eq!(r.result.outcome, Outcome::Recovered);
    assert!(r.result.violations.is_empty(), "{:#?}", r.result.violations);
    let text = story_text(r);
    assert!(text.contains("handle the request again"), "{text}");
    assert!(text.contains("fork() -> 2"), "the fork waiting for vfs went through: {text}");
    assert!(!text.contains("ERECOVERED"), "nobody was answered an error: {text}");
}

#[test]
fn process_local_ends_the_caller_and_everyone_else_goes_on() {
    let d = run(Scenario::ProcessLocal);
    let r = only(&d);
    check_common(r);
    // The persistent bug crashes setuid again when it is handled again: the second decision
    // gives the request up and quarantines setuid.
    let labels: Vec<&str> = r.incidents.iter().map(|i| i.record.decision.label()).collect();
    assert_eq!(labels, ["rollback+replay", "rollback+kill+quarantine"]);
    let inc = &r.incidents[1];
    assert_eq!(inc.server, "pm");
    let row = default_table().lookup("pm", inc.record.call.as_ref().expect("a call").1).cloned();
    let row = row.expect("the table has pm/setuid");
    assert_eq!(row.class, RecoveryClass::P, "setuid is a class-P entry point in etc/recovery-table.json");
    let requester = inc.requester.expect("a requester");
    assert!(r.cast.name(requester).starts_with("child"), "the child asked");
    let ended = inc.requester_ended.expect("rs ended the requester");
    assert!(matches!(entry(r, ended).kind, Kind::Killed { ep, by } if ep == requester && by == os::proto::RS));
    assert_eq!(r.result.outcome, Outcome::Recovered);
    assert!(r.result.violations.is_empty());
    let text = story_text(r);
    assert!(text.contains("killed by signal 9"), "init saw its child killed: {text}");
    assert!(text.contains("refuse this call from now on"), "setuid is quarantined: {text}");
    assert!(text.contains("getpid() -> 1"), "init goes on: {text}");
}

#[test]
fn compensation_undoes_what_fork_sent_and_leaves_the_system_clean() {
    let d = run(Scenario::Compensation);
    let r = only(&d);
    check_common(r);
    let labels: Vec<&str> = r.incidents.iter().map(|i| i.record.decision.label()).collect();
    assert_eq!(labels, ["rollback+replay", "rollback+compensate+quarantine"]);
    let Decision::Recover { compensate, .. } = &r.incidents[1].record.decision else { panic!("a recovery") };
    assert_eq!(compensate, &["vm_fork".to_string()], "vm_fork is undone by its declared inverse");
    let text = story_text(r);
    assert!(text.contains("fork() -> ERECOVERED"), "init's fork fails cleanly: {text}");
    assert!(text.contains("undo what the request sent (vm_fork)"), "{text}");
    // The child vm made is ended by the new pm, and its exit path frees vm's and vfs's parts.
    assert!(
        r.entries.iter().any(|e| matches!(e.kind, Kind::Killed { by, .. } if by == os::proto::PM)),
        "pm ends the orphaned child"
    );
    assert_eq!(r.result.outcome, Outcome::Recovered);
    assert!(r.result.violations.is_empty(), "the checker finds the system clean: {:#?}", r.result.violations);
}

#[test]
fn quarantine_refuses_a_persistently_crashing_call_and_everything_else_goes_on() {
    let d = run(Scenario::Quarantine);
    let r = only(&d);
    check_common(r);
    // The persistent bug crashes getpid again when it is handled again: rs drops it and
    // quarantines getpid; pm never crashes again.
    let labels: Vec<&str> = r.incidents.iter().map(|i| i.record.decision.label()).collect();
    assert_eq!(labels, ["rollback+replay", "rollback+quarantine"]);
    assert_eq!(r.result.fault_firings, 2, "the refused calls never reach the faulty code");
    let counters = &r.result.workload.counters;
    assert_eq!(counters.get("getpid-ERECOVERED"), Some(&1), "{counters:?}");
    assert_eq!(counters.get("getpid-EQUARANTINED"), Some(&2), "{counters:?}");
    assert_eq!(r.result.outcome, Outcome::Recovered);
    assert!(r.result.violations.is_empty(), "{:#?}", r.result.violations);
    let text = story_text(r);
    assert!(text.contains("refuse this call from now on"), "the decision says it: {text}");
    assert!(text.contains("refuses getpid from 16.0"), "pm's refusal is in the story: {text}");
    assert!(text.contains("getpid() call 3 -> EQUARANTINED"), "{text}");
    assert!(text.contains("waitpid(2) -> pid 2, exit code 0"), "fork and wait go on: {text}");
}

#[test]
fn srs_restores_on_demand_what_a_dropped_request_dirtied() {
    let d = run(Scenario::Srs);
    let r = only(&d);
    check_common(r);
    // The persistent bug crashes the lseek again when it is handled again: SRS drops it (vfs's
    // own state only: a write, whose bytes are in mfs by then, could not be dropped).
    let labels: Vec<&str> = r.incidents.iter().map(|i| i.record.decision.label()).collect();
    assert_eq!(labels, ["suppress+replay", "suppress+quarantine"]);
    assert_eq!(r.incidents[1].server, "vfs");
    assert_eq!(r.result.outcome, Outcome::Recovered);
    let vfs = r.srs_fields.get("vfs").expect("per-field detail of vfs");
    assert!(vfs.iter().any(|f| f.counters.restored_on_read > 0), "{vfs:?}");
    assert!(r.result.workload.counters.keys().any(|k| k.starts_with("second-write-")), "the next write ran");
    // The per-field detail adds up to the run's own totals.
    let total = r.result.srs.get("vfs").expect("totals");
    assert_eq!(vfs.iter().map(|f| f.counters.restored_on_read).sum::<u64>(), total.restored_on_read);
    assert_eq!(vfs.iter().map(|f| f.counters.self_cleansed).sum::<u64>(), total.self_cleansed);
    let verdict = r.story.steps.last().expect("steps");
    for f in vfs {
        assert!(verdict.lines.iter().any(|l| l.text.contains(&f.field)), "{}", f.field);
    }
}

#[test]
fn hang_is_found_by_heartbeats_and_recovered() {
    let d = run(Scenario::Hang);
    let r = only(&d);
    check_common(r);
    let inc = r.incident().expect("a decision");
    assert_eq!((inc.server.as_str(), inc.record.cause.as_str()), ("vfs", "hang"));
    let Some(Death::Hang { silent_from, noticed, seq }) = inc.death else { panic!("{:?}", inc.death) };
    assert!(silent_from.is_some() && noticed < seq);
    assert!(matches!(entry(r, seq).kind, Kind::Killed { by, .. } if by == os::proto::RS));
    assert_eq!(inc.record.decision.label(), "rollback+replay");
    assert_eq!(r.result.outcome, Outcome::Recovered);
    assert_eq!(step_titles(r, Phase::Detection)[0], "rs's heartbeats find vfs hung");
    let text = story_text(r);
    assert!(text.contains("rs → vfs: heartbeat ping"), "{text}");
}

#[test]
fn a_driver_restart_is_found_again_through_ds_and_the_writer_never_knows() {
    let d = run(Scenario::Driver);
    let r = only(&d);
    check_common(r);
    let inc = r.incident().expect("a decision");
    assert_eq!((inc.server.as_str(), inc.record.decision.label()), ("memdisk", "rollback+resend"));
    // The driver is back under its slot's next generation, and the events after its death tell
    // MINIX's driver recovery in order: rs publishes the new endpoint, ds notifies mfs, mfs
    // retrieves it and re-opens the disk, then writes the block again.
    let back = r
        .entries
        .iter()
        .find_map(|e| match &e.kind {
            Kind::Spawn { ep, name } if &**name == "memdisk" && ep.generation() == 1 => Some(e.seq),
            _ => None,
        })
        .expect("memdisk's second incarnation");
    let sent = |from: &str, to: &str, what: i32| {
        r.entries
            .iter()
            .filter(|e| e.seq > back)
            .find(|e| {
                matches!(e.kind, Kind::Send { from: f, to: t, m_type, .. }
                    if r.cast.name(f) == from && r.cast.name(t) == to && m_type == what)
            })
            .map(|e| e.seq)
            .unwrap_or_else(|| panic!("no {from} → {to} type {what:#x} after #{back}"))
    };
    use os::proto::{bdev, ds};
    let publish = sent("rs", "ds", ds::DS_PUBLISH);
    let notify = sent("ds", "mfs", kernel_sim::msgtype::NOTIFY_MESSAGE);
    let retrieve = sent("mfs", "ds", ds::DS_RETRIEVE);
    let reopen = sent("mfs", "memdisk", bdev::BDEV_OPEN);
    let rewrite = sent("mfs", "memdisk", bdev::BDEV_WRITE);
    assert!(
        publish < notify && notify < retrieve && retrieve < reopen && reopen < rewrite,
        "{publish} {notify} {retrieve} {reopen} {rewrite}"
    );
    // Nobody answers the crashed request again: its requester sent it again.
    let text = story_text(r);
    assert!(!text.contains("denied by the manifest"), "{text}");
    assert!(text.contains("write(2048 bytes) -> 2048"), "the writer never knows: {text}");
    assert!(text.contains("-> 2048 bytes, as written"), "the file reads back intact: {text}");
    assert_eq!(r.result.outcome, Outcome::Recovered);
    assert!(r.result.violations.is_empty(), "{:#?}", r.result.violations);
}

/// A minimal XML reader for the tests: every element's name and attributes, checking that tags
/// balance (the SVG is well formed).
fn elements(xml: &str) -> Vec<(String, BTreeMap<String, String>)> {
    let mut out = Vec::new();
    let mut stack: Vec<String> = Vec::new();
    let mut rest = xml;
    while let Some(open) = rest.find('<') {
        rest = &rest[open + 1..];
        let close = rest.find('>').expect("an unclosed tag");
        let tag = &rest[..close];
        rest = &rest[close + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name.trim()), "tags balance");
            continue;
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let (name, mut attrs_text) = tag.split_once(char::is_whitespace).unwrap_or((tag, ""));
        let mut attrs = BTreeMap::new();
        while let Some(eq) = attrs_text.find("=\"") {
            let key = attrs_text[..eq].trim().to_string();
            let after = &attrs_text[eq + 2..];
            let end = after.find('"').expect("a closed attribute");
            attrs.insert(key, after[..end].to_string());
            attrs_text = &after[end + 1..];
        }
        out.push((name.to_string(), attrs));
        if !self_closing {
            stack.push(name.to_string());
        }
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    out
}

fn has_class(attrs: &BTreeMap<String, String>, class: &str) -> bool {
    attrs.get("class").is_some_and(|c| c.split(' ').any(|t| t == class))
}

#[test]
fn charts_have_one_lifeline_per_process_and_one_arrow_per_message() {
    for s in Scenario::ALL {
        let d = run(s);
        for (i, r) in d.runs.iter().enumerate() {
            let (svg, counts) = demo::chart::render(&r.entries, &r.cast, &r.incidents, &format!("t{i}"));
            let els = elements(&svg);
            // A server keeps its lifeline across incarnations, a new endpoint's too (its first
            // endpoint names it).
            let mut processes: BTreeSet<Endpoint> = BTreeSet::new();
            for e in &r.entries {
                if let Kind::Spawn { ep, .. } = e.kind
                    && !(demo::cast::Cast::is_server(ep) && processes.iter().any(|p| p.slot() == ep.slot()))
                {
                    processes.insert(ep);
                }
            }
            let sends: BTreeSet<String> =
                r.entries.iter().filter(|e| matches!(e.kind, Kind::Send { .. })).map(|e| e.seq.to_string()).collect();
            let lifelines: BTreeSet<String> = els
                .iter()
                .filter(|(n, a)| n == "g" && has_class(a, "lifeline"))
                .filter_map(|(_, a)| a.get("data-ep").cloned())
                .collect();
            let arrows: Vec<String> = els
                .iter()
                .filter(|(n, a)| n == "g" && has_class(a, "message"))
                .filter_map(|(_, a)| a.get("data-seq").cloned())
                .collect();
            assert_eq!(lifelines, processes.iter().map(|e| e.to_string()).collect(), "{s}: lifelines");
            assert_eq!(arrows.len(), sends.len(), "{s}: one arrow per message");
            assert_eq!(arrows.iter().cloned().collect::<BTreeSet<_>>(), sends, "{s}: the arrows are the messages");
            let root = &els[0].1;
            assert_eq!(root.get("data-lifelines"), Some(&processes.len().to_string()));
            assert_eq!(root.get("data-messages"), Some(&sends.len().to_string()));
            assert_eq!(counts, demo::chart::ChartCounts { lifelines: processes.len(), messages: sends.len() });
            let crash_marks = els.iter().filter(|(n, a)| n == "g" && has_class(a, "crash")).count();
            let crashes = r.entries.iter().filter(|e| matches!(e.kind, Kind::Crash { .. })).count();
            assert_eq!(crash_marks, crashes, "{s}: one crash mark per crash");
            let decisions = els.iter().filter(|(n, a)| n == "g" && has_class(a, "decision")).count();
            assert_eq!(decisions, r.incidents.len(), "{s}: one decision mark per decision");
        }
    }
}

#[test]
fn the_page_is_one_offline_file() {
    let demos: Vec<Demo> = [Scenario::Window, Scenario::Srs].into_iter().map(run).collect();
    let table = default_table();
    let page = demo::html::render(&demos, &table, &|_, _| None);
    assert!(page.starts_with("<!DOCTYPE html>"));
    let charts = page.matches("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"sequence-chart\"").count();
    let runs: usize = demos.iter().map(|d| d.runs.len()).sum();
    assert_eq!((runs, charts), (4, 4), "one chart per run");
    // Nothing is fetched: the only URLs are XML namespaces.
    for (i, _) in page.match_indices("http") {
        assert!(page[i..].starts_with("http://www.w3.org/2000/svg"), "external reference at {}", &page[i..i + 60]);
    }
    assert!(page.contains("data-ok"), "the self-check script is there");
    assert!(page.contains("Call graph of the crashed entry point: pm / fork"));
    assert!(page.contains("class=\"call-graph\""), "the table's graph of pm/fork");
}

#[test]
fn a_scenario_replays_byte_for_byte() {
    let a = run(Scenario::ProcessLocal);
    let b = run(Scenario::ProcessLocal);
    assert_eq!(only(&a).result.event_log, only(&b).result.event_log);
    assert_eq!(demo::text::render(&a, false), demo::text::render(&b, false));
}

#[test]
fn the_lessons_hold_on_other_schedules_too() {
    /// Seeds besides the demo's own, each a different schedule.
    const OTHER_SEEDS: [u64; 3] = [2, 3, 4];
    for seed in OTHER_SEEDS {
        let d = demo::run(Scenario::Window, seed, default_table()).expect("runs");
        assert_eq!(d.runs[0].result.outcome, Outcome::Inconsistent, "seed {seed}: blind rollback leaks");
        assert_eq!(d.runs[1].result.outcome, Outcome::FailStop, "seed {seed}: pessimistic fail-stops");
        assert_eq!(d.runs[2].result.outcome, Outcome::Recovered, "seed {seed}: the table handles fork again");
        let d = demo::run(Scenario::Restart, seed, default_table()).expect("runs");
        assert!(d.runs[0].result.violations.iter().any(|v| v.invariant == "vfs.process-entry"), "seed {seed}");
        for s in [
            Scenario::Rollback,
            Scenario::Reprocess,
            Scenario::ProcessLocal,
            Scenario::Compensation,
            Scenario::Quarantine,
            Scenario::Srs,
            Scenario::Hang,
        ] {
            let d = demo::run(s, seed, default_table()).expect("runs");
            assert_eq!(d.runs[0].result.outcome, Outcome::Recovered, "seed {seed} {s}");
        }
    }
}

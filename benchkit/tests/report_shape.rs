//! The shape of a `samsara bench` report, from the tiny `smoke` plan: every figure the issue names
//! is present with its baseline and ratio (none may be missing on a healthy system), the JSON
//! carries all of it, the table and the chart render. No timing is checked: the numbers of a
//! smoke run mean nothing.

use benchkit::plan::{Mode, Plan};
use benchkit::report::{Report, Unit};
use benchkit::syscalls::Op;
use benchkit::{SectionId, chart};
use os::pm::state::NR_PROCS;
use serde_json::Value;

fn smoke_report() -> Report {
    let mut heard = Vec::new();
    let report = benchkit::run(&Plan::smoke(), &[], &mut |what| heard.push(what.to_string()));
    assert!(heard.len() >= 5, "progress names every stage: {heard:?}");
    report
}

/// Every figure id a full report must have, given the plan and the machine.
fn expected_ids(plan: &Plan, cores: usize) -> Vec<String> {
    let mut ids: Vec<String> = ["ipc.sendrec.sim", "ipc.sendrec.threads", "ipc.crossbeam"].map(String::from).to_vec();
    for engine in ["sim", "threads"] {
        for op in Op::ALL {
            ids.push(format!("syscalls.{engine}.{}", op.id()));
        }
    }
    ids.push("recovery.rollback".into());
    ids.push("recovery.suppress".into());
    for engine in ["sim", "threads"] {
        for policy in ["restart", "rollback", "srs", "fail-stop"] {
            ids.push(format!("recovery.e2e.{engine}.{policy}"));
        }
    }
    for n in &plan.state_sizes {
        ids.push(format!("scaling.checkpoint.{n}"));
    }
    ids.push("scaling.checkpoint.flatness".into());
    for engine in ["sim", "threads"] {
        for &live in &plan.live_processes {
            for op in ["getpid", "fork"] {
                ids.push(format!("scaling.live.{engine}.{op}.{live}"));
            }
        }
    }
    for threads in 1..=cores {
        ids.push(format!("scaling.campaign.{threads}"));
    }
    ids.push("campaign.throughput".into());
    ids
}

#[test]
fn every_plan_measures_live_processes_up_to_10_000_within_pms_table() {
    for plan in [Plan::quick(), Plan::full(), Plan::smoke()] {
        let most = plan.live_processes.iter().copied().max().unwrap();
        // The measured fork needs an entry of its own beside the live processes.
        assert!(most < NR_PROCS, "{:?}: {most} live processes leave no entry for the fork", plan.mode);
        if plan.mode != Mode::Smoke {
            assert_eq!(most, 10_000, "{:?} mode measures the whole curve", plan.mode);
        }
    }
}

#[test]
fn a_smoke_run_reports_every_figure_with_its_baseline_ratio_and_target() {
    let plan = Plan::smoke();
    let report = smoke_report();
    assert_eq!(report.mode, Mode::Smoke);
    let sections: Vec<&str> = report.sections.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(sections, SectionId::ALL.map(|s| s.name()));
    for s in &report.sections {
        assert!(s.missing.is_empty(), "section {} could not measure: {:?}", s.id, s.missing);
    }

    // Every figure the issue names, each with a baseline and the ratio of the two.
    let ids: Vec<&str> = report.figures().map(|f| f.id.as_str()).collect();
    for id in expected_ids(&plan, report.machine.cores) {
        assert!(ids.contains(&id.as_str()), "missing figure {id}; have {ids:?}");
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "figure ids are unique");
    for f in report.figures() {
        assert!(!f.name.is_empty() && !f.baseline.name.is_empty(), "{} has a name and a baseline name", f.id);
        assert!(f.value.is_finite() && f.baseline.value.is_finite(), "{}: finite value and baseline", f.id);
        assert!(f.baseline.value > 0.0, "{}: a positive baseline", f.id);
        assert!((f.ratio - f.value / f.baseline.value).abs() <= 1e-9 * f.ratio.abs().max(1.0), "{}: ratio", f.id);
        assert_eq!(f.value, f.spread.median, "{}: the value is the median", f.id);
        assert!(f.spread.min <= f.spread.median && f.spread.median <= f.spread.max, "{}: spread", f.id);
    }

    // Checkpointing off against on: an overhead in percent, judged against the 3% target.
    for engine in ["sim", "threads"] {
        for op in Op::ALL {
            let f = report.figure(&format!("syscalls.{engine}.{}", op.id())).expect("present");
            assert_eq!(f.unit, Unit::OpsPerSec);
            assert_eq!(f.baseline.name, "checkpointing off");
            let pct = f.overhead_pct.expect("an overhead");
            assert_eq!(f.target.as_ref().expect("the 3% target").met, pct <= 3.0);
        }
    }

    // The targets of the other issues are each judged somewhere.
    let targeted: Vec<&str> = report.targets().map(|(f, _)| f.id.as_str()).collect();
    for id in [
        "ipc.sendrec.sim",
        "ipc.sendrec.threads",
        "recovery.rollback",
        "recovery.e2e.sim.rollback",
        "scaling.checkpoint.flatness",
        "campaign.throughput",
    ] {
        assert!(targeted.contains(&id), "{id} is judged against its target");
    }

    // Every planned number of live processes is a point of every line of its curve.
    let live = report.curves.iter().find(|c| c.id == "live-processes").expect("the live-process curve");
    assert_eq!(live.series.len(), 4, "getpid and fork under both engines");
    for series in &live.series {
        let xs: Vec<f64> = series.points.iter().map(|p| p.0).collect();
        assert_eq!(xs, plan.live_processes.iter().map(|&n| n as f64).collect::<Vec<_>>(), "{}", series.name);
    }

    // The curves: checkpoint cost against size, throughput against live processes, campaign
    // throughput against cores; each point of the first at a planned size.
    let curves: Vec<&str> = report.curves.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(curves, ["checkpoint-cost", "live-processes", "campaign-cores"]);
    let sizes: Vec<f64> = report.curves[0].series[0].points.iter().map(|p| p.0).collect();
    assert_eq!(sizes, plan.state_sizes.iter().map(|&n| n as f64).collect::<Vec<_>>());

    // JSON: everything, in a stable shape, and it reads back as the same report.
    let json = serde_json::to_string(&report).expect("serialises");
    let v: Value = serde_json::from_str(&json).expect("valid JSON");
    for key in ["mode", "machine", "seconds", "sections", "curves", "chart"] {
        assert!(v.get(key).is_some(), "the report has `{key}`");
    }
    assert_eq!(v["mode"], "smoke");
    assert!(v["machine"]["cores"].as_u64().is_some_and(|c| c >= 1));
    let figure = &v["sections"][0]["figures"][0];
    for key in ["id", "name", "unit", "value", "spread", "baseline", "ratio", "overhead_pct", "target", "note"] {
        assert!(figure.get(key).is_some(), "a figure has `{key}`: {figure}");
    }
    for key in ["name", "value", "spread"] {
        assert!(figure["baseline"].get(key).is_some(), "a baseline has `{key}`");
    }
    assert_eq!(figure["unit"], "ns");
    let back: Report = serde_json::from_str(&json).expect("reads back");
    assert_eq!(back.figures().count(), report.figures().count());
    for (a, b) in back.figures().zip(report.figures()) {
        assert_eq!((&a.id, &a.name, &a.baseline.name, &a.target), (&b.id, &b.name, &b.baseline.name, &b.target));
        assert!((a.ratio - b.ratio).abs() <= 1e-9 * b.ratio.abs().max(1.0), "{}: the ratio reads back", a.id);
    }

    // The table names every figure; the chart draws every curve.
    let table = report.render();
    for f in report.figures() {
        assert!(table.contains(&f.name), "the table shows {}", f.name);
    }
    assert!(table.contains("targets:"));
    let svg = chart::render(&report.curves).expect("draws");
    assert!(svg.starts_with("<svg"));
    for c in &report.curves {
        assert!(svg.contains(&c.title), "the chart has a panel `{}`", c.title);
    }
}

#[test]
fn only_the_sections_asked_for_are_measured() {
    let report = benchkit::run(&Plan::smoke(), &[SectionId::Ipc], &mut |_| {});
    let sections: Vec<&str> = report.sections.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(sections, ["ipc"]);
    assert!(report.curves.is_empty());
    assert!("scaling".parse::<SectionId>().is_ok());
    assert!("nonsense".parse::<SectionId>().unwrap_err().contains("ipc, syscalls"));
}

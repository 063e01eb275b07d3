//! `samsara campaign --exhaustive` completes (issue 14): an exhaustive campaign of hang faults in
//! pm, transient and persistent, under rollback and table, runs every planned run, and no run's
//! simulator panics. (A simulator panic, like the sim engine's "a ready slot has a coroutine" that
//! kernel_sim fixed, used to take the whole campaign down; now it is a recorded crash that the
//! summary counts, and this test wants none.)

use campaign::execute::{Campaign, Options};
use campaign::plan::{CampaignSpec, RunId, runs};
use campaign::results;
use campaign::summary::summarise;
use os::fault::{FaultKind, Persistence};
use recovery::PolicyKind;
use std::collections::BTreeSet;
use std::sync::Arc;
use testbed::boot::default_table;
use userland::workload::Workload;

fn exhaustive_hangs_in_pm(workload: &str) {
    let w: Workload = workload.parse().unwrap();
    let w = w.prepare().unwrap();
    let c = Campaign {
        spec: CampaignSpec {
            workload: workload.into(),
            exhaustive: true,
            kinds: vec![FaultKind::Hang],
            servers: vec!["pm".into()],
            policies: vec![PolicyKind::Rollback, PolicyKind::Table],
            seed: 0,
            // What is tested is the simulator under every hang, not the self-checks: their cost
            // (a debug build runs every request's checks) stays out of this long test.
            check_invariants: false,
            ..CampaignSpec::default()
        },
        workload: Arc::new(move |sys, rec| w.run(sys, rec)),
        table: default_table(),
        manifest: None,
    };
    let golden = c.golden().unwrap();
    let faults = c.faults(&golden);
    assert!(faults.iter().all(|f| f.kind == FaultKind::Hang && f.server == "pm"));
    for p in Persistence::ALL {
        assert!(faults.iter().any(|f| f.persistence == p), "the exhaustive plan takes every fault as {p} too");
    }
    let out = std::env::temp_dir().join(format!("samsara-exhaustive-{}-{workload}.jsonl", std::process::id()));
    let execution = c.run(&golden, &out, Options::default()).unwrap();
    let file = results::read(&out).unwrap();
    let planned: BTreeSet<RunId> = runs(faults.len(), &c.spec.policies, None).into_iter().collect();
    let done: BTreeSet<RunId> = file.runs.iter().map(|r| r.id).collect();
    assert_eq!(execution.ran, planned.len());
    assert_eq!(file.runs.len(), planned.len(), "every run once");
    assert_eq!(done, planned, "every planned run is in the results file");
    let s = summarise(&file.runs, None);
    let panics: Vec<String> = file
        .runs
        .iter()
        .filter_map(|r| r.simulator_panic.as_ref().map(|m| format!("{} ({}): {m}", r.id, r.fault)))
        .collect();
    assert_eq!(s.simulator_panics, 0, "runs whose simulator panicked: {panics:#?}");
    let _ = std::fs::remove_file(&out);
}

#[test]
fn an_exhaustive_campaign_of_hangs_in_pm_completes_without_simulator_panics() {
    exhaustive_hangs_in_pm("posix");
}

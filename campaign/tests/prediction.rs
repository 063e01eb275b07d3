//! The design's prediction, checked on a real campaign over the POSIX suite: for panic and hang
//! faults, `table` and `srs` leave the system inconsistent zero times, while `restart` and
//! `rollback` do sometimes; `none` mostly crashes. And any run replays to the same event log.

use campaign::execute::{Campaign, Options};
use campaign::plan::CampaignSpec;
use campaign::summary::summarise;
use os::fault::FaultKind;
use recovery::PolicyKind;
use std::sync::Arc;
use testbed::boot::default_table;
use testbed::run::{Outcome, RunSpec, execute};
use userland::workload::Workload;

fn posix_campaign(faults: usize, kinds: Vec<FaultKind>) -> Campaign {
    let w: Workload = "posix".parse().unwrap();
    Campaign {
        spec: CampaignSpec { workload: "posix".into(), faults, kinds, seed: 0, ..CampaignSpec::default() },
        workload: Arc::new(move |sys, rec| w.run(sys, rec)),
        table: default_table(),
        manifest: None,
    }
}

#[test]
fn table_and_srs_never_leave_panics_and_hangs_inconsistent() {
    let c = posix_campaign(80, vec![FaultKind::Panic, FaultKind::Hang]);
    let golden = c.golden().unwrap();
    let out = std::env::temp_dir().join(format!("samsara-prediction-{}.jsonl", std::process::id()));
    c.run(&golden, &out, Options::default()).unwrap();
    let records = campaign::results::read(&out).unwrap().runs;
    let s = summarise(&records, None);
    let count = |p: PolicyKind, o: Outcome| s.by_policy[&p].get(o);
    assert_eq!(count(PolicyKind::Table, Outcome::Inconsistent), 0, "{}", s.render());
    assert_eq!(count(PolicyKind::Srs, Outcome::Inconsistent), 0, "{}", s.render());
    assert!(
        count(PolicyKind::Restart, Outcome::Inconsistent) + count(PolicyKind::Rollback, Outcome::Inconsistent) > 0,
        "blind restart and rollback leave damage somewhere: {}",
        s.render()
    );
    let none_total = s.by_policy[&PolicyKind::None].total();
    assert!(2 * count(PolicyKind::None, Outcome::Crash) > none_total, "none mostly crashes: {}", s.render());
    assert!(records.iter().all(|r| r.fault_fired), "faults come from sites the golden run executed");
}

#[test]
fn a_run_replays_to_the_same_event_log_byte_for_byte() {
    let c = posix_campaign(3, vec![FaultKind::Panic]);
    let golden = c.golden().unwrap();
    let fault = c.faults(&golden).remove(0);
    let w: Workload = "posix".parse().unwrap();
    let replay = || {
        let w = w.clone();
        let spec = RunSpec {
            policy: PolicyKind::Table,
            fault: Some(fault.clone()),
            record_events: true,
            ..RunSpec::default()
        };
        execute(&spec, default_table(), move |sys, rec| w.run(sys, rec))
    };
    let (a, b) = (replay(), replay());
    let log = a.event_log.clone().unwrap();
    assert!(log.lines().count() > 100, "a real trace");
    assert_eq!(Some(log), b.event_log);
    assert_eq!(a.outcome, b.outcome);
}

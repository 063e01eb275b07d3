//! SRS detail per field: which of a server's fields held the suspects a suppressed crash left, and
//! how each was resolved (restored when read again, or self-cleansed when overwritten first).
//!
//! `RunResult::srs` keeps only each server's totals. Until the harness keeps the per-field report
//! too, the demo replays the same run (same spec, same workload: under `sim` the same schedule)
//! on a machine it boots itself, reads each server's `SrsReport` from the stopped machine, and
//! keeps it only if the replay's event log is byte for byte the original's — so the detail is
//! certainly that run's.

use crate::scenario::{Workload, as_init};
use kernel_sim::{Config, EngineKind, SchedMode};
use recovery::{FieldSrs, RecoveryTable, TrackedState};
use servers::boot::{MachineConfig, boot};
use servers::checker::Snapshot;
use servers::proto::INIT;
use servers::run::RunSpec;
use servers::workload::report::Recorder;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Per server, the fields that held suspects, when the replay reproduced the run.
pub fn fields(
    spec: &RunSpec,
    table: Arc<RecoveryTable>,
    workload: Workload,
    original_log: &str,
) -> Option<BTreeMap<String, Vec<FieldSrs>>> {
    if spec.engine != EngineKind::Sim {
        return None;
    }
    let config = MachineConfig {
        kernel: Config {
            engine: spec.engine,
            seed: spec.seed,
            sched: SchedMode::Random,
            time_limit: spec.time_limit,
            record_events: true,
            finish_after: Some(INIT),
            frames: spec.frames,
            ..Config::default()
        },
        policy: spec.policy,
        table,
        fault: spec.fault.clone(),
        check_invariants: spec.check_invariants,
        ..MachineConfig::default()
    };
    let recorder = Recorder::default();
    let init = as_init(workload);
    let mut machine = boot(&config, move |sys| {
        init(sys, &recorder);
        0
    });
    machine.run();
    if machine.system.render_events() != original_log {
        return None;
    }
    let mut snapshot = Snapshot::take(&machine);
    let mut out = BTreeMap::new();
    let keep =
        |fields: Vec<FieldSrs>| fields.into_iter().filter(|f| f.counters.suspects_created > 0).collect::<Vec<_>>();
    if let Some(s) = snapshot.pm.as_mut() {
        out.insert("pm".to_string(), keep(s.srs_report().fields));
    }
    if let Some(s) = snapshot.vm.as_mut() {
        out.insert("vm".to_string(), keep(s.srs_report().fields));
    }
    if let Some(s) = snapshot.vfs.as_mut() {
        out.insert("vfs".to_string(), keep(s.srs_report().fields));
    }
    out.retain(|_, f| !f.is_empty());
    Some(out)
}

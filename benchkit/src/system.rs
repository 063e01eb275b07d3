//! Booting a measured machine: the whole system (rs, pm, vm, vfs) with init running a measuring
//! body, optionally beside many live user processes, with the task loop's checkpoint on or off.
//!
//! Duties: the body's result comes back to the caller, or an error saying what went wrong (a
//! failed call, a run that did not finish); every process the harness started is ended before
//! init exits, so a run finishes by itself.

use kernel_sim::{Config, Endpoint, EngineKind, Micros, RunEnd, SchedMode};
use os::fault::{FaultSpec, SiteProfile};
use os::proto::INIT;
use os::proto::pm::sig::SIGKILL;
use os::task::CheckpointSwitch;
use std::sync::{Arc, Mutex};
use testbed::boot::{Machine, MachineConfig, boot};
use userland::libc::Sys;

/// Frames a measured machine has at least (64 MiB: every loop's working set many times over).
const MIN_FRAMES: usize = 16 * 1024;
/// Frames budgeted per extra live process (a forked init image uses 18).
const FRAMES_PER_PROCESS: usize = 24;
/// Time limit of a measured run: none in practice (a measurement is bounded by its loop counts;
/// a hang would show as a run that never ends, not as a wrong figure).
const NO_TIME_LIMIT: Micros = u64::MAX / 4;

/// What a measured machine is booted with.
#[derive(Clone, Debug)]
pub struct Setup {
    /// The engine.
    pub engine: EngineKind,
    /// Checkpointing in the servers: on is the design; off is the baseline of its overhead (the
    /// servers' tracked containers still run, each entry logged at most once while it is off).
    /// Clones of a setup share the switch, which may be flipped while the machine runs.
    pub checkpoints: CheckpointSwitch,
    /// Live user processes during the measurement, init included (the rest block in a receive).
    pub live: usize,
    /// Count every site's executions (for counting requests' writes).
    pub profile: Option<Arc<Mutex<SiteProfile>>>,
    /// A fault to inject, with the recovery policy.
    pub fault: Option<(FaultSpec, recovery::PolicyKind)>,
    /// Keep the kernel's event log.
    pub record_events: bool,
}

impl Setup {
    /// A plain measured machine on `engine`: checkpointing on, init alone.
    pub fn new(engine: EngineKind) -> Setup {
        Setup {
            engine,
            checkpoints: CheckpointSwitch::default(),
            live: 1,
            profile: None,
            fault: None,
            record_events: false,
        }
    }

    /// The machine's configuration.
    pub fn machine_config(&self) -> MachineConfig {
        let frames = MIN_FRAMES.max(self.live * FRAMES_PER_PROCESS + MIN_FRAMES);
        let mut config = MachineConfig {
            kernel: Config {
                engine: self.engine,
                sched: SchedMode::Fifo,
                record_events: self.record_events,
                finish_after: Some(INIT),
                frames,
                time_limit: NO_TIME_LIMIT,
                ..Config::default()
            },
            profile: self.profile.clone(),
            checkpoints: self.checkpoints.clone(),
            ..MachineConfig::default()
        };
        if let Some((fault, policy)) = &self.fault {
            config.fault = Some(fault.clone());
            config.policy = *policy;
        }
        config
    }
}

/// What a measured run gives back.
pub struct Ran<T> {
    /// The body's result.
    pub value: T,
    /// The stopped machine (its vault holds the servers' last states).
    pub machine: Machine,
    /// How the kernel's run ended.
    pub end: RunEnd,
}

/// Boots `setup` and runs `body` as init once `setup.live - 1` other user processes are alive;
/// ends them afterwards. An error from the body, or a run that does not finish, is an error.
pub fn run_in_init<T: Send + 'static>(
    setup: &Setup,
    body: impl FnOnce(&Sys<'_>) -> Result<T, String> + Send + 'static,
) -> Result<Ran<T>, String> {
    let config = setup.machine_config();
    let slot: Arc<Mutex<Option<Result<T, String>>>> = Arc::new(Mutex::new(None));
    let out = slot.clone();
    let others = setup.live.saturating_sub(1);
    let mut machine = boot(&config, move |sys| {
        let result = with_live_processes(sys, others, body);
        *out.lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
        0
    });
    let report = machine.run();
    let result = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
    match result {
        Some(Ok(value)) => Ok(Ran { value, machine, end: report.end }),
        Some(Err(e)) => Err(e),
        None => Err(format!("the measuring process did not finish (the run ended: {:?})", report.end)),
    }
}

/// Runs `body` while `others` extra user processes are alive, blocked in a receive nobody
/// answers; kills and reaps them afterwards.
fn with_live_processes<T>(
    sys: &Sys<'_>,
    others: usize,
    body: impl FnOnce(&Sys<'_>) -> Result<T, String>,
) -> Result<T, String> {
    let mut sleepers = Vec::with_capacity(others);
    let mut result = Ok(());
    for i in 0..others {
        match sys.fork(|c| {
            let _ = c.proc().receive(Endpoint::ANY);
            0
        }) {
            Ok(pid) => sleepers.push(pid),
            Err(e) => {
                result = Err(format!("fork of live process {} of {others} failed: {e}", i + 1));
                break;
            }
        }
    }
    let value = result.and_then(|()| body(sys));
    for &pid in &sleepers {
        let _ = sys.kill(pid, SIGKILL);
    }
    for &pid in &sleepers {
        let _ = sys.waitpid(pid, 0);
    }
    value
}

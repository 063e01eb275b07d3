//! The two engines behind one API, and `System`: boot a kernel, start processes, run, inspect.
//!
//! `sim` (the default) runs every process as a coroutine on one thread with a virtual clock and one
//! seed deciding every choice; `threads` runs one OS thread per process on the wall clock. Server
//! code cannot tell them apart: it only ever sees a [`Proc`].

pub(crate) mod sim;
pub(crate) mod threads;
pub(crate) mod wake;

use crate::clock::Micros;
use crate::core::{CoreConfig, KernelCore, ProcInfo, Program};
use crate::endpoint::Endpoint;
use crate::error::KernelError;
use crate::manifest::Manifest;
use crate::proc::{Proc, install_panic_hook};
use crate::trace::Event;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Which engine runs the processes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// Deterministic coroutines on one thread, virtual time.
    #[default]
    Sim,
    /// One OS thread per process, wall-clock time.
    Threads,
}

impl std::str::FromStr for EngineKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "sim" => Ok(EngineKind::Sim),
            "threads" => Ok(EngineKind::Threads),
            other => Err(format!("unknown engine `{other}` (sim, threads)")),
        }
    }
}

impl std::fmt::Display for EngineKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EngineKind::Sim => "sim",
            EngineKind::Threads => "threads",
        })
    }
}

/// How `sim` picks the next process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SchedMode {
    /// First come, first served; no preemption.
    Fifo,
    /// Seeded random pick among the ready, with seeded preemption at kernel entries.
    #[default]
    Random,
}

/// Everything a system is booted with.
#[derive(Clone, Debug)]
pub struct Config {
    /// Which engine.
    pub engine: EngineKind,
    /// The one seed every random choice comes from.
    pub seed: u64,
    /// Scheduling under `sim`.
    pub sched: SchedMode,
    /// Under `Random`, preempt at a kernel entry with probability 1/n (0: never).
    pub preempt_one_in: u32,
    /// Physical frames of simulated memory (4 KiB each).
    pub frames: usize,
    /// Keep the in-memory event log.
    pub record_events: bool,
    /// Stop the run after this long (virtual under `sim`, wall under `threads`).
    pub time_limit: Micros,
    /// Stop the run after this many kernel events: processes that keep calling without ever
    /// finishing (a livelock) reach it long before the time limit, whose virtual time passes one
    /// microsecond a kernel entry.
    pub event_limit: u64,
    /// Virtual microseconds each kernel entry costs under `sim` (MINIX's IPC takes about 1 us).
    pub kernel_entry_cost: Micros,
    /// Stack bytes per process (a coroutine stack or a thread stack).
    pub stack_size: usize,
    /// Finish once this process (the workload's first process) is gone for good and nothing can
    /// run, even if other user processes are left blocked (a leaked process must not make a run
    /// look hung: the consistency checker judges it). `None`: finish when no user process is left.
    pub finish_after: Option<Endpoint>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            engine: EngineKind::Sim,
            seed: 0,
            sched: SchedMode::Random,
            preempt_one_in: 8,
            frames: 16 * 1024,
            record_events: true,
            time_limit: 600_000_000,
            event_limit: u64::MAX,
            kernel_entry_cost: 1,
            stack_size: 256 * 1024,
            finish_after: None,
        }
    }
}

/// How a run ended. In JSON, one shape for every variant: `{"kind": "shutdown", "by": ...,
/// "reason": ...}`, `{"kind": "finished"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RunEnd {
    /// Nothing is runnable, no process is hung, and no user process is left (or the one named
    /// by [`Config::finish_after`] is gone).
    Finished,
    /// A process halted the system.
    Shutdown {
        /// Who.
        by: Endpoint,
        /// Why.
        reason: String,
    },
    /// Nothing can ever run again: every process is blocked and no alarm is pending.
    Stalled,
    /// The time limit passed first.
    TimeLimit,
    /// The event limit passed first: the processes kept the kernel busy without finishing.
    EventLimit,
}

impl std::fmt::Display for RunEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunEnd::Finished => write!(f, "finished"),
            RunEnd::Shutdown { by, reason } => write!(f, "shut down by {by}: {reason}"),
            RunEnd::Stalled => write!(f, "stalled (every process blocked, no alarm pending)"),
            RunEnd::TimeLimit => write!(f, "time limit reached"),
            RunEnd::EventLimit => write!(f, "event limit reached (processes kept calling without finishing)"),
        }
    }
}

/// What a run did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunReport {
    /// How it ended.
    pub end: RunEnd,
    /// The clock when it ended.
    pub time: Micros,
    /// Context switches (under `sim`; 0 under `threads`).
    pub steps: u64,
    /// Events that happened.
    pub events: u64,
    /// The process table as it was when the run stopped, before the teardown killed everyone.
    pub procs: Vec<ProcInfo>,
}

enum Engine {
    Sim(sim::SimEngine),
    Threads(threads::ThreadEngine),
}

/// A booted system: a kernel, its processes, and the engine that runs them.
pub struct System {
    engine: Engine,
    config: Config,
}

impl System {
    /// Boots a kernel on `manifest` (already validated) with `config`.
    pub fn new(manifest: Arc<Manifest>, config: Config) -> System {
        install_panic_hook();
        let core = KernelCore::new(
            manifest,
            &CoreConfig {
                frames: config.frames,
                record_events: config.record_events,
                seed: config.seed,
                finish_after: config.finish_after,
            },
        );
        let engine = match config.engine {
            EngineKind::Sim => Engine::Sim(sim::SimEngine::new(core, &config)),
            EngineKind::Threads => Engine::Threads(threads::ThreadEngine::new(core, &config)),
        };
        System { engine, config }
    }

    /// The configuration it was booted with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn with_core<R>(&self, f: impl FnOnce(&mut KernelCore) -> R) -> R {
        match &self.engine {
            Engine::Sim(e) => f(&mut e.shared.core.borrow_mut()),
            Engine::Threads(e) => f(&mut e.shared.state.lock().core),
        }
    }

    /// Registers a program that exec and service spawns can start by name.
    pub fn register_program(&self, name: &str, program: Program) {
        self.with_core(|k| k.register_program(name, program));
    }

    /// Starts the manifest service `name` with `body` (boot image).
    pub fn spawn_service(
        &self,
        name: &str,
        body: impl FnOnce(&Proc) + Send + 'static,
    ) -> Result<Endpoint, KernelError> {
        self.with_core(|k| k.spawn_service(name, Box::new(body)))
    }

    /// Starts a user process outside any fork (the first user process, tests).
    pub fn spawn_user(&self, name: &str, body: impl FnOnce(&Proc) + Send + 'static) -> Result<Endpoint, KernelError> {
        self.with_core(|k| k.spawn_user(name, Box::new(body)))
    }

    /// Runs until the system finishes, halts, stalls or hits the time limit, then kills whatever
    /// is left (so every process's destructors have run when this returns).
    pub fn run(&mut self) -> RunReport {
        let config = self.config.clone();
        match &mut self.engine {
            Engine::Sim(e) => e.run(&config),
            Engine::Threads(e) => e.run(&config),
        }
    }

    /// The recorded events, in order.
    pub fn events(&self) -> Vec<Event> {
        self.with_core(|k| k.log.events().to_vec())
    }

    /// The event log as text, one event a line.
    pub fn render_events(&self) -> String {
        self.with_core(|k| k.log.render())
    }

    /// Reads the manifest-declared memory of the service `name` (a RAM disk), at `offset`, into
    /// `out`: for the harness and the checker, after a run. `Invalid` for a service without
    /// declared memory or past its end.
    pub fn read_service_memory(&self, name: &str, offset: u64, out: &mut [u8]) -> Result<(), KernelError> {
        self.with_core(|k| {
            let slot = k.manifest.service(name).map(|s| s.slot).ok_or(KernelError::Invalid)?;
            k.read_service_memory(slot, offset, out)
        })
    }

    /// Every process still in the process table.
    pub fn procs(&self) -> Vec<ProcInfo> {
        self.with_core(|k| k.all_procs())
    }
}

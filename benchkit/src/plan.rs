//! How much to measure: the sizes, counts and repeats of every measurement, per mode.
//!
//! A mode only changes how long each measurement runs and how many points a curve has; every point
//! it lists is measured (tests rely on every figure being there with the tiny `smoke` plan). The
//! live-process curve reaches 10,000 processes in `quick` and `full` alike.
//!
//! Budgets on a 2-core machine: `quick` under 30 s, `full` under 5 minutes.

use serde::{Deserialize, Serialize};

/// The three plans.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Every figure, briefly: under 30 s on two cores.
    Quick,
    /// Every figure with more repeats and longer loops: under 5 minutes on two cores.
    Full,
    /// Every figure with the smallest counts that still exercise the code (tests; the numbers
    /// mean nothing).
    Smoke,
}

impl Mode {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Quick => "quick",
            Mode::Full => "full",
            Mode::Smoke => "smoke",
        }
    }
}

/// Iterations of one measured loop, per engine (`threads` is 10 to 50 times slower per call).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PerEngine {
    /// Under `sim`.
    pub sim: u32,
    /// Under `threads`.
    pub threads: u32,
}

/// Operations per repeat of each syscall loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyscallCounts {
    /// getpid calls.
    pub getpid: PerEngine,
    /// fork+exit+wait rounds.
    pub fork: PerEngine,
    /// fork+exec+wait rounds.
    pub exec: PerEngine,
    /// File write+read pairs.
    pub file: PerEngine,
    /// Pipe round trips.
    pub pipe: PerEngine,
    /// Signal round trips (self-kill, handler, sigreturn).
    pub signal: PerEngine,
    /// stat calls (vfs asks mfs to walk the path).
    #[serde(default = "default_stat")]
    pub stat: PerEngine,
    /// getrusage calls (pm asks vm for its part).
    #[serde(default = "default_rusage")]
    pub rusage: PerEngine,
}

/// Plans written before the stat loop measured it as the quick plan does.
fn default_stat() -> PerEngine {
    QUICK_SYSCALLS.stat
}

/// Plans written before the getrusage loop measured it as the quick plan does.
fn default_rusage() -> PerEngine {
    QUICK_SYSCALLS.rusage
}

impl SyscallCounts {
    /// Every count of `base` times `factor` (at least 1).
    fn scaled(base: SyscallCounts, factor: f64) -> SyscallCounts {
        let s = |c: PerEngine| PerEngine {
            sim: ((f64::from(c.sim) * factor) as u32).max(1),
            threads: ((f64::from(c.threads) * factor) as u32).max(1),
        };
        SyscallCounts {
            getpid: s(base.getpid),
            fork: s(base.fork),
            exec: s(base.exec),
            file: s(base.file),
            pipe: s(base.pipe),
            signal: s(base.signal),
            stat: s(base.stat),
            rusage: s(base.rusage),
        }
    }
}

/// About 50 ms of each loop on the development machine.
const QUICK_SYSCALLS: SyscallCounts = SyscallCounts {
    getpid: PerEngine { sim: 200_000, threads: 40_000 },
    fork: PerEngine { sim: 5_000, threads: 300 },
    exec: PerEngine { sim: 2_500, threads: 200 },
    file: PerEngine { sim: 30_000, threads: 5_000 },
    pipe: PerEngine { sim: 25_000, threads: 1_500 },
    signal: PerEngine { sim: 60_000, threads: 10_000 },
    stat: PerEngine { sim: 40_000, threads: 5_000 },
    rusage: PerEngine { sim: 60_000, threads: 10_000 },
};

/// Everything a run of `samsara bench` measures, and how long.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Which plan this is.
    pub mode: Mode,
    /// Repeats of every timed loop; figures are the median of them.
    pub repeats: usize,
    /// sendrec round trips per repeat.
    pub ipc_rounds: PerEngine,
    /// Plain calls per repeat (the cheapest baseline needs many to be above timer resolution).
    pub plain_calls: u32,
    /// Operations per repeat of each syscall loop (about 50 ms a loop in quick mode, 100 ms in
    /// full mode, at the speeds of the development machine).
    pub syscalls: SyscallCounts,
    /// Entries of the state the recovery-crate latencies are measured on.
    pub state_entries: usize,
    /// Entries each simulated request writes (fixed while the state grows).
    pub writes_per_request: usize,
    /// Requests per repeat of the recovery-crate loops.
    pub requests: u32,
    /// Crashes per policy and engine for the end-to-end recovery latencies (each is one boot).
    pub crashes: PerEngine,
    /// State sizes of the checkpoint-cost curve.
    pub state_sizes: Vec<usize>,
    /// Live user processes of the throughput curve, init included (at most pm's `NR_PROCS`
    /// less one, which leaves the measured fork its entry).
    pub live_processes: Vec<usize>,
    /// Faults of the campaign (each runs under all six policies).
    pub campaign_faults: usize,
    /// Fault-free runs back to back for the campaign's baseline.
    pub baseline_runs: u32,
}

impl Plan {
    /// The plan of `mode`.
    pub fn of(mode: Mode) -> Plan {
        match mode {
            Mode::Quick => Plan::quick(),
            Mode::Full => Plan::full(),
            Mode::Smoke => Plan::smoke(),
        }
    }

    /// Every figure, under 30 s on two cores.
    pub fn quick() -> Plan {
        Plan {
            mode: Mode::Quick,
            repeats: 5,
            ipc_rounds: PerEngine { sim: 200_000, threads: 20_000 },
            plain_calls: 5_000_000,
            syscalls: QUICK_SYSCALLS,
            state_entries: 10_000,
            writes_per_request: 8,
            requests: 20_000,
            crashes: PerEngine { sim: 9, threads: 5 },
            state_sizes: vec![1_000, 10_000, 100_000, 1_000_000],
            live_processes: vec![1, 10, 100, 1_000, 10_000],
            campaign_faults: 40,
            baseline_runs: 100,
        }
    }

    /// Every figure with longer loops and more repeats, under 5 minutes on two cores.
    pub fn full() -> Plan {
        Plan {
            mode: Mode::Full,
            repeats: 11,
            ipc_rounds: PerEngine { sim: 1_000_000, threads: 50_000 },
            plain_calls: 50_000_000,
            syscalls: SyscallCounts::scaled(QUICK_SYSCALLS, 2.0),
            state_entries: 10_000,
            writes_per_request: 8,
            requests: 100_000,
            crashes: PerEngine { sim: 31, threads: 15 },
            state_sizes: vec![1_000, 3_000, 10_000, 30_000, 100_000, 300_000, 1_000_000],
            live_processes: vec![1, 3, 10, 30, 100, 300, 1_000, 3_000, 10_000],
            campaign_faults: 300,
            baseline_runs: 1_000,
        }
    }

    /// The smallest counts that still exercise every measurement: for tests.
    pub fn smoke() -> Plan {
        Plan {
            mode: Mode::Smoke,
            repeats: 1,
            ipc_rounds: PerEngine { sim: 100, threads: 20 },
            plain_calls: 1_000,
            syscalls: SyscallCounts::scaled(QUICK_SYSCALLS, 0.0002),
            state_entries: 1_000,
            writes_per_request: 4,
            requests: 50,
            crashes: PerEngine { sim: 1, threads: 1 },
            state_sizes: vec![1_000, 3_000],
            live_processes: vec![1, 3],
            campaign_faults: 2,
            baseline_runs: 2,
        }
    }
}

//! What a workload reports: its checks (each passed or failed with a reason) and its counters.
//!
//! A `Recorder` is handed to init and cloned into every process the workload forks; it is the
//! workload's console, outside the simulated system (like a serial line), so a crashed server
//! cannot lose it. A process that exec'd has left its recorder behind with its old image: it keeps
//! a [`WorkloadReport`] of its own and hands it over through the file system (the strace replay
//! does), and init adds it with [`Recorder::merge`].

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// A workload's verdict and counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkloadReport {
    /// Checks that held.
    pub passed: u64,
    /// Checks that did not, each with what was expected and what happened.
    pub failures: Vec<String>,
    /// Counters (calls made, bytes moved, loops run...).
    pub counters: BTreeMap<String, u64>,
}

impl WorkloadReport {
    /// Whether every check held.
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }

    /// Failures a recovered crash does not explain. A check that failed because its call came back
    /// with ERECOVERED or EDEADSRCDST was interrupted by a crash the system owned up to; so was a
    /// process found killed by SIGKILL when the recovery ended a requester (`requester_ended`, the
    /// P class). Any other failure is a wrong result.
    pub fn unexplained_failures(&self, requester_ended: bool) -> impl Iterator<Item = &String> {
        self.failures.iter().filter(move |f| {
            !(f.contains("ERECOVERED") || f.contains("EDEADSRCDST") || (requester_ended && f.contains("SIGKILL")))
        })
    }
}

impl WorkloadReport {
    /// Adds `other`'s checks and counters to this report.
    pub fn absorb(&mut self, other: &WorkloadReport) {
        self.passed += other.passed;
        self.failures.extend(other.failures.iter().cloned());
        for (name, n) in &other.counters {
            *self.counters.entry(name.clone()).or_default() += n;
        }
    }

    /// Records a check: `name` held if `ok`, else fails with `detail` (as [`Recorder::check`]).
    pub fn check(&mut self, name: &str, ok: bool, detail: impl FnOnce() -> String) -> bool {
        if ok {
            self.passed += 1;
        } else {
            self.failures.push(format!("{name}: {}", detail()));
        }
        ok
    }

    /// Adds `n` to counter `name` (as [`Recorder::count`]).
    pub fn count(&mut self, name: &str, n: u64) {
        *self.counters.entry(name.to_string()).or_default() += n;
    }
}

/// A handle on the workload's report; clones share it.
#[derive(Clone, Default)]
pub struct Recorder(Arc<Mutex<WorkloadReport>>);

impl Recorder {
    fn with<R>(&self, f: impl FnOnce(&mut WorkloadReport) -> R) -> R {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Records a check: `name` held if `ok`, else fails with `detail`.
    pub fn check(&self, name: &str, ok: bool, detail: impl FnOnce() -> String) -> bool {
        self.with(|r| r.check(name, ok, detail))
    }

    /// Records that `actual` equals `expected`.
    pub fn expect_eq<T: PartialEq + std::fmt::Debug>(&self, name: &str, actual: T, expected: T) -> bool {
        let ok = actual == expected;
        self.check(name, ok, || format!("expected {expected:?}, got {actual:?}"))
    }

    /// Adds `n` to counter `name`.
    pub fn count(&self, name: &str, n: u64) {
        self.with(|r| r.count(name, n));
    }

    /// Adds another report (one a process kept while it had no recorder, e.g. after an exec)
    /// to this one: its passed checks, its failures and its counters.
    pub fn merge(&self, other: &WorkloadReport) {
        self.with(|r| r.absorb(other));
    }

    /// The report so far.
    pub fn report(&self) -> WorkloadReport {
        self.with(|r| r.clone())
    }
}

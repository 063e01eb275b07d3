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
        self.check(name, ok, || format!("expected {}, got {}", for_people(&expected), for_people(&actual)))
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

/// A call's result as a failure message shows it: `Ok(x)` as `x` (`Ok(())` as `success`),
/// `Err(E)` as `error E`, `Some(x)` as `x`, `None` as `nothing`, and bytes that are printable text
/// as a quoted string.
pub fn for_people(value: &impl std::fmt::Debug) -> String {
    let debug = format!("{value:?}");
    let inner = |prefix: &str| debug.strip_prefix(prefix).and_then(|d| d.strip_suffix(')')).map(str::to_string);
    if debug == "Ok(())" {
        "success".to_string()
    } else if debug == "None" {
        "nothing".to_string()
    } else if let Some(ok) = inner("Ok(").or_else(|| inner("Some(")) {
        bytes_as_text(&ok).unwrap_or(ok)
    } else if let Some(err) = inner("Err(") {
        format!("error {err}")
    } else {
        bytes_as_text(&debug).unwrap_or(debug)
    }
}

/// `[104, 105]` as `"hi"` when every number is a printable ASCII byte (or a newline or tab).
fn bytes_as_text(debug: &str) -> Option<String> {
    let list = debug.strip_prefix('[')?.strip_suffix(']')?;
    if list.is_empty() {
        return None;
    }
    let bytes: Vec<u8> = list.split(", ").map(|n| n.parse::<u8>().ok()).collect::<Option<_>>()?;
    let printable = bytes.iter().all(|&b| b == b'\n' || b == b'\t' || (0x20..0x7F).contains(&b));
    printable.then(|| format!("{:?}", String::from_utf8_lossy(&bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use os::errno::Errno;

    #[test]
    fn results_read_as_values_and_errors_not_rust() {
        assert_eq!(for_people(&Ok::<(), Errno>(())), "success");
        assert_eq!(for_people(&Ok::<i32, Errno>(15)), "15");
        assert_eq!(for_people(&Err::<i32, Errno>(Errno::ENOENT)), "error ENOENT");
        assert_eq!(for_people(&Ok::<String, Errno>("/tmp".into())), "\"/tmp\"");
        assert_eq!(for_people(&Ok::<Vec<u8>, Errno>(b"nowhere".to_vec())), "\"nowhere\"");
        assert_eq!(for_people(&vec![0u8, 200]), "[0, 200]", "bytes that are not text stay numbers");
        assert_eq!(for_people(&Ok::<(i32, i32), Errno>((3, 0))), "(3, 0)");
        assert_eq!(for_people(&Some(7)), "7");
        assert_eq!(for_people(&None::<i32>), "nothing");
    }

    #[test]
    fn a_failed_comparison_says_what_was_expected_in_those_words() {
        let rec = Recorder::default();
        rec.expect_eq("t.read", Err::<usize, Errno>(Errno::EBADF), Ok(3));
        assert_eq!(rec.report().failures, vec!["t.read: expected 3, got error EBADF".to_string()]);
    }
}

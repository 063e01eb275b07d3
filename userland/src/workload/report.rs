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
    /// with ERECOVERED or EDEADSRCDST was interrupted by a crash the system owned up to, one that
    /// got EQUARANTINED was refused by a server the recovery found persistently faulty; so was a
    /// process found killed by SIGKILL when the recovery ended a requester (`requester_ended`, the
    /// P class). Any other failure is a wrong result.
    pub fn unexplained_failures(&self, requester_ended: bool) -> impl Iterator<Item = &String> {
        self.failures.iter().filter(move |f| {
            !(f.contains("ERECOVERED")
                || f.contains("EQUARANTINED")
                || f.contains("EDEADSRCDST")
                || (requester_ended && f.contains("SIGKILL")))
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
/// `Err(E)` as `error E`, `Some(x)` as `x`, `None` as `nothing`, and bytes as [`bytes_for_people`]
/// shows them. (It reads the value's Debug text, so a list of small numbers that are not bytes
/// reads as bytes too.)
pub fn for_people(value: &impl std::fmt::Debug) -> String {
    let debug = format!("{value:?}");
    let inner = |prefix: &str| debug.strip_prefix(prefix).and_then(|d| d.strip_suffix(')')).map(str::to_string);
    if debug == "Ok(())" {
        "success".to_string()
    } else if debug == "None" {
        "nothing".to_string()
    } else if let Some(ok) = inner("Ok(").or_else(|| inner("Some(")) {
        bytes_for_people(&ok).unwrap_or(ok)
    } else if let Some(err) = inner("Err(") {
        format!("error {err}")
    } else {
        bytes_for_people(&debug).unwrap_or(debug)
    }
}

/// Byte values a failure message lists before it only counts the rest.
const BYTES_LISTED: usize = 16;

/// A byte list's Debug text (`[104, 105]`) as people read it: printable text (ASCII, newlines,
/// tabs) as a quoted string, `"hi"`; text padded with NULs as `"hi" and 3 NUL bytes`; NULs alone
/// as `3 NUL bytes`; other bytes as numbers, the first BYTES_LISTED of a longer list and its
/// length, `[0, 200, ...] (40 bytes)`. None when `debug` is no byte list (or an empty one).
fn bytes_for_people(debug: &str) -> Option<String> {
    let list = debug.strip_prefix('[')?.strip_suffix(']')?;
    if list.is_empty() {
        return None;
    }
    let bytes: Vec<u8> = list.split(", ").map(|n| n.parse::<u8>().ok()).collect::<Option<_>>()?;
    let text_len = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let (text, padding) = bytes.split_at(text_len);
    let printable = text.iter().all(|&b| b == b'\n' || b == b'\t' || (0x20..0x7F).contains(&b));
    let nuls = || match padding.len() {
        1 => "1 NUL byte".to_string(),
        n => format!("{n} NUL bytes"),
    };
    if printable && padding.iter().all(|&b| b == 0) {
        let quoted = format!("{:?}", String::from_utf8_lossy(text));
        return Some(match (text.is_empty(), padding.is_empty()) {
            (_, true) => quoted,
            (true, false) => nuls(),
            (false, false) => format!("{quoted} and {}", nuls()),
        });
    }
    if bytes.len() <= BYTES_LISTED {
        return None;
    }
    let first: Vec<String> = bytes[..BYTES_LISTED].iter().map(u8::to_string).collect();
    Some(format!("[{}, ...] ({} bytes)", first.join(", "), bytes.len()))
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
    fn text_padded_with_nuls_reads_as_the_text_and_the_padding() {
        assert_eq!(for_people(&b"hello\0\0\0".to_vec()), "\"hello\" and 3 NUL bytes");
        assert_eq!(for_people(&Ok::<[u8; 4], Errno>(*b"hi\0\0")), "\"hi\" and 2 NUL bytes");
        assert_eq!(for_people(&[b'a', 0]), "\"a\" and 1 NUL byte");
        assert_eq!(for_people(&[0u8, 0]), "2 NUL bytes");
        assert_eq!(
            for_people(&b"hi\0there".to_vec()),
            "[104, 105, 0, 116, 104, 101, 114, 101]",
            "a NUL inside stays numbers"
        );
    }

    #[test]
    fn a_long_list_of_bytes_that_are_not_text_is_shortened() {
        let bytes: Vec<u8> = (200..240).collect();
        let first: Vec<String> = (200..216).map(|b: u8| b.to_string()).collect();
        assert_eq!(for_people(&bytes), format!("[{}, ...] (40 bytes)", first.join(", ")));
        let short: Vec<u8> = (200..216).collect();
        assert_eq!(for_people(&short), format!("{short:?}"), "16 bytes are listed whole");
    }

    #[test]
    fn a_failed_comparison_says_what_was_expected_in_those_words() {
        let rec = Recorder::default();
        rec.expect_eq("t.read", Err::<usize, Errno>(Errno::EBADF), Ok(3));
        assert_eq!(rec.report().failures, vec!["t.read: expected 3, got error EBADF".to_string()]);
    }
}

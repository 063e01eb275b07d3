//! ds's invariants: valid names and values, valid patterns, every pending change owed to a
//! subscription that matches it (`check`, also ds's loop-top self-check); and across ds and the
//! kernel, every live service's label naming its current endpoint (`check_labels`).
//!
//! It reads a stopped (or crashed) ds's state and must not panic on damage.

use super::Violation;
use crate::ds::state::DsState;
use crate::proto::ds::{DsValue, encode_name, glob_matches};
use kernel_sim::ProcInfo;

fn violation(invariant: &'static str, detail: String) -> Violation {
    Violation { invariant, detail }
}

/// Every invariant of `ds::state` broken in `ds`.
pub fn check(ds: &mut DsState) -> Vec<Violation> {
    let mut found = Vec::new();
    for (name, entry) in ds.entries.iter() {
        if encode_name(name).is_err() {
            found.push(violation("ds.entry-name", format!("entry {name:?} has an invalid name")));
        }
        if let DsValue::Endpoint(ep) = entry.value
            && ep.is_special()
        {
            found.push(violation("ds.entry-value", format!("entry {name:?} holds the special endpoint {ep}")));
        }
    }
    let subscriptions: Vec<(u32, String)> = ds.subscriptions.iter().map(|(k, _)| k.clone()).collect();
    for (sub, pattern) in &subscriptions {
        if encode_name(pattern).is_err() {
            found.push(violation("ds.pattern", format!("subscriber {sub:#x} holds the invalid pattern {pattern:?}")));
        }
    }
    for ((sub, name), _) in ds.changed.iter() {
        let owed = subscriptions.iter().any(|(s, pattern)| s == sub && glob_matches(pattern, name));
        if !owed {
            found.push(violation(
                "ds.changed-subscribed",
                format!("a change of {name:?} is pending for {sub:#x}, which subscribed to no pattern matching it"),
            ));
        }
    }
    found
}

/// Every live service's label names its current endpoint (rs publishes it at each start).
pub fn check_labels(ds: &mut DsState, procs: &[ProcInfo]) -> Vec<Violation> {
    let mut found = Vec::new();
    for service in procs.iter().filter(|p| !p.is_user && p.ended.is_none()) {
        match ds.entries.get(&service.name).map(|e| e.value) {
            Some(DsValue::Endpoint(ep)) if ep == service.ep => {}
            other => found.push(violation(
                "ds.service-label",
                format!("service {} runs as {}, but ds's label holds {other:?}", service.name, service.ep),
            )),
        }
    }
    found
}

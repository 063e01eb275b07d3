//! ds against the kernel: every live service's label names its current endpoint.

use kernel_sim::ProcInfo;
use os::ds::state::DsState;
use os::invariant::{Violation, violation};
use os::proto::ds::DsValue;

/// Every live service's label names its current endpoint (rs publishes it at each start).
pub fn check_labels(ds: &mut DsState, procs: &[ProcInfo]) -> Vec<Violation> {
    let mut found = Vec::new();
    for service in procs.iter().filter(|p| !p.is_user && p.ended.is_none()) {
        match ds.entries.get(&service.name).map(|e| e.value) {
            Some(DsValue::Endpoint(ep)) if ep == service.ep => {}
            other => {
                let held = match other {
                    None => "nothing".to_string(),
                    Some(DsValue::Endpoint(ep)) => ep.to_string(),
                    Some(DsValue::U64(n)) => format!("the number {n}"),
                };
                found.push(violation(
                    "ds.service-label",
                    format!("service {} runs as {}, but ds's label holds {held}", service.name, service.ep),
                ))
            }
        }
    }
    found
}

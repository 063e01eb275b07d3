//! Declared compensations, checked and written into the table.
//!
//! A server may declare, beside its handlers, requests it sends and knows how to undo
//! (`Server::compensations`: `Compensation { forward, inverse, .. }`). The recovery manager then
//! rolls it back past such a request and undoes it rather than fail-stopping. A wrong declaration
//! would turn a crash into silent damage, so each one is checked here, and the analysis fails on
//! one that does not hold:
//! - the inverse exists: the receiver of the forward request dispatches the inverse too;
//! - it is fused: some send site of the system sends the inverse to that receiver (the undo sets
//!   a real flow going, not a message nobody sends);
//! - it covers the forward request: every field the forward request's handler may write (in any
//!   component, up to the requests it sends back to the declaring server: those start requests of
//!   the declaring server's own, handled and recovered as such) the inverse's may write too, and
//!   every kernel call it makes is undone by one the inverse makes ([`KERNEL_INVERSES`]).
//!
//! The send sites of the declaring server's rows that send the forward request then name their
//! inverse (`SendSite::inverse`).

use crate::AnalysisError;
use crate::classify::{EntryPoint, KERNEL_COMPONENT};
use crate::components::Components;
use crate::tracked::Tracked;
use recovery::{RecoveryTable, TableRow};
use std::collections::BTreeSet;

/// Kernel calls and the calls that undo them: a forked process is cleared; a page-table change is
/// undone by another; a schedule by an unschedule (the same kernel call).
pub const KERNEL_INVERSES: &[(&str, &str)] =
    &[("kernel_fork", "kernel_clear"), ("kernel_vm_ctl", "kernel_vm_ctl"), ("kernel_schedule", "kernel_schedule")];

/// The fields entry point `start` may write before a request of its reaches `declaring` again.
fn fields<'a>(tracked: &'a Tracked, entries: &[EntryPoint], start: usize, declaring: &str) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::from([start]);
    let mut todo = vec![start];
    let mut out = BTreeSet::new();
    while let Some(e) = todo.pop() {
        out.extend(entries[e].local.keys().map(|(f, _)| tracked.fields[*f].name.as_str()));
        for &r in &entries[e].receivers {
            if entries[r].server != declaring && seen.insert(r) {
                todo.push(r);
            }
        }
    }
    out
}

fn kernel_calls(row: &TableRow) -> BTreeSet<&str> {
    row.send_sites.iter().filter(|s| s.to == KERNEL_COMPONENT).map(|s| s.call.as_str()).collect()
}

/// Checks every declared compensation of `components` against `table` and records the inverses in
/// its send sites.
pub fn check_and_record(
    table: &mut RecoveryTable,
    components: &Components,
    entries: &[EntryPoint],
    tracked: &Tracked,
) -> Result<(), AnalysisError> {
    let entry =
        |server: &str, m_type: i32| entries.iter().position(|e| e.server == server && e.m_type == m_type as i128);
    for server in &components.servers {
        for decl in &server.compensations {
            let fail = |why: String| {
                let (file, line) = decl.site.rsplit_once(':').unwrap_or((&decl.site, "0"));
                AnalysisError::at(file, line.parse().unwrap_or(0), 1, format!("compensation: {why}"))
            };
            let (forward, inverse) = (decl.forward as i32, decl.inverse as i32);
            let receiver = table
                .rows
                .iter()
                .flat_map(|r| r.send_sites.iter().filter(|s| r.server == server.name && s.m_type == forward))
                .map(|s| s.to.clone())
                .next()
                .ok_or_else(|| fail(format!("{} never sends type {forward:#x}", server.name)))?;
            let forward_row = table
                .lookup(&receiver, forward)
                .ok_or_else(|| fail(format!("{receiver} has no handler for type {forward:#x}")))?;
            let inverse_row = table.lookup(&receiver, inverse).ok_or_else(|| {
                fail(format!("the inverse of {}: {receiver} has no handler for type {inverse:#x}", forward_row.call))
            })?;
            let fused = table.rows.iter().flat_map(|r| &r.send_sites).any(|s| s.to == receiver && s.m_type == inverse);
            if !fused {
                return Err(fail(format!(
                    "no send site sends {} to {receiver}: the inverse is never fused",
                    inverse_row.call
                )));
            }
            let (Some(f), Some(i)) = (entry(&receiver, forward), entry(&receiver, inverse)) else {
                return Err(fail(format!("{receiver}'s rows for {forward:#x} and {inverse:#x} are not entry points")));
            };
            let covered = fields(tracked, entries, i, &server.name);
            let uncovered: Vec<&str> =
                fields(tracked, entries, f, &server.name).difference(&covered).copied().collect();
            if !uncovered.is_empty() {
                return Err(fail(format!(
                    "{} does not undo {}: it never writes {}",
                    inverse_row.call,
                    forward_row.call,
                    uncovered.join(", ")
                )));
            }
            let undone = kernel_calls(inverse_row);
            for call in kernel_calls(forward_row) {
                let undoer = KERNEL_INVERSES.iter().find(|(c, _)| *c == call).map(|(_, u)| *u);
                if !undoer.is_some_and(|u| undone.contains(u)) {
                    return Err(fail(format!("{} does not undo {}'s {call}", inverse_row.call, forward_row.call)));
                }
            }
            let name = inverse_row.call.clone();
            for row in table.rows.iter_mut().filter(|r| r.server == server.name) {
                for site in row.send_sites.iter_mut().filter(|s| s.to == receiver && s.m_type == forward) {
                    site.inverse = Some(name.clone());
                }
            }
        }
    }
    Ok(())
}

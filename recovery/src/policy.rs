//! Recovery policies, side by side, and the decision each takes on a crash.
//!
//! Each policy is one small function of the crash (which server, which request, the recovery
//! window's outgoing IPC) and, for `table` and `srs`, the recovery-class table. The decision says
//! what to do with the crashed server's state, what the requester sees, and why — the reason is
//! what the decision trail shows people.

use crate::table::{RecoveryClass, RecoveryTable, TableRow};
use crate::window::Window;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The policies compared (DESIGN: "Recovery policies compared side by side").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyKind {
    /// A crashed server stays dead.
    None,
    /// MINIX 3 classic: a fresh incarnation with initial state.
    Restart,
    /// Always roll back to the loop-top checkpoint, ignoring other components.
    Rollback,
    /// OSIRIS-like: roll back only if no outgoing IPC happened in the window, else fail-stop.
    Pessimistic,
    /// The static recovery-class table decides (R, P, G).
    Table,
    /// SRS crash suppression with on-demand restore, under the table's decisions.
    Srs,
}

impl PolicyKind {
    /// Every policy, in the order reports show them.
    pub const ALL: [PolicyKind; 6] = [
        PolicyKind::None,
        PolicyKind::Restart,
        PolicyKind::Rollback,
        PolicyKind::Pessimistic,
        PolicyKind::Table,
        PolicyKind::Srs,
    ];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            PolicyKind::None => "none",
            PolicyKind::Restart => "restart",
            PolicyKind::Rollback => "rollback",
            PolicyKind::Pessimistic => "pessimistic",
            PolicyKind::Table => "table",
            PolicyKind::Srs => "srs",
        }
    }
}

impl fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for PolicyKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        PolicyKind::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| format!("unknown policy `{s}` (none, restart, rollback, pessimistic, table, srs)"))
    }
}

/// What happened to the crashed server, as the policy sees it.
#[derive(Clone, Debug)]
pub struct CrashFacts<'a> {
    /// The crashed server's name.
    pub server: &'a str,
    /// The message type of the request it crashed on.
    pub m_type: i32,
    /// The request's sender.
    pub requester: u32,
    /// Whether the requester is a user process (P ends it; a server requester gets an error).
    pub requester_is_user: bool,
    /// The recovery window of the crashed request.
    pub window: &'a Window,
    /// A hang found by heartbeats rather than a panic.
    pub hung: bool,
}

/// What to do with the crashed server's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StateAction {
    /// Roll back to the loop-top checkpoint.
    Rollback,
    /// Keep the state; make the crashed request's writes suspects (SRS).
    Suppress,
    /// Throw it away; start from the boot state.
    Fresh,
}

/// A policy's decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "action")]
pub enum Decision {
    /// Leave the server dead.
    LeaveDead {
        /// Why.
        reason: String,
    },
    /// Start a new incarnation.
    Recover {
        /// With which state.
        state: StateAction,
        /// Answer the requester with an error (its request was dropped).
        reply_error: bool,
        /// End the requesting process (P).
        end_requester: bool,
        /// Why.
        reason: String,
    },
    /// Halt the system in a controlled way.
    FailStop {
        /// Why.
        reason: String,
    },
}

impl Decision {
    /// The reason, whatever the decision.
    pub fn reason(&self) -> &str {
        match self {
            Decision::LeaveDead { reason } | Decision::Recover { reason, .. } | Decision::FailStop { reason } => reason,
        }
    }

    /// A short name: `leave-dead`, `restart`, `rollback`, `rollback+kill`, `suppress`, `fail-stop`.
    pub fn label(&self) -> &'static str {
        match self {
            Decision::LeaveDead { .. } => "leave-dead",
            Decision::FailStop { .. } => "fail-stop",
            Decision::Recover { state: StateAction::Fresh, .. } => "restart",
            Decision::Recover { state: StateAction::Rollback, end_requester: false, .. } => "rollback",
            Decision::Recover { state: StateAction::Rollback, end_requester: true, .. } => "rollback+kill",
            Decision::Recover { state: StateAction::Suppress, end_requester: false, .. } => "suppress",
            Decision::Recover { state: StateAction::Suppress, end_requester: true, .. } => "suppress+kill",
        }
    }
}

fn describe_window(w: &Window) -> String {
    match w.first_state_changing_ipc() {
        None => "no state-changing IPC left the server".to_string(),
        Some(first) => format!(
            "{} state-changing IPC left the server (first: type {:#x} to endpoint {})",
            w.outgoing().iter().filter(|o| o.kind.is_state_changing()).count(),
            first.message_type,
            first.destination
        ),
    }
}

fn row_text(row: &TableRow) -> String {
    format!(
        "table row {}/{} ({}): class {}, local {}, depends on [{}]",
        row.server,
        row.call,
        row.handler,
        row.class,
        row.local_class,
        row.depends_on.join(", ")
    )
}

/// The decision of `policy` on `crash`.
pub fn decide(policy: PolicyKind, crash: &CrashFacts<'_>, table: &RecoveryTable) -> Decision {
    let recover = |state, end_requester, reason: String| Decision::Recover {
        state,
        reply_error: true,
        end_requester: end_requester && crash.requester_is_user,
        reason,
    };
    match policy {
        PolicyKind::None => Decision::LeaveDead { reason: "policy none: a crashed server stays dead".into() },
        PolicyKind::Restart => {
            recover(StateAction::Fresh, false, "policy restart: fresh incarnation with boot state".into())
        }
        PolicyKind::Rollback => recover(
            StateAction::Rollback,
            false,
            format!("policy rollback: always roll back ({})", describe_window(crash.window)),
        ),
        PolicyKind::Pessimistic => {
            // OSIRIS's pessimistic model: any message out of the server closes the window.
            if crash.window.has_outgoing() {
                Decision::FailStop {
                    reason: format!(
                        "policy pessimistic: {} message(s) left the server, window closed",
                        crash.window.outgoing().len()
                    ),
                }
            } else {
                recover(StateAction::Rollback, false, "policy pessimistic: window still open, roll back".into())
            }
        }
        PolicyKind::Table | PolicyKind::Srs => {
            let state = if policy == PolicyKind::Srs { StateAction::Suppress } else { StateAction::Rollback };
            let Some(row) = table.lookup(crash.server, crash.m_type) else {
                return Decision::FailStop {
                    reason: format!(
                        "policy {policy}: no table row for {} type {:#x}: unknown effects, fail-stop",
                        crash.server, crash.m_type
                    ),
                };
            };
            match table_class(row, crash.window) {
                (RecoveryClass::R, why) => {
                    recover(state, false, format!("policy {policy}: class R ({why}); {}", row_text(row)))
                }
                (RecoveryClass::P, why) => {
                    recover(state, true, format!("policy {policy}: class P ({why}); {}", row_text(row)))
                }
                (RecoveryClass::G, why) => Decision::FailStop {
                    reason: format!(
                        "policy {policy}: class G ({why}); {}; {}",
                        describe_window(crash.window),
                        row_text(row)
                    ),
                },
            }
        }
    }
}

/// The class that applies at the crash point: the worst of the server's own writes (undone by the
/// rollback, so they count only as far as the requester's process is concerned) and of every
/// state-changing IPC already sent, by the table's per-site classes.
pub fn table_class(row: &TableRow, window: &Window) -> (RecoveryClass, String) {
    let mut class = match row.local_class {
        // Local global writes are undone by the rollback: nobody else saw them yet.
        RecoveryClass::G => RecoveryClass::R,
        other => other,
    };
    let mut why = format!("own writes {}", row.local_class);
    for sent in window.outgoing().iter().filter(|o| o.kind.is_state_changing()) {
        let site_class = row
            .send_sites
            .iter()
            .filter(|s| s.m_type as u32 == sent.message_type)
            .map(|s| s.class)
            .max()
            // A request the table does not list: assume the worst.
            .unwrap_or(RecoveryClass::G);
        if site_class > class {
            why = format!("sent type {:#x}, class {site_class} at the receiver", sent.message_type);
        }
        class = class.max(site_class);
    }
    (class, why)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Journal;
    use crate::table::{ClassCounts, SendSite};
    use std::collections::BTreeMap;

    fn row(local: RecoveryClass, site: RecoveryClass) -> RecoveryTable {
        RecoveryTable {
            provenance: "test".into(),
            rows: vec![TableRow {
                server: "pm".into(),
                m_type: 2,
                call: "fork".into(),
                handler: "mx_pm_do_fork".into(),
                depends_on: vec!["vm".into()],
                writes: BTreeMap::from([("pm".into(), ClassCounts::default())]),
                fields: BTreeMap::new(),
                local_class: local,
                send_sites: vec![SendSite {
                    to: "vm".into(),
                    m_type: 0xC02,
                    call: "vm_fork".into(),
                    class: site,
                    site: "x:1".into(),
                }],
                class: local.max(site),
            }],
        }
    }

    fn facts(window: &Window) -> CrashFacts<'_> {
        CrashFacts { server: "pm", m_type: 2, requester: 16, requester_is_user: true, window, hung: false }
    }

    #[test]
    fn table_rolls_back_before_the_first_state_changing_ipc_and_fail_stops_after() {
        let table = row(RecoveryClass::G, RecoveryClass::G);
        let journal = Journal::new();
        let mut window = Window::open(journal.checkpoint());
        let before = decide(PolicyKind::Table, &facts(&window), &table);
        assert_eq!(before.label(), "rollback", "{}", before.reason());
        window.record_request(3, 0xC02);
        let after = decide(PolicyKind::Table, &facts(&window), &table);
        assert_eq!(after.label(), "fail-stop");
        assert!(after.reason().contains("table row pm/fork"), "{}", after.reason());
    }

    #[test]
    fn process_local_effects_end_the_requester() {
        let table = row(RecoveryClass::P, RecoveryClass::P);
        let journal = Journal::new();
        let mut window = Window::open(journal.checkpoint());
        window.record_request(3, 0xC02);
        assert_eq!(decide(PolicyKind::Table, &facts(&window), &table).label(), "rollback+kill");
        assert_eq!(decide(PolicyKind::Srs, &facts(&window), &table).label(), "suppress+kill");
    }

    #[test]
    fn classic_policies_ignore_the_table() {
        let table = RecoveryTable::default();
        let journal = Journal::new();
        let mut window = Window::open(journal.checkpoint());
        window.record_request(3, 0xC02);
        assert_eq!(decide(PolicyKind::None, &facts(&window), &table).label(), "leave-dead");
        assert_eq!(decide(PolicyKind::Restart, &facts(&window), &table).label(), "restart");
        assert_eq!(decide(PolicyKind::Rollback, &facts(&window), &table).label(), "rollback");
        assert_eq!(decide(PolicyKind::Pessimistic, &facts(&window), &table).label(), "fail-stop");
        let fresh = Window::open(journal.checkpoint());
        assert_eq!(decide(PolicyKind::Pessimistic, &facts(&fresh), &table).label(), "rollback");
        let unknown = decide(PolicyKind::Table, &facts(&window), &table);
        assert_eq!(unknown.label(), "fail-stop", "no row: unknown effects");
    }

    #[test]
    fn replies_close_only_the_pessimistic_window() {
        let table = row(RecoveryClass::R, RecoveryClass::G);
        let journal = Journal::new();
        let mut window = Window::open(journal.checkpoint());
        window.record_reply(16, 0);
        window.record_notification(1, 0x1000);
        assert_eq!(decide(PolicyKind::Table, &facts(&window), &table).label(), "rollback");
        assert_eq!(decide(PolicyKind::Pessimistic, &facts(&window), &table).label(), "fail-stop");
    }

    #[test]
    fn policies_parse_by_name() {
        for p in PolicyKind::ALL {
            assert_eq!(p.name().parse::<PolicyKind>().unwrap(), p);
        }
        assert!("blind".parse::<PolicyKind>().is_err());
    }
}

//! Recovery policies, side by side, and the decision each takes on a crash.
//!
//! Each policy is one small function of the crash (which server, which request, the recovery
//! window's outgoing IPC) and, for `table` and `srs`, the recovery-class table. The decision says
//! what to do with the crashed server's state, what the requester sees, and why — the reason is
//! what the decision trail shows people.

use crate::table::{RecoveryClass, RecoveryTable, SendSite, TableRow};
use crate::window::{OutgoingKind, Window};
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
    /// OSIRIS's enhanced mode: the window stays open across interactions known to be idempotent
    /// (notifications, requests the receiver handles without lasting writes); the request is
    /// reprocessed after the rollback.
    Enhanced,
    /// The static recovery-class table decides (R, P, G).
    Table,
    /// SRS crash suppression with on-demand restore, under the table's decisions.
    Srs,
}

impl PolicyKind {
    /// Every policy, in the order reports show them.
    pub const ALL: [PolicyKind; 7] = [
        PolicyKind::None,
        PolicyKind::Restart,
        PolicyKind::Rollback,
        PolicyKind::Pessimistic,
        PolicyKind::Enhanced,
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
            PolicyKind::Enhanced => "enhanced",
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
            .ok_or_else(|| format!("unknown policy `{s}` (none, restart, rollback, pessimistic, enhanced, table, srs)"))
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
    /// Whether the requester waits in a sendrec for the answer: an error status is then an
    /// answer it takes, as every caller of a MINIX sendrec does (vfs from mfs, pm from vm). A
    /// notice's sender waits for a message of its own type instead, a step of a protocol that
    /// cannot take an error.
    pub requester_awaits_answer: bool,
    /// The recovery window of the crashed request.
    pub window: &'a Window,
    /// A hang found by heartbeats rather than a panic.
    pub hung: bool,
    /// Everything the crashed attempt sent completed (no request still waits for its answer), so
    /// handling the request again can replay it.
    pub replayable: bool,
    /// How many times this same request was already reprocessed and crashed again.
    pub attempts: u32,
    /// How many reprocessing attempts a request gets before the class decision applies (rs's
    /// retry budget, within the manifest's restart intensity: retrying never loops).
    pub max_attempts: u32,
    /// Requests of the window the crashed server knows how to undo (by message type): their
    /// declared inverses, checked by the analysis and listed in the table.
    pub compensable: &'a [u32],
    /// Requests of this type the server already dropped after their reprocessing crashed too, or
    /// after they hung: a persistent fault in this entry point.
    pub dropped_before: u32,
    /// The server comes back under a new endpoint (a stateless service: MINIX's driver
    /// recovery). The kernel failed its requester's sendrec with a dead endpoint when it died, so
    /// the requester, which finds the service again through ds, sends the request again itself.
    pub new_endpoint: bool,
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

/// What becomes of the request a server crashed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequestFate {
    /// The new incarnation handles it again from the checkpoint (OSIRIS's REPROCESSING_REQ),
    /// sending everything again: the requester never learns of the crash.
    Reprocess,
    /// The new incarnation handles it again from the checkpoint, replaying what the crashed
    /// attempt sent (its answers, its kernel calls' results) instead of sending it twice, then
    /// goes on live: nothing another component did for the request is done twice.
    Replay,
    /// It is dropped: a requester waiting for an answer gets `ERECOVERED`.
    Error,
    /// It is dropped unanswered: its requester saw the dead endpoint and sends it again to the
    /// server's new one (a server that comes back under a new endpoint).
    Resent,
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
        /// What becomes of the request it crashed on.
        request: RequestFate,
        /// The requests of the window to undo first, by their declared inverses (their call
        /// names, oldest first).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        compensate: Vec<String>,
        /// End the requesting process (P).
        end_requester: bool,
        /// Refuse the crashed request's entry point from now on: the server answers its later
        /// requests an error at once, without handling them (its reprocessing crashed too, or it
        /// hung again: a persistent fault, which every such request would meet). Only for
        /// requests whose sender waits for an answer.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        quarantine: bool,
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

    /// A short name: `leave-dead`, `fail-stop`, or the new incarnation's state (`restart`,
    /// `rollback`, `suppress`) with what else is done (`+replay`, `+compensate`, `+reprocess`,
    /// `+kill`, `+quarantine`).
    pub fn label(&self) -> &'static str {
        let base = self.base_label();
        if !matches!(self, Decision::Recover { quarantine: true, .. }) {
            return base;
        }
        match base {
            "rollback" => "rollback+quarantine",
            "rollback+compensate" => "rollback+compensate+quarantine",
            "rollback+kill" => "rollback+kill+quarantine",
            "rollback+compensate+kill" => "rollback+compensate+kill+quarantine",
            "suppress" => "suppress+quarantine",
            "suppress+compensate" => "suppress+compensate+quarantine",
            "suppress+kill" => "suppress+kill+quarantine",
            "suppress+compensate+kill" => "suppress+compensate+kill+quarantine",
            "rollback+resend" => "rollback+resend+quarantine",
            "rollback+compensate+resend" => "rollback+compensate+resend+quarantine",
            "suppress+resend" => "suppress+resend+quarantine",
            "suppress+compensate+resend" => "suppress+compensate+resend+quarantine",
            "restart+resend" => "restart+resend+quarantine",
            // Only a dropped request quarantines its entry point.
            other => other,
        }
    }

    fn base_label(&self) -> &'static str {
        let Decision::Recover { state, request, compensate, end_requester, .. } = self else {
            return match self {
                Decision::LeaveDead { .. } => "leave-dead",
                _ => "fail-stop",
            };
        };
        let reprocess = *request != RequestFate::Error;
        match (state, request, !compensate.is_empty()) {
            (StateAction::Rollback, RequestFate::Replay, _) => return "rollback+replay",
            (StateAction::Suppress, RequestFate::Replay, _) => return "suppress+replay",
            (StateAction::Fresh, RequestFate::Resent, _) => return "restart+resend",
            (StateAction::Rollback, RequestFate::Resent, false) => return "rollback+resend",
            (StateAction::Rollback, RequestFate::Resent, true) => return "rollback+compensate+resend",
            (StateAction::Suppress, RequestFate::Resent, false) => return "suppress+resend",
            (StateAction::Suppress, RequestFate::Resent, true) => return "suppress+compensate+resend",
            _ => {}
        }
        match (state, !compensate.is_empty(), reprocess, end_requester) {
            (StateAction::Fresh, _, true, _) => "restart+reprocess",
            (StateAction::Fresh, _, false, _) => "restart",
            (StateAction::Rollback, false, true, _) => "rollback+reprocess",
            (StateAction::Rollback, true, true, _) => "rollback+compensate+reprocess",
            (StateAction::Rollback, false, false, false) => "rollback",
            (StateAction::Rollback, true, false, false) => "rollback+compensate",
            (StateAction::Rollback, false, false, true) => "rollback+kill",
            (StateAction::Rollback, true, false, true) => "rollback+compensate+kill",
            (StateAction::Suppress, false, true, _) => "suppress+reprocess",
            (StateAction::Suppress, true, true, _) => "suppress+compensate+reprocess",
            (StateAction::Suppress, false, false, false) => "suppress",
            (StateAction::Suppress, true, false, false) => "suppress+compensate",
            (StateAction::Suppress, false, false, true) => "suppress+kill",
            (StateAction::Suppress, true, false, true) => "suppress+compensate+kill",
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
        "table row {}/{} ({}): class {}, local {}, depends on {}",
        row.server,
        row.call,
        row.handler,
        row.class,
        row.local_class,
        if row.depends_on.is_empty() { "no other server".to_string() } else { row.depends_on.join(", ") }
    )
}

/// Whether the crashed request may be handled again: requests from servers are steps of a
/// protocol and always are; a user's request is where the policy allows; never past the attempt
/// budget (a persistent fault then gets the policy's decision without reprocessing).
fn may_reprocess(crash: &CrashFacts<'_>, for_users: bool) -> bool {
    crash.attempts < crash.max_attempts && (!crash.requester_is_user || for_users)
}

/// A recovery that handles the request again, or drops it with an error answer.
fn recover(crash: &CrashFacts<'_>, state: StateAction, reprocess_users: bool, reason: String) -> Decision {
    let reprocess = may_reprocess(crash, reprocess_users);
    Decision::Recover {
        state,
        request: if reprocess { RequestFate::Reprocess } else { RequestFate::Error },
        compensate: Vec::new(),
        end_requester: false,
        quarantine: false,
        reason: with_attempts(reason, crash, reprocess),
    }
}

fn with_attempts(reason: String, crash: &CrashFacts<'_>, reprocess: bool) -> String {
    match (reprocess, crash.attempts) {
        // Its requester resends it ([`decide`] says so).
        (true, _) if crash.new_endpoint => reason,
        (true, 0) => format!("{reason}; the request is reprocessed"),
        (true, n) => format!("{reason}; the request is reprocessed (attempt {} of {})", n + 1, crash.max_attempts),
        (false, n) if n >= crash.max_attempts => {
            format!(
                "{reason}; the request crashed again when reprocessed ({}): it is dropped",
                crate::counted(u64::from(n), "time")
            )
        }
        (false, _) => reason,
    }
}

/// A server's notice the table must fail-stop for, after the retries: nobody can take an error
/// in the middle of a protocol. (A server waiting in a sendrec takes one like a user.)
fn server_request_gives_up(crash: &CrashFacts<'_>) -> bool {
    protocol_step(crash) && crash.attempts >= crash.max_attempts
}

/// The request is a step of a protocol between servers, whose sender cannot take an error answer.
fn protocol_step(crash: &CrashFacts<'_>) -> bool {
    !crash.requester_is_user && !crash.requester_awaits_answer
}

/// The decision of `policy` on `crash`. A server that comes back under a new endpoint recovers as
/// decided, but its request is its requester's to send again: handled again, its answer would
/// reach nobody, and the requester's resend would do it twice.
pub fn decide(policy: PolicyKind, crash: &CrashFacts<'_>, table: &RecoveryTable) -> Decision {
    match decide_in_place(policy, crash, table) {
        Decision::Recover { state, compensate, quarantine, reason, .. } if crash.new_endpoint => Decision::Recover {
            state,
            request: RequestFate::Resent,
            compensate,
            end_requester: false,
            quarantine,
            reason: format!(
                "{reason}; it comes back under a new endpoint, so its requester, told the old one is dead, sends the request again"
            ),
        },
        decision => decision,
    }
}

/// The decision of `policy` on `crash`, for a server that comes back under the same endpoint.
fn decide_in_place(policy: PolicyKind, crash: &CrashFacts<'_>, table: &RecoveryTable) -> Decision {
    if policy != PolicyKind::None && server_request_gives_up(crash) {
        return Decision::FailStop {
            reason: format!(
                "policy {policy}: a request from a server crashed {} when reprocessed (a persistent fault in a protocol step)",
                crate::counted(u64::from(crash.attempts), "time")
            ),
        };
    }
    match policy {
        PolicyKind::None => Decision::LeaveDead { reason: "policy none: a crashed server stays dead".into() },
        PolicyKind::Restart => {
            recover(crash, StateAction::Fresh, false, "policy restart: fresh incarnation with boot state".into())
        }
        PolicyKind::Rollback => recover(
            crash,
            StateAction::Rollback,
            false,
            format!("policy rollback: always roll back ({})", describe_window(crash.window)),
        ),
        PolicyKind::Pessimistic => {
            // OSIRIS's pessimistic model: any message out of the server closes the window.
            if crash.window.has_outgoing() {
                Decision::FailStop {
                    reason: format!(
                        "policy pessimistic: {} left the server, window closed",
                        crate::counted(crash.window.outgoing().len() as u64, "message")
                    ),
                }
            } else {
                recover(crash, StateAction::Rollback, false, "policy pessimistic: window still open, roll back".into())
            }
        }
        PolicyKind::Enhanced => match first_non_idempotent(crash, table) {
            Some(why) => Decision::FailStop { reason: format!("policy enhanced: window closed by {why}") },
            None => recover(
                crash,
                StateAction::Rollback,
                true,
                "policy enhanced: only idempotent interactions left the server, roll back".into(),
            ),
        },
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
            let at = table_class(row, crash.window, crash.compensable);
            let undo =
                if at.compensated.is_empty() { String::new() } else { format!(", undo {}", at.compensated.join(", ")) };
            // A transient fault: handle the request again, replaying what the crashed attempt
            // sent, so nothing is sent twice and the requester never sees the crash. An entry
            // point known to crash again when reprocessed is not retried.
            if crash.replayable && crash.attempts < crash.max_attempts && crash.dropped_before == 0 {
                let done = if crash.new_endpoint { "completed" } else { "replayed, nothing sent twice" };
                let reason = format!(
                    "policy {policy}: {} of the crashed attempt {done}; class {} if it keeps crashing ({}{undo}); {}",
                    crate::counted(crash.window.outgoing().len() as u64, "message"),
                    at.class,
                    at.why,
                    row_text(row)
                );
                return Decision::Recover {
                    state,
                    request: RequestFate::Replay,
                    compensate: Vec::new(),
                    end_requester: false,
                    quarantine: false,
                    reason: with_attempts(reason, crash, true),
                };
            }
            // Given up (a persistent fault, or a request still waiting for its answer): the class
            // decides, after undoing what has an inverse. A fault shown persistent — the request
            // crashed again when reprocessed, or its entry point hung a second time — would meet
            // every later request of the entry point: those are refused with an error at once
            // (quarantine) rather than crash the server, or stall it for two heartbeat periods,
            // each time. Refusing before the handler runs changes nothing, so it is safe whatever
            // the class.
            let persistent = crash.attempts >= crash.max_attempts || (crash.hung && crash.dropped_before > 0);
            let quarantine = persistent && crash.requester_awaits_answer;
            let reason = |c: RecoveryClass| {
                let reason = with_attempts(
                    format!("policy {policy}: class {c} ({}{undo}); {}", at.why, row_text(row)),
                    crash,
                    false,
                );
                match (quarantine, crash.attempts >= crash.max_attempts) {
                    (false, _) => reason,
                    (true, true) => format!("{reason}; its later requests are refused (a persistent fault)"),
                    (true, false) => format!(
                        "{reason}; it hung again ({} dropped before): its later requests are refused (a persistent hang)",
                        crate::counted(u64::from(crash.dropped_before), "request")
                    ),
                }
            };
            let give_up = |end_requester: bool, c| Decision::Recover {
                state,
                request: RequestFate::Error,
                compensate: at.compensated.clone(),
                end_requester: end_requester && crash.requester_is_user,
                quarantine,
                reason: reason(c),
            };
            match at.class {
                // A server in the middle of a protocol cannot take an error.
                _ if protocol_step(crash) => Decision::FailStop {
                    reason: format!(
                        "policy {policy}: a server's request that cannot be handled again; {}",
                        reason(at.class)
                    ),
                },
                RecoveryClass::R => give_up(false, RecoveryClass::R),
                RecoveryClass::P => give_up(true, RecoveryClass::P),
                RecoveryClass::G => Decision::FailStop {
                    reason: format!(
                        "policy {policy}: class G ({}); {}; {}",
                        at.why,
                        describe_window(crash.window),
                        row_text(row)
                    ),
                },
            }
        }
    }
}

/// The first message out of the window that OSIRIS's enhanced mode cannot count as idempotent:
/// anything but a notification or a request whose receiving handler writes nothing that lasts
/// (class R at the receiver, by the table). An answer released someone: not idempotent.
fn first_non_idempotent(crash: &CrashFacts<'_>, table: &RecoveryTable) -> Option<String> {
    let row = table.lookup(crash.server, crash.m_type);
    crash.window.outgoing().iter().find_map(|o| {
        let idempotent = match o.kind {
            OutgoingKind::Notification => true,
            OutgoingKind::Reply => false,
            OutgoingKind::StateChangingRequest { .. } => row.is_some_and(|row| {
                let sites = row.send_sites.iter().filter(|s| s.m_type as u32 == o.message_type);
                sites.clone().count() > 0 && sites.map(|s| s.class).max() == Some(RecoveryClass::R)
            }),
        };
        (!idempotent).then(|| format!("type {:#x} to endpoint {}", o.message_type, o.destination))
    })
}

/// The class that applies at a crash point, and what it takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassAt {
    /// The class that decides.
    pub class: RecoveryClass,
    /// The sent requests to undo by their declared inverses, by call name, oldest first.
    pub compensated: Vec<String>,
    /// Why, for people.
    pub why: String,
}

/// The class that applies at the crash point: the worst of the server's own writes (undone by the
/// rollback, so they count only as far as the requester's process is concerned) and of every
/// state-changing IPC already sent, by the table's per-site classes — except those with a
/// declared inverse (`compensable`), which are undone and so change nothing. A row with unknown
/// effects (code the analysis could not follow: a kernel call outside the window...) is G at every
/// point: the rollback may not restore what they changed, and when they ran is not known.
pub fn table_class(row: &TableRow, window: &Window, compensable: &[u32]) -> ClassAt {
    if let Some(first) = row.unknown_effects.first() {
        return ClassAt {
            class: RecoveryClass::G,
            compensated: Vec::new(),
            why: format!("unknown effects ({first}{})", if row.unknown_effects.len() > 1 { ", ..." } else { "" }),
        };
    }
    let mut class = match row.local_class {
        // Local global writes are undone by the rollback: nobody else saw them yet.
        RecoveryClass::G => RecoveryClass::R,
        other => other,
    };
    let mut compensated = Vec::new();
    let mut why = format!("own writes {}", row.local_class);
    for sent in window.outgoing().iter().filter(|o| o.kind.is_state_changing()) {
        let sites: Vec<&SendSite> = row.send_sites.iter().filter(|s| s.m_type as u32 == sent.message_type).collect();
        // A request the table does not list: assume the worst.
        let site_class = sites.iter().map(|s| s.class).max().unwrap_or(RecoveryClass::G);
        if site_class > RecoveryClass::R
            && !sites.is_empty()
            && sites.iter().all(|s| s.inverse.is_some())
            && compensable.contains(&sent.message_type)
        {
            let name = sites[0].call.clone();
            if !compensated.contains(&name) {
                compensated.push(name);
            }
            continue;
        }
        if site_class > class {
            why = format!("sent type {:#x}, class {site_class} at the receiver", sent.message_type);
        }
        class = class.max(site_class);
    }
    if !compensated.is_empty() && class == RecoveryClass::R {
        why = format!("{why}; what it sent is undone");
    }
    ClassAt { class, compensated, why }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Journal;
    use crate::table::{ClassCounts, SendSite};
    use std::collections::BTreeMap;

    const VM_FORK: u32 = 0xC02;

    fn row(local: RecoveryClass, site: RecoveryClass, inverse: Option<&str>) -> RecoveryTable {
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
                    m_type: VM_FORK as i32,
                    call: "vm_fork".into(),
                    class: site,
                    site: "x:1".into(),
                    inverse: inverse.map(String::from),
                }],
                unknown_effects: Vec::new(),
                class: local.max(site),
            }],
        }
    }

    /// A crash of pm's fork from a user, first attempt, whose window cannot be replayed.
    fn facts(window: &Window) -> CrashFacts<'_> {
        CrashFacts {
            server: "pm",
            m_type: 2,
            requester: 16,
            requester_is_user: true,
            requester_awaits_answer: true,
            window,
            hung: false,
            replayable: false,
            attempts: 0,
            max_attempts: 4,
            compensable: &[],
            dropped_before: 0,
            new_endpoint: false,
        }
    }

    fn sent_vm_fork() -> Window {
        let mut window = Window::open(Journal::new().checkpoint());
        window.record_request(3, VM_FORK);
        window
    }

    #[test]
    fn table_rolls_back_before_the_first_state_changing_ipc_and_fail_stops_after() {
        let table = row(RecoveryClass::G, RecoveryClass::G, None);
        let window = Window::open(Journal::new().checkpoint());
        let before = decide(PolicyKind::Table, &facts(&window), &table);
        assert_eq!(before.label(), "rollback", "{}", before.reason());
        let window = sent_vm_fork();
        let after = decide(PolicyKind::Table, &facts(&window), &table);
        assert_eq!(after.label(), "fail-stop");
        assert!(after.reason().contains("table row pm/fork"), "{}", after.reason());
    }

    #[test]
    fn a_row_with_unknown_effects_fail_stops_even_before_any_ipc() {
        let mut table = row(RecoveryClass::G, RecoveryClass::G, None);
        table.rows[0].unknown_effects.push("kernel call: sys_frame_zero outside ctx.kernel at x:1".into());
        let window = Window::open(Journal::new().checkpoint());
        let d = decide(PolicyKind::Table, &facts(&window), &table);
        assert_eq!(d.label(), "fail-stop", "{}", d.reason());
        assert!(d.reason().contains("unknown effects (kernel call"), "{}", d.reason());
    }

    #[test]
    fn table_replays_a_request_whose_sends_all_completed() {
        let table = row(RecoveryClass::G, RecoveryClass::G, None);
        let window = sent_vm_fork();
        let transient = CrashFacts { replayable: true, ..facts(&window) };
        let d = decide(PolicyKind::Table, &transient, &table);
        assert_eq!(d.label(), "rollback+replay", "{}", d.reason());
        assert!(d.reason().contains("nothing sent twice") && d.reason().contains("class G if it keeps crashing"));
        assert_eq!(decide(PolicyKind::Srs, &transient, &table).label(), "suppress+replay");
        // Past the attempt budget (a persistent fault), the class decides.
        let persistent = CrashFacts { attempts: 4, ..transient };
        let given_up = decide(PolicyKind::Table, &persistent, &table);
        assert_eq!(given_up.label(), "fail-stop", "{}", given_up.reason());
        // A class-R entry point drops the request with an error and refuses its later ones;
        // once one was dropped, a request that still reaches it (a notice) is not retried, and
        // one that hangs again quarantines the entry point.
        let local = row(RecoveryClass::G, RecoveryClass::R, None);
        assert_eq!(decide(PolicyKind::Table, &persistent, &local).label(), "rollback+quarantine");
        let known = CrashFacts { dropped_before: 1, ..transient };
        assert_eq!(decide(PolicyKind::Table, &known, &local).label(), "rollback", "not retried");
        let hangs_again = CrashFacts { hung: true, ..known };
        let d = decide(PolicyKind::Table, &hangs_again, &local);
        assert_eq!(d.label(), "rollback+quarantine", "{}", d.reason());
        assert!(d.reason().contains("later requests are refused (a persistent hang)"), "{}", d.reason());
    }

    #[test]
    fn a_fault_shown_persistent_quarantines_its_entry_point_where_an_error_can_be_taken() {
        let local = row(RecoveryClass::G, RecoveryClass::R, None);
        let window = Window::open(Journal::new().checkpoint());
        // The first crash is replayed: a transient fault is not quarantined.
        let first = CrashFacts { replayable: true, max_attempts: 1, ..facts(&window) };
        assert_eq!(decide(PolicyKind::Table, &first, &local).label(), "rollback+replay");
        // A request that crashed again when reprocessed: dropped, and its entry point refused.
        let again = CrashFacts { attempts: 1, ..first };
        let d = decide(PolicyKind::Table, &again, &local);
        assert_eq!(d.label(), "rollback+quarantine", "{}", d.reason());
        assert!(d.reason().contains("its later requests are refused (a persistent fault)"), "{}", d.reason());
        assert_eq!(decide(PolicyKind::Srs, &again, &local).label(), "suppress+quarantine");
        let process_local = row(RecoveryClass::P, RecoveryClass::P, None);
        assert_eq!(decide(PolicyKind::Table, &again, &process_local).label(), "rollback+kill+quarantine");
        // A first hang is dropped, not quarantined: a transient hang fires once.
        let hung = CrashFacts { hung: true, replayable: false, ..first };
        assert_eq!(decide(PolicyKind::Table, &hung, &local).label(), "rollback");
        // The baselines have no quarantine.
        for policy in [PolicyKind::Rollback, PolicyKind::Pessimistic, PolicyKind::Enhanced] {
            assert!(!decide(policy, &again, &local).label().contains("quarantine"), "{policy}");
        }
    }

    #[test]
    fn a_request_with_a_declared_inverse_is_undone_not_fail_stopped() {
        let table = row(RecoveryClass::G, RecoveryClass::G, Some("vm_exit"));
        let window = sent_vm_fork();
        // The inverse is in the table, but this crash's send cannot be undone (no answer to name
        // the child): fail-stop.
        assert_eq!(decide(PolicyKind::Table, &facts(&window), &table).label(), "fail-stop");
        let undoable = CrashFacts { compensable: &[VM_FORK], ..facts(&window) };
        let d = decide(PolicyKind::Table, &undoable, &table);
        assert_eq!(d.label(), "rollback+compensate", "{}", d.reason());
        let Decision::Recover { compensate, request, .. } = &d else { unreachable!() };
        assert_eq!((compensate.as_slice(), *request), (&["vm_fork".to_string()][..], RequestFate::Error));
        assert!(d.reason().contains("undo vm_fork"), "{}", d.reason());
        // Without the analysis's word in the table, a server's own declaration is not enough.
        let unchecked = row(RecoveryClass::G, RecoveryClass::G, None);
        assert_eq!(decide(PolicyKind::Table, &undoable, &unchecked).label(), "fail-stop");
    }

    #[test]
    fn process_local_effects_end_the_requester() {
        let table = row(RecoveryClass::P, RecoveryClass::P, None);
        let window = sent_vm_fork();
        assert_eq!(decide(PolicyKind::Table, &facts(&window), &table).label(), "rollback+kill");
        assert_eq!(decide(PolicyKind::Srs, &facts(&window), &table).label(), "suppress+kill");
    }

    #[test]
    fn a_servers_request_is_reprocessed_by_every_recovering_policy_and_never_answered_an_error() {
        let table = row(RecoveryClass::R, RecoveryClass::R, None);
        let window = Window::open(Journal::new().checkpoint());
        // Nothing was sent: the window replays trivially.
        let from_server = CrashFacts {
            requester_is_user: false,
            requester_awaits_answer: false,
            requester: 4,
            replayable: true,
            ..facts(&window)
        };
        for (policy, label) in [
            (PolicyKind::Restart, "restart+reprocess"),
            (PolicyKind::Rollback, "rollback+reprocess"),
            (PolicyKind::Pessimistic, "rollback+reprocess"),
            (PolicyKind::Enhanced, "rollback+reprocess"),
            (PolicyKind::Table, "rollback+replay"),
            (PolicyKind::Srs, "suppress+replay"),
        ] {
            let d = decide(policy, &from_server, &table);
            assert!(d.label().starts_with(label), "{policy}: {}", d.label());
            assert!(!matches!(d, Decision::Recover { request: RequestFate::Error, .. }), "{policy}");
        }
        let exhausted = CrashFacts { attempts: 4, ..from_server };
        assert_eq!(decide(PolicyKind::Rollback, &exhausted, &table).label(), "fail-stop");
        assert_eq!(decide(PolicyKind::Table, &exhausted, &table).label(), "fail-stop");
        // A server waiting in a sendrec (vfs for mfs) takes the error answer a user would.
        let in_sendrec = CrashFacts { requester_awaits_answer: true, ..exhausted };
        for policy in [PolicyKind::Rollback, PolicyKind::Table] {
            let d = decide(policy, &in_sendrec, &table);
            assert!(matches!(d, Decision::Recover { request: RequestFate::Error, .. }), "{policy}: {}", d.reason());
        }
    }

    /// A driver that comes back under a new endpoint recovers as any server would, but nobody
    /// waits for its answer any more: its requester resends, so the request is neither handled
    /// again nor answered, whatever the policy; a policy that halts still halts.
    #[test]
    fn a_request_to_a_server_back_under_a_new_endpoint_is_left_to_its_requester() {
        let table = row(RecoveryClass::R, RecoveryClass::R, None);
        let fresh = Window::open(Journal::new().checkpoint());
        let driver = CrashFacts {
            requester_is_user: false,
            requester: 7,
            replayable: true,
            new_endpoint: true,
            ..facts(&fresh)
        };
        for (policy, label) in [
            (PolicyKind::Restart, "restart+resend"),
            (PolicyKind::Rollback, "rollback+resend"),
            (PolicyKind::Pessimistic, "rollback+resend"),
            (PolicyKind::Enhanced, "rollback+resend"),
            (PolicyKind::Table, "rollback+resend"),
            (PolicyKind::Srs, "suppress+resend"),
        ] {
            let d = decide(policy, &driver, &table);
            assert_eq!(d.label(), label, "{policy}: {}", d.reason());
            assert!(d.reason().ends_with("sends the request again"), "{policy}: {}", d.reason());
        }
        let persistent = CrashFacts { attempts: 4, ..driver };
        assert_eq!(decide(PolicyKind::Table, &persistent, &table).label(), "rollback+resend+quarantine");
        let answered = sent_vm_fork();
        let closed = CrashFacts { window: &answered, ..driver };
        assert_eq!(decide(PolicyKind::Pessimistic, &closed, &table).label(), "fail-stop");
        assert_eq!(decide(PolicyKind::None, &driver, &table).label(), "leave-dead");
    }

    #[test]
    fn enhanced_keeps_the_window_open_across_idempotent_requests_only() {
        let window = sent_vm_fork();
        let read_only = row(RecoveryClass::G, RecoveryClass::R, None);
        let d = decide(PolicyKind::Enhanced, &facts(&window), &read_only);
        assert_eq!(d.label(), "rollback+reprocess", "{}", d.reason());
        let changing = row(RecoveryClass::G, RecoveryClass::G, None);
        assert_eq!(decide(PolicyKind::Enhanced, &facts(&window), &changing).label(), "fail-stop");
        let mut answered = Window::open(Journal::new().checkpoint());
        answered.record_reply(16, 0);
        assert_eq!(decide(PolicyKind::Enhanced, &facts(&answered), &read_only).label(), "fail-stop");
    }

    #[test]
    fn classic_policies_ignore_the_table() {
        let table = RecoveryTable::default();
        let window = sent_vm_fork();
        assert_eq!(decide(PolicyKind::None, &facts(&window), &table).label(), "leave-dead");
        assert_eq!(decide(PolicyKind::Restart, &facts(&window), &table).label(), "restart");
        assert_eq!(decide(PolicyKind::Rollback, &facts(&window), &table).label(), "rollback");
        assert_eq!(decide(PolicyKind::Pessimistic, &facts(&window), &table).label(), "fail-stop");
        let fresh = Window::open(Journal::new().checkpoint());
        assert_eq!(decide(PolicyKind::Pessimistic, &facts(&fresh), &table).label(), "rollback");
        let unknown = decide(PolicyKind::Table, &facts(&window), &table);
        assert_eq!(unknown.label(), "fail-stop", "no row: unknown effects");
    }

    #[test]
    fn replies_close_only_the_pessimistic_window() {
        let table = row(RecoveryClass::R, RecoveryClass::G, None);
        let mut window = Window::open(Journal::new().checkpoint());
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

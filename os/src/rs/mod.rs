//! rs, the reincarnation server: it starts the services of the manifest, pings each at its
//! heartbeat period, counts a service that missed two periods as hung (and kills it, which takes
//! the crash path), and is the one place that learns of service deaths (it is their signal
//! manager). For each death it asks the recovery manager (`recovery::decide`, under the run's
//! policy and recovery-class table) what to do, applies the decision — roll the remains back,
//! suppress the crashed request SRS-style, start fresh, halt, or leave the service dead; have the
//! request handled again (replaying what its crashed attempt sent) or answered an error; undo
//! what it sent by declared inverses — and starts the new incarnation under the manifest's
//! restart pacing. A request handled again that crashes again is given up (its retry budget,
//! `REPROCESS_ATTEMPTS`). Every decision is logged with its reason, in the event log and in the
//! run's decision log.
//!
//! rs is part of the reliable computing base, with the kernel (as in OSIRIS): faults are not
//! injected into it, so its state is plain data, not tracked.
//!
//! It publishes every service's label -> endpoint in ds at each (re)start (and all of them again
//! when ds restarts fresh), so a stateless service that comes back under a new endpoint is found
//! again by name.
//!
//! Invariant: rs never blocks on a supervised service — it only notifies them, posts labels to ds
//! asynchronously and receives — so a hung service (ds included) cannot hang rs.

pub mod decisions;
pub mod pacing;

use crate::errno::Errno;
use crate::proto::DS;
use crate::proto::ds::{DS_DELETE, DS_PUBLISH, DSF_OVERWRITE, DsNameRequest, DsPublishRequest, DsValue, encode_name};
use crate::task::{Handoff, Remains, Resumed, Vault};
use decisions::{DecisionLog, DecisionRecord};
use kernel_sim::manifest::{FIRST_USER_SLOT, Manifest};
use kernel_sim::msgtype::NOTIFY_MESSAGE;
use kernel_sim::{Death, EndCause, Endpoint, Message, Micros, Proc, ProcState};
use pacing::{Pacing, Verdict};
use recovery::policy::RequestFate;
use recovery::{CrashFacts, Decision, PolicyKind, RecoveryTable, StateAction, decide};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// How many times a crashed request is handled again before the policy's decision without
/// reprocessing applies: a transient fault fires once, so one attempt tells it from a persistent
/// one; more would only spend the restart intensity (which bounds it too).
pub const REPROCESS_ATTEMPTS: u32 = 1;

/// How a run recovers: the policy, the table it may consult, and where decisions are logged.
#[derive(Clone)]
pub struct RecoveryConfig {
    /// The policy.
    pub policy: PolicyKind,
    /// The recovery-class table (`table` and `srs` read it).
    pub table: Arc<RecoveryTable>,
    /// Where rs logs its decisions for the harness.
    pub log: DecisionLog,
}

/// What rs knows of one supervised service.
#[derive(Debug)]
struct Supervised {
    name: String,
    ep: Endpoint,
    heartbeat: Option<Micros>,
    life: Life,
    pacing: Pacing,
    core: bool,
    /// Whether it comes back under the same endpoint (else under the slot's next generation).
    stateful: bool,
    /// What the delayed restart will do.
    pending: Option<Pending>,
    /// The request being reprocessed, and how many times it crashed again so far.
    retry: Option<(kernel_sim::Message, u32)>,
    /// Per message type, the requests dropped after their reprocessing crashed too.
    dropped: BTreeMap<i32, u32>,
    /// The entry points its incarnations refuse: a persistent fault was shown in each.
    quarantined: BTreeSet<i32>,
}

/// A restart decided but not yet done.
struct Pending {
    handoff: Handoff,
    /// The requester to end once the service is back (P).
    end_requester: Option<Endpoint>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending").field("end_requester", &self.end_requester).finish_non_exhaustive()
    }
}

/// A service's life as rs sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Life {
    /// Running; `last_seen` is when it last answered a ping (or started).
    Up { last_seen: Micros },
    /// Dead; restart due at `at`.
    RestartAt { at: Micros },
    /// Dead for good.
    Down,
}

/// rs's whole state.
struct Rs {
    services: BTreeMap<Endpoint, Supervised>,
    recovery: RecoveryConfig,
    vault: Vault,
    /// The time of the next heartbeat round.
    next_round: Micros,
    /// The shortest heartbeat period: rs's tick.
    tick: Option<Micros>,
}

/// rs's program: `manifest` says what to start and how to supervise it, `recovery` how to bring
/// it back.
pub fn main(proc: &Proc, manifest: Arc<Manifest>, recovery: RecoveryConfig, vault: Vault) {
    let mut rs = Rs { services: BTreeMap::new(), recovery, vault, next_round: 0, tick: None };
    let me = proc.endpoint();
    for s in manifest.services.iter().filter(|s| s.slot != me.slot()) {
        let ep = match proc.sys_spawn_service(&s.name, None) {
            Ok(ep) => ep,
            Err(e) => {
                let _ = proc.sys_shutdown(&format!("rs: cannot start {}: {e}", s.name));
                return;
            }
        };
        rs.services.insert(
            ep,
            Supervised {
                name: s.name.clone(),
                ep,
                heartbeat: s.heartbeat,
                life: Life::Up { last_seen: proc.now() },
                pacing: Pacing::new(s.restart),
                core: s.core,
                stateful: s.stateful,
                pending: None,
                retry: None,
                dropped: BTreeMap::new(),
                quarantined: BTreeSet::new(),
            },
        );
    }
    // Every service's label -> endpoint, rs's own included, once ds can queue them.
    publish_label(proc, &rs.services, "rs", me);
    for s in rs.services.values() {
        publish_label(proc, &rs.services, &s.name, s.ep);
    }
    rs.tick = rs.services.values().filter_map(|s| s.heartbeat).min();
    rs.next_round = proc.now() + rs.tick.unwrap_or(0);
    rs.arm(proc);
    loop {
        let Ok(m) = proc.receive(Endpoint::ANY) else { continue };
        if m.m_type != NOTIFY_MESSAGE && is_ds(&rs.services, m.source) {
            // ds's answer to a label rs posted: nothing waits for it (rs never waits for ds).
            if m.m_type < 0 {
                proc.note(&format!("rs: ds refused a label: status {}", m.m_type));
            }
            continue;
        }
        if m.m_type != NOTIFY_MESSAGE {
            // rs serves no calls: anything else is a stranger's mistake.
            let _ = proc.sendnb(m.source, kernel_sim::Message::new(Errno::ENOSYS.status()));
            continue;
        }
        if m.source == Endpoint::KERNEL {
            while let Ok(Some(death)) = proc.sys_next_death() {
                rs.on_death(proc, death);
            }
            rs.on_time(proc);
        } else if let Some(s) = rs.services.get_mut(&m.source)
            && matches!(s.life, Life::Up { .. })
        {
            s.life = Life::Up { last_seen: proc.now() };
        }
        rs.arm(proc);
    }
}

impl Rs {
    /// Sets the alarm for the next heartbeat round or due restart, whichever is first.
    fn arm(&self, proc: &Proc) {
        let restarts = self.services.values().filter_map(|s| match s.life {
            Life::RestartAt { at } => Some(at),
            _ => None,
        });
        let heartbeat = self.tick.map(|_| self.next_round);
        if let Some(next) = restarts.chain(heartbeat).min() {
            let _ = proc.sys_setalarm(next.saturating_sub(proc.now()).max(1));
        }
    }

    /// Heartbeat rounds and due restarts.
    fn on_time(&mut self, proc: &Proc) {
        let now = proc.now();
        let due: Vec<Endpoint> = self
            .services
            .values()
            .filter(|s| matches!(s.life, Life::RestartAt { at } if at <= now))
            .map(|s| s.ep)
            .collect();
        for ep in due {
            self.restart(proc, ep);
        }
        let Some(tick) = self.tick.filter(|_| now >= self.next_round) else { return };
        self.next_round = now + tick;
        let supervised: Vec<Endpoint> = self.services.keys().copied().collect();
        for s in self.services.values_mut() {
            let (Some(period), Life::Up { last_seen }) = (s.heartbeat, &s.life) else { continue };
            // A service blocked on another supervised service cannot answer a ping, but is not
            // the one that hangs: the one it waits for is found by its own heartbeats, and once
            // that one is back the waiter answers again.
            let waits_on_a_service = match proc.sys_procinfo(s.ep).map(|i| i.state) {
                Ok(ProcState::Sending(other) | ProcState::Receiving(other)) => supervised.contains(&other),
                _ => false,
            };
            if now.saturating_sub(*last_seen) > 2 * period && !waits_on_a_service {
                proc.note(&format!(
                    "rs: {} missed two heartbeats ({}us silent): killing it as hung",
                    s.name,
                    now - last_seen
                ));
                let _ = proc.sys_kill(s.ep);
            } else {
                let _ = proc.notify(s.ep);
            }
        }
    }

    fn on_death(&mut self, proc: &Proc, death: Death) {
        let now = proc.now();
        let Some(s) = self.services.get(&death.ep) else { return };
        let name = s.name.clone();
        let ran_for = now.saturating_sub(proc.sys_procinfo(death.ep).map(|i| i.started).unwrap_or(now));
        let hung = matches!(death.cause, EndCause::Killed { by } if by == proc.endpoint());
        let mut remains: Option<Box<Remains>> =
            proc.sys_take_remains(death.ep).ok().flatten().and_then(|b| b.downcast::<Remains>().ok());
        let policy = self.recovery.policy;
        let (max_attempts, retry) = (REPROCESS_ATTEMPTS.min(s.pacing.intensity().saturating_sub(1)), s.retry);
        // A death on the request being reprocessed is another attempt at it.
        let attempts = match (&remains, retry) {
            (Some(r), Some((request, n))) if request == r.request => n,
            _ => 0,
        };
        let decision = match &remains {
            Some(r) => {
                let facts = CrashFacts {
                    server: &name,
                    m_type: r.request.m_type,
                    requester: r.request.source.raw(),
                    requester_is_user: r.request.source.slot() >= FIRST_USER_SLOT,
                    requester_awaits_answer: r.requester_awaits_answer,
                    window: &r.window,
                    hung,
                    replayable: r.replayable(),
                    attempts,
                    max_attempts,
                    compensable: &r.compensable,
                    dropped_before: s.dropped.get(&r.request.m_type).copied().unwrap_or(0),
                    new_endpoint: !s.stateful,
                };
                decide(policy, &facts, &self.recovery.table)
            }
            None => died_outside_a_request(policy),
        };
        let record = DecisionRecord::new(now, &name, &death, remains.as_deref(), hung, &decision);
        proc.note(&record.to_string());
        self.recovery.log.push(record);
        match decision {
            Decision::LeaveDead { .. } => {
                // The system must live without it: nothing is cleaned, but its label goes from ds
                // (MINIX's rs unpublishes a service that is down for good), so that a lookup says
                // it is gone rather than naming a dead endpoint.
                self.services.get_mut(&death.ep).expect("found").life = Life::Down;
                unpublish_label(proc, &self.services, &name);
                if let Some(r) = remains {
                    self.vault.deposit(r.server, r.state.into_any());
                }
            }
            Decision::FailStop { reason } => self.fail_stop(proc, remains, &reason),
            Decision::Recover { state, request: fate, compensate, end_requester, quarantine, .. } => {
                let remains_server = remains.as_ref().map_or("", |r| r.server);
                let request_type = remains.as_ref().map(|r| r.request.m_type);
                let handoff = match remains.take() {
                    Some(r) => handoff(*r, state, fate, !compensate.is_empty()),
                    None => Handoff::default(),
                };
                let s = self.services.get_mut(&death.ep).expect("found");
                if let Some(m_type) = request_type.filter(|_| quarantine) {
                    s.quarantined.insert(m_type);
                }
                s.retry = match &handoff.request {
                    Some(Resumed::Reprocess { request, .. }) => Some((*request, attempts + 1)),
                    _ => None,
                };
                // A request that had been reprocessed and is dropped now: a persistent fault. So
                // is a hung one dropped (a hang is not handled again: its log is cut off), for
                // the entry point that keeps hanging halts the system rather than stall it.
                if let Some(m_type) = request_type.filter(|_| attempts > 0 || hung)
                    && matches!(handoff.request, Some(Resumed::Error { .. } | Resumed::Resent { .. }))
                {
                    *s.dropped.entry(m_type).or_default() += 1;
                }
                let end_requester = match &handoff.request {
                    Some(Resumed::Error { requester, .. }) if end_requester => Some(*requester),
                    _ => None,
                };
                match s.pacing.on_death(now, ran_for, state != StateAction::Fresh) {
                    Verdict::RestartAt(at) => {
                        s.life = Life::RestartAt { at };
                        s.pending = Some(Pending { handoff, end_requester });
                        if at <= now {
                            self.restart(proc, death.ep);
                        }
                    }
                    Verdict::GiveUp => {
                        let reason = format!(
                            "rs: {name} crashed more often than its restart intensity allows: escalating to fail-stop"
                        );
                        proc.note(&reason);
                        // The state the next incarnation would have had (recovered as decided)
                        // is the halted system's.
                        if let Some(state) = handoff.state {
                            self.vault.deposit(remains_server, state);
                        }
                        self.fail_stop(proc, None, &reason);
                    }
                }
            }
        }
    }

    fn restart(&mut self, proc: &Proc, ep: Endpoint) {
        let s = self.services.get_mut(&ep).expect("supervised");
        let Pending { mut handoff, end_requester } =
            s.pending.take().unwrap_or(Pending { handoff: Handoff::default(), end_requester: None });
        handoff.quarantined = s.quarantined.iter().copied().collect();
        let fresh = handoff.state.is_none();
        match proc.sys_spawn_service(&s.name, Some(Box::new(handoff))) {
            Ok(new_ep) => {
                s.life = Life::Up { last_seen: proc.now() };
                let name = s.name.clone();
                if new_ep != ep {
                    // A stateless service comes back under the slot's next generation.
                    let mut moved = self.services.remove(&ep).expect("supervised");
                    moved.ep = new_ep;
                    self.services.insert(new_ep, moved);
                    proc.note(&format!("rs: {name} restarted under a new endpoint {new_ep} (was {ep})"));
                }
                if name == DS_LABEL && fresh {
                    // A fresh ds knows nothing: every label again, its own included.
                    publish_label(proc, &self.services, "rs", proc.endpoint());
                    for s in self.services.values() {
                        publish_label(proc, &self.services, &s.name, s.ep);
                    }
                } else {
                    publish_label(proc, &self.services, &name, new_ep);
                }
            }
            Err(e) => {
                s.life = Life::Down;
                let (core, name) = (s.core, s.name.clone());
                if core {
                    let _ = proc.sys_shutdown(&format!("rs: cannot restart core service {name}: {e}"));
                } else {
                    unpublish_label(proc, &self.services, &name);
                }
                return;
            }
        }
        if let Some(requester) = end_requester {
            // P: the requester's process-local state elsewhere goes by the normal exit path.
            proc.note(&format!("rs: ending requester {requester} (process-local effects)"));
            let _ = proc.sys_kill(requester);
        }
    }

    /// A controlled halt: the crashed server's state (rolled back to its last checkpoint) stays
    /// for the consistency checker, the report goes to the log, the system stops.
    fn fail_stop(&mut self, proc: &Proc, remains: Option<Box<Remains>>, reason: &str) {
        if let Some(mut r) = remains {
            r.state.rollback();
            self.vault.deposit(r.server, r.state.into_any());
        }
        for s in self.services.values_mut() {
            s.life = Life::Down;
        }
        let _ = proc.sys_shutdown(&format!("fail-stop: {reason}"));
    }
}

/// The label ds runs under in the manifest.
const DS_LABEL: &str = "ds";

/// Whether `ep` is ds.
fn is_ds(services: &BTreeMap<Endpoint, Supervised>, ep: Endpoint) -> bool {
    services.get(&ep).is_some_and(|s| s.name == DS_LABEL)
}

/// Publishes `label` -> `ep` in ds, without waiting: the message queues at ds (or for its next
/// incarnation) and ds's answer, if any, is read and dropped by the loop. Nothing to do when the
/// manifest has no ds. (Each message to ds is sent where its type is written, so that the
/// analysis fuses the site to its one handler.)
fn publish_label(proc: &Proc, services: &BTreeMap<Endpoint, Supervised>, label: &str, ep: Endpoint) {
    if !has_ds(services) {
        return;
    }
    // ds is stateful: its endpoint never changes.
    let published = encode_name(label).and_then(|name| {
        let (kind, value) = DsValue::Endpoint(ep).encode();
        let request = DsPublishRequest { name, kind, flags: DSF_OVERWRITE, value };
        proc.asynsend(DS, Message::with(DS_PUBLISH, &request)).map_err(Errno::from)
    });
    if let Err(e) = published {
        proc.note(&format!("rs: could not publish {label} = {ep} in ds: {e}"));
    }
}

/// Deletes `label` from ds, without waiting, as `publish_label` publishes; nothing when the label
/// is ds's own.
fn unpublish_label(proc: &Proc, services: &BTreeMap<Endpoint, Supervised>, label: &str) {
    if !has_ds(services) || label == DS_LABEL {
        return;
    }
    let deleted = encode_name(label)
        .and_then(|name| proc.asynsend(DS, Message::with(DS_DELETE, &DsNameRequest { name })).map_err(Errno::from));
    if let Err(e) = deleted {
        proc.note(&format!("rs: could not delete {label} in ds: {e}"));
    }
}

/// Whether the manifest runs ds.
fn has_ds(services: &BTreeMap<Endpoint, Supervised>) -> bool {
    services.values().any(|s| s.name == DS_LABEL)
}

/// The next incarnation's start from the crashed one's remains, as decided: its state rolled back,
/// suppressed or fresh; the sent requests to undo; the request reprocessed or answered an error.
fn handoff(mut r: Remains, state: StateAction, fate: RequestFate, compensate: bool) -> Handoff {
    let state = match state {
        StateAction::Rollback => {
            r.state.rollback();
            Some(r.state.into_any())
        }
        StateAction::Suppress => {
            r.state.suppress();
            Some(r.state.into_any())
        }
        StateAction::Fresh => None,
    };
    let undo = if compensate {
        r.sent.iter().filter(|s| r.compensable.contains(&(s.message.m_type as u32))).cloned().collect()
    } else {
        Vec::new()
    };
    let request = match fate {
        RequestFate::Reprocess => Some(Resumed::Reprocess { request: r.request, replay: Vec::new() }),
        RequestFate::Replay => Some(Resumed::Reprocess { request: r.request, replay: r.sent }),
        RequestFate::Error => Some(Resumed::Error { requester: r.request.source, sent: r.sent }),
        RequestFate::Resent => Some(Resumed::Resent { sent: r.sent }),
    };
    Handoff { state, undo, request, quarantined: Vec::new() }
}

/// A service that died outside any request (while starting, or killed at its loop top) left no
/// window: nothing to roll back to, and nothing known about what it did.
fn died_outside_a_request(policy: PolicyKind) -> Decision {
    match policy {
        PolicyKind::None => Decision::LeaveDead { reason: "policy none: a crashed server stays dead".into() },
        PolicyKind::Restart | PolicyKind::Rollback => Decision::Recover {
            state: StateAction::Fresh,
            request: RequestFate::Error,
            compensate: Vec::new(),
            end_requester: false,
            quarantine: false,
            reason: format!("policy {policy}: died outside a request, no checkpoint to return to: fresh start"),
        },
        _ => Decision::FailStop { reason: format!("policy {policy}: died outside a request, its effects are unknown") },
    }
}

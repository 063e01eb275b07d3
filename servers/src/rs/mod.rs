//! rs, the reincarnation server: it starts the services of the manifest, pings each at its
//! heartbeat period, counts a service that missed two periods as hung, and is the one place that
//! learns of service deaths (it is their signal manager). It restarts a dead service under its
//! manifest's restart pacing; what state the new incarnation gets is the recovery policy's call
//! (`Restarter`).
//!
//! rs is part of the reliable computing base, with the kernel (as in OSIRIS): faults are not
//! injected into it, so its state is plain data, not tracked.
//!
//! Invariant: rs never blocks on a supervised service — it only notifies them and receives — so a
//! hung service cannot hang rs.

pub mod pacing;

use crate::proto::RS;
use crate::task::Handoff;
use kernel_sim::manifest::Manifest;
use kernel_sim::msgtype::NOTIFY_MESSAGE;
use kernel_sim::{Death, EndCause, Endpoint, Micros, Proc};
use pacing::{Pacing, Verdict};
use std::collections::BTreeMap;
use std::sync::Arc;

/// How rs gives a dead service its next incarnation. The recovery manager implements this.
pub trait Restarter: Send {
    /// What the service called `name` starts with after `death`; `None` leaves it dead.
    fn handoff(&mut self, proc: &Proc, name: &str, death: &Death) -> Option<Handoff>;
}

/// MINIX 3's classic answer: a fresh incarnation with the state of boot.
pub struct FreshRestart;

impl Restarter for FreshRestart {
    fn handoff(&mut self, _proc: &Proc, _name: &str, _death: &Death) -> Option<Handoff> {
        Some(Handoff::Fresh)
    }
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
}

/// A service's life as rs sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Life {
    /// Running; `last_seen` is when it last answered a ping (or started).
    Up { last_seen: Micros },
    /// Dead; restart due at `at`.
    RestartAt { at: Micros },
    /// Dead for good (no restart: the policy said so, or pacing escalated).
    Down,
}

/// rs's whole state.
struct Rs {
    services: BTreeMap<Endpoint, Supervised>,
    restarter: Box<dyn Restarter>,
    /// The time of the next heartbeat round.
    next_round: Micros,
    /// The shortest heartbeat period: rs's tick.
    tick: Option<Micros>,
}

/// rs's program: `manifest` says what to start and how to supervise it.
pub fn main(proc: &Proc, manifest: Arc<Manifest>, restarter: Box<dyn Restarter>) {
    let mut rs = Rs { services: BTreeMap::new(), restarter, next_round: 0, tick: None };
    for s in manifest.services.iter().filter(|s| Endpoint::new(s.slot, 0) != RS) {
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
            },
        );
    }
    rs.tick = rs.services.values().filter_map(|s| s.heartbeat).min();
    rs.next_round = proc.now() + rs.tick.unwrap_or(0);
    rs.arm(proc);
    loop {
        let Ok(m) = proc.receive(Endpoint::ANY) else { continue };
        if m.m_type != NOTIFY_MESSAGE {
            // rs serves no calls yet: control requests come with the recovery manager.
            let _ = proc.sendnb(m.source, kernel_sim::Message::new(crate::errno::Errno::ENOSYS.status()));
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
        if self.tick.is_none() || now < self.next_round {
            return;
        }
        self.next_round = now + self.tick.expect("checked");
        for s in self.services.values_mut() {
            let (Some(period), Life::Up { last_seen }) = (s.heartbeat, &s.life) else { continue };
            if now.saturating_sub(*last_seen) > 2 * period {
                // Two periods without an answer: hung. A kill takes the crash path.
                tracing::info!(target: "samsara::rs", service = %s.name, "missed two heartbeats: killing as hung");
                let _ = proc.sys_kill(s.ep);
            } else {
                let _ = proc.notify(s.ep);
            }
        }
    }

    fn on_death(&mut self, proc: &Proc, death: Death) {
        let now = proc.now();
        let Some(s) = self.services.get_mut(&death.ep) else { return };
        let ran_for = match s.life {
            Life::Up { .. } => now.saturating_sub(proc.sys_procinfo(death.ep).map(|i| i.started).unwrap_or(now)),
            _ => 0,
        };
        let hung = matches!(death.cause, EndCause::Killed { by } if by == RS);
        tracing::info!(target: "samsara::rs", service = %s.name, cause = ?death.cause, hung, "service died");
        let Some(handoff) = self.restarter.handoff(proc, &s.name, &death) else {
            s.life = Life::Down;
            return self.on_down(proc, death.ep);
        };
        match s.pacing.on_death(now, ran_for) {
            Verdict::RestartAt(at) => {
                s.life = Life::RestartAt { at };
                s.pacing.stash(handoff);
                if at <= now {
                    self.restart(proc, death.ep);
                }
            }
            Verdict::GiveUp => {
                s.life = Life::Down;
                self.on_down(proc, death.ep);
            }
        }
    }

    fn restart(&mut self, proc: &Proc, ep: Endpoint) {
        let s = self.services.get_mut(&ep).expect("supervised");
        let handoff = s.pacing.take_stash().unwrap_or(Handoff::Fresh);
        match proc.sys_spawn_service(&s.name, Some(Box::new(handoff))) {
            Ok(_) => s.life = Life::Up { last_seen: proc.now() },
            Err(_) => {
                s.life = Life::Down;
                self.on_down(proc, ep);
            }
        }
    }

    /// A service is gone for good: losing a core service brings the system down.
    fn on_down(&mut self, proc: &Proc, ep: Endpoint) {
        let s = &self.services[&ep];
        if s.core {
            let _ = proc.sys_shutdown(&format!("rs: core service {} is down for good", s.name));
        }
    }
}

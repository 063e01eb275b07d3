//! Incidents: each death rs decided on, tied to the events of the log that tell it — the request
//! the server was serving (its loop-top checkpoint came just before it took it), the messages it
//! sent inside the recovery window, the crash or the hang, rs's detection, the decision, the new
//! incarnation, the error the requester got, the requester's end, the halt.
//!
//! Every position here is an event's `seq`, found in the log itself; the decision trail
//! (`RunResult::decisions`) only says which note of rs is which decision.

use crate::cast::Cast;
use crate::log::{Entry, Kind};
use kernel_sim::{Endpoint, Primitive};
use os::errno::Errno;
use os::proto::RS;
use os::rs::decisions::DecisionRecord;

/// How the server's incarnation ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Death {
    /// It panicked.
    Crash {
        /// The crash event.
        seq: u64,
        /// The panic message.
        message: String,
        /// Where it panicked.
        location: String,
    },
    /// It stopped answering; rs's heartbeats found it and rs killed it.
    Hang {
        /// The alarm of the first heartbeat round whose ping the server never answered.
        silent_from: Option<u64>,
        /// rs's note that it missed its heartbeats.
        noticed: u64,
        /// The killed event.
        seq: u64,
    },
    /// Another way (killed by someone else, exited): the end event.
    Other {
        /// The end event.
        seq: u64,
    },
}

impl Death {
    /// The event that ended the incarnation.
    pub fn seq(&self) -> u64 {
        match self {
            Death::Crash { seq, .. } | Death::Hang { seq, .. } | Death::Other { seq } => *seq,
        }
    }
}

/// One death and what followed, as positions in the log.
#[derive(Clone, Debug)]
pub struct Incident {
    /// The server's name.
    pub server: String,
    /// Its endpoint (kept by every incarnation).
    pub ep: Endpoint,
    /// rs's record of the decision.
    pub record: DecisionRecord,
    /// Who sent the request it died on, if it died in one.
    pub requester: Option<Endpoint>,
    /// The requester's send of that request.
    pub asked: Option<u64>,
    /// The delivery of that request: the server's loop-top checkpoint came just before it.
    pub checkpoint: Option<u64>,
    /// Messages the server sent while serving that request (the recovery window's outgoing IPC).
    pub window: Vec<u64>,
    /// How it died.
    pub death: Option<Death>,
    /// The kernel's death notice to rs.
    pub detected: Option<u64>,
    /// rs's note of the decision.
    pub decided: Option<u64>,
    /// The next incarnation's spawn.
    pub respawned: Option<u64>,
    /// The answer the next incarnation gave the requester (ERECOVERED).
    pub error_reply: Option<u64>,
    /// rs's note that it ends the requester.
    pub ending_requester: Option<u64>,
    /// The requester's death.
    pub requester_ended: Option<u64>,
    /// The halt (fail-stop).
    pub halted: Option<u64>,
}

/// The incidents of a run, one per decision, in order.
pub fn find(entries: &[Entry], decisions: &[DecisionRecord]) -> Vec<Incident> {
    let mut from = 0usize;
    let mut out = Vec::new();
    for record in decisions {
        let text = record.to_string();
        let decided = entries[from..]
            .iter()
            .position(|e| matches!(&e.kind, Kind::Note { by, text: t } if *by == RS && *t == text))
            .map(|i| from + i);
        let incident = build(entries, record, decided);
        if let Some(i) = decided {
            from = i + 1;
        }
        out.push(incident);
    }
    out
}

fn build(entries: &[Entry], record: &DecisionRecord, decided: Option<usize>) -> Incident {
    let ep = Cast::server(&record.server).unwrap_or(Endpoint::NONE);
    let requester = record.requester.map(Endpoint::from_raw);
    let before = &entries[..decided.unwrap_or(entries.len())];
    let after = decided.map_or(&entries[entries.len()..], |i| &entries[i + 1..]);
    let death = before.iter().rev().find_map(|e| match &e.kind {
        Kind::Crash { ep: who, location, message } if *who == ep => {
            Some((e.seq, Death::Crash { seq: e.seq, message: message.clone(), location: location.clone() }))
        }
        Kind::Killed { ep: who, by } if *who == ep => {
            let noticed = before.iter().rev().find(|n| {
                n.seq < e.seq
                    && matches!(&n.kind, Kind::Note { by: RS, text } if text.starts_with(&format!("rs: {} missed", record.server)))
            });
            Some(match (noticed, *by == RS) {
                (Some(n), true) => (e.seq, Death::Hang { silent_from: silent_from(before, ep, e.seq), noticed: n.seq, seq: e.seq }),
                _ => (e.seq, Death::Other { seq: e.seq }),
            })
        }
        Kind::Exit { ep: who } if *who == ep => Some((e.seq, Death::Other { seq: e.seq })),
        _ => None,
    });
    let death_seq = death.as_ref().map(|(s, _)| *s);
    let m_type = record.call.as_ref().map(|(_, t)| *t);
    let checkpoint = match (requester, m_type, death_seq) {
        (Some(req), Some(t), Some(d)) => before.iter().rev().find(|e| {
            e.seq < d && matches!(e.kind, Kind::Deliver { from, to, m_type } if from == req && to == ep && m_type == t)
        }),
        _ => None,
    }
    .map(|e| e.seq);
    let asked = match (requester, m_type, checkpoint) {
        (Some(req), Some(t), Some(c)) => before
            .iter()
            .rev()
            .find(|e| {
                e.seq < c
                    && matches!(e.kind, Kind::Send { from, to, m_type, .. } if from == req && to == ep && m_type == t)
            })
            .map(|e| e.seq),
        _ => None,
    };
    let window = match (checkpoint, death_seq) {
        (Some(c), Some(d)) => before
            .iter()
            .filter(|e| e.seq > c && e.seq < d && matches!(e.kind, Kind::Send { from, .. } if from == ep))
            .map(|e| e.seq)
            .collect(),
        _ => Vec::new(),
    };
    let detected = death_seq.and_then(|d| {
        before
            .iter()
            .find(|e| e.seq > d && matches!(e.kind, Kind::Deliver { from: Endpoint::KERNEL, to: RS, .. }))
            .map(|e| e.seq)
    });
    let respawned = after.iter().find(|e| matches!(&e.kind, Kind::Spawn { ep: who, .. } if *who == ep)).map(|e| e.seq);
    let error_reply = match (respawned, requester) {
        (Some(r), Some(req)) => after
            .iter()
            .find(|e| {
                e.seq > r
                    && match e.kind {
                        Kind::Send { from, to, m_type, .. } | Kind::Fail { from, to, m_type, .. } => {
                            from == ep && to == req && m_type == Errno::ERECOVERED.status()
                        }
                        _ => false,
                    }
            })
            .map(|e| e.seq),
        _ => None,
    };
    let ending_requester = after
        .iter()
        .find(|e| matches!(&e.kind, Kind::Note { by: RS, text } if text.starts_with("rs: ending requester")))
        .map(|e| e.seq);
    let requester_ended = match (ending_requester, requester) {
        (Some(n), Some(req)) => after
            .iter()
            .find(|e| e.seq > n && matches!(e.kind, Kind::Killed { ep: who, .. } if who == req))
            .map(|e| e.seq),
        _ => None,
    };
    let halted = after.iter().find(|e| matches!(e.kind, Kind::Shutdown { .. })).map(|e| e.seq);
    Incident {
        server: record.server.clone(),
        ep,
        record: record.clone(),
        requester,
        asked,
        checkpoint,
        window,
        death: death.map(|(_, d)| d),
        detected,
        decided: decided.map(|i| entries[i].seq),
        respawned,
        error_reply,
        ending_requester,
        requester_ended,
        halted,
    }
}

/// The alarm of the heartbeat round whose ping to `ep` went unanswered until its death at `death`.
fn silent_from(entries: &[Entry], ep: Endpoint, death: u64) -> Option<u64> {
    let heartbeat = |from: Endpoint, to: Endpoint, e: &Entry| matches!(e.kind, Kind::Send { from: f, to: t, prim: Primitive::Notify, .. } if f == from && t == to);
    let last_answer = entries.iter().rposition(|e| e.seq < death && heartbeat(ep, RS, e)).map_or(0, |i| i + 1);
    let ping = entries[last_answer..].iter().position(|e| e.seq < death && heartbeat(RS, ep, e))? + last_answer;
    entries[..ping].iter().rev().find(|e| matches!(e.kind, Kind::Alarm { to: RS })).map(|e| e.seq)
}

/// Whether a send is an answer rather than a request: servers answer with `sendnb` (a status,
/// which may be a positive count), and a non-positive type is a status whatever the primitive.
pub fn is_answer(m_type: i32, prim: Primitive) -> bool {
    prim == Primitive::SendNb || m_type <= 0
}

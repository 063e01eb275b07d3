//! The decision trail: what rs decided for each death, and why, for the harness and for people.

use crate::proto::call_name;
use crate::task::Remains;
use kernel_sim::{Death, EndCause, Micros};
use recovery::{Decision, OutgoingIpc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::{Arc, Mutex};

/// One decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// When.
    pub time: Micros,
    /// Which server died.
    pub server: String,
    /// How: `crash`, `hang` or `exit`.
    pub cause: String,
    /// The crash message.
    pub message: String,
    /// The request it died on (name and type), if it died in one.
    pub call: Option<(String, i32)>,
    /// Who sent that request.
    pub requester: Option<u32>,
    /// The outgoing IPC of the crashed request, oldest first.
    pub window: Vec<OutgoingIpc>,
    /// The decision, with its reason.
    pub decision: Decision,
}

impl DecisionRecord {
    /// The record of `decision` on `death`.
    pub fn new(
        time: Micros,
        server: &str,
        death: &Death,
        remains: Option<&Remains>,
        hung: bool,
        decision: &Decision,
    ) -> Self {
        let (cause, message) = match &death.cause {
            _ if hung => ("hang".to_string(), "missed two heartbeats and was killed".to_string()),
            EndCause::Crashed { message, location } => ("crash".to_string(), format!("{message} at {location}")),
            EndCause::Killed { by } => ("killed".to_string(), format!("killed by {by}")),
            EndCause::Exited => ("exit".to_string(), "exited".to_string()),
        };
        DecisionRecord {
            time,
            server: server.to_string(),
            cause,
            message,
            call: remains.map(|r| (call_name(r.request.m_type).to_string(), r.request.m_type)),
            requester: remains.map(|r| r.request.source.raw()),
            window: remains.map(|r| r.window.outgoing().to_vec()).unwrap_or_default(),
            decision: decision.clone(),
        }
    }
}

impl fmt::Display for DecisionRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rs: {} {} ({})", self.server, self.cause, self.message)?;
        if let Some((call, _)) = &self.call {
            write!(f, " in {call}, {} out", recovery::counted(self.window.len() as u64, "message"))?;
        }
        write!(f, " -> {}: {}", self.decision.label(), self.decision.reason())
    }
}

/// The run's decisions, shared between rs and the harness.
#[derive(Clone, Default)]
pub struct DecisionLog(Arc<Mutex<Vec<DecisionRecord>>>);

impl DecisionLog {
    /// Appends one.
    pub fn push(&self, record: DecisionRecord) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(record);
    }

    /// Every decision so far.
    pub fn records(&self) -> Vec<DecisionRecord> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

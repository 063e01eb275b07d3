//! The event log: every IPC event and process life event, in order, with the time it happened.
//!
//! Every event goes both to `tracing` (target `samsara::kernel`, level TRACE) and to an in-memory
//! log that tests, campaigns and the demo read. Under `sim` the log is a pure function of the seed
//! and the inputs: the same run renders to the same text byte for byte.

use crate::clock::Micros;
use crate::endpoint::Endpoint;
use crate::error::KernelError;
use crate::manifest::KernelCall;
use crate::message::MsgType;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// The IPC primitive a message was sent with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Primitive {
    /// Blocking send: waits until the receiver takes the message.
    Send,
    /// Non-blocking send: fails unless the receiver is waiting for it (replies use this).
    SendNb,
    /// Send, then wait for the reply from the same endpoint.
    SendRec,
    /// Queued send that never blocks.
    AsynSend,
    /// A coalesced notification (no payload).
    Notify,
}

impl Primitive {
    /// Lower-case name, as in MINIX's `ipc_*` calls.
    pub const fn name(self) -> &'static str {
        match self {
            Primitive::Send => "send",
            Primitive::SendNb => "sendnb",
            Primitive::SendRec => "sendrec",
            Primitive::AsynSend => "asynsend",
            Primitive::Notify => "notify",
        }
    }
}

/// How a process's life ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EndCause {
    /// Its body returned.
    Exited,
    /// It panicked: the message and where.
    Crashed {
        /// The panic message.
        message: String,
        /// `file:line` of the panic.
        location: String,
    },
    /// Another process (or the kernel at shutdown) killed it.
    Killed {
        /// Who killed it.
        by: Endpoint,
    },
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    /// A process started in a slot.
    Spawn {
        /// Its endpoint.
        ep: Endpoint,
        /// Its name (program or service).
        name: Arc<str>,
    },
    /// A message left its sender (delivered at once or queued).
    Send {
        /// Sender.
        from: Endpoint,
        /// Destination.
        to: Endpoint,
        /// Message type.
        m_type: MsgType,
        /// Primitive used.
        prim: Primitive,
    },
    /// A receiver took a message.
    Deliver {
        /// Sender.
        from: Endpoint,
        /// Receiver.
        to: Endpoint,
        /// Message type.
        m_type: MsgType,
    },
    /// A receiver waiting in `sendrec` took its answer.
    Reply {
        /// Who answered.
        from: Endpoint,
        /// Who had asked.
        to: Endpoint,
        /// The status carried.
        m_type: MsgType,
    },
    /// The manifest forbade a send; nothing was delivered.
    Deny {
        /// Would-be sender.
        from: Endpoint,
        /// Would-be destination.
        to: Endpoint,
        /// Message type.
        m_type: MsgType,
        /// Primitive used.
        prim: Primitive,
    },
    /// An IPC failed for another reason (dead endpoint, not ready, deadlock...).
    Fail {
        /// Sender or receiver that made the call.
        from: Endpoint,
        /// The peer named in the call.
        to: Endpoint,
        /// Message type (0 for a receive).
        m_type: MsgType,
        /// The error returned.
        error: KernelError,
    },
    /// An alarm rang (it arrives as a notification from the kernel).
    Alarm {
        /// Whose alarm.
        to: Endpoint,
    },
    /// A kernel call was made (only calls that change the process table are logged).
    KernelCall {
        /// Caller.
        by: Endpoint,
        /// Which call.
        call: KernelCall,
        /// The process it acted on.
        target: Endpoint,
    },
    /// The manifest forbade a kernel call.
    KernelDeny {
        /// Caller.
        by: Endpoint,
        /// Which call.
        call: KernelCall,
    },
    /// A process's life ended.
    End {
        /// The process.
        ep: Endpoint,
        /// How.
        cause: EndCause,
    },
    /// A process replaced its program (same endpoint).
    Exec {
        /// The process.
        ep: Endpoint,
        /// The new program.
        program: Arc<str>,
    },
    /// A slot was freed; its endpoint is stale from now on.
    Clear {
        /// The endpoint that is now stale.
        ep: Endpoint,
    },
    /// A note a process added to the log (rs's recovery decisions, with their reasons).
    Note {
        /// Who wrote it.
        by: Endpoint,
        /// What it says.
        text: Arc<str>,
    },
    /// The system was halted.
    Shutdown {
        /// Who halted it.
        by: Endpoint,
        /// Why.
        reason: Arc<str>,
    },
}

/// One entry of the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the log, from 0.
    pub seq: u64,
    /// Clock reading when it happened.
    pub time: Micros,
    /// What happened.
    pub kind: EventKind,
}

fn mtype(t: MsgType) -> String {
    if t < 0 { t.to_string() } else { format!("{t:#x}") }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:>6} {:>10}us ", self.seq, self.time)?;
        match &self.kind {
            EventKind::Spawn { ep, name } => write!(f, "spawn    {ep} {name}"),
            EventKind::Send { from, to, m_type, prim } => {
                write!(f, "{:<8} {from} -> {to} type {}", prim.name(), mtype(*m_type))
            }
            EventKind::Deliver { from, to, m_type } => write!(f, "deliver  {from} -> {to} type {}", mtype(*m_type)),
            EventKind::Reply { from, to, m_type } => write!(f, "reply    {from} -> {to} status {}", mtype(*m_type)),
            EventKind::Deny { from, to, m_type, prim } => {
                write!(f, "deny     {from} -> {to} type {} by {}", mtype(*m_type), prim.name())
            }
            EventKind::Fail { from, to, m_type, error } => {
                write!(f, "fail     {from} -> {to} type {} {error}", mtype(*m_type))
            }
            EventKind::Alarm { to } => write!(f, "alarm    {to}"),
            EventKind::KernelCall { by, call, target } => write!(f, "kcall    {by} {} {target}", call.keyword()),
            EventKind::KernelDeny { by, call } => write!(f, "kdeny    {by} {}", call.keyword()),
            EventKind::End { ep, cause: EndCause::Exited } => write!(f, "exit     {ep}"),
            EventKind::End { ep, cause: EndCause::Crashed { message, location } } => {
                write!(f, "crash    {ep} at {location}: {message}")
            }
            EventKind::End { ep, cause: EndCause::Killed { by } } => write!(f, "killed   {ep} by {by}"),
            EventKind::Exec { ep, program } => write!(f, "exec     {ep} {program}"),
            EventKind::Clear { ep } => write!(f, "clear    {ep}"),
            EventKind::Note { by, text } => write!(f, "note     {by}: {text}"),
            EventKind::Shutdown { by, reason } => write!(f, "shutdown by {by}: {reason}"),
        }
    }
}

/// The in-memory log. Recording can be switched off for throughput runs; `tracing` still sees
/// every event when a subscriber is interested.
#[derive(Debug, Default)]
pub struct EventLog {
    events: Vec<Event>,
    recording: bool,
    next_seq: u64,
}

impl EventLog {
    /// A log that records when `recording` is true.
    pub fn new(recording: bool) -> EventLog {
        EventLog { events: Vec::new(), recording, next_seq: 0 }
    }

    pub(crate) fn push(&mut self, time: Micros, kind: EventKind) {
        tracing::trace!(target: "samsara::kernel", seq = self.next_seq, time, event = ?kind);
        if self.recording {
            self.events.push(Event { seq: self.next_seq, time, kind });
        }
        self.next_seq += 1;
    }

    /// Every recorded event, in order.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// How many events happened (recorded or not).
    pub fn count(&self) -> u64 {
        self.next_seq
    }

    /// The log as text, one event a line: byte-for-byte comparable between runs.
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let mut out = String::with_capacity(self.events.len() * 48);
        for e in &self.events {
            let _ = writeln!(out, "{e}");
        }
        out
    }
}

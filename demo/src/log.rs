//! Reading a run's event log back: the text `RunResult::event_log` holds (one event a line, as
//! `kernel_sim`'s `Event` renders it) becomes structured entries again.
//!
//! Invariant: nothing is lost. Every line the parser knows renders back to exactly the text it came
//! from ([`Entry`]'s `Display`), which the tests check on every scenario's log; a line it does not
//! know (the kernel's format moved on) is kept whole as [`Kind::Unparsed`] instead of failing, so the
//! demo still shows it.

use kernel_sim::{Endpoint, Micros, MsgType, Primitive};
use std::fmt;

/// One event of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Position in the log, from 0.
    pub seq: u64,
    /// Clock reading when it happened (virtual microseconds under `sim`).
    pub time: Micros,
    /// What happened.
    pub kind: Kind,
}

/// What happened, as the log says it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A process started in a slot (a new process, or a service's next incarnation).
    Spawn {
        /// Its endpoint.
        ep: Endpoint,
        /// Its program or service name.
        name: String,
    },
    /// A message left its sender.
    Send {
        /// Sender.
        from: Endpoint,
        /// Destination.
        to: Endpoint,
        /// Message type (for an answer, its status).
        m_type: MsgType,
        /// The primitive.
        prim: Primitive,
    },
    /// A receiver took a message.
    Deliver {
        /// Sender (`KERNEL` for a kernel notification).
        from: Endpoint,
        /// Receiver.
        to: Endpoint,
        /// Message type.
        m_type: MsgType,
    },
    /// A process waiting in `sendrec` took its answer.
    Reply {
        /// Who answered.
        from: Endpoint,
        /// Who had asked.
        to: Endpoint,
        /// The status.
        status: MsgType,
    },
    /// The manifest forbade a send.
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
    /// An IPC failed (dead endpoint, not ready, deadlock...).
    Fail {
        /// The caller.
        from: Endpoint,
        /// The peer it named.
        to: Endpoint,
        /// Message type (0 for a receive).
        m_type: MsgType,
        /// The kernel's error name (`EDEADSRCDST`...).
        error: String,
    },
    /// An alarm rang.
    Alarm {
        /// Whose.
        to: Endpoint,
    },
    /// A kernel call that changes the process table.
    KernelCall {
        /// Caller.
        by: Endpoint,
        /// The call's keyword (`fork`, `kill`, `clear`...).
        call: String,
        /// The process it acted on.
        target: Endpoint,
    },
    /// The manifest forbade a kernel call.
    KernelDeny {
        /// Caller.
        by: Endpoint,
        /// The call's keyword.
        call: String,
    },
    /// A process's body returned.
    Exit {
        /// The process.
        ep: Endpoint,
    },
    /// A process panicked.
    Crash {
        /// The process.
        ep: Endpoint,
        /// `file:line:column` of the panic.
        location: String,
        /// The panic message.
        message: String,
    },
    /// A process was killed.
    Killed {
        /// The process.
        ep: Endpoint,
        /// Who killed it (`KERNEL` when the run stops).
        by: Endpoint,
    },
    /// A process replaced its program.
    Exec {
        /// The process.
        ep: Endpoint,
        /// The new program.
        program: String,
    },
    /// A slot was freed.
    Clear {
        /// The endpoint that is stale from now on.
        ep: Endpoint,
    },
    /// A note a process wrote (rs's decisions, a workload's account of what it saw).
    Note {
        /// Who wrote it.
        by: Endpoint,
        /// What it says.
        text: String,
    },
    /// The system was halted.
    Shutdown {
        /// Who halted it.
        by: Endpoint,
        /// Why.
        reason: String,
    },
    /// A line this parser does not know, kept whole.
    Unparsed(String),
}

/// Parses a whole log; never fails (unknown lines become [`Kind::Unparsed`]).
pub fn parse(text: &str) -> Vec<Entry> {
    text.lines().filter(|l| !l.trim().is_empty()).enumerate().map(|(i, l)| parse_line(l, i as u64)).collect()
}

/// Parses one line; `fallback_seq` numbers a line whose own number cannot be read.
pub fn parse_line(line: &str, fallback_seq: u64) -> Entry {
    parse_known(line).unwrap_or_else(|| Entry { seq: fallback_seq, time: 0, kind: Kind::Unparsed(line.to_string()) })
}

fn parse_known(line: &str) -> Option<Entry> {
    let rest = line.trim_start();
    let (seq, rest) = rest.split_once(' ')?;
    let seq = seq.parse().ok()?;
    let rest = rest.trim_start();
    let (time, rest) = rest.split_once("us ")?;
    let time = time.parse().ok()?;
    let kind = parse_kind(rest)?;
    Some(Entry { seq, time, kind })
}

fn parse_kind(rest: &str) -> Option<Kind> {
    let (word, args) = rest.split_once(' ').unwrap_or((rest, ""));
    let args = args.trim_start();
    if let Some(prim) = primitive(word) {
        let (from, to, tail) = arrow(args)?;
        let m_type = msg_type(tail.strip_prefix("type ")?)?;
        return Some(Kind::Send { from, to, m_type, prim });
    }
    Some(match word {
        "spawn" => {
            let (ep, name) = args.split_once(' ')?;
            Kind::Spawn { ep: endpoint(ep)?, name: name.to_string() }
        }
        "deliver" => {
            let (from, to, tail) = arrow(args)?;
            Kind::Deliver { from, to, m_type: msg_type(tail.strip_prefix("type ")?)? }
        }
        "reply" => {
            let (from, to, tail) = arrow(args)?;
            Kind::Reply { from, to, status: msg_type(tail.strip_prefix("status ")?)? }
        }
        "deny" => {
            let (from, to, tail) = arrow(args)?;
            let (m_type, prim) = tail.strip_prefix("type ")?.split_once(" by ")?;
            Kind::Deny { from, to, m_type: msg_type(m_type)?, prim: primitive(prim)? }
        }
        "fail" => {
            let (from, to, tail) = arrow(args)?;
            let (m_type, error) = tail.strip_prefix("type ")?.split_once(' ')?;
            Kind::Fail { from, to, m_type: msg_type(m_type)?, error: error.to_string() }
        }
        "alarm" => Kind::Alarm { to: endpoint(args)? },
        "kcall" => {
            let mut parts = args.split(' ');
            let (by, call, target) = (parts.next()?, parts.next()?, parts.next()?);
            if parts.next().is_some() {
                return None;
            }
            Kind::KernelCall { by: endpoint(by)?, call: call.to_string(), target: endpoint(target)? }
        }
        "kdeny" => {
            let (by, call) = args.split_once(' ')?;
            Kind::KernelDeny { by: endpoint(by)?, call: call.to_string() }
        }
        "exit" => Kind::Exit { ep: endpoint(args)? },
        "crash" => {
            let (ep, tail) = args.split_once(" at ")?;
            let (location, message) = tail.split_once(": ")?;
            Kind::Crash { ep: endpoint(ep)?, location: location.to_string(), message: message.to_string() }
        }
        "killed" => {
            let (ep, by) = args.split_once(" by ")?;
            Kind::Killed { ep: endpoint(ep)?, by: endpoint(by)? }
        }
        "exec" => {
            let (ep, program) = args.split_once(' ')?;
            Kind::Exec { ep: endpoint(ep)?, program: program.to_string() }
        }
        "clear" => Kind::Clear { ep: endpoint(args)? },
        "note" => {
            let (by, text) = args.split_once(": ")?;
            Kind::Note { by: endpoint(by)?, text: text.to_string() }
        }
        "shutdown" => {
            let (by, reason) = args.strip_prefix("by ")?.split_once(": ")?;
            Kind::Shutdown { by: endpoint(by)?, reason: reason.to_string() }
        }
        _ => return None,
    })
}

/// `A -> B rest` into its endpoints and the rest.
fn arrow(args: &str) -> Option<(Endpoint, Endpoint, &str)> {
    let (from, rest) = args.split_once(" -> ")?;
    let (to, tail) = rest.split_once(' ')?;
    Some((endpoint(from)?, endpoint(to)?, tail))
}

fn primitive(word: &str) -> Option<Primitive> {
    [Primitive::Send, Primitive::SendNb, Primitive::SendRec, Primitive::AsynSend, Primitive::Notify]
        .into_iter()
        .find(|p| p.name() == word)
}

/// An endpoint as the log writes it: `SLOT.GENERATION`, `ANY`, `NONE` or `KERNEL`.
pub fn endpoint(text: &str) -> Option<Endpoint> {
    match text {
        "ANY" => Some(Endpoint::ANY),
        "NONE" => Some(Endpoint::NONE),
        "KERNEL" => Some(Endpoint::KERNEL),
        _ => {
            let (slot, generation) = text.split_once('.')?;
            let ep = Endpoint::new(slot.parse().ok()?, generation.parse().ok()?);
            // Only a spelling that renders back the same is this endpoint (no overflow, no padding).
            (ep.to_string() == text).then_some(ep)
        }
    }
}

/// A message type as the log writes it: `0x...` when not negative, decimal when negative.
fn msg_type(text: &str) -> Option<MsgType> {
    match text.strip_prefix("0x") {
        Some(hex) => MsgType::from_str_radix(hex, 16).ok(),
        None => text.parse::<MsgType>().ok().filter(|t| *t < 0),
    }
}

fn mtype(t: MsgType) -> String {
    if t < 0 { t.to_string() } else { format!("{t:#x}") }
}

/// Renders exactly as `kernel_sim` renders its events (the parser's round-trip check).
impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Kind::Unparsed(line) = &self.kind {
            return f.write_str(line);
        }
        write!(f, "{:>6} {:>10}us ", self.seq, self.time)?;
        match &self.kind {
            Kind::Spawn { ep, name } => write!(f, "spawn    {ep} {name}"),
            Kind::Send { from, to, m_type, prim } => {
                write!(f, "{:<8} {from} -> {to} type {}", prim.name(), mtype(*m_type))
            }
            Kind::Deliver { from, to, m_type } => write!(f, "deliver  {from} -> {to} type {}", mtype(*m_type)),
            Kind::Reply { from, to, status } => write!(f, "reply    {from} -> {to} status {}", mtype(*status)),
            Kind::Deny { from, to, m_type, prim } => {
                write!(f, "deny     {from} -> {to} type {} by {}", mtype(*m_type), prim.name())
            }
            Kind::Fail { from, to, m_type, error } => {
                write!(f, "fail     {from} -> {to} type {} {error}", mtype(*m_type))
            }
            Kind::Alarm { to } => write!(f, "alarm    {to}"),
            Kind::KernelCall { by, call, target } => write!(f, "kcall    {by} {call} {target}"),
            Kind::KernelDeny { by, call } => write!(f, "kdeny    {by} {call}"),
            Kind::Exit { ep } => write!(f, "exit     {ep}"),
            Kind::Crash { ep, location, message } => write!(f, "crash    {ep} at {location}: {message}"),
            Kind::Killed { ep, by } => write!(f, "killed   {ep} by {by}"),
            Kind::Exec { ep, program } => write!(f, "exec     {ep} {program}"),
            Kind::Clear { ep } => write!(f, "clear    {ep}"),
            Kind::Note { by, text } => write!(f, "note     {by}: {text}"),
            Kind::Shutdown { by, reason } => write!(f, "shutdown by {by}: {reason}"),
            Kind::Unparsed(_) => unreachable!("returned above"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "     0          0us spawn    1.0 rs
     5          8us sendrec  16.0 -> 3.0 type 0xc23
     7         47us sendnb   3.0 -> 16.0 type 0x0
     8         47us reply    3.0 -> 16.0 status -320
    19         55us crash    2.0 at os/src/task.rs:153:14: injected panic: at the start
    20         55us deliver  KERNEL -> 1.0 type 0x1000
    21         58us note     1.0: rs: pm crash (x) in getpid -> rollback: policy rollback: always
    39        107us fail     4.0 -> 2.0 type 0x984 EDEADSRCDST
    45        116us kcall    1.0 kill 17.0
    48        119us killed   17.0 by 1.0
    50        120us deny     16.0 -> 1.0 type 0x700 by sendrec
    51        120us kdeny    16.0 fork
    52        121us exec     17.0 ls
    53        122us clear    17.0
    54        123us alarm    1.0
    55        124us exit     16.0
    56        125us shutdown by 1.0: fail-stop: policy table: class G
";

    #[test]
    fn every_known_line_renders_back_to_itself() {
        let entries = parse(SAMPLE);
        assert!(entries.iter().all(|e| !matches!(e.kind, Kind::Unparsed(_))), "{entries:#?}");
        let back: Vec<String> = entries.iter().map(ToString::to_string).collect();
        assert_eq!(back, SAMPLE.lines().map(str::to_string).collect::<Vec<_>>());
    }

    #[test]
    fn fields_come_out_typed() {
        let entries = parse(SAMPLE);
        assert_eq!(
            entries[1].kind,
            Kind::Send { from: Endpoint::new(16, 0), to: Endpoint::new(3, 0), m_type: 0xc23, prim: Primitive::SendRec }
        );
        assert_eq!(entries[3].kind, Kind::Reply { from: Endpoint::new(3, 0), to: Endpoint::new(16, 0), status: -320 });
        match &entries[4].kind {
            Kind::Crash { location, message, .. } => {
                assert_eq!(location, "os/src/task.rs:153:14");
                assert_eq!(message, "injected panic: at the start");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(entries[5].kind, Kind::Deliver { from: Endpoint::KERNEL, to: Endpoint::new(1, 0), m_type: 0x1000 });
    }

    #[test]
    fn unknown_and_malformed_lines_are_kept_not_fatal() {
        for bad in
            ["garbage", "     1   12us teleport 1.0", "     2 xus spawn 1.0 rs", "  3  4us sendrec 1.x -> 2.0 type 0x1"]
        {
            let e = parse_line(bad, 9);
            assert_eq!(e.kind, Kind::Unparsed(bad.to_string()));
            assert_eq!(e.to_string(), bad);
        }
        assert_eq!(endpoint("01.0"), None, "only the canonical spelling");
        assert_eq!(msg_type("12"), None, "non-negative types are hex");
    }
}

//! The narrated story of one run, built from its event log: steps (what `--step` pauses between)
//! of lines, each line telling one event (or one heartbeat round) of the log, in the log's order.
//!
//! What makes a step: the boot; each note a program wrote (what it does, what a call returned);
//! the faulty request's arrival (the server's loop-top checkpoint came just before); the crash or
//! the hang; rs's detection; rs's decision and its reason; the next incarnation; the halt; the end
//! of the run; and the verdict (outcome, checker, SRS). Everything a line says comes from its
//! event, the decision trail, the checker's findings or the servers' SRS counters.

use crate::cast::Cast;
use crate::incident::{Death, Incident, is_answer};
use crate::log::{Entry, Kind};
use kernel_sim::msgtype::NOTIFY_MESSAGE;
use kernel_sim::{Endpoint, Micros, Primitive};
use os::errno::Errno;
use os::proto::{PM, RS, call_name};
use recovery::policy::RequestFate;
use recovery::{Decision, FieldSrs, PolicyKind, StateAction};
use std::collections::{BTreeMap, BTreeSet};
use testbed::run::{Outcome, RunResult};

/// What part of the story a step tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// The system starts.
    Boot,
    /// A program says what it does or saw, and the messages that follow.
    Program,
    /// A server takes the request it will fail on.
    Checkpoint,
    /// The server crashes.
    Crash,
    /// rs finds out.
    Detection,
    /// rs decides.
    Decision,
    /// rs starts the next incarnation.
    Recovery,
    /// rs halts the system.
    FailStop,
    /// The system after recovery.
    Afterwards,
    /// The run stops.
    End,
    /// Outcome, checker, SRS.
    Verdict,
}

/// How a line is coloured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tone {
    /// A request between processes.
    Message,
    /// An answer.
    Answer,
    /// A heartbeat round.
    Heartbeat,
    /// The kernel's doing: births, kernel calls, notifications, freed slots.
    Kernel,
    /// A note a program or rs wrote.
    Note,
    /// The checkpoint and the request that opens the window.
    Checkpoint,
    /// A message sent inside the recovery window of the failing request.
    Window,
    /// A crash or a hang.
    Crash,
    /// rs's detection.
    Detection,
    /// rs's decision.
    Decision,
    /// Recovery: the next incarnation, the error to the requester, the requester's end.
    Recovery,
    /// A halt.
    Halt,
    /// A good verdict.
    Good,
    /// A bad verdict, a failed call.
    Bad,
    /// Anything else.
    Plain,
}

/// One line of the story.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Line {
    /// The event it tells (none for verdict lines).
    pub seq: Option<u64>,
    /// When it happened.
    pub time: Option<Micros>,
    /// Its colour.
    pub tone: Tone,
    /// What it says.
    pub text: String,
}

/// One step of the story.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Step {
    /// What part it tells.
    pub phase: Phase,
    /// Its title.
    pub title: String,
    /// Its lines.
    pub lines: Vec<Line>,
}

/// The story of one run.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Story {
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// The kernel's status of an answer, for people.
pub fn status_text(status: i32) -> String {
    match status {
        0 => "OK".to_string(),
        s if s > 0 => s.to_string(),
        s => Errno::from_code(-s).map_or_else(|| s.to_string(), |e| e.name().to_string()),
    }
}

/// A message's name for people: the call, or the answer's status.
pub fn message_text(m_type: i32, prim: Primitive) -> String {
    if is_answer(m_type, prim) {
        format!("answer {}", status_text(m_type))
    } else if m_type == NOTIFY_MESSAGE {
        "notify".to_string()
    } else {
        match call_name(m_type) {
            "?" => format!("type {m_type:#x}"),
            name => name.to_string(),
        }
    }
}

/// What a decision does, in words.
pub fn decision_text(d: &Decision) -> String {
    let Decision::Recover { state, request, compensate, end_requester, quarantine, .. } = d else {
        return match d {
            Decision::LeaveDead { .. } => "leave it dead",
            _ => "halt the system in a controlled way (fail-stop)",
        }
        .to_string();
    };
    let state = match state {
        StateAction::Fresh => "restart it with fresh boot state",
        StateAction::Rollback => "roll it back to its loop-top checkpoint",
        StateAction::Suppress => {
            "suppress the crash: keep the state, restore the request's writes only when read (SRS)"
        }
    };
    let undo = match compensate.as_slice() {
        [] => String::new(),
        sent => format!("; undo what the request sent ({}) by its declared inverses", sent.join(", ")),
    };
    let request = match request {
        RequestFate::Replay => {
            "; handle the request again, replaying what the crashed attempt sent (nothing is sent twice)"
        }
        RequestFate::Reprocess => "; handle the request again",
        RequestFate::Error if *end_requester => "; end the requesting process",
        RequestFate::Error => "; the requester gets an error",
        RequestFate::Resent => "; the requester, told the old endpoint is dead, sends the request again",
    };
    let quarantine = if *quarantine {
        "; refuse this call from now on, unhandled (EQUARANTINED): its fault is persistent"
    } else {
        ""
    };
    format!("{state}{undo}{request}{quarantine}")
}

/// What an outcome means.
pub fn outcome_text(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "the workload completed and the system is consistent",
        Outcome::Recovered => {
            "a crash was recovered (its request handled again, or answered an error) and the system is consistent"
        }
        Outcome::FailStop => "a controlled halt by the recovery policy",
        Outcome::WorkloadFailed => "consistent, but a program got a wrong result that the crash does not explain",
        Outcome::Crash => "the system died, hung or deadlocked",
        Outcome::Inconsistent => "silent damage: the consistency checker found broken invariants",
    }
}

/// Everything the story needs about the run.
pub struct Inputs<'a> {
    /// The parsed log.
    pub entries: &'a [Entry],
    /// Its processes.
    pub cast: &'a Cast,
    /// Its incidents.
    pub incidents: &'a [Incident],
    /// The run's result.
    pub result: &'a RunResult,
    /// The policy it ran under.
    pub policy: PolicyKind,
    /// SRS per field and server, when known.
    pub srs_fields: &'a BTreeMap<String, Vec<FieldSrs>>,
}

struct Builder<'a> {
    inp: &'a Inputs<'a>,
    steps: Vec<Step>,
    /// Deaths whose kernel notice has not been delivered yet (endpoint, its signal manager).
    pending_notices: Vec<(Endpoint, Endpoint)>,
    /// Endpoints whose last kernel delivery was announced by an alarm.
    alarmed: BTreeSet<Endpoint>,
    /// Where the run's teardown starts.
    teardown: usize,
    /// Whether recovery happened and the afterwards step is still to open.
    afterwards_pending: bool,
    /// Whether a program's note closed the current step (the next event opens a new one).
    closed: bool,
    /// Processes the current step's messages involve (for a default title).
    involved: BTreeSet<Endpoint>,
}

/// Builds the story of a run.
pub fn build(inp: &Inputs<'_>) -> Story {
    let mut b = Builder {
        inp,
        steps: vec![Step { phase: Phase::Boot, title: "The system boots".into(), lines: Vec::new() }],
        pending_notices: Vec::new(),
        alarmed: BTreeSet::new(),
        teardown: teardown_start(inp.entries),
        afterwards_pending: false,
        closed: false,
        involved: BTreeSet::new(),
    };
    for (i, e) in inp.entries.iter().enumerate() {
        if i == b.teardown {
            b.tell_teardown(&inp.entries[i..]);
            break;
        }
        b.tell(e);
    }
    b.verdict();
    b.title_untitled();
    Story { steps: b.steps.into_iter().filter(|s| !s.lines.is_empty()).map(shortened).collect() }
}

/// Lines a step shows at its start and at its end when it has more than both: a long run's boot
/// or a busy stretch of a workload would bury the crash and its recovery in thousands of lines.
const STEP_HEAD_LINES: usize = 24;
const STEP_TAIL_LINES: usize = 8;

/// `step` with its middle told as a count when it is long (`--raw` prints every event).
fn shortened(mut step: Step) -> Step {
    let shown = STEP_HEAD_LINES + STEP_TAIL_LINES;
    if step.lines.len() > shown + 1 {
        let hidden = step.lines.len() - shown;
        let tail = step.lines.split_off(step.lines.len() - STEP_TAIL_LINES);
        step.lines.truncate(STEP_HEAD_LINES);
        step.lines.push(Line {
            seq: None,
            time: None,
            tone: Tone::Kernel,
            text: format!(
                "... {} more in this step (`--raw` prints every event)",
                recovery::counted(hidden as u64, "line")
            ),
        });
        step.lines.extend(tail);
    }
    step
}

/// Index of the first event of the final teardown: from there on only the kernel stops processes
/// (`killed ... by KERNEL`) and frees their slots.
fn teardown_start(entries: &[Entry]) -> usize {
    let mut start = entries.len();
    while start > 0 {
        match entries[start - 1].kind {
            Kind::Killed { by: Endpoint::KERNEL, .. } | Kind::Clear { .. } => start -= 1,
            _ => break,
        }
    }
    // A clear that follows a live event (not a teardown kill) belongs to the run.
    while start < entries.len() && matches!(entries[start].kind, Kind::Clear { .. }) {
        start += 1;
    }
    start
}

impl Builder<'_> {
    fn name(&self, ep: Endpoint) -> String {
        self.inp.cast.name(ep)
    }

    fn step(&mut self, phase: Phase, title: String) {
        self.title_untitled();
        self.steps.push(Step { phase, title, lines: Vec::new() });
        self.closed = false;
    }

    /// A conversation step no note titled is named after whom its messages involve.
    fn title_untitled(&mut self) {
        let involved: Vec<String> = self.involved.iter().map(|&ep| self.name(ep)).collect();
        self.involved.clear();
        if let Some(last) = self.steps.last_mut()
            && last.title.is_empty()
        {
            last.title = if involved.is_empty() {
                "Meanwhile".to_string()
            } else {
                format!("Messages between {}", involved.join(", "))
            };
        }
    }

    /// Ordinary events go to the current step, unless a note closed it: then a new conversation
    /// step opens ("the system goes on" right after a recovery).
    fn ensure_open(&mut self) {
        if !self.closed {
            return;
        }
        if self.afterwards_pending {
            self.afterwards_pending = false;
            self.step(Phase::Afterwards, "The system goes on".into());
        } else {
            self.step(Phase::Program, String::new());
        }
    }

    fn line(&mut self, e: &Entry, tone: Tone, text: String) {
        let step = self.steps.last_mut().expect("the boot step is always there");
        step.lines.push(Line { seq: Some(e.seq), time: Some(e.time), tone, text });
    }

    fn plain(&mut self, tone: Tone, text: String) {
        let step = self.steps.last_mut().expect("the boot step is always there");
        step.lines.push(Line { seq: None, time: None, tone, text });
    }

    fn incident_at(&self, seq: u64, what: impl Fn(&Incident) -> Option<u64>) -> Option<&Incident> {
        self.inp.incidents.iter().find(|i| what(i) == Some(seq))
    }

    fn tell(&mut self, e: &Entry) {
        let seq = e.seq;
        if let Some(inc) = self
            .incident_at(seq, |i| match i.death {
                Some(Death::Hang { silent_from, .. }) => silent_from,
                _ => None,
            })
            .cloned()
        {
            let call = inc.record.call.as_ref().map_or("its request".to_string(), |(c, _)| c.clone());
            self.step(
                Phase::Crash,
                format!("{} hangs in {call}: it stops answering, even rs's heartbeats", inc.server),
            );
            return self.tell_ordinary(e);
        }
        if let Some(inc) = self.incident_at(seq, |i| i.asked).cloned() {
            self.open_checkpoint(&inc);
            return self.tell_ordinary(e);
        }
        if let Some(inc) = self.incident_at(seq, |i| i.checkpoint).cloned() {
            return self.tell_checkpoint(e, &inc);
        }
        if let Some(inc) = self.incident_at(seq, |i| i.death.as_ref().map(Death::seq)).cloned() {
            return self.tell_death(e, &inc);
        }
        if let Some(inc) = self
            .incident_at(seq, |i| {
                i.death.as_ref().and_then(|d| if let Death::Hang { noticed, .. } = d { Some(*noticed) } else { None })
            })
            .cloned()
        {
            self.step(Phase::Detection, format!("rs's heartbeats find {} hung", inc.server));
            let text = match &e.kind {
                Kind::Note { text, .. } => text.clone(),
                _ => String::new(),
            };
            return self.line(e, Tone::Detection, text);
        }
        if let Some(inc) = self.incident_at(seq, |i| i.detected).cloned() {
            self.step(Phase::Detection, format!("rs learns that {} died", inc.server));
            let text = format!("kernel → rs: notification — {} died; rs is the servers' signal manager", inc.server);
            return self.line(e, Tone::Detection, text);
        }
        if let Some(inc) = self.incident_at(seq, |i| i.decided).cloned() {
            return self.tell_decision(e, &inc);
        }
        if let Some(inc) = self.incident_at(seq, |i| i.respawned).cloned() {
            return self.tell_respawn(e, &inc);
        }
        if let Some(inc) = self.incident_at(seq, |i| i.error_reply).cloned() {
            let who = inc.requester.map(|r| self.name(r)).unwrap_or_default();
            let call = inc.record.call.as_ref().map_or("its request".to_string(), |(c, _)| c.clone());
            let text = format!(
                "{} → {who}: answer ERECOVERED — the new incarnation drops {call} and tells the caller",
                inc.server
            );
            return self.line(e, Tone::Recovery, text);
        }
        if self.incident_at(seq, |i| i.ending_requester).is_some() {
            let text = match &e.kind {
                Kind::Note { text, .. } => text.clone(),
                _ => String::new(),
            };
            return self.line(e, Tone::Recovery, text);
        }
        if let Some(inc) = self.incident_at(seq, |i| i.requester_ended).cloned() {
            if let Some(r) = inc.requester {
                self.death_notice(r);
            }
            let who = inc.requester.map(|r| self.name(r)).unwrap_or_default();
            return self.line(
                e,
                Tone::Recovery,
                format!("{who} is killed by rs: its process-local state elsewhere goes by the normal exit path"),
            );
        }
        if let Some(inc) = self.incident_at(seq, |i| i.halted).cloned() {
            self.step(Phase::FailStop, "rs halts the system (fail-stop)".into());
            let reason = match &e.kind {
                Kind::Shutdown { reason, .. } => reason.clone(),
                _ => String::new(),
            };
            let _ = inc;
            return self.line(e, Tone::Halt, format!("shutdown by rs: {reason}"));
        }
        self.tell_ordinary(e);
    }

    fn open_checkpoint(&mut self, inc: &Incident) {
        let call = inc.record.call.as_ref().map_or("a request".to_string(), |(c, _)| c.clone());
        let who = inc.requester.map(|r| self.name(r)).unwrap_or_default();
        self.step(Phase::Checkpoint, format!("{who} asks {} for {call}: the recovery window opens", inc.server));
    }

    fn tell_checkpoint(&mut self, e: &Entry, inc: &Incident) {
        let call = inc.record.call.as_ref().map_or("a request".to_string(), |(c, _)| c.clone());
        let who = inc.requester.map(|r| self.name(r)).unwrap_or_default();
        if inc.asked.is_none() {
            self.open_checkpoint(inc);
        }
        let text = format!(
            "{} checkpoints at the top of its loop (the undo log starts empty), then receives {call} from {who}",
            inc.server
        );
        self.line(e, Tone::Checkpoint, text);
    }

    fn tell_death(&mut self, e: &Entry, inc: &Incident) {
        let call = inc.record.call.as_ref().map_or("no request".to_string(), |(c, _)| c.clone());
        match (&inc.death, &e.kind) {
            (Some(Death::Crash { message, location, .. }), _) => {
                self.step(Phase::Crash, format!("{} crashes in {call}", inc.server));
                let sent = inc.window.len();
                self.line(
                    e,
                    Tone::Crash,
                    format!(
                        "{} crashes: {message} (at {location}); {} had left {} in this request",
                        inc.server,
                        recovery::counted(sent as u64, "message"),
                        inc.server
                    ),
                );
            }
            (_, Kind::Killed { by, .. }) => {
                let by = self.name(*by);
                self.line(
                    e,
                    Tone::Crash,
                    format!("{by} kills {}, still stuck in {call}: its incarnation ends here", inc.server),
                );
            }
            _ => self.line(e, Tone::Crash, format!("{} ends", inc.server)),
        }
    }

    fn tell_decision(&mut self, e: &Entry, inc: &Incident) {
        let d = &inc.record.decision;
        self.step(Phase::Decision, format!("rs decides: {}", d.label()));
        self.line(
            e,
            Tone::Decision,
            format!("rs asks the recovery manager (policy {}): {}", self.inp.policy, decision_text(d)),
        );
        if !inc.record.window.is_empty() {
            let sent: Vec<String> = inc
                .record
                .window
                .iter()
                .map(|o| {
                    let to = self.name(Endpoint::from_raw(o.destination));
                    let call = message_text(o.message_type as i32, Primitive::SendRec);
                    format!("{call} to {to}")
                })
                .collect();
            self.plain(
                Tone::Window,
                format!(
                    "the window holds {}: {}",
                    recovery::counted(sent.len() as u64, "outgoing message"),
                    sent.join(", ")
                ),
            );
        }
        self.plain(Tone::Decision, format!("reason: {}", d.reason()));
        self.afterwards_pending = matches!(d, Decision::Recover { .. });
    }

    fn tell_respawn(&mut self, e: &Entry, inc: &Incident) {
        let how = match &inc.record.decision {
            Decision::Recover { state: StateAction::Fresh, .. } => "with fresh boot state: everything it knew is gone",
            Decision::Recover { state: StateAction::Rollback, .. } => "on its state rolled back to the checkpoint",
            Decision::Recover { state: StateAction::Suppress, .. } => {
                "on its state as it crashed, the request's writes kept as suspects (restored when read)"
            }
            _ => "",
        };
        self.step(Phase::Recovery, format!("{} comes back", inc.server));
        self.line(
            e,
            Tone::Recovery,
            format!("rs starts a new incarnation of {} under the same endpoint {}, {how}", inc.server, inc.ep),
        );
    }

    fn tell_ordinary(&mut self, e: &Entry) {
        self.ensure_open();
        match e.kind {
            Kind::Send { from, to, .. } | Kind::Fail { from, to, .. } | Kind::Deny { from, to, .. } => {
                self.involved.extend([from, to].into_iter().filter(|ep| !ep.is_special()));
            }
            _ => {}
        }
        let window_of = self.inp.incidents.iter().find(|i| i.window.contains(&e.seq)).map(|i| i.server.clone());
        match &e.kind {
            Kind::Spawn { ep, name } => {
                let text = match self.inp.cast.actor(*ep) {
                    Some(a) if a.server => format!("{} starts ({ep})", a.name),
                    Some(a) if *ep == os::proto::INIT => format!("{} starts ({ep}): it runs the workload", a.name),
                    _ => format!("{} is born ({ep}, a copy of {name})", self.name(*ep)),
                };
                self.line(e, Tone::Kernel, text);
            }
            Kind::Send { from, to, m_type, prim } => {
                if let Some(server) = window_of {
                    let text = format!(
                        "{} → {}: {} ({}) — inside {server}'s recovery window",
                        self.name(*from),
                        self.name(*to),
                        message_text(*m_type, *prim),
                        prim.name()
                    );
                    return self.line(e, Tone::Window, text);
                }
                if *m_type == NOTIFY_MESSAGE && *prim == Primitive::Notify {
                    if *from == RS && Cast::is_server(*to) {
                        return self.line(
                            e,
                            Tone::Heartbeat,
                            format!("rs → {}: heartbeat ping (notify)", self.name(*to)),
                        );
                    }
                    if *to == RS && Cast::is_server(*from) {
                        return self.line(
                            e,
                            Tone::Heartbeat,
                            format!("{} → rs: heartbeat answer (notify)", self.name(*from)),
                        );
                    }
                }
                let answer = is_answer(*m_type, *prim);
                let text = format!(
                    "{} → {}: {} ({})",
                    self.name(*from),
                    self.name(*to),
                    message_text(*m_type, *prim),
                    prim.name()
                );
                self.line(e, if answer { Tone::Answer } else { Tone::Message }, text);
            }
            Kind::Deliver { from: Endpoint::KERNEL, to, .. } => {
                if self.alarmed.remove(to) {
                    // The alarm's own notification: told with the alarm.
                    return;
                }
                let notice = self.pending_notices.iter().position(|(_, manager)| manager == to);
                let text = match notice.map(|i| self.pending_notices.remove(i)) {
                    Some((dead, _)) => format!("kernel → {}: notification — {} ended", self.name(*to), self.name(dead)),
                    None => format!("kernel → {}: notification", self.name(*to)),
                };
                self.line(e, Tone::Kernel, text);
            }
            Kind::Deliver { .. } | Kind::Reply { .. } => {}
            Kind::Fail { from, to, m_type, error } => {
                let what = if *m_type == 0 { "receive".to_string() } else { message_text(*m_type, Primitive::SendRec) };
                let what = if *from != RS && Cast::is_server(*from) && *m_type < 0 {
                    format!("answer {}", status_text(*m_type))
                } else {
                    what
                };
                let text = format!("{} → {}: {what} failed with {error}", self.name(*from), self.name(*to));
                self.line(e, Tone::Bad, text);
            }
            Kind::Deny { from, to, m_type, prim } => {
                let text = format!(
                    "{} → {}: {} denied by the manifest",
                    self.name(*from),
                    self.name(*to),
                    message_text(*m_type, *prim)
                );
                self.line(e, Tone::Bad, text);
            }
            Kind::Alarm { to } => {
                self.alarmed.insert(*to);
                let text = if *to == RS {
                    "rs's alarm rings: a heartbeat round (a service silent for two periods counts as hung)".to_string()
                } else {
                    format!("{}'s alarm rings", self.name(*to))
                };
                self.line(e, Tone::Heartbeat, text);
            }
            Kind::KernelCall { by, call, target } => {
                let text = format!("{} → kernel: {call} {}", self.name(*by), self.name(*target));
                self.line(e, Tone::Kernel, text);
            }
            Kind::KernelDeny { by, call } => {
                self.line(e, Tone::Bad, format!("{} → kernel: {call} denied by the manifest", self.name(*by)))
            }
            Kind::Exit { ep } => {
                self.death_notice(*ep);
                self.line(e, Tone::Kernel, format!("{} exits", self.name(*ep)));
            }
            Kind::Crash { ep, location, message } => {
                self.death_notice(*ep);
                self.line(e, Tone::Crash, format!("{} crashes: {message} (at {location})", self.name(*ep)));
            }
            Kind::Killed { ep, by } => {
                self.death_notice(*ep);
                self.line(e, Tone::Kernel, format!("{} is killed by {}", self.name(*ep), self.name(*by)));
            }
            Kind::Exec { ep, program } => {
                self.line(e, Tone::Kernel, format!("{} runs {program} (exec)", self.name(*ep)))
            }
            Kind::Clear { ep } => {
                self.line(e, Tone::Kernel, format!("kernel frees {}'s slot: endpoint {ep} is stale", self.name(*ep)))
            }
            Kind::Note { by, text } if *by == RS => self.line(e, Tone::Note, text.clone()),
            Kind::Note { by, text } => {
                let who = self.name(*by);
                if let Some(last) = self.steps.last_mut()
                    && last.title.is_empty()
                {
                    last.title = format!("{who}: {text}");
                }
                self.line(e, Tone::Note, format!("{who} notes: {text}"));
                self.closed = true;
            }
            Kind::Shutdown { by, reason } => {
                self.line(e, Tone::Halt, format!("shutdown by {}: {reason}", self.name(*by)))
            }
            Kind::Unparsed(line) => self.line(e, Tone::Plain, format!("(a log line the demo cannot read) {line}")),
        }
    }

    fn death_notice(&mut self, ep: Endpoint) {
        // The kernel tells a process's signal manager: rs for services, pm for user processes.
        let manager = if Cast::is_server(ep) { RS } else { PM };
        self.pending_notices.push((ep, manager));
    }

    fn tell_teardown(&mut self, rest: &[Entry]) {
        let Some(first) = rest.first() else { return };
        let stopped: Vec<Endpoint> = rest
            .iter()
            .filter_map(|e| match e.kind {
                Kind::Killed { ep, .. } => Some(ep),
                _ => None,
            })
            .collect();
        let users: Vec<String> = stopped.iter().filter(|&&ep| !Cast::is_server(ep)).map(|&ep| self.name(ep)).collect();
        self.step(Phase::End, "The run is over".into());
        let mut text = format!(
            "the kernel stops every process still there: {}",
            stopped.iter().map(|&ep| self.name(ep)).collect::<Vec<_>>().join(", ")
        );
        if !users.is_empty() {
            text += &format!(" — user processes still waiting when the run ended: {}", users.join(", "));
        }
        self.line(first, Tone::Kernel, text);
    }

    fn verdict(&mut self) {
        let r = self.inp.result;
        self.step(Phase::Verdict, format!("Verdict: {}", r.outcome));
        let good = matches!(r.outcome, Outcome::Pass | Outcome::Recovered);
        self.plain(
            if good { Tone::Good } else { Tone::Bad },
            format!("outcome {}: {}", r.outcome, outcome_text(r.outcome)),
        );
        if !r.fault_fired {
            self.plain(Tone::Bad, "the fault never fired: its point was not reached".into());
        }
        for f in &r.workload.failures {
            self.plain(Tone::Bad, format!("workload check failed: {f}"));
        }
        if r.violations.is_empty() {
            self.plain(Tone::Good, "consistency checker: consistent — every cross-server invariant holds".into());
        } else if r.outcome == Outcome::FailStop {
            self.plain(
                Tone::Bad,
                format!(
                    "consistency checker, on the halted system: {} — damage the halt kept from running on",
                    recovery::counted(r.violations.len() as u64, "finding")
                ),
            );
            for v in &r.violations {
                self.plain(Tone::Bad, format!("  {}: {}", v.invariant, v.detail));
            }
        } else {
            self.plain(
                Tone::Bad,
                format!("consistency checker: {}", recovery::counted(r.violations.len() as u64, "finding")),
            );
            for v in &r.violations {
                self.plain(Tone::Bad, format!("  {}: {}", v.invariant, v.detail));
            }
        }
        for (server, fields) in self.inp.srs_fields {
            for f in fields.iter().filter(|f| f.counters.suspects_created > 0) {
                let c = &f.counters;
                self.plain(
                    Tone::Recovery,
                    format!(
                        "SRS {server} {}: {} dirtied entr{} suspect — {} restored on demand (read again), {} self-cleansed (overwritten first), {} still pending",
                        f.field,
                        c.suspects_created,
                        if c.suspects_created == 1 { "y" } else { "ies" },
                        c.restored_on_read,
                        c.self_cleansed,
                        f.pending
                    ),
                );
            }
        }
        if self.inp.srs_fields.is_empty() {
            for (server, c) in r.srs.iter().filter(|(_, c)| c.suspects_created > 0) {
                self.plain(
                    Tone::Recovery,
                    format!(
                        "SRS {server}: {} suspects, {} restored on demand, {} self-cleansed",
                        c.suspects_created, c.restored_on_read, c.self_cleansed
                    ),
                );
            }
        }
    }
}

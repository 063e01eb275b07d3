//! The task loop every server runs, the one handler shape, and the IPC a handler may use.
//!
//! ```text
//! loop {
//!     checkpoint              // a new recovery window: the undo log starts empty
//!     m = sef::receive()      // blocking (with the previous reply, in one kernel entry);
//!                             // heartbeats are answered inside
//!     handle(m)               // under catch_crash; all state writes go through tracked containers;
//!                             // every outgoing IPC is recorded in the window and in the request's
//!                             // log, with how it completed
//!     reply
//! }
//! ```
//!
//! A new incarnation may first undo what its predecessor's crashed request sent (declared
//! inverses) and handle that request again before it receives anything: with the predecessor's
//! log, each message or kernel call the handler makes again is replayed from the log (its answer,
//! its result) rather than sent twice, until the log is spent. Two kinds of request go again: one
//! the receiver refused (a refusal changed nothing there), and a block write (its bytes come
//! through a grant and may be the crashed attempt's damaged ones; a rewrite is idempotent).
//!
//! A handler is `fn(&mut Ctx<S>) -> Handled`, found in the server's call table by message type.
//! It reaches other processes only through `Ctx`'s IPC methods, whose names say what the message is
//! for the receiver: `sendrec` and `asynsend` are *requests* (they may change the receiver's state
//! and close the recovery window), `reply`, `reply_async` and `send` are answers, `notify` is a
//! notification. The static analysis reads exactly these names.
//!
//! A crash in a handler (the reply site included) leaves the state, the window, the log and the
//! request with the kernel for rs (the recovery manager decides what to do with them), then ends
//! this incarnation as crashed.

use crate::errno::Errno;
use crate::fault::{FaultKind, Injector, Point, Reach, RecoveringPolicies, Site, SiteKind, SiteProfile};
use crate::proto::bdev::BDEV_WRITE;
use crate::proto::{ProcKey, key_of};
use crate::sef;
use kernel_sim::manifest::FIRST_USER_SLOT;
use kernel_sim::{Crash, Endpoint, KernelCall, Message, MsgType, Proc, Start, catch_crash, msgtype::NOTIFY_MESSAGE};
use recovery::{
    CrashFacts, Decision, IpcId, OutgoingKind, PolicyKind, Recoverable, RecoveryTable, Requester, TrackedState, Window,
    WriteAction, WriteEvent, WriteObserver, WriteOp, decide,
};
use std::any::Any;
use std::collections::{BTreeMap, VecDeque};
use std::panic::Location;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// What a handler did with its request.
#[derive(Debug)]
pub enum Handled {
    /// Answer the requester now: a message whose `m_type` is the status, or an error.
    Reply(Result<Message, Errno>),
    /// The requester stays blocked; a later message completes its call (pm's fork and wait4,
    /// vfs's read of an empty pipe).
    Suspend,
    /// Nothing to answer: a notification, or a notice answered by a message of its own.
    NoReply,
}

impl Handled {
    /// A reply carrying only a status.
    pub fn status(result: Result<i32, Errno>) -> Handled {
        Handled::Reply(result.map(Message::new))
    }
}

/// One entry of a server's call table.
pub struct Call<S> {
    /// The message type it serves.
    pub m_type: MsgType,
    /// The call's name, for traces and tables.
    pub name: &'static str,
    /// The handler.
    pub handler: fn(&mut Ctx<'_, S>) -> Handled,
}

/// A size a server reads from its manifest entry at boot (`param NAME NUMBER;`), with the range
/// it accepts: the testbed refuses a manifest that sets another name, or a number outside it,
/// before booting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Param {
    /// Its name in the manifest.
    pub name: &'static str,
    /// What it sizes, for messages.
    pub what: &'static str,
    /// The size when the manifest sets none.
    pub default: u64,
    /// The smallest accepted.
    pub min: u64,
    /// The largest accepted.
    pub max: u64,
}

impl Param {
    /// Whether `n` is in its range.
    pub fn accepts(&self, n: u64) -> bool {
        (self.min..=self.max).contains(&n)
    }

    /// Its size for the service `proc` runs: the manifest's, or the default. A size outside the
    /// range (a manifest the testbed did not check) is a broken boot, not a server's to repair.
    pub fn of(&self, proc: &Proc) -> u64 {
        let n = proc.service_param(self.name).unwrap_or(self.default);
        assert!(self.accepts(n), "param {} = {n} is outside {}..={}", self.name, self.min, self.max);
        n
    }
}

/// What a server is: its name, its state, its call table and how it starts.
pub trait Server: 'static {
    /// The service name in the manifest.
    const NAME: &'static str;
    /// The sizes its manifest entry may set (`param NAME NUMBER;`); none by default.
    const PARAMS: &'static [Param] = &[];
    /// All of its mutable state, in tracked containers.
    type State: TrackedState + Send + 'static;
    /// Its call table: message type -> handler, sorted by message type.
    fn calls() -> &'static [Call<Self::State>];
    /// Its own invariants, checked after each request when the run asks for it; each string is
    /// a violation.
    fn check_invariants(_state: &mut Self::State) -> Vec<String> {
        Vec::new()
    }
    /// The same check after a request whose window began on a state that passed it: a server
    /// whose whole check is costly checks only what the window's writes could have broken.
    fn check_window(state: &mut Self::State) -> Vec<String> {
        Self::check_invariants(state)
    }
    /// The state at boot, doing the kernel-side set-up boot needs (vm maps init's memory).
    fn boot(proc: &Proc) -> Self::State;
    /// The state of a stateless restart: as at boot, without redoing boot's kernel-side set-up.
    fn fresh(proc: &Proc) -> Self::State;
    /// The requests it sends that it knows how to undo.
    fn compensations() -> &'static [Compensation] {
        &[]
    }
    /// After a restart, before any request (MINIX's SEF restart init): what the kernel dropped
    /// with the old incarnation (its alarm: `end` cancels a process's alarm) is set again from
    /// the state this incarnation starts on, so state and kernel agree.
    fn restarted(_proc: &Proc, _state: &mut Self::State) {}
    /// The callers its state holds suspended, to be answered by a later request (none for a
    /// server that answers every request as it handles it). The loop-top self-check compares
    /// them with the callers the kernel says wait for its answer.
    fn suspended(_state: &mut Self::State) -> Vec<Endpoint> {
        Vec::new()
    }
    /// Of `lost`, the messages a request sent that never left, those whose answer someone still
    /// waits for, as violations: the server's own state waiting for a peer's answer to its lost
    /// request (pm's exec for vfs's), or a peer waiting for this server's lost answer. Nobody
    /// would ever answer; the loop-top self-check makes it a crash of the request, which is
    /// handled again and sends it. (A lost notice nobody waits for is not seen here.)
    fn awaiting_lost(_state: &mut Self::State, _lost: &[&Sent]) -> Vec<String> {
        Vec::new()
    }
    /// After a crashed request was dropped (its requester answered an error) from a rolled-back
    /// state: sets right, from the state, what the request's `sent` changed outside it that no
    /// rollback reaches and no declared inverse undoes.
    fn request_dropped(_state: &mut Self::State, _sent: &[Sent]) {}
}

/// How a service incarnation was started after a death (rs's spawn handoff; none at boot).
#[derive(Default)]
pub struct Handoff {
    /// The state to start on, as the recovery manager left it (rolled back or suppressed); none
    /// for a fresh start (MINIX's classic stateless restart).
    pub state: Option<Box<dyn Any + Send>>,
    /// Requests the old incarnation sent that must be undone first, by their declared inverses.
    pub undo: Vec<Sent>,
    /// What becomes of the request the old incarnation died on.
    pub request: Option<Resumed>,
    /// Entry points to refuse: a request of one of these types whose sender waits for the answer
    /// gets `EQUARANTINED` at once, unhandled (a persistent fault was shown in each).
    pub quarantined: Vec<MsgType>,
}

/// What a new incarnation does with the request its predecessor died on.
pub enum Resumed {
    /// Answer this requester with an error: its request was dropped.
    Error {
        /// Who sent it.
        requester: Endpoint,
        /// What the crashed attempt sent (for [`Server::request_dropped`]).
        sent: Vec<Sent>,
    },
    /// Drop it unanswered: its requester saw the dead endpoint and sends it again (the server
    /// came back under a new endpoint).
    Resent {
        /// What the crashed attempt sent (for [`Server::request_dropped`]).
        sent: Vec<Sent>,
    },
    /// Handle the request again from the checkpoint (OSIRIS's REPROCESSING_REQ).
    Reprocess {
        /// The request.
        request: Message,
        /// What the crashed attempt sent, oldest first, to replay rather than send again (empty:
        /// everything is sent again, as OSIRIS does).
        replay: Vec<Sent>,
    },
}

/// One message or kernel call a request sent, and how it completed: the log a reprocessed
/// request replays (what its crashed attempt did is not done twice) and a compensation reads.
#[derive(Clone, Debug)]
pub struct Sent {
    /// Where it went (the kernel, for a kernel call).
    pub to: Endpoint,
    /// What the handler sent (before any injected corruption); a kernel call is its code as the
    /// type, with no payload.
    pub message: Message,
    /// How it completed; `None` when the crash came first (a sendrec still waiting).
    pub completed: Option<Completed>,
}

impl Sent {
    /// The answer of a sendrec that was answered.
    pub fn answer(&self) -> Option<&Message> {
        match &self.completed {
            Some(Completed::Answer(Ok(answer))) if answer.m_type >= 0 => Some(answer),
            _ => None,
        }
    }
}

/// How a sent message or kernel call completed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Completed {
    /// A sendrec's answer as the kernel gave it (a kernel error: none came).
    Answer(Result<Message, kernel_sim::KernelError>),
    /// A message that waits for no answer was handed to the kernel.
    Delivered(Result<(), Errno>),
    /// A message that waits for no answer never reached the kernel (an injected drop): a
    /// reprocessed request sends it.
    Lost,
    /// A kernel call's result.
    Kernel(Result<KernelResult, Errno>),
    /// The bytes a copy from another process's memory read.
    Copied(Result<Vec<u8>, Errno>),
}

/// What a kernel call made through [`Ctx::kernel`] returns, kept for its replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KernelResult {
    /// Nothing (kill, exec, clear, a page mapped).
    Unit,
    /// A process made (fork).
    Endpoint(Endpoint),
    /// The frame a page mapped (unmap).
    Frame(Option<kernel_sim::memory::Frame>),
    /// A death taken from the kernel's queue (a signal manager's).
    Death(Option<kernel_sim::Death>),
    /// A process taken from a kernel queue (a scheduler's, of quanta run out).
    Queued(Option<Endpoint>),
    /// A yes or no (whether a continued process was stopped).
    Flag(bool),
}

/// A kernel call's result type, as a [`KernelResult`].
pub trait KernelReturn: Sized {
    /// Keeps it.
    fn keep(&self) -> KernelResult;
    /// Gets it back.
    fn back(kept: KernelResult) -> Option<Self>;
}

impl KernelReturn for Option<kernel_sim::Death> {
    fn keep(&self) -> KernelResult {
        KernelResult::Death(self.clone())
    }
    fn back(kept: KernelResult) -> Option<Self> {
        match kept {
            KernelResult::Death(death) => Some(death),
            _ => None,
        }
    }
}

impl KernelReturn for Option<Endpoint> {
    fn keep(&self) -> KernelResult {
        KernelResult::Queued(*self)
    }
    fn back(kept: KernelResult) -> Option<Self> {
        match kept {
            KernelResult::Queued(ep) => Some(ep),
            _ => None,
        }
    }
}

impl KernelReturn for bool {
    fn keep(&self) -> KernelResult {
        KernelResult::Flag(*self)
    }
    fn back(kept: KernelResult) -> Option<bool> {
        match kept {
            KernelResult::Flag(flag) => Some(flag),
            _ => None,
        }
    }
}

impl KernelReturn for () {
    fn keep(&self) -> KernelResult {
        KernelResult::Unit
    }
    fn back(kept: KernelResult) -> Option<()> {
        (kept == KernelResult::Unit).then_some(())
    }
}

impl KernelReturn for Endpoint {
    fn keep(&self) -> KernelResult {
        KernelResult::Endpoint(*self)
    }
    fn back(kept: KernelResult) -> Option<Endpoint> {
        match kept {
            KernelResult::Endpoint(ep) => Some(ep),
            _ => None,
        }
    }
}

impl KernelReturn for Option<kernel_sim::memory::Frame> {
    fn keep(&self) -> KernelResult {
        KernelResult::Frame(*self)
    }
    fn back(kept: KernelResult) -> Option<Self> {
        match kept {
            KernelResult::Frame(frame) => Some(frame),
            _ => None,
        }
    }
}

/// A request that a server sends and knows how to undo: declared beside its handler, checked by
/// the analysis (the inverse exists, is fused, and writes at least what the forward request
/// writes) and listed in the recovery table, so a rollback past it need not fail-stop.
pub struct Compensation {
    /// The request sent.
    pub forward: MsgType,
    /// The request that undoes it (what `undo` sets going).
    pub inverse: MsgType,
    /// The undo needs the answer (a sendrec's, which names what was made): without one, the
    /// request cannot be undone. An error answer means nothing was made: nothing to undo.
    pub needs_answer: bool,
    /// Undoes `sent`, from the new incarnation before it serves anything. Errors are ignored:
    /// an undo finds its target already gone when the flow it starts was under way.
    pub undo: fn(&Proc, &Sent),
}

/// What a crashed (or hung and killed) incarnation leaves for rs.
pub struct Remains {
    /// Which server.
    pub server: &'static str,
    /// Its state, as it was when the handler stopped (undo log included).
    pub state: Box<dyn Recoverable>,
    /// Its recovery window: the outgoing IPC of the crashed request.
    pub window: Window,
    /// What the crashed request sent, with how each completed.
    pub sent: Vec<Sent>,
    /// The message types of `sent` this server declares an inverse for.
    pub compensable: Vec<u32>,
    /// The request it crashed on.
    pub request: Message,
    /// Whether its sender waits in a sendrec for the answer (it can take an error answer).
    pub requester_awaits_answer: bool,
    /// The crash (for a hang: the kill).
    pub crash: Crash,
}

impl Remains {
    /// Whether everything the crashed request sent completed, so that handling it again can
    /// replay the log instead of sending anything twice.
    pub fn replayable(&self) -> bool {
        replayable(&self.sent)
    }
}

/// Whether every message and kernel call of a request's log completed.
fn replayable(log: &[Sent]) -> bool {
    log.iter().all(|s| s.completed.is_some())
}

/// Whether the servers' task loops take the loop-top checkpoint before every request: on by
/// default; off only to measure what checkpointing costs (without it a crash cannot be rolled
/// back). One switch is shared by every incarnation of every server, and may be flipped while the
/// system runs, so that a benchmark compares off and on within one boot.
#[derive(Clone, Debug)]
pub struct CheckpointSwitch(Arc<AtomicBool>);

impl CheckpointSwitch {
    /// A switch, on or off.
    pub fn new(on: bool) -> CheckpointSwitch {
        CheckpointSwitch(Arc::new(AtomicBool::new(on)))
    }

    /// Turns checkpointing on or off from the next request on.
    pub fn set(&self, on: bool) {
        self.0.store(on, Ordering::Relaxed);
    }

    /// Whether checkpointing is on.
    pub fn is_on(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

impl Default for CheckpointSwitch {
    fn default() -> Self {
        CheckpointSwitch::new(true)
    }
}

/// What every server incarnation of a run shares with the harness: where to leave state when the
/// system stops, the fault to inject, and whether to check invariants after each request.
#[derive(Clone, Default)]
pub struct ServerEnv {
    /// Take the loop-top checkpoint before every request (on by default).
    pub checkpoints: CheckpointSwitch,
    /// Where servers leave their state when the system stops.
    pub vault: Vault,
    /// The fault of this run, if any.
    pub injector: Option<Arc<Injector>>,
    /// Loop-top invariant checks: a violation after a request is a crash while its window is open.
    /// A run with a fault checks from the moment it fires (see [`ServerEnv::checking`]).
    pub check_invariants: bool,
    /// Where to count every site's executions (the golden run).
    pub profile: Option<Arc<Mutex<SiteProfile>>>,
    /// The recovery-class table the run's policy reads (the golden run's coverage asks every
    /// policy what it would decide).
    pub table: Arc<RecoveryTable>,
}

impl ServerEnv {
    /// Whether the loop-top checks run now. Before a run's fault fires, nothing can be damaged:
    /// the run so far is the fault-free golden run, whose every request passed them, so a
    /// campaign checks from the firing on (about half of each run's checks, a third of its time).
    fn checking(&self) -> bool {
        self.check_invariants && self.injector.as_ref().is_none_or(|i| i.fired())
    }
}

/// The handler's view: the process, the state, the request, and IPC recorded in the window.
pub struct Ctx<'a, S> {
    /// This server's process.
    pub proc: &'a Proc,
    /// This server's state.
    pub state: &'a mut S,
    /// The request being handled.
    pub m: Message,
    window: &'a mut Window,
    /// What this request sent so far.
    log: &'a mut Vec<Sent>,
    /// For a reprocessed request, what its crashed attempt sent and this one has not yet.
    replay: &'a mut VecDeque<Sent>,
    probe: &'a Probe,
}

/// The window's code for a kernel call (MINIX's kernel calls are messages to SYSTEM).
pub const KERNEL_CALL_BASE: u32 = 0x2000;

/// Injects a control-flow fault now.
fn inject(proc: &Proc, kind: FaultKind, where_: &str) {
    match kind {
        FaultKind::Hang => proc.hang(),
        _ => panic!("injected {kind} {where_}"),
    }
}

/// What the request being handled has done so far, as the probes see it.
#[derive(Default)]
struct RequestState {
    /// The entry point being served.
    handler: &'static str,
    /// Which watched request this is, for request-point faults.
    nth: Option<u32>,
    /// Tracked writes so far.
    writes: u32,
    /// No state-changing IPC has left the server yet.
    window_open: bool,
    /// Which policies would recover a crash now (profiled runs only).
    recoverable: RecoveringPolicies,
    /// Its sender waits in a sendrec for the answer (profiled runs only).
    awaited: bool,
    /// A hang was injected at a write; it takes effect at the next IPC or at the end (the
    /// journal's observer cannot block).
    hang_pending: bool,
}

/// Tracked writes one request may make in a faulty or profiled run before it counts as a runaway
/// loop: 100,000, a 400 MiB mapping's pages (a 2 MiB mmap of the tar fixture makes about 500;
/// the POSIX suite's and unixbench's requests stay under 300), reached in about 10 ms: a runaway
/// costs a campaign little.
const RUNAWAY_WRITES: u32 = 100_000;

/// One incarnation's fault-injection and profiling hooks, shared by the task loop, `Ctx` and the
/// journal's write observer.
struct Probe {
    server: &'static str,
    injector: Option<Arc<Injector>>,
    profile: Option<Arc<Mutex<SiteProfile>>>,
    request: Arc<Mutex<RequestState>>,
    /// What a profiled run needs to tell which policies would recover a crash at each site.
    coverage: Option<Coverage>,
}

/// The recovery-class table and the server's declared inverses: with the request's window and
/// log, what every policy would decide on a crash at this point.
struct Coverage {
    table: Arc<RecoveryTable>,
    compensations: &'static [Compensation],
}

impl Coverage {
    /// Which policies would recover (not halt, not leave dead) a crash of the request `m` now.
    fn recoverable(
        &self,
        server: &str,
        m: &Message,
        awaited: bool,
        window: &Window,
        log: &[Sent],
    ) -> RecoveringPolicies {
        let compensable = compensable_types(self.compensations, log);
        let mut bits = 0;
        for policy in PolicyKind::ALL {
            for persistent in [false, true] {
                let facts = CrashFacts {
                    server,
                    m_type: m.m_type,
                    requester: m.source.raw(),
                    requester_is_user: m.source.slot() >= FIRST_USER_SLOT,
                    requester_awaits_answer: awaited,
                    window,
                    hung: false,
                    replayable: replayable(log),
                    // A persistent fault has spent its attempts: whatever the budget, the
                    // decision is the one given up to.
                    attempts: u32::from(persistent),
                    max_attempts: 1,
                    compensable: &compensable,
                    dropped_before: 0,
                    // Whether the requester resends does not change whether it recovers.
                    new_endpoint: false,
                };
                if matches!(decide(policy, &facts, &self.table), Decision::Recover { .. }) {
                    bits |= 1 << RecoveringPolicies::bit(policy, persistent);
                }
            }
        }
        RecoveringPolicies(bits)
    }
}

/// The message types of `log` whose every request the server can undo by a declared inverse.
fn compensable_types(compensations: &[Compensation], log: &[Sent]) -> Vec<u32> {
    compensations
        .iter()
        .filter(|c| {
            let mut of_type = log.iter().filter(|r| r.message.m_type == c.forward).peekable();
            // An answer that is an error status changed nothing to undo: the undo finds nothing.
            of_type.peek().is_some()
                && of_type.all(|r| !c.needs_answer || matches!(r.completed, Some(Completed::Answer(Ok(_)))))
        })
        .map(|c| wire(c.forward))
        .collect()
}

/// What an IPC site's fault does to its message.
enum IpcFault {
    None,
    /// Flip this bit of the message (bad-reply).
    Corrupt(u8),
    /// Lose the message.
    Drop,
}

impl Probe {
    fn request(&self) -> std::sync::MutexGuard<'_, RequestState> {
        self.request.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn location(location: &Location<'_>) -> String {
        format!("{}:{}", location.file(), location.line())
    }

    /// An IPC site (a message or kernel call leaving the server) executes.
    fn ipc_site(&self, proc: &Proc, location: &'static Location<'static>, primitive: &'static str, n: u32) -> IpcFault {
        if self.injector.is_none() && self.profile.is_none() {
            return IpcFault::None;
        }
        let (handler, nth, window_open, recoverable, hang) = {
            let mut r = self.request();
            (r.handler, r.nth, r.window_open, r.recoverable, std::mem::take(&mut r.hang_pending))
        };
        if hang {
            proc.hang();
        }
        if let Some(profile) = &self.profile {
            let site =
                Site { server: self.server.into(), handler: handler.into(), location: Probe::location(location) };
            let kernel_call = primitive == "kernel";
            let mut profile = profile.lock().unwrap_or_else(|e| e.into_inner());
            profile.hit(site, || SiteKind::Ipc { primitive: primitive.into(), kernel_call }, window_open, recoverable);
            profile.request_reached(self.server, handler, |r| r.ipcs_begun = r.ipcs_begun.max(n));
        }
        let Some(injector) = &self.injector else { return IpcFault::None };
        if let Some(kind) = injector.fire_at(nth, Point::BeforeIpc(n)) {
            inject(proc, kind, &format!("before outgoing IPC {n}"));
        }
        match injector.site_hit(self.server, handler, location.file(), location.line()) {
            Some(FaultKind::BadReply) => IpcFault::Corrupt(injector.spec().bit),
            Some(FaultKind::Drop) => IpcFault::Drop,
            Some(kind) => {
                inject(proc, kind, &format!("at {}", Probe::location(location)));
                IpcFault::None
            }
            None => IpcFault::None,
        }
    }

    /// In a profiled run, the request of `handler` got further.
    fn reached(&self, handler: &str, further: impl FnOnce(&mut Reach)) {
        if let Some(profile) = &self.profile {
            profile.lock().unwrap_or_else(|e| e.into_inner()).request_reached(self.server, handler, further);
        }
    }

    /// The request's window changed: in a profiled run, which policies would recover a crash now.
    fn note_window(&self, m: &Message, window: &Window, log: &[Sent]) {
        if let Some(coverage) = &self.coverage {
            let awaited = self.request().awaited;
            let recoverable = coverage.recoverable(self.server, m, awaited, window, log);
            self.request().recoverable = recoverable;
        }
    }

    /// After the n-th outgoing IPC returned.
    fn after_ipc(&self, proc: &Proc, n: u32, window_open: bool) {
        let (handler, nth) = {
            let mut r = self.request();
            r.window_open = window_open;
            (r.handler, r.nth)
        };
        self.reached(handler, |r| r.ipcs_returned = r.ipcs_returned.max(n));
        if let Some(kind) = self.injector.as_ref().and_then(|i| i.fire_at(nth, Point::AfterIpc(n))) {
            inject(proc, kind, &format!("after outgoing IPC {n}"));
        }
    }

    /// The end of the handler: a pending hang, or a request-point fault at the end.
    fn end(&self, proc: &Proc) {
        let (handler, nth, hang) = {
            let mut r = self.request();
            (r.handler, r.nth, std::mem::take(&mut r.hang_pending))
        };
        self.reached(handler, |r| r.ended = true);
        if hang {
            proc.hang();
        }
        if let Some(kind) = self.injector.as_ref().and_then(|i| i.fire_at(nth, Point::End)) {
            inject(proc, kind, "at the end of the request");
        }
    }
}

/// The journal's observer: write sites for profiling and injection.
struct WriteProbe {
    server: &'static str,
    injector: Option<Arc<Injector>>,
    profile: Option<Arc<Mutex<SiteProfile>>>,
    request: Arc<Mutex<RequestState>>,
}

impl WriteObserver for WriteProbe {
    fn on_write(&mut self, event: &WriteEvent) -> WriteAction {
        let (handler, nth, n, window_open, recoverable) = {
            let mut r = self.request.lock().unwrap_or_else(|e| e.into_inner());
            r.writes += 1;
            (r.handler, r.nth, r.writes, r.window_open, r.recoverable)
        };
        let loc = || Probe::location(event.site);
        // A fault can send a handler round a loop for ever (a skipped write its loop's exit
        // condition waited for). The sim engine cannot preempt a coroutine that makes no kernel
        // call, so the loop would stop the whole machine: past this many writes the request is
        // ended as a crash of its server (MINIX's rs would find the server silent and kill it).
        if n > RUNAWAY_WRITES {
            panic!(
                "runaway request: {n} tracked writes in one request ({} at {}): a loop that never ends",
                event.field,
                loc()
            );
        }
        if let Some(profile) = &self.profile {
            let site = Site { server: self.server.into(), handler: handler.into(), location: loc() };
            let release = event.op == WriteOp::Remove || (event.op == WriteOp::Push && event.field.contains("free"));
            let mut profile = profile.lock().unwrap_or_else(|e| e.into_inner());
            profile.hit(
                site,
                || SiteKind::Write { field: event.field.into(), release, corruptible: event.corruptible },
                window_open,
                recoverable,
            );
            profile.request_reached(self.server, handler, |r| r.writes = n);
        }
        let Some(injector) = &self.injector else { return WriteAction::Proceed };
        if injector.fire_at(nth, Point::BeforeWrite(n)).is_some() {
            panic!("injected panic before write {n} ({} at {})", event.field, loc());
        }
        match injector.site_hit(self.server, handler, event.site.file(), event.site.line()) {
            None => WriteAction::Proceed,
            Some(FaultKind::Panic) => panic!("injected panic at {} ({})", loc(), event.field),
            Some(FaultKind::Hang) => {
                self.request.lock().unwrap_or_else(|e| e.into_inner()).hang_pending = true;
                WriteAction::Proceed
            }
            Some(FaultKind::Corrupt) if event.corruptible => WriteAction::Corrupt { bit: injector.spec().bit },
            Some(FaultKind::Corrupt | FaultKind::Overflow) => WriteAction::Neighbour,
            Some(FaultKind::SkipWrite | FaultKind::Leak) => WriteAction::Skip,
            Some(FaultKind::BadReply | FaultKind::Drop) => WriteAction::Proceed,
        }
    }
}

/// A message type as the recovery window stores it.
fn wire(m_type: MsgType) -> u32 {
    m_type as u32
}

fn flip(msg: &mut Message, bit: u8) {
    // The first eight payload bytes hold every layout's leading fields.
    let bit = usize::from(bit) % 64;
    msg.payload[bit / 8] ^= 1 << (bit % 8);
}

impl<S> Ctx<'_, S> {
    /// Who sent the request.
    pub fn who(&self) -> Endpoint {
        self.m.source
    }

    /// The requester, as the key of per-process tables (writes through it are process-local).
    pub fn requester(&self) -> Requester<ProcKey> {
        Requester::new(key_of(self.m.source))
    }

    #[track_caller]
    fn out(&mut self, primitive: &'static str, msg: &mut Message) -> bool {
        let n = self.window.outgoing().len() as u32 + 1;
        match self.probe.ipc_site(self.proc, Location::caller(), primitive, n) {
            IpcFault::None => true,
            IpcFault::Corrupt(bit) => {
                flip(msg, bit);
                true
            }
            IpcFault::Drop => false,
        }
    }

    fn done(&mut self) {
        let n = self.window.outgoing().len() as u32;
        self.probe.note_window(&self.m, self.window, self.log);
        self.probe.after_ipc(self.proc, n, !self.window.is_closed());
    }

    /// During a reprocessed request, how the crashed attempt's same message completed: it is
    /// not sent again. `None` when the log is spent, or the crash cut that message short (it is
    /// sent now). A message other than the log's next means the handler did not do again what it
    /// did (it is not deterministic): the reprocessing crashes, and is retried or given up.
    fn replayed(&mut self, to: Endpoint, message: &Message) -> Option<Completed> {
        let before = self.replay.pop_front()?;
        assert!(
            before.to == to && before.message.m_type == message.m_type && before.message.payload == message.payload,
            "reprocessing diverged from the crashed attempt: type {:#x} to {to} where it sent type {:#x} to {}",
            message.m_type,
            before.message.m_type,
            before.to
        );
        before.completed
    }

    /// Sends a message that waits for no answer (a request to be answered by a message of its
    /// own, an answer, a notification), unless a reprocessed request's log says it already went;
    /// `record` enters it in the window once it left.
    #[track_caller]
    fn post(
        &mut self,
        primitive: &'static str,
        dst: Endpoint,
        msg: Message,
        send: impl FnOnce(&Proc, Message) -> Result<(), kernel_sim::KernelError>,
        record: fn(&mut Window, u32, u32) -> IpcId,
    ) -> Result<(), Errno> {
        let original = msg;
        let mut msg = msg;
        // The site's fault first: a crash there leaves the replay log's entry for the next attempt.
        let delivered = self.out(primitive, &mut msg);
        let replayed = self.replayed(dst, &original);
        let (result, completed) = match replayed {
            Some(Completed::Delivered(result)) => (result, Completed::Delivered(result)),
            _ if delivered => {
                let result = send(self.proc, msg).map_err(Errno::from);
                (result, Completed::Delivered(result))
            }
            _ => (Ok(()), Completed::Lost),
        };
        // Only a message that left (now, or in the crashed attempt a reprocessed request replays)
        // enters the window: a crash at its site comes before it leaves, a lost one never does.
        if completed != Completed::Lost {
            let _ = record(self.window, dst.raw(), wire(original.m_type));
        }
        self.log.push(Sent { to: dst, message: original, completed: Some(completed) });
        self.done();
        result
    }

    /// Sends a request and waits for its answer. A negative status comes back as its errno.
    #[track_caller]
    pub fn sendrec(&mut self, dst: Endpoint, msg: Message) -> Result<Message, Errno> {
        let original = msg;
        let mut msg = msg;
        let delivered = self.out("sendrec", &mut msg);
        let replayed = self.replayed(dst, &original);
        let id: IpcId = self.window.record_request(dst.raw(), wire(msg.m_type));
        // Logged before it blocks: a crash while it waits leaves it incomplete.
        self.log.push(Sent { to: dst, message: original, completed: None });
        let answer = match replayed {
            // Sent again instead: a refused request (it changed nothing at the receiver, which
            // may have refused what the crashed attempt damaged on the way out), and a block
            // write, whose data comes through a grant, not in the message: the crashed attempt
            // may have written damaged bytes, and writing a block twice is idempotent.
            Some(Completed::Answer(Ok(answer))) if answer.m_type >= 0 && original.m_type != BDEV_WRITE => Ok(answer),
            _ => {
                if !delivered {
                    // A lost request: its sender waits for an answer that never comes.
                    self.proc.hang();
                }
                self.proc.sendrec(dst, msg)
            }
        };
        self.log.last_mut().expect("logged above").completed = Some(Completed::Answer(answer));
        if answer.is_ok() {
            self.window.mark_answered(id);
        }
        self.done();
        let answer = answer?;
        if answer.m_type < 0 { Err(Errno::from_status(answer.m_type)) } else { Ok(answer) }
    }

    /// Sends a request without waiting (a notice the receiver answers with a message of its own).
    #[track_caller]
    pub fn asynsend(&mut self, dst: Endpoint, msg: Message) -> Result<(), Errno> {
        self.post("asynsend", dst, msg, |p, m| p.asynsend(dst, m), Window::record_request)
    }

    /// Answers `dst`, which is blocked waiting for it (a suspended caller being released). An
    /// answer to a caller that died or was replaced is dropped, as in MINIX.
    #[track_caller]
    pub fn reply(&mut self, dst: Endpoint, msg: Message) {
        let _ = self.post("reply", dst, msg, |p, m| p.sendnb(dst, m), Window::record_reply);
    }

    /// Answers `dst` through the asynchronous queue: for a process that may not be waiting yet
    /// (a fork child that has not run).
    #[track_caller]
    pub fn reply_async(&mut self, dst: Endpoint, msg: Message) {
        let _ = self.post("reply_async", dst, msg, |p, m| p.asynsend(dst, m), Window::record_reply);
    }

    /// Sends an answer to a server, blocking until it takes it (vfs answering pm's notices).
    #[track_caller]
    pub fn send(&mut self, dst: Endpoint, msg: Message) -> Result<(), Errno> {
        self.post("send", dst, msg, |p, m| p.send(dst, m), Window::record_reply)
    }

    /// Notifies `dst`.
    #[track_caller]
    pub fn notify(&mut self, dst: Endpoint) -> Result<(), Errno> {
        self.post("notify", dst, Message::new(NOTIFY_MESSAGE), |p, _| p.notify(dst), Window::record_notification)
    }

    /// Waits for a notification from `from` (ds telling a subscriber that an entry changed: a
    /// file system waiting for its restarted driver's new endpoint), and keeps it in the
    /// request's log: handling the request again does not wait for it a second time. Other
    /// messages that arrive meanwhile wait in the kernel for the loop's next receive.
    pub fn await_notification(&mut self, from: Endpoint) -> Result<(), Errno> {
        let message = Message::new(NOTIFY_MESSAGE);
        let result = match self.replayed(from, &message) {
            Some(Completed::Delivered(result)) => result,
            // ds sends a subscriber nothing but notifications.
            _ => self.proc.receive(from).map(drop).map_err(Errno::from),
        };
        self.log.push(Sent { to: from, message, completed: Some(Completed::Delivered(result)) });
        result
    }

    /// Copies `len` bytes from `owner`'s memory under `grant`, and keeps them in the request's log:
    /// handling the request again reads what the first attempt read, even where the request
    /// itself changed that memory (exec replaces the image it reads the program's path from).
    pub fn copy_in_kept(&mut self, owner: Endpoint, grant: u32, len: usize) -> Result<Vec<u8>, Errno> {
        let mut message = Message::new((KERNEL_CALL_BASE + KernelCall::SafeCopy as u32) as MsgType);
        message.payload[..4].copy_from_slice(&owner.raw().to_le_bytes());
        message.payload[4..8].copy_from_slice(&grant.to_le_bytes());
        message.payload[8..16].copy_from_slice(&(len as u64).to_le_bytes());
        let bytes = match self.replayed(Endpoint::KERNEL, &message) {
            Some(Completed::Copied(bytes)) => bytes,
            _ => {
                let mut buf = vec![0u8; len];
                self.proc.safecopy_from(owner, grant, 0, &mut buf).map(|()| buf).map_err(Errno::from)
            }
        };
        self.log.push(Sent { to: Endpoint::KERNEL, message, completed: Some(Completed::Copied(bytes.clone())) });
        bytes
    }

    /// A kernel call that changes state outside this server (a process, a page table, another
    /// process's memory): recorded in the window as a state-changing request to the kernel, since
    /// rolling this server back cannot undo it.
    #[track_caller]
    pub fn kernel<R: KernelReturn>(
        &mut self,
        call: KernelCall,
        f: impl FnOnce(&Proc) -> Result<R, kernel_sim::KernelError>,
    ) -> Result<R, Errno> {
        let code = KERNEL_CALL_BASE + call as u32;
        let message = Message::new(code as MsgType);
        let mut unused = Message::new(0);
        // A kernel call's answer is needed: it can crash or hang here, not be dropped.
        self.out("kernel", &mut unused);
        let replayed = self.replayed(Endpoint::KERNEL, &message);
        self.window.record_request(Endpoint::KERNEL.raw(), code);
        let result = match replayed {
            // An alarm died with the crashed incarnation (the kernel cancels it at a process's
            // end): it is set again, which is idempotent, where other calls are not redone.
            Some(Completed::Kernel(kept)) if call != KernelCall::Alarm => {
                kept.map(|k| R::back(k).expect("a replayed kernel call keeps its type"))
            }
            _ => f(self.proc).map_err(Errno::from),
        };
        let kept = result.as_ref().map(R::keep).map_err(|e| *e);
        self.log.push(Sent { to: Endpoint::KERNEL, message, completed: Some(Completed::Kernel(kept)) });
        self.done();
        result
    }
}

/// Where servers leave their state when the system stops, so the consistency checker can read a
/// stopped system. Only the harness reads it; no server reads another's entry.
#[derive(Clone, Default)]
pub struct Vault(Arc<Mutex<BTreeMap<&'static str, Box<dyn Any + Send>>>>);

impl Vault {
    /// Leaves `state` as `name`'s last state (rs does it for a server it will not restart).
    pub fn deposit(&self, name: &'static str, state: Box<dyn Any + Send>) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).insert(name, state);
    }

    /// Takes the last state `name` left, if it is a `T`.
    pub fn take<T: 'static>(&self, name: &str) -> Option<T> {
        let boxed = self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(name)?;
        boxed.downcast::<T>().ok().map(|b| *b)
    }
}

/// Holds the state while the loop runs. If the incarnation is killed while handling a request
/// (rs found it hung), the stack unwinds through here and the state goes to rs as remains, like a
/// crash's; killed at the loop top (the system stopping), the state goes to the vault.
struct StateKeeper<'p, S: Server> {
    state: Option<S::State>,
    window: Window,
    log: Vec<Sent>,
    /// What a reprocessed request's crashed predecessor sent that it has not reached yet.
    replay: VecDeque<Sent>,
    in_flight: Option<Message>,
    proc: &'p Proc,
    vault: Vault,
}

impl<S: Server> StateKeeper<'_, S> {
    /// Hands the state, the window and the request to rs: the incarnation ends.
    fn leave_remains(&mut self, state: S::State, request: Message, crash: Crash) {
        let window = std::mem::replace(&mut self.window, Window::open(recovery::Journal::new().epoch()));
        // A reprocessed request that crashes again has also done what its predecessor did and it
        // had not reached yet: the blocks it wrote, the answers it got.
        let mut sent = std::mem::take(&mut self.log);
        sent.extend(self.replay.drain(..));
        let compensable = compensable_types(S::compensations(), &sent);
        let requester_awaits_answer = self.proc.awaiting_my_answer().contains(&request.source);
        self.proc.leave_remains(Box::new(Remains {
            server: S::NAME,
            state: Box::new(state),
            window,
            sent,
            compensable,
            request,
            requester_awaits_answer,
            crash,
        }));
    }
}

impl<S: Server> Drop for StateKeeper<'_, S> {
    fn drop(&mut self) {
        let Some(state) = self.state.take() else { return };
        match self.in_flight.take() {
            // Killed in a request by rs (found hung): its state goes to rs like a crash's. Killed
            // by the system stopping (a fail-stop, the run's end), in a request or between two,
            // what it holds is the halted system's, for the checker.
            Some(request) if self.proc.killed_by() != Some(Endpoint::KERNEL) => {
                let crash =
                    Crash { message: "stopped answering (hung) and was killed".into(), location: String::new() };
                self.leave_remains(state, request, crash);
            }
            _ => self.vault.deposit(S::NAME, Box::new(state)),
        }
    }
}

/// The loop-top self-check of answers. Every caller blocked waiting for this server's answer (the
/// kernel says who) is the one about to be answered or one its state holds suspended; otherwise
/// the answer was lost (dropped, or a handler that forgot it) and the caller would wait for ever.
/// And no caller whose held call this request answered is still held: its state would say the
/// call goes on. (Not the request's own caller: one that used no sendrec can make a second call
/// while its first is held, and the kernel cannot say whether a held caller waits.) Nor does
/// anyone wait for the answer to a message the request sent that never left ([`Server::awaiting_lost`]).
/// Returns what disagrees.
fn answers_owed<S: Server>(
    proc: &Proc,
    request: &Message,
    state: &mut S::State,
    window: &Window,
    log: &[Sent],
    pending_answer: &Option<(Endpoint, Message)>,
) -> Option<String> {
    let lost: Vec<&Sent> = log.iter().filter(|s| s.completed == Some(Completed::Lost)).collect();
    let mut found = if lost.is_empty() { Vec::new() } else { S::awaiting_lost(state, &lost) };
    let answering = pending_answer.as_ref().map(|(to, _)| *to);
    let waiting: Vec<Endpoint> = proc.awaiting_my_answer().into_iter().filter(|c| Some(*c) != answering).collect();
    let released: Vec<u32> = window
        .outgoing()
        .iter()
        .filter(|o| o.kind == OutgoingKind::Reply && o.destination != request.source.raw())
        .map(|o| o.destination)
        .collect();
    // With nobody to compare with the state, its held callers are not read.
    let held = if waiting.is_empty() && released.is_empty() { Vec::new() } else { S::suspended(state) };
    for caller in waiting.into_iter().filter(|c| !held.contains(c)) {
        let what = if caller == request.source {
            format!("its request type {:#x}", request.m_type)
        } else {
            "a request suspended earlier".to_string()
        };
        found.push(format!("answer-lost: {caller} waits for the answer to {what}, which was neither sent nor held"));
    }
    for answered in released {
        if let Some(caller) = held.iter().find(|h| h.raw() == answered) {
            found.push(format!("answer-held: {caller} was answered but is still held suspended"));
        }
    }
    (!found.is_empty()).then(|| format!("{} invariant violated: {}", S::NAME, found.join("; ")))
}

/// Whether `S`'s call table is sorted by message type, as [`lookup`]'s binary search needs.
fn calls_sorted<S: Server>() -> bool {
    S::calls().windows(2).all(|w| w[0].m_type < w[1].m_type)
}

fn lookup<S>(calls: &'static [Call<S>], m_type: MsgType) -> Option<&'static Call<S>> {
    calls.binary_search_by_key(&m_type, |c| c.m_type).ok().map(|i| &calls[i])
}

/// Runs server `S` as a process: start (boot, fresh restart or recovered state), then the task loop.
pub fn run<S: Server>(proc: &Proc, start: Start, env: ServerEnv) {
    debug_assert!(calls_sorted::<S>(), "{}'s call table is sorted", S::NAME);
    let handoff = start.handoff.and_then(|h| h.downcast::<Handoff>().ok()).map(|h| *h);
    let (mut state, undo, resumed, quarantined) = match handoff {
        None => (S::boot(proc), Vec::new(), None, Vec::new()),
        Some(Handoff { state, undo, request, quarantined }) => {
            let mut state = state.and_then(|s| s.downcast::<S::State>().ok()).map_or_else(|| S::fresh(proc), |s| *s);
            S::restarted(proc, &mut state);
            (state, undo, request, quarantined)
        }
    };
    // Undo what the crashed request had sent, before anything else is served (a lost message
    // did nothing to undo).
    for sent in undo.iter().filter(|s| s.completed != Some(Completed::Lost)) {
        if let Some(c) = S::compensations().iter().find(|c| c.forward == sent.message.m_type) {
            (c.undo)(proc, sent);
        }
    }
    let (mut reprocess, mut replay) = (None, VecDeque::new());
    match resumed {
        // The crashed request is dropped: its requester, still waiting, learns so.
        Some(Resumed::Error { requester, sent }) => {
            S::request_dropped(&mut state, &sent);
            let _ = proc.sendnb(requester, Message::new(Errno::ERECOVERED.status()));
        }
        Some(Resumed::Resent { sent }) => S::request_dropped(&mut state, &sent),
        Some(Resumed::Reprocess { request, replay: log }) => {
            reprocess = Some(request);
            replay = log.into();
        }
        None => {}
    }
    let mut keeper = StateKeeper::<S> {
        state: Some(state),
        window: Window::open(recovery::Journal::new().epoch()),
        log: Vec::new(),
        replay,
        in_flight: None,
        proc,
        vault: env.vault.clone(),
    };
    let request = Arc::new(Mutex::new(RequestState::default()));
    let armed = env.injector.clone().filter(|i| i.spec().server == S::NAME);
    let coverage =
        env.profile.as_ref().map(|_| Coverage { table: env.table.clone(), compensations: S::compensations() });
    let probe = Probe {
        server: S::NAME,
        injector: armed.clone(),
        profile: env.profile.clone(),
        request: request.clone(),
        coverage,
    };
    if armed.is_some() || env.profile.is_some() {
        let observer =
            WriteProbe { server: S::NAME, injector: armed, profile: env.profile.clone(), request: request.clone() };
        keeper.state.as_ref().expect("present").journal().set_observer(Box::new(observer));
    }
    // The answer to the previous request, sent together with the next receive.
    let mut pending_answer: Option<(Endpoint, Message)> = None;
    // Whether this incarnation's state passed a whole self-check (later windows start from it).
    let mut checked_whole = false;
    loop {
        let journal = keeper.state.as_ref().expect("present between requests").journal();
        keeper.window.reopen(if env.checkpoints.is_on() { journal.checkpoint() } else { journal.epoch() });
        keeper.log.clear();
        // A reprocessed request is the first one served, as if it had just arrived.
        let m = match reprocess.take() {
            Some(m) => m,
            None => {
                keeper.replay.clear();
                sef::receive(proc, pending_answer.take())
            }
        };
        let call = lookup(S::calls(), m.m_type);
        if quarantined.contains(&m.m_type) && proc.awaiting_my_answer().contains(&m.source) {
            proc.note(&format!(
                "refuses {} from {}: its entry point is quarantined (a persistent fault)",
                call.map_or("an unknown call", |c| c.name),
                m.source
            ));
            pending_answer = Some((m.source, Message::new(Errno::EQUARANTINED.status())));
            continue;
        }
        let nth = probe.injector.as_ref().and_then(|i| i.request_started(S::NAME, m.m_type));
        let handler = call.map_or("unknown", |c| c.name);
        *probe.request() = RequestState {
            handler,
            nth,
            writes: 0,
            window_open: true,
            recoverable: RecoveringPolicies::default(),
            awaited: probe.coverage.is_some() && proc.awaiting_my_answer().contains(&m.source),
            hang_pending: false,
        };
        if let Some(profile) = &probe.profile {
            profile.lock().unwrap_or_else(|e| e.into_inner()).request_started(S::NAME, handler);
        }
        probe.note_window(&m, &keeper.window, &keeper.log);
        keeper.in_flight = Some(m);
        let StateKeeper { state, window, log, replay, .. } = &mut keeper;
        let state = state.as_mut().expect("present between requests");
        let outcome = catch_crash(|| {
            if let Some(kind) = probe.injector.as_ref().and_then(|i| i.fire_at(nth, Point::Start)) {
                inject(proc, kind, "at the start of the request");
            }
            let mut ctx = Ctx {
                proc,
                state: &mut *state,
                m,
                window: &mut *window,
                log: &mut *log,
                replay: &mut *replay,
                probe: &probe,
            };
            let handled = match call {
                Some(call) => (call.handler)(&mut ctx),
                None if m.m_type == NOTIFY_MESSAGE => Handled::NoReply,
                None => Handled::Reply(Err(Errno::ENOSYS)),
            };
            probe.end(proc);
            // Only a request that wrote (or tried to) can have broken an invariant. The first
            // check of an incarnation is whole: its state was made or handed over, not checked.
            if env.checking() && state.journal().written() {
                let violations = if checked_whole { S::check_window(state) } else { S::check_invariants(state) };
                assert!(violations.is_empty(), "{} invariant violated: {}", S::NAME, violations.join("; "));
                checked_whole = true;
            }
            // The reply is an IPC site too. A crash there comes after the handler finished and
            // before the answer left: its effects are in the window, and recovery decides.
            let fault = match handled {
                Handled::Reply(_) => {
                    probe.ipc_site(proc, Location::caller(), "reply", window.outgoing().len() as u32 + 1)
                }
                Handled::Suspend | Handled::NoReply => IpcFault::None,
            };
            (handled, fault)
        });
        match outcome {
            Ok((Handled::Reply(answer), fault)) => {
                let mut msg = answer.unwrap_or_else(|e| Message::new(e.status()));
                keeper.window.record_reply(m.source.raw(), wire(msg.m_type));
                match fault {
                    IpcFault::Drop => {}
                    IpcFault::Corrupt(bit) => {
                        flip(&mut msg, bit);
                        pending_answer = Some((m.source, msg));
                    }
                    IpcFault::None => pending_answer = Some((m.source, msg)),
                }
            }
            Ok((Handled::Suspend | Handled::NoReply, _)) => {}
            Err(crash) => {
                let state = keeper.state.take().expect("present until now");
                keeper.leave_remains(state, m, crash.clone());
                proc.crash(crash);
            }
        }
        if env.checking()
            && let Some(lost) = answers_owed::<S>(
                proc,
                &m,
                keeper.state.as_mut().expect("present"),
                &keeper.window,
                &keeper.log,
                &pending_answer,
            )
        {
            // A crash of this request, whose window is still open: handled again, its answer goes.
            let crash = Crash { message: lost, location: Location::caller().to_string() };
            let state = keeper.state.take().expect("present until now");
            keeper.leave_remains(state, m, crash.clone());
            proc.crash(crash);
        }
        keeper.in_flight = None;
    }
}

#[cfg(test)]
mod tests {
    use super::{ServerEnv, calls_sorted};
    use crate::fault::{Injector, Point};
    use crate::proto::pm::PM_FORK;
    use std::sync::Arc;

    #[test]
    fn a_run_with_a_fault_checks_from_its_firing_on() {
        let injector = Arc::new(Injector::new("panic:pm:fork:start:2".parse().unwrap()));
        let env = ServerEnv { check_invariants: true, injector: Some(injector.clone()), ..ServerEnv::default() };
        assert!(ServerEnv { check_invariants: true, ..ServerEnv::default() }.checking(), "a fault-free run checks");
        assert!(!ServerEnv { check_invariants: false, ..ServerEnv::default() }.checking());
        let first = injector.request_started("pm", PM_FORK);
        assert_eq!(injector.fire_at(first, Point::Start), None);
        assert!(!env.checking(), "before the fault fires the run is the golden run's prefix");
        let second = injector.request_started("pm", PM_FORK);
        assert!(injector.fire_at(second, Point::Start).is_some());
        assert!(env.checking(), "from the firing on, every server checks");
    }

    #[test]
    fn every_servers_call_table_is_sorted_by_type() {
        use crate::{ds::Ds, memdisk::Memdisk, memory::Memory, mfs::Mfs, pm::Pm, sched::Sched, vfs::Vfs, vm::Vm};
        let sorted = [
            ("pm", calls_sorted::<Pm>()),
            ("vfs", calls_sorted::<Vfs>()),
            ("vm", calls_sorted::<Vm>()),
            ("mfs", calls_sorted::<Mfs>()),
            ("ds", calls_sorted::<Ds>()),
            ("sched", calls_sorted::<Sched>()),
            ("memdisk", calls_sorted::<Memdisk>()),
            ("memory", calls_sorted::<Memory>()),
        ];
        for (server, sorted) in sorted {
            assert!(sorted, "{server}'s call table is sorted by message type");
        }
    }
}

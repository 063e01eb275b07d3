//! The task loop every server runs, the one handler shape, and the IPC a handler may use.
//!
//! ```text
//! loop {
//!     checkpoint              // a new recovery window: the undo log starts empty
//!     m = sef::receive()      // blocking (with the previous reply, in one kernel entry);
//!                             // heartbeats are answered inside
//!     handle(m)               // under catch_crash; all state writes go through tracked containers;
//!                             // every outgoing IPC is recorded in the window
//!     reply
//! }
//! ```
//!
//! A handler is `fn(&mut Ctx<S>) -> Handled`, found in the server's call table by message type.
//! It reaches other processes only through `Ctx`'s IPC methods, whose names say what the message is
//! for the receiver: `sendrec` and `asynsend` are *requests* (they may change the receiver's state
//! and close the recovery window), `reply`, `reply_async` and `send` are answers, `notify` is a
//! notification. The static analysis reads exactly these names.
//!
//! A crash in a handler leaves the state, the window and the request with the kernel for rs (the
//! recovery manager decides what to do with them), then ends this incarnation as crashed.

use crate::errno::Errno;
use crate::fault::{FaultKind, Injector, Point, Site, SiteKind, SiteProfile};
use crate::proto::{ProcKey, key_of};
use crate::sef;
use kernel_sim::{Crash, Endpoint, KernelCall, Message, MsgType, Proc, Start, catch_crash, msgtype::NOTIFY_MESSAGE};
use recovery::{IpcId, Recoverable, Requester, TrackedState, Window, WriteAction, WriteEvent, WriteObserver, WriteOp};
use std::any::Any;
use std::collections::BTreeMap;
use std::panic::Location;
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

/// What a server is: its name, its state, its call table and how it starts.
pub trait Server: 'static {
    /// The service name in the manifest.
    const NAME: &'static str;
    /// All of its mutable state, in tracked containers.
    type State: TrackedState + Send + 'static;
    /// Its call table: message type -> handler, sorted by message type.
    fn calls() -> &'static [Call<Self::State>];
    /// Its own invariants, checked after each request when the run asks for it; each string is
    /// a violation.
    fn check_invariants(_state: &mut Self::State) -> Vec<String> {
        Vec::new()
    }
    /// The state at boot, doing the kernel-side set-up boot needs (vm maps init's memory).
    fn boot(proc: &Proc) -> Self::State;
    /// The state of a stateless restart: as at boot, without redoing boot's kernel-side set-up.
    fn fresh(proc: &Proc) -> Self::State;
}

/// How a service incarnation was started (handed over by rs as the spawn's handoff; none at boot).
pub enum Handoff {
    /// A restart with fresh state (MINIX's classic stateless restart).
    Fresh {
        /// Answer this requester with an error first: its request died with the old incarnation.
        reply_error_to: Option<Endpoint>,
    },
    /// A restart with state recovered from the crashed incarnation (rolled back or suppressed).
    Recovered {
        /// The state, as the recovery manager left it.
        state: Box<dyn Any + Send>,
        /// Answer this requester with an error first.
        reply_error_to: Option<Endpoint>,
    },
}

/// What a crashed (or hung and killed) incarnation leaves for rs.
pub struct Remains {
    /// Which server.
    pub server: &'static str,
    /// Its state, as it was when the handler stopped (undo log included).
    pub state: Box<dyn Recoverable>,
    /// Its recovery window: the outgoing IPC of the crashed request.
    pub window: Window,
    /// The request it crashed on.
    pub request: Message,
    /// The crash (for a hang: the kill).
    pub crash: Crash,
}

/// What every server incarnation of a run shares with the harness: where to leave state when the
/// system stops, the fault to inject, and whether to check invariants after each request.
#[derive(Clone)]
pub struct ServerEnv {
    /// Take the loop-top checkpoint before every request (on by default). Off only to measure
    /// what checkpointing costs: without it a crash cannot be rolled back.
    pub checkpoints: bool,
    /// Where servers leave their state when the system stops.
    pub vault: Vault,
    /// The fault of this run, if any.
    pub injector: Option<Arc<Injector>>,
    /// Loop-top invariant checks: a violation after a request is a crash while its window is open.
    pub check_invariants: bool,
    /// Where to count every site's executions (the golden run).
    pub profile: Option<Arc<Mutex<SiteProfile>>>,
}

impl Default for ServerEnv {
    fn default() -> Self {
        ServerEnv { checkpoints: true, vault: Vault::default(), injector: None, check_invariants: false, profile: None }
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
    /// A hang was injected at a write; it takes effect at the next IPC or at the end (the
    /// journal's observer cannot block).
    hang_pending: bool,
}

/// One incarnation's fault-injection and profiling hooks, shared by the task loop, `Ctx` and the
/// journal's write observer.
struct Probe {
    server: &'static str,
    injector: Option<Arc<Injector>>,
    profile: Option<Arc<Mutex<SiteProfile>>>,
    request: Arc<Mutex<RequestState>>,
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
        let (handler, nth, window_open, hang) = {
            let mut r = self.request();
            (r.handler, r.nth, r.window_open, std::mem::take(&mut r.hang_pending))
        };
        if hang {
            proc.hang();
        }
        let loc = Probe::location(location);
        if let Some(profile) = &self.profile {
            let site = Site { server: self.server.into(), handler: handler.into(), location: loc.clone() };
            let kernel_call = primitive == "kernel";
            profile.lock().unwrap_or_else(|e| e.into_inner()).hit(
                site,
                || SiteKind::Ipc { primitive: primitive.into(), kernel_call },
                window_open,
            );
        }
        let Some(injector) = &self.injector else { return IpcFault::None };
        if let Some(kind) = injector.fire_at(nth, Point::BeforeIpc(n)) {
            inject(proc, kind, &format!("before outgoing IPC {n}"));
        }
        match injector.site_hit(self.server, handler, &loc) {
            Some(FaultKind::BadReply) => IpcFault::Corrupt(injector.spec().bit),
            Some(FaultKind::Drop) => IpcFault::Drop,
            Some(kind) => {
                inject(proc, kind, &format!("at {loc}"));
                IpcFault::None
            }
            None => IpcFault::None,
        }
    }

    /// After the n-th outgoing IPC returned.
    fn after_ipc(&self, proc: &Proc, n: u32, window_open: bool) {
        let nth = {
            let mut r = self.request();
            r.window_open = window_open;
            r.nth
        };
        if let Some(kind) = self.injector.as_ref().and_then(|i| i.fire_at(nth, Point::AfterIpc(n))) {
            inject(proc, kind, &format!("after outgoing IPC {n}"));
        }
    }

    /// The end of the handler: a pending hang, or a request-point fault at the end.
    fn end(&self, proc: &Proc) {
        let (nth, hang) = {
            let mut r = self.request();
            (r.nth, std::mem::take(&mut r.hang_pending))
        };
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
        let (handler, nth, n, window_open) = {
            let mut r = self.request.lock().unwrap_or_else(|e| e.into_inner());
            r.writes += 1;
            (r.handler, r.nth, r.writes, r.window_open)
        };
        let loc = Probe::location(event.site);
        if let Some(profile) = &self.profile {
            let site = Site { server: self.server.into(), handler: handler.into(), location: loc.clone() };
            let release = event.op == WriteOp::Remove || (event.op == WriteOp::Push && event.field.contains("free"));
            profile.lock().unwrap_or_else(|e| e.into_inner()).hit(
                site,
                || SiteKind::Write { field: event.field.into(), release, corruptible: event.corruptible },
                window_open,
            );
        }
        let Some(injector) = &self.injector else { return WriteAction::Proceed };
        if injector.fire_at(nth, Point::BeforeWrite(n)).is_some() {
            panic!("injected panic before write {n} ({} at {loc})", event.field);
        }
        match injector.site_hit(self.server, handler, &loc) {
            None => WriteAction::Proceed,
            Some(FaultKind::Panic) => panic!("injected panic at {loc} ({})", event.field),
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
        self.probe.after_ipc(self.proc, n, !self.window.is_closed());
    }

    /// Sends a request and waits for its answer. A negative status comes back as its errno.
    #[track_caller]
    pub fn sendrec(&mut self, dst: Endpoint, msg: Message) -> Result<Message, Errno> {
        let mut msg = msg;
        let delivered = self.out("sendrec", &mut msg);
        let id: IpcId = self.window.record_request(dst.raw(), wire(msg.m_type));
        if !delivered {
            // A lost request: its sender waits for an answer that never comes.
            self.proc.hang();
        }
        let answer = self.proc.sendrec(dst, msg);
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
        let mut msg = msg;
        let delivered = self.out("asynsend", &mut msg);
        self.window.record_request(dst.raw(), wire(msg.m_type));
        let sent = if delivered { self.proc.asynsend(dst, msg) } else { Ok(()) };
        self.done();
        Ok(sent?)
    }

    /// Answers `dst`, which is blocked waiting for it (a suspended caller being released). An
    /// answer to a caller that died or was replaced is dropped, as in MINIX.
    #[track_caller]
    pub fn reply(&mut self, dst: Endpoint, msg: Message) {
        let mut msg = msg;
        let delivered = self.out("reply", &mut msg);
        self.window.record_reply(dst.raw(), wire(msg.m_type));
        if delivered {
            let _ = self.proc.sendnb(dst, msg);
        }
        self.done();
    }

    /// Answers `dst` through the asynchronous queue: for a process that may not be waiting yet
    /// (a fork child that has not run).
    #[track_caller]
    pub fn reply_async(&mut self, dst: Endpoint, msg: Message) {
        let mut msg = msg;
        let delivered = self.out("reply_async", &mut msg);
        self.window.record_reply(dst.raw(), wire(msg.m_type));
        if delivered {
            let _ = self.proc.asynsend(dst, msg);
        }
        self.done();
    }

    /// Sends an answer to a server, blocking until it takes it (vfs answering pm's notices).
    #[track_caller]
    pub fn send(&mut self, dst: Endpoint, msg: Message) -> Result<(), Errno> {
        let mut msg = msg;
        let delivered = self.out("send", &mut msg);
        self.window.record_reply(dst.raw(), wire(msg.m_type));
        let sent = if delivered { self.proc.send(dst, msg) } else { Ok(()) };
        self.done();
        Ok(sent?)
    }

    /// Notifies `dst`.
    #[track_caller]
    pub fn notify(&mut self, dst: Endpoint) -> Result<(), Errno> {
        let mut msg = Message::new(NOTIFY_MESSAGE);
        let delivered = self.out("notify", &mut msg);
        self.window.record_notification(dst.raw(), wire(NOTIFY_MESSAGE));
        let sent = if delivered { self.proc.notify(dst) } else { Ok(()) };
        self.done();
        Ok(sent?)
    }

    /// A kernel call that changes state outside this server (a process, a page table, another
    /// process's memory): recorded in the window as a state-changing request to the kernel, since
    /// rolling this server back cannot undo it.
    #[track_caller]
    pub fn kernel<R>(
        &mut self,
        call: KernelCall,
        f: impl FnOnce(&Proc) -> Result<R, kernel_sim::KernelError>,
    ) -> Result<R, Errno> {
        let mut unused = Message::new(0);
        // A kernel call's answer is needed: it can crash or hang here, not be dropped.
        self.out("kernel", &mut unused);
        self.window.record_request(Endpoint::KERNEL.raw(), KERNEL_CALL_BASE + call as u32);
        let r = f(self.proc);
        self.done();
        Ok(r?)
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
struct StateKeeper<'p, S: Recoverable + 'static> {
    state: Option<S>,
    window: Window,
    in_flight: Option<Message>,
    name: &'static str,
    proc: &'p Proc,
    vault: Vault,
}

impl<S: Recoverable + 'static> Drop for StateKeeper<'_, S> {
    fn drop(&mut self) {
        let Some(state) = self.state.take() else { return };
        match self.in_flight.take() {
            Some(request) => {
                let crash =
                    Crash { message: "stopped answering (hung) and was killed".into(), location: String::new() };
                let window = std::mem::replace(&mut self.window, Window::open(recovery::Journal::new().epoch()));
                self.proc.leave_remains(Box::new(Remains {
                    server: self.name,
                    state: Box::new(state),
                    window,
                    request,
                    crash,
                }));
            }
            None => self.vault.deposit(self.name, Box::new(state)),
        }
    }
}

fn lookup<S>(calls: &'static [Call<S>], m_type: MsgType) -> Option<&'static Call<S>> {
    calls.binary_search_by_key(&m_type, |c| c.m_type).ok().map(|i| &calls[i])
}

/// Runs server `S` as a process: start (boot, fresh restart or recovered state), then the task loop.
pub fn run<S: Server>(proc: &Proc, start: Start, env: ServerEnv) {
    debug_assert!(S::calls().windows(2).all(|w| w[0].m_type < w[1].m_type), "{}'s call table is sorted", S::NAME);
    let (state, reply_error_to) = match start.handoff.map(|h| h.downcast::<Handoff>()) {
        None => (S::boot(proc), None),
        Some(Ok(h)) => match *h {
            Handoff::Fresh { reply_error_to } => (S::fresh(proc), reply_error_to),
            Handoff::Recovered { state, reply_error_to } => match state.downcast::<S::State>() {
                Ok(state) => (*state, reply_error_to),
                Err(_) => (S::fresh(proc), reply_error_to),
            },
        },
        Some(Err(_)) => (S::fresh(proc), None),
    };
    if let Some(requester) = reply_error_to {
        // The crashed request is dropped: its requester, still waiting, learns so.
        let _ = proc.sendnb(requester, Message::new(Errno::ERECOVERED.status()));
    }
    let mut keeper = StateKeeper {
        state: Some(state),
        window: Window::open(recovery::Journal::new().epoch()),
        in_flight: None,
        name: S::NAME,
        proc,
        vault: env.vault.clone(),
    };
    let request = Arc::new(Mutex::new(RequestState::default()));
    let armed = env.injector.clone().filter(|i| i.spec().server == S::NAME);
    let probe =
        Probe { server: S::NAME, injector: armed.clone(), profile: env.profile.clone(), request: request.clone() };
    if armed.is_some() || env.profile.is_some() {
        let observer =
            WriteProbe { server: S::NAME, injector: armed, profile: env.profile.clone(), request: request.clone() };
        keeper.state.as_ref().expect("present").journal().set_observer(Box::new(observer));
    }
    // The answer to the previous request, sent together with the next receive.
    let mut pending_answer: Option<(Endpoint, Message)> = None;
    loop {
        let journal = keeper.state.as_ref().expect("present between requests").journal();
        keeper.window.reopen(if env.checkpoints { journal.checkpoint() } else { journal.epoch() });
        let m = sef::receive(proc, pending_answer.take());
        let call = lookup(S::calls(), m.m_type);
        let nth = probe.injector.as_ref().and_then(|i| i.request_started(S::NAME, m.m_type));
        *probe.request() = RequestState {
            handler: call.map_or("unknown", |c| c.name),
            nth,
            writes: 0,
            window_open: true,
            hang_pending: false,
        };
        keeper.in_flight = Some(m);
        let StateKeeper { state, window, .. } = &mut keeper;
        let state = state.as_mut().expect("present between requests");
        let outcome = catch_crash(|| {
            if let Some(kind) = probe.injector.as_ref().and_then(|i| i.fire_at(nth, Point::Start)) {
                inject(proc, kind, "at the start of the request");
            }
            let mut ctx = Ctx { proc, state: &mut *state, m, window: &mut *window, probe: &probe };
            let handled = match call {
                Some(call) => (call.handler)(&mut ctx),
                None if m.m_type == NOTIFY_MESSAGE => Handled::NoReply,
                None => Handled::Reply(Err(Errno::ENOSYS)),
            };
            probe.end(proc);
            if env.check_invariants {
                let violations = S::check_invariants(state);
                assert!(violations.is_empty(), "{} invariant violated: {}", S::NAME, violations.join("; "));
            }
            handled
        });
        match outcome {
            Ok(Handled::Reply(answer)) => {
                let mut msg = answer.unwrap_or_else(|e| Message::new(e.status()));
                // The reply is an IPC site too: it can be corrupted or lost, not crash (the
                // request is done).
                let n = keeper.window.outgoing().len() as u32 + 1;
                let delivered = catch_crash(|| probe.ipc_site(proc, Location::caller(), "reply", n));
                keeper.window.record_reply(m.source.raw(), wire(msg.m_type));
                match delivered {
                    Ok(IpcFault::Drop) => {}
                    Ok(IpcFault::Corrupt(bit)) => {
                        flip(&mut msg, bit);
                        pending_answer = Some((m.source, msg));
                    }
                    _ => pending_answer = Some((m.source, msg)),
                }
            }
            Ok(Handled::Suspend | Handled::NoReply) => {}
            Err(crash) => {
                let state = keeper.state.take().expect("present until now");
                let window = std::mem::replace(&mut keeper.window, Window::open(recovery::Journal::new().epoch()));
                proc.leave_remains(Box::new(Remains {
                    server: S::NAME,
                    state: Box::new(state),
                    window,
                    request: m,
                    crash: crash.clone(),
                }));
                proc.crash(crash);
            }
        }
        keeper.in_flight = None;
    }
}

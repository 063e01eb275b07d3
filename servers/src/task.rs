//! The task loop every server runs, the one handler shape, and the IPC a handler may use.
//!
//! ```text
//! loop {
//!     checkpoint              // a new recovery window: the undo log starts empty
//!     m = sef::receive()      // blocking; heartbeats are answered inside
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
use crate::proto::{ProcKey, key_of};
use crate::sef;
use kernel_sim::{Crash, Endpoint, Message, MsgType, Proc, Start, catch_crash, msgtype::NOTIFY_MESSAGE};
use recovery::{IpcId, Requester, TrackedState, Window};
use std::any::Any;
use std::collections::BTreeMap;
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
    /// The state at boot, doing the kernel-side set-up boot needs (vm maps init's memory).
    fn boot(proc: &Proc) -> Self::State;
    /// The state of a stateless restart: as at boot, without redoing boot's kernel-side set-up.
    fn fresh(proc: &Proc) -> Self::State;
}

/// How a service incarnation was started (handed over by rs as the spawn's handoff; none at boot).
pub enum Handoff {
    /// A restart with fresh state (MINIX's classic stateless restart).
    Fresh,
    /// A restart with state recovered from the crashed incarnation.
    Recovered(Box<dyn Any + Send>),
}

/// What a crashed incarnation leaves for rs.
pub struct Remains<S> {
    /// Its state, as it was when the handler crashed (undo log included).
    pub state: S,
    /// Its recovery window: the outgoing IPC of the crashed request.
    pub window: Window,
    /// The request it crashed on.
    pub request: Message,
    /// The crash.
    pub crash: Crash,
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
}

fn wire(m_type: MsgType) -> u32 {
    m_type as u32
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

    /// Sends a request and waits for its answer. A negative status comes back as its errno.
    pub fn sendrec(&mut self, dst: Endpoint, msg: Message) -> Result<Message, Errno> {
        let id: IpcId = self.window.record_request(dst.raw(), wire(msg.m_type));
        let answer = self.proc.sendrec(dst, msg)?;
        self.window.mark_answered(id);
        if answer.m_type < 0 { Err(Errno::from_status(answer.m_type)) } else { Ok(answer) }
    }

    /// Sends a request without waiting (a notice the receiver answers with a message of its own).
    pub fn asynsend(&mut self, dst: Endpoint, msg: Message) -> Result<(), Errno> {
        self.window.record_request(dst.raw(), wire(msg.m_type));
        Ok(self.proc.asynsend(dst, msg)?)
    }

    /// Answers `dst`, which is blocked waiting for it (a suspended caller being released). An
    /// answer to a caller that died or was replaced is dropped, as in MINIX.
    pub fn reply(&mut self, dst: Endpoint, msg: Message) {
        self.window.record_reply(dst.raw(), wire(msg.m_type));
        let _ = self.proc.sendnb(dst, msg);
    }

    /// Answers `dst` through the asynchronous queue: for a process that may not be waiting yet
    /// (a fork child that has not run).
    pub fn reply_async(&mut self, dst: Endpoint, msg: Message) {
        self.window.record_reply(dst.raw(), wire(msg.m_type));
        let _ = self.proc.asynsend(dst, msg);
    }

    /// Sends an answer to a server, blocking until it takes it (vfs answering pm's notices).
    pub fn send(&mut self, dst: Endpoint, msg: Message) -> Result<(), Errno> {
        self.window.record_reply(dst.raw(), wire(msg.m_type));
        Ok(self.proc.send(dst, msg)?)
    }

    /// Notifies `dst`.
    pub fn notify(&mut self, dst: Endpoint) -> Result<(), Errno> {
        self.window.record_notification(dst.raw(), wire(NOTIFY_MESSAGE));
        Ok(self.proc.notify(dst)?)
    }
}

/// Where servers leave their state when the system stops, so the consistency checker can read a
/// stopped system. Only the harness reads it; no server reads another's entry.
#[derive(Clone, Default)]
pub struct Vault(Arc<Mutex<BTreeMap<&'static str, Box<dyn Any + Send>>>>);

impl Vault {
    fn deposit(&self, name: &'static str, state: Box<dyn Any + Send>) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).insert(name, state);
    }

    /// Takes the last state `name` left, if it is a `T`.
    pub fn take<T: 'static>(&self, name: &str) -> Option<T> {
        let boxed = self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(name)?;
        boxed.downcast::<T>().ok().map(|b| *b)
    }
}

/// Holds the state while the loop runs; deposits it in the vault when the incarnation ends by a
/// kill (the system stopping, or rs killing a hung server) — the stack unwinds through here.
struct StateKeeper<S: Send + 'static> {
    state: Option<S>,
    name: &'static str,
    vault: Vault,
}

impl<S: Send + 'static> Drop for StateKeeper<S> {
    fn drop(&mut self) {
        if let Some(state) = self.state.take() {
            self.vault.deposit(self.name, Box::new(state));
        }
    }
}

fn lookup<S>(calls: &'static [Call<S>], m_type: MsgType) -> Option<&'static Call<S>> {
    calls.binary_search_by_key(&m_type, |c| c.m_type).ok().map(|i| &calls[i])
}

/// Runs server `S` as a process: start (boot, fresh restart or recovered state), then the task loop.
pub fn run<S: Server>(proc: &Proc, start: Start, vault: Vault) {
    debug_assert!(S::calls().windows(2).all(|w| w[0].m_type < w[1].m_type), "{}'s call table is sorted", S::NAME);
    let state = match start.handoff.map(|h| h.downcast::<Handoff>()) {
        None => S::boot(proc),
        Some(Ok(h)) => match *h {
            Handoff::Fresh => S::fresh(proc),
            Handoff::Recovered(state) => match state.downcast::<S::State>() {
                Ok(state) => *state,
                Err(_) => S::fresh(proc),
            },
        },
        Some(Err(_)) => S::fresh(proc),
    };
    let mut keeper = StateKeeper { state: Some(state), name: S::NAME, vault };
    loop {
        let state = keeper.state.as_mut().expect("the state is only taken to crash");
        let mut window = state.checkpoint();
        let m = sef::receive(proc);
        let outcome = catch_crash(|| {
            let mut ctx = Ctx { proc, state: &mut *state, m, window: &mut window };
            match lookup(S::calls(), m.m_type) {
                Some(call) => (call.handler)(&mut ctx),
                None if m.m_type == NOTIFY_MESSAGE => Handled::NoReply,
                None => Handled::Reply(Err(Errno::ENOSYS)),
            }
        });
        match outcome {
            Ok(Handled::Reply(answer)) => {
                let msg = answer.unwrap_or_else(|e| Message::new(e.status()));
                window.record_reply(m.source.raw(), wire(msg.m_type));
                let _ = proc.sendnb(m.source, msg);
            }
            Ok(Handled::Suspend | Handled::NoReply) => {}
            Err(crash) => {
                let state = keeper.state.take().expect("present until now");
                proc.leave_remains(Box::new(Remains { state, window, request: m, crash: crash.clone() }));
                proc.crash(crash);
            }
        }
    }
}

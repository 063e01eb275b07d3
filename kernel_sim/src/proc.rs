//! `Proc`: the handle a simulated process uses to reach the kernel — its only way to reach anything.
//!
//! Server and user code call the same methods under both engines; nothing here tells them apart.
//! IPC primitives follow MINIX: `send` blocks until the receiver takes the message, `sendnb` fails
//! unless the receiver is waiting, `sendrec` sends and waits for the reply, `asynsend` queues and
//! never blocks, `notify` sets a coalesced bit. Kernel calls are checked against the caller's
//! kernel-call mask from the manifest. Reading and writing one's own memory, grants and the fork
//! body are not kernel calls (in MINIX they are the hardware and the process's own grant table).
//!
//! Invariant: when the kernel has decided a process must stop (killed, or its program replaced by
//! exec), the process's next kernel entry unwinds its stack instead of returning; the engine catches
//! that unwind at the process boundary. Code that catches panics itself must use [`catch_crash`],
//! which lets these control unwinds through.

use crate::clock::Micros;
use crate::core::{Body, Death, KernelCore, ProcInfo, SigFrame, Step, Unwind};
use crate::endpoint::{Endpoint, Slot};
use crate::engine::{sim::SimLink, threads::ThreadLink};
use crate::error::KernelError;
use crate::manifest::KernelCall;
use crate::memory::{Access, Frame, GrantId, VirtAddr};
use crate::message::Message;
use crate::trace::Primitive;
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};

/// How the engine connects a process to the kernel.
pub(crate) enum Link {
    Sim(SimLink),
    Threads(ThreadLink),
}

/// A running process's handle on the kernel.
pub struct Proc {
    slot: Slot,
    ep: Endpoint,
    link: Link,
}

/// A panic caught by [`catch_crash`]: what it said and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crash {
    /// The panic message.
    pub message: String,
    /// `file:line:column` of the panic.
    pub location: String,
}

thread_local! {
    /// Set while simulated-process code runs on this thread: its panics are recorded, not printed.
    static IN_PROCESS: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<Option<Crash>> = const { RefCell::new(None) };
}

/// Installs (once) the panic hook that keeps simulated crashes quiet and records what they said.
pub(crate) fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        // Debugging a workload or a server: `SAMSARA_SHOW_PANICS=1` prints simulated processes'
        // panics as well (they are still caught and reported as crashes).
        let show = std::env::var_os("SAMSARA_SHOW_PANICS").is_some_and(|v| v != "0");
        panic::set_hook(Box::new(move |info| {
            if IN_PROCESS.with(Cell::get) {
                if show {
                    previous(info);
                }
                let message = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(non-string panic payload)".to_string());
                let location = info.location().map(|l| l.to_string()).unwrap_or_default();
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(Crash { message, location }));
            } else {
                previous(info);
            }
        }));
    });
}

/// Marks the current thread as running simulated-process code (or not); returns the old mark.
pub(crate) fn set_in_process(on: bool) -> bool {
    IN_PROCESS.with(|c| c.replace(on))
}

fn take_crash(payload: &(dyn Any + Send)) -> Crash {
    LAST_PANIC.with(|p| p.borrow_mut().take()).unwrap_or_else(|| Crash {
        message: payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(unknown panic)".to_string()),
        location: String::new(),
    })
}

/// Runs `f`, turning a panic into `Err(Crash)`. Kills and execs pass through untouched, so a server
/// that catches its handlers' crashes can still be killed.
pub fn catch_crash<R>(f: impl FnOnce() -> R) -> Result<R, Crash> {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => Ok(r),
        Err(payload) if payload.is::<Unwind>() => panic::resume_unwind(payload),
        Err(payload) => Err(take_crash(payload.as_ref())),
    }
}

/// How a body run ended, as seen at the process boundary.
pub(crate) enum BodyEnd {
    Exited,
    Crashed(Crash),
    Unwound(Unwind),
}

/// Unwind payload of [`Proc::exit`]: the body ends as if it had returned.
struct ExitNow;

pub(crate) fn run_body(proc: &Proc, body: Body) -> BodyEnd {
    match panic::catch_unwind(AssertUnwindSafe(|| body(proc))) {
        Ok(()) => BodyEnd::Exited,
        Err(payload) if payload.is::<ExitNow>() => BodyEnd::Exited,
        Err(payload) => match payload.downcast::<Unwind>() {
            Ok(u) => BodyEnd::Unwound(*u),
            Err(payload) => match payload.downcast::<Crash>() {
                Ok(crash) => BodyEnd::Crashed(*crash),
                Err(payload) => BodyEnd::Crashed(take_crash(payload.as_ref())),
            },
        },
    }
}

/// Runs a process's bodies until its life ends: one body, then the next after every exec.
pub(crate) fn live(proc: &Proc, mut body: Body) {
    use crate::trace::EndCause;
    loop {
        let start_unwind = proc.link.with_core(|k| k.unwind_reason(proc.slot));
        let end = match start_unwind {
            Some(u) => BodyEnd::Unwound(u),
            None => run_body(proc, body),
        };
        let next = proc.link.with_core(|k| {
            let cause = match end {
                BodyEnd::Exited => EndCause::Exited,
                BodyEnd::Crashed(c) => EndCause::Crashed { message: c.message, location: c.location },
                BodyEnd::Unwound(Unwind::Killed) => {
                    EndCause::Killed { by: k.killer(proc.slot).unwrap_or(Endpoint::KERNEL) }
                }
                BodyEnd::Unwound(Unwind::Exec) => match k.take_exec(proc.slot) {
                    Some((next, _name)) => return Some(next),
                    None => EndCause::Killed { by: Endpoint::KERNEL },
                },
            };
            k.end(proc.slot, cause);
            None
        });
        match next {
            Some(b) => body = b,
            None => return,
        }
    }
}

impl Link {
    /// Runs `f` on the kernel; no unwind checks, no tick of `sim`'s virtual clock (`threads`
    /// brings its clock up to the wall clock).
    pub(crate) fn with_core<R>(&self, f: impl FnOnce(&mut KernelCore) -> R) -> R {
        match self {
            Link::Sim(l) => l.with_core(f),
            Link::Threads(l) => l.with_core(f),
        }
    }
}

impl Proc {
    pub(crate) fn new(slot: Slot, ep: Endpoint, link: Link) -> Proc {
        Proc { slot, ep, link }
    }

    /// This process's endpoint.
    pub fn endpoint(&self) -> Endpoint {
        self.ep
    }

    /// This process's program or service name.
    pub fn name(&self) -> String {
        self.link.with_core(|k| k.name_of(self.slot).to_string())
    }

    /// A kernel entry: ticks the clock, unwinds if the process must stop, then runs `f`. An entry
    /// made while the process already unwinds (a destructor revoking a grant on the way out of an
    /// exec or a kill) just runs: a second unwind would abort the engine.
    fn enter<R>(&self, f: impl FnOnce(&mut KernelCore, Slot) -> R) -> R {
        self.entry(false, f)
    }

    /// [`Proc::enter`] for a kernel call: under `threads`, the kernel's clock is first brought up
    /// to the wall clock (an IPC entry skips that reading), so that spawns, kills, execs and
    /// shutdowns carry the time they happened.
    fn enter_timed<R>(&self, f: impl FnOnce(&mut KernelCore, Slot) -> R) -> R {
        self.entry(true, f)
    }

    fn entry<R>(&self, timed: bool, f: impl FnOnce(&mut KernelCore, Slot) -> R) -> R {
        let slot = self.slot;
        if std::thread::panicking() {
            return self.link.with_core(|k| f(k, slot));
        }
        let checked = |k: &mut KernelCore| match k.unwind_reason(slot) {
            Some(unwind) => Err(unwind),
            None => {
                k.charge_entry(slot);
                Ok(f(k, slot))
            }
        };
        let outcome = match &self.link {
            Link::Sim(l) => l.enter(checked),
            Link::Threads(l) if timed => l.with_core(checked),
            Link::Threads(l) => l.enter(checked),
        };
        match outcome {
            Ok(r) => r,
            Err(unwind) => panic::resume_unwind(Box::new(unwind)),
        }
    }

    /// Runs a possibly blocking operation to its result.
    fn blocking(&self, op: impl FnOnce(&mut KernelCore, Slot) -> Step) -> Result<Message, KernelError> {
        match self.enter(op) {
            Step::Done(result) => {
                self.maybe_preempt();
                result
            }
            Step::Blocked => {
                let slot = self.slot;
                let outcome = match &self.link {
                    Link::Sim(l) => {
                        l.park();
                        l.with_core(|k| k.unwind_reason(slot).map_or_else(|| Ok(k.finish(slot)), Err))
                    }
                    Link::Threads(l) => l.park(),
                };
                match outcome {
                    Ok(r) => r,
                    Err(unwind) => panic::resume_unwind(Box::new(unwind)),
                }
            }
        }
    }

    fn maybe_preempt(&self) {
        if let Link::Sim(l) = &self.link {
            l.maybe_preempt();
        }
    }

    /// Ends this process's body at once, as if it had returned (destructors run as the stack
    /// unwinds). The process's signal manager learns of a normal exit.
    pub fn exit(&self) -> ! {
        panic::resume_unwind(Box::new(ExitNow))
    }

    /// Ends this process as crashed with `crash`, keeping the crash's original message and
    /// location (a server re-raising a handler's crash after saving its state).
    pub fn crash(&self, crash: Crash) -> ! {
        panic::resume_unwind(Box::new(crash))
    }

    /// Gives the processor to another ready process (under `threads`, a hint to the OS).
    pub fn yield_now(&self) {
        match &self.link {
            Link::Sim(l) => l.preempt(),
            Link::Threads(_) => std::thread::yield_now(),
        }
    }

    // ---- IPC ---------------------------------------------------------------------------------

    /// Sends `msg` to `dst` and waits until `dst` takes it.
    pub fn send(&self, dst: Endpoint, msg: Message) -> Result<(), KernelError> {
        self.blocking(|k, s| k.send(s, dst, msg, Primitive::Send)).map(drop)
    }

    /// Sends `msg` to `dst` only if `dst` is waiting for it; never blocks. Replies use this.
    pub fn sendnb(&self, dst: Endpoint, msg: Message) -> Result<(), KernelError> {
        self.blocking(|k, s| k.send(s, dst, msg, Primitive::SendNb)).map(drop)
    }

    /// Sends `msg` to `dst` and waits for `dst`'s reply.
    pub fn sendrec(&self, dst: Endpoint, msg: Message) -> Result<Message, KernelError> {
        self.blocking(|k, s| k.send(s, dst, msg, Primitive::SendRec))
    }

    /// Queues `msg` for `dst`; never blocks.
    pub fn asynsend(&self, dst: Endpoint, msg: Message) -> Result<(), KernelError> {
        self.blocking(|k, s| k.send(s, dst, msg, Primitive::AsynSend)).map(drop)
    }

    /// Sets this process's notification bit at `dst` (coalesced with any not yet received).
    pub fn notify(&self, dst: Endpoint) -> Result<(), KernelError> {
        self.blocking(|k, s| k.notify(s, dst)).map(drop)
    }

    /// Answers `dst` (as `sendnb`, dropping an answer nobody waits for) and waits for the next
    /// message from `src`, in one kernel entry: a server's reply and its next receive.
    pub fn reply_receive(&self, dst: Endpoint, msg: Message, src: Endpoint) -> Result<Message, KernelError> {
        self.blocking(|k, s| k.reply_receive(s, dst, msg, src))
    }

    /// Waits for a message from `src`, or from anyone with [`Endpoint::ANY`]. Notifications arrive
    /// as messages of type [`crate::msgtype::NOTIFY_MESSAGE`] from their sender
    /// ([`Endpoint::KERNEL`] for alarms and deaths).
    pub fn receive(&self, src: Endpoint) -> Result<Message, KernelError> {
        self.blocking(|k, s| k.receive(s, src))
    }

    /// Takes the oldest signal frame its process manager posted on this process (the syscall
    /// library runs the handler). Not a kernel call: the kernel hands a process its own frames,
    /// as MINIX's does on the way back to user mode. No clock tick: it is part of the syscall
    /// that came before.
    pub fn take_signal(&self) -> Option<SigFrame> {
        let slot = self.slot;
        match &self.link {
            Link::Sim(l) => l.with_core(|k| k.take_sig_frame(slot)),
            Link::Threads(l) => l.enter(|k| k.take_sig_frame(slot)),
        }
    }

    /// Stops here until continued (a stop frame was taken): the library's side of a stop
    /// signal's default action. A kill ends the wait as it ends any.
    pub fn stop_until_continued(&self) {
        let _ = self.blocking(|k, s| k.stop(s));
    }

    /// Who killed this process, once a kill is pending: the kernel itself when the system
    /// stops.
    pub fn killed_by(&self) -> Option<Endpoint> {
        self.link.with_core(|k| k.killer(self.slot))
    }

    /// Stops answering for good, like a server stuck in a loop: an injected hang. Only a kill
    /// ends it (rs's heartbeats find it).
    pub fn hang(&self) -> ! {
        let _ = self.blocking(|k, s| k.hang(s));
        unreachable!("a hung process is only ever woken to be killed, which unwinds")
    }

    // ---- own memory, grants, fork body, remains (no kernel call) -----------------------------

    /// The callers blocked waiting for this process's answer to their sendrec (its own callers
    /// only, so no permission is needed; no kernel entry is charged: a server's loop-top
    /// self-check reads it after every request).
    pub fn awaiting_my_answer(&self) -> Vec<Endpoint> {
        let slot = self.slot;
        self.link.with_core(|k| k.awaiting_answer_from(slot))
    }

    /// The clock (virtual microseconds under `sim`).
    pub fn now(&self) -> Micros {
        // Under `threads`, this entry brings the kernel's clock up to the wall clock.
        self.link.with_core(|k| k.now())
    }

    /// A number from the kernel's seeded generator: processes draw randomness only here.
    pub fn random_u64(&self) -> u64 {
        self.link.with_core(|k| k.random_u64())
    }

    /// Reads this process's own memory.
    pub fn mem_read(&self, addr: VirtAddr, out: &mut [u8]) -> Result<(), KernelError> {
        self.enter(|k, s| k.mem_read(s, addr, out))
    }

    /// Writes this process's own memory.
    pub fn mem_write(&self, addr: VirtAddr, data: &[u8]) -> Result<(), KernelError> {
        self.enter(|k, s| k.mem_write(s, addr, data))
    }

    /// Bytes of the memory the manifest declares for this service, mapped at
    /// [`crate::memory::SERVICE_MEMORY_BASE`] (0 for a process without any).
    pub fn service_memory_bytes(&self) -> u64 {
        self.link.with_core(|k| k.service_memory_bytes(self.slot))
    }

    /// The size the manifest sets for this process's service under `name` (`param NAME NUMBER;`),
    /// if it sets one.
    pub fn service_param(&self, name: &str) -> Option<u64> {
        self.link.with_core(|k| k.manifest.service_at(self.slot).and_then(|s| s.params.get(name).copied()))
    }

    /// Lets `grantee` copy `[addr, addr+len)` of this process's memory as `access` allows.
    pub fn grant(&self, grantee: Endpoint, addr: VirtAddr, len: u64, access: Access) -> GrantId {
        self.enter(|k, s| k.grant(s, grantee, addr, len, access))
    }

    /// Passes on `owner`'s grant `grant` to `grantee`: it may copy `[offset, offset+len)` of it as
    /// `access` allows (MINIX's indirect grant: vfs hands a user's buffer to a file system).
    pub fn grant_indirect(
        &self,
        grantee: Endpoint,
        owner: Endpoint,
        grant: GrantId,
        offset: u64,
        len: u64,
        access: Access,
    ) -> GrantId {
        self.enter(|k, s| k.grant_indirect(s, grantee, owner, grant, offset, len, access))
    }

    /// Revokes a grant.
    pub fn revoke(&self, id: GrantId) {
        self.enter(|k, s| k.revoke(s, id))
    }

    /// Leaves the body the child of this process's next fork will run (emulating "the child
    /// continues here", which a closure cannot do).
    pub fn set_fork_body(&self, body: impl FnOnce(&Proc) + Send + 'static) {
        self.enter(|k, s| k.set_fork_body(s, Box::new(body)))
    }

    /// Adds a note to the event log: a decision and its reason, for people reading the run.
    pub fn note(&self, text: &str) {
        self.link.with_core(|k| k.note(self.slot, text))
    }

    /// Leaves state behind for a successor incarnation (a crashing server's state and undo log).
    pub fn leave_remains(&self, remains: Box<dyn Any + Send>) {
        self.link.with_core(|k| k.leave_remains(self.slot, remains))
    }

    // ---- kernel calls -----------------------------------------------------------------------

    fn kernel_call<R>(
        &self,
        call: KernelCall,
        f: impl FnOnce(&mut KernelCore, Slot) -> Result<R, KernelError>,
    ) -> Result<R, KernelError> {
        self.enter_timed(|k, s| {
            k.check_call(s, call)?;
            f(k, s)
        })
    }

    /// Kills `target`.
    pub fn sys_kill(&self, target: Endpoint) -> Result<(), KernelError> {
        self.kernel_call(KernelCall::Kill, |k, s| k.kill(s, target))
    }

    /// Creates a child of `parent` in user slot `slot`, running the body `parent` left; returns
    /// its endpoint (a new generation of the slot).
    pub fn sys_fork(&self, parent: Endpoint, slot: Slot) -> Result<Endpoint, KernelError> {
        self.kernel_call(KernelCall::Fork, |k, s| k.fork(s, parent, slot))
    }

    /// Replaces `target`'s program with the registered `program`.
    pub fn sys_exec(&self, target: Endpoint, program: &str, argv: Vec<String>) -> Result<(), KernelError> {
        self.kernel_call(KernelCall::Exec, |k, s| k.exec(s, target, program, argv))
    }

    /// Whether a program of this name is registered (exec will find it).
    pub fn sys_has_program(&self, program: &str) -> Result<bool, KernelError> {
        self.kernel_call(KernelCall::GetInfo, |k, _| Ok(k.program(program).is_some()))
    }

    /// The boot image's user programs, by name (what a file system installs in `/bin`).
    pub fn sys_user_programs(&self) -> Result<Vec<String>, KernelError> {
        self.kernel_call(KernelCall::GetInfo, |k, _| Ok(k.user_programs()))
    }

    /// Frees the slot of the ended process `target`; its endpoint becomes stale.
    pub fn sys_clear(&self, target: Endpoint) -> Result<(), KernelError> {
        self.kernel_call(KernelCall::Clear, |k, s| k.clear_ended(s, target))
    }

    /// Starts the manifest service `name` from the program of the same name, handing it `handoff`;
    /// a stateful service's restart keeps its endpoint, any other's takes the slot's next generation.
    pub fn sys_spawn_service(&self, name: &str, handoff: Option<Box<dyn Any + Send>>) -> Result<Endpoint, KernelError> {
        self.kernel_call(KernelCall::Spawn, |k, _| {
            let program = k.program(name).ok_or(KernelError::NoSuchProgram)?;
            let argv = vec![name.to_string()];
            let body: Body = Box::new(move |p: &Proc| program(p, crate::core::Start { argv, handoff }));
            k.spawn_service(name, body)
        })
    }

    /// Schedules the user process `target`: its priority (0 highest, below
    /// [`crate::NR_SCHED_QUEUES`]) and a quantum of `quantum` kernel entries; this process
    /// becomes its scheduler, told by a notification from [`Endpoint::KERNEL`] when the quantum
    /// runs out ([`Proc::sys_next_expired`]).
    pub fn sys_schedule(&self, target: Endpoint, priority: u8, quantum: u32) -> Result<(), KernelError> {
        self.kernel_call(KernelCall::Schedule, |k, s| k.schedule(s, target, priority, quantum))
    }

    /// Stops scheduling `target` (this process must be its scheduler); a process that has ended
    /// but is not yet cleared may be named.
    pub fn sys_unschedule(&self, target: Endpoint) -> Result<(), KernelError> {
        self.kernel_call(KernelCall::Schedule, |k, s| k.unschedule(s, target))
    }

    /// The oldest process this scheduler schedules that ran out of quantum (and still lives).
    pub fn sys_next_expired(&self) -> Result<Option<Endpoint>, KernelError> {
        self.kernel_call(KernelCall::Schedule, |k, s| Ok(k.next_expired(s)))
    }

    /// Sets this process's alarm `delay` from now (0 cancels); it arrives as a notification from
    /// [`Endpoint::KERNEL`].
    pub fn sys_setalarm(&self, delay: Micros) -> Result<(), KernelError> {
        let r = self.kernel_call(KernelCall::Alarm, |k, s| {
            k.set_alarm(s, delay);
            Ok(())
        });
        if let Link::Threads(l) = &self.link {
            l.alarm_changed();
        }
        r
    }

    /// Posts signal `frame` on the user process `target` (MINIX's sys_sigsend).
    pub fn sys_sigsend(&self, target: Endpoint, frame: SigFrame) -> Result<(), KernelError> {
        self.kernel_call(KernelCall::SigSend, |k, s| k.sigsend(s, target, frame))
    }

    /// Continues the user process `target` (SIGCONT); whether it was stopped.
    pub fn sys_sigcont(&self, target: Endpoint) -> Result<bool, KernelError> {
        self.kernel_call(KernelCall::SigSend, |k, s| k.sigcont(s, target))
    }

    /// The oldest death reported to this process as signal manager.
    pub fn sys_next_death(&self) -> Result<Option<Death>, KernelError> {
        self.kernel_call(KernelCall::Remains, |k, s| Ok(k.next_death(s)))
    }

    /// Takes the state the ended process `target` left behind.
    pub fn sys_take_remains(&self, target: Endpoint) -> Result<Option<Box<dyn Any + Send>>, KernelError> {
        self.kernel_call(KernelCall::Remains, |k, _| k.take_remains(target))
    }

    /// Information on one process (live or ended but not cleared).
    pub fn sys_procinfo(&self, target: Endpoint) -> Result<ProcInfo, KernelError> {
        self.kernel_call(KernelCall::GetInfo, |k, _| k.proc_info(target))
    }

    /// Number of physical frames.
    pub fn sys_total_frames(&self) -> Result<usize, KernelError> {
        self.kernel_call(KernelCall::GetInfo, |k, _| Ok(k.total_frames()))
    }

    /// Halts the whole system.
    pub fn sys_shutdown(&self, reason: &str) -> Result<(), KernelError> {
        self.kernel_call(KernelCall::Shutdown, |k, s| {
            k.shutdown(s, reason);
            Ok(())
        })
    }

    /// Maps virtual page `vpage` of `target` to `frame`.
    pub fn sys_vm_map(&self, target: Endpoint, vpage: u64, frame: Frame, writable: bool) -> Result<(), KernelError> {
        self.kernel_call(KernelCall::VmCtl, |k, _| k.vm_map(target, vpage, frame, writable))
    }

    /// Unmaps virtual page `vpage` of `target`; returns the frame it mapped.
    pub fn sys_vm_unmap(&self, target: Endpoint, vpage: u64) -> Result<Option<Frame>, KernelError> {
        self.kernel_call(KernelCall::VmCtl, |k, _| k.vm_unmap(target, vpage))
    }

    /// Copies a whole frame's contents.
    pub fn sys_frame_copy(&self, from: Frame, to: Frame) -> Result<(), KernelError> {
        self.kernel_call(KernelCall::VmCtl, |k, _| k.frame_copy(from, to))
    }

    /// Zeroes a frame.
    pub fn sys_frame_zero(&self, frame: Frame) -> Result<(), KernelError> {
        self.kernel_call(KernelCall::VmCtl, |k, _| k.frame_zero(frame))
    }

    /// Copies from `granter`'s memory through its grant into `out`.
    pub fn safecopy_from(
        &self,
        granter: Endpoint,
        grant: GrantId,
        offset: u64,
        out: &mut [u8],
    ) -> Result<(), KernelError> {
        self.kernel_call(KernelCall::SafeCopy, |k, s| k.safecopy_from(s, granter, grant, offset, out))
    }

    /// Copies `data` into `granter`'s memory through its grant.
    pub fn safecopy_to(&self, granter: Endpoint, grant: GrantId, offset: u64, data: &[u8]) -> Result<(), KernelError> {
        self.kernel_call(KernelCall::SafeCopy, |k, s| k.safecopy_to(s, granter, grant, offset, data))
    }
}

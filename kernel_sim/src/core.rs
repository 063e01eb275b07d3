//! The kernel proper: the process table, the IPC state machine, permissions and kernel calls.
//!
//! This module knows nothing of engines. Every operation runs to completion on `&mut KernelCore`
//! and either finishes (`Step::Done`) or leaves the caller blocked (`Step::Blocked`); the engine then
//! parks the caller until the kernel puts it on the woken list, and collects the result the kernel
//! deposited in its slot (as MINIX's kernel does in the process table). Both engines therefore share
//! one implementation of every semantic rule.
//!
//! A stateful service between incarnations (ended, not cleared) is still an address: messages to
//! it queue for its next incarnation and receives from it wait, as its waiters already do.
//!
//! Invariants, asserted where they are relied on:
//! - a process blocked in `Sending` has exactly one pending entry in its destination's inbox;
//! - a blocked process is woken exactly once, and only the kernel wakes it;
//! - a message is never delivered to a process the manifest forbids its sender to reach;
//! - after a process ends, nobody stays blocked on it: senders and receivers waiting on it fail with
//!   `DeadEndpoint`.

use crate::clock::{Alarms, Micros};
use crate::endpoint::{Endpoint, MAX_SLOTS, Slot};
use crate::error::KernelError;
use crate::manifest::{FIRST_USER_SLOT, KernelCall, KernelCallSet, Manifest, Privileges, TargetSet, USER_TARGET};
use crate::memory::{
    Access, AddressSpace, Frame, Grant, GrantId, GrantTarget, Mapping, PAGE_SIZE, PhysMem, SERVICE_MEMORY_BASE,
    VirtAddr,
};
use crate::message::{Message, MsgType};
use crate::msgtype::NOTIFY_MESSAGE;
use crate::proc::Proc;
use crate::trace::{EndCause, EventKind, EventLog, Primitive};
use rand::rngs::ChaCha8Rng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::any::Any;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

/// Mixed into the seed for processes' randomness, so it is a stream apart from the scheduler's.
const PROCESS_RNG_STREAM: u64 = 0x5a17_5a5a_0f0f_1234;

/// What a process runs: called once with the process's handle.
pub type Body = Box<dyn FnOnce(&Proc) + Send + 'static>;

/// A registered program: exec and service spawns build bodies from it.
pub type Program = Arc<dyn Fn(&Proc, Start) + Send + Sync + 'static>;

/// What a program is started with.
#[derive(Default)]
pub struct Start {
    /// Its arguments, program name first.
    pub argv: Vec<String>,
    /// State handed over from a previous incarnation (a service restart), if any.
    pub handoff: Option<Box<dyn Any + Send>>,
}

/// Whether an operation finished or left its caller blocked.
#[derive(Debug)]
pub(crate) enum Step {
    Done(Result<Message, KernelError>),
    Blocked,
}

/// Why a process must stop running its current body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unwind {
    /// It was killed.
    Killed,
    /// Its program was replaced by exec.
    Exec,
}

/// What a process is waiting for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IpcState {
    /// Not blocked.
    Running,
    /// Waiting for `to` to take its message; then, for sendrec, waiting for the reply.
    Sending { to: Endpoint, then_receive: bool },
    /// Waiting for a message from `from` (or ANY); `for_sendrec` when it is a reply it waits for.
    Receiving { from: Endpoint, for_sendrec: bool },
    /// Blocked for good (an injected hang); only a kill ends it.
    Hung,
    /// Stopped by a stop signal's default action; a continue or a kill ends it.
    Stopped,
}

#[derive(Debug)]
struct Pending {
    from: Endpoint,
    msg: Message,
    prim: Primitive,
}

/// A death the signal manager has not collected yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Death {
    /// Who died.
    pub ep: Endpoint,
    /// Its name.
    pub name: String,
    /// How.
    pub cause: EndCause,
    /// When.
    pub time: Micros,
    /// Whether it left state behind for a successor (see `Proc::leave_remains`).
    pub has_remains: bool,
}

/// A caught signal posted on a user process by its process manager (MINIX's sigframe): the
/// process's syscall library takes it at its next kernel entry, runs the handler it registered,
/// and hands `saved_mask` back to the process manager in sigreturn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigFrame {
    /// The signal number.
    pub signo: i32,
    /// The signal mask to restore when the handler returns (a bit per signal number).
    pub saved_mask: u32,
    /// Not a handler's frame but a stop: the process stops where it takes it (its next kernel
    /// entry) until continued ([`KernelCore::sigcont`]).
    pub stop: bool,
}

/// A process-table entry.
pub(crate) struct ProcEntry {
    pub ep: Endpoint,
    pub name: Arc<str>,
    privilege: usize,
    pub is_user: bool,
    sigmgr: Option<Slot>,
    pub ipc: IpcState,
    inbox: VecDeque<Pending>,
    /// Its messages waiting in inboxes (its own included): only when there are any does its end
    /// search every inbox for them.
    queued: u32,
    /// Live processes blocked receiving from it by name, if it is a user process: only when there
    /// are any does its end search the table for them. Kept by [`KernelCore::set_ipc`].
    awaited: u32,
    /// Sources with a pending notification, sorted (coalesced: one bit per source).
    notifies: Vec<Endpoint>,
    /// What a woken process's call returns: its status, and the message when the status is `Ok`.
    /// Kept apart (not one `Option<Result<Message, _>>`) so a delivery is one aligned 64-byte
    /// store: the enum's packed layout made every delivery a misaligned copy that stalled the
    /// store-to-load forwarding on the IPC fast path.
    result: Option<Result<(), KernelError>>,
    result_msg: Message,
    pub ended: Option<EndCause>,
    kill_pending: Option<Endpoint>,
    exec_pending: Option<(Body, Arc<str>)>,
    fork_body: Option<Body>,
    pub space: AddressSpace,
    remains: Option<Box<dyn Any + Send>>,
    deaths: VecDeque<Death>,
    /// Its priority and what is left of its quantum, once a scheduler gave it one.
    quantum: Option<Quantum>,
    /// As a scheduler: the processes it schedules that ran out of quantum, oldest first.
    expired: VecDeque<Endpoint>,
    /// Signal frames posted by its process manager, not yet taken: while any waits, its
    /// sendrecs are refused with `Interrupted` (the syscall boundary where handlers run).
    sig_frames: VecDeque<SigFrame>,
    pub started: Micros,
}

/// Scheduling queues (MINIX's NR_SCHED_QUEUES): priorities are 0 (highest) to 15.
pub const NR_SCHED_QUEUES: u8 = 16;

/// A user process's scheduling as its scheduler set it. The quantum counts kernel entries (IPC
/// and kernel calls): the engines have no instruction clock, and entries are what a process does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Quantum {
    /// Who schedules it: told when the quantum runs out.
    scheduler: Slot,
    /// Its priority queue (recorded; the engines' seeded schedulers do not read it).
    priority: u8,
    /// Kernel entries left before its scheduler is told.
    left: u32,
}

struct SlotEntry {
    generation: u16,
    proc: Option<Box<ProcEntry>>,
}

/// A manifest entry compiled to per-slot lookups.
#[derive(Clone, Debug)]
struct Privilege {
    /// May send to each service slot.
    to_service: [bool; FIRST_USER_SLOT],
    to_users: bool,
    /// Allowed message types per service slot (None: all).
    calls_to_service: Vec<Option<crate::manifest::CallSet>>,
    calls_to_users: Option<crate::manifest::CallSet>,
    kernel: KernelCallSet,
}

impl Privilege {
    fn compile(p: &Privileges, manifest: &Manifest) -> Privilege {
        let slot_of = |name: &str| manifest.service(name).map(|s| s.slot);
        let mut to_service = [false; FIRST_USER_SLOT];
        let mut to_users = false;
        match &p.ipc {
            TargetSet::All => {
                to_service = [true; FIRST_USER_SLOT];
                to_users = true;
            }
            TargetSet::Only(names) => {
                for n in names {
                    match slot_of(n) {
                        Some(s) => to_service[s] = true,
                        None if n == USER_TARGET => to_users = true,
                        None => unreachable!("validated manifest names unknown target {n}"),
                    }
                }
            }
        }
        let mut calls_to_service = vec![None; FIRST_USER_SLOT];
        let mut calls_to_users = None;
        for (target, set) in &p.calls {
            match slot_of(target) {
                Some(s) => calls_to_service[s] = Some(set.clone()),
                None => calls_to_users = Some(set.clone()),
            }
        }
        Privilege { to_service, to_users, calls_to_service, calls_to_users, kernel: p.kernel }
    }

    fn may_send(&self, dst: Slot, m_type: MsgType, prim: Primitive) -> bool {
        let (reach, calls) = if dst < FIRST_USER_SLOT {
            (self.to_service[dst], self.calls_to_service[dst].as_ref())
        } else {
            (self.to_users, self.calls_to_users.as_ref())
        };
        // Call masks restrict requests; notifications carry no call.
        reach && (prim == Primitive::Notify || calls.is_none_or(|c| c.contains(m_type)))
    }
}

/// Summary of one process, for kernel information calls and the consistency checker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcInfo {
    /// Its endpoint.
    pub ep: Endpoint,
    /// Program or service name.
    pub name: String,
    /// A user process (not a system service).
    pub is_user: bool,
    /// How it ended, if it did (its slot is not cleared yet).
    pub ended: Option<EndCause>,
    /// What it is blocked on, if anything.
    pub state: ProcState,
    /// When this incarnation started.
    pub started: Micros,
    /// Mapped pages, as (virtual page number, mapping).
    pub pages: Vec<(u64, Mapping)>,
}

/// What a process is doing, as far as the kernel can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProcState {
    /// Runnable or running.
    Running,
    /// Blocked sending to this endpoint (for sendrec, the reply wait follows).
    Sending(Endpoint),
    /// Blocked receiving from this endpoint (or ANY).
    Receiving(Endpoint),
    /// Blocked for good by an injected hang.
    Hung,
    /// Stopped by a stop signal until continued.
    Stopped,
    /// Its life ended; the slot awaits clearing.
    Ended,
}

/// Kernel settings the core needs.
#[derive(Clone, Debug)]
pub(crate) struct CoreConfig {
    pub frames: usize,
    pub record_events: bool,
    pub seed: u64,
    pub finish_after: Option<Endpoint>,
}

/// The kernel's whole state.
pub(crate) struct KernelCore {
    slots: Vec<SlotEntry>,
    free_user_slots: BTreeSet<Slot>,
    privileges: Vec<Privilege>,
    /// Privilege index of user processes (after the services').
    user_privilege: usize,
    pub manifest: Arc<Manifest>,
    now: Micros,
    alarms: Alarms,
    mem: PhysMem,
    /// Frames vm manages (`0..pool_frames`); the frames above hold services' declared memory.
    pool_frames: usize,
    /// Per service slot with declared memory, its first frame and its pages.
    service_memory: BTreeMap<Slot, (Frame, u64)>,
    pub log: EventLog,
    /// Processes made runnable since the engine last looked.
    woken: Vec<Slot>,
    /// New processes whose bodies the engine must start.
    starts: Vec<(Slot, Body)>,
    programs: std::collections::BTreeMap<String, Program>,
    /// Live processes that are not blocked.
    pub runnable: usize,
    /// Live user processes (slots not yet cleared).
    pub users: usize,
    pub shutdown: Option<(Endpoint, Arc<str>)>,
    /// Randomness for processes, from the run's seed (a stream apart from the scheduler's).
    rng: ChaCha8Rng,
    /// The process whose end lets the run finish (see `Config::finish_after`).
    finish_after: Option<Endpoint>,
    /// Whether it has been cleared.
    finish_after_gone: bool,
    /// Processes blocked by an injected hang: a run with one is not finished (rs must find it).
    hung: usize,
}

impl KernelCore {
    pub fn new(manifest: Arc<Manifest>, config: &CoreConfig) -> KernelCore {
        let mut privileges: Vec<Privilege> =
            manifest.services.iter().map(|s| Privilege::compile(&s.privileges, &manifest)).collect();
        let user_privilege = privileges.len();
        privileges.push(Privilege::compile(&manifest.user, &manifest));
        let slots = (0..FIRST_USER_SLOT).map(|_| SlotEntry { generation: 0, proc: None }).collect();
        // Services' declared memory is set aside above vm's frames, in manifest order.
        let mut service_memory = BTreeMap::new();
        let mut next_frame = config.frames;
        for s in manifest.services.iter().filter(|s| s.memory_pages > 0) {
            service_memory.insert(s.slot, (next_frame as Frame, s.memory_pages));
            next_frame += s.memory_pages as usize;
        }
        KernelCore {
            slots,
            free_user_slots: BTreeSet::new(),
            privileges,
            user_privilege,
            manifest,
            now: 0,
            alarms: Alarms::default(),
            mem: PhysMem::new(next_frame),
            pool_frames: config.frames,
            service_memory,
            log: EventLog::new(config.record_events),
            woken: Vec::new(),
            starts: Vec::new(),
            programs: Default::default(),
            runnable: 0,
            users: 0,
            shutdown: None,
            rng: ChaCha8Rng::seed_from_u64(config.seed ^ PROCESS_RNG_STREAM),
            finish_after: config.finish_after,
            finish_after_gone: false,
            hung: 0,
        }
    }

    // ---- time -------------------------------------------------------------------------------

    pub fn now(&self) -> Micros {
        self.now
    }

    /// Whether the run may finish once nothing is runnable: no user process is left, or the
    /// watched one is gone.
    pub fn workload_done(&self) -> bool {
        self.hung == 0 && (self.users == 0 || self.finish_after_gone)
    }

    pub fn random_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }

    pub fn set_now(&mut self, t: Micros) {
        debug_assert!(t >= self.now, "the clock never goes back");
        self.now = t;
    }

    pub fn next_alarm(&mut self) -> Option<Micros> {
        self.alarms.next_due()
    }

    /// Rings every alarm due by now: each arrives as a notification from the kernel.
    pub fn fire_alarms(&mut self) {
        while let Some(slot) = self.alarms.pop_due(self.now) {
            if let Some(p) = self.live_slot(slot) {
                let to = p.ep;
                self.log.push(self.now, EventKind::Alarm { to });
                self.post_notify(Endpoint::KERNEL, slot);
            }
        }
    }

    // ---- process table ----------------------------------------------------------------------

    fn live_slot(&self, slot: Slot) -> Option<&ProcEntry> {
        self.slots.get(slot)?.proc.as_deref().filter(|p| p.ended.is_none())
    }

    fn proc(&self, slot: Slot) -> &ProcEntry {
        self.slots[slot].proc.as_deref().expect("slot holds a process")
    }

    fn proc_mut(&mut self, slot: Slot) -> &mut ProcEntry {
        self.slots[slot].proc.as_deref_mut().expect("slot holds a process")
    }

    /// The slot of the live process `ep`, or why it is not one.
    fn resolve(&self, ep: Endpoint) -> Result<Slot, KernelError> {
        if ep.is_special() || ep == Endpoint::KERNEL {
            return Err(KernelError::BadEndpoint);
        }
        let entry = self.slots.get(ep.slot()).ok_or(KernelError::BadEndpoint)?;
        match &entry.proc {
            Some(p) if p.ep == ep && p.ended.is_none() => Ok(ep.slot()),
            _ => Err(KernelError::DeadEndpoint),
        }
    }

    /// The slot a message to `ep` can wait in: a live process's, or that of a stateful service
    /// between incarnations (its next incarnation, under the same endpoint, takes the message).
    fn resolve_or_awaiting(&self, ep: Endpoint) -> Result<Slot, KernelError> {
        match self.resolve(ep) {
            Err(KernelError::DeadEndpoint)
                if self.awaits_incarnation(ep.slot())
                    && self.slots[ep.slot()].proc.as_ref().is_some_and(|p| p.ep == ep) =>
            {
                Ok(ep.slot())
            }
            other => other,
        }
    }

    /// The slot of `ep` whether it is live or ended-but-not-cleared.
    fn resolve_any(&self, ep: Endpoint) -> Result<Slot, KernelError> {
        let entry = self.slots.get(ep.slot()).filter(|_| !ep.is_special()).ok_or(KernelError::BadEndpoint)?;
        match &entry.proc {
            Some(p) if p.ep == ep => Ok(ep.slot()),
            _ => Err(KernelError::DeadEndpoint),
        }
    }

    pub fn endpoint_of(&self, slot: Slot) -> Endpoint {
        self.proc(slot).ep
    }

    pub fn name_of(&self, slot: Slot) -> Arc<str> {
        self.proc(slot).name.clone()
    }

    fn new_entry(&self, ep: Endpoint, name: Arc<str>, privilege: usize, is_user: bool) -> ProcEntry {
        let sigmgr_name = if is_user {
            self.manifest.user_sigmgr.as_deref()
        } else {
            self.manifest.service_at(ep.slot()).and_then(|s| s.sigmgr.as_deref())
        };
        ProcEntry {
            ep,
            name,
            privilege,
            is_user,
            sigmgr: sigmgr_name.and_then(|n| self.manifest.service(n)).map(|s| s.slot),
            ipc: IpcState::Running,
            inbox: VecDeque::new(),
            queued: 0,
            awaited: 0,
            notifies: Vec::new(),
            result: None,
            result_msg: Message::new(0),
            ended: None,
            kill_pending: None,
            exec_pending: None,
            fork_body: None,
            space: AddressSpace::default(),
            remains: None,
            deaths: VecDeque::new(),
            quantum: None,
            expired: VecDeque::new(),
            sig_frames: VecDeque::new(),
            started: self.now,
        }
    }

    fn install(&mut self, entry: ProcEntry, body: Body) -> Endpoint {
        let ep = entry.ep;
        let slot = ep.slot();
        if entry.is_user {
            self.users += 1;
        }
        self.log.push(self.now, EventKind::Spawn { ep, name: entry.name.clone() });
        self.slots[slot].proc = Some(Box::new(entry));
        self.runnable += 1;
        self.starts.push((slot, body));
        ep
    }

    /// Starts the manifest service `name` in its slot: a fresh start, or, when the slot holds its
    /// ended predecessor, a new incarnation: a stateful service's under the same endpoint (MINIX's
    /// transparent restart), any other's under the slot's next generation (MINIX's default reset
    /// with a new endpoint: what was addressed to the old one fails with a dead endpoint).
    pub fn spawn_service(&mut self, name: &str, body: Body) -> Result<Endpoint, KernelError> {
        let (index, slot) = match self.manifest.services.iter().position(|s| s.name == name) {
            Some(i) => (i, self.manifest.services[i].slot),
            None => return Err(KernelError::NoSuchProgram),
        };
        let stateless_predecessor = self.slots[slot].proc.as_ref().is_some_and(|p| p.ended.is_some())
            && !self.manifest.services[index].stateful;
        if stateless_predecessor {
            // Its waiters already failed when it ended; clearing makes its endpoint stale.
            self.clear(slot);
        }
        let ep = match &self.slots[slot].proc {
            None => Endpoint::new(slot, self.slots[slot].generation),
            Some(p) if p.ended.is_some() => p.ep,
            Some(_) => return Err(KernelError::Invalid),
        };
        let mut entry = self.new_entry(ep, Arc::from(name), index, false);
        if let Some(&(first, pages)) = self.service_memory.get(&slot) {
            // Every incarnation finds its memory where its predecessors left it.
            let base = SERVICE_MEMORY_BASE / PAGE_SIZE as u64;
            for i in 0..pages {
                entry.space.pages.insert(base + i, Mapping { frame: first + i as Frame, writable: true });
            }
        }
        if let Some(old) = self.slots[slot].proc.take() {
            // A new incarnation inherits what was queued for the old one (stateful restart).
            entry.inbox = old.inbox;
            entry.notifies = old.notifies;
            entry.deaths = old.deaths;
            entry.expired = old.expired;
            // And what the old one queued and the kernel kept (a stateful service's asynsends).
            entry.queued = old.queued;
        }
        Ok(self.install(entry, body))
    }

    fn alloc_user_slot(&mut self) -> Result<Slot, KernelError> {
        if let Some(slot) = self.free_user_slots.pop_first() {
            return Ok(slot);
        }
        if self.slots.len() > MAX_SLOTS {
            return Err(KernelError::NoSlot);
        }
        self.slots.push(SlotEntry { generation: 0, proc: None });
        Ok(self.slots.len() - 1)
    }

    /// Starts a user process outside any fork (the first user process, tests).
    pub fn spawn_user(&mut self, name: &str, body: Body) -> Result<Endpoint, KernelError> {
        let slot = self.alloc_user_slot()?;
        let ep = Endpoint::new(slot, self.slots[slot].generation);
        let entry = self.new_entry(ep, Arc::from(name), self.user_privilege, true);
        Ok(self.install(entry, body))
    }

    pub fn register_program(&mut self, name: &str, program: Program) {
        self.programs.insert(name.to_string(), program);
    }

    pub fn program(&self, name: &str) -> Option<Program> {
        self.programs.get(name).cloned()
    }

    /// The registered programs no manifest service runs: the boot image's user programs, by name.
    pub fn user_programs(&self) -> Vec<String> {
        self.programs.keys().filter(|name| self.manifest.service(name).is_none()).cloned().collect()
    }

    pub fn take_starts(&mut self) -> Vec<(Slot, Body)> {
        std::mem::take(&mut self.starts)
    }

    pub fn has_starts(&self) -> bool {
        !self.starts.is_empty()
    }

    pub fn take_woken(&mut self, into: &mut Vec<Slot>) {
        into.append(&mut self.woken);
    }

    /// Why the process in `slot` must stop running its body, if it must.
    pub fn unwind_reason(&self, slot: Slot) -> Option<Unwind> {
        let p = self.proc(slot);
        if p.kill_pending.is_some() || p.ended.is_some() {
            Some(Unwind::Killed)
        } else if p.exec_pending.is_some() {
            Some(Unwind::Exec)
        } else {
            None
        }
    }

    /// Takes the body exec left for `slot`, if any.
    pub fn take_exec(&mut self, slot: Slot) -> Option<(Body, Arc<str>)> {
        let p = self.proc_mut(slot);
        p.exec_pending.take()
    }

    /// The user process a process in `state` waits for by name, if any: the waits counted in
    /// `awaited`. Waits on services are not counted: every sendrec waits on a server, and counting
    /// there would tax the IPC fast path for the sake of a service's end, which is rare (a crash)
    /// and searches the table instead.
    #[inline]
    fn counted_wait(state: IpcState) -> Option<Endpoint> {
        match state {
            IpcState::Receiving { from, .. } if from.slot() >= FIRST_USER_SLOT && !from.is_special() => Some(from),
            _ => None,
        }
    }

    /// Sets `slot`'s IPC state, keeping every user process's count of receivers waiting on it
    /// (`wake` and `block` do the same on the IPC fast path, knowing one of the states).
    fn set_ipc(&mut self, slot: Slot, state: IpcState) {
        let old = std::mem::replace(&mut self.proc_mut(slot).ipc, state);
        if let Some(from) = Self::counted_wait(old) {
            self.count_waiter(from, false);
        }
        if let Some(from) = Self::counted_wait(state) {
            self.count_waiter(from, true);
        }
    }

    /// One more (or one fewer) process waits on the user process `ep` by name.
    #[cold]
    fn count_waiter(&mut self, ep: Endpoint, more: bool) {
        let target = self.slots.get_mut(ep.slot()).and_then(|s| s.proc.as_deref_mut()).filter(|p| p.ep == ep);
        // A process is waited on only once resolved, and its waiters fail before its slot is cleared.
        let target = target.expect("a process waited on is in the table");
        if more {
            target.awaited += 1;
        } else {
            target.awaited -= 1;
        }
    }

    /// `n` messages of `from` left inboxes.
    fn unqueue(&mut self, from: Endpoint, n: usize) {
        let sender = self.slots.get_mut(from.slot()).and_then(|s| s.proc.as_deref_mut()).filter(|p| p.ep == from);
        let sender = sender.expect("a queued message's sender is in the table until its end drops it");
        debug_assert!(sender.queued as usize >= n, "{from}'s queued messages are counted");
        sender.queued -= n as u32;
    }

    /// Drops the message `from` is blocked sending from `to`'s inbox (`from` was killed or
    /// exec'd; its asynchronous messages stay queued).
    fn withdraw_send(&mut self, from: Endpoint, to: Endpoint) {
        // A send to a stateful service between incarnations waits in its slot: it is withdrawn
        // there too, or the next incarnation would deliver it and wake a sender already woken.
        let Ok(d) = self.resolve_or_awaiting(to) else { return };
        let inbox = &mut self.proc_mut(d).inbox;
        let before = inbox.len();
        inbox.retain(|m| !(m.from == from && m.prim != Primitive::AsynSend));
        let withdrawn = before - inbox.len();
        if withdrawn > 0 {
            self.unqueue(from, withdrawn);
        }
    }

    // Inlined as it was before the waiter count: it is half of every IPC round trip.
    #[inline(always)]
    fn wake(&mut self, slot: Slot, result: Result<Message, KernelError>) {
        let p = self.proc_mut(slot);
        let was = std::mem::replace(&mut p.ipc, IpcState::Running);
        debug_assert!(was != IpcState::Running, "only a blocked process is woken");
        p.result = Some(match result {
            Ok(msg) => {
                p.result_msg = msg;
                Ok(())
            }
            Err(e) => Err(e),
        });
        if was == IpcState::Hung {
            self.hung -= 1;
        }
        self.runnable += 1;
        self.woken.push(slot);
        if let Some(from) = Self::counted_wait(was) {
            self.count_waiter(from, false);
        }
    }

    /// Blocks the running process in `slot` in `state`.
    fn block(&mut self, slot: Slot, state: IpcState) {
        debug_assert!(state != IpcState::Running);
        let p = self.proc_mut(slot);
        debug_assert!(p.ipc == IpcState::Running, "only a running process blocks");
        p.ipc = state;
        self.runnable -= 1;
        if let Some(from) = Self::counted_wait(state) {
            self.count_waiter(from, true);
        }
    }

    /// The result the kernel left for a woken process.
    pub fn finish(&mut self, slot: Slot) -> Result<Message, KernelError> {
        let p = self.proc_mut(slot);
        p.result.take().expect("a woken process finds its result").map(|()| p.result_msg)
    }

    /// Ends the process in `slot`: it finished its body, crashed or was killed.
    ///
    /// The slot stays allocated (its endpoint dead to IPC) until its signal manager clears it or
    /// starts a new incarnation in it. A stateful service's waiters keep waiting, and messages
    /// queued for it stay queued, for its next incarnation under the same endpoint (MINIX's
    /// transparent restart); everyone else's waiters fail at once with `DeadEndpoint`.
    pub fn end(&mut self, slot: Slot, cause: EndCause) {
        let ep = self.proc(slot).ep;
        debug_assert!(self.proc(slot).ended.is_none(), "a process ends once");
        if self.proc(slot).ipc == IpcState::Running {
            self.runnable -= 1;
        }
        self.log.push(self.now, EventKind::End { ep, cause: cause.clone() });
        self.alarms.cancel(slot);
        let stateful = !self.proc(slot).is_user && self.manifest.service_at(slot).is_some_and(|s| s.stateful);
        self.set_ipc(slot, IpcState::Running);
        let p = self.proc_mut(slot);
        p.ended = Some(cause.clone());
        p.exec_pending = None;
        p.fork_body = None;
        let has_remains = p.remains.is_some();
        let name = p.name.to_string();
        let sigmgr = p.sigmgr;
        // Its own queued messages die with it, as in MINIX — but a stateful service's
        // asynchronous ones: its next incarnation is the same endpoint, on the same state, and a
        // request it handles again trusts its log that they were sent (they die if its slot is
        // cleared instead).
        let kept = self.drop_queued_by(ep, stateful);
        self.proc_mut(slot).queued = kept;
        if !stateful {
            self.fail_waiters(slot);
        }
        match sigmgr.filter(|&m| self.live_slot(m).is_some() || self.awaits_incarnation(m)) {
            Some(mgr) => {
                let death = Death { ep, name, cause, time: self.now, has_remains };
                self.proc_mut(mgr).deaths.push_back(death);
                self.post_notify(Endpoint::KERNEL, mgr);
            }
            None => self.clear(slot),
        }
    }

    /// Drops the messages `ep` has queued in other processes' inboxes, but its asynchronous ones
    /// when `keep_async`; returns how many it still has queued. Most processes have none: the
    /// search of every inbox is for those that do.
    fn drop_queued_by(&mut self, ep: Endpoint, keep_async: bool) -> u32 {
        let queued = self.slots[ep.slot()].proc.as_deref().filter(|p| p.ep == ep).map_or(0, |p| p.queued);
        if queued == 0 {
            return 0;
        }
        let (mut dropped, mut kept) = (0, 0);
        for s in 0..self.slots.len() {
            if let Some(other) = self.slots[s].proc.as_deref_mut() {
                let before = other.inbox.len();
                other.inbox.retain(|m| m.from != ep || (keep_async && m.prim == Primitive::AsynSend));
                dropped += before - other.inbox.len();
                kept += other.inbox.iter().filter(|m| m.from == ep).count();
            }
        }
        debug_assert_eq!(dropped + kept, queued as usize, "{ep}'s queued messages are counted");
        kept as u32
    }

    /// Whether `slot` holds a stateful service that ended and has not been cleared: its next
    /// incarnation will take what is queued for it.
    fn awaits_incarnation(&self, slot: Slot) -> bool {
        let ended =
            self.slots.get(slot).and_then(|s| s.proc.as_deref()).is_some_and(|p| p.ended.is_some() && !p.is_user);
        ended && self.manifest.service_at(slot).is_some_and(|s| s.stateful)
    }

    /// Fails everyone waiting on the process in `slot` (senders queued at it, receivers waiting
    /// for it) with `DeadEndpoint`, and drops what was queued for it.
    fn fail_waiters(&mut self, slot: Slot) {
        let ep = self.proc(slot).ep;
        let p = self.proc_mut(slot);
        let inbox = std::mem::take(&mut p.inbox);
        p.notifies.clear();
        for pending in inbox {
            self.unqueue(pending.from, 1);
            if pending.prim != Primitive::AsynSend {
                let s = pending.from.slot();
                self.log.push(
                    self.now,
                    EventKind::Fail {
                        from: pending.from,
                        to: ep,
                        m_type: pending.msg.m_type,
                        error: KernelError::DeadEndpoint,
                    },
                );
                self.wake(s, Err(KernelError::DeadEndpoint));
            }
        }
        // Most user processes have nobody waiting on them: the search of the table is for those
        // that do, and for services (whose waiters are not counted).
        if slot >= FIRST_USER_SLOT && self.proc(slot).awaited == 0 {
            return;
        }
        let waiters: Vec<(Slot, Endpoint)> = (0..self.slots.len())
            .filter_map(|s| self.live_slot(s).map(|p| (s, p)))
            .filter(|(_, p)| matches!(p.ipc, IpcState::Receiving { from, .. } if from == ep))
            .map(|(s, p)| (s, p.ep))
            .collect();
        debug_assert!(slot < FIRST_USER_SLOT || waiters.len() == self.proc(slot).awaited as usize, "{ep}'s waiters");
        for (s, other_ep) in waiters {
            self.log.push(
                self.now,
                EventKind::Fail { from: other_ep, to: ep, m_type: 0, error: KernelError::DeadEndpoint },
            );
            self.wake(s, Err(KernelError::DeadEndpoint));
        }
    }

    /// Frees `slot`; its endpoint becomes stale (the next process there has a new generation).
    /// Whoever still waited on it learns it is gone for good.
    fn clear(&mut self, slot: Slot) {
        self.fail_waiters(slot);
        let ep = self.proc(slot).ep;
        let kept = self.drop_queued_by(ep, false);
        debug_assert_eq!(kept, 0, "a cleared process keeps nothing queued");
        self.proc_mut(slot).queued = 0;
        let p = self.slots[slot].proc.take().expect("clearing a process");
        debug_assert!(p.ended.is_some(), "only an ended process is cleared");
        self.log.push(self.now, EventKind::Clear { ep: p.ep });
        if self.finish_after == Some(p.ep) {
            self.finish_after_gone = true;
        }
        let entry = &mut self.slots[slot];
        entry.generation = entry.generation.wrapping_add(1);
        if p.is_user {
            self.users -= 1;
            self.free_user_slots.insert(slot);
        }
    }

    // ---- IPC ---------------------------------------------------------------------------------

    /// Whether making `caller` wait on `next` would close a cycle of waiting processes.
    fn closes_cycle(&self, caller: Slot, mut next: Endpoint) -> bool {
        for _ in 0..self.slots.len() {
            if next.slot() == caller {
                return true;
            }
            let Some(p) = self.live_slot(next.slot()) else { return false };
            next = match p.ipc {
                IpcState::Sending { to, .. } => to,
                IpcState::Receiving { from, .. } if from != Endpoint::ANY => from,
                _ => return false,
            };
        }
        false
    }

    fn fail(&mut self, from: Endpoint, to: Endpoint, m_type: MsgType, error: KernelError) -> Step {
        self.log.push(self.now, EventKind::Fail { from, to, m_type, error });
        Step::Done(Err(error))
    }

    /// Hands `msg` to `dst`, which is blocked receiving from the sender.
    fn deliver_now(&mut self, dst: Slot, msg: Message) {
        let to = self.proc(dst).ep;
        let is_reply =
            matches!(self.proc(dst).ipc, IpcState::Receiving { from, for_sendrec: true } if from == msg.source);
        let kind = if is_reply {
            EventKind::Reply { from: msg.source, to, m_type: msg.m_type }
        } else {
            EventKind::Deliver { from: msg.source, to, m_type: msg.m_type }
        };
        self.log.push(self.now, kind);
        self.wake(dst, Ok(msg));
    }

    /// Whether the process in `dst` is blocked in a sendrec waiting for `src`'s answer.
    fn awaits_answer_from(&self, dst: Slot, src: Endpoint) -> bool {
        matches!(self.proc(dst).ipc, IpcState::Receiving { from, for_sendrec: true } if from == src)
    }

    fn accepts_from(&self, dst: Slot, src: Endpoint) -> bool {
        let p = self.proc(dst);
        p.ended.is_none() && matches!(p.ipc, IpcState::Receiving { from, .. } if from == Endpoint::ANY || from == src)
    }

    /// send, sendnb, sendrec and asynsend.
    pub fn send(&mut self, caller: Slot, dst_ep: Endpoint, mut msg: Message, prim: Primitive) -> Step {
        debug_assert!(prim != Primitive::Notify);
        if prim == Primitive::SendRec && !self.proc(caller).sig_frames.is_empty() {
            // A signal frame waits: the call is not made, so the handler runs first.
            return Step::Done(Err(KernelError::Interrupted));
        }
        let me = self.proc(caller).ep;
        let dst = match self.resolve_or_awaiting(dst_ep) {
            Ok(d) => d,
            Err(e) => return self.fail(me, dst_ep, msg.m_type, e),
        };
        // As in MINIX, the manifest limits requests, not answers: the answer to a sendrec that
        // waits for this process (a late one from a new incarnation too) always gets through.
        if !self.awaits_answer_from(dst, me)
            && !self.privileges[self.proc(caller).privilege].may_send(dst, msg.m_type, prim)
        {
            self.log.push(self.now, EventKind::Deny { from: me, to: dst_ep, m_type: msg.m_type, prim });
            return Step::Done(Err(KernelError::Denied));
        }
        msg.source = me;
        self.log.push(self.now, EventKind::Send { from: me, to: dst_ep, m_type: msg.m_type, prim });
        if self.accepts_from(dst, me) {
            self.deliver_now(dst, msg);
            return if prim == Primitive::SendRec {
                self.block(caller, IpcState::Receiving { from: dst_ep, for_sendrec: true });
                Step::Blocked
            } else {
                Step::Done(Ok(Message::new(0)))
            };
        }
        match prim {
            Primitive::SendNb => self.fail(me, dst_ep, msg.m_type, KernelError::NotReady),
            Primitive::AsynSend => {
                self.proc_mut(dst).inbox.push_back(Pending { from: me, msg, prim });
                self.proc_mut(caller).queued += 1;
                Step::Done(Ok(Message::new(0)))
            }
            _ => {
                if self.closes_cycle(caller, dst_ep) {
                    return self.fail(me, dst_ep, msg.m_type, KernelError::Deadlock);
                }
                self.proc_mut(dst).inbox.push_back(Pending { from: me, msg, prim });
                self.proc_mut(caller).queued += 1;
                let then_receive = prim == Primitive::SendRec;
                self.block(caller, IpcState::Sending { to: dst_ep, then_receive });
                Step::Blocked
            }
        }
    }

    /// receive from ANY or from one endpoint. Pending notifications come first, as in MINIX.
    pub fn receive(&mut self, caller: Slot, src: Endpoint) -> Step {
        let me = self.proc(caller).ep;
        if src != Endpoint::ANY
            && src != Endpoint::KERNEL
            && let Err(e) = self.resolve_or_awaiting(src)
        {
            return self.fail(me, src, 0, e);
        }
        let p = self.proc_mut(caller);
        let notified = if src == Endpoint::ANY {
            (!p.notifies.is_empty()).then(|| p.notifies.remove(0))
        } else {
            p.notifies.iter().position(|&n| n == src).map(|i| p.notifies.remove(i))
        };
        if let Some(from) = notified {
            let mut msg = Message::new(NOTIFY_MESSAGE);
            msg.source = from;
            self.log.push(self.now, EventKind::Deliver { from, to: me, m_type: NOTIFY_MESSAGE });
            return Step::Done(Ok(msg));
        }
        let p = self.proc_mut(caller);
        if let Some(i) = p.inbox.iter().position(|m| src == Endpoint::ANY || m.from == src) {
            let pending = p.inbox.remove(i).expect("position is in range");
            self.log.push(self.now, EventKind::Deliver { from: pending.from, to: me, m_type: pending.msg.m_type });
            let sender = pending.from.slot();
            self.unqueue(pending.from, 1);
            match pending.prim {
                Primitive::SendRec => {
                    debug_assert!(
                        matches!(self.proc(sender).ipc, IpcState::Sending { to, then_receive: true } if to == me)
                    );
                    self.set_ipc(sender, IpcState::Receiving { from: me, for_sendrec: true });
                }
                Primitive::Send => self.wake(sender, Ok(Message::new(0))),
                _ => {}
            }
            return Step::Done(Ok(pending.msg));
        }
        if src != Endpoint::ANY && src != Endpoint::KERNEL && self.closes_cycle(caller, src) {
            return self.fail(me, src, 0, KernelError::Deadlock);
        }
        self.block(caller, IpcState::Receiving { from: src, for_sendrec: false });
        Step::Blocked
    }

    /// A server's reply (`sendnb` to `dst`) and its next receive, in one kernel entry (L4's
    /// ReplyWait). A reply that cannot be delivered is dropped, as a reply to a dead or restarted
    /// caller is in MINIX; its failure is logged.
    pub fn reply_receive(&mut self, caller: Slot, dst: Endpoint, msg: Message, src: Endpoint) -> Step {
        let _ = self.send(caller, dst, msg, Primitive::SendNb);
        self.receive(caller, src)
    }

    /// Sets `from`'s notification bit at `dst`, or delivers it at once if `dst` waits for it. A
    /// process waiting for the answer to its sendrec is not waiting for a notification, even from
    /// the server it called (MINIX's MF_REPLY_PEND): the bit waits for its next receive.
    fn post_notify(&mut self, from: Endpoint, dst: Slot) {
        if self.accepts_from(dst, from) && !self.awaits_answer_from(dst, from) {
            let mut msg = Message::new(NOTIFY_MESSAGE);
            msg.source = from;
            self.deliver_now(dst, msg);
        } else {
            let n = &mut self.proc_mut(dst).notifies;
            if let Err(i) = n.binary_search(&from) {
                n.insert(i, from);
            }
        }
    }

    pub fn notify(&mut self, caller: Slot, dst_ep: Endpoint) -> Step {
        let me = self.proc(caller).ep;
        let dst = match self.resolve(dst_ep) {
            Ok(d) => d,
            Err(e) => return self.fail(me, dst_ep, NOTIFY_MESSAGE, e),
        };
        if !self.privileges[self.proc(caller).privilege].may_send(dst, NOTIFY_MESSAGE, Primitive::Notify) {
            self.log.push(
                self.now,
                EventKind::Deny { from: me, to: dst_ep, m_type: NOTIFY_MESSAGE, prim: Primitive::Notify },
            );
            return Step::Done(Err(KernelError::Denied));
        }
        self.log
            .push(self.now, EventKind::Send { from: me, to: dst_ep, m_type: NOTIFY_MESSAGE, prim: Primitive::Notify });
        self.post_notify(me, dst);
        Step::Done(Ok(Message::new(0)))
    }

    /// Blocks the caller for good: an injected hang. Only a kill ends it.
    pub fn hang(&mut self, caller: Slot) -> Step {
        self.hung += 1;
        self.block(caller, IpcState::Hung);
        Step::Blocked
    }

    // ---- kernel calls -----------------------------------------------------------------------

    /// Checks the caller's kernel-call mask; a denial is logged.
    pub fn check_call(&mut self, caller: Slot, call: KernelCall) -> Result<(), KernelError> {
        let p = self.proc(caller);
        if self.privileges[p.privilege].kernel.contains(call) {
            Ok(())
        } else {
            let by = p.ep;
            self.log.push(self.now, EventKind::KernelDeny { by, call });
            Err(KernelError::Denied)
        }
    }

    fn log_call(&mut self, caller: Slot, call: KernelCall, target: Endpoint) {
        let by = self.proc(caller).ep;
        self.log.push(self.now, EventKind::KernelCall { by, call, target });
    }

    /// Kills `target`: it stops at once if blocked, or at its next kernel entry if running.
    pub fn kill(&mut self, caller: Slot, target: Endpoint) -> Result<(), KernelError> {
        let t = self.resolve(target)?;
        self.log_call(caller, KernelCall::Kill, target);
        let by = self.proc(caller).ep;
        self.kill_slot(t, by);
        Ok(())
    }

    pub fn kill_slot(&mut self, t: Slot, by: Endpoint) {
        if self.proc(t).kill_pending.is_some() || self.proc(t).ended.is_some() {
            return;
        }
        self.proc_mut(t).kill_pending = Some(by);
        match self.proc(t).ipc {
            IpcState::Running => {}
            IpcState::Sending { to, .. } => {
                let me = self.proc(t).ep;
                self.withdraw_send(me, to);
                self.wake(t, Err(KernelError::DeadEndpoint));
            }
            IpcState::Receiving { .. } | IpcState::Hung | IpcState::Stopped => {
                self.wake(t, Err(KernelError::DeadEndpoint))
            }
        }
    }

    /// Who killed `slot`, if it was killed.
    pub fn killer(&self, slot: Slot) -> Option<Endpoint> {
        self.proc(slot).kill_pending
    }

    /// Posts a caught signal's frame on the user process `target` (MINIX's sys_sigsend). A
    /// sendrec of the target still queued (not yet taken by its server) is withdrawn and fails
    /// with `Interrupted`: the call never started, and the handler runs before it is made again.
    pub fn sigsend(&mut self, caller: Slot, target: Endpoint, frame: SigFrame) -> Result<(), KernelError> {
        let t = self.resolve(target)?;
        if !self.proc(t).is_user {
            return Err(KernelError::Invalid);
        }
        self.log_call(caller, KernelCall::SigSend, target);
        self.proc_mut(t).sig_frames.push_back(frame);
        if let IpcState::Sending { to, then_receive: true } = self.proc(t).ipc {
            self.withdraw_send(target, to);
            self.wake(t, Err(KernelError::Interrupted));
        }
        Ok(())
    }

    /// Continues the user process `target` (SIGCONT): it goes on if stopped, and a stop posted
    /// but not yet taken is withdrawn. Whether it was stopped.
    pub fn sigcont(&mut self, caller: Slot, target: Endpoint) -> Result<bool, KernelError> {
        let t = self.resolve(target)?;
        if !self.proc(t).is_user {
            return Err(KernelError::Invalid);
        }
        self.log_call(caller, KernelCall::SigSend, target);
        self.proc_mut(t).sig_frames.retain(|f| !f.stop);
        let stopped = self.proc(t).ipc == IpcState::Stopped;
        if stopped {
            self.wake(t, Ok(Message::new(0)));
        }
        Ok(stopped)
    }

    /// The caller took a stop frame: it stops until continued.
    pub fn stop(&mut self, caller: Slot) -> Step {
        self.block(caller, IpcState::Stopped);
        Step::Blocked
    }

    /// Takes the oldest signal frame posted on `slot`.
    pub fn take_sig_frame(&mut self, slot: Slot) -> Option<SigFrame> {
        self.proc_mut(slot).sig_frames.pop_front()
    }

    /// Sets the caller's alarm `delay` from now (replacing any earlier one); 0 cancels it.
    pub fn set_alarm(&mut self, caller: Slot, delay: Micros) {
        if delay == 0 {
            self.alarms.cancel(caller);
        } else {
            self.alarms.set(caller, self.now.saturating_add(delay));
        }
    }

    /// Leaves the body the next forked child of `caller` will run.
    pub fn set_fork_body(&mut self, caller: Slot, body: Body) {
        self.proc_mut(caller).fork_body = Some(body);
    }

    /// Creates a child of `parent` in user slot `slot` (the process manager picks it, as MINIX's
    /// pm does, so its table index is the slot), running the body `parent` left with
    /// [`KernelCore::set_fork_body`]. The child's address space starts empty: vm fills it.
    pub fn fork(&mut self, caller: Slot, parent: Endpoint, slot: Slot) -> Result<Endpoint, KernelError> {
        let p = self.resolve(parent)?;
        if !self.proc(p).is_user {
            return Err(KernelError::Invalid);
        }
        if !(FIRST_USER_SLOT..=MAX_SLOTS).contains(&slot) {
            return Err(KernelError::Invalid);
        }
        while self.slots.len() <= slot {
            self.free_user_slots.insert(self.slots.len());
            self.slots.push(SlotEntry { generation: 0, proc: None });
        }
        if !self.free_user_slots.remove(&slot) {
            return Err(KernelError::NoSlot);
        }
        let Some(body) = self.proc_mut(p).fork_body.take() else {
            self.free_user_slots.insert(slot);
            return Err(KernelError::Invalid);
        };
        let ep = Endpoint::new(slot, self.slots[slot].generation);
        let name = self.proc(p).name.clone();
        let entry = self.new_entry(ep, name, self.user_privilege, true);
        self.log_call(caller, KernelCall::Fork, ep);
        Ok(self.install(entry, body))
    }

    /// Replaces `target`'s program with the registered program `program`. `target` stops running
    /// its old body at once (it must be blocked, as a process is while its exec is served).
    pub fn exec(
        &mut self,
        caller: Slot,
        target: Endpoint,
        program: &str,
        argv: Vec<String>,
    ) -> Result<(), KernelError> {
        let t = self.resolve(target)?;
        let prog = self.program(program).ok_or(KernelError::NoSuchProgram)?;
        if t == caller || self.proc(t).ipc == IpcState::Running {
            return Err(KernelError::Invalid);
        }
        self.log_call(caller, KernelCall::Exec, target);
        let name: Arc<str> = Arc::from(program);
        let body: Body = Box::new(move |proc: &Proc| prog(proc, Start { argv, handoff: None }));
        self.proc_mut(t).exec_pending = Some((body, name.clone()));
        // The new image has no handlers: frames for the old one's are dropped.
        self.proc_mut(t).sig_frames.clear();
        self.log.push(self.now, EventKind::Exec { ep: target, program: name });
        self.proc_mut(t).name = Arc::from(program);
        if let IpcState::Sending { to, .. } = self.proc(t).ipc {
            self.withdraw_send(target, to);
        }
        self.wake(t, Err(KernelError::DeadEndpoint));
        Ok(())
    }

    /// Frees the slot of the ended process `target`.
    pub fn clear_ended(&mut self, caller: Slot, target: Endpoint) -> Result<(), KernelError> {
        let t = self.resolve_any(target)?;
        if self.proc(t).ended.is_none() {
            return Err(KernelError::Invalid);
        }
        self.log_call(caller, KernelCall::Clear, target);
        self.clear(t);
        Ok(())
    }

    /// `caller` schedules the live user process `target`: priority `priority` (below
    /// [`NR_SCHED_QUEUES`]) and a quantum of `quantum` kernel entries (at least one).
    pub fn schedule(&mut self, caller: Slot, target: Endpoint, priority: u8, quantum: u32) -> Result<(), KernelError> {
        let t = self.resolve(target)?;
        if !self.proc(t).is_user || priority >= NR_SCHED_QUEUES || quantum == 0 {
            return Err(KernelError::Invalid);
        }
        self.log_call(caller, KernelCall::Schedule, target);
        self.proc_mut(t).quantum = Some(Quantum { scheduler: caller, priority, left: quantum });
        Ok(())
    }

    /// `caller` stops scheduling `target` (live, or ended and not yet cleared): no quantum runs
    /// out any more. Only its scheduler may.
    pub fn unschedule(&mut self, caller: Slot, target: Endpoint) -> Result<(), KernelError> {
        let t = self.resolve_any(target)?;
        match self.proc(t).quantum {
            Some(q) if q.scheduler == caller => {
                self.log_call(caller, KernelCall::Schedule, target);
                self.proc_mut(t).quantum = None;
                Ok(())
            }
            Some(_) => Err(KernelError::Denied),
            None => Ok(()),
        }
    }

    /// Charges one kernel entry to `slot`'s quantum: at its end the process's scheduler is told
    /// (a notification from the kernel, and the process in its queue of expired ones). The process
    /// runs on until its scheduler gives it a new quantum: the engines do not preempt by quantum.
    pub fn charge_entry(&mut self, slot: Slot) {
        let Some(p) = self.slots[slot].proc.as_deref_mut() else { return };
        let Some(q) = p.quantum.as_mut() else { return };
        if q.left == 0 {
            return;
        }
        q.left -= 1;
        if q.left > 0 {
            return;
        }
        let (ep, scheduler) = (p.ep, q.scheduler);
        let present = self.live_slot(scheduler).is_some() || self.awaits_incarnation(scheduler);
        if present {
            self.proc_mut(scheduler).expired.push_back(ep);
            self.post_notify(Endpoint::KERNEL, scheduler);
        }
    }

    /// The oldest process `caller` schedules that ran out of quantum and still lives.
    pub fn next_expired(&mut self, caller: Slot) -> Option<Endpoint> {
        while let Some(ep) = self.proc_mut(caller).expired.pop_front() {
            if self.resolve(ep).is_ok() {
                return Some(ep);
            }
        }
        None
    }

    /// Takes the oldest death reported to the caller (its signal-manager duty).
    pub fn next_death(&mut self, caller: Slot) -> Option<Death> {
        self.proc_mut(caller).deaths.pop_front()
    }

    /// Stores state for a successor incarnation; kept with the slot after the process ends.
    pub fn leave_remains(&mut self, caller: Slot, remains: Box<dyn Any + Send>) {
        self.proc_mut(caller).remains = Some(remains);
    }

    /// Takes what the ended process `target` left behind.
    pub fn take_remains(&mut self, target: Endpoint) -> Result<Option<Box<dyn Any + Send>>, KernelError> {
        let t = self.resolve_any(target)?;
        Ok(self.proc_mut(t).remains.take())
    }

    /// Adds a free-text note to the event log (a service's decision trail).
    pub fn note(&mut self, caller: Slot, text: &str) {
        let by = self.proc(caller).ep;
        self.log.push(self.now, EventKind::Note { by, text: Arc::from(text) });
    }

    pub fn shutdown(&mut self, caller: Slot, reason: &str) {
        let by = self.proc(caller).ep;
        let reason: Arc<str> = Arc::from(reason);
        self.log.push(self.now, EventKind::Shutdown { by, reason: reason.clone() });
        self.shutdown = Some((by, reason));
    }

    /// The system is being torn down: every live process is killed by the kernel.
    pub fn kill_everyone(&mut self) {
        for s in 0..self.slots.len() {
            if self.live_slot(s).is_some() {
                self.kill_slot(s, Endpoint::KERNEL);
            }
        }
    }

    pub fn proc_info(&self, ep: Endpoint) -> Result<ProcInfo, KernelError> {
        let p = self.proc(self.resolve_any(ep)?);
        Ok(ProcInfo {
            ep: p.ep,
            name: p.name.to_string(),
            is_user: p.is_user,
            ended: p.ended.clone(),
            state: match p.ipc {
                _ if p.ended.is_some() => ProcState::Ended,
                IpcState::Running => ProcState::Running,
                IpcState::Sending { to, .. } => ProcState::Sending(to),
                IpcState::Receiving { from, .. } => ProcState::Receiving(from),
                IpcState::Hung => ProcState::Hung,
                IpcState::Stopped => ProcState::Stopped,
            },
            started: p.started,
            pages: p.space.pages.iter().map(|(&v, &m)| (v, m)).collect(),
        })
    }

    /// The live processes blocked waiting for the answer to a sendrec whose message the process
    /// in `slot` took (a server's callers it has not answered yet).
    pub fn awaiting_answer_from(&self, slot: Slot) -> Vec<Endpoint> {
        let me = self.proc(slot).ep;
        self.slots
            .iter()
            .filter_map(|s| s.proc.as_deref())
            .filter(|p| {
                p.ended.is_none() && matches!(p.ipc, IpcState::Receiving { from, for_sendrec: true } if from == me)
            })
            .map(|p| p.ep)
            .collect()
    }

    /// Every process in the table, by slot.
    pub fn all_procs(&self) -> Vec<ProcInfo> {
        self.slots.iter().filter_map(|s| s.proc.as_deref()).map(|p| self.proc_info(p.ep).expect("listed")).collect()
    }

    /// The frames vm manages (services' declared memory is not among them).
    pub fn total_frames(&self) -> usize {
        self.pool_frames
    }

    /// Bytes of memory the manifest declares for the service in `slot` (0 for any other process).
    pub fn service_memory_bytes(&self, slot: Slot) -> u64 {
        self.service_memory.get(&slot).map_or(0, |&(_, pages)| pages * PAGE_SIZE as u64)
    }

    /// Copies `out.len()` bytes at `offset` of the memory the manifest declares for the service in
    /// `slot` (whatever incarnation, or none, runs there): for the harness, which reads a stopped
    /// system's RAM disk. `Invalid` past its end.
    pub fn read_service_memory(&self, slot: Slot, offset: u64, out: &mut [u8]) -> Result<(), KernelError> {
        let &(first, pages) = self.service_memory.get(&slot).ok_or(KernelError::Invalid)?;
        let end = offset.checked_add(out.len() as u64).ok_or(KernelError::Invalid)?;
        if end > pages * PAGE_SIZE as u64 {
            return Err(KernelError::Invalid);
        }
        let mut done = 0;
        while done < out.len() {
            let at = offset + done as u64;
            let within = (at % PAGE_SIZE as u64) as usize;
            let chunk = (PAGE_SIZE - within).min(out.len() - done);
            let frame = first + (at / PAGE_SIZE as u64) as Frame;
            self.mem.read(frame, within, &mut out[done..done + chunk]);
            done += chunk;
        }
        Ok(())
    }

    /// Whether `frame` is one of vm's (a vmctl call may not reach a service's declared memory).
    fn in_pool(&self, frame: Frame) -> Result<(), KernelError> {
        if (frame as usize) < self.pool_frames { Ok(()) } else { Err(KernelError::Invalid) }
    }

    // ---- memory -----------------------------------------------------------------------------

    pub fn vm_map(&mut self, target: Endpoint, vpage: u64, frame: Frame, writable: bool) -> Result<(), KernelError> {
        let t = self.resolve_any(target)?;
        self.in_pool(frame)?;
        self.proc_mut(t).space.pages.insert(vpage, Mapping { frame, writable });
        Ok(())
    }

    pub fn vm_unmap(&mut self, target: Endpoint, vpage: u64) -> Result<Option<Frame>, KernelError> {
        let t = self.resolve_any(target)?;
        Ok(self.proc_mut(t).space.pages.remove(&vpage).map(|m| m.frame))
    }

    pub fn frame_copy(&mut self, from: Frame, to: Frame) -> Result<(), KernelError> {
        self.in_pool(from)?;
        self.in_pool(to)?;
        self.mem.copy_frame(from, to)
    }

    pub fn frame_zero(&mut self, frame: Frame) -> Result<(), KernelError> {
        self.in_pool(frame)?;
        self.mem.zero_frame(frame)
    }

    pub fn mem_read(&self, slot: Slot, addr: VirtAddr, out: &mut [u8]) -> Result<(), KernelError> {
        self.proc(slot).space.read(&self.mem, addr, out)
    }

    pub fn mem_write(&mut self, slot: Slot, addr: VirtAddr, data: &[u8]) -> Result<(), KernelError> {
        let p = self.slots[slot].proc.as_deref().expect("slot holds a process");
        p.space.write(&mut self.mem, addr, data)
    }

    pub fn grant(&mut self, caller: Slot, grantee: Endpoint, addr: VirtAddr, len: u64, access: Access) -> GrantId {
        self.proc_mut(caller).space.add_grant(Grant { grantee, addr, len, access, via: None })
    }

    /// Passes on `owner`'s grant `grant` (made to the caller): `grantee` may copy `[offset,
    /// offset+len)` of it as `access` allows, as far as the caller may (MINIX's indirect grant).
    #[allow(clippy::too_many_arguments)]
    pub fn grant_indirect(
        &mut self,
        caller: Slot,
        grantee: Endpoint,
        owner: Endpoint,
        grant: GrantId,
        offset: u64,
        len: u64,
        access: Access,
    ) -> GrantId {
        let via = Some((owner, grant));
        self.proc_mut(caller).space.add_grant(Grant { grantee, addr: offset, len, access, via })
    }

    /// Follows grant `id` of `granter` for `me`: the slot and address the copy touches. An
    /// indirect grant is followed once (the grant it names must be a direct one, made to the
    /// indirect grant's owner).
    fn grant_target(
        &self,
        granter: Endpoint,
        id: GrantId,
        me: Endpoint,
        access: Access,
        offset: u64,
        len: usize,
    ) -> Result<(Slot, VirtAddr), KernelError> {
        let g = self.resolve(granter)?;
        match self.proc(g).space.check_grant(id, me, access, offset, len)? {
            GrantTarget::Direct(addr) => Ok((g, addr)),
            GrantTarget::Indirect { owner, grant, offset } => {
                let o = self.resolve(owner)?;
                match self.proc(o).space.check_grant(grant, granter, access, offset, len)? {
                    GrantTarget::Direct(addr) => Ok((o, addr)),
                    GrantTarget::Indirect { .. } => Err(KernelError::BadGrant),
                }
            }
        }
    }

    pub fn revoke(&mut self, caller: Slot, id: GrantId) {
        if let Some(g) = self.proc_mut(caller).space.grants.get_mut(id as usize) {
            *g = None;
        }
    }

    /// Copies from `granter`'s memory, through its grant `id`, into `out`.
    pub fn safecopy_from(
        &mut self,
        caller: Slot,
        granter: Endpoint,
        id: GrantId,
        offset: u64,
        out: &mut [u8],
    ) -> Result<(), KernelError> {
        let me = self.proc(caller).ep;
        let (g, addr) = self.grant_target(granter, id, me, Access::Read, offset, out.len())?;
        self.proc(g).space.read(&self.mem, addr, out)
    }

    /// Copies `data` into `granter`'s memory, through its grant `id`.
    pub fn safecopy_to(
        &mut self,
        caller: Slot,
        granter: Endpoint,
        id: GrantId,
        offset: u64,
        data: &[u8],
    ) -> Result<(), KernelError> {
        let me = self.proc(caller).ep;
        let (g, addr) = self.grant_target(granter, id, me, Access::Write, offset, data.len())?;
        let p = self.slots[g].proc.as_deref().expect("resolved");
        p.space.write(&mut self.mem, addr, data)
    }
}

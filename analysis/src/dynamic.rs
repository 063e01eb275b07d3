//! The soundness cross-check: run a workload on the real servers, record per executed entry point
//! what it wrote (component, field, effective class) and which requests it sent, and compare with
//! the static table. Every server with a call table is recorded (each component's writes for a
//! request are checked against its own row, the chain through the send sites' classes), and every
//! primitive that reaches a receive loop counts as a request (`send` and `notify` too; `sendnb` is
//! the answer to a waiting sendrec). For every executed entry point the dynamic write set must be contained in the
//! static one (a field written at run time with class c must be in the row with a class at least
//! c), its dynamic class no worse than the static local class, and every request it sent to
//! another server must be one of the row's send sites. Precision is dynamic over static.
//!
//! How the writes are attributed without changing the task loop: each server runs wrapped in
//! [`Recorded`], a `Server` whose call table points every row at one recording handler. That
//! handler notes "server S is handling type T", installs a [`recovery::WriteObserver`] on S's
//! journal the first time (the observer sees every tracked write with its effective class), then
//! calls the real handler. The servers reach the recording session through a thread-local set by
//! their program closure (one session per machine: under `sim` every process runs on the thread
//! that runs the machine, under `threads` each on its own). The requests each entry point sent
//! are read from the kernel's event log: a server's sends between two of its deliveries belong to
//! the request delivered first.
//!
//! Limits: writes made before the first request (boot) belong to no entry point; a server whose
//! journal already has an observer (an armed fault injector, the golden run's profile) is not
//! recorded and is listed as such; a kernel call that is not a send site of its row is a
//! violation unless the row names a kernel call outside `ctx.kernel` among its unknown effects
//! (then it is class G and the call is a note).

use crate::classify::KERNEL_COMPONENT;
use kernel_sim::msgtype::NOTIFY_MESSAGE;
use kernel_sim::{Event, EventKind, Primitive, Proc, Program, RunReport, Start};
use os::task::{self, Call, Ctx, Handled, KERNEL_CALL_BASE, Server, ServerEnv};
use recovery::{
    Journal, RecoveryClass, RecoveryTable, StateClass, TrackedState, WriteAction, WriteEvent, WriteObserver,
};
use serde::Serialize;
use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, OnceLock};
use testbed::boot::{Machine, MachineConfig, boot};
use userland::libc::Sys;

/// What one executed entry point did at run time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EntryRecord {
    /// How many requests of it were handled.
    pub runs: u64,
    /// The fields written (declared name, effective class).
    pub writes: BTreeSet<(String, StateClass)>,
    /// The requests sent to other servers (server, message type).
    pub sends: BTreeSet<(String, i32)>,
    /// The kernel calls the kernel logged for it (window codes).
    pub kernel_calls: BTreeSet<i32>,
}

/// Everything a recorded run did, per entry point (server, message type).
#[derive(Clone, Debug, Default)]
pub struct DynamicWrites {
    /// Per executed entry point.
    pub entries: BTreeMap<(String, i32), EntryRecord>,
    /// Servers whose writes could not be recorded (their journal had another observer).
    pub unrecorded_servers: BTreeSet<String>,
}

/// The recording session of one machine.
#[derive(Default)]
struct Session {
    state: Mutex<SessionState>,
}

#[derive(Default)]
struct SessionState {
    /// The type each server is handling now.
    current: BTreeMap<&'static str, i32>,
    writes: DynamicWrites,
    /// Journals our observer is installed on.
    observed: Vec<Journal>,
}

impl Session {
    fn lock(&self) -> std::sync::MutexGuard<'_, SessionState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn begin(self: &Arc<Self>, server: &'static str, m_type: i32, journal: &Journal) {
        let mut s = self.lock();
        s.current.insert(server, m_type);
        s.writes.entries.entry((server.to_string(), m_type)).or_default().runs += 1;
        if !s.observed.iter().any(|j| j.same_as(journal)) {
            if journal.has_observer() {
                s.writes.unrecorded_servers.insert(server.to_string());
            } else {
                journal.set_observer(Box::new(Recorder { server, session: self.clone() }));
                s.observed.push(journal.clone());
            }
        }
    }

    fn end(&self, server: &'static str) {
        self.lock().current.remove(server);
    }
}

/// The write observer: every tracked write of one server, attributed to the request it handles.
struct Recorder {
    server: &'static str,
    session: Arc<Session>,
}

impl WriteObserver for Recorder {
    fn on_write(&mut self, event: &WriteEvent) -> WriteAction {
        let mut s = self.session.lock();
        if let Some(&m_type) = s.current.get(self.server) {
            let entry = s.writes.entries.entry((self.server.to_string(), m_type)).or_default();
            entry.writes.insert((event.field.to_string(), event.class));
        }
        WriteAction::Proceed
    }
}

thread_local! {
    /// The session of the machine whose processes run on this thread.
    static SESSION: RefCell<Option<Arc<Session>>> = const { RefCell::new(None) };
}

fn session() -> Option<Arc<Session>> {
    SESSION.with(|s| s.borrow().clone())
}

/// Server `S`, with every request's writes recorded.
pub struct Recorded<S>(PhantomData<fn() -> S>);

impl<S: Server> Server for Recorded<S> {
    const NAME: &'static str = S::NAME;
    type State = S::State;

    fn calls() -> &'static [Call<S::State>] {
        recorded_calls::<S>()
    }

    fn check_invariants(state: &mut S::State) -> Vec<String> {
        S::check_invariants(state)
    }

    fn check_window(state: &mut S::State) -> Vec<String> {
        S::check_window(state)
    }

    fn boot(proc: &Proc) -> S::State {
        S::boot(proc)
    }

    fn fresh(proc: &Proc) -> S::State {
        S::fresh(proc)
    }
}

/// `S`'s call table with every handler replaced by the recording one (built once per server type).
fn recorded_calls<S: Server>() -> &'static [Call<S::State>] {
    type Tables = Mutex<HashMap<TypeId, &'static (dyn Any + Send + Sync)>>;
    static TABLES: OnceLock<Tables> = OnceLock::new();
    let mut tables = TABLES.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    let table: &'static (dyn Any + Send + Sync) = *tables.entry(TypeId::of::<S>()).or_insert_with(|| {
        let calls: Vec<Call<S::State>> = S::calls()
            .iter()
            .map(|c| Call { m_type: c.m_type, name: c.name, handler: recorded_handler::<S> })
            .collect();
        let leaked: &'static [Call<S::State>] = Box::leak(calls.into_boxed_slice());
        Box::leak(Box::new(leaked))
    });
    drop(tables);
    let calls: &'static &'static [Call<S::State>] = table.downcast_ref().expect("one table per server type");
    calls
}

fn recorded_handler<S: Server>(ctx: &mut Ctx<'_, S::State>) -> Handled {
    let m_type = ctx.m.m_type;
    let call = S::calls().iter().find(|c| c.m_type == m_type).expect("the task loop dispatched by this table");
    let session = session();
    if let Some(s) = &session {
        s.begin(S::NAME, m_type, ctx.state.journal());
    }
    let handled = (call.handler)(ctx);
    if let Some(s) = &session {
        s.end(S::NAME);
    }
    handled
}

fn recorded_program<S: Server>(env: ServerEnv, session: Arc<Session>) -> Program {
    Arc::new(move |proc: &Proc, start: Start| {
        SESSION.with(|s| *s.borrow_mut() = Some(session.clone()));
        task::run::<Recorded<S>>(proc, start, env.clone())
    })
}

/// A recorded run: the machine as it stopped, the kernel's report, what every entry point did.
pub struct RecordedRun {
    /// The machine (its vault holds the servers' last states).
    pub machine: Machine,
    /// How the run ended.
    pub report: RunReport,
    /// What every executed entry point did.
    pub writes: DynamicWrites,
}

/// Boots a machine as [`testbed::boot::boot`] does, with every server that has a call table recorded, runs `init` as
/// its workload, and returns what every executed entry point wrote and sent. The kernel's event
/// log is turned on (the sends are read from it).
pub fn record_run(config: &MachineConfig, init: impl FnOnce(&Sys<'_>) -> i32 + Send + 'static) -> RecordedRun {
    let mut config = config.clone();
    config.kernel.record_events = true;
    let mut machine = boot(&config, init);
    let session = Arc::new(Session::default());
    // The same environment `boot` gives the servers (a function of the configuration and the
    // machine's vault and injector).
    let env = ServerEnv {
        checkpoints: config.checkpoints.clone(),
        vault: machine.vault.clone(),
        injector: machine.injector.clone(),
        check_invariants: config.check_invariants,
        profile: config.profile.clone(),
        table: config.table.clone(),
    };
    // Every server with a call table: each component's writes for a request are its own row's.
    let recorded: [(&str, Program); 8] = [
        (os::pm::Pm::NAME, recorded_program::<os::pm::Pm>(env.clone(), session.clone())),
        (os::vm::Vm::NAME, recorded_program::<os::vm::Vm>(env.clone(), session.clone())),
        (os::vfs::Vfs::NAME, recorded_program::<os::vfs::Vfs>(env.clone(), session.clone())),
        (os::mfs::Mfs::NAME, recorded_program::<os::mfs::Mfs>(env.clone(), session.clone())),
        (os::memdisk::Memdisk::NAME, recorded_program::<os::memdisk::Memdisk>(env.clone(), session.clone())),
        (os::memory::Memory::NAME, recorded_program::<os::memory::Memory>(env.clone(), session.clone())),
        (os::ds::Ds::NAME, recorded_program::<os::ds::Ds>(env.clone(), session.clone())),
        (os::sched::Sched::NAME, recorded_program::<os::sched::Sched>(env, session.clone())),
    ];
    let names: Vec<&str> = recorded.iter().map(|(n, _)| *n).collect();
    for (name, program) in recorded {
        machine.system.register_program(name, program);
    }
    let report = machine.run();
    SESSION.with(|s| s.borrow_mut().take());
    let servers: BTreeMap<usize, String> = config
        .manifest
        .services
        .iter()
        .filter(|s| names.contains(&s.name.as_str()))
        .map(|s| (s.slot, s.name.clone()))
        .collect();
    let mut writes = std::mem::take(&mut session.lock().writes);
    attribute_sends(&machine.system.events(), &servers, &mut writes);
    RecordedRun { machine, report, writes }
}

/// Attributes every request a server sent to another server (and every kernel call the kernel
/// logged) to the request that server was handling: the last one delivered to it.
fn attribute_sends(events: &[Event], servers: &BTreeMap<usize, String>, writes: &mut DynamicWrites) {
    let mut current: BTreeMap<usize, i32> = BTreeMap::new();
    // The servers that dispatched a notification to a handler of their call table; another's
    // notification is awaited inside a handler (mfs waiting for ds's news of its driver) or
    // dropped at the loop top, and starts no request.
    let dispatch_notifications: BTreeSet<String> =
        writes.entries.keys().filter(|(_, t)| *t == NOTIFY_MESSAGE).map(|(server, _)| server.clone()).collect();
    for ev in events {
        match &ev.kind {
            EventKind::Deliver { from, to, m_type } if servers.contains_key(&to.slot()) => {
                // Heartbeat pings are answered inside the receive wrapper, not by a handler.
                let heartbeat = *from == os::proto::RS && *m_type == NOTIFY_MESSAGE;
                let awaited = *m_type == NOTIFY_MESSAGE && !dispatch_notifications.contains(&servers[&to.slot()]);
                if !heartbeat && !awaited {
                    current.insert(to.slot(), *m_type);
                }
            }
            // Every primitive that reaches the receiver's loop (`sendnb` is the answer to a
            // waiting sendrec).
            EventKind::Send {
                from,
                to,
                m_type,
                prim: Primitive::SendRec | Primitive::AsynSend | Primitive::Send | Primitive::Notify,
            } => {
                if let (Some(sender), Some(receiver), Some(&handling)) =
                    (servers.get(&from.slot()), servers.get(&to.slot()), current.get(&from.slot()))
                {
                    let entry = writes.entries.entry((sender.clone(), handling)).or_default();
                    entry.sends.insert((receiver.clone(), *m_type));
                }
            }
            EventKind::KernelCall { by, call, .. } => {
                if let (Some(caller), Some(&handling)) = (servers.get(&by.slot()), current.get(&by.slot())) {
                    let code = (KERNEL_CALL_BASE + *call as u32) as i32;
                    writes.entries.entry((caller.clone(), handling)).or_default().kernel_calls.insert(code);
                }
            }
            _ => {}
        }
    }
}

/// One executed entry point, static against dynamic.
#[derive(Clone, Debug, Serialize)]
pub struct EntryCheck {
    /// The server.
    pub server: String,
    /// The call (`?` when the table has no row).
    pub call: String,
    /// The message type.
    pub m_type: i32,
    /// Requests handled.
    pub runs: u64,
    /// Fields written at run time (own component).
    pub dynamic_writes: Vec<(String, StateClass)>,
    /// Fields the table says its own component may write.
    pub static_writes: Vec<(String, StateClass)>,
    /// The worst class written at run time (R when nothing).
    pub dynamic_class: RecoveryClass,
    /// The table's local class.
    pub static_local_class: RecoveryClass,
    /// The table's class.
    pub static_class: RecoveryClass,
    /// Dynamic over static writes (1 when both are empty).
    pub precision: f64,
}

/// The verdict of a cross-check.
#[derive(Clone, Debug, Serialize)]
pub struct SoundnessReport {
    /// Every executed entry point.
    pub entries: Vec<EntryCheck>,
    /// Where the static table is not sound for what ran (empty: sound).
    pub violations: Vec<String>,
    /// Things worth knowing that are not violations.
    pub notes: Vec<String>,
    /// Dynamic over static writes, over all executed entry points.
    pub precision: f64,
}

impl SoundnessReport {
    /// No violation.
    pub fn is_sound(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Compares what ran with the static table.
pub fn compare(table: &RecoveryTable, run: &DynamicWrites) -> SoundnessReport {
    let mut violations = Vec::new();
    let mut notes: Vec<String> = run
        .unrecorded_servers
        .iter()
        .map(|s| format!("{s}: writes not recorded (its journal already had an observer)"))
        .collect();
    let mut entries = Vec::new();
    let (mut dynamic_total, mut static_total) = (0usize, 0usize);
    for ((server, m_type), record) in &run.entries {
        let Some(row) = table.lookup(server, *m_type) else {
            violations.push(format!("{server} handled type {m_type:#x}, which the table has no row for"));
            continue;
        };
        let name = format!("{server}/{}", row.call);
        let static_writes: Vec<(String, StateClass)> = row.fields.get(server).cloned().unwrap_or_default();
        for (field, class) in &record.writes {
            let covered = static_writes.iter().any(|(f, c)| f == field && c >= class);
            if !covered {
                violations.push(format!("{name} wrote {field} ({class}) at run time; the table does not allow it"));
            }
        }
        let dynamic_class = record.writes.iter().map(|(_, c)| RecoveryClass::of(*c)).max().unwrap_or(RecoveryClass::R);
        if dynamic_class > row.local_class {
            violations
                .push(format!("{name}: class {dynamic_class} at run time, worse than the table's {}", row.local_class));
        }
        for (to, t) in &record.sends {
            if table.lookup(to, *t).is_none() {
                // The receiver's table does not serve the type (a notification it awaits itself,
                // an answer): it changes nothing there.
                continue;
            }
            let site = row.send_sites.iter().find(|s| s.to == *to && s.m_type == *t);
            match site {
                None => {
                    violations.push(format!("{name} sent type {t:#x} to {to} at run time; not a send site of its row"))
                }
                Some(site) => {
                    let receiver = run.entries.get(&(to.clone(), *t));
                    let receiver_class = receiver
                        .map(|r| r.writes.iter().map(|(_, c)| RecoveryClass::of(*c)).max().unwrap_or(RecoveryClass::R))
                        .unwrap_or(RecoveryClass::R);
                    if receiver_class > site.class {
                        violations.push(format!(
                            "{name}: its send of {} to {to} is class {} in the table, but {to} wrote class {receiver_class}",
                            site.call, site.class
                        ));
                    }
                }
            }
        }
        // Every kernel call is a send site of the row, or the row is pessimistic for a kernel
        // call the analysis found outside ctx.kernel (`unknown_effects`).
        let kernel_unknown = row.unknown_effects.iter().any(|u| u.starts_with("kernel call"));
        for code in &record.kernel_calls {
            if !row.send_sites.iter().any(|s| s.to == KERNEL_COMPONENT && s.m_type == *code) {
                let what =
                    format!("{name}: the kernel logged call {code:#x} for it, which is not a send site of its row");
                if kernel_unknown {
                    notes.push(format!("{what} (a kernel call outside ctx.kernel: the row is class G)"))
                } else {
                    violations.push(what)
                }
            }
        }
        dynamic_total += record.writes.len();
        static_total += static_writes.len();
        let precision = if static_writes.is_empty() {
            if record.writes.is_empty() { 1.0 } else { 0.0 }
        } else {
            record.writes.len() as f64 / static_writes.len() as f64
        };
        entries.push(EntryCheck {
            server: server.clone(),
            call: row.call.clone(),
            m_type: *m_type,
            runs: record.runs,
            dynamic_writes: record.writes.iter().cloned().collect(),
            static_writes,
            dynamic_class,
            static_local_class: row.local_class,
            static_class: row.class,
            precision,
        });
    }
    notes.sort();
    notes.dedup();
    let precision = if static_total == 0 { 1.0 } else { dynamic_total as f64 / static_total as f64 };
    SoundnessReport { entries, violations, notes, precision }
}

impl std::fmt::Display for SoundnessReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{:<8} {:<20} {:>5}  {:<7} {:<7} {:>9}",
            "server", "call", "runs", "dynamic", "static", "precision"
        )?;
        for e in &self.entries {
            writeln!(
                f,
                "{:<8} {:<20} {:>5}  {:<7} {:<7} {:>8.0}%",
                e.server,
                e.call,
                e.runs,
                e.dynamic_class,
                e.static_local_class,
                e.precision * 100.0
            )?;
        }
        writeln!(f, "precision (dynamic over static writes): {:.0}%", self.precision * 100.0)?;
        for v in &self.violations {
            writeln!(f, "VIOLATION: {v}")?;
        }
        for n in &self.notes {
            writeln!(f, "note: {n}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: EventKind) -> Event {
        Event { seq: 0, time: 0, kind }
    }

    #[test]
    fn a_notification_awaited_inside_a_handler_starts_no_request() {
        const REQ: i32 = 0x700;
        const DS_CHECK: i32 = 0x504;
        let servers: BTreeMap<usize, String> =
            [(os::proto::MFS_BOOT.slot(), "mfs".to_string()), (os::proto::DS.slot(), "ds".to_string())].into();
        let mut writes = DynamicWrites::default();
        writes.entries.entry(("mfs".into(), REQ)).or_default().runs = 1;
        let (mfs, ds, vfs) = (os::proto::MFS_BOOT, os::proto::DS, os::proto::VFS);
        let events = [
            event(EventKind::Deliver { from: vfs, to: mfs, m_type: REQ }),
            // mfs waits for ds's news of its driver inside the request, then asks ds.
            event(EventKind::Deliver { from: ds, to: mfs, m_type: NOTIFY_MESSAGE }),
            event(EventKind::Send { from: mfs, to: ds, m_type: DS_CHECK, prim: Primitive::SendRec }),
        ];
        attribute_sends(&events, &servers, &mut writes);
        assert_eq!(writes.entries.len(), 1, "no entry for the notification: {:?}", writes.entries.keys());
        assert!(writes.entries[&("mfs".to_string(), REQ)].sends.contains(&("ds".to_string(), DS_CHECK)));
    }
}

//! IPC attacks by a user process: every message type to every endpoint with every primitive,
//! server-only calls (VM_FORK from a user, pm's and vfs's notices to each other, rs and ds calls,
//! SEF control), forged payload fields naming a victim, a forged source endpoint, every kernel
//! call. Each must be denied by the kernel (and traced in the event log as a Deny or KernelDeny)
//! or answered with a defined error, and leave no mark on the servers.
//!
//! How "no mark" is judged: each attack runs in a scene — init starts a victim (uid 1001: a file
//! open, a pipe, memory mapped, blocked reading its pipe), then an attacker (uid 1000) that either
//! attacks or does nothing, waits for the attacker, and exits; the run stops with the victim
//! still alive. The same scene is run with and without the attack (same seed, so the same
//! schedule up to the attack), and the stopped systems are compared part by part: pm's process
//! table, pid allocator and phase; vm's frame count, free frames (as a set: the attacker's own
//! failed calls may return frames in another order) and address spaces; vfs's inodes, blocks, free
//! blocks (as a set), open files and descriptor tables; the kernel's process table. The attacker
//! itself is gone from both by then (waited for), so every part must be equal.

use kernel_sim::memory::Access;
use kernel_sim::{
    Config, Endpoint, EngineKind, Event, EventKind, KernelCall, KernelError, Manifest, Message, Primitive, RunEnd,
};
use os::errno::Errno;
use os::proto::pm::*;
use os::proto::vfs::flags::{O_CREAT, O_RDONLY, O_RDWR, O_TRUNC};
use os::proto::vfs::*;
use os::proto::vm::layout::{PAGE, SCRATCH};
use os::proto::vm::*;
use os::proto::{INIT, PM, Pid, RS, VFS, VM};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use testbed::boot::{DEFAULT_MANIFEST, MachineConfig, boot};
use testbed::checker::{self, Snapshot};
use userland::fuzz::{self, KERNEL_CALLS, kernel_call};
use userland::libc::Sys;

/// The victim's and the attacker's user ids: strangers to each other.
const VICTIM_UID: u32 = 1001;
const ATTACKER_UID: u32 = 1000;

/// What the victim holds, as the attacker is told (everything a real attacker could guess).
#[derive(Clone, Debug)]
struct Victim {
    pid: Pid,
    ep: Endpoint,
    /// Its descriptors: a file it owns open for reading and writing, /etc/motd, a pipe's ends.
    fds: Vec<i32>,
    /// Where its mapping is.
    mapped: u64,
}

/// One message or call the attacker tried, and what came of it.
#[derive(Clone, Debug)]
struct Attempt {
    what: String,
    to: Endpoint,
    m_type: i32,
    prim: Primitive,
    /// The reply's status (sendrec), 0 (a send that went out), or the kernel's error.
    outcome: Result<i32, KernelError>,
}

#[derive(Clone, Default)]
struct Attempts(Arc<Mutex<Vec<Attempt>>>);

impl Attempts {
    fn push(&self, a: Attempt) {
        self.0.lock().unwrap().push(a);
    }

    fn all(&self) -> Vec<Attempt> {
        self.0.lock().unwrap().clone()
    }
}

type Attack = fn(&Sys<'_>, &Victim, &Attempts);

/// A stopped system after a scene.
struct Scene {
    end: RunEnd,
    decisions: Vec<String>,
    violations: Vec<String>,
    /// The state, part by part (name, rendering).
    parts: Vec<(&'static str, String)>,
    events: Vec<Event>,
    attacker: Endpoint,
    victim: Victim,
    attempts: Vec<Attempt>,
}

fn permissive_manifest() -> Arc<Manifest> {
    // A mis-configured manifest that lets users send every message type to pm, vfs and vm: the
    // servers' own checks are all that is left.
    let text = DEFAULT_MANIFEST
        .replace("calls pm 0x000..0x0FF;", "calls pm 0x000..0x1FFF;")
        .replace("calls vfs 0x100..0x1FF;", "calls vfs 0x000..0x1FFF;")
        .replace("calls vm 0xC20..0xC3F;", "calls vm 0x000..0x1FFF;");
    assert_ne!(text, DEFAULT_MANIFEST);
    Arc::new(Manifest::parse(&text, "permissive.conf", &|_| None).expect("the permissive manifest parses"))
}

/// The victim: a file of its own, a pipe, a mapping; then it blocks reading its pipe for ever.
fn victim_main(sys: &Sys<'_>, out: &Mutex<Option<Victim>>) -> i32 {
    sys.setgid(VICTIM_UID).unwrap();
    sys.setuid(VICTIM_UID).unwrap();
    sys.mkdir("/tmp/v", 0o755).unwrap();
    let file = sys.open("/tmp/v/file", O_CREAT | O_RDWR | O_TRUNC, 0o600).unwrap();
    sys.write(file, b"the victim's data").unwrap();
    let motd = sys.open("/etc/motd", O_RDONLY, 0).unwrap();
    let (r, w) = sys.pipe().unwrap();
    let mapped = sys.mmap(2 * PAGE, true).unwrap();
    sys.proc().mem_write(mapped, b"the victim's secret").unwrap();
    sys.sbrk(PAGE as i64).unwrap();
    let me = Victim { pid: sys.getpid().unwrap(), ep: sys.proc().endpoint(), fds: vec![file, motd, r, w], mapped };
    *out.lock().unwrap() = Some(me);
    // It holds the write end itself: this read waits for ever.
    let _ = sys.read(r, &mut [0u8; 16]);
    unreachable!("nobody writes the victim's pipe")
}

/// Runs the scene under `manifest`, with `attack` (or an attacker that does nothing).
fn scene(manifest: Arc<Manifest>, attack: Option<Attack>) -> Scene {
    let config = MachineConfig {
        kernel: Config {
            engine: EngineKind::Sim,
            seed: 11,
            time_limit: 60_000_000,
            finish_after: Some(INIT),
            ..Config::default()
        },
        manifest,
        check_invariants: true,
        ..MachineConfig::default()
    };
    let victim: Arc<Mutex<Option<Victim>>> = Arc::default();
    let attacker: Arc<Mutex<Option<Endpoint>>> = Arc::default();
    let attempts = Attempts::default();
    let (v, a, log) = (victim.clone(), attacker.clone(), attempts.clone());
    let mut m = boot(&config, move |sys| {
        let out = v.clone();
        sys.fork(move |c| victim_main(c, &out)).unwrap();
        let known = loop {
            if let Some(known) = v.lock().unwrap().clone() {
                break known;
            }
            sys.proc().yield_now();
        };
        let pid = sys
            .fork(move |c| {
                *a.lock().unwrap() = Some(c.proc().endpoint());
                c.setgid(ATTACKER_UID).unwrap();
                c.setuid(ATTACKER_UID).unwrap();
                if let Some(attack) = attack {
                    attack(c, &known, &log);
                }
                0
            })
            .unwrap();
        assert_eq!(sys.waitpid(pid, 0).map(|(p, _)| p), Ok(pid));
        0
    });
    let end = m.run().end;
    let events = m.system.events();
    let mut snap = Snapshot::take(&m);
    let violations = checker::check(&mut snap).iter().map(ToString::to_string).collect();
    let parts = parts(&mut snap);
    let victim = victim.lock().unwrap().clone().expect("the victim started");
    let attacker = attacker.lock().unwrap().expect("the attacker started");
    let decisions = m.decisions.records().iter().map(ToString::to_string).collect();
    Scene { end, decisions, violations, parts, events, attacker, victim, attempts: attempts.all() }
}

/// The stopped system's state, part by part.
fn parts(s: &mut Snapshot) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let pm = s.pm.as_mut().expect("pm left its state");
    out.push(("pm.procs", format!("{:?}", pm.procs.iter().collect::<Vec<_>>())));
    out.push(("pm.next_pid", format!("{:?}", pm.next_pid.get())));
    out.push(("pm.system", format!("{:?}", pm.system.get())));
    let vm = s.vm.as_mut().expect("vm left its state");
    out.push(("vm.total", format!("{:?}", vm.total.get())));
    out.push(("vm.free (as a set)", format!("{:?}", vm.free.iter().collect::<BTreeSet<_>>())));
    out.push(("vm.spaces", format!("{:?}", vm.spaces.iter().collect::<Vec<_>>())));
    let vfs = s.vfs.as_mut().expect("vfs left its state");
    out.push(("vfs.vnodes", format!("{:?}", vfs.vnodes.iter().collect::<Vec<_>>())));
    out.push(("vfs.mount", format!("{:?}", vfs.mount.get())));
    out.push(("vfs.pipe_bufs", format!("{:?}", vfs.pipe_bufs.iter().collect::<Vec<_>>())));
    out.push(("vfs.filps", format!("{:?}", vfs.filps.iter().collect::<Vec<_>>())));
    out.push(("vfs.fprocs", format!("{:?}", vfs.fprocs.iter().collect::<Vec<_>>())));
    out.push(("vfs.suspended", format!("{:?}", vfs.suspended.iter().collect::<Vec<_>>())));
    let mfs = s.mfs.as_mut().expect("mfs left its state");
    out.push(("mfs.inodes", format!("{:?}", mfs.inodes.iter().collect::<Vec<_>>())));
    out.push(("mfs.blocks", format!("{:?}", mfs.blocks.iter().collect::<Vec<_>>())));
    out.push(("mfs.free_blocks (as a set)", format!("{:?}", mfs.free_blocks.iter().collect::<BTreeSet<_>>())));
    out.push(("kernel.procs", format!("{:?}", s.procs)));
    out
}

fn assert_clean(what: &str, s: &Scene) {
    if s.end != RunEnd::Finished {
        // The event log without heartbeats says where it stuck.
        let lines: Vec<String> = s
            .events
            .iter()
            .map(ToString::to_string)
            .filter(|l| !l.contains("type 0x1000") && !l.contains("alarm"))
            .collect();
        let tail = lines[lines.len().saturating_sub(60)..].join("\n");
        panic!("{what}: the run ended {:?}; the event log ends\n{tail}", s.end);
    }
    assert!(s.decisions.is_empty(), "{what}: a server died: {:?}", s.decisions);
    assert!(s.violations.is_empty(), "{what}: {:?}", s.violations);
}

/// Every part of `b` equals `a`'s.
fn assert_same_state(a: &Scene, b: &Scene) {
    for ((part, x), (_, y)) in a.parts.iter().zip(&b.parts) {
        assert!(x == y, "the attack changed {part}:\n without: {x}\n    with: {y}");
    }
}

// ---- the attacker's tools -----------------------------------------------------------------------

const PRIMS: [Primitive; 4] = [Primitive::SendRec, Primitive::Send, Primitive::SendNb, Primitive::AsynSend];

fn send(sys: &Sys<'_>, to: Endpoint, m: Message, prim: Primitive) -> Result<i32, KernelError> {
    let p = sys.proc();
    match prim {
        Primitive::SendRec => p.sendrec(to, m).map(|r| r.m_type),
        Primitive::Send => p.send(to, m).map(|()| 0),
        Primitive::SendNb => p.sendnb(to, m).map(|()| 0),
        Primitive::AsynSend => p.asynsend(to, m).map(|()| 0),
        Primitive::Notify => p.notify(to).map(|()| 0),
    }
}

fn attempt(sys: &Sys<'_>, log: &Attempts, what: String, to: Endpoint, m: Message, prim: Primitive) {
    let outcome = send(sys, to, m, prim);
    log.push(Attempt { what, to, m_type: m.m_type, prim, outcome });
}

/// A payload claiming to be about the victim: its endpoint first (the `proc`/`parent` field of
/// every server-to-server layout), then its pid, a slot, a status.
fn forged(m_type: i32, v: &Victim) -> Message {
    let mut m = Message::new(m_type);
    m.payload[..4].copy_from_slice(&v.ep.raw().to_le_bytes());
    m.payload[4..8].copy_from_slice(&(v.ep.slot() as u32 + 1).to_le_bytes());
    m.payload[8..12].copy_from_slice(&v.pid.to_le_bytes());
    m
}

/// Message types no user may use successfully: every server-only call, every call of rs and ds,
/// the notification and control types, unused types inside the users' own ranges and at their
/// edges, negative statuses.
fn attack_types() -> Vec<i32> {
    let mut t: Vec<i32> = Vec::new();
    t.extend(0x00B..=0x00F); // unused pm calls
    t.extend([0x0FF, 0x100, 0x102]); // pm's last, vfs's unused first types
    t.extend(0x113..=0x116); // unused vfs calls
    t.extend([0x1FF, 0x700, 0x701, 0x702, 0x7FF, 0x800, 0x801]); // edges, rs, ds
    t.extend(PM_VFS_FORK..=PM_VFS_REBOOT); // pm -> vfs notices
    t.extend(VFS_PM_FORK_REPLY..=VFS_PM_REBOOT_REPLY); // vfs -> pm answers
    t.extend(VM_EXIT..=VM_GETRUSAGE); // pm's vm calls
    t.extend([VM_EXEC_NEWMEM, 0xC1F, 0xC3E, 0xC3F, 0xC40, 0xCFF]); // vfs's vm call, edges
    t.extend([0x1000, 0x1001, 0x1101, 0x1102, -1, -22, i32::MIN, i32::MAX]);
    t
}

/// Where the attacker sends: every server, the kernel's endpoint, the special values, users
/// (the victim, init, itself), a stale server endpoint, a slot nobody ever had.
fn destinations(sys: &Sys<'_>, v: &Victim) -> Vec<(&'static str, Endpoint)> {
    vec![
        ("rs", RS),
        ("pm", PM),
        ("vm", VM),
        ("vfs", VFS),
        ("the kernel", Endpoint::KERNEL),
        ("ANY", Endpoint::ANY),
        ("NONE", Endpoint::NONE),
        ("the victim", v.ep),
        ("init", INIT),
        ("itself", sys.proc().endpoint()),
        ("pm's next generation", Endpoint::new(PM.slot(), 1)),
        ("an empty slot", Endpoint::new(60_000, 0)),
    ]
}

/// What the default manifest's user section allows: the kernel must deny exactly the rest.
fn user_may_send(to: Endpoint, m_type: i32) -> bool {
    match to {
        PM => (0x000..=0x0FF).contains(&m_type),
        VFS => (0x100..=0x1FF).contains(&m_type),
        VM => (0xC20..=0xC3F).contains(&m_type),
        _ => false,
    }
}

fn matrix_attack(sys: &Sys<'_>, v: &Victim, log: &Attempts) {
    for (whom, to) in destinations(sys, v) {
        for m_type in attack_types() {
            for prim in PRIMS {
                attempt(sys, log, format!("{m_type:#x} to {whom} by {}", prim.name()), to, forged(m_type, v), prim);
            }
        }
        attempt(sys, log, format!("notify {whom}"), to, Message::new(0), Primitive::Notify);
    }
    // A message whose source field claims to be the victim (the kernel sets the source).
    let mut m = Message::with(VFS_FSTAT, &FdRequest { fd: v.fds[0] });
    m.source = v.ep;
    attempt(sys, log, "fstat with the victim as the source".into(), VFS, m, Primitive::SendRec);
    // Kernel calls, each on the victim and on pm.
    for target in [v.ep, PM] {
        for (i, call_name) in KERNEL_CALLS.iter().enumerate() {
            let (call, r) = kernel_call(sys.proc(), i, target);
            log.push(Attempt {
                what: format!("kernel call {call_name} on {target}"),
                to: Endpoint::KERNEL,
                m_type: call as i32,
                prim: Primitive::SendRec,
                outcome: r.map(|()| 0),
            });
        }
    }
}

#[test]
fn every_message_type_to_every_endpoint_is_denied_or_refused_and_changes_nothing() {
    let quiet = scene(testbed::boot::default_manifest(), None);
    let attacked = scene(testbed::boot::default_manifest(), Some(matrix_attack));
    assert_clean("without the attack", &quiet);
    assert_clean("with the attack", &attacked);
    assert_same_state(&quiet, &attacked);
    let me = attacked.attacker;
    let (mut denied, mut kdenied, mut refused) = (0, 0, 0);
    for a in &attacked.attempts {
        let bad = |why: &str| panic!("{}: {why}: {:?}", a.what, a.outcome);
        if a.what.starts_with("kernel call") {
            assert_eq!(a.outcome, Err(KernelError::Denied), "{}", a.what);
            let call = KernelCall::ALL.iter().find(|c| **c as i32 == a.m_type).expect("a kernel call");
            let traced = attacked
                .events
                .iter()
                .any(|e| matches!(&e.kind, EventKind::KernelDeny { by, call: c } if *by == me && c == call));
            assert!(traced, "{}: no KernelDeny in the event log", a.what);
            kdenied += 1;
            continue;
        }
        if a.what.starts_with("fstat with the victim") {
            // The server saw the attacker, who holds no descriptor: the victim's answer would be 0.
            assert_eq!(a.outcome, Ok(Errno::EBADF.status()), "{}", a.what);
            continue;
        }
        let expected_kernel = match a.to {
            to if to == Endpoint::KERNEL || to.is_special() || to.slot() == 60_000 => Some(KernelError::BadEndpoint),
            to if to == Endpoint::new(PM.slot(), 1) => Some(KernelError::DeadEndpoint),
            to if a.prim == Primitive::Notify && [PM, VM, VFS].contains(&to) => None,
            _ if a.prim == Primitive::Notify => Some(KernelError::Denied),
            to if !user_may_send(to, a.m_type) => Some(KernelError::Denied),
            _ => None,
        };
        match (expected_kernel, a.outcome) {
            (Some(e), Err(got)) if e == got => {
                if e == KernelError::Denied {
                    let traced = attacked.events.iter().any(|e| {
                        matches!(&e.kind, EventKind::Deny { from, to, m_type, prim }
                            if *from == me && *to == a.to && prim.name() == a.prim.name()
                                && (*m_type == a.m_type || a.prim == Primitive::Notify))
                    });
                    assert!(traced, "{}: denied but no Deny in the event log", a.what);
                    denied += 1;
                }
            }
            (Some(_), _) => bad("expected the kernel to refuse it"),
            // Delivered to a server: a sendrec must come back with a defined error; other
            // primitives only deliver (the server's error answer finds nobody waiting), or find
            // the server busy (sendnb).
            (None, Ok(status)) if a.prim == Primitive::SendRec => {
                if status >= 0 || Errno::from_code(-status).is_none() {
                    bad("a server accepted it or answered an undefined status");
                }
                refused += 1;
            }
            (None, Ok(0)) => refused += 1,
            (None, Err(KernelError::NotReady)) if a.prim == Primitive::SendNb => refused += 1,
            (None, _) => bad("unexpected outcome of a delivered message"),
        }
    }
    assert!(denied > 1_200, "{denied} denials");
    assert_eq!(kdenied, 2 * KERNEL_CALLS.len());
    assert!(refused > 50, "{refused} refusals by the servers");
}

/// User calls with payloads aimed at the victim: its pid, its descriptors, its grant numbers,
/// its files, its memory, its ids.
fn forged_calls(sys: &Sys<'_>, v: &Victim, log: &Attempts) {
    let call = |what: &str, to: Endpoint, m: Message| {
        attempt(sys, log, what.to_string(), to, m, Primitive::SendRec);
    };
    for signal in [sig::SIGKILL, sig::SIGTERM, 0] {
        call("kill the victim", PM, Message::with(PM_KILL, &KillRequest { pid: v.pid, signal }));
    }
    call("kill init", PM, Message::with(PM_KILL, &KillRequest { pid: 1, signal: sig::SIGKILL }));
    call("wait for the victim", PM, Message::with(PM_WAIT4, &WaitRequest { pid: v.pid, options: WNOHANG }));
    call("wait for anyone", PM, Message::with(PM_WAIT4, &WaitRequest { pid: -1, options: WNOHANG }));
    call("become the victim", PM, Message::with(PM_SETUID, &SetIdRequest { id: VICTIM_UID }));
    call("become root", PM, Message::with(PM_SETUID, &SetIdRequest { id: 0 }));
    call("join root's group", PM, Message::with(PM_SETGID, &SetIdRequest { id: 0 }));
    call("reboot", PM, Message::new(PM_REBOOT));
    call(
        "exec through grants never made",
        PM,
        Message::with(PM_EXEC, &ExecRequest { path_grant: 0, path_len: 9, argv_grant: 1, argv_len: 4 }),
    );
    call("fork without a body", PM, Message::new(PM_FORK));
    for &fd in &v.fds {
        call("read the victim's descriptor", VFS, Message::with(VFS_READ, &IoRequest { fd, grant: 0, len: 16 }));
        call("write the victim's descriptor", VFS, Message::with(VFS_WRITE, &IoRequest { fd, grant: 0, len: 16 }));
        call("close the victim's descriptor", VFS, Message::with(VFS_CLOSE, &FdRequest { fd }));
        call("dup the victim's descriptor", VFS, Message::with(VFS_DUP, &FdRequest { fd }));
        call("dup2 onto the victim's descriptor", VFS, Message::with(VFS_DUP2, &Dup2Request { fd, fd2: fd }));
        call("seek the victim's descriptor", VFS, Message::with(VFS_LSEEK, &SeekRequest { fd, offset: 0, whence: 0 }));
        call(
            "getdents of the victim's descriptor",
            VFS,
            Message::with(VFS_GETDENTS, &IoRequest { fd, grant: 0, len: 64 }),
        );
    }
    for grant in 0..4 {
        call(
            "open through a grant never made",
            VFS,
            Message::with(VFS_OPEN, &PathRequest { grant, len: 12, flags: 0, mode: 0 }),
        );
    }
    // The victim's files through honest grants: the permissions say no.
    let p = sys.proc();
    for (what, m_type, path, flags) in [
        ("open the victim's file", VFS_OPEN, "/tmp/v/file", O_RDWR),
        ("unlink the victim's file", VFS_UNLINK, "/tmp/v/file", 0),
        ("create in the victim's directory", VFS_OPEN, "/tmp/v/mine", O_CREAT | O_RDWR),
        ("rmdir the victim's directory", VFS_RMDIR, "/tmp/v", 0),
        ("mkdir in the victim's directory", VFS_MKDIR, "/tmp/v/d", 0),
    ] {
        p.mem_write(SCRATCH, path.as_bytes()).unwrap();
        let grant = p.grant(VFS, SCRATCH, path.len() as u64, Access::Read);
        call(what, VFS, Message::with(m_type, &PathRequest { grant, len: path.len() as u32, flags, mode: 0o777 }));
        p.revoke(grant);
    }
    let both = b"/tmp/v/file/tmp/stolen";
    p.mem_write(SCRATCH, both).unwrap();
    let grant = p.grant(VFS, SCRATCH, both.len() as u64, Access::Read);
    call(
        "rename the victim's file away",
        VFS,
        Message::with(VFS_RENAME, &TwoPathRequest { grant, old_len: 11, new_len: 11 }),
    );
    p.revoke(grant);
    call("unmap the victim's mapping", VM, Message::with(VM_MUNMAP, &MunmapRequest { addr: v.mapped, len: 2 * PAGE }));
}

#[test]
fn forged_payloads_aimed_at_a_victim_get_errors_and_change_nothing() {
    let quiet = scene(testbed::boot::default_manifest(), None);
    let attacked = scene(testbed::boot::default_manifest(), Some(forged_calls));
    assert_clean("without the attack", &quiet);
    assert_clean("with the attack", &attacked);
    assert_same_state(&quiet, &attacked);
    let answers: Vec<(String, Result<Errno, String>)> = attacked
        .attempts
        .iter()
        .map(|a| {
            let answer = match a.outcome {
                Ok(s) if s < 0 => Errno::from_code(-s).ok_or(format!("undefined status {s}")),
                other => Err(format!("{other:?}")),
            };
            (a.what.clone(), answer)
        })
        .collect();
    let errno_of = |what: &str| -> BTreeSet<Errno> {
        answers
            .iter()
            .filter(|(w, _)| w == what)
            .map(|(w, a)| a.clone().unwrap_or_else(|e| panic!("{w}: not refused with an errno: {e}")))
            .collect()
    };
    for (what, expected) in [
        ("kill the victim", Errno::EPERM),
        ("kill init", Errno::EPERM),
        ("wait for the victim", Errno::ECHILD),
        ("wait for anyone", Errno::ECHILD),
        ("become the victim", Errno::EPERM),
        ("become root", Errno::EPERM),
        ("join root's group", Errno::EPERM),
        ("reboot", Errno::EPERM),
        ("exec through grants never made", Errno::EPERM),
        ("fork without a body", Errno::EINVAL),
        ("read the victim's descriptor", Errno::EBADF),
        ("write the victim's descriptor", Errno::EBADF),
        ("close the victim's descriptor", Errno::EBADF),
        ("dup the victim's descriptor", Errno::EBADF),
        ("dup2 onto the victim's descriptor", Errno::EBADF),
        ("seek the victim's descriptor", Errno::EBADF),
        ("getdents of the victim's descriptor", Errno::EBADF),
        ("open through a grant never made", Errno::EPERM),
        ("open the victim's file", Errno::EACCES),
        ("unlink the victim's file", Errno::EACCES),
        ("create in the victim's directory", Errno::EACCES),
        ("mkdir in the victim's directory", Errno::EACCES),
        ("rename the victim's file away", Errno::EACCES),
        ("unmap the victim's mapping", Errno::EINVAL),
    ] {
        assert_eq!(errno_of(what), BTreeSet::from([expected]), "{what}");
    }
    // rmdir of another's directory in the sticky /tmp.
    let rmdir = errno_of("rmdir the victim's directory");
    assert!(rmdir == BTreeSet::from([Errno::EPERM]) || rmdir == BTreeSet::from([Errno::EACCES]), "{rmdir:?}");
    assert_eq!(answers.len(), attacked.attempts.len());
}

/// Server-only calls to pm and vfs, each with the victim in every endpoint field.
fn server_only_messages(sys: &Sys<'_>, v: &Victim) -> Vec<(&'static str, Endpoint, Message)> {
    let mut exec_reply = VfsExecReply { proc: v.ep, status: 0, image_lost: true, program: [0; 32] };
    exec_reply.program[..4].copy_from_slice(b"true");
    let done = VfsProcReply { proc: v.ep, status: 0 };
    let inject = os::proto::sef::InjectRequest { fault: 0 };
    let me = sys.proc().endpoint();
    vec![
        ("vfs says the victim's fork is done", PM, Message::with(VFS_PM_FORK_REPLY, &done)),
        ("vfs says the victim's exit is done", PM, Message::with(VFS_PM_EXIT_REPLY, &done)),
        ("vfs says the victim's exec image is lost", PM, Message::with(VFS_PM_EXEC_REPLY, &exec_reply)),
        ("vfs says the victim's ids changed", PM, Message::with(VFS_PM_SETID_REPLY, &done)),
        ("vfs says the shutdown may end", PM, Message::with(VFS_PM_REBOOT_REPLY, &done)),
        ("a kernel notification by message", PM, Message::new(kernel_sim::msgtype::NOTIFY_MESSAGE)),
        ("pm says the victim exited", VFS, Message::with(PM_VFS_EXIT, &VfsProcNotice { proc: v.ep })),
        (
            "pm says the victim forked",
            VFS,
            Message::with(PM_VFS_FORK, &VfsForkNotice { parent: v.ep, child: me, child_pid: 99 }),
        ),
        (
            "pm says the victim is root now",
            VFS,
            Message::with(PM_VFS_SETID, &VfsSetIdNotice { proc: v.ep, uid: 0, gid: 0 }),
        ),
        (
            "pm asks vfs to exec for the victim",
            VFS,
            Message::with(PM_VFS_EXEC, &VfsExecRequest { proc: v.ep, path_grant: 0, path_len: 9 }),
        ),
        ("pm says the system shuts down", VFS, Message::with(PM_VFS_REBOOT, &VfsProcNotice { proc: v.ep })),
        ("rs injects a fault into pm", PM, Message::with(os::proto::sef::SEF_INJECT, &inject)),
        ("rs injects a fault into vfs", VFS, Message::with(os::proto::sef::SEF_INJECT, &inject)),
    ]
}

/// vm's server-only calls, each about the victim.
fn vm_server_only_messages(v: &Victim) -> Vec<(&'static str, Endpoint, Message)> {
    vec![
        ("free the victim's memory", VM, Message::with(VM_EXIT, &VmProcRequest { proc: v.ep })),
        ("fork the victim", VM, Message::with(VM_FORK, &VmForkRequest { parent: v.ep, child_slot: 40 })),
        ("mark the victim exiting", VM, Message::with(VM_WILLEXIT, &VmProcRequest { proc: v.ep })),
        ("read the victim's usage", VM, Message::with(VM_GETRUSAGE, &VmProcRequest { proc: v.ep })),
        ("replace the victim's image", VM, Message::with(VM_EXEC_NEWMEM, &VmExecRequest { proc: v.ep, text_bytes: 1 })),
    ]
}

/// The server-only calls sent with asynsend (nobody waits for an answer), under a manifest that
/// lets users send anything to pm, vfs and vm: each server's own check of who is calling is all
/// that stands between the attacker and the victim.
fn server_only_asynsend(sys: &Sys<'_>, v: &Victim, log: &Attempts) {
    for (what, to, m) in server_only_messages(sys, v) {
        attempt(sys, log, what.to_string(), to, m, Primitive::AsynSend);
    }
    for (what, to, m) in vm_server_only_messages(v) {
        attempt(sys, log, what.to_string(), to, m, Primitive::SendRec);
    }
    // Let the servers take the queued messages before the attacker goes.
    for _ in 0..200 {
        sys.proc().yield_now();
    }
}

/// The same calls, each waiting for its answer as a real call would.
fn server_only_sendrec(sys: &Sys<'_>, v: &Victim, log: &Attempts) {
    for (what, to, m) in server_only_messages(sys, v).into_iter().chain(vm_server_only_messages(v)) {
        attempt(sys, log, what.to_string(), to, m, Primitive::SendRec);
    }
}

#[test]
fn under_a_permissive_manifest_the_servers_own_checks_refuse_server_only_calls() {
    let quiet = scene(permissive_manifest(), None);
    let attacked = scene(permissive_manifest(), Some(server_only_asynsend));
    assert_clean("without the attack", &quiet);
    assert_clean("with the attack", &attacked);
    assert_same_state(&quiet, &attacked);
    for a in &attacked.attempts {
        match a.prim {
            Primitive::AsynSend => assert_eq!(a.outcome, Ok(0), "{}: delivered (the manifest allows it)", a.what),
            _ => assert_eq!(a.outcome, Ok(Errno::EPERM.status()), "{}: vm refuses a user", a.what),
        }
    }
    // And the victim still lives: its process entry, memory and descriptors are all there.
    let victim = attacked.victim;
    let pm = &attacked.parts.iter().find(|(n, _)| *n == "pm.procs").unwrap().1;
    assert!(pm.contains(&format!("pid: {}", victim.pid)), "{pm}");
}

#[test]
fn under_a_permissive_manifest_a_server_only_call_is_answered_with_an_error() {
    // Regression: pm and vfs used to drop these without an answer, leaving the caller waiting for
    // ever (found by this test).
    let quiet = scene(permissive_manifest(), None);
    let attacked = scene(permissive_manifest(), Some(server_only_sendrec));
    assert_clean("without the attack", &quiet);
    assert_clean("with the attack", &attacked);
    assert_same_state(&quiet, &attacked);
    for a in &attacked.attempts {
        // Unknown to the server (SEF control is rs's): ENOSYS; a server-only call: EPERM.
        let expected = if a.what.starts_with("rs injects") { Errno::ENOSYS } else { Errno::EPERM };
        assert_eq!(a.outcome, Ok(expected.status()), "{}", a.what);
    }
    assert_eq!(attacked.attempts.len(), 18, "every call was answered");
}

// ---- a process that says it exits but does not ------------------------------------------------

/// Runs init's `body` and returns what it logged (the run must finish within the time limit).
fn observe(body: impl FnOnce(&Sys<'_>, &Mutex<Vec<String>>) + Send + 'static) -> (RunEnd, Vec<String>) {
    observe_seeded(3, body)
}

/// `observe` with the scheduler seeded by `seed`.
fn observe_seeded(
    seed: u64,
    body: impl FnOnce(&Sys<'_>, &Mutex<Vec<String>>) + Send + 'static,
) -> (RunEnd, Vec<String>) {
    let config = MachineConfig {
        kernel: Config {
            engine: EngineKind::Sim,
            seed,
            time_limit: 30_000_000,
            finish_after: Some(INIT),
            ..Config::default()
        },
        check_invariants: true,
        ..MachineConfig::default()
    };
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let l = log.clone();
    let mut m = boot(&config, move |sys| {
        body(sys, &l);
        0
    });
    let end = m.run().end;
    let lines = log.lock().unwrap().clone();
    (end, lines)
}

/// Yields that let every other process run until it blocks, under `sim`.
const SETTLE: usize = 200;

#[test]
/// Regression: pm used to mark a process that sent PM_EXIT by hand `Exiting` and trust it to end;
/// kill then answered 0 without killing it, and reboot skipped it (found by the fuzzer).
fn a_process_that_sent_exit_but_lives_on_can_still_be_killed() {
    let (end, lines) = observe(|sys, log| {
        let pid = sys
            .fork(|c| {
                // exit(3) by hand; the answer is 0, but the process does not end.
                let r = c.proc().sendrec(PM, Message::with(PM_EXIT, &ExitRequest { status: 3 }));
                assert_eq!(r.map(|m| m.m_type), Ok(0));
                let (r, _w) = c.pipe().unwrap();
                let _ = c.read(r, &mut [0u8; 1]);
                0
            })
            .unwrap();
        for _ in 0..SETTLE {
            sys.proc().yield_now();
        }
        // (Every call is made before a lock is taken: a process blocked while holding a lock
        // would block the whole `sim` engine's thread.)
        let killed = sys.kill(pid, sig::SIGKILL);
        log.lock().unwrap().push(format!("kill: {killed:?}"));
        let mut reaped = None;
        for _ in 0..SETTLE {
            if let Ok((p, status)) = sys.waitpid(pid, WNOHANG)
                && p == pid
            {
                reaped = Some(status);
                break;
            }
            sys.proc().yield_now();
        }
        log.lock().unwrap().push(format!("reaped: {reaped:?}"));
    });
    assert_eq!(end, RunEnd::Finished);
    assert_eq!(lines, ["kill: Ok(())", &format!("reaped: {:?}", Some(signal_status(sig::SIGKILL)))]);
}

#[test]
/// Regression: after a hand-made PM_EXIT, setuid was never answered (found by the fuzzer:
/// `Raw { to: Pm, m_type: 1, prim: AsynSend }` then `Setuid { id: 1000 }`).
fn a_process_that_sent_exit_but_lives_on_gets_answers() {
    let (end, lines) = observe(|sys, log| {
        let l = Arc::new(Mutex::new(Vec::new()));
        let seen = l.clone();
        sys.fork(move |c| {
            let _ = c.proc().asynsend(PM, Message::with(PM_EXIT, &ExitRequest { status: 3 }));
            let answer = c.setuid(ATTACKER_UID);
            seen.lock().unwrap().push(format!("setuid: {answer:?}"));
            0
        })
        .unwrap();
        for _ in 0..SETTLE {
            sys.proc().yield_now();
        }
        log.lock().unwrap().extend(l.lock().unwrap().iter().cloned());
    });
    assert_eq!(end, RunEnd::Finished);
    assert_eq!(lines, ["setuid: Err(EINVAL)"], "a process that asked to exit makes no new calls");
}

/// Regression: pm used to answer such a kill EDEADSRCDST ("server died") and rewrite the target's
/// status to the signal although the kill failed (found by the long fuzz run).
#[test]
fn killing_a_process_that_has_just_exited_answers_success_or_esrch_and_keeps_its_status() {
    // A child exits with status 3; init kills it as soon as its PM_EXIT was answered. Whatever the
    // schedule (each seed is one), the kill either ended it (SIGTERM) or found it gone (0 or
    // ESRCH) and its status 3 stands.
    let mut wrong = Vec::new();
    for seed in 0..40 {
        let (_, lines) = observe_seeded(seed, |sys, log| {
            let asked = Arc::new(AtomicBool::new(false));
            let flag = asked.clone();
            let yields = (sys.proc().random_u64() % 4) as usize;
            let child = sys
                .fork(move |c| {
                    let _ = c.proc().sendrec(PM, Message::with(PM_EXIT, &ExitRequest { status: 3 }));
                    flag.store(true, Ordering::SeqCst);
                    for _ in 0..yields {
                        c.proc().yield_now();
                    }
                    c.proc().exit()
                })
                .unwrap();
            while !asked.load(Ordering::SeqCst) {
                sys.proc().yield_now();
            }
            let killed = sys.kill(child, sig::SIGTERM);
            let status = sys.waitpid(child, 0).map(|(_, s)| s);
            log.lock().unwrap().push(format!("{killed:?} {status:?}"));
        });
        let allowed = [
            format!("Ok(()) Ok({})", signal_status(sig::SIGTERM)),
            format!("Ok(()) Ok({})", exit_status(3)),
            format!("Err(ESRCH) Ok({})", exit_status(3)),
        ];
        if !lines.first().is_some_and(|l| allowed.contains(l)) {
            wrong.push((seed, lines));
        }
    }
    assert!(wrong.is_empty(), "seeds where kill or the status went wrong: {wrong:?}");
}

#[test]
fn the_fuzzer_steers_around_the_known_bugs_only() {
    // The generator's list of avoided bugs matches the ignored tests here: when a bug is fixed, its
    // entry goes and the fuzzer covers that ground again.
    assert!(fuzz::KNOWN_BUGS.is_empty(), "{:?}", fuzz::KNOWN_BUGS);
}

// ---- a second call while one is suspended --------------------------------------------------------

/// A process leaves a pipe read (or write) suspended in vfs by sending it without waiting for the
/// answer (`asynsend`, or `send`), then makes a second call that blocks on the pipe too. A real
/// process cannot be in two calls, but a hostile one can: vfs must refuse the second call (or
/// replace the first), not crash.
fn second_blocking_call(prim: Primitive, write: bool) -> (Vec<String>, Vec<String>, Vec<String>) {
    let config = MachineConfig {
        kernel: Config {
            engine: EngineKind::Sim,
            seed: 7,
            time_limit: 30_000_000,
            finish_after: Some(INIT),
            ..Config::default()
        },
        check_invariants: true,
        ..MachineConfig::default()
    };
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let l = log.clone();
    let mut m = boot(&config, move |sys| {
        let seen = l.clone();
        let child = sys
            .fork(move |c| {
                let (r, w) = c.pipe().unwrap();
                // A write blocks once the pipe is full.
                let (fd, len, access) = if write { (w, 3 * 4096, Access::Read) } else { (r, 16, Access::Write) };
                let p = c.proc();
                let grant = p.grant(VFS, SCRATCH, len, access);
                let first = send(
                    c,
                    VFS,
                    Message::with(if write { VFS_WRITE } else { VFS_READ }, &IoRequest { fd, grant, len }),
                    prim,
                );
                let second = if write { c.write(w, &[7u8; 3 * 4096]) } else { c.read(r, &mut [0u8; 4]) };
                seen.lock().unwrap().push(format!("first {first:?}, second {second:?}"));
                0
            })
            .unwrap();
        for _ in 0..SETTLE {
            sys.proc().yield_now();
        }
        let _ = sys.kill(child, sig::SIGKILL);
        let _ = sys.waitpid(child, 0);
        l.lock().unwrap().push(format!("vfs still serves: {:?}", sys.stat("/etc/motd").map(|s| s.size > 0)));
        0
    });
    let end = m.run().end;
    assert_eq!(end, RunEnd::Finished);
    let mut snap = Snapshot::take(&m);
    let violations = checker::check(&mut snap).iter().map(ToString::to_string).collect();
    let decisions = m.decisions.records().iter().map(ToString::to_string).collect();
    let lines = log.lock().unwrap().clone();
    (lines, decisions, violations)
}

/// One attack: what it does to the victim's descriptors `(read, write)`, and what it saw.
type DescriptorAttack = fn(&Sys<'_>, i32, i32) -> String;

/// Regression: vfs used to assert that a suspended process makes no call, so this crashed it
/// (found by the long fuzz run, seed 104299 with invariants off).
#[test]
fn a_second_blocking_call_while_one_is_suspended_is_refused_not_a_crash() {
    for prim in [Primitive::AsynSend, Primitive::Send] {
        for write in [false, true] {
            let (lines, decisions, violations) = second_blocking_call(prim, write);
            let what = format!("{} by {}", if write { "write" } else { "read" }, prim.name());
            assert!(decisions.is_empty(), "{what}: vfs died: {decisions:?}");
            assert!(violations.is_empty(), "{what}: {violations:?}");
            assert_eq!(lines.last().map(String::as_str), Some("vfs still serves: Ok(true)"), "{what}: {lines:?}");
            // The second call was refused with a plain errno (it never blocked, or the kill ended it).
            assert!(lines.len() == 1 || !lines[0].contains("ERECOVERED"), "{what}: {lines:?}");
        }
    }
}

/// A process leaves a pipe read suspended in vfs (sent with asynsend), then closes that very
/// descriptor — or points it elsewhere with dup2 — so the suspension names an open file that is
/// gone (and that a later open reuses).
fn close_under_a_suspended_read(second: fn(&Sys<'_>, i32, i32) -> String) -> (Vec<String>, Vec<String>, Vec<String>) {
    let config = MachineConfig {
        kernel: Config {
            engine: EngineKind::Sim,
            seed: 7,
            time_limit: 30_000_000,
            finish_after: Some(INIT),
            ..Config::default()
        },
        check_invariants: true,
        ..MachineConfig::default()
    };
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let l = log.clone();
    let mut m = boot(&config, move |sys| {
        let seen = l.clone();
        let child = sys
            .fork(move |c| {
                let (r, w) = c.pipe().unwrap();
                let grant = c.proc().grant(VFS, SCRATCH, 16, Access::Write);
                let first = c.proc().asynsend(VFS, Message::with(VFS_READ, &IoRequest { fd: r, grant, len: 16 }));
                let then = second(c, r, w);
                seen.lock().unwrap().push(format!("first {first:?}, then {then}"));
                0
            })
            .unwrap();
        for _ in 0..SETTLE {
            sys.proc().yield_now();
        }
        let _ = sys.kill(child, sig::SIGKILL);
        let _ = sys.waitpid(child, 0);
        l.lock().unwrap().push(format!("vfs still serves: {:?}", sys.stat("/etc/motd").map(|s| s.size > 0)));
        0
    });
    assert_eq!(m.run().end, RunEnd::Finished);
    let mut snap = Snapshot::take(&m);
    let violations = checker::check(&mut snap).iter().map(ToString::to_string).collect();
    let decisions = m.decisions.records().iter().map(ToString::to_string).collect();
    let lines = log.lock().unwrap().clone();
    (lines, decisions, violations)
}

#[test]
fn closing_the_descriptor_of_a_suspended_read_leaves_vfs_consistent() {
    let cases: [(&str, DescriptorAttack); 3] = [
        ("close it", |c, r, _| format!("{:?}", c.close(r))),
        ("close both ends, open a pipe again", |c, r, w| {
            format!(
                "{:?} {:?} {:?}",
                c.close(r),
                c.close(w),
                c.pipe().and_then(|(r2, w2)| c.write(w2, b"hi").map(|n| (r2, n)))
            )
        }),
        ("dup2 a file over it", |c, r, _| {
            format!("{:?}", c.open("/etc/motd", os::proto::vfs::flags::O_RDONLY, 0).and_then(|f| c.dup2(f, r)))
        }),
    ];
    for (what, second) in cases {
        let (lines, decisions, violations) = close_under_a_suspended_read(second);
        assert!(decisions.is_empty(), "{what}: vfs died: {decisions:?}");
        assert!(violations.is_empty(), "{what}: {violations:?}");
        assert_eq!(lines.last().map(String::as_str), Some("vfs still serves: Ok(true)"), "{what}: {lines:?}");
    }
}

/// A process leaves a read of a close-on-exec pipe suspended in vfs (sent with asynsend), then
/// execs: exec would close the very descriptor the read waits on, so vfs refuses it (EBUSY) as
/// it refuses any other call of a process with one suspended.
#[test]
fn exec_with_a_call_suspended_is_refused() {
    let config = MachineConfig {
        kernel: Config {
            engine: EngineKind::Sim,
            seed: 7,
            time_limit: 30_000_000,
            finish_after: Some(INIT),
            ..Config::default()
        },
        check_invariants: true,
        ..MachineConfig::default()
    };
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let l = log.clone();
    let mut m = boot(&config, move |sys| {
        let seen = l.clone();
        let child = sys
            .fork(move |c| {
                let (r, _w) = c.pipe2(os::proto::vfs::flags::O_CLOEXEC).unwrap();
                let grant = c.proc().grant(VFS, SCRATCH, 16, Access::Write);
                let first = c.proc().asynsend(VFS, Message::with(VFS_READ, &IoRequest { fd: r, grant, len: 16 }));
                let exec = c.exec("/bin/true", &["true"]);
                seen.lock().unwrap().push(format!("read sent {first:?}, exec {}", exec.name()));
                0
            })
            .unwrap();
        for _ in 0..SETTLE {
            sys.proc().yield_now();
        }
        let _ = sys.kill(child, sig::SIGKILL);
        let _ = sys.waitpid(child, 0);
        l.lock().unwrap().push(format!("vfs still serves: {:?}", sys.stat("/etc/motd").map(|s| s.size > 0)));
        0
    });
    assert_eq!(m.run().end, RunEnd::Finished);
    let violations: Vec<String> = checker::check(&mut Snapshot::take(&m)).iter().map(ToString::to_string).collect();
    assert!(m.decisions.records().is_empty(), "vfs died: {:?}", m.decisions.records());
    assert!(violations.is_empty(), "{violations:?}");
    assert_eq!(*log.lock().unwrap(), ["read sent Ok(()), exec EBUSY", "vfs still serves: Ok(true)"]);
}

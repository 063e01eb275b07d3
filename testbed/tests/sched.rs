//! sched end to end: it tracks pm's processes through fork (the nice value inherited) and exit,
//! takes setpriority's nice values, gives new quanta when the kernel says one ran out (the
//! process sinks a queue), refuses its calls from anyone but pm, is checked against pm by the
//! consistency checker (each invariant broken deliberately), and is recovered after a crash.

use kernel_sim::{Config, EngineKind, Manifest, Message};
use os::errno::Errno;
use os::proto::sched::*;
use os::proto::{INIT, SCHED, key_of};
use os::sched::state::{MIN_USER_Q, QUANTUM_ENTRIES, SchedProc, nice_to_priority};
use recovery::PolicyKind;
use std::sync::{Arc, Mutex, mpsc};
use testbed::boot::{DEFAULT_MANIFEST, MachineConfig, boot};
use testbed::checker::{self, Snapshot};
use testbed::run::{Outcome, RunSpec, execute};
use userland::workload::report::Recorder;

/// getpid calls the busy child makes: enough kernel entries for several quanta.
const BUSY_CALLS: u32 = 4 * QUANTUM_ENTRIES;
/// The nice value the busy child sets for itself.
const BUSY_NICE: i32 = 4;

/// A stopped system with a busy child of init (it used up several quanta, then blocks on a pipe
/// for ever) and the child's own child (forked after the nice change, blocked the same way);
/// init has exited.
fn stopped_with_a_busy_child() -> (Snapshot, kernel_sim::Endpoint) {
    let config = MachineConfig {
        kernel: Config { engine: EngineKind::Sim, seed: 9, time_limit: 30_000_000, ..Config::default() },
        ..MachineConfig::default()
    };
    let (tx, rx) = mpsc::channel();
    let mut machine = boot(&config, move |sys| {
        let (r, w) = sys.pipe().unwrap();
        let tx = tx.clone();
        sys.fork(move |c| {
            tx.send(c.proc().endpoint()).unwrap();
            c.setpriority(PRIO_PROCESS, 0, BUSY_NICE).unwrap();
            for _ in 0..BUSY_CALLS {
                c.getpid().unwrap();
            }
            let _ = c.fork(move |g| {
                let _ = g.read(r, &mut [0u8; 1]);
                0
            });
            let _ = c.read(r, &mut [0u8; 1]);
            0
        })
        .unwrap();
        let _ = w;
        0
    });
    machine.run();
    let busy = rx.recv().expect("the child ran");
    (Snapshot::take(&machine), busy)
}

#[test]
fn sched_tracks_fork_nice_and_quanta_and_the_checker_agrees() {
    let (mut s, busy) = stopped_with_a_busy_child();
    let violations = checker::check(&mut s);
    assert!(violations.is_empty(), "{violations:#?}");
    let sched = s.sched.as_mut().expect("sched left its state");
    let table: Vec<SchedProc> = sched.procs.iter().map(|(_, p)| p.clone()).collect();
    // init has exited (sched stopped it): the busy child and its child are left.
    assert_eq!(table.len(), 2, "the busy child and its child: {table:#?}");
    assert!(table.iter().all(|p| p.ep != INIT), "{table:#?}");
    let child = sched.procs.get(&key_of(busy)).cloned().expect("the busy child is scheduled");
    assert_eq!(child.nice, BUSY_NICE);
    // Each quantum it used up sank it a queue, from its nice value's, down to the lowest.
    let expected_min = (BUSY_CALLS / QUANTUM_ENTRIES).saturating_sub(1);
    assert!(child.expiries >= expected_min, "{child:?}: {expected_min} quanta used up at least");
    let sunk = (u32::from(nice_to_priority(BUSY_NICE)) + child.expiries).min(u32::from(MIN_USER_Q));
    assert_eq!(u32::from(child.priority), sunk, "{child:?}");
    // The grandchild inherited the nice value (not the sunk queue).
    let grandchild = table.iter().find(|p| p.ep != busy).expect("the grandchild");
    assert_eq!((grandchild.nice, grandchild.priority), (BUSY_NICE, nice_to_priority(BUSY_NICE)));
}

#[test]
fn after_the_posix_suite_sched_holds_nobody_and_the_checker_is_clean() {
    let config = MachineConfig {
        kernel: Config { engine: EngineKind::Sim, seed: 4, time_limit: 60_000_000, ..Config::default() },
        check_invariants: true,
        ..MachineConfig::default()
    };
    let recorder = Recorder::default();
    let rec = recorder.clone();
    let mut machine = boot(&config, move |sys| {
        userland::workload::posix::run(sys, &rec);
        0
    });
    machine.run();
    let report = recorder.report();
    assert!(report.ok(), "{report:?}");
    let mut s = Snapshot::take(&machine);
    let violations = checker::check(&mut s);
    assert!(violations.is_empty(), "{violations:#?}");
    // init exited last: sched stopped it too, and holds nothing.
    let table: Vec<SchedProc> = s.sched.as_mut().unwrap().procs.iter().map(|(_, p)| p.clone()).collect();
    assert!(table.is_empty(), "{table:#?}");
}

#[test]
fn the_checker_finds_each_broken_sched_invariant() {
    let names = |s: &mut Snapshot| {
        let mut v: Vec<&'static str> = checker::check(s).iter().map(|v| v.invariant).collect();
        v.sort();
        v.dedup();
        v
    };
    // A scheduled process sched forgot.
    let (mut s, busy) = stopped_with_a_busy_child();
    s.sched.as_mut().unwrap().procs.remove(&key_of(busy));
    assert_eq!(names(&mut s), ["sched.pm-process"]);
    // A process pm does not know.
    let (mut s, busy) = stopped_with_a_busy_child();
    let ghost = kernel_sim::Endpoint::new(busy.slot() + 100, 0);
    let entry = SchedProc { ep: ghost, nice: 0, priority: nice_to_priority(0), quantum: QUANTUM_ENTRIES, expiries: 0 };
    s.sched.as_mut().unwrap().procs.insert(key_of(ghost), entry);
    assert_eq!(names(&mut s), ["sched.pm-process"]);
    // A nice value out of range, a queue above what the nice value allows, a misfiled entry.
    let (mut s, busy) = stopped_with_a_busy_child();
    let procs = &mut s.sched.as_mut().unwrap().procs;
    let other = procs.iter().map(|(&k, _)| k).find(|&k| k != key_of(busy)).expect("the grandchild");
    let mut child = procs.get(&key_of(busy)).cloned().unwrap();
    child.nice = PRIO_MAX + 1;
    procs.insert(key_of(busy), child.clone());
    let mut grandchild = procs.get(&other).cloned().unwrap();
    grandchild.priority = 0;
    grandchild.quantum = 0;
    procs.insert(other, grandchild.clone());
    assert_eq!(names(&mut s), ["sched.nice-range", "sched.priority", "sched.quantum"]);
    let (mut s, busy) = stopped_with_a_busy_child();
    let procs = &mut s.sched.as_mut().unwrap().procs;
    let child = procs.get(&key_of(busy)).cloned().unwrap();
    procs.insert(key_of(busy) + 100, child);
    assert_eq!(names(&mut s), ["sched.pm-process", "sched.slot-key"]);
}

#[test]
fn only_pm_may_call_sched() {
    // A manifest that lets users reach sched: sched itself refuses them.
    let text =
        DEFAULT_MANIFEST.replace("    ipc pm vfs vm;\n", "    ipc pm vfs vm sched;\n    calls sched 0xA00..0xAFF;\n");
    assert_ne!(text, DEFAULT_MANIFEST);
    let manifest = Arc::new(Manifest::parse(&text, "sched-test.conf", &|_| None).unwrap());
    let config = MachineConfig {
        kernel: Config { engine: EngineKind::Sim, seed: 2, time_limit: 30_000_000, ..Config::default() },
        manifest,
        check_invariants: true,
        ..MachineConfig::default()
    };
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let mut machine = boot(&config, move |sys| {
        let me = sys.proc().endpoint();
        let calls = [
            Message::with(SCHED_START, &SchedStartRequest { proc: me, parent: me }),
            Message::with(SCHED_STOP, &SchedProcRequest { proc: me }),
            Message::with(SCHED_SET_NICE, &SchedNiceRequest { proc: me, nice: PRIO_MIN, privileged: true }),
            Message::with(SCHED_GET_NICE, &SchedProcRequest { proc: me }),
            Message::new(kernel_sim::msgtype::NOTIFY_MESSAGE),
        ];
        for m in calls {
            s.lock().unwrap().push(sys.call(SCHED, m).map(drop));
        }
        // Nothing changed: init's nice value is still the default.
        s.lock().unwrap().push(sys.getpriority(PRIO_PROCESS, 0).map(|n| assert_eq!(n, 0)));
        0
    });
    machine.run();
    let seen = seen.lock().unwrap().clone();
    let eperm = Err(Errno::EPERM);
    // The notification type is a notify's, not sendable as a call: the kernel denies it first.
    assert_eq!(seen[..4], [eperm, eperm, eperm, eperm]);
    assert!(seen[4].is_err(), "{seen:?}");
    assert_eq!(seen[5], Ok(()));
    let violations = checker::check(&mut Snapshot::take(&machine));
    assert!(violations.is_empty(), "{violations:#?}");
}

#[test]
fn a_crash_of_sched_is_recovered() {
    // sched_start at a fork, sched_kernel_notify when a quantum runs out (the suite's spinners).
    for fault in ["panic:sched:sched_start:after-ipc-1", "panic:sched:sched_kernel_notify:start"] {
        for policy in [PolicyKind::Table, PolicyKind::Srs] {
            let spec = RunSpec { policy, fault: Some(fault.parse().unwrap()), seed: 3, ..RunSpec::default() };
            let r = execute(&spec, testbed::boot::default_table(), userland::workload::posix::run);
            assert!(r.fault_fired, "{policy} {fault}: the fault fired");
            assert_eq!(r.outcome, Outcome::Recovered, "{policy} {fault}: {:#?} {:#?}", r.decisions, r.violations);
        }
    }
}

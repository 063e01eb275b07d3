//! The process flows end to end under both engines: fork, exit, wait, getpid, orphans.

use kernel_sim::{Config, EngineKind, RunEnd};
use os::errno::Errno;
use os::proto::pm::{WNOHANG, exit_status, sig, signal_status};
use std::sync::{Arc, Mutex};
use testbed::boot::{MachineConfig, boot};
use userland::libc::Sys;

fn machine(engine: EngineKind, seed: u64) -> MachineConfig {
    MachineConfig {
        kernel: Config { engine, seed, time_limit: 30_000_000, ..Config::default() },
        ..MachineConfig::default()
    }
}

fn run(engine: EngineKind, init: impl FnOnce(&Sys<'_>) -> i32 + Send + 'static) -> RunEnd {
    let mut m = boot(&machine(engine, 7), init);
    let report = m.run();
    report.end
}

#[test]
fn fork_exit_wait_under_both_engines() {
    for engine in [EngineKind::Sim, EngineKind::Threads] {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let end = run(engine, move |sys| {
            let me = sys.getpid().unwrap();
            s.lock().unwrap().push(format!("init pid {me}"));
            let mut kids = Vec::new();
            for code in 0..3 {
                kids.push(
                    sys.fork(move |child| {
                        assert_eq!(child.getppid().unwrap(), 1);
                        code + 40
                    })
                    .unwrap(),
                );
            }
            let mut statuses = Vec::new();
            for _ in 0..3 {
                let (pid, status) = sys.wait().unwrap();
                assert!(kids.contains(&pid));
                statuses.push(status);
            }
            statuses.sort();
            s.lock().unwrap().push(format!("{statuses:?}"));
            s.lock().unwrap().push(format!("no more: {:?}", sys.wait().err()));
            0
        });
        assert_eq!(end, RunEnd::Finished, "{engine}");
        assert_eq!(
            *seen.lock().unwrap(),
            [
                "init pid 1".to_string(),
                format!("{:?}", [exit_status(40), exit_status(41), exit_status(42)]),
                format!("no more: {:?}", Some(Errno::ECHILD)),
            ],
            "{engine}"
        );
    }
}

#[test]
fn wnohang_zombies_orphans_and_kill() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let end = run(EngineKind::Sim, move |sys| {
        let sleeper = sys
            .fork(|c| {
                // Blocks for ever in a wait on a child that never ends.
                let _ = c.fork(|cc| {
                    loop {
                        cc.getpid().unwrap();
                        cc.proc().yield_now();
                    }
                });
                let _ = c.wait();
                0
            })
            .unwrap();
        s.lock().unwrap().push(format!("nohang: {:?}", sys.waitpid(sleeper, WNOHANG).map(|r| r.0)));
        s.lock().unwrap().push(format!("kill: {:?}", sys.kill(sleeper, sig::SIGTERM)));
        let (pid, status) = sys.waitpid(sleeper, 0).unwrap();
        s.lock().unwrap().push(format!("reaped {} with {}", pid == sleeper, status == signal_status(sig::SIGTERM)));
        s.lock().unwrap().push(format!("stranger: {:?}", sys.waitpid(999, 0).err()));
        s.lock().unwrap().push(format!("bad signal: {:?}", sys.kill(sleeper, 99).err()));
        // The orphaned grandchild now belongs to init: kill it and reap it.
        let mut orphan = None;
        for pid in 2..20 {
            if pid != sleeper && sys.kill(pid, 0).is_ok() {
                orphan = Some(pid);
            }
        }
        let orphan = orphan.expect("the grandchild lives on");
        sys.kill(orphan, sig::SIGKILL).unwrap();
        let (pid, status) = sys.wait().unwrap();
        s.lock().unwrap().push(format!(
            "orphan reaped by init: {}, {}",
            pid == orphan,
            status == signal_status(sig::SIGKILL)
        ));
        0
    });
    assert_eq!(end, RunEnd::Finished);
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "nohang: Ok(0)",
            "kill: Ok(())",
            "reaped true with true",
            "stranger: Some(ECHILD)",
            "bad signal: Some(EINVAL)",
            "orphan reaped by init: true, true",
        ]
    );
}

#[test]
fn a_crashing_user_process_dies_of_sigsegv() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let end = run(EngineKind::Sim, move |sys| {
        sys.fork(|_| panic!("user bug")).unwrap();
        let (_, status) = sys.wait().unwrap();
        s.lock().unwrap().push(status == signal_status(sig::SIGSEGV));
        0
    });
    assert_eq!(end, RunEnd::Finished);
    assert_eq!(*seen.lock().unwrap(), [true]);
}

/// init ends while a child of its runs (a group signal killed it, or it returned early): the
/// child, when it exits later, has no parent left to wait for it, so pm frees its entry rather
/// than keeping a zombie nobody reaps. Before, the checker found `cleanup.pm` (pm kept 1 entry
/// after every process was gone): a campaign run where a failed setpgid let kill(0) take init.
#[test]
fn a_child_outliving_init_leaves_no_entry_behind() {
    use testbed::checker::{self, Snapshot};
    const CHILD_YIELDS: usize = 200;
    for engine in [EngineKind::Sim, EngineKind::Threads] {
        let mut m = boot(&machine(engine, 7), |sys| {
            let forked = sys.fork(|c| {
                for _ in 0..CHILD_YIELDS {
                    c.proc().yield_now();
                }
                let _ = c.getpid();
                0
            });
            i32::from(forked.is_err())
        });
        let report = m.run();
        assert_eq!(report.end, RunEnd::Finished, "{engine:?}");
        let mut snapshot = Snapshot::take(&m);
        let found: Vec<String> = checker::check(&mut snapshot).iter().map(|v| v.to_string()).collect();
        assert_eq!(found, Vec::<String>::new(), "{engine:?}");
    }
}

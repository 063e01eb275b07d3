//! Crash recovery end to end, for every policy, on the faults the recovery issue names: vm during
//! VM_FORK; pm in fork after vm answered; pm in getpid; mfs in write after blocks were allocated;
//! vfs in write after mfs wrote; hangs in vfs and mfs. Each case asserts the decision, what the requester saw, and the checker's
//! verdict (through the outcome). `table` and `srs` never leave the system inconsistent and
//! handle a transient fault's request again without anyone seeing the crash; the cases show
//! where `restart` and `rollback` damage the system and where `pessimistic` and `enhanced` halt.

use os::errno::Errno;
use recovery::PolicyKind::{self, *};
use testbed::boot::default_table;
use testbed::run::{Outcome, RunResult, RunSpec, execute};
use userland::libc::Sys;
use userland::workload::report::Recorder;

fn run(policy: PolicyKind, fault: &str, workload: fn(&Sys<'_>, &Recorder)) -> RunResult {
    let spec = RunSpec { policy, fault: Some(fault.parse().unwrap()), seed: 3, ..RunSpec::default() };
    let result = execute(&spec, default_table(), workload);
    assert!(result.fault_fired, "{policy} {fault}: the fault never fired: {result:#?}");
    result
}

fn decision(r: &RunResult) -> &str {
    r.decisions.first().map_or("none taken", |d| d.decision.label())
}

/// Fork a child that exits 3, wait for it; report what fork said; then check that vm still knows
/// this process's memory (a fresh vm forgot it).
fn fork_and_wait(sys: &Sys<'_>, rec: &Recorder) {
    match sys.fork(|_| 3) {
        Ok(pid) => {
            let waited = sys.waitpid(pid, 0);
            rec.check("wait", waited.is_ok(), || format!("{waited:?}"));
            rec.count("fork-ok", 1);
        }
        Err(e) => {
            rec.count(&format!("fork-{}", e.name()), 1);
        }
    }
    let pages = sys.vm_info().map(|i| i.caller_pages);
    rec.check("vm knows init's memory", pages.as_ref().is_ok_and(|&p| p > 0), || format!("{pages:?}"));
}

fn expect(
    policy: PolicyKind,
    fault: &str,
    workload: fn(&Sys<'_>, &Recorder),
    outcome: Outcome,
    decided: &str,
) -> RunResult {
    let r = run(policy, fault, workload);
    assert_eq!(
        (r.outcome, decision(&r)),
        (outcome, decided),
        "{policy} on {fault}:\n{:#?}\n{:#?}",
        r.decisions,
        r.violations
    );
    r
}

#[test]
fn vm_crashes_in_vm_fork_before_doing_anything() {
    let fault = "panic:vm:vm_fork:start";
    expect(None, fault, fork_and_wait, Outcome::Crash, "leave-dead");
    // pm's request is a step of fork's protocol: every recovering policy has vm handle it again.
    // A fresh vm forgot every address space: init's memory is gone from vm's books (the frames it
    // uses are "free" to vm) — damage the workload sees.
    let restart = expect(Restart, fault, fork_and_wait, Outcome::WorkloadFailed, "restart+reprocess");
    assert!(
        restart.workload.failures.iter().any(|f| f.starts_with("vm knows init's memory")),
        "{:?}",
        restart.workload
    );
    for (policy, label) in [
        (Rollback, "rollback+reprocess"),
        (Pessimistic, "rollback+reprocess"),
        (Enhanced, "rollback+reprocess"),
        (Table, "rollback+replay"),
        (Srs, "suppress+replay"),
    ] {
        let r = expect(policy, fault, fork_and_wait, Outcome::Recovered, label);
        // Nobody saw the crash: init's fork went through.
        assert_eq!(r.workload.counters.get("fork-ok"), Some(&1), "{policy}: {:?}", r.workload);
        assert!(r.workload.ok(), "{policy}: {:?}", r.workload);
    }
}

#[test]
fn vm_crashes_in_vm_fork_after_the_kernel_made_the_child() {
    let fault = "panic:vm:vm_fork:after-ipc-1";
    // Blind rollback and reprocessing asks the kernel for the child a second time.
    let rollback = expect(Rollback, fault, fork_and_wait, Outcome::Inconsistent, "rollback+reprocess");
    assert!(!rollback.violations.is_empty());
    expect(Pessimistic, fault, fork_and_wait, Outcome::FailStop, "fail-stop");
    expect(Enhanced, fault, fork_and_wait, Outcome::FailStop, "fail-stop");
    // table and srs replay the kernel's answer (the child it made) instead of forking again.
    for (policy, label) in [(Table, "rollback+replay"), (Srs, "suppress+replay")] {
        let r = expect(policy, fault, fork_and_wait, Outcome::Recovered, label);
        assert_eq!(r.workload.counters.get("fork-ok"), Some(&1), "{policy}: {:?}", r.workload);
        let reason = r.decisions[0].decision.reason();
        assert!(reason.contains("table row vm/vm_fork") && reason.contains("nothing sent twice"), "{reason}");
    }
}

#[test]
fn pm_crashes_in_fork_after_vm_answered() {
    let fault = "panic:pm:fork:after-ipc-1";
    expect(None, fault, fork_and_wait, Outcome::Crash, "leave-dead");
    // vm built the child; pm's fresh or rolled-back state does not know it: silent damage.
    let restart = expect(Restart, fault, fork_and_wait, Outcome::Inconsistent, "restart");
    assert!(restart.violations.iter().any(|v| v.invariant == "pm.kernel-process"), "{:#?}", restart.violations);
    let rollback = expect(Rollback, fault, fork_and_wait, Outcome::Inconsistent, "rollback");
    assert!(rollback.violations.iter().any(|v| v.invariant == "pm.kernel-process"), "{:#?}", rollback.violations);
    expect(Pessimistic, fault, fork_and_wait, Outcome::FailStop, "fail-stop");
    expect(Enhanced, fault, fork_and_wait, Outcome::FailStop, "fail-stop");
    // The fork is handled again with vm's answer replayed: the same child, made once.
    for (policy, label) in [(Table, "rollback+replay"), (Srs, "suppress+replay")] {
        let r = expect(policy, fault, fork_and_wait, Outcome::Recovered, label);
        assert_eq!(r.workload.counters.get("fork-ok"), Some(&1), "{policy}: {:?}", r.workload);
        assert!(r.workload.ok(), "{policy}: {:?}", r.workload);
    }
}

/// getpid twice; the first is the fault's target.
fn getpid_twice(sys: &Sys<'_>, rec: &Recorder) {
    let first = sys.getpid();
    rec.count(&format!("first-{}", first.map_or_else(|e| e.name().to_string(), |p| p.to_string())), 1);
    rec.expect_eq("second getpid", sys.getpid(), Ok(1));
}

#[test]
fn pm_crashes_in_getpid() {
    // The first getpid of the run is the boot probe; the workload's first is the second.
    let fault = "panic:pm:getpid:start:2";
    expect(None, fault, getpid_twice, Outcome::Crash, "leave-dead");
    for (policy, label) in [(Restart, "restart"), (Rollback, "rollback"), (Pessimistic, "rollback")] {
        let r = expect(policy, fault, getpid_twice, Outcome::Recovered, label);
        assert_eq!(r.workload.counters.get("first-ERECOVERED"), Some(&1), "{policy}: the requester saw the error");
        assert!(r.workload.ok(), "{policy}: pm answers again after recovery: {:?}", r.workload);
    }
    // Handled again: the caller gets its pid and never learns of the crash.
    for (policy, label) in [(Enhanced, "rollback+reprocess"), (Table, "rollback+replay"), (Srs, "suppress+replay")] {
        let r = expect(policy, fault, getpid_twice, Outcome::Recovered, label);
        assert_eq!(r.workload.counters.get("first-1"), Some(&1), "{policy}: {:?}", r.workload);
        assert!(r.workload.ok(), "{policy}: {:?}", r.workload);
    }
    let table = run(Table, fault, getpid_twice);
    assert!(table.decisions[0].decision.reason().contains("class R"), "{}", table.decisions[0].decision.reason());
}

#[test]
fn errors_the_requester_sees_are_errnos() {
    assert_eq!(Errno::ERECOVERED.status(), -320);
}

/// Write 3,000 bytes into a new file (retrying once if the write was dropped by a recovered
/// crash), read them back, clean up.
fn write_file(sys: &Sys<'_>, rec: &Recorder) {
    use os::proto::vfs::flags::{O_CREAT, O_RDWR};
    let Ok(fd) = sys.open("/tmp/data", O_CREAT | O_RDWR, 0o644) else {
        rec.check("open", false, || "open failed".into());
        return;
    };
    let data: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    let first = sys.write(fd, &data);
    rec.count(&format!("first-write-{}", first.as_ref().map_or_else(|e| e.name().to_string(), |n| n.to_string())), 1);
    if first.is_err() {
        rec.expect_eq("second write", sys.write(fd, &data), Ok(3000));
    }
    rec.expect_eq("rewind", sys.lseek(fd, 0, os::proto::vfs::whence::SEEK_SET), Ok(0));
    let mut back = vec![0u8; 3000];
    rec.expect_eq("read back", sys.read(fd, &mut back), Ok(3000));
    rec.check("contents", back == data, || "the file's bytes differ".into());
    rec.expect_eq("close", sys.close(fd), Ok(()));
    rec.expect_eq("unlink", sys.unlink("/tmp/data"), Ok(()));
}

#[test]
fn mfs_crashes_in_write_after_blocks_were_allocated() {
    // A 3,000-byte write into a new file: mfs pops three blocks off its free list, then writes
    // the inode. mfs's request comes from vfs, a step of a protocol: every recovering policy
    // handles it again rather than answer vfs an error.
    let fault = "panic:mfs:req_write:before-write-4";
    expect(None, fault, write_file, Outcome::Crash, "leave-dead");
    // A fresh mfs rebuilt the boot tree: the file vfs holds open is gone, and so are the
    // references vfs's vnodes hold (the root's among them). vfs finds out when it gives one back
    // and mfs refuses it: it asserts the counts agree, crashes in turn and starts fresh too, so
    // the workload, not silent damage, shows the lost state.
    let restart = expect(Restart, fault, write_file, Outcome::WorkloadFailed, "restart+reprocess");
    let vfs_saw = restart.decisions.iter().any(|d| d.server == "vfs" && d.message.contains("counts disagree"));
    assert!(vfs_saw, "{:#?}", restart.decisions);
    for (policy, label) in [
        (Rollback, "rollback+reprocess"),
        (Pessimistic, "rollback+reprocess"),
        (Enhanced, "rollback+reprocess"),
        (Table, "rollback+replay"),
        (Srs, "suppress+replay"),
    ] {
        let r = expect(policy, fault, write_file, Outcome::Recovered, label);
        assert_eq!(r.workload.counters.get("first-write-3000"), Some(&1), "{policy}: the write went through");
        assert!(r.workload.ok(), "{policy}: the read-back holds: {:?}", r.workload);
    }
    // SRS: the crashed write's block allocations became suspects; handling it again read the
    // free list (restoring) or overwrote entries (cleansing).
    let srs = run(Srs, fault, write_file);
    let c = &srs.srs["mfs"];
    assert!(c.suspects_created > 0 && c.restored() + c.self_cleansed > 0, "{c:?}");
}

#[test]
fn vfs_crashes_in_write_after_mfs_wrote_the_file() {
    // vfs dies after mfs answered its REQ_WRITE, before it moved the offset and its size cache.
    let fault = "panic:vfs:write:after-ipc-1";
    expect(None, fault, write_file, Outcome::Crash, "leave-dead");
    // A fresh vfs forgot init's open file: the rest of the workload gets wrong answers.
    let restart = expect(Restart, fault, write_file, Outcome::WorkloadFailed, "restart");
    assert!(restart.workload.failures.iter().any(|f| f.contains("EBADF")), "{:?}", restart.workload);
    // Rolled back, vfs answers the writer an error; its retry writes the same bytes again.
    let r = expect(Rollback, fault, write_file, Outcome::Recovered, "rollback");
    assert_eq!(r.workload.counters.get("first-write-ERECOVERED"), Some(&1), "the writer saw the error");
    assert!(r.workload.ok(), "the retried write and the read-back hold: {:?}", r.workload);
    // mfs's state changed for this request: the window is closed, a halt is the safe choice,
    // and the checker sees vfs's size cache behind mfs's file.
    for policy in [Pessimistic, Enhanced] {
        let r = expect(policy, fault, write_file, Outcome::FailStop, "fail-stop");
        assert!(r.violations.iter().any(|v| v.invariant == "vfs-mfs.vnode-cache"), "{policy}: {:?}", r.violations);
    }
    // Handled again with the log of what it sent: mfs's answer is replayed, not asked twice.
    for (policy, label) in [(Table, "rollback+replay"), (Srs, "suppress+replay")] {
        let r = expect(policy, fault, write_file, Outcome::Recovered, label);
        assert_eq!(r.workload.counters.get("first-write-3000"), Some(&1), "{policy}: the write went through");
        assert!(r.workload.ok(), "{policy}: the read-back holds: {:?}", r.workload);
    }
}

#[test]
fn mfs_hangs_in_write_and_heartbeats_find_it() {
    let fault = "hang:mfs:req_write:start";
    expect(None, fault, write_file, Outcome::Crash, "leave-dead");
    for (policy, label) in [(Rollback, "rollback+reprocess"), (Table, "rollback+replay"), (Srs, "suppress+replay")] {
        let r = expect(policy, fault, write_file, Outcome::Recovered, label);
        assert_eq!(r.decisions[0].cause, "hang", "{policy}: rs found it by its heartbeats");
        assert!(r.workload.ok(), "{policy}: {:?}", r.workload);
    }
}

#[test]
fn vfs_hangs_in_write_and_heartbeats_find_it() {
    let fault = "hang:vfs:write:start";
    expect(None, fault, write_file, Outcome::Crash, "leave-dead");
    expect(Restart, fault, write_file, Outcome::WorkloadFailed, "restart");
    for (policy, label) in [
        (Rollback, "rollback"),
        (Pessimistic, "rollback"),
        (Enhanced, "rollback+reprocess"),
        (Table, "rollback+replay"),
        (Srs, "suppress+replay"),
    ] {
        let r = expect(policy, fault, write_file, Outcome::Recovered, label);
        let d = &r.decisions[0];
        assert_eq!(d.cause, "hang", "{policy}: rs found it by its heartbeats");
        // Found after two missed periods of 1 s, not at once.
        assert!(d.time >= 2_000_000, "{policy}: detected at {} us", d.time);
    }
}

#[test]
fn a_server_hung_while_finishing_inits_exit_is_still_found() {
    // Regression: the run used to end (init gone, nothing runnable) before the heartbeats found
    // the hang, leaving pm's state nowhere.
    let r = run(Table, "hang:pm:vfs_pm_exit_reply:end", |_, _| {});
    assert_eq!(r.decisions.first().map(|d| d.cause.as_str()), Some("hang"), "{:#?}", r.decisions);
    assert_ne!(r.outcome, Outcome::Inconsistent, "{:#?}", r.violations);
}

/// Every request one server sends another: each server's entry points that users may not call
/// (the manifest's user call masks) and that the kernel does not send (its notifications).
fn server_to_server_requests() -> Vec<(String, String)> {
    let user_calls = &testbed::boot::default_manifest().user.calls;
    default_table()
        .rows
        .iter()
        .filter(|r| r.call != "kernel_notify")
        .filter(|r| !user_calls.get(&r.server).is_some_and(|calls| calls.contains(r.m_type)))
        .map(|r| (r.server.clone(), r.call.clone()))
        .collect()
}

#[test]
fn a_crash_on_any_servers_request_ends_with_the_sender_answered_under_every_recovering_policy() {
    let requests = server_to_server_requests();
    assert!(requests.len() >= 10, "{requests:?}");
    let manifest = testbed::boot::default_manifest();
    let mut never_made = Vec::new();
    for (server, call) in &requests {
        for policy in [Restart, Rollback, Pessimistic, Enhanced, Table, Srs] {
            let fault = format!("panic:{server}:{call}:start");
            let spec = RunSpec { policy, fault: Some(fault.parse().unwrap()), seed: 5, ..RunSpec::default() };
            let r = execute(&spec, default_table(), userland::workload::posix::run);
            if !r.fault_fired {
                never_made.push(format!("{server}:{call}"));
                continue;
            }
            // The sender is in the middle of a protocol: it is never answered an error and left
            // waiting; the request is handled again (or, by a driver back under a new endpoint,
            // sent again by the sender) and the system goes on to the workload's end.
            let d = decision(&r);
            let stateful = manifest.services.iter().any(|s| s.name == *server && s.stateful);
            match stateful {
                true => assert!(d.ends_with("+reprocess") || d.ends_with("+replay"), "{policy} on {fault}: {d}"),
                false => assert!(d.ends_with("+resend"), "{policy} on {fault}: {d}"),
            }
            // A fresh incarnation forgot the protocol the request is a step of (pm forgot the fork
            // vfs answers): the system may hang then, and `restart` is measured by that.
            if policy != Restart {
                assert_ne!(r.outcome, Outcome::Crash, "{policy} on {fault}: the system hung: {:#?}", r.decisions);
            }
            if matches!(policy, Table | Srs) {
                assert_eq!(r.outcome, Outcome::Recovered, "{policy} on {fault}: {:#?}", r.violations);
                assert!(r.workload.ok(), "{policy} on {fault}: {:?}", r.workload);
            }
        }
    }
    never_made.dedup();
    // The suite never reboots the system (so mfs never unmounts: no bdev_close, no
    // req_unmount); among ds's calls only mfs's lookup of its disk's driver (retrieve, subscribe)
    // is made (testbed/tests/ds.rs makes each call, testbed/tests/mfs.rs reboots).
    assert_eq!(
        never_made,
        [
            "ds:ds_delete",
            "ds:ds_check",
            "memdisk:bdev_close",
            "mfs:req_unmount",
            "pm:vfs_pm_reboot_reply",
            "vfs:pm_vfs_reboot"
        ],
        "requests the POSIX suite does not make"
    );
}

#[test]
fn every_panic_fault_that_fires_crashes_its_server() {
    // A fault counts as fired only where it changed the execution: a panic at any site the
    // golden run executed (the reply site included) kills the server it is in.
    let golden = RunSpec { profile: true, ..RunSpec::default() };
    let profile = execute(&golden, default_table(), userland::workload::posix::run).profile.expect("profiled");
    assert!(profile.sites.len() > 100, "{} sites", profile.sites.len());
    let reply_sites = profile.sites.keys().filter(|s| s.location.starts_with("os/src/task.rs")).count();
    assert!(reply_sites > 0, "the reply site is a panic candidate");
    for site in profile.sites.keys() {
        let fault = format!("panic@{}:{}:{}#1", site.server, site.handler, site.location);
        let spec = RunSpec { policy: None, fault: Some(fault.parse().unwrap()), ..RunSpec::default() };
        let r = execute(&spec, default_table(), userland::workload::posix::run);
        assert!(r.fault_fired, "{fault} never fired though the golden run executed it");
        assert!(
            r.decisions.iter().any(|d| d.server == site.server && d.cause == "crash"),
            "{fault} fired without crashing {}: {:#?}",
            site.server,
            r.decisions
        );
    }
}

/// A fork whose child execs `/bin/true`, twice, each waited for; a call refused (a persistent
/// fault's error answer) is the workload's to survive, not a failure of the system.
fn fork_exec_twice(sys: &Sys<'_>, _rec: &Recorder) {
    for _ in 0..2 {
        if let Ok(pid) = sys.fork(|c| {
            c.exec("/bin/true", &["true"]);
            127
        }) {
            let _ = sys.waitpid(pid, 0);
        }
    }
}

#[test]
fn fork_and_exec_crashed_at_every_point_leave_the_system_clean_under_table() {
    // Every site fork and exec (and their protocol steps in pm, vm and vfs) executed in a fault-free
    // run, crashed once (transient, under the POSIX suite) and at every later execution
    // (persistent, under two forks and execs: the suite forks more often than pm's restart
    // intensity lets a server crash, so there every persistent fault ends in fail-stop): the table
    // policy replays, or gives the request up, undoing what it sent, or halts; the checker never
    // finds a running system damaged, and a recovered one is clean.
    const STEPS: [&str; 8] = [
        "fork",
        "exec",
        "vfs_pm_fork_reply",
        "vfs_pm_exec_reply",
        "vm_fork",
        "vm_exec_newmem",
        "pm_vfs_fork",
        "pm_vfs_exec",
    ];
    let mut outcomes = std::collections::BTreeMap::new();
    type Workload = fn(&Sys<'_>, &Recorder);
    let workloads: [(&str, Workload); 2] = [("", userland::workload::posix::run), ("+", fork_exec_twice)];
    for (persistence, workload) in workloads {
        let golden = RunSpec { profile: true, ..RunSpec::default() };
        let profile = execute(&golden, default_table(), workload).profile.expect("profiled");
        let sites: Vec<_> = profile.sites.keys().filter(|s| STEPS.contains(&s.handler.as_str())).collect();
        assert!(sites.len() >= 20, "{} sites", sites.len());
        for site in sites {
            let fault = format!("panic@{}:{}:{}#1{persistence}", site.server, site.handler, site.location);
            let spec = RunSpec { policy: Table, fault: Some(fault.parse().unwrap()), ..RunSpec::default() };
            let r = execute(&spec, default_table(), workload);
            assert!(r.fault_fired, "{fault}");
            assert_ne!(r.outcome, Outcome::Inconsistent, "{fault}: {:#?}", r.violations);
            assert_ne!(r.outcome, Outcome::Crash, "{fault}: {:#?}", r.decisions);
            if r.outcome == Outcome::Recovered {
                assert!(r.violations.is_empty(), "{fault}: {:#?}", r.violations);
            }
            if persistence.is_empty() {
                assert_eq!(
                    r.outcome,
                    Outcome::Recovered,
                    "{fault}: a transient fault is handled again: {:#?}",
                    r.decisions
                );
                assert!(r.workload.ok(), "{fault}: nobody saw the crash: {:?}", r.workload);
            }
            *outcomes.entry((persistence, r.outcome)).or_insert(0) += 1;
        }
    }
    // Some persistent faults are given up with an error answer and their sends undone.
    assert!(outcomes.get(&("+", Outcome::Recovered)).is_some_and(|&n| n > 0), "{outcomes:?}");
}

/// A child writes into a pipe after a while; the parent waits for it in poll, then polls the
/// drained pipe until its timeout.
fn poll_a_pipe(sys: &Sys<'_>, rec: &Recorder) {
    use os::proto::vfs::poll::POLLIN;
    use userland::libc::PollFd;
    const CHILD_DELAY_YIELDS: usize = 50;
    let Ok((r, w)) = sys.pipe() else {
        rec.check("pipe", false, String::new);
        return;
    };
    let child = sys.fork(move |c| {
        for _ in 0..CHILD_DELAY_YIELDS {
            c.proc().yield_now();
        }
        i32::from(c.write(w, b"x") != Ok(1))
    });
    let mut fds = [PollFd::new(r, POLLIN)];
    match sys.poll(&mut fds, 1_000) {
        Ok(n) => rec.count(&format!("poll-{n}"), 1),
        Err(e) => rec.count(&format!("poll-{}", e.name()), 1),
    }
    let read = sys.read(r, &mut [0; 1]);
    rec.check("read", read == Ok(1), || format!("{read:?}"));
    let timed_out = sys.poll(&mut fds, 10);
    rec.check("timeout", timed_out == Ok(0), || format!("{timed_out:?}"));
    if let Ok(pid) = child {
        let waited = sys.waitpid(pid, 0);
        rec.check("child", waited.is_ok_and(|(_, s)| s == 0), || format!("{waited:?}"));
    }
    let _ = (sys.close(r), sys.close(w));
}

#[test]
fn vfs_crashes_in_a_poll_that_suspended_and_in_its_alarm() {
    // The crash comes after the poll armed vfs's alarm and suspended its caller.
    let fault = "panic:vfs:poll:end";
    expect(None, fault, poll_a_pipe, Outcome::Crash, "leave-dead");
    for (policy, label) in [(Table, "rollback+replay"), (Srs, "suppress+replay")] {
        let r = expect(policy, fault, poll_a_pipe, Outcome::Recovered, label);
        assert_eq!(
            r.workload.counters.get("poll-1"),
            Some(&1),
            "{policy}: the poll was handled again: {:?}",
            r.workload
        );
        assert!(r.workload.ok(), "{policy}: {:?}", r.workload);
    }
    // The alarm that ends the second poll: a notification from the kernel, handled again.
    let fault = "panic:vfs:vfs_notify:start";
    for (policy, label) in [(Table, "rollback+replay"), (Srs, "suppress+replay")] {
        let r = expect(policy, fault, poll_a_pipe, Outcome::Recovered, label);
        assert!(r.workload.ok(), "{policy}: the timed-out poll was answered: {:?}", r.workload);
    }
}

/// The parent holds an exclusive flock; a child waits for it with its own open file and gets it
/// once the parent closes.
fn wait_for_a_flock(sys: &Sys<'_>, rec: &Recorder) {
    use os::proto::vfs::flags::{O_CREAT, O_RDONLY, O_RDWR};
    use os::proto::vfs::flock::{LOCK_EX, LOCK_SH};
    const HOLD_YIELDS: usize = 50;
    let Ok(held) = sys.open("/tmp/lock", O_CREAT | O_RDWR, 0o644) else {
        rec.check("open", false, String::new);
        return;
    };
    let locked = sys.flock(held, LOCK_EX);
    rec.check("lock", locked.is_ok(), || format!("{locked:?}"));
    let child = sys.fork(move |c| {
        let _ = c.close(held);
        match c.open("/tmp/lock", O_RDONLY, 0).and_then(|mine| c.flock(mine, LOCK_SH)) {
            Ok(()) => 0,
            Err(Errno::ERECOVERED) => 2,
            Err(_) => 1,
        }
    });
    for _ in 0..HOLD_YIELDS {
        sys.proc().yield_now();
    }
    let _ = sys.close(held);
    if let Ok(pid) = child {
        let waited = sys.waitpid(pid, 0);
        rec.check("child locked", waited.is_ok_and(|(_, s)| s == 0), || format!("{waited:?}"));
    }
    let _ = sys.unlink("/tmp/lock");
}

#[test]
fn vfs_crashes_in_a_flock_that_waits() {
    // The crash comes after the child's flock was suspended: handled again, it waits again and is
    // granted when the parent closes.
    let fault = "panic:vfs:flock:end:2";
    expect(None, fault, wait_for_a_flock, Outcome::Crash, "leave-dead");
    for (policy, label) in [(Table, "rollback+replay"), (Srs, "suppress+replay")] {
        let r = expect(policy, fault, wait_for_a_flock, Outcome::Recovered, label);
        assert!(r.workload.ok(), "{policy}: {:?}", r.workload);
    }
}

/// A fault that sends a handler round a loop for ever (pm's timer index keeps a timer whose
/// entry the skipped write never cleared, so firing it never removes it) is ended as a crash of
/// the server, and the run ends; before, the machine spun inside pm and never stopped.
#[test]
fn a_request_caught_in_an_endless_loop_is_ended_as_a_crash() {
    let source =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../os/src/pm/state.rs")).expect("pm's state");
    let line = 1 + source
        .lines()
        .position(|l| {
            l.contains("let sigs = self.sigs.get_mut_global(key).expect(\"a timed entry has signal state\");")
        })
        .expect("set_timer's write of the signal state");
    let fault = format!("skip-write@pm:setitimer:os/src/pm/state.rs:{line}#3");
    let spec = RunSpec { seed: 7, policy: Restart, fault: Some(fault.parse().unwrap()), ..RunSpec::default() };
    let workload = userland::workload::Workload::Posix.prepare().unwrap();
    let r = execute(&spec, default_table(), move |sys, rec| workload.run(sys, rec));
    assert!(r.fault_fired, "{fault}");
    let d = &r.decisions[0];
    assert_eq!(d.server, "pm");
    assert!(d.to_string().contains("runaway request"), "{d}");
}

#[test]
fn vfs_crashing_in_open_after_mfs_took_the_reference_is_replayed_or_shows_the_leak() {
    // open's lookup gave vfs a reference on the file (mfs counts it); vfs dies before its vnode
    // holds it. Handled again with the log, the lookup's answer is replayed: mfs is not asked
    // twice and counts one reference for one vnode. A halt leaves the reference nobody holds,
    // and the checker names it.
    let fault = "panic:vfs:open:after-ipc-1";
    for (policy, label) in [(Table, "rollback+replay"), (Srs, "suppress+replay")] {
        let spec = RunSpec { policy, fault: Some(fault.parse().unwrap()), seed: 5, ..RunSpec::default() };
        let r = execute(&spec, default_table(), userland::workload::posix::run);
        assert!(r.fault_fired);
        assert_eq!((r.outcome, decision(&r)), (Outcome::Recovered, label), "{policy}: {:#?}", r.violations);
        assert!(r.workload.ok(), "{policy}: {:?}", r.workload);
    }
    let spec = RunSpec { policy: Enhanced, fault: Some(fault.parse().unwrap()), seed: 5, ..RunSpec::default() };
    let r = execute(&spec, default_table(), userland::workload::posix::run);
    assert_eq!(decision(&r), "fail-stop");
    assert!(r.violations.iter().any(|v| v.invariant == "vfs-mfs.inode-refs"), "{:#?}", r.violations);
}

/// A periodic ITIMER_REAL with a caught SIGALRM; the program waits for three of its rings in
/// sigsuspend, then stops the timer.
fn three_ticks_of_a_periodic_timer(sys: &Sys<'_>, rec: &Recorder) {
    use os::proto::pm::{ITIMER_REAL, sig};
    use userland::libc::{Itimer, SigAction, count_handler_run, handler_runs};
    const PERIOD_US: u64 = 10_000;
    const TICKS: u32 = 3;
    let action = SigAction::Handler { handler: count_handler_run, mask: 0, flags: 0 };
    let caught = sys.sigaction(sig::SIGALRM, Some(action));
    rec.check("sigaction", caught.is_ok(), || format!("{caught:?}"));
    let set = sys.setitimer(ITIMER_REAL, Itimer { value_us: PERIOD_US, interval_us: PERIOD_US });
    rec.check("setitimer", set.is_ok(), || format!("{set:?}"));
    for _ in 0..TICKS {
        let woken = sys.sigsuspend(0);
        rec.check("sigsuspend", woken == Errno::EINTR, || format!("{woken:?}"));
    }
    let ran = handler_runs(sys);
    rec.check("handler ran per tick", ran == Ok(TICKS), || format!("{ran:?}"));
    let stopped = sys.setitimer(ITIMER_REAL, Itimer { value_us: 0, interval_us: 0 });
    rec.check("stop", stopped.is_ok(), || format!("{stopped:?}"));
}

#[test]
fn pm_crashing_while_its_alarm_is_set_sets_it_again_in_the_next_incarnation() {
    // The first tick's sigreturn crashes pm after the tick re-armed pm's kernel alarm for the
    // next one. The kernel cancels a process's alarm at its end: without the new incarnation
    // setting it again from its timers, the next sigsuspend waited for ever (a hung system).
    let fault = "panic:pm:sigreturn:start:1";
    for (policy, label) in [(Table, "rollback+replay"), (Srs, "suppress+replay"), (Rollback, "rollback")] {
        let r = expect(policy, fault, three_ticks_of_a_periodic_timer, Outcome::Recovered, label);
        if policy != Rollback {
            assert!(r.workload.ok(), "{policy}: {:?}", r.workload);
        }
    }
    // Persistent: every sigreturn crashes, is given up with an error answer, and the ticks go on.
    let r = run(Table, "panic:pm:sigreturn:start:1+", three_ticks_of_a_periodic_timer);
    assert_ne!(r.outcome, Outcome::Crash, "{:#?}", r.decisions);
}

/// Persistent faults that make one call fail for good, each of whose failure left the POSIX suite
/// waiting for ever on what the failed call was to bring (a pipe's bytes, a timer's signal, a
/// continued child, a released lock, a hang-up): the run was counted a hung system (`crash`)
/// though every server ran on. The suite now does not wait on a cause that failed, so the user
/// sees the error answers and the run ends.
#[test]
fn a_call_failing_for_good_does_not_leave_the_posix_suite_waiting_for_ever() {
    let workload = userland::workload::Workload::Posix.prepare().unwrap();
    let source =
        |file: &str| std::fs::read_to_string(format!("{}/../os/src/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let line_of = |file: &str, text: &str| 1 + source(file).lines().position(|l| l.contains(text)).expect(text);
    let flock_release = line_of("vfs/flock.rs", "ctx.state.flocks.set(id as usize, None);");
    let pipe_write = line_of(
        "vfs/pipe.rs",
        "let data = ctx.state.pipe_bufs.get_mut(ino as usize).expect(\"a vnode has a buffer\");",
    );
    for fault in [
        // Every pipe write fails: the poll test's child never writes.
        format!("panic@vfs:write:os/src/vfs/pipe.rs:{pipe_write}#1+"),
        // Every setitimer fails: the timer tests' sigsuspend would wait for no timer.
        "panic:pm:setitimer:start:3+".to_string(),
        // Every SIGCONT (and SIGKILL) fails from the stop test on: its child stays stopped.
        "panic:pm:kill:start:1+".to_string(),
        // Every close that would release a flock fails: the child waits for the lock.
        format!("hang@vfs:close:os/src/vfs/flock.rs:{flock_release}#1+"),
    ] {
        let spec = RunSpec { seed: 3, policy: Table, fault: Some(fault.parse().unwrap()), ..RunSpec::default() };
        let workload = workload.clone();
        let r = execute(&spec, default_table(), move |sys, rec| workload.run(sys, rec));
        assert!(r.fault_fired, "{fault}");
        // An error the user saw (explained by the recovery or not), or a halt when the crashes
        // pass the restart intensity: never the time limit with every server idle.
        assert!(
            matches!(r.outcome, Outcome::WorkloadFailed | Outcome::FailStop | Outcome::Recovered),
            "{fault}: {:?} {:?} {:#?}",
            r.outcome,
            r.end,
            r.workload
        );
    }
}

/// An answer lost at the reply site (a `drop` fault: the handler finished, its answer never left)
/// left the caller waiting for ever: a hung system. The loop-top self-check finds a caller the
/// kernel has waiting whose request ended neither answered nor suspended, and makes it a crash of
/// that request: handled again, its answer goes (a persistent drop ends in the error answer).
#[test]
fn an_answer_lost_at_the_reply_site_is_found_and_sent_again() {
    let source = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../os/src/task.rs")).unwrap();
    let line =
        1 + source.lines().position(|l| l.contains("\"reply\", window.outgoing().len()")).expect("the reply site");
    // pm's second getpid is the workload's first (the boot probe asks first).
    let fault = format!("drop@pm:getpid:os/src/task.rs:{line}#2");
    let with_checks = |check_invariants: bool, fault: &str| {
        let spec = RunSpec {
            seed: 3,
            policy: Table,
            fault: Some(fault.parse().unwrap()),
            check_invariants,
            ..RunSpec::default()
        };
        execute(&spec, default_table(), getpid_twice)
    };
    let unchecked = with_checks(false, &fault);
    assert!(unchecked.fault_fired);
    assert_eq!(unchecked.outcome, Outcome::Crash, "without the check the caller waits for ever");
    let r = with_checks(true, &fault);
    assert_eq!((r.outcome, decision(&r)), (Outcome::Recovered, "rollback+replay"), "{:#?}", r.decisions);
    assert!(r.decisions[0].to_string().contains("answer-lost"), "{}", r.decisions[0]);
    assert_eq!(r.workload.counters.get("first-1"), Some(&1), "the caller got its pid: {:?}", r.workload);
    // Every answer to getpid lost: the request is given up with the error answer, which gets
    // through, and the system goes on.
    let r = with_checks(true, &format!("{fault}+"));
    assert_ne!(r.outcome, Outcome::Crash, "{:#?}", r.decisions);
}

/// The line of `file` (under os/src) that holds `code`, for a site fault.
fn site_line(file: &str, code: &str) -> usize {
    let path = format!("{}/../os/src/{file}", env!("CARGO_MANIFEST_DIR"));
    let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    1 + source.lines().position(|l| l.contains(code)).unwrap_or_else(|| panic!("{file} holds `{code}`"))
}

/// Silent faults that leave a caller waiting for ever or two servers' counts apart are made
/// crashes while the request's window is open, by the servers' own checks: the loop-top check of
/// answers (a caller waiting unheld, a caller answered but still held, a server waiting for the
/// answer to a message that never left), vfs's assertion that mfs
/// takes back the references it gives, sched's that SCHED_STOP forgot the process, mfs's
/// self-check. Handled again, each request goes through and the checker finds the system clean. Without the
/// loop-top checks the same answer faults hang the system.
#[test]
fn silent_faults_the_servers_own_checks_catch_are_recovered() {
    let setid_answer = site_line("pm/getset.rs", "ctx.reply(r.proc, Message::new(r.status));");
    let interrupted = site_line("pm/signal.rs", "expect(\"interrupted entry\").phase = Phase::Running;");
    let forget = site_line("sched/schedule.rs", "ctx.state.procs.remove(&key_of(proc));");
    let putnode = site_line("vfs/vnode.rs", "ctx.sendrec(fs, Message::with(REQ_PUTNODE, &req));");
    let block = site_line("mfs/block.rs", "let stored = self.blocks.get_mut(block as usize)");
    let exec_request = site_line("pm/exec.rs", "match ctx.asynsend(VFS, Message::with(PM_VFS_EXEC, &request))");
    let exit_request = site_line("pm/forkexit.rs", "if ctx.asynsend(VFS, Message::with(PM_VFS_EXIT");
    let exec_answer = site_line("vfs/exec.rs", "let _ = ctx.send(PM, Message::with(VFS_PM_EXEC_REPLY, &reply));");
    let cases = [
        // A request pm sent that never left while pm waits for its answer, and an answer to pm
        // that never left vfs: handled again, each goes.
        (format!("drop@pm:exec:os/src/pm/exec.rs:{exec_request}#2"), "request-lost", true),
        (format!("drop@pm:kernel_notify:os/src/pm/forkexit.rs:{exit_request}#21"), "request-lost", true),
        (format!("drop@vfs:pm_vfs_exec:os/src/vfs/exec.rs:{exec_answer}#1"), "answer-lost: pm waits", true),
        (format!("drop@pm:vfs_pm_setid_reply:os/src/pm/getset.rs:{setid_answer}#1"), "answer-lost", true),
        (format!("skip-write@pm:kernel_notify:os/src/pm/signal.rs:{interrupted}#4"), "answer-held", true),
        (format!("skip-write@sched:sched_stop:os/src/sched/schedule.rs:{forget}#1"), "after forgetting it", false),
        // Handled again, the refused REQ_PUTNODE goes again (a refusal changed nothing in mfs).
        (format!("bad-reply@vfs:close:os/src/vfs/vnode.rs:{putnode}#1/40"), "counts disagree", false),
        // The overflow damaged a cached block the crashed attempt wrote to the disk: handled
        // again, the block write goes again with the rebuilt bytes instead of being replayed.
        (format!("overflow@mfs:req_rmdir:os/src/mfs/block.rs:{block}#4"), "mfs invariant violated", false),
    ];
    for (fault, caught_by, loop_top) in cases {
        let with_checks = |check_invariants: bool| {
            let spec =
                RunSpec { policy: Table, fault: Some(fault.parse().unwrap()), check_invariants, ..RunSpec::default() };
            execute(&spec, default_table(), userland::workload::posix::run)
        };
        let r = with_checks(true);
        assert!(r.fault_fired, "{fault}");
        assert_eq!((r.outcome, decision(&r)), (Outcome::Recovered, "rollback+replay"), "{fault}: {:#?}", r.decisions);
        assert!(r.decisions[0].message.contains(caught_by), "{fault}: {}", r.decisions[0]);
        assert!(r.violations.is_empty() && r.workload.ok(), "{fault}: {:?} {:?}", r.violations, r.workload);
        if loop_top {
            assert_eq!(with_checks(false).outcome, Outcome::Crash, "{fault}: unchecked, the caller waits for ever");
        }
    }
}

/// A persistent fault in a request vfs sent mfs by sendrec: after the one reprocessing attempt,
/// vfs is answered the error a user would be (it waits in a sendrec and takes errors from mfs),
/// not halted for. The crashed mkdir had written a block to the disk before the second write
/// crashed: the rollback takes it back in mfs's cache, and mfs marks the block dirty when the
/// request is dropped, so the disk gets the cache's bytes back and the checker finds it clean.
#[test]
fn a_persistent_fault_in_a_request_vfs_waits_for_ends_in_an_error_answer_and_a_clean_disk() {
    let write = site_line("libbdev.rs", "self.sendrec(driver, m)");
    let fault = format!("panic@mfs:req_mkdir:os/src/libbdev.rs:{write}#2+");
    for (policy, first) in [(Table, "rollback+replay"), (Srs, "suppress+replay")] {
        let spec = RunSpec { policy, fault: Some(fault.parse().unwrap()), ..RunSpec::default() };
        let r = execute(&spec, default_table(), userland::workload::posix::run);
        let labels: Vec<&str> = r.decisions.iter().map(|d| d.decision.label()).collect();
        assert_eq!(labels.first(), Some(&first), "{policy}: {:#?}", r.decisions);
        assert!(
            matches!(labels.last(), Some(&("rollback+quarantine" | "suppress+quarantine"))),
            "{policy}: given up with an error answer, later mkdirs refused: {:#?}",
            r.decisions
        );
        assert_eq!(r.outcome, Outcome::Recovered, "{policy}: {:#?}", r.violations);
        assert!(r.violations.is_empty(), "{policy}: the disk holds the cache's bytes: {:?}", r.violations);
        let failures = r.workload.failures.join("; ");
        assert!(failures.contains("ERECOVERED"), "{policy}: the mkdir failed with the error answer: {failures}");
    }
}

/// Ten getpid calls, each answer counted by its errno.
fn getpid_ten_times(sys: &Sys<'_>, rec: &Recorder) {
    for _ in 0..10 {
        match sys.getpid() {
            Ok(_) => rec.count("getpid-ok", 1),
            Err(e) => rec.count(&format!("getpid-{}", e.name()), 1),
        }
    }
}

/// A persistent fault in a user's call: the first crash is handled again (a transient fault
/// would end there), the second shows the fault persistent, so the request is dropped and the
/// entry point quarantined: every later getpid is refused with EQUARANTINED at once, unhandled,
/// and pm never crashes again. The pessimistic baseline, which has no quarantine, crashes on
/// every call until the restart intensity halts the system. A persistent hang is quarantined
/// when the request hangs again as it is handled again.
#[test]
fn a_fault_shown_persistent_quarantines_its_entry_point_and_the_system_runs_on() {
    for policy in [Table, Srs] {
        let r = run(policy, "panic:pm:getpid:start:1+", getpid_ten_times);
        let labels: Vec<&str> = r.decisions.iter().map(|d| d.decision.label()).collect();
        let state = if policy == Table { "rollback" } else { "suppress" };
        assert_eq!(labels, [format!("{state}+replay"), format!("{state}+quarantine")], "{policy}: {:#?}", r.decisions);
        assert_eq!(r.outcome, Outcome::Recovered, "{policy}: {:?} {:#?}", r.violations, r.workload);
        // The dropped request may be the library's own getpid at the program's start.
        let (dropped, refused) = (count(&r, "getpid-ERECOVERED"), count(&r, "getpid-EQUARANTINED"));
        assert!(dropped <= 1 && dropped + refused == 10, "{policy}: {:?}", r.workload.counters);
        assert_eq!(r.fault_firings, 2, "{policy}: refused calls never reach the faulty code");
    }
    let pessimistic = run(Pessimistic, "panic:pm:getpid:start:1+", getpid_ten_times);
    assert!(pessimistic.decisions.len() > 2, "{:#?}", pessimistic.decisions);
    assert!(pessimistic.decisions.iter().all(|d| !d.decision.label().contains("quarantine")));
    assert!(!pessimistic.workload.counters.contains_key("getpid-EQUARANTINED"));

    let hang = run(Table, "hang:pm:getpid:start:1+", getpid_ten_times);
    let labels: Vec<&str> = hang.decisions.iter().map(|d| d.decision.label()).collect();
    assert_eq!(labels, ["rollback+replay", "rollback+quarantine"], "{:#?}", hang.decisions);
    assert_eq!(hang.outcome, Outcome::Recovered, "{:?} {:#?}", hang.violations, hang.workload);
    let (dropped, refused) = (count(&hang, "getpid-ERECOVERED"), count(&hang, "getpid-EQUARANTINED"));
    assert!(dropped <= 2 && dropped + refused == 10, "{:?}", hang.workload.counters);
}

fn count(r: &RunResult, counter: &str) -> u64 {
    r.workload.counters.get(counter).copied().unwrap_or(0)
}

/// Map a file twice, shared; a child writes under both mappings while this process unmaps the
/// first, then waits for the child and looks at what the second shows.
fn write_under_shared_mappings(sys: &Sys<'_>, rec: &Recorder) {
    use os::proto::vfs::flags::{O_CREAT, O_RDWR};
    use os::proto::vfs::map::MAP_SHARED;
    use os::proto::vm::prot::PROT_READ;
    const PAGE: u64 = 4096;
    const WRITE_YIELDS: usize = 50;
    let Ok(fd) = sys.open("/tmp/shown", O_RDWR | O_CREAT, 0o644) else {
        rec.check("open", false, String::new);
        return;
    };
    let _ = sys.write(fd, &[b'a'; 100]);
    let (Ok(first), Ok(second)) =
        (sys.mmap_file(fd, 0, PAGE, PROT_READ, MAP_SHARED), sys.mmap_file(fd, 0, PAGE, PROT_READ, MAP_SHARED))
    else {
        rec.check("mmap", false, String::new);
        return;
    };
    let child = sys.fork(move |c| {
        let _ = c.lseek(fd, 10, 0);
        c.write(fd, b"NEW").map_or(1, |n| if n == 3 { 0 } else { 2 })
    });
    for _ in 0..WRITE_YIELDS {
        sys.proc().yield_now();
    }
    let unmapped = sys.munmap(first, PAGE);
    rec.count(if unmapped.is_ok() { "munmap-ok" } else { "munmap-failed" }, 1);
    if let Ok(pid) = child {
        let waited = sys.waitpid(pid, 0);
        rec.check("the child wrote", waited.is_ok_and(|(_, s)| s == 0), || format!("{waited:?}"));
    }
    let mut seen = [0u8; 3];
    let read = sys.proc().mem_read(second + 10, &mut seen);
    rec.check("the mapping shows the write", read.is_ok() && &seen == b"NEW", || format!("{read:?} {seen:?}"));
}

#[test]
fn vfs_crashing_while_it_refreshes_a_shared_mapping_leaves_vm_sound() {
    // vfs dies in the child's write with the first mapping's pages lent to it (after vm answered
    // VM_VFS_MAP_REFRESH, the write's second IPC; init's own write is the first write).
    let fault = "panic:vfs:write:after-ipc-2:2";
    // Left dead: init's munmap of those pages takes them back, and vm stays consistent.
    let r = expect(None, fault, write_under_shared_mappings, Outcome::Crash, "leave-dead");
    assert_eq!(r.workload.counters.get("munmap-ok"), Some(&1), "{:?}", r.workload);
    assert!(r.violations.iter().all(|v| !v.invariant.starts_with("vm.")), "{:?}", r.violations);
    // Handled again with the log of what it sent: the lent pages are filled as if nothing
    // happened, and the second mapping shows the write.
    for (policy, label) in [(Table, "rollback+replay"), (Srs, "suppress+replay")] {
        let r = expect(policy, fault, write_under_shared_mappings, Outcome::Recovered, label);
        assert!(r.workload.ok(), "{policy}: {:?}", r.workload);
    }
}

//! Crash recovery end to end, for every policy, on the faults the recovery issue names: vm during
//! VM_FORK; pm in fork after vm answered; pm in getpid; vfs in write after blocks were allocated;
//! a hang in vfs. Each case asserts the decision, what the requester saw, and the checker's
//! verdict (through the outcome). `table` and `srs` never leave the system inconsistent; the
//! cases show where `restart` and `rollback` do.

use recovery::PolicyKind::{self, *};
use servers::boot::default_table;
use servers::errno::Errno;
use servers::libc::Sys;
use servers::run::{Outcome, RunResult, RunSpec, execute};
use servers::workload::report::Recorder;

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
    // A fresh vm forgot every address space: init's memory is gone from vm's books (the frames it
    // uses are "free" to vm) — damage the workload sees.
    let restart = expect(Restart, fault, fork_and_wait, Outcome::WorkloadFailed, "restart");
    assert!(
        restart.workload.failures.iter().any(|f| f.starts_with("vm knows init's memory")),
        "{:?}",
        restart.workload
    );
    for policy in [Rollback, Pessimistic, Table] {
        let r = expect(policy, fault, fork_and_wait, Outcome::Recovered, "rollback");
        // The requester (pm) got an error, which pm passed on: init's fork failed, cleanly.
        assert_eq!(r.workload.counters.get("fork-ERECOVERED"), Some(&1), "{policy}: {:?}", r.workload);
    }
    expect(Srs, fault, fork_and_wait, Outcome::Recovered, "suppress");
}

#[test]
fn vm_crashes_in_vm_fork_after_the_kernel_made_the_child() {
    let fault = "panic:vm:vm_fork:after-ipc-1";
    let rollback = expect(Rollback, fault, fork_and_wait, Outcome::Inconsistent, "rollback");
    assert!(!rollback.violations.is_empty());
    expect(Pessimistic, fault, fork_and_wait, Outcome::FailStop, "fail-stop");
    let table = expect(Table, fault, fork_and_wait, Outcome::FailStop, "fail-stop");
    assert!(
        table.decisions[0].decision.reason().contains("table row vm/vm_fork"),
        "{}",
        table.decisions[0].decision.reason()
    );
    expect(Srs, fault, fork_and_wait, Outcome::FailStop, "fail-stop");
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
    let table = expect(Table, fault, fork_and_wait, Outcome::FailStop, "fail-stop");
    let reason = table.decisions[0].decision.reason();
    assert!(reason.contains("class G") && reason.contains("table row pm/fork"), "{reason}");
    expect(Srs, fault, fork_and_wait, Outcome::FailStop, "fail-stop");
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
    for (policy, label) in [
        (Restart, "restart"),
        (Rollback, "rollback"),
        (Pessimistic, "rollback"),
        (Table, "rollback"),
        (Srs, "suppress"),
    ] {
        let r = expect(policy, fault, getpid_twice, Outcome::Recovered, label);
        assert_eq!(r.workload.counters.get("first-ERECOVERED"), Some(&1), "{policy}: the requester saw the error");
        assert!(r.workload.ok(), "{policy}: pm answers again after recovery: {:?}", r.workload);
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
    use servers::proto::vfs::flags::{O_CREAT, O_RDWR};
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
    rec.expect_eq("rewind", sys.lseek(fd, 0, servers::proto::vfs::whence::SEEK_SET), Ok(0));
    let mut back = vec![0u8; 3000];
    rec.expect_eq("read back", sys.read(fd, &mut back), Ok(3000));
    rec.check("contents", back == data, || "the file's bytes differ".into());
    rec.expect_eq("close", sys.close(fd), Ok(()));
    rec.expect_eq("unlink", sys.unlink("/tmp/data"), Ok(()));
}

#[test]
fn vfs_crashes_in_write_after_blocks_were_allocated() {
    // A 3,000-byte write into a new file: three free-list pops (the blocks), then the inode.
    let fault = "panic:vfs:write:before-write-4";
    expect(None, fault, write_file, Outcome::Crash, "leave-dead");
    // A fresh vfs forgot init's open file: the rest of the workload gets wrong answers.
    let restart = expect(Restart, fault, write_file, Outcome::WorkloadFailed, "restart");
    assert!(restart.workload.failures.iter().any(|f| f.contains("EBADF")), "{:?}", restart.workload);
    for (policy, label) in [(Rollback, "rollback"), (Pessimistic, "rollback"), (Table, "rollback"), (Srs, "suppress")] {
        let r = expect(policy, fault, write_file, Outcome::Recovered, label);
        assert_eq!(r.workload.counters.get("first-write-ERECOVERED"), Some(&1), "{policy}: the writer saw the error");
        assert!(r.workload.ok(), "{policy}: the retried write and the read-back hold: {:?}", r.workload);
    }
    // SRS: the dropped write's block allocations became suspects; the retried write read the
    // free list (restoring) or overwrote entries (cleansing).
    let srs = run(Srs, fault, write_file);
    let c = &srs.srs["vfs"];
    assert!(c.suspects_created > 0 && c.restored() + c.self_cleansed > 0, "{c:?}");
}

#[test]
fn vfs_hangs_in_write_and_heartbeats_find_it() {
    let fault = "hang:vfs:write:start";
    expect(None, fault, write_file, Outcome::Crash, "leave-dead");
    expect(Restart, fault, write_file, Outcome::WorkloadFailed, "restart");
    for (policy, label) in [(Rollback, "rollback"), (Pessimistic, "rollback"), (Table, "rollback"), (Srs, "suppress")] {
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

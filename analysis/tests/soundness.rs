//! The static table against what the servers really do: a spine-style workload (processes, ids,
//! signals, exec, files, pipes, memory) runs with every tracked write and every request recorded
//! per entry point; the table derived from the current source must contain all of it, with
//! classes no better than those seen at run time.

use analysis::dynamic::{RecordedRun, compare, record_run};
use kernel_sim::{Config, EngineKind, RunEnd};
use os::proto::pm::sig;
use os::proto::vfs::flags::{O_CREAT, O_RDWR};
use std::path::Path;
use testbed::boot::MachineConfig;
use userland::libc::Sys;

/// Virtual microseconds the workload may take before the run is cut (it needs far less).
const TIME_LIMIT: u64 = 60_000_000;

fn workload(sys: &Sys<'_>) -> i32 {
    sys.getpid().expect("getpid");
    sys.getuid().expect("getuid");
    let kids: Vec<i32> = (0..2)
        .map(|code| {
            sys.fork(move |c| {
                c.getppid().expect("getppid");
                code
            })
            .expect("fork")
        })
        .collect();
    for _ in &kids {
        sys.wait().expect("wait");
    }
    let sleeper = sys
        .fork(|c| {
            loop {
                c.getpid().expect("getpid");
                c.proc().yield_now();
            }
        })
        .expect("fork");
    sys.kill(sleeper, sig::SIGKILL).expect("kill");
    sys.waitpid(sleeper, 0).expect("reap");
    let execer = sys.fork(|c| {
        let e = c.exec("/bin/true", &["true"]);
        panic!("exec failed: {e:?}")
    });
    sys.waitpid(execer.expect("fork"), 0).expect("reap the exec'd child");
    sys.setuid(0).expect("setuid to itself");
    sys.setgid(0).expect("setgid to its own group");
    let fd = sys.open("/tmp/soundness", O_CREAT | O_RDWR, 0o644).expect("open");
    sys.write(fd, b"written at run time").expect("write");
    sys.lseek(fd, 0, 0).expect("lseek");
    let mut buf = [0u8; 8];
    sys.read(fd, &mut buf).expect("read");
    let copy = sys.dup(fd).expect("dup");
    sys.close(copy).expect("close");
    sys.close(fd).expect("close");
    sys.stat("/tmp/soundness").expect("stat");
    sys.unlink("/tmp/soundness").expect("unlink");
    sys.mkdir("/tmp/dir", 0o755).expect("mkdir");
    sys.rmdir("/tmp/dir").expect("rmdir");
    let (r, w) = sys.pipe().expect("pipe");
    sys.write(w, b"x").expect("write to the pipe");
    sys.read(r, &mut buf).expect("read from the pipe");
    sys.close(r).expect("close");
    sys.close(w).expect("close");
    let addr = sys.mmap(2 * 4096, true).expect("mmap");
    sys.munmap(addr, 4096).expect("munmap");
    let top = sys.brk(0).expect("brk");
    sys.brk(top + 4096).expect("grow the heap");
    sys.vm_info().expect("vm_info");
    0
}

fn recorded(engine: EngineKind) -> RecordedRun {
    let config = MachineConfig {
        kernel: Config { engine, seed: 11, time_limit: TIME_LIMIT, ..Config::default() },
        ..MachineConfig::default()
    };
    record_run(&config, workload)
}

#[test]
fn every_write_and_request_seen_at_run_time_is_in_the_static_table() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace");
    let table = analysis::analyze_workspace(root).expect("the servers analyse").table;
    for engine in [EngineKind::Sim, EngineKind::Threads] {
        let run = recorded(engine);
        assert_eq!(run.report.end, RunEnd::Finished, "{engine}: the workload ran to its end");
        let report = compare(&table, &run.writes);
        println!("{engine}:\n{report}");
        assert!(report.is_sound(), "{engine}: the static table is not sound for this run:\n{report}");
        let executed: Vec<String> = report.entries.iter().map(|e| format!("{}/{}", e.server, e.call)).collect();
        for must in
            ["pm/fork", "vm/vm_fork", "vfs/pm_vfs_fork", "pm/exec", "vfs/pm_vfs_exec", "vm/vm_exec_newmem", "pm/getpid"]
        {
            assert!(executed.iter().any(|e| e == must), "{engine}: {must} did not run: {executed:?}");
        }
        let fork = report.entries.iter().find(|e| e.server == "pm" && e.call == "fork").expect("fork ran");
        assert!(!fork.dynamic_writes.is_empty(), "fork's writes were recorded");
        assert!(report.precision > 0.0 && report.precision <= 1.0, "precision {}", report.precision);
        let getpid = report.entries.iter().find(|e| e.server == "pm" && e.call == "getpid").expect("getpid ran");
        assert!(getpid.dynamic_writes.is_empty(), "getpid wrote {:?}", getpid.dynamic_writes);
    }
}

#[test]
fn a_table_missing_a_write_is_caught() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace");
    let mut table = analysis::analyze_workspace(root).expect("the servers analyse").table;
    // Pretend the analysis missed fork's pid allocation and vm's side of it.
    let fork = table.rows.iter_mut().find(|r| r.server == "pm" && r.call == "fork").expect("fork");
    fork.fields.get_mut("pm").expect("pm's fields").retain(|(f, _)| f != "pm.next_pid");
    fork.send_sites.retain(|s| s.to != "vm");
    // And every kernel call the table knows of (rows pessimistic for an unknown kernel call keep it
    // as a note).
    for row in table.rows.iter_mut() {
        row.send_sites.retain(|s| s.to != "kernel");
    }
    let report = compare(&table, &recorded(EngineKind::Sim).writes);
    assert!(!report.is_sound());
    assert!(report.violations.iter().any(|v| v.contains("pm/fork wrote pm.next_pid")), "{report}");
    assert!(report.violations.iter().any(|v| v.contains("pm/fork sent type") && v.contains("to vm")), "{report}");
    assert!(report.violations.iter().any(|v| v.contains("the kernel logged call")), "{report}");
}

/// The POSIX suite and every strace fixture, recorded: no entry point writes or sends outside its
/// static row, and the precision (dynamic over static) is reported.
#[test]
fn the_posix_suite_and_the_strace_fixtures_stay_inside_the_table() {
    use userland::workload::Workload;
    use userland::workload::report::Recorder;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace");
    let table = analysis::analyze_workspace(root).expect("the servers analyse").table;
    let fixtures = root.join("userland/fixtures/strace");
    let mut names: Vec<String> = std::fs::read_dir(&fixtures)
        .expect("the fixtures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .map(|p| format!("strace:{}", p.display()))
        .collect();
    names.sort();
    names.insert(0, "posix".to_string());
    let mut precisions = Vec::new();
    for name in names {
        let workload: Workload = name.parse().expect("a workload name");
        let workload = workload.prepare().expect("the fixture loads");
        let config = MachineConfig {
            kernel: Config { seed: 11, time_limit: TIME_LIMIT, ..Config::default() },
            ..MachineConfig::default()
        };
        let rec = Recorder::default();
        let inner = rec.clone();
        let run = record_run(&config, move |sys| {
            workload.run(sys, &inner);
            0
        });
        assert!(rec.report().ok(), "{name}: the workload itself passes: {:?}", rec.report().failures);
        let report = compare(&table, &run.writes);
        assert!(report.is_sound(), "{name}: the static table is not sound for this run:\n{report}");
        println!("{name}: {} entry points executed, precision {:.0}%", report.entries.len(), 100.0 * report.precision);
        precisions.push(report.precision);
    }
    assert!(precisions.iter().all(|p| *p > 0.0 && *p <= 1.0), "{precisions:?}");
}

/// Every row of the table is run by some workload here (the spine workload, the POSIX suite, the
/// strace fixtures, a reboot, a driver's restart and a driver left dead), so the cross-check above
/// can fail on any of them: a row no workload reaches is named.
#[test]
fn every_row_is_exercised_by_a_workload() {
    use userland::workload::Workload;
    use userland::workload::report::Recorder;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace");
    let table = analysis::analyze_workspace(root).expect("the servers analyse").table;
    let mut executed: std::collections::BTreeSet<(String, i32)> = std::collections::BTreeSet::new();
    // Each run's writes and requests are inside the table too: a row reached only here is
    // cross-checked here.
    let mut exercise = |what: &str, run: &RecordedRun| {
        let report = compare(&table, &run.writes);
        assert!(report.is_sound(), "{what}: the static table is not sound for this run:\n{report}");
        executed.extend(run.writes.entries.keys().cloned());
    };
    exercise("the spine workload", &recorded(EngineKind::Sim));
    let fixtures = root.join("userland/fixtures/strace");
    let mut names: Vec<String> = std::fs::read_dir(&fixtures)
        .expect("the fixtures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .map(|p| format!("strace:{}", p.display()))
        .collect();
    names.push("posix".to_string());
    // The shutdown, last: a machine of its own.
    let shutdown = MachineConfig {
        kernel: Config { seed: 11, time_limit: TIME_LIMIT, ..Config::default() },
        ..MachineConfig::default()
    };
    exercise("a reboot", &record_run(&shutdown, |sys| sys.reboot().map_or(1, |()| 0)));
    // MINIX's driver recovery: the disk's driver dies at its first write and comes back under a
    // new endpoint; ds tells mfs, which checks its subscription (ds_check) and finds it again.
    let driver_restart = MachineConfig {
        kernel: Config { seed: 11, time_limit: TIME_LIMIT, ..Config::default() },
        policy: recovery::PolicyKind::Table,
        fault: Some("panic:memdisk:bdev_write:start".parse().expect("a fault spec")),
        ..MachineConfig::default()
    };
    let restarted = record_run(&driver_restart, workload);
    assert!(restarted.machine.injector.as_ref().is_some_and(|i| i.fired()), "the driver's fault fired");
    assert_eq!(restarted.report.end, RunEnd::Finished, "the POSIX suite ran on past the driver's restart");
    exercise("the driver's restart", &restarted);
    // A service left dead (policy none): rs deletes its label from ds (ds_delete).
    let left_dead = MachineConfig { policy: recovery::PolicyKind::None, ..driver_restart };
    let dead = record_run(&left_dead, |_| 0);
    assert!(dead.machine.injector.as_ref().is_some_and(|i| i.fired()), "the driver's fault fired");
    exercise("the driver left dead", &dead);
    for name in names {
        let workload: Workload = name.parse().expect("a workload name");
        let workload = workload.prepare().expect("the fixture loads");
        let config = MachineConfig {
            kernel: Config { seed: 11, time_limit: TIME_LIMIT, ..Config::default() },
            ..MachineConfig::default()
        };
        let rec = Recorder::default();
        let run = record_run(&config, move |sys| {
            workload.run(sys, &rec);
            0
        });
        exercise(&name, &run);
    }
    let missing: Vec<String> = table
        .rows
        .iter()
        .filter(|r| !executed.contains(&(r.server.clone(), r.m_type)))
        .map(|r| format!("{}/{}", r.server, r.call))
        .collect();
    assert_eq!(missing, Vec::<String>::new(), "rows no workload exercises ({} of {})", missing.len(), table.rows.len());
}

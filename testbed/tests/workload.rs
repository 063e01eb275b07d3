//! The workloads end to end: the POSIX suite under both engines, the Unixbench-like loops, the
//! replay of every strace fixture, a malformed log named by its line, and determinism (same seed,
//! same counters and event log). Every run must end `pass` with a clean consistency checker.

use kernel_sim::EngineKind;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use testbed::boot::default_table;
use testbed::run::{Outcome, RunResult, RunSpec, execute};
use userland::workload::strace::replay::Replay;
use userland::workload::strace::{normalise, parse_log};
use userland::workload::{StraceSource, Workload, WorkloadError};

fn run(engine: EngineKind, seed: u64, record_events: bool, workload: &Workload) -> RunResult {
    let spec = RunSpec { engine, seed, record_events, ..RunSpec::default() };
    let workload = workload.clone();
    execute(&spec, default_table(), move |sys, rec| workload.run(sys, rec))
}

fn assert_pass(what: &str, r: &RunResult) {
    assert!(r.violations.is_empty(), "{what}: the checker found {:#?}", r.violations);
    assert_eq!(r.outcome, Outcome::Pass, "{what}: {:?}, failures {:#?}", r.end, r.workload.failures);
}

fn fixtures() -> Vec<PathBuf> {
    logs_in("strace")
}

/// The `.log` files of `dir` (under userland's fixtures), sorted.
fn logs_in(dir: &str) -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../userland/fixtures").join(dir);
    let mut logs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the fixtures directory")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "log"))
        .collect();
    logs.sort();
    assert!(!logs.is_empty(), "no fixture in {}", dir.display());
    logs
}

#[test]
fn posix_suite_passes_under_both_engines() {
    for engine in [EngineKind::Sim, EngineKind::Threads] {
        let started = Instant::now();
        let r = run(engine, 1, false, &Workload::Posix);
        let wall = started.elapsed();
        assert_pass(&format!("posix under {engine}"), &r);
        assert!(r.workload.passed > 100, "{engine}: only {} checks ran", r.workload.passed);
        eprintln!("posix under {engine}: {} checks, {} events, {wall:?} wall", r.workload.passed, r.events);
    }
}

#[test]
fn posix_suite_passes_for_many_seeds() {
    for seed in 0..8 {
        assert_pass(&format!("posix seed {seed}"), &run(EngineKind::Sim, seed, false, &Workload::Posix));
    }
}

#[test]
fn unixbench_loops_pass_and_count() {
    let iterations = 5;
    let r = run(EngineKind::Sim, 2, false, &Workload::Unixbench { iterations });
    assert_pass("unixbench", &r);
    let count = |name: &str| r.workload.counters.get(name).copied().unwrap_or(0);
    let n = u64::from(iterations);
    assert_eq!(count("syscall.calls"), n);
    assert_eq!(count("spawn.forks"), n);
    assert_eq!(count("execl.execs"), n);
    assert_eq!(count("filecopy.copies"), n);
    assert!(count("filecopy.bytes") > 0);
    assert_eq!(count("pipe.roundtrips"), n);
    assert_eq!(count("pipe.bytes"), 2 * n);
    assert_eq!(count("signal.handled"), n);
    assert_eq!(count("poll.roundtrips"), n);
    assert_eq!(count("poll.bytes"), 2 * n);
    assert_pass("unixbench under threads", &run(EngineKind::Threads, 2, false, &Workload::Unixbench { iterations }));
}

#[test]
fn every_strace_fixture_replays_cleanly() {
    for log in fixtures() {
        let name = log.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let workload = format!("strace:{}", log.display()).parse::<Workload>().expect("a strace workload name");
        let workload = workload.prepare().unwrap_or_else(|e| panic!("{name}: {e}"));
        let started = Instant::now();
        let r = run(EngineKind::Sim, 3, false, &workload);
        let wall = started.elapsed();
        assert_pass(&name, &r);
        let count = |key: &str| r.workload.counters.get(key).copied().unwrap_or(0);
        assert!(count("replay.calls") > 0, "{name}: nothing replayed");
        assert!(count("replay.compared") > 0, "{name}: nothing compared");
        assert_eq!(count("replay.mismatches"), 0, "{name}");
        assert!(count("replay.processes-reported") > 0, "{name}");
        eprintln!(
            "{name}: {} steps, {} replayed, {} compared, {} skipped, {} processes, {} execs, {wall:?} wall",
            count("replay.steps"),
            count("replay.calls"),
            count("replay.compared"),
            count("replay.skipped"),
            count("replay.processes"),
            count("replay.execs"),
        );
    }
}

/// Issue 19's corpus: everyday programs (coreutils, find | xargs, a shell script, tar, gzip, git,
/// make, python3) recorded by `userland/fixtures/strace/corpus/record.sh`. Each log replays to `pass` under
/// both engines with a clean check, no mismatch, and the setup making only what existed before
/// the trace began (it never fails).
#[test]
fn corpus_logs_replay_to_a_pass_under_both_engines() {
    let logs = logs_in("strace/corpus");
    assert!(logs.len() >= 12, "the corpus holds {} logs", logs.len());
    let started = Instant::now();
    let (mut files_mapped, mut devices, mut largest_file) = (0, 0, 0);
    for log in &logs {
        let name = log.file_name().unwrap_or_default().to_string_lossy().into_owned();
        assert!(log.with_extension("cmd").exists(), "{name}: its .cmd says how it was recorded");
        let workload = format!("strace:{}", log.display()).parse::<Workload>().expect("a strace workload name");
        let workload = workload.prepare().unwrap_or_else(|e| panic!("{name}: {e}"));
        for engine in [EngineKind::Sim, EngineKind::Threads] {
            let r = run(engine, 19, false, &workload);
            assert_pass(&format!("{name} under {engine}"), &r);
            let count = |key: &str| r.workload.counters.get(key).copied().unwrap_or(0);
            assert_eq!(count("replay.mismatches"), 0, "{name} under {engine}");
            assert!(count("replay.compared") > 20, "{name} under {engine}: {} compared", count("replay.compared"));
            assert!(count("replay.setup.files") > 0, "{name} under {engine}: the program's files stand in");
            files_mapped += count("replay.mmap-files");
            devices += count("replay.setup.devices");
            let files = r.workload.counters.iter().filter(|(key, _)| key.starts_with("replay.setup.file:"));
            largest_file = files.map(|(_, &bytes)| bytes).fold(largest_file, u64::max);
            if name.ends_with("_piped.log") {
                // Recorded in a pipeline: stdin is a pipe its helper fed as far as the log read.
                assert!(count("replay.stdin-pipe-bytes") > 0, "{name} under {engine}: {:?}", r.workload.counters);
            }
        }
    }
    // The dynamic loader maps every shared library, and the programs their locale files: each a
    // mapping of the file, through vfs.
    assert!(files_mapped > 2 * 400, "{files_mapped} file mappings replayed under both engines");
    // `/dev/null`, `/dev/zero` and `/dev/urandom` (find, git, cmp, a shell redirecting, head
    // reading them) are the memory driver's devices, and bash's `/dev/tty` the controlling
    // terminal none has: 9 stand-ins a run.
    assert_eq!(devices, 2 * 9, "special files made under both engines");
    // sort_big and gzip_big read a file past 1 MiB (samsara's largest file once).
    assert!(largest_file > 1 << 20, "the largest file the corpus reads: {largest_file} bytes");
    eprintln!("{} corpus logs under sim and threads: {:?} wall", logs.len(), started.elapsed());
}

fn fixture(name: &str) -> Replay {
    let log = fixtures().into_iter().find(|p| p.ends_with(format!("{name}.log"))).expect("the fixture exists");
    Replay::load(&log).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn strace(replay: Replay) -> Workload {
    Workload::Strace(StraceSource::Loaded(Arc::new(replay)))
}

#[test]
fn a_replayed_exec_is_a_real_exec() {
    let r = run(EngineKind::Sim, 4, true, &strace(fixture("pipeline")));
    assert_pass("pipeline", &r);
    // sh, cat and wc each exec'd: the kernel loaded the `replay` program three times.
    assert_eq!(r.workload.counters.get("replay.execs"), Some(&3));
    let log = r.event_log.expect("recorded events");
    let loads = log
        .lines()
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.len() == 5 && fields[2] == "exec" && fields[4] == "replay"
        })
        .count();
    assert_eq!(loads, 3, "the event log shows three exec events loading `replay`:\n{log}");
}

#[test]
fn truncated_logs_replay_without_hanging_or_damage() {
    // Every prefix of a log is a log whose processes never end, whose waits never return and
    // whose pipes are left open: the replay must still finish and leave the system consistent.
    const EVERY_NTH_LINE: usize = 17;
    for log in fixtures() {
        let text = std::fs::read(&log).expect("the fixture reads");
        let lines: Vec<&[u8]> = text.split(|b| *b == b'\n').collect();
        for cut in (1..lines.len()).step_by(EVERY_NTH_LINE) {
            let mut prefix = lines[..cut].join(&b'\n');
            prefix.push(b'\n');
            let Ok(parsed) = parse_log("prefix", &prefix) else { continue };
            let r = run(EngineKind::Sim, cut as u64, false, &strace(Replay::new(normalise(&parsed))));
            let what = format!("{} cut at line {cut}", log.display());
            assert!(r.violations.is_empty(), "{what}: {:#?}", r.violations);
            assert!(
                matches!(r.outcome, Outcome::Pass | Outcome::WorkloadFailed),
                "{what}: {:?} {:?}",
                r.outcome,
                r.end
            );
        }
    }
}

#[test]
fn a_malformed_log_is_an_error_naming_file_and_line() {
    let dir = std::env::temp_dir().join(format!("samsara-workload-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let file = dir.join("broken.log");
    std::fs::write(&file, "100 getpid() = 100\n100 open(\"/etc/motd\", O_RDONLY = 3\n").expect("write the log");
    let workload = format!("strace:{}", file.display()).parse::<Workload>().expect("a strace workload name");
    let err = match workload.prepare() {
        Err(e @ WorkloadError::Strace(_)) => e.to_string(),
        Ok(w) => panic!("a malformed log prepared: {w:?}"),
    };
    assert!(err.starts_with(&format!("{}:2:", file.display())), "{err}");
    let missing = "strace:/no/such/file.log".parse::<Workload>().expect("a name").prepare();
    assert!(missing.is_err_and(|e| e.to_string().contains("/no/such/file.log")));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn workload_names_parse() {
    assert!(matches!("posix".parse(), Ok(Workload::Posix)));
    assert!(matches!("unixbench".parse(), Ok(Workload::Unixbench { .. })));
    assert!(matches!("unixbench:3".parse(), Ok(Workload::Unixbench { iterations: 3 })));
    assert!(matches!("strace:x.log".parse(), Ok(Workload::Strace(StraceSource::File(_)))));
    for bad in ["", "posix:1", "unixbench:many", "strace:", "fuzz"] {
        let err = bad.parse::<Workload>().expect_err(bad).to_string();
        assert!(err.contains("expected"), "{bad}: {err}");
    }
    assert_eq!(Workload::KINDS.len(), 3);
    assert!(!Workload::Posix.description().is_empty());
}

#[test]
fn same_seed_same_counters_and_event_log() {
    let workloads = [Workload::Posix, Workload::Unixbench { iterations: 3 }, strace(fixture("pipeline"))];
    for workload in &workloads {
        let (a, b) = (run(EngineKind::Sim, 11, true, workload), run(EngineKind::Sim, 11, true, workload));
        assert_pass(&workload.to_string(), &a);
        assert_eq!(a.workload, b.workload, "{workload}");
        assert_eq!((a.events, a.time), (b.events, b.time), "{workload}");
        assert!(a.event_log.is_some());
        assert!(a.event_log == b.event_log, "{workload}: the event logs differ");
        // Another seed schedules differently, yet the workload's verdict and counters hold.
        let c = run(EngineKind::Sim, 12, false, workload);
        assert_pass(&workload.to_string(), &c);
    }
}

#[test]
fn a_log_using_signals_ids_and_clocks_replays_with_a_clean_check() {
    let log = b"\
100 getpid() = 100
100 rt_sigaction(SIGUSR1, {sa_handler=0x55d0c0a01230, sa_mask=[], sa_flags=SA_RESTORER, sa_restorer=0x7f1e2c842520}, NULL, 8) = 0
100 rt_sigaction(SIGINT, NULL, {sa_handler=SIG_DFL, sa_mask=[], sa_flags=0}, 8) = 0
100 kill(100, SIGUSR1) = 0
100 --- SIGUSR1 {si_signo=SIGUSR1, si_code=SI_USER, si_pid=100, si_uid=1000} ---
100 rt_sigreturn({mask=[]}) = 0
100 rt_sigprocmask(SIG_BLOCK, [CHLD], [], 8) = 0
100 rt_sigprocmask(SIG_SETMASK, ~[RTMIN RT_1], [CHLD], 8) = 0
100 rt_sigprocmask(SIG_SETMASK, [], NULL, 8) = 0
100 rt_sigaction(SIGKILL, {sa_handler=SIG_IGN, sa_mask=[], sa_flags=SA_RESTORER, sa_restorer=0x7f1e2c842520}, NULL, 8) = -1 EINVAL (Invalid argument)
100 getppid() = 99
100 getpgrp() = 99
100 getuid() = 1000
100 getgid() = 1000
100 geteuid() = 1000
100 getegid() = 1000
100 clock_gettime(CLOCK_MONOTONIC, {tv_sec=1234, tv_nsec=5678}) = 0
100 clock_gettime(CLOCK_REALTIME, {tv_sec=1700000000, tv_nsec=1}) = 0
100 gettimeofday({tv_sec=1700000000, tv_usec=2}, NULL) = 0
100 times({tms_utime=0, tms_stime=0, tms_cutime=0, tms_cstime=0}) = 1718000000
100 getrusage(RUSAGE_SELF, {ru_utime={tv_sec=0, tv_usec=1000}, ru_stime={tv_sec=0, tv_usec=0}, ...}) = 0
100 alarm(5) = 0
100 alarm(0) = 5
100 setitimer(ITIMER_REAL, {it_interval={tv_sec=0, tv_usec=0}, it_value={tv_sec=0, tv_usec=0}}, NULL) = 0
100 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f1e2c9c8a10) = 101
101 setsid() = 101
101 getpgrp() = 101
101 exit_group(0) = ?
101 +++ exited with 0 +++
100 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=101, si_uid=1000, si_status=0, si_utime=0, si_stime=0} ---
100 wait4(101, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 101
100 exit_group(0) = ?
100 +++ exited with 0 +++
";
    let parsed = parse_log("signals.log", log).expect("the log parses");
    let trace = normalise(&parsed);
    assert!(
        trace.skipped.keys().all(|k| k.starts_with("rt_sigreturn")),
        "only rt_sigreturn is skipped: {:?}",
        trace.skipped
    );
    let r = run(EngineKind::Sim, 5, false, &strace(Replay::new(trace)));
    assert_pass("signals.log", &r);
    let count = |key: &str| r.workload.counters.get(key).copied().unwrap_or(0);
    assert_eq!(count("replay.mismatches"), 0);
    assert_eq!(count("replay.signals-handled"), 1, "{:?}", r.workload.counters);
    assert!(count("replay.compared") >= 25, "{:?}", r.workload.counters);
}

/// A log (written by hand in strace's format) of the descriptor and memory calls samsara learned
/// with fcntl, pipe2 and poll: a shell-like parent polls a close-on-exec, non-blocking pipe that a
/// child writes into, protects a page of a mapping read-only and grows the mapping.
const FLAGS_AND_POLL_LOG: &str = "\
100 getcwd(\"/home/user\", 4096) = 11
100 umask(022) = 022
100 pipe2([3, 4], O_CLOEXEC) = 0
100 fcntl(3, F_GETFD) = 0x1 (flags FD_CLOEXEC)
100 fcntl(3, F_SETFD, 0) = 0
100 fcntl(3, F_GETFD) = 0
100 fcntl(3, F_SETFL, O_RDONLY|O_NONBLOCK) = 0
100 fcntl(3, F_GETFL) = 0x800 (flags O_RDONLY|O_NONBLOCK)
100 read(3, 0x7ffd0000, 16) = -1 EAGAIN (Resource temporarily unavailable)
100 poll([{fd=3, events=POLLIN}], 1, 0) = 0 (Timeout)
100 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f00) = 101
101 write(4, \"hi\", 2) = 2
101 exit_group(0) = ?
101 +++ exited with 0 +++
100 poll([{fd=3, events=POLLIN}], 1, -1) = 1 ([{fd=3, revents=POLLIN}])
100 poll([{fd=3, events=POLLIN}, {fd=4, events=POLLOUT}], 2, 0) = 2 ([{fd=3, revents=POLLIN}, {fd=4, revents=POLLOUT}])
100 read(3, \"hi\", 16) = 2
100 wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 101
100 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000
100 mprotect(0x7f0000000000, 4096, PROT_READ) = 0
100 mprotect(0x7f0000000000, 4096, PROT_READ|PROT_WRITE) = 0
100 mremap(0x7f0000000000, 8192, 16384, MREMAP_MAYMOVE) = 0x7f0000100000
100 munmap(0x7f0000100000, 16384) = 0
100 openat(AT_FDCWD, \"lockfile\", O_RDWR|O_CREAT|O_TRUNC, 0644) = 5
100 flock(5, LOCK_EX) = 0
100 openat(AT_FDCWD, \"lockfile\", O_RDONLY) = 6
100 flock(6, LOCK_SH|LOCK_NB) = -1 EAGAIN (Resource temporarily unavailable)
100 flock(5, LOCK_UN) = 0
100 flock(6, LOCK_SH|LOCK_NB) = 0
100 close(6) = 0
100 close(5) = 0
100 unlink(\"lockfile\") = 0
100 close(3) = 0
100 close(4) = 0
100 exit_group(0) = ?
100 +++ exited with 0 +++
";

#[test]
fn a_log_with_fcntl_pipe2_poll_umask_flock_mprotect_and_mremap_replays_with_a_clean_check() {
    let parsed = parse_log("flags-and-poll", FLAGS_AND_POLL_LOG.as_bytes()).expect("the log parses");
    let trace = normalise(&parsed);
    assert_eq!(trace.skipped_total(), 0, "every call maps: {:?}", trace.skipped);
    for engine in [EngineKind::Sim, EngineKind::Threads] {
        let r = run(engine, 6, false, &strace(Replay::new(trace.clone())));
        assert_pass(&format!("flags-and-poll under {engine}"), &r);
        let count = |key: &str| r.workload.counters.get(key).copied().unwrap_or(0);
        assert_eq!(count("replay.mismatches"), 0, "{engine}: {:#?}", r.workload.failures);
        assert_eq!(count("replay.skipped"), 0, "{engine}");
        assert!(count("replay.compared") >= 20, "{engine}: {} compared", count("replay.compared"));
    }
}

/// A log (written by hand in strace's format) of the calls issue 19 mapped onto samsara's:
/// access, readlink of a link the setup makes and of one the log makes, symlink, link, chmod,
/// chown, truncate, statfs, pread64 (which leaves the offset alone), lstat, a RENAME_NOREPLACE
/// that finds its target there, fsync, fdatasync, sync, getgroups, getpgid, getsid, setpgid,
/// getitimer and rt_sigpending.
const FILE_CALLS_LOG: &str = "\
200 getcwd(\"/work\", 4096) = 6
200 access(\"/etc/ld.so.preload\", R_OK) = -1 ENOENT (No such file or directory)
200 access(\"in.txt\", R_OK|W_OK) = 0
200 faccessat2(AT_FDCWD, \"/usr/bin/tool\", X_OK, AT_EACCESS) = 0
200 readlink(\"/usr/bin/python3\", \"python3.11\", 4096) = 10
200 readlink(\"in.txt\", 0x7ffd0000, 4096) = -1 EINVAL (Invalid argument)
200 symlinkat(\"/etc/hosts\", AT_FDCWD, \"hosts\") = 0
200 readlinkat(AT_FDCWD, \"hosts\", \"/etc/hosts\", 4096) = 10
200 newfstatat(AT_FDCWD, \"hosts\", {st_mode=S_IFLNK|0777, st_size=10, ...}, AT_SYMLINK_NOFOLLOW) = 0
200 link(\"in.txt\", \"again.txt\") = 0
200 link(\"in.txt\", \"again.txt\") = -1 EEXIST (File exists)
200 chmod(\"again.txt\", 0600) = 0
200 fchmodat(AT_FDCWD, \"missing\", 0600) = -1 ENOENT (No such file or directory)
200 chown(\"again.txt\", 0, -1) = 0
200 openat(AT_FDCWD, \"in.txt\", O_RDWR) = 3
200 pread64(3, \"abcd\", 4, 8) = 4
200 read(3, \"abcdefgh\", 8) = 8
200 fchmod(3, 0644) = 0
200 fchown(3, -1, 0) = 0
200 fstatfs(3, {f_type=EXT2_SUPER_MAGIC, f_bsize=4096, f_blocks=1}) = 0
200 ftruncate(3, 4) = 0
200 lseek(3, 0, SEEK_END) = 4
200 fsync(3) = 0
200 fdatasync(3) = 0
200 close(3) = 0
200 fsync(3) = -1 EBADF (Bad file descriptor)
200 sync() = 0
200 getgroups(0, NULL) = 1
200 getpgid(0) = 200
200 getsid(0) = 100
200 setpgid(0, 0) = 0
200 getitimer(ITIMER_REAL, {it_interval={tv_sec=0, tv_usec=0}, it_value={tv_sec=0, tv_usec=0}}) = 0
200 rt_sigpending([], 8) = 0
200 truncate(\"again.txt\", 2) = 0
200 statfs(\"/work\", {f_type=EXT2_SUPER_MAGIC, f_bsize=4096, f_blocks=1}) = 0
200 lstat(\"again.txt\", {st_mode=S_IFREG|0600, st_size=2, ...}) = 0
200 renameat2(AT_FDCWD, \"again.txt\", AT_FDCWD, \"in.txt\", RENAME_NOREPLACE) = -1 EEXIST (File exists)
200 renameat2(AT_FDCWD, \"again.txt\", AT_FDCWD, \"moved.txt\", RENAME_NOREPLACE) = 0
200 unlink(\"hosts\") = 0
200 exit_group(0) = ?
200 +++ exited with 0 +++
";

#[test]
fn a_log_with_access_links_modes_owners_lengths_statfs_and_pread_replays_with_a_clean_check() {
    let parsed = parse_log("file-calls", FILE_CALLS_LOG.as_bytes()).expect("the log parses");
    let trace = normalise(&parsed);
    assert_eq!(trace.skipped_total(), 0, "every call maps: {:?}", trace.skipped);
    for engine in [EngineKind::Sim, EngineKind::Threads] {
        let r = run(engine, 7, false, &strace(Replay::new(trace.clone())));
        assert_pass(&format!("file-calls under {engine}"), &r);
        let count = |key: &str| r.workload.counters.get(key).copied().unwrap_or(0);
        assert_eq!(count("replay.mismatches"), 0, "{engine}: {:#?}", r.workload.failures);
        assert_eq!(count("replay.skipped"), 0, "{engine}");
        assert_eq!(count("replay.compared"), 39, "{engine}: every call but the exit compared");
        // The setup made the link the log read and nothing the log made itself.
        assert_eq!(count("replay.setup.symlink:/usr/bin/python3"), 1, "{engine}");
        assert_eq!(count("replay.setup.program:/usr/bin/tool"), 1, "{engine}");
        assert_eq!(count("replay.setup.file:/work/in.txt"), 12, "{engine}: as far as pread read (8 + 4)");
        assert!(!r.workload.counters.keys().any(|k| k.contains("again.txt") || k.contains("hosts")), "{engine}");
    }
}

/// A log (written by hand) of a shell-like parent with a SIGCHLD handler that waits for its second
/// child while the first ends: in the log the second child ended first and the wait returned; in
/// the replay the first child's SIGCHLD may interrupt the wait, which is timing, so the replay makes
/// the wait again (counted) and the run passes with nothing mismatched.
const SIGCHLD_DURING_WAIT_LOG: &str = "\
300 rt_sigaction(SIGCHLD, {sa_handler=0x5600, sa_mask=[], sa_flags=SA_RESTORER, sa_restorer=0x7f00}, NULL, 8) = 0
300 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f00) = 301
300 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f00) = 302
301 getppid() = 300
301 getppid() = 300
301 getppid() = 300
301 getppid() = 300
301 getppid() = 300
301 getppid() = 300
301 getppid() = 300
301 getppid() = 300
301 exit_group(0) = ?
301 +++ exited with 0 +++
302 getppid() = 300
302 getppid() = 300
302 getppid() = 300
302 getppid() = 300
302 getppid() = 300
302 getppid() = 300
302 getppid() = 300
302 getppid() = 300
302 getppid() = 300
302 getppid() = 300
302 getppid() = 300
302 getppid() = 300
302 getppid() = 300
302 getppid() = 300
302 getppid() = 300
302 getppid() = 300
302 getppid() = 300
302 getppid() = 300
302 getppid() = 300
302 getppid() = 300
302 getppid() = 300
302 getppid() = 300
302 getppid() = 300
302 getppid() = 300
302 getppid() = 300
302 getppid() = 300
302 getppid() = 300
302 getppid() = 300
302 getppid() = 300
302 getppid() = 300
302 getppid() = 300
302 getppid() = 300
302 getppid() = 300
302 getppid() = 300
302 getppid() = 300
302 getppid() = 300
302 getppid() = 300
302 getppid() = 300
302 getppid() = 300
302 getppid() = 300
302 exit_group(3) = ?
302 +++ exited with 3 +++
300 wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 3}], 0, NULL) = 302
300 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=302, si_uid=0, si_status=3, si_utime=0, si_stime=0} ---
300 rt_sigreturn({mask=[]}) = 302
300 wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 301
300 exit_group(0) = ?
300 +++ exited with 0 +++
";

#[test]
fn a_wait_a_sigchld_interrupts_in_the_replay_but_not_in_the_log_is_made_again() {
    let parsed = parse_log("sigchld-during-wait", SIGCHLD_DURING_WAIT_LOG.as_bytes()).expect("the log parses");
    let trace = normalise(&parsed);
    let mut restarted = 0;
    for seed in 0..8 {
        let r = run(EngineKind::Sim, seed, false, &strace(Replay::new(trace.clone())));
        assert_pass(&format!("sigchld-during-wait, seed {seed}"), &r);
        let count = |key: &str| r.workload.counters.get(key).copied().unwrap_or(0);
        assert_eq!(count("replay.mismatches"), 0, "seed {seed}: {:#?}", r.workload.failures);
        restarted += count("replay.interrupted-calls-restarted");
    }
    assert!(restarted > 0, "no seed had the first child's SIGCHLD interrupt the wait");
    let r = run(EngineKind::Threads, 0, false, &strace(Replay::new(trace)));
    assert_pass("sigchld-during-wait under threads", &r);
}

/// A program that writes more than the disk holds: on a machine with a 64 KiB disk the write is
/// cut short, and the exec'd process's report (which tells of that write) goes to a file that has
/// no room either: the failure says the reports were lost to a full disk, naming `param blocks`,
/// rather than only that a process did not report.
#[test]
fn a_log_that_fills_the_disk_says_so_and_where_the_disk_is_sized() {
    let log = "\
100 execve(\"/usr/bin/writer\", [\"writer\"], 0x7ffd /* 1 var */) = 0
100 openat(AT_FDCWD, \"big\", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 3
100 write(3, \"xxxxxxxx\"..., 200000) = 200000
100 close(3) = 0
100 exit_group(0) = ?
100 +++ exited with 0 +++
";
    let trace = normalise(&parse_log("writer.log", log.as_bytes()).expect("the log parses"));
    let text = testbed::boot::DEFAULT_MANIFEST
        .replace("    param blocks 4096;", "    param blocks 64;")
        .replace("    param inodes 1024;", "    param inodes 64;")
        .replace("    memory 1025;", "    memory 17;");
    let manifest = kernel_sim::Manifest::parse(&text, "small-disk.conf", &|_| None).expect("the manifest parses");
    testbed::boot::check_bootable(&manifest, "small-disk.conf").expect("bootable");
    let spec = RunSpec { engine: EngineKind::Sim, seed: 3, manifest: Some(Arc::new(manifest)), ..RunSpec::default() };
    let workload = strace(Replay::new(trace));
    let r = execute(&spec, default_table(), move |sys, rec| workload.run(sys, rec));
    assert!(r.violations.is_empty(), "the checker found {:#?}", r.violations);
    assert_eq!(r.outcome, Outcome::WorkloadFailed, "{:?}", r.workload.failures);
    let failures = r.workload.failures.join("\n");
    assert!(
        failures.contains("their reports had no room: the file system is full") && failures.contains("param blocks N;"),
        "{failures}"
    );
}

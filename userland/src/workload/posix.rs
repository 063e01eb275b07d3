//! The POSIX-behaviour suite, in the spirit of MINIX's `test*.c` programs: small tests that make
//! real system calls and assert what a POSIX program would rely on, each result a named check in
//! the [`Recorder`] (`posix.<topic>.<what>`). The suite passes when every check holds.
//!
//! Topics: process ids in parent and child; exit statuses through wait (exit codes, deaths by
//! SIGTERM and SIGKILL, WNOHANG); orphans re-parented to init; file contents after
//! write/lseek/read; an offset shared after fork and after dup/dup2; a pipe between parent and
//! child (EOF once the writer is gone); link counts after link/unlink; mkdir/rmdir/getdents/chdir;
//! heap growth by brk (the new memory is usable); mmap/munmap; exec of `/bin/true` and `/bin/false`
//! and failed execs; error numbers (EBADF, ENOENT, EEXIST, ENOTEMPTY, ECHILD, EPERM and EACCES
//! after setuid); signals (handlers installed with sigaction and run by the syscall library,
//! SA_RESETHAND, masks, pending sets, sigsuspend, a signal to a process group, EINVAL for SIGKILL
//! and SIGSTOP); alarm and ITIMER_REAL; process groups and sessions; effective ids and
//! supplementary groups; clocks, times and getrusage, each with its errors;
//! fcntl's descriptor and status flags (close-on-exec through a real exec, O_APPEND);
//! umask, fchdir and getcwd; file times through utimensat and futimens (given, now, kept, marked
//! by a write, a chmod and a new name) and mknod, each with its errors; named pipes (an open
//! waiting for a child's, non-blocking opens, ENXIO, bytes gone at the last close); pipe2 with
//! O_NONBLOCK (EAGAIN) and poll (ready now, woken by a
//! child's write, a timeout, a hang-up); flock (exclusive against another open file, a child
//! waiting until the holder closes); nice values through getpriority/setpriority/nice
//! (inherited at fork, EACCES for lowering one unprivileged, EPERM for another's process, EINVAL,
//! ESRCH).
//!
//! Failures and recovery. Each test keeps its first failed check; a later failure in the same test
//! (in the parent or a child) says it came after that one, so a run where a crashed server was
//! recovered, and a call of the test got `ERECOVERED`, reads as one explained failure and its
//! consequences, not as unrelated wrong results. Children record their own failed calls, with the
//! errno, before their exit status tells the parent anything. After each test a tidy step reaps
//! its stray children, closes its leftover descriptors and removes its leftover files (each a
//! check, failing after the test's first failure when the test broke off half-way), so one
//! test's broken-off state never shows as the next test's failure.
//!
//! Duties: it is the workload of every fault-injection run, so it must stay fast (a few hundred
//! calls; a fraction of a millisecond of wall time under `sim` in a release build) and never panic: a failed call is a
//! failed check, whatever the system did. Invariant on return: every child is reaped, every
//! descriptor closed, and every file it made removed (its scratch directory included), so once
//! init exits no per-process state may remain anywhere — the consistency checker relies on that.

use crate::libc::{Itimer, SigAction, Timespec, count_handler_run, handler_runs, reset_handler_runs};
use crate::libc::{PollFd, Sys};
use crate::workload::report::{Recorder, for_people};
use crate::workload::status_text;
use os::errno::Errno;
use os::proto::cdev::dev::makedev;
use os::proto::cdev::{MEMORY_MAJOR, memory};
use os::proto::fs::{R_OK, W_OK, X_OK};
use os::proto::pm::{
    CLOCK_MONOTONIC, CLOCK_REALTIME, ITIMER_REAL, ITIMER_VIRTUAL, NGROUPS_MAX, RUSAGE_SELF, SA_RESETHAND, SIG_BLOCK,
    SIG_SETMASK, SIG_UNBLOCK, WNOHANG, exit_status, sig, sig_bit, signal_status,
};
use os::proto::sched::{PRIO_MAX, PRIO_MIN, PRIO_PGRP, PRIO_PROCESS, PRIO_USER};
use os::proto::vfs::file_type::{S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFREG};
use os::proto::vfs::flags::{O_APPEND, O_CREAT, O_DIRECTORY, O_EXCL, O_NONBLOCK, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY};
use os::proto::vfs::poll::{POLLIN, POLLOUT};
use os::proto::vfs::utime::{AT_SYMLINK_NOFOLLOW, UTIME_NOW, UTIME_OMIT};
use os::proto::vfs::whence::{SEEK_CUR, SEEK_END, SEEK_SET};
use os::proto::vfs::{AT_FDCWD, F_OK, KEEP_ID, ST_NOWAIT, ST_WAIT, kind};
use os::proto::vm::layout::{HEAP_LIMIT, PAGE};
use os::proto::{INIT_PID, Pid};
use std::fmt::Debug;
use std::sync::{Arc, Mutex};

/// The suite's scratch directory: every file it makes lives here, and it is removed at the end.
const DIR: &str = "/tmp/posix";
/// Permission bits of the files the suite creates.
const FILE_MODE: u32 = 0o644;
/// Permission bits of the directories it creates.
const DIR_MODE: u32 = 0o755;
/// What the file tests write: long enough to seek inside, short enough for one read.
const GREETING: &[u8] = b"hello, samsara\n";
/// Where "samsara" starts in [`GREETING`], for the seek test.
const GREETING_WORD_AT: usize = 7;
/// A buffer larger than anything the suite reads back, so a short read shows the true size.
const READ_BUF: usize = 64;
/// The exit code of the plain child of the wait test (any value but 0 and 1 tells exit codes
/// apart from programs that merely succeed or fail).
const CHILD_EXIT_CODE: i32 = 42;
/// The exit code a child reports when the wait it was given never arrived.
const GAVE_UP_CODE: i32 = 99;
/// The exit code of a child whose exec returned (every exec here must not, or must fail).
const EXEC_RETURNED_CODE: i32 = 127;
/// Rounds a spinning child waits to be killed before giving up (each round is one getpid and a
/// yield: the parent's kill comes within a few rounds under either engine, so this only bounds
/// a broken kill; a pm hung in the kill blocks the spinner's getpid, not its rounds). A spinner
/// that gives up costs about 5 kernel events a round: well inside a faulty run's event limit
/// (50 times the golden run's), so a refused kill is a failed check, not a livelock.
const SPIN_ROUNDS: u32 = 20_000;
/// How long an orphan waits for init to adopt it before giving up: 4 s of the clock (virtual under
/// `sim`). Its parent's exit re-parents it within a few rounds when the servers run; a vfs that
/// hangs in the parent's exit delays it by the two 1 s heartbeat periods rs takes to find it, and
/// a restart. The bound only keeps a broken re-parenting from spinning for ever.
const ADOPTION_WAIT: kernel_sim::Micros = 4_000_000;
/// A descriptor number dup2 targets: above anything the test has open, below OPEN_MAX.
const DUP2_TARGET: i32 = 9;
/// The descriptors the tidy-up and end checks look at for one left open: the suite never has more
/// than a dozen open at once (descriptors are taken lowest first), and fstat on all of OPEN_MAX's
/// 255 would make these checks a large share of a campaign run.
const SCANNED_FDS: i32 = 32;
/// A descriptor number that is never open while the error tests run.
const NEVER_OPEN_FD: i32 = 17;
/// What goes through the pipe.
const PING: &[u8] = b"ping";
/// Pages brk grows the heap by: more than one, so the growth spans fresh pages.
const BRK_PAGES: u64 = 3;
/// Pages of the anonymous mapping.
const MMAP_PAGES: u64 = 2;
/// A byte pattern written to fresh memory and read back.
const FILL: u8 = 0xA5;
/// The unprivileged user the setuid test becomes.
const UNPRIVILEGED_UID: u32 = 1000;
/// The root user.
const ROOT_UID: u32 = 0;
/// The bits of an exit code that reach the parent's wait status: a child hands back the low byte
/// of a pid through them.
const STATUS_BYTE: Pid = 0xff;
/// A pid no process has: the suite makes a few dozen processes in a fresh system.
const NO_SUCH_PID: Pid = 9_999;
/// An endpoint no process has: a user slot far above the few dozen the suite uses.
const NOBODY_ENDPOINT: kernel_sim::Endpoint = kernel_sim::Endpoint::new(9_000, 0);
/// The nice value init gives itself before forking (its child inherits it).
const INHERITED_NICE: i32 = 5;
/// What the child adds with nice().
const NICE_STEP: i32 = 3;
/// A root-owned file no one else may write: made at boot with mode 0644.
const ROOT_FILE: &str = "/etc/motd";

/// One test of the suite.
type Test = fn(&Sys<'_>, &Checks);

/// Every test, in the order they run.
const TESTS: &[Test] = &[
    process_ids,
    wait_statuses,
    signal_deaths,
    orphans_go_to_init,
    file_contents,
    offset_shared_after_fork,
    dup_and_dup2,
    pipe_between_parent_and_child,
    named_pipes,
    device_files,
    link_counts,
    rename_and_truncate,
    file_attributes,
    file_times_and_nodes,
    symbolic_links,
    directories,
    heap_growth,
    anonymous_mappings,
    file_mappings,
    exec_programs,
    error_numbers,
    setuid_drops_privilege,
    signal_handlers,
    signal_masks_and_errors,
    timers_and_alarms,
    process_groups_and_sessions,
    effective_ids_and_groups,
    clocks_times_and_usage,
    descriptor_and_status_flags,
    umask_and_working_directory,
    nonblocking_pipes_and_poll,
    priorities,
    whole_file_locks,
];

/// Runs the whole suite in the calling process (init).
pub fn run(sys: &Sys<'_>, rec: &Recorder) {
    if ok(&Checks::new(rec), "posix.setup.scratch-dir", sys.mkdir(DIR, DIR_MODE)).is_none() {
        return;
    }
    for test in TESTS {
        let checks = Checks::new(rec);
        test(sys, &checks);
        tidy(sys, &checks);
    }
    finish(sys, &Checks::new(rec));
}

/// One test's view of the recorder: it remembers the test's first failure, and clones (handed to
/// the children the test forks) share it.
#[derive(Clone)]
struct Checks {
    rec: Recorder,
    first_failure: Arc<Mutex<Option<String>>>,
}

impl Checks {
    fn new(rec: &Recorder) -> Checks {
        Checks { rec: rec.clone(), first_failure: Arc::default() }
    }

    /// Records check `name`; a failure after the test's first says so.
    fn check(&self, name: &str, ok: bool, detail: impl FnOnce() -> String) -> bool {
        if ok {
            return self.rec.check(name, true, String::new);
        }
        let detail = detail();
        let mut first = self.first_failure.lock().unwrap_or_else(|e| e.into_inner());
        let detail = match first.as_deref() {
            Some(earlier) => format!("{detail} (after the test's first failure, {earlier})"),
            None => {
                *first = Some(format!("{name}: {detail}"));
                detail
            }
        };
        self.rec.check(name, false, || detail)
    }

    /// Records that `actual` equals `expected`.
    fn expect_eq<T: PartialEq + Debug>(&self, name: &str, actual: T, expected: T) -> bool {
        let ok = actual == expected;
        self.check(name, ok, || format!("expected {}, got {}", for_people(&expected), for_people(&actual)))
    }
}

/// After a test: reaps its stray children, closes its leftover descriptors and removes its
/// leftover files, reporting any (as consequences of the test's first failure, when it failed).
/// A test that failed half-way (a call came back ERECOVERED) leaves such things behind; the next
/// test must not see them as its own failures.
fn tidy(sys: &Sys<'_>, rec: &Checks) {
    let mut strays = Vec::new();
    while let Ok((pid, status)) = sys.wait() {
        strays.push(format!("pid {pid} ({})", status_text(status)));
    }
    rec.check("posix.tidy.children-reaped", strays.is_empty(), || format!("left unreaped: {}", strays.join(", ")));
    match remove_below(sys, DIR) {
        Ok(left) => {
            rec.check("posix.tidy.files-removed", left.is_empty(), || format!("left behind: {}", left.join(", ")))
        }
        Err(e) => rec.check("posix.tidy.files-removed", false, || format!("listing {DIR} failed with {e}")),
    };
    let open: Vec<i32> = (0..SCANNED_FDS).filter(|&fd| sys.fstat(fd) != Err(Errno::EBADF)).collect();
    for &fd in &open {
        let _ = close_retrying(sys, fd);
    }
    rec.check("posix.tidy.descriptors-closed", open.is_empty(), || {
        format!("left open: {}", os::invariant::listed(&open))
    });
}

/// Closes `fd`, once more when the first close was dropped by a recovered crash (ERECOVERED: the
/// request was rolled back, so the descriptor is still open).
fn close_retrying(sys: &Sys<'_>, fd: i32) -> Result<(), Errno> {
    match sys.close(fd) {
        Err(Errno::ERECOVERED) => sys.close(fd),
        done => done,
    }
}

/// The names in directory `dir` (without `.` and `..`).
fn list(sys: &Sys<'_>, dir: &str) -> Result<Vec<String>, Errno> {
    let fd = sys.open(dir, O_RDONLY | O_DIRECTORY, 0)?;
    let mut names = Vec::new();
    let listed = loop {
        match sys.getdents(fd) {
            Ok(batch) if batch.is_empty() => break Ok(()),
            Ok(batch) => names.extend(batch.into_iter().map(|e| e.name).filter(|n| n != "." && n != "..")),
            Err(e) => break Err(e),
        }
    };
    let closed = close_retrying(sys, fd);
    listed.and(closed).map(|()| names)
}

/// Removes everything below directory `dir`; the paths it found there.
fn remove_below(sys: &Sys<'_>, dir: &str) -> Result<Vec<String>, Errno> {
    let mut found = Vec::new();
    for name in list(sys, dir)? {
        let path = format!("{dir}/{name}");
        // lstat: a symbolic link to a directory is removed, not walked into.
        if sys.lstat(&path).is_ok_and(|s| s.kind == kind::DIRECTORY) {
            found.extend(remove_below(sys, &path)?);
            sys.rmdir(&path)?;
        } else {
            sys.unlink(&path)?;
        }
        found.push(path);
    }
    Ok(found)
}

/// The end state the module promises: no child, no descriptor, no file left (each test tidied
/// after itself), and the scratch directory gone.
fn finish(sys: &Sys<'_>, rec: &Checks) {
    rec.expect_eq("posix.end.no-child-left", sys.waitpid(-1, WNOHANG), Err(Errno::ECHILD));
    let open: Vec<i32> = (0..SCANNED_FDS).filter(|&fd| sys.fstat(fd) != Err(Errno::EBADF)).collect();
    rec.expect_eq("posix.end.every-descriptor-closed", open, Vec::new());
    rec.expect_eq("posix.end.scratch-dir-removed", sys.rmdir(DIR), Ok(()));
}

// ---- helpers ------------------------------------------------------------------------------------

/// Records that `result` succeeded; its value if it did.
fn ok<T: Debug>(rec: &Checks, name: &str, result: Result<T, Errno>) -> Option<T> {
    match result {
        Ok(value) => {
            rec.check(name, true, String::new);
            Some(value)
        }
        Err(e) => {
            rec.check(name, false, || format!("failed with {e}"));
            None
        }
    }
}

/// Records that `result` failed with `expected`.
fn fails<T: Debug>(rec: &Checks, name: &str, result: Result<T, Errno>, expected: Errno) -> bool {
    let ok = matches!(result, Err(e) if e == expected);
    rec.check(name, ok, || format!("expected error {expected}, got {}", for_people(&result)))
}

/// A path in the scratch directory.
fn path(name: &str) -> String {
    format!("{DIR}/{name}")
}

/// One read from `fd`'s offset (one buffer's worth).
fn read_some(sys: &Sys<'_>, fd: i32) -> Result<Vec<u8>, Errno> {
    let mut buf = [0u8; READ_BUF];
    let n = sys.read(fd, &mut buf)?;
    Ok(buf[..n].to_vec())
}

/// Reads everything from the start of `fd` (one buffer's worth).
fn read_all(sys: &Sys<'_>, fd: i32) -> Result<Vec<u8>, Errno> {
    sys.lseek(fd, 0, SEEK_SET)?;
    read_some(sys, fd)
}

/// Waits for `pid` and records that it ended with wait status `expected`.
fn reap(sys: &Sys<'_>, rec: &Checks, name: &str, pid: Pid, expected: i32) {
    let waited = sys.waitpid(pid, 0);
    rec.check(name, waited == Ok((pid, expected)), || match waited {
        Ok((got, status)) => {
            format!("pid {got} ended with {}, expected {}", status_text(status), status_text(expected))
        }
        Err(e) => format!("wait for pid {pid} failed with {e}"),
    });
}

/// A child's body that spins (calling getpid) until it is killed; it gives up after
/// [`SPIN_ROUNDS`]. Only a failed getpid is a check: how many rounds run before the kill comes
/// is the scheduler's choice, and the suite's count of checks must not depend on it.
fn spin_until_killed(sys: &Sys<'_>, rec: &Checks) -> i32 {
    for _ in 0..SPIN_ROUNDS {
        if let Err(e) = sys.getpid() {
            rec.check("posix.spinner.getpid", false, || format!("failed with {e}"));
            return GAVE_UP_CODE;
        }
        sys.proc().yield_now();
    }
    rec.check("posix.spinner.killed", false, || format!("not killed after {SPIN_ROUNDS} rounds"));
    GAVE_UP_CODE
}

/// A child that spins until killed, forked with its own handle on the test's checks.
fn fork_spinner(sys: &Sys<'_>, rec: &Checks) -> Result<Pid, Errno> {
    let rec = rec.clone();
    sys.fork(move |c| spin_until_killed(c, &rec))
}

// ---- the tests ----------------------------------------------------------------------------------

/// getpid and getppid in init and in a child; the child's pid is what fork returned.
fn process_ids(sys: &Sys<'_>, rec: &Checks) {
    rec.expect_eq("posix.ids.init-is-pid-1", sys.getpid(), Ok(INIT_PID));
    let child_rec = rec.clone();
    let forked = sys.fork(move |c| {
        child_rec.expect_eq("posix.ids.child-ppid-is-parent", c.getppid(), Ok(INIT_PID));
        // The low byte of the child's own pid goes back through its exit status.
        ok(&child_rec, "posix.ids.child-getpid", c.getpid()).map_or(GAVE_UP_CODE, |pid| pid & STATUS_BYTE)
    });
    if let Some(pid) = ok(rec, "posix.ids.fork", forked) {
        rec.check("posix.ids.child-pid-differs", pid != INIT_PID && pid > 0, || format!("fork returned {pid}"));
        reap(sys, rec, "posix.ids.child-getpid-is-fork-result", pid, exit_status(pid & STATUS_BYTE));
    }
}

/// Exit codes through wait, WNOHANG on a running and on a reaped child, ECHILD after.
fn wait_statuses(sys: &Sys<'_>, rec: &Checks) {
    if let Some(pid) = ok(rec, "posix.wait.fork", sys.fork(|_| CHILD_EXIT_CODE)) {
        reap(sys, rec, "posix.wait.exit-code", pid, exit_status(CHILD_EXIT_CODE));
        fails(rec, "posix.wait.reaped-child-is-gone", sys.waitpid(pid, WNOHANG), Errno::ECHILD);
    }
    if let Some(pid) = ok(rec, "posix.wait.fork-spinner", fork_spinner(sys, rec)) {
        rec.expect_eq("posix.wait.wnohang-on-running-child", sys.waitpid(pid, WNOHANG).map(|r| r.0), Ok(0));
        ok(rec, "posix.wait.kill-spinner", sys.kill(pid, sig::SIGKILL));
        reap(sys, rec, "posix.wait.spinner-reaped", pid, signal_status(sig::SIGKILL));
    }
    fails(rec, "posix.wait.echild-without-children", sys.wait(), Errno::ECHILD);
}

/// Deaths by SIGTERM and SIGKILL as wait reports them.
fn signal_deaths(sys: &Sys<'_>, rec: &Checks) {
    for (signal, name) in [(sig::SIGTERM, "posix.signal.sigterm-status"), (sig::SIGKILL, "posix.signal.sigkill-status")]
    {
        let Some(pid) = ok(rec, "posix.signal.fork", fork_spinner(sys, rec)) else { continue };
        ok(rec, "posix.signal.kill", sys.kill(pid, signal));
        reap(sys, rec, name, pid, signal_status(signal));
    }
    fails(rec, "posix.signal.bad-signal-einval", sys.kill(INIT_PID, sig::NSIG + 1), Errno::EINVAL);
}

/// A grandchild whose parent exits is adopted by init, which reaps it.
fn orphans_go_to_init(sys: &Sys<'_>, rec: &Checks) {
    let child_rec = rec.clone();
    let forked = sys.fork(move |c| {
        let grandchild_rec = child_rec.clone();
        let grandchild = c.fork(move |g| {
            let deadline = g.proc().now() + ADOPTION_WAIT;
            // Only a failed getppid is a check: how many rounds it takes is the scheduler's.
            while g.proc().now() < deadline {
                match g.getppid() {
                    Ok(INIT_PID) => return CHILD_EXIT_CODE,
                    Ok(_) => g.proc().yield_now(),
                    Err(e) => {
                        grandchild_rec.check("posix.orphan.getppid", false, || format!("failed with {e}"));
                        return GAVE_UP_CODE;
                    }
                }
            }
            grandchild_rec
                .check("posix.orphan.adopted", false, || format!("no adoption in {} s", ADOPTION_WAIT / 1_000_000));
            GAVE_UP_CODE
        });
        // The parent exits at once, with the grandchild's pid's low byte for init to match.
        ok(&child_rec, "posix.orphan.fork-grandchild", grandchild).map_or(GAVE_UP_CODE, |pid| pid & STATUS_BYTE)
    });
    let Some(child) = ok(rec, "posix.orphan.fork", forked) else { return };
    let Some((_, status)) = ok(rec, "posix.orphan.parent-reaped", sys.waitpid(child, 0)) else { return };
    match sys.wait() {
        Ok((orphan, orphan_status)) => {
            rec.check("posix.orphan.init-reaps-the-orphan", exit_status(orphan & STATUS_BYTE) == status, || {
                format!("init reaped pid {orphan}; the orphan's parent ended with {}", status_text(status))
            });
            rec.check("posix.orphan.saw-init-as-parent", orphan_status == exit_status(CHILD_EXIT_CODE), || {
                format!("the orphan ended with {}", status_text(orphan_status))
            });
        }
        Err(e) => {
            rec.check("posix.orphan.init-reaps-the-orphan", false, || format!("init's wait failed with {e}"));
        }
    }
}

/// write, lseek (SET, CUR, END), read back, read at the end, fstat's size.
fn file_contents(sys: &Sys<'_>, rec: &Checks) {
    let file = path("data");
    let Some(fd) = ok(rec, "posix.file.create", sys.open(&file, O_CREAT | O_RDWR | O_TRUNC, FILE_MODE)) else {
        return;
    };
    let len = GREETING.len();
    rec.expect_eq("posix.file.write-count", sys.write(fd, GREETING), Ok(len));
    rec.expect_eq("posix.file.offset-after-write", sys.lseek(fd, 0, SEEK_CUR), Ok(len as i64));
    rec.expect_eq("posix.file.read-back", read_all(sys, fd), Ok(GREETING.to_vec()));
    let mut buf = [0u8; READ_BUF];
    rec.expect_eq("posix.file.read-at-end-is-zero", sys.read(fd, &mut buf), Ok(0));
    rec.expect_eq("posix.file.seek-set", sys.lseek(fd, GREETING_WORD_AT as i64, SEEK_SET), Ok(GREETING_WORD_AT as i64));
    rec.expect_eq("posix.file.read-after-seek", read_some(sys, fd), Ok(GREETING[GREETING_WORD_AT..].to_vec()));
    rec.expect_eq("posix.file.seek-end", sys.lseek(fd, 0, SEEK_END), Ok(len as i64));
    fails(rec, "posix.file.seek-before-start-einval", sys.lseek(fd, -1, SEEK_SET), Errno::EINVAL);
    rec.expect_eq("posix.file.fstat-size", sys.fstat(fd).map(|s| (s.size, s.kind)), Ok((len as u64, kind::REGULAR)));
    ok(rec, "posix.file.close", sys.close(fd));
    // A new open starts at offset 0 and sees the same bytes.
    if let Some(fd) = ok(rec, "posix.file.reopen", sys.open(&file, O_RDONLY, 0)) {
        rec.expect_eq("posix.file.contents-after-reopen", read_some(sys, fd), Ok(GREETING.to_vec()));
        fails(rec, "posix.file.write-on-read-only-ebadf", sys.write(fd, GREETING), Errno::EBADF);
        ok(rec, "posix.file.close-reopened", sys.close(fd));
    }
    ok(rec, "posix.file.unlink", sys.unlink(&file));
}

/// A descriptor inherited over fork shares its offset: the child's write moves the parent's.
fn offset_shared_after_fork(sys: &Sys<'_>, rec: &Checks) {
    const CHILD_PART: &[u8] = b"child ";
    const PARENT_PART: &[u8] = b"parent";
    let file = path("shared");
    let Some(fd) = ok(rec, "posix.fork-offset.create", sys.open(&file, O_CREAT | O_RDWR | O_TRUNC, FILE_MODE)) else {
        return;
    };
    let child_rec = rec.clone();
    let forked = sys.fork(move |c| {
        let wrote = c.write(fd, CHILD_PART);
        if child_rec.expect_eq("posix.fork-offset.child-write", wrote, Ok(CHILD_PART.len())) { 0 } else { 1 }
    });
    if let Some(pid) = ok(rec, "posix.fork-offset.fork", forked) {
        reap(sys, rec, "posix.fork-offset.child-wrote", pid, exit_status(0));
        rec.expect_eq(
            "posix.fork-offset.offset-moved-by-child",
            sys.lseek(fd, 0, SEEK_CUR),
            Ok(CHILD_PART.len() as i64),
        );
        rec.expect_eq("posix.fork-offset.parent-write", sys.write(fd, PARENT_PART), Ok(PARENT_PART.len()));
        rec.expect_eq("posix.fork-offset.contents", read_all(sys, fd), Ok([CHILD_PART, PARENT_PART].concat()));
    }
    ok(rec, "posix.fork-offset.close", sys.close(fd));
    ok(rec, "posix.fork-offset.unlink", sys.unlink(&file));
}

/// dup and dup2 share the open file (and its offset); closing one leaves the other working.
fn dup_and_dup2(sys: &Sys<'_>, rec: &Checks) {
    let file = path("dup");
    let Some(fd) = ok(rec, "posix.dup.create", sys.open(&file, O_CREAT | O_RDWR | O_TRUNC, FILE_MODE)) else {
        return;
    };
    let Some(copy) = ok(rec, "posix.dup.dup", sys.dup(fd)) else {
        let _ = sys.close(fd);
        let _ = sys.unlink(&file);
        return;
    };
    rec.check("posix.dup.lowest-free-descriptor", copy == fd + 1, || format!("dup of {fd} gave {copy}"));
    rec.expect_eq("posix.dup.write", sys.write(fd, b"abc"), Ok(3));
    rec.expect_eq("posix.dup.shared-offset", sys.lseek(copy, 0, SEEK_CUR), Ok(3));
    rec.expect_eq("posix.dup.dup2-returns-target", sys.dup2(fd, DUP2_TARGET), Ok(DUP2_TARGET));
    ok(rec, "posix.dup.close-original", sys.close(fd));
    rec.expect_eq("posix.dup.write-through-dup2", sys.write(DUP2_TARGET, b"def"), Ok(3));
    rec.expect_eq("posix.dup.contents", read_all(sys, copy), Ok(b"abcdef".to_vec()));
    fails(rec, "posix.dup.closed-original-ebadf", sys.write(fd, b"x"), Errno::EBADF);
    fails(rec, "posix.dup.dup2-of-closed-ebadf", sys.dup2(fd, DUP2_TARGET), Errno::EBADF);
    ok(rec, "posix.dup.close-copy", sys.close(copy));
    ok(rec, "posix.dup.close-dup2", sys.close(DUP2_TARGET));
    ok(rec, "posix.dup.unlink", sys.unlink(&file));
}

/// A child writes into a pipe and exits; the parent reads the bytes, then EOF.
fn pipe_between_parent_and_child(sys: &Sys<'_>, rec: &Checks) {
    let Some((read_end, write_end)) = ok(rec, "posix.pipe.create", sys.pipe()) else { return };
    let child_rec = rec.clone();
    let forked = sys.fork(move |c| {
        ok(&child_rec, "posix.pipe.child-closes-read-end", c.close(read_end));
        // The write end closes when the child exits.
        if child_rec.expect_eq("posix.pipe.child-write", c.write(write_end, PING), Ok(PING.len())) { 0 } else { 1 }
    });
    let parent_closed = ok(rec, "posix.pipe.parent-closes-write-end", sys.close(write_end)).is_some();
    if let Some(pid) = ok(rec, "posix.pipe.fork", forked) {
        rec.expect_eq("posix.pipe.bytes-arrive", read_some(sys, read_end), Ok(PING.to_vec()));
        // End of file comes once every write end is closed: with the parent's own still open,
        // nothing would end the read.
        if parent_closed {
            rec.expect_eq("posix.pipe.eof-when-writer-exits", read_some(sys, read_end), Ok(Vec::new()));
        }
        reap(sys, rec, "posix.pipe.writer-status", pid, exit_status(0));
    }
    fails(rec, "posix.pipe.lseek-espipe", sys.lseek(read_end, 0, SEEK_SET), Errno::ESPIPE);
    ok(rec, "posix.pipe.close-read-end", sys.close(read_end));
}

/// Special files: the memory driver's devices under `/dev` (`/dev/null` at its end and taking
/// every write, `/dev/zero` and `/dev/full` reading zeros, `/dev/full` refusing writes with
/// ENOSPC, `/dev/urandom` giving bytes), reached through vfs and the driver; a special file root
/// makes with mknod is the same device; a minor the driver lacks, a major with no driver and a
/// block special file are ENXIO at open; stat shows the kind and the device number.
fn device_files(sys: &Sys<'_>, rec: &Checks) {
    let null_dev = makedev(MEMORY_MAJOR, memory::NULL);
    let shown = sys.stat("/dev/null").map(|s| (s.kind, s.rdev, s.mode, s.size));
    rec.expect_eq("posix.dev.null-stat", shown, Ok((kind::CHAR_DEVICE, null_dev, 0o666, 0)));
    if let Some(fd) = ok(rec, "posix.dev.null-open", sys.open("/dev/null", O_RDWR, 0)) {
        rec.expect_eq("posix.dev.null-write", sys.write(fd, PING), Ok(PING.len()));
        rec.expect_eq("posix.dev.null-write-large", sys.write(fd, &[7u8; 10_000]), Ok(10_000));
        let mut buf = [1u8; 16];
        rec.expect_eq("posix.dev.null-read-eof", sys.read(fd, &mut buf), Ok(0));
        rec.expect_eq("posix.dev.null-lseek", sys.lseek(fd, 0, SEEK_SET), Ok(0));
        rec.expect_eq(
            "posix.dev.null-fstat",
            sys.fstat(fd).map(|s| (s.kind, s.rdev)),
            Ok((kind::CHAR_DEVICE, null_dev)),
        );
        fails(rec, "posix.dev.null-ftruncate-einval", sys.ftruncate(fd, 0), Errno::EINVAL);
        let mut fds = [PollFd { fd, events: POLLIN | POLLOUT, revents: 0 }];
        rec.expect_eq(
            "posix.dev.null-poll-ready",
            sys.poll(&mut fds, 0).map(|n| (n, fds[0].revents)),
            Ok((1, POLLIN | POLLOUT)),
        );
        ok(rec, "posix.dev.null-close", sys.close(fd));
    }
    if let Some(fd) = ok(rec, "posix.dev.zero-open", sys.open("/dev/zero", O_RDONLY, 0)) {
        let mut buf = [9u8; 5000];
        rec.expect_eq(
            "posix.dev.zero-read",
            sys.read(fd, &mut buf).map(|n| (n, buf.iter().all(|&b| b == 0))),
            Ok((5000, true)),
        );
        fails(rec, "posix.dev.zero-read-only-ebadf", sys.write(fd, PING), Errno::EBADF);
        ok(rec, "posix.dev.zero-close", sys.close(fd));
    }
    if let Some(fd) = ok(rec, "posix.dev.full-open", sys.open("/dev/full", O_RDWR, 0)) {
        fails(rec, "posix.dev.full-write-enospc", sys.write(fd, PING), Errno::ENOSPC);
        let mut buf = [9u8; 8];
        rec.expect_eq("posix.dev.full-reads-zeros", sys.read(fd, &mut buf).map(|n| (n, buf)), Ok((8, [0u8; 8])));
        ok(rec, "posix.dev.full-close", sys.close(fd));
    }
    if let Some(fd) = ok(rec, "posix.dev.urandom-open", sys.open("/dev/urandom", O_RDONLY, 0)) {
        let (mut first, mut second) = ([0u8; 32], [0u8; 32]);
        rec.expect_eq("posix.dev.urandom-read", sys.read(fd, &mut first), Ok(32));
        rec.expect_eq("posix.dev.urandom-read-again", sys.read(fd, &mut second), Ok(32));
        rec.check("posix.dev.urandom-varies", first != second && first != [0u8; 32], || {
            format!("two reads of /dev/urandom gave {first:?} and {second:?}")
        });
        // Address 0 is below every process's text: nothing is mapped there.
        fails(rec, "posix.dev.urandom-bad-buffer-efault", sys.read_at(fd, 0, 8), Errno::EFAULT);
        ok(rec, "posix.dev.urandom-close", sys.close(fd));
    }
    // Root makes the same device under another name, and devices the system has no driver for.
    let (mine, no_minor, no_driver, block) = (path("my-null"), path("no-minor"), path("no-driver"), path("block"));
    ok(rec, "posix.dev.mknod-char", sys.mknod(&mine, S_IFCHR | 0o600, null_dev));
    rec.expect_eq(
        "posix.dev.mknod-shows",
        sys.stat(&mine).map(|s| (s.kind, s.rdev, s.mode)),
        Ok((kind::CHAR_DEVICE, null_dev, 0o600)),
    );
    if let Some(fd) = ok(rec, "posix.dev.mknod-opens", sys.open(&mine, O_WRONLY, 0)) {
        rec.expect_eq("posix.dev.mknod-write", sys.write(fd, PING), Ok(PING.len()));
        ok(rec, "posix.dev.mknod-close", sys.close(fd));
    }
    ok(rec, "posix.dev.mknod-no-minor", sys.mknod(&no_minor, S_IFCHR | 0o600, makedev(MEMORY_MAJOR, 200)));
    fails(rec, "posix.dev.no-minor-enxio", sys.open(&no_minor, O_RDONLY, 0), Errno::ENXIO);
    ok(rec, "posix.dev.mknod-no-driver", sys.mknod(&no_driver, S_IFCHR | 0o600, makedev(42, 0)));
    fails(rec, "posix.dev.no-driver-enxio", sys.open(&no_driver, O_RDONLY, 0), Errno::ENXIO);
    ok(rec, "posix.dev.mknod-block", sys.mknod(&block, S_IFBLK | 0o600, makedev(3, 0)));
    rec.expect_eq(
        "posix.dev.block-shows",
        sys.stat(&block).map(|s| (s.kind, s.rdev)),
        Ok((kind::BLOCK_DEVICE, makedev(3, 0))),
    );
    fails(rec, "posix.dev.block-enxio", sys.open(&block, O_RDONLY, 0), Errno::ENXIO);
    for (name, node) in [("my-null", &mine), ("no-minor", &no_minor), ("no-driver", &no_driver), ("block", &block)] {
        ok(rec, &format!("posix.dev.unlink-{name}"), sys.unlink(node));
    }
}

/// mkfifo: a named pipe's bytes pass as a pipe's; an open for reading waits for a writer (here a
/// child), a non-blocking one does not, and a non-blocking open for writing with no reader is
/// ENXIO; stat shows a pipe of no bytes; seeking is ESPIPE; bytes go when the last end closes.
fn named_pipes(sys: &Sys<'_>, rec: &Checks) {
    let fifo = path("fifo");
    if ok(rec, "posix.fifo.mkfifo", sys.mkfifo(&fifo, FILE_MODE)).is_none() {
        return;
    }
    rec.expect_eq("posix.fifo.stat-kind", sys.stat(&fifo).map(|s| (s.kind, s.size)), Ok((kind::FIFO, 0)));
    fails(rec, "posix.fifo.mkfifo-exists-eexist", sys.mkfifo(&fifo, FILE_MODE), Errno::EEXIST);
    let lonely_writer = sys.open(&fifo, O_WRONLY | O_NONBLOCK, 0);
    fails(rec, "posix.fifo.nonblocking-writer-enxio", lonely_writer, Errno::ENXIO);
    if let Some(r) = ok(rec, "posix.fifo.nonblocking-reader", sys.open(&fifo, O_RDONLY | O_NONBLOCK, 0)) {
        if let Some(w) = ok(rec, "posix.fifo.writer-finds-reader", sys.open(&fifo, O_WRONLY, 0)) {
            rec.expect_eq("posix.fifo.write", sys.write(w, PING), Ok(PING.len()));
            fails(rec, "posix.fifo.lseek-espipe", sys.lseek(w, 0, SEEK_SET), Errno::ESPIPE);
            ok(rec, "posix.fifo.close-writer", sys.close(w));
        }
        rec.expect_eq("posix.fifo.bytes-arrive", read_some(sys, r), Ok(PING.to_vec()));
        rec.expect_eq("posix.fifo.eof-without-writers", read_some(sys, r), Ok(Vec::new()));
        ok(rec, "posix.fifo.close-reader", sys.close(r));
    }
    let (writer, child_rec) = (fifo.clone(), rec.clone());
    let forked = sys.fork(move |c| {
        let Some(w) = ok(&child_rec, "posix.fifo.child-opens-for-writing", c.open(&writer, O_WRONLY, 0)) else {
            return 1;
        };
        // The write end closes when the child exits.
        if child_rec.expect_eq("posix.fifo.child-write", c.write(w, PING), Ok(PING.len())) { 0 } else { 1 }
    });
    if let Some(pid) = ok(rec, "posix.fifo.fork", forked) {
        // Whichever of the two opens comes first waits for the other.
        if let Some(r) = ok(rec, "posix.fifo.open-waits-for-writer", sys.open(&fifo, O_RDONLY, 0)) {
            rec.expect_eq("posix.fifo.child-bytes-arrive", read_some(sys, r), Ok(PING.to_vec()));
            rec.expect_eq("posix.fifo.eof-when-writer-exits", read_some(sys, r), Ok(Vec::new()));
            ok(rec, "posix.fifo.close-after-child", sys.close(r));
        }
        reap(sys, rec, "posix.fifo.writer-status", pid, exit_status(0));
    }
    if let Some(rw) = ok(rec, "posix.fifo.open-both-ends", sys.open(&fifo, O_RDWR | O_NONBLOCK, 0)) {
        rec.expect_eq("posix.fifo.write-both-ends", sys.write(rw, PING), Ok(PING.len()));
        ok(rec, "posix.fifo.close-both-ends", sys.close(rw));
    }
    if let Some(rw) = ok(rec, "posix.fifo.reopen-both-ends", sys.open(&fifo, O_RDWR | O_NONBLOCK, 0)) {
        let mut byte = [0u8; 1];
        fails(rec, "posix.fifo.bytes-go-with-last-close", sys.read(rw, &mut byte), Errno::EAGAIN);
        ok(rec, "posix.fifo.close-reopened", sys.close(rw));
    }
    fails(rec, "posix.fifo.truncate-einval", sys.truncate(&fifo, 0), Errno::EINVAL);
    ok(rec, "posix.fifo.unlink", sys.unlink(&fifo));
}

/// Link counts through link and unlink; the data lives while one name does.
fn link_counts(sys: &Sys<'_>, rec: &Checks) {
    let (first, second) = (path("link-a"), path("link-b"));
    let Some(fd) = ok(rec, "posix.link.create", sys.open(&first, O_CREAT | O_WRONLY | O_TRUNC, FILE_MODE)) else {
        return;
    };
    rec.expect_eq("posix.link.write", sys.write(fd, GREETING), Ok(GREETING.len()));
    ok(rec, "posix.link.close", sys.close(fd));
    rec.expect_eq("posix.link.one-link", sys.stat(&first).map(|s| s.nlink), Ok(1));
    ok(rec, "posix.link.link", sys.link(&first, &second));
    rec.expect_eq("posix.link.two-links", sys.stat(&first).map(|s| s.nlink), Ok(2));
    rec.expect_eq("posix.link.same-inode", sys.stat(&second).map(|s| s.ino), sys.stat(&first).map(|s| s.ino));
    fails(rec, "posix.link.existing-name-eexist", sys.link(&first, &second), Errno::EEXIST);
    ok(rec, "posix.link.unlink-first", sys.unlink(&first));
    fails(rec, "posix.link.unlinked-name-enoent", sys.stat(&first), Errno::ENOENT);
    rec.expect_eq("posix.link.one-link-left", sys.stat(&second).map(|s| s.nlink), Ok(1));
    if let Some(fd) = ok(rec, "posix.link.open-second", sys.open(&second, O_RDONLY, 0)) {
        rec.expect_eq("posix.link.data-survives", read_all(sys, fd), Ok(GREETING.to_vec()));
        ok(rec, "posix.link.close-second", sys.close(fd));
    }
    ok(rec, "posix.link.unlink-second", sys.unlink(&second));
    fails(rec, "posix.link.gone-enoent", sys.stat(&second), Errno::ENOENT);
}

/// O_TRUNC empties an existing file; rename moves a name, replaces a file, refuses to move a
/// directory below itself (EINVAL) and a missing name (ENOENT).
fn rename_and_truncate(sys: &Sys<'_>, rec: &Checks) {
    let (first, second, dir) = (path("rename-a"), path("rename-b"), path("rename-dir"));
    let Some(fd) = ok(rec, "posix.rename.create", sys.open(&first, O_CREAT | O_WRONLY | O_TRUNC, FILE_MODE)) else {
        return;
    };
    rec.expect_eq("posix.rename.write", sys.write(fd, GREETING), Ok(GREETING.len()));
    ok(rec, "posix.rename.close", sys.close(fd));
    ok(rec, "posix.rename.rename", sys.rename(&first, &second));
    fails(rec, "posix.rename.old-name-enoent", sys.stat(&first), Errno::ENOENT);
    rec.expect_eq("posix.rename.new-name-has-the-bytes", sys.stat(&second).map(|s| s.size), Ok(GREETING.len() as u64));
    fails(rec, "posix.rename.missing-enoent", sys.rename(&first, &second), Errno::ENOENT);
    if let Some(fd) = ok(rec, "posix.rename.recreate", sys.open(&first, O_CREAT | O_WRONLY | O_EXCL, FILE_MODE)) {
        ok(rec, "posix.rename.close-recreated", sys.close(fd));
    }
    ok(rec, "posix.rename.replace-a-file", sys.rename(&second, &first));
    rec.expect_eq("posix.rename.replaced-has-the-bytes", sys.stat(&first).map(|s| s.size), Ok(GREETING.len() as u64));
    if let Some(fd) = ok(rec, "posix.truncate.open-o-trunc", sys.open(&first, O_WRONLY | O_TRUNC, 0)) {
        rec.expect_eq("posix.truncate.emptied", sys.fstat(fd).map(|s| (s.size, s.blocks)), Ok((0, 0)));
        ok(rec, "posix.truncate.close", sys.close(fd));
    }
    ok(rec, "posix.rename.unlink", sys.unlink(&first));
    if ok(rec, "posix.rename.mkdir", sys.mkdir(&dir, DIR_MODE)).is_some() {
        fails(rec, "posix.rename.dir-below-itself-einval", sys.rename(&dir, &format!("{dir}/sub")), Errno::EINVAL);
        ok(rec, "posix.rename.rmdir", sys.rmdir(&dir));
    }
}

/// chmod, fchmod, chown, fchown, truncate, ftruncate, access, statvfs, fstatvfs, fsync, fdatasync
/// and sync as root, with
/// their errors; then, as an unprivileged child, what only owners and root may do.
fn file_attributes(sys: &Sys<'_>, rec: &Checks) {
    let file = path("attrs");
    let Some(fd) = ok(rec, "posix.attr.create", sys.open(&file, O_CREAT | O_RDWR | O_TRUNC, FILE_MODE)) else {
        return;
    };
    rec.expect_eq("posix.attr.write", sys.write(fd, GREETING), Ok(GREETING.len()));
    ok(rec, "posix.attr.chmod", sys.chmod(&file, 0o600));
    rec.expect_eq("posix.attr.chmod-shows", sys.stat(&file).map(|s| s.mode), Ok(0o600));
    ok(rec, "posix.attr.fchmod", sys.fchmod(fd, 0o640));
    rec.expect_eq("posix.attr.fchmod-shows", sys.fstat(fd).map(|s| s.mode), Ok(0o640));
    fails(rec, "posix.attr.chmod-missing-enoent", sys.chmod(&path("nope"), 0o600), Errno::ENOENT);
    fails(rec, "posix.attr.fchmod-closed-ebadf", sys.fchmod(NEVER_OPEN_FD, 0o600), Errno::EBADF);
    ok(rec, "posix.attr.chown", sys.chown(&file, UNPRIVILEGED_UID, UNPRIVILEGED_UID));
    ok(rec, "posix.attr.fchown-keeps-owner", sys.fchown(fd, KEEP_ID, 0));
    rec.expect_eq("posix.attr.chown-shows", sys.stat(&file).map(|s| (s.uid, s.gid)), Ok((UNPRIVILEGED_UID, 0)));
    // Sizes.
    ok(rec, "posix.attr.truncate-shorter", sys.truncate(&file, 5));
    rec.expect_eq("posix.attr.truncated-size", sys.fstat(fd).map(|s| s.size), Ok(5));
    ok(rec, "posix.attr.ftruncate-longer", sys.ftruncate(fd, 3000));
    rec.expect_eq("posix.attr.extended", sys.stat(&file).map(|s| (s.size, s.blocks)), Ok((3000, 3)));
    rec.expect_eq("posix.attr.seek-end-follows", sys.lseek(fd, 0, SEEK_END), Ok(3000));
    rec.expect_eq("posix.attr.rewind", sys.lseek(fd, 0, SEEK_SET), Ok(0));
    let mut head = [0u8; 8];
    rec.expect_eq("posix.attr.read-extended", sys.read(fd, &mut head), Ok(8));
    rec.expect_eq("posix.attr.kept-then-zeros", &head[..], &[&GREETING[..5], &[0, 0, 0]].concat()[..]);
    fails(rec, "posix.attr.truncate-negative-einval", sys.truncate(&file, -1), Errno::EINVAL);
    fails(rec, "posix.attr.truncate-dir-eisdir", sys.truncate(DIR, 0), Errno::EISDIR);
    fails(rec, "posix.attr.truncate-too-big-efbig", sys.truncate(&file, i64::MAX), Errno::EFBIG);
    if let Some(ro) = ok(rec, "posix.attr.open-read-only", sys.open(&file, O_RDONLY, 0)) {
        fails(rec, "posix.attr.ftruncate-read-only-ebadf", sys.ftruncate(ro, 0), Errno::EBADF);
        ok(rec, "posix.attr.close-read-only", sys.close(ro));
    }
    if let Some((r, w)) = ok(rec, "posix.attr.pipe", sys.pipe()) {
        fails(rec, "posix.attr.ftruncate-pipe-einval", sys.ftruncate(w, 0), Errno::EINVAL);
        fails(rec, "posix.attr.fstatvfs-pipe-einval", sys.fstatvfs(r), Errno::EINVAL);
        fails(rec, "posix.sync.fsync-pipe-einval", sys.fsync(w), Errno::EINVAL);
        ok(rec, "posix.attr.fchmod-pipe", sys.fchmod(r, 0o400));
        rec.expect_eq("posix.attr.fchmod-pipe-shows", sys.fstat(w).map(|s| s.mode), Ok(0o400));
        ok(rec, "posix.attr.close-r", sys.close(r));
        ok(rec, "posix.attr.close-w", sys.close(w));
    }
    // access.
    ok(rec, "posix.attr.access-exists", sys.access(&file, F_OK));
    ok(rec, "posix.attr.access-rw-root", sys.access(&file, R_OK | W_OK));
    fails(rec, "posix.attr.access-x-no-bit-eacces", sys.access(&file, X_OK), Errno::EACCES);
    fails(rec, "posix.attr.access-missing-enoent", sys.access(&path("nope"), F_OK), Errno::ENOENT);
    fails(rec, "posix.attr.access-bad-mode-einval", sys.access(&file, 0o10), Errno::EINVAL);
    // statvfs: the file's three blocks are not free.
    match (sys.statvfs("/"), sys.fstatvfs(fd)) {
        (Ok(all), Ok(same)) => {
            rec.expect_eq("posix.statvfs.block-size", all.bsize, 1024);
            rec.check("posix.statvfs.some-blocks-used", all.bfree + 3 <= all.blocks, || {
                format!("{} of {} blocks free", all.bfree, all.blocks)
            });
            rec.check("posix.statvfs.some-inodes-used", all.ffree < all.files, || {
                format!("{} of {} inodes free", all.ffree, all.files)
            });
            rec.expect_eq("posix.statvfs.fstatvfs-agrees", same, all);
        }
        (all, same) => {
            rec.check("posix.statvfs.answers", false, || {
                format!("statvfs gave {}, fstatvfs {}", for_people(&all), for_people(&same))
            });
        }
    }
    fails(rec, "posix.statvfs.missing-enoent", sys.statvfs(&path("nope")), Errno::ENOENT);
    // getvfsstat: one file system mounted, the root, whose totals statvfs gives.
    rec.expect_eq("posix.getvfsstat.count", sys.getvfsstat_count(ST_WAIT), Ok(1));
    let root = sys.statvfs("/");
    rec.expect_eq("posix.getvfsstat.the-root", sys.getvfsstat(4, ST_NOWAIT), root.map(|r| vec![r]));
    fails(rec, "posix.getvfsstat.bad-flags-einval", sys.getvfsstat_count(ST_WAIT | ST_NOWAIT), Errno::EINVAL);
    // fsync, fdatasync, sync: the file system writes back (the checker compares the disk with its cache).
    ok(rec, "posix.sync.fsync", sys.fsync(fd));
    ok(rec, "posix.sync.fdatasync", sys.fdatasync(fd));
    ok(rec, "posix.sync.sync", sys.sync());
    fails(rec, "posix.sync.fsync-bad-fd-ebadf", sys.fsync(-1), Errno::EBADF);
    ok(rec, "posix.attr.close", sys.close(fd));
    fails(rec, "posix.sync.fsync-closed-ebadf", sys.fsync(fd), Errno::EBADF);
    // What an unprivileged process may not do.
    ok(rec, "posix.attr.give-back", sys.chown(&file, ROOT_UID, 0));
    let (child_rec, child_file) = (rec.clone(), file.clone());
    let forked = sys.fork(move |c| {
        let rec = child_rec;
        ok(&rec, "posix.attr.become-user", c.setuid(UNPRIVILEGED_UID));
        fails(&rec, "posix.attr.chmod-not-owner-eperm", c.chmod(&child_file, 0o666), Errno::EPERM);
        fails(&rec, "posix.attr.chown-not-root-eperm", c.chown(&child_file, UNPRIVILEGED_UID, KEEP_ID), Errno::EPERM);
        fails(&rec, "posix.attr.truncate-no-write-eacces", c.truncate(&child_file, 0), Errno::EACCES);
        fails(&rec, "posix.attr.access-w-eacces", c.access(&child_file, W_OK), Errno::EACCES);
        ok(&rec, "posix.attr.access-r", c.access(&child_file, R_OK));
        0
    });
    if let Some(pid) = ok(rec, "posix.attr.fork", forked) {
        reap(sys, rec, "posix.attr.child-status", pid, exit_status(0));
    }
    rec.expect_eq("posix.attr.unchanged-by-the-user", sys.stat(&file).map(|s| (s.mode, s.size)), Ok((0o640, 3000)));
    ok(rec, "posix.attr.unlink", sys.unlink(&file));
}

/// A time utimens takes: `sec` seconds and `nsec` nanoseconds (or UTIME_NOW, UTIME_OMIT).
fn at(sec: i64, nsec: u32) -> Timespec {
    Timespec { sec, nsec: nsec.into() }
}

/// utimensat and futimens (times given, now, kept; a write marks the modification and change
/// times, a chmod the change time only, a new name the directory's; the file system is `noatime`)
/// and mknod (regular files; what only root may make; what the file system cannot hold), each with
/// its errors, as root and as an unprivileged child.
fn file_times_and_nodes(sys: &Sys<'_>, rec: &Checks) {
    let file = path("times");
    let Some(fd) = ok(rec, "posix.times.create", sys.open(&file, O_CREAT | O_RDWR | O_TRUNC, FILE_MODE)) else {
        return;
    };
    let (atime, mtime) = (at(1_000, 250_000_000), at(2_000, 0));
    ok(rec, "posix.times.utimensat", sys.utimensat(AT_FDCWD, &file, Some([atime, mtime]), 0));
    rec.expect_eq("posix.times.utimensat-shows", sys.stat(&file).map(|s| (s.atime, s.mtime)), Ok((atime, mtime)));
    let keep_atime = [at(0, UTIME_OMIT), at(3_000, 0)];
    ok(rec, "posix.times.futimens-omit", sys.futimens(fd, Some(keep_atime)));
    rec.expect_eq("posix.times.omit-keeps", sys.fstat(fd).map(|s| (s.atime, s.mtime)), Ok((atime, at(3_000, 0))));
    // What a write and a chmod mark, on the clock file times are kept on.
    let before = sys.clock_gettime(CLOCK_MONOTONIC).unwrap_or_default();
    rec.expect_eq("posix.times.write", sys.write(fd, GREETING), Ok(GREETING.len()));
    if let Some(s) = ok(rec, "posix.times.fstat-after-write", sys.fstat(fd)) {
        rec.check("posix.times.write-marks-mtime-ctime", s.mtime >= before && s.ctime == s.mtime, || {
            format!(
                "{} before the write, mtime {}, ctime {}",
                instant(Some(&before)),
                instant(Some(&s.mtime)),
                instant(Some(&s.ctime))
            )
        });
        rec.expect_eq("posix.times.write-keeps-atime", s.atime, atime);
    }
    ok(rec, "posix.times.set-again", sys.futimens(fd, Some([atime, mtime])));
    ok(rec, "posix.times.chmod", sys.fchmod(fd, 0o666));
    if let Some(s) = ok(rec, "posix.times.fstat-after-chmod", sys.fstat(fd)) {
        rec.expect_eq("posix.times.chmod-keeps-mtime", (s.atime, s.mtime), (atime, mtime));
        rec.check("posix.times.chmod-marks-ctime", s.ctime >= before, || format!("ctime {}", instant(Some(&s.ctime))));
    }
    ok(rec, "posix.times.utimensat-now", sys.utimensat(AT_FDCWD, &file, None, 0));
    if let Some(s) = ok(rec, "posix.times.stat-after-now", sys.stat(&file)) {
        rec.check("posix.times.now-sets-both", s.atime >= before && s.mtime == s.atime, || {
            format!("atime {}, mtime {}", instant(Some(&s.atime)), instant(Some(&s.mtime)))
        });
    }
    // Errors.
    let bad_nsec = [at(0, 1_000_000_000), mtime];
    fails(rec, "posix.times.nsec-out-of-range-einval", sys.futimens(fd, Some(bad_nsec)), Errno::EINVAL);
    fails(rec, "posix.times.bad-flag-einval", sys.utimensat(AT_FDCWD, &file, None, 0x1), Errno::EINVAL);
    fails(rec, "posix.times.dirfd-einval", sys.utimensat(fd, &file, None, 0), Errno::EINVAL);
    fails(rec, "posix.times.missing-enoent", sys.utimensat(AT_FDCWD, &path("nope"), None, 0), Errno::ENOENT);
    fails(rec, "posix.times.empty-path-enoent", sys.utimensat(AT_FDCWD, "", None, 0), Errno::ENOENT);
    fails(rec, "posix.times.closed-ebadf", sys.futimens(NEVER_OPEN_FD, None), Errno::EBADF);
    if let Some((r, w)) = ok(rec, "posix.times.pipe", sys.pipe()) {
        fails(rec, "posix.times.pipe-einval", sys.futimens(w, None), Errno::EINVAL);
        ok(rec, "posix.times.close-r", sys.close(r));
        ok(rec, "posix.times.close-w", sys.close(w));
    }
    // A link's own times (AT_SYMLINK_NOFOLLOW) leave its target's alone.
    let link = path("times-link");
    if ok(rec, "posix.times.symlink", sys.symlink(&file, &link)).is_some() {
        ok(rec, "posix.times.nofollow", sys.utimensat(AT_FDCWD, &link, Some([atime, atime]), AT_SYMLINK_NOFOLLOW));
        rec.expect_eq("posix.times.nofollow-link", sys.lstat(&link).map(|s| s.mtime), Ok(atime));
        rec.check("posix.times.nofollow-target", sys.stat(&file).is_ok_and(|s| s.mtime != atime), || {
            "the target's modification time became the link's".into()
        });
        ok(rec, "posix.times.unlink-link", sys.unlink(&link));
    }
    // mknod: a regular file, its bits cut by the mask; a new name marks the directory.
    let node = path("node");
    let before = sys.clock_gettime(CLOCK_MONOTONIC).unwrap_or_default();
    let old_mask = ok(rec, "posix.mknod.umask", sys.umask(0o027));
    ok(rec, "posix.mknod.regular", sys.mknod(&node, S_IFREG | 0o666, 0));
    if let Some(mask) = old_mask {
        ok(rec, "posix.mknod.umask-back", sys.umask(mask));
    }
    let shown = sys.stat(&node).map(|s| (s.kind, s.mode, s.size));
    rec.expect_eq("posix.mknod.shows", shown, Ok((kind::REGULAR, 0o640, 0)));
    rec.check("posix.mknod.marks-the-directory", sys.stat(DIR).is_ok_and(|s| s.mtime >= before), || {
        format!("{DIR} keeps a modification time from before the mknod")
    });
    fails(rec, "posix.mknod.exists-eexist", sys.mknod(&node, S_IFREG | 0o644, 0), Errno::EEXIST);
    ok(rec, "posix.mknod.fifo", sys.mknod(&path("fifo"), S_IFIFO | 0o644, 0));
    rec.expect_eq("posix.mknod.fifo-shows", sys.stat(&path("fifo")).map(|s| s.kind), Ok(kind::FIFO));
    ok(rec, "posix.mknod.unlink-fifo", sys.unlink(&path("fifo")));
    fails(rec, "posix.mknod.directory-einval", sys.mknod(&path("dir"), S_IFDIR | 0o755, 0), Errno::EINVAL);
    fails(rec, "posix.mknod.missing-dir-enoent", sys.mknod(&path("nope/node"), S_IFREG, 0), Errno::ENOENT);
    ok(rec, "posix.mknod.type-zero-regular", sys.mknod(&path("plain"), 0o644, 0));
    ok(rec, "posix.mknod.unlink-plain", sys.unlink(&path("plain")));
    // What an unprivileged process may not do: set times of another's file, or set them to now on
    // one it may not write; make a device. It may set both to now on a file it may write.
    ok(rec, "posix.times.read-only-for-others", sys.fchmod(fd, 0o644));
    ok(rec, "posix.times.writable-by-all", sys.chmod(&node, 0o666));
    let (child_rec, child_file, child_node) = (rec.clone(), file.clone(), node.clone());
    let forked = sys.fork(move |c| {
        let rec = child_rec;
        ok(&rec, "posix.times.become-user", c.setuid(UNPRIVILEGED_UID));
        let given = Some([at(5, 0), at(5, 0)]);
        fails(&rec, "posix.times.not-owner-eperm", c.utimensat(AT_FDCWD, &child_file, given, 0), Errno::EPERM);
        fails(&rec, "posix.times.now-no-write-eacces", c.utimensat(AT_FDCWD, &child_file, None, 0), Errno::EACCES);
        let keep = Some([at(0, UTIME_OMIT), at(0, UTIME_OMIT)]);
        ok(&rec, "posix.times.keep-both-needs-nothing", c.utimensat(AT_FDCWD, &child_file, keep, 0));
        let now = Some([at(0, UTIME_NOW), at(0, UTIME_NOW)]);
        ok(&rec, "posix.times.now-writable", c.utimensat(AT_FDCWD, &child_node, now, 0));
        fails(&rec, "posix.mknod.device-not-root-eperm", c.mknod(&child_node, S_IFCHR | 0o644, 0x0101), Errno::EPERM);
        0
    });
    if let Some(pid) = ok(rec, "posix.times.fork", forked) {
        reap(sys, rec, "posix.times.child-status", pid, exit_status(0));
    }
    ok(rec, "posix.times.close", sys.close(fd));
    ok(rec, "posix.times.unlink", sys.unlink(&file));
    ok(rec, "posix.mknod.unlink", sys.unlink(&node));
}

/// symlink, readlink and lstat; open and stat follow links (on the way and at the end), unlink
/// and rename act on the link; a dangling link is ENOENT, a loop ELOOP.
fn symbolic_links(sys: &Sys<'_>, rec: &Checks) {
    let (target, link, dir_link) = (path("sym-target"), path("sym-link"), path("sym-dir"));
    let (dangling, looping, moved) = (path("sym-dangling"), path("sym-loop"), path("sym-moved"));
    let Some(fd) = ok(rec, "posix.symlink.create-target", sys.open(&target, O_CREAT | O_WRONLY | O_TRUNC, FILE_MODE))
    else {
        return;
    };
    rec.expect_eq("posix.symlink.write-target", sys.write(fd, GREETING), Ok(GREETING.len()));
    ok(rec, "posix.symlink.close-target", sys.close(fd));
    ok(rec, "posix.symlink.symlink", sys.symlink(&target, &link));
    rec.expect_eq("posix.symlink.readlink", sys.readlink(&link), Ok(target.as_bytes().to_vec()));
    rec.expect_eq(
        "posix.symlink.lstat-is-the-link",
        sys.lstat(&link).map(|s| (s.kind, s.size)),
        Ok((kind::SYMLINK, target.len() as u64)),
    );
    rec.expect_eq(
        "posix.symlink.stat-follows",
        sys.stat(&link).map(|s| (s.kind, s.size)),
        Ok((kind::REGULAR, GREETING.len() as u64)),
    );
    if let Some(fd) = ok(rec, "posix.symlink.open-follows", sys.open(&link, O_RDONLY, 0)) {
        rec.expect_eq("posix.symlink.read-through", read_all(sys, fd), Ok(GREETING.to_vec()));
        ok(rec, "posix.symlink.close", sys.close(fd));
    }
    fails(rec, "posix.symlink.existing-eexist", sys.symlink(&target, &link), Errno::EEXIST);
    fails(rec, "posix.symlink.readlink-file-einval", sys.readlink(&target), Errno::EINVAL);
    fails(rec, "posix.symlink.empty-target-enoent", sys.symlink("", &path("sym-empty")), Errno::ENOENT);
    ok(rec, "posix.symlink.to-a-directory", sys.symlink(DIR, &dir_link));
    rec.expect_eq(
        "posix.symlink.on-the-way",
        sys.stat(&format!("{dir_link}/sym-target")).map(|s| s.size),
        Ok(GREETING.len() as u64),
    );
    // A relative target is resolved from the link's directory.
    ok(rec, "posix.symlink.dangling", sys.symlink("nowhere", &dangling));
    fails(rec, "posix.symlink.dangling-stat-enoent", sys.stat(&dangling), Errno::ENOENT);
    fails(
        rec,
        "posix.symlink.dangling-creat-enoent",
        sys.open(&dangling, O_CREAT | O_WRONLY, FILE_MODE),
        Errno::ENOENT,
    );
    ok(rec, "posix.symlink.loop", sys.symlink(&looping, &looping));
    fails(rec, "posix.symlink.loop-eloop", sys.stat(&looping), Errno::ELOOP);
    ok(rec, "posix.symlink.rename-the-link", sys.rename(&dangling, &moved));
    rec.expect_eq("posix.symlink.moved-link", sys.readlink(&moved), Ok(b"nowhere".to_vec()));
    ok(rec, "posix.symlink.unlink-the-link", sys.unlink(&link));
    fails(rec, "posix.symlink.link-gone-enoent", sys.lstat(&link), Errno::ENOENT);
    rec.expect_eq("posix.symlink.target-stays", sys.stat(&target).map(|s| s.nlink), Ok(1));
    for name in [&target, &dir_link, &looping, &moved] {
        ok(rec, "posix.symlink.unlink", sys.unlink(name));
    }
    rec.expect_eq("posix.symlink.dir-stays", sys.stat(DIR).map(|s| s.kind), Ok(kind::DIRECTORY));
}

/// mkdir, EEXIST, getdents listing, ENOTEMPTY, chdir with relative paths, rmdir.
fn directories(sys: &Sys<'_>, rec: &Checks) {
    let dir = path("dir");
    let names = ["one", "two"];
    if ok(rec, "posix.dir.mkdir", sys.mkdir(&dir, DIR_MODE)).is_none() {
        return;
    }
    fails(rec, "posix.dir.mkdir-again-eexist", sys.mkdir(&dir, DIR_MODE), Errno::EEXIST);
    for name in names {
        if let Ok(fd) = sys.open(&format!("{dir}/{name}"), O_CREAT | O_WRONLY | O_EXCL, FILE_MODE) {
            let _ = sys.close(fd);
        }
    }
    let listed = sys.list_dir(&dir).map(|entries| {
        let mut found: Vec<String> = entries.into_iter().map(|e| e.name).filter(|n| n != "." && n != "..").collect();
        found.sort();
        found
    });
    rec.expect_eq("posix.dir.getdents-lists-the-files", listed, Ok(names.iter().map(|n| n.to_string()).collect()));
    fails(rec, "posix.dir.rmdir-non-empty-enotempty", sys.rmdir(&dir), Errno::ENOTEMPTY);
    if ok(rec, "posix.dir.chdir", sys.chdir(&dir)).is_some() {
        rec.expect_eq("posix.dir.relative-stat", sys.stat(names[0]).map(|s| s.kind), Ok(kind::REGULAR));
        fails(rec, "posix.dir.relative-missing-enoent", sys.stat("three"), Errno::ENOENT);
        ok(rec, "posix.dir.chdir-back", sys.chdir("/"));
    }
    fails(rec, "posix.dir.file-as-dir-enotdir", sys.open(&format!("{dir}/one/x"), O_RDONLY, 0), Errno::ENOTDIR);
    fails(
        rec,
        "posix.dir.o-directory-on-file",
        sys.open(&format!("{dir}/one"), O_RDONLY | O_DIRECTORY, 0),
        Errno::ENOTDIR,
    );
    for name in names {
        ok(rec, "posix.dir.unlink-entry", sys.unlink(&format!("{dir}/{name}")));
    }
    ok(rec, "posix.dir.rmdir", sys.rmdir(&dir));
    fails(rec, "posix.dir.removed-enoent", sys.stat(&dir), Errno::ENOENT);
    fails(rec, "posix.dir.rmdir-missing-enoent", sys.rmdir(&dir), Errno::ENOENT);
}

/// brk grows the heap into usable memory and shrinks it back; past the limit is ENOMEM.
fn heap_growth(sys: &Sys<'_>, rec: &Checks) {
    let Some(start) = ok(rec, "posix.brk.query", sys.brk(0)) else { return };
    let end = start + BRK_PAGES * PAGE;
    rec.expect_eq("posix.brk.grows", sys.brk(end), Ok(end));
    let fill = vec![FILL; (end - start) as usize];
    let mut back = vec![0u8; fill.len()];
    let usable = sys.proc().mem_write(start, &fill).is_ok() && sys.proc().mem_read(start, &mut back).is_ok();
    rec.check("posix.brk.new-memory-usable", usable && back == fill, || "the grown heap did not keep its bytes".into());
    rec.expect_eq("posix.brk.shrinks", sys.brk(start), Ok(start));
    fails(rec, "posix.brk.past-limit-enomem", sys.brk(HEAP_LIMIT + PAGE), Errno::ENOMEM);
    rec.expect_eq("posix.brk.unchanged-after-failure", sys.brk(0), Ok(start));
}

/// An anonymous mapping is zeroed and usable, mprotect makes a page read-only and back; after
/// munmap it is gone.
fn anonymous_mappings(sys: &Sys<'_>, rec: &Checks) {
    let len = MMAP_PAGES * PAGE;
    let Some(addr) = ok(rec, "posix.mmap.map", sys.mmap(len, true)) else { return };
    rec.check("posix.mmap.page-aligned", addr % PAGE == 0, || format!("mapped at {addr:#x}"));
    let mut back = vec![FILL; len as usize];
    let zeroed = sys.proc().mem_read(addr, &mut back).is_ok() && back.iter().all(|&b| b == 0);
    rec.check("posix.mmap.zeroed", zeroed, || "a fresh mapping was not zero".into());
    let fill = vec![FILL; len as usize];
    let usable = sys.proc().mem_write(addr, &fill).is_ok() && sys.proc().mem_read(addr, &mut back).is_ok();
    rec.check("posix.mmap.usable", usable && back == fill, || "the mapping did not keep its bytes".into());
    // mprotect: the first page read-only (writes fault, bytes stay), then writable again.
    use os::proto::vm::prot::{PROT_READ, PROT_WRITE};
    ok(rec, "posix.mprotect.read-only", sys.mprotect(addr, PAGE, PROT_READ));
    rec.check("posix.mprotect.write-faults", sys.proc().mem_write(addr, &[0]).is_err(), || {
        "a read-only page took a write".into()
    });
    rec.check("posix.mprotect.other-page-writable", sys.proc().mem_write(addr + PAGE, &[FILL]).is_ok(), || {
        "the page after the protected one refused a write".into()
    });
    let listed = sys.vm_regions().map(|map| map.iter().any(|e| e.start == addr && e.pages == 1 && !e.writable));
    rec.expect_eq("posix.mprotect.memory-map-shows-it", listed, Ok(true));
    let mut first = [0u8; 1];
    let kept = sys.proc().mem_read(addr, &mut first).is_ok() && first == [FILL];
    rec.check("posix.mprotect.bytes-kept", kept, || "a read-only page lost its bytes".into());
    ok(rec, "posix.mprotect.writable-again", sys.mprotect(addr, len, PROT_READ | PROT_WRITE));
    rec.check("posix.mprotect.write-again", sys.proc().mem_write(addr, &[0]).is_ok(), || {
        "a page made writable again refused a write".into()
    });
    fails(rec, "posix.mprotect.unaligned-einval", sys.mprotect(addr + 1, PAGE, PROT_READ), Errno::EINVAL);
    // mremap: a mapping grown (moving if it must) keeps its bytes; the new page is zeroed.
    use os::proto::vm::MREMAP_MAYMOVE;
    let Some(addr) = ok(rec, "posix.mremap.grow", sys.mremap(addr, len, len + PAGE, MREMAP_MAYMOVE)) else {
        let _ = sys.munmap(addr, len);
        return;
    };
    let mut moved = [0u8; 2];
    let kept = sys.proc().mem_read(addr + PAGE, &mut moved).is_ok() && moved == [FILL, FILL];
    rec.check("posix.mremap.bytes-kept", kept, || format!("the grown mapping holds {}", for_people(&moved)));
    let fresh = sys.proc().mem_read(addr + len, &mut moved).is_ok() && moved == [0, 0];
    rec.check("posix.mremap.new-page-zeroed", fresh, || format!("the new page holds {}", for_people(&moved)));
    rec.expect_eq("posix.mremap.shrink", sys.mremap(addr, len + PAGE, len, 0), Ok(addr));
    fails(rec, "posix.mremap.zero-length-einval", sys.mremap(addr, len, 0, 0), Errno::EINVAL);
    ok(rec, "posix.mmap.munmap", sys.munmap(addr, len));
    fails(rec, "posix.mprotect.unmapped-enomem", sys.mprotect(addr, PAGE, PROT_READ), Errno::ENOMEM);
    let mut byte = [0u8; 1];
    rec.check("posix.mmap.gone-after-munmap", sys.proc().mem_read(addr, &mut byte).is_err(), || {
        "memory stayed readable after munmap".into()
    });
    fails(rec, "posix.mmap.munmap-unaligned-einval", sys.munmap(addr + 1, len), Errno::EINVAL);
}

/// mmap of a file: the mapping holds the file's bytes, zero past its end; a private one is a copy
/// whose changes stay in it; a shared one may be read, and shows later writes to the file; Linux's
/// errors, and MINIX's refusal of a writable shared one.
fn file_mappings(sys: &Sys<'_>, rec: &Checks) {
    use os::proto::vfs::map::{MAP_PRIVATE, MAP_SHARED};
    use os::proto::vm::prot::{PROT_READ, PROT_WRITE};
    let file = path("mapped");
    let bytes: Vec<u8> = (0..PAGE + 100).map(|i| b'a' + (i % 26) as u8).collect();
    let Some(fd) = ok(rec, "posix.mmap-file.create", sys.open(&file, O_RDWR | O_CREAT, FILE_MODE)) else { return };
    rec.expect_eq("posix.mmap-file.write", sys.write(fd, &bytes), Ok(bytes.len()));
    let len = 2 * PAGE;
    let private = sys.mmap_file(fd, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    if let Some(addr) = ok(rec, "posix.mmap-file.private", private) {
        let mut back = vec![0u8; len as usize];
        let read = sys.proc().mem_read(addr, &mut back).is_ok();
        let (head, tail) = back.split_at(bytes.len());
        rec.check("posix.mmap-file.holds-the-bytes", read && head == bytes, || format!("mapped {}", for_people(&head)));
        rec.check("posix.mmap-file.zero-past-the-end", read && tail.iter().all(|&b| b == 0), || {
            "the mapping holds bytes past the file's end".into()
        });
        let changed = sys.proc().mem_write(addr, b"Z").is_ok();
        let mut first = [0u8; 1];
        let file_kept = sys.lseek(fd, 0, SEEK_SET).is_ok() && sys.read(fd, &mut first) == Ok(1) && first[0] == bytes[0];
        rec.check("posix.mmap-file.private-change-stays", changed && file_kept, || {
            format!("the file's first byte is {} after a write to a private mapping", for_people(&first))
        });
        ok(rec, "posix.mmap-file.munmap", sys.munmap(addr, len));
    }
    if let Some(addr) = ok(rec, "posix.mmap-file.shared", sys.mmap_file(fd, PAGE, PAGE, PROT_READ, MAP_SHARED)) {
        let mut back = vec![0u8; 100];
        let read = sys.proc().mem_read(addr, &mut back).is_ok() && back == bytes[PAGE as usize..];
        rec.check("posix.mmap-file.from-an-offset", read, || format!("mapped {}", for_people(&back)));
        rec.check("posix.mmap-file.read-only-write-faults", sys.proc().mem_write(addr, b"x").is_err(), || {
            "a read-only file mapping took a write".into()
        });
        // A shared mapping shows the file as it is written.
        ok(rec, "posix.mmap-file.seek", sys.lseek(fd, (PAGE + 10) as i64, SEEK_SET));
        rec.expect_eq("posix.mmap-file.write-under-shared", sys.write(fd, b"SEEN"), Ok(4));
        let mut seen = [0u8; 4];
        let read = sys.proc().mem_read(addr + 10, &mut seen).is_ok();
        rec.check("posix.mmap-file.shared-sees-writes", read && &seen == b"SEEN", || {
            format!("mapped {}", for_people(&seen))
        });
        ok(rec, "posix.mmap-file.munmap-shared", sys.munmap(addr, PAGE));
    }
    let shared_writable = sys.mmap_file(fd, 0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED);
    fails(rec, "posix.mmap-file.shared-writable-enxio", shared_writable, Errno::ENXIO);
    let unaligned = sys.mmap_file(fd, 1, PAGE, PROT_READ, MAP_PRIVATE);
    fails(rec, "posix.mmap-file.unaligned-offset-einval", unaligned, Errno::EINVAL);
    ok(rec, "posix.mmap-file.close", sys.close(fd));
    fails(rec, "posix.mmap-file.closed-ebadf", sys.mmap_file(fd, 0, PAGE, PROT_READ, MAP_PRIVATE), Errno::EBADF);
    if let Some(wo) = ok(rec, "posix.mmap-file.open-write-only", sys.open(&file, O_WRONLY, 0)) {
        let mapped = sys.mmap_file(wo, 0, PAGE, PROT_READ, MAP_PRIVATE);
        fails(rec, "posix.mmap-file.write-only-eacces", mapped, Errno::EACCES);
        ok(rec, "posix.mmap-file.close-write-only", sys.close(wo));
    }
    if let Some(dir) = ok(rec, "posix.mmap-file.open-dir", sys.open(DIR, O_RDONLY | O_DIRECTORY, 0)) {
        fails(rec, "posix.mmap-file.dir-enodev", sys.mmap_file(dir, 0, PAGE, PROT_READ, MAP_PRIVATE), Errno::ENODEV);
        ok(rec, "posix.mmap-file.close-dir", sys.close(dir));
    }
    ok(rec, "posix.mmap-file.unlink", sys.unlink(&file));
}

/// exec of `/bin/true` and `/bin/false` (their exit statuses), and execs that fail.
fn exec_programs(sys: &Sys<'_>, rec: &Checks) {
    for (program, code, name) in
        [("/bin/true", 0, "posix.exec.true-exits-0"), ("/bin/false", 1, "posix.exec.false-exits-1")]
    {
        let child_rec = rec.clone();
        let forked = sys.fork(move |c| {
            let failed = c.exec(program, &[program]);
            child_rec.check("posix.exec.exec", false, || format!("exec {program} failed with {failed}"));
            EXEC_RETURNED_CODE
        });
        if let Some(pid) = ok(rec, "posix.exec.fork", forked) {
            reap(sys, rec, name, pid, exit_status(code));
        }
    }
    // Failed execs return to the caller, which goes on: try them in a child all the same, so a
    // wrong success cannot replace init.
    let child_rec = rec.clone();
    let forked = sys.fork(move |c| {
        let missing = c.exec(&path("no-such-program"), &["no-such-program"]);
        child_rec.expect_eq("posix.exec.missing-enoent", missing, Errno::ENOENT);
        let not_executable = c.exec(ROOT_FILE, &["motd"]);
        child_rec.expect_eq("posix.exec.not-executable-eacces", not_executable, Errno::EACCES);
        child_rec.expect_eq("posix.exec.caller-survives", c.getppid(), Ok(INIT_PID));
        0
    });
    if let Some(pid) = ok(rec, "posix.exec.fork-failing", forked) {
        reap(sys, rec, "posix.exec.failed-exec-child-status", pid, exit_status(0));
    }
}

/// The error numbers of common mistakes.
fn error_numbers(sys: &Sys<'_>, rec: &Checks) {
    let mut buf = [0u8; READ_BUF];
    fails(rec, "posix.errno.read-unopened-ebadf", sys.read(NEVER_OPEN_FD, &mut buf), Errno::EBADF);
    fails(rec, "posix.errno.close-unopened-ebadf", sys.close(NEVER_OPEN_FD), Errno::EBADF);
    fails(rec, "posix.errno.close-negative-ebadf", sys.close(-1), Errno::EBADF);
    fails(rec, "posix.errno.open-missing-enoent", sys.open(&path("missing"), O_RDONLY, 0), Errno::ENOENT);
    fails(
        rec,
        "posix.errno.missing-parent-enoent",
        sys.open(&path("missing/file"), O_CREAT | O_WRONLY, FILE_MODE),
        Errno::ENOENT,
    );
    let file = path("exclusive");
    if let Some(fd) = ok(rec, "posix.errno.create", sys.open(&file, O_CREAT | O_EXCL | O_WRONLY, FILE_MODE)) {
        ok(rec, "posix.errno.close", sys.close(fd));
        fails(rec, "posix.errno.o-excl-eexist", sys.open(&file, O_CREAT | O_EXCL | O_WRONLY, FILE_MODE), Errno::EEXIST);
        fails(rec, "posix.errno.mkdir-over-file-eexist", sys.mkdir(&file, DIR_MODE), Errno::EEXIST);
        fails(rec, "posix.errno.rmdir-file-enotdir", sys.rmdir(&file), Errno::ENOTDIR);
        ok(rec, "posix.errno.unlink", sys.unlink(&file));
    }
    fails(rec, "posix.errno.unlink-dir-eisdir", sys.unlink(DIR), Errno::EISDIR);
    fails(rec, "posix.errno.wait-no-children-echild", sys.wait(), Errno::ECHILD);
    fails(rec, "posix.errno.waitpid-stranger-echild", sys.waitpid(NO_SUCH_PID, 0), Errno::ECHILD);
    fails(rec, "posix.errno.kill-missing-esrch", sys.kill(NO_SUCH_PID, sig::SIGTERM), Errno::ESRCH);
}

/// After setuid to an ordinary user, going back to root is EPERM and root's files are closed to
/// writing (EACCES).
fn setuid_drops_privilege(sys: &Sys<'_>, rec: &Checks) {
    let child_rec = rec.clone();
    let forked = sys.fork(move |c| {
        let rec = child_rec;
        ok(&rec, "posix.setuid.become-user", c.setuid(UNPRIVILEGED_UID));
        rec.expect_eq(
            "posix.setuid.uid-changed",
            c.getuid().map(|ids| (ids.uid, ids.euid)),
            Ok((UNPRIVILEGED_UID, UNPRIVILEGED_UID)),
        );
        fails(&rec, "posix.setuid.back-to-root-eperm", c.setuid(ROOT_UID), Errno::EPERM);
        fails(&rec, "posix.setuid.write-root-file-eacces", c.open(ROOT_FILE, O_WRONLY, 0), Errno::EACCES);
        fails(&rec, "posix.setuid.kill-init-eperm", c.kill(INIT_PID, 0), Errno::EPERM);
        0
    });
    if let Some(pid) = ok(rec, "posix.setuid.fork", forked) {
        reap(sys, rec, "posix.setuid.child-status", pid, exit_status(0));
    }
    rec.expect_eq("posix.setuid.parent-still-root", sys.getuid().map(|ids| ids.uid), Ok(ROOT_UID));
}

/// Nice values: set and read back, inherited by a child, nice() adding to it, lowering it is
/// root's (EACCES), another user's process is EPERM, bad `which` and values are EINVAL, no such
/// process is ESRCH; root sets a child's; init's goes back to 0.
fn priorities(sys: &Sys<'_>, rec: &Checks) {
    rec.expect_eq("posix.priority.init-default", sys.getpriority(PRIO_PROCESS, 0), Ok(0));
    ok(rec, "posix.priority.set-own", sys.setpriority(PRIO_PROCESS, 0, INHERITED_NICE));
    rec.expect_eq("posix.priority.read-back", sys.getpriority(PRIO_PROCESS, INIT_PID), Ok(INHERITED_NICE));
    let child_rec = rec.clone();
    let forked = sys.fork(move |c| {
        let rec = child_rec;
        rec.expect_eq("posix.priority.inherited", c.getpriority(PRIO_PROCESS, 0), Ok(INHERITED_NICE));
        rec.expect_eq("posix.priority.nice-adds", c.nice(NICE_STEP), Ok(INHERITED_NICE + NICE_STEP));
        rec.expect_eq("posix.priority.nice-clamps", c.nice(PRIO_MAX * 2), Ok(PRIO_MAX));
        ok(&rec, "posix.priority.child-become-user", c.setuid(UNPRIVILEGED_UID));
        fails(&rec, "posix.priority.lower-unprivileged-eacces", c.setpriority(PRIO_PROCESS, 0, 0), Errno::EACCES);
        fails(&rec, "posix.priority.others-process-eperm", c.getpriority(PRIO_PROCESS, INIT_PID), Errno::EPERM);
        fails(&rec, "posix.priority.set-others-eperm", c.setpriority(PRIO_PROCESS, INIT_PID, PRIO_MAX), Errno::EPERM);
        0
    });
    if let Some(pid) = ok(rec, "posix.priority.fork", forked) {
        reap(sys, rec, "posix.priority.child-status", pid, exit_status(0));
    }
    if let Some(pid) = ok(rec, "posix.priority.fork-spinner", fork_spinner(sys, rec)) {
        ok(rec, "posix.priority.root-sets-childs", sys.setpriority(PRIO_PROCESS, pid, PRIO_MIN));
        rec.expect_eq("posix.priority.childs-read-back", sys.getpriority(PRIO_PROCESS, pid), Ok(PRIO_MIN));
        ok(rec, "posix.priority.kill-spinner", sys.kill(pid, sig::SIGKILL));
        reap(sys, rec, "posix.priority.spinner-reaped", pid, signal_status(sig::SIGKILL));
        fails(rec, "posix.priority.reaped-esrch", sys.getpriority(PRIO_PROCESS, pid), Errno::ESRCH);
    }
    fails(rec, "posix.priority.pgrp-einval", sys.getpriority(PRIO_PGRP, 0), Errno::EINVAL);
    fails(rec, "posix.priority.user-einval", sys.setpriority(PRIO_USER, 0, 0), Errno::EINVAL);
    fails(rec, "posix.priority.above-max-einval", sys.setpriority(PRIO_PROCESS, 0, PRIO_MAX + 1), Errno::EINVAL);
    fails(rec, "posix.priority.below-min-einval", sys.setpriority(PRIO_PROCESS, 0, PRIO_MIN - 1), Errno::EINVAL);
    fails(rec, "posix.priority.no-such-pid-esrch", sys.getpriority(PRIO_PROCESS, NO_SUCH_PID), Errno::ESRCH);
    // Root may lower it again.
    ok(rec, "posix.priority.root-lowers", sys.setpriority(PRIO_PROCESS, 0, 0));
    rec.expect_eq("posix.priority.back-to-default", sys.getpriority(PRIO_PROCESS, 0), Ok(0));
}

// ---- signals, timers, groups, ids, clocks ---------------------------------------------------------

/// An ITIMER_REAL short enough for the suite (wall time under `threads`), long enough that the
/// call it interrupts is blocked by then: 10 ms.
const SHORT_TIMER_US: u64 = 10_000;
/// Expiries of the periodic timer test.
const PERIODIC_RUNS: u32 = 3;
/// alarm()'s seconds in the remaining-time test: far past the test's end.
const FAR_ALARM_SECONDS: u32 = 100;
/// Supplementary groups the groups test sets.
const SOME_GROUPS: [u32; 2] = [5, 6];
/// A time clock_settime sets CLOCK_REALTIME to: 2001-09-09, 10^9 seconds after the Epoch.
const SOME_EPOCH_SECONDS: i64 = 1_000_000_000;
/// No clock has this id.
const NO_SUCH_CLOCK: i32 = 99;
/// No getrusage `who` or itimer `which` has this value.
const NO_SUCH_WHICH: i32 = 9;
/// Pages of the stack region, which getrusage reports as vm's part.
const STACK_PAGES: u64 = os::proto::vm::layout::STACK_PAGES;

fn counting(flags: u32) -> SigAction {
    SigAction::Handler { handler: count_handler_run, mask: 0, flags }
}

/// A handler runs for each signal the process sends itself, sigaction answers the old action,
/// SA_RESETHAND's second signal takes the default action, and SIG_IGN ignores.
fn signal_handlers(sys: &Sys<'_>, rec: &Checks) {
    ok(rec, "posix.sighandler.reset-count", reset_handler_runs(sys));
    ok(rec, "posix.sighandler.install", sys.sigaction(sig::SIGUSR1, Some(counting(0))));
    rec.expect_eq("posix.sighandler.read-back", sys.sigaction(sig::SIGUSR1, None), Ok(counting(0)));
    for round in 1..=2 {
        ok(rec, "posix.sighandler.self-kill", sys.kill(INIT_PID, sig::SIGUSR1));
        rec.expect_eq("posix.sighandler.ran-once-per-signal", handler_runs(sys), Ok(round));
    }
    rec.expect_eq("posix.sighandler.mask-restored", sys.sigmask(), Ok(0));
    rec.expect_eq(
        "posix.sighandler.old-action",
        sys.sigaction(sig::SIGUSR1, Some(SigAction::Default)),
        Ok(counting(0)),
    );
    // SA_RESETHAND: the handler runs once, then the default (terminate) applies.
    let child_rec = rec.clone();
    let forked = sys.fork(move |c| {
        let rec = child_rec;
        ok(&rec, "posix.sighandler.child-reset-count", reset_handler_runs(c));
        ok(&rec, "posix.sighandler.resethand", c.sigaction(sig::SIGUSR2, Some(counting(SA_RESETHAND))));
        let me = c.getpid().unwrap_or(0);
        ok(&rec, "posix.sighandler.first-kill", c.kill(me, sig::SIGUSR2));
        rec.expect_eq("posix.sighandler.reset-to-default", c.sigaction(sig::SIGUSR2, None), Ok(SigAction::Default));
        ok(&rec, "posix.sighandler.ignore", c.sigaction(sig::SIGTERM, Some(SigAction::Ignore)));
        ok(&rec, "posix.sighandler.ignored-kill", c.kill(me, sig::SIGTERM));
        rec.expect_eq("posix.sighandler.handler-ran-once", handler_runs(c), Ok(1));
        let _ = c.kill(me, sig::SIGUSR2);
        GAVE_UP_CODE
    });
    if let Some(pid) = ok(rec, "posix.sighandler.fork", forked) {
        reap(sys, rec, "posix.sighandler.second-signal-kills", pid, signal_status(sig::SIGUSR2));
    }
    // A signal to a process group: the sender's own handler runs, and the group member that
    // takes the default dies of it.
    let child_rec = rec.clone();
    let forked = sys.fork(move |c| {
        let rec = child_rec;
        ok(&rec, "posix.sighandler.own-group", c.setpgid(0, 0));
        let member = c.fork(|g| {
            // Waits to be signalled with its group.
            for _ in 0..SPIN_ROUNDS {
                if g.getpid().is_err() {
                    break;
                }
                g.proc().yield_now();
            }
            GAVE_UP_CODE
        });
        let Some(member) = ok(&rec, "posix.sighandler.fork-member", member) else { return GAVE_UP_CODE };
        ok(&rec, "posix.sighandler.group-reset-count", reset_handler_runs(c));
        ok(&rec, "posix.sighandler.group-catch", c.sigaction(sig::SIGUSR1, Some(counting(0))));
        ok(&rec, "posix.sighandler.kill-group", c.kill(0, sig::SIGUSR1));
        rec.expect_eq("posix.sighandler.sender-handled", handler_runs(c), Ok(1));
        reap(c, &rec, "posix.sighandler.member-killed", member, signal_status(sig::SIGUSR1));
        fails(&rec, "posix.sighandler.empty-group-esrch", c.kill(-NO_SUCH_PID, sig::SIGUSR1), Errno::ESRCH);
        0
    });
    if let Some(pid) = ok(rec, "posix.sighandler.fork-group", forked) {
        reap(sys, rec, "posix.sighandler.group-test-status", pid, exit_status(0));
    }
}

/// Masks, pending sets, sigsuspend, and the errors of the signal calls.
fn signal_masks_and_errors(sys: &Sys<'_>, rec: &Checks) {
    ok(rec, "posix.sigmask.reset-count", reset_handler_runs(sys));
    ok(rec, "posix.sigmask.install", sys.sigaction(sig::SIGUSR1, Some(counting(0))));
    let usr1 = sig_bit(sig::SIGUSR1);
    rec.expect_eq("posix.sigmask.block", sys.sigprocmask(SIG_BLOCK, usr1), Ok(0));
    ok(rec, "posix.sigmask.kill-blocked", sys.kill(INIT_PID, sig::SIGUSR1));
    rec.expect_eq("posix.sigmask.not-run-while-blocked", handler_runs(sys), Ok(0));
    // sigsuspend waits for the pending signal: with none pending (a call above failed) it would
    // wait for ever.
    if rec.expect_eq("posix.sigmask.pending", sys.sigpending(), Ok(usr1)) {
        rec.expect_eq("posix.sigmask.sigsuspend-eintr", sys.sigsuspend(0), Errno::EINTR);
    }
    rec.expect_eq("posix.sigmask.ran-in-sigsuspend", handler_runs(sys), Ok(1));
    rec.expect_eq("posix.sigmask.mask-back-after-sigsuspend", sys.sigmask(), Ok(usr1));
    rec.expect_eq("posix.sigmask.none-pending", sys.sigpending(), Ok(0));
    ok(rec, "posix.sigmask.kill-blocked-again", sys.kill(INIT_PID, sig::SIGUSR1));
    rec.expect_eq("posix.sigmask.unblock-delivers", sys.sigprocmask(SIG_UNBLOCK, usr1), Ok(usr1));
    rec.expect_eq("posix.sigmask.ran-on-unblock", handler_runs(sys), Ok(2));
    ok(rec, "posix.sigmask.ignore-pending", sys.sigprocmask(SIG_BLOCK, usr1));
    ok(rec, "posix.sigmask.kill-then-ignore", sys.kill(INIT_PID, sig::SIGUSR1));
    ok(rec, "posix.sigmask.set-ignore", sys.sigaction(sig::SIGUSR1, Some(SigAction::Ignore)));
    rec.expect_eq("posix.sigmask.ignoring-discards-pending", sys.sigpending(), Ok(0));
    ok(rec, "posix.sigmask.setmask", sys.sigprocmask(SIG_SETMASK, 0));
    ok(rec, "posix.sigmask.default", sys.sigaction(sig::SIGUSR1, Some(SigAction::Default)));
    // SIGKILL and SIGSTOP stay unblockable, uncatchable, unignorable.
    ok(rec, "posix.sigmask.block-all", sys.sigprocmask(SIG_SETMASK, !0));
    let unstoppable = sig_bit(sig::SIGKILL) | sig_bit(sig::SIGSTOP);
    rec.expect_eq("posix.sigmask.kill-stop-unblocked", sys.sigmask().map(|m| m & unstoppable), Ok(0));
    ok(rec, "posix.sigmask.unblock-all", sys.sigprocmask(SIG_SETMASK, 0));
    fails(rec, "posix.sigmask.catch-sigkill-einval", sys.sigaction(sig::SIGKILL, Some(counting(0))), Errno::EINVAL);
    fails(
        rec,
        "posix.sigmask.ignore-sigstop-einval",
        sys.sigaction(sig::SIGSTOP, Some(SigAction::Ignore)),
        Errno::EINVAL,
    );
    fails(rec, "posix.sigmask.signal-0-einval", sys.sigaction(0, None), Errno::EINVAL);
    fails(rec, "posix.sigmask.past-nsig-einval", sys.sigaction(sig::NSIG + 1, None), Errno::EINVAL);
    fails(rec, "posix.sigmask.bad-flags-einval", sys.sigaction(sig::SIGUSR1, Some(counting(1))), Errno::EINVAL);
    fails(rec, "posix.sigmask.bad-how-einval", sys.sigprocmask(-1, 0), Errno::EINVAL);
    stop_and_continue(sys, rec);
}

/// Rounds of getpid a child makes before it exits on its own: far fewer than a 10 ms timer's
/// worth, so only a stop keeps it alive that long.
const STOPPED_CHILD_ROUNDS: u32 = 50;

/// SIGSTOP stops a child (it does not exit while a timer runs out), SIGTERM waits while it is
/// stopped, SIGCONT lets it go on and the waiting SIGTERM then ends it.
fn stop_and_continue(sys: &Sys<'_>, rec: &Checks) {
    ok(rec, "posix.stop.reset-count", reset_handler_runs(sys));
    ok(rec, "posix.stop.catch-sigalrm", sys.sigaction(sig::SIGALRM, Some(counting(0))));
    let forked = sys.fork(|c| {
        for _ in 0..STOPPED_CHILD_ROUNDS {
            if c.getpid().is_err() {
                break;
            }
            c.proc().yield_now();
        }
        0
    });
    if let Some(pid) = ok(rec, "posix.stop.fork", forked) {
        ok(rec, "posix.stop.sigstop", sys.kill(pid, sig::SIGSTOP));
        let timer = Itimer { value_us: SHORT_TIMER_US, interval_us: 0 };
        // Without the timer nothing would end the wait for a stopped child, nor with SIGALRM
        // blocked (a mask call above that failed).
        let unblocked = ok(rec, "posix.stop.unblock-all", sys.sigprocmask(SIG_SETMASK, 0)).is_some();
        if unblocked && ok(rec, "posix.stop.timer", sys.setitimer(ITIMER_REAL, timer)).is_some() {
            fails(rec, "posix.stop.stopped-child-does-not-end", sys.waitpid(pid, 0), Errno::EINTR);
        }
        ok(rec, "posix.stop.sigterm-waits", sys.kill(pid, sig::SIGTERM));
        let continued = ok(rec, "posix.stop.sigcont", sys.kill(pid, sig::SIGCONT)).is_some();
        // A child still stopped would never end: SIGKILL ends even a stopped process, and if that
        // fails too the test does not wait for it.
        if continued || sys.kill(pid, sig::SIGKILL).is_ok() {
            reap(sys, rec, "posix.stop.continued-then-terminated", pid, signal_status(sig::SIGTERM));
        }
    }
    ok(rec, "posix.stop.default-sigalrm", sys.sigaction(sig::SIGALRM, Some(SigAction::Default)));
    ok(rec, "posix.stop.sigcont-to-running-is-nothing", sys.kill(INIT_PID, sig::SIGCONT));
}

/// alarm and ITIMER_REAL: SIGALRM interrupts sigsuspend; a periodic timer fires again; alarm
/// answers the seconds left; the CPU-time timers are not kept.
fn timers_and_alarms(sys: &Sys<'_>, rec: &Checks) {
    ok(rec, "posix.timer.reset-count", reset_handler_runs(sys));
    ok(rec, "posix.timer.catch-sigalrm", sys.sigaction(sig::SIGALRM, Some(counting(0))));
    let once = Itimer { value_us: SHORT_TIMER_US, interval_us: 0 };
    // Each wait below waits for the timer just set: when setting it failed, nothing would end it.
    if rec.expect_eq("posix.timer.set-once", sys.setitimer(ITIMER_REAL, once), Ok(Itimer::default())) {
        rec.expect_eq("posix.timer.expiry-interrupts-sigsuspend", sys.sigsuspend(0), Errno::EINTR);
    }
    rec.expect_eq("posix.timer.handler-ran", handler_runs(sys), Ok(1));
    rec.expect_eq("posix.timer.stopped-after-once", sys.getitimer(ITIMER_REAL), Ok(Itimer::default()));
    let periodic = Itimer { value_us: SHORT_TIMER_US, interval_us: SHORT_TIMER_US };
    if ok(rec, "posix.timer.set-periodic", sys.setitimer(ITIMER_REAL, periodic)).is_some() {
        for _ in 0..PERIODIC_RUNS {
            rec.expect_eq("posix.timer.periodic-expiry", sys.sigsuspend(0), Errno::EINTR);
        }
    }
    rec.expect_eq(
        "posix.timer.periodic-still-armed",
        sys.setitimer(ITIMER_REAL, Itimer::default()).map(|old| old.interval_us),
        Ok(SHORT_TIMER_US),
    );
    // Counted once the timer is off: under the threads engine its period is wall time, and a
    // busy machine may let it ring once more between the last sigsuspend and the disarm.
    let ran = handler_runs(sys);
    rec.check("posix.timer.periodic-ran", ran.is_ok_and(|n| n > PERIODIC_RUNS), || {
        format!("the handler ran {} times; at least {} expected", for_people(&ran), 1 + PERIODIC_RUNS)
    });
    // A read of an empty pipe, suspended in vfs, is ended by the expiry with EINTR (pm unpauses
    // it); the pipe works on.
    if let Some((r, w)) = ok(rec, "posix.timer.pipe", sys.pipe()) {
        // The expiry ends the read only if SIGALRM is not blocked.
        let unblocked = ok(rec, "posix.timer.unblock-all", sys.sigprocmask(SIG_SETMASK, 0)).is_some();
        if unblocked && ok(rec, "posix.timer.set-before-read", sys.setitimer(ITIMER_REAL, once)).is_some() {
            let mut buf = [0u8; READ_BUF];
            fails(rec, "posix.timer.interrupts-pipe-read-eintr", sys.read(r, &mut buf), Errno::EINTR);
        }
        rec.expect_eq("posix.timer.ran-for-the-read", handler_runs(sys), ran.map(|n| n + 1));
        rec.expect_eq(
            "posix.timer.pipe-still-works",
            sys.write(w, PING).and_then(|_| read_some(sys, r)),
            Ok(PING.to_vec()),
        );
        ok(rec, "posix.timer.close-read-end", sys.close(r));
        ok(rec, "posix.timer.close-write-end", sys.close(w));
    }
    rec.expect_eq("posix.timer.alarm-none-before", sys.alarm(FAR_ALARM_SECONDS), Ok(0));
    rec.expect_eq("posix.timer.alarm-seconds-left", sys.alarm(0), Ok(FAR_ALARM_SECONDS));
    rec.expect_eq("posix.timer.alarm-cancelled", sys.getitimer(ITIMER_REAL), Ok(Itimer::default()));
    fails(rec, "posix.timer.virtual-enosys", sys.getitimer(ITIMER_VIRTUAL), Errno::ENOSYS);
    fails(rec, "posix.timer.bad-which-einval", sys.setitimer(NO_SUCH_WHICH, once), Errno::EINVAL);
    let too_long = Itimer { value_us: u64::MAX, interval_us: 0 };
    fails(rec, "posix.timer.too-long-einval", sys.setitimer(ITIMER_REAL, too_long), Errno::EINVAL);
    ok(rec, "posix.timer.default", sys.sigaction(sig::SIGALRM, Some(SigAction::Default)));
    // An uncaught SIGALRM ends the process.
    let forked = sys.fork(|c| {
        // Without the timer nothing would end the wait: the child gives up instead.
        if c.setitimer(ITIMER_REAL, Itimer { value_us: SHORT_TIMER_US, interval_us: 0 }).is_ok() {
            let _ = c.sigsuspend(0);
        }
        GAVE_UP_CODE
    });
    if let Some(pid) = ok(rec, "posix.timer.fork", forked) {
        reap(sys, rec, "posix.timer.sigalrm-default-terminates", pid, signal_status(sig::SIGALRM));
    }
}

/// setsid, getsid, getpgrp, getpgid, setpgid and their errors; a group signalled by kill(-pgid).
fn process_groups_and_sessions(sys: &Sys<'_>, rec: &Checks) {
    rec.expect_eq("posix.session.init-group", sys.getpgrp(), Ok(INIT_PID));
    rec.expect_eq("posix.session.init-session", sys.getsid(0), Ok(INIT_PID));
    fails(rec, "posix.session.leader-setsid-eperm", sys.setsid(), Errno::EPERM);
    fails(rec, "posix.session.getsid-missing-esrch", sys.getsid(NO_SUCH_PID), Errno::ESRCH);
    fails(rec, "posix.session.getpgid-missing-esrch", sys.getpgid(NO_SUCH_PID), Errno::ESRCH);
    fails(rec, "posix.session.setpgid-negative-einval", sys.setpgid(0, -1), Errno::EINVAL);
    fails(rec, "posix.session.setpgid-stranger-esrch", sys.setpgid(NO_SUCH_PID, 0), Errno::ESRCH);
    fails(rec, "posix.session.leader-setpgid-eperm", sys.setpgid(0, 0), Errno::EPERM);
    if let Some(pid) = ok(rec, "posix.session.fork-spinner", fork_spinner(sys, rec)) {
        rec.expect_eq("posix.session.child-inherits-group", sys.getpgid(pid), Ok(INIT_PID));
        fails(rec, "posix.session.setpgid-missing-group-eperm", sys.setpgid(pid, NO_SUCH_PID), Errno::EPERM);
        ok(rec, "posix.session.setpgid-child", sys.setpgid(pid, 0));
        rec.expect_eq("posix.session.child-leads-group", sys.getpgid(pid), Ok(pid));
        rec.expect_eq("posix.session.wait-group-wnohang", sys.waitpid(-pid, WNOHANG), Ok((0, 0)));
        fails(rec, "posix.session.wait-own-group-echild", sys.waitpid(0, WNOHANG), Errno::ECHILD);
        fails(rec, "posix.session.wait-empty-group-echild", sys.waitpid(-NO_SUCH_PID, 0), Errno::ECHILD);
        ok(rec, "posix.session.kill-group", sys.kill(-pid, sig::SIGKILL));
        rec.expect_eq("posix.session.wait-group", sys.waitpid(-pid, 0), Ok((pid, signal_status(sig::SIGKILL))));
    }
    let child_rec = rec.clone();
    let forked = sys.fork(move |c| {
        let rec = child_rec;
        let me = c.getpid().unwrap_or(0);
        rec.expect_eq("posix.session.setsid-new-session", c.setsid(), Ok(me));
        rec.expect_eq("posix.session.own-session", c.getsid(0), Ok(me));
        rec.expect_eq("posix.session.own-group", c.getpgrp(), Ok(me));
        fails(&rec, "posix.session.second-setsid-eperm", c.setsid(), Errno::EPERM);
        fails(&rec, "posix.session.leader-moves-eperm", c.setpgid(0, INIT_PID), Errno::EPERM);
        0
    });
    if let Some(pid) = ok(rec, "posix.session.fork-setsid", forked) {
        reap(sys, rec, "posix.session.setsid-child-status", pid, exit_status(0));
    }
}

/// The exit status of `/bin/issetugid` exec'd in a child of `sys`: 1 when the new image is tainted.
fn exec_issetugid(sys: &Sys<'_>) -> Result<i32, Errno> {
    let pid = sys.fork(|g| {
        g.exec("/bin/issetugid", &["issetugid"]);
        127
    })?;
    sys.waitpid(pid, 0).map(|(_, status)| status)
}

/// getgid, geteuid, getegid, seteuid, setegid, getgroups, setgroups and issetugid, with their
/// errors.
fn effective_ids_and_groups(sys: &Sys<'_>, rec: &Checks) {
    rec.expect_eq("posix.ids.getgid", sys.getgid(), Ok(0));
    rec.expect_eq("posix.ids.init-not-tainted", sys.issetugid(), Ok(false));
    rec.expect_eq("posix.ids.exec-same-ids-not-tainted", exec_issetugid(sys), Ok(exit_status(0)));
    let me = sys.proc().endpoint();
    rec.expect_eq("posix.ids.getepinfo-self", sys.getepinfo(me), Ok((INIT_PID, ROOT_UID, 0)));
    fails(rec, "posix.ids.getepinfo-nobody-esrch", sys.getepinfo(NOBODY_ENDPOINT), Errno::ESRCH);
    rec.expect_eq("posix.ids.getprocnr-self", sys.getprocnr(0), Ok(me));
    rec.expect_eq("posix.ids.getprocnr-own-pid", sys.getprocnr(INIT_PID), Ok(me));
    fails(rec, "posix.ids.getprocnr-nobody-esrch", sys.getprocnr(NO_SUCH_PID), Errno::ESRCH);
    rec.expect_eq("posix.ids.geteuid", sys.geteuid(), Ok(ROOT_UID));
    rec.expect_eq("posix.ids.getegid", sys.getegid(), Ok(0));
    rec.expect_eq("posix.ids.no-groups", sys.getgroups(0), Ok((0, Vec::new())));
    let child_rec = rec.clone();
    let forked = sys.fork(move |c| {
        let rec = child_rec;
        ok(&rec, "posix.ids.setgroups", c.setgroups(&SOME_GROUPS));
        rec.expect_eq("posix.ids.getgroups", c.getgroups(NGROUPS_MAX as i32), Ok((2, SOME_GROUPS.to_vec())));
        rec.expect_eq("posix.ids.count-groups", c.getgroups(0).map(|g| g.0), Ok(2));
        fails(&rec, "posix.ids.getgroups-small-einval", c.getgroups(1), Errno::EINVAL);
        fails(&rec, "posix.ids.getgroups-negative-einval", c.getgroups(-1), Errno::EINVAL);
        fails(&rec, "posix.ids.setgroups-too-many-einval", c.setgroups(&[0; NGROUPS_MAX + 1]), Errno::EINVAL);
        ok(&rec, "posix.ids.seteuid-user", c.seteuid(UNPRIVILEGED_UID));
        rec.expect_eq("posix.ids.euid-changed", c.geteuid(), Ok(UNPRIVILEGED_UID));
        rec.expect_eq("posix.ids.not-tainted-before-exec", c.issetugid(), Ok(false));
        rec.expect_eq("posix.ids.exec-other-euid-tainted", exec_issetugid(c), Ok(exit_status(1)));
        rec.expect_eq("posix.ids.real-uid-kept", c.getuid().map(|i| i.uid), Ok(ROOT_UID));
        fails(&rec, "posix.ids.user-writes-root-file-eacces", c.open(ROOT_FILE, O_WRONLY, 0), Errno::EACCES);
        fails(&rec, "posix.ids.user-setgroups-eperm", c.setgroups(&[]), Errno::EPERM);
        fails(&rec, "posix.ids.user-setegid-eperm", c.setegid(SOME_GROUPS[0]), Errno::EPERM);
        ok(&rec, "posix.ids.seteuid-back-to-real", c.seteuid(ROOT_UID));
        ok(&rec, "posix.ids.setegid-root", c.setegid(SOME_GROUPS[0]));
        rec.expect_eq("posix.ids.egid-changed", c.getegid(), Ok(SOME_GROUPS[0]));
        ok(&rec, "posix.ids.setuid-user", c.setuid(UNPRIVILEGED_UID));
        fails(&rec, "posix.ids.user-seteuid-root-eperm", c.seteuid(ROOT_UID), Errno::EPERM);
        fails(&rec, "posix.ids.user-getprocnr-eperm", c.getprocnr(0), Errno::EPERM);
        let info = c.getepinfo(c.proc().endpoint()).map(|(_, euid, _)| euid);
        rec.expect_eq("posix.ids.getepinfo-effective", info, Ok(UNPRIVILEGED_UID));
        0
    });
    if let Some(pid) = ok(rec, "posix.ids.fork", forked) {
        reap(sys, rec, "posix.ids.child-status", pid, exit_status(0));
    }
}

/// A clock's reading for people: `12.000001000 s`, or `nothing` when the call failed.
fn instant(t: Option<&Timespec>) -> String {
    t.map_or("nothing".to_string(), |t| format!("{}.{:09} s", t.sec, t.nsec))
}

/// clock_gettime, clock_getres, clock_settime (root only), gettimeofday, times, getrusage and
/// uname (the node name root only), with errors.
fn clocks_times_and_usage(sys: &Sys<'_>, rec: &Checks) {
    let first = ok(rec, "posix.clock.monotonic", sys.clock_gettime(CLOCK_MONOTONIC));
    let second = ok(rec, "posix.clock.monotonic-again", sys.clock_gettime(CLOCK_MONOTONIC));
    rec.check("posix.clock.monotonic-never-goes-back", first <= second, || {
        format!("{} then {}", instant(first.as_ref()), instant(second.as_ref()))
    });
    fails(rec, "posix.clock.bad-clock-einval", sys.clock_gettime(NO_SUCH_CLOCK), Errno::EINVAL);
    let microsecond = Timespec { sec: 0, nsec: 1000 };
    rec.expect_eq("posix.clock.getres-realtime", sys.clock_getres(CLOCK_REALTIME), Ok(microsecond));
    rec.expect_eq("posix.clock.getres-monotonic", sys.clock_getres(CLOCK_MONOTONIC), Ok(microsecond));
    fails(rec, "posix.clock.getres-bad-clock-einval", sys.clock_getres(NO_SUCH_CLOCK), Errno::EINVAL);
    let names = sys.uname();
    rec.check(
        "posix.uname.names",
        names.as_ref().is_ok_and(|n| n.sysname == "samsara" && n.nodename == "samsara"),
        || match &names {
            Ok(n) => format!("sysname {:?}, nodename {:?}", n.sysname, n.nodename),
            Err(e) => format!("failed with {e}"),
        },
    );
    ok(rec, "posix.uname.sethostname", sys.sethostname(b"minix-box"));
    rec.expect_eq("posix.uname.new-nodename", sys.uname().map(|n| n.nodename), Ok("minix-box".to_string()));
    fails(rec, "posix.uname.empty-einval", sys.sethostname(b""), Errno::EINVAL);
    fails(rec, "posix.uname.too-long-einval", sys.sethostname(&[b'n'; 65]), Errno::EINVAL);
    fails(rec, "posix.uname.nul-einval", sys.sethostname(b"a\0b"), Errno::EINVAL);
    ok(rec, "posix.uname.restore", sys.sethostname(b"samsara"));
    let epoch = Timespec { sec: SOME_EPOCH_SECONDS, nsec: 0 };
    ok(rec, "posix.clock.settime", sys.clock_settime(CLOCK_REALTIME, epoch));
    let now = sys.gettimeofday();
    rec.check(
        "posix.clock.gettimeofday-after-settime",
        now.is_ok_and(|(s, _)| s >= SOME_EPOCH_SECONDS),
        || match now {
            Ok((sec, usec)) => format!("{sec}.{usec:06} s"),
            Err(e) => format!("failed with {e}"),
        },
    );
    let real = sys.clock_gettime(CLOCK_REALTIME);
    rec.check("posix.clock.realtime-after-settime", real.is_ok_and(|t| t.sec >= SOME_EPOCH_SECONDS), || {
        real.map_or_else(|e| format!("failed with {e}"), |t| instant(Some(&t)))
    });
    fails(rec, "posix.clock.set-monotonic-einval", sys.clock_settime(CLOCK_MONOTONIC, epoch), Errno::EINVAL);
    let bad_nsec = Timespec { sec: SOME_EPOCH_SECONDS, nsec: 1_000_000_000 };
    fails(rec, "posix.clock.bad-nsec-einval", sys.clock_settime(CLOCK_REALTIME, bad_nsec), Errno::EINVAL);
    let before = ok(rec, "posix.clock.times", sys.times());
    let after = ok(rec, "posix.clock.times-again", sys.times());
    rec.check("posix.clock.times-never-goes-back", before <= after, || {
        format!("{} then {}", for_people(&before), for_people(&after))
    });
    let usage = sys.getrusage(RUSAGE_SELF);
    rec.check(
        "posix.rusage.vm-part",
        usage.is_ok_and(|u| u.stack_pages == STACK_PAGES && u.rss_kb > 0),
        || match usage {
            Ok(u) => format!("{} stack pages, {} KiB resident", u.stack_pages, u.rss_kb),
            Err(e) => format!("failed with {e}"),
        },
    );
    fails(rec, "posix.rusage.bad-who-einval", sys.getrusage(NO_SUCH_WHICH), Errno::EINVAL);
    let child_rec = rec.clone();
    let forked = sys.fork(move |c| {
        let rec = child_rec;
        ok(&rec, "posix.clock.become-user", c.setuid(UNPRIVILEGED_UID));
        fails(&rec, "posix.clock.user-settime-eperm", c.clock_settime(CLOCK_REALTIME, epoch), Errno::EPERM);
        fails(&rec, "posix.uname.user-sethostname-eperm", c.sethostname(b"mine"), Errno::EPERM);
        0
    });
    if let Some(pid) = ok(rec, "posix.clock.fork", forked) {
        reap(sys, rec, "posix.clock.child-status", pid, exit_status(0));
    }
}

// ---- descriptor flags, umask, poll ---------------------------------------------------------------

/// Bits umask is set to by the umask test: group write and everything for others.
const TEST_UMASK: u32 = 0o027;
/// poll's timeout when nothing will come, in milliseconds (of the virtual clock under `sim`).
const POLL_TIMEOUT_MS: i32 = 10;
/// poll's bound on the wait for a child's write, in milliseconds: far past the write under
/// either engine, and an end to the wait when the write failed.
const POLL_WRITE_WAIT_MS: i32 = 5_000;
/// The exit code of echo when its write failed (its standard output was closed by exec).
const ECHO_FAILED: i32 = 1;

/// fcntl: F_DUPFD from a floor, FD_CLOEXEC (and exec honouring it), O_APPEND through F_SETFL, and
/// the errors of a closed descriptor and an unknown command.
fn descriptor_and_status_flags(sys: &Sys<'_>, rec: &Checks) {
    use os::proto::vfs::fcntl::*;
    let file = path("flags");
    let Some(fd) = ok(rec, "posix.fcntl.create", sys.open(&file, O_CREAT | O_RDWR | O_TRUNC, FILE_MODE)) else {
        return;
    };
    rec.expect_eq("posix.fcntl.dupfd-from-floor", sys.fcntl(fd, F_DUPFD, DUP2_TARGET), Ok(DUP2_TARGET));
    rec.expect_eq("posix.fcntl.no-cloexec-by-default", sys.fcntl(DUP2_TARGET, F_GETFD, 0), Ok(0));
    ok(rec, "posix.fcntl.setfd", sys.fcntl(DUP2_TARGET, F_SETFD, FD_CLOEXEC));
    rec.expect_eq("posix.fcntl.getfd", sys.fcntl(DUP2_TARGET, F_GETFD, 0), Ok(FD_CLOEXEC));
    ok(rec, "posix.fcntl.setfl-append", sys.fcntl(fd, F_SETFL, O_APPEND as i32));
    rec.expect_eq("posix.fcntl.getfl-shared", sys.fcntl(DUP2_TARGET, F_GETFL, 0), Ok((O_RDWR | O_APPEND) as i32));
    rec.expect_eq("posix.fcntl.write", sys.write(fd, b"ab"), Ok(2));
    ok(rec, "posix.fcntl.rewind", sys.lseek(fd, 0, SEEK_SET));
    rec.expect_eq(
        "posix.fcntl.append-goes-to-end",
        sys.write(fd, b"c").and_then(|_| sys.lseek(fd, 0, SEEK_CUR)),
        Ok(3),
    );
    // A child execs echo with its standard output on a close-on-exec descriptor: echo finds it
    // closed.
    let forked = sys.fork(move |c| {
        if c.dup2(fd, 1).and_then(|_| c.fcntl(1, F_SETFD, FD_CLOEXEC)).is_err() {
            return GAVE_UP_CODE;
        }
        let _ = c.exec("/bin/echo", &["echo", "lost"]);
        EXEC_RETURNED_CODE
    });
    if let Some(pid) = ok(rec, "posix.fcntl.fork", forked) {
        reap(sys, rec, "posix.fcntl.exec-closed-cloexec", pid, exit_status(ECHO_FAILED));
    }
    rec.expect_eq("posix.fcntl.nothing-written-by-exec", read_all(sys, fd), Ok(b"abc".to_vec()));
    fails(rec, "posix.fcntl.closed-ebadf", sys.fcntl(NEVER_OPEN_FD, F_GETFD, 0), Errno::EBADF);
    fails(rec, "posix.fcntl.bad-command-einval", sys.fcntl(fd, u32::MAX, 0), Errno::EINVAL);
    fails(rec, "posix.fcntl.bad-floor-einval", sys.fcntl(fd, F_DUPFD, -1), Errno::EINVAL);
    ok(rec, "posix.fcntl.close-dup", sys.close(DUP2_TARGET));
    ok(rec, "posix.fcntl.close", sys.close(fd));
    ok(rec, "posix.fcntl.unlink", sys.unlink(&file));
}

/// umask clears the bits it names from new files and directories, and a child inherits it; fchdir
/// moves into a directory open on a descriptor; getcwd names it.
fn umask_and_working_directory(sys: &Sys<'_>, rec: &Checks) {
    let Some(old) = ok(rec, "posix.umask.set", sys.umask(TEST_UMASK)) else { return };
    let (file, dir) = (path("masked"), path("maskdir"));
    if let Some(fd) = ok(rec, "posix.umask.create", sys.open(&file, O_CREAT | O_WRONLY, 0o666)) {
        ok(rec, "posix.umask.close", sys.close(fd));
        rec.expect_eq("posix.umask.file-mode", sys.stat(&file).map(|s| s.mode), Ok(0o640));
        ok(rec, "posix.umask.unlink", sys.unlink(&file));
    }
    let child_rec = rec.clone();
    let forked = sys.fork(move |c| {
        child_rec.expect_eq("posix.umask.inherited", c.umask(TEST_UMASK), Ok(TEST_UMASK));
        0
    });
    if let Some(pid) = ok(rec, "posix.umask.fork", forked) {
        reap(sys, rec, "posix.umask.child-status", pid, exit_status(0));
    }
    if ok(rec, "posix.umask.mkdir", sys.mkdir(&dir, 0o777)).is_some() {
        rec.expect_eq("posix.umask.dir-mode", sys.stat(&dir).map(|s| s.mode), Ok(0o750));
        if let Some(fd) = ok(rec, "posix.cwd.open-dir", sys.open(&dir, O_RDONLY | O_DIRECTORY, 0)) {
            ok(rec, "posix.cwd.fchdir", sys.fchdir(fd));
            rec.expect_eq("posix.cwd.getcwd", sys.getcwd(), Ok(dir.clone()));
            ok(rec, "posix.cwd.close-dir", sys.close(fd));
        }
        // Back to the root whatever happened: the scratch directory cannot go while it is the cwd.
        ok(rec, "posix.cwd.back-to-root", sys.chdir("/"));
        rec.expect_eq("posix.cwd.getcwd-root", sys.getcwd(), Ok("/".to_string()));
        ok(rec, "posix.cwd.rmdir", sys.rmdir(&dir));
    }
    fails(rec, "posix.cwd.fchdir-closed-ebadf", sys.fchdir(NEVER_OPEN_FD), Errno::EBADF);
    rec.expect_eq("posix.umask.restore", sys.umask(old), Ok(TEST_UMASK));
}

/// pipe2(O_NONBLOCK): an empty read is EAGAIN; poll sees nothing, then waits for a child's write,
/// times out when nothing comes, and reports a hang-up when the last writer goes.
fn nonblocking_pipes_and_poll(sys: &Sys<'_>, rec: &Checks) {
    use crate::libc::PollFd;
    use os::proto::vfs::flags::{O_CLOEXEC, O_NONBLOCK};
    use os::proto::vfs::poll::{INFTIM, POLLHUP, POLLIN};
    let Some((read_end, write_end)) = ok(rec, "posix.poll.pipe2", sys.pipe2(O_NONBLOCK | O_CLOEXEC)) else { return };
    let mut buf = [0u8; READ_BUF];
    fails(rec, "posix.poll.nonblocking-read-eagain", sys.read(read_end, &mut buf), Errno::EAGAIN);
    let mut fds = [PollFd::new(read_end, POLLIN)];
    rec.expect_eq("posix.poll.nothing-ready", sys.poll(&mut fds, 0), Ok(0));
    let forked = sys.fork(move |c| if c.write(write_end, PING) == Ok(PING.len()) { 0 } else { 1 });
    if let Some(pid) = ok(rec, "posix.poll.fork", forked) {
        // Waits at most the reap's worth of time rather than for ever: a write that failed would
        // never wake it (the parent holds a write end, so no hang-up comes either).
        rec.expect_eq(
            "posix.poll.woken-by-write",
            sys.poll(&mut fds, POLL_WRITE_WAIT_MS).map(|n| (n, fds[0].revents)),
            Ok((1, POLLIN)),
        );
        rec.expect_eq("posix.poll.bytes", read_some(sys, read_end), Ok(PING.to_vec()));
        reap(sys, rec, "posix.poll.writer-status", pid, exit_status(0));
    }
    rec.expect_eq("posix.poll.timeout", sys.poll(&mut fds, POLL_TIMEOUT_MS), Ok(0));
    // The hang-up comes only when the last write end is closed.
    if ok(rec, "posix.poll.close-write-end", sys.close(write_end)).is_some() {
        rec.expect_eq("posix.poll.hang-up", sys.poll(&mut fds, INFTIM).map(|n| (n, fds[0].revents)), Ok((1, POLLHUP)));
    }
    fails(rec, "posix.poll.pipe2-bad-flags-einval", sys.pipe2(O_TRUNC), Errno::EINVAL);
    ok(rec, "posix.poll.close-read-end", sys.close(read_end));
}

/// flock: an exclusive lock keeps another open file out (EAGAIN with LOCK_NB); a child waiting for
/// it gets it once the holder closes its file.
fn whole_file_locks(sys: &Sys<'_>, rec: &Checks) {
    use os::proto::vfs::flock::{LOCK_EX, LOCK_NB, LOCK_SH, LOCK_UN};
    let file = path("locked");
    let Some(holder) = ok(rec, "posix.flock.create", sys.open(&file, O_CREAT | O_RDWR | O_TRUNC, FILE_MODE)) else {
        return;
    };
    ok(rec, "posix.flock.exclusive", sys.flock(holder, LOCK_EX));
    let other = ok(rec, "posix.flock.open-again", sys.open(&file, O_RDONLY, 0));
    if let Some(other) = other {
        fails(rec, "posix.flock.other-open-file-eagain", sys.flock(other, LOCK_SH | LOCK_NB), Errno::EAGAIN);
        ok(rec, "posix.flock.close-other", sys.close(other));
    }
    let child_rec = rec.clone();
    let child_file = file.clone();
    let forked = sys.fork(move |c| {
        // Its copy of `holder` shares the parent's open file: let go of it, then wait with its own.
        // A close that failed leaves it sharing the locked open file: waiting would be for itself.
        if ok(&child_rec, "posix.flock.child-close", c.close(holder)).is_none() {
            return GAVE_UP_CODE;
        }
        let Some(mine) = ok(&child_rec, "posix.flock.child-open", c.open(&child_file, O_RDONLY, 0)) else {
            return GAVE_UP_CODE;
        };
        ok(&child_rec, "posix.flock.child-waits-then-locks", c.flock(mine, LOCK_EX));
        ok(&child_rec, "posix.flock.child-unlock", c.flock(mine, LOCK_UN));
        0
    });
    let released = ok(rec, "posix.flock.holder-closes", sys.close(holder)).is_some();
    if let Some(pid) = ok(rec, "posix.flock.fork", forked) {
        // A close that failed keeps the lock: the child would wait for it for ever, so it is
        // ended (a kill ends a wait suspended in vfs) before the reap.
        if !released {
            let _ = sys.kill(pid, sig::SIGKILL);
        }
        reap(sys, rec, "posix.flock.child-status", pid, exit_status(0));
    }
    fails(rec, "posix.flock.closed-ebadf", sys.flock(NEVER_OPEN_FD, LOCK_SH), Errno::EBADF);
    ok(rec, "posix.flock.unlink", sys.unlink(&file));
}

//! The "strace replay" workload, replaying half: a [`NormalisedTrace`] played back as samsara
//! processes making samsara calls, with the recorded process tree and real execs.
//!
//! Roles. init plays strace's part: it builds the sandbox ([`super::sandbox`]), forks each traced
//! program's root process with stand-ins for stdin, stdout and stderr on fds 0, 1 and 2, then
//! reaps until no child is left (the roots and every orphan it adopts), gathers the reports and
//! cleans up its control files. Each traced pid becomes one samsara process that replays that
//! pid's steps in log order: a `Fork` forks a child that replays the child pid's steps, `Wait`
//! waits for the mapped child, `Exit` exits with the recorded status. A process whose log ends
//! with a death by signal waits (spinning on getpid) to be killed, as the log says it was.
//!
//! Exec is a real exec. Every program the log exec'd exists in the sandbox as a program file
//! naming the `replay` program (`programs::workload`). Before the exec the process writes its plan
//! (its remaining steps and those of its later children, its fd map, its children, its working
//! directory and the checks it has not reported yet) to `CONTROL_DIR/plan.PID`, then execs the
//! recorded path with the recorded argv. The new image, the `replay` program, finds its plan by
//! its own pid (exec keeps it), removes the file and goes on; so argv stays as recorded and the
//! old image is really gone. Descriptors the log opened close-on-exec are closed just before.
//!
//! Reports. Each process keeps its checks and counters and hands them to init when it ends: in
//! memory while it still runs the image init forked (and just before an exec), through one JSON
//! line appended to `CONTROL_DIR/results` after an exec left that memory behind. init merges them
//! once everyone is gone. The failure earliest in the log is the replay's first divergence; every
//! other failure says it came after it (`replay.line-N: ... (after the replay's first divergence,
//! ...)`), so a recovered crash (a call that got `ERECOVERED`) reads as one explained failure and
//! its consequences, in whatever process they show. The replay's own plumbing (plans, reports)
//! retries a call that a recovered crash dropped.
//!
//! Comparisons, where the recorded result is deterministic: success against failure of every
//! call, and the errno name of failures; the byte counts of read, pread, write and copy; lseek's
//! offset; getdents's "empty or not"; brk's "moved where asked"; wait's child (mapped back to its
//! traced pid) and its status against the child's recorded end; readlink's target. What is timing
//! on either side is not held against the log: a pipe read asks for no more than the log's read
//! got (the writer's later bytes had not come yet on Linux) and reads on to that count when it got
//! less (they were there at once on Linux, whose pipes hold 64 KiB), and a wait or
//! read the log shows returning is made again when a signal interrupts it here, and a read of a
//! file the host writes for each reader (`/proc/self/maps`) is compared as "none or some". A call that
//! succeeded on Linux and fails here on a limit of samsara's machine (memory, process slots, open
//! files, the disk) says which limit and where it is set. A mismatch is a failed check named
//! `replay.line-N` saying what was recorded and what happened. Not compared: pids, addresses,
//! fd numbers (fds are mapped: a traced fd stands for whatever samsara returned for it), stat
//! contents.
//!
//! Skipped at replay (counted in `replay.skipped` with the normaliser's own, each reason in
//! `replay.skipped.REASON`): calls on fds a skipped call made (sockets...), waits that only poll
//! (`WNOHANG` recorded as "none yet": timing), kills and waits aimed at processes this one did not
//! fork, signals samsara lacks, brk before any `brk(NULL)`, munmap of addresses no replayed mmap
//! returned, in-kernel copies the host refused (`EXDEV` across file systems: the program's
//! read/write fallback follows in the log). A file-backed mmap maps the file (vfs's VFS_MMAP),
//! so its errors are the file's; its address is not compared.
//!
//! Duties: no input makes the replay panic; every process reports exactly once, when it ends
//! (checked by init, `replay.every-process-reported`, for the processes the log does not show
//! killed: those may die before they get to it); nothing is left of the control files at the end.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::normalise::FcntlCommand;
use super::sandbox::{self, CONTROL_DIR, STDERR, STDIN, STDOUT, Setup};
use super::{
    CallResult, LoadError, NormalisedTrace, OpenFlags, ProcessEnd, ProcessTree, SIGNAL_NAMES, SignalAction, TraceOp,
    TraceStep, UtimeSpec, Whence,
};
use crate::libc::{Itimer, PollFd, SigAction, Sys, Timespec, count_handler_run, handler_runs, reset_handler_runs};
use crate::workload::report::{Recorder, WorkloadReport};
use crate::workload::status_text;
use os::errno::Errno;
use os::proto::Pid;
use os::proto::pm::{
    CLOCK_MONOTONIC, CLOCK_REALTIME, ITIMER_REAL, RUSAGE_CHILDREN, RUSAGE_SELF, SIG_BLOCK, SIG_SETMASK, SIG_UNBLOCK,
    WNOHANG, exit_status, signal_status,
};
use os::proto::vfs::AT_FDCWD;
use os::proto::vfs::fcntl::{F_DUPFD, F_GETFD, F_GETFL, F_SETFD, F_SETFL, FD_CLOEXEC};
use os::proto::vfs::flags::O_NONBLOCK;
use os::proto::vfs::flags::{O_APPEND, O_CREAT, O_DIRECTORY, O_EXCL, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY};
use os::proto::vfs::map::{MAP_PRIVATE, MAP_SHARED};
use os::proto::vfs::mode::PERM_MASK;
use os::proto::vfs::utime::{AT_SYMLINK_NOFOLLOW, UTIME_NOW, UTIME_OMIT};
use os::proto::vfs::whence::{SEEK_CUR, SEEK_END, SEEK_SET};
use os::proto::vm::prot::{PROT_READ, PROT_WRITE};
use os::vfs::state::MAX_FILE_SIZE;

/// The results file: one JSON report per line, from processes that exec'd.
const RESULTS: &str = "/tmp/replay/results";
/// Permission bits of the control directory and its files.
const CONTROL_DIR_MODE: u32 = 0o755;
const CONTROL_FILE_MODE: u32 = 0o644;
/// Permission bits for a file the log created without giving a mode.
const DEFAULT_CREATE_MODE: u32 = 0o644;
/// The most bytes one replayed read, write or copy moves: the largest file samsara holds, so no
/// replayed transfer is cut short by the cap on a file samsara could have.
const IO_MAX_BYTES: u64 = MAX_FILE_SIZE;
/// Bytes per read+write round of a replayed copy.
const COPY_CHUNK: usize = 16 * 1024;
/// The largest mmap replayed: 16 MiB is a quarter of the default machine's memory, far above
/// what the fixtures map (about 2 MiB for libc), so one odd log cannot starve the system.
const MMAP_MAX_BYTES: u64 = 16 * 1024 * 1024;
/// An fd number samsara never has open: a call the log shows failing on an fd the replay never
/// mapped uses it, so samsara fails too (EBADF).
const NEVER_OPEN_FD: i32 = -1;
/// The longest a replayed poll waits, in milliseconds: the log's readiness came from timing the
/// replay does not reproduce, so a poll that waited for ever there must not hang the replay; half
/// a second leaves a `threads` replay on a loaded machine time for the writer to run.
const POLL_WAIT_CAP_MS: i64 = 500;
/// Exit status of the `replay` program when it finds no plan (126, the shell's "cannot run").
pub const NO_PLAN_STATUS: i32 = 126;
/// Exit status of a process that waited to be killed, as its log says, and never was.
const NOT_KILLED_STATUS: i32 = 125;
/// Rounds (a getpid and a yield each) a process waits for the kill its log ends with; its killer
/// sends it within a few rounds under either engine, so this only bounds a replay gone astray.
const LINGER_ROUNDS: u32 = 100_000;
/// Errors of a recorded copy (`copy_file_range`, `sendfile`) that say the host kernel could not copy
/// in place (another file system, an unsupported file type): facts about the host's mounts, not
/// the program. Programs fall back to read and write, which the log shows next; the replay skips
/// the failed copy so its files stay in step with the log.
const HOST_COPY_REFUSALS: [&str; 4] = ["EXDEV", "EOPNOTSUPP", "ENOSYS", "EINVAL"];
/// Attempts of a call of the replay's own plumbing (plan handover, reports) that a recovered
/// crash dropped (ERECOVERED: rolled back, so trying again is safe): a second crash in the same
/// run is rare, a third rarer still.
const PLUMBING_ATTEMPTS: u32 = 3;
/// Times a call the log shows returning is made while signals interrupt it here: each
/// interruption is one signal the replay's timing brought (a child's end), and a process has few
/// children, so more means the replay has gone astray.
const INTERRUPTED_ATTEMPTS: u32 = 16;
/// The lowest fd a stdio pipe's end is kept at in init, above stdin, stdout and stderr.
const FIRST_PIPE_FD: i32 = 3;
/// Where the host keeps files it writes for each reader (`/proc/self/maps` lists the reader's
/// own mappings): two processes of a log read different lengths from one such path.
const PER_READER_FILES: &str = "/proc/";
/// Bytes read per call when reading a plan or the results back.
const READ_CHUNK: usize = 16 * 1024;

/// The traced program's stdio: fd, the stand-in file (in the control directory), open flags.
const STDIO: [(i32, &str, u32); 3] = [(0, STDIN, O_RDONLY), (1, STDOUT, O_WRONLY), (2, STDERR, O_WRONLY)];
/// The number of a signal as a log names it (`SIGTERM`, or `0` for kill's probe): samsara has
/// Linux's 31 signals, numbered as Linux numbers them.
fn signal_number(name: &str) -> Option<i32> {
    if name == "0" {
        return Some(0);
    }
    let bare = name.strip_prefix("SIG")?;
    SIGNAL_NAMES.iter().position(|known| *known == bare).map(|index| index as i32 + 1)
}

/// The wait status a process's recorded end stands for.
fn end_status(end: &ProcessEnd) -> Option<i32> {
    match end {
        ProcessEnd::Exited { status } => Some(exit_status(*status)),
        ProcessEnd::Killed { signal, .. } => signal_number(signal).map(signal_status),
    }
}

/// A trace ready to replay: the normalised log and the sandbox it needs.
#[derive(Clone, Debug)]
pub struct Replay {
    /// The calls, their results and the process tree.
    pub trace: NormalisedTrace,
    /// What the sandbox holds before the replay starts.
    pub setup: Setup,
}

/// One traced fd as the replay maps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Fd {
    /// The samsara fd standing for it.
    fd: i32,
    /// Whether the log opened it close-on-exec.
    close_on_exec: bool,
    /// Whether it reads a file the host made up for its reader (`/proc`): how many bytes a read
    /// gets is a fact of the traced process, not of a file, so only "none or some" is compared.
    #[serde(default)]
    per_reader: bool,
    /// Whether it is a pipe (one the log made, or a stdio pipe).
    #[serde(default)]
    pipe: bool,
}

/// What one replaying process carries, and what crosses an exec in its plan file.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Plan {
    /// The traced pid this process plays.
    pid: u32,
    /// Its remaining steps and those of its descendants, in log order.
    steps: Vec<TraceStep>,
    /// The log's process tree (ends are compared against).
    tree: ProcessTree,
    /// Its working directory, trace-side.
    cwd: String,
    /// Traced fd -> samsara fd.
    fds: BTreeMap<i32, Fd>,
    /// Traced pid -> samsara pid of the children it forked and has not reaped.
    children: BTreeMap<u32, Pid>,
    /// Checks and counters not reported yet.
    report: WorkloadReport,
    /// The first failed check of this process or of its ancestors before they forked it: later
    /// failures say they came after it.
    first_failure: Option<String>,
}

/// A mapping the replay made for a traced mmap.
#[derive(Clone, Copy, Debug)]
struct Mapping {
    /// Where the traced process got it.
    trace: u64,
    /// Its length.
    len: u64,
    /// Where samsara put it.
    addr: u64,
}

/// Address-space facts that live as long as an image (an exec forgets them).
#[derive(Clone, Debug, Default)]
struct Memory {
    /// The traced break and samsara's, once a `brk(NULL)` told both.
    brk: Option<(u64, u64)>,
    /// Replayed mappings, oldest first.
    maps: Vec<Mapping>,
}

/// How a replayed result is held against the recorded one (beyond success and errno).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Values {
    /// Only success or failure (and the errno) count.
    Ignore,
    /// The returned numbers must be equal.
    Exact,
    /// Both zero or both non-zero.
    ZeroOrNot,
}

/// Reports handed to init in memory, by processes that have not exec'd.
type Reports = Arc<Mutex<Vec<WorkloadReport>>>;

/// What comes after a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    /// The next step of this process.
    Next,
    /// The process exits with this status (the log's exit).
    Exit(i32),
}

/// One replaying process.
struct Replayer {
    plan: Plan,
    /// Where the report goes when the process ends: init's in-memory collection while the
    /// process runs the image init forked, the results file after an exec left it behind.
    collected: Option<Reports>,
    memory: Memory,
    /// Whether the current step's call was made (and counted in `replay.calls`) yet.
    issued: bool,
}

/// The traced pid and every process it forked, transitively.
fn descendants(tree: &ProcessTree, pid: u32) -> BTreeSet<u32> {
    let mut found = BTreeSet::from([pid]);
    let mut queue = vec![pid];
    while let Some(next) = queue.pop() {
        for &child in tree.children_of(next) {
            if found.insert(child) {
                queue.push(child);
            }
        }
    }
    found
}

/// The steps of `pid` and of its descendants among `steps`.
fn steps_of_family(steps: &[TraceStep], tree: &ProcessTree, pid: u32) -> Vec<TraceStep> {
    let family = descendants(tree, pid);
    steps.iter().filter(|step| family.contains(&step.pid)).cloned().collect()
}

fn plan_path(pid: Pid) -> String {
    format!("{CONTROL_DIR}/plan.{pid}")
}

/// samsara's open flags for the log's.
fn open_flags(flags: &OpenFlags) -> u32 {
    let access = match (flags.read, flags.write) {
        (true, true) => O_RDWR,
        (false, true) => O_WRONLY,
        _ => O_RDONLY,
    };
    let bits = [
        (flags.create, O_CREAT),
        (flags.exclusive, O_EXCL),
        (flags.truncate, O_TRUNC),
        (flags.append, O_APPEND),
        (flags.directory, O_DIRECTORY),
    ];
    bits.iter().filter(|(on, _)| *on).fold(access, |all, (_, bit)| all | bit)
}

fn whence(whence: Whence) -> u32 {
    match whence {
        Whence::Set => SEEK_SET,
        Whence::Current => SEEK_CUR,
        Whence::End => SEEK_END,
    }
}

/// A time utimensat sets, as the C library takes it.
fn timespec(t: UtimeSpec) -> Timespec {
    Timespec { sec: t.sec, nsec: t.nsec.into() }
}

/// utimensat's times for messages.
fn utime_text(times: &Option<[UtimeSpec; 2]>) -> String {
    let one = |t: &UtimeSpec| match t.nsec {
        UTIME_NOW => "now".to_string(),
        UTIME_OMIT => "kept".to_string(),
        nsec => format!("{}.{nsec:09}", t.sec),
    };
    match times {
        None => "now, now".to_string(),
        Some([atime, mtime]) => format!("{}, {}", one(atime), one(mtime)),
    }
}

/// A short name of a step's call for messages (the op without its data).
fn describe(op: &TraceOp) -> String {
    match op {
        TraceOp::Fork { child_pid } => format!("fork() = {child_pid}"),
        TraceOp::Exec { path, .. } => format!("execve({path})"),
        TraceOp::Exit { status } => format!("exit({status})"),
        TraceOp::Wait { pid, nohang } => format!("wait4({pid}{})", if *nohang { ", WNOHANG" } else { "" }),
        TraceOp::Kill { pid, signal } => format!("kill({pid}, {signal})"),
        TraceOp::Getpid => "getpid()".into(),
        TraceOp::Getppid => "getppid()".into(),
        TraceOp::Brk { addr } => format!("brk({addr:#x})"),
        TraceOp::Mmap { len, fd, offset, .. } => match fd {
            Some(fd) => format!("mmap({len}, fd {fd}, offset {offset:#x})"),
            None => format!("mmap({len}, anonymous)"),
        },
        TraceOp::Munmap { addr, len } => format!("munmap({addr:#x}, {len})"),
        TraceOp::Open { path, .. } => format!("open({path})"),
        TraceOp::Read { fd, len } => format!("read({fd}, {len})"),
        TraceOp::Write { fd, len, .. } => format!("write({fd}, {len})"),
        TraceOp::Copy { from_fd, to_fd, len, .. } => format!("copy({from_fd} -> {to_fd}, {len})"),
        TraceOp::Close { fd } => format!("close({fd})"),
        TraceOp::Lseek { fd, offset, whence } => format!("lseek({fd}, {offset}, {whence:?})"),
        TraceOp::Unlink { path } => format!("unlink({path})"),
        TraceOp::Mkdir { path, .. } => format!("mkdir({path})"),
        TraceOp::Rmdir { path } => format!("rmdir({path})"),
        TraceOp::Rename { from, to, noreplace } => {
            format!("rename({from}, {to}{})", if *noreplace { ", RENAME_NOREPLACE" } else { "" })
        }
        TraceOp::Lstat { path } => format!("lstat({path})"),
        TraceOp::Access { path, mode } => format!("access({path}, {mode:o})"),
        TraceOp::Readlink { path, .. } => format!("readlink({path})"),
        TraceOp::Symlink { target, path } => format!("symlink({target}, {path})"),
        TraceOp::Link { from, to } => format!("link({from}, {to})"),
        TraceOp::Chmod { path, mode } => format!("chmod({path}, {mode:o})"),
        TraceOp::Fchmod { fd, mode } => format!("fchmod({fd}, {mode:o})"),
        TraceOp::Chown { path, uid, gid } => format!("chown({path}, {uid}, {gid})"),
        TraceOp::Fchown { fd, uid, gid } => format!("fchown({fd}, {uid}, {gid})"),
        TraceOp::Utimens { path, times, nofollow } => {
            format!("utimensat({path}, {}{})", utime_text(times), if *nofollow { ", AT_SYMLINK_NOFOLLOW" } else { "" })
        }
        TraceOp::Futimens { fd, times } => format!("futimens({fd}, {})", utime_text(times)),
        TraceOp::Mknod { path, mode } => format!("mknod({path}, {mode:o})"),
        TraceOp::Truncate { path, len } => format!("truncate({path}, {len})"),
        TraceOp::Ftruncate { fd, len } => format!("ftruncate({fd}, {len})"),
        TraceOp::Statfs { path } => format!("statfs({path})"),
        TraceOp::Fstatfs { fd } => format!("fstatfs({fd})"),
        TraceOp::Pread { fd, len, offset } => format!("pread64({fd}, {len}, {offset})"),
        TraceOp::Chdir { path } => format!("chdir({path})"),
        TraceOp::Stat { path } => format!("stat({path})"),
        TraceOp::Fstat { fd } => format!("fstat({fd})"),
        TraceOp::Pipe { .. } => "pipe()".into(),
        TraceOp::Dup { fd, .. } => format!("dup({fd})"),
        TraceOp::Dup2 { old, new } => format!("dup2({old}, {new})"),
        TraceOp::Getdents { fd, .. } => format!("getdents({fd})"),
        TraceOp::Sigaction { signal, .. } => format!("rt_sigaction({signal})"),
        TraceOp::Sigprocmask { how, set } => format!("rt_sigprocmask({how}, {set:?})"),
        TraceOp::IdCall { call } => format!("{call}()"),
        TraceOp::SetId { call, id } => format!("{call}({id})"),
        TraceOp::ClockGettime { clock, resolution } => {
            format!("{}({clock})", if *resolution { "clock_getres" } else { "clock_gettime" })
        }
        TraceOp::Uname => "uname()".into(),
        TraceOp::Gettimeofday => "gettimeofday()".into(),
        TraceOp::Fsync { fd, data_only } => format!("{}({fd})", if *data_only { "fdatasync" } else { "fsync" }),
        TraceOp::Sync => "sync()".into(),
        TraceOp::Getgroups { size } => format!("getgroups({size})"),
        TraceOp::OwnGroup { call } => format!("{call}(0)"),
        TraceOp::Setpgid => "setpgid(0, 0)".into(),
        TraceOp::Getitimer { which } => format!("getitimer({which})"),
        TraceOp::Sigpending => "rt_sigpending()".into(),
        TraceOp::Times => "times()".into(),
        TraceOp::Getrusage { who } => format!("getrusage({who})"),
        TraceOp::Alarm { seconds } => format!("alarm({seconds})"),
        TraceOp::Setitimer { which, value_us, interval_us } => format!("setitimer({which}, {value_us}, {interval_us})"),
        TraceOp::Fcntl { fd, command } => format!("fcntl({fd}, {command:?})"),
        TraceOp::Getcwd => "getcwd()".into(),
        TraceOp::Flock { fd, op } => format!("flock({fd}, {op:#x})"),
        TraceOp::Umask { mask } => format!("umask({mask:o})"),
        TraceOp::Poll { fds, timeout_ms } => format!("poll({} fds, {timeout_ms:?} ms)", fds.len()),
        TraceOp::Mremap { addr, old_len, new_len, .. } => format!("mremap({addr:#x}, {old_len}, {new_len})"),
        TraceOp::Mprotect { addr, len, writable } => format!("mprotect({addr:#x}, {len}, writable {writable})"),
    }
}

/// The limit of samsara's machine that answers `errno` to `op` (none: to the setup), and where it
/// is set, for a call that succeeded on the traced machine.
fn machine_limit(op: Option<&TraceOp>, errno: Errno) -> Option<String> {
    use os::mfs::state::{BLOCK_SIZE, NR_BLOCKS, NR_INODES};
    use os::vfs::state::{DESCRIPTORS_MAX, NR_FILPS, OPEN_MAX};
    Some(match (errno, op) {
        (Errno::ENOMEM, _) => {
            "the machine's memory ran out: `samsara run --frames N` gives it N frames of 4 KiB".to_string()
        }
        (Errno::EAGAIN, Some(TraceOp::Fork { .. })) => {
            format!(
                "pm's process table is full (at most {} processes: `param procs N;` in pm's manifest entry sets fewer)",
                os::pm::state::NR_PROCS
            )
        }
        (Errno::ENFILE, _) => format!(
            "vfs's open-file table is full (by default {NR_FILPS} open files, vfs::state::NR_FILPS: `param files N;` in \
             vfs's manifest entry sizes it)"
        ),
        (Errno::EMFILE, _) => format!(
            "a process has at most {OPEN_MAX} descriptors by default (vfs::state::OPEN_MAX: `param descriptors N;` in \
             vfs's manifest entry sets up to {DESCRIPTORS_MAX})"
        ),
        (Errno::ENOSPC, _) => format!(
            "the file system is full (by default {NR_BLOCKS} blocks of {BLOCK_SIZE} bytes and {NR_INODES} inodes: \
             `param blocks N;` and `param inodes N;` in mfs's manifest entry size it, and memdisk's `memory` must hold \
             the blocks)"
        ),
        (Errno::EFBIG, _) => format!(
            "a file holds at most {MAX_FILE_SIZE} bytes (mfs::state::MAX_FILE_SIZE: what a MINIX V3 inode reaches with \
             1 KiB blocks)"
        ),
        _ => return None,
    })
}

fn recorded_text(recorded: &CallResult) -> String {
    match recorded {
        CallResult::Value { value, .. } => value.to_string(),
        CallResult::Error { errno, .. } => errno.clone(),
        CallResult::Unknown { .. } => "?".into(),
        CallResult::Unfinished => "unfinished".into(),
    }
}

/// Runs a call of the replay's plumbing, again when a recovered crash dropped it.
fn plumbing<T>(sys: &Sys<'_>, mut call: impl FnMut() -> Result<T, Errno>) -> Result<T, Errno> {
    let mut attempt = 1;
    loop {
        match call() {
            Err(Errno::ERECOVERED) if attempt < PLUMBING_ATTEMPTS => {
                attempt += 1;
                sys.proc().yield_now();
            }
            done => return done,
        }
    }
}

/// Closes `fd`, again if a recovered crash dropped the close (the fd is then still open).
fn close(sys: &Sys<'_>, fd: i32) -> Result<(), Errno> {
    plumbing(sys, || sys.close(fd))
}

/// Whether the file system has no room for a report: a probe file of a report's typical size in
/// the control directory cannot be written (it is removed again).
fn disk_full(sys: &Sys<'_>) -> bool {
    let probe = format!("{CONTROL_DIR}/room");
    let written = write_file(sys, &probe, O_WRONLY | O_CREAT | O_TRUNC, &[b' '; 4096]);
    let _ = plumbing(sys, || sys.unlink(&probe));
    written == Err(Errno::ENOSPC)
}

/// Appends `report` to the results file as one line.
fn append_report(sys: &Sys<'_>, report: &WorkloadReport) -> Result<(), Errno> {
    let mut line = serde_json::to_vec(report).map_err(|_| Errno::EINVAL)?;
    line.push(b'\n');
    plumbing(sys, || write_file(sys, RESULTS, O_WRONLY | O_APPEND, &line))
}

/// The number in a check name `replay.line-N...`: where in the log a failure happened (0 for the
/// replay's own failures, which come before any call).
fn failure_line(failure: &str) -> usize {
    failure
        .strip_prefix("replay.line-")
        .map(|rest| rest.chars().take_while(char::is_ascii_digit).collect::<String>())
        .and_then(|digits| digits.parse().ok())
        .unwrap_or(0)
}

/// Merges `reports` into `rec`. The failure earliest in the log is the replay's first divergence;
/// every other failure says it came after it, so one recovered crash reads as one explained
/// failure and its consequences in other processes. Returns that first divergence.
fn merge_reports(rec: &Recorder, mut reports: Vec<WorkloadReport>) -> Option<String> {
    let first = reports.iter().flat_map(|r| r.failures.iter()).min_by_key(|f| failure_line(f)).cloned();
    if let Some(first) = &first {
        for failure in reports.iter_mut().flat_map(|r| r.failures.iter_mut()) {
            if failure != first && !failure.contains(AFTER) {
                failure.push_str(&format!(" ({AFTER} {first})"));
            }
        }
    }
    for report in &reports {
        rec.merge(report);
    }
    first
}

/// How a failure says it followed an earlier one.
const AFTER: &str = "after the replay's first divergence,";

/// Reads the whole file `path`.
fn read_file(sys: &Sys<'_>, path: &str) -> Result<Vec<u8>, Errno> {
    let fd = sys.open(path, O_RDONLY, 0)?;
    let mut all = Vec::new();
    let mut buf = vec![0u8; READ_CHUNK];
    let read = loop {
        match sys.read(fd, &mut buf) {
            Ok(0) => break Ok(all),
            Ok(n) => all.extend_from_slice(&buf[..n]),
            Err(e) => break Err(e),
        }
    };
    let closed = close(sys, fd);
    read.and_then(|all| closed.map(|()| all))
}

/// Writes `bytes` to `path` opened with `flags` (one write, so appends by different processes do
/// not interleave).
fn write_file(sys: &Sys<'_>, path: &str, flags: u32, bytes: &[u8]) -> Result<(), Errno> {
    let fd = sys.open(path, flags, CONTROL_FILE_MODE)?;
    let written = match sys.write(fd, bytes) {
        Ok(n) if n == bytes.len() => Ok(()),
        Ok(_) => Err(Errno::ENOSPC),
        Err(e) => Err(e),
    };
    let closed = close(sys, fd);
    written.and(closed)
}

impl Replay {
    /// Plans the sandbox of `trace`.
    pub fn new(trace: NormalisedTrace) -> Replay {
        let setup = sandbox::plan(&trace);
        Replay { trace, setup }
    }

    /// Reads, parses and normalises the log at `path`; errors name the file and the line.
    pub fn load(path: &Path) -> Result<Replay, LoadError> {
        let log = super::parse_file(path)?;
        if log.calls().next().is_none() {
            return Err(LoadError::Empty { path: path.display().to_string() });
        }
        Ok(Replay::new(super::normalise(&log)))
    }

    /// init's part (see the module docs): set up, start the roots, reap, gather, clean up.
    pub fn run(&self, sys: &Sys<'_>, rec: &Recorder) {
        let trace = &self.trace;
        rec.count("replay.steps", trace.steps.len() as u64);
        rec.count("replay.processes", trace.processes.processes.len() as u64);
        rec.count("replay.skipped", trace.skipped_total());
        for (reason, n) in &trace.skipped {
            rec.count(&format!("replay.skipped.{reason}"), *n);
        }
        if !self.set_up(sys, rec) {
            return;
        }
        let collected = Reports::default();
        let pipes = match self.stdio_pipes(sys, &collected) {
            Ok(pipes) => pipes,
            Err(why) => {
                rec.check("replay.stdio-pipes", false, || why);
                return;
            }
        };
        let mut roots = BTreeMap::new();
        for root in trace.processes.roots() {
            let plan = Plan {
                pid: root,
                steps: steps_of_family(&trace.steps, &trace.processes, root),
                tree: trace.processes.clone(),
                cwd: self.setup.cwd.clone(),
                fds: STDIO
                    .iter()
                    .map(|&(fd, _, _)| {
                        let pipe = self.setup.stdio_pipes[fd as usize];
                        (fd, Fd { fd, close_on_exec: false, per_reader: false, pipe })
                    })
                    .collect(),
                children: BTreeMap::new(),
                report: WorkloadReport::default(),
                first_failure: None,
            };
            let replayer =
                Replayer { plan, collected: Some(collected.clone()), memory: Memory::default(), issued: false };
            let root_pipes = pipes.clone();
            match sys.fork(move |c| replayer.start(c, &root_pipes)) {
                Ok(pid) => {
                    roots.insert(pid, root);
                }
                Err(e) => {
                    let failure = format!("fork of traced pid {root} failed with {e}");
                    collected.lock().unwrap_or_else(|e| e.into_inner()).push(WorkloadReport {
                        failures: vec![format!("replay.start: {failure}")],
                        ..WorkloadReport::default()
                    });
                }
            }
        }
        // The roots and the helpers hold the pipes now: the stdout and stderr helpers see the
        // end of their pipe once the last traced process closed it.
        for pipe in &pipes {
            let _ = close(sys, pipe.program_end);
            let _ = close(sys, pipe.helper_end);
        }
        let ends = self.reap(sys, &roots);
        let first = self.gather(sys, rec, &collected);
        let after = |detail: String| match &first {
            Some(first) => format!("{detail} ({AFTER} {first})"),
            None => detail,
        };
        for (root, status, expected) in ends {
            rec.check("replay.root-status", status == expected, || {
                after(format!(
                    "traced pid {root} ended with {}, recorded {}",
                    status_text(status),
                    status_text(expected)
                ))
            });
        }
        let reported = rec.report().counters.get("replay.processes-reported").copied().unwrap_or(0);
        let expected = trace.processes.processes.values().filter(|n| !matches!(n.end, Some(ProcessEnd::Killed { .. })));
        let expected = expected.count() as u64;
        // A report is lost when the results file cannot grow: say so when that is why.
        let full = reported != expected && disk_full(sys);
        rec.check("replay.every-process-reported", reported == expected, || {
            let lost = format!("{reported} of the log's {expected} processes that were not killed reported");
            match full.then(|| machine_limit(None, Errno::ENOSPC)).flatten() {
                Some(limit) => after(format!("{lost}; their reports had no room: {limit}")),
                None => after(lost),
            }
        });
        self.clean_up(sys, rec, first.as_deref());
    }

    /// The control directory, the stdio stand-ins, the results file and the sandbox.
    fn set_up(&self, sys: &Sys<'_>, rec: &Recorder) -> bool {
        let control =
            sys.mkdir(CONTROL_DIR, CONTROL_DIR_MODE).map_err(|e| (CONTROL_DIR.to_string(), e)).and_then(|()| {
                let stdin = sandbox::filler(self.setup.stdin_bytes as usize);
                for (path, contents) in [(STDIN, &stdin[..]), (STDOUT, &[][..]), (STDERR, &[][..]), (RESULTS, &[][..])]
                {
                    sandbox::make_file(sys, path, contents, CONTROL_FILE_MODE).map_err(|e| (path.to_string(), e))?;
                }
                Ok(())
            });
        let built = control.and_then(|()| sandbox::build(sys, &self.setup));
        match built {
            Ok(built) => {
                rec.count("replay.setup.dirs", built.dirs);
                rec.count("replay.setup.files", built.files);
                rec.count("replay.setup.bytes", built.bytes);
                rec.count("replay.setup.links", built.links);
                rec.count("replay.setup.devices", built.devices);
                // What existed before the trace began, one counter a path: `replay.setup.file:PATH`
                // counts its bytes, the others 1.
                for (path, standin) in &self.setup.entries {
                    let (kind, n) = match standin {
                        sandbox::Standin::Dir => ("dir", 1),
                        sandbox::Standin::File { size } => ("file", *size),
                        sandbox::Standin::Program { .. } => ("program", 1),
                        sandbox::Standin::Symlink { .. } => ("symlink", 1),
                        sandbox::Standin::Device { .. } => ("device", 1),
                    };
                    rec.count(&format!("replay.setup.{kind}:{path}"), n);
                }
                rec.check("replay.setup", true, String::new)
            }
            Err((path, e)) => rec.check("replay.setup", false, || match machine_limit(None, e) {
                Some(limit) => format!("making {path} failed with {e}: {limit}"),
                None => format!("making {path} failed with {e}"),
            }),
        }
    }

    /// The pipes standing in for the stdio fds the log shows were pipes or terminals, each with
    /// a helper process forked at its other end: stdin's writes the bytes the log read from it,
    /// stdout's and stderr's read until the traced processes closed them.
    fn stdio_pipes(&self, sys: &Sys<'_>, collected: &Reports) -> Result<Vec<StdioPipe>, String> {
        let mut pipes = Vec::new();
        for (fd, _, _) in STDIO.into_iter().filter(|&(fd, _, _)| self.setup.stdio_pipes[fd as usize]) {
            let made = sys
                .pipe()
                .and_then(|(read_end, write_end)| Ok((above_stdio(sys, read_end)?, above_stdio(sys, write_end)?)));
            let (read_end, write_end) = made.map_err(|e| format!("pipe for fd {fd} failed with {e}"))?;
            let (program_end, helper_end) = if fd == 0 { (read_end, write_end) } else { (write_end, read_end) };
            pipes.push(StdioPipe { fd, program_end, helper_end });
        }
        for pipe in &pipes {
            let (pipe, all, stdin_bytes, collected) = (*pipe, pipes.clone(), self.setup.stdin_bytes, collected.clone());
            sys.fork(move |c| stdio_helper(c, pipe, &all, stdin_bytes, &collected))
                .map_err(|e| format!("fork of the helper of fd {} failed with {e}", pipe.fd))?;
        }
        Ok(pipes)
    }

    /// Waits until no child is left: the roots and every orphan init adopted. Returns each root's
    /// traced pid, wait status and the status its recorded end stands for.
    fn reap(&self, sys: &Sys<'_>, roots: &BTreeMap<Pid, u32>) -> Vec<(u32, i32, i32)> {
        let mut ends = Vec::new();
        while let Ok((pid, status)) = sys.wait() {
            let Some(&root) = roots.get(&pid) else { continue };
            let recorded = self.trace.processes.get(root).and_then(|n| n.end.as_ref()).and_then(end_status);
            if let Some(expected) = recorded {
                ends.push((root, status, expected));
            }
        }
        ends
    }

    /// Gathers every process's report (from memory and from the results file) into `rec`; the
    /// replay's first divergence, if any.
    fn gather(&self, sys: &Sys<'_>, rec: &Recorder, collected: &Reports) -> Option<String> {
        let mut reports = std::mem::take(&mut *collected.lock().unwrap_or_else(|e| e.into_inner()));
        match read_file(sys, RESULTS) {
            Ok(bytes) => {
                for line in bytes.split(|b| *b == b'\n').filter(|line| !line.is_empty()) {
                    match serde_json::from_slice::<WorkloadReport>(line) {
                        Ok(report) => reports.push(report),
                        Err(e) => {
                            let mut bad = WorkloadReport::default();
                            bad.check("replay.results-readable", false, || format!("a report line: {e}"));
                            reports.push(bad);
                        }
                    }
                }
            }
            Err(e) => {
                let mut bad = WorkloadReport::default();
                bad.check("replay.results-readable", false, || format!("reading {RESULTS} failed with {e}"));
                reports.push(bad);
            }
        }
        merge_reports(rec, reports)
    }

    /// Removes the control directory and what is left in it (plans of processes that died
    /// before their new image read them are counted).
    fn clean_up(&self, sys: &Sys<'_>, rec: &Recorder, first: Option<&str>) {
        let entries = sys.list_dir(CONTROL_DIR).unwrap_or_default();
        for entry in entries.iter().filter(|e| e.name != "." && e.name != "..") {
            if entry.name.starts_with("plan.") {
                rec.count("replay.plans-left", 1);
            }
            let _ = sys.unlink(&format!("{CONTROL_DIR}/{}", entry.name));
        }
        let removed = plumbing(sys, || sys.rmdir(CONTROL_DIR));
        rec.check("replay.control-dir-removed", removed.is_ok(), || match first {
            Some(first) => format!("rmdir {CONTROL_DIR}: {removed:?} ({AFTER} {first})"),
            None => format!("rmdir {CONTROL_DIR}: {removed:?}"),
        });
    }
}

/// The `replay` program: continues the plan this process left before its exec. Returns the exit
/// status the traced process ended with.
pub fn resume(sys: &Sys<'_>, _argv: &[String]) -> i32 {
    let pid = plumbing(sys, || sys.getpid()).map_err(|e| format!("getpid failed with {e}"));
    let plan = pid.and_then(|pid| {
        let path = plan_path(pid);
        let bytes = plumbing(sys, || read_file(sys, &path));
        let _ = plumbing(sys, || sys.unlink(&path));
        let bytes = bytes.map_err(|e| format!("reading {path} failed with {e}"))?;
        serde_json::from_slice::<Plan>(&bytes).map_err(|e| format!("{path} is not a plan: {e}"))
    });
    match plan {
        Ok(plan) => Replayer { plan, collected: None, memory: Memory::default(), issued: false }.run(sys),
        Err(why) => {
            // Nothing to replay; say why where init looks.
            let mut report = WorkloadReport::default();
            report.check("replay.plan-readable", false, || why);
            let _ = append_report(sys, &report);
            NO_PLAN_STATUS
        }
    }
}

impl Replayer {
    // ---- reporting ------------------------------------------------------------------------------

    /// Records check `name`; a failure after this process's first says so.
    fn check(&mut self, name: &str, ok: bool, detail: impl FnOnce() -> String) {
        if ok {
            self.plan.report.check(name, true, String::new);
            return;
        }
        let detail = match &self.plan.first_failure {
            Some(first) => format!("{} ({AFTER} {first})", detail()),
            None => {
                let detail = detail();
                self.plan.first_failure = Some(format!("{name}: {detail}"));
                detail
            }
        };
        self.plan.report.check(name, false, || detail);
    }

    fn count(&mut self, name: &str, n: u64) {
        self.plan.report.count(name, n);
    }

    /// Makes a call the log shows returning (not interrupted) again while a signal interrupts
    /// it here: when a child's SIGCHLD arrives is timing, and the replay's differs from the
    /// log's (the handler ran, and is counted, either way).
    fn uninterrupted<T>(&mut self, sys: &Sys<'_>, mut call: impl FnMut() -> Result<T, Errno>) -> Result<T, Errno> {
        for _ in 1..INTERRUPTED_ATTEMPTS {
            match call() {
                Err(Errno::EINTR) => {
                    self.count("replay.interrupted-calls-restarted", 1);
                    sys.proc().yield_now();
                }
                done => return done,
            }
        }
        call()
    }

    /// Counts the current step's call as made (once per step).
    fn issue(&mut self) {
        if !self.issued {
            self.issued = true;
            self.count("replay.calls", 1);
        }
    }

    fn skip(&mut self, reason: &str) {
        self.count("replay.skipped", 1);
        self.count(&format!("replay.skipped.{reason}"), 1);
    }

    /// Holds `replayed` against what `step` recorded (see the module's comparison rules).
    fn compare(&mut self, step: &TraceStep, replayed: Result<i64, Errno>, values: Values) {
        self.issue();
        let verdict = match (&step.recorded, &replayed) {
            (CallResult::Value { value, .. }, Ok(got)) => match values {
                Values::Ignore => true,
                Values::Exact => value == got,
                Values::ZeroOrNot => (*value == 0) == (*got == 0),
            },
            (CallResult::Error { errno, .. }, Err(e)) => errno == e.name(),
            (CallResult::Value { .. } | CallResult::Error { .. }, _) => false,
            // The call never returned in the log: nothing to hold it against.
            (CallResult::Unknown { .. } | CallResult::Unfinished, _) => return,
        };
        self.count("replay.compared", 1);
        if !verdict {
            self.count("replay.mismatches", 1);
        }
        let replayed_text = match replayed {
            Ok(v) => v.to_string(),
            Err(e) => match (step.recorded.value(), machine_limit(Some(&step.op), e)) {
                // The program had what samsara ran out of: say which limit, and where it is set.
                (Some(_), Some(limit)) => format!("{} ({limit})", e.name()),
                _ => e.name().to_string(),
            },
        };
        self.check(&format!("replay.line-{}", step.line), verdict, || {
            format!(
                "pid {} {}: recorded {}, replayed {replayed_text}",
                step.pid,
                describe(&step.op),
                recorded_text(&step.recorded)
            )
        });
    }

    /// Hands this process's report to init: in memory before any exec, through the results file
    /// after. Every process does this once, when it ends.
    fn flush(&mut self, sys: &Sys<'_>) {
        // A process the log shows killed may die before it gets here (its killer does not wait):
        // init expects reports only from the others.
        let killed =
            matches!(self.plan.tree.get(self.plan.pid).and_then(|n| n.end.as_ref()), Some(ProcessEnd::Killed { .. }));
        self.count(if killed { "replay.killed-processes-reported" } else { "replay.processes-reported" }, 1);
        let handled = handler_runs(sys).unwrap_or(0);
        if handled > 0 {
            self.count("replay.signals-handled", u64::from(handled));
        }
        self.send_report(sys);
    }

    fn send_report(&mut self, sys: &Sys<'_>) {
        let report = std::mem::take(&mut self.plan.report);
        match &self.collected {
            Some(collected) => collected.lock().unwrap_or_else(|e| e.into_inner()).push(report),
            // A report that cannot be written is lost; init's `every-process-reported` shows it.
            None => {
                let _ = append_report(sys, &report);
            }
        }
    }

    // ---- the process's life ---------------------------------------------------------------------

    /// A root's start, in the process init forked: stdio on fds 0, 1, 2 (files, or the ends of
    /// `pipes`), the working directory.
    fn start(mut self, sys: &Sys<'_>, pipes: &[StdioPipe]) -> i32 {
        for (fd, path, flags) in STDIO {
            if let Some(pipe) = pipes.iter().find(|pipe| pipe.fd == fd) {
                if let Err(e) = sys.dup2(pipe.program_end, fd) {
                    self.check("replay.stdio", false, || format!("fd {fd} on its pipe: {e}"));
                }
                continue;
            }
            let placed = sys.open(path, flags, 0).and_then(|got| {
                if got == fd {
                    return Ok(());
                }
                let moved = sys.dup2(got, fd).map(drop);
                let _ = sys.close(got);
                moved
            });
            if let Err(e) = placed {
                self.check("replay.stdio", false, || format!("fd {fd} on {path}: {e}"));
            }
        }
        for pipe in pipes {
            let _ = sys.close(pipe.program_end);
            let _ = sys.close(pipe.helper_end);
        }
        let cwd = sandbox::sandboxed(&self.plan.cwd);
        if let Err(e) = sys.chdir(&cwd) {
            self.check("replay.start-cwd", false, || format!("chdir {cwd}: {e}"));
        }
        self.run(sys)
    }

    /// Replays this process's steps; returns its exit status.
    fn run(mut self, sys: &Sys<'_>) -> i32 {
        // A forked replayer counts its own handler runs, not its parent's.
        let _ = reset_handler_runs(sys);
        let steps = std::mem::take(&mut self.plan.steps);
        for index in 0..steps.len() {
            if steps[index].pid != self.plan.pid {
                continue;
            }
            if let Flow::Exit(status) = self.step(sys, &steps, index) {
                self.flush(sys);
                return status;
            }
        }
        self.finish(sys)
    }

    /// The steps ran out: end as the log says the process ended.
    fn finish(mut self, sys: &Sys<'_>) -> i32 {
        let end = self.plan.tree.get(self.plan.pid).and_then(|node| node.end.clone());
        self.flush(sys);
        match end {
            Some(ProcessEnd::Exited { status }) => status,
            Some(ProcessEnd::Killed { signal, .. }) => self.linger(sys, &signal),
            None => 0,
        }
    }

    /// Waits to be killed, as the log says this process was.
    fn linger(mut self, sys: &Sys<'_>, signal: &str) -> i32 {
        for _ in 0..LINGER_ROUNDS {
            if sys.getpid().is_err() {
                break;
            }
            sys.proc().yield_now();
        }
        let pid = self.plan.pid;
        self.check("replay.killed-as-recorded", false, || format!("traced pid {pid} was never killed by {signal}"));
        self.send_report(sys);
        NOT_KILLED_STATUS
    }

    /// The samsara fd for traced `fd`, or `None` (counted as skipped) when the log made it with a
    /// call the replay skipped. An fd the log shows failing stays failing.
    fn fd(&mut self, step: &TraceStep, fd: i32, call: &str) -> Option<i32> {
        match self.plan.fds.get(&fd) {
            Some(mapped) => Some(mapped.fd),
            None if step.recorded.value().is_some() => {
                self.skip(&format!("{call}: fd from a call not replayed"));
                None
            }
            None => Some(NEVER_OPEN_FD),
        }
    }

    /// Whether traced `fd` is a pipe.
    fn is_pipe(&self, fd: i32) -> bool {
        self.plan.fds.get(&fd).is_some_and(|mapped| mapped.pipe)
    }

    /// Whether traced `fd` reads a file the host made up for its reader.
    fn per_reader(&self, fd: i32) -> bool {
        self.plan.fds.get(&fd).is_some_and(|mapped| mapped.per_reader)
    }

    /// Maps traced `fd` to samsara's `to`, closing what it stood for before (unless shared).
    fn map_fd(&mut self, sys: &Sys<'_>, fd: i32, to: Fd) {
        if to.close_on_exec {
            // vfs keeps the flag too (a new descriptor starts without it), so F_GETFD answers as
            // the log's kernel did.
            let _ = sys.fcntl(to.fd, F_SETFD, FD_CLOEXEC);
        }
        if let Some(old) = self.plan.fds.insert(fd, to)
            && old.fd != to.fd
            && !self.plan.fds.values().any(|other| other.fd == old.fd)
        {
            let _ = sys.close(old.fd);
        }
    }

    /// Replays step `index`.
    fn step(&mut self, sys: &Sys<'_>, steps: &[TraceStep], index: usize) -> Flow {
        let step = &steps[index];
        let value = step.recorded.value();
        self.issued = false;
        match &step.op {
            TraceOp::Fork { child_pid } => {
                let child = Replayer {
                    plan: Plan {
                        pid: *child_pid,
                        steps: steps_of_family(&steps[index + 1..], &self.plan.tree, *child_pid),
                        tree: self.plan.tree.clone(),
                        cwd: self.plan.cwd.clone(),
                        fds: self.plan.fds.clone(),
                        children: BTreeMap::new(),
                        report: WorkloadReport::default(),
                        first_failure: self.plan.first_failure.clone(),
                    },
                    collected: self.collected.clone(),
                    memory: self.memory.clone(),
                    issued: false,
                };
                let forked = sys.fork(move |c| child.run(c));
                if let Ok(pid) = forked {
                    self.plan.children.insert(*child_pid, pid);
                    self.count("replay.forks", 1);
                }
                self.compare(step, forked.map(i64::from), Values::Ignore);
            }
            TraceOp::Exec { path, argv } => self.exec(sys, steps, index, path, argv),
            TraceOp::Exit { status } => {
                self.issue();
                return Flow::Exit(*status);
            }
            TraceOp::Wait { pid, nohang } => self.wait(sys, step, *pid, *nohang),
            TraceOp::Kill { pid, signal } => {
                let Some(number) = signal_number(signal) else {
                    self.skip("kill: a signal samsara lacks");
                    return Flow::Next;
                };
                let target = match u32::try_from(*pid) {
                    Ok(traced) if traced > 0 && traced == self.plan.pid => sys.getpid().ok(),
                    Ok(traced) if traced > 0 => self.plan.children.get(&traced).copied(),
                    _ => None,
                };
                let Some(target) = target else {
                    self.skip("kill: a process this one did not fork");
                    return Flow::Next;
                };
                let killed = sys.kill(target, number);
                self.compare(step, killed.map(|()| 0), Values::Exact);
            }
            TraceOp::Getpid => {
                let got = sys.getpid();
                self.compare(step, got.map(i64::from), Values::Ignore);
            }
            TraceOp::Getppid => {
                let got = sys.getppid();
                self.compare(step, got.map(i64::from), Values::Ignore);
            }
            TraceOp::Brk { addr } => self.brk(sys, step, *addr),
            TraceOp::Mmap { len, fd, offset, prot, shared } => {
                if *len > MMAP_MAX_BYTES {
                    self.skip("mmap: larger than the replay maps");
                    return Flow::Next;
                }
                let mapped = match fd {
                    Some(fd) => {
                        let flags = if *shared { MAP_SHARED } else { MAP_PRIVATE };
                        sys.mmap_file(*fd, *offset, *len, *prot, flags)
                    }
                    None => sys.mmap(*len, true),
                };
                if fd.is_some() && mapped.is_ok() {
                    self.count("replay.mmap-files", 1);
                }
                if let (Ok(addr), Some(trace)) = (mapped, value) {
                    self.memory.maps.push(Mapping { trace: trace as u64, len: *len, addr });
                }
                self.compare(step, mapped.map(|_| 0), Values::Ignore);
            }
            TraceOp::Munmap { addr, len } => {
                let found = self.memory.maps.iter().rposition(|m| m.trace <= *addr && *addr - m.trace < m.len);
                let Some(at) = found else {
                    self.skip("munmap: an address no replayed mmap returned");
                    return Flow::Next;
                };
                let map = self.memory.maps[at];
                let offset = addr - map.trace;
                let len = (*len).min(map.len - offset);
                let unmapped = sys.munmap(map.addr + offset, len);
                if unmapped.is_ok() && offset == 0 && len == map.len {
                    self.memory.maps.remove(at);
                }
                self.compare(step, unmapped.map(|()| 0), Values::Exact);
            }
            TraceOp::Open { path, flags, mode } => {
                let target = sandbox::replay_path(&self.plan.cwd, path);
                let mode = mode.unwrap_or(DEFAULT_CREATE_MODE) & PERM_MASK;
                let opened = sys.open(&target, open_flags(flags), mode);
                if let (Ok(fd), Some(traced)) = (opened, value.and_then(|v| i32::try_from(v).ok())) {
                    let absolute = sandbox::absolute(&self.plan.cwd, path);
                    let per_reader = absolute.starts_with(PER_READER_FILES);
                    let close_on_exec = flags.close_on_exec;
                    self.map_fd(sys, traced, Fd { fd, close_on_exec, per_reader, pipe: false });
                }
                self.compare(step, opened.map(i64::from), Values::Ignore);
            }
            TraceOp::Read { fd, len } => {
                let Some(sfd) = self.fd(step, *fd, "read") else { return Flow::Next };
                let pipe = self.is_pipe(*fd);
                let recorded = value.and_then(|v| usize::try_from(v).ok());
                let len = (*len).min(IO_MAX_BYTES) as usize;
                // How a pipe's stream was split over reads is timing (when the writer wrote):
                // ask no more than the log's read got, and join reads up to it.
                let ask = match recorded {
                    Some(n) if pipe && n > 0 => n.min(len),
                    _ => len,
                };
                let mut buf = vec![0u8; ask];
                let mut read = match value {
                    Some(_) => self.uninterrupted(sys, || sys.read(sfd, &mut buf)),
                    None => sys.read(sfd, &mut buf),
                };
                if let (Ok(n), Some(wanted)) = (read, recorded)
                    && pipe
                    && n > 0
                    && n < wanted
                {
                    read = read_pipe(sys, sfd, &mut buf, n, wanted);
                    self.count("replay.pipe-reads-joined", 1);
                }
                if let Ok(n) = read {
                    self.count("replay.bytes-read", n as u64);
                }
                if self.per_reader(*fd) {
                    self.compare(step, read.map(|n| n as i64), Values::ZeroOrNot);
                    return Flow::Next;
                }
                self.compare(step, read.map(|n| n as i64), Values::Exact);
            }
            TraceOp::Write { fd, len, data } => {
                let Some(sfd) = self.fd(step, *fd, "write") else { return Flow::Next };
                let len = (*len).min(IO_MAX_BYTES) as usize;
                let mut bytes = data[..data.len().min(len)].to_vec();
                bytes.extend(sandbox::filler(len - bytes.len()));
                let written = sys.write(sfd, &bytes);
                if let Ok(n) = written {
                    self.count("replay.bytes-written", n as u64);
                }
                self.compare(step, written.map(|n| n as i64), Values::Exact);
            }
            TraceOp::Copy { from_fd, to_fd, len, appending } => {
                let Some(from) = self.fd(step, *from_fd, "copy") else { return Flow::Next };
                let Some(to) = self.fd(step, *to_fd, "copy") else { return Flow::Next };
                // Linux's own refusal, a fact about the fd (GNU make sets O_APPEND on its output),
                // is played and compared; the host's are skipped.
                let to_appends = sys.fcntl(to, F_GETFL, 0).is_ok_and(|fl| fl as u32 & O_APPEND != 0);
                if !to_appends && step.recorded.errno().is_some_and(|errno| HOST_COPY_REFUSALS.contains(&errno)) {
                    self.skip("copy: the host could not copy in place");
                    return Flow::Next;
                }
                // As much as the log copied (a later call copies the rest), or to the end.
                let limit = value.filter(|&v| v > 0).map_or(*len, |v| v as u64).min(IO_MAX_BYTES);
                let copied = if to_appends { Err(*appending) } else { copy(sys, from, to, limit) };
                if let Ok(n) = copied {
                    self.count("replay.bytes-copied", n);
                }
                self.compare(step, copied.map(|n| n as i64), Values::Exact);
            }
            TraceOp::Close { fd } => {
                let Some(sfd) = self.fd(step, *fd, "close") else { return Flow::Next };
                let closed = sys.close(sfd);
                // The traced fd is closed after the call, whatever it returned.
                self.plan.fds.remove(fd);
                self.compare(step, closed.map(|()| 0), Values::Exact);
            }
            TraceOp::Lseek { fd, offset, whence: from } => {
                let Some(sfd) = self.fd(step, *fd, "lseek") else { return Flow::Next };
                let moved = sys.lseek(sfd, *offset, whence(*from));
                self.compare(step, moved, Values::Exact);
            }
            TraceOp::Unlink { path } => {
                let done = sys.unlink(&sandbox::replay_path(&self.plan.cwd, path));
                self.compare(step, done.map(|()| 0), Values::Exact);
            }
            TraceOp::Mkdir { path, mode } => {
                let done = sys.mkdir(&sandbox::replay_path(&self.plan.cwd, path), mode & PERM_MASK);
                self.compare(step, done.map(|()| 0), Values::Exact);
            }
            TraceOp::Rmdir { path } => {
                let done = sys.rmdir(&sandbox::replay_path(&self.plan.cwd, path));
                self.compare(step, done.map(|()| 0), Values::Exact);
            }
            TraceOp::Rename { from, to, noreplace } => {
                let (from, to) = (sandbox::replay_path(&self.plan.cwd, from), sandbox::replay_path(&self.plan.cwd, to));
                // samsara's rename has no flags: RENAME_NOREPLACE is played as a C library without
                // renameat2 plays it, a look at `to` first (no other replayed process runs
                // between the two calls of this one's step in the log's order).
                let done = match *noreplace && sys.lstat(&to).is_ok() {
                    true => Err(Errno::EEXIST),
                    false => sys.rename(&from, &to),
                };
                self.compare(step, done.map(|()| 0), Values::Exact);
            }
            TraceOp::Lstat { path } => {
                let done = sys.lstat(&sandbox::replay_path(&self.plan.cwd, path));
                self.compare(step, done.map(|_| 0), Values::Exact);
            }
            TraceOp::Access { path, mode } => {
                let done = sys.access(&sandbox::replay_path(&self.plan.cwd, path), *mode);
                self.compare(step, done.map(|()| 0), Values::Exact);
            }
            TraceOp::Readlink { path, target } => {
                let got = sys.readlink(&sandbox::replay_path(&self.plan.cwd, path));
                if let (Ok(bytes), Some(target)) = (&got, target) {
                    // An absolute target was made to point inside the sandbox.
                    let expected = sandbox::link_target(target);
                    let got = String::from_utf8_lossy(bytes).into_owned();
                    self.check(&format!("replay.line-{}.target", step.line), got == expected, || {
                        format!("pid {} readlink({path}) gave {got}, recorded {target}", step.pid)
                    });
                }
                // The length differs by the sandbox's prefix for an absolute target: the check
                // above compares the target itself.
                self.compare(step, got.map(|bytes| bytes.len() as i64), Values::Ignore);
            }
            TraceOp::Symlink { target, path } => {
                let link = sandbox::replay_path(&self.plan.cwd, path);
                let done = sys.symlink(&sandbox::link_target(target), &link);
                self.compare(step, done.map(|()| 0), Values::Exact);
            }
            TraceOp::Link { from, to } => {
                let (from, to) = (sandbox::replay_path(&self.plan.cwd, from), sandbox::replay_path(&self.plan.cwd, to));
                let done = sys.link(&from, &to);
                self.compare(step, done.map(|()| 0), Values::Exact);
            }
            TraceOp::Chmod { path, mode } => {
                let done = sys.chmod(&sandbox::replay_path(&self.plan.cwd, path), *mode & PERM_MASK);
                self.compare(step, done.map(|()| 0), Values::Exact);
            }
            TraceOp::Fchmod { fd, mode } => {
                let Some(sfd) = self.fd(step, *fd, "fchmod") else { return Flow::Next };
                let done = sys.fchmod(sfd, *mode & PERM_MASK);
                self.compare(step, done.map(|()| 0), Values::Exact);
            }
            TraceOp::Chown { path, uid, gid } => {
                let done = sys.chown(&sandbox::replay_path(&self.plan.cwd, path), *uid, *gid);
                self.compare(step, done.map(|()| 0), Values::Exact);
            }
            TraceOp::Fchown { fd, uid, gid } => {
                let Some(sfd) = self.fd(step, *fd, "fchown") else { return Flow::Next };
                let done = sys.fchown(sfd, *uid, *gid);
                self.compare(step, done.map(|()| 0), Values::Exact);
            }
            TraceOp::Utimens { path, times, nofollow } => {
                let flags = if *nofollow { AT_SYMLINK_NOFOLLOW } else { 0 };
                let path = sandbox::replay_path(&self.plan.cwd, path);
                let done = sys.utimensat(AT_FDCWD, &path, times.map(|t| t.map(timespec)), flags);
                self.compare(step, done.map(|()| 0), Values::Exact);
            }
            TraceOp::Futimens { fd, times } => {
                let Some(sfd) = self.fd(step, *fd, "futimens") else { return Flow::Next };
                let done = sys.futimens(sfd, times.map(|t| t.map(timespec)));
                self.compare(step, done.map(|()| 0), Values::Exact);
            }
            TraceOp::Mknod { path, mode } => {
                let done = sys.mknod(&sandbox::replay_path(&self.plan.cwd, path), *mode, 0);
                self.compare(step, done.map(|()| 0), Values::Exact);
            }
            TraceOp::Truncate { path, len } => {
                let done = sys.truncate(&sandbox::replay_path(&self.plan.cwd, path), *len);
                self.compare(step, done.map(|()| 0), Values::Exact);
            }
            TraceOp::Ftruncate { fd, len } => {
                let Some(sfd) = self.fd(step, *fd, "ftruncate") else { return Flow::Next };
                let done = sys.ftruncate(sfd, *len);
                self.compare(step, done.map(|()| 0), Values::Exact);
            }
            TraceOp::Statfs { path } => {
                let done = sys.statvfs(&sandbox::replay_path(&self.plan.cwd, path));
                self.compare(step, done.map(|_| 0), Values::Exact);
            }
            TraceOp::Fstatfs { fd } => {
                let Some(sfd) = self.fd(step, *fd, "fstatfs") else { return Flow::Next };
                let done = sys.fstatvfs(sfd);
                self.compare(step, done.map(|_| 0), Values::Exact);
            }
            TraceOp::Pread { fd, len, offset } => {
                let Some(sfd) = self.fd(step, *fd, "pread64") else { return Flow::Next };
                let read = pread(sys, sfd, (*len).min(IO_MAX_BYTES) as usize, *offset);
                if let Ok(n) = read {
                    self.count("replay.bytes-read", n as u64);
                }
                if self.per_reader(*fd) {
                    self.compare(step, read.map(|n| n as i64), Values::ZeroOrNot);
                    return Flow::Next;
                }
                self.compare(step, read.map(|n| n as i64), Values::Exact);
            }
            TraceOp::Chdir { path } => {
                let done = sys.chdir(&sandbox::replay_path(&self.plan.cwd, path));
                if value.is_some() {
                    self.plan.cwd = sandbox::absolute(&self.plan.cwd, path);
                }
                self.compare(step, done.map(|()| 0), Values::Exact);
            }
            TraceOp::Stat { path } => {
                let done = sys.stat(&sandbox::replay_path(&self.plan.cwd, path));
                self.compare(step, done.map(|_| 0), Values::Exact);
            }
            TraceOp::Fstat { fd } => {
                let Some(sfd) = self.fd(step, *fd, "fstat") else { return Flow::Next };
                let done = sys.fstat(sfd);
                self.compare(step, done.map(|_| 0), Values::Exact);
            }
            TraceOp::Pipe { fds, nonblocking, close_on_exec } => {
                let made = if *nonblocking { sys.pipe2(O_NONBLOCK) } else { sys.pipe() };
                if let (Ok((read_end, write_end)), Some([traced_read, traced_write])) = (made, fds) {
                    let (close_on_exec, per_reader, pipe) = (*close_on_exec, false, true);
                    self.map_fd(sys, *traced_read, Fd { fd: read_end, close_on_exec, per_reader, pipe });
                    self.map_fd(sys, *traced_write, Fd { fd: write_end, close_on_exec, per_reader, pipe });
                }
                self.compare(step, made.map(|_| 0), Values::Exact);
            }
            TraceOp::Dup { fd, .. } => {
                let Some(sfd) = self.fd(step, *fd, "dup") else { return Flow::Next };
                let (per_reader, pipe) = (self.per_reader(*fd), self.is_pipe(*fd));
                let copy = sys.dup(sfd);
                if let (Ok(new), Some(traced)) = (copy, value.and_then(|v| i32::try_from(v).ok())) {
                    self.map_fd(sys, traced, Fd { fd: new, close_on_exec: false, per_reader, pipe });
                }
                self.compare(step, copy.map(i64::from), Values::Ignore);
            }
            TraceOp::Dup2 { old, new } => {
                let Some(sold) = self.fd(step, *old, "dup2") else { return Flow::Next };
                let (per_reader, pipe) = (self.per_reader(*old), self.is_pipe(*old));
                // Onto what `new` stands for, else onto `new` itself unless another traced fd
                // uses that number, else the lowest free fd.
                let target = match self.plan.fds.get(new) {
                    Some(mapped) => Some(mapped.fd),
                    None if self.plan.fds.values().any(|f| f.fd == *new) => None,
                    None => Some(*new),
                };
                let copy = match target {
                    Some(target) => sys.dup2(sold, target),
                    None => sys.dup(sold),
                };
                if let Ok(got) = copy
                    && value.is_some()
                {
                    self.map_fd(sys, *new, Fd { fd: got, close_on_exec: false, per_reader, pipe });
                }
                self.compare(step, copy.map(|_| i64::from(*new)), Values::Exact);
            }
            TraceOp::Getdents { fd, .. } => {
                let Some(sfd) = self.fd(step, *fd, "getdents") else { return Flow::Next };
                let listed = sys.getdents(sfd);
                self.compare(step, listed.map(|entries| entries.len() as i64), Values::ZeroOrNot);
            }
            TraceOp::Sigaction { signal, action } => {
                let Some(number) = signal_number(signal) else {
                    self.skip("rt_sigaction: a signal samsara lacks");
                    return Flow::Next;
                };
                // The program's flags (SA_RESTORER, SA_RESTART...) and sa_mask are its C library's
                // business; samsara's library runs the stand-in with the default mask.
                let action = action.map(|a| match a {
                    SignalAction::Default => SigAction::Default,
                    SignalAction::Ignore => SigAction::Ignore,
                    // The program's own handler is code the log does not hold: the run is counted
                    // (`replay.signals-handled`).
                    SignalAction::Handler => SigAction::Handler { handler: count_handler_run, mask: 0, flags: 0 },
                });
                let set = sys.sigaction(number, action);
                self.compare(step, set.map(|_| 0), Values::Exact);
            }
            TraceOp::Sigprocmask { how, set } => {
                let changed = match (how.as_str(), set) {
                    (_, None) => sys.sigmask(),
                    ("SIG_BLOCK", Some(set)) => sys.sigprocmask(SIG_BLOCK, *set),
                    ("SIG_UNBLOCK", Some(set)) => sys.sigprocmask(SIG_UNBLOCK, *set),
                    ("SIG_SETMASK", Some(set)) => sys.sigprocmask(SIG_SETMASK, *set),
                    _ => {
                        self.skip("rt_sigprocmask: an unknown how");
                        return Flow::Next;
                    }
                };
                self.compare(step, changed.map(|_| 0), Values::Exact);
            }
            TraceOp::IdCall { call } => {
                let got = match call.as_str() {
                    "getuid" => sys.getuid().map(|ids| i64::from(ids.uid)),
                    "getgid" => sys.getgid().map(i64::from),
                    "geteuid" => sys.geteuid().map(i64::from),
                    "getegid" => sys.getegid().map(i64::from),
                    "getpgrp" => sys.getpgrp().map(i64::from),
                    _ => sys.setsid().map(i64::from),
                };
                // The ids are the tracing host's; success and failure must agree.
                self.compare(step, got, Values::Ignore);
            }
            TraceOp::SetId { call, id } => {
                let done = match call.as_str() {
                    "setuid" => sys.setuid(*id),
                    "setgid" => sys.setgid(*id),
                    "seteuid" => sys.seteuid(*id),
                    _ => sys.setegid(*id),
                };
                self.compare(step, done.map(|()| 0), Values::Exact);
            }
            TraceOp::ClockGettime { clock, resolution } => {
                let clock = match clock.as_str() {
                    "CLOCK_REALTIME" => CLOCK_REALTIME,
                    "CLOCK_MONOTONIC" => CLOCK_MONOTONIC,
                    _ => {
                        self.skip("clock_gettime: a clock samsara lacks");
                        return Flow::Next;
                    }
                };
                let got = if *resolution { sys.clock_getres(clock) } else { sys.clock_gettime(clock) };
                self.compare(step, got.map(|_| 0), Values::Exact);
            }
            TraceOp::Uname => self.compare(step, sys.uname().map(|_| 0), Values::Exact),
            TraceOp::Gettimeofday => self.compare(step, sys.gettimeofday().map(|_| 0), Values::Exact),
            TraceOp::Fsync { fd, data_only } => {
                let Some(sfd) = self.fd(step, *fd, "fsync") else { return Flow::Next };
                let done = if *data_only { sys.fdatasync(sfd) } else { sys.fsync(sfd) };
                self.compare(step, done.map(|()| 0), Values::Exact);
            }
            TraceOp::Sync => self.compare(step, sys.sync().map(|()| 0), Values::Exact),
            TraceOp::Getgroups { size } => {
                // The groups are the tracing host's: success and failure must agree.
                let got = sys.getgroups(*size).map(|(count, _)| i64::from(count));
                self.compare(step, got, Values::Ignore);
            }
            TraceOp::OwnGroup { call } => {
                let got = if call == "getsid" { sys.getsid(0) } else { sys.getpgid(0) };
                // The host's pids, not samsara's.
                self.compare(step, got.map(i64::from), Values::Ignore);
            }
            TraceOp::Setpgid => self.compare(step, sys.setpgid(0, 0).map(|()| 0), Values::Exact),
            TraceOp::Getitimer { which } => {
                if which != "ITIMER_REAL" {
                    self.skip("getitimer: a CPU-time timer");
                    return Flow::Next;
                }
                self.compare(step, sys.getitimer(ITIMER_REAL).map(|_| 0), Values::Exact);
            }
            TraceOp::Sigpending => self.compare(step, sys.sigpending().map(|_| 0), Values::Exact),
            TraceOp::Times => self.compare(step, sys.times().map(|t| t as i64), Values::Ignore),
            TraceOp::Getrusage { who } => {
                let who = match who.as_str() {
                    "RUSAGE_SELF" => RUSAGE_SELF,
                    "RUSAGE_CHILDREN" => RUSAGE_CHILDREN,
                    _ => {
                        self.skip("getrusage: threads");
                        return Flow::Next;
                    }
                };
                self.compare(step, sys.getrusage(who).map(|_| 0), Values::Exact);
            }
            TraceOp::Alarm { seconds } => {
                // What the previous alarm had left depends on timing.
                self.compare(step, sys.alarm(*seconds).map(i64::from), Values::Ignore);
            }
            TraceOp::Setitimer { which, value_us, interval_us } => {
                if which != "ITIMER_REAL" {
                    self.skip("setitimer: a CPU-time timer");
                    return Flow::Next;
                }
                let timer = Itimer { value_us: *value_us, interval_us: *interval_us };
                self.compare(step, sys.setitimer(ITIMER_REAL, timer).map(|_| 0), Values::Exact);
            }
            TraceOp::Fcntl { fd, command } => {
                let Some(sfd) = self.fd(step, *fd, "fcntl") else { return Flow::Next };
                let (done, values) = match *command {
                    FcntlCommand::GetFd => (sys.fcntl(sfd, F_GETFD, 0), Values::Exact),
                    FcntlCommand::SetFd { close_on_exec } => {
                        if let Some(mapped) = self.plan.fds.get_mut(fd) {
                            mapped.close_on_exec = close_on_exec;
                        }
                        (sys.fcntl(sfd, F_SETFD, if close_on_exec { FD_CLOEXEC } else { 0 }), Values::Exact)
                    }
                    // Linux's flags carry bits samsara has not (O_LARGEFILE): only success counts.
                    FcntlCommand::GetFl => (sys.fcntl(sfd, F_GETFL, 0), Values::Ignore),
                    FcntlCommand::SetFl { append, nonblocking } => {
                        let bits = if append { O_APPEND } else { 0 } | if nonblocking { O_NONBLOCK } else { 0 };
                        (sys.fcntl(sfd, F_SETFL, bits as i32), Values::Exact)
                    }
                };
                self.compare(step, done.map(i64::from), values);
            }
            TraceOp::Flock { fd, op } => {
                let Some(sfd) = self.fd(step, *fd, "flock") else { return Flow::Next };
                let done = sys.flock(sfd, *op);
                self.compare(step, done.map(|()| 0), Values::Exact);
            }
            TraceOp::Getcwd => {
                let got = sys.getcwd();
                if let Ok(path) = &got {
                    let expected = sandbox::sandboxed(&self.plan.cwd);
                    self.check("replay.getcwd", *path == expected, || {
                        format!("getcwd gave {path} where the replay works in {expected}")
                    });
                }
                // The host's path is not samsara's: only success counts, and the check above.
                self.compare(step, got.map(|path| path.len() as i64 + 1), Values::Ignore);
            }
            TraceOp::Umask { mask } => {
                // The old mask is the host's starting one, not samsara's.
                let done = sys.umask(*mask);
                self.compare(step, done.map(i64::from), Values::Ignore);
            }
            TraceOp::Poll { fds, timeout_ms } => {
                let mut records = Vec::with_capacity(fds.len());
                for &(fd, events) in fds {
                    let sfd = if fd < 0 {
                        fd
                    } else {
                        let Some(sfd) = self.fd(step, fd, "poll") else { return Flow::Next };
                        sfd
                    };
                    records.push(PollFd::new(sfd, events));
                }
                let wait = timeout_ms.map_or(POLL_WAIT_CAP_MS, |ms| ms.min(POLL_WAIT_CAP_MS));
                let ready = sys.poll(&mut records, wait as i32);
                // Which fds were ready, and when, is timing: only success or failure counts.
                self.compare(step, ready.map(|n| n as i64), Values::Ignore);
            }
            TraceOp::Mremap { addr, old_len, new_len, may_move } => {
                let found = self.memory.maps.iter().rposition(|m| m.trace == *addr && m.len == *old_len);
                let Some(at) = found else {
                    self.skip("mremap: not a whole mapping a replayed mmap returned");
                    return Flow::Next;
                };
                if *new_len > MMAP_MAX_BYTES {
                    self.skip("mremap: larger than the replay maps");
                    return Flow::Next;
                }
                let flags = if *may_move { os::proto::vm::MREMAP_MAYMOVE } else { 0 };
                let remapped = sys.mremap(self.memory.maps[at].addr, *old_len, *new_len, flags);
                if let (Ok(got), Some(trace)) = (remapped, value) {
                    self.memory.maps[at] = Mapping { trace: trace as u64, len: *new_len, addr: got };
                }
                // Where it went is the host's choice and samsara's: only success counts.
                self.compare(step, remapped.map(|_| 0), Values::Ignore);
            }
            TraceOp::Mprotect { addr, len, writable } => {
                let found = self.memory.maps.iter().rposition(|m| m.trace <= *addr && *addr - m.trace < m.len);
                let Some(at) = found else {
                    self.skip("mprotect: an address no replayed mmap returned");
                    return Flow::Next;
                };
                let map = self.memory.maps[at];
                let offset = addr - map.trace;
                let len = (*len).min(map.len - offset);
                let prot = PROT_READ | if *writable { PROT_WRITE } else { 0 };
                let done = sys.mprotect(map.addr + offset, len, prot);
                self.compare(step, done.map(|()| 0), Values::Exact);
            }
        }
        Flow::Next
    }

    fn wait(&mut self, sys: &Sys<'_>, step: &TraceStep, pid: i64, nohang: bool) {
        match step.recorded.value() {
            // "No child has ended yet" is a fact about timing, not about the program.
            Some(0) => self.skip("wait: a WNOHANG poll that found no child ended"),
            Some(traced) => {
                let Some(&child) = u32::try_from(traced).ok().and_then(|t| self.plan.children.get(&t)) else {
                    self.skip("wait: a child this process did not fork");
                    return;
                };
                // The log's wait reaped this child: wait for it (a poll that found it did too).
                let waited = self.uninterrupted(sys, || sys.waitpid(child, 0));
                self.compare(
                    step,
                    waited.map(|(got, _)| if got == child { traced } else { i64::from(got) }),
                    Values::Exact,
                );
                if let Ok((_, status)) = waited {
                    self.plan.children.remove(&(traced as u32));
                    let end = self.plan.tree.get(traced as u32).and_then(|n| n.end.as_ref()).and_then(end_status);
                    if let Some(expected) = end {
                        self.check(&format!("replay.line-{}.status", step.line), status == expected, || {
                            format!(
                                "traced pid {traced} ended with {}, recorded {}",
                                status_text(status),
                                status_text(expected)
                            )
                        });
                    }
                }
            }
            None if step.recorded.errno() == Some("ECHILD") => {
                let target = match u32::try_from(pid) {
                    Ok(traced) if traced > 0 => match self.plan.children.get(&traced) {
                        Some(&child) => child,
                        None => {
                            self.skip("wait: a child this process did not fork");
                            return;
                        }
                    },
                    _ => -1,
                };
                let waited = sys.waitpid(target, if nohang { WNOHANG } else { 0 });
                self.compare(step, waited.map(|(got, _)| i64::from(got)), Values::Ignore);
            }
            None => self.skip("wait: interrupted or never returned"),
        }
    }

    fn brk(&mut self, sys: &Sys<'_>, step: &TraceStep, addr: u64) {
        let recorded = step.recorded.value();
        if addr == 0 {
            let now = sys.brk(0);
            if let (Ok(now), Some(traced)) = (now, recorded) {
                self.memory.brk = Some((traced as u64, now));
            }
            self.compare(step, now.map(|_| 0), Values::Ignore);
            return;
        }
        let Some((traced_break, break_now)) = self.memory.brk else {
            self.skip("brk: no brk(NULL) to measure from");
            return;
        };
        let Some(wanted) = break_now.checked_add_signed(addr.wrapping_sub(traced_break) as i64) else {
            self.skip("brk: moves below zero");
            return;
        };
        self.issue();
        let got = sys.brk(wanted);
        let moved = got == Ok(wanted);
        if moved {
            self.memory.brk = Some((addr, wanted));
        }
        // Linux's brk answers the old break when it cannot move it: success means "moved".
        let recorded_moved = recorded == Some(addr as i64);
        self.count("replay.compared", 1);
        if moved != recorded_moved {
            self.count("replay.mismatches", 1);
        }
        self.check(&format!("replay.line-{}", step.line), moved == recorded_moved, || {
            format!("pid {} brk: recorded moved {recorded_moved}, replayed moved {moved} ({got:?})", step.pid)
        });
    }

    fn exec(&mut self, sys: &Sys<'_>, steps: &[TraceStep], index: usize, path: &str, argv: &[String]) {
        let step = &steps[index];
        let target = sandbox::replay_path(&self.plan.cwd, path);
        let args: Vec<&str> = argv.iter().map(String::as_str).collect();
        if step.recorded.value().is_none() {
            // The log's exec failed; samsara's should too (the sandbox has no file there).
            let failed = sys.exec(&target, &args);
            self.compare(step, Err(failed), Values::Ignore);
            return;
        }
        let closing: Vec<i32> = self.plan.fds.iter().filter(|(_, f)| f.close_on_exec).map(|(fd, _)| *fd).collect();
        for fd in closing {
            if let Some(mapped) = self.plan.fds.remove(&fd) {
                let _ = sys.close(mapped.fd);
            }
        }
        let pid = match sys.getpid() {
            Ok(pid) => pid,
            Err(e) => return self.compare(step, Err(e), Values::Ignore),
        };
        self.issue();
        self.count("replay.execs", 1);
        // What this process found so far is safe with init before the old image goes.
        if let Some(collected) = &self.collected {
            let report = std::mem::take(&mut self.plan.report);
            collected.lock().unwrap_or_else(|e| e.into_inner()).push(report);
        }
        let handover = Plan {
            pid: self.plan.pid,
            steps: steps_of_family(&steps[index + 1..], &self.plan.tree, self.plan.pid),
            tree: self.plan.tree.clone(),
            cwd: self.plan.cwd.clone(),
            fds: self.plan.fds.clone(),
            children: self.plan.children.clone(),
            report: std::mem::take(&mut self.plan.report),
            first_failure: self.plan.first_failure.clone(),
        };
        let file = plan_path(pid);
        let written = serde_json::to_vec(&handover)
            .map_err(|_| Errno::EINVAL)
            .and_then(|bytes| plumbing(sys, || write_file(sys, &file, O_CREAT | O_TRUNC | O_WRONLY, &bytes)));
        // Only a failed exec comes back here: the old image goes on.
        self.plan.report = handover.report;
        let failed = match written {
            Ok(()) => {
                let failed = sys.exec(&target, &args);
                let _ = sys.unlink(&file);
                failed
            }
            Err(e) => {
                self.check("replay.plan-handover", false, || format!("writing {file} failed with {e}"));
                e
            }
        };
        self.compare(step, Err(failed), Values::Ignore);
    }
}

/// A pipe standing in for a stdio fd the log shows was a pipe or a terminal on the host.
#[derive(Clone, Copy, Debug)]
struct StdioPipe {
    /// 0, 1 or 2.
    fd: i32,
    /// The end the traced program gets as `fd` (the read end for stdin).
    program_end: i32,
    /// The end init's helper holds.
    helper_end: i32,
}

/// `fd` moved at or above `FIRST_PIPE_FD`, so placing stdio on 0, 1 and 2 cannot close it.
fn above_stdio(sys: &Sys<'_>, fd: i32) -> Result<i32, Errno> {
    if fd >= FIRST_PIPE_FD {
        return Ok(fd);
    }
    let moved = sys.fcntl(fd, F_DUPFD, FIRST_PIPE_FD)?;
    sys.close(fd)?;
    Ok(moved)
}

/// The helper at the other end of a stdio pipe: writes stdin's bytes (as much as the log read),
/// or reads stdout or stderr until every traced process closed it; reports the bytes it moved.
fn stdio_helper(sys: &Sys<'_>, pipe: StdioPipe, all: &[StdioPipe], stdin_bytes: u64, collected: &Reports) -> i32 {
    for end in all.iter().flat_map(|p| [p.program_end, p.helper_end]).filter(|&end| end != pipe.helper_end) {
        let _ = sys.close(end);
    }
    let mut report = WorkloadReport::default();
    if pipe.fd == 0 {
        // A program that stops reading early closes its end: the rest is not wanted.
        let _ = sys.sigaction(os::proto::pm::sig::SIGPIPE, Some(SigAction::Ignore));
        let bytes = sandbox::filler(stdin_bytes as usize);
        let mut written = 0;
        while written < bytes.len() {
            match sys.write(pipe.helper_end, &bytes[written..]) {
                Ok(n) if n > 0 => written += n,
                _ => break,
            }
        }
        report.count("replay.stdin-pipe-bytes", written as u64);
    } else {
        let mut buf = vec![0u8; READ_CHUNK];
        let mut drained = 0u64;
        while let Ok(n) = sys.read(pipe.helper_end, &mut buf) {
            if n == 0 {
                break;
            }
            drained += n as u64;
        }
        report.count(if pipe.fd == 1 { "replay.stdout-pipe-bytes" } else { "replay.stderr-pipe-bytes" }, drained);
    }
    let _ = sys.close(pipe.helper_end);
    collected.lock().unwrap_or_else(|e| e.into_inner()).push(report);
    0
}

/// `pread` as MINIX's C library makes it from samsara's calls: note the offset, seek, read, seek
/// back (so a later plain read goes on where it was). ESPIPE on a pipe, as Linux answers.
fn pread(sys: &Sys<'_>, fd: i32, len: usize, offset: u64) -> Result<usize, Errno> {
    let offset = i64::try_from(offset).map_err(|_| Errno::EINVAL)?;
    let was = sys.lseek(fd, 0, SEEK_CUR)?;
    sys.lseek(fd, offset, SEEK_SET)?;
    let mut buf = vec![0u8; len];
    let read = sys.read(fd, &mut buf);
    let back = sys.lseek(fd, was, SEEK_SET);
    read.and_then(|n| back.map(|_| n))
}

/// Reads from `fd` (a pipe) until `wanted` bytes came or the writers are gone: a pipe splits a
/// stream over reads by its capacity and timing (Linux's holds 64 KiB, samsara's `PIPE_BUF`), and
/// the log's count says how many bytes were there for the program at once.
fn read_pipe(sys: &Sys<'_>, fd: i32, buf: &mut [u8], first: usize, wanted: usize) -> Result<usize, Errno> {
    let (mut total, end) = (first, wanted.min(buf.len()));
    while total < end {
        match sys.read(fd, &mut buf[total..end]) {
            Ok(0) => break,
            Ok(n) => total += n,
            Err(_) => break,
        }
    }
    Ok(total)
}

/// Copies up to `limit` bytes from `from` to `to` at their offsets; the bytes copied.
fn copy(sys: &Sys<'_>, from: i32, to: i32, limit: u64) -> Result<u64, Errno> {
    let mut buf = vec![0u8; COPY_CHUNK];
    let mut total = 0u64;
    while total < limit {
        let want = (limit - total).min(COPY_CHUNK as u64) as usize;
        let n = match sys.read(from, &mut buf[..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        };
        match sys.write(to, &buf[..n]) {
            Ok(written) => {
                total += written as u64;
                if written < n {
                    break;
                }
            }
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_flags_and_signals_map() {
        let flags = OpenFlags { write: true, create: true, exclusive: true, ..OpenFlags::default() };
        assert_eq!(open_flags(&flags), O_WRONLY | O_CREAT | O_EXCL);
        let flags = OpenFlags { read: true, directory: true, ..OpenFlags::default() };
        assert_eq!(open_flags(&flags), O_RDONLY | O_DIRECTORY);
        assert_eq!(signal_number("SIGKILL"), Some(os::proto::pm::sig::SIGKILL));
        assert_eq!(signal_number("SIGUSR1"), Some(os::proto::pm::sig::SIGUSR1));
        assert_eq!(signal_number("SIGSYS"), Some(os::proto::pm::sig::SIGSYS));
        assert_eq!(signal_number("SIGRTMIN"), None);
        assert_eq!(end_status(&ProcessEnd::Exited { status: 137 }), Some(exit_status(137)));
    }

    #[test]
    fn a_machine_limit_is_named_with_where_it_is_set() {
        let fork = TraceOp::Fork { child_pid: 7 };
        assert!(machine_limit(Some(&fork), Errno::ENOMEM).is_some_and(|why| why.contains("--frames")));
        assert!(machine_limit(Some(&fork), Errno::EAGAIN).is_some_and(|why| why.contains("param procs")));
        assert!(machine_limit(Some(&TraceOp::Getpid), Errno::EAGAIN).is_none());
        assert!(machine_limit(Some(&TraceOp::Getpid), Errno::ENFILE).is_some_and(|why| why.contains("NR_FILPS")));
        assert!(
            machine_limit(Some(&TraceOp::Getpid), Errno::EMFILE).is_some_and(|why| why.contains("param descriptors"))
        );
        assert!(machine_limit(None, Errno::ENOSPC).is_some_and(|why| why.contains("param blocks")));
        assert!(machine_limit(None, Errno::EAGAIN).is_none());
        assert!(machine_limit(Some(&TraceOp::Getpid), Errno::ENOENT).is_none());
    }

    #[test]
    fn later_failures_name_the_first_divergence() {
        assert_eq!(failure_line("replay.line-42: pid 7 read(3, 4): recorded 4, replayed 0"), 42);
        assert_eq!(failure_line("replay.line-7.status: traced pid 9 ended with exit 1"), 7);
        assert_eq!(failure_line("replay.plan-readable: reading /tmp/replay/plan.3 failed"), 0);
        let report = |failures: &[&str]| WorkloadReport {
            failures: failures.iter().map(|f| f.to_string()).collect(),
            ..WorkloadReport::default()
        };
        let rec = Recorder::default();
        let first = merge_reports(
            &rec,
            vec![report(&["replay.line-90: b"]), report(&["replay.line-12: a ERECOVERED"]), report(&[])],
        );
        assert_eq!(first.as_deref(), Some("replay.line-12: a ERECOVERED"));
        let merged = rec.report();
        assert_eq!(merged.failures.len(), 2);
        assert!(merged.failures.iter().all(|f| f.contains("ERECOVERED")), "{:?}", merged.failures);
    }
}

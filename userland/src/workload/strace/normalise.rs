//! Normalisation: from the calls of a parsed log to the calls samsara supports, with the process tree.
//!
//! Duties: map each Linux call onto one [`TraceOp`] (the `*at` forms resolved to plain paths, `clone`,
//! `fork`, `vfork` and `clone3` to [`TraceOp::Fork`]), keep the recorded result next to it so a replay can
//! compare, build the [`ProcessTree`], and count every call that has no samsara equivalent by a key naming
//! the call (and, for a supported call in an unsupported form, why: `"fcntl: F_SETFD"`).
//!
//! Invariants: steps are in log order (the order calls started), so a process's `Fork` precedes
//! everything its child does; a path relative to a directory fd is resolved only when the fd's path is
//! known and still means the same directory (absolute, or opened since the process last changed its
//! working directory), otherwise the call is skipped rather than replayed against the wrong file.
//! Threads (`clone` with `CLONE_THREAD`) are folded into their process: samsara has no threads.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::event::{Call, CallResult, EventKind, StraceLog};
use super::value::{Arg, parse_int};
use os::proto::vfs::{file_type, utime};
use os::proto::vm::prot::{PROT_EXEC, PROT_READ, PROT_WRITE};

/// `AT_FDCWD` as a number, when strace printed it numerically.
const AT_FDCWD: i64 = -100;

/// Linux `open` flag bits (x86-64 and most architectures), used when strace printed a number.
mod open_bits {
    pub const ACCESS_MODE: u64 = 0o3;
    pub const WRITE_ONLY: u64 = 0o1;
    pub const READ_WRITE: u64 = 0o2;
    pub const CREATE: u64 = 0o100;
    pub const EXCLUSIVE: u64 = 0o200;
    pub const TRUNCATE: u64 = 0o1000;
    pub const APPEND: u64 = 0o2000;
    pub const NONBLOCK: u64 = 0o4000;
    pub const DIRECTORY: u64 = 0o200000;
    pub const CLOSE_ON_EXEC: u64 = 0o2000000;
}

/// Mode bits strace prints by name in front of the octal permissions.
const MODE_BITS_BY_NAME: [(&str, u32); 3] = [("S_ISUID", 0o4000), ("S_ISGID", 0o2000), ("S_ISVTX", 0o1000)];

/// A time utimensat sets: seconds and nanoseconds, the nanoseconds `UTIME_NOW` or `UTIME_OMIT`
/// (`os::proto::vfs::utime`) for the current time or the time kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UtimeSpec {
    /// Seconds since the Epoch.
    pub sec: i64,
    /// Nanoseconds, or `UTIME_NOW` / `UTIME_OMIT`.
    pub nsec: u32,
}

/// The file types of mknod's mode as strace names them, with their `S_IFMT` bits.
const FILE_TYPES_BY_NAME: [(&str, u32); 6] = [
    ("S_IFREG", file_type::S_IFREG),
    ("S_IFIFO", file_type::S_IFIFO),
    ("S_IFCHR", file_type::S_IFCHR),
    ("S_IFBLK", file_type::S_IFBLK),
    ("S_IFDIR", file_type::S_IFDIR),
    ("S_IFSOCK", 0o140000),
];

/// One call in samsara's terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TraceOp {
    /// `fork`, `vfork`, `clone` or `clone3` without `CLONE_THREAD`; the recorded child pid.
    Fork {
        /// The pid of the new process in the log.
        child_pid: u32,
    },
    /// `execve` (or `execveat`).
    Exec {
        /// The program path.
        path: String,
        /// The arguments strace printed (each possibly cut at the `-s` limit).
        argv: Vec<String>,
    },
    /// `exit_group` (or `exit` of a process's main thread).
    Exit {
        /// The status passed to the call.
        status: i32,
    },
    /// `wait4` or `waitpid`.
    Wait {
        /// Which child: a pid, `-1` for any, `0` or below for a process group.
        pid: i64,
        /// `WNOHANG`: return at once when no child has ended.
        nohang: bool,
    },
    /// `kill`.
    Kill {
        /// The target pid (negative for a process group).
        pid: i64,
        /// The signal name (`SIGKILL`) or number as printed.
        signal: String,
    },
    /// `getpid`.
    Getpid,
    /// `getppid`.
    Getppid,
    /// `brk`; `addr` 0 queries the current break.
    Brk {
        /// The requested break (an address in the traced process).
        addr: u64,
    },
    /// `mmap`.
    Mmap {
        /// Bytes to map.
        len: u64,
        /// The mapped file's fd, `None` for anonymous memory.
        fd: Option<i32>,
        /// Where in the file the mapping starts (0 for anonymous memory).
        offset: u64,
        /// Its protection (`proto::vm::prot` bits).
        prot: u32,
        /// MAP_SHARED rather than MAP_PRIVATE.
        shared: bool,
    },
    /// `munmap`; `addr` is an address the traced process got from an earlier `Mmap`'s result.
    Munmap {
        /// Start address in the traced process.
        addr: u64,
        /// Bytes to unmap.
        len: u64,
    },
    /// `open`, `openat` or `creat`.
    Open {
        /// The path, relative to the working directory unless absolute.
        path: String,
        /// What the open asked for.
        flags: OpenFlags,
        /// Permission bits for a created file, when the call passed them.
        mode: Option<u32>,
    },
    /// `read`.
    Read {
        /// The fd read from.
        fd: i32,
        /// Bytes asked for; the recorded result says how many came.
        len: u64,
    },
    /// `write`.
    Write {
        /// The fd written to.
        fd: i32,
        /// Bytes asked to write.
        len: u64,
        /// The bytes strace recorded: all `len` of them, or a prefix when strace cut the string (`-s`).
        data: Vec<u8>,
    },
    /// `copy_file_range` or `sendfile` at the fds' own offsets: a read from one fd and a write of the same
    /// bytes to another, done inside the kernel (what modern `cp` uses).
    Copy {
        /// The fd read from.
        from_fd: i32,
        /// The fd written to.
        to_fd: i32,
        /// Bytes asked for; the recorded result says how many were copied.
        len: u64,
        /// What Linux answers, before copying anything, when `to_fd` is open for appending:
        /// EBADF from copy_file_range, EINVAL from sendfile.
        appending: os::errno::Errno,
    },
    /// `close`.
    Close {
        /// The fd closed.
        fd: i32,
    },
    /// `lseek`.
    Lseek {
        /// The fd moved.
        fd: i32,
        /// The offset, relative to `whence`.
        offset: i64,
        /// Where the offset counts from.
        whence: Whence,
    },
    /// `unlink` or `unlinkat` without `AT_REMOVEDIR`.
    Unlink {
        /// The file removed.
        path: String,
    },
    /// `mkdir` or `mkdirat`.
    Mkdir {
        /// The directory created.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// `rmdir` or `unlinkat` with `AT_REMOVEDIR`.
    Rmdir {
        /// The directory removed.
        path: String,
    },
    /// `rename`, `renameat` or `renameat2` without flags or with `RENAME_NOREPLACE`.
    Rename {
        /// The old name.
        from: String,
        /// The new name.
        to: String,
        /// `RENAME_NOREPLACE`: fail with `EEXIST` rather than replace `to`.
        noreplace: bool,
    },
    /// `chdir`, or `fchdir` on a directory fd whose path is known.
    Chdir {
        /// The new working directory.
        path: String,
    },
    /// `stat`, `lstat`, `newfstatat` or `statx` on a path.
    Stat {
        /// The path examined.
        path: String,
    },
    /// `fstat`, or `newfstatat`/`statx` with an empty path and `AT_EMPTY_PATH`.
    Fstat {
        /// The fd examined.
        fd: i32,
    },
    /// `lstat`, or `newfstatat`/`statx` with `AT_SYMLINK_NOFOLLOW`: a symbolic link itself.
    Lstat {
        /// The path examined.
        path: String,
    },
    /// `access`, `faccessat` or `faccessat2`.
    Access {
        /// The path checked.
        path: String,
        /// `F_OK`, or the `R_OK`/`W_OK`/`X_OK` bits (Linux's and samsara's are the same).
        mode: u32,
    },
    /// `readlink` or `readlinkat`; the recorded result is the target's length.
    Readlink {
        /// The link.
        path: String,
        /// The target strace printed, when it printed all of it.
        target: Option<String>,
    },
    /// `symlink` or `symlinkat`.
    Symlink {
        /// What the link points to, as given.
        target: String,
        /// The link made.
        path: String,
    },
    /// `link` or `linkat`.
    Link {
        /// The existing name.
        from: String,
        /// The new name.
        to: String,
    },
    /// `chmod` or `fchmodat`.
    Chmod {
        /// The file.
        path: String,
        /// Its new permission bits.
        mode: u32,
    },
    /// `fchmod`.
    Fchmod {
        /// The fd.
        fd: i32,
        /// Its new permission bits.
        mode: u32,
    },
    /// `chown`, or `fchownat` following links; `-1` (`KEEP_ID`) keeps an id.
    Chown {
        /// The file.
        path: String,
        /// The new owner.
        uid: u32,
        /// The new group.
        gid: u32,
    },
    /// `fchown`.
    Fchown {
        /// The fd.
        fd: i32,
        /// The new owner.
        uid: u32,
        /// The new group.
        gid: u32,
    },
    /// `utimensat` with a path (one relative to a directory fd made absolute); `None`: both now.
    Utimens {
        /// The file.
        path: String,
        /// Its access and modification times.
        times: Option<[UtimeSpec; 2]>,
        /// `AT_SYMLINK_NOFOLLOW`: a link's own times.
        nofollow: bool,
    },
    /// `utimensat` on a fd with no path (`futimens`).
    Futimens {
        /// The fd.
        fd: i32,
        /// Its access and modification times; `None`: both now.
        times: Option<[UtimeSpec; 2]>,
    },
    /// `mknod` or `mknodat`.
    Mknod {
        /// The file made.
        path: String,
        /// Its type (`S_IFMT` bits) and permission bits.
        mode: u32,
    },
    /// `truncate`.
    Truncate {
        /// The file.
        path: String,
        /// Its new length.
        len: i64,
    },
    /// `ftruncate`.
    Ftruncate {
        /// The fd.
        fd: i32,
        /// Its new length.
        len: i64,
    },
    /// `statfs`: samsara's `statvfs`.
    Statfs {
        /// A path on the file system.
        path: String,
    },
    /// `fstatfs`: samsara's `fstatvfs`.
    Fstatfs {
        /// An fd on the file system.
        fd: i32,
    },
    /// `fsync` or `fdatasync`.
    Fsync {
        /// The fd.
        fd: i32,
        /// `fdatasync`: the data, not every attribute.
        data_only: bool,
    },
    /// `sync`.
    Sync,
    /// `getgroups`; the recorded result is how many groups (the host's).
    Getgroups {
        /// The room the call gave (0: only count them).
        size: i32,
    },
    /// `getpgid(0)` or `getsid(0)`: the caller's process group or session.
    OwnGroup {
        /// `getpgid` or `getsid`.
        call: String,
    },
    /// `setpgid(0, 0)`: the caller leads a process group of its own.
    Setpgid,
    /// `getitimer`.
    Getitimer {
        /// `ITIMER_REAL`, `ITIMER_VIRTUAL` or `ITIMER_PROF`.
        which: String,
    },
    /// `rt_sigpending` or `sigpending`.
    Sigpending,
    /// `pread64`: a read at `offset` that leaves the fd's offset where it was; the recorded result
    /// is the bytes read.
    Pread {
        /// The fd read from.
        fd: i32,
        /// Bytes asked for.
        len: u64,
        /// Where in the file.
        offset: u64,
    },
    /// `pipe` or `pipe2`.
    Pipe {
        /// The read and write fds the call returned, `None` when it failed.
        fds: Option<[i32; 2]>,
        /// `pipe2` with `O_NONBLOCK`.
        nonblocking: bool,
        /// `pipe2` with `O_CLOEXEC`.
        close_on_exec: bool,
    },
    /// `fcntl` reading or setting descriptor or status flags (its `F_DUPFD` forms are [`TraceOp::Dup`]).
    Fcntl {
        /// The fd.
        fd: i32,
        /// What it does.
        command: FcntlCommand,
    },
    /// `flock`.
    Flock {
        /// The fd.
        fd: i32,
        /// The operation in samsara's `proto::vfs::flock` bits.
        op: u32,
    },
    /// `getcwd`; the recorded result is the path's length with its NUL.
    Getcwd,
    /// `umask`; the recorded result is the old mask.
    Umask {
        /// The new mask.
        mask: u32,
    },
    /// `poll` or `ppoll`; the recorded result is how many fds were ready.
    Poll {
        /// Each record's fd and the events it asked for (samsara's `proto::vfs::poll` bits).
        fds: Vec<(i32, u16)>,
        /// The timeout in milliseconds, `None` for none.
        timeout_ms: Option<i64>,
    },
    /// `mremap` of a whole earlier mapping; the recorded result is its new address.
    Mremap {
        /// Start address in the traced process.
        addr: u64,
        /// Its length.
        old_len: u64,
        /// The length wanted.
        new_len: u64,
        /// `MREMAP_MAYMOVE`.
        may_move: bool,
    },
    /// `mprotect` to read-only or read-write pages; `addr` is an address the traced process got from an
    /// earlier `Mmap`'s result.
    Mprotect {
        /// Start address in the traced process.
        addr: u64,
        /// Bytes.
        len: u64,
        /// `PROT_WRITE` (with `PROT_READ`).
        writable: bool,
    },
    /// `dup`, or `fcntl` with `F_DUPFD`/`F_DUPFD_CLOEXEC`; the recorded result is the new fd.
    Dup {
        /// The fd duplicated.
        fd: i32,
        /// The lowest fd the copy may take (0 for `dup`).
        min_fd: i32,
    },
    /// `dup2` or `dup3`.
    Dup2 {
        /// The fd duplicated.
        old: i32,
        /// The fd it is copied onto.
        new: i32,
    },
    /// `getdents64` or `getdents`.
    Getdents {
        /// The directory fd.
        fd: i32,
        /// The buffer size asked for.
        len: u64,
    },
    /// `rt_sigaction` or `sigaction`: a signal's action, set when `action` is given.
    Sigaction {
        /// The signal's name (`SIGINT`).
        signal: String,
        /// The new action, `None` to only read the old one.
        action: Option<SignalAction>,
    },
    /// `rt_sigprocmask` or `sigprocmask`: change the mask, or (no set) only read it.
    Sigprocmask {
        /// `SIG_BLOCK`, `SIG_UNBLOCK` or `SIG_SETMASK`.
        how: String,
        /// The set, a bit per Linux signal number (real-time signals left out: samsara has none);
        /// `None` when the call passed no set.
        set: Option<u32>,
    },
    /// `getuid`, `getgid`, `geteuid`, `getegid`, `getpgrp` or `setsid`: a call without arguments
    /// answering an id.
    IdCall {
        /// The call's name.
        call: String,
    },
    /// `setuid`, `setgid`, `seteuid` or `setegid` (also `setresuid`/`setresgid` that set all three
    /// ids alike, or the effective one alone): the call samsara makes, and the id.
    SetId {
        /// The call's name.
        call: String,
        /// The id it sets.
        id: u32,
    },
    /// `clock_gettime`, or `clock_getres` (`resolution`).
    ClockGettime {
        /// The clock's name (`CLOCK_MONOTONIC`).
        clock: String,
        /// `clock_getres`: the clock's resolution, not its time.
        resolution: bool,
    },
    /// `uname`: the system's names (the host's, not compared; success and failure must agree).
    Uname,
    /// `gettimeofday`.
    Gettimeofday,
    /// `times`.
    Times,
    /// `getrusage`.
    Getrusage {
        /// `RUSAGE_SELF`, `RUSAGE_CHILDREN` or `RUSAGE_THREAD`.
        who: String,
    },
    /// `alarm`.
    Alarm {
        /// Seconds.
        seconds: u32,
    },
    /// `setitimer`.
    Setitimer {
        /// `ITIMER_REAL`, `ITIMER_VIRTUAL` or `ITIMER_PROF`.
        which: String,
        /// Microseconds to the first expiry (0 stops the timer).
        value_us: u64,
        /// Microseconds between later expiries.
        interval_us: u64,
    },
}

/// A signal action as `rt_sigaction` printed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignalAction {
    /// `SIG_DFL`.
    Default,
    /// `SIG_IGN`.
    Ignore,
    /// A handler address in the traced program (the replay installs a stand-in).
    Handler,
}

/// Linux's signal names without `SIG`, numbered from 1 (as in the kernel's x86 and generic
/// tables): how strace prints members of a signal set.
pub const SIGNAL_NAMES: [&str; 31] = [
    "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM", "TERM",
    "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO",
    "PWR", "SYS",
];

/// The bit of each named member of a printed signal set (`[INT CHLD]`, `~[RTMIN RT_1]` for all
/// but those); real-time signals, which samsara lacks, are left out.
fn signal_set(arg: &Arg) -> Option<u32> {
    let (names, complement): (Vec<String>, bool) = match arg.unnamed() {
        Arg::Array(items) => (items.iter().filter_map(|item| first_flag(Some(item))).collect(), false),
        Arg::Other(text) => {
            let inner = text.strip_prefix("~[")?.strip_suffix(']')?;
            (inner.split_whitespace().map(str::to_string).collect(), true)
        }
        _ => return None,
    };
    let mut bits = 0u32;
    for name in &names {
        let name = name.strip_prefix("SIG").unwrap_or(name);
        if let Some(index) = SIGNAL_NAMES.iter().position(|known| *known == name) {
            bits |= 1 << (index + 1);
        }
    }
    // Every signal number 1..=31 (bit 0 is no signal).
    Some(if complement { !bits & !1 } else { bits })
}

/// A printed `struct timeval` as microseconds.
fn timeval_us(arg: &Arg) -> Option<u64> {
    let sec = u64::try_from(arg.field("tv_sec")?.as_int()?).ok()?;
    let usec = u64::try_from(arg.field("tv_usec")?.as_int()?).ok()?;
    sec.checked_mul(1_000_000)?.checked_add(usec)
}

/// What an open asked for, decoded from `O_*` flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenFlags {
    /// `O_RDONLY` or `O_RDWR`.
    pub read: bool,
    /// `O_WRONLY` or `O_RDWR`.
    pub write: bool,
    /// `O_CREAT`.
    pub create: bool,
    /// `O_TRUNC`.
    pub truncate: bool,
    /// `O_APPEND`.
    pub append: bool,
    /// `O_DIRECTORY`.
    pub directory: bool,
    /// `O_EXCL`.
    pub exclusive: bool,
    /// `O_CLOEXEC`.
    pub close_on_exec: bool,
}

/// An `fcntl` on flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FcntlCommand {
    /// `F_GETFD`: the recorded result is the descriptor's flags.
    GetFd,
    /// `F_SETFD`.
    SetFd {
        /// `FD_CLOEXEC`.
        close_on_exec: bool,
    },
    /// `F_GETFL`: the recorded result is the open file's flags (Linux adds bits samsara has not).
    GetFl,
    /// `F_SETFL`.
    SetFl {
        /// `O_APPEND`.
        append: bool,
        /// `O_NONBLOCK`.
        nonblocking: bool,
    },
}

/// Milliseconds in a second and nanoseconds in a millisecond, for `ppoll`'s timespec.
const MS_PER_SEC: i64 = 1_000;
const NS_PER_MS: i64 = 1_000_000;

/// samsara's poll event bits for the names strace prints (`POLLIN|POLLPRI`); unknown names count as none.
fn poll_events(arg: &Arg) -> u16 {
    use os::proto::vfs::poll::*;
    match arg.unnamed() {
        Arg::Int(value) => *value as u16,
        Arg::Flags(names) => names
            .iter()
            .map(|name| match name.as_str() {
                "POLLIN" => POLLIN,
                "POLLPRI" => POLLPRI,
                "POLLOUT" => POLLOUT,
                "POLLRDNORM" => POLLRDNORM,
                "POLLWRNORM" => POLLWRNORM,
                _ => 0,
            })
            .fold(0, |all, bits| all | bits),
        _ => 0,
    }
}

/// Where an `lseek` offset counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Whence {
    /// `SEEK_SET`: from the start of the file.
    Set,
    /// `SEEK_CUR`: from the current offset.
    Current,
    /// `SEEK_END`: from the end of the file.
    End,
}

/// One normalised call, where it came from, and what it returned when recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceStep {
    /// The log line where the call started.
    pub line: usize,
    /// The process that made it (a thread's calls carry its process's pid).
    pub pid: u32,
    /// The call.
    pub op: TraceOp,
    /// What it returned in the recorded run.
    pub recorded: CallResult,
}

/// How a process ended in the recorded run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProcessEnd {
    /// `+++ exited with N +++`.
    Exited {
        /// The exit status.
        status: i32,
    },
    /// `+++ killed by SIG... +++`.
    Killed {
        /// The fatal signal.
        signal: String,
        /// Whether a core was dumped.
        core_dumped: bool,
    },
}

/// One process of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessNode {
    /// The process that forked it, `None` for the traced program itself.
    pub parent: Option<u32>,
    /// The processes it forked, in fork order.
    pub children: Vec<u32>,
    /// The first line that mentions it (its parent's fork, or its own first event).
    pub first_line: usize,
    /// How it ended, `None` if the log stops before it does.
    pub end: Option<ProcessEnd>,
}

/// Every process of the log with its parent and children.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessTree {
    /// The processes by pid.
    pub processes: BTreeMap<u32, ProcessNode>,
}

impl ProcessTree {
    /// The processes nobody in the log forked: normally just the traced program.
    pub fn roots(&self) -> impl Iterator<Item = u32> + '_ {
        self.processes.iter().filter(|(_, node)| node.parent.is_none()).map(|(pid, _)| *pid)
    }

    /// The process `pid`.
    pub fn get(&self, pid: u32) -> Option<&ProcessNode> {
        self.processes.get(&pid)
    }

    /// The parent of `pid`.
    pub fn parent_of(&self, pid: u32) -> Option<u32> {
        self.get(pid).and_then(|node| node.parent)
    }

    /// The children of `pid`, in fork order.
    pub fn children_of(&self, pid: u32) -> &[u32] {
        self.get(pid).map_or(&[], |node| node.children.as_slice())
    }

    fn register(&mut self, pid: u32, line: usize) -> &mut ProcessNode {
        self.processes.entry(pid).or_insert(ProcessNode {
            parent: None,
            children: Vec::new(),
            first_line: line,
            end: None,
        })
    }

    fn add_child(&mut self, parent: u32, child: u32, line: usize) {
        let node = self.register(child, line);
        if node.parent.is_none() {
            node.parent = Some(parent);
        }
        let siblings = &mut self.register(parent, line).children;
        if !siblings.contains(&child) {
            siblings.push(child);
        }
    }
}

/// A log mapped onto samsara's calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NormalisedTrace {
    /// The log's name.
    pub source: String,
    /// The supported calls, in the order they started.
    pub steps: Vec<TraceStep>,
    /// The processes and who forked whom.
    pub processes: ProcessTree,
    /// How many calls were left out, by call name (or `"call: reason"` for a supported call in a form
    /// samsara cannot replay).
    pub skipped: BTreeMap<String, u64>,
    /// The working directory the traced program started in, when the log shows it: the path of the
    /// first successful `getcwd` made before any process changed its directory (`getcwd` is also
    /// replayed: samsara's answer must be the sandboxed working directory).
    pub cwd: Option<String>,
}

impl NormalisedTrace {
    /// The steps of one process, in order.
    pub fn steps_of(&self, pid: u32) -> impl Iterator<Item = &TraceStep> + '_ {
        self.steps.iter().filter(move |step| step.pid == pid)
    }

    /// How many calls were left out in all.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }
}

/// Maps a parsed log onto samsara's calls. Never fails: what cannot be mapped is counted in `skipped`.
pub fn normalise(log: &StraceLog) -> NormalisedTrace {
    let mut normaliser = Normaliser::default();
    for event in &log.events {
        let thread = event.pid;
        let pid = normaliser.process_of(thread);
        normaliser.processes.register(pid, event.line);
        match &event.kind {
            EventKind::Call(call) => match normaliser.note_cwd(call).map_call(pid, thread, event.line, call) {
                Ok(op) => normaliser.steps.push(TraceStep { line: event.line, pid, op, recorded: call.result.clone() }),
                Err(reason) => *normaliser.skipped.entry(reason).or_default() += 1,
            },
            EventKind::Exited { status } if pid == thread => {
                normaliser.end(pid, ProcessEnd::Exited { status: *status });
            }
            EventKind::Killed { signal, core_dumped } if pid == thread => {
                normaliser.end(pid, ProcessEnd::Killed { signal: signal.clone(), core_dumped: *core_dumped });
            }
            _ => {}
        }
    }
    NormalisedTrace {
        source: log.source.clone(),
        steps: normaliser.steps,
        processes: normaliser.processes,
        skipped: normaliser.skipped,
        cwd: normaliser.start_cwd,
    }
}

/// An open fd as far as path resolution cares.
#[derive(Debug, Clone)]
struct OpenFile {
    /// The path it was opened with (resolved), `None` for pipes and fds of unknown origin.
    path: Option<String>,
    /// The process's working-directory epoch when it was opened; a relative path only names the same
    /// directory while the epoch is unchanged.
    cwd_epoch: u64,
    close_on_exec: bool,
}

/// Per process: its fds and how many times it changed its working directory.
#[derive(Debug, Clone, Default)]
struct FileState {
    fds: BTreeMap<i32, OpenFile>,
    cwd_epoch: u64,
}

#[derive(Default)]
struct Normaliser {
    steps: Vec<TraceStep>,
    processes: ProcessTree,
    skipped: BTreeMap<String, u64>,
    /// Thread id -> the process (thread-group leader) it belongs to.
    process_of_thread: BTreeMap<u32, u32>,
    files: BTreeMap<u32, FileState>,
    /// The first `getcwd` result seen while no process had changed directory yet.
    start_cwd: Option<String>,
    /// Whether any process changed its working directory (later `getcwd`s no longer tell the start).
    changed_dir: bool,
}

fn need<T>(value: Option<T>, call: &str) -> Result<T, String> {
    value.ok_or_else(|| format!("{call}: arguments not understood"))
}

fn int_arg(call: &Call, index: usize) -> Option<i64> {
    call.arg(index).and_then(Arg::as_int)
}

fn fd_arg(call: &Call, index: usize) -> Option<i32> {
    int_arg(call, index).and_then(|fd| i32::try_from(fd).ok())
}

fn len_arg(call: &Call, index: usize) -> Option<u64> {
    int_arg(call, index).and_then(|len| u64::try_from(len).ok())
}

/// An address argument; addresses above `i64::MAX` were wrapped when parsed and wrap back here.
fn addr_arg(call: &Call, index: usize) -> Option<u64> {
    int_arg(call, index).map(|addr| addr as u64)
}

/// A uid or gid argument; `-1` (keep the id) is samsara's `KEEP_ID`.
fn id_arg(call: &Call, index: usize) -> Option<u32> {
    match int_arg(call, index)? {
        -1 => Some(os::proto::vfs::KEEP_ID),
        id => u32::try_from(id).ok(),
    }
}

/// A number, or symbolic constants `A|B|...` each worth its bits in `names` (an unknown name: `None`).
fn named_bits(arg: &Arg, names: &[(&str, u32)]) -> Option<u32> {
    match arg.unnamed() {
        Arg::Int(bits) => u32::try_from(*bits).ok(),
        Arg::Flags(flags) => flags.iter().try_fold(0, |all, flag| {
            let (_, bit) = names.iter().find(|(name, _)| name == flag)?;
            Some(all | bit)
        }),
        _ => None,
    }
}

/// `access`'s mode: `F_OK`, or `R_OK|W_OK|X_OK` bits (numbered as samsara numbers them).
fn access_bits(arg: &Arg) -> Option<u32> {
    use os::proto::fs::{R_OK, W_OK, X_OK};
    named_bits(arg, &[("F_OK", 0), ("R_OK", R_OK), ("W_OK", W_OK), ("X_OK", X_OK)])
}

/// `mmap`'s and `mprotect`'s protection: `PROT_NONE`, or `PROT_READ|PROT_WRITE|PROT_EXEC` bits.
fn prot_bits(arg: &Arg) -> Option<u32> {
    named_bits(arg, &[("PROT_NONE", 0), ("PROT_READ", PROT_READ), ("PROT_WRITE", PROT_WRITE), ("PROT_EXEC", PROT_EXEC)])
}

fn first_flag(arg: Option<&Arg>) -> Option<String> {
    match arg.map(Arg::unnamed) {
        Some(Arg::Flags(names)) => names.first().cloned(),
        Some(Arg::Int(value)) => Some(value.to_string()),
        _ => None,
    }
}

fn join(dir: &str, path: &str) -> String {
    if path.is_empty() {
        dir.to_string()
    } else if dir.ends_with('/') {
        format!("{dir}{path}")
    } else {
        format!("{dir}/{path}")
    }
}

fn open_flags(arg: &Arg) -> Option<OpenFlags> {
    let bits = match arg.unnamed() {
        Arg::Int(value) => *value as u64,
        Arg::Flags(names) => names.iter().map(|name| open_flag_bits(name)).fold(0, |all, bits| all | bits),
        _ => return None,
    };
    let access = bits & open_bits::ACCESS_MODE;
    Some(OpenFlags {
        read: access != open_bits::WRITE_ONLY,
        write: access == open_bits::WRITE_ONLY || access == open_bits::READ_WRITE,
        create: bits & open_bits::CREATE != 0,
        truncate: bits & open_bits::TRUNCATE != 0,
        append: bits & open_bits::APPEND != 0,
        directory: bits & open_bits::DIRECTORY != 0,
        exclusive: bits & open_bits::EXCLUSIVE != 0,
        close_on_exec: bits & open_bits::CLOSE_ON_EXEC != 0,
    })
}

/// The bits of one printed open flag; flags that do not change what samsara does (`O_NOCTTY`,
/// `O_LARGEFILE`...) count as none.
fn open_flag_bits(name: &str) -> u64 {
    match name {
        "O_WRONLY" => open_bits::WRITE_ONLY,
        "O_RDWR" => open_bits::READ_WRITE,
        "O_CREAT" => open_bits::CREATE,
        "O_EXCL" => open_bits::EXCLUSIVE,
        "O_TRUNC" => open_bits::TRUNCATE,
        "O_APPEND" => open_bits::APPEND,
        "O_DIRECTORY" => open_bits::DIRECTORY,
        "O_CLOEXEC" => open_bits::CLOSE_ON_EXEC,
        other => parse_int(other.as_bytes()).map_or(0, |value| value as u64),
    }
}

fn mode_bits(arg: &Arg) -> Option<u32> {
    match arg.unnamed() {
        Arg::Int(value) => u32::try_from(*value).ok(),
        Arg::Flags(names) => names.iter().try_fold(0, |mode, name| {
            let named = MODE_BITS_BY_NAME.iter().chain(&FILE_TYPES_BY_NAME).find(|(known, _)| known == name);
            let bits = match named {
                Some((_, bits)) => *bits,
                None => u32::try_from(parse_int(name.as_bytes())?).ok()?,
            };
            Some(mode | bits)
        }),
        _ => None,
    }
}

/// One time of utimensat's array: `{tv_sec=S, tv_nsec=N}`, or `UTIME_NOW` / `UTIME_OMIT` as strace
/// prints a special one.
fn utime_spec(arg: &Arg) -> Option<UtimeSpec> {
    let special = |arg: &Arg| match arg.unnamed() {
        _ if arg.has_flag("UTIME_NOW") => Some(utime::UTIME_NOW),
        _ if arg.has_flag("UTIME_OMIT") => Some(utime::UTIME_OMIT),
        _ => None,
    };
    if let Some(nsec) = special(arg) {
        return Some(UtimeSpec { sec: 0, nsec });
    }
    let sec = arg.field("tv_sec")?.as_int()?;
    let nsec = arg.field("tv_nsec")?;
    let nsec = special(nsec).or_else(|| u32::try_from(nsec.as_int()?).ok())?;
    Some(UtimeSpec { sec, nsec })
}

/// One time of utimes's array: `{tv_sec=S, tv_usec=U}`.
fn timeval_spec(arg: &Arg) -> Option<UtimeSpec> {
    let sec = arg.field("tv_sec")?.as_int()?;
    let usec = u32::try_from(arg.field("tv_usec")?.as_int()?).ok()?;
    // Microseconds past a second's million are invalid; passed as such, vfs answers EINVAL.
    Some(UtimeSpec { sec, nsec: usec.saturating_mul(1_000) })
}

/// The times of utimensat or utimes: NULL (both now) or an array of two, each read by `one`.
fn time_pair(arg: &Arg, one: fn(&Arg) -> Option<UtimeSpec>) -> Option<Option<[UtimeSpec; 2]>> {
    match arg.unnamed() {
        Arg::Int(0) => Some(None),
        Arg::Array(times) => match times.as_slice() {
            [atime, mtime] => Some(Some([one(atime)?, one(mtime)?])),
            _ => None,
        },
        _ => None,
    }
}

impl Normaliser {
    /// Remembers where the traced program started from its first `getcwd`, and when a directory
    /// change makes later ones meaningless for that.
    fn note_cwd(&mut self, call: &Call) -> &mut Self {
        let succeeded = call.result.value().is_some();
        match call.name.as_str() {
            "getcwd" if succeeded && !self.changed_dir && self.start_cwd.is_none() => {
                self.start_cwd = call.arg(0).and_then(Arg::as_text).filter(|path| path.starts_with('/'));
            }
            "chdir" | "fchdir" if succeeded => self.changed_dir = true,
            _ => {}
        }
        self
    }

    fn process_of(&self, thread: u32) -> u32 {
        self.process_of_thread.get(&thread).copied().unwrap_or(thread)
    }

    fn end(&mut self, pid: u32, end: ProcessEnd) {
        let node = self.processes.register(pid, 0);
        if node.end.is_none() {
            node.end = Some(end);
        }
    }

    fn files(&mut self, pid: u32) -> &mut FileState {
        self.files.entry(pid).or_default()
    }

    /// The path of directory fd `fd` of `pid`, if it still names the same directory (see module invariants).
    fn dir_path(&self, pid: u32, fd: i32) -> Option<String> {
        let files = self.files.get(&pid)?;
        let open = files.fds.get(&fd)?;
        let path = open.path.as_ref()?;
        (path.starts_with('/') || open.cwd_epoch == files.cwd_epoch).then(|| path.clone())
    }

    /// The path of an `*at` call: absolute, relative to `AT_FDCWD`, or joined to a directory fd's path.
    fn resolve(&self, pid: u32, call: &Call, dirfd_index: usize, path_index: usize) -> Result<String, String> {
        let path = need(call.arg(path_index).and_then(Arg::as_text), &call.name)?;
        if path.starts_with('/') {
            return Ok(path);
        }
        let dirfd = need(call.arg(dirfd_index), &call.name)?;
        if dirfd.has_flag("AT_FDCWD") || dirfd.as_int() == Some(AT_FDCWD) {
            return Ok(path);
        }
        let fd = need(dirfd.as_int().and_then(|fd| i32::try_from(fd).ok()), &call.name)?;
        let dir = self
            .dir_path(pid, fd)
            .ok_or_else(|| format!("{}: relative to a directory fd of unknown path", call.name))?;
        Ok(join(&dir, &path))
    }

    fn path(call: &Call, index: usize) -> Result<String, String> {
        need(call.arg(index).and_then(Arg::as_text), &call.name)
    }

    /// Records a new fd of `pid` (a successful open, dup or pipe).
    fn track_fd(&mut self, pid: u32, fd: Option<i64>, path: Option<String>, close_on_exec: bool) {
        let Some(fd) = fd.and_then(|fd| i32::try_from(fd).ok()) else { return };
        let files = self.files(pid);
        let cwd_epoch = files.cwd_epoch;
        files.fds.insert(fd, OpenFile { path, cwd_epoch, close_on_exec });
    }

    fn track_dup(&mut self, pid: u32, old: i32, new: Option<i64>, close_on_exec: bool) {
        let Some(new) = new.and_then(|fd| i32::try_from(fd).ok()) else { return };
        let files = self.files(pid);
        if let Some(open) = files.fds.get(&old).cloned() {
            files.fds.insert(new, OpenFile { close_on_exec, ..open });
        } else {
            files.fds.remove(&new);
        }
    }

    fn map_call(&mut self, pid: u32, thread: u32, line: usize, call: &Call) -> Result<TraceOp, String> {
        let name = call.name.as_str();
        let result = call.result.value();
        let succeeded = result.is_some();
        let op = match name {
            "fork" | "vfork" | "clone" | "clone3" => {
                let flags = match name {
                    "clone" => call.named("flags"),
                    "clone3" => call.arg(0).and_then(|args| args.field("flags")),
                    _ => None,
                };
                let child = result.and_then(|child| u32::try_from(child).ok()).filter(|child| *child > 0);
                if flags.is_some_and(|flags| flags.has_flag("CLONE_THREAD")) {
                    if let Some(child) = child {
                        self.process_of_thread.insert(child, pid);
                    }
                    return Err(format!("{name}: thread (its calls count as its process's)"));
                }
                let child_pid = child.ok_or_else(|| format!("{name}: no child created"))?;
                self.processes.add_child(pid, child_pid, line);
                let inherited = self.files(pid).clone();
                self.files.insert(child_pid, inherited);
                TraceOp::Fork { child_pid }
            }
            "execve" | "execveat" => {
                let (path, argv_index) = match name {
                    "execve" => (Self::path(call, 0)?, 1),
                    _ => (self.resolve(pid, call, 0, 1)?, 2),
                };
                let argv = match call.arg(argv_index).map(Arg::unnamed) {
                    Some(Arg::Array(items)) => items.iter().filter_map(Arg::as_text).collect(),
                    _ => Vec::new(),
                };
                if succeeded {
                    self.files(pid).fds.retain(|_, open| !open.close_on_exec);
                }
                TraceOp::Exec { path, argv }
            }
            "exit" if pid != thread => return Err("exit: thread".to_string()),
            "exit" | "exit_group" => {
                TraceOp::Exit { status: need(int_arg(call, 0).and_then(|status| i32::try_from(status).ok()), name)? }
            }
            "wait4" | "waitpid" => TraceOp::Wait {
                pid: need(int_arg(call, 0), name)?,
                nohang: call.arg(2).is_some_and(|options| options.has_flag("WNOHANG")),
            },
            "kill" => {
                TraceOp::Kill { pid: need(int_arg(call, 0), name)?, signal: need(first_flag(call.arg(1)), name)? }
            }
            "getpid" => TraceOp::Getpid,
            "getppid" => TraceOp::Getppid,
            "rt_sigaction" | "sigaction" => {
                let signal = need(first_flag(call.arg(0)), name)?;
                let action = match call.arg(1).map(Arg::unnamed) {
                    None | Some(Arg::Int(0)) => None,
                    Some(act) => Some(match first_flag(act.field("sa_handler")).as_deref() {
                        Some("SIG_DFL") => SignalAction::Default,
                        Some("SIG_IGN") => SignalAction::Ignore,
                        _ => SignalAction::Handler,
                    }),
                };
                TraceOp::Sigaction { signal, action }
            }
            "rt_sigprocmask" | "sigprocmask" => {
                let how = need(first_flag(call.arg(0)), name)?;
                let set = match call.arg(1).map(Arg::unnamed) {
                    None | Some(Arg::Int(0)) => None,
                    Some(set) => Some(need(signal_set(set), name)?),
                };
                TraceOp::Sigprocmask { how, set }
            }
            "getuid" | "getgid" | "geteuid" | "getegid" | "getpgrp" | "setsid" => {
                TraceOp::IdCall { call: name.to_string() }
            }
            "setuid" | "setgid" | "seteuid" | "setegid" => {
                TraceOp::SetId { call: name.to_string(), id: need(id_arg(call, 0), name)? }
            }
            "setresuid" | "setresgid" => {
                let (real, effective, saved) =
                    (need(id_arg(call, 0), name)?, need(id_arg(call, 1), name)?, need(id_arg(call, 2), name)?);
                let (all, effective_only) =
                    if name == "setresuid" { ("setuid", "seteuid") } else { ("setgid", "setegid") };
                let keep = os::proto::vfs::KEEP_ID;
                match (real, effective, saved) {
                    (r, e, s) if r == e && e == s && e != keep => TraceOp::SetId { call: all.to_string(), id: e },
                    (r, e, s) if r == keep && s == keep && e != keep => {
                        TraceOp::SetId { call: effective_only.to_string(), id: e }
                    }
                    _ => return Err(format!("{name}: real, effective and saved ids set apart")),
                }
            }
            "clock_gettime" | "clock_getres" => TraceOp::ClockGettime {
                clock: need(first_flag(call.arg(0)), name)?,
                resolution: name == "clock_getres",
            },
            "uname" => TraceOp::Uname,
            "gettimeofday" => TraceOp::Gettimeofday,
            "fsync" | "fdatasync" => {
                TraceOp::Fsync { fd: need(fd_arg(call, 0), name)?, data_only: name == "fdatasync" }
            }
            "sync" => TraceOp::Sync,
            "getgroups" => {
                TraceOp::Getgroups { size: need(int_arg(call, 0).and_then(|size| i32::try_from(size).ok()), name)? }
            }
            "getpgid" | "getsid" => match need(int_arg(call, 0), name)? {
                0 => TraceOp::OwnGroup { call: name.to_string() },
                _ => return Err(format!("{name}: of another process")),
            },
            "setpgid" => match (need(int_arg(call, 0), name)?, need(int_arg(call, 1), name)?) {
                (0, 0) => TraceOp::Setpgid,
                _ => return Err("setpgid: of another process or into another group".to_string()),
            },
            "getitimer" => TraceOp::Getitimer { which: need(first_flag(call.arg(0)), name)? },
            "rt_sigpending" | "sigpending" => TraceOp::Sigpending,
            "times" => TraceOp::Times,
            "getrusage" => TraceOp::Getrusage { who: need(first_flag(call.arg(0)), name)? },
            "alarm" => TraceOp::Alarm { seconds: need(int_arg(call, 0).and_then(|s| u32::try_from(s).ok()), name)? },
            "setitimer" => {
                let new = need(call.arg(1), name)?;
                TraceOp::Setitimer {
                    which: need(first_flag(call.arg(0)), name)?,
                    value_us: need(new.field("it_value").and_then(timeval_us), name)?,
                    interval_us: need(new.field("it_interval").and_then(timeval_us), name)?,
                }
            }
            "brk" => TraceOp::Brk { addr: need(addr_arg(call, 0), name)? },
            "mmap" | "mmap2" => {
                let flags = need(call.arg(3), name)?;
                let anonymous = flags.has_flag("MAP_ANONYMOUS");
                let shared = flags.has_flag("MAP_SHARED") || flags.has_flag("MAP_SHARED_VALIDATE");
                let (fd, offset) = match anonymous {
                    true => (None, 0),
                    false => (Some(need(fd_arg(call, 4), name)?), need(len_arg(call, 5), name)?),
                };
                let prot = need(call.arg(2).and_then(prot_bits), name)?;
                if fd.is_some() && prot & PROT_READ == 0 {
                    return Err("mmap: a file mapping without PROT_READ (samsara's pages are readable)".to_string());
                }
                TraceOp::Mmap { len: need(len_arg(call, 1), name)?, fd, offset, prot, shared }
            }
            "munmap" => TraceOp::Munmap { addr: need(addr_arg(call, 0), name)?, len: need(len_arg(call, 1), name)? },
            "open" | "openat" | "creat" => {
                let (path, flags, mode) = match name {
                    "open" => (Self::path(call, 0)?, call.arg(1).and_then(open_flags), call.arg(2)),
                    "openat" => (self.resolve(pid, call, 0, 1)?, call.arg(2).and_then(open_flags), call.arg(3)),
                    _ => {
                        let created = OpenFlags { write: true, create: true, truncate: true, ..OpenFlags::default() };
                        (Self::path(call, 0)?, Some(created), call.arg(1))
                    }
                };
                let flags = need(flags, name)?;
                let mode = match mode {
                    Some(mode) => Some(need(mode_bits(mode), name)?),
                    None => None,
                };
                self.track_fd(pid, result, Some(path.clone()), flags.close_on_exec);
                TraceOp::Open { path, flags, mode }
            }
            "read" => TraceOp::Read { fd: need(fd_arg(call, 0), name)?, len: need(len_arg(call, 2), name)? },
            "write" => TraceOp::Write {
                fd: need(fd_arg(call, 0), name)?,
                len: need(len_arg(call, 2), name)?,
                data: need(call.arg(1).and_then(Arg::as_bytes), name)?.to_vec(),
            },
            "copy_file_range" | "sendfile" | "sendfile64" => {
                let (from, from_offset, to, to_offset, len, appending) = match name {
                    "copy_file_range" => (0, Some(1), 2, Some(3), 4, os::errno::Errno::EBADF),
                    _ => (1, Some(2), 0, None, 3, os::errno::Errno::EINVAL),
                };
                let own_offsets =
                    [from_offset, to_offset].into_iter().flatten().all(|index| int_arg(call, index) == Some(0));
                if !own_offsets {
                    return Err(format!("{name}: explicit offsets"));
                }
                TraceOp::Copy {
                    from_fd: need(fd_arg(call, from), name)?,
                    to_fd: need(fd_arg(call, to), name)?,
                    len: need(len_arg(call, len), name)?,
                    appending,
                }
            }
            "close" => {
                let fd = need(fd_arg(call, 0), name)?;
                self.files(pid).fds.remove(&fd);
                TraceOp::Close { fd }
            }
            "lseek" => {
                let whence = match first_flag(call.arg(2)).as_deref() {
                    Some("SEEK_SET") => Whence::Set,
                    Some("SEEK_CUR") => Whence::Current,
                    Some("SEEK_END") => Whence::End,
                    Some(other) => return Err(format!("lseek: {other}")),
                    None => return Err(format!("{name}: arguments not understood")),
                };
                TraceOp::Lseek { fd: need(fd_arg(call, 0), name)?, offset: need(int_arg(call, 1), name)?, whence }
            }
            "unlink" => TraceOp::Unlink { path: Self::path(call, 0)? },
            "unlinkat" => {
                let path = self.resolve(pid, call, 0, 1)?;
                if call.arg(2).is_some_and(|flags| flags.has_flag("AT_REMOVEDIR")) {
                    TraceOp::Rmdir { path }
                } else {
                    TraceOp::Unlink { path }
                }
            }
            "mkdir" => {
                TraceOp::Mkdir { path: Self::path(call, 0)?, mode: need(call.arg(1).and_then(mode_bits), name)? }
            }
            "mkdirat" => TraceOp::Mkdir {
                path: self.resolve(pid, call, 0, 1)?,
                mode: need(call.arg(2).and_then(mode_bits), name)?,
            },
            "rmdir" => TraceOp::Rmdir { path: Self::path(call, 0)? },
            "rename" => TraceOp::Rename { from: Self::path(call, 0)?, to: Self::path(call, 1)?, noreplace: false },
            "renameat" | "renameat2" => {
                let flags = call.arg(4);
                let noreplace = flags.is_some_and(|flags| flags.has_flag("RENAME_NOREPLACE"));
                let other_flags = match flags.map(Arg::unnamed) {
                    None | Some(Arg::Int(0)) => false,
                    Some(Arg::Flags(names)) => names.iter().any(|flag| flag != "RENAME_NOREPLACE"),
                    Some(_) => true,
                };
                if other_flags {
                    return Err("renameat2: RENAME_EXCHANGE or RENAME_WHITEOUT".to_string());
                }
                TraceOp::Rename { from: self.resolve(pid, call, 0, 1)?, to: self.resolve(pid, call, 2, 3)?, noreplace }
            }
            "access" | "faccessat" | "faccessat2" => {
                let (path, mode) = match name {
                    "access" => (Self::path(call, 0)?, call.arg(1)),
                    _ => (self.resolve(pid, call, 0, 1)?, call.arg(2)),
                };
                if call.arg(3).is_some_and(|flags| flags.has_flag("AT_SYMLINK_NOFOLLOW")) {
                    return Err(format!("{name}: AT_SYMLINK_NOFOLLOW"));
                }
                TraceOp::Access { path, mode: need(mode.and_then(access_bits), name)? }
            }
            "readlink" | "readlinkat" => {
                let (path, buf) = match name {
                    "readlink" => (Self::path(call, 0)?, call.arg(1)),
                    _ => (self.resolve(pid, call, 0, 1)?, call.arg(2)),
                };
                let target = match buf.map(Arg::unnamed) {
                    Some(Arg::Str { bytes, truncated: false }) if succeeded => {
                        Some(String::from_utf8_lossy(bytes).into_owned())
                    }
                    _ => None,
                };
                TraceOp::Readlink { path, target }
            }
            "symlink" => TraceOp::Symlink { target: Self::path(call, 0)?, path: Self::path(call, 1)? },
            "symlinkat" => TraceOp::Symlink { target: Self::path(call, 0)?, path: self.resolve(pid, call, 1, 2)? },
            "link" => TraceOp::Link { from: Self::path(call, 0)?, to: Self::path(call, 1)? },
            "linkat" => {
                if call.arg(4).is_some_and(|flags| flags.has_flag("AT_EMPTY_PATH")) {
                    return Err("linkat: AT_EMPTY_PATH".to_string());
                }
                TraceOp::Link { from: self.resolve(pid, call, 0, 1)?, to: self.resolve(pid, call, 2, 3)? }
            }
            "chmod" => {
                TraceOp::Chmod { path: Self::path(call, 0)?, mode: need(call.arg(1).and_then(mode_bits), name)? }
            }
            "fchmodat" => TraceOp::Chmod {
                path: self.resolve(pid, call, 0, 1)?,
                mode: need(call.arg(2).and_then(mode_bits), name)?,
            },
            "fchmod" => {
                TraceOp::Fchmod { fd: need(fd_arg(call, 0), name)?, mode: need(call.arg(1).and_then(mode_bits), name)? }
            }
            "chown" | "fchownat" => {
                let (path, ids) = match name {
                    "chown" => (Self::path(call, 0)?, 1),
                    _ => (self.resolve(pid, call, 0, 1)?, 2),
                };
                if name == "fchownat" && call.arg(4).is_some_and(|flags| flags.has_flag("AT_SYMLINK_NOFOLLOW")) {
                    return Err("fchownat: AT_SYMLINK_NOFOLLOW (a link's own owner)".to_string());
                }
                TraceOp::Chown { path, uid: need(id_arg(call, ids), name)?, gid: need(id_arg(call, ids + 1), name)? }
            }
            "fchown" => TraceOp::Fchown {
                fd: need(fd_arg(call, 0), name)?,
                uid: need(id_arg(call, 1), name)?,
                gid: need(id_arg(call, 2), name)?,
            },
            "utimensat" => {
                let times = need(call.arg(2).and_then(|times| time_pair(times, utime_spec)), name)?;
                let nofollow = match need(call.arg(3), name)?.unnamed() {
                    Arg::Int(0) => false,
                    Arg::Flags(flags) if flags == &["AT_SYMLINK_NOFOLLOW"] => true,
                    other => return Err(format!("utimensat: flags {other:?}")),
                };
                match call.arg(1).map(Arg::unnamed) {
                    Some(Arg::Int(0)) => TraceOp::Futimens { fd: need(fd_arg(call, 0), name)?, times },
                    _ => TraceOp::Utimens { path: self.resolve(pid, call, 0, 1)?, times, nofollow },
                }
            }
            "mknod" => {
                TraceOp::Mknod { path: Self::path(call, 0)?, mode: need(call.arg(1).and_then(mode_bits), name)? }
            }
            "mknodat" => TraceOp::Mknod {
                path: self.resolve(pid, call, 0, 1)?,
                mode: need(call.arg(2).and_then(mode_bits), name)?,
            },
            "utimes" | "futimesat" => {
                let (path, times) = match name {
                    "utimes" => (Self::path(call, 0)?, call.arg(1)),
                    _ => (self.resolve(pid, call, 0, 1)?, call.arg(2)),
                };
                TraceOp::Utimens {
                    path,
                    times: need(times.and_then(|times| time_pair(times, timeval_spec)), name)?,
                    nofollow: false,
                }
            }
            "truncate" => TraceOp::Truncate { path: Self::path(call, 0)?, len: need(int_arg(call, 1), name)? },
            "ftruncate" => TraceOp::Ftruncate { fd: need(fd_arg(call, 0), name)?, len: need(int_arg(call, 1), name)? },
            "statfs" => TraceOp::Statfs { path: Self::path(call, 0)? },
            "fstatfs" => TraceOp::Fstatfs { fd: need(fd_arg(call, 0), name)? },
            "pread64" => TraceOp::Pread {
                fd: need(fd_arg(call, 0), name)?,
                len: need(len_arg(call, 2), name)?,
                offset: need(len_arg(call, 3), name)?,
            },
            "chdir" | "fchdir" => {
                let path = if name == "chdir" {
                    Self::path(call, 0)?
                } else {
                    let fd = need(fd_arg(call, 0), name)?;
                    self.dir_path(pid, fd).ok_or_else(|| "fchdir: directory fd of unknown path".to_string())?
                };
                if succeeded {
                    self.files(pid).cwd_epoch += 1;
                }
                TraceOp::Chdir { path }
            }
            "stat" | "stat64" => TraceOp::Stat { path: Self::path(call, 0)? },
            "lstat" | "lstat64" => TraceOp::Lstat { path: Self::path(call, 0)? },
            "fstat" | "fstat64" => TraceOp::Fstat { fd: need(fd_arg(call, 0), name)? },
            "newfstatat" | "fstatat64" | "statx" => {
                let flags_index = if name == "statx" { 2 } else { 3 };
                let empty_path = call.arg(1).and_then(Arg::as_bytes).is_some_and(<[u8]>::is_empty);
                let flags = call.arg(flags_index);
                if empty_path && flags.is_some_and(|flags| flags.has_flag("AT_EMPTY_PATH")) {
                    TraceOp::Fstat { fd: need(fd_arg(call, 0), name)? }
                } else if flags.is_some_and(|flags| flags.has_flag("AT_SYMLINK_NOFOLLOW")) {
                    TraceOp::Lstat { path: self.resolve(pid, call, 0, 1)? }
                } else {
                    TraceOp::Stat { path: self.resolve(pid, call, 0, 1)? }
                }
            }
            "pipe" | "pipe2" => {
                let fds = match call.arg(0).map(Arg::unnamed) {
                    Some(Arg::Array(ends)) if succeeded => match ends.as_slice() {
                        [read_end, write_end] => {
                            let end_fd = |end: &Arg| end.as_int().and_then(|fd| i32::try_from(fd).ok());
                            Some([need(end_fd(read_end), name)?, need(end_fd(write_end), name)?])
                        }
                        _ => return Err(format!("{name}: arguments not understood")),
                    },
                    _ if succeeded => return Err(format!("{name}: arguments not understood")),
                    _ => None,
                };
                let close_on_exec = call.arg(1).is_some_and(|flags| flags.has_flag("O_CLOEXEC"));
                let nonblocking = call.arg(1).is_some_and(|flags| flags.has_flag("O_NONBLOCK"));
                for fd in fds.into_iter().flatten() {
                    self.track_fd(pid, Some(i64::from(fd)), None, close_on_exec);
                }
                TraceOp::Pipe { fds, nonblocking, close_on_exec }
            }
            "dup" => {
                let fd = need(fd_arg(call, 0), name)?;
                self.track_dup(pid, fd, result, false);
                TraceOp::Dup { fd, min_fd: 0 }
            }
            "dup2" | "dup3" => {
                let (old, new) = (need(fd_arg(call, 0), name)?, need(fd_arg(call, 1), name)?);
                let close_on_exec = call.arg(2).is_some_and(|flags| flags.has_flag("O_CLOEXEC"));
                self.track_dup(pid, old, result.map(|_| i64::from(new)), close_on_exec);
                TraceOp::Dup2 { old, new }
            }
            "fcntl" | "fcntl64" => {
                let fd = need(fd_arg(call, 0), name)?;
                let command = need(first_flag(call.arg(1)), name)?;
                match command.as_str() {
                    "F_DUPFD" | "F_DUPFD_CLOEXEC" => {
                        self.track_dup(pid, fd, result, command == "F_DUPFD_CLOEXEC");
                        TraceOp::Dup { fd, min_fd: need(fd_arg(call, 2), name)? }
                    }
                    "F_GETFD" => TraceOp::Fcntl { fd, command: FcntlCommand::GetFd },
                    "F_SETFD" => {
                        let close_on_exec = call.arg(2).is_some_and(|flags| {
                            flags.has_flag("FD_CLOEXEC") || flags.as_int().is_some_and(|bits| bits & 1 != 0)
                        });
                        // Close-on-exec decides which fds survive a later exec.
                        if succeeded && let Some(open) = self.files(pid).fds.get_mut(&fd) {
                            open.close_on_exec = close_on_exec;
                        }
                        TraceOp::Fcntl { fd, command: FcntlCommand::SetFd { close_on_exec } }
                    }
                    "F_GETFL" => TraceOp::Fcntl { fd, command: FcntlCommand::GetFl },
                    "F_SETFL" => {
                        let flags = need(call.arg(2), name)?;
                        let bits = flags.as_int().unwrap_or(0) as u64;
                        let append = flags.has_flag("O_APPEND") || bits & open_bits::APPEND != 0;
                        let nonblocking = flags.has_flag("O_NONBLOCK") || bits & open_bits::NONBLOCK != 0;
                        TraceOp::Fcntl { fd, command: FcntlCommand::SetFl { append, nonblocking } }
                    }
                    _ => return Err(format!("{name}: {command}")),
                }
            }
            "getcwd" => TraceOp::Getcwd,
            "flock" => {
                use os::proto::vfs::flock::{LOCK_EX, LOCK_NB, LOCK_SH, LOCK_UN};
                let op = match need(call.arg(1), name)?.unnamed() {
                    Arg::Int(bits) => *bits as u32,
                    Arg::Flags(names) => names
                        .iter()
                        .map(|flag| match flag.as_str() {
                            "LOCK_SH" => LOCK_SH,
                            "LOCK_EX" => LOCK_EX,
                            "LOCK_NB" => LOCK_NB,
                            "LOCK_UN" => LOCK_UN,
                            _ => 0,
                        })
                        .fold(0, |all, bits| all | bits),
                    _ => return Err(format!("{name}: arguments not understood")),
                };
                TraceOp::Flock { fd: need(fd_arg(call, 0), name)?, op }
            }
            "umask" => TraceOp::Umask { mask: need(call.arg(0).and_then(mode_bits), name)? & 0o777 },
            "poll" | "ppoll" => {
                let records = match call.arg(0).map(Arg::unnamed) {
                    Some(Arg::Array(items)) => items
                        .iter()
                        .map(|item| {
                            let fd = item.field("fd").and_then(Arg::as_int).and_then(|fd| i32::try_from(fd).ok());
                            Some((fd?, item.field("events").map_or(0, poll_events)))
                        })
                        .collect::<Option<Vec<_>>>(),
                    // poll(NULL, 0, timeout): a sleep.
                    Some(Arg::Int(0)) => Some(Vec::new()),
                    _ => None,
                };
                if let Some(Arg::Array(items)) = call.arg(0).map(Arg::unnamed)
                    && items.iter().any(|item| matches!(item, Arg::Other(rest) if rest == "..."))
                {
                    // strace printed the first records only (its -s limit): the rest are unknown.
                    return Err(format!("{name}: a list strace cut short"));
                }
                let fds = need(records, name)?;
                let timeout_ms = if name == "poll" {
                    Some(need(int_arg(call, 2), name)?).filter(|&ms| ms >= 0)
                } else {
                    match call.arg(2).map(Arg::unnamed) {
                        Some(Arg::Int(0)) => None,
                        Some(spec @ Arg::Struct(_)) => {
                            let seconds = need(spec.field("tv_sec").and_then(Arg::as_int), name)?;
                            let nanos = need(spec.field("tv_nsec").and_then(Arg::as_int), name)?;
                            Some(seconds.saturating_mul(MS_PER_SEC).saturating_add(nanos / NS_PER_MS))
                        }
                        _ => return Err(format!("{name}: arguments not understood")),
                    }
                };
                TraceOp::Poll { fds, timeout_ms }
            }
            "mremap" => {
                let flags = need(call.arg(3), name)?;
                if flags.has_flag("MREMAP_FIXED") || flags.has_flag("MREMAP_DONTUNMAP") {
                    return Err("mremap: to a fixed address".to_string());
                }
                TraceOp::Mremap {
                    addr: need(addr_arg(call, 0), name)?,
                    old_len: need(len_arg(call, 1), name)?,
                    new_len: need(len_arg(call, 2), name)?,
                    may_move: flags.has_flag("MREMAP_MAYMOVE") || flags.as_int().is_some_and(|bits| bits & 1 != 0),
                }
            }
            "mprotect" => {
                let prot = need(call.arg(2).and_then(prot_bits), name)?;
                if prot & PROT_READ == 0 {
                    return Err("mprotect: without PROT_READ (samsara's pages are readable)".to_string());
                }
                let writable = prot & PROT_WRITE != 0;
                TraceOp::Mprotect { addr: need(addr_arg(call, 0), name)?, len: need(len_arg(call, 1), name)?, writable }
            }
            "getdents" | "getdents64" => {
                TraceOp::Getdents { fd: need(fd_arg(call, 0), name)?, len: need(len_arg(call, 2), name)? }
            }
            _ => return Err(name.to_string()),
        };
        Ok(op)
    }
}

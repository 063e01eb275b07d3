//! The sandbox a replayed trace runs in: where the traced program's paths land in samsara's file
//! system, and which files and directories must be there before the replay starts.
//!
//! Path rule: every path of the trace lives under [`SANDBOX`]. An absolute path `/P` becomes
//! `/sandbox/P`; a relative path is taken from the process's working directory as the log implies
//! it (the log's first `getcwd`, else `/`, then every successful `chdir`). A relative path made of
//! plain names only is passed to samsara as it is, so vfs resolves it from the replayed process's
//! own (sandboxed) working directory; one with `.` or `..` is made absolute first, and `..` stops
//! at the sandbox's root. So no replayed call can reach samsara's own `/bin`, `/etc` or `/tmp`,
//! and host-only places (`/proc/filesystems`, `/dev/shm`, shared libraries) become plain files and
//! directories under the sandbox. The replay's own files (plans, results, the stand-ins for stdin,
//! stdout and stderr) live in [`CONTROL_DIR`], outside the sandbox.
//!
//! Stand-in rule ([`plan`]): walking the trace in log order, a path the program used successfully
//! before it created it itself (open without `O_CREAT`, stat, access, exec, chdir, rmdir, unlink,
//! rename, link's source, an `EEXIST`) must exist beforehand, and so must every directory above a
//! path it used; a path the log shows missing (`ENOENT`) is left missing; what a successful
//! creating call made (open with `O_CREAT`, mkdir, link, symlink, rename's target) was not there
//! before and is not made. A directory is a directory when anything says so (chdir, getdents,
//! `O_DIRECTORY`, mkdir's `EEXIST`, rmdir, or a path below it); an exec'd file, or one `access`
//! found executable, is a program file naming the `replay` program (padded to what the log read of
//! it: a shell reads a script before it execs the interpreter); a path `readlink` read before
//! the log made it is a symbolic link to what it answered (and its target is set up too when the
//! log went through the link); one of the memory driver's devices (`/dev/null`, `/dev/zero`,
//! `/dev/full`, `/dev/random`, `/dev/urandom`) or `/dev/tty` is that character special file; any
//! other is a regular file. Going through a link the log made
//! (a call that follows links: not lstat, unlink, rename or link) needs its target. A regular file
//! holds exactly as many bytes as the log read from it (the furthest offset any read, pread, copy or
//! `SEEK_END` reached), so replayed reads return what was recorded; when the program mapped the
//! file, it is padded towards the mapped length, up to [`STANDIN_MAX_BYTES`]. Contents are a
//! filler pattern: strace keeps only a prefix of the bytes read, and no comparison uses them.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{NormalisedTrace, TraceOp, Whence};
use crate::libc::Sys;
use os::errno::Errno;
use os::mfs::DEVICE_MODE;
use os::proto::PROGRAM_MAGIC;
use os::proto::cdev::dev::makedev;
use os::proto::cdev::{CTTY_MAJOR, MEMORY_MAJOR, memory};
use os::proto::vfs::file_type::S_IFCHR;
use os::proto::vfs::flags::{O_CREAT, O_EXCL, O_WRONLY};

/// Where the trace's file tree lives in samsara.
pub const SANDBOX: &str = "/sandbox";
/// The replay's own files: plans handed over exec, the results file, stdio stand-ins.
pub const CONTROL_DIR: &str = "/tmp/replay";
/// The name of the program replayed execs load (`programs::workload`).
pub const REPLAY_PROGRAM: &str = "replay";
/// Padding cap for a mapped file's stand-in, in bytes. Real shared libraries (libc: 1.9 MB) do
/// not fit samsara's 1 MiB files and 4 MiB disk anyway; 16 KiB keeps a log that maps half a dozen
/// of them at about 100 KiB of setup, which costs less than the replay itself (64 KiB doubled a
/// replay's time). Bytes the log actually read are never cut.
pub const STANDIN_MAX_BYTES: u64 = 16 * 1024;
/// Links a path is followed through when the planner looks for what it names (Linux's and
/// samsara's `SYMLOOP_MAX` are larger; a log's chains are one or two long).
const SYMLINKS_FOLLOWED: u32 = 8;
/// Permission bits of stand-in directories (everyone may search them).
const DIR_MODE: u32 = 0o755;
/// Permission bits of stand-in regular files.
const FILE_MODE: u32 = 0o644;
/// Permission bits of stand-in program files (executable).
const PROGRAM_MODE: u32 = 0o755;
/// Bytes written per call when filling a stand-in.
const FILL_CHUNK: usize = 16 * 1024;
/// What stand-in files are filled with, over and over: text, so a person reading one sees lines.
const FILLER: &[u8] = b"abcdefghijklmnopqrstuvwxyz\n";

/// The trace-side path of the stand-in for fd 0 of the traced program.
pub const STDIN: &str = "/tmp/replay/stdin";
/// The stand-in for fd 1.
pub const STDOUT: &str = "/tmp/replay/stdout";
/// The stand-in for fd 2.
pub const STDERR: &str = "/tmp/replay/stderr";

/// What a path of the sandbox must be before the replay starts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Standin {
    /// A directory.
    Dir,
    /// A regular file of `size` bytes.
    File {
        /// Its length.
        size: u64,
    },
    /// A program file naming the `replay` program, padded to `size` bytes: what the log read of
    /// it (a shell reads a script it then execs, as `gunzip`).
    Program {
        /// Its length at least (a bare program file is shorter).
        size: u64,
    },
    /// A symbolic link to `target` (trace-side; an absolute target is made to point inside the
    /// sandbox).
    Symlink {
        /// What the log's `readlink` answered.
        target: String,
    },
    /// A character special file of device number `dev`: one of the memory driver's devices,
    /// where the trace used `/dev/null`, `/dev/zero`, `/dev/full`, `/dev/random` or
    /// `/dev/urandom`, or the controlling terminal, `/dev/tty`.
    Device {
        /// Its device number (`proto::cdev::dev`).
        dev: u32,
    },
}

/// What the planner marks a path the log exec'd (or found executable) with; [`Planner::plain`]
/// gives it its size.
const PROGRAM: Standin = Standin::Program { size: 0 };

/// The device a trace-side path names, if samsara has it: one of the memory driver's, or the
/// controlling terminal (Linux and samsara number them alike).
fn device(path: &str) -> Option<u32> {
    let name = path.strip_prefix("/dev/")?;
    if name == "tty" {
        return Some(makedev(CTTY_MAJOR, 0));
    }
    let (minor, _) = memory::DEVICES.iter().find(|(_, n)| *n == name)?;
    Some(makedev(MEMORY_MAJOR, *minor))
}

/// Everything the sandbox holds before the replay starts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setup {
    /// Trace-side absolute paths with what each must be; a parent sorts before its children.
    pub entries: BTreeMap<String, Standin>,
    /// The bytes the traced program reads from its stdin.
    pub stdin_bytes: u64,
    /// The trace-side working directory the program starts in.
    pub cwd: String,
    /// Which of stdin, stdout and stderr the log shows were pipes (or terminals) on the host: a
    /// seek there failed with `ESPIPE`. The replay makes those pipes, not files.
    #[serde(default)]
    pub stdio_pipes: [bool; 3],
}

/// `path` made absolute from `cwd` and lexically normalised (`.`, `..`, repeated `/`; `..` stops at
/// the root). `cwd` must be absolute.
pub fn absolute(cwd: &str, path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let joined = if path.starts_with('/') { path.to_string() } else { format!("{cwd}/{path}") };
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            name => parts.push(name),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Where trace-side absolute path `abs` lives in samsara.
pub fn sandboxed(abs: &str) -> String {
    if abs == "/" { SANDBOX.to_string() } else { format!("{SANDBOX}{abs}") }
}

/// The path a replayed call passes for the trace's `path`, with the process's trace-side `cwd`
/// (see the module's path rule).
pub fn replay_path(cwd: &str, path: &str) -> String {
    if path.is_empty() {
        // No file has the empty name: let samsara say so.
        return String::new();
    }
    let plain =
        !path.is_empty() && !path.starts_with('/') && path.split('/').all(|p| !p.is_empty() && p != "." && p != "..");
    if plain { path.to_string() } else { sandboxed(&absolute(cwd, path)) }
}

/// The directory holding absolute path `abs` (`/` for a name in the root).
fn parent_of(abs: &str) -> &str {
    match abs.rfind('/') {
        Some(0) | None => "/",
        Some(slash) => &abs[..slash],
    }
}

/// The directories above `abs`, outermost first (not `/` itself).
fn ancestors(abs: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(slash) = abs[at + 1..].find('/') {
        at += 1 + slash;
        found.push(abs[..at].to_string());
    }
    found
}

/// What the planner knows of a path at a point of the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Known {
    /// It exists (the program made it, or it was there before).
    Present,
    /// The program removed it, or the log showed it missing.
    Absent,
}

/// One open file as the planner follows it (shared by dups and forks, like a real open file).
#[derive(Clone, Debug)]
struct OpenView {
    /// The trace-side path, `None` for pipes and stdio.
    path: Option<String>,
    /// The offset the next read starts at.
    offset: u64,
}

/// One process as the planner follows it.
#[derive(Clone, Debug, Default)]
struct ProcView {
    cwd: String,
    /// Trace fd -> index into `Planner::opens`.
    fds: BTreeMap<i32, usize>,
}

#[derive(Default)]
struct Planner {
    known: BTreeMap<String, Known>,
    /// Paths that must exist beforehand, with their kind so far.
    needs: BTreeMap<String, Standin>,
    /// Paths whose stand-in must be a directory (evidence seen anywhere in the log).
    dirs: BTreeSet<String>,
    /// Furthest byte read per path, and the longest mapping of it.
    read_extent: BTreeMap<String, u64>,
    /// Directories and files the log renamed, in log order: (new name, old name).
    moved: Vec<(String, String)>,
    /// A name the log gave an existing file (a hard link, a rename, a path under a renamed
    /// directory) -> the name it had before.
    aliases: BTreeMap<String, String>,
    /// Links the log made: path -> the target it resolves to (trace-side, absolute).
    links: BTreeMap<String, String>,
    /// What each path was used as by calls that follow links (a program wins over a file).
    followed: BTreeMap<String, Standin>,
    mapped_len: BTreeMap<String, u64>,
    opens: Vec<OpenView>,
    procs: BTreeMap<u32, ProcView>,
    stdin_open: usize,
    /// The opens of the roots' fds 0, 1 and 2.
    stdio: [usize; 3],
    /// Which of them the log showed were not files.
    stdio_pipes: [bool; 3],
}

/// Plans the sandbox `trace` needs (see the module's stand-in rule).
pub fn plan(trace: &NormalisedTrace) -> Setup {
    let cwd = trace.cwd.as_deref().map_or_else(|| "/".to_string(), |c| absolute("/", c));
    let mut p = Planner::default();
    p.opens.push(OpenView { path: None, offset: 0 });
    p.stdin_open = 0;
    let stdout = p.new_open(None);
    let stderr = p.new_open(None);
    p.stdio = [p.stdin_open, stdout, stderr];
    for root in trace.processes.roots() {
        let fds = BTreeMap::from([(0, p.stdin_open), (1, stdout), (2, stderr)]);
        p.procs.insert(root, ProcView { cwd: cwd.clone(), fds });
    }
    p.require_ancestors(&cwd);
    p.require(&cwd, Standin::Dir);
    p.dirs.insert(cwd.clone());
    for step in &trace.steps {
        let view = p.procs.entry(step.pid).or_insert_with(|| ProcView { cwd: cwd.clone(), fds: BTreeMap::new() });
        let pcwd = view.cwd.clone();
        let value = step.recorded.value();
        let ok = value.is_some();
        let enoent = step.recorded.errno() == Some("ENOENT");
        let eexist = step.recorded.errno() == Some("EEXIST");
        let abs = |path: &str| absolute(&pcwd, path);
        match &step.op {
            TraceOp::Fork { child_pid } if ok => {
                let inherited = p.procs.get(&step.pid).cloned().unwrap_or_default();
                p.procs.insert(*child_pid, inherited);
            }
            TraceOp::Exec { path, .. } => p.exists(&abs(path), ok, enoent, PROGRAM),
            TraceOp::Open { path, flags, .. } => {
                let abs = abs(path);
                let kind = if flags.directory { Standin::Dir } else { Standin::File { size: 0 } };
                // A shell's `> /dev/null` opens with O_CREAT a device that was always there.
                if ok && flags.create && device(&abs).is_none() {
                    p.create(&abs);
                } else {
                    // ENXIO: a special file without its device (`/dev/tty` with no terminal).
                    let there = ok || eexist || step.recorded.errno() == Some("ENXIO");
                    p.exists(&abs, there, enoent, kind);
                }
                if let Some(fd) = value.and_then(|v| i32::try_from(v).ok()) {
                    let open = p.new_open(Some(abs));
                    p.set_fd(step.pid, fd, open);
                }
            }
            TraceOp::Read { fd, .. } => p.read(step.pid, *fd, value),
            TraceOp::Copy { from_fd, .. } => p.read(step.pid, *from_fd, value),
            TraceOp::Lseek { fd, offset, whence } if ok => p.seek(step.pid, *fd, *offset, *whence, value),
            TraceOp::Lseek { fd, .. } | TraceOp::Pread { fd, .. } if step.recorded.errno() == Some("ESPIPE") => {
                if let Some(open) = p.open_of(step.pid, *fd)
                    && let Some(stdio) = p.stdio.iter().position(|&o| o == open)
                {
                    p.stdio_pipes[stdio] = true;
                }
            }
            TraceOp::Mmap { len, fd: Some(fd), .. } if ok => {
                if let Some(path) = p.path_of(step.pid, *fd) {
                    let longest = p.mapped_len.entry(path).or_default();
                    *longest = (*longest).max(*len);
                }
            }
            TraceOp::Getdents { fd, .. } if ok => {
                if let Some(path) = p.path_of(step.pid, *fd) {
                    p.dirs.insert(path);
                }
            }
            TraceOp::Close { fd } if ok => {
                if let Some(view) = p.procs.get_mut(&step.pid) {
                    view.fds.remove(fd);
                }
            }
            TraceOp::Dup { fd, .. } if ok => p.dup(step.pid, *fd, value),
            TraceOp::Dup2 { old, new } if ok => p.dup(step.pid, *old, Some(i64::from(*new))),
            TraceOp::Pipe { fds: Some(ends), .. } if ok => {
                for fd in ends {
                    let open = p.new_open(None);
                    p.set_fd(step.pid, *fd, open);
                }
            }
            TraceOp::Lstat { path } => p.exists_here(&abs(path), ok, enoent, Standin::File { size: 0 }),
            TraceOp::Utimens { path, nofollow: true, .. } => {
                p.exists_here(&abs(path), ok, enoent, Standin::File { size: 0 })
            }
            TraceOp::Stat { path }
            | TraceOp::Utimens { path, .. }
            | TraceOp::Chmod { path, .. }
            | TraceOp::Chown { path, .. }
            | TraceOp::Truncate { path, .. }
            | TraceOp::Statfs { path } => p.exists(&abs(path), ok, enoent, Standin::File { size: 0 }),
            TraceOp::Access { path, mode } => {
                // A file the program may execute is a program file (its mode lets it).
                let kind = if mode & os::proto::fs::X_OK != 0 { PROGRAM } else { Standin::File { size: 0 } };
                p.exists(&abs(path), ok, enoent, kind);
            }
            TraceOp::Readlink { path, target } => {
                let abs = abs(path);
                match (ok, target) {
                    (true, Some(target)) => {
                        p.require_ancestors(&abs);
                        p.require(&abs, Standin::Symlink { target: target.clone() });
                    }
                    // Not a link (EINVAL), or a target strace cut: the path is there all the same.
                    _ => {
                        let there = ok || step.recorded.errno() == Some("EINVAL");
                        p.exists_here(&abs, there, enoent, Standin::File { size: 0 });
                    }
                }
            }
            TraceOp::Symlink { path, target } => {
                let abs = abs(path);
                if ok {
                    p.create(&abs);
                    p.links.insert(abs.clone(), absolute(parent_of(&abs), target));
                } else {
                    p.exists_here(&abs, eexist, enoent, Standin::File { size: 0 });
                }
            }
            TraceOp::Link { from, to } => {
                let (from, to) = (abs(from), abs(to));
                p.exists_here(&from, ok || eexist, enoent, Standin::File { size: 0 });
                if ok {
                    p.create(&to);
                    p.aliases.insert(to, from);
                } else {
                    p.exists_here(&to, eexist, false, Standin::File { size: 0 });
                }
            }
            TraceOp::Pread { fd, offset, .. } => p.read_at(step.pid, *fd, *offset, value),
            TraceOp::Chdir { path } => {
                let abs = abs(path);
                p.exists(&abs, ok, enoent, Standin::Dir);
                if ok {
                    p.dirs.insert(abs.clone());
                    if let Some(view) = p.procs.get_mut(&step.pid) {
                        view.cwd = abs;
                    }
                }
            }
            TraceOp::Mkdir { path, .. } => {
                let abs = abs(path);
                p.dirs.insert(abs.clone());
                if ok {
                    p.create(&abs);
                } else {
                    p.exists(&abs, eexist, enoent, Standin::Dir);
                }
            }
            TraceOp::Mknod { path, .. } => {
                let abs = abs(path);
                if ok {
                    p.create(&abs);
                } else {
                    p.exists_here(&abs, eexist, enoent, Standin::File { size: 0 });
                }
            }
            TraceOp::Rmdir { path } => {
                let abs = abs(path);
                p.exists(&abs, ok, enoent, Standin::Dir);
                if ok {
                    p.dirs.insert(abs.clone());
                    p.known.insert(abs, Known::Absent);
                }
            }
            TraceOp::Unlink { path } => {
                let abs = abs(path);
                p.exists_here(&abs, ok, enoent, Standin::File { size: 0 });
                if ok {
                    p.known.insert(abs, Known::Absent);
                }
            }
            TraceOp::Rename { from, to, .. } => {
                let (from, to) = (abs(from), abs(to));
                p.exists_here(&from, ok || eexist, enoent, Standin::File { size: 0 });
                if ok {
                    p.known.insert(from.clone(), Known::Absent);
                    p.create(&to);
                    // What is under `to` now was under `from` before (a directory moves with
                    // its contents), and what is read through `to` was `from`'s.
                    p.moved.push((to.clone(), from.clone()));
                    p.aliases.insert(to, from);
                } else if eexist {
                    // RENAME_NOREPLACE found `to` there.
                    p.exists_here(&to, true, false, Standin::File { size: 0 });
                }
            }
            _ => {}
        }
    }
    p.finish(cwd)
}

impl Planner {
    fn new_open(&mut self, path: Option<String>) -> usize {
        self.opens.push(OpenView { path, offset: 0 });
        self.opens.len() - 1
    }

    fn set_fd(&mut self, pid: u32, fd: i32, open: usize) {
        if let Some(view) = self.procs.get_mut(&pid) {
            view.fds.insert(fd, open);
        }
    }

    fn open_of(&self, pid: u32, fd: i32) -> Option<usize> {
        self.procs.get(&pid)?.fds.get(&fd).copied()
    }

    fn path_of(&self, pid: u32, fd: i32) -> Option<String> {
        self.opens[self.open_of(pid, fd)?].path.clone()
    }

    fn dup(&mut self, pid: u32, old: i32, new: Option<i64>) {
        let (Some(open), Some(new)) = (self.open_of(pid, old), new.and_then(|fd| i32::try_from(fd).ok())) else {
            return;
        };
        self.set_fd(pid, new, open);
    }

    /// A successful read or copy of `n` bytes from `fd` moves its offset and, for a file, its
    /// furthest byte read.
    fn read(&mut self, pid: u32, fd: i32, n: Option<i64>) {
        let (Some(open), Some(n)) = (self.open_of(pid, fd), n.and_then(|n| u64::try_from(n).ok())) else { return };
        let view = &mut self.opens[open];
        view.offset += n;
        let end = view.offset;
        let key = if open == self.stdin_open { Some(STDIN.to_string()) } else { view.path.clone() };
        if let Some(path) = key {
            let extent = self.read_extent.entry(path).or_default();
            *extent = (*extent).max(end);
        }
    }

    /// A successful `pread` of `n` bytes at `offset`: the file held that much, the offset stays.
    fn read_at(&mut self, pid: u32, fd: i32, offset: u64, n: Option<i64>) {
        let (Some(open), Some(n)) = (self.open_of(pid, fd), n.and_then(|n| u64::try_from(n).ok())) else { return };
        if let Some(path) = self.opens[open].path.clone() {
            let extent = self.read_extent.entry(path).or_default();
            *extent = (*extent).max(offset.saturating_add(n));
        }
    }

    fn seek(&mut self, pid: u32, fd: i32, offset: i64, whence: Whence, result: Option<i64>) {
        let (Some(open), Some(now)) = (self.open_of(pid, fd), result.and_then(|r| u64::try_from(r).ok())) else {
            return;
        };
        self.opens[open].offset = now;
        // From the end, the result is the file's length (less the offset): the file held that much.
        if whence == Whence::End
            && let Some(path) = self.opens[open].path.clone()
            && let Ok(length) = u64::try_from(now as i64 - offset)
        {
            let extent = self.read_extent.entry(path).or_default();
            *extent = (*extent).max(length);
        }
    }

    /// The log used `abs` (successfully if `ok`; it was missing if `enoent`) as a `kind`.
    fn exists(&mut self, abs: &str, ok: bool, enoent: bool, kind: Standin) {
        self.exists_through(abs, ok, enoent, kind, SYMLINKS_FOLLOWED);
    }

    /// [`Planner::exists`], going on to the target when `abs` is a link the log made (at most
    /// `links_left` links deep).
    fn exists_through(&mut self, abs: &str, ok: bool, enoent: bool, kind: Standin, links_left: u32) {
        if ok && links_left > 0 {
            if let Some(target) = self.links.get(abs).cloned() {
                self.exists_through(&target, true, false, kind.clone(), links_left - 1);
            }
            let followed = self.followed.entry(abs.to_string()).or_insert_with(|| kind.clone());
            if kind == PROGRAM {
                *followed = PROGRAM;
            }
        }
        self.exists_here(abs, ok, enoent, kind);
    }

    /// The log used `abs` itself, a link not followed (lstat, unlink, rename...).
    fn exists_here(&mut self, abs: &str, ok: bool, enoent: bool, kind: Standin) {
        if ok {
            self.require_ancestors(abs);
            self.require(abs, kind);
        } else if enoent {
            self.known.entry(abs.to_string()).or_insert(Known::Absent);
        }
    }

    /// The program made `abs` itself: only the directories above must be there.
    fn create(&mut self, abs: &str) {
        self.require_ancestors(abs);
        self.known.insert(abs.to_string(), Known::Present);
    }

    fn require_ancestors(&mut self, abs: &str) {
        for dir in ancestors(abs) {
            self.dirs.insert(dir.clone());
            self.require(&dir, Standin::Dir);
        }
    }

    /// `abs` exists at this point of the log: unless the program made it, it was there before.
    fn require(&mut self, abs: &str, kind: Standin) {
        if abs == "/" {
            return;
        }
        match self.known.get(abs) {
            Some(_) => {
                if let Some(need) = self.needs.get_mut(abs)
                    && matches!(kind, Standin::Program { .. } | Standin::Symlink { .. })
                {
                    *need = kind;
                }
            }
            None => {
                self.known.insert(abs.to_string(), Known::Present);
                // Below a directory the log renamed, the path existed before under the old name.
                let moved_from = self.moved.iter().rev().find_map(|(to, from)| {
                    let rest = abs.strip_prefix(to.as_str()).filter(|rest| rest.starts_with('/'))?;
                    Some(format!("{from}{rest}"))
                });
                match moved_from {
                    Some(before) => {
                        self.aliases.insert(abs.to_string(), before.clone());
                        self.require_ancestors(&before);
                        self.require(&before, kind);
                    }
                    None => {
                        self.needs.insert(abs.to_string(), kind);
                    }
                }
            }
        }
    }

    /// What `path` must be for the uses the log made of it as `kind` (not a link).
    fn plain(&self, path: &str, kind: &Standin) -> Standin {
        if self.dirs.contains(path) {
            Standin::Dir
        } else if let Some(dev) = device(path) {
            Standin::Device { dev }
        } else if *kind == PROGRAM {
            Standin::Program { size: self.read_extent.get(path).copied().unwrap_or(0) }
        } else {
            let read = self.read_extent.get(path).copied().unwrap_or(0);
            let mapped = self.mapped_len.get(path).copied().unwrap_or(0).min(STANDIN_MAX_BYTES);
            Standin::File { size: read.max(mapped) }
        }
    }

    fn finish(mut self, cwd: String) -> Setup {
        // What was read through a link the log made, a hard link or a new name was read from
        // the file under its first name; a directory there was one under it.
        let mut aliases = self.aliases.clone();
        aliases.extend(self.links.iter().map(|(link, target)| (link.clone(), target.clone())));
        for alias in aliases.keys() {
            let mut original = alias;
            for _ in 0..SYMLINKS_FOLLOWED {
                match aliases.get(original) {
                    Some(next) if next != alias => original = next,
                    _ => break,
                }
            }
            if let Some(&read) = self.read_extent.get(alias) {
                let extent = self.read_extent.entry(original.clone()).or_default();
                *extent = (*extent).max(read);
            }
            if let Some(&mapped) = self.mapped_len.get(alias) {
                let longest = self.mapped_len.entry(original.clone()).or_default();
                *longest = (*longest).max(mapped);
            }
            if self.dirs.contains(alias) {
                self.dirs.insert(original.clone());
            }
        }
        let mut entries = BTreeMap::new();
        for (path, kind) in &self.needs {
            let kind = match kind {
                Standin::Symlink { .. } => kind.clone(),
                _ => self.plain(path, kind),
            };
            entries.insert(path.clone(), kind);
        }
        // A link the log both read and went through (exec'd, opened, listed) needs its target
        // as the thing those uses found, unless the log made or named the target itself.
        for (path, kind) in &self.needs {
            let (Standin::Symlink { target }, Some(followed)) = (kind, self.followed.get(path)) else { continue };
            let resolved = absolute(parent_of(path), target);
            let through = self.plain(path, followed);
            match entries.get_mut(&resolved) {
                // The log named the target too (readlink's EINVAL): it is what both uses say.
                Some(named) => {
                    *named = match (&*named, through) {
                        (Standin::File { size: a }, Standin::File { size: b }) => Standin::File { size: (*a).max(b) },
                        (Standin::File { .. }, through) => through,
                        (kept, _) => kept.clone(),
                    }
                }
                None if resolved == "/" || self.known.contains_key(&resolved) => {}
                None => {
                    for dir in ancestors(&resolved) {
                        entries.entry(dir).or_insert(Standin::Dir);
                    }
                    entries.insert(resolved, through);
                }
            }
        }
        let stdin_bytes = self.read_extent.get(STDIN).copied().unwrap_or(0);
        Setup { entries, stdin_bytes, cwd, stdio_pipes: self.stdio_pipes }
    }
}

/// `len` bytes of filler: lines of the alphabet.
pub fn filler(len: usize) -> Vec<u8> {
    FILLER.iter().copied().cycle().take(len).collect()
}

/// A program file's contents: the magic line naming the replay program.
pub fn program_file() -> Vec<u8> {
    let mut contents = PROGRAM_MAGIC.to_vec();
    contents.extend_from_slice(REPLAY_PROGRAM.as_bytes());
    contents.push(b'\n');
    contents
}

/// Creates file `path` (which must not exist) holding `contents`, with `mode`.
pub fn make_file(sys: &Sys<'_>, path: &str, contents: &[u8], mode: u32) -> Result<(), Errno> {
    let fd = sys.open(path, O_CREAT | O_EXCL | O_WRONLY, mode)?;
    let mut written = Ok(());
    for chunk in contents.chunks(FILL_CHUNK) {
        match sys.write(fd, chunk) {
            Ok(n) if n == chunk.len() => {}
            Ok(_) => {
                written = Err(Errno::ENOSPC);
                break;
            }
            Err(e) => {
                written = Err(e);
                break;
            }
        }
    }
    let closed = sys.close(fd);
    written.and(closed)
}

/// What building the sandbox made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Built {
    /// Directories made.
    pub dirs: u64,
    /// Regular and program files made.
    pub files: u64,
    /// Bytes written into them.
    pub bytes: u64,
    /// Symbolic links made.
    pub links: u64,
    /// Special files made.
    pub devices: u64,
}

/// What a trace-side link target becomes in samsara: an absolute one points into the sandbox,
/// a relative one stays as it is (it resolves from the link's own directory, inside the sandbox).
pub fn link_target(target: &str) -> String {
    if target.starts_with('/') { sandboxed(&absolute("/", target)) } else { target.to_string() }
}

/// Makes the sandbox root and every stand-in of `setup`; the first failure names its path.
pub fn build(sys: &Sys<'_>, setup: &Setup) -> Result<Built, (String, Errno)> {
    let mut built = Built::default();
    sys.mkdir(SANDBOX, DIR_MODE).map_err(|e| (SANDBOX.to_string(), e))?;
    built.dirs += 1;
    for (path, standin) in &setup.entries {
        let target = sandboxed(path);
        let made = match standin {
            Standin::Dir => sys.mkdir(&target, DIR_MODE).map(|()| built.dirs += 1),
            Standin::File { size } => {
                let contents = filler(*size as usize);
                make_file(sys, &target, &contents, FILE_MODE).map(|()| {
                    built.files += 1;
                    built.bytes += size;
                })
            }
            Standin::Program { size } => {
                let mut contents = program_file();
                let padding = (*size as usize).saturating_sub(contents.len());
                contents.extend(filler(padding));
                make_file(sys, &target, &contents, PROGRAM_MODE).map(|()| {
                    built.files += 1;
                    built.bytes += contents.len() as u64;
                })
            }
            Standin::Symlink { target: points_to } => {
                sys.symlink(&link_target(points_to), &target).map(|()| built.links += 1)
            }
            Standin::Device { dev } => sys.mknod(&target, S_IFCHR | DEVICE_MODE, *dev).map(|()| built.devices += 1),
        };
        made.map_err(|e| (target, e))?;
    }
    Ok(built)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_sandbox() {
        assert_eq!(absolute("/tmp/x", "a/../b"), "/tmp/x/b");
        assert_eq!(absolute("/", "../../etc/passwd"), "/etc/passwd");
        assert_eq!(absolute("/a", "//b/./c/"), "/b/c");
        assert_eq!(sandboxed("/"), SANDBOX);
        assert_eq!(replay_path("/tmp", "out.txt"), "out.txt");
        assert_eq!(replay_path("/tmp", "a/b"), "a/b");
        assert_eq!(replay_path("/tmp", "../../../etc"), "/sandbox/etc");
        assert_eq!(replay_path("/tmp", "/etc/hostname"), "/sandbox/etc/hostname");
        assert_eq!(replay_path("/tmp", ""), "");
        assert_eq!(ancestors("/a/b/c"), ["/a", "/a/b"]);
        assert!(ancestors("/a").is_empty());
    }

    #[test]
    fn filler_has_the_asked_length() {
        assert_eq!(filler(0), b"");
        assert_eq!(&filler(28)[25..], b"z\na");
    }
}

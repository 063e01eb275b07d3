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
//! before it created it itself (open without `O_CREAT`, stat, exec, chdir, rmdir, unlink, rename,
//! an `EEXIST`) must exist beforehand, and so must every directory above a path it used; a path the
//! log shows missing (`ENOENT`) is left missing. A directory is a directory when anything says so
//! (chdir, getdents, `O_DIRECTORY`, mkdir's `EEXIST`, rmdir, or a path below it); an exec'd file
//! is a program file naming the `replay` program; any other is a regular file. A regular file
//! holds exactly as many bytes as the log read from it (the furthest offset any read, copy or
//! `SEEK_END` reached), so replayed reads return what was recorded; when the program mapped the
//! file, it is padded towards the mapped length, up to [`STANDIN_MAX_BYTES`]. Contents are a
//! filler pattern: strace keeps only a prefix of the bytes read, and no comparison uses them.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{NormalisedTrace, TraceOp, Whence};
use crate::libc::Sys;
use os::errno::Errno;
use os::proto::PROGRAM_MAGIC;
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Standin {
    /// A directory.
    Dir,
    /// A regular file of `size` bytes.
    File {
        /// Its length.
        size: u64,
    },
    /// A program file naming the `replay` program.
    Program,
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
    mapped_len: BTreeMap<String, u64>,
    opens: Vec<OpenView>,
    procs: BTreeMap<u32, ProcView>,
    stdin_open: usize,
}

/// Plans the sandbox `trace` needs (see the module's stand-in rule).
pub fn plan(trace: &NormalisedTrace) -> Setup {
    let cwd = trace.cwd.as_deref().map_or_else(|| "/".to_string(), |c| absolute("/", c));
    let mut p = Planner::default();
    p.opens.push(OpenView { path: None, offset: 0 });
    p.stdin_open = 0;
    let stdout = p.new_open(None);
    let stderr = p.new_open(None);
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
            TraceOp::Exec { path, .. } => p.exists(&abs(path), ok, enoent, Standin::Program),
            TraceOp::Open { path, flags, .. } => {
                let abs = abs(path);
                let kind = if flags.directory { Standin::Dir } else { Standin::File { size: 0 } };
                if ok && flags.create {
                    p.create(&abs);
                } else {
                    p.exists(&abs, ok || eexist, enoent, kind);
                }
                if let Some(fd) = value.and_then(|v| i32::try_from(v).ok()) {
                    let open = p.new_open(Some(abs));
                    p.set_fd(step.pid, fd, open);
                }
            }
            TraceOp::Read { fd, .. } => p.read(step.pid, *fd, value),
            TraceOp::Copy { from_fd, .. } => p.read(step.pid, *from_fd, value),
            TraceOp::Lseek { fd, offset, whence } if ok => p.seek(step.pid, *fd, *offset, *whence, value),
            TraceOp::Mmap { len, fd: Some(fd) } if ok => {
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
            TraceOp::Stat { path } => p.exists(&abs(path), ok, enoent, Standin::File { size: 0 }),
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
                p.exists(&abs, ok, enoent, Standin::File { size: 0 });
                if ok {
                    p.known.insert(abs, Known::Absent);
                }
            }
            TraceOp::Rename { from, to } => {
                let (from, to) = (abs(from), abs(to));
                p.exists(&from, ok, enoent, Standin::File { size: 0 });
                if ok {
                    p.known.insert(from, Known::Absent);
                    p.create(&to);
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
                    && kind == Standin::Program
                {
                    *need = Standin::Program;
                }
            }
            None => {
                self.known.insert(abs.to_string(), Known::Present);
                self.needs.insert(abs.to_string(), kind);
            }
        }
    }

    fn finish(self, cwd: String) -> Setup {
        let mut entries = BTreeMap::new();
        for (path, kind) in &self.needs {
            let kind = if self.dirs.contains(path) {
                Standin::Dir
            } else if *kind == Standin::Program {
                Standin::Program
            } else {
                let read = self.read_extent.get(path).copied().unwrap_or(0);
                let mapped = self.mapped_len.get(path).copied().unwrap_or(0).min(STANDIN_MAX_BYTES);
                Standin::File { size: read.max(mapped) }
            };
            entries.insert(path.clone(), kind);
        }
        let stdin_bytes = self.read_extent.get(STDIN).copied().unwrap_or(0);
        Setup { entries, stdin_bytes, cwd }
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
            Standin::Program => {
                let contents = program_file();
                make_file(sys, &target, &contents, PROGRAM_MODE).map(|()| {
                    built.files += 1;
                    built.bytes += contents.len() as u64;
                })
            }
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

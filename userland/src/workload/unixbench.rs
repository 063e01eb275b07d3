//! Unixbench-like loops: the classic microbenchmarks' shapes, each repeated a given number of
//! times, with counters of what they did and checks that every result was right.
//!
//! - `syscall`: getpid in a loop (Unixbench's "System Call Overhead"); counter `syscall.calls`.
//! - `spawn`: fork a child that exits at once, wait for it ("Process Creation"); `spawn.forks`.
//! - `execl`: fork, exec `/bin/true` in the child, wait ("Execl Throughput"); `execl.execs`.
//! - `filecopy`: write a file in chunks, then copy it chunk by chunk into a second file and
//!   compare ("File Copy"); `filecopy.copies`, `filecopy.bytes`.
//! - `pipe`: bounce one byte between parent and child through two pipes ("Pipe-based Context
//!   Switching"); `pipe.roundtrips`, `pipe.bytes`.
//! - `poll`: the same ping-pong, the parent waiting in poll for each answer before it reads it
//!   (an event loop's shape); `poll.roundtrips`, `poll.bytes`.
//! - `signal`: send itself SIGUSR1 with a handler installed (the signal round trip: kill, pm's
//!   frame through the kernel, the handler run by the syscall library, sigreturn);
//!   `signal.handled` counts the handler's runs.
//!
//! Duties: each loop records one named check (`unixbench.<loop>`) that fails with the first wrong
//! result, so a long loop cannot flood the report; every counter counts only what succeeded.
//! Invariant on return: every child reaped, every descriptor closed, every file removed.
//! Iteration counts default small ([`DEFAULT_ITERATIONS`]) so fault-injection campaigns stay
//! fast; throughput runs pass larger ones.

use crate::libc::{PollFd, SigAction, Sys, count_handler_run, handler_runs, reset_handler_runs};
use crate::workload::report::{Recorder, for_people};
use crate::workload::status_text;
use os::errno::Errno;
use os::proto::pm::{exit_status, sig};
use os::proto::vfs::flags::{O_CREAT, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY};
use os::proto::vfs::poll::{INFTIM, POLLIN};
use os::proto::vfs::whence::SEEK_SET;
use std::sync::{Arc, Mutex};

/// Iterations of each loop unless told otherwise: enough for every loop to repeat its pattern,
/// few enough for a fault-injection run to stay around a millisecond.
pub const DEFAULT_ITERATIONS: u32 = 10;
/// The file copy's source file.
const SOURCE: &str = "/tmp/unixbench.src";
/// The file copy's destination.
const DESTINATION: &str = "/tmp/unixbench.dst";
/// Bytes per read and write in the file copy: Unixbench's `fstime` uses 1 KiB buffers.
const COPY_CHUNK: usize = 1024;
/// Chunks in the copied file (Unixbench copies up to 2000 blocks; a few keep a run short while
/// still spanning several file-system blocks).
const COPY_CHUNKS: usize = 4;
/// Permission bits of the files.
const FILE_MODE: u32 = 0o644;
/// Exit code of the spawn loop's children (distinct from 0 so a wrong status shows).
const SPAWN_EXIT_CODE: i32 = 7;
/// Exit code of an execl child whose exec returned.
const EXEC_RETURNED_CODE: i32 = 127;
/// A prime modulus for the file pattern: its period never lines up with chunk boundaries.
const PATTERN_MODULUS: usize = 251;

/// How many times each loop runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Loops {
    /// getpid calls.
    pub syscall: u32,
    /// fork + exit + wait rounds.
    pub spawn: u32,
    /// fork + exec + wait rounds.
    pub execl: u32,
    /// Whole-file copies.
    pub file_copy: u32,
    /// Bytes bounced through the pipes.
    pub pipe: u32,
    /// Bytes bounced through the pipes, each answer waited for in poll.
    pub poll: u32,
    /// Signals sent to itself and handled.
    pub signal: u32,
}

impl Loops {
    /// Every loop `iterations` times.
    pub fn uniform(iterations: u32) -> Loops {
        Loops {
            syscall: iterations,
            spawn: iterations,
            execl: iterations,
            file_copy: iterations,
            pipe: iterations,
            poll: iterations,
            signal: iterations,
        }
    }
}

impl Default for Loops {
    fn default() -> Self {
        Loops::uniform(DEFAULT_ITERATIONS)
    }
}

/// Runs every loop in the calling process (init).
pub fn run(sys: &Sys<'_>, rec: &Recorder, loops: &Loops) {
    syscall(sys, rec, loops.syscall);
    spawn(sys, rec, loops.spawn);
    execl(sys, rec, loops.execl);
    file_copy(sys, rec, loops.file_copy);
    ping_pong(sys, rec, loops.pipe, Wait::Read);
    ping_pong(sys, rec, loops.poll, Wait::Poll);
    signal(sys, rec, loops.signal);
}

/// How the ping-pong's parent waits for each answer.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// In the read itself (the `pipe` loop).
    Read,
    /// In poll, then reads what is ready (the `poll` loop).
    Poll,
}

impl Wait {
    fn name(self) -> &'static str {
        match self {
            Wait::Read => "pipe",
            Wait::Poll => "poll",
        }
    }
}

/// The first wrong result of a loop, if any; the loop's one check reports it.
#[derive(Default)]
struct FirstError(Option<String>);

impl FirstError {
    fn note(&mut self, what: impl FnOnce() -> String) {
        if self.0.is_none() {
            self.0 = Some(what());
        }
    }

    fn record(self, rec: &Recorder, name: &str) {
        rec.check(name, self.0.is_none(), || self.0.clone().unwrap_or_default());
    }
}

fn syscall(sys: &Sys<'_>, rec: &Recorder, n: u32) {
    let mut error = FirstError::default();
    let me = sys.getpid();
    let mut calls = 0;
    for i in 0..n {
        match sys.getpid() {
            Ok(pid) if Ok(pid) == me => calls += 1,
            other => error.note(|| format!("call {i}: getpid gave {}, first {}", for_people(&other), for_people(&me))),
        }
    }
    rec.count("syscall.calls", calls);
    error.record(rec, "unixbench.syscall");
}

fn spawn(sys: &Sys<'_>, rec: &Recorder, n: u32) {
    let mut error = FirstError::default();
    let mut forks = 0;
    for i in 0..n {
        match sys.fork(|_| SPAWN_EXIT_CODE) {
            Ok(pid) => match sys.waitpid(pid, 0) {
                Ok(got) if got == (pid, exit_status(SPAWN_EXIT_CODE)) => forks += 1,
                Ok((_, status)) => error.note(|| format!("round {i}: pid {pid} ended with {}", status_text(status))),
                Err(e) => error.note(|| format!("round {i}: wait for {pid} failed with {e}")),
            },
            Err(e) => error.note(|| format!("round {i}: fork failed with {e}")),
        }
    }
    rec.count("spawn.forks", forks);
    error.record(rec, "unixbench.spawn");
}

fn execl(sys: &Sys<'_>, rec: &Recorder, n: u32) {
    let mut error = FirstError::default();
    let mut execs = 0;
    // A child whose exec failed leaves the errno here, for the loop's message.
    let exec_error: Arc<Mutex<Option<Errno>>> = Arc::default();
    for i in 0..n {
        let slot = exec_error.clone();
        let forked = sys.fork(move |c| {
            let failed = c.exec("/bin/true", &["true"]);
            *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(failed);
            EXEC_RETURNED_CODE
        });
        match forked {
            Ok(pid) => match sys.waitpid(pid, 0) {
                Ok(got) if got == (pid, exit_status(0)) => execs += 1,
                Ok((_, status)) => error.note(|| {
                    let failed = exec_error.lock().unwrap_or_else(|e| e.into_inner()).take();
                    let why = failed.map(|e| format!(" (its exec failed with {e})")).unwrap_or_default();
                    format!("round {i}: pid {pid} ended with {}{why}", status_text(status))
                }),
                Err(e) => error.note(|| format!("round {i}: wait for {pid} failed with {e}")),
            },
            Err(e) => error.note(|| format!("round {i}: fork failed with {e}")),
        }
    }
    rec.count("execl.execs", execs);
    error.record(rec, "unixbench.execl");
}

/// The copied file's bytes: a pattern whose period is prime, so a chunk copied to the wrong
/// place shows.
fn pattern() -> Vec<u8> {
    (0..COPY_CHUNK * COPY_CHUNKS).map(|i| (i % PATTERN_MODULUS) as u8).collect()
}

/// Writes `data` to `fd` in chunks; the bytes written.
fn write_chunks(sys: &Sys<'_>, fd: i32, data: &[u8]) -> Result<u64, Errno> {
    let mut total = 0;
    for chunk in data.chunks(COPY_CHUNK) {
        let n = sys.write(fd, chunk)?;
        total += n as u64;
        if n < chunk.len() {
            break;
        }
    }
    Ok(total)
}

/// Copies `from` into `to` chunk by chunk until the end of `from`; the bytes copied.
fn copy_chunks(sys: &Sys<'_>, from: i32, to: i32) -> Result<u64, Errno> {
    let mut buf = [0u8; COPY_CHUNK];
    let mut total = 0;
    loop {
        let n = sys.read(from, &mut buf)?;
        if n == 0 {
            return Ok(total);
        }
        let written = sys.write(to, &buf[..n])?;
        total += written as u64;
        if written < n {
            return Ok(total);
        }
    }
}

/// Reads `fd` from its start to the end.
fn read_back(sys: &Sys<'_>, fd: i32) -> Result<Vec<u8>, Errno> {
    sys.lseek(fd, 0, SEEK_SET)?;
    let mut all = Vec::new();
    let mut buf = [0u8; COPY_CHUNK];
    loop {
        let n = sys.read(fd, &mut buf)?;
        if n == 0 {
            return Ok(all);
        }
        all.extend_from_slice(&buf[..n]);
    }
}

/// One copy of the source into a fresh destination, checked against `expected`.
fn copy_once(sys: &Sys<'_>, expected: &[u8]) -> Result<u64, String> {
    let from = sys.open(SOURCE, O_RDONLY, 0).map_err(|e| format!("open source: {e}"))?;
    let to = match sys.open(DESTINATION, O_CREAT | O_RDWR | O_TRUNC, FILE_MODE) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = sys.close(from);
            return Err(format!("create destination: {e}"));
        }
    };
    let copied = copy_chunks(sys, from, to).map_err(|e| format!("copy: {e}"));
    let back = read_back(sys, to).map_err(|e| format!("read back: {e}"));
    let closed = [sys.close(from), sys.close(to)];
    let copied = copied?;
    if back? != expected {
        return Err("the copy differs from the source".into());
    }
    if let Some(Err(e)) = closed.into_iter().find(|r| r.is_err()) {
        return Err(format!("close: {e}"));
    }
    Ok(copied)
}

fn file_copy(sys: &Sys<'_>, rec: &Recorder, n: u32) {
    let mut error = FirstError::default();
    let data = pattern();
    let written = match sys.open(SOURCE, O_CREAT | O_WRONLY | O_TRUNC, FILE_MODE) {
        Ok(fd) => {
            let written = write_chunks(sys, fd, &data);
            let _ = sys.close(fd);
            written
        }
        Err(e) => Err(e),
    };
    match written {
        Ok(bytes) if bytes == data.len() as u64 => {
            let (mut copies, mut bytes) = (0, 0);
            for i in 0..n {
                match copy_once(sys, &data) {
                    Ok(copied) => {
                        copies += 1;
                        bytes += copied;
                    }
                    Err(what) => error.note(|| format!("copy {i}: {what}")),
                }
            }
            rec.count("filecopy.copies", copies);
            rec.count("filecopy.bytes", bytes);
        }
        other => error.note(|| format!("writing the {}-byte source gave {}", data.len(), for_people(&other))),
    }
    for file in [SOURCE, DESTINATION] {
        match sys.unlink(file) {
            Ok(()) | Err(Errno::ENOENT) => {}
            Err(e) => error.note(|| format!("unlink {file}: {e}")),
        }
    }
    error.record(rec, "unixbench.filecopy");
}

/// The child's side of the ping-pong: answer each byte with its successor until EOF.
fn pong(sys: &Sys<'_>, from_parent: i32, to_parent: i32) -> i32 {
    let mut byte = [0u8; 1];
    loop {
        match sys.read(from_parent, &mut byte) {
            Ok(0) => return 0,
            Ok(_) => {
                let answer = [byte[0].wrapping_add(1)];
                if sys.write(to_parent, &answer) != Ok(1) {
                    return 1;
                }
            }
            Err(_) => return 1,
        }
    }
}

fn ping_pong(sys: &Sys<'_>, rec: &Recorder, n: u32, wait: Wait) {
    let name = wait.name();
    let mut error = FirstError::default();
    let (down, up) = match (sys.pipe(), sys.pipe()) {
        (Ok(down), Ok(up)) => (down, up),
        (down, up) => {
            let failed = [down, up].into_iter().find_map(Result::err);
            for (r, w) in [down, up].into_iter().flatten() {
                let _ = (sys.close(r), sys.close(w));
            }
            rec.check(&format!("unixbench.{name}"), false, || format!("pipe failed with {}", for_people(&failed)));
            return;
        }
    };
    let forked = sys.fork(move |c| {
        let _ = (c.close(down.1), c.close(up.0));
        pong(c, down.0, up.1)
    });
    let _ = (sys.close(down.0), sys.close(up.1));
    let (mut roundtrips, mut bytes) = (0, 0);
    if let Ok(pid) = &forked {
        let mut answer = [0u8; 1];
        for i in 0..n {
            let ping = [i as u8];
            let went = sys.write(down.1, &ping);
            if wait == Wait::Poll {
                let mut ready = [PollFd::new(up.0, POLLIN)];
                match sys.poll(&mut ready, INFTIM) {
                    Ok(1) if ready[0].revents == POLLIN => {}
                    other => {
                        error.note(|| {
                            format!("round {i}: poll gave {}, revents {:#x}", for_people(&other), ready[0].revents)
                        });
                        break;
                    }
                }
            }
            let came = sys.read(up.0, &mut answer);
            if went == Ok(1) && came == Ok(1) && answer[0] == ping[0].wrapping_add(1) {
                roundtrips += 1;
                bytes += 2;
            } else {
                error.note(|| {
                    format!(
                        "round {i}: write gave {}, read {} (byte {}, expected {})",
                        for_people(&went),
                        for_people(&came),
                        answer[0],
                        ping[0].wrapping_add(1)
                    )
                });
                break;
            }
        }
        // Closing the write end is the child's EOF: it exits, and its end of `up` closes.
        let _ = sys.close(down.1);
        match sys.read(up.0, &mut answer) {
            Ok(0) => {}
            other => error.note(|| format!("expected EOF once the child exited, got {}", for_people(&other))),
        }
        match sys.waitpid(*pid, 0) {
            Ok(got) if got == (*pid, exit_status(0)) => {}
            other => error.note(|| {
                let gave = match other {
                    Ok((pid, status)) => format!("pid {pid}, {}", status_text(status)),
                    Err(e) => format!("error {}", e.name()),
                };
                format!("wait for the pong child gave {gave}")
            }),
        }
    } else {
        let _ = sys.close(down.1);
        error.note(|| format!("fork failed: {}", for_people(&forked)));
    }
    let _ = sys.close(up.0);
    rec.count(&format!("{name}.roundtrips"), roundtrips);
    rec.count(&format!("{name}.bytes"), bytes);
    error.record(rec, &format!("unixbench.{name}"));
}

fn signal(sys: &Sys<'_>, rec: &Recorder, n: u32) {
    let mut error = FirstError::default();
    let handler = SigAction::Handler { handler: count_handler_run, mask: 0, flags: 0 };
    let set_up = reset_handler_runs(sys).and_then(|()| {
        sys.sigaction(sig::SIGUSR1, Some(handler))?;
        sys.getpid()
    });
    let mut handled = 0;
    match set_up {
        Ok(me) => {
            for i in 0..n {
                let before = handler_runs(sys);
                match sys.kill(me, sig::SIGUSR1) {
                    Ok(()) => match (before, handler_runs(sys)) {
                        (Ok(b), Ok(a)) if a == b + 1 => handled += 1,
                        (b, a) => error.note(|| {
                            format!("round {i}: the handler count went from {} to {}", for_people(&b), for_people(&a))
                        }),
                    },
                    Err(e) => error.note(|| format!("round {i}: kill failed with {e}")),
                }
            }
            if let Err(e) = sys.sigaction(sig::SIGUSR1, Some(SigAction::Default)) {
                error.note(|| format!("restoring the default action failed with {e}"));
            }
        }
        Err(e) => error.note(|| format!("installing the handler failed with {e}")),
    }
    rec.count("signal.handled", handled);
    error.record(rec, "unixbench.signal");
}

//! Syscall throughput — getpid, fork+exit+wait, fork+exec+wait, a file write+read, a pipe round
//! trip, a signal round trip — under each engine, with the servers' checkpointing off (the baseline) and on.
//!
//! Target (issue 5): the checkpoint overhead is at most 3% on these Unixbench-like loops (OSIRIS
//! reported about 5%).
//!
//! "Off" turns the servers' checkpoint switch (`MachineConfig::checkpoints`) off: the task loop
//! opens no new recovery window, so the tracked containers log each entry at most once while it
//! is off instead of once per request (the containers themselves still run: their cost is in both
//! figures). Each repeat boots one machine and times off and on in alternating blocks within it,
//! so both sides share the boot's memory layout and its threads' placement (booting off and on
//! separately made boot-to-boot differences of several percent look like overhead); the figure's
//! overhead is the median of every pair's, its rates the medians of every block's. The note of
//! each figure says how much checkpointing work one operation causes (requests served, tracked
//! writes), counted exactly in a profiled `sim` run.

use crate::measure::Spread;
use crate::plan::{PerEngine, Plan};
use crate::report::{Figure, Section, Unit};
use crate::system::{Setup, run_in_init};
use kernel_sim::EngineKind;
use os::errno::Errno;
use os::fault::{SiteKind, SiteProfile};
use os::proto::pm::{RUSAGE_SELF, sig};
use os::proto::vfs::flags::{O_CREAT, O_RDWR, O_TRUNC};
use os::proto::vfs::whence::SEEK_SET;
use recovery::TrackedState;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use testbed::checker::Snapshot;
use userland::libc::{SigAction, Sys, count_handler_run, handler_runs};

/// The overhead target, percent.
pub const OVERHEAD_TARGET_PCT: f64 = 3.0;

/// The file the write+read loop uses.
const FILE: &str = "/tmp/bench.dat";
/// Bytes per write and per read (Unixbench's fstime buffer).
const FILE_CHUNK: usize = 1024;
/// Permission bits of the file.
const FILE_MODE: u32 = 0o644;
/// The file the stat loop looks up, in the boot tree.
const STAT_PATH: &str = "/bin/true";

/// One measured operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `getpid` (Unixbench "System Call Overhead").
    Getpid,
    /// fork, the child exits at once, waitpid ("Process Creation").
    Spawn,
    /// fork, the child execs `/bin/true`, waitpid ("Execl Throughput").
    Exec,
    /// lseek + 1 KiB write + lseek + 1 KiB read of one file ("File Copy" shape).
    FileWriteRead,
    /// One byte to a child and its answer back through two pipes ("Pipe-based Context Switching").
    Pipe,
    /// kill of itself with a handler installed: pm's frame through the kernel, the handler run by
    /// the syscall library, sigreturn.
    Signal,
    /// stat of a program file: vfs has mfs walk the path (REQ_LOOKUP, REQ_STAT).
    Stat,
    /// getrusage of itself: pm answers with vm's part (a server-to-server request).
    Rusage,
}

impl Op {
    /// Every operation, in report order.
    pub const ALL: [Op; 8] =
        [Op::Getpid, Op::Spawn, Op::Exec, Op::FileWriteRead, Op::Pipe, Op::Signal, Op::Stat, Op::Rusage];

    /// Its key in figure ids.
    pub fn id(self) -> &'static str {
        match self {
            Op::Getpid => "getpid",
            Op::Spawn => "fork",
            Op::Exec => "exec",
            Op::FileWriteRead => "file",
            Op::Pipe => "pipe",
            Op::Signal => "signal",
            Op::Stat => "stat",
            Op::Rusage => "getrusage",
        }
    }

    /// Its name for people.
    pub fn name(self) -> &'static str {
        match self {
            Op::Getpid => "getpid",
            Op::Spawn => "fork+exit+wait",
            Op::Exec => "fork+exec+wait",
            Op::FileWriteRead => "file write+read 1 KiB",
            Op::Pipe => "pipe round trip",
            Op::Signal => "signal round trip",
            Op::Stat => "stat (path through mfs)",
            Op::Rusage => "getrusage (pm and vm)",
        }
    }

    /// Operations per repeat under each engine.
    pub fn counts(self, plan: &Plan) -> PerEngine {
        let c = &plan.syscalls;
        match self {
            Op::Getpid => c.getpid,
            Op::Spawn => c.fork,
            Op::Exec => c.exec,
            Op::FileWriteRead => c.file,
            Op::Pipe => c.pipe,
            Op::Signal => c.signal,
            Op::Stat => c.stat,
            Op::Rusage => c.rusage,
        }
    }
}

fn per(engine: EngineKind, counts: PerEngine) -> u32 {
    match engine {
        EngineKind::Sim => counts.sim,
        EngineKind::Threads => counts.threads,
    }
}

fn errno(what: &str) -> impl Fn(Errno) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// Operations run untimed before `n` timed ones: a tenth as many, at least one.
fn warm_up(n: u32) -> u32 {
    (n / 10).max(1)
}

/// Times `n` operations after a warm-up; nanoseconds per operation.
fn timed(n: u32, mut op: impl FnMut() -> Result<(), String>) -> Result<f64, String> {
    for _ in 0..warm_up(n) {
        op()?;
    }
    let start = Instant::now();
    for _ in 0..n {
        op()?;
    }
    Ok(start.elapsed().as_nanos() as f64 / f64::from(n.max(1)))
}

/// Runs `n` of `op` in the calling process (init); nanoseconds per operation.
pub fn run_op(sys: &Sys<'_>, op: Op, n: u32) -> Result<f64, String> {
    match op {
        Op::Getpid => timed(n, || sys.getpid().map(drop).map_err(errno("getpid"))),
        Op::Spawn => timed(n, || {
            let pid = sys.fork(|_| 0).map_err(errno("fork"))?;
            sys.waitpid(pid, 0).map(drop).map_err(errno("waitpid"))
        }),
        Op::Exec => timed(n, || {
            let pid = sys
                .fork(|c| {
                    c.exec("/bin/true", &["true"]);
                    127
                })
                .map_err(errno("fork"))?;
            match sys.waitpid(pid, 0).map_err(errno("waitpid"))? {
                (_, 0) => Ok(()),
                (_, status) => Err(format!("the exec child ended with status {status:#x}")),
            }
        }),
        Op::FileWriteRead => {
            let fd = sys.open(FILE, O_CREAT | O_RDWR | O_TRUNC, FILE_MODE).map_err(errno("open"))?;
            let data = [0x5Au8; FILE_CHUNK];
            let mut back = [0u8; FILE_CHUNK];
            let r = timed(n, || {
                sys.lseek(fd, 0, SEEK_SET).map_err(errno("lseek"))?;
                let w = sys.write(fd, &data).map_err(errno("write"))?;
                sys.lseek(fd, 0, SEEK_SET).map_err(errno("lseek"))?;
                let r = sys.read(fd, &mut back).map_err(errno("read"))?;
                if w == FILE_CHUNK && r == FILE_CHUNK { Ok(()) } else { Err(format!("wrote {w}, read {r} bytes")) }
            });
            let _ = sys.close(fd);
            let _ = sys.unlink(FILE);
            r
        }
        Op::Pipe => pipe_rounds(sys, n),
        Op::Signal => signal_rounds(sys, n),
        Op::Stat => timed(n, || sys.stat(STAT_PATH).map(drop).map_err(errno("stat"))),
        Op::Rusage => timed(n, || sys.getrusage(RUSAGE_SELF).map(drop).map_err(errno("getrusage"))),
    }
}

/// Self-kills with a handler installed; the default action is back afterwards.
fn signal_rounds(sys: &Sys<'_>, n: u32) -> Result<f64, String> {
    let handler = SigAction::Handler { handler: count_handler_run, mask: 0, flags: 0 };
    sys.sigaction(sig::SIGUSR1, Some(handler)).map_err(errno("sigaction"))?;
    let before = handler_runs(sys).map_err(errno("reading the handler count"))?;
    let me = sys.getpid().map_err(errno("getpid"))?;
    let r = timed(n, || sys.kill(me, sig::SIGUSR1).map_err(errno("kill")))?;
    sys.sigaction(sig::SIGUSR1, Some(SigAction::Default)).map_err(errno("sigaction"))?;
    let handled = handler_runs(sys).map_err(errno("reading the handler count"))?.wrapping_sub(before);
    let sent = warm_up(n) + n;
    if handled != sent { Err(format!("{sent} signals sent, {handled} handled")) } else { Ok(r) }
}

/// The pipe ping-pong: the child answers each byte with its successor until EOF.
fn pipe_rounds(sys: &Sys<'_>, n: u32) -> Result<f64, String> {
    let down = sys.pipe().map_err(errno("pipe"))?;
    let up = sys.pipe().map_err(errno("pipe"))?;
    let child = sys.fork(move |c| {
        let _ = (c.close(down.1), c.close(up.0));
        let mut byte = [0u8; 1];
        while let Ok(1) = c.read(down.0, &mut byte) {
            if c.write(up.1, &[byte[0].wrapping_add(1)]) != Ok(1) {
                return 1;
            }
        }
        0
    });
    let _ = (sys.close(down.0), sys.close(up.1));
    let mut i = 0u8;
    let r = match child {
        Ok(_) => timed(n, || {
            i = i.wrapping_add(1);
            let mut answer = [0u8; 1];
            sys.write(down.1, &[i]).map_err(errno("pipe write"))?;
            sys.read(up.0, &mut answer).map_err(errno("pipe read"))?;
            if answer[0] == i.wrapping_add(1) { Ok(()) } else { Err(format!("pipe answered {answer:?}")) }
        }),
        Err(e) => Err(format!("fork: {e}")),
    };
    let _ = sys.close(down.1);
    if let Ok(pid) = child {
        let _ = sys.waitpid(pid, 0);
    }
    let _ = sys.close(up.0);
    r
}

/// Boots a machine as `setup` says and times `n` operations in init: nanoseconds per operation.
pub fn time_op(setup: &Setup, op: Op, n: u32) -> Result<f64, String> {
    Ok(run_in_init(setup, move |sys| run_op(sys, op, n))?.value)
}

/// The checkpointing work one operation causes, counted in a profiled `sim` run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Work {
    /// Requests pm, vm and vfs served (each opened a recovery window).
    pub requests: f64,
    /// Tracked writes they made.
    pub writes: f64,
}

/// Requests served and tracked writes made by a whole run of `n` operations.
fn count_run(op: Op, n: u32) -> Result<(u64, u64), String> {
    let profile = Arc::new(Mutex::new(SiteProfile::default()));
    let setup = Setup { profile: Some(profile.clone()), ..Setup::new(EngineKind::Sim) };
    let ran = run_in_init(&setup, move |sys| run_op(sys, op, n))?;
    let mut snapshot = Snapshot::take(&ran.machine);
    let epochs = [
        snapshot.pm.as_mut().map(|s| s.journal().epoch().get()),
        snapshot.vm.as_mut().map(|s| s.journal().epoch().get()),
        snapshot.vfs.as_mut().map(|s| s.journal().epoch().get()),
    ];
    let requests = epochs.iter().map(|e| e.ok_or("a server left no state")).sum::<Result<u64, _>>()?;
    let profile = profile.lock().unwrap_or_else(|e| e.into_inner());
    let writes =
        profile.sites.values().filter(|s| matches!(s.kind, SiteKind::Write { .. })).map(|s| s.hits).sum::<u64>();
    Ok((requests, writes))
}

/// The checkpointing work per operation: the difference between runs of `n` and `2n` timed
/// operations (warm-up included), so boot and teardown cancel out.
pub fn work_per_op(op: Op, n: u32) -> Result<Work, String> {
    let n = n.max(1);
    let (r1, w1) = count_run(op, n)?;
    let (r2, w2) = count_run(op, 2 * n)?;
    let ops = f64::from(2 * n + warm_up(2 * n) - n - warm_up(n));
    let per = |a: u64, b: u64| b.saturating_sub(a) as f64 / ops;
    Ok(Work { requests: per(r1, r2), writes: per(w1, w2) })
}

/// The syscall section.
pub fn section(plan: &Plan) -> Section {
    let mut s = Section::new("syscalls", "Syscall throughput, checkpointing off (baseline) and on");
    let mut work = Vec::new();
    for op in Op::ALL {
        work.push(work_per_op(op, op.counts(plan).sim.min(WORK_COUNT_OPS)));
    }
    for engine in [EngineKind::Sim, EngineKind::Threads] {
        for (op, work) in Op::ALL.into_iter().zip(&work) {
            let n = per(engine, op.counts(plan));
            let id = format!("syscalls.{engine}.{}", op.id());
            let name = format!("{}, {engine}", op.name());
            match measure_op(plan, engine, op, n, work) {
                Ok(figure) => s.push(Figure { id, name, ..figure }),
                Err(e) => s.missing(id, name, e),
            }
        }
    }
    s
}

/// Operations of the profiled runs that count requests and writes (exact under `sim`: more
/// would only cost time).
const WORK_COUNT_OPS: u32 = 50;

/// Pairs of off and on blocks one boot times.
const BLOCK_PAIRS: u32 = 32;

/// Boots one machine on `engine` and times `n` operations with checkpointing off and `n` with it
/// on, in [`BLOCK_PAIRS`] pairs of blocks (off first in even pairs, on first in odd ones): each
/// pair's nanoseconds per operation, off and on.
pub fn time_op_off_and_on(engine: EngineKind, op: Op, n: u32) -> Result<Vec<(f64, f64)>, String> {
    let setup = Setup::new(engine);
    let switch = setup.checkpoints.clone();
    let per_block = (n / BLOCK_PAIRS).max(1);
    let ran = run_in_init(&setup, move |sys| {
        let mut pairs = Vec::new();
        for pair in 0..BLOCK_PAIRS {
            let (mut off, mut on) = (0.0, 0.0);
            let order = if pair % 2 == 0 { [false, true] } else { [true, false] };
            for checkpointing in order {
                switch.set(checkpointing);
                *(if checkpointing { &mut on } else { &mut off }) = run_op(sys, op, per_block)?;
            }
            pairs.push((off, on));
        }
        switch.set(true);
        Ok(pairs)
    })?;
    Ok(ran.value)
}

/// One operation under one engine, off against on: the rates are the medians of every block's,
/// the overhead the median of every pair's.
fn measure_op(plan: &Plan, engine: EngineKind, op: Op, n: u32, work: &Result<Work, String>) -> Result<Figure, String> {
    let mut pairs = Vec::new();
    for _ in 0..plan.repeats.max(1) {
        pairs.extend(time_op_off_and_on(engine, op, n)?);
    }
    let off_ns = Spread::of(&pairs.iter().map(|p| p.0).collect::<Vec<_>>());
    let on_ns = Spread::of(&pairs.iter().map(|p| p.1).collect::<Vec<_>>());
    let overheads = Spread::of(&pairs.iter().map(|(off, on)| (on / off - 1.0) * 100.0).collect::<Vec<_>>());
    let work = match work {
        Ok(w) => format!("; per operation {:.1} requests, {:.1} tracked writes", w.requests, w.writes),
        Err(e) => format!("; requests not counted: {e}"),
    };
    let (on, off) = (on_ns.to_rate(), off_ns.to_rate());
    let range = |s: &Spread| format!("{}..{}", Unit::OpsPerSec.render(s.min), Unit::OpsPerSec.render(s.max));
    let figure = Figure::new("", "", Unit::OpsPerSec, on, "checkpointing off", off)
        .with_paired_overhead(overheads.median)
        .with_note(format!(
            "{} boots, each timing {n} operations off and {n} on in {BLOCK_PAIRS} alternating pairs of blocks; medians of the blocks' rates (off {}, on {}) and of the pairs' overheads ({:+.1}..{:+.1}%){work}",
            plan.repeats,
            range(&off),
            range(&on),
            overheads.min,
            overheads.max
        ));
    let met = figure.overhead_pct.is_some_and(|p| p <= OVERHEAD_TARGET_PCT);
    Ok(figure.with_target(format!("overhead at most {OVERHEAD_TARGET_PCT:.0}%"), met))
}

//! Resource exhaustion by users: a fork bomb fills pm's process table (EAGAIN), memory runs out in
//! vm (ENOMEM), the disk and the inode table fill (ENOSPC), descriptors run out per process
//! (EMFILE) and in the whole system (ENFILE). Each limit is hit by processes that are not root,
//! with the exact error the limit promises; while it holds, the rest of the system still serves;
//! once the hogs exit, everything they held is back (every frame, no process entry, no open file)
//! and the same request succeeds again; the consistency checker is clean on the stopped system.
//!
//! Observations are logged from inside the simulated processes and compared at the end (a panic
//! in a simulated process would only end that process). Every call is made before a lock is taken:
//! a process blocked while holding a lock would block the `sim` engine's one thread.

use kernel_sim::{Config, EngineKind, RunEnd};
mod common;

use common::Log;
use os::errno::Errno;
use os::mfs::state::NR_INODES;
use os::pm::state::{LAST_FEW, NR_PROCS};
use os::proto::INIT;
use os::proto::vfs::flags::{O_CREAT, O_RDONLY, O_WRONLY};
use os::proto::vm::layout::PAGE;
use os::vfs::state::{NR_FILPS, OPEN_MAX};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use testbed::boot::{MachineConfig, boot};
use testbed::checker::{self, Snapshot};
use userland::libc::Sys;

/// A non-root user id for the hogs.
const USER: u32 = 1000;

/// Yields that let every other ready process run until it blocks, under `sim`.
const SETTLE: usize = 300;

/// Frames budgeted per process of a full table: a forked image uses 18; a third to spare makes
/// sure a fork bomb runs out of process slots, never of memory.
const FRAMES_PER_PROCESS: usize = 24;

/// Frames for a machine whose process table fills up ([`NR_PROCS`] processes).
const FULL_TABLE_FRAMES: usize = FRAMES_PER_PROCESS * NR_PROCS;

/// Boots a machine of `frames` frames whose init runs `body`; after the run, asserts that it
/// finished, no server died, the checker is clean and nothing outlived the processes; returns the
/// log.
fn observe(frames: usize, invariants: bool, body: impl FnOnce(&Sys<'_>, &Log) + Send + 'static) -> Vec<String> {
    let config = MachineConfig {
        kernel: Config {
            engine: EngineKind::Sim,
            seed: 21,
            frames,
            time_limit: 600_000_000,
            finish_after: Some(INIT),
            record_events: false,
            ..Config::default()
        },
        check_invariants: invariants,
        ..MachineConfig::default()
    };
    let log = Log::default();
    let l = log.clone();
    let mut m = boot(&config, move |sys| {
        body(sys, &l);
        0
    });
    let end = m.run().end;
    let mut snap = Snapshot::take(&m);
    let violations = checker::check(&mut snap);
    let leaks = testbed::fuzz::leaks(&mut snap);
    let decisions = m.decisions.records();
    assert_eq!(end, RunEnd::Finished, "{:#?}", log.lines());
    assert!(decisions.is_empty(), "a server died: {decisions:?}");
    assert!(violations.is_empty(), "{violations:#?}");
    // init's own state is all that may be left: `leaks` allows init's entries and files.
    assert!(leaks.is_empty(), "{leaks:#?}");
    log.lines()
}

fn drop_root(sys: &Sys<'_>) {
    sys.setgid(USER).unwrap();
    sys.setuid(USER).unwrap();
}

fn settle(sys: &Sys<'_>) {
    for _ in 0..SETTLE {
        sys.proc().yield_now();
    }
}

/// Waits (yielding) until `flag` is set.
fn wait_for(sys: &Sys<'_>, flag: &AtomicBool) {
    while !flag.load(Ordering::SeqCst) {
        sys.proc().yield_now();
    }
}

/// Waits for every child; returns how many there were.
fn reap_all(sys: &Sys<'_>) -> usize {
    let mut n = 0;
    while sys.wait().is_ok() {
        n += 1;
    }
    n
}

/// Blocks until every writer of the release pipe `r` is gone (its read then sees the end).
fn await_release(sys: &Sys<'_>, r: i32) {
    let _ = sys.read(r, &mut [0u8; 1]);
}

#[test]
fn a_fork_bomb_gets_eagain_at_the_process_limit_and_the_system_recovers() {
    let lines = observe(FULL_TABLE_FRAMES, false, |sys, log| {
        let free_before = sys.vm_info().unwrap().free;
        // The release: every descendant closes its copy of the write end and blocks reading;
        // init closing its own lets them all go at once.
        let (r, w) = sys.pipe().unwrap();
        let made = Arc::new(AtomicUsize::new(0));
        let full = Arc::new(AtomicBool::new(false));
        let (log2, made2, full2) = (log.clone(), made.clone(), full.clone());
        let bomber = sys
            .fork(move |b| {
                b.close(w).unwrap();
                drop_root(b);
                // Every child forks once more, then waits; the bomber forks until pm says no.
                let error = loop {
                    let made = made2.clone();
                    let child = b.fork(move |c| {
                        if c.fork(move |g| {
                            await_release(g, r);
                            0
                        })
                        .is_ok()
                        {
                            made.fetch_add(1, Ordering::SeqCst);
                        }
                        await_release(c, r);
                        reap_all(c);
                        0
                    });
                    match child {
                        Ok(_) => made2.fetch_add(1, Ordering::SeqCst),
                        Err(e) => break e,
                    };
                };
                settle(b);
                let again = b.fork(|_| 0).map(drop);
                log2.say(format!("bomber: {error:?} once the table was full; again: {again:?}"));
                full2.store(true, Ordering::SeqCst);
                await_release(b, r);
                reap_all(b);
                0
            })
            .unwrap();
        wait_for(sys, &full);
        // The user's bomb stopped short of the superuser's last few entries: init (root) can
        // still fork, and the rest still serves.
        let root_fork = sys.fork(|_| 3).and_then(|pid| sys.waitpid(pid, 0)).map(|(_, status)| status >> 8);
        let pid = sys.getpid();
        let motd = sys.open("/etc/motd", O_RDONLY, 0).and_then(|fd| sys.close(fd));
        log.say(format!(
            "processes made: {} of {} (init and the bomber hold two entries, root's reserve {LAST_FEW})",
            made.load(Ordering::SeqCst),
            NR_PROCS - 2 - LAST_FEW
        ));
        log.say(format!("while full: init's fork {root_fork:?}, getpid {pid:?}, open {motd:?}"));
        sys.close(w).unwrap();
        sys.close(r).unwrap();
        let reaped = sys.waitpid(bomber, 0).map(|(p, _)| p == bomber);
        log.say(format!("bomber reaped: {reaped:?}"));
        log.say(format!("every frame back: {}", sys.vm_info().unwrap().free == free_before));
        let after = sys.fork(|_| 7).and_then(|_| sys.wait()).map(|(_, status)| status >> 8);
        log.say(format!("a fork after the bomb: {after:?}"));
    });
    assert_eq!(
        lines,
        [
            "bomber: EAGAIN once the table was full; again: Err(EAGAIN)".to_string(),
            format!(
                "processes made: {} of {} (init and the bomber hold two entries, root's reserve {LAST_FEW})",
                NR_PROCS - 2 - LAST_FEW,
                NR_PROCS - 2 - LAST_FEW
            ),
            "while full: init's fork Ok(3), getpid Ok(1), open Ok(())".into(),
            "bomber reaped: Ok(true)".into(),
            "every frame back: true".into(),
            "a fork after the bomb: Ok(7)".into(),
        ]
    );
}

#[test]
fn memory_runs_out_in_vm_for_several_processes_and_comes_back() {
    /// A small machine: three hogs exhaust it at once.
    const FRAMES: usize = 200;
    let lines = observe(FRAMES, true, |sys, log| {
        // A program file of a megabyte: its image needs more frames than a hog can free by
        // giving up its own.
        let big = sys.creat("/tmp/big", 0o755).unwrap();
        let mut image = os::proto::PROGRAM_MAGIC.to_vec();
        image.extend_from_slice(b"true\n");
        image.resize(1 << 20, b'#');
        sys.write(big, &image).unwrap();
        sys.close(big).unwrap();
        let start = sys.vm_info().unwrap();
        let hold = Arc::new(AtomicBool::new(false));
        let holding = Arc::new(AtomicUsize::new(0));
        for k in 0..3 {
            let (log, hold, holding) = (log.clone(), hold.clone(), holding.clone());
            sys.fork(move |h| {
                drop_root(h);
                // Take memory in turns until vm says no: mappings, then the heap.
                let mut mapped = Vec::new();
                let err = loop {
                    match h.mmap(2 * PAGE, true) {
                        Ok(at) => mapped.push(at),
                        Err(e) => break e,
                    }
                    h.proc().yield_now();
                };
                let heap = h.sbrk(PAGE as i64).map(drop);
                h.proc().mem_write(mapped[0], b"mine").unwrap();
                holding.fetch_add(1, Ordering::SeqCst);
                wait_for(h, &hold);
                if k == 0 {
                    // With no frame free: fork and exec fail, and the old image is intact.
                    let fork = h.fork(|_| 0).map(drop);
                    let exec = h.exec("/tmp/big", &["big"]);
                    let mut back = [0u8; 4];
                    h.proc().mem_read(mapped[0], &mut back).unwrap();
                    log.say(format!(
                        "a hog out of memory: mmap {err:?}, brk {heap:?}, fork {fork:?}, exec {exec:?}, \
                         its memory intact: {}",
                        &back == b"mine"
                    ));
                }
                0
            })
            .unwrap();
        }
        while holding.load(Ordering::SeqCst) < 3 {
            sys.proc().yield_now();
        }
        let info = sys.vm_info().unwrap();
        log.say(format!("free while the hogs hold it: {}", info.free));
        // init itself still gets answers, and an error for more memory.
        log.say(format!("init's mmap: {:?}", sys.mmap(PAGE, true).map(drop)));
        hold.store(true, Ordering::SeqCst);
        log.say(format!("hogs reaped: {}", reap_all(sys)));
        log.say(format!("all back: {}", sys.vm_info().unwrap() == start));
        // The memory serves again: a new process maps what the hogs had.
        let again = sys.fork(|c| {
            let mut n = 0;
            while c.mmap(PAGE, true).is_ok() {
                n += 1;
            }
            i32::from(n >= 100)
        });
        let status = again.and_then(|_| sys.wait()).map(|(_, s)| s >> 8);
        log.say(format!("a new process mapped over 100 pages: {}", status == Ok(1)));
        log.say(format!("all back again: {}", sys.vm_info().unwrap() == start));
        sys.unlink("/tmp/big").unwrap();
    });
    assert_eq!(
        lines,
        [
            "free while the hogs hold it: 0",
            "init's mmap: Err(ENOMEM)",
            "a hog out of memory: mmap ENOMEM, brk Err(ENOMEM), fork Err(ENOMEM), exec ENOMEM, its memory intact: true",
            "hogs reaped: 3",
            "all back: true",
            "a new process mapped over 100 pages: true",
            "all back again: true",
        ]
    );
}

#[test]
fn the_disk_and_the_inode_table_fill_to_enospc_and_empty_again() {
    let lines = observe(crate_frames(), true, |sys, log| {
        sys.mkdir("/tmp/hog", 0o777).unwrap();
        let done = Arc::new(AtomicUsize::new(0));
        // Two writers fill the disk side by side, 64 KiB at a time.
        for k in 0..2 {
            let (log, done) = (log.clone(), done.clone());
            sys.fork(move |w| {
                drop_root(w);
                let chunk = vec![b'a' + k as u8; 64 * 1024];
                let (mut files, mut short, mut total) = (0, None, 0u64);
                let err = 'fill: loop {
                    let fd = match w.creat(&format!("/tmp/hog/w{k}-{files}"), 0o644) {
                        Ok(fd) => fd,
                        Err(e) => break 'fill e,
                    };
                    files += 1;
                    loop {
                        match w.write(fd, &chunk) {
                            Ok(n) if n == chunk.len() => total += n as u64,
                            Ok(n) => {
                                // Cut short by the full disk (or the largest file): keeps what fit.
                                short.get_or_insert(n);
                                total += n as u64;
                            }
                            Err(Errno::EFBIG) => break,
                            Err(e) => {
                                w.close(fd).unwrap();
                                break 'fill e;
                            }
                        }
                        w.proc().yield_now();
                    }
                    w.close(fd).unwrap();
                };
                let mkdir = w.mkdir(&format!("/tmp/hog/d{k}"), 0o755);
                let size: u64 =
                    (0..files).filter_map(|i| w.stat(&format!("/tmp/hog/w{k}-{i}")).ok()).map(|s| s.size).sum();
                log.say(format!(
                    "writer {k}: {err:?} in file {files}; stat agrees with the bytes written: {}; mkdir: {mkdir:?}",
                    size == total
                ));
                done.fetch_add(1, Ordering::SeqCst);
                0
            })
            .unwrap();
        }
        reap_all(sys);
        // Full: even root gets ENOSPC, and reading still works.
        let fd = sys.creat("/tmp/hog/root", 0o644).unwrap();
        log.say(format!("root's write on the full disk: {:?}", sys.write(fd, b"x")));
        sys.close(fd).unwrap();
        log.say(format!("motd still readable: {}", read_all(sys, "/etc/motd").is_ok()));
        // Empty it again, then fill the inode table with empty files instead.
        remove_all(sys, "/tmp/hog");
        let probe = sys.creat("/tmp/hog/probe", 0o644).unwrap();
        log.say(format!("after emptying, 1 MiB fits again: {:?}", sys.write(probe, &vec![7u8; 1 << 20])));
        sys.close(probe).unwrap();
        sys.unlink("/tmp/hog/probe").unwrap();
        let mut made = 0;
        let err = loop {
            match sys.open(&format!("/tmp/hog/e{made}"), O_CREAT | O_WRONLY, 0o644).and_then(|fd| sys.close(fd)) {
                Ok(()) => made += 1,
                Err(e) => break e,
            }
        };
        log.say(format!(
            "empty files until {err:?}: inode table nearly full: {}; mkdir: {:?}; a pipe, vfs's own: {:?}",
            made > NR_INODES - 40,
            sys.mkdir("/tmp/hog/dir", 0o755),
            sys.pipe().and_then(|(r, w)| sys.close(r).and_then(|()| sys.close(w)))
        ));
        remove_all(sys, "/tmp/hog");
        sys.rmdir("/tmp/hog").unwrap();
        log.say(format!("after emptying: {:?}", sys.mkdir("/tmp/again", 0o755).and_then(|()| sys.rmdir("/tmp/again"))));
    });
    let mut lines = lines;
    lines[..2].sort();
    assert_eq!(
        lines,
        [
            // The disk (4 MiB) fills before a file reaches the largest (64 MiB).
            "writer 0: ENOSPC in file 1; stat agrees with the bytes written: true; mkdir: Err(ENOSPC)",
            "writer 1: ENOSPC in file 1; stat agrees with the bytes written: true; mkdir: Err(ENOSPC)",
            "root's write on the full disk: Err(ENOSPC)",
            "motd still readable: true",
            "after emptying, 1 MiB fits again: Ok(1048576)",
            "empty files until ENOSPC: inode table nearly full: true; mkdir: Err(ENOSPC); a pipe, vfs's own: Ok(())",
            "after emptying: Ok(())",
        ]
    );
}

fn crate_frames() -> usize {
    testbed::run::DEFAULT_FRAMES
}

fn read_all(sys: &Sys<'_>, path: &str) -> Result<Vec<u8>, Errno> {
    let fd = sys.open(path, O_RDONLY, 0)?;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match sys.read(fd, &mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => {
                sys.close(fd)?;
                return Err(e);
            }
        }
    }
    sys.close(fd)?;
    Ok(out)
}

/// Unlinks every file in `dir` (and removes its empty subdirectories).
fn remove_all(sys: &Sys<'_>, dir: &str) {
    for e in sys.list_dir(dir).unwrap() {
        if e.name == "." || e.name == ".." {
            continue;
        }
        let path = format!("{dir}/{}", e.name);
        if sys.unlink(&path).is_err() {
            sys.rmdir(&path).unwrap();
        }
    }
}

#[test]
fn descriptors_run_out_per_process_and_in_the_system_and_come_back() {
    let lines = observe(crate_frames(), true, |sys, log| {
        // One process: OPEN_MAX descriptors, then EMFILE for open, dup and pipe.
        let l = log.clone();
        sys.fork(move |c| {
            drop_root(c);
            let mut fds = Vec::new();
            let err = loop {
                match c.open("/etc/motd", O_RDONLY, 0) {
                    Ok(fd) => fds.push(fd),
                    Err(e) => break e,
                }
            };
            let (dup, pipe) = (c.dup(0), c.pipe());
            c.close(fds[5]).unwrap();
            let reopen = c.open("/etc/motd", O_RDONLY, 0);
            l.say(format!(
                "one process: {} opens then {err:?}; dup {dup:?}; pipe {pipe:?}; after a close: {reopen:?}",
                fds.len()
            ));
            0
        })
        .unwrap();
        reap_all(sys);
        // Many processes: the system's open-file table fills first.
        let hogs = NR_FILPS / OPEN_MAX + 2;
        let (release, ready) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
        let opened = Arc::new(AtomicUsize::new(0));
        let errors: Arc<Mutex<Vec<Errno>>> = Arc::default();
        for _ in 0..hogs {
            let (release, ready, opened, errors) = (release.clone(), ready.clone(), opened.clone(), errors.clone());
            sys.fork(move |c| {
                drop_root(c);
                let err = loop {
                    match c.open("/etc/motd", O_RDONLY, 0) {
                        Ok(_) => opened.fetch_add(1, Ordering::SeqCst),
                        Err(e) => break e,
                    };
                    c.proc().yield_now();
                };
                errors.lock().unwrap().push(err);
                ready.fetch_add(1, Ordering::SeqCst);
                wait_for(c, &release);
                // Exit closes everything.
                0
            })
            .unwrap();
        }
        while ready.load(Ordering::SeqCst) < hogs {
            sys.proc().yield_now();
        }
        let errs = errors.lock().unwrap().clone();
        // Each hog stopped at the system's limit, or at its own if it got that far first.
        let limits = errs.contains(&Errno::ENFILE) && errs.iter().all(|e| matches!(e, Errno::ENFILE | Errno::EMFILE));
        log.say(format!(
            "{hogs} processes: {} opens of the system's {NR_FILPS}; stopped by ENFILE (or EMFILE): {limits}",
            opened.load(Ordering::SeqCst)
        ));
        log.say(format!(
            "init while the table is full: open {:?}, pipe {:?}, stat {:?}",
            sys.open("/etc/motd", O_RDONLY, 0),
            sys.pipe(),
            sys.stat("/etc/motd").map(|s| s.size > 0)
        ));
        release.store(true, Ordering::SeqCst);
        log.say(format!("reaped {}", reap_all(sys)));
        let fd = sys.open("/etc/motd", O_RDONLY, 0);
        log.say(format!("after they exit: open {fd:?}"));
        sys.close(fd.unwrap()).unwrap();
    });
    let hogs = NR_FILPS / OPEN_MAX + 2;
    assert_eq!(
        lines,
        [
            format!(
                "one process: {OPEN_MAX} opens then EMFILE; dup Err(EMFILE); pipe Err(EMFILE); after a close: Ok(5)"
            ),
            format!(
                "{hogs} processes: {NR_FILPS} opens of the system's {NR_FILPS}; stopped by ENFILE (or EMFILE): true"
            ),
            "init while the table is full: open Err(ENFILE), pipe Err(ENFILE), stat Ok(true)".into(),
            format!("reaped {hogs}"),
            "after they exit: open Ok(0)".into(),
        ]
    );
}

#[test]
fn the_process_table_is_as_big_as_the_manifest_says() {
    // 8 entries: init and 7 children fill it (root may take the last few), the next fork is
    // EAGAIN; once the children exit, forks succeed again and the checker is clean.
    let text = testbed::boot::DEFAULT_MANIFEST.replace("    param procs 10240;", "    param procs 8;");
    assert_ne!(text, testbed::boot::DEFAULT_MANIFEST, "pm's entry sets its table's size");
    let manifest = kernel_sim::Manifest::parse(&text, "small-pm.conf", &|_| None).expect("the manifest parses");
    testbed::boot::check_bootable(&manifest, "small-pm.conf").expect("bootable");
    let config = MachineConfig { manifest: Arc::new(manifest), check_invariants: true, ..MachineConfig::default() };
    let log = Log::default();
    let said = log.clone();
    let mut machine = boot(&config, move |sys| {
        let (r, w) = sys.pipe().unwrap();
        let mut kids = 0;
        let end = loop {
            let forked = sys.fork(move |c| {
                // Its copy of the write end closed, the read sees the end of the pipe when init's goes.
                c.close(w).unwrap();
                let mut byte = [0u8; 1];
                let _ = c.read(r, &mut byte);
                0
            });
            match forked {
                Ok(_) => kids += 1,
                Err(e) => break e,
            }
        };
        said.say(format!("{kids} children, then {end:?}"));
        sys.close(w).unwrap();
        for _ in 0..kids {
            sys.wait().unwrap();
        }
        said.say(format!("after they exit: {:?}", sys.fork(|_| 0).map(drop)));
        sys.wait().unwrap();
        0
    });
    assert_eq!(machine.run().end, RunEnd::Finished);
    assert_eq!(log.lines(), ["7 children, then EAGAIN", "after they exit: Ok(())"]);
    assert_eq!(checker::check(&mut Snapshot::take(&machine)), Vec::<checker::Violation>::new());
}

//! vfs end to end: file contents through write, lseek and read; descriptors shared after fork and
//! dup; pipes between processes, with suspended readers and writers revived (or cleaned up when
//! killed); link counts; directories and relative paths; exec of program files; every error path
//! a user can reach; a disk filled to ENOSPC; random garbage calls; fcntl's descriptor and status
//! flags (close-on-exec through exec, O_APPEND, O_NONBLOCK pipes), umask, pipe2, fchdir, getcwd,
//! poll (ready at once, woken by a write, timed out, hang-ups, killed while waiting); and the
//! consistency checker's vfs part — clean after every workload and catching deliberately broken
//! counts, flags and poll waits.
//!
//! Observations are logged from inside the simulated processes and compared at the end (a panic in
//! a simulated process would only end that process). Every server checks its own invariants after
//! every request.

use kernel_sim::memory::Access;
use kernel_sim::msgtype::VFS_BASE;
use kernel_sim::{Config, EngineKind, Message, RunEnd};
mod common;

use common::Log;
use os::errno::Errno;
use os::mfs::path::{Cred, walk};
use os::mfs::state::{Ino, MfsState, ROOT_INO};
use os::proto::PROGRAM_MAGIC;
use os::proto::pm::{ExecRequest, PM_EXEC, exit_status, sig, signal_status};
use os::proto::vfs::flags::*;
use os::proto::vfs::whence::*;
use os::proto::vfs::*;
use os::proto::vm::layout::SCRATCH;
use os::proto::{PATH_MAX, PM, VFS};
use os::vfs::MOTD;
use os::vfs::state::{FdSet, Filp, Fproc, MAX_FILE_SIZE, PIPE_BUF, PollWait, Vnode, VnodeKind};
use testbed::boot::{MachineConfig, boot};
use testbed::checker::{self, Snapshot, Violation};
use userland::libc::{DirEntry, Sys};

/// The inode `path` names on a stopped mfs, walked as root.
fn resolve(mfs: &mut MfsState, path: &[u8]) -> Ino {
    walk(mfs, Cred { uid: 0, gid: 0 }, ROOT_INO, ROOT_INO, path, true).unwrap().found.unwrap()
}

const ENGINES: [EngineKind; 2] = [EngineKind::Sim, EngineKind::Threads];

/// Yields that let every other ready process run until it blocks (under sim) before the caller
/// goes on.
const SETTLE_YIELDS: usize = 50;

fn config(engine: EngineKind) -> MachineConfig {
    MachineConfig {
        kernel: Config { engine, seed: 5, time_limit: 60_000_000, ..Config::default() },
        check_invariants: true,
        ..MachineConfig::default()
    }
}

/// Runs `init` on `engine`; returns what it logged, after checking that the run finished and the
/// checker finds nothing.
fn observe(engine: EngineKind, init: impl FnOnce(&Sys<'_>, &Log) + Send + 'static) -> Vec<String> {
    let log = Log::default();
    let l = log.clone();
    let mut m = boot(&config(engine), move |sys| {
        init(sys, &l);
        0
    });
    let end = m.run().end;
    let mut snap = Snapshot::take(&m);
    let violations = checker::check(&mut snap);
    assert_eq!(end, RunEnd::Finished, "{engine}: {:#?}", log.lines());
    assert!(violations.is_empty(), "{engine}: {violations:#?}");
    log.lines()
}

fn settle(sys: &Sys<'_>) {
    for _ in 0..SETTLE_YIELDS {
        sys.proc().yield_now();
    }
}

/// The whole rest of `fd`, read in small pieces.
fn slurp(sys: &Sys<'_>, fd: i32) -> Result<Vec<u8>, Errno> {
    let mut all = Vec::new();
    let mut buf = [0u8; 1500];
    loop {
        match sys.read(fd, &mut buf)? {
            0 => return Ok(all),
            n => all.extend_from_slice(&buf[..n]),
        }
    }
}

/// exec as the syscall library does it, but with grants revoked by hand: the library's grant
/// guards revoke in `drop`, which enters the kernel while a successful exec unwinds the old
/// program, and that aborts the whole test binary (`libc::GrantGuard` needs to skip the revoke
/// while unwinding, as `libc::fs`'s guard does). Returns only on failure.
fn exec(sys: &Sys<'_>, path: &str, argv: &[&str]) -> Errno {
    /// Where the argument vector is staged, after the path.
    const ARGV_AT: u64 = 1024;
    let p = sys.proc();
    let args: Vec<u8> = argv.iter().flat_map(|a| a.bytes().chain([0])).collect();
    p.mem_write(SCRATCH, path.as_bytes()).unwrap();
    p.mem_write(SCRATCH + ARGV_AT, &args).unwrap();
    let path_grant = p.grant(VFS, SCRATCH, path.len() as u64, Access::Read);
    let argv_grant = p.grant(PM, SCRATCH + ARGV_AT, args.len() as u64, Access::Read);
    let request = ExecRequest { path_grant, path_len: path.len() as u32, argv_grant, argv_len: args.len() as u32 };
    let answer = sys.call(PM, Message::with(PM_EXEC, &request));
    p.revoke(path_grant);
    p.revoke(argv_grant);
    answer.err().unwrap_or(Errno::EIO)
}

fn names(entries: &[DirEntry]) -> Vec<String> {
    entries.iter().map(|e| e.name.clone()).collect()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn file_contents_follow_write_lseek_and_read() {
    for engine in ENGINES {
        let lines = observe(engine, |sys, log| {
            let fd = sys.creat("/tmp/a", 0o644).unwrap();
            log.say(format!("creat: fd {fd}"));
            log.say(format!("write: {:?}", sys.write(fd, b"hello world")));
            log.say(format!("read a write-only fd: {:?}", sys.read(fd, &mut [0; 4])));
            sys.close(fd).unwrap();
            let fd = sys.open("/tmp/a", O_RDWR, 0).unwrap();
            let mut five = [0u8; 5];
            log.say(format!("read: {:?} {}", sys.read(fd, &mut five), text(&five)));
            log.say(format!("seek end-5: {:?}", sys.lseek(fd, -5, SEEK_END)));
            let mut ten = [0u8; 10];
            let n = sys.read(fd, &mut ten).unwrap();
            log.say(format!("short read at the end: {n} {}", text(&ten[..n])));
            log.say(format!("read at eof: {:?}", sys.read(fd, &mut ten)));
            sys.lseek(fd, 6, SEEK_SET).unwrap();
            sys.write(fd, b"WORLD").unwrap();
            log.say(format!("seek cur: {:?}", sys.lseek(fd, -11, SEEK_CUR)));
            log.say(format!("overwritten: {}", text(&slurp(sys, fd).unwrap())));
            // A write past the end leaves a hole of zeros.
            sys.lseek(fd, 20, SEEK_SET).unwrap();
            sys.write(fd, b"!").unwrap();
            sys.lseek(fd, 0, SEEK_SET).unwrap();
            log.say(format!("with a hole: {:?}", slurp(sys, fd).unwrap()));
            let st = sys.stat("/tmp/a").unwrap();
            log.say(format!(
                "stat: size {} kind {} nlink {} blocks {} mode {:o}",
                st.size, st.kind, st.nlink, st.blocks, st.mode
            ));
            sys.close(fd).unwrap();
            // O_APPEND writes at the end whatever the offset.
            let fd = sys.open("/tmp/a", O_WRONLY | O_APPEND, 0).unwrap();
            sys.lseek(fd, 0, SEEK_SET).unwrap();
            sys.write(fd, b"+").unwrap();
            log.say(format!("appended: size {}", sys.fstat(fd).unwrap().size));
            sys.close(fd).unwrap();
            // O_TRUNC empties it.
            let fd = sys.open("/tmp/a", O_RDWR | O_TRUNC, 0).unwrap();
            log.say(format!(
                "truncated: size {} blocks {}",
                sys.fstat(fd).unwrap().size,
                sys.fstat(fd).unwrap().blocks
            ));
            // Large transfers loop through the scratch buffer and span many blocks.
            let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
            log.say(format!("big write: {:?}", sys.write(fd, &big)));
            sys.lseek(fd, 0, SEEK_SET).unwrap();
            let mut back = vec![0u8; 120_000];
            let n = sys.read(fd, &mut back).unwrap();
            log.say(format!("big read: {n} same {}", back[..n] == big[..]));
            log.say(format!("big blocks: {}", sys.fstat(fd).unwrap().blocks));
            sys.close(fd).unwrap();
            sys.unlink("/tmp/a").unwrap();
        });
        assert_eq!(
            lines,
            [
                "creat: fd 0",
                "write: Ok(11)",
                "read a write-only fd: Err(EBADF)",
                "read: Ok(5) hello",
                "seek end-5: Ok(6)",
                "short read at the end: 5 world",
                "read at eof: Ok(0)",
                "seek cur: Ok(0)",
                "overwritten: hello WORLD",
                "with a hole: [104, 101, 108, 108, 111, 32, 87, 79, 82, 76, 68, 0, 0, 0, 0, 0, 0, 0, 0, 0, 33]",
                "stat: size 21 kind 1 nlink 1 blocks 1 mode 644",
                "appended: size 22",
                "truncated: size 0 blocks 0",
                "big write: Ok(100000)",
                "big read: 100000 same true",
                "big blocks: 98",
            ],
            "{engine}"
        );
    }
}

#[test]
fn descriptors_share_the_open_file_after_fork_and_dup() {
    for engine in ENGINES {
        let lines = observe(engine, |sys, log| {
            let fd = sys.creat("/tmp/shared", 0o644).unwrap();
            sys.write(fd, b"ab").unwrap();
            sys.fork(move |c| if c.write(fd, b"cd") == Ok(2) { 0 } else { 1 }).unwrap();
            log.say(format!("child: {}", sys.wait().unwrap().1 == exit_status(0)));
            // The child moved the shared offset: this lands after its bytes.
            sys.write(fd, b"ef").unwrap();
            let r = sys.open("/tmp/shared", O_RDONLY, 0).unwrap();
            log.say(format!("contents: {}", text(&slurp(sys, r).unwrap())));
            let d = sys.dup(r).unwrap();
            log.say(format!("dup: {d}"));
            sys.lseek(d, 2, SEEK_SET).unwrap();
            let mut two = [0u8; 2];
            sys.read(r, &mut two).unwrap();
            log.say(format!("offset shared by dup: {}", text(&two)));
            sys.close(r).unwrap();
            sys.read(d, &mut two).unwrap();
            log.say(format!("still open through the dup: {}", text(&two)));
            log.say(format!("dup2 onto itself: {:?}", sys.dup2(d, d)));
            log.say(format!("dup2 over an open fd: {:?}", sys.dup2(d, fd)));
            sys.lseek(fd, 0, SEEK_SET).unwrap();
            sys.read(fd, &mut two).unwrap();
            log.say(format!("fd {fd} now reads: {}", text(&two)));
            log.say(format!("same inode: {}", sys.fstat(fd).unwrap().ino == sys.stat("/tmp/shared").unwrap().ino));
            log.say(format!("dup2 out of range: {:?}", sys.dup2(d, OPEN_MAX as i32)));
            log.say(format!("dup of a closed fd: {:?}", sys.dup(17)));
            log.say(format!("lowest free: {:?}", sys.dup(d)));
        });
        assert_eq!(
            lines,
            [
                "child: true",
                "contents: abcdef",
                "dup: 2",
                "offset shared by dup: cd",
                "still open through the dup: ef",
                "dup2 onto itself: Ok(2)",
                "dup2 over an open fd: Ok(0)",
                "fd 0 now reads: ab",
                "same inode: true",
                "dup2 out of range: Err(EBADF)",
                "dup of a closed fd: Err(EBADF)",
                "lowest free: Ok(1)",
            ],
            "{engine}"
        );
    }
}

#[test]
fn a_pipe_carries_a_childs_output_to_its_parent_until_eof() {
    for engine in ENGINES {
        let lines = observe(engine, |sys, log| {
            let (r, w) = sys.pipe().unwrap();
            log.say(format!("pipe: {r} {w}"));
            let data: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 256) as u8).collect();
            let sent = data.clone();
            sys.fork(move |c| {
                c.close(r).unwrap();
                // Writes of at most PIPE_BUF bytes are atomic: each waits for room.
                for chunk in sent.chunks(3000) {
                    if c.write(w, chunk) != Ok(chunk.len()) {
                        return 1;
                    }
                }
                0
            })
            .unwrap();
            sys.close(w).unwrap();
            let got = slurp(sys, r).unwrap();
            log.say(format!("read {} bytes, same {}", got.len(), got == data));
            log.say(format!("child: {}", sys.wait().unwrap().1 == exit_status(0)));
            log.say(format!("after eof: {:?}", sys.read(r, &mut [0; 8])));
            log.say(format!("fstat: kind {} size {}", sys.fstat(r).unwrap().kind, sys.fstat(r).unwrap().size));
            log.say(format!("lseek: {:?}", sys.lseek(r, 0, SEEK_SET)));
        });
        assert_eq!(
            lines,
            [
                "pipe: 0 1",
                "read 20000 bytes, same true",
                "child: true",
                "after eof: Ok(0)",
                "fstat: kind 3 size 0",
                "lseek: Err(ESPIPE)"
            ],
            "{engine}"
        );
    }
}

#[test]
fn a_reader_suspended_on_an_empty_pipe_is_revived_by_a_write_then_by_eof() {
    for engine in ENGINES {
        let lines = observe(engine, |sys, log| {
            let (r, w) = sys.pipe().unwrap();
            let l = log.clone();
            let child = sys
                .fork(move |c| {
                    c.close(w).unwrap();
                    let mut buf = [0u8; 16];
                    let n = c.read(r, &mut buf).unwrap();
                    l.say(format!("child woke with {n}: {}", text(&buf[..n])));
                    l.say(format!("child then: {:?}", c.read(r, &mut buf)));
                    0
                })
                .unwrap();
            settle(sys);
            log.say(format!("child still blocked: {:?}", sys.waitpid(child, os::proto::pm::WNOHANG).map(|r| r.0)));
            sys.write(w, b"wake up").unwrap();
            settle(sys);
            // Closing the last write end wakes the reader with end of file.
            sys.close(w).unwrap();
            log.say(format!("child: {}", sys.wait().unwrap().1 == exit_status(0)));
        });
        assert_eq!(
            lines,
            ["child still blocked: Ok(0)", "child woke with 7: wake up", "child then: Ok(0)", "child: true"],
            "{engine}"
        );
    }
}

#[test]
fn a_writer_suspended_on_a_full_pipe_finishes_as_the_reader_drains_it() {
    for engine in ENGINES {
        let lines = observe(engine, |sys, log| {
            let (r, w) = sys.pipe().unwrap();
            let len = 3 * PIPE_BUF + 100;
            let child = sys
                .fork(move |c| {
                    c.close(r).unwrap();
                    if c.write(w, &vec![b'x'; len]) == Ok(len) { 0 } else { 1 }
                })
                .unwrap();
            sys.close(w).unwrap();
            while sys.fstat(r).unwrap().size < PIPE_BUF as u64 {
                sys.proc().yield_now();
            }
            log.say(format!("writer still blocked: {:?}", sys.waitpid(child, os::proto::pm::WNOHANG).map(|r| r.0)));
            log.say(format!("buffered: {}", sys.fstat(r).unwrap().size));
            let got = slurp(sys, r).unwrap();
            log.say(format!("read {} of {len}", got.len()));
            log.say(format!("writer: {}", sys.wait().unwrap().1 == exit_status(0)));
        });
        assert_eq!(
            lines,
            [
                "writer still blocked: Ok(0)".to_string(),
                format!("buffered: {PIPE_BUF}"),
                format!("read {0} of {0}", 3 * PIPE_BUF + 100),
                "writer: true".to_string()
            ],
            "{engine}"
        );
    }
}

#[test]
fn processes_killed_while_suspended_are_cleaned_up() {
    for engine in ENGINES {
        let lines = observe(engine, |sys, log| {
            // The reader holds the write end too: nothing but a kill ends its wait.
            let (r1, _w1) = sys.pipe().unwrap();
            let reader = sys.fork(move |c| c.read(r1, &mut [0; 1]).map_or(2, |_| 1)).unwrap();
            // The writer's write cannot fit while the pipe is full.
            let (r2, w2) = sys.pipe().unwrap();
            sys.write(w2, &vec![1u8; PIPE_BUF]).unwrap();
            let writer = sys.fork(move |c| c.write(w2, b"more").map_or(2, |_| 1)).unwrap();
            settle(sys);
            for (name, pid) in [("reader", reader), ("writer", writer)] {
                sys.kill(pid, sig::SIGKILL).unwrap();
                let (_, status) = sys.waitpid(pid, 0).unwrap();
                log.say(format!("{name} killed: {}", status == signal_status(sig::SIGKILL)));
            }
            sys.close(r2).unwrap();
            log.say(format!("write with no reader left: {:?}", sys.write(w2, b"x")));
        });
        assert_eq!(
            lines,
            ["reader killed: true", "writer killed: true", "write with no reader left: Err(EPIPE)"],
            "{engine}"
        );
    }
}

#[test]
fn link_counts_follow_link_unlink_rename_mkdir_and_rmdir() {
    let lines = observe(EngineKind::Sim, |sys, log| {
        let fd = sys.creat("/tmp/f", 0o644).unwrap();
        sys.write(fd, b"data").unwrap();
        sys.close(fd).unwrap();
        log.say(format!("f: nlink {}", sys.stat("/tmp/f").unwrap().nlink));
        sys.link("/tmp/f", "/tmp/g").unwrap();
        let (f, g) = (sys.stat("/tmp/f").unwrap(), sys.stat("/tmp/g").unwrap());
        log.say(format!("linked: nlink {} same inode {}", g.nlink, f.ino == g.ino));
        log.say(format!("link again: {:?}", sys.link("/tmp/f", "/tmp/g")));
        sys.unlink("/tmp/f").unwrap();
        log.say(format!("unlinked f: g nlink {}, f {:?}", sys.stat("/tmp/g").unwrap().nlink, sys.stat("/tmp/f").err()));
        // The last name goes while the file is open: it lives on until closed.
        let fd = sys.open("/tmp/g", O_RDONLY, 0).unwrap();
        sys.unlink("/tmp/g").unwrap();
        log.say(format!("open but nameless: nlink {}, g {:?}", sys.fstat(fd).unwrap().nlink, sys.stat("/tmp/g").err()));
        log.say(format!("still readable: {}", text(&slurp(sys, fd).unwrap())));
        sys.close(fd).unwrap();
        // Directories: an entry in the parent, their own ".", and each child's "..".
        let tmp = sys.stat("/tmp").unwrap().nlink;
        sys.mkdir("/tmp/d", 0o755).unwrap();
        log.say(format!(
            "mkdir: d nlink {}, /tmp +{}",
            sys.stat("/tmp/d").unwrap().nlink,
            sys.stat("/tmp").unwrap().nlink - tmp
        ));
        sys.mkdir("/tmp/d/e", 0o755).unwrap();
        log.say(format!("subdir: d nlink {}", sys.stat("/tmp/d").unwrap().nlink));
        sys.rmdir("/tmp/d/e").unwrap();
        log.say(format!("rmdir: d nlink {}", sys.stat("/tmp/d").unwrap().nlink));
        log.say(format!("link a directory: {:?}", sys.link("/tmp/d", "/tmp/d2")));
        // rename moves names, replacing files by files and empty directories by directories.
        let fd = sys.creat("/tmp/d/x", 0o644).unwrap();
        sys.write(fd, b"X").unwrap();
        sys.close(fd).unwrap();
        sys.rename("/tmp/d/x", "/tmp/y").unwrap();
        let fd = sys.open("/tmp/y", O_RDONLY, 0).unwrap();
        log.say(format!("moved: {} old {:?}", text(&slurp(sys, fd).unwrap()), sys.stat("/tmp/d/x").err()));
        sys.close(fd).unwrap();
        sys.close(sys.creat("/tmp/z", 0o644).unwrap()).unwrap();
        sys.rename("/tmp/y", "/tmp/z").unwrap();
        log.say(format!(
            "replaced: z size {} nlink {}, y {:?}",
            sys.stat("/tmp/z").unwrap().size,
            sys.stat("/tmp/z").unwrap().nlink,
            sys.stat("/tmp/y").err()
        ));
        sys.mkdir("/tmp/d/sub", 0o755).unwrap();
        let before = sys.stat("/tmp").unwrap().nlink;
        sys.rename("/tmp/d/sub", "/tmp/moved").unwrap();
        log.say(format!(
            "dir moved: d nlink {}, /tmp +{}, .. is /tmp {}",
            sys.stat("/tmp/d").unwrap().nlink,
            sys.stat("/tmp").unwrap().nlink - before,
            sys.stat("/tmp/moved/..").unwrap().ino == sys.stat("/tmp").unwrap().ino
        ));
        log.say(format!("into itself: {:?}", sys.rename("/tmp/moved", "/tmp/moved/inner")));
        log.say(format!("dir over file: {:?}", sys.rename("/tmp/d", "/tmp/z")));
        log.say(format!("file over dir: {:?}", sys.rename("/tmp/z", "/tmp/d")));
        sys.mkdir("/tmp/d/q", 0o755).unwrap();
        log.say(format!("over a full dir: {:?}", sys.rename("/tmp/moved", "/tmp/d")));
        sys.rmdir("/tmp/d/q").unwrap();
        log.say(format!("over an empty dir: {:?}", sys.rename("/tmp/moved", "/tmp/d")));
        log.say(format!("dot: {:?}", sys.rename("/tmp/d/.", "/tmp/e")));
        log.say(format!("onto itself: {:?}", sys.rename("/tmp/z", "/tmp/z")));
        sys.unlink("/tmp/z").unwrap();
        sys.rmdir("/tmp/d").unwrap();
        log.say(format!("/tmp back to {}", sys.stat("/tmp").unwrap().nlink == tmp));
    });
    assert_eq!(
        lines,
        [
            "f: nlink 1",
            "linked: nlink 2 same inode true",
            "link again: Err(EEXIST)",
            "unlinked f: g nlink 1, f Some(ENOENT)",
            "open but nameless: nlink 0, g Some(ENOENT)",
            "still readable: data",
            "mkdir: d nlink 2, /tmp +1",
            "subdir: d nlink 3",
            "rmdir: d nlink 2",
            "link a directory: Err(EPERM)",
            "moved: X old Some(ENOENT)",
            "replaced: z size 1 nlink 1, y Some(ENOENT)",
            "dir moved: d nlink 2, /tmp +1, .. is /tmp true",
            "into itself: Err(EINVAL)",
            "dir over file: Err(ENOTDIR)",
            "file over dir: Err(EISDIR)",
            "over a full dir: Err(ENOTEMPTY)",
            "over an empty dir: Ok(())",
            "dot: Err(EINVAL)",
            "onto itself: Ok(())",
            "/tmp back to true",
        ]
    );
}

#[test]
fn directories_are_made_listed_and_removed_through_relative_paths() {
    for engine in ENGINES {
        let lines = observe(engine, |sys, log| {
            sys.mkdir("/tmp/w", 0o755).unwrap();
            sys.chdir("/tmp/w").unwrap();
            sys.mkdir("sub", 0o755).unwrap();
            sys.close(sys.creat("sub/x", 0o644).unwrap()).unwrap();
            log.say(format!("ls .: {:?}", names(&sys.list_dir(".").unwrap())));
            sys.chdir("sub").unwrap();
            log.say(format!("../sub/x kind {}", sys.stat("../sub/x").unwrap().kind));
            log.say(format!(". is sub: {}", sys.stat(".").unwrap().ino == sys.stat("/tmp/w/sub").unwrap().ino));
            log.say(format!(
                "slashes: {}",
                sys.stat("//tmp///w/./sub/../sub/x").unwrap().ino == sys.stat("x").unwrap().ino
            ));
            sys.chdir("..").unwrap();
            log.say(format!("rmdir full: {:?}", sys.rmdir("sub")));
            sys.unlink("sub/x").unwrap();
            log.say(format!("rmdir empty: {:?}", sys.rmdir("sub/")));
            log.say(format!("ls . again: {:?}", names(&sys.list_dir(".").unwrap())));
            log.say(format!("rmdir the cwd: {:?}", sys.rmdir("/tmp/w")));
            sys.chdir("/").unwrap();
            log.say(format!("rmdir relative to /: {:?}", sys.rmdir("tmp/w")));
            let bin = names(&sys.list_dir("/bin").unwrap());
            // The boot image's programs, in the kernel's (name) order.
            let mut programs: Vec<&str> = userland::programs::registry().iter().map(|(name, _)| *name).collect();
            programs.sort_unstable();
            log.say(format!("/bin: dots {:?}, then every program {}", &bin[..2], bin[2..] == programs[..]));
            let root = sys.list_dir("/").unwrap();
            log.say(format!("/: {:?}", names(&root)));
            log.say(format!("/ .. is /: {}", root[0].ino == root[1].ino));
            // getdents resumes where it stopped, whatever the buffer holds.
            sys.mkdir("/tmp/many", 0o755).unwrap();
            for i in 0..40 {
                sys.close(sys.creat(&format!("/tmp/many/file{i:02}"), 0o644).unwrap()).unwrap();
            }
            let fd = sys.open("/tmp/many", O_RDONLY | O_DIRECTORY, 0).unwrap();
            let addr = SCRATCH + 16_384;
            let mut seen = Vec::new();
            let mut calls = 0;
            loop {
                let n = sys.getdents_at(fd, addr, 64).unwrap();
                if n == 0 {
                    break;
                }
                calls += 1;
                let mut raw = vec![0u8; n];
                sys.proc().mem_read(addr, &mut raw).unwrap();
                seen.extend(names(&DirEntry::decode_all(&raw)));
            }
            log.say(format!(
                "small buffers: {} entries in {calls} calls, in order {}",
                seen.len(),
                seen[2..].windows(2).all(|w| w[0] < w[1])
            ));
            sys.lseek(fd, 0, SEEK_SET).unwrap();
            log.say(format!("too small for one record: {:?}", sys.getdents_at(fd, addr, 3)));
            log.say(format!("getdents on a file: {:?}", sys.getdents(sys.open("/etc/motd", O_RDONLY, 0).unwrap())));
            for i in 0..40 {
                sys.unlink(&format!("/tmp/many/file{i:02}")).unwrap();
            }
            sys.rmdir("/tmp/many").unwrap();
        });
        assert_eq!(
            lines,
            [
                r#"ls .: [".", "..", "sub"]"#,
                "../sub/x kind 1",
                ". is sub: true",
                "slashes: true",
                "rmdir full: Err(ENOTEMPTY)",
                "rmdir empty: Ok(())",
                r#"ls . again: [".", ".."]"#,
                "rmdir the cwd: Err(EBUSY)",
                "rmdir relative to /: Ok(())",
                r#"/bin: dots [".", ".."], then every program true"#,
                r#"/: [".", "..", "bin", "tmp", "etc", "dev"]"#,
                "/ .. is /: true",
                "small buffers: 42 entries in 9 calls, in order true",
                "too small for one record: Err(EINVAL)",
                "getdents on a file: Err(ENOTDIR)",
            ],
            "{engine}"
        );
    }
}

#[test]
fn every_bad_argument_gets_its_errno() {
    let lines = observe(EngineKind::Sim, |sys, log| {
        let say = |what: &str, r: Result<String, Errno>| {
            log.say(format!("{what}: {}", r.unwrap_or_else(|e| e.name().to_string())))
        };
        let ok = |r: Result<i32, Errno>| r.map(|v| v.to_string());
        let unit = |r: Result<(), Errno>| r.map(|()| "ok".to_string());
        let motd = sys.open("/etc/motd", O_RDONLY, 0).unwrap();
        // EBADF
        say("read fd 99", sys.read(99, &mut [0; 4]).map(|n| n.to_string()));
        say("close -1", unit(sys.close(-1)));
        say("write a read-only fd", sys.write(motd, b"x").map(|n| n.to_string()));
        say("fstat a closed fd", sys.fstat(7).map(|s| s.ino.to_string()));
        // ENOENT
        say("open missing", ok(sys.open("/etc/nope", O_RDONLY, 0)));
        say("create in a missing dir", ok(sys.open("/nope/x", O_CREAT | O_WRONLY, 0o644)));
        say("unlink missing", unit(sys.unlink("/tmp/nope")));
        // EEXIST
        say("O_EXCL on existing", ok(sys.open("/etc/motd", O_CREAT | O_EXCL | O_WRONLY, 0o644)));
        say("mkdir existing", unit(sys.mkdir("/tmp", 0o755)));
        say("mkdir /", unit(sys.mkdir("/", 0o755)));
        // ENOTDIR
        say("through a file", ok(sys.open("/etc/motd/x", O_RDONLY, 0)));
        say("mkdir under a file", unit(sys.mkdir("/etc/motd/d", 0o755)));
        say("chdir to a file", unit(sys.chdir("/etc/motd")));
        say("O_DIRECTORY on a file", ok(sys.open("/etc/motd", O_RDONLY | O_DIRECTORY, 0)));
        say("rmdir a file", unit(sys.rmdir("/etc/motd")));
        say("trailing slash on a file", sys.stat("/etc/motd/").map(|s| s.ino.to_string()));
        // EISDIR
        say("unlink a dir", unit(sys.unlink("/tmp")));
        say("open a dir for writing", ok(sys.open("/tmp", O_WRONLY, 0)));
        let dir = sys.open("/tmp", O_RDONLY, 0).unwrap();
        say("read a dir", sys.read(dir, &mut [0; 4]).map(|n| n.to_string()));
        // ENOTEMPTY, EBUSY
        say("rmdir non-empty", unit(sys.rmdir("/etc")));
        say("rmdir /", unit(sys.rmdir("/")));
        // EINVAL
        say("empty path", ok(sys.open("", O_RDONLY, 0)));
        say("NUL in a name", ok(sys.open("/etc/mo\0td", O_RDONLY, 0)));
        say("access mode 3", ok(sys.open("/etc/motd", O_ACCMODE, 0)));
        say("seek before 0", sys.lseek(motd, -1, SEEK_SET).map(|o| o.to_string()));
        say("bad whence", sys.lseek(motd, 0, 7).map(|o| o.to_string()));
        say("rmdir .", unit(sys.rmdir("/tmp/.")));
        // ENAMETOOLONG
        say("long name", ok(sys.open(&format!("/tmp/{}", "n".repeat(NAME_MAX + 1)), O_CREAT | O_WRONLY, 0o644)));
        say("long path", unit(sys.mkdir(&"/".repeat(PATH_MAX + 1), 0o755)));
        say("longest name", ok(sys.open(&format!("/tmp/{}", "n".repeat(NAME_MAX)), O_CREAT | O_WRONLY, 0o644)));
        sys.unlink(&format!("/tmp/{}", "n".repeat(NAME_MAX))).unwrap();
        // EPIPE, ESPIPE
        let (r, w) = sys.pipe().unwrap();
        say("seek a pipe", sys.lseek(w, 0, SEEK_SET).map(|o| o.to_string()));
        sys.close(r).unwrap();
        say("write without readers", sys.write(w, b"x").map(|n| n.to_string()));
        // EFAULT: buffers outside the address space; EPERM: a grant that is not one.
        say("read into unmapped memory", sys.read_at(motd, 0x10, 16).map(|n| n.to_string()));
        let tmpf = sys.creat("/tmp/f", 0o644).unwrap();
        say("write from unmapped memory", sys.write_at(tmpf, 0x7000_0000, 16).map(|n| n.to_string()));
        say("file unchanged", sys.fstat(tmpf).map(|s| s.size.to_string()));
        let bogus = PathRequest { grant: 999, len: 4, flags: O_RDONLY, mode: 0 };
        say("bad grant", sys.call(VFS, Message::with(VFS_OPEN, &bogus)).map(|m| m.m_type.to_string()));
        // ENOSYS
        say("unknown call", sys.call(VFS, Message::new(VFS_BASE + 0x7F)).map(|m| m.m_type.to_string()));
        // EPERM
        say("link a directory", unit(sys.link("/etc", "/tmp/etc2")));
        // EMFILE: the 32nd descriptor is the last.
        let mut opened = 0;
        let emfile = loop {
            match sys.open("/etc/motd", O_RDONLY, 0) {
                Ok(_) => opened += 1,
                Err(e) => break e,
            }
        };
        say("open until full", Ok(format!("{opened} more, then {}", emfile.name())));
        say("dup when full", ok(sys.dup(motd)));
        say("pipe when full", sys.pipe().map(|p| format!("{p:?}")));
    });
    let expected = [
        "read fd 99: EBADF",
        "close -1: EBADF",
        "write a read-only fd: EBADF",
        "fstat a closed fd: EBADF",
        "open missing: ENOENT",
        "create in a missing dir: ENOENT",
        "unlink missing: ENOENT",
        "O_EXCL on existing: EEXIST",
        "mkdir existing: EEXIST",
        "mkdir /: EEXIST",
        "through a file: ENOTDIR",
        "mkdir under a file: ENOTDIR",
        "chdir to a file: ENOTDIR",
        "O_DIRECTORY on a file: ENOTDIR",
        "rmdir a file: ENOTDIR",
        "trailing slash on a file: ENOTDIR",
        "unlink a dir: EISDIR",
        "open a dir for writing: EISDIR",
        "read a dir: EISDIR",
        "rmdir non-empty: ENOTEMPTY",
        "rmdir /: EBUSY",
        "empty path: EINVAL",
        "NUL in a name: EINVAL",
        "access mode 3: EINVAL",
        "seek before 0: EINVAL",
        "bad whence: EINVAL",
        "rmdir .: EINVAL",
        "long name: ENAMETOOLONG",
        "long path: ENAMETOOLONG",
        "longest name: 2",
        "seek a pipe: ESPIPE",
        "write without readers: EPIPE",
        "read into unmapped memory: EFAULT",
        "write from unmapped memory: EFAULT",
        "file unchanged: 0",
        "bad grant: EPERM",
        "unknown call: ENOSYS",
        "link a directory: EPERM",
        &format!("open until full: {} more, then EMFILE", OPEN_MAX - 5),
        "dup when full: EMFILE",
        "pipe when full: EMFILE",
    ];
    assert_eq!(lines, expected);
}

#[test]
fn permissions_bind_a_user_after_setuid() {
    let lines = observe(EngineKind::Sim, |sys, log| {
        sys.mkdir("/tmp/private", 0o700).unwrap();
        sys.close(sys.creat("/tmp/rootfile", 0o666).unwrap()).unwrap();
        sys.close(sys.creat("/tmp/ro", 0o444).unwrap()).unwrap();
        let l = log.clone();
        sys.fork(move |c| {
            let say = |what: &str, r: Result<String, Errno>| {
                l.say(format!("{what}: {}", r.unwrap_or_else(|e| e.name().to_string())))
            };
            let unit = |r: Result<(), Errno>| r.map(|()| "ok".to_string());
            let fd = |r: Result<i32, Errno>| r.map(|_| "ok".to_string());
            say("setuid 100", unit(c.setuid(100)));
            say("write /etc/motd", fd(c.open("/etc/motd", O_WRONLY, 0)));
            say("read /etc/motd", fd(c.open("/etc/motd", O_RDONLY, 0)));
            say("create in /etc", fd(c.creat("/etc/new", 0o644)));
            say("mkdir in /bin", unit(c.mkdir("/bin/x", 0o755)));
            say("chdir into 0700", unit(c.chdir("/tmp/private")));
            say("search 0700", c.stat("/tmp/private/x").map(|s| s.ino.to_string()));
            say("write 0444", fd(c.open("/tmp/ro", O_RDWR, 0)));
            say("truncate 0444", fd(c.open("/tmp/ro", O_RDONLY | O_TRUNC, 0)));
            say("unlink root's file in sticky /tmp", unit(c.unlink("/tmp/rootfile")));
            say("rename root's file in sticky /tmp", unit(c.rename("/tmp/rootfile", "/tmp/mine2")));
            say("write root's 0666 file", fd(c.open("/tmp/rootfile", O_WRONLY, 0)));
            say("create in /tmp", fd(c.creat("/tmp/mine", 0o600)));
            say("own file's uid", c.stat("/tmp/mine").map(|s| s.uid.to_string()));
            say("unlink own file", unit(c.unlink("/tmp/mine")));
            say("exec a 0644 file", Err(c.exec("/etc/motd", &["motd"])));
            0
        })
        .unwrap();
        log.say(format!("child: {}", sys.wait().unwrap().1 == exit_status(0)));
        // Root passes every check but executing what nobody may execute.
        log.say(format!("root writes 0444: {:?}", sys.open("/tmp/ro", O_RDWR, 0).map(drop)));
        log.say(format!("root execs 0644: {:?}", sys.exec("/etc/motd", &["motd"])));
    });
    assert_eq!(
        lines,
        [
            "setuid 100: ok",
            "write /etc/motd: EACCES",
            "read /etc/motd: ok",
            "create in /etc: EACCES",
            "mkdir in /bin: EACCES",
            "chdir into 0700: EACCES",
            "search 0700: EACCES",
            "write 0444: EACCES",
            "truncate 0444: EACCES",
            "unlink root's file in sticky /tmp: EPERM",
            "rename root's file in sticky /tmp: EPERM",
            "write root's 0666 file: ok",
            "create in /tmp: ok",
            "own file's uid: 100",
            "unlink own file: ok",
            "exec a 0644 file: EACCES",
            "child: true",
            "root writes 0444: Ok(())",
            "root execs 0644: EACCES",
        ]
    );
}

#[test]
fn filling_the_disk_gives_enospc_and_freeing_it_gives_room_back() {
    let lines = observe(EngineKind::Sim, |sys, log| {
        let chunk = vec![0xABu8; 64 * 1024];
        let mut files = Vec::new();
        let mut total = 0usize;
        'disk: loop {
            let path = format!("/tmp/fill{}", files.len());
            let fd = sys.creat(&path, 0o644).unwrap();
            files.push(path);
            loop {
                match sys.write(fd, &chunk) {
                    Ok(n) if n == chunk.len() => total += n,
                    Ok(n) => {
                        total += n;
                        if sys.fstat(fd).unwrap().size < MAX_FILE_SIZE {
                            sys.close(fd).unwrap();
                            break 'disk;
                        }
                    }
                    Err(Errno::EFBIG) => break,
                    Err(e) => {
                        log.say(format!("unexpected {e}"));
                        break 'disk;
                    }
                }
            }
            sys.close(fd).unwrap();
        }
        log.say(format!("filled: {} files, {} whole MiB", files.len(), total >> 20));
        let fd = sys.open(&files[files.len() - 1], O_WRONLY | O_APPEND, 0).unwrap();
        log.say(format!("one more byte: {:?}", sys.write(fd, b"x")));
        sys.close(fd).unwrap();
        log.say(format!("mkdir: {:?}", sys.mkdir("/tmp/dir", 0o755)));
        let empty = sys.creat("/tmp/empty", 0o644).unwrap();
        log.say(format!("an empty file still fits: {:?}", sys.write(empty, b"")));
        log.say(format!("its first byte does not: {:?}", sys.write(empty, b"y")));
        sys.lseek(empty, MAX_FILE_SIZE as i64, SEEK_SET).unwrap();
        log.say(format!("past the largest file: {:?}", sys.write(empty, b"y")));
        sys.close(empty).unwrap();
        for f in &files {
            sys.unlink(f).unwrap();
        }
        let fd = sys.open("/tmp/empty", O_WRONLY, 0).unwrap();
        log.say(format!("after freeing: {:?}", sys.write(fd, &chunk)));
        sys.close(fd).unwrap();
        sys.unlink("/tmp/empty").unwrap();
    });
    assert_eq!(
        lines,
        [
            // One file: the disk (4 MiB) is smaller than the largest file (64 MiB).
            "filled: 1 files, 3 whole MiB",
            "one more byte: Err(ENOSPC)",
            "mkdir: Err(ENOSPC)",
            "an empty file still fits: Ok(0)",
            "its first byte does not: Err(ENOSPC)",
            "past the largest file: Err(EFBIG)",
            "after freeing: Ok(65536)",
        ]
    );
}

#[test]
fn enfile_when_the_open_file_table_is_full() {
    let lines = observe(EngineKind::Sim, |sys, log| {
        let (ready_r, ready_w) = sys.pipe().unwrap();
        let (go_r, go_w) = sys.pipe().unwrap();
        let mut children = 0;
        let full = loop {
            sys.fork(move |c| {
                c.close(go_w).unwrap();
                // Open until this process or the system runs out; tell init which.
                let why = loop {
                    if let Err(e) = c.open("/etc/motd", O_RDONLY, 0) {
                        break e;
                    }
                };
                c.write(ready_w, &[u8::from(why == Errno::ENFILE)]).unwrap();
                // Wait for init's word (end of file) before exiting.
                c.read(go_r, &mut [0]).unwrap();
                0
            })
            .unwrap();
            children += 1;
            let mut why = [0u8];
            sys.read(ready_r, &mut why).unwrap();
            if why[0] == 1 {
                break children;
            }
        };
        // Each child stops at its own limit, OPEN_MAX, until the system's table runs out.
        log.say(format!("full after {} children", full > NR_FILPS / OPEN_MAX));
        log.say(format!("open: {:?}", sys.open("/etc/motd", O_RDONLY, 0)));
        log.say(format!("pipe: {:?}", sys.pipe()));
        log.say(format!("dup still works: {:?}", sys.dup(ready_r).is_ok()));
        sys.close(go_w).unwrap();
        let mut ok = 0;
        for _ in 0..full {
            ok += usize::from(sys.wait().unwrap().1 == exit_status(0));
        }
        log.say(format!("children done: {}", ok == full));
        log.say(format!("open again: {:?}", sys.open("/etc/motd", O_RDONLY, 0).is_ok()));
    });
    assert_eq!(
        lines,
        [
            "full after true children",
            "open: Err(ENFILE)",
            "pipe: Err(ENFILE)",
            "dup still works: true",
            "children done: true",
            "open again: true"
        ]
    );
}

#[test]
fn exec_loads_programs_from_files() {
    for engine in ENGINES {
        let lines = observe(engine, |sys, log| {
            let run = |path: &'static str, argv: &'static [&'static str]| {
                sys.fork(move |c| 100 + exec(c, path, argv).code()).unwrap();
                sys.wait().unwrap().1
            };
            log.say(format!("true: {}", run("/bin/true", &["true"]) == exit_status(0)));
            log.say(format!("false: {}", run("/bin/false", &["false"]) == exit_status(1)));
            log.say(format!("exit_with 7: {}", run("/bin/exit_with", &["exit_with", "7"]) == exit_status(7)));
            log.say(format!("relative: {}", {
                sys.chdir("/bin").unwrap();
                let s = run("true", &["true"]);
                sys.chdir("/").unwrap();
                s == exit_status(0)
            }));
            // exec reads the file: a copy made here names the same program.
            let fd = sys.creat("/tmp/mytrue", 0o755).unwrap();
            sys.write(fd, &[PROGRAM_MAGIC, b"true\n"].concat()).unwrap();
            sys.close(fd).unwrap();
            log.say(format!("a copied program: {}", run("/tmp/mytrue", &["mytrue"]) == exit_status(0)));
            // Descriptors survive exec: echo writes to the file left at fd 1.
            let out = sys.creat("/tmp/out", 0o644).unwrap();
            sys.fork(move |c| {
                c.dup2(out, 1).unwrap();
                100 + exec(c, "/bin/echo", &["echo", "hello", "world"]).code()
            })
            .unwrap();
            log.say(format!("echo: {}", sys.wait().unwrap().1 == exit_status(0)));
            let fd = sys.open("/tmp/out", O_RDONLY, 0).unwrap();
            log.say(format!("echo wrote: {:?}", text(&slurp(sys, fd).unwrap())));
            // cat into a pipe.
            let (r, w) = sys.pipe().unwrap();
            sys.fork(move |c| {
                c.dup2(w, 1).unwrap();
                c.close(w).unwrap();
                c.close(r).unwrap();
                100 + exec(c, "/bin/cat", &["cat", "/etc/motd"]).code()
            })
            .unwrap();
            sys.close(w).unwrap();
            log.say(format!("cat through a pipe: {}", slurp(sys, r).unwrap() == MOTD));
            log.say(format!("cat: {}", sys.wait().unwrap().1 == exit_status(0)));
            // Failures return to the caller, whose image is intact.
            log.say(format!("missing: {}", sys.exec("/bin/nope", &["nope"])));
            log.say(format!("not executable: {}", sys.exec("/etc/motd", &["motd"])));
            log.say(format!("a directory: {}", sys.exec("/bin", &["bin"])));
            let fd = sys.creat("/tmp/script", 0o755).unwrap();
            sys.write(fd, b"#!/bin/sh\necho hi\n").unwrap();
            sys.close(fd).unwrap();
            log.say(format!("not a program: {}", sys.exec("/tmp/script", &["script"])));
            let fd = sys.creat("/tmp/ghost", 0o755).unwrap();
            sys.write(fd, &[PROGRAM_MAGIC, b"no_such_program\n"].concat()).unwrap();
            sys.close(fd).unwrap();
            log.say(format!("an unknown program: {}", sys.exec("/tmp/ghost", &["ghost"])));
            log.say(format!("still here: {}", sys.getpid().unwrap()));
        });
        assert_eq!(
            lines,
            [
                "true: true",
                "false: true",
                "exit_with 7: true",
                "relative: true",
                "a copied program: true",
                "echo: true",
                r#"echo wrote: "hello world\n""#,
                "cat through a pipe: true",
                "cat: true",
                "missing: ENOENT (No such file or directory)",
                "not executable: EACCES (Permission denied)",
                "a directory: EACCES (Permission denied)",
                "not a program: ENOEXEC (Exec format error)",
                "an unknown program: ENOEXEC (Exec format error)",
                "still here: 1",
            ],
            "{engine}"
        );
    }
}

/// A deterministic generator for the garbage test (xorshift64*).
struct Garbage(u64);

impl Garbage {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[test]
fn random_garbage_calls_get_answers_and_leave_vfs_consistent() {
    /// Calls sent; enough to hit every handler with many shapes of nonsense.
    const CALLS: usize = 3000;
    /// Bytes of the region the granted "paths" and buffers come from.
    const REGION: u64 = 4096;
    let lines = observe(EngineKind::Sim, |sys, log| {
        let mut g = Garbage(0x5eed);
        // Grant 0 is real: garbage grants sometimes name real memory holding path-like bytes.
        let region = SCRATCH;
        let grant = sys.proc().grant(VFS, region, REGION, Access::ReadWrite);
        let alphabet = b"ab/.";
        let mut crashed = 0;
        for i in 0..CALLS {
            if i % 64 == 0 {
                let bytes: Vec<u8> = (0..REGION).map(|_| alphabet[(g.next() % 4) as usize]).collect();
                sys.proc().mem_write(region, &bytes).unwrap();
            }
            let m_type = loop {
                let t = VFS_BASE + (g.next() % 0x20) as i32;
                // A pipe of its own would let a garbage read block this process for ever.
                if t != VFS_PIPE {
                    break t;
                }
            };
            let mut m = Message::new(m_type);
            for b in m.payload.iter_mut() {
                *b = g.next() as u8;
            }
            // Small numbers in the leading fields: real descriptors, grant 0, short lengths.
            if g.next().is_multiple_of(2) {
                m.payload[..4].copy_from_slice(&((g.next() % 6) as u32).to_le_bytes());
            }
            if g.next().is_multiple_of(2) {
                m.payload[4..8].copy_from_slice(&((g.next() % 2) as u32).to_le_bytes());
                m.payload[8..16].copy_from_slice(&(g.next() % 64).to_le_bytes());
            }
            match sys.proc().sendrec(VFS, m) {
                Ok(r) if r.m_type >= 0 || Errno::from_code(-r.m_type).is_some_and(|e| e != Errno::EDEADSRCDST) => {}
                _ => crashed += 1,
            }
        }
        sys.proc().revoke(grant);
        log.say(format!("calls without an answer: {crashed}"));
        let fd = sys.open("/etc/motd", O_RDONLY, 0);
        log.say(format!("still serving: {}", fd.is_ok() || fd == Err(Errno::ENOENT)));
    });
    assert_eq!(lines, ["calls without an answer: 0", "still serving: true"]);
}

#[test]
fn the_checker_catches_broken_open_counts_link_counts_and_blocks() {
    let mut m = boot(&config(EngineKind::Sim), |sys| {
        let fd = sys.creat("/tmp/kept", 0o644).unwrap();
        sys.write(fd, b"some bytes").unwrap();
        0
    });
    assert_eq!(m.run().end, RunEnd::Finished);
    let mut snap = Snapshot::take(&m);
    assert_eq!(checker::check(&mut snap), Vec::<Violation>::new());
    let invariants = |snap: &mut Snapshot| -> Vec<&'static str> {
        let mut names: Vec<&'static str> = checker::check(snap).into_iter().map(|v| v.invariant).collect();
        names.dedup();
        names
    };
    let mfs = snap.mfs.as_mut().unwrap();
    let kept = resolve(mfs, b"/tmp/kept");
    // An open file whose count says two descriptors point at it, where none does.
    let vfs = snap.vfs.as_mut().unwrap();
    let root = vfs.root_mount().root;
    vfs.filps.set(7, Some(Filp { vnode: root, flags: O_RDONLY, offset: 0, count: 2 }));
    vfs.live_vnode_mut(root).refs += 1;
    assert_eq!(invariants(&mut snap), ["vfs.filp-count"]);
    let vfs = snap.vfs.as_mut().unwrap();
    vfs.filps.set(7, None);
    vfs.live_vnode_mut(root).refs -= 1;
    assert_eq!(invariants(&mut snap), Vec::<&str>::new());
    // A reference mfs counts that no vnode of vfs holds (a putnode lost).
    snap.mfs.as_mut().unwrap().live_mut(kept).refs += 1;
    assert_eq!(invariants(&mut snap), ["vfs-mfs.inode-refs"]);
    snap.mfs.as_mut().unwrap().live_mut(kept).refs -= 1;
    // A vnode whose reference mfs does not count (a lookup's reference lost).
    snap.vfs.as_mut().unwrap().live_vnode_mut(root).fs_refs += 1;
    assert_eq!(invariants(&mut snap), ["vfs-mfs.inode-refs"]);
    snap.vfs.as_mut().unwrap().live_vnode_mut(root).fs_refs -= 1;
    // A link count one too high.
    let mfs = snap.mfs.as_mut().unwrap();
    mfs.live_mut(ROOT_INO).nlink += 1;
    let found = checker::check(&mut snap);
    assert_eq!(found.iter().map(|v| v.invariant).collect::<Vec<_>>(), ["mfs.link-count"]);
    assert!(found[0].detail.contains("inode 1 counts 7 links but 6 entries name it"), "{}", found[0]);
    let mfs = snap.mfs.as_mut().unwrap();
    mfs.live_mut(ROOT_INO).nlink -= 1;
    // A used block put back on the free list.
    let block = mfs.live(kept).blocks[0];
    mfs.free_blocks.push(block);
    assert_eq!(invariants(&mut snap), ["mfs.block-free-and-used", "mfs.block-accounting"]);
    let mfs = snap.mfs.as_mut().unwrap();
    mfs.free_blocks.pop();
    // A file claiming a block another file holds.
    let motd = resolve(mfs, b"/etc/motd");
    let stolen = mfs.live(motd).blocks[0];
    mfs.live_mut(kept).blocks[0] = stolen;
    let names = invariants(&mut snap);
    assert!(names.contains(&"mfs.block-shared") && names.contains(&"mfs.block-accounting"), "{names:?}");
}

// ---- fcntl, umask, pipe2, fchdir, getcwd, poll -------------------------------------------------

use os::proto::vfs::fcntl::*;
use os::proto::vfs::poll::*;
use os::vfs::state::{NR_FILPS, OPEN_MAX};
use userland::libc::PollFd;

#[test]
fn fcntl_duplicates_and_sets_descriptor_and_status_flags() {
    for engine in ENGINES {
        let lines = observe(engine, |sys, log| {
            let fd = sys.open("/tmp/f", O_CREAT | O_RDWR, 0o644).unwrap();
            sys.write(fd, b"abc").unwrap();
            log.say(format!("dupfd from 10: {:?}", sys.fcntl(fd, F_DUPFD, 10)));
            log.say(format!("its flags: {:?}", sys.fcntl(10, F_GETFD, 0)));
            log.say(format!("dupfd_cloexec from 10: {:?}", sys.fcntl(fd, F_DUPFD_CLOEXEC, 10)));
            log.say(format!("its flags: {:?}", sys.fcntl(11, F_GETFD, 0)));
            log.say(format!("shared offset: {:?}", sys.lseek(11, 0, SEEK_CUR)));
            log.say(format!("setfd: {:?} then {:?}", sys.fcntl(fd, F_SETFD, FD_CLOEXEC), sys.fcntl(fd, F_GETFD, 0)));
            log.say(format!("dup clears it: {:?}", sys.dup(fd).and_then(|d| sys.fcntl(d, F_GETFD, 0))));
            log.say(format!(
                "close clears it: {:?}",
                sys.close(fd).and_then(|()| sys.dup(10)).map(|d| (d, sys.fcntl(d, F_GETFD, 0)))
            ));
            log.say(format!("getfl: {:?}", sys.fcntl(10, F_GETFL, 0).map(|f| f as u32 == O_RDWR)));
            // F_SETFL changes O_APPEND (for every descriptor on the open file) but not the access mode.
            sys.fcntl(10, F_SETFL, (O_APPEND | O_WRONLY | O_TRUNC) as i32).unwrap();
            log.say(format!("setfl: {:?}", sys.fcntl(11, F_GETFL, 0).map(|f| f as u32 == O_RDWR | O_APPEND)));
            sys.lseek(11, 0, SEEK_SET).unwrap();
            sys.write(11, b"d").unwrap();
            log.say(format!("appended: {:?}", sys.lseek(11, 0, SEEK_CUR)));
            // The child inherits the flags.
            sys.fork(|c| c.fcntl(11, F_GETFD, 0).unwrap_or(-1)).unwrap();
            log.say(format!("child sees cloexec: {}", sys.wait().unwrap().1 == exit_status(FD_CLOEXEC)));
            log.say(format!("closed: {:?}", sys.fcntl(20, F_GETFD, 0)));
            log.say(format!("negative: {:?}", sys.fcntl(-1, F_GETFL, 0)));
            log.say(format!("bad cmd: {:?}", sys.fcntl(10, 99, 0)));
            log.say(format!(
                "bad start: {:?} {:?}",
                sys.fcntl(10, F_DUPFD, -1),
                sys.fcntl(10, F_DUPFD, OPEN_MAX as i32)
            ));
            let top = OPEN_MAX as i32 - 1;
            sys.dup2(10, top).unwrap();
            log.say(format!("none free from the top: {:?}", sys.fcntl(10, F_DUPFD, top)));
            for fd in [0, 1, 10, 11, top] {
                let _ = sys.close(fd);
            }
            sys.unlink("/tmp/f").unwrap();
        });
        assert_eq!(
            lines,
            [
                "dupfd from 10: Ok(10)",
                "its flags: Ok(0)",
                "dupfd_cloexec from 10: Ok(11)",
                "its flags: Ok(1)",
                "shared offset: Ok(3)",
                "setfd: Ok(0) then Ok(1)",
                "dup clears it: Ok(0)",
                "close clears it: Ok((0, Ok(0)))",
                "getfl: Ok(true)",
                "setfl: Ok(true)",
                "appended: Ok(4)",
                "child sees cloexec: true",
                "closed: Err(EBADF)",
                "negative: Err(EBADF)",
                "bad cmd: Err(EINVAL)",
                "bad start: Err(EINVAL) Err(EINVAL)",
                "none free from the top: Err(EMFILE)",
            ],
            "{engine}"
        );
    }
}

#[test]
fn exec_closes_the_descriptors_marked_close_on_exec() {
    for engine in ENGINES {
        let lines = observe(engine, |sys, log| {
            let out = sys.creat("/tmp/out", 0o644).unwrap();
            for cloexec in [true, false] {
                sys.fork(move |c| {
                    c.dup2(out, 1).unwrap();
                    if cloexec {
                        c.fcntl(1, F_SETFD, FD_CLOEXEC).unwrap();
                    }
                    100 + exec(c, "/bin/echo", &["echo", "hi"]).code()
                })
                .unwrap();
                // echo's write fails when its standard output was closed by exec.
                log.say(format!("cloexec {cloexec}: echo exits {:?}", sys.wait().map(|w| w.1 == exit_status(1))));
            }
            // A failed exec closes nothing.
            sys.fcntl(out, F_SETFD, FD_CLOEXEC).unwrap();
            log.say(format!("failed exec: {}", sys.exec("/bin/nope", &["nope"])));
            log.say(format!("still open: {:?}", sys.fcntl(out, F_GETFD, 0)));
            sys.close(out).unwrap();
            let fd = sys.open("/tmp/out", O_RDONLY, 0).unwrap();
            log.say(format!("file: {:?}", text(&slurp(sys, fd).unwrap())));
            sys.close(fd).unwrap();
        });
        assert_eq!(
            lines,
            [
                "cloexec true: echo exits Ok(true)",
                "cloexec false: echo exits Ok(false)",
                "failed exec: ENOENT (No such file or directory)",
                "still open: Ok(1)",
                r#"file: "hi\n""#,
            ],
            "{engine}"
        );
    }
}

#[test]
fn umask_clears_mode_bits_of_new_files_and_is_inherited() {
    for engine in ENGINES {
        let lines = observe(engine, |sys, log| {
            log.say(format!("first: {:?}", sys.umask(0o027).map(|m| format!("{m:o}"))));
            let fd = sys.open("/tmp/masked", O_CREAT | O_WRONLY, 0o666).unwrap();
            sys.close(fd).unwrap();
            sys.mkdir("/tmp/maskdir", 0o1777).unwrap();
            log.say(format!("file: {:o}", sys.stat("/tmp/masked").unwrap().mode));
            log.say(format!("dir: {:o}", sys.stat("/tmp/maskdir").unwrap().mode));
            sys.fork(|c| c.umask(0).map_or(-1, |m| (m == 0o027) as i32)).unwrap();
            log.say(format!("child inherits: {}", sys.wait().unwrap().1 == exit_status(1)));
            log.say(format!(
                "only permission bits: {:?}",
                sys.umask(0o7777).and_then(|_| sys.umask(0)).map(|m| format!("{m:o}"))
            ));
            sys.unlink("/tmp/masked").unwrap();
            sys.rmdir("/tmp/maskdir").unwrap();
        });
        assert_eq!(
            lines,
            ["first: Ok(\"0\")", "file: 640", "dir: 1750", "child inherits: true", "only permission bits: Ok(\"777\")"],
            "{engine}"
        );
    }
}

#[test]
fn pipe2_and_o_nonblock_turn_waits_into_eagain() {
    for engine in ENGINES {
        let lines = observe(engine, |sys, log| {
            let (r, w) = sys.pipe2(O_NONBLOCK | O_CLOEXEC).unwrap();
            log.say(format!(
                "flags: {:?} {:?}",
                sys.fcntl(r, F_GETFD, 0),
                sys.fcntl(w, F_GETFL, 0).map(|f| f as u32 == O_WRONLY | O_NONBLOCK)
            ));
            log.say(format!("empty read: {:?}", sys.read(r, &mut [0; 8])));
            log.say(format!("fill: {:?}", sys.write(w, &vec![7u8; PIPE_BUF - 10])));
            log.say(format!("a small write that does not fit: {:?}", sys.write(w, &[1; 20])));
            log.say(format!("a large one goes in part: {:?}", sys.write(w, &vec![1; PIPE_BUF + 1])));
            log.say(format!("full: {:?}", sys.write(w, b"x")));
            sys.close(r).unwrap();
            sys.close(w).unwrap();
            // fcntl turns it on and off on a plain pipe.
            let (r, w) = sys.pipe().unwrap();
            sys.fcntl(r, F_SETFL, O_NONBLOCK as i32).unwrap();
            log.say(format!("after setfl: {:?}", sys.read(r, &mut [0; 8])));
            sys.fcntl(r, F_SETFL, 0).unwrap();
            sys.write(w, b"ok").unwrap();
            log.say(format!("blocking again: {:?}", sys.read(r, &mut [0; 8])));
            sys.close(r).unwrap();
            sys.close(w).unwrap();
            log.say(format!("bad flags: {:?}", sys.pipe2(O_APPEND)));
        });
        assert_eq!(
            lines,
            [
                "flags: Ok(1) Ok(true)",
                "empty read: Err(EAGAIN)",
                format!("fill: Ok({})", PIPE_BUF - 10).as_str(),
                "a small write that does not fit: Err(EAGAIN)",
                "a large one goes in part: Ok(10)",
                "full: Err(EAGAIN)",
                "after setfl: Err(EAGAIN)",
                "blocking again: Ok(2)",
                "bad flags: Err(EINVAL)",
            ],
            "{engine}"
        );
    }
}

#[test]
fn fchdir_and_getcwd_follow_the_working_directory() {
    for engine in ENGINES {
        let lines = observe(engine, |sys, log| {
            log.say(format!("at boot: {:?}", sys.getcwd()));
            sys.mkdir("/tmp/a", 0o755).unwrap();
            sys.mkdir("/tmp/a/b", 0o755).unwrap();
            let dir = sys.open("/tmp/a/b", O_RDONLY | O_DIRECTORY, 0).unwrap();
            log.say(format!("fchdir: {:?} {:?}", sys.fchdir(dir), sys.getcwd()));
            sys.rename("/tmp/a", "/tmp/c").unwrap();
            log.say(format!("after a rename: {:?}", sys.getcwd()));
            let file = sys.open("/etc/motd", O_RDONLY, 0).unwrap();
            log.say(format!("a file: {:?}", sys.fchdir(file)));
            log.say(format!("closed: {:?}", sys.fchdir(20)));
            // A directory removed while open is no working directory (mfs knows it has no link).
            sys.mkdir("/tmp/gone", 0o755).unwrap();
            let gone = sys.open("/tmp/gone", O_RDONLY | O_DIRECTORY, 0).unwrap();
            sys.rmdir("/tmp/gone").unwrap();
            log.say(format!("removed: {:?} {:?}", sys.fchdir(gone), sys.getcwd()));
            sys.close(gone).unwrap();
            sys.chdir("/").unwrap();
            sys.close(file).unwrap();
            sys.close(dir).unwrap();
            sys.rmdir("/tmp/c/b").unwrap();
            sys.rmdir("/tmp/c").unwrap();
        });
        assert_eq!(
            lines,
            [
                "at boot: Ok(\"/\")",
                "fchdir: Ok(()) Ok(\"/tmp/a/b\")",
                "after a rename: Ok(\"/tmp/c/b\")",
                "a file: Err(ENOTDIR)",
                "closed: Err(EBADF)",
                "removed: Err(ENOENT) Ok(\"/tmp/c/b\")",
            ],
            "{engine}"
        );
    }
}

#[test]
fn poll_reports_readiness_and_waits_for_a_pipe_or_its_timeout() {
    for engine in ENGINES {
        let lines = observe(engine, |sys, log| {
            let (r, w) = sys.pipe().unwrap();
            let file = sys.open("/etc/motd", O_RDONLY, 0).unwrap();
            let mut fds = [
                PollFd::new(r, POLLIN),
                PollFd::new(w, POLLOUT),
                PollFd::new(file, POLLIN),
                PollFd::new(-1, POLLIN),
                PollFd::new(20, POLLIN),
            ];
            let n = sys.poll(&mut fds, 0).unwrap();
            log.say(format!("check: {n} {:?}", fds.map(|p| p.revents)));
            let mut empty = [PollFd::new(r, POLLIN)];
            log.say(format!("empty pipe, no wait: {:?} {}", sys.poll(&mut empty, 0), empty[0].revents));
            // A child writes later: the parent's poll waits for it.
            let child = sys
                .fork(move |c| {
                    for _ in 0..SETTLE_YIELDS {
                        c.proc().yield_now();
                    }
                    c.write(w, b"x").map_or(1, |_| 0)
                })
                .unwrap();
            log.say(format!("waited: {:?} {}", sys.poll(&mut empty, INFTIM), empty[0].revents == POLLIN));
            sys.waitpid(child, 0).unwrap();
            sys.read(r, &mut [0; 1]).unwrap();
            // Nothing comes: the timeout ends the wait.
            log.say(format!("timeout: {:?} {}", sys.poll(&mut empty, 30), empty[0].revents));
            // The last writer goes: hang-up, whatever was asked.
            sys.close(w).unwrap();
            let mut hup = [PollFd::new(r, 0)];
            log.say(format!("hang-up: {:?} {}", sys.poll(&mut hup, -1), hup[0].revents == POLLHUP));
            let (r2, w2) = sys.pipe().unwrap();
            sys.close(r2).unwrap();
            let mut err = [PollFd::new(w2, POLLOUT)];
            log.say(format!("no reader: {:?} {}", sys.poll(&mut err, -1), err[0].revents == POLLERR));
            log.say(format!("too many: {:?}", sys.poll(&mut vec![PollFd::new(r, POLLIN); OPEN_MAX + 1], 0)));
            log.say(format!("bad address: {:?}", sys.poll_at(0, 1, 0)));
            for fd in [r, w2, file] {
                sys.close(fd).unwrap();
            }
        });
        assert_eq!(
            lines,
            [
                format!("check: 3 {:?}", [0, POLLOUT, POLLIN, 0, POLLNVAL]).as_str(),
                "empty pipe, no wait: Ok(0) 0",
                "waited: Ok(1) true",
                "timeout: Ok(0) 0",
                "hang-up: Ok(1) true",
                "no reader: Ok(1) true",
                "too many: Err(EINVAL)",
                "bad address: Err(EFAULT)",
            ],
            "{engine}"
        );
    }
}

#[test]
fn a_process_killed_in_poll_is_forgotten_and_the_checker_sees_a_ready_waiter() {
    let lines = observe(EngineKind::Sim, |sys, log| {
        let (r, _w) = sys.pipe().unwrap();
        let child = sys.fork(move |c| c.poll(&mut [PollFd::new(r, POLLIN)], INFTIM).map_or(2, |_| 1)).unwrap();
        settle(sys);
        sys.kill(child, sig::SIGKILL).unwrap();
        log.say(format!("killed: {}", sys.waitpid(child, 0).unwrap().1 == signal_status(sig::SIGKILL)));
    });
    assert_eq!(lines, ["killed: true"]);
    // A process (made up in the stopped system's state) waiting in poll on a regular file, which
    // is always ready, with a close-on-exec flag on a closed descriptor.
    let mut m = boot(&config(EngineKind::Sim), |sys| {
        let fd = sys.creat("/tmp/kept", 0o644).unwrap();
        sys.close(fd).unwrap();
        0
    });
    assert_eq!(m.run().end, RunEnd::Finished);
    let mut snap = Snapshot::take(&m);
    assert_eq!(checker::check(&mut snap), Vec::<Violation>::new());
    let kept = resolve(snap.mfs.as_mut().unwrap(), b"/tmp/kept");
    let vfs = snap.vfs.as_mut().unwrap();
    let fs = vfs.root_mount().fs;
    // Its vnode, held by the made-up open file alone.
    let vnode = vfs
        .alloc_vnode(Vnode {
            kind: VnodeKind::Regular,
            inode: Some((fs, kept)),
            refs: 1,
            fs_refs: 1,
            mode: 0o644,
            uid: 0,
            gid: 0,
            size: 0,
            mapped: false,
        })
        .unwrap();
    let ep = kernel_sim::Endpoint::new(kernel_sim::manifest::FIRST_USER_SLOT + 3, 0);
    let key = os::proto::key_of(ep);
    let (filp, spare_fd) = (7u32, 9);
    vfs.filps.set(filp as usize, Some(Filp { vnode, flags: O_RDONLY, offset: 0, count: 1 }));
    let root = vfs.root_mount().root;
    vfs.dup_vnode(root);
    let mut fp = Fproc::new(ep, root);
    fp.set(0, Some(filp));
    vfs.fprocs.insert_global(key, fp);
    vfs.suspended.insert_global(key, None);
    // vfs's own part (the cross-server part would see a process pm does not have).
    assert_eq!(os::vfs::check::check(vfs), Vec::<Violation>::new());
    let watched = FdSet::from_iter([0]);
    let wait = PollWait { grant: 0, nfds: 1, readable: watched, writable: FdSet::EMPTY, watched, deadline: None };
    *vfs.suspended.get_mut_global(key).unwrap() = Some(os::vfs::state::Suspended::Poll(Box::new(wait)));
    vfs.fprocs.get_mut_global(key).unwrap().cloexec.insert(spare_fd);
    vfs.fprocs.get_mut_global(key).unwrap().umask = 0o1000;
    let names: Vec<&str> = os::vfs::check::check(vfs).into_iter().map(|v| v.invariant).collect();
    assert_eq!(names, ["vfs.cloexec-open", "vfs.umask", "vfs.poll-ready"]);
    // A process holding a descriptor past any a process may have.
    *vfs.suspended.get_mut_global(key).unwrap() = None;
    let fp = vfs.fprocs.get_mut_global(key).unwrap();
    (fp.cloexec, fp.umask) = (FdSet::EMPTY, 0);
    fp.set(0, None);
    fp.set(os::vfs::state::DESCRIPTORS_MAX, Some(filp));
    let names: Vec<&str> = os::vfs::check::check(vfs).into_iter().map(|v| v.invariant).collect();
    assert_eq!(names, ["vfs.descriptor-limit"]);
}

#[test]
fn flock_shares_excludes_and_waits_for_the_holder_to_let_go() {
    use os::proto::vfs::flock::*;
    for engine in ENGINES {
        let lines = observe(engine, |sys, log| {
            let one = sys.open("/tmp/locked", O_CREAT | O_RDWR, 0o644).unwrap();
            let two = sys.open("/tmp/locked", O_RDONLY, 0).unwrap();
            log.say(format!("exclusive: {:?}", sys.flock(one, LOCK_EX)));
            log.say(format!(
                "another open file: {:?} {:?}",
                sys.flock(two, LOCK_SH | LOCK_NB),
                sys.flock(two, LOCK_EX | LOCK_NB)
            ));
            // A dup shares the open file, and so its lock.
            let copy = sys.dup(one).unwrap();
            log.say(format!("through the dup: {:?} then {:?}", sys.flock(copy, LOCK_UN), sys.flock(two, LOCK_SH)));
            log.say(format!("shared twice: {:?}", sys.flock(one, LOCK_SH | LOCK_NB)));
            log.say(format!("upgrade blocked: {:?}", sys.flock(one, LOCK_EX | LOCK_NB)));
            sys.flock(one, LOCK_UN).unwrap();
            log.say(format!("upgrade of the other: {:?}", sys.flock(two, LOCK_EX | LOCK_NB)));
            // A child's own open file waits for the exclusive lock to go.
            let l = log.clone();
            let child = sys
                .fork(move |c| {
                    // The inherited descriptors share the parent's open files (and their locks).
                    for fd in [one, two, copy] {
                        c.close(fd).unwrap();
                    }
                    let mine = c.open("/tmp/locked", O_RDONLY, 0).unwrap();
                    let got = c.flock(mine, LOCK_SH);
                    l.say(format!("child got its lock: {got:?}"));
                    0
                })
                .unwrap();
            settle(sys);
            log.say(format!("child waits: {:?}", sys.waitpid(child, os::proto::pm::WNOHANG).map(|r| r.0)));
            // Closing the last descriptors of the holder's open file releases its lock.
            sys.close(two).unwrap();
            log.say(format!("child: {}", sys.waitpid(child, 0).unwrap().1 == exit_status(0)));
            log.say(format!(
                "bad ops: {:?} {:?} {:?}",
                sys.flock(one, 0),
                sys.flock(one, LOCK_SH | LOCK_EX),
                sys.flock(one, 16)
            ));
            log.say(format!("closed: {:?}", sys.flock(20, LOCK_SH)));
            for fd in [one, copy] {
                sys.close(fd).unwrap();
            }
            sys.unlink("/tmp/locked").unwrap();
        });
        assert_eq!(
            lines,
            [
                "exclusive: Ok(())",
                "another open file: Err(EAGAIN) Err(EAGAIN)",
                "through the dup: Ok(()) then Ok(())",
                "shared twice: Ok(())",
                "upgrade blocked: Err(EAGAIN)",
                "upgrade of the other: Ok(())",
                "child waits: Ok(0)",
                "child got its lock: Ok(())",
                "child: true",
                "bad ops: Err(EINVAL) Err(EINVAL) Err(EINVAL)",
                "closed: Err(EBADF)",
            ],
            "{engine}"
        );
    }
}

#[test]
fn a_process_killed_waiting_for_a_flock_is_forgotten_and_the_checker_sees_lock_damage() {
    use os::proto::vfs::flock::*;
    let lines = observe(EngineKind::Sim, |sys, log| {
        let held = sys.open("/tmp/held", O_CREAT | O_RDWR, 0o644).unwrap();
        sys.flock(held, LOCK_EX).unwrap();
        let child = sys
            .fork(move |c| {
                c.close(held).unwrap();
                let mine = c.open("/tmp/held", O_RDONLY, 0).unwrap();
                c.flock(mine, LOCK_EX).map_or(2, |()| 1)
            })
            .unwrap();
        settle(sys);
        sys.kill(child, sig::SIGKILL).unwrap();
        log.say(format!("killed: {}", sys.waitpid(child, 0).unwrap().1 == signal_status(sig::SIGKILL)));
        log.say(format!("still held: {:?}", sys.flock(held, LOCK_SH | LOCK_NB)));
        sys.close(held).unwrap();
        sys.unlink("/tmp/held").unwrap();
    });
    assert_eq!(lines, ["killed: true", "still held: Ok(())"]);
    // Two exclusive locks on one file (the root directory's vnode, which the mount holds), and a
    // lock on a free open file.
    let mut m = boot(&config(EngineKind::Sim), |_| 0);
    assert_eq!(m.run().end, RunEnd::Finished);
    let mut snap = Snapshot::take(&m);
    let vfs = snap.vfs.as_mut().unwrap();
    let root = vfs.mount.get().as_ref().expect("the root is mounted").root;
    for id in [3usize, 4] {
        vfs.filps.set(id, Some(Filp { vnode: root, flags: O_RDONLY, offset: 0, count: 0 }));
        vfs.flocks.set(id, Some(os::vfs::state::Flock::Exclusive));
    }
    vfs.flocks.set(9, Some(os::vfs::state::Flock::Shared));
    let names: Vec<&str> = os::vfs::check::check(vfs).into_iter().map(|v| v.invariant).collect();
    assert!(names.contains(&"vfs.flock-live") && names.contains(&"vfs.flock-conflict"), "{names:?}");
}

#[test]
fn the_window_self_check_finds_what_the_whole_one_finds() {
    use os::vfs::state::Flock;
    use recovery::TrackedState;
    let mut m = boot(&config(EngineKind::Sim), |_| 0);
    assert_eq!(m.run().end, RunEnd::Finished);
    let mut snap = Snapshot::take(&m);
    let vfs = snap.vfs.as_mut().unwrap();
    assert_eq!(os::vfs::check::check(vfs), Vec::new());
    let root = vfs.mount.get().as_ref().expect("the root is mounted").root;
    // Each window's damage, as the window check and the whole check both see it (the window
    // check reads only part of the pipe buffers and flocks).
    let verdict = |vfs: &mut os::vfs::state::VfsState| {
        let window: Vec<String> = os::vfs::check::check_window(vfs).iter().map(ToString::to_string).collect();
        let whole: Vec<String> = os::vfs::check::check(vfs).iter().map(ToString::to_string).collect();
        assert_eq!(window, whole);
        vfs.journal().checkpoint();
        window
    };
    vfs.journal().checkpoint();
    vfs.flocks.set(9, Some(Flock::Shared));
    assert!(verdict(vfs).iter().any(|v| v.starts_with("vfs.flock-live")));
    vfs.flocks.set(9, None);
    assert_eq!(verdict(vfs), Vec::<String>::new());
    vfs.pipe_bufs.set(root as usize, b"bytes".to_vec());
    assert!(verdict(vfs).iter().any(|v| v.starts_with("vfs.pipe-buffer")));
    vfs.pipe_bufs.set(root as usize, Vec::new());
    assert_eq!(verdict(vfs), Vec::<String>::new());
    // An open file that holds a flock and is freed: only the open-file table was written.
    vfs.filps.set(5, Some(Filp { vnode: root, flags: O_RDONLY, offset: 0, count: 0 }));
    vfs.flocks.set(5, Some(Flock::Exclusive));
    let _ = verdict(vfs);
    vfs.filps.set(5, None);
    assert!(verdict(vfs).iter().any(|v| v.starts_with("vfs.flock-live")));
}

#[test]
fn the_open_file_table_is_as_big_as_the_manifest_says() {
    // 16 open files in all: init and a child hold them between them, the next open is ENFILE, and
    // a close makes room again; 20 vnodes, so that the table and the checker agree with the sizes.
    let text = testbed::boot::DEFAULT_MANIFEST
        .replace("    param vnodes 1024;", "    param vnodes 20;")
        .replace("    param files 512;", "    param files 16;");
    assert_ne!(text, testbed::boot::DEFAULT_MANIFEST, "vfs's entry sets its sizes");
    let manifest = kernel_sim::Manifest::parse(&text, "small-vfs.conf", &|_| None).expect("the manifest parses");
    testbed::boot::check_bootable(&manifest, "small-vfs.conf").expect("bootable");
    let config = testbed::boot::MachineConfig {
        manifest: std::sync::Arc::new(manifest),
        check_invariants: true,
        ..testbed::boot::MachineConfig::default()
    };
    let log = Log::default();
    let said = log.clone();
    let mut machine = testbed::boot::boot(&config, move |sys| {
        let mut fds = Vec::new();
        let end = loop {
            match sys.open("/etc/motd", O_RDONLY, 0) {
                Ok(fd) => fds.push(fd),
                Err(e) => break e,
            }
        };
        said.say(format!("{} opens, then {end:?}", fds.len()));
        sys.close(fds.pop().unwrap()).unwrap();
        said.say(format!("after a close: {:?}", sys.open("/etc/motd", O_RDONLY, 0).map(drop)));
        0
    });
    assert_eq!(machine.run().end, RunEnd::Finished);
    assert_eq!(log.lines(), ["16 opens, then ENFILE", "after a close: Ok(())"]);
    let mut snap = testbed::checker::Snapshot::take(&machine);
    assert_eq!(testbed::checker::check(&mut snap), Vec::<testbed::checker::Violation>::new());
    let vfs = snap.vfs.as_mut().unwrap();
    assert_eq!((vfs.vnodes.len(), vfs.filps.len(), vfs.flocks.len()), (20, 16, 16));
}

#[test]
fn a_process_has_as_many_descriptors_as_the_manifest_says() {
    // `param descriptors N;` in vfs's entry: fewer than MINIX's 255 (12), and more (300). A
    // process opens until EMFILE; F_DUPFD from the limit is EINVAL and dup2 to it EBADF; poll
    // takes at most that many records; the checker agrees. Past DESCRIPTORS_MAX the manifest is
    // refused, naming the file and vfs's line.
    let too_many = testbed::boot::DEFAULT_MANIFEST.replace("    param descriptors 255;", "    param descriptors 2000;");
    let manifest = kernel_sim::Manifest::parse(&too_many, "descriptors.conf", &|_| None).expect("the manifest parses");
    let vfs_line = too_many.lines().position(|l| l.starts_with("service vfs")).unwrap() + 1;
    assert_eq!(
        testbed::boot::check_bootable(&manifest, "descriptors.conf").unwrap_err(),
        format!(
            "descriptors.conf:{vfs_line}: service `vfs`: param `descriptors` (descriptors per process) is 2000, outside 8..=1024"
        )
    );
    for limit in [12usize, 300] {
        let text = testbed::boot::DEFAULT_MANIFEST
            .replace("    param descriptors 255;", &format!("    param descriptors {limit};"));
        let manifest = kernel_sim::Manifest::parse(&text, "descriptors.conf", &|_| None).expect("the manifest parses");
        testbed::boot::check_bootable(&manifest, "descriptors.conf").expect("bootable");
        let config = MachineConfig {
            manifest: std::sync::Arc::new(manifest),
            check_invariants: true,
            ..MachineConfig::default()
        };
        let log = Log::default();
        let said = log.clone();
        let mut machine = boot(&config, move |sys| {
            let mut fds = Vec::new();
            let end = loop {
                match sys.open("/etc/motd", O_RDONLY, 0) {
                    Ok(fd) => fds.push(fd),
                    Err(e) => break e,
                }
            };
            said.say(format!("{} opens, the last {:?}, then {end:?}", fds.len(), fds.last()));
            let top = limit as i32;
            said.say(format!("dupfd from the limit: {:?}", sys.fcntl(0, F_DUPFD, top)));
            said.say(format!("dup2 to the limit: {:?}", sys.dup2(0, top)));
            let too_many = vec![PollFd::new(0, POLLIN); limit + 1];
            said.say(format!("poll past the limit: {:?}", sys.poll(&mut too_many.clone(), 0)));
            let mut all = vec![PollFd::new(0, POLLIN); limit];
            said.say(format!("poll at the limit: {:?}", sys.poll(&mut all, 0)));
            sys.close(fds[3]).unwrap();
            said.say(format!("after a close: {:?}", sys.open("/etc/motd", O_RDONLY, 0)));
            for fd in (0..top).filter(|&fd| sys.fstat(fd).is_ok()) {
                sys.close(fd).unwrap();
            }
            0
        });
        assert_eq!(machine.run().end, RunEnd::Finished);
        assert_eq!(
            log.lines(),
            [
                format!("{limit} opens, the last Some({}), then EMFILE", limit - 1),
                "dupfd from the limit: Err(EINVAL)".to_string(),
                "dup2 to the limit: Err(EBADF)".to_string(),
                "poll past the limit: Err(EINVAL)".to_string(),
                format!("poll at the limit: Ok({limit})"),
                "after a close: Ok(3)".to_string(),
            ]
        );
        let mut snap = Snapshot::take(&machine);
        assert_eq!(checker::check(&mut snap), Vec::<Violation>::new());
    }
}

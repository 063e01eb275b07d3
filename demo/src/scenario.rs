//! The scenarios: each is one or two real runs of the system (a workload as init, one injected
//! fault, one recovery policy) chosen so that the run's own event log tells a lesson about
//! reincarnation and recovery.
//!
//! The workloads write notes into the event log (`Proc::note`) saying what they do and what each
//! call returned, so the story's account of the programs is the run's own, not a script.

use os::errno::Errno;
use recovery::PolicyKind;
use std::fmt;
use userland::libc::Sys;
use userland::workload::report::Recorder;

/// A workload: what init runs.
pub type Workload = fn(&Sys<'_>, &Recorder);

/// The scenarios, in the order the demo lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// vfs crashes and comes back fresh (MINIX's classic restart): running processes lose their
    /// open files, and the checker says which.
    Restart,
    /// pm crashes in getpid and is rolled back to its loop-top checkpoint; the caller gets an error.
    Rollback,
    /// pm crashes in fork after vm built the child: blind rollback leaks, OSIRIS's pessimistic
    /// window fail-stops, the table policy handles fork again replaying vm's answer.
    Window,
    /// vfs crashes on pm's notice of a fork: a step of a protocol, handled again, not answered
    /// with an error nobody could use.
    Reprocess,
    /// A persistent crash whose effects elsewhere belong to the caller alone: roll back, end the
    /// caller.
    ProcessLocal,
    /// A persistent crash in fork after vm built the child: the retry crashes too, so rs rolls pm
    /// back, undoes what fork sent by its declared inverse, and answers init an error.
    Compensation,
    /// A persistent crash in getpid: handled again, it crashes again, so rs drops it and
    /// quarantines getpid; later calls are refused at once and pm never crashes again.
    Quarantine,
    /// SRS crash suppression: dirtied entries restored on demand or self-cleansed.
    Srs,
    /// vfs stops answering; rs's heartbeats find it; recovery follows.
    Hang,
    /// The disk driver crashes under a file write and comes back under a new endpoint; mfs finds
    /// it again through ds and writes again; the file reads back intact.
    Driver,
}

/// One run of a scenario.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The recovery policy rs applies.
    pub policy: PolicyKind,
    /// The fault, as `samsara run --inject` spells it.
    pub fault: String,
    /// What init runs.
    pub workload: Workload,
    /// What to watch for in this run (the scenario's question, not its answer: the answer is the
    /// run's own story).
    pub watch: &'static str,
}

/// The seed every scenario runs under unless `--seed` names another: the schedule of seed 0
/// happens to let `window`'s orphaned child run while pm is down (its first receive fails and it
/// exits, so nothing leaks); seed 1's lets it wait for pm's next incarnation, as most seeds do.
pub const DEMO_SEED: u64 = 1;

/// How many times init gives the processor away so a child it just forked runs until it blocks
/// (the scheduler picks at random among the ready; a child's file calls each take several hops,
/// vfs to mfs and back, and 64 turns leave it short of its blocking call with a probability far
/// below one in a million).
const SETTLE_TURNS: usize = 64;

impl Scenario {
    /// Every scenario, in listing order.
    pub const ALL: [Scenario; 10] = [
        Scenario::Restart,
        Scenario::Rollback,
        Scenario::Window,
        Scenario::Reprocess,
        Scenario::ProcessLocal,
        Scenario::Compensation,
        Scenario::Quarantine,
        Scenario::Srs,
        Scenario::Hang,
        Scenario::Driver,
    ];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Restart => "restart",
            Scenario::Rollback => "rollback",
            Scenario::Window => "window",
            Scenario::Reprocess => "reprocess",
            Scenario::ProcessLocal => "process-local",
            Scenario::Compensation => "compensation",
            Scenario::Quarantine => "quarantine",
            Scenario::Srs => "srs",
            Scenario::Hang => "hang",
            Scenario::Driver => "driver",
        }
    }

    /// One line saying what it shows.
    pub fn summary(self) -> &'static str {
        match self {
            Scenario::Restart => {
                "vfs crashes and rs restarts it with fresh state (MINIX's classic answer): open files of running processes are lost; the checker shows which"
            }
            Scenario::Rollback => {
                "pm crashes in getpid; rs rolls it back to its loop-top checkpoint; the caller gets an error; the system goes on"
            }
            Scenario::Window => {
                "pm crashes in fork after vm built the child: blind rollback leaks it; OSIRIS's pessimistic policy sees the window closed and fail-stops; the table policy handles fork again, replaying vm's answer, so the child is made once and the fork goes through"
            }
            Scenario::Reprocess => {
                "vfs crashes on pm's notice of a fork, a step of a protocol that cannot take an error: rs rolls vfs back and it handles the notice again; pm finishes the fork and nobody sees the crash"
            }
            Scenario::ProcessLocal => {
                "pm crashes in setuid after telling vfs, and again when it handles the call again (a persistent bug): the effects elsewhere belong to the caller alone, so rs rolls pm back and ends the caller; everyone else goes on"
            }
            Scenario::Compensation => {
                "pm crashes in fork after vm built the child, and again when it handles fork again (a persistent bug): rs rolls pm back and undoes vm_fork by its declared inverse (the child ends, and the exit path frees what vm and vfs made for it); init's fork fails cleanly"
            }
            Scenario::Quarantine => {
                "pm crashes in getpid, and again when it handles getpid again (a persistent bug): rs drops the call and quarantines getpid; every later getpid is refused at once (EQUARANTINED) without pm crashing again, and everything else goes on"
            }
            Scenario::Srs => {
                "vfs crashes at the end of an lseek, and again when it handles the lseek again (a persistent bug); SRS suppresses the crash and drops the lseek: the entries it dirtied are restored only when read again (a write cannot be dropped so: its bytes are already in mfs)"
            }
            Scenario::Hang => {
                "vfs stops answering in the middle of a write; rs's heartbeats find it; rs kills it and recovery follows"
            }
            Scenario::Driver => {
                "memdisk, the disk driver, crashes on a block of a file mfs writes back: rs restarts it under a new endpoint and publishes it in ds; ds tells mfs, mfs looks the driver up again, re-opens the disk and writes the block again (MINIX's driver recovery); the writer never knows, and the file reads back intact"
            }
        }
    }

    /// The runs, in order.
    pub fn plans(self) -> Vec<Plan> {
        match self {
            Scenario::Restart => vec![Plan {
                policy: PolicyKind::Restart,
                fault: "panic:vfs:write:start:2".into(),
                workload: files_held_across_restart,
                watch: "what a fresh vfs knows of the processes that were running",
            }],
            Scenario::Rollback => vec![Plan {
                policy: PolicyKind::Rollback,
                fault: "panic:pm:getpid:start:2".into(),
                workload: getpid_then_go_on,
                watch: "what the caller sees, and whether pm answers again",
            }],
            Scenario::Window => vec![
                Plan {
                    policy: PolicyKind::Rollback,
                    fault: "panic:pm:fork:after-ipc-1".into(),
                    workload: fork_once,
                    watch: "what rolling pm back does to the child vm already built",
                },
                Plan {
                    policy: PolicyKind::Pessimistic,
                    fault: "panic:pm:fork:after-ipc-1".into(),
                    workload: fork_once,
                    watch: "what OSIRIS's pessimistic window makes of the same crash",
                },
                Plan {
                    policy: PolicyKind::Table,
                    fault: "panic:pm:fork:after-ipc-1".into(),
                    workload: fork_once,
                    watch: "what the recovery-class table, and handling the fork again, make of it",
                },
            ],
            Scenario::Reprocess => vec![Plan {
                policy: PolicyKind::Table,
                fault: "panic:vfs:pm_vfs_fork:start".into(),
                workload: fork_once,
                watch: "what becomes of pm's notice, and of the fork waiting for vfs's answer",
            }],
            Scenario::ProcessLocal => vec![Plan {
                policy: PolicyKind::Table,
                fault: "panic:pm:setuid:after-ipc-1:1+".into(),
                workload: child_sets_its_uid,
                watch: "who pays for the crash, and whether everyone else goes on",
            }],
            Scenario::Compensation => vec![Plan {
                policy: PolicyKind::Table,
                fault: "panic:pm:fork:after-ipc-1:1+".into(),
                workload: fork_once,
                watch: "what is undone, by whom, and what the checker finds afterwards",
            }],
            Scenario::Quarantine => vec![Plan {
                policy: PolicyKind::Table,
                fault: "panic:pm:getpid:start:2+".into(),
                workload: getpid_until_refused,
                watch: "how often pm crashes, what later callers see, and whether the rest goes on",
            }],
            Scenario::Srs => vec![Plan {
                policy: PolicyKind::Srs,
                fault: "panic:vfs:lseek:end:1+".into(),
                workload: rewrite_then_unlink,
                watch: "which dirtied entries are restored on demand, and when",
            }],
            Scenario::Hang => vec![Plan {
                policy: PolicyKind::Table,
                fault: "hang:vfs:write:start:1".into(),
                workload: write_and_read_back,
                watch: "how long vfs stays silent, and how rs notices",
            }],
            Scenario::Driver => vec![Plan {
                policy: PolicyKind::Table,
                // The report's second block: mfs's block writes before it are the mount's.
                fault: format!("panic:memdisk:bdev_write:start:{}", mount_writes() + 2),
                workload: write_report_and_read_back,
                watch: "how mfs learns the driver's new endpoint, and what the writer sees",
            }],
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Scenario {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Scenario::ALL
            .into_iter()
            .find(|sc| sc.name() == s)
            .ok_or_else(|| format!("unknown scenario `{s}` ({})", Scenario::ALL.map(Scenario::name).join(", ")))
    }
}

/// What init notes first, once the servers answer: the end of the boot in the story.
pub const WORKLOAD_STARTS: &str = "the servers answer; the workload starts";

/// The body init runs for `workload`: a note that the workload starts, then the workload.
pub fn as_init(workload: Workload) -> impl FnOnce(&Sys<'_>, &Recorder) + Send + 'static {
    move |sys, rec| {
        say(sys, WORKLOAD_STARTS);
        workload(sys, rec)
    }
}

/// Writes `text` into the event log as a note of the calling process.
fn say(sys: &Sys<'_>, text: &str) {
    sys.proc().note(text);
}

/// A call's result as people read it: the value, or the error's name.
fn shown<T: fmt::Display>(r: &Result<T, Errno>) -> String {
    match r {
        Ok(v) => v.to_string(),
        Err(e) => e.name().to_string(),
    }
}

/// A call that returns nothing on success, as people read it: `ok`, or the error's name.
fn done(r: &Result<(), Errno>) -> String {
    shown(&r.map(|()| "ok"))
}

/// Bytes a workload writes, as a C program spells them: `"hello\n"`.
fn spelled(bytes: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(bytes))
}

/// Text read back, line by line: `2 lines, "hello" and "hello again"` (each quoted without its
/// newline; a last line without one says so).
fn lines_read(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    if text.is_empty() {
        return "nothing (0 bytes)".to_string();
    }
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let quoted: Vec<String> = lines
        .iter()
        .map(|line| match line.strip_suffix('\n') {
            Some(line) => format!("{line:?}"),
            None => format!("{line:?} (with no newline at its end)"),
        })
        .collect();
    format!("{}, {}", recovery::counted(lines.len() as u64, "line"), os::invariant::and_joined(&quoted))
}

/// A wait status as POSIX encodes it: the low 7 bits are the signal that ended the process, else
/// bits 8..16 are its exit code.
fn wait_status(status: i32) -> String {
    const SIGNAL_MASK: i32 = 0x7f;
    const EXIT_SHIFT: u32 = 8;
    const EXIT_MASK: i32 = 0xff;
    match status & SIGNAL_MASK {
        0 => format!("exit code {}", (status >> EXIT_SHIFT) & EXIT_MASK),
        signal => format!("killed by signal {signal}"),
    }
}

/// The file mode the workloads create files with (rw-r--r--).
const FILE_MODE: u32 = 0o644;

/// `restart`: a child opens a file and blocks reading a pipe; then vfs crashes on init's write to
/// that pipe.
fn files_held_across_restart(sys: &Sys<'_>, rec: &Recorder) {
    let (rd, wr) = match sys.pipe() {
        Ok(p) => p,
        Err(e) => return say(sys, &format!("pipe() -> {}", e.name())),
    };
    say(sys, &format!("made a pipe: read end fd {rd}, write end fd {wr}"));
    let child = sys.fork(move |sys| {
        let fd = sys.creat("/notes.txt", FILE_MODE);
        let wrote = match fd {
            Ok(fd) => sys.write(fd, b"the child's notes\n"),
            Err(e) => Err(e),
        };
        say(
            sys,
            &format!(
                "creat(/notes.txt) -> fd {}; write -> {}; now reading the pipe (fd {rd})",
                shown(&fd),
                shown(&wrote)
            ),
        );
        let mut byte = [0u8; 1];
        let got = sys.read(rd, &mut byte);
        say(sys, &format!("read(pipe) -> {}", shown(&got)));
        0
    });
    say(sys, &format!("fork() -> {}", shown(&child)));
    for _ in 0..SETTLE_TURNS {
        sys.proc().yield_now();
    }
    let first = sys.write(wr, b"go");
    say(sys, &format!("write(fd {wr}, the pipe) -> {}", shown(&first)));
    let again = sys.write(wr, b"go");
    say(sys, &format!("write(fd {wr}) again -> {}", shown(&again)));
    rec.count(&format!("pipe-write-{}", shown(&first)), 1);
    rec.count(&format!("pipe-write-again-{}", shown(&again)), 1);
}

/// `rollback`: getpid (the fault's target), getpid again, then a fork and a wait.
fn getpid_then_go_on(sys: &Sys<'_>, rec: &Recorder) {
    let first = sys.getpid();
    say(sys, &format!("getpid() -> {}", shown(&first)));
    let second = sys.getpid();
    say(sys, &format!("getpid() again -> {}", shown(&second)));
    let child = sys.fork(|_| 0);
    say(sys, &format!("fork() -> {}", shown(&child)));
    if let Ok(pid) = child {
        let waited = sys.waitpid(pid, 0);
        say(sys, &format!("waitpid({pid}) -> {}", shown(&waited.map(|(p, s)| format!("pid {p}, {}", wait_status(s))))));
    }
    rec.count(&format!("first-getpid-{}", shown(&first)), 1);
    rec.expect_eq("getpid after recovery", second, Ok(os::proto::INIT_PID));
}

/// `quarantine`: getpid three times (the first crashes pm twice and is dropped; the next are
/// refused), then a fork and its wait, which pm serves as ever.
fn getpid_until_refused(sys: &Sys<'_>, rec: &Recorder) {
    for n in 1..=3 {
        let got = sys.getpid();
        say(sys, &format!("getpid() call {n} -> {}", shown(&got)));
        rec.count(&format!("getpid-{}", shown(&got)), 1);
    }
    let child = sys.fork(|_| 0);
    say(sys, &format!("fork() -> {}", shown(&child)));
    if let Ok(pid) = child {
        let waited = sys.waitpid(pid, 0);
        say(sys, &format!("waitpid({pid}) -> {}", shown(&waited.map(|(p, s)| format!("pid {p}, {}", wait_status(s))))));
        rec.check("the child is reaped", waited.is_ok(), || format!("{waited:?}"));
    }
}

/// `window`: one fork (the fault's target); then ask vm what it knows of init.
fn fork_once(sys: &Sys<'_>, rec: &Recorder) {
    /// The exit code of the forked child.
    const CHILD_EXIT: i32 = 3;
    let child = sys.fork(|_| CHILD_EXIT);
    say(sys, &format!("fork() -> {}", shown(&child)));
    if let Ok(pid) = child {
        let waited = sys.waitpid(pid, 0);
        say(sys, &format!("waitpid({pid}) -> {}", shown(&waited.map(|(p, s)| format!("pid {p}, {}", wait_status(s))))));
    }
    let pages = sys.vm_info().map(|i| i.caller_pages);
    say(sys, &format!("vm_info() -> {} pages mapped for init", shown(&pages)));
    rec.count(&format!("fork-{}", shown(&child.map(|_| "ok"))), 1);
}

/// `process-local`: a child sets its uid (the fault's target) while init waits for it.
fn child_sets_its_uid(sys: &Sys<'_>, rec: &Recorder) {
    /// getpid calls the child makes first, so that init is already waiting when setuid comes.
    const WARM_UP_CALLS: usize = 3;
    let child = sys.fork(|sys| {
        for _ in 0..WARM_UP_CALLS {
            let _ = sys.getpid();
        }
        let r = sys.setuid(0);
        say(sys, &format!("setuid(0) -> {}", done(&r)));
        0
    });
    say(sys, &format!("fork() -> {}", shown(&child)));
    if let Ok(pid) = child {
        let waited = sys.waitpid(pid, 0);
        say(sys, &format!("waitpid({pid}) -> {}", shown(&waited.map(|(p, s)| format!("pid {p}, {}", wait_status(s))))));
    }
    let me = sys.getpid();
    say(sys, &format!("getpid() -> {}", shown(&me)));
    rec.expect_eq("getpid after recovery", me, Ok(os::proto::INIT_PID));
}

/// `srs`: write a file, rewrite it from the start (the second write is the fault's target),
/// check its size, close and unlink it.
fn rewrite_then_unlink(sys: &Sys<'_>, rec: &Recorder) {
    let fd = match sys.creat("/draft.txt", FILE_MODE) {
        Ok(fd) => fd,
        Err(e) => return say(sys, &format!("creat(/draft.txt) -> {}", e.name())),
    };
    const FIRST: &[u8] = b"version 1\n";
    const SECOND: &[u8] = b"version 2\n";
    let first = sys.write(fd, FIRST);
    say(sys, &format!("creat(/draft.txt) -> fd {fd}; write({}) -> {}", spelled(FIRST), shown(&first)));
    let rewound = sys.lseek(fd, 0, 0);
    let second = sys.write(fd, SECOND);
    say(sys, &format!("lseek(0) -> {}; write({}) -> {}", shown(&rewound), spelled(SECOND), shown(&second)));
    let size = sys.fstat(fd).map(|s| s.size);
    say(sys, &format!("fstat() -> size {}", shown(&size)));
    let closed = sys.close(fd);
    let unlinked = sys.unlink("/draft.txt");
    say(sys, &format!("close() -> {}; unlink(/draft.txt) -> {}", done(&closed), done(&unlinked)));
    rec.count(&format!("second-write-{}", shown(&second)), 1);
}

/// `hang`: write a file (the first write is the fault's target), write again, read it back.
fn write_and_read_back(sys: &Sys<'_>, rec: &Recorder) {
    /// Bytes init reads back at most.
    const READ_BACK: usize = 64;
    let fd = match sys.creat("/log.txt", FILE_MODE) {
        Ok(fd) => fd,
        Err(e) => return say(sys, &format!("creat(/log.txt) -> {}", e.name())),
    };
    const FIRST: &[u8] = b"hello\n";
    const SECOND: &[u8] = b"hello again\n";
    say(sys, &format!("creat(/log.txt) -> fd {fd}; writing {}", spelled(FIRST)));
    let first = sys.write(fd, FIRST);
    say(sys, &format!("write({}) -> {}", spelled(FIRST), shown(&first)));
    let second = sys.write(fd, SECOND);
    let closed = sys.close(fd);
    say(sys, &format!("write({}) -> {}; close() -> {}", spelled(SECOND), shown(&second), done(&closed)));
    let mut buf = [0u8; READ_BACK];
    let read = sys.open("/log.txt", 0, 0).and_then(|fd| sys.read(fd, &mut buf));
    let text = read.map(|n| lines_read(&buf[..n.min(READ_BACK)]));
    say(sys, &format!("read back /log.txt -> {}", shown(&text)));
    rec.count(&format!("first-write-{}", shown(&first)), 1);
}

/// The block writes mfs sends memdisk when it mounts the disk at boot (its superblock and the boot
/// tree's blocks): the driver's requests are counted from boot.
fn mount_writes() -> usize {
    let programs: Vec<String> = userland::programs::registry().iter().map(|(name, _)| name.to_string()).collect();
    os::mfs::writes_at_mount(&programs)
}

/// `driver`: write a report of a few blocks (a block of it is the fault's target), close it, read
/// it back whole and compare.
fn write_report_and_read_back(sys: &Sys<'_>, rec: &Recorder) {
    /// Lines of the report: 2 KiB, two of mfs's 1 KiB blocks.
    const LINES: usize = 64;
    let report: String = (1..=LINES).map(|n| format!("line {n:02} of the quarterly report\n")).collect();
    let fd = match sys.creat("/tmp/report.txt", FILE_MODE) {
        Ok(fd) => fd,
        Err(e) => return say(sys, &format!("creat(/tmp/report.txt) -> {}", e.name())),
    };
    let wrote = sys.write(fd, report.as_bytes());
    let closed = sys.close(fd);
    say(
        sys,
        &format!(
            "creat(/tmp/report.txt) -> fd {fd}; write({} bytes) -> {}; close() -> {}",
            report.len(),
            shown(&wrote),
            done(&closed)
        ),
    );
    let mut back = vec![0u8; report.len() + 1];
    let read = sys.open("/tmp/report.txt", 0, 0).and_then(|fd| {
        let n = sys.read(fd, &mut back);
        let _ = sys.close(fd);
        n
    });
    let intact = read.is_ok_and(|n| back[..n] == *report.as_bytes());
    say(
        sys,
        &format!(
            "read back /tmp/report.txt -> {} bytes, {}",
            shown(&read),
            if intact { "as written" } else { "NOT as written" }
        ),
    );
    rec.count(&format!("write-{}", shown(&wrote)), 1);
    rec.check("the report reads back as written", intact, || format!("{read:?}"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_and_text_read_as_people_write_them() {
        assert_eq!(done(&Ok(())), "ok");
        assert_eq!(done(&Err(Errno::ENOENT)), "ENOENT");
        assert_eq!(shown(&Ok::<usize, Errno>(6)), "6");
        assert_eq!(spelled(b"hello\n"), "\"hello\\n\"");
        assert_eq!(lines_read(b"hello\nhello again\n"), "2 lines, \"hello\" and \"hello again\"");
        assert_eq!(lines_read(b"hel"), "1 line, \"hel\" (with no newline at its end)");
        assert_eq!(lines_read(b""), "nothing (0 bytes)");
    }

    #[test]
    fn names_parse_back_and_unknown_names_say_the_choices() {
        for s in Scenario::ALL {
            assert_eq!(s.name().parse::<Scenario>(), Ok(s));
            assert!(!s.summary().is_empty() && !s.plans().is_empty());
            for p in s.plans() {
                assert!(p.fault.parse::<os::fault::FaultSpec>().is_ok(), "{}", p.fault);
            }
        }
        let err = "nope".parse::<Scenario>().unwrap_err();
        assert!(err.contains("restart") && err.contains("hang"), "{err}");
    }

    #[test]
    fn wait_statuses_read_as_posix_says() {
        assert_eq!(wait_status(9), "killed by signal 9");
        assert_eq!(wait_status(3 << 8), "exit code 3");
    }
}

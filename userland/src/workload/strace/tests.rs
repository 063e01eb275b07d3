//! Tests over whole logs: pairing of split calls, errors a user sees, normalisation, the recorded
//! fixtures of real programs, and garbled input that must never panic.

use std::path::PathBuf;

use super::*;

fn parse(text: &str) -> StraceLog {
    match parse_log("test.log", text.as_bytes()) {
        Ok(log) => log,
        Err(error) => panic!("test log did not parse: {error}"),
    }
}

fn parse_error(text: &str) -> ParseError {
    match parse_log("bad.log", text.as_bytes()) {
        Ok(log) => panic!("expected an error, parsed {} events", log.events.len()),
        Err(error) => error,
    }
}

fn ops_of(trace: &NormalisedTrace, pid: u32) -> Vec<&TraceOp> {
    trace.steps_of(pid).map(|step| &step.op).collect()
}

#[test]
fn split_calls_merge_by_pid_at_the_line_where_they_started() {
    let log = parse(concat!(
        "10  clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD <unfinished ...>\n",
        "11  close(3 <unfinished ...>\n",
        "10  <... clone resumed>, child_tidptr=0x7f039c5baa10) = 11\n",
        "11  <... close resumed>)              = 0\n",
        "10  wait4(-1,  <unfinished ...>\n",
        "11  exit_group(0)                     = ?\n",
        "11  +++ exited with 0 +++\n",
        "10  <... wait4 resumed>[{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 11\n",
    ));
    let calls: Vec<(usize, u32, &str, Option<usize>)> =
        log.calls().map(|(event, call)| (event.line, event.pid, call.name.as_str(), call.resumed_line)).collect();
    assert_eq!(
        calls,
        vec![
            (1, 10, "clone", Some(3)),
            (2, 11, "close", Some(4)),
            (5, 10, "wait4", Some(8)),
            (6, 11, "exit_group", None),
        ]
    );
    let (_, clone) = log.calls().next().expect("clone");
    assert_eq!(clone.args.len(), 3, "the resumed half appends `child_tidptr`");
    assert_eq!(clone.result.value(), Some(11));
    let (_, wait) = log.calls().nth(2).expect("wait4");
    assert_eq!(wait.args.len(), 4);
    assert_eq!(wait.result.value(), Some(11));
}

#[test]
fn a_process_that_dies_in_a_call_leaves_it_unfinished() {
    let log = parse(concat!(
        "20  read(0,  <unfinished ...>\n",
        "20  +++ killed by SIGKILL +++\n",
        "21  wait4(-1,  <unfinished ...>\n",
    ));
    let results: Vec<&CallResult> = log.calls().map(|(_, call)| &call.result).collect();
    assert_eq!(results, vec![&CallResult::Unfinished, &CallResult::Unfinished]);
    let trace = normalise(&log);
    assert_eq!(
        trace.processes.get(20).and_then(|node| node.end.clone()),
        Some(ProcessEnd::Killed { signal: "SIGKILL".into(), core_dumped: false })
    );
}

#[test]
fn errors_name_the_file_the_line_and_what_was_expected() {
    let error = parse_error("1  close(3) = 0\n2  open(\"/etc/passwd, O_RDONLY) = 3\n");
    assert_eq!((error.line, error.column), (2, Some(9)));
    assert_eq!(error.to_string(), "bad.log:2:9: expected a closing `\"` for the string opened here");

    let error = parse_error("1  close(3) = 0\nclose(4) = 0\n");
    assert_eq!(error.line, 2);
    assert!(error.to_string().starts_with("bad.log:2:1: expected a pid"), "{error}");

    let error = parse_error("1  close(3) = 0\n1  <... read resumed>) = 0\n");
    assert_eq!(error.problem, ParseProblem::ResumedWithoutStart { pid: 1, name: "read".into() });
    assert!(error.to_string().starts_with("bad.log:2: expected an earlier `read("), "{error}");

    let error = parse_error("1  read(3,  <unfinished ...>\n1  <... close resumed>) = 0\n");
    assert!(matches!(error.problem, ParseProblem::ResumedOtherCall { pending_line: 1, .. }), "{error}");

    let error = parse_error("1  read(3,  <unfinished ...>\n1  close(3) = 0\n");
    assert!(matches!(error.problem, ParseProblem::StartedWhileUnfinished { pending_line: 1, .. }), "{error}");
    assert!(error.to_string().contains("found a new call `close`"), "{error}");

    let error = parse_error("1  close(3) = 0\n1  write(1, \"hel");
    assert_eq!((error.line, error.problem.clone()), (2, ParseProblem::TruncatedLastLine));
    assert!(error.to_string().starts_with("bad.log:2: expected a newline"), "{error}");

    let error = parse_error("1  close(3) = 0\n1  exit_group(0) = ?\n1  +++ exited with 0 ++");
    assert_eq!(error.line, 3);
}

#[test]
fn empty_and_blank_lines_are_not_errors() {
    assert!(parse("").events.is_empty());
    assert_eq!(parse("\n1  getpid() = 1\r\n\n").events.len(), 1);
}

#[test]
fn directory_fds_and_fchdir_resolve_to_paths() {
    let trace = normalise(&parse(concat!(
        "1  openat(AT_FDCWD, \"dir\", O_RDONLY|O_DIRECTORY|O_CLOEXEC) = 4\n",
        "1  openat(4, \"a.txt\", O_RDONLY) = 5\n",
        "1  newfstatat(4, \"b.txt\", {st_mode=S_IFREG|0644, ...}, AT_SYMLINK_NOFOLLOW) = 0\n",
        "1  newfstatat(5, \"\", {st_mode=S_IFREG|0644, ...}, AT_EMPTY_PATH) = 0\n",
        "1  unlinkat(4, \"sub\", AT_REMOVEDIR) = 0\n",
        "1  fchdir(4) = 0\n",
        "1  openat(4, \"c.txt\", O_WRONLY|O_CREAT|O_TRUNC, 0640) = 6\n",
        "1  mkdirat(AT_FDCWD, \"/abs\", 0755) = 0\n",
        "1  openat(9, \"x\", O_RDONLY) = -1 EBADF (Bad file descriptor)\n",
        "1  fcntl(5, F_SETFD, FD_CLOEXEC) = 0\n",
        "1  futex(0x7f, FUTEX_WAKE, 1) = 0\n",
    )));
    let read_only = OpenFlags { read: true, ..OpenFlags::default() };
    assert_eq!(
        ops_of(&trace, 1),
        vec![
            &TraceOp::Open {
                path: "dir".into(),
                flags: OpenFlags { directory: true, close_on_exec: true, ..read_only },
                mode: None
            },
            &TraceOp::Open { path: "dir/a.txt".into(), flags: read_only, mode: None },
            &TraceOp::Lstat { path: "dir/b.txt".into() },
            &TraceOp::Fstat { fd: 5 },
            &TraceOp::Rmdir { path: "dir/sub".into() },
            &TraceOp::Chdir { path: "dir".into() },
            &TraceOp::Mkdir { path: "/abs".into(), mode: 0o755 },
            &TraceOp::Fcntl { fd: 5, command: FcntlCommand::SetFd { close_on_exec: true } },
        ]
    );
    // After the fchdir, "dir" no longer names the directory fd 4 was opened on; fd 9 was never opened.
    assert_eq!(trace.skipped.get("openat: relative to a directory fd of unknown path"), Some(&2));
    assert_eq!(trace.skipped.get("futex"), Some(&1));
    assert_eq!(trace.skipped_total(), 3);
}

#[test]
fn threads_fold_into_their_process_and_forks_build_the_tree() {
    let trace = normalise(&parse(concat!(
        "1  clone3({flags=CLONE_VM|CLONE_THREAD|CLONE_SIGHAND, exit_signal=0, stack=0x7f}, 88) = 2\n",
        "2  getpid() = 1\n",
        "2  exit(0) = ?\n",
        "2  +++ exited with 0 +++\n",
        "1  clone3({flags=CLONE_VM|CLONE_VFORK, exit_signal=SIGCHLD, stack=0x7f}, 88) = 3\n",
        "1  vfork() = 4\n",
        "1  fork() = -1 EAGAIN (Resource temporarily unavailable)\n",
        "3  exit_group(1) = ?\n",
        "3  +++ exited with 1 +++\n",
    )));
    assert_eq!(
        ops_of(&trace, 1),
        vec![&TraceOp::Getpid, &TraceOp::Fork { child_pid: 3 }, &TraceOp::Fork { child_pid: 4 }]
    );
    assert_eq!(trace.processes.roots().collect::<Vec<_>>(), vec![1]);
    assert_eq!(trace.processes.children_of(1), &[3, 4]);
    assert_eq!(trace.processes.parent_of(4), Some(1));
    assert_eq!(trace.processes.get(1).and_then(|node| node.end.clone()), None, "a thread's exit is not the process's");
    assert_eq!(trace.processes.get(3).and_then(|node| node.end.clone()), Some(ProcessEnd::Exited { status: 1 }));
    assert_eq!(trace.skipped.get("clone3: thread (its calls count as its process's)"), Some(&1));
    assert_eq!(trace.skipped.get("exit: thread"), Some(&1));
    assert_eq!(trace.skipped.get("fork: no child created"), Some(&1));
}

// ---- Fixtures of real programs -------------------------------------------------------------------

const FIXTURES: [&str; 7] = ["pipeline", "cp", "cp_cross_device", "tar", "mkdir_rmdir", "redirect_tt", "kill_ttt"];

fn fixture_path(name: &str, extension: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/strace").join(format!("{name}.{extension}"))
}

fn fixture(name: &str) -> (StraceLog, NormalisedTrace) {
    let log = match parse_file(&fixture_path(name, "log")) {
        Ok(log) => log,
        Err(error) => panic!("fixture {name} did not parse: {error}"),
    };
    let trace = normalise(&log);
    (log, trace)
}

/// The single process nobody forked.
fn root(trace: &NormalisedTrace) -> u32 {
    let roots: Vec<u32> = trace.processes.roots().collect();
    assert_eq!(roots.len(), 1, "{}: one traced program", trace.source);
    roots[0]
}

fn find_step(trace: &NormalisedTrace, pid: u32, wanted: impl Fn(&TraceOp) -> bool) -> &TraceStep {
    match trace.steps_of(pid).find(|step| wanted(&step.op)) {
        Some(step) => step,
        None => panic!("{}: no such step for pid {pid}", trace.source),
    }
}

fn exec_of(trace: &NormalisedTrace, pid: u32) -> (String, Vec<String>) {
    match &find_step(trace, pid, |op| matches!(op, TraceOp::Exec { .. })).op {
        TraceOp::Exec { path, argv } => (path.clone(), argv.clone()),
        _ => unreachable!("find_step returned the step it matched"),
    }
}

fn bytes_written(trace: &NormalisedTrace, pid: u32, fd: i32) -> Vec<u8> {
    trace
        .steps_of(pid)
        .filter_map(|step| match &step.op {
            TraceOp::Write { fd: written, data, .. } if *written == fd => Some(data.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

#[test]
fn every_fixture_parses_names_its_command_and_reports_skipped_calls() {
    for name in FIXTURES {
        let (log, trace) = fixture(name);
        let command = std::fs::read_to_string(fixture_path(name, "cmd")).unwrap_or_default();
        assert!(command.contains("strace -f"), "{name}.cmd holds the command line");
        assert!(command.contains("strace -- version"), "{name}.cmd holds the strace version");
        assert!(log.events.len() < 400, "{name} stays small");
        assert!(!trace.steps.is_empty(), "{name} has replayable calls");
        // The dynamic loader alone makes calls samsara has no equivalent for, and protects its
        // relocated data read-only (replayed as mprotect).
        assert!(trace.skipped.get("set_tid_address").is_some_and(|count| *count > 0), "{name}: {:?}", trace.skipped);
        assert!(trace.steps.iter().any(|s| matches!(s.op, TraceOp::Mprotect { writable: false, .. })), "{name}");
        let pid = root(&trace);
        assert!(matches!(trace.steps_of(pid).next().map(|step| &step.op), Some(TraceOp::Exec { .. })));
        for (child, node) in &trace.processes.processes {
            assert!(node.end.is_some(), "{name}: process {child} ends in the log");
        }
        let calls = log.calls().count() as u64;
        assert_eq!(trace.steps.len() as u64 + trace.skipped_total(), calls, "{name}: every call mapped or counted");
    }
}

#[test]
fn pipeline_fixture_forks_cat_and_wc_around_a_pipe() {
    let (_, trace) = fixture("pipeline");
    let shell = root(&trace);
    let children = trace.processes.children_of(shell).to_vec();
    assert_eq!(children.len(), 2);
    let (cat, wc) = (children[0], children[1]);
    assert_eq!(trace.processes.parent_of(cat), Some(shell));
    assert_eq!(trace.processes.parent_of(wc), Some(shell));

    let pipe = find_step(&trace, shell, |op| matches!(op, TraceOp::Pipe { .. }));
    assert_eq!(pipe.op, TraceOp::Pipe { fds: Some([3, 4]), nonblocking: false, close_on_exec: false });
    let fork_lines: Vec<usize> =
        trace.steps_of(shell).filter(|step| matches!(step.op, TraceOp::Fork { .. })).map(|step| step.line).collect();
    assert!(fork_lines.iter().all(|line| *line > pipe.line), "the pipe exists before both forks");

    assert_eq!(
        exec_of(&trace, cat),
        ("/usr/bin/cat".to_string(), vec!["cat".to_string(), "/etc/hostname".to_string()])
    );
    assert_eq!(exec_of(&trace, wc), ("/usr/bin/wc".to_string(), vec!["wc".to_string(), "-c".to_string()]));
    // cat's stdout is the pipe's write end, wc's stdin its read end, both set before the exec.
    let cat_dup = find_step(&trace, cat, |op| *op == TraceOp::Dup2 { old: 4, new: 1 });
    assert!(cat_dup.line < find_step(&trace, cat, |op| matches!(op, TraceOp::Exec { .. })).line);
    find_step(&trace, wc, |op| *op == TraceOp::Dup2 { old: 3, new: 0 });

    // What cat copies into the pipe is what wc reads and counts.
    let hostname = bytes_written(&trace, cat, 1);
    assert!(!hostname.is_empty());
    let wc_read = find_step(&trace, wc, |op| matches!(op, TraceOp::Read { fd: 0, .. }));
    assert_eq!(wc_read.recorded.value(), Some(hostname.len() as i64));
    assert_eq!(bytes_written(&trace, wc, 1), format!("{}\n", hostname.len()).into_bytes());

    // The shell reaps both children.
    let reaped: Vec<i64> = trace
        .steps_of(shell)
        .filter(|step| matches!(step.op, TraceOp::Wait { .. }))
        .filter_map(|step| step.recorded.value())
        .collect();
    assert_eq!(reaped, vec![i64::from(cat), i64::from(wc)]);
    for pid in [shell, cat, wc] {
        assert_eq!(trace.processes.get(pid).and_then(|node| node.end.clone()), Some(ProcessEnd::Exited { status: 0 }));
    }
}

#[test]
fn cp_fixture_opens_the_source_read_only_and_copies_its_14_bytes() {
    let (_, trace) = fixture("cp");
    let cp = root(&trace);
    let source = find_step(&trace, cp, |op| matches!(op, TraceOp::Open { path, .. } if path == "src.txt"));
    assert_eq!(
        source.op,
        TraceOp::Open { path: "src.txt".into(), flags: OpenFlags { read: true, ..OpenFlags::default() }, mode: None }
    );
    assert_eq!(source.recorded.value(), Some(3));
    let created = OpenFlags { write: true, create: true, exclusive: true, ..OpenFlags::default() };
    let destination = find_step(
        &trace,
        cp,
        |op| matches!(op, TraceOp::Open { path, flags, .. } if path == "dst.txt" && flags.create),
    );
    assert_eq!(destination.op, TraceOp::Open { path: "dst.txt".into(), flags: created, mode: Some(0o644) });
    assert_eq!(destination.recorded.value(), Some(4));
    // cp first checks whether the destination is a directory: it is not there yet.
    let probe = find_step(
        &trace,
        cp,
        |op| matches!(op, TraceOp::Open { path, flags, .. } if path == "dst.txt" && flags.directory),
    );
    assert_eq!(probe.recorded.errno(), Some("ENOENT"));
    let copied: Vec<i64> = trace
        .steps_of(cp)
        .filter(|step| matches!(step.op, TraceOp::Copy { from_fd: 3, to_fd: 4, .. }))
        .filter_map(|step| step.recorded.value())
        .collect();
    assert_eq!(copied, vec![14, 0]);
    assert_eq!(trace.skipped.get("ioctl"), Some(&1), "the FICLONE attempt");
    assert_eq!(trace.processes.get(cp).and_then(|node| node.end.clone()), Some(ProcessEnd::Exited { status: 0 }));
}

#[test]
fn cp_across_devices_falls_back_to_read_and_write() {
    let (_, trace) = fixture("cp_cross_device");
    let cp = root(&trace);
    let copy = find_step(&trace, cp, |op| matches!(op, TraceOp::Copy { .. }));
    assert_eq!(copy.recorded.errno(), Some("EXDEV"));
    let destination = find_step(
        &trace,
        cp,
        |op| matches!(op, TraceOp::Open { path, flags, .. } if path == "/dev/shm/samsara-dst.txt" && flags.create),
    );
    assert_eq!(destination.recorded.value(), Some(4));
    // After the failed in-kernel copy, cp reads the source and writes what it read.
    let after_copy: Vec<&TraceStep> = trace.steps_of(cp).filter(|step| step.line > copy.line).collect();
    let reads: Vec<Option<i64>> = after_copy
        .iter()
        .filter(|step| matches!(step.op, TraceOp::Read { fd: 3, .. }))
        .map(|step| step.recorded.value())
        .collect();
    assert_eq!(reads, vec![Some(14), Some(0)]);
    let write = after_copy.iter().find(|step| matches!(step.op, TraceOp::Write { fd: 4, .. }));
    assert_eq!(write.map(|step| &step.op), Some(&TraceOp::Write { fd: 4, len: 14, data: b"hello samsara\n".to_vec() }));
    assert_eq!(write.and_then(|step| step.recorded.value()), Some(14));
}

#[test]
fn tar_fixture_reads_both_files_through_the_directory_fd() {
    let (_, trace) = fixture("tar");
    let tar = root(&trace);
    let archive = find_step(&trace, tar, |op| matches!(op, TraceOp::Open { path, .. } if path == "out.tar"));
    let TraceOp::Open { flags, mode, .. } = &archive.op else { unreachable!("matched an open") };
    assert!(flags.write && flags.create && flags.truncate, "creat() opens for writing, creating, truncating");
    assert_eq!(*mode, Some(0o666));
    let archive_fd = archive.recorded.value().and_then(|fd| i32::try_from(fd).ok()).unwrap_or(-1);
    let dir = find_step(&trace, tar, |op| matches!(op, TraceOp::Open { path, .. } if path == "dir"));
    let dir_fd = dir.recorded.value().and_then(|fd| i32::try_from(fd).ok()).unwrap_or(-1);
    let listing = find_step(&trace, tar, |op| matches!(op, TraceOp::Getdents { fd, .. } if *fd == dir_fd));
    assert!(listing.recorded.value().is_some_and(|bytes| bytes > 0));
    for (member, content) in [("dir/a.txt", "one\n"), ("dir/b.txt", "two\n")] {
        let open = find_step(&trace, tar, |op| matches!(op, TraceOp::Open { path, .. } if path == member));
        let fd = open.recorded.value().and_then(|fd| i32::try_from(fd).ok()).unwrap_or(-1);
        let read = trace
            .steps_of(tar)
            .find(|step| step.line > open.line && matches!(step.op, TraceOp::Read { fd: read_fd, .. } if read_fd == fd))
            .unwrap_or_else(|| panic!("{member} is read"));
        assert_eq!(read.recorded.value(), Some(content.len() as i64));
    }
    const TAR_RECORD_BYTES: u64 = 10240;
    let write = find_step(&trace, tar, |op| matches!(op, TraceOp::Write { fd, .. } if *fd == archive_fd));
    let TraceOp::Write { len, data, .. } = &write.op else { unreachable!("matched a write") };
    assert_eq!(*len, TAR_RECORD_BYTES);
    assert!(data.starts_with(b"dir/\0"), "strace kept a prefix of the archive: {data:?}");
    assert!(data.len() < TAR_RECORD_BYTES as usize);
}

#[test]
fn mkdir_rmdir_fixture_creates_and_removes_nested_directories() {
    let (_, trace) = fixture("mkdir_rmdir");
    let shell = root(&trace);
    let children = trace.processes.children_of(shell).to_vec();
    assert_eq!(children.len(), 2, "mkdir, then rmdir");
    let (mkdir, rmdir) = (children[0], children[1]);
    assert_eq!(exec_of(&trace, mkdir).1, vec!["mkdir", "-p", "a/b"]);
    let directory_ops: Vec<&TraceOp> = ops_of(&trace, mkdir)
        .into_iter()
        .filter(|op| matches!(op, TraceOp::Mkdir { .. } | TraceOp::Chdir { .. }))
        .collect();
    // mkdir -p walks down with fchdir into the directory it just made.
    assert_eq!(
        directory_ops,
        vec![
            &TraceOp::Mkdir { path: "a".into(), mode: 0o777 },
            &TraceOp::Chdir { path: "a".into() },
            &TraceOp::Mkdir { path: "b".into(), mode: 0o777 },
        ]
    );
    let removed: Vec<&TraceOp> =
        ops_of(&trace, rmdir).into_iter().filter(|op| matches!(op, TraceOp::Rmdir { .. })).collect();
    assert_eq!(removed, vec![&TraceOp::Rmdir { path: "a/b".into() }, &TraceOp::Rmdir { path: "a".into() }]);
    assert!(
        trace.steps_of(rmdir).all(|step| step.recorded.errno().is_none() || !matches!(step.op, TraceOp::Rmdir { .. }))
    );
}

#[test]
fn redirect_fixture_has_timestamps_and_a_file_written_read_and_removed() {
    let (log, trace) = fixture("redirect_tt");
    assert!(log.events.iter().all(|event| event.time.is_some()), "-tt stamps every line");
    assert!(log.events.windows(2).all(|pair| pair[0].time <= pair[1].time), "in time order");
    let shell = root(&trace);
    let open = find_step(&trace, shell, |op| matches!(op, TraceOp::Open { path, .. } if path == "out.txt"));
    let TraceOp::Open { flags, mode, .. } = &open.op else { unreachable!("matched an open") };
    assert!(flags.write && flags.create && flags.truncate && !flags.read);
    assert_eq!(*mode, Some(0o666));
    // `echo` is a builtin: the shell saves stdout above 10, points fd 1 at the file, writes, restores.
    find_step(&trace, shell, |op| *op == TraceOp::Dup { fd: 1, min_fd: 10 });
    assert_eq!(bytes_written(&trace, shell, 1), b"hello\n");
    let children = trace.processes.children_of(shell).to_vec();
    assert_eq!(children.len(), 2, "cat, then rm");
    assert_eq!(bytes_written(&trace, children[0], 1), b"hello\n", "cat prints the file");
    let unlink = find_step(&trace, children[1], |op| matches!(op, TraceOp::Unlink { .. }));
    assert_eq!(unlink.op, TraceOp::Unlink { path: "out.txt".into() });
    assert_eq!(unlink.recorded.value(), Some(0));
}

#[test]
fn kill_fixture_records_a_child_killed_by_sigkill() {
    let (log, trace) = fixture("kill_ttt");
    assert!(
        log.events.iter().all(|event| event.time.is_some_and(|time| time.as_secs() > 1_000_000_000)),
        "-ttt is epoch time"
    );
    let shell = root(&trace);
    let child = trace.processes.children_of(shell).first().copied().unwrap_or_default();
    let kill = find_step(&trace, shell, |op| matches!(op, TraceOp::Kill { .. }));
    assert_eq!(kill.op, TraceOp::Kill { pid: i64::from(child), signal: "SIGKILL".into() });
    assert_eq!(
        trace.processes.get(child).and_then(|node| node.end.clone()),
        Some(ProcessEnd::Killed { signal: "SIGKILL".into(), core_dumped: false })
    );
    // The shell polls with WNOHANG: nothing yet, then the killed child, then no children left.
    let waits: Vec<&CallResult> = trace
        .steps_of(shell)
        .filter(|step| step.op == TraceOp::Wait { pid: -1, nohang: true })
        .map(|step| &step.recorded)
        .collect();
    assert_eq!(waits.len(), 3);
    assert_eq!(waits[0].value(), Some(0));
    assert_eq!(waits[1].value(), Some(i64::from(child)));
    assert_eq!(waits[2].errno(), Some("ECHILD"));
    let sigchld = log.events.iter().find_map(|event| match &event.kind {
        EventKind::Signal { signal, info } if signal == "SIGCHLD" => info.clone(),
        _ => None,
    });
    assert_eq!(sigchld.as_ref().and_then(|info| info.field("si_pid")).and_then(Arg::as_int), Some(i64::from(child)));
    assert_eq!(ops_of(&trace, shell).last(), Some(&&TraceOp::Exit { status: 137 }));
    assert_eq!(trace.processes.get(shell).and_then(|node| node.end.clone()), Some(ProcessEnd::Exited { status: 137 }));
}

// ---- Garbled input never panics ------------------------------------------------------------------

/// xorshift64*: a small deterministic generator, so a failure reproduces from the printed seed.
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }
}

/// Fragments that steer random text into the parser's deeper branches.
const TOKENS: [&str; 32] = [
    "1234  ",
    "04:33:36.816368 ",
    "1795235616.830595 ",
    "openat(",
    "AT_FDCWD",
    ", ",
    "\"a\\n\\x41\\177\"",
    "\"...\"...",
    "[",
    "]",
    "{",
    "}",
    "(",
    ")",
    "st_mode=",
    "O_RDONLY|O_CLOEXEC",
    " <unfinished ...>",
    "<... openat resumed>",
    ") = ",
    "-1 ENOENT (No such file or directory)",
    "?",
    "0x7ffd",
    "/* 2 vars */",
    "+++ exited with 0 +++",
    "+++ killed by SIGKILL +++",
    "--- SIGCHLD {si_pid=3} ---",
    "\n",
    "\\",
    "\"",
    "=",
    "<0.000012>",
    "\u{e9}\u{0}",
];

fn assert_never_panics(input: &[u8]) {
    if let Ok(log) = parse_log("fuzz.log", input) {
        let trace = normalise(&log);
        assert!(trace.steps.len() <= log.events.len());
    }
}

#[test]
fn random_bytes_token_soup_and_mutated_fixtures_never_panic() {
    const ROUNDS: usize = 3000;
    const MAX_LEN: usize = 200;
    let fixtures: Vec<Vec<u8>> =
        FIXTURES.iter().filter_map(|name| std::fs::read(fixture_path(name, "log")).ok()).collect();
    let mut random = Xorshift(0x5eed_0000_0003);
    for _ in 0..ROUNDS {
        let bytes: Vec<u8> = (0..random.below(MAX_LEN)).map(|_| random.next() as u8).collect();
        assert_never_panics(&bytes);

        let soup: String = (0..random.below(MAX_LEN / 4)).map(|_| TOKENS[random.below(TOKENS.len())]).collect();
        assert_never_panics(soup.as_bytes());

        let source = &fixtures[random.below(fixtures.len())];
        let mut mutated = source.clone();
        for _ in 0..=random.below(4) {
            let at = random.below(mutated.len());
            match random.below(3) {
                0 => mutated.truncate(at),
                1 => mutated.insert(at, TOKENS[random.below(TOKENS.len())].as_bytes()[0]),
                _ => {
                    if at < mutated.len() {
                        mutated[at] = random.next() as u8;
                    }
                }
            }
        }
        assert_never_panics(&mutated);
    }
}

#[test]
fn every_prefix_of_tricky_lines_is_handled() {
    let lines = [
        "3104  <... clone resumed>, child_tidptr=0x7f039c5baa10) = 3106\n",
        "3166  1795235616.835875 wait4(-1, [{WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL}], WNOHANG, NULL) = 3167\n",
        "1  read(3, \"\\177ELF\\2\\1\"..., 832) = 832 <0.000012>\n",
        "3104  --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=3105, si_uid=0} ---\n",
        "5  +++ killed by SIGSEGV (core dumped) +++\n",
        "1  execve(\"/bin/sh\", [\"sh\", \"-c\"], 0x7ffd /* 2 vars */ <unfinished ...>\n",
    ];
    for line in lines {
        for cut in 0..=line.len() {
            if line.is_char_boundary(cut) {
                assert_never_panics(&line.as_bytes()[..cut]);
                let mut terminated = line.as_bytes()[..cut].to_vec();
                terminated.push(b'\n');
                assert_never_panics(&terminated);
            }
        }
    }
}

#[test]
fn fcntl_pipe2_umask_poll_mprotect_and_mremap_map_onto_samsaras_calls() {
    use os::proto::vfs::poll::{POLLIN, POLLOUT};
    let trace = normalise(&parse(concat!(
        "1  pipe2([3, 4], O_NONBLOCK|O_CLOEXEC) = 0\n",
        "1  fcntl(3, F_GETFD) = 0x1 (flags FD_CLOEXEC)\n",
        "1  fcntl(3, F_SETFL, O_RDONLY|O_NONBLOCK|O_APPEND) = 0\n",
        "1  fcntl(4, F_GETFL) = 0x801 (flags O_WRONLY|O_NONBLOCK)\n",
        "1  fcntl(4, F_SETLK, {l_type=F_WRLCK, l_whence=SEEK_SET, l_start=0, l_len=0}) = 0\n",
        "1  umask(022) = 02\n",
        "1  poll([{fd=3, events=POLLIN}, {fd=4, events=POLLOUT|POLLWRNORM}], 2, -1) = 1 ([{fd=4, revents=POLLOUT}])\n",
        "1  ppoll([{fd=3, events=POLLIN}], 1, {tv_sec=1, tv_nsec=500000000}, NULL, 8) = 0 (Timeout)\n",
        "1  mprotect(0x7f0000001000, 8192, PROT_READ) = 0\n",
        "1  mprotect(0x7f0000003000, 4096, PROT_NONE) = 0\n",
        "1  mremap(0x7f0000001000, 8192, 16384, MREMAP_MAYMOVE) = 0x7f0000100000\n",
        "1  flock(3, LOCK_EX|LOCK_NB) = 0\n",
        "1  mremap(0x7f0000001000, 8192, 16384, MREMAP_MAYMOVE|MREMAP_FIXED, 0x7f0000200000) = 0x7f0000200000\n",
    )));
    assert_eq!(
        ops_of(&trace, 1),
        vec![
            &TraceOp::Pipe { fds: Some([3, 4]), nonblocking: true, close_on_exec: true },
            &TraceOp::Fcntl { fd: 3, command: FcntlCommand::GetFd },
            &TraceOp::Fcntl { fd: 3, command: FcntlCommand::SetFl { append: true, nonblocking: true } },
            &TraceOp::Fcntl { fd: 4, command: FcntlCommand::GetFl },
            &TraceOp::Umask { mask: 0o22 },
            &TraceOp::Poll {
                fds: vec![(3, POLLIN), (4, POLLOUT | os::proto::vfs::poll::POLLWRNORM)],
                timeout_ms: None
            },
            &TraceOp::Poll { fds: vec![(3, POLLIN)], timeout_ms: Some(1500) },
            &TraceOp::Mprotect { addr: 0x7f00_0000_1000, len: 8192, writable: false },
            &TraceOp::Mremap { addr: 0x7f00_0000_1000, old_len: 8192, new_len: 16384, may_move: true },
            &TraceOp::Flock { fd: 3, op: os::proto::vfs::flock::LOCK_EX | os::proto::vfs::flock::LOCK_NB },
        ]
    );
    assert_eq!(trace.skipped.get("mremap: to a fixed address"), Some(&1));
    assert_eq!(trace.skipped.get("fcntl: F_SETLK"), Some(&1));
    assert_eq!(trace.skipped.get("mprotect: without PROT_READ (samsara's pages are readable)"), Some(&1));
}

#[test]
fn access_links_modes_owners_lengths_statfs_pread_and_noreplace_renames_map_onto_samsaras_calls() {
    use os::proto::fs::{R_OK, X_OK};
    use os::proto::vfs::KEEP_ID;
    let trace = normalise(&parse(concat!(
        "1  access(\"/etc/ld.so.preload\", R_OK) = -1 ENOENT (No such file or directory)\n",
        "1  faccessat2(AT_FDCWD, \"bin/tool\", R_OK|X_OK, AT_EACCESS) = 0\n",
        "1  faccessat(AT_FDCWD, \"x\", F_OK) = 0\n",
        "1  faccessat2(AT_FDCWD, \"x\", F_OK, AT_SYMLINK_NOFOLLOW) = 0\n",
        "1  readlink(\"/usr/bin/python3\", \"python3.11\", 4096) = 10\n",
        "1  readlinkat(AT_FDCWD, \"/proc/self/exe\", \"/usr/bin/python3.1\"..., 18) = 18\n",
        "1  symlinkat(\"upper.txt\", AT_FDCWD, \"link.txt\") = 0\n",
        "1  symlink(\"/etc/motd\", \"motd\") = 0\n",
        "1  link(\"a\", \"b\") = 0\n",
        "1  linkat(AT_FDCWD, \"a\", AT_FDCWD, \"c\", 0) = 0\n",
        "1  chmod(\"a\", 0600) = 0\n",
        "1  fchmodat(AT_FDCWD, \"a\", 0644) = 0\n",
        "1  fchmod(3, 0755) = 0\n",
        "1  chown(\"a\", 0, -1) = 0\n",
        "1  fchownat(AT_FDCWD, \"a\", -1, 0, 0) = 0\n",
        "1  fchownat(AT_FDCWD, \"a\", 0, 0, AT_SYMLINK_NOFOLLOW) = 0\n",
        "1  fchown(3, 0, 0) = 0\n",
        "1  truncate(\"a\", 10) = 0\n",
        "1  ftruncate(3, 0) = 0\n",
        "1  statfs(\"/\", {f_type=EXT2_SUPER_MAGIC, f_bsize=4096, f_blocks=1}) = 0\n",
        "1  fstatfs(3, {f_type=EXT2_SUPER_MAGIC, f_bsize=4096, f_blocks=1}) = 0\n",
        "1  pread64(3, \"\\6\\0\\0\\0\"..., 784, 64) = 784\n",
        "1  lstat(\"a\", {st_mode=S_IFREG|0644, st_size=0, ...}) = 0\n",
        "1  newfstatat(AT_FDCWD, \"link.txt\", {st_mode=S_IFLNK|0777, st_size=9, ...}, AT_SYMLINK_NOFOLLOW) = 0\n",
        "1  renameat2(AT_FDCWD, \"a\", AT_FDCWD, \"d\", RENAME_NOREPLACE) = 0\n",
        "1  renameat2(AT_FDCWD, \"a\", AT_FDCWD, \"d\", RENAME_EXCHANGE) = 0\n",
        "1  poll([{fd=0, events=POLLIN|POLLOUT}, ...], 64, 0) = 64 ([{fd=0, revents=POLLIN|POLLHUP}, ...])\n",
        "1  fsync(3) = 0\n",
        "1  fdatasync(3) = 0\n",
        "1  sync() = 0\n",
        "1  uname({sysname=\"Linux\", nodename=\"host\", ...}) = 0\n",
        "1  clock_getres(CLOCK_MONOTONIC, {tv_sec=0, tv_nsec=1}) = 0\n",
        "1  getgroups(0, NULL) = 1\n",
        "1  getpgid(0) = 1\n",
        "1  getsid(0) = 1\n",
        "1  getpgid(7) = 7\n",
        "1  setpgid(0, 0) = 0\n",
        "1  setpgid(7, 1) = 0\n",
        "1  getitimer(ITIMER_REAL, {it_interval={tv_sec=0, tv_usec=0}, it_value={tv_sec=0, tv_usec=0}}) = 0\n",
        "1  rt_sigpending([], 8) = 0\n",
    )));
    let path = |p: &str| p.to_string();
    assert_eq!(
        ops_of(&trace, 1),
        vec![
            &TraceOp::Access { path: path("/etc/ld.so.preload"), mode: R_OK },
            &TraceOp::Access { path: path("bin/tool"), mode: R_OK | X_OK },
            &TraceOp::Access { path: path("x"), mode: 0 },
            &TraceOp::Readlink { path: path("/usr/bin/python3"), target: Some(path("python3.11")) },
            &TraceOp::Readlink { path: path("/proc/self/exe"), target: None },
            &TraceOp::Symlink { target: path("upper.txt"), path: path("link.txt") },
            &TraceOp::Symlink { target: path("/etc/motd"), path: path("motd") },
            &TraceOp::Link { from: path("a"), to: path("b") },
            &TraceOp::Link { from: path("a"), to: path("c") },
            &TraceOp::Chmod { path: path("a"), mode: 0o600 },
            &TraceOp::Chmod { path: path("a"), mode: 0o644 },
            &TraceOp::Fchmod { fd: 3, mode: 0o755 },
            &TraceOp::Chown { path: path("a"), uid: 0, gid: KEEP_ID },
            &TraceOp::Chown { path: path("a"), uid: KEEP_ID, gid: 0 },
            &TraceOp::Fchown { fd: 3, uid: 0, gid: 0 },
            &TraceOp::Truncate { path: path("a"), len: 10 },
            &TraceOp::Ftruncate { fd: 3, len: 0 },
            &TraceOp::Statfs { path: path("/") },
            &TraceOp::Fstatfs { fd: 3 },
            &TraceOp::Pread { fd: 3, len: 784, offset: 64 },
            &TraceOp::Lstat { path: path("a") },
            &TraceOp::Lstat { path: path("link.txt") },
            &TraceOp::Rename { from: path("a"), to: path("d"), noreplace: true },
            &TraceOp::Fsync { fd: 3, data_only: false },
            &TraceOp::Fsync { fd: 3, data_only: true },
            &TraceOp::Sync,
            &TraceOp::Uname,
            &TraceOp::ClockGettime { clock: path("CLOCK_MONOTONIC"), resolution: true },
            &TraceOp::Getgroups { size: 0 },
            &TraceOp::OwnGroup { call: path("getpgid") },
            &TraceOp::OwnGroup { call: path("getsid") },
            &TraceOp::Setpgid,
            &TraceOp::Getitimer { which: path("ITIMER_REAL") },
            &TraceOp::Sigpending,
        ]
    );
    assert_eq!(trace.skipped.get("faccessat2: AT_SYMLINK_NOFOLLOW"), Some(&1));
    assert_eq!(trace.skipped.get("fchownat: AT_SYMLINK_NOFOLLOW (a link's own owner)"), Some(&1));
    assert_eq!(trace.skipped.get("renameat2: RENAME_EXCHANGE or RENAME_WHITEOUT"), Some(&1));
    assert_eq!(trace.skipped.get("poll: a list strace cut short"), Some(&1));
    assert_eq!(trace.skipped.get("getpgid: of another process"), Some(&1));
    assert_eq!(trace.skipped.get("setpgid: of another process or into another group"), Some(&1));
}

#[test]
fn the_setup_makes_only_what_existed_before_the_trace_began() {
    use super::sandbox::{Standin, plan};
    // git's way of storing an object: a directory and a temporary file made, linked under the
    // object's name, unlinked; the object read back later. Beside it, a symbolic link the log
    // read and one it made, and a library read with pread.
    let trace = normalise(&parse(concat!(
        "1  getcwd(\"/w\", 4096) = 3\n",
        "1  openat(AT_FDCWD, \".git/objects/00/tmp_1\", O_RDWR|O_CREAT|O_EXCL, 0444) = -1 ENOENT (No such file or directory)\n",
        "1  mkdir(\".git/objects/00\", 0777) = 0\n",
        "1  openat(AT_FDCWD, \".git/objects/00/tmp_1\", O_RDWR|O_CREAT|O_EXCL, 0444) = 3\n",
        "1  close(3) = 0\n",
        "1  link(\".git/objects/00/tmp_1\", \".git/objects/00/ab\") = 0\n",
        "1  unlink(\".git/objects/00/tmp_1\") = 0\n",
        "1  openat(AT_FDCWD, \".git/objects/00/ab\", O_RDONLY|O_CLOEXEC) = 4\n",
        "1  readlink(\"/usr/bin/python3\", \"python3.11\", 4096) = 10\n",
        "1  symlink(\"in.txt\", \"made\") = 0\n",
        "1  lstat(\"made\", {st_mode=S_IFLNK|0777, st_size=6, ...}) = 0\n",
        "1  openat(AT_FDCWD, \"/lib/libc.so.6\", O_RDONLY|O_CLOEXEC) = 5\n",
        "1  pread64(5, \"\\6\\0\\0\\0\"..., 784, 64) = 784\n",
        "1  access(\"/usr/bin/tool\", X_OK) = 0\n",
        // A link the log made and read through: its target was there before; one only looked
        // at and removed needs nothing.
        "1  symlink(\"lib/real.txt\", \"alias\") = 0\n",
        "1  openat(AT_FDCWD, \"alias\", O_RDONLY) = 6\n",
        "1  read(6, \"0123456\", 100) = 7\n",
        "1  symlink(\"nowhere\", \"dangling\") = 0\n",
        "1  lstat(\"dangling\", {st_mode=S_IFLNK|0777, st_size=7, ...}) = 0\n",
        "1  unlink(\"dangling\") = 0\n",
        // A directory renamed, then a file in it read under the new name: it was there before
        // under the old one.
        "1  renameat2(AT_FDCWD, \"t\", AT_FDCWD, \"t4\", RENAME_NOREPLACE) = 0\n",
        "1  openat(AT_FDCWD, \"t4/g\", O_RDONLY) = 7\n",
        "1  read(7, \"yo\\n\", 10) = 3\n",
    )));
    let setup = plan(&trace);
    let made: Vec<(&str, &Standin)> = setup.entries.iter().map(|(p, s)| (p.as_str(), s)).collect();
    assert_eq!(
        made,
        vec![
            ("/lib", &Standin::Dir),
            ("/lib/libc.so.6", &Standin::File { size: 848 }),
            ("/usr", &Standin::Dir),
            ("/usr/bin", &Standin::Dir),
            ("/usr/bin/python3", &Standin::Symlink { target: "python3.11".to_string() }),
            ("/usr/bin/tool", &Standin::Program { size: 0 }),
            ("/w", &Standin::Dir),
            ("/w/.git", &Standin::Dir),
            ("/w/.git/objects", &Standin::Dir),
            ("/w/lib", &Standin::Dir),
            ("/w/lib/real.txt", &Standin::File { size: 7 }),
            ("/w/t", &Standin::Dir),
            ("/w/t/g", &Standin::File { size: 3 }),
        ]
    );
}

#[test]
fn devices_stand_in_as_themselves_and_a_script_read_before_its_exec_as_long_as_the_read() {
    use super::sandbox::{Standin, plan};
    use os::proto::cdev::dev::makedev;
    // A shell's `> /dev/null` opens with O_CREAT a device that was there all along.
    let trace = normalise(&parse(concat!(
        "1  openat(AT_FDCWD, \"/dev/null\", O_WRONLY|O_CREAT|O_TRUNC, 0666) = 3\n",
        "1  openat(AT_FDCWD, \"/dev/urandom\", O_RDONLY) = 4\n",
        "1  read(4, \"\\x01\\x02\", 2) = 2\n",
        "1  openat(AT_FDCWD, \"/dev/shm/x\", O_RDONLY) = 5\n",
        // bash without a terminal: the controlling terminal is there, and cannot be opened.
        "1  openat(AT_FDCWD, \"/dev/tty\", O_RDWR|O_NONBLOCK) = -1 ENXIO (No such device or address)\n",
        // A shell reads a script (gunzip), then execs it: a program file as long as the read.
        "1  openat(AT_FDCWD, \"/usr/bin/gunzip\", O_RDONLY) = 6\n",
        "1  read(6, \"#!/bin/sh\\n\"..., 8192) = 2346\n",
        "1  execve(\"/usr/bin/gunzip\", [\"gunzip\"], 0x1 /* 2 vars */) = 0\n",
    )));
    let setup = plan(&trace);
    let made: Vec<(&str, &Standin)> = setup.entries.iter().map(|(p, s)| (p.as_str(), s)).collect();
    assert_eq!(
        made,
        vec![
            ("/dev", &Standin::Dir),
            ("/dev/null", &Standin::Device { dev: makedev(1, 3) }),
            ("/dev/shm", &Standin::Dir),
            ("/dev/shm/x", &Standin::File { size: 0 }),
            ("/dev/tty", &Standin::Device { dev: makedev(5, 0) }),
            ("/dev/urandom", &Standin::Device { dev: makedev(1, 9) }),
            ("/usr", &Standin::Dir),
            ("/usr/bin", &Standin::Dir),
            ("/usr/bin/gunzip", &Standin::Program { size: 2346 }),
        ]
    );
}

#[test]
fn stdio_the_log_shows_unseekable_is_a_pipe_in_the_setup() {
    use super::sandbox::plan;
    let trace = normalise(&parse(concat!(
        "1  lseek(0, 0, SEEK_CUR) = -1 ESPIPE (Illegal seek)\n",
        "1  read(0, \"q\\nz\\n\", 8192) = 4\n",
        "1  lseek(2, 0, SEEK_CUR) = 0\n",
        "1  dup(1) = 3\n",
        "1  lseek(3, 0, SEEK_CUR) = -1 ESPIPE (Illegal seek)\n",
        "1  pipe2([4, 5], 0) = 0\n",
        "1  lseek(4, 0, SEEK_CUR) = -1 ESPIPE (Illegal seek)\n",
    )));
    let setup = plan(&trace);
    // stdin was seen unseekable, stdout through its dup, stderr was a file; the log's own pipe
    // is no stdio.
    assert_eq!(setup.stdio_pipes, [true, true, false]);
    assert_eq!(setup.stdin_bytes, 4);
}

#[test]
fn utimensat_utimes_mknod_and_setresuid_map_onto_samsaras_calls() {
    use os::proto::vfs::file_type::{S_IFIFO, S_IFREG};
    use os::proto::vfs::utime::{UTIME_NOW, UTIME_OMIT};
    let trace = normalise(&parse(concat!(
        "1  utimensat(0, NULL, NULL, 0) = 0\n",
        "1  utimensat(0, NULL, [{tv_sec=1000, tv_nsec=500000000} /* 1970-01-01T00:16:40.500000000+0000 */, ",
        "{tv_sec=1000, tv_nsec=500000000} /* 1970-01-01T00:16:40.500000000+0000 */], 0) = 0\n",
        "1  utimensat(0, NULL, [{tv_sec=2000, tv_nsec=0} /* 1970-01-01T00:33:20+0000 */, UTIME_OMIT], 0) = 0\n",
        "1  utimensat(AT_FDCWD, \"node\", [UTIME_NOW, {tv_sec=0, tv_nsec=6000}], AT_SYMLINK_NOFOLLOW) = 0\n",
        "1  utimensat(AT_FDCWD, \"x\", NULL, AT_EMPTY_PATH) = 0\n",
        "1  mknodat(AT_FDCWD, \"node\", 0600) = 0\n",
        "1  mknodat(AT_FDCWD, \"/tmp/p\", S_IFIFO|0640) = 0\n",
        "1  mknod(\"f\", S_IFREG|0644, makedev(0, 0)) = 0\n",
        "1  utimes(\"f\", [{tv_sec=7, tv_usec=250}, {tv_sec=8, tv_usec=0}]) = 0\n",
        "1  futimesat(AT_FDCWD, \"/f\", NULL) = 0\n",
        "1  setresuid(-1, 0, -1) = 0\n",
        "1  setresgid(5, 5, 5) = 0\n",
        "1  setresuid(1, 2, 3) = 0\n",
        "1  setuid(0) = 0\n",
    )));
    let spec = |sec, nsec| UtimeSpec { sec, nsec };
    assert_eq!(
        ops_of(&trace, 1),
        vec![
            &TraceOp::Futimens { fd: 0, times: None },
            &TraceOp::Futimens { fd: 0, times: Some([spec(1000, 500_000_000), spec(1000, 500_000_000)]) },
            &TraceOp::Futimens { fd: 0, times: Some([spec(2000, 0), spec(0, UTIME_OMIT)]) },
            &TraceOp::Utimens {
                path: "node".to_string(),
                times: Some([spec(0, UTIME_NOW), spec(0, 6000)]),
                nofollow: true
            },
            &TraceOp::Mknod { path: "node".to_string(), mode: 0o600 },
            &TraceOp::Mknod { path: "/tmp/p".to_string(), mode: S_IFIFO | 0o640 },
            &TraceOp::Mknod { path: "f".to_string(), mode: S_IFREG | 0o644 },
            &TraceOp::Utimens { path: "f".to_string(), times: Some([spec(7, 250_000), spec(8, 0)]), nofollow: false },
            &TraceOp::Utimens { path: "/f".to_string(), times: None, nofollow: false },
            &TraceOp::SetId { call: "seteuid".to_string(), id: 0 },
            &TraceOp::SetId { call: "setgid".to_string(), id: 5 },
            &TraceOp::SetId { call: "setuid".to_string(), id: 0 },
        ]
    );
    // The flag samsara lacks, and three ids set apart.
    assert_eq!(trace.skipped_total(), 2, "{:?}", trace.skipped);
}

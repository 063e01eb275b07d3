//! The consistency checker's cross-server invariants, each broken deliberately on a real stopped
//! system: it must name every one.

use kernel_sim::{Endpoint, ProcState};
use servers::boot::{MachineConfig, boot};
use servers::checker::{self, Snapshot};
use servers::pm::state::{MProc, Phase};
use servers::proto::key_of;
use std::sync::mpsc;

/// A stopped system with init and one live child (blocked for ever in a wait on its own child,
/// which is blocked reading a pipe nobody writes): every server keeps entries for both.
fn stopped_with_a_live_child() -> Snapshot {
    let config = MachineConfig::default();
    let (tx, rx) = mpsc::channel();
    let mut machine = boot(&config, move |sys| {
        let (r, w) = sys.pipe().unwrap();
        let child = sys
            .fork(move |c| {
                let _ = c.fork(move |g| {
                    let mut buf = [0u8; 1];
                    let _ = g.read(r, &mut buf);
                    0
                });
                let _ = c.wait();
                0
            })
            .unwrap();
        let _ = w;
        tx.send(child).unwrap();
        0
    });
    let report = machine.run();
    assert!(rx.recv().is_ok(), "init forked: {report:?}");
    Snapshot::take(&machine)
}

fn invariants(s: &mut Snapshot) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = checker::check(s).iter().map(|v| v.invariant).collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn a_stopped_system_with_live_processes_is_consistent() {
    let mut s = stopped_with_a_live_child();
    let live = s.procs.iter().filter(|p| p.is_user && p.state != ProcState::Ended).count();
    assert!(live >= 2, "the child and grandchild live on: {:?}", s.procs);
    assert_eq!(checker::check(&mut s), []);
}

#[test]
fn duplicate_pids_are_found() {
    let mut s = stopped_with_a_live_child();
    let pm = s.pm.as_mut().unwrap();
    let keys: Vec<u32> = pm.procs.iter().map(|(k, _)| *k).collect();
    let first_pid = pm.procs.get(keys[0]).unwrap().pid;
    pm.procs.get_mut_global(keys[1]).unwrap().pid = first_pid;
    assert!(invariants(&mut s).contains(&"pm.unique-pids"));
}

#[test]
fn a_process_missing_from_vfs_or_vm_is_found() {
    let mut s = stopped_with_a_live_child();
    let child = *s.vfs.as_mut().unwrap().fprocs.iter().map(|(k, _)| k).max().unwrap();
    s.vfs.as_mut().unwrap().fprocs.remove_global(child);
    assert!(invariants(&mut s).contains(&"vfs.process-entry"));
    let mut s = stopped_with_a_live_child();
    let child = *s.vm.as_mut().unwrap().spaces.iter().map(|(k, _)| k).max().unwrap();
    s.vm.as_mut().unwrap().spaces.remove_global(child);
    assert!(invariants(&mut s).contains(&"vm.address-space"));
}

#[test]
fn a_process_the_kernel_runs_but_pm_forgot_is_found() {
    let mut s = stopped_with_a_live_child();
    let pm = s.pm.as_mut().unwrap();
    let child = *pm.procs.iter().map(|(k, _)| k).max().unwrap();
    pm.procs.remove_global(child);
    let found = invariants(&mut s);
    assert!(found.contains(&"pm.kernel-process"), "{found:?}");
}

#[test]
fn a_pm_entry_with_no_kernel_process_is_found() {
    let mut s = stopped_with_a_live_child();
    let ghost = Endpoint::new(40, 0);
    let entry = MProc { ep: ghost, pid: 999, parent: 1, uid: 0, gid: 0, euid: 0, egid: 0, phase: Phase::Running };
    s.pm.as_mut().unwrap().procs.insert_global(key_of(ghost), entry);
    let found = invariants(&mut s);
    assert!(found.contains(&"kernel.pm-process"), "{found:?}");
}

#[test]
fn per_process_state_left_after_everyone_exited_is_found() {
    let config = MachineConfig::default();
    let mut machine = boot(&config, |sys| {
        let pid = sys.fork(|_| 0).unwrap();
        sys.waitpid(pid, 0).unwrap();
        0
    });
    machine.run();
    let mut s = Snapshot::take(&machine);
    assert_eq!(checker::check(&mut s), [], "everyone exited cleanly");
    let stray = Endpoint::new(30, 0);
    s.vfs.as_mut().unwrap().fprocs.insert_global(key_of(stray), servers::vfs::state::Fproc::new(stray));
    let found = invariants(&mut s);
    assert!(found.contains(&"cleanup.vfs") && found.contains(&"vfs.process-entry"), "{found:?}");
}

/// A pipe's bytes and a process's suspended call live in tracked fields of their own, beside the
/// inode and the fproc: bytes buffered for an inode that is no pipe, a pipe overfull, a process
/// without its suspension entry or a suspended call on a descriptor it does not hold are named.
#[test]
fn damaged_pipe_buffers_and_suspension_entries_are_found() {
    use servers::vfs::state::{PIPE_BUF, ROOT_INO, Suspended};
    let mut s = stopped_with_a_live_child();
    let vfs = s.vfs.as_mut().unwrap();
    let waiting: Vec<(u32, Suspended)> = vfs.suspended.iter().filter_map(|(k, call)| Some((*k, (*call)?))).collect();
    assert_eq!(waiting.len(), 1, "the grandchild waits in its pipe read");
    let (reader, call) = waiting[0];
    let pipe = vfs.filp(call.filp()).unwrap().ino;

    vfs.pipe_bufs.set(ROOT_INO as usize, b"stray".to_vec());
    assert_eq!(invariants(&mut s), ["vfs.pipe-buffer"]);

    let mut s = stopped_with_a_live_child();
    s.vfs.as_mut().unwrap().pipe_bufs.set(pipe as usize, vec![0; PIPE_BUF + 1]);
    assert_eq!(invariants(&mut s), ["vfs.pipe-buffer"]);

    let mut s = stopped_with_a_live_child();
    s.vfs.as_mut().unwrap().suspended.remove_global(reader);
    assert_eq!(invariants(&mut s), ["vfs.suspension-entries"]);

    let mut s = stopped_with_a_live_child();
    let vfs = s.vfs.as_mut().unwrap();
    let fds = &mut vfs.fprocs.get_mut_global(reader).unwrap().fds;
    let held = fds.iter().position(|fd| *fd == Some(call.filp())).unwrap();
    fds[held] = None;
    assert!(invariants(&mut s).contains(&"vfs.suspended-call"));
}

#[test]
fn a_dead_server_is_reported() {
    let mut s = stopped_with_a_live_child();
    s.pm = None;
    assert!(invariants(&mut s).contains(&"server.state"));
}

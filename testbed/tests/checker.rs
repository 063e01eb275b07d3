//! The consistency checker's cross-server invariants, each broken deliberately on a real stopped
//! system: it must name every one.

use kernel_sim::{Endpoint, ProcState};
use os::pm::state::{MProc, Phase, RealTimer};
use os::proto::key_of;
use os::proto::pm::{sig, sig_bit};
use std::sync::mpsc;
use testbed::boot::{MachineConfig, boot};
use testbed::checker::{self, Snapshot};

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
    let entry = MProc {
        ep: ghost,
        pid: 999,
        parent: 1,
        uid: 0,
        gid: 0,
        euid: 0,
        egid: 0,
        phase: Phase::Running,
        pgrp: 1,
        sid: 1,
        tainted: false,
        groups: Vec::new(),
        scheduled: true,
    };
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
    let vfs = s.vfs.as_mut().unwrap();
    let root = vfs.root_mount().root;
    vfs.fprocs.insert_global(key_of(stray), os::vfs::state::Fproc::new(stray, root));
    vfs.live_vnode_mut(root).refs += 1;
    let found = invariants(&mut s);
    assert!(found.contains(&"cleanup.vfs") && found.contains(&"vfs.process-entry"), "{found:?}");
}

#[test]
fn a_mount_table_emptied_under_live_processes_is_found() {
    // Unmounted is right only at the reboot's end, with no process left to need the root.
    let mut s = stopped_with_a_live_child();
    assert_eq!(invariants(&mut s), Vec::<&str>::new());
    s.vfs.as_mut().unwrap().mount.set(None);
    assert!(invariants(&mut s).contains(&"vfs.mount-root"));
}

/// A pipe's bytes and a process's suspended call live in tracked fields of their own, beside the
/// vnode and the fproc: bytes buffered for a vnode that is no pipe, a pipe overfull, a process
/// without its suspension entry or a suspended call on a descriptor it does not hold are named.
#[test]
fn damaged_pipe_buffers_and_suspension_entries_are_found() {
    use os::vfs::state::{PIPE_BUF, Suspended};
    let mut s = stopped_with_a_live_child();
    let vfs = s.vfs.as_mut().unwrap();
    let waiting: Vec<(u32, Suspended)> =
        vfs.suspended.iter().filter_map(|(k, call)| Some((*k, call.clone()?))).collect();
    assert_eq!(waiting.len(), 1, "the grandchild waits in its pipe read");
    let (reader, call) = waiting[0].clone();
    let pipe = vfs.filp(call.filp().unwrap()).unwrap().vnode;
    let root = vfs.root_mount().root;

    vfs.pipe_bufs.set(root as usize, b"stray".to_vec());
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
    let held = fds.iter().position(|fd| *fd == call.filp()).unwrap();
    fds[held] = None;
    assert!(invariants(&mut s).contains(&"vfs.suspended-call"));
}

/// A stopped system whose live child maps a file shared, then waits for ever on a pipe.
fn stopped_with_a_shared_mapping() -> Snapshot {
    use os::proto::vfs::flags::{O_CREAT, O_RDWR};
    use os::proto::vfs::map::MAP_SHARED;
    use os::proto::vm::prot::PROT_READ;
    let (tx, rx) = mpsc::channel();
    let mut machine = boot(&MachineConfig::default(), move |sys| {
        let fd = sys.open("/tmp/mapped", O_RDWR | O_CREAT, 0o644).unwrap();
        sys.write(fd, b"shown").unwrap();
        let (r, _w) = sys.pipe().unwrap();
        sys.fork(move |c| {
            tx.send(c.mmap_file(fd, 0, 4096, PROT_READ, MAP_SHARED).is_ok()).unwrap();
            let _ = c.read(r, &mut [0u8; 1]);
            0
        })
        .unwrap();
        0
    });
    let report = machine.run();
    assert_eq!(rx.recv().ok(), Some(true), "the child mapped the file: {report:?}");
    Snapshot::take(&machine)
}

/// The files vm's shared mappings show and those vfs holds for them: a file shown but not held
/// (its inode could go and be reused under the mapping), held but not shown (it never goes), a
/// mapping that shows a file from within a page, and a directory held for mappings are named.
#[test]
fn a_shared_mapping_and_the_files_vfs_holds_for_it_are_compared() {
    let mut s = stopped_with_a_shared_mapping();
    assert_eq!(checker::check(&mut s), []);

    let vfs = s.vfs.as_mut().unwrap();
    let held = vfs.mapped_vnodes();
    assert_eq!(held.len(), 1, "vfs holds the mapped file");
    let vnode = vfs.vnodes.get_mut(held[0] as usize).unwrap().as_mut().unwrap();
    vnode.mapped = false;
    vnode.refs -= 1;
    assert_eq!(invariants(&mut s), ["vm.mapped-file-held"]);

    let mut s = stopped_with_a_shared_mapping();
    let vm = s.vm.as_mut().unwrap();
    let child = *vm.spaces.iter().map(|(k, _)| k).max().unwrap();
    let space = vm.spaces.get_mut_global(child).unwrap();
    let shown = space.regions.iter().position(|r| r.file.is_some()).expect("the child's mapping shows the file");
    space.regions[shown].file = None;
    assert_eq!(invariants(&mut s), ["vfs.mapping-hold"]);

    let mut s = stopped_with_a_shared_mapping();
    let vm = s.vm.as_mut().unwrap();
    let space = vm.spaces.get_mut_global(child).unwrap();
    space.regions[shown].file.as_mut().unwrap().offset = 100;
    assert!(invariants(&mut s).contains(&"vm.space-layout"));

    let mut s = stopped_with_a_shared_mapping();
    let vfs = s.vfs.as_mut().unwrap();
    let root = vfs.root_mount().root;
    let dir = vfs.vnodes.get_mut(root as usize).unwrap().as_mut().unwrap();
    dir.mapped = true;
    dir.refs += 1;
    assert_eq!(invariants(&mut s), ["vfs.mapping-hold", "vfs.vnode-mapped"]);
}

#[test]
fn a_dead_server_is_reported() {
    let mut s = stopped_with_a_live_child();
    s.pm = None;
    assert!(invariants(&mut s).contains(&"server.state"));
}

// ---- pm's indexes: the checker and pm's own loop-top check name each one broken ----------------

/// The checker's invariants and those pm's loop-top self-check reports, each sorted.
fn found_by_both(s: &mut Snapshot) -> (Vec<&'static str>, Vec<String>) {
    let checker = invariants(s);
    let mut own: Vec<String> =
        s.pm.as_mut()
            .unwrap()
            .check_invariants()
            .iter()
            .map(|line| line.split(':').next().unwrap().to_string())
            .collect();
    own.dedup();
    (checker, own)
}

/// The slot and pid of the newest process pm knows (the grandchild).
fn newest(s: &mut Snapshot) -> (u32, i32) {
    let pm = s.pm.as_mut().unwrap();
    let (&key, p) = pm.procs.iter().last().unwrap();
    (key, p.pid)
}

#[test]
fn a_pid_filed_under_no_slot_or_the_wrong_one_is_found() {
    let mut s = stopped_with_a_live_child();
    let (key, pid) = newest(&mut s);
    s.pm.as_mut().unwrap().pids.remove(&pid);
    assert_eq!(found_by_both(&mut s), (vec!["pm.pid-index"], vec!["pm.pid-index".to_string()]));
    s.pm.as_mut().unwrap().pids.insert(pid, key + 1);
    assert!(checker::check(&mut s).iter().any(|v| v.invariant == "pm.pid-index" && v.detail.contains("holds")));
}

#[test]
fn a_child_missing_from_its_parents_list_is_found() {
    let mut s = stopped_with_a_live_child();
    let (key, _) = newest(&mut s);
    let pm = s.pm.as_mut().unwrap();
    let parent = pm.procs.get(key).unwrap().parent;
    pm.children.remove(&(parent, key));
    assert_eq!(found_by_both(&mut s), (vec!["pm.child-index"], vec!["pm.child-index".to_string()]));
}

#[test]
fn a_live_process_filed_as_a_zombie_is_found() {
    let mut s = stopped_with_a_live_child();
    let (key, _) = newest(&mut s);
    let pm = s.pm.as_mut().unwrap();
    let parent = pm.procs.get(key).unwrap().parent;
    pm.zombies.insert((parent, key), ());
    assert_eq!(found_by_both(&mut s), (vec!["pm.zombie-index"], vec!["pm.zombie-index".to_string()]));
}

#[test]
fn a_held_slot_listed_free_or_past_the_fresh_mark_is_found() {
    let mut s = stopped_with_a_live_child();
    let (key, _) = newest(&mut s);
    s.pm.as_mut().unwrap().free_slots.insert(key, ());
    assert_eq!(found_by_both(&mut s), (vec!["pm.slot-index"], vec!["pm.slot-index".to_string()]));
    let mut s = stopped_with_a_live_child();
    s.pm.as_mut().unwrap().fresh_slot.set(key);
    let found = checker::check(&mut s);
    assert!(found.iter().any(|v| v.invariant == "pm.slot-index" && v.detail.contains("at or above")), "{found:?}");
}

/// The slots of the live child and grandchild, lowest first.
fn live_children(s: &mut Snapshot) -> Vec<u32> {
    let pm = s.pm.as_mut().unwrap();
    pm.procs.iter().filter(|(_, p)| p.pid != 1).map(|(k, _)| *k).collect()
}

#[test]
fn a_blocked_sigkill_is_found() {
    let mut s = stopped_with_a_live_child();
    let child = live_children(&mut s)[0];
    s.pm.as_mut().unwrap().sigs.get_mut_global(child).unwrap().mask |= sig_bit(sig::SIGKILL);
    assert!(invariants(&mut s).contains(&"pm.uncatchable"));
}

#[test]
fn a_zombie_with_a_pending_signal_is_found() {
    let mut s = stopped_with_a_live_child();
    let child = live_children(&mut s)[0];
    let pm = s.pm.as_mut().unwrap();
    pm.make_zombie(child, 0);
    pm.sigs.get_mut_global(child).unwrap().pending |= sig_bit(sig::SIGUSR1);
    assert!(invariants(&mut s).contains(&"pm.signals-live"));
}

#[test]
fn an_unindexed_timer_and_a_timer_no_alarm_rings_for_are_found() {
    let mut s = stopped_with_a_live_child();
    let children = live_children(&mut s);
    let pm = s.pm.as_mut().unwrap();
    pm.sigs.get_mut_global(children[0]).unwrap().timer = Some(RealTimer { due: 5, interval: 0 });
    assert!(invariants(&mut s).contains(&"pm.timer-index"));
    let mut s = stopped_with_a_live_child();
    let pm = s.pm.as_mut().unwrap();
    pm.set_timer(children[0], Some(RealTimer { due: 5, interval: 0 }));
    let found = invariants(&mut s);
    assert!(found.contains(&"pm.timer-alarm") && !found.contains(&"pm.timer-index"), "{found:?}");
}

#[test]
fn broken_groups_and_sessions_are_found() {
    let mut s = stopped_with_a_live_child();
    let children = live_children(&mut s);
    let pm = s.pm.as_mut().unwrap();
    let pid = pm.procs.get(children[0]).unwrap().pid;
    // A session leader outside its own group, whose group spans two sessions.
    pm.set_group(children[0], 1, pid);
    let found = invariants(&mut s);
    assert!(found.contains(&"pm.group-session") && found.contains(&"pm.session-leader"), "{found:?}");
    // A group id changed behind the index's back.
    let mut s = stopped_with_a_live_child();
    s.pm.as_mut().unwrap().procs.get_mut_global(children[0]).unwrap().pgrp = pid;
    assert!(invariants(&mut s).contains(&"pm.group-index"));
}

#[test]
fn a_sigsuspend_the_kernel_does_not_block_on_pm_is_found() {
    let mut s = stopped_with_a_live_child();
    // The grandchild is blocked reading a pipe in vfs.
    let grandchild = *live_children(&mut s).last().unwrap();
    s.pm.as_mut().unwrap().procs.get_mut_global(grandchild).unwrap().phase = Phase::Pausing { saved_mask: 0 };
    assert!(invariants(&mut s).contains(&"pm.sigsuspend-blocked"));
}

fn note_alarm(_sys: &userland::libc::Sys<'_>, _signo: i32) {}

#[test]
fn a_process_the_kernel_holds_stopped_that_pm_does_not_is_found() {
    let config = MachineConfig::default();
    let mut machine = boot(&config, |sys| {
        let handler = userland::libc::SigAction::Handler { handler: note_alarm, mask: 0, flags: 0 };
        sys.sigaction(sig::SIGALRM, Some(handler)).unwrap();
        let child = sys
            .fork(|c| {
                for _ in 0..50 {
                    let _ = c.getpid();
                    c.proc().yield_now();
                }
                0
            })
            .unwrap();
        sys.kill(child, sig::SIGSTOP).unwrap();
        let timer = userland::libc::Itimer { value_us: 20_000, interval_us: 0 };
        sys.setitimer(os::proto::pm::ITIMER_REAL, timer).unwrap();
        let _ = sys.sigsuspend(0);
        0
    });
    machine.run();
    let mut s = Snapshot::take(&machine);
    assert!(s.procs.iter().any(|p| p.state == ProcState::Stopped), "the child stays stopped: {:?}", s.procs);
    assert_eq!(checker::check(&mut s), []);
    let child = live_children(&mut s)[0];
    s.pm.as_mut().unwrap().sigs.get_mut_global(child).unwrap().stopped = false;
    assert!(invariants(&mut s).contains(&"pm.stopped"));
}

/// A process stopped in sigsuspend is alive and scheduled, and the checker finds the system
/// clean; sched dropping it is found. Before, the checker called a scheduled process in
/// sigsuspend "a zombie" (campaign runs halted with init in sigsuspend were counted damaged).
#[test]
fn a_process_in_sigsuspend_is_scheduled_and_clean() {
    let config = MachineConfig::default();
    let mut machine = boot(&config, |sys| {
        let _ = sys.fork(|c| {
            let _ = c.sigsuspend(0);
            0
        });
        0
    });
    machine.run();
    let mut s = Snapshot::take(&machine);
    let child = live_children(&mut s)[0];
    let pm = s.pm.as_mut().unwrap();
    assert!(matches!(pm.procs.get(child).unwrap().phase, Phase::Pausing { .. }), "the child waits in sigsuspend");
    assert_eq!(checker::check(&mut s), []);
    s.sched.as_mut().unwrap().procs.remove(&child);
    assert!(invariants(&mut s).contains(&"sched.pm-process"));
}

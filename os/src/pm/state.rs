//! pm's state: the process table (one entry per user process, keyed by slot), the pid
//! allocator, and the indexes that keep fork, exit and wait independent of the table's size.
//!
//! Invariants: pids are unique among entries; a child's `parent` names a live or zombie entry, or
//! init after re-parenting; a process's `phase` says exactly which flow it is in. The indexes are
//! tracked state like the table (a rollback or a suppression treats them alike, so they never
//! disagree with it) and say exactly what the table says:
//! - `pids` maps every entry's pid to its slot;
//! - `children` holds `(parent, slot)` for every entry, `zombies` for every zombie;
//! - every slot from `FIRST_USER_SLOT` below `fresh_slot` is held by an entry or is in
//!   `free_slots`, never both; no entry and no free slot is at or above `fresh_slot`.
//!
//! Entries are added and removed, and `parent` and zombie-ness change, only through the methods
//! below, which keep the indexes; `check.rs` checks the whole state.

use crate::proto::pm::sig;
use crate::proto::{INIT_PID, Pid, ProcKey, key_of};
use kernel_sim::manifest::FIRST_USER_SLOT;
use kernel_sim::{Endpoint, Micros};
use recovery::{Journal, ProcTable, StateClass, TrackedCell, TrackedMap, tracked_state};

/// The most user processes pm keeps at once (init included), by default and at most (`param procs
/// N;` sets fewer); a fork past it fails with EAGAIN.
/// 10,000 live processes (the scaling benchmark's largest point) besides init and the children
/// they fork, rounded up to 10 x 1,024. Nothing is allocated per possible entry: the table and
/// its indexes grow with the processes that exist.
pub const NR_PROCS: usize = 10_240;
/// Entries only the superuser's forks may take (MINIX's `LAST_FEW`): when a user's fork bomb has
/// filled the rest, root can still start a shell and kill it.
pub const LAST_FEW: usize = 2;
/// Pids wrap around after this (MINIX's PID_MAX is 30000).
pub const PID_MAX: Pid = 30_000;
/// The uid of the superuser.
pub const ROOT_UID: u32 = 0;
/// The node name uname gives until root sets another.
pub const DEFAULT_NODENAME: &[u8] = b"samsara";

// Every entry has a kernel slot, and pid allocation always finds a free pid.
const _: () = assert!(FIRST_USER_SLOT + NR_PROCS <= kernel_sim::MAX_SLOTS);
const _: () = assert!(NR_PROCS < (PID_MAX - INIT_PID) as usize);

/// A `children` or `zombies` key: the parent's pid, then the child's slot, so that one parent's
/// children are one range, in slot order.
pub type ChildLink = (Pid, ProcKey);

/// Which flow a process is in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Running user code, or blocked in a call pm has nothing to do with.
    Running,
    /// Created by fork; waits for vfs to copy its descriptors before it may run.
    Newborn,
    /// Suspended in fork until vfs has copied the descriptors for `child`.
    Forking {
        /// The child being made.
        child: Endpoint,
    },
    /// Suspended in wait4 for `pid` (-1: any child, 0: one in its group, below -1: one in group
    /// `-pid`).
    Waiting {
        /// Which child.
        pid: Pid,
    },
    /// Suspended in sigsuspend until a signal is delivered; `saved_mask` is the mask to restore
    /// when it returns (its handler's sigreturn restores it).
    Pausing {
        /// The mask before sigsuspend.
        saved_mask: u32,
    },
    /// Suspended in exec while vfs loads the program; `argv` is what the new program gets.
    Execing {
        /// The new program's arguments.
        argv: Vec<String>,
    },
    /// Suspended in setuid, setgid, seteuid or setegid until vfs has taken the new ids (MINIX's
    /// VFS_CALL flag).
    SettingIds,
    /// Exit was asked for (or the process died); the cleanup flow is under way.
    Exiting {
        /// The wait status the parent will see.
        status: i32,
        /// Whether the kernel has reported the process's end (its body no longer runs).
        ended: bool,
    },
    /// Gone but for this entry, which holds the status until the parent waits.
    Zombie {
        /// The wait status.
        status: i32,
    },
}

impl Phase {
    /// Whether a process in this phase is blocked in a pm call pm has not answered yet (a newborn
    /// is not: its body starts with fork's answer, sent without waiting).
    pub fn suspended(&self) -> bool {
        matches!(
            self,
            Phase::Forking { .. }
                | Phase::Waiting { .. }
                | Phase::Pausing { .. }
                | Phase::Execing { .. }
                | Phase::SettingIds
        )
    }
}

/// One process-table entry (MINIX's `struct mproc`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MProc {
    /// The process's endpoint.
    pub ep: Endpoint,
    /// Its pid.
    pub pid: Pid,
    /// Its parent's pid (0 for init).
    pub parent: Pid,
    /// Real user id.
    pub uid: u32,
    /// Real group id.
    pub gid: u32,
    /// Effective user id.
    pub euid: u32,
    /// Effective group id.
    pub egid: u32,
    /// Which flow it is in.
    pub phase: Phase,
    /// Its process group (the pid of the member that made it).
    pub pgrp: Pid,
    /// Its session (the pid of the member that made it with setsid).
    pub sid: Pid,
    /// Its supplementary group ids (at most `NGROUPS_MAX`).
    pub groups: Vec<u32>,
    /// MINIX's TAINTED: its image was exec'd with effective ids other than its real ones
    /// (issetugid). Inherited at fork, decided anew at each exec.
    pub tainted: bool,
    /// sched schedules it (its SCHED_START was taken; init from boot): its SCHED_STOP must find
    /// it there.
    pub scheduled: bool,
}

/// The number of a signal's slot in the per-signal arrays (signal 0 is unused: kill's probe).
pub const SIG_SLOTS: usize = sig::NSIG as usize + 1;

/// A running ITIMER_REAL: when it expires next, and the period it is re-armed with (0: once).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RealTimer {
    /// When it expires, on the kernel's clock.
    pub due: Micros,
    /// Its period after that (0: it stops).
    pub interval: Micros,
}

/// One process's signal state (MINIX's `mp_sigmask`, `mp_sigpending`, `mp_catch`, `mp_ignore`,
/// `mp_sigact`), its ITIMER_REAL, and what getrusage counts of its signals. Masks and sets are
/// a bit per signal number.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SigState {
    /// Blocked signals (never SIGKILL or SIGSTOP).
    pub mask: u32,
    /// Signals raised while blocked, awaiting an unblock.
    pub pending: u32,
    /// Signals with a handler installed (the syscall library keeps the handler itself).
    pub caught: u32,
    /// Signals set to SIG_IGN.
    pub ignored: u32,
    /// Its ITIMER_REAL (alarm and setitimer), if running.
    pub timer: Option<RealTimer>,
    /// Stopped by a stop signal (its frame posted), until SIGCONT.
    pub stopped: bool,
    /// Signals delivered to it (getrusage's `ru_nsignals`).
    pub delivered: u64,
    /// Signals delivered to its waited-for children, summed at each reap (RUSAGE_CHILDREN).
    pub children_delivered: u64,
}

/// One process's signal actions beside its handler (MINIX's `mp_sigact`): per signal, what is
/// blocked while its handler runs and sigaction's flags. Kept apart from [`SigState`], which
/// every signal changes: these change only by sigaction, SA_RESETHAND and exec, so a signal's undo
/// record is a few words, not the whole action table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigActions {
    /// Per signal: what is blocked while its handler runs (sigaction's `sa_mask`).
    pub mask: [u32; SIG_SLOTS],
    /// Per signal: sigaction's flags (`SA_RESETHAND`, `SA_NODEFER`).
    pub flags: [u32; SIG_SLOTS],
}

impl Default for SigActions {
    fn default() -> Self {
        SigActions { mask: [0; SIG_SLOTS], flags: [0; SIG_SLOTS] }
    }
}

/// A timer-index key: when it expires, then whose.
pub type TimerKey = (Micros, ProcKey);
/// A group or session index key: the group (session) id, then a member's slot.
pub type MemberLink = (Pid, ProcKey);

/// Whether the system is up or on its way down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SystemPhase {
    /// Serving.
    Up,
    /// reboot was asked: every user process is being ended; vfs is told once none is left.
    ShuttingDown,
}

/// All of pm's mutable state.
pub struct PmState {
    /// The journal of the recovery window.
    pub journal: Journal,
    /// The process table, keyed by slot.
    pub procs: ProcTable<ProcKey, MProc>,
    /// The next pid to try.
    pub next_pid: TrackedCell<Pid>,
    /// Up, or shutting down.
    pub system: TrackedCell<SystemPhase>,
    /// Index: every entry's pid -> its slot.
    pub pids: TrackedMap<Pid, ProcKey>,
    /// Index: `(parent, slot)` of every entry.
    pub children: TrackedMap<ChildLink, ()>,
    /// Index: `(parent, slot)` of every zombie.
    pub zombies: TrackedMap<ChildLink, ()>,
    /// Index: the slots below `fresh_slot` that no entry holds.
    pub free_slots: TrackedMap<ProcKey, ()>,
    /// The lowest slot never handed out: it and every slot above it are free.
    pub fresh_slot: TrackedCell<ProcKey>,
    /// Every entry's signal state, keyed like `procs` (process-local).
    pub sigs: ProcTable<ProcKey, SigState>,
    /// Every entry's signal actions, keyed like `procs` (process-local).
    pub sigactions: ProcTable<ProcKey, SigActions>,
    /// Index: `(due, slot)` of every running ITIMER_REAL, soonest first.
    pub timers: TrackedMap<TimerKey, ()>,
    /// When pm's one kernel alarm is set to ring (the soonest timer when it was last set).
    pub alarm_due: TrackedCell<Option<Micros>>,
    /// Index: `(pgrp, slot)` of every entry.
    pub pgroups: TrackedMap<MemberLink, ()>,
    /// Index: `(sid, slot)` of every entry.
    pub sessions: TrackedMap<MemberLink, ()>,
    /// Microseconds CLOCK_REALTIME is ahead of the kernel's clock (clock_settime moves it).
    pub clock_offset: TrackedCell<i64>,
    /// The node name uname gives (root sets it).
    pub nodename: TrackedCell<Vec<u8>>,
}

tracked_state!(PmState {
    journal: journal,
    fields: [
        procs,
        next_pid,
        system,
        pids,
        children,
        zombies,
        free_slots,
        fresh_slot,
        sigs,
        sigactions,
        timers,
        alarm_due,
        pgroups,
        sessions,
        clock_offset,
        nodename
    ]
});

impl PmState {
    /// The state with init alone (the boot state).
    pub fn with_init(init: Endpoint) -> PmState {
        let journal = Journal::new();
        let mut state = PmState {
            procs: ProcTable::new(&journal, "pm.procs"),
            next_pid: TrackedCell::new(&journal, "pm.next_pid", StateClass::Global, INIT_PID + 1),
            system: TrackedCell::new(&journal, "pm.system", StateClass::Global, SystemPhase::Up),
            pids: TrackedMap::new(&journal, "pm.pids", StateClass::Global),
            children: TrackedMap::new(&journal, "pm.children", StateClass::Global),
            zombies: TrackedMap::new(&journal, "pm.zombies", StateClass::Global),
            free_slots: TrackedMap::new(&journal, "pm.free_slots", StateClass::Global),
            fresh_slot: TrackedCell::new(&journal, "pm.fresh_slot", StateClass::Global, FIRST_USER_SLOT as ProcKey),
            sigs: ProcTable::new(&journal, "pm.sigs"),
            sigactions: ProcTable::new(&journal, "pm.sigactions"),
            timers: TrackedMap::new(&journal, "pm.timers", StateClass::Global),
            alarm_due: TrackedCell::new(&journal, "pm.alarm_due", StateClass::Global, None),
            pgroups: TrackedMap::new(&journal, "pm.pgroups", StateClass::Global),
            sessions: TrackedMap::new(&journal, "pm.sessions", StateClass::Global),
            clock_offset: TrackedCell::new(&journal, "pm.clock_offset", StateClass::Global, 0),
            nodename: TrackedCell::new(&journal, "pm.nodename", StateClass::Global, DEFAULT_NODENAME.to_vec()),
            journal,
        };
        let init_entry = MProc {
            ep: init,
            pid: INIT_PID,
            parent: 0,
            uid: ROOT_UID,
            gid: 0,
            euid: ROOT_UID,
            egid: 0,
            phase: Phase::Running,
            // init leads the first session and its group.
            pgrp: INIT_PID,
            sid: INIT_PID,
            groups: Vec::new(),
            tainted: false,
            scheduled: true,
        };
        state.insert_proc(key_of(init), init_entry);
        state
    }

    /// The whole-state self-check (`check.rs`), as readable lines (empty when consistent):
    /// for the loop-top checks.
    pub fn check_invariants(&mut self) -> Vec<String> {
        super::check::check(self).into_iter().map(|v| v.to_string()).collect()
    }

    /// The processes suspended in a pm call, to be answered by a later request (vfs's answer, a
    /// child's end, a signal).
    pub fn suspended(&mut self) -> Vec<Endpoint> {
        self.procs.iter().filter(|(_, p)| p.phase.suspended()).map(|(_, p)| p.ep).collect()
    }

    /// The key of the entry whose pid is `pid`.
    pub fn key_of_pid(&mut self, pid: Pid) -> Option<ProcKey> {
        let key = *self.pids.get(&pid)?;
        let held = self.procs.get(key).map(|p| p.pid);
        assert_eq!(held, Some(pid), "pm.pids: pid {pid} is filed under slot {key}, which holds pid {held:?}");
        Some(key)
    }

    /// The slots of `pid`'s children, zombies included, in slot order.
    pub fn children_of(&mut self, pid: Pid) -> Vec<ProcKey> {
        self.children.range((pid, ProcKey::MIN)..=(pid, ProcKey::MAX)).map(|(&(_, key), _)| key).collect()
    }

    /// Whether `pid` has a child, zombie or not.
    pub fn has_children(&mut self, pid: Pid) -> bool {
        self.children.range((pid, ProcKey::MIN)..=(pid, ProcKey::MAX)).next().is_some()
    }

    /// The slot of `pid`'s zombie child in the lowest slot, if it has one.
    pub fn zombie_child_of(&mut self, pid: Pid) -> Option<ProcKey> {
        let key = self.zombies.range((pid, ProcKey::MIN)..=(pid, ProcKey::MAX)).next().map(|(&(_, key), _)| key)?;
        let entry = self.procs.get(key).map(|p| (p.parent, matches!(p.phase, Phase::Zombie { .. })));
        assert_eq!(entry, Some((pid, true)), "pm.zombies: slot {key} is filed as a zombie of pid {pid}");
        Some(key)
    }

    /// The lowest slot no entry holds: a zombie keeps its slot until it is waited for.
    pub fn free_slot(&mut self) -> ProcKey {
        let reused = self.free_slots.range(..).next().map(|(&key, _)| key);
        reused.unwrap_or(*self.fresh_slot.get())
    }

    /// The lowest free pid from `next_pid` on, wrapping at PID_MAX; advances `next_pid` past it.
    /// Amortised O(log n): a pid is skipped only while it is in use, and `next_pid` moves past
    /// every pid it skips.
    pub fn allocate_pid(&mut self) -> Pid {
        let mut pid = *self.next_pid.get();
        loop {
            if pid > PID_MAX {
                pid = INIT_PID + 1;
            }
            // As POSIX asks, a pid is not reused while a group or session of that id lives.
            if !self.pids.contains_key(&pid) && !self.names_a_group_or_session(pid) {
                break;
            }
            pid += 1;
        }
        self.next_pid.set(pid + 1);
        pid
    }

    /// Whether `id` is the id of a process group or a session with a member.
    pub fn names_a_group_or_session(&mut self, id: Pid) -> bool {
        self.pgroups.range((id, ProcKey::MIN)..=(id, ProcKey::MAX)).next().is_some()
            || self.sessions.range((id, ProcKey::MIN)..=(id, ProcKey::MAX)).next().is_some()
    }

    /// The slots of the members of process group `pgrp`, in slot order.
    pub fn members_of_group(&mut self, pgrp: Pid) -> Vec<ProcKey> {
        self.pgroups.range((pgrp, ProcKey::MIN)..=(pgrp, ProcKey::MAX)).map(|(&(_, key), _)| key).collect()
    }

    /// Whether session `sid` has a member in group `pgrp`.
    pub fn session_has_group(&mut self, sid: Pid, pgrp: Pid) -> bool {
        let members = self.members_of_group(pgrp);
        members.into_iter().any(|key| self.procs.get(key).is_some_and(|p| p.sid == sid))
    }

    /// Moves the entry at `key` into group `pgrp` of session `sid` (setpgid, setsid), indexed.
    pub fn set_group(&mut self, key: ProcKey, pgrp: Pid, sid: Pid) {
        let entry = self.procs.get_mut_global(key).expect("a grouped entry");
        let (old_pgrp, old_sid) = (std::mem::replace(&mut entry.pgrp, pgrp), std::mem::replace(&mut entry.sid, sid));
        let filed = self.pgroups.remove(&(old_pgrp, key));
        assert!(filed.is_some(), "pm.pgroups: slot {key} is not filed under its group {old_pgrp}");
        let filed = self.sessions.remove(&(old_sid, key));
        assert!(filed.is_some(), "pm.sessions: slot {key} is not filed under its session {old_sid}");
        self.pgroups.insert((pgrp, key), ());
        self.sessions.insert((sid, key), ());
    }

    /// Sets (or stops, with `None`) the ITIMER_REAL of the entry at `key`, indexed.
    pub fn set_timer(&mut self, key: ProcKey, timer: Option<RealTimer>) {
        let sigs = self.sigs.get_mut_global(key).expect("a timed entry has signal state");
        let old = std::mem::replace(&mut sigs.timer, timer);
        if let Some(old) = old {
            let filed = self.timers.remove(&(old.due, key));
            assert!(filed.is_some(), "pm.timers: the timer of slot {key} due at {} is not filed", old.due);
        }
        if let Some(new) = timer {
            self.timers.insert((new.due, key), ());
        }
    }

    /// Adds `entry` at the free slot `key` (init at boot, a child at fork), indexed.
    pub fn insert_proc(&mut self, key: ProcKey, entry: MProc) {
        assert!(key >= FIRST_USER_SLOT as ProcKey, "slot {key} is a service's");
        assert!(!self.procs.contains(key), "slot {key} is taken");
        assert!(!self.pids.contains_key(&entry.pid), "pid {} is taken", entry.pid);
        assert!(!matches!(entry.phase, Phase::Zombie { .. }), "a new entry runs");
        let fresh = *self.fresh_slot.get();
        if key < fresh {
            assert!(self.free_slots.remove(&key).is_some(), "pm.free_slots: free slot {key} is not listed");
        } else {
            // Slots skipped on the way up are free (only init's slot is given, at boot).
            for skipped in fresh..key {
                self.free_slots.insert(skipped, ());
            }
            self.fresh_slot.set(key + 1);
        }
        self.pids.insert(entry.pid, key);
        self.children.insert((entry.parent, key), ());
        self.pgroups.insert((entry.pgrp, key), ());
        self.sessions.insert((entry.sid, key), ());
        self.sigs.insert_global(key, SigState::default());
        self.sigactions.insert_global(key, SigActions::default());
        self.procs.insert_global(key, entry);
    }

    /// Removes the entry at `key` (a reaped zombie, init's end), and its index entries.
    pub fn remove_proc(&mut self, key: ProcKey) -> Option<MProc> {
        let entry = self.procs.remove_global(key)?;
        let filed = self.pids.remove(&entry.pid);
        assert_eq!(filed, Some(key), "pm.pids: pid {} of slot {key} is filed under {filed:?}", entry.pid);
        let linked = self.children.remove(&(entry.parent, key));
        assert!(linked.is_some(), "pm.children: slot {key} is not filed under its parent {}", entry.parent);
        if matches!(entry.phase, Phase::Zombie { .. }) {
            let filed = self.zombies.remove(&(entry.parent, key));
            assert!(filed.is_some(), "pm.zombies: zombie slot {key} is not filed under its parent {}", entry.parent);
        }
        let filed = self.pgroups.remove(&(entry.pgrp, key));
        assert!(filed.is_some(), "pm.pgroups: slot {key} is not filed under its group {}", entry.pgrp);
        let filed = self.sessions.remove(&(entry.sid, key));
        assert!(filed.is_some(), "pm.sessions: slot {key} is not filed under its session {}", entry.sid);
        self.set_timer(key, None);
        let sigs = self.sigs.remove_global(key);
        self.sigactions.discard_global(key);
        // A zombie leaves only when its parent waits for it: getrusage(RUSAGE_CHILDREN) counts it.
        if matches!(entry.phase, Phase::Zombie { .. })
            && let Some(sigs) = sigs
            && let Some(&parent) = self.pids.get(&entry.parent)
            && let Some(parent_sigs) = self.sigs.get_mut_global(parent)
        {
            parent_sigs.children_delivered += sigs.delivered + sigs.children_delivered;
        }
        self.free_slots.insert(key, ());
        Some(entry)
    }

    /// Gives the entry at `key` to a new parent (orphans go to init).
    pub fn reparent(&mut self, key: ProcKey, parent: Pid) {
        let entry = self.procs.get_mut_global(key).expect("re-parenting an entry");
        let old = std::mem::replace(&mut entry.parent, parent);
        let zombie = matches!(entry.phase, Phase::Zombie { .. });
        let linked = self.children.remove(&(old, key));
        assert!(linked.is_some(), "pm.children: slot {key} is not filed under its parent {old}");
        self.children.insert((parent, key), ());
        if zombie {
            let filed = self.zombies.remove(&(old, key));
            assert!(filed.is_some(), "pm.zombies: zombie slot {key} is not filed under its parent {old}");
            self.zombies.insert((parent, key), ());
        }
    }

    /// Turns the entry at `key` into a zombie holding `status`, filed for its parent's wait.
    pub fn make_zombie(&mut self, key: ProcKey, status: i32) {
        let entry = self.procs.get_mut_global(key).expect("a zombie is made of an entry");
        assert!(!matches!(entry.phase, Phase::Zombie { .. }), "slot {key} is a zombie already");
        entry.phase = Phase::Zombie { status };
        let parent = entry.parent;
        self.zombies.insert((parent, key), ());
        // A zombie runs no handler and no timer: what was pending for it is dropped.
        self.set_timer(key, None);
        let sigs = self.sigs.get_mut_global(key).expect("every entry has signal state");
        sigs.pending = 0;
        sigs.stopped = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::INIT;
    use recovery::TrackedState;

    /// Forks a child of `parent` the way `do_fork` does: the lowest free slot, the next pid.
    fn fork(state: &mut PmState, parent: Pid) -> (ProcKey, Pid) {
        let key = state.free_slot();
        let pid = state.allocate_pid();
        let entry = MProc {
            ep: Endpoint::new(key as usize, 0),
            pid,
            parent,
            uid: ROOT_UID,
            gid: 0,
            euid: ROOT_UID,
            egid: 0,
            phase: Phase::Running,
            pgrp: INIT_PID,
            sid: INIT_PID,
            groups: Vec::new(),
            tainted: false,
            scheduled: true,
        };
        state.insert_proc(key, entry);
        (key, pid)
    }

    fn consistent(state: &mut PmState) {
        assert_eq!(state.check_invariants(), Vec::<String>::new());
    }

    /// The table as `(slot, pid, parent, phase)`, to compare whole states.
    fn table(state: &mut PmState) -> Vec<(ProcKey, Pid, Pid, Phase)> {
        state.procs.iter().map(|(&k, p)| (k, p.pid, p.parent, p.phase.clone())).collect()
    }

    #[test]
    fn fork_exit_and_wait_keep_the_indexes_and_reuse_the_lowest_slot() {
        let mut state = PmState::with_init(INIT);
        let first = FIRST_USER_SLOT as ProcKey;
        let (a, a_pid) = fork(&mut state, INIT_PID);
        let (b, b_pid) = fork(&mut state, INIT_PID);
        let (c, c_pid) = fork(&mut state, a_pid);
        assert_eq!((a, b, c), (first + 1, first + 2, first + 3));
        consistent(&mut state);
        assert_eq!(state.children_of(INIT_PID), vec![a, b]);
        assert_eq!(state.key_of_pid(c_pid), Some(c));
        // a exits: its child goes to init; a is a zombie until init waits.
        state.reparent(c, INIT_PID);
        state.make_zombie(a, 0);
        consistent(&mut state);
        assert_eq!(state.children_of(INIT_PID), vec![a, b, c]);
        assert_eq!(state.zombie_child_of(INIT_PID), Some(a));
        assert!(!state.has_children(a_pid));
        state.remove_proc(a);
        consistent(&mut state);
        assert_eq!(state.key_of_pid(a_pid), None);
        assert_eq!(state.zombie_child_of(INIT_PID), None);
        // The freed slot is the lowest free one again; pids go on from the last.
        let (d, d_pid) = fork(&mut state, b_pid);
        assert_eq!((d, d_pid), (a, c_pid + 1));
        consistent(&mut state);
    }

    #[test]
    fn pids_wrap_at_pid_max_and_skip_the_ones_in_use() {
        let mut state = PmState::with_init(INIT);
        let (_, low) = fork(&mut state, INIT_PID);
        state.next_pid.set(PID_MAX);
        let (_, last) = fork(&mut state, INIT_PID);
        let (_, wrapped) = fork(&mut state, INIT_PID);
        assert_eq!((low, last, wrapped), (INIT_PID + 1, PID_MAX, INIT_PID + 2), "init and {low} are in use");
        consistent(&mut state);
    }

    #[test]
    fn a_rollback_or_a_suppression_leaves_the_indexes_agreeing_with_the_table() {
        let mut state = PmState::with_init(INIT);
        let (a, a_pid) = fork(&mut state, INIT_PID);
        let (b, _) = fork(&mut state, a_pid);
        state.make_zombie(b, 3);
        let before = table(&mut state);
        // One request of every kind of index write, then a crash.
        let crashed = |state: &mut PmState| {
            state.checkpoint();
            fork(state, INIT_PID);
            state.remove_proc(b);
            state.reparent(a, 0);
            state.make_zombie(a, 9);
        };
        crashed(&mut state);
        state.rollback();
        consistent(&mut state);
        assert_eq!(table(&mut state), before);
        // Suppressed, the writes stay as suspects: whatever is read first sees the old state.
        crashed(&mut state);
        state.suppress();
        state.checkpoint();
        assert_eq!(state.zombie_child_of(a_pid), Some(b));
        assert_eq!(state.free_slot(), b + 1, "the suppressed fork's slot is free again");
        consistent(&mut state);
        assert_eq!(table(&mut state), before);
    }
}

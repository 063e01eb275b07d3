//! pm's invariants: unique pids, each entry filed under its endpoint's slot, and the indexes
//! (`pids`, `children`, `zombies`, `free_slots` and `fresh_slot`) saying exactly what the table
//! says. Signals, timers, groups and sessions: signal state for exactly the entries, SIGKILL and
//! SIGSTOP never caught, ignored or blocked, nothing pending and no timer for a zombie, the timer
//! index and the group and session indexes saying what the table says, the kernel alarm set no
//! later than the soonest timer, a group within one session, a session leader leading its group,
//! and a group or session id that is a live pid naming a member.
//!
//! It reads a stopped (or crashed) pm's state and must not panic on damage: it compares what each
//! index holds with what it would hold if rebuilt from the table.

use crate::invariant::{Violation, and_joined, violation};
use crate::pm::signal::UNCATCHABLE;
use crate::pm::state::{ChildLink, MemberLink, NR_PROCS, Phase, PmState, TimerKey};
use crate::proto::{Pid, ProcKey};
use kernel_sim::Micros;
use kernel_sim::manifest::FIRST_USER_SLOT;
use std::collections::{BTreeMap, BTreeSet};

/// Differences an index violation lists before it only counts the rest.
const LISTED_MAX: usize = 8;

/// Every invariant of `pm::state` broken in `pm`.
pub fn check(pm: &mut PmState) -> Vec<Violation> {
    let mut found = Vec::new();
    // (slot, pid, parent, zombie) of every entry, and the pid index rebuilt from them.
    let mut procs: Vec<(ProcKey, Pid, Pid, bool)> = Vec::new();
    let mut pids = BTreeMap::new();
    for (&key, p) in pm.procs.iter() {
        procs.push((key, p.pid, p.parent, matches!(p.phase, Phase::Zombie { .. })));
        if let Some(other) = pids.insert(p.pid, key) {
            found.push(violation("pm.unique-pids", format!("pid {} is held by slots {other} and {key}", p.pid)));
        }
        if key != p.ep.slot() as ProcKey {
            found.push(violation("pm.slot-key", format!("entry at slot {key} names endpoint {}", p.ep)));
        }
    }

    let filed: BTreeMap<Pid, ProcKey> = pm.pids.iter().map(|(&pid, &key)| (pid, key)).collect();
    let slot = |key: &ProcKey| format!("slot {key}");
    compare("pm.pid-index", "pm.pids", &pids, &filed, |pid| format!("pid {pid}"), slot, &mut found);
    let children: BTreeMap<ChildLink, ()> = procs.iter().map(|&(key, _, parent, _)| ((parent, key), ())).collect();
    let filed: BTreeMap<ChildLink, ()> = pm.children.iter().map(|(&link, _)| (link, ())).collect();
    let child = |&(parent, key): &ChildLink| format!("slot {key} as a child of pid {parent}");
    compare("pm.child-index", "pm.children", &children, &filed, child, unit, &mut found);
    let zombies: BTreeMap<ChildLink, ()> =
        procs.iter().filter(|p| p.3).map(|&(key, _, parent, _)| ((parent, key), ())).collect();
    let filed: BTreeMap<ChildLink, ()> = pm.zombies.iter().map(|(&link, _)| (link, ())).collect();
    let zombie = |&(parent, key): &ChildLink| format!("slot {key} as a zombie of pid {parent}");
    compare("pm.zombie-index", "pm.zombies", &zombies, &filed, zombie, unit, &mut found);

    // Every slot below `fresh_slot` is held or free, never both; none above is either.
    let mut fresh = *pm.fresh_slot.get();
    let past_the_table = (FIRST_USER_SLOT + NR_PROCS) as ProcKey;
    if fresh > past_the_table {
        found.push(violation(
            "pm.slot-index",
            format!("pm.fresh_slot {fresh} is past the last slot a table of {NR_PROCS} entries can reach"),
        ));
        fresh = past_the_table;
    }
    let held: BTreeSet<ProcKey> = procs.iter().map(|p| p.0).collect();
    let free: BTreeSet<ProcKey> = pm.free_slots.iter().map(|(&key, _)| key).collect();
    let expected: BTreeMap<ProcKey, ()> =
        (FIRST_USER_SLOT as ProcKey..fresh).filter(|key| !held.contains(key)).map(|key| (key, ())).collect();
    let filed: BTreeMap<ProcKey, ()> = free.iter().map(|&key| (key, ())).collect();
    compare("pm.slot-index", "pm.free_slots", &expected, &filed, |key| format!("free slot {key}"), unit, &mut found);
    if let Some(&past) = held.range(fresh..).next() {
        found.push(violation("pm.slot-index", format!("slot {past} is held, at or above pm.fresh_slot {fresh}")));
    }
    check_signals(pm, &mut found);
    check_groups(pm, &mut found);
    found
}

/// Signal state and timers.
fn check_signals(pm: &mut PmState, found: &mut Vec<Violation>) {
    let entries: BTreeMap<ProcKey, (Pid, bool)> =
        pm.procs.iter().map(|(&k, p)| (k, (p.pid, matches!(p.phase, Phase::Zombie { .. })))).collect();
    let with_state: BTreeMap<ProcKey, ()> = pm.sigs.iter().map(|(&k, _)| (k, ())).collect();
    let expected: BTreeMap<ProcKey, ()> = entries.keys().map(|&k| (k, ())).collect();
    let state = |key: &ProcKey| format!("the signal state of slot {key}");
    compare("pm.sig-state", "pm.sigs", &expected, &with_state, state, unit, found);
    let with_actions: BTreeMap<ProcKey, ()> = pm.sigactions.iter().map(|(&k, _)| (k, ())).collect();
    let actions = |key: &ProcKey| format!("the signal actions of slot {key}");
    compare("pm.sig-actions", "pm.sigactions", &expected, &with_actions, actions, unit, found);
    let mut timers = BTreeMap::new();
    for (&key, s) in pm.sigs.iter() {
        let Some(&(pid, zombie)) = entries.get(&key) else { continue };
        if (s.mask | s.caught | s.ignored) & UNCATCHABLE != 0 {
            found.push(violation(
                "pm.uncatchable",
                format!(
                    "pid {pid} blocks, catches or ignores SIGKILL or SIGSTOP (mask {:#x}, caught {:#x}, ignored {:#x})",
                    s.mask, s.caught, s.ignored
                ),
            ));
        }
        if zombie && (s.pending != 0 || s.timer.is_some() || s.stopped) {
            found.push(violation(
                "pm.signals-live",
                format!(
                    "zombie pid {pid} {}",
                    and_joined(&zombie_leftovers(s.pending, s.timer.map(|t| t.due), s.stopped))
                ),
            ));
        }
        if let Some(t) = s.timer {
            timers.insert((t.due, key), ());
        }
    }
    let filed: BTreeMap<TimerKey, ()> = pm.timers.iter().map(|(&k, _)| (k, ())).collect();
    let timer = |&(due, key): &TimerKey| format!("the timer of slot {key} due at {due}");
    compare("pm.timer-index", "pm.timers", &timers, &filed, timer, unit, found);
    if let Some(&(soonest, _)) = timers.keys().next() {
        let alarm = *pm.alarm_due.get();
        if alarm.is_none_or(|due| due > soonest) {
            found.push(violation(
                "pm.timer-alarm",
                match alarm {
                    Some(due) => format!("the soonest timer is due at {soonest} but pm's kernel alarm rings at {due}"),
                    None => format!("the soonest timer is due at {soonest} but pm set no kernel alarm"),
                },
            ));
        }
    }
}

/// Process groups and sessions.
fn check_groups(pm: &mut PmState, found: &mut Vec<Violation>) {
    let entries: Vec<(ProcKey, Pid, Pid, Pid)> = pm.procs.iter().map(|(&k, p)| (k, p.pid, p.pgrp, p.sid)).collect();
    let groups: BTreeMap<MemberLink, ()> = entries.iter().map(|&(k, _, g, _)| ((g, k), ())).collect();
    let filed: BTreeMap<MemberLink, ()> = pm.pgroups.iter().map(|(&k, _)| (k, ())).collect();
    let member = |&(pgrp, key): &MemberLink| format!("slot {key} in group {pgrp}");
    compare("pm.group-index", "pm.pgroups", &groups, &filed, member, unit, found);
    let sessions: BTreeMap<MemberLink, ()> = entries.iter().map(|&(k, _, _, s)| ((s, k), ())).collect();
    let filed: BTreeMap<MemberLink, ()> = pm.sessions.iter().map(|(&k, _)| (k, ())).collect();
    let member = |&(sid, key): &MemberLink| format!("slot {key} in session {sid}");
    compare("pm.session-index", "pm.sessions", &sessions, &filed, member, unit, found);
    let by_pid: BTreeMap<Pid, (Pid, Pid)> = entries.iter().map(|&(_, pid, g, s)| (pid, (g, s))).collect();
    let mut session_of_group: BTreeMap<Pid, Pid> = BTreeMap::new();
    for &(_, pid, pgrp, sid) in &entries {
        if let Some(&other) = session_of_group.get(&pgrp)
            && other != sid
        {
            found.push(violation("pm.group-session", format!("group {pgrp} spans sessions {other} and {sid}")));
        }
        session_of_group.insert(pgrp, sid);
        if pid == sid && pgrp != pid {
            found.push(violation("pm.session-leader", format!("session leader {pid} is in group {pgrp}")));
        }
        // An id in use is a pid no process outside that group (session) holds.
        if let Some(&(owner_group, _)) = by_pid.get(&pgrp)
            && owner_group != pgrp
        {
            found.push(violation(
                "pm.group-owner",
                format!("pid {pid} is in group {pgrp}, but pid {pgrp} is in group {owner_group}"),
            ));
        }
        if let Some(&(_, owner_session)) = by_pid.get(&sid)
            && owner_session != sid
        {
            found.push(violation(
                "pm.session-owner",
                format!("pid {pid} is in session {sid}, but pid {sid} is in session {owner_session}"),
            ));
        }
    }
}

/// What a zombie still has that it should not, one clause each: pending signals, a timer, the
/// stopped mark.
fn zombie_leftovers(pending: u32, timer_due: Option<Micros>, stopped: bool) -> Vec<String> {
    let mut clauses = Vec::new();
    if pending != 0 {
        clauses.push(format!("has pending signals {pending:#x}"));
    }
    if let Some(due) = timer_due {
        clauses.push(format!("has a timer due at {due}"));
    }
    if stopped {
        clauses.push("is stopped".to_string());
    }
    clauses
}

/// An index's value where the index holds only keys (`()`): never shown, since two `()` agree.
fn unit(_: &()) -> String {
    String::new()
}

/// `filed` (an index as pm keeps it) against `expected` (the index rebuilt from the table); `key`
/// and `value` name an entry's key and value for people.
fn compare<K: Ord, V: PartialEq>(
    invariant: &'static str,
    index: &str,
    expected: &BTreeMap<K, V>,
    filed: &BTreeMap<K, V>,
    key: impl Fn(&K) -> String,
    value: impl Fn(&V) -> String,
    found: &mut Vec<Violation>,
) {
    let mut differences = Vec::new();
    for (k, v) in expected {
        match filed.get(k) {
            None => differences.push(format!("{} is missing", key(k))),
            Some(other) if other != v => {
                differences.push(format!("{} holds {}, not {}", key(k), value(other), value(v)))
            }
            Some(_) => {}
        }
    }
    differences.extend(filed.keys().filter(|k| !expected.contains_key(k)).map(|k| format!("{} is stray", key(k))));
    if differences.is_empty() {
        return;
    }
    let listed: Vec<&str> = differences.iter().take(LISTED_MAX).map(String::as_str).collect();
    let more = differences.len().saturating_sub(LISTED_MAX);
    let tail = if more > 0 { format!(" and {more} more") } else { String::new() };
    found.push(violation(invariant, format!("{index} disagrees with the process table: {}{tail}", listed.join(", "))));
}

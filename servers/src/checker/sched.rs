//! sched's invariants: each entry filed under its endpoint's slot, its nice value in range, its
//! priority a user queue no higher than its nice value gives, its time slice not empty (`check`, also sched's loop-top
//! self-check); and across sched and pm, every running user process scheduled and no other
//! (`check_against_pm`).
//!
//! It reads a stopped (or crashed) sched's state and must not panic on damage.

use super::Violation;
use crate::pm::state::{Phase, PmState};
use crate::proto::ProcKey;
use crate::proto::sched::{PRIO_MAX, PRIO_MIN};
use crate::sched::state::{MIN_USER_Q, SchedState, nice_to_priority};
use std::collections::BTreeMap;

fn violation(invariant: &'static str, detail: String) -> Violation {
    Violation { invariant, detail }
}

/// Every invariant of `sched::state` broken in `sched`.
pub fn check(sched: &mut SchedState) -> Vec<Violation> {
    let mut found = Vec::new();
    for (&key, p) in sched.procs.iter() {
        if key != p.ep.slot() as ProcKey {
            found.push(violation("sched.slot-key", format!("entry at slot {key} names endpoint {}", p.ep)));
        }
        if p.quantum == 0 {
            found.push(violation("sched.quantum", format!("{} has an empty time slice", p.ep)));
        }
        if !(PRIO_MIN..=PRIO_MAX).contains(&p.nice) {
            found.push(violation("sched.nice-range", format!("{} has nice value {}", p.ep, p.nice)));
        } else if p.priority < nice_to_priority(p.nice) || p.priority > MIN_USER_Q {
            found.push(violation(
                "sched.priority",
                format!(
                    "{} is in queue {} with nice value {} (queues {}..={MIN_USER_Q})",
                    p.ep,
                    p.priority,
                    p.nice,
                    nice_to_priority(p.nice)
                ),
            ));
        }
    }
    found
}

/// sched schedules exactly pm's running processes: every process in a flow of its own (running,
/// forking, waiting, pausing in sigsuspend, execing) is scheduled under its endpoint, and nothing is scheduled that pm
/// holds as a zombie or does not hold. A newborn (sched starts it when vfs has answered the fork)
/// and an exiting process (sched stops it on the way out) may be either.
pub fn check_against_pm(sched: &mut SchedState, pm: &mut PmState) -> Vec<Violation> {
    let mut found = Vec::new();
    let scheduled: BTreeMap<ProcKey, kernel_sim::Endpoint> = sched.procs.iter().map(|(&k, p)| (k, p.ep)).collect();
    let mut known = BTreeMap::new();
    for (&key, p) in pm.procs.iter() {
        known.insert(key, (p.ep, p.pid, p.phase.clone()));
    }
    for (&key, (ep, pid, phase)) in &known {
        // A process in sigsuspend is alive like one in wait4: pm stops scheduling only at exit.
        let must = matches!(
            phase,
            Phase::Running
                | Phase::Forking { .. }
                | Phase::Waiting { .. }
                | Phase::Pausing { .. }
                | Phase::Execing { .. }
        );
        let may = must || matches!(phase, Phase::Newborn | Phase::Exiting { .. });
        match scheduled.get(&key) {
            Some(s) if s != ep => found.push(violation(
                "sched.pm-process",
                format!("pm's pid {pid} is {ep}, sched schedules {s} in its slot"),
            )),
            Some(_) if !may => found
                .push(violation("sched.pm-process", format!("sched still schedules pm's pid {pid} ({ep}), a zombie"))),
            None if must => {
                found.push(violation("sched.pm-process", format!("pm's pid {pid} ({ep}) is not scheduled")))
            }
            _ => {}
        }
    }
    for (key, ep) in &scheduled {
        if !known.contains_key(key) {
            found.push(violation("sched.pm-process", format!("sched schedules {ep}, which pm does not know")));
        }
    }
    found
}

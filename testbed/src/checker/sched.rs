//! sched against pm: every running user process scheduled and no other.

use os::invariant::{Violation, violation};
use os::pm::state::{Phase, PmState};
use os::proto::ProcKey;
use os::sched::state::SchedState;
use std::collections::BTreeMap;

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

//! sched's own invariants: each entry filed under its endpoint's slot, its nice value in range, its
//! priority a user queue no higher than its nice value gives, its time slice not empty. Its
//! loop-top self-check, and the testbed's checker's part for sched.
//!
//! It reads a stopped (or crashed) sched's state and must not panic on damage.

use crate::invariant::{Violation, violation};
use crate::proto::ProcKey;
use crate::proto::sched::{PRIO_MAX, PRIO_MIN};
use crate::sched::state::{MIN_USER_Q, SchedState, nice_to_priority};

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

//! Host resources under the `threads` engine: each simulated process is a host thread, and a long
//! run of short-lived processes must give each thread's stacks back as it goes. Alone in its test
//! binary, so that the host process's memory maps are this test's only.

use kernel_sim::EngineKind;
use std::sync::{Arc, Mutex};

/// Memory maps of the host process now.
fn host_maps() -> usize {
    std::fs::read_to_string("/proc/self/maps").map_or(0, |m| m.lines().count())
}

#[test]
fn short_lived_processes_under_threads_give_their_stacks_back_as_they_go() {
    use testbed::run::{RunSpec, execute};
    // Each process is a host thread with a stack and a signal stack, each with a guard page: a
    // thread that ended but was never joined keeps them, and thousands of forks ran the host out
    // of memory maps (65,530) before the run ended.
    const FORKS: usize = 600;
    const SETTLED_AFTER: usize = 100;
    let counts = Arc::new(Mutex::new(Vec::new()));
    let seen = counts.clone();
    let spec = RunSpec { engine: EngineKind::Threads, ..RunSpec::default() };
    let result = execute(&spec, testbed::boot::default_table(), move |sys, rec| {
        for i in 1..=FORKS {
            let forked = sys.fork(|_| 0).and_then(|pid| sys.waitpid(pid, 0));
            if !rec.check("fork-and-reap", forked.is_ok(), || format!("fork {i} failed")) {
                return;
            }
            if i == SETTLED_AFTER || i == FORKS {
                seen.lock().unwrap().push(host_maps());
            }
        }
    });
    assert!(result.workload.failures.is_empty(), "{:?}", result.workload.failures);
    let counts = counts.lock().unwrap().clone();
    let [settled, last] = counts[..] else { panic!("both counts taken: {counts:?}") };
    // Two maps a leaked thread at the least: 500 leaked would add 1,000.
    assert!(last < settled + 200, "{} forks later the host has {last} maps, {settled} before", FORKS - SETTLED_AFTER);
}

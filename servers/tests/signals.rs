//! Signals end to end: a handler a program installs runs when a signal comes (its own kill, a
//! child's, an alarm), interrupts wait4, sigsuspend and a pipe read in vfs with EINTR, and the
//! checker finds the system clean after.

use kernel_sim::EngineKind;
use servers::boot::{MachineConfig, boot};
use servers::checker::{self, Snapshot};
use servers::libc::{SigAction, Sys};
use servers::proto::pm::*;
use servers::proto::vm::layout::STACK_TOP;
use std::sync::mpsc;

/// Where the tests' handler counts its runs: the top of the stack region, which nothing else
/// uses (each process its own, fork copies it).
const COUNTER: u64 = STACK_TOP - 8;

fn count_runs(sys: &Sys<'_>, _signo: i32) {
    let n = runs(sys);
    sys.proc().mem_write(COUNTER, &(n + 1).to_le_bytes()).unwrap();
}

fn runs(sys: &Sys<'_>) -> u32 {
    let mut raw = [0u8; 4];
    sys.proc().mem_read(COUNTER, &mut raw).unwrap();
    u32::from_le_bytes(raw)
}

fn catch(sys: &Sys<'_>, signo: i32) {
    let action = SigAction::Handler { handler: count_runs, mask: 0, flags: 0 };
    sys.sigaction(signo, Some(action)).unwrap();
}

/// Boots a machine running `init` under `engine`, runs it to the end, and returns what init
/// sent and the checker's verdict.
fn run<T: Send + 'static>(
    engine: EngineKind,
    init: impl FnOnce(&Sys<'_>) -> T + Send + 'static,
) -> (T, Vec<checker::Violation>) {
    let mut config = MachineConfig { check_invariants: true, ..MachineConfig::default() };
    config.kernel.engine = engine;
    let (tx, rx) = mpsc::channel();
    let mut machine = boot(&config, move |sys| {
        tx.send(init(sys)).unwrap();
        0
    });
    let report = machine.run();
    let got = rx.recv().unwrap_or_else(|_| panic!("init finished: {report:?}"));
    let mut snapshot = Snapshot::take(&machine);
    (got, checker::check(&mut snapshot))
}

#[test]
fn a_handler_runs_for_a_self_kill_and_sigreturn_restores_the_mask() {
    for engine in [EngineKind::Sim, EngineKind::Threads] {
        let (got, violations) = run(engine, |sys| {
            catch(sys, sig::SIGUSR1);
            let pid = sys.getpid().unwrap();
            sys.kill(pid, sig::SIGUSR1).unwrap();
            let after_one = runs(sys);
            sys.kill(pid, sig::SIGUSR1).unwrap();
            let after_two = runs(sys);
            (after_one, after_two, sys.sigmask().unwrap())
        });
        assert_eq!(got, (1, 2, 0), "{engine:?}");
        assert_eq!(violations, [], "{engine:?}");
    }
}

//! Signals end to end: a handler a program installs runs when a signal comes (its own kill, a
//! child's, an alarm), interrupts wait4, sigsuspend and a pipe read in vfs with EINTR, and the
//! checker finds the system clean after.

use kernel_sim::EngineKind;
use os::errno::Errno;
use os::proto::pm::*;
use std::sync::mpsc;
use testbed::boot::{MachineConfig, boot};
use testbed::checker::{self, Snapshot};
use userland::libc::{SigAction, Sys, count_handler_run, handler_runs};

/// How often the handler ran in this process.
fn runs(sys: &Sys<'_>) -> u32 {
    handler_runs(sys).unwrap()
}

fn catch(sys: &Sys<'_>, signo: i32) {
    let action = SigAction::Handler { handler: count_handler_run, mask: 0, flags: 0 };
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

/// Microseconds of the interval timers the tests set: long enough that the call it interrupts
/// is blocked by then, short enough for a test under `threads` (wall time).
const TIMER_US: u64 = 20_000;

fn in_20ms() -> userland::libc::Itimer {
    userland::libc::Itimer { value_us: TIMER_US, interval_us: 0 }
}

#[test]
fn an_alarm_interrupts_a_pipe_read_suspended_in_vfs_with_eintr() {
    for engine in [EngineKind::Sim, EngineKind::Threads] {
        let (got, violations) = run(engine, |sys| {
            catch(sys, sig::SIGALRM);
            let (r, w) = sys.pipe().unwrap();
            sys.setitimer(ITIMER_REAL, in_20ms()).unwrap();
            let mut buf = [0u8; 4];
            let read = sys.read(r, &mut buf);
            let handled = runs(sys);
            // The pipe works as before: the interrupted read left nothing suspended.
            sys.write(w, b"ok").unwrap();
            let again = sys.read(r, &mut buf).map(|n| buf[..n].to_vec());
            sys.close(r).unwrap();
            sys.close(w).unwrap();
            (read, handled, again, sys.getitimer(ITIMER_REAL).unwrap().value_us)
        });
        assert_eq!(got, (Err(Errno::EINTR), 1, Ok(b"ok".to_vec()), 0), "{engine:?}");
        assert_eq!(violations, [], "{engine:?}");
    }
}

#[test]
fn an_alarm_interrupts_a_named_pipes_open_waiting_for_a_writer_with_eintr() {
    use os::proto::vfs::flags::{O_NONBLOCK, O_RDONLY, O_WRONLY};
    for engine in [EngineKind::Sim, EngineKind::Threads] {
        let (got, violations) = run(engine, |sys| {
            catch(sys, sig::SIGALRM);
            sys.mkfifo("/tmp/fifo", 0o600).unwrap();
            sys.setitimer(ITIMER_REAL, in_20ms()).unwrap();
            let opened = sys.open("/tmp/fifo", O_RDONLY, 0);
            let handled = runs(sys);
            // The interrupted open left no descriptor and no reader: a writer finds none.
            let left_open = (0..8).filter(|&fd| sys.fstat(fd).is_ok()).count();
            let writer = sys.open("/tmp/fifo", O_WRONLY | O_NONBLOCK, 0);
            sys.unlink("/tmp/fifo").unwrap();
            (opened, handled, left_open, writer)
        });
        assert_eq!(got, (Err(Errno::EINTR), 1, 0, Err(Errno::ENXIO)), "{engine:?}");
        assert_eq!(violations, [], "{engine:?}");
    }
}

#[test]
fn an_alarm_interrupts_wait4_with_eintr() {
    for engine in [EngineKind::Sim, EngineKind::Threads] {
        let (got, violations) = run(engine, |sys| {
            catch(sys, sig::SIGALRM);
            let (r, w) = sys.pipe().unwrap();
            // The child waits on the pipe until the parent closes it.
            let child = sys
                .fork(move |c| {
                    let _ = c.close(w);
                    let mut buf = [0u8; 1];
                    c.read(r, &mut buf).map_or(1, |n| n as i32)
                })
                .unwrap();
            sys.close(r).unwrap();
            sys.setitimer(ITIMER_REAL, in_20ms()).unwrap();
            let waited = sys.waitpid(child, 0);
            let handled = runs(sys);
            sys.close(w).unwrap();
            (waited, handled, sys.waitpid(child, 0))
        });
        let (waited, handled, reaped) = got;
        assert_eq!((waited, handled), (Err(Errno::EINTR), 1), "{engine:?}");
        assert!(matches!(reaped, Ok((_, status)) if status == exit_status(0)), "{engine:?}: {reaped:?}");
        assert_eq!(violations, [], "{engine:?}");
    }
}

#[test]
fn sigsuspend_waits_for_a_blocked_signal_and_restores_the_mask() {
    for engine in [EngineKind::Sim, EngineKind::Threads] {
        let (got, violations) = run(engine, |sys| {
            catch(sys, sig::SIGUSR1);
            let usr1 = sig_bit(sig::SIGUSR1);
            sys.sigprocmask(SIG_BLOCK, usr1).unwrap();
            let child = sys
                .fork(|c| {
                    let parent = c.getppid().unwrap();
                    c.kill(parent, sig::SIGUSR1).map_or(1, |()| 0)
                })
                .unwrap();
            let reaped = sys.waitpid(child, 0).map(|(_, status)| status);
            let pending = sys.sigpending().unwrap();
            let handled_before = runs(sys);
            let suspended = sys.sigsuspend(0);
            (reaped, pending, handled_before, suspended, runs(sys), sys.sigmask().unwrap(), sys.sigpending().unwrap())
        });
        let usr1 = sig_bit(sig::SIGUSR1);
        assert_eq!(got, (Ok(exit_status(0)), usr1, 0, Errno::EINTR, 1, usr1, 0), "{engine:?}");
        assert_eq!(violations, [], "{engine:?}");
    }
}

#[test]
fn default_actions_show_in_the_wait_status() {
    let (got, violations) = run(EngineKind::Sim, |sys| {
        let mut statuses = Vec::new();
        for signo in [sig::SIGTERM, sig::SIGQUIT, sig::SIGUSR2] {
            let child = sys
                .fork(move |c| {
                    let me = c.getpid().unwrap();
                    let _ = c.kill(me, signo);
                    // Only an ignored signal lets it get here.
                    7
                })
                .unwrap();
            statuses.push(sys.waitpid(child, 0).map(|(_, s)| s));
        }
        let ignorer = sys
            .fork(|c| {
                c.sigaction(sig::SIGTERM, Some(SigAction::Ignore)).unwrap();
                let me = c.getpid().unwrap();
                c.kill(me, sig::SIGTERM).map_or(1, |()| 7)
            })
            .unwrap();
        statuses.push(sys.waitpid(ignorer, 0).map(|(_, s)| s));
        statuses
    });
    assert_eq!(
        got,
        [
            Ok(signal_status(sig::SIGTERM)),
            Ok(signal_status(sig::SIGQUIT) | WCOREFLAG),
            Ok(signal_status(sig::SIGUSR2)),
            Ok(exit_status(7)),
        ]
    );
    assert_eq!(violations, []);
}

#[test]
fn sigchld_reaches_a_catching_parent_after_its_wait_got_the_child() {
    let (got, violations) = run(EngineKind::Sim, |sys| {
        catch(sys, sig::SIGCHLD);
        let child = sys.fork(|_| 3).unwrap();
        let waited = sys.waitpid(child, 0);
        (waited, runs(sys), sys.getrusage(RUSAGE_SELF).map(|u| u.nsignals))
    });
    let (waited, handled, nsignals) = got;
    assert!(matches!(waited, Ok((_, s)) if s == exit_status(3)), "{waited:?}");
    assert_eq!((handled, nsignals), (1, Ok(1)));
    assert_eq!(violations, []);
}

#[test]
fn sigkill_and_sigstop_cannot_be_caught_ignored_or_blocked() {
    let (got, violations) = run(EngineKind::Sim, |sys| {
        let handler = SigAction::Handler { handler: count_handler_run, mask: 0, flags: 0 };
        let caught = sys.sigaction(sig::SIGKILL, Some(handler)).err();
        let ignored = sys.sigaction(sig::SIGSTOP, Some(SigAction::Ignore)).err();
        let bad = sys.sigaction(0, None).err();
        let bad_how = sys.sigprocmask(7, 0).err();
        sys.sigprocmask(SIG_SETMASK, !0).unwrap();
        let mask = sys.sigmask().unwrap();
        sys.sigprocmask(SIG_SETMASK, 0).unwrap();
        (caught, ignored, bad, bad_how, mask & (sig_bit(sig::SIGKILL) | sig_bit(sig::SIGSTOP)))
    });
    let e = Some(Errno::EINVAL);
    assert_eq!(got, (e, e, e, e, 0));
    assert_eq!(violations, []);
}

#[test]
fn sigstop_stops_a_child_until_sigcont_and_sigkill_ends_a_stopped_one() {
    for engine in [EngineKind::Sim, EngineKind::Threads] {
        let (got, violations) = run(engine, |sys| {
            catch(sys, sig::SIGALRM);
            // The child exits after a handful of calls, long before the timer, unless stopped.
            let child = sys
                .fork(|c| {
                    for _ in 0..50 {
                        let _ = c.getpid();
                        c.proc().yield_now();
                    }
                    5
                })
                .unwrap();
            sys.kill(child, sig::SIGSTOP).unwrap();
            sys.setitimer(ITIMER_REAL, in_20ms()).unwrap();
            let while_stopped = sys.waitpid(child, 0);
            sys.kill(child, sig::SIGCONT).unwrap();
            let continued = sys.waitpid(child, 0).map(|(_, s)| s);
            // A stopped process still dies of SIGKILL.
            let victim = sys
                .fork(|c| {
                    for _ in 0..50 {
                        let _ = c.getpid();
                        c.proc().yield_now();
                    }
                    5
                })
                .unwrap();
            sys.kill(victim, sig::SIGSTOP).unwrap();
            // Time for it to take the stop.
            sys.setitimer(ITIMER_REAL, in_20ms()).unwrap();
            assert_eq!(sys.sigsuspend(0), Errno::EINTR);
            sys.kill(victim, sig::SIGKILL).unwrap();
            let killed = sys.waitpid(victim, 0).map(|(_, s)| s);
            (while_stopped, continued, killed)
        });
        assert_eq!(got, (Err(Errno::EINTR), Ok(exit_status(5)), Ok(signal_status(sig::SIGKILL))), "{engine:?}");
        assert_eq!(violations, [], "{engine:?}");
    }
}

#[test]
fn an_alarm_interrupts_a_poll_and_a_flock_waiting_in_vfs_with_eintr() {
    use os::proto::vfs::flags::{O_CREAT, O_RDONLY, O_RDWR};
    use os::proto::vfs::flock::{LOCK_EX, LOCK_NB};
    use os::proto::vfs::poll::{INFTIM, POLLIN};
    use userland::libc::PollFd;
    for engine in [EngineKind::Sim, EngineKind::Threads] {
        let (got, violations) = run(engine, |sys| {
            catch(sys, sig::SIGALRM);
            // A poll with no timeout on a pipe nobody writes.
            let (r, w) = sys.pipe().unwrap();
            sys.setitimer(ITIMER_REAL, in_20ms()).unwrap();
            let polled = sys.poll(&mut [PollFd::new(r, POLLIN)], INFTIM);
            let after_poll = runs(sys);
            sys.close(r).unwrap();
            sys.close(w).unwrap();
            // A flock waiting for another open file's exclusive lock.
            let holder = sys.open("/tmp/eintr-lock", O_CREAT | O_RDWR, 0o644).unwrap();
            sys.flock(holder, LOCK_EX).unwrap();
            let waiter = sys.open("/tmp/eintr-lock", O_RDONLY, 0).unwrap();
            sys.setitimer(ITIMER_REAL, in_20ms()).unwrap();
            let locked = sys.flock(waiter, LOCK_EX);
            let after_flock = runs(sys);
            // Nothing was left suspended: the waiter's open file still cannot lock, without waiting.
            let still = sys.flock(waiter, LOCK_EX | LOCK_NB);
            sys.close(waiter).unwrap();
            sys.close(holder).unwrap();
            sys.unlink("/tmp/eintr-lock").unwrap();
            (polled, after_poll, locked, after_flock, still)
        });
        assert_eq!(got, (Err(Errno::EINTR), 1, Err(Errno::EINTR), 2, Err(Errno::EAGAIN)), "{engine:?}");
        assert_eq!(violations, [], "{engine:?}");
    }
}

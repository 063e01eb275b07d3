//! The real-concurrency engine: one OS thread per simulated process, wall-clock time.
//!
//! The kernel's tables sit behind one `parking_lot` mutex; each process blocks on its own wake cell
//! ([`super::wake`]), which carries its wake-up together with the result the kernel left for it
//! (the kernel wakes a blocked process exactly once), so a woken process need not take the lock
//! again. A wake-up is posted under the lock (a few stores: the woken thread, polling, is on its
//! way at once); a thread that had gone to sleep is unparked after the lock is released, so no
//! futex call is ever made under it. A timer thread rings alarms. Nothing here is deterministic:
//! this engine is for throughput and for showing isolation under true parallelism.

use super::wake::{Waited, Wake, WakeCell};
use super::{Config, RunEnd, RunReport};
use crate::core::{Body, KernelCore};
use crate::endpoint::Slot;
use crate::proc::{Link, Proc, install_panic_hook, live, set_in_process};
use parking_lot::{Condvar, Mutex, MutexGuard};
use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

/// How often the supervisor and the timer look again when nothing told them to.
const POLL: Duration = Duration::from_millis(20);

/// Bounds of the polls of its wake cell, a pause apart, a blocked process makes before it sleeps
/// (see [`ThreadLink::park`]). A pause takes about 25 ns here: the ceiling is about 6 us.
const MIN_POLLS: u32 = 4;
const MAX_POLLS: u32 = 256;

/// A sleep shorter than this (a futex wake-up included) would have been caught by polling longer:
/// the thread polls longer next time. Without this, two peers that had both slept once would miss
/// each other's answers ever after (each answer waits for a futex wake-up, longer than the polls).
const WORTH_POLLING: Duration = Duration::from_micros(50);

/// Threads woken while they slept: unparked once the lock is released, so that no futex call is
/// made under it.
#[derive(Default)]
struct Sleepers(Vec<Thread>);

impl Sleepers {
    fn unpark(self) {
        for thread in self.0 {
            thread.unpark();
        }
    }
}

pub(crate) struct ThreadState {
    pub core: KernelCore,
    wakers: Vec<Option<Arc<WakeCell>>>,
    threads: Vec<JoinHandle<()>>,
    stopping: bool,
    woken: Vec<Slot>,
}

pub(crate) struct ThreadShared {
    pub state: Mutex<ThreadState>,
    /// Signalled when the system may have gone idle or something ended.
    idle: Condvar,
    /// Signalled when an alarm was set, so the timer recomputes its deadline.
    timer: Condvar,
    boot: Instant,
    stack_size: usize,
    /// Whether a process that blocks may poll for its wake-up before it sleeps: only while
    /// fewer processes are runnable than the machine has cores, so polling takes no time from
    /// anyone (kept by `settle`, read outside the lock).
    idle_cores: AtomicBool,
    cores: usize,
}

impl ThreadShared {
    fn now(&self) -> u64 {
        self.boot.elapsed().as_micros() as u64
    }

    /// After any kernel operation: hand whom the kernel woke their wake-ups, start what it
    /// created. The caller unparks the sleepers among the woken once it has released the lock.
    #[must_use]
    fn settle(self: &Arc<Self>, st: &mut MutexGuard<'_, ThreadState>) -> Sleepers {
        let st = &mut **st;
        let mut sleepers = Sleepers::default();
        st.core.take_woken(&mut st.woken);
        for slot in st.woken.drain(..) {
            let wake = match st.core.unwind_reason(slot) {
                Some(u) => {
                    let _ = st.core.finish(slot);
                    Err(u)
                }
                None => Ok(st.core.finish(slot)),
            };
            let cell = st.wakers[slot].as_ref().expect("a woken process has a thread");
            sleepers.0.extend(cell.post(wake));
        }
        if st.core.has_starts() {
            // A thread that ended keeps its stack (and its memory maps) until joined: those are
            // joined here, or a long run's thousands of short-lived processes would pile them up
            // until the host refuses more maps.
            let (ended, alive): (Vec<_>, Vec<_>) =
                std::mem::take(&mut st.threads).into_iter().partition(|h| h.is_finished());
            st.threads = alive;
            for handle in ended {
                handle.join().expect("process threads catch their panics");
            }
            for (slot, body) in st.core.take_starts() {
                let handle = self.start(&mut st.wakers, slot, body, &st.core);
                st.threads.push(handle);
            }
        }
        // Written only when it changes: a store, even of the same value, would take the line from
        // every process that reads it as it blocks.
        let idle_cores = st.core.runnable < self.cores;
        if self.idle_cores.load(Ordering::Relaxed) != idle_cores {
            self.idle_cores.store(idle_cores, Ordering::Relaxed);
        }
        if st.core.runnable == 0 || st.core.shutdown.is_some() {
            self.idle.notify_all();
        }
        sleepers
    }

    /// Runs `f` on the kernel, settles, releases the lock, then unparks the sleepers it woke.
    fn locked<R>(self: &Arc<Self>, f: impl FnOnce(&mut KernelCore) -> R) -> R {
        let mut st = self.state.lock();
        let r = f(&mut st.core);
        let sleepers = self.settle(&mut st);
        drop(st);
        sleepers.unpark();
        r
    }

    fn start(
        self: &Arc<Self>,
        wakers: &mut Vec<Option<Arc<WakeCell>>>,
        slot: Slot,
        body: Body,
        core: &KernelCore,
    ) -> JoinHandle<()> {
        let cell = Arc::new(WakeCell::new());
        if wakers.len() <= slot {
            wakers.resize(slot + 1, None);
        }
        wakers[slot] = Some(cell.clone());
        let own = cell.clone();
        let ep = core.endpoint_of(slot);
        let shared = self.clone();
        let handle = std::thread::Builder::new()
            .name(format!("{}", core.name_of(slot)))
            .stack_size(self.stack_size)
            .spawn(move || {
                set_in_process(true);
                let proc = Proc::new(
                    slot,
                    ep,
                    Link::Threads(ThreadLink {
                        shared: shared.clone(),
                        cell: own,
                        seen: Cell::new(0),
                        polls: Cell::new(MIN_POLLS),
                    }),
                );
                live(&proc, body);
                shared.locked(|_| ());
                shared.idle.notify_all();
            })
            .expect("spawning a process thread");
        // Set before the kernel's lock is released: nobody can wake the thread before that.
        cell.set_thread(handle.thread().clone());
        handle
    }
}

/// A threads process's connection to the kernel.
pub(crate) struct ThreadLink {
    shared: Arc<ThreadShared>,
    cell: Arc<WakeCell>,
    /// What this thread last took from `cell` (kept here, off the cell's shared cache line).
    seen: Cell<u64>,
    /// Polls its next block may make before sleeping (adaptive, see `park`).
    polls: Cell<u32>,
}

impl ThreadLink {
    /// Runs `f` on the kernel with its clock brought up to the wall clock: every entry but IPC
    /// (kernel calls, a process's start and end, reading the time), so that the events of
    /// processes' lives (spawn, crash, kill, exec, shutdown) carry the time they happened.
    pub fn with_core<R>(&self, f: impl FnOnce(&mut KernelCore) -> R) -> R {
        let now = self.shared.now();
        self.shared.locked(|k| {
            if now > k.now() {
                k.set_now(now);
            }
            f(k)
        })
    }

    /// An IPC entry. It does not read the wall clock: that reading cost a third of an IPC, so an
    /// IPC event is stamped with the clock as it last moved (at the timer's ticks and at the other
    /// entries, [`ThreadLink::with_core`]).
    pub fn enter<R>(&self, f: impl FnOnce(&mut KernelCore) -> R) -> R {
        self.shared.locked(f)
    }

    /// Blocks until the kernel wakes this process; returns what it was woken with.
    ///
    /// With a core to spare it first polls its wake cell: a server's answer usually comes within
    /// a microsecond, and a sleep costs a futex wake on both sides. The number of polls adapts, as
    /// an adaptive mutex's spinning does, to how the waits turn out: doubled after a wait the
    /// polls caught or that polling a little longer would have caught ([`WORTH_POLLING`]); halved
    /// after a long one (an idle server, a blocked child) or one a yield caught (the peer runs on
    /// this core, and polling only kept it waiting). It starts low, so that thousands of processes
    /// blocking at once do not spin the cores away.
    pub fn park(&self) -> Wake {
        let polls = self.polls.get();
        let budget = if self.shared.idle_cores.load(Ordering::Relaxed) { polls } else { 0 };
        let (wake, waited) = self.cell.wait(&self.seen, budget);
        let next = match waited {
            Waited::Polled => polls * 2,
            Waited::Slept(d) if d <= WORTH_POLLING => polls * 2,
            // The peer ran on this core (polling only kept it waiting), or took long.
            Waited::Yielded | Waited::Slept(_) => polls / 2,
        };
        self.polls.set(next.clamp(MIN_POLLS, MAX_POLLS));
        wake
    }

    pub fn alarm_changed(&self) {
        self.shared.timer.notify_one();
    }
}

/// The threaded engine.
pub(crate) struct ThreadEngine {
    pub shared: Arc<ThreadShared>,
}

impl ThreadEngine {
    pub fn new(core: KernelCore, config: &Config) -> ThreadEngine {
        install_panic_hook();
        ThreadEngine {
            shared: Arc::new(ThreadShared {
                state: Mutex::new(ThreadState {
                    core,
                    wakers: Vec::new(),
                    threads: Vec::new(),
                    stopping: false,
                    woken: Vec::new(),
                }),
                idle: Condvar::new(),
                timer: Condvar::new(),
                boot: Instant::now(),
                stack_size: config.stack_size.max(256 * 1024),
                idle_cores: AtomicBool::new(false),
                cores: std::thread::available_parallelism().map_or(1, usize::from),
            }),
        }
    }

    fn timer(shared: Arc<ThreadShared>) {
        let mut st = shared.state.lock();
        while !st.stopping {
            let now = shared.now().max(st.core.now());
            st.core.set_now(now);
            st.core.fire_alarms();
            let sleepers = shared.settle(&mut st);
            MutexGuard::unlocked(&mut st, || sleepers.unpark());
            let wait = match st.core.next_alarm() {
                Some(t) => Duration::from_micros(t.saturating_sub(now)).min(POLL),
                None => POLL,
            };
            shared.timer.wait_for(&mut st, wait);
        }
    }

    pub fn run(&mut self, config: &Config) -> RunReport {
        let shared = self.shared.clone();
        let timer = {
            let s = shared.clone();
            std::thread::Builder::new()
                .name("clock".into())
                .spawn(move || ThreadEngine::timer(s))
                .expect("spawning the timer")
        };
        let limit = Duration::from_micros(config.time_limit);
        shared.locked(|_| ());
        let mut st = shared.state.lock();
        let end = loop {
            if let Some((by, reason)) = st.core.shutdown.clone() {
                break RunEnd::Shutdown { by, reason: reason.to_string() };
            }
            if st.core.runnable == 0 && !st.core.has_starts() {
                if st.core.workload_done() {
                    break RunEnd::Finished;
                }
                if st.core.next_alarm().is_none() {
                    break RunEnd::Stalled;
                }
            }
            if shared.boot.elapsed() > limit {
                break RunEnd::TimeLimit;
            }
            if st.core.log.count() > config.event_limit {
                break RunEnd::EventLimit;
            }
            shared.idle.wait_for(&mut st, POLL);
        };
        let time = shared.now();
        let procs = st.core.all_procs();
        // Teardown: everyone is killed; blocked threads wake and unwind, running ones unwind at
        // their next kernel entry.
        st.stopping = true;
        st.core.kill_everyone();
        let sleepers = shared.settle(&mut st);
        drop(st);
        sleepers.unpark();
        shared.timer.notify_all();
        timer.join().expect("the timer thread does not panic");
        loop {
            let handle = shared.state.lock().threads.pop();
            match handle {
                Some(h) => h.join().expect("process threads catch their panics"),
                None => break,
            }
        }
        let events = shared.state.lock().core.log.count();
        RunReport { end, time, steps: 0, events, procs }
    }
}

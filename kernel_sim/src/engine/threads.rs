//! The real-concurrency engine: one OS thread per simulated process, wall-clock time.
//!
//! The kernel's tables sit behind one `parking_lot` mutex; each process blocks on its own
//! crossbeam channel, which carries its wake-up together with the result the kernel left for it
//! (the kernel wakes a blocked process exactly once), so a woken process need not take the lock
//! again. Wake-ups are delivered after the lock is released: a woken thread never wakes up only to
//! wait for the mutex its waker still holds. A timer thread rings alarms. Nothing here is deterministic: this engine is for
//! throughput and for showing isolation under true parallelism.

use super::{Config, RunEnd, RunReport};
use crate::core::{Body, KernelCore, Unwind};
use crate::endpoint::Slot;
use crate::error::KernelError;
use crate::message::Message;
use crate::proc::{Link, Proc, install_panic_hook, live, set_in_process};
use crossbeam_channel::{Receiver, Sender, bounded};
use parking_lot::{Condvar, Mutex, MutexGuard};
use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often the supervisor and the timer look again when nothing told them to.
const POLL: Duration = Duration::from_millis(20);

/// Bounds of the polls of its channel, a pause apart, a blocked process makes before it sleeps
/// in `recv` (see [`ThreadLink::park`]): at most a few microseconds.
const MIN_POLLS: u32 = 4;
const MAX_POLLS: u32 = 256;

/// What a blocked process is woken with: its call's result, or the order to unwind.
pub(crate) type Wake = Result<Result<Message, KernelError>, Unwind>;

/// Wake-ups gathered under the lock and delivered after it is released; almost always one.
#[derive(Default)]
struct Wakes {
    first: Option<(Sender<Wake>, Wake)>,
    rest: Vec<(Sender<Wake>, Wake)>,
}

impl Wakes {
    fn push(&mut self, w: (Sender<Wake>, Wake)) {
        if self.first.is_none() { self.first = Some(w) } else { self.rest.push(w) }
    }

    fn deliver(self) {
        let Some((waker, wake)) = self.first else { return };
        waker.try_send(wake).expect("one wake-up per block");
        for (waker, wake) in self.rest {
            waker.try_send(wake).expect("one wake-up per block");
        }
    }
}

pub(crate) struct ThreadState {
    pub core: KernelCore,
    wakers: Vec<Option<Sender<Wake>>>,
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

    /// After any kernel operation: gather whom the kernel woke, start what it created. The caller
    /// delivers the wake-ups once it has released the lock.
    #[must_use]
    fn settle(self: &Arc<Self>, st: &mut MutexGuard<'_, ThreadState>) -> Wakes {
        let st = &mut **st;
        let mut wakes = Wakes::default();
        st.core.take_woken(&mut st.woken);
        for slot in st.woken.drain(..) {
            let wake = match st.core.unwind_reason(slot) {
                Some(u) => {
                    let _ = st.core.finish(slot);
                    Err(u)
                }
                None => Ok(st.core.finish(slot)),
            };
            let waker = st.wakers[slot].as_ref().expect("a woken process has a thread");
            wakes.push((waker.clone(), wake));
        }
        if st.core.has_starts() {
            for (slot, body) in st.core.take_starts() {
                let handle = self.start(&mut st.wakers, slot, body, &st.core);
                st.threads.push(handle);
            }
        }
        self.idle_cores.store(st.core.runnable < self.cores, Ordering::Relaxed);
        if st.core.runnable == 0 || st.core.shutdown.is_some() {
            self.idle.notify_all();
        }
        wakes
    }

    /// Runs `f` on the kernel, settles, releases the lock, then delivers the wake-ups.
    fn locked<R>(self: &Arc<Self>, f: impl FnOnce(&mut KernelCore) -> R) -> R {
        let mut st = self.state.lock();
        let r = f(&mut st.core);
        let wakes = self.settle(&mut st);
        drop(st);
        wakes.deliver();
        r
    }

    fn start(
        self: &Arc<Self>,
        wakers: &mut Vec<Option<Sender<Wake>>>,
        slot: Slot,
        body: Body,
        core: &KernelCore,
    ) -> JoinHandle<()> {
        let (tx, rx) = bounded(1);
        if wakers.len() <= slot {
            wakers.resize(slot + 1, None);
        }
        wakers[slot] = Some(tx);
        let ep = core.endpoint_of(slot);
        let shared = self.clone();
        std::thread::Builder::new()
            .name(format!("{}", core.name_of(slot)))
            .stack_size(self.stack_size)
            .spawn(move || {
                set_in_process(true);
                let proc = Proc::new(
                    slot,
                    ep,
                    Link::Threads(ThreadLink { shared: shared.clone(), wake: rx, polls: Cell::new(MAX_POLLS) }),
                );
                live(&proc, body);
                shared.locked(|_| ());
                shared.idle.notify_all();
            })
            .expect("spawning a process thread")
    }
}

/// A threads process's connection to the kernel.
pub(crate) struct ThreadLink {
    shared: Arc<ThreadShared>,
    wake: Receiver<Wake>,
    /// Polls its next block may make before sleeping (adaptive, see `park`).
    polls: Cell<u32>,
}

impl ThreadLink {
    pub fn with_core<R>(&self, f: impl FnOnce(&mut KernelCore) -> R) -> R {
        self.shared.locked(f)
    }

    /// A kernel entry. It does not read the wall clock: that reading cost a third of an IPC, so
    /// the kernel's clock moves on at the timer's ticks and at the calls that read or set time
    /// ([`ThreadLink::sync_clock`]); an event is stamped with the clock as it last moved.
    pub fn enter<R>(&self, f: impl FnOnce(&mut KernelCore) -> R) -> R {
        self.shared.locked(f)
    }

    /// Brings the kernel's clock up to the wall clock, then runs `f`.
    pub fn sync_clock<R>(&self, f: impl FnOnce(&mut KernelCore) -> R) -> R {
        let now = self.shared.now();
        self.shared.locked(|k| {
            if now > k.now() {
                k.set_now(now);
            }
            f(k)
        })
    }

    /// Blocks until the kernel wakes this process; returns what it was woken with.
    ///
    /// With a core to spare it first polls its channel: a server's answer usually comes within a
    /// microsecond, while the channel's own backoff looks ever more rarely as it waits (the round
    /// trip grew to twice the raw ping-pong's) and a sleep costs a futex wake. The number of polls
    /// adapts, as an adaptive mutex's spinning does: halved after a wait that outlasted them (a
    /// busy machine, a peer that was not running), doubled after one they caught.
    pub fn park(&self) -> Wake {
        let budget = if self.shared.idle_cores.load(Ordering::Relaxed) { self.polls.get() } else { 0 };
        for _ in 0..budget {
            if let Ok(wake) = self.wake.try_recv() {
                self.polls.set((budget * 2).min(MAX_POLLS));
                return wake;
            }
            std::hint::spin_loop();
        }
        if budget > 0 {
            self.polls.set((budget / 2).max(MIN_POLLS));
        }
        self.wake.recv().expect("the kernel keeps every waker alive while its process lives")
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
            let wakes = shared.settle(&mut st);
            MutexGuard::unlocked(&mut st, || wakes.deliver());
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
            shared.idle.wait_for(&mut st, POLL);
        };
        let time = shared.now();
        let procs = st.core.all_procs();
        // Teardown: everyone is killed; blocked threads wake and unwind, running ones unwind at
        // their next kernel entry.
        st.stopping = true;
        st.core.kill_everyone();
        let wakes = shared.settle(&mut st);
        drop(st);
        wakes.deliver();
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

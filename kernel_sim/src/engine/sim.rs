//! The deterministic engine: every simulated process is a stackful coroutine on one OS thread.
//!
//! The scheduler owns the ready queue and the virtual clock. Each kernel entry costs
//! `kernel_entry_cost` virtual microseconds; when nothing is ready the clock jumps to the next alarm.
//! In `Random` mode the next process is drawn from the ready queue with the seeded generator and a
//! process may be preempted at a kernel entry (a timer interrupt landing there), so different seeds
//! explore different interleavings; in `Fifo` mode the order is first come, first served.
//!
//! Invariant: one seed and one set of inputs give one event log, byte for byte. Nothing here reads
//! the wall clock, the OS scheduler or an unseeded generator.

use super::{Config, RunEnd, RunReport, SchedMode};
use crate::core::{Body, KernelCore};
use crate::endpoint::Slot;
use crate::proc::{Link, Proc, live, set_in_process};
use corosensei::stack::DefaultStack;
use corosensei::{Coroutine, CoroutineResult, Yielder};
use rand::rngs::ChaCha8Rng;
use rand::{Rng, SeedableRng};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

/// Why a coroutine gave the processor back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Suspend {
    /// Blocked in the kernel; the kernel will wake it.
    Blocked,
    /// Still runnable: goes to the back of the ready queue.
    Preempted,
}

/// What sim processes share: the kernel and the scheduler's draws.
pub(crate) struct SimShared {
    pub core: RefCell<KernelCore>,
    sched: RefCell<Sched>,
    kernel_entry_cost: u64,
    /// Random mode with preemption on: fixed at boot, read on every kernel exit.
    may_preempt: bool,
}

struct Sched {
    mode: SchedMode,
    rng: ChaCha8Rng,
    /// Preempt at a kernel entry with probability 1 / this (0: never).
    preempt_one_in: u32,
}

/// A sim process's connection to the kernel.
pub(crate) struct SimLink {
    shared: Rc<SimShared>,
    /// The coroutine's own yielder; valid for as long as the coroutine body runs, which outlives
    /// the `Proc` holding this link (the `Proc` is created inside the body).
    yielder: *const Yielder<(), Suspend>,
}

impl SimLink {
    pub fn with_core<R>(&self, f: impl FnOnce(&mut KernelCore) -> R) -> R {
        f(&mut self.shared.core.borrow_mut())
    }

    pub fn enter<R>(&self, f: impl FnOnce(&mut KernelCore) -> R) -> R {
        let mut k = self.shared.core.borrow_mut();
        let now = k.now() + self.shared.kernel_entry_cost;
        k.set_now(now);
        f(&mut k)
    }

    fn suspend(&self, why: Suspend) {
        // SAFETY: see the field's comment; no kernel borrow is held across the switch.
        unsafe { (*self.yielder).suspend(why) }
    }

    pub fn park(&self) {
        self.suspend(Suspend::Blocked);
    }

    pub fn preempt(&self) {
        self.suspend(Suspend::Preempted);
    }

    pub fn maybe_preempt(&self) {
        if !self.shared.may_preempt {
            return;
        }
        let preempt = {
            let mut s = self.shared.sched.borrow_mut();
            s.mode == SchedMode::Random && s.preempt_one_in != 0 && s.rng.next_u32().is_multiple_of(s.preempt_one_in)
        };
        if preempt {
            self.preempt();
        }
    }
}

type SimCoroutine = Coroutine<(), Suspend, (), DefaultStack>;

/// Stacks the engines that ended on this thread left, by size, for the next engine's coroutines:
/// a campaign boots thousands of machines on each worker thread, and mapping, faulting in and
/// unmapping every process's stack for each of them cost a twentieth of its time.
struct SpareStacks(Vec<(usize, DefaultStack)>);

/// Stacks kept per thread (the processes of a booted system, and a few).
const SPARE_STACKS_MAX: usize = 64;

thread_local! {
    static SPARE_STACKS: RefCell<SpareStacks> = const { RefCell::new(SpareStacks(Vec::new())) };
}

/// The deterministic engine.
pub(crate) struct SimEngine {
    pub shared: Rc<SimShared>,
    coroutines: Vec<Option<SimCoroutine>>,
    ready: VecDeque<Slot>,
    stacks: Vec<DefaultStack>,
    stack_size: usize,
    woken: Vec<Slot>,
    fifo: bool,
}

impl SimEngine {
    pub fn new(core: KernelCore, config: &Config) -> SimEngine {
        let sched = Sched {
            mode: config.sched,
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            preempt_one_in: config.preempt_one_in,
        };
        SimEngine {
            shared: Rc::new(SimShared {
                core: RefCell::new(core),
                sched: RefCell::new(sched),
                kernel_entry_cost: config.kernel_entry_cost,
                may_preempt: config.sched == SchedMode::Random && config.preempt_one_in != 0,
            }),
            coroutines: Vec::new(),
            ready: VecDeque::new(),
            stacks: Vec::new(),
            stack_size: config.stack_size,
            woken: Vec::new(),
            fifo: config.sched == SchedMode::Fifo,
        }
    }

    fn start(&mut self, slot: Slot, body: Body, k: &KernelCore) {
        let ep = k.endpoint_of(slot);
        let size = self.stack_size;
        let spare = || SPARE_STACKS.with(|spare| spare.borrow_mut().take(size));
        let stack = match self.stacks.pop().or_else(spare) {
            Some(s) => s,
            None => DefaultStack::new(size).expect("mapping a coroutine stack"),
        };
        let shared = self.shared.clone();
        let co = Coroutine::with_stack(stack, move |yielder: &Yielder<(), Suspend>, ()| {
            let proc = Proc::new(slot, ep, Link::Sim(SimLink { shared, yielder }));
            live(&proc, body);
        });
        if self.coroutines.len() <= slot {
            self.coroutines.resize_with(slot + 1, || None);
        }
        assert!(self.coroutines[slot].is_none(), "slot {slot} already runs a coroutine");
        self.coroutines[slot] = Some(co);
        self.ready.push_back(slot);
    }

    /// Moves what the kernel did since the last look into the scheduler: new processes, woken ones.
    fn collect(&mut self, k: &mut KernelCore) {
        k.fire_alarms();
        k.take_woken(&mut self.woken);
        self.ready.extend(self.woken.drain(..));
        if k.has_starts() {
            for (slot, body) in k.take_starts() {
                self.start(slot, body, k);
            }
        }
    }

    fn pick(&mut self) -> Option<Slot> {
        if self.fifo {
            return self.ready.pop_front();
        }
        let mut s = self.shared.sched.borrow_mut();
        match s.mode {
            SchedMode::Fifo => self.ready.pop_front(),
            SchedMode::Random if self.ready.is_empty() => None,
            SchedMode::Random => {
                let i = (s.rng.next_u64() % self.ready.len() as u64) as usize;
                self.ready.remove(i)
            }
        }
    }

    fn resume(&mut self, slot: Slot) {
        let co = self.coroutines[slot].as_mut().expect("a ready slot has a coroutine");
        let was = set_in_process(true);
        let result = co.resume(());
        set_in_process(was);
        match result {
            CoroutineResult::Yield(Suspend::Blocked) => {}
            CoroutineResult::Yield(Suspend::Preempted) => self.ready.push_back(slot),
            CoroutineResult::Return(()) => {
                let co = self.coroutines[slot].take().expect("just resumed");
                self.stacks.push(co.into_stack());
            }
        }
    }

    pub fn run(&mut self, config: &Config) -> RunReport {
        let mut steps = 0u64;
        let shared = self.shared.clone();
        let end = loop {
            let mut k = shared.core.borrow_mut();
            self.collect(&mut k);
            if let Some((by, reason)) = k.shutdown.clone() {
                break RunEnd::Shutdown { by, reason: reason.to_string() };
            }
            if k.now() > config.time_limit {
                break RunEnd::TimeLimit;
            }
            if k.log.count() > config.event_limit {
                break RunEnd::EventLimit;
            }
            if self.ready.is_empty() {
                if k.workload_done() {
                    break RunEnd::Finished;
                }
                match k.next_alarm() {
                    Some(t) if t <= config.time_limit => {
                        let t = t.max(k.now());
                        k.set_now(t);
                        continue;
                    }
                    Some(_) => break RunEnd::TimeLimit,
                    None => break RunEnd::Stalled,
                }
            }
            drop(k);
            let slot = self.pick().expect("ready is not empty");
            steps += 1;
            self.resume(slot);
        };
        let (time, procs) = {
            let k = self.shared.core.borrow();
            (k.now(), k.all_procs())
        };
        self.teardown();
        let events = self.shared.core.borrow().log.count();
        RunReport { end, time, steps, events, procs }
    }

    /// Kills every process still alive and lets each unwind its stack, so destructors run and
    /// nothing outlives the run.
    fn teardown(&mut self) {
        let shared = self.shared.clone();
        shared.core.borrow_mut().kill_everyone();
        loop {
            self.collect(&mut shared.core.borrow_mut());
            let Some(slot) = self.ready.pop_front() else { break };
            self.resume(slot);
        }
        debug_assert!(self.coroutines.iter().all(Option::is_none), "every coroutine ran to its end");
    }
}

impl Drop for SimEngine {
    fn drop(&mut self) {
        let (size, stacks) = (self.stack_size, std::mem::take(&mut self.stacks));
        // A thread that is ending has no pool left to fill: its stacks are unmapped.
        let _ = SPARE_STACKS.try_with(|spare| spare.borrow_mut().keep(size, stacks));
    }
}

impl SpareStacks {
    /// A stack of `size` bytes, if one is spare.
    fn take(&mut self, size: usize) -> Option<DefaultStack> {
        let at = self.0.iter().rposition(|(s, _)| *s == size)?;
        Some(self.0.swap_remove(at).1)
    }

    /// Keeps `stacks` of `size` bytes, up to the limit; the rest are unmapped.
    fn keep(&mut self, size: usize, stacks: Vec<DefaultStack>) {
        let room = SPARE_STACKS_MAX.saturating_sub(self.0.len());
        self.0.extend(stacks.into_iter().take(room).map(|stack| (size, stack)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spare_stacks_are_found_by_size_and_kept_up_to_the_limit() {
        let mut spare = SpareStacks(Vec::new());
        let small = 64 * 1024;
        let large = 256 * 1024;
        spare.keep(small, vec![DefaultStack::new(small).unwrap()]);
        assert!(spare.take(large).is_none(), "no stack of another size is handed out");
        assert!(spare.take(small).is_some());
        assert!(spare.take(small).is_none());
        let many = (0..SPARE_STACKS_MAX + 3).map(|_| DefaultStack::new(small).unwrap()).collect();
        spare.keep(small, many);
        assert_eq!(spare.0.len(), SPARE_STACKS_MAX);
    }
}

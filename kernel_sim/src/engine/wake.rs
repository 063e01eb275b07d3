//! How the `threads` engine hands a blocked process its wake-up: a one-message mailbox in atomics.
//!
//! The kernel wakes a blocked process exactly once, so one wake-up is all a cell holds. The waker
//! writes the wake-up and bumps a count; the blocked thread polls the count, then sleeps if it must.
//! The woken thread reads its wake-up without writing anything: a lock here, or a channel, added
//! cache-line round trips between the two cores to each half of an IPC round trip, which is what
//! kept the engine at twice a raw channel ping-pong.

use crate::core::Unwind;
use crate::endpoint::Endpoint;
use crate::error::KernelError;
use crate::message::Message;
use std::cell::Cell;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// What a blocked process is woken with: its call's result, or the order to unwind.
pub(crate) type Wake = Result<Result<Message, KernelError>, Unwind>;

/// `state`'s bit 0: the thread sleeps, waiting to be unparked.
const SLEEPING: u64 = 1;
/// `state`'s bits 1-7 say what the wake-up is ([`code`]); the bits from here up count wake-ups.
const COUNT_SHIFT: u32 = 8;

/// Times a waiter whose polls ran out yields its core before it sleeps.
const YIELDS: u32 = 4;

/// How a wake-up reached its waiter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Waited {
    /// The polls caught it.
    Polled,
    /// It came once the polls had run out, while the waiter yielded its core.
    Yielded,
    /// The waiter slept this long for it (its futex wake-up included).
    Slept(Duration),
}

/// A process thread's mailbox for its wake-ups (one cache line for the count and the message's
/// first 56 bytes, the next for its last 8 and the thread).
#[repr(C, align(64))]
pub(crate) struct WakeCell {
    state: AtomicU64,
    /// The message, as its 64 bytes in little-endian words.
    words: [AtomicU64; 8],
    thread: OnceLock<Thread>,
}

impl WakeCell {
    pub fn new() -> WakeCell {
        WakeCell { state: AtomicU64::new(0), words: Default::default(), thread: OnceLock::new() }
    }

    /// Names the thread that waits on this cell; set once, before anyone can wake it.
    pub fn set_thread(&self, thread: Thread) {
        self.thread.set(thread).expect("a cell serves one thread");
    }

    /// Leaves `wake` for the thread; returns the thread if it sleeps, for the caller to unpark
    /// (once it holds no lock). Only the one waker of the thread's current block posts, so the
    /// count can be read before it is replaced: the thread itself only ever sets the sleeping bit.
    #[must_use]
    pub fn post(&self, wake: Wake) -> Option<Thread> {
        if let Ok(Ok(msg)) = &wake {
            self.words[0].store(u64::from(msg.source.raw()) | u64::from(msg.m_type as u32) << 32, Ordering::Relaxed);
            for (word, bytes) in self.words[1..].iter().zip(msg.payload.chunks_exact(8)) {
                word.store(u64::from_le_bytes(bytes.try_into().expect("8 bytes")), Ordering::Relaxed);
            }
        }
        let count = self.state.load(Ordering::Relaxed) >> COUNT_SHIFT;
        let state = (count + 1) << COUNT_SHIFT | u64::from(code(&wake)) << 1;
        let asleep = self.state.swap(state, Ordering::Release) & SLEEPING != 0;
        asleep.then(|| self.thread.get().expect("set when the thread was spawned").clone())
    }

    /// Waits for the wake-up after the one `seen` (the cell's state when its thread last took
    /// one, which this updates): polls up to `polls` times, yields the core a few times, then
    /// sleeps. Returns the wake-up and how it came.
    pub fn wait(&self, seen: &Cell<u64>, polls: u32) -> (Wake, Waited) {
        let last = seen.get();
        let posted = |state: u64| state >> COUNT_SHIFT != last >> COUNT_SHIFT;
        let polled = (0..polls).find_map(|_| {
            let state = self.state.load(Ordering::Acquire);
            if posted(state) {
                return Some(state);
            }
            std::hint::spin_loop();
            None
        });
        // A peer the scheduler put on this core runs only if the waiter gives way: the yields let
        // it answer without a sleep and a futex wake.
        let yielded = || {
            (0..YIELDS).find_map(|_| {
                std::thread::yield_now();
                let state = self.state.load(Ordering::Acquire);
                posted(state).then_some(state)
            })
        };
        let (state, waited) = match polled
            .map(|s| (s, Waited::Polled))
            .or_else(|| yielded().map(|s| (s, Waited::Yielded)))
        {
            Some(got) => got,
            None => match self.state.compare_exchange(last, last | SLEEPING, Ordering::Acquire, Ordering::Acquire) {
                Ok(_) => {
                    let asleep = Instant::now();
                    let state = loop {
                        // Returns at the waker's unpark, or spuriously: the count says which.
                        std::thread::park();
                        let state = self.state.load(Ordering::Acquire);
                        if posted(state) {
                            break state;
                        }
                    };
                    (state, Waited::Slept(asleep.elapsed()))
                }
                // Only a waker changes the state under the thread: it posted just now.
                Err(state) => (state, Waited::Yielded),
            },
        };
        seen.set(state & !SLEEPING);
        (self.read(state), waited)
    }

    /// The wake-up `state` announces.
    fn read(&self, state: u64) -> Wake {
        match (state >> 1) as u8 & 0x7f {
            0 => {
                let head = self.words[0].load(Ordering::Relaxed);
                let mut msg = Message::new((head >> 32) as u32 as i32);
                msg.source = Endpoint::from_raw(head as u32);
                for (word, bytes) in self.words[1..].iter().zip(msg.payload.chunks_exact_mut(8)) {
                    bytes.copy_from_slice(&word.load(Ordering::Relaxed).to_le_bytes());
                }
                Ok(Ok(msg))
            }
            1 => Err(Unwind::Killed),
            2 => Err(Unwind::Exec),
            e => Ok(Err(KernelError::ALL[usize::from(e - 3)])),
        }
    }
}

/// A wake-up's kind as `state` carries it: a message, an unwind, or one of the kernel's errors.
fn code(wake: &Wake) -> u8 {
    match wake {
        Ok(Ok(_)) => 0,
        Err(Unwind::Killed) => 1,
        Err(Unwind::Exec) => 2,
        Ok(Err(e)) => 3 + KernelError::ALL.iter().position(|x| x == e).expect("every error is listed") as u8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn post(cell: &WakeCell, wake: Wake) {
        if let Some(sleeper) = cell.post(wake) {
            sleeper.unpark();
        }
    }

    fn message(n: u64) -> Message {
        let mut m = Message::new(-(n as i32));
        m.source = Endpoint::new(n as usize % 1000, (n % 7) as u16);
        for (i, b) in m.payload.iter_mut().enumerate() {
            *b = (n as u8).wrapping_mul(31).wrapping_add(i as u8);
        }
        m
    }

    #[test]
    fn every_kind_of_wake_up_comes_out_as_it_went_in() {
        let cell = WakeCell::new();
        cell.set_thread(std::thread::current());
        let seen = Cell::new(0);
        let mut wakes: Vec<Wake> =
            vec![Ok(Ok(message(1))), Ok(Ok(message(u64::MAX))), Err(Unwind::Killed), Err(Unwind::Exec)];
        wakes.extend(KernelError::ALL.iter().map(|&e| Ok(Err(e))));
        for wake in wakes {
            post(&cell, wake);
            let (got, waited) = cell.wait(&seen, 1);
            assert_eq!(got, wake);
            assert_eq!(waited, Waited::Polled, "a posted wake-up is there at the first poll");
        }
    }

    #[test]
    fn a_sleeping_thread_is_unparked_with_its_wake_up() {
        let cell = Arc::new(WakeCell::new());
        let waiter = {
            let cell = cell.clone();
            std::thread::spawn(move || cell.wait(&Cell::new(0), 0))
        };
        cell.set_thread(waiter.thread().clone());
        // Give it time to go to sleep; whether it did or not, the wake-up must reach it.
        std::thread::sleep(std::time::Duration::from_millis(20));
        post(&cell, Ok(Ok(message(7))));
        let (wake, _) = waiter.join().expect("the waiter ends");
        assert_eq!(wake, Ok(Ok(message(7))));
    }

    /// Two threads pass a count back and forth, each waking the other, with budgets from none
    /// (always sleep) to many (mostly poll): no wake-up is lost, doubled or mixed up.
    #[test]
    fn ping_pong_loses_no_wake_up_whether_it_polls_or_sleeps() {
        const ROUNDS: u64 = 5_000;
        let (ping, pong) = (Arc::new(WakeCell::new()), Arc::new(WakeCell::new()));
        let server = {
            let (ping, pong) = (ping.clone(), pong.clone());
            std::thread::spawn(move || {
                let seen = Cell::new(0);
                for n in 0..ROUNDS {
                    let (wake, _) = ping.wait(&seen, (n % 3) as u32 * 200);
                    assert_eq!(wake, Ok(Ok(message(n))));
                    post(&pong, Ok(Ok(message(n + 1))));
                }
            })
        };
        ping.set_thread(server.thread().clone());
        pong.set_thread(std::thread::current());
        let seen = Cell::new(0);
        for n in 0..ROUNDS {
            post(&ping, Ok(Ok(message(n))));
            let (wake, _) = pong.wait(&seen, (n % 5) as u32 * 100);
            assert_eq!(wake, Ok(Ok(message(n + 1))));
        }
        server.join().expect("the server side ends cleanly");
    }
}

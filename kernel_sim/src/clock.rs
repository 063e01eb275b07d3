//! Time and alarms.
//!
//! Under `sim` the clock is virtual: each kernel entry costs a fixed number of microseconds, and
//! when every process is blocked the clock jumps to the next alarm (discrete-event simulation), so a
//! second of heartbeats costs nothing to wait for. Under `threads` it is the wall clock since boot.
//! Each process has at most one alarm, as with MINIX's `sys_setalarm`; setting one replaces it.

use crate::endpoint::Slot;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A time or duration in microseconds (virtual under `sim`, wall under `threads`).
pub type Micros = u64;

/// The pending alarms of all processes.
#[derive(Debug, Default)]
pub(crate) struct Alarms {
    /// Earliest first; an entry is stale when `armed[slot]` no longer holds its sequence number.
    queue: BinaryHeap<Reverse<(Micros, u64, Slot)>>,
    /// Per slot, the sequence number of its live alarm.
    armed: Vec<Option<u64>>,
    next_seq: u64,
}

impl Alarms {
    /// Arms `slot`'s alarm at `when`, replacing any earlier one.
    pub fn set(&mut self, slot: Slot, when: Micros) {
        if self.armed.len() <= slot {
            self.armed.resize(slot + 1, None);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.armed[slot] = Some(seq);
        self.queue.push(Reverse((when, seq, slot)));
    }

    /// Disarms `slot`'s alarm, if any.
    pub fn cancel(&mut self, slot: Slot) {
        if let Some(a) = self.armed.get_mut(slot) {
            *a = None;
        }
    }

    fn drop_stale(&mut self) {
        while let Some(&Reverse((_, seq, slot))) = self.queue.peek() {
            if self.armed.get(slot).copied().flatten() == Some(seq) {
                return;
            }
            self.queue.pop();
        }
    }

    /// When the next live alarm rings.
    pub fn next_due(&mut self) -> Option<Micros> {
        self.drop_stale();
        self.queue.peek().map(|Reverse((when, _, _))| *when)
    }

    /// Takes the next alarm due at or before `now`.
    pub fn pop_due(&mut self, now: Micros) -> Option<Slot> {
        self.drop_stale();
        match self.queue.peek() {
            Some(&Reverse((when, _, slot))) if when <= now => {
                self.queue.pop();
                self.armed[slot] = None;
                Some(slot)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alarms_ring_in_time_order_and_replace() {
        let mut a = Alarms::default();
        a.set(3, 50);
        a.set(1, 20);
        a.set(3, 10); // replaces the alarm at 50
        assert_eq!(a.next_due(), Some(10));
        assert_eq!(a.pop_due(15), Some(3));
        assert_eq!(a.pop_due(15), None);
        assert_eq!(a.pop_due(100), Some(1));
        assert_eq!(a.next_due(), None, "the replaced alarm at 50 never rings");
        a.set(2, 5);
        a.cancel(2);
        assert_eq!(a.pop_due(100), None);
    }
}

//! Endpoints: the names processes use for each other in IPC.
//!
//! As in MINIX, an endpoint is a process slot plus a generation number. A slot is reused by later
//! processes with a new generation, so a message addressed to an earlier incarnation can be told
//! apart and fails with a dead-endpoint error instead of reaching a stranger. A transparent restart
//! (rs giving a crashed server a new incarnation) keeps the endpoint on purpose.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Index of a process slot in the kernel's process table.
pub type Slot = usize;

/// Bits of an endpoint that hold the slot; the rest hold the generation.
const SLOT_BITS: u32 = 16;
const SLOT_MASK: u32 = (1 << SLOT_BITS) - 1;

/// Slots available in the process table: 2^16, less the value reserved for [`Endpoint::ANY`].
/// Enough for the scaling benchmarks' 10,000 live user processes with room to spare.
pub const MAX_SLOTS: usize = (SLOT_MASK as usize) - 1;

/// A process's name for IPC: slot and generation packed in 32 bits (MINIX packs them in an int).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Endpoint(u32);

impl Endpoint {
    /// "Any source" in a receive. Never a valid destination.
    pub const ANY: Endpoint = Endpoint(u32::MAX);
    /// "Nobody": the source of a message the kernel made up, and an empty endpoint field.
    pub const NONE: Endpoint = Endpoint(u32::MAX - 1);
    /// The kernel itself (slot 0): the source of alarm and death notifications.
    pub const KERNEL: Endpoint = Endpoint(0);

    /// The endpoint of `slot` in its `generation`.
    pub const fn new(slot: Slot, generation: u16) -> Endpoint {
        assert!(slot <= MAX_SLOTS, "slot out of range");
        Endpoint(((generation as u32) << SLOT_BITS) | slot as u32)
    }

    /// The slot this endpoint names.
    pub const fn slot(self) -> Slot {
        (self.0 & SLOT_MASK) as Slot
    }

    /// The generation of the incarnation this endpoint names.
    pub const fn generation(self) -> u16 {
        (self.0 >> SLOT_BITS) as u16
    }

    /// The packed value, as it travels in message fields.
    pub const fn raw(self) -> u32 {
        self.0
    }

    /// Rebuilds an endpoint from its packed value (the inverse of [`Endpoint::raw`]).
    pub const fn from_raw(raw: u32) -> Endpoint {
        Endpoint(raw)
    }

    /// True for the special values [`Endpoint::ANY`] and [`Endpoint::NONE`].
    pub const fn is_special(self) -> bool {
        self.0 == Self::ANY.0 || self.0 == Self::NONE.0
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Endpoint::ANY => f.write_str("ANY"),
            Endpoint::NONE => f.write_str("NONE"),
            Endpoint::KERNEL => f.write_str("KERNEL"),
            ep => write!(f, "{}.{}", ep.slot(), ep.generation()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_and_generation_round_trip() {
        let ep = Endpoint::new(4242, 7);
        assert_eq!(ep.slot(), 4242);
        assert_eq!(ep.generation(), 7);
        assert_eq!(Endpoint::from_raw(ep.raw()), ep);
        assert_ne!(ep, Endpoint::new(4242, 8), "generations tell incarnations apart");
        assert_eq!(ep.to_string(), "4242.7");
    }

    #[test]
    fn special_values_are_not_slots() {
        assert!(Endpoint::ANY.is_special());
        assert!(Endpoint::NONE.is_special());
        assert!(!Endpoint::new(MAX_SLOTS, u16::MAX - 1).is_special());
    }
}

//! Value corruption for injected faults: "a wrong value stored" (a bit flip).
//!
//! Only plain integer and boolean values can be corrupted in place; for any other value type a
//! campaign injects the other kind of corruption, the wrong index ([`crate::WriteAction::Neighbour`]).

use std::any::{Any, TypeId};

macro_rules! integer_types {
    ($m:ident) => {
        $m!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize)
    };
}

/// Whether values of type `T` can be corrupted by [`corrupt`].
pub fn corruptible<T: 'static>() -> bool {
    let id = TypeId::of::<T>();
    macro_rules! any_of {
        ($($t:ty),*) => { [$(TypeId::of::<$t>()),*].contains(&id) };
    }
    id == TypeId::of::<bool>() || integer_types!(any_of)
}

/// Flips bit `bit` (modulo the width) of an integer, or negates a boolean. Returns whether `value`
/// was of a corruptible type (and so was changed).
pub fn corrupt<T: 'static>(value: &mut T, bit: u8) -> bool {
    let any = value as &mut dyn Any;
    if let Some(b) = any.downcast_mut::<bool>() {
        *b = !*b;
        return true;
    }
    macro_rules! flip {
        ($($t:ty),*) => {$(
            if let Some(v) = any.downcast_mut::<$t>() {
                *v ^= (1 as $t) << (u32::from(bit) % <$t>::BITS);
                return true;
            }
        )*};
    }
    integer_types!(flip);
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_and_booleans_flip_others_do_not() {
        let mut x = 0u32;
        assert!(corrupt(&mut x, 3));
        assert_eq!(x, 8);
        let mut y = -1i64;
        assert!(corrupt(&mut y, 64 + 63), "bit taken modulo the width");
        assert_eq!(y, i64::MAX);
        let mut b = false;
        assert!(corrupt(&mut b, 0));
        assert!(b);
        let mut s = String::from("x");
        assert!(!corrupt(&mut s, 1));
        assert!(corruptible::<u64>() && corruptible::<bool>() && !corruptible::<String>());
    }

    #[test]
    fn a_corrupt_write_lands_and_rollback_undoes_it() {
        use crate::{
            Journal, StateClass, TrackedCell, TrackedState, TrackedVec, WriteAction, WriteEvent, tracked_state,
        };
        struct S {
            journal: Journal,
            next: TrackedCell<u32>,
            free: TrackedVec<u32>,
        }
        tracked_state!(S { journal: journal, fields: [next, free] });
        let journal = Journal::new();
        let mut s = S {
            next: TrackedCell::new(&journal, "next", StateClass::Global, 5),
            free: TrackedVec::from_vec(&journal, "free", StateClass::Global, vec![1, 2]),
            journal,
        };
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        s.journal.set_observer(Box::new(move |e: &WriteEvent| {
            log.lock().unwrap().push(e.corruptible);
            WriteAction::Corrupt { bit: 4 }
        }));
        s.checkpoint();
        s.next.set(1);
        *s.free.get_mut(0).unwrap() += 1;
        s.free.push(7);
        s.journal.take_observer();
        assert_eq!(*s.next.get(), 1 ^ 16);
        assert_eq!(
            (*s.free.get(0).unwrap(), *s.free.get(2).unwrap()),
            ((1 ^ 16) + 1, 7 ^ 16),
            "get_mut corrupts, then the update lands"
        );
        assert_eq!(*seen.lock().unwrap(), [true, true, true]);
        s.rollback();
        assert_eq!(*s.next.get(), 5);
        assert_eq!(s.free.iter().copied().collect::<Vec<_>>(), [1, 2]);
    }
}

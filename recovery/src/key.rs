//! Compact, owned renderings of container keys, for write events, dirty-entry lists and reports.
//!
//! Containers are generic over their key types; observers and reports are not. [`TrackKey`] turns
//! a key into a [`KeyRepr`] that is cheap to compare and hash (a number when the key is a number),
//! and is only called when somebody looks: no observer, no rendering.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The rendering of the entry a write touched.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyRepr {
    /// The single value of a [`crate::TrackedCell`].
    Whole,
    /// The length of a [`crate::TrackedVec`], a location of its own (push and pop write it).
    Length,
    /// An unsigned key or a vector index.
    Uint(u64),
    /// A signed key.
    Int(i64),
    /// Any other key, rendered as text.
    Text(String),
}

impl fmt::Display for KeyRepr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Whole => f.write_str("*"),
            Self::Length => f.write_str("len"),
            Self::Uint(n) => write!(f, "{n}"),
            Self::Int(n) => write!(f, "{n}"),
            Self::Text(s) => f.write_str(s),
        }
    }
}

/// A key type of a tracked container that can be rendered for observers and reports.
///
/// Implement it for a server's own key newtypes (an endpoint, a process slot) by rendering the
/// inner number.
pub trait TrackKey {
    /// The compact rendering of this key.
    fn key_repr(&self) -> KeyRepr;
}

macro_rules! unsigned_keys {
    ($($t:ty),*) => {$(
        impl TrackKey for $t {
            fn key_repr(&self) -> KeyRepr {
                KeyRepr::Uint(u64::try_from(*self).expect("unsigned key wider than 64 bits"))
            }
        }
    )*};
}
macro_rules! signed_keys {
    ($($t:ty),*) => {$(
        impl TrackKey for $t {
            fn key_repr(&self) -> KeyRepr {
                KeyRepr::Int(i64::try_from(*self).expect("signed key wider than 64 bits"))
            }
        }
    )*};
}
unsigned_keys!(u8, u16, u32, u64, usize);
signed_keys!(i8, i16, i32, i64, isize);

impl TrackKey for String {
    fn key_repr(&self) -> KeyRepr {
        KeyRepr::Text(self.clone())
    }
}

impl TrackKey for &'static str {
    fn key_repr(&self) -> KeyRepr {
        KeyRepr::Text((*self).to_owned())
    }
}

impl<A: TrackKey, B: TrackKey> TrackKey for (A, B) {
    fn key_repr(&self) -> KeyRepr {
        KeyRepr::Text(format!("{},{}", self.0.key_repr(), self.1.key_repr()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_render_as_numbers_and_pairs_as_text() {
        assert_eq!(7u32.key_repr(), KeyRepr::Uint(7));
        assert_eq!((-3i32).key_repr(), KeyRepr::Int(-3));
        assert_eq!("tty".key_repr(), KeyRepr::Text("tty".into()));
        assert_eq!((4u32, "fd").key_repr(), KeyRepr::Text("4,fd".into()));
        assert_eq!(KeyRepr::Length.to_string(), "len");
    }
}

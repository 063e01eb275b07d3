//! Messages: 64 bytes, copied by the kernel, with typed payload layouts.
//!
//! A message is a source endpoint (filled in by the kernel, never trusted from the sender), a
//! message type, and a 56-byte payload. Servers declare one payload layout per call with
//! [`payload!`](crate::payload); the macro checks at compile time that the layout fits, exactly as
//! MINIX checks every message layout's size. Bulk data never travels in messages: it moves through
//! grants and safecopy (see [`crate::memory`]).

use crate::endpoint::Endpoint;
use std::fmt;

/// Bytes of payload in a message.
pub const PAYLOAD_SIZE: usize = 56;

/// A message type. Requests use the ranges in [`crate::msgtype`]; a reply's type is its status:
/// zero or positive for success, a negative errno for failure (MINIX's convention).
pub type MsgType = i32;

/// One IPC message, exactly 64 bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(C, align(16))]
pub struct Message {
    /// Who sent it. Set by the kernel on delivery.
    pub source: Endpoint,
    /// What it asks for (requests) or its status (replies).
    pub m_type: MsgType,
    /// The call's arguments, laid out by a [`Payload`] type.
    pub payload: [u8; PAYLOAD_SIZE],
}

const _: () = assert!(std::mem::size_of::<Message>() == 64, "a message is 64 bytes");

impl Message {
    /// An empty message of the given type.
    pub const fn new(m_type: MsgType) -> Message {
        Message { source: Endpoint::NONE, m_type, payload: [0; PAYLOAD_SIZE] }
    }

    /// A message of the given type carrying `payload`.
    pub fn with<P: Payload>(m_type: MsgType, payload: &P) -> Message {
        let mut m = Message::new(m_type);
        payload.write(&mut m.payload);
        m
    }

    /// Reads the payload as layout `P`. Any 56 bytes decode to some value of `P`: a forged
    /// payload yields odd field values, never undefined behaviour.
    pub fn get<P: Payload>(&self) -> P {
        P::read(&self.payload)
    }

    /// Replaces the payload with `payload`.
    pub fn set<P: Payload>(&mut self, payload: &P) {
        self.payload = [0; PAYLOAD_SIZE];
        payload.write(&mut self.payload);
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let used = self.payload.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        write!(f, "Message {{ source: {}, m_type: {:#x}, payload: ", self.source, self.m_type)?;
        for b in &self.payload[..used] {
            write!(f, "{b:02x}")?;
        }
        f.write_str(" }")
    }
}

/// A payload layout: a fixed set of fields at fixed offsets within the 56 bytes.
/// Implemented by [`payload!`](crate::payload); rarely by hand.
pub trait Payload: Sized {
    /// Bytes the layout uses; at most [`PAYLOAD_SIZE`], checked at compile time by the macro.
    const SIZE: usize;
    /// Writes the fields, little-endian, from offset 0.
    fn write(&self, out: &mut [u8; PAYLOAD_SIZE]);
    /// Reads the fields back.
    fn read(bytes: &[u8; PAYLOAD_SIZE]) -> Self;
}

/// A value that can be a payload field: fixed size, any bit pattern decodes.
pub trait Field: Copy {
    /// Bytes the field takes.
    const SIZE: usize;
    /// Writes the value into `out` (exactly `SIZE` bytes).
    fn put(self, out: &mut [u8]);
    /// Reads the value from `bytes` (exactly `SIZE` bytes).
    fn take(bytes: &[u8]) -> Self;
}

macro_rules! int_field {
    ($($t:ty),*) => {$(
        impl Field for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            fn put(self, out: &mut [u8]) {
                out.copy_from_slice(&self.to_le_bytes());
            }
            fn take(bytes: &[u8]) -> Self {
                let mut raw = [0u8; std::mem::size_of::<$t>()];
                raw.copy_from_slice(bytes);
                <$t>::from_le_bytes(raw)
            }
        }
    )*};
}
int_field!(u8, u16, u32, u64, i8, i16, i32, i64);

impl Field for bool {
    const SIZE: usize = 1;
    fn put(self, out: &mut [u8]) {
        out[0] = self as u8;
    }
    fn take(bytes: &[u8]) -> Self {
        bytes[0] != 0
    }
}

impl Field for Endpoint {
    const SIZE: usize = 4;
    fn put(self, out: &mut [u8]) {
        self.raw().put(out)
    }
    fn take(bytes: &[u8]) -> Self {
        Endpoint::from_raw(u32::take(bytes))
    }
}

impl<const N: usize> Field for [u8; N] {
    const SIZE: usize = N;
    fn put(self, out: &mut [u8]) {
        out.copy_from_slice(&self);
    }
    fn take(bytes: &[u8]) -> Self {
        let mut raw = [0u8; N];
        raw.copy_from_slice(bytes);
        raw
    }
}

impl<const N: usize> Field for [u32; N] {
    const SIZE: usize = 4 * N;
    fn put(self, out: &mut [u8]) {
        for (chunk, v) in out.chunks_exact_mut(4).zip(self) {
            v.put(chunk);
        }
    }
    fn take(bytes: &[u8]) -> Self {
        let mut raw = [0u32; N];
        for (v, chunk) in raw.iter_mut().zip(bytes.chunks_exact(4)) {
            *v = u32::take(chunk);
        }
        raw
    }
}

/// Declares a message payload layout: a plain struct whose fields are [`Field`]s, laid out in
/// order from offset 0, with a compile-time check that it fits in [`PAYLOAD_SIZE`] bytes.
///
/// ```
/// kernel_sim::payload! {
///     /// pm -> vm: build the child's address space.
///     pub struct VmFork { pub parent: kernel_sim::Endpoint, pub child_slot: u32 }
/// }
/// let m = kernel_sim::Message::with(0xC01, &VmFork { parent: kernel_sim::Endpoint::KERNEL, child_slot: 9 });
/// assert_eq!(m.get::<VmFork>().child_slot, 9);
/// ```
#[macro_export]
macro_rules! payload {
    ($(#[$meta:meta])* $vis:vis struct $name:ident {
        $($(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty),* $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        $vis struct $name { $($(#[$fmeta])* $fvis $field: $ty),* }

        impl $crate::Payload for $name {
            const SIZE: usize = 0 $(+ <$ty as $crate::Field>::SIZE)*;
            #[allow(unused_assignments, unused_variables, unused_mut)]
            fn write(&self, out: &mut [u8; $crate::PAYLOAD_SIZE]) {
                let mut at = 0usize;
                $(
                    let size = <$ty as $crate::Field>::SIZE;
                    <$ty as $crate::Field>::put(self.$field, &mut out[at..at + size]);
                    at += size;
                )*
            }
            #[allow(unused_assignments, unused_variables, unused_mut)]
            fn read(bytes: &[u8; $crate::PAYLOAD_SIZE]) -> Self {
                let mut at = 0usize;
                $(
                    let size = <$ty as $crate::Field>::SIZE;
                    let $field = <$ty as $crate::Field>::take(&bytes[at..at + size]);
                    at += size;
                )*
                $name { $($field),* }
            }
        }

        const _: () = assert!(
            <$name as $crate::Payload>::SIZE <= $crate::PAYLOAD_SIZE,
            concat!("payload layout ", stringify!($name), " does not fit in a 64-byte message")
        );
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::payload! {
        /// A layout using every kind of field.
        struct Everything { a: u8, b: i16, c: u32, d: i64, e: bool, f: Endpoint, g: [u8; 16] }
    }

    #[test]
    fn payload_round_trips_every_field_kind() {
        let value = Everything {
            a: 200,
            b: -3,
            c: 0xdead_beef,
            d: i64::MIN,
            e: true,
            f: Endpoint::new(12, 3),
            g: *b"sixteen bytes!!!",
        };
        let m = Message::with(0x105, &value);
        assert_eq!(m.m_type, 0x105);
        assert_eq!(m.get::<Everything>(), value);
        assert_eq!(<Everything as Payload>::SIZE, 1 + 2 + 4 + 8 + 1 + 4 + 16);
    }

    #[test]
    fn forged_bytes_decode_without_harm() {
        let mut m = Message::new(1);
        m.payload = [0xff; PAYLOAD_SIZE];
        let v = m.get::<Everything>();
        assert_eq!(v.a, 0xff);
        assert!(v.e);
        assert_eq!(v.f, Endpoint::ANY);
    }
}

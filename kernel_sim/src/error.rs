//! Errors the kernel returns from IPC primitives and kernel calls.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why an IPC primitive or kernel call failed. Each maps to MINIX's errno for the same case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KernelError {
    /// The peer is dead, or the endpoint names an earlier incarnation of its slot (EDEADSRCDST).
    DeadEndpoint,
    /// The endpoint is not a process at all: out of range, or ANY as a destination (EBADEPT).
    BadEndpoint,
    /// The manifest does not allow this IPC or kernel call (ECALLDENIED).
    Denied,
    /// `sendnb` found the destination not waiting for this message (ENOTREADY).
    NotReady,
    /// Blocking here would close a cycle of processes waiting on each other (ELOCKED).
    Deadlock,
    /// No free process slot (EAGAIN).
    NoSlot,
    /// A grant is unknown, revoked, not for the caller, or lacks the access asked (EPERM).
    BadGrant,
    /// An address or range outside the address space or the grant (EFAULT).
    Fault,
    /// No program of that name is registered (ENOENT).
    NoSuchProgram,
    /// An argument makes no sense for the call (EINVAL).
    Invalid,
    /// A sendrec was not sent: a signal frame waits for the caller, whose handler runs first
    /// (EINTR). The call never reached its server, so the library may make it again.
    Interrupted,
}

impl KernelError {
    /// Every error, in declaration order (a test checks the list is whole).
    pub const ALL: [KernelError; 11] = [
        KernelError::DeadEndpoint,
        KernelError::BadEndpoint,
        KernelError::Denied,
        KernelError::NotReady,
        KernelError::Deadlock,
        KernelError::NoSlot,
        KernelError::BadGrant,
        KernelError::Fault,
        KernelError::NoSuchProgram,
        KernelError::Invalid,
        KernelError::Interrupted,
    ];

    /// The MINIX errno value (negative, as MINIX returns them).
    pub const fn errno(self) -> i32 {
        match self {
            KernelError::DeadEndpoint => -301,
            KernelError::BadEndpoint => -302,
            KernelError::Denied => -305,
            KernelError::NotReady => -304,
            KernelError::Deadlock => -303,
            KernelError::NoSlot => -11,
            KernelError::BadGrant => -1,
            KernelError::Fault => -14,
            KernelError::NoSuchProgram => -2,
            KernelError::Invalid => -22,
            KernelError::Interrupted => -4,
        }
    }

    /// MINIX's symbolic name.
    pub const fn name(self) -> &'static str {
        match self {
            KernelError::DeadEndpoint => "EDEADSRCDST",
            KernelError::BadEndpoint => "EBADEPT",
            KernelError::Denied => "ECALLDENIED",
            KernelError::NotReady => "ENOTREADY",
            KernelError::Deadlock => "ELOCKED",
            KernelError::NoSlot => "EAGAIN",
            KernelError::BadGrant => "EPERM",
            KernelError::Fault => "EFAULT",
            KernelError::NoSuchProgram => "ENOENT",
            KernelError::Invalid => "EINVAL",
            KernelError::Interrupted => "EINTR",
        }
    }
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::error::Error for KernelError {}

#[cfg(test)]
mod tests {
    use super::KernelError;

    #[test]
    fn all_lists_every_error_once_in_order() {
        for (i, &e) in KernelError::ALL.iter().enumerate() {
            // Exhaustive: a new error does not compile here until it is given its place in ALL.
            let place = match e {
                KernelError::DeadEndpoint => 0,
                KernelError::BadEndpoint => 1,
                KernelError::Denied => 2,
                KernelError::NotReady => 3,
                KernelError::Deadlock => 4,
                KernelError::NoSlot => 5,
                KernelError::BadGrant => 6,
                KernelError::Fault => 7,
                KernelError::NoSuchProgram => 8,
                KernelError::Invalid => 9,
                KernelError::Interrupted => 10,
            };
            assert_eq!(place, i, "{e} is out of place in KernelError::ALL");
        }
    }
}

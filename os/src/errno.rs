//! Error numbers returned to user processes, as in MINIX's `<errno.h>`.
//!
//! A reply's `m_type` is its status: zero or positive for success, `-errno` for failure.

use kernel_sim::KernelError;
use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! errnos {
    ($($name:ident = $value:expr, $text:expr;)*) => {
        /// An error a system call can return.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[allow(clippy::upper_case_acronyms)]
        pub enum Errno {
            $(#[doc = $text] $name = $value,)*
        }

        impl Errno {
            /// Every error number.
            pub const ALL: &'static [Errno] = &[$(Errno::$name),*];

            /// The number (positive).
            pub const fn code(self) -> i32 {
                self as i32
            }

            /// The symbolic name, e.g. `ENOENT`.
            pub const fn name(self) -> &'static str {
                match self { $(Errno::$name => stringify!($name),)* }
            }

            /// What it means.
            pub const fn text(self) -> &'static str {
                match self { $(Errno::$name => $text,)* }
            }

            /// The error for a positive number, if it is one.
            pub fn from_code(code: i32) -> Option<Errno> {
                match code { $($value => Some(Errno::$name),)* _ => None }
            }
        }
    };
}

errnos! {
    EPERM = 1, "Operation not permitted";
    ENOENT = 2, "No such file or directory";
    ESRCH = 3, "No such process";
    EINTR = 4, "Interrupted system call";
    EIO = 5, "I/O error";
    ENXIO = 6, "No such device or address";
    E2BIG = 7, "Argument list too long";
    ENOEXEC = 8, "Exec format error";
    EBADF = 9, "Bad file descriptor";
    ECHILD = 10, "No child processes";
    EAGAIN = 11, "Resource temporarily unavailable";
    ENOMEM = 12, "Not enough memory";
    EACCES = 13, "Permission denied";
    EFAULT = 14, "Bad address";
    EBUSY = 16, "Resource busy";
    EEXIST = 17, "File exists";
    EXDEV = 18, "Cross-device link";
    ENODEV = 19, "No such device";
    ENOTDIR = 20, "Not a directory";
    EISDIR = 21, "Is a directory";
    EINVAL = 22, "Invalid argument";
    ENFILE = 23, "Too many open files in system";
    EMFILE = 24, "Too many open files";
    ENOTTY = 25, "Inappropriate ioctl for device";
    EFBIG = 27, "File too large";
    ENOSPC = 28, "No space left on device";
    ESPIPE = 29, "Illegal seek";
    EMLINK = 31, "Too many links";
    EPIPE = 32, "Broken pipe";
    ERANGE = 34, "Result too large";
    ENAMETOOLONG = 36, "File name too long";
    ENOSYS = 38, "Function not implemented";
    ENOTEMPTY = 39, "Directory not empty";
    ELOOP = 40, "Too many levels of symbolic links";
    ENOTSUP = 95, "Operation not supported";
    EDEADSRCDST = 301, "Server died: the request was lost";
    ECALLDENIED = 305, "Call denied by the manifest";
    EDEADLK = 303, "IPC would deadlock";
    ERECOVERED = 320, "The server crashed on this request and recovered; the request was dropped";
    EQUARANTINED = 321, "The server refuses this call: a persistent fault was found in it (quarantined)";
}

impl Errno {
    /// The status a reply carries for this error.
    pub const fn status(self) -> i32 {
        -(self as i32)
    }

    /// The error a failed reply status stands for (an unknown number becomes `EIO`).
    pub fn from_status(status: i32) -> Errno {
        Errno::from_code(-status).unwrap_or(Errno::EIO)
    }
}

impl From<KernelError> for Errno {
    fn from(e: KernelError) -> Errno {
        match e {
            KernelError::DeadEndpoint => Errno::EDEADSRCDST,
            KernelError::BadEndpoint => Errno::ESRCH,
            KernelError::Denied => Errno::ECALLDENIED,
            KernelError::NotReady => Errno::EAGAIN,
            KernelError::Deadlock => Errno::EDEADLK,
            KernelError::NoSlot => Errno::EAGAIN,
            KernelError::BadGrant => Errno::EPERM,
            KernelError::Fault => Errno::EFAULT,
            KernelError::NoSuchProgram => Errno::ENOEXEC,
            KernelError::Invalid => Errno::EINVAL,
            KernelError::Interrupted => Errno::EINTR,
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.text())
    }
}

impl std::error::Error for Errno {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips_and_unknown_is_eio() {
        for &e in Errno::ALL {
            assert_eq!(Errno::from_status(e.status()), e);
        }
        assert_eq!(Errno::from_status(-9999), Errno::EIO);
        assert_eq!(Errno::ENOENT.to_string(), "ENOENT (No such file or directory)");
    }
}

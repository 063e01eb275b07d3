//! The user-side system-call library: what user programs call, with errno errors.
//!
//! Every call is a message to a server (`sendrec`); a negative reply status is its errno. Paths,
//! argument vectors and I/O data are first written into the process's own simulated memory (the
//! scratch buffer at the bottom of its stack region), then granted to the server, which copies
//! them with safecopy — so data moves between address spaces only through the kernel, as in MINIX.
//! The `*_at` variants take raw user addresses, for programs (and fuzzers) that manage their own
//! memory.

mod fs;
mod ids;
mod mem;
mod priority;
mod process;
mod signal;
mod time;

pub use fs::{DirEntry, PollFd, Stat};
pub use mem::MapEntry;
pub use signal::{Itimer, SigAction, SigHandler, count_handler_run, handler_runs, reset_handler_runs};
pub use time::{Rusage, Timespec};

use kernel_sim::memory::{Access, GrantId};
use kernel_sim::{Endpoint, KernelError, Message, Proc};
use os::errno::Errno;
use os::proto::vm::layout::{SCRATCH, SCRATCH_LEN};

/// A user process's handle on the system calls.
pub struct Sys<'a> {
    proc: &'a Proc,
}

/// A grant that is revoked when dropped (after the call that used it).
struct GrantGuard<'a> {
    proc: &'a Proc,
    id: GrantId,
}

impl Drop for GrantGuard<'_> {
    fn drop(&mut self) {
        self.proc.revoke(self.id);
    }
}

impl<'a> Sys<'a> {
    /// The system calls of the process `proc`.
    pub fn new(proc: &'a Proc) -> Sys<'a> {
        Sys { proc }
    }

    /// The process itself (its endpoint, its memory).
    pub fn proc(&self) -> &'a Proc {
        self.proc
    }

    /// Sends a request and returns the reply, or the errno of a failed status or failed IPC.
    /// Signal handlers run at this boundary: before the call when the kernel refused it for a
    /// waiting signal frame (then it is made), and after the reply.
    pub fn call(&self, dst: Endpoint, msg: Message) -> Result<Message, Errno> {
        let reply = loop {
            match self.proc.sendrec(dst, msg) {
                Err(KernelError::Interrupted) => self.run_signal_handlers(),
                answered => break answered,
            }
        };
        self.run_signal_handlers();
        let reply = reply?;
        if reply.m_type < 0 { Err(Errno::from_status(reply.m_type)) } else { Ok(reply) }
    }

    /// Writes `bytes` at `offset` in the scratch buffer; returns the address.
    fn stage(&self, offset: u64, bytes: &[u8]) -> Result<u64, Errno> {
        if offset + bytes.len() as u64 > SCRATCH_LEN {
            return Err(Errno::E2BIG);
        }
        self.proc.mem_write(SCRATCH + offset, bytes)?;
        Ok(SCRATCH + offset)
    }

    fn grant(&self, to: Endpoint, addr: u64, len: u64, access: Access) -> GrantGuard<'a> {
        GrantGuard { proc: self.proc, id: self.proc.grant(to, addr, len, access) }
    }
}

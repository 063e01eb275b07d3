//! Signal calls (to pm): sigaction, sigprocmask, sigpending, sigsuspend, alarm, setitimer,
//! getitimer; and where handlers run.
//!
//! pm keeps a signal's disposition, mask and flags; the handler itself (a Rust function) stays
//! here, in a table in the process's own memory (the top half of its stack region), so that fork
//! copies it with the memory and exec clears it with the image, as a C library's are. The table
//! holds each handler's number in `HANDLERS`, the program text's list of handler functions
//! (append-only and the same for every process, like code addresses).
//!
//! Delivery: pm posts a frame on the process through the kernel; the kernel refuses the process's
//! next sendrec while a frame waits (the call was not made), and [`Sys::call`] takes every frame
//! after each reply or refusal, runs the handler, and sends sigreturn with the frame's saved mask.
//! A call that was refused is made again after the handlers ran; one that a server answered EINTR
//! (wait4, sigsuspend, a pipe read vfs unpaused) returns EINTR.

use super::Sys;
use kernel_sim::Message;
use os::errno::Errno;
use os::proto::PM;
use os::proto::pm::*;
use os::proto::vm::layout::{SCRATCH, SCRATCH_LEN, STACK_TOP};
use std::sync::Mutex;

/// A signal handler: the process's syscalls, and the signal number.
pub type SigHandler = fn(&Sys<'_>, i32);

/// Where the handler table starts: the top half of the stack region, above the scratch buffer.
const HANDLER_TABLE: u64 = SCRATCH + SCRATCH_LEN;
/// Bytes of one table entry (a handler's number in `HANDLERS`, 0 for none).
const HANDLER_ENTRY: u64 = 4;

/// Every handler function any program installed, numbered from 1 (0 is "none").
static HANDLERS: Mutex<Vec<SigHandler>> = Mutex::new(Vec::new());

/// The number of `handler` in `HANDLERS`, adding it the first time.
fn handler_number(handler: SigHandler) -> u32 {
    let mut table = HANDLERS.lock().unwrap_or_else(|e| e.into_inner());
    // Compared as code addresses: the same function is one entry.
    let position = table.iter().position(|&h| h as usize == handler as usize);
    let index = position.unwrap_or_else(|| {
        table.push(handler);
        table.len() - 1
    });
    index as u32 + 1
}

fn handler_of_number(number: u32) -> Option<SigHandler> {
    let table = HANDLERS.lock().unwrap_or_else(|e| e.into_inner());
    table.get(number.checked_sub(1)? as usize).copied()
}

/// What a signal does: sigaction's `struct sigaction`.
#[derive(Clone, Copy)]
pub enum SigAction {
    /// SIG_DFL.
    Default,
    /// SIG_IGN.
    Ignore,
    /// A handler, with the signals blocked while it runs (`sa_mask`, besides itself unless
    /// `SA_NODEFER`) and flags (`SA_RESETHAND`, `SA_NODEFER`).
    Handler {
        /// The function.
        handler: SigHandler,
        /// `sa_mask`.
        mask: u32,
        /// `sa_flags`.
        flags: u32,
    },
}

/// Without the handler's address: it is the host's, different in every process, and a results
/// file must read the same from every run of a seed.
impl std::fmt::Debug for SigAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SigAction::Default => f.write_str("Default"),
            SigAction::Ignore => f.write_str("Ignore"),
            SigAction::Handler { mask, flags, .. } => write!(f, "Handler {{ mask: {mask:#x}, flags: {flags:#x} }}"),
        }
    }
}

impl PartialEq for SigAction {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (SigAction::Default, SigAction::Default) | (SigAction::Ignore, SigAction::Ignore) => true,
            (
                SigAction::Handler { handler: a, mask: m, flags: f },
                SigAction::Handler { handler: b, mask: n, flags: g },
            ) => *a as usize == *b as usize && m == n && f == g,
            _ => false,
        }
    }
}

/// An interval timer's setting: time to the next expiry and the period, in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Itimer {
    /// Microseconds to the next expiry (0: stopped).
    pub value_us: u64,
    /// Microseconds between expiries after that (0: once).
    pub interval_us: u64,
}

impl Sys<'_> {
    fn handler_slot(&self, signo: i32) -> Option<u64> {
        (1..=sig::NSIG).contains(&signo).then(|| HANDLER_TABLE + signo as u64 * HANDLER_ENTRY)
    }

    /// The handler this process's table holds for `signo`.
    fn handler_at(&self, signo: i32) -> Option<SigHandler> {
        handler_of_number(self.handler_number_at(signo))
    }

    /// The number of that handler in `HANDLERS` (0: none, or no such signal).
    fn handler_number_at(&self, signo: i32) -> u32 {
        let mut raw = [0u8; HANDLER_ENTRY as usize];
        match self.handler_slot(signo).map(|slot| self.proc.mem_read(slot, &mut raw)) {
            Some(Ok(())) => u32::from_le_bytes(raw),
            _ => 0,
        }
    }

    fn set_handler_at(&self, signo: i32, number: u32) -> Result<(), Errno> {
        let Some(slot) = self.handler_slot(signo) else { return Err(Errno::EINVAL) };
        self.proc.mem_write(slot, &number.to_le_bytes())?;
        Ok(())
    }

    /// Runs the handler of every signal frame pm posted on this process, each followed by
    /// sigreturn (which restores the mask the frame saved and may deliver more).
    pub(super) fn run_signal_handlers(&self) {
        while let Some(frame) = self.proc.take_signal() {
            if frame.stop {
                // A stop signal's default action: stopped here until continued (or killed).
                self.proc.stop_until_continued();
                continue;
            }
            if let Some(handler) = self.handler_at(frame.signo) {
                handler(self, frame.signo);
            }
            let _ = self.call(PM, Message::with(PM_SIGRETURN, &SigMaskRequest { mask: frame.saved_mask }));
        }
    }

    /// Sets `signo`'s action to `new` (or only reads it, with `None`); returns the old one.
    pub fn sigaction(&self, signo: i32, new: Option<SigAction>) -> Result<SigAction, Errno> {
        let old_number = self.handler_number_at(signo);
        let (disposition, mask, flags) = match new {
            None | Some(SigAction::Default) => (disposition::DEFAULT, 0, 0),
            Some(SigAction::Ignore) => (disposition::IGNORE, 0, 0),
            Some(SigAction::Handler { mask, flags, .. }) => (disposition::CATCH, mask, flags),
        };
        // The handler is in the table before pm may deliver to it; a refusal puts the old one back.
        let installing = match new {
            Some(SigAction::Handler { handler, .. }) if self.handler_slot(signo).is_some() => {
                self.set_handler_at(signo, handler_number(handler))?;
                true
            }
            _ => false,
        };
        let request = SigactionRequest { signo, disposition, mask, flags, set: new.is_some() };
        let old = match self.call(PM, Message::with(PM_SIGACTION, &request)) {
            Ok(reply) => reply.get::<SigactionReply>(),
            Err(e) => {
                if installing {
                    let _ = self.set_handler_at(signo, old_number);
                }
                return Err(e);
            }
        };
        Ok(match old.disposition {
            disposition::IGNORE => SigAction::Ignore,
            disposition::CATCH => match handler_of_number(old_number) {
                Some(handler) => SigAction::Handler { handler, mask: old.mask, flags: old.flags },
                None => SigAction::Default,
            },
            _ => SigAction::Default,
        })
    }

    /// Changes the signal mask (`SIG_BLOCK`, `SIG_UNBLOCK`, `SIG_SETMASK` with `set`); returns the
    /// old mask. Signals it unblocks are handled before it returns.
    pub fn sigprocmask(&self, how: i32, set: u32) -> Result<u32, Errno> {
        let request = SigprocmaskRequest { how, set, change: true };
        Ok(self.call(PM, Message::with(PM_SIGPROCMASK, &request))?.get::<SigSetReply>().set)
    }

    /// The signal mask.
    pub fn sigmask(&self) -> Result<u32, Errno> {
        let request = SigprocmaskRequest { how: SIG_BLOCK, set: 0, change: false };
        Ok(self.call(PM, Message::with(PM_SIGPROCMASK, &request))?.get::<SigSetReply>().set)
    }

    /// The signals raised while blocked.
    pub fn sigpending(&self) -> Result<u32, Errno> {
        Ok(self.call(PM, Message::new(PM_SIGPENDING))?.get::<SigSetReply>().set)
    }

    /// Waits with `mask` until a caught signal's handler has run; always EINTR then.
    pub fn sigsuspend(&self, mask: u32) -> Errno {
        match self.call(PM, Message::with(PM_SIGSUSPEND, &SigMaskRequest { mask })) {
            Ok(_) => Errno::EIO,
            Err(e) => e,
        }
    }

    /// SIGALRM after `seconds` (0 cancels); the seconds the previous alarm had left.
    pub fn alarm(&self, seconds: u32) -> Result<u32, Errno> {
        Ok(self.call(PM, Message::with(PM_ALARM, &AlarmRequest { seconds }))?.get::<AlarmReply>().remaining)
    }

    /// Sets interval timer `which` (only ITIMER_REAL is kept); returns the old setting.
    pub fn setitimer(&self, which: i32, new: Itimer) -> Result<Itimer, Errno> {
        let request = SetitimerRequest { which, value_us: new.value_us, interval_us: new.interval_us };
        let r = self.call(PM, Message::with(PM_SETITIMER, &request))?.get::<ItimerReply>();
        Ok(Itimer { value_us: r.value_us, interval_us: r.interval_us })
    }

    /// Interval timer `which`'s setting.
    pub fn getitimer(&self, which: i32) -> Result<Itimer, Errno> {
        let r = self.call(PM, Message::with(PM_GETITIMER, &GetitimerRequest { which }))?.get::<ItimerReply>();
        Ok(Itimer { value_us: r.value_us, interval_us: r.interval_us })
    }
}

/// Where [`count_handler_run`] keeps its count: the top word of the stack region, which the
/// syscall library leaves alone (each process its own; fork copies it, exec clears it).
const HANDLER_RUNS: u64 = STACK_TOP - 8;

/// A handler that only counts its runs, in the process's own memory: what the POSIX suite,
/// unixbench, strace replay (for a handler the log does not hold) and the benchmarks install to
/// tell that every signal was handled.
pub fn count_handler_run(sys: &Sys<'_>, _signo: i32) {
    let runs = handler_runs(sys).unwrap_or(0);
    let _ = sys.proc().mem_write(HANDLER_RUNS, &(runs + 1).to_le_bytes());
}

/// How often [`count_handler_run`] ran in this process since its count was last reset.
pub fn handler_runs(sys: &Sys<'_>) -> Result<u32, Errno> {
    let mut raw = [0u8; 4];
    sys.proc().mem_read(HANDLER_RUNS, &mut raw)?;
    Ok(u32::from_le_bytes(raw))
}

/// Sets [`count_handler_run`]'s count back to zero.
pub fn reset_handler_runs(sys: &Sys<'_>) -> Result<(), Errno> {
    Ok(sys.proc().mem_write(HANDLER_RUNS, &0u32.to_le_bytes())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_action_prints_without_the_hosts_handler_address() {
        fn on_signal(_: &Sys<'_>, _: i32) {}
        let action = SigAction::Handler { handler: on_signal, mask: 0x4, flags: 0x8000_0000 };
        assert_eq!(format!("{action:?}"), "Handler { mask: 0x4, flags: 0x80000000 }");
        assert_eq!(format!("{:?}", SigAction::Ignore), "Ignore");
    }
}

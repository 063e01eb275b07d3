//! Signals (MINIX's `signal.c`): kill, sigaction, sigprocmask, sigpending, sigsuspend, sigreturn,
//! and how pm raises a signal for a process.
//!
//! pm keeps each process's signal state (`PmState::sigs`): the mask, the pending set, and per
//! signal its disposition, `sa_mask` and flags; the handler itself is a function the process's
//! syscall library keeps. A raised signal is dropped when ignored, kept pending while blocked,
//! and otherwise delivered: to a handler by a frame the kernel posts on the process
//! (`sys_sigsend`), which the library takes at its next kernel entry, runs the handler, and hands
//! the frame's saved mask back in sigreturn; or by its default action (terminate, terminate with
//! a core flag, ignore, stop). A process blocked in pm (wait4, sigsuspend) is answered EINTR; one
//! suspended in vfs is unpaused (PM_VFS_UNPAUSE: vfs ends the call with EINTR). A stop is a frame
//! too: the process stops where it takes it (its next kernel entry: a call it is blocked in
//! finishes first) until SIGCONT, which continues it whatever its disposition (`sys_sigcont`);
//! other signals for a stopped process wait, but SIGKILL. Job-control reporting (wait4's
//! WUNTRACED and WCONTINUED, SIGCHLD on a stop) is not done.
//!
//! Invariants: SIGKILL and SIGSTOP are never caught, ignored or blocked; a pending signal is a
//! blocked one (or one waiting for a fork or exec to finish); only live processes have pending
//! signals.

use super::state::{MProc, Phase, PmState, ROOT_UID, SIG_SLOTS};
use crate::errno::Errno;
use crate::proto::pm::*;
use crate::proto::{INIT_PID, ProcKey, VFS};
use crate::task::{Ctx, Handled};
use kernel_sim::{KernelCall, Message, ProcState, SigFrame};

type PmCtx<'a> = Ctx<'a, PmState>;

/// Signals nobody may catch, ignore or block.
pub const UNCATCHABLE: u32 = sig_bit(sig::SIGKILL) | sig_bit(sig::SIGSTOP);
/// Every signal number's bit (1..=NSIG; bit 0 is kill's probe, never a signal).
pub const ALL_SIGNALS: u32 = !1;
/// The signals whose default action stops the process.
const STOP_SIGNALS: u32 = sig_bit(sig::SIGSTOP) | sig_bit(sig::SIGTSTP) | sig_bit(sig::SIGTTIN) | sig_bit(sig::SIGTTOU);

fn is_signal(signo: i32) -> bool {
    (1..=sig::NSIG).contains(&signo)
}

/// PM_KILL: send `signal` to `pid` (> 0), to the caller's group (0), to every process the caller
/// may signal but init and itself (-1), or to group `-pid`.
pub fn do_kill(ctx: &mut PmCtx<'_>) -> Handled {
    let KillRequest { pid, signal } = ctx.m.get();
    if !(0..=sig::NSIG).contains(&signal) {
        return Handled::Reply(Err(Errno::EINVAL));
    }
    let who = ctx.requester();
    let Some(me) = ctx.state.procs.get_own(&who).cloned() else { return Handled::Reply(Err(Errno::ESRCH)) };
    let candidates: Vec<ProcKey> = match pid {
        p if p > 0 => ctx.state.key_of_pid(p).into_iter().collect(),
        0 => ctx.state.members_of_group(me.pgrp),
        -1 => ctx.state.procs.iter().filter(|(_, p)| p.pid != INIT_PID && p.pid != me.pid).map(|(&k, _)| k).collect(),
        p => match p.checked_neg() {
            Some(group) => ctx.state.members_of_group(group),
            None => return Handled::Reply(Err(Errno::ESRCH)),
        },
    };
    // Zombies cannot be signalled; a group of zombies is no group to signal.
    let targets: Vec<(ProcKey, MProc)> = candidates
        .into_iter()
        .filter_map(|k| Some((k, ctx.state.procs.get(k)?.clone())))
        .filter(|(_, p)| !matches!(p.phase, Phase::Zombie { .. }))
        .collect();
    if targets.is_empty() {
        return Handled::Reply(Err(Errno::ESRCH));
    }
    let permitted: Vec<ProcKey> = targets
        .iter()
        .filter(|(_, t)| me.euid == ROOT_UID || me.euid == t.uid || me.uid == t.uid)
        .map(|t| t.0)
        .collect();
    if permitted.is_empty() {
        return Handled::Reply(Err(Errno::EPERM));
    }
    if signal == 0 {
        return Handled::Reply(Ok(Message::new(0)));
    }
    let mut outcome = Ok(());
    for key in permitted {
        if let Err(e) = raise(ctx, key, signal) {
            outcome = outcome.and(Err(e));
        }
    }
    Handled::Reply(outcome.map(|()| Message::new(0)))
}

/// Raises `signo` for the entry at `key` (MINIX's `sig_proc`): dropped when ignored, kept
/// pending while blocked, else delivered.
pub fn raise(ctx: &mut PmCtx<'_>, key: ProcKey, signo: i32) -> Result<(), Errno> {
    let Some(p) = ctx.state.procs.get(key).cloned() else { return Ok(()) };
    let Some(s) = ctx.state.sigs.get(key).cloned() else { return Ok(()) };
    let bit = sig_bit(signo);
    match p.phase {
        // Gone, or going: the first cause of death stands.
        Phase::Zombie { .. } | Phase::Exiting { ended: true, .. } => return Ok(()),
        // It asked to exit but its body still runs (one that sent PM_EXIT by hand and went on):
        // a signal whose default ends it kills it now, caught or not.
        Phase::Exiting { ended: false, .. } => {
            return match default_action(signo) {
                DefaultAction::Terminate | DefaultAction::Core => terminate(ctx, key, &p, signo),
                _ => Ok(()),
            };
        }
        _ => {}
    }
    // SIGCONT continues a stopped process whatever its disposition, and cancels pending stops; a
    // stop cancels a pending SIGCONT (POSIX).
    if signo == sig::SIGCONT {
        ctx.state.sigs.get_mut_global(key).expect("read above").pending &= !STOP_SIGNALS;
        continue_stopped(ctx, key, &p)?;
    } else if bit & STOP_SIGNALS != 0 {
        ctx.state.sigs.get_mut_global(key).expect("read above").pending &= !sig_bit(sig::SIGCONT);
    }
    if s.caught & bit == 0 {
        if s.ignored & bit != 0 {
            return Ok(());
        }
        match default_action(signo) {
            DefaultAction::Ignore | DefaultAction::Continue => return Ok(()),
            DefaultAction::Stop | DefaultAction::Terminate | DefaultAction::Core => {}
        }
    }
    let deferred = matches!(p.phase, Phase::Newborn | Phase::Forking { .. } | Phase::Execing { .. })
        // A stopped process takes nothing but SIGKILL until continued.
        || (s.stopped && signo != sig::SIGKILL && signo != sig::SIGCONT);
    if s.mask & bit != 0 || deferred {
        ctx.state.sigs.get_mut_global(key).expect("read above").pending |= bit;
        return Ok(());
    }
    deliver(ctx, key, signo)
}

/// Delivers every pending signal the entry at `key` no longer blocks, lowest number first (after
/// sigprocmask, sigsuspend, sigreturn, and once a fork or exec is done).
pub fn deliver_pending(ctx: &mut PmCtx<'_>, key: ProcKey) {
    loop {
        let Some(p) = ctx.state.procs.get(key) else { return };
        if !matches!(p.phase, Phase::Running | Phase::Waiting { .. } | Phase::Pausing { .. }) {
            return;
        }
        let Some(s) = ctx.state.sigs.get(key) else { return };
        if s.stopped {
            return;
        }
        let ready = s.pending & !s.mask;
        if ready == 0 {
            return;
        }
        let signo = ready.trailing_zeros() as i32;
        ctx.state.sigs.get_mut_global(key).expect("read above").pending &= !sig_bit(signo);
        // Nobody waits for the answer of the kill that raised it any more.
        let _ = raise(ctx, key, signo);
    }
}

/// Delivers `signo`, which the entry at `key` does not block, by its handler or its default.
fn deliver(ctx: &mut PmCtx<'_>, key: ProcKey, signo: i32) -> Result<(), Errno> {
    let p = ctx.state.procs.get(key).cloned().expect("raised for an entry");
    let s = ctx.state.sigs.get(key).cloned().expect("every entry has signal state");
    let bit = sig_bit(signo);
    if s.caught & bit == 0 {
        ctx.state.sigs.get_mut_global(key).expect("read above").delivered += 1;
        return match default_action(signo) {
            DefaultAction::Stop => stop(ctx, key, &p, signo),
            DefaultAction::Terminate | DefaultAction::Core => terminate(ctx, key, &p, signo),
            // Dropped when raised.
            DefaultAction::Ignore | DefaultAction::Continue => Ok(()),
        };
    }
    // The frame keeps the mask to restore: the one before sigsuspend, for a pausing process.
    let saved_mask = match p.phase {
        Phase::Pausing { saved_mask } => saved_mask,
        _ => s.mask,
    };
    let frame = SigFrame { signo, saved_mask, stop: false };
    ctx.kernel(KernelCall::SigSend, |k| k.sys_sigsend(p.ep, frame))?;
    let slot = signo as usize;
    let actions = ctx.state.sigactions.get(key).expect("every entry has signal actions");
    let (flags, blocked) = (actions.flags[slot], actions.mask[slot]);
    let entry = ctx.state.sigs.get_mut_global(key).expect("read above");
    let self_block = if flags & SA_NODEFER == 0 { bit } else { 0 };
    entry.mask = (entry.mask | blocked | self_block) & !UNCATCHABLE;
    entry.delivered += 1;
    if flags & SA_RESETHAND != 0 {
        entry.caught &= !bit;
        let actions = ctx.state.sigactions.get_mut_global(key).expect("read above");
        actions.mask[slot] = 0;
        actions.flags[slot] = 0;
    }
    interrupt(ctx, key, &p);
    Ok(())
}

/// Ends the call a process getting a caught signal is blocked in: pm's own (wait4, sigsuspend)
/// answered EINTR, or one suspended in vfs, which pm asks vfs to end.
fn interrupt(ctx: &mut PmCtx<'_>, key: ProcKey, p: &MProc) {
    match p.phase {
        Phase::Waiting { .. } | Phase::Pausing { .. } => {
            ctx.state.procs.get_mut_global(key).expect("interrupted entry").phase = Phase::Running;
            ctx.reply(p.ep, Message::new(Errno::EINTR.status()));
        }
        Phase::Running => {
            // Reading the kernel's process table, as vm does at fork: blocked waiting for vfs's
            // answer means its call is in vfs, perhaps suspended there.
            let in_vfs = ctx.proc.sys_procinfo(p.ep).is_ok_and(|i| i.state == ProcState::Receiving(VFS));
            if in_vfs {
                let _ = ctx.asynsend(VFS, Message::with(PM_VFS_UNPAUSE, &VfsProcNotice { proc: p.ep }));
            }
        }
        _ => {}
    }
}

/// The default action of a stop signal: a stop frame, which the process stops at when it takes
/// it (a call it is blocked in finishes first: a stop is no interruption).
fn stop(ctx: &mut PmCtx<'_>, key: ProcKey, p: &MProc, signo: i32) -> Result<(), Errno> {
    if ctx.state.sigs.get(key).is_some_and(|s| s.stopped) {
        return Ok(());
    }
    let mask = ctx.state.sigs.get(key).map_or(0, |s| s.mask);
    let frame = SigFrame { signo, saved_mask: mask, stop: true };
    ctx.kernel(KernelCall::SigSend, |k| k.sys_sigsend(p.ep, frame))?;
    ctx.state.sigs.get_mut_global(key).expect("stopped entry").stopped = true;
    Ok(())
}

/// SIGCONT for a stopped process: it goes on, and what waited for the continue is delivered.
fn continue_stopped(ctx: &mut PmCtx<'_>, key: ProcKey, p: &MProc) -> Result<(), Errno> {
    if !ctx.state.sigs.get(key).is_some_and(|s| s.stopped) {
        return Ok(());
    }
    ctx.kernel(KernelCall::SigSend, |k| k.sys_sigcont(p.ep))?;
    ctx.state.sigs.get_mut_global(key).expect("stopped entry").stopped = false;
    deliver_pending(ctx, key);
    Ok(())
}

/// The default action that ends a process: killed by `signo`, with the core flag where its
/// default says so.
fn terminate(ctx: &mut PmCtx<'_>, key: ProcKey, p: &MProc, signo: i32) -> Result<(), Errno> {
    let core = if default_action(signo) == DefaultAction::Core { WCOREFLAG } else { 0 };
    match ctx.kernel(KernelCall::Kill, |k| k.sys_kill(p.ep)) {
        Ok(()) => {
            ctx.state.procs.get_mut_global(key).expect("killed entry").phase =
                Phase::Exiting { status: signal_status(signo) | core, ended: false };
            Ok(())
        }
        // It had just exited and its end is not reported yet: its exit status stands.
        Err(_) if matches!(p.phase, Phase::Exiting { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// VFS_PM_UNPAUSE_REPLY: vfs ended (or found no) suspended call; the signal's frame is already
/// posted, so there is nothing left to do but check who sent it.
pub fn do_vfs_unpause_reply(ctx: &mut PmCtx<'_>) -> Handled {
    if ctx.who() != VFS {
        // Only that server sends this; anyone else (a user under a permissive manifest)
        // is told no rather than left waiting.
        return Handled::Reply(Err(Errno::EPERM));
    }
    Handled::NoReply
}

/// PM_SIGACTION: the caller's disposition of a signal, and optionally a new one.
pub fn do_sigaction(ctx: &mut PmCtx<'_>) -> Handled {
    let r: SigactionRequest = ctx.m.get();
    if !is_signal(r.signo) {
        return Handled::Reply(Err(Errno::EINVAL));
    }
    let who = ctx.requester();
    let Some(s) = ctx.state.sigs.get_own(&who).cloned() else { return Handled::Reply(Err(Errno::ESRCH)) };
    let (bit, slot) = (sig_bit(r.signo), r.signo as usize);
    let Some((old_mask, old_flags)) = ctx.state.sigactions.get_own(&who).map(|a| (a.mask[slot], a.flags[slot])) else {
        return Handled::Reply(Err(Errno::ESRCH));
    };
    let old = SigactionReply {
        disposition: if s.caught & bit != 0 {
            disposition::CATCH
        } else if s.ignored & bit != 0 {
            disposition::IGNORE
        } else {
            disposition::DEFAULT
        },
        mask: old_mask,
        flags: old_flags,
    };
    if r.set {
        if bit & UNCATCHABLE != 0 || r.disposition > disposition::CATCH || r.flags & !SA_KNOWN != 0 {
            return Handled::Reply(Err(Errno::EINVAL));
        }
        let entry = ctx.state.sigs.get_own_mut(&who).expect("read above");
        entry.caught &= !bit;
        entry.ignored &= !bit;
        match r.disposition {
            disposition::CATCH => entry.caught |= bit,
            disposition::IGNORE => entry.ignored |= bit,
            _ => {}
        }
        let actions = ctx.state.sigactions.get_own_mut(&who).expect("every entry has signal actions");
        actions.mask[slot] = r.mask & ALL_SIGNALS & !UNCATCHABLE;
        actions.flags[slot] = r.flags;
        // POSIX: a pending signal set to be ignored is discarded.
        let ignored_now = r.disposition == disposition::IGNORE
            || (r.disposition == disposition::DEFAULT
                && matches!(default_action(r.signo), DefaultAction::Ignore | DefaultAction::Continue));
        if ignored_now {
            entry.pending &= !bit;
        }
    }
    Handled::Reply(Ok(Message::with(0, &old)))
}

/// PM_SIGPROCMASK: the caller's mask, and optionally a new one (SIGKILL and SIGSTOP stay
/// unblocked); signals it unblocks are delivered before it returns.
pub fn do_sigprocmask(ctx: &mut PmCtx<'_>) -> Handled {
    let r: SigprocmaskRequest = ctx.m.get();
    let who = ctx.requester();
    let Some(old) = ctx.state.sigs.get_own(&who).map(|s| s.mask) else { return Handled::Reply(Err(Errno::ESRCH)) };
    if r.change {
        let mask = match r.how {
            SIG_BLOCK => old | r.set,
            SIG_UNBLOCK => old & !r.set,
            SIG_SETMASK => r.set,
            _ => return Handled::Reply(Err(Errno::EINVAL)),
        };
        ctx.state.sigs.get_own_mut(&who).expect("read above").mask = mask & ALL_SIGNALS & !UNCATCHABLE;
        deliver_pending(ctx, who.key());
    }
    Handled::Reply(Ok(Message::with(0, &SigSetReply { set: old })))
}

/// PM_SIGPENDING: the signals raised for the caller while blocked.
pub fn do_sigpending(ctx: &mut PmCtx<'_>) -> Handled {
    let who = ctx.requester();
    match ctx.state.sigs.get_own(&who) {
        Some(s) => Handled::Reply(Ok(Message::with(0, &SigSetReply { set: s.pending }))),
        None => Handled::Reply(Err(Errno::ESRCH)),
    }
}

/// PM_SIGSUSPEND: wait with the given mask until a caught signal is delivered; answered EINTR
/// then. The handler's sigreturn restores the mask from before the call.
pub fn do_sigsuspend(ctx: &mut PmCtx<'_>) -> Handled {
    let mask = ctx.m.get::<SigMaskRequest>().mask;
    let who = ctx.requester();
    let Some(p) = ctx.state.procs.get_own(&who).cloned() else { return Handled::Reply(Err(Errno::ESRCH)) };
    if p.phase != Phase::Running {
        return Handled::Reply(Err(Errno::EINVAL));
    }
    let sigs = ctx.state.sigs.get_own_mut(&who).expect("every entry has signal state");
    let saved_mask = std::mem::replace(&mut sigs.mask, mask & ALL_SIGNALS & !UNCATCHABLE);
    ctx.state.procs.get_own_mut(&who).expect("read above").phase = Phase::Pausing { saved_mask };
    deliver_pending(ctx, who.key());
    match ctx.state.procs.get_own(&who).map(|p| &p.phase) {
        Some(Phase::Pausing { .. }) => Handled::Suspend,
        // Answered EINTR already, or ended by a default action.
        _ => Handled::NoReply,
    }
}

/// PM_SIGRETURN: a handler returned; its frame's saved mask is the caller's mask again, and
/// what that unblocks is delivered.
pub fn do_sigreturn(ctx: &mut PmCtx<'_>) -> Handled {
    let mask = ctx.m.get::<SigMaskRequest>().mask;
    let who = ctx.requester();
    let Some(sigs) = ctx.state.sigs.get_own_mut(&who) else { return Handled::Reply(Err(Errno::ESRCH)) };
    sigs.mask = mask & ALL_SIGNALS & !UNCATCHABLE;
    deliver_pending(ctx, who.key());
    Handled::Reply(Ok(Message::new(0)))
}

/// At fork: the child gets the parent's mask and actions; nothing pending, no timer (POSIX).
pub fn inherit(state: &mut PmState, parent: ProcKey, child: ProcKey) {
    let Some(from) = state.sigs.get(parent).cloned() else { return };
    let to = state.sigs.get_mut_global(child).expect("the child's entry was just made");
    to.mask = from.mask;
    to.caught = from.caught;
    to.ignored = from.ignored;
    let Some(actions) = state.sigactions.get(parent).cloned() else { return };
    *state.sigactions.get_mut_global(child).expect("the child's entry was just made") = actions;
}

/// At exec: caught signals go back to their default action (the new image has no handlers);
/// ignored ones and the mask stay, as POSIX says.
pub fn reset_caught(state: &mut PmState, key: ProcKey) {
    let Some(s) = state.sigs.get_mut_global(key) else { return };
    let caught = std::mem::take(&mut s.caught);
    if caught == 0 {
        return;
    }
    let Some(actions) = state.sigactions.get_mut_global(key) else { return };
    for signo in 1..SIG_SLOTS {
        if caught & (1 << signo) != 0 {
            actions.mask[signo] = 0;
            actions.flags[signo] = 0;
        }
    }
}

/// A child of the entry at `parent_pid` ended: SIGCHLD to the parent (ignored unless caught).
pub fn child_ended(ctx: &mut PmCtx<'_>, parent_pid: crate::proto::Pid) {
    if let Some(parent) = ctx.state.key_of_pid(parent_pid) {
        let _ = raise(ctx, parent, sig::SIGCHLD);
    }
}

//! exec: pm reads the new argument vector, hands the path to vfs (which checks the file, reads the
//! program name it stores and has vm build the new memory), and on vfs's answer has the kernel
//! start the program in the same process. A failure after the old memory is gone ends the process.

use super::state::{Phase, PmState};
use crate::errno::Errno;
use crate::proto::pm::*;
use crate::proto::{VFS, key_of};
use crate::task::{Ctx, Handled};
use kernel_sim::{KernelCall, Message};

type PmCtx<'a> = Ctx<'a, PmState>;

/// PM_EXEC: start loading a program for the caller.
pub fn do_exec(ctx: &mut PmCtx<'_>) -> Handled {
    let req: ExecRequest = ctx.m.get();
    let who = ctx.requester();
    let Some(me) = ctx.state.procs.get_own(&who).cloned() else { return Handled::Reply(Err(Errno::ESRCH)) };
    if me.phase != Phase::Running {
        return Handled::Reply(Err(Errno::EINVAL));
    }
    if req.argv_len as usize > ARG_MAX {
        return Handled::Reply(Err(Errno::E2BIG));
    }
    let mut raw = vec![0u8; req.argv_len as usize];
    if let Err(e) = ctx.proc.safecopy_from(me.ep, req.argv_grant, 0, &mut raw) {
        return Handled::Reply(Err(e.into()));
    }
    let argv: Vec<String> =
        raw.split(|&b| b == 0).filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
    ctx.state.procs.get_own_mut(&who).expect("found above").phase = Phase::Execing { argv };
    let request = VfsExecRequest { proc: me.ep, path_grant: req.path_grant, path_len: req.path_len };
    match ctx.asynsend(VFS, Message::with(PM_VFS_EXEC, &request)) {
        Ok(()) => Handled::Suspend,
        Err(e) => {
            ctx.state.procs.get_own_mut(&who).expect("found above").phase = Phase::Running;
            Handled::Reply(Err(e))
        }
    }
}

/// VFS_PM_EXEC_REPLY: the new image is ready (start it) or the exec failed.
pub fn do_vfs_exec_reply(ctx: &mut PmCtx<'_>) -> Handled {
    if ctx.who() != VFS {
        // Only that server sends this; anyone else (a user under a permissive manifest)
        // is told no rather than left waiting.
        return Handled::Reply(Err(Errno::EPERM));
    }
    let r: VfsExecReply = ctx.m.get();
    let key = key_of(r.proc);
    let Some(p) = ctx.state.procs.get(key).filter(|p| p.ep == r.proc).cloned() else { return Handled::NoReply };
    let Phase::Execing { argv } = p.phase else { return Handled::NoReply };
    let program_len = r.program.iter().position(|&b| b == 0).unwrap_or(r.program.len());
    let program = String::from_utf8_lossy(&r.program[..program_len]).into_owned();
    let outcome = if r.status < 0 {
        Err(Errno::from_status(r.status))
    } else {
        ctx.kernel(KernelCall::Exec, |k| k.sys_exec(p.ep, &program, argv))
    };
    let entry = ctx.state.procs.get_mut_global(key).expect("found above");
    match outcome {
        Ok(()) => {
            entry.phase = Phase::Running;
            super::signal::reset_caught(ctx.state, key);
            super::signal::deliver_pending(ctx, key);
        }
        Err(_) if r.image_lost || r.status >= 0 => {
            // Nothing left to return to: end the process as MINIX does.
            entry.phase = Phase::Exiting { status: signal_status(sig::SIGKILL), ended: false };
            let _ = ctx.kernel(KernelCall::Kill, |k| k.sys_kill(p.ep));
        }
        Err(e) => {
            entry.phase = Phase::Running;
            ctx.reply(p.ep, Message::new(e.status()));
        }
    }
    Handled::NoReply
}

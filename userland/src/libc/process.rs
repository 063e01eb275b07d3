//! Process calls: fork, exit, wait, exec, ids, kill, reboot (to pm).

use super::Sys;
use kernel_sim::memory::Access;
use kernel_sim::{Message, Proc};
use os::errno::Errno;
use os::proto::pm::*;
use os::proto::{PM, Pid, VFS};

/// Where exec's argument vector is staged in the scratch buffer (after the path).
const ARGV_OFFSET: u64 = 1024;

impl Sys<'_> {
    /// Creates a child process that runs `child` and exits with its result; returns the child's
    /// pid. (A closure stands in for "the child continues here", which it cannot do.)
    pub fn fork(&self, child: impl FnOnce(&Sys<'_>) -> i32 + Send + 'static) -> Result<Pid, Errno> {
        self.proc.set_fork_body(move |p: &Proc| {
            let sys = Sys::new(p);
            // In the child, fork "returns" 0 through pm's answer; no answer means pm lost the fork.
            match p.receive(PM) {
                Ok(m) if m.m_type >= 0 => {}
                _ => p.exit(),
            }
            let code = child(&sys);
            sys.exit(code)
        });
        Ok(self.call(PM, Message::new(PM_FORK))?.get::<ForkReply>().pid)
    }

    /// Ends the process with `status` (its low 8 bits reach the parent).
    pub fn exit(&self, status: i32) -> ! {
        let _ = self.call(PM, Message::with(PM_EXIT, &ExitRequest { status }));
        self.proc.exit()
    }

    /// Waits for any child; returns its pid and wait status.
    pub fn wait(&self) -> Result<(Pid, i32), Errno> {
        self.waitpid(-1, 0)
    }

    /// Waits for child `pid` (-1: any) with `options` (`WNOHANG`); a pid of 0 means none was ready.
    pub fn waitpid(&self, pid: Pid, options: u32) -> Result<(Pid, i32), Errno> {
        let r = self.call(PM, Message::with(PM_WAIT4, &WaitRequest { pid, options }))?.get::<WaitReply>();
        Ok((r.pid, r.status))
    }

    /// This process's pid.
    pub fn getpid(&self) -> Result<Pid, Errno> {
        Ok(self.call(PM, Message::new(PM_GETPID))?.get::<PidReply>().pid)
    }

    /// The parent's pid.
    pub fn getppid(&self) -> Result<Pid, Errno> {
        Ok(self.call(PM, Message::new(PM_GETPPID))?.get::<IdReply>().id)
    }

    /// Real and effective user and group ids.
    pub fn getuid(&self) -> Result<IdsReply, Errno> {
        Ok(self.call(PM, Message::new(PM_GETUID))?.get::<IdsReply>())
    }

    /// Sets the user id (root only, unless unchanged).
    pub fn setuid(&self, uid: u32) -> Result<(), Errno> {
        self.call(PM, Message::with(PM_SETUID, &SetIdRequest { id: uid })).map(drop)
    }

    /// Sets the group id (root only, unless unchanged).
    pub fn setgid(&self, gid: u32) -> Result<(), Errno> {
        self.call(PM, Message::with(PM_SETGID, &SetIdRequest { id: gid })).map(drop)
    }

    /// Sends `signal` to `pid`.
    pub fn kill(&self, pid: Pid, signal: i32) -> Result<(), Errno> {
        self.call(PM, Message::with(PM_KILL, &KillRequest { pid, signal })).map(drop)
    }

    /// Replaces this process's program with the one the file at `path` names. Returns only on
    /// failure.
    pub fn exec(&self, path: &str, argv: &[&str]) -> Errno {
        match self.try_exec(path, argv) {
            Ok(never) => match never {},
            Err(e) => e,
        }
    }

    fn try_exec(&self, path: &str, argv: &[&str]) -> Result<std::convert::Infallible, Errno> {
        let path_addr = self.stage(0, path.as_bytes())?;
        let mut args = Vec::new();
        for a in argv {
            args.extend_from_slice(a.as_bytes());
            args.push(0);
        }
        if args.len() > ARG_MAX {
            return Err(Errno::E2BIG);
        }
        let argv_addr = self.stage(ARGV_OFFSET, &args)?;
        let path_grant = self.grant(VFS, path_addr, path.len() as u64, Access::Read);
        let argv_grant = self.grant(PM, argv_addr, args.len() as u64, Access::Read);
        let request = ExecRequest {
            path_grant: path_grant.id,
            path_len: path.len() as u32,
            argv_grant: argv_grant.id,
            argv_len: args.len() as u32,
        };
        // On success this call never returns: the kernel starts the new program instead.
        self.call(PM, Message::with(PM_EXEC, &request))?;
        Err(Errno::EIO)
    }

    /// Shuts the system down (root only).
    pub fn reboot(&self) -> Result<(), Errno> {
        self.call(PM, Message::new(PM_REBOOT)).map(drop)
    }
}

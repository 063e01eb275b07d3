//! Calls to pm (range 0x000), pm -> vfs requests (0x900) and vfs -> pm messages (0x980).

use super::Pid;
use kernel_sim::msgtype::{PM_BASE, PM_VFS_BASE, VFS_PM_BASE};
use kernel_sim::{Endpoint, MsgType, payload};

/// exit(status): end the caller.
pub const PM_EXIT: MsgType = PM_BASE + 0x01;
/// fork(): create a child running the body the caller left with the kernel.
pub const PM_FORK: MsgType = PM_BASE + 0x02;
/// wait4(pid, options): collect a child's exit status.
pub const PM_WAIT4: MsgType = PM_BASE + 0x03;
/// getpid(): pid and parent pid.
pub const PM_GETPID: MsgType = PM_BASE + 0x04;
/// getuid(): real and effective ids.
pub const PM_GETUID: MsgType = PM_BASE + 0x05;
/// setuid(uid).
pub const PM_SETUID: MsgType = PM_BASE + 0x06;
/// setgid(gid).
pub const PM_SETGID: MsgType = PM_BASE + 0x07;
/// kill(pid, signal).
pub const PM_KILL: MsgType = PM_BASE + 0x08;
/// execve(path, argv).
pub const PM_EXEC: MsgType = PM_BASE + 0x09;
/// reboot(): an orderly shutdown (root only).
pub const PM_REBOOT: MsgType = PM_BASE + 0x0A;
/// getpriority(which, who): the nice value of a process (PRIO_PROCESS only), asked of sched.
pub const PM_GETPRIORITY: MsgType = PM_BASE + 0x40;
/// setpriority(which, who, prio): set a process's nice value, through sched.
pub const PM_SETPRIORITY: MsgType = PM_BASE + 0x41;

/// pm -> vfs: a process forked; copy its descriptor table.
pub const PM_VFS_FORK: MsgType = PM_VFS_BASE + 0x01;
/// pm -> vfs: a process exited; close its descriptors.
pub const PM_VFS_EXIT: MsgType = PM_VFS_BASE + 0x02;
/// pm -> vfs: load a program for a process.
pub const PM_VFS_EXEC: MsgType = PM_VFS_BASE + 0x03;
/// pm -> vfs: a process changed its user or group id.
pub const PM_VFS_SETID: MsgType = PM_VFS_BASE + 0x04;
/// pm -> vfs: the system is shutting down; flush and stop.
pub const PM_VFS_REBOOT: MsgType = PM_VFS_BASE + 0x05;

/// vfs -> pm: the fork notice is done.
pub const VFS_PM_FORK_REPLY: MsgType = VFS_PM_BASE + 0x01;
/// vfs -> pm: the exit notice is done.
pub const VFS_PM_EXIT_REPLY: MsgType = VFS_PM_BASE + 0x02;
/// vfs -> pm: the exec finished (or failed), with the program to run.
pub const VFS_PM_EXEC_REPLY: MsgType = VFS_PM_BASE + 0x03;
/// vfs -> pm: the id change is done.
pub const VFS_PM_SETID_REPLY: MsgType = VFS_PM_BASE + 0x04;
/// vfs -> pm: ready for shutdown.
pub const VFS_PM_REBOOT_REPLY: MsgType = VFS_PM_BASE + 0x05;

/// Signal numbers pm knows.
pub mod sig {
    /// Kill, cannot be caught.
    pub const SIGKILL: i32 = 9;
    /// Segmentation fault: what a crashed user process dies of.
    pub const SIGSEGV: i32 = 11;
    /// Polite termination.
    pub const SIGTERM: i32 = 15;
    /// A child stopped or ended; ignored by default.
    pub const SIGCHLD: i32 = 17;
    /// Broken pipe.
    pub const SIGPIPE: i32 = 13;
    /// The largest signal number.
    pub const NSIG: i32 = 31;
}

/// The most bytes of arguments exec takes (MINIX's ARG_MAX is larger; samsara's programs are small).
pub const ARG_MAX: usize = 4096;

/// `wait4` option: do not block.
pub const WNOHANG: u32 = 1;

/// Wait status of a normal exit (as `W_EXITCODE`).
pub const fn exit_status(code: i32) -> i32 {
    (code & 0xff) << 8
}
/// Wait status of a death by signal.
pub const fn signal_status(signal: i32) -> i32 {
    signal & 0x7f
}

payload! {
    /// exit: the status.
    pub struct ExitRequest { pub status: i32 }
}
payload! {
    /// fork reply: the child's pid (0 in the child).
    pub struct ForkReply { pub pid: Pid }
}
payload! {
    /// wait4: which child (-1: any) and options.
    pub struct WaitRequest { pub pid: Pid, pub options: u32 }
}
payload! {
    /// wait4 reply: the child and its wait status.
    pub struct WaitReply { pub pid: Pid, pub status: i32 }
}
payload! {
    /// getpid reply.
    pub struct PidReply { pub pid: Pid, pub ppid: Pid }
}
payload! {
    /// getuid reply.
    pub struct IdsReply { pub uid: u32, pub gid: u32, pub euid: u32, pub egid: u32 }
}
payload! {
    /// setuid, setgid: the new id.
    pub struct SetIdRequest { pub id: u32 }
}
payload! {
    /// kill: target and signal.
    pub struct KillRequest { pub pid: Pid, pub signal: i32 }
}
payload! {
    /// exec: the path (for vfs) and the argument vector (for pm), each in the caller's memory
    /// under its own grant; arguments are NUL-separated.
    pub struct ExecRequest { pub path_grant: u32, pub path_len: u32, pub argv_grant: u32, pub argv_len: u32 }
}
payload! {
    /// getpriority, setpriority: what (`proto::sched::PRIO_PROCESS`), whom (a pid; 0: the caller)
    /// and, for setpriority, the new nice value.
    pub struct PriorityRequest { pub which: i32, pub who: Pid, pub prio: i32 }
}
payload! {
    /// getpriority reply: the nice value (POSIX's answer; MINIX's pm offsets it by PRIO_MIN to
    /// keep a status positive, samsara's replies carry it in the payload instead).
    pub struct PriorityReply { pub nice: i32 }
}
payload! {
    /// pm -> vfs fork notice.
    pub struct VfsForkNotice { pub parent: Endpoint, pub child: Endpoint, pub child_pid: Pid }
}
payload! {
    /// pm -> vfs exit notice, and other notices naming one process.
    pub struct VfsProcNotice { pub proc: Endpoint }
}
payload! {
    /// pm -> vfs exec request: the caller's path grant.
    pub struct VfsExecRequest { pub proc: Endpoint, pub path_grant: u32, pub path_len: u32 }
}
payload! {
    /// pm -> vfs id change.
    pub struct VfsSetIdNotice { pub proc: Endpoint, pub uid: u32, pub gid: u32 }
}
payload! {
    /// vfs -> pm answer naming a process, with a status (0 or -errno).
    pub struct VfsProcReply { pub proc: Endpoint, pub status: i32 }
}
payload! {
    /// vfs -> pm exec answer: the program the file names (NUL-padded). `image_lost` when the exec
    /// failed after the old memory was already gone (pm must then end the process).
    pub struct VfsExecReply { pub proc: Endpoint, pub status: i32, pub image_lost: bool, pub program: [u8; super::PROGRAM_NAME_MAX] }
}

/// The name of a pm-related message type.
pub fn name(t: MsgType) -> Option<&'static str> {
    Some(match t {
        PM_EXIT => "exit",
        PM_FORK => "fork",
        PM_WAIT4 => "wait4",
        PM_GETPID => "getpid",
        PM_GETUID => "getuid",
        PM_SETUID => "setuid",
        PM_SETGID => "setgid",
        PM_KILL => "kill",
        PM_EXEC => "exec",
        PM_REBOOT => "reboot",
        PM_GETPRIORITY => "getpriority",
        PM_SETPRIORITY => "setpriority",
        PM_VFS_FORK => "pm_vfs_fork",
        PM_VFS_EXIT => "pm_vfs_exit",
        PM_VFS_EXEC => "pm_vfs_exec",
        PM_VFS_SETID => "pm_vfs_setid",
        PM_VFS_REBOOT => "pm_vfs_reboot",
        VFS_PM_FORK_REPLY => "vfs_pm_fork_reply",
        VFS_PM_EXIT_REPLY => "vfs_pm_exit_reply",
        VFS_PM_EXEC_REPLY => "vfs_pm_exec_reply",
        VFS_PM_SETID_REPLY => "vfs_pm_setid_reply",
        VFS_PM_REBOOT_REPLY => "vfs_pm_reboot_reply",
        _ => return None,
    })
}

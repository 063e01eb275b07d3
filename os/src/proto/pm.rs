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

/// sigaction(signo, act, oact): install a disposition (`disposition`, `sa_mask`, `sa_flags`);
/// the handler itself stays in the caller's syscall library.
pub const PM_SIGACTION: MsgType = PM_BASE + 0x10;
/// sigprocmask(how, set, oset).
pub const PM_SIGPROCMASK: MsgType = PM_BASE + 0x11;
/// sigpending(set): signals raised while blocked.
pub const PM_SIGPENDING: MsgType = PM_BASE + 0x12;
/// sigsuspend(mask): wait with `mask` for a signal; always EINTR.
pub const PM_SIGSUSPEND: MsgType = PM_BASE + 0x13;
/// sigreturn(frame): a handler returned; restore the mask its frame saved.
pub const PM_SIGRETURN: MsgType = PM_BASE + 0x14;
/// alarm(seconds): SIGALRM after `seconds` (0 cancels); the seconds left of the previous one.
pub const PM_ALARM: MsgType = PM_BASE + 0x15;
/// setitimer(which, value, ovalue): only ITIMER_REAL is kept.
pub const PM_SETITIMER: MsgType = PM_BASE + 0x16;
/// getitimer(which, value).
pub const PM_GETITIMER: MsgType = PM_BASE + 0x17;
/// getppid().
pub const PM_GETPPID: MsgType = PM_BASE + 0x18;
/// getgid(): the real group id.
pub const PM_GETGID: MsgType = PM_BASE + 0x19;
/// geteuid(): the effective user id.
pub const PM_GETEUID: MsgType = PM_BASE + 0x1A;
/// getegid(): the effective group id.
pub const PM_GETEGID: MsgType = PM_BASE + 0x1B;
/// seteuid(euid): root, or back to the real id.
pub const PM_SETEUID: MsgType = PM_BASE + 0x1C;
/// setegid(egid): root, or back to the real group.
pub const PM_SETEGID: MsgType = PM_BASE + 0x1D;
/// setsid(): a new session and group led by the caller.
pub const PM_SETSID: MsgType = PM_BASE + 0x1E;
/// getpgrp(): the caller's process group.
pub const PM_GETPGRP: MsgType = PM_BASE + 0x1F;
/// getsid(pid): a process's session (0: the caller's).
pub const PM_GETSID: MsgType = PM_BASE + 0x20;
/// getpgid(pid): a process's group (0: the caller's).
pub const PM_GETPGID: MsgType = PM_BASE + 0x21;
/// setpgid(pid, pgid): move the caller or a child into a group of its session.
pub const PM_SETPGID: MsgType = PM_BASE + 0x22;
/// getgroups(size): the supplementary groups.
pub const PM_GETGROUPS: MsgType = PM_BASE + 0x23;
/// setgroups(list): root only.
pub const PM_SETGROUPS: MsgType = PM_BASE + 0x24;
/// getrusage(who): pm's counts and vm's memory (pm asks vm with VM_GETRUSAGE).
pub const PM_GETRUSAGE: MsgType = PM_BASE + 0x25;
/// times(): clock ticks since boot.
pub const PM_TIMES: MsgType = PM_BASE + 0x26;
/// clock_gettime(clock).
pub const PM_CLOCK_GETTIME: MsgType = PM_BASE + 0x27;
/// clock_settime(clock, time): root only, CLOCK_REALTIME only.
pub const PM_CLOCK_SETTIME: MsgType = PM_BASE + 0x28;
/// gettimeofday().
pub const PM_GETTIMEOFDAY: MsgType = PM_BASE + 0x29;

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

/// pm -> vfs: a caught signal is on its way to a process: end the call it is suspended in (if
/// any) with EINTR (MINIX's unpause).
pub const PM_VFS_UNPAUSE: MsgType = PM_VFS_BASE + 0x10;

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

/// vfs -> pm: the unpause is done; the status is 1 when a suspended call was ended, else 0.
pub const VFS_PM_UNPAUSE_REPLY: MsgType = VFS_PM_BASE + 0x10;

/// Signal numbers pm knows (Linux's numbering, which strace logs use).
pub mod sig {
    /// Hang-up.
    pub const SIGHUP: i32 = 1;
    /// Interrupt from the terminal.
    pub const SIGINT: i32 = 2;
    /// Quit from the terminal (core).
    pub const SIGQUIT: i32 = 3;
    /// Illegal instruction (core).
    pub const SIGILL: i32 = 4;
    /// Trace trap (core).
    pub const SIGTRAP: i32 = 5;
    /// abort() (core).
    pub const SIGABRT: i32 = 6;
    /// Bus error (core).
    pub const SIGBUS: i32 = 7;
    /// Arithmetic error (core).
    pub const SIGFPE: i32 = 8;
    /// User signal 1.
    pub const SIGUSR1: i32 = 10;
    /// User signal 2.
    pub const SIGUSR2: i32 = 12;
    /// The real-time timer (alarm, ITIMER_REAL) expired.
    pub const SIGALRM: i32 = 14;
    /// Continue if stopped.
    pub const SIGCONT: i32 = 18;
    /// Stop, cannot be caught.
    pub const SIGSTOP: i32 = 19;
    /// Stop from the terminal.
    pub const SIGTSTP: i32 = 20;
    /// Background read from the terminal.
    pub const SIGTTIN: i32 = 21;
    /// Background write to the terminal.
    pub const SIGTTOU: i32 = 22;
    /// Urgent data on a socket (ignored by default).
    pub const SIGURG: i32 = 23;
    /// CPU time limit (core).
    pub const SIGXCPU: i32 = 24;
    /// File size limit (core).
    pub const SIGXFSZ: i32 = 25;
    /// Window size change (ignored by default).
    pub const SIGWINCH: i32 = 28;
    /// Bad system call (core).
    pub const SIGSYS: i32 = 31;
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

/// The bit of signal `signo` in a mask or set.
pub const fn sig_bit(signo: i32) -> u32 {
    1 << signo
}

/// What a signal does when nobody catches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultAction {
    /// The process ends, killed by the signal.
    Terminate,
    /// The process ends with a core flag in its wait status.
    Core,
    /// Nothing happens.
    Ignore,
    /// The process stops (not emulated: see `pm/signal.rs`).
    Stop,
    /// A stopped process goes on (nothing stops here, so nothing happens).
    Continue,
}

/// The default action of `signo` (POSIX's table).
pub const fn default_action(signo: i32) -> DefaultAction {
    use sig::*;
    match signo {
        SIGQUIT | SIGILL | SIGTRAP | SIGABRT | SIGBUS | SIGFPE | SIGSEGV | SIGXCPU | SIGXFSZ | SIGSYS => {
            DefaultAction::Core
        }
        SIGCHLD | SIGURG | SIGWINCH => DefaultAction::Ignore,
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => DefaultAction::Stop,
        SIGCONT => DefaultAction::Continue,
        _ => DefaultAction::Terminate,
    }
}

/// sigaction dispositions.
pub mod disposition {
    /// SIG_DFL: the default action.
    pub const DEFAULT: u32 = 0;
    /// SIG_IGN: ignored.
    pub const IGNORE: u32 = 1;
    /// A handler the syscall library runs.
    pub const CATCH: u32 = 2;
}

/// sigaction flag: reset to the default action when the handler is entered.
pub const SA_RESETHAND: u32 = 0x8000_0000;
/// sigaction flag: do not block the signal while its handler runs.
pub const SA_NODEFER: u32 = 0x4000_0000;
/// The sigaction flags pm keeps (others are refused with EINVAL).
pub const SA_KNOWN: u32 = SA_RESETHAND | SA_NODEFER;

/// sigprocmask: add `set` to the mask.
pub const SIG_BLOCK: i32 = 0;
/// sigprocmask: take `set` out of the mask.
pub const SIG_UNBLOCK: i32 = 1;
/// sigprocmask: the mask becomes `set`.
pub const SIG_SETMASK: i32 = 2;

/// The real-time interval timer (SIGALRM; alarm() uses it too).
pub const ITIMER_REAL: i32 = 0;
/// The user-CPU-time timer (not kept: the kernel accounts no CPU time per process).
pub const ITIMER_VIRTUAL: i32 = 1;
/// The CPU-time timer (not kept, as ITIMER_VIRTUAL).
pub const ITIMER_PROF: i32 = 2;

/// getrusage: the caller.
pub const RUSAGE_SELF: i32 = 0;
/// getrusage: its waited-for children.
pub const RUSAGE_CHILDREN: i32 = -1;

/// The wall-clock time since the Epoch (settable by root).
pub const CLOCK_REALTIME: i32 = 0;
/// The time since boot (never set).
pub const CLOCK_MONOTONIC: i32 = 1;

/// Clock ticks per second of times() (sysconf(_SC_CLK_TCK), Linux's USER_HZ).
pub const CLOCK_TICKS_PER_SECOND: u64 = 100;

/// The most supplementary groups a process has (MINIX's NGROUPS_MAX).
pub const NGROUPS_MAX: usize = 8;

/// Wait-status bit: the process dumped core (WCOREFLAG).
pub const WCOREFLAG: i32 = 0x80;

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

payload! {
    /// sigaction: the signal and, when `set`, its new disposition, mask and flags.
    pub struct SigactionRequest { pub signo: i32, pub disposition: u32, pub mask: u32, pub flags: u32, pub set: bool }
}
payload! {
    /// sigaction reply: the previous disposition, mask and flags.
    pub struct SigactionReply { pub disposition: u32, pub mask: u32, pub flags: u32 }
}
payload! {
    /// sigprocmask: how to change the mask with `set` (when `change`).
    pub struct SigprocmaskRequest { pub how: i32, pub set: u32, pub change: bool }
}
payload! {
    /// sigprocmask, sigpending reply: a signal set (the old mask, the pending set).
    pub struct SigSetReply { pub set: u32 }
}
payload! {
    /// sigsuspend, sigreturn: a mask (to wait with, to restore).
    pub struct SigMaskRequest { pub mask: u32 }
}
payload! {
    /// alarm: seconds from now (0 cancels).
    pub struct AlarmRequest { pub seconds: u32 }
}
payload! {
    /// alarm reply: seconds the previous alarm had left (rounded up), 0 if none.
    pub struct AlarmReply { pub remaining: u32 }
}
payload! {
    /// setitimer: which timer, its first expiry from now and its period, in microseconds.
    pub struct SetitimerRequest { pub which: i32, pub value_us: u64, pub interval_us: u64 }
}
payload! {
    /// getitimer: which timer.
    pub struct GetitimerRequest { pub which: i32 }
}
payload! {
    /// setitimer, getitimer reply: the time to the next expiry and the period, in microseconds.
    pub struct ItimerReply { pub value_us: u64, pub interval_us: u64 }
}
payload! {
    /// One process or group id: getppid, getgid, geteuid, getegid, setsid, getpgrp, getsid,
    /// getpgid replies.
    pub struct IdReply { pub id: i32 }
}
payload! {
    /// getsid, getpgid: whose (0: the caller).
    pub struct PidRequest { pub pid: Pid }
}
payload! {
    /// setpgid: whose (0: the caller) and which group (0: its own pid).
    pub struct SetpgidRequest { pub pid: Pid, pub pgid: Pid }
}
payload! {
    /// getgroups: the room the caller has (0: only count them).
    pub struct GetgroupsRequest { pub size: i32 }
}
payload! {
    /// getgroups reply, setgroups request: `count` groups.
    pub struct GroupsPayload { pub count: u32, pub groups: [u32; NGROUPS_MAX] }
}
payload! {
    /// getrusage: whose usage (RUSAGE_SELF, RUSAGE_CHILDREN).
    pub struct RusageRequest { pub who: i32 }
}
payload! {
    /// getrusage reply: signals delivered (pm's part) and the resident memory in KiB with its
    /// text, heap, stack and mapped pages (vm's part; 0 for RUSAGE_CHILDREN, whose memory vm
    /// freed before pm reaped them).
    pub struct RusageReply {
        pub nsignals: u64,
        pub rss_kb: u64,
        pub text_pages: u64,
        pub heap_pages: u64,
        pub stack_pages: u64,
        pub mmap_pages: u64
    }
}
payload! {
    /// times reply: clock ticks since boot (times' return value).
    pub struct TimesReply { pub elapsed_ticks: u64 }
}
payload! {
    /// clock_gettime: which clock.
    pub struct ClockRequest { pub clock: i32 }
}
payload! {
    /// clock_settime request, clock_gettime reply: a time as seconds and nanoseconds.
    pub struct TimespecPayload { pub clock: i32, pub sec: i64, pub nsec: i64 }
}
payload! {
    /// gettimeofday reply: seconds and microseconds since the Epoch.
    pub struct TimevalReply { pub sec: i64, pub usec: i64 }
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
        PM_SIGACTION => "sigaction",
        PM_SIGPROCMASK => "sigprocmask",
        PM_SIGPENDING => "sigpending",
        PM_SIGSUSPEND => "sigsuspend",
        PM_SIGRETURN => "sigreturn",
        PM_ALARM => "alarm",
        PM_SETITIMER => "setitimer",
        PM_GETITIMER => "getitimer",
        PM_GETPPID => "getppid",
        PM_GETGID => "getgid",
        PM_GETEUID => "geteuid",
        PM_GETEGID => "getegid",
        PM_SETEUID => "seteuid",
        PM_SETEGID => "setegid",
        PM_SETSID => "setsid",
        PM_GETPGRP => "getpgrp",
        PM_GETSID => "getsid",
        PM_GETPGID => "getpgid",
        PM_SETPGID => "setpgid",
        PM_GETGROUPS => "getgroups",
        PM_SETGROUPS => "setgroups",
        PM_GETRUSAGE => "getrusage",
        PM_TIMES => "times",
        PM_CLOCK_GETTIME => "clock_gettime",
        PM_CLOCK_SETTIME => "clock_settime",
        PM_GETTIMEOFDAY => "gettimeofday",
        PM_VFS_UNPAUSE => "pm_vfs_unpause",
        VFS_PM_UNPAUSE_REPLY => "vfs_pm_unpause_reply",
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

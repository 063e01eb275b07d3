//! A fuzzer of user behaviour: random and hostile system calls from several processes at once.
//!
//! A [`Plan`] is one program per worker process, a list of [`Op`]s: each one system call, raw IPC
//! or kernel call, with arguments chosen to hurt — huge and wrapping lengths, negative, stale and
//! never-opened descriptors, buffers outside the address space or on read-only text, forged,
//! revoked and mis-addressed grants, pids of strangers, deep and over-long paths, names with NUL
//! bytes and slashes, every message type to every endpoint with forged endpoint fields, every
//! kernel call. Workers fork (the child runs the next ops of the program, as a real child runs
//! the code after `fork`), exit, kill and wait for each other while they run. Workers are not root
//! (each drops to uid 1000 or 1001 first): a hostile user, not an administrator who may reboot.
//!
//! Everything random comes from one seed ([`Plan::generate`], splitmix64) or from proptest's words
//! ([`Op::generate`] over [`Words`]), so a failing plan is data that replays exactly under `sim`.
//!
//! What a run must show (the testbed's `fuzz::FuzzOutcome::problems` lists every breach):
//! - no server crashed: rs made no decision (rs logs every service death);
//! - every call was answered with success or an errno of [`Errno::ALL`] — never an unknown status,
//!   never EIO (no server returns it: the syscall library makes it of an unknown status), never a
//!   dead server — and a success carries a sane value (a descriptor in range, a count no larger
//!   than asked, a mapping inside the mapping area...);
//! - a call may stay unanswered only if it may block for ever by its nature (a read of a pipe whose
//!   only writer is the reader, a wait for a child that blocks so, a raw receive): init ends such
//!   workers with SIGKILL once nothing moves, and a worker found blocked in any other call is a
//!   failure;
//! - every kernel call a user makes is denied;
//! - the consistency checker finds nothing on the stopped system;
//! - nothing leaks: once every worker is gone, every frame a worker had is free again (init asks
//!   vm before and after), and pm, vm and vfs know only init, with no open file left.

use crate::libc::Sys;
use crate::workload::report::Recorder;
use kernel_sim::memory::{Access, GrantId};
use kernel_sim::msgtype::{DS_BASE, NOTIFY_MESSAGE, RS_BASE, SEF_BASE};
use kernel_sim::{Endpoint, KernelCall, KernelError, Message, Micros, Proc};
use os::errno::Errno;
use os::proto::pm::{
    ExecRequest, ExitRequest, ForkReply, KillRequest, PM_EXEC, PM_EXIT, PM_FORK, PM_GETPID, PM_GETUID, PM_KILL,
    PM_REBOOT, PM_SETGID, PM_SETUID, PM_VFS_EXIT, PM_VFS_FORK, PM_WAIT4, PidReply, SetIdRequest, VFS_PM_EXIT_REPLY,
    VFS_PM_FORK_REPLY, WNOHANG, WaitReply, WaitRequest, sig,
};
use os::proto::vfs::flags::{O_APPEND, O_CREAT, O_DIRECTORY, O_EXCL, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY};
use os::proto::vfs::map::{MAP_PRIVATE, MAP_SHARED};
use os::proto::vfs::{
    Dup2Request, FdRequest, IoRequest, MmapFileRequest, NAME_MAX, PathRequest, PipeReply, SeekReply, SeekRequest,
    TwoPathRequest, VFS_CHDIR, VFS_CLOSE, VFS_DUP, VFS_DUP2, VFS_FSTAT, VFS_GETDENTS, VFS_LINK, VFS_LSEEK, VFS_MKDIR,
    VFS_MMAP, VFS_OPEN, VFS_PIPE, VFS_READ, VFS_RENAME, VFS_RMDIR, VFS_STAT, VFS_UNLINK, VFS_WRITE,
};
use os::proto::vm::layout::{
    HEAP_LIMIT, MMAP_BASE, MMAP_LIMIT, PAGE, SCRATCH, SCRATCH_LEN, STACK_START, STACK_TOP, TEXT_START,
};
use os::proto::vm::prot::{PROT_READ, PROT_WRITE};
use os::proto::vm::{
    BrkReply, BrkRequest, MmapReply, MmapRequest, MunmapRequest, VM_BRK, VM_EXEC_NEWMEM, VM_EXIT, VM_FORK, VM_INFO,
    VM_MMAP, VM_MUNMAP, VmInfoReply,
};
use os::proto::{INIT, PATH_MAX, PM, Pid, RS, VFS, VM};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

// ---- entropy --------------------------------------------------------------------------------

/// Where a plan's random choices come from.
pub trait Entropy {
    /// The next random word.
    fn word(&mut self) -> u64;

    /// A number below `n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.word() % n
    }

    /// One of `choices`.
    fn pick<T: Copy>(&mut self, choices: &[T]) -> T {
        choices[self.below(choices.len() as u64) as usize]
    }
}

/// splitmix64: the seeded generator of [`Plan::generate`]. A seed names the same plan for as long
/// as this generator and [`Op::generate`] are unchanged.
#[derive(Clone, Debug)]
pub struct SplitMix(pub u64);

impl Entropy for SplitMix {
    fn word(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Words from a slice, then zeros: proptest's input. Shrinking moves words towards zero, and a
/// zero word always picks the plainest choice (a getpid, the most recent descriptor, an honest
/// grant), so a shrunk failing plan reads as the few hostile calls that matter.
#[derive(Clone, Debug)]
pub struct Words<'a>(pub &'a [u64]);

impl Entropy for Words<'_> {
    fn word(&mut self) -> u64 {
        match self.0.split_first() {
            Some((w, rest)) => {
                self.0 = rest;
                *w
            }
            None => 0,
        }
    }
}

// ---- arguments ------------------------------------------------------------------------------

/// A file descriptor argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdArg {
    /// The k-th most recent descriptor the process got (0 if none). A read or write skips the
    /// pipe ends the process made for k below [`PIPES_TOO`], so that plain calls rarely wait for
    /// ever on the process's own pipe.
    Recent(u8),
    /// One the process closed (a stale descriptor; OPEN_MAX - 1 if none).
    Stale(u8),
    /// This number, whatever it names: a small one, a negative one, one past OPEN_MAX, i32 edges.
    Raw(i32),
}

impl FdArg {
    fn generate(e: &mut impl Entropy, hostile: bool) -> FdArg {
        if !hostile {
            return FdArg::Recent(e.below(4) as u8);
        }
        match e.below(8) {
            0..=4 => FdArg::Recent(e.word() as u8 | e.pick(&[0, PIPES_TOO])),
            5 => FdArg::Stale(e.word() as u8),
            _ => {
                let open_max = os::vfs::state::OPEN_MAX as i32;
                FdArg::Raw(e.pick(&[
                    0,
                    1,
                    2,
                    3,
                    open_max - 1,
                    open_max,
                    open_max + 1,
                    -1,
                    -2,
                    1000,
                    i32::MAX,
                    i32::MIN,
                ]))
            }
        }
    }
}

/// [`FdArg::Recent`] indexes from here on may name pipe ends for reads and writes too.
pub const PIPES_TOO: u8 = 128;

/// A user address argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddrArg {
    /// In the scratch buffer (mapped, writable).
    Scratch(u16),
    /// Near the heap's start (mapped only as far as the break).
    Heap(u16),
    /// In the k-th mapping the process made (its base if none).
    Mapped(u8, u16),
    /// On the read-only text.
    Text(u16),
    /// The last bytes below the stack's top: a longer buffer runs off the address space.
    StackTop,
    /// Address 0.
    Null,
    /// In the unmapped gap between the mappings and the stack.
    Unmapped(u16),
    /// Past the stack's top, up to the end of the address space.
    High(u16),
}

impl AddrArg {
    fn generate(e: &mut impl Entropy, hostile: bool) -> AddrArg {
        if !hostile {
            return AddrArg::Scratch(e.word() as u16);
        }
        let o = e.word() as u16;
        match e.below(12) {
            0..=4 => AddrArg::Scratch(o),
            5 => AddrArg::Heap(o),
            6 => AddrArg::Mapped(e.word() as u8, o),
            7 => AddrArg::Text(o),
            8 => AddrArg::StackTop,
            9 => AddrArg::Null,
            10 => AddrArg::Unmapped(o),
            _ => AddrArg::High(o),
        }
    }
}

/// A length argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LenArg {
    /// Up to a page.
    Small(u16),
    /// Exactly zero.
    Zero,
    /// 1 to 64 pages.
    Pages(u8),
    /// The whole scratch buffer.
    Scratch,
    /// One past i32::MAX: a count that does not fit a reply status.
    PastI32,
    /// A terabyte.
    Huge,
    /// u64::MAX and just below: every `start + len` overflows.
    Max(u8),
}

impl LenArg {
    fn generate(e: &mut impl Entropy, hostile: bool) -> LenArg {
        if !hostile {
            return LenArg::Small(e.word() as u16);
        }
        match e.below(12) {
            0..=4 => LenArg::Small(e.word() as u16),
            5 => LenArg::Zero,
            6 | 7 => LenArg::Pages(e.word() as u8),
            8 => LenArg::Scratch,
            9 => LenArg::PastI32,
            10 => LenArg::Huge,
            _ => LenArg::Max(e.word() as u8),
        }
    }

    fn value(self) -> u64 {
        match self {
            LenArg::Small(n) => u64::from(n) % (PAGE + 1),
            LenArg::Zero => 0,
            LenArg::Pages(n) => (u64::from(n) % 64 + 1) * PAGE,
            LenArg::Scratch => SCRATCH_LEN,
            LenArg::PastI32 => i32::MAX as u64 + 1,
            LenArg::Huge => 1 << 40,
            LenArg::Max(n) => u64::MAX - u64::from(n),
        }
    }
}

/// How the buffer or path of a call is granted to the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantArg {
    /// Exactly the bytes the call names, with the access it needs.
    Exact,
    /// Half of them.
    Short,
    /// From the start to the end of the address space and beyond (length u64::MAX).
    Wide,
    /// The right bytes with the wrong access (read for write, write for read).
    WrongAccess,
    /// The right bytes, granted to another server.
    WrongGrantee,
    /// A grant revoked before the call.
    Revoked,
    /// A grant number the process never made.
    Forged(u32),
}

impl GrantArg {
    fn generate(e: &mut impl Entropy, hostile: bool) -> GrantArg {
        if !hostile {
            return GrantArg::Exact;
        }
        match e.below(14) {
            0..=7 => GrantArg::Exact,
            8 => GrantArg::Short,
            9 => GrantArg::Wide,
            10 => GrantArg::WrongAccess,
            11 => GrantArg::WrongGrantee,
            12 => GrantArg::Revoked,
            _ => {
                let random = e.word() as u32;
                GrantArg::Forged(e.pick(&[0, 1, 7, 1000, u32::MAX, random]))
            }
        }
    }
}

/// The length field of a path call: honest, or lying about the bytes granted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathLen {
    /// The path's length.
    Honest,
    /// Zero.
    Zero,
    /// A few bytes more than the path.
    Longer(u8),
    /// u32::MAX.
    Max,
}

impl PathLen {
    fn generate(e: &mut impl Entropy, hostile: bool) -> PathLen {
        if !hostile {
            return PathLen::Honest;
        }
        match e.below(12) {
            0..=8 => PathLen::Honest,
            9 => PathLen::Zero,
            10 => PathLen::Longer(e.word() as u8),
            _ => PathLen::Max,
        }
    }

    fn value(self, len: usize) -> u32 {
        let len = u32::try_from(len).unwrap_or(u32::MAX);
        match self {
            PathLen::Honest => len,
            PathLen::Zero => 0,
            PathLen::Longer(n) => len.saturating_add(u32::from(n) + 1),
            PathLen::Max => u32::MAX,
        }
    }
}

/// A path argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathArg {
    /// A file of the boot tree.
    Known(u8),
    /// A name in the fuzz directory (`/tmp/fz`), absolute or relative.
    Fixture(u8),
    /// Many components deep (`d/d/d...` or `../../..`).
    Deep(u8),
    /// Around and far past PATH_MAX bytes.
    Long(u8),
    /// A last component around NAME_MAX bytes.
    LongName(u8),
    /// With NUL bytes inside.
    Nul(u8),
    /// With doubled, trailing and misplaced slashes.
    Slashes(u8),
    /// With `.` and `..` components.
    Dots(u8),
    /// Empty.
    Empty,
    /// Random bytes from an alphabet of `a / . NUL 0xff`.
    Bytes(u64),
}

/// The fuzz directory init makes before the workers start, everyone may write in it.
pub const FIXTURE_DIR: &str = "/tmp/fz";

const KNOWN_PATHS: &[&str] = &[
    "/etc/motd",
    "/tmp",
    "/",
    "/bin/true",
    "/bin",
    "/etc",
    ".",
    "..",
    "/bin/cat",
    "/bin/echo",
    "/bin/exit_with",
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/urandom",
];
const FIXTURE_PATHS: &[&str] = &[
    "/tmp/fz/f0",
    "/tmp/fz/f1",
    "/tmp/fz/f2",
    "/tmp/fz/root-only",
    "/tmp/fz/d0",
    "/tmp/fz/d1",
    "/tmp/fz/d0/f0",
    "/tmp/fz/d0/d2",
    "/tmp/fz/prog",
    "/tmp/fz/new",
    "/tmp/fz",
    "f0",
    "d0",
    "d0/f0",
    "new",
];
const NUL_PATHS: &[&[u8]] = &[b"/tmp/fz/f0\0x", b"\0", b"/etc/motd\0", b"/tmp/fz/\0f1", b"/tmp\0/fz", b"f0\0"];
const SLASH_PATHS: &[&str] = &[
    "//",
    "/tmp//fz///f0",
    "/tmp/fz/f0/",
    "/etc/motd/",
    "/etc/motd/x",
    "/tmp/fz/d0//",
    "///////////",
    "/tmp/fz/f0/.",
    "/tmp/fz/d0/f0/",
];
const DOT_PATHS: &[&str] =
    &["/..", "/../../..", "../../etc/motd", "/tmp/./fz/../fz/f0", "...", "/tmp/fz/d0/..", "/tmp/fz/.", "./f0/.."];

impl PathArg {
    fn generate(e: &mut impl Entropy, hostile: bool) -> PathArg {
        if !hostile {
            return if e.below(4) == 0 { PathArg::Known(e.word() as u8) } else { PathArg::Fixture(e.word() as u8) };
        }
        let k = e.word() as u8;
        match e.below(20) {
            0..=2 => PathArg::Known(k),
            3..=10 => PathArg::Fixture(k),
            11 => PathArg::Deep(k),
            12 => PathArg::Long(k),
            13 => PathArg::LongName(k),
            14 => PathArg::Nul(k),
            15 => PathArg::Slashes(k),
            16 => PathArg::Dots(k),
            17 => PathArg::Empty,
            _ => PathArg::Bytes(e.word()),
        }
    }

    /// The path's bytes.
    pub fn bytes(self) -> Vec<u8> {
        fn of<T: Copy>(list: &[T], k: u8) -> T {
            list[k as usize % list.len()]
        }
        match self {
            PathArg::Known(k) => of(KNOWN_PATHS, k).into(),
            PathArg::Fixture(k) => of(FIXTURE_PATHS, k).into(),
            PathArg::Deep(k) if k % 2 == 0 => {
                let mut p = b"/tmp/fz".to_vec();
                for _ in 0..k / 2 {
                    p.extend_from_slice(b"/d0");
                }
                p
            }
            PathArg::Deep(k) => b"../".repeat(usize::from(k)),
            PathArg::Long(k) => {
                let len = of(&[PATH_MAX - 1, PATH_MAX, PATH_MAX + 1, 1024, 4096, 30_000], k);
                let mut p = b"/tmp/fz/".to_vec();
                p.resize(len.max(p.len()), b'x');
                p
            }
            PathArg::LongName(k) => {
                let mut p = b"/tmp/fz/".to_vec();
                p.extend(std::iter::repeat_n(b'n', NAME_MAX - 1 + usize::from(k % 3)));
                p
            }
            PathArg::Nul(k) => of(NUL_PATHS, k).to_vec(),
            PathArg::Slashes(k) => of(SLASH_PATHS, k).into(),
            PathArg::Dots(k) => of(DOT_PATHS, k).into(),
            PathArg::Empty => Vec::new(),
            PathArg::Bytes(seed) => {
                let mut g = SplitMix(seed);
                let len = g.below(48) as usize;
                (0..len).map(|_| g.pick(b"a/.\0\xff0f")).collect()
            }
        }
    }
}

/// A pid argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PidArg {
    /// The process itself.
    Own,
    /// Its parent.
    Parent,
    /// init (pid 1, root: a worker may not signal it).
    Init,
    /// The k-th child it forked (pid 2 if none).
    Child(u8),
    /// Another live worker (a stranger, or a sibling of the same uid).
    Other(u8),
    /// This number: zero, -1 (any), negative groups, a small stranger's, PID_MAX and past it.
    Raw(Pid),
}

impl PidArg {
    fn generate(e: &mut impl Entropy) -> PidArg {
        match e.below(10) {
            0 | 1 => PidArg::Child(e.word() as u8),
            2 | 3 => PidArg::Other(e.word() as u8),
            4 => PidArg::Own,
            5 => PidArg::Parent,
            6 => PidArg::Init,
            _ => PidArg::Raw(e.pick(&[0, -1, -2, -1000, 2, 3, 17, 30_000, 30_001, i32::MAX, i32::MIN])),
        }
    }
}

/// An endpoint argument for raw IPC and kernel calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DestArg {
    /// pm.
    Pm,
    /// vm.
    Vm,
    /// vfs.
    Vfs,
    /// rs.
    Rs,
    /// The kernel's endpoint (slot 0).
    Kernel,
    /// [`Endpoint::ANY`], never a destination.
    Any,
    /// [`Endpoint::NONE`].
    NoneEp,
    /// The process itself.
    Own,
    /// init.
    Init,
    /// Another live worker.
    Other(u8),
    /// A process that is gone (a stale endpoint).
    Gone(u8),
    /// pm's slot in a generation that never lived.
    StaleServer,
    /// A slot no process ever had.
    NoSlot,
}

impl DestArg {
    fn generate(e: &mut impl Entropy) -> DestArg {
        let k = e.word() as u8;
        match e.below(20) {
            0..=3 => DestArg::Pm,
            4..=6 => DestArg::Vm,
            7..=10 => DestArg::Vfs,
            11 => DestArg::Rs,
            12 => DestArg::Kernel,
            13 => DestArg::Any,
            14 => DestArg::NoneEp,
            15 => DestArg::Own,
            16 => DestArg::Init,
            17 => DestArg::Other(k),
            18 => DestArg::Gone(k),
            _ => e.pick(&[DestArg::StaleServer, DestArg::NoSlot]),
        }
    }
}

/// An IPC primitive for raw messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prim {
    /// sendrec.
    SendRec,
    /// send (blocks until taken; the answer is dropped).
    Send,
    /// sendnb.
    SendNb,
    /// asynsend.
    AsynSend,
}

/// What a raw message's first payload field claims to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forge {
    /// Random bytes, small numbers first (real descriptors, grant 0, short lengths).
    Garbage,
    /// The sender's own endpoint.
    Own,
    /// init's endpoint.
    Init,
    /// Another worker's endpoint.
    Other(u8),
    /// A server's endpoint.
    Server,
    /// [`Endpoint::NONE`].
    NoneEp,
}

/// Every message type a raw message picks from (besides random ones): every call of every server,
/// the server-only ranges, range edges, notification and control types, negative statuses.
pub const MESSAGE_TYPES: &[i32] = &[
    os::proto::pm::PM_EXIT,
    PM_FORK,
    PM_WAIT4,
    PM_GETPID,
    PM_GETUID,
    PM_SETUID,
    PM_SETGID,
    PM_KILL,
    PM_EXEC,
    PM_REBOOT,
    os::proto::pm::PM_GETPRIORITY,
    os::proto::pm::PM_SETPRIORITY,
    0x0FF,
    VFS_OPEN,
    VFS_CLOSE,
    VFS_READ,
    VFS_WRITE,
    VFS_LSEEK,
    VFS_UNLINK,
    VFS_MKDIR,
    VFS_RMDIR,
    VFS_STAT,
    VFS_FSTAT,
    VFS_DUP,
    VFS_DUP2,
    VFS_GETDENTS,
    VFS_CHDIR,
    VFS_LINK,
    VFS_RENAME,
    os::proto::vfs::VFS_FCNTL,
    os::proto::vfs::VFS_UMASK,
    os::proto::vfs::VFS_PIPE2,
    os::proto::vfs::VFS_FCHDIR,
    os::proto::vfs::VFS_POLL,
    os::proto::vfs::VFS_GETCWD,
    os::proto::vfs::VFS_FLOCK,
    os::proto::vfs::VFS_UTIMENS,
    os::proto::vfs::VFS_MKNOD,
    os::proto::vfs::VFS_MMAP,
    os::proto::fs::REQ_UTIME,
    os::proto::fs::REQ_MKNOD,
    os::proto::cdev::CDEV_OPEN,
    os::proto::cdev::CDEV_READ,
    os::proto::cdev::CDEV_WRITE,
    0x102,
    0x1FF,
    RS_BASE,
    RS_BASE + 1,
    DS_BASE,
    os::proto::ds::DS_PUBLISH,
    os::proto::ds::DS_CHECK,
    os::proto::sched::SCHED_START,
    os::proto::sched::SCHED_SET_NICE,
    PM_VFS_FORK,
    PM_VFS_EXIT,
    os::proto::pm::PM_VFS_EXEC,
    os::proto::pm::PM_VFS_SETID,
    os::proto::pm::PM_VFS_REBOOT,
    VFS_PM_FORK_REPLY,
    VFS_PM_EXIT_REPLY,
    os::proto::pm::VFS_PM_EXEC_REPLY,
    os::proto::pm::VFS_PM_SETID_REPLY,
    os::proto::pm::VFS_PM_REBOOT_REPLY,
    VM_EXIT,
    VM_FORK,
    os::proto::vm::VM_WILLEXIT,
    os::proto::vm::VM_GETRUSAGE,
    VM_EXEC_NEWMEM,
    os::proto::vm::VM_VFS_MMAP,
    os::proto::vm::VM_VFS_MMAP_DONE,
    os::proto::vm::VM_VFS_MAP_REFRESH,
    os::proto::vm::VM_VFS_MAPPED,
    VM_BRK,
    VM_MMAP,
    VM_MUNMAP,
    VM_INFO,
    os::proto::vm::VM_MPROTECT,
    os::proto::vm::VM_MREMAP,
    os::proto::vm::VM_REGIONS,
    0xC1F,
    0xC3F,
    0xC40,
    NOTIFY_MESSAGE,
    SEF_BASE + 1,
    0,
    -1,
    -22,
    i32::MIN,
    i32::MAX,
];

/// The kernel calls a user process tries (every one must be denied).
pub const KERNEL_CALLS: &[&str] = &[
    "kill",
    "fork",
    "exec",
    "has_program",
    "clear",
    "spawn_service",
    "setalarm",
    "next_death",
    "take_remains",
    "procinfo",
    "total_frames",
    "shutdown",
    "vm_map",
    "vm_unmap",
    "frame_copy",
    "frame_zero",
    "safecopy_from",
    "safecopy_to",
    "schedule",
    "unschedule",
    "next_expired",
];

/// Makes kernel call `index` of [`KERNEL_CALLS`] (modulo their number) on `target` where it
/// takes one; returns which kernel call it is and what the kernel said.
pub fn kernel_call(p: &Proc, index: usize, t: Endpoint) -> (KernelCall, Result<(), KernelError>) {
    let mut buf = [0u8; 16];
    match index % KERNEL_CALLS.len() {
        0 => (KernelCall::Kill, p.sys_kill(t)),
        1 => (KernelCall::Fork, p.sys_fork(p.endpoint(), 200).map(drop)),
        2 => (KernelCall::Exec, p.sys_exec(t, "true", vec!["true".into()])),
        3 => (KernelCall::GetInfo, p.sys_has_program("true").map(drop)),
        4 => (KernelCall::Clear, p.sys_clear(t)),
        5 => (KernelCall::Spawn, p.sys_spawn_service("pm", None).map(drop)),
        6 => (KernelCall::Alarm, p.sys_setalarm(1000)),
        7 => (KernelCall::Remains, p.sys_next_death().map(drop)),
        8 => (KernelCall::Remains, p.sys_take_remains(t).map(drop)),
        9 => (KernelCall::GetInfo, p.sys_procinfo(t).map(drop)),
        10 => (KernelCall::GetInfo, p.sys_total_frames().map(drop)),
        11 => (KernelCall::Shutdown, p.sys_shutdown("a user asked")),
        12 => (KernelCall::VmCtl, p.sys_vm_map(t, STACK_START / PAGE - 1, 0, true)),
        13 => (KernelCall::VmCtl, p.sys_vm_unmap(t, TEXT_START / PAGE).map(drop)),
        14 => (KernelCall::VmCtl, p.sys_frame_copy(0, 1)),
        15 => (KernelCall::VmCtl, p.sys_frame_zero(0)),
        16 => (KernelCall::SafeCopy, p.safecopy_from(t, 0, 0, &mut buf)),
        17 => (KernelCall::SafeCopy, p.safecopy_to(t, 0, 0, &buf)),
        18 => (KernelCall::Schedule, p.sys_schedule(t, 0, 1)),
        19 => (KernelCall::Schedule, p.sys_unschedule(t)),
        _ => (KernelCall::Schedule, p.sys_next_expired().map(drop)),
    }
}

/// The calls of [`Op::Path`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathCall {
    /// unlink.
    Unlink,
    /// mkdir.
    Mkdir,
    /// rmdir.
    Rmdir,
    /// stat.
    Stat,
    /// chdir.
    Chdir,
}

/// exec's argument vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgvArg {
    /// A few short arguments, granted exactly.
    Plain,
    /// None at all.
    Empty,
    /// One byte past ARG_MAX.
    TooLong,
    /// A length field of u32::MAX over a small grant.
    Lie,
    /// A grant number never made.
    Forged,
}

// ---- operations -----------------------------------------------------------------------------

/// One step of a worker's program.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Op {
    Getpid,
    Getuid,
    Open {
        path: PathArg,
        flags: u32,
        mode: u32,
        grant: GrantArg,
        len: PathLen,
    },
    Path {
        call: PathCall,
        path: PathArg,
        mode: u32,
        grant: GrantArg,
        len: PathLen,
    },
    TwoPath {
        rename: bool,
        old: PathArg,
        new: PathArg,
        grant: GrantArg,
    },
    Close {
        fd: FdArg,
    },
    Fstat {
        fd: FdArg,
    },
    Dup {
        fd: FdArg,
    },
    Dup2 {
        fd: FdArg,
        fd2: FdArg,
    },
    Read {
        fd: FdArg,
        addr: AddrArg,
        len: LenArg,
        grant: GrantArg,
    },
    Write {
        fd: FdArg,
        addr: AddrArg,
        len: LenArg,
        grant: GrantArg,
    },
    Getdents {
        fd: FdArg,
        addr: AddrArg,
        len: LenArg,
        grant: GrantArg,
    },
    Lseek {
        fd: FdArg,
        offset: i64,
        whence: u32,
    },
    Pipe,
    Brk {
        addr: AddrArg,
    },
    Mmap {
        len: LenArg,
        writable: bool,
    },
    /// mmap of a file, through vfs.
    MmapFile {
        fd: FdArg,
        offset: u64,
        len: LenArg,
        prot: u32,
        flags: u32,
    },
    Munmap {
        addr: AddrArg,
        len: LenArg,
    },
    VmInfo,
    /// fork; the child runs the next `child_ops` ops and exits, the parent skips them.
    Fork {
        child_ops: u8,
    },
    /// PM_FORK without leaving a body for the child first.
    RawFork,
    Exit {
        status: i32,
    },
    Wait {
        pid: PidArg,
        options: u32,
    },
    Kill {
        pid: PidArg,
        signal: i32,
    },
    Setuid {
        id: u32,
    },
    Setgid {
        id: u32,
    },
    Exec {
        path: PathArg,
        argv: ArgvArg,
        grant: GrantArg,
    },
    Reboot,
    /// Any message type to any endpoint with any primitive.
    Raw {
        to: DestArg,
        m_type: i32,
        prim: Prim,
        payload: u64,
        forge: Forge,
    },
    Notify {
        to: DestArg,
    },
    /// A receive from anyone or one endpoint (blocks until something comes, maybe for ever).
    Receive {
        from: DestArg,
    },
    /// A kernel call ([`KERNEL_CALLS`]) a user may not make.
    Kernel {
        call: u8,
        target: DestArg,
    },
    Yield,
}

impl Op {
    /// One op, drawn from `e`. A zero word draws a getpid.
    pub fn generate(e: &mut impl Entropy) -> Op {
        // Most ops are plain calls that build state (open files, pipes, mappings, children); the
        // rest carry hostile arguments. A zero word picks a plain getpid.
        let h = e.below(10) >= 6;
        let kind = e.below(100);
        let fd = |e: &mut _| FdArg::generate(e, h);
        match kind {
            0..=2 => Op::Getpid,
            3 => Op::Getuid,
            4..=13 => Op::Open {
                path: PathArg::generate(e, h),
                flags: match e.below(10) {
                    _ if !h => {
                        e.pick(&[O_RDONLY, O_WRONLY, O_RDWR]) | e.pick(&[0, O_CREAT, O_CREAT | O_TRUNC, O_APPEND])
                    }
                    0 => e.word() as u32,
                    _ => {
                        e.pick(&[O_RDONLY, O_WRONLY, O_RDWR, 3])
                            | e.pick(&[0, O_CREAT, O_CREAT | O_EXCL, O_TRUNC, O_APPEND, O_DIRECTORY, O_CREAT | O_TRUNC])
                    }
                },
                mode: e.pick(&[0o644, 0o666, 0o600, 0, 0o777, 0o7777, u32::MAX, 0o1777]),
                grant: GrantArg::generate(e, h),
                len: PathLen::generate(e, h),
            },
            14..=19 => Op::Close { fd: fd(e) },
            20..=26 => Op::Read {
                fd: fd(e),
                addr: AddrArg::generate(e, h),
                len: LenArg::generate(e, h),
                grant: GrantArg::generate(e, h),
            },
            27..=33 => Op::Write {
                fd: fd(e),
                addr: AddrArg::generate(e, h),
                len: LenArg::generate(e, h),
                grant: GrantArg::generate(e, h),
            },
            34..=36 => Op::Lseek {
                fd: fd(e),
                offset: if h {
                    e.pick(&[0, 1, -1, 100, 4096, 1 << 20, -(1 << 20), i64::MAX, i64::MIN])
                } else {
                    e.pick(&[0, 1, 100, 4096])
                },
                whence: if h { e.pick(&[0, 1, 2, 3, u32::MAX]) } else { e.pick(&[0, 1, 2]) },
            },
            37..=44 => Op::Path {
                call: e.pick(&[PathCall::Stat, PathCall::Unlink, PathCall::Mkdir, PathCall::Rmdir, PathCall::Chdir]),
                path: PathArg::generate(e, h),
                mode: e.pick(&[0o755, 0o777, 0, 0o7777, u32::MAX]),
                grant: GrantArg::generate(e, h),
                len: PathLen::generate(e, h),
            },
            45..=48 => Op::TwoPath {
                rename: e.below(2) == 0,
                old: PathArg::generate(e, h),
                new: PathArg::generate(e, h),
                grant: GrantArg::generate(e, h),
            },
            49 | 50 => Op::Fstat { fd: fd(e) },
            51 | 52 => Op::Dup { fd: fd(e) },
            53 | 54 => Op::Dup2 { fd: fd(e), fd2: fd(e) },
            55 | 56 => Op::Pipe,
            57 | 58 => Op::Getdents {
                fd: fd(e),
                addr: AddrArg::generate(e, h),
                len: LenArg::generate(e, h),
                grant: GrantArg::generate(e, h),
            },
            59 | 60 => Op::Brk { addr: if h { AddrArg::generate(e, h) } else { AddrArg::Heap(e.word() as u16) } },
            61..=63 => Op::Mmap { len: LenArg::generate(e, h), writable: e.below(3) != 0 },
            64 | 65 => Op::Munmap {
                addr: if h { AddrArg::generate(e, h) } else { AddrArg::Mapped(e.word() as u8, 0) },
                len: LenArg::generate(e, h),
            },
            66 => Op::VmInfo,
            67..=69 => Op::Fork { child_ops: e.below(17) as u8 },
            70 => Op::RawFork,
            // Exiting early ends the rest of the program: rarely.
            71 if e.below(4) == 0 => Op::Exit { status: e.pick(&[0, 1, 255, 256, -1, i32::MIN]) },
            72 | 73 => Op::Wait {
                pid: PidArg::generate(e),
                options: e.pick(&[WNOHANG, WNOHANG, WNOHANG | 0xFFFE, u32::MAX, 0]),
            },
            74 | 75 => {
                Op::Kill { pid: PidArg::generate(e), signal: e.pick(&[0, 9, 15, 17, 13, 11, 31, 32, -1, 1, i32::MAX]) }
            }
            76 => Op::Setuid { id: e.pick(&[1000, 1001, 0, u32::MAX, 65_534]) },
            77 => Op::Setgid { id: e.pick(&[1000, 1001, 0, u32::MAX, 65_534]) },
            78 | 79 => Op::Exec {
                path: PathArg::generate(e, h),
                argv: e.pick(&[
                    ArgvArg::Plain,
                    ArgvArg::Plain,
                    ArgvArg::Empty,
                    ArgvArg::TooLong,
                    ArgvArg::Lie,
                    ArgvArg::Forged,
                ]),
                grant: GrantArg::generate(e, h),
            },
            80..=89 => {
                let to = DestArg::generate(e);
                let m_type = match e.below(5) {
                    0 => e.word() as i32,
                    _ => e.pick(MESSAGE_TYPES),
                };
                let prim =
                    e.pick(&[Prim::SendRec, Prim::SendRec, Prim::SendRec, Prim::Send, Prim::SendNb, Prim::AsynSend]);
                Op::Raw {
                    to,
                    m_type,
                    prim: avoid_known_bugs(m_type, prim),
                    payload: e.word(),
                    forge: match e.below(8) {
                        0..=2 => Forge::Garbage,
                        3 => Forge::Own,
                        4 => Forge::Init,
                        5 => Forge::Other(e.word() as u8),
                        6 => Forge::Server,
                        _ => Forge::NoneEp,
                    },
                }
            }
            90 | 91 => Op::Notify { to: DestArg::generate(e) },
            // A receive most often waits for ever: rarely.
            92 if h && e.below(4) == 0 => Op::Receive { from: DestArg::generate(e) },
            93..=96 => Op::Kernel { call: e.below(KERNEL_CALLS.len() as u64) as u8, target: DestArg::generate(e) },
            97 => Op::Reboot,
            98 => Op::MmapFile {
                fd: fd(e),
                offset: e.pick(&[0, 0, PAGE, 1, 64 * PAGE, u64::MAX - PAGE + 1]),
                len: LenArg::generate(e, h),
                prot: e.pick(&[PROT_READ, PROT_READ, PROT_READ | PROT_WRITE, PROT_WRITE, 0, 0x10]),
                flags: e.pick(&[MAP_PRIVATE, MAP_PRIVATE, MAP_SHARED, 0, MAP_SHARED | MAP_PRIVATE, 0x20]),
            },
            _ => Op::Yield,
        }
    }

    /// The op's name in counters and reports.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Getpid => "getpid",
            Op::Getuid => "getuid",
            Op::Open { .. } => "open",
            Op::Path { call: PathCall::Unlink, .. } => "unlink",
            Op::Path { call: PathCall::Mkdir, .. } => "mkdir",
            Op::Path { call: PathCall::Rmdir, .. } => "rmdir",
            Op::Path { call: PathCall::Stat, .. } => "stat",
            Op::Path { call: PathCall::Chdir, .. } => "chdir",
            Op::TwoPath { rename: true, .. } => "rename",
            Op::TwoPath { rename: false, .. } => "link",
            Op::Close { .. } => "close",
            Op::Fstat { .. } => "fstat",
            Op::Dup { .. } => "dup",
            Op::Dup2 { .. } => "dup2",
            Op::Read { .. } => "read",
            Op::Write { .. } => "write",
            Op::Getdents { .. } => "getdents",
            Op::Lseek { .. } => "lseek",
            Op::Pipe => "pipe",
            Op::Brk { .. } => "brk",
            Op::Mmap { .. } => "mmap",
            Op::MmapFile { .. } => "mmap of a file",
            Op::Munmap { .. } => "munmap",
            Op::VmInfo => "vm_info",
            Op::Fork { .. } => "fork",
            Op::RawFork => "raw_fork",
            Op::Exit { .. } => "exit",
            Op::Wait { .. } => "wait4",
            Op::Kill { .. } => "kill",
            Op::Setuid { .. } => "setuid",
            Op::Setgid { .. } => "setgid",
            Op::Exec { .. } => "exec",
            Op::Reboot => "reboot",
            Op::Raw { .. } => "raw",
            Op::Notify { .. } => "notify",
            Op::Receive { .. } => "receive",
            Op::Kernel { .. } => "kernel_call",
            Op::Yield => "yield",
        }
    }

    /// Whether the op may block for ever by its nature (so a worker found blocked in it at the end
    /// is killed, not reported): reads and writes (of pipes), waits without WNOHANG (for children
    /// that block so), exec (the new program may read a pipe), raw messages (a read or wait in
    /// disguise) and receives.
    pub fn may_block(&self) -> bool {
        match self {
            Op::Read { .. } | Op::Write { .. } | Op::Exec { .. } | Op::Raw { .. } | Op::Receive { .. } => true,
            Op::Wait { options, .. } => options & WNOHANG == 0,
            _ => false,
        }
    }
}

/// Known bugs the generator steers around, so that the fuzz tests stay green while each bug has
/// its own failing test (marked `#[ignore = "bug: ..."]` in `testbed/tests/hostile_*.rs`). Remove an
/// entry (and its case in `avoid_known_bugs`) with the fix, and the fuzzer covers that ground again.
///
/// - `vfs-call-while-suspended`: a pipe read or write sent without waiting (send, asynsend,
///   sendnb) stays suspended in vfs while the process runs on; if it then closes that descriptor
///   (or dup2s over it) the suspension names a freed open file, a vfs invariant breach
///   (`hostile_ipc.rs`, `closing_the_descriptor_of_a_suspended_read_leaves_vfs_consistent`). Raw
///   reads and writes are sent with sendrec instead.
///
/// Fixed since they were found here (each now a regression test in `hostile_ipc.rs`): a raw
/// PM_EXIT left its sender unkillable and its setuid unanswered; a kill of a process that had just
/// exited answered "server died"; pm and vfs left a user's server-only call unanswered; a second
/// blocking pipe call from a process with one suspended made vfs panic.
pub const KNOWN_BUGS: &[&str] = &[];

/// A raw message's primitive with the known bugs' triggers replaced (see [`KNOWN_BUGS`]).
fn avoid_known_bugs(m_type: i32, prim: Prim) -> Prim {
    let _ = m_type;
    prim
}

/// What the workers run: one program each.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Each worker's ops, in order.
    pub workers: Vec<Vec<Op>>,
}

impl Plan {
    /// `workers` programs of `ops` ops each, drawn from `seed`.
    pub fn generate(seed: u64, workers: usize, ops: usize) -> Plan {
        let mut e = SplitMix(seed);
        Plan { workers: (0..workers).map(|_| (0..ops).map(|_| Op::generate(&mut e)).collect()).collect() }
    }

    /// Ops in all the programs.
    pub fn ops(&self) -> usize {
        self.workers.iter().map(Vec::len).sum()
    }
}

// ---- the shared board -------------------------------------------------------------------------

/// Failures kept word for word; the rest are only counted (a broken server can fail every call).
const MAX_FAILURES_KEPT: u64 = 40;

/// A process of the workload that is not known to be gone.
#[derive(Clone, Debug)]
struct Live {
    ep: Endpoint,
    op: &'static str,
    may_block: bool,
    in_call: bool,
    detail: String,
}

/// What the workload's processes share outside the simulated system (like the recorder: a
/// harness's console, not a channel between processes).
#[derive(Default)]
struct Board {
    live: BTreeMap<Pid, Live>,
    gone: Vec<Endpoint>,
    progress: u64,
    failures: u64,
}

#[derive(Clone)]
struct Shared {
    board: Arc<Mutex<Board>>,
    rec: Recorder,
}

impl Shared {
    fn board<R>(&self, f: impl FnOnce(&mut Board) -> R) -> R {
        f(&mut self.board.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn fail(&self, what: &str, detail: String) {
        let n = self.board(|b| {
            b.failures += 1;
            b.failures
        });
        if n <= MAX_FAILURES_KEPT {
            self.rec.check(what, false, || detail);
        } else {
            self.rec.count("fuzz.failures.unkept", 1);
        }
    }

    fn gone(&self, pid: Pid) {
        self.board(|b| {
            if let Some(l) = b.live.remove(&pid) {
                b.gone.push(l.ep);
            }
            b.progress += 1;
        });
    }

    fn other_pid(&self, k: u8) -> Option<Pid> {
        self.board(|b| b.live.keys().nth(usize::from(k) % b.live.len().max(1)).copied())
    }

    fn other_ep(&self, k: u8) -> Option<Endpoint> {
        self.board(|b| b.live.values().nth(usize::from(k) % b.live.len().max(1)).map(|l| l.ep))
    }

    fn gone_ep(&self, k: u8) -> Option<Endpoint> {
        self.board(|b| b.gone.get(usize::from(k) % b.gone.len().max(1)).copied())
    }
}

// ---- one worker ---------------------------------------------------------------------------------

/// What a worker knows of its own resources (a child starts with a copy of its parent's).
#[derive(Clone, Debug, Default)]
struct Known {
    fds: Vec<i32>,
    closed: Vec<i32>,
    children: Vec<Pid>,
    mapped: Vec<u64>,
    heap_start: u64,
    ppid: Pid,
    pipe_ends: Vec<i32>,
}

/// How an answer is judged.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A system call: the server answers with success or a defined errno.
    Answer,
    /// Raw IPC: any defined outcome, from the kernel or the server.
    AnyDefined,
}

struct Worker<'a> {
    sys: &'a Sys<'a>,
    shared: Shared,
    pid: Pid,
    known: Known,
}

/// Where exec's argument vector is staged, after the path.
const ARGV_AT: u64 = 1024;
/// Where two-path calls and big paths are staged: the start of the scratch buffer.
const PATH_AT: u64 = SCRATCH;

impl Worker<'_> {
    fn proc(&self) -> &Proc {
        self.sys.proc()
    }

    fn run(&mut self, ops: &[Op]) {
        let mut i = 0;
        while i < ops.len() {
            let op = &ops[i];
            i += 1;
            self.shared.board(|b| {
                b.progress += 1;
                if let Some(l) = b.live.get_mut(&self.pid) {
                    l.op = op.name();
                    l.may_block = op.may_block();
                    l.in_call = true;
                    l.detail = format!("{op:?}");
                }
            });
            self.shared.rec.count("fuzz.calls", 1);
            self.shared.rec.count(&format!("fuzz.op.{}", op.name()), 1);
            if let Op::Fork { child_ops } = op {
                let end = (i + usize::from(*child_ops)).min(ops.len());
                self.fork(ops[i..end].to_vec());
                i = end;
            } else {
                self.step(op);
            }
            self.shared.board(|b| {
                b.progress += 1;
                if let Some(l) = b.live.get_mut(&self.pid) {
                    l.in_call = false;
                }
            });
        }
    }

    /// Judges one answer: counts it, reports an undefined one, returns the reply of a success.
    fn judge(&self, op: &Op, expect: Expect, r: Result<Message, KernelError>) -> Option<Message> {
        let rec = &self.shared.rec;
        match r {
            Ok(m) if m.m_type >= 0 => {
                rec.count("fuzz.answer.ok", 1);
                rec.count(&format!("fuzz.ok.{}", op.name()), 1);
                Some(m)
            }
            Ok(m) => {
                match Errno::from_code(-m.m_type) {
                    Some(e)
                        if !matches!(e, Errno::EIO | Errno::ERECOVERED | Errno::EQUARANTINED | Errno::EDEADSRCDST) =>
                    {
                        rec.count(&format!("fuzz.answer.{}", e.name()), 1);
                    }
                    Some(e) => self.shared.fail(
                        "fuzz.answer",
                        format!("pid {}: {op:?} was answered {e}: a server died or made up a status", self.pid),
                    ),
                    None => self.shared.fail(
                        "fuzz.answer",
                        format!("pid {}: {op:?} was answered with the undefined status {}", self.pid, m.m_type),
                    ),
                }
                None
            }
            Err(k) => {
                let e = Errno::from(k);
                rec.count(&format!("fuzz.ipc.{}", e.name()), 1);
                if expect == Expect::Answer {
                    self.shared.fail(
                        "fuzz.answer",
                        format!("pid {}: {op:?} got no answer from its server: IPC failed with {k:?}", self.pid),
                    );
                }
                None
            }
        }
    }

    fn sane(&self, op: &Op, ok: bool, detail: impl FnOnce() -> String) {
        if !ok {
            self.shared.fail("fuzz.sane-reply", format!("pid {}: {op:?}: {}", self.pid, detail()));
        }
    }

    fn call(&self, op: &Op, dst: Endpoint, m: Message) -> Option<Message> {
        self.judge(op, Expect::Answer, self.proc().sendrec(dst, m))
    }

    fn fd(&self, fd: FdArg) -> i32 {
        self.fd_avoiding(fd, &[])
    }

    /// `fd`, where a plain [`FdArg::Recent`] skips the descriptors in `avoid`.
    fn fd_avoiding(&self, fd: FdArg, avoid: &[i32]) -> i32 {
        match fd {
            FdArg::Recent(k) if k < PIPES_TOO && !avoid.is_empty() => {
                let usable: Vec<i32> = self.known.fds.iter().copied().filter(|f| !avoid.contains(f)).collect();
                match usable.len() {
                    0 => 0,
                    n => usable[n - 1 - usize::from(k) % n],
                }
            }
            FdArg::Recent(k) if !self.known.fds.is_empty() => {
                let n = self.known.fds.len();
                self.known.fds[n - 1 - usize::from(k) % n]
            }
            FdArg::Recent(_) => 0,
            FdArg::Stale(k) if !self.known.closed.is_empty() => {
                self.known.closed[usize::from(k) % self.known.closed.len()]
            }
            FdArg::Stale(_) => os::vfs::state::OPEN_MAX as i32 - 1,
            FdArg::Raw(n) => n,
        }
    }

    fn addr(&self, a: AddrArg) -> u64 {
        match a {
            AddrArg::Scratch(o) => SCRATCH + u64::from(o) % SCRATCH_LEN,
            AddrArg::Heap(o) => self.known.heap_start + u64::from(o),
            AddrArg::Mapped(k, o) => {
                let base = match self.known.mapped.len() {
                    0 => MMAP_BASE,
                    n => self.known.mapped[usize::from(k) % n],
                };
                base + u64::from(o) % (4 * PAGE)
            }
            AddrArg::Text(o) => TEXT_START + u64::from(o) % PAGE,
            AddrArg::StackTop => STACK_TOP - 16,
            AddrArg::Null => 0,
            AddrArg::Unmapped(o) => MMAP_LIMIT - 64 * PAGE + u64::from(o),
            AddrArg::High(o) if o % 2 == 0 => STACK_TOP + u64::from(o) * PAGE,
            AddrArg::High(o) => u64::MAX - u64::from(o),
        }
    }

    fn pid(&self, p: PidArg) -> Pid {
        match p {
            PidArg::Own => self.pid,
            PidArg::Parent => self.known.ppid,
            PidArg::Init => os::proto::INIT_PID,
            PidArg::Child(k) if !self.known.children.is_empty() => {
                self.known.children[usize::from(k) % self.known.children.len()]
            }
            PidArg::Child(_) => 2,
            PidArg::Other(k) => self.shared.other_pid(k).unwrap_or(2),
            PidArg::Raw(n) => n,
        }
    }

    fn dest(&self, d: DestArg) -> Endpoint {
        match d {
            DestArg::Pm => PM,
            DestArg::Vm => VM,
            DestArg::Vfs => VFS,
            DestArg::Rs => RS,
            DestArg::Kernel => Endpoint::KERNEL,
            DestArg::Any => Endpoint::ANY,
            DestArg::NoneEp => Endpoint::NONE,
            DestArg::Own => self.proc().endpoint(),
            DestArg::Init => INIT,
            DestArg::Other(k) => self.shared.other_ep(k).unwrap_or(INIT),
            DestArg::Gone(k) => self.shared.gone_ep(k).unwrap_or(Endpoint::new(PM.slot(), 7)),
            DestArg::StaleServer => Endpoint::new(PM.slot(), 1),
            DestArg::NoSlot => Endpoint::new(60_000, 0),
        }
    }

    /// Grants `[addr, addr + len)` to `to` as `grant` says; returns the id to send and the grant
    /// to revoke after the call.
    fn grant(&self, grant: GrantArg, to: Endpoint, addr: u64, len: u64, access: Access) -> (GrantId, Option<GrantId>) {
        let p = self.proc();
        let other = if to == VFS { PM } else { VFS };
        let flipped = match access {
            Access::Read => Access::Write,
            Access::Write | Access::ReadWrite => Access::Read,
        };
        let id = match grant {
            GrantArg::Exact => p.grant(to, addr, len, access),
            GrantArg::Short => p.grant(to, addr, len / 2, access),
            GrantArg::Wide => p.grant(to, addr, u64::MAX, access),
            GrantArg::WrongAccess => p.grant(to, addr, len, flipped),
            GrantArg::WrongGrantee => p.grant(other, addr, len, access),
            GrantArg::Revoked => {
                let id = p.grant(to, addr, len, access);
                p.revoke(id);
                return (id, None);
            }
            GrantArg::Forged(id) => return (id, None),
        };
        (id, Some(id))
    }

    fn revoke(&self, g: Option<GrantId>) {
        if let Some(id) = g {
            self.proc().revoke(id);
        }
    }

    /// Writes `bytes` at `at` (as much as fits in the scratch buffer).
    fn stage(&self, at: u64, bytes: &[u8]) -> u64 {
        let room = (SCRATCH + SCRATCH_LEN).saturating_sub(at) as usize;
        let _ = self.proc().mem_write(at, &bytes[..bytes.len().min(room)]);
        at
    }

    /// A call naming `path` under a grant made as `grant` says, with the length field `len` says,
    /// and `flags` and `mode`.
    fn path_call(
        &self,
        op: &Op,
        m_type: i32,
        path: PathArg,
        (grant, len): (GrantArg, PathLen),
        (flags, mode): (u32, u32),
    ) -> Option<Message> {
        let bytes = path.bytes();
        let at = self.stage(PATH_AT, &bytes);
        let (id, lent) = self.grant(grant, VFS, at, bytes.len() as u64, Access::Read);
        let r = self.call(
            op,
            VFS,
            Message::with(m_type, &PathRequest { grant: id, len: len.value(bytes.len()), flags, mode }),
        );
        self.revoke(lent);
        r
    }

    fn io_call(
        &self,
        op: &Op,
        m_type: i32,
        fd: FdArg,
        addr: AddrArg,
        len: LenArg,
        grant: GrantArg,
    ) -> Option<(u64, Message)> {
        let (addr, len) = (self.addr(addr), len.value());
        let access = if m_type == VFS_WRITE { Access::Read } else { Access::Write };
        let (id, lent) = self.grant(grant, VFS, addr, len, access);
        let fd = self.fd_avoiding(fd, &self.known.pipe_ends);
        let r = self.call(op, VFS, Message::with(m_type, &IoRequest { fd, grant: id, len }));
        self.revoke(lent);
        r.map(|m| (len, m))
    }

    fn got_fd(&mut self, fd: i32) {
        self.known.closed.retain(|&c| c != fd);
        // dup2 may have put a file where a pipe end was.
        self.known.pipe_ends.retain(|&p| p != fd);
        if !self.known.fds.contains(&fd) {
            self.known.fds.push(fd);
        }
    }

    fn step(&mut self, op: &Op) {
        let open_max = os::vfs::state::OPEN_MAX as i32;
        match *op {
            Op::Getpid => {
                if let Some(m) = self.call(op, PM, Message::new(PM_GETPID)) {
                    let r = m.get::<PidReply>();
                    self.sane(op, r.pid == self.pid, || format!("getpid says {}, the process is {}", r.pid, self.pid));
                }
            }
            Op::Getuid => {
                self.call(op, PM, Message::new(PM_GETUID));
            }
            Op::Open { path, flags, mode, grant, len } => {
                if let Some(m) = self.path_call(op, VFS_OPEN, path, (grant, len), (flags, mode)) {
                    let fd = m.m_type;
                    self.sane(op, fd < open_max, || format!("descriptor {fd} is past OPEN_MAX"));
                    self.got_fd(fd);
                }
            }
            Op::Path { call, path, mode, grant, len } => {
                let m_type = match call {
                    PathCall::Unlink => VFS_UNLINK,
                    PathCall::Mkdir => VFS_MKDIR,
                    PathCall::Rmdir => VFS_RMDIR,
                    PathCall::Stat => VFS_STAT,
                    PathCall::Chdir => VFS_CHDIR,
                };
                self.path_call(op, m_type, path, (grant, len), (0, mode));
            }
            Op::TwoPath { rename, old, new, grant } => {
                let (old, new) = (old.bytes(), new.bytes());
                let both = [old.as_slice(), new.as_slice()].concat();
                let at = self.stage(PATH_AT, &both);
                let (id, lent) = self.grant(grant, VFS, at, both.len() as u64, Access::Read);
                let request = TwoPathRequest { grant: id, old_len: old.len() as u32, new_len: new.len() as u32 };
                self.call(op, VFS, Message::with(if rename { VFS_RENAME } else { VFS_LINK }, &request));
                self.revoke(lent);
            }
            Op::Close { fd } => {
                let fd = self.fd(fd);
                if self.call(op, VFS, Message::with(VFS_CLOSE, &FdRequest { fd })).is_some() {
                    self.known.fds.retain(|&f| f != fd);
                    self.known.pipe_ends.retain(|&f| f != fd);
                    self.known.closed.push(fd);
                }
            }
            Op::Fstat { fd } => {
                self.call(op, VFS, Message::with(VFS_FSTAT, &FdRequest { fd: self.fd(fd) }));
            }
            Op::Dup { fd } => {
                if let Some(m) = self.call(op, VFS, Message::with(VFS_DUP, &FdRequest { fd: self.fd(fd) })) {
                    self.sane(op, m.m_type < open_max, || format!("descriptor {} is past OPEN_MAX", m.m_type));
                    self.got_fd(m.m_type);
                }
            }
            Op::Dup2 { fd, fd2 } => {
                let (fd, fd2) = (self.fd(fd), self.fd(fd2));
                if let Some(m) = self.call(op, VFS, Message::with(VFS_DUP2, &Dup2Request { fd, fd2 })) {
                    self.sane(op, m.m_type == fd2, || format!("dup2 to {fd2} answered {}", m.m_type));
                    self.got_fd(m.m_type);
                }
            }
            Op::Read { fd, addr, len, grant }
            | Op::Getdents { fd, addr, len, grant }
            | Op::Write { fd, addr, len, grant } => {
                let m_type = match op {
                    Op::Read { .. } => VFS_READ,
                    Op::Write { .. } => VFS_WRITE,
                    _ => VFS_GETDENTS,
                };
                if let Some((len, m)) = self.io_call(op, m_type, fd, addr, len, grant) {
                    self.sane(op, m.m_type as u64 <= len, || format!("{} bytes moved of {len} asked", m.m_type));
                }
            }
            Op::Lseek { fd, offset, whence } => {
                let request = SeekRequest { fd: self.fd(fd), offset, whence };
                if let Some(m) = self.call(op, VFS, Message::with(VFS_LSEEK, &request)) {
                    let at = m.get::<SeekReply>().offset;
                    self.sane(op, at >= 0, || format!("lseek answered the offset {at}"));
                }
            }
            Op::Pipe => {
                if let Some(m) = self.call(op, VFS, Message::new(VFS_PIPE)) {
                    let r = m.get::<PipeReply>();
                    self.sane(op, r.read_fd != r.write_fd && r.read_fd.max(r.write_fd) < open_max, || format!("{r:?}"));
                    self.got_fd(r.read_fd);
                    self.got_fd(r.write_fd);
                    self.known.pipe_ends.extend([r.read_fd, r.write_fd]);
                }
            }
            Op::Brk { addr } => {
                let addr = self.addr(addr);
                if let Some(m) = self.call(op, VM, Message::with(VM_BRK, &BrkRequest { addr })) {
                    let brk = m.get::<BrkReply>().addr;
                    let heap = self.known.heap_start;
                    self.sane(op, (heap..=HEAP_LIMIT).contains(&brk), || {
                        format!("the break {brk:#x} is outside the heap")
                    });
                }
            }
            Op::Mmap { len, writable } => {
                let len = len.value();
                if let Some(m) = self.call(op, VM, Message::with(VM_MMAP, &MmapRequest { len, writable })) {
                    let at = m.get::<MmapReply>().addr;
                    self.sane(op, at.is_multiple_of(PAGE) && (MMAP_BASE..MMAP_LIMIT).contains(&at), || {
                        format!("mapped at {at:#x}")
                    });
                    self.known.mapped.push(at);
                }
            }
            Op::MmapFile { fd, offset, len, prot, flags } => {
                let request = MmapFileRequest { fd: self.fd(fd), offset, len: len.value(), prot, flags };
                if let Some(m) = self.call(op, VFS, Message::with(VFS_MMAP, &request)) {
                    let at = m.get::<MmapReply>().addr;
                    self.sane(op, at.is_multiple_of(PAGE) && (MMAP_BASE..MMAP_LIMIT).contains(&at), || {
                        format!("a file mapped at {at:#x}")
                    });
                    self.known.mapped.push(at);
                }
            }
            Op::Munmap { addr, len } => {
                let addr = self.addr(addr);
                self.call(op, VM, Message::with(VM_MUNMAP, &MunmapRequest { addr, len: len.value() }));
            }
            Op::VmInfo => {
                if let Some(m) = self.call(op, VM, Message::new(VM_INFO)) {
                    let r = m.get::<VmInfoReply>();
                    self.sane(op, r.free <= r.total, || format!("{r:?}"));
                }
            }
            Op::Fork { .. } => unreachable!("forks are run by `run`"),
            Op::RawFork => {
                if let Some(m) = self.call(op, PM, Message::new(PM_FORK)) {
                    // A body left by an earlier failed fork may run: the child then runs that.
                    let pid = m.get::<ForkReply>().pid;
                    self.sane(op, pid > 1, || format!("fork answered the pid {pid}"));
                    self.known.children.push(pid);
                }
            }
            Op::Exit { status } => {
                self.call(op, PM, Message::with(PM_EXIT, &ExitRequest { status }));
                self.shared.gone(self.pid);
                self.proc().exit();
            }
            Op::Wait { pid, options } => {
                let pid = self.pid(pid);
                if let Some(m) = self.call(op, PM, Message::with(PM_WAIT4, &WaitRequest { pid, options })) {
                    let r = m.get::<WaitReply>();
                    if r.pid != 0 {
                        self.sane(op, self.known.children.contains(&r.pid) || r.pid > 1, || format!("{r:?}"));
                        self.known.children.retain(|&c| c != r.pid);
                        self.shared.gone(r.pid);
                    }
                }
            }
            Op::Kill { pid, signal } => {
                let pid = self.pid(pid);
                self.call(op, PM, Message::with(PM_KILL, &KillRequest { pid, signal }));
            }
            Op::Setuid { id } | Op::Setgid { id } => {
                let m_type = if matches!(op, Op::Setuid { .. }) { PM_SETUID } else { PM_SETGID };
                self.call(op, PM, Message::with(m_type, &SetIdRequest { id }));
            }
            Op::Exec { path, argv, grant } => self.exec(op, path, argv, grant),
            Op::Reboot => {
                if self.call(op, PM, Message::new(PM_REBOOT)).is_some() {
                    self.sane(op, false, || "a user that is not root rebooted the system".into());
                }
            }
            Op::Raw { to, m_type, prim, payload, forge } => self.raw(op, to, m_type, prim, payload, forge),
            Op::Notify { to } => {
                let r = self.proc().notify(self.dest(to)).map(|()| Message::new(0));
                self.judge(op, Expect::AnyDefined, r);
            }
            Op::Receive { from } => {
                let r = self.proc().receive(self.dest(from));
                // Whatever arrives is some answer the process gave up on: any status is fine.
                self.shared.rec.count(if r.is_ok() { "fuzz.receive.got" } else { "fuzz.receive.failed" }, 1);
            }
            Op::Kernel { call, target } => self.kernel(op, call, target),
            Op::Yield => self.proc().yield_now(),
        }
    }

    fn exec(&mut self, op: &Op, path: PathArg, argv: ArgvArg, grant: GrantArg) {
        let p = self.proc();
        let bytes = path.bytes();
        let bytes = &bytes[..bytes.len().min(ARGV_AT as usize)];
        let path_at = self.stage(SCRATCH, bytes);
        let args: Vec<u8> = match argv {
            ArgvArg::Empty => Vec::new(),
            ArgvArg::TooLong => vec![b'a'; os::proto::pm::ARG_MAX + 1],
            _ => b"fuzz\0-n\0x\0".to_vec(),
        };
        let argv_at = self.stage(SCRATCH + ARGV_AT, &args);
        let (path_grant, path_lent) = self.grant(grant, VFS, path_at, bytes.len() as u64, Access::Read);
        let argv_grant = p.grant(PM, argv_at, args.len() as u64, Access::Read);
        let request = ExecRequest {
            path_grant,
            path_len: bytes.len() as u32,
            argv_grant: if argv == ArgvArg::Forged { argv_grant + 1000 } else { argv_grant },
            argv_len: if argv == ArgvArg::Lie { u32::MAX } else { args.len() as u32 },
        };
        // On success this never returns: the process runs the new program from now on.
        if self.call(op, PM, Message::with(PM_EXEC, &request)).is_some() {
            self.sane(op, false, || "exec returned success to the old program".into());
        }
        self.revoke(path_lent);
        p.revoke(argv_grant);
    }

    fn raw(&mut self, op: &Op, to: DestArg, m_type: i32, prim: Prim, payload: u64, forge: Forge) {
        let mut m = Message::new(m_type);
        let mut g = SplitMix(payload);
        for b in m.payload.iter_mut() {
            *b = g.word() as u8;
        }
        let ep = match forge {
            Forge::Garbage => {
                if g.below(2) == 0 {
                    m.payload[..4].copy_from_slice(&(g.below(6) as u32).to_le_bytes());
                }
                if g.below(2) == 0 {
                    m.payload[4..8].copy_from_slice(&(g.below(3) as u32).to_le_bytes());
                    m.payload[8..16].copy_from_slice(&g.below(64).to_le_bytes());
                }
                None
            }
            Forge::Own => Some(self.proc().endpoint()),
            Forge::Init => Some(INIT),
            Forge::Other(k) => Some(self.shared.other_ep(k).unwrap_or(INIT)),
            Forge::Server => Some(g.pick(&[PM, VM, VFS, RS])),
            Forge::NoneEp => Some(Endpoint::NONE),
        };
        if let Some(ep) = ep {
            m.payload[..4].copy_from_slice(&ep.raw().to_le_bytes());
        }
        let dst = self.dest(to);
        let p = self.proc();
        let r = match prim {
            Prim::SendRec => p.sendrec(dst, m),
            Prim::Send => p.send(dst, m).map(|()| Message::new(0)),
            Prim::SendNb => p.sendnb(dst, m).map(|()| Message::new(0)),
            Prim::AsynSend => p.asynsend(dst, m).map(|()| Message::new(0)),
        };
        self.judge(op, Expect::AnyDefined, r);
    }

    fn kernel(&mut self, op: &Op, call: u8, target: DestArg) {
        let (_, r) = kernel_call(self.proc(), usize::from(call), self.dest(target));
        match r {
            Err(KernelError::Denied) => self.shared.rec.count("fuzz.kernel.denied", 1),
            other => self.shared.fail(
                "fuzz.kernel-call",
                format!("pid {}: {op:?} by a user process was not denied: {other:?}", self.pid),
            ),
        }
    }

    /// fork, the way the syscall library does it, with the raw answer judged: the child runs
    /// `ops` and exits.
    fn fork(&mut self, ops: Vec<Op>) {
        let shared = self.shared.clone();
        let known = Known { children: Vec::new(), ppid: self.pid, ..self.known.clone() };
        self.proc().set_fork_body(move |p: &Proc| {
            let sys = Sys::new(p);
            match p.receive(PM) {
                Ok(m) if m.m_type >= 0 => {}
                _ => p.exit(),
            }
            worker_main(&sys, shared, known, &ops);
        });
        let op = Op::Fork { child_ops: 0 };
        if let Some(m) = self.call(&op, PM, Message::new(PM_FORK)) {
            let pid = m.get::<ForkReply>().pid;
            self.sane(&op, pid > 1, || format!("fork answered the pid {pid}"));
            self.known.children.push(pid);
        }
    }
}

/// A worker's life: register, run the program, leave the board, exit.
fn worker_main(sys: &Sys<'_>, shared: Shared, known: Known, ops: &[Op]) -> ! {
    let pid = match sys.getpid() {
        Ok(pid) => pid,
        Err(e) => {
            shared.fail("fuzz.start", format!("a new process's getpid failed: {e}"));
            sys.exit(1)
        }
    };
    let ep = sys.proc().endpoint();
    shared.board(|b| {
        b.live.insert(pid, Live { ep, op: "start", may_block: false, in_call: false, detail: String::new() });
        b.progress += 1;
    });
    let mut w = Worker { sys, shared: shared.clone(), pid, known };
    w.run(ops);
    shared.gone(pid);
    sys.exit(0)
}

// ---- init: fixture, workers, supervision ---------------------------------------------------------

/// How a fuzz run is supervised.
#[derive(Clone, Debug)]
pub struct FuzzOptions {
    /// init's yields without progress before it ends the blocked workers.
    pub stall_yields: u32,
    /// And at least this much time without progress (wall time under `threads`; 0 under `sim`,
    /// whose clock stands still while only init yields).
    pub stall_micros: Micros,
    /// Rounds of SIGKILL before the survivors count as unkillable.
    pub kill_rounds: u32,
}

impl Default for FuzzOptions {
    fn default() -> Self {
        FuzzOptions { stall_yields: 400, stall_micros: 0, kill_rounds: 3 }
    }
}

/// The uids the workers drop to, in turn: two, so that some kills and files are a stranger's.
pub const WORKER_UIDS: [u32; 2] = [1000, 1001];

fn make_fixture(sys: &Sys<'_>) -> Result<(), Errno> {
    sys.mkdir(FIXTURE_DIR, 0o777)?;
    for d in ["/tmp/fz/d0", "/tmp/fz/d1", "/tmp/fz/d0/d2"] {
        sys.mkdir(d, 0o777)?;
    }
    for (f, mode) in [("/tmp/fz/f0", 0o666), ("/tmp/fz/f1", 0o666), ("/tmp/fz/f2", 0o644), ("/tmp/fz/root-only", 0o600)]
    {
        let fd = sys.open(f, O_CREAT | O_WRONLY | O_TRUNC, mode)?;
        sys.write(fd, &b"fuzz fixture\n".repeat(200))?;
        sys.close(fd)?;
    }
    let fd = sys.open("/tmp/fz/prog", O_CREAT | O_WRONLY | O_TRUNC, 0o755)?;
    sys.write(fd, &[os::proto::PROGRAM_MAGIC, b"true\n"].concat())?;
    sys.close(fd)
}

/// init's part: make the fixture, start one worker per program, reap them, end the ones that
/// block for ever, and check that every frame came back and the servers still serve.
fn init_main(sys: &Sys<'_>, rec: &Recorder, plan: &Plan, options: &FuzzOptions) {
    let shared = Shared { board: Arc::default(), rec: rec.clone() };
    if let Err(e) = make_fixture(sys) {
        rec.check("fuzz.fixture", false, || format!("making {FIXTURE_DIR}: {e}"));
        return;
    }
    // Descriptors every worker inherits, so that open files are shared from the start: a file to
    // read, a log to append to (twice), and both ends of a pipe.
    let inherited = (|| -> Result<Vec<i32>, Errno> {
        let motd = sys.open("/etc/motd", O_RDONLY, 0)?;
        let log = sys.open("/tmp/fz/log", O_CREAT | O_WRONLY | O_APPEND, 0o666)?;
        let log2 = sys.dup(log)?;
        let (r, w) = sys.pipe()?;
        Ok(vec![motd, log, log2, r, w])
    })();
    let inherited = match inherited {
        Ok(fds) => fds,
        Err(e) => {
            rec.check("fuzz.fixture", false, || format!("opening the inherited descriptors: {e}"));
            return;
        }
    };
    let frames_before = sys.vm_info().map(|i| i.free);
    for (k, ops) in plan.workers.iter().enumerate() {
        let (shared, ops, inherited) = (shared.clone(), ops.clone(), inherited.clone());
        let uid = WORKER_UIDS[k % WORKER_UIDS.len()];
        let started = sys.fork(move |c| {
            let known = Known {
                pipe_ends: inherited[3..].to_vec(),
                fds: inherited,
                heap_start: c.brk(0).unwrap_or(0),
                ppid: os::proto::INIT_PID,
                ..Known::default()
            };
            if let Err(e) = c.setgid(uid).and_then(|()| c.setuid(uid)) {
                shared.fail("fuzz.start", format!("a worker could not drop to uid {uid}: {e}"));
                return 1;
            }
            worker_main(c, shared, known, &ops)
        });
        match started {
            Ok(_) => {}
            // Earlier workers may have taken the memory or the process slots.
            Err(Errno::ENOMEM | Errno::EAGAIN) => rec.count("fuzz.start.refused", 1),
            Err(e) => {
                rec.check("fuzz.start", false, || format!("forking worker {k}: {e}"));
            }
        }
    }
    // The workers have their copies now: init's go, so the last worker to close a file frees it.
    for fd in inherited {
        rec.expect_eq("fuzz.init-closes", sys.close(fd), Ok(()));
    }
    supervise(sys, &shared, options);
    let frames_after = sys.vm_info().map(|i| i.free);
    rec.expect_eq("fuzz.frames-back", frames_after, frames_before);
    rec.expect_eq("fuzz.pm-serves", sys.getpid(), Ok(os::proto::INIT_PID));
    let motd = sys.open("/etc/motd", O_RDONLY, 0).and_then(|fd| {
        let mut buf = vec![0u8; 4096];
        let n = sys.read(fd, &mut buf);
        sys.close(fd)?;
        Ok(buf[..n?].to_vec())
    });
    rec.expect_eq("fuzz.vfs-serves", motd, Ok(os::vfs::MOTD.to_vec()));
}

/// Reaps every descendant; when nothing moves for a while, kills what is left (reporting any that
/// was blocked in a call that should have been answered).
fn supervise(sys: &Sys<'_>, shared: &Shared, options: &FuzzOptions) {
    let p = sys.proc();
    let (mut idle, mut last, mut since, mut rounds) = (0u32, u64::MAX, p.now(), 0u32);
    loop {
        match sys.waitpid(-1, WNOHANG) {
            Ok((0, _)) => {}
            Ok((pid, _)) => {
                shared.gone(pid);
                continue;
            }
            Err(Errno::ECHILD) => return,
            Err(e) => {
                shared.fail("fuzz.init-wait", format!("init's wait4 failed: {e}"));
                return;
            }
        }
        let progress = shared.board(|b| b.progress);
        if progress != last {
            (idle, last, since) = (0, progress, p.now());
        } else {
            idle += 1;
        }
        if idle >= options.stall_yields && p.now().saturating_sub(since) >= options.stall_micros {
            rounds += 1;
            let live = shared.board(|b| b.live.clone());
            if rounds > options.kill_rounds {
                let left: Vec<String> = live.iter().map(|(pid, l)| format!("pid {pid} in {}", l.detail)).collect();
                shared.fail("fuzz.unkillable", format!("alive after {} rounds of SIGKILL: {left:?}", rounds - 1));
                return;
            }
            for (pid, l) in live {
                let killed = sys.kill(pid, sig::SIGKILL);
                if killed.is_ok() && rounds == 1 {
                    shared.rec.count("fuzz.killed-blocked", 1);
                    shared.rec.count(&format!("fuzz.blocked-in.{}", if l.in_call { l.op } else { "nothing" }), 1);
                    if l.in_call && !l.may_block {
                        shared.fail("fuzz.no-answer", format!("pid {pid} never got an answer to {}", l.detail));
                    }
                }
            }
            (idle, since) = (0, p.now());
        }
        p.yield_now();
    }
}

/// The workload of a fuzz run: what init runs.
pub fn workload(plan: Plan, options: FuzzOptions) -> impl FnOnce(&Sys<'_>, &Recorder) + Send + 'static {
    move |sys, rec| init_main(sys, rec, &plan, &options)
}

//! The servers' protocol: well-known endpoints, message types and payload layouts, per server.
//!
//! This is samsara's `<minix/com.h>`: every request type lives in its server's range (see
//! `kernel_sim::msgtype`), every layout is declared with `kernel_sim::payload!` and so is checked
//! at compile time to fit in a 64-byte message. A reply's `m_type` is its status (`-errno` on
//! failure); its payload layout is named `...Reply` next to the request's.

pub mod bdev;
pub mod cdev;
pub mod ds;
pub mod fs;
pub mod pm;
pub mod sched;
pub mod sef;
pub mod vfs;
pub mod vm;

use kernel_sim::Endpoint;

/// The reincarnation server (slot 1 in `etc/system.conf`).
pub const RS: Endpoint = Endpoint::new(1, 0);
/// The process manager.
pub const PM: Endpoint = Endpoint::new(2, 0);
/// The virtual memory manager.
pub const VM: Endpoint = Endpoint::new(3, 0);
/// The virtual file system.
pub const VFS: Endpoint = Endpoint::new(4, 0);
/// The data store (stateful: its endpoint never changes).
pub const DS: Endpoint = Endpoint::new(5, 0);
/// The scheduler (stateful: its endpoint never changes).
pub const SCHED: Endpoint = Endpoint::new(6, 0);
/// The root file system's server at boot (slot 7): vfs mounts it at boot and from then on finds it
/// in its mount table, a run-time value (a restarted file system may come back elsewhere).
pub const MFS_BOOT: Endpoint = Endpoint::new(7, 0);

/// A process id.
pub type Pid = i32;

/// init, the first user process: the first user slot, first generation.
pub const INIT: Endpoint = Endpoint::new(kernel_sim::manifest::FIRST_USER_SLOT, 0);

/// The pid of init, the first user process.
pub const INIT_PID: Pid = 1;

/// The longest path a call accepts, in bytes (MINIX's PATH_MAX).
pub const PATH_MAX: usize = 255;

/// The first bytes of every program file; the program's name follows, up to a newline (exec
/// loads the boot image's program of that name).
pub const PROGRAM_MAGIC: &[u8] = b"#!samsara ";

/// The longest program name stored in a program file, in bytes.
pub const PROGRAM_NAME_MAX: usize = 32;

/// A process slot number, the key of every per-process table (MINIX indexes mproc, fproc and
/// vmproc by slot too).
pub type ProcKey = u32;

/// The per-process table key of an endpoint.
pub fn key_of(ep: Endpoint) -> ProcKey {
    ep.slot() as ProcKey
}

/// The name of a message type, for traces, tables and the analysis's outputs.
pub fn call_name(m_type: kernel_sim::MsgType) -> &'static str {
    pm::name(m_type)
        .or_else(|| vm::name(m_type))
        .or_else(|| vfs::name(m_type))
        .or_else(|| ds::name(m_type))
        .or_else(|| sched::name(m_type))
        .or_else(|| fs::name(m_type))
        .or_else(|| sef::name(m_type))
        .or_else(|| bdev::name(m_type))
        .or_else(|| cdev::name(m_type))
        .unwrap_or("?")
}

//! vfs, the virtual file system: the per-process side of files (MINIX's vfs). Descriptor tables
//! and working directories, the global open-file table shared by descriptors after fork and dup,
//! the vnode table (the files in use, each a reference on its file system's inode), the mount
//! table, pipes (vfs's own), exec's program loading, and pm's process notices. Files, directories
//! and blocks belong to the file-system server (mfs), which vfs finds through its mount table and
//! speaks to with REQ_* requests (`proto::fs`).
//!
//! Files: `state.rs` (all mutable state and its allocators), `vnode.rs` (lookups, vnodes and
//! their references on the file system), `table.rs` (message type -> handler), `path.rs` (reading
//! paths), `open.rs` (open, close), `read.rs` (read, write, lseek, getdents), `pipe.rs` (pipe, and
//! the suspended readers and writers), `link.rs` (link, unlink, rename, mkdir, rmdir, symlink),
//! `stat.rs` (stat, lstat, fstat, readlink, chdir), `attr.rs` (chmod, fchmod, chown, fchown,
//! truncate, ftruncate, access, statvfs, fstatvfs), `dup.rs` (dup, dup2), `exec.rs` (pm's exec
//! request), `procs.rs` (pm's notices), `fcntl.rs` (fcntl, umask, pipe2, fchdir, getcwd,
//! close-on-exec), `poll.rs` (poll, its waits and their deadlines on vfs's alarm), `flock.rs`
//! (whole-file advisory locks and their waits), `mmap.rs` (mappings of a file's bytes, made by vm
//! and filled by the file system; shared ones kept in step with their files, which they hold),
//! `device.rs` (special files: the dmap and the character drivers' CDEV_* requests).
//!
//! Duties: every bad argument from a user process (a bad descriptor, a buffer outside its memory,
//! an unknown call, a missing file) is an errno reply, never a panic; panics are reserved for
//! broken internal invariants. File data crosses address spaces only by safecopy on grants (the
//! caller's, passed on to the file system by an indirect grant). A failed call changes nothing
//! (checks come before the first write), except that a write cut short by a full disk keeps what
//! it wrote.

pub mod attr;
pub mod check;
pub mod device;
pub mod dup;
pub mod exec;
pub mod fcntl;
pub mod flock;
pub mod link;
pub mod mmap;
pub mod open;
pub mod path;
pub mod pipe;
pub mod poll;
pub mod procs;
pub mod read;
pub mod stat;
pub mod state;
pub mod table;
pub mod vnode;

use crate::errno::Errno;
use crate::proto::fs::{InodeRequest, NodeReply, REQ_READSUPER, REQ_STAT};
use crate::proto::vfs::StatReply;
use crate::proto::{INIT, MFS_BOOT, PM, VM, call_name, key_of};
use crate::task::{Call, Ctx, Handled, Param, Sent, Server};
use kernel_sim::{Endpoint, KernelError, Message, Proc};
use state::{DESCRIPTORS_MAX, FilpId, Fproc, Mount, NR_FILPS, NR_VNODES, OPEN_MAX, VfsState, Vnode, VnodeKind};

/// A handler's context in vfs.
pub type VfsCtx<'a> = Ctx<'a, VfsState>;

pub use crate::mfs::MOTD;

/// The sizes vfs's manifest entry may set: its vnode table's slots (files in use and pipes) and
/// its open-file table's entries.
pub const PARAMS: &[Param] = &[
    Param { name: "vnodes", what: "slots of the vnode table", default: NR_VNODES as u64, min: 16, max: 65_536 },
    Param { name: "files", what: "entries of the open-file table", default: NR_FILPS as u64, min: 16, max: 65_536 },
    Param {
        name: "descriptors",
        what: "descriptors per process",
        default: OPEN_MAX as u64,
        min: 8,
        max: DESCRIPTORS_MAX as u64,
    },
];

/// Descriptors each process may have (MINIX's OPEN_MAX; `param descriptors N;`), read from the
/// manifest as pm reads its table's size: nothing of vfs's state holds it.
pub fn descriptors(ctx: &VfsCtx<'_>) -> usize {
    PARAMS[2].of(ctx.proc) as usize
}

/// The virtual file system.
pub struct Vfs;

impl Server for Vfs {
    const NAME: &'static str = "vfs";
    type State = VfsState;

    fn calls() -> &'static [Call<VfsState>] {
        table::CALLS
    }

    fn check_invariants(state: &mut VfsState) -> Vec<String> {
        state.check_invariants()
    }

    fn check_window(state: &mut VfsState) -> Vec<String> {
        check::check_window(state).into_iter().map(|v| v.to_string()).collect()
    }

    const PARAMS: &'static [Param] = PARAMS;

    fn boot(proc: &Proc) -> VfsState {
        let [vnodes, files, _] = PARAMS else { unreachable!("vfs takes three sizes") };
        let mut state = VfsState::sized(vnodes.of(proc) as usize, files.of(proc) as usize);
        let root = mount_root(proc, &mut state);
        state.dup_vnode(root);
        state.fprocs.insert_global(key_of(INIT), Fproc::new(INIT, root));
        state.suspended.insert_global(key_of(INIT), None);
        state
    }

    fn fresh(proc: &Proc) -> VfsState {
        Vfs::boot(proc)
    }

    fn restarted(proc: &Proc, state: &mut VfsState) {
        poll::rearm_after_restart(proc, state);
    }

    fn suspended(state: &mut VfsState) -> Vec<Endpoint> {
        state.suspended_callers()
    }

    fn awaiting_lost(_state: &mut VfsState, lost: &[&Sent]) -> Vec<String> {
        // pm waits for the answer to each of its notices, in a phase only the answer ends.
        use crate::proto::pm::*;
        const ANSWERS_TO_PM: [kernel_sim::MsgType; 6] = [
            VFS_PM_FORK_REPLY,
            VFS_PM_EXIT_REPLY,
            VFS_PM_EXEC_REPLY,
            VFS_PM_SETID_REPLY,
            VFS_PM_REBOOT_REPLY,
            VFS_PM_UNPAUSE_REPLY,
        ];
        lost.iter()
            .filter(|s| s.to == PM && ANSWERS_TO_PM.contains(&s.message.m_type))
            .map(|s| format!("answer-lost: pm waits for {}, which never left vfs", call_name(s.message.m_type)))
            .collect()
    }
}

/// Mounts the root file system (REQ_READSUPER to the server at MFS_BOOT, which rs starts beside
/// vfs: until it runs, vfs waits) and records it in the mount table; returns the root's vnode,
/// which the mount holds a reference on. Before the task loop: no request is being handled.
fn mount_root(proc: &Proc, state: &mut VfsState) -> state::VnodeId {
    let fs = MFS_BOOT;
    let answer = loop {
        match proc.sendrec(fs, Message::new(REQ_READSUPER)) {
            Err(KernelError::DeadEndpoint | KernelError::BadEndpoint) => proc.yield_now(),
            answer => break answer,
        }
    };
    let root: NodeReply = match answer {
        Ok(m) if m.m_type == 0 => m.get(),
        Ok(m) => panic!("vfs cannot mount its root file system: it answered status {}", m.m_type),
        Err(e) => panic!("vfs cannot mount its root file system: {e}"),
    };
    // The root the file system named must be one it knows: a garbled answer would leave the
    // mount on an inode that does not exist, and every path walk failing from it.
    let named = InodeRequest { ino: root.ino, count: 0, mode: 0, uid: 0, gid: 0, size: 0 };
    match proc.sendrec(fs, Message::with(REQ_STAT, &named)) {
        Ok(m) if m.m_type == 0 && u32::from(m.get::<StatReply>().kind) == root.kind => {}
        answer => panic!(
            "vfs cannot mount its root file system: its root inode {} does not stat as named ({answer:?})",
            root.ino
        ),
    }
    let vnode = Vnode {
        kind: VnodeKind::from_wire(root.kind, root.rdev)
            .filter(|k| *k == VnodeKind::Directory)
            .expect("the root is a directory"),
        inode: Some((fs, root.ino)),
        refs: 1,
        fs_refs: 1,
        mode: root.mode,
        uid: root.uid,
        gid: root.gid,
        size: root.size,
        mapped: false,
    };
    let id = state.alloc_vnode(vnode).expect("an empty vnode table has room for the root");
    state.mount.set(Some(Mount { fs, root: id }));
    id
}

/// A notification: from the kernel, vfs's alarm (poll's deadlines, `poll.rs`); from vm, word
/// that a shared mapping lost pages (`mmap.rs`). Others carry nothing for vfs.
pub fn do_notify(ctx: &mut VfsCtx<'_>) -> Handled {
    match ctx.who() {
        Endpoint::KERNEL => poll::alarm(ctx),
        VM => mmap::release_unmapped(ctx),
        _ => {}
    }
    Handled::NoReply
}

/// The requester's process entry; ESRCH for a process vfs does not know.
///
/// A process with a call suspended (sent by asynsend or send, so it ran on) gets EBUSY for any
/// other call: closing or replacing the descriptor its suspended call waits on would leave the
/// suspension pointing at a freed open file.
pub fn caller(ctx: &mut VfsCtx<'_>) -> Result<Fproc, Errno> {
    with_caller(ctx, Fproc::clone)
}

/// The open file the requester's descriptor `fd` points at, checked as [`caller`] checks the
/// requester but without copying its entry (read and write are the hot path).
pub fn caller_filp(ctx: &mut VfsCtx<'_>, fd: i32) -> Result<FilpId, Errno> {
    with_caller(ctx, |fp| fp.filp_of(fd))?
}

fn with_caller<R>(ctx: &mut VfsCtx<'_>, f: impl FnOnce(&Fproc) -> R) -> Result<R, Errno> {
    let (who, ep) = (ctx.requester(), ctx.who());
    let r = f(ctx.state.fprocs.get_own(&who).filter(|f| f.ep == ep).ok_or(Errno::ESRCH)?);
    if ctx.state.suspended.get_own(&who).is_some_and(Option::is_some) {
        return Err(Errno::EBUSY);
    }
    Ok(r)
}

/// Points the requester's descriptor `fd` at `filp` (or closes it, without dropping a reference).
/// The descriptor's FD_CLOEXEC flag is cleared: a new descriptor starts without it.
pub fn set_fd(ctx: &mut VfsCtx<'_>, fd: usize, filp: Option<FilpId>) {
    let who = ctx.requester();
    let fp = ctx.state.fprocs.get_own_mut(&who).expect("the caller's entry was found by `caller`");
    fp.set(fd, filp);
    fp.cloexec.remove(fd);
}

/// Drops a descriptor's reference to an open file. When the last reference goes, its flock goes
/// (a waiter for that lock may go on), a pipe's other end learns of it (readers see EOF, writers
/// EPIPE) and the vnode loses the open file's reference (the last one goes back to the file
/// system).
pub fn close_filp(ctx: &mut VfsCtx<'_>, id: FilpId) {
    if let Some(vnode) = ctx.state.put_filp(id) {
        flock::release(ctx, id, vnode);
        if ctx.state.live_vnode(vnode).pipe().is_some() {
            pipe::revive(ctx, vnode);
        }
        vnode::put_vnode(ctx, vnode);
    }
}

/// Sets or clears the requester's descriptor `fd`'s FD_CLOEXEC flag (`fd` is open).
pub fn set_cloexec(ctx: &mut VfsCtx<'_>, fd: usize, on: bool) {
    let who = ctx.requester();
    let fp = ctx.state.fprocs.get_own_mut(&who).expect("the caller's entry was found by `caller`");
    assert!(fp.fds[fd].is_some(), "only an open descriptor carries FD_CLOEXEC");
    if on {
        fp.cloexec.insert(fd);
    } else {
        fp.cloexec.remove(fd);
    }
}

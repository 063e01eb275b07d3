//! vfs, the virtual file system: an in-memory file system (inodes, directories, data in blocks),
//! the global open-file table shared by descriptors after fork and dup, per-process descriptor
//! tables and working directories, pipes, exec's program loading, and pm's process notices.
//!
//! Files: `state.rs` (all mutable state and its allocators), `fs.rs` (file data and directory
//! entries), `table.rs` (message type -> handler), `path.rs` (paths and permissions), `open.rs`
//! (open, close), `read.rs` (read, write, lseek, getdents), `pipe.rs` (pipe, and the suspended
//! readers and writers), `link.rs` (link, unlink, rename, mkdir, rmdir), `stat.rs` (stat, fstat,
//! chdir), `dup.rs` (dup, dup2), `exec.rs` (pm's exec request), `procs.rs` (pm's notices),
//! `fcntl.rs` (fcntl, umask, pipe2, fchdir, getcwd, close-on-exec), `poll.rs` (poll, its waits and
//! their deadlines on vfs's alarm), `flock.rs` (whole-file advisory locks and their waits).
//!
//! Duties: every bad argument from a user process (a bad descriptor, a buffer outside its memory,
//! an unknown call, a missing file) is an errno reply, never a panic; panics are reserved for
//! broken internal invariants. File data crosses address spaces only by safecopy on the caller's
//! grants. A failed call changes nothing (checks come before the first write), except that a write
//! cut short by a full disk keeps what it wrote.

pub mod dup;
pub mod exec;
pub mod fcntl;
pub mod flock;
pub mod fs;
pub mod link;
pub mod open;
pub mod path;
pub mod pipe;
pub mod poll;
pub mod procs;
pub mod read;
pub mod stat;
pub mod state;
pub mod table;

use crate::errno::Errno;
use crate::proto::{INIT, key_of};
use crate::task::{Call, Ctx, Server};
use kernel_sim::Proc;
use state::{FilpId, Fproc, ROOT_INO, VfsState};

/// A handler's context in vfs.
pub type VfsCtx<'a> = Ctx<'a, VfsState>;

/// The root directory's mode: everyone may list and search it, only root may change it.
pub const ROOT_MODE: u32 = 0o755;
/// `/bin`'s mode, and the mode of each program file in it (everyone may execute).
pub const BIN_MODE: u32 = 0o755;
/// `/tmp`'s mode: everyone may create files; the sticky bit keeps them from removing others'.
pub const TMP_MODE: u32 = 0o1777;
/// `/etc`'s mode.
pub const ETC_MODE: u32 = 0o755;
/// The mode of `/etc/motd`: readable by all, executable by none.
pub const MOTD_MODE: u32 = 0o644;
/// `/etc/motd`'s contents.
pub const MOTD: &[u8] = b"samsara: a multiserver system that recovers from its own crashes\n";

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

    fn boot(_proc: &Proc) -> VfsState {
        let mut state = VfsState::empty();
        build_tree(&mut state);
        state.fprocs.insert_global(key_of(INIT), Fproc::new(INIT));
        state.suspended.insert_global(key_of(INIT), None);
        state
    }

    fn fresh(proc: &Proc) -> VfsState {
        Vfs::boot(proc)
    }
}

/// The file tree at boot: `/`, `/bin` with one program file per registered program, `/tmp`,
/// `/etc/motd`.
fn build_tree(state: &mut VfsState) {
    const BOOT: &str = "the boot tree fits an empty disk";
    state.make_root(ROOT_MODE);
    let bin = state.make_dir(Some(ROOT_INO), b"bin", BIN_MODE, 0, 0).expect(BOOT);
    for &(name, _) in crate::programs::registry() {
        let mut contents = crate::programs::PROGRAM_MAGIC.to_vec();
        contents.extend_from_slice(name.as_bytes());
        contents.push(b'\n');
        state.make_file(bin, name.as_bytes(), BIN_MODE, &contents).expect(BOOT);
    }
    state.make_dir(Some(ROOT_INO), b"tmp", TMP_MODE, 0, 0).expect(BOOT);
    let etc = state.make_dir(Some(ROOT_INO), b"etc", ETC_MODE, 0, 0).expect(BOOT);
    state.make_file(etc, b"motd", MOTD_MODE, MOTD).expect(BOOT);
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
    fp.fds[fd] = filp;
    fp.cloexec &= !(1 << fd);
}

/// Drops a descriptor's reference to an open file. When the last reference goes, the inode loses
/// an open, the open file's flock goes, and a pipe's other end learns of it (readers see EOF,
/// writers EPIPE).
pub fn close_filp(ctx: &mut VfsCtx<'_>, id: FilpId) {
    let Some(ino) = ctx.state.put_filp(id) else { return };
    // The open file is gone, and its flock with it: a waiter for that lock may go on.
    flock::release(ctx, id, ino);
    if ctx.state.inode(ino).is_some_and(|i| i.pipe().is_some()) {
        pipe::revive(ctx, ino);
    }
}

/// Sets or clears the requester's descriptor `fd`'s FD_CLOEXEC flag (`fd` is open).
pub fn set_cloexec(ctx: &mut VfsCtx<'_>, fd: usize, on: bool) {
    let who = ctx.requester();
    let fp = ctx.state.fprocs.get_own_mut(&who).expect("the caller's entry was found by `caller`");
    assert!(fp.fds[fd].is_some(), "only an open descriptor carries FD_CLOEXEC");
    if on {
        fp.cloexec |= 1 << fd;
    } else {
        fp.cloexec &= !(1 << fd);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::path::resolve;

    #[test]
    fn the_boot_tree_has_bin_tmp_etc_and_is_consistent() {
        let mut s = VfsState::empty();
        build_tree(&mut s);
        let fp = Fproc::new(INIT);
        let t = resolve(&mut s, &fp, b"/bin/true").unwrap();
        let mut expected = crate::programs::PROGRAM_MAGIC.to_vec();
        expected.extend_from_slice(b"true\n");
        assert_eq!(s.read_data(t, 0, 100), expected);
        let tmp = resolve(&mut s, &fp, b"/tmp").unwrap();
        assert_eq!(s.live(tmp).mode, TMP_MODE);
        assert_eq!(s.live(ROOT_INO).nlink, 5, "., .., and the .. of bin, tmp, etc");
        s.fprocs.insert_global(key_of(INIT), fp);
        s.suspended.insert_global(key_of(INIT), None);
        assert_eq!(s.check_invariants(), Vec::<String>::new());
    }
}

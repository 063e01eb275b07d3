//! vfs's side of the file-system protocol: walking a path on the mounted file system
//! (REQ_LOOKUP), turning the references mfs gives into vnodes, and giving them back
//! (REQ_PUTNODE) when the last vfs reference goes. Every request goes to the file system's
//! endpoint in the mount table, a run-time value learnt at mount.
//!
//! Reference rule (MINIX's): a vnode counts vfs's own references (`refs`: open files, working
//! directories, the mount) and the file system's (`fs_refs`: one per lookup or create that took
//! one). When `refs` falls to zero, the vnode goes and REQ_PUTNODE gives `fs_refs` back; a vnode
//! that collected more than FS_REFS_CLEAN_AT gives all but one back at once.

use super::VfsCtx;
use super::state::{FS_REFS_CLEAN_AT, Fproc, Ino, Mount, Vnode, VnodeId, VnodeKind};
use crate::errno::Errno;
use crate::proto::fs::{InodeRequest, LookupRequest, NodeReply, REQ_LOOKUP, REQ_PUTNODE};
use kernel_sim::memory::{Access, GrantId};
use kernel_sim::{Endpoint, Message, Proc};

/// A caller's buffer passed on to the file system by an indirect grant (MINIX's
/// cpf_grant_indirect), revoked when dropped. vfs makes one per call and revokes it before the
/// next, so its id is the same every time (handling a request again sends the same messages).
pub struct PassedOn<'p> {
    proc: &'p Proc,
    /// The grant in vfs's table that the file system copies through.
    pub id: GrantId,
}

impl<'p> PassedOn<'p> {
    /// Passes `len` bytes of `owner`'s grant `grant` on to file system `fs` for `access`.
    pub fn new(proc: &'p Proc, fs: Endpoint, owner: Endpoint, grant: GrantId, len: u64, access: Access) -> Self {
        PassedOn { proc, id: proc.grant_indirect(fs, owner, grant, 0, len, access) }
    }
}

impl Drop for PassedOn<'_> {
    fn drop(&mut self) {
        self.proc.revoke(self.id);
    }
}

/// The mounted root file system.
pub fn mount(ctx: &mut VfsCtx<'_>) -> Mount {
    ctx.state.root_mount()
}

/// Passes `len` bytes of the requester's grant `grant` on to the root file system.
pub fn pass_on<'p>(ctx: &mut VfsCtx<'p>, grant: GrantId, len: u64, access: Access) -> PassedOn<'p> {
    let fs = mount(ctx).fs;
    PassedOn::new(ctx.proc, fs, ctx.who(), grant, len, access)
}

/// Walks `[offset, offset+len)` of the path under `path` as `fp` (from its working directory, or
/// the root for an absolute path) with `proto::fs::lookup` flags.
pub fn lookup(
    ctx: &mut VfsCtx<'_>,
    fp: &Fproc,
    path: &PassedOn<'_>,
    offset: u32,
    len: u32,
    flags: u32,
) -> Result<NodeReply, Errno> {
    let m = mount(ctx);
    let root = ctx.state.live_vnode(m.root).ino();
    let cwd = ctx.state.live_vnode(fp.cwd).ino();
    let req = LookupRequest { grant: path.id, offset, len, dir: cwd, root, uid: fp.uid, gid: fp.gid, flags };
    let reply = ctx.sendrec(m.fs, Message::with(REQ_LOOKUP, &req))?;
    Ok(reply.get())
}

/// Makes the reference a lookup (with TAKE) or a create gave on `reply.ino` a vnode (an existing
/// one counts it and keeps its cache: every change to a file's attributes goes through vfs);
/// ENFILE (the reference given back) when the vnode table is full.
pub fn get_vnode(ctx: &mut VfsCtx<'_>, reply: &NodeReply) -> Result<VnodeId, Errno> {
    let fs = mount(ctx).fs;
    let kind = VnodeKind::from_wire(reply.kind, reply.rdev).ok_or(Errno::EIO)?;
    let fresh = Vnode {
        kind,
        inode: Some((fs, reply.ino)),
        refs: 1,
        fs_refs: 1,
        mode: reply.mode,
        uid: reply.uid,
        gid: reply.gid,
        size: reply.size,
        mapped: false,
    };
    if let Some(id) = ctx.state.find_vnode(fs, reply.ino) {
        let v = ctx.state.live_vnode_mut(id);
        v.refs += 1;
        v.fs_refs += 1;
        return Ok(id);
    }
    match ctx.state.alloc_vnode(fresh) {
        Ok(id) => Ok(id),
        Err(e) => {
            putnode(ctx, fs, reply.ino, 1);
            Err(e)
        }
    }
}

/// Gives back `count` references on inode `ino` of file system `fs`. The file system refuses
/// (EINVAL) only when the two sides' counts disagree, and drops it (ERECOVERED, EQUARANTINED)
/// only when it crashed on it: either way the counts are apart, which vfs asserts rather than runs on with (a
/// file system that is gone just takes nothing back).
fn putnode(ctx: &mut VfsCtx<'_>, fs: Endpoint, ino: Ino, count: u32) {
    let req = InodeRequest { ino, count, mode: 0, uid: 0, gid: 0, size: 0 };
    let answer = ctx.sendrec(fs, Message::with(REQ_PUTNODE, &req));
    if let Err(e @ (Errno::EINVAL | Errno::ERECOVERED | Errno::EQUARANTINED)) = answer {
        panic!(
            "{fs} did not take back {} on inode {ino} ({e}): vfs's and its counts disagree",
            recovery::counted(count, "reference")
        );
    }
}

/// Undoes a `get_vnode` whose call then failed: the vnode and the file system's count are as
/// before the lookup (a failed call changes nothing).
pub fn unget_vnode(ctx: &mut VfsCtx<'_>, id: VnodeId) {
    let v = ctx.state.live_vnode_mut(id);
    assert!(v.refs > 0 && v.fs_refs > 0, "vnode {id} holds the reference being undone");
    v.refs -= 1;
    v.fs_refs -= 1;
    let v = v.clone();
    if v.refs == 0 {
        assert_eq!(v.fs_refs, 0, "a vnode made by the failed call holds only its reference");
        ctx.state.vnodes.set(id as usize, None);
    }
    if let Some((fs, ino)) = v.inode {
        putnode(ctx, fs, ino, 1);
    }
}

/// Gives all but one of the file system's references on vnode `id` back (MINIX's
/// vnode_clean_refs).
pub fn clean_fs_refs(ctx: &mut VfsCtx<'_>, id: VnodeId) {
    let v = ctx.state.live_vnode(id).clone();
    if v.fs_refs > 1
        && let Some((fs, ino)) = v.inode
    {
        ctx.state.live_vnode_mut(id).fs_refs = 1;
        putnode(ctx, fs, ino, v.fs_refs - 1);
    }
}

/// Drops one vfs reference on vnode `id`. The last one frees it: a pipe's bytes go with it, a
/// file's references go back to its file system.
pub fn put_vnode(ctx: &mut VfsCtx<'_>, id: VnodeId) {
    let v = ctx.state.live_vnode_mut(id);
    assert!(v.refs > 0, "vnode {id} counts the reference dropped");
    v.refs -= 1;
    let v = v.clone();
    if v.refs > 0 {
        if v.fs_refs > FS_REFS_CLEAN_AT {
            clean_fs_refs(ctx, id);
        }
        return;
    }
    ctx.state.vnodes.set(id as usize, None);
    if ctx.state.pipe_bufs.get(id as usize).is_some_and(|bytes| !bytes.is_empty()) {
        // A pipe, named or not, whose last end closed with bytes in it: they go with it.
        ctx.state.pipe_bufs.set(id as usize, Vec::new());
    }
    if let Some((fs, ino)) = v.inode {
        putnode(ctx, fs, ino, v.fs_refs);
    }
}

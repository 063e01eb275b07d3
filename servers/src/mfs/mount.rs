//! REQ_READSUPER (vfs mounts this file system as the root: mfs opens its disk through the block
//! driver and writes its tree there) and REQ_PUTNODE (vfs gives back references on an inode).
//!
//! A mount voids every reference the previous mount held (a vfs that mounts again started
//! afresh: its vnodes are gone) and gives the new one one reference on the root. A putnode of
//! more references than vfs holds, or of an inode that is not live, is EINVAL: vfs's vnode counts
//! and mfs's `refs` disagree, which the checker reports; mfs changes nothing then.

use super::path::node_reply;
use super::state::{Ino, NR_INODES, ROOT_INO};
use super::{MfsCtx, client};
use crate::errno::Errno;
use crate::proto::fs::InodeRequest;
use crate::task::Handled;
use kernel_sim::Message;

/// REQ_READSUPER: mount as the root; the reply names the root directory.
pub fn do_readsuper(ctx: &mut MfsCtx<'_>) -> Handled {
    if let Err(e) = client(ctx) {
        return Handled::Reply(Err(e));
    }
    // The disk: found through ds, opened, checked to hold the file system, and the tree written
    // to it. A file system that cannot reach its disk does not mount.
    if let Err(e) = super::block::write_back(ctx) {
        return Handled::Reply(Err(e));
    }
    for ino in 1..NR_INODES as Ino {
        if ctx.state.inode(ino).is_some_and(|i| i.refs > 0) {
            ctx.state.live_mut(ino).refs = 0;
            ctx.state.release_if_unused(ino);
        }
    }
    ctx.state.take_ref(ROOT_INO);
    let reply = node_reply(ctx.state, ROOT_INO, ROOT_INO);
    Handled::Reply(Ok(Message::with(0, &reply)))
}

/// REQ_PUTNODE: give back `count` references on an inode; with its last reference and no link
/// left, the inode and its blocks are freed.
pub fn do_putnode(ctx: &mut MfsCtx<'_>) -> Handled {
    Handled::status(putnode(ctx).map(|()| 0))
}

fn putnode(ctx: &mut MfsCtx<'_>) -> Result<(), Errno> {
    client(ctx)?;
    let req: InodeRequest = ctx.m.get();
    let refs = ctx.state.named(req.ino)?.refs;
    if req.count == 0 || req.count > refs {
        return Err(Errno::EINVAL);
    }
    ctx.state.live_mut(req.ino).refs -= req.count;
    ctx.state.release_if_unused(req.ino);
    Ok(())
}

//! REQ_READSUPER (vfs mounts this file system as the root: mfs opens its disk through the block
//! driver and writes its tree there), REQ_PUTNODE (vfs gives back references on an inode),
//! REQ_SYNC (what is dirty written back now) and REQ_UNMOUNT (at reboot: written back, the disk
//! closed).
//!
//! A mount voids every reference the previous mount held (a vfs that mounts again started
//! afresh: its vnodes are gone) and gives the new one one reference on the root. A putnode of
//! more references than vfs holds, or of an inode that is not live, is EINVAL: vfs's vnode counts
//! and mfs's `refs` disagree, which the checker reports; mfs changes nothing then.

use super::path::node_reply;
use super::state::{Ino, MfsState, ROOT_INO};
use super::{MfsCtx, client};
use crate::errno::Errno;
use crate::proto::fs::InodeRequest;
use crate::task::Handled;
use kernel_sim::Message;

/// REQ_SYNC: every dirty block written back to the disk now (a block the driver refused stays
/// dirty: EIO). A request's blocks are written back at its end anyway, so what this finds dirty
/// is what an earlier write-back could not write.
pub fn do_sync(ctx: &mut MfsCtx<'_>) -> Handled {
    Handled::status(client(ctx).and_then(|()| super::block::write_back(ctx)).map(|()| 0))
}

/// REQ_UNMOUNT, as MINIX's fs_unmount: EBUSY while vfs holds a reference other than the
/// mount's one on the root (an open file, a working directory). Otherwise every dirty block is
/// written back (EIO, still mounted, when the driver refuses one), the disk is closed and the
/// mount's reference on the root given back. A later REQ_READSUPER mounts again.
pub fn do_unmount(ctx: &mut MfsCtx<'_>) -> Handled {
    Handled::status(unmount(ctx).map(|()| 0))
}

fn unmount(ctx: &mut MfsCtx<'_>) -> Result<(), Errno> {
    client(ctx)?;
    let slots = ctx.state.sizes().inodes as Ino;
    let held: u64 = (1..slots).map(|ino| u64::from(ctx.state.inode(ino).map_or(0, |i| i.refs))).sum();
    if held != 1 || ctx.state.named(ROOT_INO)?.refs != 1 {
        return Err(Errno::EBUSY);
    }
    super::block::write_back(ctx)?;
    super::block::close_disk(ctx)?;
    give_back(ctx.state, ROOT_INO, 1)
}

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
    let slots = ctx.state.sizes().inodes as Ino;
    for ino in 1..slots {
        if ctx.state.inode(ino).is_some_and(|i| i.refs > 0) {
            ctx.state.live_mut(ino).refs = 0;
            ctx.state.release_if_unused(ino);
        }
    }
    ctx.state.take_ref(ROOT_INO);
    // A freshly mounted file system holds one reference: the mount's, on the root. Any other
    // count is damage this request made (a reference write lost or garbled), and vfs would hold
    // counts apart from mfs's for as long as the system runs: it crashes the request instead.
    let apart: Vec<Ino> =
        (1..slots).filter(|&ino| ctx.state.inode(ino).map_or(0, |i| i.refs) != u32::from(ino == ROOT_INO)).collect();
    assert!(apart.is_empty(), "a fresh mount holds references other than the root's one: inodes {apart:?}");
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
    give_back(ctx.state, req.ino, req.count)
}

/// Takes `count` references on inode `ino` back: EINVAL (nothing changed) for an inode that is
/// not live or holds fewer references.
pub fn give_back(state: &mut MfsState, ino: Ino, count: u32) -> Result<(), Errno> {
    let refs = state.named(ino)?.refs;
    if count == 0 || count > refs {
        return Err(Errno::EINVAL);
    }
    state.live_mut(ino).refs -= count;
    // vfs counts the references it gave back as gone: a count left as it was (a lost write)
    // would keep the inode, and its blocks, for ever.
    assert_eq!(state.live(ino).refs, refs - count, "inode {ino} gave back {count} of its {refs} references");
    state.release_if_unused(ino);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mfs::state::{Inode, InodeKind};

    #[test]
    fn a_putnode_of_references_not_held_is_einval_and_changes_nothing() {
        let mut s = MfsState::empty();
        crate::mfs::build_tree(&mut s, &["true".to_string()]);
        s.take_ref(ROOT_INO);
        assert_eq!(give_back(&mut s, ROOT_INO, 2), Err(Errno::EINVAL), "more than vfs holds");
        assert_eq!(give_back(&mut s, ROOT_INO, 0), Err(Errno::EINVAL), "none at all");
        assert_eq!(give_back(&mut s, 0, 1), Err(Errno::EINVAL), "inode 0 is never live");
        assert_eq!(give_back(&mut s, 900, 1), Err(Errno::EINVAL), "a free inode");
        assert_eq!(give_back(&mut s, u32::MAX, 1), Err(Errno::EINVAL), "past the table");
        assert_eq!(s.live(ROOT_INO).refs, 1, "the failed putnodes changed nothing");
        // The last reference on a nameless inode frees it with its blocks.
        let ino = s.alloc_inode(Inode::new(InodeKind::Regular, 0o644, 0, 0)).unwrap();
        s.take_ref(ino);
        let free = s.free_block_count();
        assert_eq!(s.write_data(ino, 0, &[1; 2000]), Ok(2000));
        assert_eq!(give_back(&mut s, ino, 1), Ok(()));
        assert!(s.inode(ino).is_none());
        assert_eq!(s.free_block_count(), free, "its blocks came back");
        assert_eq!(give_back(&mut s, ino, 1), Err(Errno::EINVAL), "a putnode of a freed inode");
        assert_eq!(s.check_invariants(), Vec::<String>::new());
    }
}

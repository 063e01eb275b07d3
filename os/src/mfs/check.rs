//! mfs's invariants: block ownership and accounting, each file's blocks against its size, link
//! counts against directory entries, directories' `.` and `..`, no nameless unreferenced inode,
//! the root. (Its inodes' references against vfs's vnodes are `cross.rs`'s.)
//!
//! It reads a stopped (or crashed) mfs's state and must not panic on damage: every index is
//! checked before it is followed, and a directory is parsed only when its blocks are sane.

use crate::invariant::{Violation, violation};
use crate::mfs::fs::DIRENT_SIZE;
use crate::mfs::state::{BlockNo, Ino, Inode, InodeKind, MfsState, ROOT_INO, blocks_for};
use crate::proto::PATH_MAX;
use recovery::{TrackedField, TrackedVec, counted};
use std::collections::{BTreeMap, BTreeSet};

/// Every invariant of `mfs::state` mfs can see alone: no block is both free and used or used
/// twice, free plus used equals the disk, a free block holds no data, a file holds one block per
/// started BLOCK_SIZE bytes, a symbolic link 1..=PATH_MAX bytes of target; each inode's link count equals the directory entries naming it (`.`
/// and `..` included), entries name live inodes, and no inode is both nameless and unreferenced;
/// the root is a live directory.
pub fn check(mfs: &mut MfsState) -> Vec<Violation> {
    check_parts(mfs, Parts { blocks: true, links: true, data: None }, Vec::new())
}

/// Which halves of [`check`] to run.
struct Parts {
    /// Block ownership and accounting, each file's blocks against its size.
    blocks: bool,
    /// Link counts against directory entries, the directories, the root.
    links: bool,
    /// The blocks that may hold data though free (none: every block may).
    data: Option<BTreeSet<BlockNo>>,
}

/// The halves `parts` of [`check`], after the violations `found` so far. A half left out must be
/// known to hold: its inodes are taken as sane when their block counts match their sizes.
fn check_parts(mfs: &mut MfsState, parts: Parts, mut found: Vec<Violation>) -> Vec<Violation> {
    let sizes = mfs.sizes();
    let [inodes_param, blocks_param] = super::PARAMS else { unreachable!("mfs takes two sizes") };
    if !inodes_param.accepts(sizes.inodes as u64) || !blocks_param.accepts(sizes.blocks as u64) {
        found.push(violation(
            "mfs.table-sizes",
            format!("{} inode slots and {} blocks: a table outside the sizes mfs takes", sizes.inodes, sizes.blocks),
        ));
    }
    // The live inodes by reference, beside the other fields borrowed apart (the self-check runs
    // this after every request that moved blocks or names: no copy of the inode table).
    let MfsState { inodes, blocks, free_blocks, .. } = &mut *mfs;
    let live: Vec<(Ino, &Inode)> =
        inodes.iter().enumerate().filter_map(|(i, slot)| Some((i as Ino, slot.as_ref()?))).collect();
    let sane = if parts.blocks {
        check_blocks(&live, blocks, free_blocks, parts.data.as_ref(), &mut found)
    } else {
        live.iter().filter(|(_, inode)| inode.blocks.len() == blocks_for(inode.size)).map(|&(ino, _)| ino).collect()
    };
    if parts.links {
        let links: BTreeMap<Ino, Links> = live.iter().map(|&(ino, inode)| (ino, Links::of(inode))).collect();
        check_links(mfs, &links, &sane, &mut found);
    }
    found
}

/// What the link half reads of an inode (its directory's entries it reads from mfs).
struct Links {
    dir: bool,
    size: u64,
    nlink: u32,
    refs: u32,
}

impl Links {
    fn of(inode: &Inode) -> Links {
        Links { dir: inode.is_dir(), size: inode.size, nlink: inode.nlink, refs: inode.refs }
    }
}

/// The loop-top self-check after a request whose window began on a state that passed [`check`]:
/// the same verdict for a fraction of its cost, from what the window changed.
/// - Blocks moved (the free list, a file's size or block list): the block half of the check.
/// - Names changed (an inode made or freed, its kind or link count, a directory's bytes): the
///   link half.
/// - Otherwise the request changed references, permissions or times of some inodes (lookups and
///   putnodes, most of mfs's traffic), which can only have left one of them nameless and
///   unreferenced yet not freed, and perhaps the bytes of files' blocks, none of which may be free.
///
/// Sound because every write goes through a tracked container (a skipped one changes nothing,
/// and the write it pairs with is seen), and a corrupting fault flips integers only (an inode's
/// block list is never corrupted, only the free list's numbers, which count as moved blocks).
pub fn check_window(mfs: &mut MfsState) -> Vec<Violation> {
    let mut moved =
        mfs.free_blocks.worst_written_class().is_some() || mfs.inodes.length_written() || mfs.blocks.length_written();
    let mut renamed = false;
    let mut written = Vec::new();
    for (ino, before, now) in mfs.inodes.window_changes() {
        let (before, now) = (before.as_ref(), now.and_then(Option::as_ref));
        let extended = before.map_or(EMPTY, extent) != now.map_or(EMPTY, extent);
        let directory = before.is_some_and(Inode::is_dir) || now.is_some_and(Inode::is_dir);
        moved |= extended;
        renamed |= before.map(names) != now.map(names) || (extended && directory);
        written.push(ino as Ino);
    }
    // A block free now that holds bytes got them in this window, or was in a file at the
    // checkpoint (the window's writes and the changed inodes' blocks then).
    let mut data: BTreeSet<BlockNo> = mfs.blocks.window_changes().map(|(block, _, _)| block as BlockNo).collect();
    for (_, before, _) in mfs.inodes.window_changes() {
        data.extend(before.iter().flat_map(|inode| inode.blocks.iter().copied()));
    }
    // Which kind of file holds each block whose bytes changed (none: a free block).
    let mut holders: BTreeMap<BlockNo, Option<InodeKind>> =
        mfs.blocks.window_changes().map(|(block, _, _)| (block as BlockNo, None)).collect();
    if !holders.is_empty() {
        for inode in mfs.inodes.iter().flatten() {
            for block in &inode.blocks {
                if let Some(holder) = holders.get_mut(block) {
                    *holder = Some(inode.kind);
                }
            }
        }
    }
    let mut found = Vec::new();
    for (block, holder) in holders {
        match holder {
            Some(InodeKind::Directory) => renamed = true,
            Some(_) => {}
            // When blocks moved, the block half looks at every free block.
            None if !moved && mfs.blocks.get(block as usize).is_some_and(|data| !data.is_empty()) => {
                found.push(free_data(block));
            }
            None => {}
        }
    }
    if moved || renamed {
        return check_parts(mfs, Parts { blocks: moved, links: renamed, data: Some(data) }, found);
    }
    for ino in written {
        if let Some(inode) = mfs.inode(ino)
            && inode.nlink == 0
            && inode.refs == 0
        {
            found.push(leaked(ino));
        }
    }
    found
}

/// A file's extent: its size and its blocks (a free inode's are none).
fn extent(inode: &Inode) -> (u64, &[BlockNo]) {
    (inode.size, &inode.blocks)
}

/// A free inode's extent.
const EMPTY: (u64, &[BlockNo]) = (0, &[]);

/// What of an inode the names depend on: its kind and its link count.
fn names(inode: &Inode) -> (InodeKind, u32) {
    (inode.kind, inode.nlink)
}

/// An inode with neither a name nor a reference that was not freed.
fn leaked(ino: Ino) -> Violation {
    violation("mfs.inode-leak", format!("inode {ino} has no name and no reference, yet is not freed"))
}

/// No inode holds the block (check_blocks's owner table).
const NOBODY: Ino = Ino::MAX;
/// The block is on the free list (check_blocks's per-block flags).
const ON_FREE_LIST: u8 = 1;
/// The block holds bytes.
const HOLDS_DATA: u8 = 2;

/// A free block that holds bytes.
fn free_data(block: BlockNo) -> Violation {
    violation("mfs.block-free-data", format!("free block {block} holds data"))
}

/// Each block is free or in one file, the free list holds no data, and the counts add up.
/// Returns the inodes whose block lists are sane (safe to read).
fn check_blocks(
    inodes: &[(Ino, &Inode)],
    blocks: &mut TrackedVec<Vec<u8>>,
    free_blocks: &mut TrackedVec<BlockNo>,
    data: Option<&BTreeSet<BlockNo>>,
    found: &mut Vec<Violation>,
) -> BTreeSet<Ino> {
    // Indexed by block number (the disk is small and fixed), as compact as can be: the loop-top
    // self-check runs this after every request that moved blocks.
    let disk = blocks.len();
    let mut owner: Vec<Ino> = vec![NOBODY; disk];
    let mut used = 0usize;
    let mut sane = BTreeSet::new();
    for &(ino, inode) in inodes {
        let mut ok = true;
        if inode.is_symlink() && !(1..=PATH_MAX as u64).contains(&inode.size) {
            found.push(violation(
                "mfs.symlink-target",
                format!("symbolic link {ino} holds {}", counted(inode.size, "byte")),
            ));
        }
        if inode.blocks.len() != blocks_for(inode.size) {
            found.push(violation(
                "mfs.inode-size",
                format!(
                    "inode {ino} of {} holds {}",
                    counted(inode.size, "byte"),
                    counted(inode.blocks.len() as u64, "block")
                ),
            ));
            ok = false;
        }
        for &block in &inode.blocks {
            match owner.get_mut(block as usize) {
                None => {
                    found.push(violation("mfs.block-range", format!("inode {ino} holds block {block} past the disk")));
                    ok = false;
                }
                Some(slot) if *slot != NOBODY => {
                    found.push(violation("mfs.block-shared", format!("block {block} is in inodes {slot} and {ino}")));
                }
                Some(slot) => {
                    *slot = ino;
                    used += 1;
                }
            }
        }
        if ok {
            sane.insert(ino);
        }
    }
    // One pass over the disk's blocks, not one tracked read per free block (most of the disk
    // is free), or only over the blocks that may hold data.
    let mut listed = vec![0u8; disk];
    match data {
        None => {
            for (flags, data) in listed.iter_mut().zip(blocks.iter()) {
                if !data.is_empty() {
                    *flags = HOLDS_DATA;
                }
            }
        }
        Some(may_hold) => {
            for &block in may_hold {
                let held = blocks.get(block as usize).is_some_and(|data| !data.is_empty());
                if let Some(flags) = listed.get_mut(block as usize).filter(|_| held) {
                    *flags = HOLDS_DATA;
                }
            }
        }
    }
    let mut free = 0usize;
    for &block in free_blocks.iter() {
        free += 1;
        let Some(flags) = listed.get_mut(block as usize) else {
            found.push(violation("mfs.block-range", format!("the free list holds block {block} past the disk")));
            continue;
        };
        let ino = owner[block as usize];
        if *flags & ON_FREE_LIST != 0 {
            found.push(violation("mfs.block-free-twice", format!("block {block} is on the free list twice")));
        } else if ino != NOBODY {
            found.push(violation("mfs.block-free-and-used", format!("block {block} is free and in inode {ino}")));
        } else if *flags & HOLDS_DATA != 0 {
            found.push(free_data(block));
        }
        *flags |= ON_FREE_LIST;
    }
    if free + used != disk {
        found
            .push(violation("mfs.block-accounting", format!("{free} free + {used} used blocks != {disk} on the disk")));
    }
    sane
}

/// Link counts equal the entries naming each inode; entries name live inodes; directories hold
/// their `.` and `..`; nothing is nameless and closed; the root is a live directory.
fn check_links(mfs: &mut MfsState, inodes: &BTreeMap<Ino, Links>, sane: &BTreeSet<Ino>, found: &mut Vec<Violation>) {
    let mut names: BTreeMap<Ino, u32> = BTreeMap::new();
    let mut unparsed = false;
    for (&dir, inode) in inodes.iter().filter(|(_, i)| i.dir) {
        if !sane.contains(&dir) || inode.size % DIRENT_SIZE as u64 != 0 {
            found.push(violation(
                "mfs.dir-format",
                format!("directory {dir} cannot be read ({})", counted(inode.size, "byte")),
            ));
            unparsed = true;
            continue;
        }
        let entries = mfs.dir_entries(dir);
        for e in &entries {
            if inodes.contains_key(&e.ino) {
                *names.entry(e.ino).or_default() += 1;
            } else {
                let name = String::from_utf8_lossy(&e.name);
                found.push(violation(
                    "mfs.dirent-live",
                    format!("entry {name:?} of directory {dir} names free inode {}", e.ino),
                ));
            }
        }
        if inode.nlink > 0 {
            let dot = entries.iter().find(|e| e.name == b".").map(|e| e.ino);
            let dotdot = entries.iter().find(|e| e.name == b"..").map(|e| e.ino);
            let parent_ok = dotdot.is_some_and(|p| inodes.get(&p).is_some_and(|i| i.dir));
            if dot != Some(dir) || !parent_ok {
                let names = |ino: Option<Ino>| ino.map_or("nothing".to_string(), |ino| format!("inode {ino}"));
                found.push(violation(
                    "mfs.dir-dots",
                    format!("directory {dir}'s . names {} and its .. names {}", names(dot), names(dotdot)),
                ));
            }
        }
    }
    if unparsed {
        return;
    }
    for (&ino, inode) in inodes {
        let n = names.get(&ino).copied().unwrap_or(0);
        if inode.nlink != n {
            found.push(violation(
                "mfs.link-count",
                format!(
                    "inode {ino} counts {} but {} {} it",
                    counted(inode.nlink, "link"),
                    counted(n, "entry"),
                    if n == 1 { "names" } else { "name" }
                ),
            ));
        }
        if inode.nlink == 0 && inode.refs == 0 {
            found.push(leaked(ino));
        }
    }
    if !inodes.get(&ROOT_INO).is_some_and(|i| i.dir) {
        found.push(violation("mfs.root", "the root directory is missing".into()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mfs::state::BLOCK_SIZE;

    /// A disk with a file (`/f`, two blocks), a directory (`/d`) and an unlinked file vfs still
    /// holds open (nameless but referenced): consistent, checked whole, its window opened.
    fn checked_disk() -> (MfsState, Ino, Ino) {
        let mut s = MfsState::empty();
        s.make_root(0o755);
        let file = s.make_file(ROOT_INO, b"f", 0o644, &[7u8; 1500]).unwrap();
        s.make_dir(Some(ROOT_INO), b"d", 0o755, 0, 0).unwrap();
        let open = s.make_file(ROOT_INO, b"open", 0o644, b"bytes").unwrap();
        s.take_ref(open);
        s.dir_remove(ROOT_INO, b"open").unwrap();
        s.live_mut(open).nlink = 0;
        assert_eq!(check(&mut s), Vec::new());
        s.journal.checkpoint();
        (s, file, open)
    }

    /// The window check's verdict, which must be the whole check's, as lines.
    fn verdicts(s: &mut MfsState) -> Vec<String> {
        let window: Vec<String> = check_window(s).iter().map(ToString::to_string).collect();
        let whole: Vec<String> = check(s).iter().map(ToString::to_string).collect();
        assert_eq!(window, whole, "the window check says what the whole one says");
        window
    }

    fn names_invariant(lines: &[String], invariant: &str) -> bool {
        lines.iter().any(|line| line.starts_with(invariant))
    }

    #[test]
    fn references_and_times_alone_break_nothing() {
        let (mut s, file, _) = checked_disk();
        s.take_ref(file);
        s.stamp(file, crate::mfs::state::times::ALL, 99);
        assert_eq!(verdicts(&mut s), Vec::<String>::new());
    }

    #[test]
    fn a_last_reference_dropped_without_freeing_is_a_leak() {
        let (mut s, _, open) = checked_disk();
        s.live_mut(open).refs = 0;
        assert!(names_invariant(&verdicts(&mut s), "mfs.inode-leak"));
    }

    #[test]
    fn bytes_written_into_a_free_block_are_found() {
        let (mut s, _, _) = checked_disk();
        let free = *s.free_blocks.iter().last().unwrap();
        s.write_block(free, 0, b"stray");
        assert!(names_invariant(&verdicts(&mut s), "mfs.block-free-data"));
    }

    #[test]
    fn overwriting_a_file_breaks_nothing() {
        let (mut s, file, _) = checked_disk();
        assert_eq!(s.write_data(file, 10, b"new bytes"), Ok(9));
        assert_eq!(verdicts(&mut s), Vec::<String>::new());
    }

    #[test]
    fn a_free_block_taken_into_a_file_without_the_free_list_is_found() {
        let (mut s, file, _) = checked_disk();
        let free = *s.free_blocks.iter().last().unwrap();
        let inode = s.live_mut(file);
        inode.blocks.push(free);
        inode.size += 1;
        assert!(names_invariant(&verdicts(&mut s), "mfs.block-free-and-used"));
    }

    #[test]
    fn an_entry_added_without_its_link_is_found() {
        let (mut s, file, _) = checked_disk();
        s.dir_insert(ROOT_INO, b"again", file).unwrap();
        assert!(names_invariant(&verdicts(&mut s), "mfs.link-count"));
    }

    #[test]
    fn an_entry_renamed_in_place_breaks_nothing_but_a_changed_target_is_found() {
        let (mut s, file, _) = checked_disk();
        let d = s.dir_lookup(ROOT_INO, b"d").unwrap();
        assert_eq!(s.dir_replace(ROOT_INO, b"d", d), Some(d));
        assert_eq!(verdicts(&mut s), Vec::<String>::new());
        s.journal.checkpoint();
        assert_eq!(s.dir_replace(ROOT_INO, b"d", file), Some(d));
        assert!(names_invariant(&verdicts(&mut s), "mfs.link-count"));
    }

    #[test]
    fn a_block_freed_with_its_bytes_is_found() {
        let (mut s, file, _) = checked_disk();
        let inode = s.live_mut(file);
        let block = inode.blocks.pop().unwrap();
        inode.size = BLOCK_SIZE as u64;
        s.free_blocks.push(block);
        assert!(names_invariant(&verdicts(&mut s), "mfs.block-free-data"));
    }

    #[test]
    fn a_block_freed_while_still_in_its_file_is_found() {
        let (mut s, file, _) = checked_disk();
        let block = s.live(file).blocks[1];
        s.free_blocks.push(block);
        assert!(names_invariant(&verdicts(&mut s), "mfs.block-free-and-used"));
    }
}

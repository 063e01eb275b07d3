//! mfs's invariants: block ownership and accounting, each file's blocks against its size, link
//! counts against directory entries, directories' `.` and `..`, no nameless unreferenced inode,
//! the root. (Its inodes' references against vfs's vnodes are `cross.rs`'s.)
//!
//! It reads a stopped (or crashed) mfs's state and must not panic on damage: every index is
//! checked before it is followed, and a directory is parsed only when its blocks are sane.

use crate::invariant::{Violation, violation};
use crate::mfs::fs::DIRENT_SIZE;
use crate::mfs::state::{BlockNo, Ino, Inode, MfsState, NR_BLOCKS, NR_INODES, ROOT_INO, blocks_for};
use crate::proto::PATH_MAX;
use recovery::counted;
use std::collections::{BTreeMap, BTreeSet};

/// Every invariant of `mfs::state` mfs can see alone: no block is both free and used or used
/// twice, free plus used equals the disk, a free block holds no data, a file holds one block per
/// started BLOCK_SIZE bytes, a symbolic link 1..=PATH_MAX bytes of target; each inode's link count equals the directory entries naming it (`.`
/// and `..` included), entries name live inodes, and no inode is both nameless and unreferenced;
/// the root is a live directory.
pub fn check(mfs: &mut MfsState) -> Vec<Violation> {
    let mut found = Vec::new();
    let inodes: BTreeMap<Ino, Inode> =
        mfs.inodes.iter().enumerate().filter_map(|(i, slot)| Some((i as Ino, slot.clone()?))).collect();
    if mfs.inodes.len() != NR_INODES || mfs.blocks.len() != NR_BLOCKS {
        found.push(violation("mfs.table-sizes", "a fixed-size table changed its size".into()));
    }
    let sane = check_blocks(mfs, &inodes, &mut found);
    check_links(mfs, &inodes, &sane, &mut found);
    found
}

/// Each block is free or in one file, the free list holds no data, and the counts add up.
/// Returns the inodes whose block lists are sane (safe to read).
fn check_blocks(mfs: &mut MfsState, inodes: &BTreeMap<Ino, Inode>, found: &mut Vec<Violation>) -> BTreeSet<Ino> {
    // Indexed by block number (the disk is small and fixed): the loop-top self-check runs this
    // after every request that wrote, so no map is built per block.
    let mut owner: Vec<Option<Ino>> = vec![None; NR_BLOCKS];
    let mut used = 0usize;
    let mut sane = BTreeSet::new();
    for (&ino, inode) in inodes {
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
                Some(Some(other)) => {
                    found.push(violation("mfs.block-shared", format!("block {block} is in inodes {other} and {ino}")));
                }
                Some(slot) => {
                    *slot = Some(ino);
                    used += 1;
                }
            }
        }
        if ok {
            sane.insert(ino);
        }
    }
    let free: Vec<BlockNo> = mfs.free_blocks.iter().copied().collect();
    // One pass over the disk's blocks, not one tracked read per free block: this runs after
    // every request that wrote, and most of the disk is free.
    let holds_data: Vec<bool> = mfs.blocks.iter().map(|data| !data.is_empty()).collect();
    let mut on_free_list = vec![false; NR_BLOCKS];
    for &block in &free {
        if block as usize >= NR_BLOCKS {
            found.push(violation("mfs.block-range", format!("the free list holds block {block} past the disk")));
        } else if std::mem::replace(&mut on_free_list[block as usize], true) {
            found.push(violation("mfs.block-free-twice", format!("block {block} is on the free list twice")));
        } else if let Some(ino) = owner[block as usize] {
            found.push(violation("mfs.block-free-and-used", format!("block {block} is free and in inode {ino}")));
        } else if holds_data.get(block as usize).copied().unwrap_or(false) {
            found.push(violation("mfs.block-free-data", format!("free block {block} holds data")));
        }
    }
    if free.len() + used != NR_BLOCKS {
        found.push(violation(
            "mfs.block-accounting",
            format!("{} free + {used} used blocks != {NR_BLOCKS} on the disk", free.len()),
        ));
    }
    sane
}

/// Link counts equal the entries naming each inode; entries name live inodes; directories hold
/// their `.` and `..`; nothing is nameless and closed; the root is a live directory.
fn check_links(mfs: &mut MfsState, inodes: &BTreeMap<Ino, Inode>, sane: &BTreeSet<Ino>, found: &mut Vec<Violation>) {
    let mut names: BTreeMap<Ino, u32> = BTreeMap::new();
    let mut unparsed = false;
    for (&dir, inode) in inodes.iter().filter(|(_, i)| i.is_dir()) {
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
            let parent_ok = dotdot.is_some_and(|p| inodes.get(&p).is_some_and(Inode::is_dir));
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
            found.push(violation(
                "mfs.inode-leak",
                format!("inode {ino} has no name and no reference, yet is not freed"),
            ));
        }
    }
    if !inodes.get(&ROOT_INO).is_some_and(Inode::is_dir) {
        found.push(violation("mfs.root", "the root directory is missing".into()));
    }
}

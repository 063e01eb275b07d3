//! mfs, the file-system server (MINIX's mfs): it owns inodes, blocks and directories, and serves
//! vfs's REQ_* requests (`proto::fs`): path walks, creating and removing names, file bytes by
//! grant, attributes, and the references vfs's vnodes hold on inodes (MINIX's `i_count`).
//!
//! Files: `state.rs` (all mutable state, the inode allocator), `block.rs` (the block interface:
//! read, write, allocate, free), `fs.rs` (file data and directory entries), `table.rs` (request
//! type -> handler), `path.rs` (REQ_LOOKUP), `link.rs` (create, mkdir, mknod, unlink, rmdir,
//! link, rename, slink), `read.rs` (read, write, peek, getdents, ftrunc, rdlink), `stat.rs`
//! (stat, chmod, chown, utime, statvfs), `mount.rs` (readsuper, putnode, sync, unmount),
//! `superblock.rs` (the disk's layout and superblock).
//!
//! Duties: it serves vfs only (anyone else gets EPERM); every bad request (an inode number that is
//! not live, a putnode of references vfs does not hold, a bad grant) is an errno reply, never a
//! panic; panics are reserved for broken internal invariants. A failed request changes nothing,
//! except that a write cut short by a full disk keeps what it wrote.

pub mod block;
pub mod check;
pub mod fs;
pub mod link;
pub mod mount;
pub mod path;
pub mod read;
pub mod stat;
pub mod state;
pub mod superblock;
pub mod table;

use crate::errno::Errno;
use crate::proto::cdev::dev::makedev;
use crate::proto::cdev::{MEMORY_MAJOR, memory};
use crate::proto::{PROGRAM_MAGIC, VFS};
use crate::task::{Call, Ctx, Param, Sent, Server};
use kernel_sim::Proc;
use state::{InodeKind, MfsState, NR_BLOCKS, NR_INODES, ROOT_INO, Sizes};

/// A handler's context in mfs.
pub type MfsCtx<'a> = Ctx<'a, MfsState>;

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
/// `/dev`'s permission bits.
pub const DEV_MODE: u32 = 0o755;
/// The memory driver's special files' permission bits: anyone may read and write them.
pub const DEVICE_MODE: u32 = 0o666;
/// `/etc/motd`'s contents.
pub const MOTD: &[u8] = b"samsara: a multiserver system that recovers from its own crashes\n";

/// The sizes mfs's manifest entry may set: its inode table's slots and its disk's blocks (the
/// disk, memdisk's memory, must hold them with the boot block and superblock: the testbed checks).
pub const PARAMS: &[Param] = &[
    Param { name: "inodes", what: "slots of the inode table", default: NR_INODES as u64, min: 16, max: 65_536 },
    Param { name: "blocks", what: "1 KiB blocks on the disk", default: NR_BLOCKS as u64, min: 64, max: MAX_BLOCKS },
];

/// The most blocks a disk holds: memdisk's memory may be at most the most a service may declare.
const MAX_BLOCKS: u64 = kernel_sim::manifest::MAX_SERVICE_MEMORY_PAGES * kernel_sim::memory::PAGE_SIZE as u64
    / state::BLOCK_SIZE as u64
    - superblock::FIRST_DATA_BLOCK;

/// The file-system server.
pub struct Mfs;

impl Server for Mfs {
    const NAME: &'static str = "mfs";
    type State = MfsState;

    fn calls() -> &'static [Call<MfsState>] {
        table::CALLS
    }

    fn check_invariants(state: &mut MfsState) -> Vec<String> {
        state.check_invariants()
    }

    fn check_window(state: &mut MfsState) -> Vec<String> {
        check::check_window(state).into_iter().map(|v| v.to_string()).collect()
    }

    const PARAMS: &'static [Param] = PARAMS;

    fn boot(proc: &Proc) -> MfsState {
        let [inodes, blocks] = PARAMS else { unreachable!("mfs takes two sizes") };
        let mut state = MfsState::sized(Sizes { inodes: inodes.of(proc) as usize, blocks: blocks.of(proc) as usize });
        // The boot image's programs: the kernel holds them (MINIX's mkfs copies them onto the disk).
        let programs = proc.sys_user_programs().expect("mfs may ask the kernel for its boot image");
        build_tree(&mut state, &programs);
        state
    }

    fn fresh(proc: &Proc) -> MfsState {
        Mfs::boot(proc)
    }

    fn request_dropped(state: &mut MfsState, sent: &[Sent]) {
        block::rewrite_dropped_writes(state, sent);
    }
}

/// EPERM unless the request comes from vfs, the file system's only client (as MINIX's mfs
/// serves only VFS_PROC_NR).
pub fn client(ctx: &mut MfsCtx<'_>) -> Result<(), Errno> {
    if ctx.who() == VFS { Ok(()) } else { Err(Errno::EPERM) }
}

/// The time now, for inode times: microseconds since the Epoch on the kernel's clock (MINIX's
/// mfs reads the kernel's clock too; samsara's CLOCK_REALTIME starts at the Epoch at boot).
pub fn now(ctx: &MfsCtx<'_>) -> i64 {
    i64::try_from(ctx.proc.now()).unwrap_or(i64::MAX)
}

/// The file tree at boot: `/`, `/bin` with one program file per program of the boot image, `/tmp`,
/// `/etc/motd`, and `/dev` with the memory driver's special files (`/dev/null`, `/dev/zero`...).
pub fn build_tree(state: &mut MfsState, programs: &[String]) {
    const BOOT: &str = "the boot tree fits an empty disk";
    state.make_root(ROOT_MODE);
    let bin = state.make_dir(Some(ROOT_INO), b"bin", BIN_MODE, 0, 0).expect(BOOT);
    for name in programs {
        let mut contents = PROGRAM_MAGIC.to_vec();
        contents.extend_from_slice(name.as_bytes());
        contents.push(b'\n');
        state.make_file(bin, name.as_bytes(), BIN_MODE, &contents).expect(BOOT);
    }
    state.make_dir(Some(ROOT_INO), b"tmp", TMP_MODE, 0, 0).expect(BOOT);
    let etc = state.make_dir(Some(ROOT_INO), b"etc", ETC_MODE, 0, 0).expect(BOOT);
    state.make_file(etc, b"motd", MOTD_MODE, MOTD).expect(BOOT);
    let dev = state.make_dir(Some(ROOT_INO), b"dev", DEV_MODE, 0, 0).expect(BOOT);
    for (minor, name) in memory::DEVICES {
        let kind = InodeKind::CharDevice(makedev(MEMORY_MAJOR, minor));
        state.make_node(dev, name.as_bytes(), kind, DEVICE_MODE).expect(BOOT);
    }
}

/// The block writes mfs sends its driver when it mounts a blank disk holding `programs`: the
/// superblock, then every block of the boot tree. A fault on the driver's n-th write after the
/// mount is its `writes_at_mount + n`-th (faults count a server's requests from boot).
pub fn writes_at_mount(programs: &[String]) -> usize {
    let mut boot = MfsState::empty();
    build_tree(&mut boot, programs);
    1 + boot.dirty.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mfs::path::{Cred, walk};

    #[test]
    fn the_boot_tree_has_bin_tmp_etc_and_is_consistent() {
        let mut s = MfsState::empty();
        build_tree(&mut s, &["true".to_string()]);
        let root = Cred { uid: 0, gid: 0 };
        let t = walk(&mut s, root, ROOT_INO, ROOT_INO, b"/bin/true", true).unwrap().found.unwrap();
        let mut expected = PROGRAM_MAGIC.to_vec();
        expected.extend_from_slice(b"true\n");
        assert_eq!(s.read_data(t, 0, 100), expected);
        let tmp = walk(&mut s, root, ROOT_INO, ROOT_INO, b"/tmp", true).unwrap().found.unwrap();
        assert_eq!(s.live(tmp).mode, TMP_MODE);
        assert_eq!(s.live(ROOT_INO).nlink, 6, "., .., and the .. of bin, tmp, etc, dev");
        let null = walk(&mut s, root, ROOT_INO, ROOT_INO, b"/dev/null", true).unwrap().found.unwrap();
        assert_eq!(s.live(null).kind, InodeKind::CharDevice(makedev(MEMORY_MAJOR, memory::NULL)));
        // At boot nothing holds the root yet: the checker expects vfs's mount to.
        s.take_ref(ROOT_INO);
        assert_eq!(s.check_invariants(), Vec::<String>::new());
    }
}

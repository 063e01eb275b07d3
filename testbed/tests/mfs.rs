//! The file-system stack end to end: vfs's vnodes and mfs's inode references (MINIX's
//! `v_fs_count` and `i_count`) after open, close, chdir, fork and exit; both sides clean after the
//! POSIX suite; mfs serving vfs alone.

use kernel_sim::manifest::Manifest;
use kernel_sim::{Message, RunEnd};
use os::errno::Errno;
use os::mfs::path::{Cred, walk};
use os::mfs::state::{Ino, MfsState, ROOT_INO};
use os::proto::MFS_BOOT;
use os::proto::fs::{InodeRequest, REQ_PUTNODE, REQ_READSUPER};
use os::proto::vfs::flags::{O_CREAT, O_RDONLY, O_WRONLY};
use os::vfs::state::{FS_REFS_CLEAN_AT, VfsState, Vnode};
use std::sync::Arc;
use testbed::boot::{DEFAULT_MANIFEST, MachineConfig, boot};
use testbed::checker::{self, Snapshot, Violation};
use userland::workload::report::Recorder;

/// The inode `path` names on a stopped mfs.
fn ino_of(mfs: &mut MfsState, path: &[u8]) -> Ino {
    walk(mfs, Cred { uid: 0, gid: 0 }, ROOT_INO, ROOT_INO, path, true).unwrap().found.unwrap()
}

/// vfs's vnode of inode `ino`, if it has one.
fn vnode_of(vfs: &mut VfsState, ino: Ino) -> Option<Vnode> {
    vfs.vnodes.iter().flatten().find(|v| v.inode.map(|(_, i)| i) == Some(ino)).cloned()
}

#[test]
fn vnode_references_follow_open_close_chdir_fork_and_exit() {
    let mut machine = boot(&MachineConfig::default(), |sys| {
        let first = sys.open("/etc/motd", O_RDONLY, 0).unwrap();
        let second = sys.open("/etc/motd", O_RDONLY, 0).unwrap();
        let third = sys.open("/etc/motd", O_RDONLY, 0).unwrap();
        sys.close(third).unwrap();
        sys.chdir("/tmp").unwrap();
        let (r, w) = sys.pipe().unwrap();
        // A child and a grandchild inherit the descriptors and the cwd, and live on (the
        // grandchild reads a pipe nobody writes) after init exits.
        sys.fork(move |c| {
            let _ = c.fork(move |g| {
                let mut buf = [0u8; 1];
                let _ = g.read(r, &mut buf);
                0
            });
            let _ = c.wait();
            0
        })
        .unwrap();
        let _ = (first, second, w);
        0
    });
    // The grandchild waits for ever: the run ends at its time limit, with everyone's state.
    machine.run();
    let mut snap = Snapshot::take(&machine);
    assert_eq!(checker::check(&mut snap), Vec::<Violation>::new());
    let (vfs, mfs) = (snap.vfs.as_mut().unwrap(), snap.mfs.as_mut().unwrap());
    let (motd, tmp) = (ino_of(mfs, b"/etc/motd"), ino_of(mfs, b"/tmp"));
    // Two open files (shared by child and grandchild) hold motd's vnode; three lookups took a
    // reference each, and the closed third's stays counted until the vnode goes (MINIX's rule).
    let v = vnode_of(vfs, motd).unwrap();
    assert_eq!((v.refs, v.fs_refs, mfs.live(motd).refs), (2, 3, 3));
    // /tmp is the working directory of the child and the grandchild (init's went with it).
    let v = vnode_of(vfs, tmp).unwrap();
    assert_eq!((v.refs, v.fs_refs, mfs.live(tmp).refs), (2, 1, 1));
    // The root: only the mount holds it now.
    let v = vnode_of(vfs, ROOT_INO).unwrap();
    assert_eq!((v.refs, v.fs_refs, mfs.live(ROOT_INO).refs), (1, 1, 1));
    // Nothing else holds an inode.
    let held: Vec<Ino> = (1..1024)
        .filter(|&i| mfs.inode(i).is_some_and(|n| n.refs > 0) && ![motd, tmp, ROOT_INO].contains(&i))
        .collect();
    assert_eq!(held, Vec::<Ino>::new());
}

#[test]
fn after_the_posix_suite_only_the_mount_holds_an_inode_and_the_checker_is_clean() {
    let rec = Recorder::default();
    let suite = rec.clone();
    let mut machine = boot(&MachineConfig { check_invariants: true, ..MachineConfig::default() }, move |sys| {
        userland::workload::posix::run(sys, &suite);
        0
    });
    assert_eq!(machine.run().end, RunEnd::Finished);
    assert!(rec.report().ok(), "{:?}", rec.report());
    let mut snap = Snapshot::take(&machine);
    assert_eq!(checker::check(&mut snap), Vec::<Violation>::new());
    let (vfs, mfs) = (snap.vfs.as_mut().unwrap(), snap.mfs.as_mut().unwrap());
    let vnodes: Vec<Vnode> = vfs.vnodes.iter().flatten().cloned().collect();
    assert_eq!(vnodes.len(), 1, "only the root's vnode is left: {vnodes:?}");
    assert_eq!(vnodes[0].inode, Some((MFS_BOOT, ROOT_INO)));
    let refs: Vec<(Ino, u32)> =
        (1..1024).filter_map(|i| Some((i, mfs.inode(i)?.refs))).filter(|&(_, r)| r > 0).collect();
    // Each chdir("/") took a reference the root's vnode keeps counting (the mount never lets go).
    assert_eq!(refs, [(ROOT_INO, vnodes[0].fs_refs)]);
    assert_eq!(vnodes[0].refs, 1, "the mount's");
}

#[test]
fn a_vnode_gives_back_the_references_it_collects_past_the_threshold() {
    let mut machine = boot(&MachineConfig::default(), |sys| {
        for _ in 0..FS_REFS_CLEAN_AT + 10 {
            sys.chdir("/").unwrap();
            sys.chdir("/tmp").unwrap();
        }
        0
    });
    assert_eq!(machine.run().end, RunEnd::Finished);
    let mut snap = Snapshot::take(&machine);
    assert_eq!(checker::check(&mut snap), Vec::<Violation>::new());
    let root = vnode_of(snap.vfs.as_mut().unwrap(), ROOT_INO).unwrap();
    assert!(root.fs_refs <= FS_REFS_CLEAN_AT, "{} references collected", root.fs_refs);
    assert_eq!(snap.mfs.as_mut().unwrap().live(ROOT_INO).refs, root.fs_refs);
}

#[test]
fn mfs_serves_vfs_only() {
    // A mis-configured manifest that lets users send file-system requests: mfs's own check is
    // all that is left, and a forged readsuper (which would void vfs's references) or putnode is
    // refused.
    let text =
        DEFAULT_MANIFEST.replace("    ipc pm vfs vm;\n", "    ipc pm vfs vm mfs;\n    calls mfs 0x200..0x2FF;\n");
    assert_ne!(text, DEFAULT_MANIFEST);
    let manifest = Arc::new(Manifest::parse(&text, "permissive.conf", &|_| None).unwrap());
    let mut machine = boot(&MachineConfig { manifest, ..MachineConfig::default() }, |sys| {
        let putnode = InodeRequest { ino: ROOT_INO, count: 1, mode: 0, uid: 0, gid: 0, size: 0 };
        assert_eq!(sys.call(MFS_BOOT, Message::with(REQ_PUTNODE, &putnode)).map(drop), Err(Errno::EPERM));
        assert_eq!(sys.call(MFS_BOOT, Message::new(REQ_READSUPER)).map(drop), Err(Errno::EPERM));
        // vfs still finds everything where it was.
        assert!(sys.stat("/etc/motd").is_ok());
        0
    });
    assert_eq!(machine.run().end, RunEnd::Finished);
    let mut snap = Snapshot::take(&machine);
    assert_eq!(checker::check(&mut snap), Vec::<Violation>::new());
    // Under the real manifest a user cannot even send to mfs.
    let mut machine = boot(&MachineConfig::default(), |sys| {
        assert!(sys.call(MFS_BOOT, Message::new(REQ_READSUPER)).is_err());
        0
    });
    assert_eq!(machine.run().end, RunEnd::Finished);
}

#[test]
fn a_symbolic_link_without_a_target_is_found() {
    let mut machine = boot(&MachineConfig::default(), |sys| {
        sys.symlink("/etc/motd", "/tmp/motd-link").unwrap();
        0
    });
    assert_eq!(machine.run().end, RunEnd::Finished);
    let mut snap = Snapshot::take(&machine);
    assert_eq!(checker::check(&mut snap), Vec::<Violation>::new());
    let mfs = snap.mfs.as_mut().unwrap();
    let link = walk(mfs, Cred { uid: 0, gid: 0 }, ROOT_INO, ROOT_INO, b"/tmp/motd-link", false).unwrap().found.unwrap();
    assert_eq!(mfs.live(link).size, b"/etc/motd".len() as u64);
    mfs.truncate(link);
    let found: Vec<&str> = checker::check(&mut snap).iter().map(|v| v.invariant).collect();
    assert_eq!(found, ["mfs.symlink-target"]);
}

#[test]
fn a_reboot_writes_back_unmounts_the_root_and_closes_the_disk() {
    // MINIX's shutdown: pm ends every process, vfs gives the root's collected references back
    // and unmounts it, mfs writes back what is dirty and closes its disk (bdev_close).
    let mut machine = boot(&MachineConfig { check_invariants: true, ..MachineConfig::default() }, |sys| {
        let fd = sys.open("/tmp/kept", O_CREAT | O_WRONLY, 0o644).unwrap();
        sys.write(fd, b"written before the reboot").unwrap();
        sys.chdir("/").unwrap();
        sys.chdir("/").unwrap();
        sys.reboot().map_or(1, |()| 0)
    });
    let report = machine.run();
    assert!(matches!(report.end, RunEnd::Shutdown { ref reason, .. } if reason == "reboot"), "{:?}", report.end);
    let mut snap = Snapshot::take(&machine);
    assert_eq!(checker::check(&mut snap), Vec::<Violation>::new());
    let vfs = snap.vfs.as_mut().unwrap();
    assert_eq!(*vfs.mount.get(), None, "the root is unmounted");
    assert_eq!(vfs.vnodes.iter().flatten().count(), 0, "no vnode is left");
    let mfs = snap.mfs.as_mut().unwrap();
    let held: Vec<Ino> = (1..1024).filter(|&i| mfs.inode(i).is_some_and(|n| n.refs > 0)).collect();
    assert_eq!(held, Vec::<Ino>::new(), "mfs gave every reference back");
    assert_eq!(*mfs.disk.get(), None, "mfs closed its disk");
    assert_eq!(mfs.dirty.len(), 0, "nothing is left unwritten");
    let memdisk = snap.memdisk.as_mut().unwrap();
    assert_eq!(memdisk.opens.len(), 0, "the driver counts no open");
    // The file's bytes are on the disk.
    let kept = ino_of(mfs, b"/tmp/kept");
    let block = mfs.live(kept).blocks[0];
    let mut on_disk = vec![0u8; 25];
    machine.system.read_service_memory("memdisk", os::mfs::superblock::disk_position(block), &mut on_disk).unwrap();
    assert_eq!(on_disk, b"written before the reboot");
}

#[test]
fn holes_and_grown_files_read_as_zeros_on_the_disk_too() {
    // A freed block keeps its last owner's bytes on the disk; a new owner that never writes it
    // (a hole, a file grown by ftruncate) must still find zeros there, not the old bytes.
    let mut machine = boot(&MachineConfig { check_invariants: true, ..MachineConfig::default() }, |sys| {
        let old = sys.open("/tmp/old", O_CREAT | O_WRONLY, 0o644).unwrap();
        sys.write(old, &[b'x'; 6 * 1024]).unwrap();
        sys.close(old).unwrap();
        sys.unlink("/tmp/old").unwrap();
        let holed = sys.open("/tmp/holed", O_CREAT | O_WRONLY, 0o644).unwrap();
        sys.lseek(holed, 3 * 1024, 0).unwrap();
        sys.write(holed, b"after the hole").unwrap();
        let grown = sys.open("/tmp/grown", O_CREAT | O_WRONLY, 0o644).unwrap();
        sys.ftruncate(grown, 2 * 1024).unwrap();
        0
    });
    assert_eq!(machine.run().end, RunEnd::Finished);
    let mut snap = Snapshot::take(&machine);
    assert_eq!(checker::check(&mut snap), Vec::<Violation>::new());
    let mfs = snap.mfs.as_mut().unwrap();
    let mut zero_blocks = 0;
    for path in [&b"/tmp/holed"[..], b"/tmp/grown"] {
        let ino = ino_of(mfs, path);
        for block in mfs.live(ino).blocks.clone() {
            let mut on_disk = vec![0u8; 1024];
            let at = os::mfs::superblock::disk_position(block);
            machine.system.read_service_memory("memdisk", at, &mut on_disk).unwrap();
            if mfs.read_block(block).is_empty() {
                assert!(on_disk.iter().all(|&b| b == 0), "block {block} of {path:?} holds old bytes on the disk");
                zero_blocks += 1;
            }
        }
    }
    assert_eq!(zero_blocks, 5, "three blocks of the hole, two of the grown file, reused from /tmp/old");
}

#[test]
fn the_file_systems_sizes_come_from_the_manifest() {
    // A small file system (64 inode slots, 256 blocks) on a disk just big enough for it: statvfs
    // says so, the inodes run out where the table ends (ENOSPC), and the superblock on the disk
    // carries these sizes.
    let text = DEFAULT_MANIFEST
        .replace("    param inodes 1024;", "    param inodes 64;")
        .replace("    param blocks 4096;", "    param blocks 256;")
        .replace("    memory 1025;", "    memory 65;");
    assert_ne!(text, DEFAULT_MANIFEST, "the manifest changed where the test expects it");
    let manifest = Manifest::parse(&text, "small.conf", &|_| None).expect("the manifest parses");
    testbed::boot::check_bootable(&manifest, "small.conf").expect("the disk holds the file system");
    let config = MachineConfig { manifest: Arc::new(manifest), check_invariants: true, ..MachineConfig::default() };
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let said = seen.clone();
    let mut machine = boot(&config, move |sys| {
        let before = sys.statvfs("/").unwrap();
        let mut made = 0;
        let end = loop {
            match sys.open(&format!("/tmp/f{made}"), O_CREAT | O_WRONLY, 0o644) {
                Ok(fd) => {
                    sys.close(fd).unwrap();
                    made += 1;
                }
                Err(e) => break e,
            }
        };
        said.lock().unwrap().push((before.blocks, before.files, before.ffree, made, end));
        0
    });
    assert_eq!(machine.run().end, RunEnd::Finished);
    let (blocks, files, ffree, made, end) = seen.lock().unwrap()[0];
    assert_eq!((blocks, files), (256, 63), "statvfs reports the manifest's sizes");
    assert_eq!((made, end), (ffree, Errno::ENOSPC), "every free inode was made, then ENOSPC");
    let mut snap = Snapshot::take(&machine);
    assert_eq!(checker::check(&mut snap), Vec::<Violation>::new());
    let superblock = os::mfs::superblock::Superblock::decode(snap.superblock.as_ref().unwrap()).unwrap();
    assert_eq!((superblock.inodes, superblock.blocks), (64, 256));

    // Sizes the servers do not take, or a disk too small for the file system, are refused before
    // boot, naming the file and the service's line.
    let refused = |text: &str| {
        let manifest = Manifest::parse(text, "bad.conf", &|_| None).expect("the manifest parses");
        testbed::boot::check_bootable(&manifest, "bad.conf").unwrap_err()
    };
    let mfs_line = DEFAULT_MANIFEST.lines().position(|l| l.starts_with("service mfs")).unwrap() + 1;
    let memdisk_line = DEFAULT_MANIFEST.lines().position(|l| l.starts_with("service memdisk")).unwrap() + 1;
    let with = |param: &str| DEFAULT_MANIFEST.replace("    param blocks 4096;", &format!("    {param}"));
    assert_eq!(
        refused(&DEFAULT_MANIFEST.replace("param inodes 1024;", "param inodes 8;")),
        format!(
            "bad.conf:{mfs_line}: service `mfs`: param `inodes` (slots of the inode table) is 8, outside 16..=65536"
        )
    );
    assert_eq!(
        refused(&with("param files 8;")),
        format!("bad.conf:{mfs_line}: service `mfs` takes no param `files` (it takes: inodes, blocks)")
    );
    let too_big = refused(&with("param blocks 8192;"));
    assert!(
        too_big.starts_with(&format!(
            "bad.conf:{memdisk_line}: service `memdisk`: its memory (1025 pages) cannot hold mfs's file system of 8192 blocks"
        )),
        "{too_big}"
    );
    let ds = DEFAULT_MANIFEST
        .replace("    kernel NONE;\n    sigmgr rs;", "    kernel NONE;\n    param procs 4;\n    sigmgr rs;");
    assert_ne!(ds, DEFAULT_MANIFEST, "ds's entry is where the test expects it");
    assert!(refused(&ds).contains("service `ds` takes no param `procs` (it takes: none)"), "{}", refused(&ds));
    let pm = DEFAULT_MANIFEST.replace("param procs 10240;", "param procs 20000;");
    assert!(
        refused(&pm).contains("param `procs` (entries of the process table) is 20000, outside 8..=10240"),
        "{}",
        refused(&pm)
    );
}

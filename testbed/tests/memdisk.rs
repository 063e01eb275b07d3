//! memdisk, the memory-disk driver: every bdev request with its errors (answers, never a panic),
//! the disk's contents through libbdev, and a crash of the driver in the middle of I/O that the
//! client rides out (the I/O completes, the contents are intact, the checker finds nothing).

mod common;

use common::Log;
use kernel_sim::memory::SERVICE_MEMORY_BASE;
use kernel_sim::memory::{Access, GrantId};
use kernel_sim::{Endpoint, Manifest, Message, Proc};
use os::errno::Errno;
use os::fault::FaultSpec;
use os::libbdev::{self, Driver, Port};
use os::proto::bdev::*;
use os::proto::vm::layout::{SCRATCH, SCRATCH_LEN};
use os::proto::{DS, ds};
use os::task::{Call, Handled, Server};
use std::sync::Arc;
use testbed::boot::{DEFAULT_MANIFEST, Machine, MachineConfig, boot};
use testbed::checker::{self, Snapshot};
use userland::libc::Sys;

/// mfs's own requests to memdisk at its mount come first (it opens the disk, asks its geometry,
/// reads the blank disk's superblock, formats it and writes its boot tree's blocks): a test's fault on the n-th request of its own of a type is
/// the driver's n-th after those.
fn after_mount(spec: &str) -> String {
    let parts: Vec<&str> = spec.split(':').collect();
    let (nth, persistent) = match parts[4].strip_suffix('+') {
        Some(n) => (n, "+"),
        None => (parts[4], ""),
    };
    let before = match parts[2] {
        // The blank disk's superblock, then the boot tree's blocks.
        "bdev_write" => {
            let programs: Vec<String> = userland::programs::registry().iter().map(|p| p.0.to_string()).collect();
            os::mfs::writes_at_mount(&programs)
        }
        // The superblock.
        "bdev_open" | "bdev_ioctl" | "bdev_read" => 1,
        _ => 0,
    };
    let nth = nth.parse::<usize>().expect("a numbered fault") + before;
    format!("{}:{}:{}:{}:{nth}{persistent}", parts[0], parts[1], parts[2], parts[3])
}

/// memdisk's first endpoint (its slot's generation 0).
const MEMDISK: Endpoint = Endpoint::new(8, 0);
/// The disk's size as the manifest declares it: 1,025 pages.
const DISK_SIZE: u64 = 1025 * 4096;
/// Where the tests' own blocks go: the disk's last 16 blocks, which mfs (whose file system is on
/// the same disk, allocating from its start) does not reach in these tests — the checker compares
/// the blocks mfs holds with the disk.
const TEST_AREA: u64 = DISK_SIZE - 16 * 4096;

/// The system's manifest, with user processes allowed to send bdev requests to memdisk (the test
/// plays the file system's part).
fn config() -> MachineConfig {
    let text = DEFAULT_MANIFEST.replace(
        "user {\n    ipc pm vfs vm;",
        "user {\n    ipc pm vfs vm memdisk ds;\n    calls memdisk 0x300..0x3FF;\n    calls ds 0x800..0x8FF;",
    );
    assert_ne!(text, DEFAULT_MANIFEST, "the user block is where the test expects it");
    let manifest = Manifest::parse(&text, "test.conf", &|_| None).expect("the test manifest is valid");
    MachineConfig { manifest: Arc::new(manifest), check_invariants: true, ..MachineConfig::default() }
}

/// Sends one bdev request; the status of the driver's BDEV_REPLY (checking it echoes the id), or
/// the errno of a failed IPC.
fn status(sys: &Sys<'_>, m: Message) -> Result<i32, Errno> {
    let id = request_id(&m);
    let answer = sys.call(MEMDISK, m)?;
    assert_eq!(answer.m_type, BDEV_REPLY, "the driver answers BDEV_REPLY");
    let reply: BdevReply = answer.get();
    assert_eq!(reply.id, id, "the answer names the request");
    if reply.status < 0 { Err(Errno::from_status(reply.status)) } else { Ok(reply.status) }
}

fn open(id: u32, minor: u32, access: u32) -> Message {
    Message::with(BDEV_OPEN, &BdevOpenRequest { id, minor, access })
}

fn close(id: u32) -> Message {
    Message::with(BDEV_CLOSE, &BdevMinorRequest { id, minor: MEMDISK_MINOR })
}

fn io(t: i32, id: u32, grant: GrantId, position: u64, count: u64) -> Message {
    Message::with(t, &BdevIoRequest { id, minor: MEMDISK_MINOR, grant, position, count })
}

fn ioctl(id: u32, request: u32) -> Message {
    Message::with(BDEV_IOCTL, &BdevIoctlRequest { id, minor: MEMDISK_MINOR, request })
}

/// Boots, runs `init` (which says what it saw), and returns what it said, the checker's verdict,
/// the machine and the stopped system's snapshot (the checker's input).
fn run_full(
    config: &MachineConfig,
    init: impl FnOnce(&Sys<'_>, &Log) + Send + 'static,
) -> (Vec<String>, Vec<String>, Machine, Snapshot) {
    let log = Log::default();
    let said = log.clone();
    let mut machine = boot(config, move |sys| {
        init(sys, &said);
        0
    });
    machine.run();
    let mut snapshot = Snapshot::take(&machine);
    let verdict = checker::check(&mut snapshot).iter().map(|v| v.to_string()).collect();
    (log.lines(), verdict, machine, snapshot)
}

/// [`run_full`] without the snapshot.
fn run(
    config: &MachineConfig,
    init: impl FnOnce(&Sys<'_>, &Log) + Send + 'static,
) -> (Vec<String>, Vec<String>, Machine) {
    let (seen, verdict, machine, _) = run_full(config, init);
    (seen, verdict, machine)
}

#[test]
fn every_request_answers_its_errors_and_the_checker_is_clean() {
    let (seen, verdict, _) = run(&config(), |sys, log| {
        let p = sys.proc();
        let say = |what: &str, r: Result<i32, Errno>| log.say(format!("{what}: {r:?}"));
        // Not open yet: every request but open is EBADF.
        say("read unopened", status(sys, io(BDEV_READ, 1, 0, 0, 512)));
        say("ioctl unopened", status(sys, ioctl(2, DIOCGETP)));
        say("close unopened", status(sys, close(3)));
        say("open minor 1", status(sys, open(4, 1, BDEV_R_BIT)));
        say("open no access", status(sys, open(5, MEMDISK_MINOR, 0)));
        say("open unknown bit", status(sys, open(6, MEMDISK_MINOR, 0x8)));
        say("open rw", status(sys, open(7, MEMDISK_MINOR, BDEV_R_BIT | BDEV_W_BIT)));
        let geometry: BdevGeometryReply = sys.call(MEMDISK, ioctl(8, DIOCGETP)).unwrap().get();
        log.say(format!("geometry: {} bytes, blocks of {}", geometry.size, geometry.block_size));
        let say = |what: &str, r: Result<i32, Errno>| log.say(format!("{what}: {r:?}"));
        say("ioctl unknown", status(sys, ioctl(9, 0x77)));
        // A block written, then read back elsewhere in the caller's memory.
        let block: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 251) as u8).collect();
        p.mem_write(SCRATCH, &block).unwrap();
        let lent = p.grant(MEMDISK, SCRATCH, 4096, Access::Read);
        say("write a block", status(sys, io(BDEV_WRITE, 10, lent, TEST_AREA, 4096)));
        p.revoke(lent);
        let into = SCRATCH + 8192;
        let lent = p.grant(MEMDISK, into, 4096, Access::Write);
        say("read it", status(sys, io(BDEV_READ, 11, lent, TEST_AREA, 4096)));
        let mut back = vec![0u8; 4096];
        p.mem_read(into, &mut back).unwrap();
        log.say(format!("read back equal: {}", back == block));
        // Alignment, range, the end of the disk.
        say("unaligned position", status(sys, io(BDEV_READ, 12, lent, 100, 512)));
        say("unaligned count", status(sys, io(BDEV_READ, 13, lent, 0, 100)));
        say("over max transfer", status(sys, io(BDEV_READ, 14, lent, 0, MAX_TRANSFER + 512)));
        say("overflowing position", status(sys, io(BDEV_READ, 15, lent, u64::MAX - 511, 512)));
        say("at the end", status(sys, io(BDEV_READ, 16, lent, DISK_SIZE, 512)));
        say("across the end", status(sys, io(BDEV_READ, 17, lent, DISK_SIZE - 512, 1024)));
        say("last sector", status(sys, io(BDEV_READ, 18, lent, DISK_SIZE - 512, 512)));
        say("nothing", status(sys, io(BDEV_READ, 19, lent, 0, 0)));
        p.revoke(lent);
        // Bad grants: not one, too short, the wrong way.
        say("no such grant", status(sys, io(BDEV_WRITE, 20, 999, 0, 512)));
        let short = p.grant(MEMDISK, SCRATCH, 512, Access::ReadWrite);
        say("short grant", status(sys, io(BDEV_WRITE, 21, short, 0, 1024)));
        p.revoke(short);
        let read_only = p.grant(MEMDISK, SCRATCH, 512, Access::Read);
        say("read into a read grant", status(sys, io(BDEV_READ, 22, read_only, 0, 512)));
        p.revoke(read_only);
        let revoked = p.grant(MEMDISK, SCRATCH, 512, Access::Read);
        p.revoke(revoked);
        say("revoked grant", status(sys, io(BDEV_WRITE, 23, revoked, 0, 512)));
        // Opened for reading only: no writes.
        say("close rw", status(sys, close(24)));
        say("open r", status(sys, open(25, MEMDISK_MINOR, BDEV_R_BIT)));
        let lent = p.grant(MEMDISK, SCRATCH, 512, Access::Read);
        say("write read-only", status(sys, io(BDEV_WRITE, 26, lent, 0, 512)));
        p.revoke(lent);
        say("open r again", status(sys, open(27, MEMDISK_MINOR, BDEV_R_BIT)));
        say("close 1 of 2", status(sys, close(28)));
        say("close 2 of 2", status(sys, close(29)));
        say("close again", status(sys, close(30)));
        say(
            "unknown request",
            sys.call(MEMDISK, Message::new(kernel_sim::msgtype::BDEV_BASE + 0x7F)).map(|m| m.m_type),
        );
    });
    let expected = [
        "read unopened: Err(EBADF)",
        "ioctl unopened: Err(EBADF)",
        "close unopened: Err(EBADF)",
        "open minor 1: Err(ENXIO)",
        "open no access: Err(EINVAL)",
        "open unknown bit: Err(EINVAL)",
        "open rw: Ok(0)",
        "geometry: 4198400 bytes, blocks of 4096",
        "ioctl unknown: Err(ENOTTY)",
        "write a block: Ok(4096)",
        "read it: Ok(4096)",
        "read back equal: true",
        "unaligned position: Err(EINVAL)",
        "unaligned count: Err(EINVAL)",
        "over max transfer: Err(EINVAL)",
        "overflowing position: Err(EINVAL)",
        "at the end: Err(EIO)",
        "across the end: Err(EIO)",
        "last sector: Ok(512)",
        "nothing: Ok(0)",
        "no such grant: Err(EPERM)",
        "short grant: Err(EFAULT)",
        "read into a read grant: Err(EPERM)",
        "revoked grant: Err(EPERM)",
        "close rw: Ok(0)",
        "open r: Ok(0)",
        "write read-only: Err(EBADF)",
        "open r again: Ok(0)",
        "close 1 of 2: Ok(0)",
        "close 2 of 2: Ok(0)",
        "close again: Err(EBADF)",
        "unknown request: Err(ENOSYS)",
    ];
    assert_eq!(seen, expected);
    assert_eq!(verdict, Vec::<String>::new(), "the checker finds the driver consistent");
}

/// libbdev's port for a user process playing the file system: the driver is looked up in ds, and
/// news of it is waited for by looking again until its endpoint changes (a server's port waits
/// for ds's notification instead).
struct UserPort<'a> {
    sys: &'a Sys<'a>,
    lookups: u32,
    last: Option<Endpoint>,
}

impl UserPort<'_> {
    fn retrieve(&mut self, label: &str) -> Result<Endpoint, Errno> {
        let answer = self.sys.call(DS, ds::name_message(ds::DS_RETRIEVE, label)?)?;
        match ds::retrieved(&answer)? {
            ds::DsValue::Endpoint(ep) => Ok(ep),
            ds::DsValue::U64(_) => Err(Errno::EINVAL),
        }
    }
}

impl Port for UserPort<'_> {
    fn proc(&self) -> &Proc {
        self.sys.proc()
    }
    fn request(&mut self, driver: Endpoint, m: Message) -> Result<Message, Errno> {
        self.sys.call(driver, m)
    }
    fn follow(&mut self, _label: &str) -> Result<(), Errno> {
        // A user process is no ds subscriber: it polls (see await_news).
        Ok(())
    }
    fn lookup(&mut self, label: &str) -> Result<Endpoint, Errno> {
        self.lookups += 1;
        let ep = self.retrieve(label)?;
        self.last = Some(ep);
        Ok(ep)
    }
    fn await_news(&mut self, label: &str) {
        for _ in 0..RESTART_TURNS {
            if self.retrieve(label).ok() != self.last {
                return;
            }
            self.sys.proc().yield_now();
        }
    }
}

/// Scheduler turns the user port waits for the driver's new endpoint in ds.
const RESTART_TURNS: u32 = 50;

/// Blocks of the file written and read in the I/O tests.
const FILE_BLOCKS: u64 = 6;

fn block_of(n: u64) -> Vec<u8> {
    (0..BLOCK_SIZE).map(|i| ((i + 31 * n) % 253) as u8).collect()
}

/// Writes FILE_BLOCKS blocks, reads them back and compares, closes; says what happened.
fn block_io(sys: &Sys<'_>, log: &Log) {
    let mut port = UserPort { sys, lookups: 0, last: None };
    let mut driver = Driver::new(MEMDISK_LABEL, MEMDISK_MINOR, SCRATCH, SCRATCH_LEN);
    let opened = libbdev::open(&mut port, &mut driver, BDEV_R_BIT | BDEV_W_BIT);
    log.say(format!("open: {opened:?}"));
    let size = libbdev::geometry(&mut port, &mut driver).map(|g| g.size);
    log.say(format!("size: {size:?}"));
    let written: Result<(), Errno> = (0..FILE_BLOCKS)
        .try_for_each(|n| libbdev::write(&mut port, &mut driver, TEST_AREA + n * BLOCK_SIZE, &block_of(n)));
    log.say(format!("write: {written:?}"));
    let mut intact = true;
    for n in 0..FILE_BLOCKS {
        let mut back = vec![0u8; BLOCK_SIZE as usize];
        let read = libbdev::read(&mut port, &mut driver, TEST_AREA + n * BLOCK_SIZE, &mut back);
        intact &= read.is_ok() && back == block_of(n);
    }
    log.say(format!("intact: {intact}"));
    log.say(format!("close: {:?}", libbdev::close(&mut port, &mut driver)));
    log.say(format!("lookups: {}", port.lookups));
}

#[test]
fn libbdev_writes_and_reads_blocks() {
    let (seen, verdict, _) = run(&config(), block_io);
    assert_eq!(
        seen,
        ["open: Ok(())", "size: Ok(4198400)", "write: Ok(())", "intact: true", "close: Ok(())", "lookups: 1"]
    );
    assert_eq!(verdict, Vec::<String>::new());
}

/// A crash of memdisk in the middle of the I/O (on its third write, and on its second read): the
/// client finds it dead, waits, looks it up again, re-opens and sends the request again. The I/O
/// completes, the blocks written before the crash are still on the disk, and the checker finds
/// the system clean.
#[test]
fn a_driver_crash_mid_io_is_ridden_out() {
    let faults =
        ["panic:memdisk:bdev_write:start:3", "panic:memdisk:bdev_write:end:3", "panic:memdisk:bdev_read:start:2"];
    let recovering = recovery::PolicyKind::ALL.into_iter().filter(|&p| p != recovery::PolicyKind::None);
    for (fault, policy) in faults.into_iter().flat_map(|f| recovering.clone().map(move |p| (f, p))) {
        let fault = &*format!("{fault} under {policy}");
        let mut config = config();
        config.policy = policy;
        config.fault = Some(after_mount(fault.split(' ').next().unwrap()).parse::<FaultSpec>().unwrap());
        let (seen, verdict, machine) = run(&config, block_io);
        assert!(machine.injector.as_ref().unwrap().fired(), "{fault} fired");
        assert_eq!(seen[..4], ["open: Ok(())", "size: Ok(4198400)", "write: Ok(())", "intact: true"], "{fault}");
        assert_eq!(seen[4], "close: Ok(())", "{fault}");
        // The driver was looked up again after its crash.
        assert_eq!(seen[5], "lookups: 2", "{fault}");
        let decisions = machine.decisions.records();
        assert!(decisions.iter().any(|d| d.server == "memdisk"), "{fault}: rs recovered memdisk: {decisions:?}");
        assert_eq!(verdict, Vec::<String>::new(), "{fault}");
    }
}

/// A file system's stand-in: a server whose requests write and read blocks through libbdev on its
/// task loop's `Ctx` — the driver found by name in ds, a restart learnt from ds's notification —
/// as mfs does.
struct BlockUser;

/// Its state: what it knows of the driver (tracked, as a file system keeps it).
struct BlockUserState {
    journal: recovery::Journal,
    driver: recovery::TrackedCell<Driver>,
}

recovery::tracked_state!(BlockUserState { journal: journal, fields: [driver] });

/// BlockUser's requests (a test range of its own).
const T_OPEN: i32 = 0x2F0;
const T_WRITE: i32 = 0x2F1;
const T_READ: i32 = 0x2F2;

kernel_sim::payload! {
    /// T_WRITE, T_READ: which block.
    struct BlockRequest { block: u64 }
}

type BlockCtx<'a> = os::task::Ctx<'a, BlockUserState>;

/// Runs one libbdev call on the driver the state knows, keeping what it learnt.
fn with_driver<R>(ctx: &mut BlockCtx<'_>, f: impl FnOnce(&mut BlockCtx<'_>, &mut Driver) -> R) -> R {
    let mut driver = ctx.state.driver.get().clone();
    let result = f(ctx, &mut driver);
    ctx.state.driver.set(driver);
    result
}

/// T_OPEN: opens the disk and asks its geometry (a file system's mount); answers the size in blocks.
fn do_open(ctx: &mut BlockCtx<'_>) -> Handled {
    let opened = with_driver(ctx, |ctx, d| {
        libbdev::open(ctx, d, BDEV_R_BIT | BDEV_W_BIT)?;
        libbdev::geometry(ctx, d)
    });
    Handled::status(opened.map(|g| (g.size / g.block_size) as i32))
}

fn do_write(ctx: &mut BlockCtx<'_>) -> Handled {
    let n = ctx.m.get::<BlockRequest>().block;
    Handled::status(
        with_driver(ctx, |ctx, d| libbdev::write(ctx, d, TEST_AREA + n * BLOCK_SIZE, &block_of(n))).map(|()| 0),
    )
}

/// T_READ: 1 when the block reads back as written, 0 when not.
fn do_read(ctx: &mut BlockCtx<'_>) -> Handled {
    let n = ctx.m.get::<BlockRequest>().block;
    let mut back = vec![0u8; BLOCK_SIZE as usize];
    let read = with_driver(ctx, |ctx, d| libbdev::read(ctx, d, TEST_AREA + n * BLOCK_SIZE, &mut back));
    Handled::status(read.map(|()| i32::from(back == block_of(n))))
}

static BLOCK_USER_CALLS: &[Call<BlockUserState>] = &[
    Call { m_type: T_OPEN, name: "t_open", handler: do_open },
    Call { m_type: T_WRITE, name: "t_write", handler: do_write },
    Call { m_type: T_READ, name: "t_read", handler: do_read },
];

/// Bytes of BlockUser's declared memory: its transfer buffer.
const BLOCK_USER_BUFFER: u64 = 4 * BLOCK_SIZE;

impl Server for BlockUser {
    const NAME: &'static str = "blockuser";
    type State = BlockUserState;
    fn calls() -> &'static [Call<BlockUserState>] {
        BLOCK_USER_CALLS
    }
    fn boot(proc: &Proc) -> BlockUserState {
        BlockUser::fresh(proc)
    }
    fn fresh(_proc: &Proc) -> BlockUserState {
        let journal = recovery::Journal::new();
        let driver = Driver::new(MEMDISK_LABEL, MEMDISK_MINOR, SERVICE_MEMORY_BASE, BLOCK_USER_BUFFER);
        BlockUserState {
            driver: recovery::TrackedCell::new(&journal, "blockuser.driver", recovery::StateClass::Global, driver),
            journal,
        }
    }
}

/// The system's manifest with BlockUser in slot 10 (users call it; it calls ds and memdisk).
fn block_user_config() -> MachineConfig {
    let service = "service blockuser {\n    slot 10;\n    ipc rs ds memdisk;\n    calls ds 0x800..0x8FF;\n    calls memdisk 0x300..0x3FF;\n    kernel safecopy;\n    sigmgr rs;\n    heartbeat 1s;\n    restart first 0s backoff 1s max 30s minrun 50ms intensity 5 per 10s;\n    memory 4;\n};\n\nuser {\n    ipc pm vfs vm blockuser;\n    calls blockuser 0x2F0..0x2FF;";
    let text = DEFAULT_MANIFEST.replace("user {\n    ipc pm vfs vm;", service);
    let manifest = Manifest::parse(&text, "test.conf", &|_| None).expect("the test manifest is valid");
    MachineConfig { manifest: Arc::new(manifest), check_invariants: true, ..MachineConfig::default() }
}

/// Boots with BlockUser, whose client opens the disk, writes FILE_BLOCKS blocks and reads them
/// back; what init saw, the checker's verdict, what BlockUser knows of the driver at the end.
fn run_block_user(config: &MachineConfig) -> (Vec<String>, Vec<String>, Machine, Option<Driver>) {
    let log = Log::default();
    let said = log.clone();
    let mut machine = boot(config, move |sys| {
        let ask =
            |t: i32, block: u64| sys.call(BLOCK_USER, Message::with(t, &BlockRequest { block })).map(|m| m.m_type);
        said.say(format!("open: {:?}", ask(T_OPEN, 0)));
        let written: Result<Vec<i32>, Errno> = (0..FILE_BLOCKS).map(|n| ask(T_WRITE, n)).collect();
        said.say(format!("write: {written:?}"));
        let intact: Result<Vec<i32>, Errno> = (0..FILE_BLOCKS).map(|n| ask(T_READ, n)).collect();
        said.say(format!("intact: {}", intact.is_ok_and(|v| v.iter().all(|&ok| ok == 1))));
        0
    });
    let env = os::task::ServerEnv { vault: machine.vault.clone(), check_invariants: true, ..Default::default() };
    machine.system.register_program(
        BlockUser::NAME,
        Arc::new(move |proc: &Proc, start: kernel_sim::Start| os::task::run::<BlockUser>(proc, start, env.clone())),
    );
    machine.run();
    let mut snapshot = Snapshot::take(&machine);
    let mut verdict: Vec<String> = checker::check(&mut snapshot).iter().map(|v| v.to_string()).collect();
    let driver = machine.vault.take::<BlockUserState>(BlockUser::NAME).map(|mut s| s.driver.get().clone());
    // The file system's view of the driver against the driver's (the cross-check mfs gets).
    if let (Some(disk), Some(view)) = (snapshot.memdisk.as_mut(), driver.as_ref()) {
        let client = checker::memdisk::check_client(disk, &snapshot.procs, BLOCK_USER, view);
        verdict.extend(client.iter().map(|v| v.to_string()));
    }
    (log.lines(), verdict, machine, driver)
}

/// BlockUser's endpoint (slot 10, first generation).
const BLOCK_USER: Endpoint = Endpoint::new(10, 0);

#[test]
fn a_server_finds_the_driver_through_ds_and_keeps_one_open() {
    let (seen, verdict, _, driver) = run_block_user(&block_user_config());
    let write_ok = format!("write: Ok({:?})", vec![0; FILE_BLOCKS as usize]);
    assert_eq!(seen, ["open: Ok(1025)", write_ok.as_str(), "intact: true"]);
    assert_eq!(verdict, Vec::<String>::new());
    let driver = driver.expect("BlockUser left its state");
    assert_eq!((driver.endpoint, driver.opens), (Some(MEMDISK), 1), "found in ds at its first endpoint, opened once");
    assert_eq!(driver.size, Some(DISK_SIZE));
}

/// memdisk crashes in the middle of BlockUser's I/O: rs restarts it under a new endpoint and
/// publishes it in ds; BlockUser's request failed with the dead endpoint, it waits for ds's
/// notification, looks the driver up again, re-opens and re-sends. Every request completes, the
/// blocks read back as written, the driver's count of BlockUser's opens is the one BlockUser
/// believes it holds, and the checker finds the system clean — under every recovering policy.
#[test]
fn a_driver_restart_is_found_again_through_ds_notification() {
    let faults = [
        "panic:memdisk:bdev_write:start:3",
        "panic:memdisk:bdev_write:end:4",
        "panic:memdisk:bdev_read:start:2",
        "panic:memdisk:bdev_open:start:1",
        "panic:memdisk:bdev_open:end:1",
        "panic:memdisk:bdev_ioctl:end:1",
        // Found hung by rs's heartbeats (BlockUser, waiting on it, is not the hung one), killed.
        "hang:memdisk:bdev_write:start:2",
    ];
    let recovering = recovery::PolicyKind::ALL.into_iter().filter(|&p| p != recovery::PolicyKind::None);
    for (fault, policy) in faults.into_iter().flat_map(|f| recovering.clone().map(move |p| (f, p))) {
        let mut config = block_user_config();
        config.policy = policy;
        config.fault = Some(after_mount(fault).parse::<FaultSpec>().unwrap());
        let (seen, verdict, machine, driver) = run_block_user(&config);
        let what = format!("{fault} under {policy}");
        assert!(machine.injector.as_ref().unwrap().fired(), "{what} fired");
        let write_ok = format!("write: Ok({:?})", vec![0; FILE_BLOCKS as usize]);
        assert_eq!(seen, ["open: Ok(1025)", write_ok.as_str(), "intact: true"], "{what}");
        assert_eq!(verdict, Vec::<String>::new(), "{what}");
        let driver = driver.expect("BlockUser left its state");
        let now = driver.endpoint.expect("looked up");
        assert_eq!((now.slot(), now.generation(), driver.opens), (8, 1, 1), "{what}: the driver's second endpoint");
    }
}

/// The checker's memdisk invariants, each broken on a real stopped system (BlockUser holding one
/// open of the disk): it names every one.
#[test]
fn the_checker_finds_broken_driver_state() {
    use os::memdisk::state::{MemdiskState, Opening};
    fn stopped() -> Snapshot {
        let log = Log::default();
        let said = log.clone();
        let mut machine = boot(&block_user_config(), move |sys| {
            said.say(format!("{:?}", sys.call(BLOCK_USER, Message::with(T_OPEN, &BlockRequest { block: 0 }))));
            0
        });
        let env = os::task::ServerEnv { vault: machine.vault.clone(), ..Default::default() };
        machine.system.register_program(
            BlockUser::NAME,
            Arc::new(move |proc: &Proc, start: kernel_sim::Start| os::task::run::<BlockUser>(proc, start, env.clone())),
        );
        machine.run();
        assert!(log.lines()[0].starts_with("Ok("), "BlockUser opened the disk: {:?}", log.lines());
        Snapshot::take(&machine)
    }
    fn broken(s: &mut Snapshot) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = checker::check(s).iter().map(|v| v.invariant).collect();
        names.dedup();
        names
    }
    fn disk(s: &mut Snapshot) -> &mut MemdiskState {
        s.memdisk.as_mut().expect("memdisk left its state")
    }
    let mut s = stopped();
    assert_eq!(checker::check(&mut s), [], "clean as it stopped");
    let opener = BLOCK_USER.raw();
    let held = disk(&mut s).opens.get(&opener).cloned().expect("BlockUser's open");
    assert_eq!(held.count(), 1);

    disk(&mut s).opens.insert(opener, Opening { ids: Vec::new(), ..held.clone() });
    assert_eq!(broken(&mut s), ["memdisk.open-count"]);

    let mut s = stopped();
    disk(&mut s).opens.insert(opener, Opening { ids: vec![held.ids[0], held.ids[0]], ..held.clone() });
    assert!(broken(&mut s).contains(&"memdisk.open-count"));

    let mut s = stopped();
    disk(&mut s).opens.insert(opener, Opening { access: 0x10, ..held.clone() });
    assert_eq!(broken(&mut s), ["memdisk.open-access"]);

    let mut s = stopped();
    disk(&mut s).size.set(DISK_SIZE - 100);
    // mfs was told the size at its mount: its view disagrees now too.
    assert_eq!(broken(&mut s), ["memdisk.geometry", "memdisk.client-size"]);

    // mfs believes it holds an open the driver does not count.
    let mut s = stopped();
    let mfs = s.mfs.as_mut().expect("mfs left its state");
    let mut view = mfs.disk.get().clone().expect("mfs mounted its disk");
    view.opens += 1;
    mfs.disk.set(Some(view));
    assert_eq!(broken(&mut s), ["memdisk.client-opens"]);

    // An open held by a process the kernel does not run (a dead file system's leak).
    let mut s = stopped();
    disk(&mut s).opens.insert(Endpoint::new(12, 3).raw(), held.clone());
    assert_eq!(broken(&mut s), ["memdisk.opener-alive"]);

    // An open made to an earlier incarnation is stale, not a leak: the opener re-opens.
    let mut s = stopped();
    let earlier = Endpoint::new(8, 7);
    disk(&mut s).opens.insert(Endpoint::new(12, 3).raw(), Opening { via: earlier, ..held });
    assert_eq!(checker::check(&mut s), []);

    // A block mfs wrote back reads otherwise on the disk (a lost or damaged write).
    let mut s = stopped();
    assert!(!s.disk_blocks.is_empty(), "mfs's tree is on the disk");
    s.disk_blocks[0].1[5] ^= 0x10;
    assert_eq!(broken(&mut s), ["mfs.disk-blocks"]);

    // The disk carries another geometry's superblock (a garbled format).
    let mut s = stopped();
    assert!(s.superblock.is_some(), "the superblock was read");
    assert_eq!(checker::check(&mut s), [], "the disk carries mfs's superblock");
    let mut other = os::mfs::superblock::Superblock::ours(os::mfs::state::Sizes::DEFAULT);
    other.blocks += 1;
    *s.superblock.as_mut().unwrap() = other.encode();
    assert_eq!(broken(&mut s), ["mfs.superblock"]);

    let mut s = stopped();
    s.memdisk = None;
    assert_eq!(broken(&mut s), ["server.state"]);
}

/// A persistent bug in the driver's writes: every write from the third crashes it. The driver
/// comes back under a new endpoint each time, and the client sends the write again, as MINIX's
/// libbdev does: at most DRIVER_TRIES times, then it gives up with EDEADSRCDST. The write fails,
/// nothing hangs, and the system is consistent.
#[test]
fn a_persistent_driver_bug_fails_the_write_after_the_clients_retries() {
    let mut config = block_user_config();
    config.fault = Some(after_mount("panic:memdisk:bdev_write:start:3+").parse::<FaultSpec>().unwrap());
    let (seen, verdict, machine, _) = run_block_user(&config);
    let decisions: Vec<String> = machine.decisions.records().iter().map(|d| d.to_string()).collect();
    assert_eq!(seen, ["open: Ok(1025)", "write: Err(EDEADSRCDST)", "intact: false"], "{decisions:#?}");
    assert_eq!(decisions.len(), libbdev::DRIVER_TRIES as usize + 1, "{decisions:#?}");
    assert!(decisions.iter().all(|d| d.contains("restart+resend")), "{decisions:#?}");
    assert_eq!(verdict, Vec::<String>::new());
}

/// Bytes of the file the file-I/O tests write: eight of mfs's 1 KiB blocks and a bit.
const FILE_BYTES: usize = 8 * 1024 + 100;

fn file_bytes() -> Vec<u8> {
    (0..FILE_BYTES).map(|i| (i * 13 % 251) as u8).collect()
}

/// A user writes a file through vfs and mfs in chunks and reads it back; what it saw.
fn file_io(sys: &Sys<'_>, log: &Log) {
    let data = file_bytes();
    let fd = sys.creat("/tmp/big", 0o644).expect("creat");
    let written: Result<usize, Errno> = data.chunks(1000).map(|c| sys.write(fd, c)).sum();
    log.say(format!("written: {written:?}"));
    sys.close(fd).unwrap();
    let fd = sys.open("/tmp/big", 0, 0).expect("open");
    let mut back = vec![0u8; FILE_BYTES + 10];
    let mut got = 0;
    while let Ok(n) = sys.read(fd, &mut back[got..]) {
        if n == 0 {
            break;
        }
        got += n;
    }
    log.say(format!("intact: {}", got == FILE_BYTES && back[..got] == data[..]));
    sys.close(fd).unwrap();
}

/// mfs keeps its blocks on memdisk: a file's blocks are written to the driver, and the disk
/// holds them as written (read back from the driver's memory through the kernel's table).
#[test]
fn mfs_writes_its_blocks_through_the_driver() {
    let (seen, verdict, _, mut snapshot) = run_full(&MachineConfig::default(), file_io);
    assert_eq!(seen, [format!("written: Ok({FILE_BYTES})"), "intact: true".to_string()]);
    assert_eq!(verdict, Vec::<String>::new());
    let mfs = snapshot.mfs.as_mut().expect("mfs left its state");
    let view = mfs.disk.get().clone().expect("mfs opened its disk");
    assert_eq!((view.endpoint, view.opens, view.size), (Some(MEMDISK), 1, Some(DISK_SIZE)));
    assert!(mfs.dirty.is_empty(), "every block written back");
}

/// memdisk crashes in the middle of a user's file I/O (on a block write of the file, at the start
/// or the end of the request, or hung): mfs's block write fails with the dead endpoint, mfs waits
/// for ds's notification, finds the driver's new endpoint, re-opens and writes again. The user's
/// I/O completes, the file reads back intact, and the checker (mfs's view of the disk against the
/// driver's included) finds the system clean, under every recovering policy.
#[test]
fn a_driver_crash_in_the_middle_of_file_io_is_ridden_out() {
    // The file's blocks are written after the mount's; mfs's own open is the mount's.
    let faults = [
        after_mount("panic:memdisk:bdev_write:start:3"),
        after_mount("panic:memdisk:bdev_write:end:6"),
        "panic:memdisk:bdev_open:start:1".to_string(),
        "panic:memdisk:bdev_ioctl:end:1".to_string(),
        after_mount("hang:memdisk:bdev_write:start:4"),
    ];
    let recovering = recovery::PolicyKind::ALL.into_iter().filter(|&p| p != recovery::PolicyKind::None);
    for (fault, policy) in faults.iter().flat_map(|f| recovering.clone().map(move |p| (f, p))) {
        let what = format!("{fault} under {policy}");
        let config = MachineConfig {
            policy,
            fault: Some(fault.parse::<FaultSpec>().unwrap()),
            check_invariants: true,
            ..MachineConfig::default()
        };
        let (seen, verdict, machine, mut snapshot) = run_full(&config, file_io);
        assert!(machine.injector.as_ref().unwrap().fired(), "{what} fired");
        assert_eq!(seen, [format!("written: Ok({FILE_BYTES})"), "intact: true".to_string()], "{what}");
        assert_eq!(verdict, Vec::<String>::new(), "{what}");
        let view = snapshot.mfs.as_mut().unwrap().disk.get().clone().expect("mounted");
        let now = view.endpoint.expect("looked up");
        assert_eq!(
            (now.slot(), now.generation(), view.opens),
            (8, 1, 1),
            "{what}: found at the driver's next endpoint"
        );
    }
}

/// MINIX's read_super: mfs reads its disk's superblock whenever it opens the disk. Here a user
/// (playing a careless administrator) formats the disk's superblock for another geometry, then
/// mfs crashes on a create and comes back fresh (policy restart; the create is handled again by
/// the new incarnation): its write-backs open the disk, find the foreign superblock and refuse it
/// (EINVAL, which fsync reports); the checker names the foreign superblock.
#[test]
fn a_fresh_mfs_refuses_a_disk_formatted_for_another_file_system() {
    use os::mfs::superblock::{SUPERBLOCK_AT, Superblock};
    use os::proto::vfs::flags::{O_CREAT, O_RDONLY, O_WRONLY};
    let config = MachineConfig {
        policy: recovery::PolicyKind::Restart,
        fault: Some("panic:mfs:req_create:start:1".parse().unwrap()),
        ..config()
    };
    let (seen, verdict, _) = run(&config, |sys, log| {
        let p = sys.proc();
        let say = |what: &str, r: &dyn std::fmt::Debug| log.say(format!("{what}: {r:?}"));
        say("open", &status(sys, open(1, MEMDISK_MINOR, BDEV_R_BIT | BDEV_W_BIT)));
        let mut foreign = Superblock::ours(os::mfs::state::Sizes::DEFAULT);
        foreign.inodes *= 2;
        p.mem_write(SCRATCH, &foreign.encode()).unwrap();
        let lent = p.grant(MEMDISK, SCRATCH, 1024, Access::Read);
        say("format", &status(sys, io(BDEV_WRITE, 2, lent, SUPERBLOCK_AT, 1024)));
        p.revoke(lent);
        say("create", &sys.open("/tmp/new", O_CREAT | O_WRONLY, 0o644).map(drop));
        let fd = sys.open("/etc/motd", O_RDONLY, 0);
        say("open motd", &fd.map(drop));
        say("fsync", &sys.fsync(fd.unwrap()));
    });
    assert_eq!(seen, ["open: Ok(0)", "format: Ok(1024)", "create: Ok(())", "open motd: Ok(())", "fsync: Err(EINVAL)"]);
    assert!(verdict.iter().any(|v| v.starts_with("mfs.superblock")), "{verdict:#?}");
}

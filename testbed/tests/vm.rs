//! vm end to end: brk, mmap, munmap, mprotect, mremap and the memory map (VM_REGIONS) as a user
//! process sees them (memory usable or faulting), fork copying memory, exit freeing it, running
//! out of frames, every error path, who may make which call, exec's new memory, and the
//! consistency checker's vm part — clean after every workload and catching deliberately broken
//! accounting and protections.
//!
//! Observations are logged from inside the simulated processes and compared at the end: a panic in
//! a simulated process would only end that process.

use kernel_sim::memory::Mapping;
use kernel_sim::msgtype::NOTIFY_MESSAGE;
use kernel_sim::{Config, EngineKind, KernelError, Manifest, Message, Proc, ProcInfo, RunEnd};
mod common;

use common::Log;
use os::errno::Errno;
use os::proto::pm::{PM_EXIT, PM_GETPID, PidReply, sig};
use os::proto::vm::layout::*;
use os::proto::vm::*;
use os::proto::{PM, VM, key_of};
use os::vm::state::{RegionKind, VmState};
use std::sync::{Arc, Mutex};
use testbed::boot::{DEFAULT_MANIFEST, Machine, MachineConfig, boot};
use testbed::checker::{self, Snapshot, Violation};
use userland::libc::Sys;

const ENGINES: [EngineKind; 2] = [EngineKind::Sim, EngineKind::Threads];

/// Frames of the small machines that run out of memory: init's image takes
/// `DEFAULT_TEXT_PAGES + STACK_PAGES` (18) of them.
const SMALL_FRAMES: usize = 64;

/// Where init's heap starts (its text is `DEFAULT_TEXT_PAGES` long).
const HEAP_START: u64 = TEXT_START + DEFAULT_TEXT_PAGES * PAGE;

fn config(engine: EngineKind, frames: usize) -> MachineConfig {
    MachineConfig {
        kernel: Config { engine, seed: 11, frames, time_limit: 30_000_000, ..Config::default() },
        // Every server checks its own invariants after every request.
        check_invariants: true,
        ..MachineConfig::default()
    }
}

/// Boots, runs `init` to the end, and returns how the run ended and the checker's findings.
fn run_checked(cfg: &MachineConfig, init: impl FnOnce(&Sys<'_>) -> i32 + Send + 'static) -> (RunEnd, Vec<Violation>) {
    let mut m = boot(cfg, init);
    let end = m.run().end;
    let mut snap = Snapshot::take(&m);
    (end, checker::check(&mut snap))
}

/// Runs `init` on `engine` and returns what it logged, after checking that the run finished and
/// left the system consistent.
fn observe(engine: EngineKind, frames: usize, init: impl FnOnce(&Sys<'_>, &Log) + Send + 'static) -> Vec<String> {
    let log = Log::default();
    let l = log.clone();
    let (end, violations) = run_checked(&config(engine, frames), move |sys| {
        init(sys, &l);
        0
    });
    assert_eq!(end, RunEnd::Finished, "{engine}");
    assert!(violations.is_empty(), "{engine}: {violations:#?}");
    log.lines()
}

fn read(p: &Proc, addr: u64, len: usize) -> Result<Vec<u8>, KernelError> {
    let mut out = vec![0; len];
    p.mem_read(addr, &mut out).map(|()| out)
}

fn read_str(p: &Proc, addr: u64, len: usize) -> String {
    read(p, addr, len).map_or_else(|e| format!("{e}"), |b| String::from_utf8_lossy(&b).into_owned())
}

#[test]
fn brk_grows_and_shrinks_the_heap() {
    for engine in ENGINES {
        let seen = observe(engine, Config::default().frames, |sys, log| {
            let p = sys.proc();
            let start = sys.vm_info().unwrap();
            let b0 = sys.brk(0).unwrap();
            log.say(format!("starts at the text's end: {}", b0 == HEAP_START));
            log.say(format!("empty heap: {:?}", p.mem_write(b0, b"x")));
            let want = b0 + 3 * PAGE + 100;
            log.say(format!("grow: {}", sys.brk(want) == Ok(want)));
            log.say(format!(
                "new memory is zero: {:?}",
                read(p, b0, 4 * PAGE as usize).map(|b| b.iter().all(|&x| x == 0))
            ));
            log.say(format!("below the break: {:?} {:?}", p.mem_write(b0, b"heap"), p.mem_write(want - 1, b"!")));
            log.say(format!("the rest of the last page: {:?}", p.mem_write(b0 + 4 * PAGE - 1, b"!")));
            log.say(format!("past it: {:?}", p.mem_write(b0 + 4 * PAGE, b"x")));
            log.say(format!("pages added: {}", sys.vm_info().unwrap().caller_pages - start.caller_pages));
            log.say(format!("shrink: {}", sys.brk(b0 + 10) == Ok(b0 + 10)));
            log.say(format!("unmapped: {:?}, kept: {}", p.mem_write(b0 + PAGE, b"x"), read_str(p, b0, 4)));
            log.say(format!(
                "brk(1) and brk(text): {:?} {:?}",
                sys.brk(1).map(|b| b - b0),
                sys.brk(TEXT_START).map(|b| b - b0)
            ));
            log.say(format!("sbrk(+page) gives the old break: {:?}", sys.sbrk(PAGE as i64).map(|b| b - b0)));
            log.say(format!("sbrk(-page) gives the old break: {:?}", sys.sbrk(-(PAGE as i64)).map(|b| b - b0)));
            log.say(format!("sbrk(0): {:?}", sys.sbrk(0).map(|b| b - b0)));
            // A page given back and taken again comes back zeroed.
            sys.brk(b0 + 2 * PAGE).unwrap();
            p.mem_write(b0 + PAGE, b"old").unwrap();
            sys.brk(b0 + PAGE).unwrap();
            sys.brk(b0 + 2 * PAGE).unwrap();
            log.say(format!("regrown page: {:?}", read(p, b0 + PAGE, 3)));
            log.say(format!("past the heap limit: {:?}", sys.brk(HEAP_LIMIT + 1)));
            log.say(format!("at the top of memory: {:?}", sys.brk(u64::MAX)));
            log.say(format!("more frames than the machine: {:?}", sys.brk(HEAP_LIMIT)));
            log.say(format!("sbrk below zero: {:?}", sys.sbrk(i64::MIN)));
            log.say(format!("sbrk below the heap: {:?}", sys.sbrk(-(HEAP_START as i64))));
            log.say(format!("break unchanged by failures: {:?}", sys.brk(0).map(|b| b - b0)));
            sys.brk(b0).unwrap();
            log.say(format!("all given back: {}", sys.vm_info().unwrap() == start));
        });
        assert_eq!(
            seen,
            [
                "starts at the text's end: true",
                "empty heap: Err(Fault)",
                "grow: true",
                "new memory is zero: Ok(true)",
                "below the break: Ok(()) Ok(())",
                "the rest of the last page: Ok(())",
                "past it: Err(Fault)",
                "pages added: 4",
                "shrink: true",
                "unmapped: Err(Fault), kept: heap",
                "brk(1) and brk(text): Ok(10) Ok(10)",
                "sbrk(+page) gives the old break: Ok(10)",
                "sbrk(-page) gives the old break: Ok(4106)",
                "sbrk(0): Ok(10)",
                "regrown page: Ok([0, 0, 0])",
                "past the heap limit: Err(ENOMEM)",
                "at the top of memory: Err(ENOMEM)",
                "more frames than the machine: Err(ENOMEM)",
                "sbrk below zero: Err(ENOMEM)",
                "sbrk below the heap: Err(ENOMEM)",
                "break unchanged by failures: Ok(8192)",
                "all given back: true",
            ],
            "{engine}"
        );
    }
}

#[test]
fn mmap_gives_zeroed_memory_placed_first_fit_and_munmap_splits() {
    for engine in ENGINES {
        let seen = observe(engine, Config::default().frames, |sys, log| {
            let p = sys.proc();
            let start = sys.vm_info().unwrap();
            let a = sys.mmap(3 * PAGE - 5, true).unwrap();
            log.say(format!("first at the base: {}", a == MMAP_BASE));
            log.say(format!("zeroed: {:?}", read(p, a, 3 * PAGE as usize).map(|b| b.iter().all(|&x| x == 0))));
            log.say(format!("writable: {:?} {:?}", p.mem_write(a, b"a0"), p.mem_write(a + PAGE, b"a1")));
            log.say(format!(
                "whole pages: {:?}, then nothing: {:?}",
                p.mem_write(a + 3 * PAGE - 1, b"!"),
                p.mem_write(a + 3 * PAGE, b"x")
            ));
            let ro = sys.mmap(PAGE, false).unwrap();
            log.say(format!("next one after it: {}", ro == a + 3 * PAGE));
            log.say(format!("read-only: write {:?}, read {:?}", p.mem_write(ro, b"x"), read(p, ro, 2)));
            // A hole at the front is found first.
            sys.munmap(a, PAGE).unwrap();
            log.say(format!("hole: {:?}, rest kept: {}", p.mem_write(a, b"x"), read_str(p, a + PAGE, 2)));
            let small = sys.mmap(100, true).unwrap();
            log.say(format!("first fit into the hole: {}, zeroed again: {:?}", small == a, read(p, small, 2)));
            // Unmapping the middle of a mapping splits it.
            let d = sys.mmap(4 * PAGE, true).unwrap();
            log.say(format!("after the read-only one: {}", d == ro + PAGE));
            for i in 0..4 {
                p.mem_write(d + i * PAGE, format!("d{i}").as_bytes()).unwrap();
            }
            sys.munmap(d + PAGE, PAGE).unwrap();
            log.say(format!(
                "split: {} {:?} {} {}",
                read_str(p, d, 2),
                p.mem_write(d + PAGE, b"x"),
                read_str(p, d + 2 * PAGE, 2),
                read_str(p, d + 3 * PAGE, 2)
            ));
            // One call may span a hole and several pieces; the length rounds up.
            sys.munmap(d + PAGE, 3 * PAGE - 1).unwrap();
            log.say(format!(
                "shrunk: {} {:?} {:?}",
                read_str(p, d, 2),
                p.mem_write(d + 2 * PAGE, b"x"),
                p.mem_write(d + 3 * PAGE, b"x")
            ));
            log.say(format!("pages used: {}", sys.vm_info().unwrap().caller_pages - start.caller_pages));
            for (addr, len) in [(d, PAGE), (ro, PAGE), (small, PAGE), (a + PAGE, 2 * PAGE)] {
                sys.munmap(addr, len).unwrap();
            }
            log.say(format!("all given back: {}", sys.vm_info().unwrap() == start));
        });
        assert_eq!(
            seen,
            [
                "first at the base: true",
                "zeroed: Ok(true)",
                "writable: Ok(()) Ok(())",
                "whole pages: Ok(()), then nothing: Err(Fault)",
                "next one after it: true",
                "read-only: write Err(Fault), read Ok([0, 0])",
                "hole: Err(Fault), rest kept: a1",
                "first fit into the hole: true, zeroed again: Ok([0, 0])",
                "after the read-only one: true",
                "split: d0 Err(Fault) d2 d3",
                "shrunk: d0 Err(Fault) Err(Fault)",
                "pages used: 5",
                "all given back: true",
            ],
            "{engine}"
        );
    }
}

#[test]
fn bad_mmap_and_munmap_arguments_get_errnos() {
    let seen = observe(EngineKind::Sim, Config::default().frames, |sys, log| {
        let p = sys.proc();
        let start = sys.vm_info().unwrap();
        sys.brk(HEAP_START + PAGE).unwrap();
        let a = sys.mmap(PAGE, true).unwrap();
        p.mem_write(a, b"kept").unwrap();
        let cases: [(&str, Result<u64, Errno>); 5] = [
            ("mmap of nothing", sys.mmap(0, true)),
            ("mmap of everything", sys.mmap(u64::MAX, true)),
            ("mmap past the mapping area", sys.mmap(MMAP_LIMIT - MMAP_BASE, true)),
            ("mmap of more frames than exist", sys.mmap(start.total * PAGE, true)),
            ("mmap of all free frames and one", sys.mmap((sys.vm_info().unwrap().free + 1) * PAGE, true)),
        ];
        for (what, r) in cases {
            log.say(format!("{what}: {:?}", r.map(|_| ())));
        }
        let unmaps = [
            ("unaligned", a + 1, PAGE),
            ("length 0", a, 0),
            ("nothing mapped", a + 4 * PAGE, PAGE),
            ("the text", TEXT_START, PAGE),
            ("the heap", HEAP_START, PAGE),
            ("the stack", STACK_START, PAGE),
            ("a mapping and the stack", a, STACK_START - a + PAGE),
            ("wrapping around", u64::MAX - PAGE + 1, 2 * PAGE),
            ("a length that wraps", a, u64::MAX),
        ];
        for (what, addr, len) in unmaps {
            log.say(format!("munmap of {what}: {:?}", sys.munmap(addr, len)));
        }
        log.say(format!("the mapping survived: {}", read_str(p, a, 4)));
        log.say(format!("the heap survived: {:?}", p.mem_write(HEAP_START, b"x")));
        sys.munmap(a, PAGE).unwrap();
        sys.brk(HEAP_START).unwrap();
        log.say(format!("all given back: {}", sys.vm_info().unwrap() == start));
    });
    assert_eq!(
        seen,
        [
            "mmap of nothing: Err(EINVAL)",
            "mmap of everything: Err(ENOMEM)",
            "mmap past the mapping area: Err(ENOMEM)",
            "mmap of more frames than exist: Err(ENOMEM)",
            "mmap of all free frames and one: Err(ENOMEM)",
            "munmap of unaligned: Err(EINVAL)",
            "munmap of length 0: Err(EINVAL)",
            "munmap of nothing mapped: Err(EINVAL)",
            "munmap of the text: Err(EINVAL)",
            "munmap of the heap: Err(EINVAL)",
            "munmap of the stack: Err(EINVAL)",
            "munmap of a mapping and the stack: Err(EINVAL)",
            "munmap of wrapping around: Err(EINVAL)",
            "munmap of a length that wraps: Err(EINVAL)",
            "the mapping survived: kept",
            "the heap survived: Ok(())",
            "all given back: true",
        ]
    );
}

#[test]
fn fork_copies_memory_and_exit_frees_it() {
    for engine in ENGINES {
        let seen = observe(engine, Config::default().frames, |sys, log| {
            let p = sys.proc();
            let start = sys.vm_info().unwrap();
            let b0 = sys.brk(0).unwrap();
            sys.brk(b0 + 2 * PAGE).unwrap();
            p.mem_write(b0 + PAGE, b"parent heap").unwrap();
            let m = sys.mmap(PAGE, true).unwrap();
            p.mem_write(m, b"parent map").unwrap();
            let ro = sys.mmap(PAGE, false).unwrap();
            p.mem_write(STACK_TOP - 16, b"parent stack").unwrap();
            let parent_pages = sys.vm_info().unwrap().caller_pages;
            let l = log.clone();
            let child = sys
                .fork(move |c| {
                    let cp = c.proc();
                    l.say(format!(
                        "child sees: {} / {} / {}",
                        read_str(cp, b0 + PAGE, 11),
                        read_str(cp, m, 10),
                        read_str(cp, STACK_TOP - 16, 12)
                    ));
                    l.say(format!(
                        "child's break and pages: {} {}",
                        c.brk(0) == Ok(b0 + 2 * PAGE),
                        c.vm_info().unwrap().caller_pages == parent_pages
                    ));
                    l.say(format!("child's read-only copy: {:?}", cp.mem_write(ro, b"x")));
                    cp.mem_write(b0 + PAGE, b"child  heap").unwrap();
                    cp.mem_write(m, b"child  map").unwrap();
                    c.brk(b0 + 8 * PAGE).unwrap();
                    c.mmap(5 * PAGE, true).unwrap();
                    7
                })
                .unwrap();
            let (pid, _) = sys.wait().unwrap();
            log.say(format!("waited for the child: {}", pid == child));
            log.say(format!("parent still sees: {} / {}", read_str(p, b0 + PAGE, 11), read_str(p, m, 10)));
            log.say(format!(
                "the child's frames are free again: {}",
                sys.vm_info().unwrap().free + parent_pages - start.caller_pages == start.free
            ));
            // Several children, one killed while it holds memory, one with a grandchild.
            let mut kids = Vec::new();
            for i in 1..=3u64 {
                kids.push(
                    sys.fork(move |c| {
                        c.mmap(i * PAGE, true).unwrap();
                        c.brk(c.brk(0).unwrap() + i * PAGE).unwrap();
                        if i == 2 {
                            c.fork(|g| {
                                g.mmap(3 * PAGE, true).unwrap();
                                0
                            })
                            .unwrap();
                            c.wait().unwrap();
                        }
                        if i == 3 {
                            loop {
                                c.getpid().unwrap();
                                c.proc().yield_now();
                            }
                        }
                        0
                    })
                    .unwrap(),
                );
            }
            sys.kill(kids[2], sig::SIGKILL).unwrap();
            for _ in 0..3 {
                sys.wait().unwrap();
            }
            sys.munmap(m, PAGE).unwrap();
            sys.munmap(ro, PAGE).unwrap();
            sys.brk(b0).unwrap();
            log.say(format!("every frame is back: {}", sys.vm_info().unwrap() == start));
        });
        assert_eq!(
            seen,
            [
                "child sees: parent heap / parent map / parent stack",
                "child's break and pages: true true",
                "child's read-only copy: Err(Fault)",
                "waited for the child: true",
                "parent still sees: parent heap / parent map",
                "the child's frames are free again: true",
                "every frame is back: true",
            ],
            "{engine}"
        );
    }
}

#[test]
fn running_out_of_frames_is_enomem_and_exit_recovers_them() {
    for engine in ENGINES {
        let seen = observe(engine, SMALL_FRAMES, |sys, log| {
            let image = DEFAULT_TEXT_PAGES + STACK_PAGES;
            let start = sys.vm_info().unwrap();
            log.say(format!("total {}, free {}", start.total, start.free));
            let mut grown = 0;
            let err = loop {
                match sys.sbrk(PAGE as i64) {
                    Ok(_) => grown += 1,
                    Err(e) => break e,
                }
            };
            log.say(format!("grew {grown} pages, then {err:?}; free {}", sys.vm_info().unwrap().free));
            log.say(format!("mmap: {:?}", sys.mmap(PAGE, true).map(drop)));
            log.say(format!("fork: {:?}", sys.fork(|_| 0).map(drop)));
            sys.brk(HEAP_START + 10 * PAGE).unwrap();
            let l = log.clone();
            sys.fork(move |c| {
                let mut grown = 0;
                while c.mmap(PAGE, true).is_ok() {
                    grown += 1;
                }
                l.say(format!("child mapped {grown} pages before ENOMEM"));
                0
            })
            .unwrap();
            sys.wait().unwrap();
            log.say(format!("free after the child: {}", sys.vm_info().unwrap().free));
            sys.brk(HEAP_START).unwrap();
            log.say(format!("all back: {} (image {image})", sys.vm_info().unwrap() == start));
        });
        assert_eq!(
            seen,
            [
                "total 64, free 46",
                "grew 46 pages, then ENOMEM; free 0",
                "mmap: Err(ENOMEM)",
                "fork: Err(ENOMEM)",
                "child mapped 8 pages before ENOMEM",
                "free after the child: 36",
                "all back: true (image 18)",
            ],
            "{engine}"
        );
    }
}

#[test]
fn a_user_may_not_make_pm_or_vfs_calls_to_vm() {
    let seen = observe(EngineKind::Sim, Config::default().frames, |sys, log| {
        let me = sys.proc().endpoint();
        let calls = [
            ("VM_FORK", Message::with(VM_FORK, &VmForkRequest { parent: me, child_slot: 40 })),
            ("VM_EXIT", Message::with(VM_EXIT, &VmProcRequest { proc: me })),
            ("VM_WILLEXIT", Message::with(VM_WILLEXIT, &VmProcRequest { proc: me })),
            ("VM_GETRUSAGE", Message::with(VM_GETRUSAGE, &VmProcRequest { proc: me })),
            ("VM_EXEC_NEWMEM", Message::with(VM_EXEC_NEWMEM, &VmExecRequest { proc: me, text_bytes: 1 })),
        ];
        for (what, m) in calls {
            log.say(format!("{what}: {:?}", sys.call(VM, m).map(drop)));
        }
    });
    assert_eq!(
        seen,
        [
            "VM_FORK: Err(ECALLDENIED)",
            "VM_EXIT: Err(ECALLDENIED)",
            "VM_WILLEXIT: Err(ECALLDENIED)",
            "VM_GETRUSAGE: Err(ECALLDENIED)",
            "VM_EXEC_NEWMEM: Err(ECALLDENIED)",
        ]
    );
}

#[test]
fn vm_checks_its_own_mask_behind_the_manifest() {
    // A manifest that wrongly lets user processes send every vm call.
    let text = DEFAULT_MANIFEST.replace("calls vm 0xC20..0xC3F;", "calls vm 0xC00..0xC3F;");
    assert_ne!(text, DEFAULT_MANIFEST, "the user section grants the user calls");
    let manifest = Arc::new(Manifest::parse(&text, "permissive.conf", &|_| None).unwrap());
    let log = Log::default();
    let l = log.clone();
    let cfg = MachineConfig { manifest, ..config(EngineKind::Sim, Config::default().frames) };
    let (end, violations) = run_checked(&cfg, move |sys| {
        let me = sys.proc().endpoint();
        sys.brk(HEAP_START + PAGE).unwrap();
        let calls = [
            ("VM_FORK", Message::with(VM_FORK, &VmForkRequest { parent: me, child_slot: 40 })),
            ("VM_EXIT", Message::with(VM_EXIT, &VmProcRequest { proc: me })),
            ("VM_WILLEXIT", Message::with(VM_WILLEXIT, &VmProcRequest { proc: me })),
            ("VM_GETRUSAGE", Message::with(VM_GETRUSAGE, &VmProcRequest { proc: me })),
            ("VM_EXEC_NEWMEM", Message::with(VM_EXEC_NEWMEM, &VmExecRequest { proc: me, text_bytes: 1 })),
            ("an unknown vm call", Message::new(kernel_sim::msgtype::VM_BASE + 0x3F)),
        ];
        for (what, m) in calls {
            l.say(format!("{what}: {:?}", sys.call(VM, m).map(drop)));
        }
        l.say(format!(
            "memory untouched: {:?} {:?}",
            sys.proc().mem_write(HEAP_START, b"x"),
            sys.brk(0).map(|b| b - HEAP_START)
        ));
        sys.brk(HEAP_START).unwrap();
        0
    });
    assert_eq!((end, violations), (RunEnd::Finished, Vec::new()));
    assert_eq!(
        log.lines(),
        [
            "VM_FORK: Err(EPERM)",
            "VM_EXIT: Err(EPERM)",
            "VM_WILLEXIT: Err(EPERM)",
            "VM_GETRUSAGE: Err(EPERM)",
            "VM_EXEC_NEWMEM: Err(EPERM)",
            "an unknown vm call: Err(ENOSYS)",
            "memory untouched: Ok(()) Ok(4096)",
        ]
    );
}

#[test]
fn random_memory_calls_never_break_vm() {
    // Arguments drawn from the run's seed: interesting addresses and lengths, and garbage.
    let seen = observe(EngineKind::Sim, 256, |sys, log| {
        let p = sys.proc();
        let start = sys.vm_info().unwrap();
        let pick = |choices: &[u64]| choices[(p.random_u64() % choices.len() as u64) as usize];
        let addrs = [
            0,
            1,
            HEAP_START,
            HEAP_START + 5 * PAGE + 3,
            HEAP_LIMIT,
            MMAP_BASE,
            MMAP_BASE + PAGE,
            MMAP_BASE + 3 * PAGE + 1,
            STACK_START,
            u64::MAX,
        ];
        let lens = [0, 1, PAGE, 3 * PAGE, 40 * PAGE, 300 * PAGE, u64::MAX];
        let mut errors = std::collections::BTreeSet::new();
        for _ in 0..400 {
            let r = match p.random_u64() % 4 {
                0 => sys.brk(pick(&addrs)).map(drop),
                1 => sys.mmap(pick(&lens), p.random_u64() % 2 == 0).map(drop),
                2 => sys.munmap(pick(&addrs), pick(&lens)),
                _ => sys.munmap(MMAP_BASE + p.random_u64() % 64 * PAGE, p.random_u64() % (8 * PAGE)),
            };
            if let Err(e) = r {
                errors.insert(e);
            }
        }
        log.say(format!("errors seen: {errors:?}"));
        // Give everything back: the whole mapping area, then the heap.
        let _ = sys.munmap(MMAP_BASE, MMAP_LIMIT - MMAP_BASE);
        sys.brk(HEAP_START).unwrap();
        log.say(format!("all back: {}", sys.vm_info().unwrap() == start));
    });
    assert_eq!(seen, ["errors seen: {ENOMEM, EINVAL}", "all back: true"]);
}

// ---- exec's new memory and pm's calls, through stand-in servers -----------------------------

/// Test-only calls init makes to the stand-in pm and vfs (inside the ranges users may send to).
const TEST_RUSAGE: i32 = 0x0F0;
const TEST_WILLEXIT: i32 = 0x0F1;
const TEST_NEWMEM: i32 = 0x1F0;

kernel_sim::payload! {
    /// TEST_NEWMEM: exec me with this much text.
    struct TestNewmem { text_bytes: u64 }
}

/// A stand-in pm: answers init's probes and exit, frees dead processes through VM_EXIT, and makes
/// VM_GETRUSAGE and VM_WILLEXIT for init on request.
fn stand_in_pm(proc: &Proc) {
    loop {
        let m = os::sef::receive(proc, None);
        let answer = match m.m_type {
            PM_GETPID => Message::with(0, &PidReply { pid: 1, ppid: 0 }),
            PM_EXIT => Message::new(0),
            NOTIFY_MESSAGE => {
                while let Ok(Some(death)) = proc.sys_next_death() {
                    let _ = proc.sendrec(VM, Message::with(VM_EXIT, &VmProcRequest { proc: death.ep }));
                }
                continue;
            }
            TEST_RUSAGE => forward(proc, Message::with(VM_GETRUSAGE, &VmProcRequest { proc: m.source })),
            TEST_WILLEXIT => forward(proc, Message::with(VM_WILLEXIT, &VmProcRequest { proc: m.source })),
            _ => Message::new(Errno::ENOSYS.status()),
        };
        let _ = proc.sendnb(m.source, answer);
    }
}

/// A stand-in vfs: answers init's probe and asks vm for new memory for init on request.
fn stand_in_vfs(proc: &Proc) {
    loop {
        let m = os::sef::receive(proc, None);
        let answer = match m.m_type {
            TEST_NEWMEM => {
                let text_bytes = m.get::<TestNewmem>().text_bytes;
                forward(proc, Message::with(VM_EXEC_NEWMEM, &VmExecRequest { proc: m.source, text_bytes }))
            }
            _ => Message::new(Errno::ENOSYS.status()),
        };
        let _ = proc.sendnb(m.source, answer);
    }
}

fn forward(proc: &Proc, request: Message) -> Message {
    proc.sendrec(VM, request).unwrap_or_else(|e| Message::new(Errno::from(e).status()))
}

/// Boots a machine whose pm and vfs are the stand-ins, runs `init`, and returns vm's last state.
fn with_stand_ins(frames: usize, init: impl FnOnce(&Sys<'_>) -> i32 + Send + 'static) -> (Machine, VmState) {
    let mut m = boot(&config(EngineKind::Sim, frames), init);
    m.system.register_program("pm", Arc::new(|proc: &Proc, _| stand_in_pm(proc)));
    m.system.register_program("vfs", Arc::new(|proc: &Proc, _| stand_in_vfs(proc)));
    assert_eq!(m.run().end, RunEnd::Finished);
    let vm = m.vault.take::<VmState>("vm").expect("vm left its state");
    (m, vm)
}

fn usage(sys: &Sys<'_>) -> Result<[u64; 5], Errno> {
    let u = sys.call(PM, Message::new(TEST_RUSAGE))?.get::<VmUsageReply>();
    Ok([u.pages, u.text_pages, u.heap_pages, u.stack_pages, u.mmap_pages])
}

fn newmem(sys: &Sys<'_>, text_bytes: u64) -> Result<(), Errno> {
    sys.call(os::proto::VFS, Message::with(TEST_NEWMEM, &TestNewmem { text_bytes })).map(drop)
}

#[test]
fn exec_replaces_the_image_or_leaves_it_intact_and_pm_reads_usage() {
    // 40 frames: init's image takes 18, so 22 are free.
    let log = Log::default();
    let l = log.clone();
    let (m, mut vm) = with_stand_ins(40, move |sys| {
        let p = sys.proc();
        sys.brk(HEAP_START + 2 * PAGE).unwrap();
        let a = sys.mmap(PAGE, true).unwrap();
        p.mem_write(a, b"old map").unwrap();
        p.mem_write(HEAP_START, b"old heap").unwrap();
        l.say(format!("usage: {:?}", usage(sys)));
        // 30 text pages and the stack need 46 frames: 22 free plus the old image's 21 do not do.
        l.say(format!("too big: {:?}", newmem(sys, 30 * PAGE)));
        l.say(format!("old image intact: {} / {} / {:?}", read_str(p, a, 7), read_str(p, HEAP_START, 8), usage(sys)));
        l.say(format!("new image: {:?}", newmem(sys, 5 * PAGE + 1)));
        l.say(format!(
            "usage: {:?}, break at the new text's end: {}",
            usage(sys),
            sys.brk(0) == Ok(TEXT_START + 6 * PAGE)
        ));
        l.say(format!("old mapping gone: {:?}, stack zeroed: {:?}", p.mem_write(a, b"x"), read(p, STACK_TOP - 4, 4)));
        l.say(format!("text is read-only: {:?}", p.mem_write(TEXT_START, b"x")));
        l.say(format!("no text: {:?} {:?}", newmem(sys, 0), usage(sys).map(|u| u[1])));
        l.say(format!(
            "the largest text does not fit: {:?}, text kept: {:?}",
            newmem(sys, u64::MAX),
            usage(sys).map(|u| u[1])
        ));
        l.say(format!("after a failed exec: {:?}", newmem(sys, 0)));
        // pm says init will exit: its memory stays, but it may not change it any more.
        l.say(format!("willexit: {:?}", sys.call(PM, Message::new(TEST_WILLEXIT)).map(drop)));
        l.say(format!(
            "then brk {:?}, mmap {:?}, exec {:?}",
            sys.brk(HEAP_START + PAGE),
            sys.mmap(PAGE, true),
            newmem(sys, PAGE)
        ));
        l.say(format!("memory kept: {:?}, usage {:?}", p.mem_write(STACK_TOP - 4, b"x"), usage(sys).map(|u| u[0])));
        0
    });
    assert_eq!(
        log.lines(),
        [
            "usage: Ok([21, 2, 2, 16, 1])",
            "too big: Err(ENOMEM)",
            "old image intact: old map / old heap / Ok([21, 2, 2, 16, 1])",
            "new image: Ok(())",
            "usage: Ok([22, 6, 0, 16, 0]), break at the new text's end: true",
            "old mapping gone: Err(Fault), stack zeroed: Ok([0, 0, 0, 0])",
            "text is read-only: Err(Fault)",
            "no text: Ok(()) Ok(1)",
            "the largest text does not fit: Err(ENOMEM), text kept: Ok(1)",
            "after a failed exec: Ok(())",
            "willexit: Ok(())",
            "then brk Err(ESRCH), mmap Err(ESRCH), exec Err(ESRCH)",
            "memory kept: Ok(()), usage Ok(17)",
        ]
    );
    // init exited and the stand-in pm had vm free it: nothing left, everything free.
    assert_eq!(testbed::checker::vm::check(&mut vm, &m.system.procs()), Vec::new());
    assert!(vm.spaces.is_empty());
    assert_eq!(vm.free.len(), 40);
}

#[test]
fn exec_caps_a_huge_text() {
    let log = Log::default();
    let l = log.clone();
    let (m, mut vm) = with_stand_ins(MAX_TEXT_PAGES as usize + 64, move |sys| {
        l.say(format!("exec: {:?}", newmem(sys, u64::MAX)));
        l.say(format!("text pages: {:?}", usage(sys).map(|u| u[1])));
        0
    });
    assert_eq!(log.lines(), ["exec: Ok(())".to_string(), format!("text pages: Ok({MAX_TEXT_PAGES})")]);
    assert_eq!(testbed::checker::vm::check(&mut vm, &m.system.procs()), Vec::new());
}

// ---- the checker's vm part on deliberately broken state -------------------------------------

/// Runs init and two children that stay alive, each with a heap and a mapping, until the time
/// limit; returns the snapshot of the stopped system.
///
/// The run's teardown clears every user process from the kernel, so each process reads its own
/// kernel entry (page table included) once its memory is settled, through a test manifest that
/// lets user processes read kernel information; the snapshot shows the kernel as they saw it.
fn live_snapshot() -> Snapshot {
    let text = DEFAULT_MANIFEST.replace("    kernel NONE;\n    sigmgr pm;", "    kernel getinfo;\n    sigmgr pm;");
    assert_ne!(text, DEFAULT_MANIFEST, "the user section has no kernel calls");
    let cfg = MachineConfig {
        kernel: Config { engine: EngineKind::Sim, seed: 5, time_limit: 3_000_000, ..Config::default() },
        manifest: Arc::new(Manifest::parse(&text, "getinfo.conf", &|_| None).unwrap()),
        check_invariants: true,
        ..MachineConfig::default()
    };
    let seen: Arc<Mutex<Vec<ProcInfo>>> = Arc::default();
    let s = seen.clone();
    let mut m = boot(&cfg, move |sys| {
        fn settle(sys: &Sys<'_>) {
            sys.brk(HEAP_START + 2 * PAGE).unwrap();
            let a = sys.mmap(3 * PAGE, true).unwrap();
            sys.proc().mem_write(a, b"data").unwrap();
        }
        fn report(sys: &Sys<'_>, seen: &Mutex<Vec<ProcInfo>>) {
            let p = sys.proc();
            seen.lock().unwrap().push(p.sys_procinfo(p.endpoint()).unwrap());
        }
        settle(sys);
        for _ in 0..2 {
            let s = s.clone();
            sys.fork(move |c| {
                settle(c);
                report(c, &s);
                // Blocks for good: nobody sends to it.
                let _ = c.proc().receive(PM);
                0
            })
            .unwrap();
        }
        report(sys, &s);
        let _ = sys.wait();
        0
    });
    assert_eq!(m.run().end, RunEnd::TimeLimit);
    let mut snap = Snapshot::take(&m);
    snap.procs = seen.lock().unwrap().clone();
    assert_eq!(snap.procs.len(), 3, "every process reported");
    snap
}

fn invariants(found: &[Violation]) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = found.iter().map(|v| v.invariant).collect();
    names.sort();
    names.dedup();
    names
}

/// The endpoints of the live spaces, in key order.
fn space_keys(vm: &mut VmState) -> Vec<u32> {
    vm.spaces.iter().map(|(&k, _)| k).collect()
}

#[test]
fn the_checker_finds_vm_clean_after_a_live_workload() {
    let mut snap = live_snapshot();
    let vm = snap.vm.as_mut().unwrap();
    assert_eq!(space_keys(vm).len(), 3, "init and two children");
    assert_eq!(checker::vm::check(vm, &snap.procs), Vec::new());
    assert_eq!(checker::check(&mut snap), Vec::new());
}

#[test]
fn the_checker_catches_a_used_frame_on_the_free_list() {
    let mut snap = live_snapshot();
    let vm = snap.vm.as_mut().unwrap();
    let key = space_keys(vm)[1];
    let frame = vm.spaces.get(key).unwrap().heap().frames[0];
    vm.free.push(frame);
    let found = checker::vm::check(vm, &snap.procs);
    assert_eq!(invariants(&found), ["vm.frame-accounting", "vm.frame-free-and-used"], "{found:#?}");
    let detail = &found.iter().find(|v| v.invariant == "vm.frame-free-and-used").unwrap().detail;
    assert!(detail.contains(&format!("frame {frame} backs page {HEAP_START:#x}")), "{detail}");
}

#[test]
fn the_checker_catches_a_frame_on_the_free_list_twice() {
    let mut snap = live_snapshot();
    let vm = snap.vm.as_mut().unwrap();
    let frame = *vm.free.get(0).unwrap();
    vm.free.push(frame);
    let found = checker::vm::check(vm, &snap.procs);
    assert_eq!(invariants(&found), ["vm.frame-accounting", "vm.free-duplicate"], "{found:#?}");
}

#[test]
fn the_checker_catches_a_frame_mapped_in_two_spaces() {
    let mut snap = live_snapshot();
    let vm = snap.vm.as_mut().unwrap();
    let keys = space_keys(vm);
    let theirs = vm.spaces.get(keys[0]).unwrap().heap().frames[0];
    let mine = vm.spaces.get_mut_global(keys[1]).unwrap();
    let h = mine.heap_index();
    mine.regions[h].frames[0] = theirs;
    let found = checker::vm::check(vm, &snap.procs);
    // The frame has two owners, the one it replaced is lost, and the kernel still maps the old one.
    assert_eq!(invariants(&found), ["vm.frame-lost", "vm.frame-owners", "vm.page-table"], "{found:#?}");
}

#[test]
fn the_checker_catches_a_region_dropped_without_freeing() {
    let mut snap = live_snapshot();
    let vm = snap.vm.as_mut().unwrap();
    let key = space_keys(vm)[2];
    let space = vm.spaces.get_mut_global(key).unwrap();
    let mapping = space.regions.iter().position(|r| r.kind == RegionKind::Mmap).unwrap();
    assert_eq!(space.regions.remove(mapping).pages(), 3);
    let found = checker::vm::check(vm, &snap.procs);
    assert_eq!(invariants(&found), ["vm.frame-accounting", "vm.frame-lost", "vm.page-table"], "{found:#?}");
    let table = &found.iter().find(|v| v.invariant == "vm.page-table").unwrap().detail;
    assert!(table.contains("at 3 pages") && table.contains("vm records nothing"), "{table}");
}

#[test]
fn the_checker_catches_a_page_table_that_differs_from_vm() {
    let mut snap = live_snapshot();
    let vm = snap.vm.as_mut().unwrap();
    let key = space_keys(vm)[0];
    // The kernel's table gains a page vm never gave, and loses one vm did.
    let p = snap.procs.iter_mut().find(|p| key_of(p.ep) == key).unwrap();
    p.pages.push((MMAP_LIMIT / PAGE - 1, Mapping { frame: 0, writable: true }));
    p.pages.retain(|(page, _)| *page != STACK_START / PAGE);
    let found = checker::vm::check(vm, &snap.procs);
    assert_eq!(invariants(&found), ["vm.page-table"], "{found:#?}");
    assert!(found[0].detail.contains("at 2 pages"), "{}", found[0].detail);
    // A space the kernel has no process for.
    snap.procs.retain(|p| key_of(p.ep) != key);
    let found = checker::vm::check(vm, &snap.procs);
    assert_eq!(invariants(&found), ["vm.space-process"], "{found:#?}");
}

#[test]
fn the_checker_catches_a_fill_window_vm_left_or_lost() {
    use os::vm::state::Fill;
    let mut snap = live_snapshot();
    let vm = snap.vm.as_mut().unwrap();
    let key = space_keys(vm)[2];
    let (ep, start, frame) = {
        let space = vm.spaces.get(key).unwrap();
        let mapping = space.regions.iter().find(|r| r.kind == RegionKind::Mmap).unwrap();
        (space.ep, mapping.start, mapping.frames[0])
    };
    // The snapshot's processes are the users' own reports: vm's entry is made here, from one.
    let mut vm_proc = snap.procs[0].clone();
    (vm_proc.ep, vm_proc.name, vm_proc.is_user, vm_proc.pages) = (os::proto::VM, "vm".into(), false, Vec::new());
    snap.procs.push(vm_proc);
    assert_eq!(checker::vm::check(vm, &snap.procs), [], "no fill, no window");
    // vm's own page table keeps a window no fill accounts for (a crash between the two steps).
    let window = Fill::window(ep, start) / PAGE;
    let vm_proc = snap.procs.iter_mut().find(|p| p.ep == os::proto::VM).unwrap();
    vm_proc.pages.push((window, Mapping { frame, writable: true }));
    let found = checker::vm::check(vm, &snap.procs);
    assert_eq!(invariants(&found), ["vm.fill-window"], "{found:#?}");
    // The fill is recorded: the window is right; without it in the kernel's table, it is lost.
    vm.spaces.get_mut_global(key).unwrap().fill = Some(Fill { start, pages: 1, grant: 0, refresh: false });
    assert_eq!(checker::vm::check(vm, &snap.procs), [], "a recorded fill and its window");
    let vm_proc = snap.procs.iter_mut().find(|p| p.ep == os::proto::VM).unwrap();
    vm_proc.pages.clear();
    let found = checker::vm::check(vm, &snap.procs);
    assert_eq!(invariants(&found), ["vm.fill-window"], "{found:#?}");
    assert!(found[0].detail.contains("vm records frame"), "{}", found[0].detail);
}

#[test]
fn the_checker_catches_a_damaged_layout() {
    let mut snap = live_snapshot();
    let vm = snap.vm.as_mut().unwrap();
    let key = space_keys(vm)[0];
    vm.spaces.get_mut_global(key).unwrap().brk = HEAP_START + 7 * PAGE;
    let found = vm.check_invariants();
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].starts_with("vm.space-layout: ") && found[0].contains("does not round up to the heap's end"),
        "{found:?}"
    );
}

#[test]
fn mprotect_makes_pages_read_only_and_back_and_splits_mappings() {
    use os::proto::vm::prot::*;
    for engine in ENGINES {
        let seen = observe(engine, Config::default().frames, |sys, log| {
            let p = sys.proc();
            let a = sys.mmap(3 * PAGE, true).unwrap();
            p.mem_write(a + PAGE, b"kept").unwrap();
            // The middle page becomes read-only: writes there fault, the data stays readable, and
            // the pages around it stay writable.
            log.say(format!("protect: {:?}", sys.mprotect(a + PAGE, PAGE - 1, PROT_READ)));
            log.say(format!(
                "writes: {:?} {:?} {:?}, read {}",
                p.mem_write(a, b"x"),
                p.mem_write(a + PAGE, b"x"),
                p.mem_write(a + 2 * PAGE, b"x"),
                read_str(p, a + PAGE, 4)
            ));
            // Back to read-write over the whole mapping (now three regions).
            log.say(format!("unprotect: {:?}", sys.mprotect(a, 3 * PAGE, PROT_READ | PROT_WRITE | PROT_EXEC)));
            log.say(format!("write again: {:?}", p.mem_write(a + PAGE, b"y")));
            // A read-only mapping made writable.
            let ro = sys.mmap(PAGE, false).unwrap();
            log.say(format!(
                "ro made rw: {:?} {:?}",
                sys.mprotect(ro, PAGE, PROT_READ | PROT_WRITE),
                p.mem_write(ro, b"z")
            ));
            log.say(format!("unaligned: {:?}", sys.mprotect(a + 1, PAGE, PROT_READ)));
            log.say(format!("unknown bits: {:?}", sys.mprotect(a, PAGE, 0x80)));
            log.say(format!("no read: {:?} {:?}", sys.mprotect(a, PAGE, 0), sys.mprotect(a, PAGE, PROT_WRITE)));
            log.say(format!("empty: {:?}", sys.mprotect(a, 0, PROT_READ)));
            log.say(format!("past the mapping: {:?}", sys.mprotect(a, 10 * PAGE, PROT_READ)));
            log.say(format!("unmapped: {:?}", sys.mprotect(MMAP_LIMIT - PAGE, PAGE, PROT_READ)));
            log.say(format!("overflow: {:?}", sys.mprotect(a, u64::MAX, PROT_READ)));
            log.say(format!("the stack: {:?}", sys.mprotect(STACK_START, PAGE, PROT_READ)));
            log.say(format!("the text: {:?}", sys.mprotect(TEXT_START, PAGE, PROT_READ | PROT_WRITE)));
            log.say(format!("failures changed nothing: {:?}", p.mem_write(a, b"w")));
            sys.munmap(a, 3 * PAGE).unwrap();
            sys.munmap(ro, PAGE).unwrap();
        });
        assert_eq!(
            seen,
            [
                "protect: Ok(())",
                "writes: Ok(()) Err(Fault) Ok(()), read kept",
                "unprotect: Ok(())",
                "write again: Ok(())",
                "ro made rw: Ok(()) Ok(())",
                "unaligned: Err(EINVAL)",
                "unknown bits: Err(EINVAL)",
                "no read: Err(ENOTSUP) Err(ENOTSUP)",
                "empty: Ok(())",
                "past the mapping: Err(ENOMEM)",
                "unmapped: Err(ENOMEM)",
                "overflow: Err(ENOMEM)",
                "the stack: Err(EACCES)",
                "the text: Err(EACCES)",
                "failures changed nothing: Ok(())",
            ],
            "{engine}"
        );
    }
}

#[test]
fn the_checker_catches_a_protection_vm_and_the_kernel_disagree_on() {
    let mut snap = live_snapshot();
    let vm = snap.vm.as_mut().unwrap();
    let key = space_keys(vm)[1];
    // vm believes a mapping read-only that the kernel maps read-write (an mprotect that changed
    // vm's region but not the page table).
    let space = vm.spaces.get_mut_global(key).unwrap();
    let mapping = space.regions.iter_mut().find(|r| r.kind == RegionKind::Mmap).unwrap();
    mapping.writable = false;
    let found = checker::vm::check(vm, &snap.procs);
    assert_eq!(invariants(&found), ["vm.page-table"], "{found:#?}");
    assert!(found[0].detail.contains("(ro)") && found[0].detail.contains("(rw)"), "{}", found[0].detail);
}

#[test]
fn mremap_grows_in_place_moves_with_its_bytes_and_shrinks() {
    for engine in ENGINES {
        let seen = observe(engine, Config::default().frames, |sys, log| {
            let p = sys.proc();
            let start = sys.vm_info().unwrap();
            let a = sys.mmap(PAGE, true).unwrap();
            p.mem_write(a, b"first").unwrap();
            // Nothing after it: grows where it is, the new page zeroed.
            let grown = sys.mremap(a, PAGE, 2 * PAGE, 0).unwrap();
            log.say(format!("in place: {} {} {:?}", grown == a, read_str(p, a, 5), read(p, a + PAGE, 2)));
            // A mapping right after it blocks growing in place.
            let b = sys.mmap(PAGE, true).unwrap();
            log.say(format!("blocked: {:?}", sys.mremap(a, 2 * PAGE, 3 * PAGE, 0)));
            let moved = sys.mremap(a, 2 * PAGE, 3 * PAGE, MREMAP_MAYMOVE).unwrap();
            log.say(format!(
                "moved: {} past b: {} bytes kept: {} old place gone: {:?}",
                moved != a,
                moved >= b + PAGE,
                read_str(p, moved, 5),
                p.mem_write(a, b"x")
            ));
            log.say(format!("third page fresh: {:?}", read(p, moved + 2 * PAGE, 2)));
            // Shrinking gives the tail back.
            log.say(format!(
                "shrunk: {:?} tail gone: {:?}",
                sys.mremap(moved, 3 * PAGE, PAGE, 0).map(|x| x == moved),
                p.mem_write(moved + PAGE, b"x")
            ));
            log.say(format!("same size: {:?}", sys.mremap(b, PAGE, PAGE - 1, 0).map(|x| x == b)));
            log.say(format!("unaligned: {:?}", sys.mremap(b + 1, PAGE, 2 * PAGE, MREMAP_MAYMOVE)));
            log.say(format!("zero: {:?} {:?}", sys.mremap(b, 0, PAGE, 0), sys.mremap(b, PAGE, 0, 0)));
            log.say(format!("bad flags: {:?}", sys.mremap(b, PAGE, PAGE, 0x10)));
            log.say(format!("unmapped: {:?}", sys.mremap(MMAP_LIMIT - PAGE, PAGE, 2 * PAGE, MREMAP_MAYMOVE)));
            log.say(format!("past the mapping: {:?}", sys.mremap(moved, 2 * PAGE, 3 * PAGE, MREMAP_MAYMOVE)));
            log.say(format!("the stack: {:?}", sys.mremap(STACK_START, PAGE, 2 * PAGE, MREMAP_MAYMOVE)));
            log.say(format!("too big: {:?}", sys.mremap(b, PAGE, MMAP_LIMIT, MREMAP_MAYMOVE)));
            sys.munmap(moved, PAGE).unwrap();
            sys.munmap(b, PAGE).unwrap();
            log.say(format!("all given back: {}", sys.vm_info().unwrap() == start));
        });
        assert_eq!(
            seen,
            [
                "in place: true first Ok([0, 0])",
                "blocked: Err(ENOMEM)",
                "moved: true past b: true bytes kept: first old place gone: Err(Fault)",
                "third page fresh: Ok([0, 0])",
                "shrunk: Ok(true) tail gone: Err(Fault)",
                "same size: Ok(true)",
                "unaligned: Err(EINVAL)",
                "zero: Err(EINVAL) Err(EINVAL)",
                "bad flags: Err(EINVAL)",
                "unmapped: Err(EFAULT)",
                "past the mapping: Err(EFAULT)",
                "the stack: Err(EINVAL)",
                "too big: Err(ENOMEM)",
                "all given back: true",
            ],
            "{engine}"
        );
    }
}

#[test]
fn vm_regions_lists_the_memory_map_as_mprotect_and_mremap_left_it() {
    use os::proto::vm::prot::*;
    use os::proto::vm::region_record::*;
    let seen = observe(EngineKind::Sim, Config::default().frames, |sys, log| {
        let a = sys.mmap(3 * PAGE, true).unwrap();
        sys.mprotect(a + PAGE, PAGE, PROT_READ).unwrap();
        let map = sys.vm_regions().unwrap();
        let show = |m: &[userland::libc::MapEntry]| {
            m.iter()
                .map(|e| format!("{}:{}{}", e.kind, e.pages, if e.writable { "w" } else { "r" }))
                .collect::<Vec<_>>()
                .join(" ")
        };
        log.say(format!("map: {}", show(&map)));
        log.say(format!("in order: {}", map.windows(2).all(|w| w[0].start + w[0].pages * PAGE <= w[1].start)));
        log.say(format!("the split mapping: {}", map.iter().any(|e| e.kind == REGION_MMAP && e.start == a + PAGE)));
        sys.mprotect(a + PAGE, PAGE, PROT_READ | PROT_WRITE).unwrap();
        sys.mremap(a, 3 * PAGE, 4 * PAGE, MREMAP_MAYMOVE).unwrap();
        log.say(format!("joined by mremap: {}", show(&sys.vm_regions().unwrap())));
        // A buffer for one record gets one, and the count of all.
        let addr = HEAP_START;
        sys.brk(HEAP_START + PAGE).unwrap();
        let p = sys.proc();
        let grant = p.grant(VM, addr, SIZE as u64, kernel_sim::memory::Access::Write);
        let r = sys.call(VM, Message::with(VM_REGIONS, &RegionsRequest { grant, len: SIZE as u64 }));
        log.say(format!(
            "one record's room: {:?}, first kind {}",
            r.map(|m| m.m_type),
            read(p, addr + 16, 1).unwrap()[0]
        ));
        p.revoke(grant);
        let r = sys.call(VM, Message::with(VM_REGIONS, &RegionsRequest { grant: 4242, len: 100 }));
        log.say(format!("bad grant: {:?}", r.map(|m| m.m_type)));
        let r = sys.call(VM, Message::with(VM_REGIONS, &RegionsRequest { grant: 4242, len: 0 }));
        log.say(format!("no room: {:?}", r.map(|m| m.m_type)));
        sys.munmap(a, 4 * PAGE).unwrap();
        sys.brk(HEAP_START).unwrap();
    });
    assert_eq!(
        seen,
        [
            "map: 1:2r 2:0w 4:1w 4:1r 4:1w 3:16w",
            "in order: true",
            "the split mapping: true",
            "joined by mremap: 1:2r 2:0w 4:4w 3:16w",
            "one record's room: Ok(4), first kind 1",
            "bad grant: Err(EPERM)",
            "no room: Ok(4)",
        ]
    );
}

/// The bytes of the file the file-mapping tests map: 5,000 of them, so its second page is partly
/// past the end.
fn pattern() -> Vec<u8> {
    (0..5000u32).map(|i| b'a' + (i % 23) as u8).collect()
}

#[test]
fn a_private_file_mapping_holds_the_files_bytes_as_they_were() {
    use os::proto::vfs::flags::{O_CREAT, O_RDWR};
    use os::proto::vfs::map::MAP_PRIVATE;
    use os::proto::vm::prot::{PROT_READ, PROT_WRITE};
    for engine in ENGINES {
        let seen = observe(engine, Config::default().frames, |sys, log| {
            let p = sys.proc();
            let start = sys.vm_info().unwrap();
            let fd = sys.open("/tmp/mapped", O_RDWR | O_CREAT, 0o644).unwrap();
            sys.write(fd, &pattern()).unwrap();
            let whole = sys.mmap_file(fd, 0, 3 * PAGE, PROT_READ, MAP_PRIVATE).unwrap();
            let bytes = read(p, whole, 3 * PAGE as usize).unwrap();
            log.say(format!("the file's bytes: {}", bytes[..5000] == pattern()[..]));
            log.say(format!("zero past its end: {}", bytes[5000..].iter().all(|&b| b == 0)));
            log.say(format!("read-only: {:?}", p.mem_write(whole, b"x")));
            let copy = sys.mmap_file(fd, PAGE, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE).unwrap();
            log.say(format!("from the second page: {}", read(p, copy, 904).unwrap() == pattern()[4096..]));
            p.mem_write(copy, b"CHANGED").unwrap();
            let mut file = vec![0u8; 7];
            sys.lseek(fd, PAGE as i64, 0).unwrap();
            sys.read(fd, &mut file).unwrap();
            log.say(format!("a private change stays in the mapping: {}", file == pattern()[4096..4103]));
            let past = sys.mmap_file(fd, 4 * PAGE, PAGE, PROT_READ, MAP_PRIVATE).unwrap();
            log.say(format!(
                "past the end, all zero: {}",
                read(p, past, PAGE as usize).unwrap().iter().all(|&b| b == 0)
            ));
            sys.close(fd).unwrap();
            sys.unlink("/tmp/mapped").unwrap();
            log.say(format!("kept after close and unlink: {}", read(p, whole, 5000).unwrap() == pattern()));
            for (addr, len) in [(whole, 3 * PAGE), (copy, PAGE), (past, PAGE)] {
                sys.munmap(addr, len).unwrap();
            }
            log.say(format!("all given back: {}", sys.vm_info().unwrap() == start));
        });
        assert_eq!(
            seen,
            [
                "the file's bytes: true",
                "zero past its end: true",
                "read-only: Err(Fault)",
                "from the second page: true",
                "a private change stays in the mapping: true",
                "past the end, all zero: true",
                "kept after close and unlink: true",
                "all given back: true",
            ],
            "{engine}"
        );
    }
}

#[test]
fn a_shared_file_mapping_shows_the_file_as_it_is_written_and_holds_it() {
    use os::proto::vfs::flags::{O_CREAT, O_RDWR, O_TRUNC};
    use os::proto::vfs::map::MAP_SHARED;
    use os::proto::vm::MREMAP_MAYMOVE;
    use os::proto::vm::prot::{PROT_READ, PROT_WRITE};
    for engine in ENGINES {
        let seen = observe(engine, Config::default().frames, |sys, log| {
            let p = sys.proc();
            let start = sys.vm_info().unwrap();
            let free_inodes = || sys.statvfs("/tmp").unwrap().ffree;
            let inodes = free_inodes();
            let fd = sys.open("/tmp/shared", O_RDWR | O_CREAT, 0o644).unwrap();
            sys.write(fd, &pattern()).unwrap();
            let whole = sys.mmap_file(fd, 0, 3 * PAGE, PROT_READ, MAP_SHARED).unwrap();
            let second = sys.mmap_file(fd, PAGE, PAGE, PROT_READ, MAP_SHARED).unwrap();
            let mut expected = pattern();
            expected.resize(3 * PAGE as usize, 0);
            let shows =
                |addr: u64, from: usize, len: usize, want: &[u8]| read(p, addr, len).unwrap() == want[from..from + len];
            log.say(format!("the file's bytes, zero past its end: {}", shows(whole, 0, 3 * PAGE as usize, &expected)));
            // A write in the middle, one that crosses into the second page, one past the end.
            for (at, bytes) in [(100, &b"CHANGED"[..]), (PAGE - 3, b"ACROSS"), (6000, b"TAIL")] {
                sys.lseek(fd, at as i64, 0).unwrap();
                sys.write(fd, bytes).unwrap();
                let at = at as usize;
                expected[at..at + bytes.len()].copy_from_slice(bytes);
            }
            log.say(format!("writes seen by the first mapping: {}", shows(whole, 0, 3 * PAGE as usize, &expected)));
            log.say(format!("and by the second: {}", shows(second, PAGE as usize, PAGE as usize, &expected)));
            sys.ftruncate(fd, 50).unwrap();
            expected[50..].fill(0);
            log.say(format!("a truncation zeroes what it cut: {}", shows(whole, 0, 3 * PAGE as usize, &expected)));
            let again = sys.open("/tmp/shared", O_RDWR | O_TRUNC, 0).unwrap();
            log.say(format!("so does O_TRUNC: {}", read(p, whole, 3 * PAGE as usize).unwrap().iter().all(|&b| b == 0)));
            sys.write(again, b"fresh").unwrap();
            log.say(format!("read-only: {:?}", p.mem_write(whole, b"x")));
            log.say(format!("mprotect to writable: {:?}", sys.mprotect(whole, PAGE, PROT_READ | PROT_WRITE)));
            log.say(format!("mremap to grow: {:?}", sys.mremap(whole, 3 * PAGE, 4 * PAGE, MREMAP_MAYMOVE)));
            log.say(format!("mremap to shrink: {:?}", sys.mremap(whole, 3 * PAGE, 2 * PAGE, 0) == Ok(whole)));
            sys.close(fd).unwrap();
            sys.close(again).unwrap();
            sys.unlink("/tmp/shared").unwrap();
            log.say(format!("held after close and unlink: {}", free_inodes() == inodes - 1));
            log.say(format!("and still shown: {}", read_str(p, whole, 5) == "fresh"));
            // A new file must not be taken for the mapped one.
            let other = sys.open("/tmp/other", O_RDWR | O_CREAT, 0o644).unwrap();
            sys.write(other, b"OTHER").unwrap();
            sys.close(other).unwrap();
            sys.unlink("/tmp/other").unwrap();
            log.say(format!("another file's write leaves it: {}", read_str(p, whole, 5) == "fresh"));
            sys.munmap(whole, PAGE).unwrap();
            log.say(format!("held while a page is mapped: {}", free_inodes() == inodes - 1));
            sys.munmap(whole + PAGE, PAGE).unwrap();
            sys.munmap(second, PAGE).unwrap();
            // vm's notification reaches vfs after munmap's answer: the next call to vfs comes after it.
            let _ = sys.getpid();
            log.say(format!("given back with the last page: {}", free_inodes() == inodes));
            log.say(format!("all memory given back: {}", sys.vm_info().unwrap() == start));
        });
        assert_eq!(
            seen,
            [
                "the file's bytes, zero past its end: true",
                "writes seen by the first mapping: true",
                "and by the second: true",
                "a truncation zeroes what it cut: true",
                "so does O_TRUNC: true",
                "read-only: Err(Fault)",
                "mprotect to writable: Err(EACCES)",
                "mremap to grow: Err(EINVAL)",
                "mremap to shrink: true",
                "held after close and unlink: true",
                "and still shown: true",
                "another file's write leaves it: true",
                "held while a page is mapped: true",
                "given back with the last page: true",
                "all memory given back: true",
            ],
            "{engine}"
        );
    }
}

#[test]
fn bad_file_mappings_get_linux_and_minix_errnos() {
    use os::proto::vfs::flags::{O_CREAT, O_RDONLY, O_RDWR, O_WRONLY};
    use os::proto::vfs::map::{MAP_PRIVATE, MAP_SHARED};
    use os::proto::vm::prot::{PROT_READ, PROT_WRITE};
    let seen = observe(EngineKind::Sim, Config::default().frames, |sys, log| {
        let start = sys.vm_info().unwrap();
        let rw = sys.open("/tmp/mapped", O_RDWR | O_CREAT, 0o644).unwrap();
        sys.write(rw, &pattern()).unwrap();
        let ro = sys.open("/tmp/mapped", O_RDONLY, 0).unwrap();
        let wo = sys.open("/tmp/mapped", O_WRONLY, 0).unwrap();
        let dir = sys.open("/tmp", O_RDONLY, 0).unwrap();
        let (pipe_r, _pipe_w) = sys.pipe().unwrap();
        let (r, w) = (PROT_READ, PROT_READ | PROT_WRITE);
        let cases = [
            ("a descriptor not open", 99, 0, PAGE, r, MAP_PRIVATE),
            ("length 0", rw, 0, 0, r, MAP_PRIVATE),
            ("an offset within a page", rw, 100, PAGE, r, MAP_PRIVATE),
            ("neither shared nor private", rw, 0, PAGE, r, 0),
            ("both shared and private", rw, 0, PAGE, r, MAP_SHARED | MAP_PRIVATE),
            ("an unknown protection", rw, 0, PAGE, 0x10, MAP_PRIVATE),
            ("a directory", dir, 0, PAGE, r, MAP_PRIVATE),
            ("a pipe", pipe_r, 0, PAGE, r, MAP_PRIVATE),
            ("a file open for writing only", wo, 0, PAGE, r, MAP_PRIVATE),
            ("shared and writable, open for reading", ro, 0, PAGE, w, MAP_SHARED),
            ("shared and writable, open for both", rw, 0, PAGE, w, MAP_SHARED),
            ("writable but not readable", rw, 0, PAGE, PROT_WRITE, MAP_PRIVATE),
            ("a length that wraps", rw, PAGE, u64::MAX, r, MAP_PRIVATE),
            ("more than memory", rw, 0, (start.total + 1) * PAGE, r, MAP_PRIVATE),
        ];
        for (what, fd, offset, len, prot, flags) in cases {
            log.say(format!("{what}: {:?}", sys.mmap_file(fd, offset, len, prot, flags).map(|_| ())));
        }
        log.say(format!("nothing kept: {}", sys.vm_info().unwrap() == start));
    });
    assert_eq!(
        seen,
        [
            "a descriptor not open: Err(EBADF)",
            "length 0: Err(EINVAL)",
            "an offset within a page: Err(EINVAL)",
            "neither shared nor private: Err(EINVAL)",
            "both shared and private: Err(EINVAL)",
            "an unknown protection: Err(EINVAL)",
            "a directory: Err(ENODEV)",
            "a pipe: Err(ENODEV)",
            "a file open for writing only: Err(EACCES)",
            "shared and writable, open for reading: Err(EACCES)",
            "shared and writable, open for both: Err(ENXIO)",
            "writable but not readable: Err(ENOTSUP)",
            "a length that wraps: Err(EINVAL)",
            "more than memory: Err(ENOMEM)",
            "nothing kept: true",
        ]
    );
}

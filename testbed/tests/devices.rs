//! Special files end to end: a process's reads and writes of `/dev/...` reach the memory driver
//! through vfs's dmap, the driver's restart is found again through ds, and the checker reads
//! vfs's dmap against the driver's incarnations.

use kernel_sim::{Config, Endpoint, EngineKind, RunEnd};
use os::proto::cdev::MEMORY_MAJOR;
use os::proto::vfs::flags::{O_RDONLY, O_WRONLY};
use recovery::PolicyKind;
use std::sync::{Arc, Mutex};
use testbed::boot::{MachineConfig, boot};
use testbed::checker::{self, Snapshot};

fn config(fault: Option<&str>) -> MachineConfig {
    MachineConfig {
        kernel: Config { engine: EngineKind::Sim, seed: 3, time_limit: 60_000_000, ..Config::default() },
        check_invariants: true,
        policy: PolicyKind::Table,
        fault: fault.map(|f| f.parse().expect("a fault spec")),
        ..MachineConfig::default()
    }
}

/// Writes to `/dev/null` and reads `/dev/zero` `rounds` times; what each call answered.
fn use_devices(config: &MachineConfig, rounds: usize) -> (Vec<String>, Snapshot, bool) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let mut machine = boot(config, move |sys| {
        let say = |what: String| s.lock().unwrap().push(what);
        for _ in 0..rounds {
            let null = sys.open("/dev/null", O_WRONLY, 0);
            // (descriptor, bytes written): init has no standard descriptors, so /dev/null is 0.
            say(format!("{:?}", null.and_then(|fd| sys.write(fd, b"gone").map(|n| (fd, n)))));
            let zero = sys.open("/dev/zero", O_RDONLY, 0);
            let mut buf = [7u8; 3];
            say(format!("{:?} {buf:?}", zero.and_then(|fd| sys.read(fd, &mut buf))));
            for fd in [null, zero].into_iter().flatten() {
                sys.close(fd).expect("close");
            }
        }
        0
    });
    assert_eq!(machine.run().end, RunEnd::Finished);
    let fired = machine.injector.as_ref().is_some_and(|i| i.fired());
    let seen = seen.lock().unwrap().clone();
    (seen, Snapshot::take(&machine), fired)
}

#[test]
fn a_crashed_memory_driver_is_found_again_and_no_call_sees_it() {
    // The driver dies at its second write; rs restarts it under a new endpoint, ds tells vfs,
    // which sends the write again there.
    let (seen, mut snap, fired) = use_devices(&config(Some("panic:memory:cdev_write:start:2")), 3);
    assert!(fired, "the driver's fault fired");
    let expected: Vec<String> =
        (0..3).flat_map(|_| ["Ok((0, 4))".to_string(), "Ok(3) [0, 0, 0]".to_string()]).collect();
    assert_eq!(seen, expected);
    assert_eq!(checker::check(&mut snap), Vec::new());
    let vfs = snap.vfs.as_mut().unwrap();
    let kept = *vfs.drivers.get(&MEMORY_MAJOR).expect("vfs keeps the driver's endpoint");
    assert!(kept.generation() > 0, "vfs follows the driver to its next incarnation: {kept}");
}

#[test]
fn the_checker_reads_vfs_s_dmap_against_the_drivers_incarnations() {
    let (_, mut snap, _) = use_devices(&config(None), 1);
    assert_eq!(checker::check(&mut snap), Vec::new());
    let names = |snap: &mut Snapshot| -> Vec<String> {
        checker::check(snap).into_iter().map(|v| format!("{}: {}", v.invariant, v.detail)).collect()
    };
    let vfs = snap.vfs.as_mut().unwrap();
    let kept = *vfs.drivers.get(&MEMORY_MAJOR).expect("vfs keeps the driver's endpoint");
    // An endpoint the driver never had (a corrupted one: pm's slot).
    vfs.drivers.insert(MEMORY_MAJOR, Endpoint::new(2, 0));
    let found = names(&mut snap);
    assert!(found.len() == 1 && found[0].starts_with("vfs.driver:"), "{found:?}");
    // A generation the driver's slot never reached.
    let vfs = snap.vfs.as_mut().unwrap();
    vfs.drivers.insert(MEMORY_MAJOR, Endpoint::new(kept.slot(), kept.generation() + 1));
    assert_eq!(names(&mut snap).len(), 1);
    // A major with no driver at all.
    let vfs = snap.vfs.as_mut().unwrap();
    vfs.drivers.insert(MEMORY_MAJOR, kept);
    vfs.drivers.insert(42, kept);
    let found = names(&mut snap);
    assert!(found.len() == 1 && found[0].contains("major 42"), "{found:?}");
}

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

/// The bit of a ds answer's payload a bad-reply fault flips to garble the endpoint it names (bit
/// 3 of the endpoint: memory's slot 9 reads as rs's slot 1).
const ENDPOINT_BIT: u8 = 35;

/// ds's answer to a lookup garbled on its way (a bad-reply fault in ds, at each of its answers to
/// a lookup in turn: mfs's of the disk driver when vfs mounts the root, vfs's of the memory
/// driver at the first open of a device). The client keeps a wrong endpoint, and what answers
/// there is not a driver: the kernel, for an endpoint that names nobody, or another server. The
/// client looks the driver up again, finds ds naming another endpoint, and sends there: every call
/// succeeds, both clients name their drivers, the checker finds nothing. (Both used to end the
/// run: vfs could not mount its root, or kept rs's endpoint as the memory driver's.)
#[test]
fn a_garbled_lookup_of_a_driver_is_looked_up_again() {
    let profile = Arc::new(Mutex::new(os::fault::SiteProfile::default()));
    use_devices(&MachineConfig { profile: Some(profile.clone()), ..config(None) }, 2);
    let profile = profile.lock().unwrap();
    let (site, hits) = profile
        .sites
        .iter()
        .find(|(s, _)| s.server == "ds" && s.handler == "ds_retrieve" && s.location.starts_with("os/src/task.rs"))
        .map(|(s, stats)| (s.location.clone(), stats.hits))
        .expect("ds answers lookups");
    assert_eq!(hits, 2, "mfs looks up the disk driver, vfs the memory driver");
    let expected: Vec<String> =
        (0..2).flat_map(|_| ["Ok((0, 4))".to_string(), "Ok(3) [0, 0, 0]".to_string()]).collect();
    for n in 1..=hits {
        let fault = format!("bad-reply@ds:ds_retrieve:{site}#{n}/{ENDPOINT_BIT}");
        let (seen, mut snap, fired) = use_devices(&config(Some(&fault)), 2);
        assert!(fired, "{fault}");
        assert_eq!(seen, expected, "{fault}");
        assert_eq!(checker::check(&mut snap), Vec::new(), "{fault}");
        let memory = *snap.vfs.as_mut().unwrap().drivers.get(&MEMORY_MAJOR).expect("opened a device");
        let disk = snap.mfs.as_mut().unwrap().disk.get().clone().and_then(|d| d.endpoint);
        assert_eq!((memory, disk), (Endpoint::new(9, 0), Some(Endpoint::new(8, 0))), "{fault}");
    }
}

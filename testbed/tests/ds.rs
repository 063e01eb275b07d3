//! ds, the data store, end to end: each call with its errors, ownership, subscriptions with their
//! notifications and checks, rs's labels (republished when ds restarts fresh), a stateless
//! service restarted under a new endpoint and found again through ds, and a crash of ds
//! recovered. User processes reach ds here through a test manifest (in the default one only
//! services may); the echo service is a tiny stateless server of this test.

use kernel_sim::{Config, Endpoint, EngineKind, Manifest, Message, MsgType, Proc, Start};
use os::errno::Errno;
use os::proto::ds::*;
use os::proto::{DS, PM, VFS};
use os::task::{self, Call, Ctx, Handled, Server, ServerEnv};
use recovery::{Journal, PolicyKind, StateClass, TrackedCell, tracked_state};
use std::sync::{Arc, Mutex};
use testbed::boot::{DEFAULT_MANIFEST, MachineConfig, boot};
use testbed::checker::{self, Snapshot};
use testbed::run::{Outcome, RunSpec, execute};
use userland::libc::Sys;

/// The echo service's slot in the test manifest (free in the default one).
const ECHO_SLOT: usize = 10;
/// echo: answer with the incarnation's endpoint.
const ECHO_PING: MsgType = 0x3F0;
/// echo: crash.
const ECHO_CRASH: MsgType = 0x3F1;
/// echo: look vfs up in ds (the client API through `Ctx`), answer its endpoint.
const ECHO_LOOKUP: MsgType = 0x3F2;
/// echo: subscribe to `probe*` in ds with DSF_INITIAL.
const ECHO_WATCH: MsgType = 0x3F3;
/// echo: check ds for the next change, answer its number (or ds's error).
const ECHO_CHECK: MsgType = 0x3F4;

fn manifest() -> Arc<Manifest> {
    let echo = "service echo {\n    slot 10;\n    ipc rs ds USER;\n    kernel NONE;\n    sigmgr rs;\n    heartbeat 1s;\n    restart first 0s backoff 1s max 30s minrun 0s intensity 50 per 10s;\n};\n\nuser {";
    let text = DEFAULT_MANIFEST.replace("user {", echo).replace(
        "    ipc pm vfs vm;\n",
        "    ipc pm vfs vm ds echo;\n    calls ds 0x800..0x8FF;\n    calls echo 0x3F0..0x3FF;\n",
    );
    assert!(text.contains("calls ds"), "the user block changed: update this test");
    Arc::new(Manifest::parse(&text, "ds-test.conf", &|_| None).expect("the test manifest parses"))
}

/// The echo service's state: how many pings this incarnation answered.
struct EchoState {
    journal: Journal,
    pings: TrackedCell<u32>,
}
tracked_state!(EchoState { journal: journal, fields: [pings] });

struct Echo;

fn do_ping(ctx: &mut Ctx<'_, EchoState>) -> Handled {
    let n = *ctx.state.pings.get() + 1;
    ctx.state.pings.set(n);
    Handled::status(Ok(ctx.proc.endpoint().raw() as i32))
}

fn do_crash(_ctx: &mut Ctx<'_, EchoState>) -> Handled {
    panic!("echo asked to crash");
}

fn do_lookup(ctx: &mut Ctx<'_, EchoState>) -> Handled {
    Handled::status(ds_retrieve_endpoint(ctx, "vfs").map(|ep| ep.raw() as i32))
}

fn do_watch(ctx: &mut Ctx<'_, EchoState>) -> Handled {
    Handled::status(ds_subscribe(ctx, "probe*", DSF_INITIAL).map(|()| 0))
}

fn do_check(ctx: &mut Ctx<'_, EchoState>) -> Handled {
    Handled::status(ds_check(ctx).map(|change| match change.value {
        Some(DsValue::U64(v)) => v as i32,
        _ => -1,
    }))
}

static ECHO_CALLS: &[Call<EchoState>] = &[
    Call { m_type: ECHO_PING, name: "echo_ping", handler: do_ping },
    Call { m_type: ECHO_CRASH, name: "echo_crash", handler: do_crash },
    Call { m_type: ECHO_LOOKUP, name: "echo_lookup", handler: do_lookup },
    Call { m_type: ECHO_WATCH, name: "echo_watch", handler: do_watch },
    Call { m_type: ECHO_CHECK, name: "echo_check", handler: do_check },
];

impl Server for Echo {
    const NAME: &'static str = "echo";
    type State = EchoState;
    fn calls() -> &'static [Call<EchoState>] {
        ECHO_CALLS
    }
    fn boot(_proc: &Proc) -> EchoState {
        let journal = Journal::new();
        EchoState { pings: TrackedCell::new(&journal, "echo.pings", StateClass::Global, 0), journal }
    }
    fn fresh(proc: &Proc) -> EchoState {
        Echo::boot(proc)
    }
}

/// Boots the test machine under `policy`, runs `init`, and returns the checker's findings.
fn run(policy: PolicyKind, init: impl FnOnce(&Sys<'_>) -> i32 + Send + 'static) -> Vec<String> {
    run_under(EngineKind::Sim, policy, init)
}

/// [`run`] under `engine`.
fn run_under(
    engine: EngineKind,
    policy: PolicyKind,
    init: impl FnOnce(&Sys<'_>) -> i32 + Send + 'static,
) -> Vec<String> {
    let config = MachineConfig {
        kernel: Config {
            engine,
            seed: 5,
            time_limit: 30_000_000,
            finish_after: Some(os::proto::INIT),
            ..Config::default()
        },
        manifest: manifest(),
        policy,
        check_invariants: true,
        ..MachineConfig::default()
    };
    let mut machine = boot(&config, init);
    let env = ServerEnv::default();
    machine.system.register_program(
        "echo",
        Arc::new(move |proc: &Proc, start: Start| task::run::<Echo>(proc, start, env.clone())),
    );
    let report = machine.run();
    assert!(matches!(report.end, kernel_sim::RunEnd::Finished), "the run ended: {:?}", report.end);
    checker::check(&mut Snapshot::take(&machine)).iter().map(|v| v.to_string()).collect()
}

fn publish(sys: &Sys<'_>, name: &str, value: DsValue, flags: u32) -> Result<(), Errno> {
    sys.call(DS, publish_message(name, value, flags)?).map(drop)
}

fn retrieve(sys: &Sys<'_>, name: &str) -> Result<DsValue, Errno> {
    retrieved(&sys.call(DS, name_message(DS_RETRIEVE, name)?)?)
}

fn delete(sys: &Sys<'_>, name: &str) -> Result<(), Errno> {
    sys.call(DS, name_message(DS_DELETE, name)?).map(drop)
}

fn subscribe(sys: &Sys<'_>, pattern: &str, flags: u32) -> Result<(), Errno> {
    sys.call(DS, subscribe_message(pattern, flags)?).map(drop)
}

fn check(sys: &Sys<'_>) -> Result<DsChange, Errno> {
    checked(&sys.call(DS, Message::new(DS_CHECK))?)
}

/// Waits for ds's notification.
fn notified(sys: &Sys<'_>) {
    let m = sys.proc().receive(DS).expect("ds notifies");
    assert_eq!(m.m_type, kernel_sim::msgtype::NOTIFY_MESSAGE);
}

type Seen = Arc<Mutex<Vec<String>>>;

fn record(seen: &Seen, what: impl std::fmt::Debug) {
    seen.lock().unwrap().push(format!("{what:?}"));
}

#[test]
fn publish_retrieve_delete_with_their_errors_and_ownership() {
    let seen: Seen = Arc::default();
    let s = seen.clone();
    let violations = run(PolicyKind::Restart, move |sys| {
        let r = |what: &dyn std::fmt::Debug| record(&s, what);
        r(&publish(sys, "alpha", DsValue::U64(7), 0));
        r(&publish(sys, "alpha", DsValue::U64(8), 0));
        r(&publish(sys, "alpha", DsValue::U64(8), DSF_OVERWRITE));
        r(&retrieve(sys, "alpha"));
        r(&retrieve(sys, "nope"));
        r(&delete(sys, "nope"));
        // Bad arguments, as raw messages: no closing NUL, an empty name, an unknown kind, flags.
        let too_long = DsNameRequest { name: [b'x'; DS_NAME_FIELD] };
        r(&sys.call(DS, Message::with(DS_RETRIEVE, &too_long)).map(drop));
        r(&sys.call(DS, Message::with(DS_DELETE, &DsNameRequest { name: [0; DS_NAME_FIELD] })).map(drop));
        let name = encode_name("beta").unwrap();
        r(&sys.call(DS, Message::with(DS_PUBLISH, &DsPublishRequest { name, kind: 9, flags: 0, value: 1 })).map(drop));
        r(&sys
            .call(DS, Message::with(DS_PUBLISH, &DsPublishRequest { name, kind: 1, flags: 0x80, value: 1 }))
            .map(drop));
        r(&sys
            .call(DS, Message::with(DS_PUBLISH, &DsPublishRequest { name, kind: 2, flags: 0, value: u64::MAX }))
            .map(drop));
        // rs's labels: every service under its endpoint, owned by rs.
        r(&retrieve(sys, "pm"));
        r(&retrieve(sys, "vfs"));
        r(&publish(sys, "pm", DsValue::Endpoint(VFS), DSF_OVERWRITE));
        // Another process (another slot) may read but not change init's entry.
        let child = sys
            .fork(|c| {
                let read = retrieve(c, "alpha") == Ok(DsValue::U64(8));
                let overwrite = publish(c, "alpha", DsValue::U64(1), DSF_OVERWRITE);
                let delete = delete(c, "alpha");
                if read && overwrite == Err(Errno::EPERM) && delete == Err(Errno::EPERM) { 0 } else { 1 }
            })
            .unwrap();
        r(&sys.waitpid(child, 0).map(|(_, status)| status));
        r(&delete(sys, "alpha"));
        r(&retrieve(sys, "alpha"));
        0
    });
    let pm = DsValue::Endpoint(PM);
    let vfs = DsValue::Endpoint(VFS);
    let expected: Vec<String> = [
        format!("{:?}", Ok::<(), Errno>(())),
        format!("{:?}", Err::<(), _>(Errno::EEXIST)),
        format!("{:?}", Ok::<(), Errno>(())),
        format!("{:?}", Ok::<_, Errno>(DsValue::U64(8))),
        format!("{:?}", Err::<DsValue, _>(Errno::ESRCH)),
        format!("{:?}", Err::<(), _>(Errno::ESRCH)),
        format!("{:?}", Err::<(), _>(Errno::ENAMETOOLONG)),
        format!("{:?}", Err::<(), _>(Errno::EINVAL)),
        format!("{:?}", Err::<(), _>(Errno::EINVAL)),
        format!("{:?}", Err::<(), _>(Errno::EINVAL)),
        format!("{:?}", Err::<(), _>(Errno::EINVAL)),
        format!("{:?}", Ok::<_, Errno>(pm)),
        format!("{:?}", Ok::<_, Errno>(vfs)),
        format!("{:?}", Err::<(), _>(Errno::EPERM)),
        format!("{:?}", Ok::<i32, Errno>(0)),
        format!("{:?}", Ok::<(), Errno>(())),
        format!("{:?}", Err::<DsValue, _>(Errno::ESRCH)),
    ]
    .to_vec();
    assert_eq!(*seen.lock().unwrap(), expected);
    assert!(violations.is_empty(), "{violations:#?}");
}

#[test]
fn subscribers_are_notified_and_check_what_changed() {
    let seen: Seen = Arc::default();
    let s = seen.clone();
    let violations = run(PolicyKind::Restart, move |sys| {
        let r = |what: &dyn std::fmt::Debug| record(&s, what);
        r(&check(sys));
        r(&subscribe(sys, "beta*", 0x80));
        publish(sys, "beta1", DsValue::U64(1), 0).unwrap();
        // DSF_INITIAL: what matches now counts as changed.
        r(&subscribe(sys, "beta*", DSF_INITIAL));
        notified(sys);
        r(&check(sys));
        r(&check(sys));
        publish(sys, "beta2", DsValue::U64(2), 0).unwrap();
        publish(sys, "gamma", DsValue::U64(3), 0).unwrap();
        notified(sys);
        r(&check(sys));
        r(&check(sys));
        delete(sys, "beta1").unwrap();
        notified(sys);
        r(&check(sys));
        r(&check(sys));
        // A bounded store: the entries past NR_DS_KEYS are refused (rs's labels hold some).
        let stored = (0..os::ds::store::NR_DS_KEYS + 8)
            .map(|i| publish(sys, &format!("k{i}"), DsValue::U64(i as u64), 0))
            .take_while(|r| r.is_ok())
            .count();
        r(&(stored > 0 && stored < os::ds::store::NR_DS_KEYS));
        r(&publish(sys, "one-more", DsValue::U64(0), 0));
        r(&publish(sys, "beta2", DsValue::U64(5), DSF_OVERWRITE));
        // A bounded table of patterns per subscriber.
        let held = (0..32).map(|i| subscribe(sys, &format!("p{i}"), 0)).filter(|r| r.is_ok()).count();
        r(&held);
        r(&subscribe(sys, "p40", 0));
        0
    });
    let change =
        |name: &str, value: Option<DsValue>| format!("{:?}", Ok::<_, Errno>(DsChange { name: name.into(), value }));
    let enoent = format!("{:?}", Err::<DsChange, _>(Errno::ENOENT));
    let expected = vec![
        enoent.clone(),
        format!("{:?}", Err::<(), _>(Errno::EINVAL)),
        format!("{:?}", Ok::<(), Errno>(())),
        change("beta1", Some(DsValue::U64(1))),
        enoent.clone(),
        change("beta2", Some(DsValue::U64(2))),
        enoent.clone(),
        change("beta1", None),
        enoent,
        "true".to_string(),
        format!("{:?}", Err::<(), _>(Errno::EAGAIN)),
        format!("{:?}", Ok::<(), Errno>(())),
        "15".to_string(),
        format!("{:?}", Err::<(), _>(Errno::ENOMEM)),
    ];
    assert_eq!(*seen.lock().unwrap(), expected);
    assert!(violations.is_empty(), "{violations:#?}");
}

#[test]
fn a_stateless_service_restarts_under_a_new_endpoint_found_again_through_ds() {
    for engine in [EngineKind::Sim, EngineKind::Threads] {
        new_endpoint_under(engine);
    }
}

fn new_endpoint_under(engine: EngineKind) {
    let seen: Seen = Arc::default();
    let s = seen.clone();
    let violations = run_under(engine, PolicyKind::Restart, move |sys| {
        let r = |what: &dyn std::fmt::Debug| record(&s, what);
        let Ok(DsValue::Endpoint(old)) = retrieve(sys, "echo") else { return 1 };
        r(&(old.slot(), old.generation()));
        subscribe(sys, "echo", 0).unwrap();
        r(&sys.call(old, Message::new(ECHO_PING)).map(|m| Endpoint::from_raw(m.m_type as u32) == old));
        r(&sys.call(old, Message::new(ECHO_CRASH)).map(drop));
        notified(sys);
        let change = check(sys).unwrap();
        let Some(DsValue::Endpoint(new)) = change.value else { return 2 };
        r(&(change.name, new.slot(), new.generation()));
        r(&check(sys));
        // The old endpoint is stale: the kernel's dead-endpoint error; the new one answers.
        r(&sys.call(old, Message::new(ECHO_PING)).map(drop));
        r(&sys.call(new, Message::new(ECHO_PING)).map(|m| Endpoint::from_raw(m.m_type as u32) == new));
        r(&(retrieve(sys, "echo") == Ok(DsValue::Endpoint(new))));
        0
    });
    let expected = vec![
        format!("{:?}", (ECHO_SLOT, 0u16)),
        format!("{:?}", Ok::<_, Errno>(true)),
        format!("{:?}", Err::<(), _>(Errno::EDEADSRCDST)),
        format!("{:?}", ("echo".to_string(), ECHO_SLOT, 1u16)),
        format!("{:?}", Err::<DsChange, _>(Errno::ENOENT)),
        format!("{:?}", Err::<(), _>(Errno::EDEADSRCDST)),
        format!("{:?}", Ok::<_, Errno>(true)),
        "true".to_string(),
    ];
    assert_eq!(*seen.lock().unwrap(), expected, "{engine:?}");
    assert!(violations.is_empty(), "{engine:?}: {violations:#?}");
}

#[test]
fn a_service_left_dead_loses_its_label() {
    // Under `none` a crashed service stays dead: rs deletes its label (MINIX's unpublish), and a
    // subscriber learns it is gone.
    let seen: Seen = Arc::default();
    let s = seen.clone();
    let violations = run(PolicyKind::None, move |sys| {
        let r = |what: &dyn std::fmt::Debug| record(&s, what);
        let Ok(DsValue::Endpoint(echo)) = retrieve(sys, "echo") else { return 1 };
        subscribe(sys, "echo", 0).unwrap();
        r(&sys.call(echo, Message::new(ECHO_CRASH)).map(drop));
        notified(sys);
        r(&check(sys));
        r(&retrieve(sys, "echo"));
        r(&retrieve(sys, "vfs"));
        0
    });
    let expected = vec![
        format!("{:?}", Err::<(), _>(Errno::EDEADSRCDST)),
        format!("{:?}", Ok::<_, Errno>(DsChange { name: "echo".into(), value: None })),
        format!("{:?}", Err::<DsValue, _>(Errno::ESRCH)),
        format!("{:?}", Ok::<_, Errno>(DsValue::Endpoint(VFS))),
    ];
    assert_eq!(*seen.lock().unwrap(), expected);
    assert!(violations.is_empty(), "{violations:#?}");
}

#[test]
fn a_fresh_ds_gets_every_label_again_from_rs() {
    let seen: Seen = Arc::default();
    let s = seen.clone();
    let config = MachineConfig {
        kernel: Config {
            engine: EngineKind::Sim,
            seed: 5,
            time_limit: 30_000_000,
            finish_after: Some(os::proto::INIT),
            ..Config::default()
        },
        manifest: manifest(),
        policy: PolicyKind::Restart,
        // The test's second retrieve: mfs's lookup of its disk's driver at its mount is the first.
        fault: Some("panic:ds:ds_retrieve:start:3".parse().unwrap()),
        ..MachineConfig::default()
    };
    let mut machine = boot(&config, move |sys| {
        let r = |what: &dyn std::fmt::Debug| record(&s, what);
        publish(sys, "mine", DsValue::U64(1), 0).unwrap();
        r(&retrieve(sys, "mine"));
        // The second retrieve crashes ds; under restart it comes back empty, and rs republishes.
        r(&retrieve(sys, "mine"));
        r(&retrieve(sys, "mine"));
        r(&retrieve(sys, "pm"));
        r(&retrieve(sys, "ds"));
        0
    });
    let env = ServerEnv::default();
    machine.system.register_program(
        "echo",
        Arc::new(move |proc: &Proc, start: Start| task::run::<Echo>(proc, start, env.clone())),
    );
    machine.run();
    let expected = vec![
        format!("{:?}", Ok::<_, Errno>(DsValue::U64(1))),
        format!("{:?}", Err::<DsValue, _>(Errno::ERECOVERED)),
        format!("{:?}", Err::<DsValue, _>(Errno::ESRCH)),
        format!("{:?}", Ok::<_, Errno>(DsValue::Endpoint(PM))),
        format!("{:?}", Ok::<_, Errno>(DsValue::Endpoint(DS))),
    ];
    assert_eq!(*seen.lock().unwrap(), expected);
    let violations = checker::check(&mut Snapshot::take(&machine));
    assert!(violations.is_empty(), "{violations:#?}");
}

/// Runs the POSIX suite with `fault` under each of `policies` from `seed`: the fault fires, the
/// run is recovered and the checker finds nothing.
fn recovered_under(policies: &[PolicyKind], fault: &str, seed: u64) {
    for &policy in policies {
        let spec = RunSpec { policy, fault: Some(fault.parse().unwrap()), seed, ..RunSpec::default() };
        let result = execute(&spec, testbed::boot::default_table(), userland::workload::posix::run);
        assert!(result.fault_fired, "{policy}: {fault} fired");
        assert_eq!(result.outcome, Outcome::Recovered, "{policy}: {:#?} {:#?}", result.decisions, result.violations);
        assert!(result.violations.is_empty(), "{policy}: {:#?}", result.violations);
    }
}

#[test]
fn a_crash_of_ds_on_a_label_is_recovered_and_the_labels_are_whole() {
    // In the default manifest only rs reaches ds: the first request ds serves is rs's label of
    // itself. table and srs handle it again (a server's request is a protocol step); restart
    // starts ds empty, and rs publishes every label again.
    recovered_under(&[PolicyKind::Restart, PolicyKind::Table, PolicyKind::Srs], "panic:ds:ds_publish:start:1", 3);
}

#[test]
fn a_quarantined_ds_check_does_not_hang_a_file_system_waiting_for_its_driver() {
    // Under seed 69 mfs opens its disk before memdisk is published and waits for ds's news,
    // asking ds_check. A persistent fault there is quarantined (ds refuses the call from then
    // on): mfs must look its driver up again rather than wait for news that never comes.
    let policies = [PolicyKind::Restart, PolicyKind::Rollback, PolicyKind::Table, PolicyKind::Srs];
    recovered_under(&policies, "panic:ds:ds_check:start:1+", 69);
}

#[test]
fn a_server_uses_ds_through_its_ctx() {
    let seen: Seen = Arc::default();
    let s = seen.clone();
    let violations = run(PolicyKind::Restart, move |sys| {
        let r = |what: &dyn std::fmt::Debug| record(&s, what);
        let Ok(DsValue::Endpoint(echo)) = retrieve(sys, "echo") else { return 1 };
        let ask = |t: MsgType| sys.call(echo, Message::new(t)).map(|m| m.m_type);
        r(&ask(ECHO_LOOKUP).map(|raw| Endpoint::from_raw(raw as u32) == VFS));
        r(&ask(ECHO_CHECK));
        publish(sys, "probe.a", DsValue::U64(11), 0).unwrap();
        r(&ask(ECHO_WATCH));
        r(&ask(ECHO_CHECK));
        publish(sys, "probe.b", DsValue::U64(12), 0).unwrap();
        r(&ask(ECHO_CHECK));
        r(&ask(ECHO_CHECK));
        // echo comes back under a new endpoint and subscribes again: its earlier incarnation's
        // subscription goes (the checker finds one subscriber per slot).
        subscribe(sys, "echo", 0).unwrap();
        let _ = ask(ECHO_CRASH);
        notified(sys);
        let Ok(DsChange { value: Some(DsValue::Endpoint(again)), .. }) = check(sys) else { return 2 };
        let ask_again = |t: MsgType| sys.call(again, Message::new(t)).map(|m| m.m_type);
        r(&ask_again(ECHO_WATCH));
        r(&ask_again(ECHO_CHECK));
        r(&ask_again(ECHO_CHECK));
        r(&ask_again(ECHO_CHECK));
        0
    });
    let expected = vec![
        format!("{:?}", Ok::<_, Errno>(true)),
        format!("{:?}", Err::<i32, _>(Errno::ENOENT)),
        format!("{:?}", Ok::<i32, Errno>(0)),
        format!("{:?}", Ok::<i32, Errno>(11)),
        format!("{:?}", Ok::<i32, Errno>(12)),
        format!("{:?}", Err::<i32, _>(Errno::ENOENT)),
        // The new incarnation's DSF_INITIAL: both entries, then nothing.
        format!("{:?}", Ok::<i32, Errno>(0)),
        format!("{:?}", Ok::<i32, Errno>(11)),
        format!("{:?}", Ok::<i32, Errno>(12)),
        format!("{:?}", Err::<i32, _>(Errno::ENOENT)),
    ];
    assert_eq!(*seen.lock().unwrap(), expected);
    assert!(violations.is_empty(), "{violations:#?}");
}

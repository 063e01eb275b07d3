//! Booting a whole samsara system: the kernel, rs (which starts pm, vm and vfs from the manifest),
//! the user programs, and init running a workload.

use crate::fault::{FaultSpec, Injector};
use crate::libc::Sys;
use crate::proto::{INIT, PM, VFS, VM};
use crate::rs::decisions::DecisionLog;
use crate::rs::{self, RecoveryConfig};
use crate::task::{self, Server, ServerEnv, Vault};
use crate::{pm, programs, vfs, vm};
use kernel_sim::{Config, Manifest, Proc, Program, RunReport, Start, System};
use recovery::{PolicyKind, RecoveryTable};
use std::sync::Arc;

/// The manifest samsara boots with unless told otherwise (`etc/system.conf`).
pub const DEFAULT_MANIFEST: &str = include_str!("../../etc/system.conf");

/// The built-in manifest, parsed.
pub fn default_manifest() -> Arc<Manifest> {
    Arc::new(Manifest::parse(DEFAULT_MANIFEST, "etc/system.conf", &|_| None).expect("the built-in manifest is valid"))
}

/// The recovery-class table the runtime uses (hand-written in the analysis's format until the
/// analysis generates it).
pub const RECOVERY_TABLE: &str = include_str!("../../etc/recovery-table.json");

/// The built-in recovery-class table, parsed.
pub fn default_table() -> Arc<RecoveryTable> {
    let bytes = include_bytes!("../../etc/recovery-table.postcard");
    Arc::new(RecoveryTable::from_postcard(bytes, "etc/recovery-table.postcard").expect("the built-in table is valid"))
}

/// What a machine is booted with.
#[derive(Clone)]
pub struct MachineConfig {
    /// The kernel's configuration (engine, seed, memory...).
    pub kernel: Config,
    /// The service manifest.
    pub manifest: Arc<Manifest>,
    /// The recovery policy and table.
    pub policy: PolicyKind,
    /// The recovery-class table `table` and `srs` consult.
    pub table: Arc<RecoveryTable>,
    /// The fault to inject, if any.
    pub fault: Option<FaultSpec>,
    /// Loop-top invariant checks in every server.
    pub check_invariants: bool,
    /// Take the loop-top checkpoint before every request (off only to measure its cost).
    pub checkpoints: bool,
    /// Count every site's executions here (the golden run of a campaign).
    pub profile: Option<Arc<std::sync::Mutex<crate::fault::SiteProfile>>>,
}

impl Default for MachineConfig {
    fn default() -> Self {
        MachineConfig {
            kernel: Config::default(),
            manifest: default_manifest(),
            policy: PolicyKind::Restart,
            table: default_table(),
            fault: None,
            check_invariants: false,
            checkpoints: true,
            profile: None,
        }
    }
}

/// A booted system and what the harness can read of it once it stops.
pub struct Machine {
    /// The kernel and its processes.
    pub system: System,
    /// Where the servers leave their state when the system stops.
    pub vault: Vault,
    /// rs's recovery decisions.
    pub decisions: DecisionLog,
    /// The armed fault, if any (tells whether it fired).
    pub injector: Option<Arc<Injector>>,
    /// The kernel's process table when the last run stopped (before its teardown).
    pub stopped_procs: Vec<kernel_sim::ProcInfo>,
}

fn service_program<S: Server>(env: ServerEnv) -> Program {
    Arc::new(move |proc: &Proc, start: Start| task::run::<S>(proc, start, env.clone()))
}

/// Waits until vm, pm and vfs answer, so init's first call finds its memory mapped and its
/// entries made (rs starts the servers after the kernel starts init).
fn wait_for_servers(sys: &Sys<'_>) {
    for server in [VM, PM, VFS] {
        loop {
            // A call every server answers for init, even with an error, once it runs.
            let probe = match server {
                VM => sys.vm_info().map(drop),
                PM => sys.getpid().map(drop),
                _ => sys.call(VFS, kernel_sim::Message::new(crate::proto::vfs::VFS_FSTAT)).map(drop),
            };
            match probe {
                Err(crate::errno::Errno::EDEADSRCDST) => sys.proc().yield_now(),
                _ => break,
            }
        }
    }
}

/// Boots a machine whose init runs `init` and exits with its result.
pub fn boot(config: &MachineConfig, init: impl FnOnce(&Sys<'_>) -> i32 + Send + 'static) -> Machine {
    let system = System::new(config.manifest.clone(), config.kernel.clone());
    let vault = Vault::default();
    let injector = config.fault.clone().map(|f| Arc::new(Injector::new(f)));
    let env = ServerEnv {
        checkpoints: config.checkpoints,
        vault: vault.clone(),
        injector: injector.clone(),
        check_invariants: config.check_invariants,
        profile: config.profile.clone(),
    };
    system.register_program(pm::Pm::NAME, service_program::<pm::Pm>(env.clone()));
    system.register_program(vm::Vm::NAME, service_program::<vm::Vm>(env.clone()));
    system.register_program(vfs::Vfs::NAME, service_program::<vfs::Vfs>(env));
    for &(name, main) in programs::registry() {
        system.register_program(
            name,
            Arc::new(move |proc: &Proc, start: Start| {
                let sys = Sys::new(proc);
                let code = main(&sys, &start.argv);
                sys.exit(code)
            }),
        );
    }
    let manifest = config.manifest.clone();
    let decisions = DecisionLog::default();
    let recovery = RecoveryConfig { policy: config.policy, table: config.table.clone(), log: decisions.clone() };
    let rs_vault = vault.clone();
    system
        .spawn_service("rs", move |proc: &Proc| rs::main(proc, manifest, recovery, rs_vault))
        .expect("the manifest has rs");
    let ep = system
        .spawn_user("init", move |proc: &Proc| {
            let sys = Sys::new(proc);
            wait_for_servers(&sys);
            let code = init(&sys);
            sys.exit(code)
        })
        .expect("the first user slot is free");
    assert_eq!(ep, INIT, "init is the first user process");
    Machine { system, vault, decisions, injector, stopped_procs: Vec::new() }
}

impl Machine {
    /// Runs until the system stops.
    pub fn run(&mut self) -> RunReport {
        let report = self.system.run();
        self.stopped_procs = report.procs.clone();
        report
    }
}

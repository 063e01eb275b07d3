//! Booting a whole samsara system: the kernel, rs (which starts pm, vm and vfs from the manifest),
//! the user programs, and init running a workload.

use crate::libc::Sys;
use crate::proto::{INIT, PM, VFS, VM};
use crate::rs::{self, FreshRestart, Restarter};
use crate::task::{self, Server, Vault};
use crate::{pm, programs, vfs, vm};
use kernel_sim::{Config, Manifest, Proc, Program, RunReport, Start, System};
use std::sync::Arc;

/// The manifest samsara boots with unless told otherwise (`etc/system.conf`).
pub const DEFAULT_MANIFEST: &str = include_str!("../../etc/system.conf");

/// The built-in manifest, parsed.
pub fn default_manifest() -> Arc<Manifest> {
    Arc::new(Manifest::parse(DEFAULT_MANIFEST, "etc/system.conf", &|_| None).expect("the built-in manifest is valid"))
}

/// Makes the recovery policy rs restarts services with (one per rs incarnation).
pub type RestarterFactory = Arc<dyn Fn() -> Box<dyn Restarter> + Send + Sync>;

/// What a machine is booted with.
#[derive(Clone)]
pub struct MachineConfig {
    /// The kernel's configuration (engine, seed, memory...).
    pub kernel: Config,
    /// The service manifest.
    pub manifest: Arc<Manifest>,
    /// The recovery policy's restart decisions.
    pub restarter: RestarterFactory,
}

impl Default for MachineConfig {
    fn default() -> Self {
        MachineConfig {
            kernel: Config::default(),
            manifest: default_manifest(),
            restarter: Arc::new(|| Box::new(FreshRestart) as Box<dyn Restarter>),
        }
    }
}

/// A booted system and what the harness can read of it once it stops.
pub struct Machine {
    /// The kernel and its processes.
    pub system: System,
    /// Where the servers leave their state when the system stops.
    pub vault: Vault,
}

fn service_program<S: Server>(vault: Vault) -> Program {
    Arc::new(move |proc: &Proc, start: Start| task::run::<S>(proc, start, vault.clone()))
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
    system.register_program(pm::Pm::NAME, service_program::<pm::Pm>(vault.clone()));
    system.register_program(vm::Vm::NAME, service_program::<vm::Vm>(vault.clone()));
    system.register_program(vfs::Vfs::NAME, service_program::<vfs::Vfs>(vault.clone()));
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
    let restarter = config.restarter.clone();
    system.spawn_service("rs", move |proc: &Proc| rs::main(proc, manifest, restarter())).expect("the manifest has rs");
    let ep = system
        .spawn_user("init", move |proc: &Proc| {
            let sys = Sys::new(proc);
            wait_for_servers(&sys);
            let code = init(&sys);
            sys.exit(code)
        })
        .expect("the first user slot is free");
    assert_eq!(ep, INIT, "init is the first user process");
    Machine { system, vault }
}

impl Machine {
    /// Runs until the system stops.
    pub fn run(&mut self) -> RunReport {
        self.system.run()
    }
}

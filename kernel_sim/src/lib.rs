//! kernel_sim: the simulated microkernel every samsara process runs on.
//!
//! It owns what MINIX's kernel owns: process slots and endpoints with generation numbers, message
//! copy and the IPC primitives, per-process IPC and kernel-call permissions from the service
//! manifest, the clock and alarms, physical memory frames, page tables, grants and safecopy, and a
//! log of every IPC event. It knows no server and no recovery policy.
//!
//! Start reading at [`Proc`] (what a process can do), then [`System`] (boot and run), then the
//! private `core` module (the semantics, shared by both engines).

mod clock;
mod core;
mod endpoint;
mod engine;
mod error;
pub mod manifest;
pub mod memory;
mod message;
pub mod msgtype;
mod proc;
mod trace;

pub use clock::Micros;
pub use core::{Body, Death, NR_SCHED_QUEUES, ProcInfo, ProcState, Program, SigFrame, Start};
pub use endpoint::{Endpoint, MAX_SLOTS, Slot};
pub use engine::{Config, EngineKind, RunEnd, RunReport, SchedMode, System};
pub use error::KernelError;
pub use manifest::{KernelCall, Manifest, ManifestError};
pub use message::{Field, Message, MsgType, PAYLOAD_SIZE, Payload};
pub use proc::{Crash, Proc, catch_crash};
pub use trace::{EndCause, Event, EventKind, EventLog, Primitive};

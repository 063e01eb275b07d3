//! Fault-injection campaigns: samsara's main job.
//!
//! A campaign runs the workload once fault-free with site profiling (the golden run), samples
//! faults from the sites that executed (by seed, or exhaustively), runs each fault under every
//! selected policy — the same fault side by side — in parallel and deterministically, appends one
//! JSON line per run (resumable, shardable), and summarises outcomes per policy, server and fault
//! type with OSIRIS's recovery coverage.

pub mod execute;
pub mod plan;
pub mod report;
pub mod results;
pub mod summary;

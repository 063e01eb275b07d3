//! The machine a run measured: what a reader needs to compare figures across machines.
//!
//! Read from `/proc` on Linux (CPU model, memory, kernel release); elsewhere only the core
//! count is known and the rest says so.

use serde::{Deserialize, Serialize};

/// The host's description.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// Cores the process may run on.
    pub cores: usize,
    /// The CPU model.
    pub cpu: String,
    /// Physical memory, GiB.
    pub memory_gib: f64,
    /// The operating system and its release.
    pub os: String,
    /// Whether the CPU reports running under a hypervisor.
    pub virtualised: bool,
}

impl Machine {
    /// The machine this process runs on.
    pub fn detect() -> Machine {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        let virtualised =
            cpuinfo.lines().any(|l| l.starts_with("flags") && l.split_whitespace().any(|f| f == "hypervisor"));
        let memory_gib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines()
                    .find_map(|l| l.strip_prefix("MemTotal:"))
                    .and_then(|r| r.split_whitespace().next()?.parse::<f64>().ok())
            })
            .map_or(0.0, |kib| kib / (1024.0 * 1024.0));
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").map(|r| r.trim().to_string());
        let os = match release {
            Ok(r) => format!("{} {r}", std::env::consts::OS),
            Err(_) => std::env::consts::OS.to_string(),
        };
        Machine { cores, cpu, memory_gib, os, virtualised }
    }

    /// One line: `2 cores (AMD EPYC, virtualised), 23.4 GiB, linux 6.1`.
    pub fn summary(&self) -> String {
        format!(
            "{} core{} ({}{}), {:.1} GiB, {}",
            self.cores,
            if self.cores == 1 { "" } else { "s" },
            self.cpu,
            if self.virtualised { ", virtualised" } else { "" },
            self.memory_gib,
            self.os
        )
    }
}

//! `samsara run`: one run of a workload, optionally with one injected fault under one policy.

use super::Cli;
use clap::Args;
use os::fault::{FaultSpec, Point, Site, SiteProfile, Trigger};
use recovery::PolicyKind;
use std::fmt::Write;
use testbed::boot::default_table;
use testbed::run::{RunResult, RunSpec, execute};
use userland::workload::Workload;

/// Options of `samsara run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// What init runs: `posix` (the POSIX-behaviour suite), `unixbench[:N]` (loops, N rounds), or
    /// `strace:FILE` (replay of a real program's `strace -f -o FILE` log).
    #[arg(long, default_value = "posix")]
    pub workload: Workload,
    /// Inject one fault. At a request point: KIND:SERVER:CALL[:POINT[:NTH[+]]] with KIND panic or
    /// hang and POINT start, before-ipc-N, after-ipc-N, before-write-N or end (e.g.
    /// panic:pm:fork:after-ipc-1). At a code site: KIND@SERVER:HANDLER:FILE:LINE[#NTH[+]][/BIT]
    /// with KIND panic, hang, corrupt, skip-write, overflow, leak, bad-reply or drop. A fault is
    /// transient (fires once, at the NTH); a `+` after NTH makes it persistent, like a real bug: it
    /// fires at the NTH and every later one, in every incarnation (e.g. panic:pm:fork:start:1+).
    #[arg(long, value_name = "SPEC")]
    pub inject: Option<FaultSpec>,
    /// What rs does when a server crashes: none, restart, rollback, pessimistic, enhanced, table, srs.
    #[arg(long, default_value = "table")]
    pub policy: PolicyKind,
    /// Each server checks its own invariants after every request that changed its state (a
    /// violation becomes a crash while the request's recovery window is still open). The
    /// default; kept for older scripts.
    #[arg(long, overrides_with = "no_check_invariants")]
    pub check_invariants: bool,
    /// Servers skip their loop-top self-checks (the system without its assertions).
    #[arg(long)]
    pub no_check_invariants: bool,
    /// Print the kernel's full event log too.
    #[arg(long)]
    pub trace: bool,
    /// The machine's memory in frames of 4 KiB (a real program's strace log that runs out of it
    /// says so, naming this option).
    #[arg(long, value_name = "N", default_value_t = testbed::run::DEFAULT_FRAMES, value_parser = parse_frames)]
    pub frames: usize,
}

/// Frames a machine may have: from 1 MiB (fewer do not hold the system and a workload) to 4 GiB
/// (the kernel's and vm's tables of frames, one entry a frame, stay a few MiB of the host's).
const FRAMES_RANGE: std::ops::RangeInclusive<usize> = 256..=1 << 20;

fn parse_frames(text: &str) -> Result<usize, String> {
    let frames: usize = text.parse().map_err(|_| format!("`{text}` is not a number of frames"))?;
    if !FRAMES_RANGE.contains(&frames) {
        return Err(format!(
            "{}: a machine has {} to {} frames of 4 KiB (1 MiB to 4 GiB)",
            recovery::counted(frames as u64, "frame"),
            FRAMES_RANGE.start(),
            FRAMES_RANGE.end()
        ));
    }
    Ok(frames)
}

/// Runs it and prints the verdicts.
pub fn run(cli: &Cli, args: &RunArgs) -> Result<i32, String> {
    let manifest = std::sync::Arc::new(super::load_manifest(cli.manifest.as_ref())?);
    let workload = args.workload.clone().prepare().map_err(|e| e.to_string())?;
    let mut spec = RunSpec {
        engine: cli.engine,
        seed: cli.seed,
        policy: args.policy,
        fault: args.inject.clone(),
        check_invariants: !args.no_check_invariants,
        record_events: args.trace,
        frames: args.frames,
        manifest: Some(manifest),
        ..RunSpec::default()
    };
    if let Some(fault) = &spec.fault {
        spec.event_limit = check_fault_can_fire(&spec, fault, &workload)?;
    }
    let result = execute(&spec, default_table(), move |sys, rec| workload.run(sys, rec));
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&result).map_err(|e| e.to_string())?);
    } else {
        print!("{}", render(&spec, &args.workload, &result));
    }
    Ok(0)
}

/// Refuses a fault the run never reaches: the same run without the fault, profiled, must reach
/// its site at least NTH times, or its request point in the NTH request of its call (or a later
/// one, for a persistent fault), or the fault could never fire. The error names what the server
/// does run (its handlers, the handler's sites, or how far its requests got) to choose from.
/// Returns the kernel events the faulty run gets before it counts as livelocked, as a campaign's
/// run would.
fn check_fault_can_fire(spec: &RunSpec, fault: &FaultSpec, workload: &Workload) -> Result<u64, String> {
    let golden = RunSpec { fault: None, profile: true, record_events: false, ..spec.clone() };
    let prepared = workload.clone();
    let mut result = execute(&golden, default_table(), move |sys, rec| prepared.run(sys, rec));
    let profile = result.profile.take().unwrap_or_default();
    let why = match &fault.trigger {
        Trigger::Site { handler, location, nth } => site_unreached(&profile, fault, handler, location, *nth),
        Trigger::Request { m_type, point, nth } => {
            request_point_unreached(&profile, fault, os::proto::call_name(*m_type), *point, *nth)
        }
    };
    match why {
        None => Ok(testbed::run::livelock_limit(result.events)),
        Some(why) => Err(format!("fault `{fault}` can never fire in this run: {why}")),
    }
}

/// The handlers of the fault's server that ran in the profiled run.
fn handlers_run<'a>(profile: &'a SiteProfile, server: &str) -> Vec<&'a str> {
    profile.requests.get(server).map_or_else(Vec::new, |h| h.keys().map(String::as_str).collect())
}

/// Why a code site is not reached NTH times, if it is not.
fn site_unreached(profile: &SiteProfile, fault: &FaultSpec, handler: &str, location: &str, nth: u64) -> Option<String> {
    let site = Site { server: fault.server.clone(), handler: handler.to_string(), location: location.to_string() };
    let hits = profile.sites.get(&site).map_or(0, |s| s.hits);
    if hits >= nth {
        return None;
    }
    let handlers = handlers_run(profile, &fault.server);
    Some(if hits > 0 {
        format!(
            "`{location}` runs {} in `{handler}` without the fault, fewer than {nth}",
            recovery::counted(hits, "time")
        )
    } else if !handlers.contains(&handler) {
        format!("`{}` never runs a `{handler}` here (its handlers that run: {})", fault.server, handlers.join(", "))
    } else {
        let sites: Vec<String> = profile
            .sites
            .iter()
            .filter(|(s, _)| s.server == fault.server && s.handler == handler)
            .map(|(s, stats)| format!("{}#{}", s.location, stats.hits))
            .collect();
        format!("`{location}` is not a site `{handler}` runs (its sites, with their executions: {})", sites.join(", "))
    })
}

/// Why no request of `call` that the fault watches passes its point, if none does.
fn request_point_unreached(
    profile: &SiteProfile,
    fault: &FaultSpec,
    call: &str,
    point: Point,
    nth: u32,
) -> Option<String> {
    let served = profile.requests.get(&fault.server).and_then(|h| h.get(call)).map_or(0, Vec::len);
    let passing = profile.requests_passing(&fault.server, call, point);
    if passing.iter().any(|&n| fault.persistence.due(n, nth)) {
        return None;
    }
    let handlers = handlers_run(profile, &fault.server);
    Some(if served == 0 {
        format!("`{}` never serves a `{call}` here (its calls that run: {})", fault.server, handlers.join(", "))
    } else if (served as u32) < nth {
        format!(
            "`{}` serves {} without the fault, fewer than {nth}",
            fault.server,
            recovery::counted(served as u64, call)
        )
    } else {
        let reach = profile.requests[&fault.server][call][nth as usize - 1];
        format!(
            "the {} `{call}` does not get that far (it begins {}, returns from {}, makes {} and {})",
            ordinal(nth),
            recovery::counted(u64::from(reach.ipcs_begun), "outgoing IPC"),
            reach.ipcs_returned,
            recovery::counted(u64::from(reach.writes), "write"),
            if reach.ended { "ends" } else { "never ends" }
        )
    })
}

/// 1st, 2nd, 3rd, 4th...
fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

fn render(spec: &RunSpec, workload: &Workload, r: &RunResult) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "workload   {workload}: {}", workload.description());
    let _ = writeln!(out, "engine     {}   seed {}   policy {}", spec.engine, spec.seed, spec.policy);
    if let Some(f) = &spec.fault {
        let _ = writeln!(
            out,
            "fault      {f} ({}, {})",
            f.persistence,
            match r.fault_firings {
                0 => "never fired: its point was not reached".to_string(),
                1 => "fired once".to_string(),
                n => format!("fired {n} times"),
            }
        );
    }
    let end = match &r.end {
        // The endpoint with the service's name, when the manifest has one in that slot.
        kernel_sim::RunEnd::Shutdown { by, reason } => {
            match spec.manifest.as_ref().and_then(|m| m.service_at(by.slot())).map(|s| s.name.clone()) {
                Some(name) => format!("shut down by {name} ({by}): {reason}"),
                None => r.end.to_string(),
            }
        }
        end => end.to_string(),
    };
    let _ = writeln!(out, "run end    {end} after {} us ({} kernel events)", r.time, r.events);
    let verdict = match r.workload.failures.len() {
        // A workload the run stopped before its end passed nothing: its checks are not all in.
        0 if r.end != kernel_sim::RunEnd::Finished => "did not finish".to_string(),
        0 => "pass".to_string(),
        n => format!("FAIL ({})", recovery::counted(n as u64, "check")),
    };
    let _ = writeln!(out, "workload   {verdict}: {} passed", recovery::counted(r.workload.passed, "check"));
    for f in &r.workload.failures {
        let _ = writeln!(out, "           - {f}");
    }
    if !r.workload.counters.is_empty() {
        let counters: Vec<String> = r.workload.counters.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = writeln!(out, "counters   {}", counters.join("  "));
    }
    for d in &r.decisions {
        let _ = writeln!(out, "decision   {d}");
    }
    for (server, c) in r.srs.iter().filter(|(_, c)| c.suspects_created > 0) {
        let _ = writeln!(
            out,
            "srs        {server}: {} suspects, {} restored on read, {} self-cleansed, {} pending",
            c.suspects_created,
            c.restored(),
            c.self_cleansed,
            c.suspects_created.saturating_sub(c.restored() + c.self_cleansed)
        );
    }
    if r.violations.is_empty() {
        let _ = writeln!(out, "checker    consistent");
    } else {
        let _ =
            writeln!(out, "checker    {}: {}:", r.checker, recovery::counted(r.violations.len() as u64, "violation"));
        for v in &r.violations {
            let _ = writeln!(out, "           - {}: {}", v.invariant, v.detail);
        }
    }
    let _ = writeln!(out, "outcome    {}", r.outcome);
    if let Some(log) = &r.event_log {
        let _ = writeln!(out, "\nevent log:\n{log}");
    }
    out
}

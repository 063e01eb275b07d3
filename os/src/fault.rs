//! Injected faults: where (a request point, or a code site's n-th execution), what goes wrong, and
//! the golden run's site profile.
//!
//! Sites are every tracked-state write and every IPC call (kernel calls included) in server code,
//! named by server, handler (the entry point being served) and `file:line` — found by the
//! containers' and `Ctx`'s `#[track_caller]`, with no manual markers. Faults go into every server
//! but rs ([`FAULTABLE_SERVERS`]): rs and the kernel are the reliable computing base, as in OSIRIS.
//!
//! Two spellings:
//! - a request point, `KIND:SERVER:CALL[:POINT[:NTH[+]]]`, e.g. `panic:pm:fork:after-ipc-1`, where
//!   POINT is `start` (default), `before-ipc-N`, `after-ipc-N`, `before-write-N` or `end`, and NTH
//!   counts requests of that type (default 1);
//! - a site, `KIND@SERVER:HANDLER:FILE:LINE[#NTH[+]][/BIT]`, e.g.
//!   `skip-write@vm:vm_exit:os/src/vm/fork.rs:92#2`: the NTH execution of that site while
//!   serving HANDLER; BIT picks the bit a `corrupt` or `bad-reply` fault flips.
//!
//! A fault is transient or persistent ([`Persistence`]). A transient fault (the default) fires once
//! per run, at the NTH request or execution, even across the server's later incarnations. A `+`
//! after NTH makes it persistent, like a real bug: it fires at the NTH and at every later one, in
//! this incarnation and the next (so a recovered request that is processed again meets it again),
//! e.g. `panic:pm:fork:start:1+` or `skip-write@vm:vm_exit:os/src/vm/fork.rs:92#2+`.
//!
//! A persistent fault can leave a server spinning in a loop that meets it at every turn (a skipped
//! write of the very flag that ends the loop). A real kernel preempts such a server and rs's
//! heartbeats find it unresponsive; the `sim` engine cannot preempt a coroutine, so the whole
//! simulation would spin for ever. After [`RUNAWAY_FIRINGS`] firings within one request the
//! injector ends the turn itself: the server crashes with a message that says so, and rs recovers
//! it like any crash.

use crate::proto::call_name;
use kernel_sim::MsgType;
use recovery::PolicyKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// What goes wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// The handler panics.
    Panic,
    /// The handler blocks for ever (rs's heartbeats find it).
    Hang,
    /// A wrong value is stored (a bit flip; the neighbouring entry where the value has no bits to
    /// flip, i.e. a wrong index).
    Corrupt,
    /// A store is missing.
    SkipWrite,
    /// The write lands on the neighbouring element, like a buffer overflow.
    Overflow,
    /// A release is skipped (a removal, or a return to a free list).
    Leak,
    /// A field of an outgoing message is corrupted.
    BadReply,
    /// An outgoing message is lost.
    Drop,
}

impl FaultKind {
    /// Every kind, in report order.
    pub const ALL: [FaultKind; 8] = [
        FaultKind::Panic,
        FaultKind::Hang,
        FaultKind::Corrupt,
        FaultKind::SkipWrite,
        FaultKind::Overflow,
        FaultKind::Leak,
        FaultKind::BadReply,
        FaultKind::Drop,
    ];

    /// Its name in specs and reports.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Panic => "panic",
            FaultKind::Hang => "hang",
            FaultKind::Corrupt => "corrupt",
            FaultKind::SkipWrite => "skip-write",
            FaultKind::Overflow => "overflow",
            FaultKind::Leak => "leak",
            FaultKind::BadReply => "bad-reply",
            FaultKind::Drop => "drop",
        }
    }

    /// Whether the kind can be injected at a site of this kind.
    pub fn applies_to(self, site: &SiteKind) -> bool {
        match (self, site) {
            (FaultKind::Panic | FaultKind::Hang, _) => true,
            (FaultKind::Corrupt | FaultKind::SkipWrite | FaultKind::Overflow, SiteKind::Write { .. }) => true,
            (FaultKind::Leak, SiteKind::Write { release, .. }) => *release,
            (FaultKind::BadReply | FaultKind::Drop, SiteKind::Ipc { kernel_call, .. }) => !kernel_call,
            _ => false,
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for FaultKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        FaultKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| format!("unknown fault kind `{s}` ({})", FaultKind::ALL.map(|k| k.name()).join(", ")))
    }
}

/// Where in the handling of a request (request-point faults).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Point {
    /// Before the handler runs.
    Start,
    /// Before the handler's n-th outgoing message or kernel call (1-based).
    BeforeIpc(u32),
    /// After the handler's n-th outgoing message or kernel call returned.
    AfterIpc(u32),
    /// Just before the handler's n-th tracked state write (1-based).
    BeforeWrite(u32),
    /// After the handler, before the reply.
    End,
}

/// A code site: the handler being served and the source line.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Site {
    /// The server.
    pub server: String,
    /// The entry point being served when it runs (`fork`, `vm_exit`...).
    pub handler: String,
    /// `file:line`.
    pub location: String,
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.server, self.handler, self.location)
    }
}

/// What kind of code a site is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "site")]
pub enum SiteKind {
    /// A tracked-state write.
    Write {
        /// The field written.
        field: String,
        /// A release (removal, or a return to a free list).
        release: bool,
        /// The value can take a bit flip.
        corruptible: bool,
    },
    /// An outgoing message or kernel call.
    Ipc {
        /// The primitive (`sendrec`, `asynsend`, `reply`, `send`, `notify`, `kernel`).
        primitive: String,
        /// A kernel call (cannot be dropped or corrupted: its answer is needed).
        kernel_call: bool,
    },
}

/// What triggers a fault.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "at")]
pub enum Trigger {
    /// The `nth` request of `m_type` reaching `point`.
    Request {
        /// Request type.
        m_type: MsgType,
        /// Point in its handling.
        point: Point,
        /// Which request of that type (1-based).
        nth: u32,
    },
    /// The `nth` execution of a site.
    Site {
        /// Handler being served.
        handler: String,
        /// `file:line`.
        location: String,
        /// Which execution (1-based).
        nth: u64,
    },
}

/// Whether a fault fires once or at every occasion from its NTH on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Persistence {
    /// Fires once: at the NTH request or execution (a glitch).
    #[default]
    Transient,
    /// Fires at the NTH request or execution and every later one, in every incarnation (a bug in
    /// the code).
    Persistent,
}

impl Persistence {
    /// Whether a fault of this persistence whose spec names the `nth` occasion (request or
    /// execution) fires at the `count`-th.
    pub fn due<N: PartialOrd>(self, count: N, nth: N) -> bool {
        match self {
            Persistence::Transient => count == nth,
            Persistence::Persistent => count >= nth,
        }
    }

    /// Both, in report order.
    pub const ALL: [Persistence; 2] = [Persistence::Transient, Persistence::Persistent];

    /// Its name in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Persistence::Transient => "transient",
            Persistence::Persistent => "persistent",
        }
    }

    /// What follows NTH in a spec: nothing, or `+` (from the NTH on).
    fn suffix(self) -> &'static str {
        match self {
            Persistence::Transient => "",
            Persistence::Persistent => PERSISTENT_SUFFIX,
        }
    }
}

/// Marks a persistent fault after its NTH: `#3+` reads "the third execution and on".
const PERSISTENT_SUFFIX: &str = "+";

impl fmt::Display for Persistence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Persistence {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Persistence::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| format!("unknown persistence `{s}` (transient, persistent)"))
    }
}

/// Splits a spec's NTH (with its optional persistent suffix) into the number and the persistence.
fn parse_nth<N: std::str::FromStr + PartialOrd + From<u8>>(text: &str, nth: &str) -> Result<(N, Persistence), String> {
    let (nth, persistence) = match nth.strip_suffix(PERSISTENT_SUFFIX) {
        Some(n) => (n, Persistence::Persistent),
        None => (nth, Persistence::Transient),
    };
    let n = nth
        .parse::<N>()
        .ok()
        .filter(|n| *n >= N::from(1))
        .ok_or_else(|| format!("fault `{text}`: NTH must be 1 or more (a `+` after it: from the NTH on)"))?;
    Ok((n, persistence))
}

/// One fault to inject.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FaultSpec {
    /// What goes wrong.
    pub kind: FaultKind,
    /// In which server.
    pub server: String,
    /// When.
    pub trigger: Trigger,
    /// The bit a `corrupt` or `bad-reply` fault flips.
    pub bit: u8,
    /// Once, or from the NTH on (results files older than persistent faults hold transient ones).
    #[serde(default)]
    pub persistence: Persistence,
}

/// The servers faults may go into: every server but rs (rs and the kernel are the reliable base).
pub const FAULTABLE_SERVERS: &[&str] = &["pm", "vm", "vfs", "mfs", "ds", "sched", "memdisk", "memory"];

/// The calls `server` dispatches (its call table), by name and message type.
fn calls_of(server: &str) -> Vec<(&'static str, MsgType)> {
    fn named<S>(calls: &[crate::task::Call<S>]) -> Vec<(&'static str, MsgType)> {
        calls.iter().map(|c| (c.name, c.m_type)).collect()
    }
    match server {
        "pm" => named(crate::pm::table::CALLS),
        "vm" => named(crate::vm::table::CALLS),
        "vfs" => named(crate::vfs::table::CALLS),
        "ds" => named(crate::ds::table::CALLS),
        "sched" => named(crate::sched::table::CALLS),
        "memdisk" => named(crate::memdisk::table::CALLS),
        "memory" => named(crate::memory::table::CALLS),
        "mfs" => named(crate::mfs::table::CALLS),
        _ => Vec::new(),
    }
}

fn check_server(text: &str, server: &str) -> Result<(), String> {
    if FAULTABLE_SERVERS.contains(&server) {
        Ok(())
    } else {
        Err(format!(
            "fault `{text}`: faults go into {} (rs and the kernel are the reliable base)",
            FAULTABLE_SERVERS.join(", ")
        ))
    }
}

fn parse_request(text: &str) -> Result<FaultSpec, String> {
    let usage = "KIND:SERVER:CALL[:POINT[:NTH[+]]] (e.g. panic:pm:fork:after-ipc-1) or KIND@SERVER:HANDLER:FILE:LINE[#NTH[+]][/BIT]";
    let parts: Vec<&str> = text.split(':').collect();
    if !(3..=5).contains(&parts.len()) {
        return Err(format!("fault `{text}`: expected {usage}"));
    }
    let kind: FaultKind = parts[0].parse().map_err(|e| format!("fault `{text}`: {e}"))?;
    if !matches!(kind, FaultKind::Panic | FaultKind::Hang) {
        return Err(format!("fault `{text}`: a request point takes panic or hang; {kind} goes at a site (KIND@...)"));
    }
    check_server(text, parts[1])?;
    // A request point is a call the server dispatches: another's would never fire.
    let calls = calls_of(parts[1]);
    let m_type = calls.iter().find(|(name, _)| *name == parts[2]).map(|&(_, t)| t).ok_or_else(|| {
        let names: Vec<&str> = calls.iter().map(|(name, _)| *name).collect();
        format!("fault `{text}`: unknown call `{}` for {} (its calls: {})", parts[2], parts[1], names.join(", "))
    })?;
    let point = match parts.get(3).copied().unwrap_or("start") {
        "start" => Point::Start,
        "end" => Point::End,
        p => {
            let n = |s: &str| s.parse::<u32>().ok().filter(|&n| n > 0);
            if let Some(n) = p.strip_prefix("before-ipc-").and_then(n) {
                Point::BeforeIpc(n)
            } else if let Some(n) = p.strip_prefix("after-ipc-").and_then(n) {
                Point::AfterIpc(n)
            } else if let Some(n) = p.strip_prefix("before-write-").and_then(n) {
                Point::BeforeWrite(n)
            } else {
                return Err(format!(
                    "fault `{text}`: unknown point `{p}` (start, before-ipc-N, after-ipc-N, before-write-N, end)"
                ));
            }
        }
    };
    let (nth, persistence) = match parts.get(4) {
        None => (1, Persistence::Transient),
        Some(n) => parse_nth(text, n)?,
    };
    Ok(FaultSpec {
        kind,
        server: parts[1].to_string(),
        trigger: Trigger::Request { m_type, point, nth },
        bit: 0,
        persistence,
    })
}

fn parse_site(text: &str) -> Result<FaultSpec, String> {
    let (kind, rest) = text.split_once('@').expect("caller checked");
    let kind: FaultKind = kind.parse().map_err(|e| format!("fault `{text}`: {e}"))?;
    // A trailing `/N` is the bit (a path's own slashes are followed by a file name, not a number).
    let (rest, bit) = match rest.rsplit_once('/') {
        Some((r, b)) if !b.is_empty() && b.bytes().all(|c| c.is_ascii_digit()) => {
            (r, b.parse::<u8>().map_err(|_| format!("fault `{text}`: BIT must be 0..255"))?)
        }
        _ => (rest, 0),
    };
    let (rest, (nth, persistence)) = match rest.rsplit_once('#') {
        Some((r, n)) => (r, parse_nth::<u64>(text, n)?),
        None => (rest, (1, Persistence::Transient)),
    };
    let parts: Vec<&str> = rest.splitn(3, ':').collect();
    let [server, handler, location] = parts[..] else {
        return Err(format!("fault `{text}`: expected KIND@SERVER:HANDLER:FILE:LINE[#NTH[+]][/BIT]"));
    };
    check_server(text, server)?;
    if location.rsplit_once(':').is_none_or(|(_, line)| line.parse::<u32>().is_err()) {
        return Err(format!("fault `{text}`: `{location}` is not FILE:LINE"));
    }
    Ok(FaultSpec {
        kind,
        server: server.to_string(),
        trigger: Trigger::Site { handler: handler.to_string(), location: location.to_string(), nth },
        bit,
        persistence,
    })
}

impl std::str::FromStr for FaultSpec {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        if text.contains('@') { parse_site(text) } else { parse_request(text) }
    }
}

impl fmt::Display for FaultSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.trigger {
            Trigger::Request { m_type, point, nth } => {
                let point = match point {
                    Point::Start => "start".to_string(),
                    Point::End => "end".to_string(),
                    Point::BeforeIpc(n) => format!("before-ipc-{n}"),
                    Point::AfterIpc(n) => format!("after-ipc-{n}"),
                    Point::BeforeWrite(n) => format!("before-write-{n}"),
                };
                let more = self.persistence.suffix();
                write!(f, "{}:{}:{}:{point}:{nth}{more}", self.kind, self.server, call_name(*m_type))
            }
            Trigger::Site { handler, location, nth } => {
                let more = self.persistence.suffix();
                write!(f, "{}@{}:{handler}:{location}#{nth}{more}", self.kind, self.server)?;
                if matches!(self.kind, FaultKind::Corrupt | FaultKind::BadReply) {
                    write!(f, "/{}", self.bit)?;
                }
                Ok(())
            }
        }
    }
}

/// Firings of a persistent fault within one request of its server past which the server is taken
/// to spin in a loop that meets the fault at every turn: 100,000, far above any site's executions
/// in one request (a whole POSIX-suite run executes 2,820), and a fraction of a second to reach.
pub const RUNAWAY_FIRINGS: u64 = 100_000;

/// Arms one fault for a run; shared by every incarnation of every server.
///
/// Invariant: a transient fault fires at most once per run; a persistent one fires at every
/// occasion from its NTH on, at most [`RUNAWAY_FIRINGS`] times in one request. Either way
/// `firings` counts every time it fired.
#[derive(Debug)]
pub struct Injector {
    spec: FaultSpec,
    /// A site trigger's location as file and line, so that a site's execution is matched without
    /// formatting its location.
    place: Option<(String, u32)>,
    /// Requests of the spec's type the spec's server has started (request triggers).
    seen: AtomicU32,
    /// Executions of the spec's site (site triggers).
    hits: AtomicU64,
    /// Times it fired.
    firings: AtomicU64,
    /// Times it fired since its server started its latest request (the runaway guard).
    in_request: AtomicU64,
}

impl Injector {
    /// An injector for `spec`, not fired yet.
    pub fn new(spec: FaultSpec) -> Injector {
        let place = match &spec.trigger {
            Trigger::Site { location, .. } => {
                location.rsplit_once(':').and_then(|(file, line)| Some((file.to_string(), line.parse().ok()?)))
            }
            Trigger::Request { .. } => None,
        };
        Injector {
            spec,
            place,
            seen: AtomicU32::new(0),
            hits: AtomicU64::new(0),
            firings: AtomicU64::new(0),
            in_request: AtomicU64::new(0),
        }
    }

    /// The fault it injects.
    pub fn spec(&self) -> &FaultSpec {
        &self.spec
    }

    /// Whether it has fired.
    pub fn fired(&self) -> bool {
        self.fired_times() > 0
    }

    /// How many times it fired: at most 1 for a transient fault.
    pub fn fired_times(&self) -> u64 {
        self.firings.load(Ordering::SeqCst)
    }

    /// Fires, unless it is transient and already fired.
    fn fire(&self) -> Option<FaultKind> {
        let fires = match self.spec.persistence {
            Persistence::Transient => self.firings.compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst).is_ok(),
            Persistence::Persistent => {
                self.firings.fetch_add(1, Ordering::SeqCst);
                let in_request = self.in_request.fetch_add(1, Ordering::SeqCst) + 1;
                // Inside the handler: the panic is a crash of the spinning server, caught like
                // any other (see the module doc).
                assert!(
                    in_request < RUNAWAY_FIRINGS,
                    "runaway: {} met its persistent fault {in_request} times in one request, a loop that \
                     never yields (a preemptive kernel would let rs's heartbeats find it unresponsive and kill it)",
                    self.spec.server
                );
                true
            }
        };
        fires.then_some(self.spec.kind)
    }

    /// A request of `m_type` starts at `server`: returns its number among such requests, if it
    /// is one the spec watches.
    pub fn request_started(&self, server: &str, m_type: MsgType) -> Option<u32> {
        if server == self.spec.server {
            self.in_request.store(0, Ordering::SeqCst);
        }
        match self.spec.trigger {
            Trigger::Request { m_type: t, .. } if server == self.spec.server && m_type == t => {
                Some(self.seen.fetch_add(1, Ordering::SeqCst) + 1)
            }
            _ => None,
        }
    }

    /// Whether to inject now: the watched request (`nth` from `request_started`) is at `point`.
    pub fn fire_at(&self, nth: Option<u32>, point: Point) -> Option<FaultKind> {
        match self.spec.trigger {
            Trigger::Request { point: p, nth: n, .. }
                if point == p && nth.is_some_and(|nth| self.spec.persistence.due(nth, n)) =>
            {
                self.fire()
            }
            _ => None,
        }
    }

    /// The site at `file`:`line` executes: whether to inject there now.
    pub fn site_hit(&self, server: &str, handler: &str, file: &str, line: u32) -> Option<FaultKind> {
        let here = self.place.as_ref().is_some_and(|(f, l)| *l == line && f == file);
        match &self.spec.trigger {
            Trigger::Site { handler: h, nth, .. } if here && server == self.spec.server && h == handler => {
                let count = self.hits.fetch_add(1, Ordering::SeqCst) + 1;
                self.spec.persistence.due(count, *nth).then(|| self.fire()).flatten()
            }
            _ => None,
        }
    }
}

/// How often one site ran in a run, and how often inside an open recovery window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteStats {
    /// What kind of code it is.
    pub kind: SiteKind,
    /// Executions.
    pub hits: u64,
    /// Executions before the request's first state-changing IPC (the window still closed to
    /// other components).
    pub hits_in_open_window: u64,
    /// Executions at which each policy would recover a crash rather than halt or leave the
    /// server dead, by [`RecoveringPolicies`] bit (OSIRIS's recovery coverage, per policy and fault
    /// persistence).
    #[serde(default)]
    pub recoverable: Vec<u64>,
}

/// Which policies would recover a crash at one point of a request: bit `2i` for a transient
/// fault (the first attempt), bit `2i + 1` for a persistent one (the attempts spent), `i` the
/// policy's place in [`PolicyKind::ALL`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecoveringPolicies(pub u32);

impl RecoveringPolicies {
    /// The bit of `policy` for a transient or persistent fault.
    pub fn bit(policy: PolicyKind, persistent: bool) -> usize {
        2 * PolicyKind::ALL.iter().position(|&p| p == policy).expect("every policy is in ALL") + usize::from(persistent)
    }
}

/// Every site a run executed (the golden run's profile: candidate faults come from here).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteProfile {
    /// Per site.
    pub sites: BTreeMap<Site, SiteStats>,
    /// Per server and entry point, how far each of its requests got, in arrival order: the
    /// points a request-point fault can name.
    #[serde(default)]
    pub requests: BTreeMap<String, BTreeMap<String, Vec<Reach>>>,
}

/// How far one request got in its handler.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reach {
    /// Outgoing messages and kernel calls begun (the reply among them).
    pub ipcs_begun: u32,
    /// Outgoing messages and kernel calls that returned.
    pub ipcs_returned: u32,
    /// Tracked state writes.
    pub writes: u32,
    /// The handler ran to its end.
    pub ended: bool,
}

impl Reach {
    /// Whether a request that got this far passed `point`.
    pub fn passes(&self, point: Point) -> bool {
        match point {
            Point::Start => true,
            Point::BeforeIpc(n) => self.ipcs_begun >= n,
            Point::AfterIpc(n) => self.ipcs_returned >= n,
            Point::BeforeWrite(n) => self.writes >= n,
            Point::End => self.ended,
        }
    }
}

impl SiteProfile {
    /// A request of `server`'s entry point `handler` starts.
    pub fn request_started(&mut self, server: &str, handler: &str) {
        let of_server = self.requests.entry(server.to_string()).or_default();
        of_server.entry(handler.to_string()).or_default().push(Reach::default());
    }

    /// The current request of `server`'s `handler` got further.
    pub fn request_reached(&mut self, server: &str, handler: &str, further: impl FnOnce(&mut Reach)) {
        if let Some(reach) = self.requests.get_mut(server).and_then(|h| h.get_mut(handler)).and_then(|r| r.last_mut()) {
            further(reach);
        }
    }

    /// The requests (1-based, in arrival order) of `server`'s `handler` that passed `point`.
    pub fn requests_passing(&self, server: &str, handler: &str, point: Point) -> Vec<u32> {
        let reaches = self.requests.get(server).and_then(|h| h.get(handler)).map_or(&[][..], Vec::as_slice);
        (1..).zip(reaches).filter(|(_, r)| r.passes(point)).map(|(n, _)| n).collect()
    }

    /// Counts one execution of `site`.
    pub fn hit(
        &mut self,
        site: Site,
        kind: impl FnOnce() -> SiteKind,
        window_open: bool,
        recoverable: RecoveringPolicies,
    ) {
        let stats = self.sites.entry(site).or_insert_with(|| SiteStats {
            kind: kind(),
            hits: 0,
            hits_in_open_window: 0,
            recoverable: vec![0; 2 * PolicyKind::ALL.len()],
        });
        stats.hits += 1;
        stats.hits_in_open_window += u64::from(window_open);
        for (bit, count) in stats.recoverable.iter_mut().enumerate() {
            *count += u64::from(recoverable.0 >> bit & 1);
        }
    }

    /// The share of executed sites that ran inside an open recovery window, weighted by
    /// executions.
    pub fn recovery_coverage(&self) -> f64 {
        let (open, all) = self.sites.values().fold((0, 0), |(o, a), s| (o + s.hits_in_open_window, a + s.hits));
        if all == 0 { 0.0 } else { open as f64 / all as f64 }
    }

    /// The share of executions at which `policy` would recover a crash (OSIRIS's recovery
    /// coverage), for a transient or a persistent fault.
    pub fn coverage(&self, policy: PolicyKind, persistent: bool) -> f64 {
        let bit = RecoveringPolicies::bit(policy, persistent);
        let (open, all) = self
            .sites
            .values()
            .fold((0, 0), |(o, a), s| (o + s.recoverable.get(bit).copied().unwrap_or(0), a + s.hits));
        if all == 0 { 0.0 } else { open as f64 / all as f64 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::pm::PM_FORK;

    #[test]
    fn request_specs_parse_and_print() {
        let s: FaultSpec = "panic:pm:fork:after-ipc-1".parse().unwrap();
        assert_eq!(s.trigger, Trigger::Request { m_type: PM_FORK, point: Point::AfterIpc(1), nth: 1 });
        assert_eq!(s.to_string(), "panic:pm:fork:after-ipc-1:1");
        let h: FaultSpec = "hang:vfs:write:start:3".parse().unwrap();
        assert_eq!(h.kind, FaultKind::Hang);
        assert_eq!(
            "panic:vfs:write:before-write-2".parse::<FaultSpec>().unwrap().to_string(),
            "panic:vfs:write:before-write-2:1"
        );
    }

    #[test]
    fn site_specs_parse_and_print() {
        let s: FaultSpec = "corrupt@vm:vm_fork:os/src/vm/fork.rs:40#3/7".parse().unwrap();
        assert_eq!(
            s.trigger,
            Trigger::Site { handler: "vm_fork".into(), location: "os/src/vm/fork.rs:40".into(), nth: 3 }
        );
        assert_eq!(s.bit, 7);
        assert_eq!(s.to_string(), "corrupt@vm:vm_fork:os/src/vm/fork.rs:40#3/7");
        assert_eq!(s.to_string().parse::<FaultSpec>().unwrap(), s);
        let d: FaultSpec = "drop@pm:fork:os/src/pm/forkexit.rs:12".parse().unwrap();
        assert_eq!(d.to_string(), "drop@pm:fork:os/src/pm/forkexit.rs:12#1");
    }

    #[test]
    fn bad_specs_say_why() {
        let err = |t: &str| t.parse::<FaultSpec>().unwrap_err();
        assert!(err("panic:rs:fork").contains("reliable base"));
        assert!(err("melt:pm:fork").contains("unknown fault kind"));
        assert!(err("panic:pm:teleport").contains("unknown call"));
        // A call another server dispatches is not this one's: the choices are named.
        let fork_in_vm = err("panic:vm:fork");
        assert!(fork_in_vm.contains("unknown call `fork` for vm") && fork_in_vm.contains("vm_fork"), "{fork_in_vm}");
        assert!(err("panic:pm:fork:mid").contains("unknown point"));
        assert!(err("panic:pm:fork:start:0").contains("NTH"));
        assert!(err("panic").contains("expected"));
        assert!(err("skip-write:pm:fork").contains("goes at a site"));
        assert!(err("drop@pm:fork:nowhere").contains("not FILE:LINE"));
        assert!(err("drop@pm:fork:a.rs:1#0").contains("NTH"));
        assert!(err("drop@pm:fork:a.rs:1#0+").contains("NTH"));
        assert!(err("panic:pm:fork:start:+").contains("NTH"));
    }

    #[test]
    fn persistent_specs_parse_and_print_with_a_plus_after_nth() {
        let r: FaultSpec = "panic:pm:fork:end:2+".parse().unwrap();
        assert_eq!(r.persistence, Persistence::Persistent);
        assert_eq!(r.trigger, Trigger::Request { m_type: PM_FORK, point: Point::End, nth: 2 });
        assert_eq!(r.to_string(), "panic:pm:fork:end:2+");
        let s: FaultSpec = "corrupt@vm:vm_fork:os/src/vm/fork.rs:40#3+/7".parse().unwrap();
        assert_eq!((s.persistence, s.bit), (Persistence::Persistent, 7));
        assert_eq!(
            s.trigger,
            Trigger::Site { handler: "vm_fork".into(), location: "os/src/vm/fork.rs:40".into(), nth: 3 }
        );
        assert_eq!(s.to_string(), "corrupt@vm:vm_fork:os/src/vm/fork.rs:40#3+/7");
        assert_eq!(s.to_string().parse::<FaultSpec>().unwrap(), s);
        let t: FaultSpec = "hang:vfs:write".parse().unwrap();
        assert_eq!(t.persistence, Persistence::Transient, "transient unless marked");
        assert_eq!(t.to_string().parse::<FaultSpec>().unwrap(), t);
    }

    #[test]
    fn specs_without_a_persistence_read_as_transient() {
        let mut json = serde_json::to_value("skip-write@vm:vm_exit:a.rs:9#2".parse::<FaultSpec>().unwrap()).unwrap();
        json.as_object_mut().unwrap().remove("persistence");
        let old: FaultSpec = serde_json::from_value(json).unwrap();
        assert_eq!(old.persistence, Persistence::Transient);
    }

    #[test]
    fn request_faults_fire_once_on_the_nth_request_at_their_point() {
        let inj = Injector::new("panic:pm:fork:end:2".parse().unwrap());
        let first = inj.request_started("pm", PM_FORK);
        assert_eq!(inj.fire_at(first, Point::End), None);
        assert_eq!(inj.request_started("vm", PM_FORK), None);
        let second = inj.request_started("pm", PM_FORK);
        assert_eq!(inj.fire_at(second, Point::Start), None);
        assert_eq!(inj.fire_at(second, Point::End), Some(FaultKind::Panic));
        assert_eq!(inj.fire_at(second, Point::End), None, "once per run");
        let third = inj.request_started("pm", PM_FORK);
        assert_eq!(inj.fire_at(third, Point::End), None, "transient: not the later requests");
        assert!(inj.fired());
        assert_eq!(inj.fired_times(), 1);
    }

    #[test]
    fn persistent_request_faults_fire_at_every_request_from_the_nth_on() {
        let inj = Injector::new("panic:pm:fork:end:2+".parse().unwrap());
        let first = inj.request_started("pm", PM_FORK);
        assert_eq!(inj.fire_at(first, Point::End), None, "before the NTH");
        assert!(!inj.fired());
        let second = inj.request_started("pm", PM_FORK);
        assert_eq!(inj.fire_at(second, Point::Start), None, "another point");
        assert_eq!(inj.fire_at(second, Point::End), Some(FaultKind::Panic));
        // The recovered request is processed again by the next incarnation: a new request number.
        let again = inj.request_started("pm", PM_FORK);
        assert_eq!(inj.fire_at(again, Point::End), Some(FaultKind::Panic));
        assert_eq!(inj.fire_at(None, Point::End), None, "a request the spec does not watch");
        assert!(inj.fired());
        assert_eq!(inj.fired_times(), 2);
    }

    #[test]
    fn site_faults_fire_on_the_nth_execution() {
        let inj = Injector::new("skip-write@vm:vm_exit:a.rs:9#2".parse().unwrap());
        assert_eq!(inj.site_hit("vm", "vm_fork", "a.rs", 9), None, "another handler's execution");
        assert_eq!(inj.site_hit("vm", "vm_exit", "a.rs", 9), None);
        assert_eq!(inj.site_hit("vm", "vm_exit", "a.rs", 9), Some(FaultKind::SkipWrite));
        assert_eq!(inj.site_hit("vm", "vm_exit", "a.rs", 9), None);
        assert_eq!(inj.fired_times(), 1);
    }

    #[test]
    fn persistent_site_faults_fire_at_every_execution_from_the_nth_on() {
        let inj = Injector::new("skip-write@vm:vm_exit:a.rs:9#2+".parse().unwrap());
        assert_eq!(inj.site_hit("vm", "vm_exit", "a.rs", 9), None);
        assert_eq!(inj.site_hit("vm", "vm_fork", "a.rs", 9), None, "another handler's execution");
        for _ in 0..3 {
            assert_eq!(inj.site_hit("vm", "vm_exit", "a.rs", 9), Some(FaultKind::SkipWrite));
        }
        assert_eq!(inj.site_hit("pm", "vm_exit", "a.rs", 9), None, "another server");
        assert_eq!(inj.fired_times(), 3);
    }

    #[test]
    fn a_persistent_fault_met_at_every_turn_of_a_loop_crashes_the_spinning_server() {
        let inj = Injector::new("skip-write@vfs:pm_vfs_exit:a.rs:9#1+".parse().unwrap());
        let spin = |inj: &Injector, turns: u64| {
            for _ in 0..turns {
                assert_eq!(inj.site_hit("vfs", "pm_vfs_exit", "a.rs", 9), Some(FaultKind::SkipWrite));
            }
        };
        spin(&inj, RUNAWAY_FIRINGS - 1);
        inj.request_started("vfs", PM_FORK);
        spin(&inj, RUNAWAY_FIRINGS - 1);
        let crash = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| spin(&inj, 1))).unwrap_err();
        let message = crash.downcast_ref::<String>().unwrap();
        assert!(message.starts_with("runaway: vfs met its persistent fault 100000 times in one request"), "{message}");
    }

    #[test]
    fn kinds_apply_only_where_they_make_sense() {
        let write = SiteKind::Write { field: "vm.free".into(), release: false, corruptible: true };
        let release = SiteKind::Write { field: "vm.free".into(), release: true, corruptible: true };
        let ipc = SiteKind::Ipc { primitive: "reply".into(), kernel_call: false };
        let kcall = SiteKind::Ipc { primitive: "kernel".into(), kernel_call: true };
        assert!(FaultKind::Leak.applies_to(&release) && !FaultKind::Leak.applies_to(&write));
        assert!(FaultKind::Drop.applies_to(&ipc) && !FaultKind::Drop.applies_to(&kcall));
        assert!(!FaultKind::SkipWrite.applies_to(&ipc) && FaultKind::Panic.applies_to(&kcall));
    }

    #[test]
    fn coverage_weighs_executions() {
        let mut p = SiteProfile::default();
        let site = |l: &str| Site { server: "pm".into(), handler: "fork".into(), location: l.into() };
        let kind = || SiteKind::Ipc { primitive: "sendrec".into(), kernel_call: false };
        let table_only = RecoveringPolicies(1 << RecoveringPolicies::bit(PolicyKind::Table, false));
        p.hit(site("a:1"), kind, true, table_only);
        p.hit(site("a:1"), kind, true, RecoveringPolicies::default());
        p.hit(site("a:2"), kind, false, table_only);
        p.hit(site("a:3"), kind, true, table_only);
        assert_eq!(p.recovery_coverage(), 0.75);
        assert_eq!(p.coverage(PolicyKind::Table, false), 0.75);
        assert_eq!(p.coverage(PolicyKind::Table, true), 0.0);
        assert_eq!(p.coverage(PolicyKind::Pessimistic, false), 0.0);
    }
}

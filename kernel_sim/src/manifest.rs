//! The service manifest: what each system service may do, in the spirit of MINIX's `system.conf`.
//!
//! Per service: its fixed slot, which endpoints it may send to (`ipc`), which message types it may
//! send to each (`calls`), which kernel calls it may make (`kernel`), its signal manager (who learns
//! of its death), heartbeat period, restart pacing, and whether it is a core service. One `user`
//! block gives the privileges of every user process.
//!
//! The text format, one statement per line or several per line, `#` starts a comment:
//!
//! ```text
//! service pm {
//!     slot 2;
//!     ipc rs vm vfs USER;          # USER: any user process
//!     calls vm 0xC01..0xC05;       # message types (or names a resolver knows), ranges inclusive
//!     kernel fork exec kill clear alarm safecopy;
//!     sigmgr rs;
//!     heartbeat 1s;
//!     restart first 0s backoff 1s max 30s minrun 50ms intensity 5 per 10s;
//!     stateful;
//!     core;
//!     memory 256;                  # pages of memory kept across its incarnations (a RAM disk)
//! };
//! user { ipc pm vfs vm; };
//! ```
//!
//! Invariant: a [`Manifest`] that passed [`Manifest::validate`] names only services it defines, gives
//! each a distinct slot below [`FIRST_USER_SLOT`], and has sane pacing numbers. The kernel compiles
//! it into per-slot permission bitmaps at boot.

use crate::clock::Micros;
use crate::endpoint::Slot;
use crate::message::MsgType;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Slots below this are for system services (slot 0 is the kernel); user processes start here.
pub const FIRST_USER_SLOT: Slot = 16;

/// The most memory one service may declare, in pages (64 MiB): the kernel sets it aside at boot.
pub const MAX_SERVICE_MEMORY_PAGES: u64 = 16 * 1024;

/// The name that stands for "any user process" in an `ipc` list.
pub const USER_TARGET: &str = "USER";

/// The kernel calls a process can be allowed to make.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KernelCall {
    /// Create a child slot copying a parent's (vm, during fork).
    Fork,
    /// Replace a process's program (exec).
    Exec,
    /// Free a dead process's slot (the end of exit).
    Clear,
    /// Kill a process.
    Kill,
    /// Start a service incarnation in a slot (rs).
    Spawn,
    /// Set an alarm that arrives as a notification.
    Alarm,
    /// Copy to or from another process's memory through a grant.
    SafeCopy,
    /// Map, unmap and copy physical frames of address spaces (vm).
    VmCtl,
    /// Read who died and take the state a crashed incarnation left behind (rs).
    Remains,
    /// Read kernel information: process table, clock, memory size.
    GetInfo,
    /// Halt the whole system.
    Shutdown,
    /// Give a user process a priority and a quantum, becoming its scheduler (sched).
    Schedule,
    /// Post a caught signal's frame on a user process (MINIX's sys_sigsend): the process's
    /// syscall library takes it at its next kernel entry and runs the handler.
    SigSend,
}

impl KernelCall {
    /// Every kernel call, in declaration order.
    pub const ALL: [KernelCall; 13] = [
        KernelCall::Fork,
        KernelCall::Exec,
        KernelCall::Clear,
        KernelCall::Kill,
        KernelCall::Spawn,
        KernelCall::Alarm,
        KernelCall::SafeCopy,
        KernelCall::VmCtl,
        KernelCall::Remains,
        KernelCall::GetInfo,
        KernelCall::Shutdown,
        KernelCall::Schedule,
        KernelCall::SigSend,
    ];

    /// The manifest keyword.
    pub const fn keyword(self) -> &'static str {
        match self {
            KernelCall::Fork => "fork",
            KernelCall::Exec => "exec",
            KernelCall::Clear => "clear",
            KernelCall::Kill => "kill",
            KernelCall::Spawn => "spawn",
            KernelCall::Alarm => "alarm",
            KernelCall::SafeCopy => "safecopy",
            KernelCall::VmCtl => "vmctl",
            KernelCall::Remains => "remains",
            KernelCall::GetInfo => "getinfo",
            KernelCall::Shutdown => "shutdown",
            KernelCall::Schedule => "schedule",
            KernelCall::SigSend => "sigsend",
        }
    }

    fn from_keyword(word: &str) -> Option<KernelCall> {
        KernelCall::ALL.into_iter().find(|k| k.keyword() == word)
    }

    const fn bit(self) -> u32 {
        1 << self as u32
    }
}

/// A set of kernel calls (a list of their keywords in JSON).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "Vec<KernelCall>", from = "Vec<KernelCall>")]
pub struct KernelCallSet(u32);

impl From<KernelCallSet> for Vec<KernelCall> {
    fn from(set: KernelCallSet) -> Self {
        KernelCall::ALL.into_iter().filter(|k| set.contains(*k)).collect()
    }
}

impl From<Vec<KernelCall>> for KernelCallSet {
    fn from(calls: Vec<KernelCall>) -> Self {
        let mut set = KernelCallSet::default();
        calls.into_iter().for_each(|k| set.insert(k));
        set
    }
}

impl KernelCallSet {
    /// Every kernel call.
    pub fn all() -> KernelCallSet {
        KernelCallSet(KernelCall::ALL.iter().fold(0, |acc, k| acc | k.bit()))
    }
    /// Whether `call` is in the set.
    pub const fn contains(self, call: KernelCall) -> bool {
        self.0 & call.bit() != 0
    }
    /// Adds `call`.
    pub fn insert(&mut self, call: KernelCall) {
        self.0 |= call.bit();
    }
}

/// Which endpoints a process may send to. In JSON, one shape for both: `{"kind": "all"}`,
/// `{"kind": "only", "names": [...]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "names", rename_all = "kebab-case")]
pub enum TargetSet {
    /// Anyone.
    All,
    /// Only the named services, and user processes if [`USER_TARGET`] is named.
    Only(BTreeSet<String>),
}

/// Message types allowed towards one target: a list of inclusive ranges.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallSet(pub Vec<(MsgType, MsgType)>);

impl CallSet {
    /// Whether `t` is allowed.
    pub fn contains(&self, t: MsgType) -> bool {
        self.0.iter().any(|&(lo, hi)| lo <= t && t <= hi)
    }
}

/// What a process may do: the part of a manifest entry the kernel enforces.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Privileges {
    /// Who it may send to.
    pub ipc: TargetSet,
    /// Per target, the message types it may send there; a target not listed allows every type.
    pub calls: BTreeMap<String, CallSet>,
    /// The kernel calls it may make.
    pub kernel: KernelCallSet,
}

impl Privileges {
    /// No IPC at all and no kernel calls.
    pub fn none() -> Privileges {
        Privileges { ipc: TargetSet::Only(BTreeSet::new()), calls: BTreeMap::new(), kernel: KernelCallSet::default() }
    }
}

/// When and how often rs may restart a service (Erlang/OTP-style intensity limit on top of MINIX's
/// exponential backoff).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestartPacing {
    /// Delay before the first restart (MINIX: at once).
    pub first_delay: Micros,
    /// Base of the exponential backoff for later restarts: delay = backoff * 2^(n-1), capped.
    pub backoff: Micros,
    /// Cap on the backoff delay (MINIX caps at 30 periods).
    pub max_delay: Micros,
    /// An incarnation that ran at least this long resets the backoff.
    pub min_run: Micros,
    /// More than this many restarts within `intensity_period` escalates to fail-stop.
    pub intensity: u32,
    /// The window the intensity limit counts over.
    pub intensity_period: Micros,
}

impl Default for RestartPacing {
    fn default() -> Self {
        RestartPacing {
            first_delay: 0,
            backoff: 1_000_000,
            max_delay: 30_000_000,
            min_run: 50_000,
            intensity: 5,
            intensity_period: 10_000_000,
        }
    }
}

/// One system service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    /// Its name, also the name of the program that runs it.
    pub name: String,
    /// Its fixed slot; its first endpoint is generation 0 of this slot.
    pub slot: Slot,
    /// What it may do.
    pub privileges: Privileges,
    /// Who is told when it dies (MINIX's signal manager); `None`: nobody, its slot is freed.
    pub sigmgr: Option<String>,
    /// How often rs pings it; `None`: not supervised by heartbeats.
    pub heartbeat: Option<Micros>,
    /// Restart pacing.
    pub restart: RestartPacing,
    /// A core service: losing it for good brings the system down.
    pub core: bool,
    /// Restarts with its state (pm, vm, vfs in MINIX) rather than from scratch.
    pub stateful: bool,
    /// Pages of memory the kernel sets aside for it at boot, outside vm's frames, and maps into
    /// every incarnation at [`crate::memory::SERVICE_MEMORY_BASE`]: memory a restarted service
    /// re-finds (a RAM disk's blocks, a file system's block buffer). 0: none.
    #[serde(default)]
    pub memory_pages: u64,
    /// Sizes the service reads at boot (`param NAME NUMBER;`: mfs's inodes and blocks, vfs's open
    /// files). The kernel does not read them; each server declares the names it takes and their
    /// ranges (`os::task::Server::PARAMS`), and the testbed refuses any other before booting.
    #[serde(default)]
    pub params: BTreeMap<String, u64>,
    /// Where it was declared, for messages (`file:line`).
    pub declared_at: String,
}

/// A whole manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The system services, in declaration order (their boot order).
    pub services: Vec<Service>,
    /// The privileges of every user process.
    pub user: Privileges,
    /// Who is told when a user process dies (pm in MINIX).
    pub user_sigmgr: Option<String>,
}

/// A manifest that cannot be used, with where and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestError {
    /// The file it came from.
    pub file: String,
    /// 1-based line, 0 when the error is about the whole manifest.
    pub line: usize,
    /// 1-based column, 0 when unknown.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (0, _) => write!(f, "{}: {}", self.file, self.message),
            (l, 0) => write!(f, "{}:{}: {}", self.file, l, self.message),
            (l, c) => write!(f, "{}:{}:{}: {}", self.file, l, c, self.message),
        }
    }
}

impl std::error::Error for ManifestError {}

/// Resolves a message-type name used in a `calls` statement to its number.
pub type TypeNames<'a> = &'a dyn Fn(&str) -> Option<MsgType>;

impl Manifest {
    /// Parses and validates manifest text. `file` names it in errors; `names` resolves symbolic
    /// message types (numbers always work).
    pub fn parse(text: &str, file: &str, names: TypeNames<'_>) -> Result<Manifest, ManifestError> {
        let manifest = Parser { tokens: tokenize(text, file)?, at: 0, file, names }.manifest()?;
        manifest.validate(file)?;
        Ok(manifest)
    }

    /// Checks cross-references and numbers. `file` names the manifest in errors.
    pub fn validate(&self, file: &str) -> Result<(), ManifestError> {
        let error = |declared_at: &str, message: String| {
            let line = declared_at.rsplit(':').next().and_then(|l| l.parse().ok()).unwrap_or(0);
            ManifestError { file: file.to_string(), line, column: 0, message }
        };
        let mut names = BTreeSet::new();
        let mut slots = BTreeMap::new();
        for s in &self.services {
            if !names.insert(s.name.as_str()) {
                return Err(error(&s.declared_at, format!("service `{}` is declared twice", s.name)));
            }
            if s.slot == 0 || s.slot >= FIRST_USER_SLOT {
                return Err(error(
                    &s.declared_at,
                    format!("service `{}`: slot {} is outside 1..{FIRST_USER_SLOT} (0 is the kernel)", s.name, s.slot),
                ));
            }
            if let Some(other) = slots.insert(s.slot, s.name.as_str()) {
                return Err(error(
                    &s.declared_at,
                    format!("services `{other}` and `{}` share slot {}", s.name, s.slot),
                ));
            }
        }
        let known = |n: &str| names.contains(n) || n == USER_TARGET;
        let check_privileges = |who: &str, at: &str, p: &Privileges| {
            if let TargetSet::Only(targets) = &p.ipc
                && let Some(t) = targets.iter().find(|t| !known(t))
            {
                return Err(error(at, format!("{who}: ipc target `{t}` is not a service")));
            }
            for target in p.calls.keys() {
                let allowed = match &p.ipc {
                    TargetSet::All => known(target),
                    TargetSet::Only(targets) => targets.contains(target),
                };
                if !allowed {
                    return Err(error(at, format!("{who}: calls to `{target}`, which its ipc list does not allow")));
                }
            }
            Ok(())
        };
        for s in &self.services {
            check_privileges(&format!("service `{}`", s.name), &s.declared_at, &s.privileges)?;
            if let Some(m) = &s.sigmgr
                && !names.contains(m.as_str())
            {
                return Err(error(&s.declared_at, format!("service `{}`: sigmgr `{m}` is not a service", s.name)));
            }
            if s.heartbeat == Some(0) {
                return Err(error(&s.declared_at, format!("service `{}`: heartbeat period must be positive", s.name)));
            }
            let r = &s.restart;
            if r.max_delay < r.first_delay || r.max_delay < r.backoff {
                return Err(error(
                    &s.declared_at,
                    format!("service `{}`: restart max delay is below the first delay or the backoff", s.name),
                ));
            }
            if r.intensity == 0 || r.intensity_period == 0 {
                return Err(error(&s.declared_at, format!("service `{}`: restart intensity must be positive", s.name)));
            }
            if s.memory_pages > MAX_SERVICE_MEMORY_PAGES {
                return Err(error(
                    &s.declared_at,
                    format!(
                        "service `{}`: memory of {} pages is more than {MAX_SERVICE_MEMORY_PAGES}",
                        s.name, s.memory_pages
                    ),
                ));
            }
        }
        // A signal manager learns of its managed service's death and restarts it: one that
        // manages itself, or a ring of managers, leaves a death nobody outside the ring handles.
        for s in &self.services {
            let mut chain = vec![s.name.as_str()];
            let mut at = s;
            while let Some(next) = at.sigmgr.as_deref().and_then(|m| self.service(m)) {
                if chain.contains(&next.name.as_str()) {
                    chain.push(next.name.as_str());
                    let what = if chain.len() == 2 {
                        "is its own signal manager".to_string()
                    } else {
                        format!("is in a ring of signal managers ({})", chain.join(" -> "))
                    };
                    return Err(error(&s.declared_at, format!("service `{}` {what}", s.name)));
                }
                chain.push(next.name.as_str());
                at = next;
            }
        }
        check_privileges("user", "", &self.user)?;
        if let Some(m) = &self.user_sigmgr
            && !names.contains(m.as_str())
        {
            return Err(error("", format!("user: sigmgr `{m}` is not a service")));
        }
        Ok(())
    }

    /// The service called `name`.
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name == name)
    }

    /// The service in `slot`.
    pub fn service_at(&self, slot: Slot) -> Option<&Service> {
        self.services.iter().find(|s| s.slot == slot)
    }
}

/// Renders a duration in the manifest's units, the largest that divides it.
pub fn format_micros(us: Micros) -> String {
    match us {
        0 => "0s".to_string(),
        us if us % 1_000_000 == 0 => format!("{}s", us / 1_000_000),
        us if us % 1_000 == 0 => format!("{}ms", us / 1_000),
        us => format!("{us}us"),
    }
}

impl fmt::Display for Manifest {
    /// Writes the manifest back in its own text format (parsing the output gives it back).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn privileges(f: &mut fmt::Formatter<'_>, p: &Privileges) -> fmt::Result {
            match &p.ipc {
                TargetSet::All => writeln!(f, "    ipc ALL;")?,
                TargetSet::Only(t) if t.is_empty() => writeln!(f, "    ipc NONE;")?,
                TargetSet::Only(t) => writeln!(f, "    ipc {};", t.iter().cloned().collect::<Vec<_>>().join(" "))?,
            }
            for (target, set) in &p.calls {
                let ranges: Vec<String> = set
                    .0
                    .iter()
                    .map(|&(lo, hi)| if lo == hi { format!("{lo:#x}") } else { format!("{lo:#x}..{hi:#x}") })
                    .collect();
                writeln!(f, "    calls {target} {};", ranges.join(" "))?;
            }
            let calls: Vec<&str> =
                KernelCall::ALL.iter().filter(|k| p.kernel.contains(**k)).map(|k| k.keyword()).collect();
            if calls.len() == KernelCall::ALL.len() {
                writeln!(f, "    kernel ALL;")
            } else if calls.is_empty() {
                writeln!(f, "    kernel NONE;")
            } else {
                writeln!(f, "    kernel {};", calls.join(" "))
            }
        }
        for s in &self.services {
            writeln!(f, "service {} {{", s.name)?;
            writeln!(f, "    slot {};", s.slot)?;
            privileges(f, &s.privileges)?;
            if let Some(m) = &s.sigmgr {
                writeln!(f, "    sigmgr {m};")?;
            }
            match s.heartbeat {
                Some(p) => writeln!(f, "    heartbeat {};", format_micros(p))?,
                None => writeln!(f, "    heartbeat none;")?,
            }
            let r = &s.restart;
            writeln!(
                f,
                "    restart first {} backoff {} max {} minrun {} intensity {} per {};",
                format_micros(r.first_delay),
                format_micros(r.backoff),
                format_micros(r.max_delay),
                format_micros(r.min_run),
                r.intensity,
                format_micros(r.intensity_period)
            )?;
            if s.stateful {
                writeln!(f, "    stateful;")?;
            }
            if s.core {
                writeln!(f, "    core;")?;
            }
            if s.memory_pages > 0 {
                writeln!(f, "    memory {};", s.memory_pages)?;
            }
            for (name, value) in &s.params {
                writeln!(f, "    param {name} {value};")?;
            }
            writeln!(f, "}};")?;
        }
        writeln!(f, "user {{")?;
        privileges(f, &self.user)?;
        if let Some(m) = &self.user_sigmgr {
            writeln!(f, "    sigmgr {m};")?;
        }
        writeln!(f, "}};")
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Token {
    text: String,
    line: usize,
    column: usize,
}

fn tokenize(text: &str, file: &str) -> Result<Vec<Token>, ManifestError> {
    let mut tokens = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let code = line.split('#').next().unwrap_or("");
        let mut chars = code.char_indices().peekable();
        while let Some(&(start, c)) = chars.peek() {
            if c.is_whitespace() {
                chars.next();
            } else if matches!(c, '{' | '}' | ';') {
                chars.next();
                tokens.push(Token { text: c.to_string(), line: i + 1, column: start + 1 });
            } else if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                let mut end = start;
                while let Some(&(j, c)) = chars.peek() {
                    if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                        end = j + c.len_utf8();
                        chars.next();
                    } else {
                        break;
                    }
                }
                tokens.push(Token { text: code[start..end].to_string(), line: i + 1, column: start + 1 });
            } else {
                return Err(ManifestError {
                    file: file.to_string(),
                    line: i + 1,
                    column: start + 1,
                    message: format!("unexpected character `{c}`"),
                });
            }
        }
    }
    Ok(tokens)
}

struct Parser<'a> {
    tokens: Vec<Token>,
    at: usize,
    file: &'a str,
    names: TypeNames<'a>,
}

impl Parser<'_> {
    fn error_at(&self, token: Option<&Token>, message: String) -> ManifestError {
        let (line, column) = match token.or_else(|| self.tokens.last()) {
            Some(t) => (t.line, t.column),
            None => (1, 1),
        };
        ManifestError { file: self.file.to_string(), line, column, message }
    }

    fn next(&mut self, expected: &str) -> Result<Token, ManifestError> {
        let token = self.tokens.get(self.at).cloned();
        match token {
            Some(t) => {
                self.at += 1;
                Ok(t)
            }
            None => Err(self.error_at(None, format!("unexpected end of file, expected {expected}"))),
        }
    }

    fn expect(&mut self, text: &str) -> Result<Token, ManifestError> {
        let t = self.next(&format!("`{text}`"))?;
        if t.text != text {
            return Err(self.error_at(Some(&t), format!("expected `{text}`, found `{}`", t.text)));
        }
        Ok(t)
    }

    fn peek_is(&self, text: &str) -> bool {
        self.tokens.get(self.at).is_some_and(|t| t.text == text)
    }

    /// The words of one statement up to its `;`.
    fn words(&mut self) -> Result<Vec<Token>, ManifestError> {
        let mut words = Vec::new();
        loop {
            let t = self.next("`;`")?;
            match t.text.as_str() {
                ";" => return Ok(words),
                "{" | "}" => return Err(self.error_at(Some(&t), format!("expected `;` before `{}`", t.text))),
                _ => words.push(t),
            }
        }
    }

    fn manifest(&mut self) -> Result<Manifest, ManifestError> {
        let mut services = Vec::new();
        let mut user = None;
        let mut user_sigmgr = None;
        while self.at < self.tokens.len() {
            let head = self.next("`service` or `user`")?;
            match head.text.as_str() {
                "service" => services.push(self.service()?),
                "user" => {
                    if user.is_some() {
                        return Err(self.error_at(Some(&head), "a second `user` block".to_string()));
                    }
                    let (p, sigmgr) = self.user_block()?;
                    user = Some(p);
                    user_sigmgr = sigmgr;
                }
                other => {
                    return Err(self.error_at(Some(&head), format!("expected `service` or `user`, found `{other}`")));
                }
            }
        }
        let Some(user) = user else {
            return Err(ManifestError {
                file: self.file.to_string(),
                line: 0,
                column: 0,
                message: "no `user` block: the privileges of user processes must be stated".to_string(),
            });
        };
        Ok(Manifest { services, user, user_sigmgr })
    }

    fn user_block(&mut self) -> Result<(Privileges, Option<String>), ManifestError> {
        self.expect("{")?;
        let mut p = Privileges::none();
        let mut sigmgr = None;
        while !self.peek_is("}") {
            let key = self.next("a statement or `}`")?;
            let words = self.words()?;
            if key.text == "sigmgr" {
                sigmgr = self.one_name(&key, &words)?;
            } else if !self.privilege(&key, &words, &mut p)? {
                return Err(self.error_at(Some(&key), format!("unknown statement `{}` in a user block", key.text)));
            }
        }
        self.expect("}")?;
        self.expect(";")?;
        Ok((p, sigmgr))
    }

    fn service(&mut self) -> Result<Service, ManifestError> {
        let name = self.next("a service name")?;
        self.expect("{")?;
        let mut s = Service {
            name: name.text.clone(),
            slot: 0,
            privileges: Privileges::none(),
            sigmgr: None,
            heartbeat: None,
            restart: RestartPacing::default(),
            core: false,
            stateful: false,
            memory_pages: 0,
            params: BTreeMap::new(),
            declared_at: format!("{}:{}", self.file, name.line),
        };
        let mut has_slot = false;
        while !self.peek_is("}") {
            let key = self.next("a statement or `}`")?;
            let words = self.words()?;
            match key.text.as_str() {
                "slot" => {
                    s.slot = self.number(&key, &words)? as Slot;
                    has_slot = true;
                }
                "sigmgr" => s.sigmgr = self.one_name(&key, &words)?,
                "heartbeat" => {
                    s.heartbeat = match words.as_slice() {
                        [w] if w.text == "none" => None,
                        [w] => Some(self.duration(w)?),
                        _ => return Err(self.error_at(Some(&key), "heartbeat takes a period or `none`".to_string())),
                    }
                }
                "restart" => s.restart = self.restart(&key, &words)?,
                "memory" => s.memory_pages = self.number(&key, &words)?,
                "param" => {
                    let [param, value] = words.as_slice() else {
                        return Err(self.error_at(Some(&key), "`param` takes a name and a number".to_string()));
                    };
                    let n = self.number(param, std::slice::from_ref(value))?;
                    if s.params.insert(param.text.clone(), n).is_some() {
                        return Err(self.error_at(Some(param), format!("`param {}` is set twice", param.text)));
                    }
                }
                "core" | "stateful" if !words.is_empty() => {
                    return Err(self.error_at(Some(&words[0]), format!("`{}` takes no arguments", key.text)));
                }
                "core" => s.core = true,
                "stateful" => s.stateful = true,
                _ if self.privilege(&key, &words, &mut s.privileges)? => {}
                other => {
                    return Err(
                        self.error_at(Some(&key), format!("unknown statement `{other}` in service `{}`", s.name))
                    );
                }
            }
        }
        self.expect("}")?;
        self.expect(";")?;
        if !has_slot {
            return Err(self.error_at(Some(&name), format!("service `{}` has no `slot`", s.name)));
        }
        Ok(s)
    }

    /// Parses an `ipc`, `calls` or `kernel` statement into `p`; false if `key` is none of them.
    fn privilege(&self, key: &Token, words: &[Token], p: &mut Privileges) -> Result<bool, ManifestError> {
        match key.text.as_str() {
            "ipc" => {
                p.ipc = match words {
                    [w] if w.text == "ALL" => TargetSet::All,
                    [w] if w.text == "NONE" => TargetSet::Only(BTreeSet::new()),
                    _ => TargetSet::Only(words.iter().map(|w| w.text.clone()).collect()),
                }
            }
            "calls" => {
                let Some((target, types)) = words.split_first() else {
                    return Err(self.error_at(Some(key), "calls needs a target and message types".to_string()));
                };
                if types.is_empty() {
                    return Err(self.error_at(Some(target), "calls needs at least one message type".to_string()));
                }
                let ranges = types.iter().map(|w| self.type_range(w)).collect::<Result<Vec<_>, _>>()?;
                p.calls.entry(target.text.clone()).or_insert(CallSet(Vec::new())).0.extend(ranges);
            }
            "kernel" => {
                p.kernel = KernelCallSet::default();
                match words {
                    [w] if w.text == "ALL" => p.kernel = KernelCallSet::all(),
                    [w] if w.text == "NONE" => {}
                    _ => {
                        for w in words {
                            let call = KernelCall::from_keyword(&w.text).ok_or_else(|| {
                                let known: Vec<_> = KernelCall::ALL.iter().map(|k| k.keyword()).collect();
                                self.error_at(
                                    Some(w),
                                    format!("unknown kernel call `{}` (known: {})", w.text, known.join(" ")),
                                )
                            })?;
                            p.kernel.insert(call);
                        }
                    }
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn one_name(&self, key: &Token, words: &[Token]) -> Result<Option<String>, ManifestError> {
        match words {
            [w] if w.text == "none" => Ok(None),
            [w] => Ok(Some(w.text.clone())),
            _ => Err(self.error_at(Some(key), format!("`{}` takes one name", key.text))),
        }
    }

    fn number(&self, key: &Token, words: &[Token]) -> Result<u64, ManifestError> {
        match words {
            [w] => parse_int(&w.text)
                .and_then(|n| u64::try_from(n).ok())
                .ok_or_else(|| self.error_at(Some(w), format!("`{}` is not a number", w.text))),
            _ => Err(self.error_at(Some(key), format!("`{}` takes one number", key.text))),
        }
    }

    fn type_range(&self, w: &Token) -> Result<(MsgType, MsgType), ManifestError> {
        let one = |text: &str| -> Result<MsgType, ManifestError> {
            parse_int(text)
                .and_then(|n| MsgType::try_from(n).ok())
                .or_else(|| (self.names)(text))
                .ok_or_else(|| self.error_at(Some(w), format!("unknown message type `{text}`")))
        };
        match w.text.split_once("..") {
            Some((lo, hi)) => {
                let (lo, hi) = (one(lo)?, one(hi)?);
                if lo > hi {
                    return Err(self.error_at(Some(w), format!("empty message-type range `{}`", w.text)));
                }
                Ok((lo, hi))
            }
            None => one(&w.text).map(|t| (t, t)),
        }
    }

    fn duration(&self, w: &Token) -> Result<Micros, ManifestError> {
        let text = w.text.as_str();
        let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
        let (digits, unit) = text.split_at(split);
        let scale = match unit {
            "s" => 1_000_000,
            "ms" => 1_000,
            "us" => 1,
            _ => return Err(self.error_at(Some(w), format!("`{text}` is not a duration (like 1s, 50ms, 20us)"))),
        };
        digits
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(scale))
            .ok_or_else(|| self.error_at(Some(w), format!("`{text}` is not a duration (like 1s, 50ms, 20us)")))
    }

    fn restart(&self, key: &Token, words: &[Token]) -> Result<RestartPacing, ManifestError> {
        let mut r = RestartPacing::default();
        let mut i = 0;
        while i < words.len() {
            let w = &words[i];
            let value =
                words.get(i + 1).ok_or_else(|| self.error_at(Some(w), format!("`{}` needs a value", w.text)))?;
            match w.text.as_str() {
                "first" => r.first_delay = self.duration(value)?,
                "backoff" => r.backoff = self.duration(value)?,
                "max" => r.max_delay = self.duration(value)?,
                "minrun" => r.min_run = self.duration(value)?,
                "intensity" => {
                    r.intensity = parse_int(&value.text)
                        .and_then(|n| u32::try_from(n).ok())
                        .ok_or_else(|| self.error_at(Some(value), format!("`{}` is not a count", value.text)))?;
                    let per = words.get(i + 2).filter(|p| p.text == "per");
                    let period = words.get(i + 3);
                    match (per, period) {
                        (Some(_), Some(p)) => r.intensity_period = self.duration(p)?,
                        _ => return Err(self.error_at(Some(w), "intensity N needs `per PERIOD`".to_string())),
                    }
                    i += 2;
                }
                other => {
                    return Err(self.error_at(
                        Some(w),
                        format!("unknown restart setting `{other}` (first, backoff, max, minrun, intensity)"),
                    ));
                }
            }
            i += 2;
        }
        if words.is_empty() {
            return Err(self.error_at(Some(key), "restart needs settings".to_string()));
        }
        Ok(r)
    }
}

fn parse_int(text: &str) -> Option<i64> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => i64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "
# two services and the users
service rs {
    slot 1;
    ipc ALL;
    kernel ALL;
    core;
};
service pm {
    slot 2;
    ipc rs USER;
    calls rs 0x700..0x705 PING;
    kernel fork kill;
    sigmgr rs;
    heartbeat 1s;
    restart first 0s backoff 500ms max 30s minrun 50ms intensity 3 per 10s;
    stateful;
};
user { ipc pm; sigmgr pm; };
";

    fn names(name: &str) -> Option<MsgType> {
        (name == "PING").then_some(0x1100)
    }

    #[test]
    fn parses_every_statement() {
        let m = Manifest::parse(GOOD, "system.conf", &names).unwrap();
        assert_eq!(m.services.len(), 2);
        let pm = m.service("pm").unwrap();
        assert_eq!(pm.slot, 2);
        assert_eq!(pm.heartbeat, Some(1_000_000));
        assert_eq!(pm.restart.backoff, 500_000);
        assert_eq!(pm.restart.intensity, 3);
        assert!(pm.stateful && !pm.core);
        assert!(pm.privileges.kernel.contains(KernelCall::Fork));
        assert!(!pm.privileges.kernel.contains(KernelCall::Spawn));
        let calls = &pm.privileges.calls["rs"];
        assert!(calls.contains(0x703) && calls.contains(0x1100) && !calls.contains(0x706));
        assert!(m.service("rs").unwrap().privileges.kernel.contains(KernelCall::Spawn));
        assert_eq!(m.user_sigmgr.as_deref(), Some("pm"));
    }

    #[test]
    fn display_round_trips() {
        let m = Manifest::parse(GOOD, "a", &names).unwrap();
        let again = Manifest::parse(&m.to_string(), "b", &names).unwrap();
        let strip = |m: &Manifest| {
            let mut m = m.clone();
            m.services.iter_mut().for_each(|s| s.declared_at.clear());
            m
        };
        assert_eq!(strip(&m), strip(&again));
    }

    fn error_of(text: &str) -> String {
        Manifest::parse(text, "bad.conf", &names).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_file_line_and_column() {
        assert_eq!(error_of("service pm {\n  slot 2\n};\nuser{};"), "bad.conf:3:1: expected `;` before `}`");
        assert_eq!(
            error_of("service pm {\n  slot 2;\n  kernel fork bake;\n};user{};"),
            "bad.conf:3:15: unknown kernel call `bake` (known: fork exec clear kill spawn alarm safecopy vmctl remains getinfo shutdown schedule sigsend)"
        );
        assert_eq!(
            error_of("service pm { slot 2; heartbeat 5 parsecs; };"),
            "bad.conf:1:22: heartbeat takes a period or `none`"
        );
        assert_eq!(error_of("service pm { slot 2; calls vm NOPE; };"), "bad.conf:1:31: unknown message type `NOPE`");
        assert_eq!(error_of("service pm { slot 2; @ };"), "bad.conf:1:22: unexpected character `@`");
        assert_eq!(
            error_of("service pm { slot 2;"),
            "bad.conf:1:20: unexpected end of file, expected a statement or `}`"
        );
    }

    #[test]
    fn params_are_read_kept_and_refused_when_malformed() {
        let text = "service mfs { slot 7; param inodes 2048; param blocks 0x4000; };\nuser { };";
        let m = Manifest::parse(text, "ok.conf", &names).unwrap();
        let mfs = m.service("mfs").unwrap();
        assert_eq!(mfs.params.get("inodes"), Some(&2048));
        assert_eq!(mfs.params.get("blocks"), Some(&0x4000));
        let again = Manifest::parse(&m.to_string(), "again.conf", &names).unwrap();
        assert_eq!(again.service("mfs").unwrap().params, mfs.params, "written back as it was read");
        assert_eq!(
            error_of("service mfs { slot 7; param inodes; };"),
            "bad.conf:1:23: `param` takes a name and a number"
        );
        assert_eq!(error_of("service mfs { slot 7; param inodes many; };"), "bad.conf:1:36: `many` is not a number");
        assert_eq!(
            error_of("service mfs { slot 7; param inodes 1; param inodes 2; };"),
            "bad.conf:1:45: `param inodes` is set twice"
        );
    }

    #[test]
    fn validation_catches_bad_references_and_numbers() {
        assert_eq!(
            error_of("service pm { slot 2; ipc ghost; };\nuser { };"),
            "bad.conf:1: service `pm`: ipc target `ghost` is not a service"
        );
        assert_eq!(
            error_of("service pm { slot 2; };\nservice vm { slot 2; };\nuser { };"),
            "bad.conf:2: services `pm` and `vm` share slot 2"
        );
        assert_eq!(
            error_of("service pm { slot 0; };\nuser { };"),
            "bad.conf:1: service `pm`: slot 0 is outside 1..16 (0 is the kernel)"
        );
        assert_eq!(
            error_of("service pm { slot 2; ipc USER; calls vm 0xC00; };\nuser { };"),
            "bad.conf:1: service `pm`: calls to `vm`, which its ipc list does not allow"
        );
        assert_eq!(
            error_of("service pm { slot 2; };"),
            "bad.conf: no `user` block: the privileges of user processes must be stated"
        );
        assert_eq!(
            error_of("service pm { slot 2; restart max 1s backoff 2s; };\nuser { };"),
            "bad.conf:1: service `pm`: restart max delay is below the first delay or the backoff"
        );
        assert_eq!(
            error_of("service rs { slot 1; };\nservice pm { slot 2; sigmgr pm; };\nuser { };"),
            "bad.conf:2: service `pm` is its own signal manager"
        );
        assert_eq!(
            error_of(
                "service rs { slot 1; };\nservice pm { slot 2; sigmgr vm; };\nservice vm { slot 3; sigmgr pm; };\nuser { };"
            ),
            "bad.conf:2: service `pm` is in a ring of signal managers (pm -> vm -> pm)"
        );
    }

    #[test]
    fn garbage_never_panics() {
        let pieces = [
            "service",
            "user",
            "{",
            "}",
            ";",
            "slot",
            "1",
            "ipc",
            "ALL",
            "calls",
            "0x1..0x0",
            "restart",
            "intensity",
            "per",
            "#",
            "\n",
            "heartbeat",
            "0s",
            "kernel",
            "é",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..2000 {
            let mut text = String::new();
            for _ in 0..(state % 24) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push_str(pieces[(state % pieces.len() as u64) as usize]);
                text.push(' ');
            }
            let _ = Manifest::parse(&text, "fuzz.conf", &names);
        }
    }
}

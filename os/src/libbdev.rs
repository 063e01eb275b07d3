//! libbdev: how a file system reaches its block-device driver (MINIX's `lib/libbdev`): open and
//! close the device, read and write bytes through a grant of the caller's buffer, ask the
//! geometry — and survive the driver's restarts.
//!
//! The driver is known by its label; its endpoint is a run-time value the client finds through a
//! [`Port`] (ds, for a server). When a request fails because the driver died (the kernel's
//! dead-endpoint error, or a recovered driver dropping it), the client waits for news of the label
//! (ds's notification), looks the driver up again, re-opens the device on the new endpoint as
//! often as it had opened it, and sends the request again: at most [`DRIVER_TRIES`] times, as
//! MINIX's libbdev bounds its retries. An answer whose id is not the request's (a stale one, from
//! before a restart) is not taken for it: the request is sent again.
//!
//! What the client knows of a driver ([`Driver`]) is plain data its caller keeps: a file system
//! keeps it in its tracked state, so that a rollback of the file system also rolls back what it
//! believes of the driver.

use crate::errno::Errno;
use crate::proto::DS;
use crate::proto::bdev::*;
use crate::proto::ds::{DsValue, ds_check, ds_retrieve_endpoint, ds_subscribe};
use crate::task::Ctx;
use kernel_sim::memory::{Access, GrantId, VirtAddr};
use kernel_sim::{Endpoint, Message, Proc};

/// How many times one request is sent again after the driver died, before the client gives up
/// with EDEADSRCDST (MINIX's libbdev: DRIVER_TRIES).
pub const DRIVER_TRIES: u32 = 5;

/// What the client needs of the process it runs in.
pub trait Port {
    /// The process (its memory, its grants).
    fn proc(&self) -> &Proc;
    /// Sends `m` to `driver` and waits for the answer (a negative status comes back as its errno).
    fn request(&mut self, driver: Endpoint, m: Message) -> Result<Message, Errno>;
    /// Starts following `label` (a ds subscription), before its first lookup.
    fn follow(&mut self, label: &str) -> Result<(), Errno>;
    /// The endpoint the driver is published under `label` now.
    fn lookup(&mut self, label: &str) -> Result<Endpoint, Errno>;
    /// Waits for news of `label` (ds's notification of a change), after the driver was found dead.
    fn await_news(&mut self, label: &str);
}

/// How many of ds's notifications a server waits through for news of its driver before it looks
/// it up anyway (each restart of the driver is one; other entries may change meanwhile).
pub const NEWS_WAITS: u32 = 8;

/// A server's port: its requests go through its task loop's `Ctx` (recorded in its recovery
/// window and replayed when a request is handled again); it finds the driver in ds and learns of
/// a new endpoint from ds's notification, as MINIX's file systems do.
impl<S> Port for Ctx<'_, S> {
    fn proc(&self) -> &Proc {
        self.proc
    }

    fn request(&mut self, driver: Endpoint, m: Message) -> Result<Message, Errno> {
        self.sendrec(driver, m)
    }

    fn follow(&mut self, label: &str) -> Result<(), Errno> {
        ds_subscribe(self, label, 0)
    }

    fn lookup(&mut self, label: &str) -> Result<Endpoint, Errno> {
        ds_retrieve_endpoint(self, label)
    }

    fn await_news(&mut self, label: &str) {
        for _ in 0..NEWS_WAITS {
            // Changes ds noted before (a notification the loop top took) come first; then wait.
            loop {
                match ds_check(self) {
                    // A new endpoint, or the label deleted: the driver is down for good (rs
                    // unpublishes a service it leaves dead), and the lookup that follows says so.
                    Ok(change) if change.name == label && !matches!(change.value, Some(DsValue::U64(_))) => return,
                    Ok(_) => {}
                    Err(Errno::ENOENT) => break,
                    // ds cannot tell (it refuses the call as quarantined, or it is down): its news
                    // may never come, so the lookup that follows decides now.
                    Err(_) => return,
                }
            }
            if self.await_notification(DS).is_err() {
                return;
            }
        }
    }
}

/// What a client knows of its driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Driver {
    /// The label it is published under.
    pub label: &'static str,
    /// The minor device used.
    pub minor: u32,
    /// Where the buffer the client grants the driver starts, in the client's own memory.
    pub buffer: VirtAddr,
    /// The buffer's length in bytes: the most one read or write moves.
    pub buffer_len: u64,
    /// The driver's endpoint as last looked up (`None` before the first lookup).
    pub endpoint: Option<Endpoint>,
    /// Opens the client holds, and their joined access mode: re-made after a restart.
    pub opens: u32,
    /// The access modes of those opens.
    pub access: u32,
    /// The id the next request carries.
    pub next_id: u32,
    /// The device's size in bytes as the driver last gave it (DIOCGETP), once asked.
    pub size: Option<u64>,
}

impl Driver {
    /// A driver known by `label`, not yet looked up, whose transfers go through
    /// `[buffer, buffer + buffer_len)` of the client's memory.
    pub fn new(label: &'static str, minor: u32, buffer: VirtAddr, buffer_len: u64) -> Driver {
        Driver { label, minor, buffer, buffer_len, endpoint: None, opens: 0, access: 0, next_id: 1, size: None }
    }
}

/// The device's geometry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// Its size in bytes.
    pub size: u64,
    /// Its block size in bytes.
    pub block_size: u64,
}

/// One request, built for each attempt (its id and grant change).
enum Request {
    Open { access: u32 },
    Close,
    Ioctl { request: u32 },
    Read { position: u64, count: u64 },
    Write { position: u64, count: u64 },
}

impl Request {
    fn message(&self, id: u32, minor: u32, grant: GrantId) -> Message {
        match *self {
            Request::Open { access } => Message::with(BDEV_OPEN, &BdevOpenRequest { id, minor, access }),
            Request::Close => Message::with(BDEV_CLOSE, &BdevMinorRequest { id, minor }),
            Request::Ioctl { request } => Message::with(BDEV_IOCTL, &BdevIoctlRequest { id, minor, request }),
            Request::Read { position, count } => {
                Message::with(BDEV_READ, &BdevIoRequest { id, minor, grant, position, count })
            }
            Request::Write { position, count } => {
                Message::with(BDEV_WRITE, &BdevIoRequest { id, minor, grant, position, count })
            }
        }
    }

    /// The grant of the buffer it needs: the driver writes into it for a read, reads it for a
    /// write.
    fn grant(&self) -> Option<(u64, Access)> {
        match *self {
            Request::Read { count, .. } => Some((count, Access::Write)),
            Request::Write { count, .. } => Some((count, Access::Read)),
            _ => None,
        }
    }
}

/// Opens the device for `access` (`BDEV_R_BIT | BDEV_W_BIT`).
pub fn open(port: &mut impl Port, driver: &mut Driver, access: u32) -> Result<(), Errno> {
    call(port, driver, &Request::Open { access })?;
    driver.opens += 1;
    driver.access |= access;
    Ok(())
}

/// Closes one open of the device.
pub fn close(port: &mut impl Port, driver: &mut Driver) -> Result<(), Errno> {
    call(port, driver, &Request::Close)?;
    driver.opens = driver.opens.saturating_sub(1);
    if driver.opens == 0 {
        driver.access = 0;
    }
    Ok(())
}

/// The device's geometry (DIOCGETP).
pub fn geometry(port: &mut impl Port, driver: &mut Driver) -> Result<Geometry, Errno> {
    let answer = call(port, driver, &Request::Ioctl { request: DIOCGETP })?;
    let reply: BdevGeometryReply = answer.get();
    driver.size = Some(reply.size);
    Ok(Geometry { size: reply.size, block_size: reply.block_size })
}

/// Reads `out.len()` bytes at `position` (at most the buffer's length).
pub fn read(port: &mut impl Port, driver: &mut Driver, position: u64, out: &mut [u8]) -> Result<(), Errno> {
    let count = transfer_len(driver, out.len())?;
    call(port, driver, &Request::Read { position, count })?;
    port.proc().mem_read(driver.buffer, out)?;
    Ok(())
}

/// Writes `data` at `position` (at most the buffer's length).
pub fn write(port: &mut impl Port, driver: &mut Driver, position: u64, data: &[u8]) -> Result<(), Errno> {
    let count = transfer_len(driver, data.len())?;
    port.proc().mem_write(driver.buffer, data)?;
    call(port, driver, &Request::Write { position, count })?;
    Ok(())
}

fn transfer_len(driver: &Driver, len: usize) -> Result<u64, Errno> {
    let len = len as u64;
    if len > driver.buffer_len { Err(Errno::EINVAL) } else { Ok(len) }
}

/// Sends `request` until the driver answers it, through its restarts: its answer (a BDEV_REPLY
/// whose status is not an error). The request keeps one id however often it is sent, and so do
/// the re-opens: the driver knows a request it handled already (a restarted driver handles its
/// predecessor's request again) when it comes again.
fn call(port: &mut impl Port, driver: &mut Driver, request: &Request) -> Result<Message, Errno> {
    let id = take_id(driver);
    let mut reopen_ids = Vec::new();
    // Restarts seen and stale answers taken, together bounded.
    let mut retries = 0;
    let mut reopen = false;
    loop {
        let endpoint = match driver.endpoint {
            Some(ep) => ep,
            None => {
                port.follow(driver.label)?;
                let ep = lookup_published(port, driver.label)?;
                driver.endpoint = Some(ep);
                // Opens made on an incarnation the client gave up on are made again on this one.
                reopen = driver.opens > 0;
                ep
            }
        };
        let reopened = if reopen { reopen_all(port, driver, endpoint, &mut reopen_ids)? } else { None };
        let outcome = match reopened {
            Some(failed) => failed,
            None => {
                reopen = false;
                attempt(port, driver, endpoint, request, id)
            }
        };
        match outcome {
            Attempt::Answered(result) => return result,
            Attempt::Stale => {}
            Attempt::DriverDied => {
                port.await_news(driver.label);
                driver.endpoint = Some(port.lookup(driver.label)?);
                reopen = true;
            }
            // An answer no driver gives: sent again where ds now names the driver; refused by
            // the driver itself, the request fails.
            Attempt::Refused(e) => driver.endpoint = Some(misdirected(port, driver.label, endpoint).ok_or(e)?),
        }
        retries += 1;
        if retries > DRIVER_TRIES {
            if reopen {
                // The opens are not made on the endpoint last looked up: the next request looks
                // the driver up again and makes them first.
                driver.endpoint = None;
            }
            return Err(Errno::EDEADSRCDST);
        }
    }
}

/// Where a request refused at `sent_to` (an answer no driver gives) should have gone: the endpoint
/// ds names for `label` now, when it is another one — `sent_to` came from a garbled lookup. `None`
/// when ds still names `sent_to`: the driver itself refused.
pub fn misdirected(port: &mut impl Port, label: &str, sent_to: Endpoint) -> Option<Endpoint> {
    port.lookup(label).ok().filter(|&now| now != sent_to)
}

/// The driver's endpoint, waiting for news while it is not published yet (at boot, its label may
/// reach ds after the file system asks): ESRCH after DRIVER_TRIES waits.
fn lookup_published(port: &mut impl Port, label: &str) -> Result<Endpoint, Errno> {
    for _ in 0..DRIVER_TRIES {
        match port.lookup(label) {
            Err(Errno::ESRCH) => port.await_news(label),
            found => return found,
        }
    }
    port.lookup(label)
}

/// The id of a new request.
fn take_id(driver: &mut Driver) -> u32 {
    let id = driver.next_id;
    driver.next_id = driver.next_id.wrapping_add(1);
    id
}

/// How one attempt at a request went.
enum Attempt {
    /// The driver answered this request.
    Answered(Result<Message, Errno>),
    /// An answer to another request came (a stale one, from before a restart): send it again.
    Stale,
    /// The driver died before answering (or dropped the request when it recovered).
    DriverDied,
    /// A plain error, not a driver's answer (a driver answers BDEV_REPLY, its own errors inside):
    /// the call refused where it was sent, by the kernel or by whoever the endpoint names.
    Refused(Errno),
}

fn attempt(port: &mut impl Port, driver: &Driver, endpoint: Endpoint, request: &Request, id: u32) -> Attempt {
    let grant = request.grant().map(|(len, access)| port.proc().grant(endpoint, driver.buffer, len, access));
    let answer = port.request(endpoint, request.message(id, driver.minor, grant.unwrap_or(GrantId::MAX)));
    if let Some(grant) = grant {
        port.proc().revoke(grant);
    }
    match answer {
        Ok(m) if m.m_type == BDEV_REPLY && m.get::<BdevReply>().id == id => {
            let status = m.get::<BdevReply>().status;
            Attempt::Answered(if status < 0 { Err(Errno::from_status(status)) } else { Ok(m) })
        }
        Ok(_) => Attempt::Stale,
        Err(Errno::EDEADSRCDST | Errno::ERECOVERED) => Attempt::DriverDied,
        Err(e) => Attempt::Refused(e),
    }
}

/// Re-makes the client's opens on a restarted driver, which knows none of them (an open in
/// flight is not among them: it is the request sent again); the k-th re-open keeps its id across
/// restarts (`ids`). `None` once all are made; how an attempt failed otherwise; an open the
/// driver refuses is the request's error.
fn reopen_all(
    port: &mut impl Port,
    driver: &mut Driver,
    endpoint: Endpoint,
    ids: &mut Vec<u32>,
) -> Result<Option<Attempt>, Errno> {
    let open = Request::Open { access: driver.access };
    let mut stale = 0;
    let mut k = 0;
    while k < driver.opens as usize {
        if ids.len() == k {
            ids.push(take_id(driver));
        }
        match attempt(port, driver, endpoint, &open, ids[k]) {
            Attempt::Answered(result) => {
                result?;
                k += 1;
            }
            // A stale answer: this open is sent again, under its id (the driver counts it once).
            Attempt::Stale if stale < DRIVER_TRIES => stale += 1,
            other => return Ok(Some(other)),
        }
    }
    Ok(None)
}

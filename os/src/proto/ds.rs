//! Calls to ds, the data store (range 0x800), and the client side every server uses through its
//! task loop's `Ctx` (so the recovery window and the request's log record each call).
//!
//! An entry is a name (1 to [`DS_NAME_MAX`] bytes of printable ASCII) holding a number or an
//! endpoint, owned by the service that published it (its slot: a service keeps its entries across
//! its incarnations, as MINIX's ds keys them by label). rs publishes every service's label ->
//! endpoint at each (re)start. A subscription is a glob over names (`*` any run of characters,
//! `?` any one); a subscriber is notified when a matching entry is published, changed or deleted,
//! and asks what changed with DS_CHECK, one entry at a time.

use super::DS;
use crate::errno::Errno;
use crate::task::Ctx;
use kernel_sim::msgtype::DS_BASE;
use kernel_sim::{Endpoint, Message, MsgType, payload};

/// publish(name, value, flags): create or (with [`DSF_OVERWRITE`], by its owner or rs) replace an
/// entry. EEXIST when it exists without the flag, EPERM when the caller does not own it, EAGAIN
/// when ds is full (`ds::store::NR_DS_KEYS` entries).
pub const DS_PUBLISH: MsgType = DS_BASE + 0x01;
/// retrieve(name): the entry's kind and value; ESRCH when there is none (MINIX's answer).
pub const DS_RETRIEVE: MsgType = DS_BASE + 0x02;
/// delete(name): remove an entry (its owner or rs); ESRCH when absent, EPERM when not the owner's.
pub const DS_DELETE: MsgType = DS_BASE + 0x03;
/// subscribe(pattern, flags): be notified of changes to matching entries ([`DSF_INITIAL`]: the
/// matching entries that exist now count as changed).
pub const DS_SUBSCRIBE: MsgType = DS_BASE + 0x04;
/// check(): the next changed entry of the caller's subscriptions; ENOENT when none is left.
pub const DS_CHECK: MsgType = DS_BASE + 0x05;

/// The longest name or pattern, in bytes: the name field is NUL-padded and its last byte is always
/// NUL (a 32-byte field leaves room for the value in a 56-byte payload).
pub const DS_NAME_MAX: usize = 31;
/// The width of a name field in a payload.
pub const DS_NAME_FIELD: usize = DS_NAME_MAX + 1;

/// publish: replace an existing entry (MINIX's DSF_OVERWRITE).
pub const DSF_OVERWRITE: u32 = 0x01;
/// subscribe: the entries matching now count as changed (MINIX's DSF_INITIAL).
pub const DSF_INITIAL: u32 = 0x02;

/// An entry holding a number.
pub const DS_KIND_U64: u32 = 1;
/// An entry holding an endpoint.
pub const DS_KIND_ENDPOINT: u32 = 2;

/// An entry name, as it travels: NUL-padded bytes.
pub type DsName = [u8; DS_NAME_FIELD];

payload! {
    /// DS_PUBLISH: the name, the value's kind ([`DS_KIND_U64`] or [`DS_KIND_ENDPOINT`]: an
    /// endpoint's raw value), the flags and the value.
    pub struct DsPublishRequest { pub name: DsName, pub kind: u32, pub flags: u32, pub value: u64 }
}
payload! {
    /// DS_RETRIEVE and DS_DELETE: the name.
    pub struct DsNameRequest { pub name: DsName }
}
payload! {
    /// DS_RETRIEVE reply: the entry's kind and value.
    pub struct DsRetrieveReply { pub kind: u32, pub value: u64 }
}
payload! {
    /// DS_SUBSCRIBE: the glob and the flags.
    pub struct DsSubscribeRequest { pub pattern: DsName, pub flags: u32 }
}
payload! {
    /// DS_CHECK reply: the changed entry's name, and its kind and value now (kind 0: deleted).
    pub struct DsCheckReply { pub name: DsName, pub kind: u32, pub value: u64 }
}

/// A value ds holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DsValue {
    /// A number (MINIX's DSF_TYPE_U32, widened).
    U64(u64),
    /// A process's endpoint (MINIX's DSF_TYPE_LABEL's answer).
    Endpoint(Endpoint),
}

impl DsValue {
    /// The value as it travels: its kind and its bits.
    pub fn encode(self) -> (u32, u64) {
        match self {
            DsValue::U64(v) => (DS_KIND_U64, v),
            DsValue::Endpoint(ep) => (DS_KIND_ENDPOINT, u64::from(ep.raw())),
        }
    }

    /// The value of kind `kind`, or EINVAL for an unknown kind or an endpoint wider than 32 bits.
    pub fn decode(kind: u32, value: u64) -> Result<DsValue, Errno> {
        match kind {
            DS_KIND_U64 => Ok(DsValue::U64(value)),
            DS_KIND_ENDPOINT => {
                let raw = u32::try_from(value).map_err(|_| Errno::EINVAL)?;
                let ep = Endpoint::from_raw(raw);
                if ep.is_special() { Err(Errno::EINVAL) } else { Ok(DsValue::Endpoint(ep)) }
            }
            _ => Err(Errno::EINVAL),
        }
    }
}

/// A name as a payload field: EINVAL when empty or not printable ASCII, ENAMETOOLONG past
/// [`DS_NAME_MAX`] bytes.
pub fn encode_name(name: &str) -> Result<DsName, Errno> {
    if name.len() > DS_NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Errno::EINVAL);
    }
    let mut field = [0u8; DS_NAME_FIELD];
    field[..name.len()].copy_from_slice(name.as_bytes());
    Ok(field)
}

/// A name from a payload field, checked as [`encode_name`] checks it: a field without its closing
/// NUL is too long; bytes after the first NUL must be NUL too.
pub fn decode_name(field: &DsName) -> Result<String, Errno> {
    let len = field.iter().position(|&b| b == 0).ok_or(Errno::ENAMETOOLONG)?;
    if field[len..].iter().any(|&b| b != 0) {
        return Err(Errno::EINVAL);
    }
    let name = std::str::from_utf8(&field[..len]).map_err(|_| Errno::EINVAL)?;
    encode_name(name)?;
    Ok(name.to_string())
}

/// Whether `name` matches the glob `pattern` (`*`: any run of characters, `?`: any one).
pub fn glob_matches(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    // The classic two-pointer match with one backtrack point (the last `*`): linear in practice.
    let (mut pi, mut ni, mut star, mut resume) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            pi += 1;
            resume = ni;
        } else if let Some(s) = star {
            pi = s + 1;
            resume += 1;
            ni = resume;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// What DS_CHECK reports: an entry that changed, with its value now (`None`: deleted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DsChange {
    /// The entry's name.
    pub name: String,
    /// Its value now; `None` when it was deleted.
    pub value: Option<DsValue>,
}

/// The DS_PUBLISH message for `name` = `value`.
pub fn publish_message(name: &str, value: DsValue, flags: u32) -> Result<Message, Errno> {
    let (kind, value) = value.encode();
    Ok(Message::with(DS_PUBLISH, &DsPublishRequest { name: encode_name(name)?, kind, flags, value }))
}

/// The DS_RETRIEVE (or DS_DELETE) message for `name`.
pub fn name_message(m_type: MsgType, name: &str) -> Result<Message, Errno> {
    Ok(Message::with(m_type, &DsNameRequest { name: encode_name(name)? }))
}

/// The DS_SUBSCRIBE message for `pattern`.
pub fn subscribe_message(pattern: &str, flags: u32) -> Result<Message, Errno> {
    Ok(Message::with(DS_SUBSCRIBE, &DsSubscribeRequest { pattern: encode_name(pattern)?, flags }))
}

/// The value in a DS_RETRIEVE answer.
pub fn retrieved(answer: &Message) -> Result<DsValue, Errno> {
    let DsRetrieveReply { kind, value } = answer.get();
    DsValue::decode(kind, value)
}

/// The change in a DS_CHECK answer.
pub fn checked(answer: &Message) -> Result<DsChange, Errno> {
    let DsCheckReply { name, kind, value } = answer.get();
    let value = if kind == 0 { None } else { Some(DsValue::decode(kind, value)?) };
    Ok(DsChange { name: decode_name(&name)?, value })
}

/// Publishes `name` = `value` (with [`DSF_OVERWRITE`] to replace the caller's own entry).
pub fn ds_publish<S>(ctx: &mut Ctx<'_, S>, name: &str, value: DsValue, flags: u32) -> Result<(), Errno> {
    let (kind, value) = value.encode();
    let request = DsPublishRequest { name: encode_name(name)?, kind, flags, value };
    ctx.sendrec(DS, Message::with(DS_PUBLISH, &request)).map(drop)
}

/// The value of `name`; ESRCH when there is none.
pub fn ds_retrieve<S>(ctx: &mut Ctx<'_, S>, name: &str) -> Result<DsValue, Errno> {
    let request = DsNameRequest { name: encode_name(name)? };
    let answer = ctx.sendrec(DS, Message::with(DS_RETRIEVE, &request))?;
    retrieved(&answer)
}

/// The endpoint published under `name` (a service's label: its current endpoint); ESRCH when
/// there is none, EINVAL when `name` holds a number.
pub fn ds_retrieve_endpoint<S>(ctx: &mut Ctx<'_, S>, name: &str) -> Result<Endpoint, Errno> {
    match ds_retrieve(ctx, name)? {
        DsValue::Endpoint(ep) => Ok(ep),
        DsValue::U64(_) => Err(Errno::EINVAL),
    }
}

/// Deletes the caller's entry `name`.
pub fn ds_delete<S>(ctx: &mut Ctx<'_, S>, name: &str) -> Result<(), Errno> {
    let request = DsNameRequest { name: encode_name(name)? };
    ctx.sendrec(DS, Message::with(DS_DELETE, &request)).map(drop)
}

/// Subscribes the caller to the entries matching `pattern`.
pub fn ds_subscribe<S>(ctx: &mut Ctx<'_, S>, pattern: &str, flags: u32) -> Result<(), Errno> {
    let request = DsSubscribeRequest { pattern: encode_name(pattern)?, flags };
    ctx.sendrec(DS, Message::with(DS_SUBSCRIBE, &request)).map(drop)
}

/// The next entry that changed for the caller; ENOENT when none is left.
pub fn ds_check<S>(ctx: &mut Ctx<'_, S>) -> Result<DsChange, Errno> {
    let answer = ctx.sendrec(DS, Message::new(DS_CHECK))?;
    checked(&answer)
}

/// The name of a ds message type.
pub fn name(t: MsgType) -> Option<&'static str> {
    Some(match t {
        DS_PUBLISH => "ds_publish",
        DS_RETRIEVE => "ds_retrieve",
        DS_DELETE => "ds_delete",
        DS_SUBSCRIBE => "ds_subscribe",
        DS_CHECK => "ds_check",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_as_documented() {
        assert!(glob_matches("memdisk", "memdisk"));
        assert!(!glob_matches("memdisk", "memdisk0"));
        assert!(glob_matches("drv.*", "drv.memdisk"));
        assert!(glob_matches("*", "anything"));
        assert!(glob_matches("a?c", "abc"));
        assert!(!glob_matches("a?c", "ac"));
        assert!(glob_matches("*disk*", "memdisk.0"));
        assert!(!glob_matches("*disk", "memdisk.0"));
    }

    #[test]
    fn names_round_trip_and_bad_names_get_errno() {
        let field = encode_name("memdisk").unwrap();
        assert_eq!(decode_name(&field).unwrap(), "memdisk");
        assert_eq!(encode_name(""), Err(Errno::EINVAL));
        assert_eq!(encode_name("a b"), Err(Errno::EINVAL));
        assert_eq!(encode_name(&"x".repeat(DS_NAME_MAX + 1)), Err(Errno::ENAMETOOLONG));
        assert_eq!(decode_name(&[b'x'; DS_NAME_FIELD]), Err(Errno::ENAMETOOLONG));
        let mut gap = [0u8; DS_NAME_FIELD];
        gap[0] = b'a';
        gap[2] = b'b';
        assert_eq!(decode_name(&gap), Err(Errno::EINVAL));
    }

    #[test]
    fn values_round_trip_and_bad_kinds_get_errno() {
        let ep = Endpoint::new(8, 3);
        let (k, v) = DsValue::Endpoint(ep).encode();
        assert_eq!(DsValue::decode(k, v), Ok(DsValue::Endpoint(ep)));
        assert_eq!(DsValue::decode(DS_KIND_U64, 7), Ok(DsValue::U64(7)));
        assert_eq!(DsValue::decode(9, 7), Err(Errno::EINVAL));
        assert_eq!(DsValue::decode(DS_KIND_ENDPOINT, u64::MAX), Err(Errno::EINVAL));
    }
}

//! DS_PUBLISH, DS_RETRIEVE, DS_DELETE: the entries themselves. A change notifies the subscribers
//! whose patterns match (`subscribe::changed`).

use super::state::{DsEntry, DsState};
use super::subscribe::changed;
use crate::errno::Errno;
use crate::proto::RS;
use crate::proto::ds::*;
use crate::task::{Ctx, Handled};
use kernel_sim::Message;

type DsCtx<'a> = Ctx<'a, DsState>;

/// The most entries ds holds (MINIX's NR_DS_KEYS): a publisher past it gets EAGAIN rather than
/// growing ds without bound.
pub const NR_DS_KEYS: usize = 200;

/// The caller's identity as an owner: its slot, the same in each of its incarnations.
fn owner_of(ctx: &DsCtx<'_>) -> u32 {
    ctx.who().slot() as u32
}

/// Whether the caller may replace or delete `entry`: its owner, or rs.
fn may_change(ctx: &DsCtx<'_>, entry: &DsEntry) -> bool {
    ctx.who() == RS || entry.owner == owner_of(ctx)
}

/// DS_PUBLISH: create `name`, or replace it with DSF_OVERWRITE.
pub fn do_publish(ctx: &mut DsCtx<'_>) -> Handled {
    let DsPublishRequest { name, kind, flags, value } = ctx.m.get();
    let name = match decode_name(&name) {
        Ok(name) => name,
        Err(e) => return Handled::Reply(Err(e)),
    };
    let value = match DsValue::decode(kind, value) {
        Ok(value) => value,
        Err(e) => return Handled::Reply(Err(e)),
    };
    if flags & !DSF_OVERWRITE != 0 {
        return Handled::Reply(Err(Errno::EINVAL));
    }
    let owner = match ctx.state.entries.get(&name).cloned() {
        Some(_) if flags & DSF_OVERWRITE == 0 => return Handled::Reply(Err(Errno::EEXIST)),
        Some(old) if !may_change(ctx, &old) => return Handled::Reply(Err(Errno::EPERM)),
        // rs replacing a service's entry leaves it the service's.
        Some(old) if old.value == value => return Handled::status(Ok(0)),
        Some(old) => old.owner,
        None if ctx.state.entries.len() >= NR_DS_KEYS => return Handled::Reply(Err(Errno::EAGAIN)),
        None => owner_of(ctx),
    };
    ctx.state.entries.insert(name.clone(), DsEntry { value, owner });
    // Subscribers are told of the change and look the name up: it must hold what was published.
    assert!(ctx.state.entries.get(&name).is_some_and(|e| e.value == value), "ds did not keep {name} as published");
    changed(ctx, &name);
    Handled::status(Ok(0))
}

/// DS_RETRIEVE: the value of `name`.
pub fn do_retrieve(ctx: &mut DsCtx<'_>) -> Handled {
    let name = match decode_name(&ctx.m.get::<DsNameRequest>().name) {
        Ok(name) => name,
        Err(e) => return Handled::Reply(Err(e)),
    };
    match ctx.state.entries.get(&name) {
        Some(entry) => {
            let (kind, value) = entry.value.encode();
            Handled::Reply(Ok(Message::with(0, &DsRetrieveReply { kind, value })))
        }
        None => Handled::Reply(Err(Errno::ESRCH)),
    }
}

/// DS_DELETE: remove `name`.
pub fn do_delete(ctx: &mut DsCtx<'_>) -> Handled {
    let name = match decode_name(&ctx.m.get::<DsNameRequest>().name) {
        Ok(name) => name,
        Err(e) => return Handled::Reply(Err(e)),
    };
    match ctx.state.entries.get(&name).cloned() {
        None => return Handled::Reply(Err(Errno::ESRCH)),
        Some(entry) if !may_change(ctx, &entry) => return Handled::Reply(Err(Errno::EPERM)),
        Some(_) => {}
    }
    ctx.state.entries.remove(&name);
    changed(ctx, &name);
    Handled::status(Ok(0))
}

//! DS_SUBSCRIBE and DS_CHECK, and the notifications a change sends: a subscriber is notified
//! (coalesced, as MINIX's notify) and asks DS_CHECK for the changed entries one at a time.

use super::state::{DsState, Subscriber};
use crate::errno::Errno;
use crate::proto::ds::*;
use crate::task::{Ctx, Handled};
use kernel_sim::{Endpoint, Message};

type DsCtx<'a> = Ctx<'a, DsState>;

/// The most patterns one subscriber may hold (MINIX keeps a fixed subscription table): a
/// subscriber past it gets ENOMEM rather than growing ds without bound.
pub const MAX_PATTERNS_PER_SUBSCRIBER: usize = 16;

/// `name` was published, changed or deleted: mark it changed for every matching subscriber and
/// notify each.
pub fn changed(ctx: &mut DsCtx<'_>, name: &str) {
    for sub in ctx.state.subscribers_of(name) {
        ctx.state.changed.insert((sub, name.to_string()), ());
        // A subscriber between incarnations misses the notification, not the change: it is
        // still pending for its DS_CHECK.
        let _ = ctx.notify(Endpoint::from_raw(sub));
    }
}

/// DS_SUBSCRIBE: tell the caller of changes to names matching a glob.
pub fn do_subscribe(ctx: &mut DsCtx<'_>) -> Handled {
    let DsSubscribeRequest { pattern, flags } = ctx.m.get();
    let pattern = match decode_name(&pattern) {
        Ok(p) => p,
        Err(e) => return Handled::Reply(Err(e)),
    };
    if flags & !DSF_INITIAL != 0 {
        return Handled::Reply(Err(Errno::EINVAL));
    }
    let sub = ctx.who().raw();
    forget_earlier_incarnations(ctx);
    let key = (sub, pattern.clone());
    if !ctx.state.subscriptions.contains_key(&key) {
        let held = ctx.state.subscriptions.range((sub, String::new())..).take_while(|((s, _), _)| *s == sub).count();
        if held >= MAX_PATTERNS_PER_SUBSCRIBER {
            return Handled::Reply(Err(Errno::ENOMEM));
        }
        ctx.state.subscriptions.insert(key, ());
    }
    if flags & DSF_INITIAL != 0 {
        let matching: Vec<String> =
            ctx.state.entries.iter().map(|(n, _)| n.clone()).filter(|n| glob_matches(&pattern, n)).collect();
        if !matching.is_empty() {
            for name in matching {
                ctx.state.changed.insert((sub, name), ());
            }
            let _ = ctx.notify(ctx.who());
        }
    }
    Handled::status(Ok(0))
}

/// Drops what an earlier process in the caller's slot subscribed to and had pending: a slot holds
/// one process at a time, so that one is gone (a stateless service restarted under the slot's
/// next generation subscribes again as itself).
fn forget_earlier_incarnations(ctx: &mut DsCtx<'_>) {
    let me = ctx.who();
    let stale = |sub: &Subscriber| {
        let ep = Endpoint::from_raw(*sub);
        ep.slot() == me.slot() && ep != me
    };
    let subscriptions: Vec<_> =
        ctx.state.subscriptions.iter().map(|(k, _)| k.clone()).filter(|(s, _)| stale(s)).collect();
    for key in subscriptions {
        ctx.state.subscriptions.remove(&key);
    }
    let changes: Vec<_> = ctx.state.changed.iter().map(|(k, _)| k.clone()).filter(|(s, _)| stale(s)).collect();
    for key in changes {
        ctx.state.changed.remove(&key);
    }
}

/// DS_CHECK: the caller's next changed entry (in name order), with its value now.
pub fn do_check(ctx: &mut DsCtx<'_>) -> Handled {
    let sub = ctx.who().raw();
    let next =
        ctx.state.changed.range((sub, String::new())..).next().filter(|((s, _), _)| *s == sub).map(|(k, _)| k.clone());
    let Some(key) = next else { return Handled::Reply(Err(Errno::ENOENT)) };
    ctx.state.changed.remove(&key);
    let name = key.1;
    let (kind, value) = ctx.state.entries.get(&name).map_or((0, 0), |e| e.value.encode());
    let field = encode_name(&name).expect("ds holds only valid names");
    Handled::Reply(Ok(Message::with(0, &DsCheckReply { name: field, kind, value })))
}

//! The shared receive wrapper (MINIX's SEF): every server receives through it.
//!
//! It answers control traffic before the server sees it: a notification from rs is a heartbeat
//! ping, answered at once with a notification back. Everything else goes to the server.
//!
//! Invariant: a server that is blocked in this wrapper answers pings; a server stuck in a handler
//! (or hung) does not, which is how rs tells a hang from a busy loop top.

use crate::proto::RS;
use kernel_sim::msgtype::NOTIFY_MESSAGE;
use kernel_sim::{Endpoint, Message, Proc};

/// Waits for the next message meant for the server itself.
pub fn receive(proc: &Proc) -> Message {
    loop {
        // A receive from ANY cannot fail: its only errors name a peer.
        let Ok(m) = proc.receive(Endpoint::ANY) else { continue };
        if m.m_type == NOTIFY_MESSAGE && m.source == RS {
            // Heartbeat: answer before anything else. rs being gone is not our problem here.
            let _ = proc.notify(RS);
            continue;
        }
        return m;
    }
}

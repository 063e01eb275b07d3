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

/// Sends the previous request's answer, if any, and waits for the next message meant for the
/// server itself (the answer and the receive are one kernel entry).
pub fn receive(proc: &Proc, answer: Option<(Endpoint, Message)>) -> Message {
    let mut answer = answer;
    loop {
        // A receive from ANY cannot fail: its only errors name a peer.
        let received = match answer.take() {
            Some((to, reply)) => proc.reply_receive(to, reply, Endpoint::ANY),
            None => proc.receive(Endpoint::ANY),
        };
        let Ok(m) = received else { continue };
        if m.m_type == NOTIFY_MESSAGE && m.source == RS {
            // Heartbeat: answer before anything else. rs being gone is not our problem here.
            let _ = proc.notify(RS);
            continue;
        }
        return m;
    }
}

//! Control messages of the shared receive wrapper (SEF), from rs to any service (range 0x1100).
//!
//! Heartbeats are plain notifications both ways, as in MINIX: rs notifies a service, the service's
//! receive wrapper notifies rs back at once, before the server sees anything.

use kernel_sim::msgtype::SEF_BASE;
use kernel_sim::{MsgType, payload};

/// rs -> service: inject a fault now (the campaign's trigger travels this way when it must be
/// armed inside a running service).
pub const SEF_INJECT: MsgType = SEF_BASE + 0x01;

payload! {
    /// SEF_INJECT: which fault, as the campaign numbers it.
    pub struct InjectRequest { pub fault: u64 }
}

/// The name of a SEF message type.
pub fn name(t: MsgType) -> Option<&'static str> {
    Some(match t {
        SEF_INJECT => "sef_inject",
        kernel_sim::msgtype::NOTIFY_MESSAGE => "notify",
        _ => return None,
    })
}

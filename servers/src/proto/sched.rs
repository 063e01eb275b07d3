//! Calls to sched (range 0xA00).
use kernel_sim::MsgType;
/// The name of a sched message type.
pub fn name(_t: MsgType) -> Option<&'static str> {
    None
}

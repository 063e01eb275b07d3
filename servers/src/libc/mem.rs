//! Memory calls (to vm).

use super::Sys;
use crate::errno::Errno;
use crate::proto::VM;
use crate::proto::vm::*;
use kernel_sim::Message;

impl Sys<'_> {
    /// Frames in the machine, free frames, and pages this process uses.
    pub fn vm_info(&self) -> Result<VmInfoReply, Errno> {
        Ok(self.call(VM, Message::new(VM_INFO))?.get::<VmInfoReply>())
    }
}

//! Priority calls: getpriority, setpriority (to pm, which asks sched) and nice built on them, as
//! MINIX's libc builds it.

use super::Sys;
use kernel_sim::Message;
use os::errno::Errno;
use os::proto::PM;
use os::proto::pm::{PM_GETPRIORITY, PM_SETPRIORITY, PriorityReply, PriorityRequest};
use os::proto::sched::{PRIO_MAX, PRIO_MIN, PRIO_PROCESS};

impl Sys<'_> {
    /// getpriority(which, who): the nice value of process `who` (0: the caller); only
    /// `PRIO_PROCESS` is served (EINVAL otherwise).
    pub fn getpriority(&self, which: i32, who: i32) -> Result<i32, Errno> {
        self.priority_call(PM_GETPRIORITY, which, who, 0)
    }

    /// setpriority(which, who, prio): sets the nice value; EACCES when a non-root caller lowers it.
    pub fn setpriority(&self, which: i32, who: i32, prio: i32) -> Result<(), Errno> {
        self.priority_call(PM_SETPRIORITY, which, who, prio).map(drop)
    }

    /// nice(incr): adds `incr` to the caller's nice value (clamped to its range, as POSIX says);
    /// returns the new value.
    pub fn nice(&self, incr: i32) -> Result<i32, Errno> {
        let now = self.priority_call(PM_GETPRIORITY, PRIO_PROCESS, 0, 0)?;
        let wanted = now.saturating_add(incr).clamp(PRIO_MIN, PRIO_MAX);
        self.setpriority(PRIO_PROCESS, 0, wanted)?;
        Ok(wanted)
    }

    fn priority_call(&self, m_type: kernel_sim::MsgType, which: i32, who: i32, prio: i32) -> Result<i32, Errno> {
        let reply = self.call(PM, Message::with(m_type, &PriorityRequest { which, who, prio }))?;
        Ok(reply.get::<PriorityReply>().nice)
    }
}

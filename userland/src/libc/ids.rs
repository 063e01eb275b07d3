//! Id, group and session calls (to pm): getgid, geteuid, getegid, seteuid, setegid, getgroups,
//! setgroups, setsid, getpgrp, getsid, getpgid, setpgid.

use super::Sys;
use kernel_sim::{Message, MsgType};
use os::errno::Errno;
use os::proto::pm::*;
use os::proto::{PM, Pid};

impl Sys<'_> {
    fn id_call(&self, m_type: MsgType, msg: Message) -> Result<i32, Errno> {
        let mut msg = msg;
        msg.m_type = m_type;
        Ok(self.call(PM, msg)?.get::<IdReply>().id)
    }

    /// The real group id.
    pub fn getgid(&self) -> Result<u32, Errno> {
        self.id_call(PM_GETGID, Message::new(0)).map(|id| id as u32)
    }

    /// The effective user id.
    pub fn geteuid(&self) -> Result<u32, Errno> {
        self.id_call(PM_GETEUID, Message::new(0)).map(|id| id as u32)
    }

    /// The effective group id.
    pub fn getegid(&self) -> Result<u32, Errno> {
        self.id_call(PM_GETEGID, Message::new(0)).map(|id| id as u32)
    }

    /// Sets the effective user id (root, or back to the real one).
    pub fn seteuid(&self, uid: u32) -> Result<(), Errno> {
        self.call(PM, Message::with(PM_SETEUID, &SetIdRequest { id: uid })).map(drop)
    }

    /// Sets the effective group id (root, or back to the real one).
    pub fn setegid(&self, gid: u32) -> Result<(), Errno> {
        self.call(PM, Message::with(PM_SETEGID, &SetIdRequest { id: gid })).map(drop)
    }

    /// The supplementary groups (`size` 0: only their number, as an empty list of that length's
    /// count).
    pub fn getgroups(&self, size: i32) -> Result<(u32, Vec<u32>), Errno> {
        let r = self.call(PM, Message::with(PM_GETGROUPS, &GetgroupsRequest { size }))?.get::<GroupsPayload>();
        let listed = if size == 0 { 0 } else { (r.count as usize).min(NGROUPS_MAX) };
        Ok((r.count, r.groups[..listed].to_vec()))
    }

    /// Sets the supplementary groups (root only; at most NGROUPS_MAX, else EINVAL).
    pub fn setgroups(&self, groups: &[u32]) -> Result<(), Errno> {
        if groups.len() > NGROUPS_MAX {
            return Err(Errno::EINVAL);
        }
        let mut list = [0u32; NGROUPS_MAX];
        list[..groups.len()].copy_from_slice(groups);
        let request = GroupsPayload { count: groups.len() as u32, groups: list };
        self.call(PM, Message::with(PM_SETGROUPS, &request)).map(drop)
    }

    /// Makes a new session (and group) led by the caller; returns its id.
    pub fn setsid(&self) -> Result<Pid, Errno> {
        self.id_call(PM_SETSID, Message::new(0))
    }

    /// The caller's process group.
    pub fn getpgrp(&self) -> Result<Pid, Errno> {
        self.id_call(PM_GETPGRP, Message::new(0))
    }

    /// `pid`'s session (0: the caller's).
    pub fn getsid(&self, pid: Pid) -> Result<Pid, Errno> {
        self.id_call(PM_GETSID, Message::with(0, &PidRequest { pid }))
    }

    /// `pid`'s process group (0: the caller's).
    pub fn getpgid(&self, pid: Pid) -> Result<Pid, Errno> {
        self.id_call(PM_GETPGID, Message::with(0, &PidRequest { pid }))
    }

    /// Moves `pid` (0: the caller) into group `pgid` (0: its own pid).
    pub fn setpgid(&self, pid: Pid, pgid: Pid) -> Result<(), Errno> {
        self.call(PM, Message::with(PM_SETPGID, &SetpgidRequest { pid, pgid })).map(drop)
    }
}

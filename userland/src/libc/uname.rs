//! The system's names (pm's uname, MINIX's SYSUNAME) and the node name root may set.

use super::Sys;
use kernel_sim::Message;
use kernel_sim::memory::Access;
use os::errno::Errno;
use os::proto::PM;
use os::proto::pm::{PM_SYSUNAME, UTSNAME_FIELD, UTSNAME_FIELDS, UnameRequest};

/// What uname gives (`struct utsname`), each name without its NUL padding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Utsname {
    /// The system's name.
    pub sysname: String,
    /// The node's name (sethostname sets it).
    pub nodename: String,
    /// The release.
    pub release: String,
    /// The version.
    pub version: String,
    /// The machine.
    pub machine: String,
}

/// Where uname's names are staged in the scratch buffer.
const UNAME_OFFSET: u64 = 0;

impl Sys<'_> {
    /// The system's names.
    pub fn uname(&self) -> Result<Utsname, Errno> {
        let len = (UTSNAME_FIELD * UTSNAME_FIELDS) as u64;
        let addr = self.stage(UNAME_OFFSET, &[])?;
        let grant = self.grant(PM, addr, len, Access::Write);
        self.call(PM, Message::with(PM_SYSUNAME, &UnameRequest { set: 0, grant: grant.id, len }))?;
        let mut raw = vec![0u8; len as usize];
        self.proc().mem_read(addr, &mut raw)?;
        let mut names = raw.chunks(UTSNAME_FIELD).map(|field| {
            let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
            String::from_utf8_lossy(&field[..end]).into_owned()
        });
        let mut next = || names.next().unwrap_or_default();
        Ok(Utsname { sysname: next(), nodename: next(), release: next(), version: next(), machine: next() })
    }

    /// Sets the node name uname gives (root only; 1 to 64 bytes, no NUL).
    pub fn sethostname(&self, name: &[u8]) -> Result<(), Errno> {
        let addr = self.stage(UNAME_OFFSET, name)?;
        let grant = self.grant(PM, addr, name.len() as u64, Access::Read);
        let request = UnameRequest { set: 1, grant: grant.id, len: name.len() as u64 };
        self.call(PM, Message::with(PM_SYSUNAME, &request)).map(drop)
    }
}

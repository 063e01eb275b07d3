//! mfs's call table: request type -> `do_*` handler, sorted by type (vfs's REQ_* requests).

use super::state::MfsState;
use super::{link, mount, path, read, stat};
use crate::proto::fs::*;
use crate::task::Call;

/// Every request mfs serves.
pub static CALLS: &[Call<MfsState>] = &[
    Call { m_type: REQ_READSUPER, name: "req_readsuper", handler: mount::do_readsuper },
    Call { m_type: REQ_LOOKUP, name: "req_lookup", handler: path::do_lookup },
    Call { m_type: REQ_CREATE, name: "req_create", handler: link::do_create },
    Call { m_type: REQ_MKDIR, name: "req_mkdir", handler: link::do_mkdir },
    Call { m_type: REQ_UNLINK, name: "req_unlink", handler: link::do_unlink },
    Call { m_type: REQ_RMDIR, name: "req_rmdir", handler: link::do_rmdir },
    Call { m_type: REQ_RENAME, name: "req_rename", handler: link::do_rename },
    Call { m_type: REQ_LINK, name: "req_link", handler: link::do_link },
    Call { m_type: REQ_READ, name: "req_read", handler: read::do_read },
    Call { m_type: REQ_WRITE, name: "req_write", handler: read::do_write },
    Call { m_type: REQ_FTRUNC, name: "req_ftrunc", handler: read::do_ftrunc },
    Call { m_type: REQ_STAT, name: "req_stat", handler: stat::do_stat },
    Call { m_type: REQ_CHMOD, name: "req_chmod", handler: stat::do_chmod },
    Call { m_type: REQ_CHOWN, name: "req_chown", handler: stat::do_chown },
    Call { m_type: REQ_GETDENTS, name: "req_getdents", handler: read::do_getdents },
    Call { m_type: REQ_PUTNODE, name: "req_putnode", handler: mount::do_putnode },
    Call { m_type: REQ_PEEK, name: "req_peek", handler: read::do_peek },
    Call { m_type: REQ_STATVFS, name: "req_statvfs", handler: stat::do_statvfs },
    Call { m_type: REQ_SLINK, name: "req_slink", handler: link::do_slink },
    Call { m_type: REQ_RDLINK, name: "req_rdlink", handler: read::do_rdlink },
    Call { m_type: REQ_SYNC, name: "req_sync", handler: mount::do_sync },
    Call { m_type: REQ_UTIME, name: "req_utime", handler: stat::do_utime },
    Call { m_type: REQ_MKNOD, name: "req_mknod", handler: link::do_mknod },
    Call { m_type: REQ_UNMOUNT, name: "req_unmount", handler: mount::do_unmount },
    Call { m_type: REQ_PATHNAME, name: "req_pathname", handler: path::do_pathname },
];

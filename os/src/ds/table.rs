//! ds's call table: message type -> `do_*` handler, sorted by type.

use super::state::DsState;
use super::{store, subscribe};
use crate::proto::ds::*;
use crate::task::Call;

/// Every call ds serves.
pub static CALLS: &[Call<DsState>] = &[
    Call { m_type: DS_PUBLISH, name: "ds_publish", handler: store::do_publish },
    Call { m_type: DS_RETRIEVE, name: "ds_retrieve", handler: store::do_retrieve },
    Call { m_type: DS_DELETE, name: "ds_delete", handler: store::do_delete },
    Call { m_type: DS_SUBSCRIBE, name: "ds_subscribe", handler: subscribe::do_subscribe },
    Call { m_type: DS_CHECK, name: "ds_check", handler: subscribe::do_check },
];

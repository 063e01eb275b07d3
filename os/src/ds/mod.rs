//! ds, the data store: names -> numbers or endpoints, owned by their publishers, with
//! subscriptions (MINIX_FLOWS: "ds"). rs publishes every service's label -> endpoint at each
//! (re)start, so a service that comes back under a new endpoint (a stateless driver) is found
//! again by name, and its subscribers are notified.
//!
//! Who may call: any process the manifest lets reach ds (system services; rs's publishes arrive
//! asynchronously, rs never waits for ds). Only an entry's owner or rs may replace or delete it.
//!
//! Files: `state.rs` (entries, subscriptions, pending changes; their invariants), `table.rs`
//! (message type -> handler), `store.rs` (publish, retrieve, delete), `subscribe.rs` (subscribe,
//! check, and the notifications a change sends).

pub mod check;
pub mod state;
pub mod store;
pub mod subscribe;
pub mod table;

use crate::task::{Call, Server};
use kernel_sim::Proc;
use state::DsState;

/// The data store.
pub struct Ds;

impl Server for Ds {
    const NAME: &'static str = "ds";
    type State = DsState;

    fn calls() -> &'static [Call<DsState>] {
        table::CALLS
    }

    fn check_invariants(state: &mut DsState) -> Vec<String> {
        state.check_invariants()
    }

    fn boot(_proc: &Proc) -> DsState {
        DsState::empty()
    }

    fn fresh(_proc: &Proc) -> DsState {
        DsState::empty()
    }
}

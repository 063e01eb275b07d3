//! A broken invariant, as a server's loop-top self-check and the testbed's consistency checker
//! report it.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One broken invariant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// Which invariant (a short stable name, e.g. `vm.frame-accounting`).
    pub invariant: &'static str,
    /// What exactly is wrong.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.invariant, self.detail)
    }
}

/// `invariant` broken, as `detail` says.
pub fn violation(invariant: &'static str, detail: String) -> Violation {
    Violation { invariant, detail }
}

//! State classes: how far the effect of a write to server state can reach.
//!
//! Every field of a server's state is declared with a [`StateClass`], and every write carries the
//! *effective* class it was made under (a [`crate::ProcTable`] write keyed by somebody other than
//! the requester is global even though the table is process-local). The order is the order of harm:
//! `RequestLocal < ProcessLocal < Global`, so the class of a set of writes is their maximum.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The reach of a piece of server state, ordered from harmless to dangerous for rollback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StateClass {
    /// Scratch data of the current request, never seen by another request.
    RequestLocal,
    /// Data that belongs to the requesting user process (its process entry, its file descriptors).
    ProcessLocal,
    /// Data shared across processes (pid allocator, free frame list, inode table).
    Global,
}

impl StateClass {
    /// Every class, from the least to the most harmful.
    pub const ALL: [StateClass; 3] = [Self::RequestLocal, Self::ProcessLocal, Self::Global];

    /// The stable name used in reports and JSON ("request-local", "process-local", "global").
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RequestLocal => "request-local",
            Self::ProcessLocal => "process-local",
            Self::Global => "global",
        }
    }
}

impl fmt::Display for StateClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worse_classes_compare_greater() {
        assert!(StateClass::RequestLocal < StateClass::ProcessLocal);
        assert!(StateClass::ProcessLocal < StateClass::Global);
        let worst = [StateClass::ProcessLocal, StateClass::Global, StateClass::RequestLocal].into_iter().max();
        assert_eq!(worst, Some(StateClass::Global));
    }

    #[test]
    fn display_and_serde_use_the_kebab_case_names() {
        for class in StateClass::ALL {
            assert_eq!(class.to_string(), class.as_str());
            let json = serde_json::to_string(&class).unwrap();
            assert_eq!(json, format!("\"{}\"", class.as_str()));
            assert_eq!(serde_json::from_str::<StateClass>(&json).unwrap(), class);
        }
        assert_eq!(StateClass::ProcessLocal.to_string(), "process-local");
    }
}

//! The recovery-class table: per entry point (server, message type), what a request can change,
//! where, and so how a crash in it is recovered.
//!
//! The static analysis (the `analysis` crate) derives it from the servers' source; the runtime
//! reads it (postcard) and never tracks dependencies itself. JSON is the form people read.
//!
//! Invariant: a row's `class` is the worst class over every component it may write, local and
//! through its fused IPC; a send site's `class` is the worst class the receiving handler (and
//! everything it calls, transitively) may write.

use crate::StateClass;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// How a crash in an entry point is recovered (DESIGN: R, P, G).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RecoveryClass {
    /// Request-local: roll back the crashed server, reply an error, go on.
    R,
    /// Process-local: roll back, and end the requesting process.
    P,
    /// Global: fail-stop, unless no state-changing IPC has left the window yet.
    G,
}

impl RecoveryClass {
    /// The recovery class of writes of a state class.
    pub fn of(class: StateClass) -> RecoveryClass {
        match class {
            StateClass::RequestLocal => RecoveryClass::R,
            StateClass::ProcessLocal => RecoveryClass::P,
            StateClass::Global => RecoveryClass::G,
        }
    }
}

impl fmt::Display for RecoveryClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecoveryClass::R => "R",
            RecoveryClass::P => "P",
            RecoveryClass::G => "G",
        })
    }
}

/// Written fields of one component, counted by class (the fusing paper's Table 4 columns).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassCounts {
    /// Request-local fields written.
    pub request_local: u32,
    /// Process-local fields written.
    pub process_local: u32,
    /// Global fields written.
    pub global: u32,
}

impl ClassCounts {
    /// The worst class counted, `None` when nothing is written.
    pub fn worst(&self) -> Option<RecoveryClass> {
        if self.global > 0 {
            Some(RecoveryClass::G)
        } else if self.process_local > 0 {
            Some(RecoveryClass::P)
        } else if self.request_local > 0 {
            Some(RecoveryClass::R)
        } else {
            None
        }
    }
}

/// An outgoing state-changing IPC (or kernel call) of an entry point, with what it may change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendSite {
    /// The receiving component (`vm`, `vfs`, `kernel`...).
    pub to: String,
    /// The message type sent (kernel calls: the call's name in `call`, type 0).
    pub m_type: i32,
    /// The call's name.
    pub call: String,
    /// The worst class the receiving side may write for it.
    pub class: RecoveryClass,
    /// Where it is in the source (`file:line`).
    pub site: String,
    /// The request that undoes it (its declared inverse, checked by the analysis: it exists, is
    /// fused, and writes at least what this one writes), when it has one.
    pub inverse: Option<String>,
}

/// One entry point.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableRow {
    /// The server that receives the request.
    pub server: String,
    /// Its message type.
    pub m_type: i32,
    /// The call's name (`fork`, `vm_fork`...).
    pub call: String,
    /// The handler it dispatches to (`mx_pm_do_fork`).
    pub handler: String,
    /// Components it depends on through fused IPC.
    pub depends_on: Vec<String>,
    /// Per component (the server itself included), the fields it may write, by class.
    pub writes: BTreeMap<String, ClassCounts>,
    /// The names of the written fields with their effective class, per component.
    pub fields: BTreeMap<String, Vec<(String, StateClass)>>,
    /// The worst class of the server's own writes.
    pub local_class: RecoveryClass,
    /// Its outgoing state-changing IPC, in source order.
    pub send_sites: Vec<SendSite>,
    /// The class of the whole entry point.
    pub class: RecoveryClass,
}

/// The whole table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryTable {
    /// Where it came from (`hand-written`, or the analysis and a digest of the source it read).
    pub provenance: String,
    /// The rows, sorted by server then message type.
    pub rows: Vec<TableRow>,
}

/// A table file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableError {
    /// Which file.
    pub file: String,
    /// What is wrong, with the line and column (JSON) or byte offset (postcard) where known.
    pub message: String,
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

impl std::error::Error for TableError {}

impl RecoveryTable {
    /// The row of `server`'s entry point for `m_type`.
    pub fn lookup(&self, server: &str, m_type: i32) -> Option<&TableRow> {
        self.rows.iter().find(|r| r.server == server && r.m_type == m_type)
    }

    /// The table as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a table always serialises")
    }

    /// Reads a JSON table; errors name the file, line and column.
    pub fn from_json(text: &str, file: &str) -> Result<RecoveryTable, TableError> {
        serde_json::from_str(text).map_err(|e| TableError {
            file: file.to_string(),
            message: format!("line {} column {}: {e}", e.line(), e.column()),
        })
    }

    /// The table in postcard, for the runtime.
    pub fn to_postcard(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("a table always serialises")
    }

    /// Reads a postcard table; a truncated or corrupt file is an error naming it.
    pub fn from_postcard(bytes: &[u8], file: &str) -> Result<RecoveryTable, TableError> {
        match postcard::take_from_bytes::<RecoveryTable>(bytes) {
            Ok((table, [])) => Ok(table),
            Ok((_, rest)) => Err(TableError {
                file: file.to_string(),
                message: format!("{} trailing bytes after the table at byte {}", rest.len(), bytes.len() - rest.len()),
            }),
            Err(postcard::Error::DeserializeUnexpectedEnd) => Err(TableError {
                file: file.to_string(),
                message: format!("truncated: the table ends early, at byte {} (the end of the file)", bytes.len()),
            }),
            Err(e) => Err(TableError {
                file: file.to_string(),
                message: format!("not a recovery table ({e}), somewhere in its {} bytes", bytes.len()),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> RecoveryTable {
        RecoveryTable {
            provenance: "test".into(),
            rows: vec![TableRow {
                server: "pm".into(),
                m_type: 2,
                call: "fork".into(),
                handler: "mx_pm_do_fork".into(),
                depends_on: vec!["vm".into(), "vfs".into()],
                writes: BTreeMap::from([("pm".into(), ClassCounts { request_local: 0, process_local: 1, global: 1 })]),
                fields: BTreeMap::new(),
                local_class: RecoveryClass::G,
                send_sites: vec![SendSite {
                    to: "vm".into(),
                    m_type: 0xC02,
                    call: "vm_fork".into(),
                    class: RecoveryClass::G,
                    site: "os/src/pm/forkexit.rs:40".into(),
                    inverse: None,
                }],
                class: RecoveryClass::G,
            }],
        }
    }

    #[test]
    fn json_and_postcard_round_trip() {
        let t = table();
        assert_eq!(RecoveryTable::from_json(&t.to_json(), "t.json").unwrap(), t);
        assert_eq!(RecoveryTable::from_postcard(&t.to_postcard(), "t.bin").unwrap(), t);
        assert_eq!(t.lookup("pm", 2).unwrap().call, "fork");
        assert!(t.lookup("pm", 3).is_none());
    }

    #[test]
    fn bad_files_are_named_with_where() {
        let e = RecoveryTable::from_json("{\n  \"provenance\": 3\n}", "bad.json").unwrap_err();
        assert!(e.to_string().starts_with("bad.json: line 2 column"), "{e}");
        let bytes = table().to_postcard();
        let e = RecoveryTable::from_postcard(&bytes[..bytes.len() / 2], "cut.bin").unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("cut.bin: truncated: the table ends early, at byte {} (the end of the file)", bytes.len() / 2)
        );
        let mut longer = bytes.clone();
        longer.push(7);
        let e = RecoveryTable::from_postcard(&longer, "long.bin").unwrap_err();
        assert_eq!(e.to_string(), format!("long.bin: 1 trailing bytes after the table at byte {}", bytes.len()));
    }

    #[test]
    fn counts_know_their_worst_class() {
        assert_eq!(ClassCounts::default().worst(), None);
        assert_eq!(ClassCounts { request_local: 2, process_local: 1, global: 0 }.worst(), Some(RecoveryClass::P));
        assert_eq!(RecoveryClass::of(StateClass::Global), RecoveryClass::G);
    }
}

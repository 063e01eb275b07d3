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

/// Items as a violation lists them: `16, 18`, or `none`.
pub fn listed<T: fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    let items: Vec<String> = items.into_iter().map(|i| i.to_string()).collect();
    if items.is_empty() { "none".to_string() } else { items.join(", ") }
}

/// Clauses joined as a sentence joins them: `a`, `a and b`, `a, b and c`.
pub fn and_joined(clauses: &[String]) -> String {
    match clauses {
        [] => String::new(),
        [one] => one.clone(),
        [head @ .., last] => format!("{} and {last}", head.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_read_as_people_write_them() {
        assert_eq!(listed([16, 18]), "16, 18");
        assert_eq!(listed(Vec::<u32>::new()), "none");
        assert_eq!(and_joined(&["a".into()]), "a");
        assert_eq!(and_joined(&["a".into(), "b".into(), "c".into()]), "a, b and c");
    }
}

//! Errors of the analysis: each names the file and, where known, the line and column of the input
//! that could not be used.

use std::fmt;

/// Input the analysis cannot use: a file it cannot read, a source file that does not parse, a
/// call table or state declaration it cannot make sense of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalysisError {
    /// The file, as the outputs name it (`os/src/pm/table.rs`).
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl AnalysisError {
    /// An error about a whole file.
    pub fn file(file: impl Into<String>, message: impl Into<String>) -> AnalysisError {
        AnalysisError { file: file.into(), line: None, column: None, message: message.into() }
    }

    /// An error at a position in a file.
    pub fn at(file: impl Into<String>, line: usize, column: usize, message: impl Into<String>) -> AnalysisError {
        AnalysisError { file: file.into(), line: Some(line), column: Some(column), message: message.into() }
    }
}

impl fmt::Display for AnalysisError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(f, "{}:{line}:{column}: {}", self.file, self.message),
            (Some(line), None) => write!(f, "{}:{line}: {}", self.file, self.message),
            _ => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for AnalysisError {}

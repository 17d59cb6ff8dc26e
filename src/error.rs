//! Errors the library reports to its users.

use std::path::PathBuf;

/// A scenario that cannot be used: names the file (or `--set`), the line and the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{place}: {message}")]
pub struct ScenarioError {
    /// "file:line: key", as much of it as is known.
    pub place: String,
    pub message: String,
}

/// A problem while writing outputs.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("cannot write {path}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}")]
    Csv { path: PathBuf, source: csv::Error },
    /// An `--out` that cannot be used: bad input.
    #[error("--out {path}: {message}")]
    BadOut { path: PathBuf, message: String },
}

/// Shard folders that cannot be merged into one run: the message names the folders.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ShardError(pub String);

/// A run setting (a flag or its default from the scenario) that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SettingError(pub String);

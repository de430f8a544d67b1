//! Errors that stop the agent from starting.

use std::path::{Path, PathBuf};

/// Why the agent cannot start or serve.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// A setting it cannot work with.
    #[error("{0}")]
    Config(String),
    /// A file or directory it needs.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Http(String),
}

impl AgentError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        AgentError::Io { path: path.to_path_buf(), source }
    }
}

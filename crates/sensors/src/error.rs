//! Error type shared by every reader in the crate.

use std::io;
use std::path::{Path, PathBuf};

/// Why a sensor could not be read.
///
/// Readers never turn one of these into a zero: a caller that gets an error reports the sensor as
/// unavailable, with [`std::fmt::Display`] of the error as the reason.
#[derive(Debug, thiserror::Error)]
pub enum SensorError {
    /// The file exists but the current user may not read it (e.g. RAPL `energy_uj` is root-only on
    /// kernels patched for CVE-2020-8694).
    #[error("permission denied reading {}", path.display())]
    PermissionDenied {
        /// File that could not be read.
        path: PathBuf,
    },
    /// The file or directory does not exist.
    #[error("{} does not exist", path.display())]
    NotFound {
        /// Missing path.
        path: PathBuf,
    },
    /// Any other I/O failure.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// Path being read.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: io::Error,
    },
    /// The content was read but is not what the format says it should be.
    #[error("cannot parse {what} from {context}: {value:?}")]
    Parse {
        /// What was expected (e.g. "energy_uj").
        what: &'static str,
        /// Where it came from (path or line description).
        context: String,
        /// The offending text (truncated to 80 characters).
        value: String,
    },
    /// An external command could not be run or failed.
    #[error("command `{command}` failed: {reason}")]
    Command {
        /// Command line that was run.
        command: String,
        /// Why it failed.
        reason: String,
    },
    /// The sensor exists in principle but gives no usable value (e.g. an empty log, a missing field).
    #[error("{0}")]
    Unavailable(String),
}

impl SensorError {
    /// Classify an I/O error on `path`, keeping "permission denied" and "not found" distinct.
    pub fn from_io(path: &Path, source: io::Error) -> Self {
        match source.kind() {
            io::ErrorKind::PermissionDenied => SensorError::PermissionDenied { path: path.to_path_buf() },
            io::ErrorKind::NotFound => SensorError::NotFound { path: path.to_path_buf() },
            _ => SensorError::Io { path: path.to_path_buf(), source },
        }
    }

    /// Build a [`SensorError::Parse`], truncating the offending value.
    pub fn parse(what: &'static str, context: impl Into<String>, value: &str) -> Self {
        let value: String = value.chars().take(80).collect();
        SensorError::Parse { what, context: context.into(), value }
    }

    /// True for [`SensorError::PermissionDenied`].
    pub fn is_permission_denied(&self) -> bool {
        matches!(self, SensorError::PermissionDenied { .. })
    }
}

/// Result alias for this crate.
pub type Result<T, E = SensorError> = std::result::Result<T, E>;

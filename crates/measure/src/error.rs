//! Why a benchmark could not run or its row could not be written.

use std::path::PathBuf;

use infergate_runtime::BackendError;

/// A benchmark failure; each message says what to do about it. Missing sensors are not errors
/// (they leave the energy empty, see [`crate::EnergyReport`]).
#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    /// `runs` was 0.
    #[error("the number of measured runs must be at least 1 (--runs)")]
    NoRuns,
    /// The model's input has a dynamic dimension other than the batch.
    #[error(
        "input `{input}` has shape {shape:?}: dimension {index} is dynamic and is not the batch, so no synthetic \
         input can be built for it"
    )]
    DynamicInput {
        /// The input's name.
        input: String,
        /// Its declared shape (`-1` for a dynamic dimension).
        shape: Vec<i64>,
        /// The offending dimension.
        index: usize,
    },
    /// An inference failed.
    #[error("{phase} inference {index} failed: {source}")]
    Inference {
        /// `warm-up` or `measured`.
        phase: &'static str,
        /// 0-based index of the run within its phase.
        index: usize,
        /// The runtime's error.
        #[source]
        source: BackendError,
    },
    /// The model file cannot be read or is not ONNX.
    #[error(transparent)]
    Model(#[from] infergate_profile::ProfileError),
    /// A device name that cannot go into a CSV row or a file name.
    #[error("invalid device name {0:?}: use letters, digits, `_`, `.` and `-` only (e.g. jetson_nano)")]
    DeviceName(String),
    /// The CSV file exists with another header.
    #[error(
        "{} already has another header ({found}); refusing to append to it so that its rows stay consistent: \
         write to another file (infergate bench --csv PATH)",
        path.display()
    )]
    CsvHeader {
        /// The file.
        path: PathBuf,
        /// The start of its first line.
        found: String,
    },
    /// Reading or writing a file failed (the message is complete: it is not repeated as a source).
    #[error("cannot read or write {}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
    /// A CSV row could not be encoded.
    #[error("cannot encode the CSV row: {0}")]
    Csv(String),
}

impl MeasureError {
    /// [`MeasureError::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        MeasureError::Io { path: path.into(), error }
    }
}

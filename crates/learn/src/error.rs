//! The one error type of the crate.

use std::path::PathBuf;

/// What the user should do when a saved model no longer fits: said in every artifact error.
pub(crate) const RETRAIN: &str = "retrain with `infergate route train`";

/// Everything that can go wrong while building datasets, training, predicting, or saving and
/// loading artifacts. Messages say what happened and, where there is one, what to do next.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A dataset was built from inconsistent parts (row lengths, label count, NaN values…).
    #[error("invalid dataset: {0}")]
    InvalidDataset(String),
    /// A learner was asked for something the data cannot give (labels not 0/1, too few rows…).
    #[error("cannot train: {0}")]
    Training(String),
    /// A split or cross-validation request that cannot be met (k larger than the rows…).
    #[error("invalid split: {0}")]
    InvalidSplit(String),
    /// A learner name that is not one of the valid names for the task.
    #[error("unknown learner `{name}` for {task}: valid names are {valid}")]
    UnknownLearner {
        /// The name that was given.
        name: String,
        /// The task it was given for (`classification` or `regression`).
        task: &'static str,
        /// The valid names, comma-separated.
        valid: String,
    },
    /// A row with a different number of features than the model was trained on.
    #[error(
        "the model expects {expected} features but the row has {got}: the feature schema changed since training; \
         {RETRAIN}"
    )]
    FeatureCount {
        /// Number of features the model was trained on.
        expected: usize,
        /// Number of values in the row.
        got: usize,
    },
    /// Feature names that differ from the ones the model was trained on.
    #[error("the model was trained on features [{expected}] but was given [{got}]; {RETRAIN}")]
    FeatureSchema {
        /// The model's feature names, comma-separated.
        expected: String,
        /// The given names, comma-separated.
        got: String,
    },
    /// A feature value that is NaN or infinite.
    #[error("feature {index} is {value}: every feature must be a finite number")]
    NonFiniteFeature {
        /// Position of the feature in the row.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// An error reported by LightGBM.
    #[error("LightGBM: {0}")]
    LightGbm(String),
    /// Reading or writing an artifact file failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done (`reading`, `writing`, …).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An artifact written by another format or version of this crate.
    #[error("{path}: model format `{found}` is not supported (this build reads `{expected}`); {RETRAIN}")]
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
        /// The format string found in the file (empty when there is none).
        found: String,
        /// The format this build reads.
        expected: &'static str,
    },
    /// An artifact that is not valid JSON or whose model payload is damaged.
    #[error("{path}: the model file is damaged ({reason}); restore it from a backup or {RETRAIN}")]
    CorruptArtifact {
        /// The file (empty when the artifact did not come from a file).
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// An artifact holds a model for a different task than the caller asked for.
    #[error("the artifact holds a {found} model, not a {wanted} one; {RETRAIN}")]
    WrongTask {
        /// The task the caller wanted.
        wanted: &'static str,
        /// The task the artifact holds.
        found: &'static str,
    },
}

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Checks a row before prediction: the length the model was trained on, finite values.
#[inline]
pub(crate) fn check_row(row: &[f64], expected: usize) -> Result<()> {
    if row.len() != expected {
        return Err(Error::FeatureCount { expected, got: row.len() });
    }
    for (index, &value) in row.iter().enumerate() {
        if !value.is_finite() {
            return Err(Error::NonFiniteFeature { index, value });
        }
    }
    Ok(())
}

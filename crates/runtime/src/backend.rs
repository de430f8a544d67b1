//! The [`Backend`] trait: run an f32 tensor through a loaded model.

use serde::Serialize;
use std::fmt;
use std::time::Duration;

/// Which inference library a backend uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// ONNX Runtime through the `ort` crate.
    Ort,
    /// The pure-Rust `tract` engine.
    Tract,
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BackendKind::Ort => "ort",
            BackendKind::Tract => "tract",
        })
    }
}

/// A dense f32 tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// Row-major values; `data.len()` is the product of `shape`.
    pub data: Vec<f32>,
}

pub use infergate_core::ModelSignature as ModelIo;

/// The result of one run: the output tensor and where the time went.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// The model's first output.
    pub output: Tensor,
    /// Time spent waiting for a free session.
    pub queued: Duration,
    /// Time spent inside the inference library.
    pub compute: Duration,
}

/// An inference failure.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BackendError {
    /// The input does not fit the model (client's mistake).
    #[error("input shape {got:?} does not match the model input {expected:?}")]
    BadShape {
        /// What the client sent.
        got: Vec<usize>,
        /// What the model takes (`-1` = any).
        expected: Vec<i64>,
    },
    /// The library failed to load the model.
    #[error("could not load model {path}: {message}")]
    Load {
        /// File that failed.
        path: String,
        /// The library's explanation.
        message: String,
    },
    /// The library failed during inference.
    #[error("inference failed: {0}")]
    Run(String),
}

/// A loaded model that can run batches of f32 inputs. Implementations are thread-safe.
pub trait Backend: Send + Sync {
    /// Which library this is.
    fn kind(&self) -> BackendKind;
    /// The model's input and output description.
    fn io(&self) -> &ModelIo;
    /// Runs `data` (shape `shape`, batch first) and returns the first output.
    fn run(&self, shape: &[usize], data: &[f32]) -> Result<RunOutput, BackendError>;
}

/// Checks `shape` against the declared `expected` shape (`-1` matches anything).
pub fn check_shape(shape: &[usize], data_len: usize, expected: &[i64]) -> Result<(), BackendError> {
    let dims_ok = shape.len() == expected.len()
        && shape.iter().zip(expected).all(|(&s, &e)| e < 0 || s as i64 == e)
        && shape.first().is_some_and(|&b| b > 0);
    let len_ok = shape.iter().product::<usize>() == data_len;
    if dims_ok && len_ok {
        Ok(())
    } else {
        Err(BackendError::BadShape { got: shape.to_vec(), expected: expected.to_vec() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_check() {
        let exp = [-1, 3, 224, 224];
        assert!(check_shape(&[2, 3, 224, 224], 2 * 3 * 224 * 224, &exp).is_ok());
        assert!(check_shape(&[2, 3, 224, 224], 5, &exp).is_err());
        assert!(check_shape(&[0, 3, 224, 224], 0, &exp).is_err());
        assert!(check_shape(&[1, 224, 224, 3], 3 * 224 * 224, &exp).is_err());
        assert!(check_shape(&[3, 224, 224], 3 * 224 * 224, &exp).is_err());
    }
}

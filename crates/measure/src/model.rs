//! What is known of the model before it runs: its name, size and static profile.

use std::path::{Path, PathBuf};

use infergate_energy::Features;
use infergate_profile::{profile_file, ModelProfile, ProfileError};
use serde::Serialize;

use crate::error::MeasureError;

/// The benchmarked model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelInfo {
    /// File stem (`mobilenetv2-12-fp32`).
    pub name: String,
    /// The file.
    pub path: PathBuf,
    /// File length, MB (10^6 bytes).
    pub size_mb: f64,
    /// Parameters, millions.
    pub params_m: Option<f64>,
    /// FLOPs per inference at batch 1, billions.
    pub gflops: Option<f64>,
    /// Multiply-accumulates per inference at batch 1, billions.
    pub gmacs: Option<f64>,
    /// The structure the energy predictor uses (layers, input size, kernels, depthwise).
    pub features: Option<Features>,
    /// Why the model could not be profiled (it may still run: the profile columns stay empty).
    pub profile_error: Option<String>,
}

impl ModelInfo {
    /// Reads and profiles the model at `path`.
    ///
    /// A file that cannot be read or is not ONNX is an error; an ONNX model the profiler cannot
    /// follow (an op it does not know, say) is not — its profile columns stay empty and
    /// `profile_error` says why.
    pub fn from_file(path: &Path) -> Result<ModelInfo, MeasureError> {
        let len = std::fs::metadata(path).map_err(|e| MeasureError::io(path, e))?.len();
        let (profile, profile_error) = match profile_file(path) {
            Ok(p) => (Some(p), None),
            Err(ProfileError::Io { path, source }) => return Err(MeasureError::Io { path, error: source }),
            Err(e @ ProfileError::NotOnnx(_)) => return Err(e.into()),
            Err(e) => (None, Some(e.to_string())),
        };
        Ok(Self::new(path, len, profile.as_ref(), profile_error))
    }

    /// A model of `len` bytes at `path` with an optional profile.
    pub fn new(path: &Path, len: u64, profile: Option<&ModelProfile>, profile_error: Option<String>) -> ModelInfo {
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into());
        ModelInfo {
            name,
            path: path.to_path_buf(),
            size_mb: len as f64 / 1e6,
            params_m: profile.map(|p| p.params as f64 / 1e6),
            gflops: profile.map(|p| p.flops as f64 / 1e9),
            gmacs: profile.map(|p| p.macs as f64 / 1e9),
            features: profile.map(Features::from_profile),
            profile_error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_junk_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.onnx");
        assert!(matches!(ModelInfo::from_file(&missing), Err(MeasureError::Io { .. })));
        let junk = dir.path().join("junk.onnx");
        std::fs::write(&junk, b"not a model \xff\xff\xff").unwrap();
        let err = ModelInfo::from_file(&junk).unwrap_err();
        assert!(err.to_string().contains("not an ONNX model"), "{err}");
    }
}

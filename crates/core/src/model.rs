//! How a registered model is described: its task, its preprocessing and its labels.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What the model's output means to a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Task {
    /// Plain ImageNet classification: `label` is the top-1 class name.
    #[default]
    Imagenet,
    /// Cat or dog: for an ImageNet model, classes 281–285 are summed as `cat` and 151–268 as
    /// `dog`; a two-class model labelled `cat` and `dog` (a trained head) answers directly.
    CatDog,
}

/// The error returned when a task name is not one we know.
#[derive(Debug, thiserror::Error)]
#[error("unknown task {0:?}: expected `imagenet` or `cat-dog`")]
pub struct TaskParseError(pub String);

impl FromStr for Task {
    type Err = TaskParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "imagenet" => Ok(Task::Imagenet),
            "cat-dog" | "catdog" | "cat_dog" => Ok(Task::CatDog),
            other => Err(TaskParseError(other.to_string())),
        }
    }
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Task::Imagenet => "imagenet",
            Task::CatDog => "cat-dog",
        })
    }
}

/// Memory layout of the model's input tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// `[batch, channel, height, width]` (PyTorch/ONNX convention).
    #[default]
    Nchw,
    /// `[batch, height, width, channel]` (TensorFlow convention).
    Nhwc,
}

impl FromStr for Layout {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "nchw" => Ok(Layout::Nchw),
            "nhwc" => Ok(Layout::Nhwc),
            other => Err(format!("unknown layout {other:?}: expected `nchw` or `nhwc`")),
        }
    }
}

/// Per-model image preprocessing: resize the shorter side, centre-crop, normalise.
///
/// The defaults are the standard ImageNet recipe (resize 256, crop 224, ImageNet mean/std).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreprocessSpec {
    /// Side of the square centre crop fed to the model.
    pub input_size: u32,
    /// Length the shorter image side is resized to before cropping.
    pub resize_shorter: u32,
    /// Per-channel mean (RGB) subtracted after scaling to [0, 1].
    pub mean: [f32; 3],
    /// Per-channel standard deviation (RGB) divided by after subtracting the mean.
    pub std: [f32; 3],
    /// Tensor layout.
    pub layout: Layout,
}

impl Default for PreprocessSpec {
    fn default() -> Self {
        PreprocessSpec {
            input_size: 224,
            resize_shorter: 256,
            mean: [0.485, 0.456, 0.406],
            std: [0.229, 0.224, 0.225],
            layout: Layout::Nchw,
        }
    }
}

impl PreprocessSpec {
    /// A spec for another crop size, keeping the standard 0.875 crop ratio (224 → 256).
    pub fn with_input_size(input_size: u32) -> Self {
        PreprocessSpec {
            input_size,
            resize_shorter: ((input_size as f64) / 0.875).round() as u32,
            ..Default::default()
        }
    }

    /// The shape of one preprocessed image as a batch-of-one tensor.
    pub fn tensor_shape(&self, batch: usize) -> [usize; 4] {
        let s = self.input_size as usize;
        match self.layout {
            Layout::Nchw => [batch, 3, s, s],
            Layout::Nhwc => [batch, s, s, 3],
        }
    }

    /// Checks that the numbers make sense (positive sizes, crop not larger than resize, std ≠ 0).
    pub fn validate(&self) -> Result<(), String> {
        if self.input_size == 0 || self.input_size > 4096 {
            return Err(format!("input size {} must be in 1..=4096", self.input_size));
        }
        if self.resize_shorter < self.input_size {
            return Err(format!(
                "resize size {} must be at least the input size {}",
                self.resize_shorter, self.input_size
            ));
        }
        if self.std.iter().any(|s| !s.is_finite() || *s == 0.0) || self.mean.iter().any(|m| !m.is_finite()) {
            return Err("mean must be finite and std finite and non-zero".into());
        }
        Ok(())
    }
}

/// Names and shapes of a model's first input and output (`-1` for a dynamic dimension),
/// read from the model file when it is registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ModelSignature {
    /// Input tensor name.
    pub input_name: String,
    /// Input shape as declared by the model.
    pub input_shape: Vec<i64>,
    /// Output tensor name.
    pub output_name: String,
    /// Output shape as declared by the model.
    pub output_shape: Vec<i64>,
}

/// A registered model version: everything needed to load it and interpret its output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    /// Model name, as used in `?model=` and `/v2/models/{name}`.
    pub name: String,
    /// Version number, starting at 1.
    pub version: i64,
    /// SHA-256 of the ONNX file, hex.
    pub sha256: String,
    /// Path of the ONNX file inside the data directory.
    pub artifact_path: String,
    /// Size of the ONNX file in bytes.
    pub size_bytes: i64,
    /// What the output means.
    pub task: Task,
    /// How images are turned into the input tensor.
    pub preprocess: PreprocessSpec,
    /// Class names in output order (may be empty: then labels are the indices).
    pub labels: Vec<String>,
    /// Input and output names and shapes.
    pub signature: ModelSignature,
    /// Whether this is the version answering requests for `name`.
    pub active: bool,
    /// When the version was registered (RFC 3339).
    pub created_at: String,
}

impl ModelSpec {
    /// Number of output classes (from the output shape, else the labels; 0 if unknown).
    pub fn num_classes(&self) -> usize {
        match self.signature.output_shape.last() {
            Some(&n) if n > 0 => n as usize,
            _ => self.labels.len(),
        }
    }

    /// The label of class `index`, or the index itself when the model has no labels.
    pub fn label(&self, index: usize) -> String {
        self.labels.get(index).cloned().unwrap_or_else(|| index.to_string())
    }
}

/// Checks a model name: 1–64 characters of letters, digits, `-`, `_` and `.`, not starting with `.`.
pub fn validate_model_name(name: &str) -> Result<(), String> {
    let ok_chars = name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if name.is_empty() || name.len() > 64 || !ok_chars || name.starts_with('.') {
        return Err(format!(
            "invalid model name {name:?}: use 1-64 letters, digits, '-', '_' or '.', not starting with '.'"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_names_round_trip() {
        for t in [Task::Imagenet, Task::CatDog] {
            assert_eq!(t.to_string().parse::<Task>().unwrap(), t);
        }
        assert!("horse".parse::<Task>().is_err());
    }

    #[test]
    fn preprocess_defaults_and_validation() {
        let p = PreprocessSpec::default();
        assert_eq!(p.tensor_shape(2), [2, 3, 224, 224]);
        assert!(p.validate().is_ok());
        assert_eq!(PreprocessSpec::with_input_size(320).resize_shorter, 366);
        let bad = PreprocessSpec { std: [0.0, 1.0, 1.0], ..Default::default() };
        assert!(bad.validate().is_err());
        let bad = PreprocessSpec { resize_shorter: 100, ..Default::default() };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn model_names() {
        assert!(validate_model_name("mobilenet-v2_fp32.1").is_ok());
        for bad in ["", ".hidden", "a/b", "sp ace", &"x".repeat(65)] {
            assert!(validate_model_name(bad).is_err(), "{bad}");
        }
    }
}

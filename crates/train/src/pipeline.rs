//! `train-head` from start to end: list the images, split them, extract the base model's
//! features, fit the head, measure it, and export base + head as one ONNX model.

use crate::dataset::{list_images, stratified_split};
use crate::features::ImageModel;
use crate::graph::BaseModel;
use crate::head::CatDogHead;
use crate::logistic::FitOptions;
use crate::TrainError;
use infergate_core::PreprocessSpec;
use infergate_runtime::Engine;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What to train and how.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainConfig {
    /// Fraction of each class held out to measure the head (0 = none).
    pub holdout: f64,
    /// Seed of the held-out split.
    pub seed: u64,
    /// Regression settings.
    pub fit: FitOptions,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig { holdout: 0.2, seed: 42, fit: FitOptions::default() }
    }
}

/// How far training has got, for progress output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// The images were found and split.
    Images {
        /// Images in `cat/`.
        cats: usize,
        /// Images in `dog/`.
        dogs: usize,
        /// Images trained on.
        train: usize,
        /// Images held out.
        held_out: usize,
    },
    /// Features of `done` of `total` images are extracted.
    Features {
        /// Images done.
        done: usize,
        /// All images.
        total: usize,
    },
    /// The regression converged (or stopped) after this many iterations.
    Fitted {
        /// L-BFGS iterations.
        iterations: usize,
    },
}

/// Correct answers out of a number of images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accuracy {
    /// Images classified correctly.
    pub correct: usize,
    /// Images classified.
    pub total: usize,
}

impl Accuracy {
    /// `correct / total` (0 when there are no images).
    pub fn fraction(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.correct as f64 / self.total as f64
        }
    }
}

/// The result of training.
#[derive(Debug, Clone)]
pub struct TrainedHead {
    /// The head itself.
    pub head: CatDogHead,
    /// Base model + head as one ONNX model: images in, `[batch, 2]` logits (cat, dog) out.
    pub onnx: Vec<u8>,
    /// Accuracy on the images it was trained on.
    pub train: Accuracy,
    /// Accuracy on the held-out images (`None` without a held-out split).
    pub held_out: Option<Accuracy>,
    /// The base model tensor the head reads.
    pub features_name: String,
    /// Its length.
    pub feature_dim: usize,
}

/// Trains a cat/dog head on `base` (an ONNX file ending in a Gemm classifier) with images
/// from `data/cat/` and `data/dog/`, preprocessed with `preprocess` as the gateway would.
/// The data is checked before the model is loaded.
pub fn train_head(
    engine: &Engine,
    base: &Path,
    preprocess: &PreprocessSpec,
    data: &Path,
    config: &TrainConfig,
    progress: &mut dyn FnMut(Progress),
) -> Result<TrainedHead, TrainError> {
    let images = list_images(data)?;
    let classes: Vec<usize> = images.iter().map(|i| i.class).collect();
    let split = stratified_split(&classes, config.holdout, config.seed)?;
    let dogs = classes.iter().filter(|&&c| c == 1).count();
    progress(Progress::Images {
        cats: classes.len() - dogs,
        dogs,
        train: split.train.len(),
        held_out: split.held_out.len(),
    });
    let bytes = std::fs::read(base).map_err(|e| TrainError::Invalid(format!("cannot read {}: {e}", base.display())))?;
    let base = BaseModel::parse(bytes)?;
    let extractor = load_bytes(engine, &base.feature_extractor()?, preprocess)?;
    let paths: Vec<PathBuf> = images.into_iter().map(|i| i.path).collect();
    let total = paths.len();
    let features = extractor.outputs(&paths, &mut |done| progress(Progress::Features { done, total }))?;

    let pick = |idx: &[usize]| -> (Vec<Vec<f32>>, Vec<usize>) {
        (idx.iter().map(|&i| features[i].clone()).collect(), idx.iter().map(|&i| classes[i]).collect())
    };
    let (train_x, train_y) = pick(&split.train);
    let head = CatDogHead::fit(&train_x, &train_y, config.fit);
    progress(Progress::Fitted { iterations: head.regression.iterations });
    let train = accuracy(&head, &train_x, &train_y);
    let held_out = (!split.held_out.is_empty()).then(|| {
        let (x, y) = pick(&split.held_out);
        accuracy(&head, &x, &y)
    });
    let (weights, bias) = head.linear_layer();
    let onnx = base.with_linear_head(&weights, &bias)?;
    Ok(TrainedHead {
        head,
        onnx,
        train,
        held_out,
        features_name: base.features_name().to_string(),
        feature_dim: base.feature_dim(),
    })
}

/// How many of `features` the head classifies as `classes`.
pub fn accuracy(head: &CatDogHead, features: &[Vec<f32>], classes: &[usize]) -> Accuracy {
    let correct = features.iter().zip(classes).filter(|(f, &c)| head.predict(f) == c).count();
    Accuracy { correct, total: features.len() }
}

/// Loads an in-memory ONNX model (through a temporary file: the backends load from paths).
pub fn load_bytes(engine: &Engine, onnx: &[u8], preprocess: &PreprocessSpec) -> Result<ImageModel, TrainError> {
    let io_err = |e: std::io::Error| TrainError::Invalid(format!("cannot write a temporary model file: {e}"));
    let mut file = tempfile::Builder::new().prefix("infergate-train-").suffix(".onnx").tempfile().map_err(io_err)?;
    file.write_all(onnx).map_err(io_err)?;
    file.flush().map_err(io_err)?;
    ImageModel::load(engine, file.path(), preprocess.clone())
}

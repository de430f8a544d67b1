//! Training a cat/dog head on top of a base image model, and exporting both as one model.
//!
//! `infergate train-head` uses this crate to learn a cat/dog classifier from folders of
//! photos: the base model's final classifier is cut off ([`graph`]), the remaining network
//! turns every image into a feature vector ([`features`], preprocessing exactly as the
//! gateway does), an L2-regularised logistic regression is fitted on standardised features
//! ([`head`], [`logistic`], [`lbfgs`]) and measured on a held-out split ([`dataset`]), and the
//! head is folded into a single `Gemm` that replaces the old classifier, giving one ONNX
//! model with outputs `[cat, dog]` ([`pipeline`]). The crate neither prints nor registers
//! anything; the CLI does.

pub mod dataset;
pub mod features;
pub mod graph;
pub mod head;
pub mod lbfgs;
pub mod logistic;
pub mod pipeline;
mod wire;

pub use dataset::{list_images, stratified_split, LabelledImage, Split, LABELS};
pub use features::ImageModel;
pub use graph::{BaseModel, GraphError};
pub use head::CatDogHead;
pub use logistic::FitOptions;
pub use pipeline::{accuracy, load_bytes, train_head, Accuracy, Progress, TrainConfig, TrainedHead};

use infergate_runtime::BackendError;
use std::path::PathBuf;

/// Why training failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The training folders are missing, empty or too small.
    #[error("{0}")]
    Data(String),
    /// An option or a file is not usable.
    #[error("{0}")]
    Invalid(String),
    /// An image could not be read or decoded.
    #[error("cannot use image {}: {message}", path.display())]
    Image {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The base model cannot be cut, or the head cannot be attached.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// The inference library failed to load or run a model.
    #[error(transparent)]
    Model(#[from] BackendError),
}

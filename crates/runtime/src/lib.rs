//! Image decoding and preprocessing, and the inference backends.
//!
//! - [`decode`]: bytes → RGB pixels (JPEG, PNG, WebP; EXIF orientation; size limits checked
//!   before the pixels are allocated).
//! - [`preprocess`]: RGB pixels → the model's normalised input tensor.
//! - [`backend`]: the [`Backend`] trait with an ONNX Runtime ([`ort_backend`]) and a
//!   pure-Rust tract ([`tract_backend`]) implementation, chosen by [`engine::Engine`].
//! - [`instances`]: loaded models, loaded on first use and shared between requests.

pub mod backend;
pub mod decode;
pub mod discovery;
pub mod engine;
pub mod instances;
#[cfg(feature = "ort")]
pub mod ort_backend;
pub mod preprocess;
#[cfg(feature = "tract")]
pub mod tract_backend;

pub use backend::{Backend, BackendError, BackendKind, ModelIo, RunOutput, Tensor};
pub use decode::{decode_image, DecodeError, DecodeLimits, ImageFormatKind};
pub use engine::{Engine, EngineConfig, EngineError, ExecutionProvider, RuntimeChoice};
pub use instances::{Instance, InstancePool, Lease};
pub use preprocess::preprocess;

//! Image decoding and preprocessing, and the inference backends.
//!
//! - [`decode`]: bytes → RGB pixels (JPEG, PNG, WebP; EXIF orientation; size limits checked
//!   before the pixels are allocated).
//! - [`preprocess`]: RGB pixels → the model's normalised input tensor.
//! - [`backend`]: the [`Backend`] trait with an ONNX Runtime ([`ort_backend`]) and a
//!   pure-Rust tract ([`tract_backend`]) implementation, chosen by [`engine::Engine`].
//! - [`instances`]: per model version, a request queue and the instances serving it —
//!   loaded on first use, unloaded after an idle keep-alive — with [`batcher`] gathering
//!   queued requests into batches.
//! - [`clock`]: the time source the pools use (a manual one in tests).

pub mod backend;
pub mod batcher;
pub mod clock;
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
pub use batcher::{BatchJob, BatchOutput, BatchPolicy};
pub use clock::{Clock, ManualClock, SystemClock};
pub use decode::{decode_image, DecodeError, DecodeLimits, ImageFormatKind};
pub use engine::{Engine, EngineConfig, EngineError, ExecutionProvider, RuntimeChoice};
pub use instances::{
    InstancePool, PoolObserver, ServingPolicy, SubmitError, Submitted, VersionPool, VersionStatus, WarmReport,
};
pub use preprocess::preprocess;

//! Domain types shared by every Infergate crate.
//!
//! This crate holds what the other crates must agree on and nothing that does I/O:
//! how a model is described ([`ModelSpec`], [`PreprocessSpec`], [`Task`]), how raw
//! model outputs become an answer ([`postprocess`]), the shape of that answer on the wire
//! ([`ClassifyResponse`]), what a request costs ([`PricingProfile`]), the [`Role`] of an
//! API key, and what the edge agent and the controller say to each other ([`fleet`]).

pub mod answer;
pub mod fleet;
pub mod model;
pub mod postprocess;
pub mod pricing;
pub mod role;

pub use answer::{ClassifyResponse, GroupScores, ModelRef, ScoredClass, Timings};
pub use model::{validate_model_name, Layout, ModelSignature, ModelSpec, PreprocessSpec, Task, TaskParseError};
pub use postprocess::{classify_logits, softmax, top_k, Classification, CAT_CLASSES, DOG_CLASSES};
pub use pricing::PricingProfile;
pub use role::Role;

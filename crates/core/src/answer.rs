//! The classification answer as it goes over the wire (`POST /v1/classify`).

use serde::{Deserialize, Serialize};

/// Which model version answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRef {
    /// Model name.
    pub name: String,
    /// Version number.
    pub version: i64,
}

/// Softmax probabilities of the cat and dog class groups.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GroupScores {
    /// Sum over ImageNet classes 281–285, or the `cat` probability of a two-class head.
    pub cat: f32,
    /// Sum over ImageNet classes 151–268, or the `dog` probability of a two-class head.
    pub dog: f32,
}

/// One entry of the top-k list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoredClass {
    /// Class index in the model output.
    pub index: usize,
    /// Class name.
    pub label: String,
    /// Softmax probability.
    pub score: f32,
}

/// Where the time went, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Timings {
    /// Image decoding (incl. EXIF orientation).
    pub decode: f64,
    /// Resize, crop and normalisation.
    pub preprocess: f64,
    /// Waiting for a free inference session.
    pub queue: f64,
    /// The model itself.
    pub inference: f64,
    /// The whole request inside the server.
    pub total: f64,
}

/// The full answer of `POST /v1/classify`, also stored as the history record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifyResponse {
    /// Id of this request (and of its history record).
    pub request_id: String,
    /// The model version that answered.
    pub model: ModelRef,
    /// `cat`/`dog` for the cat-dog task, else the top-1 class.
    pub label: String,
    /// Confidence of `label`.
    pub confidence: f32,
    /// Cat/dog group sums (cat-dog task), else `null`.
    pub group_scores: Option<GroupScores>,
    /// Whether the image looks like a cat or a dog at all (always true for imagenet).
    pub in_domain: bool,
    /// Top-k classes of the model output (ImageNet classes, or `cat`/`dog` for a two-class head).
    pub top_k: Vec<ScoredClass>,
    /// Whether this answer came from the cache (same bytes, same model version).
    pub cached: bool,
    /// Whether the model had to be loaded for this request.
    pub cold_start: bool,
    /// How long that load took (when `cold_start`), else `null`.
    #[serde(default)]
    pub load_ms: Option<f64>,
    /// Images in the batch this one ran in; `null` for cached answers.
    #[serde(default)]
    pub batch_size: Option<usize>,
    /// Time spent per stage.
    pub timings_ms: Timings,
    /// Estimated cost of this request under the pricing profile (`null` until configured).
    pub cost_usd: Option<f64>,
}

//! Versioned model artifacts: one JSON document holding the trained model and what is needed
//! to trust and use it (task, learner, feature schema, metrics, training date, data hash).
//!
//! ```json
//! { "format": "infergate-learn/1", "task": "classification", "learner": "gbt",
//!   "features": ["payload_kb", "…"], "target": "lambda_faster",
//!   "metrics": { … }, "trained_at": "2026-11-22T20:00:00Z",
//!   "data_sha256": "…", "params": { … }, "model": { learner-specific payload } }
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::forest::{ForestClassifier, ForestRegressor};
use crate::gbt::{GbtClassifier, GbtRegressor};
use crate::linear::{LinearRegression, LogisticRegression};
use crate::{Classifier, Dataset, Error, LearnerKind, Regressor, Result, Task};

/// The `format` this build writes and reads. A change to the layout or to any payload bumps it.
pub const FORMAT: &str = "infergate-learn/1";

/// Everything in an artifact but the model itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactMeta {
    /// What the model predicts.
    pub task: Task,
    /// Which learner produced it.
    pub learner: LearnerKind,
    /// Feature names in the order a row must give them.
    pub features: Vec<String>,
    /// Name of the predicted column.
    pub target: String,
    /// Free-form evaluation results chosen by the trainer (e.g. hold-out and cross-validation).
    pub metrics: Value,
    /// When it was trained, RFC 3339, as given by the caller (this crate never reads the clock).
    pub trained_at: String,
    /// [`Dataset::hash`] of the training data.
    pub data_sha256: String,
    /// The learner's hyper-parameters.
    pub params: Value,
}

impl ArtifactMeta {
    /// Checks that a caller's feature names are the model's, in order; the error lists both.
    pub fn check_features<S: AsRef<str>>(&self, names: &[S]) -> Result<()> {
        if names.len() == self.features.len() && names.iter().zip(&self.features).all(|(a, b)| a.as_ref() == b) {
            return Ok(());
        }
        Err(Error::FeatureSchema {
            expected: self.features.join(", "),
            got: names.iter().map(|s| s.as_ref()).collect::<Vec<_>>().join(", "),
        })
    }
}

/// A trained model of either task.
#[derive(Debug)]
pub enum Model {
    /// A binary classifier.
    Classifier(Box<dyn Classifier>),
    /// A regressor.
    Regressor(Box<dyn Regressor>),
}

impl Model {
    /// P(label = 1) for a classifier, the predicted value for a regressor.
    #[inline]
    pub fn predict(&self, row: &[f64]) -> Result<f64> {
        match self {
            Model::Classifier(c) => c.predict_proba(row),
            Model::Regressor(r) => r.predict(row),
        }
    }

    /// The task of the model.
    pub fn task(&self) -> Task {
        match self {
            Model::Classifier(_) => Task::Classification,
            Model::Regressor(_) => Task::Regression,
        }
    }

    /// The learner of the model.
    pub fn kind(&self) -> LearnerKind {
        match self {
            Model::Classifier(c) => c.kind(),
            Model::Regressor(r) => r.kind(),
        }
    }

    fn n_features(&self) -> usize {
        match self {
            Model::Classifier(c) => c.n_features(),
            Model::Regressor(r) => r.n_features(),
        }
    }

    fn params(&self) -> Value {
        match self {
            Model::Classifier(c) => c.params(),
            Model::Regressor(r) => r.params(),
        }
    }

    fn payload(&self) -> Result<Value> {
        match self {
            Model::Classifier(c) => c.payload(),
            Model::Regressor(r) => r.payload(),
        }
    }
}

/// A model with its metadata, as saved to and loaded from disk.
#[derive(Debug)]
pub struct Artifact {
    /// The metadata.
    pub meta: ArtifactMeta,
    /// The model.
    pub model: Model,
}

/// The document on disk.
#[derive(Serialize, Deserialize)]
struct Document {
    format: String,
    #[serde(flatten)]
    meta: ArtifactMeta,
    model: Value,
}

impl Artifact {
    /// Wraps a model trained on `data` with its metadata (features, target, data hash and
    /// params taken from the model and the data).
    pub fn new(model: Model, data: &Dataset, metrics: Value, trained_at: impl Into<String>) -> Result<Artifact> {
        if model.n_features() != data.n_features() {
            return Err(Error::FeatureCount { expected: model.n_features(), got: data.n_features() });
        }
        let params = model.params();
        let meta = ArtifactMeta {
            task: model.task(),
            learner: model.kind(),
            features: data.feature_names().to_vec(),
            target: data.target().to_string(),
            metrics,
            trained_at: trained_at.into(),
            data_sha256: data.hash(),
            params,
        };
        Ok(Artifact { meta, model })
    }

    /// The JSON document.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        let doc = Document { format: FORMAT.to_string(), meta: self.meta.clone(), model: self.model.payload()? };
        serde_json::to_vec(&doc).map_err(|e| Error::CorruptArtifact { path: PathBuf::new(), reason: e.to_string() })
    }

    /// Writes the document atomically: to a temporary file in the same directory, synced, then
    /// renamed over `path`, so readers see the old file or the new one, never a partial one.
    pub fn save(&self, path: &Path) -> Result<()> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let bytes = self.to_json()?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into());
        let tmp = path.with_file_name(format!(
            ".{name}.{}.{}.tmp",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let io = |action, source| Error::Io { action, path: path.to_path_buf(), source };
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io("writing", e)
        })
    }

    /// Reads an artifact written by [`Artifact::save`].
    pub fn load(path: &Path) -> Result<Artifact> {
        let bytes = std::fs::read(path).map_err(|source| Error::Io { action: "reading", path: path.into(), source })?;
        Artifact::from_json(&bytes, path)
    }

    /// Parses a document (`path` only names it in errors). A wrong or missing `format`, invalid
    /// JSON and a damaged payload are errors, never panics.
    pub fn from_json(bytes: &[u8], path: &Path) -> Result<Artifact> {
        let corrupt = |reason: String| Error::CorruptArtifact { path: path.to_path_buf(), reason };
        let value: Value = serde_json::from_slice(bytes).map_err(|e| corrupt(format!("not valid JSON: {e}")))?;
        let found = value.get("format").and_then(Value::as_str).unwrap_or_default();
        if found != FORMAT {
            return Err(Error::UnsupportedFormat {
                path: path.to_path_buf(),
                found: found.to_string(),
                expected: FORMAT,
            });
        }
        let doc: Document = serde_json::from_value(value).map_err(|e| corrupt(format!("metadata: {e}")))?;
        let meta = doc.meta;
        if !meta.learner.supports(meta.task) {
            return Err(corrupt(format!("learner `{}` cannot do {}", meta.learner, meta.task)));
        }
        if meta.features.is_empty() {
            return Err(corrupt("no features".into()));
        }
        let (p, params, payload) = (meta.features.len(), &meta.params, &doc.model);
        let model = match (meta.task, meta.learner) {
            (Task::Classification, LearnerKind::Gbt) => {
                GbtClassifier::from_payload(payload, p, params).map(|m| Model::Classifier(Box::new(m)))
            }
            (Task::Classification, LearnerKind::Forest) => {
                ForestClassifier::from_payload(payload, p, params).map(|m| Model::Classifier(Box::new(m)))
            }
            (Task::Classification, _) => {
                LogisticRegression::from_payload(payload, p, params).map(|m| Model::Classifier(Box::new(m)))
            }
            (Task::Regression, LearnerKind::Gbt) => {
                GbtRegressor::from_payload(payload, p, params).map(|m| Model::Regressor(Box::new(m)))
            }
            (Task::Regression, LearnerKind::Forest) => {
                ForestRegressor::from_payload(payload, p, params).map(|m| Model::Regressor(Box::new(m)))
            }
            (Task::Regression, _) => {
                LinearRegression::from_payload(payload, p, params).map(|m| Model::Regressor(Box::new(m)))
            }
        }
        .map_err(|reason| corrupt(format!("model: {reason}")))?;
        Ok(Artifact { meta, model })
    }

    /// The classifier, or [`Error::WrongTask`] for a regressor.
    pub fn into_classifier(self) -> Result<Box<dyn Classifier>> {
        match self.model {
            Model::Classifier(c) => Ok(c),
            Model::Regressor(_) => Err(Error::WrongTask { wanted: "classification", found: "regression" }),
        }
    }

    /// The regressor, or [`Error::WrongTask`] for a classifier.
    pub fn into_regressor(self) -> Result<Box<dyn Regressor>> {
        match self.model {
            Model::Regressor(r) => Ok(r),
            Model::Classifier(_) => Err(Error::WrongTask { wanted: "regression", found: "classification" }),
        }
    }
}

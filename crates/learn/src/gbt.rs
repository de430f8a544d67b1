//! Gradient-boosted trees through LightGBM (the `lightgbm3` bindings): binary log-loss for
//! classification, L2 for regression; importance by total split gain.
//!
//! Training is deterministic for a given seed (`deterministic`, row-wise histograms, one
//! thread by default). The model is stored as LightGBM's own model text, with its SHA-256 so a
//! damaged payload is refused before LightGBM parses it. Prediction uses LightGBM's
//! single-row fast path (`LGBM_BoosterPredictForMatSingleRowFast`), prepared once per model.
//! LightGBM's log output is routed to a callback that drops it: a library does not print.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::error::check_row;
use crate::learner::normalise;
use crate::{Classifier, Dataset, Error, LearnerKind, Params, Regressor, Result};

/// LightGBM hyper-parameters (the names are LightGBM's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GbtParams {
    /// Number of boosting rounds (trees).
    pub num_iterations: u32,
    /// Shrinkage applied to each tree.
    pub learning_rate: f64,
    /// Maximum leaves per tree.
    pub num_leaves: u32,
    /// Minimum rows in a leaf.
    pub min_data_in_leaf: u32,
    /// Share of features considered per tree (1 = all).
    pub feature_fraction: f64,
    /// L2 regularisation of leaf values.
    pub lambda_l2: f64,
    /// Training threads (1 keeps results independent of the machine).
    pub num_threads: u32,
}

impl Default for GbtParams {
    fn default() -> Self {
        GbtParams {
            num_iterations: 200,
            learning_rate: 0.05,
            num_leaves: 31,
            min_data_in_leaf: 20,
            feature_fraction: 1.0,
            lambda_l2: 0.0,
            num_threads: 1,
        }
    }
}

/// What the artifact stores for a LightGBM model.
#[derive(Serialize, Deserialize)]
struct Payload {
    /// LightGBM's model text.
    lightgbm_model: String,
    /// SHA-256 (hex) of `lightgbm_model`.
    sha256: String,
}

/// A LightGBM booster prepared for single-row prediction.
struct Booster(lightgbm3::Booster);

// SAFETY: the booster is a heap object owned by LightGBM and reached only through its C API.
// After training, this crate calls only `predict_single_row_fast` (through `&self`), whose C
// side takes the fast config's mutex and a shared lock on the booster for each call, so calls
// from several threads are serialised by LightGBM itself; the handle may be freed from any thread.
unsafe impl Send for Booster {}
// SAFETY: see `Send` above: every `&self` path into LightGBM is internally locked.
unsafe impl Sync for Booster {}

/// Drops LightGBM's log lines (LightGBM keeps the callback per thread, so this is called before
/// each LightGBM call that may log).
fn silence_lightgbm() {
    extern "C" fn discard(_: *const std::os::raw::c_char) {}
    // SAFETY: registers a function pointer that lives for the whole program.
    unsafe {
        lightgbm3_sys::LGBM_RegisterLogCallback(Some(discard));
    }
}

fn lgbm(e: lightgbm3::Error) -> Error {
    Error::LightGbm(e.to_string().trim_start_matches("LightGBM error: ").to_string())
}

/// The part shared by the classifier and the regressor.
struct Gbt {
    booster: Booster,
    n_features: usize,
    importance: Vec<f64>,
    params: GbtParams,
    seed: u64,
}

impl fmt::Debug for Gbt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gbt")
            .field("n_features", &self.n_features)
            .field("trees", &self.booster.0.num_iterations())
            .field("params", &self.params)
            .finish()
    }
}

impl Gbt {
    fn fit(data: &Dataset, params: &Params, objective: &str) -> Result<Gbt> {
        let p = &params.gbt;
        if data.n_rows() < 2 {
            return Err(Error::Training(format!("{} rows: LightGBM needs at least 2", data.n_rows())));
        }
        silence_lightgbm();
        let labels: Vec<f32> = data.y().iter().map(|&v| v as f32).collect();
        let ds = lightgbm3::Dataset::from_slice(data.x(), &labels, data.n_features() as i32, true).map_err(lgbm)?;
        let config = json!({
            "objective": objective,
            "num_iterations": p.num_iterations,
            "learning_rate": p.learning_rate,
            "num_leaves": p.num_leaves,
            "min_data_in_leaf": p.min_data_in_leaf,
            "feature_fraction": p.feature_fraction,
            "lambda_l2": p.lambda_l2,
            "num_threads": p.num_threads.max(1),
            "seed": params.seed % (i32::MAX as u64),
            "deterministic": true,
            "force_row_wise": true,
            "verbosity": -1,
        });
        let booster = lightgbm3::Booster::train(ds, &config).map_err(lgbm)?;
        let gbt = Gbt::prepare(booster, data.n_features(), p.clone(), params.seed)?;
        Ok(gbt)
    }

    /// Computes the importance and readies the fast single-row path.
    fn prepare(mut booster: lightgbm3::Booster, n_features: usize, params: GbtParams, seed: u64) -> Result<Gbt> {
        silence_lightgbm();
        if booster.num_features() as usize != n_features {
            return Err(Error::LightGbm(format!(
                "the model has {} features, the schema {n_features}",
                booster.num_features()
            )));
        }
        let gains = booster.feature_importance(lightgbm3::ImportanceType::Gain).map_err(lgbm)?;
        booster.single_row_fast_init::<f64>(Some(&json!({"num_threads": 1, "verbosity": -1}))).map_err(lgbm)?;
        Ok(Gbt { booster: Booster(booster), n_features, importance: normalise(gains), params, seed })
    }

    fn predict(&self, row: &[f64]) -> Result<f64> {
        check_row(row, self.n_features)?;
        let out = self.booster.0.predict_single_row_fast(row).map_err(lgbm)?;
        out.first().copied().ok_or_else(|| Error::LightGbm("empty prediction".into()))
    }

    fn params(&self) -> Value {
        let mut v = serde_json::to_value(&self.params).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut v {
            m.insert("seed".into(), self.seed.into());
        }
        v
    }

    fn payload(&self) -> Result<Value> {
        silence_lightgbm();
        let text = self.booster.0.save_string().map_err(lgbm)?;
        let sha256 = hex::encode(Sha256::digest(text.as_bytes()));
        serde_json::to_value(Payload { lightgbm_model: text, sha256 }).map_err(|e| Error::LightGbm(e.to_string()))
    }

    /// Rebuilds a model from [`Gbt::payload`]'s output; `Err(reason)` when it is damaged.
    fn from_payload(payload: &Value, n_features: usize, params: &Value) -> Result<Gbt, String> {
        let p: Payload = serde_json::from_value(payload.clone()).map_err(|e| format!("LightGBM payload: {e}"))?;
        if hex::encode(Sha256::digest(p.lightgbm_model.as_bytes())) != p.sha256 {
            return Err("the LightGBM model text does not match its SHA-256".into());
        }
        if p.lightgbm_model.contains('\0') {
            return Err("the LightGBM model text contains a NUL byte".into());
        }
        silence_lightgbm();
        let booster = lightgbm3::Booster::from_string(&p.lightgbm_model).map_err(|e| e.to_string())?;
        let gbt_params: GbtParams = serde_json::from_value(params.clone()).unwrap_or_default();
        let seed = params.get("seed").and_then(Value::as_u64).unwrap_or_default();
        Gbt::prepare(booster, n_features, gbt_params, seed).map_err(|e| e.to_string())
    }
}

/// LightGBM binary classifier.
#[derive(Debug)]
pub struct GbtClassifier(Gbt);

impl GbtClassifier {
    /// Rebuilds a classifier from an artifact's payload; `Err(reason)` when it is damaged.
    pub(crate) fn from_payload(payload: &Value, n_features: usize, params: &Value) -> Result<Self, String> {
        Gbt::from_payload(payload, n_features, params).map(GbtClassifier)
    }
}

impl Classifier for GbtClassifier {
    fn fit(data: &Dataset, params: &Params) -> Result<Self> {
        data.check_binary()?;
        Gbt::fit(data, params, "binary").map(GbtClassifier)
    }

    fn kind(&self) -> LearnerKind {
        LearnerKind::Gbt
    }

    fn n_features(&self) -> usize {
        self.0.n_features
    }

    fn predict_proba(&self, row: &[f64]) -> Result<f64> {
        self.0.predict(row)
    }

    fn feature_importance(&self) -> Vec<f64> {
        self.0.importance.clone()
    }

    fn params(&self) -> Value {
        self.0.params()
    }

    fn payload(&self) -> Result<Value> {
        self.0.payload()
    }
}

/// LightGBM regressor (L2 loss).
#[derive(Debug)]
pub struct GbtRegressor(Gbt);

impl GbtRegressor {
    /// Rebuilds a regressor from an artifact's payload; `Err(reason)` when it is damaged.
    pub(crate) fn from_payload(payload: &Value, n_features: usize, params: &Value) -> Result<Self, String> {
        Gbt::from_payload(payload, n_features, params).map(GbtRegressor)
    }
}

impl Regressor for GbtRegressor {
    fn fit(data: &Dataset, params: &Params) -> Result<Self> {
        Gbt::fit(data, params, "regression").map(GbtRegressor)
    }

    fn kind(&self) -> LearnerKind {
        LearnerKind::Gbt
    }

    fn n_features(&self) -> usize {
        self.0.n_features
    }

    fn predict(&self, row: &[f64]) -> Result<f64> {
        self.0.predict(row)
    }

    fn feature_importance(&self) -> Vec<f64> {
        self.0.importance.clone()
    }

    fn params(&self) -> Value {
        self.0.params()
    }

    fn payload(&self) -> Result<Value> {
        self.0.payload()
    }
}

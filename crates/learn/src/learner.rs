//! The learner traits, the learner names and the hyper-parameters of every learner.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::forest::ForestParams;
use crate::gbt::GbtParams;
use crate::linear::LinearParams;
use crate::{Dataset, Error, Result};

/// What a model predicts: a positive-class probability or a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// Binary classification (labels 0/1; the model gives P(label = 1)).
    Classification,
    /// Regression (any finite target).
    Regression,
}

impl Task {
    /// The wire name: `classification` or `regression`.
    pub fn name(self) -> &'static str {
        match self {
            Task::Classification => "classification",
            Task::Regression => "regression",
        }
    }
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A learning algorithm, by wire name: `gbt` (LightGBM) and `forest` (random forest) for both
/// tasks, `logistic` for classification, `linear` for regression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LearnerKind {
    /// Gradient-boosted trees (LightGBM).
    Gbt,
    /// Random forest of CART trees (this crate's own).
    Forest,
    /// L2-regularised logistic regression on standardised features.
    Logistic,
    /// L2-regularised (ridge) linear regression on standardised features.
    Linear,
}

impl LearnerKind {
    /// Every learner, in the order they are listed to users.
    pub const ALL: [LearnerKind; 4] =
        [LearnerKind::Gbt, LearnerKind::Forest, LearnerKind::Logistic, LearnerKind::Linear];

    /// The wire name (`gbt`, `forest`, `logistic`, `linear`).
    pub fn name(self) -> &'static str {
        match self {
            LearnerKind::Gbt => "gbt",
            LearnerKind::Forest => "forest",
            LearnerKind::Logistic => "logistic",
            LearnerKind::Linear => "linear",
        }
    }

    /// Whether this learner can be trained for `task`.
    pub fn supports(self, task: Task) -> bool {
        match self {
            LearnerKind::Gbt | LearnerKind::Forest => true,
            LearnerKind::Logistic => task == Task::Classification,
            LearnerKind::Linear => task == Task::Regression,
        }
    }

    /// The learners available for `task`.
    pub fn for_task(task: Task) -> Vec<LearnerKind> {
        Self::ALL.into_iter().filter(|k| k.supports(task)).collect()
    }

    /// Parses a wire name for `task`; the error lists the valid names.
    pub fn parse(task: Task, name: &str) -> Result<LearnerKind> {
        LearnerKind::for_task(task).into_iter().find(|k| k.name() == name).ok_or_else(|| Error::UnknownLearner {
            name: name.to_string(),
            task: task.name(),
            valid: LearnerKind::for_task(task).iter().map(|k| k.name()).collect::<Vec<_>>().join(", "),
        })
    }
}

impl fmt::Display for LearnerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for LearnerKind {
    type Err = Error;

    /// Parses any of the four names (use [`LearnerKind::parse`] to check a task too).
    fn from_str(s: &str) -> Result<Self> {
        LearnerKind::ALL.into_iter().find(|k| k.name() == s).ok_or_else(|| Error::UnknownLearner {
            name: s.to_string(),
            task: "any task",
            valid: LearnerKind::ALL.map(|k| k.name()).join(", "),
        })
    }
}

/// Hyper-parameters of every learner (each uses its own part) and the seed they share.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Params {
    /// Seed of every random choice in training (bootstrap, feature sampling, LightGBM's seed).
    pub seed: u64,
    /// LightGBM parameters.
    pub gbt: GbtParams,
    /// Random forest parameters.
    pub forest: ForestParams,
    /// Logistic/linear regression parameters.
    pub linear: LinearParams,
}

impl Default for Params {
    fn default() -> Self {
        Params { seed: 42, gbt: GbtParams::default(), forest: ForestParams::default(), linear: LinearParams::default() }
    }
}

/// A trained binary classifier. Shareable between threads; prediction does not allocate.
pub trait Classifier: Send + Sync + fmt::Debug {
    /// Trains on `data` (labels must be 0 or 1).
    fn fit(data: &Dataset, params: &Params) -> Result<Self>
    where
        Self: Sized;
    /// Which learner this is.
    fn kind(&self) -> LearnerKind;
    /// Number of features a row must have.
    fn n_features(&self) -> usize;
    /// P(label = 1) for one row; errors on a wrong row length or a non-finite value.
    fn predict_proba(&self, row: &[f64]) -> Result<f64>;
    /// Importance of each feature (in column order), non-negative and summing to 1.
    fn feature_importance(&self) -> Vec<f64>;
    /// The hyper-parameters it was trained with (for the artifact).
    fn params(&self) -> serde_json::Value;
    /// The trained model as JSON (the artifact's `model`).
    fn payload(&self) -> Result<serde_json::Value>;
}

/// A trained regressor. Shareable between threads; prediction does not allocate.
pub trait Regressor: Send + Sync + fmt::Debug {
    /// Trains on `data`.
    fn fit(data: &Dataset, params: &Params) -> Result<Self>
    where
        Self: Sized;
    /// Which learner this is.
    fn kind(&self) -> LearnerKind;
    /// Number of features a row must have.
    fn n_features(&self) -> usize;
    /// The predicted target for one row; errors on a wrong row length or a non-finite value.
    fn predict(&self, row: &[f64]) -> Result<f64>;
    /// Importance of each feature (in column order), non-negative and summing to 1.
    fn feature_importance(&self) -> Vec<f64>;
    /// The hyper-parameters it was trained with (for the artifact).
    fn params(&self) -> serde_json::Value;
    /// The trained model as JSON (the artifact's `model`).
    fn payload(&self) -> Result<serde_json::Value>;
}

/// Trains a classifier of the given kind; errors for `linear` (a regressor).
pub fn fit_classifier(kind: LearnerKind, data: &Dataset, params: &Params) -> Result<Box<dyn Classifier>> {
    Ok(match kind {
        LearnerKind::Gbt => Box::new(crate::gbt::GbtClassifier::fit(data, params)?),
        LearnerKind::Forest => Box::new(crate::forest::ForestClassifier::fit(data, params)?),
        LearnerKind::Logistic => Box::new(crate::linear::LogisticRegression::fit(data, params)?),
        LearnerKind::Linear => return Err(LearnerKind::parse(Task::Classification, kind.name()).unwrap_err()),
    })
}

/// Trains a regressor of the given kind; errors for `logistic` (a classifier).
pub fn fit_regressor(kind: LearnerKind, data: &Dataset, params: &Params) -> Result<Box<dyn Regressor>> {
    Ok(match kind {
        LearnerKind::Gbt => Box::new(crate::gbt::GbtRegressor::fit(data, params)?),
        LearnerKind::Forest => Box::new(crate::forest::ForestRegressor::fit(data, params)?),
        LearnerKind::Linear => Box::new(crate::linear::LinearRegression::fit(data, params)?),
        LearnerKind::Logistic => return Err(LearnerKind::parse(Task::Regression, kind.name()).unwrap_err()),
    })
}

/// Scales non-negative weights to sum 1 (equal shares when they are all zero).
pub(crate) fn normalise(mut v: Vec<f64>) -> Vec<f64> {
    let total: f64 = v.iter().map(|x| x.abs()).sum();
    let n = v.len() as f64;
    for x in &mut v {
        *x = if total > 0.0 { x.abs() / total } else { 1.0 / n };
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_per_task() {
        assert_eq!(LearnerKind::parse(Task::Classification, "logistic").unwrap(), LearnerKind::Logistic);
        assert_eq!(LearnerKind::parse(Task::Regression, "gbt").unwrap(), LearnerKind::Gbt);
        let e = LearnerKind::parse(Task::Regression, "logistic").unwrap_err().to_string();
        assert_eq!(e, "unknown learner `logistic` for regression: valid names are gbt, forest, linear");
        let e = LearnerKind::parse(Task::Classification, "xgb").unwrap_err().to_string();
        assert!(e.ends_with("valid names are gbt, forest, logistic"), "{e}");
        assert_eq!("forest".parse::<LearnerKind>().unwrap(), LearnerKind::Forest);
        assert!("svm".parse::<LearnerKind>().is_err());
        assert_eq!(serde_json::to_string(&LearnerKind::Gbt).unwrap(), "\"gbt\"");
    }

    #[test]
    fn normalise_sums_to_one() {
        assert_eq!(normalise(vec![1.0, 3.0]), vec![0.25, 0.75]);
        assert_eq!(normalise(vec![0.0, 0.0]), vec![0.5, 0.5]);
    }
}

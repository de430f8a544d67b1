//! Tabular learning for Infergate's predictors: learners behind two traits ([`Classifier`]
//! for binary labels, [`Regressor`] for numbers), evaluation metrics, stratified splits and
//! cross-validation, and versioned model artifacts that the server loads.
//!
//! The crate knows nothing about what the features mean (routing, latency, cost, energy): a
//! trainer builds a [`Dataset`], picks a [`LearnerKind`] (`gbt`, `forest`, `logistic` or
//! `linear`), fits, evaluates and saves an [`Artifact`]; the server loads it once and calls
//! [`Classifier::predict_proba`] or [`Regressor::predict`] on one row per request.
//!
//! - [`dataset`]: the validated table and its canonical SHA-256.
//! - [`split`]: seeded stratified train/test split and k-fold partitions.
//! - [`metrics`]: accuracy, precision, recall, F1, ROC-AUC, confusion matrix; MAE, RMSE, R², MAPE.
//! - [`gbt`]: gradient-boosted trees through LightGBM.
//! - [`forest`]: this crate's random forest.
//! - [`linear`]: logistic and ridge regression.
//! - [`cv`]: evaluation and k-fold cross-validation.
//! - [`artifact`]: the JSON model file (format `infergate-learn/1`).
//!
//! Training is deterministic for a given [`Params::seed`]. The library never prints, reads
//! the clock or reads environment variables.

#![warn(missing_docs)]

pub mod artifact;
pub mod cv;
pub mod dataset;
mod error;
pub mod forest;
pub mod gbt;
mod learner;
pub mod linear;
pub mod metrics;
pub mod split;

pub use artifact::{Artifact, ArtifactMeta, Model, FORMAT};
pub use cv::{cross_validate, evaluate_classifier, evaluate_regressor, CvReport};
pub use dataset::Dataset;
pub use error::{Error, Result};
pub use forest::{ForestClassifier, ForestParams, ForestRegressor};
pub use gbt::{GbtClassifier, GbtParams, GbtRegressor};
pub use learner::{fit_classifier, fit_regressor, Classifier, LearnerKind, Params, Regressor, Task};
pub use linear::{LinearParams, LinearRegression, LogisticRegression};
pub use metrics::{regression_metrics, ClassificationMetrics, Metrics, RegressionMetrics};
pub use split::{k_fold, train_test_split, Split};

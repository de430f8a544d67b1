//! Evaluation of a trained model on a dataset, and k-fold cross-validation.

use serde::{Deserialize, Serialize};

use crate::metrics::{classification_metrics, mean_metrics, regression_metrics};
use crate::split::k_fold;
use crate::{
    fit_classifier, fit_regressor, ClassificationMetrics, Classifier, Dataset, Error, LearnerKind, Metrics, Params,
    RegressionMetrics, Regressor, Result, Task,
};

/// Per-fold and mean metrics of a k-fold cross-validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvReport {
    /// Number of folds.
    pub k: usize,
    /// Seed of the fold assignment.
    pub seed: u64,
    /// Metrics on each fold's held-out rows, in fold order.
    pub folds: Vec<Metrics>,
    /// The folds' mean (see [`crate::metrics::mean_metrics`]).
    pub mean: Metrics,
}

/// Classification metrics of `model` on every row of `data`.
pub fn evaluate_classifier(model: &dyn Classifier, data: &Dataset) -> Result<ClassificationMetrics> {
    let probabilities = data.rows().map(|r| model.predict_proba(r)).collect::<Result<Vec<_>>>()?;
    Ok(classification_metrics(data.y(), &probabilities))
}

/// Regression metrics of `model` on every row of `data`.
pub fn evaluate_regressor(model: &dyn Regressor, data: &Dataset) -> Result<RegressionMetrics> {
    let predictions = data.rows().map(|r| model.predict(r)).collect::<Result<Vec<_>>>()?;
    Ok(regression_metrics(data.y(), &predictions))
}

/// Trains `kind` on k-1 folds and evaluates on the held-out fold, k times. Folds are
/// stratified by label for classification and plain (shuffled) for regression; `seed` fixes
/// the folds, `params.seed` the learners.
pub fn cross_validate(
    task: Task,
    kind: LearnerKind,
    data: &Dataset,
    k: usize,
    seed: u64,
    params: &Params,
) -> Result<CvReport> {
    LearnerKind::parse(task, kind.name())?;
    let folds = k_fold(data.y(), k, task == Task::Classification, seed)?;
    let mut results = Vec::with_capacity(k);
    for fold in &folds {
        let (train, test) = (data.subset(&fold.train), data.subset(&fold.test));
        results.push(match task {
            Task::Classification => {
                Metrics::Classification(evaluate_classifier(fit_classifier(kind, &train, params)?.as_ref(), &test)?)
            }
            Task::Regression => {
                Metrics::Regression(evaluate_regressor(fit_regressor(kind, &train, params)?.as_ref(), &test)?)
            }
        });
    }
    let mean = mean_metrics(&results).ok_or_else(|| Error::InvalidSplit("no folds".into()))?;
    Ok(CvReport { k, seed, folds: results, mean })
}

//! Evaluation metrics for binary classifiers (at threshold 0.5, plus ROC-AUC) and regressors.

use serde::{Deserialize, Serialize};

/// Quality of a binary classifier on a set of rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassificationMetrics {
    /// Share of rows whose predicted class (probability >= 0.5) is right.
    pub accuracy: f64,
    /// tp / (tp + fp); 0 when nothing is predicted positive.
    pub precision: f64,
    /// tp / (tp + fn); 0 when there are no positives.
    pub recall: f64,
    /// Harmonic mean of precision and recall; 0 when both are 0.
    pub f1: f64,
    /// Area under the ROC curve from ranks (ties count half); `None` when one class is absent.
    pub roc_auc: Option<f64>,
    /// `[[tn, fp], [fn, tp]]` at threshold 0.5 (rows: true class; columns: predicted class).
    pub confusion: [[u64; 2]; 2],
    /// Number of rows evaluated.
    pub n: usize,
}

/// Quality of a regressor on a set of rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressionMetrics {
    /// Mean absolute error.
    pub mae: f64,
    /// Root mean squared error.
    pub rmse: f64,
    /// Coefficient of determination, 1 - SSE/SST (0 when the targets are constant and the fit
    /// is not exact, 1 when it is).
    pub r2: f64,
    /// Mean absolute percentage error (a fraction, not ×100) over rows with a non-zero target;
    /// `None` when every target is zero.
    pub mape: Option<f64>,
    /// Number of rows evaluated.
    pub n: usize,
}

/// Metrics of either task, as stored in reports and artifacts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Metrics {
    /// A classifier's metrics.
    Classification(ClassificationMetrics),
    /// A regressor's metrics.
    Regression(RegressionMetrics),
}

/// ROC-AUC from the Mann–Whitney rank statistic; tied scores get their average rank.
/// `labels` are 0/1. `None` when either class is missing. Panics when the lengths differ.
pub fn roc_auc(labels: &[f64], scores: &[f64]) -> Option<f64> {
    assert_eq!(labels.len(), scores.len(), "one score per label");
    let n_pos = labels.iter().filter(|&&l| l == 1.0).count();
    let n_neg = labels.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut pos_rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share their mean.
        let rank = (i + j) as f64 / 2.0 + 1.0;
        pos_rank_sum += rank * order[i..=j].iter().filter(|&&k| labels[k] == 1.0).count() as f64;
        i = j + 1;
    }
    let (p, n) = (n_pos as f64, n_neg as f64);
    Some((pos_rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// Classification metrics of predicted positive-class probabilities against 0/1 labels.
/// Panics when the lengths differ.
pub fn classification_metrics(labels: &[f64], probabilities: &[f64]) -> ClassificationMetrics {
    assert_eq!(labels.len(), probabilities.len(), "one probability per label");
    let mut c = [[0u64; 2]; 2];
    for (&l, &p) in labels.iter().zip(probabilities) {
        c[usize::from(l == 1.0)][usize::from(p >= 0.5)] += 1;
    }
    let [[tn, fp], [fn_, tp]] = c.map(|r| r.map(|v| v as f64));
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    let precision = ratio(tp, tp + fp);
    let recall = ratio(tp, tp + fn_);
    ClassificationMetrics {
        accuracy: ratio(tp + tn, labels.len() as f64),
        precision,
        recall,
        f1: ratio(2.0 * precision * recall, precision + recall),
        roc_auc: roc_auc(labels, probabilities),
        confusion: c,
        n: labels.len(),
    }
}

/// Regression metrics of predictions against targets. Panics when the lengths differ.
pub fn regression_metrics(targets: &[f64], predictions: &[f64]) -> RegressionMetrics {
    assert_eq!(targets.len(), predictions.len(), "one prediction per target");
    let n = targets.len() as f64;
    let mean = targets.iter().sum::<f64>() / n;
    let (mut abs, mut sse, mut sst, mut ape, mut n_ape) = (0.0, 0.0, 0.0, 0.0, 0usize);
    for (&t, &p) in targets.iter().zip(predictions) {
        let e = t - p;
        abs += e.abs();
        sse += e * e;
        sst += (t - mean) * (t - mean);
        if t != 0.0 {
            ape += (e / t).abs();
            n_ape += 1;
        }
    }
    let r2 = if sst > 0.0 {
        1.0 - sse / sst
    } else if sse == 0.0 {
        1.0
    } else {
        0.0
    };
    RegressionMetrics {
        mae: abs / n,
        rmse: (sse / n).sqrt(),
        r2,
        mape: (n_ape > 0).then(|| ape / n_ape as f64),
        n: targets.len(),
    }
}

/// Mean of per-fold metrics: rates and errors averaged, confusion matrices and counts summed,
/// optional values averaged over the folds that have them. `None` for no folds or mixed tasks.
pub fn mean_metrics(folds: &[Metrics]) -> Option<Metrics> {
    let k = folds.len() as f64;
    let mean_opt = |v: Vec<Option<f64>>| {
        let some: Vec<f64> = v.into_iter().flatten().collect();
        (!some.is_empty()).then(|| some.iter().sum::<f64>() / some.len() as f64)
    };
    match folds.first()? {
        Metrics::Classification(_) => {
            let c: Vec<&ClassificationMetrics> = folds
                .iter()
                .map(|m| match m {
                    Metrics::Classification(c) => Some(c),
                    Metrics::Regression(_) => None,
                })
                .collect::<Option<_>>()?;
            let avg = |f: fn(&ClassificationMetrics) -> f64| c.iter().map(|m| f(m)).sum::<f64>() / k;
            let mut confusion = [[0u64; 2]; 2];
            for m in &c {
                for (r, row) in m.confusion.iter().enumerate() {
                    for (col, v) in row.iter().enumerate() {
                        confusion[r][col] += v;
                    }
                }
            }
            Some(Metrics::Classification(ClassificationMetrics {
                accuracy: avg(|m| m.accuracy),
                precision: avg(|m| m.precision),
                recall: avg(|m| m.recall),
                f1: avg(|m| m.f1),
                roc_auc: mean_opt(c.iter().map(|m| m.roc_auc).collect()),
                confusion,
                n: c.iter().map(|m| m.n).sum(),
            }))
        }
        Metrics::Regression(_) => {
            let r: Vec<&RegressionMetrics> = folds
                .iter()
                .map(|m| match m {
                    Metrics::Regression(r) => Some(r),
                    Metrics::Classification(_) => None,
                })
                .collect::<Option<_>>()?;
            let avg = |f: fn(&RegressionMetrics) -> f64| r.iter().map(|m| f(m)).sum::<f64>() / k;
            Some(Metrics::Regression(RegressionMetrics {
                mae: avg(|m| m.mae),
                rmse: avg(|m| m.rmse),
                r2: avg(|m| m.r2),
                mape: mean_opt(r.iter().map(|m| m.mape).collect()),
                n: r.iter().map(|m| m.n).sum(),
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn auc_by_hand_with_ties() {
        // Positives score 0.8, 0.4, 0.4; negatives 0.4, 0.1. Pairs (pos, neg): 0.8>0.4 1,
        // 0.8>0.1 1, 0.4=0.4 1/2, 0.4>0.1 1, 0.4=0.4 1/2, 0.4>0.1 1 → 5 of 6.
        let auc = roc_auc(&[1.0, 1.0, 1.0, 0.0, 0.0], &[0.8, 0.4, 0.4, 0.4, 0.1]).unwrap();
        assert!(close(auc, 5.0 / 6.0), "{auc}");
        assert!(close(roc_auc(&[0.0, 1.0], &[0.3, 0.3]).unwrap(), 0.5));
        assert!(close(roc_auc(&[0.0, 1.0], &[0.9, 0.1]).unwrap(), 0.0));
        assert_eq!(roc_auc(&[1.0, 1.0], &[0.2, 0.3]), None);
    }

    #[test]
    fn confusion_precision_recall_f1_by_hand() {
        let y = [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0];
        let p = [0.9, 0.6, 0.2, 0.5, 0.1, 0.3, 0.0];
        let m = classification_metrics(&y, &p);
        // tp 2 (0.9, 0.6), fn 1 (0.2), fp 1 (0.5 counts as positive), tn 3.
        assert_eq!(m.confusion, [[3, 1], [1, 2]]);
        assert!(close(m.accuracy, 5.0 / 7.0));
        assert!(close(m.precision, 2.0 / 3.0));
        assert!(close(m.recall, 2.0 / 3.0));
        assert!(close(m.f1, 2.0 / 3.0));
        let none_predicted = classification_metrics(&[1.0, 0.0], &[0.1, 0.2]);
        assert_eq!((none_predicted.precision, none_predicted.recall, none_predicted.f1), (0.0, 0.0, 0.0));
        let m = classification_metrics(&[1.0, 1.0, 0.0, 0.0], &[0.9, 0.7, 0.8, 0.1]);
        // tp 2, fp 1, fn 0: precision 2/3, recall 1, F1 = 2·(2/3)/(5/3) = 0.8.
        assert!(close(m.f1, 0.8));
    }

    #[test]
    fn regression_by_hand() {
        let m = regression_metrics(&[1.0, 2.0, 3.0, 4.0], &[1.5, 2.0, 2.0, 4.0]);
        // errors -0.5, 0, 1, 0: SSE 1.25, SST 5 → R² 0.75; MAE 0.375; RMSE sqrt(0.3125).
        assert!(close(m.r2, 0.75));
        assert!(close(m.mae, 0.375));
        assert!(close(m.rmse, 0.3125f64.sqrt()));
        // APE: 0.5, 0, 1/3, 0 → mean 5/24.
        assert!(close(m.mape.unwrap(), 5.0 / 24.0));
        assert_eq!(regression_metrics(&[0.0, 0.0], &[0.0, 0.0]).mape, None);
        assert_eq!(regression_metrics(&[2.0, 2.0], &[2.0, 2.0]).r2, 1.0);
    }

    #[test]
    fn means_average_rates_and_sum_counts() {
        let a = Metrics::Classification(classification_metrics(&[1.0, 0.0], &[0.9, 0.1]));
        let b = Metrics::Classification(classification_metrics(&[1.0, 0.0], &[0.1, 0.9]));
        let Some(Metrics::Classification(m)) = mean_metrics(&[a.clone(), b]) else { panic!() };
        assert!(close(m.accuracy, 0.5));
        assert!(close(m.roc_auc.unwrap(), 0.5));
        assert_eq!(m.confusion, [[1, 1], [1, 1]]);
        assert_eq!(m.n, 4);
        let r = Metrics::Regression(regression_metrics(&[1.0, 2.0], &[1.0, 2.0]));
        assert_eq!(mean_metrics(&[a, r]), None);
        assert_eq!(mean_metrics(&[]), None);
    }
}

//! One learned quantity on a log scale: `ln y = a + b·ln(MACs) + r(features)`, a straight line
//! in log MACs (which extrapolates to models smaller or larger than any seen) plus LightGBM
//! trees on what the line leaves (kernel mix, depthwise, layers, input size), with a
//! calibrated 90 % interval.
//!
//! The interval's half-width (in log space) is split-conformal **by family**: each training
//! family is held out in turn, the rest fit, and the 90th percentile of the held-out
//! family's absolute log residuals taken; the half-width is the median of those. So it is
//! calibrated for what the predictor is for — a model of an architecture it has not seen —
//! not for rows like the training ones (a random split gives intervals too narrow for a new
//! family: 84 % coverage instead of 90 % on the Jetson Nano data). With fewer than three
//! families, 5-fold cross-validation residuals are used instead.

use infergate_learn::{fit_regressor, Artifact, Dataset, LearnerKind, Model, Params, Regressor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The share of outcomes the interval is meant to hold.
pub const COVERAGE: f64 = 0.9;

/// Training rows for one quantity: features, the base input (ln MACs), the target's log and
/// the family of each row.
pub struct LogRows<'a> {
    /// Feature names (columns of `x`).
    pub names: &'a [String],
    /// Feature rows, row after row.
    pub x: Vec<f64>,
    /// ln(MACs) of each row.
    pub base: Vec<f64>,
    /// ln(target) of each row.
    pub y: Vec<f64>,
    /// Family of each row.
    pub family: Vec<String>,
}

impl LogRows<'_> {
    fn subset(&self, keep: &[usize]) -> LogRows<'_> {
        let width = self.names.len();
        LogRows {
            names: self.names,
            x: keep.iter().flat_map(|&i| self.x[i * width..(i + 1) * width].iter().copied()).collect(),
            base: keep.iter().map(|&i| self.base[i]).collect(),
            y: keep.iter().map(|&i| self.y[i]).collect(),
            family: keep.iter().map(|&i| self.family[i].clone()).collect(),
        }
    }

    fn len(&self) -> usize {
        self.y.len()
    }
}

/// A fitted quantity.
#[derive(Debug)]
pub struct LogModel {
    /// Line intercept.
    pub intercept: f64,
    /// Line slope in ln(MACs).
    pub slope: f64,
    /// Trees on the line's residuals (a `learn` artifact, stored as such).
    pub residual: Artifact,
    /// Half-width of the 90 % interval, in ln units.
    pub half_width: f64,
    /// How the half-width was calibrated.
    pub calibration: String,
}

/// Least squares of `y` on `x` (slope 0 when `x` is constant).
pub fn line(x: &[f64], y: &[f64]) -> (f64, f64) {
    let n = x.len().max(1) as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxx: f64 = x.iter().map(|v| (v - mx).powi(2)).sum();
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    (my - slope * mx, slope)
}

/// The `q` quantile of `v` with the split-conformal finite-sample correction
/// (the ⌈(n + 1)·q⌉-th smallest).
pub fn conformal_quantile(mut v: Vec<f64>, q: f64) -> f64 {
    if v.is_empty() {
        return f64::INFINITY;
    }
    v.sort_by(f64::total_cmp);
    let rank = (((v.len() + 1) as f64 * q).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// Line + trees without an interval, and the trees' training data.
fn fit_point(rows: &LogRows, params: &Params) -> Result<(f64, f64, Box<dyn Regressor>, Dataset), String> {
    let (intercept, slope) = line(&rows.base, &rows.y);
    let resid: Vec<f64> = rows.base.iter().zip(&rows.y).map(|(b, y)| y - intercept - slope * b).collect();
    let data = Dataset::new(rows.names.to_vec(), "ln_residual", rows.x.clone(), resid).map_err(|e| e.to_string())?;
    let trees = fit_regressor(LearnerKind::Gbt, &data, params).map_err(|e| e.to_string())?;
    Ok((intercept, slope, trees, data))
}

fn abs_residuals(fit_on: &LogRows, score: &LogRows, params: &Params) -> Result<Vec<f64>, String> {
    let (a, b, trees, _) = fit_point(fit_on, params)?;
    let width = score.names.len();
    Ok((0..score.len())
        .map(|i| {
            let row = &score.x[i * width..(i + 1) * width];
            (score.y[i] - a - b * score.base[i] - trees.predict(row).unwrap_or(0.0)).abs()
        })
        .collect())
}

impl LogModel {
    /// Fits the line, the trees and the interval (see the module doc).
    pub fn fit(rows: &LogRows, params: &Params, trained_at: &str) -> Result<LogModel, String> {
        if rows.len() < 2 {
            return Err(format!("{} usable rows; at least 2 are needed", rows.len()));
        }
        let (intercept, slope, trees, data) = fit_point(rows, params)?;
        let residual =
            Artifact::new(Model::Regressor(trees), &data, Value::Null, trained_at).map_err(|e| e.to_string())?;
        let mut families: Vec<&String> = rows.family.iter().collect();
        families.sort();
        families.dedup();
        let (half_width, calibration) = if families.len() >= 3 {
            let mut per_family = Vec::new();
            for f in &families {
                let (held, kept): (Vec<usize>, Vec<usize>) = (0..rows.len()).partition(|&i| &rows.family[i] == *f);
                let r = abs_residuals(&rows.subset(&kept), &rows.subset(&held), params)?;
                per_family.push(conformal_quantile(r, COVERAGE));
            }
            per_family.sort_by(f64::total_cmp);
            let median = per_family[per_family.len() / 2];
            (median, format!("median over {} held-out families of their 90th-percentile residual", families.len()))
        } else {
            let k = rows.len().min(5);
            let mut all = Vec::new();
            for fold in 0..k {
                let (held, kept): (Vec<usize>, Vec<usize>) = (0..rows.len()).partition(|i| i % k == fold);
                if kept.len() < 2 {
                    continue;
                }
                all.extend(abs_residuals(&rows.subset(&kept), &rows.subset(&held), params)?);
            }
            (conformal_quantile(all, COVERAGE), format!("{k}-fold cross-validation residuals"))
        };
        Ok(LogModel { intercept, slope, residual, half_width, calibration })
    }

    /// ln of the prediction for one feature row with its ln(MACs).
    pub fn predict_ln(&self, row: &[f64], ln_macs: f64) -> f64 {
        self.intercept + self.slope * ln_macs + self.residual.model.predict(row).unwrap_or(0.0)
    }

    /// The stored form.
    pub fn to_stored(&self) -> Result<StoredLogModel, String> {
        let bytes = self.residual.to_json().map_err(|e| e.to_string())?;
        Ok(StoredLogModel {
            intercept: self.intercept,
            slope: self.slope,
            half_width_ln: self.half_width,
            calibration: self.calibration.clone(),
            residual: serde_json::from_slice(&bytes).map_err(|e| e.to_string())?,
        })
    }

    /// Back from the stored form (`path` names the file in errors).
    pub fn from_stored(stored: StoredLogModel, path: &std::path::Path) -> Result<LogModel, String> {
        let bytes = serde_json::to_vec(&stored.residual).map_err(|e| e.to_string())?;
        let residual = Artifact::from_json(&bytes, path).map_err(|e| e.to_string())?;
        for v in [stored.intercept, stored.slope, stored.half_width_ln] {
            if !v.is_finite() {
                return Err(format!("{}: a non-finite coefficient", path.display()));
            }
        }
        Ok(LogModel {
            intercept: stored.intercept,
            slope: stored.slope,
            residual,
            half_width: stored.half_width_ln,
            calibration: stored.calibration,
        })
    }
}

/// The stored form of a [`LogModel`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredLogModel {
    /// Line intercept.
    pub intercept: f64,
    /// Line slope.
    pub slope: f64,
    /// Interval half-width, ln units.
    pub half_width_ln: f64,
    /// How it was calibrated.
    pub calibration: String,
    /// The trees (a `learn` artifact document).
    pub residual: Value,
}

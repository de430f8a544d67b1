//! Linear models on standardised features with an L2 penalty: logistic regression (Newton's
//! method with a backtracking line search) and ridge regression (normal equations). Importance
//! is the absolute standardised coefficient, normalised.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::check_row;
use crate::learner::normalise;
use crate::{Classifier, Dataset, Error, LearnerKind, Params, Regressor, Result};

/// Linear model hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LinearParams {
    /// L2 penalty on the standardised coefficients (the intercept is not penalised), relative
    /// to the mean loss.
    pub l2: f64,
    /// Most Newton iterations for logistic regression.
    pub max_iter: usize,
}

impl Default for LinearParams {
    fn default() -> Self {
        LinearParams { l2: 1e-3, max_iter: 100 }
    }
}

/// A linear function of standardised features: `intercept + Σ coef[j]·(x[j] - mean[j]) / scale[j]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Linear {
    mean: Vec<f64>,
    scale: Vec<f64>,
    coef: Vec<f64>,
    intercept: f64,
    #[serde(skip)]
    params: LinearParams,
}

impl Linear {
    #[inline]
    fn score(&self, row: &[f64]) -> Result<f64> {
        check_row(row, self.coef.len())?;
        let mut z = self.intercept;
        for (((x, c), m), s) in row.iter().zip(&self.coef).zip(&self.mean).zip(&self.scale) {
            z += c * (x - m) / s;
        }
        Ok(z)
    }

    fn importance(&self) -> Vec<f64> {
        normalise(self.coef.clone())
    }

    fn params(&self) -> Value {
        serde_json::to_value(&self.params).unwrap_or(Value::Null)
    }

    fn payload(&self) -> Result<Value> {
        serde_json::to_value(self).map_err(|e| Error::Training(e.to_string()))
    }

    fn from_payload(payload: &Value, n_features: usize, params: &Value) -> Result<Linear, String> {
        let mut m: Linear = serde_json::from_value(payload.clone()).map_err(|e| format!("linear payload: {e}"))?;
        if [m.mean.len(), m.scale.len(), m.coef.len()] != [n_features; 3] {
            return Err(format!("the linear model does not have {n_features} coefficients"));
        }
        let finite = m.mean.iter().chain(&m.scale).chain(&m.coef).all(|v| v.is_finite()) && m.intercept.is_finite();
        if !finite || m.scale.iter().any(|&s| s <= 0.0) {
            return Err("the linear model has non-finite values or a non-positive scale".into());
        }
        m.params = serde_json::from_value(params.clone()).unwrap_or_default();
        Ok(m)
    }
}

/// Column means and standard deviations (1 for a constant column), and the standardised matrix.
fn standardise(data: &Dataset) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (n, p) = (data.n_rows() as f64, data.n_features());
    let mut mean = vec![0.0; p];
    for row in data.rows() {
        for j in 0..p {
            mean[j] += row[j] / n;
        }
    }
    let mut scale = vec![0.0; p];
    for row in data.rows() {
        for j in 0..p {
            scale[j] += (row[j] - mean[j]).powi(2) / n;
        }
    }
    for s in &mut scale {
        *s = if *s > 1e-24 { s.sqrt() } else { 1.0 };
    }
    let z = data.rows().flat_map(|row| (0..p).map(|j| (row[j] - mean[j]) / scale[j]).collect::<Vec<_>>()).collect();
    (mean, scale, z)
}

/// Solves `a·x = b` for a symmetric positive definite `a` (n×n, row-major) by Cholesky;
/// `None` when `a` is not positive definite.
fn solve_spd(a: &[f64], b: &[f64]) -> Option<Vec<f64>> {
    let n = b.len();
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = a[i * n + j] - (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum::<f64>();
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        y[i] = (b[i] - (0..i).map(|k| l[i * n + k] * y[k]).sum::<f64>()) / l[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        x[i] = (y[i] - (i + 1..n).map(|k| l[k * n + i] * x[k]).sum::<f64>()) / l[i * n + i];
    }
    Some(x)
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Mean log-loss plus `l2/2·|w|²` of parameters `theta = [intercept, w…]` on standardised rows `z`.
fn objective(theta: &[f64], z: &[f64], y: &[f64], l2: f64) -> f64 {
    let p = theta.len() - 1;
    let mut loss = 0.0;
    for (row, &t) in z.chunks_exact(p).zip(y) {
        let s = theta[0] + row.iter().zip(&theta[1..]).map(|(a, b)| a * b).sum::<f64>();
        // log(1 + e^s) - t·s, computed stably.
        loss += s.max(0.0) + (-s.abs()).exp().ln_1p() - t * s;
    }
    loss / y.len() as f64 + l2 / 2.0 * theta[1..].iter().map(|w| w * w).sum::<f64>()
}

/// L2-regularised logistic regression.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticRegression(Linear);

impl LogisticRegression {
    /// Rebuilds the model from an artifact's payload; `Err(reason)` when it is damaged.
    pub(crate) fn from_payload(payload: &Value, n_features: usize, params: &Value) -> Result<Self, String> {
        Linear::from_payload(payload, n_features, params).map(LogisticRegression)
    }
}

impl Classifier for LogisticRegression {
    fn fit(data: &Dataset, params: &Params) -> Result<Self> {
        data.check_binary()?;
        let lp = params.linear.clone();
        let (mean, scale, z) = standardise(data);
        let (p, n, y) = (data.n_features(), data.n_rows() as f64, data.y());
        let mut theta = vec![0.0; p + 1];
        let mut current = objective(&theta, &z, y, lp.l2);
        for _ in 0..lp.max_iter.max(1) {
            let mut grad = vec![0.0; p + 1];
            let mut hess = vec![0.0; (p + 1) * (p + 1)];
            for (row, &t) in z.chunks_exact(p).zip(y) {
                let s = theta[0] + row.iter().zip(&theta[1..]).map(|(a, b)| a * b).sum::<f64>();
                let prob = sigmoid(s);
                let w = (prob * (1.0 - prob)).max(1e-12);
                for a in 0..=p {
                    let xa = if a == 0 { 1.0 } else { row[a - 1] };
                    grad[a] += (prob - t) * xa / n;
                    for b in 0..=a {
                        let xb = if b == 0 { 1.0 } else { row[b - 1] };
                        hess[a * (p + 1) + b] += w * xa * xb / n;
                    }
                }
            }
            for a in 0..=p {
                for b in 0..a {
                    hess[b * (p + 1) + a] = hess[a * (p + 1) + b];
                }
                hess[a * (p + 1) + a] += if a == 0 { 1e-10 } else { lp.l2 + 1e-10 };
                if a > 0 {
                    grad[a] += lp.l2 * theta[a];
                }
            }
            let step = solve_spd(&hess, &grad)
                .ok_or_else(|| Error::Training("logistic regression: singular system; try a larger l2".into()))?;
            // Backtracking: halve the Newton step until the objective does not increase.
            let mut t = 1.0;
            let mut accepted = false;
            for _ in 0..30 {
                let trial: Vec<f64> = theta.iter().zip(&step).map(|(a, d)| a - t * d).collect();
                let value = objective(&trial, &z, y, lp.l2);
                if value <= current {
                    theta = trial;
                    current = value;
                    accepted = true;
                    break;
                }
                t /= 2.0;
            }
            if !accepted || step.iter().map(|d| (t * d).abs()).fold(0.0, f64::max) < 1e-9 {
                break;
            }
        }
        Ok(LogisticRegression(Linear { mean, scale, coef: theta[1..].to_vec(), intercept: theta[0], params: lp }))
    }

    fn kind(&self) -> LearnerKind {
        LearnerKind::Logistic
    }

    fn n_features(&self) -> usize {
        self.0.coef.len()
    }

    fn predict_proba(&self, row: &[f64]) -> Result<f64> {
        self.0.score(row).map(sigmoid)
    }

    fn feature_importance(&self) -> Vec<f64> {
        self.0.importance()
    }

    fn params(&self) -> Value {
        self.0.params()
    }

    fn payload(&self) -> Result<Value> {
        self.0.payload()
    }
}

/// Ridge (L2) linear regression.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearRegression(Linear);

impl LinearRegression {
    /// Rebuilds the model from an artifact's payload; `Err(reason)` when it is damaged.
    pub(crate) fn from_payload(payload: &Value, n_features: usize, params: &Value) -> Result<Self, String> {
        Linear::from_payload(payload, n_features, params).map(LinearRegression)
    }
}

impl Regressor for LinearRegression {
    fn fit(data: &Dataset, params: &Params) -> Result<Self> {
        let lp = params.linear.clone();
        let (mean, scale, z) = standardise(data);
        let (p, n, y) = (data.n_features(), data.n_rows() as f64, data.y());
        let y_mean = y.iter().sum::<f64>() / n;
        let mut a = vec![0.0; p * p];
        let mut b = vec![0.0; p];
        for (row, &t) in z.chunks_exact(p).zip(y) {
            for i in 0..p {
                b[i] += row[i] * (t - y_mean) / n;
                for j in 0..p {
                    a[i * p + j] += row[i] * row[j] / n;
                }
            }
        }
        for i in 0..p {
            a[i * p + i] += lp.l2 + 1e-10;
        }
        let coef = solve_spd(&a, &b)
            .ok_or_else(|| Error::Training("linear regression: singular system; try a larger l2".into()))?;
        Ok(LinearRegression(Linear { mean, scale, coef, intercept: y_mean, params: lp }))
    }

    fn kind(&self) -> LearnerKind {
        LearnerKind::Linear
    }

    fn n_features(&self) -> usize {
        self.0.coef.len()
    }

    fn predict(&self, row: &[f64]) -> Result<f64> {
        self.0.score(row)
    }

    fn feature_importance(&self) -> Vec<f64> {
        self.0.importance()
    }

    fn params(&self) -> Value {
        self.0.params()
    }

    fn payload(&self) -> Result<Value> {
        self.0.payload()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves() {
        // [[4, 2], [2, 3]] x = [2, 1] → x = [0.5, 0].
        let x = solve_spd(&[4.0, 2.0, 2.0, 3.0], &[2.0, 1.0]).unwrap();
        assert!((x[0] - 0.5).abs() < 1e-12 && x[1].abs() < 1e-12);
        assert!(solve_spd(&[1.0, 2.0, 2.0, 1.0], &[1.0, 1.0]).is_none());
    }

    #[test]
    fn exact_line_is_recovered() {
        let x: Vec<f64> = (0..50).flat_map(|i| [i as f64, ((i * 7) % 11) as f64]).collect();
        let y: Vec<f64> = x.chunks(2).map(|r| 2.0 + 3.0 * r[0] - 0.5 * r[1]).collect();
        let d = Dataset::new(vec!["a".into(), "b".into()], "y", x, y).unwrap();
        let mut params = Params::default();
        params.linear.l2 = 0.0;
        let m = LinearRegression::fit(&d, &params).unwrap();
        for (row, &t) in d.rows().zip(d.y()) {
            assert!((m.predict(row).unwrap() - t).abs() < 1e-8);
        }
    }
}

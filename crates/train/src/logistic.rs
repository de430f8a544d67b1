//! Binary logistic regression with an L2 penalty, on standardised features.

use crate::lbfgs::{dot, minimize, Stopping};

/// Per-feature standardisation: `(x - mean) / std`, with constant features mapped to 0.
#[derive(Debug, Clone, PartialEq)]
pub struct Standardiser {
    /// Mean of each feature over the training rows.
    pub mean: Vec<f64>,
    /// `1 / std` of each feature (0 for a constant feature).
    pub inv_std: Vec<f64>,
}

impl Standardiser {
    /// Learns the means and standard deviations of `rows` (all the same length, at least one).
    pub fn fit(rows: &[Vec<f32>]) -> Standardiser {
        let d = rows.first().map_or(0, Vec::len);
        let n = rows.len().max(1) as f64;
        let mut mean = vec![0.0; d];
        for row in rows {
            mean.iter_mut().zip(row).for_each(|(m, &x)| *m += x as f64 / n);
        }
        let mut var = vec![0.0; d];
        for row in rows {
            var.iter_mut().zip(row).zip(&mean).for_each(|((v, &x), m)| *v += (x as f64 - m).powi(2) / n);
        }
        let inv_std = var.iter().map(|v| if *v > 1e-24 { 1.0 / v.sqrt() } else { 0.0 }).collect();
        Standardiser { mean, inv_std }
    }

    /// Standardises one row.
    pub fn apply(&self, row: &[f32]) -> Vec<f64> {
        row.iter().zip(&self.mean).zip(&self.inv_std).map(|((&x, m), s)| (x as f64 - m) * s).collect()
    }
}

/// How the regression is fitted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitOptions {
    /// L2 penalty λ on the weights (not the bias): the objective is the mean log-loss plus
    /// `λ/2 · |w|²`.
    pub l2: f64,
    /// Most L-BFGS iterations.
    pub max_iterations: usize,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions { l2: 0.05, max_iterations: 1000 }
    }
}

/// `P(positive | x) = σ(w·x + b)`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticRegression {
    /// One weight per feature.
    pub weights: Vec<f64>,
    /// The intercept.
    pub bias: f64,
    /// L-BFGS iterations the fit took.
    pub iterations: usize,
}

impl LogisticRegression {
    /// Fits the model to `rows` (standardised features) and `positive` labels. Deterministic:
    /// it starts from zero and uses no randomness.
    pub fn fit(rows: &[Vec<f64>], positive: &[bool], options: FitOptions) -> LogisticRegression {
        assert_eq!(rows.len(), positive.len(), "one label per row");
        let d = rows.first().map_or(0, Vec::len);
        let n = rows.len().max(1) as f64;
        let objective = |theta: &[f64], grad: &mut [f64]| {
            let (w, b) = theta.split_at(d);
            grad.iter_mut().for_each(|g| *g = 0.0);
            let mut loss = 0.0;
            for (row, &pos) in rows.iter().zip(positive) {
                let t = if pos { 1.0 } else { -1.0 };
                let margin = t * (dot(w, row) + b[0]);
                loss += softplus(-margin);
                // d/ds log(1 + e^(-t s)) = -t σ(-t s)
                let coeff = -t * sigmoid(-margin) / n;
                grad[..d].iter_mut().zip(row).for_each(|(g, x)| *g += coeff * x);
                grad[d] += coeff;
            }
            grad[..d].iter_mut().zip(w).for_each(|(g, w)| *g += options.l2 * w);
            loss / n + 0.5 * options.l2 * dot(w, w)
        };
        let stop =
            Stopping { max_iterations: options.max_iterations, gradient_tolerance: 1e-6, relative_decrease: 1e-12 };
        let found = minimize(objective, vec![0.0; d + 1], stop);
        let mut weights = found.x;
        let bias = weights.pop().unwrap_or(0.0);
        LogisticRegression { weights, bias, iterations: found.iterations }
    }

    /// The score `w·x + b` (log-odds of the positive class).
    pub fn score(&self, row: &[f64]) -> f64 {
        dot(&self.weights, row) + self.bias
    }
}

/// `σ(z) = 1 / (1 + e^-z)`, without overflow.
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// `log(1 + e^z)`, without overflow.
fn softplus(z: f64) -> f64 {
    z.max(0.0) + (-z.abs()).exp().ln_1p()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::ChaCha8Rng;
    use rand::{RngExt, SeedableRng};

    /// Two Gaussian blobs in `d` dimensions, centred at ±`gap`/2 along the first axis, with
    /// the other features on wildly different scales.
    fn blobs(n: usize, d: usize, gap: f32, seed: u64) -> (Vec<Vec<f32>>, Vec<bool>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut rows = Vec::new();
        let mut labels = Vec::new();
        for i in 0..n {
            let pos = i % 2 == 0;
            let row: Vec<f32> = (0..d)
                .map(|j| {
                    let noise: f32 = rng.random_range(-1.0..1.0);
                    let scale = 10f32.powi(j as i32 % 4 - 1);
                    let centre = if j == 0 {
                        if pos {
                            gap / 2.0
                        } else {
                            -gap / 2.0
                        }
                    } else {
                        3.0
                    };
                    (centre + noise) * scale
                })
                .collect();
            rows.push(row);
            labels.push(pos);
        }
        (rows, labels)
    }

    #[test]
    fn standardiser_centres_and_scales_and_ignores_constants() {
        let rows = vec![vec![1.0, 5.0, 10.0], vec![3.0, 5.0, 30.0]];
        let s = Standardiser::fit(&rows);
        assert_eq!(s.mean, vec![2.0, 5.0, 20.0]);
        assert_eq!(s.inv_std, vec![1.0, 0.0, 0.1]);
        assert_eq!(s.apply(&rows[0]), vec![-1.0, 0.0, -1.0]);
    }

    #[test]
    fn separates_separable_data_perfectly() {
        let (rows, labels) = blobs(200, 6, 3.0, 1);
        let s = Standardiser::fit(&rows);
        let x: Vec<Vec<f64>> = rows.iter().map(|r| s.apply(r)).collect();
        let model = LogisticRegression::fit(&x, &labels, FitOptions { l2: 1e-3, ..Default::default() });
        let correct = x.iter().zip(&labels).filter(|(r, &l)| (model.score(r) > 0.0) == l).count();
        assert_eq!(correct, 200);
        assert!(model.weights[0] > 0.0, "the informative feature points towards the positive class");
        let (test_rows, test_labels) = blobs(100, 6, 3.0, 2);
        let ok = test_rows.iter().zip(&test_labels).filter(|(r, &l)| (model.score(&s.apply(r)) > 0.0) == l).count();
        assert_eq!(ok, 100, "generalises to fresh samples");
    }

    #[test]
    fn the_fit_is_the_penalised_optimum_and_deterministic() {
        let (rows, labels) = blobs(120, 5, 1.0, 3);
        let x: Vec<Vec<f64>> = rows.iter().map(|r| Standardiser::fit(&rows).apply(r)).collect();
        let options = FitOptions { l2: 0.1, ..Default::default() };
        let model = LogisticRegression::fit(&x, &labels, options);
        assert_eq!(LogisticRegression::fit(&x, &labels, options), model);
        // Stationarity: mean((p - y) x) + λ w = 0 and mean(p - y) = 0.
        let n = x.len() as f64;
        let residual: Vec<f64> =
            x.iter().zip(&labels).map(|(r, &l)| sigmoid(model.score(r)) - f64::from(u8::from(l))).collect();
        assert!((residual.iter().sum::<f64>() / n).abs() < 1e-5);
        for j in 0..5 {
            let g = x.iter().zip(&residual).map(|(r, e)| e * r[j]).sum::<f64>() / n + 0.1 * model.weights[j];
            assert!(g.abs() < 1e-5, "feature {j}: gradient {g}");
        }
    }

    #[test]
    fn sigmoid_is_stable() {
        assert_eq!(sigmoid(1000.0), 1.0);
        assert_eq!(sigmoid(-1000.0), 0.0);
        assert!((sigmoid(0.0) - 0.5).abs() < 1e-15);
        assert!((softplus(-1000.0)).abs() < 1e-300 && (softplus(1000.0) - 1000.0).abs() < 1e-9);
    }
}

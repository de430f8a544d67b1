//! The synthetic 50k × 12 classification task of the benchmark and the comparison example.

use infergate_learn::Dataset;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

/// `n` rows of 12 features uniform in [-1, 1]: six matter (linear terms, an interaction, a sine,
/// a square), six are noise; the label is a Bernoulli draw from the logistic of their sum.
pub fn task(n: usize, seed: u64) -> Dataset {
    let p = 12;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = Vec::with_capacity(n * p);
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let r: Vec<f64> = (0..p).map(|_| rng.random_range(-1.0..1.0)).collect();
        let logit = 2.0 * r[0] - 1.5 * r[1] + 4.0 * r[2] * r[3] + 2.0 * (3.0 * r[4]).sin() + 3.0 * r[5] * r[5] - 1.0;
        let prob = 1.0 / (1.0 + (-2.0 * logit).exp());
        y.push(f64::from(rng.random_range(0.0..1.0) < prob));
        x.extend(r);
    }
    Dataset::new((0..p).map(|i| format!("f{i}")).collect(), "label", x, y).unwrap()
}

/// A LightGBM booster trained with the crate's default `gbt` settings, with its single-row fast
/// path prepared: the comparison point for the crate's own tree walk.
pub fn lightgbm_fast(data: &Dataset) -> lightgbm3::Booster {
    let labels: Vec<f32> = data.y().iter().map(|&v| v as f32).collect();
    let ds = lightgbm3::Dataset::from_slice(data.x(), &labels, data.n_features() as i32, true).unwrap();
    let config = serde_json::json!({
        "objective": "binary", "num_iterations": 200, "learning_rate": 0.05, "num_leaves": 31,
        "min_data_in_leaf": 20, "num_threads": 1, "seed": 42, "deterministic": true,
        "force_row_wise": true, "verbosity": -1,
    });
    let mut booster = lightgbm3::Booster::train(ds, &config).unwrap();
    booster.single_row_fast_init::<f64>(Some(&serde_json::json!({"num_threads": 1, "verbosity": -1}))).unwrap();
    booster
}

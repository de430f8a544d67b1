//! Seeded synthetic datasets shared by the integration tests.
#![allow(dead_code)]

use infergate_learn::Dataset;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

fn names(p: usize) -> Vec<String> {
    (0..p).map(|i| format!("x{i}")).collect()
}

/// `n` rows of `p` features uniform in [-1, 1], labelled by `label`.
pub fn make(n: usize, p: usize, seed: u64, mut label: impl FnMut(&[f64], &mut ChaCha8Rng) -> f64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = Vec::with_capacity(n * p);
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let row: Vec<f64> = (0..p).map(|_| rng.random_range(-1.0..1.0)).collect();
        y.push(label(&row, &mut rng));
        x.extend(row);
    }
    Dataset::new(names(p), "y", x, y).unwrap()
}

/// Linearly separable: y = 1 when x0 + 0.5·x1 > 0; x2 is noise.
pub fn separable(n: usize, seed: u64) -> Dataset {
    make(n, 3, seed, |r, _| f64::from(r[0] + 0.5 * r[1] > 0.0))
}

/// XOR of the signs of x0 and x1; x2 is noise. No linear boundary does better than chance.
pub fn xor(n: usize, seed: u64) -> Dataset {
    make(n, 3, seed, |r, _| f64::from((r[0] > 0.0) != (r[1] > 0.0)))
}

/// y = 3·x0 - 2·x1 + uniform noise in [-0.2, 0.2].
pub fn plane(n: usize, seed: u64) -> Dataset {
    make(n, 2, seed, |r, rng| 3.0 * r[0] - 2.0 * r[1] + rng.random_range(-0.2..0.2))
}

/// Only x0 matters (with label noise); x1 is noise. Classification.
pub fn one_informative_label(n: usize, seed: u64) -> Dataset {
    make(n, 2, seed, |r, rng| f64::from(r[0] + rng.random_range(-0.3..0.3) > 0.0))
}

/// Only x0 matters; x1 is noise. Regression.
pub fn one_informative_value(n: usize, seed: u64) -> Dataset {
    make(n, 2, seed, |r, rng| 2.0 * r[0] + rng.random_range(-0.3..0.3))
}

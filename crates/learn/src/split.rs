//! Seeded, deterministic train/test splits and k-fold partitions, stratified by label.
//!
//! Stratification groups rows by their exact label value (the classes of a classifier); each
//! group is shuffled with a ChaCha8 generator seeded from the caller's seed, and then dealt
//! out, so every part keeps the class shares of the whole up to rounding.

use std::collections::BTreeMap;

use rand::rngs::ChaCha8Rng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::{Error, Result};

/// Row indices of a training part and a test part (each sorted ascending).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Rows to train on.
    pub train: Vec<usize>,
    /// Rows to evaluate on.
    pub test: Vec<usize>,
}

/// Rows grouped by label value (in ascending label order), each group shuffled by `rng`.
fn shuffled_groups(y: &[f64], rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
    let mut groups: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for (i, v) in y.iter().enumerate() {
        // -0.0 and 0.0 are the same class.
        let key = if *v == 0.0 { 0 } else { v.to_bits() };
        groups.entry(key).or_default().push(i);
    }
    let mut groups: Vec<Vec<usize>> = groups.into_values().collect();
    for g in &mut groups {
        g.shuffle(rng);
    }
    groups
}

/// Splits rows into train and test with `test_fraction` of each class (rounded) in test.
/// `stratify = false` treats all rows as one class (for regression targets).
pub fn train_test_split(y: &[f64], test_fraction: f64, stratify: bool, seed: u64) -> Result<Split> {
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(Error::InvalidSplit(format!("test fraction {test_fraction} is not between 0 and 1")));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let groups = if stratify { shuffled_groups(y, &mut rng) } else { shuffled_groups(&vec![0.0; y.len()], &mut rng) };
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for g in groups {
        let n_test = (g.len() as f64 * test_fraction).round() as usize;
        test.extend_from_slice(&g[..n_test]);
        train.extend_from_slice(&g[n_test..]);
    }
    if train.is_empty() || test.is_empty() {
        return Err(Error::InvalidSplit(format!(
            "{} rows with test fraction {test_fraction} leave an empty part",
            y.len()
        )));
    }
    train.sort_unstable();
    test.sort_unstable();
    Ok(Split { train, test })
}

/// Partitions rows into `k` folds; fold `i` tests on its rows and trains on the rest. Every
/// row is in exactly one test fold. With `stratify`, each class is dealt round-robin across the
/// folds (continuing where the previous class stopped), so fold sizes differ by at most one and
/// class shares are kept.
pub fn k_fold(y: &[f64], k: usize, stratify: bool, seed: u64) -> Result<Vec<Split>> {
    if k < 2 || k > y.len() {
        return Err(Error::InvalidSplit(format!("{k} folds for {} rows (need 2 <= k <= rows)", y.len())));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let groups = if stratify { shuffled_groups(y, &mut rng) } else { shuffled_groups(&vec![0.0; y.len()], &mut rng) };
    let mut fold_of = vec![0usize; y.len()];
    let mut next = 0usize;
    for g in groups {
        for i in g {
            fold_of[i] = next % k;
            next += 1;
        }
    }
    Ok((0..k)
        .map(|f| {
            let (test, train): (Vec<usize>, Vec<usize>) = (0..y.len()).partition(|&i| fold_of[i] == f);
            Split { train, test }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 300 rows: a third positive.
    fn labels() -> Vec<f64> {
        (0..300).map(|i| if i % 3 == 0 { 1.0 } else { 0.0 }).collect()
    }

    fn positive_share(y: &[f64], rows: &[usize]) -> f64 {
        rows.iter().map(|&i| y[i]).sum::<f64>() / rows.len() as f64
    }

    #[test]
    fn split_keeps_class_shares_and_is_deterministic() {
        let y = labels();
        let s = train_test_split(&y, 0.2, true, 7).unwrap();
        assert_eq!(s.test.len(), 60);
        assert_eq!(s.train.len(), 240);
        assert!((positive_share(&y, &s.test) - 1.0 / 3.0).abs() < 1e-9);
        assert!((positive_share(&y, &s.train) - 1.0 / 3.0).abs() < 1e-9);
        let mut all: Vec<usize> = s.train.iter().chain(&s.test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..300).collect::<Vec<_>>());
        assert_eq!(s, train_test_split(&y, 0.2, true, 7).unwrap());
        assert_ne!(s, train_test_split(&y, 0.2, true, 8).unwrap());
    }

    #[test]
    fn folds_cover_every_row_once_and_keep_shares() {
        let y = labels();
        let folds = k_fold(&y, 5, true, 1).unwrap();
        let mut seen = vec![0; y.len()];
        for f in &folds {
            assert_eq!(f.test.len(), 60);
            assert_eq!(f.train.len() + f.test.len(), y.len());
            assert!((positive_share(&y, &f.test) - 1.0 / 3.0).abs() < 1e-9);
            assert!(f.test.iter().all(|i| f.train.binary_search(i).is_err()));
            for &i in &f.test {
                seen[i] += 1;
            }
        }
        assert!(seen.iter().all(|&c| c == 1));
        assert_eq!(folds, k_fold(&y, 5, true, 1).unwrap());
        assert_ne!(folds, k_fold(&y, 5, true, 2).unwrap());
    }

    #[test]
    fn uneven_classes_differ_by_at_most_one_per_fold() {
        let y: Vec<f64> = (0..53).map(|i| if i < 11 { 1.0 } else { 0.0 }).collect();
        let folds = k_fold(&y, 4, true, 3).unwrap();
        for f in &folds {
            let pos = f.test.iter().filter(|&&i| y[i] == 1.0).count();
            assert!((2..=3).contains(&pos), "{pos}");
            assert!((13..=14).contains(&f.test.len()));
        }
        let unstratified = k_fold(&y, 4, false, 3).unwrap();
        assert_eq!(unstratified.iter().map(|f| f.test.len()).sum::<usize>(), 53);
    }

    #[test]
    fn bad_requests_are_errors() {
        assert!(k_fold(&[0.0, 1.0], 3, true, 0).is_err());
        assert!(k_fold(&[0.0, 1.0], 1, true, 0).is_err());
        assert!(train_test_split(&[0.0, 1.0], 1.5, true, 0).is_err());
        assert!(train_test_split(&[0.0], 0.5, true, 0).is_err());
    }
}

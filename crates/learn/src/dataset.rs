//! Tabular data: named features, a row-major matrix and one numeric label per row.

use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// A validated table: `x` holds `y.len()` rows of `feature_names.len()` finite values each,
/// row after row; `y` holds one finite label per row (0/1 for classification).
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    feature_names: Vec<String>,
    target: String,
    x: Vec<f64>,
    y: Vec<f64>,
}

impl Dataset {
    /// Builds a dataset from a row-major matrix; errors on a length mismatch, duplicate or
    /// empty feature names, or a NaN/infinite value (naming the row and column).
    pub fn new(feature_names: Vec<String>, target: impl Into<String>, x: Vec<f64>, y: Vec<f64>) -> Result<Self> {
        let p = feature_names.len();
        if p == 0 {
            return Err(Error::InvalidDataset("no features".into()));
        }
        for (i, name) in feature_names.iter().enumerate() {
            if name.is_empty() {
                return Err(Error::InvalidDataset(format!("feature {i} has an empty name")));
            }
            if feature_names[..i].contains(name) {
                return Err(Error::InvalidDataset(format!("feature name `{name}` appears twice")));
            }
        }
        if x.len() != p * y.len() {
            return Err(Error::InvalidDataset(format!(
                "{} values for {} rows of {p} features (expected {})",
                x.len(),
                y.len(),
                p * y.len()
            )));
        }
        if let Some(row) = y.iter().position(|v| !v.is_finite()) {
            return Err(Error::InvalidDataset(format!("label of row {row} is {}", y[row])));
        }
        if let Some(at) = x.iter().position(|v| !v.is_finite()) {
            return Err(Error::InvalidDataset(format!(
                "row {} feature `{}` is {}",
                at / p,
                feature_names[at % p],
                x[at]
            )));
        }
        Ok(Dataset { feature_names, target: target.into(), x, y })
    }

    /// Builds a dataset from one `Vec` per row; errors like [`Dataset::new`], and on a row whose
    /// length differs from the number of feature names.
    pub fn from_rows(
        feature_names: Vec<String>,
        target: impl Into<String>,
        rows: Vec<Vec<f64>>,
        y: Vec<f64>,
    ) -> Result<Self> {
        let p = feature_names.len();
        if let Some(bad) = rows.iter().position(|r| r.len() != p) {
            return Err(Error::InvalidDataset(format!("row {bad} has {} values, expected {p}", rows[bad].len())));
        }
        Dataset::new(feature_names, target, rows.concat(), y)
    }

    /// The feature names, in column order.
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// The name of the label column.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Number of features (columns).
    pub fn n_features(&self) -> usize {
        self.feature_names.len()
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.y.len()
    }

    /// The row-major feature matrix.
    pub fn x(&self) -> &[f64] {
        &self.x
    }

    /// The labels, one per row.
    pub fn y(&self) -> &[f64] {
        &self.y
    }

    /// Row `i` (panics when out of range, like slice indexing).
    pub fn row(&self, i: usize) -> &[f64] {
        let p = self.n_features();
        &self.x[i * p..(i + 1) * p]
    }

    /// Iterates over the rows in order.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = &[f64]> + '_ {
        self.x.chunks_exact(self.n_features())
    }

    /// A new dataset with the given rows (in the given order; repeats allowed).
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        let mut x = Vec::with_capacity(indices.len() * self.n_features());
        for &i in indices {
            x.extend_from_slice(self.row(i));
        }
        Dataset {
            feature_names: self.feature_names.clone(),
            target: self.target.clone(),
            x,
            y: indices.iter().map(|&i| self.y[i]).collect(),
        }
    }

    /// Checks that every label is 0 or 1 (what the classifiers need).
    pub fn check_binary(&self) -> Result<()> {
        if let Some(row) = self.y.iter().position(|&v| v != 0.0 && v != 1.0) {
            return Err(Error::Training(format!(
                "classification labels must be 0 or 1; row {row} has {}",
                self.y[row]
            )));
        }
        Ok(())
    }

    /// SHA-256 (lower-case hex) of a canonical encoding: a version tag, the feature names and the
    /// target name (each length-prefixed), the row and column counts, then every value of `x`
    /// and `y` as little-endian IEEE 754 bits. Equal datasets hash equal on every platform.
    pub fn hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"infergate-learn/dataset/1\0");
        let put_str = |h: &mut Sha256, s: &str| {
            h.update((s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        };
        h.update((self.n_features() as u64).to_le_bytes());
        for name in &self.feature_names {
            put_str(&mut h, name);
        }
        put_str(&mut h, &self.target);
        h.update((self.n_rows() as u64).to_le_bytes());
        for v in self.x.iter().chain(&self.y) {
            h.update(v.to_bits().to_le_bytes());
        }
        hex::encode(h.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("f{i}")).collect()
    }

    #[test]
    fn validation_names_the_problem() {
        let e = Dataset::new(names(2), "y", vec![1.0, 2.0, 3.0], vec![0.0, 1.0]).unwrap_err();
        assert!(e.to_string().contains("3 values for 2 rows"), "{e}");
        let e = Dataset::new(names(1), "y", vec![1.0, 2.0], vec![0.0, f64::NAN]).unwrap_err();
        assert!(e.to_string().contains("label of row 1 is NaN"), "{e}");
        let e = Dataset::new(names(2), "y", vec![1.0, f64::INFINITY], vec![0.0]).unwrap_err();
        assert!(e.to_string().contains("row 0 feature `f1` is inf"), "{e}");
        let e = Dataset::from_rows(names(2), "y", vec![vec![1.0, 2.0], vec![1.0]], vec![0.0, 1.0]).unwrap_err();
        assert!(e.to_string().contains("row 1 has 1 values"), "{e}");
        let e = Dataset::new(vec!["a".into(), "a".into()], "y", vec![], vec![]).unwrap_err();
        assert!(e.to_string().contains("twice"), "{e}");
    }

    #[test]
    fn rows_and_subsets() {
        let d = Dataset::from_rows(names(2), "y", vec![vec![1.0, 2.0], vec![3.0, 4.0]], vec![0.0, 1.0]).unwrap();
        assert_eq!(d.row(1), &[3.0, 4.0]);
        assert_eq!(d.rows().count(), 2);
        let s = d.subset(&[1, 1, 0]);
        assert_eq!(s.x(), &[3.0, 4.0, 3.0, 4.0, 1.0, 2.0]);
        assert_eq!(s.y(), &[1.0, 1.0, 0.0]);
    }

    #[test]
    fn hash_is_canonical_and_sensitive() {
        let d = Dataset::new(names(2), "y", vec![1.0, 2.0], vec![1.0]).unwrap();
        assert_eq!(d.hash(), d.clone().hash());
        assert_eq!(d.hash().len(), 64);
        let renamed = Dataset::new(vec!["f0".into(), "g1".into()], "y", vec![1.0, 2.0], vec![1.0]).unwrap();
        let changed = Dataset::new(names(2), "y", vec![1.0, 2.5], vec![1.0]).unwrap();
        let relabelled = Dataset::new(names(2), "y", vec![1.0, 2.0], vec![0.0]).unwrap();
        let retargeted = Dataset::new(names(2), "z", vec![1.0, 2.0], vec![1.0]).unwrap();
        for other in [renamed, changed, relabelled, retargeted] {
            assert_ne!(d.hash(), other.hash());
        }
    }
}

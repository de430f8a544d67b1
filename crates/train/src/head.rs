//! The cat/dog head: standardisation plus logistic regression on a base model's features,
//! and the single linear layer it folds into for export.

use crate::logistic::{sigmoid, FitOptions, LogisticRegression, Standardiser};

/// A cat/dog classifier on feature vectors. Class indices follow [`crate::LABELS`]
/// (0 = cat, 1 = dog).
#[derive(Debug, Clone, PartialEq)]
pub struct CatDogHead {
    /// Feature standardisation learnt from the training rows.
    pub standardiser: Standardiser,
    /// The regression on standardised features; its positive class is `dog`.
    pub regression: LogisticRegression,
}

impl CatDogHead {
    /// Fits the head to feature rows and their class indices (0 = cat, 1 = dog).
    pub fn fit(features: &[Vec<f32>], classes: &[usize], options: FitOptions) -> CatDogHead {
        let standardiser = Standardiser::fit(features);
        let rows: Vec<Vec<f64>> = features.iter().map(|f| standardiser.apply(f)).collect();
        let dog: Vec<bool> = classes.iter().map(|&c| c == 1).collect();
        CatDogHead { regression: LogisticRegression::fit(&rows, &dog, options), standardiser }
    }

    /// `[P(cat), P(dog)]` for one feature vector.
    pub fn probabilities(&self, features: &[f32]) -> [f32; 2] {
        let dog = sigmoid(self.regression.score(&self.standardiser.apply(features)));
        [(1.0 - dog) as f32, dog as f32]
    }

    /// The likelier class index (cat on a tie).
    pub fn predict(&self, features: &[f32]) -> usize {
        let [cat, dog] = self.probabilities(features);
        usize::from(dog > cat)
    }

    /// The head as one linear layer on raw features: `weights` (`[2, features]`, row-major)
    /// and `bias` such that `softmax(weights · x + bias)` equals [`Self::probabilities`].
    ///
    /// With score `s = w·((x - μ)/σ) + b`, the logits are `[-s/2, s/2]` (softmax of which is
    /// `[1 - σ(s), σ(s)]`), so the standardisation folds into `w/σ` and `b - Σ w μ/σ`.
    pub fn linear_layer(&self) -> (Vec<f32>, [f32; 2]) {
        let Standardiser { mean, inv_std } = &self.standardiser;
        let scaled: Vec<f64> = self.regression.weights.iter().zip(inv_std).map(|(w, s)| w * s).collect();
        let offset = self.regression.bias - scaled.iter().zip(mean).map(|(w, m)| w * m).sum::<f64>();
        let dog_row = scaled.iter().map(|w| (w / 2.0) as f32);
        let cat_row = scaled.iter().map(|w| (-w / 2.0) as f32);
        (cat_row.chain(dog_row).collect(), [(-offset / 2.0) as f32, (offset / 2.0) as f32])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use infergate_core::softmax;

    #[test]
    fn the_folded_layer_gives_the_same_probabilities() {
        let features = vec![vec![1.0, 200.0, 0.5], vec![2.0, 100.0, 0.5], vec![3.0, 400.0, 0.5], vec![4.0, 300.0, 0.5]];
        let head = CatDogHead::fit(&features, &[0, 0, 1, 1], FitOptions { l2: 0.1, ..Default::default() });
        let (w, b) = head.linear_layer();
        assert_eq!(w.len(), 6);
        for x in features.iter().chain([&vec![2.5, 250.0, 0.5], &vec![-3.0, 0.0, 9.0]]) {
            let logits: Vec<f32> =
                (0..2).map(|c| w[c * 3..c * 3 + 3].iter().zip(x).map(|(w, x)| w * x).sum::<f32>() + b[c]).collect();
            let folded = softmax(&logits);
            let direct = head.probabilities(x);
            for c in 0..2 {
                assert!((folded[c] - direct[c]).abs() < 1e-5, "{x:?}: {folded:?} vs {direct:?}");
            }
        }
        assert_eq!(head.predict(&features[0]), 0);
        assert_eq!(head.predict(&features[3]), 1);
    }
}

//! The input the benchmark feeds the model: synthetic, deterministic, batch 1.

use infergate_runtime::ModelIo;
use serde::Serialize;

use crate::error::MeasureError;

/// One input tensor for the model (f32, batch first).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Input {
    /// Dimensions, batch first.
    pub shape: Vec<usize>,
    /// Row-major values.
    #[serde(skip)]
    pub data: Vec<f32>,
}

impl Input {
    /// A batch-1 input of the model's declared input shape, filled with pseudo-random values in
    /// [-1, 1) from `seed` (the same seed gives the same values on every machine).
    ///
    /// A dynamic first dimension is the batch and becomes 1; any other dynamic dimension is an
    /// error ([`MeasureError::DynamicInput`]), since its size cannot be guessed.
    pub fn synthetic(io: &ModelIo, seed: u64) -> Result<Input, MeasureError> {
        let shape = batch_one_shape(&io.input_name, &io.input_shape)?;
        let len = shape.iter().product();
        Ok(Input { shape, data: pseudo_random(seed, len) })
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when the tensor has no values.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// The declared shape with a dynamic batch set to 1.
fn batch_one_shape(name: &str, declared: &[i64]) -> Result<Vec<usize>, MeasureError> {
    let dynamic = |index| MeasureError::DynamicInput { input: name.to_string(), shape: declared.to_vec(), index };
    if declared.is_empty() {
        return Err(dynamic(0));
    }
    declared
        .iter()
        .enumerate()
        .map(|(i, &d)| match (i, usize::try_from(d)) {
            (_, Ok(d)) if d > 0 => Ok(d),
            (0, _) => Ok(1),
            (i, _) => Err(dynamic(i)),
        })
        .collect()
}

/// `len` values in [-1, 1) from a 64-bit linear congruential generator (Knuth's MMIX constants),
/// taking the top 24 bits of each state so every value is an exact f32.
fn pseudo_random(seed: u64, len: usize) -> Vec<f32> {
    let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io(shape: &[i64]) -> ModelIo {
        ModelIo { input_name: "x".into(), input_shape: shape.to_vec(), ..Default::default() }
    }

    #[test]
    fn batch_becomes_one_and_values_are_deterministic() {
        let a = Input::synthetic(&io(&[-1, 3, 4, 4]), 7).unwrap();
        assert_eq!(a.shape, vec![1, 3, 4, 4]);
        assert_eq!(a.len(), 48);
        assert_eq!(a, Input::synthetic(&io(&[-1, 3, 4, 4]), 7).unwrap());
        assert_ne!(a.data, Input::synthetic(&io(&[-1, 3, 4, 4]), 8).unwrap().data);
        assert!(a.data.iter().all(|v| (-1.0..1.0).contains(v)));
        let mean = a.data.iter().sum::<f32>() / a.len() as f32;
        assert!(mean.abs() < 0.3, "{mean}");
        assert_eq!(Input::synthetic(&io(&[2, 5]), 1).unwrap().shape, vec![2, 5]);
    }

    #[test]
    fn other_dynamic_dims_are_refused() {
        let err = Input::synthetic(&io(&[1, 3, -1, -1]), 1).unwrap_err();
        assert!(matches!(err, MeasureError::DynamicInput { index: 2, .. }), "{err}");
        assert!(Input::synthetic(&io(&[]), 1).is_err());
    }
}

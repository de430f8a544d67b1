//! What the predictor knows of a model before running it: its structure (MACs, parameters,
//! layers, input size, kernel mix, depthwise convolutions), from an ONNX profile or from a
//! dataset's columns and model names.

use serde::{Deserialize, Serialize};

/// A model's structure. MACs and parameters are always known; the rest may not be (the seed's
/// schema has neither layers nor kernels), and a predictor uses only what all of its training
/// rows had.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Features {
    /// Multiply-accumulates of Conv + Gemm/MatMul per inference.
    pub macs: f64,
    /// Parameters.
    pub params: f64,
    /// Compute layers (convolutions and fully connected).
    pub layers: Option<f64>,
    /// Input height/width, pixels.
    pub input_size: Option<f64>,
    /// Largest number of convolution output channels.
    pub filters_max: Option<f64>,
    /// Mean convolution kernel size.
    pub kernel_mean: Option<f64>,
    /// Largest convolution kernel size.
    pub kernel_max: Option<f64>,
    /// 1 when the model has depthwise convolutions, else 0.
    pub depthwise: Option<f64>,
}

/// Every feature a predictor may use, in vector order.
///
/// The mean kernel size is read and profiled but not used: held out family by family on the
/// Jetson Nano data it hurts. A mix of 1×1 and 7×7 layers has the mean of a 4×4 model and
/// behaves nothing like one, so the held-out mixed-kernel family went from 5.7 % MAPE without it
/// to 13.6 % with it (mean over the families 5.6 % against 6.6 %); the largest kernel, which
/// dominates the MACs, carries what the mean was meant to.
pub const FEATURE_NAMES: [&str; 7] =
    ["ln_macs", "ln_params", "layers", "input_size", "filters_max", "kernel_max", "depthwise"];

impl Features {
    /// A profiled ONNX model's structure, counted as the measured datasets count it: layers are
    /// convolution layers with a depthwise-separable pair counted once, and the kernel mean is over
    /// those layers (not MAC-weighted), as the generated models' names (`K1x1_1_K3x3_3`) give it.
    /// Without convolutions the convolution features are unknown.
    pub fn from_profile(p: &infergate_profile::ModelProfile) -> Features {
        let conv = |v: f64| (p.conv_layers > 0).then_some(v);
        Features {
            macs: p.macs as f64,
            params: p.params as f64,
            layers: conv(f64::from(p.conv_layers)),
            input_size: (p.input_size > 0).then_some(p.input_size as f64),
            filters_max: conv(p.filters_max as f64),
            kernel_mean: conv(p.layer_kernel_mean),
            kernel_max: conv(p.kernel_max as f64),
            depthwise: Some(if p.depthwise { 1.0 } else { 0.0 }),
        }
    }

    /// The value of a feature of [`FEATURE_NAMES`] (or `kernel_mean`); `None` when unknown.
    pub fn value(&self, name: &str) -> Option<f64> {
        match name {
            "ln_macs" => Some(self.macs.ln()),
            "ln_params" => Some(self.params.ln()),
            "layers" => self.layers,
            "input_size" => self.input_size,
            "filters_max" => self.filters_max,
            "kernel_mean" => self.kernel_mean,
            "kernel_max" => self.kernel_max,
            "depthwise" => self.depthwise,
            _ => None,
        }
    }

    /// The values of `names`, in order; the first unknown one is the error.
    pub fn vector(&self, names: &[impl AsRef<str>]) -> Result<Vec<f64>, String> {
        names
            .iter()
            .map(|n| self.value(n.as_ref()).filter(|v| v.is_finite()).ok_or_else(|| n.as_ref().to_string()))
            .collect()
    }

    /// Checks that every number is finite and in range; the error names the field.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        let positive = |name, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err((name, format!("must be a positive number, not {v}")))
            }
        };
        positive("macs", self.macs)?;
        positive("params", self.params)?;
        for (name, v) in [
            ("layers", self.layers),
            ("input_size", self.input_size),
            ("filters_max", self.filters_max),
            ("kernel_mean", self.kernel_mean),
            ("kernel_max", self.kernel_max),
        ] {
            if let Some(v) = v {
                positive(name, v)?;
            }
        }
        if let Some(d) = self.depthwise {
            if d != 0.0 && d != 1.0 {
                return Err(("depthwise", format!("must be true/false (1/0), not {d}")));
            }
        }
        Ok(())
    }
}

/// What a generated model's name says of its structure (`convnet_L2_F128_K1x1_1_K3x3_1_W80`:
/// 128 filters, one 1×1 and one 3×3 layer; a `_DWS` suffix: depthwise separable).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct NameMix {
    /// `F<n>`.
    pub filters: Option<f64>,
    /// Mean of the `K<h>x<w>` kernel heights, weighted by their layer counts.
    pub kernel_mean: Option<f64>,
    /// Largest kernel height.
    pub kernel_max: Option<f64>,
    /// Present when the name ends in `_DWS`.
    pub depthwise: Option<bool>,
}

/// Reads [`NameMix`] from a model name; fields the name does not have are `None`.
pub fn kernel_mix_from_name(name: &str) -> NameMix {
    let tokens: Vec<&str> = name.split('_').collect();
    let mut mix = NameMix::default();
    let (mut weighted, mut count, mut max) = (0.0, 0.0, 0.0f64);
    for (i, t) in tokens.iter().enumerate() {
        if let Some(n) = t.strip_prefix('F').and_then(|n| n.parse::<f64>().ok()) {
            mix.filters = Some(n);
        }
        if let Some((h, w)) = t.strip_prefix('K').and_then(|k| k.split_once('x')) {
            let (Ok(h), Ok(_)) = (h.parse::<f64>(), w.parse::<f64>()) else { continue };
            // An optional layer count follows (`K3x3_2`); it is a bare number.
            let layers = tokens.get(i + 1).and_then(|n| n.parse::<f64>().ok()).unwrap_or(1.0);
            weighted += h * layers;
            count += layers;
            max = max.max(h);
        }
        if t.eq_ignore_ascii_case("dws") {
            mix.depthwise = Some(true);
        }
    }
    if count > 0.0 {
        mix.kernel_mean = Some(weighted / count);
        mix.kernel_max = Some(max);
    }
    mix
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_by_hand() {
        let m = kernel_mix_from_name("convnet_L2_F128_K1x1_1_K3x3_3_W80");
        assert_eq!(m.filters, Some(128.0));
        assert_eq!(m.kernel_mean, Some((1.0 + 9.0) / 4.0));
        assert_eq!(m.kernel_max, Some(3.0));
        assert_eq!(m.depthwise, None);
        let m = kernel_mix_from_name("convnet_L5_F256_K2x2_W55_DWS");
        assert_eq!((m.kernel_mean, m.depthwise), (Some(2.0), Some(true)));
        assert_eq!(kernel_mix_from_name("resnet18"), NameMix::default());
    }
}

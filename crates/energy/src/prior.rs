//! The physics prior: energy per inference ≈ the device's power × the latency, with latency
//! from MACs and the device's throughput profile, `ln latency = a + b·ln MACs` (b < 1: small
//! models do not reach the device's full throughput).
//!
//! It answers where no trained model does, labelled as such, and it is what a new device's
//! first measurements calibrate: with fewer than [`FIT_SLOPE_FROM`] of them, the power is
//! their median and only the intercept `a` is fitted (the slope is the reference device's);
//! from then on the slope too. Every calibration starts again from all the measurements, so
//! predictions improve as measurements arrive.

use crate::dataset::Measurement;
use crate::logmodel::line;
use serde::{Deserialize, Serialize};

/// Measurements from which the slope is fitted too.
pub const FIT_SLOPE_FROM: usize = 20;

/// A device's power and throughput profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DevicePrior {
    /// The device.
    pub device: String,
    /// Median power while running inference, mW.
    pub power_mw: f64,
    /// `a` of `ln latency_ms = a + b·ln MACs`.
    pub ln_latency_intercept: f64,
    /// `b`.
    pub ln_latency_slope: f64,
    /// Measurements it was fitted on.
    pub measurements: usize,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

impl DevicePrior {
    /// Fits power, intercept and slope on `rows` (at least 2 with different MACs).
    pub fn fit(device: &str, rows: &[&Measurement]) -> Option<DevicePrior> {
        if rows.len() < 2 {
            return None;
        }
        let x: Vec<f64> = rows.iter().map(|m| m.features.macs.ln()).collect();
        let y: Vec<f64> = rows.iter().map(|m| m.latency_ms.ln()).collect();
        let (a, b) = line(&x, &y);
        Some(DevicePrior {
            device: device.to_string(),
            power_mw: median(rows.iter().map(|m| m.power_mw).collect()),
            ln_latency_intercept: a,
            ln_latency_slope: b,
            measurements: rows.len(),
        })
        .filter(|p| p.power_mw.is_finite() && a.is_finite() && b.is_finite())
    }

    /// This profile calibrated for `device` by its own measurements (see the module doc);
    /// no measurements: this profile, renamed.
    pub fn calibrated(&self, device: &str, rows: &[&Measurement]) -> DevicePrior {
        if rows.len() >= FIT_SLOPE_FROM {
            if let Some(p) = DevicePrior::fit(device, rows) {
                return p;
            }
        }
        if rows.is_empty() {
            return DevicePrior { device: device.to_string(), measurements: 0, ..self.clone() };
        }
        let b = self.ln_latency_slope;
        DevicePrior {
            device: device.to_string(),
            power_mw: median(rows.iter().map(|m| m.power_mw).collect()),
            ln_latency_intercept: median(rows.iter().map(|m| m.latency_ms.ln() - b * m.features.macs.ln()).collect()),
            ln_latency_slope: b,
            measurements: rows.len(),
        }
    }

    /// Predicted latency, ms.
    pub fn latency_ms(&self, macs: f64) -> f64 {
        (self.ln_latency_intercept + self.ln_latency_slope * macs.ln()).exp()
    }

    /// Predicted energy per inference, mWh (power × latency).
    pub fn energy_mwh(&self, macs: f64) -> f64 {
        self.power_mw * self.latency_ms(macs) / 1e3 / 3600.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::Features;

    fn m(macs: f64, latency_ms: f64, power_mw: f64) -> Measurement {
        Measurement {
            model: "m".into(),
            family: "f".into(),
            device: "d".into(),
            features: Features {
                macs,
                params: 1.0,
                layers: None,
                input_size: None,
                filters_max: None,
                kernel_mean: None,
                kernel_max: None,
                depthwise: None,
            },
            latency_ms,
            power_mw,
            energy_mwh: power_mw * latency_ms / 3.6e6,
        }
    }

    #[test]
    fn fit_and_calibrate_by_hand() {
        // latency = MACs / 1e6 ms exactly (a = ln 1e-6, b = 1); 3600 mW.
        let rows = [m(1e8, 100.0, 3600.0), m(1e9, 1000.0, 3600.0), m(1e7, 10.0, 3600.0)];
        let refs: Vec<&Measurement> = rows.iter().collect();
        let p = DevicePrior::fit("ref", &refs).unwrap();
        assert!((p.ln_latency_slope - 1.0).abs() < 1e-12);
        assert!((p.latency_ms(5e8) - 500.0).abs() < 1e-6);
        // 3600 mW × 0.5 s = 0.5 mWh.
        assert!((p.energy_mwh(5e8) - 0.5).abs() < 1e-9);
        // A device twice as slow at half the power: one measurement moves the intercept and power.
        let new = [m(1e8, 200.0, 1800.0)];
        let c = p.calibrated("new", &new.iter().collect::<Vec<_>>());
        assert_eq!((c.device.as_str(), c.measurements, c.power_mw), ("new", 1, 1800.0));
        assert!((c.latency_ms(1e9) - 2000.0).abs() < 1e-6, "the slope stays the reference's");
        assert_eq!(p.calibrated("x", &[]).ln_latency_intercept, p.ln_latency_intercept);
        assert!(DevicePrior::fit("one", &refs[..1]).is_none());
    }
}

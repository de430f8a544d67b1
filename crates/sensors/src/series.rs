//! Time series of power samples and their integration to energy.

use serde::{Deserialize, Serialize};

/// One power sample: time in seconds (any origin) and power in milliwatts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PowerSample {
    /// Time in seconds.
    pub t_s: f64,
    /// Power in milliwatts.
    pub power_mw: f64,
}

/// Power samples in non-decreasing time order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PowerSeries {
    samples: Vec<PowerSample>,
}

/// Trapezoidal integral of `(t_s, value)` points: Σ (t₁ − t₀)(v₀ + v₁)/2.
///
/// Units: value × seconds (mW × s = mJ). Fewer than two points give 0.
pub fn trapezoid(points: &[(f64, f64)]) -> f64 {
    points.windows(2).map(|w| (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0).sum()
}

impl PowerSeries {
    /// Empty series.
    pub fn new() -> Self {
        Self::default()
    }

    /// Append a sample. Samples that are not finite or go back in time are rejected (returns
    /// `false`), so the series stays ordered.
    pub fn push(&mut self, t_s: f64, power_mw: f64) -> bool {
        if !t_s.is_finite() || !power_mw.is_finite() || self.samples.last().is_some_and(|l| t_s < l.t_s) {
            return false;
        }
        self.samples.push(PowerSample { t_s, power_mw });
        true
    }

    /// The samples.
    pub fn samples(&self) -> &[PowerSample] {
        &self.samples
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Time from first to last sample, in seconds (0 for fewer than two samples).
    pub fn duration_s(&self) -> f64 {
        match (self.samples.first(), self.samples.last()) {
            (Some(a), Some(b)) => b.t_s - a.t_s,
            _ => 0.0,
        }
    }

    /// Energy in millijoules, by trapezoidal integration of power over time.
    ///
    /// `None` with fewer than two samples (no interval to integrate over).
    pub fn energy_mj(&self) -> Option<f64> {
        if self.samples.len() < 2 {
            return None;
        }
        let pts: Vec<(f64, f64)> = self.samples.iter().map(|s| (s.t_s, s.power_mw)).collect();
        Some(trapezoid(&pts))
    }

    /// Energy in milliwatt-hours (mJ / 3600).
    pub fn energy_mwh(&self) -> Option<f64> {
        self.energy_mj().map(|mj| mj / 3600.0)
    }

    /// Mean power in mW: energy / duration (time-weighted); the plain mean of the samples when they
    /// span no time; `None` when empty.
    pub fn mean_power_mw(&self) -> Option<f64> {
        let d = self.duration_s();
        if self.samples.is_empty() {
            None
        } else if d > 0.0 {
            self.energy_mj().map(|e| e / d)
        } else {
            Some(self.samples.iter().map(|s| s.power_mw).sum::<f64>() / self.samples.len() as f64)
        }
    }

    /// The part of the series within `[t0_s, t1_s]`.
    ///
    /// Where the window edge falls between two samples, a sample is interpolated linearly at the
    /// edge, so the energy of the window is exact for piecewise-linear power. The window is clipped
    /// to the data: nothing is extrapolated. An empty or inverted window gives an empty series.
    pub fn window(&self, t0_s: f64, t1_s: f64) -> PowerSeries {
        let mut out = PowerSeries::new();
        if self.samples.is_empty() || t1_s < t0_s || t0_s.is_nan() || t1_s.is_nan() {
            return out;
        }
        let interp = |a: &PowerSample, b: &PowerSample, t: f64| {
            if b.t_s == a.t_s {
                a.power_mw
            } else {
                a.power_mw + (b.power_mw - a.power_mw) * (t - a.t_s) / (b.t_s - a.t_s)
            }
        };
        for (i, s) in self.samples.iter().enumerate() {
            if let Some(prev) = i.checked_sub(1).map(|j| &self.samples[j]) {
                // Entering the window between prev and s.
                if prev.t_s < t0_s && s.t_s > t0_s {
                    out.push(t0_s, interp(prev, s, t0_s));
                }
                // Leaving the window between prev and s.
                if prev.t_s < t1_s && s.t_s > t1_s {
                    out.push(t1_s, interp(prev, s, t1_s));
                }
            }
            if s.t_s >= t0_s && s.t_s <= t1_s {
                out.push(s.t_s, s.power_mw);
            }
        }
        out
    }
}

impl FromIterator<(f64, f64)> for PowerSeries {
    /// Collect `(t_s, power_mw)` pairs; out-of-order or non-finite pairs are dropped.
    fn from_iter<I: IntoIterator<Item = (f64, f64)>>(iter: I) -> Self {
        let mut s = PowerSeries::new();
        for (t, p) in iter {
            s.push(t, p);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_power() {
        let s: PowerSeries = (0..=10).map(|i| (i as f64, 2000.0)).collect();
        assert_eq!(s.energy_mj(), Some(20_000.0));
        assert_eq!(s.mean_power_mw(), Some(2000.0));
    }

    #[test]
    fn ramp_and_window() {
        // P = 100 t mW from t = 0 to 10 s: energy = 50 t² = 5000 mJ.
        let s: PowerSeries = (0..=10).map(|i| (i as f64, 100.0 * i as f64)).collect();
        assert!((s.energy_mj().unwrap() - 5000.0).abs() < 1e-9);
        // Window [2.5, 4.5]: 50 (4.5² − 2.5²) = 700 mJ.
        let w = s.window(2.5, 4.5);
        assert!((w.energy_mj().unwrap() - 700.0).abs() < 1e-9, "{:?}", w);
        assert_eq!(w.samples().first().unwrap().t_s, 2.5);
        assert_eq!(w.samples().last().unwrap().t_s, 4.5);
        // Clipped to the data.
        assert_eq!(s.window(-5.0, 50.0).len(), 11);
        assert!(s.window(5.0, 4.0).is_empty());
    }

    #[test]
    fn rejects_backwards_and_nan() {
        let mut s = PowerSeries::new();
        assert!(s.push(1.0, 1.0));
        assert!(!s.push(0.5, 1.0));
        assert!(!s.push(2.0, f64::NAN));
        assert_eq!(s.len(), 1);
        assert_eq!(s.energy_mj(), None);
        assert_eq!(s.mean_power_mw(), Some(1.0));
    }
}

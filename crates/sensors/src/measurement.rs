//! The result of measuring one source over an interval.

use serde::{Deserialize, Serialize};

use crate::rail::Rail;
use crate::series::PowerSeries;
use crate::source::Unavailable;

/// Energy and mean power of one source over one interval.
///
/// Units: `energy_mj` millijoules, `mean_power_mw` milliwatts, `duration_s` seconds. A value that
/// could not be measured is `None` (never 0), and `error` says why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// Source name (`rapl`, `hwmon:ina3221`, `iio`, `nvml`, `vcgencmd`, `tegrastats`, `meter`), or
    /// `none` when no source was available.
    pub source: String,
    /// Channel label within the source (`package-0`, `VDD_IN`, ...); empty for `none`.
    pub label: String,
    /// Rail measured.
    pub rail: Rail,
    /// Energy over the interval in mJ.
    pub energy_mj: Option<f64>,
    /// Mean power over the interval in mW.
    pub mean_power_mw: Option<f64>,
    /// Number of successful readings used.
    pub samples: usize,
    /// Length of the interval in seconds.
    pub duration_s: f64,
    /// Why the values are missing or may be incomplete (failed reads, counter reset, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Source name of the placeholder measurement when no source is available.
pub const NO_SOURCE: &str = "none";

impl Measurement {
    /// The placeholder for "nothing could be measured": source `none`, no energy, no power.
    pub fn none(duration_s: f64) -> Self {
        Measurement {
            source: NO_SOURCE.into(),
            label: String::new(),
            rail: Rail::Other(NO_SOURCE.into()),
            energy_mj: None,
            mean_power_mw: None,
            samples: 0,
            duration_s,
            error: Some("no power or energy source available".into()),
        }
    }

    /// A source that was found but could not be read, with its reason.
    pub fn unavailable(u: &Unavailable, duration_s: f64) -> Self {
        Measurement {
            source: u.name.clone(),
            label: u.label.clone(),
            rail: u.rail.clone(),
            energy_mj: None,
            mean_power_mw: None,
            samples: 0,
            duration_s,
            error: Some(u.reason.clone()),
        }
    }

    /// Energy and mean power of a sampled power series (trapezoidal integration).
    pub fn from_series(source: &str, label: &str, rail: Rail, series: &PowerSeries) -> Self {
        let error = match series.len() {
            0 => Some("no samples".to_string()),
            1 => Some("a single sample: no interval to integrate".to_string()),
            _ => None,
        };
        Measurement {
            source: source.into(),
            label: label.into(),
            rail,
            energy_mj: series.energy_mj(),
            mean_power_mw: series.mean_power_mw(),
            samples: series.len(),
            duration_s: series.duration_s(),
            error,
        }
    }

    /// True when an energy value is present.
    pub fn has_energy(&self) -> bool {
        self.energy_mj.is_some()
    }

    /// Energy above an idle baseline: `energy_mj − baseline_mw × duration_s`, in mJ.
    ///
    /// `None` when this measurement has no energy. May be negative if the baseline was noisy.
    pub fn dynamic_energy_mj(&self, baseline_mw: f64) -> Option<f64> {
        Some(self.energy_mj? - baseline_mw * self.duration_s)
    }

    /// Energy in joules.
    pub fn energy_j(&self) -> Option<f64> {
        self.energy_mj.map(|e| e / 1000.0)
    }
}

/// The measurement best standing for the whole machine: one with energy, preferring board input,
/// then module, package, GPU, CPU, other ([`Rail::whole_system_rank`]). For several packages
/// (multi-socket RAPL) only the first is returned; sum them yourself if needed.
pub fn primary(measurements: &[Measurement]) -> Option<&Measurement> {
    measurements.iter().filter(|m| m.has_energy()).min_by_key(|m| m.rail.whole_system_rank())
}

/// The idle baseline (mean power, mW) of the same source and label as `m`, from the result of
/// [`crate::EnergyMeter::idle_baseline`].
pub fn baseline_mw_for(baselines: &[Measurement], m: &Measurement) -> Option<f64> {
    baselines.iter().find(|b| b.source == m.source && b.label == m.label).and_then(|b| b.mean_power_mw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_and_primary() {
        let none = Measurement::none(1.0);
        assert_eq!(none.source, "none");
        assert_eq!(none.energy_mj, None);
        assert!(primary(std::slice::from_ref(&none)).is_none());

        let s: PowerSeries = [(0.0, 1000.0), (2.0, 1000.0)].into_iter().collect();
        let gpu = Measurement::from_series("iio", "POM_5V_GPU", Rail::Gpu, &s);
        let board = Measurement::from_series("iio", "POM_5V_IN", Rail::BoardInput, &s);
        assert_eq!(gpu.energy_mj, Some(2000.0));
        let all = [none, gpu, board];
        assert_eq!(primary(&all).unwrap().label, "POM_5V_IN");
        assert_eq!(all[2].dynamic_energy_mj(250.0), Some(1500.0));
    }

    #[test]
    fn serialises_rail_snake_case() {
        let s: PowerSeries = [(0.0, 1.0), (1.0, 1.0)].into_iter().collect();
        let m = Measurement::from_series("rapl", "package-0/dram", Rail::Other("dram".into()), &s);
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(v["rail"], serde_json::json!({"other": "dram"}));
        assert_eq!(serde_json::to_value(Rail::BoardInput).unwrap(), "board_input");
        assert!(v.get("error").is_none());
    }
}

//! Energy per inference from the measurements of the runs.
//!
//! Two numbers, both per inference, in mWh (1 mWh = 3,600 mJ):
//! - `energy_total_mwh` = ∫P dt over the measured runs ÷ runs: what the device drew while running
//!   the model, idle power included. This is the predictor's target, the energy budgets' unit and
//!   the seed's `energy_avg_mwh` column.
//! - `energy_dynamic_mwh` = (∫P dt − idle baseline power × duration) ÷ runs: what running the
//!   model added to an idle device. It needs an idle baseline from the same source.
//!
//! One measurement stands for the machine ([`infergate_sensors::primary`]: board input, then
//! module, package, GPU, CPU); its rail is recorded with the numbers. A measurement whose reading
//! failed is never used: its error becomes a warning and, if nothing else was measured, the energy
//! stays empty with source `none`.

use infergate_sensors::measurement::NO_SOURCE;
use infergate_sensors::{baseline_mw_for, primary, Measurement};
use serde::{Deserialize, Serialize};

use crate::power::PowerReadings;

/// mJ in one mWh.
pub const MJ_PER_MWH: f64 = 3600.0;

/// The energy of a benchmark; every number is `None` when it was not measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnergyReport {
    /// Source of the numbers (`rapl`, `hwmon:ina3221`, `iio`, `nvml`, `vcgencmd`, `meter`,
    /// `tegrastats`), or `none`.
    pub source: String,
    /// Channel within the source (`package-0`, `VDD_IN`, ...).
    pub label: Option<String>,
    /// Rail measured (`board_input`, `module`, `package`, `gpu`, `cpu`, or the source's name).
    pub rail: Option<String>,
    /// ∫P dt over the measured runs ÷ runs, mWh per inference.
    pub energy_total_mwh: Option<f64>,
    /// The same minus the idle baseline, mWh per inference (may be slightly negative when the
    /// baseline is noisy; `None` without a baseline).
    pub energy_dynamic_mwh: Option<f64>,
    /// Mean power over the runs, mW.
    pub power_avg_mw: Option<f64>,
    /// Mean power of the same source while idle, mW.
    pub idle_power_mw: Option<f64>,
    /// ∫P dt over all the measured runs, mJ.
    pub energy_mj: Option<f64>,
    /// Length of the measured interval, s.
    pub duration_s: Option<f64>,
    /// Readings the numbers come from.
    pub samples: usize,
    /// What was probed (shown when nothing was found).
    pub looked_for: Vec<String>,
    /// Every source's measurement of the runs, the unused ones too.
    pub measurements: Vec<Measurement>,
    /// Why something could not be measured or may be off.
    pub warnings: Vec<String>,
}

impl EnergyReport {
    /// Nothing measured: source `none`, every number empty.
    pub fn none(looked_for: Vec<String>, warnings: Vec<String>) -> EnergyReport {
        EnergyReport {
            source: NO_SOURCE.into(),
            label: None,
            rail: None,
            energy_total_mwh: None,
            energy_dynamic_mwh: None,
            power_avg_mw: None,
            idle_power_mw: None,
            energy_mj: None,
            duration_s: None,
            samples: 0,
            looked_for,
            measurements: Vec::new(),
            warnings,
        }
    }

    /// True when an energy value was measured.
    pub fn measured(&self) -> bool {
        self.energy_total_mwh.is_some()
    }

    /// Energy per inference of `runs` runs from `readings`.
    pub fn account(readings: PowerReadings, runs: usize, looked_for: Vec<String>) -> EnergyReport {
        let PowerReadings { measurements, baselines, mut warnings } = readings;
        for m in &measurements {
            if let (Some(e), false) = (&m.error, m.source == NO_SOURCE) {
                let name = if m.label.is_empty() { m.source.clone() } else { format!("{} {}", m.source, m.label) };
                warnings.push(format!("{name}: {e}"));
            }
        }
        // Only measurements that read cleanly from start to end.
        let clean: Vec<Measurement> = measurements.iter().filter(|m| m.error.is_none()).cloned().collect();
        let Some(m) = primary(&clean).filter(|_| runs > 0) else {
            let mut report = EnergyReport::none(looked_for, warnings);
            report.measurements = measurements;
            return report;
        };
        let per_run = |mj: f64| mj / runs as f64 / MJ_PER_MWH;
        let idle_mw = baselines.as_deref().and_then(|b| baseline_mw_for(b, m));
        if baselines.is_some() && idle_mw.is_none() {
            warnings.push(format!("no idle baseline from {} {}: energy_dynamic is empty", m.source, m.label));
        }
        let dynamic = idle_mw.and_then(|b| m.dynamic_energy_mj(b)).map(per_run);
        if dynamic.is_some_and(|d| d < 0.0) {
            warnings.push("the dynamic energy is negative: the idle baseline was noisy; use a longer --idle-s".into());
        }
        EnergyReport {
            source: m.source.clone(),
            label: Some(m.label.clone()).filter(|l| !l.is_empty()),
            rail: Some(m.rail.to_string()),
            energy_total_mwh: m.energy_mj.map(per_run),
            energy_dynamic_mwh: dynamic,
            power_avg_mw: m.mean_power_mw,
            idle_power_mw: idle_mw,
            energy_mj: m.energy_mj,
            duration_s: Some(m.duration_s),
            samples: m.samples,
            looked_for,
            measurements,
            warnings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use infergate_sensors::series::PowerSeries;
    use infergate_sensors::Rail;

    fn series(mw: f64, secs: f64) -> PowerSeries {
        [(0.0, mw), (secs, mw)].into_iter().collect()
    }

    #[test]
    fn total_and_dynamic_per_inference() {
        // 3.6 W for 2 s = 7200 mJ = 2 mWh over 4 runs; idle 1.8 W → dynamic 1 mWh.
        let runs = Measurement::from_series("iio", "POM_5V_IN", Rail::BoardInput, &series(3600.0, 2.0));
        let cpu = Measurement::from_series("iio", "POM_5V_CPU", Rail::Cpu, &series(1000.0, 2.0));
        let idle = Measurement::from_series("iio", "POM_5V_IN", Rail::BoardInput, &series(1800.0, 1.0));
        let readings =
            PowerReadings { measurements: vec![cpu, runs], baselines: Some(vec![idle]), warnings: Vec::new() };
        let r = EnergyReport::account(readings, 4, vec![]);
        assert_eq!(r.source, "iio");
        assert_eq!(r.rail.as_deref(), Some("board_input"));
        assert_eq!(r.label.as_deref(), Some("POM_5V_IN"));
        assert!((r.energy_total_mwh.unwrap() - 0.5).abs() < 1e-12);
        assert!((r.energy_dynamic_mwh.unwrap() - 0.25).abs() < 1e-12);
        assert_eq!((r.power_avg_mw, r.idle_power_mw), (Some(3600.0), Some(1800.0)));
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }

    #[test]
    fn failed_readings_leave_energy_empty() {
        let mut bad = Measurement::from_series("rapl", "package-0", Rail::Package, &series(5000.0, 1.0));
        bad.error = Some("first or last reading failed: permission denied".into());
        bad.energy_mj = None;
        let readings = PowerReadings { measurements: vec![bad, Measurement::none(1.0)], ..Default::default() };
        let r = EnergyReport::account(readings, 10, vec!["Intel RAPL".into()]);
        assert_eq!(r.source, "none");
        assert!(!r.measured() && r.energy_dynamic_mwh.is_none() && r.power_avg_mw.is_none());
        assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
        assert!(r.warnings[0].contains("permission denied"));
        // No baseline: total only.
        let ok = Measurement::from_series("rapl", "package-0", Rail::Package, &series(5000.0, 1.0));
        let r = EnergyReport::account(PowerReadings { measurements: vec![ok], ..Default::default() }, 10, vec![]);
        assert!(r.measured() && r.energy_dynamic_mwh.is_none());
    }
}

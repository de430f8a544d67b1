//! The energy predictor of one device: energy per inference (and, structure-only, latency)
//! from a model's structure, with calibrated 90 % intervals, a category from the device's
//! percentile thresholds, and the physics prior kept for what the model cannot answer.
//!
//! Two modes: **structure-only** (the default — before the model ever runs on the device) and
//! **with measured latency** (the seed's API passes `latency_avg_s`): then the trees learn the
//! device's power for the model and energy = power × the given latency.

use crate::dataset::Measurement;
use crate::features::{Features, FEATURE_NAMES};
use crate::logmodel::{LogModel, LogRows, StoredLogModel, COVERAGE};
use crate::prior::DevicePrior;
use infergate_learn::Params;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The artifact format this version writes and reads.
pub const FORMAT: &str = "infergate-energy-predictor/1";

/// What the predictor is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Structure only.
    Structure,
    /// Structure and the measured latency.
    WithLatency,
}

/// Energy categories from the device's percentile thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Up to this (the 33rd percentile of the training energies), mWh: `EXCELLENT`.
    pub excellent_max_mwh: f64,
    /// Up to this (the 66th percentile): `GOOD`; above: `HIGH`.
    pub good_max_mwh: f64,
    /// The percentiles used.
    pub percentiles: [f64; 2],
}

impl Thresholds {
    /// The 33rd and 66th percentiles of `energies`.
    pub fn of(energies: &[f64]) -> Thresholds {
        let mut v = energies.to_vec();
        v.sort_by(f64::total_cmp);
        let at = |q: f64| v.get(((v.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(f64::NAN);
        Thresholds { excellent_max_mwh: at(0.33), good_max_mwh: at(0.66), percentiles: [33.0, 66.0] }
    }

    /// `EXCELLENT`, `GOOD` or `HIGH`.
    pub fn category(&self, energy_mwh: f64) -> &'static str {
        if energy_mwh <= self.excellent_max_mwh {
            "EXCELLENT"
        } else if energy_mwh <= self.good_max_mwh {
            "GOOD"
        } else {
            "HIGH"
        }
    }
}

/// A prediction with its 90 % intervals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// Energy per inference, mWh.
    pub energy_mwh: f64,
    /// Lower end of the interval.
    pub energy_lower_mwh: f64,
    /// Upper end.
    pub energy_upper_mwh: f64,
    /// Latency per inference, ms (predicted, or the one given).
    pub latency_ms: Option<f64>,
    /// Its interval (when predicted by a model).
    pub latency_lower_ms: Option<f64>,
    /// Upper end.
    pub latency_upper_ms: Option<f64>,
    /// `EXCELLENT`, `GOOD` or `HIGH`.
    pub category: &'static str,
    /// `model` (trained) or `prior` (physics prior only: no interval it could stand behind).
    pub source: &'static str,
    /// The interval's intended coverage (0.9), absent for the prior.
    pub coverage: Option<f64>,
}

/// A trained predictor for one device.
#[derive(Debug)]
pub struct EnergyPredictor {
    /// The device.
    pub device: String,
    /// Structure-only or with latency.
    pub mode: Mode,
    /// The structure features used (those every training row had).
    pub features: Vec<String>,
    /// ln energy (structure) or ln power (with latency).
    pub energy: LogModel,
    /// ln latency (structure only).
    pub latency: Option<LogModel>,
    /// The physics prior fitted on the same rows.
    pub prior: DevicePrior,
    /// The categories.
    pub thresholds: Thresholds,
    /// Rows trained on.
    pub rows: usize,
    /// When.
    pub trained_at: String,
}

/// The document on disk.
#[derive(Serialize, Deserialize)]
struct Document {
    format: String,
    device: String,
    mode: Mode,
    features: Vec<String>,
    energy: StoredLogModel,
    latency: Option<StoredLogModel>,
    prior: DevicePrior,
    thresholds: Thresholds,
    rows: usize,
    trained_at: String,
    #[serde(default)]
    metrics: serde_json::Value,
}

/// The names of the features every row has, in [`FEATURE_NAMES`] order.
pub fn shared_features(rows: &[&Measurement], extra: Mode) -> Vec<String> {
    let mut names: Vec<String> = FEATURE_NAMES
        .iter()
        .filter(|n| rows.iter().all(|m| m.features.value(n).is_some_and(f64::is_finite)))
        .map(|n| n.to_string())
        .collect();
    if extra == Mode::WithLatency {
        names.push("ln_latency_ms".into());
    }
    names
}

fn row_of(f: &Features, names: &[String], latency_ms: Option<f64>) -> Result<Vec<f64>, String> {
    names
        .iter()
        .map(|n| match n.as_str() {
            "ln_latency_ms" => latency_ms.map(f64::ln).filter(|v| v.is_finite()).ok_or_else(|| n.clone()),
            _ => f.value(n).filter(|v| v.is_finite()).ok_or_else(|| n.clone()),
        })
        .collect()
}

impl EnergyPredictor {
    /// Trains on `rows` (one device's measurements).
    pub fn train(
        device: &str,
        mode: Mode,
        rows: &[&Measurement],
        params: &Params,
        trained_at: &str,
    ) -> Result<EnergyPredictor, String> {
        let names = shared_features(rows, mode);
        let mut x = Vec::with_capacity(rows.len() * names.len());
        for m in rows {
            x.extend(row_of(&m.features, &names, Some(m.latency_ms))?);
        }
        let base: Vec<f64> = rows.iter().map(|m| m.features.macs.ln()).collect();
        let family: Vec<String> = rows.iter().map(|m| m.family.clone()).collect();
        let energy_y: Vec<f64> = rows
            .iter()
            .map(|m| match mode {
                Mode::Structure => m.energy_mwh.ln(),
                Mode::WithLatency => (m.energy_mwh * 3.6e6 / m.latency_ms).ln(), // power, mW
            })
            .collect();
        let energy_rows =
            LogRows { names: &names, x: x.clone(), base: base.clone(), y: energy_y, family: family.clone() };
        let energy = LogModel::fit(&energy_rows, params, trained_at)?;
        let latency = match mode {
            Mode::Structure => {
                let y = rows.iter().map(|m| m.latency_ms.ln()).collect();
                Some(LogModel::fit(&LogRows { names: &names, x, base, y, family }, params, trained_at)?)
            }
            Mode::WithLatency => None,
        };
        let prior = DevicePrior::fit(device, rows).ok_or("the physics prior needs at least 2 rows")?;
        let energies: Vec<f64> = rows.iter().map(|m| m.energy_mwh).collect();
        Ok(EnergyPredictor {
            device: device.to_string(),
            mode,
            features: names,
            energy,
            latency,
            prior,
            thresholds: Thresholds::of(&energies),
            rows: rows.len(),
            trained_at: trained_at.to_string(),
        })
    }

    /// Predicts for a model's structure (and, with latency, its measured latency in ms). The
    /// error names a feature the predictor needs and was not given.
    pub fn predict(&self, f: &Features, latency_ms: Option<f64>) -> Result<Prediction, String> {
        let row = row_of(f, &self.features, latency_ms)?;
        let ln_macs = f.macs.ln();
        let w = self.energy.half_width;
        let ln = self.energy.predict_ln(&row, ln_macs);
        let (energy, lower, upper, latency) = match self.mode {
            Mode::Structure => {
                let lat = self.latency.as_ref().map(|l| (l.predict_ln(&row, ln_macs), l.half_width));
                (ln.exp(), (ln - w).exp(), (ln + w).exp(), lat)
            }
            Mode::WithLatency => {
                let ms = latency_ms.ok_or("latency_ms")?;
                let to_mwh = |ln_power: f64| ln_power.exp() * ms / 3.6e6;
                (to_mwh(ln), to_mwh(ln - w), to_mwh(ln + w), None)
            }
        };
        Ok(Prediction {
            energy_mwh: energy,
            energy_lower_mwh: lower,
            energy_upper_mwh: upper,
            latency_ms: latency.map(|(l, _)| l.exp()).or(latency_ms),
            latency_lower_ms: latency.map(|(l, w)| (l - w).exp()),
            latency_upper_ms: latency.map(|(l, w)| (l + w).exp()),
            category: self.thresholds.category(energy),
            source: "model",
            coverage: Some(COVERAGE),
        })
    }

    /// Saves atomically (a temporary file renamed over `path`).
    pub fn save(&self, path: &Path, metrics: serde_json::Value) -> Result<(), String> {
        let doc = Document {
            format: FORMAT.to_string(),
            device: self.device.clone(),
            mode: self.mode,
            features: self.features.clone(),
            energy: self.energy.to_stored()?,
            latency: self.latency.as_ref().map(LogModel::to_stored).transpose()?,
            prior: self.prior.clone(),
            thresholds: self.thresholds.clone(),
            rows: self.rows,
            trained_at: self.trained_at.clone(),
            metrics,
        };
        let bytes = serde_json::to_vec_pretty(&doc).map_err(|e| e.to_string())?;
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, bytes)
            .and_then(|_| std::fs::rename(&tmp, path))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    /// Loads a predictor saved by [`EnergyPredictor::save`]; the error says what is wrong.
    pub fn load(path: &Path) -> Result<EnergyPredictor, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let doc: Document = serde_json::from_slice(&bytes).map_err(|e| {
            format!("{} is not an energy predictor ({e}); train one with `infergate energy train`", path.display())
        })?;
        if doc.format != FORMAT {
            return Err(format!(
                "{}: format {:?}, this version reads {FORMAT:?}; retrain it",
                path.display(),
                doc.format
            ));
        }
        Ok(EnergyPredictor {
            device: doc.device,
            mode: doc.mode,
            features: doc.features,
            energy: LogModel::from_stored(doc.energy, path)?,
            latency: doc.latency.map(|l| LogModel::from_stored(l, path)).transpose()?,
            prior: doc.prior,
            thresholds: doc.thresholds,
            rows: doc.rows,
            trained_at: doc.trained_at,
        })
    }
}

/// A prediction from the physics prior alone (no trained model): no interval it could stand
/// behind, so the bounds equal the estimate and `coverage` is absent.
pub fn prior_prediction(prior: &DevicePrior, thresholds: Option<&Thresholds>, f: &Features) -> Prediction {
    let e = prior.energy_mwh(f.macs);
    Prediction {
        energy_mwh: e,
        energy_lower_mwh: e,
        energy_upper_mwh: e,
        latency_ms: Some(prior.latency_ms(f.macs)),
        latency_lower_ms: None,
        latency_upper_ms: None,
        category: thresholds.map_or("UNKNOWN", |t| t.category(e)),
        source: "prior",
        coverage: None,
    }
}

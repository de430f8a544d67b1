//! What answers for one device, as the server and the agent find it in a directory
//! (`<data dir>/energy/`): a trained predictor (`<device>.json`, from `infergate energy train`),
//! else a physics prior calibrated on the device's first measurements (`<device>.prior.json`,
//! from `infergate energy calibrate`), labelled as the prior in every answer.

use crate::features::Features;
use crate::predictor::{prior_prediction, EnergyPredictor, Prediction, Thresholds};
use crate::prior::DevicePrior;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The format tag of a prior file.
pub const PRIOR_FORMAT: &str = "infergate-energy-prior/1";

/// A trained predictor, or the prior alone.
#[derive(Debug)]
pub enum DeviceModel {
    /// `<device>.json`.
    Trained(Box<EnergyPredictor>),
    /// `<device>.prior.json`.
    Prior(PriorFile),
}

/// A device's physics prior on disk, with the categories when known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriorFile {
    /// [`PRIOR_FORMAT`].
    pub format: String,
    /// The prior (its `device` is the file's device).
    pub prior: DevicePrior,
    /// Category thresholds from the device's own measurements (at least 3), else absent.
    pub thresholds: Option<Thresholds>,
    /// The predictor or prior it was calibrated from, when one was given.
    pub base: Option<String>,
    /// When it was written (RFC 3339).
    pub calibrated_at: String,
}

/// Only device names of this form name files: letters, digits, `_`, `-`, `.` (not leading).
pub fn valid_device(device: &str) -> bool {
    !device.is_empty()
        && device.len() <= 128
        && !device.starts_with('.')
        && device.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// `<dir>/<device>.json`.
pub fn predictor_path(dir: &Path, device: &str) -> PathBuf {
    dir.join(format!("{device}.json"))
}

/// `<dir>/<device>.prior.json`.
pub fn prior_path(dir: &Path, device: &str) -> PathBuf {
    dir.join(format!("{device}.prior.json"))
}

impl PriorFile {
    /// Saves atomically.
    pub fn save(&self, path: &Path) -> Result<(), String> {
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| e.to_string())?;
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, bytes)
            .and_then(|_| std::fs::rename(&tmp, path))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    /// Loads a prior file; the error says what is wrong.
    pub fn load(path: &Path) -> Result<PriorFile, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let doc: PriorFile = serde_json::from_slice(&bytes).map_err(|e| {
            format!("{} is not an energy prior ({e}); write one with `infergate energy calibrate`", path.display())
        })?;
        if doc.format != PRIOR_FORMAT {
            return Err(format!("{}: format {:?}, this version reads {PRIOR_FORMAT:?}", path.display(), doc.format));
        }
        Ok(doc)
    }
}

impl DeviceModel {
    /// The device's trained predictor if there is one, else its prior, else `None`.
    pub fn load(dir: &Path, device: &str) -> Result<Option<DeviceModel>, String> {
        if !valid_device(device) {
            return Ok(None);
        }
        let trained = predictor_path(dir, device);
        if trained.is_file() {
            return EnergyPredictor::load(&trained).map(|p| Some(DeviceModel::Trained(Box::new(p))));
        }
        let prior = prior_path(dir, device);
        if prior.is_file() {
            return PriorFile::load(&prior).map(|p| Some(DeviceModel::Prior(p)));
        }
        Ok(None)
    }

    /// Predicts for `f` (a with-latency predictor needs `latency_ms`; the error names what is
    /// missing). The prior answers with `source: "prior"` and no interval.
    pub fn predict(&self, f: &Features, latency_ms: Option<f64>) -> Result<Prediction, String> {
        match self {
            DeviceModel::Trained(p) => p.predict(f, latency_ms),
            DeviceModel::Prior(p) => Ok(prior_prediction(&p.prior, p.thresholds.as_ref(), f)),
        }
    }

    /// The physics prior (a trained predictor carries the one fitted on its rows).
    pub fn prior(&self) -> &DevicePrior {
        match self {
            DeviceModel::Trained(p) => &p.prior,
            DeviceModel::Prior(p) => &p.prior,
        }
    }

    /// `model` or `prior`.
    pub fn kind(&self) -> &'static str {
        match self {
            DeviceModel::Trained(_) => "model",
            DeviceModel::Prior(_) => "prior",
        }
    }
}

/// The devices with a predictor or a prior in `dir`, sorted, each once.
pub fn devices(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut out: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|name| {
            let stem = name.strip_suffix(".prior.json").or_else(|| name.strip_suffix(".json"))?;
            (valid_device(stem) && stem != "energy_thresholds").then(|| stem.to_string())
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_and_prior_files() {
        assert!(valid_device("jetson_nano-2gb.v1"));
        for bad in ["", "../x", "a/b", ".hidden", "a b"] {
            assert!(!valid_device(bad), "{bad:?}");
        }
        let dir = tempfile::tempdir().unwrap();
        assert!(DeviceModel::load(dir.path(), "box").unwrap().is_none());
        let prior = DevicePrior {
            device: "box".into(),
            power_mw: 3600.0,
            ln_latency_intercept: 0.0,
            ln_latency_slope: 1.0,
            measurements: 2,
        };
        let file =
            PriorFile { format: PRIOR_FORMAT.into(), prior, thresholds: None, base: None, calibrated_at: "now".into() };
        file.save(&prior_path(dir.path(), "box")).unwrap();
        std::fs::write(dir.path().join("energy_thresholds.json"), "{}").unwrap();
        assert_eq!(devices(dir.path()), vec!["box".to_string()]);
        let model = DeviceModel::load(dir.path(), "box").unwrap().unwrap();
        assert_eq!(model.kind(), "prior");
        let f = Features {
            macs: 10.0,
            params: 1.0,
            layers: None,
            input_size: None,
            filters_max: None,
            kernel_mean: None,
            kernel_max: None,
            depthwise: None,
        };
        // 10 ms at 3600 mW: 0.01 mWh.
        let p = model.predict(&f, None).unwrap();
        assert!((p.energy_mwh - 0.01).abs() < 1e-12);
        assert_eq!((p.source, p.category, p.coverage), ("prior", "UNKNOWN", None));
        std::fs::write(prior_path(dir.path(), "bad"), "{}").unwrap();
        assert!(DeviceModel::load(dir.path(), "bad").unwrap_err().contains("calibrate"));
    }
}

//! `infergate energy calibrate`: a physics prior for a device with only a few measurements (from
//! `infergate bench` on it, or any CSV the readers take), starting from another device's profile.
//! The server answers for the device with it, labelled `prior`, until a predictor is trained.

use super::train::measurements;
use anyhow::{bail, Context, Result};
use clap::Args;
use infergate_energy::device::{prior_path, valid_device, DeviceModel, PriorFile, PRIOR_FORMAT};
use infergate_energy::{DevicePrior, Measurement, Thresholds};
use std::path::{Path, PathBuf};

/// `infergate energy calibrate …`
#[derive(Args, Debug)]
pub struct CalibrateArgs {
    /// The device to calibrate (rows of files with a `device` column are kept when it matches).
    #[arg(long)]
    device: String,
    /// Its measurements (CSV): `infergate bench` rows, the seed's schema or the Jetson files.
    #[arg(long, num_args = 1.., required = true)]
    data: Vec<PathBuf>,
    /// The reference: a device with a predictor or prior in the data directory, or such a file.
    /// Without one, the device's own rows (at least 2) give the whole profile.
    #[arg(long)]
    base: Option<String>,
}

/// The reference prior named by `--base`.
fn base_prior(energy_dir: &Path, base: &str) -> Result<DevicePrior> {
    let path = Path::new(base);
    if path.is_file() {
        if let Ok(p) = PriorFile::load(path) {
            return Ok(p.prior);
        }
        return infergate_energy::EnergyPredictor::load(path).map(|p| p.prior).map_err(anyhow::Error::msg);
    }
    match DeviceModel::load(energy_dir, base).map_err(anyhow::Error::msg)? {
        Some(model) => Ok(model.prior().clone()),
        None => bail!(
            "--base {base}: neither a file nor a device with a predictor or prior in {}; \
             train one with `infergate energy train --device {base}`",
            energy_dir.display()
        ),
    }
}

/// Calibrates `base` (or fits from nothing) on `rows`.
fn calibrate(base: Option<&DevicePrior>, device: &str, rows: &[&Measurement]) -> Option<DevicePrior> {
    match base {
        Some(b) => Some(b.calibrated(device, rows)),
        None => DevicePrior::fit(device, rows),
    }
}

/// Mean absolute percentage error of energy when each row is predicted by a prior calibrated on the others.
fn leave_one_out_mape(base: Option<&DevicePrior>, device: &str, rows: &[&Measurement]) -> Option<f64> {
    let errors: Vec<f64> = (0..rows.len())
        .filter_map(|i| {
            let others: Vec<&Measurement> = rows.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, m)| *m).collect();
            let p = calibrate(base, device, &others)?;
            Some((p.energy_mwh(rows[i].features.macs) - rows[i].energy_mwh).abs() / rows[i].energy_mwh)
        })
        .collect();
    (errors.len() == rows.len() && !errors.is_empty()).then(|| errors.iter().sum::<f64>() / errors.len() as f64)
}

pub fn run(data_dir: &Path, args: CalibrateArgs) -> Result<()> {
    if !valid_device(&args.device) {
        bail!("device {:?}: use letters, digits, `_`, `-` and `.`", args.device);
    }
    let dir = super::energy_dir(data_dir);
    let base = args.base.as_deref().map(|b| base_prior(&dir, b)).transpose()?;
    let rows = measurements(&args.data, &args.device)?;
    let refs: Vec<&Measurement> = rows.iter().collect();
    if base.is_none() && refs.len() < 2 {
        bail!("{} usable rows for {}: give --base DEVICE, or at least 2 measurements", refs.len(), args.device);
    }
    let prior = calibrate(base.as_ref(), &args.device, &refs)
        .with_context(|| format!("the measurements of {} do not fit a latency profile", args.device))?;
    let file = PriorFile {
        format: PRIOR_FORMAT.into(),
        thresholds: (refs.len() >= 3).then(|| Thresholds::of(&rows.iter().map(|m| m.energy_mwh).collect::<Vec<_>>())),
        base: args.base.clone(),
        calibrated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        prior,
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let out = prior_path(&dir, &args.device);
    file.save(&out).map_err(anyhow::Error::msg)?;
    let p = &file.prior;
    println!(
        "{}: {:.0} mW, latency ≈ exp({:.3}) × MACs^{:.3} ms, from {} measurement(s){}",
        args.device,
        p.power_mw,
        p.ln_latency_intercept,
        p.ln_latency_slope,
        p.measurements,
        args.base.as_ref().map(|b| format!(" on {b}'s profile")).unwrap_or_default()
    );
    match leave_one_out_mape(base.as_ref(), &args.device, &refs) {
        Some(m) => println!("leave-one-out energy MAPE over those measurements: {:.1} %", m * 100.0),
        None => println!("leave-one-out energy MAPE: not enough measurements"),
    }
    if super::predictor_path(data_dir, &args.device).is_file() {
        println!("note: {} has a trained predictor, which answers before this prior", args.device);
    }
    println!("saved {}", out.display());
    Ok(())
}

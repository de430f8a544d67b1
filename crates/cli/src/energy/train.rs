//! `infergate energy train` and `infergate energy evaluate`.

use anyhow::{bail, Context, Result};
use clap::Args;
use infergate_energy::evaluate::{leave_one_family_out, leave_one_out, mean, score, table, HeldOut, Scores};
use infergate_energy::{read_files, EnergyPredictor, Measurement, Mode};
use infergate_learn::Params;
use serde_json::json;
use std::path::{Path, PathBuf};

/// Sets of at most this many rows in one family are evaluated leave-one-out.
const LEAVE_ONE_OUT_MAX: usize = 300;

/// `infergate energy train …`
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Measurement files (CSV), one architecture family each (repeat, or list several).
    #[arg(long, num_args = 1.., required = true)]
    data: Vec<PathBuf>,
    /// The device (rows of files with a `device` column are kept when it matches).
    #[arg(long)]
    device: String,
    /// Where to save the predictor (default: <data dir>/energy/<device>.json).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Train with the measured latency as an input (the seed's API): energy = predicted power × latency.
    #[arg(long)]
    with_latency: bool,
    /// Skip the held-out evaluation.
    #[arg(long)]
    no_evaluation: bool,
}

/// `infergate energy evaluate …`
#[derive(Args, Debug)]
pub struct EvaluateArgs {
    /// A predictor from `infergate energy train`.
    #[arg(long)]
    model: PathBuf,
    /// Measurement files (CSV).
    #[arg(long, num_args = 1.., required = true)]
    data: Vec<PathBuf>,
    /// The predictor takes the measured latency (it must have been trained `--with-latency`).
    #[arg(long)]
    with_latency: bool,
    /// Print `{"rows","mape","r2","mae","rmse","interval_coverage"}` (and `latency`) as JSON.
    #[arg(long)]
    json: bool,
}

/// The rows of `device` from `files`, with what was skipped printed.
pub(super) fn measurements(files: &[PathBuf], device: &str) -> Result<Vec<Measurement>> {
    let (rows, reports) = read_files(files, device)?;
    for (f, r) in files.iter().zip(&reports) {
        println!(
            "{}: {} rows, {} skipped without latency or power, {} malformed",
            f.display(),
            r.rows,
            r.missing_measurement,
            r.malformed
        );
    }
    let total = rows.len();
    let rows: Vec<Measurement> = rows.into_iter().filter(|m| m.device == device).collect();
    if rows.len() < total {
        println!("{} rows of other devices left out", total - rows.len());
    }
    Ok(rows)
}

pub fn train(data_dir: &Path, args: TrainArgs) -> Result<()> {
    let mode = if args.with_latency { Mode::WithLatency } else { Mode::Structure };
    let rows = measurements(&args.data, &args.device)?;
    if rows.len() < 3 {
        bail!("{} usable rows for {}: at least 3 are needed", rows.len(), args.device);
    }
    let refs: Vec<&Measurement> = rows.iter().collect();
    let params = Params::default();
    let mut families: Vec<&str> = rows.iter().map(|m| m.family.as_str()).collect();
    families.sort_unstable();
    families.dedup();
    let evaluation: Option<Vec<HeldOut>> = if args.no_evaluation {
        None
    } else if families.len() >= 2 {
        println!("held-out evaluation: one family (file) at a time, {mode:?}");
        Some(leave_one_family_out(&args.device, mode, &refs, &params).map_err(anyhow::Error::msg)?)
    } else if rows.len() <= LEAVE_ONE_OUT_MAX {
        println!("held-out evaluation: leave-one-out over {} rows, {mode:?}", rows.len());
        Some(vec![leave_one_out(&args.device, mode, &refs, &params).map_err(anyhow::Error::msg)?])
    } else {
        println!("one family of {} rows: no held-out-family evaluation (give one file per family)", rows.len());
        None
    };
    if let Some(parts) = &evaluation {
        print!("{}", table(parts));
    }
    let trained_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let predictor =
        EnergyPredictor::train(&args.device, mode, &refs, &params, &trained_at).map_err(anyhow::Error::msg)?;
    let out = args.out.clone().unwrap_or_else(|| super::predictor_path(data_dir, &args.device));
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let metrics = json!({
        "held_out": evaluation,
        "mean": evaluation.as_ref().and_then(|p| mean(p, |h| Some(h.energy))),
        "mean_latency": evaluation.as_ref().and_then(|p| mean(p, |h| h.latency)),
        "data": args.data.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
    });
    predictor.save(&out, metrics).map_err(anyhow::Error::msg)?;
    let thresholds = write_thresholds(out.parent().unwrap_or(Path::new(".")), &predictor)?;
    println!(
        "trained on {} rows (features: {}); 90 % interval ±{:.1} % (ln half-width {:.3}, {}); saved {}",
        predictor.rows,
        predictor.features.join(", "),
        (predictor.energy.half_width.exp() - 1.0) * 100.0,
        predictor.energy.half_width,
        predictor.energy.calibration,
        out.display()
    );
    println!(
        "categories for {}: EXCELLENT ≤ {:.4} mWh < GOOD ≤ {:.4} mWh < HIGH ({})",
        args.device,
        predictor.thresholds.excellent_max_mwh,
        predictor.thresholds.good_max_mwh,
        thresholds.display()
    );
    Ok(())
}

/// Adds the device's thresholds to `energy_thresholds.json` in `dir` (one entry per device).
fn write_thresholds(dir: &Path, p: &EnergyPredictor) -> Result<PathBuf> {
    let path = dir.join("energy_thresholds.json");
    let mut all: serde_json::Map<String, serde_json::Value> =
        std::fs::read(&path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
    all.insert(p.device.clone(), serde_json::to_value(&p.thresholds)?);
    std::fs::write(&path, serde_json::to_vec_pretty(&all)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

fn scores_json(s: &Scores) -> serde_json::Value {
    json!({"rows": s.rows, "mape": s.mape, "r2": s.r2, "mae": s.mae, "rmse": s.rmse, "interval_coverage": s.interval_coverage})
}

pub fn evaluate(args: EvaluateArgs) -> Result<()> {
    let predictor = EnergyPredictor::load(&args.model).map_err(anyhow::Error::msg)?;
    let wanted = if args.with_latency { Mode::WithLatency } else { Mode::Structure };
    if predictor.mode != wanted {
        bail!(
            "{} was trained {:?}; {}",
            args.model.display(),
            predictor.mode,
            if args.with_latency { "drop --with-latency" } else { "add --with-latency" }
        );
    }
    let (rows, reports) = read_files(&args.data, &predictor.device)?;
    let rows: Vec<&Measurement> = rows.iter().filter(|m| m.device == predictor.device).collect();
    if rows.is_empty() {
        bail!("no usable rows of {} in the data", predictor.device);
    }
    let (energy, latency) = score(&predictor, &rows);
    if args.json {
        let mut v = scores_json(&energy);
        v["latency"] = latency.as_ref().map(scores_json).unwrap_or(serde_json::Value::Null);
        v["skipped"] = json!(
            reports.iter().map(|r| r.missing_measurement + r.malformed).sum::<usize>() + (rows.len() - energy.rows)
        );
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        let line = |name: &str, s: &Scores, unit: &str| {
            println!(
                "{name:<8} rows {:>6}  MAPE {:>6.2} %  R² {:.4}  MAE {:.4} {unit}  RMSE {:.4} {unit}  90 % interval coverage {:.1} %",
                s.rows,
                s.mape * 100.0,
                s.r2,
                s.mae,
                s.rmse,
                s.interval_coverage * 100.0
            )
        };
        line("energy", &energy, "mWh");
        if let Some(l) = &latency {
            line("latency", l, "ms");
        }
    }
    Ok(())
}

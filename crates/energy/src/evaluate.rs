//! How good a predictor is on measurements it did not see: scores on a set of rows, one whole
//! architecture family held out at a time (metrics per family, then averaged), and
//! leave-one-out for small sets.

use crate::dataset::Measurement;
use crate::predictor::{EnergyPredictor, Mode};
use infergate_learn::{regression_metrics, Params};
use serde::Serialize;

/// Scores of one quantity.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scores {
    /// Rows scored.
    pub rows: usize,
    /// Mean absolute percentage error, as a fraction.
    pub mape: f64,
    /// Coefficient of determination.
    pub r2: f64,
    /// Mean absolute error (mWh or ms).
    pub mae: f64,
    /// Root mean squared error.
    pub rmse: f64,
    /// Share of rows inside the 90 % interval.
    pub interval_coverage: f64,
}

fn scores(truth: &[f64], predicted: &[(f64, f64, f64)]) -> Scores {
    let point: Vec<f64> = predicted.iter().map(|p| p.0).collect();
    let m = regression_metrics(truth, &point);
    let inside = truth.iter().zip(predicted).filter(|(t, p)| p.1 <= **t && **t <= p.2).count();
    Scores {
        rows: truth.len(),
        mape: m.mape.unwrap_or(f64::NAN),
        r2: m.r2,
        mae: m.mae,
        rmse: m.rmse,
        interval_coverage: inside as f64 / truth.len().max(1) as f64,
    }
}

/// Scores `predictor` on `rows`: energy, and latency when it predicts latency. Rows lacking
/// a feature it needs are skipped (their count is `rows.len()` minus the scored rows).
pub fn score(predictor: &EnergyPredictor, rows: &[&Measurement]) -> (Scores, Option<Scores>) {
    let (mut e_true, mut e_pred, mut l_true, mut l_pred) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for m in rows {
        let given = (predictor.mode == Mode::WithLatency).then_some(m.latency_ms);
        let Ok(p) = predictor.predict(&m.features, given) else { continue };
        e_true.push(m.energy_mwh);
        e_pred.push((p.energy_mwh, p.energy_lower_mwh, p.energy_upper_mwh));
        if let (Some(l), Some(lo), Some(hi)) = (p.latency_ms, p.latency_lower_ms, p.latency_upper_ms) {
            l_true.push(m.latency_ms);
            l_pred.push((l, lo, hi));
        }
    }
    let latency = (!l_true.is_empty()).then(|| scores(&l_true, &l_pred));
    (scores(&e_true, &e_pred), latency)
}

/// One held-out part's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeldOut {
    /// The family held out (or the row, for leave-one-out).
    pub family: String,
    /// Rows trained on.
    pub train_rows: usize,
    /// Energy scores on the held-out rows.
    pub energy: Scores,
    /// Latency scores (structure-only).
    pub latency: Option<Scores>,
}

/// Trains without each family in turn and scores on it.
pub fn leave_one_family_out(
    device: &str,
    mode: Mode,
    rows: &[&Measurement],
    params: &Params,
) -> Result<Vec<HeldOut>, String> {
    let mut families: Vec<&str> = rows.iter().map(|m| m.family.as_str()).collect();
    families.sort_unstable();
    families.dedup();
    if families.len() < 2 {
        return Err("holding out a family needs at least 2 families (files)".into());
    }
    let mut out = Vec::new();
    for f in families {
        let (held, kept): (Vec<&Measurement>, Vec<&Measurement>) = rows.iter().partition(|m| m.family == f);
        let p = EnergyPredictor::train(device, mode, &kept, params, "evaluation")?;
        let (energy, latency) = score(&p, &held);
        out.push(HeldOut { family: f.to_string(), train_rows: kept.len(), energy, latency });
    }
    Ok(out)
}

/// Trains without each row in turn and scores the rows together (for small sets).
pub fn leave_one_out(device: &str, mode: Mode, rows: &[&Measurement], params: &Params) -> Result<HeldOut, String> {
    let (mut e_true, mut e_pred, mut l_true, mut l_pred) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..rows.len() {
        let kept: Vec<&Measurement> = rows.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, m)| *m).collect();
        let p = EnergyPredictor::train(device, mode, &kept, params, "evaluation")?;
        let m = rows[i];
        let given = (mode == Mode::WithLatency).then_some(m.latency_ms);
        let q = p.predict(&m.features, given)?;
        e_true.push(m.energy_mwh);
        e_pred.push((q.energy_mwh, q.energy_lower_mwh, q.energy_upper_mwh));
        if let (Some(l), Some(lo), Some(hi)) = (q.latency_ms, q.latency_lower_ms, q.latency_upper_ms) {
            l_true.push(m.latency_ms);
            l_pred.push((l, lo, hi));
        }
    }
    Ok(HeldOut {
        family: "leave-one-out".into(),
        train_rows: rows.len().saturating_sub(1),
        energy: scores(&e_true, &e_pred),
        latency: (!l_true.is_empty()).then(|| scores(&l_true, &l_pred)),
    })
}

/// The mean of each score over the held-out parts (each part weighs the same).
pub fn mean(parts: &[HeldOut], pick: impl Fn(&HeldOut) -> Option<Scores>) -> Option<Scores> {
    let all: Vec<Scores> = parts.iter().filter_map(pick).collect();
    if all.is_empty() {
        return None;
    }
    let n = all.len() as f64;
    let avg = |f: fn(&Scores) -> f64| all.iter().map(f).sum::<f64>() / n;
    Some(Scores {
        rows: all.iter().map(|s| s.rows).sum(),
        mape: avg(|s| s.mape),
        r2: avg(|s| s.r2),
        mae: avg(|s| s.mae),
        rmse: avg(|s| s.rmse),
        interval_coverage: avg(|s| s.interval_coverage),
    })
}

/// The per-family table (energy, then latency), one line per family and the mean.
pub fn table(parts: &[HeldOut]) -> String {
    let mut s = format!(
        "{:<26} {:>6} {:>6} {:>8} {:>7} {:>9} {:>9} {:>8} {:>7} {:>9}\n",
        "held out", "train", "rows", "E mape", "E r2", "E cover", "L mape", "L r2", "L cover", "E mae mWh"
    );
    let line = |name: &str, train: String, e: &Scores, l: Option<Scores>| {
        let (lm, lr, lc) = l.map_or(("-".into(), "-".into(), "-".into()), |l| {
            (
                format!("{:.1} %", l.mape * 100.0),
                format!("{:.3}", l.r2),
                format!("{:.1} %", l.interval_coverage * 100.0),
            )
        });
        format!(
            "{:<26} {:>6} {:>6} {:>8} {:>7.3} {:>9} {:>9} {:>8} {:>7} {:>9.4}\n",
            name,
            train,
            e.rows,
            format!("{:.1} %", e.mape * 100.0),
            e.r2,
            format!("{:.1} %", e.interval_coverage * 100.0),
            lm,
            lr,
            lc,
            e.mae
        )
    };
    for p in parts {
        s.push_str(&line(&p.family, p.train_rows.to_string(), &p.energy, p.latency));
    }
    if let Some(e) = mean(parts, |p| Some(p.energy)) {
        s.push_str(&line("mean over held-out parts", String::new(), &e, mean(parts, |p| p.latency)));
    }
    s
}

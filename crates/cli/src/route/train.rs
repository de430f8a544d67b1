//! `infergate route train`: learners compared on a `route simulate` dataset (k-fold CV on the
//! training split, then the held-out split), the best by cross-validated ROC-AUC saved as the
//! router model the server's `/predict` loads; regressors for each platform's p95 latency and
//! cost saved beside it.

use super::model::model_type;
use anyhow::{bail, Context, Result};
use clap::Args;
use infergate_learn::{
    cross_validate, evaluate_classifier, fit_classifier, fit_regressor, regression_metrics, train_test_split, Artifact,
    Dataset, LearnerKind, Metrics, Model, Params, Task,
};
use infergate_place::features::{parse_value, FULL_FEATURES, SEED_FEATURES};
use serde_json::json;
use std::path::{Path, PathBuf};

/// `infergate route train …`
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// The dataset from `infergate route simulate`.
    #[arg(long)]
    data: PathBuf,
    #[command(flatten)]
    learn: LearnArgs,
}

/// How to train, shared by `route train` and `route retrain`.
#[derive(Args, Debug)]
pub struct LearnArgs {
    /// Which label: `objective` (cheaper platform meeting p95 ≤ SLO) or `seed` (Lambda faster
    /// and at most 10 % dearer).
    #[arg(long, default_value = "objective")]
    label: String,
    /// Features: `seed` (the four fields `/predict` takes) or `full` (plus rate, burstiness,
    /// memory, duration, concurrency).
    #[arg(long, default_value = "seed")]
    features: String,
    /// Learners to compare, comma-separated: gbt, forest, logistic.
    #[arg(long, default_value = "gbt,forest,logistic")]
    learners: String,
    /// Folds of the cross-validation on the training split.
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Share of rows held out for the test split.
    #[arg(long, default_value_t = 0.2)]
    test_fraction: f64,
    /// Seed of the split, the folds and the learners.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Where to save the router model (default: <data dir>/route/router.json, which the
    /// server loads).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Skip the per-platform latency and cost regressors.
    #[arg(long)]
    no_regressors: bool,
}

/// Reads `names` and `target` from the CSV; rows with a missing or invalid value are skipped
/// and counted.
fn read_dataset(path: &Path, names: &[&str], target: &str) -> Result<(Dataset, usize)> {
    let mut reader = csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
    let header = reader.headers()?.clone();
    let column = |name: &str| {
        header.iter().position(|h| h == name).with_context(|| {
            format!("{}: no {name:?} column (is this a dataset from `infergate route simulate`?)", path.display())
        })
    };
    let columns: Vec<usize> = names.iter().map(|n| column(n)).collect::<Result<_>>()?;
    let target_column = column(target)?;
    let (mut x, mut y, mut skipped) = (Vec::new(), Vec::new(), 0);
    for record in reader.records() {
        let Ok(record) = record else {
            skipped += 1;
            continue;
        };
        let row: Option<Vec<f64>> =
            names.iter().zip(&columns).map(|(n, &c)| record.get(c).and_then(|t| parse_value(n, t))).collect();
        let label = record.get(target_column).and_then(|t| t.trim().parse::<f64>().ok()).filter(|v| v.is_finite());
        match (row, label) {
            (Some(row), Some(label)) => {
                x.extend(row);
                y.push(label);
            }
            _ => skipped += 1,
        }
    }
    if y.is_empty() {
        bail!("{}: no usable rows for {target}", path.display());
    }
    let data = Dataset::new(names.iter().map(|s| s.to_string()).collect(), target, x, y)?;
    Ok((data, skipped))
}

/// Fewest rows a regressor is trained on (one held out, the rest to fit).
const MIN_REGRESSOR_ROWS: usize = 4;

fn classification(m: &Metrics) -> Option<&infergate_learn::ClassificationMetrics> {
    match m {
        Metrics::Classification(c) => Some(c),
        Metrics::Regression(_) => None,
    }
}

pub fn run(data_dir: &Path, args: TrainArgs) -> Result<()> {
    train(data_dir, &args.data, &args.learn, None)
}

/// Trains the router model and the regressors on the dataset at `data` (see the module doc);
/// `provenance` (e.g. which invocations a retrain used) is kept in the artifact's metrics.
pub fn train(data_dir: &Path, data: &Path, args: &LearnArgs, provenance: Option<serde_json::Value>) -> Result<()> {
    let target = match args.label.as_str() {
        "objective" => "label_objective",
        "seed" => "label_seed",
        other => bail!("--label {other:?}: use objective or seed"),
    };
    let names: Vec<&str> = match args.features.as_str() {
        "seed" => SEED_FEATURES.to_vec(),
        "full" => FULL_FEATURES.to_vec(),
        other => bail!("--features {other:?}: use seed or full"),
    };
    let kinds: Vec<LearnerKind> = args
        .learners
        .split(',')
        .map(|s| LearnerKind::parse(Task::Classification, s.trim()))
        .collect::<Result<_, _>>()?;
    if !(args.test_fraction > 0.0 && args.test_fraction < 1.0) {
        bail!("--test-fraction must be between 0 and 1");
    }
    let path = data;
    let (data, skipped) = read_dataset(path, &names, target)?;
    data.check_binary().with_context(|| {
        format!("{}: the router needs windows of both labels (lambda and ecs) to learn from", path.display())
    })?;
    let split = train_test_split(data.y(), args.test_fraction, true, args.seed)?;
    let (train, test) = (data.subset(&split.train), data.subset(&split.test));
    let positives = data.y().iter().filter(|&&v| v == 1.0).count();
    println!(
        "{} rows ({} skipped), label {target}: {} lambda / {} ecs; train {} / test {}; features: {}",
        data.n_rows(),
        skipped,
        positives,
        data.n_rows() - positives,
        train.n_rows(),
        test.n_rows(),
        names.join(", ")
    );
    let params = Params { seed: args.seed, ..Params::default() };
    println!(
        "{:<9} {:>8} {:>8} {:>9} {:>9} {:>8} {:>8} {:>9}  confusion [[tn fp] [fn tp]]",
        "learner", "cv acc", "cv auc", "test acc", "precision", "recall", "f1", "test auc"
    );
    let mut results = Vec::new();
    for kind in kinds {
        let cv = cross_validate(Task::Classification, kind, &train, args.folds, args.seed, &params)?;
        let model = fit_classifier(kind, &train, &params)?;
        let m = evaluate_classifier(model.as_ref(), &test)?;
        let cvm = classification(&cv.mean).context("classification metrics")?.clone();
        println!(
            "{:<9} {:>8.4} {:>8.4} {:>9.4} {:>9.4} {:>8.4} {:>8.4} {:>9.4}  {:?}",
            kind.name(),
            cvm.accuracy,
            cvm.roc_auc.unwrap_or(f64::NAN),
            m.accuracy,
            m.precision,
            m.recall,
            m.f1,
            m.roc_auc.unwrap_or(f64::NAN),
            m.confusion
        );
        results.push((kind, cvm, m, model));
    }
    // The choice uses only the training split (cross-validation); the test split reports.
    let best = results
        .iter()
        .enumerate()
        .max_by(|a, b| {
            let key = |r: &(LearnerKind, infergate_learn::ClassificationMetrics, _, _)| {
                (r.1.roc_auc.unwrap_or(0.0), r.1.accuracy)
            };
            key(a.1).partial_cmp(&key(b.1)).unwrap_or(std::cmp::Ordering::Equal)
        })
        .map(|(i, _)| i)
        .context("no learner")?;
    let comparison: Vec<_> =
        results.iter().map(|(k, cv, test, _)| json!({"learner": k.name(), "cv": cv, "test": test})).collect();
    let (kind, cv, test_metrics, model) = results.swap_remove(best);
    let importance: Vec<(String, f64)> = names.iter().map(|s| s.to_string()).zip(model.feature_importance()).collect();
    let metrics = json!({
        "test": test_metrics,
        "cv": cv,
        "folds": args.folds,
        "label": target,
        "compared": comparison,
        "feature_importance": importance,
        "data": path.display().to_string(),
        "provenance": provenance,
    });
    let trained_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let artifact = Artifact::new(Model::Classifier(model), &train, metrics, &trained_at)?;
    let out = args.out.clone().unwrap_or_else(|| infergate_gateway::placement::router_model_path(data_dir));
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    artifact.save(&out)?;
    let mut sorted = importance.clone();
    sorted.sort_by(|a, b| b.1.total_cmp(&a.1));
    println!(
        "chosen: {} ({}; best cross-validated ROC-AUC) — test accuracy {:.4}, ROC-AUC {:.4}; saved {}",
        kind.name(),
        model_type(kind),
        test_metrics.accuracy,
        test_metrics.roc_auc.unwrap_or(f64::NAN),
        out.display()
    );
    println!(
        "feature importance: {}",
        sorted.iter().map(|(n, v)| format!("{n} {v:.3}")).collect::<Vec<_>>().join(", ")
    );
    if !args.no_regressors {
        train_regressors(path, args, out.parent().unwrap_or(Path::new(".")), &trained_at, &params)?;
    }
    Ok(())
}

/// Per-platform p95 latency and cost regressors (LightGBM on the full features), saved as
/// `regressors/<target>.json` next to the router model, with held-out R² and MAPE printed.
///
/// A target with fewer than [`MIN_REGRESSOR_ROWS`] usable rows (e.g. a platform that measured
/// traffic never reached) is skipped with a message, keeping the regressor already there.
///
/// Latencies and costs span several orders of magnitude across functions, so each regressor
/// learns the natural log of its target (artifact target `ln(<target>)`; exponentiate its
/// output) from the windows with traffic (a zero target — no request — has no log and is
/// skipped and counted); the metrics are computed back on the original scale. Measured on the
/// Azure 2019 sample's first 350 functions (held-out 20 %), raw target → log target: MAPE of
/// Lambda p95 70 % → 9.3 %, ECS p95 83 % → 12.6 %, Lambda cost 652 % → 4.8 %, ECS cost
/// 38 % → 4.3 % (R² 0.99/0.98/0.99/0.58 → 0.98/0.98/0.99/0.96).
fn train_regressors(path: &Path, args: &LearnArgs, dir: &Path, trained_at: &str, params: &Params) -> Result<()> {
    let dir = dir.join("regressors");
    std::fs::create_dir_all(&dir)?;
    for target in ["lambda_p95_ms", "ecs_p95_ms", "lambda_cost_usd", "ecs_cost_usd"] {
        let (data, skipped) = match read_dataset(path, &FULL_FEATURES, target) {
            Ok(read) => read,
            Err(e) => {
                println!("regressor {target:<16} skipped: {e:#} (kept the one already there, if any)");
                continue;
            }
        };
        let with_traffic: Vec<usize> = (0..data.n_rows()).filter(|&i| data.y()[i] > 0.0).collect();
        let zero = data.n_rows() - with_traffic.len();
        let data = data.subset(&with_traffic);
        if data.n_rows() < MIN_REGRESSOR_ROWS {
            println!(
                "regressor {target:<16} skipped: {} rows with a positive value, {MIN_REGRESSOR_ROWS} needed (kept the \
                 one already there, if any)",
                data.n_rows()
            );
            continue;
        }
        let logged = Dataset::new(
            data.feature_names().to_vec(),
            format!("ln({target})"),
            data.x().to_vec(),
            data.y().iter().map(|y| y.ln()).collect(),
        )?;
        let split = train_test_split(logged.y(), args.test_fraction, false, args.seed)?;
        let (train, test) = (logged.subset(&split.train), logged.subset(&split.test));
        let model = fit_regressor(LearnerKind::Gbt, &train, params)?;
        let predicted: Vec<f64> = test.rows().map(|row| model.predict(row).map(f64::exp)).collect::<Result<_, _>>()?;
        let actual: Vec<f64> = test.y().iter().map(|y| y.exp()).collect();
        let m = regression_metrics(&actual, &predicted);
        println!(
            "regressor {target:<16} R² {:.3}  MAPE {}  MAE {:.4}  ({} rows, {} without traffic, {} skipped)",
            m.r2,
            m.mape.map_or("n/a".into(), |v| format!("{:.1} %", v * 100.0)),
            m.mae,
            data.n_rows(),
            zero,
            skipped
        );
        let metrics = json!({"test": m, "scale": "ln: the model predicts ln(target); exponentiate"});
        let artifact = Artifact::new(Model::Regressor(model), &train, metrics, trained_at)?;
        artifact.save(&dir.join(format!("{target}.json")))?;
    }
    Ok(())
}

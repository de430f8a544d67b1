//! `infergate train-head`: train a cat/dog head on a base model's features and register
//! base + head as a new model version. The work is done by `infergate-train`; this module
//! resolves the base model, prints progress and registers the result.

use crate::config::Config;
use crate::runtime_args::RuntimeOverrides;
use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use infergate_core::{validate_model_name, PreprocessSpec, Task};
use infergate_gateway::registry::{add_model, AddModel, ArtifactSource};
use infergate_store::Store;
use infergate_train::{train_head, Accuracy, FitOptions, Progress, TrainConfig, LABELS};
use std::path::{Path, PathBuf};

/// Options of `infergate train-head`.
#[derive(Args, Debug)]
pub struct TrainHeadArgs {
    /// Base model: a registered model name (its active version) or a path to an .onnx file
    /// (then with the standard ImageNet preprocessing).
    #[arg(long)]
    base: String,
    /// Training images, in DIR/cat/ and DIR/dog/ (JPEG, PNG or WebP).
    #[arg(long)]
    data: PathBuf,
    /// Model name to register the trained model under (as its next version).
    #[arg(long)]
    out: String,
    /// Fraction of each class held out to measure the head (0 = none).
    #[arg(long, default_value_t = TrainConfig::default().holdout)]
    holdout: f64,
    /// Seed of the held-out split.
    #[arg(long, default_value_t = TrainConfig::default().seed)]
    seed: u64,
    /// L2 penalty of the logistic regression (on standardised features).
    #[arg(long, default_value_t = FitOptions::default().l2)]
    l2: f64,
    /// Make the new version active (the first version of a name always is).
    #[arg(long)]
    activate: bool,
    #[command(flatten)]
    runtime: RuntimeOverrides,
}

/// Trains, reports, and registers.
pub async fn run(mut config: Config, args: TrainHeadArgs) -> Result<()> {
    validate_model_name(&args.out).map_err(|e| anyhow!(e))?;
    if !(args.l2.is_finite() && args.l2 >= 0.0) {
        bail!("--l2 must be a non-negative number, got {}", args.l2);
    }
    args.runtime.apply(&mut config.runtime);
    let data_dir = config.server.data_dir.clone();
    let store = config.server.open_store().await?;
    let (base_path, preprocess) = resolve_base(&store, &data_dir, &args.base).await?;
    let engine = crate::engine::build(&config.runtime)?;
    eprintln!("{}", engine.describe());
    let train_config =
        TrainConfig { holdout: args.holdout, seed: args.seed, fit: FitOptions { l2: args.l2, ..Default::default() } };
    let (trainer, pre, data) = (engine.clone(), preprocess.clone(), args.data.clone());
    let trained = tokio::task::spawn_blocking(move || {
        let mut last_tenth = 0;
        train_head(&trainer, &base_path, &pre, &data, &train_config, &mut |p| report(p, &mut last_tenth))
    })
    .await??;
    println!(
        "features: {} values per image (tensor {:?}); train accuracy {}",
        trained.feature_dim,
        trained.features_name,
        percent(trained.train)
    );
    match trained.held_out {
        Some(a) => println!("held-out accuracy: {}", percent(a)),
        None => println!("held-out accuracy: none (--holdout 0)"),
    }

    let scratch = tempfile::tempdir().context("cannot create a temporary directory")?;
    let (model_file, labels_file) = (scratch.path().join("head.onnx"), scratch.path().join("labels.txt"));
    std::fs::write(&model_file, &trained.onnx).context("cannot write the trained model")?;
    std::fs::write(&labels_file, format!("{}\n", LABELS.join("\n"))).context("cannot write the labels")?;
    let request = AddModel {
        name: args.out,
        version: None,
        source: ArtifactSource::File(model_file),
        sha256: None,
        labels: Some(ArtifactSource::File(labels_file)),
        task: Task::CatDog,
        preprocess,
        activate: args.activate,
    };
    let spec = add_model(&store, &engine, &data_dir, request).await?;
    println!(
        "registered {} v{} (cat-dog, labels {}, sha256 {}){}",
        spec.name,
        spec.version,
        spec.labels.join(","),
        spec.sha256,
        if spec.active { ", active" } else { ", inactive (use --activate)" }
    );
    Ok(())
}

/// The base model file and its preprocessing: the active version of a registered model, or
/// an ONNX file with the standard ImageNet preprocessing.
async fn resolve_base(store: &Store, data_dir: &Path, base: &str) -> Result<(PathBuf, PreprocessSpec)> {
    if let Some(spec) = store.active_model(base).await? {
        eprintln!("base: {} v{} ({})", spec.name, spec.version, spec.artifact_path);
        let path = infergate_gateway::registry::local_artifact(store, data_dir, &spec).await?;
        return Ok((path, spec.preprocess));
    }
    let path = PathBuf::from(base);
    if path.is_file() {
        eprintln!("base: {} (ImageNet preprocessing)", path.display());
        return Ok((path, PreprocessSpec::default()));
    }
    bail!(
        "unknown base model {base:?}: no model of that name is registered in {} and no such file exists (register \
         it with `infergate models add {base} --file MODEL.onnx`, or pass the path of an .onnx file)",
        data_dir.display()
    )
}

/// Prints one progress line to stderr (feature extraction: every tenth of the way).
fn report(progress: Progress, last_tenth: &mut usize) {
    match progress {
        Progress::Images { cats, dogs, train, held_out } => {
            eprintln!("images: {cats} cat + {dogs} dog; training on {train}, holding out {held_out}")
        }
        Progress::Features { done, total } => {
            let tenth = done * 10 / total.max(1);
            if tenth > *last_tenth || done == total {
                *last_tenth = tenth;
                eprintln!("features: {done}/{total} images");
            }
        }
        Progress::Fitted { iterations } => eprintln!("logistic regression fitted in {iterations} L-BFGS iterations"),
    }
}

fn percent(a: Accuracy) -> String {
    format!("{:.1} % ({}/{})", a.fraction() * 100.0, a.correct, a.total)
}

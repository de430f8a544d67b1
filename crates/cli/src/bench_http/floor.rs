//! Floor mode: what a request costs without HTTP, i.e. decode + preprocess + inference on
//! `--concurrency` OS threads, through the same runtime code the server runs.

use super::report::{finish, Outcome, Tally};
use super::samples::{body_for, Sample};
use super::{Plan, RunOpts};
use crate::config::Config;
use anyhow::{anyhow, bail, Context, Result};
use infergate_core::PreprocessSpec;
use infergate_runtime::{decode_image, preprocess, Backend, DecodeLimits};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// The loaded model and what every request needs besides its body.
pub(super) struct FloorSetup {
    backend: Arc<dyn Backend>,
    spec: PreprocessSpec,
    limits: DecodeLimits,
    runtime: String,
    target: String,
}

impl FloorSetup {
    /// Builds the engine `config.runtime` describes (and says which one) and loads `model`.
    pub(super) fn new(config: &Config, model: &Path, input_size: u32) -> Result<Self> {
        let engine = crate::engine::build(&config.runtime)?;
        eprintln!("{}", engine.describe());
        let backend = engine.load(model).with_context(|| format!("cannot load {}", model.display()))?;
        let limits = DecodeLimits { max_pixels: config.limits.max_pixels };
        let spec = PreprocessSpec::with_input_size(input_size);
        Ok(FloorSetup {
            backend,
            spec,
            limits,
            runtime: format!(
                "{} ({} session(s) x {} intra-op thread(s))",
                engine.kind(),
                config.runtime.sessions,
                config.runtime.intra_threads
            ),
            target: model.display().to_string(),
        })
    }
}

/// Warms up, then measures, on a blocking thread of the async runtime.
pub(super) async fn run(setup: FloorSetup, samples: Arc<Vec<Sample>>, opts: RunOpts) -> Result<Outcome> {
    tokio::task::spawn_blocking(move || measure(setup, &samples, &opts))
        .await
        .map_err(|e| anyhow!("floor benchmark thread failed: {e}"))?
}

fn measure(setup: FloorSetup, samples: &[Sample], opts: &RunOpts) -> Result<Outcome> {
    let next = AtomicU64::new(0);
    if opts.warmup > 0 {
        let plan = Plan { first: 0, limit: Some(opts.warmup), deadline: None };
        let warm = phase(&setup, samples, &next, plan, opts, true);
        if warm.latencies_ms.is_empty() {
            bail!("every warm-up inference failed: {}", warm.error_samples.join("; "));
        }
    }
    next.store(opts.warmup, Ordering::SeqCst);
    let started = Instant::now();
    let total = phase(&setup, samples, &next, opts.plan(started), opts, false);
    let elapsed = started.elapsed();
    Ok(finish(opts, "floor", setup.target.clone(), samples.len(), total, elapsed, Some(setup.runtime.clone())))
}

fn phase(setup: &FloorSetup, samples: &[Sample], next: &AtomicU64, plan: Plan, opts: &RunOpts, warmup: bool) -> Tally {
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..opts.concurrency)
            .map(|_| {
                scope.spawn(|| {
                    let mut tally = Tally::default();
                    while let Some(i) = plan.claim(next) {
                        tally.max_index = tally.max_index.max(i);
                        let (body, _) = body_for(samples, i, opts.unique, warmup);
                        one(setup, &body, &mut tally);
                    }
                    tally
                })
            })
            .collect();
        let mut total = Tally::default();
        for w in workers {
            match w.join() {
                Ok(t) => total.merge(t),
                Err(_) => total.error("panic", "a worker thread panicked".into()),
            }
        }
        total
    })
}

/// Exactly the server's per-request work between receiving the bytes and having logits.
fn one(setup: &FloorSetup, body: &[u8], tally: &mut Tally) {
    let began = Instant::now();
    let (rgb, _) = match decode_image(body, setup.limits) {
        Ok(x) => x,
        Err(e) => return tally.error("decode", e.to_string()),
    };
    let decoded = Instant::now();
    let tensor = preprocess(&rgb, &setup.spec);
    drop(rgb);
    let prepared = Instant::now();
    let run = match setup.backend.run(&setup.spec.tensor_shape(1), &tensor) {
        Ok(r) => r,
        Err(e) => return tally.error("inference", e.to_string()),
    };
    let ms = began.elapsed().as_secs_f64() * 1e3;
    if run.output.data.is_empty() {
        return tally.error("inference", "the model returned an empty output".into());
    }
    *tally.status.entry("ok".into()).or_default() += 1;
    tally.latencies_ms.push(ms);
    tally.stages.decode += (decoded - began).as_secs_f64() * 1e3;
    tally.stages.preprocess += (prepared - decoded).as_secs_f64() * 1e3;
    tally.stages.queue += run.queued.as_secs_f64() * 1e3;
    tally.stages.inference += run.compute.as_secs_f64() * 1e3;
}

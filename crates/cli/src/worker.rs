//! `infergate worker`: the worker process of the `local-function` and `local-container`
//! backends (see `infergate-worker`). Prints its bound port on the first line of stdout once
//! its handler is ready.

use crate::config::Config;
use anyhow::{bail, Context, Result};
use clap::Args;
use infergate_core::PreprocessSpec;
use infergate_place::scenario::Distribution;
use infergate_worker::{ClassifyHandler, Handler, SleepCpuHandler};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

/// `infergate worker …`
#[derive(Args, Debug)]
pub struct WorkerArgs {
    /// Listen address (port 0: any free port, printed on the first line of stdout).
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: String,
    /// `sleep-cpu` (synthetic CPU work) or `classify` (an ONNX image classifier).
    #[arg(long)]
    handler: String,
    /// sleep-cpu: execution time in ms, a number or a distribution as JSON
    /// (`{"dist":"exponential","mean":50}`, `constant`, `lognormal`, `empirical`).
    #[arg(long)]
    exec_ms: Option<String>,
    /// sleep-cpu: seed of the draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// classify: the model file.
    #[arg(long)]
    model: Option<PathBuf>,
    /// classify: class labels, one per line.
    #[arg(long)]
    labels: Option<PathBuf>,
    /// classify: input side in pixels (resize to side / 0.875, centre crop).
    #[arg(long, default_value_t = 224)]
    input_size: u32,
    /// Exit when stdin closes (the dispatcher starts workers this way, so they never outlive
    /// it, even when it is killed).
    #[arg(long)]
    exit_with_stdin: bool,
    /// Largest payload accepted, MB.
    #[arg(long, default_value_t = 16.0)]
    max_body_mb: f64,
}

fn exec_distribution(text: &str) -> Result<Distribution> {
    if let Ok(ms) = text.trim().parse::<f64>() {
        return Ok(Distribution::Constant { value: ms });
    }
    serde_json::from_str(text).with_context(|| format!("--exec-ms {text:?}: a number or a distribution as JSON"))
}

fn handler(config: &Config, args: &WorkerArgs) -> Result<Arc<dyn Handler>> {
    match args.handler.as_str() {
        "sleep-cpu" => {
            let exec = exec_distribution(args.exec_ms.as_deref().context("sleep-cpu needs --exec-ms")?)?;
            Ok(Arc::new(SleepCpuHandler::new(exec, args.seed).map_err(|e| anyhow::anyhow!("--exec-ms: {e}"))?))
        }
        "classify" => {
            let model = args.model.as_ref().context("classify needs --model")?;
            let labels = match &args.labels {
                Some(p) => std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read labels {}", p.display()))?
                    .lines()
                    .map(|l| l.trim().to_string())
                    .filter(|l| !l.is_empty())
                    .collect(),
                None => Vec::new(),
            };
            let mut runtime = config.runtime.clone();
            runtime.sessions = 1;
            let engine = crate::engine::build(&runtime)?;
            let backend = engine.load(model).with_context(|| format!("cannot load {}", model.display()))?;
            let spec = PreprocessSpec::with_input_size(args.input_size);
            spec.validate().map_err(|e| anyhow::anyhow!("--input-size: {e}"))?;
            Ok(Arc::new(ClassifyHandler::new(backend, spec, labels)))
        }
        other => bail!("unknown --handler {other:?}: use sleep-cpu or classify"),
    }
}

/// Runs the worker until it is killed (on a small runtime of its own: a worker serves one
/// request at a time, and starts faster without a thread per core).
pub fn run(config: Config, args: WorkerArgs) -> Result<()> {
    if args.exit_with_stdin {
        std::thread::spawn(|| {
            let mut sink = Vec::new();
            let _ = std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut sink);
            std::process::exit(0);
        });
    }
    let handler = handler(&config, &args)?;
    let max_body = (args.max_body_mb * 1024.0 * 1024.0) as usize;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.addr)
            .await
            .with_context(|| format!("cannot listen on {}", args.addr))?;
        let port = listener.local_addr()?.port();
        let mut out = std::io::stdout().lock();
        writeln!(out, "{port}")?;
        out.flush()?;
        drop(out);
        infergate_worker::serve(listener, handler, max_body).await?;
        Ok(())
    })
}

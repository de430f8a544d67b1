//! `infergate serve`.

use crate::config::Config;
use crate::runtime_args::RuntimeOverrides;
use anyhow::{Context, Result};
use clap::Args;
use infergate_gateway::{router, AppState};
use infergate_runtime::InstancePool;
use infergate_store::Store;
use std::sync::Arc;

/// Options of `infergate serve` (each overrides the config file and environment).
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Listen address, e.g. 127.0.0.1:8080 (port 0 picks a free port).
    #[arg(long)]
    addr: Option<String>,
    #[command(flatten)]
    runtime: RuntimeOverrides,
}

/// Starts the gateway and runs until Ctrl-C or SIGTERM.
pub async fn run(mut config: Config, args: ServeArgs) -> Result<()> {
    init_logging();
    if let Some(v) = args.addr {
        config.server.addr = v;
    }
    args.runtime.apply(&mut config.runtime);
    config.validate()?;
    let engine = crate::engine::build(&config.runtime)?;
    eprintln!("{}", engine.describe());
    let data_dir = config.server.data_dir.clone();
    let store =
        Store::open(&data_dir).await.with_context(|| format!("cannot open data directory {}", data_dir.display()))?;
    let models = store.list_models().await?;
    let pool = Arc::new(InstancePool::new(engine));
    let state = AppState::new(store, pool, config.limits.clone(), data_dir.clone());
    let listener = tokio::net::TcpListener::bind(&config.server.addr)
        .await
        .with_context(|| format!("cannot listen on {}", config.server.addr))?;
    let addr = listener.local_addr()?;
    // The first line of stdout is the address, for scripts and tests that start us on port 0.
    println!("listening on http://{addr}");
    if models.is_empty() {
        eprintln!(
            "no model registered yet: add one with\n  infergate models add mobilenet --file model.onnx --labels \
             imagenet_classes.txt --task cat-dog --data-dir {}\n(see the README for the ONNX Model Zoo URL and its SHA-256)",
            data_dir.display()
        );
    } else {
        let active: Vec<String> =
            models.iter().filter(|m| m.active).map(|m| format!("{} v{}", m.name, m.version)).collect();
        eprintln!("models: {}", active.join(", "));
    }
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown_signal()).await?;
    Ok(())
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

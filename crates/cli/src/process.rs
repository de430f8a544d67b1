//! What every long-running command (`serve`, `agent`) does the same way: logging and
//! shutting down on a signal.

use anyhow::Result;

/// Logs to stderr as text or JSON lines; `RUST_LOG` filters (default `default_filter`).
pub fn init_logging(format: &str, default_filter: &str) -> Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        "text" => logs.try_init(),
        "json" => logs.json().flatten_event(true).try_init(),
        other => anyhow::bail!("log format {other:?}: expected text or json"),
    };
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
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

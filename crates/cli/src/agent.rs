//! `infergate agent`: the edge agent on a device (see `infergate-agent`). Prints
//! `listening on http://ADDR` on stdout once it listens.

use crate::config::Config;
use anyhow::{Context, Result};
use clap::Args;
use infergate_agent::{Agent, AgentConfig};
use std::path::PathBuf;
use std::time::Duration;

/// `infergate agent …`
#[derive(Args, Debug)]
pub struct AgentArgs {
    /// The controller's base URL (`http://host:8080`); without it the agent runs standalone.
    #[arg(long)]
    controller: Option<String>,
    /// The device token (from `infergate devices add`); also accepted, with its SHA-256, on commands.
    #[arg(long, env = "INFERGATE_AGENT_TOKEN", hide_env_values = true)]
    token: String,
    /// The device's id at the controller.
    #[arg(long)]
    device_id: String,
    /// The device's type: jetson_nano_2gb, raspberry_pi5, beaglebone_black, …
    #[arg(long)]
    device_type: String,
    /// Listen address (port 0: any free port).
    #[arg(long, default_value = "0.0.0.0:8000")]
    addr: String,
    /// The URL the controller pushes commands to (default: http://<bound address>).
    #[arg(long)]
    agent_url: Option<String>,
    /// Root of the tree holding /sys for power sensors and thermal zones; when given, only its
    /// file-based sensors are used (no NVML, no vcgencmd).
    #[arg(long)]
    sysfs_root: Option<PathBuf>,
    /// Inference library: auto (ONNX Runtime when found, else tract), ort or tract.
    #[arg(long)]
    runtime: Option<String>,
    /// Largest model file accepted, MiB.
    #[arg(long, default_value_t = 512.0)]
    max_model_mb: f64,
    /// Seconds between heartbeats (default 5, or what the controller asks for).
    #[arg(long)]
    heartbeat_interval_s: Option<f64>,
    /// Seconds between telemetry samples.
    #[arg(long, default_value_t = 5.0)]
    telemetry_interval_s: f64,
    /// Telemetry samples kept on disk while the controller is unreachable (oldest dropped first).
    #[arg(long, default_value_t = 10_000)]
    telemetry_buffer: usize,
    /// Serve GET /status without the token.
    #[arg(long)]
    status_public: bool,
}

fn seconds(flag: &str, s: f64) -> Result<Duration> {
    anyhow::ensure!(s.is_finite() && s > 0.0, "{flag} must be a positive number of seconds");
    Ok(Duration::from_secs_f64(s))
}

/// Runs the agent until Ctrl-C or SIGTERM.
pub async fn run(config: Config, args: AgentArgs) -> Result<()> {
    crate::process::init_logging(&config.server.log_format, "info")?;
    anyhow::ensure!(args.max_model_mb.is_finite() && args.max_model_mb > 0.0, "--max-model-mb must be positive");
    let mut runtime = config.runtime.clone();
    if let Some(r) = &args.runtime {
        runtime.runtime = r.clone();
    }
    runtime.sessions = 1;
    let engine = crate::engine::build(&runtime)?;
    tracing::info!("{}", engine.describe());
    let mut agent_config = AgentConfig::new(&args.device_id, &args.device_type, &args.token, &config.server.data_dir);
    agent_config.controller = args.controller;
    agent_config.agent_url = args.agent_url;
    agent_config.sysfs_root = args.sysfs_root;
    agent_config.max_model_bytes = (args.max_model_mb * 1024.0 * 1024.0) as u64;
    agent_config.heartbeat_interval =
        args.heartbeat_interval_s.map(|s| seconds("--heartbeat-interval-s", s)).transpose()?;
    agent_config.telemetry_interval = seconds("--telemetry-interval-s", args.telemetry_interval_s)?;
    agent_config.telemetry_buffer = args.telemetry_buffer;
    agent_config.status_public = args.status_public;
    agent_config.validate()?;
    let agent = tokio::task::spawn_blocking(move || Agent::open(agent_config, engine)).await??;
    let listener =
        tokio::net::TcpListener::bind(&args.addr).await.with_context(|| format!("cannot listen on {}", args.addr))?;
    let addr = listener.local_addr()?;
    println!("listening on http://{addr}");
    agent.serve(listener, crate::process::shutdown_signal()).await?;
    Ok(())
}

//! The edge agent (`infergate agent`): runs on a device, serves the seed's API (`GET /status`,
//! `POST /deploy`, `POST /inference/start`, `POST /inference/stop`), deploys models with SHA-256
//! checks and automatic rollback, runs the inference loop under an energy budget, and reports to
//! the controller (heartbeats that return the desired state, buffered telemetry). The wire types
//! and the protocol are in [`infergate_core::fleet`].
//!
//! - [`config`]: the settings; [`auth`]: the token check (the token or its SHA-256).
//! - [`agent`]: the shared state and `/status`; [`state`]: what survives a restart.
//! - [`deploy`]: download, verify, install, load, smoke inference, swap or roll back.
//! - [`commands`] and [`runner`]: the inference loop; [`metrics`]: energy against the budget
//!   with the seed's rules; [`power`]: the sensor; [`device`]: CPU, memory, disk, temperature.
//! - [`telemetry`]: samples buffered on disk and sent in batches; [`controller`]: heartbeats.
//! - [`http`]: the router.
//!
//! Files live under `<data dir>/agent`: `state.json`, `models/<sha256>.onnx` (the model in use
//! and the last good one), `telemetry/` (the buffer).

#![warn(missing_docs)]

pub mod agent;
pub mod auth;
pub mod commands;
pub mod config;
pub mod controller;
pub mod deploy;
pub mod device;
pub mod error;
pub mod http;
pub mod metrics;
pub mod power;
pub mod runner;
pub mod state;
pub mod telemetry;

use std::future::Future;

pub use agent::Agent;
pub use auth::{token_sha256, TokenCheck};
pub use config::AgentConfig;
pub use deploy::{DeployError, Deployed};
pub use error::AgentError;

impl Agent {
    /// Serves the API on `listener` and runs telemetry (and heartbeats, with a controller) until
    /// `shutdown` completes; then stops the inference loop.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), AgentError> {
        let addr = listener.local_addr().map_err(|e| AgentError::Config(format!("listener: {e}")))?;
        {
            let mut url = self.inner.agent_url.lock();
            if url.is_none() {
                *url = Some(format!("http://{addr}"));
            }
        }
        let mut tasks = Vec::new();
        let client = self.inner.controller.clone();
        tasks.push(tokio::spawn(telemetry::telemetry_loop(self.clone(), client.clone())));
        if let Some(client) = client {
            tasks.push(tokio::spawn(controller::heartbeat_loop(self.clone(), client)));
        }
        let served = axum::serve(listener, http::router(self.clone())).with_graceful_shutdown(shutdown).await;
        for task in tasks {
            task.abort();
        }
        let agent = self.clone();
        let _ = tokio::task::spawn_blocking(move || agent.stop_inference()).await;
        served.map_err(|e| AgentError::Config(format!("server: {e}")))
    }
}

//! Talking to the controller: heartbeats (which return the desired state, applied at once) and
//! telemetry batches. Every call carries `Authorization: Bearer <device token>` and
//! `X-Device-Id`, times out after [`CONTROLLER_TIMEOUT`], and a failure is logged and retried on
//! the next tick — never fatal.

use std::time::Duration;

use infergate_core::fleet::{DesiredState, Heartbeat, InferenceStart, TelemetryAck, TelemetryBatch, DEVICE_ID_HEADER};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::agent::Agent;
use crate::config::{CONTROLLER_TIMEOUT, DEFAULT_HEARTBEAT};
use crate::error::AgentError;

/// The controller's agent API.
#[derive(Debug, Clone)]
pub struct ControllerClient {
    base: String,
    token: String,
    device_id: String,
    http: reqwest::Client,
}

/// Why a call to the controller failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    /// Not reachable, timed out.
    #[error("{0}")]
    Transport(String),
    /// An error status.
    #[error("HTTP {status}: {body}")]
    Status {
        /// The status.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// An answer that is not what the protocol says.
    #[error("unexpected answer: {0}")]
    Decode(String),
}

impl ControllerClient {
    /// A client of the controller at `base` (no trailing slash).
    pub fn new(base: &str, token: &str, device_id: &str) -> Result<Self, AgentError> {
        let http = reqwest::Client::builder()
            .timeout(CONTROLLER_TIMEOUT)
            .connect_timeout(CONTROLLER_TIMEOUT)
            .build()
            .map_err(|e| AgentError::Http(e.to_string()))?;
        Ok(ControllerClient { base: base.into(), token: token.into(), device_id: device_id.into(), http })
    }

    async fn post<B: Serialize, R: DeserializeOwned>(&self, path: &str, body: &B) -> Result<R, ClientError> {
        let url = format!("{}{path}", self.base);
        let resp = self
            .http
            .post(&url)
            .bearer_auth(&self.token)
            .header(DEVICE_ID_HEADER, &self.device_id)
            .json(body)
            .send()
            .await
            .map_err(|e| ClientError::Transport(format!("POST {url}: {e}")))?;
        let status = resp.status();
        if !status.is_success() {
            let text = resp.text().await.unwrap_or_default();
            return Err(ClientError::Status { status: status.as_u16(), body: text.chars().take(300).collect() });
        }
        resp.json().await.map_err(|e| ClientError::Decode(format!("POST {url}: {e}")))
    }

    /// `POST /v1/agent/heartbeat`.
    pub async fn heartbeat(&self, hb: &Heartbeat) -> Result<DesiredState, ClientError> {
        self.post("/v1/agent/heartbeat", hb).await
    }

    /// `POST /v1/agent/telemetry`.
    pub async fn telemetry(&self, batch: &TelemetryBatch) -> Result<TelemetryAck, ClientError> {
        self.post("/v1/agent/telemetry", batch).await
    }
}

/// Sends a heartbeat every interval (and at once when something happened), applying the
/// desired state each answer carries.
pub(crate) async fn heartbeat_loop(agent: Agent, client: ControllerClient) {
    let fixed = agent.config().heartbeat_interval;
    let mut interval = fixed.unwrap_or(DEFAULT_HEARTBEAT);
    let mut failing = false;
    loop {
        let hb = Heartbeat { agent_url: agent.agent_url(), status: agent.status() };
        match client.heartbeat(&hb).await {
            Ok(desired) => {
                if failing {
                    tracing::info!("controller reachable again");
                }
                failing = false;
                if fixed.is_none() && desired.heartbeat_interval_s.is_finite() && desired.heartbeat_interval_s > 0.0 {
                    interval = Duration::from_secs_f64(desired.heartbeat_interval_s.clamp(0.1, 3600.0));
                }
                agent.apply_desired(desired);
            }
            Err(e) if failing => tracing::debug!(error = %e, "heartbeat failed"),
            Err(e) => {
                tracing::warn!(error = %e, "heartbeat failed; retrying every {:?}", interval);
                failing = true;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = agent.inner.heartbeat_now.notified() => {}
        }
    }
}

impl Agent {
    /// Applies what the controller wants: the desired deployment when it differs from the model
    /// in use, from the one in progress and from the last one that failed; a run when its number
    /// is above the last one started (once the desired model is in use); a stop when no run
    /// should go and a controller-started run goes.
    pub fn apply_desired(&self, desired: DesiredState) {
        let inner = &self.inner;
        let (current, failed, last_run) = {
            let p = inner.persisted.lock();
            (p.current.as_ref().and_then(|c| c.deployment_id.clone()), p.failed_deployment_id.clone(), p.last_run)
        };
        let deploying = inner.deploying.lock().as_ref().map(|d| d.deployment_id.clone());
        let mut model_ready = deploying.is_none();
        if let Some(cmd) = desired.deployment {
            if let Some(id) = cmd.deployment_id.clone() {
                let differs = current.as_deref() != Some(id.as_str());
                model_ready &= !differs;
                let retry = failed.as_deref() == Some(id.as_str());
                if differs && !retry && deploying.is_none() {
                    tracing::info!(deployment = %id, model = %cmd.model_name, "deploying the desired model");
                    let agent = self.clone();
                    tokio::spawn(async move {
                        let _ = agent.deploy(cmd).await;
                    });
                    return;
                }
            }
        }
        let inference = desired.inference;
        if inference.running && inference.run > last_run && model_ready {
            let start = InferenceStart { iterations: inference.iterations.unwrap_or(100), run: Some(inference.run) };
            match self.start_inference(start) {
                Ok(msg) => tracing::info!(run = inference.run, "{msg}"),
                Err(e) => tracing::warn!(run = inference.run, error = %e, "cannot start the desired run"),
            }
        } else if !inference.running {
            let stats = inner.stats.lock();
            let controller_run = stats.active && stats.run.is_some_and(|r| r <= inference.run);
            drop(stats);
            if controller_run {
                tracing::info!(run = inference.run, "stopping: the controller wants no run");
                let agent = self.clone();
                tokio::task::spawn_blocking(move || agent.stop_inference());
            }
        }
    }
}

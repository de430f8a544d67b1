//! The controller of the edge fleet, inside `infergate serve` (the agent is `infergate agent`;
//! the wire types and the protocol are in [`infergate_core::fleet`]):
//! - [`agent_api`]: what agents call with their device token — heartbeats (answered with the
//!   device's desired state), telemetry batches, model artifacts with their SHA-256;
//! - [`devices`]: the registry as admins see it (online after a heartbeat, offline after 3
//!   missed), each device's telemetry, starting and stopping inference;
//! - [`deployments`]: deploying a registered model to a device within an energy budget (the
//!   energy predictor's number decides; over budget is a 409 with the numbers), the deployment
//!   log, and planning which devices fit a model's latency and energy targets;
//! - [`push`]: telling an agent at once (the seed's endpoints); an agent that missed a push
//!   catches up from its next heartbeat.

pub mod agent_api;
pub mod deployments;
pub mod devices;
pub mod push;

use crate::routes::{op, Endpoint, Op};
use axum::http::{HeaderMap, Method};
use axum::routing::{get, post};
use infergate_store::fleet::Device;
use std::time::Duration;

/// The controller's settings.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    /// Seconds between an agent's heartbeats (told to agents; 3 missed: offline).
    pub heartbeat_interval_s: f64,
    /// Telemetry older than this many days is deleted hourly; 0 keeps everything.
    pub telemetry_retention_days: u32,
    /// The controller's URL as agents reach it (`http://host:port`), for artifact links; empty:
    /// taken from each request's `Host`.
    pub public_url: String,
    /// How long a push to an agent may take (a deploy downloads and verifies the model).
    pub push_timeout: Duration,
}

impl Default for FleetConfig {
    fn default() -> Self {
        FleetConfig {
            heartbeat_interval_s: 5.0,
            telemetry_retention_days: 7,
            public_url: String::new(),
            push_timeout: Duration::from_secs(120),
        }
    }
}

impl FleetConfig {
    /// Whether `device` is online: it sent a heartbeat within the last 3 intervals.
    pub fn online(&self, device: &Device, now: chrono::DateTime<chrono::Utc>) -> bool {
        device.revoked_at.is_none()
            && device
                .last_heartbeat_at
                .as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .is_some_and(|t| {
                    (now - t.with_timezone(&chrono::Utc)).as_seconds_f64() <= 3.0 * self.heartbeat_interval_s
                })
    }

    /// The base URL agents reach this controller at: the configured one, else `http://` + the
    /// request's `Host`.
    pub fn base_url(&self, headers: &HeaderMap) -> String {
        if !self.public_url.is_empty() {
            return self.public_url.trim_end_matches('/').to_string();
        }
        let host = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
        format!("http://{host}")
    }
}

const JSON_BODY: &[&str] = &["application/json"];

/// The fleet's endpoints, for the route table.
pub fn endpoints() -> Vec<Endpoint> {
    use Method as M;
    let json_op = |method, id, summary, ok| Op { body: JSON_BODY, ..op(method, id, summary, ok) };
    vec![
        Endpoint {
            path: "/v1/agent/heartbeat",
            handler: post(agent_api::heartbeat_handler),
            ops: vec![json_op(
                M::POST,
                "agentHeartbeat",
                "An agent's status; answered with its desired state (device token)",
                200,
            )],
        },
        Endpoint {
            path: "/v1/agent/telemetry",
            handler: post(agent_api::telemetry_handler),
            ops: vec![json_op(
                M::POST,
                "agentTelemetry",
                "Numbered telemetry samples, each stored once (device token)",
                200,
            )],
        },
        Endpoint {
            path: "/v1/agent/artifacts/{model}/{version}",
            handler: get(agent_api::artifact_handler),
            ops: vec![op(
                M::GET,
                "agentArtifact",
                "A model file for an agent, its SHA-256 in X-Content-SHA256 (device token)",
                200,
            )],
        },
        Endpoint {
            path: "/v1/devices",
            handler: get(devices::list_handler),
            ops: vec![op(M::GET, "listDevices", "Edge devices: online, last heartbeat, their agents' status", 200)],
        },
        Endpoint {
            path: "/v1/devices/{id}",
            handler: get(devices::get_handler),
            ops: vec![op(M::GET, "getDevice", "One device, with its desired deployment", 200)],
        },
        Endpoint {
            path: "/v1/devices/{id}/telemetry",
            handler: get(devices::telemetry_handler),
            ops: vec![Op {
                query: &[("since", "samples taken at or after (RFC 3339)"), ("limit", "most samples (1-10000)")],
                ..op(M::GET, "deviceTelemetry", "A device's telemetry, oldest first", 200)
            }],
        },
        Endpoint {
            path: "/v1/devices/{id}/inference/start",
            handler: post(devices::start_handler),
            ops: vec![json_op(M::POST, "startDeviceInference", "Start an inference run on a device", 200)],
        },
        Endpoint {
            path: "/v1/devices/{id}/inference/stop",
            handler: post(devices::stop_handler),
            ops: vec![op(M::POST, "stopDeviceInference", "Stop a device's inference run", 200)],
        },
        Endpoint {
            path: "/v1/deployments",
            handler: post(deployments::create_handler).get(deployments::list_handler),
            ops: vec![
                json_op(
                    M::POST,
                    "createDeployment",
                    "Deploy a model to a device within an energy budget (409 over it)",
                    201,
                ),
                Op {
                    query: &[
                        ("device", "only this device"),
                        ("limit", "page size (1-1000)"),
                        ("offset", "rows to skip"),
                    ],
                    ..op(M::GET, "listDeployments", "Deployments, newest first", 200)
                },
            ],
        },
        Endpoint {
            path: "/v1/deployments/log",
            handler: get(deployments::log_handler),
            ops: vec![Op {
                query: &[
                    ("device", "only this device"),
                    ("after", "next_after of the previous page"),
                    ("limit", "page size"),
                ],
                ..op(M::GET, "deploymentLog", "What happened to deployments, oldest first", 200)
            }],
        },
        Endpoint {
            path: "/v1/deployments/plan",
            handler: post(deployments::plan_handler),
            ops: vec![json_op(
                M::POST,
                "planDeployment",
                "Online devices ranked by predicted energy and latency for a model",
                200,
            )],
        },
    ]
}

/// Where an agent downloads a model version.
pub fn artifact_url(base: &str, model: &str, version: i64) -> String {
    format!("{base}/v1/agent/artifacts/{model}/{version}")
}

/// Every hour, deletes telemetry older than the retention (0 keeps everything).
pub async fn telemetry_retention_sweep(state: crate::AppState) {
    let days = state.fleet().telemetry_retention_days;
    if days == 0 {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let before = (chrono::Utc::now() - chrono::Duration::days(i64::from(days)))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        match state.store().delete_telemetry_before(&before).await {
            Ok(n) => tracing::info!(deleted = n, retention_days = days, "old device telemetry deleted"),
            Err(e) => tracing::warn!("telemetry retention sweep failed: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn online_means_a_recent_heartbeat() {
        let config = FleetConfig { heartbeat_interval_s: 5.0, ..FleetConfig::default() };
        let now = chrono::Utc::now();
        let at = |s: i64| (now - chrono::Duration::seconds(s)).to_rfc3339();
        let mut d = Device {
            id: "d".into(),
            device_type: "t".into(),
            agent_url: None,
            created_at: at(100),
            last_heartbeat_at: None,
            last_status: None,
            inference_running: false,
            inference_run: 0,
            inference_iterations: None,
            revoked_at: None,
        };
        assert!(!config.online(&d, now), "never seen");
        d.last_heartbeat_at = Some(at(14));
        assert!(config.online(&d, now));
        d.last_heartbeat_at = Some(at(16));
        assert!(!config.online(&d, now), "3 heartbeats missed");
        d.last_heartbeat_at = Some(at(1));
        d.revoked_at = Some(at(0));
        assert!(!config.online(&d, now), "revoked");
        assert_eq!(artifact_url("http://c:1", "m", 2), "http://c:1/v1/agent/artifacts/m/2");
    }
}

//! The agent's HTTP API, the seed's endpoints with the seed's field names:
//! `GET /status`, `POST /deploy`, `POST /inference/start`, `POST /inference/stop`.
//!
//! Commands need `Authorization: Bearer <device token or its SHA-256>`; `/status` too unless
//! `--status-public`. A refused request changes nothing and gets 401. Errors are JSON:
//! `{"success": false, "error": "…", "code": "…"}`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use infergate_core::fleet::{DeployCommand, InferenceStart};
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::agent::Agent;

/// The router over `agent`.
pub fn router(agent: Agent) -> Router {
    Router::new()
        .route("/status", get(status))
        .route("/deploy", post(deploy))
        .route("/inference/start", post(start))
        .route("/inference/stop", post(stop))
        .fallback(not_found)
        .with_state(agent)
}

/// A JSON error in the seed's shape plus a code.
pub fn fail(status: u16, code: &str, error: &str) -> Response {
    Refusal::new(status, code, error).into_response()
}

/// A refused request: `{"success": false, "error": …, "code": …}` with its status.
#[derive(Debug, Clone)]
pub struct Refusal {
    status: u16,
    code: String,
    error: String,
    unauthorized: bool,
}

impl Refusal {
    fn new(status: u16, code: &str, error: &str) -> Self {
        Refusal { status, code: code.into(), error: error.into(), unauthorized: false }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut r = (status, Json(json!({"success": false, "error": self.error, "code": self.code}))).into_response();
        if self.unauthorized {
            r.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        r
    }
}

fn authorize(agent: &Agent, headers: &HeaderMap) -> Result<(), Refusal> {
    agent
        .auth()
        .check(headers)
        .map_err(|e| Refusal { unauthorized: true, ..Refusal::new(401, "unauthorized", &e.to_string()) })
}

/// The body as `T`; an empty body is `empty` when given.
fn parse<T: DeserializeOwned>(body: &Bytes, empty: Option<T>) -> Result<T, Refusal> {
    if body.iter().all(u8::is_ascii_whitespace) {
        if let Some(t) = empty {
            return Ok(t);
        }
    }
    serde_json::from_slice(body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => Refusal::new(422, "invalid_command", &e.to_string()),
        _ => Refusal::new(400, "bad_json", &format!("the body is not JSON: {e}")),
    })
}

fn internal(e: impl std::fmt::Display) -> Refusal {
    Refusal::new(500, "internal", &e.to_string())
}

async fn status(State(agent): State<Agent>, headers: HeaderMap) -> Result<Response, Refusal> {
    if !agent.config().status_public {
        authorize(&agent, &headers)?;
    }
    let status = tokio::task::spawn_blocking(move || agent.status()).await.map_err(internal)?;
    Ok(Json(status).into_response())
}

async fn deploy(State(agent): State<Agent>, headers: HeaderMap, body: Bytes) -> Result<Response, Refusal> {
    authorize(&agent, &headers)?;
    let cmd: DeployCommand = parse(&body, None)?;
    let name = cmd.model_name.clone();
    // Its own task: a client that hangs up does not cut a deployment short.
    let result = tokio::spawn(async move { agent.deploy(cmd).await }).await.map_err(internal)?;
    match result {
        Ok(d) => Ok(Json(json!({
            "success": true,
            "message": if d.already {
                format!("Model {name} is already deployed")
            } else {
                format!("Model {name} deployed successfully")
            },
            "model_path": d.path.display().to_string(),
            "file_size_mb": (d.record.size_bytes as f64 / (1024.0 * 1024.0) * 100.0).round() / 100.0,
            "model_sha256": d.record.sha256,
            "deployment_id": d.record.deployment_id,
            "state": "ready",
        }))
        .into_response()),
        Err(e) => {
            let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = json!({"success": false, "error": e.to_string(), "code": e.code(), "state": e.report_state()});
            Ok((status, Json(body)).into_response())
        }
    }
}

async fn start(State(agent): State<Agent>, headers: HeaderMap, body: Bytes) -> Result<Response, Refusal> {
    authorize(&agent, &headers)?;
    let req: InferenceStart = parse(&body, Some(InferenceStart { iterations: 100, run: None }))?;
    let run = req.run;
    let started = tokio::task::spawn_blocking(move || agent.start_inference(req)).await.map_err(internal)?;
    let message = started.map_err(|e| Refusal::new(e.http_status(), e.code(), &e.to_string()))?;
    Ok(Json(json!({"success": true, "message": message, "run": run})).into_response())
}

async fn stop(State(agent): State<Agent>, headers: HeaderMap) -> Result<Response, Refusal> {
    authorize(&agent, &headers)?;
    let was_running = tokio::task::spawn_blocking(move || agent.stop_inference()).await.map_err(internal)?;
    Ok(Json(json!({"success": true, "message": "Inference stopped", "was_running": was_running})).into_response())
}

async fn not_found() -> Response {
    fail(404, "not_found", "no such endpoint: GET /status, POST /deploy, POST /inference/start, POST /inference/stop")
}

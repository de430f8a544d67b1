//! What agents call, each call carrying `Authorization: Bearer <device token>` and
//! `X-Device-Id`: `POST /v1/agent/heartbeat`, `POST /v1/agent/telemetry` and
//! `GET /v1/agent/artifacts/{model}/{version}`. A missing, wrong or revoked token is a 401 and
//! changes nothing.

use super::artifact_url;
use crate::auth::token::{presented_token, token_matches};
use crate::error::Path;
use crate::error::{ApiError, ApiResult};
use crate::input::read_body;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use infergate_core::fleet::{
    AgentStatus, DeployCommand, DesiredInference, DesiredState, Heartbeat, TelemetryAck, TelemetryBatch,
    DEVICE_ID_HEADER, SHA256_HEADER,
};
use infergate_store::fleet::{Device, TelemetrySample};
use infergate_store::now_rfc3339;
use serde::de::DeserializeOwned;

/// Most samples one telemetry batch may carry.
pub const MAX_BATCH: usize = 5000;

/// The device a request comes from, checked against its token (constant time).
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> ApiResult<Device> {
    let token = presented_token(headers)
        .map_err(|e| ApiError::unauthorized("bad_credentials", e.to_string()))?
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::unauthorized("missing_device_token", "send the device token as `Authorization: Bearer TOKEN`")
        })?;
    let id =
        headers.get(DEVICE_ID_HEADER).and_then(|v| v.to_str().ok()).filter(|v| !v.is_empty()).ok_or_else(|| {
            ApiError::unauthorized("missing_device_id", format!("send the device id in {DEVICE_ID_HEADER}"))
        })?;
    let refused = || {
        ApiError::unauthorized(
            "bad_device_token",
            "unknown device, wrong token or revoked device (see `infergate devices list`; `devices rotate ID` issues a new token)",
        )
    };
    let Some((device, hash)) = state.store().device_with_token(id).await.map_err(ApiError::from)? else {
        return Err(refused());
    };
    if !token_matches(token, &hash) || device.revoked_at.is_some() {
        return Err(refused());
    }
    Ok(device)
}

/// Reads a JSON body of type `T`: not JSON is a 400, the wrong shape a 422.
pub async fn json_of<T: DeserializeOwned>(state: &AppState, req: Request) -> ApiResult<T> {
    let body = read_body(req, state.config().max_body_bytes).await?;
    let value: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request("bad_json", format!("the body is not JSON: {e}")))?;
    serde_json::from_value(value).map_err(|e| ApiError::invalid_field("body", e.to_string()))
}

/// Moves the device's deployments to what its status reports (only its own deployments).
async fn apply_report(state: &AppState, device: &Device, status: &AgentStatus) -> ApiResult<()> {
    let mut updates: Vec<(&str, &str, Option<&str>)> = Vec::new();
    if let Some(r) = &status.last_deployment {
        let to = match r.state.as_str() {
            "downloading" => Some("delivered"),
            "ready" => Some("ready"),
            "failed" => Some("failed"),
            "rolled_back" => Some("rolled_back"),
            _ => None,
        };
        if let (Some(id), Some(to)) = (r.deployment_id.as_deref(), to) {
            updates.push((id, to, r.error.as_deref()));
        }
    }
    if let Some(id) = status.deployment_id.as_deref() {
        updates.push((id, "ready", None));
    }
    for (id, to, message) in updates {
        let Some(d) = state.store().deployment(id).await.map_err(ApiError::from)? else { continue };
        if d.device_id == device.id && d.state != to {
            state.store().set_deployment_state(id, to, message).await.map_err(ApiError::from)?;
        }
    }
    Ok(())
}

/// What the controller wants `device` to run.
pub async fn desired_state(state: &AppState, device: &Device, base_url: &str) -> ApiResult<DesiredState> {
    let deployment = state.store().desired_deployment(&device.id).await.map_err(ApiError::from)?;
    Ok(DesiredState {
        deployment: deployment.map(|d| DeployCommand {
            model_url: artifact_url(base_url, &d.model, d.version),
            model_name: d.model,
            energy_budget_mwh: Some(d.energy_budget_mwh),
            sha256: Some(d.sha256),
            deployment_id: Some(d.id),
            version: Some(d.version),
            predicted_energy_mwh: d.predicted_energy_mwh,
        }),
        inference: DesiredInference {
            running: device.inference_running,
            run: device.inference_run,
            iterations: device.inference_iterations,
        },
        heartbeat_interval_s: state.fleet().heartbeat_interval_s,
    })
}

/// `POST /v1/agent/heartbeat`: records the agent's status and answers its desired state.
pub async fn heartbeat_handler(State(state): State<AppState>, req: Request) -> ApiResult<Json<DesiredState>> {
    let headers = req.headers().clone();
    let device = authenticate(&state, &headers).await?;
    let beat: Heartbeat = json_of(&state, req).await?;
    if let Some(url) = &beat.agent_url {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ApiError::invalid_field("agent_url", "must be an http:// or https:// URL"));
        }
    }
    let status = serde_json::to_value(&beat.status).map_err(|e| ApiError::internal(e.to_string()))?;
    state
        .store()
        .record_heartbeat(&device.id, beat.agent_url.as_deref(), &status, &now_rfc3339())
        .await
        .map_err(ApiError::from)?;
    apply_report(&state, &device, &beat.status).await?;
    let base = state.fleet().base_url(&headers);
    Ok(Json(desired_state(&state, &device, &base).await?))
}

/// `POST /v1/agent/telemetry`: stores the samples not stored yet.
pub async fn telemetry_handler(State(state): State<AppState>, req: Request) -> ApiResult<Json<TelemetryAck>> {
    let device = authenticate(&state, &req.headers().clone()).await?;
    let batch: TelemetryBatch = json_of(&state, req).await?;
    if batch.samples.len() > MAX_BATCH {
        return Err(ApiError::invalid_field("samples", format!("at most {MAX_BATCH} samples per batch")));
    }
    let mut samples = Vec::with_capacity(batch.samples.len());
    for (i, s) in batch.samples.into_iter().enumerate() {
        let at = chrono::DateTime::parse_from_rfc3339(&s.at)
            .map_err(|e| ApiError::invalid_field(format!("samples[{i}].at"), format!("not RFC 3339: {e}")))?;
        if s.seq < 0 {
            return Err(ApiError::invalid_field(format!("samples[{i}].seq"), "must not be negative"));
        }
        let at = at.with_timezone(&chrono::Utc).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        samples.push(TelemetrySample { seq: s.seq, at, sample: s.sample });
    }
    if batch.dropped > 0 {
        tracing::warn!(device = %device.id, dropped = batch.dropped, "the agent dropped telemetry while offline");
    }
    let stored = state.store().insert_telemetry(&device.id, &samples).await.map_err(ApiError::from)?;
    Ok(Json(TelemetryAck { stored, max_seq: samples.iter().map(|s| s.seq).max() }))
}

/// `GET /v1/agent/artifacts/{model}/{version}`: the model file, its SHA-256 in `X-Content-SHA256`.
pub async fn artifact_handler(
    State(state): State<AppState>,
    Path((model, version)): Path<(String, i64)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    authenticate(&state, &headers).await?;
    let spec = state.resolve_model(Some(&model), Some(version)).await?;
    let path = state.artifact(&spec).await?;
    let bytes = tokio::fs::read(&path).await.map_err(|e| {
        ApiError::unavailable("model_file_unavailable", format!("model {model} v{version}: cannot read its file: {e}"))
    })?;
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    if let Ok(v) = HeaderValue::from_str(&spec.sha256) {
        h.insert(SHA256_HEADER, v);
    }
    Ok(response)
}

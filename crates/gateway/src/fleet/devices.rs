//! The fleet as admins see it: `GET /v1/devices`, `GET /v1/devices/{id}`,
//! `GET /v1/devices/{id}/telemetry?since=&limit=`, and `POST /v1/devices/{id}/inference/start`
//! / `stop` (recorded as the device's desired state, then pushed to its agent).

use super::agent_api::json_of;
use super::push::push;
use crate::error::Path;
use crate::error::{query, ApiError, ApiResult, QueryResult};
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::Json;
use infergate_core::fleet::InferenceStart;
use infergate_store::fleet::Device;
use serde::Deserialize;
use serde_json::{json, Value};

/// A device as listed: the registry row, whether it is online, and its agent's last status.
pub fn describe(state: &AppState, d: &Device, now: chrono::DateTime<chrono::Utc>) -> Value {
    let mut v = serde_json::to_value(d).unwrap_or(Value::Null);
    v["online"] = state.fleet().online(d, now).into();
    v
}

async fn device(state: &AppState, id: &str) -> ApiResult<Device> {
    state
        .store()
        .device(id)
        .await?
        .ok_or_else(|| ApiError::not_found("unknown_device", format!("no device {id:?} (see GET /v1/devices)")))
}

/// `GET /v1/devices`.
pub async fn list_handler(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let now = chrono::Utc::now();
    let devices: Vec<Value> = state.store().list_devices().await?.iter().map(|d| describe(&state, d, now)).collect();
    Ok(Json(json!({ "devices": devices, "heartbeat_interval_s": state.fleet().heartbeat_interval_s })))
}

/// `GET /v1/devices/{id}`.
pub async fn get_handler(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let d = device(&state, &id).await?;
    let mut v = describe(&state, &d, chrono::Utc::now());
    v["desired_deployment"] = serde_json::to_value(state.store().desired_deployment(&id).await?).unwrap_or_default();
    Ok(Json(v))
}

/// Query of `GET /v1/devices/{id}/telemetry`.
#[derive(Debug, Deserialize)]
pub struct TelemetryQuery {
    /// Samples taken at or after this time (RFC 3339).
    pub since: Option<String>,
    /// Most samples (1-10000, default 1000).
    pub limit: Option<u32>,
}

/// `GET /v1/devices/{id}/telemetry?since=&limit=`: samples oldest first.
pub async fn telemetry_handler(
    State(state): State<AppState>,
    Path(id): Path<String>,
    q: QueryResult<TelemetryQuery>,
) -> ApiResult<Json<Value>> {
    let q = query(q)?;
    device(&state, &id).await?;
    let limit = q.limit.unwrap_or(1000);
    if !(1..=10_000).contains(&limit) {
        return Err(ApiError::bad_request("bad_limit", "limit must be between 1 and 10000"));
    }
    let since = match q.since.as_deref() {
        Some(s) => Some(
            chrono::DateTime::parse_from_rfc3339(s)
                .map_err(|e| ApiError::bad_request("bad_since", format!("since is not RFC 3339: {e}")))?
                .with_timezone(&chrono::Utc)
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        ),
        None => None,
    };
    let samples = state.store().telemetry(&id, since.as_deref(), limit).await?;
    Ok(Json(json!({ "device_id": id, "samples": samples })))
}

/// `POST /v1/devices/{id}/inference/start {iterations}`.
pub async fn start_handler(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> ApiResult<Json<Value>> {
    device(&state, &id).await?;
    let start: InferenceStart = json_of(&state, req).await?;
    if start.iterations == 0 {
        return Err(ApiError::invalid_field("iterations", "must be at least 1"));
    }
    let d = state.store().set_inference(&id, Some(start.iterations)).await?;
    push(&state, &id, "/inference/start", json!({ "iterations": start.iterations, "run": d.inference_run }));
    Ok(Json(describe(&state, &d, chrono::Utc::now())))
}

/// `POST /v1/devices/{id}/inference/stop`.
pub async fn stop_handler(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    device(&state, &id).await?;
    let d = state.store().set_inference(&id, None).await?;
    push(&state, &id, "/inference/stop", json!({}));
    Ok(Json(describe(&state, &d, chrono::Utc::now())))
}

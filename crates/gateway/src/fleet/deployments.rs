//! Deploying registered models to devices: `POST /v1/deployments` (refused with a 409 and the
//! numbers when the energy predicted for the device exceeds the budget), the deployments and
//! their log (`GET /v1/deployments`, `GET /v1/deployments/log`, paginated, never truncated), and
//! `POST /v1/deployments/plan`: which online devices fit a model's latency and energy targets.

use super::agent_api::json_of;
use super::artifact_url;
use super::push::push;
use crate::energy::predict_model_on;
use crate::error::{query, ApiError, ApiResult, QueryResult};
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use infergate_core::fleet::DeployCommand;
use infergate_energy::Prediction;
use infergate_store::fleet::Deployment;
use infergate_store::now_rfc3339;
use serde::Deserialize;
use serde_json::{json, Value};

/// `POST /v1/deployments`.
#[derive(Debug, Deserialize)]
pub struct DeploymentRequest {
    /// The device.
    pub device_id: String,
    /// A registered model.
    pub model: String,
    /// Its version (default: the active one).
    pub version: Option<i64>,
    /// Energy budget per inference on the device, mWh.
    pub energy_budget_mwh: f64,
}

fn positive(field: &str, v: f64) -> ApiResult<()> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(ApiError::invalid_field(field, format!("must be a positive number, not {v}")))
    }
}

/// The prediction for a model on a device type; a device type without a predictor or prior
/// means the budget cannot be checked (409, saying how to get one).
async fn prediction(state: &AppState, spec: &infergate_core::ModelSpec, device_type: &str) -> ApiResult<Prediction> {
    predict_model_on(state, spec, device_type).await.map_err(|e| {
        if e.code == "unknown_device" {
            ApiError::new(
                StatusCode::CONFLICT,
                "no_energy_prediction",
                format!("cannot check the energy budget: {}", e.message),
            )
        } else {
            e
        }
    })
}

/// `POST /v1/deployments {device_id, model, version?, energy_budget_mwh}`.
pub async fn create_handler(State(state): State<AppState>, req: Request) -> Response {
    match create(&state, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn create(state: &AppState, req: Request) -> ApiResult<Response> {
    let headers = req.headers().clone();
    let r: DeploymentRequest = json_of(state, req).await?;
    positive("energy_budget_mwh", r.energy_budget_mwh)?;
    let device = state.store().device(&r.device_id).await?.ok_or_else(|| {
        ApiError::not_found("unknown_device", format!("no device {:?} (see GET /v1/devices)", r.device_id))
    })?;
    if device.revoked_at.is_some() {
        return Err(ApiError::new(StatusCode::CONFLICT, "device_revoked", format!("device {} is revoked", device.id)));
    }
    let spec = state.resolve_model(Some(&r.model), r.version).await?;
    let p = prediction(state, &spec, &device.device_type).await?;
    let now = now_rfc3339();
    let over = p.energy_mwh > r.energy_budget_mwh;
    let message = over.then(|| {
        format!(
            "predicted {:.6} mWh per inference for {} v{} on {} ({}), over the budget of {} mWh",
            p.energy_mwh, spec.name, spec.version, device.device_type, p.source, r.energy_budget_mwh
        )
    });
    let deployment = Deployment {
        id: uuid::Uuid::now_v7().to_string(),
        device_id: device.id.clone(),
        model: spec.name.clone(),
        version: spec.version,
        sha256: spec.sha256.clone(),
        energy_budget_mwh: r.energy_budget_mwh,
        predicted_energy_mwh: Some(p.energy_mwh),
        prediction_source: Some(p.source.to_string()),
        state: if over { "refused" } else { "pending" }.into(),
        message: message.clone(),
        created_at: now.clone(),
        updated_at: now,
    };
    state.store().insert_deployment(&deployment).await?;
    let numbers = json!({
        "predicted_energy_mwh": p.energy_mwh,
        "confidence_interval_lower": p.energy_lower_mwh,
        "confidence_interval_upper": p.energy_upper_mwh,
        "source": p.source,
        "energy_budget_mwh": r.energy_budget_mwh,
        "device_type": device.device_type,
    });
    if let Some(message) = message {
        let e = ApiError::new(StatusCode::CONFLICT, "over_budget", message);
        return Ok(e.into_response_with(&[("prediction", numbers), ("deployment_id", deployment.id.into())]));
    }
    let command = DeployCommand {
        model_name: spec.name.clone(),
        model_url: artifact_url(&state.fleet().base_url(&headers), &spec.name, spec.version),
        energy_budget_mwh: Some(r.energy_budget_mwh),
        sha256: Some(spec.sha256.clone()),
        deployment_id: Some(deployment.id.clone()),
        version: Some(spec.version),
        predicted_energy_mwh: Some(p.energy_mwh),
    };
    push(state, &device.id, "/deploy", serde_json::to_value(&command).unwrap_or_default());
    Ok((StatusCode::CREATED, Json(json!({ "deployment": deployment, "prediction": numbers }))).into_response())
}

/// Query of `GET /v1/deployments` and `/v1/deployments/log`.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    /// Only this device.
    pub device: Option<String>,
    /// Page size (1-1000, default 100).
    pub limit: Option<u32>,
    /// Deployments to skip (`/v1/deployments`).
    pub offset: Option<u64>,
    /// The log's cursor: events after this id (`/v1/deployments/log`).
    pub after: Option<i64>,
}

fn limit_of(q: &PageQuery) -> ApiResult<u32> {
    let limit = q.limit.unwrap_or(100);
    if (1..=1000).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::bad_request("bad_limit", "limit must be between 1 and 1000"))
    }
}

/// `GET /v1/deployments?device=&limit=&offset=`: newest first; `next_offset` while there may be more.
pub async fn list_handler(State(state): State<AppState>, q: QueryResult<PageQuery>) -> ApiResult<Json<Value>> {
    let q = query(q)?;
    let limit = limit_of(&q)?;
    let offset = q.offset.unwrap_or(0);
    let rows = state.store().list_deployments(q.device.as_deref(), limit, offset).await?;
    let next = (rows.len() == limit as usize).then(|| offset + u64::from(limit));
    Ok(Json(json!({ "deployments": rows, "next_offset": next })))
}

/// `GET /v1/deployments/log?device=&after=&limit=`: events oldest first; pass `next_after` on.
pub async fn log_handler(State(state): State<AppState>, q: QueryResult<PageQuery>) -> ApiResult<Json<Value>> {
    let q = query(q)?;
    let limit = limit_of(&q)?;
    let events = state.store().deployment_events(q.device.as_deref(), q.after.unwrap_or(0), limit).await?;
    let next = (events.len() == limit as usize).then(|| events.last().map(|e| e.id)).flatten();
    Ok(Json(json!({ "events": events, "next_after": next })))
}

/// `POST /v1/deployments/plan`.
#[derive(Debug, Deserialize)]
pub struct PlanRequest {
    /// A registered model.
    pub model: String,
    /// Its version (default: the active one).
    pub version: Option<i64>,
    /// Latency target per inference, ms.
    pub slo_ms: Option<f64>,
    /// Energy budget per inference, mWh.
    pub energy_budget_mwh: Option<f64>,
}

/// `POST /v1/deployments/plan {model, slo_ms?, energy_budget_mwh?}`: every online device with
/// its predicted latency and energy for the model and whether it fits; those that fit first,
/// then by energy, then latency. Devices without a predictor are listed with the reason.
pub async fn plan_handler(State(state): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let r: PlanRequest = json_of(&state, req).await?;
    if let Some(v) = r.slo_ms {
        positive("slo_ms", v)?;
    }
    if let Some(v) = r.energy_budget_mwh {
        positive("energy_budget_mwh", v)?;
    }
    let spec = state.resolve_model(Some(&r.model), r.version).await?;
    let (candidates, unknown) = edge_candidates(&state, &spec, r.slo_ms, r.energy_budget_mwh).await?;
    Ok(Json(json!({
        "model": spec.name,
        "version": spec.version,
        "slo_ms": r.slo_ms,
        "energy_budget_mwh": r.energy_budget_mwh,
        "candidates": candidates,
        "unpredicted": unknown,
    })))
}

/// The online devices for a model, ranked (those that fit first, then by predicted energy, then
/// latency), and those whose type has no predictor, with the reason. `/v1/route` shows these as
/// the `edge` platform's candidates.
pub async fn edge_candidates(
    state: &AppState,
    spec: &infergate_core::ModelSpec,
    slo_ms: Option<f64>,
    energy_budget_mwh: Option<f64>,
) -> ApiResult<(Vec<Value>, Vec<Value>)> {
    let r = (slo_ms, energy_budget_mwh);
    let now = chrono::Utc::now();
    let mut ranked: Vec<(bool, f64, f64, Value)> = Vec::new();
    let mut unknown = Vec::new();
    for d in state.store().list_devices().await? {
        if !state.fleet().online(&d, now) {
            continue;
        }
        match prediction(state, spec, &d.device_type).await {
            Ok(p) => {
                let latency = p.latency_ms.unwrap_or(f64::INFINITY);
                let fits_latency = r.0.is_none_or(|slo| latency <= slo);
                let fits_energy = r.1.is_none_or(|b| p.energy_mwh <= b);
                let fits = fits_latency && fits_energy;
                let v = json!({
                    "device_id": d.id,
                    "device_type": d.device_type,
                    "predicted_energy_mwh": p.energy_mwh,
                    "energy_interval_mwh": [p.energy_lower_mwh, p.energy_upper_mwh],
                    "predicted_latency_ms": p.latency_ms,
                    "latency_interval_ms": [p.latency_lower_ms, p.latency_upper_ms],
                    "source": p.source,
                    "fits_latency": fits_latency,
                    "fits_energy": fits_energy,
                    "fits": fits,
                });
                ranked.push((fits, p.energy_mwh, latency, v));
            }
            Err(e) => unknown.push(json!({ "device_id": d.id, "device_type": d.device_type, "error": e.message })),
        }
    }
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.total_cmp(&b.1)).then(a.2.total_cmp(&b.2)));
    Ok((ranked.into_iter().map(|(_, _, _, v)| v).collect(), unknown))
}

//! The router's endpoints: `POST /predict` (the seed's request and response, answered by the
//! trained router model in `<data dir>/route/router.json`) and `POST /v1/route` (each
//! platform's predicted latency and cost for a described workload, and the decision).

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use bytes::Bytes;
use infergate_place::router::{route, FieldError, RouteAnswer, RouteRequest, RouterModel, SeedRequest};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

/// Loads the router model from an artifact file (set by the binary: the `learn` artifact
/// reader lives outside the gateway).
pub type RouterLoader = Arc<dyn Fn(&std::path::Path) -> Result<RouterModel, String> + Send + Sync>;

/// The router model as the server holds it: loaded from its file on first use and again
/// when the file has changed (looked at no more than once a second), so `infergate route
/// train` takes effect without a restart.
#[derive(Default)]
pub struct RouterSlot {
    loaded: parking_lot::RwLock<Option<Loaded>>,
}

/// A loaded model, the file's modification time it came from, and when that was last checked.
struct Loaded {
    modified: SystemTime,
    checked: Instant,
    model: Arc<RouterModel>,
}

/// How often the model file is looked at for changes (not on every request: a `stat` per
/// decision would cost more than the decision).
const RECHECK: std::time::Duration = std::time::Duration::from_secs(1);

impl RouterSlot {
    /// The current model, (re)loading it when the file is new or changed.
    fn get(&self, path: &std::path::Path, loader: Option<&RouterLoader>) -> ApiResult<Arc<RouterModel>> {
        if let Some(l) = self.loaded.read().as_ref() {
            if l.checked.elapsed() < RECHECK {
                return Ok(l.model.clone());
            }
        }
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).map_err(|_| {
            ApiError::unavailable(
                "router_not_trained",
                format!(
                    "no router model at {}: build a dataset and train one with `infergate route simulate` then \
                     `infergate route train`",
                    path.display()
                ),
            )
        })?;
        if let Some(l) = self.loaded.write().as_mut() {
            if l.modified == modified {
                l.checked = Instant::now();
                return Ok(l.model.clone());
            }
        }
        let loader = loader
            .ok_or_else(|| ApiError::unavailable("router_unavailable", "this build cannot load router models"))?;
        let model = Arc::new(loader(path).map_err(|e| {
            ApiError::unavailable("router_model_invalid", format!("{e} (retrain with `infergate route train`)"))
        })?);
        *self.loaded.write() = Some(Loaded { modified, checked: Instant::now(), model: model.clone() });
        Ok(model)
    }
}

/// Where the router model lives under the data directory.
pub fn router_model_path(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("route").join("router.json")
}

fn parse_json(body: &Bytes) -> ApiResult<Value> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request("bad_json", format!("the body is not JSON: {e}")))
}

fn field(e: FieldError) -> ApiError {
    let message = e.to_string();
    ApiError::invalid_field(e.field, message)
}

/// `POST /predict`: the seed's request (`workload_type`, `payload_size_kb`, `time_window`,
/// `load_pattern`) and response (`prediction`, `metrics`, `request_context`, `model_info`).
pub async fn predict_handler(State(state): State<AppState>, body: Bytes) -> ApiResult<Json<Value>> {
    let started = Instant::now();
    let value = parse_json(&body)?;
    let req = SeedRequest::parse(&value).map_err(field)?;
    let model = state.router_slot().get(&router_model_path(state.data_dir()), state.router_loader())?;
    let prediction = model.predict_seed(&req).map_err(field)?;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    Ok(Json(json!({
        "prediction": prediction,
        "metrics": {
            "inference_time_ms": ms,
            "inference_cost_usd": state.pricing().cost_usd(ms),
            "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        },
        "request_context": req,
        "model_info": {
            "model_type": model.model_type,
            "test_accuracy": model.test_accuracy,
            "training_date": model.training_date,
        },
    })))
}

/// `POST /v1/route`: `{arrival_rate, exec_ms, memory_mb?, slo_ms?, workload_type?,
/// payload_size_kb?}` → each platform's p50/p95 latency and cost, the decision and why. With
/// `model` (a registered model; `model_version`, `energy_budget_mwh` optional) the answer also
/// has `edge`: the online edge devices ranked for that model against the same SLO (see
/// [`crate::fleet::deployments::edge_candidates`]).
pub async fn route_handler(State(state): State<AppState>, body: Bytes) -> ApiResult<Json<Value>> {
    let value = parse_json(&body)?;
    let req = RouteRequest::parse(&value).map_err(field)?;
    let edge = edge_request(&value)?;
    let (lambda, task_usd_per_hour) = state.route_platforms();
    let answer: RouteAnswer = tokio::task::spawn_blocking(move || route(&req, &lambda, task_usd_per_hour))
        .await
        .map_err(|e| ApiError::internal(format!("routing failed: {e}")))?;
    let slo_ms = answer.slo_ms;
    let mut out = serde_json::to_value(answer).map_err(|e| ApiError::internal(e.to_string()))?;
    if let Some((model, version, budget)) = edge {
        let spec = state.resolve_model(Some(&model), version).await?;
        let (candidates, unpredicted) =
            crate::fleet::deployments::edge_candidates(&state, &spec, Some(slo_ms), budget).await?;
        out["edge"] = json!({
            "model": spec.name,
            "version": spec.version,
            "energy_budget_mwh": budget,
            "candidates": candidates,
            "unpredicted": unpredicted,
        });
    }
    Ok(Json(out))
}

/// The edge part of a `/v1/route` request: a model, its version, an energy budget per inference.
type EdgeRequest = (String, Option<i64>, Option<f64>);

/// `model`, `model_version` and `energy_budget_mwh` of a `/v1/route` request, when `model` is given.
fn edge_request(value: &Value) -> ApiResult<Option<EdgeRequest>> {
    let Some(model) = value.get("model").filter(|m| !m.is_null()) else { return Ok(None) };
    let model = model.as_str().ok_or_else(|| ApiError::invalid_field("model", "must be a registered model's name"))?;
    let version = match value.get("model_version").filter(|v| !v.is_null()) {
        None => None,
        Some(v) => Some(
            v.as_i64()
                .filter(|v| *v > 0)
                .ok_or_else(|| ApiError::invalid_field("model_version", "must be a positive integer"))?,
        ),
    };
    let budget = match value.get("energy_budget_mwh").filter(|v| !v.is_null()) {
        None => None,
        Some(v) => Some(
            v.as_f64()
                .filter(|b| b.is_finite() && *b > 0.0)
                .ok_or_else(|| ApiError::invalid_field("energy_budget_mwh", "must be a positive number"))?,
        ),
    };
    Ok(Some((model.to_string(), version, budget)))
}

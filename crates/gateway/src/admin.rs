//! Admin endpoints acting on this server's models.
//!
//! - `POST /v1/models/{name}/warm[?version=V&count=N]` loads instances of a version (default:
//!   the active one, one instance) ahead of traffic and answers what loaded and how long.
//! - `POST /v1/models/{name}/activate` and `POST /v1/models/{name}/rollback` switch the
//!   active version atomically: the new one is loaded first, requests already running finish
//!   on the old one, and a version that does not load is never made active.
//! - `POST /v1/models` registers a version from a URL, like `infergate models add --url`.

use crate::error::Path;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use infergate_core::ModelSpec;
use infergate_store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Query of the warm endpoint.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarmQuery {
    /// Version to warm (default: the active one).
    pub version: Option<i64>,
    /// Instances wanted loaded (default 1, at most `runtime.sessions`).
    pub count: Option<usize>,
}

/// Answer of the warm endpoint.
#[derive(Debug, Serialize, Deserialize)]
pub struct WarmAnswer {
    /// Model name.
    pub model: String,
    /// Version warmed.
    pub version: i64,
    /// Instances loaded now.
    pub instances: usize,
    /// Load time of each instance this call loaded, in milliseconds (empty if all were warm).
    pub loaded_ms: Vec<f64>,
}

/// `POST /v1/models/{name}/warm`.
pub async fn warm_handler(
    State(state): State<AppState>,
    Path(name): Path<String>,
    query: crate::error::QueryResult<WarmQuery>,
) -> ApiResult<Json<WarmAnswer>> {
    let q = crate::error::query(query)?;
    let count = q.count.unwrap_or(1);
    let max = state.pool().policy().max_instances;
    if count == 0 || count > max {
        return Err(ApiError::bad_request(
            "bad_count",
            format!("count must be between 1 and {max} (runtime.sessions), got {count}"),
        ));
    }
    let spec = state.resolve_model(Some(&name), q.version).await?;
    let path = state.artifact(&spec).await?;
    let pool = state.pool().version(&spec, || path);
    let timeout = state.config().load_timeout();
    let report = tokio::task::spawn_blocking(move || pool.warm(count, timeout))
        .await
        .map_err(|e| ApiError::internal(format!("warm task failed: {e}")))??;
    Ok(Json(WarmAnswer {
        model: spec.name.clone(),
        version: spec.version,
        instances: report.instances,
        loaded_ms: report.loaded_ms,
    }))
}

/// Body of the activate endpoint.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivateRequest {
    /// The version to make active.
    pub version: i64,
}

/// Answer of the activate and rollback endpoints.
#[derive(Debug, Serialize, Deserialize)]
pub struct ActivationAnswer {
    /// Model name.
    pub model: String,
    /// The version now active.
    pub version: i64,
    /// The version active before (if any).
    pub previous_version: Option<i64>,
    /// Load time of the instance loaded for the switch, if one had to be loaded.
    pub load_ms: Option<f64>,
}

/// `POST /v1/models/{name}/activate` with `{"version": V}`: loads V (so it answers before
/// the switch), then makes it active. A version that fails to load never becomes active.
pub async fn activate_handler(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Result<Json<ActivateRequest>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<ActivationAnswer>> {
    let Json(req) = body.map_err(|e| ApiError::bad_request("bad_json", e.body_text()))?;
    let target = state.resolve_model(Some(&name), Some(req.version)).await?;
    switch_to(&state, target, |store, spec| async move {
        let (now, before) = store.activate_model_version(&spec.name, spec.version).await?;
        Ok((now, before))
    })
    .await
}

/// `POST /v1/models/{name}/rollback`: makes the version active before the current one
/// active again (loading it first).
pub async fn rollback_handler(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<ActivationAnswer>> {
    state.resolve_model(Some(&name), None).await?;
    let Some((from, to)) = state.store().rollback_target(&name).await? else {
        return Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "nothing_to_roll_back",
            format!("model {name:?} has no earlier active version to roll back to"),
        ));
    };
    let target = state.resolve_model(Some(&name), Some(to)).await?;
    switch_to(&state, target, move |store, spec| async move {
        let now = store.rollback_model(&spec.name, from, spec.version).await?;
        Ok((now, Some(from)))
    })
    .await
}

/// Loads `target`, commits the switch with `commit`, and points this process at it. The
/// previous version stops being kept warm; its instances finish what they run and unload
/// after the keep-alive.
async fn switch_to<F, Fut>(state: &AppState, target: Arc<ModelSpec>, commit: F) -> ApiResult<Json<ActivationAnswer>>
where
    F: FnOnce(Store, Arc<ModelSpec>) -> Fut,
    Fut: std::future::Future<Output = Result<(ModelSpec, Option<i64>), StoreError>>,
{
    let not_loaded = |why: &dyn std::fmt::Display| {
        ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "activation_failed",
            format!("{} v{} did not load, so it was not activated: {why}", target.name, target.version),
        )
    };
    let path = state.artifact(&target).await.map_err(|e| not_loaded(&e.message))?;
    let pool = state.pool().version(&target, || path);
    let timeout = state.config().load_timeout();
    let warming = pool.clone();
    let report = tokio::task::spawn_blocking(move || warming.warm(1, timeout))
        .await
        .map_err(|e| ApiError::internal(format!("warm task failed: {e}")))?
        .map_err(|e| not_loaded(&e))?;
    let (now, before) = commit(state.store().clone(), target.clone()).await?;
    let now = Arc::new(now);
    state.models().set_active(now.clone());
    pool.set_min_warm(state.pool().policy().min_warm);
    if let Some(old) = before.filter(|&v| v != now.version).and_then(|v| state.pool().get(&now.name, v)) {
        old.set_min_warm(0);
    }
    tracing::info!(model = %now.name, version = now.version, previous = ?before, "active version switched");
    Ok(Json(ActivationAnswer {
        model: now.name.clone(),
        version: now.version,
        previous_version: before,
        load_ms: report.loaded_ms.first().copied(),
    }))
}

/// Body of `POST /v1/models`: register a model version from a URL (verified by SHA-256).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// Model name.
    pub name: String,
    /// http(s) URL of the ONNX file.
    pub url: String,
    /// Its SHA-256 (hex).
    pub sha256: String,
    /// http(s) URL of the class names, one per line.
    pub labels_url: Option<String>,
    /// `imagenet` (default) or `cat-dog`.
    pub task: Option<String>,
    /// Version number (default: the next one).
    pub version: Option<i64>,
    /// Make it active (the first version of a name always is).
    #[serde(default)]
    pub activate: bool,
    /// Side of the square model input (default 224).
    pub input_size: Option<u32>,
}

/// `POST /v1/models`: downloads, verifies, probes and registers a model version, like
/// `infergate models add --url`; 201 with the version. Only URLs: the server never reads a
/// path named by a client.
pub async fn register_handler(
    State(state): State<AppState>,
    body: Result<Json<RegisterRequest>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<(axum::http::StatusCode, Json<serde_json::Value>)> {
    use crate::registry::{add_model, AddModel, ArtifactSource};
    let Json(req) = body.map_err(|e| ApiError::bad_request("bad_json", e.body_text()))?;
    let web = |what: &str, url: &str| {
        if url.starts_with("http://") || url.starts_with("https://") {
            Ok(ArtifactSource::Url(url.to_string()))
        } else {
            Err(ApiError::bad_request("bad_url", format!("{what} must be an http(s) URL, got {url:?}")))
        }
    };
    let task = match req.task.as_deref() {
        None => infergate_core::Task::Imagenet,
        Some(t) => t.parse().map_err(|e| ApiError::bad_request("bad_task", format!("{e}")))?,
    };
    let add = AddModel {
        name: req.name,
        version: req.version,
        source: web("url", &req.url)?,
        sha256: Some(req.sha256),
        labels: req.labels_url.as_deref().map(|u| web("labels_url", u)).transpose()?,
        task,
        preprocess: infergate_core::PreprocessSpec::with_input_size(req.input_size.unwrap_or(224)),
        activate: req.activate,
    };
    let spec = add_model(state.store(), state.pool().engine(), state.data_dir(), add).await?;
    if spec.active {
        state.models().set_active(Arc::new(spec.clone()));
    }
    let answer = serde_json::json!({
        "name": spec.name, "version": spec.version, "active": spec.active, "task": spec.task,
        "sha256": spec.sha256, "size_bytes": spec.size_bytes, "classes": spec.num_classes(),
    });
    Ok((axum::http::StatusCode::CREATED, Json(answer)))
}

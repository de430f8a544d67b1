//! Admin endpoints acting on this server's model instances.
//!
//! `POST /v1/models/{name}/warm[?version=V&count=N]` loads instances of a version (default:
//! the active one, one instance) ahead of traffic and answers what loaded and how long it took.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};

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
    query: Result<Query<WarmQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<WarmAnswer>> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let count = q.count.unwrap_or(1);
    let max = state.pool().policy().max_instances;
    if count == 0 || count > max {
        return Err(ApiError::bad_request(
            "bad_count",
            format!("count must be between 1 and {max} (runtime.sessions), got {count}"),
        ));
    }
    let spec = state.resolve_model(Some(&name), q.version).await?;
    let pool = state.pool().version(&spec, state.artifact_path(&spec));
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

//! The latest `infergate route evaluate`, for the dashboard: its summary (the strategies'
//! table) and its charts, read from `<data dir>/route/evaluations/<time>/` as named by
//! `<data dir>/route/latest.txt`. Admin-only (the access table's default).

use crate::error::Path;
use crate::error::{ApiError, ApiResult};
use crate::routes::{op, Endpoint};
use crate::state::AppState;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use serde_json::{json, Value};
use std::path::PathBuf;

/// The evaluation endpoints.
pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint {
            path: "/v1/route/evaluation",
            handler: get(latest_handler),
            ops: vec![op(
                Method::GET,
                "latestRouteEvaluation",
                "The latest `route evaluate`: when, the strategies' table and its chart names",
                200,
            )],
        },
        Endpoint {
            path: "/v1/route/evaluation/charts/{name}",
            handler: get(chart_handler),
            ops: vec![op(Method::GET, "routeEvaluationChart", "A chart of the latest `route evaluate`, as SVG", 200)],
        },
    ]
}

fn none_yet() -> ApiError {
    ApiError::not_found(
        "no_evaluation",
        "no route evaluation yet: run `infergate route evaluate` with this data directory",
    )
}

/// The latest evaluation's directory and its name (a UTC time).
async fn latest(state: &AppState) -> ApiResult<(PathBuf, String)> {
    let base = state.data_dir().join("route");
    let stamp = match tokio::fs::read_to_string(base.join("latest.txt")).await {
        Ok(s) => s.trim().to_string(),
        Err(_) => return Err(none_yet()),
    };
    if !safe_name(&stamp) {
        return Err(ApiError::unavailable("bad_evaluation", format!("route/latest.txt names {stamp:?}")));
    }
    Ok((base.join("evaluations").join(&stamp), stamp))
}

/// Letters, digits, `-`, `_`, `.` and `:` only, not starting with a dot (no path traversal).
fn safe_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('.')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}

/// `GET /v1/route/evaluation`: `{evaluated_at, summary, charts}`.
pub async fn latest_handler(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let (dir, stamp) = latest(&state).await?;
    let summary = tokio::fs::read(dir.join("summary.json")).await.map_err(|_| none_yet())?;
    let summary: Value = serde_json::from_slice(&summary)
        .map_err(|e| ApiError::unavailable("bad_evaluation", format!("summary.json is not JSON: {e}")))?;
    let mut charts = Vec::new();
    if let Ok(mut entries) = tokio::fs::read_dir(&dir).await {
        while let Ok(Some(e)) = entries.next_entry().await {
            if let Some(name) = e.file_name().to_str().and_then(|n| n.strip_suffix(".svg")) {
                charts.push(name.to_string());
            }
        }
    }
    charts.sort();
    Ok(Json(json!({ "evaluated_at": stamp, "summary": summary, "charts": charts })))
}

/// `GET /v1/route/evaluation/charts/{name}`: `<name>.svg` of the latest evaluation.
pub async fn chart_handler(State(state): State<AppState>, Path(name): Path<String>) -> ApiResult<Response> {
    let (dir, _) = latest(&state).await?;
    let missing = || ApiError::not_found("no_chart", format!("the latest evaluation has no chart {name:?}"));
    if !safe_name(&name) {
        return Err(missing());
    }
    let svg = tokio::fs::read(dir.join(format!("{name}.svg"))).await.map_err(|_| missing())?;
    let mut r = svg.into_response();
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"));
    r.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::safe_name;

    #[test]
    fn names_cannot_leave_the_directory() {
        assert!(safe_name("latency_cdf"));
        assert!(safe_name("2026-11-23T01:00:00Z"));
        for bad in ["", "..", "../x", "a/b", ".hidden", "a\\b"] {
            assert!(!safe_name(bad), "{bad}");
        }
    }
}

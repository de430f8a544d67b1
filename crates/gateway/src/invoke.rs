//! Live dispatch over HTTP: `POST /v1/invoke/{function}` forwards the body to the platform
//! the function's placement chose (see `infergate-dispatch`) and answers the backend's body
//! with where it ran and what it cost in headers; `GET /v1/functions` shows each function's
//! platforms, breakers and workers; `GET /v1/invocations` lists the record.

use crate::error::Path;
use crate::error::{ApiError, ApiResult};
use crate::input::read_body;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use infergate_dispatch::{DispatchError, Dispatcher, RoutingMode};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

/// Query of `POST /v1/invoke/{function}`.
#[derive(Debug, Deserialize)]
pub struct InvokeQuery {
    /// Overrides the function's placement for this request: `hybrid`, `lambda` or `ecs`.
    pub mode: Option<String>,
}

fn dispatcher(state: &AppState) -> ApiResult<&Arc<Dispatcher>> {
    state.dispatcher().ok_or_else(|| {
        ApiError::not_found(
            "no_functions",
            "no functions are configured: add [[functions]] to the configuration file (see the README, \
             \"Live dispatch\")",
        )
    })
}

fn header(response: &mut Response, name: &'static str, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(HeaderName::from_static(name), v);
    }
}

/// `POST /v1/invoke/{function}[?mode=hybrid|lambda|ecs]`: the backend's answer, with
/// `X-Routed-To` (`lambda` or `ecs`), `X-Cold-Start`, `X-Latency-Ms`, `X-Cost-Usd`,
/// `X-Exec-Ms` (when the backend said), `X-Fallback`, `X-Backend` and `X-Invocation-Id`.
pub async fn invoke_handler(
    State(state): State<AppState>,
    Path(function): Path<String>,
    query: crate::error::QueryResult<InvokeQuery>,
    req: Request,
) -> ApiResult<Response> {
    let query = crate::error::query(query)?;
    let dispatcher = dispatcher(&state)?.clone();
    let mode = match query.mode.as_deref() {
        None => None,
        Some(m) => Some(RoutingMode::parse(m).map_err(|e| ApiError::bad_request("bad_mode", e))?),
    };
    let config = dispatcher.function(&function).ok_or_else(|| {
        ApiError::not_found(
            "unknown_function",
            format!("no function named {function:?}; configured: {}", dispatcher.function_names().join(", ")),
        )
    })?;
    let function_limit = (config.max_payload_kb * 1024.0) as usize;
    let limit = function_limit.min(state.config().max_body_bytes);
    let body = read_body(req, limit).await.map_err(|e| {
        if e.status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the payload is over {limit} bytes, the most function {function:?} takes (max_payload_kb)"),
            )
        } else {
            e
        }
    })?;
    match dispatcher.invoke(&function, body, mode).await {
        Ok(a) => {
            let status = StatusCode::from_u16(a.status).unwrap_or(StatusCode::OK);
            let mut response = (status, a.body).into_response();
            if let Some(ct) = a.content_type.as_deref().and_then(|c| HeaderValue::from_str(c).ok()) {
                response.headers_mut().insert(axum::http::header::CONTENT_TYPE, ct);
            }
            header(&mut response, "x-routed-to", a.platform.as_str().into());
            header(&mut response, "x-cold-start", a.cold_start.to_string());
            header(&mut response, "x-latency-ms", format!("{:.3}", a.latency_ms));
            header(&mut response, "x-cost-usd", format!("{:.12}", a.cost_usd));
            if let Some(ms) = a.exec_ms {
                header(&mut response, "x-exec-ms", format!("{ms:.3}"));
            }
            header(&mut response, "x-fallback", a.fallback.to_string());
            header(&mut response, "x-backend", a.backend.into());
            header(&mut response, "x-invocation-id", a.id);
            Ok(response)
        }
        Err(DispatchError::UnknownFunction(f)) => {
            Err(ApiError::not_found("unknown_function", format!("no function named {f:?}")))
        }
        Err(e @ DispatchError::PayloadTooLarge { .. }) => {
            Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", e.to_string()))
        }
        Err(DispatchError::Failed { status, code, message, retry_after_s, id }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            let mut error = ApiError::new(status, code, message);
            if let Some(s) = retry_after_s {
                error = error.retry_after(s.ceil().max(1.0) as u64);
            }
            let mut response = error.into_response();
            header(&mut response, "x-invocation-id", id);
            Ok(response)
        }
    }
}

/// `GET /v1/functions`: every function's placement, platforms, breakers and workers.
pub async fn functions_handler(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let functions = state.dispatcher().map(|d| d.status()).unwrap_or_default();
    Ok(Json(json!({ "functions": functions })))
}

/// Query of `GET /v1/invocations`.
#[derive(Debug, Deserialize)]
pub struct InvocationsQuery {
    /// Only this function.
    pub function: Option<String>,
    /// Page size (default 100, at most 1000).
    pub limit: Option<u32>,
    /// Rows to skip.
    pub offset: Option<u64>,
}

/// `GET /v1/invocations`: the record, oldest first, and the counts per function and platform.
pub async fn invocations_handler(
    State(state): State<AppState>,
    q: crate::error::QueryResult<InvocationsQuery>,
) -> ApiResult<Json<Value>> {
    let q = crate::error::query(q)?;
    if let Some(d) = state.dispatcher() {
        d.recorder().flush().await;
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("bad_limit", "limit must be between 1 and 1000"));
    }
    let rows = state.store().list_invocations(q.function.as_deref(), limit, q.offset.unwrap_or(0)).await?;
    let counts = state.store().invocation_counts(None).await?;
    Ok(Json(json!({ "invocations": rows, "counts": counts })))
}

//! The Infergate HTTP gateway.
//!
//! An axum application over a [`infergate_store::Store`] and an
//! [`infergate_runtime::InstancePool`]:
//! - `POST /v1/classify` and the history (`GET /v1/inferences…`), see [`classify`] and [`history`];
//! - the KServe/Triton Open Inference Protocol v2 under `/v2`, see [`oip`];
//! - model registration (copy or download, verify, register), see [`registry`], and
//!   warming instances ahead of traffic, see [`admin`];
//! - requests reach a model through its instance pool and batcher, see [`jobs`];
//! - API keys, roles and per-key rate limits guard every route but the public ones, see
//!   [`auth`], and admins manage keys under `/v1/admin/keys`, see [`keys`]; browsers may call
//!   from the configured origins, see [`cors`].
//!
//! - the router: the seed's `POST /predict` and `POST /v1/route`, see [`placement`]; live
//!   dispatch to configured functions, `POST /v1/invoke/{function}`, see [`invoke`].
//! - energy per inference on edge devices: the seed's `POST /api/predict-energy`,
//!   `POST /v1/energy/predict` and `GET /v1/energy/devices`, see [`energy`].
//! - the edge fleet's controller: devices and their agents, deployments within an energy
//!   budget, telemetry, see [`fleet`].
//! - the dashboard at `/` and `/assets/*` ([`infergate_dashboard`]), and its charts as SVG, see
//!   [`charts`].
//!
//! Every error is JSON (`{"error", "code"}`) with the right status, see [`error`].

pub mod admin;
pub mod alarms;
pub mod auth;
pub mod charts;
pub mod classify;
pub mod config;
pub mod cors;
pub mod directory;
pub mod energy;
pub mod error;
pub mod evaluation;
pub mod fleet;
pub mod history;
pub mod input;
pub mod invoke;
pub mod jobs;
pub mod keys;
pub mod metrics;
pub mod oip;
pub mod placement;
pub mod registry;
pub mod replicas;
pub mod routes;
pub mod state;
pub mod stats;

pub use auth::{AccessConfig, AuthMode, Caller};
pub use config::GatewayConfig;
pub use error::{ApiError, ApiResult};
pub use state::AppState;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, Method, Uri};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use tower_http::request_id::PropagateRequestIdLayer;
use tower_http::trace::TraceLayer;

/// The header carrying the request id: the client's if it sent one, else ours.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The id Infergate gave this request: a UUIDv7 (time-ordered), also the id of its history
/// record. Never taken from the client, so a repeated client id cannot collide.
#[derive(Debug, Clone)]
pub struct RequestIdentity(pub String);

/// Gives every request a [`RequestIdentity`] and, when the client sent no `x-request-id`,
/// sets that header to the same id (echoed in the response).
async fn assign_request_id(mut req: Request, next: Next) -> Response {
    let id = uuid::Uuid::now_v7().to_string();
    if !req.headers().contains_key(REQUEST_ID_HEADER) {
        if let Ok(v) = HeaderValue::from_str(&id) {
            req.headers_mut().insert(REQUEST_ID_HEADER, v);
        }
    }
    req.extensions_mut().insert(RequestIdentity(id));
    next.run(req).await
}

/// Builds the application router.
///
/// Every request gets its id, then CORS (which answers preflights itself), then the API key
/// check ([`auth::require_key`]), then its route.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config().max_body_bytes;
    let request_id = HeaderName::from_static(REQUEST_ID_HEADER);
    let cors = cors::layer(&state.access().cors_origins).unwrap_or_else(|e| {
        // The binary checks the origins before it starts; refusing every origin is the safe side.
        tracing::error!("CORS is off: {e}");
        None
    });
    let app = routes::endpoints()
        .into_iter()
        .fold(Router::new(), |app, e| app.route(e.path, e.handler))
        // The dashboard's page and assets (HTML, not API: outside the OpenAPI table).
        .merge(infergate_dashboard::router())
        .route_layer(middleware::from_fn_with_state(state.clone(), metrics::track_requests))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), auth::require_key))
        .layer(DefaultBodyLimit::max(body_limit));
    let app = match cors {
        Some(cors) => app.layer(cors),
        None => app,
    };
    app.layer(PropagateRequestIdLayer::new(request_id))
        .layer(TraceLayer::new_for_http())
        .layer(middleware::from_fn(assign_request_id))
        .with_state(state)
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found("no_route", format!("no endpoint at {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed on {}", uri.path()),
    )
}

//! The Infergate HTTP gateway.
//!
//! An axum application over a [`infergate_store::Store`] and an
//! [`infergate_runtime::InstancePool`]:
//! - `POST /v1/classify` and the history (`GET /v1/inferences…`), see [`classify`] and [`history`];
//! - the KServe/Triton Open Inference Protocol v2 under `/v2`, see [`oip`];
//! - model registration (copy or download, verify, register), see [`registry`].
//!
//! Every error is JSON (`{"error", "code"}`) with the right status, see [`error`].

pub mod classify;
pub mod config;
pub mod error;
pub mod history;
pub mod input;
pub mod oip;
pub mod registry;
pub mod state;

pub use config::GatewayConfig;
pub use error::{ApiError, ApiResult};
pub use state::AppState;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Method, Uri};
use axum::routing::{get, post};
use axum::Router;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

/// The header carrying the request id (set by us unless the client sent one).
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Builds the application router.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config().max_body_bytes;
    let request_id = HeaderName::from_static(REQUEST_ID_HEADER);
    Router::new()
        .route("/v1/classify", post(classify::classify_handler))
        .route("/v1/inferences", get(history::list_handler))
        .route("/v1/inferences/{id}", get(history::get_handler))
        .route("/v1/inferences/{id}/image", get(history::image_handler))
        .route("/v1/models", get(registry::list_handler))
        .merge(oip::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http())
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
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

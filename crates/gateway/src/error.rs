//! JSON errors: `{"error": "...", "code": "..."}` with the right HTTP status.

use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use infergate_runtime::{BackendError, DecodeError, SubmitError};
use infergate_store::StoreError;

/// An error answered to the client.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code, e.g. `unsupported_media_type`.
    pub code: &'static str,
    /// What went wrong and what to do about it.
    pub message: String,
    /// Seconds after which retrying makes sense (sent as `Retry-After`).
    pub retry_after: Option<u64>,
    /// The request field at fault, sent as `field` (422 errors).
    pub field: Option<String>,
}

impl ApiError {
    /// An error with any status.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), retry_after: None, field: None }
    }
    /// The same error with a `Retry-After: seconds` header.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }
    /// 400: the request is malformed.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    /// 401: no valid API key. Sent with `WWW-Authenticate: Bearer`, like every 401.
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }
    /// 403: the API key is valid but may not do this.
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }
    /// 429: over the rate limit; retrying makes sense after `seconds`.
    pub fn rate_limited(message: impl Into<String>, seconds: u64) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message).retry_after(seconds)
    }
    /// 422: the JSON is well formed but `field` is missing, of the wrong type or out of range.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message);
        e.field = Some(field.into());
        e
    }
    /// 404: no such thing.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }
    /// 413: the body is over the limit.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("request body is over the limit of {limit} bytes (limits.max_body_bytes)"),
        )
    }
    /// 415: not a media type we take.
    pub fn unsupported_media(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", message)
    }
    /// 503: we cannot serve this right now (a dependency failed).
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
    }
    /// 500: our fault.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.into_response_with(&[])
    }
}

impl ApiError {
    /// The response, with `extra` members added to its JSON body (the seed's energy API adds
    /// `"success": false`).
    pub fn into_response_with(self, extra: &[(&str, serde_json::Value)]) -> Response {
        if self.status.is_server_error() {
            tracing::error!(code = self.code, "{}", self.message);
        }
        let mut body = serde_json::json!({ "error": self.message, "code": self.code });
        if let Some(field) = &self.field {
            body["field"] = field.as_str().into();
        }
        for (key, value) in extra {
            body[*key] = value.clone();
        }
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<DecodeError> for ApiError {
    fn from(e: DecodeError) -> Self {
        match e {
            DecodeError::Empty => ApiError::bad_request("empty_body", "the image is empty: send the image bytes"),
            DecodeError::Unsupported => ApiError::unsupported_media(e.to_string()),
            DecodeError::TooManyPixels { .. } => ApiError::bad_request("image_too_large", e.to_string()),
            DecodeError::Corrupt { .. } => ApiError::bad_request("invalid_image", e.to_string()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            StoreError::NotFound(m) => ApiError::not_found("not_found", m),
            other => ApiError::unavailable("storage_unavailable", format!("storage failed: {other}")),
        }
    }
}

impl From<BackendError> for ApiError {
    fn from(e: BackendError) -> Self {
        match e {
            BackendError::BadShape { .. } => ApiError::bad_request("bad_input_shape", e.to_string()),
            BackendError::Load { .. } => ApiError::unavailable("model_load_failed", e.to_string()),
            BackendError::Run(_) => ApiError::internal(e.to_string()),
        }
    }
}

impl From<SubmitError> for ApiError {
    fn from(e: SubmitError) -> Self {
        match e {
            SubmitError::QueueFull { .. } => ApiError::unavailable("queue_full", e.to_string()).retry_after(1),
        }
    }
}

/// A parsed query string, or a 400 (`bad_query`) saying what is wrong with it, as JSON like
/// every other error (axum's own rejection is plain text).
pub type QueryResult<T> = Result<axum::extract::Query<T>, axum::extract::rejection::QueryRejection>;

/// The query of a [`QueryResult`], or the 400.
pub fn query<T>(q: QueryResult<T>) -> ApiResult<T> {
    q.map(|axum::extract::Query(v)| v).map_err(|e| ApiError::bad_request("bad_query", e.body_text()))
}

/// Path parameters, like `axum::extract::Path`, but a bad one (invalid UTF-8 after
/// percent-decoding, a version that is not an integer) is a JSON error like every other
/// (axum's own rejection is plain text).
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> axum::extract::FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(e) => Err(ApiError::new(e.status(), "bad_path", e.body_text())),
        }
    }
}

/// Result alias for handlers.
pub type ApiResult<T> = Result<T, ApiError>;

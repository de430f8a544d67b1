//! Issuing and managing API keys: what `infergate keys` and the admin endpoints share.
//!
//! [`issue_key`] makes a token, stores only its SHA-256 and returns the token: the one time
//! it exists outside the caller's hands. Admin endpoints:
//! - `GET /v1/admin/keys`: every key (never a token or hash);
//! - `POST /v1/admin/keys` with `{"role", "name"?, "rate_per_s"?, "burst"?}`: 201 and the key
//!   with its `token`;
//! - `DELETE /v1/admin/keys/{id}`: revokes the key and answers it.

use crate::auth::token;
use crate::error::Path;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use infergate_core::Role;
use infergate_store::{ApiKey, NewApiKey, Store, StoreError};
use serde::{Deserialize, Serialize};

/// Longest key name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// A key to create.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRequest {
    /// Its role.
    pub role: Role,
    /// A name for people.
    #[serde(default)]
    pub name: Option<String>,
    /// Its own requests per second (0: unlimited); default: the role's.
    #[serde(default)]
    pub rate_per_s: Option<f64>,
    /// Its own burst; default: its own rate rounded up if it has one, else the role's.
    #[serde(default)]
    pub burst: Option<u32>,
}

impl KeyRequest {
    /// Checks the name and the rate.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(name) = &self.name {
            if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
                return Err(format!("a key name has at most {MAX_NAME_CHARS} characters and no control characters"));
            }
        }
        if self.rate_per_s.is_some_and(|r| !(r.is_finite() && r >= 0.0)) {
            return Err("rate_per_s must be a non-negative number of requests per second (0: unlimited)".into());
        }
        Ok(())
    }
}

/// A key just created, with its token (shown this once).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IssuedKey {
    /// The key as listed.
    #[serde(flatten)]
    pub key: ApiKey,
    /// The token to send as `Authorization: Bearer TOKEN`.
    pub token: String,
}

/// Why a key could not be issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The request is invalid.
    #[error("{0}")]
    Invalid(String),
    /// Storing it failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The operating system gave no random numbers.
    #[error("no random numbers for a token: {0}")]
    Random(#[from] getrandom::Error),
}

impl From<IssueError> for ApiError {
    fn from(e: IssueError) -> Self {
        match e {
            IssueError::Invalid(m) => ApiError::bad_request("bad_key_request", m),
            IssueError::Store(e) => e.into(),
            IssueError::Random(e) => ApiError::internal(format!("no random numbers for a token: {e}")),
        }
    }
}

/// A new key row for `request` and its token.
fn prepare(request: KeyRequest) -> Result<(NewApiKey, String), IssueError> {
    request.validate().map_err(IssueError::Invalid)?;
    let token = token::generate_token()?;
    let new = NewApiKey {
        id: token::generate_key_id()?,
        name: request.name.filter(|n| !n.trim().is_empty()),
        role: request.role,
        token_sha256: token::token_sha256(&token),
        rate_per_s: request.rate_per_s,
        burst: request.burst,
    };
    Ok((new, token))
}

/// Creates a key and returns it with its token.
pub async fn issue_key(store: &Store, request: KeyRequest) -> Result<IssuedKey, IssueError> {
    let (new, token) = prepare(request)?;
    Ok(IssuedKey { key: store.insert_api_key(&new).await?, token })
}

/// Creates an admin key named `first admin` if the store has no key at all (revoked ones
/// count); `None` otherwise.
pub async fn issue_first_admin_key(store: &Store) -> Result<Option<IssuedKey>, IssueError> {
    let request = KeyRequest { role: Role::Admin, name: Some("first admin".into()), rate_per_s: None, burst: None };
    let (new, token) = prepare(request)?;
    Ok(store.insert_first_api_key(&new).await?.map(|key| IssuedKey { key, token }))
}

/// `GET /v1/admin/keys`.
pub async fn list_handler(State(state): State<AppState>) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(serde_json::json!({ "keys": state.store().list_api_keys().await? })))
}

/// `POST /v1/admin/keys`.
pub async fn create_handler(
    State(state): State<AppState>,
    body: Result<Json<KeyRequest>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<IssuedKey>)> {
    let Json(request) = body.map_err(|e| ApiError::bad_request("bad_key_request", e.body_text()))?;
    Ok((StatusCode::CREATED, Json(issue_key(state.store(), request).await?)))
}

/// `DELETE /v1/admin/keys/{id}`.
pub async fn revoke_handler(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<ApiKey>> {
    let key = state.store().revoke_api_key(&id).await?;
    key.map(Json).ok_or_else(|| ApiError::not_found("unknown_key", format!("no API key {id:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(name: Option<&str>, rate: Option<f64>) -> KeyRequest {
        KeyRequest { role: Role::Client, name: name.map(str::to_string), rate_per_s: rate, burst: None }
    }

    #[test]
    fn requests_are_validated() {
        assert!(request(Some("ci"), Some(2.5)).validate().is_ok());
        assert!(request(None, Some(0.0)).validate().is_ok());
        assert!(request(None, Some(-1.0)).validate().is_err());
        assert!(request(None, Some(f64::INFINITY)).validate().is_err());
        assert!(request(Some("a\nb"), None).validate().is_err());
        assert!(request(Some(&"x".repeat(MAX_NAME_CHARS + 1)), None).validate().is_err());
    }

    #[tokio::test]
    async fn issued_tokens_verify_and_only_the_first_admin_key_is_automatic() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let first = issue_first_admin_key(&store).await.unwrap().unwrap();
        assert_eq!(first.key.role, Role::Admin);
        assert!(issue_first_admin_key(&store).await.unwrap().is_none());
        let client = issue_key(&store, request(Some("  "), None)).await.unwrap();
        assert_eq!(client.key.name, None, "a blank name is no name");
        assert_eq!(token::verify(&store, &client.token).await.unwrap().unwrap().id, client.key.id);
        let listed = serde_json::to_string(&store.list_api_keys().await.unwrap()).unwrap();
        assert!(!listed.contains(&client.token) && !listed.contains(&token::token_sha256(&client.token)));
    }
}

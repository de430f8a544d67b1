//! Access control: API keys with the roles admin and client, the table of who may call
//! what, and per-key rate limits.
//!
//! [`require_key`] runs before every route. With `auth = "off"` it lets everything through
//! as [`Caller::Open`]. Otherwise a route that [`rules`] marks public passes without a key;
//! every other one needs a valid, unrevoked key presented as `Authorization: Bearer TOKEN`
//! or `X-API-Key: TOKEN` ([`token`]): 401 (with `WWW-Authenticate: Bearer`) without one, 429
//! with `Retry-After` over the key's [`rate`], 403 for a client key on an admin route. Keys
//! are looked up in the store on every request, so a revocation takes effect at once.
//! Handlers learn who called through the [`Caller`] extractor.

pub mod rate;
pub mod rules;
pub mod token;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{SecondsFormat, Utc};
use infergate_core::Role;
use infergate_store::ApiKey;
use rules::Access;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

/// Whether requests need an API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Keys are required (the default).
    #[default]
    On,
    /// Everything is open: for local development only.
    Off,
}

impl FromStr for AuthMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "on" => Ok(AuthMode::On),
            "off" => Ok(AuthMode::Off),
            other => Err(format!("auth = {other:?} is not valid: use \"on\" (API keys required) or \"off\"")),
        }
    }
}

impl fmt::Display for AuthMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if *self == AuthMode::On { "on" } else { "off" })
    }
}

/// Who may reach the gateway: the access settings of `[server]`.
#[derive(Debug, Clone, Default)]
pub struct AccessConfig {
    /// Whether API keys are required.
    pub auth: AuthMode,
    /// Whether `/metrics` needs a key (it is public otherwise).
    pub metrics_require_key: bool,
    /// Origins allowed to call from a browser (CORS); empty: no CORS headers at all.
    pub cors_origins: Vec<String>,
}

/// Who is calling, as established by [`require_key`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// Auth is off: nobody is identified and everything is allowed.
    Open,
    /// A valid API key.
    Key {
        /// The key's id.
        id: String,
        /// The key's role.
        role: Role,
    },
}

impl Caller {
    /// The id of the calling key, if a key called.
    pub fn key_id(&self) -> Option<&str> {
        match self {
            Caller::Key { id, .. } => Some(id),
            Caller::Open => None,
        }
    }

    /// Whose history the caller may see: a client key only its own (`Some(key id)`); an
    /// admin key, or anyone when auth is off, all of it (`None`).
    pub fn history_owner(&self) -> Option<&str> {
        match self {
            Caller::Key { id, role: Role::Client } => Some(id),
            _ => None,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // Missing only if a handler on a public route asks: refuse rather than assume.
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::internal("the caller is unknown on this route"))
    }
}

/// The middleware: admits the request as its [`Caller`] or answers 401/403/429.
pub async fn require_key(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let access = state.access();
    if access.auth == AuthMode::Off {
        req.extensions_mut().insert(Caller::Open);
        return next.run(req).await;
    }
    let needed = rules::required_access(req.method(), req.uri().path(), access.metrics_require_key);
    if needed == Access::Public {
        return next.run(req).await;
    }
    match authenticate(&state, req.method(), req.uri().path(), req.headers(), needed).await {
        Ok(caller) => {
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Err(e) => e.into_response(),
    }
}

async fn authenticate(
    state: &AppState,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    needed: Access,
) -> ApiResult<Caller> {
    let token = token::presented_token(headers)
        .map_err(|e| ApiError::unauthorized("invalid_credentials", e.to_string()))?
        .ok_or_else(|| {
            ApiError::unauthorized(
                "missing_api_key",
                format!(
                    "{method} {path} needs an API key: send `Authorization: Bearer TOKEN` or `X-API-Key: TOKEN` \
                     (an admin creates keys with `infergate keys create`)"
                ),
            )
        })?;
    let key = token::verify(state.store(), token).await?.ok_or_else(|| {
        ApiError::unauthorized("invalid_api_key", "the API key is not valid (unknown, malformed or revoked)")
    })?;
    let rate = state.config().rate_for(key.role, key.rate_per_s, key.burst);
    let replicas = state.live_replicas();
    if let Err(seconds) = state.rate_limiter().check(&key.id, rate.share(replicas), Instant::now()) {
        let shared = match replicas {
            1 => String::new(),
            n => format!(", shared by {n} gateway replicas"),
        };
        return Err(ApiError::rate_limited(
            format!(
                "API key {} is over its rate limit of {} requests/s (burst {}{shared}): retry in {seconds} s",
                key.id,
                rate.per_s(),
                rate.burst()
            ),
            seconds,
        ));
    }
    if needed == Access::Admin && key.role != Role::Admin {
        return Err(ApiError::forbidden(
            "admin_only",
            format!("{method} {path} needs an admin key; key {} is a {} key", key.id, key.role),
        ));
    }
    record_use(state, &key);
    Ok(Caller::Key { id: key.id, role: key.role })
}

/// How stale `last_used_at` may get: it is written at most this often per key.
const LAST_USED_EVERY: Duration = Duration::from_secs(60);

/// Updates the key's `last_used_at` in the background when it is older than [`LAST_USED_EVERY`].
fn record_use(state: &AppState, key: &ApiKey) {
    let now = Utc::now();
    let stale_before = (now - LAST_USED_EVERY).to_rfc3339_opts(SecondsFormat::Millis, true);
    // Stored times are RFC 3339 UTC with milliseconds: they compare as strings.
    if key.last_used_at.as_deref().is_some_and(|t| t >= stale_before.as_str()) {
        return;
    }
    let (store, id) = (state.store().clone(), key.id.clone());
    let at = now.to_rfc3339_opts(SecondsFormat::Millis, true);
    tokio::spawn(async move {
        if let Err(e) = store.touch_api_key(&id, &at).await {
            tracing::warn!(key = %id, "could not record the key's last use: {e}");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_modes_parse_strictly() {
        assert_eq!("on".parse::<AuthMode>(), Ok(AuthMode::On));
        assert_eq!("off".parse::<AuthMode>(), Ok(AuthMode::Off));
        for bad in ["", "ON", "true", "yes", "disabled"] {
            assert!(bad.parse::<AuthMode>().unwrap_err().contains("\"on\""), "{bad}");
        }
        assert_eq!(AuthMode::default(), AuthMode::On, "auth is on unless turned off");
    }

    #[test]
    fn callers_scope_history() {
        let client = Caller::Key { id: "k_1".into(), role: Role::Client };
        let admin = Caller::Key { id: "k_2".into(), role: Role::Admin };
        assert_eq!(client.history_owner(), Some("k_1"));
        assert_eq!(admin.history_owner(), None);
        assert_eq!(Caller::Open.history_owner(), None);
        assert_eq!((admin.key_id(), Caller::Open.key_id()), (Some("k_2"), None));
    }
}

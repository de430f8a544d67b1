//! `GET /v1/inferences` (filters, pagination), `GET /v1/inferences/{id}` and its image,
//! `DELETE /v1/inferences/{id}`, and the retention sweep.
//!
//! A client key sees only the records it created (someone else's record is 404, as if it
//! did not exist); an admin key, or anyone when auth is off, sees all of them.

use crate::auth::Caller;
use crate::error::Path;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, SecondsFormat, Utc};
use infergate_store::{InferenceFilter, InferencePage, InferenceRecord};
use std::collections::HashMap;

/// Default page size.
pub const DEFAULT_PAGE: u32 = 50;

type QueryResult = Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>;

/// `GET /v1/inferences?label=&model=&since=&limit=&cursor=`.
pub async fn list_handler(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryResult,
) -> ApiResult<Json<InferencePage>> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let mut filter = parse_filter(&q, state.config().max_page_size)?;
    filter.client_id = caller.history_owner().map(str::to_string);
    Ok(Json(state.store().list_inferences(&filter).await?))
}

/// `DELETE /v1/inferences/{id}`: removes the record and, when no other record shows the
/// same image, the image. 204, or 404 if there is no such record.
pub async fn delete_handler(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let id = parse_id(&id).map_err(|_| not_found(&id))?;
    if state.store().delete_inference(&id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found(&id))
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found("unknown_inference", format!("no inference {id:?}"))
}

/// Every hour, deletes the history older than `retention_days` (0 keeps everything).
pub async fn retention_sweep(state: AppState) {
    let days = state.config().retention_days;
    if days == 0 {
        return;
    }
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let before = Utc::now() - chrono::Duration::days(days as i64);
        match state.store().delete_inferences_before(&before.to_rfc3339_opts(SecondsFormat::Millis, true)).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, retention_days = days, "old history deleted"),
            Err(e) => tracing::warn!("retention sweep failed: {e}"),
        }
    }
}

/// Validates the list query parameters.
pub fn parse_filter(q: &HashMap<String, String>, max_page: u32) -> ApiResult<InferenceFilter> {
    const KNOWN: [&str; 5] = ["label", "model", "since", "limit", "cursor"];
    if let Some(k) = q.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(ApiError::bad_request("bad_query", format!("unknown parameter {k:?}: use {}", KNOWN.join(", "))));
    }
    let limit = match q.get("limit").map(String::as_str) {
        None | Some("") => DEFAULT_PAGE.min(max_page),
        Some(s) => match s.parse::<u32>() {
            Ok(n) if (1..=max_page).contains(&n) => n,
            _ => return Err(ApiError::bad_request("bad_limit", format!("limit must be 1..={max_page}, got {s:?}"))),
        },
    };
    let since = q.get("since").filter(|s| !s.is_empty()).map(|s| parse_since(s)).transpose()?;
    let cursor = q
        .get("cursor")
        .filter(|s| !s.is_empty())
        .map(|c| parse_id(c).map_err(|_| ApiError::bad_request("bad_cursor", "cursor is not one we issued")))
        .transpose()?;
    let nonempty = |k: &str| q.get(k).filter(|s| !s.is_empty()).cloned();
    Ok(InferenceFilter { label: nonempty("label"), model: nonempty("model"), client_id: None, since, limit, cursor })
}

/// `since`: RFC 3339 (`2026-11-22T10:00:00Z`) or Unix seconds; normalised to stored form.
fn parse_since(s: &str) -> ApiResult<String> {
    let t: DateTime<Utc> = if let Ok(secs) = s.parse::<i64>() {
        DateTime::from_timestamp(secs, 0).ok_or_else(|| bad_since(s))?
    } else {
        DateTime::parse_from_rfc3339(s).map_err(|_| bad_since(s))?.with_timezone(&Utc)
    };
    Ok(t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

fn bad_since(s: &str) -> ApiError {
    ApiError::bad_request(
        "bad_since",
        format!("since must be RFC 3339 (2026-11-22T10:00:00Z) or Unix seconds, got {s:?}"),
    )
}

fn parse_id(s: &str) -> Result<String, uuid::Error> {
    uuid::Uuid::parse_str(s).map(|u| u.hyphenated().to_string())
}

/// The record `id` if the caller may see it.
async fn find(state: &AppState, caller: &Caller, id: &str) -> ApiResult<InferenceRecord> {
    let unknown = || ApiError::not_found("unknown_inference", format!("no inference {id:?}"));
    let id = parse_id(id).map_err(|_| unknown())?;
    let record = state.store().get_inference(&id).await?.ok_or_else(unknown)?;
    match caller.history_owner() {
        Some(owner) if record.client_id.as_deref() != Some(owner) => Err(unknown()),
        _ => Ok(record),
    }
}

/// `GET /v1/inferences/{id}`.
pub async fn get_handler(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<InferenceRecord>> {
    Ok(Json(find(&state, &caller, &id).await?))
}

/// `GET /v1/inferences/{id}/image`: the stored image bytes.
pub async fn image_handler(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let record = find(&state, &caller, &id).await?;
    let bytes = state.store().objects().get(&record.image.object_key).await?;
    Ok(([(CONTENT_TYPE, record.image.content_type)], bytes).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn filters_parse_and_reject() {
        let f =
            parse_filter(&q(&[("label", "cat"), ("since", "2026-01-02T03:04:05+01:00"), ("limit", "7")]), 500).unwrap();
        assert_eq!(f.label.as_deref(), Some("cat"));
        assert_eq!(f.since.as_deref(), Some("2026-01-02T02:04:05.000Z"));
        assert_eq!(f.limit, 7);
        assert_eq!(parse_filter(&q(&[("since", "0")]), 500).unwrap().since.unwrap(), "1970-01-01T00:00:00.000Z");
        for bad in [
            ("limit", "0"),
            ("limit", "501"),
            ("limit", "x"),
            ("since", "yesterday"),
            ("cursor", "zz"),
            ("colour", "red"),
        ] {
            assert_eq!(parse_filter(&q(&[bad]), 500).unwrap_err().status, 400, "{bad:?}");
        }
    }
}

//! `GET /v1/stats[?window_s=N]`: requests, cache hit rate, latency percentiles and cost per
//! 1,000 inferences over the last `window_s` seconds (default one hour), from the history.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};

/// Longest window: 30 days.
pub const MAX_WINDOW_S: u64 = 30 * 24 * 3600;

/// Query of the stats endpoint.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    /// Window length in seconds (default 3600).
    pub window_s: Option<u64>,
}

/// Server-side latency percentiles in milliseconds (`null` without requests).
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Percentiles {
    /// Median.
    pub p50: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
}

/// Answer of the stats endpoint.
#[derive(Debug, Serialize, Deserialize)]
pub struct Stats {
    /// Window length in seconds.
    pub window_s: u64,
    /// Start of the window (RFC 3339 UTC).
    pub since: String,
    /// Answers in the window.
    pub requests: u64,
    /// Share answered from the cache (`null` without requests).
    pub cache_hit_rate: Option<f64>,
    /// Server-side latency percentiles.
    pub latency_ms: Percentiles,
    /// Total cost of the window's answers in USD.
    pub cost_usd: f64,
    /// Average cost of 1,000 answers in USD (`null` without priced answers).
    pub cost_per_1000_usd: Option<f64>,
}

/// The `q`-quantile (0..=1) of `sorted` by nearest rank.
pub fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(sorted[rank.min(sorted.len()) - 1])
}

/// `GET /v1/stats`.
pub async fn stats_handler(
    State(state): State<AppState>,
    query: crate::error::QueryResult<StatsQuery>,
) -> ApiResult<Json<Stats>> {
    let q = crate::error::query(query)?;
    let window_s = q.window_s.unwrap_or(3600);
    if window_s == 0 || window_s > MAX_WINDOW_S {
        return Err(ApiError::bad_request(
            "bad_window",
            format!("window_s must be between 1 and {MAX_WINDOW_S} seconds, got {window_s}"),
        ));
    }
    let since = chrono::Utc::now() - chrono::Duration::seconds(window_s as i64);
    let since = since.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut w = state.store().inference_stats(&since).await?;
    w.latencies_ms.sort_by(f64::total_cmp);
    let at = |q| percentile(&w.latencies_ms, q);
    Ok(Json(Stats {
        window_s,
        since,
        requests: w.requests,
        cache_hit_rate: (w.requests > 0).then(|| w.cached as f64 / w.requests as f64),
        latency_ms: Percentiles { p50: at(0.50), p95: at(0.95), p99: at(0.99) },
        cost_usd: w.cost_usd,
        cost_per_1000_usd: (w.priced > 0).then(|| w.cost_usd / w.priced as f64 * 1000.0),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), Some(50.0));
        assert_eq!(percentile(&v, 0.95), Some(95.0));
        assert_eq!(percentile(&v, 0.99), Some(99.0));
        assert_eq!(percentile(&[7.0], 0.99), Some(7.0));
        assert_eq!(percentile(&[], 0.5), None);
    }
}

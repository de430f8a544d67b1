//! The latency alarm: p95 of the inference routes' latency over a sliding window (default
//! 60 s) above a threshold (default 500 ms, the seed's SLO) raises an alarm — stored, listed
//! at `GET /v1/alarms`, posted to a webhook if configured — and clears it when p95 recovers
//! (or traffic stops).

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::stats::percentile;
use axum::extract::State;
use axum::Json;
use infergate_store::Alarm;
use infergate_store::AlarmOwners;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The alarm's kind in the store and on the wire.
pub const LATENCY_P95: &str = "latency_p95";

/// Most samples kept in the window (older ones are dropped first beyond this).
const MAX_SAMPLES: usize = 200_000;

/// `[alarms]`: when the latency alarm is raised and where it is sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlarmConfig {
    /// p95 latency threshold in milliseconds.
    pub latency_p95_ms: f64,
    /// Sliding window in seconds.
    pub window_s: f64,
    /// Requests needed in the window before it can raise.
    pub min_samples: usize,
    /// URL receiving a JSON POST `{event: raised|cleared, alarm}` (optional).
    pub webhook_url: Option<String>,
}

impl Default for AlarmConfig {
    fn default() -> Self {
        AlarmConfig { latency_p95_ms: 500.0, window_s: 60.0, min_samples: 20, webhook_url: None }
    }
}

impl AlarmConfig {
    /// Checks the numbers and the URL.
    pub fn validate(&self) -> Result<(), String> {
        let positive = |v: f64| v.is_finite() && v > 0.0;
        if !positive(self.latency_p95_ms) || !positive(self.window_s) || self.window_s > 86_400.0 {
            return Err("alarms.latency_p95_ms and alarms.window_s must be positive (window_s at most 86400)".into());
        }
        if let Some(url) = &self.webhook_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(format!("alarms.webhook_url must be an http(s) URL, got {url:?}"));
            }
        }
        Ok(())
    }
}

/// Latencies of recent requests, for the p95 over a sliding window.
pub struct LatencyWatch {
    window: Duration,
    samples: Mutex<VecDeque<(Instant, f64)>>,
}

impl LatencyWatch {
    /// An empty watch over `window`.
    pub fn new(window: Duration) -> Self {
        LatencyWatch { window, samples: Mutex::new(VecDeque::new()) }
    }

    /// Records a request that took `ms`, finished at `at`.
    pub fn record(&self, at: Instant, ms: f64) {
        let mut samples = self.samples.lock();
        samples.push_back((at, ms));
        if samples.len() > MAX_SAMPLES {
            samples.pop_front();
        }
    }

    /// How many requests finished in the window ending at `now`, and their p95.
    pub fn p95(&self, now: Instant) -> (usize, Option<f64>) {
        let mut samples = self.samples.lock();
        while samples.front().is_some_and(|&(at, _)| now.saturating_duration_since(at) > self.window) {
            samples.pop_front();
        }
        let mut values: Vec<f64> = samples.iter().map(|&(_, ms)| ms).collect();
        drop(samples);
        values.sort_by(f64::total_cmp);
        (values.len(), percentile(&values, 0.95))
    }
}

/// What the monitor should do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Transition {
    /// Raise the alarm at this p95.
    Raise(f64),
    /// Clear it (p95 recovered to this value, or `None`: no traffic in the window).
    Clear(Option<f64>),
}

/// Decides from the window's request count and p95 whether the alarm changes state.
pub fn decide(open: bool, count: usize, p95: Option<f64>, config: &AlarmConfig) -> Option<Transition> {
    match (open, p95) {
        (false, Some(p)) if count >= config.min_samples.max(1) && p > config.latency_p95_ms => {
            Some(Transition::Raise(p))
        }
        (true, None) => Some(Transition::Clear(None)),
        (true, Some(p)) if count >= config.min_samples.max(1) && p <= config.latency_p95_ms => {
            Some(Transition::Clear(Some(p)))
        }
        _ => None,
    }
}

/// Watches the latency once a second and raises or clears the alarm.
pub async fn monitor(state: AppState, config: AlarmConfig) {
    // Each replica raises and clears the alarm of its own latency. Alarms of replicas that
    // are gone (a restart is a new replica) are cleared by whoever starts next.
    let live = crate::replicas::live_ids(&state).await.unwrap_or_default();
    if let Err(e) = state.store().clear_alarms(LATENCY_P95, AlarmOwners::NoneOf(&live)).await {
        tracing::warn!("cannot clear the alarms of replicas that are gone: {e}");
    }
    let mut open = false;
    let webhook = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().ok();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let (count, p95) = state.metrics().latency().p95(Instant::now());
        let Some(change) = decide(open, count, p95, &config) else { continue };
        let result = match change {
            Transition::Raise(p) => {
                let message = format!(
                    "p95 latency {p:.1} ms over the last {:.0} s ({count} requests) is above {:.1} ms",
                    config.window_s, config.latency_p95_ms
                );
                state
                    .store()
                    .raise_alarm(LATENCY_P95, p, config.latency_p95_ms, &message, Some(state.replica_id()))
                    .await
                    .map(|a| vec![("raised", a)])
            }
            Transition::Clear(_) => {
                let mine = AlarmOwners::Replica(state.replica_id());
                state
                    .store()
                    .clear_alarms(LATENCY_P95, mine)
                    .await
                    .map(|v| v.into_iter().map(|a| ("cleared", a)).collect())
            }
        };
        match result {
            Ok(events) => {
                open = matches!(change, Transition::Raise(_));
                for (event, alarm) in events {
                    tracing::warn!(alarm = %alarm.id, event, "{}", alarm.message);
                    if let (Some(client), Some(url)) = (&webhook, &config.webhook_url) {
                        post_webhook(client, url, event, &alarm).await;
                    }
                }
            }
            Err(e) => tracing::warn!("cannot record the latency alarm: {e}"),
        }
    }
}

async fn post_webhook(client: &reqwest::Client, url: &str, event: &str, alarm: &Alarm) {
    let body = serde_json::json!({ "event": event, "alarm": alarm });
    match client.post(url).json(&body).send().await {
        Ok(r) if r.status().is_success() => {}
        Ok(r) => tracing::warn!("alarm webhook {url} answered HTTP {}", r.status()),
        Err(e) => tracing::warn!("alarm webhook {url} failed: {e}"),
    }
}

/// Query of `GET /v1/alarms`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmsQuery {
    /// `open` (default) or `all`.
    pub state: Option<String>,
}

/// `GET /v1/alarms[?state=open|all]`.
pub async fn list_handler(
    State(state): State<AppState>,
    query: crate::error::QueryResult<AlarmsQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let q = crate::error::query(query)?;
    let open_only = match q.state.as_deref() {
        None | Some("open") => true,
        Some("all") => false,
        Some(other) => {
            return Err(ApiError::bad_request("bad_state", format!("state must be open or all, got {other:?}")))
        }
    };
    let alarms = state.store().list_alarms(open_only).await?;
    Ok(Json(serde_json::json!({ "alarms": alarms })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p95_over_a_sliding_window() {
        let watch = LatencyWatch::new(Duration::from_secs(60));
        let t0 = Instant::now();
        for i in 1..=100 {
            watch.record(t0, i as f64);
        }
        assert_eq!(watch.p95(t0 + Duration::from_secs(30)), (100, Some(95.0)));
        watch.record(t0 + Duration::from_secs(50), 1000.0);
        // At t0 + 61 s only the late sample is left.
        assert_eq!(watch.p95(t0 + Duration::from_secs(61)), (1, Some(1000.0)));
        assert_eq!(watch.p95(t0 + Duration::from_secs(200)), (0, None));
    }

    #[test]
    fn raise_when_slow_clear_when_recovered_or_idle() {
        let c = AlarmConfig { latency_p95_ms: 500.0, min_samples: 20, ..AlarmConfig::default() };
        assert_eq!(decide(false, 25, Some(650.0), &c), Some(Transition::Raise(650.0)));
        assert_eq!(decide(false, 5, Some(650.0), &c), None, "too few requests to judge");
        assert_eq!(decide(false, 25, Some(400.0), &c), None);
        assert_eq!(decide(true, 25, Some(650.0), &c), None, "already open");
        assert_eq!(decide(true, 25, Some(480.0), &c), Some(Transition::Clear(Some(480.0))));
        assert_eq!(decide(true, 0, None, &c), Some(Transition::Clear(None)), "no traffic, no slow requests");
        assert_eq!(decide(true, 3, Some(100.0), &c), None, "too few requests to judge recovery");
    }

    #[test]
    fn config_checks() {
        assert!(AlarmConfig::default().validate().is_ok());
        assert!(AlarmConfig { window_s: 0.0, ..AlarmConfig::default() }.validate().is_err());
        assert!(AlarmConfig { webhook_url: Some("ftp://x".into()), ..AlarmConfig::default() }.validate().is_err());
    }
}

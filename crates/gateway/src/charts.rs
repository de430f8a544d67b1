//! Charts for the dashboard, drawn here as SVG with `infergate-charts` (the code the CLI's
//! reports use): a device's telemetry, the gateway's latency percentiles, throughput and cost
//! per 1,000 per minute, and energy per inference predicted vs measured per device. Admin-only (the access table's default). Each answer says how many points it drew in
//! `X-Chart-Points`, so a page can tell a chart that grew from one that did not.

use crate::error::Path;
use crate::error::{query, ApiError, ApiResult, QueryResult};
use crate::routes::{op, Endpoint, Op};
use crate::state::AppState;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, SecondsFormat, Utc};
use infergate_charts::{Chart, Plot, Series};
use infergate_store::InferenceFilter;
use serde::Deserialize;

/// The chart endpoints.
pub fn endpoints() -> Vec<Endpoint> {
    const WINDOW: &[(&str, &str)] = &[("window_s", "seconds of history to draw (60-86400, default 3600)")];
    vec![
        Endpoint {
            path: "/v1/charts/telemetry/{id}",
            handler: get(telemetry_handler),
            ops: vec![Op {
                query: WINDOW,
                ..op(Method::GET, "chartTelemetry", "A device's telemetry (CPU, memory, temperature) as SVG", 200)
            }],
        },
        Endpoint {
            path: "/v1/charts/latency",
            handler: get(latency_handler),
            ops: vec![Op {
                query: WINDOW,
                ..op(Method::GET, "chartLatency", "Classification latency p50 and p95 per minute as SVG", 200)
            }],
        },
        Endpoint {
            path: "/v1/charts/throughput",
            handler: get(throughput_handler),
            ops: vec![Op {
                query: WINDOW,
                ..op(Method::GET, "chartThroughput", "Classifications per minute as SVG", 200)
            }],
        },
        Endpoint {
            path: "/v1/charts/cost",
            handler: get(cost_handler),
            ops: vec![Op {
                query: WINDOW,
                ..op(Method::GET, "chartCost", "Cost per 1,000 classifications per minute as SVG", 200)
            }],
        },
        Endpoint {
            path: "/v1/charts/energy",
            handler: get(energy_handler),
            ops: vec![op(
                Method::GET,
                "chartEnergy",
                "Each device's predicted vs measured energy per inference of its deployed model, as SVG",
                200,
            )],
        },
    ]
}

/// `?window_s=`.
#[derive(Debug, Deserialize)]
pub struct WindowQuery {
    window_s: Option<u64>,
}

fn window(q: QueryResult<WindowQuery>) -> ApiResult<(DateTime<Utc>, u64)> {
    let w = query(q)?.window_s.unwrap_or(3600);
    if !(60..=86_400).contains(&w) {
        return Err(ApiError::bad_request("bad_window", format!("window_s must be 60..=86400, got {w}")));
    }
    Ok((Utc::now(), w))
}

/// The chart as an SVG answer with its point count.
fn svg(chart: &Chart, points: usize) -> ApiResult<Response> {
    let text = chart.svg().map_err(|e| ApiError::internal(e.to_string()))?;
    let mut r = text.into_response();
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-chart-points", HeaderValue::from(points as u64));
    Ok(r)
}

/// Minutes from `now` (negative: in the past).
fn minutes_ago(at: &str, now: DateTime<Utc>) -> Option<f64> {
    let t = DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc);
    Some((t - now).num_milliseconds() as f64 / 60_000.0)
}

/// The telemetry fields drawn (all on a 0-100 scale), with their legend.
const TELEMETRY: &[(&str, &str)] =
    &[("cpu_percent", "CPU %"), ("memory_percent", "memory %"), ("temperature_c", "temperature °C")];

/// `GET /v1/charts/telemetry/{id}`: the device's samples of the window, one line per field.
pub async fn telemetry_handler(
    State(state): State<AppState>,
    Path(id): Path<String>,
    q: QueryResult<WindowQuery>,
) -> ApiResult<Response> {
    let (now, w) = window(q)?;
    if state.store().device(&id).await?.is_none() {
        return Err(ApiError::not_found("unknown_device", format!("no device {id:?} (see GET /v1/devices)")));
    }
    let since = (now - chrono::Duration::seconds(w as i64)).to_rfc3339_opts(SecondsFormat::Millis, true);
    let samples = state.store().telemetry(&id, Some(&since), 10_000).await?;
    let series: Vec<Series> = TELEMETRY
        .iter()
        .map(|(field, name)| Series {
            name: name.to_string(),
            points: samples
                .iter()
                .filter_map(|s| Some((minutes_ago(&s.at, now)?, s.sample.get(*field)?.as_f64()?)))
                .collect(),
        })
        .filter(|s| !s.points.is_empty())
        .collect();
    let chart = Chart {
        title: format!("{id}: telemetry ({} samples)", samples.len()),
        x_label: "minutes from now".into(),
        y_label: "% or °C".into(),
        plot: Plot::Lines { series, log_x: false },
    };
    svg(&chart, samples.len())
}

/// One classification: server-side total latency (ms) and its priced cost (USD), if any.
type Answered = (f64, Option<f64>);

/// The window's classifications, bucketed per minute.
async fn per_minute(state: &AppState, now: DateTime<Utc>, w: u64) -> ApiResult<Vec<(f64, Vec<Answered>)>> {
    let since = (now - chrono::Duration::seconds(w as i64)).to_rfc3339_opts(SecondsFormat::Millis, true);
    let mut filter = InferenceFilter { since: Some(since), limit: 500, ..Default::default() };
    let mut buckets: std::collections::BTreeMap<i64, Vec<Answered>> = Default::default();
    // At most 20,000 records: enough for a chart, bounded for the server.
    for _ in 0..40 {
        let page = state.store().list_inferences(&filter).await?;
        for r in &page.items {
            if let Some(m) = minutes_ago(&r.created_at, now) {
                buckets.entry(m.floor() as i64).or_default().push((r.timings_ms.total, r.answer.cost_usd));
            }
        }
        match page.next_cursor {
            Some(c) => filter.cursor = Some(c),
            None => break,
        }
    }
    Ok(buckets.into_iter().map(|(m, v)| (m as f64, v)).collect())
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// `GET /v1/charts/latency`: p50 and p95 of each minute.
pub async fn latency_handler(State(state): State<AppState>, q: QueryResult<WindowQuery>) -> ApiResult<Response> {
    let (now, w) = window(q)?;
    let minutes = per_minute(&state, now, w).await?;
    let (mut p50, mut p95) = (Vec::new(), Vec::new());
    for (m, answers) in &minutes {
        let (m, mut v) = (*m, answers.iter().map(|a| a.0).collect::<Vec<_>>());
        v.sort_by(f64::total_cmp);
        p50.push((m, percentile(&v, 0.5)));
        p95.push((m, percentile(&v, 0.95)));
    }
    let chart = Chart {
        title: "Classification latency per minute".into(),
        x_label: "minutes from now".into(),
        y_label: "ms".into(),
        plot: Plot::Lines {
            series: vec![Series { name: "p50".into(), points: p50 }, Series { name: "p95".into(), points: p95 }],
            log_x: false,
        },
    };
    svg(&chart, minutes.len())
}

/// `GET /v1/charts/throughput`: classifications per minute.
pub async fn throughput_handler(State(state): State<AppState>, q: QueryResult<WindowQuery>) -> ApiResult<Response> {
    let (now, w) = window(q)?;
    let minutes = per_minute(&state, now, w).await?;
    let points: Vec<(f64, f64)> = minutes.iter().map(|(m, v)| (*m, v.len() as f64)).collect();
    let chart = Chart {
        title: "Classifications per minute".into(),
        x_label: "minutes from now".into(),
        y_label: "requests".into(),
        plot: Plot::Lines { series: vec![Series { name: "requests".into(), points }], log_x: false },
    };
    svg(&chart, minutes.len())
}

/// `GET /v1/charts/cost`: the priced classifications' mean cost × 1,000, per minute.
pub async fn cost_handler(State(state): State<AppState>, q: QueryResult<WindowQuery>) -> ApiResult<Response> {
    let (now, w) = window(q)?;
    let minutes = per_minute(&state, now, w).await?;
    let points: Vec<(f64, f64)> = minutes
        .iter()
        .filter_map(|(m, answers)| {
            let costs: Vec<f64> = answers.iter().filter_map(|a| a.1).collect();
            (!costs.is_empty()).then(|| (*m, costs.iter().sum::<f64>() / costs.len() as f64 * 1000.0))
        })
        .collect();
    let n = points.len();
    let chart = Chart {
        title: "Cost per 1,000 classifications".into(),
        x_label: "minutes from now".into(),
        y_label: "USD per 1,000".into(),
        plot: Plot::Lines { series: vec![Series { name: "cost per 1,000".into(), points }], log_x: false },
    };
    svg(&chart, n)
}

/// `GET /v1/charts/energy`: one point per device with a ready deployment and a measured mean
/// (its agent's `energy_metrics.avg_mwh`): x the controller's prediction, y the measurement,
/// labelled with the device and the measurement's source.
pub async fn energy_handler(State(state): State<AppState>) -> ApiResult<Response> {
    let mut points = Vec::new();
    for d in state.store().list_devices().await? {
        let deployments = state.store().list_deployments(Some(&d.id), 50, 0).await?;
        let Some(ready) = deployments.iter().find(|x| x.state == "ready") else { continue };
        let Some(predicted) = ready.predicted_energy_mwh else { continue };
        let metrics = d.last_status.as_ref().and_then(|s| s.get("energy_metrics"));
        let Some(measured) = metrics.and_then(|m| m.get("avg_mwh")).and_then(|v| v.as_f64()) else { continue };
        let source = metrics.and_then(|m| m.get("energy_source")).and_then(|v| v.as_str()).unwrap_or("unknown");
        points.push((format!("{} ({source})", d.id), predicted, measured));
    }
    let n = points.len();
    let chart = Chart {
        title: "Energy per inference: predicted vs measured".into(),
        x_label: "predicted mWh".into(),
        y_label: "measured mWh".into(),
        plot: Plot::Points { points },
    };
    svg(&chart, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_and_percentiles() {
        let now = DateTime::parse_from_rfc3339("2026-11-23T01:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(minutes_ago("2026-11-23T00:58:30.000Z", now), Some(-1.5));
        assert_eq!(minutes_ago("not a time", now), None);
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 10.0);
        assert_eq!(percentile(&v, 0.95), 19.0);
        assert_eq!(percentile(&[3.0], 0.95), 3.0);
    }
}

//! Prometheus metrics, served at `GET /metrics` in the text exposition format.
//!
//! Histograms: request latency per route and model, queue wait, inference time, batch size
//! and instance load time per model version. Counters: requests by route and status, cache
//! hits and misses, cold starts. Gauges (read at scrape time): loaded instances and queue
//! depth per model version.

use crate::alarms::LatencyWatch;
use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use infergate_core::ModelSpec;
use infergate_runtime::PoolObserver;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::time::{Duration, Instant};

/// Labels of per-route request metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// The route pattern, e.g. `/v1/classify`.
    pub route: String,
    /// The model that answered (empty for routes without one).
    pub model: String,
}

/// Labels of the request counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    /// The route pattern.
    pub route: String,
    /// HTTP status code.
    pub status: String,
}

/// Labels of per-model-version metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModelLabels {
    /// Model name.
    pub model: String,
    /// Version number.
    pub version: String,
}

impl ModelLabels {
    fn of(model: &str, version: i64) -> Self {
        ModelLabels { model: model.to_string(), version: version.to_string() }
    }
}

/// The model that answered a request, left in the response's extensions by handlers so that
/// the latency histogram can be labelled with it.
#[derive(Clone, Debug)]
pub struct ServedModel(pub String);

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn seconds() -> Histogram {
    // 0.5 ms .. ~16 s
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

fn batch_sizes() -> Histogram {
    Histogram::new([1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0])
}

/// Every metric the gateway exports.
pub struct Metrics {
    registry: Registry,
    request_seconds: Histograms<RouteLabels>,
    requests: Family<StatusLabels, Counter>,
    queue_wait_seconds: Histograms<ModelLabels>,
    inference_seconds: Histograms<ModelLabels>,
    batch_size: Histograms<ModelLabels>,
    load_seconds: Histograms<ModelLabels>,
    cache_hits: Family<ModelLabels, Counter>,
    cache_misses: Family<ModelLabels, Counter>,
    cold_starts: Family<ModelLabels, Counter>,
    loaded_instances: Family<ModelLabels, Gauge>,
    queue_depth: Family<ModelLabels, Gauge>,
    latency: LatencyWatch,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new(Duration::from_secs(60))
    }
}

impl Metrics {
    /// All metrics registered, at zero; inference latencies are also kept for `latency_window`
    /// for the latency alarm.
    pub fn new(latency_window: Duration) -> Self {
        let mut registry = Registry::with_prefix("infergate");
        let m = Metrics {
            request_seconds: Family::new_with_constructor(seconds),
            requests: Family::default(),
            queue_wait_seconds: Family::new_with_constructor(seconds),
            inference_seconds: Family::new_with_constructor(seconds),
            batch_size: Family::new_with_constructor(batch_sizes),
            load_seconds: Family::new_with_constructor(seconds),
            cache_hits: Family::default(),
            cache_misses: Family::default(),
            cold_starts: Family::default(),
            loaded_instances: Family::default(),
            queue_depth: Family::default(),
            latency: LatencyWatch::new(latency_window),
            registry: Registry::default(),
        };
        registry.register("request_duration_seconds", "Request latency by route and model", m.request_seconds.clone());
        registry.register("requests", "Requests by route and HTTP status", m.requests.clone());
        registry.register(
            "queue_wait_seconds",
            "Time requests waited for a model instance",
            m.queue_wait_seconds.clone(),
        );
        registry.register(
            "inference_seconds",
            "Time a batch spent in the inference library",
            m.inference_seconds.clone(),
        );
        registry.register("batch_size", "Images per batch run", m.batch_size.clone());
        registry.register("instance_load_seconds", "Time to load a model instance", m.load_seconds.clone());
        registry.register("cache_hits", "Answers served from the output cache", m.cache_hits.clone());
        registry.register("cache_misses", "Answers that ran the model", m.cache_misses.clone());
        registry.register("cold_starts", "Requests that waited for a model load", m.cold_starts.clone());
        registry.register("loaded_instances", "Model instances loaded", m.loaded_instances.clone());
        registry.register("queue_depth", "Requests waiting for a model instance", m.queue_depth.clone());
        Metrics { registry, ..m }
    }

    /// Recent latencies of the inference routes.
    pub fn latency(&self) -> &LatencyWatch {
        &self.latency
    }

    /// Records whether an answer came from the cache.
    pub fn cache_lookup(&self, spec: &ModelSpec, hit: bool) {
        let family = if hit { &self.cache_hits } else { &self.cache_misses };
        family.get_or_create(&ModelLabels::of(&spec.name, spec.version)).inc();
    }

    /// Records a request that ran on `spec` after waiting `queued` (and for a load if `cold`).
    pub fn ran(&self, spec: &ModelSpec, queued: Duration, cold: bool) {
        let labels = ModelLabels::of(&spec.name, spec.version);
        self.queue_wait_seconds.get_or_create(&labels).observe(queued.as_secs_f64());
        if cold {
            self.cold_starts.get_or_create(&labels).inc();
        }
    }

    /// The text exposition of every metric, with the gauges read from `state` first.
    pub fn render(&self, state: &AppState) -> String {
        for pool in state.pool().all() {
            let spec = pool.spec();
            let labels = ModelLabels::of(&spec.name, spec.version);
            let status = pool.status();
            self.loaded_instances.get_or_create(&labels).set(status.instances as i64);
            self.queue_depth.get_or_create(&labels).set(status.queue_depth as i64);
        }
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

impl PoolObserver for Metrics {
    fn instance_loaded(&self, model: &str, version: i64, load_ms: f64) {
        self.load_seconds.get_or_create(&ModelLabels::of(model, version)).observe(load_ms / 1e3);
    }

    fn batch_ran(&self, model: &str, version: i64, rows: usize, compute: Duration) {
        let labels = ModelLabels::of(model, version);
        self.batch_size.get_or_create(&labels).observe(rows as f64);
        self.inference_seconds.get_or_create(&labels).observe(compute.as_secs_f64());
    }
}

/// `GET /metrics`: OpenMetrics when the scraper asks for it (`Accept:
/// application/openmetrics-text`, as Prometheus does), else the classic Prometheus text format.
pub async fn metrics_handler(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let text = state.metrics().render(&state);
    let wants_openmetrics = headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/openmetrics-text"));
    if wants_openmetrics {
        ([(CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text).into_response()
    } else {
        ([(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], openmetrics_to_prometheus(&text)).into_response()
    }
}

/// Rewrites OpenMetrics text as Prometheus text format 0.0.4: counter families are declared
/// under their sample name (`x_total`) and there is no `# EOF`. Everything else is the same.
pub fn openmetrics_to_prometheus(text: &str) -> String {
    let counters: std::collections::HashSet<&str> =
        text.lines().filter_map(|l| l.strip_prefix("# TYPE ")).filter_map(|l| l.strip_suffix(" counter")).collect();
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        if line == "# EOF" {
            continue;
        }
        let declared = ["# HELP ", "# TYPE "].iter().find_map(|p| line.strip_prefix(p).map(|rest| (p, rest)));
        match declared {
            Some((prefix, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                if counters.contains(name) {
                    out.push_str(&format!("{prefix}{name}_total {tail}"));
                } else {
                    out.push_str(line);
                }
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// Middleware timing every routed request and counting it by status.
pub async fn track_requests(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_default();
    let began = Instant::now();
    let response = next.run(req).await;
    let metrics = state.metrics();
    let model = response.extensions().get::<ServedModel>().map(|m| m.0.clone()).unwrap_or_default();
    let status = response.status();
    let elapsed = began.elapsed();
    if status.is_success() && (route == "/v1/classify" || route.ends_with("/infer")) {
        metrics.latency.record(Instant::now(), elapsed.as_secs_f64() * 1e3);
    }
    let status = status.as_u16().to_string();
    metrics.request_seconds.get_or_create(&RouteLabels { route: route.clone(), model }).observe(elapsed.as_secs_f64());
    metrics.requests.get_or_create(&StatusLabels { route, status }).inc();
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_declared_under_their_sample_name_in_prometheus_text() {
        let om = "# HELP a_hits Hits.\n# TYPE a_hits counter\na_hits_total{m=\"x\"} 1\n# HELP g Depth.\n# TYPE g gauge\ng 2\n# EOF\n";
        let text = openmetrics_to_prometheus(om);
        assert_eq!(
            text,
            "# HELP a_hits_total Hits.\n# TYPE a_hits_total counter\na_hits_total{m=\"x\"} 1\n# HELP g Depth.\n# TYPE g gauge\ng 2\n"
        );
    }
}

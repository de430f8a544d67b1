//! Labelled datasets from the simulator (`infergate route simulate`): one row per function and
//! window with the window's features, what happened on each platform (latency, cold starts,
//! cost) and two labels — the seed's rule and the cost-under-SLO objective.
//!
//! - `label_seed` = 1 (lambda) when Lambda's mean latency is lower than the containers' and
//!   its cost at most 10 % higher, as the seeds labelled their data.
//! - `label_objective` = 1 (lambda) when Lambda is the cheaper of the two platforms that
//!   meet p95 ≤ SLO; when only one meets it, that one; when neither, the lower p95.
//!
//! Containers are sized for the window's own p99 minute at 70 % utilisation and serve one
//! queue; Lambda runs as in [`crate::sim::lambda`]. Rows are written in function then window
//! order, so the same inputs and seed give the same bytes.
//!
//! The same rows come from measured invocations too ([`crate::measured`]); there a platform
//! that served too few requests in a window is not observed: its columns and the labels are
//! left empty, and trainers skip the row for what it lacks.

use crate::evaluate::Settings;
use crate::features::{WindowContext, WindowFeatures, FULL_FEATURES};
use crate::replay::{ecs_tasks_for, per_minute_counts, FunctionWorkload, ECS_TARGET_UTILISATION};
use crate::sim::container::{self, ContainerConfig};
use crate::sim::lambda;
use crate::sim::Request;
use crate::strategy::windows;
use serde::Serialize;

/// One platform's outcome in a window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PlatformOutcome {
    /// Mean latency, ms (served requests).
    pub mean_ms: f64,
    /// p95 latency, ms (throttled requests count as over any SLO).
    pub p95_ms: f64,
    /// Share of requests that were cold starts (Lambda) or queued (containers).
    pub waited_share: f64,
    /// Cost of the window, USD.
    pub cost_usd: f64,
}

/// One row of the dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Function name.
    pub function: String,
    /// Window index.
    pub window: usize,
    /// Requests in the window.
    pub requests: usize,
    /// The function's SLO, ms.
    pub slo_ms: f64,
    /// Features of the window.
    pub features: WindowFeatures,
    /// All on Lambda (`None`: not observed).
    pub lambda: Option<PlatformOutcome>,
    /// Tasks the container side ran (or would run, for measured rows: see [`crate::measured`]).
    pub ecs_tasks: usize,
    /// All on containers (`None`: not observed).
    pub ecs: Option<PlatformOutcome>,
    /// The labels, when both platforms were observed.
    pub labels: Option<Labels>,
}

/// The two labels of a window (1 = lambda, 0 = ecs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Labels {
    /// The seed's rule: Lambda faster on average and at most 10 % dearer.
    pub seed: u8,
    /// The objective: the cheaper platform meeting p95 ≤ SLO (see the module doc).
    pub objective: u8,
}

impl Labels {
    /// The labels of a window given both platforms' outcomes and the SLO.
    pub fn of(lambda: &PlatformOutcome, ecs: &PlatformOutcome, slo_ms: f64) -> Labels {
        let seed = (lambda.mean_ms < ecs.mean_ms && lambda.cost_usd <= 1.1 * ecs.cost_usd) as u8;
        let (l_ok, e_ok) = (lambda.p95_ms <= slo_ms, ecs.p95_ms <= slo_ms);
        let objective = match (l_ok, e_ok) {
            (true, true) => lambda.cost_usd <= ecs.cost_usd,
            (true, false) => true,
            (false, true) => false,
            (false, false) => lambda.p95_ms <= ecs.p95_ms,
        } as u8;
        Labels { seed, objective }
    }
}

/// The p95 of `latencies` (sorted in place; infinity counts as over any SLO).
pub fn p95(latencies: &mut [f64]) -> f64 {
    latencies.sort_by(f64::total_cmp);
    crate::histogram::nearest_rank(latencies, 0.95)
}

/// The mean of the finite latencies (0 when there are none).
pub fn mean_finite(latencies: &[f64]) -> f64 {
    let served: Vec<f64> = latencies.iter().copied().filter(|l| l.is_finite()).collect();
    served.iter().sum::<f64>() / served.len().max(1) as f64
}

/// The rows of one function: every window with at least one request.
pub fn function_rows(f: &FunctionWorkload, settings: &Settings, seed: u64) -> Vec<Row> {
    let (window_s, count) = settings.windows_for(f.span_s);
    let slo_ms = settings.slo_ms.unwrap_or(f.slo_ms);
    let lambda_config = settings.lambda_for(f.memory_mb);
    let mut out = Vec::new();
    for (t, reqs) in windows(&f.requests, window_s, count).iter().enumerate() {
        if reqs.is_empty() {
            continue;
        }
        let start_s = t as f64 * window_s;
        let ctx = WindowContext {
            start_s,
            length_s: window_s,
            start_hour: settings.start_hour,
            workload_type: f.workload_type,
            payload_kb: f.payload_kb,
            memory_mb: f.memory_mb,
        };
        let features = WindowFeatures::of_window(reqs, &ctx);
        let run = lambda::simulate(reqs, &lambda_config, settings.window_seed(seed, t));
        let mut lat: Vec<f64> =
            run.outcomes.iter().map(|o| if o.throttled { f64::INFINITY } else { o.latency_ms }).collect();
        let lambda = PlatformOutcome {
            mean_ms: mean_finite(&lat),
            p95_ms: p95(&mut lat),
            waited_share: run.cold_fraction(),
            cost_usd: run.cost_usd,
        };
        let local: Vec<Request> =
            reqs.iter().map(|r| Request { arrival_s: r.arrival_s - start_s, exec_ms: r.exec_ms }).collect();
        let mean_exec = features.duration_mean_ms;
        let tasks = ecs_tasks_for(&per_minute_counts(&local, window_s), mean_exec, ECS_TARGET_UTILISATION);
        let config =
            ContainerConfig { tasks, usd_per_task_hour: settings.task_usd_per_hour, gateway_usd_per_million: 0.0 };
        let crun = container::simulate(reqs, &config, window_s);
        let mut clat: Vec<f64> = crun.outcomes.iter().map(|o| o.latency_ms).collect();
        let ecs = PlatformOutcome {
            mean_ms: mean_finite(&clat),
            p95_ms: p95(&mut clat),
            waited_share: crun.outcomes.iter().filter(|o| o.wait_ms > 0.0).count() as f64 / reqs.len() as f64,
            cost_usd: crun.cost_usd,
        };
        out.push(Row {
            function: f.name.clone(),
            window: t,
            requests: reqs.len(),
            slo_ms,
            features,
            labels: Some(Labels::of(&lambda, &ecs, slo_ms)),
            lambda: Some(lambda),
            ecs_tasks: tasks,
            ecs: Some(ecs),
        });
    }
    out
}

/// The CSV header: identifiers, [`FULL_FEATURES`], outcomes, labels.
pub fn header() -> Vec<String> {
    let mut h: Vec<String> = ["function", "window", "requests", "slo_ms"].iter().map(|s| s.to_string()).collect();
    h.extend(FULL_FEATURES.iter().map(|s| s.to_string()));
    for p in ["lambda", "ecs"] {
        for m in ["mean_ms", "p95_ms", "waited_share", "cost_usd"] {
            h.push(format!("{p}_{m}"));
        }
    }
    h.push("ecs_tasks".into());
    h.push("label_seed".into());
    h.push("label_objective".into());
    h
}

/// Writes `rows` as CSV (categorical features by their wire names; what was not observed as
/// empty fields) to `w`.
pub fn write_csv<W: std::io::Write>(rows: &[Row], w: W) -> Result<(), csv::Error> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(header())?;
    for r in rows {
        let f = &r.features;
        let mut rec: Vec<String> =
            vec![r.function.clone(), r.window.to_string(), r.requests.to_string(), num(r.slo_ms)];
        rec.push(wire(&f.workload_type));
        rec.push(num(f.payload_size_kb));
        rec.push(wire(&f.time_window));
        rec.push(wire(&f.load_pattern));
        for v in [f.rate_per_s, f.burstiness, f.memory_mb, f.duration_mean_ms, f.duration_p50_ms, f.concurrency] {
            rec.push(num(v));
        }
        for p in [&r.lambda, &r.ecs] {
            match p {
                Some(p) => rec.extend([p.mean_ms, p.p95_ms, p.waited_share, p.cost_usd].map(num)),
                None => rec.extend(std::iter::repeat_n(String::new(), 4)),
            }
        }
        rec.push(r.ecs_tasks.to_string());
        match r.labels {
            Some(l) => rec.extend([l.seed.to_string(), l.objective.to_string()]),
            None => rec.extend([String::new(), String::new()]),
        }
        out.write_record(&rec)?;
    }
    out.flush()?;
    Ok(())
}

/// Numbers with enough digits to read back the same f64 (`inf` for infinity).
fn num(v: f64) -> String {
    if v.is_infinite() {
        "inf".into()
    } else {
        format!("{v}")
    }
}

/// A wire-named enum's name (e.g. `lightweight_api`).
fn wire<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

//! Rows of the router's dataset ([`crate::dataset::Row`]) from invocations the router really
//! forwarded and measured, for `infergate route retrain`.
//!
//! A function's invocations are cut into windows aligned on the clock (window `i` covers
//! `[i × window_s, (i + 1) × window_s)` seconds since the Unix epoch, so the time of day is
//! UTC's). Each window gets the features of all its arrivals (execution times as the backend
//! reported them), and for each platform that served at least `min_requests` of them:
//!
//! - latency: the mean and p95 of what was measured there (a failed request counts as over
//!   any SLO), and the share of cold starts;
//! - cost: what the window's whole traffic would have cost there, so that both platforms are
//!   compared on the same work — Lambda at the mean measured cost per request (priced from the
//!   billed duration), containers as the fleet `route simulate` would size for the window's
//!   p99 minute at 70 % utilisation, billed for the whole window.
//!
//! Windows where both platforms were observed get the two labels ([`Labels::of`]); the others
//! still teach that platform's latency and cost regressors.

use crate::dataset::{mean_finite, p95, Labels, PlatformOutcome, Row};
use crate::features::{WindowContext, WindowFeatures};
use crate::replay::{ecs_tasks_for, per_minute_counts, ECS_TARGET_UTILISATION};
use crate::sim::Request;
use std::collections::BTreeMap;

/// One invocation as the router measured it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeasuredInvocation {
    /// Arrival, seconds since the Unix epoch.
    pub arrival_s: f64,
    /// Served (or last tried) on Lambda; else on containers.
    pub on_lambda: bool,
    /// Answered successfully.
    pub ok: bool,
    /// Arrival to answer, ms.
    pub latency_ms: f64,
    /// The backend's own run time, ms (the latency where it reported none).
    pub exec_ms: f64,
    /// Needed a new worker.
    pub cold_start: bool,
    /// Priced cost, USD.
    pub cost_usd: f64,
    /// Request payload, KB.
    pub payload_kb: f64,
}

/// A function as its rows need it.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasuredFunction {
    /// Its name.
    pub name: String,
    /// Memory size, MB (a feature).
    pub memory_mb: f64,
    /// Latency objective, ms (decides the labels).
    pub slo_ms: f64,
    /// Container price, USD per task-hour.
    pub task_usd_per_hour: f64,
    /// Its invocations, in any order.
    pub invocations: Vec<MeasuredInvocation>,
}

/// How invocations become windows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Windowing {
    /// Window length, seconds (> 0).
    pub window_s: f64,
    /// Requests a platform must have served in a window to count as observed there (≥ 1).
    pub min_requests: usize,
}

/// What became of the windows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct WindowCounts {
    /// Windows with at least one invocation.
    pub windows: usize,
    /// Both platforms observed: labelled.
    pub labelled: usize,
    /// Only Lambda observed.
    pub lambda_only: usize,
    /// Only containers observed.
    pub ecs_only: usize,
    /// Neither platform served `min_requests`: no row.
    pub too_few: usize,
}

/// The rows of one function (windows in time order) and what became of its windows.
pub fn measured_rows(f: &MeasuredFunction, w: Windowing) -> (Vec<Row>, WindowCounts) {
    let window_s = w.window_s.max(1e-3);
    let mut by_window: BTreeMap<i64, Vec<&MeasuredInvocation>> = BTreeMap::new();
    for i in f.invocations.iter().filter(|i| i.arrival_s.is_finite()) {
        by_window.entry((i.arrival_s / window_s).floor() as i64).or_default().push(i);
    }
    let mut counts = WindowCounts::default();
    let mut rows = Vec::new();
    for (index, mut invocations) in by_window {
        counts.windows += 1;
        invocations.sort_by(|a, b| a.arrival_s.total_cmp(&b.arrival_s));
        let start_s = index as f64 * window_s;
        let requests: Vec<Request> =
            invocations.iter().map(|i| Request { arrival_s: i.arrival_s, exec_ms: i.exec_ms }).collect();
        let n = requests.len();
        let ctx = WindowContext {
            start_s,
            length_s: window_s,
            start_hour: 0.0,
            workload_type: None,
            payload_kb: invocations.iter().map(|i| i.payload_kb).sum::<f64>() / n as f64,
            memory_mb: f.memory_mb,
        };
        let features = WindowFeatures::of_window(&requests, &ctx);
        let tasks = fleet_for(&requests, start_s, window_s, features.duration_mean_ms);
        let served = |lambda: bool| -> Vec<&MeasuredInvocation> {
            invocations.iter().copied().filter(|i| i.on_lambda == lambda).collect()
        };
        let observed = |on: &[&MeasuredInvocation], cost_usd: f64| -> Option<PlatformOutcome> {
            (on.len() >= w.min_requests.max(1)).then(|| outcome(on, cost_usd))
        };
        let on_lambda = served(true);
        let lambda_cost = on_lambda.iter().map(|i| i.cost_usd).sum::<f64>() / on_lambda.len().max(1) as f64 * n as f64;
        let lambda = observed(&on_lambda, lambda_cost);
        let ecs = observed(&served(false), tasks as f64 * f.task_usd_per_hour * window_s / 3600.0);
        let labels = match (&lambda, &ecs) {
            (Some(l), Some(e)) => {
                counts.labelled += 1;
                Some(Labels::of(l, e, f.slo_ms))
            }
            (Some(_), None) => {
                counts.lambda_only += 1;
                None
            }
            (None, Some(_)) => {
                counts.ecs_only += 1;
                None
            }
            (None, None) => {
                counts.too_few += 1;
                continue;
            }
        };
        rows.push(Row {
            function: f.name.clone(),
            window: index.max(0) as usize,
            requests: n,
            slo_ms: f.slo_ms,
            features,
            lambda,
            ecs_tasks: tasks,
            ecs,
            labels,
        });
    }
    (rows, counts)
}

/// Latency of what one platform served, with the window's cost there.
fn outcome(on: &[&MeasuredInvocation], cost_usd: f64) -> PlatformOutcome {
    let mut latencies: Vec<f64> = on.iter().map(|i| if i.ok { i.latency_ms } else { f64::INFINITY }).collect();
    PlatformOutcome {
        mean_ms: mean_finite(&latencies),
        p95_ms: p95(&mut latencies),
        waited_share: on.iter().filter(|i| i.cold_start).count() as f64 / on.len() as f64,
        cost_usd,
    }
}

/// Tasks for the window's traffic, sized as `route simulate` sizes them (p99 minute at 70 %
/// utilisation); a window shorter than a minute counts its rate as a minute's.
fn fleet_for(requests: &[Request], start_s: f64, window_s: f64, mean_exec_ms: f64) -> usize {
    let per_minute = if window_s >= 60.0 {
        let local: Vec<Request> =
            requests.iter().map(|r| Request { arrival_s: r.arrival_s - start_s, exec_ms: r.exec_ms }).collect();
        per_minute_counts(&local, window_s)
    } else {
        vec![(requests.len() as f64 * 60.0 / window_s).ceil() as u32]
    };
    ecs_tasks_for(&per_minute, mean_exec_ms, ECS_TARGET_UTILISATION)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(arrival_s: f64, on_lambda: bool, latency_ms: f64, cost_usd: f64) -> MeasuredInvocation {
        MeasuredInvocation {
            arrival_s,
            on_lambda,
            ok: true,
            latency_ms,
            exec_ms: 20.0,
            cold_start: false,
            cost_usd,
            payload_kb: 2.0,
        }
    }

    fn function(invocations: Vec<MeasuredInvocation>) -> MeasuredFunction {
        MeasuredFunction { name: "f".into(), memory_mb: 512.0, slo_ms: 100.0, task_usd_per_hour: 0.036, invocations }
    }

    #[test]
    fn windows_by_hand() {
        // Window 0 (0–60 s): 3 on Lambda (30 ms, 1e-6 USD each), 2 on containers (10 ms) —
        // both observed. Window 1: 2 on Lambda only. Window 5: 1 on containers: too few.
        let t0 = 1_800_000_000.0; // 2027-01-15T08:00:00Z, a whole minute
        let mut calls = vec![
            call(t0 + 1.0, true, 30.0, 1e-6),
            call(t0 + 2.0, true, 30.0, 1e-6),
            call(t0 + 3.0, true, 30.0, 1e-6),
            call(t0 + 4.0, false, 10.0, 0.0),
            call(t0 + 5.0, false, 10.0, 0.0),
            call(t0 + 61.0, true, 30.0, 1e-6),
            call(t0 + 62.0, true, 30.0, 1e-6),
            call(t0 + 301.0, false, 10.0, 0.0),
        ];
        calls.reverse(); // any order
        let (rows, counts) = measured_rows(&function(calls), Windowing { window_s: 60.0, min_requests: 2 });
        assert_eq!(counts, WindowCounts { windows: 3, labelled: 1, lambda_only: 1, ecs_only: 0, too_few: 1 });
        assert_eq!(rows.len(), 2);
        let r = &rows[0];
        assert_eq!((r.window, r.requests), (30_000_000, 5));
        assert_eq!(r.features.payload_size_kb, 2.0);
        assert_eq!(r.features.time_window, crate::features::TimeWindow::Morning, "08:00 UTC");
        let lambda = r.lambda.unwrap();
        assert_eq!((lambda.mean_ms, lambda.p95_ms), (30.0, 30.0));
        assert!((lambda.cost_usd - 5e-6).abs() < 1e-18, "all 5 requests at Lambda's mean price");
        // One task (5 requests a minute of 20 ms is far under one task), billed 60 s.
        assert_eq!(r.ecs_tasks, 1);
        assert!((r.ecs.unwrap().cost_usd - 0.036 / 60.0).abs() < 1e-15);
        // Both meet the 100 ms SLO; Lambda (5e-6) is cheaper than the task (6e-4).
        assert_eq!(r.labels, Some(Labels { seed: 0, objective: 1 }));
        assert!(rows[1].ecs.is_none() && rows[1].labels.is_none());
    }

    #[test]
    fn a_failed_request_breaks_the_slo_and_short_windows_scale_the_rate() {
        let mut calls: Vec<_> = (0..10).map(|i| call(i as f64 * 0.1, false, 10.0, 0.0)).collect();
        calls.extend((0..4).map(|i| call(0.05 + i as f64 * 0.1, true, 30.0, 1e-6)));
        calls[0].ok = false;
        let (rows, _) = measured_rows(&function(calls), Windowing { window_s: 2.0, min_requests: 1 });
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].ecs.unwrap().p95_ms, f64::INFINITY, "a failure counts as over the SLO");
        assert_eq!(rows[0].labels.unwrap().objective, 1, "only Lambda met the SLO");
        // 14 requests in 2 s = 420 a minute of 20 ms: 0.14 busy / 0.7 → 1 task.
        assert_eq!(rows[0].ecs_tasks, 1);
        let busy: Vec<_> = (0..200).map(|i| call(i as f64 * 0.01, false, 10.0, 0.0)).collect();
        let (rows, _) = measured_rows(&function(busy), Windowing { window_s: 2.0, min_requests: 1 });
        // 100 requests/s × 20 ms = 2 busy tasks / 0.7 → 3.
        assert_eq!(rows[0].ecs_tasks, 3);
    }
}

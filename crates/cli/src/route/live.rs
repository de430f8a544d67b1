//! `infergate route evaluate --live --scenario FILE`: the scenario played three times against
//! real worker processes on this machine — all to `local-function` (`lambda_only`), all to a
//! `local-container` fleet (`ecs_only`), and the hybrid (`hybrid`: `k` always-on workers,
//! functions for the overflow) — and the seeds' comparison table from the measured requests.
//!
//! The fleet is sized as `ecs_only` is in simulation (the scenario's p99 minute at 70 %
//! utilisation); the hybrid's `k` is the simulated policy's choice for the scenario (the
//! cheapest decision meeting p95 ≤ SLO). Costs: each function request's Lambda price for its
//! billed time; the always-on workers' hourly price for the whole run, busy or not.
//! Invocations are recorded in the data directory's store (function `live`).

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use infergate_dispatch::load::{run_open_loop, LoadSample, LoadSummary};
use infergate_dispatch::{
    BackendConfig, BreakerConfig, Dispatcher, FunctionConfig, HandlerSpec, InvocationRecorder, Platform, RoutingMode,
    WorkerCommand,
};
use infergate_place::replay::{ecs_tasks_for, per_minute_counts, ECS_TARGET_UTILISATION};
use infergate_place::scenario::Scenario;
use infergate_place::sim::lambda::LambdaConfig;
use infergate_place::strategy::{best, decision_space, Platforms};
use infergate_store::Store;
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One row of the live table.
#[derive(Debug, Clone, Serialize)]
pub struct LiveRow {
    /// `lambda_only`, `ecs_only` or `hybrid`.
    pub name: &'static str,
    /// Requests sent.
    pub requests: usize,
    /// Mean latency of answered requests, ms.
    pub mean_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Total cost, USD.
    pub cost_usd: f64,
    /// Share of requests not answered 2xx.
    pub error_rate: f64,
    /// Share of answered requests over the SLO.
    pub slo_violation_rate: f64,
    /// Cold starts.
    pub cold_starts: usize,
    /// Requests answered by functions.
    pub on_lambda: usize,
    /// Requests answered by the always-on workers.
    pub on_ecs: usize,
    /// Always-on workers.
    pub tasks: usize,
    /// Wall time of the run, s.
    pub wall_s: f64,
}

/// Settings of a live evaluation.
pub struct LiveSettings<'a> {
    /// The scenario.
    pub scenario: &'a Scenario,
    /// Seed of arrivals and draws.
    pub seed: u64,
    /// Always-on workers for `ecs_only` (default: sized from the scenario).
    pub tasks: Option<usize>,
    /// USD per task-hour.
    pub task_usd_per_hour: f64,
}

fn function(name: &str, s: &Scenario, lambda: bool, ecs: Option<usize>, task_usd_per_hour: f64) -> FunctionConfig {
    FunctionConfig {
        name: name.into(),
        handler: Some(HandlerSpec::SleepCpu { exec_ms: s.workload.exec_ms.clone() }),
        memory_mb: s.workload.memory_mb,
        slo_ms: s.slo_ms,
        max_payload_kb: (s.workload.payload_kb * 2.0).max(64.0),
        mode: RoutingMode::Hybrid,
        task_usd_per_hour,
        lambda: lambda.then_some(BackendConfig::LocalFunction {
            keep_alive_s: 600.0,
            concurrency_limit: 200,
            startup_timeout_s: 60.0,
            timeout_s: 120.0,
        }),
        ecs: ecs.map(|tasks| BackendConfig::LocalContainer {
            tasks,
            queue_capacity: 100_000,
            startup_timeout_s: 60.0,
            timeout_s: 120.0,
        }),
    }
}

async fn play(
    name: &'static str,
    config: FunctionConfig,
    schedule: &[f64],
    payload: Bytes,
    store: &Store,
) -> Result<LiveRow> {
    let exe = std::env::current_exe().context("cannot find this executable to start workers")?;
    let recorder = InvocationRecorder::start(store.clone());
    let dispatcher = Arc::new(
        Dispatcher::start(
            std::slice::from_ref(&config),
            &WorkerCommand::infergate(exe),
            BreakerConfig::default(),
            recorder,
        )
        .await
        .map_err(anyhow::Error::msg)?,
    );
    let tasks = match &config.ecs {
        Some(BackendConfig::LocalContainer { tasks, .. }) => *tasks,
        _ => 0,
    };
    let span = schedule.last().copied().unwrap_or(0.0);
    let (samples, wall) = run_open_loop(schedule, Duration::from_secs_f64(span + 120.0), |i| {
        let (d, payload, at) = (dispatcher.clone(), payload.clone(), schedule[i]);
        async move {
            let sent = Instant::now();
            match d.invoke("live", payload, None).await {
                Ok(a) => LoadSample {
                    scheduled_s: at,
                    latency_ms: sent.elapsed().as_secs_f64() * 1e3,
                    status: a.status,
                    routed_to: Some(a.platform.as_str().into()),
                    cold_start: a.cold_start,
                    cost_usd: Some(if a.platform == Platform::Lambda { a.cost_usd } else { 0.0 }),
                    error: None,
                },
                Err(e) => LoadSample {
                    scheduled_s: at,
                    latency_ms: sent.elapsed().as_secs_f64() * 1e3,
                    status: 0,
                    routed_to: None,
                    cold_start: false,
                    cost_usd: None,
                    error: Some(e.to_string()),
                },
            }
        }
    })
    .await;
    dispatcher.shutdown().await;
    let summary = LoadSummary::of(&samples, wall);
    let over_slo = samples.iter().filter(|s| s.ok() && s.latency_ms > config.slo_ms).count();
    let fleet_usd = tasks as f64 * config.task_usd_per_hour * summary.wall_s / 3600.0;
    let on = |p: &str| summary.routed.get(p).copied().unwrap_or(0);
    Ok(LiveRow {
        name,
        requests: summary.requests,
        mean_ms: summary.mean_ms,
        p95_ms: summary.p95_ms,
        p99_ms: summary.p99_ms,
        cost_usd: summary.cost_usd + fleet_usd,
        error_rate: summary.error_rate,
        slo_violation_rate: over_slo as f64 / summary.ok.max(1) as f64,
        cold_starts: summary.cold_starts,
        on_lambda: on("lambda"),
        on_ecs: on("ecs"),
        tasks,
        wall_s: summary.wall_s,
    })
}

/// Plays the scenario under the three placements; returns the rows in order.
pub async fn evaluate_live(s: &LiveSettings<'_>, data_dir: &Path) -> Result<Vec<LiveRow>> {
    let requests = s.scenario.requests(s.seed);
    if requests.is_empty() {
        bail!("the scenario has no requests");
    }
    let span = s.scenario.duration_s();
    let mean_exec = requests.iter().map(|r| r.exec_ms).sum::<f64>() / requests.len() as f64;
    let fleet = s
        .tasks
        .unwrap_or_else(|| ecs_tasks_for(&per_minute_counts(&requests, span), mean_exec, ECS_TARGET_UTILISATION));
    let platforms = Platforms {
        lambda: LambdaConfig {
            pricing: infergate_core::PricingProfile::lambda_x86(s.scenario.workload.memory_mb, 0.0),
            ..LambdaConfig::default()
        },
        task_usd_per_hour: s.task_usd_per_hour,
        window_s: span.max(1.0),
    };
    let k = best(&requests, 0, &decision_space(fleet), &platforms, s.scenario.slo_ms, s.seed).decision.tasks;
    let schedule: Vec<f64> = requests.iter().map(|r| r.arrival_s).collect();
    let payload = Bytes::from(vec![b'x'; (s.scenario.workload.payload_kb * 1024.0) as usize]);
    let store = Store::open(data_dir).await.with_context(|| format!("cannot open {}", data_dir.display()))?;
    let runs: [(&'static str, bool, Option<usize>); 3] =
        [("lambda_only", true, None), ("ecs_only", false, Some(fleet)), ("hybrid", true, (k > 0).then_some(k))];
    let mut rows = Vec::new();
    for (name, lambda, ecs) in runs {
        eprintln!(
            "{name}: {} requests over {:.0} s ({})",
            schedule.len(),
            span,
            match (lambda, ecs) {
                (true, None) => "all on local-function workers".to_string(),
                (false, Some(n)) => format!("{n} local-container workers"),
                (_, Some(n)) => format!("{n} local-container workers + local-function overflow"),
                _ => unreachable!(),
            }
        );
        let config = function("live", s.scenario, lambda, ecs, s.task_usd_per_hour);
        rows.push(play(name, config, &schedule, payload.clone(), &store).await?);
    }
    Ok(rows)
}

/// The table as text.
pub fn table(rows: &[LiveRow]) -> String {
    let mut out = format!(
        "{:<12} {:>8} {:>9} {:>9} {:>9} {:>12} {:>7} {:>8} {:>6} {:>7} {:>5} {:>5}\n",
        "strategy",
        "requests",
        "mean ms",
        "p95 ms",
        "p99 ms",
        "cost USD",
        "errors",
        "over SLO",
        "cold",
        "lambda",
        "ecs",
        "tasks"
    );
    for r in rows {
        out.push_str(&format!(
            "{:<12} {:>8} {:>9.1} {:>9.1} {:>9.1} {:>12.8} {:>6.2}% {:>7.2}% {:>6} {:>7} {:>5} {:>5}\n",
            r.name,
            r.requests,
            r.mean_ms,
            r.p95_ms,
            r.p99_ms,
            r.cost_usd,
            r.error_rate * 100.0,
            r.slo_violation_rate * 100.0,
            r.cold_starts,
            r.on_lambda,
            r.on_ecs,
            r.tasks
        ));
    }
    out
}

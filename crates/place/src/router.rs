//! The router's two HTTP questions, without HTTP: the seed-compatible `/predict` (a trained
//! classifier's platform and confidence for the seed's four fields) and `/v1/route` (each
//! platform's p50/p95 latency and cost for a described workload, priced by simulating it,
//! and the cheapest choice that meets the SLO, with the reason).
//!
//! Requests are parsed from JSON values field by field so that every error names its field.

use crate::features::{LoadPattern, TimeWindow};
use crate::scenario::{Distribution, WorkloadType};
use crate::sim::container::{self, ContainerConfig};
use crate::sim::lambda::LambdaConfig;
use crate::sim::Request;
use crate::strategy::{ladder, run_window, Decision, Platforms};
use infergate_core::PricingProfile;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A request field that is missing, of the wrong type or out of range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// The field's name.
    pub field: String,
    /// What is wrong and what is expected.
    pub message: String,
}

fn field_error(field: &str, message: impl Into<String>) -> FieldError {
    FieldError { field: field.to_string(), message: message.into() }
}

fn object(body: &Value) -> Result<&Map<String, Value>, FieldError> {
    body.as_object().ok_or_else(|| field_error("body", "must be a JSON object"))
}

/// A wire-named enum field (e.g. `workload_type`), listing the valid values on error.
fn enum_field<T: for<'de> Deserialize<'de>>(
    obj: &Map<String, Value>,
    name: &str,
    valid: &[&str],
) -> Result<T, FieldError> {
    let v = obj.get(name).ok_or_else(|| field_error(name, format!("is required (one of {})", valid.join(", "))))?;
    serde_json::from_value(v.clone())
        .map_err(|_| field_error(name, format!("unknown value {v}; expected one of {}", valid.join(", "))))
}

/// A number field at least `min`; `None` when absent and optional.
fn number_field(obj: &Map<String, Value>, name: &str, min: f64, required: bool) -> Result<Option<f64>, FieldError> {
    match obj.get(name) {
        None | Some(Value::Null) if !required => Ok(None),
        None | Some(Value::Null) => Err(field_error(name, "is required (a number)")),
        Some(v) => match v.as_f64() {
            Some(x) if x.is_finite() && x >= min => Ok(Some(x)),
            Some(_) => Err(field_error(name, format!("must be a number >= {min}"))),
            None => Err(field_error(name, format!("must be a number, not {v}"))),
        },
    }
}

const WORKLOAD_TYPES: [&str; 4] = ["lightweight_api", "thumbnail_processing", "medium_processing", "heavy_processing"];
const TIME_WINDOWS: [&str; 4] = ["morning", "midday", "evening", "night"];
const LOAD_PATTERNS: [&str; 3] = ["low_load", "medium_load", "burst_load"];

/// The seed's `/predict` request.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SeedRequest {
    /// One of the four workload types.
    pub workload_type: WorkloadType,
    /// Payload in KB (≥ 0).
    pub payload_size_kb: f64,
    /// Time of day.
    pub time_window: TimeWindow,
    /// Load level.
    pub load_pattern: LoadPattern,
}

impl SeedRequest {
    /// Parses and checks the seed's four fields (other fields are ignored, as the seed did).
    pub fn parse(body: &Value) -> Result<SeedRequest, FieldError> {
        let obj = object(body)?;
        Ok(SeedRequest {
            workload_type: enum_field(obj, "workload_type", &WORKLOAD_TYPES)?,
            payload_size_kb: number_field(obj, "payload_size_kb", 0.0, true)?.unwrap_or(0.0),
            time_window: enum_field(obj, "time_window", &TIME_WINDOWS)?,
            load_pattern: enum_field(obj, "load_pattern", &LOAD_PATTERNS)?,
        })
    }

    /// The value of a feature the seed's request carries (see [`crate::features::SEED_FEATURES`]).
    pub fn value(&self, name: &str) -> Option<f64> {
        crate::features::seed_value(
            name,
            (self.workload_type, self.payload_size_kb, self.time_window, self.load_pattern),
        )
    }
}

/// A classifier's probability that `lambda` is right, for one feature row.
pub type LambdaProbability = Box<dyn Fn(&[f64]) -> f64 + Send + Sync>;

/// A trained platform classifier as the server holds it.
pub struct RouterModel {
    /// Feature names in the order `predict` expects.
    pub features: Vec<String>,
    /// Probability that `lambda` is the right platform for a feature row.
    pub predict: LambdaProbability,
    /// The seed's `model_info.model_type` (e.g. "LightGBM gradient-boosted trees").
    pub model_type: String,
    /// Accuracy on the held-out split, when measured.
    pub test_accuracy: Option<f64>,
    /// When it was trained (RFC 3339).
    pub training_date: String,
}

impl std::fmt::Debug for RouterModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouterModel").field("features", &self.features).field("model_type", &self.model_type).finish()
    }
}

/// The seed's `prediction` object.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SeedPrediction {
    /// `lambda` or `ecs`.
    pub platform: &'static str,
    /// The larger of the two probabilities.
    pub confidence: f64,
    /// P(lambda).
    pub lambda_probability: f64,
    /// P(ecs) = 1 − P(lambda).
    pub ecs_probability: f64,
}

impl RouterModel {
    /// The model's prediction for a seed request; an error names a feature the model needs
    /// that the seed's request does not carry (a model trained on more than the seed fields).
    pub fn predict_seed(&self, req: &SeedRequest) -> Result<SeedPrediction, FieldError> {
        let mut row = [0.0; 16];
        if self.features.len() > row.len() {
            return Err(field_error(
                &self.features[row.len()],
                "the router model needs more features than /predict has",
            ));
        }
        for (slot, name) in row.iter_mut().zip(&self.features) {
            *slot = req.value(name).ok_or_else(|| {
                field_error(
                    name,
                    "the router model needs this feature, which /predict does not take; train it on the seed features",
                )
            })?;
        }
        let p = (self.predict)(&row[..self.features.len()]).clamp(0.0, 1.0);
        Ok(SeedPrediction {
            platform: if p >= 0.5 { "lambda" } else { "ecs" },
            confidence: p.max(1.0 - p),
            lambda_probability: p,
            ecs_probability: 1.0 - p,
        })
    }
}

/// `/v1/route`'s request: a workload described by its traffic and execution time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteRequest {
    /// Workload type (informational; default from the execution time).
    pub workload_type: Option<WorkloadType>,
    /// Payload, KB.
    pub payload_size_kb: f64,
    /// Mean arrival rate, requests per second.
    pub arrival_rate: f64,
    /// Execution time: a number (ms, constant) or a distribution as in scenario files.
    pub exec_ms: Distribution,
    /// Function memory, MB.
    pub memory_mb: f64,
    /// Latency objective (default 2 × median execution + 200 ms).
    pub slo_ms: Option<f64>,
}

/// Most simulated requests per `/v1/route` answer (the horizon shrinks to fit).
pub const MAX_SIMULATED: f64 = 200_000.0;
/// Simulated horizon, seconds (shortened for high rates to [`MAX_SIMULATED`] requests).
pub const HORIZON_S: f64 = 3600.0;

impl RouteRequest {
    /// Parses and checks the request; errors name the field.
    pub fn parse(body: &Value) -> Result<RouteRequest, FieldError> {
        let obj = object(body)?;
        let workload_type = match obj.get("workload_type") {
            None | Some(Value::Null) => None,
            Some(_) => Some(enum_field(obj, "workload_type", &WORKLOAD_TYPES)?),
        };
        let exec_ms = match obj.get("exec_ms") {
            None | Some(Value::Null) => return Err(field_error("exec_ms", "is required (ms, or a distribution)")),
            Some(Value::Number(n)) => match n.as_f64() {
                Some(v) if v.is_finite() && v >= 0.0 => Distribution::Constant { value: v },
                _ => return Err(field_error("exec_ms", "must be a non-negative number of ms")),
            },
            Some(v) => {
                let d: Distribution = serde_json::from_value(v.clone()).map_err(|e| {
                    field_error("exec_ms", format!("not a distribution ({e}); e.g. {{\"dist\": \"lognormal\", \"median\": 120, \"sigma\": 0.5}}"))
                })?;
                d.validate().map_err(|e| field_error("exec_ms", e))?;
                d
            }
        };
        let arrival_rate = number_field(obj, "arrival_rate", 0.0, true)?.unwrap_or(0.0);
        if arrival_rate > 100_000.0 {
            return Err(field_error("arrival_rate", "must be at most 100000 requests per second"));
        }
        let memory_mb = number_field(obj, "memory_mb", 128.0, false)?.unwrap_or(crate::replay::DEFAULT_MEMORY_MB);
        if memory_mb > 10_240.0 {
            return Err(field_error("memory_mb", "must be between 128 and 10240 (Lambda's range)"));
        }
        let slo_ms = number_field(obj, "slo_ms", 0.0, false)?;
        if slo_ms == Some(0.0) {
            return Err(field_error("slo_ms", "must be positive"));
        }
        Ok(RouteRequest {
            workload_type,
            payload_size_kb: number_field(obj, "payload_size_kb", 0.0, false)?.unwrap_or(0.0),
            arrival_rate,
            exec_ms,
            memory_mb,
            slo_ms,
        })
    }
}

/// One platform's predicted figures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PlatformEstimate {
    /// Tasks (containers) kept running; 0 for pure Lambda.
    pub tasks: usize,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 95th percentile latency, ms.
    pub p95_ms: f64,
    /// Cost per hour at this rate, USD.
    pub cost_usd_per_hour: f64,
    /// Cost per 1,000 requests, USD.
    pub cost_usd_per_1000: f64,
    /// Share of requests that waited: for a cold start (Lambda, hybrid) or in the queue (containers).
    pub waited_share: f64,
    /// Whether p95 ≤ the SLO.
    pub meets_slo: bool,
}

/// `/v1/route`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteAnswer {
    /// `lambda` (no task), or `ecs` (tasks, with any overflow on Lambda).
    pub platform: &'static str,
    /// Tasks to keep running.
    pub tasks: usize,
    /// Share of requests that would run on Lambda.
    pub lambda_share: f64,
    /// Why.
    pub reason: String,
    /// The latency objective used.
    pub slo_ms: f64,
    /// Every option priced: all Lambda, all containers (a queue), and the chosen hybrid.
    pub platforms: RoutePlatforms,
    /// Requests simulated for the estimate, and over how many seconds.
    pub simulated_requests: usize,
    /// Seconds simulated.
    pub horizon_s: f64,
}

/// The per-platform estimates of a route answer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RoutePlatforms {
    /// Everything on Lambda.
    pub lambda: PlatformEstimate,
    /// Everything on containers (tasks for the load at 70 % utilisation, one queue).
    pub ecs: PlatformEstimate,
    /// The decision: k tasks + Lambda for the overflow.
    pub chosen: PlatformEstimate,
}

use crate::histogram::nearest_rank as percentile;

/// Prices `req` on each platform by simulating [`HORIZON_S`] (or fewer) seconds of Poisson
/// arrivals (seeded: the same request, the same answer) and picks the cheapest decision of
/// the policy's ladder (0 tasks = all Lambda, up to the container fleet) whose p95 meets the
/// SLO; without one, the lowest p95.
pub fn route(req: &RouteRequest, lambda: &LambdaConfig, task_usd_per_hour: f64) -> RouteAnswer {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed);
    let horizon_s =
        if req.arrival_rate * HORIZON_S > MAX_SIMULATED { MAX_SIMULATED / req.arrival_rate } else { HORIZON_S };
    let mut requests = Vec::new();
    let mut t = 0.0;
    if req.arrival_rate > 0.0 {
        loop {
            t += -(1.0 - rng.random_range(0.0..1.0f64)).ln() / req.arrival_rate;
            if t >= horizon_s {
                break;
            }
            requests.push(Request { arrival_s: t, exec_ms: req.exec_ms.sample(&mut rng).max(0.0) });
        }
    }
    let mut exec: Vec<f64> = requests.iter().map(|r| r.exec_ms).collect();
    exec.sort_by(f64::total_cmp);
    let median = if exec.is_empty() { req.exec_ms.sample(&mut rng) } else { percentile(&exec, 0.5) };
    let slo_ms = req.slo_ms.unwrap_or_else(|| crate::replay::default_slo_ms(median));
    let mean_exec = exec.iter().sum::<f64>() / exec.len().max(1) as f64;
    let fleet = ((req.arrival_rate * mean_exec / 1e3 / crate::replay::ECS_TARGET_UTILISATION).ceil() as usize).max(1);
    let p = Platforms {
        lambda: LambdaConfig { pricing: PricingProfile::lambda_x86(req.memory_mb, 0.0), ..lambda.clone() },
        task_usd_per_hour,
        window_s: horizon_s,
    };
    let per_hour = 3600.0 / horizon_s.max(1e-9);
    let n = requests.len().max(1) as f64;
    let estimate = |tasks: usize, latencies: &[f64], cost: f64, waited: usize| PlatformEstimate {
        tasks,
        p50_ms: percentile(latencies, 0.5),
        p95_ms: percentile(latencies, 0.95),
        cost_usd_per_hour: cost * per_hour,
        cost_usd_per_1000: cost / n * 1000.0,
        waited_share: waited as f64 / n,
        meets_slo: percentile(latencies, 0.95) <= slo_ms,
    };
    let runs: Vec<_> = ladder(fleet)
        .iter()
        .map(|&k| (k, run_window(&requests, Decision::from_start(k), 0.0, &p, slo_ms, 7)))
        .collect();
    let lambda_run = &runs[0].1;
    let lambda_estimate = estimate(0, &lambda_run.latencies, lambda_run.result.cost_usd, lambda_run.cold_starts);
    let ecs_config =
        ContainerConfig { tasks: fleet, usd_per_task_hour: task_usd_per_hour, gateway_usd_per_million: 0.0 };
    let ecs_run = container::simulate(&requests, &ecs_config, horizon_s);
    let mut ecs_latencies: Vec<f64> = ecs_run.outcomes.iter().map(|o| o.latency_ms).collect();
    ecs_latencies.sort_by(f64::total_cmp);
    let queued = ecs_run.outcomes.iter().filter(|o| o.wait_ms > 0.0).count();
    let ecs_estimate = estimate(fleet, &ecs_latencies, ecs_run.cost_usd, queued);
    let results: Vec<_> = runs.iter().map(|(_, r)| r.result).collect();
    let best = crate::strategy::best_index(&results).unwrap_or(0);
    let (tasks, run) = &runs[best];
    let chosen = estimate(*tasks, &run.latencies, run.result.cost_usd, run.cold_starts);
    let lambda_share = if requests.is_empty() { 1.0 } else { 1.0 - run.on_tasks as f64 / n };
    let reason = if run.result.meets_slo {
        format!(
            "{}: the cheapest option whose simulated p95 ({:.0} ms) meets the SLO ({:.0} ms): {:.4} USD/h vs {:.4} all on Lambda and {:.4} all on {} tasks",
            describe(*tasks),
            chosen.p95_ms,
            slo_ms,
            chosen.cost_usd_per_hour,
            lambda_estimate.cost_usd_per_hour,
            ecs_estimate.cost_usd_per_hour,
            fleet
        )
    } else {
        format!(
            "{}: no option meets the SLO ({:.0} ms); this one has the lowest simulated p95 ({:.0} ms)",
            describe(*tasks),
            slo_ms,
            chosen.p95_ms
        )
    };
    RouteAnswer {
        platform: if *tasks == 0 { "lambda" } else { "ecs" },
        tasks: *tasks,
        lambda_share,
        reason,
        slo_ms,
        platforms: RoutePlatforms { lambda: lambda_estimate, ecs: ecs_estimate, chosen },
        simulated_requests: requests.len(),
        horizon_s,
    }
}

fn describe(tasks: usize) -> String {
    match tasks {
        0 => "all on Lambda".into(),
        1 => "1 task, overflow on Lambda".into(),
        k => format!("{k} tasks, overflow on Lambda"),
    }
}

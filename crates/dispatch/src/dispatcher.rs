//! The dispatcher: for each invocation, pick the platform, call its backend through its
//! circuit breaker, fall back to the other platform once on failure, measure, price, record.
//!
//! Placement (`mode`): `hybrid` sends the container what it can take now (a free worker and
//! nobody queued; for an `http` container, fewer requests in flight than its `capacity`) and
//! the overflow to functions — the base load on always-on tasks, bursts on Lambda, the
//! decision the simulated `policy` makes per window with `k` = the container fleet;
//! `lambda` and `ecs` send everything to one platform first. A platform whose breaker is open
//! is skipped. Cost: Lambda's price for the billed time (the call, plus a new worker's
//! start-up, since Lambda bills the init phase), the container's hourly price for the time a
//! task was busy with the request; a failed attempt that was billed counts too.

use crate::backend::{
    Backend, BackendError, BackendFailure, HttpBackend, LocalContainerPool, LocalContainerSettings, LocalFunctionPool,
    LocalFunctionSettings, Reply, SharedContainerPool, WorkerCounts,
};
use crate::breaker::{BreakerConfig, BreakerState, CircuitBreaker};
use crate::function::{BackendConfig, FunctionConfig, Platform, RoutingMode};
use crate::recorder::InvocationRecorder;
use bytes::Bytes;
use infergate_store::Invocation;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use crate::backend::WorkerCommand;

/// One platform of a function: its backend and breaker.
struct PlatformSlot {
    backend: Arc<dyn Backend>,
    breaker: CircuitBreaker,
}

struct FunctionEntry {
    config: FunctionConfig,
    lambda: Option<PlatformSlot>,
    ecs: Option<PlatformSlot>,
}

impl FunctionEntry {
    fn slot(&self, p: Platform) -> Option<&PlatformSlot> {
        match p {
            Platform::Lambda => self.lambda.as_ref(),
            Platform::Ecs => self.ecs.as_ref(),
        }
    }

    /// The platforms to try, in order.
    fn order(&self, mode: RoutingMode) -> Vec<Platform> {
        let first = match mode {
            RoutingMode::Lambda => Platform::Lambda,
            RoutingMode::Ecs => Platform::Ecs,
            RoutingMode::Hybrid => {
                let container_free =
                    self.ecs.as_ref().is_some_and(|s| s.backend.has_capacity() && s.breaker.would_allow());
                if container_free || self.lambda.is_none() {
                    Platform::Ecs
                } else {
                    Platform::Lambda
                }
            }
        };
        [first, first.other()].into_iter().filter(|&p| self.slot(p).is_some()).collect()
    }
}

/// A forwarded invocation's answer.
#[derive(Debug, Clone)]
pub struct InvokeAnswer {
    /// The recorded invocation's id.
    pub id: String,
    /// The platform that answered.
    pub platform: Platform,
    /// Its backend kind.
    pub backend: &'static str,
    /// The backend's status (2xx, or its 4xx for the client).
    pub status: u16,
    /// The backend's body.
    pub body: Bytes,
    /// Its content type.
    pub content_type: Option<String>,
    /// Whether a new worker was started for it.
    pub cold_start: bool,
    /// Arrival to answer, milliseconds.
    pub latency_ms: f64,
    /// The backend's own run time, when it said.
    pub exec_ms: Option<f64>,
    /// Priced cost, USD.
    pub cost_usd: f64,
    /// Whether the first platform failed and this one answered.
    pub fallback: bool,
}

/// Why an invocation was not answered.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DispatchError {
    /// No function of that name (404).
    #[error("no function named {0:?}")]
    UnknownFunction(String),
    /// The payload is over the function's limit (413).
    #[error("the payload is {got} bytes; function {function:?} takes at most {limit} bytes")]
    PayloadTooLarge {
        /// The function.
        function: String,
        /// Its limit.
        limit: u64,
        /// The payload's size.
        got: u64,
    },
    /// Every platform tried failed, or none could be tried (502, 503 or 504).
    #[error("{message}")]
    Failed {
        /// HTTP status for the client.
        status: u16,
        /// Stable error code.
        code: &'static str,
        /// What happened, platform by platform.
        message: String,
        /// Seconds after which a retry may succeed (open breakers, full queues).
        retry_after_s: Option<f64>,
        /// The recorded invocation's id.
        id: String,
    },
}

/// One platform's state, for status pages.
#[derive(Debug, Clone, Serialize)]
pub struct PlatformStatus {
    /// The platform.
    pub platform: Platform,
    /// Its backend kind.
    pub backend: &'static str,
    /// Its breaker.
    pub breaker: BreakerState,
    /// Times the breaker has opened.
    pub breaker_opened: u64,
    /// Its workers.
    pub workers: WorkerCounts,
}

/// One function's state.
#[derive(Debug, Clone, Serialize)]
pub struct FunctionStatus {
    /// Name.
    pub name: String,
    /// Placement mode.
    pub mode: RoutingMode,
    /// Latency objective, ms.
    pub slo_ms: f64,
    /// Its platforms.
    pub platforms: Vec<PlatformStatus>,
}

/// Every configured function and its backends.
pub struct Dispatcher {
    functions: BTreeMap<String, Arc<FunctionEntry>>,
    recorder: InvocationRecorder,
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.001))
}

impl Dispatcher {
    /// Validates the functions, starts every container pool (waiting until its workers are
    /// ready) and prepares the rest; workers of `local-*` backends are `worker` commands.
    pub async fn start(
        functions: &[FunctionConfig],
        worker: &WorkerCommand,
        breaker: BreakerConfig,
        recorder: InvocationRecorder,
    ) -> Result<Dispatcher, String> {
        let loopback = reqwest::Client::builder()
            .no_proxy()
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(90))
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        let remote = reqwest::Client::builder()
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(90))
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        let mut out = BTreeMap::new();
        for (i, f) in functions.iter().enumerate() {
            f.validate()?;
            if out.contains_key(&f.name) {
                return Err(format!("function {:?} is configured twice", f.name));
            }
            let slot = |p: Platform| -> Option<(Platform, BackendConfig)> { f.backend(p).map(|b| (p, b.clone())) };
            let mut entry = FunctionEntry { config: f.clone(), lambda: None, ecs: None };
            for (p, b) in [slot(Platform::Lambda), slot(Platform::Ecs)].into_iter().flatten() {
                let args = f.handler.as_ref().map(|h| worker.args_for(h, i as u64)).unwrap_or_default();
                let backend: Arc<dyn Backend> = match b {
                    BackendConfig::LocalFunction { keep_alive_s, concurrency_limit, startup_timeout_s, timeout_s } => {
                        LocalFunctionPool::new(
                            LocalFunctionSettings {
                                program: worker.program.clone(),
                                args,
                                keep_alive: Duration::from_secs_f64(keep_alive_s.max(0.0)),
                                limit: concurrency_limit,
                                startup_timeout: secs(startup_timeout_s),
                                timeout: secs(timeout_s),
                            },
                            loopback.clone(),
                        )
                    }
                    BackendConfig::LocalContainer { tasks, queue_capacity, startup_timeout_s, timeout_s } => {
                        let settings = LocalContainerSettings {
                            program: worker.program.clone(),
                            args,
                            tasks,
                            queue_capacity,
                            startup_timeout: secs(startup_timeout_s),
                            timeout: secs(timeout_s),
                        };
                        let pool = LocalContainerPool::start(settings, loopback.clone())
                            .await
                            .map_err(|e| format!("function {:?}: cannot start its container workers: {e}", f.name))?;
                        Arc::new(SharedContainerPool(pool))
                    }
                    BackendConfig::Http { url, timeout_s, retries, capacity, expect_json } => {
                        let settings = crate::backend::http::HttpSettings {
                            url,
                            timeout: secs(timeout_s),
                            retries,
                            capacity,
                            expect_json,
                        };
                        Arc::new(HttpBackend::new(settings, remote.clone()))
                    }
                };
                let s = PlatformSlot { backend, breaker: CircuitBreaker::new(breaker) };
                match p {
                    Platform::Lambda => entry.lambda = Some(s),
                    Platform::Ecs => entry.ecs = Some(s),
                }
            }
            out.insert(f.name.clone(), Arc::new(entry));
        }
        Ok(Dispatcher { functions: out, recorder })
    }

    /// The configured functions' names.
    pub fn function_names(&self) -> Vec<String> {
        self.functions.keys().cloned().collect()
    }

    /// A function's configuration.
    pub fn function(&self, name: &str) -> Option<&FunctionConfig> {
        self.functions.get(name).map(|e| &e.config)
    }

    /// Every function's platforms, breakers and workers.
    pub fn status(&self) -> Vec<FunctionStatus> {
        self.functions
            .values()
            .map(|e| FunctionStatus {
                name: e.config.name.clone(),
                mode: e.config.mode,
                slo_ms: e.config.slo_ms,
                platforms: [Platform::Lambda, Platform::Ecs]
                    .into_iter()
                    .filter_map(|p| {
                        e.slot(p).map(|s| PlatformStatus {
                            platform: p,
                            backend: s.backend.kind(),
                            breaker: s.breaker.state(),
                            breaker_opened: s.breaker.times_opened(),
                            workers: s.backend.workers(),
                        })
                    })
                    .collect(),
            })
            .collect()
    }

    /// The recorder (to flush before reading the record).
    pub fn recorder(&self) -> &InvocationRecorder {
        &self.recorder
    }

    /// Forwards one invocation of `function` (placed by `mode`, or the function's own) and
    /// records it. Runs to completion even if the caller goes away, so every invocation that
    /// reached a backend has exactly one record.
    pub async fn invoke(
        &self,
        function: &str,
        payload: Bytes,
        mode: Option<RoutingMode>,
    ) -> Result<InvokeAnswer, DispatchError> {
        let arrived = Instant::now();
        let entry = self.functions.get(function).ok_or_else(|| DispatchError::UnknownFunction(function.into()))?;
        let limit = (entry.config.max_payload_kb * 1024.0) as u64;
        if payload.len() as u64 > limit {
            return Err(DispatchError::PayloadTooLarge { function: function.into(), limit, got: payload.len() as u64 });
        }
        let (entry, recorder) = (entry.clone(), self.recorder.clone());
        let mode = mode.unwrap_or(entry.config.mode);
        tokio::spawn(async move {
            let created_at = infergate_store::now_rfc3339();
            let size = payload.len() as u64;
            let outcome = forward(&entry, payload, mode).await;
            let latency_ms = arrived.elapsed().as_secs_f64() * 1e3;
            let (record, result) = settle(&entry.config, outcome, latency_ms, size, created_at);
            recorder.record(record);
            result
        })
        .await
        .unwrap_or_else(|e| {
            Err(DispatchError::Failed {
                status: 500,
                code: "internal",
                message: format!("the dispatch task failed: {e}"),
                retry_after_s: None,
                id: String::new(),
            })
        })
    }

    /// Stops every worker.
    pub async fn shutdown(&self) {
        for e in self.functions.values() {
            for s in [&e.lambda, &e.ecs].into_iter().flatten() {
                s.backend.shutdown().await;
            }
        }
        self.recorder.flush().await;
    }
}

/// One attempt on one platform.
struct Attempt {
    platform: Platform,
    backend: &'static str,
    result: Result<Reply, BackendError>,
}

/// What forwarding produced: the attempts made (at most two) and the open breakers skipped.
struct Forwarded {
    attempts: Vec<Attempt>,
    skipped: Vec<(Platform, f64)>,
}

async fn forward(entry: &FunctionEntry, payload: Bytes, mode: RoutingMode) -> Forwarded {
    let mut out = Forwarded { attempts: Vec::new(), skipped: Vec::new() };
    for platform in entry.order(mode) {
        let slot = entry.slot(platform).expect("order lists configured platforms");
        let Some(permit) = slot.breaker.try_acquire() else {
            out.skipped.push((platform, slot.breaker.retry_after_s()));
            continue;
        };
        let result = slot.backend.invoke(payload.clone()).await;
        match &result {
            Ok(_) => slot.breaker.record(permit, true),
            Err(e) if e.failure == BackendFailure::Throttled => slot.breaker.release(permit),
            Err(_) => slot.breaker.record(permit, false),
        }
        let ok = result.is_ok();
        out.attempts.push(Attempt { platform, backend: slot.backend.kind(), result });
        if ok {
            break;
        }
    }
    out
}

fn cost(config: &FunctionConfig, platform: Platform, billed_ms: f64) -> f64 {
    match platform {
        Platform::Lambda => config.lambda_cost_usd(billed_ms),
        Platform::Ecs => config.ecs_cost_usd(billed_ms),
    }
}

/// The record and the caller's result of a forwarded invocation.
fn settle(
    config: &FunctionConfig,
    f: Forwarded,
    latency_ms: f64,
    payload_bytes: u64,
    created_at: String,
) -> (Invocation, Result<InvokeAnswer, DispatchError>) {
    let id = uuid::Uuid::now_v7().to_string();
    let total_cost: f64 = f
        .attempts
        .iter()
        .map(|a| {
            let billed = match &a.result {
                Ok(r) => r.billed_ms,
                Err(e) => e.billed_ms,
            };
            cost(config, a.platform, billed)
        })
        .sum();
    let cold_start = f.attempts.iter().any(|a| match &a.result {
        Ok(r) => r.cold_start,
        Err(e) => e.cold_start,
    });
    let errors: Vec<String> = f
        .attempts
        .iter()
        .filter_map(|a| a.result.as_ref().err().map(|e| format!("{} ({}): {}", a.platform.as_str(), a.backend, e)))
        .chain(f.skipped.iter().map(|(p, _)| format!("{}: circuit open", p.as_str())))
        .collect();
    let error = (!errors.is_empty()).then(|| errors.join("; "));
    let last = f.attempts.last();
    let mut record = Invocation {
        id: id.clone(),
        function: config.name.clone(),
        platform: last
            .map_or_else(|| f.skipped.first().map_or("lambda", |s| s.0.as_str()), |a| a.platform.as_str())
            .into(),
        backend: last.map_or("none", |a| a.backend).into(),
        status: 0,
        outcome: String::new(),
        latency_ms,
        exec_ms: None,
        cold_start,
        cost_usd: total_cost,
        fallback: false,
        payload_bytes,
        error: error.clone(),
        created_at,
    };
    match last {
        Some(Attempt { platform, backend, result: Ok(reply) }) => {
            let fallback = f.attempts.len() > 1;
            record.status = reply.status;
            record.outcome = if reply.status < 300 { "ok" } else { "client_error" }.into();
            record.exec_ms = reply.exec_ms;
            record.fallback = fallback;
            let answer = InvokeAnswer {
                id,
                platform: *platform,
                backend,
                status: reply.status,
                body: reply.body.clone(),
                content_type: reply.content_type.clone(),
                cold_start,
                latency_ms,
                exec_ms: reply.exec_ms,
                cost_usd: total_cost,
                fallback,
            };
            (record, Ok(answer))
        }
        other => {
            let (status, code, retry_after_s) = match other.and_then(|a| a.result.as_ref().err()).map(|e| e.failure) {
                Some(BackendFailure::Timeout) => (504, "backend_timeout", None),
                Some(BackendFailure::BadReply) => (502, "bad_backend_reply", None),
                Some(BackendFailure::Throttled) => (503, "no_capacity", Some(1.0)),
                Some(BackendFailure::Unavailable | BackendFailure::ServerError) => (502, "backend_failed", None),
                None => {
                    let wait = f.skipped.iter().map(|s| s.1).fold(f64::INFINITY, f64::min);
                    (503, "circuit_open", Some(if wait.is_finite() { wait.max(1.0) } else { 1.0 }))
                }
            };
            record.status = status;
            record.outcome =
                other.and_then(|a| a.result.as_ref().err()).map_or("circuit_open", |e| e.failure.as_str()).into();
            let message = format!(
                "function {:?} was not answered: {}",
                config.name,
                error.unwrap_or_else(|| "no platform could be tried".into())
            );
            (record, Err(DispatchError::Failed { status, code, message, retry_after_s, id }))
        }
    }
}

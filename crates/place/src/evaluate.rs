//! Replaying functions' traffic under every strategy — `lambda_only`, `ecs_only`,
//! `classifier`, `policy`, `oracle` — and summarising latency, cost, regret and SLO
//! violations over the whole trace.
//!
//! Each function's traffic is cut into windows (1 hour by default), every one scored by
//! default: in the first, with no history, the policy starts on Lambda and launches tasks
//! after its first look (see [`crate::strategy`]). `history_windows` leading windows can be
//! made history only: every strategy runs there too, but none is scored on them.
//!
//! - `lambda_only`: every request on Lambda.
//! - `ecs_only`: a fixed fleet of tasks for the whole trace (sized for the function's p99
//!   minute at 70 % utilisation) serving one FIFO queue.
//! - `classifier`: the seed's approach — a trained classifier looks at the previous window's
//!   features and says `lambda` (all Lambda) or `ecs` (tasks sized for the previous window's
//!   p99 minute at 70 %, one queue).
//! - `policy` and `oracle`: see [`crate::strategy`] (k tasks + Lambda overflow per window).

use crate::features::{WindowContext, WindowFeatures};
use crate::histogram::LatencyHistogram;
use crate::replay::{ecs_tasks_for, per_minute_counts, FunctionWorkload, ECS_TARGET_UTILISATION};
use crate::sim::container::{self, Autoscaling, ContainerConfig};
use crate::sim::lambda::LambdaConfig;
use crate::sim::Request;
use crate::strategy::{best_index, decision_space, first_look, policy_from_bests, run_window, windows, Platforms};
use infergate_core::PricingProfile;
use serde::Serialize;

/// The five strategies (wire names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StrategyName {
    /// Everything on Lambda.
    LambdaOnly,
    /// A fixed container fleet for the day.
    EcsOnly,
    /// The seed-style trained classifier, window by window.
    Classifier,
    /// The past-only hybrid policy.
    Policy,
    /// The hindsight optimum of the policy's decision space.
    Oracle,
}

impl StrategyName {
    /// Every strategy, in report order.
    pub const ALL: [StrategyName; 5] = [
        StrategyName::LambdaOnly,
        StrategyName::EcsOnly,
        StrategyName::Classifier,
        StrategyName::Policy,
        StrategyName::Oracle,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            StrategyName::LambdaOnly => "lambda_only",
            StrategyName::EcsOnly => "ecs_only",
            StrategyName::Classifier => "classifier",
            StrategyName::Policy => "policy",
            StrategyName::Oracle => "oracle",
        }
    }
}

/// A trained platform classifier as the `classifier` strategy uses it.
pub trait PlatformClassifier: Sync {
    /// Feature names, in the order [`PlatformClassifier::lambda_probability`] expects.
    fn features(&self) -> &[String];
    /// Probability that `lambda` is the right platform for a window with these features.
    fn lambda_probability(&self, features: &[f64]) -> f64;
}

/// How to replay.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Window length, seconds (decisions hold for a window; tasks are paid for all of it).
    pub window_s: f64,
    /// Leading windows that are history only (not scored).
    pub history_windows: usize,
    /// Lambda settings; the pricing's memory is replaced by each function's.
    pub lambda: LambdaConfig,
    /// Lambda's USD per GB-second (x86 or Arm).
    pub lambda_usd_per_gb_s: f64,
    /// USD per task-hour of the container service.
    pub task_usd_per_hour: f64,
    /// Hour of the day at the trace start (for the `time_window` feature).
    pub start_hour: f64,
    /// Latency objective for every function instead of each one's default.
    pub slo_ms: Option<f64>,
    /// `ecs_only` with target-tracking autoscaling (starting from the fixed fleet's size)
    /// instead of a fleet fixed for the whole trace.
    pub ecs_autoscaling: Option<Autoscaling>,
    /// Seed of the simulations' random draws.
    pub seed: u64,
}

impl Default for Settings {
    /// Hourly windows, all scored, list prices (x86 Lambda, a 0.25 vCPU / 0.5 GB
    /// Fargate task), default Lambda behaviour.
    fn default() -> Self {
        Settings {
            window_s: 3600.0,
            history_windows: 0,
            lambda: LambdaConfig::default(),
            lambda_usd_per_gb_s: infergate_core::pricing::LAMBDA_X86_USD_PER_GB_S,
            task_usd_per_hour: infergate_core::pricing::fargate_usd_per_hour(0.25, 0.5),
            start_hour: 0.0,
            slo_ms: None,
            ecs_autoscaling: None,
            seed: 0,
        }
    }
}

impl Settings {
    /// Lambda settings for a function of `memory_mb`, priced at this evaluation's GB-s rate
    /// (no API gateway: every strategy would pay the same per request).
    pub fn lambda_for(&self, memory_mb: f64) -> LambdaConfig {
        let pricing = PricingProfile::Lambda {
            memory_mb,
            usd_per_gb_s: self.lambda_usd_per_gb_s,
            usd_per_request: infergate_core::pricing::LAMBDA_USD_PER_REQUEST,
            api_gateway_usd_per_million: 0.0,
        };
        LambdaConfig { pricing, ..self.lambda.clone() }
    }

    /// The window length (at least a second) and how many windows cover `span_s`.
    pub fn windows_for(&self, span_s: f64) -> (f64, usize) {
        let window_s = self.window_s.max(1.0);
        (window_s, ((span_s / window_s).ceil() as usize).max(1))
    }

    /// The seed of window `t` of the function seeded `seed`.
    pub fn window_seed(&self, seed: u64, t: usize) -> u64 {
        seed ^ ((t as u64) << 32) ^ self.seed
    }
}

/// One strategy's totals over the scored windows of every function replayed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StrategyTotals {
    /// Requests scored.
    pub requests: u64,
    /// Latencies of served requests.
    pub latency: LatencyHistogram,
    /// Total cost, USD.
    pub cost_usd: f64,
    /// Requests over their function's SLO (throttled ones included).
    pub over_slo: u64,
    /// Requests refused (Lambda throttling).
    pub errors: u64,
}

impl StrategyTotals {
    fn add_window(&mut self, latencies: &[f64], cost_usd: f64, slo_ms: f64) {
        self.requests += latencies.len() as u64;
        self.cost_usd += cost_usd;
        for &l in latencies {
            if l.is_finite() {
                self.latency.record(l);
            } else {
                self.errors += 1;
            }
            if l > slo_ms {
                self.over_slo += 1;
            }
        }
    }

    fn merge(&mut self, other: &StrategyTotals) {
        self.requests += other.requests;
        self.latency.merge(&other.latency);
        self.cost_usd += other.cost_usd;
        self.over_slo += other.over_slo;
        self.errors += other.errors;
    }
}

/// One line of the report (the `--json` shape).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StrategySummary {
    /// Wire name.
    pub name: StrategyName,
    /// Requests scored.
    pub requests: u64,
    /// Mean latency of served requests, ms.
    pub mean_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Total cost, USD.
    pub cost_usd: f64,
    /// Cost ÷ the oracle's − 1.
    pub regret: f64,
    /// Share of requests over their SLO.
    pub slo_violation_rate: f64,
    /// Requests refused (throttled).
    pub errors: u64,
}

/// A whole evaluation: totals per strategy and the classifier's confusion against the
/// oracle's platform (when a classifier ran).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evaluation {
    /// Functions replayed.
    pub functions: usize,
    /// Windows scored, over all functions.
    pub windows_scored: usize,
    /// Totals per strategy, in [`StrategyName::ALL`] order (no classifier row without one).
    pub totals: Vec<(StrategyName, StrategyTotals)>,
    /// Scored windows by (oracle says Lambda-heavy?, classifier said lambda?):
    /// `[[ecs→ecs, ecs→lambda], [lambda→ecs, lambda→lambda]]`, the oracle's decision counting
    /// as `lambda` when it keeps no task.
    pub confusion: [[u64; 2]; 2],
}

impl Evaluation {
    /// Adds another (partial) evaluation.
    pub fn merge(&mut self, other: &Evaluation) {
        self.functions += other.functions;
        self.windows_scored += other.windows_scored;
        for (name, t) in &other.totals {
            match self.totals.iter_mut().find(|(n, _)| n == name) {
                Some((_, mine)) => mine.merge(t),
                None => {
                    self.totals.push((*name, t.clone()));
                    self.totals.sort_by_key(|(n, _)| *n);
                }
            }
        }
        for i in 0..2 {
            for j in 0..2 {
                self.confusion[i][j] += other.confusion[i][j];
            }
        }
    }

    /// The report lines, regret relative to the oracle.
    pub fn summaries(&self) -> Vec<StrategySummary> {
        let oracle = self.totals.iter().find(|(n, _)| *n == StrategyName::Oracle).map(|(_, t)| t.cost_usd);
        self.totals
            .iter()
            .map(|(name, t)| StrategySummary {
                name: *name,
                requests: t.requests,
                mean_ms: t.latency.mean_ms(),
                p95_ms: t.latency.quantile(0.95),
                p99_ms: t.latency.quantile(0.99),
                cost_usd: t.cost_usd,
                regret: match oracle {
                    Some(o) if o > 0.0 => t.cost_usd / o - 1.0,
                    _ => 0.0,
                },
                slo_violation_rate: t.over_slo as f64 / t.requests.max(1) as f64,
                errors: t.errors,
            })
            .collect()
    }

    /// The totals of one strategy.
    pub fn totals_of(&self, name: StrategyName) -> Option<&StrategyTotals> {
        self.totals.iter().find(|(n, _)| *n == name).map(|(_, t)| t)
    }
}

/// Replays one function under every strategy (the classifier only when given one).
pub fn evaluate_function(
    f: &FunctionWorkload,
    settings: &Settings,
    classifier: Option<&dyn PlatformClassifier>,
    seed: u64,
) -> Evaluation {
    let (window_s, count) = settings.windows_for(f.span_s);
    let slo_ms = settings.slo_ms.unwrap_or(f.slo_ms);
    let p =
        Platforms { lambda: settings.lambda_for(f.memory_mb), task_usd_per_hour: settings.task_usd_per_hour, window_s };
    let w = windows(&f.requests, window_s, count);
    let choices = decision_space(f.ecs_tasks);
    let window_seed = |t: usize| settings.window_seed(seed, t);

    // Every window under every decision (choices[0] = 0 tasks = all Lambda).
    let grid: Vec<Vec<crate::strategy::WindowRun>> = w
        .iter()
        .enumerate()
        .map(|(t, reqs)| {
            let start_s = t as f64 * window_s;
            choices.iter().map(|&d| run_window(reqs, d, start_s, &p, slo_ms, window_seed(t))).collect()
        })
        .collect();
    let bests: Vec<usize> = grid
        .iter()
        .map(|runs| {
            let results: Vec<_> = runs.iter().map(|r| r.result).collect();
            best_index(&results).expect("the decision space is never empty")
        })
        .collect();
    let best_tasks: Vec<usize> = bests.iter().map(|&i| choices[i].tasks).collect();
    // The first look matters only where the policy has no history: window 0.
    let first_looks: Vec<usize> =
        w.iter().take(1).map(|reqs| first_look(reqs, 0, &choices, &p, slo_ms, window_seed(0))).collect();
    let decisions = policy_from_bests(&best_tasks, &first_looks);

    // ecs_only: one queue over the whole trace, the fleet paid for every window.
    let ecs_config = ContainerConfig {
        tasks: f.ecs_tasks,
        usd_per_task_hour: settings.task_usd_per_hour,
        gateway_usd_per_million: 0.0,
    };
    let (ecs_run, ecs_cost_per_window) = match &settings.ecs_autoscaling {
        None => {
            let per_window = f.ecs_tasks as f64 * settings.task_usd_per_hour * window_s / 3600.0;
            (container::simulate(&f.requests, &ecs_config, f.span_s), vec![per_window; count])
        }
        Some(scaling) => {
            // The bill of a scaled fleet is not per window: spread it by requests served.
            let (run, _) = container::simulate_autoscaled(&f.requests, &ecs_config, scaling, f.span_s);
            let per_request = run.cost_usd / f.requests.len().max(1) as f64;
            let costs = w.iter().map(|reqs| reqs.len() as f64 * per_request).collect();
            (run, costs)
        }
    };

    let mut out = Evaluation { functions: 1, ..Evaluation::default() };
    let mut totals: Vec<(StrategyName, StrategyTotals)> = StrategyName::ALL
        .iter()
        .filter(|n| **n != StrategyName::Classifier || classifier.is_some())
        .map(|n| (*n, StrategyTotals::default()))
        .collect();
    let mut add = |name: StrategyName, latencies: &[f64], cost: f64| {
        if let Some((_, t)) = totals.iter_mut().find(|(n, _)| *n == name) {
            t.add_window(latencies, cost, slo_ms);
        }
    };
    let mut offset = 0;
    for (t, reqs) in w.iter().enumerate() {
        let ecs_latencies: Vec<f64> =
            ecs_run.outcomes[offset..offset + reqs.len()].iter().map(|o| o.latency_ms).collect();
        offset += reqs.len();
        if t < settings.history_windows {
            continue;
        }
        out.windows_scored += 1;
        let runs = &grid[t];
        add(StrategyName::LambdaOnly, &runs[0].latencies, runs[0].result.cost_usd);
        add(StrategyName::EcsOnly, &ecs_latencies, ecs_cost_per_window[t]);
        let oracle = &runs[bests[t]];
        add(StrategyName::Oracle, &oracle.latencies, oracle.result.cost_usd);
        let chosen = choices.iter().position(|&d| d == decisions[t]).unwrap_or(0);
        add(StrategyName::Policy, &runs[chosen].latencies, runs[chosen].result.cost_usd);
        if let Some(c) = classifier {
            let (says_lambda, latencies, cost) = classify_window(c, f, &w, t, window_s, &runs[0], settings);
            add(StrategyName::Classifier, &latencies, cost);
            let oracle_lambda = choices[bests[t]].tasks == 0;
            out.confusion[oracle_lambda as usize][says_lambda as usize] += 1;
        }
    }
    out.totals = totals;
    out
}

/// The classifier's decision for window `t` from window `t − 1`'s features, and how the
/// window went: all Lambda (`lambda_run`, already simulated) or a queue on tasks sized for the
/// previous window's p99 minute. Window 0 has no past: Lambda.
fn classify_window(
    c: &dyn PlatformClassifier,
    f: &FunctionWorkload,
    w: &[Vec<Request>],
    t: usize,
    window_s: f64,
    lambda_run: &crate::strategy::WindowRun,
    settings: &Settings,
) -> (bool, Vec<f64>, f64) {
    let says_lambda = t == 0 || {
        let ctx = WindowContext {
            start_s: (t - 1) as f64 * window_s,
            length_s: window_s,
            start_hour: settings.start_hour,
            workload_type: f.workload_type,
            payload_kb: f.payload_kb,
            memory_mb: f.memory_mb,
        };
        let features = WindowFeatures::of_window(&w[t - 1], &ctx);
        let x = features.vector(c.features()).unwrap_or_default();
        x.len() != c.features().len() || c.lambda_probability(&x) >= 0.5
    };
    if says_lambda {
        return (true, lambda_run.latencies.clone(), lambda_run.result.cost_usd);
    }
    let start_s = (t - 1) as f64 * window_s;
    let previous: Vec<Request> =
        w[t - 1].iter().map(|r| Request { arrival_s: r.arrival_s - start_s, exec_ms: r.exec_ms }).collect();
    let mean = previous.iter().map(|r| r.exec_ms).sum::<f64>() / previous.len().max(1) as f64;
    let tasks = ecs_tasks_for(&per_minute_counts(&previous, window_s), mean, ECS_TARGET_UTILISATION);
    let config = ContainerConfig { tasks, usd_per_task_hour: settings.task_usd_per_hour, gateway_usd_per_million: 0.0 };
    let run = container::simulate(&w[t], &config, window_s);
    (false, run.outcomes.iter().map(|o| o.latency_ms).collect(), run.cost_usd)
}

/// Replays every function (in parallel on `threads` threads; results do not depend on it),
/// calling `progress` with the number of functions done so far.
pub fn evaluate(
    functions: &[FunctionWorkload],
    settings: &Settings,
    classifier: Option<&dyn PlatformClassifier>,
    threads: usize,
    progress: &(dyn Fn(usize) + Sync),
) -> Evaluation {
    let threads = threads.clamp(1, functions.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let mut parts: Vec<(usize, Evaluation)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(f) = functions.get(i) else { break };
                        mine.push((i, evaluate_function(f, settings, classifier, i as u64)));
                        progress(done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1);
                    }
                    mine
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("an evaluation thread panicked")).collect()
    });
    // Merge in function order so floating-point sums are the same for any thread count.
    parts.sort_by_key(|(i, _)| *i);
    let mut out = Evaluation::default();
    for (_, e) in &parts {
        out.merge(e);
    }
    out
}

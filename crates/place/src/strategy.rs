//! Hybrid placement per time window: `k` always-on tasks take a request when one is idle,
//! Lambda takes the overflow. The decision space is `k` on a ladder (0, 1, 2, 3, 5, 8, …);
//! the `oracle` picks, with hindsight, the cheapest `k` of each window that meets the SLO
//! (p95 ≤ SLO); the `policy` picks for each window what the oracle would have picked for the
//! window before — it only ever looks at the past.
//!
//! Windows are simulated independently: Lambda instances start cold at each window's start
//! (the same for every strategy, so comparisons between them are fair).

use crate::sim::lambda::{self, LambdaConfig};
use crate::sim::Request;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Both platforms' settings for one function.
#[derive(Debug, Clone, PartialEq)]
pub struct Platforms {
    /// Lambda settings (pricing included).
    pub lambda: LambdaConfig,
    /// USD per task-hour of the container service.
    pub task_usd_per_hour: f64,
    /// Window length in seconds (tasks are paid for the whole window).
    pub window_s: f64,
}

/// How a window went under one decision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowResult {
    /// Tasks kept running.
    pub tasks: usize,
    /// Cost of the window: tasks for the whole window plus Lambda's bill.
    pub cost_usd: f64,
    /// p95 latency of the window's requests (0 without requests).
    pub p95_ms: f64,
    /// Whether p95 ≤ SLO.
    pub meets_slo: bool,
    /// Requests over the SLO (throttled ones included).
    pub over_slo: usize,
    /// Requests Lambda throttled (HTTP 429).
    pub throttled: usize,
}

/// A window simulated under one decision: its summary and every request's latency.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowRun {
    /// The summary.
    pub result: WindowResult,
    /// Latency of each request, sorted ascending; throttled requests are `+inf`.
    pub latencies: Vec<f64>,
    /// Requests the tasks took (the rest went to Lambda).
    pub on_tasks: usize,
    /// Lambda cold starts.
    pub cold_starts: usize,
}

/// The decision space: 0, 1, 2, 3, 5, 8, 13, … up to and including the first value ≥ `max`.
pub fn ladder(max: usize) -> Vec<usize> {
    let mut steps = vec![0, 1];
    let (mut a, mut b) = (1usize, 2usize);
    while *steps.last().unwrap_or(&0) < max {
        steps.push(b);
        (a, b) = (b, a + b);
    }
    steps
}

/// Simulates one window with `tasks` tasks and Lambda for the overflow.
pub fn simulate_window(requests: &[Request], tasks: usize, p: &Platforms, slo_ms: f64, seed: u64) -> WindowResult {
    run_window(requests, tasks, p, slo_ms, seed).result
}

/// [`simulate_window`], keeping every request's latency.
pub fn run_window(requests: &[Request], tasks: usize, p: &Platforms, slo_ms: f64, seed: u64) -> WindowRun {
    let mut free: BinaryHeap<Reverse<u64>> = (0..tasks).map(|_| Reverse(0u64)).collect();
    let mut overflow = Vec::new();
    let mut latencies = Vec::with_capacity(requests.len());
    for r in requests {
        let arrival = (r.arrival_s * 1e9) as u64;
        match free.peek() {
            Some(&Reverse(at)) if at <= arrival => {
                free.pop();
                free.push(Reverse(arrival + (r.exec_ms * 1e6) as u64));
                latencies.push(r.exec_ms);
            }
            _ => overflow.push(*r),
        }
    }
    let run = lambda::simulate(&overflow, &p.lambda, seed);
    let throttled = run.outcomes.iter().filter(|o| o.throttled).count();
    let cold_starts = run.outcomes.iter().filter(|o| o.cold).count();
    let on_tasks = requests.len() - overflow.len();
    latencies.extend(run.outcomes.iter().map(|o| if o.throttled { f64::INFINITY } else { o.latency_ms }));
    latencies.sort_by(f64::total_cmp);
    let p95_ms = match latencies.len() {
        0 => 0.0,
        n => latencies[((0.95 * n as f64).ceil() as usize).clamp(1, n) - 1],
    };
    let result = WindowResult {
        tasks,
        cost_usd: tasks as f64 * p.task_usd_per_hour * p.window_s / 3600.0 + run.cost_usd,
        p95_ms,
        meets_slo: p95_ms <= slo_ms,
        over_slo: latencies.iter().filter(|&&l| l > slo_ms).count(),
        throttled,
    };
    WindowRun { result, latencies, on_tasks, cold_starts }
}

/// Which of `results` (one window under each decision) is best: the cheapest that meets the
/// SLO; without one, the lowest p95 (ties: the cheaper). `None` when `results` is empty.
pub fn best_index(results: &[WindowResult]) -> Option<usize> {
    let by_cost = |a: &(usize, &WindowResult), b: &(usize, &WindowResult)| a.1.cost_usd.total_cmp(&b.1.cost_usd);
    let meeting = results.iter().enumerate().filter(|(_, r)| r.meets_slo).min_by(by_cost);
    meeting
        .or_else(|| results.iter().enumerate().min_by(|a, b| a.1.p95_ms.total_cmp(&b.1.p95_ms).then(by_cost(a, b))))
        .map(|(i, _)| i)
}

/// The cheapest decision of `choices` for this window that meets the SLO; without one, the
/// decision with the lowest p95 (ties: the cheaper).
pub fn best(requests: &[Request], choices: &[usize], p: &Platforms, slo_ms: f64, seed: u64) -> WindowResult {
    let results: Vec<WindowResult> = choices.iter().map(|&k| simulate_window(requests, k, p, slo_ms, seed)).collect();
    results[best_index(&results).expect("the ladder is never empty")]
}

/// With hindsight: the best decision of each window.
pub fn oracle(windows: &[Vec<Request>], choices: &[usize], p: &Platforms, slo_ms: f64, seed: u64) -> Vec<WindowResult> {
    windows.iter().enumerate().map(|(w, reqs)| best(reqs, choices, p, slo_ms, seed ^ w as u64)).collect()
}

/// How many past windows the policy remembers (3: see [`policy_decisions`]).
pub const POLICY_MEMORY: usize = 3;

/// The policy's decisions: for window `t`, the smallest of the best decisions of the last
/// [`POLICY_MEMORY`] windows (all Lambda for the first window): tasks are added only for load
/// that has lasted, bursts go to Lambda. Uses nothing from window `t` or later.
///
/// Chosen by measurement on the Azure 2019 sample (cost regret vs the oracle over hours 1–23,
/// hour 0 being history): the previous window's best alone 12.1 %; the smallest of the last
/// 2, 8.3 %; of the last 3, 2.9 %; of the last 4, 4.5 %; of the last 5, 6.8 %. (Over all 24
/// hours — all Lambda in hour 0, with nothing known — the same policies score 23 % and 14 %.)
pub fn policy_decisions(
    windows: &[Vec<Request>],
    choices: &[usize],
    p: &Platforms,
    slo_ms: f64,
    seed: u64,
) -> Vec<usize> {
    let bests: Vec<usize> =
        windows.iter().enumerate().map(|(w, reqs)| best(reqs, choices, p, slo_ms, seed ^ w as u64).tasks).collect();
    policy_from_bests(&bests)
}

/// The policy's decisions given the best decision of each window: for window `t`, the
/// smallest of `bests[t - POLICY_MEMORY .. t]` (0 — all Lambda — for the first window).
pub fn policy_from_bests(bests: &[usize]) -> Vec<usize> {
    (0..bests.len()).map(|t| bests[t.saturating_sub(POLICY_MEMORY)..t].iter().copied().min().unwrap_or(0)).collect()
}

/// Plays the policy's decisions on the windows.
pub fn play(windows: &[Vec<Request>], decisions: &[usize], p: &Platforms, slo_ms: f64, seed: u64) -> Vec<WindowResult> {
    windows
        .iter()
        .zip(decisions)
        .enumerate()
        .map(|(w, (reqs, &k))| simulate_window(reqs, k, p, slo_ms, seed ^ w as u64))
        .collect()
}

/// Splits a request stream into consecutive windows of `window_s` seconds (`count` of them).
pub fn windows(requests: &[Request], window_s: f64, count: usize) -> Vec<Vec<Request>> {
    let mut out = vec![Vec::new(); count];
    for r in requests {
        let w = ((r.arrival_s / window_s) as usize).min(count.saturating_sub(1));
        out[w].push(*r);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ladder() {
        assert_eq!(ladder(0), vec![0, 1]);
        assert_eq!(ladder(10), vec![0, 1, 2, 3, 5, 8, 13]);
    }
}

//! Hybrid placement per time window: `k` always-on tasks take a request when one is idle,
//! Lambda takes the overflow. The decision space is `k` on a ladder (0, 1, 2, 3, 5, 8, …),
//! with the tasks running from the window's start or launched after its first
//! [`FIRST_LOOK_S`] seconds (serving [`TASK_STARTUP_S`] later); the `oracle` picks, with
//! hindsight, the cheapest decision of each window that meets the SLO (p95 ≤ SLO); the
//! `policy` keeps, for each window, the fewest tasks the oracle would have picked over the
//! last few windows, and in a window it knows nothing about (the first) it starts on Lambda
//! and launches tasks after watching the first [`FIRST_LOOK_S`] seconds — it only ever looks
//! at the past.
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
    /// The decision played.
    pub decision: Decision,
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

/// Seconds of a window the policy watches before launching tasks when it has no history.
pub const FIRST_LOOK_S: f64 = 600.0;

/// Seconds from a task's launch until it serves (Fargate: 60–90 s); billed meanwhile.
pub const TASK_STARTUP_S: f64 = 75.0;

/// One window's decision: `tasks` always-on tasks, Lambda for the overflow (and for
/// everything before the tasks serve).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    /// Tasks kept running.
    pub tasks: usize,
    /// Seconds into the window at which the tasks are launched: 0 means launched ahead and
    /// serving from the window's start; later, they are billed from then and serve
    /// [`TASK_STARTUP_S`] after.
    pub launch_s: f64,
}

impl Decision {
    /// `tasks` tasks serving from the window's start (0: all Lambda).
    pub fn from_start(tasks: usize) -> Decision {
        Decision { tasks, launch_s: 0.0 }
    }

    /// All Lambda until [`FIRST_LOOK_S`], then `tasks` tasks launched (all Lambda for 0).
    pub fn after_first_look(tasks: usize) -> Decision {
        Decision { tasks, launch_s: if tasks == 0 { 0.0 } else { FIRST_LOOK_S } }
    }

    /// Seconds into the window from which the tasks serve.
    pub fn serving_from_s(&self) -> f64 {
        if self.launch_s > 0.0 {
            self.launch_s + TASK_STARTUP_S
        } else {
            0.0
        }
    }
}

/// Every decision for a function whose full fleet is `max` tasks: the [`ladder`] from the
/// window's start, then its non-zero steps launched after the first look.
pub fn decision_space(max: usize) -> Vec<Decision> {
    let steps = ladder(max);
    let late = steps.iter().filter(|&&k| k > 0).map(|&k| Decision::after_first_look(k));
    steps.iter().map(|&k| Decision::from_start(k)).chain(late).collect()
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

/// Simulates window `start_s .. start_s + p.window_s` under `decision`.
pub fn simulate_window(
    requests: &[Request],
    decision: Decision,
    start_s: f64,
    p: &Platforms,
    slo_ms: f64,
    seed: u64,
) -> WindowResult {
    run_window(requests, decision, start_s, p, slo_ms, seed).result
}

/// [`simulate_window`], keeping every request's latency.
pub fn run_window(
    requests: &[Request],
    decision: Decision,
    start_s: f64,
    p: &Platforms,
    slo_ms: f64,
    seed: u64,
) -> WindowRun {
    let serving_from = ((start_s + decision.serving_from_s()) * 1e9) as u64;
    let mut free: BinaryHeap<Reverse<u64>> = (0..decision.tasks).map(|_| Reverse(serving_from)).collect();
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
    let p95_ms = crate::histogram::nearest_rank(&latencies, 0.95);
    let billed_s = (p.window_s - decision.launch_s).max(0.0);
    let result = WindowResult {
        decision,
        cost_usd: decision.tasks as f64 * p.task_usd_per_hour * billed_s / 3600.0 + run.cost_usd,
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

/// The cheapest decision of `choices` for window `t` (of `p.window_s` seconds) that meets the
/// SLO; without one, the decision with the lowest p95 (ties: the cheaper).
pub fn best(
    requests: &[Request],
    t: usize,
    choices: &[Decision],
    p: &Platforms,
    slo_ms: f64,
    seed: u64,
) -> WindowResult {
    let start_s = t as f64 * p.window_s;
    let results: Vec<WindowResult> =
        choices.iter().map(|&d| simulate_window(requests, d, start_s, p, slo_ms, seed ^ t as u64)).collect();
    results[best_index(&results).expect("the decision space is never empty")]
}

/// With hindsight: the best decision of each window.
pub fn oracle(
    windows: &[Vec<Request>],
    choices: &[Decision],
    p: &Platforms,
    slo_ms: f64,
    seed: u64,
) -> Vec<WindowResult> {
    windows.iter().enumerate().map(|(t, reqs)| best(reqs, t, choices, p, slo_ms, seed)).collect()
}

/// How many past windows the policy remembers (3: see [`policy_from_bests`]).
pub const POLICY_MEMORY: usize = 3;

/// The policy's decisions for `windows` (of `p.window_s` seconds from time 0); see
/// [`policy_from_bests`]. Uses nothing from window `t` but its first look, nothing later.
pub fn policy_decisions(
    windows: &[Vec<Request>],
    choices: &[Decision],
    p: &Platforms,
    slo_ms: f64,
    seed: u64,
) -> Vec<Decision> {
    let bests: Vec<usize> = oracle(windows, choices, p, slo_ms, seed).iter().map(|r| r.decision.tasks).collect();
    let first_looks: Vec<usize> =
        windows.iter().enumerate().map(|(t, reqs)| first_look(reqs, t, choices, p, slo_ms, seed)).collect();
    policy_from_bests(&bests, &first_looks)
}

/// The tasks that would have been best over the first [`FIRST_LOOK_S`] seconds of window `t`
/// (those seconds alone, tasks serving from their start), among `choices`' task counts.
pub fn first_look(
    requests: &[Request],
    t: usize,
    choices: &[Decision],
    p: &Platforms,
    slo_ms: f64,
    seed: u64,
) -> usize {
    let start_s = t as f64 * p.window_s;
    let look_s = FIRST_LOOK_S.min(p.window_s);
    let seen: Vec<Request> = requests.iter().take_while(|r| r.arrival_s < start_s + look_s).copied().collect();
    let short = Platforms { window_s: look_s, ..p.clone() };
    let results: Vec<WindowResult> = choices
        .iter()
        .filter(|d| d.launch_s == 0.0)
        .map(|&d| simulate_window(&seen, d, start_s, &short, slo_ms, seed ^ t as u64))
        .collect();
    best_index(&results).map_or(0, |i| results[i].decision.tasks)
}

/// The policy's decisions given the best task count of each window (`bests`, with
/// hindsight) and of each window's first look (`first_looks`): for window `t`, the smallest
/// of `bests[t - POLICY_MEMORY .. t]`, tasks serving from the start — tasks are added only
/// for load that has lasted, bursts go to Lambda; for the first window, with no history, all
/// Lambda until the first look, then its tasks.
///
/// Chosen by measurement on the Azure 2019 sample (cost regret vs the oracle over hours 1–23,
/// hour 0 being history): the previous window's best alone 12.1 %; the smallest of the last
/// 2, 8.3 %; of the last 3, 2.9 %; of the last 4, 4.5 %; of the last 5, 6.8 %. Over all 24
/// hours, all Lambda in hour 0 scored 14 %; see the README for the first look's figure.
pub fn policy_from_bests(bests: &[usize], first_looks: &[usize]) -> Vec<Decision> {
    (0..bests.len())
        .map(|t| match bests[t.saturating_sub(POLICY_MEMORY)..t].iter().copied().min() {
            Some(k) => Decision::from_start(k),
            None => Decision::after_first_look(first_looks.get(t).copied().unwrap_or(0)),
        })
        .collect()
}

/// Plays the policy's decisions on the windows.
pub fn play(
    windows: &[Vec<Request>],
    decisions: &[Decision],
    p: &Platforms,
    slo_ms: f64,
    seed: u64,
) -> Vec<WindowResult> {
    windows
        .iter()
        .zip(decisions)
        .enumerate()
        .map(|(t, (reqs, &d))| simulate_window(reqs, d, t as f64 * p.window_s, p, slo_ms, seed ^ t as u64))
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
        let space = decision_space(2);
        assert_eq!(space.len(), 5);
        assert_eq!(space[3], Decision { tasks: 1, launch_s: FIRST_LOOK_S });
    }

    #[test]
    fn tasks_launched_late_serve_after_their_start_up_and_are_billed_from_launch() {
        let p = Platforms {
            lambda: LambdaConfig { init_ms: vec![400.0], ..LambdaConfig::default() },
            task_usd_per_hour: 1.0,
            window_s: 3600.0,
        };
        let at = |s: f64| Request { arrival_s: 7200.0 + s, exec_ms: 100.0 };
        let reqs = [at(10.0), at(FIRST_LOOK_S + 1.0), at(FIRST_LOOK_S + TASK_STARTUP_S + 1.0)];
        let run = run_window(&reqs, Decision::after_first_look(1), 7200.0, &p, 1000.0, 1);
        assert_eq!(run.on_tasks, 1, "only the request after the start-up reaches the task");
        let task_cost = run.result.cost_usd - lambda::simulate(&reqs[..2], &p.lambda, 1).cost_usd;
        assert!((task_cost - (3600.0 - FIRST_LOOK_S) / 3600.0).abs() < 1e-6, "{task_cost}");
    }
}

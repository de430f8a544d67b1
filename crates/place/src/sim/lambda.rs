//! Serverless instances: each runs one request at a time; an idle instance is reused (the
//! most recently freed first) until it has been idle for `keep_alive_s`; a request finding no
//! idle instance starts one — a cold start of a measured init time plus the model load —
//! unless `concurrency_limit` instances exist, in which case it is throttled.

use super::{Outcome, Request, Run};
use infergate_core::PricingProfile;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// The function's platform settings.
#[derive(Debug, Clone, PartialEq)]
pub struct LambdaConfig {
    /// Idle time after which an instance is reclaimed.
    pub keep_alive_s: f64,
    /// Most instances at once (beyond: 429).
    pub concurrency_limit: usize,
    /// Measured init times (ms) a cold start draws from (e.g. one runtime's lambda-perf samples).
    pub init_ms: Vec<f64>,
    /// Model and dependency load added to every cold start (ms).
    pub load_ms: f64,
    /// Billing.
    pub pricing: PricingProfile,
}

impl Default for LambdaConfig {
    fn default() -> Self {
        LambdaConfig {
            keep_alive_s: 600.0,
            concurrency_limit: 1000,
            init_ms: vec![250.0],
            load_ms: 0.0,
            pricing: PricingProfile::default(),
        }
    }
}

/// Total-ordered f64 for the heap.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Time(f64);
impl Eq for Time {}
impl PartialOrd for Time {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Time {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Simulates `requests` (in arrival order) on Lambda; `seed` drives the init-time draws.
pub fn simulate(requests: &[Request], config: &LambdaConfig, seed: u64) -> Run {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut busy: BinaryHeap<Reverse<Time>> = BinaryHeap::new(); // when each busy instance frees up
    let mut idle: VecDeque<f64> = VecDeque::new(); // when each idle instance became idle, oldest first
    let mut outcomes = Vec::with_capacity(requests.len());
    let mut cost = 0.0;
    for r in requests {
        let now = r.arrival_s;
        while let Some(&Reverse(Time(free_at))) = busy.peek() {
            if free_at > now {
                break;
            }
            busy.pop();
            idle.push_back(free_at);
        }
        while idle.front().is_some_and(|&since| now - since > config.keep_alive_s) {
            idle.pop_front();
        }
        let (wait_ms, cold) = if idle.pop_back().is_some() {
            (0.0, false)
        } else if busy.len() + idle.len() < config.concurrency_limit {
            let init =
                if config.init_ms.is_empty() { 0.0 } else { config.init_ms[rng.random_range(0..config.init_ms.len())] };
            (init + config.load_ms, true)
        } else {
            outcomes.push(Outcome { latency_ms: 0.0, wait_ms: 0.0, cold: false, throttled: true });
            continue;
        };
        let latency_ms = wait_ms + r.exec_ms;
        busy.push(Reverse(Time(now + latency_ms / 1e3)));
        cost += config.pricing.cost_usd(latency_ms).unwrap_or(0.0);
        outcomes.push(Outcome { latency_ms, wait_ms, cold, throttled: false });
    }
    Run { outcomes, cost_usd: cost }
}

//! Always-on containers: `tasks` identical tasks serve a FIFO queue, each one request at a
//! time; billed per second for the whole span, busy or not.

use super::{Outcome, Request, Run};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The service's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerConfig {
    /// Tasks running.
    pub tasks: usize,
    /// USD per task-hour (e.g. Fargate 1 vCPU + 2 GB: 0.04937).
    pub usd_per_task_hour: f64,
    /// API gateway / load balancer USD per million requests.
    pub gateway_usd_per_million: f64,
}

/// Simulates `requests` (in arrival order) over `span_s` seconds of billed time.
pub fn simulate(requests: &[Request], config: &ContainerConfig, span_s: f64) -> Run {
    let tasks = config.tasks.max(1);
    // When each task is next free, in integer nanoseconds (exact ordering).
    let mut free: BinaryHeap<Reverse<u64>> = (0..tasks).map(|_| Reverse(0u64)).collect();
    let mut outcomes = Vec::with_capacity(requests.len());
    for r in requests {
        let arrival = (r.arrival_s * 1e9) as u64;
        let Reverse(next_free) = free.pop().unwrap_or(Reverse(0));
        let start = next_free.max(arrival);
        let end = start + (r.exec_ms * 1e6) as u64;
        free.push(Reverse(end));
        let wait_ms = (start - arrival) as f64 / 1e6;
        outcomes.push(Outcome { latency_ms: wait_ms + r.exec_ms, wait_ms, cold: false, throttled: false });
    }
    let cost = tasks as f64 * config.usd_per_task_hour * span_s / 3600.0
        + requests.len() as f64 * config.gateway_usd_per_million / 1e6;
    Run { outcomes, cost_usd: cost }
}

//! Always-on containers: tasks serve one FIFO queue, each one request at a time; billed per
//! second for every second a task runs, busy or not. The fleet is fixed ([`simulate`]) or
//! follows target-tracking autoscaling ([`simulate_autoscaled`]): every evaluation period the
//! fleet is resized towards `busy ÷ target utilisation`; new tasks are billed from launch but
//! serve only after a start-up delay; scale-in waits for a cooldown and stops idle tasks.

use super::{Outcome, Request, Run};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The service's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerConfig {
    /// Tasks running (at the start, with autoscaling).
    pub tasks: usize,
    /// USD per task-hour (e.g. Fargate 1 vCPU + 2 GB: 0.04937).
    pub usd_per_task_hour: f64,
    /// API gateway / load balancer USD per million requests.
    pub gateway_usd_per_million: f64,
}

/// Target-tracking autoscaling, as ECS service auto scaling does it on CPU utilisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Autoscaling {
    /// Utilisation the fleet is sized for (e.g. 0.7).
    pub target_utilisation: f64,
    /// Fewest tasks.
    pub min_tasks: usize,
    /// Most tasks.
    pub max_tasks: usize,
    /// Seconds from launch until a new task serves (Fargate: 60–90).
    pub startup_s: f64,
    /// Seconds between scaling decisions (each looks at the period just ended).
    pub evaluation_s: f64,
    /// Seconds after any scaling action before scaling in.
    pub scale_in_cooldown_s: f64,
}

impl Default for Autoscaling {
    /// 70 % target, 1 to 1,000 tasks, 75 s start-up, decisions every minute, 5-minute scale-in cooldown.
    fn default() -> Self {
        Autoscaling {
            target_utilisation: 0.7,
            min_tasks: 1,
            max_tasks: 1000,
            startup_s: 75.0,
            evaluation_s: 60.0,
            scale_in_cooldown_s: 300.0,
        }
    }
}

/// Simulates `requests` (in arrival order) on a fixed fleet over `span_s` seconds of billing.
pub fn simulate(requests: &[Request], config: &ContainerConfig, span_s: f64) -> Run {
    run(requests, config, None, span_s).0
}

/// Simulates `requests` with autoscaling; also returns the fleet size after each decision.
pub fn simulate_autoscaled(
    requests: &[Request],
    config: &ContainerConfig,
    scaling: &Autoscaling,
    span_s: f64,
) -> (Run, Vec<usize>) {
    run(requests, config, Some(scaling), span_s)
}

const NS: f64 = 1e9;

fn run(
    requests: &[Request],
    config: &ContainerConfig,
    scaling: Option<&Autoscaling>,
    span_s: f64,
) -> (Run, Vec<usize>) {
    let initial = match scaling {
        Some(s) => config.tasks.clamp(s.min_tasks.max(1), s.max_tasks.max(1)),
        None => config.tasks.max(1),
    };
    // When each serving-or-starting task is next free, in integer nanoseconds (exact ordering).
    let mut free: BinaryHeap<Reverse<u64>> = (0..initial).map(|_| Reverse(0u64)).collect();
    let span_ns = (span_s.max(0.0) * NS) as u64;
    let mut task_ns: u128 = 0; // billed task-time of tasks already stopped
    let mut started_at: Vec<u64> = vec![0; initial]; // launch times of running tasks (order irrelevant)
    let mut to_stop = 0usize; // tasks to stop as soon as they are free
    let mut sizes = Vec::new();
    let (mut next_tick, mut busy_ns, mut last_action) = (0u64, 0u128, 0u64);
    let tick_ns = scaling.map_or(u64::MAX, |s| (s.evaluation_s.max(1.0) * NS) as u64);
    if scaling.is_some() {
        next_tick = tick_ns;
    }
    let mut outcomes = Vec::with_capacity(requests.len());
    for r in requests {
        let arrival = (r.arrival_s * NS) as u64;
        while let Some(s) = scaling.filter(|_| next_tick <= arrival) {
            let running = started_at.len() - to_stop;
            let utilisation = busy_ns as f64 / (running.max(1) as f64 * tick_ns as f64);
            let desired = ((running as f64 * utilisation / s.target_utilisation.clamp(0.05, 1.0)).ceil() as usize)
                .clamp(s.min_tasks.max(1), s.max_tasks.max(1));
            if desired > running {
                let ready = next_tick + (s.startup_s.max(0.0) * NS) as u64;
                for _ in running..desired {
                    free.push(Reverse(ready));
                    started_at.push(next_tick);
                }
                last_action = next_tick;
            } else if desired < running && next_tick >= last_action + (s.scale_in_cooldown_s.max(0.0) * NS) as u64 {
                to_stop += running - desired;
                last_action = next_tick;
            }
            sizes.push(started_at.len() - to_stop);
            busy_ns = 0;
            next_tick += tick_ns;
        }
        // Tasks marked to stop leave as they come free (billing ends then).
        while to_stop > 0 && free.len() > 1 {
            let Some(&Reverse(at)) = free.peek() else { break };
            if at > arrival {
                break;
            }
            free.pop();
            to_stop -= 1;
            let launched = started_at.pop().unwrap_or(0);
            task_ns += u128::from(at.max(launched) - launched);
        }
        let Reverse(next_free) = free.pop().unwrap_or(Reverse(0));
        let start = next_free.max(arrival);
        let exec_ns = (r.exec_ms * 1e6) as u64;
        free.push(Reverse(start + exec_ns));
        busy_ns += u128::from(exec_ns);
        let wait_ms = (start - arrival) as f64 / 1e6;
        outcomes.push(Outcome { latency_ms: wait_ms + r.exec_ms, wait_ms, cold: false, throttled: false });
    }
    // Every task still running is billed to the end of the span (or of its last request).
    let end = span_ns.max(free.iter().map(|Reverse(t)| *t).max().unwrap_or(0).min(span_ns));
    task_ns += started_at.iter().map(|&s| u128::from(end.saturating_sub(s))).sum::<u128>();
    let cost = task_ns as f64 / NS / 3600.0 * config.usd_per_task_hour
        + requests.len() as f64 * config.gateway_usd_per_million / 1e6;
    (Run { outcomes, cost_usd: cost }, sizes)
}

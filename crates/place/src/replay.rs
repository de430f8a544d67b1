//! Turning a trace into a request stream for the simulators, and sizing the fixed container
//! fleet of the `ecs_only` strategy.

use crate::scenario::{Distribution, Scenario, WorkloadType};
use crate::sim::Request;
use crate::traces::azure2019::{DurationStats, FunctionTrace};
use crate::traces::azure2021::Invocation;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use std::collections::BTreeMap;

/// One function's traffic and settings, ready to replay under every strategy.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionWorkload {
    /// A name for reports (the trace's function hash, or the scenario's name).
    pub name: String,
    /// Requests in arrival order, seconds from the trace start.
    pub requests: Vec<Request>,
    /// Length of the trace, seconds.
    pub span_s: f64,
    /// Latency objective, ms.
    pub slo_ms: f64,
    /// Memory size, MB (Lambda bills GB-s of it).
    pub memory_mb: f64,
    /// Payload size, KB (0 where the trace does not say).
    pub payload_kb: f64,
    /// The workload type, when the source says (scenarios); else derived from durations.
    pub workload_type: Option<WorkloadType>,
    /// The `ecs_only` fleet: [`ecs_tasks_for`] the p99 minute at 70 % utilisation.
    pub ecs_tasks: usize,
}

/// Target utilisation the `ecs_only` fleet is sized for.
pub const ECS_TARGET_UTILISATION: f64 = 0.7;
/// Memory assumed for a function whose trace has no memory figure, MB (Lambda's minimum).
pub const DEFAULT_MEMORY_MB: f64 = 128.0;

/// The default latency objective of a function: 2 × its median duration + 200 ms.
pub fn default_slo_ms(median_exec_ms: f64) -> f64 {
    2.0 * median_exec_ms + 200.0
}

/// Requests per minute of a stream spanning `span_s` seconds.
pub fn per_minute_counts(requests: &[Request], span_s: f64) -> Vec<u32> {
    let minutes = (span_s / 60.0).ceil().max(1.0) as usize;
    let mut out = vec![0u32; minutes];
    for r in requests {
        out[((r.arrival_s / 60.0).max(0.0) as usize).min(minutes - 1)] += 1;
    }
    out
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    if values.is_empty() {
        0.0
    } else {
        values[(values.len() - 1) / 2]
    }
}

impl FunctionWorkload {
    /// Builds the rest from the requests: the median-based SLO (unless given) and the fleet.
    fn from_requests(
        name: String,
        requests: Vec<Request>,
        span_s: f64,
        memory_mb: f64,
        slo_ms: Option<f64>,
        workload_type: Option<WorkloadType>,
        payload_kb: f64,
    ) -> FunctionWorkload {
        let mut exec: Vec<f64> = requests.iter().map(|r| r.exec_ms).collect();
        let mean = exec.iter().sum::<f64>() / exec.len().max(1) as f64;
        let slo_ms = slo_ms.unwrap_or_else(|| default_slo_ms(median(&mut exec)));
        let ecs_tasks = ecs_tasks_for(&per_minute_counts(&requests, span_s), mean, ECS_TARGET_UTILISATION);
        FunctionWorkload { name, requests, span_s, slo_ms, memory_mb, payload_kb, workload_type, ecs_tasks }
    }

    /// An Azure 2019 function: arrivals spread within each minute, execution times from its
    /// duration percentiles, SLO from its median duration, its app's average memory (at least
    /// 128 MB; [`DEFAULT_MEMORY_MB`] without one). `seed` drives the draws.
    pub fn from_azure2019(f: &FunctionTrace, seed: u64) -> FunctionWorkload {
        let exec = duration_distribution(&f.durations);
        let requests = requests_from_minutes(&f.invocations.per_minute, &exec, seed);
        let median = f.durations.percentiles.iter().find(|(p, _)| *p == 50.0).map_or(f.durations.average_ms, |p| p.1);
        let memory_mb = f.memory.as_ref().map_or(DEFAULT_MEMORY_MB, |m| m.average_mb.max(DEFAULT_MEMORY_MB));
        let span_s = f.invocations.per_minute.len() as f64 * 60.0;
        // The fleet is sized with the mean of the execution times actually drawn (the
        // percentile curve's mean can differ from the file's `Average`).
        let mean = requests.iter().map(|r| r.exec_ms).sum::<f64>() / requests.len().max(1) as f64;
        FunctionWorkload {
            name: f.invocations.function.clone(),
            requests,
            span_s,
            slo_ms: default_slo_ms(median),
            memory_mb,
            payload_kb: 0.0,
            workload_type: None,
            ecs_tasks: ecs_tasks_for(&f.invocations.per_minute, mean, ECS_TARGET_UTILISATION),
        }
    }

    /// Azure 2021 invocations grouped per function (in order of first appearance by hash),
    /// each with its measured start times and durations and `memory_mb` (the trace has none).
    /// The span is the whole trace's, from 0 to its last end.
    pub fn from_azure2021(invocations: &[Invocation], memory_mb: f64) -> Vec<FunctionWorkload> {
        let span_s = invocations.iter().map(|i| i.start_s + i.duration_s).fold(0.0, f64::max);
        let mut by_function: BTreeMap<(&str, &str), Vec<Request>> = BTreeMap::new();
        for i in invocations {
            by_function
                .entry((&i.app, &i.func))
                .or_default()
                .push(Request { arrival_s: i.start_s, exec_ms: i.duration_s * 1e3 });
        }
        by_function
            .into_iter()
            .map(|((_, func), mut requests)| {
                requests.sort_by(|a, b| a.arrival_s.total_cmp(&b.arrival_s));
                FunctionWorkload::from_requests(func.to_string(), requests, span_s, memory_mb, None, None, 0.0)
            })
            .collect()
    }

    /// A scenario's request stream (seeded), with its SLO, memory, payload and type.
    pub fn from_scenario(s: &Scenario, seed: u64) -> FunctionWorkload {
        FunctionWorkload::from_requests(
            s.name.clone().unwrap_or_else(|| "scenario".into()),
            s.requests(seed),
            s.duration_s(),
            s.workload.memory_mb,
            Some(s.slo_ms),
            Some(s.workload.kind),
            s.workload.payload_kb,
        )
    }
}

/// The execution-time distribution of an Azure 2019 function: piecewise linear between its
/// duration percentiles (0, 1, 25, 50, 75, 99, 100).
pub fn duration_distribution(stats: &DurationStats) -> Distribution {
    Distribution::Empirical { percentiles: stats.percentiles.clone() }
}

/// Requests from per-minute invocation counts: each minute's invocations arrive at uniformly
/// random instants within it (sorted), with execution times drawn from `exec`. Seeded.
pub fn requests_from_minutes(per_minute: &[u32], exec: &Distribution, seed: u64) -> Vec<Request> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(per_minute.iter().map(|&n| n as usize).sum());
    let mut minute = Vec::new();
    for (m, &n) in per_minute.iter().enumerate() {
        minute.clear();
        minute.extend((0..n).map(|_| m as f64 * 60.0 + rng.random_range(0.0..60.0)));
        minute.sort_by(f64::total_cmp);
        for &arrival_s in &minute {
            out.push(Request { arrival_s, exec_ms: exec.sample(&mut rng).max(0.0) });
        }
    }
    out
}

/// The `ecs_only` fleet: tasks (at least 1) for the function's 99th-percentile minute at
/// `target_utilisation` (e.g. 0.7), each task running one request at a time:
/// `ceil(p99 per-minute rate / 60 × mean execution seconds / target_utilisation)`.
pub fn ecs_tasks_for(per_minute: &[u32], mean_exec_ms: f64, target_utilisation: f64) -> usize {
    if per_minute.is_empty() {
        return 1;
    }
    let mut sorted = per_minute.to_vec();
    sorted.sort_unstable();
    let rank = ((0.99 * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    let p99_per_s = sorted[rank - 1] as f64 / 60.0;
    let busy = p99_per_s * mean_exec_ms / 1e3 / target_utilisation.clamp(1e-6, 1.0);
    (busy.ceil() as usize).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_expand_to_their_counts() {
        let exec = Distribution::Constant { value: 25.0 };
        let r = requests_from_minutes(&[3, 0, 2], &exec, 9);
        assert_eq!(r.len(), 5);
        assert!(
            r[..3].iter().all(|x| x.arrival_s < 60.0) && r[3..].iter().all(|x| (120.0..180.0).contains(&x.arrival_s))
        );
        assert!(r.windows(2).all(|w| w[0].arrival_s <= w[1].arrival_s));
        assert!(r.iter().all(|x| x.exec_ms == 25.0));
        assert_eq!(requests_from_minutes(&[3, 0, 2], &exec, 9), r);
    }

    #[test]
    fn fleet_sizing_by_hand() {
        // p99 minute of 100 minutes = the highest but one... rank ceil(0.99*100) = 99 → 2nd largest.
        let mut minutes = vec![60u32; 98];
        minutes.extend([6000, 12000]);
        // 6000/min = 100/s, × 0.5 s = 50 busy tasks, / 0.7 = 71.4 → 72.
        assert_eq!(ecs_tasks_for(&minutes, 500.0, 0.7), 72);
        assert_eq!(ecs_tasks_for(&[0, 0, 1], 10.0, 0.7), 1, "at least one task");
        assert_eq!(ecs_tasks_for(&[], 10.0, 0.7), 1);
    }
}

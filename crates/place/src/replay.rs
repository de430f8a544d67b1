//! Turning a trace into a request stream for the simulators, and sizing the fixed container
//! fleet of the `ecs_only` strategy.

use crate::scenario::Distribution;
use crate::sim::Request;
use crate::traces::azure2019::DurationStats;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

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

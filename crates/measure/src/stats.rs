//! Latency statistics of the measured runs.

use std::time::Duration;

use infergate_place::histogram::nearest_rank;
use serde::{Deserialize, Serialize};

/// Mean, extremes, percentiles and spread of a set of latencies, in milliseconds.
///
/// Percentiles are nearest-rank (the smallest sample with at least that share of samples at or
/// below it, as everywhere in Infergate); the standard deviation is the population one (divided
/// by n, numpy's default).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatencyStats {
    /// Number of latencies.
    pub count: usize,
    /// Arithmetic mean.
    pub mean_ms: f64,
    /// Fastest.
    pub min_ms: f64,
    /// Slowest.
    pub max_ms: f64,
    /// Median (nearest rank).
    pub p50_ms: f64,
    /// 95th percentile (nearest rank).
    pub p95_ms: f64,
    /// Population standard deviation.
    pub std_ms: f64,
}

impl LatencyStats {
    /// Statistics of `samples`; `None` when there are none.
    pub fn of(samples: &[Duration]) -> Option<LatencyStats> {
        let ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        Self::of_ms(&ms)
    }

    /// Statistics of latencies already in milliseconds; `None` when there are none or one is not
    /// finite.
    pub fn of_ms(ms: &[f64]) -> Option<LatencyStats> {
        if ms.is_empty() || ms.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let mut sorted = ms.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len() as f64;
        let mean = sorted.iter().sum::<f64>() / n;
        let var = sorted.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        Some(LatencyStats {
            count: sorted.len(),
            mean_ms: mean,
            min_ms: sorted[0],
            max_ms: sorted[sorted.len() - 1],
            p50_ms: nearest_rank(&sorted, 0.50),
            p95_ms: nearest_rank(&sorted, 0.95),
            std_ms: var.sqrt(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_durations() {
        // 1..=20 ms in a shuffled order.
        let order = [7, 1, 20, 13, 2, 19, 8, 14, 3, 18, 9, 15, 4, 17, 10, 16, 5, 12, 6, 11];
        let d: Vec<Duration> = order.iter().map(|&m| Duration::from_millis(m)).collect();
        let s = LatencyStats::of(&d).unwrap();
        assert_eq!(s.count, 20);
        assert!((s.mean_ms - 10.5).abs() < 1e-9);
        assert_eq!((s.min_ms, s.max_ms), (1.0, 20.0));
        // Nearest rank: p50 is the 10th of 20, p95 the 19th.
        assert_eq!((s.p50_ms, s.p95_ms), (10.0, 19.0));
        // Population variance of 1..=n is (n² − 1) / 12.
        assert!((s.std_ms - (399.0f64 / 12.0).sqrt()).abs() < 1e-9, "{}", s.std_ms);
    }

    #[test]
    fn one_sample_and_none() {
        let s = LatencyStats::of(&[Duration::from_micros(4_250)]).unwrap();
        assert_eq!((s.mean_ms, s.min_ms, s.max_ms, s.p50_ms, s.p95_ms, s.std_ms), (4.25, 4.25, 4.25, 4.25, 4.25, 0.0));
        assert!(LatencyStats::of(&[]).is_none());
        assert!(LatencyStats::of_ms(&[1.0, f64::NAN]).is_none());
    }
}

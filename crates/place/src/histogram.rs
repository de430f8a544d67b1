//! A latency histogram with logarithmic buckets (1 % wide, 1 µs to ~10⁷ ms): percentiles and
//! CDFs of millions of simulated requests in a few kilobytes, mergeable across functions.

use serde::{Deserialize, Serialize};

/// Bucket growth factor: each bucket is 1 % wider than the one before.
const GROWTH: f64 = 1.01;
/// Lower edge of bucket 1 (bucket 0 holds everything below it), milliseconds.
const FLOOR_MS: f64 = 0.001;
/// Buckets: enough to reach ~1.6·10⁷ ms (4.5 hours).
const BUCKETS: usize = 2_400;

/// Counts of latencies per logarithmic bucket, plus the exact count, sum and maximum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyHistogram {
    counts: Vec<u64>,
    count: u64,
    sum_ms: f64,
    max_ms: f64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram { counts: vec![0; BUCKETS], count: 0, sum_ms: 0.0, max_ms: 0.0 }
    }
}

fn bucket(ms: f64) -> usize {
    if ms < FLOOR_MS {
        return 0;
    }
    (((ms / FLOOR_MS).ln() / GROWTH.ln()) as usize + 1).min(BUCKETS - 1)
}

/// Upper edge of bucket `i`, milliseconds.
fn upper_edge(i: usize) -> f64 {
    FLOOR_MS * GROWTH.powi(i as i32)
}

impl LatencyHistogram {
    /// Records one latency (negative and non-finite values are ignored).
    pub fn record(&mut self, ms: f64) {
        if !ms.is_finite() || ms < 0.0 {
            return;
        }
        self.counts[bucket(ms)] += 1;
        self.count += 1;
        self.sum_ms += ms;
        self.max_ms = self.max_ms.max(ms);
    }

    /// Adds another histogram's counts.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.count += other.count;
        self.sum_ms += other.sum_ms;
        self.max_ms = self.max_ms.max(other.max_ms);
    }

    /// Latencies recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Mean latency (0 when empty).
    pub fn mean_ms(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum_ms / self.count as f64
        }
    }

    /// The `q`-quantile (0–1): the upper edge of the bucket holding it, at most the maximum
    /// recorded — within 1 % of the exact value. 0 when empty.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return upper_edge(i).min(self.max_ms);
            }
        }
        self.max_ms
    }

    /// The empirical CDF as (latency ms, share of requests ≤ it) at every non-empty bucket.
    pub fn cdf(&self) -> Vec<(f64, f64)> {
        let mut seen = 0;
        let mut out = Vec::new();
        for (i, &c) in self.counts.iter().enumerate() {
            if c > 0 {
                seen += c;
                out.push((upper_edge(i).min(self.max_ms), seen as f64 / self.count as f64));
            }
        }
        out
    }
}

/// The `q` quantile (0–1, nearest rank) of ascending `sorted`; 0 when empty.
pub fn nearest_rank(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => 0.0,
        n => sorted[((q * n as f64).ceil() as usize).clamp(1, n) - 1],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_within_one_percent() {
        let mut h = LatencyHistogram::default();
        for i in 1..=1000 {
            h.record(i as f64);
        }
        assert_eq!(h.count(), 1000);
        assert!((h.mean_ms() - 500.5).abs() < 1e-9);
        for (q, exact) in [(0.5, 500.0), (0.95, 950.0), (0.99, 990.0)] {
            let got = h.quantile(q);
            assert!(got >= exact && got <= exact * 1.0101, "q{q}: {got} vs {exact}");
        }
        assert_eq!(h.quantile(1.0), 1000.0);
        let cdf = h.cdf();
        assert_eq!(cdf.last().unwrap().1, 1.0);
        assert!(cdf.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1));
    }

    #[test]
    fn merging_adds_and_bad_values_are_ignored() {
        let (mut a, mut b) = (LatencyHistogram::default(), LatencyHistogram::default());
        a.record(1.0);
        b.record(3.0);
        b.record(f64::INFINITY);
        b.record(-1.0);
        a.merge(&b);
        assert_eq!(a.count(), 2);
        assert_eq!(a.mean_ms(), 2.0);
        assert_eq!(LatencyHistogram::default().quantile(0.5), 0.0);
    }
}

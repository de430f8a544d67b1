//! Per-key rate limits: a token bucket per API key, kept in this process's memory.
//!
//! A bucket holds up to `burst` tokens and refills at `per_s` tokens a second; each request
//! takes one, and a request finding less than one is refused with the time until one is
//! there. Time is passed in, so the arithmetic is tested without sleeping.
//!
//! Written here rather than with `governor` (DESIGN.md's pick): its keyed limiter applies one
//! quota to every key, while each key here may have its own rate and burst, so a map of
//! buckets was needed either way, and a bucket is a few lines.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// A rate: `per_s` requests a second on average, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    per_s: f64,
    burst: u32,
}

impl Rate {
    /// No limit.
    pub const UNLIMITED: Rate = Rate { per_s: 0.0, burst: 0 };

    /// `per_s` requests a second (0, negative or not finite: unlimited), up to `burst` at once
    /// (0: the rate rounded up, at least 1).
    pub fn new(per_s: f64, burst: u32) -> Rate {
        if !(per_s.is_finite() && per_s > 0.0) {
            return Rate::UNLIMITED;
        }
        let burst = if burst == 0 { per_s.ceil().min(u32::MAX as f64).max(1.0) as u32 } else { burst };
        Rate { per_s, burst }
    }

    /// This replica's share when `replicas` replicas enforce the rate together: the rate and
    /// the burst divided among them (the burst rounded up, at least 1).
    pub fn share(self, replicas: u64) -> Rate {
        if self.is_unlimited() || replicas <= 1 {
            return self;
        }
        let n = replicas as f64;
        Rate { per_s: self.per_s / n, burst: ((self.burst as f64 / n).ceil() as u32).max(1) }
    }

    /// Whether this rate limits nothing.
    pub fn is_unlimited(&self) -> bool {
        self.per_s == 0.0
    }

    /// Requests a second.
    pub fn per_s(&self) -> f64 {
        self.per_s
    }

    /// Requests at once.
    pub fn burst(&self) -> u32 {
        self.burst
    }
}

/// One key's bucket.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: Rate,
    tokens: f64,
    updated: Instant,
}

impl TokenBucket {
    /// A full bucket at `now`.
    pub fn full(rate: Rate, now: Instant) -> TokenBucket {
        TokenBucket { rate, tokens: rate.burst as f64, updated: now }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate.per_s).min(self.rate.burst as f64);
        self.updated = self.updated.max(now);
    }

    /// Takes a token at `now`, or says how long until one is there.
    pub fn take(&mut self, now: Instant) -> Result<(), Duration> {
        if self.rate.is_unlimited() {
            return Ok(());
        }
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.rate.per_s))
        }
    }

    /// Whether the bucket would be full at `now` (so forgetting it changes nothing).
    fn is_full_at(&self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens + elapsed * self.rate.per_s >= self.rate.burst as f64
    }
}

/// Buckets past this many are pruned of full ones (which are the same as no bucket).
const PRUNE_ABOVE: usize = 1024;

/// The buckets of every key this process has seen.
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, TokenBucket>>,
}

impl RateLimiter {
    /// Takes a token from `key`'s bucket (created full at `rate` on first use) at `now`;
    /// refused with the whole seconds to wait (at least 1), for `Retry-After`.
    pub fn check(&self, key: &str, rate: Rate, now: Instant) -> Result<(), u64> {
        if rate.is_unlimited() {
            return Ok(());
        }
        let mut buckets = self.buckets.lock();
        if !buckets.contains_key(key) && buckets.len() >= PRUNE_ABOVE {
            buckets.retain(|_, b| !b.is_full_at(now));
        }
        let bucket = buckets.entry(key.to_string()).or_insert_with(|| TokenBucket::full(rate, now));
        if bucket.rate != rate {
            // The settings changed (a restart with another config does this; kept for safety).
            *bucket = TokenBucket::full(rate, now);
        }
        bucket.take(now).map_err(|wait| (wait.as_secs_f64().ceil() as u64).max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    #[test]
    fn rates() {
        assert!(Rate::new(0.0, 5).is_unlimited());
        assert!(Rate::new(f64::NAN, 5).is_unlimited());
        assert_eq!(Rate::new(2.5, 0).burst(), 3, "burst 0: the rate rounded up");
        assert_eq!(Rate::new(0.2, 0).burst(), 1);
        assert_eq!(Rate::new(2.0, 7).burst(), 7);
    }

    #[test]
    fn a_rate_is_shared_out_among_replicas() {
        let r = Rate::new(10.0, 5);
        assert_eq!(r.share(1), r);
        assert_eq!(r.share(0), r, "no replica count yet: the whole rate");
        assert_eq!((r.share(2).per_s(), r.share(2).burst()), (5.0, 3), "the burst rounds up");
        assert_eq!((r.share(10).per_s(), r.share(10).burst()), (1.0, 1));
        assert_eq!(r.share(100).burst(), 1, "never less than one request");
        assert!(Rate::UNLIMITED.share(4).is_unlimited());
    }

    #[test]
    fn a_bucket_allows_the_burst_then_the_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::full(Rate::new(2.0, 3), t0);
        for _ in 0..3 {
            assert!(b.take(t0).is_ok());
        }
        let wait = b.take(t0).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500), "one token every 0.5 s");
        assert!(b.take(after(t0, 499)).is_err());
        assert!(b.take(after(t0, 500)).is_ok());
        assert!(b.take(after(t0, 500)).is_err());
        // Idle for a long time: back to the burst, never more.
        let later = after(t0, 60_000);
        for _ in 0..3 {
            assert!(b.take(later).is_ok());
        }
        assert!(b.take(later).is_err());
        // A clock that seems to go backwards takes nothing and gives nothing.
        assert!(b.take(t0).is_err());
    }

    #[test]
    fn unlimited_never_refuses() {
        let t0 = Instant::now();
        let mut b = TokenBucket::full(Rate::UNLIMITED, t0);
        assert!((0..10_000).all(|_| b.take(t0).is_ok()));
    }

    #[test]
    fn the_limiter_keeps_one_bucket_per_key_and_rounds_retry_after_up() {
        let limiter = RateLimiter::default();
        let t0 = Instant::now();
        let slow = Rate::new(0.25, 1);
        assert_eq!(limiter.check("a", slow, t0), Ok(()));
        assert_eq!(limiter.check("a", slow, t0), Err(4), "a token every 4 s");
        assert_eq!(limiter.check("a", slow, after(t0, 3_500)), Err(1), "0.5 s rounds up to 1");
        assert_eq!(limiter.check("b", slow, t0), Ok(()), "another key has its own bucket");
        assert_eq!(limiter.check("a", slow, after(t0, 4_000)), Ok(()));
        let fast = Rate::new(1000.0, 1);
        assert_eq!(limiter.check("c", fast, t0), Ok(()));
        assert_eq!(limiter.check("c", fast, t0), Err(1), "never less than 1 s");
        assert_eq!(limiter.check("d", Rate::UNLIMITED, t0), Ok(()));
        assert_eq!(limiter.buckets.lock().len(), 3, "no bucket for unlimited keys");
    }

    #[test]
    fn full_buckets_are_pruned_when_there_are_many() {
        let limiter = RateLimiter::default();
        let t0 = Instant::now();
        let rate = Rate::new(1.0, 2);
        for i in 1..PRUNE_ABOVE {
            limiter.check(&format!("k{i}"), rate, t0).unwrap();
        }
        limiter.check("busy", rate, t0).unwrap();
        limiter.check("busy", rate, t0).unwrap();
        // A second later the others have refilled (they are the same as no bucket) and are
        // dropped to make room; "busy" has not and is kept.
        limiter.check("new", rate, after(t0, 1_000)).unwrap();
        let mut left: Vec<String> = limiter.buckets.lock().keys().cloned().collect();
        left.sort();
        assert_eq!(left, ["busy", "new"]);
        assert_eq!(limiter.check("busy", rate, after(t0, 1_000)), Ok(()));
        assert_eq!(limiter.check("busy", rate, after(t0, 1_000)), Err(1), "its state survived the pruning");
    }
}

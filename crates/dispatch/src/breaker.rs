//! A circuit breaker per backend: closed while it answers; open after `failures` consecutive
//! failures, refusing calls for `open_s`; then half-open: one probe goes through, and its
//! outcome closes the breaker or opens it again.

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// When a breaker opens and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BreakerConfig {
    /// Consecutive failures that open it (default 5).
    pub failures: u32,
    /// Seconds it stays open before a probe (default 5).
    pub open_s: f64,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig { failures: 5, open_s: 5.0 }
    }
}

/// The breaker's state as reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// Calls are refused until the pause ends.
    Open,
    /// One probe is in flight; other calls are refused.
    HalfOpen,
}

#[derive(Debug)]
struct Inner {
    state: BreakerState,
    consecutive_failures: u32,
    open_until: Option<Instant>,
    times_opened: u64,
}

/// One backend's breaker.
#[derive(Debug)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    inner: Mutex<Inner>,
}

/// Leave to call the backend: say how it went with [`CircuitBreaker::record`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permit {
    probe: bool,
}

impl CircuitBreaker {
    /// A closed breaker.
    pub fn new(config: BreakerConfig) -> Self {
        CircuitBreaker {
            config,
            inner: Mutex::new(Inner {
                state: BreakerState::Closed,
                consecutive_failures: 0,
                open_until: None,
                times_opened: 0,
            }),
        }
    }

    /// Leave to call now, or `None` (open, or half-open with its probe in flight).
    pub fn try_acquire(&self) -> Option<Permit> {
        self.try_acquire_at(Instant::now())
    }

    fn try_acquire_at(&self, now: Instant) -> Option<Permit> {
        let mut s = self.inner.lock();
        match s.state {
            BreakerState::Closed => Some(Permit { probe: false }),
            BreakerState::HalfOpen => None,
            BreakerState::Open => {
                if s.open_until.is_some_and(|t| now >= t) {
                    s.state = BreakerState::HalfOpen;
                    Some(Permit { probe: true })
                } else {
                    None
                }
            }
        }
    }

    /// Whether a call would be let through now (without taking a permit).
    pub fn would_allow(&self) -> bool {
        let s = self.inner.lock();
        match s.state {
            BreakerState::Closed => true,
            BreakerState::HalfOpen => false,
            BreakerState::Open => s.open_until.is_some_and(|t| Instant::now() >= t),
        }
    }

    /// Records how a permitted call went.
    pub fn record(&self, permit: Permit, success: bool) {
        self.record_at(permit, success, Instant::now())
    }

    fn record_at(&self, permit: Permit, success: bool, now: Instant) {
        let mut s = self.inner.lock();
        if success {
            s.state = BreakerState::Closed;
            s.consecutive_failures = 0;
            s.open_until = None;
            return;
        }
        s.consecutive_failures = s.consecutive_failures.saturating_add(1);
        let trips = permit.probe || (s.state == BreakerState::Closed && s.consecutive_failures >= self.config.failures);
        if trips {
            s.state = BreakerState::Open;
            s.open_until = Some(now + Duration::from_secs_f64(self.config.open_s.max(0.0)));
            s.times_opened += 1;
        }
    }

    /// Gives a permit back without a verdict (the call was refused for capacity, which says
    /// nothing about health): a probe's breaker goes back to open, ready to probe again.
    pub fn release(&self, permit: Permit) {
        if permit.probe {
            let mut s = self.inner.lock();
            if s.state == BreakerState::HalfOpen {
                s.state = BreakerState::Open;
                s.open_until = Some(Instant::now());
            }
        }
    }

    /// The state now.
    pub fn state(&self) -> BreakerState {
        self.inner.lock().state
    }

    /// How many times it has opened.
    pub fn times_opened(&self) -> u64 {
        self.inner.lock().times_opened
    }

    /// Seconds until an open breaker lets a probe through (0 otherwise).
    pub fn retry_after_s(&self) -> f64 {
        let s = self.inner.lock();
        s.open_until.map_or(0.0, |t| t.saturating_duration_since(Instant::now()).as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_consecutive_failures_and_probes_once() {
        let b = CircuitBreaker::new(BreakerConfig { failures: 3, open_s: 10.0 });
        let t0 = Instant::now();
        for _ in 0..2 {
            let p = b.try_acquire_at(t0).unwrap();
            b.record_at(p, false, t0);
        }
        let p = b.try_acquire_at(t0).unwrap();
        b.record_at(p, true, t0); // a success resets the count
        for _ in 0..3 {
            let p = b.try_acquire_at(t0).unwrap();
            b.record_at(p, false, t0);
        }
        assert_eq!(b.state(), BreakerState::Open);
        assert!(b.try_acquire_at(t0 + Duration::from_secs(9)).is_none());
        let probe = b.try_acquire_at(t0 + Duration::from_secs(10)).expect("a probe after the pause");
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert!(b.try_acquire_at(t0 + Duration::from_secs(10)).is_none(), "only one probe");
        b.record_at(probe, false, t0 + Duration::from_secs(10));
        assert_eq!(b.state(), BreakerState::Open, "a failed probe opens it again");
        let probe = b.try_acquire_at(t0 + Duration::from_secs(20)).unwrap();
        b.record_at(probe, true, t0 + Duration::from_secs(20));
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.times_opened(), 2);
    }
}

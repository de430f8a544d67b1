//! Discrete-event simulation of one function's request stream on each platform.
//!
//! - [`lambda`]: serverless instances with a keep-alive, cold starts drawn from measured init
//!   times plus the model load, a concurrency limit (throttling beyond it).
//! - [`container`]: a fixed number of always-on tasks serving a FIFO queue, billed whether
//!   busy or not.
//!
//! Both are deterministic for a given seed and take requests in arrival order.

pub mod container;
pub mod lambda;

/// One request of the stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Request {
    /// Arrival time, seconds from the start.
    pub arrival_s: f64,
    /// Execution time once running, milliseconds.
    pub exec_ms: f64,
}

/// What happened to one request on a platform.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// Arrival to completion, milliseconds (0 for a throttled request).
    pub latency_ms: f64,
    /// Time spent waiting (queue, or a cold start's init and load), milliseconds.
    pub wait_ms: f64,
    /// Whether it started a new instance.
    pub cold: bool,
    /// Whether it was refused (Lambda over its concurrency limit: HTTP 429).
    pub throttled: bool,
}

/// A whole run: per-request outcomes and the bill.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// One outcome per request, in arrival order.
    pub outcomes: Vec<Outcome>,
    /// Total cost in USD.
    pub cost_usd: f64,
}

impl Run {
    /// Share of requests that were cold starts.
    pub fn cold_fraction(&self) -> f64 {
        self.outcomes.iter().filter(|o| o.cold).count() as f64 / self.outcomes.len().max(1) as f64
    }

    /// Mean wait in milliseconds (throttled requests excluded).
    pub fn mean_wait_ms(&self) -> f64 {
        let served: Vec<&Outcome> = self.outcomes.iter().filter(|o| !o.throttled).collect();
        served.iter().map(|o| o.wait_ms).sum::<f64>() / served.len().max(1) as f64
    }
}

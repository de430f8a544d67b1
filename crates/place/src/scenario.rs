//! Scenario files: a synthetic workload for the simulator and for the live load generator,
//! like the seeds' Artillery phases, in YAML:
//!
//! ```yaml
//! name: thumbnails at lunch
//! slo_ms: 800
//! workload:
//!   type: thumbnail_processing      # lightweight_api | thumbnail_processing | medium_processing | heavy_processing
//!   payload_kb: 120
//!   memory_mb: 256
//!   exec_ms: { dist: lognormal, median: 180, sigma: 0.4 }
//! phases:
//!   - { duration_s: 600, arrival_rate: 2 }
//!   - { duration_s: 300, arrival_rate: 2, ramp_to: 20 }
//!   - { pause: 120 }
//! ```
//!
//! `exec_ms` is `constant {value}`, `exponential {mean}`, `lognormal {median, sigma}` or
//! `empirical {percentiles: [[p, ms], …]}` (e.g. an Azure trace's duration percentiles).
//! `arrivals: poisson` (the default: independent arrivals, as from many users) or `uniform`
//! (evenly spaced at the rate, a constant pacer as in wrk2 or vegeta: for soak and capacity
//! tests, where Poisson bursts would measure the arrivals' own queueing).

use crate::sim::Request;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

/// The seed's four workload types (wire names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkloadType {
    /// Small JSON in, small JSON out.
    LightweightApi,
    /// Image thumbnails.
    ThumbnailProcessing,
    /// Moderate compute.
    MediumProcessing,
    /// Long, heavy compute.
    HeavyProcessing,
}

/// A distribution of execution times in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum Distribution {
    /// Always `value`.
    Constant {
        /// The value.
        value: f64,
    },
    /// Exponential with this mean.
    Exponential {
        /// The mean.
        mean: f64,
    },
    /// Log-normal with this median and log-space standard deviation.
    Lognormal {
        /// The median.
        median: f64,
        /// σ of the logarithm.
        sigma: f64,
    },
    /// Piecewise linear between percentiles `[p (0–100), value]`, ascending.
    Empirical {
        /// The percentiles.
        percentiles: Vec<(f64, f64)>,
    },
}

impl Distribution {
    /// Checks the parameters; `Err` names the field.
    pub fn validate(&self) -> Result<(), String> {
        let ok = |v: f64| v.is_finite() && v >= 0.0;
        match self {
            Distribution::Constant { value } if !ok(*value) => {
                Err("exec_ms.value must be a non-negative number".into())
            }
            Distribution::Exponential { mean } if !ok(*mean) => {
                Err("exec_ms.mean must be a non-negative number".into())
            }
            Distribution::Lognormal { median, sigma } if !(ok(*median) && *median > 0.0 && ok(*sigma)) => {
                Err("exec_ms.median must be positive and exec_ms.sigma non-negative".into())
            }
            Distribution::Empirical { percentiles } => {
                let ascending = percentiles.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1);
                let in_range = percentiles.iter().all(|&(p, v)| (0.0..=100.0).contains(&p) && ok(v));
                if percentiles.len() >= 2 && ascending && in_range {
                    Ok(())
                } else {
                    Err("exec_ms.percentiles needs two or more [p, ms] pairs, p in 0..100, both ascending".into())
                }
            }
            _ => Ok(()),
        }
    }

    /// One draw.
    pub fn sample(&self, rng: &mut ChaCha8Rng) -> f64 {
        match self {
            Distribution::Constant { value } => *value,
            Distribution::Exponential { mean } => -unit(rng).ln() * mean,
            Distribution::Lognormal { median, sigma } => {
                // Box–Muller: a standard normal from two uniforms.
                let z = (-2.0 * unit(rng).ln()).sqrt() * (2.0 * std::f64::consts::PI * unit(rng)).cos();
                median * (sigma * z).exp()
            }
            Distribution::Empirical { percentiles } => {
                let p = rng.random_range(0.0..100.0);
                let first = percentiles[0];
                if p <= first.0 {
                    return first.1;
                }
                for w in percentiles.windows(2) {
                    let ((p0, v0), (p1, v1)) = (w[0], w[1]);
                    if p <= p1 {
                        return v0 + (v1 - v0) * (p - p0) / (p1 - p0);
                    }
                }
                percentiles[percentiles.len() - 1].1
            }
        }
    }
}

/// A uniform draw in (0, 1].
fn unit(rng: &mut ChaCha8Rng) -> f64 {
    1.0 - rng.random_range(0.0..1.0)
}

/// What each request does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// The seed's workload type.
    #[serde(rename = "type")]
    pub kind: WorkloadType,
    /// Request payload in KB.
    pub payload_kb: f64,
    /// Execution time distribution.
    pub exec_ms: Distribution,
    /// Memory size in MB.
    pub memory_mb: f64,
}

/// One phase: `duration_s` at `arrival_rate` requests/s (ramping linearly to `ramp_to`), or a
/// `pause` of that many seconds without requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    /// Length in seconds.
    pub duration_s: Option<f64>,
    /// Requests per second at the start.
    pub arrival_rate: Option<f64>,
    /// Requests per second at the end (default: `arrival_rate`).
    pub ramp_to: Option<f64>,
    /// A pause of this many seconds (no other field).
    pub pause: Option<f64>,
}

/// How arrivals are spaced within a phase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arrivals {
    /// A Poisson process at the phase's rate (exponential gaps).
    #[default]
    Poisson,
    /// Evenly spaced at the phase's rate (a constant pacer).
    Uniform,
}

/// A whole scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// A name for reports.
    #[serde(default)]
    pub name: Option<String>,
    /// How arrivals are spaced (Poisson unless given).
    #[serde(default)]
    pub arrivals: Arrivals,
    /// The phases, in order.
    pub phases: Vec<Phase>,
    /// What each request does.
    pub workload: Workload,
    /// Latency objective in milliseconds.
    pub slo_ms: f64,
}

impl Scenario {
    /// Parses and checks a scenario; the error names the field at fault.
    pub fn from_yaml(text: &str) -> Result<Scenario, String> {
        let s: Scenario = serde_yaml::from_str(text).map_err(|e| format!("scenario: {e}"))?;
        s.validate()?;
        Ok(s)
    }

    /// Checks every number; the error names the field.
    pub fn validate(&self) -> Result<(), String> {
        let ok = |v: f64| v.is_finite() && v >= 0.0;
        if !(ok(self.slo_ms) && self.slo_ms > 0.0) {
            return Err("slo_ms must be a positive number".into());
        }
        let w = &self.workload;
        if !(ok(w.payload_kb) && ok(w.memory_mb) && w.memory_mb > 0.0) {
            return Err("workload.payload_kb must be non-negative and workload.memory_mb positive".into());
        }
        w.exec_ms.validate().map_err(|e| format!("workload.{e}"))?;
        if self.phases.is_empty() {
            return Err("phases must list at least one phase".into());
        }
        for (i, p) in self.phases.iter().enumerate() {
            let valid = match (p.pause, p.duration_s, p.arrival_rate) {
                (Some(pause), None, None) => p.ramp_to.is_none() && ok(pause),
                (None, Some(d), Some(r)) => ok(d) && ok(r) && p.ramp_to.is_none_or(ok),
                _ => false,
            };
            if !valid {
                return Err(format!(
                    "phases[{i}]: give duration_s and arrival_rate (and optionally ramp_to), or only pause; \
                     all non-negative numbers"
                ));
            }
        }
        Ok(())
    }

    /// Total length in seconds.
    pub fn duration_s(&self) -> f64 {
        self.phases.iter().map(|p| p.pause.or(p.duration_s).unwrap_or(0.0)).sum()
    }

    /// The request stream: arrivals at each phase's (linearly ramping) rate, Poisson or evenly
    /// spaced ([`Arrivals`]), execution times drawn from the workload; the same seed always
    /// gives the same stream.
    pub fn requests(&self, seed: u64) -> Vec<Request> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut out = Vec::new();
        let mut start = 0.0;
        for p in &self.phases {
            let length = p.pause.or(p.duration_s).unwrap_or(0.0);
            if let (None, Some(r0)) = (p.pause, p.arrival_rate) {
                let r1 = p.ramp_to.unwrap_or(r0);
                let mut arrive = |rng: &mut ChaCha8Rng, t: f64| {
                    let exec_ms = self.workload.exec_ms.sample(rng).max(0.0);
                    out.push(Request { arrival_s: start + t, exec_ms });
                };
                match self.arrivals {
                    Arrivals::Poisson => poisson_times(&mut rng, r0, r1, length, arrive),
                    Arrivals::Uniform => uniform_times(r0, r1, length).into_iter().for_each(|t| arrive(&mut rng, t)),
                }
            }
            start += length;
        }
        out
    }
}

/// Poisson arrival times in `[0, length)` at a rate ramping linearly from `r0` to `r1`, by
/// thinning: candidates at the peak rate, each kept with probability rate(t) / peak. Each is
/// handed to `arrive` as it is drawn (which may draw from `rng` too: the stream of a seed is
/// the one it always was).
fn poisson_times(rng: &mut ChaCha8Rng, r0: f64, r1: f64, length: f64, mut arrive: impl FnMut(&mut ChaCha8Rng, f64)) {
    let peak = r0.max(r1);
    let mut t = 0.0;
    while peak > 0.0 && t < length {
        t += -unit(rng).ln() / peak;
        if t >= length {
            break;
        }
        let rate = r0 + (r1 - r0) * t / length;
        if rng.random_range(0.0..1.0) * peak < rate {
            arrive(rng, t);
        }
    }
}

/// Evenly spaced arrival times in `[0, length)` at a rate ramping linearly from `r0` to `r1`:
/// the k-th (from 0) is where the expected count, r0·t + (r1 − r0)·t² / (2·length), reaches k + ½.
fn uniform_times(r0: f64, r1: f64, length: f64) -> Vec<f64> {
    let a = if length > 0.0 { (r1 - r0) / (2.0 * length) } else { 0.0 };
    let total = r0 * length + a * length * length;
    let mut out = Vec::new();
    let mut k = 0.5;
    while k < total {
        let t = if a.abs() < 1e-12 {
            k / r0
        } else {
            // The root of a·t² + r0·t − k = 0 that lies in [0, length].
            (-r0 + (r0 * r0 + 4.0 * a * k).max(0.0).sqrt()) / (2.0 * a)
        };
        if !(t.is_finite() && t < length) {
            break;
        }
        out.push(t.max(0.0));
        k += 1.0;
    }
    out
}

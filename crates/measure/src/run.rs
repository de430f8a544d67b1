//! The benchmark loop: idle baseline, warm-up, then the measured runs.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use infergate_runtime::Backend;
use serde::Serialize;

use crate::energy::EnergyReport;
use crate::error::MeasureError;
use crate::input::Input;
use crate::model::ModelInfo;
use crate::power::PowerInput;
use crate::stats::LatencyStats;
use crate::telemetry::{self, Telemetry};

/// How a benchmark runs.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchConfig {
    /// Measured inferences (at least 1).
    pub runs: usize,
    /// Inferences before measuring, not counted.
    pub warmup: usize,
    /// Length of the idle baseline measured before the runs (0 = none: no dynamic energy).
    pub idle: Duration,
    /// Root of the file system holding `/proc` (this process's CPU time and RSS).
    pub proc_root: PathBuf,
    /// Root of the file system holding `/sys` (thermal zones).
    pub sysfs_root: PathBuf,
}

impl Default for BenchConfig {
    /// 100 runs after 1 warm-up run, a 2-second idle baseline, the real `/proc` and `/sys`.
    fn default() -> Self {
        BenchConfig {
            runs: 100,
            warmup: 1,
            idle: Duration::from_secs(2),
            proc_root: PathBuf::from("/"),
            sysfs_root: PathBuf::from("/"),
        }
    }
}

/// What one benchmark measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// Measured inferences.
    pub runs: usize,
    /// Warm-up inferences.
    pub warmup: usize,
    /// The input's shape.
    pub input_shape: Vec<usize>,
    /// Latency of each measured inference.
    pub latency_ms: LatencyStats,
    /// Wall time of the measured runs, s.
    pub wall_s: f64,
    /// Runs ÷ wall time of the measured runs.
    pub throughput_iter_per_s: f64,
    /// CPU, memory and temperature.
    #[serde(flatten)]
    pub telemetry: Telemetry,
    /// Energy per inference.
    pub energy: EnergyReport,
    /// When the measured runs started, RFC 3339 UTC.
    pub measured_at: String,
}

/// A benchmark with what it ran: the full report `infergate bench --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct BenchResult {
    /// The model.
    pub model: ModelInfo,
    /// Device name.
    pub device: String,
    /// Inference library (`ort`, `tract`).
    pub runtime: String,
    /// The measurements.
    #[serde(flatten)]
    pub report: BenchReport,
}

/// Runs `input` through `backend` `n` times and times each run; `phase` names the runs in errors.
/// An empty output counts as a failure.
pub fn time_runs(
    backend: &dyn Backend,
    input: &Input,
    n: usize,
    phase: &'static str,
) -> Result<Vec<Duration>, MeasureError> {
    let mut out = Vec::with_capacity(n);
    for index in 0..n {
        let began = Instant::now();
        let run = backend.run(&input.shape, &input.data);
        let took = began.elapsed();
        match run {
            Ok(r) if !r.output.data.is_empty() => out.push(took),
            Ok(_) => {
                let source = infergate_runtime::BackendError::Run("the model returned an empty output".into());
                return Err(MeasureError::Inference { phase, index, source });
            }
            Err(source) => return Err(MeasureError::Inference { phase, index, source }),
        }
    }
    Ok(out)
}

/// Benchmarks `backend` on `input`: the idle baseline (`config.idle`), `config.warmup` runs that
/// are not measured, then `config.runs` timed runs with power measured from right before the
/// first to right after the last, and telemetry around them.
pub fn run_bench(
    backend: &dyn Backend,
    input: &Input,
    config: &BenchConfig,
    power: &PowerInput,
) -> Result<BenchReport, MeasureError> {
    if config.runs == 0 {
        return Err(MeasureError::NoRuns);
    }
    let idle = power.idle(config.idle);
    time_runs(backend, input, config.warmup, "warm-up")?;

    let measured_at: DateTime<Utc> = Utc::now();
    let before = telemetry::before(&config.proc_root);
    let active = power.start();
    let started = Instant::now();
    let timed = time_runs(backend, input, config.runs, "measured");
    let wall = started.elapsed();
    // On failure `active` is dropped, which stops the meter.
    let latencies = timed?;
    let stopped = power.stop(active);
    let telemetry = telemetry::after(&before, &config.proc_root, &config.sysfs_root);
    // Reading a log may wait for it to catch up, so after the telemetry.
    let readings = power.gather(stopped, idle);

    let latency_ms = LatencyStats::of(&latencies).ok_or(MeasureError::NoRuns)?;
    let wall_s = wall.as_secs_f64();
    Ok(BenchReport {
        runs: config.runs,
        warmup: config.warmup,
        input_shape: input.shape.clone(),
        latency_ms,
        wall_s,
        throughput_iter_per_s: config.runs as f64 / wall_s.max(1e-9),
        telemetry,
        energy: EnergyReport::account(readings, config.runs, power.looked_for()),
        measured_at: measured_at.to_rfc3339_opts(SecondsFormat::Millis, true),
    })
}

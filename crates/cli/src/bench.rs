//! `infergate bench MODEL.onnx`: one model on this device — latency, throughput, telemetry and
//! energy per inference (the `infergate-measure` crate) — printed, and appended as a CSV row in
//! the seed's schema to `<data dir>/energy/bench.csv` (or `--csv`).

use crate::config::Config;
use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use infergate_measure::{
    append_row, check_csv, default_device_name, run_bench, summary, validate_device_name, BenchConfig, BenchResult,
    BenchRow, Input, MeasureError, ModelInfo, PowerInput,
};
use infergate_sensors::Rail;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Seed of the synthetic input (the same values on every machine).
const INPUT_SEED: u64 = 42;

/// Options of `infergate bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// The ONNX model to run.
    model: PathBuf,
    /// Measured inferences.
    #[arg(long, default_value_t = 100)]
    runs: usize,
    /// Inferences run before measuring, not counted.
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// Device name recorded in the row (letters, digits, `_`, `.`, `-`) [default: this machine's
    /// hostname, else "local"].
    #[arg(long)]
    device: Option<String>,
    /// Inference library: auto (ONNX Runtime when found, else tract), ort or tract.
    #[arg(long)]
    runtime: Option<String>,
    /// ONNX Runtime execution provider: cpu or cuda.
    #[arg(long)]
    execution_provider: Option<String>,
    /// Threads the inference session may use (ONNX Runtime intra-op threads).
    #[arg(long)]
    intra_threads: Option<usize>,
    /// CSV file the row is appended to [default: <data dir>/energy/bench.csv].
    #[arg(long)]
    csv: Option<PathBuf>,
    /// Print the full report as JSON instead of the table.
    #[arg(long)]
    json: bool,
    /// Seconds of idle power measured before the runs, for energy_dynamic (0: none).
    #[arg(long, default_value_t = 2.0)]
    idle_s: f64,
    /// Look for power sensors (RAPL, hwmon, iio files only) and thermal zones under this directory
    /// instead of / — for tests on fake trees.
    #[arg(long)]
    sysfs_root: Option<PathBuf>,
    /// Power from an external meter's CSV that covers the runs (time column in wall-clock time:
    /// Unix seconds or date-times, UTC unless zoned), instead of the sensors.
    #[arg(long, conflicts_with = "tegrastats_log")]
    meter_csv: Option<PathBuf>,
    /// Power from a tegrastats log that covers the runs (`tegrastats --logfile`, timestamped
    /// lines), instead of the sensors.
    #[arg(long)]
    tegrastats_log: Option<PathBuf>,
}

/// Runs `infergate bench`.
pub fn run(mut config: Config, args: BenchArgs) -> Result<()> {
    if args.runs == 0 {
        bail!("--runs must be at least 1");
    }
    if !(args.idle_s.is_finite() && (0.0..=3600.0).contains(&args.idle_s)) {
        bail!("--idle-s must be between 0 and 3600 seconds, not {}", args.idle_s);
    }
    let device = match &args.device {
        Some(d) => {
            validate_device_name(d)?;
            d.clone()
        }
        None => default_device_name(Path::new("/")),
    };
    let csv = args.csv.clone().unwrap_or_else(|| config.server.data_dir.join("energy").join("bench.csv"));
    check_csv(&csv)?;
    let model = ModelInfo::from_file(&args.model).map_err(|e| match e {
        // Already names the file.
        MeasureError::Io { .. } => anyhow!(e),
        other => anyhow!(other).context(format!("cannot benchmark {}", args.model.display())),
    })?;
    if let Some(why) = &model.profile_error {
        eprintln!("warning: {} could not be profiled, its profile columns stay empty: {why}", args.model.display());
    }

    if let Some(v) = &args.runtime {
        config.runtime.runtime = v.clone();
    }
    if let Some(v) = &args.execution_provider {
        config.runtime.execution_provider = v.clone();
    }
    if let Some(v) = args.intra_threads {
        config.runtime.intra_threads = v;
    }
    config.runtime.sessions = 1;
    let engine = crate::engine::build(&config.runtime)?;
    eprintln!("{}", engine.describe());
    let backend = engine.load_instance(&args.model).with_context(|| format!("cannot load {}", args.model.display()))?;
    let input = Input::synthetic(backend.io(), INPUT_SEED)?;

    let power = match (&args.meter_csv, &args.tegrastats_log) {
        (Some(path), _) => PowerInput::MeterCsv { path: path.clone(), rail: Rail::BoardInput },
        (None, Some(path)) => PowerInput::Tegrastats { path: path.clone(), interval: Duration::from_secs(1) },
        (None, None) => PowerInput::discover(args.sysfs_root.as_deref()),
    };
    let bench = BenchConfig {
        runs: args.runs,
        warmup: args.warmup,
        idle: Duration::from_secs_f64(args.idle_s),
        proc_root: PathBuf::from("/"),
        sysfs_root: args.sysfs_root.clone().unwrap_or_else(|| PathBuf::from("/")),
    };
    let report = run_bench(backend.as_ref(), &input, &bench, &power)?;
    let result = BenchResult { model, device, runtime: engine.kind().to_string(), report };
    for w in &result.report.energy.warnings {
        eprintln!("warning: {w}");
    }
    append_row(&csv, &BenchRow::from(&result))?;
    if args.json {
        #[derive(serde::Serialize)]
        struct Output<'a> {
            #[serde(flatten)]
            result: &'a BenchResult,
            csv: &'a Path,
        }
        println!("{}", serde_json::to_string_pretty(&Output { result: &result, csv: &csv })?);
    } else {
        print!("{}", summary::render(&result));
        println!("row appended to {}", csv.display());
    }
    Ok(())
}

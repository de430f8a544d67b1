//! Reading the workloads a `route` command replays: an Azure 2019 trace (three files), an
//! Azure 2021 per-invocation file, or a scenario; plus the simulator's platform settings.

use anyhow::{bail, Context, Result};
use clap::Args;
use infergate_place::evaluate::Settings;
use infergate_place::replay::{FunctionWorkload, DEFAULT_MEMORY_MB};
use infergate_place::scenario::Scenario;
use infergate_place::sim::container::Autoscaling;
use infergate_place::sim::lambda::LambdaConfig;
use infergate_place::traces::{azure2019, azure2021, coldstart, ReadReport};
use std::path::PathBuf;

/// Where the traffic comes from.
#[derive(Args, Debug, Clone)]
pub struct TraceArgs {
    /// Invocations: Azure 2019 per-minute counts (with --durations) or an Azure 2021
    /// per-invocation file (`app,func,end_timestamp,duration`).
    #[arg(long, required_unless_present = "scenario", conflicts_with = "scenario")]
    pub trace: Option<PathBuf>,
    /// Azure 2019 duration percentiles per function (makes --trace an Azure 2019 file).
    #[arg(long, requires = "trace")]
    pub durations: Option<PathBuf>,
    /// Azure 2019 memory percentiles per app (optional; 128 MB without).
    #[arg(long, requires = "durations")]
    pub memory: Option<PathBuf>,
    /// A scenario file (YAML phases + workload + slo_ms) instead of a trace.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Replay only N functions (after --skip).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Leave out the first N functions (e.g. train on `--limit 350`, evaluate on `--skip 350`).
    #[arg(long, default_value_t = 0)]
    pub skip: usize,
    /// Memory of functions whose trace has none (Azure 2021), MB.
    #[arg(long, default_value_t = DEFAULT_MEMORY_MB)]
    pub default_memory_mb: f64,
}

/// The simulated platforms.
#[derive(Args, Debug, Clone)]
pub struct PlatformArgs {
    /// Measured Lambda cold starts (lambda-perf JSON, e.g. ../shared/data/traces/lambda_perf_coldstart.json);
    /// without it every cold start takes --init-ms.
    #[arg(long)]
    pub coldstarts: Option<PathBuf>,
    /// Runtime whose measured cold starts to draw from (with --coldstarts).
    #[arg(long, default_value = "python3.12")]
    pub runtime: String,
    /// Init time of every cold start without --coldstarts, ms.
    #[arg(long, default_value_t = 250.0)]
    pub init_ms: f64,
    /// Model and dependency load added to every cold start, ms.
    #[arg(long, default_value_t = 0.0)]
    pub load_ms: f64,
    /// Lambda keep-alive, seconds.
    #[arg(long, default_value_t = 600.0)]
    pub keep_alive_s: f64,
    /// Lambda concurrency limit (requests beyond it are throttled: 429).
    #[arg(long, default_value_t = 1000)]
    pub concurrency_limit: usize,
    /// Lambda architecture: x86 or arm (pricing).
    #[arg(long, default_value = "x86")]
    pub arch: String,
    /// vCPUs per container task (Fargate pricing).
    #[arg(long, default_value_t = 0.25)]
    pub task_vcpu: f64,
    /// Memory per container task, GB (Fargate pricing).
    #[arg(long, default_value_t = 0.5)]
    pub task_memory_gb: f64,
    /// Decision window, seconds.
    #[arg(long, default_value_t = 3600.0)]
    pub window_s: f64,
    /// Leading windows that are only history, scored for no strategy (default: none).
    #[arg(long, default_value_t = 0)]
    pub history_windows: usize,
    /// One latency objective for every function instead of 2 × its median duration + 200 ms.
    #[arg(long)]
    pub slo_ms: Option<f64>,
    /// ecs_only with target-tracking autoscaling (70 % target, 75 s task start-up, decisions
    /// every minute, 5-minute scale-in cooldown) instead of a fleet fixed for the day.
    #[arg(long)]
    pub ecs_autoscaling: bool,
    /// Seed of every random draw (same seed, same results).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Reads the workloads and says what was skipped (on stderr: stdout may be JSON).
pub fn workloads(args: &TraceArgs, seed: u64) -> Result<Vec<FunctionWorkload>> {
    let mut out = if let Some(path) = &args.scenario {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let scenario = Scenario::from_yaml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        vec![FunctionWorkload::from_scenario(&scenario, seed)]
    } else {
        let trace = args.trace.as_ref().context("give --trace or --scenario")?;
        if let Some(durations) = &args.durations {
            let (functions, report) = azure2019::load(trace, durations, args.memory.as_deref())?;
            skipped(&report);
            // Each function's draws depend on its place in the file, not on --skip/--limit.
            functions
                .iter()
                .enumerate()
                .skip(args.skip)
                .take(args.limit.unwrap_or(usize::MAX))
                .map(|(k, f)| FunctionWorkload::from_azure2019(f, seed ^ k as u64))
                .collect()
        } else {
            let (invocations, report) = azure2021::read_invocations(trace).map_err(|e| {
                anyhow::anyhow!("{e}\n(an Azure 2019 per-minute file needs --durations, and optionally --memory)")
            })?;
            skipped(&report);
            let mut all = FunctionWorkload::from_azure2021(&invocations, args.default_memory_mb);
            all.drain(..args.skip.min(all.len()));
            all
        }
    };
    out.truncate(args.limit.unwrap_or(usize::MAX));
    if out.iter().all(|f| f.requests.is_empty()) {
        bail!("the input has no requests to replay");
    }
    Ok(out)
}

fn skipped(report: &ReadReport) {
    if report.skipped_total() > 0 {
        eprintln!("note: {report}");
    }
}

/// The evaluation settings from the flags.
pub fn settings(args: &PlatformArgs) -> Result<Settings> {
    use infergate_core::pricing::{fargate_usd_per_hour, LAMBDA_ARM_USD_PER_GB_S, LAMBDA_X86_USD_PER_GB_S};
    let lambda_usd_per_gb_s = match args.arch.as_str() {
        "x86" | "x86_64" => LAMBDA_X86_USD_PER_GB_S,
        "arm" | "arm64" => LAMBDA_ARM_USD_PER_GB_S,
        other => bail!("--arch {other:?}: use x86 or arm"),
    };
    for (name, v) in [
        ("--init-ms", args.init_ms),
        ("--load-ms", args.load_ms),
        ("--keep-alive-s", args.keep_alive_s),
        ("--task-vcpu", args.task_vcpu),
        ("--task-memory-gb", args.task_memory_gb),
    ] {
        if !(v.is_finite() && v >= 0.0) {
            bail!("{name} must be a non-negative number");
        }
    }
    if !(args.window_s.is_finite() && args.window_s >= 1.0) {
        bail!("--window-s must be at least 1 second");
    }
    if args.slo_ms.is_some_and(|s| !(s.is_finite() && s > 0.0)) {
        bail!("--slo-ms must be a positive number");
    }
    let init_ms = match &args.coldstarts {
        None => vec![args.init_ms],
        Some(path) => {
            let (profiles, _) = coldstart::read(path)?;
            let samples: Vec<f64> =
                profiles.iter().filter(|p| p.runtime == args.runtime).flat_map(|p| p.init_ms.iter().copied()).collect();
            if samples.is_empty() {
                let mut runtimes: Vec<&str> = profiles.iter().map(|p| p.runtime.as_str()).collect();
                runtimes.sort_unstable();
                runtimes.dedup();
                bail!(
                    "{} has no cold starts for --runtime {:?}; it has: {}",
                    path.display(),
                    args.runtime,
                    runtimes.join(", ")
                );
            }
            samples
        }
    };
    Ok(Settings {
        window_s: args.window_s,
        history_windows: args.history_windows,
        lambda: LambdaConfig {
            keep_alive_s: args.keep_alive_s,
            concurrency_limit: args.concurrency_limit.max(1),
            init_ms,
            load_ms: args.load_ms,
            ..LambdaConfig::default()
        },
        lambda_usd_per_gb_s,
        task_usd_per_hour: fargate_usd_per_hour(args.task_vcpu, args.task_memory_gb),
        start_hour: 0.0,
        slo_ms: args.slo_ms,
        ecs_autoscaling: args.ecs_autoscaling.then(Autoscaling::default),
        seed: args.seed,
    })
}

//! `infergate bench-http`: a small load generator for side-by-side measurements.
//!
//! Two modes share the same images, request numbering and report:
//!
//! - `--url URL`: POST raw image bodies to an HTTP endpoint (an Infergate server's
//!   `/v1/classify`, or a peer server) over `--concurrency` keep-alive connections
//!   ([`http`]).
//! - `--floor --model FILE.onnx`: the in-process floor, i.e. what a request costs without
//!   HTTP: decode + preprocess + inference on `--concurrency` OS threads, through the same
//!   runtime code the server runs (`decode_image`, `preprocess`, `Backend::run`; [`floor`]).
//!
//! Request `i` sends image `i mod n` (images sorted by path). With `--unique` (the default)
//! a short ASCII tag holding `i` is appended after the image data, i.e. after the JPEG
//! end-of-image marker, where decoders do not look; every body is then distinct, so a
//! server that caches answers by content hash has to run every request, and two targets
//! measured with the same options receive byte-identical bodies ([`samples`]). Both modes
//! end in the same [`report`].

mod floor;
mod http;
mod report;
pub(crate) mod samples;

use crate::config::Config;
use crate::runtime_args::RuntimeOverrides;
use anyhow::{anyhow, bail, Result};
use clap::{ArgAction, Args};
use floor::FloorSetup;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Options of `infergate bench-http`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Endpoint receiving the raw image bodies, e.g. http://127.0.0.1:8080/v1/classify.
    #[arg(long, conflicts_with = "floor", required_unless_present = "floor")]
    url: Option<String>,
    /// Measure the in-process floor instead (decode + preprocess + inference, no HTTP).
    #[arg(long, requires = "model")]
    floor: bool,
    /// The ONNX model the floor runs.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Side of the model's square input (the floor preprocesses like `models add`).
    #[arg(long, default_value_t = 224)]
    input_size: u32,
    /// Requests in flight at once: connections, or OS threads with --floor.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// Measure for this many seconds (default 10 unless --requests is given).
    #[arg(long, conflicts_with = "requests")]
    duration_s: Option<f64>,
    /// Measure exactly this many requests.
    #[arg(long)]
    requests: Option<u64>,
    /// Requests sent (with the same concurrency) before measuring; not counted.
    #[arg(long, default_value_t = 16)]
    warmup: u64,
    /// Image files or directories (searched recursively for .jpg, .jpeg, .png and .webp), or
    /// .json files sent as `application/json` as they are (e.g. `/predict` requests).
    #[arg(long, num_args = 1.., required = true)]
    images: Vec<PathBuf>,
    /// Append a per-request tag after the image data so that no two bodies are equal
    /// (`--unique false` sends the files as they are).
    #[arg(long, default_value_t = true, action = ArgAction::Set)]
    unique: bool,
    /// Seconds before one HTTP request counts as failed.
    #[arg(long, default_value_t = 60.0)]
    timeout_s: f64,
    /// Name of this measurement in the report.
    #[arg(long)]
    label: Option<String>,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json_out: Option<PathBuf>,
    /// How the floor runs the model, as for `serve` (the HTTP mode ignores these).
    #[command(flatten, next_help_heading = "Floor runtime (only with --floor, as for `serve`)")]
    runtime: RuntimeOverrides,
}

/// Runs the benchmark and prints (and optionally writes) its report.
pub async fn run(mut config: Config, args: BenchArgs) -> Result<()> {
    if args.concurrency == 0 {
        bail!("--concurrency must be at least 1");
    }
    args.runtime.apply(&mut config.runtime);
    config.validate()?;
    let samples = Arc::new(samples::load_samples(&args.images)?);
    let measure = Measure::from_args(&args)?;
    if !args.unique {
        if let Measure::Requests(n) = measure {
            if args.warmup + n > samples.len() as u64 {
                eprintln!(
                    "warning: {} requests but only {} distinct images and --unique false: \
                     a caching server answers the repeats from its cache",
                    args.warmup + n,
                    samples.len()
                );
            }
        }
    }
    let opts = RunOpts::from(&args, measure);
    let outcome = if args.floor {
        let model = args.model.as_deref().ok_or_else(|| anyhow!("--floor needs --model FILE.onnx"))?;
        let setup = FloorSetup::new(&config, model, args.input_size)?;
        floor::run(setup, samples.clone(), opts).await?
    } else {
        let url = args.url.as_deref().expect("clap requires --url without --floor");
        http::run(url, samples.clone(), opts).await?
    };
    outcome.print();
    if !args.unique && outcome.max_index >= samples.len() as u64 {
        eprintln!(
            "warning: images were sent more than once (--unique false): a caching server \
             answered some of them from its cache"
        );
    }
    if let Some(path) = &args.json_out {
        outcome.write_json(path)?;
    }
    Ok(())
}

/// How long the measured phase lasts.
#[derive(Clone, Copy)]
enum Measure {
    Requests(u64),
    Seconds(f64),
}

impl Measure {
    /// `--requests`, else `--duration-s`, else 10 seconds.
    fn from_args(args: &BenchArgs) -> Result<Self> {
        Ok(match (args.requests, args.duration_s) {
            (Some(0), _) => bail!("--requests must be at least 1"),
            (Some(n), _) => Measure::Requests(n),
            (None, Some(s)) if s > 0.0 && s.is_finite() => Measure::Seconds(s),
            (None, Some(_)) => bail!("--duration-s must be positive"),
            (None, None) => Measure::Seconds(10.0),
        })
    }
}

/// The options both modes use.
#[derive(Clone)]
struct RunOpts {
    label: Option<String>,
    concurrency: usize,
    warmup: u64,
    measure: Measure,
    unique: bool,
    timeout: Duration,
}

impl RunOpts {
    fn from(args: &BenchArgs, measure: Measure) -> Self {
        RunOpts {
            label: args.label.clone(),
            concurrency: args.concurrency,
            warmup: args.warmup,
            measure,
            unique: args.unique,
            timeout: Duration::from_secs_f64(args.timeout_s.max(0.001)),
        }
    }

    /// The measured phase, started at `started`.
    fn plan(&self, started: Instant) -> Plan {
        match self.measure {
            Measure::Requests(n) => Plan { first: self.warmup, limit: Some(n), deadline: None },
            Measure::Seconds(s) => {
                Plan { first: self.warmup, limit: None, deadline: Some(started + Duration::from_secs_f64(s)) }
            }
        }
    }
}

/// When a phase stops: after `limit` requests (counted over all workers) or at `deadline`.
#[derive(Clone, Copy)]
struct Plan {
    first: u64,
    limit: Option<u64>,
    deadline: Option<Instant>,
}

impl Plan {
    /// Claims the next request index, or `None` when the phase is over.
    fn claim(&self, next: &AtomicU64) -> Option<u64> {
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return None;
        }
        let i = next.fetch_add(1, Ordering::Relaxed);
        match self.limit {
            Some(n) if i >= self.first + n => None,
            _ => Some(i),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_plan_stops_after_its_count() {
        let next = AtomicU64::new(5);
        let plan = Plan { first: 5, limit: Some(2), deadline: None };
        assert_eq!(plan.claim(&next), Some(5));
        assert_eq!(plan.claim(&next), Some(6));
        assert_eq!(plan.claim(&next), None);
    }
}

//! `infergate bench-http`: a small load generator for side-by-side measurements.
//!
//! Two modes share the same images, request numbering and report:
//!
//! - `--url URL`: POST raw image bodies to an HTTP endpoint (an Infergate server's
//!   `/v1/classify`, or a peer server) over `--concurrency` keep-alive connections.
//! - `--floor --model FILE.onnx`: the in-process floor, i.e. what a request costs without
//!   HTTP: decode + preprocess + inference on `--concurrency` OS threads, through the same
//!   runtime code the server runs (`decode_image`, `preprocess`, `Backend::run`).
//!
//! Request `i` sends image `i mod n` (images sorted by path). With `--unique` (the default)
//! a short ASCII tag holding `i` is appended after the image data, i.e. after the JPEG
//! end-of-image marker, where decoders do not look; every body is then distinct, so a
//! server that caches answers by content hash has to run every request, and two targets
//! measured with the same options receive byte-identical bodies.

use crate::config::Config;
use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use clap::{ArgAction, Args};
use infergate_core::PreprocessSpec;
use infergate_runtime::{decode_image, preprocess, Backend, DecodeLimits};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
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
    /// Image files or directories (searched recursively for .jpg, .jpeg, .png and .webp).
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
    /// Floor only: inference library (auto, ort or tract), as for `serve`.
    #[arg(long)]
    runtime: Option<String>,
    /// Floor only: ONNX Runtime execution provider (cpu or cuda), as for `serve`.
    #[arg(long)]
    execution_provider: Option<String>,
    /// Floor only: threads per inference session, as for `serve`.
    #[arg(long)]
    intra_threads: Option<usize>,
    /// Floor only: inference sessions (how many run at once), as for `serve`.
    #[arg(long)]
    sessions: Option<usize>,
}

/// One image file, loaded once.
struct Sample {
    bytes: Bytes,
    mime: &'static str,
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

/// What one worker saw.
#[derive(Default)]
struct Tally {
    latencies_ms: Vec<f64>,
    status: BTreeMap<String, u64>,
    errors: u64,
    error_samples: Vec<String>,
    cached_true: u64,
    cached_false: u64,
    max_index: u64,
    stages: StageSums,
    /// Sums of the times the server reports in its answers (Infergate's `timings_ms`, the
    /// peer's `total_ms`), and how many answers reported them.
    reported: BTreeMap<String, f64>,
    reported_count: u64,
}

/// Floor only: time spent in each stage, summed.
#[derive(Default, Clone, Copy)]
struct StageSums {
    decode: f64,
    preprocess: f64,
    queue: f64,
    inference: f64,
}

impl Tally {
    fn error(&mut self, key: &str, message: String) {
        self.errors += 1;
        *self.status.entry(key.to_string()).or_default() += 1;
        if self.error_samples.len() < 3 && !self.error_samples.contains(&message) {
            self.error_samples.push(message);
        }
    }

    fn merge(&mut self, other: Tally) {
        self.latencies_ms.extend(other.latencies_ms);
        for (k, v) in other.status {
            *self.status.entry(k).or_default() += v;
        }
        self.errors += other.errors;
        for m in other.error_samples {
            if self.error_samples.len() < 3 && !self.error_samples.contains(&m) {
                self.error_samples.push(m);
            }
        }
        self.cached_true += other.cached_true;
        self.cached_false += other.cached_false;
        self.max_index = self.max_index.max(other.max_index);
        self.stages.decode += other.stages.decode;
        self.stages.preprocess += other.stages.preprocess;
        self.stages.queue += other.stages.queue;
        self.stages.inference += other.stages.inference;
        for (k, v) in other.reported {
            *self.reported.entry(k).or_default() += v;
        }
        self.reported_count += other.reported_count;
    }

    /// Notes what an answer says about itself: `cached` and the server-side timings.
    fn note_answer(&mut self, answer: &serde_json::Value) {
        match answer.get("cached").and_then(serde_json::Value::as_bool) {
            Some(true) => self.cached_true += 1,
            Some(false) => self.cached_false += 1,
            None => {}
        }
        let mut reported = Vec::new();
        if let Some(t) = answer.get("timings_ms").and_then(serde_json::Value::as_object) {
            reported.extend(t.iter().filter_map(|(k, v)| Some((k.clone(), v.as_f64()?))));
        } else if let Some(total) = answer.get("total_ms").and_then(serde_json::Value::as_f64) {
            reported.push(("total".to_string(), total));
        }
        if !reported.is_empty() {
            self.reported_count += 1;
            for (k, v) in reported {
                *self.reported.entry(k).or_default() += v;
            }
        }
    }
}

/// Latency statistics in milliseconds.
#[derive(Debug, Serialize, PartialEq)]
struct Latency {
    p50: f64,
    p90: f64,
    p99: f64,
    mean: f64,
    min: f64,
    max: f64,
}

/// Floor only: mean milliseconds per stage.
#[derive(Debug, Serialize)]
struct StageMeans {
    decode: f64,
    preprocess: f64,
    queue: f64,
    inference: f64,
}

/// The report, printed and optionally written as JSON.
#[derive(Debug, Serialize)]
struct Report {
    label: String,
    mode: &'static str,
    target: String,
    concurrency: usize,
    images: usize,
    unique_bodies: bool,
    warmup: u64,
    requests: u64,
    ok: u64,
    errors: u64,
    elapsed_s: f64,
    requests_per_s: f64,
    latency_ms: Option<Latency>,
    status: BTreeMap<String, u64>,
    error_samples: Vec<String>,
    /// Answers carrying `"cached": true` / `"cached": false` (Infergate's field; a peer
    /// without it counts in neither).
    cached_true: u64,
    cached_false: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    runtime: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stage_means_ms: Option<StageMeans>,
    /// HTTP only: means of the times the server reported in its answers (server side,
    /// so the difference to `latency_ms.mean` is what happens outside them).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    server_reported_mean_ms: BTreeMap<String, f64>,
}

/// Nearest-rank percentile (`p` in 0..=100) of an ascending slice; `None` when empty.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p.clamp(0.0, 100.0) / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn summarize(mut v: Vec<f64>) -> Option<Latency> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let pct = |p| percentile(&v, p).unwrap_or(f64::NAN);
    Some(Latency {
        p50: pct(50.0),
        p90: pct(90.0),
        p99: pct(99.0),
        mean: v.iter().sum::<f64>() / v.len() as f64,
        min: v[0],
        max: v[v.len() - 1],
    })
}

/// The body of request `index`: image `index mod n`, plus the unique tag if asked.
///
/// The tag is plain ASCII (never `0xFF`), so it cannot look like a JPEG marker.
fn body_for(samples: &[Sample], index: u64, unique: bool, warmup: bool) -> (Bytes, &'static str) {
    let s = &samples[(index % samples.len() as u64) as usize];
    if !unique {
        return (s.bytes.clone(), s.mime);
    }
    let tag = format!("\n#infergate-bench {} {index:012}\n", if warmup { "warmup" } else { "request" });
    let mut body = Vec::with_capacity(s.bytes.len() + tag.len());
    body.extend_from_slice(&s.bytes);
    body.extend_from_slice(tag.as_bytes());
    (Bytes::from(body), s.mime)
}

fn mime_of(path: &Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "jpg" | "jpeg" => Some("image/jpeg"),
        "png" => Some("image/png"),
        "webp" => Some("image/webp"),
        _ => None,
    }
}

fn collect_files(path: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let meta = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if meta.is_dir() {
        for entry in std::fs::read_dir(path).with_context(|| format!("cannot list {}", path.display()))? {
            collect_files(&entry?.path(), out)?;
        }
    } else if mime_of(path).is_some() {
        out.push(path.to_path_buf());
    }
    Ok(())
}

fn load_samples(paths: &[PathBuf]) -> Result<Vec<Sample>> {
    let mut files = Vec::new();
    for p in paths {
        collect_files(p, &mut files)?;
    }
    files.sort();
    files.dedup();
    if files.is_empty() {
        bail!("no .jpg, .jpeg, .png or .webp files under the given --images");
    }
    files
        .iter()
        .map(|f| {
            let bytes = std::fs::read(f).with_context(|| format!("cannot read {}", f.display()))?;
            Ok(Sample { bytes: Bytes::from(bytes), mime: mime_of(f).unwrap_or("application/octet-stream") })
        })
        .collect()
}

/// Runs the benchmark and prints (and optionally writes) its report.
pub async fn run(mut config: Config, args: BenchArgs) -> Result<()> {
    if args.concurrency == 0 {
        bail!("--concurrency must be at least 1");
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
    if let Some(v) = args.sessions {
        config.runtime.sessions = v;
    }
    config.validate()?;
    let samples = Arc::new(load_samples(&args.images)?);
    let measure = match (args.requests, args.duration_s) {
        (Some(0), _) => bail!("--requests must be at least 1"),
        (Some(n), _) => Measure::Requests(n),
        (None, Some(s)) if s > 0.0 && s.is_finite() => Measure::Seconds(s),
        (None, Some(_)) => bail!("--duration-s must be positive"),
        (None, None) => Measure::Seconds(10.0),
    };
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
    let outcome = if args.floor {
        let model = args.model.clone().ok_or_else(|| anyhow!("--floor needs --model FILE.onnx"))?;
        let engine = crate::engine::build(&config.runtime)?;
        eprintln!("{}", engine.describe());
        let backend = engine.load(&model).with_context(|| format!("cannot load {}", model.display()))?;
        let limits = DecodeLimits { max_pixels: config.limits.max_pixels };
        let spec = PreprocessSpec::with_input_size(args.input_size);
        let setup = FloorSetup {
            backend,
            spec,
            limits,
            runtime: format!(
                "{} ({} session(s) x {} intra-op thread(s))",
                engine.kind(),
                config.runtime.sessions,
                config.runtime.intra_threads
            ),
            target: model.display().to_string(),
        };
        let samples = samples.clone();
        let opts = RunOpts::from(&args, measure);
        tokio::task::spawn_blocking(move || floor(setup, &samples, &opts))
            .await
            .map_err(|e| anyhow!("floor benchmark thread failed: {e}"))??
    } else {
        let url = args.url.clone().expect("clap requires --url without --floor");
        http(&url, samples.clone(), RunOpts::from(&args, measure)).await?
    };
    print_report(&outcome);
    if !args.unique && outcome.max_index >= samples.len() as u64 {
        eprintln!(
            "warning: images were sent more than once (--unique false): a caching server \
             answered some of them from its cache"
        );
    }
    if let Some(path) = &args.json_out {
        let text = serde_json::to_string_pretty(&outcome.report)?;
        std::fs::write(path, text + "\n").with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Measure {
    Requests(u64),
    Seconds(f64),
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

    fn plan(&self, started: Instant) -> Plan {
        match self.measure {
            Measure::Requests(n) => Plan { first: self.warmup, limit: Some(n), deadline: None },
            Measure::Seconds(s) => {
                Plan { first: self.warmup, limit: None, deadline: Some(started + Duration::from_secs_f64(s)) }
            }
        }
    }
}

/// A report plus what the caller checks afterwards.
struct Outcome {
    report: Report,
    max_index: u64,
}

fn finish(
    opts: &RunOpts,
    mode: &'static str,
    target: String,
    images: usize,
    total: Tally,
    elapsed: Duration,
    runtime: Option<String>,
) -> Outcome {
    let ok = total.latencies_ms.len() as u64;
    let requests = ok + total.errors;
    let elapsed_s = elapsed.as_secs_f64();
    let stage_means_ms = (mode == "floor" && ok > 0).then(|| StageMeans {
        decode: total.stages.decode / ok as f64,
        preprocess: total.stages.preprocess / ok as f64,
        queue: total.stages.queue / ok as f64,
        inference: total.stages.inference / ok as f64,
    });
    let server_reported_mean_ms =
        total.reported.iter().map(|(k, v)| (k.clone(), v / total.reported_count.max(1) as f64)).collect();
    let report = Report {
        label: opts.label.clone().unwrap_or_else(|| format!("{mode} c={}", opts.concurrency)),
        mode,
        target,
        concurrency: opts.concurrency,
        images,
        unique_bodies: opts.unique,
        warmup: opts.warmup,
        requests,
        ok,
        errors: total.errors,
        elapsed_s,
        requests_per_s: if elapsed_s > 0.0 { ok as f64 / elapsed_s } else { 0.0 },
        latency_ms: summarize(total.latencies_ms),
        status: total.status,
        error_samples: total.error_samples,
        cached_true: total.cached_true,
        cached_false: total.cached_false,
        runtime,
        stage_means_ms,
        server_reported_mean_ms,
    };
    Outcome { report, max_index: total.max_index }
}

fn print_report(outcome: &Outcome) {
    let r = &outcome.report;
    let lat = r
        .latency_ms
        .as_ref()
        .map(|l| {
            format!(
                "p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  mean {:.2} ms  max {:.2} ms",
                l.p50, l.p90, l.p99, l.mean, l.max
            )
        })
        .unwrap_or_else(|| "no successful request".into());
    println!(
        "{}: {} requests in {:.2} s = {:.1} req/s  {}  errors {}  status {:?}  cached true/false {}/{}",
        r.label, r.requests, r.elapsed_s, r.requests_per_s, lat, r.errors, r.status, r.cached_true, r.cached_false
    );
    if let Some(s) = &r.stage_means_ms {
        println!(
            "  stage means: decode {:.2} ms, preprocess {:.2} ms, queue {:.2} ms, inference {:.2} ms",
            s.decode, s.preprocess, s.queue, s.inference
        );
    }
    if !r.server_reported_mean_ms.is_empty() {
        let parts: Vec<String> = r.server_reported_mean_ms.iter().map(|(k, v)| format!("{k} {v:.2} ms")).collect();
        println!("  server-reported means: {}", parts.join(", "));
    }
    for e in &r.error_samples {
        println!("  error: {e}");
    }
}

// ---------------------------------------------------------------------------------------
// HTTP mode

async fn http(url: &str, samples: Arc<Vec<Sample>>, opts: RunOpts) -> Result<Outcome> {
    // One client per worker, each keeping its single connection alive between requests.
    let clients: Vec<reqwest::Client> = (0..opts.concurrency)
        .map(|_| reqwest::Client::builder().pool_max_idle_per_host(1).tcp_nodelay(true).timeout(opts.timeout).build())
        .collect::<Result<_, _>>()?;
    let next = Arc::new(AtomicU64::new(0));
    if opts.warmup > 0 {
        let plan = Plan { first: 0, limit: Some(opts.warmup), deadline: None };
        let warm = http_phase(url, &clients, &samples, &next, plan, &opts, true).await;
        if warm.latencies_ms.is_empty() {
            bail!("every warm-up request to {url} failed: {}", warm.error_samples.join("; "));
        }
    }
    next.store(opts.warmup, Ordering::SeqCst);
    let started = Instant::now();
    let total = http_phase(url, &clients, &samples, &next, opts.plan(started), &opts, false).await;
    let elapsed = started.elapsed();
    Ok(finish(&opts, "http", url.to_string(), samples.len(), total, elapsed, None))
}

async fn http_phase(
    url: &str,
    clients: &[reqwest::Client],
    samples: &Arc<Vec<Sample>>,
    next: &Arc<AtomicU64>,
    plan: Plan,
    opts: &RunOpts,
    warmup: bool,
) -> Tally {
    let tasks: Vec<_> = clients
        .iter()
        .map(|client| {
            let (client, samples, next) = (client.clone(), samples.clone(), next.clone());
            let (url, unique) = (url.to_string(), opts.unique);
            tokio::spawn(async move {
                let mut tally = Tally::default();
                while let Some(i) = plan.claim(&next) {
                    tally.max_index = tally.max_index.max(i);
                    let (body, mime) = body_for(&samples, i, unique, warmup);
                    http_one(&client, &url, body, mime, &mut tally).await;
                }
                tally
            })
        })
        .collect();
    let mut total = Tally::default();
    for t in futures::future::join_all(tasks).await {
        match t {
            Ok(tally) => total.merge(tally),
            Err(e) => total.error("task", format!("worker failed: {e}")),
        }
    }
    total
}

async fn http_one(client: &reqwest::Client, url: &str, body: Bytes, mime: &str, tally: &mut Tally) {
    let began = Instant::now();
    let sent = client.post(url).header(reqwest::header::CONTENT_TYPE, mime).body(body).send().await;
    let response = match sent {
        Ok(r) => r,
        Err(e) => return tally.error("transport", format!("{e:#}")),
    };
    let status = response.status();
    let text = match response.bytes().await {
        Ok(b) => b,
        Err(e) => return tally.error("transport", format!("reading the answer: {e:#}")),
    };
    let ms = began.elapsed().as_secs_f64() * 1e3;
    if !status.is_success() {
        let snippet: String = String::from_utf8_lossy(&text).chars().take(200).collect();
        return tally.error(status.as_str(), format!("HTTP {status}: {snippet}"));
    }
    *tally.status.entry(status.as_str().to_string()).or_default() += 1;
    tally.latencies_ms.push(ms);
    if let Ok(answer) = serde_json::from_slice::<serde_json::Value>(&text) {
        tally.note_answer(&answer);
    }
}

// ---------------------------------------------------------------------------------------
// Floor mode

struct FloorSetup {
    backend: Arc<dyn Backend>,
    spec: PreprocessSpec,
    limits: DecodeLimits,
    runtime: String,
    target: String,
}

fn floor(setup: FloorSetup, samples: &[Sample], opts: &RunOpts) -> Result<Outcome> {
    let next = AtomicU64::new(0);
    if opts.warmup > 0 {
        let plan = Plan { first: 0, limit: Some(opts.warmup), deadline: None };
        let warm = floor_phase(&setup, samples, &next, plan, opts, true);
        if warm.latencies_ms.is_empty() {
            bail!("every warm-up inference failed: {}", warm.error_samples.join("; "));
        }
    }
    next.store(opts.warmup, Ordering::SeqCst);
    let started = Instant::now();
    let total = floor_phase(&setup, samples, &next, opts.plan(started), opts, false);
    let elapsed = started.elapsed();
    Ok(finish(opts, "floor", setup.target.clone(), samples.len(), total, elapsed, Some(setup.runtime.clone())))
}

fn floor_phase(
    setup: &FloorSetup,
    samples: &[Sample],
    next: &AtomicU64,
    plan: Plan,
    opts: &RunOpts,
    warmup: bool,
) -> Tally {
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..opts.concurrency)
            .map(|_| {
                scope.spawn(|| {
                    let mut tally = Tally::default();
                    while let Some(i) = plan.claim(next) {
                        tally.max_index = tally.max_index.max(i);
                        let (body, _) = body_for(samples, i, opts.unique, warmup);
                        floor_one(setup, &body, &mut tally);
                    }
                    tally
                })
            })
            .collect();
        let mut total = Tally::default();
        for w in workers {
            match w.join() {
                Ok(t) => total.merge(t),
                Err(_) => total.error("panic", "a worker thread panicked".into()),
            }
        }
        total
    })
}

/// Exactly the server's per-request work between receiving the bytes and having logits.
fn floor_one(setup: &FloorSetup, body: &[u8], tally: &mut Tally) {
    let began = Instant::now();
    let (rgb, _) = match decode_image(body, setup.limits) {
        Ok(x) => x,
        Err(e) => return tally.error("decode", e.to_string()),
    };
    let decoded = Instant::now();
    let tensor = preprocess(&rgb, &setup.spec);
    drop(rgb);
    let prepared = Instant::now();
    let run = match setup.backend.run(&setup.spec.tensor_shape(1), &tensor) {
        Ok(r) => r,
        Err(e) => return tally.error("inference", e.to_string()),
    };
    let ms = began.elapsed().as_secs_f64() * 1e3;
    if run.output.data.is_empty() {
        return tally.error("inference", "the model returned an empty output".into());
    }
    *tally.status.entry("ok".into()).or_default() += 1;
    tally.latencies_ms.push(ms);
    tally.stages.decode += (decoded - began).as_secs_f64() * 1e3;
    tally.stages.preprocess += (prepared - decoded).as_secs_f64() * 1e3;
    tally.stages.queue += run.queued.as_secs_f64() * 1e3;
    tally.stages.inference += run.compute.as_secs_f64() * 1e3;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_is_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(50.0));
        assert_eq!(percentile(&v, 90.0), Some(90.0));
        assert_eq!(percentile(&v, 99.0), Some(99.0));
        assert_eq!(percentile(&v, 100.0), Some(100.0));
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&v, 99.5), Some(100.0));
        assert_eq!(percentile(&[7.0], 99.0), Some(7.0));
        assert_eq!(percentile(&[1.0, 2.0, 3.0], 50.0), Some(2.0));
        assert_eq!(percentile(&[1.0, 2.0], 50.0), Some(1.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn summary_sorts_first() {
        let s = summarize(vec![3.0, 1.0, 2.0, 4.0]).unwrap();
        assert_eq!((s.min, s.p50, s.max, s.mean), (1.0, 2.0, 4.0, 2.5));
        assert!(summarize(Vec::new()).is_none());
    }

    #[test]
    fn unique_bodies_differ_and_keep_the_image() {
        let jpeg: &[u8] = &[0xFF, 0xD8, 0xFF, 0xDA, 1, 2, 0xFF, 0xD9];
        let samples = vec![Sample { bytes: Bytes::from_static(jpeg), mime: "image/jpeg" }];
        let (a, _) = body_for(&samples, 3, true, false);
        let (b, _) = body_for(&samples, 4, true, false);
        let (w, _) = body_for(&samples, 3, true, true);
        assert!(a.starts_with(jpeg) && b.starts_with(jpeg));
        assert_ne!(a, b);
        assert_ne!(a, w, "warm-up bodies never repeat measured ones");
        assert!(!a[jpeg.len()..].contains(&0xFF), "the tag holds no marker byte");
        assert_eq!(body_for(&samples, 3, false, false).0.as_ref(), jpeg);
    }

    #[test]
    fn requests_plan_stops_after_its_count() {
        let next = AtomicU64::new(5);
        let plan = Plan { first: 5, limit: Some(2), deadline: None };
        assert_eq!(plan.claim(&next), Some(5));
        assert_eq!(plan.claim(&next), Some(6));
        assert_eq!(plan.claim(&next), None);
    }

    #[test]
    fn trailing_tag_still_decodes() {
        // A real photo from the shared benchmark images, when this checkout has them.
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/catsdogs/test/cat");
        let mut files = Vec::new();
        if collect_files(&dir, &mut files).is_err() || files.is_empty() {
            eprintln!("skipped: no images under {}", dir.display());
            return;
        }
        files.sort();
        let samples = load_samples(&files[..1]).unwrap();
        let plain = decode_image(&samples[0].bytes, DecodeLimits::default()).unwrap().0;
        let (body, _) = body_for(&samples, 42, true, false);
        let (tagged, _) = decode_image(&body, DecodeLimits::default()).unwrap();
        assert_eq!(plain.dimensions(), tagged.dimensions());
        assert_eq!(plain.as_raw(), tagged.as_raw(), "the tag changes no pixel");
    }
}

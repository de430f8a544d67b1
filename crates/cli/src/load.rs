//! `infergate load --scenario FILE --target URL`: open-loop HTTP load following a scenario's
//! phases (the placement scenario format), payloads from files or of the scenario's size;
//! prints p50/p95/p99, errors, throughput and where requests ran, and writes the raw
//! latencies as CSV.

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use clap::Args;
use infergate_dispatch::load::{run_open_loop, write_csv, LoadSample, LoadSummary};
use infergate_place::scenario::Scenario;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `infergate load …`
#[derive(Args, Debug)]
pub struct LoadArgs {
    /// The scenario (YAML: phases, workload, slo_ms).
    #[arg(long)]
    pub scenario: PathBuf,
    /// The URL each request is POSTed to, e.g. http://127.0.0.1:8080/v1/invoke/thumbs.
    #[arg(long)]
    pub target: String,
    /// Payload file, or a directory whose files are sent in turn (default: random bytes of
    /// the scenario's `payload_kb`).
    #[arg(long)]
    pub payload: Option<PathBuf>,
    /// Append a per-request tag after each payload so that no two bodies are equal (for image
    /// payloads: the picture is unchanged, but a caching server has to run every request).
    #[arg(long)]
    pub unique: bool,
    /// Content type of the payloads.
    #[arg(long, default_value = "application/octet-stream")]
    pub content_type: String,
    /// API key, sent as `Authorization: Bearer …` (default: `INFERGATE_KEY`).
    #[arg(long, env = "INFERGATE_KEY", hide_env_values = true)]
    pub key: Option<String>,
    /// Longest wait for one answer, seconds; the run ends at the scenario's length plus this.
    #[arg(long, default_value_t = 30.0)]
    pub timeout_s: f64,
    /// Seed of the arrivals and generated payloads.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where to write the raw latencies (CSV).
    #[arg(long, default_value = "load-latencies.csv")]
    pub out: PathBuf,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The payloads to cycle through.
fn payloads(args: &LoadArgs, scenario: &Scenario) -> Result<Vec<Bytes>> {
    let Some(path) = &args.payload else {
        let mut rng = ChaCha8Rng::seed_from_u64(args.seed ^ 0x5eed);
        let size = (scenario.workload.payload_kb * 1024.0).round() as usize;
        return Ok(vec![Bytes::from((0..size).map(|_| rng.random_range(0..=255u8)).collect::<Vec<u8>>())]);
    };
    let read = |p: &Path| std::fs::read(p).map(Bytes::from).with_context(|| format!("cannot read {}", p.display()));
    if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("cannot list {}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        if files.is_empty() {
            bail!("no files in {}", path.display());
        }
        files.iter().map(|p| read(p)).collect()
    } else {
        Ok(vec![read(path)?])
    }
}

/// The summary as a table.
pub fn print_summary(s: &LoadSummary) {
    println!(
        "requests {}  ok {}  errors {} ({:.2} %)  throughput {:.1}/s  wall {:.1} s",
        s.requests,
        s.ok,
        s.errors,
        s.error_rate * 100.0,
        s.throughput_per_s,
        s.wall_s
    );
    println!("latency ms: mean {:.1}  p50 {:.1}  p95 {:.1}  p99 {:.1}", s.mean_ms, s.p50_ms, s.p95_ms, s.p99_ms);
    let routed: Vec<String> = s.routed.iter().map(|(k, v)| format!("{k} {v}")).collect();
    if !routed.is_empty() {
        println!("routed: {}  cold starts {}  cost {:.6} USD", routed.join(", "), s.cold_starts, s.cost_usd);
    }
}

pub async fn run(args: LoadArgs) -> Result<()> {
    let text =
        std::fs::read_to_string(&args.scenario).with_context(|| format!("cannot read {}", args.scenario.display()))?;
    let scenario = Scenario::from_yaml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", args.scenario.display()))?;
    let url = reqwest::Url::parse(&args.target).with_context(|| format!("--target {:?} is not a URL", args.target))?;
    if !(args.timeout_s.is_finite() && args.timeout_s > 0.0) {
        bail!("--timeout-s must be a positive number of seconds");
    }
    let payloads = Arc::new(payloads(&args, &scenario)?);
    let schedule: Vec<f64> = scenario.requests(args.seed).iter().map(|r| r.arrival_s).collect();
    let client = reqwest::Client::builder().tcp_nodelay(true).build()?;
    let timeout = Duration::from_secs_f64(args.timeout_s);
    eprintln!(
        "{} requests over {:.0} s to {url} (open loop; at most {:.0} s)",
        schedule.len(),
        scenario.duration_s(),
        scenario.duration_s() + args.timeout_s
    );
    let (content_type, key, unique) = (args.content_type.clone(), args.key.clone(), args.unique);
    let seed = args.seed;
    let deadline = Duration::from_secs_f64(scenario.duration_s() + args.timeout_s);
    let (samples, wall) = run_open_loop(&schedule, deadline, |i| {
        let mut req = client
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, content_type.as_str())
            .timeout(timeout)
            .body(request_body(&payloads, i, unique.then_some(seed)));
        if let Some(k) = &key {
            req = req.bearer_auth(k);
        }
        let at = schedule[i];
        async move {
            let sent = Instant::now();
            let ms = || sent.elapsed().as_secs_f64() * 1e3;
            match req.send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let h = |n: &str| r.headers().get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
                    let (routed_to, cold) = (h("x-routed-to"), h("x-cold-start").is_some_and(|v| v == "true"));
                    let cost_usd = h("x-cost-usd").and_then(|v| v.parse().ok());
                    let body = r.bytes().await;
                    let error = match (&body, status) {
                        (Err(e), _) => Some(format!("reading the answer: {e}")),
                        (Ok(b), s) if !(200..300).contains(&s) => {
                            Some(format!("HTTP {s}: {}", String::from_utf8_lossy(&b[..b.len().min(200)])))
                        }
                        _ => None,
                    };
                    let status = if body.is_err() { 0 } else { status };
                    LoadSample {
                        scheduled_s: at,
                        latency_ms: ms(),
                        status,
                        routed_to,
                        cold_start: cold,
                        cost_usd,
                        error,
                    }
                }
                Err(e) => LoadSample {
                    scheduled_s: at,
                    latency_ms: ms(),
                    status: 0,
                    routed_to: None,
                    cold_start: false,
                    cost_usd: None,
                    error: Some(e.to_string()),
                },
            }
        }
    })
    .await;
    let summary = LoadSummary::of(&samples, wall);
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(&args.out).with_context(|| format!("cannot write {}", args.out.display()))?,
    );
    write_csv(&samples, &mut file)?;
    std::io::Write::flush(&mut file)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_summary(&summary);
    }
    eprintln!("raw latencies: {}", args.out.display());
    Ok(())
}

/// The body of request `i`: payload `i` (round robin), with a tag naming the run's seed and `i`
/// when `unique_for_seed` is given, so that no two requests send the same bytes, within a run
/// or across runs with different seeds.
fn request_body(payloads: &[Bytes], i: usize, unique_for_seed: Option<u64>) -> Bytes {
    let payload = &payloads[i % payloads.len()];
    match unique_for_seed {
        Some(seed) => crate::bench_http::samples::tagged(payload, &format!("load-{seed}"), i as u64),
        None => payload.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_bodies_differ_per_request_and_per_seed() {
        let payloads = [Bytes::from_static(b"a"), Bytes::from_static(b"b")];
        assert_eq!(request_body(&payloads, 2, None), payloads[0]);
        let body = |i, seed| request_body(&payloads, i, Some(seed));
        assert!(body(2, 0).starts_with(b"a"), "the payload comes first");
        assert_ne!(body(0, 0), body(2, 0), "same payload, other request");
        assert_ne!(body(0, 0), body(0, 1), "same request, other seed");
        assert_eq!(body(3, 7), body(3, 7), "deterministic");
    }
}

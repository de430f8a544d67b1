//! What the workers count, and the report made of it: percentiles, summary, printing, JSON.

use super::RunOpts;
use anyhow::{Context, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// What one worker saw.
#[derive(Default)]
pub(super) struct Tally {
    pub(super) latencies_ms: Vec<f64>,
    pub(super) status: BTreeMap<String, u64>,
    errors: u64,
    pub(super) error_samples: Vec<String>,
    cached_true: u64,
    cached_false: u64,
    pub(super) max_index: u64,
    pub(super) stages: StageSums,
    /// Sums of the times the server reports in its answers (Infergate's `timings_ms`, the
    /// peer's `total_ms`), and how many answers reported them.
    reported: BTreeMap<String, f64>,
    reported_count: u64,
}

/// Floor only: time spent in each stage, summed.
#[derive(Default, Clone, Copy)]
pub(super) struct StageSums {
    pub(super) decode: f64,
    pub(super) preprocess: f64,
    pub(super) queue: f64,
    pub(super) inference: f64,
}

impl Tally {
    pub(super) fn error(&mut self, key: &str, message: String) {
        self.errors += 1;
        *self.status.entry(key.to_string()).or_default() += 1;
        if self.error_samples.len() < 3 && !self.error_samples.contains(&message) {
            self.error_samples.push(message);
        }
    }

    pub(super) fn merge(&mut self, other: Tally) {
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
    pub(super) fn note_answer(&mut self, answer: &serde_json::Value) {
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
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
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

/// A report plus what the caller checks afterwards.
pub(super) struct Outcome {
    report: Report,
    pub(super) max_index: u64,
}

/// Turns the measured phase's tally into the report.
pub(super) fn finish(
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

impl Outcome {
    /// Prints the report to stdout.
    pub(super) fn print(&self) {
        let r = &self.report;
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

    /// Writes the report as pretty JSON (one trailing newline) to `path`.
    pub(super) fn write_json(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(&self.report)?;
        std::fs::write(path, text + "\n").with_context(|| format!("cannot write {}", path.display()))
    }
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
}

//! Open-loop load: requests sent at scheduled times (a scenario's arrivals) whether or not
//! earlier ones have answered — as real users arrive — so a slow backend shows up as latency,
//! not as a lower offered rate. Used by `infergate load` (over HTTP) and `infergate route
//! evaluate --live` (straight into the dispatcher).

use infergate_place::histogram::nearest_rank as quantile;
use serde::Serialize;
use std::future::Future;
use std::time::{Duration, Instant};

/// One request's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadSample {
    /// Scheduled send time, seconds from the start.
    pub scheduled_s: f64,
    /// Send to answer, milliseconds (to the failure, for errors).
    pub latency_ms: f64,
    /// HTTP status (0: no answer).
    pub status: u16,
    /// Where it ran (`X-Routed-To`), when known.
    pub routed_to: Option<String>,
    /// Whether it was a cold start (`X-Cold-Start`).
    pub cold_start: bool,
    /// Priced cost, USD, when known.
    pub cost_usd: Option<f64>,
    /// Why it failed.
    pub error: Option<String>,
}

impl LoadSample {
    /// Whether it succeeded (2xx).
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Sends one request per scheduled time (seconds from the start, ascending) with `send`,
/// never waiting for earlier answers; requests not answered by `deadline` after the start are
/// counted as errors. Returns the samples in schedule order and the wall time.
pub async fn run_open_loop<F, Fut>(schedule: &[f64], deadline: Duration, send: F) -> (Vec<LoadSample>, Duration)
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = LoadSample> + Send + 'static,
{
    let start = Instant::now();
    let end = tokio::time::Instant::from_std(start) + deadline;
    let mut handles = Vec::with_capacity(schedule.len());
    for (i, &at) in schedule.iter().enumerate() {
        let when = tokio::time::Instant::from_std(start) + Duration::from_secs_f64(at.max(0.0));
        if when >= end {
            break;
        }
        tokio::time::sleep_until(when).await;
        handles.push((at, tokio::spawn(tokio::time::timeout_at(end, send(i)))));
    }
    let mut samples = Vec::with_capacity(schedule.len());
    for (at, h) in handles {
        let sample = match h.await {
            Ok(Ok(s)) => s,
            Ok(Err(_)) => failed(at, start, "no answer before the run's deadline".into()),
            Err(e) => failed(at, start, format!("the request task failed: {e}")),
        };
        samples.push(sample);
    }
    for &at in &schedule[samples.len()..] {
        samples.push(LoadSample {
            error: Some("not sent: past the run's deadline".into()),
            ..failed(at, start, String::new())
        });
    }
    (samples, start.elapsed())
}

fn failed(at: f64, start: Instant, error: String) -> LoadSample {
    LoadSample {
        scheduled_s: at,
        latency_ms: (start.elapsed().as_secs_f64() - at).max(0.0) * 1e3,
        status: 0,
        routed_to: None,
        cold_start: false,
        cost_usd: None,
        error: Some(error),
    }
}

/// A run's summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadSummary {
    /// Requests scheduled.
    pub requests: usize,
    /// Answered 2xx.
    pub ok: usize,
    /// Everything else.
    pub errors: usize,
    /// Errors ÷ requests.
    pub error_rate: f64,
    /// Successful answers per second of wall time.
    pub throughput_per_s: f64,
    /// Mean latency of successful requests, ms.
    pub mean_ms: f64,
    /// Median, ms.
    pub p50_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Requests by `X-Routed-To`.
    pub routed: std::collections::BTreeMap<String, usize>,
    /// Cold starts.
    pub cold_starts: usize,
    /// Summed priced cost of the requests, USD (where known).
    pub cost_usd: f64,
    /// Wall time, seconds.
    pub wall_s: f64,
}

impl LoadSummary {
    /// Summarises samples over `wall`.
    pub fn of(samples: &[LoadSample], wall: Duration) -> LoadSummary {
        let mut ok: Vec<f64> = samples.iter().filter(|s| s.ok()).map(|s| s.latency_ms).collect();
        ok.sort_by(f64::total_cmp);
        let mut routed = std::collections::BTreeMap::new();
        for s in samples {
            if let Some(r) = &s.routed_to {
                *routed.entry(r.clone()).or_insert(0) += 1;
            }
        }
        let errors = samples.len() - ok.len();
        let wall_s = wall.as_secs_f64();
        LoadSummary {
            requests: samples.len(),
            ok: ok.len(),
            errors,
            error_rate: errors as f64 / samples.len().max(1) as f64,
            throughput_per_s: if wall_s > 0.0 { ok.len() as f64 / wall_s } else { 0.0 },
            mean_ms: ok.iter().sum::<f64>() / ok.len().max(1) as f64,
            p50_ms: quantile(&ok, 0.50),
            p95_ms: quantile(&ok, 0.95),
            p99_ms: quantile(&ok, 0.99),
            routed,
            cold_starts: samples.iter().filter(|s| s.cold_start).count(),
            cost_usd: samples.iter().filter_map(|s| s.cost_usd).sum(),
            wall_s,
        }
    }
}

/// Writes the raw samples as CSV: `scheduled_s,latency_ms,status,routed_to,cold_start,cost_usd,error`.
pub fn write_csv(samples: &[LoadSample], out: &mut impl std::io::Write) -> std::io::Result<()> {
    writeln!(out, "scheduled_s,latency_ms,status,routed_to,cold_start,cost_usd,error")?;
    for s in samples {
        let error = s.error.as_deref().unwrap_or("").replace('"', "'");
        writeln!(
            out,
            "{:.6},{:.3},{},{},{},{},\"{}\"",
            s.scheduled_s,
            s.latency_ms,
            s.status,
            s.routed_to.as_deref().unwrap_or(""),
            s.cold_start,
            s.cost_usd.map_or(String::new(), |c| format!("{c:.12}")),
            error
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn open_loop_sends_on_schedule_without_waiting_for_answers() {
        let schedule = [0.0, 0.1, 0.2, 5.0];
        let start = tokio::time::Instant::now();
        let (samples, _) = run_open_loop(&schedule, Duration::from_secs(3), |i| async move {
            let sent = tokio::time::Instant::now();
            tokio::time::sleep(Duration::from_secs(1)).await; // slower than the arrivals
            LoadSample {
                scheduled_s: i as f64,
                latency_ms: sent.elapsed().as_secs_f64() * 1e3,
                status: 200,
                routed_to: Some(if i % 2 == 0 { "ecs" } else { "lambda" }.into()),
                cold_start: i == 1,
                cost_usd: Some(0.5),
                error: None,
            }
        })
        .await;
        assert!(start.elapsed() < Duration::from_secs(3), "it did not wait for each answer");
        assert_eq!(samples.len(), 4);
        assert_eq!(samples[3].status, 0, "past the deadline: not sent, an error");
        let s = LoadSummary::of(&samples, Duration::from_secs(2));
        assert_eq!((s.requests, s.ok, s.errors, s.cold_starts), (4, 3, 1, 1));
        assert_eq!(s.routed.get("ecs"), Some(&2));
        assert!((s.cost_usd - 1.5).abs() < 1e-12 && (s.p50_ms - 1000.0).abs() < 1.0);
        let mut csv = Vec::new();
        write_csv(&samples, &mut csv).unwrap();
        assert_eq!(String::from_utf8(csv).unwrap().lines().count(), 5);
    }
}

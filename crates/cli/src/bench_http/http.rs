//! HTTP mode: POST the bodies to an endpoint over `--concurrency` keep-alive connections.

use super::report::{finish, Outcome, Tally};
use super::samples::{body_for, Sample};
use super::{Plan, RunOpts};
use anyhow::{bail, Result};
use bytes::Bytes;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Warms up, then measures `url` as `opts` says.
pub(super) async fn run(url: &str, samples: Arc<Vec<Sample>>, opts: RunOpts) -> Result<Outcome> {
    // One client per worker, each keeping its single connection alive between requests.
    let clients: Vec<reqwest::Client> = (0..opts.concurrency)
        .map(|_| reqwest::Client::builder().pool_max_idle_per_host(1).tcp_nodelay(true).timeout(opts.timeout).build())
        .collect::<Result<_, _>>()?;
    let next = Arc::new(AtomicU64::new(0));
    if opts.warmup > 0 {
        let plan = Plan { first: 0, limit: Some(opts.warmup), deadline: None };
        let warm = phase(url, &clients, &samples, &next, plan, &opts, true).await;
        if warm.latencies_ms.is_empty() {
            bail!("every warm-up request to {url} failed: {}", warm.error_samples.join("; "));
        }
    }
    next.store(opts.warmup, Ordering::SeqCst);
    let started = Instant::now();
    let total = phase(url, &clients, &samples, &next, opts.plan(started), &opts, false).await;
    let elapsed = started.elapsed();
    Ok(finish(&opts, "http", url.to_string(), samples.len(), total, elapsed, None))
}

async fn phase(
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
                    one(&client, &url, body, mime, &mut tally).await;
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

async fn one(client: &reqwest::Client, url: &str, body: Bytes, mime: &str, tally: &mut Tally) {
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

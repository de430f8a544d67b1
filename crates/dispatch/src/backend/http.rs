//! Any HTTP endpoint (a Lambda function URL, API Gateway, an ALB in front of ECS, a
//! Kubernetes or Knative service): the payload POSTed as the body, pooled keep-alive
//! connections, a timeout per attempt, and retries after a connection failure, timeout or 5xx
//! — within a retry budget (each success earns a fifth of a retry, up to ten saved), so a
//! failing backend is not hit with a storm of retries.

use super::process::{classify_reqwest, content_type, preview};
use super::{Backend, BackendError, BackendFailure, Reply, WorkerCounts};
use bytes::Bytes;
use futures::future::BoxFuture;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Retries earned per success.
const RETRY_EARN: f64 = 0.2;
/// Most retries saved.
const RETRY_MAX: f64 = 10.0;

/// The backend's settings.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Where requests are POSTed.
    pub url: String,
    /// Longest one attempt may take.
    pub timeout: Duration,
    /// Retries per request at most.
    pub retries: u32,
    /// Requests at once before the hybrid looks elsewhere.
    pub capacity: Option<usize>,
    /// Whether a reply must be JSON.
    pub expect_json: bool,
}

/// An HTTP endpoint.
pub struct HttpBackend {
    settings: HttpSettings,
    client: reqwest::Client,
    in_flight: AtomicUsize,
    budget: Mutex<f64>,
}

impl HttpBackend {
    /// A backend over a shared (pooled) client.
    pub fn new(settings: HttpSettings, client: reqwest::Client) -> Self {
        HttpBackend { settings, client, in_flight: AtomicUsize::new(0), budget: Mutex::new(RETRY_MAX) }
    }

    fn take_retry(&self) -> bool {
        let mut b = self.budget.lock();
        if *b >= 1.0 {
            *b -= 1.0;
            true
        } else {
            false
        }
    }

    async fn attempt(&self, payload: Bytes) -> Result<Reply, BackendError> {
        let started = Instant::now();
        let timeout = self.settings.timeout;
        let fail = |(failure, message): (BackendFailure, String)| BackendError {
            failure,
            message,
            cold_start: false,
            billed_ms: started.elapsed().as_secs_f64() * 1e3,
        };
        let response = self
            .client
            .post(&self.settings.url)
            .body(payload)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| fail(classify_reqwest(&e, "backend", timeout)))?;
        let status = response.status().as_u16();
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let cold_start = header("x-cold-start").is_some_and(|v| v == "true" || v == "1");
        let header_exec = header("x-exec-ms").and_then(|v| v.parse::<f64>().ok());
        let content_type = content_type(&response);
        let body = response.bytes().await.map_err(|e| fail(classify_reqwest(&e, "backend", timeout)))?;
        let billed_ms = started.elapsed().as_secs_f64() * 1e3;
        match status {
            200..=299 => {
                let json = serde_json::from_slice::<serde_json::Value>(&body).ok();
                if self.settings.expect_json && json.is_none() {
                    return Err(fail((
                        BackendFailure::BadReply,
                        format!("the backend answered something that is not JSON: {}", preview(&body)),
                    )));
                }
                let exec_ms = header_exec.or_else(|| json.as_ref()?.get("exec_ms")?.as_f64());
                Ok(Reply { status, body, content_type, exec_ms, cold_start, billed_ms })
            }
            429 => Err(fail((BackendFailure::Throttled, "the backend throttled the request (429)".into()))),
            400..=499 => Ok(Reply { status, body, content_type, exec_ms: header_exec, cold_start, billed_ms }),
            _ => Err(fail((BackendFailure::ServerError, format!("the backend failed ({status}): {}", preview(&body))))),
        }
    }

    async fn call(&self, payload: Bytes) -> Result<Reply, BackendError> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        let mut tries = 0;
        let mut billed = 0.0;
        let outcome = loop {
            match self.attempt(payload.clone()).await {
                Ok(mut r) => {
                    let mut b = self.budget.lock();
                    *b = (*b + RETRY_EARN).min(RETRY_MAX);
                    r.billed_ms += billed;
                    break Ok(r);
                }
                Err(e) => {
                    billed += e.billed_ms;
                    let retryable = matches!(
                        e.failure,
                        BackendFailure::Unavailable | BackendFailure::Timeout | BackendFailure::ServerError
                    );
                    if retryable && tries < self.settings.retries && self.take_retry() {
                        tries += 1;
                        tokio::time::sleep(Duration::from_millis(10 << tries.min(6))).await;
                        continue;
                    }
                    let suffix = if tries > 0 { format!(" (after {tries} retries)") } else { String::new() };
                    break Err(BackendError { message: format!("{}{suffix}", e.message), billed_ms: billed, ..e });
                }
            }
        };
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        outcome
    }
}

impl Backend for HttpBackend {
    fn kind(&self) -> &'static str {
        "http"
    }

    fn invoke(&self, payload: Bytes) -> BoxFuture<'_, Result<Reply, BackendError>> {
        Box::pin(self.call(payload))
    }

    fn has_capacity(&self) -> bool {
        self.settings.capacity.is_none_or(|c| self.in_flight.load(Ordering::Relaxed) < c)
    }

    fn workers(&self) -> WorkerCounts {
        WorkerCounts { busy: self.in_flight.load(Ordering::Relaxed), ..WorkerCounts::default() }
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

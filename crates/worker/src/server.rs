//! The worker's HTTP server.

use crate::handler::{Handler, HandlerError};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

struct Worker {
    handler: Arc<dyn Handler>,
    busy: AtomicBool,
    invocations: AtomicU64,
    started: Instant,
}

/// Clears the busy flag when the request ends, however it ends.
struct BusyGuard<'a>(&'a AtomicBool);

impl Drop for BusyGuard<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": {"code": code, "message": message.into()}}))).into_response()
}

async fn invoke(State(w): State<Arc<Worker>>, body: Bytes) -> Response {
    if w.busy.swap(true, Ordering::AcqRel) {
        return error(StatusCode::TOO_MANY_REQUESTS, "worker_busy", "this worker runs one request at a time");
    }
    let guard = BusyGuard(&w.busy);
    let handler = w.handler.clone();
    let started = Instant::now();
    let outcome = tokio::task::spawn_blocking(move || handler.invoke(&body)).await;
    let exec_ms = started.elapsed().as_secs_f64() * 1e3;
    drop(guard);
    let n = w.invocations.fetch_add(1, Ordering::Relaxed) + 1;
    match outcome {
        Ok(Ok(result)) => {
            let body = json!({"result": result, "exec_ms": exec_ms, "pid": std::process::id(), "invocations": n});
            let mut response = Json(body).into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("{exec_ms:.3}")) {
                response.headers_mut().insert("x-exec-ms", v);
            }
            response
        }
        Ok(Err(HandlerError::BadInput(m))) => error(StatusCode::BAD_REQUEST, "bad_input", m),
        Ok(Err(HandlerError::Failed(m))) => error(StatusCode::INTERNAL_SERVER_ERROR, "handler_failed", m),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "handler_panicked", e.to_string()),
    }
}

async fn healthz(State(w): State<Arc<Worker>>) -> Json<Value> {
    Json(json!({
        "status": "ok",
        "handler": w.handler.name(),
        "pid": std::process::id(),
        "invocations": w.invocations.load(Ordering::Relaxed),
        "uptime_s": w.started.elapsed().as_secs_f64(),
    }))
}

/// The worker's routes over `handler`, accepting payloads up to `max_body` bytes.
pub fn app(handler: Arc<dyn Handler>, max_body: usize) -> Router {
    let worker = Arc::new(Worker {
        handler,
        busy: AtomicBool::new(false),
        invocations: AtomicU64::new(0),
        started: Instant::now(),
    });
    Router::new()
        .route("/invoke", post(invoke))
        .route("/healthz", get(healthz))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(worker)
}

/// Serves [`app`] on `listener` until the process ends.
pub async fn serve(
    listener: tokio::net::TcpListener,
    handler: Arc<dyn Handler>,
    max_body: usize,
) -> std::io::Result<()> {
    axum::serve(listener, app(handler, max_body)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// Signals when a request starts, then waits to be let go.
    struct Gate {
        started: parking_lot::Mutex<mpsc::Sender<()>>,
        release: parking_lot::Mutex<mpsc::Receiver<()>>,
    }

    impl Handler for Gate {
        fn name(&self) -> &'static str {
            "gate"
        }
        fn invoke(&self, payload: &[u8]) -> Result<Value, HandlerError> {
            self.started.lock().send(()).unwrap();
            self.release.lock().recv().unwrap();
            Ok(json!({"payload_bytes": payload.len()}))
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn invoke_health_and_one_at_a_time() {
        let (started_tx, started) = mpsc::channel();
        let (release, release_rx) = mpsc::channel();
        let gate = Gate { started: parking_lot::Mutex::new(started_tx), release: parking_lot::Mutex::new(release_rx) };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(serve(listener, Arc::new(gate), 1 << 20));
        let client = reqwest::Client::new();
        let health: Value = client.get(format!("{base}/healthz")).send().await.unwrap().json().await.unwrap();
        assert_eq!((health["status"].as_str(), health["handler"].as_str()), (Some("ok"), Some("gate")));
        let first = tokio::spawn({
            let (client, url) = (client.clone(), format!("{base}/invoke"));
            async move { client.post(url).body("xy").send().await.unwrap() }
        });
        tokio::task::spawn_blocking(move || started.recv().unwrap()).await.unwrap();
        let refused = client.post(format!("{base}/invoke")).body("z").send().await.unwrap();
        assert_eq!(refused.status(), 429);
        let refused: Value = refused.json().await.unwrap();
        assert_eq!(refused["error"]["code"], "worker_busy");
        release.send(()).unwrap();
        let first = first.await.unwrap();
        assert_eq!(first.status(), 200);
        assert!(first.headers().contains_key("x-exec-ms"));
        let body: Value = first.json().await.unwrap();
        assert_eq!(body["result"]["payload_bytes"], 2);
        assert_eq!(body["invocations"], 1);
        assert!(body["exec_ms"].as_f64().is_some());
    }
}

//! Backends: where a platform's requests go. One trait, three kinds.

pub mod http;
pub mod local_container;
pub mod local_function;
pub mod process;

use bytes::Bytes;
use futures::future::BoxFuture;
use serde::Serialize;

pub use http::HttpBackend;
pub use local_container::{LocalContainerPool, LocalContainerSettings, SharedContainerPool};
pub use local_function::{LocalFunctionPool, LocalFunctionSettings};
pub use process::{WorkerCommand, WorkerProcess};

/// A backend's answer (2xx, or a 4xx that is the client's to read).
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status the backend answered.
    pub status: u16,
    /// The body, passed through.
    pub body: Bytes,
    /// Its content type, when given.
    pub content_type: Option<String>,
    /// The backend's own run time, when it says (`exec_ms` in a worker's JSON, or `X-Exec-Ms`).
    pub exec_ms: Option<f64>,
    /// Whether answering needed a new worker.
    pub cold_start: bool,
    /// Milliseconds the platform was busy with it (billed time): the call, and for a new
    /// function worker its start-up too; a queue wait is not included.
    pub billed_ms: f64,
}

/// Why a backend did not answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendFailure {
    /// Could not connect, the worker died, or it could not be started.
    Unavailable,
    /// No answer in time.
    Timeout,
    /// An answer that is not what the protocol says (not HTTP, not JSON, no `exec_ms`).
    BadReply,
    /// Refused for capacity (429, concurrency limit, full queue).
    Throttled,
    /// A 5xx from the backend.
    ServerError,
}

impl BackendFailure {
    /// Whether a local worker that failed this way can serve again (it answered: a 5xx or a
    /// 429); one that timed out, vanished or spoke garbage is stopped.
    pub fn leaves_worker_usable(self) -> bool {
        matches!(self, BackendFailure::ServerError | BackendFailure::Throttled)
    }

    /// The wire name recorded as the invocation's outcome.
    pub fn as_str(self) -> &'static str {
        match self {
            BackendFailure::Unavailable => "unavailable",
            BackendFailure::Timeout => "timeout",
            BackendFailure::BadReply => "bad_reply",
            BackendFailure::Throttled => "throttled",
            BackendFailure::ServerError => "backend_error",
        }
    }
}

/// A failed call, with what it cost.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct BackendError {
    /// What kind of failure.
    pub failure: BackendFailure,
    /// A sentence for people.
    pub message: String,
    /// Whether a new worker was started for it.
    pub cold_start: bool,
    /// Milliseconds billed for it (a timed-out function is still billed).
    pub billed_ms: f64,
}

impl BackendError {
    /// A failure that cost nothing.
    pub fn new(failure: BackendFailure, message: impl Into<String>) -> Self {
        BackendError { failure, message: message.into(), cold_start: false, billed_ms: 0.0 }
    }
}

/// Workers of a local backend, for status pages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WorkerCounts {
    /// Started and waiting for a request.
    pub idle: usize,
    /// Running a request or starting.
    pub busy: usize,
    /// Requests waiting for a worker.
    pub queued: usize,
    /// Workers started since the backend began.
    pub started: u64,
}

/// Where one platform's requests go.
pub trait Backend: Send + Sync {
    /// The kind's wire name: `local-function`, `local-container` or `http`.
    fn kind(&self) -> &'static str;
    /// Sends one payload and waits for the answer.
    fn invoke(&self, payload: Bytes) -> BoxFuture<'_, Result<Reply, BackendError>>;
    /// Whether it would take a request now without queueing or starting a worker (the hybrid
    /// sends the container only what it can take now).
    fn has_capacity(&self) -> bool;
    /// Its workers now (zeros for `http`).
    fn workers(&self) -> WorkerCounts;
    /// Stops its workers.
    fn shutdown(&self) -> BoxFuture<'_, ()>;
}

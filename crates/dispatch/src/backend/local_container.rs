//! Container-style: a fixed pool of always-on workers started with the server, serving one
//! FIFO queue (a request waits for a free worker; past `queue_capacity` waiting, it is
//! refused). A worker that dies is replaced in the background, as a container service
//! replaces a failed task.

use super::{Backend, BackendError, BackendFailure, Reply, WorkerCounts, WorkerProcess};
use bytes::Bytes;
use futures::future::BoxFuture;
use parking_lot::Mutex;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// The pool's settings.
#[derive(Debug, Clone)]
pub struct LocalContainerSettings {
    /// The worker executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Workers kept running.
    pub tasks: usize,
    /// Requests that may wait.
    pub queue_capacity: usize,
    /// Longest wait for a worker to start.
    pub startup_timeout: Duration,
    /// Longest a request may run (queue wait excluded).
    pub timeout: Duration,
}

/// Always-on workers and their queue.
pub struct LocalContainerPool {
    settings: LocalContainerSettings,
    client: reqwest::Client,
    idle: Mutex<Vec<WorkerProcess>>,
    /// One permit per idle worker; waiting for one is the queue (tokio's semaphore is FIFO).
    free: Semaphore,
    waiting: AtomicUsize,
    busy: AtomicUsize,
    started: AtomicU64,
    stopped: AtomicBool,
}

impl LocalContainerPool {
    /// Starts every worker and waits until all are ready (an error if one cannot start).
    pub async fn start(settings: LocalContainerSettings, client: reqwest::Client) -> Result<Arc<Self>, BackendError> {
        let pool = Arc::new(LocalContainerPool {
            settings,
            client,
            idle: Mutex::new(Vec::new()),
            free: Semaphore::new(0),
            waiting: AtomicUsize::new(0),
            busy: AtomicUsize::new(0),
            started: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
        });
        let starts = (0..pool.settings.tasks).map(|_| pool.spawn_worker());
        for w in futures::future::join_all(starts).await {
            pool.add_idle(w?);
        }
        Ok(pool)
    }

    async fn spawn_worker(&self) -> Result<WorkerProcess, BackendError> {
        let w =
            WorkerProcess::spawn(&self.settings.program, &self.settings.args, self.settings.startup_timeout).await?;
        self.started.fetch_add(1, Ordering::Relaxed);
        Ok(w)
    }

    fn add_idle(&self, w: WorkerProcess) {
        self.idle.lock().push(w);
        self.free.add_permits(1);
    }

    /// Starts a replacement for a worker that failed, retrying until it runs or the pool stops.
    fn replace(self: &Arc<Self>) {
        let pool = self.clone();
        tokio::spawn(async move {
            let mut pause = Duration::from_millis(200);
            while !pool.stopped.load(Ordering::Relaxed) {
                match pool.spawn_worker().await {
                    Ok(w) => return pool.add_idle(w),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot replace a container worker; retrying");
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(Duration::from_secs(5));
                    }
                }
            }
        });
    }

    async fn call(self: Arc<Self>, payload: Bytes) -> Result<Reply, BackendError> {
        if self.waiting.load(Ordering::Relaxed) >= self.settings.queue_capacity && self.free.available_permits() == 0 {
            return Err(BackendError::new(
                BackendFailure::Throttled,
                format!("the container queue is full ({} waiting)", self.settings.queue_capacity),
            ));
        }
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let permit = self.free.acquire().await;
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        let Ok(permit) = permit else {
            return Err(BackendError::new(BackendFailure::Unavailable, "the container pool is stopped"));
        };
        permit.forget();
        let Some(worker) = self.idle.lock().pop() else {
            return Err(BackendError::new(
                BackendFailure::Unavailable,
                "no container worker (internal count mismatch)",
            ));
        };
        self.busy.fetch_add(1, Ordering::Relaxed);
        let outcome = worker.call(&self.client, payload, self.settings.timeout, false, 0.0).await;
        self.busy.fetch_sub(1, Ordering::Relaxed);
        let mut worker = worker;
        let healthy = outcome.as_ref().map_or_else(|e| e.failure.leaves_worker_usable(), |_| true) && worker.is_alive();
        if healthy {
            self.add_idle(worker);
        } else {
            drop(worker);
            self.replace();
        }
        outcome
    }
}

/// The pool behind an `Arc`, as the dispatcher holds it.
pub struct SharedContainerPool(pub Arc<LocalContainerPool>);

impl Backend for SharedContainerPool {
    fn kind(&self) -> &'static str {
        "local-container"
    }

    fn invoke(&self, payload: Bytes) -> BoxFuture<'_, Result<Reply, BackendError>> {
        Box::pin(self.0.clone().call(payload))
    }

    fn has_capacity(&self) -> bool {
        self.0.free.available_permits() > 0 && self.0.waiting.load(Ordering::Relaxed) == 0
    }

    fn workers(&self) -> WorkerCounts {
        WorkerCounts {
            idle: self.0.idle.lock().len(),
            busy: self.0.busy.load(Ordering::Relaxed),
            queued: self.0.waiting.load(Ordering::Relaxed),
            started: self.0.started.load(Ordering::Relaxed),
        }
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        self.0.stopped.store(true, Ordering::Relaxed);
        self.0.free.close();
        let idle = std::mem::take(&mut *self.0.idle.lock());
        drop(idle);
        Box::pin(async {})
    }
}

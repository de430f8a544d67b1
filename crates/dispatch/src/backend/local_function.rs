//! Serverless-style: a worker process per concurrent request, started on demand (a real cold
//! start: process exec plus handler start-up, e.g. a model load), reused while warm, stopped
//! after `keep_alive` idle; more than `limit` at once are throttled, as Lambda does.

use super::{Backend, BackendError, BackendFailure, Reply, WorkerCounts, WorkerProcess};
use bytes::Bytes;
use futures::future::BoxFuture;
use parking_lot::Mutex;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// The pool's settings.
#[derive(Debug, Clone)]
pub struct LocalFunctionSettings {
    /// The worker executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// How long an idle worker is kept.
    pub keep_alive: Duration,
    /// Most workers at once.
    pub limit: usize,
    /// Longest wait for a new worker.
    pub startup_timeout: Duration,
    /// Longest a request may run.
    pub timeout: Duration,
}

#[derive(Default)]
struct State {
    /// Warm workers and since when they idle; the most recently used last.
    idle: Vec<(WorkerProcess, Instant)>,
    /// Workers running a request or starting.
    busy: usize,
}

/// Worker processes started on demand.
pub struct LocalFunctionPool {
    settings: LocalFunctionSettings,
    client: reqwest::Client,
    state: Mutex<State>,
    started: AtomicU64,
}

impl LocalFunctionPool {
    /// A pool with no worker yet; a background task stops workers idle past the keep-alive.
    pub fn new(settings: LocalFunctionSettings, client: reqwest::Client) -> Arc<Self> {
        let pool = Arc::new(LocalFunctionPool {
            settings,
            client,
            state: Mutex::new(State::default()),
            started: AtomicU64::new(0),
        });
        tokio::spawn(reap(Arc::downgrade(&pool)));
        pool
    }

    /// Stops workers idle longer than the keep-alive (and dead ones); returns how many.
    pub fn reap_idle(&self) -> usize {
        let keep_alive = self.settings.keep_alive;
        let mut stale = Vec::new();
        {
            let mut s = self.state.lock();
            let mut i = 0;
            while i < s.idle.len() {
                let expired = s.idle[i].1.elapsed() > keep_alive || !s.idle[i].0.is_alive();
                if expired {
                    stale.push(s.idle.remove(i).0);
                } else {
                    i += 1;
                }
            }
        }
        stale.len() // dropped here: kill_on_drop stops them
    }

    async fn call(&self, payload: Bytes) -> Result<Reply, BackendError> {
        // Some(warm worker), or None: start one.
        let warm = {
            let mut s = self.state.lock();
            let mut warm = None;
            while let Some((mut w, _)) = s.idle.pop() {
                if w.is_alive() {
                    warm = Some(w);
                    break;
                }
            }
            if warm.is_none() && s.busy + s.idle.len() >= self.settings.limit {
                return Err(BackendError::new(
                    BackendFailure::Throttled,
                    format!("all {} function workers are busy (concurrency limit)", self.settings.limit),
                ));
            }
            s.busy += 1;
            warm
        };
        let (worker, cold) = match warm {
            Some(w) => (w, false),
            None => {
                let started = Instant::now();
                match WorkerProcess::spawn(&self.settings.program, &self.settings.args, self.settings.startup_timeout)
                    .await
                {
                    Ok(w) => {
                        self.started.fetch_add(1, Ordering::Relaxed);
                        (w, true)
                    }
                    Err(mut e) => {
                        self.state.lock().busy -= 1;
                        e.cold_start = true;
                        e.billed_ms = started.elapsed().as_secs_f64() * 1e3;
                        return Err(e);
                    }
                }
            }
        };
        let startup_ms = if cold { worker.startup.as_secs_f64() * 1e3 } else { 0.0 };
        let outcome = worker.call(&self.client, payload, self.settings.timeout, cold, startup_ms).await;
        let mut s = self.state.lock();
        s.busy -= 1;
        let keep = outcome.as_ref().map_or_else(|e| e.failure.leaves_worker_usable(), |_| true);
        if keep {
            s.idle.push((worker, Instant::now()));
        }
        // A worker that timed out, vanished or spoke garbage is dropped (killed) here.
        outcome
    }
}

async fn reap(pool: Weak<LocalFunctionPool>) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tick.tick().await;
        let Some(pool) = pool.upgrade() else { return };
        pool.reap_idle();
    }
}

impl Backend for LocalFunctionPool {
    fn kind(&self) -> &'static str {
        "local-function"
    }

    fn invoke(&self, payload: Bytes) -> BoxFuture<'_, Result<Reply, BackendError>> {
        Box::pin(self.call(payload))
    }

    fn has_capacity(&self) -> bool {
        !self.state.lock().idle.is_empty()
    }

    fn workers(&self) -> WorkerCounts {
        let s = self.state.lock();
        WorkerCounts { idle: s.idle.len(), busy: s.busy, queued: 0, started: self.started.load(Ordering::Relaxed) }
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        let idle = std::mem::take(&mut self.state.lock().idle);
        drop(idle);
        Box::pin(async {})
    }
}

//! Serverless-style instance pools, one per model version.
//!
//! An *instance* is one loaded copy of the model (one inference session) with its own worker
//! thread. Requests are queued per model version ([`VersionPool::submit`]) and any instance
//! of that version takes them, in batches (see [`crate::batcher`]). Instances load on first
//! use — requests that arrive meanwhile wait in the queue for that load instead of failing —
//! and a second one loads in the background while all are busy, up to
//! [`ServingPolicy::max_instances`]. An instance idle for [`ServingPolicy::keep_alive`] is
//! unloaded by [`InstancePool::reap`], except that `min_warm` stay loaded.

use crate::backend::{Backend, BackendError};
use crate::batcher::{BatchJob, BatchPolicy, Batcher, Queued};
use crate::clock::{Clock, SystemClock};
use crate::engine::Engine;
use crossbeam_channel::{Receiver, Sender, TrySendError};
use infergate_core::ModelSpec;
use parking_lot::{Condvar, Mutex};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// When instances load and unload, and how requests are batched.
#[derive(Debug, Clone, PartialEq)]
pub struct ServingPolicy {
    /// Idle time after which an instance is unloaded.
    pub keep_alive: Duration,
    /// Instances of each active version kept loaded however idle.
    pub min_warm: usize,
    /// Most instances of one version loaded at once.
    pub max_instances: usize,
    /// Batching and queue bounds.
    pub batch: BatchPolicy,
}

impl Default for ServingPolicy {
    fn default() -> Self {
        ServingPolicy {
            keep_alive: Duration::from_secs(600),
            min_warm: 0,
            max_instances: 2,
            batch: BatchPolicy::default(),
        }
    }
}

/// Hears what the pools do (for metrics); every method defaults to doing nothing.
pub trait PoolObserver: Send + Sync {
    /// An instance finished loading.
    fn instance_loaded(&self, _model: &str, _version: i64, _load_ms: f64) {}
    /// An instance was unloaded.
    fn instance_unloaded(&self, _model: &str, _version: i64) {}
    /// A batch of `rows` ran in `compute`.
    fn batch_ran(&self, _model: &str, _version: i64, _rows: usize, _compute: Duration) {}
}

struct NoObserver;
impl PoolObserver for NoObserver {}

/// Why a job was not queued.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SubmitError {
    /// The version's queue holds `capacity` jobs already.
    #[error("the queue for this model is full ({capacity} requests waiting); retry shortly")]
    QueueFull {
        /// The queue bound.
        capacity: usize,
    },
}

/// What [`VersionPool::submit`] tells the caller.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Submitted {
    /// No instance was loaded, so the job waits for a load (a cold start).
    pub cold: bool,
}

/// A version's instances right now.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionStatus {
    /// Loaded instances.
    pub instances: usize,
    /// Instances being loaded.
    pub loading: usize,
    /// Jobs waiting.
    pub queue_depth: usize,
    /// The last load failure, cleared by the next successful load.
    pub last_error: Option<String>,
}

/// What [`VersionPool::warm`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct WarmReport {
    /// Instances loaded when it returned.
    pub instances: usize,
    /// Load times of the instances this call started, in milliseconds.
    pub loaded_ms: Vec<f64>,
}

/// A loaded instance as the pool tracks it. Dropping it (and so `stop`) tells its worker to
/// finish and unload.
struct InstanceHandle {
    id: u64,
    _stop: Sender<()>,
    last_used: Arc<Mutex<Instant>>,
    busy: Arc<AtomicBool>,
}

#[derive(Default)]
struct PoolState {
    instances: Vec<InstanceHandle>,
    loading: usize,
    last_error: Option<BackendError>,
    next_id: u64,
    /// Load times of recent loads, for [`VersionPool::warm`] to report.
    load_log: Vec<(u64, f64)>,
}

/// The instances and the request queue of one model version.
pub struct VersionPool {
    spec: Arc<ModelSpec>,
    artifact: PathBuf,
    engine: Engine,
    policy: ServingPolicy,
    min_warm: AtomicUsize,
    clock: Arc<dyn Clock>,
    observer: Arc<dyn PoolObserver>,
    queue_in: Sender<Queued>,
    queue_out: Receiver<Queued>,
    state: Mutex<PoolState>,
    changed: Condvar,
    idle_workers: AtomicUsize,
}

impl VersionPool {
    /// The version this pool serves.
    pub fn spec(&self) -> &Arc<ModelSpec> {
        &self.spec
    }

    /// Queues `job` for an instance, starting a load when none is loaded (or, while all are
    /// busy, a further instance up to `max_instances`). Fails at once when the queue is full.
    pub fn submit(self: &Arc<Self>, job: Box<dyn BatchJob>) -> Result<Submitted, SubmitError> {
        let mut state = self.state.lock();
        let ready = state.instances.len();
        let cold = ready == 0;
        let queued = Queued { job, enqueued: Instant::now(), cold };
        if let Err(e) = self.queue_in.try_send(queued) {
            return Err(match e {
                TrySendError::Full(_) | TrySendError::Disconnected(_) => {
                    SubmitError::QueueFull { capacity: self.policy.batch.queue_capacity }
                }
            });
        }
        let total = ready + state.loading;
        let all_busy = self.idle_workers.load(Ordering::SeqCst) == 0;
        if total == 0 || (all_busy && state.loading == 0 && total < self.policy.max_instances) {
            self.start_load(&mut state);
        }
        Ok(Submitted { cold })
    }

    /// Loads instances until `count` (at most `max_instances`) are loaded, waiting up to
    /// `timeout`. Returns the first load error if loading fails.
    pub fn warm(self: &Arc<Self>, count: usize, timeout: Duration) -> Result<WarmReport, BackendError> {
        let want = count.clamp(1, self.policy.max_instances.max(1));
        let deadline = Instant::now() + timeout;
        let mut state = self.state.lock();
        let first_id = state.next_id;
        loop {
            if state.instances.len() >= want {
                let loaded_ms = state.load_log.iter().filter(|(id, _)| *id >= first_id).map(|&(_, ms)| ms).collect();
                return Ok(WarmReport { instances: state.instances.len(), loaded_ms });
            }
            if state.next_id > first_id && state.loading == 0 {
                if let Some(e) = state.last_error.clone() {
                    return Err(e);
                }
            }
            if state.instances.len() + state.loading < want {
                self.start_load(&mut state);
                continue;
            }
            if self.changed.wait_until(&mut state, deadline).timed_out() {
                return Err(BackendError::Load {
                    path: self.artifact.display().to_string(),
                    message: format!("still loading after {} s", timeout.as_secs_f64()),
                });
            }
        }
    }

    /// Sets how many instances stay loaded however idle (0 for versions that are not active).
    pub fn set_min_warm(&self, count: usize) {
        self.min_warm.store(count.min(self.policy.max_instances), Ordering::SeqCst);
    }

    /// The instances and queue right now.
    pub fn status(&self) -> VersionStatus {
        let state = self.state.lock();
        VersionStatus {
            instances: state.instances.len(),
            loading: state.loading,
            queue_depth: self.queue_out.len(),
            last_error: state.last_error.as_ref().map(|e| e.to_string()),
        }
    }

    /// Unloads instances idle for `keep_alive` at `now` (keeping `min_warm`) and starts a
    /// load when fewer than `min_warm` are loaded. Returns how many were unloaded.
    fn reap(self: &Arc<Self>, now: Instant) -> usize {
        let mut state = self.state.lock();
        let keep = self.min_warm.load(Ordering::SeqCst);
        let mut unloaded = 0;
        let mut i = 0;
        while i < state.instances.len() {
            let h = &state.instances[i];
            let idle_for = now.saturating_duration_since(*h.last_used.lock());
            if state.instances.len() > keep && !h.busy.load(Ordering::SeqCst) && idle_for >= self.policy.keep_alive {
                state.instances.remove(i);
                unloaded += 1;
            } else {
                i += 1;
            }
        }
        if state.instances.len() + state.loading < keep && state.loading == 0 {
            self.start_load(&mut state);
        }
        unloaded
    }

    fn start_load(self: &Arc<Self>, state: &mut PoolState) {
        state.loading += 1;
        let id = state.next_id;
        state.next_id += 1;
        let pool = self.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("infergate-{}-v{}", self.spec.name, self.spec.version))
            .spawn(move || pool.load_and_serve(id));
        if let Err(e) = spawned {
            state.loading -= 1;
            state.last_error = Some(BackendError::Load {
                path: self.artifact.display().to_string(),
                message: format!("cannot start a worker thread: {e}"),
            });
        }
    }

    /// The body of an instance's thread: load, serve until told to stop, unload.
    fn load_and_serve(self: Arc<Self>, id: u64) {
        let began = Instant::now();
        let loaded = self.engine.load_instance(&self.artifact);
        let load_ms = began.elapsed().as_secs_f64() * 1e3;
        let backend = match loaded {
            Ok(b) => b,
            Err(e) => return self.load_failed(e),
        };
        let (stop, stopped) = crossbeam_channel::bounded(1);
        let last_used = Arc::new(Mutex::new(self.clock.now()));
        let busy = Arc::new(AtomicBool::new(false));
        {
            let mut state = self.state.lock();
            state.loading -= 1;
            state.last_error = None;
            state.load_log.push((id, load_ms));
            let excess = state.load_log.len().saturating_sub(16);
            state.load_log.drain(..excess);
            state.instances.push(InstanceHandle { id, _stop: stop, last_used: last_used.clone(), busy: busy.clone() });
        }
        self.changed.notify_all();
        self.observer.instance_loaded(&self.spec.name, self.spec.version, load_ms);
        tracing::info!(model = %self.spec.name, version = self.spec.version, load_ms, "instance loaded");

        self.serve(&*backend, load_ms, &stopped, &last_used, &busy);

        drop(backend);
        self.observer.instance_unloaded(&self.spec.name, self.spec.version);
        tracing::info!(model = %self.spec.name, version = self.spec.version, "instance unloaded");
        let mut state = self.state.lock();
        state.instances.retain(|h| h.id != id);
        // A job queued just as the last instance was told to stop must not be stranded.
        if state.instances.is_empty() && state.loading == 0 && !self.queue_out.is_empty() {
            self.start_load(&mut state);
        }
        drop(state);
        self.changed.notify_all();
    }

    fn serve(
        &self,
        backend: &dyn Backend,
        load_ms: f64,
        stopped: &Receiver<()>,
        last_used: &Mutex<Instant>,
        busy: &AtomicBool,
    ) {
        let batcher = Batcher { backend, policy: &self.policy.batch, load_ms };
        let others_idle = || self.idle_workers.load(Ordering::SeqCst) > 0;
        // Runs before the batch's answers go out, so that whoever got an answer sees this
        // instance idle from that moment on.
        let mut on_batch = |rows: usize, compute: Duration| {
            *last_used.lock() = self.clock.now();
            busy.store(false, Ordering::SeqCst);
            self.observer.batch_ran(&self.spec.name, self.spec.version, rows, compute);
        };
        loop {
            self.idle_workers.fetch_add(1, Ordering::SeqCst);
            let next = crossbeam_channel::select! {
                recv(self.queue_out) -> job => job.ok(),
                recv(stopped) -> _ => None,
            };
            self.idle_workers.fetch_sub(1, Ordering::SeqCst);
            let Some(first) = next else { return };
            busy.store(true, Ordering::SeqCst);
            *last_used.lock() = self.clock.now();
            batcher.serve(first, &self.queue_out, &others_idle, &mut on_batch);
            busy.store(false, Ordering::SeqCst);
        }
    }

    /// A load failed: remember why and, if no instance is left to serve them, fail the jobs
    /// waiting for it.
    fn load_failed(&self, error: BackendError) {
        tracing::warn!(model = %self.spec.name, version = self.spec.version, "instance failed to load: {error}");
        let orphaned = {
            let mut state = self.state.lock();
            state.loading -= 1;
            state.last_error = Some(error.clone());
            state.instances.is_empty() && state.loading == 0
        };
        self.changed.notify_all();
        if orphaned {
            while let Ok(queued) = self.queue_out.try_recv() {
                queued.job.complete(Err(error.clone()));
            }
        }
    }
}

/// The version pools of every model, keyed by name and version.
pub struct InstancePool {
    engine: Engine,
    policy: ServingPolicy,
    clock: Arc<dyn Clock>,
    observer: Arc<dyn PoolObserver>,
    /// By model name, then version (looked up without allocating on every request).
    versions: Mutex<HashMap<String, HashMap<i64, Arc<VersionPool>>>>,
}

impl InstancePool {
    /// An empty pool loading models with `engine` under `policy`, on the real clock.
    pub fn new(engine: Engine, policy: ServingPolicy) -> Self {
        InstancePool {
            engine,
            policy,
            clock: Arc::new(SystemClock),
            observer: Arc::new(NoObserver),
            versions: Mutex::new(HashMap::new()),
        }
    }

    /// The same pool on another clock (tests move a [`crate::clock::ManualClock`]).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The same pool reporting to `observer`.
    pub fn with_observer(mut self, observer: Arc<dyn PoolObserver>) -> Self {
        self.observer = observer;
        self
    }

    /// The engine models are loaded with.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The serving policy.
    pub fn policy(&self) -> &ServingPolicy {
        &self.policy
    }

    /// The pool of `spec`, created (empty) on first use with its model file at `artifact()`.
    pub fn version(&self, spec: &Arc<ModelSpec>, artifact: impl FnOnce() -> PathBuf) -> Arc<VersionPool> {
        let mut versions = self.versions.lock();
        if let Some(pool) = versions.get(spec.name.as_str()).and_then(|v| v.get(&spec.version)) {
            return pool.clone();
        }
        versions
            .entry(spec.name.clone())
            .or_default()
            .entry(spec.version)
            .or_insert_with(|| {
                let (queue_in, queue_out) = crossbeam_channel::bounded(self.policy.batch.queue_capacity.max(1));
                Arc::new(VersionPool {
                    spec: spec.clone(),
                    artifact: artifact(),
                    engine: self.engine.clone(),
                    policy: self.policy.clone(),
                    min_warm: AtomicUsize::new(0),
                    clock: self.clock.clone(),
                    observer: self.observer.clone(),
                    queue_in,
                    queue_out,
                    state: Mutex::new(PoolState::default()),
                    changed: Condvar::new(),
                    idle_workers: AtomicUsize::new(0),
                })
            })
            .clone()
    }

    /// The pool of `name`/`version`, if it was ever used.
    pub fn get(&self, name: &str, version: i64) -> Option<Arc<VersionPool>> {
        self.versions.lock().get(name).and_then(|v| v.get(&version)).cloned()
    }

    /// Every version pool.
    pub fn all(&self) -> Vec<Arc<VersionPool>> {
        self.versions.lock().values().flat_map(|v| v.values().cloned()).collect()
    }

    /// Unloads every instance idle past `keep_alive` (keeping each version's `min_warm`) and
    /// tops versions up to `min_warm`; returns how many were unloaded. The server calls this
    /// every second.
    pub fn reap(&self) -> usize {
        let now = self.clock.now();
        self.all().iter().map(|v| v.reap(now)).sum()
    }
}

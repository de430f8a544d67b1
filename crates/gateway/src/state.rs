//! Shared application state: the store, the loaded models, the settings, the rate limits.

use crate::auth::rate::RateLimiter;
use crate::auth::AccessConfig;
use crate::config::GatewayConfig;
use crate::directory::ModelDirectory;
use crate::energy::models::EnergyModels;
use crate::error::ApiResult;
use crate::metrics::Metrics;
use crate::placement::{RouterLoader, RouterSlot};
use infergate_core::{ModelSpec, PricingProfile};
use infergate_place::sim::lambda::LambdaConfig;
use infergate_runtime::InstancePool;
use infergate_store::Store;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Everything a request handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    store: Store,
    pool: Arc<InstancePool>,
    config: GatewayConfig,
    access: AccessConfig,
    data_dir: PathBuf,
    models: ModelDirectory,
    metrics: Arc<Metrics>,
    pricing: PricingProfile,
    limiter: RateLimiter,
    router: RouterSlot,
    router_loader: Option<RouterLoader>,
    route_lambda: LambdaConfig,
    route_task_usd_per_hour: f64,
    dispatcher: Option<Arc<infergate_dispatch::Dispatcher>>,
    energy: Option<EnergyModels>,
    fleet: crate::fleet::FleetConfig,
    /// Model files known to be in the data directory (`artifact_path`s), so that a request
    /// does not look at the disk.
    artifacts_present: parking_lot::Mutex<std::collections::HashSet<String>>,
    /// This process's id among the gateway replicas on the database (UUIDv7).
    replica_id: String,
    /// Replicas alive on the database, this one included (at least 1).
    live_replicas: std::sync::atomic::AtomicU64,
}

impl AppState {
    /// State over an opened store, an instance pool, the settings and the data directory the
    /// store uses; `metrics` should be the pool's observer too; answers are priced with
    /// `pricing`.
    pub fn new(
        store: Store,
        pool: Arc<InstancePool>,
        config: GatewayConfig,
        access: AccessConfig,
        data_dir: PathBuf,
        metrics: Arc<Metrics>,
        pricing: PricingProfile,
    ) -> Self {
        let (models, limiter) = (ModelDirectory::default(), RateLimiter::default());
        AppState(Arc::new(Inner {
            store,
            pool,
            config,
            access,
            data_dir,
            models,
            limiter,
            metrics,
            pricing,
            router: RouterSlot::default(),
            router_loader: None,
            route_lambda: LambdaConfig::default(),
            route_task_usd_per_hour: infergate_core::pricing::fargate_usd_per_hour(0.25, 0.5),
            dispatcher: None,
            energy: None,
            fleet: crate::fleet::FleetConfig::default(),
            artifacts_present: Default::default(),
            replica_id: uuid::Uuid::now_v7().to_string(),
            live_replicas: std::sync::atomic::AtomicU64::new(1),
        }))
    }

    /// The same state with a way to load router models (for `/predict`) and the platforms
    /// `/v1/route` prices. Call before the state is cloned (it panics otherwise: a wiring bug).
    pub fn with_router(mut self, loader: RouterLoader, lambda: LambdaConfig, task_usd_per_hour: f64) -> Self {
        let inner = Arc::get_mut(&mut self.0).expect("with_router is called before the state is shared");
        inner.router_loader = Some(loader);
        inner.route_lambda = lambda;
        inner.route_task_usd_per_hour = task_usd_per_hour;
        self
    }

    /// The same state with configured functions to dispatch to (`/v1/invoke`). Call before
    /// the state is cloned (it panics otherwise: a wiring bug).
    pub fn with_dispatcher(mut self, dispatcher: Arc<infergate_dispatch::Dispatcher>) -> Self {
        let inner = Arc::get_mut(&mut self.0).expect("with_dispatcher is called before the state is shared");
        inner.dispatcher = Some(dispatcher);
        self
    }

    /// The same state answering the energy endpoints from the predictors and priors in `dir`
    /// (`<data dir>/energy`). Call before the state is cloned (it panics otherwise: a wiring bug).
    pub fn with_energy_dir(mut self, dir: PathBuf) -> Self {
        let inner = Arc::get_mut(&mut self.0).expect("with_energy_dir is called before the state is shared");
        inner.energy = Some(EnergyModels::new(dir));
        self
    }

    /// The same state with the edge fleet controller's settings. Call before the state is
    /// cloned (it panics otherwise: a wiring bug).
    pub fn with_fleet(mut self, fleet: crate::fleet::FleetConfig) -> Self {
        let inner = Arc::get_mut(&mut self.0).expect("with_fleet is called before the state is shared");
        inner.fleet = fleet;
        self
    }

    /// The edge fleet controller's settings.
    pub fn fleet(&self) -> &crate::fleet::FleetConfig {
        &self.0.fleet
    }

    /// The devices' energy predictors, when an energy directory is set.
    pub fn energy(&self) -> Option<&EnergyModels> {
        self.0.energy.as_ref()
    }

    /// The dispatcher, when functions are configured.
    pub fn dispatcher(&self) -> Option<&Arc<infergate_dispatch::Dispatcher>> {
        self.0.dispatcher.as_ref()
    }

    /// The router model slot.
    pub fn router_slot(&self) -> &RouterSlot {
        &self.0.router
    }

    /// How router models are loaded, when this build can.
    pub fn router_loader(&self) -> Option<&RouterLoader> {
        self.0.router_loader.as_ref()
    }

    /// Lambda settings and the container task price `/v1/route` uses.
    pub fn route_platforms(&self) -> (LambdaConfig, f64) {
        (self.0.route_lambda.clone(), self.0.route_task_usd_per_hour)
    }

    /// How answers are priced.
    pub fn pricing(&self) -> &PricingProfile {
        &self.0.pricing
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.0.store
    }

    /// The instance pools of every model version.
    pub fn pool(&self) -> &Arc<InstancePool> {
        &self.0.pool
    }

    /// The gateway settings.
    pub fn config(&self) -> &GatewayConfig {
        &self.0.config
    }

    /// Who may reach the gateway (auth, CORS).
    pub fn access(&self) -> &AccessConfig {
        &self.0.access
    }

    /// This process's id among the gateway replicas sharing the database.
    pub fn replica_id(&self) -> &str {
        &self.0.replica_id
    }

    /// How many gateway replicas share the database, this one included (from the heartbeats
    /// of [`crate::replicas`]; 1 until the first).
    pub fn live_replicas(&self) -> u64 {
        self.0.live_replicas.load(std::sync::atomic::Ordering::Relaxed).max(1)
    }

    /// Records the live replica count.
    pub fn set_live_replicas(&self, n: u64) {
        self.0.live_replicas.store(n.max(1), std::sync::atomic::Ordering::Relaxed);
    }

    /// The per-key rate limits of this process.
    pub fn rate_limiter(&self) -> &RateLimiter {
        &self.0.limiter
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.0.data_dir
    }

    /// Where a model version's ONNX file is in the data directory (it may not be there yet:
    /// [`AppState::artifact`] fetches it).
    pub fn artifact_path(&self, spec: &ModelSpec) -> PathBuf {
        self.0.data_dir.join(&spec.artifact_path)
    }

    /// The version's ONNX file in the data directory, fetched from the shared object store
    /// (and checked against its SHA-256) the first time this replica needs it.
    pub async fn artifact(&self, spec: &ModelSpec) -> ApiResult<PathBuf> {
        if self.0.artifacts_present.lock().contains(&spec.artifact_path) {
            return Ok(self.artifact_path(spec));
        }
        let path = crate::registry::local_artifact(self.store(), self.data_dir(), spec).await?;
        self.0.artifacts_present.lock().insert(spec.artifact_path.clone());
        Ok(path)
    }

    /// The registry cache.
    pub fn models(&self) -> &ModelDirectory {
        &self.0.models
    }

    /// The model a request means: `name` (and `version`, else the active one), or the
    /// configured default, or the only registered model.
    pub async fn resolve_model(&self, name: Option<&str>, version: Option<i64>) -> ApiResult<Arc<ModelSpec>> {
        let default = self.config().default_model.as_deref();
        self.0.models.resolve(self.store(), name, version, default).await
    }
}

//! Shared application state: the store, the loaded models, the settings, the rate limits.

use crate::auth::rate::RateLimiter;
use crate::auth::AccessConfig;
use crate::config::GatewayConfig;
use crate::directory::ModelDirectory;
use crate::error::ApiResult;
use crate::metrics::Metrics;
use infergate_core::{ModelSpec, PricingProfile};
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
        AppState(Arc::new(Inner { store, pool, config, access, data_dir, models, limiter, metrics, pricing }))
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

    /// The per-key rate limits of this process.
    pub fn rate_limiter(&self) -> &RateLimiter {
        &self.0.limiter
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.0.data_dir
    }

    /// Where a model version's ONNX file is.
    pub fn artifact_path(&self, spec: &ModelSpec) -> PathBuf {
        self.0.data_dir.join(&spec.artifact_path)
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

//! Shared application state: the store, the loaded models, the settings.

use crate::config::GatewayConfig;
use crate::directory::ModelDirectory;
use crate::error::{ApiError, ApiResult};
use infergate_core::ModelSpec;
use infergate_runtime::{InstancePool, Lease};
use infergate_store::Store;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, SemaphorePermit};

/// Everything a request handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    store: Store,
    pool: Arc<InstancePool>,
    config: GatewayConfig,
    data_dir: PathBuf,
    models: ModelDirectory,
    compute: Semaphore,
}

impl AppState {
    /// State over an opened store, an instance pool and the data directory the store uses.
    ///
    /// At most as many images are decoded and run at once as the engine has sessions per
    /// model; further requests wait their turn (reported as `timings_ms.queue`) instead of
    /// competing for the same cores.
    pub fn new(store: Store, pool: Arc<InstancePool>, config: GatewayConfig, data_dir: PathBuf) -> Self {
        let compute = Semaphore::new(pool.engine().config().sessions.max(1));
        AppState(Arc::new(Inner { store, pool, config, data_dir, models: ModelDirectory::default(), compute }))
    }

    /// Waits for a turn to use the CPU for decoding and inference; returns the permit and
    /// how long the wait took.
    pub async fn compute_turn(&self) -> ApiResult<(SemaphorePermit<'_>, Duration)> {
        let began = Instant::now();
        let permit = self.0.compute.acquire().await.map_err(|_| ApiError::internal("compute queue closed"))?;
        Ok((permit, began.elapsed()))
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.0.store
    }

    /// The loaded model instances.
    pub fn pool(&self) -> &Arc<InstancePool> {
        &self.0.pool
    }

    /// The gateway settings.
    pub fn config(&self) -> &GatewayConfig {
        &self.0.config
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.0.data_dir
    }

    /// Where a model version's ONNX file is.
    pub fn artifact_path(&self, spec: &ModelSpec) -> PathBuf {
        self.0.data_dir.join(&spec.artifact_path)
    }

    /// The model a request means: `name` (and `version`, else the active one), or the
    /// configured default, or the only registered model.
    pub async fn resolve_model(&self, name: Option<&str>, version: Option<i64>) -> ApiResult<Arc<ModelSpec>> {
        let default = self.config().default_model.as_deref();
        self.0.models.resolve(self.store(), name, version, default).await
    }

    /// The loaded instance of `spec`, loading it (off the async threads) if needed.
    pub async fn instance(&self, spec: &Arc<ModelSpec>) -> ApiResult<Lease> {
        if let Some(instance) = self.pool().loaded(&spec.name, spec.version) {
            return Ok(Lease { instance, loaded_now: None });
        }
        let pool = self.pool().clone();
        let spec = spec.clone();
        let path = self.artifact_path(&spec);
        tokio::task::spawn_blocking(move || pool.get_or_load(&spec, &path))
            .await
            .map_err(|e| ApiError::internal(format!("model load task failed: {e}")))?
            .map_err(ApiError::from)
    }
}

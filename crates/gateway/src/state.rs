//! Shared application state and model resolution.

use crate::config::GatewayConfig;
use crate::error::{ApiError, ApiResult};
use infergate_core::ModelSpec;
use infergate_runtime::{InstancePool, Lease};
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
    data_dir: PathBuf,
}

impl AppState {
    /// State over an opened store, an instance pool and the data directory the store uses.
    pub fn new(store: Store, pool: Arc<InstancePool>, config: GatewayConfig, data_dir: PathBuf) -> Self {
        AppState(Arc::new(Inner { store, pool, config, data_dir }))
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
    pub async fn resolve_model(&self, name: Option<&str>, version: Option<i64>) -> ApiResult<ModelSpec> {
        let store = self.store();
        let name = match name.filter(|n| !n.is_empty()) {
            Some(n) => n.to_string(),
            None => match &self.config().default_model {
                Some(d) => d.clone(),
                None => {
                    let mut names: Vec<String> = store.list_models().await?.into_iter().map(|m| m.name).collect();
                    names.dedup();
                    match names.len() {
                        0 => return Err(no_models()),
                        1 => names.remove(0),
                        _ => {
                            return Err(ApiError::bad_request(
                                "model_required",
                                format!("several models are registered ({}): say which with ?model=", names.join(", ")),
                            ))
                        }
                    }
                }
            },
        };
        let found = match version {
            Some(v) => store.model_version(&name, v).await?,
            None => store.active_model(&name).await?,
        };
        found.ok_or_else(|| match version {
            Some(v) => ApiError::not_found("unknown_model_version", format!("model {name:?} has no version {v}")),
            None => ApiError::not_found(
                "unknown_model",
                format!("unknown model {name:?}: GET /v1/models lists the registered ones"),
            ),
        })
    }

    /// The loaded instance of `spec`, loading it (off the async threads) if needed.
    pub async fn instance(&self, spec: &ModelSpec) -> ApiResult<Lease> {
        let pool = self.pool().clone();
        let spec = spec.clone();
        let path = self.artifact_path(&spec);
        tokio::task::spawn_blocking(move || pool.get_or_load(&spec, &path))
            .await
            .map_err(|e| ApiError::internal(format!("model load task failed: {e}")))?
            .map_err(ApiError::from)
    }
}

fn no_models() -> ApiError {
    ApiError::not_found(
        "no_model",
        "no model is registered yet: add one with `infergate models add NAME --file model.onnx` (see the README)",
    )
}

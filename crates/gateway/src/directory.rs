//! Which model version a request means, without a database round trip per request.
//!
//! Active versions and the list of names are cached for [`REFRESH`]; a model registered or
//! activated by another process (e.g. `infergate models add` while the server runs) is seen
//! within that time.

use crate::error::{ApiError, ApiResult};
use infergate_core::ModelSpec;
use infergate_store::Store;
use parking_lot::RwLock;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a cached registry answer is trusted.
pub const REFRESH: Duration = Duration::from_secs(1);

/// A value and when it was read from the store.
type Stamped<T> = (Instant, T);

/// A read-through cache over the registry in the store.
#[derive(Default)]
pub struct ModelDirectory {
    active: RwLock<HashMap<String, Stamped<Option<Arc<ModelSpec>>>>>,
    names: RwLock<Option<Stamped<Arc<Vec<String>>>>>,
}

fn fresh<T: Clone>(entry: Option<&(Instant, T)>) -> Option<T> {
    entry.filter(|(at, _)| at.elapsed() < REFRESH).map(|(_, v)| v.clone())
}

impl ModelDirectory {
    /// The model a request means: `name` (and `version`, else the active one), or
    /// `default`, or the only registered model.
    pub async fn resolve(
        &self,
        store: &Store,
        name: Option<&str>,
        version: Option<i64>,
        default: Option<&str>,
    ) -> ApiResult<Arc<ModelSpec>> {
        let name = match name.filter(|n| !n.is_empty()).or(default) {
            Some(n) => n.to_string(),
            None => {
                let names = self.names(store).await?;
                match names.as_slice() {
                    [] => return Err(no_models()),
                    [only] => only.clone(),
                    many => {
                        return Err(ApiError::bad_request(
                            "model_required",
                            format!("several models are registered ({}): say which with ?model=", many.join(", ")),
                        ))
                    }
                }
            }
        };
        let found = match version {
            Some(v) => store.model_version(&name, v).await?.map(Arc::new),
            None => self.active(store, &name).await?,
        };
        found.ok_or_else(|| match version {
            Some(v) => ApiError::not_found("unknown_model_version", format!("model {name:?} has no version {v}")),
            None => ApiError::not_found(
                "unknown_model",
                format!("unknown model {name:?}: GET /v1/models lists the registered ones"),
            ),
        })
    }

    /// Records that `spec` is now the active version of its model (the activation handler
    /// calls this right after the store committed it, so this process switches at once).
    pub fn set_active(&self, spec: Arc<ModelSpec>) {
        self.active.write().insert(spec.name.clone(), (Instant::now(), Some(spec)));
    }

    async fn active(&self, store: &Store, name: &str) -> ApiResult<Option<Arc<ModelSpec>>> {
        if let Some(hit) = fresh(self.active.read().get(name)) {
            return Ok(hit);
        }
        let spec = store.active_model(name).await?.map(Arc::new);
        self.active.write().insert(name.to_string(), (Instant::now(), spec.clone()));
        Ok(spec)
    }

    async fn names(&self, store: &Store) -> ApiResult<Arc<Vec<String>>> {
        if let Some(hit) = fresh(self.names.read().as_ref()) {
            return Ok(hit);
        }
        let mut names: Vec<String> = store.list_models().await?.into_iter().map(|m| m.name).collect();
        names.dedup();
        let names = Arc::new(names);
        *self.names.write() = Some((Instant::now(), names.clone()));
        Ok(names)
    }
}

fn no_models() -> ApiError {
    ApiError::not_found(
        "no_model",
        "no model is registered yet: add one with `infergate models add NAME --file model.onnx` (see the README)",
    )
}

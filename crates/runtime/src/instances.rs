//! Loaded model instances, loaded on first use and shared by all requests.
//!
//! Requests that arrive while a model is loading wait for that load instead of failing.

use crate::backend::{Backend, BackendError};
use crate::engine::Engine;
use infergate_core::ModelSpec;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// A model version loaded in a backend.
pub struct Instance {
    /// The registered version this instance runs.
    pub spec: ModelSpec,
    /// The loaded model.
    pub backend: Arc<dyn Backend>,
    /// How long loading took, in milliseconds.
    pub load_ms: f64,
}

/// What [`InstancePool::get_or_load`] hands back.
pub struct Lease {
    /// The instance.
    pub instance: Arc<Instance>,
    /// `Some(load_ms)` when this call had to load the model (a cold start).
    pub loaded_now: Option<f64>,
}

type Slot = Arc<Mutex<Option<Arc<Instance>>>>;

/// Model instances keyed by name and version.
pub struct InstancePool {
    engine: Engine,
    slots: Mutex<HashMap<(String, i64), Slot>>,
}

impl InstancePool {
    /// An empty pool loading models with `engine`.
    pub fn new(engine: Engine) -> Self {
        InstancePool { engine, slots: Mutex::new(HashMap::new()) }
    }

    /// The engine models are loaded with.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The instance of `spec`, loading it from `artifact` if needed. Blocks while another
    /// caller is loading the same version, then shares its result.
    pub fn get_or_load(&self, spec: &ModelSpec, artifact: &Path) -> Result<Lease, BackendError> {
        let slot = self.slots.lock().entry((spec.name.clone(), spec.version)).or_default().clone();
        let mut guard = slot.lock();
        if let Some(instance) = guard.as_ref() {
            return Ok(Lease { instance: instance.clone(), loaded_now: None });
        }
        let began = Instant::now();
        let backend = self.engine.load(artifact)?;
        let load_ms = began.elapsed().as_secs_f64() * 1e3;
        let instance = Arc::new(Instance { spec: spec.clone(), backend, load_ms });
        *guard = Some(instance.clone());
        Ok(Lease { instance, loaded_now: Some(load_ms) })
    }

    /// The instance of `name`/`version` if it is loaded.
    pub fn loaded(&self, name: &str, version: i64) -> Option<Arc<Instance>> {
        let slot = self.slots.lock().get(&(name.to_string(), version)).cloned()?;
        let guard = slot.try_lock()?;
        guard.clone()
    }
}

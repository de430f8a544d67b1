//! The devices' predictors and the registered models' profiles as the server holds them.
//!
//! A device's predictor (`<dir>/<device>.json`, else its prior `<dir>/<device>.prior.json`) is
//! loaded on first use, off the async threads, and loaded again when the file that answers for
//! the device has changed — another modification time, length or inode (`infergate energy
//! train` renames a new file into place) — looked at no more than once a second per device,
//! like the router model of `/predict`. So training or calibrating takes effect without a
//! restart. A file that does not load is remembered as such until it changes.
//!
//! Profiles are kept by file and input shape: a registered model's file is named by its
//! SHA-256 and never changes.

use crate::error::{ApiError, ApiResult};
use infergate_energy::device::{predictor_path, prior_path, valid_device};
use infergate_energy::DeviceModel;
use infergate_profile::{ModelProfile, ProfileError};
use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// How often a device's files are looked at for changes.
pub const RECHECK: Duration = Duration::from_secs(1);

/// Profiles kept at most (each is small; the key includes a client-chosen input shape).
const MAX_PROFILES: usize = 64;

/// The identity of the file answering for a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    trained: bool,
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

struct Slot {
    stamp: Stamp,
    checked: Instant,
    loaded: Result<Arc<DeviceModel>, String>,
}

type ProfileKey = (PathBuf, Option<Vec<u64>>);

/// The energy directory's predictors and the profiles of registered models.
pub struct EnergyModels {
    dir: PathBuf,
    devices: RwLock<HashMap<String, Slot>>,
    profiles: Mutex<HashMap<ProfileKey, Arc<ModelProfile>>>,
}

/// The file that answers for `device` now (the trained predictor first), if any.
fn stamp(dir: &Path, device: &str) -> Option<Stamp> {
    [(true, predictor_path(dir, device)), (false, prior_path(dir, device))].into_iter().find_map(|(trained, path)| {
        let m = std::fs::metadata(&path).ok().filter(|m| m.is_file())?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&m);
        #[cfg(not(unix))]
        let inode = 0;
        Some(Stamp { trained, modified: m.modified().ok(), len: m.len(), inode })
    })
}

fn invalid(message: &str) -> ApiError {
    ApiError::unavailable(
        "energy_model_invalid",
        format!(
            "{message} (train it again with `infergate energy train`, or calibrate with `infergate energy calibrate`)"
        ),
    )
}

impl EnergyModels {
    /// Over the directory `dir` (`<data dir>/energy`).
    pub fn new(dir: PathBuf) -> Self {
        EnergyModels { dir, devices: RwLock::default(), profiles: Mutex::default() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The devices with a predictor or a prior, sorted.
    pub fn devices(&self) -> Vec<String> {
        infergate_energy::device::devices(&self.dir)
    }

    /// What answers for `device`: `None` when it has neither a predictor nor a prior; a 503
    /// naming the file when that file does not load.
    pub async fn get(&self, device: &str) -> ApiResult<Option<Arc<DeviceModel>>> {
        if !valid_device(device) {
            return Ok(None);
        }
        if let Some(s) = self.devices.read().get(device) {
            if s.checked.elapsed() < RECHECK {
                return s.loaded.clone().map(Some).map_err(|e| invalid(&e));
            }
        }
        let Some(stamp) = stamp(&self.dir, device) else {
            self.devices.write().remove(device);
            return Ok(None);
        };
        if let Some(s) = self.devices.write().get_mut(device) {
            if s.stamp == stamp {
                s.checked = Instant::now();
                return s.loaded.clone().map(Some).map_err(|e| invalid(&e));
            }
        }
        let (dir, name) = (self.dir.clone(), device.to_string());
        let loaded = tokio::task::spawn_blocking(move || DeviceModel::load(&dir, &name))
            .await
            .map_err(|e| ApiError::internal(format!("loading the energy predictor failed: {e}")))?;
        let loaded = match loaded {
            Ok(Some(model)) => Ok(Arc::new(model)),
            Ok(None) => return Ok(None), // removed since the stamp was taken
            Err(e) => Err(e),
        };
        let slot = Slot { stamp, checked: Instant::now(), loaded: loaded.clone() };
        self.devices.write().insert(device.to_string(), slot);
        loaded.map(Some).map_err(|e| invalid(&e))
    }

    /// The profile of the ONNX file at `path` (for `input_shape`, else the file's own input),
    /// computed off the async threads once per file and shape.
    pub async fn profile(&self, path: &Path, input_shape: Option<Vec<u64>>) -> Result<Arc<ModelProfile>, ProfileError> {
        let key = (path.to_path_buf(), input_shape);
        if let Some(p) = self.profiles.lock().get(&key) {
            return Ok(p.clone());
        }
        let (path, shape) = key.clone();
        let profile = tokio::task::spawn_blocking(move || {
            let bytes = std::fs::read(&path).map_err(|source| ProfileError::Io { path: path.clone(), source })?;
            infergate_profile::profile_bytes(&bytes, shape.as_deref())
        })
        .await
        .map_err(|e| ProfileError::InvalidModel(format!("profiling failed: {e}")))?;
        let profile = Arc::new(profile?);
        let mut cache = self.profiles.lock();
        if cache.len() >= MAX_PROFILES {
            cache.clear();
        }
        cache.insert(key, profile.clone());
        Ok(profile)
    }
}

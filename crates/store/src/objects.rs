//! Content-addressed blobs in an `object_store` (a local directory by default).

use crate::StoreError;
use bytes::Bytes;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutMode, PutOptions, PutPayload};
use std::path::Path;
use std::sync::Arc;

/// A handle on the object store that keeps uploaded images, keyed by their SHA-256.
#[derive(Clone)]
pub struct ObjectStoreHandle {
    inner: Arc<dyn ObjectStore>,
}

impl ObjectStoreHandle {
    /// A store rooted at a local directory.
    pub fn local(dir: &Path) -> Result<Self, StoreError> {
        Ok(ObjectStoreHandle { inner: Arc::new(LocalFileSystem::new_with_prefix(dir)?) })
    }

    /// Any `object_store` implementation.
    pub fn from_store(inner: Arc<dyn ObjectStore>) -> Self {
        ObjectStoreHandle { inner }
    }

    /// The key an image with this SHA-256 (hex) is stored under.
    pub fn image_key(sha256_hex: &str) -> String {
        format!("images/{}/{}", &sha256_hex[..2.min(sha256_hex.len())], sha256_hex)
    }

    /// Stores `bytes` under `key` unless something is already there (same hash, same bytes).
    pub async fn put_if_absent(&self, key: &str, bytes: Bytes) -> Result<(), StoreError> {
        let opts = PutOptions { mode: PutMode::Create, ..Default::default() };
        match self.inner.put_opts(&ObjectPath::from(key), PutPayload::from(bytes), opts).await {
            Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Reads the object at `key`.
    pub async fn get(&self, key: &str) -> Result<Bytes, StoreError> {
        Ok(self.inner.get(&ObjectPath::from(key)).await?.bytes().await?)
    }

    /// Deletes the object at `key` (nothing to do if it is not there).
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self.inner.delete(&ObjectPath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether an object exists at `key`.
    pub async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        match self.inner.head(&ObjectPath::from(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

//! Content-addressed blobs in an `object_store`: a local directory by default, or an S3 bucket.
//!
//! [`ObjectStoreHandle::from_url`] picks the backend from a URL (`s3://bucket[/prefix]`,
//! `file:///abs/path` or a plain path); every operation behaves the same on both backends.

use crate::StoreError;
use bytes::Bytes;
use futures::TryStreamExt;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::{ClientConfigKey, ObjectStore, PutMode, PutOptions, PutPayload};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The URL forms [`ObjectStoreHandle::from_url`] accepts, for error messages.
const ACCEPTED_FORMS: &str =
    "expected `s3://bucket`, `s3://bucket/prefix`, `file:///absolute/path` or a plain directory path";

/// A handle on the object store that keeps uploaded images, keyed by their SHA-256.
#[derive(Clone)]
pub struct ObjectStoreHandle {
    inner: Arc<dyn ObjectStore>,
    description: String,
}

/// One stored object, as [`ObjectStoreHandle::list`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectInfo {
    /// The object's key (relative to the handle's root or S3 prefix).
    pub key: String,
    /// The object's size in bytes.
    pub size: u64,
}

impl std::fmt::Debug for ObjectStoreHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ObjectStoreHandle").field(&self.description).finish()
    }
}

impl std::fmt::Display for ObjectStoreHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.description)
    }
}

impl ObjectStoreHandle {
    /// A store rooted at a local directory (which must exist).
    pub fn local(dir: &Path) -> Result<Self, StoreError> {
        Ok(ObjectStoreHandle {
            inner: Arc::new(LocalFileSystem::new_with_prefix(dir)?),
            description: dir.display().to_string(),
        })
    }

    /// Any `object_store` implementation.
    pub fn from_store(inner: Arc<dyn ObjectStore>) -> Self {
        let description = inner.to_string();
        ObjectStoreHandle { inner, description }
    }

    /// Opens the store a URL names, configuring S3 from the usual AWS environment variables.
    ///
    /// Accepted forms:
    /// - `s3://bucket` or `s3://bucket/some/prefix`: an S3 bucket (keys under the prefix, if any).
    ///   Endpoint, region and credentials come from the environment through
    ///   [`AmazonS3Builder::from_env`]: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    ///   `AWS_SESSION_TOKEN`, `AWS_REGION` / `AWS_DEFAULT_REGION` (default `us-east-1`),
    ///   `AWS_ENDPOINT_URL` / `AWS_ENDPOINT` (an S3-compatible server, addressed path-style unless
    ///   `AWS_VIRTUAL_HOSTED_STYLE_REQUEST=true`), `AWS_ALLOW_HTTP=true` (needed for an `http://`
    ///   endpoint). Without keys, instance/container credentials are used.
    /// - `file:///absolute/path` or a plain path: a local directory, created if missing.
    ///
    /// Anything else (another scheme, an empty bucket) is a [`StoreError::Object`] that names
    /// the accepted forms. Nothing is contacted until the first operation.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        Self::open_url(url, AmazonS3Builder::from_env())
    }

    /// Like [`from_url`](Self::from_url), but S3 is configured only from `options` (the
    /// environment is not read): keys are `object_store` S3 configuration keys such as
    /// `aws_endpoint`, `aws_access_key_id`, `aws_secret_access_key`, `aws_region`,
    /// `aws_allow_http`. Options are ignored for a local directory.
    pub fn from_url_with_options<I, K, V>(url: &str, options: I) -> Result<Self, StoreError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: Into<String>,
    {
        let mut builder = AmazonS3Builder::new();
        for (key, value) in options {
            let key = key.as_ref();
            let parsed: AmazonS3ConfigKey = key.to_ascii_lowercase().parse().map_err(|_| {
                url_error(format!("unknown S3 option {key:?} (expected e.g. aws_endpoint, aws_access_key_id)"))
            })?;
            builder = builder.with_config(parsed, value);
        }
        Self::open_url(url, builder)
    }

    fn open_url(url: &str, builder: AmazonS3Builder) -> Result<Self, StoreError> {
        let url = url.trim();
        if url.is_empty() {
            return Err(url_error(format!("empty object store URL; {ACCEPTED_FORMS}")));
        }
        if let Some(rest) = url.strip_prefix("s3://") {
            return Self::open_s3(url, rest, builder);
        }
        if let Some(rest) = url.strip_prefix("file://") {
            // `file:///abs/path` (empty host) or `file://localhost/abs/path`.
            let path = rest.strip_prefix("localhost").unwrap_or(rest);
            if !path.starts_with('/') {
                return Err(url_error(format!("{url:?}: a file URL needs an absolute path; {ACCEPTED_FORMS}")));
            }
            return Self::open_dir(Path::new(path));
        }
        if let Some((scheme, _)) = url.split_once("://") {
            return Err(url_error(format!("{url:?}: unsupported scheme {scheme:?}; {ACCEPTED_FORMS}")));
        }
        Self::open_dir(Path::new(url))
    }

    fn open_dir(dir: &Path) -> Result<Self, StoreError> {
        let data_dir = |source| StoreError::DataDir { path: dir.to_path_buf(), source };
        std::fs::create_dir_all(dir).map_err(data_dir)?;
        let dir: PathBuf = std::fs::canonicalize(dir).map_err(data_dir)?;
        Self::local(&dir)
    }

    fn open_s3(url: &str, rest: &str, builder: AmazonS3Builder) -> Result<Self, StoreError> {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(url_error(format!("{url:?}: the bucket name is empty; {ACCEPTED_FORMS}")));
        }
        if rest.contains(['?', '#']) || bucket.contains(['@', ':']) {
            return Err(url_error(format!(
                "{url:?}: put credentials and options in AWS_* environment variables, not the URL; {ACCEPTED_FORMS}"
            )));
        }
        let prefix = prefix.trim_matches('/');
        let endpoint = builder.get_config_value(&AmazonS3ConfigKey::Endpoint);
        let allow_http = builder.get_config_value(&AmazonS3ConfigKey::Client(ClientConfigKey::AllowHttp));
        if let Some(endpoint) = &endpoint {
            let allowed = allow_http
                .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "on" | "yes" | "y"));
            if endpoint.starts_with("http://") && !allowed {
                return Err(url_error(format!(
                    "S3 endpoint {endpoint:?} is plain HTTP; set AWS_ALLOW_HTTP=true to allow it"
                )));
            }
        }
        let s3: Arc<dyn ObjectStore> = Arc::new(builder.with_bucket_name(bucket).build()?);
        let inner: Arc<dyn ObjectStore> =
            if prefix.is_empty() { s3 } else { Arc::new(PrefixStore::new(s3, ObjectPath::from(prefix))) };
        let mut description = format!("s3://{bucket}");
        if !prefix.is_empty() {
            description = format!("{description}/{prefix}");
        }
        if let Some(endpoint) = endpoint {
            description = format!("{description} (endpoint {})", strip_userinfo(&endpoint));
        }
        Ok(ObjectStoreHandle { inner, description })
    }

    /// A human description of where objects live (`s3://bucket/prefix` or a local path), without secrets.
    pub fn describe(&self) -> &str {
        &self.description
    }

    /// The key an image with this SHA-256 (hex) is stored under.
    pub fn image_key(sha256_hex: &str) -> String {
        format!("images/{}/{}", &sha256_hex[..2.min(sha256_hex.len())], sha256_hex)
    }

    /// Stores `bytes` under `key` unless something is already there (same hash, same bytes);
    /// returns whether this call created the object.
    ///
    /// On S3 this is a conditional put (`If-None-Match: *`), which AWS S3 and most
    /// S3-compatible servers support.
    pub async fn put_if_absent(&self, key: &str, bytes: Bytes) -> Result<bool, StoreError> {
        let opts = PutOptions { mode: PutMode::Create, ..Default::default() };
        match self.inner.put_opts(&ObjectPath::from(key), PutPayload::from(bytes), opts).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Stores `bytes` under `key` again if the object is gone; returns whether it had to.
    ///
    /// For a writer that found its object already there and then wrote a row pointing at it:
    /// a concurrent cleanup (history deletion, `store check --repair`) may have deleted the
    /// object between the two, and such a cleanup holds [`crate::Store::pause_reference_writes`]
    /// while it deletes, so once the row is in, this check sees the final state.
    pub async fn restore_if_missing(&self, key: &str, bytes: Bytes) -> Result<bool, StoreError> {
        if self.exists(key).await? {
            return Ok(false);
        }
        self.put(key, bytes).await?;
        Ok(true)
    }

    /// Stores `bytes` under `key`, replacing whatever is there.
    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), StoreError> {
        self.inner.put(&ObjectPath::from(key), PutPayload::from(bytes)).await?;
        Ok(())
    }

    /// Reads the object at `key` (a missing one is `StoreError::Object(object_store::Error::NotFound)`).
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

    /// Uploads the file at `path` under `key` unless an object is there already (for
    /// content-addressed keys such as model files: same key, same bytes). Streams the file:
    /// large ones go up as a multipart upload, never whole in memory.
    pub async fn put_file_if_absent(&self, key: &str, path: &Path) -> Result<(), StoreError> {
        if self.exists(key).await? {
            return Ok(());
        }
        let io = |e: std::io::Error| StoreError::DataDir { path: path.to_path_buf(), source: e };
        let mut file = tokio::fs::File::open(path).await.map_err(io)?;
        let mut writer = object_store::buffered::BufWriter::new(self.inner.clone(), ObjectPath::from(key));
        tokio::io::copy(&mut file, &mut writer).await.map_err(io)?;
        tokio::io::AsyncWriteExt::shutdown(&mut writer).await.map_err(io)?;
        Ok(())
    }

    /// Streams the object at `key` into `file` (from its current position); returns its size
    /// and SHA-256 (lowercase hex) for the caller to check.
    pub async fn download_to(&self, key: &str, file: &mut tokio::fs::File) -> Result<(u64, String), StoreError> {
        use sha2::Digest;
        use tokio::io::AsyncWriteExt;
        let mut stream = self.inner.get(&ObjectPath::from(key)).await?.into_stream();
        let (mut size, mut hasher) = (0u64, sha2::Sha256::new());
        let io = |e: std::io::Error| StoreError::DataDir { path: PathBuf::from(key), source: e };
        while let Some(chunk) = stream.try_next().await? {
            hasher.update(&chunk);
            size += chunk.len() as u64;
            file.write_all(&chunk).await.map_err(io)?;
        }
        file.flush().await.map_err(io)?;
        Ok((size, hex::encode(hasher.finalize())))
    }

    /// Every object under `prefix` (recursively), sorted by key; `""` lists everything.
    ///
    /// The prefix matches whole path segments: `images` lists `images/ab/…` but not `images2/…`.
    pub async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        Ok(self.list_with_modified(prefix).await?.into_iter().map(|(info, _)| info).collect())
    }

    /// Like [`list`](Self::list), with when each object was last written.
    pub async fn list_with_modified(
        &self,
        prefix: &str,
    ) -> Result<Vec<(ObjectInfo, chrono::DateTime<chrono::Utc>)>, StoreError> {
        let prefix = prefix.trim_matches('/');
        let prefix = (!prefix.is_empty()).then(|| ObjectPath::from(prefix));
        let mut out: Vec<(ObjectInfo, chrono::DateTime<chrono::Utc>)> = self
            .inner
            .list(prefix.as_ref())
            .map_ok(|meta| (ObjectInfo { key: meta.location.to_string(), size: meta.size }, meta.last_modified))
            .try_collect()
            .await?;
        out.sort_by(|a, b| a.0.key.cmp(&b.0.key));
        Ok(out)
    }

    /// Streams the object at `key` into `target` under the same key, replacing what is there
    /// (large objects go up as a multipart upload, never whole in memory); returns the size
    /// and SHA-256 (lowercase hex) of the bytes read.
    pub async fn copy_to(&self, key: &str, target: &ObjectStoreHandle) -> Result<(u64, String), StoreError> {
        use sha2::Digest;
        let mut stream = self.inner.get(&ObjectPath::from(key)).await?.into_stream();
        let mut writer = object_store::buffered::BufWriter::new(target.inner.clone(), ObjectPath::from(key));
        let (mut size, mut hasher) = (0u64, sha2::Sha256::new());
        let copied = async {
            while let Some(chunk) = stream.try_next().await? {
                hasher.update(&chunk);
                size += chunk.len() as u64;
                writer.put(chunk).await?;
            }
            Ok::<_, object_store::Error>(())
        }
        .await;
        if let Err(e) = copied {
            let _ = writer.abort().await;
            return Err(e.into());
        }
        tokio::io::AsyncWriteExt::shutdown(&mut writer)
            .await
            .map_err(|e| StoreError::Object(object_store::Error::Generic { store: "copy", source: Box::new(e) }))?;
        Ok((size, hex::encode(hasher.finalize())))
    }

    /// Reads the object at `key` as a stream and returns its size and SHA-256 (lowercase hex).
    pub async fn sha256(&self, key: &str) -> Result<(u64, String), StoreError> {
        use sha2::Digest;
        let mut stream = self.inner.get(&ObjectPath::from(key)).await?.into_stream();
        let (mut size, mut hasher) = (0u64, sha2::Sha256::new());
        while let Some(chunk) = stream.try_next().await? {
            hasher.update(&chunk);
            size += chunk.len() as u64;
        }
        Ok((size, hex::encode(hasher.finalize())))
    }
}

/// A configuration error about the object store URL.
fn url_error(message: String) -> StoreError {
    StoreError::Object(object_store::Error::Generic { store: "url", source: message.into() })
}

/// `scheme://user:pass@host/…` without the `user:pass@` part.
fn strip_userinfo(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
            format!("{scheme}://{host}{path}")
        }
        None => url.to_string(),
    }
}

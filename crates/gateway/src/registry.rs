//! Registering model versions: copy or download the ONNX file (SHA-256 checked, atomically
//! renamed into the data directory), load it once to read and check its signature, then
//! record it in the store. Also `GET /v1/models`.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use futures::StreamExt;
use infergate_core::Layout;
use infergate_core::{validate_model_name, ModelSignature, ModelSpec, PreprocessSpec, Task};
use infergate_runtime::Engine;
use infergate_store::{NewModelVersion, Store, StoreError};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where a model file comes from.
#[derive(Debug, Clone)]
pub enum ArtifactSource {
    /// A local file, copied into the data directory.
    File(PathBuf),
    /// An HTTP(S) URL, downloaded.
    Url(String),
}

/// A request to register a model version.
#[derive(Debug, Clone)]
pub struct AddModel {
    /// Model name.
    pub name: String,
    /// Explicit version (default: next).
    pub version: Option<i64>,
    /// The ONNX file.
    pub source: ArtifactSource,
    /// Expected SHA-256 (hex); required for URLs, checked for files when given.
    pub sha256: Option<String>,
    /// Class names: a local file or URL with one name per line.
    pub labels: Option<ArtifactSource>,
    /// Output meaning.
    pub task: Task,
    /// Preprocessing.
    pub preprocess: PreprocessSpec,
    /// Activate even if it is not the first version.
    pub activate: bool,
}

/// Why a model could not be registered.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The request itself is wrong.
    #[error("{0}")]
    Invalid(String),
    /// Downloading or reading the artifact failed.
    #[error("{0}")]
    Fetch(String),
    /// The file is not what the hash says.
    #[error("SHA-256 mismatch for {source_name}: expected {expected}, got {actual}; nothing was saved")]
    HashMismatch {
        /// File or URL.
        source_name: String,
        /// What the caller said.
        expected: String,
        /// What we computed.
        actual: String,
    },
    /// The model does not load or does not fit its preprocessing.
    #[error("{0}")]
    Model(String),
    /// The store failed or refused.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        match e {
            RegistryError::Store(s) => s.into(),
            RegistryError::Fetch(m) => ApiError::unavailable("fetch_failed", m),
            other => ApiError::bad_request("invalid_model", other.to_string()),
        }
    }
}

/// Largest model file we download (2 GiB).
pub const MAX_ARTIFACT_BYTES: u64 = 2 << 30;

/// Registers a model version.
pub async fn add_model(
    store: &Store,
    engine: &Engine,
    data_dir: &Path,
    req: AddModel,
) -> Result<ModelSpec, RegistryError> {
    validate_model_name(&req.name).map_err(RegistryError::Invalid)?;
    req.preprocess.validate().map_err(RegistryError::Invalid)?;
    let expected = req.sha256.as_deref().map(normalise_hex).transpose()?;
    if matches!(req.source, ArtifactSource::Url(_)) && expected.is_none() {
        return Err(RegistryError::Invalid("--sha256 is required with --url (the download is verified)".into()));
    }
    let labels = match &req.labels {
        Some(src) => parse_labels(&fetch_small(src).await?)?,
        None => Vec::new(),
    };
    let models_dir = data_dir.join("models");
    std::fs::create_dir_all(&models_dir).map_err(|e| RegistryError::Fetch(format!("{}: {e}", models_dir.display())))?;
    let (tmp, sha256, size) = fetch_artifact(&req.source, expected.as_deref(), &models_dir).await?;
    let signature = probe(engine, tmp.path(), &req.preprocess, labels.len()).await?;
    let relative = format!("models/{sha256}.onnx");
    let local = data_dir.join(&relative);
    tmp.persist(&local).map_err(|e| {
        RegistryError::Fetch(format!("cannot store the model in {}: {}", models_dir.display(), e.error))
    })?;
    // The object store holds every version's file, so that another replica (or this one
    // with a fresh data directory) can fetch it; the file in the data directory is a cache.
    store.objects().put_file_if_absent(&relative, &local).await?;
    let source = match &req.source {
        ArtifactSource::File(p) => p.display().to_string(),
        ArtifactSource::Url(u) => u.clone(),
    };
    let added = store
        .add_model_version(NewModelVersion {
            name: req.name,
            version: req.version,
            sha256,
            artifact_path: relative,
            size_bytes: size as i64,
            task: req.task,
            preprocess: req.preprocess,
            labels,
            signature,
            source,
            activate: req.activate,
        })
        .await?;
    // Now that a row references it, make sure a concurrent `store check --repair` did not
    // take the file for an orphan between the upload and the row (it holds
    // `pause_reference_writes` while it deletes, so this sees its final state).
    store.objects().put_file_if_absent(&added.artifact_path, &local).await?;
    Ok(added)
}

fn normalise_hex(s: &str) -> Result<String, RegistryError> {
    let s = s.trim().to_ascii_lowercase();
    if s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(s)
    } else {
        Err(RegistryError::Invalid(format!("{s:?} is not a SHA-256 (64 hex digits)")))
    }
}

fn parse_labels(text: &[u8]) -> Result<Vec<String>, RegistryError> {
    let text = std::str::from_utf8(text).map_err(|_| RegistryError::Invalid("the labels file is not UTF-8".into()))?;
    let mut labels: Vec<String> = text.lines().map(|l| l.trim().to_string()).collect();
    while labels.last().is_some_and(|l| l.is_empty()) {
        labels.pop();
    }
    Ok(labels)
}

async fn fetch_small(src: &ArtifactSource) -> Result<Vec<u8>, RegistryError> {
    match src {
        ArtifactSource::File(p) => {
            tokio::fs::read(p).await.map_err(|e| RegistryError::Fetch(format!("cannot read {}: {e}", p.display())))
        }
        ArtifactSource::Url(u) => {
            let resp = get(u).await?;
            Ok(resp.bytes().await.map_err(|e| RegistryError::Fetch(format!("download of {u} failed: {e}")))?.to_vec())
        }
    }
}

async fn get(url: &str) -> Result<reqwest::Response, RegistryError> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(RegistryError::Invalid(format!("{url:?} is not an http(s) URL")));
    }
    let resp = reqwest::get(url).await.map_err(|e| RegistryError::Fetch(format!("cannot download {url}: {e}")))?;
    if !resp.status().is_success() {
        return Err(RegistryError::Fetch(format!("cannot download {url}: HTTP {}", resp.status())));
    }
    Ok(resp)
}

/// Streams the artifact into a temporary file in `dir` while hashing it and checks the hash.
/// The caller renames the file into place once the model has been checked; on any failure
/// the temporary file is removed when dropped, so nothing is left behind.
async fn fetch_artifact(
    src: &ArtifactSource,
    expected: Option<&str>,
    dir: &Path,
) -> Result<(tempfile::NamedTempFile, String, u64), RegistryError> {
    let io_err = |e: std::io::Error| RegistryError::Fetch(format!("cannot write into {}: {e}", dir.display()));
    let mut tmp = tempfile::Builder::new().prefix(".download-").tempfile_in(dir).map_err(io_err)?;
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    let mut write = |chunk: &[u8]| -> Result<(), RegistryError> {
        size += chunk.len() as u64;
        if size > MAX_ARTIFACT_BYTES {
            return Err(RegistryError::Fetch(format!("model is over {MAX_ARTIFACT_BYTES} bytes")));
        }
        hasher.update(chunk);
        tmp.write_all(chunk).map_err(io_err)
    };
    let name = match src {
        ArtifactSource::File(path) => {
            let mut file = std::fs::File::open(path)
                .map_err(|e| RegistryError::Fetch(format!("cannot read {}: {e}", path.display())))?;
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = std::io::Read::read(&mut file, &mut buf)
                    .map_err(|e| RegistryError::Fetch(format!("cannot read {}: {e}", path.display())))?;
                if n == 0 {
                    break;
                }
                write(&buf[..n])?;
            }
            path.display().to_string()
        }
        ArtifactSource::Url(url) => {
            let mut stream = get(url).await?.bytes_stream();
            while let Some(chunk) = stream.next().await {
                write(&chunk.map_err(|e| RegistryError::Fetch(format!("download of {url} failed: {e}")))?)?;
            }
            url.clone()
        }
    };
    let actual = hex::encode(hasher.finalize());
    if let Some(exp) = expected {
        if exp != actual {
            return Err(RegistryError::HashMismatch { source_name: name, expected: exp.to_string(), actual });
        }
    }
    tmp.as_file().sync_all().map_err(io_err)?;
    Ok((tmp, actual, size))
}

/// Checks that a registered version still loads and runs (before `models activate` or
/// `models rollback` make it active without a server).
pub async fn check_loads(
    engine: &Engine,
    store: &Store,
    spec: &ModelSpec,
    data_dir: &Path,
) -> Result<(), RegistryError> {
    let path = local_artifact(store, data_dir, spec).await?;
    probe(engine, &path, &spec.preprocess, spec.labels.len()).await.map(|_| ())
}

/// Puts the model files of `models` that are in the data directory but not in the object
/// store into it; returns how many went up. Files that are not there or whose size is not the
/// registered one are left alone (the object store's copy, if any, is the reference).
pub async fn publish_local_artifacts(
    store: &Store,
    data_dir: &Path,
    models: &[ModelSpec],
) -> Result<usize, StoreError> {
    let mut published = 0;
    for spec in models {
        let local = data_dir.join(&spec.artifact_path);
        let ours = tokio::fs::metadata(&local).await.is_ok_and(|m| m.is_file() && m.len() as i64 == spec.size_bytes);
        if ours && !store.objects().exists(&spec.artifact_path).await? {
            store.objects().put_file_if_absent(&spec.artifact_path, &local).await?;
            published += 1;
        }
    }
    Ok(published)
}

/// The version's model file in the data directory, fetched from the object store first when
/// it is not there (a replica that did not register it, a fresh data directory) and checked
/// against the registered SHA-256 before it is used.
pub async fn local_artifact(store: &Store, data_dir: &Path, spec: &ModelSpec) -> Result<PathBuf, RegistryError> {
    let key = &spec.artifact_path;
    let relative = Path::new(key);
    if relative.is_absolute() || relative.components().any(|c| !matches!(c, std::path::Component::Normal(_))) {
        return Err(RegistryError::Fetch(format!(
            "model {} v{}: stored artifact path {key:?} is not a plain relative path",
            spec.name, spec.version
        )));
    }
    let path = data_dir.join(relative);
    if tokio::fs::metadata(&path).await.is_ok_and(|m| m.is_file() && m.len() as i64 == spec.size_bytes) {
        return Ok(path);
    }
    let dir = path.parent().unwrap_or(data_dir).to_path_buf();
    let fetch_err = |what: String| {
        RegistryError::Fetch(format!(
            "model {} v{}: cannot fetch {key} from the object store: {what}",
            spec.name, spec.version
        ))
    };
    tokio::fs::create_dir_all(&dir).await.map_err(|e| fetch_err(format!("{}: {e}", dir.display())))?;
    let tmp = tempfile::Builder::new().prefix(".fetch-").tempfile_in(&dir).map_err(|e| fetch_err(e.to_string()))?;
    let mut file = tokio::fs::File::from_std(tmp.reopen().map_err(|e| fetch_err(e.to_string()))?);
    let (_, sha256) = store.objects().download_to(key, &mut file).await.map_err(|e| fetch_err(e.to_string()))?;
    file.sync_all().await.map_err(|e| fetch_err(e.to_string()))?;
    if sha256 != spec.sha256 {
        return Err(RegistryError::HashMismatch {
            source_name: format!("object {key}"),
            expected: spec.sha256.clone(),
            actual: sha256,
        });
    }
    tmp.persist(&path).map_err(|e| fetch_err(e.error.to_string()))?;
    Ok(path)
}

/// Loads the artifact once, runs a zero image through it, and checks it fits the
/// preprocessing and the labels.
async fn probe(
    engine: &Engine,
    path: &Path,
    pre: &PreprocessSpec,
    labels: usize,
) -> Result<ModelSignature, RegistryError> {
    let engine = engine.clone();
    let path = path.to_path_buf();
    let pre = pre.clone();
    tokio::task::spawn_blocking(move || {
        let backend = engine.load(&path).map_err(|e| RegistryError::Model(format!("{e}")))?;
        let sig = backend.io().clone();
        let want = pre.tensor_shape(1);
        let fits = sig.input_shape.len() == 4
            && sig.input_shape.iter().zip(want).skip(1).all(|(&d, w)| d < 0 || d as usize == w);
        if !fits {
            let layout = if pre.layout == Layout::Nchw { "nchw" } else { "nhwc" };
            return Err(RegistryError::Model(format!(
                "the model input {:?} does not take {layout} images of {}x{} (set --input-size/--layout)",
                sig.input_shape, pre.input_size, pre.input_size
            )));
        }
        let zeros = vec![0f32; want.iter().product()];
        let out =
            backend.run(&want, &zeros).map_err(|e| RegistryError::Model(format!("smoke inference failed: {e}")))?;
        let classes = out.output.data.len();
        if labels > 0 && labels != classes {
            return Err(RegistryError::Model(format!(
                "the labels file has {labels} names but the model outputs {classes} classes"
            )));
        }
        Ok(sig)
    })
    .await
    .map_err(|e| RegistryError::Model(format!("probe task failed: {e}")))?
}

/// One model version as listed by `GET /v1/models`.
#[derive(Debug, serde::Serialize)]
pub struct ModelListing {
    #[serde(flatten)]
    spec: ModelSummary,
    /// Whether an instance is loaded in this process.
    loaded: bool,
    /// Instances loaded, instances loading, requests waiting (in this process).
    instances: usize,
    loading: usize,
    queue_depth: usize,
}

#[derive(Debug, serde::Serialize)]
struct ModelSummary {
    name: String,
    version: i64,
    active: bool,
    task: Task,
    sha256: String,
    size_bytes: i64,
    classes: usize,
    created_at: String,
    signature: ModelSignature,
    preprocess: PreprocessSpec,
}

/// `GET /v1/models`: every registered version.
pub async fn list_handler(State(state): State<AppState>) -> ApiResult<Json<serde_json::Value>> {
    let models: Vec<ModelListing> = state
        .store()
        .list_models()
        .await?
        .into_iter()
        .map(|m| {
            let status = state.pool().get(&m.name, m.version).map(|p| p.status());
            let (instances, loading, queue_depth) =
                status.map(|s| (s.instances, s.loading, s.queue_depth)).unwrap_or_default();
            (m, instances, loading, queue_depth)
        })
        .map(|(m, instances, loading, queue_depth)| ModelListing {
            loaded: instances > 0,
            instances,
            loading,
            queue_depth,
            spec: ModelSummary {
                classes: m.num_classes(),
                name: m.name,
                version: m.version,
                active: m.active,
                task: m.task,
                sha256: m.sha256,
                size_bytes: m.size_bytes,
                created_at: m.created_at,
                signature: m.signature,
                preprocess: m.preprocess,
            },
        })
        .collect();
    Ok(Json(serde_json::json!({ "models": models })))
}

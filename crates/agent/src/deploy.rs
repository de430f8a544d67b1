//! `POST /deploy` (and a deployment pulled from the desired state): download streamed into a
//! temporary file next to the models with a size limit, SHA-256 computed while streaming and
//! compared, fsync and rename to `models/<sha256>.onnx`, load and one smoke inference, then the
//! swap. Until the swap the running model keeps serving; if anything fails before it, the running
//! model is untouched: `failed` for a bad download, hash or size (the new file is gone), and
//! `rolled_back` for a model that does not load or run (its file removed, the previous model in
//! use). One deployment at a time; after each the agent sends a heartbeat at once, its report.
//! A download from the controller's own address carries the device token and id (the controller
//! serves artifacts to its devices only); a download from anywhere else carries no credentials.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::StreamExt;
use infergate_core::fleet::{DeployCommand, DeploymentReport, DEVICE_ID_HEADER, SHA256_HEADER};
use infergate_runtime::{Backend, Engine};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::agent::Agent;
use crate::metrics::EnergyTracker;
use crate::runner::{synthetic_input, INPUT_SEED};
use crate::state::{model_file_name, ModelRecord};

/// Why a deployment did not happen.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DeployError {
    /// Another deployment is in progress.
    #[error("a deployment is already in progress")]
    Busy,
    /// The command is unusable (bad URL, bad hash format).
    #[error("{0}")]
    Invalid(String),
    /// The file is larger than `--max-model-mb`.
    #[error("the model is larger than the limit of {limit} bytes (--max-model-mb)")]
    TooLarge {
        /// The limit, bytes.
        limit: u64,
    },
    /// The file is not the one announced.
    #[error("SHA-256 mismatch: expected {expected}, downloaded {got}")]
    HashMismatch {
        /// What the command (or the server's header) said.
        expected: String,
        /// What arrived.
        got: String,
    },
    /// The download failed (unreachable, HTTP error, cut short).
    #[error("download failed: {0}")]
    Download(String),
    /// The model does not load or its smoke inference fails.
    #[error("the new model failed to load or run, the previous one stays: {0}")]
    Load(String),
    /// Disk trouble.
    #[error("{0}")]
    Io(String),
}

impl DeployError {
    /// The HTTP status of `POST /deploy`.
    pub fn http_status(&self) -> u16 {
        match self {
            DeployError::Busy => 409,
            DeployError::Invalid(_) | DeployError::HashMismatch { .. } | DeployError::Load(_) => 422,
            DeployError::TooLarge { .. } => 413,
            DeployError::Download(_) => 502,
            DeployError::Io(_) => 500,
        }
    }

    /// A short machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            DeployError::Busy => "deploy_in_progress",
            DeployError::Invalid(_) => "invalid_command",
            DeployError::TooLarge { .. } => "too_large",
            DeployError::HashMismatch { .. } => "sha256_mismatch",
            DeployError::Download(_) => "download_failed",
            DeployError::Load(_) => "model_failed",
            DeployError::Io(_) => "io",
        }
    }

    /// The deployment's state in the report: `rolled_back` when the new model was installed and
    /// failed, else `failed`.
    pub fn report_state(&self) -> &'static str {
        match self {
            DeployError::Load(_) => "rolled_back",
            _ => "failed",
        }
    }
}

/// A deployment that went through.
#[derive(Debug, Clone)]
pub struct Deployed {
    /// The model now in use.
    pub record: ModelRecord,
    /// Its file.
    pub path: PathBuf,
    /// True when that deployment was already the one in use (nothing was done).
    pub already: bool,
}

/// Loads `path` and runs one inference on a synthetic input. Blocking.
pub fn load_checked(engine: &Engine, path: &Path) -> Result<Arc<dyn Backend>, String> {
    let backend = engine.load(path).map_err(|e| e.to_string())?;
    let (shape, data) = synthetic_input(backend.io(), INPUT_SEED).map_err(|e| format!("smoke inference: {e}"))?;
    backend.run(&shape, &data).map_err(|e| format!("smoke inference: {e}"))?;
    Ok(backend)
}

fn io_err(what: &str) -> impl Fn(std::io::Error) -> DeployError + '_ {
    move |e| DeployError::Io(format!("{what}: {e}"))
}

fn validate(cmd: &DeployCommand) -> Result<Option<String>, DeployError> {
    if cmd.model_name.trim().is_empty() {
        return Err(DeployError::Invalid("model_name must not be empty".into()));
    }
    match reqwest::Url::parse(&cmd.model_url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
        _ => return Err(DeployError::Invalid(format!("model_url {:?} is not an http(s) URL", cmd.model_url))),
    }
    if let Some(b) = cmd.energy_budget_mwh.filter(|b| !b.is_finite() || *b < 0.0) {
        return Err(DeployError::Invalid(format!("energy_budget_mwh {b} must be a non-negative number")));
    }
    if let Some(p) = cmd.predicted_energy_mwh.filter(|p| !p.is_finite() || *p < 0.0) {
        return Err(DeployError::Invalid(format!("predicted_energy_mwh {p} must be a non-negative number")));
    }
    match &cmd.sha256 {
        None => Ok(None),
        Some(h) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => Ok(Some(h.to_ascii_lowercase())),
        Some(h) => Err(DeployError::Invalid(format!("sha256 {h:?} is not 64 hex digits"))),
    }
}

struct Downloaded {
    file: tempfile::NamedTempFile,
    sha256: String,
    size: u64,
    header_sha256: Option<String>,
}

/// Whether `url` is on the controller at `base` (same scheme, host and port): only there does the
/// download carry the device's credentials.
fn same_origin(url: &str, base: &str) -> bool {
    match (reqwest::Url::parse(url), reqwest::Url::parse(base)) {
        (Ok(a), Ok(b)) => {
            a.scheme() == b.scheme()
                && a.host_str() == b.host_str()
                && a.port_or_known_default() == b.port_or_known_default()
        }
        _ => false,
    }
}

async fn download(
    http: &reqwest::Client,
    url: &str,
    credentials: Option<(&str, &str)>,
    dir: &Path,
    limit: u64,
) -> Result<Downloaded, DeployError> {
    let failed = |e: &dyn std::fmt::Display| DeployError::Download(format!("GET {url}: {e}"));
    let mut req = http.get(url);
    if let Some((token, device_id)) = credentials {
        req = req.bearer_auth(token).header(DEVICE_ID_HEADER, device_id);
    }
    let resp = req.send().await.map_err(|e| failed(&e))?;
    if !resp.status().is_success() {
        return Err(failed(&format!("HTTP {}", resp.status())));
    }
    if resp.content_length().is_some_and(|len| len > limit) {
        return Err(DeployError::TooLarge { limit });
    }
    let header_sha256 =
        resp.headers().get(SHA256_HEADER).and_then(|v| v.to_str().ok()).map(|v| v.trim().to_lowercase());
    let temp = tempfile::Builder::new()
        .prefix(".download-")
        .suffix(".part")
        .tempfile_in(dir)
        .map_err(io_err("cannot create a temporary file"))?;
    let mut out = tokio::fs::File::from_std(temp.reopen().map_err(io_err("cannot open the temporary file"))?);
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut body = resp.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| failed(&e))?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(DeployError::TooLarge { limit });
        }
        hasher.update(&chunk);
        out.write_all(&chunk).await.map_err(io_err("writing the model"))?;
    }
    out.flush().await.map_err(io_err("writing the model"))?;
    out.sync_all().await.map_err(io_err("syncing the model"))?;
    Ok(Downloaded { file: temp, sha256: hex::encode(hasher.finalize()), size, header_sha256 })
}

impl Agent {
    /// Deploys `cmd`: see the module documentation. The result is also recorded as the last
    /// deployment and sent to the controller with a heartbeat.
    pub async fn deploy(&self, cmd: DeployCommand) -> Result<Deployed, DeployError> {
        let Ok(_guard) = self.inner.deploy_lock.try_lock() else { return Err(DeployError::Busy) };
        let result = self.deploy_locked(&cmd).await;
        *self.inner.deploying.lock() = None;
        match &result {
            Ok(d) if d.already => {}
            Ok(d) => {
                tracing::info!(model = %cmd.model_name, sha256 = %d.record.sha256, "deployed");
                self.record(&cmd, "ready", None);
            }
            Err(e) => {
                tracing::warn!(model = %cmd.model_name, url = %cmd.model_url, error = %e, "deployment {}", e.report_state());
                self.record(&cmd, e.report_state(), Some(e.to_string()));
            }
        }
        self.inner.heartbeat_now.notify_one();
        result
    }

    fn record(&self, cmd: &DeployCommand, state: &str, error: Option<String>) {
        let mut p = self.inner.persisted.lock();
        p.last_deployment = Some(DeploymentReport {
            deployment_id: cmd.deployment_id.clone(),
            model_name: cmd.model_name.clone(),
            state: state.into(),
            error,
        });
        match state {
            "ready" | "downloading" => {
                if state == "ready" && p.failed_deployment_id == cmd.deployment_id {
                    p.failed_deployment_id = None;
                }
            }
            _ => {
                if cmd.deployment_id.is_some() {
                    p.failed_deployment_id = cmd.deployment_id.clone();
                }
            }
        }
        self.save_locked(&p);
    }

    async fn deploy_locked(&self, cmd: &DeployCommand) -> Result<Deployed, DeployError> {
        let inner = &self.inner;
        let expected = validate(cmd)?;
        let current = inner.persisted.lock().current.clone();
        if let Some(cur) = current.filter(|c| cmd.deployment_id.is_some() && c.deployment_id == cmd.deployment_id) {
            if inner.model.lock().is_some() {
                let path = inner.models_dir.join(cur.file_name());
                return Ok(Deployed { record: cur, path, already: true });
            }
        }
        *inner.deploying.lock() = Some(cmd.clone());
        self.record(cmd, "downloading", None);
        self.inner.heartbeat_now.notify_one();

        let config = &inner.config;
        let on_controller = config.controller_base().is_some_and(|base| same_origin(&cmd.model_url, &base));
        let credentials = on_controller.then_some((config.token.as_str(), config.device_id.as_str()));
        let got = download(&inner.http, &cmd.model_url, credentials, &inner.models_dir, config.max_model_bytes).await?;
        let expected = expected.or_else(|| got.header_sha256.clone());
        if let Some(expected) = expected.filter(|e| *e != got.sha256) {
            return Err(DeployError::HashMismatch { expected, got: got.sha256 });
        }
        let path = inner.models_dir.join(model_file_name(&got.sha256));
        got.file.persist(&path).map_err(|e| DeployError::Io(format!("installing {}: {}", path.display(), e.error)))?;
        sync_dir(&inner.models_dir);
        let record = ModelRecord {
            model_name: cmd.model_name.clone(),
            sha256: got.sha256.clone(),
            size_bytes: got.size,
            model_url: cmd.model_url.clone(),
            version: cmd.version,
            deployment_id: cmd.deployment_id.clone(),
            energy_budget_mwh: cmd.energy_budget_mwh,
            predicted_energy_mwh: cmd.predicted_energy_mwh,
            installed_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        };
        let (engine, load_path) = (inner.engine.clone(), path.clone());
        let loaded = tokio::task::spawn_blocking(move || load_checked(&engine, &load_path))
            .await
            .unwrap_or_else(|e| Err(format!("the runtime crashed loading the model: {e}")));
        let backend = match loaded {
            Ok(b) => b,
            Err(e) => {
                if !inner.persisted.lock().kept_files().contains(&record.file_name()) {
                    let _ = std::fs::remove_file(&path);
                }
                return Err(DeployError::Load(e));
            }
        };
        self.swap(record.clone(), backend).await;
        Ok(Deployed { record, path, already: false })
    }

    /// The new model replaces the running one: a run on the old model stops, the old model
    /// becomes the last good one, files of older models are deleted.
    async fn swap(&self, record: ModelRecord, backend: Arc<dyn Backend>) {
        let inner = &self.inner;
        let running = inner.run.lock().take();
        if let Some(handle) = running {
            let _ = tokio::task::spawn_blocking(move || handle.stop()).await;
        }
        *inner.model.lock() = Some(backend);
        *inner.problem.lock() = None;
        let kept = {
            let mut p = inner.persisted.lock();
            if p.current.as_ref().is_some_and(|c| c.sha256 != record.sha256) {
                p.last_good = p.current.take();
            }
            if p.last_good.as_ref().is_some_and(|g| g.sha256 == record.sha256) {
                p.last_good = None;
            }
            p.current = Some(record.clone());
            self.save_locked(&p);
            p.kept_files()
        };
        inner.stats.lock().energy = EnergyTracker::new(record.energy_budget_mwh);
        remove_other_models(&inner.models_dir, &kept);
    }
}

/// Deletes `*.onnx` files other than `kept`.
fn remove_other_models(dir: &Path, kept: &[String]) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".onnx") && !kept.contains(&name) {
            if let Err(e) = std::fs::remove_file(entry.path()) {
                tracing::warn!(file = %entry.path().display(), error = %e, "cannot remove an old model");
            }
        }
    }
}

/// Makes a rename durable (best effort).
fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
#[path = "deploy_fuzz.rs"]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(url: &str, sha: Option<&str>) -> DeployCommand {
        DeployCommand {
            model_name: "m".into(),
            model_url: url.into(),
            energy_budget_mwh: None,
            sha256: sha.map(str::to_string),
            deployment_id: None,
            version: None,
            predicted_energy_mwh: None,
        }
    }

    #[test]
    fn commands_are_checked() {
        assert_eq!(validate(&cmd("http://h/m.onnx", None)), Ok(None));
        let upper = "A".repeat(64);
        assert_eq!(validate(&cmd("https://h/m", Some(&upper))), Ok(Some("a".repeat(64))));
        for bad in ["file:///etc/passwd", "not a url", "ftp://h/m"] {
            assert!(matches!(validate(&cmd(bad, None)), Err(DeployError::Invalid(_))), "{bad}");
        }
        assert!(matches!(validate(&cmd("http://h/m", Some("abc"))), Err(DeployError::Invalid(_))));
        let mut c = cmd("http://h/m", None);
        c.energy_budget_mwh = Some(-1.0);
        assert!(validate(&c).is_err());
        assert_eq!(DeployError::Load("x".into()).report_state(), "rolled_back");
        // The device token goes only to the controller.
        assert!(same_origin("http://ctl:8080/v1/agent/artifacts/m/1", "http://ctl:8080"));
        assert!(same_origin("https://ctl/a", "https://ctl:443/"));
        assert!(!same_origin("http://ctl:8081/a", "http://ctl:8080"));
        assert!(!same_origin("http://evil/a", "http://ctl:8080"));
        assert!(!same_origin("https://ctl:8080/a", "http://ctl:8080"));
        assert_eq!(DeployError::TooLarge { limit: 1 }.http_status(), 413);
        assert_eq!(DeployError::Download("x".into()).http_status(), 502);
    }
}

//! What survives a restart, in `<data dir>/agent/state.json`: the model in use and the last good
//! one before it (both kept on disk as `models/<sha256>.onnx`), how the last deployment went, the
//! deployment that failed (so a pulled desired state does not retry it) and the last run number
//! started (so a pulled start runs once).

use std::io::Write;
use std::path::{Path, PathBuf};

use infergate_core::fleet::DeploymentReport;
use serde::{Deserialize, Serialize};

/// A model the agent installed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRecord {
    /// Its name.
    pub model_name: String,
    /// SHA-256 of the file (lowercase hex).
    pub sha256: String,
    /// File length, bytes.
    pub size_bytes: u64,
    /// Where it was downloaded from.
    pub model_url: String,
    /// The controller's version.
    #[serde(default)]
    pub version: Option<i64>,
    /// The controller's deployment id.
    #[serde(default)]
    pub deployment_id: Option<String>,
    /// The energy budget of a run, mWh.
    #[serde(default)]
    pub energy_budget_mwh: Option<f64>,
    /// Predicted energy per inference, mWh (the estimate without a sensor).
    #[serde(default)]
    pub predicted_energy_mwh: Option<f64>,
    /// When it was installed (RFC 3339 UTC).
    pub installed_at: String,
}

impl ModelRecord {
    /// The file name under the models directory.
    pub fn file_name(&self) -> String {
        model_file_name(&self.sha256)
    }
}

/// `<sha256>.onnx`.
pub fn model_file_name(sha256: &str) -> String {
    format!("{sha256}.onnx")
}

/// The persisted state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Persisted {
    /// The model in use.
    #[serde(default)]
    pub current: Option<ModelRecord>,
    /// The good model before it, kept for a rollback.
    #[serde(default)]
    pub last_good: Option<ModelRecord>,
    /// How the last deployment went.
    #[serde(default)]
    pub last_deployment: Option<DeploymentReport>,
    /// The last controller deployment that failed (not retried from the desired state).
    #[serde(default)]
    pub failed_deployment_id: Option<String>,
    /// The last controller run number started.
    #[serde(default)]
    pub last_run: i64,
}

impl Persisted {
    /// The SHA-256s of the files to keep.
    pub fn kept_files(&self) -> Vec<String> {
        [&self.current, &self.last_good].into_iter().flatten().map(ModelRecord::file_name).collect()
    }
}

/// `state.json`, written atomically.
#[derive(Debug, Clone)]
pub struct StateFile {
    path: PathBuf,
}

impl StateFile {
    /// The state file at `path`.
    pub fn new(path: PathBuf) -> Self {
        StateFile { path }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The saved state: empty when there is none; a file that cannot be parsed is set aside
    /// (`state.json.corrupt`) and reported, and the agent starts empty.
    pub fn load(&self) -> std::io::Result<(Persisted, Option<String>)> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Persisted::default(), None)),
            Err(e) => return Err(e),
        };
        match serde_json::from_str(&text) {
            Ok(p) => Ok((p, None)),
            Err(e) => {
                let aside = self.path.with_extension("json.corrupt");
                std::fs::rename(&self.path, &aside)?;
                Ok((Persisted::default(), Some(format!("{}: {e}; moved to {}", self.path.display(), aside.display()))))
            }
        }
    }

    /// Writes `state` (temporary file, fsync, rename).
    pub fn save(&self, state: &Persisted) -> std::io::Result<()> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let mut tmp = tempfile::Builder::new().prefix(".state-").tempfile_in(dir)?;
        serde_json::to_writer_pretty(&mut tmp, state)?;
        tmp.write_all(b"\n")?;
        tmp.as_file().sync_all()?;
        tmp.persist(&self.path).map_err(|e| e.error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(sha: &str) -> ModelRecord {
        ModelRecord {
            model_name: "m".into(),
            sha256: sha.into(),
            size_bytes: 3,
            model_url: "http://x/m.onnx".into(),
            version: Some(2),
            deployment_id: Some("dep-1".into()),
            energy_budget_mwh: Some(5.0),
            predicted_energy_mwh: None,
            installed_at: "2025-01-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn round_trip_and_corrupt_file_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::new(dir.path().join("state.json"));
        assert_eq!(file.load().unwrap(), (Persisted::default(), None));
        let state =
            Persisted { current: Some(record("aa")), last_good: Some(record("bb")), last_run: 7, ..Default::default() };
        file.save(&state).unwrap();
        assert_eq!(file.load().unwrap().0, state);
        assert_eq!(state.kept_files(), vec!["aa.onnx".to_string(), "bb.onnx".to_string()]);
        std::fs::write(file.path(), "{not json").unwrap();
        let (p, warning) = file.load().unwrap();
        assert_eq!(p, Persisted::default());
        assert!(warning.unwrap().contains("corrupt"));
        assert!(dir.path().join("state.json.corrupt").exists());
    }
}

//! What the agent is told at start: who it is, where the controller is, where its files go.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::AgentError;

/// Default heartbeat interval until the controller says otherwise.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(5);

/// Timeout of every call to the controller (heartbeat, telemetry).
pub const CONTROLLER_TIMEOUT: Duration = Duration::from_secs(5);

/// The agent's settings (the CLI fills them from its flags).
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The device's id at the controller (`X-Device-Id`).
    pub device_id: String,
    /// The device's type (`jetson_nano_2gb`, `raspberry_pi5`, `beaglebone_black`, …).
    pub device_type: String,
    /// The device token: sent to the controller, and accepted (or its SHA-256) on commands.
    pub token: String,
    /// The controller's base URL (`http://host:8080`); `None` runs standalone (the seed's mode).
    pub controller: Option<String>,
    /// The URL the controller should push commands to; `None`: `http://<bound address>`.
    pub agent_url: Option<String>,
    /// The data directory; the agent keeps its files under `<data_dir>/agent`.
    pub data_dir: PathBuf,
    /// Root of the tree holding `/sys` for power sensors and thermal zones. `None`: `/`, with
    /// NVML and `vcgencmd` probed too; `Some`: only the file-based sensors under it (tests).
    pub sysfs_root: Option<PathBuf>,
    /// Root of the tree holding `/proc` (CPU and memory use).
    pub proc_root: PathBuf,
    /// Largest model file accepted, bytes.
    pub max_model_bytes: u64,
    /// Seconds between heartbeats; `None`: 5 s, or what the controller asks for.
    pub heartbeat_interval: Option<Duration>,
    /// Seconds between telemetry samples.
    pub telemetry_interval: Duration,
    /// Telemetry samples kept on disk while the controller is unreachable (oldest dropped first).
    pub telemetry_buffer: usize,
    /// Whether `GET /status` may be read without the token.
    pub status_public: bool,
}

impl AgentConfig {
    /// A standalone agent with the defaults (tests and embedding).
    pub fn new(device_id: &str, device_type: &str, token: &str, data_dir: &Path) -> Self {
        AgentConfig {
            device_id: device_id.into(),
            device_type: device_type.into(),
            token: token.into(),
            controller: None,
            agent_url: None,
            data_dir: data_dir.to_path_buf(),
            sysfs_root: None,
            proc_root: PathBuf::from("/"),
            max_model_bytes: 512 * 1024 * 1024,
            heartbeat_interval: None,
            telemetry_interval: Duration::from_secs(5),
            telemetry_buffer: 10_000,
            status_public: false,
        }
    }

    /// Refuses settings the agent cannot work with, naming the flag.
    pub fn validate(&self) -> Result<(), AgentError> {
        let bad = |m: &str| Err(AgentError::Config(m.to_string()));
        if self.device_id.trim().is_empty() {
            return bad("--device-id must not be empty");
        }
        if self.device_type.trim().is_empty() {
            return bad("--device-type must not be empty");
        }
        if self.token.trim().is_empty() {
            return bad("--token (or INFERGATE_AGENT_TOKEN) must not be empty");
        }
        if let Some(url) = &self.controller {
            match reqwest::Url::parse(url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                _ => return bad(&format!("--controller {url:?} is not an http(s) URL")),
            }
        }
        if self.max_model_bytes == 0 {
            return bad("--max-model-mb must be positive");
        }
        if self.telemetry_interval.is_zero() || self.heartbeat_interval.is_some_and(|d| d.is_zero()) {
            return bad("intervals must be positive");
        }
        if self.telemetry_buffer == 0 {
            return bad("--telemetry-buffer must be at least 1");
        }
        Ok(())
    }

    /// `<data_dir>/agent`.
    pub fn agent_dir(&self) -> PathBuf {
        self.data_dir.join("agent")
    }

    /// The controller's base URL without a trailing slash.
    pub fn controller_base(&self) -> Option<String> {
        self.controller.as_ref().map(|c| c.trim_end_matches('/').to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_flag() {
        let dir = Path::new("/tmp");
        assert!(AgentConfig::new("d", "t", "tok", dir).validate().is_ok());
        let err = AgentConfig::new("d", "t", " ", dir).validate().unwrap_err().to_string();
        assert!(err.contains("--token"), "{err}");
        let mut c = AgentConfig::new("d", "t", "tok", dir);
        c.controller = Some("ftp://x".into());
        assert!(c.validate().unwrap_err().to_string().contains("--controller"));
        c.controller = Some("http://127.0.0.1:9/".into());
        assert_eq!(c.controller_base().as_deref(), Some("http://127.0.0.1:9"));
        assert!(c.validate().is_ok());
    }
}

//! The agent's shared state and what it reports in `GET /status`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use infergate_core::fleet::{AgentStatus, DeployCommand};
use infergate_runtime::{Backend, Engine};
use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::auth::TokenCheck;
use crate::config::AgentConfig;
use crate::controller::ControllerClient;
use crate::deploy::load_checked;
use crate::device::DeviceProbe;
use crate::error::AgentError;
use crate::metrics::RunStats;
use crate::power::PowerProbe;
use crate::runner::RunHandle;
use crate::state::{Persisted, StateFile};
use crate::telemetry::buffer::TelemetryBuffer;

/// The edge agent. Cheap to clone: clones share everything.
#[derive(Clone)]
pub struct Agent {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: AgentConfig,
    pub(crate) engine: Engine,
    pub(crate) auth: TokenCheck,
    pub(crate) started: Instant,
    pub(crate) models_dir: PathBuf,
    pub(crate) state_file: StateFile,
    pub(crate) persisted: Mutex<Persisted>,
    /// The loaded model in use (`persisted.current`).
    pub(crate) model: Mutex<Option<Arc<dyn Backend>>>,
    pub(crate) run: Mutex<Option<RunHandle>>,
    pub(crate) stats: Arc<Mutex<RunStats>>,
    /// The deployment in progress.
    pub(crate) deploying: Mutex<Option<DeployCommand>>,
    pub(crate) deploy_lock: tokio::sync::Mutex<()>,
    /// Why no model is loaded although one was installed (it failed to load at start).
    pub(crate) problem: Mutex<Option<String>>,
    pub(crate) power: Option<Arc<PowerProbe>>,
    pub(crate) device: DeviceProbe,
    pub(crate) telemetry: Mutex<TelemetryBuffer>,
    pub(crate) heartbeat_now: Notify,
    pub(crate) http: reqwest::Client,
    pub(crate) controller: Option<ControllerClient>,
    pub(crate) agent_url: Mutex<Option<String>>,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent").field("device_id", &self.inner.config.device_id).finish()
    }
}

impl Agent {
    /// Opens the agent's files under `<data dir>/agent` (state, models, telemetry), finds the
    /// power sensor and loads the saved model (falling back to the last good one). Blocking: the
    /// model is loaded and run once.
    pub fn open(config: AgentConfig, engine: Engine) -> Result<Agent, AgentError> {
        config.validate()?;
        let root = config.agent_dir();
        let models_dir = root.join("models");
        for dir in [&root, &models_dir] {
            std::fs::create_dir_all(dir).map_err(|e| AgentError::io(dir, e))?;
        }
        remove_partial_downloads(&models_dir);
        let state_file = StateFile::new(root.join("state.json"));
        let (persisted, warning) = state_file.load().map_err(|e| AgentError::io(state_file.path(), e))?;
        if let Some(w) = warning {
            tracing::warn!("agent state unreadable, starting empty: {w}");
        }
        let telemetry_dir = root.join("telemetry");
        let telemetry = TelemetryBuffer::open(&telemetry_dir, config.telemetry_buffer)
            .map_err(|e| AgentError::io(&telemetry_dir, e))?;
        if telemetry.skipped_lines > 0 {
            tracing::warn!(lines = telemetry.skipped_lines, "unreadable telemetry lines skipped");
        }
        let (power, unreadable) = PowerProbe::discover(config.sysfs_root.as_deref());
        match &power {
            Some(p) => tracing::info!(source = p.name(), label = p.label(), "energy from this sensor"),
            None => {
                tracing::info!(?unreadable, "no readable power sensor: energy is the deployment's estimate, if any")
            }
        }
        let sysfs_root = config.sysfs_root.clone().unwrap_or_else(|| PathBuf::from("/"));
        let device = DeviceProbe::new(config.proc_root.clone(), sysfs_root, config.data_dir.clone());
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .read_timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(|e| AgentError::Http(e.to_string()))?;
        let controller = match config.controller_base() {
            Some(base) => Some(ControllerClient::new(&base, &config.token, &config.device_id)?),
            None => None,
        };
        let budget = persisted.current.as_ref().and_then(|c| c.energy_budget_mwh);
        let agent = Agent {
            inner: Arc::new(Inner {
                auth: TokenCheck::new(&config.token),
                agent_url: Mutex::new(config.agent_url.clone()),
                config,
                engine,
                started: Instant::now(),
                models_dir,
                state_file,
                persisted: Mutex::new(persisted),
                model: Mutex::new(None),
                run: Mutex::new(None),
                stats: Arc::new(Mutex::new(RunStats::new(budget))),
                deploying: Mutex::new(None),
                deploy_lock: tokio::sync::Mutex::new(()),
                problem: Mutex::new(None),
                power: power.map(Arc::new),
                device,
                telemetry: Mutex::new(telemetry),
                heartbeat_now: Notify::new(),
                http,
                controller,
            }),
        };
        agent.restore_model();
        Ok(agent)
    }

    /// Loads the saved model, or else the last good one (which becomes the current one).
    fn restore_model(&self) {
        let inner = &self.inner;
        let persisted = inner.persisted.lock().clone();
        let Some(current) = persisted.current.clone() else { return };
        let mut errors = Vec::new();
        for (which, record) in [("current", Some(current)), ("last good", persisted.last_good.clone())] {
            let Some(record) = record else { continue };
            let path = inner.models_dir.join(record.file_name());
            match load_checked(&inner.engine, &path) {
                Ok(backend) => {
                    tracing::info!(model = %record.model_name, sha256 = %record.sha256, "{which} model loaded");
                    *inner.model.lock() = Some(backend);
                    if which == "last good" {
                        let mut p = inner.persisted.lock();
                        p.current = p.last_good.take();
                        self.save_locked(&p);
                    }
                    inner.stats.lock().energy = crate::metrics::EnergyTracker::new(record.energy_budget_mwh);
                    return;
                }
                Err(e) => {
                    tracing::error!(model = %record.model_name, error = %e, "{which} model does not load");
                    errors.push(format!("{which} model {} ({}): {e}", record.model_name, record.sha256));
                }
            }
        }
        *inner.problem.lock() = Some(errors.join("; "));
    }

    /// Writes the persisted state, logging a failure (the state in memory stays right).
    pub(crate) fn save_locked(&self, p: &Persisted) {
        if let Err(e) = self.inner.state_file.save(p) {
            tracing::error!(path = %self.inner.state_file.path().display(), error = %e, "cannot save the agent state");
        }
    }

    /// The settings.
    pub fn config(&self) -> &AgentConfig {
        &self.inner.config
    }

    /// The URL advertised to the controller.
    pub fn agent_url(&self) -> Option<String> {
        self.inner.agent_url.lock().clone()
    }

    /// Checks the `Authorization` header of a command.
    pub fn auth(&self) -> &TokenCheck {
        &self.inner.auth
    }

    /// `idle`, `downloading`, `ready`, `running` or `error`.
    pub fn status_word(&self) -> &'static str {
        let inner = &self.inner;
        let deploying = inner.deploying.lock().is_some();
        let active = inner.stats.lock().active;
        let loaded = inner.model.lock().is_some();
        let problem = inner.problem.lock().is_some();
        let failed = inner
            .persisted
            .lock()
            .last_deployment
            .as_ref()
            .is_some_and(|d| d.state == "failed" || d.state == "rolled_back");
        match () {
            _ if deploying => "downloading",
            _ if active => "running",
            _ if loaded => "ready",
            _ if problem || failed => "error",
            _ => "idle",
        }
    }

    /// The name of the model in use (`None` when none is loaded).
    pub fn model_name(&self) -> Option<String> {
        let loaded = self.inner.model.lock().is_some();
        let name = self.inner.persisted.lock().current.as_ref().map(|c| c.model_name.clone());
        name.filter(|_| loaded)
    }

    /// `GET /status`.
    pub fn status(&self) -> AgentStatus {
        let inner = &self.inner;
        let status = self.status_word();
        let persisted = inner.persisted.lock().clone();
        let stats = inner.stats.lock().clone();
        let loaded = inner.model.lock().is_some();
        let current = persisted.current.filter(|_| loaded);
        let (buffered, dropped) = {
            let t = inner.telemetry.lock();
            (t.len() as u64, t.dropped())
        };
        AgentStatus {
            status: status.into(),
            model_name: current.as_ref().map(|c| c.model_name.clone()),
            inference_active: stats.active,
            uptime_seconds: inner.started.elapsed().as_secs(),
            energy_metrics: stats.energy.to_wire(),
            device_metrics: inner.device.metrics(),
            device_id: inner.config.device_id.clone(),
            device_type: inner.config.device_type.clone(),
            model_version: current.as_ref().and_then(|c| c.version),
            deployment_id: current.as_ref().and_then(|c| c.deployment_id.clone()),
            model_sha256: current.as_ref().map(|c| c.sha256.clone()),
            last_deployment: persisted.last_deployment,
            inference_run: persisted.last_run,
            iterations_done: stats.iterations_done,
            run_ended: stats.run_ended,
            telemetry_buffered: buffered,
            telemetry_dropped: dropped,
        }
    }

    /// Where model files live.
    pub fn models_dir(&self) -> &Path {
        &self.inner.models_dir
    }
}

/// Downloads cut short by a crash or a kill.
fn remove_partial_downloads(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(".download-") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

//! What the edge agent (`infergate agent`) and the controller (inside `infergate serve`) say to
//! each other. Both sides use these types, so the wire format is defined once.
//!
//! **Agent → controller** (every call carries `Authorization: Bearer <device token>` and
//! `X-Device-Id: <id>`):
//! - `POST /v1/agent/heartbeat` with a [`Heartbeat`] → [`DesiredState`]: the agent pulls what it
//!   should run on every heartbeat, so a push it missed (restarting, behind NAT) is recovered.
//!   The agent also sends one at once after a deployment succeeds or fails, as its report.
//! - `POST /v1/agent/telemetry` with a [`TelemetryBatch`] → [`TelemetryAck`]. Samples carry the
//!   agent's own sequence numbers, so a batch sent twice is stored once.
//! - `GET /v1/agent/artifacts/{model}/{version}` → the model file, its SHA-256 in
//!   [`SHA256_HEADER`].
//!
//! **Controller → agent** (the seed's endpoints, pushed as soon as something changes):
//! `POST /deploy` ([`DeployCommand`]), `POST /inference/start` ([`InferenceStart`]),
//! `POST /inference/stop`, `GET /status` ([`AgentStatus`]). The controller keeps only the
//! SHA-256 of a device's token, so it authenticates to the agent with `Authorization: Bearer
//! <that hash in hex>`; the agent accepts its token or its token's hash (constant-time), which
//! lets an operator holding the token command the agent too. The hash cannot impersonate the
//! device to the controller, which needs the token itself.

use serde::{Deserialize, Serialize};

/// Response header carrying an artifact's SHA-256 (lowercase hex).
pub const SHA256_HEADER: &str = "x-content-sha256";

/// Request header naming the device on agent → controller calls.
pub const DEVICE_ID_HEADER: &str = "x-device-id";

/// `GET /status` on the agent: the seed's fields with the seed's names, then ours.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentStatus {
    /// `idle`, `downloading`, `ready`, `running` or `error`.
    pub status: String,
    /// The model being served (the last good one while a new one downloads).
    pub model_name: Option<String>,
    /// Whether the inference loop runs.
    pub inference_active: bool,
    /// Seconds since the agent started.
    pub uptime_seconds: u64,
    /// The current run's energy against its budget.
    pub energy_metrics: EnergyMetrics,
    /// CPU, memory and disk use.
    pub device_metrics: DeviceMetrics,
    /// The device's id.
    pub device_id: String,
    /// The device's type.
    pub device_type: String,
    /// The running model's version, deployment and SHA-256.
    pub model_version: Option<i64>,
    /// The deployment the running model came from.
    pub deployment_id: Option<String>,
    /// SHA-256 of the running model file.
    pub model_sha256: Option<String>,
    /// The last deployment the agent tried, and how it went.
    pub last_deployment: Option<DeploymentReport>,
    /// The inference run the agent last started (the controller's run number), 0 if none.
    pub inference_run: i64,
    /// Iterations done in that run.
    pub iterations_done: u64,
    /// Why the last run ended: `completed`, `stopped`, `over_budget` or `error: …`.
    pub run_ended: Option<String>,
    /// Telemetry samples waiting to be sent.
    pub telemetry_buffered: u64,
    /// Samples dropped because the buffer was full while the controller was unreachable.
    pub telemetry_dropped: u64,
}

/// The seed's `energy_metrics`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EnergyMetrics {
    /// The run's energy budget, mWh (the loop stops when its total exceeds it).
    pub budget_mwh: Option<f64>,
    /// Energy of the latest inference, mWh.
    pub latest_mwh: Option<f64>,
    /// Mean energy per inference over the last 40, mWh.
    pub avg_mwh: Option<f64>,
    /// `no_data`, `ok` or `over_budget`.
    pub status: String,
    /// The last 40 per-inference energies, mWh.
    pub history: Vec<f64>,
    /// The run's total so far, mWh.
    pub total_mwh: Option<f64>,
    /// Where the numbers come from: a sensor's name (`rapl`, `hwmon`, `iio`, …) or `estimate`
    /// (the energy predictor's mWh per inference, when the device has no sensor).
    pub energy_source: Option<String>,
    /// Why there are no numbers, or why the budget cannot apply (`energy_source: "none"`: no
    /// sensor and no predicted energy per inference).
    #[serde(default)]
    pub note: Option<String>,
}

/// The seed's `device_metrics`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeviceMetrics {
    /// CPU use of the whole machine, %.
    pub cpu_percent: Option<f64>,
    /// Memory in use, %.
    pub memory_percent: Option<f64>,
    /// Disk use of the data directory's file system, %.
    pub disk_percent: Option<f64>,
    /// The hottest thermal zone, °C, where one is readable.
    pub temperature_c: Option<f64>,
}

/// How the agent's last deployment went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentReport {
    /// The controller's deployment id (absent for a seed client's `/deploy`).
    pub deployment_id: Option<String>,
    /// The model.
    pub model_name: String,
    /// `downloading`, `ready`, `failed` (the previous model kept) or `rolled_back` (the new one
    /// failed to load or to run and the previous one is back).
    pub state: String,
    /// Why it failed.
    pub error: Option<String>,
}

/// `POST /deploy` on the agent (the seed's fields, then ours).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeployCommand {
    /// The model's name.
    pub model_name: String,
    /// Where to download it.
    pub model_url: String,
    /// The energy budget of an inference run, mWh.
    pub energy_budget_mwh: Option<f64>,
    /// Its SHA-256 (lowercase hex), verified when present; our controller always sends it.
    #[serde(default)]
    pub sha256: Option<String>,
    /// The controller's deployment id.
    #[serde(default)]
    pub deployment_id: Option<String>,
    /// The model's version.
    #[serde(default)]
    pub version: Option<i64>,
    /// Predicted energy per inference on this device, mWh (the agent's estimate without a sensor).
    #[serde(default)]
    pub predicted_energy_mwh: Option<f64>,
}

/// `POST /inference/start` on the agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InferenceStart {
    /// Inferences to run (the seed's default: 100).
    #[serde(default = "default_iterations")]
    pub iterations: u64,
    /// The controller's run number (so a pulled start runs once).
    #[serde(default)]
    pub run: Option<i64>,
}

fn default_iterations() -> u64 {
    100
}

/// `POST /v1/agent/heartbeat`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// Where the agent listens (`http://host:port`), for pushes.
    pub agent_url: Option<String>,
    /// Its status.
    pub status: AgentStatus,
}

/// What the controller wants the device to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredState {
    /// The model it should run, if any.
    pub deployment: Option<DeployCommand>,
    /// Whether inference should run.
    pub inference: DesiredInference,
    /// Seconds between heartbeats (3 missed: offline).
    pub heartbeat_interval_s: f64,
}

/// The desired inference state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredInference {
    /// Whether a run should be going.
    pub running: bool,
    /// The controller's run number; a run is started once per number.
    pub run: i64,
    /// Its iterations.
    pub iterations: Option<u64>,
}

/// One telemetry sample: numbered by the agent, timestamped when taken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TelemetryRecord {
    /// The agent's sequence number (increasing, kept across restarts).
    pub seq: i64,
    /// When it was taken (RFC 3339 UTC).
    pub at: String,
    /// CPU, memory, disk, temperature, power, latency, energy so far, ….
    pub sample: serde_json::Value,
}

/// `POST /v1/agent/telemetry`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TelemetryBatch {
    /// Samples, oldest first.
    pub samples: Vec<TelemetryRecord>,
    /// Samples dropped so far because the buffer was full (oldest first).
    pub dropped: u64,
}

/// The controller's answer to a [`TelemetryBatch`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TelemetryAck {
    /// Samples not stored before.
    pub stored: u64,
    /// The highest sequence number the controller now has from the device.
    pub max_seq: Option<i64>,
}

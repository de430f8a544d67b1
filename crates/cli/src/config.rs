//! The configuration file (TOML), `INFERGATE_*` environment overrides and their defaults.

use anyhow::{bail, Context, Result};
use infergate_core::PricingProfile;
use infergate_dispatch::{BreakerConfig, FunctionConfig};
use infergate_gateway::alarms::AlarmConfig;
use infergate_gateway::{AccessConfig, AuthMode, GatewayConfig};
use infergate_runtime::{BatchPolicy, ServingPolicy};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The whole configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `[server]`
    pub server: ServerSection,
    /// `[runtime]`
    pub runtime: RuntimeSection,
    /// `[limits]`
    pub limits: GatewayConfig,
    /// `[serving]`
    pub serving: ServingSection,
    /// `[pricing]`: how answers' `cost_usd` is computed (`kind = "lambda" | "container" |
    /// "none"`).
    pub pricing: PricingProfile,
    /// `[alarms]`: the latency alarm.
    pub alarms: AlarmConfig,
    /// `[[functions]]`: functions `POST /v1/invoke/{name}` forwards to (live dispatch).
    pub functions: Vec<FunctionConfig>,
    /// `[breaker]`: when a backend's circuit breaker opens (`failures`) and for how long (`open_s`).
    pub breaker: BreakerConfig,
    /// `[fleet]`: the edge devices' controller.
    pub fleet: FleetSection,
}

/// `[fleet]`: the controller of the edge devices (`infergate agent`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FleetSection {
    /// Seconds between an agent's heartbeats (told to the agents; 3 missed: offline).
    pub heartbeat_interval_s: f64,
    /// Device telemetry older than this many days is deleted hourly; 0 keeps everything.
    pub telemetry_retention_days: u32,
    /// This server's URL as agents reach it, for model download links (default: the `Host`
    /// each request came with).
    pub public_url: String,
    /// Seconds a command pushed to an agent may take (a deploy downloads and verifies).
    pub push_timeout_s: f64,
}

impl Default for FleetSection {
    fn default() -> Self {
        let d = infergate_gateway::fleet::FleetConfig::default();
        FleetSection {
            heartbeat_interval_s: d.heartbeat_interval_s,
            telemetry_retention_days: d.telemetry_retention_days,
            public_url: d.public_url,
            push_timeout_s: d.push_timeout.as_secs_f64(),
        }
    }
}

impl FleetSection {
    /// The controller's settings.
    pub fn controller(&self) -> infergate_gateway::fleet::FleetConfig {
        infergate_gateway::fleet::FleetConfig {
            heartbeat_interval_s: self.heartbeat_interval_s,
            telemetry_retention_days: self.telemetry_retention_days,
            public_url: self.public_url.clone(),
            push_timeout: Duration::from_secs_f64(self.push_timeout_s),
        }
    }
}

/// `[serving]`: instance pools and batching.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServingSection {
    /// Seconds an idle instance stays loaded.
    pub keep_alive_s: f64,
    /// Instances of each active model version kept loaded however idle.
    pub min_warm: usize,
    /// Most images run as one batch (1: batching off).
    pub max_batch: usize,
    /// Longest the first request of a batch waits for more, in milliseconds.
    pub max_delay_ms: f64,
    /// Requests that may wait per model version before new ones get 503.
    pub queue_capacity: usize,
}

impl Default for ServingSection {
    fn default() -> Self {
        let policy = ServingPolicy::default();
        ServingSection {
            keep_alive_s: policy.keep_alive.as_secs_f64(),
            min_warm: policy.min_warm,
            max_batch: policy.batch.max_batch,
            max_delay_ms: policy.batch.max_delay.as_secs_f64() * 1e3,
            queue_capacity: policy.batch.queue_capacity,
        }
    }
}

impl ServingSection {
    /// The pool policy; `max_instances` comes from `runtime.sessions` (set by the caller).
    pub fn policy_with(&self, max_instances: usize) -> ServingPolicy {
        ServingPolicy {
            keep_alive: Duration::from_secs_f64(self.keep_alive_s),
            min_warm: self.min_warm,
            max_instances,
            batch: BatchPolicy {
                max_batch: self.max_batch,
                max_delay: Duration::from_secs_f64(self.max_delay_ms / 1e3),
                queue_capacity: self.queue_capacity,
            },
        }
    }
}

/// `[server]`: where to listen, where to keep data, who may call.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSection {
    /// Listen address.
    pub addr: String,
    /// Data directory (database, objects, model files).
    pub data_dir: PathBuf,
    /// The metadata database: `sqlite://PATH` or `postgres://USER:PASSWORD@HOST:PORT/DB`
    /// (shared by several replicas); unset: `infergate.db` in the data directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// The object store for images and model files: `s3://bucket/prefix` (credentials,
    /// region and endpoint from the usual AWS_* variables) or a directory; unset: `objects/`
    /// in the data directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_store: Option<String>,
    /// `on` (API keys required, the default) or `off` (local development only).
    pub auth: AuthMode,
    /// Whether `/metrics` needs an API key (it is public otherwise).
    pub metrics_require_key: bool,
    /// Browser origins allowed to call (CORS), e.g. `["https://app.example"]`; `["*"]` for any.
    pub cors_origins: Vec<String>,
    /// On SIGTERM, longest wait for in-flight requests before exiting.
    pub shutdown_timeout_s: f64,
    /// Longest a client may take to send a request's headers before the connection is closed
    /// (slow clients must not hold connections open forever).
    pub header_read_timeout_s: f64,
    /// `text` or `json` log lines on stderr.
    pub log_format: String,
    /// Threads for HTTP and storage (0: one per core); inference has its own threads.
    pub async_threads: usize,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            addr: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./infergate-data"),
            database_url: None,
            object_store: None,
            auth: AuthMode::On,
            metrics_require_key: false,
            cors_origins: Vec::new(),
            shutdown_timeout_s: 30.0,
            header_read_timeout_s: 10.0,
            log_format: "text".into(),
            async_threads: 0,
        }
    }
}

impl ServerSection {
    /// Where the store lives: the data directory and the database and object store URLs.
    pub fn store_location(&self) -> infergate_store::StoreLocation {
        infergate_store::StoreLocation {
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            object_store: self.object_store.clone(),
        }
    }

    /// Opens the store (database and object store) these settings name, with an error
    /// saying which one failed.
    pub async fn open_store(&self) -> Result<infergate_store::Store> {
        let location = self.store_location();
        infergate_store::Store::open_at(&location).await.with_context(|| {
            let objects = location
                .object_store
                .clone()
                .unwrap_or_else(|| format!("{}", location.data_dir.join("objects").display()));
            format!(
                "cannot open the store (database {}, objects {}, data directory {})",
                location.database_display(),
                objects,
                location.data_dir.display()
            )
        })
    }

    /// The gateway's access settings.
    pub fn access(&self) -> AccessConfig {
        AccessConfig {
            auth: self.auth,
            metrics_require_key: self.metrics_require_key,
            cors_origins: self.cors_origins.clone(),
        }
    }
}

/// `[runtime]`: how models run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuntimeSection {
    /// `auto`, `ort` or `tract`.
    pub runtime: String,
    /// `cpu` or `cuda`.
    pub execution_provider: String,
    /// Threads per inference session.
    pub intra_threads: usize,
    /// Sessions per model (concurrent inferences).
    pub sessions: usize,
    /// Path of `libonnxruntime.so` (default: `ORT_DYLIB_PATH`, then discovery).
    pub ort_library: Option<PathBuf>,
}

impl Default for RuntimeSection {
    fn default() -> Self {
        RuntimeSection {
            runtime: "auto".into(),
            execution_provider: "cpu".into(),
            intra_threads: 1,
            sessions: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
            ort_library: None,
        }
    }
}

impl Config {
    /// Defaults, then the file (if given), then `INFERGATE_*` variables.
    pub fn load(file: Option<&Path>) -> Result<Config> {
        let mut config = match file {
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).with_context(|| format!("cannot read config {}", path.display()))?;
                toml::from_str(&text).with_context(|| format!("invalid config {}", path.display()))?
            }
            None => Config::default(),
        };
        config.apply_env(|k| std::env::var(k).ok())?;
        Ok(config)
    }

    /// Applies environment overrides read through `get`.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<()> {
        fn parse<T: std::str::FromStr>(key: &str, v: String) -> Result<T> {
            v.parse().map_err(|_| anyhow::anyhow!("{key}={v:?} is not a valid value"))
        }
        if let Some(v) = get("INFERGATE_ADDR") {
            self.server.addr = v;
        }
        if let Some(v) = get("INFERGATE_DATA_DIR") {
            self.server.data_dir = v.into();
        }
        if let Some(v) = get("INFERGATE_DATABASE_URL") {
            self.server.database_url = Some(v).filter(|s| !s.is_empty());
        }
        if let Some(v) = get("INFERGATE_OBJECT_STORE") {
            self.server.object_store = Some(v).filter(|s| !s.is_empty());
        }
        if let Some(v) = get("INFERGATE_AUTH") {
            self.server.auth = v.parse().map_err(|e| anyhow::anyhow!("INFERGATE_AUTH: {e}"))?;
        }
        if let Some(v) = get("INFERGATE_METRICS_REQUIRE_KEY") {
            self.server.metrics_require_key = parse("INFERGATE_METRICS_REQUIRE_KEY", v)?;
        }
        if let Some(v) = get("INFERGATE_CORS_ORIGINS") {
            self.server.cors_origins =
                v.split(',').map(str::trim).filter(|o| !o.is_empty()).map(String::from).collect();
        }
        let limits = &mut self.limits;
        for (key, rate) in [
            ("INFERGATE_RATE_CLIENT_PER_S", &mut limits.rate_client_per_s),
            ("INFERGATE_RATE_ADMIN_PER_S", &mut limits.rate_admin_per_s),
        ] {
            if let Some(v) = get(key) {
                *rate = parse(key, v)?;
            }
        }
        for (key, burst) in
            [("INFERGATE_BURST_CLIENT", &mut limits.burst_client), ("INFERGATE_BURST_ADMIN", &mut limits.burst_admin)]
        {
            if let Some(v) = get(key) {
                *burst = parse(key, v)?;
            }
        }
        if let Some(v) = get("INFERGATE_HEADER_READ_TIMEOUT_S") {
            self.server.header_read_timeout_s = parse("INFERGATE_HEADER_READ_TIMEOUT_S", v)?;
        }
        if let Some(v) = get("INFERGATE_ASYNC_THREADS") {
            self.server.async_threads = parse("INFERGATE_ASYNC_THREADS", v)?;
        }
        if let Some(v) = get("INFERGATE_LOG_FORMAT") {
            self.server.log_format = v;
        }
        if let Some(v) = get("INFERGATE_RUNTIME") {
            self.runtime.runtime = v;
        }
        if let Some(v) = get("INFERGATE_EXECUTION_PROVIDER") {
            self.runtime.execution_provider = v;
        }
        if let Some(v) = get("INFERGATE_INTRA_THREADS") {
            self.runtime.intra_threads = parse("INFERGATE_INTRA_THREADS", v)?;
        }
        if let Some(v) = get("INFERGATE_SESSIONS") {
            self.runtime.sessions = parse("INFERGATE_SESSIONS", v)?;
        }
        if let Some(v) = get("ORT_DYLIB_PATH") {
            self.runtime.ort_library = Some(v.into());
        }
        if let Some(v) = get("INFERGATE_MAX_BODY_BYTES") {
            self.limits.max_body_bytes = parse("INFERGATE_MAX_BODY_BYTES", v)?;
        }
        if let Some(v) = get("INFERGATE_MAX_PIXELS") {
            self.limits.max_pixels = parse("INFERGATE_MAX_PIXELS", v)?;
        }
        if let Some(v) = get("INFERGATE_LOAD_TIMEOUT_S") {
            self.limits.load_timeout_s = parse("INFERGATE_LOAD_TIMEOUT_S", v)?;
        }
        if let Some(v) = get("INFERGATE_KEEP_ALIVE_S") {
            self.serving.keep_alive_s = parse("INFERGATE_KEEP_ALIVE_S", v)?;
        }
        if let Some(v) = get("INFERGATE_MIN_WARM") {
            self.serving.min_warm = parse("INFERGATE_MIN_WARM", v)?;
        }
        if let Some(v) = get("INFERGATE_MAX_BATCH") {
            self.serving.max_batch = parse("INFERGATE_MAX_BATCH", v)?;
        }
        if let Some(v) = get("INFERGATE_MAX_DELAY_MS") {
            self.serving.max_delay_ms = parse("INFERGATE_MAX_DELAY_MS", v)?;
        }
        if let Some(v) = get("INFERGATE_QUEUE_CAPACITY") {
            self.serving.queue_capacity = parse("INFERGATE_QUEUE_CAPACITY", v)?;
        }
        if let Some(v) = get("INFERGATE_RETENTION_DAYS") {
            self.limits.retention_days = parse("INFERGATE_RETENTION_DAYS", v)?;
        }
        if let Some(v) = get("INFERGATE_HEARTBEAT_INTERVAL_S") {
            self.fleet.heartbeat_interval_s = parse("INFERGATE_HEARTBEAT_INTERVAL_S", v)?;
        }
        if let Some(v) = get("INFERGATE_PUBLIC_URL") {
            self.fleet.public_url = v;
        }
        if let Some(v) = get("INFERGATE_DEFAULT_MODEL") {
            self.limits.default_model = Some(v).filter(|s| !s.is_empty());
        }
        Ok(())
    }

    /// Checks values that serde cannot.
    pub fn validate(&self) -> Result<()> {
        let seconds = |v: f64| v.is_finite() && v > 0.0 && v <= 3600.0;
        if !seconds(self.fleet.heartbeat_interval_s) || !seconds(self.fleet.push_timeout_s) {
            bail!("fleet.heartbeat_interval_s and fleet.push_timeout_s must be positive numbers of seconds (at most 3600)");
        }
        infergate_gateway::cors::layer(&self.server.cors_origins).map_err(|e| anyhow::anyhow!("server.{e}"))?;
        let l = &self.limits;
        if ![l.rate_client_per_s, l.rate_admin_per_s].iter().all(|r| r.is_finite() && *r >= 0.0) {
            bail!("limits.rate_client_per_s and limits.rate_admin_per_s must be non-negative numbers (0: unlimited)");
        }
        if self.runtime.intra_threads == 0 || self.runtime.sessions == 0 {
            bail!("runtime.intra_threads and runtime.sessions must be at least 1");
        }
        let t = self.server.shutdown_timeout_s;
        if !(t.is_finite() && (0.0..=3600.0).contains(&t)) {
            bail!("server.shutdown_timeout_s must be between 0 and 3600 seconds");
        }
        let t = self.server.header_read_timeout_s;
        if !(t.is_finite() && t > 0.0 && t <= 3600.0) {
            bail!("server.header_read_timeout_s must be more than 0 and at most 3600 seconds");
        }
        let s = &self.serving;
        let finite_nonneg = |v: f64| v.is_finite() && v >= 0.0;
        if !finite_nonneg(s.keep_alive_s) || !finite_nonneg(s.max_delay_ms) || s.max_delay_ms > 60_000.0 {
            bail!("serving.keep_alive_s and serving.max_delay_ms must be non-negative numbers (max_delay_ms at most 60000)");
        }
        if s.max_batch == 0 || s.queue_capacity == 0 {
            bail!("serving.max_batch and serving.queue_capacity must be at least 1");
        }
        if !(self.limits.load_timeout_s.is_finite() && self.limits.load_timeout_s > 0.0) {
            bail!("limits.load_timeout_s must be a positive number of seconds");
        }
        self.pricing.validate().map_err(|e| anyhow::anyhow!(e))?;
        for f in &self.functions {
            f.validate().map_err(|e| anyhow::anyhow!(e))?;
        }
        if self.breaker.failures == 0 || !(self.breaker.open_s.is_finite() && self.breaker.open_s >= 0.0) {
            bail!("breaker.failures must be at least 1 and breaker.open_s a non-negative number of seconds");
        }
        self.alarms.validate().map_err(|e| anyhow::anyhow!(e))?;
        if self.limits.max_body_bytes == 0 || self.limits.max_pixels == 0 || self.limits.default_top_k == 0 {
            bail!("limits.max_body_bytes, limits.max_pixels and limits.default_top_k must be positive");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_env() {
        let mut c: Config = toml::from_str("[server]\naddr = \"0.0.0.0:9\"\n[limits]\nmax_pixels = 7\n").unwrap();
        assert_eq!(c.server.addr, "0.0.0.0:9");
        assert_eq!(c.limits.max_pixels, 7);
        assert_eq!(c.limits.max_body_bytes, 10 * 1024 * 1024);
        c.apply_env(|k| (k == "INFERGATE_MAX_PIXELS").then(|| "9".to_string())).unwrap();
        assert_eq!(c.limits.max_pixels, 9);
        assert!(c.apply_env(|k| (k == "INFERGATE_SESSIONS").then(|| "x".to_string())).is_err());
        assert!(toml::from_str::<Config>("[server]\nport = 1\n").is_err(), "unknown keys are refused");
    }

    #[test]
    fn auth_is_on_by_default_and_only_on_or_off() {
        let mut c = Config::default();
        assert_eq!(c.server.auth, AuthMode::On);
        assert!(c.validate().is_ok());
        c.apply_env(|k| (k == "INFERGATE_AUTH").then(|| "off".to_string())).unwrap();
        assert_eq!(c.server.auth, AuthMode::Off);
        let err = c.apply_env(|k| (k == "INFERGATE_AUTH").then(|| "disabled".to_string())).unwrap_err();
        assert!(err.to_string().contains("INFERGATE_AUTH") && err.to_string().contains("\"off\""), "{err}");
        let err = toml::from_str::<Config>("[server]\nauth = \"maybe\"\n").unwrap_err();
        assert!(err.to_string().contains("maybe"), "{err}");
        let c: Config = toml::from_str("[server]\nauth = \"off\"\n").unwrap();
        assert_eq!(c.server.auth, AuthMode::Off);
    }

    #[test]
    fn access_and_rate_settings() {
        let text = "[server]\ncors_origins = [\"https://app.example\"]\nmetrics_require_key = true\n\
                    [limits]\nrate_client_per_s = 2.5\nburst_client = 5\n";
        let mut c: Config = toml::from_str(text).unwrap();
        assert!(c.validate().is_ok());
        let access = c.server.access();
        assert_eq!(access.cors_origins, ["https://app.example"]);
        assert!(access.metrics_require_key);
        assert_eq!((c.limits.rate_client_per_s, c.limits.burst_client), (2.5, 5));
        let env = |k: &str| match k {
            "INFERGATE_CORS_ORIGINS" => Some(" https://a.example, http://localhost:3000 ,".to_string()),
            "INFERGATE_RATE_ADMIN_PER_S" => Some("7".to_string()),
            "INFERGATE_BURST_CLIENT" => Some("9".to_string()),
            _ => None,
        };
        c.apply_env(env).unwrap();
        assert_eq!(c.server.cors_origins, ["https://a.example", "http://localhost:3000"]);
        assert_eq!((c.limits.rate_admin_per_s, c.limits.burst_client), (7.0, 9));
        c.server.cors_origins = vec!["*".into(), "https://a.example".into()];
        assert!(c.validate().is_err(), "* must stand alone");
        c.server.cors_origins = vec!["https://a.example/".into()];
        assert!(c.validate().is_err());
        c.server.cors_origins.clear();
        c.limits.rate_client_per_s = -1.0;
        assert!(c.validate().is_err());
        assert!(c.apply_env(|k| (k == "INFERGATE_BURST_ADMIN").then(|| "-1".to_string())).is_err());
    }
}

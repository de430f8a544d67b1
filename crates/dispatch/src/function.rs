//! Function configuration: `[[functions]]` in the server's TOML.
//!
//! ```toml
//! [[functions]]
//! name = "thumbs"
//! memory_mb = 512
//! slo_ms = 800
//! mode = "hybrid"                 # hybrid (default) | lambda | ecs
//! handler = { kind = "sleep-cpu", exec_ms = { dist = "exponential", mean = 50 } }
//! lambda = { backend = "local-function", keep_alive_s = 600 }
//! ecs = { backend = "local-container", tasks = 2 }
//! ```

use infergate_place::scenario::Distribution;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The two platforms, by wire name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    /// Serverless functions (`local-function`, or an `http` function URL).
    Lambda,
    /// Always-on containers (`local-container`, or an `http` service).
    Ecs,
}

impl Platform {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Lambda => "lambda",
            Platform::Ecs => "ecs",
        }
    }

    /// The other platform.
    pub fn other(self) -> Platform {
        match self {
            Platform::Lambda => Platform::Ecs,
            Platform::Ecs => Platform::Lambda,
        }
    }
}

/// What the workers of a function run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum HandlerSpec {
    /// Image classification with an ONNX model.
    Classify {
        /// The model file.
        model: PathBuf,
        /// Class labels, one per line (default: the class indices).
        #[serde(default)]
        labels: Option<PathBuf>,
    },
    /// Synthetic CPU work lasting a drawn duration.
    SleepCpu {
        /// Execution time distribution, milliseconds.
        exec_ms: Distribution,
    },
}

/// Which backend serves a platform, and its settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "backend", rename_all = "kebab-case", deny_unknown_fields)]
pub enum BackendConfig {
    /// Worker processes started on demand, one request each at a time, stopped after idling.
    LocalFunction {
        /// Seconds an idle worker is kept (default 600, as Lambda keeps instances ~10 min).
        #[serde(default = "default_keep_alive_s")]
        keep_alive_s: f64,
        /// Most workers at once; beyond, requests are throttled (default 50).
        #[serde(default = "default_concurrency_limit")]
        concurrency_limit: usize,
        /// Longest wait for a new worker to be ready, seconds (default 60).
        #[serde(default = "default_startup_timeout_s")]
        startup_timeout_s: f64,
        /// Longest a request may run, seconds (default 60).
        #[serde(default = "default_timeout_s")]
        timeout_s: f64,
    },
    /// A fixed pool of always-on workers serving one queue.
    LocalContainer {
        /// Workers (default 1).
        #[serde(default = "default_tasks")]
        tasks: usize,
        /// Requests that may wait for a worker; beyond, they are refused (default 256).
        #[serde(default = "default_queue_capacity")]
        queue_capacity: usize,
        /// Longest wait for a worker to be ready, seconds (default 60).
        #[serde(default = "default_startup_timeout_s")]
        startup_timeout_s: f64,
        /// Longest a request may run (queue wait excluded), seconds (default 60).
        #[serde(default = "default_timeout_s")]
        timeout_s: f64,
    },
    /// Any HTTP endpoint taking the payload as a POST body.
    Http {
        /// The URL requests are POSTed to.
        url: String,
        /// Longest one attempt may take, seconds (default 30).
        #[serde(default = "default_http_timeout_s")]
        timeout_s: f64,
        /// Retries after a connection failure, timeout or 5xx, within the retry budget (default 2).
        #[serde(default = "default_retries")]
        retries: u32,
        /// Requests it takes at once before the hybrid sends the rest elsewhere (default: no limit).
        #[serde(default)]
        capacity: Option<usize>,
        /// Whether a reply must be JSON (default true); anything else is a bad reply (502).
        #[serde(default = "default_true")]
        expect_json: bool,
    },
}

fn default_keep_alive_s() -> f64 {
    600.0
}
fn default_concurrency_limit() -> usize {
    50
}
fn default_startup_timeout_s() -> f64 {
    60.0
}
fn default_timeout_s() -> f64 {
    60.0
}
fn default_tasks() -> usize {
    1
}
fn default_queue_capacity() -> usize {
    256
}
fn default_http_timeout_s() -> f64 {
    30.0
}
fn default_retries() -> u32 {
    2
}
fn default_true() -> bool {
    true
}

impl BackendConfig {
    /// The backend kind's wire name.
    pub fn kind(&self) -> &'static str {
        match self {
            BackendConfig::LocalFunction { .. } => "local-function",
            BackendConfig::LocalContainer { .. } => "local-container",
            BackendConfig::Http { .. } => "http",
        }
    }

    fn validate(&self, at: &str) -> Result<(), String> {
        let positive = |v: f64| v.is_finite() && v > 0.0;
        match self {
            BackendConfig::LocalFunction { keep_alive_s, concurrency_limit, startup_timeout_s, timeout_s } => {
                if !(keep_alive_s.is_finite() && *keep_alive_s >= 0.0) {
                    return Err(format!("{at}.keep_alive_s must be a non-negative number"));
                }
                if *concurrency_limit == 0 {
                    return Err(format!("{at}.concurrency_limit must be at least 1"));
                }
                if !positive(*startup_timeout_s) || !positive(*timeout_s) {
                    return Err(format!("{at}: timeouts must be positive"));
                }
            }
            BackendConfig::LocalContainer { tasks, startup_timeout_s, timeout_s, .. } => {
                if *tasks == 0 || *tasks > 256 {
                    return Err(format!("{at}.tasks must be in 1..=256"));
                }
                if !positive(*startup_timeout_s) || !positive(*timeout_s) {
                    return Err(format!("{at}: timeouts must be positive"));
                }
            }
            BackendConfig::Http { url, timeout_s, capacity, .. } => {
                let parsed = reqwest::Url::parse(url).map_err(|e| format!("{at}.url {url:?}: {e}"))?;
                if !matches!(parsed.scheme(), "http" | "https") {
                    return Err(format!("{at}.url must be http:// or https://"));
                }
                if !positive(*timeout_s) {
                    return Err(format!("{at}.timeout_s must be positive"));
                }
                if *capacity == Some(0) {
                    return Err(format!("{at}.capacity must be at least 1"));
                }
            }
        }
        Ok(())
    }
}

/// How a function's requests are placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoutingMode {
    /// The container takes what it can take now (a free worker), functions take the overflow.
    #[default]
    Hybrid,
    /// Everything to `lambda` first.
    Lambda,
    /// Everything to `ecs` first.
    Ecs,
}

impl RoutingMode {
    /// Parses a wire name (`hybrid`, `lambda`, `ecs`).
    pub fn parse(s: &str) -> Result<RoutingMode, String> {
        match s {
            "hybrid" => Ok(RoutingMode::Hybrid),
            "lambda" => Ok(RoutingMode::Lambda),
            "ecs" => Ok(RoutingMode::Ecs),
            other => Err(format!("unknown routing mode {other:?}: use hybrid, lambda or ecs")),
        }
    }
}

/// One function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionConfig {
    /// Name in `/v1/invoke/{name}`.
    pub name: String,
    /// What its workers run (needed by the local backends).
    #[serde(default)]
    pub handler: Option<HandlerSpec>,
    /// Memory size, MB (Lambda's price scales with it; default 1024).
    #[serde(default = "default_memory_mb")]
    pub memory_mb: f64,
    /// Latency objective, ms (default 1000).
    #[serde(default = "default_slo_ms")]
    pub slo_ms: f64,
    /// Largest payload accepted, KB (default 6144, Lambda's synchronous limit); larger → 413.
    #[serde(default = "default_max_payload_kb")]
    pub max_payload_kb: f64,
    /// How requests are placed.
    #[serde(default)]
    pub mode: RoutingMode,
    /// USD per task-hour of the container platform (default: Fargate 0.25 vCPU + 0.5 GB).
    #[serde(default = "default_task_usd_per_hour")]
    pub task_usd_per_hour: f64,
    /// The serverless platform's backend.
    #[serde(default)]
    pub lambda: Option<BackendConfig>,
    /// The container platform's backend.
    #[serde(default)]
    pub ecs: Option<BackendConfig>,
}

fn default_memory_mb() -> f64 {
    1024.0
}
fn default_slo_ms() -> f64 {
    1000.0
}
fn default_max_payload_kb() -> f64 {
    6144.0
}
fn default_task_usd_per_hour() -> f64 {
    infergate_core::pricing::fargate_usd_per_hour(0.25, 0.5)
}

impl FunctionConfig {
    /// The backend of `platform`, if configured.
    pub fn backend(&self, platform: Platform) -> Option<&BackendConfig> {
        match platform {
            Platform::Lambda => self.lambda.as_ref(),
            Platform::Ecs => self.ecs.as_ref(),
        }
    }

    /// Checks everything; the error names the function and the field.
    pub fn validate(&self) -> Result<(), String> {
        let at = format!("functions.{}", self.name);
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_ok {
            return Err(format!("function name {:?}: use 1–64 letters, digits, '-' or '_'", self.name));
        }
        for (field, v) in [
            ("memory_mb", self.memory_mb),
            ("slo_ms", self.slo_ms),
            ("max_payload_kb", self.max_payload_kb),
            ("task_usd_per_hour", self.task_usd_per_hour + f64::MIN_POSITIVE),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(format!("{at}.{field} must be a positive number"));
            }
        }
        if self.lambda.is_none() && self.ecs.is_none() {
            return Err(format!("{at}: configure a backend for lambda, ecs or both"));
        }
        for p in [Platform::Lambda, Platform::Ecs] {
            if let Some(b) = self.backend(p) {
                b.validate(&format!("{at}.{}", p.as_str()))?;
                let local = !matches!(b, BackendConfig::Http { .. });
                if local && self.handler.is_none() {
                    return Err(format!("{at}: a {} backend needs a handler", b.kind()));
                }
            }
        }
        if let Some(HandlerSpec::SleepCpu { exec_ms }) = &self.handler {
            exec_ms.validate().map_err(|e| format!("{at}.handler.{e}"))?;
        }
        Ok(())
    }

    /// The Lambda price of one request that ran `ms` on a function of this memory size.
    pub fn lambda_cost_usd(&self, ms: f64) -> f64 {
        infergate_core::PricingProfile::lambda_x86(self.memory_mb, 0.0).cost_usd(ms).unwrap_or(0.0)
    }

    /// The container-time share of one request that kept a task busy `ms`.
    pub fn ecs_cost_usd(&self, ms: f64) -> f64 {
        let profile = infergate_core::PricingProfile::Container {
            usd_per_hour: self.task_usd_per_hour,
            concurrency: 1.0,
            api_gateway_usd_per_million: 0.0,
        };
        profile.cost_usd(ms).unwrap_or(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_validates() {
        let f: FunctionConfig = toml_like(
            r#"{"name":"thumbs","memory_mb":512,"handler":{"kind":"sleep-cpu","exec_ms":{"dist":"constant","value":5}},
                "lambda":{"backend":"local-function"},"ecs":{"backend":"local-container","tasks":2}}"#,
        );
        f.validate().unwrap();
        assert_eq!(f.mode, RoutingMode::Hybrid);
        assert!(matches!(f.ecs, Some(BackendConfig::LocalContainer { tasks: 2, .. })));
        let no_backend = FunctionConfig { lambda: None, ecs: None, ..f.clone() };
        assert!(no_backend.validate().unwrap_err().contains("configure a backend"));
        let no_handler = FunctionConfig { handler: None, ..f.clone() };
        assert!(no_handler.validate().unwrap_err().contains("needs a handler"));
        let bad_name = FunctionConfig { name: "a/b".into(), ..f.clone() };
        assert!(bad_name.validate().is_err());
        let bad_url = FunctionConfig { ecs: Some(toml_like(r#"{"backend":"http","url":"ftp://x"}"#)), ..f.clone() };
        assert!(bad_url.validate().unwrap_err().contains("http://"));
        // 512 MB for 100 ms: 0.2 USD per million + 0.1 s × 0.5 GB × 0.0000166667.
        assert!((f.lambda_cost_usd(100.0) - (0.2e-6 + 0.05 * 0.0000166667)).abs() < 1e-15);
        assert!((f.ecs_cost_usd(3.6e6) - f.task_usd_per_hour).abs() < 1e-12);
    }

    fn toml_like<T: serde::de::DeserializeOwned>(json: &str) -> T {
        serde_json::from_str(json).unwrap()
    }
}

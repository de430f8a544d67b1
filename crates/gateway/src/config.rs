//! Settings of the HTTP gateway.

use serde::{Deserialize, Serialize};

/// Limits and defaults applied by the gateway.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayConfig {
    /// Largest accepted request body in bytes (413 above).
    pub max_body_bytes: usize,
    /// Largest accepted image in pixels, checked from the header before decoding (400 above).
    pub max_pixels: u64,
    /// `top_k` when the request does not say.
    pub default_top_k: usize,
    /// Model used when a request names none (else the only registered model).
    pub default_model: Option<String>,
    /// Longest page of `GET /v1/inferences`.
    pub max_page_size: u32,
    /// Longest a request waits for its model to load before it is answered 503.
    pub load_timeout_s: f64,
    /// History (and images no longer shown by any record) older than this many days is
    /// deleted hourly; 0 keeps everything.
    pub retention_days: u32,
}

impl GatewayConfig {
    /// [`GatewayConfig::load_timeout_s`] as a duration (at least 1 ms).
    pub fn load_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(self.load_timeout_s.max(0.001))
    }
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            max_body_bytes: 10 * 1024 * 1024,
            max_pixels: 50_000_000,
            default_top_k: 5,
            default_model: None,
            max_page_size: 500,
            load_timeout_s: 60.0,
            retention_days: 0,
        }
    }
}

//! Settings of the HTTP gateway.

use crate::auth::rate::Rate;
use infergate_core::Role;
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
    /// Requests per second per client key (0: unlimited); a key's own rate overrides it.
    pub rate_client_per_s: f64,
    /// Requests a client key may make at once after being idle (0: the rate rounded up).
    pub burst_client: u32,
    /// Requests per second per admin key (0: unlimited); a key's own rate overrides it.
    pub rate_admin_per_s: f64,
    /// Requests an admin key may make at once after being idle (0: the rate rounded up).
    pub burst_admin: u32,
}

impl GatewayConfig {
    /// [`GatewayConfig::load_timeout_s`] as a duration (at least 1 ms).
    pub fn load_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(self.load_timeout_s.max(0.001))
    }

    /// The rate limit of a key of `role` with its own `rate_per_s` and `burst`. A key without
    /// its own rate has the role's; a key without its own burst has the role's burst, or, if it
    /// has its own rate, that rate rounded up.
    pub fn rate_for(&self, role: Role, rate_per_s: Option<f64>, burst: Option<u32>) -> Rate {
        let (role_rate, role_burst) = match role {
            Role::Client => (self.rate_client_per_s, self.burst_client),
            Role::Admin => (self.rate_admin_per_s, self.burst_admin),
        };
        let burst = burst.unwrap_or(if rate_per_s.is_some() { 0 } else { role_burst });
        Rate::new(rate_per_s.unwrap_or(role_rate), burst)
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
            rate_client_per_s: 20.0,
            burst_client: 40,
            rate_admin_per_s: 0.0,
            burst_admin: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_rates_fall_back_to_the_role() {
        let c = GatewayConfig::default();
        assert_eq!(c.rate_for(Role::Client, None, None), Rate::new(20.0, 40));
        assert!(c.rate_for(Role::Admin, None, None).is_unlimited());
        assert_eq!(c.rate_for(Role::Client, Some(2.5), None), Rate::new(2.5, 3), "its own rate, rounded up");
        assert_eq!(c.rate_for(Role::Client, None, Some(3)), Rate::new(20.0, 3));
        assert!(c.rate_for(Role::Client, Some(0.0), Some(3)).is_unlimited(), "a key's 0 is unlimited");
        assert_eq!(c.rate_for(Role::Admin, Some(1.0), Some(1)), Rate::new(1.0, 1));
    }
}

//! What a request costs under a pricing profile, so that every answer can carry `cost_usd`.
//!
//! Prices are per AWS us-east-1 list prices (2026) by default; all are configurable.

use serde::{Deserialize, Serialize};

/// AWS Lambda, x86: USD per GB-second of billed duration.
pub const LAMBDA_X86_USD_PER_GB_S: f64 = 0.000_016_666_7;
/// AWS Lambda, Arm: USD per GB-second.
pub const LAMBDA_ARM_USD_PER_GB_S: f64 = 0.000_013_333_4;
/// AWS Lambda provisioned concurrency, x86: USD per GB-second provisioned (paid whether used or not).
pub const LAMBDA_X86_PROVISIONED_USD_PER_GB_S: f64 = 0.000_004_166_7;
/// AWS Lambda provisioned concurrency, x86: USD per GB-second of duration on provisioned instances.
pub const LAMBDA_X86_PROVISIONED_DURATION_USD_PER_GB_S: f64 = 0.000_009_722_2;
/// AWS Lambda provisioned concurrency, Arm: USD per GB-second provisioned.
pub const LAMBDA_ARM_PROVISIONED_USD_PER_GB_S: f64 = 0.000_003_333_4;
/// AWS Lambda provisioned concurrency, Arm: USD per GB-second of duration on provisioned instances.
pub const LAMBDA_ARM_PROVISIONED_DURATION_USD_PER_GB_S: f64 = 0.000_007_777_8;
/// AWS Lambda: USD per request ($0.20 per million).
pub const LAMBDA_USD_PER_REQUEST: f64 = 0.20 / 1e6;
/// API Gateway HTTP APIs: USD per million requests.
pub const API_GATEWAY_HTTP_USD_PER_MILLION: f64 = 1.00;
/// API Gateway REST APIs: USD per million requests.
pub const API_GATEWAY_REST_USD_PER_MILLION: f64 = 3.50;
/// AWS Fargate: USD per vCPU-hour.
pub const FARGATE_USD_PER_VCPU_HOUR: f64 = 0.040_48;
/// AWS Fargate: USD per GB-hour of memory.
pub const FARGATE_USD_PER_GB_HOUR: f64 = 0.004_445;

/// How requests are billed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PricingProfile {
    /// No pricing: answers carry `cost_usd: null`.
    None,
    /// A serverless function: a price per request plus the billed duration (rounded up to
    /// the millisecond) times the memory size, plus an API gateway per request.
    Lambda {
        /// Memory size of the function in MB (1 GB = 1024 MB).
        memory_mb: f64,
        /// USD per GB-second.
        usd_per_gb_s: f64,
        /// USD per request.
        usd_per_request: f64,
        /// API gateway USD per million requests (0 for a function URL).
        api_gateway_usd_per_million: f64,
    },
    /// An always-on container billed by the hour, running `concurrency` requests at a time:
    /// each request is charged its share of the container-time it used.
    Container {
        /// USD per hour for the container (e.g. Fargate vCPU-hours + GB-hours).
        usd_per_hour: f64,
        /// Requests the container serves at once.
        concurrency: f64,
        /// API gateway (or load balancer) USD per million requests.
        api_gateway_usd_per_million: f64,
    },
}

impl Default for PricingProfile {
    /// A 1,024 MB x86 Lambda function behind an HTTP API gateway.
    fn default() -> Self {
        PricingProfile::lambda_x86(1024.0, API_GATEWAY_HTTP_USD_PER_MILLION)
    }
}

/// USD per hour of a Fargate task with `vcpu` vCPUs and `memory_gb` GB.
pub fn fargate_usd_per_hour(vcpu: f64, memory_gb: f64) -> f64 {
    vcpu * FARGATE_USD_PER_VCPU_HOUR + memory_gb * FARGATE_USD_PER_GB_HOUR
}

impl PricingProfile {
    /// An x86 Lambda function of `memory_mb` at list prices, behind a gateway costing
    /// `api_gateway_usd_per_million` (0 for a function URL).
    pub fn lambda_x86(memory_mb: f64, api_gateway_usd_per_million: f64) -> Self {
        PricingProfile::Lambda {
            memory_mb,
            usd_per_gb_s: LAMBDA_X86_USD_PER_GB_S,
            usd_per_request: LAMBDA_USD_PER_REQUEST,
            api_gateway_usd_per_million,
        }
    }

    /// A Fargate task with `vcpu` vCPUs and `memory_gb` GB serving `concurrency` requests at
    /// once behind an HTTP API gateway.
    pub fn fargate(vcpu: f64, memory_gb: f64, concurrency: f64) -> Self {
        PricingProfile::Container {
            usd_per_hour: fargate_usd_per_hour(vcpu, memory_gb),
            concurrency,
            api_gateway_usd_per_million: API_GATEWAY_HTTP_USD_PER_MILLION,
        }
    }

    /// The cost in USD of one request that took `duration_ms`; `None` without a profile.
    pub fn cost_usd(&self, duration_ms: f64) -> Option<f64> {
        let duration_ms = duration_ms.max(0.0);
        match *self {
            PricingProfile::None => None,
            PricingProfile::Lambda { memory_mb, usd_per_gb_s, usd_per_request, api_gateway_usd_per_million } => {
                let billed_s = duration_ms.ceil() / 1e3;
                Some(usd_per_request + billed_s * memory_mb / 1024.0 * usd_per_gb_s + api_gateway_usd_per_million / 1e6)
            }
            PricingProfile::Container { usd_per_hour, concurrency, api_gateway_usd_per_million } => {
                let share = duration_ms / 3.6e6 / concurrency.max(1e-9);
                Some(usd_per_hour * share + api_gateway_usd_per_million / 1e6)
            }
        }
    }

    /// Checks the numbers are usable (finite, non-negative, a positive memory size and
    /// concurrency).
    pub fn validate(&self) -> Result<(), String> {
        let ok = |v: f64| v.is_finite() && v >= 0.0;
        match *self {
            PricingProfile::None => Ok(()),
            PricingProfile::Lambda { memory_mb, usd_per_gb_s, usd_per_request, api_gateway_usd_per_million } => {
                if memory_mb > 0.0
                    && [memory_mb, usd_per_gb_s, usd_per_request, api_gateway_usd_per_million].iter().all(|&v| ok(v))
                {
                    Ok(())
                } else {
                    Err("pricing (lambda): memory_mb must be positive and every price a non-negative number".into())
                }
            }
            PricingProfile::Container { usd_per_hour, concurrency, api_gateway_usd_per_million } => {
                if concurrency > 0.0 && [usd_per_hour, concurrency, api_gateway_usd_per_million].iter().all(|&v| ok(v))
                {
                    Ok(())
                } else {
                    Err("pricing (container): concurrency must be positive and every price a non-negative number"
                        .into())
                }
            }
        }
    }
}

/// Lambda provisioned concurrency: the capacity bill for keeping `instances` instances of
/// `memory_mb` warm for `seconds`, plus the duration bill of `busy_ms` milliseconds of requests
/// run on them (requests are still charged [`LAMBDA_USD_PER_REQUEST`] each, on top).
pub fn lambda_provisioned_usd(memory_mb: f64, instances: f64, seconds: f64, busy_ms: f64, arm: bool) -> f64 {
    let (capacity, duration) = if arm {
        (LAMBDA_ARM_PROVISIONED_USD_PER_GB_S, LAMBDA_ARM_PROVISIONED_DURATION_USD_PER_GB_S)
    } else {
        (LAMBDA_X86_PROVISIONED_USD_PER_GB_S, LAMBDA_X86_PROVISIONED_DURATION_USD_PER_GB_S)
    };
    let gb = memory_mb.max(0.0) / 1024.0;
    gb * instances.max(0.0) * seconds.max(0.0) * capacity + gb * busy_ms.max(0.0) / 1e3 * duration
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-15 + 1e-9 * b.abs()
    }

    #[test]
    fn lambda_cost_by_hand() {
        // 1,024 MB for 100 ms: 0.1 GB-s * 0.0000166667 = 0.00000166667; + 0.0000002 request
        // + 0.000001 API gateway = 0.00000286667.
        let p = PricingProfile::default();
        assert!(close(p.cost_usd(100.0).unwrap(), 0.000_002_866_67));
        // Billed duration rounds up to the millisecond: 12.3 ms bills as 13 ms.
        assert!(close(p.cost_usd(12.3).unwrap(), p.cost_usd(13.0).unwrap()));
        // 2,048 MB Arm, function URL (no gateway), 1 s: 2 GB-s * 0.0000133334 + 0.0000002.
        let arm = PricingProfile::Lambda {
            memory_mb: 2048.0,
            usd_per_gb_s: LAMBDA_ARM_USD_PER_GB_S,
            usd_per_request: LAMBDA_USD_PER_REQUEST,
            api_gateway_usd_per_million: 0.0,
        };
        assert!(close(arm.cost_usd(1000.0).unwrap(), 0.000_026_866_8));
    }

    #[test]
    fn provisioned_concurrency_by_hand() {
        // 2 instances of 1,024 MB for an hour: 2 GB * 3600 s * 0.0000041667 = 0.03000024;
        // 100 s of requests on them: 100 GB-s * 0.0000097222 = 0.00097222. Total 0.03097246.
        assert!(close(lambda_provisioned_usd(1024.0, 2.0, 3600.0, 100_000.0, false), 0.030_972_46));
        // Arm, 512 MB, 1 instance for 10 minutes, idle: 0.5 * 600 * 0.0000033334 = 0.00100002.
        assert!(close(lambda_provisioned_usd(512.0, 1.0, 600.0, 0.0, true), 0.001_000_02));
    }

    #[test]
    fn container_cost_by_hand() {
        // 1 vCPU + 2 GB Fargate = 0.04048 + 0.00889 = 0.04937 USD/h. A 36 ms request on a
        // container serving 2 at once uses 0.018 s of the hour: 0.04937 * 0.018 / 3600
        // = 0.00000024685, + 0.000001 gateway = 0.00000124685.
        let p = PricingProfile::fargate(1.0, 2.0, 2.0);
        assert!(close(p.cost_usd(36.0).unwrap(), 0.000_001_246_85));
        assert_eq!(PricingProfile::None.cost_usd(36.0), None);
    }

    #[test]
    fn config_form_and_validation() {
        let p: PricingProfile = serde_json::from_str(
            r#"{"kind":"container","usd_per_hour":0.05,"concurrency":4,"api_gateway_usd_per_million":0}"#,
        )
        .unwrap();
        assert!(p.validate().is_ok());
        let bad = PricingProfile::Container { usd_per_hour: -1.0, concurrency: 1.0, api_gateway_usd_per_million: 0.0 };
        assert!(bad.validate().is_err());
        let bad = PricingProfile::Lambda {
            memory_mb: 0.0,
            usd_per_gb_s: 1.0,
            usd_per_request: 0.0,
            api_gateway_usd_per_million: 0.0,
        };
        assert!(bad.validate().is_err());
        assert!(serde_json::from_str::<PricingProfile>(r#"{"kind":"none"}"#).is_ok());
    }
}

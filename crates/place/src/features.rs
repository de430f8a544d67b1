//! What a placement decision looks at: the seed's four request fields (`workload_type`,
//! `payload_size_kb`, `time_window`, `load_pattern`) plus the numbers the seed left out (rate,
//! burstiness, memory, duration, concurrency), computed for a window of a request stream.
//!
//! Categorical fields are encoded as their index in the wire-name list (trees split on them
//! directly); [`FULL_FEATURES`] names the vector order, [`SEED_FEATURES`] the seed's subset.

use crate::scenario::WorkloadType;
use crate::sim::Request;
use serde::{Deserialize, Serialize};

/// The seed's time-of-day buckets: morning 06–11 h, midday 11–17 h, evening 17–22 h, night 22–06 h.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeWindow {
    /// 06:00–11:00.
    Morning,
    /// 11:00–17:00.
    Midday,
    /// 17:00–22:00.
    Evening,
    /// 22:00–06:00.
    Night,
}

impl TimeWindow {
    /// The bucket of an hour of the day (0–23; other values wrap).
    pub fn of_hour(hour: f64) -> TimeWindow {
        match hour.rem_euclid(24.0) {
            h if (6.0..11.0).contains(&h) => TimeWindow::Morning,
            h if (11.0..17.0).contains(&h) => TimeWindow::Midday,
            h if (17.0..22.0).contains(&h) => TimeWindow::Evening,
            _ => TimeWindow::Night,
        }
    }
}

/// The seed's load levels: `burst_load` when the busiest minute has at least
/// [`BURST_PEAK_TO_MEAN`] × the mean minute's requests, else `low_load` under
/// [`LOW_LOAD_PER_S`] requests/s, else `medium_load`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadPattern {
    /// Light, steady traffic.
    LowLoad,
    /// Heavier, steady traffic.
    MediumLoad,
    /// Traffic with bursts.
    BurstLoad,
}

/// Peak-to-mean minute ratio from which a window counts as `burst_load`.
pub const BURST_PEAK_TO_MEAN: f64 = 3.0;
/// Requests per second below which a steady window counts as `low_load`.
pub const LOW_LOAD_PER_S: f64 = 1.0;

/// The workload type of a function known only by its execution time: under 100 ms
/// `lightweight_api`, under 500 ms `thumbnail_processing`, under 2 s `medium_processing`,
/// else `heavy_processing`.
pub fn workload_type_of(median_exec_ms: f64) -> WorkloadType {
    match median_exec_ms {
        m if m < 100.0 => WorkloadType::LightweightApi,
        m if m < 500.0 => WorkloadType::ThumbnailProcessing,
        m if m < 2000.0 => WorkloadType::MediumProcessing,
        _ => WorkloadType::HeavyProcessing,
    }
}

/// Every feature, in vector order.
pub const FULL_FEATURES: [&str; 10] = [
    "workload_type",
    "payload_size_kb",
    "time_window",
    "load_pattern",
    "rate_per_s",
    "burstiness",
    "memory_mb",
    "duration_mean_ms",
    "duration_p50_ms",
    "concurrency",
];

/// The seed's four request fields.
pub const SEED_FEATURES: [&str; 4] = ["workload_type", "payload_size_kb", "time_window", "load_pattern"];

/// The features of one window of a function's traffic.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WindowFeatures {
    /// The seed's workload type (given by a scenario, or from the median duration).
    pub workload_type: WorkloadType,
    /// Request payload in KB (0 where the trace does not say).
    pub payload_size_kb: f64,
    /// Time of day of the window's start.
    pub time_window: TimeWindow,
    /// Load level of the window.
    pub load_pattern: LoadPattern,
    /// Mean arrival rate, requests per second.
    pub rate_per_s: f64,
    /// Busiest minute ÷ mean minute (1 = perfectly steady; 0 without requests).
    pub burstiness: f64,
    /// Function memory, MB.
    pub memory_mb: f64,
    /// Mean execution time, ms.
    pub duration_mean_ms: f64,
    /// Median execution time, ms.
    pub duration_p50_ms: f64,
    /// Offered concurrency (Little's law): rate × mean execution seconds.
    pub concurrency: f64,
}

/// What a window's features are computed from besides its requests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowContext {
    /// Window start, seconds from the trace start.
    pub start_s: f64,
    /// Window length, seconds.
    pub length_s: f64,
    /// Hour of the day at the trace start (0 for the Azure traces, which start at midnight).
    pub start_hour: f64,
    /// The function's workload type, when known; else derived from the median duration.
    pub workload_type: Option<WorkloadType>,
    /// Payload size, KB.
    pub payload_kb: f64,
    /// Function memory, MB.
    pub memory_mb: f64,
}

impl WindowFeatures {
    /// The features of `requests` (those of one window, in arrival order).
    pub fn of_window(requests: &[Request], ctx: &WindowContext) -> WindowFeatures {
        let n = requests.len() as f64;
        let length_s = ctx.length_s.max(1e-9);
        let rate_per_s = n / length_s;
        let minutes = (length_s / 60.0).ceil().max(1.0) as usize;
        let mut per_minute = vec![0u32; minutes];
        for r in requests {
            let m = (((r.arrival_s - ctx.start_s) / 60.0).max(0.0) as usize).min(minutes - 1);
            per_minute[m] += 1;
        }
        let mean_minute = n / minutes as f64;
        let peak = per_minute.iter().copied().max().unwrap_or(0) as f64;
        let burstiness = if n > 0.0 { peak / mean_minute } else { 0.0 };
        let mut exec: Vec<f64> = requests.iter().map(|r| r.exec_ms).collect();
        exec.sort_by(f64::total_cmp);
        let duration_mean_ms = if exec.is_empty() { 0.0 } else { exec.iter().sum::<f64>() / n };
        let duration_p50_ms = if exec.is_empty() { 0.0 } else { exec[(exec.len() - 1) / 2] };
        let load_pattern = if n > 0.0 && burstiness >= BURST_PEAK_TO_MEAN {
            LoadPattern::BurstLoad
        } else if rate_per_s < LOW_LOAD_PER_S {
            LoadPattern::LowLoad
        } else {
            LoadPattern::MediumLoad
        };
        WindowFeatures {
            workload_type: ctx.workload_type.unwrap_or_else(|| workload_type_of(duration_p50_ms)),
            payload_size_kb: ctx.payload_kb,
            time_window: TimeWindow::of_hour(ctx.start_hour + ctx.start_s / 3600.0),
            load_pattern,
            rate_per_s,
            burstiness,
            memory_mb: ctx.memory_mb,
            duration_mean_ms,
            duration_p50_ms,
            concurrency: rate_per_s * duration_mean_ms / 1e3,
        }
    }

    /// The value of the feature called `name` (one of [`FULL_FEATURES`]).
    pub fn value(&self, name: &str) -> Option<f64> {
        let seed = (self.workload_type, self.payload_size_kb, self.time_window, self.load_pattern);
        if let Some(v) = seed_value(name, seed) {
            return Some(v);
        }
        Some(match name {
            "rate_per_s" => self.rate_per_s,
            "burstiness" => self.burstiness,
            "memory_mb" => self.memory_mb,
            "duration_mean_ms" => self.duration_mean_ms,
            "duration_p50_ms" => self.duration_p50_ms,
            "concurrency" => self.concurrency,
            _ => return None,
        })
    }

    /// The values of `names`, in that order; the first unknown name is the error.
    pub fn vector(&self, names: &[impl AsRef<str>]) -> Result<Vec<f64>, String> {
        names.iter().map(|n| self.value(n.as_ref()).ok_or_else(|| n.as_ref().to_string())).collect()
    }
}

/// The value of one of [`SEED_FEATURES`] given the seed's four fields (categorical ones as
/// their index in the wire-name list); `None` for any other name.
pub fn seed_value(
    name: &str,
    (kind, payload_kb, time, load): (WorkloadType, f64, TimeWindow, LoadPattern),
) -> Option<f64> {
    Some(match name {
        "workload_type" => kind as usize as f64,
        "payload_size_kb" => payload_kb,
        "time_window" => time as usize as f64,
        "load_pattern" => load as usize as f64,
        _ => return None,
    })
}

/// A feature's value from text: wire names for the categorical features (`workload_type`,
/// `time_window`, `load_pattern`, encoded as in [`WindowFeatures::value`]), numbers for the
/// others. `None` when the text is not a valid value.
pub fn parse_value(name: &str, text: &str) -> Option<f64> {
    fn index<T: for<'de> Deserialize<'de>>(text: &str) -> Option<T> {
        serde_json::from_value(serde_json::Value::String(text.to_string())).ok()
    }
    match name {
        "workload_type" => index::<WorkloadType>(text).map(|v| v as usize as f64),
        "time_window" => index::<TimeWindow>(text).map(|v| v as usize as f64),
        "load_pattern" => index::<LoadPattern>(text).map(|v| v as usize as f64),
        _ => text.trim().parse::<f64>().ok().filter(|v| v.is_finite()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_by_hand() {
        assert_eq!(TimeWindow::of_hour(7.5), TimeWindow::Morning);
        assert_eq!(TimeWindow::of_hour(12.0), TimeWindow::Midday);
        assert_eq!(TimeWindow::of_hour(21.9), TimeWindow::Evening);
        assert_eq!(TimeWindow::of_hour(23.0), TimeWindow::Night);
        assert_eq!(TimeWindow::of_hour(27.0), TimeWindow::Night, "03:00 the next day");
        assert_eq!(workload_type_of(20.0), WorkloadType::LightweightApi);
        assert_eq!(workload_type_of(5000.0), WorkloadType::HeavyProcessing);
    }

    #[test]
    fn a_window_by_hand() {
        // 2 minutes: 1 request in the first, 5 in the second; 100 ms each.
        let mut reqs = vec![Request { arrival_s: 3600.0 + 10.0, exec_ms: 100.0 }];
        reqs.extend((0..5).map(|i| Request { arrival_s: 3600.0 + 61.0 + i as f64, exec_ms: 100.0 }));
        let ctx = WindowContext {
            start_s: 3600.0,
            length_s: 120.0,
            start_hour: 6.0,
            workload_type: None,
            payload_kb: 2.0,
            memory_mb: 256.0,
        };
        let f = WindowFeatures::of_window(&reqs, &ctx);
        assert_eq!(f.rate_per_s, 6.0 / 120.0);
        assert_eq!(f.burstiness, 5.0 / 3.0);
        assert_eq!(f.load_pattern, LoadPattern::LowLoad);
        assert_eq!(f.time_window, TimeWindow::Morning, "the window starts at 07:00");
        assert_eq!(f.workload_type, WorkloadType::ThumbnailProcessing, "100 ms is not under 100 ms");
        assert!((f.concurrency - 0.005).abs() < 1e-12);
        assert_eq!(f.vector(&SEED_FEATURES).unwrap(), vec![1.0, 2.0, 0.0, 0.0]);
        assert_eq!(f.vector(&["rate_per_s", "nope"]), Err("nope".to_string()));
        assert_eq!(parse_value("time_window", "evening"), Some(2.0));
        assert_eq!(parse_value("workload_type", "heavy_processing"), Some(3.0));
        assert_eq!(parse_value("load_pattern", "soon"), None);
        assert_eq!(parse_value("rate_per_s", "2.5"), Some(2.5));
        assert_eq!(parse_value("rate_per_s", "inf"), None);
    }
}

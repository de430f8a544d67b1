//! NVIDIA Jetson `tegrastats` logs: per-line parsing and energy over a whole log.
//!
//! Two rail formats are understood: the older `POM_5V_IN 2840/2953` (current / average mW, Nano,
//! TX2, Xavier on L4T 32) and the newer `VDD_IN 5000mW/5000mW` (Orin, L4T 35+). Lines may start with
//! a timestamp; when every line has one, sample times come from them, otherwise from the sampling
//! interval the caller passes (tegrastats `--interval`, 1000 ms by default).

mod line;

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use line::{parse_line, CpuCore, RailPower, TegrastatsSample, Temperature};

use crate::error::Result;
use crate::measurement::Measurement;
use crate::rail::Rail;
use crate::series::PowerSeries;
use crate::sysfs::read_string;

/// Source name used for measurements built from tegrastats logs.
pub const NAME: &str = "tegrastats";

/// A parsed tegrastats log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TegrastatsLog {
    /// Parsed samples, in file order.
    pub samples: Vec<TegrastatsSample>,
    /// Time of each sample in seconds from the first one (same length as `samples`).
    pub times_s: Vec<f64>,
    /// Non-blank lines with nothing recognisable on them.
    pub skipped_lines: usize,
    /// True when `times_s` comes from the lines' timestamps, false when from the interval.
    pub timed_from_timestamps: bool,
}

/// Parse a whole log. Blank lines are ignored; garbage lines are skipped and counted.
///
/// Times come from the timestamps if every parsed line has one and they never go backwards;
/// otherwise sample `k` is at `k × interval`.
pub fn parse_log(text: &str, interval: Duration) -> TegrastatsLog {
    let mut log = TegrastatsLog::default();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match parse_line(line) {
            Some(s) => log.samples.push(s),
            None => log.skipped_lines += 1,
        }
    }
    let stamps: Option<Vec<_>> = log.samples.iter().map(|s| s.timestamp).collect();
    let ordered = stamps.as_ref().is_some_and(|v| v.windows(2).all(|w| w[0] <= w[1]));
    match stamps {
        Some(v) if ordered && !v.is_empty() => {
            let t0 = v[0];
            log.times_s = v.iter().map(|t| (*t - t0).num_milliseconds() as f64 / 1000.0).collect();
            log.timed_from_timestamps = true;
        }
        _ => {
            let dt = interval.as_secs_f64();
            log.times_s = (0..log.samples.len()).map(|k| k as f64 * dt).collect();
        }
    }
    log
}

/// Read and parse a log file (see [`parse_log`]).
pub fn read_log(path: &Path, interval: Duration) -> Result<TegrastatsLog> {
    Ok(parse_log(&read_string(path)?, interval))
}

impl TegrastatsLog {
    /// Rail names in order of first appearance.
    pub fn rail_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for r in self.samples.iter().flat_map(|s| &s.rails) {
            if !names.contains(&r.name.as_str()) {
                names.push(&r.name);
            }
        }
        names
    }

    /// The first rail that measures the board input (`VDD_IN`, `POM_5V_IN`), if any.
    pub fn board_input_rail(&self) -> Option<&str> {
        self.rail_names().into_iter().find(|n| Rail::from_label(n) == Rail::BoardInput)
    }

    /// Instantaneous power of the named rail over time (samples without that rail are left out).
    pub fn series(&self, rail_name: &str) -> PowerSeries {
        self.samples
            .iter()
            .zip(&self.times_s)
            .filter_map(|(s, t)| s.rail(rail_name).map(|r| (*t, r.current_mw)))
            .collect()
    }

    /// Energy of the named rail over the log, mJ: ∫P dt by the trapezoidal rule over the
    /// instantaneous values (so a log of N samples covers (N − 1) intervals). `None` with fewer
    /// than two samples of that rail.
    pub fn energy_mj(&self, rail_name: &str) -> Option<f64> {
        self.series(rail_name).energy_mj()
    }

    /// A [`Measurement`] (source `tegrastats`) for the named rail.
    pub fn measurement(&self, rail_name: &str) -> Measurement {
        Measurement::from_series(NAME, rail_name, Rail::from_label(rail_name), &self.series(rail_name))
    }

    /// Duration covered by the log, seconds.
    pub fn duration_s(&self) -> f64 {
        self.times_s.last().copied().unwrap_or(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_with_timestamps_and_garbage() {
        let text = "\
04-05-2023 10:15:30 RAM 1/2MB VDD_IN 4000mW/4000mW
not a tegrastats line

04-05-2023 10:15:32 RAM 1/2MB VDD_IN 6000mW/5000mW
";
        let log = parse_log(text, Duration::from_millis(500));
        assert_eq!(log.samples.len(), 2);
        assert_eq!(log.skipped_lines, 1);
        assert!(log.timed_from_timestamps);
        assert_eq!(log.times_s, vec![0.0, 2.0]);
        // (4 W + 6 W) / 2 × 2 s = 10 J.
        assert_eq!(log.energy_mj("VDD_IN"), Some(10_000.0));
        assert_eq!(log.board_input_rail(), Some("VDD_IN"));
    }

    #[test]
    fn log_without_timestamps_uses_interval() {
        let text = "POM_5V_IN 1000/1000\nPOM_5V_IN 3000/2000\nPOM_5V_IN 1000/1666\n";
        let log = parse_log(text, Duration::from_millis(100));
        assert!(!log.timed_from_timestamps);
        let e = log.energy_mj("POM_5V_IN").unwrap();
        // 0.1 × (1000 + 3000)/2 + 0.1 × (3000 + 1000)/2 = 400 mJ.
        assert!((e - 400.0).abs() < 1e-9);
        let m = log.measurement("POM_5V_IN");
        assert_eq!(m.source, "tegrastats");
        assert_eq!(m.rail, Rail::BoardInput);
        assert_eq!(m.samples, 3);
        assert_eq!(log.energy_mj("NOPE"), None);
    }
}

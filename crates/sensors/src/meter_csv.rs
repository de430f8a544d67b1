//! External power meter logs (FNIRSI FNB58 and similar USB meters) exported as CSV.
//!
//! Columns are found by header name, case-insensitively, ignoring units in brackets:
//! a time column (`timestamp`, `time`, `t`, `elapsed`, ...; seconds as a number, or ISO-8601 /
//! RFC 3339 date-times, turned into Unix seconds), a voltage column (`voltage`, `volt`, `v`,
//! `vbus`, ...) and a current column (`current`, `curr`, `i`, `a`, `ibus`, ...). A unit in the
//! header (`time(ms)`, `current_mA`, `voltage (mV)`) scales the values to s, V and A. Extra columns
//! (power, energy, D+/D−, ...) are ignored: power is always recomputed as V × I. The delimiter
//! (`,`, `;` or tab) is taken from the header line. Rows that are malformed, not finite or go back
//! in time are skipped and counted.

use std::path::Path;

use chrono::{DateTime, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::error::{Result, SensorError};
use crate::measurement::Measurement;
use crate::rail::Rail;
use crate::series::PowerSeries;
use crate::sysfs::read_string;

/// Source name used for measurements built from meter logs.
pub const NAME: &str = "meter";

/// One meter row.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeterSample {
    /// Time in seconds (as in the file, or Unix seconds for date-times).
    pub t_s: f64,
    /// Volts.
    pub voltage_v: f64,
    /// Amperes.
    pub current_a: f64,
}

impl MeterSample {
    /// V × I in milliwatts.
    pub fn power_mw(&self) -> f64 {
        self.voltage_v * self.current_a * 1000.0
    }
}

/// A parsed meter log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MeterLog {
    /// Rows in time order.
    pub samples: Vec<MeterSample>,
    /// Data rows that were skipped (malformed, non-finite, out of time order).
    pub skipped_rows: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum Role {
    Time,
    Voltage,
    Current,
}

/// Header → (role, scale to s / V / A, exact-alias match).
fn classify_header(header: &str) -> Option<(Role, f64, bool)> {
    let h = header.trim().trim_start_matches('\u{feff}').to_ascii_lowercase();
    // Unit: inside brackets, else after the last '_' or space.
    let (base, unit) = match h.find(['(', '[']) {
        Some(i) => (&h[..i], h[i + 1..].trim_end_matches([')', ']']).trim()),
        None => match h.rfind(['_', ' ']) {
            Some(i) => (&h[..i], h[i + 1..].trim()),
            None => (h.as_str(), ""),
        },
    };
    let base: String = base.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let whole: String = h.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let milli = unit == "ms" || unit == "mv" || unit == "ma";
    let micro = unit == "us" || unit == "µs";
    let scale = if milli {
        1e-3
    } else if micro {
        1e-6
    } else {
        1.0
    };
    const TIME: [&str; 8] = ["timestamp", "time", "t", "ts", "elapsed", "seconds", "sec", "datetime"];
    const VOLT: [&str; 6] = ["voltage", "volt", "volts", "v", "vbus", "u"];
    const CURR: [&str; 7] = ["current", "curr", "amps", "amp", "i", "a", "ibus"];
    for (role, names) in [(Role::Time, &TIME[..]), (Role::Voltage, &VOLT[..]), (Role::Current, &CURR[..])] {
        if names.contains(&base.as_str()) || names.contains(&whole.as_str()) {
            return Some((role, scale, true));
        }
    }
    let prefixes = [(Role::Time, "time"), (Role::Voltage, "voltage"), (Role::Current, "current")];
    prefixes.into_iter().find(|(_, p)| base.starts_with(p)).map(|(r, _)| (r, scale, false))
}

/// Seconds from a number or an ISO-8601 date-time (naive ones are taken as UTC).
fn parse_time(s: &str) -> Option<f64> {
    let s = s.trim();
    if let Ok(v) = s.parse::<f64>() {
        return v.is_finite().then_some(v);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_micros() as f64 / 1e6);
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .map(|t| t.and_utc().timestamp_micros() as f64 / 1e6)
}

fn parse_num(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Parse a meter CSV. Fails only when the header lacks a time, voltage or current column.
pub fn parse_meter_csv(text: &str) -> Result<MeterLog> {
    let header_line = text.lines().next().unwrap_or("");
    let delimiter =
        [b',', b';', b'\t'].into_iter().max_by_key(|d| header_line.matches(*d as char).count()).unwrap_or(b',');
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| SensorError::parse("CSV header", "meter CSV", &e.to_string()))?.clone();

    // For each role: (column, scale, exact); an exact alias beats a prefix match, first one wins.
    let mut cols: [Option<(usize, f64, bool)>; 3] = [None; 3];
    for (i, h) in headers.iter().enumerate() {
        if let Some((role, scale, exact)) = classify_header(h) {
            let slot = &mut cols[role as usize];
            if slot.is_none() || (exact && !slot.is_some_and(|s| s.2)) {
                *slot = Some((i, scale, exact));
            }
        }
    }
    let names = ["time", "voltage", "current"];
    let mut found = [(0usize, 1.0f64); 3];
    for (k, c) in cols.iter().enumerate() {
        let (i, scale, _) = c.ok_or_else(|| {
            let hs: Vec<&str> = headers.iter().collect();
            SensorError::Unavailable(format!("meter CSV has no {} column (headers: {})", names[k], hs.join(", ")))
        })?;
        found[k] = (i, scale);
    }

    let mut log = MeterLog::default();
    for record in reader.records() {
        let Ok(record) = record else {
            log.skipped_rows += 1;
            continue;
        };
        if record.iter().all(|f| f.is_empty()) {
            continue;
        }
        let field = |k: usize| record.get(found[k].0);
        let row = (|| {
            let t = parse_time(field(0)?)? * found[0].1;
            let v = parse_num(field(1)?)? * found[1].1;
            let a = parse_num(field(2)?)? * found[2].1;
            Some(MeterSample { t_s: t, voltage_v: v, current_a: a })
        })();
        match row {
            Some(s) if log.samples.last().is_none_or(|l| s.t_s >= l.t_s) => log.samples.push(s),
            _ => log.skipped_rows += 1,
        }
    }
    Ok(log)
}

/// Read and parse a meter CSV file (see [`parse_meter_csv`]).
pub fn read_meter_csv(path: &Path) -> Result<MeterLog> {
    parse_meter_csv(&read_string(path)?)
}

impl MeterLog {
    /// Power (V × I, mW) over time.
    pub fn series(&self) -> PowerSeries {
        self.samples.iter().map(|s| (s.t_s, s.power_mw())).collect()
    }

    /// Time of the first row, seconds.
    pub fn start_s(&self) -> Option<f64> {
        self.samples.first().map(|s| s.t_s)
    }

    /// Energy over the whole log in mJ (trapezoidal integration of V × I).
    pub fn energy_mj(&self) -> Option<f64> {
        self.series().energy_mj()
    }

    /// Energy over the whole log in mWh.
    pub fn energy_mwh(&self) -> Option<f64> {
        self.series().energy_mwh()
    }

    /// Power within `[t0_s, t1_s]` (same time base as the file), interpolated at the edges
    /// ([`PowerSeries::window`]).
    pub fn window(&self, t0_s: f64, t1_s: f64) -> PowerSeries {
        self.series().window(t0_s, t1_s)
    }

    /// A [`Measurement`] (source `meter`) over the whole log, or over `[t0, t1]` when given.
    /// The rail is whatever the meter was wired to, usually [`Rail::BoardInput`].
    pub fn measurement(&self, rail: Rail, window: Option<(f64, f64)>) -> Measurement {
        let series = match window {
            Some((t0, t1)) => self.window(t0, t1),
            None => self.series(),
        };
        Measurement::from_series(NAME, "csv", rail, &series)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        let c = |h| classify_header(h).map(|(r, s, _)| (r as usize, s));
        assert_eq!(c("Time(s)"), Some((0, 1.0)));
        assert_eq!(c("timestamp_ms"), Some((0, 1e-3)));
        assert_eq!(c("Voltage(V)"), Some((1, 1.0)));
        assert_eq!(c("VBUS"), Some((1, 1.0)));
        assert_eq!(c("Current [mA]"), Some((2, 1e-3)));
        assert_eq!(c("Power(W)"), None);
        assert_eq!(c("D+(V)"), None);
    }

    #[test]
    fn iso_times() {
        assert_eq!(parse_time("2024-01-01T00:00:01Z"), Some(1_704_067_201.0));
        assert_eq!(parse_time("2024-01-01 00:00:01.5"), Some(1_704_067_201.5));
        assert_eq!(parse_time("12.25"), Some(12.25));
        assert_eq!(parse_time("yesterday"), None);
    }
}

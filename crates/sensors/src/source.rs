//! The [`PowerSource`] abstraction shared by every live power / energy reader.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::rail::Rail;

/// Whether a source reports a running energy total or an instantaneous power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// Cumulative energy counter (RAPL, NVML total energy): read at start and stop, difference it.
    Counter,
    /// Instantaneous power: sample it periodically and integrate.
    Sampled,
}

/// One reading from a [`PowerSource`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reading {
    /// Cumulative energy counter value, in microjoules.
    Energy {
        /// Counter value in µJ.
        uj: u64,
        /// The counter wraps back to 0 after this many µJ (RAPL `max_energy_range_uj`); `None` if it
        /// does not wrap in practice (64-bit NVML counter).
        range_uj: Option<u64>,
    },
    /// Instantaneous power in milliwatts.
    Power {
        /// Power in mW.
        mw: f64,
    },
}

/// A live power or energy sensor.
///
/// Names are fixed per kind of source: `rapl`, `hwmon:ina3221`, `iio`, `nvml`, `vcgencmd`
/// (`tegrastats` and `meter` name measurements built from logs, see
/// [`crate::tegrastats`] and [`crate::meter_csv`]). The label tells channels of one source apart
/// (`package-0`, `VDD_IN`, `GPU 0 NVIDIA H200`, ...).
pub trait PowerSource: Send {
    /// Source kind name, e.g. `"rapl"` or `"hwmon:ina3221"`.
    fn name(&self) -> &str;
    /// Channel label within the source, e.g. `"package-0"`, `"VDD_IN"`.
    fn label(&self) -> &str;
    /// Which rail this channel measures.
    fn rail(&self) -> Rail;
    /// Counter or sampled power.
    fn kind(&self) -> SourceKind;
    /// Take one reading. Errors are returned, never replaced by zero.
    fn read(&mut self) -> Result<Reading>;
}

/// Energy between two counter readings, handling one wrap-around.
///
/// Returns `cur - prev` if the counter went up; `range - prev + cur` if it went down and the
/// range is known (one wrap); `None` if it went down without a known range (a reset: the energy
/// over the interval is unknown).
pub fn counter_delta(prev: u64, cur: u64, range: Option<u64>) -> Option<u64> {
    if cur >= prev {
        Some(cur - prev)
    } else {
        match range {
            Some(r) if r >= prev => Some(r - prev + cur),
            _ => None,
        }
    }
}

/// Description of a source that was found but cannot be read, with the reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unavailable {
    /// Source kind name (`rapl`, ...).
    pub name: String,
    /// Channel label.
    pub label: String,
    /// Rail it would measure.
    pub rail: Rail,
    /// Why it cannot be read (e.g. "permission denied reading /sys/.../energy_uj").
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas() {
        assert_eq!(counter_delta(10, 25, None), Some(15));
        assert_eq!(counter_delta(90, 5, Some(100)), Some(15));
        assert_eq!(counter_delta(90, 5, None), None);
        assert_eq!(counter_delta(200, 5, Some(100)), None);
    }
}

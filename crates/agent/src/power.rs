//! The device's power sensor, found the way `infergate bench` finds it, shared by the inference
//! loop (energy per inference) and telemetry (power). Of the sources found, the one best standing
//! for the whole device is used (board input, then module, package, GPU, CPU; see
//! [`infergate_sensors::Rail::whole_system_rank`]).

use std::path::Path;
use std::time::Instant;

use infergate_sensors::{counter_delta, discover_with, DiscoverOptions, PowerSource, Reading, SensorError};
use parking_lot::Mutex;

/// One power or energy source.
pub struct PowerProbe {
    source: Mutex<Box<dyn PowerSource>>,
    name: String,
    label: String,
}

impl std::fmt::Debug for PowerProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PowerProbe({}:{})", self.name, self.label)
    }
}

impl PowerProbe {
    /// The best source on this machine: under `/` with NVML and `vcgencmd` when `sysfs_root` is
    /// `None`, else only the file-based sources under `sysfs_root`. `None` when there is none;
    /// the second value names the sources found but unreadable, and why.
    pub fn discover(sysfs_root: Option<&Path>) -> (Option<PowerProbe>, Vec<String>) {
        let options = match sysfs_root {
            Some(root) => DiscoverOptions::files_only(root),
            None => DiscoverOptions::default(),
        };
        let found = discover_with(&options);
        let unreadable = found.unavailable.iter().map(|u| format!("{}:{}: {}", u.name, u.label, u.reason)).collect();
        let best = found.sources.into_iter().enumerate().min_by_key(|(i, s)| (s.rail().whole_system_rank(), *i));
        (best.map(|(_, s)| PowerProbe::new(s)), unreadable)
    }

    /// A probe over one source.
    pub fn new(source: Box<dyn PowerSource>) -> Self {
        let (name, label) = (source.name().to_string(), source.label().to_string());
        PowerProbe { source: Mutex::new(source), name, label }
    }

    /// The source's name (`rapl`, `hwmon:ina3221`, …): the `energy_source` of the numbers.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The channel (`package-0`, `VDD_IN`, …).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// One reading, timestamped.
    pub fn read(&self) -> Result<(Instant, Reading), SensorError> {
        let mut source = self.source.lock();
        let reading = source.read()?;
        Ok((Instant::now(), reading))
    }
}

/// Energy between consecutive readings of one source: counters are differenced (one wrap-around
/// handled), power is integrated with the trapezoidal rule.
#[derive(Debug, Clone, Default)]
pub struct Integrator {
    prev: Option<(Instant, Reading)>,
}

impl Integrator {
    /// Starts from `reading`.
    pub fn reset(&mut self, at: Instant, reading: Reading) {
        self.prev = Some((at, reading));
    }

    /// Energy (mJ) from the previous reading to this one, without moving on; `None` when there
    /// is no previous reading, the counter was reset, or the kinds differ.
    pub fn energy_since(&self, at: Instant, reading: &Reading) -> Option<f64> {
        let (t0, prev) = self.prev.as_ref()?;
        match (prev, reading) {
            (Reading::Energy { uj: a, .. }, Reading::Energy { uj: b, range_uj }) => {
                counter_delta(*a, *b, *range_uj).map(|d| d as f64 / 1000.0)
            }
            (Reading::Power { mw: a }, Reading::Power { mw: b }) => {
                Some((a + b) / 2.0 * at.saturating_duration_since(*t0).as_secs_f64())
            }
            _ => None,
        }
    }

    /// Seconds since the previous reading.
    pub fn seconds_since(&self, at: Instant) -> Option<f64> {
        self.prev.as_ref().map(|(t0, _)| at.saturating_duration_since(*t0).as_secs_f64())
    }

    /// Mean power (mW) from the previous reading to this one, and moves on. An instantaneous
    /// power reading is returned as it is.
    pub fn power_mw(&mut self, at: Instant, reading: Reading) -> Option<f64> {
        let power = match reading {
            Reading::Power { mw } => Some(mw),
            Reading::Energy { .. } => {
                let secs = self.seconds_since(at).filter(|s| *s > 0.0);
                self.energy_since(at, &reading).zip(secs).map(|(mj, s)| mj / s)
            }
        };
        self.reset(at, reading);
        power
    }
}

/// Millijoules to milliwatt-hours.
pub fn mj_to_mwh(mj: f64) -> f64 {
    mj / 3600.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn counters_and_power() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(2);
        let mut i = Integrator::default();
        assert_eq!(i.energy_since(t1, &Reading::Power { mw: 1.0 }), None);
        i.reset(t0, Reading::Energy { uj: 90_000, range_uj: Some(100_000) });
        // One wrap: 10 mJ to the end of the range, 5 mJ after it.
        assert_eq!(i.energy_since(t1, &Reading::Energy { uj: 5_000, range_uj: Some(100_000) }), Some(15.0));
        assert_eq!(i.energy_since(t1, &Reading::Energy { uj: 5_000, range_uj: None }), None);
        assert_eq!(i.power_mw(t1, Reading::Energy { uj: 94_000, range_uj: None }), Some(2.0));
        i.reset(t0, Reading::Power { mw: 1000.0 });
        assert_eq!(i.energy_since(t1, &Reading::Power { mw: 3000.0 }), Some(4000.0));
        assert_eq!(i.energy_since(t1, &Reading::Energy { uj: 1, range_uj: None }), None);
        assert_eq!(mj_to_mwh(3600.0), 1.0);
    }

    #[test]
    fn discovery_on_an_empty_tree_finds_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (probe, unreadable) = PowerProbe::discover(Some(dir.path()));
        assert!(probe.is_none() && unreadable.is_empty());
    }
}

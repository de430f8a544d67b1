//! Where the power of the measured runs comes from: the sensors found on this machine (read live
//! by an [`EnergyMeter`]), or a log another program writes while the benchmark runs — an external
//! meter's CSV or a tegrastats log — of which the window of the runs is integrated.
//!
//! A benchmark goes through these steps: [`PowerInput::idle`] (the idle baseline),
//! [`PowerInput::start`] right before the first measured run, [`PowerInput::stop`] right after the
//! last one, then [`PowerInput::gather`] (which reads a log, possibly waiting for it);
//! [`PowerInput::finish`] does the last two at once.

use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::TimeZone;
use infergate_sensors::energy_meter::RunningMeasurement;
use infergate_sensors::series::PowerSeries;
use infergate_sensors::{
    discover_with, meter_csv, nvml_compiled, read_meter_csv, tegrastats, DiscoverOptions, EnergyMeter, Measurement,
    Rail,
};

/// How long [`PowerInput::finish`] waits for a log to reach the end of the runs.
pub const LOG_WAIT: Duration = Duration::from_secs(5);

/// The source of power measurements for a benchmark.
#[derive(Debug)]
pub enum PowerInput {
    /// Live sensors (possibly none).
    Sensors {
        /// The meter over the sources found.
        meter: EnergyMeter,
        /// What was probed, for the "no sensor found" message.
        looked_for: Vec<String>,
    },
    /// An external power meter's CSV (see [`infergate_sensors::meter_csv`]), written while the
    /// benchmark runs; its time column must be wall-clock time (Unix seconds, or date-times, read
    /// as UTC when they have no zone).
    MeterCsv {
        /// The CSV file.
        path: PathBuf,
        /// What the meter is wired to (a USB meter at the board's input: [`Rail::BoardInput`]).
        rail: Rail,
    },
    /// A tegrastats log written while the benchmark runs (`tegrastats --logfile`); its lines need
    /// timestamps (local time), which are matched to the runs' wall-clock time. The board input
    /// rail is used when present, else the first rail.
    Tegrastats {
        /// The log file.
        path: PathBuf,
        /// The sampling interval (tegrastats `--interval`), used only to read the file.
        interval: Duration,
    },
}

/// What the idle phase left behind.
#[derive(Debug)]
pub enum IdlePhase {
    /// No idle phase (duration 0, or nothing to measure).
    Skipped,
    /// Baselines from live sensors.
    Measured(Vec<Measurement>),
    /// The wall-clock interval (Unix seconds) of the idle phase, to find in a log.
    Window(f64, f64),
}

/// A measurement in progress over the measured runs.
#[derive(Debug)]
pub enum ActivePhase {
    /// Live sensors being polled.
    Running(RunningMeasurement),
    /// Wall-clock start (Unix seconds) of the runs, to find in a log.
    Since(f64),
}

/// A measurement stopped at the end of the runs, not yet gathered.
#[derive(Debug)]
pub enum StoppedPhase {
    /// The live sensors' measurements.
    Measured(Vec<Measurement>),
    /// The wall-clock interval (Unix seconds) of the runs, to find in a log.
    Window(f64, f64),
}

/// The measurements of the runs and of the idle phase, plus what went wrong reading them.
#[derive(Debug, Default)]
pub struct PowerReadings {
    /// One per source over the measured runs (see [`EnergyMeter`]); empty when the log could not
    /// be used.
    pub measurements: Vec<Measurement>,
    /// One per source over the idle phase; `None` when it was skipped.
    pub baselines: Option<Vec<Measurement>>,
    /// Why something could not be measured.
    pub warnings: Vec<String>,
}

/// Now as Unix seconds.
pub fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

impl PowerInput {
    /// The sensors of this machine: everything (RAPL, INA3221 through hwmon and iio, NVML when
    /// compiled in, `vcgencmd`) under `/`; with `sysfs_root`, only the file-based ones under it
    /// (tests point it at a fake tree).
    pub fn discover(sysfs_root: Option<&Path>) -> PowerInput {
        let options = match sysfs_root {
            Some(root) => DiscoverOptions::files_only(root),
            None => DiscoverOptions::default(),
        };
        let looked_for = looked_for(&options);
        PowerInput::Sensors { meter: EnergyMeter::from_discovery(discover_with(&options)), looked_for }
    }

    /// What this input looks at, in words.
    pub fn looked_for(&self) -> Vec<String> {
        match self {
            PowerInput::Sensors { looked_for, .. } => looked_for.clone(),
            PowerInput::MeterCsv { path, .. } => vec![format!("meter CSV {}", path.display())],
            PowerInput::Tegrastats { path, .. } => vec![format!("tegrastats log {}", path.display())],
        }
    }

    /// The idle phase: `duration` of doing nothing, measured. Skipped when `duration` is 0 or
    /// there is no sensor to read.
    pub fn idle(&self, duration: Duration) -> IdlePhase {
        if duration.is_zero() {
            return IdlePhase::Skipped;
        }
        match self {
            PowerInput::Sensors { meter, .. } if meter.is_empty() => IdlePhase::Skipped,
            PowerInput::Sensors { meter, .. } => IdlePhase::Measured(meter.idle_baseline(duration)),
            PowerInput::MeterCsv { .. } | PowerInput::Tegrastats { .. } => {
                let t0 = unix_now();
                thread::sleep(duration);
                IdlePhase::Window(t0, unix_now())
            }
        }
    }

    /// Starts measuring; call right before the first measured run.
    pub fn start(&self) -> ActivePhase {
        match self {
            PowerInput::Sensors { meter, .. } => ActivePhase::Running(meter.start()),
            _ => ActivePhase::Since(unix_now()),
        }
    }

    /// Stops measuring; call right after the last measured run.
    pub fn stop(&self, active: ActivePhase) -> StoppedPhase {
        match active {
            ActivePhase::Running(running) => StoppedPhase::Measured(running.stop()),
            ActivePhase::Since(t0) => StoppedPhase::Window(t0, unix_now()),
        }
    }

    /// [`PowerInput::stop`] then [`PowerInput::gather`].
    pub fn finish(&self, active: ActivePhase, idle: IdlePhase) -> PowerReadings {
        self.gather(self.stop(active), idle)
    }

    /// The measurements of the runs and of the idle phase. A log is read now, waiting up to
    /// [`LOG_WAIT`] for it to reach the end of the runs.
    pub fn gather(&self, stopped: StoppedPhase, idle: IdlePhase) -> PowerReadings {
        let (measurements, end) = match stopped {
            StoppedPhase::Measured(m) => (m, None),
            StoppedPhase::Window(t0, t1) => (Vec::new(), Some((t0, t1))),
        };
        let mut readings = PowerReadings { measurements, ..PowerReadings::default() };
        let idle_window = match idle {
            IdlePhase::Skipped => None,
            IdlePhase::Measured(b) => {
                readings.baselines = Some(b);
                None
            }
            IdlePhase::Window(a, b) => Some((a, b)),
        };
        let Some((t0, t1)) = end else { return readings };
        match self.log_series(t1) {
            Err(e) => readings.warnings.push(e),
            Ok((source, label, rail, series)) => {
                match covering(&series, t0, t1, source, &label, &rail) {
                    Ok(m) => readings.measurements.push(m),
                    Err(e) => readings.warnings.push(format!("{e} (the runs)")),
                }
                if let Some((a, b)) = idle_window {
                    match covering(&series, a, b, source, &label, &rail) {
                        Ok(m) => readings.baselines = Some(vec![m]),
                        Err(e) => readings.warnings.push(format!("{e} (the idle baseline)")),
                    }
                }
            }
        }
        readings
    }

    /// The log's power series on Unix-seconds time, re-reading it until it reaches `until`.
    fn log_series(&self, until: f64) -> Result<(&'static str, String, Rail, PowerSeries), String> {
        let deadline = Instant::now() + LOG_WAIT;
        loop {
            let found = self.read_log()?;
            let reached = found.3.samples().last().is_some_and(|s| s.t_s >= until);
            if reached || Instant::now() >= deadline {
                return Ok(found);
            }
            thread::sleep(Duration::from_millis(200));
        }
    }

    fn read_log(&self) -> Result<(&'static str, String, Rail, PowerSeries), String> {
        match self {
            PowerInput::Sensors { .. } => Err("live sensors have no log".into()),
            PowerInput::MeterCsv { path, rail } => {
                let log = read_meter_csv(path).map_err(|e| format!("meter CSV {}: {e}", path.display()))?;
                match log.start_s() {
                    Some(t) if t > 1e9 => Ok((meter_csv::NAME, "csv".into(), rail.clone(), log.series())),
                    Some(_) => Err(format!(
                        "meter CSV {}: its times are not wall-clock times (Unix seconds or date-times), so the runs \
                         cannot be found in it",
                        path.display()
                    )),
                    None => Err(format!("meter CSV {}: no samples", path.display())),
                }
            }
            PowerInput::Tegrastats { path, interval } => {
                let log = tegrastats::read_log(path, *interval)
                    .map_err(|e| format!("tegrastats log {}: {e}", path.display()))?;
                let first = log.samples.first().and_then(|s| s.timestamp);
                let (Some(first), true) = (first, log.timed_from_timestamps) else {
                    return Err(format!(
                        "tegrastats log {}: its lines have no (ordered) timestamps, so the runs cannot be found in it",
                        path.display()
                    ));
                };
                let origin = chrono::Local
                    .from_local_datetime(&first)
                    .earliest()
                    .ok_or_else(|| format!("tegrastats log {}: timestamp {first} does not exist here", path.display()))?
                    .timestamp_micros() as f64
                    / 1e6;
                let rail = log
                    .board_input_rail()
                    .or_else(|| log.rail_names().first().copied())
                    .ok_or_else(|| format!("tegrastats log {}: no power rail in it", path.display()))?
                    .to_string();
                let series = log.series(&rail).samples().iter().map(|s| (s.t_s + origin, s.power_mw)).collect();
                Ok((tegrastats::NAME, rail.clone(), Rail::from_label(&rail), series))
            }
        }
    }
}

/// The part of `series` over `[t0, t1]` as a measurement, if the series covers all of it.
fn covering(
    series: &PowerSeries,
    t0: f64,
    t1: f64,
    source: &str,
    label: &str,
    rail: &Rail,
) -> Result<Measurement, String> {
    let w = series.window(t0, t1);
    const EPS: f64 = 1e-6;
    let covered = match (w.samples().first(), w.samples().last()) {
        (Some(a), Some(b)) => a.t_s <= t0 + EPS && b.t_s >= t1 - EPS && w.len() >= 2,
        _ => false,
    };
    if covered {
        return Ok(Measurement::from_series(source, label, rail.clone(), &w));
    }
    let span = match (series.samples().first(), series.samples().last()) {
        (Some(a), Some(b)) => format!("{:.3} to {:.3}", a.t_s, b.t_s),
        _ => "nothing".into(),
    };
    Err(format!("the {source} log covers {span} (Unix seconds), not all of {t0:.3} to {t1:.3}"))
}

/// The sources [`discover_with`] probes with `options`, in words.
fn looked_for(options: &DiscoverOptions) -> Vec<String> {
    let root = options.sysfs_root.display().to_string();
    let root = root.trim_end_matches('/');
    let mut out = vec![
        format!("Intel RAPL ({root}/sys/class/powercap/intel-rapl:*)"),
        format!("INA3221 ({root}/sys/class/hwmon, {root}/sys/bus/i2c/drivers/ina3221x)"),
    ];
    if options.nvml {
        out.push(if nvml_compiled() { "NVML (NVIDIA GPUs)" } else { "NVML (not in this build: feature nvml)" }.into());
    }
    if options.vcgencmd {
        out.push("vcgencmd pmic_read_adc (Raspberry Pi 5)".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covering_needs_the_whole_window() {
        let s: PowerSeries = [(10.0, 1000.0), (12.0, 3000.0)].into_iter().collect();
        let rail = Rail::BoardInput;
        let m = covering(&s, 10.5, 11.5, "meter", "csv", &rail).unwrap();
        // Linear from 1500 to 2500 mW over 1 s.
        assert!((m.energy_mj.unwrap() - 2000.0).abs() < 1e-9);
        assert!(covering(&s, 9.0, 11.0, "meter", "csv", &rail).unwrap_err().contains("not all of"));
        assert!(covering(&s, 11.0, 13.0, "meter", "csv", &rail).is_err());
    }

    #[test]
    fn looked_for_names_the_root() {
        let l = looked_for(&DiscoverOptions::files_only(Path::new("/tmp/fake")));
        assert_eq!(l.len(), 2);
        assert!(l[0].contains("/tmp/fake/sys/class/powercap"), "{l:?}");
        assert!(looked_for(&DiscoverOptions::default())[0].starts_with("Intel RAPL (/sys/class/powercap"));
    }
}

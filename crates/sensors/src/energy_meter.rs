//! Measuring energy over an interval with the discovered sources.
//!
//! [`EnergyMeter::start`] reads every source once, then a background thread polls them at a fixed
//! interval (50 ms by default): power sources are integrated with the trapezoidal rule, counters
//! are differenced with wrap-around handling (polling often also guarantees that a counter cannot
//! wrap twice unseen). [`RunningMeasurement::stop`] takes a final reading and returns one
//! [`Measurement`] per source.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::discover::Discovery;
use crate::measurement::Measurement;
use crate::rail::Rail;
use crate::series::PowerSeries;
use crate::source::{counter_delta, PowerSource, Reading, SourceKind, Unavailable};

/// Default polling interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(50);

type Sources = Arc<Mutex<Vec<Box<dyn PowerSource>>>>;

/// Name, label, rail and kind of a source held by an [`EnergyMeter`].
#[derive(Debug, Clone, PartialEq)]
pub struct SourceInfo {
    /// Source name.
    pub name: String,
    /// Channel label.
    pub label: String,
    /// Rail.
    pub rail: Rail,
    /// Counter or sampled.
    pub kind: SourceKind,
}

/// Measures energy of a set of [`PowerSource`]s over intervals. Reusable; cheap to keep around.
pub struct EnergyMeter {
    sources: Sources,
    info: Vec<SourceInfo>,
    unavailable: Vec<Unavailable>,
    interval: Duration,
}

impl EnergyMeter {
    /// A meter over the given sources, polling every [`DEFAULT_INTERVAL`].
    pub fn new(sources: Vec<Box<dyn PowerSource>>) -> Self {
        let info = sources
            .iter()
            .map(|s| SourceInfo { name: s.name().into(), label: s.label().into(), rail: s.rail(), kind: s.kind() })
            .collect();
        EnergyMeter {
            sources: Arc::new(Mutex::new(sources)),
            info,
            unavailable: Vec::new(),
            interval: DEFAULT_INTERVAL,
        }
    }

    /// A meter over a [`Discovery`]: unavailable sources are reported in every result, with their
    /// reason and no values.
    pub fn from_discovery(discovery: Discovery) -> Self {
        let mut meter = Self::new(discovery.sources);
        meter.unavailable = discovery.unavailable;
        meter
    }

    /// Discover the sources under `sysfs_root` (see [`crate::discover::discover_all`]).
    pub fn discover(sysfs_root: &std::path::Path) -> Self {
        Self::from_discovery(crate::discover::discover_all(sysfs_root))
    }

    /// Set the polling interval (clamped to at least 1 ms).
    pub fn with_interval(mut self, interval: Duration) -> Self {
        self.interval = interval.max(Duration::from_millis(1));
        self
    }

    /// The polling interval.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The readable sources.
    pub fn sources(&self) -> &[SourceInfo] {
        &self.info
    }

    /// Sources that were found but cannot be read.
    pub fn unavailable(&self) -> &[Unavailable] {
        &self.unavailable
    }

    /// True when there is no readable source.
    pub fn is_empty(&self) -> bool {
        self.info.is_empty()
    }

    /// Start a measurement: every source is read once before this returns.
    pub fn start(&self) -> RunningMeasurement {
        let started = Instant::now();
        let mut accs: Vec<Acc> = self.info.iter().map(|_| Acc::default()).collect();
        sample_all(&self.sources, &mut accs, started);
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let sources = Arc::clone(&self.sources);
        let interval = self.interval;
        // No thread when there is nothing to poll.
        let handle = if self.info.is_empty() {
            None
        } else {
            thread::Builder::new()
                .name("infergate-energy-meter".into())
                .spawn(move || {
                    let mut k: u32 = 1;
                    loop {
                        let deadline = started + interval * k;
                        let wait = deadline.saturating_duration_since(Instant::now());
                        match stop_rx.recv_timeout(wait) {
                            Err(RecvTimeoutError::Timeout) => sample_all(&sources, &mut accs, started),
                            _ => break,
                        }
                        // Skip deadlines already missed (slow sources) instead of bursting.
                        let elapsed = started.elapsed().as_secs_f64();
                        k = k.max((elapsed / interval.as_secs_f64()) as u32).saturating_add(1);
                    }
                    accs
                })
                .ok()
        };
        RunningMeasurement {
            stop_tx,
            handle,
            sources: Arc::clone(&self.sources),
            info: self.info.clone(),
            unavailable: self.unavailable.clone(),
            started,
        }
    }

    /// Run `f` while measuring; returns its result and the measurements.
    pub fn measure<R>(&self, f: impl FnOnce() -> R) -> (R, Vec<Measurement>) {
        let running = self.start();
        let r = f();
        (r, running.stop())
    }

    /// Measure for `duration` while the caller stays idle. The `mean_power_mw` of each result is the
    /// idle baseline of that source; dynamic energy of a later measurement is
    /// `energy − baseline × duration` ([`Measurement::dynamic_energy_mj`],
    /// [`crate::measurement::baseline_mw_for`]).
    pub fn idle_baseline(&self, duration: Duration) -> Vec<Measurement> {
        self.measure(|| thread::sleep(duration)).1
    }
}

impl std::fmt::Debug for EnergyMeter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnergyMeter")
            .field("sources", &self.info)
            .field("unavailable", &self.unavailable)
            .field("interval", &self.interval)
            .finish()
    }
}

/// A measurement in progress; call [`RunningMeasurement::stop`] to get the results.
/// Dropping it without stopping ends the polling thread.
pub struct RunningMeasurement {
    stop_tx: mpsc::Sender<()>,
    handle: Option<JoinHandle<Vec<Acc>>>,
    sources: Sources,
    info: Vec<SourceInfo>,
    unavailable: Vec<Unavailable>,
    started: Instant,
}

impl RunningMeasurement {
    /// Time since the measurement started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Stop polling, take a final reading of every source and return one [`Measurement`] per source
    /// (then one per unavailable source, with its reason). With no readable source the first entry
    /// is [`Measurement::none`].
    pub fn stop(mut self) -> Vec<Measurement> {
        let _ = self.stop_tx.send(());
        let joined = self.handle.take().map(|h| h.join());
        let mut out = Vec::new();
        let mut final_accs = match joined {
            Some(Ok(accs)) => Some(accs),
            _ => None,
        };
        if let Some(accs) = final_accs.as_mut() {
            sample_all(&self.sources, accs, self.started);
        }
        // After the final reading, so that every reading lies within the duration.
        let duration_s = self.started.elapsed().as_secs_f64();
        match final_accs {
            Some(accs) => {
                for (info, acc) in self.info.iter().zip(&accs) {
                    out.push(acc.finish(info, duration_s));
                }
            }
            None => {
                for info in &self.info {
                    let mut m = Acc::default().finish(info, duration_s);
                    m.error = Some("sampling thread failed".into());
                    out.push(m);
                }
            }
        }
        if self.info.is_empty() {
            out.push(Measurement::none(duration_s));
        }
        out.extend(self.unavailable.iter().map(|u| Measurement::unavailable(u, duration_s)));
        out
    }
}

impl std::fmt::Debug for RunningMeasurement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningMeasurement").field("sources", &self.info).field("elapsed", &self.elapsed()).finish()
    }
}

impl Drop for RunningMeasurement {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            let _ = self.stop_tx.send(());
            let _ = h.join();
        }
    }
}

fn lock(sources: &Sources) -> MutexGuard<'_, Vec<Box<dyn PowerSource>>> {
    sources.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn sample_all(sources: &Sources, accs: &mut [Acc], started: Instant) {
    let mut guard = lock(sources);
    for (source, acc) in guard.iter_mut().zip(accs.iter_mut()) {
        let reading = source.read();
        acc.record(reading.map_err(|e| e.to_string()), started.elapsed().as_secs_f64());
    }
}

/// Per-source running state.
#[derive(Default)]
struct Acc {
    attempts: usize,
    ok: usize,
    errors: usize,
    first_ok: Option<bool>,
    last_ok: bool,
    last_error: Option<String>,
    // Counter state.
    prev_uj: Option<u64>,
    total_uj: u128,
    first_t: Option<f64>,
    last_t: f64,
    reset: bool,
    // Sampled state.
    series: PowerSeries,
}

impl Acc {
    fn record(&mut self, reading: Result<Reading, String>, t: f64) {
        self.attempts += 1;
        let ok = reading.is_ok();
        self.first_ok.get_or_insert(ok);
        self.last_ok = ok;
        match reading {
            Err(e) => {
                self.errors += 1;
                self.last_error = Some(e);
            }
            Ok(Reading::Energy { uj, range_uj }) => {
                self.ok += 1;
                if let Some(prev) = self.prev_uj {
                    match counter_delta(prev, uj, range_uj) {
                        Some(d) => self.total_uj += u128::from(d),
                        None => self.reset = true,
                    }
                }
                self.prev_uj = Some(uj);
                self.first_t.get_or_insert(t);
                self.last_t = t;
            }
            Ok(Reading::Power { mw }) => {
                if self.series.push(t, mw) {
                    self.ok += 1;
                } else {
                    self.errors += 1;
                    self.last_error = Some(format!("invalid power value {mw} mW"));
                }
            }
        }
    }

    fn finish(&self, info: &SourceInfo, duration_s: f64) -> Measurement {
        let mut m = if self.prev_uj.is_some() {
            let span = self.first_t.map(|f| self.last_t - f).unwrap_or(0.0);
            let energy_mj = (self.ok >= 2 && !self.reset).then(|| self.total_uj as f64 / 1000.0);
            Measurement {
                source: info.name.clone(),
                label: info.label.clone(),
                rail: info.rail.clone(),
                energy_mj,
                mean_power_mw: energy_mj.filter(|_| span > 0.0).map(|e| e / span),
                samples: self.ok,
                duration_s,
                error: None,
            }
        } else {
            let mut m = Measurement::from_series(&info.name, &info.label, info.rail.clone(), &self.series);
            m.duration_s = duration_s;
            m
        };
        let complete = self.first_ok == Some(true) && self.last_ok;
        if self.reset {
            m.error = Some("energy counter went backwards without a known range (reset?)".into());
        } else if !complete && m.energy_mj.is_some() {
            // Energy would cover only part of the interval: report it as missing.
            m.energy_mj = None;
            m.error = Some(format!(
                "first or last reading failed: {}",
                self.last_error.as_deref().unwrap_or("unknown error")
            ));
        } else if self.errors > 0 {
            let why = self.last_error.as_deref().unwrap_or("unknown error");
            m.error = Some(format!("{} of {} readings failed: {why}", self.errors, self.attempts));
        }
        m
    }
}

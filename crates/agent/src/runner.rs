//! The inference loop: a dedicated OS thread running the model at batch 1 on a synthetic input,
//! timing every inference and attributing energy to it, until the iterations are done, it is
//! stopped, or the run's energy exceeds the budget.
//!
//! Energy per inference comes from the sensor when there is one: its counter (or power) is read
//! after each inference — at most every [`MIN_READ`], and again once it has moved — and the energy
//! since the previous reading is shared equally by the inferences in between. Without a sensor it
//! is the deployment's predicted mWh per inference (`estimate`); with neither there is none.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use infergate_runtime::{Backend, ModelIo};
use parking_lot::Mutex;

use crate::metrics::{EnergySourceLabel, RunStats};
use crate::power::{mj_to_mwh, Integrator, PowerProbe};

/// Least time between two sensor reads.
pub const MIN_READ: Duration = Duration::from_millis(10);

/// How long inferences wait for a counter that has not moved before they are given zero.
pub const MAX_WAIT: Duration = Duration::from_secs(1);

/// Seed of the synthetic input.
pub const INPUT_SEED: u64 = 42;

/// Where a run's energy comes from.
#[derive(Debug, Clone)]
pub enum EnergyMode {
    /// A sensor.
    Sensor(Arc<PowerProbe>),
    /// Predicted mWh per inference.
    Estimate(f64),
    /// Nothing.
    None,
}

impl EnergyMode {
    /// The label the numbers carry.
    pub fn label(&self) -> EnergySourceLabel {
        match self {
            EnergyMode::Sensor(p) => EnergySourceLabel::Sensor(p.name().to_string()),
            EnergyMode::Estimate(_) => EnergySourceLabel::Estimate,
            EnergyMode::None => EnergySourceLabel::None,
        }
    }
}

/// A batch-1 input of the model's declared shape (a dynamic first dimension is the batch),
/// filled with deterministic pseudo-random values in [-1, 1): `infergate bench`'s input.
pub fn synthetic_input(io: &ModelIo, seed: u64) -> Result<(Vec<usize>, Vec<f32>), String> {
    infergate_measure::Input::synthetic(io, seed).map(|i| (i.shape, i.data)).map_err(|e| e.to_string())
}

/// A running loop.
#[derive(Debug)]
pub struct RunHandle {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl RunHandle {
    /// Asks the loop to stop after the current inference and waits for it.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.join();
    }

    /// Waits for the loop to end.
    pub fn join(&mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Starts the loop on its own thread. `stats` must already be started (see [`RunStats::start`]);
/// the loop ends it with the reason.
pub fn spawn(
    backend: Arc<dyn Backend>,
    iterations: u64,
    energy: EnergyMode,
    stats: Arc<Mutex<RunStats>>,
) -> std::io::Result<RunHandle> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let thread = std::thread::Builder::new().name("infergate-agent-loop".into()).spawn(move || {
        let ended = run(backend.as_ref(), iterations, energy, &flag, &stats);
        tracing::info!(ended = %ended, "inference run ended");
        stats.lock().end(ended);
    })?;
    Ok(RunHandle { stop, thread: Some(thread) })
}

fn run(
    backend: &dyn Backend,
    iterations: u64,
    energy: EnergyMode,
    stop: &AtomicBool,
    stats: &Mutex<RunStats>,
) -> String {
    let (shape, data) = match synthetic_input(backend.io(), INPUT_SEED) {
        Ok(input) => input,
        Err(e) => return format!("error: {e}"),
    };
    let mut meter = Meter::start(energy);
    let mut ended = "completed".to_string();
    for _ in 0..iterations {
        if stop.load(Ordering::SeqCst) {
            ended = "stopped".into();
            break;
        }
        let t = Instant::now();
        if let Err(e) = backend.run(&shape, &data) {
            ended = format!("error: {e}");
            break;
        }
        let latency_ms = t.elapsed().as_secs_f64() * 1000.0;
        let energies = meter.iteration_done();
        let mut s = stats.lock();
        s.iteration(latency_ms);
        // Every inference attributed is recorded, then the budget decides (a group of several
        // must not lose the ones after the first over the budget).
        if record_all(&mut s, energies) {
            return "over_budget".into();
        }
    }
    let rest = meter.finish();
    let mut s = stats.lock();
    if record_all(&mut s, rest) && ended == "completed" {
        ended = "over_budget".into();
    }
    ended
}

/// Records every energy; whether the run is over its budget after them.
fn record_all(s: &mut RunStats, energies: Vec<f64>) -> bool {
    let mut over = false;
    for e in energies {
        over |= s.energy.record(e);
    }
    over
}

/// Attributes energy to inferences.
struct Meter {
    mode: EnergyMode,
    integrator: Integrator,
    pending: usize,
    read_errors: u64,
}

impl Meter {
    fn start(mode: EnergyMode) -> Self {
        let mut meter = Meter { mode, integrator: Integrator::default(), pending: 0, read_errors: 0 };
        if let EnergyMode::Sensor(probe) = &meter.mode {
            match probe.read() {
                Ok((at, r)) => meter.integrator.reset(at, r),
                Err(e) => tracing::warn!(source = probe.name(), error = %e, "power sensor unreadable at run start"),
            }
        }
        meter
    }

    /// One more inference done: the per-inference energies that can be attributed now.
    fn iteration_done(&mut self) -> Vec<f64> {
        match self.mode {
            EnergyMode::Estimate(mwh) => vec![mwh],
            EnergyMode::None => Vec::new(),
            EnergyMode::Sensor(_) => {
                self.pending += 1;
                self.attribute(false)
            }
        }
    }

    /// The inferences not attributed yet, at the end of the run.
    fn finish(&mut self) -> Vec<f64> {
        if self.pending == 0 {
            return Vec::new();
        }
        self.attribute(true)
    }

    fn attribute(&mut self, force: bool) -> Vec<f64> {
        let EnergyMode::Sensor(probe) = &self.mode else { return Vec::new() };
        let now = Instant::now();
        let since = self.integrator.seconds_since(now);
        if !force && since.is_some_and(|s| s < MIN_READ.as_secs_f64()) {
            return Vec::new();
        }
        let (at, reading) = match probe.read() {
            Ok(r) => r,
            Err(e) => {
                self.read_errors += 1;
                if self.read_errors == 1 {
                    tracing::warn!(source = probe.name(), error = %e, "power sensor read failed; those inferences have no energy");
                }
                self.pending = 0;
                self.integrator = Integrator::default();
                return Vec::new();
            }
        };
        match self.integrator.energy_since(at, &reading) {
            Some(mj) if mj <= 0.0 && !force && since.is_some_and(|s| s < MAX_WAIT.as_secs_f64()) => Vec::new(),
            Some(mj) => {
                self.integrator.reset(at, reading);
                let n = std::mem::take(&mut self.pending);
                vec![mj_to_mwh(mj) / n as f64; n]
            }
            None => {
                // No previous reading, or a counter reset: start again from here.
                self.integrator.reset(at, reading);
                self.pending = 0;
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io(shape: &[i64]) -> ModelIo {
        ModelIo { input_name: "x".into(), input_shape: shape.to_vec(), ..Default::default() }
    }

    #[test]
    fn synthetic_inputs() {
        let (shape, data) = synthetic_input(&io(&[-1, 3, 4, 4]), 1).unwrap();
        assert_eq!((shape, data.len()), (vec![1, 3, 4, 4], 48));
        assert!(synthetic_input(&io(&[1, -1]), 1).is_err());
        assert!(synthetic_input(&io(&[]), 1).is_err());
    }

    #[test]
    fn estimate_and_none() {
        let mut m = Meter::start(EnergyMode::Estimate(0.5));
        assert_eq!(m.iteration_done(), vec![0.5]);
        assert!(m.finish().is_empty());
        let mut n = Meter::start(EnergyMode::None);
        assert!(n.iteration_done().is_empty());
    }
}

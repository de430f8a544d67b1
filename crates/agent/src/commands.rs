//! `POST /inference/start` and `POST /inference/stop`.

use std::sync::Arc;

use infergate_core::fleet::InferenceStart;

use crate::agent::Agent;
use crate::runner::{self, EnergyMode};

/// Why a run cannot start.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommandError {
    /// No model is deployed (or it failed to load).
    #[error("no model is deployed: POST /deploy first")]
    NoModel,
    /// A run is going.
    #[error("inference is already running: POST /inference/stop first")]
    Busy,
    /// A command that makes no sense.
    #[error("{0}")]
    Invalid(String),
    /// The loop thread could not be started.
    #[error("cannot start the inference thread: {0}")]
    Thread(String),
}

impl CommandError {
    /// The HTTP status.
    pub fn http_status(&self) -> u16 {
        match self {
            CommandError::NoModel | CommandError::Busy => 409,
            CommandError::Invalid(_) => 422,
            CommandError::Thread(_) => 500,
        }
    }

    /// A short machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            CommandError::NoModel => "no_model",
            CommandError::Busy => "already_running",
            CommandError::Invalid(_) => "invalid_command",
            CommandError::Thread(_) => "internal",
        }
    }
}

impl Agent {
    /// Starts a run of `start.iterations` inferences on the model in use. A controller run
    /// number at or below the last one started is acknowledged without starting anything (a
    /// push and a pull of the same start run it once).
    pub fn start_inference(&self, start: InferenceStart) -> Result<String, CommandError> {
        let inner = &self.inner;
        if start.iterations == 0 {
            return Err(CommandError::Invalid("iterations must be at least 1".into()));
        }
        // Held until the run is recorded, so two starts of one run number start it once.
        let mut slot = inner.run.lock();
        if let Some(run) = start.run {
            let last = inner.persisted.lock().last_run;
            if run <= last {
                return Ok(format!("run {run} was already started"));
            }
        }
        let Some(backend) = inner.model.lock().clone() else { return Err(CommandError::NoModel) };
        if inner.stats.lock().active {
            return Err(CommandError::Busy);
        }
        if let Some(mut finished) = slot.take() {
            finished.join();
        }
        let predicted = inner.persisted.lock().current.as_ref().and_then(|c| c.predicted_energy_mwh);
        let energy = match (&inner.power, predicted) {
            (Some(probe), _) => EnergyMode::Sensor(Arc::clone(probe)),
            (None, Some(mwh)) => EnergyMode::Estimate(mwh),
            (None, None) => EnergyMode::None,
        };
        if matches!(energy, EnergyMode::None) {
            tracing::warn!("no energy sensor and no predicted energy: this run's energy is not measured");
        }
        inner.stats.lock().start(start.run, start.iterations, energy.label());
        let handle = match runner::spawn(backend, start.iterations, energy, Arc::clone(&inner.stats)) {
            Ok(h) => h,
            Err(e) => {
                inner.stats.lock().end(format!("error: {e}"));
                return Err(CommandError::Thread(e.to_string()));
            }
        };
        if let Some(run) = start.run {
            let mut p = inner.persisted.lock();
            p.last_run = p.last_run.max(run);
            self.save_locked(&p);
        }
        *slot = Some(handle);
        drop(slot);
        tracing::info!(iterations = start.iterations, run = ?start.run, "inference started");
        Ok("Inference started".into())
    }

    /// Stops the run, if one goes, and waits for it to end (at most one inference). Blocking.
    /// Returns whether a run was going.
    pub fn stop_inference(&self) -> bool {
        let was_active = self.inner.stats.lock().active;
        let handle = self.inner.run.lock().take();
        match handle {
            Some(h) => {
                h.stop();
                was_active
            }
            None => false,
        }
    }
}

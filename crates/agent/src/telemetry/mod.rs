//! Telemetry: every interval a sample (CPU, memory, disk, temperature, power, latency, energy so
//! far, …) is numbered and appended to the on-disk [`buffer`], then everything buffered is sent
//! to the controller in batches of at most [`MAX_BATCH`], each removed only once acknowledged. While
//! the controller is unreachable the samples wait on disk (bounded; oldest dropped first and
//! counted) and go out, complete and in order, on the first tick it answers again.

pub mod buffer;

use serde_json::{json, Value};

use crate::agent::Agent;
use crate::controller::ControllerClient;
use crate::power::Integrator;

/// Samples per batch sent.
pub const MAX_BATCH: usize = 500;

impl Agent {
    /// One telemetry sample. `power` keeps the previous sensor reading between samples (power is
    /// the mean since then for an energy counter).
    pub fn telemetry_sample(&self, power: &mut Integrator) -> Value {
        let inner = &self.inner;
        let device = inner.device.metrics();
        let power_mw = inner.power.as_ref().and_then(|p| match p.read() {
            Ok((at, reading)) => power.power_mw(at, reading),
            Err(e) => {
                tracing::debug!(error = %e, "power sensor read failed");
                None
            }
        });
        let status = self.status_word();
        let model_name = self.model_name();
        let mut stats = inner.stats.lock();
        let (latency_ms, iterations) = stats.take_latency();
        json!({
            "cpu_percent": device.cpu_percent,
            "memory_percent": device.memory_percent,
            "disk_percent": device.disk_percent,
            "temperature_c": device.temperature_c,
            "power_mw": power_mw,
            "power_source": inner.power.as_ref().map(|p| format!("{}:{}", p.name(), p.label())),
            "latency_ms": latency_ms,
            "iterations": iterations,
            "iterations_done": stats.iterations_done,
            "inference_run": stats.run,
            "inference_active": stats.active,
            "energy_total_mwh": stats.energy.total_mwh(),
            "energy_source": stats.energy.source_name(),
            "energy_status": stats.energy.to_wire().status,
            "status": status,
            "model_name": model_name,
        })
    }

    /// Takes a sample and buffers it; returns its sequence number.
    pub fn record_telemetry(&self, power: &mut Integrator) -> Option<i64> {
        let sample = self.telemetry_sample(power);
        let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        match self.inner.telemetry.lock().push(at, sample) {
            Ok(seq) => Some(seq),
            Err(e) => {
                tracing::error!(error = %e, "cannot buffer a telemetry sample");
                None
            }
        }
    }

    /// Sends everything buffered, batch by batch, until it is all acknowledged or a call fails.
    /// Returns how many samples the controller acknowledged.
    pub async fn flush_telemetry(&self, client: &ControllerClient) -> Result<usize, crate::controller::ClientError> {
        let mut sent = 0;
        loop {
            let batch = self.inner.telemetry.lock().batch(MAX_BATCH);
            let Some(last) = batch.samples.last().map(|r| r.seq) else { return Ok(sent) };
            client.telemetry(&batch).await?;
            match self.inner.telemetry.lock().ack_through(last) {
                Ok(n) => sent += n,
                Err(e) => {
                    tracing::error!(error = %e, "cannot remove acknowledged telemetry");
                    return Ok(sent);
                }
            }
        }
    }
}

/// Samples every interval and sends them when there is a controller.
pub(crate) async fn telemetry_loop(agent: Agent, client: Option<ControllerClient>) {
    let interval = agent.config().telemetry_interval;
    let mut power = Integrator::default();
    let mut failing = false;
    loop {
        tokio::time::sleep(interval).await;
        agent.record_telemetry(&mut power);
        let Some(client) = &client else { continue };
        match agent.flush_telemetry(client).await {
            Ok(n) if failing && n > 0 => {
                tracing::info!(samples = n, "buffered telemetry delivered");
                failing = false;
            }
            Ok(_) => failing = false,
            Err(e) if failing => tracing::debug!(error = %e, "telemetry not delivered"),
            Err(e) => {
                tracing::warn!(error = %e, "telemetry not delivered; buffering on disk");
                failing = true;
            }
        }
    }
}

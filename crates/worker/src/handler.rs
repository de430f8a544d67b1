//! What a worker does with a payload.

use infergate_core::postprocess::classify_logits;
use infergate_core::{PreprocessSpec, Task};
use infergate_place::scenario::Distribution;
use infergate_runtime::{decode_image, preprocess, Backend, DecodeLimits};
use parking_lot::Mutex;
use rand::rngs::ChaCha8Rng;
use rand::SeedableRng;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Why a handler could not answer.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The payload is unusable (HTTP 400).
    #[error("{0}")]
    BadInput(String),
    /// The handler failed (HTTP 500).
    #[error("{0}")]
    Failed(String),
}

/// One kind of work, run on a blocking thread, one payload at a time.
pub trait Handler: Send + Sync {
    /// Its name in `/healthz` (`classify`, `sleep-cpu`).
    fn name(&self) -> &'static str;
    /// Handles one payload.
    fn invoke(&self, payload: &[u8]) -> Result<Value, HandlerError>;
}

/// Synthetic work: keeps one core busy for a duration drawn from a distribution (seeded), and
/// answers how long it was asked to spin and how many payload bytes it saw.
pub struct SleepCpuHandler {
    exec_ms: Distribution,
    rng: Mutex<ChaCha8Rng>,
}

impl SleepCpuHandler {
    /// Spins for draws of `exec_ms` (validated), seeded with `seed`.
    pub fn new(exec_ms: Distribution, seed: u64) -> Result<Self, String> {
        exec_ms.validate()?;
        Ok(SleepCpuHandler { exec_ms, rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed)) })
    }
}

/// Keeps this thread busy (not sleeping) for `d`.
fn spin(d: Duration) -> u64 {
    let start = Instant::now();
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    while start.elapsed() < d {
        for _ in 0..1000 {
            x = std::hint::black_box(x.rotate_left(5) ^ x.wrapping_mul(0x2545_F491_4F6C_DD1D));
        }
    }
    x
}

impl Handler for SleepCpuHandler {
    fn name(&self) -> &'static str {
        "sleep-cpu"
    }

    fn invoke(&self, payload: &[u8]) -> Result<Value, HandlerError> {
        let ms = self.exec_ms.sample(&mut self.rng.lock()).clamp(0.0, 3_600_000.0);
        spin(Duration::from_secs_f64(ms / 1e3));
        Ok(json!({"spun_ms": ms, "payload_bytes": payload.len()}))
    }
}

/// Image classification with a loaded model: decode, preprocess, run, top-5.
pub struct ClassifyHandler {
    backend: Arc<dyn Backend>,
    spec: PreprocessSpec,
    labels: Vec<String>,
    limits: DecodeLimits,
}

impl ClassifyHandler {
    /// A handler over a loaded model with its preprocessing and class labels (empty: the
    /// labels are the class indices).
    pub fn new(backend: Arc<dyn Backend>, spec: PreprocessSpec, labels: Vec<String>) -> Self {
        ClassifyHandler { backend, spec, labels, limits: DecodeLimits::default() }
    }
}

impl Handler for ClassifyHandler {
    fn name(&self) -> &'static str {
        "classify"
    }

    fn invoke(&self, payload: &[u8]) -> Result<Value, HandlerError> {
        let (img, _) =
            decode_image(payload, self.limits).map_err(|e| HandlerError::BadInput(format!("not an image: {e}")))?;
        let input = preprocess(&img, &self.spec);
        let out = self
            .backend
            .run(&self.spec.tensor_shape(1), &input)
            .map_err(|e| HandlerError::Failed(format!("inference failed: {e}")))?;
        let label_of = |i: usize| self.labels.get(i).cloned().unwrap_or_else(|| i.to_string());
        let c = classify_logits(&out.output.data, Task::Imagenet, 5, label_of);
        let top: Vec<Value> =
            c.top_k.iter().map(|&(i, p)| json!({"index": i, "label": label_of(i), "score": p})).collect();
        Ok(json!({"label": c.label, "confidence": c.confidence, "top_k": top}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleep_cpu_spins_for_its_draw() {
        let h = SleepCpuHandler::new(Distribution::Constant { value: 20.0 }, 1).unwrap();
        let start = Instant::now();
        let v = h.invoke(b"abc").unwrap();
        assert!(start.elapsed() >= Duration::from_millis(20));
        assert_eq!(v["payload_bytes"], 3);
        assert!(SleepCpuHandler::new(Distribution::Constant { value: -1.0 }, 1).is_err());
    }
}

//! The ONNX Runtime backend: a small pool of sessions over one model file.

use crate::backend::{check_shape, Backend, BackendError, BackendKind, ModelIo, RunOutput, Tensor};
use crate::engine::ExecutionProvider;
use ort::environment::Environment;
use ort::session::Session;
use ort::value::{TensorRef, ValueType};
use parking_lot::Mutex;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// A model loaded in ONNX Runtime. `Session::run` needs exclusive access, so the backend
/// keeps `sessions` of them and hands each run a free one.
pub struct OrtBackend {
    sessions: Vec<Mutex<Session>>,
    next: AtomicUsize,
    io: ModelIo,
}

fn shape_of(t: &ValueType) -> Vec<i64> {
    t.tensor_shape().map(|s| s.to_vec()).unwrap_or_default()
}

impl OrtBackend {
    /// Loads `path` into `sessions` sessions of `intra_threads` threads each.
    pub fn load(
        env: &Environment,
        path: &Path,
        provider: ExecutionProvider,
        intra_threads: usize,
        sessions: usize,
    ) -> Result<Self, BackendError> {
        let load_err =
            |e: &dyn std::fmt::Display| BackendError::Load { path: path.display().to_string(), message: e.to_string() };
        let mut pool = Vec::with_capacity(sessions.max(1));
        for _ in 0..sessions.max(1) {
            let mut builder = Session::builder(env)
                .map_err(|e| load_err(&e))?
                .with_intra_threads(intra_threads.max(1))
                .map_err(|e| load_err(&e))?
                .with_inter_threads(1)
                .map_err(|e| load_err(&e))?;
            if provider == ExecutionProvider::Cuda {
                builder = builder
                    .with_execution_providers([ort::ep::CUDA::default().build().error_on_failure()])
                    .map_err(|e| load_err(&e))?;
            }
            pool.push(Mutex::new(builder.commit_from_file(path).map_err(|e| load_err(&e))?));
        }
        let first = pool[0].lock();
        let (input, output) = match (first.inputs().first(), first.outputs().first()) {
            (Some(i), Some(o)) => (i, o),
            _ => return Err(load_err(&"the model has no inputs or no outputs")),
        };
        let io = ModelIo {
            input_name: input.name().to_string(),
            input_shape: shape_of(input.dtype()),
            output_name: output.name().to_string(),
            output_shape: shape_of(output.dtype()),
        };
        drop(first);
        Ok(OrtBackend { sessions: pool, next: AtomicUsize::new(0), io })
    }
}

impl Backend for OrtBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Ort
    }

    fn io(&self) -> &ModelIo {
        &self.io
    }

    fn run(&self, shape: &[usize], data: &[f32]) -> Result<RunOutput, BackendError> {
        check_shape(shape, data.len(), &self.io.input_shape)?;
        let waited = Instant::now();
        let n = self.sessions.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let mut session = (0..n)
            .find_map(|i| self.sessions[(start + i) % n].try_lock())
            .unwrap_or_else(|| self.sessions[start % n].lock());
        let queued = waited.elapsed();
        let began = Instant::now();
        let input = TensorRef::from_array_view((shape.to_vec(), data)).map_err(|e| BackendError::Run(e.to_string()))?;
        let outputs = session.run(ort::inputs![input]).map_err(|e| BackendError::Run(e.to_string()))?;
        let (out_shape, values) =
            outputs[0].try_extract_tensor::<f32>().map_err(|e| BackendError::Run(e.to_string()))?;
        let output = Tensor { shape: out_shape.iter().map(|&d| d.max(0) as usize).collect(), data: values.to_vec() };
        Ok(RunOutput { output, queued, compute: began.elapsed() })
    }
}

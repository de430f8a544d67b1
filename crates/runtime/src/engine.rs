//! Choosing and configuring the inference library, and loading models with it.

use crate::backend::{Backend, BackendError, BackendKind};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

/// `--runtime`: which inference library to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RuntimeChoice {
    /// ONNX Runtime when its library is found, else tract.
    #[default]
    Auto,
    /// ONNX Runtime only (fails clearly when the library is missing).
    Ort,
    /// tract only (pure Rust; no int8/QLinear models).
    Tract,
}

impl FromStr for RuntimeChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Self::Auto),
            "ort" | "onnxruntime" => Ok(Self::Ort),
            "tract" => Ok(Self::Tract),
            o => Err(format!("unknown runtime {o:?}: expected auto, ort or tract")),
        }
    }
}

/// `--execution-provider`: where ONNX Runtime runs the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExecutionProvider {
    /// The CPU provider.
    #[default]
    Cpu,
    /// NVIDIA CUDA (needs the `onnxruntime-gpu` wheel and a GPU).
    Cuda,
}

impl FromStr for ExecutionProvider {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cpu" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda),
            o => Err(format!("unknown execution provider {o:?}: expected cpu or cuda")),
        }
    }
}

/// How models are run.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Library choice.
    pub runtime: RuntimeChoice,
    /// ONNX Runtime execution provider.
    pub provider: ExecutionProvider,
    /// Threads each inference session may use (ONNX Runtime intra-op threads).
    pub intra_threads: usize,
    /// Sessions per loaded model: when serving, the most instances (one session and worker
    /// thread each) of one model version, i.e. how many batches may run at once.
    pub sessions: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig { runtime: RuntimeChoice::Auto, provider: ExecutionProvider::Cpu, intra_threads: 1, sessions: 2 }
    }
}

/// Errors choosing the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// ONNX Runtime was required but cannot be used.
    #[error("ONNX Runtime is not available: {0}")]
    OrtUnavailable(String),
    /// The binary was built without the requested backend.
    #[error("this build has no {0} backend (rebuild with the `{0}` cargo feature)")]
    NotCompiled(&'static str),
    /// The ONNX Runtime library found has no CUDA provider (the CPU-only wheel).
    #[error(
        "--execution-provider cuda: {0} has no CUDA execution provider; install the onnxruntime-gpu wheel and point \
         ORT_DYLIB_PATH at its libonnxruntime.so"
    )]
    CudaMissing(String),
    /// CUDA was asked for with a backend that cannot use it.
    #[error("--execution-provider cuda needs the ONNX Runtime backend (and the onnxruntime-gpu wheel)")]
    CudaNeedsOrt,
}

/// The chosen inference library plus its settings; loads models into [`Backend`]s.
#[derive(Debug, Clone)]
pub struct Engine {
    config: EngineConfig,
    kind: BackendKind,
    ort_library: Option<PathBuf>,
    note: Option<String>,
}

impl Engine {
    /// Picks the backend for `config`. `ort_library` is the result of looking for
    /// `libonnxruntime.so` (see [`crate::discovery::OrtLibrarySearch`]).
    pub fn new(config: EngineConfig, ort_library: Result<PathBuf, String>) -> Result<Engine, EngineError> {
        let ort_ready = ort_library.and_then(|p| init_ort(&p).map(|_| p));
        let (kind, ort_library, note) = match (config.runtime, ort_ready) {
            (RuntimeChoice::Tract, _) => (BackendKind::Tract, None, None),
            (RuntimeChoice::Ort, Ok(p)) | (RuntimeChoice::Auto, Ok(p)) => (BackendKind::Ort, Some(p), None),
            (RuntimeChoice::Ort, Err(e)) => return Err(EngineError::OrtUnavailable(e)),
            (RuntimeChoice::Auto, Err(e)) => (BackendKind::Tract, None, Some(e)),
        };
        if kind == BackendKind::Tract && !cfg!(feature = "tract") {
            return Err(EngineError::NotCompiled("tract"));
        }
        if kind == BackendKind::Tract && config.provider == ExecutionProvider::Cuda {
            return Err(EngineError::CudaNeedsOrt);
        }
        if kind == BackendKind::Ort && config.provider == ExecutionProvider::Cuda && !cuda_compiled_in() {
            return Err(EngineError::CudaMissing(
                ort_library.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
            ));
        }
        Ok(Engine { config, kind, ort_library, note })
    }

    /// The backend models are loaded with.
    pub fn kind(&self) -> BackendKind {
        self.kind
    }

    /// The settings.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// One line for the start-up log: which library, from where, and why.
    pub fn describe(&self) -> String {
        match (&self.kind, &self.ort_library) {
            (BackendKind::Ort, Some(p)) => format!(
                "runtime: ONNX Runtime ({:?} provider) from {}, up to {} instance(s) x {} thread(s) per model version",
                self.config.provider,
                p.display(),
                self.config.sessions,
                self.config.intra_threads
            ),
            _ => match &self.note {
                Some(why) => format!("runtime: tract (pure Rust) because {why}"),
                None => "runtime: tract (pure Rust)".to_string(),
            },
        }
    }

    /// Loads `path` with the chosen backend, with `sessions` sessions.
    pub fn load(&self, path: &Path) -> Result<Arc<dyn Backend>, BackendError> {
        self.load_sessions(self.kind, path, self.config.sessions)
    }

    /// Loads one instance of `path` (a single session) for an instance pool.
    pub fn load_instance(&self, path: &Path) -> Result<Arc<dyn Backend>, BackendError> {
        self.load_sessions(self.kind, path, 1)
    }

    /// Loads `path` with a specific backend (tests compare the two).
    pub fn load_with(&self, kind: BackendKind, path: &Path) -> Result<Arc<dyn Backend>, BackendError> {
        self.load_sessions(kind, path, self.config.sessions)
    }

    fn load_sessions(&self, kind: BackendKind, path: &Path, sessions: usize) -> Result<Arc<dyn Backend>, BackendError> {
        let _ = sessions; // used by ONNX Runtime only
        match kind {
            #[cfg(feature = "ort")]
            BackendKind::Ort => {
                let env = ort_environment().ok_or_else(|| BackendError::Load {
                    path: path.display().to_string(),
                    message: "ONNX Runtime library is not loaded".into(),
                })?;
                let b = crate::ort_backend::OrtBackend::load(
                    &env,
                    path,
                    self.config.provider,
                    self.config.intra_threads,
                    sessions,
                )?;
                Ok(Arc::new(b))
            }
            #[cfg(feature = "tract")]
            BackendKind::Tract => Ok(Arc::new(crate::tract_backend::TractBackend::load(path)?)),
            #[allow(unreachable_patterns)]
            other => Err(BackendError::Load {
                path: path.display().to_string(),
                message: format!("this build has no {other} backend"),
            }),
        }
    }
}

#[cfg(feature = "ort")]
static ORT_ENV: std::sync::OnceLock<Result<(PathBuf, ort::environment::Environment), String>> =
    std::sync::OnceLock::new();

/// Loads the ONNX Runtime library once per process.
#[cfg(feature = "ort")]
fn init_ort(path: &Path) -> Result<(), String> {
    let res = ORT_ENV.get_or_init(|| {
        let builder = ort::init_from(path).map_err(|e| format!("could not load {}: {e}", path.display()))?;
        let env = builder.with_name("infergate").build().map_err(|e| e.to_string())?;
        Ok((path.to_path_buf(), env))
    });
    match res {
        Ok((loaded, _)) if loaded == path => Ok(()),
        Ok((loaded, _)) => Err(format!(
            "ONNX Runtime is already loaded from {} in this process; cannot also load {}",
            loaded.display(),
            path.display()
        )),
        Err(e) => Err(e.clone()),
    }
}

#[cfg(feature = "ort")]
fn ort_environment() -> Option<ort::environment::Environment> {
    ORT_ENV.get().and_then(|r| r.as_ref().ok()).map(|(_, env)| env.clone())
}

/// Whether the loaded ONNX Runtime library was built with the CUDA provider.
#[cfg(feature = "ort")]
fn cuda_compiled_in() -> bool {
    use ort::ep::ExecutionProvider as _;
    ort::ep::CUDA::is_available().unwrap_or(false)
}

#[cfg(not(feature = "ort"))]
fn cuda_compiled_in() -> bool {
    false
}

#[cfg(not(feature = "ort"))]
fn init_ort(_path: &Path) -> Result<(), String> {
    Err("this build has no ONNX Runtime backend (cargo feature `ort`)".into())
}

//! Building the inference [`Engine`] from the configuration and the environment.

use crate::config::RuntimeSection;
use anyhow::{anyhow, Result};
use infergate_runtime::discovery::OrtLibrarySearch;
use infergate_runtime::{Engine, EngineConfig};
use std::path::PathBuf;

/// Picks the backend (`--runtime`), finding `libonnxruntime.so` the documented way:
/// `ORT_DYLIB_PATH`/`runtime.ort_library`, then a `.venv` next to the project (the current
/// directory and the binary's ancestors) or the active virtualenv, then the system paths.
pub fn build(rt: &RuntimeSection) -> Result<Engine> {
    let config = EngineConfig {
        runtime: rt.runtime.parse().map_err(|e: String| anyhow!(e))?,
        provider: rt.execution_provider.parse().map_err(|e: String| anyhow!(e))?,
        intra_threads: rt.intra_threads,
        sessions: rt.sessions,
    };
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        roots.push(cwd);
    }
    if let Ok(exe) = std::env::current_exe() {
        roots.extend(exe.ancestors().skip(1).take(5).map(PathBuf::from));
    }
    if let Some(venv) = std::env::var_os("VIRTUAL_ENV") {
        roots.push(PathBuf::from(venv));
    }
    let mut system_dirs: Vec<PathBuf> =
        std::env::var_os("LD_LIBRARY_PATH").map(|v| std::env::split_paths(&v).collect()).unwrap_or_default();
    system_dirs.extend(
        ["/usr/local/lib", "/usr/lib", "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64"]
            .map(PathBuf::from),
    );
    let search = OrtLibrarySearch { explicit: rt.ort_library.clone(), project_roots: roots, system_dirs };
    Ok(Engine::new(config, search.find())?)
}

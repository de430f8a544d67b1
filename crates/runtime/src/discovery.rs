//! Finding `libonnxruntime.so` at run time (the `load-dynamic` build links nothing).

use std::path::{Path, PathBuf};

/// Where to look for the ONNX Runtime shared library, in order.
#[derive(Debug, Clone, Default)]
pub struct OrtLibrarySearch {
    /// An explicit path (the CLI passes `ORT_DYLIB_PATH` or `--ort-library` here); wins if set.
    pub explicit: Option<PathBuf>,
    /// Directories that may hold a Python environment with the `onnxruntime` wheel:
    /// each is checked for `.venv/lib/python3*/site-packages/onnxruntime/capi/` and for
    /// `lib/python3*/site-packages/onnxruntime/capi/` (a virtualenv root itself).
    pub project_roots: Vec<PathBuf>,
    /// System library directories (e.g. from `LD_LIBRARY_PATH`, `/usr/lib`).
    pub system_dirs: Vec<PathBuf>,
}

impl OrtLibrarySearch {
    /// Finds the library, or explains every place that was tried.
    pub fn find(&self) -> Result<PathBuf, String> {
        let mut tried = Vec::new();
        if let Some(p) = &self.explicit {
            if p.is_file() {
                return Ok(p.clone());
            }
            return Err(format!("ORT_DYLIB_PATH points to {}, which is not a file", p.display()));
        }
        for root in &self.project_roots {
            for env_dir in [root.join(".venv"), root.clone()] {
                if let Some(found) = find_in_venv(&env_dir) {
                    return Ok(found);
                }
                tried.push(format!("{}/lib/python3*/site-packages/onnxruntime/capi/", env_dir.display()));
            }
        }
        for dir in &self.system_dirs {
            if let Some(found) = find_lib_in(dir) {
                return Ok(found);
            }
            tried.push(dir.display().to_string());
        }
        Err(format!(
            "libonnxruntime.so not found (looked in ORT_DYLIB_PATH, {}). Run scripts/setup (installs the PyPI \
             onnxruntime wheel into .venv) or set ORT_DYLIB_PATH",
            tried.join(", ")
        ))
    }
}

fn find_in_venv(env_dir: &Path) -> Option<PathBuf> {
    let lib = env_dir.join("lib");
    let mut pythons: Vec<PathBuf> = std::fs::read_dir(&lib)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("python3")))
        .collect();
    pythons.sort();
    pythons.iter().rev().find_map(|py| find_lib_in(&py.join("site-packages/onnxruntime/capi")))
}

/// The best `libonnxruntime.so*` file in `dir`: the unversioned name if present, else the
/// highest versioned one.
fn find_lib_in(dir: &Path) -> Option<PathBuf> {
    let plain = dir.join("libonnxruntime.so");
    if plain.is_file() {
        return Some(plain);
    }
    let mut versioned: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("libonnxruntime.so.")) && p.is_file()
        })
        .collect();
    versioned.sort();
    versioned.pop()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_wheel_layout_and_explains_misses() {
        let tmp = std::env::temp_dir().join(format!("infergate-disc-{}", std::process::id()));
        let capi = tmp.join(".venv/lib/python3.11/site-packages/onnxruntime/capi");
        std::fs::create_dir_all(&capi).unwrap();
        let search = OrtLibrarySearch { project_roots: vec![tmp.clone()], ..Default::default() };
        let err = search.find().unwrap_err();
        assert!(err.contains("scripts/setup"), "{err}");
        std::fs::write(capi.join("libonnxruntime.so.1.32.0"), b"").unwrap();
        assert_eq!(search.find().unwrap(), capi.join("libonnxruntime.so.1.32.0"));
        let explicit = OrtLibrarySearch { explicit: Some(tmp.join("nope.so")), ..Default::default() };
        assert!(explicit.find().unwrap_err().contains("not a file"));
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}

//! Measured AWS Lambda cold starts per runtime (the `lambda-perf` project's daily JSON:
//! `runtimeData[{r, p, d, i: [init ms…], m: memory MB, a: arch, …}]`).

use super::{ReadReport, TraceError};
use serde::Deserialize;
use std::path::Path;

/// The cold starts measured for one runtime configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ColdStartProfile {
    /// Configuration id, e.g. `lambda-perf-python312-zip-128-x86_64`.
    pub id: String,
    /// Human name of the runtime, e.g. `python 3.12`.
    pub runtime: String,
    /// Packaging: `zip` or `image`.
    pub package: String,
    /// Memory size in MB.
    pub memory_mb: u32,
    /// `x86_64` or `arm64`.
    pub arch: String,
    /// Measured init durations, ms.
    pub init_ms: Vec<f64>,
}

#[derive(Deserialize)]
struct File {
    #[serde(rename = "runtimeData")]
    runtime_data: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct Entry {
    r: String,
    p: String,
    d: String,
    i: Vec<f64>,
    m: u32,
    a: String,
}

/// Reads the profiles; entries missing a field, or without any positive finite init time, are
/// skipped and counted.
pub fn read(path: &Path) -> Result<(Vec<ColdStartProfile>, ReadReport), TraceError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| TraceError::Io { path: path.to_path_buf(), message: e.to_string() })?;
    let file: File = serde_json::from_str(&text).map_err(|e| TraceError::Format {
        path: path.to_path_buf(),
        message: format!("not a lambda-perf file with `runtimeData`: {e}"),
    })?;
    let mut report = ReadReport::default();
    let mut out = Vec::new();
    for (k, value) in file.runtime_data.into_iter().enumerate() {
        let entry: Entry = match serde_json::from_value(value) {
            Ok(e) => e,
            Err(e) => {
                report.skip(
                    k as u64,
                    format!("entry not understood ({})", e.to_string().split(" at ").next().unwrap_or("")),
                );
                continue;
            }
        };
        let init_ms: Vec<f64> = entry.i.into_iter().filter(|v| v.is_finite() && *v > 0.0).collect();
        if init_ms.is_empty() {
            report.skip(k as u64, "no usable init time");
            continue;
        }
        report.read += 1;
        out.push(ColdStartProfile {
            id: entry.r,
            runtime: entry.d,
            package: entry.p,
            memory_mb: entry.m,
            arch: entry.a,
            init_ms,
        });
    }
    Ok((out, report))
}

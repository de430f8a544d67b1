//! One CSV row per benchmark, in the seed's schema plus Infergate's columns.
//!
//! The first ten columns are the seed's (`model` … `device`; its `energy_avg_mwh` is
//! `energy_total_mwh`); the rest say where the energy came from and what else was measured (the
//! JSON report, [`crate::BenchResult`], has everything). Unknown values are empty fields, never 0. Rows are only appended to a file whose header is exactly
//! [`HEADER`] (or to a new or empty file, which gets the header first).

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::path::Path;

use serde::Serialize;

use crate::error::MeasureError;
use crate::run::BenchResult;

/// The columns, in order.
pub const HEADER: [&str; 31] = [
    "model",
    "params_m",
    "gflops",
    "gmacs",
    "size_mb",
    "latency_avg_s",
    "throughput_iter_per_s",
    "energy_avg_mwh",
    "power_avg_mw",
    "device",
    "energy_source",
    "energy_dynamic_mwh",
    "rail",
    "runtime",
    "runs",
    "warmup",
    "latency_min_ms",
    "latency_max_ms",
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_std_ms",
    "cpu_percent",
    "rss_mb",
    "temperature_c",
    "layers",
    "input_size",
    "filters_max",
    "kernel_mean",
    "kernel_max",
    "depthwise",
    "measured_at",
];

/// One row; field order is column order (see [`HEADER`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchRow {
    /// Model file stem.
    pub model: String,
    /// Parameters, millions.
    pub params_m: Option<f64>,
    /// FLOPs per inference, billions.
    pub gflops: Option<f64>,
    /// MACs per inference, billions.
    pub gmacs: Option<f64>,
    /// File size, MB.
    pub size_mb: f64,
    /// Mean latency, s.
    pub latency_avg_s: f64,
    /// Runs per second.
    pub throughput_iter_per_s: f64,
    /// Energy per inference (∫P dt ÷ runs), mWh.
    pub energy_avg_mwh: Option<f64>,
    /// Mean power over the runs, mW.
    pub power_avg_mw: Option<f64>,
    /// Device name.
    pub device: String,
    /// Where the energy came from, or `none`.
    pub energy_source: String,
    /// Energy per inference above the idle baseline, mWh.
    pub energy_dynamic_mwh: Option<f64>,
    /// Rail measured.
    pub rail: Option<String>,
    /// Inference library.
    pub runtime: String,
    /// Measured runs.
    pub runs: usize,
    /// Warm-up runs.
    pub warmup: usize,
    /// Fastest run, ms.
    pub latency_min_ms: f64,
    /// Slowest run, ms.
    pub latency_max_ms: f64,
    /// Median, ms.
    pub latency_p50_ms: f64,
    /// 95th percentile, ms.
    pub latency_p95_ms: f64,
    /// Standard deviation, ms.
    pub latency_std_ms: f64,
    /// CPU use of the benchmark process, % of one core.
    pub cpu_percent: Option<f64>,
    /// Resident set size after the runs, MB.
    pub rss_mb: Option<f64>,
    /// Highest thermal-zone temperature after the runs, °C.
    pub temperature_c: Option<f64>,
    /// Convolution layers (a depthwise-separable pair once).
    pub layers: Option<f64>,
    /// Input height/width.
    pub input_size: Option<f64>,
    /// Most convolution output channels.
    pub filters_max: Option<f64>,
    /// Mean convolution kernel size.
    pub kernel_mean: Option<f64>,
    /// Largest convolution kernel size.
    pub kernel_max: Option<f64>,
    /// 1 with depthwise convolutions, else 0.
    pub depthwise: Option<f64>,
    /// Start of the measured runs, RFC 3339 UTC.
    pub measured_at: String,
}

/// `v` to 6 significant digits, so that the file shows `0.0396076`, not `0.039607579999999996`
/// (the JSON report keeps every digit).
fn sig(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let scale = 10f64.powi(6 - v.abs().log10().ceil() as i32);
    let r = (v * scale).round() / scale;
    if r.is_finite() {
        r
    } else {
        v
    }
}

impl From<&BenchResult> for BenchRow {
    /// The row of a benchmark; measured values are rounded to 6 significant digits.
    fn from(b: &BenchResult) -> BenchRow {
        let (r, m, e, t) = (&b.report, &b.model, &b.report.energy, &b.report.telemetry);
        let f = m.features.as_ref();
        BenchRow {
            model: m.name.clone(),
            params_m: m.params_m.map(sig),
            gflops: m.gflops.map(sig),
            gmacs: m.gmacs.map(sig),
            size_mb: sig(m.size_mb),
            latency_avg_s: sig(r.latency_ms.mean_ms / 1e3),
            throughput_iter_per_s: sig(r.throughput_iter_per_s),
            energy_avg_mwh: e.energy_total_mwh.map(sig),
            power_avg_mw: e.power_avg_mw.map(sig),
            device: b.device.clone(),
            energy_source: e.source.clone(),
            energy_dynamic_mwh: e.energy_dynamic_mwh.map(sig),
            rail: e.rail.clone(),
            runtime: b.runtime.clone(),
            runs: r.runs,
            warmup: r.warmup,
            latency_min_ms: sig(r.latency_ms.min_ms),
            latency_max_ms: sig(r.latency_ms.max_ms),
            latency_p50_ms: sig(r.latency_ms.p50_ms),
            latency_p95_ms: sig(r.latency_ms.p95_ms),
            latency_std_ms: sig(r.latency_ms.std_ms),
            cpu_percent: t.cpu_percent.map(sig),
            rss_mb: t.rss_mb.map(sig),
            temperature_c: t.temperature_c.map(sig),
            layers: f.and_then(|f| f.layers),
            input_size: f.and_then(|f| f.input_size),
            filters_max: f.and_then(|f| f.filters_max),
            kernel_mean: f.and_then(|f| f.kernel_mean).map(sig),
            kernel_max: f.and_then(|f| f.kernel_max),
            depthwise: f.and_then(|f| f.depthwise),
            measured_at: r.measured_at.clone(),
        }
    }
}

/// The header line, without the line end.
pub fn header_line() -> String {
    HEADER.join(",")
}

/// The first line of `path` (without its line end), `None` when the file is missing or empty.
fn first_line(path: &Path) -> Result<Option<String>, MeasureError> {
    let mut text = String::new();
    match std::fs::File::open(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(MeasureError::io(path, e)),
        Ok(f) => {
            // A header is short; read a bounded prefix so a huge unrelated file is not slurped.
            f.take(64 * 1024).read_to_string(&mut text).map_err(|e| MeasureError::io(path, e))?;
        }
    }
    let line = text.lines().next().unwrap_or("").trim_end_matches('\r').trim_start_matches('\u{feff}');
    Ok((!text.trim().is_empty()).then(|| line.to_string()))
}

/// Checks that a row can be appended to `path`: it is missing, empty, or has exactly [`HEADER`].
/// Call before a long benchmark so that a wrong file is refused before, not after, it runs.
pub fn check_csv(path: &Path) -> Result<(), MeasureError> {
    match first_line(path)? {
        Some(line) if line != header_line() => {
            let found: String = line.chars().take(120).collect();
            let found = if found.len() < line.len() { format!("{found}…") } else { found };
            Err(MeasureError::CsvHeader { path: path.to_path_buf(), found })
        }
        _ => Ok(()),
    }
}

/// Appends `row` to `path` in one write, creating the file (and its directory) with the header
/// when it is missing or empty; a file with another header is refused and left untouched.
pub fn append_row(path: &Path, row: &BenchRow) -> Result<(), MeasureError> {
    check_csv(path)?;
    let existing = first_line(path)?.is_some();
    let mut writer = csv::WriterBuilder::new().has_headers(!existing).from_writer(Vec::new());
    writer.serialize(row).map_err(|e| MeasureError::Csv(e.to_string()))?;
    let mut bytes = writer.into_inner().map_err(|e| MeasureError::Csv(e.to_string()))?;
    if existing && !ends_with_newline(path)? {
        bytes.insert(0, b'\n');
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| MeasureError::io(dir, e))?;
    }
    let mut file = OpenOptions::new().create(true).append(true).open(path).map_err(|e| MeasureError::io(path, e))?;
    file.write_all(&bytes).map_err(|e| MeasureError::io(path, e))
}

fn ends_with_newline(path: &Path) -> Result<bool, MeasureError> {
    use std::io::{Seek, SeekFrom};
    let mut f = std::fs::File::open(path).map_err(|e| MeasureError::io(path, e))?;
    let len = f.metadata().map_err(|e| MeasureError::io(path, e))?.len();
    if len == 0 {
        return Ok(true);
    }
    let mut last = [0u8];
    f.seek(SeekFrom::End(-1)).and_then(|_| f.read_exact(&mut last)).map_err(|e| MeasureError::io(path, e))?;
    Ok(last[0] == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_significant_digits() {
        assert_eq!(sig(0.039607579999999996), 0.0396076);
        assert_eq!(sig(127.08478297356712), 127.085);
        assert_eq!(sig(3.487816), 3.48782);
        assert_eq!(sig(-0.00012345678), -0.000123457);
        assert_eq!(sig(0.0), 0.0);
        assert_eq!(sig(1280.0), 1280.0);
    }
}

//! Measurements of models on devices, read from CSV files whose columns differ: the Jetson
//! Nano files of the shared dataset (`Model Name`, `Total MACs`, `average_latency(ms)`,
//! `Avrg_POM_5V_IN`, …) and the seed's schema (`model`, `params_m`, `gmacs`, `latency_avg_s`,
//! `energy_avg_mwh`, `power_avg_mw`, `device`, and `infergate bench`'s rows with
//! `energy_source`). Columns are found by name, case-insensitively.
//!
//! The truth is energy per inference in mWh: for the Jetson files, board input power × latency
//! (`Avrg_POM_5V_IN` mW × `average_latency(ms)`; the files' own energy columns are off on some
//! files); for the seed's schema, `energy_avg_mwh` as measured. Rows without latency or power
//! (or without MACs and parameters) are skipped and counted, never guessed.

use crate::features::{kernel_mix_from_name, Features};
use std::path::Path;

/// One model measured on one device.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// The model's name.
    pub model: String,
    /// The architecture family: the file the row came from (the part of its stem before `__`).
    pub family: String,
    /// The device it ran on.
    pub device: String,
    /// Its structure.
    pub features: Features,
    /// Mean latency per inference, ms.
    pub latency_ms: f64,
    /// Mean power over the runs, mW (the rail the file measured).
    pub power_mw: f64,
    /// Energy per inference, mWh.
    pub energy_mwh: f64,
}

/// What reading a file found.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReadReport {
    /// Rows read as measurements.
    pub rows: usize,
    /// Rows skipped because latency or power (or energy) is missing or not positive.
    pub missing_measurement: usize,
    /// Rows skipped because MACs or parameters are missing, or the row is malformed.
    pub malformed: usize,
}

/// An unreadable file or one with neither known format's columns.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// The file cannot be read as CSV.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: csv::Error,
    },
    /// A column every row needs is missing.
    #[error("{path}: no {what} column (expected the Jetson Nano files' `{jetson}` or the seed's `{seed}`)")]
    MissingColumn {
        /// The file.
        path: String,
        /// What the column holds.
        what: &'static str,
        /// Its name in the Jetson files.
        jetson: &'static str,
        /// Its name in the seed's schema.
        seed: &'static str,
    },
}

/// Column names are compared lower-cased without spaces.
fn norm(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).collect()
}

struct Columns {
    name: usize,
    macs: (usize, f64),
    params: (usize, f64),
    layers: Option<usize>,
    input: Option<usize>,
    network_type: Option<usize>,
    /// `infergate bench`'s structure columns, from the profiled model.
    filters_max: Option<usize>,
    kernel_mean: Option<usize>,
    kernel_max: Option<usize>,
    depthwise: Option<usize>,
    device: Option<usize>,
    latency: (usize, f64),
    power: Option<usize>,
    energy: Option<usize>,
}

impl Columns {
    fn find(header: &csv::StringRecord, path: &str) -> Result<Columns, DatasetError> {
        let names: Vec<String> = header.iter().map(norm).collect();
        let at = |n: &str| names.iter().position(|h| h == n);
        let either = |what, jetson: &'static str, seed: &'static str, seed_scale: f64| {
            at(&norm(jetson))
                .map(|i| (i, 1.0))
                .or_else(|| at(seed).map(|i| (i, seed_scale)))
                .ok_or_else(|| DatasetError::MissingColumn { path: path.to_string(), what, jetson, seed })
        };
        let latency = either("latency", "average_latency(ms)", "latency_avg_s", 1e3)?;
        Ok(Columns {
            name: either("model name", "Model Name", "model", 1.0)?.0,
            macs: either("MACs", "Total MACs", "gmacs", 1e9)?,
            params: either("parameters", "Total Parameters", "params_m", 1e6)?,
            layers: at("layers"),
            input: at("inputsize").or_else(|| at("input_size")),
            network_type: at("networktype"),
            filters_max: at("filters_max"),
            kernel_mean: at("kernel_mean"),
            kernel_max: at("kernel_max"),
            depthwise: at("depthwise"),
            device: at("device"),
            latency,
            power: at("avrg_pom_5v_in").or_else(|| at("power_avg_mw")),
            energy: at("energy_avg_mwh"),
        })
    }
}

/// Finite and above zero (what every measured quantity must be, after scaling).
fn positive(v: f64) -> bool {
    v.is_finite() && v > 0.0
}

fn number(record: &csv::StringRecord, i: usize) -> Option<f64> {
    record.get(i).and_then(|t| t.trim().parse::<f64>().ok()).filter(|v| v.is_finite())
}

/// The family of a file: its stem up to `__` (`dws_2__depthwise_sep_models.csv` → `dws_2`).
pub fn family_of(path: &Path) -> String {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    stem.split("__").next().unwrap_or(&stem).to_string()
}

/// Reads one file; `device` names the device where the file has no `device` column.
pub fn read_file(path: &Path, device: &str) -> Result<(Vec<Measurement>, ReadReport), DatasetError> {
    let shown = path.display().to_string();
    let read = |source| DatasetError::Read { path: shown.clone(), source };
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_path(path).map_err(read)?;
    let header = reader.headers().map_err(read)?.clone();
    let c = Columns::find(&header, &shown)?;
    let family = family_of(path);
    let (mut out, mut report) = (Vec::new(), ReadReport::default());
    for record in reader.records() {
        let Ok(r) = record else {
            report.malformed += 1;
            continue;
        };
        let (Some(macs), Some(params)) = (number(&r, c.macs.0), number(&r, c.params.0)) else {
            report.malformed += 1;
            continue;
        };
        let (macs, params) = (macs * c.macs.1, params * c.params.1);
        // Scaled to units a huge value overflows; a tiny one may underflow to zero.
        if !positive(macs) || !positive(params) {
            report.malformed += 1;
            continue;
        }
        let latency_ms = number(&r, c.latency.0).map(|v| v * c.latency.1).filter(|v| positive(*v));
        let power_mw = c.power.and_then(|i| number(&r, i)).filter(|v| *v > 0.0);
        let measured_energy = c.energy.and_then(|i| number(&r, i)).filter(|v| *v > 0.0);
        // The seed's schema carries the meter's energy; the Jetson files are power × latency.
        let energy_mwh = measured_energy
            .or_else(|| power_mw.zip(latency_ms).map(|(p, l)| p * l / 1e3 / 3600.0))
            .filter(|e| positive(*e));
        let power_mw = power_mw.or_else(|| energy_mwh.zip(latency_ms).map(|(e, l)| e * 3600.0 * 1e3 / l));
        let (Some(latency_ms), Some(energy_mwh), Some(power_mw)) =
            (latency_ms, energy_mwh, power_mw.filter(|p| positive(*p)))
        else {
            report.missing_measurement += 1;
            continue;
        };
        let model = r.get(c.name).unwrap_or_default().trim().to_string();
        let depthwise = c.network_type.and_then(|i| r.get(i)).map(|t| t.trim().eq_ignore_ascii_case("dws"));
        let mix = kernel_mix_from_name(&model);
        let column = |i: Option<usize>| i.and_then(|i| number(&r, i));
        let features = Features {
            macs,
            params,
            layers: column(c.layers),
            input_size: column(c.input),
            filters_max: column(c.filters_max).or(mix.filters),
            kernel_mean: column(c.kernel_mean).or(mix.kernel_mean),
            kernel_max: column(c.kernel_max).or(mix.kernel_max),
            depthwise: column(c.depthwise).or(depthwise.or(mix.depthwise).map(|d| d as u8 as f64)),
        };
        out.push(Measurement {
            model,
            family: family.clone(),
            device: c
                .device
                .and_then(|i| r.get(i))
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .unwrap_or(device)
                .to_string(),
            features,
            latency_ms,
            power_mw,
            energy_mwh,
        });
        report.rows += 1;
    }
    Ok((out, report))
}

/// Reads every file (see [`read_file`]); the reports are per file, in order.
pub fn read_files(
    paths: &[impl AsRef<Path>],
    device: &str,
) -> Result<(Vec<Measurement>, Vec<ReadReport>), DatasetError> {
    let mut all = Vec::new();
    let mut reports = Vec::new();
    for p in paths {
        let (rows, report) = read_file(p.as_ref(), device)?;
        all.extend(rows);
        reports.push(report);
    }
    Ok((all, reports))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_schemas_by_name_with_skips_counted() {
        let dir = tempfile::tempdir().unwrap();
        let jetson = dir.path().join("dws_2__depthwise_sep_models.csv");
        std::fs::write(
            &jetson,
            "Model Name,Layers,Total Parameters,Total MACs,Network Type,Input Size,Avrg_POM_5V_IN,average_latency(ms)\n\
             convnet_L5_F256_K2x2_W55_DWS,5,1000,2000000,dws,55,3600,10\n\
             convnet_L5_F256_K3x3_W55_DWS,5,1000,2000000,dws,55,,10\n\
             convnet_L5_F256_K3x3_W55_DWS,5,nope,2000000,dws,55,3600,10\n",
        )
        .unwrap();
        let (rows, report) = read_file(&jetson, "jetson_nano").unwrap();
        assert_eq!(report, ReadReport { rows: 1, missing_measurement: 1, malformed: 1 });
        let r = &rows[0];
        assert_eq!((r.family.as_str(), r.device.as_str()), ("dws_2", "jetson_nano"));
        // 3600 mW for 10 ms: 3600 mW × 0.01 s ÷ 3600 s/h = 0.01 mWh.
        assert!((r.energy_mwh - 0.01).abs() < 1e-15);
        assert_eq!(r.features.depthwise, Some(1.0));
        assert_eq!((r.features.kernel_max, r.features.filters_max), (Some(2.0), Some(256.0)));

        let seed = dir.path().join("247_models_benchmark_jetson.csv");
        std::fs::write(
            &seed,
            "model,params_m,gflops,gmacs,size_mb,latency_avg_s,throughput_iter_per_s,energy_avg_mwh,power_avg_mw,device\n\
             resnet18,11.69,1.814,0.909,45.0,0.089,11.2,387.2,4350,jetson_nano_2gb\n",
        )
        .unwrap();
        let (rows, _) = read_file(&seed, "other").unwrap();
        let r = &rows[0];
        assert_eq!((r.device.as_str(), r.energy_mwh, r.latency_ms), ("jetson_nano_2gb", 387.2, 89.0));
        assert_eq!((r.features.macs, r.features.params), (0.909e9, 11.69e6));
        assert_eq!(r.features.layers, None, "the seed's schema has no layer count");

        // `infergate bench` rows: the seed's columns, then the profiled structure; a row measured
        // without a sensor has empty energy columns and is skipped, not guessed.
        let bench = dir.path().join("bench.csv");
        std::fs::write(
            &bench,
            "model,params_m,gflops,gmacs,size_mb,latency_avg_s,throughput_iter_per_s,energy_avg_mwh,power_avg_mw,device,\
             energy_source,layers,input_size,filters_max,kernel_mean,kernel_max,depthwise\n\
             m,3.49,0.6,0.3,14,0.01,100,0.02,7200,box,rapl,35,224,1280,2.03,3,1\n\
             m,3.49,0.6,0.3,14,0.01,100,,,box,none,35,224,1280,2.03,3,1\n",
        )
        .unwrap();
        let (rows, report) = read_file(&bench, "other").unwrap();
        assert_eq!((report.rows, report.missing_measurement), (1, 1));
        let f = &rows[0].features;
        assert_eq!((f.layers, f.input_size, f.filters_max), (Some(35.0), Some(224.0), Some(1280.0)));
        assert_eq!((f.kernel_mean, f.kernel_max, f.depthwise), (Some(2.03), Some(3.0), Some(1.0)));

        let other = dir.path().join("x.csv");
        std::fs::write(&other, "a,b\n1,2\n").unwrap();
        let e = read_file(&other, "d").unwrap_err().to_string();
        assert!(e.contains("average_latency(ms)") && e.contains("latency_avg_s"), "{e}");
    }
}

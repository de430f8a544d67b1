//! `infergate bench` through the binary: the shared MobileNetV2 on tract and ONNX Runtime, rows
//! appended in the seed's schema, energy empty without a sensor and measured from a fake RAPL
//! tree, and every bad input refused with exit code 1.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

const SEED_COLUMNS: [&str; 10] = [
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
];

/// `infergate bench MODEL --runs 3 --warmup 1 --idle-s 0` plus `extra`.
fn bench(model: &Path, extra: &[&str]) -> Output {
    common::infergate()
        .arg("bench")
        .arg(model)
        .args(["--runs", "3", "--warmup", "1", "--idle-s", "0"])
        .args(extra)
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// Header and rows, each row as (column → value).
fn rows(csv: &Path) -> (Vec<String>, Vec<std::collections::HashMap<String, String>>) {
    let mut r = csv::Reader::from_path(csv).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r.records().map(|rec| header.iter().cloned().zip(rec.unwrap().iter().map(String::from)).collect());
    (header.clone(), rows.collect())
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn tract_without_a_sensor_appends_rows_with_empty_energy() {
    let dir = tempfile::tempdir().unwrap();
    let no_sensors = dir.path().join("sysfs");
    std::fs::create_dir_all(&no_sensors).unwrap();
    let csv = dir.path().join("rows.csv");
    let args = ["--runtime", "tract", "--sysfs-root", s(&no_sensors), "--csv", s(&csv), "--device", "test_vm"];
    let table = ok(&bench(&common::fp32_model(), &args));
    assert!(table.contains("no sensor found (energy_source none)"), "{table}");
    assert!(table.contains("latency") && table.contains("p95") && table.contains("throughput"), "{table}");

    let json_args = [&args[..], &["--json"]].concat();
    let report: Value = serde_json::from_str(&ok(&bench(&common::fp32_model(), &json_args))).unwrap();
    assert_eq!(report["runtime"], "tract");
    assert_eq!(report["runs"], 3);
    assert_eq!(report["energy"]["source"], "none");
    assert!(report["energy"]["energy_total_mwh"].is_null() && report["energy"]["power_avg_mw"].is_null());
    assert_eq!(report["latency_ms"]["count"], 3);
    assert!(report["throughput_iter_per_s"].as_f64().unwrap() > 0.0);

    let (header, rows) = rows(&csv);
    assert_eq!(&header[..10], SEED_COLUMNS);
    assert_eq!(&header[10..14], ["energy_source", "energy_dynamic_mwh", "rail", "runtime"]);
    assert_eq!(header.last().unwrap(), "measured_at");
    assert_eq!(rows.len(), 2, "the second run appends a second row");
    for row in &rows {
        assert_eq!(row["model"], "mobilenetv2-12-fp32");
        assert_eq!(row["device"], "test_vm");
        assert_eq!((row["runtime"].as_str(), row["runs"].as_str(), row["warmup"].as_str()), ("tract", "3", "1"));
        assert_eq!(row["energy_source"], "none");
        for empty in ["energy_avg_mwh", "energy_dynamic_mwh", "power_avg_mw", "rail", "temperature_c"] {
            assert_eq!(row[empty], "", "{empty}: no sensor, no number");
        }
        let params: f64 = row["params_m"].parse().unwrap();
        assert!((params - 3.49).abs() < 0.01, "{params}");
        assert!(row["latency_avg_s"].parse::<f64>().unwrap() > 0.0);
        assert_eq!(row["depthwise"].parse::<f64>().unwrap(), 1.0);
        assert_eq!(row["input_size"].parse::<f64>().unwrap(), 224.0);
    }
}

#[test]
fn a_moving_rapl_counter_gives_energy_per_inference() {
    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("sys/class/powercap/intel-rapl:0");
    std::fs::create_dir_all(&zone).unwrap();
    std::fs::write(zone.join("name"), "package-0\n").unwrap();
    std::fs::write(zone.join("max_energy_range_uj"), "262143328850\n").unwrap();
    std::fs::write(zone.join("energy_uj"), "0\n").unwrap();
    // About 2 W: 10 mJ every 5 ms, written atomically as the kernel's file changes.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, zone) = (Arc::clone(&stop), zone.clone());
        std::thread::spawn(move || {
            let mut uj: u64 = 0;
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(5));
                uj += 10_000;
                std::fs::write(zone.join("energy_uj.tmp"), format!("{uj}\n")).unwrap();
                std::fs::rename(zone.join("energy_uj.tmp"), zone.join("energy_uj")).unwrap();
            }
        })
    };
    let csv = dir.path().join("rows.csv");
    let out = common::infergate()
        .arg("bench")
        .arg(common::fp32_model())
        .args(["--runtime", "tract", "--runs", "5", "--idle-s", "0.3", "--json"])
        .args(["--sysfs-root", s(dir.path()), "--csv", s(&csv)])
        .output()
        .unwrap();
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    let report: Value = serde_json::from_str(&ok(&out)).unwrap();
    let e = &report["energy"];
    assert_eq!((e["source"].as_str(), e["rail"].as_str()), (Some("rapl"), Some("package")), "{e}");
    let total = e["energy_total_mwh"].as_f64().expect("energy measured");
    assert!(total > 0.0, "{e}");
    assert!(e["energy_dynamic_mwh"].is_number() && e["idle_power_mw"].as_f64().unwrap() > 0.0, "{e}");
    let (_, rows) = rows(&csv);
    assert_eq!(rows[0]["energy_source"], "rapl");
    assert_eq!(rows[0]["rail"], "package");
    let row_total: f64 = rows[0]["energy_avg_mwh"].parse().unwrap();
    assert!((row_total / total - 1.0).abs() < 1e-5, "{row_total} vs {total}");
    assert!(!rows[0]["energy_dynamic_mwh"].is_empty() && !rows[0]["power_avg_mw"].is_empty());
}

/// The ONNX Runtime library from `scripts/setup`'s `.venv`, if it is there.
fn ort_library() -> Option<PathBuf> {
    let lib = common::workspace().join(".venv/lib");
    std::fs::read_dir(lib).ok()?.flatten().find_map(|py| {
        let capi = py.path().join("site-packages/onnxruntime/capi");
        std::fs::read_dir(capi)
            .ok()?
            .flatten()
            .map(|f| f.path())
            .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("libonnxruntime.so")))
    })
}

#[test]
fn onnx_runtime_into_the_data_directory() {
    if ort_library().is_none() {
        println!("skipping: no ONNX Runtime in .venv (run scripts/setup)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("sysfs");
    std::fs::create_dir_all(&empty).unwrap();
    let args = ["--runtime", "ort", "--json", "--sysfs-root", s(&empty), "--data-dir", s(dir.path())];
    let report: Value = serde_json::from_str(&ok(&bench(&common::fp32_model(), &args))).unwrap();
    assert_eq!(report["runtime"], "ort");
    let default_csv = dir.path().join("energy/bench.csv");
    assert_eq!(report["csv"].as_str(), Some(s(&default_csv)));
    let (_, rows) = rows(&default_csv);
    assert_eq!((rows.len(), rows[0]["runtime"].as_str()), (1, "ort"));
    assert!((rows[0]["gmacs"].parse::<f64>().unwrap() - 0.3).abs() < 0.01);
}

#[test]
fn bad_input_exits_1_with_a_message_and_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("rows.csv");
    let fails = |model: &Path, extra: &[&str], needle: &str| {
        // Each of these is refused before any inference runs.
        let out = common::infergate().arg("bench").arg(model).args(["--csv", s(&csv)]).args(extra).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{needle}: {err}");
        assert!(err.contains(needle), "expected {needle:?} in: {err}");
        assert!(!err.contains("panicked"), "{err}");
    };
    let junk = dir.path().join("junk.onnx");
    std::fs::write(&junk, b"definitely not protobuf \xff\xff").unwrap();
    fails(&junk, &[], "not an ONNX model");
    fails(&dir.path().join("missing.onnx"), &[], "missing.onnx");
    let model = common::fp32_model();
    fails(&model, &["--runs", "0"], "--runs must be at least 1");
    fails(&model, &["--runtime", "nope"], "unknown runtime");
    fails(&model, &["--device", "my laptop"], "invalid device name");
    fails(&model, &["--idle-s=-1"], "--idle-s must be between 0 and 3600");
    assert!(!csv.exists(), "nothing was written");

    // A CSV of another schema is refused before anything runs, and left as it was.
    let other =
        "model,params_m,gflops,gmacs,size_mb,latency_avg_s,throughput_iter_per_s,energy_avg_mwh,power_avg_mw,device\n\
                 resnet18,11.7,3.6,1.8,44.7,0.05,20,0.02,1500,jetson\n";
    std::fs::write(&csv, other).unwrap();
    fails(&model, &[], "already has another header");
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), other);
}

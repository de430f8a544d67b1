//! What one energy prediction costs in process, as the server pays it per request: the
//! structure-only predictor (line in ln MACs + LightGBM on the residual, for energy and for
//! latency) on MobileNetV2's profiled features, the with-latency predictor (power trees ×
//! the given latency), and the physics prior alone; and the one-off costs the server pays
//! outside the request path: loading a predictor file (on first use and after retraining) and
//! profiling MobileNetV2 (once per registered model file). Predictors are trained here on the
//! shared Jetson Nano files, as `infergate energy train` trains them.
//! Run: `cargo bench -p infergate-energy --bench predict`.

use criterion::{criterion_group, criterion_main, Criterion};
use infergate_energy::device::{prior_path, DeviceModel, PriorFile, PRIOR_FORMAT};
use infergate_energy::{read_files, EnergyPredictor, Features, Measurement, Mode};
use infergate_learn::Params;
use std::hint::black_box;
use std::path::PathBuf;

fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

fn jetson_rows() -> Vec<Measurement> {
    let dir = shared().join("data/edge/jetson_nano");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    files.sort();
    read_files(&files, "jetson_nano").expect("the shared Jetson Nano files").0
}

fn predict(c: &mut Criterion) {
    let rows = jetson_rows();
    let refs: Vec<&Measurement> = rows.iter().collect();
    let params = Params::default();
    let structure = EnergyPredictor::train("jetson_nano", Mode::Structure, &refs, &params, "bench").unwrap();
    let with_latency = EnergyPredictor::train("jetson_nano", Mode::WithLatency, &refs, &params, "bench").unwrap();
    let model = shared().join("models/mobilenetv2-12-fp32.onnx");
    let features = Features::from_profile(&infergate_profile::profile_file(&model).unwrap());
    let latency_ms = structure.predict(&features, None).unwrap().latency_ms;

    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("jetson_nano.json");
    structure.save(&saved, serde_json::json!({})).unwrap();
    let prior = PriorFile {
        format: PRIOR_FORMAT.into(),
        prior: structure.prior.calibrated("box", &[]),
        thresholds: Some(structure.thresholds.clone()),
        base: None,
        calibrated_at: "bench".into(),
    };
    prior.save(&prior_path(dir.path(), "box")).unwrap();
    let prior = DeviceModel::load(dir.path(), "box").unwrap().unwrap();
    let structure = DeviceModel::Trained(Box::new(structure));
    let with_latency = DeviceModel::Trained(Box::new(with_latency));

    let mut g = c.benchmark_group("energy_predict");
    g.bench_function("structure", |b| b.iter(|| black_box(structure.predict(black_box(&features), None).unwrap())));
    g.bench_function("with_latency", |b| {
        b.iter(|| black_box(with_latency.predict(black_box(&features), latency_ms).unwrap()))
    });
    g.bench_function("prior", |b| b.iter(|| black_box(prior.predict(black_box(&features), None).unwrap())));
    g.bench_function("structure_and_json", |b| {
        b.iter(|| black_box(serde_json::to_vec(&structure.predict(black_box(&features), None).unwrap()).unwrap()))
    });
    g.finish();

    let mut g = c.benchmark_group("energy_once");
    g.sample_size(20);
    g.bench_function("load_predictor", |b| b.iter(|| black_box(EnergyPredictor::load(&saved).unwrap())));
    g.bench_function("profile_mobilenetv2", |b| {
        b.iter(|| black_box(infergate_profile::profile_file(black_box(&model)).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, predict);
criterion_main!(benches);

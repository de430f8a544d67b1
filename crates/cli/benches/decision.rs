//! The router's decision in process, as `/predict` makes it without HTTP: parse the seed's
//! JSON request, build the feature row, ask the trained model (LightGBM on the seed features,
//! trained here on a `route simulate` dataset of the Azure 2019 sample's first 200 functions),
//! and serialise the seed's response. Run: `cargo bench -p infergate --bench decision`.

use criterion::{criterion_group, criterion_main, Criterion};
use infergate_learn::{fit_classifier, Dataset, LearnerKind, Params};
use infergate_place::dataset::function_rows;
use infergate_place::evaluate::Settings;
use infergate_place::features::SEED_FEATURES;
use infergate_place::replay::FunctionWorkload;
use infergate_place::router::{RouterModel, SeedRequest};
use infergate_place::traces::azure2019;
use std::hint::black_box;
use std::path::PathBuf;

fn router_model(kind: LearnerKind) -> RouterModel {
    let t = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/traces");
    let (functions, _) = azure2019::load(
        &t.join("azure2019_invocations_per_minute.csv"),
        &t.join("azure2019_durations.csv"),
        Some(&t.join("azure2019_memory.csv")),
    )
    .expect("the shared Azure 2019 sample");
    let settings = Settings::default();
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for (i, f) in functions.iter().take(200).enumerate() {
        for row in function_rows(&FunctionWorkload::from_azure2019(f, i as u64), &settings, i as u64) {
            x.extend(row.features.vector(&SEED_FEATURES).unwrap());
            y.push(row.labels.map_or(0.0, |l| l.objective as f64));
        }
    }
    let names = SEED_FEATURES.iter().map(|s| s.to_string()).collect();
    let data = Dataset::new(names, "label_objective", x, y).unwrap();
    let model = fit_classifier(kind, &data, &Params::default()).unwrap();
    RouterModel {
        features: SEED_FEATURES.iter().map(|s| s.to_string()).collect(),
        predict: Box::new(move |row| model.predict_proba(row).unwrap_or(0.5)),
        model_type: kind.name().into(),
        test_accuracy: None,
        training_date: "bench".into(),
    }
}

fn decision(c: &mut Criterion) {
    let body = br#"{"workload_type": "lightweight_api", "payload_size_kb": 5.0, "time_window": "midday", "load_pattern": "medium_load"}"#;
    let mut group = c.benchmark_group("predict_decision");
    for kind in [LearnerKind::Gbt, LearnerKind::Forest, LearnerKind::Logistic] {
        let model = router_model(kind);
        group.bench_function(kind.name(), |b| {
            b.iter(|| {
                let value: serde_json::Value = serde_json::from_slice(black_box(body)).unwrap();
                let req = SeedRequest::parse(&value).unwrap();
                let p = model.predict_seed(&req).unwrap();
                black_box(serde_json::to_vec(&serde_json::json!({"prediction": p, "request_context": req})).unwrap())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, decision);
criterion_main!(benches);

//! Single-row prediction cost per learner (what the server pays per decision), on models
//! trained on the synthetic 50k × 12 task, and LightGBM's own single-row fast path for comparison
//! with the crate's tree walk. Run: `cargo bench -p infergate-learn --bench predict`.

mod common;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use infergate_learn::{fit_classifier, fit_regressor, LearnerKind, Params};

fn single_row(c: &mut Criterion) {
    let data = common::task(50_000, 1);
    let rows: Vec<Vec<f64>> = data.rows().take(1024).map(<[f64]>::to_vec).collect();
    let mut group = c.benchmark_group("predict_proba");
    for kind in [LearnerKind::Gbt, LearnerKind::Forest, LearnerKind::Logistic] {
        let model = fit_classifier(kind, &data, &Params::default()).unwrap();
        let mut i = 0;
        group.bench_function(kind.name(), |b| {
            b.iter(|| {
                i = (i + 1) % rows.len();
                black_box(model.predict_proba(black_box(&rows[i])).unwrap())
            })
        });
    }
    let booster = common::lightgbm_fast(&data);
    let mut i = 0;
    group.bench_function("lightgbm_single_row_fast", |b| {
        b.iter(|| {
            i = (i + 1) % rows.len();
            black_box(booster.predict_single_row_fast(black_box(&rows[i])).unwrap())
        })
    });
    group.finish();
    let mut group = c.benchmark_group("predict");
    for kind in [LearnerKind::Gbt, LearnerKind::Forest, LearnerKind::Linear] {
        let model = fit_regressor(kind, &data, &Params::default()).unwrap();
        let mut i = 0;
        group.bench_function(kind.name(), |b| {
            b.iter(|| {
                i = (i + 1) % rows.len();
                black_box(model.predict(black_box(&rows[i])).unwrap())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, single_row);
criterion_main!(benches);

//! Compares the classifiers on the synthetic 50k × 12 task: training time, hold-out AUC and
//! accuracy, and mean microseconds per single-row prediction (one thread, a warm model).
//! Run: `cargo run --release -p infergate-learn --example compare`.

#[path = "../benches/common/mod.rs"]
mod common;

use std::time::Instant;

use infergate_learn::{evaluate_classifier, fit_classifier, train_test_split, LearnerKind, Params};

fn main() {
    let data = common::task(50_000, 1);
    let split = train_test_split(data.y(), 0.2, true, 1).unwrap();
    let (train, test) = (data.subset(&split.train), data.subset(&split.test));
    println!("learner   train_s   auc     accuracy  us_per_row");
    for kind in [LearnerKind::Gbt, LearnerKind::Forest, LearnerKind::Logistic] {
        let started = Instant::now();
        let model = fit_classifier(kind, &train, &Params::default()).unwrap();
        let train_s = started.elapsed().as_secs_f64();
        let m = evaluate_classifier(model.as_ref(), &test).unwrap();
        let started = Instant::now();
        let mut sum = 0.0;
        let rounds = 5;
        for _ in 0..rounds {
            for row in test.rows() {
                sum += model.predict_proba(row).unwrap();
            }
        }
        let us = started.elapsed().as_secs_f64() * 1e6 / (rounds * test.n_rows()) as f64;
        std::hint::black_box(sum);
        println!("{:<9} {:<9.2} {:<7.4} {:<9.4} {:.2}", kind.name(), train_s, m.roc_auc.unwrap(), m.accuracy, us);
    }
    // The same LightGBM model through LightGBM's single-row fast path.
    let started = Instant::now();
    let booster = common::lightgbm_fast(&train);
    let train_s = started.elapsed().as_secs_f64();
    let probabilities: Vec<f64> = test.rows().map(|r| booster.predict_single_row_fast(r).unwrap()[0]).collect();
    let m = infergate_learn::metrics::classification_metrics(test.y(), &probabilities);
    let started = Instant::now();
    let mut sum = 0.0;
    for _ in 0..5 {
        for row in test.rows() {
            sum += booster.predict_single_row_fast(row).unwrap()[0];
        }
    }
    let us = started.elapsed().as_secs_f64() * 1e6 / (5 * test.n_rows()) as f64;
    std::hint::black_box(sum);
    println!(
        "{:<9} {:<9.2} {:<7.4} {:<9.4} {:.2}  (LightGBM's single-row fast API)",
        "gbt",
        train_s,
        m.roc_auc.unwrap(),
        m.accuracy,
        us
    );
}

//! Artifacts: exact round trips for every learner, metadata kept, damaged files refused.

mod common;

use std::path::Path;

use infergate_learn::{
    fit_classifier, fit_regressor, Artifact, Dataset, Error, LearnerKind, Model, Params, Task, FORMAT,
};
use serde_json::{json, Value};

const TRAINED_AT: &str = "2026-11-22T20:00:00Z";

fn trained(task: Task, kind: LearnerKind, data: &Dataset) -> Artifact {
    let params = Params { seed: 5, ..Params::default() };
    let model = match task {
        Task::Classification => Model::Classifier(fit_classifier(kind, data, &params).unwrap()),
        Task::Regression => Model::Regressor(fit_regressor(kind, data, &params).unwrap()),
    };
    Artifact::new(model, data, json!({"holdout": {"accuracy": 0.97}}), TRAINED_AT).unwrap()
}

fn every_learner() -> Vec<(Task, LearnerKind, Dataset)> {
    let labels = common::xor(400, 1);
    let values = common::plane(400, 2);
    let mut all = Vec::new();
    for task in [Task::Classification, Task::Regression] {
        for kind in LearnerKind::for_task(task) {
            let data = if task == Task::Classification { labels.clone() } else { values.clone() };
            all.push((task, kind, data));
        }
    }
    all
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn write_json(path: &Path, v: &Value) {
    std::fs::write(path, serde_json::to_vec(v).unwrap()).unwrap();
}

#[test]
fn saved_then_loaded_models_predict_identically() {
    let dir = tempfile::tempdir().unwrap();
    for (task, kind, data) in every_learner() {
        let artifact = trained(task, kind, &data);
        let path = dir.path().join(format!("{task}-{kind}.json"));
        artifact.save(&path).unwrap();
        let loaded = Artifact::load(&path).unwrap();
        assert_eq!(loaded.meta, artifact.meta, "{task}/{kind}");
        assert_eq!(loaded.model.task(), task);
        assert_eq!(loaded.model.kind(), kind);
        for row in data.rows() {
            let (a, b) = (artifact.model.predict(row).unwrap(), loaded.model.predict(row).unwrap());
            assert_eq!(a.to_bits(), b.to_bits(), "{task}/{kind}: {a} vs {b}");
        }
        let doc = read_json(&path);
        assert_eq!(doc["format"], FORMAT);
        assert_eq!(doc["task"], task.name());
        assert_eq!(doc["learner"], kind.name());
        assert_eq!(doc["features"], json!(data.feature_names()));
        assert_eq!(doc["target"], "y");
        assert_eq!(doc["trained_at"], TRAINED_AT);
        assert_eq!(doc["data_sha256"], data.hash());
        assert_eq!(doc["metrics"]["holdout"]["accuracy"], 0.97);
        assert_eq!(doc["params"]["seed"], if kind.name().starts_with('l') { Value::Null } else { json!(5) });
    }
    // Only the saved files: no temporary files left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 6);
}

#[test]
fn loaded_models_can_be_shared_between_request_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Artifact>();
    shareable::<Model>();
}

#[test]
fn loaded_models_check_rows_and_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::separable(300, 3);
    let path = dir.path().join("m.json");
    trained(Task::Classification, LearnerKind::Gbt, &data).save(&path).unwrap();
    let loaded = Artifact::load(&path).unwrap();
    assert!(loaded.meta.check_features(&["x0", "x1", "x2"]).is_ok());
    let e = loaded.meta.check_features(&["x0", "x2", "x1"]).unwrap_err().to_string();
    assert!(e.contains("trained on features [x0, x1, x2] but was given [x0, x2, x1]"), "{e}");
    let e = loaded.model.predict(&[1.0, 2.0]).unwrap_err();
    assert!(matches!(e, Error::FeatureCount { expected: 3, got: 2 }), "{e}");
    assert!(matches!(loaded.into_regressor(), Err(Error::WrongTask { .. })));
    let classifier = Artifact::load(&path).unwrap().into_classifier().unwrap();
    assert!(classifier.predict_proba(&[0.9, 0.9, 0.0]).unwrap() > 0.5);
}

#[test]
fn other_formats_are_refused_with_advice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.json");
    trained(Task::Regression, LearnerKind::Linear, &common::plane(100, 4)).save(&path).unwrap();
    let mut doc = read_json(&path);
    doc["format"] = json!("infergate-learn/2");
    write_json(&path, &doc);
    let e = Artifact::load(&path).unwrap_err();
    assert!(matches!(e, Error::UnsupportedFormat { .. }), "{e}");
    let text = e.to_string();
    assert!(text.contains("`infergate-learn/2` is not supported") && text.contains("infergate route train"), "{text}");
    doc.as_object_mut().unwrap().remove("format");
    write_json(&path, &doc);
    assert!(matches!(Artifact::load(&path), Err(Error::UnsupportedFormat { .. })));
    assert!(matches!(Artifact::load(&dir.path().join("missing.json")), Err(Error::Io { .. })));
}

#[test]
fn damaged_files_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    for (task, kind, data) in every_learner() {
        let path = dir.path().join("m.json");
        trained(task, kind, &data).save(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        // Truncated anywhere: invalid JSON.
        for cut in [bytes.len() / 3, bytes.len() - 2] {
            std::fs::write(&path, &bytes[..cut]).unwrap();
            let e = Artifact::load(&path).unwrap_err();
            assert!(matches!(e, Error::CorruptArtifact { .. }), "{task}/{kind}: {e}");
        }
        // Valid JSON with a damaged payload.
        let mut doc: Value = serde_json::from_slice(&bytes).unwrap();
        match kind {
            LearnerKind::Gbt => {
                let text = doc["model"]["lightgbm_model"].as_str().unwrap().to_string();
                doc["model"]["lightgbm_model"] = json!(text[..text.len() / 2]);
            }
            LearnerKind::Forest => doc["model"]["trees"][0]["left"][0] = json!(1_000_000),
            _ => doc["model"]["coef"] = json!([1.0]),
        }
        write_json(&path, &doc);
        let e = Artifact::load(&path).unwrap_err();
        assert!(matches!(e, Error::CorruptArtifact { .. }), "{task}/{kind}: {e}");
        assert!(e.to_string().contains("infergate route train"), "{e}");
        // A model payload of the wrong learner.
        doc["model"] = json!({"something": "else"});
        write_json(&path, &doc);
        assert!(matches!(Artifact::load(&path), Err(Error::CorruptArtifact { .. })), "{task}/{kind}");
    }
}

#[test]
fn a_learner_that_cannot_do_the_task_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.json");
    trained(Task::Classification, LearnerKind::Logistic, &common::separable(100, 5)).save(&path).unwrap();
    let mut doc = read_json(&path);
    doc["task"] = json!("regression");
    write_json(&path, &doc);
    let e = Artifact::load(&path).unwrap_err().to_string();
    assert!(e.contains("learner `logistic` cannot do regression"), "{e}");
}

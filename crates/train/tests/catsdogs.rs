//! The head trained on `shared/data/catsdogs/train` (held-out split as the CLI does it),
//! measured on all 600 photos of `shared/data/catsdogs/test` through the exported ONNX model
//! on ONNX Runtime, and the exported model checked against the in-Rust head on both backends.

use infergate_core::{softmax, PreprocessSpec};
use infergate_runtime::discovery::OrtLibrarySearch;
use infergate_runtime::{BackendKind, Engine, EngineConfig, RuntimeChoice};
use infergate_train::{list_images, load_bytes, train_head, BaseModel, ImageModel, TrainConfig, TrainedHead};
use std::path::PathBuf;
use std::sync::OnceLock;

fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared").canonicalize().unwrap()
}

fn base_model() -> PathBuf {
    shared().join("models/mobilenetv2-12-fp32.onnx")
}

fn engine() -> Engine {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let search = OrtLibrarySearch { project_roots: vec![workspace], ..Default::default() };
    let sessions = std::thread::available_parallelism().map_or(2, |n| n.get());
    let config = EngineConfig { runtime: RuntimeChoice::Ort, sessions, ..Default::default() };
    Engine::new(config, search.find()).expect("ONNX Runtime must be available: run scripts/setup")
}

/// Trained once per test binary, shared by the tests.
fn trained() -> &'static TrainedHead {
    static TRAINED: OnceLock<TrainedHead> = OnceLock::new();
    TRAINED.get_or_init(|| {
        let data = shared().join("data/catsdogs/train");
        let config = TrainConfig::default();
        train_head(&engine(), &base_model(), &PreprocessSpec::default(), &data, &config, &mut |_| {}).unwrap()
    })
}

#[test]
fn the_trained_head_gets_at_least_97_percent_of_the_600_test_photos() {
    let trained = trained();
    let held_out = trained.held_out.expect("the default config holds out 20 %");
    eprintln!(
        "train {}/{}, held-out {}/{} ({:.1} %)",
        trained.train.correct,
        trained.train.total,
        held_out.correct,
        held_out.total,
        held_out.fraction() * 100.0
    );
    assert_eq!((trained.train.total, held_out.total), (640, 160));
    assert_eq!((trained.feature_dim, trained.features_name.as_str()), (1280, "472_quantized"));

    let model = load_bytes(&engine(), &trained.onnx, &PreprocessSpec::default()).unwrap();
    let images = list_images(&shared().join("data/catsdogs/test")).unwrap();
    assert_eq!(images.len(), 600);
    let paths: Vec<PathBuf> = images.iter().map(|i| i.path.clone()).collect();
    let logits = model.outputs(&paths, &mut |_| {}).unwrap();
    let correct = logits
        .iter()
        .zip(&images)
        .filter(|(l, image)| {
            assert_eq!(l.len(), 2);
            usize::from(l[1] > l[0]) == image.class
        })
        .count();
    let accuracy = correct as f64 / images.len() as f64;
    eprintln!("test accuracy through the exported model (ONNX Runtime): {correct}/600 = {:.1} %", accuracy * 100.0);
    assert!(accuracy >= 0.97, "test accuracy {accuracy:.3} is under 0.97");
}

#[test]
fn the_exported_model_gives_the_heads_probabilities_on_ort_and_tract() {
    let trained = trained();
    let base = BaseModel::parse(std::fs::read(base_model()).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (features_file, export_file) = (dir.path().join("features.onnx"), dir.path().join("head.onnx"));
    std::fs::write(&features_file, base.feature_extractor().unwrap()).unwrap();
    std::fs::write(&export_file, &trained.onnx).unwrap();
    let test = list_images(&shared().join("data/catsdogs/test")).unwrap();
    let mut photos: Vec<PathBuf> = test.iter().step_by(150).map(|i| i.path.clone()).collect();
    photos.push(shared().join("data/cat_mobilenet_caffe.jpg"));
    photos.push(shared().join("data/dog_samoyed_pytorch_hub.jpg"));

    let engine = engine();
    let pre = PreprocessSpec::default();
    for kind in [BackendKind::Ort, BackendKind::Tract] {
        let run = |file: &PathBuf| {
            ImageModel::new(engine.load_with(kind, file).unwrap(), pre.clone()).outputs(&photos, &mut |_| {}).unwrap()
        };
        let (features, logits) = (run(&features_file), run(&export_file));
        assert_eq!(logits.len(), photos.len());
        for ((f, l), photo) in features.iter().zip(&logits).zip(&photos) {
            let (exported, direct) = (softmax(l), trained.head.probabilities(f));
            for c in 0..2 {
                assert!(
                    (exported[c] - direct[c]).abs() < 1e-4,
                    "{kind} {}: exported {exported:?} vs head {direct:?}",
                    photo.display()
                );
            }
        }
        let predicted: Vec<usize> = logits.iter().map(|l| usize::from(l[1] > l[0])).collect();
        assert_eq!(&predicted[predicted.len() - 2..], &[0, 1], "{kind}: the shared cat and dog photos");
    }
}

//! The runtime against the reference: same top-1 and probability (±0.03) as
//! `shared/data/expected_top5.json` with ONNX Runtime and with tract on the fp32 model, and
//! the two backends' logits within 1e-3 on the same input tensor.

use infergate_core::{softmax, top_k, PreprocessSpec};
use infergate_runtime::discovery::OrtLibrarySearch;
use infergate_runtime::{
    decode_image, preprocess, BackendKind, DecodeLimits, Engine, EngineConfig, ExecutionProvider, RuntimeChoice,
};
use std::path::PathBuf;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn shared() -> PathBuf {
    workspace().join("../shared")
}

fn engine() -> Engine {
    let search = OrtLibrarySearch { project_roots: vec![workspace()], ..Default::default() };
    let config = EngineConfig { runtime: RuntimeChoice::Ort, ..Default::default() };
    Engine::new(config, search.find()).expect("ONNX Runtime must be available: run scripts/setup")
}

fn input_tensor(image: &str) -> Vec<f32> {
    let bytes = std::fs::read(shared().join("data").join(image)).unwrap();
    let (rgb, _) = decode_image(&bytes, DecodeLimits::default()).unwrap();
    preprocess(&rgb, &PreprocessSpec::default())
}

fn expected(model: &str, image: &str) -> (usize, f32) {
    let text = std::fs::read_to_string(shared().join("data/expected_top5.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let top = &v[model][image][0];
    (top["index"].as_u64().unwrap() as usize, top["prob"].as_f64().unwrap() as f32)
}

const IMAGES: [&str; 2] = ["dog_samoyed_pytorch_hub.jpg", "cat_mobilenet_caffe.jpg"];

#[test]
fn fp32_top1_matches_reference_on_both_backends_and_logits_agree() {
    let engine = engine();
    let model = shared().join("models/mobilenetv2-12-fp32.onnx");
    let ort = engine.load_with(BackendKind::Ort, &model).unwrap();
    let tract = engine.load_with(BackendKind::Tract, &model).unwrap();
    for image in IMAGES {
        let x = input_tensor(image);
        let shape = PreprocessSpec::default().tensor_shape(1);
        let (want_index, want_prob) = expected("mobilenetv2-12-fp32.onnx", image);
        let mut logits = Vec::new();
        for backend in [&ort, &tract] {
            let out = backend.run(&shape, &x).unwrap().output;
            assert_eq!(out.shape, vec![1, 1000]);
            let p = softmax(&out.data);
            let top = top_k(&p, 1)[0];
            assert_eq!(top, want_index, "{image} with {}", backend.kind());
            assert!(
                (p[top] - want_prob).abs() <= 0.03,
                "{image} with {}: p={} want {want_prob}",
                backend.kind(),
                p[top]
            );
            logits.push(out.data);
        }
        let max_diff = logits[0].iter().zip(&logits[1]).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(max_diff <= 1e-3, "{image}: ORT and tract logits differ by {max_diff}");
    }
}

#[test]
fn batches_match_single_runs() {
    let engine = engine();
    let model = shared().join("models/mobilenetv2-12-fp32.onnx");
    let ort = engine.load_with(BackendKind::Ort, &model).unwrap();
    let tract = engine.load_with(BackendKind::Tract, &model).unwrap();
    let mut batch = input_tensor(IMAGES[0]);
    batch.extend(input_tensor(IMAGES[1]));
    for backend in [&ort, &tract] {
        let both = backend.run(&PreprocessSpec::default().tensor_shape(2), &batch).unwrap().output;
        assert_eq!(both.shape, vec![2, 1000]);
        let second = backend.run(&PreprocessSpec::default().tensor_shape(1), &batch[batch.len() / 2..]).unwrap().output;
        let diff = both.data[1000..].iter().zip(&second.data).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(diff <= 1e-4, "{}: batched and single runs differ by {diff}", backend.kind());
    }
}

#[test]
fn int8_runs_on_ort_and_tract_refuses_it_clearly() {
    let engine = engine();
    let model = shared().join("models/mobilenetv2-12-int8.onnx");
    let ort = engine.load_with(BackendKind::Ort, &model).unwrap();
    let x = input_tensor(IMAGES[0]);
    let out = ort.run(&PreprocessSpec::default().tensor_shape(1), &x).unwrap().output;
    let (want, _) = expected("mobilenetv2-12-int8.onnx", IMAGES[0]);
    assert_eq!(top_k(&softmax(&out.data), 1)[0], want);
    match engine.load_with(BackendKind::Tract, &model) {
        Ok(_) => panic!("tract is not expected to load the QLinear int8 model"),
        Err(e) => assert!(e.to_string().contains("could not load model"), "{e}"),
    }
}

#[test]
fn wrong_input_shape_is_an_error_not_a_panic() {
    let engine = engine();
    let model = shared().join("models/mobilenetv2-12-fp32.onnx");
    for kind in [BackendKind::Ort, BackendKind::Tract] {
        let backend = engine.load_with(kind, &model).unwrap();
        let err = backend.run(&[1, 3, 100, 100], &vec![0.0; 30000]).unwrap_err();
        assert!(err.to_string().contains("does not match"), "{kind}: {err}");
    }
}

#[test]
fn cuda_is_refused_clearly_where_the_library_has_no_cuda_provider() {
    let search = OrtLibrarySearch { project_roots: vec![workspace()], ..Default::default() };
    let config = EngineConfig { runtime: RuntimeChoice::Ort, provider: ExecutionProvider::Cuda, ..Default::default() };
    match Engine::new(config, search.find()) {
        // The CPU-only PyPI wheel (what scripts/setup installs) has no CUDA provider.
        Err(e) => assert!(e.to_string().contains("onnxruntime-gpu"), "{e}"),
        // With the onnxruntime-gpu wheel the engine is built and the provider is used.
        Ok(engine) => assert_eq!(engine.config().provider, ExecutionProvider::Cuda),
    }
    let tract = EngineConfig { runtime: RuntimeChoice::Tract, provider: ExecutionProvider::Cuda, ..Default::default() };
    assert!(Engine::new(tract, Err(String::new())).unwrap_err().to_string().contains("needs the ONNX Runtime"));
}

#[test]
fn auto_falls_back_to_tract_without_the_library_and_ort_fails_clearly() {
    let missing = Err("libonnxruntime.so not found".to_string());
    let auto = Engine::new(EngineConfig::default(), missing.clone()).unwrap();
    // In this process ORT may already be initialised by another test; only the path decides.
    assert_eq!(auto.kind(), BackendKind::Tract);
    assert!(auto.describe().contains("tract"), "{}", auto.describe());
    let ort = Engine::new(EngineConfig { runtime: RuntimeChoice::Ort, ..Default::default() }, missing);
    assert!(ort.unwrap_err().to_string().contains("not found"));
}

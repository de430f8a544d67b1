//! Instance pools on the real model with ONNX Runtime: cold start then warm, unloading after
//! the keep-alive on a manual clock (no sleeping), `min_warm`, batched answers equal to
//! unbatched ones, and a bounded queue.

use infergate_core::{ModelSignature, ModelSpec, PreprocessSpec, Task};
use infergate_runtime::discovery::OrtLibrarySearch;
use infergate_runtime::{
    decode_image, preprocess, BackendError, BatchJob, BatchOutput, BatchPolicy, DecodeLimits, Engine, EngineConfig,
    InstancePool, ManualClock, RuntimeChoice, ServingPolicy, SubmitError, Tensor, VersionPool,
};
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn shared() -> PathBuf {
    workspace().join("../shared")
}

fn model_path() -> PathBuf {
    shared().join("models/mobilenetv2-12-fp32.onnx")
}

fn engine() -> Engine {
    let search = OrtLibrarySearch { project_roots: vec![workspace()], ..Default::default() };
    let config = EngineConfig { runtime: RuntimeChoice::Ort, ..Default::default() };
    Engine::new(config, search.find()).expect("ONNX Runtime must be available: run scripts/setup")
}

fn spec() -> Arc<ModelSpec> {
    Arc::new(ModelSpec {
        name: "mobilenet".into(),
        version: 1,
        sha256: String::new(),
        artifact_path: String::new(),
        size_bytes: 0,
        task: Task::Imagenet,
        preprocess: PreprocessSpec::default(),
        labels: Vec::new(),
        signature: ModelSignature {
            input_name: "input".into(),
            input_shape: vec![-1, 3, 224, 224],
            output_name: "output".into(),
            output_shape: vec![-1, 1000],
        },
        active: true,
        created_at: String::new(),
    })
}

/// The preprocessed test images of the cats/dogs set, `n` of them.
fn tensors(n: usize) -> Vec<Vec<f32>> {
    let mut files: Vec<PathBuf> = ["cat", "dog"]
        .iter()
        .flat_map(|c| std::fs::read_dir(shared().join("data/catsdogs/test").join(c)).unwrap())
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.truncate(n);
    files
        .iter()
        .map(|f| {
            let (rgb, _) = decode_image(&std::fs::read(f).unwrap(), DecodeLimits::default()).unwrap();
            preprocess(&rgb, &PreprocessSpec::default())
        })
        .collect()
}

type Reply = mpsc::Sender<Result<BatchOutput, BackendError>>;

/// A job carrying a ready tensor; `gate`, when set, holds `prepare` until it is released
/// (after saying so on `started`).
struct TensorJob {
    input: Option<Vec<f32>>,
    reply: Reply,
    gate: Option<(mpsc::Sender<()>, mpsc::Receiver<()>)>,
}

impl BatchJob for TensorJob {
    fn prepare(&mut self) -> Option<Tensor> {
        if let Some((started, release)) = self.gate.take() {
            started.send(()).unwrap();
            release.recv().unwrap();
        }
        Some(Tensor { shape: vec![1, 3, 224, 224], data: self.input.take()? })
    }
    fn complete(self: Box<Self>, result: Result<BatchOutput, BackendError>) {
        let _ = self.reply.send(result);
    }
}

fn job(input: Vec<f32>, reply: &Reply) -> Box<TensorJob> {
    Box::new(TensorJob { input: Some(input), reply: reply.clone(), gate: None })
}

fn run_one(pool: &Arc<VersionPool>, input: Vec<f32>) -> BatchOutput {
    let (reply, answer) = mpsc::channel();
    pool.submit(job(input, &reply)).unwrap();
    answer.recv_timeout(Duration::from_secs(60)).unwrap().unwrap()
}

fn policy(max_batch: usize, max_instances: usize) -> ServingPolicy {
    ServingPolicy {
        keep_alive: Duration::from_secs(600),
        min_warm: 0,
        max_instances,
        batch: BatchPolicy { max_batch, max_delay: Duration::from_millis(20), queue_capacity: 256 },
    }
}

#[test]
fn cold_start_then_warm_then_unloaded_after_keep_alive() {
    let clock = Arc::new(ManualClock::new());
    let pools = InstancePool::new(engine(), policy(1, 1)).with_clock(clock.clone());
    let pool = pools.version(&spec(), model_path);
    let x = tensors(1).remove(0);

    let first = run_one(&pool, x.clone());
    assert!(first.load_ms.is_some(), "the first request waits for the load");
    assert!(run_one(&pool, x.clone()).load_ms.is_none(), "the second finds the instance warm");
    assert_eq!(pool.status().instances, 1);

    clock.advance(Duration::from_secs(599));
    assert_eq!(pools.reap(), 0, "not idle long enough yet");
    clock.advance(Duration::from_secs(1));
    assert_eq!(pools.reap(), 1);
    assert_eq!(pool.status().instances, 0);

    assert!(run_one(&pool, x).load_ms.is_some(), "after the keep-alive the next request is cold again");
}

#[test]
fn min_warm_instances_stay_loaded() {
    let clock = Arc::new(ManualClock::new());
    let pools = InstancePool::new(engine(), policy(1, 2)).with_clock(clock.clone());
    let pool = pools.version(&spec(), model_path);
    pool.set_min_warm(1);
    let report = pool.warm(1, Duration::from_secs(60)).unwrap();
    assert_eq!((report.instances, report.loaded_ms.len()), (1, 1));
    assert!(run_one(&pool, tensors(1).remove(0)).load_ms.is_none(), "warmed before the first request");
    clock.advance(Duration::from_secs(3600));
    assert_eq!(pools.reap(), 0);
    assert_eq!(pool.status().instances, 1);
}

#[test]
fn batched_answers_equal_unbatched_ones() {
    let inputs = tensors(24);
    let single = InstancePool::new(engine(), policy(1, 1)).version(&spec(), model_path);
    let alone: Vec<Vec<f32>> = inputs.iter().map(|x| run_one(&single, x.clone()).output.data).collect();

    let batched = InstancePool::new(engine(), policy(8, 1)).version(&spec(), model_path);
    batched.warm(1, Duration::from_secs(60)).unwrap();
    let (reply, answers) = mpsc::channel();
    // Hold the only instance until every job is queued, so that they must share batches.
    let (started, wait_started) = mpsc::channel();
    let (release, gate) = mpsc::channel();
    let blocker = TensorJob { input: Some(inputs[0].clone()), reply: reply.clone(), gate: Some((started, gate)) };
    batched.submit(Box::new(blocker)).unwrap();
    wait_started.recv().unwrap();
    let (order_tx, order) = mpsc::channel();
    for (i, x) in inputs.iter().enumerate() {
        let (r, a) = mpsc::channel();
        batched.submit(job(x.clone(), &r)).unwrap();
        order_tx.send((i, a)).unwrap();
    }
    release.send(()).unwrap();
    drop(order_tx);
    let mut sizes = Vec::new();
    for (i, answer) in order.iter() {
        let out = answer.recv_timeout(Duration::from_secs(60)).unwrap().unwrap();
        sizes.push(out.batch_size);
        assert_eq!(out.output.shape, vec![1, 1000]);
        for (a, b) in out.output.data.iter().zip(&alone[i]) {
            assert!((a - b).abs() <= 1e-4, "image {i}: batched {a} vs alone {b}");
        }
    }
    assert!(answers.recv().unwrap().is_ok());
    assert!(sizes.iter().any(|&s| s > 1), "the queued jobs ran in batches: {sizes:?}");
    assert!(sizes.iter().all(|&s| s <= 8), "no batch is larger than max_batch: {sizes:?}");
}

#[test]
fn a_full_queue_refuses_at_once() {
    let mut p = policy(1, 1);
    p.batch.queue_capacity = 2;
    let pool = InstancePool::new(engine(), p).version(&spec(), model_path);
    pool.warm(1, Duration::from_secs(60)).unwrap();
    let x = tensors(1).remove(0);
    let (reply, answers) = mpsc::channel();
    let (started, wait_started) = mpsc::channel();
    let (release, gate) = mpsc::channel();
    pool.submit(Box::new(TensorJob { input: Some(x.clone()), reply: reply.clone(), gate: Some((started, gate)) }))
        .unwrap();
    wait_started.recv().unwrap();
    pool.submit(job(x.clone(), &reply)).unwrap();
    pool.submit(job(x.clone(), &reply)).unwrap();
    assert_eq!(pool.submit(job(x, &reply)).unwrap_err(), SubmitError::QueueFull { capacity: 2 });
    assert_eq!(pool.status().queue_depth, 2);
    release.send(()).unwrap();
    for _ in 0..3 {
        assert!(answers.recv_timeout(Duration::from_secs(60)).unwrap().is_ok());
    }
}

#[test]
fn a_model_that_fails_to_load_fails_its_waiting_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.onnx");
    std::fs::write(&broken, b"not a model").unwrap();
    let pool = InstancePool::new(engine(), policy(1, 1)).version(&spec(), move || broken);
    let (reply, answer) = mpsc::channel();
    pool.submit(job(vec![0.0; 3 * 224 * 224], &reply)).unwrap();
    let err = answer.recv_timeout(Duration::from_secs(60)).unwrap().unwrap_err();
    assert!(matches!(err, BackendError::Load { .. }), "{err}");
    assert!(pool.status().last_error.is_some());
    assert!(pool.warm(1, Duration::from_secs(60)).is_err());
}

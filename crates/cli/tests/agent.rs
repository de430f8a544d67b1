//! `infergate agent` through the binary, standalone (the seed's mode, no controller), with the
//! model files served by a local HTTP server in the test: deploy with SHA-256 checks, a corrupted
//! download refused and a model that does not load rolled back while the old one keeps serving,
//! 401 for commands without the token, energy measured from a fake RAPL tree against a budget,
//! estimated without a sensor, and the model back after a restart.

mod common;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TOKEN: &str = "igd_test-token-for-the-agent";

fn start_agent(data: &Path, sysfs: &Path, extra: &[&str]) -> common::Agent {
    let mut cmd = common::infergate();
    cmd.args(["agent", "--token", TOKEN, "--device-id", "pi-1", "--device-type", "raspberry_pi5"])
        .args(["--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .arg("--sysfs-root")
        .arg(sysfs)
        .args(extra);
    common::spawn_agent(cmd)
}

/// Serves the files of `dir` at `/NAME` on an ephemeral port; returns the base URL.
async fn file_server(dir: PathBuf) -> String {
    use axum::extract::{Path as UrlPath, State};
    use axum::http::StatusCode;
    async fn file(State(dir): State<PathBuf>, UrlPath(name): UrlPath<String>) -> Result<Vec<u8>, StatusCode> {
        std::fs::read(dir.join(name)).map_err(|_| StatusCode::NOT_FOUND)
    }
    let app = axum::Router::new().route("/{name}", axum::routing::get(file)).with_state(dir);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn sha256(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

/// Sends `method path` with `body` and the given `Authorization` value.
async fn call(
    agent: &common::Agent,
    method: &str,
    path: &str,
    body: Option<Value>,
    auth: Option<&str>,
) -> (u16, Value) {
    let client = common::client();
    let url = format!("{}{path}", agent.url);
    let mut req = if method == "GET" { client.get(url) } else { client.post(url) };
    if let Some(b) = body {
        req = req.json(&b);
    }
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON (HTTP {status}): {text}")))
}

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

async fn status(agent: &common::Agent) -> Value {
    let (code, v) = call(agent, "GET", "/status", None, Some(&bearer())).await;
    assert_eq!(code, 200, "{v}");
    v
}

async fn wait_status(agent: &common::Agent, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let v = status(agent).await;
        if done(&v) {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}; last status: {v:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn deploy(agent: &common::Agent, body: Value) -> (u16, Value) {
    call(agent, "POST", "/deploy", Some(body), Some(&bearer())).await
}

fn model_files(data: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(data.join("agent/models"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_verify_roll_back_and_refuse_without_token() {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::copy(common::fp32_model(), files.join("mobilenet.onnx")).unwrap();
    std::fs::write(files.join("junk.onnx"), b"this is not an ONNX model at all").unwrap();
    let sha = sha256(&files.join("mobilenet.onnx"));
    let junk_sha = sha256(&files.join("junk.onnx"));
    let server = file_server(files.clone()).await;
    let data = dir.path().join("data");
    let no_sensor = dir.path().join("no-sensor");
    std::fs::create_dir_all(&no_sensor).unwrap();
    let agent = start_agent(&data, &no_sensor, &[]);

    // /status needs the token (or its hash) unless --status-public.
    let (code, body) = call(&agent, "GET", "/status", None, None).await;
    assert_eq!((code, body["code"].as_str()), (401, Some("unauthorized")), "{body}");
    let hash = format!("Bearer {}", hex::encode(Sha256::digest(TOKEN.as_bytes())));
    let (code, idle) = call(&agent, "GET", "/status", None, Some(&hash)).await;
    assert_eq!((code, idle["status"].as_str(), idle["model_name"].clone()), (200, Some("idle"), Value::Null));
    assert_eq!((idle["device_id"].as_str(), idle["device_type"].as_str()), (Some("pi-1"), Some("raspberry_pi5")));
    for key in ["inference_active", "uptime_seconds", "energy_metrics", "device_metrics"] {
        assert!(idle.get(key).is_some(), "the seed's field {key} is missing: {idle}");
    }
    assert!(idle["device_metrics"]["memory_percent"].is_number(), "{idle}");

    // Nothing to run yet.
    let (code, body) = call(&agent, "POST", "/inference/start", Some(json!({"iterations": 3})), Some(&bearer())).await;
    assert_eq!((code, body["code"].as_str()), (409, Some("no_model")), "{body}");

    let good = json!({
        "model_name": "mobilenet", "model_url": format!("{server}/mobilenet.onnx"), "energy_budget_mwh": 1000.0,
        "sha256": sha, "predicted_energy_mwh": 0.25,
    });
    // Commands with a missing or wrong token: 401, and nothing changes.
    for auth in [None, Some("Bearer igd_wrong"), Some(TOKEN), Some("Bearer ")] {
        for (path, body) in [
            ("/deploy", Some(good.clone())),
            ("/inference/start", Some(json!({"iterations": 3}))),
            ("/inference/stop", None),
        ] {
            let (code, answer) = call(&agent, "POST", path, body, auth).await;
            assert_eq!((code, answer["success"].as_bool()), (401, Some(false)), "{path} with {auth:?}: {answer}");
        }
    }
    assert_eq!(status(&agent).await["status"], "idle");
    assert!(model_files(&data).is_empty(), "{:?}", model_files(&data));

    // A good deployment, in the seed's reply.
    let (code, reply) = deploy(&agent, good.clone()).await;
    assert_eq!(code, 200, "{reply}");
    assert_eq!(reply["success"], true);
    assert!(reply["message"].as_str().unwrap().contains("mobilenet"), "{reply}");
    assert!((reply["file_size_mb"].as_f64().unwrap() - 13.3).abs() < 0.1, "{reply}");
    assert!(reply["model_path"].as_str().unwrap().ends_with(&format!("{sha}.onnx")), "{reply}");
    let ready = status(&agent).await;
    assert_eq!((ready["status"].as_str(), ready["model_name"].as_str()), (Some("ready"), Some("mobilenet")));
    assert_eq!(ready["model_sha256"].as_str(), Some(sha.as_str()));
    assert_eq!(ready["last_deployment"]["state"], "ready");
    assert_eq!(ready["energy_metrics"]["budget_mwh"].as_f64(), Some(1000.0));
    assert_eq!(model_files(&data), vec![format!("{sha}.onnx")]);

    // A corrupted download (the hash announced is not the file's): 422, the old model stays.
    let mut wrong = good.clone();
    wrong["sha256"] = json!(junk_sha);
    let (code, reply) = deploy(&agent, wrong).await;
    assert_eq!((code, reply["code"].as_str(), reply["state"].as_str()), (422, Some("sha256_mismatch"), Some("failed")));
    let after = status(&agent).await;
    assert_eq!((after["status"].as_str(), after["model_sha256"].as_str()), (Some("ready"), Some(sha.as_str())));
    assert_eq!(after["last_deployment"]["state"], "failed");
    assert!(after["last_deployment"]["error"].as_str().unwrap().contains("SHA-256"), "{after}");
    assert_eq!(model_files(&data), vec![format!("{sha}.onnx")], "nothing of the bad download is left");

    // A file that is not a model, with its right hash: it is installed, fails to load, and is
    // rolled back; the old model keeps serving.
    let junk = json!({"model_name": "junk", "model_url": format!("{server}/junk.onnx"), "energy_budget_mwh": 1.0, "sha256": junk_sha});
    let (code, reply) = deploy(&agent, junk).await;
    assert_eq!(
        (code, reply["code"].as_str(), reply["state"].as_str()),
        (422, Some("model_failed"), Some("rolled_back"))
    );
    let after = status(&agent).await;
    assert_eq!((after["status"].as_str(), after["model_name"].as_str()), (Some("ready"), Some("mobilenet")));
    assert_eq!(after["model_sha256"].as_str(), Some(sha.as_str()));
    assert_eq!(
        (after["last_deployment"]["state"].as_str(), after["last_deployment"]["model_name"].as_str()),
        (Some("rolled_back"), Some("junk"))
    );
    assert_eq!(model_files(&data), vec![format!("{sha}.onnx")]);

    // The client's other mistakes and a failed download.
    let mut bad_url = good.clone();
    bad_url["model_url"] = json!("file:///etc/passwd");
    assert_eq!(deploy(&agent, bad_url).await.0, 422);
    let mut missing = good.clone();
    missing["model_url"] = json!(format!("{server}/missing.onnx"));
    let (code, reply) = deploy(&agent, missing).await;
    assert_eq!((code, reply["code"].as_str()), (502, Some("download_failed")), "{reply}");
    let (code, reply) = call(&agent, "POST", "/deploy", Some(json!({"model_name": "m"})), Some(&bearer())).await;
    assert_eq!(code, 422, "{reply}");

    // The old model still runs; without a sensor, energy is the predicted mWh per inference.
    let (code, reply) = call(&agent, "POST", "/inference/start", Some(json!({"iterations": 8})), Some(&hash)).await;
    assert_eq!((code, reply["success"].as_bool()), (200, Some(true)), "{reply}");
    let done = wait_status(&agent, "the run to complete", |v| v["run_ended"] == "completed").await;
    let e = &done["energy_metrics"];
    assert_eq!((done["iterations_done"].as_u64(), done["inference_active"].as_bool()), (Some(8), Some(false)));
    assert_eq!((e["energy_source"].as_str(), e["status"].as_str()), (Some("estimate"), Some("ok")), "{e}");
    assert!((e["total_mwh"].as_f64().unwrap() - 0.25 * 8.0).abs() < 1e-9, "{e}");
    assert_eq!((e["latest_mwh"].as_f64(), e["avg_mwh"].as_f64()), (Some(0.25), Some(0.25)));
    assert_eq!(e["history"].as_array().unwrap().len(), 8);

    // A long run, stopped.
    let (code, _) =
        call(&agent, "POST", "/inference/start", Some(json!({"iterations": 100000})), Some(&bearer())).await;
    assert_eq!(code, 200);
    let (code, again) = call(&agent, "POST", "/inference/start", Some(json!({"iterations": 5})), Some(&bearer())).await;
    assert_eq!((code, again["code"].as_str()), (409, Some("already_running")), "{again}");
    wait_status(&agent, "the run to go", |v| v["status"] == "running" && v["iterations_done"].as_u64() > Some(0)).await;
    let (code, reply) = call(&agent, "POST", "/inference/stop", None, Some(&bearer())).await;
    assert_eq!((code, reply["was_running"].as_bool()), (200, Some(true)), "{reply}");
    let stopped = status(&agent).await;
    assert_eq!((stopped["run_ended"].as_str(), stopped["status"].as_str()), (Some("stopped"), Some("ready")));
    assert!(stopped["energy_metrics"]["history"].as_array().unwrap().len() <= 40);

    // The same model without a predicted energy: no sensor, no estimate, so no numbers (and the
    // budget cannot apply), said so.
    let mut unpredicted = good.clone();
    unpredicted.as_object_mut().unwrap().remove("predicted_energy_mwh");
    assert_eq!(deploy(&agent, unpredicted).await.0, 200);
    call(&agent, "POST", "/inference/start", Some(json!({"iterations": 2})), Some(&bearer())).await;
    let done = wait_status(&agent, "the unmeasured run", |v| v["run_ended"] == "completed").await;
    let e = &done["energy_metrics"];
    assert_eq!((e["energy_source"].as_str(), e["status"].as_str()), (Some("none"), Some("no_data")), "{e}");
    assert_eq!((e["total_mwh"].clone(), e["latest_mwh"].clone()), (Value::Null, Value::Null));
    assert!(e["note"].as_str().unwrap().contains("budget of 1000 mWh cannot apply"), "{e}");

    // A restart comes back with the model.
    drop(agent);
    let agent = start_agent(&data, &no_sensor, &["--status-public"]);
    let (code, back) = call(&agent, "GET", "/status", None, None).await;
    assert_eq!(code, 200, "--status-public: no token needed for /status");
    assert_eq!((back["status"].as_str(), back["model_sha256"].as_str()), (Some("ready"), Some(sha.as_str())));
    let (code, _) = call(&agent, "POST", "/inference/stop", None, None).await;
    assert_eq!(code, 401, "commands still need the token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn measured_energy_stops_the_run_over_budget_and_telemetry_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::copy(common::fp32_model(), files.join("m.onnx")).unwrap();
    let server = file_server(files.clone()).await;
    let sensor = dir.path().join("sensor");
    let stop = Arc::new(AtomicBool::new(false));
    let rapl = common::moving_rapl(&sensor, 1000, Arc::clone(&stop));
    let data = dir.path().join("data");
    let agent = start_agent(
        &data,
        &sensor,
        &["--telemetry-interval-s", "0.1", "--telemetry-buffer", "3", "--max-model-mb", "1"],
    );

    // Larger than --max-model-mb.
    let body = json!({"model_name": "m", "model_url": format!("{server}/m.onnx"), "energy_budget_mwh": 0.05});
    let (code, reply) = deploy(&agent, body.clone()).await;
    assert_eq!((code, reply["code"].as_str()), (413, Some("too_large")), "{reply}");
    assert!(model_files(&data).is_empty());
    drop(agent);

    let agent = start_agent(&data, &sensor, &["--telemetry-interval-s", "0.1", "--telemetry-buffer", "3"]);
    // Without sha256 (a seed client), with a predicted energy the sensor overrides.
    let mut seed = body.clone();
    seed["predicted_energy_mwh"] = json!(1e-9);
    let (code, reply) = deploy(&agent, seed).await;
    assert_eq!(code, 200, "{reply}");
    let (code, _) =
        call(&agent, "POST", "/inference/start", Some(json!({"iterations": 100000})), Some(&bearer())).await;
    assert_eq!(code, 200);
    let over = wait_status(&agent, "the run to stop over budget", |v| v["run_ended"] == "over_budget").await;
    let e = &over["energy_metrics"];
    assert_eq!((e["energy_source"].as_str(), e["status"].as_str()), (Some("rapl"), Some("over_budget")), "{e}");
    assert!(e["total_mwh"].as_f64().unwrap() > 0.05, "{e}");
    assert!(e["latest_mwh"].as_f64().unwrap() > 0.0, "{e}");
    let done = over["iterations_done"].as_u64().unwrap();
    assert!(done > 0 && done < 100000, "{over}");
    assert_eq!((over["status"].as_str(), over["inference_active"].as_bool()), (Some("ready"), Some(false)));
    let history: Vec<f64> = e["history"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(history.len() as u64, done.min(40));
    let mean = history.iter().sum::<f64>() / history.len() as f64;
    assert!((e["avg_mwh"].as_f64().unwrap() - mean).abs() < 1e-12);

    // Standalone, telemetry is kept on disk, bounded: the oldest samples are dropped and counted.
    let full = wait_status(&agent, "a full telemetry buffer", |v| v["telemetry_dropped"].as_u64() > Some(0)).await;
    assert_eq!(full["telemetry_buffered"], 3);
    stop.store(true, Ordering::SeqCst);
    rapl.join().unwrap();
}

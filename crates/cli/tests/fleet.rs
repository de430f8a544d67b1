//! Issue 7's acceptance, with real processes on loopback: the controller (`infergate serve`)
//! and two agents (`infergate agent`), one with a fake RAPL power tree (measured energy), one
//! without a sensor (the predicted energy, labelled `estimate`).

mod common;

use common::Server;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Seconds between heartbeats and between telemetry samples, for agents and controller.
const TICK: &str = "0.3";

fn start_agent(controller: &str, id: &str, token: &str, data: &Path, sysfs: &Path) -> common::Agent {
    let mut cmd = common::infergate();
    cmd.args(["agent", "--controller", controller, "--token", token, "--device-id", id])
        .args(["--device-type", "jetson_nano", "--addr", "127.0.0.1:0", "--runtime", "tract"])
        .args(["--heartbeat-interval-s", TICK, "--telemetry-interval-s", TICK, "--data-dir"])
        .arg(data)
        .arg("--sysfs-root")
        .arg(sysfs);
    common::spawn_agent(cmd)
}

fn run(args: &[&str], data: &Path) -> Value {
    let out = common::infergate().arg("--data-dir").arg(data).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

async fn post_json(url: &str, body: Value) -> (u16, Value) {
    common::post(url, "application/json", body.to_string().into_bytes()).await
}

/// Polls `GET url` until `done` holds (or panics after `secs`), returning the last answer.
async fn wait_for(url: &str, secs: u64, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let (status, v) = common::get(url).await;
        if status == 200 && done(&v) {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}; last answer ({status}): {v:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn nano_files() -> Vec<PathBuf> {
    let nano = common::shared().join("data/edge/jetson_nano");
    [
        "dws__depthwise_sep_models.csv",
        "conv_layers_1_5__high_mac_model_info5.csv",
        "misc_conv_models__high_mac_model_info_1_10.csv",
    ]
    .iter()
    .map(|f| nano.join(f))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_and_two_agents() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("controller");
    common::add_catdog(&data);
    let mut train = vec!["energy", "train", "--device", "jetson_nano", "--no-evaluation", "--data"];
    let files = nano_files();
    train.extend(files.iter().map(|p| p.to_str().unwrap()));
    let out = common::infergate().arg("--data-dir").arg(&data).args(&train).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let a = run(&["devices", "add", "nano-a", "--type", "jetson_nano", "--json"], &data);
    let b = run(&["devices", "add", "nano-b", "--type", "jetson_nano", "--json"], &data);
    let env = [("INFERGATE_HEARTBEAT_INTERVAL_S", TICK)];
    let server = Server::start(&data, &[], &env);

    let sensor = dir.path().join("sensor-a");
    let stop = Arc::new(AtomicBool::new(false));
    let rapl = common::moving_rapl(&sensor, 0, Arc::clone(&stop));
    let no_sensor = dir.path().join("sensor-b");
    std::fs::create_dir_all(&no_sensor).unwrap();
    let agent_a = start_agent(&server.url, "nano-a", a["token"].as_str().unwrap(), &dir.path().join("a"), &sensor);
    let agent_b = start_agent(&server.url, "nano-b", b["token"].as_str().unwrap(), &dir.path().join("b"), &no_sensor);
    wait_for(&server.at("/v1/devices"), 60, "both agents online", |v| {
        v["devices"].as_array().is_some_and(|d| d.len() == 2 && d.iter().all(|d| d["online"] == true))
    })
    .await;

    // The controller's number is /v1/energy/predict's number.
    let (status, predicted) =
        post_json(&server.at("/v1/energy/predict"), json!({"device": "jetson_nano", "model": "mobilenet"})).await;
    assert_eq!(status, 200, "{predicted}");
    let energy = predicted["prediction"]["energy_mwh"].as_f64().unwrap();

    // Over budget: refused with the predicted value, nothing sent.
    let (status, refused) = post_json(
        &server.at("/v1/deployments"),
        json!({"device_id": "nano-a", "model": "mobilenet", "energy_budget_mwh": energy / 2.0}),
    )
    .await;
    assert_eq!((status, refused["code"].as_str()), (409, Some("over_budget")), "{refused}");
    assert_eq!(refused["prediction"]["predicted_energy_mwh"].as_f64(), Some(energy), "{refused}");

    // Within budget on both devices: the agents download, verify and load the model.
    // nano-a measures its energy (the fake counter: about 2 W) and gets a roomy budget; nano-b
    // estimates with the prediction and gets 1.5 predicted inferences' worth.
    for (device, budget) in [("nano-a", energy * 1000.0), ("nano-b", energy * 1.5)] {
        let body = json!({"device_id": device, "model": "mobilenet", "energy_budget_mwh": budget});
        let (status, created) = post_json(&server.at("/v1/deployments"), body).await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["deployment"]["state"], "pending");
        wait_for(&server.at(&format!("/v1/devices/{device}")), 120, "the model ready", |v| {
            v["last_status"]["status"] == "ready" && v["desired_deployment"]["state"] == "ready"
        })
        .await;
    }

    // A run on the measured device: telemetry with its energy arrives.
    let (status, _) = post_json(&server.at("/v1/devices/nano-a/inference/start"), json!({"iterations": 30})).await;
    assert_eq!(status, 200);
    let done = wait_for(&server.at("/v1/devices/nano-a"), 120, "nano-a's run to end", |v| {
        v["last_status"]["run_ended"] == "completed" && v["last_status"]["iterations_done"] == 30
    })
    .await;
    assert_eq!(done["last_status"]["energy_metrics"]["energy_source"], "rapl", "{done:#}");
    wait_for(&server.at("/v1/devices/nano-a/telemetry"), 30, "telemetry of the run", |v| {
        v["samples"].as_array().is_some_and(|s| s.iter().any(|s| s["sample"]["iterations"].as_u64() > Some(0)))
    })
    .await;

    // A budget of 1.5 predicted inferences on the device without a sensor: the estimate makes
    // the agent stop itself after the second inference.
    let (status, _) = post_json(&server.at("/v1/devices/nano-b/inference/start"), json!({"iterations": 1000})).await;
    assert_eq!(status, 200);
    let over = wait_for(&server.at("/v1/devices/nano-b"), 60, "nano-b over budget", |v| {
        v["last_status"]["run_ended"] == "over_budget"
    })
    .await;
    let metrics = &over["last_status"]["energy_metrics"];
    assert_eq!(
        (metrics["status"].as_str(), metrics["energy_source"].as_str()),
        (Some("over_budget"), Some("estimate"))
    );
    assert!(over["last_status"]["iterations_done"].as_u64().unwrap() < 1000, "{over:#}");

    // A corrupted artifact: version 2's file no longer matches its SHA-256; the agent refuses
    // it and keeps running version 1. (The flipped byte is inside the weights, so the model
    // still profiles and the deployment is accepted.)
    let out = common::add_model(
        &data,
        "mobilenet",
        &[
            "--file",
            common::fp32_model().to_str().unwrap(),
            "--labels",
            common::imagenet_labels().to_str().unwrap(),
            "--task",
            "cat-dog",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Version 2 is the same file, so it shares version 1's content-addressed artifact: the
    // agent has version 1 loaded already, and the controller now serves bytes that do not
    // match the SHA-256 it sends.
    let artifact = the_artifact(&data);
    let mut bytes = std::fs::read(&artifact).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0xff;
    std::fs::write(&artifact, bytes).unwrap();
    let body = json!({"device_id": "nano-a", "model": "mobilenet", "version": 2, "energy_budget_mwh": energy * 1000.0});
    let (status, created) = post_json(&server.at("/v1/deployments"), body).await;
    assert_eq!(status, 201, "{created}");
    let id = created["deployment"]["id"].as_str().unwrap().to_string();
    let failed = wait_for(&server.at("/v1/devices/nano-a"), 60, "the corrupted deployment to fail", |v| {
        v["last_status"]["last_deployment"]["deployment_id"] == id.as_str()
            && v["last_status"]["last_deployment"]["state"] == "failed"
    })
    .await;
    assert_eq!(
        (failed["last_status"]["model_version"].as_i64(), failed["last_status"]["status"].as_str()),
        (Some(1), Some("ready"))
    );
    let (_, deployments) = common::get(&server.at("/v1/deployments?device=nano-a")).await;
    let state = deployments["deployments"].as_array().unwrap().iter().find(|d| d["id"] == id.as_str()).unwrap()
        ["state"]
        .clone();
    assert_eq!(state, "failed", "{deployments:#}");

    // Wrong or missing device tokens: 401 at the controller and at the agent, nothing changes.
    let client = common::client();
    let token_a = a["token"].as_str().unwrap();
    let agent_status = || async {
        let r = client.get(format!("{}/status", agent_a.url)).bearer_auth(token_a).send().await.unwrap();
        assert_eq!(r.status(), 200);
        r.json::<Value>().await.unwrap()
    };
    let before = agent_status().await;
    for auth in [None, Some("Bearer igd_wrong")] {
        let mut req = client.post(server.at("/v1/agent/heartbeat")).header("x-device-id", "nano-a").json(&json!({}));
        let mut cmd = client.post(format!("{}/inference/start", agent_a.url)).json(&json!({"iterations": 5}));
        if let Some(a) = auth {
            req = req.header("authorization", a);
            cmd = cmd.header("authorization", a);
        }
        assert_eq!(req.send().await.unwrap().status(), 401);
        assert_eq!(cmd.send().await.unwrap().status(), 401);
    }
    let after = agent_status().await;
    assert_eq!((&before["inference_run"], &before["model_sha256"]), (&after["inference_run"], &after["model_sha256"]));
    assert_eq!(after["inference_active"], false);

    // The controller goes away while nano-a keeps sampling; after it is back, every sample is
    // there exactly once. (The 30 s at the default 5 s interval is 6 samples missed;
    // 3 s at this test's 0.3 s interval is 10.)
    let addr = server.url.trim_start_matches("http://").to_string();
    server.stop();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let server = Server::start_on(&addr, &data, &[], &env);
    let status = wait_for(&server.at("/v1/devices/nano-a"), 60, "the buffer flushed", |v| {
        v["online"] == true && v["last_status"]["telemetry_buffered"] == 0
    })
    .await;
    let (_, t) = common::get(&server.at("/v1/devices/nano-a/telemetry?limit=10000")).await;
    let mut seqs: Vec<i64> = t["samples"].as_array().unwrap().iter().map(|s| s["seq"].as_i64().unwrap()).collect();
    seqs.sort_unstable();
    let (first, last) = (seqs[0], *seqs.last().unwrap());
    assert_eq!(seqs, (first..=last).collect::<Vec<_>>(), "no gap, no duplicate: {seqs:?}");
    assert!(last - first >= 8, "samples taken while the controller was down are there: {seqs:?} {status:#}");
    assert_eq!(status["last_status"]["telemetry_dropped"], 0);

    stop.store(true, Ordering::SeqCst);
    rapl.join().unwrap();
    drop((agent_a, agent_b));
}

/// The one model file of the registry (content-addressed: every version of the same file
/// shares it).
fn the_artifact(data: &Path) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(data.join("models"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "onnx"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

//! The controller's HTTP API against the real server, the test speaking the agents' side of the
//! protocol (`infergate_core::fleet`) itself: device tokens, desired state, deployment reports,
//! telemetry stored once, artifacts with their SHA-256, the plan, the log's pages, bad input.

mod common;

use common::Server;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn cli(data: &std::path::Path, args: &[&str]) -> Value {
    let out = common::infergate().arg("--data-dir").arg(data).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// An agent's status document with the seed's fields, as `infergate agent` sends it.
fn status(deployment: Option<(&str, &str)>) -> Value {
    json!({
        "status": "ready", "model_name": null, "inference_active": false, "uptime_seconds": 3,
        "energy_metrics": {"budget_mwh": null, "latest_mwh": null, "avg_mwh": null, "status": "no_data", "history": [],
                           "total_mwh": null, "energy_source": null},
        "device_metrics": {"cpu_percent": 1.0, "memory_percent": 2.0, "disk_percent": 3.0, "temperature_c": null},
        "device_id": "d1", "device_type": "jetson_nano", "model_version": null, "deployment_id": null, "model_sha256": null,
        "last_deployment": deployment.map(|(id, state)| json!({"deployment_id": id, "model_name": "mobilenet", "state": state, "error": null})),
        "inference_run": 0, "iterations_done": 0, "run_ended": null, "telemetry_buffered": 0, "telemetry_dropped": 0,
    })
}

struct Device<'a> {
    server: &'a Server,
    id: &'static str,
    token: String,
}

impl Device<'_> {
    async fn call(&self, path: &str, body: Value) -> (u16, Value) {
        let r = common::client()
            .post(self.server.at(path))
            .bearer_auth(&self.token)
            .header("x-device-id", self.id)
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }
}

async fn post(server: &Server, path: &str, body: Value) -> (u16, Value) {
    common::post(&server.at(path), "application/json", body.to_string().into_bytes()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_api() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    common::add_catdog(data);
    let nano = common::shared().join("data/edge/jetson_nano");
    let file = nano.join("conv_layers_1_5__high_mac_model_info5.csv");
    cli(data, &["energy", "train", "--device", "jetson_nano", "--no-evaluation", "--data", file.to_str().unwrap()]);
    let d1 = cli(data, &["devices", "add", "d1", "--type", "jetson_nano", "--json"]);
    let d2 = cli(data, &["devices", "add", "d2", "--type", "jetson_nano", "--json"]);
    cli(data, &["devices", "add", "d3", "--type", "no_predictor_here", "--json"]);
    let server = Server::start(data, &[], &[]);
    let dev = Device { server: &server, id: "d1", token: d1["token"].as_str().unwrap().into() };

    // Heartbeats need the device's own token; d2's token is not d1's.
    let (code, desired) = dev.call("/v1/agent/heartbeat", json!({"agent_url": null, "status": status(None)})).await;
    assert_eq!(code, 200, "{desired}");
    assert_eq!((desired["deployment"].clone(), desired["inference"]["running"].clone()), (Value::Null, json!(false)));
    assert!(desired["heartbeat_interval_s"].as_f64().unwrap() > 0.0);
    let wrong = Device { server: &server, id: "d1", token: d2["token"].as_str().unwrap().into() };
    assert_eq!(wrong.call("/v1/agent/heartbeat", json!({"status": status(None)})).await.0, 401);
    let (_, devices) = common::get(&server.at("/v1/devices")).await;
    let online: Vec<(String, bool)> = devices["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["id"].as_str().unwrap().to_string(), d["online"].as_bool().unwrap()))
        .collect();
    assert_eq!(online, [("d1".into(), true), ("d2".into(), false), ("d3".into(), false)]);

    // The plan: d1 is the only online device; a tiny budget does not fit.
    let (code, plan) =
        post(&server, "/v1/deployments/plan", json!({"model": "mobilenet", "energy_budget_mwh": 1e9})).await;
    assert_eq!(code, 200, "{plan}");
    assert_eq!(plan["candidates"].as_array().unwrap().len(), 1);
    assert_eq!(
        (plan["candidates"][0]["device_id"].as_str(), plan["candidates"][0]["fits"].as_bool()),
        (Some("d1"), Some(true))
    );
    let (_, tight) =
        post(&server, "/v1/deployments/plan", json!({"model": "mobilenet", "energy_budget_mwh": 1e-12})).await;
    assert_eq!(tight["candidates"][0]["fits_energy"], false);

    // The router's edge platform: the same candidates, against the route's SLO.
    let route = json!({"arrival_rate": 0.05, "exec_ms": 50, "memory_mb": 256, "slo_ms": 1e9, "model": "mobilenet"});
    let (code, routed) = post(&server, "/v1/route", route).await;
    assert_eq!(code, 200, "{routed}");
    assert_eq!(routed["edge"]["candidates"][0]["device_id"], "d1", "{routed}");
    assert_eq!(routed["edge"]["candidates"][0]["fits_latency"], true);
    let (code, e) = post(&server, "/v1/route", json!({"arrival_rate": 0.05, "exec_ms": 50, "model": 7})).await;
    assert_eq!((code, e["field"].as_str()), (422, Some("model")));

    // Bad deployments change nothing.
    for (body, want) in [
        (json!({"device_id": "d1", "model": "mobilenet", "energy_budget_mwh": -1.0}), 422),
        (json!({"device_id": "d1", "model": "mobilenet"}), 422),
        (json!({"device_id": "nope", "model": "mobilenet", "energy_budget_mwh": 1.0}), 404),
        (json!({"device_id": "d1", "model": "nope", "energy_budget_mwh": 1.0}), 404),
        (json!({"device_id": "d3", "model": "mobilenet", "energy_budget_mwh": 1.0}), 409),
    ] {
        let (code, e) = post(&server, "/v1/deployments", body.clone()).await;
        assert_eq!(code, want, "{body} → {e}");
    }
    let (code, _) = common::post(&server.at("/v1/deployments"), "application/json", b"{nope".to_vec()).await;
    assert_eq!(code, 400);
    let (_, none) = common::get(&server.at("/v1/deployments")).await;
    assert_eq!(none["deployments"].as_array().unwrap().len(), 0, "{none}");

    // A deployment within budget: the next heartbeat carries it, the artifact matches its hash.
    let (code, created) =
        post(&server, "/v1/deployments", json!({"device_id": "d1", "model": "mobilenet", "energy_budget_mwh": 1e9}))
            .await;
    assert_eq!(code, 201, "{created}");
    let id = created["deployment"]["id"].as_str().unwrap().to_string();
    let (_, desired) = dev.call("/v1/agent/heartbeat", json!({"status": status(None)})).await;
    let deploy = &desired["deployment"];
    assert_eq!(
        (deploy["deployment_id"].as_str(), deploy["model_name"].as_str()),
        (Some(id.as_str()), Some("mobilenet"))
    );
    assert_eq!(deploy["predicted_energy_mwh"], created["prediction"]["predicted_energy_mwh"]);
    let url = deploy["model_url"].as_str().unwrap();
    assert!(url.ends_with("/v1/agent/artifacts/mobilenet/1"), "{url}");
    let r = common::client().get(url).bearer_auth(&dev.token).header("x-device-id", "d1").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let header = r.headers()["x-content-sha256"].to_str().unwrap().to_string();
    let bytes = r.bytes().await.unwrap();
    assert_eq!(hex::encode(Sha256::digest(&bytes)), header);
    assert_eq!(deploy["sha256"].as_str(), Some(header.as_str()));
    assert_eq!(common::client().get(url).send().await.unwrap().status(), 401);

    // The agent reports it ready; the log says so.
    let (code, _) = dev.call("/v1/agent/heartbeat", json!({"status": status(Some((&id, "ready")))})).await;
    assert_eq!(code, 200);
    let (_, one) = common::get(&server.at("/v1/devices/d1")).await;
    assert_eq!(one["desired_deployment"]["state"], "ready", "{one}");

    // Inference start/stop are desired state too.
    let (code, _) = post(&server, "/v1/devices/d1/inference/start", json!({"iterations": 0})).await;
    assert_eq!(code, 422);
    let (code, _) = post(&server, "/v1/devices/d1/inference/start", json!({"iterations": 10})).await;
    assert_eq!(code, 200);
    let (_, desired) = dev.call("/v1/agent/heartbeat", json!({"status": status(None)})).await;
    assert_eq!(desired["inference"], json!({"running": true, "run": 1, "iterations": 10}));

    // Telemetry: each (device, seq) once; bad samples refused whole.
    let sample =
        |seq: i64| json!({"seq": seq, "at": format!("2026-01-01T00:00:{seq:02}Z"), "sample": {"cpu_percent": seq}});
    let (code, ack) =
        dev.call("/v1/agent/telemetry", json!({"samples": [sample(1), sample(2), sample(3)], "dropped": 0})).await;
    assert_eq!((code, ack["stored"].as_u64()), (200, Some(3)), "{ack}");
    let (_, ack) =
        dev.call("/v1/agent/telemetry", json!({"samples": [sample(2), sample(3), sample(4)], "dropped": 0})).await;
    assert_eq!(ack["stored"], 1);
    for bad in [
        json!({"samples": [{"seq": 5, "at": "yesterday", "sample": {}}], "dropped": 0}),
        json!({"samples": [{"seq": -1, "at": "2026-01-01T00:00:00Z", "sample": {}}], "dropped": 0}),
        json!({"samples": 3}),
    ] {
        assert_eq!(dev.call("/v1/agent/telemetry", bad.clone()).await.0, 422, "{bad}");
    }
    let (_, t) = common::get(&server.at("/v1/devices/d1/telemetry?since=2026-01-01T00:00:02Z")).await;
    let seqs: Vec<i64> = t["samples"].as_array().unwrap().iter().map(|s| s["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, [2, 3, 4]);
    assert_eq!(common::get(&server.at("/v1/devices/d1/telemetry?since=never")).await.0, 400);
    assert_eq!(common::get(&server.at("/v1/devices/zz/telemetry")).await.0, 404);

    // A refusal is logged too; the log reads a page at a time.
    let (code, refused) =
        post(&server, "/v1/deployments", json!({"device_id": "d1", "model": "mobilenet", "energy_budget_mwh": 1e-12}))
            .await;
    assert_eq!((code, refused["code"].as_str()), (409, Some("over_budget")));
    let (_, page) = common::get(&server.at("/v1/deployments/log?device=d1&limit=2")).await;
    let events: Vec<&str> = page["events"].as_array().unwrap().iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["requested", "ready"]);
    let after = page["next_after"].as_i64().unwrap();
    let (_, rest) = common::get(&server.at(&format!("/v1/deployments/log?device=d1&limit=2&after={after}"))).await;
    assert_eq!(rest["events"][0]["event"], "refused", "{rest}");
    assert_eq!(common::get(&server.at("/v1/deployments/log?limit=0")).await.0, 400);

    // A revoked device can neither connect nor be deployed to.
    cli(data, &["devices", "revoke", "d1"]);
    assert_eq!(dev.call("/v1/agent/heartbeat", json!({"status": status(None)})).await.0, 401);
    let (code, e) =
        post(&server, "/v1/deployments", json!({"device_id": "d1", "model": "mobilenet", "energy_budget_mwh": 1e9}))
            .await;
    assert_eq!((code, e["code"].as_str()), (409, Some("device_revoked")));
}

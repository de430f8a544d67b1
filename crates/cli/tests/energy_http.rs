//! The energy endpoints against the real server: `POST /api/predict-energy` (the seed's
//! request and response), `POST /v1/energy/predict` (a registered model or raw features, one
//! device or every one), `GET /v1/energy/devices`; predictors trained on the shared Jetson Nano
//! files (through the binary, and in the test for the seed's reduced schema), a prior-only
//! device, an unknown one, bad requests, a corrupt file, and retraining picked up without a
//! restart.

mod common;

use common::*;
use infergate_energy::device::{predictor_path, prior_path, PriorFile, PRIOR_FORMAT};
use infergate_energy::{EnergyPredictor, Features, Measurement, Mode};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn nano(file: &str) -> PathBuf {
    shared().join("data/edge/jetson_nano").join(file)
}

const SMALL: [&str; 2] = ["conv_layers_1_5__high_mac_model_info5.csv", "conv_layers_6_10__high_mac_model_info6.csv"];
const OTHER: &str = "misc_conv_models__high_mac_model_info_1_10.csv";

/// `infergate energy train --device DEVICE --data FILES… --no-evaluation` into `data_dir`.
fn train(data_dir: &Path, device: &str, files: &[&str]) {
    let out = infergate()
        .args(["energy", "train", "--no-evaluation", "--device", device, "--data-dir"])
        .arg(data_dir)
        .arg("--data")
        .args(files.iter().map(|f| nano(f)))
        .output()
        .unwrap();
    assert!(out.status.success(), "energy train failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// The seed's schema has MACs and parameters only: a with-latency predictor trained on the
/// Jetson rows reduced to them, as the seed's `jetson_nano_2gb`.
fn train_seed_schema(energy_dir: &Path) {
    let files: Vec<PathBuf> = SMALL.iter().map(|f| nano(f)).collect();
    let (rows, _) = infergate_energy::read_files(&files, "jetson_nano_2gb").unwrap();
    let rows: Vec<Measurement> = rows
        .into_iter()
        .map(|mut m| {
            m.features = Features { macs: m.features.macs, params: m.features.params, ..no_structure() };
            m
        })
        .collect();
    let refs: Vec<&Measurement> = rows.iter().collect();
    let p = EnergyPredictor::train("jetson_nano_2gb", Mode::WithLatency, &refs, &Default::default(), "test").unwrap();
    assert_eq!(p.features, ["ln_macs", "ln_params", "ln_latency_ms"]);
    p.save(&predictor_path(energy_dir, "jetson_nano_2gb"), json!({})).unwrap();
}

fn no_structure() -> Features {
    Features {
        macs: 1.0,
        params: 1.0,
        layers: None,
        input_size: None,
        filters_max: None,
        kernel_mean: None,
        kernel_max: None,
        depthwise: None,
    }
}

fn seed_request() -> Value {
    json!({"device_type": "jetson_nano_2gb", "model_name": "mobilenetv3_small_075", "params_m": 2.04,
           "gflops": 0.087, "gmacs": 0.044, "size_mb": 8.5, "latency_avg_s": 0.012,
           "throughput_iter_per_s": 83.3})
}

async fn post_json(server: &Server, path: &str, body: &Value) -> (u16, Value) {
    post(&server.at(path), "application/json", body.to_string().into_bytes()).await
}

/// Every file under the energy directory with its bytes.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<_> = walk(dir).into_iter().map(|p| (p.clone(), std::fs::read(&p).unwrap())).collect();
    files.sort();
    files
}

fn close(a: &Value, b: &Value, what: &str) {
    let (x, y) = (a.as_f64().unwrap_or(f64::NAN), b.as_f64().unwrap_or(f64::NAN));
    assert!((x - y).abs() <= 1e-9 * x.abs().max(y.abs()), "{what}: {a} vs {b}");
}

#[tokio::test]
async fn energy_predictions_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let energy = dir.path().join("energy");
    add_catdog(dir.path());
    train(dir.path(), "jetson_nano", &SMALL);
    train_seed_schema(&energy);
    let nano_predictor = EnergyPredictor::load(&predictor_path(&energy, "jetson_nano")).unwrap();
    let prior = PriorFile {
        format: PRIOR_FORMAT.into(),
        prior: nano_predictor.prior.calibrated("rpi5", &[]),
        thresholds: Some(nano_predictor.thresholds.clone()),
        base: Some("jetson_nano".into()),
        calibrated_at: "test".into(),
    };
    prior.save(&prior_path(&energy, "rpi5")).unwrap();
    let server = Server::start(dir.path(), &[], &[]);

    // The seed's request and response.
    let (s, v) = post_json(&server, "/api/predict-energy", &seed_request()).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["success"], true);
    let d = &v["data"];
    let (e, lo, hi) = (
        d["predicted_energy_mwh"].as_f64().unwrap(),
        d["confidence_interval_lower"].as_f64().unwrap(),
        d["confidence_interval_upper"].as_f64().unwrap(),
    );
    assert!(e > 0.0 && lo <= e && e <= hi && lo < hi, "{v}");
    assert!(["EXCELLENT", "GOOD", "HIGH"].contains(&d["category"].as_str().unwrap()), "{v}");
    assert_eq!((d["source"].as_str(), d["coverage"].as_f64()), (Some("model"), Some(0.9)), "{v}");
    // With latency, energy is the predicted power × the latency given: 12 ms.
    assert_eq!(d["predicted_latency_ms"].as_f64(), Some(12.0), "{v}");
    assert_eq!(d["model_name"], "mobilenetv3_small_075");
    // gflops alone gives the same MACs as gmacs = gflops / 2.
    let mut halved = seed_request();
    halved["gmacs"] = json!(0.087 / 2.0);
    let mut flops_only = seed_request();
    flops_only.as_object_mut().unwrap().remove("gmacs");
    let (_, a) = post_json(&server, "/api/predict-energy", &halved).await;
    let (s, b) = post_json(&server, "/api/predict-energy", &flops_only).await;
    assert_eq!(s, 200, "{b}");
    close(&a["data"]["predicted_energy_mwh"], &b["data"]["predicted_energy_mwh"], "gflops / 2");

    // A registered model, profiled by the server, equals its raw features.
    let profile = infergate_profile::profile_file(&fp32_model()).unwrap();
    let features = Features::from_profile(&profile);
    let (s, by_name) =
        post_json(&server, "/v1/energy/predict", &json!({"device": "jetson_nano", "model": "mobilenet"})).await;
    assert_eq!(s, 200, "{by_name}");
    let (s, by_features) =
        post_json(&server, "/v1/energy/predict", &json!({"device": "jetson_nano", "features": features})).await;
    assert_eq!(s, 200, "{by_features}");
    assert_eq!(by_name["source"], "model");
    assert_eq!(by_name["model"]["name"], "mobilenet");
    assert_eq!(by_name["model"]["version"], 1);
    assert_eq!(by_name["model"]["profile"]["macs"], profile.macs);
    assert_eq!(by_name["features"], serde_json::to_value(features).unwrap());
    for k in
        ["energy_mwh", "energy_lower_mwh", "energy_upper_mwh", "latency_ms", "latency_lower_ms", "latency_upper_ms"]
    {
        close(&by_name["prediction"][k], &by_features["prediction"][k], k);
    }
    assert_eq!(by_name["prediction"]["category"], by_features["prediction"]["category"]);
    let p = &by_name["prediction"];
    assert!(p["energy_lower_mwh"].as_f64() <= p["energy_mwh"].as_f64(), "{p}");
    assert!(p["energy_mwh"].as_f64() <= p["energy_upper_mwh"].as_f64(), "{p}");
    // The same answer as the library's.
    let local = nano_predictor.predict(&features, None).unwrap();
    close(&p["energy_mwh"], &json!(local.energy_mwh), "library");

    // A device with only a prior: labelled, no interval.
    let (s, v) = post_json(&server, "/v1/energy/predict", &json!({"device": "rpi5", "model": "mobilenet"})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["source"], "prior");
    assert_eq!(v["prediction"]["source"], "prior");
    assert_eq!(v["prediction"]["coverage"], Value::Null);
    assert_eq!(v["prediction"]["energy_lower_mwh"], v["prediction"]["energy_mwh"]);
    let mut seed_prior = seed_request();
    seed_prior["device_type"] = json!("rpi5");
    let (s, v) = post_json(&server, "/api/predict-energy", &seed_prior).await;
    assert_eq!((s, &v["data"]["source"]), (200, &json!("prior")), "{v}");

    // Every device at once (the with-latency one needs latency_ms).
    let (s, v) = post_json(&server, "/v1/energy/predict", &json!({"model": "mobilenet", "latency_ms": 30})).await;
    assert_eq!(s, 200, "{v}");
    let answered: Vec<(&str, &str)> = v["predictions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["device"].as_str().unwrap(), p["source"].as_str().unwrap_or("error")))
        .collect();
    assert_eq!(answered, [("jetson_nano", "model"), ("jetson_nano_2gb", "model"), ("rpi5", "prior")], "{v}");
    let (s, v) = post_json(
        &server,
        "/v1/energy/predict",
        &json!({"devices": ["jetson_nano_2gb", "nowhere"], "model": "mobilenet"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["predictions"][0]["field"], "latency_ms", "{v}");
    assert_eq!(v["predictions"][1]["code"], "unknown_device", "{v}");

    // The devices.
    let (s, v) = get(&server.at("/v1/energy/devices")).await;
    assert_eq!(s, 200, "{v}");
    let listed: Vec<(&str, &str, &str)> = v["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["device"].as_str().unwrap(), d["kind"].as_str().unwrap(), d["mode"].as_str().unwrap()))
        .collect();
    assert_eq!(
        listed,
        [
            ("jetson_nano", "model", "structure"),
            ("jetson_nano_2gb", "model", "with_latency"),
            ("rpi5", "prior", "prior")
        ]
    );
    assert_eq!(v["devices"][0]["rows"], nano_predictor.rows);
    assert!(v["devices"][0]["thresholds"]["excellent_max_mwh"].as_f64().unwrap() > 0.0, "{v}");

    // Unknown device, unknown model, bad requests: the right status, the field named, nothing changed.
    let before = snapshot(&energy);
    let mut unknown = seed_request();
    unknown["device_type"] = json!("raspberry_pi_9");
    let (s, v) = post_json(&server, "/api/predict-energy", &unknown).await;
    assert_eq!((s, &v["success"], &v["code"]), (404, &json!(false), &json!("unknown_device")), "{v}");
    assert!(v["error"].as_str().unwrap().contains("infergate energy train --device raspberry_pi_9"), "{v}");
    let (s, v) = post_json(
        &server,
        "/v1/energy/predict",
        &json!({"device": "nowhere", "features": {"macs": 1e8, "params": 1e6}}),
    )
    .await;
    assert_eq!((s, &v["code"]), (404, &json!("unknown_device")), "{v}");
    let (s, v) = post_json(&server, "/v1/energy/predict", &json!({"device": "jetson_nano", "model": "resnet"})).await;
    assert_eq!((s, &v["code"]), (404, &json!("unknown_model")), "{v}");
    for (change, field) in [
        (json!({"params_m": -2.04}), "params_m"),
        (json!({"gmacs": "NaN"}), "gmacs"),
        (json!({"gmacs": null, "gflops": null}), "gmacs"),
        (json!({"latency_avg_s": null}), "latency_avg_s"), // the predictor was trained with latency
        (json!({"device_type": "../../etc/passwd"}), "device_type"),
        (json!({"size_mb": 0}), "size_mb"),
    ] {
        let mut body = seed_request();
        for (k, x) in change.as_object().unwrap() {
            body[k] = x.clone();
        }
        let (s, v) = post_json(&server, "/api/predict-energy", &body).await;
        assert_eq!((s, v["field"].as_str(), &v["success"]), (422, Some(field), &json!(false)), "{change} → {v}");
        assert_eq!(v["code"], "invalid_field");
    }
    let raw = |features: Value| json!({"device": "jetson_nano", "features": features});
    for (body, field) in [
        (raw(json!({"macs": -3e8, "params": 3.5e6})), "features.macs"),
        (raw(json!({"macs": 3e8})), "features.params"),
        (raw(json!({"macs": 3e8, "params": "NaN"})), "features.params"),
        (raw(json!({"macs": 3e8, "params": 3.5e6})), "features.layers"), // the predictor needs the structure
        (json!({"device": "jetson_nano"}), "model"),
        (json!({"device": "jetson_nano", "model": "mobilenet", "input_shape": [1, 3, 0, 224]}), "input_shape"),
    ] {
        let (s, v) = post_json(&server, "/v1/energy/predict", &body).await;
        assert_eq!((s, v["field"].as_str()), (422, Some(field)), "{body} → {v}");
    }
    for path in ["/api/predict-energy", "/v1/energy/predict"] {
        let (s, v) = post(&server.at(path), "application/json", b"{\"params_m\": NaN".to_vec()).await;
        assert_eq!((s, &v["code"]), (400, &json!("bad_json")), "{path}: {v}");
    }
    assert_eq!(snapshot(&energy), before, "a refused request changed nothing");

    // A corrupt predictor is the operator's problem: 503 naming the file, listed with its error.
    std::fs::write(predictor_path(&energy, "broken"), b"{\"format\": \"something else\"}").unwrap();
    let (s, v) = post_json(&server, "/v1/energy/predict", &json!({"device": "broken", "model": "mobilenet"})).await;
    assert_eq!((s, &v["code"]), (503, &json!("energy_model_invalid")), "{v}");
    assert!(v["error"].as_str().unwrap().contains("broken.json"), "{v}");
    let (_, v) = get(&server.at("/v1/energy/devices")).await;
    assert_eq!(v["devices"][0]["device"], "broken");
    assert_eq!(v["devices"][0]["code"], "energy_model_invalid");

    // Retraining on other measurements is picked up by the running server.
    train(dir.path(), "jetson_nano", &[OTHER]);
    let retrained = EnergyPredictor::load(&predictor_path(&energy, "jetson_nano")).unwrap();
    assert_ne!(retrained.rows, nano_predictor.rows);
    let expected = retrained.predict(&features, None).unwrap().energy_mwh;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (s, v) =
            post_json(&server, "/v1/energy/predict", &json!({"device": "jetson_nano", "model": "mobilenet"})).await;
        assert_eq!(s, 200, "{v}");
        let now = v["prediction"]["energy_mwh"].as_f64().unwrap();
        if (now - expected).abs() <= 1e-9 * expected {
            break;
        }
        assert!(Instant::now() < deadline, "the retrained predictor was not picked up: {now} vs {expected}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, v) = get(&server.at("/v1/energy/devices")).await;
    let nano_listed = v["devices"].as_array().unwrap().iter().find(|d| d["device"] == "jetson_nano").unwrap().clone();
    assert_eq!(nano_listed["rows"], retrained.rows, "{v}");
    server.stop();
}

#[tokio::test]
async fn energy_endpoints_need_a_client_key_with_auth_on() {
    let dir = tempfile::tempdir().unwrap();
    let (server, admin) = Server::start_with_auth(dir.path(), &[], &[]);
    let url = server.at("/api/predict-energy");
    let resp = client().post(&url).json(&seed_request()).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let resp = client().post(&url).bearer_auth(&admin).json(&seed_request()).send().await.unwrap();
    let status = resp.status().as_u16();
    let v: Value = resp.json().await.unwrap();
    assert_eq!((status, &v["code"], &v["success"]), (404, &json!("unknown_device"), &json!(false)), "{v}");
    let resp = client().get(server.at("/v1/energy/devices")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap(), json!({"devices": []}));
}

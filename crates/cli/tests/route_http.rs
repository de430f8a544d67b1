//! The router over HTTP against the real server: `POST /v1/route` prices each platform and
//! decides; `POST /predict` keeps the seed's contract; bad input is a 422 naming the field.

mod common;

use common::{post, Server};
use serde_json::{json, Value};

async fn route(server: &Server, body: Value) -> (u16, Value) {
    post(&server.at("/v1/route"), "application/json", body.to_string().into_bytes()).await
}

#[tokio::test]
async fn route_prices_each_platform_and_picks_the_cheapest_that_meets_the_slo() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[], &[]);
    // A trickle: one request every ~20 s. Keeping a container up all hour for it costs more
    // than paying Lambda per request.
    let (status, quiet) =
        route(&server, json!({"arrival_rate": 0.05, "exec_ms": 50, "memory_mb": 256, "slo_ms": 2000})).await;
    assert_eq!(status, 200, "{quiet}");
    assert_eq!(quiet["platform"], "lambda", "{quiet}");
    assert_eq!(quiet["tasks"], 0);
    assert_eq!(quiet["lambda_share"], 1.0);
    for p in ["lambda", "ecs", "chosen"] {
        for k in ["p50_ms", "p95_ms", "cost_usd_per_hour", "cost_usd_per_1000", "meets_slo", "tasks"] {
            assert!(!quiet["platforms"][p][k].is_null(), "platforms.{p}.{k} in {quiet}");
        }
    }
    assert!(quiet["reason"].as_str().unwrap().contains("Lambda"), "{quiet}");
    assert!(
        quiet["platforms"]["lambda"]["cost_usd_per_hour"].as_f64()
            < quiet["platforms"]["ecs"]["cost_usd_per_hour"].as_f64()
    );

    // Steady heavy traffic: 40 requests/s of 200 ms. Always-on tasks are far cheaper than
    // paying Lambda's GB-seconds for every request.
    let busy =
        json!({"arrival_rate": 40, "exec_ms": {"dist": "lognormal", "median": 200, "sigma": 0.3}, "memory_mb": 1024});
    let (status, answer) = route(&server, busy.clone()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["platform"], "ecs", "{answer}");
    assert!(answer["tasks"].as_u64().unwrap() >= 1);
    assert!(answer["platforms"]["chosen"]["meets_slo"].as_bool().unwrap(), "{answer}");
    assert!(
        answer["platforms"]["chosen"]["cost_usd_per_hour"].as_f64()
            < answer["platforms"]["lambda"]["cost_usd_per_hour"].as_f64()
    );
    assert_eq!(route(&server, busy).await.1, answer, "the same request gets the same answer");
    server.stop();
}

#[tokio::test]
async fn bad_router_input_is_a_422_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[], &[]);
    let cases = [
        (json!({"exec_ms": 50}), "arrival_rate"),
        (json!({"arrival_rate": 1}), "exec_ms"),
        (json!({"arrival_rate": -1, "exec_ms": 50}), "arrival_rate"),
        (json!({"arrival_rate": 1, "exec_ms": -5}), "exec_ms"),
        (json!({"arrival_rate": 1, "exec_ms": {"dist": "zipf"}}), "exec_ms"),
        (json!({"arrival_rate": 1, "exec_ms": 5, "memory_mb": 64}), "memory_mb"),
        (json!({"arrival_rate": 1, "exec_ms": 5, "workload_type": "quantum"}), "workload_type"),
        (json!({"arrival_rate": "fast", "exec_ms": 5}), "arrival_rate"),
        (json!([1, 2]), "body"),
    ];
    for (body, field) in cases {
        let (status, err) = route(&server, body.clone()).await;
        assert_eq!(status, 422, "{body} → {err}");
        assert_eq!(err["code"], "invalid_field");
        assert_eq!(err["field"], field, "{body} → {err}");
        assert!(err["error"].as_str().unwrap().contains(field));
    }
    let seed_cases = [
        (json!({"payload_size_kb": 5.0, "time_window": "midday", "load_pattern": "medium_load"}), "workload_type"),
        (
            json!({"workload_type": "lightweight_api", "payload_size_kb": -5.0, "time_window": "midday", "load_pattern": "medium_load"}),
            "payload_size_kb",
        ),
        (
            json!({"workload_type": "lightweight_api", "payload_size_kb": 5.0, "time_window": "teatime", "load_pattern": "medium_load"}),
            "time_window",
        ),
        (json!({"workload_type": "lightweight_api", "payload_size_kb": 5.0, "time_window": "midday"}), "load_pattern"),
    ];
    for (body, field) in seed_cases {
        let (status, err) = post(&server.at("/predict"), "application/json", body.to_string().into_bytes()).await;
        assert_eq!(status, 422, "{body} → {err}");
        assert_eq!(err["field"], field, "{body} → {err}");
    }
    let (status, err) = post(&server.at("/v1/route"), "application/json", b"{not json".to_vec()).await;
    assert_eq!((status, err["code"].as_str()), (400, Some("bad_json")));
    // Without a trained router model, /predict says how to get one.
    let ok = json!({"workload_type": "lightweight_api", "payload_size_kb": 5.0, "time_window": "midday", "load_pattern": "medium_load"});
    let (status, err) = post(&server.at("/predict"), "application/json", ok.to_string().into_bytes()).await;
    assert_eq!(status, 503, "{err}");
    assert_eq!(err["code"], "router_not_trained");
    assert!(err["error"].as_str().unwrap().contains("infergate route train"), "{err}");
    server.stop();
}

/// The seed's two example requests (router-deployment-summary.md, test cases 1 and 2), after
/// `route simulate` + `route train` on the Azure 2019 sample: the seed's response shape, and
/// `route evaluate` then has a classifier row with its confusion matrix and importance charts.
#[tokio::test]
async fn predict_answers_the_seeds_examples_in_the_seeds_shape() {
    let dir = tempfile::tempdir().unwrap();
    let traces = common::shared().join("data/traces");
    let trace_args = |cmd: &mut std::process::Command| {
        cmd.arg("--trace")
            .arg(traces.join("azure2019_invocations_per_minute.csv"))
            .arg("--durations")
            .arg(traces.join("azure2019_durations.csv"))
            .arg("--memory")
            .arg(traces.join("azure2019_memory.csv"));
    };
    let dataset = dir.path().join("dataset.csv");
    let mut simulate = common::infergate();
    simulate.args(["route", "simulate", "--out"]).arg(&dataset);
    trace_args(&mut simulate);
    let out = simulate.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = common::infergate()
        .args(["route", "train", "--data"])
        .arg(&dataset)
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for learner in ["gbt", "forest", "logistic"] {
        assert!(text.contains(learner), "every learner is compared: {text}");
    }
    assert!(text.contains("chosen:") && text.contains("regressor lambda_p95_ms"), "{text}");
    assert!(dir.path().join("route/router.json").exists());
    let regressor: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("route/regressors/ecs_cost_usd.json")).unwrap()).unwrap();
    assert_eq!(regressor["target"], "ln(ecs_cost_usd)", "costs are learned on a log scale");
    assert!(regressor["metrics"]["test"]["mape"].as_f64().is_some(), "{}", regressor["metrics"]);

    let server = Server::start(dir.path(), &[], &[]);
    let examples = [
        json!({"workload_type": "lightweight_api", "payload_size_kb": 5.0, "time_window": "midday", "load_pattern": "medium_load"}),
        json!({"workload_type": "heavy_processing", "payload_size_kb": 5120.0, "time_window": "evening", "load_pattern": "burst_load"}),
    ];
    for example in examples {
        let (status, answer) = post(&server.at("/predict"), "application/json", example.to_string().into_bytes()).await;
        assert_eq!(status, 200, "{answer}");
        let keys = |v: &Value| -> Vec<String> {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        assert_eq!(keys(&answer), ["metrics", "model_info", "prediction", "request_context"]);
        assert_eq!(keys(&answer["prediction"]), ["confidence", "ecs_probability", "lambda_probability", "platform"]);
        assert_eq!(keys(&answer["metrics"]), ["inference_cost_usd", "inference_time_ms", "timestamp"]);
        assert_eq!(keys(&answer["model_info"]), ["model_type", "test_accuracy", "training_date"]);
        assert_eq!(answer["request_context"], example, "the request comes back as sent");
        let p = &answer["prediction"];
        let (l, e) = (p["lambda_probability"].as_f64().unwrap(), p["ecs_probability"].as_f64().unwrap());
        assert!((l + e - 1.0).abs() < 1e-9 && (0.0..=1.0).contains(&l));
        assert_eq!(p["confidence"].as_f64().unwrap(), l.max(e));
        assert_eq!(p["platform"], if l >= 0.5 { "lambda" } else { "ecs" });
        let accuracy = answer["model_info"]["test_accuracy"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&accuracy));
        assert!(answer["metrics"]["inference_time_ms"].as_f64().unwrap() >= 0.0);
        assert!(answer["metrics"]["timestamp"].as_str().unwrap().ends_with('Z'));
    }
    server.stop();

    let report = dir.path().join("report");
    let mut evaluate = common::infergate();
    evaluate
        .args(["route", "evaluate", "--json", "--limit", "40", "--data-dir"])
        .arg(dir.path())
        .arg("--out")
        .arg(&report);
    trace_args(&mut evaluate);
    let out = evaluate.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = doc["strategies"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["lambda_only", "ecs_only", "classifier", "policy", "oracle"]);
    for chart in ["confusion", "feature_importance"] {
        assert!(
            report.join(format!("{chart}.svg")).exists() && report.join(format!("{chart}.png")).exists(),
            "{chart}"
        );
    }
}

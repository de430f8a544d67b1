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

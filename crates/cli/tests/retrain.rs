//! `infergate route retrain` against a running server with real worker processes: traffic on
//! both platforms is recorded, the router is trained on what was measured, and the server's
//! `/predict` answers with the new model — and with the next one — without a restart.

mod common;

use common::{client, get, post, Server};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

/// Two functions whose measured costs disagree: `trickle` (128 MB, 2 ms) costs Lambda a few
/// hundred-millionths of a dollar per request, far less than a task for the window; `heavy`
/// (10 GB, 50 ms) costs Lambda more per window than the task. Both meet the generous SLO on
/// either platform, so the measured cost decides each window's label.
const FUNCTIONS: &str = r#"
[[functions]]
name = "trickle"
memory_mb = 128
slo_ms = 10000
handler = { kind = "sleep-cpu", exec_ms = { dist = "constant", value = 2 } }
lambda = { backend = "local-function", keep_alive_s = 60.0 }
ecs = { backend = "local-container", tasks = 1 }

[[functions]]
name = "heavy"
memory_mb = 10240
slo_ms = 10000
handler = { kind = "sleep-cpu", exec_ms = { dist = "constant", value = 50 } }
lambda = { backend = "local-function", keep_alive_s = 60.0 }
ecs = { backend = "local-container", tasks = 1 }
"#;

/// Sends, every 250 ms for `seconds`, one request per function and platform (payloads of
/// 1 KB for `trickle`, 30 KB for `heavy`, so the seed's `payload_size_kb` tells them apart);
/// returns how many were sent. Every one must succeed on the platform asked for.
async fn traffic(server: &Server, seconds: f64) -> usize {
    let c = client();
    let start = Instant::now();
    let mut sent = 0;
    while start.elapsed().as_secs_f64() < seconds {
        let tick = Instant::now();
        let calls = [
            ("trickle", "lambda", 1024),
            ("trickle", "ecs", 1024),
            ("heavy", "lambda", 30_720),
            ("heavy", "ecs", 30_720),
        ]
        .map(|(f, mode, size)| {
            let request = c.post(server.at(&format!("/v1/invoke/{f}?mode={mode}"))).body(vec![b'x'; size]);
            async move {
                let r = request.send().await.unwrap();
                let routed = r.headers().get("x-routed-to").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                let status = r.status().as_u16();
                assert_eq!((status, routed.as_str()), (200, mode), "{f}: {}", r.text().await.unwrap());
            }
        });
        futures::future::join_all(calls).await;
        sent += 4;
        tokio::time::sleep(Duration::from_millis(250).saturating_sub(tick.elapsed())).await;
    }
    sent
}

/// Waits until the store holds `n` invocations (the recorder writes in batches).
async fn recorded(server: &Server, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut total = 0;
        for f in ["trickle", "heavy"] {
            let (_, v) = get(&server.at(&format!("/v1/invocations?function={f}&limit=1000"))).await;
            total += v["invocations"].as_array().map_or(0, Vec::len);
        }
        if total >= n {
            return;
        }
        assert!(Instant::now() < deadline, "only {total} of {n} invocations recorded");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn retrain(dir: &Path, config: &Path, extra: &[&str]) -> (bool, String) {
    let out = common::infergate()
        .args(["route", "retrain", "--window-s", "2", "--min-requests", "3", "--folds", "2"])
        .args(["--learners", "logistic,forest", "--test-fraction", "0.3", "--config"])
        .arg(config)
        .arg("--data-dir")
        .arg(dir)
        .args(extra)
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

async fn predict(server: &Server) -> (u16, Value) {
    let body = json!({"workload_type": "lightweight_api", "payload_size_kb": 30.0, "time_window": "midday", "load_pattern": "medium_load"});
    post(&server.at("/predict"), "application/json", body.to_string().into_bytes()).await
}

/// `/predict`'s model_info once it differs from `before` (the server looks at the file at most
/// once a second).
async fn model_info_after(server: &Server, before: &Value) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, answer) = predict(server).await;
        if status == 200 && &answer["model_info"] != before {
            return answer["model_info"].clone();
        }
        assert!(Instant::now() < deadline, "the server still answers {status} {answer}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retrain_learns_from_recorded_invocations_and_the_server_swaps_the_model_in() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("functions.toml");
    std::fs::write(&config, FUNCTIONS).unwrap();
    let server = Server::start(dir.path(), &["--config", config.to_str().unwrap()], &[]);
    let (status, answer) = predict(&server).await;
    assert_eq!((status, answer["code"].as_str()), (503, Some("router_not_trained")), "{answer}");

    // Nothing recorded yet: retrain says what to do instead of training on nothing.
    let (ok, text) = retrain(dir.path(), &config, &[]);
    assert!(!ok && text.contains("no window saw both platforms"), "{text}");

    let sent = traffic(&server, 6.5).await;
    recorded(&server, sent).await;
    let (ok, text) = retrain(dir.path(), &config, &[]);
    assert!(ok, "{text}");
    println!("{text}");
    assert!(text.contains("trickle: ") && text.contains("heavy: ") && text.contains("chosen:"), "{text}");

    // The dataset: rows of measured windows, labelled by what each platform cost there.
    let mut reader = csv::Reader::from_path(dir.path().join("route/retrain-dataset.csv")).unwrap();
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (mut trickle, mut heavy) = (0, 0);
    for record in reader.records() {
        let r = record.unwrap();
        let Ok(label) = r[col("label_objective")].parse::<u8>() else { continue };
        match &r[col("function")] {
            "trickle" => {
                assert_eq!(label, 1, "Lambda is the cheaper for 2 ms at 128 MB: {r:?}");
                trickle += 1;
            }
            "heavy" => {
                assert_eq!(label, 0, "a task is the cheaper for 50 ms at 10 GB: {r:?}");
                heavy += 1;
            }
            other => panic!("unexpected function {other}"),
        }
    }
    assert!(trickle >= 2 && heavy >= 2, "labelled windows: trickle {trickle}, heavy {heavy}\n{text}");

    // The running server now answers with the model trained on measurements…
    let first = model_info_after(&server, &Value::Null).await;
    let artifact: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("route/router.json")).unwrap()).unwrap();
    assert_eq!(artifact["metrics"]["provenance"]["source"], "measured invocations", "{}", artifact["metrics"]);
    assert!(dir.path().join("route/regressors/lambda_p95_ms.json").exists(), "{text}");

    // …and after more traffic and another retrain, with the newer one, still without a restart.
    tokio::time::sleep(Duration::from_millis(1100)).await; // a new training_date (seconds)
    let more = traffic(&server, 2.5).await;
    recorded(&server, sent + more).await;
    let (ok, text) = retrain(dir.path(), &config, &[]);
    assert!(ok, "{text}");
    let second = model_info_after(&server, &first).await;
    assert_ne!(first["training_date"], second["training_date"]);

    // Bad arguments change nothing and say what is wrong.
    let before = std::fs::read(dir.path().join("route/router.json")).unwrap();
    for (args, says) in [
        (vec!["--function", "nope"], "not configured"),
        (vec!["--since", "yesterday"], "RFC 3339"),
        (vec!["--base", "/nonexistent/dataset.csv"], "cannot read"),
    ] {
        let (ok, text) = retrain(dir.path(), &config, &args);
        assert!(!ok && text.contains(says), "{args:?}: {text}");
    }
    let (ok, text) = retrain(dir.path(), &config, &["--since", "2100-01-01T00:00:00Z"]);
    assert!(!ok && text.contains("no window saw both platforms"), "{text}");
    assert_eq!(std::fs::read(dir.path().join("route/router.json")).unwrap(), before, "the model is unchanged");
    server.stop();
}

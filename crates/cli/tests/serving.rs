//! Serving semantics through the real server: cold start then warm, `models warm`, dynamic
//! batching giving the same answers as one request at a time, and a bounded queue.

mod common;

use common::*;
use std::path::PathBuf;

/// `n` distinct photos from the cats/dogs test set (half cats, half dogs).
fn test_photos(n: usize) -> Vec<Vec<u8>> {
    let list = |class: &str| {
        let mut files: Vec<PathBuf> = std::fs::read_dir(shared().join("data/catsdogs/test").join(class))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files
    };
    let (cats, dogs) = (list("cat"), list("dog"));
    cats.iter().zip(&dogs).flat_map(|(c, d)| [c, d]).take(n).map(|f| std::fs::read(f).unwrap()).collect()
}

async fn classify(url: &str, body: Vec<u8>) -> (u16, serde_json::Value, reqwest::header::HeaderMap) {
    let resp = client().post(url).header("content-type", "image/jpeg").body(body).send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON (HTTP {status}): {text}")), headers)
}

#[tokio::test]
async fn cold_start_then_warm_and_models_warm() {
    let dir = tempfile::tempdir().unwrap();
    add_catdog(dir.path());
    let photos = test_photos(3);

    let server = Server::start(dir.path(), &[], &[]);
    let url = server.at("/v1/classify");
    let (s, a, h) = classify(&url, photos[0].clone()).await;
    assert_eq!(s, 200);
    assert_eq!((a["cold_start"].as_bool(), h["x-cold-start"].to_str().unwrap()), (Some(true), "true"));
    assert!(a["load_ms"].as_f64().unwrap() > 0.0, "a cold answer says how long the load took: {a}");
    assert_eq!(a["batch_size"], 1);
    let (_, b, h) = classify(&url, photos[1].clone()).await;
    assert_eq!((b["cold_start"].as_bool(), h["x-cold-start"].to_str().unwrap()), (Some(false), "false"));
    assert!(b["load_ms"].is_null());
    drop(server);

    // `models warm` loads the instance before any request, so the first one is warm.
    let server = Server::start(dir.path(), &[], &[]);
    let (_, listed) = get(&server.at("/v1/models")).await;
    assert_eq!(listed["models"][0]["loaded"], false);
    let out = infergate().args(["models", "warm", "mobilenet", "--server", &server.url]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "models warm failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("mobilenet v1: 1 instance(s) loaded (loaded now:"), "{stdout}");
    let (_, listed) = get(&server.at("/v1/models")).await;
    assert_eq!(
        (listed["models"][0]["loaded"].as_bool(), listed["models"][0]["instances"].as_u64()),
        (Some(true), Some(1))
    );
    let (_, c, _) = classify(&server.at("/v1/classify"), photos[2].clone()).await;
    assert_eq!(c["cold_start"], false);

    // Bad warm requests: unknown model, silly count.
    let (s, e) = post(&server.at("/v1/models/nope/warm"), "text/plain", Vec::new()).await;
    assert_eq!((s, e["code"].as_str()), (404, Some("unknown_model")), "{e}");
    let (s, e) = post(&server.at("/v1/models/mobilenet/warm?count=0"), "text/plain", Vec::new()).await;
    assert_eq!((s, e["code"].as_str()), (400, Some("bad_count")));
    let out = infergate().args(["models", "warm", "nope", "--server", &server.url]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("404"));
}

#[tokio::test]
async fn batched_answers_equal_one_at_a_time() {
    let photos = test_photos(64);

    // One at a time, batching off.
    let dir = tempfile::tempdir().unwrap();
    add_catdog(dir.path());
    let server = Server::start(dir.path(), &["--max-batch", "1"], &[]);
    let url = server.at("/v1/classify");
    let mut alone = Vec::new();
    for p in &photos {
        let (s, a, _) = classify(&url, p.clone()).await;
        assert_eq!(s, 200);
        alone.push(a);
    }
    drop(server);

    // 64 at once with batching on and one instance, from a fresh data directory (no cache).
    let dir = tempfile::tempdir().unwrap();
    add_catdog(dir.path());
    let server = Server::start(dir.path(), &["--max-batch", "8", "--max-delay-ms", "20", "--sessions", "1"], &[]);
    let url = server.at("/v1/classify");
    let tasks: Vec<_> = photos.iter().map(|p| tokio::spawn(classify_owned(url.clone(), p.clone()))).collect();
    let mut batches = 0.0;
    let mut largest = 0;
    for (i, task) in tasks.into_iter().enumerate() {
        let (s, b) = task.await.unwrap();
        assert_eq!(s, 200, "{b}");
        let a = &alone[i];
        assert_eq!(b["cached"], false);
        assert_eq!(b["label"], a["label"], "image {i}");
        assert!((b["confidence"].as_f64().unwrap() - a["confidence"].as_f64().unwrap()).abs() <= 1e-5, "image {i}");
        for (x, y) in b["top_k"].as_array().unwrap().iter().zip(a["top_k"].as_array().unwrap()) {
            assert_eq!(x["index"], y["index"], "image {i}");
            assert!((x["score"].as_f64().unwrap() - y["score"].as_f64().unwrap()).abs() <= 1e-5, "image {i}");
        }
        let size = b["batch_size"].as_u64().unwrap();
        assert!((1..=8).contains(&size), "batch size {size}");
        largest = largest.max(size);
        batches += 1.0 / size as f64;
    }
    assert!(largest > 1, "some requests ran together");
    assert!(batches.round() < 64.0, "fewer batches than requests: {batches}");
}

async fn classify_owned(url: String, body: Vec<u8>) -> (u16, serde_json::Value) {
    let (s, v, _) = classify(&url, body).await;
    (s, v)
}

#[tokio::test]
async fn a_full_queue_answers_503_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    add_catdog(dir.path());
    // One waiting request allowed; the model is not loaded yet (tract takes a while to load
    // and optimise it), so everything sent during the load waits in the queue or is refused.
    let server =
        Server::start(dir.path(), &["--sessions", "1", "--runtime", "tract"], &[("INFERGATE_QUEUE_CAPACITY", "1")]);
    let url = server.at("/v1/classify");
    let photos = test_photos(16);
    let tasks: Vec<_> = photos
        .into_iter()
        .map(|p| {
            let url = url.clone();
            tokio::spawn(async move {
                let resp = client().post(&url).header("content-type", "image/jpeg").body(p).send().await.unwrap();
                let retry = resp.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
                (resp.status().as_u16(), retry, resp.json::<serde_json::Value>().await.unwrap())
            })
        })
        .collect();
    let (mut ok, mut refused) = (0, 0);
    for t in tasks {
        let (status, retry, body) = t.await.unwrap();
        match status {
            200 => ok += 1,
            503 => {
                refused += 1;
                assert_eq!(body["code"], "queue_full", "{body}");
                assert_eq!(retry.as_deref(), Some("1"));
            }
            other => panic!("unexpected HTTP {other}: {body}"),
        }
    }
    assert!(ok >= 1 && refused >= 1, "ok {ok}, refused {refused}");
    // Refused requests changed nothing: only the answered ones are in the history.
    let (_, page) = get(&server.at("/v1/inferences?limit=100")).await;
    assert_eq!(page["items"].as_array().unwrap().len(), ok);
}

fn add_int8_v2(data_dir: &std::path::Path) {
    let int8 = shared().join("models/mobilenetv2-12-int8.onnx");
    let out = add_model(
        data_dir,
        "mobilenet",
        &["--file", int8.to_str().unwrap(), "--labels", imagenet_labels().to_str().unwrap(), "--task", "cat-dog"],
    );
    assert!(out.status.success(), "models add v2 failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("v2"), "a second version is added inactive");
}

#[tokio::test]
async fn activate_then_roll_back_under_load_without_a_failed_request() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    add_catdog(dir.path());
    // v2: a cat/dog head trained on the base model's features (registered inactive).
    let train = shared().join("data/catsdogs/train");
    let out = infergate()
        .args(["train-head", "--base", "mobilenet", "--out", "mobilenet", "--data"])
        .arg(&train)
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "train-head failed: {}", String::from_utf8_lossy(&out.stderr));
    let server = Server::start(dir.path(), &[], &[]);
    let url = server.at("/v1/classify");
    let photos = Arc::new(test_photos(40));

    const LOOPS: usize = 3;
    let stop = Arc::new(AtomicBool::new(false));
    let counts: Arc<Vec<AtomicUsize>> = Arc::new((0..LOOPS).map(|_| AtomicUsize::new(0)).collect());
    let loops: Vec<_> = (0..LOOPS)
        .map(|l| {
            let (url, photos, stop, counts) = (url.clone(), photos.clone(), stop.clone(), counts.clone());
            tokio::spawn(async move {
                let mut versions = Vec::new();
                let mut failures = Vec::new();
                let mut i = l;
                while !stop.load(Ordering::SeqCst) {
                    let (s, a, _) = classify(&url, photos[i % photos.len()].clone()).await;
                    i += LOOPS;
                    if s == 200 {
                        let version = a["model"]["version"].as_i64().unwrap();
                        // The trained head answers with its two classes.
                        let classes = a["top_k"].as_array().unwrap().len();
                        assert_eq!(classes, if version == 2 { 2 } else { 5 }, "{a}");
                        versions.push(version);
                    } else {
                        failures.push(a);
                    }
                    counts[l].fetch_add(1, Ordering::SeqCst);
                }
                (versions, failures)
            })
        })
        .collect();
    // Waits until every loop has had at least two more answers.
    let progress = |counts: Arc<Vec<AtomicUsize>>| async move {
        let start: Vec<usize> = counts.iter().map(|c| c.load(Ordering::SeqCst)).collect();
        while counts.iter().zip(&start).any(|(c, s)| c.load(Ordering::SeqCst) < s + 2) {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    };
    progress(counts.clone()).await;
    let cli = |args: &[&str]| {
        let out = infergate().args(args).args(["--server", &server.url]).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let said = cli(&["models", "activate", "mobilenet", "2"]);
    assert!(said.contains("mobilenet v2 is active (was v1)"), "{said}");
    progress(counts.clone()).await;
    let said = cli(&["models", "rollback", "mobilenet"]);
    assert!(said.contains("mobilenet v1 is active (was v2)"), "{said}");
    progress(counts.clone()).await;
    stop.store(true, Ordering::SeqCst);

    for l in loops {
        let (mut versions, failures) = l.await.unwrap();
        assert!(failures.is_empty(), "failed requests during the switches: {failures:?}");
        versions.dedup();
        assert_eq!(versions, vec![1, 2, 1], "each client sees v1, then v2, then v1 again");
    }
    // Nothing further back than v1.
    let (s, e) = post(&server.at("/v1/models/mobilenet/rollback"), "application/json", Vec::new()).await;
    assert_eq!((s, e["code"].as_str()), (409, Some("nothing_to_roll_back")));
}

#[tokio::test]
async fn a_version_that_does_not_load_never_becomes_active() {
    let dir = tempfile::tempdir().unwrap();
    add_catdog(dir.path());
    add_int8_v2(dir.path());
    // Break v2's artifact after registration: the file in the data directory and the object
    // store's copy it would be fetched again from.
    let listed = infergate().args(["models", "list", "--json", "--data-dir"]).arg(dir.path()).output().unwrap();
    let models: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let v2 = models.as_array().unwrap().iter().find(|m| m["version"] == 2).unwrap();
    let artifact = v2["artifact_path"].as_str().unwrap();
    for copy in [dir.path().join(artifact), dir.path().join("objects").join(artifact)] {
        std::fs::write(copy, b"not a model any more").unwrap();
    }

    // Offline: the CLI checks the model loads before switching.
    let out =
        infergate().args(["models", "activate", "mobilenet", "2", "--data-dir"]).arg(dir.path()).output().unwrap();
    assert!(!out.status.success());
    let active = |dir: &std::path::Path| {
        let listed = infergate().args(["models", "list", "--json", "--data-dir"]).arg(dir).output().unwrap();
        let models: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
        models.as_array().unwrap().iter().find(|m| m["active"] == true).unwrap()["version"].as_i64().unwrap()
    };
    assert_eq!(active(dir.path()), 1);

    // Through the server: 409 activation_failed, and v1 keeps answering.
    let server = Server::start(dir.path(), &[], &[]);
    let (s, e) =
        post(&server.at("/v1/models/mobilenet/activate"), "application/json", br#"{"version": 2}"#.to_vec()).await;
    assert_eq!((s, e["code"].as_str()), (409, Some("activation_failed")), "{e}");
    let (s, a, _) = classify(&server.at("/v1/classify"), test_photos(1).remove(0)).await;
    assert_eq!((s, a["model"]["version"].as_i64()), (200, Some(1)));
    let (s, e) =
        post(&server.at("/v1/models/mobilenet/activate"), "application/json", b"{\"version\": \"x\"}".to_vec()).await;
    assert_eq!((s, e["code"].as_str()), (400, Some("bad_json")));
    let (s, e) =
        post(&server.at("/v1/models/mobilenet/activate"), "application/json", br#"{"version": 7}"#.to_vec()).await;
    assert_eq!((s, e["code"].as_str()), (404, Some("unknown_model_version")));
    drop(server);
    assert_eq!(active(dir.path()), 1);
}

#[test]
fn offline_activate_and_rollback() {
    let dir = tempfile::tempdir().unwrap();
    add_catdog(dir.path());
    add_int8_v2(dir.path());
    let run = |args: &[&str]| infergate().args(args).arg("--data-dir").arg(dir.path()).output().unwrap();
    let out = run(&["models", "activate", "mobilenet", "2"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("mobilenet v2 is active (was v1)"));
    let out = run(&["models", "rollback", "mobilenet"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("mobilenet v1 is active (was v2)"));
    let out = run(&["models", "rollback", "mobilenet"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no earlier active version"));
}

/// Parses Prometheus text (or OpenMetrics) with the reference parsers of Python's
/// `prometheus_client` and returns
/// `{family: {type, samples: [[name, labels, value]]}}`.
fn parse_prometheus(text: &str, openmetrics: bool) -> serde_json::Value {
    let python = workspace().join(".venv/bin/python");
    let script = r#"
import json, sys
if sys.argv[1] == "openmetrics":
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
else:
    from prometheus_client.parser import text_string_to_metric_families
out = {}
for f in text_string_to_metric_families(sys.stdin.read()):
    out[f.name] = {"type": f.type, "samples": [[s.name, s.labels, s.value] for s in f.samples]}
print(json.dumps(out))
"#;
    let mut child = std::process::Command::new(python)
        .args(["-c", script, if openmetrics { "openmetrics" } else { "prometheus" }])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "not Prometheus text: {}\n{text}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The value of the sample `name` whose labels include `labels`.
fn sample(families: &serde_json::Value, family: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    families[family]["samples"].as_array()?.iter().find_map(|s| {
        let ok = s[0] == name && labels.iter().all(|(k, v)| s[1][*k] == *v);
        ok.then(|| s[2].as_f64().unwrap())
    })
}

#[tokio::test]
async fn metrics_parse_as_prometheus_text_and_count_batches() {
    let dir = tempfile::tempdir().unwrap();
    add_catdog(dir.path());
    let server = Server::start(dir.path(), &["--max-batch", "8", "--max-delay-ms", "20", "--sessions", "1"], &[]);
    let url = server.at("/v1/classify");
    let photos = test_photos(32);
    let tasks: Vec<_> = photos.iter().map(|p| tokio::spawn(classify_owned(url.clone(), p.clone()))).collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().0, 200);
    }
    assert_eq!(classify(&url, photos[0].clone()).await.1["cached"], true);

    let resp = client().get(server.at("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let m = parse_prometheus(&resp.text().await.unwrap(), false);
    let resp =
        client().get(server.at("/metrics")).header("accept", "application/openmetrics-text").send().await.unwrap();
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    let om = parse_prometheus(&resp.text().await.unwrap(), true);
    assert_eq!(om["infergate_batch_size"]["type"], "histogram");
    assert_eq!(om["infergate_cache_hits"]["type"], "counter");
    let model = [("model", "mobilenet"), ("version", "1")];
    for family in [
        "infergate_request_duration_seconds",
        "infergate_queue_wait_seconds",
        "infergate_inference_seconds",
        "infergate_batch_size",
        "infergate_instance_load_seconds",
    ] {
        assert_eq!(m[family]["type"], "histogram", "{family}");
    }
    let route = [("route", "/v1/classify"), ("model", "mobilenet")];
    assert_eq!(
        sample(&m, "infergate_request_duration_seconds", "infergate_request_duration_seconds_count", &route),
        Some(33.0)
    );
    let batches = sample(&m, "infergate_batch_size", "infergate_batch_size_count", &model).unwrap();
    let images = sample(&m, "infergate_batch_size", "infergate_batch_size_sum", &model).unwrap();
    assert_eq!(images, 32.0, "every uncached image ran once");
    assert!(batches < 32.0, "the batches held more than one image on average ({batches} batches)");
    let single =
        sample(&m, "infergate_batch_size", "infergate_batch_size_bucket", &[("model", "mobilenet"), ("le", "1.0")])
            .unwrap();
    assert!(single < batches, "some batch was larger than 1");
    assert_eq!(m["infergate_cache_hits"]["type"], "counter");
    assert_eq!(sample(&m, "infergate_cache_hits", "infergate_cache_hits_total", &model), Some(1.0));
    assert_eq!(sample(&m, "infergate_cache_misses", "infergate_cache_misses_total", &model), Some(32.0));
    assert_eq!(
        sample(&m, "infergate_cold_starts", "infergate_cold_starts_total", &model).map(|c| c >= 1.0),
        Some(true)
    );
    assert_eq!(sample(&m, "infergate_loaded_instances", "infergate_loaded_instances", &model), Some(1.0));
    assert_eq!(sample(&m, "infergate_queue_depth", "infergate_queue_depth", &model), Some(0.0));
    assert_eq!(
        sample(&m, "infergate_requests", "infergate_requests_total", &[("route", "/v1/classify"), ("status", "200")]),
        Some(33.0)
    );
}

#[tokio::test]
async fn stats_over_a_window_with_a_container_pricing_profile() {
    let dir = tempfile::tempdir().unwrap();
    add_catdog(dir.path());
    let config = dir.path().join("infergate.toml");
    std::fs::write(
        &config,
        "[pricing]\nkind = \"container\"\nusd_per_hour = 0.04937\nconcurrency = 2\napi_gateway_usd_per_million = 0\n",
    )
    .unwrap();
    let server = Server::start(dir.path(), &["--config", config.to_str().unwrap()], &[]);
    let (_, empty) = get(&server.at("/v1/stats")).await;
    assert_eq!((empty["requests"].as_u64(), empty["cache_hit_rate"].is_null()), (Some(0), true));
    assert!(empty["latency_ms"]["p50"].is_null() && empty["cost_per_1000_usd"].is_null());

    let url = server.at("/v1/classify");
    let photos = test_photos(4);
    let mut costs = Vec::new();
    for p in photos.iter().chain(&photos[..2]) {
        let (s, a, _) = classify(&url, p.clone()).await;
        assert_eq!(s, 200);
        let total = a["timings_ms"]["total"].as_f64().unwrap();
        let cost = a["cost_usd"].as_f64().unwrap();
        assert!((cost - 0.04937 * total / 3.6e6 / 2.0).abs() < 1e-15, "container share of the hour: {cost}");
        costs.push(cost);
    }
    let (s, st) = get(&server.at("/v1/stats?window_s=600")).await;
    assert_eq!(s, 200);
    assert_eq!(st["window_s"], 600);
    assert_eq!(st["requests"], 6);
    assert!((st["cache_hit_rate"].as_f64().unwrap() - 2.0 / 6.0).abs() < 1e-9);
    let p = |k: &str| st["latency_ms"][k].as_f64().unwrap();
    assert!(0.0 < p("p50") && p("p50") <= p("p95") && p("p95") <= p("p99"));
    let mean_per_1000 = costs.iter().sum::<f64>() / 6.0 * 1000.0;
    assert!((st["cost_per_1000_usd"].as_f64().unwrap() - mean_per_1000).abs() < 1e-12);

    for bad in ["window_s=0", "window_s=x", "window_s=99999999", "nope=1"] {
        let (s, e) = get(&server.at(&format!("/v1/stats?{bad}"))).await;
        assert_eq!(s, 400, "{bad}: {e}");
    }
}

#[test]
fn a_bad_pricing_profile_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("infergate.toml");
    std::fs::write(&config, "[pricing]\nkind = \"lambda\"\nmemory_mb = -1\nusd_per_gb_s = 0\nusd_per_request = 0\napi_gateway_usd_per_million = 0\n").unwrap();
    let out = infergate()
        .args(["serve", "--addr", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("memory_mb must be positive"));
}

/// A one-shot HTTP receiver: answers 200 to each POST and hands over the JSON bodies.
async fn webhook_receiver() -> (String, tokio::sync::mpsc::UnboundedReceiver<serde_json::Value>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let body = loop {
                let n = sock.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break None;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string())
                        })
                        .and_then(|v| v.parse::<usize>().ok())
                        .unwrap_or(0);
                    if body.len() >= len {
                        break Some(body[..len].to_string());
                    }
                }
            };
            let _ = sock.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await;
            if let Some(body) = body {
                let _ = tx.send(serde_json::from_str(&body).unwrap());
            }
        }
    });
    (url, rx)
}

#[tokio::test]
async fn slow_p95_raises_a_stored_alarm_and_posts_the_webhook() {
    let dir = tempfile::tempdir().unwrap();
    add_catdog(dir.path());
    let (hook, mut events) = webhook_receiver().await;
    let config = dir.path().join("infergate.toml");
    // Any real request is slower than a microsecond: three requests must raise the alarm.
    std::fs::write(&config, format!("[alarms]\nlatency_p95_ms = 0.001\nmin_samples = 3\nwebhook_url = \"{hook}\"\n"))
        .unwrap();
    let server = Server::start(dir.path(), &["--config", config.to_str().unwrap()], &[]);
    let (_, none) = get(&server.at("/v1/alarms")).await;
    assert_eq!(none["alarms"].as_array().unwrap().len(), 0);
    for p in test_photos(3) {
        assert_eq!(classify(&server.at("/v1/classify"), p).await.0, 200);
    }
    // The monitor looks once a second; the webhook arrives when it has raised the alarm.
    let event = tokio::time::timeout(std::time::Duration::from_secs(30), events.recv()).await.unwrap().unwrap();
    assert_eq!(event["event"], "raised");
    assert_eq!(event["alarm"]["kind"], "latency_p95");
    assert!(event["alarm"]["value"].as_f64().unwrap() > 0.001);
    let (s, open) = get(&server.at("/v1/alarms")).await;
    assert_eq!(s, 200);
    let open = open["alarms"].as_array().unwrap().clone();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["id"], event["alarm"]["id"]);
    assert!(open[0]["cleared_at"].is_null());
    assert!(open[0]["message"].as_str().unwrap().contains("p95 latency"));
    let (s, all) = get(&server.at("/v1/alarms?state=all")).await;
    assert_eq!((s, all["alarms"].as_array().unwrap().len()), (200, 1));
    let (s, e) = get(&server.at("/v1/alarms?state=maybe")).await;
    assert_eq!((s, e["code"].as_str()), (400, Some("bad_state")));
}

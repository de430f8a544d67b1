//! Live dispatch with real worker processes: `infergate serve` with configured functions,
//! `local-function` workers started on demand, an always-on `local-container` pool, an `http`
//! backend that is killed and restarted, and the record of every invocation.

mod common;

use common::{client, get, Server};
use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

/// What one invocation answered.
#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    routed_to: String,
    cold: bool,
    fallback: bool,
    id: String,
    body: Value,
}

async fn invoke(server: &Server, function: &str, mode: Option<&str>, body: Vec<u8>) -> Answer {
    let url = match mode {
        Some(m) => server.at(&format!("/v1/invoke/{function}?mode={m}")),
        None => server.at(&format!("/v1/invoke/{function}")),
    };
    let r = client().post(url).body(body).send().await.unwrap();
    let h = |n: &str| r.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let (status, routed_to, cold, fallback, id) = (
        r.status().as_u16(),
        h("x-routed-to"),
        h("x-cold-start") == "true",
        h("x-fallback") == "true",
        h("x-invocation-id"),
    );
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON (HTTP {status}): {text}"));
    Answer { status, routed_to, cold, fallback, id, body }
}

async fn burst(server: &Server, function: &str, mode: Option<&str>, n: usize) -> Vec<Answer> {
    let calls = (0..n).map(|_| invoke(server, function, mode, b"x".to_vec()));
    futures::future::join_all(calls).await
}

fn config(dir: &Path, text: &str) -> String {
    let path = dir.join("functions.toml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// Every recorded invocation of `function`.
async fn records(server: &Server, function: &str) -> Vec<Value> {
    let (status, v) = get(&server.at(&format!("/v1/invocations?function={function}&limit=1000"))).await;
    assert_eq!(status, 200, "{v}");
    v["invocations"].as_array().unwrap().clone()
}

fn count(answers: &[Answer], platform: &str) -> usize {
    answers.iter().filter(|a| a.routed_to == platform).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_starts_on_functions_none_on_the_container_and_the_hybrid_overflows() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        r#"
[[functions]]
name = "spin"
slo_ms = 2000
handler = { kind = "sleep-cpu", exec_ms = { dist = "constant", value = 300 } }
lambda = { backend = "local-function", keep_alive_s = 1.0 }
ecs = { backend = "local-container", tasks = 2 }
"#,
    );
    let server = Server::start(dir.path(), &["--config", &cfg], &[]);
    let mut sent = Vec::new();

    // The always-on container: warm from the start, never a cold start.
    for _ in 0..3 {
        let a = invoke(&server, "spin", Some("ecs"), b"x".to_vec()).await;
        assert_eq!((a.status, a.routed_to.as_str(), a.cold), (200, "ecs", false), "{a:?}");
        sent.push(a);
    }
    // Functions: a burst with nothing warm starts a worker per request (real cold starts)…
    let first = burst(&server, "spin", Some("lambda"), 3).await;
    assert!(first.iter().all(|a| a.status == 200 && a.routed_to == "lambda"), "{first:?}");
    assert_eq!(first.iter().filter(|a| a.cold).count(), 3, "every request of the first burst is a cold start");
    // …a request right after finds a warm worker…
    let warm = invoke(&server, "spin", Some("lambda"), b"x".to_vec()).await;
    assert!(!warm.cold, "{warm:?}");
    // …and after idling past the keep-alive, the workers are gone: cold again.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (_, functions) = get(&server.at("/v1/functions")).await;
    assert_eq!(functions["functions"][0]["platforms"][0]["workers"]["idle"], 0, "{functions}");
    let after_idle = burst(&server, "spin", Some("lambda"), 2).await;
    assert!(after_idle.iter().all(|a| a.cold), "a burst after idle starts cold: {after_idle:?}");
    sent.extend(first.into_iter().chain([warm]).chain(after_idle));

    // The hybrid: one request at a time (base load) all on the container…
    for _ in 0..3 {
        let a = invoke(&server, "spin", None, b"x".to_vec()).await;
        assert_eq!((a.status, a.routed_to.as_str()), (200, "ecs"), "{a:?}");
        sent.push(a);
    }
    // …and a burst of 8: the two container workers take what they can, functions the overflow.
    let hybrid = burst(&server, "spin", None, 8).await;
    assert!(hybrid.iter().all(|a| a.status == 200 && !a.fallback), "no request fails: {hybrid:?}");
    let (ecs, lambda) = (count(&hybrid, "ecs"), count(&hybrid, "lambda"));
    println!("hybrid burst of 8: {ecs} on ecs, {lambda} on lambda");
    assert!(ecs >= 2, "the free container workers take part of the burst: {ecs}");
    assert!(lambda >= 4, "the overflow goes to functions: {lambda}");
    sent.extend(hybrid);

    // Every invocation has exactly one record, with the platform it was answered on.
    let recorded = records(&server, "spin").await;
    assert_eq!(recorded.len(), sent.len());
    let by_id: HashMap<&str, &Value> = recorded.iter().map(|r| (r["id"].as_str().unwrap(), r)).collect();
    for a in &sent {
        let r = by_id.get(a.id.as_str()).unwrap_or_else(|| panic!("no record of {a:?}"));
        assert_eq!(
            (r["platform"].as_str().unwrap(), r["cold_start"].as_bool().unwrap()),
            (a.routed_to.as_str(), a.cold)
        );
        assert!(r["cost_usd"].as_f64().unwrap() > 0.0 && r["latency_ms"].as_f64().unwrap() >= 300.0, "{r}");
    }
}

/// `infergate worker` as a stand-alone service on `addr`; returns it and its port.
fn start_worker(addr: &str) -> (Child, u16) {
    let mut child = common::infergate()
        .args(["worker", "--handler", "sleep-cpu", "--exec-ms", "5", "--addr", addr])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    let port = line.trim().parse().unwrap_or_else(|_| panic!("worker printed {line:?}"));
    (child, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_backend_falls_back_opens_the_breaker_and_recovers() {
    let (mut service, port) = start_worker("127.0.0.1:0");
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &format!(
            r#"
[breaker]
failures = 3
open_s = 1.0

[[functions]]
name = "remote"
mode = "ecs"
handler = {{ kind = "sleep-cpu", exec_ms = {{ dist = "constant", value = 5 }} }}
ecs = {{ backend = "http", url = "http://127.0.0.1:{port}/invoke", timeout_s = 5, retries = 0 }}
lambda = {{ backend = "local-function" }}
"#
        ),
    );
    let server = Server::start(dir.path(), &["--config", &cfg], &[]);
    let mut sent = Vec::new();
    for _ in 0..5 {
        sent.push(invoke(&server, "remote", None, b"x".to_vec()).await);
    }
    assert!(sent.iter().all(|a| a.status == 200 && a.routed_to == "ecs" && !a.fallback), "{sent:?}");

    service.kill().unwrap();
    service.wait().unwrap();
    let mut down = Vec::new();
    for _ in 0..8 {
        down.push(invoke(&server, "remote", None, b"x".to_vec()).await);
    }
    assert!(down.iter().all(|a| a.status == 200 && a.routed_to == "lambda"), "requests fall back: {down:?}");
    assert_eq!(down.iter().filter(|a| a.fallback).count(), 3, "three failures, then the breaker opens: {down:?}");
    let (_, status) = get(&server.at("/v1/functions")).await;
    let ecs = &status["functions"][0]["platforms"][1];
    assert_eq!((ecs["platform"].as_str(), ecs["breaker"].as_str()), (Some("ecs"), Some("open")), "{status}");

    // The backend comes back on the same port; after open_s a probe finds it and traffic returns.
    let (mut service, _) = start_worker(&format!("127.0.0.1:{port}"));
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let mut back = Vec::new();
    for _ in 0..5 {
        back.push(invoke(&server, "remote", None, b"x".to_vec()).await);
    }
    assert!(back.iter().all(|a| a.status == 200 && a.routed_to == "ecs"), "recovered: {back:?}");
    let (_, status) = get(&server.at("/v1/functions")).await;
    assert_eq!(status["functions"][0]["platforms"][1]["breaker"], "closed", "{status}");
    service.kill().unwrap();
    let _ = service.wait();

    sent.extend(down.into_iter().chain(back));
    let recorded = records(&server, "remote").await;
    assert_eq!(recorded.len(), sent.len(), "no request lost, none recorded twice");
    let ids: std::collections::HashSet<&str> = recorded.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert!(sent.iter().all(|a| ids.contains(a.id.as_str())));
    let fell_back: Vec<&Value> = recorded.iter().filter(|r| r["fallback"] == true).collect();
    assert_eq!(fell_back.len(), 3);
    assert!(fell_back.iter().all(|r| r["error"].as_str().unwrap().contains("ecs (http)")), "{fell_back:?}");
}

/// A TCP server that answers every connection with bytes that are not HTTP.
fn garbage_server() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            let _ = s.write_all(b"\x00\x01garbage, not HTTP\r\n\r\n");
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_unknown_function_oversized_payload_and_a_garbage_backend() {
    let port = garbage_server();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &format!(
            r#"
[[functions]]
name = "small"
max_payload_kb = 1
handler = {{ kind = "sleep-cpu", exec_ms = {{ dist = "constant", value = 1 }} }}
ecs = {{ backend = "local-container" }}

[[functions]]
name = "broken"
ecs = {{ backend = "http", url = "http://127.0.0.1:{port}/", retries = 0 }}
"#
        ),
    );
    let server = Server::start(dir.path(), &["--config", &cfg], &[]);
    let a = invoke(&server, "nope", None, b"x".to_vec()).await;
    assert_eq!((a.status, a.body["code"].as_str()), (404, Some("unknown_function")), "{:?}", a.body);
    assert!(a.body["error"].as_str().unwrap().contains("small"), "names the configured ones: {}", a.body);
    let a = invoke(&server, "small", None, vec![b'x'; 2048]).await;
    assert_eq!((a.status, a.body["code"].as_str()), (413, Some("payload_too_large")), "{:?}", a.body);
    let a = invoke(&server, "small", Some("sideways"), b"x".to_vec()).await;
    assert_eq!((a.status, a.body["code"].as_str()), (400, Some("bad_mode")), "{:?}", a.body);
    let ok = invoke(&server, "small", None, vec![b'x'; 1000]).await;
    assert_eq!((ok.status, ok.routed_to.as_str()), (200, "ecs"));
    let a = invoke(&server, "broken", None, b"x".to_vec()).await;
    assert_eq!((a.status, a.body["code"].as_str()), (502, Some("bad_backend_reply")), "{:?}", a.body);
    assert!(a.body["error"].as_str().unwrap().contains("not valid HTTP"), "a clear message: {}", a.body);
    let (status, v) = get(&server.at("/v1/invocations?limit=0")).await;
    assert_eq!((status, v["code"].as_str()), (400, Some("bad_limit")), "{v}");
    let (status, v) = get(&server.at("/v1/invocations?limit=many")).await;
    assert_eq!(status, 400, "{v}");
    // Refused requests change nothing: only the two forwarded ones are recorded.
    assert_eq!(records(&server, "small").await.len(), 1);
    let broken = records(&server, "broken").await;
    assert_eq!(
        (broken.len(), broken[0]["status"].as_u64(), broken[0]["outcome"].as_str()),
        (1, Some(502), Some("bad_reply"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_load_generator_follows_the_scenario_and_writes_every_latency() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        r#"
[[functions]]
name = "spin"
handler = { kind = "sleep-cpu", exec_ms = { dist = "constant", value = 10 } }
lambda = { backend = "local-function" }
ecs = { backend = "local-container", tasks = 1 }
"#,
    );
    let scenario = dir.path().join("scenario.yaml");
    std::fs::write(
        &scenario,
        "phases:\n  - {duration_s: 2, arrival_rate: 10}\n  - {pause: 0.5}\n  - {duration_s: 1, arrival_rate: 10, ramp_to: 30}\n\
         workload: {type: lightweight_api, payload_kb: 3, exec_ms: {dist: constant, value: 10}, memory_mb: 256}\nslo_ms: 500\n",
    )
    .unwrap();
    let expected = infergate_place::scenario::Scenario::from_yaml(&std::fs::read_to_string(&scenario).unwrap())
        .unwrap()
        .requests(3)
        .len();
    let server = Server::start(dir.path(), &["--config", &cfg], &[]);
    let csv = dir.path().join("latencies.csv");
    let out = common::infergate()
        .args(["load", "--seed", "3", "--json", "--scenario"])
        .arg(&scenario)
        .args(["--target", &server.at("/v1/invoke/spin"), "--out"])
        .arg(&csv)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["requests"].as_u64().unwrap() as usize, expected, "{summary}");
    assert_eq!(summary["errors"], 0, "{summary}");
    for k in ["p50_ms", "p95_ms", "p99_ms", "throughput_per_s"] {
        assert!(summary[k].as_f64().unwrap() > 0.0, "{k}: {summary}");
    }
    let routed = &summary["routed"];
    assert_eq!(
        routed["ecs"].as_u64().unwrap_or(0) + routed["lambda"].as_u64().unwrap_or(0),
        expected as u64,
        "{summary}"
    );
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.lines().count(), expected + 1, "a header and one line per request");
    assert!(text.lines().skip(1).all(|l| l.split(',').nth(2) == Some("200")), "{text}");
    assert_eq!(records(&server, "spin").await.len(), expected);

    // A malformed scenario is a clear error, and nothing is sent.
    std::fs::write(&scenario, "phases: []\nworkload: {type: lightweight_api, payload_kb: 1, exec_ms: {dist: constant, value: 1}, memory_mb: 1}\nslo_ms: 1\n").unwrap();
    let out = common::infergate()
        .args(["load", "--scenario"])
        .arg(&scenario)
        .args(["--target", &server.at("/v1/invoke/spin")])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("phases"), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(records(&server, "spin").await.len(), expected);
}

#[test]
fn live_evaluation_plays_the_scenario_three_ways_on_real_workers() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("scenario.yaml");
    std::fs::write(
        &scenario,
        "slo_ms: 500\nworkload: {type: lightweight_api, payload_kb: 1, memory_mb: 512, exec_ms: {dist: constant, value: 20}}\n\
         phases:\n  - {duration_s: 3, arrival_rate: 15}\n  - {duration_s: 1, arrival_rate: 40}\n",
    )
    .unwrap();
    let out = common::infergate()
        .args(["route", "evaluate", "--live", "--json", "--live-tasks", "2", "--scenario"])
        .arg(&scenario)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v["strategies"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["lambda_only", "ecs_only", "hybrid"]);
    let n = rows[0]["requests"].as_u64().unwrap();
    for r in rows {
        assert_eq!(r["requests"].as_u64(), Some(n), "the same scenario each time: {r}");
        assert_eq!(r["error_rate"], 0.0, "{r}");
        assert!(r["p95_ms"].as_f64().unwrap() >= 20.0 && r["cost_usd"].as_f64().unwrap() > 0.0, "{r}");
    }
    let (lambda, ecs, hybrid) = (&rows[0], &rows[1], &rows[2]);
    assert_eq!((lambda["on_ecs"].as_u64(), lambda["on_lambda"].as_u64()), (Some(0), Some(n)));
    assert!(lambda["cold_starts"].as_u64().unwrap() >= 1, "functions start cold: {lambda}");
    assert_eq!(
        (ecs["on_lambda"].as_u64(), ecs["cold_starts"].as_u64(), ecs["tasks"].as_u64()),
        (Some(0), Some(0), Some(2))
    );
    let on_both = hybrid["on_lambda"].as_u64().unwrap() + hybrid["on_ecs"].as_u64().unwrap();
    assert_eq!(on_both, n, "{hybrid}");
    assert!(
        hybrid["tasks"].as_u64().unwrap() >= 1 && hybrid["on_ecs"].as_u64().unwrap() > 0,
        "the base load on a worker: {hybrid}"
    );
}

#[test]
fn a_worker_with_bad_arguments_says_what_is_wrong() {
    for (args, says) in [
        (&["--handler", "nope"][..], "unknown --handler"),
        (&["--handler", "sleep-cpu"][..], "needs --exec-ms"),
        (&["--handler", "sleep-cpu", "--exec-ms", "{\"dist\":\"constant\",\"value\":-1}"][..], "--exec-ms"),
        (&["--handler", "sleep-cpu", "--exec-ms", "soon"][..], "a number or a distribution"),
        (&["--handler", "classify"][..], "needs --model"),
        (&["--handler", "classify", "--model", "/nonexistent.onnx"][..], "cannot load"),
    ] {
        let out = common::infergate().arg("worker").args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(says), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "no port is printed for a worker that cannot run: {args:?}");
    }
}

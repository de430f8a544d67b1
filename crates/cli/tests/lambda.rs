//! `infergate serve` as AWS Lambda runs it: the real binary started with no arguments and the
//! Lambda environment, against this test's own Lambda Runtime API server on loopback (the
//! documented HTTP protocol: `GET …/invocation/next`, `POST …/invocation/{id}/response|error`,
//! `POST …/init/error`). API Gateway HTTP API (payload 2.0) and function URL events built from
//! the templates in `tests/lambda/` go through it, and the answers are the HTTP server's.
//! Built with the `lambda` feature only (a default one).
#![cfg(feature = "lambda")]

mod common;

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use base64::Engine as _;
use common::*;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

const API_PREFIX: &str = "/2018-06-01/runtime";
const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:infergate";
/// How long an invocation may take before the test gives up (the first one loads the model).
const INVOKE_TIMEOUT: Duration = Duration::from_secs(120);

/// What the function posted for one invocation.
#[derive(Debug)]
enum Outcome {
    /// `POST …/invocation/{id}/response`: the function's answer (for HTTP events, the response JSON).
    Response(Value),
    /// `POST …/invocation/{id}/error`: `Lambda-Runtime-Function-Error-Type` and the error JSON.
    Error(String, Value),
}

/// One queued event and where its outcome goes.
struct Invocation {
    id: String,
    event: Value,
    reply: oneshot::Sender<Outcome>,
}

/// The runtime API's shared state.
struct Inner {
    queue: tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>,
    pending: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    init_errors: Mutex<Vec<Value>>,
}

/// A Lambda Runtime API on an ephemeral loopback port that hands out queued events one at a time.
struct RuntimeApi {
    addr: std::net::SocketAddr,
    events: mpsc::UnboundedSender<Invocation>,
    inner: Arc<Inner>,
    next_id: AtomicU64,
}

impl RuntimeApi {
    async fn start() -> RuntimeApi {
        let (events, queue) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            queue: tokio::sync::Mutex::new(queue),
            pending: Mutex::new(HashMap::new()),
            init_errors: Mutex::new(Vec::new()),
        });
        let app = axum::Router::new()
            .route(&format!("{API_PREFIX}/invocation/next"), get(next))
            .route(&format!("{API_PREFIX}/invocation/{{id}}/response"), post(response))
            .route(&format!("{API_PREFIX}/invocation/{{id}}/error"), post(error))
            .route(&format!("{API_PREFIX}/init/error"), post(init_error))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        RuntimeApi { addr, events, inner, next_id: AtomicU64::new(1) }
    }

    /// Queues `event` and waits for what the function posts back for it.
    async fn invoke(&self, function: &mut Function, event: Value) -> Outcome {
        let id = format!("8f5a1c2e-0000-4000-8000-{:012x}", self.next_id.fetch_add(1, Ordering::SeqCst));
        let (reply, outcome) = oneshot::channel();
        self.events.send(Invocation { id, event, reply }).unwrap();
        match tokio::time::timeout(INVOKE_TIMEOUT, outcome).await {
            Ok(Ok(outcome)) => outcome,
            _ => panic!(
                "no answer from the function; init errors {:?}; stderr:\n{}",
                self.inner.init_errors.lock().unwrap(),
                function.stop()
            ),
        }
    }

    /// Invokes with an HTTP event and returns the response JSON (`statusCode`, `headers`, `body`, …).
    async fn http(&self, function: &mut Function, event: Value) -> Value {
        match self.invoke(function, event).await {
            Outcome::Response(r) => r,
            Outcome::Error(kind, e) => panic!("the function reported {kind}: {e}\nstderr:\n{}", function.stop()),
        }
    }
}

/// `GET /2018-06-01/runtime/invocation/next`: waits for an event and hands it out with the headers
/// the runtime client needs.
async fn next(State(inner): State<Arc<Inner>>) -> axum::response::Response {
    let Some(inv) = inner.queue.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    inner.pending.lock().unwrap().insert(inv.id.clone(), inv.reply);
    let deadline_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() + 900_000;
    (
        [
            ("content-type", "application/json".to_string()),
            ("lambda-runtime-aws-request-id", inv.id),
            ("lambda-runtime-deadline-ms", deadline_ms.to_string()),
            ("lambda-runtime-invoked-function-arn", FUNCTION_ARN.to_string()),
            (
                "lambda-runtime-trace-id",
                "Root=1-67891234-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=0".into(),
            ),
        ],
        inv.event.to_string(),
    )
        .into_response()
}

fn deliver(inner: &Inner, id: &str, outcome: Outcome) -> axum::response::Response {
    match inner.pending.lock().unwrap().remove(id) {
        Some(reply) => {
            let _ = reply.send(outcome);
            (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
        }
        None => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"errorMessage": format!("unknown request id {id}"), "errorType": "InvalidRequestID"})),
        )
            .into_response(),
    }
}

/// `POST /2018-06-01/runtime/invocation/{id}/response`.
async fn response(
    State(inner): State<Arc<Inner>>,
    UrlPath(id): UrlPath<String>,
    body: String,
) -> axum::response::Response {
    let value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    deliver(&inner, &id, Outcome::Response(value))
}

/// `POST /2018-06-01/runtime/invocation/{id}/error`.
async fn error(
    State(inner): State<Arc<Inner>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    body: String,
) -> axum::response::Response {
    let kind =
        headers.get("lambda-runtime-function-error-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    deliver(&inner, &id, Outcome::Error(kind, value))
}

/// `POST /2018-06-01/runtime/init/error`.
async fn init_error(State(inner): State<Arc<Inner>>, body: String) -> impl IntoResponse {
    inner.init_errors.lock().unwrap().push(serde_json::from_str(&body).unwrap_or(Value::String(body)));
    (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"})))
}

/// The `infergate` process Lambda would run; killed on drop.
struct Function {
    child: Option<Child>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Function {
    /// Starts the binary with no arguments, as Lambda starts `bootstrap`, in a Lambda environment
    /// talking to `api`, plus `env`.
    fn start(api: &RuntimeApi, env: &[(&str, &str)]) -> Function {
        let mut cmd = infergate();
        cmd.env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "infergate")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "2048")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/infergate")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "2025/03/10/[$LATEST]0123456789abcdef0123456789abcdef")
            .env("AWS_REGION", "us-east-1")
            .env("_HANDLER", "bootstrap")
            .env_remove("INFERGATE_DATA_DIR")
            .env_remove("INFERGATE_AUTH");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
        let mut pipe = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        });
        Function { child: Some(child), stderr: Some(stderr) }
    }

    /// Kills the process (if still running) and returns its stderr.
    fn stop(&mut self) -> String {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.stderr.take().map(|t| t.join().unwrap_or_default()).unwrap_or_default()
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One of the event templates in `tests/lambda/`.
fn template(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lambda").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// A payload 2.0 event (API Gateway HTTP API or function URL) from `template`, for `method`
/// `path_and_query` with extra `headers` and an optional body (sent base64 when `binary`).
fn http_event(
    template_name: &str,
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: Option<(&[u8], bool)>,
) -> Value {
    let mut event = template(template_name);
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    event["rawPath"] = json!(path);
    event["rawQueryString"] = json!(query);
    if !query.is_empty() {
        let params: serde_json::Map<String, Value> = query
            .split('&')
            .map(|kv| kv.split_once('=').unwrap_or((kv, "")))
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        event["queryStringParameters"] = Value::Object(params);
    }
    event["requestContext"]["http"]["method"] = json!(method);
    event["requestContext"]["http"]["path"] = json!(path);
    for (k, v) in headers {
        event["headers"][k.to_ascii_lowercase()] = json!(v);
    }
    match body {
        Some((bytes, binary)) => {
            event["headers"]["content-length"] = json!(bytes.len().to_string());
            event["isBase64Encoded"] = json!(binary);
            event["body"] = if binary {
                json!(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(String::from_utf8(bytes.to_vec()).unwrap())
            };
        }
        None => {
            event.as_object_mut().unwrap().remove("body");
            event["isBase64Encoded"] = json!(false);
        }
    }
    event
}

/// A response's status and its body as JSON (a text body, never base64 for JSON).
fn status_and_json(resp: &Value) -> (u16, Value) {
    let status = resp["statusCode"].as_u64().unwrap_or_else(|| panic!("no statusCode: {resp}")) as u16;
    assert_eq!(resp["isBase64Encoded"], json!(false), "{resp}");
    let body = resp["body"].as_str().unwrap_or_else(|| panic!("no body: {resp}"));
    (status, serde_json::from_str(body).unwrap_or_else(|_| panic!("body is not JSON: {body}")))
}

/// A response header (API Gateway payload 2.0 responses keep them in `headers`).
fn header<'a>(resp: &'a Value, name: &str) -> Option<&'a str> {
    resp["headers"][name].as_str()
}

/// The same request over HTTP: status and JSON.
async fn over_http(
    method: reqwest::Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> (u16, Value) {
    let mut req = client().request(method, url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(body) = body {
        req = req.body(body);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON (HTTP {status}): {text}")))
}

/// `infergate keys create --role ROLE --json` on `dir`: the token.
fn create_key(dir: &Path, role: &str) -> String {
    let out = infergate().args(["keys", "create", "--role", role, "--json", "--data-dir"]).arg(dir).output().unwrap();
    assert!(out.status.success(), "keys create: {}", String::from_utf8_lossy(&out.stderr));
    let key: Value = serde_json::from_slice(&out.stdout).unwrap();
    key["token"].as_str().unwrap().to_string()
}

/// The first cat of the shared cats-and-dogs test set.
fn cat_photo() -> Vec<u8> {
    let dir = shared().join("data/catsdogs/test/cat");
    let mut names: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).collect();
    names.sort();
    std::fs::read(names.first().expect("no cat photos")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_gateway_and_function_url_events_get_the_http_answers() {
    let dir = tempfile::tempdir().unwrap();
    // The deployment package's prepared data directory (under /var/task in Lambda): the model and a
    // client key, made with the ordinary commands. The function copies it into its writable data dir.
    let package = dir.path().join("task/infergate-data");
    add_catdog(&package);
    let token = create_key(&package, "client");
    let bearer = format!("Bearer {token}");
    let admin = format!("Bearer {}", create_key(&package, "admin"));
    let data = dir.path().join("tmp/infergate-data");

    let api = RuntimeApi::start().await;
    let mut function = Function::start(
        &api,
        &[
            ("LAMBDA_TASK_ROOT", dir.path().join("task").to_str().unwrap()),
            ("INFERGATE_DATA_DIR", data.to_str().unwrap()),
            ("INFERGATE_LAMBDA_SEED_DIR", package.to_str().unwrap()),
        ],
    );

    // (1) API Gateway HTTP API, payload 2.0: the public readiness route, then the model list with the key.
    let resp = api.http(&mut function, http_event("apigw-http-v2.json", "GET", "/v2/health/ready", &[], None)).await;
    assert_eq!(status_and_json(&resp), (200, json!({"ready": true})), "{resp}");
    assert!(header(&resp, "content-type").unwrap_or("").starts_with("application/json"), "{resp}");
    assert!(header(&resp, "x-request-id").is_some_and(|id| !id.is_empty()), "{resp}");
    let resp = api
        .http(&mut function, http_event("apigw-http-v2.json", "GET", "/v1/models", &[("authorization", &bearer)], None))
        .await;
    let (status, models) = status_and_json(&resp);
    assert_eq!(status, 200, "{resp}");
    assert!(models.to_string().contains("\"mobilenet\""), "{models}");
    // The data directory is the copy, not the package.
    let copied = walk(&data);
    assert!(copied.iter().any(|p| p.extension().is_some_and(|e| e == "onnx")), "not seeded: {copied:?}");

    // (2) A function URL event: a real cat photo, base64 as function URLs send binary bodies.
    let cat = cat_photo();
    let event = http_event(
        "function-url.json",
        "POST",
        "/v1/classify?top_k=3",
        &[("content-type", "image/jpeg"), ("x-api-key", &token)],
        Some((&cat, true)),
    );
    assert!(event["requestContext"]["domainName"].as_str().unwrap().ends_with(".lambda-url.us-east-1.on.aws"));
    let resp = api.http(&mut function, event).await;
    let (status, answer) = status_and_json(&resp);
    assert_eq!(status, 200, "{resp}");
    assert_eq!(answer["label"], "cat", "{answer}");
    assert_eq!(answer["model"]["name"], "mobilenet", "{answer}");
    assert!(header(&resp, "x-cold-start").is_some(), "{resp}");
    // The same photo again is answered, like over HTTP (from the cache).
    let again = http_event(
        "function-url.json",
        "POST",
        "/v1/classify",
        &[("content-type", "image/jpeg"), ("x-api-key", &token)],
        Some((&cat, true)),
    );
    let (status, answer) = status_and_json(&api.http(&mut function, again).await);
    assert_eq!((status, answer["label"].as_str()), (200, Some("cat")), "{answer}");

    // The HTTP server over the same prepared data, for the errors to compare with.
    let server = Server::start(&package, &[], &[("INFERGATE_AUTH", "on")]);
    let auth = [("authorization", bearer.as_str())];

    // (3) Bad input: invalid JSON to the JSON form of /v1/classify, the same 400 as over HTTP.
    let json_headers = [("authorization", bearer.as_str()), ("content-type", "application/json")];
    let event = http_event("function-url.json", "POST", "/v1/classify", &json_headers, Some((b"{not json", false)));
    let lambda = status_and_json(&api.http(&mut function, event).await);
    let http =
        over_http(reqwest::Method::POST, &server.at("/v1/classify"), &json_headers, Some(b"{not json".to_vec())).await;
    assert_eq!(lambda.0, 400, "{lambda:?}");
    assert_eq!(lambda.1["code"], "bad_json", "{lambda:?}");
    assert_eq!(lambda, http);
    // A bad query parameter, through API Gateway.
    let event = http_event(
        "apigw-http-v2.json",
        "POST",
        "/v1/classify?top_k=0",
        &[("authorization", &bearer), ("content-type", "image/jpeg")],
        Some((&cat, true)),
    );
    let lambda = status_and_json(&api.http(&mut function, event).await);
    let http = over_http(
        reqwest::Method::POST,
        &server.at("/v1/classify?top_k=0"),
        &[auth[0], ("content-type", "image/jpeg")],
        Some(cat.clone()),
    )
    .await;
    assert_eq!((lambda.0, lambda.1["code"].as_str()), (400, Some("bad_top_k")), "{lambda:?}");
    assert_eq!(lambda, http);

    // (4) A route that does not exist: the router's JSON 404, as over HTTP (unknown routes are
    // admin-only, so a client key gets 403 there first).
    let as_admin = [("authorization", admin.as_str())];
    let event = http_event("apigw-http-v2.json", "GET", "/no/such/route", &as_admin, None);
    let lambda = status_and_json(&api.http(&mut function, event).await);
    let http = over_http(reqwest::Method::GET, &server.at("/no/such/route"), &as_admin, None).await;
    assert_eq!((lambda.0, lambda.1["code"].as_str()), (404, Some("no_route")), "{lambda:?}");
    assert_eq!(lambda, http);

    // No key: 401 with its WWW-Authenticate header, as over HTTP.
    let resp = api.http(&mut function, http_event("function-url.json", "GET", "/v1/models", &[], None)).await;
    let lambda = status_and_json(&resp);
    let http = over_http(reqwest::Method::GET, &server.at("/v1/models"), &[], None).await;
    assert_eq!(lambda.0, 401, "{resp}");
    assert!(header(&resp, "www-authenticate").is_some_and(|v| v.starts_with("Bearer")), "{resp}");
    assert_eq!(lambda, http);
    server.stop();

    // An event that is no HTTP request (an S3 notification) is reported as the invocation's error,
    // and the function goes on serving.
    match api.invoke(&mut function, template("s3-put.json")).await {
        Outcome::Error(kind, e) => {
            assert!(!kind.is_empty(), "no error type: {e}");
            assert!(e["errorMessage"].as_str().is_some_and(|m| !m.is_empty()), "{e}");
        }
        Outcome::Response(r) => panic!("an S3 event was answered as HTTP: {r}"),
    }
    let resp = api.http(&mut function, http_event("apigw-http-v2.json", "GET", "/v2/health/live", &[], None)).await;
    assert_eq!(status_and_json(&resp).0, 200, "{resp}");

    assert!(api.inner.init_errors.lock().unwrap().is_empty());
    let stderr = function.stop();
    assert!(stderr.contains("running as AWS Lambda function infergate"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lambda_environment_without_the_function_variables_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let api = RuntimeApi::start().await;
    let out = infergate()
        .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
        .env("INFERGATE_DATA_DIR", dir.path().join("data"))
        .env("INFERGATE_AUTH", "off")
        .env_remove("AWS_LAMBDA_FUNCTION_NAME")
        .env_remove("AWS_LAMBDA_FUNCTION_VERSION")
        .env_remove("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("AWS_LAMBDA_FUNCTION_NAME"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // No TCP listener was opened instead.
    assert!(!String::from_utf8_lossy(&out.stdout).contains("listening on"));
}

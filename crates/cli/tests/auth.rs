//! API keys against the real server and the real `infergate keys` CLI: the first admin key,
//! 401/403 for missing, bad, revoked and under-privileged keys, public routes, per-key
//! history, rate limits (429 + Retry-After) and CORS.

mod common;

use common::*;
use reqwest::header::HeaderMap;
use reqwest::Method;
use std::path::Path;

const DOG: &str = "dog_samoyed_pytorch_hub.jpg";
const CAT: &str = "cat_mobilenet_caffe.jpg";

/// `infergate keys create --role ROLE --json …` on `dir`: (id, token).
fn create_key(dir: &Path, role: &str, extra: &[&str]) -> (String, String) {
    let out = infergate()
        .args(["keys", "create", "--role", role, "--json", "--data-dir"])
        .arg(dir)
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success(), "keys create: {}", String::from_utf8_lossy(&out.stderr));
    let key: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    (key["id"].as_str().unwrap().to_string(), key["token"].as_str().unwrap().to_string())
}

/// `infergate keys ARGS… --data-dir DIR`, which must succeed: its stdout.
fn keys_cli(dir: &Path, args: &[&str]) -> String {
    let out = infergate().arg("keys").args(args).arg("--data-dir").arg(dir).output().unwrap();
    assert!(out.status.success(), "keys {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// How a request presents its key.
#[derive(Clone, Copy)]
enum Key<'a> {
    None,
    Bearer(&'a str),
    Header(&'a str),
}

/// Sends a request (an image body for POSTs) and returns status, headers and JSON (or null).
async fn call(method: Method, url: &str, key: Key<'_>) -> (u16, HeaderMap, serde_json::Value) {
    let mut req = client().request(method.clone(), url);
    req = match key {
        Key::None => req,
        Key::Bearer(t) => req.bearer_auth(t),
        Key::Header(t) => req.header("x-api-key", t),
    };
    if method == Method::POST {
        req = req.header("content-type", "image/jpeg").body(photo(DOG));
    }
    let resp = req.send().await.unwrap();
    let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
    let text = resp.text().await.unwrap();
    (status, headers, serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
}

async fn status(method: Method, url: &str, key: Key<'_>) -> u16 {
    call(method, url, key).await.0
}

#[tokio::test]
async fn the_first_start_prints_an_admin_key_once_and_never_logs_it() {
    let dir = tempfile::tempdir().unwrap();
    let (server, admin) = Server::start_with_auth(dir.path(), &[], &[("RUST_LOG", "debug")]);
    assert!(admin.starts_with("ig_") && admin.len() == 46, "{admin}");
    let (s, _, keys) = call(Method::GET, &server.at("/v1/admin/keys"), Key::Bearer(&admin)).await;
    assert_eq!(s, 200, "{keys}");
    assert_eq!(keys["keys"].as_array().unwrap().len(), 1);
    assert_eq!(keys["keys"][0]["role"], "admin");
    assert!(keys["keys"][0].get("token").is_none() && keys["keys"][0].get("token_sha256").is_none());
    let (s, headers, e) = call(Method::GET, &server.at("/v1/models"), Key::None).await;
    assert_eq!((s, e["code"].as_str()), (401, Some("missing_api_key")), "{e}");
    assert_eq!(headers["www-authenticate"], "Bearer");
    let (_, stderr) = server.stop_with_stdout();
    assert!(stderr.contains("auth: on"), "{stderr}");
    assert!(stderr.contains("/v1/admin/keys"), "debug logs were on: {stderr}");
    assert!(!stderr.contains(&admin), "the token is never logged");

    // The second start creates and prints no key; the first one still works.
    let server = Server::start(dir.path(), &[], &[("INFERGATE_AUTH", "on"), ("RUST_LOG", "debug")]);
    assert_eq!(status(Method::GET, &server.at("/v1/models"), Key::Header(&admin)).await, 200);
    let (stdout, stderr) = server.stop_with_stdout();
    assert!(!stdout.contains("ig_") && !stdout.contains("admin API key"), "{stdout}");
    assert!(!stderr.contains(&admin));
    let listed = keys_cli(dir.path(), &["list", "--json"]);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&listed).unwrap().as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn keys_roles_public_routes_and_revocation() {
    let dir = tempfile::tempdir().unwrap();
    add_catdog(dir.path());
    let (server, admin) = Server::start_with_auth(dir.path(), &[], &[]);
    let (client_id, client_key) = create_key(dir.path(), "client", &["--name", "ci"]);

    // Public without a key: health, metrics, the dashboard's page and assets (an asset that does
    // not exist is a 404, not a 401).
    for (path, want) in [("/v2/health/live", 200), ("/v2/health/ready", 200), ("/metrics", 200), ("/", 200)] {
        assert_eq!(status(Method::GET, &server.at(path), Key::None).await, want, "{path}");
    }
    assert_eq!(status(Method::GET, &server.at("/assets/app.js"), Key::None).await, 200);
    assert_eq!(status(Method::GET, &server.at("/assets/nope.js"), Key::None).await, 404);

    // Everything else needs a valid key.
    let classify = server.at("/v1/classify");
    let forged = format!("ig_{}", "A".repeat(43));
    for key in [Key::None, Key::Bearer(&forged), Key::Header("not-a-token"), Key::Bearer("")] {
        let (s, headers, e) = call(Method::POST, &classify, key).await;
        assert_eq!(s, 401, "{e}");
        assert_eq!(headers["www-authenticate"], "Bearer");
        assert!(e["error"].is_string() && e["code"].is_string(), "{e}");
    }
    for path in ["/v2", "/v2/models/mobilenet", "/v1/inferences", "/no/such/route"] {
        assert_eq!(status(Method::GET, &server.at(path), Key::None).await, 401, "{path}");
    }

    // A client key classifies (either header) and reads, but gets 403 on admin routes.
    let (s, _, a) = call(Method::POST, &classify, Key::Bearer(&client_key)).await;
    assert_eq!((s, a["label"].as_str()), (200, Some("dog")), "{a}");
    assert_eq!(status(Method::POST, &classify, Key::Header(&client_key)).await, 200);
    assert_eq!(status(Method::GET, &server.at("/v2/models/mobilenet"), Key::Bearer(&client_key)).await, 200);
    assert_eq!(status(Method::GET, &server.at("/v1/models"), Key::Bearer(&client_key)).await, 200);
    for (method, path) in [
        (Method::POST, "/v1/models/mobilenet/warm"),
        (Method::POST, "/v1/models/mobilenet/activate"),
        (Method::POST, "/v1/models/mobilenet/rollback"),
        (Method::GET, "/v1/stats"),
        (Method::GET, "/v1/alarms"),
        (Method::GET, "/v1/admin/keys"),
        (Method::DELETE, "/v1/inferences/x"),
    ] {
        let (s, _, e) = call(method.clone(), &server.at(path), Key::Bearer(&client_key)).await;
        assert_eq!((s, e["code"].as_str()), (403, Some("admin_only")), "{method} {path}: {e}");
    }
    let (s, _, warm) = call(Method::POST, &server.at("/v1/models/mobilenet/warm"), Key::Bearer(&admin)).await;
    assert_eq!(s, 200, "{warm}");

    // The CLI client and `models warm` take the key too.
    let dog = shared().join("data").join(DOG);
    let out =
        infergate().args(["classify", "--server", &server.url, "--api-key", &client_key]).arg(&dog).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let out = infergate().args(["classify", "--server", &server.url]).arg(&dog).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("HTTP 401"));
    let out = infergate()
        .args(["models", "warm", "mobilenet", "--server", &server.url])
        .env("INFERGATE_API_KEY", &admin)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // An admin creates a key over HTTP; its token works at once.
    let resp = client()
        .post(server.at("/v1/admin/keys"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"role": "client", "name": "web"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let web: serde_json::Value = resp.json().await.unwrap();
    let web_token = web["token"].as_str().unwrap();
    assert_eq!(status(Method::GET, &server.at("/v1/inferences"), Key::Bearer(web_token)).await, 200);

    // Revoked with the CLI while the server runs: refused from the next request on.
    let out = keys_cli(dir.path(), &["revoke", &client_id]);
    assert!(out.contains("revoked client key") && out.contains(&client_id), "{out}");
    let (s, _, e) = call(Method::POST, &classify, Key::Bearer(&client_key)).await;
    assert_eq!((s, e["code"].as_str()), (401, Some("invalid_api_key")), "{e}");
    let (s, _, revoked) = call(
        Method::DELETE,
        &server.at(&format!("/v1/admin/keys/{}", web["id"].as_str().unwrap())),
        Key::Bearer(&admin),
    )
    .await;
    assert!(s == 200 && revoked["revoked_at"].is_string(), "{revoked}");
    assert_eq!(status(Method::GET, &server.at("/v1/inferences"), Key::Bearer(web_token)).await, 401);

    // The list shows every key and its state, never a token or its hash.
    let table = keys_cli(dir.path(), &["list"]);
    assert!(table.contains(&client_id) && table.contains("ci") && table.contains("first admin"), "{table}");
    let listed = keys_cli(dir.path(), &["list", "--json"]);
    for secret in [&admin, &client_key, &web_token.to_string()] {
        assert!(!table.contains(secret.as_str()) && !listed.contains(secret.as_str()));
    }
    let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
    let revoked: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["revoked_at"].is_string())
        .map(|k| k["id"].as_str().unwrap())
        .collect();
    assert_eq!(revoked.len(), 2);
    assert!(revoked.contains(&client_id.as_str()));
    assert!(listed.as_array().unwrap().iter().all(|k| k.get("token_sha256").is_none()));
    let first = listed.as_array().unwrap().iter().find(|k| k["role"] == "admin").unwrap();
    assert!(first["last_used_at"].is_string(), "last use is tracked: {first}");
    let stderr = server.stop();
    for secret in [&admin, &client_key] {
        assert!(!stderr.contains(secret.as_str()));
    }
}

#[tokio::test]
async fn clients_see_only_their_own_history() {
    let dir = tempfile::tempdir().unwrap();
    add_catdog(dir.path());
    let (server, admin) = Server::start_with_auth(dir.path(), &[], &[]);
    let (a_id, a) = create_key(dir.path(), "client", &[]);
    let (b_id, b) = create_key(dir.path(), "client", &[]);
    let mut ids = Vec::new();
    for (token, file) in [(&a, DOG), (&b, CAT)] {
        let resp = client()
            .post(server.at("/v1/classify"))
            .bearer_auth(token)
            .header("x-client-id", "someone-else")
            .header("content-type", "image/jpeg")
            .body(photo(file))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let answer: serde_json::Value = resp.json().await.unwrap();
        ids.push(answer["request_id"].as_str().unwrap().to_string());
    }
    let list = |token: String| {
        let url = server.at("/v1/inferences");
        async move { call(Method::GET, &url, Key::Bearer(&token)).await.2 }
    };
    let page = list(a.clone()).await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{page}");
    assert_eq!((items[0]["id"].as_str(), items[0]["client_id"].as_str()), (Some(ids[0].as_str()), Some(a_id.as_str())));
    assert_eq!(list(b.clone()).await["items"][0]["client_id"], b_id.as_str(), "x-client-id is ignored with auth on");
    let all = list(admin.clone()).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2, "the admin sees all: {all}");

    let record = |id: &str, tail: &str| server.at(&format!("/v1/inferences/{id}{tail}"));
    assert_eq!(status(Method::GET, &record(&ids[0], ""), Key::Bearer(&a)).await, 200);
    assert_eq!(status(Method::GET, &record(&ids[0], "/image"), Key::Bearer(&a)).await, 200);
    let (s, _, e) = call(Method::GET, &record(&ids[1], ""), Key::Bearer(&a)).await;
    assert_eq!((s, e["code"].as_str()), (404, Some("unknown_inference")), "someone else's record: {e}");
    assert_eq!(status(Method::GET, &record(&ids[1], "/image"), Key::Bearer(&a)).await, 404);
    assert_eq!(status(Method::GET, &record(&ids[1], "/image"), Key::Bearer(&admin)).await, 200);
}

#[tokio::test]
async fn over_the_limit_is_429_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("INFERGATE_RATE_CLIENT_PER_S", "0.2"), ("INFERGATE_BURST_CLIENT", "2")];
    let (server, admin) = Server::start_with_auth(dir.path(), &[], &env);
    let (_, by_role) = create_key(dir.path(), "client", &[]);
    let (_, own) = create_key(dir.path(), "client", &["--rate", "0.1", "--burst", "3"]);
    let (_, unlimited) = create_key(dir.path(), "client", &["--rate", "0"]);
    let url = server.at("/v1/models");
    for (token, burst, retry_after) in [(&by_role, 2, 5), (&own, 3, 10)] {
        for i in 0..burst {
            assert_eq!(status(Method::GET, &url, Key::Bearer(token)).await, 200, "request {i}");
        }
        let (s, headers, e) = call(Method::GET, &url, Key::Bearer(token)).await;
        assert_eq!((s, e["code"].as_str()), (429, Some("rate_limited")), "{e}");
        let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=retry_after).contains(&wait), "Retry-After {wait}");
    }
    for token in [&unlimited, &admin] {
        for _ in 0..10 {
            assert_eq!(status(Method::GET, &url, Key::Bearer(token)).await, 200);
        }
    }
}

#[tokio::test]
async fn cors_allows_only_configured_origins() {
    let dir = tempfile::tempdir().unwrap();
    let origin_of =
        |headers: &HeaderMap| headers.get("access-control-allow-origin").map(|v| v.to_str().unwrap().to_string());
    let get_from = |url: String, origin: &'static str| async move {
        client().get(url).header("origin", origin).send().await.unwrap()
    };
    {
        let (server, _) =
            Server::start_with_auth(dir.path(), &[], &[("INFERGATE_CORS_ORIGINS", "https://app.example")]);
        let resp = get_from(server.at("/v2/health/live"), "https://app.example").await;
        assert_eq!(origin_of(resp.headers()).as_deref(), Some("https://app.example"));
        let resp = get_from(server.at("/v2/health/live"), "https://evil.example").await;
        assert_eq!((resp.status().as_u16(), origin_of(resp.headers())), (200, None));
        // A 401 carries the header too, so the page can read the error.
        let resp = get_from(server.at("/v1/models"), "https://app.example").await;
        assert_eq!(resp.status(), 401);
        assert_eq!(origin_of(resp.headers()).as_deref(), Some("https://app.example"));
        // The preflight needs no key.
        let resp = client()
            .request(Method::OPTIONS, server.at("/v1/classify"))
            .header("origin", "https://app.example")
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization,content-type")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(origin_of(resp.headers()).as_deref(), Some("https://app.example"));
        let allowed = resp.headers()["access-control-allow-headers"].to_str().unwrap().to_string();
        assert!(allowed.contains("authorization") && allowed.contains("x-api-key"), "{allowed}");
    }
    let server = Server::start(dir.path(), &[], &[]);
    let resp = get_from(server.at("/v2/health/live"), "https://app.example").await;
    assert_eq!(origin_of(resp.headers()), None, "no CORS unless configured");
    drop(server);
    let server = Server::start(dir.path(), &[], &[("INFERGATE_CORS_ORIGINS", "*")]);
    let resp = get_from(server.at("/v2/health/live"), "https://any.example").await;
    assert_eq!(origin_of(resp.headers()).as_deref(), Some("*"));
}

#[tokio::test]
async fn auth_settings_are_checked_and_metrics_can_require_a_key() {
    let dir = tempfile::tempdir().unwrap();
    for (key, value, message) in [
        ("INFERGATE_AUTH", "maybe", "INFERGATE_AUTH"),
        ("INFERGATE_CORS_ORIGINS", "https://a.example/", "cors_origins"),
    ] {
        let out = infergate().args(["serve", "--data-dir"]).arg(dir.path()).env(key, value).output().unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{key}={value}: {err}");
    }
    let (server, admin) = Server::start_with_auth(dir.path(), &[], &[("INFERGATE_METRICS_REQUIRE_KEY", "true")]);
    assert_eq!(status(Method::GET, &server.at("/metrics"), Key::None).await, 401);
    assert_eq!(status(Method::GET, &server.at("/metrics"), Key::Bearer(&admin)).await, 200);
    let stderr = server.stop();
    assert!(!stderr.contains("auth is off"));
    let server = Server::start(dir.path(), &[], &[]);
    assert_eq!(status(Method::GET, &server.at("/v1/models"), Key::None).await, 200, "open for development");
    let stderr = server.stop();
    assert!(stderr.contains("auth is off"), "a warning at start: {stderr}");
}

//! The security pass against the real server with auth on: every route of the router's own
//! table refuses callers without a valid key (except the documented public ones), hostile
//! path parameters, malformed and oversized uploads, decompression bombs, secrets in logs,
//! and CORS.

mod common;

use common::*;
use infergate_gateway::auth::rules::{required_access, Access};
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A 140 kB photo.
const CAT: &str = "cat_mobilenet_caffe.jpg";

/// The public routes as the README's "API keys" section and HTTP API section document them
/// (method, path as requested). The dashboard's `/` and `/assets/*` are outside the table.
const DOCUMENTED_PUBLIC: &[(&str, &str)] = &[
    ("GET", "/v2/health/live"),
    ("GET", "/v2/health/ready"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/"),
];

/// Routes that the access table leaves to the handlers: agents present a device token.
const DEVICE_TOKEN_PREFIX: &str = "/v1/agent/";

/// A forged token: the right shape (`ig_` + 43 base64url characters), never issued.
const FORGED: &str = "ig_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// How a request presents its credentials.
#[derive(Clone, Copy, Debug)]
enum Key<'a> {
    None,
    Bearer(&'a str),
    Header(&'a str),
    Raw(&'a str),
}

/// Sends `method url` with `key` and, when given, a body with its content type; returns the
/// status, headers and body text.
async fn send(
    method: Method,
    url: &str,
    key: Key<'_>,
    body: Option<(&str, Vec<u8>)>,
    extra: &[(&str, &str)],
) -> (u16, HeaderMap, String) {
    let mut req = client().request(method, url);
    req = match key {
        Key::None => req,
        Key::Bearer(t) => req.bearer_auth(t),
        Key::Header(t) => req.header("x-api-key", t),
        Key::Raw(v) => req.header("authorization", v),
    };
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    if let Some((content_type, bytes)) = body {
        req = req.header("content-type", content_type).body(bytes);
    }
    let resp = req.send().await.unwrap();
    let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
    (status, headers, resp.text().await.unwrap())
}

/// Asserts `text` is a JSON error `{error, code}` and returns it.
fn json_error(what: &str, status: u16, text: &str) -> Value {
    let v: Value = serde_json::from_str(text).unwrap_or_else(|_| panic!("{what}: not JSON (HTTP {status}): {text:?}"));
    assert!(v["error"].is_string() && v["code"].is_string(), "{what}: not a JSON error (HTTP {status}): {v}");
    v
}

/// Asserts a clean client error: 4xx with a JSON error body.
fn assert_4xx_json(what: &str, status: u16, text: &str) -> Value {
    assert!((400..500).contains(&status), "{what}: HTTP {status}, want 4xx: {text}");
    assert!(!text.starts_with("SQLite format"), "{what}: served the database");
    json_error(what, status, text)
}

/// Fills a route pattern's `{params}` with plausible values.
fn fill(pattern: &str) -> String {
    pattern
        .split('/')
        .map(|s| match s {
            "{name}" | "{model}" => "mobilenet",
            "{version}" => "1",
            "{id}" => "k_0123456789ab",
            "{function}" => "f",
            s if s.starts_with('{') => "x",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Names of every file under `dir`, relative to it.
fn listing(dir: &Path) -> BTreeSet<PathBuf> {
    walk(dir).into_iter().map(|p| p.strip_prefix(dir).unwrap().to_path_buf()).collect()
}

/// `infergate devices add ID --type jetson_nano --json` on `dir`: the device token.
fn add_device(dir: &Path, id: &str) -> String {
    let out = infergate()
        .args(["devices", "add", id, "--type", "jetson_nano", "--json", "--data-dir"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "devices add: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["token"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_in_the_table_needs_a_key_unless_documented_public() {
    let dir = tempfile::tempdir().unwrap();
    let (server, admin) = Server::start_with_auth(dir.path(), &[], &[]);

    // The table as the running server documents it (public: no key needed).
    let (s, _, text) = send(Method::GET, &server.at("/openapi.json"), Key::None, None, &[]).await;
    assert_eq!(s, 200, "{text}");
    let doc: Value = serde_json::from_str(&text).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    // … which is the crate's own table.
    let table: BTreeSet<String> = infergate_gateway::routes::endpoints().iter().map(|e| e.path.to_string()).collect();
    assert_eq!(paths.keys().cloned().collect::<BTreeSet<_>>(), table);
    let mut ops = Vec::new();
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            ops.push((method.to_uppercase(), path.clone(), op["x-access"].as_str().unwrap().to_string()));
        }
    }
    assert!(ops.len() >= 40, "only {} operations", ops.len());

    // The documented public list against the rules and the table.
    for (method, path) in DOCUMENTED_PUBLIC {
        let m = Method::from_bytes(method.as_bytes()).unwrap();
        assert_eq!(required_access(&m, path, false), Access::Public, "{method} {path}");
        if *path != "/" {
            assert!(table.contains(*path), "documented public {path} is not in the route table");
        }
        let (s, _, body) = send(m, &server.at(path), Key::None, None, &[]).await;
        assert_eq!(s, 200, "{method} {path} without a key: {body}");
    }
    let (s, _, _) = send(Method::GET, &server.at("/assets/app.js"), Key::None, None, &[]).await;
    assert_ne!(s, 401, "the dashboard's assets are public");

    let malformed = ["Bearer not a token", "Bearer ig_short", "Basic YWRtaW46YWRtaW4=", "Bearer "];
    let mut checked = 0;
    for (method, pattern, access) in &ops {
        let path = fill(pattern);
        let documented = DOCUMENTED_PUBLIC.iter().any(|(m, p)| m == method && *p == pattern.as_str());
        let device = pattern.starts_with(DEVICE_TOKEN_PREFIX);
        // Nothing is public but the documented routes and the agents' (device token) routes.
        assert_eq!(access == "public", documented || device, "{method} {pattern}: x-access {access}");
        if documented {
            continue;
        }
        let m = Method::from_bytes(method.as_bytes()).unwrap();
        let body = (m == Method::POST).then(|| ("application/json", b"{}".to_vec()));
        let mut keys = vec![Key::None, Key::Bearer(FORGED), Key::Header(FORGED), Key::Header("garbage")];
        keys.extend(malformed.iter().map(|v| Key::Raw(v)));
        for key in keys {
            let what = format!("{method} {path} with {key:?}");
            let (s, headers, text) = send(m.clone(), &server.at(&path), key, body.clone(), &[]).await;
            assert_eq!(s, 401, "{what}: {text}");
            json_error(&what, s, &text);
            if !device {
                assert_eq!(headers["www-authenticate"], "Bearer", "{what}");
            }
            checked += 1;
        }
    }
    assert!(checked > 300, "{checked}");
    // The admin token does work (the refusals above are about the key).
    let (s, _, text) = send(Method::GET, &server.at("/v1/admin/keys"), Key::Bearer(&admin), None, &[]).await;
    assert_eq!(s, 200, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_names_versions_and_ids_are_clean_4xx_and_touch_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    add_catdog(data);
    let device = add_device(data, "d1");
    let (server, admin) = Server::start_with_auth(data, &[], &[]);
    // One authenticated request first, so the database's side files exist before the listing.
    let (s, _, text) = send(Method::GET, &server.at("/v1/models"), Key::Bearer(&admin), None, &[]).await;
    assert_eq!(s, 200, "{text}");
    let before = listing(data);
    let db = std::fs::read(data.join("infergate.db")).ok();

    let long = "a".repeat(5000);
    let names = [
        "..%2Fx",
        "..%2Fetc",
        "..%2F..%2F..%2Fetc%2Fpasswd",
        "a%2Fb",
        "..",
        "%2e%2e",
        "..%5C..%5Cinfergate.db",
        "%00",
        "%FF%FE",
        long.as_str(),
    ];
    let versions = ["1%2F..%2F2", "..%2F1", "-1", "0", "999999999999999999999", "1e3", "%FF"];
    let ids = [
        "..%2F..%2Finfergate.db",
        "..%2Finfergate.db",
        "%2e%2e%2f%2e%2e%2finfergate.db",
        "..",
        "objects%2F..%2F..%2Finfergate.db",
        "%FF",
        long.as_str(),
    ];
    let mut cases: Vec<(Method, String)> = Vec::new();
    for n in names {
        for action in ["warm", "activate", "rollback"] {
            cases.push((Method::POST, format!("/v1/models/{n}/{action}")));
        }
        cases.push((Method::GET, format!("/v2/models/{n}")));
        cases.push((Method::GET, format!("/v2/models/{n}/ready")));
        cases.push((Method::POST, format!("/v2/models/{n}/infer")));
        cases.push((Method::GET, format!("/v2/models/{n}/versions/1")));
        cases.push((Method::GET, format!("/v1/agent/artifacts/{n}/1")));
        cases.push((Method::GET, format!("/v1/route/evaluation/charts/{n}")));
        cases.push((Method::GET, format!("/v1/charts/telemetry/{n}")));
    }
    for v in versions {
        cases.push((Method::POST, format!("/v1/models/mobilenet/warm?version={v}")));
        cases.push((Method::GET, format!("/v2/models/mobilenet/versions/{v}")));
        cases.push((Method::GET, format!("/v2/models/mobilenet/versions/{v}/ready")));
        cases.push((Method::POST, format!("/v2/models/mobilenet/versions/{v}/infer")));
        cases.push((Method::GET, format!("/v1/agent/artifacts/mobilenet/{v}")));
    }
    for id in ids {
        cases.push((Method::GET, format!("/v1/inferences/{id}")));
        cases.push((Method::GET, format!("/v1/inferences/{id}/image")));
        cases.push((Method::DELETE, format!("/v1/inferences/{id}")));
        cases.push((Method::GET, format!("/v1/devices/{id}")));
        cases.push((Method::DELETE, format!("/v1/admin/keys/{id}")));
    }
    // Literal dot segments: the client resolves them; whatever is left must still be clean.
    cases.push((Method::GET, "/v1/inferences/../../infergate.db".into()));
    cases.push((Method::GET, "/v2/models/../x/versions/1".into()));

    for (method, path) in &cases {
        let body = match *method {
            Method::POST if path.contains("/activate") => Some(("application/json", br#"{"version": -1}"#.to_vec())),
            Method::POST if path.contains("/v2/") => Some(("application/json", b"{}".to_vec())),
            _ => None,
        };
        let extra = [("x-device-id", "d1")];
        let key = if path.starts_with(DEVICE_TOKEN_PREFIX) { Key::Bearer(&device) } else { Key::Bearer(&admin) };
        let (s, _, text) = send(method.clone(), &server.at(path), key, body, &extra).await;
        let what = format!("{method} {}", &path[..path.len().min(120)]);
        assert_4xx_json(&what, s, &text);
    }
    // A real version still works for the device (the refusals above were about the names).
    let (s, _, _) = send(
        Method::GET,
        &server.at("/v1/agent/artifacts/mobilenet/1"),
        Key::Bearer(&device),
        None,
        &[("x-device-id", "d1")],
    )
    .await;
    assert_eq!(s, 200);

    let (_, stderr) = server.stop_with_stdout();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(listing(data), before, "files appeared or vanished in the data directory");
    if let Some(db) = db {
        assert!(!db.is_empty());
    }
}

/// A multipart part: name, filename, content type, bytes.
type Part<'a> = (Option<&'a str>, Option<&'a str>, &'a str, &'a [u8]);

/// A multipart body with `parts` and `boundary`.
fn multipart(boundary: &str, parts: &[Part]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, filename, content_type, bytes) in parts {
        out.extend(format!("--{boundary}\r\nContent-Disposition: form-data").as_bytes());
        if let Some(n) = name {
            out.extend(format!("; name=\"{n}\"").as_bytes());
        }
        if let Some(f) = filename {
            out.extend(format!("; filename=\"{f}\"").as_bytes());
        }
        out.extend(format!("\r\nContent-Type: {content_type}\r\n\r\n").as_bytes());
        out.extend(*bytes);
        out.extend(b"\r\n");
    }
    out.extend(format!("--{boundary}--\r\n").as_bytes());
    out
}

/// The number of history records an admin sees.
async fn records(server: &Server, admin: &str) -> usize {
    let (s, _, text) = send(Method::GET, &server.at("/v1/inferences"), Key::Bearer(admin), None, &[]).await;
    assert_eq!(s, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    v["items"].as_array().unwrap_or_else(|| panic!("no items: {v}")).len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_multipart_is_refused_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    add_catdog(data);
    let limit = 200_000;
    let (server, admin) = Server::start_with_auth(data, &[], &[("INFERGATE_MAX_BODY_BYTES", &limit.to_string())]);
    let objects = listing(&data.join("objects"));
    let dog = photo(CAT);
    assert!(dog.len() < limit, "the photo fits the limit");
    let b = "XyZzyBoundary";
    let ct = format!("multipart/form-data; boundary={b}");
    let good = multipart(b, &[(Some("image"), Some("dog.jpg"), "image/jpeg", &dog)]);
    let truncated = good[..good.len() / 2].to_vec();
    let big = vec![0xAB_u8; limit + 1];
    let cases: Vec<(&str, String, Vec<u8>, Option<u16>)> = vec![
        ("no boundary", "multipart/form-data".into(), good.clone(), None),
        ("empty boundary", "multipart/form-data; boundary=".into(), good.clone(), None),
        ("wrong boundary", "multipart/form-data; boundary=other".into(), good.clone(), None),
        ("truncated body", ct.clone(), truncated, None),
        ("empty body", ct.clone(), Vec::new(), None),
        ("a part with no name", ct.clone(), multipart(b, &[(None, Some("dog.jpg"), "image/jpeg", &dog)]), None),
        (
            "files under other names",
            ct.clone(),
            multipart(
                b,
                &[(Some("file"), Some("a.jpg"), "image/jpeg", &dog), (Some("photo"), None, "image/jpeg", &dog)],
            ),
            None,
        ),
        (
            "an image field that is not an image",
            ct.clone(),
            multipart(b, &[(Some("image"), None, "image/jpeg", b"hello")]),
            None,
        ),
        ("a gif", ct.clone(), multipart(b, &[(Some("image"), None, "image/gif", b"GIF89a")]), Some(415)),
        (
            "over the limit in one part",
            ct.clone(),
            multipart(b, &[(Some("image"), Some("big.jpg"), "image/jpeg", &big)]),
            Some(413),
        ),
        ("a raw body over the limit", "image/jpeg".into(), big.clone(), Some(413)),
    ];
    for (what, content_type, body, want) in cases {
        let (s, _, text) =
            send(Method::POST, &server.at("/v1/classify"), Key::Bearer(&admin), Some((&content_type, body)), &[]).await;
        assert_4xx_json(what, s, &text);
        if let Some(want) = want {
            assert_eq!(s, want, "{what}: {text}");
        }
    }
    assert_eq!(records(&server, &admin).await, 0, "a refused request stored a record");
    assert_eq!(listing(&data.join("objects")), objects, "a refused request stored an image");
    // Two `image` parts, even two good ones: refused as ambiguous, nothing stored.
    let two = multipart(
        b,
        &[(Some("image"), Some("a.jpg"), "image/jpeg", &dog), (Some("image"), Some("b.jpg"), "image/jpeg", &dog)],
    );
    let (s, _, text) = send(Method::POST, &server.at("/v1/classify"), Key::Bearer(&admin), Some((&ct, two)), &[]).await;
    assert_eq!(s, 400, "two image parts: {text}");
    assert!(text.contains("duplicate_image"), "{text}");
    assert_eq!(records(&server, &admin).await, 0, "two image parts stored a record");
    assert_eq!(listing(&data.join("objects")), objects, "two image parts stored an image");
    // Other fields beside the one image are read and ignored.
    let extra = multipart(
        b,
        &[(Some("note"), None, "text/plain", b"hello"), (Some("image"), Some("a.jpg"), "image/jpeg", &dog)],
    );
    let (s, _, text) =
        send(Method::POST, &server.at("/v1/classify"), Key::Bearer(&admin), Some((&ct, extra)), &[]).await;
    assert_eq!(s, 200, "an image with another field: {text}");
    let (s, _, _) = send(Method::GET, &server.at("/v2/health/live"), Key::None, None, &[]).await;
    assert_eq!(s, 200, "the server is up");
}

/// CRC-32 (IEEE), for hand-made PNG chunks.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFF_u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend((data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend(kind);
    out.extend(data);
    let crc = crc32(&out[start..]);
    out.extend(crc.to_be_bytes());
}

/// A small PNG whose header says `w`×`h` RGB pixels, with a few compressed bytes of data.
fn png_bomb(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(w.to_be_bytes());
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    // A zlib stream of zeros (stored blocks would be big; this is a tiny deflate of zeros).
    png_chunk(&mut out, b"IDAT", &[0x78, 0x9c, 0x63, 0x60, 0x18, 0x05, 0xa3, 0x60, 0x14, 0x0c, 0x77, 0x00, 0x00]);
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// A small extended WebP (VP8X) whose canvas is `w`×`h` (each at most 2^24), then a lossless
/// 16384×16384 bitstream header and nothing else.
fn webp_bomb(w: u32, h: u32) -> Vec<u8> {
    let mut vp8x = vec![0u8; 4];
    vp8x.extend(&(w - 1).to_le_bytes()[..3]);
    vp8x.extend(&(h - 1).to_le_bytes()[..3]);
    let bits: u32 = 16383 | (16383 << 14);
    let mut vp8l = vec![0x2f];
    vp8l.extend(bits.to_le_bytes());
    vp8l.extend([0u8; 11]);
    let mut body = b"WEBP".to_vec();
    for (kind, data) in [(b"VP8X", &vp8x), (b"VP8L", &vp8l)] {
        body.extend(kind);
        body.extend((data.len() as u32).to_le_bytes());
        body.extend(data);
    }
    let mut out = b"RIFF".to_vec();
    out.extend((body.len() as u32).to_le_bytes());
    out.extend(body);
    out
}

/// A lossless WebP whose bitstream header says 16384×16384.
fn webp_lossless_bomb() -> Vec<u8> {
    let bits: u32 = 16383 | (16383 << 14);
    let mut vp8l = vec![0x2f];
    vp8l.extend(bits.to_le_bytes());
    vp8l.extend([0u8; 11]);
    let mut body = b"WEBPVP8L".to_vec();
    body.extend((vp8l.len() as u32).to_le_bytes());
    body.extend(vp8l);
    let mut out = b"RIFF".to_vec();
    out.extend((body.len() as u32).to_le_bytes());
    out.extend(body);
    out
}

/// A real JPEG whose frame header is patched to say 65535×65535.
fn jpeg_bomb() -> Vec<u8> {
    let mut jpeg = photo(CAT);
    let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0] || w == [0xFF, 0xC2]).expect("a frame header");
    jpeg[sof + 5..sof + 9].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
    jpeg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decompression_bombs_are_refused_before_decoding() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    add_catdog(data);
    let (server, admin) = Server::start_with_auth(data, &[], &[]);
    let bombs = [
        ("png 100000x100000", "image/png", png_bomb(100_000, 100_000)),
        ("png 2^31-1 square", "image/png", png_bomb(0x7FFF_FFFF, 0x7FFF_FFFF)),
        ("webp vp8x 100000x100000", "image/webp", webp_bomb(100_000, 100_000)),
        ("webp lossless 16384x16384", "image/webp", webp_lossless_bomb()),
        ("jpeg 65535x65535", "image/jpeg", jpeg_bomb()),
    ];
    for (what, content_type, bytes) in bombs {
        assert!(bytes.len() < 200_000, "{what} is small");
        let (s, _, text) = send(
            Method::POST,
            &server.at("/v1/classify"),
            Key::Bearer(&admin),
            Some((content_type, bytes.clone())),
            &[],
        )
        .await;
        let e = assert_4xx_json(what, s, &text);
        assert_eq!(s, 400, "{what}: {e}");
        // The same bytes as a multipart upload and through the Open Inference Protocol's binary input.
        let b = "bomb";
        let body = multipart(b, &[(Some("image"), Some("x"), content_type, &bytes)]);
        let ct = format!("multipart/form-data; boundary={b}");
        let (s, _, text) =
            send(Method::POST, &server.at("/v1/classify"), Key::Bearer(&admin), Some((&ct, body)), &[]).await;
        assert_4xx_json(&format!("{what} (multipart)"), s, &text);
        let (s, _, _) = send(Method::GET, &server.at("/v2/health/live"), Key::None, None, &[]).await;
        assert_eq!(s, 200, "the server is up after {what}");
    }
    assert_eq!(records(&server, &admin).await, 0);
    let stderr = server.stop();
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_never_reach_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let device = add_device(data, "d1");
    let env = [("RUST_LOG", "debug")];
    let (server, admin) = Server::start_with_auth(data, &["--log-format", "json"], &env);
    let admin = admin.as_str();
    let (s, _, text) = send(
        Method::POST,
        &server.at("/v1/admin/keys"),
        Key::Bearer(admin),
        Some(("application/json", json!({"role": "client", "name": "web"}).to_string().into_bytes())),
        &[],
    )
    .await;
    assert_eq!(s, 201, "{text}");
    let created: Value = serde_json::from_str(&text).unwrap();
    let client_token = created["token"].as_str().unwrap().to_string();
    let wrong = "ig_wrongwrongwrongwrongwrongwrongwrongwrongwro";
    let calls: Vec<(Method, &str, Key, u16)> = vec![
        (Method::GET, "/v1/models", Key::Bearer(admin), 200),
        (Method::GET, "/v1/admin/keys", Key::Header(admin), 200),
        (Method::GET, "/v1/inferences", Key::Bearer(&client_token), 200),
        (Method::GET, "/v1/stats", Key::Bearer(&client_token), 403),
        (Method::GET, "/v1/models", Key::Bearer(wrong), 401),
        (Method::GET, "/v1/models", Key::Header(wrong), 401),
        (Method::GET, "/v1/models", Key::Bearer(&device), 401),
    ];
    for (method, path, key, want) in calls {
        let (s, _, text) = send(method, &server.at(path), key, None, &[]).await;
        assert_eq!(s, want, "{path} {key:?}: {text}");
    }
    let heartbeat = json!({"agent_url": null, "status": {}}).to_string().into_bytes();
    for token in [device.as_str(), wrong] {
        let (s, _, _) = send(
            Method::POST,
            &server.at("/v1/agent/heartbeat"),
            Key::Bearer(token),
            Some(("application/json", heartbeat.clone())),
            &[("x-device-id", "d1")],
        )
        .await;
        assert!(s < 500, "heartbeat: {s}");
    }
    let (stdout, stderr) = server.stop_with_stdout();
    assert!(stderr.contains("/v1/models"), "debug logs were on: {stderr}");
    for line in stderr.lines().filter(|l| l.starts_with('{')).take(20) {
        serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
    }
    for (name, token) in [("admin", admin), ("client", &client_token), ("wrong", wrong), ("device", &device)] {
        for secret in [token.to_string(), sha256_hex(token)] {
            assert!(!stderr.contains(&secret), "the {name} token (or its hash) is in stderr");
            assert!(!stdout.contains(&secret), "the {name} token (or its hash) is in stdout after the first print");
        }
    }
    // A second start prints no key at all.
    let server = Server::start(data, &["--log-format", "json"], &[("INFERGATE_AUTH", "on"), ("RUST_LOG", "debug")]);
    let (s, _, _) = send(Method::GET, &server.at("/v1/models"), Key::Bearer(admin), None, &[]).await;
    assert_eq!(s, 200);
    let (stdout, stderr) = server.stop_with_stdout();
    assert!(!stdout.contains("ig_") && !stderr.contains(admin), "a restart printed a key: {stdout}");
}

async fn cors_headers(server: &Server, origin: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let preflight = [
        ("origin", origin),
        ("access-control-request-method", "POST"),
        ("access-control-request-headers", "authorization"),
    ];
    for (method, path, extra) in [
        (Method::OPTIONS, "/v1/classify", &preflight[..]),
        (Method::OPTIONS, "/v1/models", &preflight[..]),
        (Method::GET, "/v2/health/live", &preflight[..1]),
        (Method::GET, "/v1/models", &preflight[..1]),
    ] {
        let (_, headers, _) = send(method.clone(), &server.at(path), Key::None, None, extra).await;
        let acao = headers.get("access-control-allow-origin").map(|v| v.to_str().unwrap().to_string());
        let acac = headers.get("access-control-allow-credentials");
        assert!(acac.is_none_or(|v| v != "true") || acao.as_deref() != Some("*"));
        out.push((format!("{method} {path}"), acao));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_is_off_by_default_and_echoes_only_configured_origins() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = Server::start_with_auth(dir.path(), &[], &[]);
    for origin in ["https://evil.example", "null"] {
        for (what, acao) in cors_headers(&server, origin).await {
            assert_eq!(acao, None, "default, {origin}: {what}");
        }
    }
    drop(server);
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = Server::start_with_auth(dir.path(), &[], &[("INFERGATE_CORS_ORIGINS", "https://app.example")]);
    for origin in ["https://evil.example", "https://app.example.evil.example", "http://app.example", "null"] {
        for (what, acao) in cors_headers(&server, origin).await {
            assert_eq!(acao, None, "configured, {origin}: {what}");
        }
    }
    for (what, acao) in cors_headers(&server, "https://app.example").await {
        assert_eq!(acao.as_deref(), Some("https://app.example"), "{what}");
    }
}

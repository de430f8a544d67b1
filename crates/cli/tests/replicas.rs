//! Two `infergate serve` replicas on one PostgreSQL and one S3 bucket (issue 9's acceptance):
//! what one replica records, the other sees — history, the answer cache, key revocations,
//! the active model version — and per-key rates are shared out between them. Each replica
//! has its own empty data directory: the model file reaches B from the object store.
//!
//! Needs the test PostgreSQL (`INFERGATE_TEST_DATABASE_URL`, set by scripts/test) and
//! `moto_server` (scripts/setup); skipped with a message without them, except under CI.

mod common;

use common::*;
use infergate_store::testing::{TestDatabase, TestS3};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

const CAT: &str = "data/catsdogs/test/cat/cat.4001.jpg";

/// `infergate ARGS` on the shared store; stdout, or a panic with stderr.
fn cli(env: &[(String, String)], data_dir: &Path, args: &[&str]) -> String {
    let out = infergate().args(args).arg("--data-dir").arg(data_dir).envs(env.iter().cloned()).output().unwrap();
    assert!(out.status.success(), "infergate {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn call(method: reqwest::Method, url: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = client().request(method, url).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn classify(server: &Server, token: &str, image: &[u8]) -> (u16, Value) {
    let resp = client()
        .post(server.at("/v1/classify"))
        .bearer_auth(token)
        .header("content-type", "image/jpeg")
        .body(image.to_vec())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn two_replicas_share_one_postgres_and_s3() {
    let Some(db) = TestDatabase::create().await else { return };
    let Some(s3) = TestS3::start().await else { return };
    s3.create_bucket("infergate-replicas").await;
    let mut env: Vec<(String, String)> = s3.env().into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    env.push(("INFERGATE_DATABASE_URL".into(), db.url().into()));
    env.push(("INFERGATE_OBJECT_STORE".into(), "s3://infergate-replicas/shared".into()));
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());

    // v1 (fp32, active) and v2 (int8, inactive), registered through A's data directory.
    let labels = imagenet_labels();
    let int8 = shared().join("models/mobilenetv2-12-int8.onnx");
    for file in [fp32_model(), int8.clone()] {
        let add = ["models", "add", "mobilenet", "--file", file.to_str().unwrap(), "--labels"];
        cli(&env, dir_a.path(), &[&add[..], &[labels.to_str().unwrap(), "--task", "cat-dog"]].concat());
    }
    let s3_objects = s3.open("s3://infergate-replicas/shared").list("models").await.unwrap();
    assert_eq!(s3_objects.len(), 2, "both model files are in the object store: {s3_objects:?}");

    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (a, admin) = Server::start_with_auth(dir_a.path(), &[], &env_refs);
    let b_env: Vec<(&str, &str)> = [("INFERGATE_AUTH", "on")].into_iter().chain(env_refs.iter().copied()).collect();
    let b = Server::start(dir_b.path(), &[], &b_env);

    // A client key made on A (one request per second, burst 2, for the whole service).
    let body = json!({"role": "client", "name": "replicas", "rate_per_s": 1.0, "burst": 2});
    let (s, key) = call(reqwest::Method::POST, &a.at("/v1/admin/keys"), &admin, Some(body)).await;
    assert_eq!(s, 201, "{key}");
    let token = key["token"].as_str().unwrap().to_string();

    // A classification made through A is listed by B, with the same image.
    let cat = std::fs::read(shared().join(CAT)).unwrap();
    let (s, first) = classify(&a, &token, &cat).await;
    assert_eq!((s, first["label"].as_str(), first["cached"].as_bool()), (200, Some("cat"), Some(false)), "{first}");
    let id = first["request_id"].as_str().unwrap();
    let (s, page) = call(reqwest::Method::GET, &b.at("/v1/inferences"), &admin, None).await;
    assert_eq!(s, 200, "{page}");
    let ids: Vec<&str> = page["items"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [id], "B lists what A answered");
    let image = client().get(b.at(&format!("/v1/inferences/{id}/image"))).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(image.status(), 200);
    assert_eq!(image.bytes().await.unwrap().to_vec(), cat, "B serves A's image from the object store");

    // The identical image sent to B is a cache hit. (A second after the first request, so
    // that the key's shared bucket has a token on B's side too.)
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let (s, again) = classify(&b, &token, &cat).await;
    assert_eq!((s, again["cached"].as_bool(), again["label"].as_str()), (200, Some(true), Some("cat")), "{again}");

    // Rates are shared out: burst 2 for the service is 1 per replica while both run.
    let (s, _) = classify(&a, &token, &cat).await;
    assert_eq!(s, 200);
    let (s, refused) = classify(&a, &token, &cat).await;
    assert_eq!(s, 429, "{refused}");
    assert!(refused["error"].as_str().unwrap().contains("shared by 2 gateway replicas"), "{refused}");

    // A model version activated on A is served by B within 5 s; B fetches the file from S3.
    let (s, activated) =
        call(reqwest::Method::POST, &a.at("/v1/models/mobilenet/activate"), &admin, Some(json!({"version": 2}))).await;
    assert_eq!(s, 200, "{activated}");
    let switched = Instant::now();
    let served_by_b = loop {
        let (s, answer) = classify(&b, &admin, &cat).await;
        assert_eq!(s, 200, "{answer}");
        if answer["model"]["version"] == 2 {
            break switched.elapsed();
        }
        assert!(switched.elapsed() < Duration::from_secs(5), "B still answers with v1 5 s after A activated v2");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    eprintln!("B answered with v2 {:.1} s after A activated it", served_by_b.as_secs_f64());
    let v2_file =
        format!("models/{}.onnx", hex::encode(<sha2::Sha256 as sha2::Digest>::digest(std::fs::read(&int8).unwrap())));
    assert!(dir_b.path().join(&v2_file).is_file(), "B fetched {v2_file} from the object store into its data directory");

    // A key revoked on A is refused by B.
    let key_id = key["id"].as_str().unwrap();
    let (s, revoked) = call(reqwest::Method::DELETE, &a.at(&format!("/v1/admin/keys/{key_id}")), &admin, None).await;
    assert_eq!(s, 200, "{revoked}");
    let (s, refused) = classify(&b, &token, &cat).await;
    assert_eq!((s, refused["code"].as_str()), (401, Some("invalid_api_key")), "{refused}");

    a.stop();
    b.stop();
}

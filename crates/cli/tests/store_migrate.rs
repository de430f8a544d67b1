//! `infergate store migrate` through the real binary: a store built by the server and the
//! CLI (classifications, cached outputs, images, a model, a key, a device) moved from SQLite
//! and a directory to PostgreSQL and S3 (moto on loopback), verified, moved again with
//! nothing to copy, then served from there by a fresh server with an empty data directory.
//! Bad URLs and missing sources are refused before anything is created.

mod common;

use common::*;
use infergate_store::testing::{TestDatabase, TestS3};
use serde_json::Value;
use std::path::Path;
use std::process::Output;

const DOG: &str = "dog_samoyed_pytorch_hub.jpg";
const CAT: &str = "cat_mobilenet_caffe.jpg";

/// `infergate [global…] store migrate ARGS` with `env`.
fn migrate(global: &[&str], args: &[&str], env: &[(&str, String)]) -> Output {
    let mut cmd = infergate();
    cmd.args(global).args(["store", "migrate"]).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn ok_json(out: &Output) -> Value {
    let (stdout, stderr) = text(out);
    assert!(out.status.success(), "exit {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}", out.status);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

/// The numbers of a table's row in the text report: source, target before, inserted, target after.
fn table_row(report: &str, table: &str) -> Vec<u64> {
    let line = report.lines().find(|l| l.split_whitespace().next() == Some(table)).unwrap_or_else(|| {
        panic!("no {table} row in the report:\n{report}");
    });
    assert!(line.ends_with(" same"), "{line}");
    line.split_whitespace().skip(1).take(4).map(|n| n.parse().unwrap()).collect()
}

/// An admin key and a device, made with the CLI in `dir`; returns the key's token.
fn key_and_device(dir: &Path) -> String {
    let run = |args: &[&str]| infergate().args(args).arg("--data-dir").arg(dir).output().unwrap();
    let key = ok_json(&run(&["keys", "create", "--role", "admin", "--name", "ops", "--json"]));
    ok_json(&run(&["devices", "add", "nano-1", "--type", "jetson_nano_2gb", "--json"]));
    key["token"].as_str().unwrap().to_string()
}

async fn authed_get(url: &str, token: &str) -> reqwest::Response {
    client().get(url).bearer_auth(token).send().await.unwrap()
}

#[tokio::test]
async fn sqlite_and_a_directory_move_to_postgres_and_s3_and_serve_from_there() {
    let Some(db) = TestDatabase::create().await else { return };
    let Some(s3) = TestS3::start().await else { return };
    s3.create_bucket("infergate").await;
    let s3_env = s3.env();

    // The source: a model, a key, a device, three answers (one from the cache), two images.
    let dir = tempfile::tempdir().unwrap();
    add_catdog(dir.path());
    let token = key_and_device(dir.path());
    let server = Server::start(dir.path(), &[], &[]);
    for (photo_name, cached) in [(DOG, false), (CAT, false), (DOG, true)] {
        let (s, answer) = post(&server.at("/v1/classify"), "image/jpeg", photo(photo_name)).await;
        assert_eq!((s, answer["cached"].as_bool()), (200, Some(cached)), "{answer}");
    }
    let (_, history) = get(&server.at("/v1/inferences?limit=50")).await;
    assert_eq!(history["items"].as_array().unwrap().len(), 3, "{history}");
    server.stop();

    let db_file = dir.path().join("infergate.db");
    let from = format!("sqlite://{}", db_file.display());
    let objects = dir.path().join("objects");
    let args = [
        "--from",
        &from,
        "--to",
        db.url(),
        "--from-objects",
        objects.to_str().unwrap(),
        "--to-objects",
        "s3://infergate/prod",
    ];
    let out = migrate(&[], &args, &s3_env);
    let (report, stderr) = text(&out);
    assert!(out.status.success(), "stdout:\n{report}\nstderr:\n{stderr}");
    assert_eq!(table_row(&report, "inferences"), [3, 0, 3, 3], "{report}");
    assert_eq!(table_row(&report, "output_cache"), [2, 0, 2, 2], "{report}");
    assert_eq!(table_row(&report, "models"), [1, 0, 1, 1], "{report}");
    assert_eq!(table_row(&report, "api_keys"), [1, 0, 1, 1], "{report}");
    assert_eq!(table_row(&report, "devices"), [1, 0, 1, 1], "{report}");
    assert!(report.contains("objects: 3 in the source") && report.contains("3 copied"), "{report}");
    assert!(report.contains("3 objects copied; every row and object verified"), "{report}");
    let password = db.url().split_once("://").and_then(|(_, r)| r.split_once('@')).map(|(user, _)| user.to_string());
    if let Some((_, password)) = password.as_deref().and_then(|u| u.split_once(':')) {
        assert!(!report.contains(&format!(":{password}@")), "the password is printed:\n{report}");
    }
    let keys: Vec<String> = s3.open("s3://infergate/prod").list("").await.unwrap().into_iter().map(|o| o.key).collect();
    assert_eq!(keys.iter().filter(|k| k.starts_with("images/")).count(), 2, "{keys:?}");
    assert_eq!(keys.iter().filter(|k| k.starts_with("models/")).count(), 1, "{keys:?}");

    // Again: nothing to copy, everything verified.
    let args_json: Vec<&str> = args.iter().copied().chain(["--json"]).collect();
    let again = ok_json(&migrate(&[], &args_json, &s3_env));
    assert_eq!(again["rows_inserted"], 0, "{again}");
    assert_eq!(again["objects"]["copied"], 0, "{again}");
    assert_eq!(again["objects"]["verified"], 3, "{again}");
    for t in again["tables"].as_array().unwrap() {
        assert_eq!(t["verified"], true, "{t}");
        assert_eq!(t["target_rows_before"], t["source_rows"], "{t}");
    }
    assert_eq!(again["not_copied"][0]["table"], "gateway_replicas", "{again}");

    // A fresh server on the new store, with an empty data directory and auth on.
    let fresh = tempfile::tempdir().unwrap();
    let mut env: Vec<(&str, &str)> = s3_env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.push(("INFERGATE_AUTH", "on"));
    let server =
        Server::start(fresh.path(), &["--database-url", db.url(), "--object-store", "s3://infergate/prod"], &env);
    let resp = client().get(server.at("/v1/inferences")).send().await.unwrap();
    assert_eq!(resp.status(), 401, "auth is on");
    let resp = authed_get(&server.at("/v1/inferences?limit=50"), &token).await;
    assert_eq!(resp.status(), 200, "the migrated key works");
    let moved: Value = resp.json().await.unwrap();
    assert_eq!(moved["items"], history["items"], "the history differs after the move");
    let dog = history["items"].as_array().unwrap().iter().find(|i| i["label"] == "dog").unwrap();
    let resp = authed_get(&server.at(&format!("/v1/inferences/{}/image", dog["id"].as_str().unwrap())), &token).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.bytes().await.unwrap().as_ref(), photo(DOG).as_slice(), "the image differs after the move");
    let resp = client()
        .post(server.at("/v1/classify"))
        .bearer_auth(&token)
        .header("content-type", "image/jpeg")
        .body(photo(CAT))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!((answer["cached"].as_bool(), answer["label"].as_str()), (Some(true), Some("cat")), "{answer}");
    server.stop();

    // The device came too.
    let mut cmd = infergate();
    cmd.args(["--database-url", db.url(), "--data-dir"]).arg(fresh.path()).args(["devices", "list", "--json"]);
    let devices = ok_json(&cmd.output().unwrap());
    assert_eq!(devices[0]["id"], "nano-1", "{devices}");
}

#[test]
fn sqlite_to_sqlite_without_a_server_and_bad_input_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    key_and_device(&source);
    let data_dir = ["--data-dir", source.to_str().unwrap()];

    // Another SQLite file and directory: the configured store (the data directory) is the default source.
    let target = dir.path().join("target");
    std::fs::create_dir_all(&target).unwrap();
    let to = format!("sqlite://{}", target.join("infergate.db").display());
    let to_objects = target.join("objects");
    let args = ["--to", &to, "--to-objects", to_objects.to_str().unwrap(), "--json"];
    let first = ok_json(&migrate(&data_dir, &args, &[]));
    assert_eq!(first["rows_inserted"], 2, "{first}");
    assert_eq!(first["objects"]["objects"], 0, "{first}");
    let again = ok_json(&migrate(&data_dir, &args, &[]));
    assert_eq!(again["rows_inserted"], 0, "{again}");
    let keys = ok_json(&infergate().arg("--data-dir").arg(&target).args(["keys", "list", "--json"]).output().unwrap());
    assert_eq!(keys[0]["name"], "ops", "{keys}");

    // Without --to-objects the objects stay where they are, and the report says so.
    let other = format!("sqlite://{}", dir.path().join("other.db").display());
    let out = migrate(&data_dir, &["--to", &other], &[]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("objects: not copied (no --to-objects)"), "{stdout}");

    // An unsupported target: refused before anything is opened or created.
    let new_objects = dir.path().join("new-objects");
    let out = migrate(
        &data_dir,
        &["--to", "mysql://root:hunter2@db.example/infergate", "--to-objects", new_objects.to_str().unwrap()],
        &[],
    );
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("unsupported target database URL") && stderr.contains("postgres://"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "the password is printed: {stderr}");
    assert!(!new_objects.exists(), "a refused migration created {}", new_objects.display());

    // A source database that does not exist: named, and not created.
    let missing = dir.path().join("nowhere").join("infergate.db");
    let fresh_target = dir.path().join("fresh.db");
    let fresh_url = format!("sqlite://{}", fresh_target.display());
    let missing_url = format!("sqlite://{}", missing.display());
    let out = migrate(&[], &["--from", &missing_url, "--to", &fresh_url], &[]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("source database") && stderr.contains("does not exist"), "{stderr}");
    assert!(!missing.exists() && !missing.parent().unwrap().exists() && !fresh_target.exists());
    // The same for a data directory without a store.
    let empty = tempfile::tempdir().unwrap();
    let out = migrate(&["--data-dir", empty.path().to_str().unwrap()], &["--to", &fresh_url], &[]);
    assert!(!out.status.success() && text(&out).1.contains("does not exist"), "{}", text(&out).1);
    assert_eq!(std::fs::read_dir(empty.path()).unwrap().count(), 0);
    assert!(!fresh_target.exists());

    // A store onto itself.
    let itself = format!("sqlite://{}", source.join("infergate.db").display());
    let out = migrate(&data_dir, &["--to", &itself], &[]);
    assert!(!out.status.success() && text(&out).1.contains("same database"), "{}", text(&out).1);
}

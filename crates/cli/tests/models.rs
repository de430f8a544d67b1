//! `infergate models add/list`: local files, downloads verified by SHA-256 (from a local
//! HTTP server), and refusals that leave nothing behind.

mod common;

use common::*;
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;

/// Serves `/model.onnx` and `/labels.txt` from the shared files; 404 for anything else.
fn file_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            let mut line = String::new();
            while reader.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
                line.clear();
            }
            let path = request_line.split_whitespace().nth(1).unwrap_or("/").to_string();
            let body = match path.as_str() {
                "/model.onnx" => std::fs::read(fp32_model()).ok(),
                "/labels.txt" => std::fs::read(imagenet_labels()).ok(),
                _ => None,
            };
            let mut stream = stream;
            let _ = match body {
                Some(b) => stream
                    .write_all(
                        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", b.len())
                            .as_bytes(),
                    )
                    .and_then(|_| stream.write_all(&b)),
                None => stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
            };
        }
    });
    format!("http://{addr}")
}

fn sha256_of(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

fn model_files(data_dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(data_dir.join("models"))
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

fn list_json(data_dir: &Path) -> serde_json::Value {
    let out = infergate().args(["models", "list", "--json", "--data-dir"]).arg(data_dir).output().unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn download_by_url_is_hash_checked_and_a_mismatch_leaves_nothing() {
    let base = file_server();
    let dir = tempfile::tempdir().unwrap();
    let sha = sha256_of(&fp32_model());
    let model_url = format!("{base}/model.onnx");
    let labels_url = format!("{base}/labels.txt");

    // A wrong hash: refused, nothing registered, no file left behind.
    let wrong = "0".repeat(64);
    let out = add_model(dir.path(), "zoo", &["--url", &model_url, "--sha256", &wrong, "--labels", &labels_url]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("SHA-256 mismatch") && err.contains(&sha), "{err}");
    assert!(model_files(dir.path()).is_empty(), "{:?}", model_files(dir.path()));
    assert_eq!(list_json(dir.path()), serde_json::json!([]));

    // A URL needs a hash; a 404 is an error; a bad hash string is refused.
    let out = add_model(dir.path(), "zoo", &["--url", &model_url]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--sha256 is required"));
    let out = add_model(dir.path(), "zoo", &["--url", &format!("{base}/missing.onnx"), "--sha256", &sha]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("404"));
    let out = add_model(dir.path(), "zoo", &["--url", &model_url, "--sha256", "xyz"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a SHA-256"));
    assert!(model_files(dir.path()).is_empty());

    // The right hash: downloaded, stored under its hash, registered and active.
    let out =
        add_model(dir.path(), "zoo", &["--url", &model_url, "--sha256", &sha.to_uppercase(), "--labels", &labels_url]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(model_files(dir.path()), vec![format!("{sha}.onnx")]);
    assert_eq!(sha256_of(&dir.path().join("models").join(format!("{sha}.onnx"))), sha);
    let list = list_json(dir.path());
    assert_eq!(list[0]["name"], "zoo");
    assert_eq!(list[0]["version"], 1);
    assert_eq!(list[0]["active"], true);
    assert_eq!(list[0]["sha256"], sha);
    assert_eq!(list[0]["labels"][258], "Samoyed");
    assert_eq!(list[0]["signature"]["input_name"], "input");
    assert_eq!(list[0]["signature"]["output_shape"], serde_json::json!([-1, 1000]));
}

#[test]
fn local_files_versions_and_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let model = fp32_model();
    let model = model.to_str().unwrap();
    let out = add_model(dir.path(), "m", &["--file", model, "--task", "cat-dog"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("added m v1"));
    let out = add_model(dir.path(), "m", &["--file", model]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("added m v2"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("inactive"));
    let list = list_json(dir.path());
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[0]["active"], true);
    assert_eq!(list[1]["active"], false);
    assert_eq!(list[1]["labels"], serde_json::json!([]));

    let labels = imagenet_labels();
    let not_labels = shared().join("data/expected_top5.json");
    let refusals: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--file", model, "--version", "1"], "already has a version 1"),
        (vec!["--file", "/nonexistent.onnx"], "cannot read"),
        (vec!["--file", labels.to_str().unwrap()], "could not load model"),
        (vec!["--file", model, "--input-size", "300"], "does not take"),
        (vec!["--file", model, "--labels", not_labels.to_str().unwrap()], "names but the model outputs"),
        (vec!["--file", model, "--task", "horse"], "unknown task"),
        (vec!["--file", model, "--std", "0,1,1"], "std"),
    ];
    for (args, message) in refusals {
        let out = add_model(dir.path(), "m", &args);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{args:?}: {err}");
    }
    let out = add_model(dir.path(), "bad/name", &["--file", model]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid model name"));
    assert_eq!(list_json(dir.path()).as_array().unwrap().len(), 2, "refusals register nothing");

    let table = infergate().args(["models", "list", "--data-dir"]).arg(dir.path()).output().unwrap();
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.lines().count() == 3 && text.contains("cat-dog"), "{text}");
}

#[tokio::test]
async fn register_over_http_from_a_url() {
    let dir = tempfile::tempdir().unwrap();
    let files = file_server();
    let server = Server::start(dir.path(), &[], &[]);
    let url = server.at("/v1/models");
    let sha = sha256_of(&fp32_model());
    let body = |v: serde_json::Value| serde_json::to_vec(&v).unwrap();

    // Refusals change nothing.
    for (req, code) in [
        (serde_json::json!({"name": "m", "url": fp32_model(), "sha256": sha}), "bad_url"),
        (
            serde_json::json!({"name": "m", "url": format!("{files}/model.onnx"), "sha256": "ab".repeat(32)}),
            "invalid_model",
        ),
        (serde_json::json!({"name": "m", "url": format!("{files}/model.onnx")}), "bad_json"),
        (
            serde_json::json!({"name": "m", "url": format!("{files}/model.onnx"), "sha256": sha, "task": "x"}),
            "bad_task",
        ),
    ] {
        let (s, e) = post(&url, "application/json", body(req.clone())).await;
        assert_eq!((s, e["code"].as_str()), (400, Some(code)), "{req}: {e}");
    }
    assert!(model_files(dir.path()).is_empty());
    assert_eq!(get(&url).await.1["models"].as_array().unwrap().len(), 0);

    let req = serde_json::json!({
        "name": "m", "url": format!("{files}/model.onnx"), "sha256": sha,
        "labels_url": format!("{files}/labels.txt"), "task": "cat-dog",
    });
    let (s, added) = post(&url, "application/json", body(req)).await;
    assert_eq!(s, 201, "{added}");
    assert_eq!(
        (added["version"].as_i64(), added["active"].as_bool(), added["classes"].as_u64()),
        (Some(1), Some(true), Some(1000))
    );
    let (s, a) = post(&server.at("/v1/classify?model=m"), "image/jpeg", photo("cat_mobilenet_caffe.jpg")).await;
    assert_eq!((s, a["label"].as_str()), (200, Some("cat")), "the new model answers at once: {a}");
}

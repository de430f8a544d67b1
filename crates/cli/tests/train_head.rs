//! `infergate train-head` end to end with the real binary: refusals that register nothing,
//! training on the shared cat/dog photos from a registered base model, then serving the
//! trained head over HTTP with the usual answer format.

mod common;

use common::*;
use std::path::Path;
use std::process::Output;

fn train_head(data_dir: &Path, args: &[&str]) -> Output {
    infergate().args(["train-head", "--data-dir"]).arg(data_dir).args(args).output().unwrap()
}

fn registered(data_dir: &Path) -> Vec<(String, i64)> {
    let out = infergate().args(["models", "list", "--json", "--data-dir"]).arg(data_dir).output().unwrap();
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .map(|m| (m["name"].as_str().unwrap().to_string(), m["version"].as_i64().unwrap()))
        .collect()
}

fn expect_refusal(data_dir: &Path, args: &[&str], message: &str) {
    let out = train_head(data_dir, args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} succeeded");
    assert!(err.contains(message), "{args:?}: {err}");
}

#[tokio::test]
async fn trains_registers_and_serves_a_cat_dog_head() {
    let dir = tempfile::tempdir().unwrap();
    let out = add_model(
        dir.path(),
        "mobilenetv2",
        &["--file", fp32_model().to_str().unwrap(), "--labels", imagenet_labels().to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let train = shared().join("data/catsdogs/train");
    let train = train.to_str().unwrap();

    // Bad input: a clear message, a failure, nothing registered.
    let photos = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(photos.path().join("cat")).unwrap();
    std::fs::create_dir_all(photos.path().join("dog")).unwrap();
    std::fs::write(photos.path().join("cat/one.jpg"), photo("cat_mobilenet_caffe.jpg")).unwrap();
    let only_cats = photos.path().to_str().unwrap();
    let missing = dir.path().join("no-such-dir");
    expect_refusal(
        dir.path(),
        &["--base", "mobilenetv2", "--data", missing.to_str().unwrap(), "--out", "h"],
        "not a directory",
    );
    expect_refusal(dir.path(), &["--base", "mobilenetv2", "--data", only_cats, "--out", "h"], "no images");
    expect_refusal(dir.path(), &["--base", "nosuchmodel", "--data", train, "--out", "h"], "unknown base model");
    expect_refusal(dir.path(), &["--base", "mobilenetv2", "--data", train, "--out", "bad/name"], "invalid model name");
    expect_refusal(dir.path(), &["--base", "mobilenetv2", "--data", train, "--out", "h", "--holdout", "1"], "[0, 1)");
    assert_eq!(registered(dir.path()), vec![("mobilenetv2".to_string(), 1)]);

    // Train on the shared photos from the registered base.
    let out = train_head(dir.path(), &["--base", "mobilenetv2", "--data", train, "--out", "catdog"]);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("images: 400 cat + 400 dog; training on 640, holding out 160"), "{stderr}");
    assert!(stdout.contains("held-out accuracy: "), "{stdout}");
    assert!(stdout.contains("registered catdog v1 (cat-dog, labels cat,dog"), "{stdout}");
    assert_eq!(registered(dir.path()), vec![("catdog".to_string(), 1), ("mobilenetv2".to_string(), 1)]);

    // Served like any model, with the answer format unchanged.
    let server = Server::start(dir.path(), &[], &[]);
    let url = server.at("/v1/classify?model=catdog");
    let (s, base_answer) = post(&server.at("/v1/classify?model=mobilenetv2"), "image/jpeg", photo(CAT)).await;
    assert_eq!(s, 200, "{base_answer}");
    let test = shared().join("data/catsdogs/test");
    for (label, file) in [
        ("cat", test.join("cat/cat.4001.jpg")),
        ("dog", test.join("dog/dog.4001.jpg")),
        ("cat", shared().join("data").join(CAT)),
    ] {
        let (s, a) = post(&url, "image/jpeg", std::fs::read(&file).unwrap()).await;
        assert_eq!(s, 200, "{a}");
        assert_eq!(a["label"], label, "{}: {a}", file.display());
        assert_eq!(a["model"], serde_json::json!({ "name": "catdog", "version": 1 }));
        assert_eq!(a["in_domain"], true);
        let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&a), keys(&base_answer), "same fields as an ImageNet model's answer");
        let (cat, dog) = (a["group_scores"]["cat"].as_f64().unwrap(), a["group_scores"]["dog"].as_f64().unwrap());
        assert!((cat + dog - 1.0).abs() < 1e-5, "{a}");
        assert!((a["confidence"].as_f64().unwrap() - cat.max(dog)).abs() < 1e-6, "{a}");
        let top: Vec<&str> = a["top_k"].as_array().unwrap().iter().map(|t| t["label"].as_str().unwrap()).collect();
        assert_eq!(top.len(), 2, "the default top_k is capped at the two classes: {a}");
        assert_eq!(top[0], label);
    }
    let (s, e) = post(&format!("{url}&top_k=3"), "image/jpeg", photo(CAT)).await;
    assert_eq!((s, e["code"].as_str()), (400, Some("bad_top_k")), "an explicit top_k above 2 is still refused");
    let (_, models) = get(&server.at("/v1/models")).await;
    let head = models["models"].as_array().unwrap().iter().find(|m| m["name"] == "catdog").unwrap().clone();
    assert_eq!((head["task"].as_str(), head["classes"].as_u64()), (Some("cat-dog"), Some(2)));
}

const CAT: &str = "cat_mobilenet_caffe.jpg";

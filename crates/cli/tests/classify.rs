//! `POST /v1/classify` end to end against the real server: formats, cache, history,
//! restart, the CLI client, and the runtime it says it picked.

mod common;

use base64::Engine as _;
use common::*;
use image::ImageFormat;

const DOG: &str = "dog_samoyed_pytorch_hub.jpg";
const CAT: &str = "cat_mobilenet_caffe.jpg";

#[tokio::test]
async fn classify_every_input_form_then_cache_and_history() {
    let dir = tempfile::tempdir().unwrap();
    add_catdog(dir.path());
    let server = Server::start(dir.path(), &[], &[]);
    let url = server.at("/v1/classify");

    // Raw JPEG body: the full schema, a cold start.
    let resp = client().post(&url).header("content-type", "image/jpeg").body(photo(DOG)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-cold-start"], "true");
    let a: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(a["label"], "dog");
    assert_eq!(a["model"]["name"], "mobilenet");
    assert_eq!(a["model"]["version"], 1);
    assert_eq!(a["top_k"][0]["index"], 258);
    assert_eq!(a["top_k"][0]["label"], "Samoyed");
    assert_eq!(a["top_k"].as_array().unwrap().len(), 5);
    assert_eq!(a["cached"], false);
    assert_eq!(a["cold_start"], true);
    assert_eq!(a["in_domain"], true);
    // The default pricing: a 1,024 MB Lambda behind an HTTP API gateway, billed per started ms.
    let billed_s = a["timings_ms"]["total"].as_f64().unwrap().ceil() / 1e3;
    let want = 0.2e-6 + billed_s * 0.000_016_666_7 + 1e-6;
    assert!((a["cost_usd"].as_f64().unwrap() - want).abs() < 1e-12, "cost {} want {want}", a["cost_usd"]);
    let (cat, dog) = (a["group_scores"]["cat"].as_f64().unwrap(), a["group_scores"]["dog"].as_f64().unwrap());
    assert!((a["confidence"].as_f64().unwrap() - dog / (cat + dog)).abs() < 1e-5);
    for k in ["decode", "preprocess", "queue", "inference", "total"] {
        assert!(a["timings_ms"][k].as_f64().unwrap() >= 0.0, "{k}");
    }

    // Same bytes again: the stored answer, no inference, any top_k.
    let (s, b) = post(&format!("{url}?top_k=3"), "image/jpeg", photo(DOG)).await;
    assert_eq!(s, 200);
    assert_eq!(b["cached"], true);
    assert_eq!(b["cold_start"], false);
    assert_eq!(b["label"], a["label"]);
    assert_eq!(b["confidence"], a["confidence"]);
    assert_eq!(b["top_k"].as_array().unwrap().len(), 3);
    assert_eq!(b["top_k"][0], a["top_k"][0]);
    assert_eq!(b["timings_ms"]["inference"], 0.0);

    // Multipart with a PNG, JSON base64 with a WebP, and a raw body with no content type.
    let png = reencode(&photo(CAT), ImageFormat::Png);
    let form = reqwest::multipart::Form::new()
        .text("note", "ignored")
        .part("image", reqwest::multipart::Part::bytes(png).file_name("cat.png").mime_str("image/png").unwrap());
    let resp = client().post(&url).multipart(form).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let c: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(c["label"], "cat");
    assert_eq!(c["top_k"][0]["index"], 282);
    let webp = reencode(&photo(CAT), ImageFormat::WebP);
    let body = serde_json::json!({ "image_base64": base64::engine::general_purpose::STANDARD.encode(&webp) });
    let (s, d) = post(&url, "application/json", body.to_string().into_bytes()).await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["label"], "cat");
    let resp = client().post(&url).body(photo(CAT)).send().await.unwrap();
    assert_eq!(resp.status(), 200);

    // History: newest first, filters, pagination, one record, its image.
    let (s, page) = get(&server.at("/v1/inferences")).await;
    assert_eq!(s, 200);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    assert!(page["next_cursor"].is_null());
    assert_eq!(items[4]["id"], a["request_id"]);
    assert_eq!(items[4]["answer"], a);
    let (_, dogs) = get(&server.at("/v1/inferences?label=dog")).await;
    assert_eq!(dogs["items"].as_array().unwrap().len(), 2);
    let (_, p1) = get(&server.at("/v1/inferences?limit=2")).await;
    let cursor = p1["next_cursor"].as_str().unwrap().to_string();
    let (_, p2) = get(&server.at(&format!("/v1/inferences?limit=2&cursor={cursor}"))).await;
    let (_, p3) =
        get(&server.at(&format!("/v1/inferences?limit=2&cursor={}", p2["next_cursor"].as_str().unwrap()))).await;
    let mut ids: Vec<String> = [&p1, &p2, &p3]
        .iter()
        .flat_map(|p| p["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(ids.len(), 5);
    assert!(p3["next_cursor"].is_null());
    ids.dedup();
    assert_eq!(ids.len(), 5, "pages do not overlap");
    let (_, future) = get(&server.at("/v1/inferences?since=2999-01-01T00:00:00Z")).await;
    assert!(future["items"].as_array().unwrap().is_empty());
    let (_, past) = get(&server.at("/v1/inferences?since=2000-01-01T00:00:00Z")).await;
    assert_eq!(past["items"].as_array().unwrap().len(), 5);
    let id = a["request_id"].as_str().unwrap();
    let (s, one) = get(&server.at(&format!("/v1/inferences/{id}"))).await;
    assert_eq!(s, 200);
    assert_eq!(one["label"], "dog");
    assert_eq!(one["image"]["content_type"], "image/jpeg");
    let img = client().get(server.at(&format!("/v1/inferences/{id}/image"))).send().await.unwrap();
    assert_eq!(img.headers()["content-type"], "image/jpeg");
    assert_eq!(img.bytes().await.unwrap().to_vec(), photo(DOG));
    let (s, _) = get(&server.at("/v1/inferences/0190b3c4-0000-7000-8000-000000000000")).await;
    assert_eq!(s, 404);
    let (s, models) = get(&server.at("/v1/models")).await;
    assert_eq!(s, 200);
    assert_eq!(models["models"][0]["loaded"], true);
    assert_eq!(models["models"][0]["classes"], 1000);
}

#[tokio::test]
async fn restart_keeps_history_and_cache() {
    let dir = tempfile::tempdir().unwrap();
    add_catdog(dir.path());
    let server = Server::start(dir.path(), &[], &[]);
    let (s, first) = post(&server.at("/v1/classify"), "image/jpeg", photo(CAT)).await;
    assert_eq!(s, 200);
    assert_eq!(first["cached"], false);
    server.stop();

    let server = Server::start(dir.path(), &[], &[]);
    let (_, page) = get(&server.at("/v1/inferences")).await;
    assert_eq!(page["items"][0]["id"], first["request_id"]);
    let (s, again) = post(&server.at("/v1/classify"), "image/jpeg", photo(CAT)).await;
    assert_eq!(s, 200);
    assert_eq!(again["cached"], true);
    assert_eq!(again["cold_start"], false, "a cached answer loads no model");
    assert_eq!(again["label"], first["label"]);
    assert_eq!(again["top_k"], first["top_k"]);
}

#[tokio::test]
async fn starts_without_models_and_says_how_to_add_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[], &[("INFERGATE_AUTH", "off")]);
    let (s, e) = post(&server.at("/v1/classify"), "image/jpeg", photo(CAT)).await;
    assert_eq!(s, 404);
    assert_eq!(e["code"], "no_model");
    assert!(e["error"].as_str().unwrap().contains("infergate models add"));
    let (s, _) = get(&server.at("/v2/health/ready")).await;
    assert_eq!(s, 200);
    let stderr = server.stop();
    assert!(stderr.contains("no model registered yet"), "{stderr}");
    assert!(stderr.contains("runtime: ONNX Runtime"), "auto picks ORT when .venv has it: {stderr}");
}

#[tokio::test]
async fn tract_runtime_serves_the_same_answer() {
    let dir = tempfile::tempdir().unwrap();
    add_catdog(dir.path());
    let server = Server::start(dir.path(), &["--runtime", "tract"], &[]);
    let (s, a) = post(&server.at("/v1/classify"), "image/jpeg", photo(DOG)).await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(a["top_k"][0]["index"], 258);
    let stderr = server.stop();
    assert!(stderr.contains("runtime: tract"), "{stderr}");
}

#[test]
fn cli_client_prints_one_line_per_file() {
    let dir = tempfile::tempdir().unwrap();
    add_catdog(dir.path());
    let server = Server::start(dir.path(), &[], &[]);
    let data = shared().join("data");
    let out = infergate()
        .args(["classify", "--server", &server.url])
        .arg(data.join(DOG))
        .arg(data.join(CAT))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].contains(DOG) && lines[0].contains("\tdog\t"), "{text}");
    assert!(lines[1].contains(CAT) && lines[1].contains("\tcat\t"), "{text}");
    let bad =
        infergate().args(["classify", "--server", &server.url]).arg(workspace().join("Cargo.toml")).output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stdout).contains("error: HTTP 400"));
}

#[tokio::test]
async fn request_ids_match_the_record_and_client_ids_never_collide() {
    let dir = tempfile::tempdir().unwrap();
    add_catdog(dir.path());
    let server = Server::start(dir.path(), &[], &[]);
    let url = server.at("/v1/classify");
    let resp = client().post(&url).header("content-type", "image/jpeg").body(photo(CAT)).send().await.unwrap();
    let header = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    let a: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(a["request_id"], header.as_str());
    let mut ids = Vec::new();
    for _ in 0..2 {
        let resp = client()
            .post(&url)
            .header("content-type", "image/jpeg")
            .header("x-request-id", "client-chosen")
            .body(photo(CAT))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["x-request-id"], "client-chosen");
        let b: serde_json::Value = resp.json().await.unwrap();
        ids.push(b["request_id"].as_str().unwrap().to_string());
    }
    assert_ne!(ids[0], ids[1], "each request gets its own record id");
    let (_, page) = get(&server.at("/v1/inferences")).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
}

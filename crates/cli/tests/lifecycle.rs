//! The life of records and of the server: deleting a history record (and its image when no
//! other record shows it), and a graceful shutdown that finishes queued requests.

mod common;

use common::*;

fn test_photo(i: usize) -> Vec<u8> {
    let dir = shared().join("data/catsdogs/test/dog");
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    std::fs::read(&files[i]).unwrap()
}

async fn delete(url: &str) -> u16 {
    client().delete(url).send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn deleting_records_takes_the_image_with_the_last_one() {
    let dir = tempfile::tempdir().unwrap();
    add_catdog(dir.path());
    let server = Server::start(dir.path(), &[], &[]);
    let url = server.at("/v1/classify");
    let (_, first) = post(&url, "image/jpeg", test_photo(0)).await;
    let (_, again) = post(&url, "image/jpeg", test_photo(0)).await;
    assert_eq!(again["cached"], true);
    let (first, again) = (first["request_id"].as_str().unwrap(), again["request_id"].as_str().unwrap());

    assert_eq!(delete(&server.at(&format!("/v1/inferences/{first}"))).await, 204);
    assert_eq!(get(&server.at(&format!("/v1/inferences/{first}"))).await.0, 404);
    assert_eq!(delete(&server.at(&format!("/v1/inferences/{first}"))).await, 404, "already gone");
    // The other record still shows the image.
    let img = client().get(server.at(&format!("/v1/inferences/{again}/image"))).send().await.unwrap();
    assert_eq!(img.status(), 200);
    assert_eq!(img.bytes().await.unwrap().to_vec(), test_photo(0));

    assert_eq!(delete(&server.at(&format!("/v1/inferences/{again}"))).await, 204);
    let (_, page) = get(&server.at("/v1/inferences")).await;
    assert!(page["items"].as_array().unwrap().is_empty());
    let images = walk(&dir.path().join("objects/images"));
    assert!(images.is_empty(), "no image is left behind: {images:?}");
    // The cache went with the image: the same bytes run the model again, and are stored again.
    let (s, third) = post(&url, "image/jpeg", test_photo(0)).await;
    assert_eq!((s, third["cached"].as_bool()), (200, Some(false)));
    assert_eq!(walk(&dir.path().join("objects/images")).len(), 1);

    assert_eq!(delete(&server.at("/v1/inferences/not-an-id")).await, 404);
}

#[tokio::test]
async fn sigterm_finishes_queued_requests_then_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    add_catdog(dir.path());
    // tract takes a while to load the model, so the requests are still queued at SIGTERM.
    let server = Server::start(dir.path(), &["--runtime", "tract", "--sessions", "1"], &[]);
    let url = server.at("/v1/classify");
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let url = url.clone();
            tokio::spawn(async move { post(&url, "image/jpeg", test_photo(i)).await })
        })
        .collect();
    // Wait until all six are inside the server (queued for the instance being loaded).
    loop {
        let (_, models) = get(&server.at("/v1/models")).await;
        let m = &models["models"][0];
        if m["queue_depth"].as_u64().unwrap_or(0) + m["instances"].as_u64().unwrap_or(0) * 6 >= 6 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let (code, stderr) = tokio::task::spawn_blocking(move || server.terminate()).await.unwrap();
    for t in tasks {
        let (s, a) = t.await.unwrap();
        assert_eq!(s, 200, "a request in flight at SIGTERM was not finished: {a}");
        assert_eq!(a["cached"], false);
    }
    assert_eq!(code, Some(0), "stderr:\n{stderr}");
}

#[tokio::test]
async fn json_logs_are_one_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    add_catdog(dir.path());
    let server = Server::start(dir.path(), &["--log-format", "json"], &[("RUST_LOG", "info")]);
    assert_eq!(post(&server.at("/v1/classify"), "image/jpeg", test_photo(0)).await.0, 200);
    let stderr = server.stop();
    let json_lines: Vec<serde_json::Value> =
        stderr.lines().filter(|l| l.starts_with('{')).map(|l| serde_json::from_str(l).unwrap()).collect();
    let loaded = json_lines.iter().find(|l| l["message"] == "instance loaded").expect("the load is logged");
    assert_eq!(loaded["level"], "INFO");
    assert_eq!(loaded["model"], "mobilenet");
    assert!(loaded["load_ms"].as_f64().unwrap() > 0.0);

    let out = infergate().args(["serve", "--log-format", "yaml", "--data-dir"]).arg(dir.path()).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected text or json"));
}

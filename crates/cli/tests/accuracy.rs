//! Accuracy of the cat/dog task over all 600 test photos through the HTTP API (fp32
//! MobileNetV2): at least 90 % (the reference preprocessing gets 91.5 %).

mod common;

use common::*;
use futures::StreamExt;

#[tokio::test]
async fn cat_dog_accuracy_over_600_test_images_is_at_least_90_percent() {
    let dir = tempfile::tempdir().unwrap();
    add_catdog(dir.path());
    let server = Server::start(dir.path(), &[], &[]);
    let url = server.at("/v1/classify");
    let mut files = Vec::new();
    for label in ["cat", "dog"] {
        for entry in std::fs::read_dir(shared().join("data/catsdogs/test").join(label)).unwrap() {
            files.push((label, entry.unwrap().path()));
        }
    }
    assert_eq!(files.len(), 600);
    let http = client();
    let results: Vec<(bool, bool)> = futures::stream::iter(files)
        .map(|(label, path)| {
            let http = http.clone();
            let url = url.clone();
            async move {
                let body = tokio::fs::read(&path).await.unwrap();
                let resp = http.post(&url).header("content-type", "image/jpeg").body(body).send().await.unwrap();
                assert_eq!(resp.status(), 200, "{}", path.display());
                let a: serde_json::Value = resp.json().await.unwrap();
                (a["label"] == label, a["cached"] == true)
            }
        })
        .buffer_unordered(4)
        .collect()
        .await;
    let correct = results.iter().filter(|(ok, _)| *ok).count();
    let accuracy = correct as f64 / results.len() as f64;
    eprintln!("cat/dog accuracy over {} photos: {:.1} %", results.len(), accuracy * 100.0);
    assert!(accuracy >= 0.90, "accuracy {:.3} is under 0.90", accuracy);
    let (_, page) = get(&server.at("/v1/inferences?limit=500")).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 500, "every answer is in the history");
}

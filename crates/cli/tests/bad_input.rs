//! Every bad input gets a clear JSON error with the right status, and nothing is stored.

mod common;

use common::*;

/// Checks status and error code, and that the body is the JSON error shape.
async fn expect(url: &str, content_type: &str, body: Vec<u8>, status: u16, code: &str) {
    let (s, e) = post(url, content_type, body).await;
    assert_eq!(s, status, "{url} {content_type}: {e}");
    assert_eq!(e["code"], code, "{e}");
    assert!(!e["error"].as_str().unwrap().is_empty());
}

#[tokio::test]
async fn bad_inputs_are_refused_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    add_catdog(dir.path());
    // A small body limit so the 413 test needs no 10 MiB upload; a pixel limit the dog
    // photo (1600 x 1200 = 1.9 MP) is over.
    let server = Server::start(dir.path(), &[], &[("INFERGATE_MAX_BODY_BYTES", "400000")]);
    let url = server.at("/v1/classify");
    let jpeg = photo("cat_mobilenet_caffe.jpg");

    expect(&url, "image/jpeg", vec![], 400, "empty_body").await;
    expect(&url, "image/jpeg", jpeg[..jpeg.len() / 2].to_vec(), 400, "invalid_image").await;
    expect(&url, "image/jpeg", b"definitely not an image".to_vec(), 400, "invalid_image").await;
    expect(&url, "image/png", jpeg[..200].to_vec(), 400, "invalid_image").await;
    expect(&url, "image/gif", b"GIF89a\x01\x00\x01\x00".to_vec(), 415, "unsupported_media_type").await;
    expect(&url, "application/octet-stream", b"GIF89a\x01\x00\x01\x00".to_vec(), 415, "unsupported_media_type").await;
    expect(&url, "text/plain", jpeg.clone(), 415, "unsupported_media_type").await;
    expect(&url, "image/jpeg", photo("dog_samoyed_pytorch_hub.jpg"), 413, "payload_too_large").await;
    expect(&format!("{url}?model=nope"), "image/jpeg", jpeg.clone(), 404, "unknown_model").await;
    expect(&format!("{url}?top_k=0"), "image/jpeg", jpeg.clone(), 400, "bad_top_k").await;
    expect(&format!("{url}?top_k=abc"), "image/jpeg", jpeg.clone(), 400, "bad_top_k").await;
    expect(&format!("{url}?top_k=1001"), "image/jpeg", jpeg.clone(), 400, "bad_top_k").await;
    expect(&url, "application/json", b"{not json".to_vec(), 400, "bad_json").await;
    expect(&url, "application/json", b"{\"image\": \"x\"}".to_vec(), 400, "missing_image").await;
    expect(&url, "application/json", b"{\"image_base64\": \"@@@\"}".to_vec(), 400, "bad_base64").await;
    expect(&url, "application/json", b"{\"image_base64\": \"aGVsbG8=\"}".to_vec(), 400, "invalid_image").await;
    expect(&url, "multipart/form-data; boundary=x", b"--x\r\nbroken".to_vec(), 400, "bad_multipart").await;
    let form = reqwest::multipart::Form::new().text("other", "field");
    let resp = client().post(&url).multipart(form).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    let e: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(e["code"], "missing_image");

    // History queries with bad parameters.
    for q in ["limit=0", "limit=x", "since=yesterday", "cursor=zzz", "colour=red"] {
        let (s, e) = get(&server.at(&format!("/v1/inferences?{q}"))).await;
        assert_eq!(s, 400, "{q}: {e}");
    }
    let (s, _) = get(&server.at("/v1/inferences/not-an-id")).await;
    assert_eq!(s, 404);
    let (s, e) = get(&server.at("/no/such/route")).await;
    assert_eq!((s, e["code"].as_str().unwrap()), (404, "no_route"));
    let resp = client().delete(&url).send().await.unwrap();
    assert_eq!(resp.status(), 405);

    // Nothing was stored: no history rows, no objects.
    let (_, page) = get(&server.at("/v1/inferences")).await;
    assert!(page["items"].as_array().unwrap().is_empty(), "{page}");
    let objects = dir.path().join("objects/images");
    let stored = walk(&objects);
    assert!(stored.is_empty(), "objects were written: {stored:?}");

    // And the server still answers good requests.
    let (s, ok) = post(&url, "image/jpeg", jpeg).await;
    assert_eq!(s, 200, "{ok}");
}

#[tokio::test]
async fn images_over_the_pixel_limit_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    add_catdog(dir.path());
    let server = Server::start(dir.path(), &[], &[("INFERGATE_MAX_PIXELS", "1000000")]);
    // The dog photo is 1.9 megapixels.
    let (s, e) = post(&server.at("/v1/classify"), "image/jpeg", photo("dog_samoyed_pytorch_hub.jpg")).await;
    assert_eq!(s, 400);
    assert_eq!(e["code"], "image_too_large");
    assert!(e["error"].as_str().unwrap().contains("over the limit"), "{e}");
    let (_, page) = get(&server.at("/v1/inferences")).await;
    assert!(page["items"].as_array().unwrap().is_empty());
}

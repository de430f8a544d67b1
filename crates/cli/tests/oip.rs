//! The Open Inference Protocol v2 endpoints, exercised by Triton's own Python client
//! (`tritonclient[http]` from PyPI, installed into `.venv` by `scripts/setup`), plus raw
//! HTTP checks of the error paths a client library would hide.

mod common;

use common::*;

#[test]
fn tritonclient_http_passes_json_binary_and_classification_checks() {
    let dir = tempfile::tempdir().unwrap();
    add_catdog(dir.path());
    let server = Server::start(dir.path(), &[], &[]);
    let python = workspace().join(".venv/bin/python");
    assert!(python.exists(), "{} is missing: run scripts/setup", python.display());
    let script = workspace().join("crates/cli/tests/oip_tritonclient.py");
    let data = shared().join("data");
    let out = std::process::Command::new(python)
        .arg(script)
        .arg(server.url.trim_start_matches("http://"))
        .arg("mobilenet")
        .arg(data.join("dog_samoyed_pytorch_hub.jpg"))
        .arg(data.join("cat_mobilenet_caffe.jpg"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "tritonclient checks failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("all Open Inference Protocol checks passed"), "{stdout}");
}

#[tokio::test]
async fn malformed_inference_requests_get_json_errors() {
    let dir = tempfile::tempdir().unwrap();
    add_catdog(dir.path());
    let server = Server::start(dir.path(), &[], &[]);
    let infer = server.at("/v2/models/mobilenet/infer");
    let cases: Vec<(&str, Vec<u8>, Option<&str>, u16)> = vec![
        ("not json", b"{nope".to_vec(), None, 400),
        ("no inputs field", b"{}".to_vec(), None, 400),
        ("two inputs", br#"{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1]},{"name":"b","shape":[1],"datatype":"FP32","data":[1]}]}"#.to_vec(), None, 400),
        ("wrong name", br#"{"inputs":[{"name":"x","shape":[1,1],"datatype":"FP32","data":[1]}]}"#.to_vec(), None, 400),
        ("wrong shape", br#"{"inputs":[{"name":"input","shape":[1,1],"datatype":"FP32","data":[1]}]}"#.to_vec(), None, 400),
        ("int64", br#"{"inputs":[{"name":"input","shape":[1],"datatype":"INT64","data":[1]}]}"#.to_vec(), None, 400),
        ("header past body", br#"{"inputs":[]}"#.to_vec(), Some("9999"), 400),
        ("header not a number", br#"{"inputs":[]}"#.to_vec(), Some("ten"), 400),
        ("bad output", br#"{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","data":["aGk="]}],"outputs":[{"name":"nope"}]}"#.to_vec(), None, 400),
        ("bad image", br#"{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","data":["aGk="]}]}"#.to_vec(), None, 400),
    ];
    for (what, body, header, status) in cases {
        let mut req = client().post(&infer).body(body);
        if let Some(h) = header {
            req = req.header("Inference-Header-Content-Length", h);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status().as_u16(), status, "{what}");
        let e: serde_json::Value = resp.json().await.unwrap();
        assert!(e["error"].is_string(), "{what}: {e}");
    }
    let (s, _) = get(&server.at("/v2/models/mobilenet/versions/abc")).await;
    assert_eq!(s, 400);
    let (s, _) = get(&server.at("/v2/models/mobilenet/versions/9")).await;
    assert_eq!(s, 404);
    let (s, _) = get(&server.at("/v2/models/nope/ready")).await;
    assert_eq!(s, 404);
    let (s, live) = get(&server.at("/v2/health/live")).await;
    assert_eq!((s, live["live"].as_bool()), (200, Some(true)));
}

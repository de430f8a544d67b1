//! `/openapi.json` is a valid OpenAPI document (checked by the reference validator,
//! `openapi-spec-validator` from PyPI) and agrees with what the server serves: every
//! documented operation is answered (never 405 or "no endpoint"), every other method on a
//! documented path is 405. The router is built from the same table, so a route cannot exist
//! without its entry.

mod common;

use common::*;

fn validate(doc: &serde_json::Value) {
    let python = workspace().join(".venv/bin/python");
    let script = "import json, sys\nfrom openapi_spec_validator import validate\nvalidate(json.load(sys.stdin))\n";
    let mut child = std::process::Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), doc.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "invalid OpenAPI: {}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn the_document_is_valid_and_matches_the_routes() {
    let dir = tempfile::tempdir().unwrap();
    add_catdog(dir.path());
    let server = Server::start(dir.path(), &[], &[]);
    let (s, doc) = get(&server.at("/openapi.json")).await;
    assert_eq!(s, 200);
    validate(&doc);
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 20, "{} paths", paths.len());
    for must in ["/v1/classify", "/v1/inferences/{id}", "/v2/models/{model}/versions/{version}/infer", "/metrics"] {
        assert!(paths.contains_key(must), "{must} is documented");
    }
    let client = client();
    for (path, item) in paths {
        let url = server.at(&path
            .replace("{name}", "mobilenet")
            .replace("{model}", "mobilenet")
            .replace("{version}", "1")
            .replace("{id}", "00000000-0000-0000-0000-000000000000"));
        for method in ["get", "post", "delete", "put", "patch"] {
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let resp = client.request(m, &url).send().await.unwrap();
            let status = resp.status().as_u16();
            let body = resp.text().await.unwrap();
            if item.get(method).is_some() {
                assert_ne!(status, 405, "{method} {path} is documented but not served: {body}");
                assert!(!body.contains("\"no_route\""), "{method} {path} is documented but not routed: {body}");
            } else {
                assert_eq!(status, 405, "{method} {path} is served but not documented: {body}");
            }
        }
    }
}

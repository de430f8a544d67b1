//! `infergate devices add|rotate|revoke|list` through the binary: a token shown once (only its
//! SHA-256 kept), a new one on rotation, revocation recorded, bad ids refused.

mod common;

use serde_json::Value;
use sha2::{Digest, Sha256};

fn devices(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    common::infergate().arg("--data-dir").arg(dir).arg("devices").args(args).output().unwrap()
}

fn json(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn add_rotate_revoke_list() {
    let dir = tempfile::tempdir().unwrap();
    let added = json(&devices(dir.path(), &["add", "nano-1", "--type", "jetson_nano_2gb", "--json"]));
    let token = added["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("igd_") && token.len() == 4 + 43, "{token}");
    assert_eq!(added["device_type"], "jetson_nano_2gb");

    let out = devices(dir.path(), &["add", "nano-1", "--type", "jetson_nano_2gb"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("devices rotate"));
    for bad in [&["add", "../x", "--type", "t"][..], &["add", "ok", "--type", "a b"]] {
        let out = devices(dir.path(), bad);
        assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("letters, digits"), "{bad:?}");
    }

    let rotated = json(&devices(dir.path(), &["rotate", "nano-1", "--json"]));
    assert_ne!(rotated["token"], token.as_str());
    let out = devices(dir.path(), &["revoke", "nano-1"]);
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("revoked device nano-1"));
    let out = devices(dir.path(), &["rotate", "nope"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("no device nope"));

    let listed = json(&devices(dir.path(), &["list", "--json"]));
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(listed[0]["revoked_at"].is_string());
    assert!(listed[0].get("token").is_none() && listed[0].get("token_sha256").is_none());
    // Only the hash is on disk, never the token.
    let db = std::fs::read(dir.path().join("infergate.db")).unwrap();
    let hex_hash = hex::encode(Sha256::digest(rotated["token"].as_str().unwrap().as_bytes()));
    let text = String::from_utf8_lossy(&db);
    assert!(!text.contains(rotated["token"].as_str().unwrap()) && !text.contains(&token));
    let wal = std::fs::read(dir.path().join("infergate.db-wal")).unwrap_or_default();
    assert!(text.contains(&hex_hash) || String::from_utf8_lossy(&wal).contains(&hex_hash));
}

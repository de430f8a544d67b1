//! Fault injection against the real binary: a SIGKILL in the middle of a burst of writes
//! (the store stays consistent and `infergate store check --repair` removes what the crash
//! left behind), an object store that refuses writes (503, no row), slow clients that never
//! finish their headers (cut off, the server keeps answering), and a backend that hangs (its
//! timeouts open the circuit breaker).

mod common;

use common::*;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Up to `n` different photos of cats and dogs.
fn photos(n: usize) -> Vec<Vec<u8>> {
    let root = shared().join("data/catsdogs/test");
    let mut paths: Vec<PathBuf> = ["cat", "dog"].iter().flat_map(|d| walk(&root.join(d))).collect();
    paths.retain(|p| p.extension().is_some_and(|e| e == "jpg"));
    paths.sort();
    paths.truncate(n);
    assert!(paths.len() >= n.min(50), "too few photos under {}", root.display());
    paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// `infergate store check ARGS --json --data-dir DIR`: exit status and report.
fn store_check(dir: &Path, args: &[&str]) -> (Output, Value) {
    let out = infergate().args(["store", "check", "--json"]).args(args).arg("--data-dir").arg(dir).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("not JSON ({e}): {stdout}\nstderr:\n{}", String::from_utf8_lossy(&out.stderr));
    });
    (out, report)
}

fn keys(report: &Value, field: &str) -> Vec<String> {
    report[field].as_array().unwrap().iter().map(|o| o["key"].as_str().unwrap().to_string()).collect()
}

/// Every history record the server lists.
async fn all_inferences(server: &Server) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => server.at(&format!("/v1/inferences?limit=500&cursor={c}")),
            None => server.at("/v1/inferences?limit=500"),
        };
        let (status, page) = get(&url).await;
        assert_eq!(status, 200, "{page}");
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kill_mid_burst_leaves_every_row_with_its_image_and_check_repairs_the_orphans() {
    let dir = tempfile::tempdir().unwrap();
    add_catdog(dir.path());
    let server = Server::start(dir.path(), &[], &[]);
    let images = photos(120);
    let answered = Arc::new(AtomicUsize::new(0));
    let url = server.at("/v1/classify");
    let mut burst = Vec::new();
    for image in images.clone() {
        let (url, answered) = (url.clone(), answered.clone());
        burst.push(tokio::spawn(async move {
            let sent = client().post(url).header("content-type", "image/jpeg").body(image).send().await;
            if sent.is_ok_and(|r| r.status().is_success()) {
                answered.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    // Some answers are in (so writes are under way), then SIGKILL.
    let deadline = Instant::now() + Duration::from_secs(120);
    while answered.load(Ordering::SeqCst) < 10 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(answered.load(Ordering::SeqCst) >= 10, "the burst was not being answered");
    server.stop();
    for task in burst {
        task.await.unwrap();
    }
    let before_restart = answered.load(Ordering::SeqCst);
    assert!(before_restart < images.len(), "the kill came after the whole burst: nothing was in flight");

    // A leftover of an older crash: an image no row references, written long ago.
    let planted = format!("images/ee/{}", "ee".repeat(32));
    let planted_path = dir.path().join("objects").join(&planted);
    std::fs::create_dir_all(planted_path.parent().unwrap()).unwrap();
    std::fs::write(&planted_path, b"bytes of a lost upload").unwrap();
    let touched = std::process::Command::new("touch").args(["-d", "2 hours ago"]).arg(&planted_path).status();
    assert!(touched.unwrap().success());

    // The database opens and serves every listed image.
    let server = Server::start(dir.path(), &[], &[]);
    let rows = all_inferences(&server).await;
    assert!(rows.len() >= before_restart, "{} rows, {before_restart} answered", rows.len());
    for row in &rows {
        let id = row["id"].as_str().unwrap();
        let img = client().get(server.at(&format!("/v1/inferences/{id}/image"))).send().await.unwrap();
        assert_eq!(img.status(), 200, "the image of {id}");
        let bytes = img.bytes().await.unwrap();
        assert!(images.iter().any(|i| i[..] == bytes[..]), "the image of {id} is one that was sent");
    }

    // No row without its object; the planted orphan is found (the burst's own leftovers, if
    // any, are younger than the grace period and left alone).
    let (out, report) = store_check(dir.path(), &[]);
    assert!(out.status.success(), "{report}");
    assert_eq!(report["missing"], serde_json::json!([]), "{report}");
    assert_eq!(report["inferences"].as_u64().unwrap() as usize, rows.len(), "{report}");
    assert_eq!(keys(&report, "orphan_objects"), [planted.as_str()], "{report}");
    assert!(planted_path.exists(), "a check without --repair deletes nothing");

    let (out, report) = store_check(dir.path(), &["--repair"]);
    assert!(out.status.success(), "{report}");
    assert_eq!(report["objects_deleted"], 1, "{report}");
    assert!(!planted_path.exists(), "the orphan is gone");

    // With the server idle, --grace-s 0 also removes whatever the kill left (an image stored
    // before its row); then the store is clean and every image is still served.
    let (out, report) = store_check(dir.path(), &["--repair", "--grace-s", "0"]);
    assert!(out.status.success(), "{report}");
    let (out, report) = store_check(dir.path(), &["--grace-s", "0"]);
    assert!(out.status.success(), "{report}");
    assert_eq!(report["missing"], serde_json::json!([]), "{report}");
    assert_eq!(report["orphan_objects"], serde_json::json!([]), "{report}");
    assert_eq!(report["orphan_cache_rows"], serde_json::json!([]), "{report}");
    for row in &rows {
        let id = row["id"].as_str().unwrap();
        let img = client().get(server.at(&format!("/v1/inferences/{id}/image"))).send().await.unwrap();
        assert_eq!(img.status(), 200, "the image of {id} after the repair");
    }
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_reports_rows_whose_image_is_missing_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    add_catdog(dir.path());
    let server = Server::start(dir.path(), &[], &[]);
    let (status, answer) = post(&server.at("/v1/classify"), "image/jpeg", photos(1).remove(0)).await;
    assert_eq!(status, 200, "{answer}");
    server.stop();
    let images: Vec<PathBuf> = walk(&dir.path().join("objects/images"));
    assert_eq!(images.len(), 1);
    std::fs::remove_file(&images[0]).unwrap();
    for args in [&[][..], &["--repair", "--grace-s", "0"][..]] {
        let (out, report) = store_check(dir.path(), args);
        assert!(!out.status.success(), "{report}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be repaired"));
        let missing = report["missing"].as_array().unwrap();
        assert_eq!(missing.len(), 1, "{report}");
        assert_eq!(missing[0]["rows"], serde_json::json!([answer["request_id"]]), "{report}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_store_that_refuses_writes_is_a_503_and_leaves_no_row() {
    let dir = tempfile::tempdir().unwrap();
    add_catdog(dir.path());
    // `images` is a file: no image can be written under it (even by root), reads still work.
    let images = dir.path().join("objects/images");
    std::fs::write(&images, b"not a directory").unwrap();
    let server = Server::start(dir.path(), &[], &[]);
    let (status, error) = post(&server.at("/v1/classify"), "image/jpeg", photos(1).remove(0)).await;
    assert_eq!(status, 503, "{error}");
    assert_eq!(error["code"], "storage_unavailable", "{error}");
    assert!(error["error"].as_str().unwrap().contains("object store"), "{error}");
    assert!(all_inferences(&server).await.is_empty(), "no row for an image that was not stored");
    let (status, models) = get(&server.at("/v1/models")).await;
    assert_eq!(status, 200, "reads still work: {models}");

    // Once the store takes writes again, the same image is classified and stored (nothing was
    // cached by the failed attempt).
    std::fs::remove_file(&images).unwrap();
    let (status, answer) = post(&server.at("/v1/classify"), "image/jpeg", photos(1).remove(0)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["cached"], false, "{answer}");
    assert_eq!(all_inferences(&server).await.len(), 1);
    server.stop();
}

/// A connection that sent part of a request's headers and trickles the rest one byte at a time.
struct Slow {
    stream: TcpStream,
}

impl Slow {
    fn open(url: &str) -> Slow {
        let addr = url.trim_start_matches("http://");
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.write_all(b"GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Slow: ").unwrap();
        stream.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        Slow { stream }
    }

    /// Sends one more byte of the header that never ends; whether the server has closed the
    /// connection (a read at its end, or a write or read refused).
    fn trickle(&mut self) -> bool {
        if self.stream.write_all(b"a").is_err() {
            return true;
        }
        let mut buf = [0u8; 1024];
        match self.stream.read(&mut buf) {
            Ok(0) => true,
            Ok(_) => false, // e.g. a 408 before the close
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => false,
            Err(_) => true,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_that_never_finish_their_headers_are_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[], &[("INFERGATE_HEADER_READ_TIMEOUT_S", "1")]);
    let mut slow: Vec<Slow> = (0..50).map(|_| Slow::open(&server.url)).collect();
    // Another 10 that send nothing at all.
    let mut silent: Vec<TcpStream> =
        (0..10).map(|_| TcpStream::connect(server.url.trim_start_matches("http://")).unwrap()).collect();
    let (status, body) = get(&server.at("/v1/models")).await;
    assert_eq!(status, 200, "answered while slow connections are open: {body}");

    let slow_task = tokio::task::spawn_blocking(move || {
        // Generous bound: the server closes them after about a second.
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut open: Vec<usize> = (0..slow.len()).collect();
        while !open.is_empty() && Instant::now() < deadline {
            open.retain(|&i| !slow[i].trickle());
            std::thread::sleep(Duration::from_millis(100));
        }
        open.len()
    });
    let silent_task = tokio::task::spawn_blocking(move || {
        let mut closed = 0;
        for s in &mut silent {
            s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
            let mut buf = Vec::new();
            // EOF (after a 408, if any) or a reset: the server gave up on it; a timeout: it did not.
            match s.read_to_end(&mut buf) {
                Ok(_) => closed += 1,
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(_) => closed += 1,
            }
        }
        closed
    });
    let (status, body) = get(&server.at("/v1/models")).await;
    assert_eq!(status, 200, "answered while slow connections trickle: {body}");
    assert_eq!(slow_task.await.unwrap(), 0, "every slow connection was closed by the server");
    assert_eq!(silent_task.await.unwrap(), 10, "every silent connection was closed by the server");
    let (status, body) = get(&server.at("/v1/models")).await;
    assert_eq!(status, 200, "{body}");
    let (code, stderr) = server.terminate();
    assert_eq!(code, Some(0), "a clean shutdown after the slow clients:\n{stderr}");
}

/// A loopback listener that accepts connections, reads what comes and never answers;
/// returns its port and how many connections it accepted.
fn hanging_backend() -> (u16, Arc<AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            counter.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
            });
        }
    });
    (port, accepted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_that_hangs_times_out_and_opens_the_breaker() {
    let (port, accepted) = hanging_backend();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("functions.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
[breaker]
failures = 3
open_s = 600.0

[[functions]]
name = "stuck"
mode = "ecs"
ecs = {{ backend = "http", url = "http://127.0.0.1:{port}/invoke", timeout_s = 0.5, retries = 0 }}
"#
        ),
    )
    .unwrap();
    let server = Server::start(dir.path(), &["--config", cfg.to_str().unwrap()], &[]);
    let invoke = || async { post(&server.at("/v1/invoke/stuck"), "application/octet-stream", b"x".to_vec()).await };
    for i in 0..3 {
        let (status, body) = invoke().await;
        assert_eq!((status, body["code"].as_str()), (504, Some("backend_timeout")), "attempt {i}: {body}");
    }
    let reached = accepted.load(Ordering::SeqCst);
    assert!(reached >= 1, "the backend was called");
    for _ in 0..5 {
        let (status, body) = invoke().await;
        assert_eq!((status, body["code"].as_str()), (503, Some("circuit_open")), "{body}");
    }
    assert_eq!(accepted.load(Ordering::SeqCst), reached, "an open breaker sends nothing to the backend");
    let (_, status) = get(&server.at("/v1/functions")).await;
    let platforms = status["functions"][0]["platforms"].as_array().unwrap().clone();
    let ecs = platforms.iter().find(|p| p["platform"] == "ecs").unwrap_or_else(|| panic!("{status}"));
    assert_eq!(ecs["breaker"], "open", "{status}");
    let (_, records) = get(&server.at("/v1/invocations?function=stuck&limit=100")).await;
    let outcomes: Vec<&str> =
        records["invocations"].as_array().unwrap().iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes.iter().filter(|o| **o == "timeout").count(), 3, "{records}");
    assert_eq!(outcomes.iter().filter(|o| **o == "circuit_open").count(), 5, "{records}");
    server.stop();
}

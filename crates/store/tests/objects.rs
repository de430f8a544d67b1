//! The object store behaves the same on its two backends: one suite runs against a local
//! directory and against a real S3-compatible server on loopback (`moto_server`, from the PyPI
//! package `moto[server]` that `scripts/setup` installs into `.venv`). Without `moto_server` the
//! S3 test is skipped with a loud message, unless `CI=true`, where it fails.

use bytes::Bytes;
use infergate_store::objects::{ObjectInfo, ObjectStoreHandle};
use infergate_store::testing::TestS3;
use infergate_store::StoreError;
use std::process::Command;

/// The key the suite leaves behind, so that callers can check where it landed.
const KEPT_KEY: &str = "models/m1/v1/model.onnx";

fn info(key: &str, size: u64) -> ObjectInfo {
    ObjectInfo { key: key.to_string(), size }
}

fn is_not_found(result: &Result<Bytes, StoreError>) -> bool {
    matches!(result, Err(StoreError::Object(object_store::Error::NotFound { .. })))
}

/// The shared behaviour. `h` must be empty; leaves only [`KEPT_KEY`] behind.
async fn suite(h: &ObjectStoreHandle) {
    let name = h.describe().to_string();
    assert_eq!(h.list("").await.unwrap(), vec![], "{name}: a fresh store is empty");

    // put_if_absent keeps the first bytes (content-addressed: a second put is a no-op).
    let image = ObjectStoreHandle::image_key("abcdef");
    assert_eq!(image, "images/ab/abcdef");
    h.put_if_absent(&image, Bytes::from_static(b"first")).await.unwrap();
    h.put_if_absent(&image, Bytes::from_static(b"second")).await.unwrap();
    assert_eq!(h.get(&image).await.unwrap(), Bytes::from_static(b"first"), "{name}");
    assert!(h.exists(&image).await.unwrap(), "{name}");
    assert!(!h.exists("images/ab/missing").await.unwrap(), "{name}");

    // put overwrites.
    h.put("notes/a.txt", Bytes::from_static(b"x")).await.unwrap();
    h.put("notes/a.txt", Bytes::from_static(b"yy")).await.unwrap();
    assert_eq!(h.get("notes/a.txt").await.unwrap(), Bytes::from_static(b"yy"), "{name}");

    // Nested keys, and a prefix that is a string prefix but not a path prefix of `images/…`.
    h.put_if_absent("images/cd/cdef01", Bytes::from_static(b"2")).await.unwrap();
    h.put_if_absent("imagesX/zz", Bytes::from_static(b"333")).await.unwrap();
    h.put_if_absent(KEPT_KEY, Bytes::from_static(b"onnx")).await.unwrap();

    // A 5 MB object round-trips.
    let big: Vec<u8> = (0..5 * 1024 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    h.put_if_absent("big/blob.bin", Bytes::from(big.clone())).await.unwrap();
    assert!(h.get("big/blob.bin").await.unwrap() == big, "{name}: the 5 MB object came back different");

    let images = vec![info("images/ab/abcdef", 5), info("images/cd/cdef01", 1)];
    assert_eq!(h.list("images").await.unwrap(), images, "{name}");
    assert_eq!(h.list("images/").await.unwrap(), images, "{name}");
    assert_eq!(h.list("images/cd").await.unwrap(), vec![info("images/cd/cdef01", 1)], "{name}");
    assert_eq!(h.list("nothing/here").await.unwrap(), vec![], "{name}");
    let all = h.list("").await.unwrap();
    let keys: Vec<&str> = all.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(
        keys,
        ["big/blob.bin", "images/ab/abcdef", "images/cd/cdef01", "imagesX/zz", KEPT_KEY, "notes/a.txt"],
        "{name}"
    );
    assert_eq!(all[0].size, 5 * 1024 * 1024, "{name}");

    // Missing objects.
    assert!(is_not_found(&h.get("images/ab/missing").await), "{name}: get of a missing key");
    h.delete("images/ab/missing").await.unwrap();

    // Delete.
    for key in ["big/blob.bin", "images/ab/abcdef", "images/cd/cdef01", "imagesX/zz", "notes/a.txt"] {
        h.delete(key).await.unwrap();
        assert!(!h.exists(key).await.unwrap(), "{name}: {key} still exists after delete");
        assert!(is_not_found(&h.get(key).await), "{name}: {key} readable after delete");
    }
    h.delete("images/ab/abcdef").await.unwrap();
    assert_eq!(h.list("").await.unwrap(), vec![info(KEPT_KEY, 4)], "{name}");
}

#[tokio::test]
async fn local_directory_passes_the_suite() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("not/yet/there");
    let h = ObjectStoreHandle::from_url(dir.to_str().unwrap()).unwrap();
    assert!(dir.is_dir(), "from_url creates the directory");
    assert_eq!(h.describe(), std::fs::canonicalize(&dir).unwrap().display().to_string());
    suite(&h).await;
    assert_eq!(std::fs::read(dir.join(KEPT_KEY)).unwrap(), b"onnx", "objects are plain files under the directory");

    // `file://` names the same directory.
    let h = ObjectStoreHandle::from_url(&format!("file://{}", dir.display())).unwrap();
    assert_eq!(h.get(KEPT_KEY).await.unwrap(), Bytes::from_static(b"onnx"));
}

#[test]
fn bad_urls_are_clear_errors() {
    for url in ["", "gs://bucket", "s3://", "s3:///prefix", "file://relative/path", "s3://bucket?x=1"] {
        let err = ObjectStoreHandle::from_url_with_options(url, [("aws_allow_http", "true")]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("s3://bucket/prefix"), "{url:?}: the error should name the accepted forms: {text}");
    }
    let err = ObjectStoreHandle::from_url_with_options("s3://b", [("aws_not_an_option", "1")]).unwrap_err();
    assert!(err.to_string().contains("aws_not_an_option"), "{err}");
    let err = ObjectStoreHandle::from_url_with_options("s3://b", [("aws_endpoint", "http://127.0.0.1:9")]).unwrap_err();
    assert!(err.to_string().contains("AWS_ALLOW_HTTP"), "{err}");
}

#[test]
fn describe_shows_no_secrets() {
    let h = ObjectStoreHandle::from_url_with_options(
        "s3://bkt/a/b/",
        [
            ("aws_endpoint", "http://user:pass@127.0.0.1:9"),
            ("aws_allow_http", "true"),
            ("aws_access_key_id", "AKIDSECRET"),
            ("aws_secret_access_key", "sekrit"),
        ],
    )
    .unwrap();
    assert_eq!(h.describe(), "s3://bkt/a/b (endpoint http://127.0.0.1:9)");
    for text in [h.to_string(), format!("{h:?}")] {
        assert!(!text.contains("pass") && !text.contains("sekrit") && !text.contains("AKID"), "{text}");
    }
}

/// Set by [`s3_passes_the_suite`] for the child run of [`s3_env_child`]: the URL to open.
const ENV_CHILD_URL: &str = "INFERGATE_TEST_S3_ENV_CHILD_URL";

#[tokio::test]
async fn s3_passes_the_suite() {
    let Some(moto) = TestS3::start().await else { return };

    // The bucket root.
    moto.create_bucket("infergate-plain").await;
    let h = moto.open("s3://infergate-plain");
    assert!(h.describe().starts_with("s3://infergate-plain (endpoint http://127.0.0.1:"), "{}", h.describe());
    suite(&h).await;

    // Under a prefix: the same behaviour, and the objects really live under the prefix.
    moto.create_bucket("infergate-prefixed").await;
    let h = moto.open("s3://infergate-prefixed/some/prefix/");
    assert!(h.describe().starts_with("s3://infergate-prefixed/some/prefix "), "{}", h.describe());
    suite(&h).await;
    let root = moto.open("s3://infergate-prefixed");
    assert_eq!(root.list("").await.unwrap(), vec![info(&format!("some/prefix/{KEPT_KEY}"), 4)]);

    // `from_url` reads the standard AWS environment variables. They are process-global, so the
    // check runs in a child process of this test binary (see `s3_env_child`) with its own environment.
    let mut child = Command::new(std::env::current_exe().unwrap());
    child.args(["s3_env_child", "--exact", "--nocapture", "--test-threads=1"]);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("AWS_") {
            child.env_remove(key);
        }
    }
    for (_, var, value) in moto.config() {
        child.env(var, value);
    }
    child.env(ENV_CHILD_URL, "s3://infergate-prefixed/from/env");
    let out = tokio::task::spawn_blocking(move || child.output()).await.unwrap().unwrap();
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && log.contains("1 passed"), "the env child failed:\n{log}");
    assert_eq!(root.get("from/env/hello.txt").await.unwrap(), Bytes::from_static(b"hello from env"));
}

/// Runs only as the child of [`s3_passes_the_suite`]: `from_url` configured by `AWS_*` variables.
#[tokio::test]
async fn s3_env_child() {
    let Ok(url) = std::env::var(ENV_CHILD_URL) else { return };
    let h = ObjectStoreHandle::from_url(&url).unwrap();
    h.put_if_absent("hello.txt", Bytes::from_static(b"hello from env")).await.unwrap();
    assert_eq!(h.list("").await.unwrap(), vec![info("hello.txt", 14)]);
}

//! Throw-away PostgreSQL databases for tests (this crate's and the CLI's).
//!
//! Tests run against a real PostgreSQL server when `INFERGATE_TEST_DATABASE_URL` names one
//! (a role that may create databases; `scripts/test` starts Debian's server on loopback with
//! `scripts/postgres` and sets it). Each [`TestDatabase`] is a fresh database, dropped again
//! when the value goes. Without the variable the PostgreSQL half of a test is skipped with a
//! message, except under `CI=true`, where it fails: CI must test both engines.

use sqlx::any::AnyPoolOptions;
use sqlx::Executor;

/// The environment variable with the PostgreSQL admin URL.
pub const DATABASE_URL_ENV: &str = "INFERGATE_TEST_DATABASE_URL";

/// A fresh PostgreSQL database, dropped on drop.
pub struct TestDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl TestDatabase {
    /// A new empty database on the test server; `None` (after saying so on stderr) when no
    /// server is configured outside CI.
    pub async fn create() -> Option<TestDatabase> {
        let admin_url = match std::env::var(DATABASE_URL_ENV) {
            Ok(url) if !url.is_empty() => url,
            _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!("{DATABASE_URL_ENV} is not set: CI must run the PostgreSQL tests (scripts/test sets it)")
            }
            _ => {
                eprintln!(
                    "skipped: PostgreSQL half of this test ({DATABASE_URL_ENV} is not set; see scripts/postgres)"
                );
                return None;
            }
        };
        sqlx::any::install_default_drivers();
        let name = format!("infergate_test_{}", uuid::Uuid::now_v7().simple());
        let admin = AnyPoolOptions::new().max_connections(1).connect(&admin_url).await.expect("test PostgreSQL server");
        admin.execute(format!("CREATE DATABASE {name}").as_str()).await.expect("create a test database");
        admin.close().await;
        let url = match admin_url.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => panic!("{DATABASE_URL_ENV} must end in /DATABASE"),
        };
        Some(TestDatabase { admin_url, name, url })
    }

    /// The database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs inside a test's runtime: the database goes from a thread of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let admin = AnyPoolOptions::new().max_connections(1).connect(&admin_url).await.ok()?;
                admin.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await.ok()?;
                admin.close().await;
                Some(())
            })
        })
        .join();
    }
}

/// A store for one backend of a test, with what keeps it alive.
#[cfg(test)]
pub(crate) struct BackendStore {
    /// `sqlite` or `postgres`, for assertion messages.
    pub label: &'static str,
    /// The store.
    pub store: crate::Store,
    _dir: tempfile::TempDir,
    _db: Option<TestDatabase>,
}

/// The same empty store on every engine the test machine has: SQLite always, PostgreSQL
/// when configured (see the module docs). Each has its own temporary data directory.
#[cfg(test)]
pub(crate) async fn each_backend() -> Vec<BackendStore> {
    let mut out = Vec::new();
    let dir = tempfile::tempdir().unwrap();
    let store = crate::Store::open(dir.path()).await.unwrap();
    out.push(BackendStore { label: "sqlite", store, _dir: dir, _db: None });
    if let Some(db) = TestDatabase::create().await {
        let dir = tempfile::tempdir().unwrap();
        let location = crate::StoreLocation {
            data_dir: dir.path().to_path_buf(),
            database_url: Some(db.url().to_string()),
            object_store: None,
        };
        let store = crate::Store::open_at(&location).await.unwrap();
        out.push(BackendStore { label: "postgres", store, _dir: dir, _db: Some(db) });
    }
    out
}

/// A real S3-compatible server for tests: `moto_server` (PyPI `moto[server]`, installed into
/// the project's `.venv` by `scripts/setup`) on a free loopback port, killed on drop.
pub struct TestS3 {
    child: std::process::Child,
    endpoint: String,
}

impl Drop for TestS3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TestS3 {
    /// Starts the server; `None` (after saying so on stderr) when `moto_server` is not
    /// installed, except under `CI=true`, where that fails the test.
    pub async fn start() -> Option<TestS3> {
        let bin = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/moto_server");
        if !bin.exists() {
            let why = format!("{} is missing: run scripts/setup (it installs moto[server])", bin.display());
            assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
            eprintln!("\n*** skipped: S3 half of this test: {why} ***\n");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
        let child = std::process::Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let mut s3 = TestS3 { child, endpoint: format!("http://127.0.0.1:{port}") };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while s3.request("GET", "/").await.is_none() {
            if let Some(status) = s3.child.try_wait().ok().flatten() {
                panic!("moto_server exited early ({status})");
            }
            assert!(std::time::Instant::now() < deadline, "moto_server did not answer on {} within 60 s", s3.endpoint);
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        Some(s3)
    }

    /// A bare HTTP/1.1 request without a body; the status code, or `None` if the server does
    /// not answer.
    async fn request(&self, method: &str, path: &str) -> Option<u16> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let host = self.endpoint.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(host).await.ok()?;
        let head =
            format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        stream.write_all(head.as_bytes()).await.ok()?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.ok()?;
        let line = String::from_utf8_lossy(&answer);
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// Creates a bucket (moto accepts an unauthenticated `PUT /bucket`).
    pub async fn create_bucket(&self, bucket: &str) {
        let status = self.request("PUT", &format!("/{bucket}")).await;
        assert!(status.is_some_and(|s| (200..300).contains(&s)), "creating bucket {bucket}: {status:?}");
    }

    /// The server's URL.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The AWS configuration for this server as `(object_store option, environment variable, value)`.
    pub fn config(&self) -> Vec<(&'static str, &'static str, String)> {
        vec![
            ("aws_endpoint", "AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("aws_allow_http", "AWS_ALLOW_HTTP", "true".into()),
            ("aws_access_key_id", "AWS_ACCESS_KEY_ID", "testing".into()),
            ("aws_secret_access_key", "AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("aws_region", "AWS_REGION", "us-east-1".into()),
        ]
    }

    /// The environment variables a process needs to reach this server as S3.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        self.config().into_iter().map(|(_, var, value)| (var, value)).collect()
    }

    /// A handle on `url` (`s3://bucket/prefix`) on this server.
    pub fn open(&self, url: &str) -> crate::ObjectStoreHandle {
        crate::ObjectStoreHandle::from_url_with_options(url, self.config().into_iter().map(|(k, _, v)| (k, v)))
            .expect("a valid s3:// URL")
    }
}

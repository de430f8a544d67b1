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

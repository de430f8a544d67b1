//! Persistence for Infergate: the metadata database and the object store.
//!
//! - [`Store`] opens both from a data directory (SQLite file + local object directory by
//!   default) and runs the embedded migrations.
//! - [`models`]: the model registry (versions, the active one).
//! - [`inferences`]: the classification history and the output cache.
//! - [`alarms`]: alarms raised and cleared by the gateway.
//! - [`keys`]: API keys (hashed tokens, roles, per-key rates, revocation).
//! - [`invocations`]: what the router forwarded, where it ran and how it went.
//! - [`fleet`]: edge devices, deployments and their log, device telemetry.
//! - [`objects`]: content-addressed blobs (uploaded images) in an `object_store`.

pub mod alarms;
pub mod fleet;
pub mod inferences;
pub mod invocations;
pub mod keys;
mod migrations;
pub mod models;
pub mod objects;

pub use alarms::Alarm;
pub use inferences::{CachedOutput, InferenceFilter, InferencePage, InferenceRecord, StoredImage, WindowStats};
pub use invocations::{Invocation, InvocationCount};
pub use keys::{ApiKey, KeyMatch, NewApiKey};
pub use models::NewModelVersion;
pub use objects::ObjectStoreHandle;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// Errors from the database or the object store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// Applying migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The object store failed.
    #[error("object store error: {0}")]
    Object(#[from] object_store::Error),
    /// A stored value could not be read back.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// The data directory could not be prepared.
    #[error("cannot use data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The request conflicts with what is stored (e.g. a version that already exists).
    #[error("{0}")]
    Conflict(String),
    /// The thing asked for does not exist.
    #[error("{0}")]
    NotFound(String),
}

/// The database and the object store together.
#[derive(Clone)]
pub struct Store {
    db: SqlitePool,
    objects: ObjectStoreHandle,
}

impl Store {
    /// Opens (creating if needed) `data_dir/infergate.db` and `data_dir/objects/`.
    pub async fn open(data_dir: &Path) -> Result<Store, StoreError> {
        let mkdir = |p: &Path| {
            std::fs::create_dir_all(p).map_err(|source| StoreError::DataDir { path: p.to_path_buf(), source })
        };
        mkdir(data_dir)?;
        let objects_dir = data_dir.join("objects");
        mkdir(&objects_dir)?;
        let url = format!("sqlite://{}", data_dir.join("infergate.db").display());
        let db = open_sqlite(&url).await?;
        Ok(Store { db, objects: ObjectStoreHandle::local(&objects_dir)? })
    }

    /// The object store.
    pub fn objects(&self) -> &ObjectStoreHandle {
        &self.objects
    }

    /// A transaction that takes the write lock at once (`BEGIN IMMEDIATE`). A deferred
    /// transaction that reads and then writes fails with "database is locked" when another
    /// connection wrote in between; one that starts as a writer just waits its turn.
    pub(crate) async fn write_tx(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        Ok(self.db.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// The database pool (for crates that add their own tables later).
    pub fn db(&self) -> &SqlitePool {
        &self.db
    }
}

async fn open_sqlite(url: &str) -> Result<SqlitePool, StoreError> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true);
    // A SQLite file cannot drop a connection the way a server can, so the ping sqlx sends
    // before every acquire by default is one more round trip to the connection thread for
    // nothing.
    let pool = SqlitePoolOptions::new().max_connections(4).test_before_acquire(false).connect_with(options).await?;
    migrations::run(&pool).await?;
    Ok(pool)
}

/// Now as RFC 3339 UTC with millisecond precision (sorts lexicographically).
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Columns stored as JSON text.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("stored values always serialise")
}

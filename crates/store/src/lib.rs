//! Persistence for Infergate: the metadata database and the object store.
//!
//! - [`Store`] opens both from a data directory (SQLite file + local object directory by
//!   default) and runs the embedded migrations.
//! - [`models`]: the model registry (versions, the active one).
//! - [`inferences`]: the classification history and the output cache.
//! - [`alarms`]: alarms raised and cleared by the gateway.
//! - [`check`]: the consistency check of rows against objects (`infergate store check`).
//! - [`keys`]: API keys (hashed tokens, roles, per-key rates, revocation).
//! - [`invocations`]: what the router forwarded, where it ran and how it went.
//! - [`fleet`]: edge devices, deployments and their log, device telemetry.
//! - [`replicas`]: the gateway replicas sharing the database.
//! - [`objects`]: content-addressed blobs (uploaded images) in an `object_store`.

pub mod alarms;
pub mod check;
pub mod fleet;
pub mod inferences;
pub mod invocations;
pub mod keys;
mod migrations;
pub mod models;
pub mod objects;
pub mod replicas;
pub mod testing;
pub mod transfer;

pub use alarms::{Alarm, AlarmOwners};
pub use inferences::{CachedOutput, InferenceFilter, InferencePage, InferenceRecord, StoredImage, WindowStats};
pub use invocations::{Invocation, InvocationCount};
pub use keys::{ApiKey, KeyMatch, NewApiKey};
pub use models::NewModelVersion;
pub use objects::ObjectStoreHandle;
pub use replicas::Replica;
pub use sqlx::any::AnyRow;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AnyPool, ConnectOptions, Executor};
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
    /// The store's settings are wrong (an unsupported URL, a server that cannot be reached).
    #[error("{0}")]
    Config(String),
}

/// Which SQL engine the metadata database runs on (the queries are written once for both;
/// the few places that differ ask this).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// A SQLite file (the embedded default: `<data dir>/infergate.db`).
    Sqlite,
    /// A PostgreSQL server (`postgres://…`), shared by several gateway replicas.
    Postgres,
}

/// Where the store lives: the data directory plus, optionally, a database URL and an object
/// store URL that replace the embedded defaults (`<data dir>/infergate.db`, `<data dir>/objects/`).
#[derive(Debug, Clone, Default)]
pub struct StoreLocation {
    /// The local data directory (always used for local caches such as model files).
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://USER:PASSWORD@HOST:PORT/DB`; `None`: the SQLite file in the data directory.
    pub database_url: Option<String>,
    /// `s3://bucket/prefix`, `file:///dir` or a directory; `None`: `objects/` in the data directory.
    pub object_store: Option<String>,
}

impl StoreLocation {
    /// The embedded defaults under `data_dir`.
    pub fn local(data_dir: &Path) -> StoreLocation {
        StoreLocation { data_dir: data_dir.to_path_buf(), ..StoreLocation::default() }
    }

    /// The database URL with any password replaced by `***`, for logs and messages.
    pub fn database_display(&self) -> String {
        match &self.database_url {
            Some(url) => redact_url(url),
            None => format!("sqlite {}", self.data_dir.join("infergate.db").display()),
        }
    }
}

/// The database and the object store together.
#[derive(Clone)]
pub struct Store {
    db: AnyPool,
    dialect: Dialect,
    objects: ObjectStoreHandle,
}

impl Store {
    /// Opens (creating if needed) `data_dir/infergate.db` and `data_dir/objects/`.
    pub async fn open(data_dir: &Path) -> Result<Store, StoreError> {
        Store::open_at(&StoreLocation::local(data_dir)).await
    }

    /// Opens the database and the object store `location` names, creating the local ones if
    /// needed, and brings the database schema up to date.
    pub async fn open_at(location: &StoreLocation) -> Result<Store, StoreError> {
        let mkdir = |p: &Path| {
            std::fs::create_dir_all(p).map_err(|source| StoreError::DataDir { path: p.to_path_buf(), source })
        };
        mkdir(&location.data_dir)?;
        let objects = match &location.object_store {
            Some(url) => ObjectStoreHandle::from_url(url)?,
            None => {
                let dir = location.data_dir.join("objects");
                mkdir(&dir)?;
                ObjectStoreHandle::local(&dir)?
            }
        };
        let (db, dialect) = match &location.database_url {
            Some(url) => connect(url).await?,
            None => connect(&sqlite_url(&location.data_dir.join("infergate.db"))?).await?,
        };
        Ok(Store { db, dialect, objects })
    }

    /// The object store.
    pub fn objects(&self) -> &ObjectStoreHandle {
        &self.objects
    }

    /// Which SQL engine the database runs on.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// A transaction that holds the database's write lock from its first statement, so that
    /// read-then-write sequences (the next version number, superseding a deployment) see no
    /// other writer in between. SQLite: `BEGIN IMMEDIATE` (a deferred transaction that reads
    /// and then writes fails with "database is locked" when another connection wrote in
    /// between; one that starts as a writer waits its turn). PostgreSQL: a transaction-scoped
    /// advisory lock that every such transaction takes, released at commit or rollback.
    pub(crate) async fn write_tx(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        match self.dialect {
            Dialect::Sqlite => Ok(self.db.begin_with("BEGIN IMMEDIATE").await?),
            Dialect::Postgres => {
                let mut tx = self.db.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(WRITE_LOCK_KEY).execute(&mut *tx).await?;
                Ok(tx)
            }
        }
    }

    /// A transaction during which no other connection can add or change a row that points
    /// at an object (`inferences`, `models`): SQLite's write lock (`BEGIN IMMEDIATE`), on
    /// PostgreSQL a `SHARE` lock on both tables (reads go on; writers wait).
    ///
    /// Code that deletes an object because no row references it checks the rows and deletes
    /// the object inside one of these, so a row cannot appear between the check and the
    /// delete; a writer that reused an existing object then confirms it is still there once
    /// its row is in ([`ObjectStoreHandle::restore_if_missing`]). Hold it briefly: writers
    /// wait for it (SQLite's busy timeout is 10 s).
    pub async fn pause_reference_writes(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        match self.dialect {
            Dialect::Sqlite => self.write_tx().await,
            Dialect::Postgres => {
                let mut tx = self.db.begin().await?;
                sqlx::query("LOCK TABLE inferences, models IN SHARE MODE").execute(&mut *tx).await?;
                Ok(tx)
            }
        }
    }

    /// The database pool (for crates that add their own tables later).
    pub fn db(&self) -> &AnyPool {
        &self.db
    }
}

/// The PostgreSQL advisory lock key of [`Store::write_tx`] (any constant; "infergat" in ASCII).
const WRITE_LOCK_KEY: i64 = 0x696e_6665_7267_6174;

/// A `sqlite://` URL for a database file (absolute, percent-encoded, created if missing).
fn sqlite_url(file: &Path) -> Result<String, StoreError> {
    let dir = file.parent().unwrap_or(Path::new("."));
    let dir = std::fs::canonicalize(dir).map_err(|source| StoreError::DataDir { path: dir.to_path_buf(), source })?;
    let file = dir.join(file.file_name().unwrap_or_default());
    Ok(SqliteConnectOptions::new().filename(file).create_if_missing(true).to_url_lossy().to_string())
}

/// Connects to `url` (SQLite or PostgreSQL) and applies the migrations.
async fn connect(url: &str) -> Result<(AnyPool, Dialect), StoreError> {
    sqlx::any::install_default_drivers();
    let (dialect, options) = if url.starts_with("sqlite:") {
        // Create the file when it is missing, as the embedded default does.
        let sqlite = SqliteConnectOptions::from_str(url)?.create_if_missing(true);
        (Dialect::Sqlite, AnyConnectOptions::from_str(sqlite.to_url_lossy().as_str())?)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        (Dialect::Postgres, AnyConnectOptions::from_str(url)?)
    } else {
        return Err(StoreError::Config(format!(
            "unsupported database URL {}: use sqlite://PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE",
            redact_url(url)
        )));
    };
    let pool = match dialect {
        Dialect::Sqlite => {
            // WAL: readers do not wait for the writer. A SQLite file cannot drop a connection
            // the way a server can, so the ping sqlx sends before every acquire by default is
            // one more round trip to the connection thread for nothing.
            AnyPoolOptions::new()
                .max_connections(4)
                .test_before_acquire(false)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000; \
                             PRAGMA foreign_keys = ON;",
                        )
                        .await?;
                        Ok(())
                    })
                })
                .connect_with(options)
                .await?
        }
        Dialect::Postgres => AnyPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Config(format!("cannot connect to {}: {e}", redact_url(url))))?,
    };
    migrations::run(&pool, dialect).await?;
    Ok((pool, dialect))
}

/// `url` with the password (if any) replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            let hidden = if userinfo.contains(':') { ":***" } else { "" };
            format!("{scheme}://{user}{hidden}@{host}{path}")
        }
        None => url.to_string(),
    }
}

/// `$first, $first+1, …` (`count` of them): numbered parameters, which SQLite and PostgreSQL both read.
pub(crate) fn numbered_params(first: usize, count: usize) -> String {
    (first..first + count).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// Now as RFC 3339 UTC with millisecond precision (sorts lexicographically).
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Columns stored as JSON text.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("stored values always serialise")
}

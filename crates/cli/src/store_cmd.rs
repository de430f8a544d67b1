//! `infergate store migrate`: copies a whole store (every database row and every object) into
//! another one, e.g. from the data directory's SQLite file and `objects/` directory to a
//! PostgreSQL database and an S3 bucket that several replicas share; verifies row counts and
//! SHA-256s, and copies nothing the second time (see `infergate_store::transfer`).
//!
//! `infergate store check [--repair]`: every row that points at an object has it; objects and
//! cache rows nothing points at are reported, and deleted with `--repair` (see
//! `infergate_store::check`).

use crate::config::Config;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use infergate_store::check::{check_store_with, CheckOptions, CheckReport};
use infergate_store::transfer::{copy_store, TransferReport};
use infergate_store::{redact_url, Store, StoreLocation};
use std::path::{Path, PathBuf};

/// `infergate store …`
#[derive(Subcommand, Debug)]
pub enum StoreCommand {
    /// Copy every row and object of one store into another (e.g. SQLite and a directory to
    /// PostgreSQL and S3), then verify counts and SHA-256s; running it again copies nothing.
    Migrate(MigrateArgs),
    /// Check that every history row and model version has its object, and find objects and
    /// cache rows nothing references (left by a crash); `--repair` deletes those orphans.
    /// Exits non-zero when a row's object is missing (that cannot be repaired).
    Check(CheckArgs),
}

/// `infergate store check …`
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Delete orphaned objects and orphaned cache rows (rows whose object is missing are only
    /// reported, never deleted).
    #[arg(long)]
    pub repair: bool,
    /// Objects and cache rows younger than this many seconds are left alone: they may belong
    /// to a request in flight (an image is stored just before its row).
    #[arg(long, default_value_t = 60.0)]
    pub grace_s: f64,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `infergate store migrate …`
#[derive(Args, Debug)]
pub struct MigrateArgs {
    /// The source database: sqlite://PATH or postgres://USER:PASSWORD@HOST:PORT/DB (default: the
    /// configured store: --database-url, INFERGATE_DATABASE_URL, [server] database_url, else
    /// DATA_DIR/infergate.db). It must exist; stop the servers writing to it first.
    #[arg(long)]
    pub from: Option<String>,
    /// The target database: sqlite://PATH or postgres://USER:PASSWORD@HOST:PORT/DB (its tables are
    /// created if missing; rows it already has are kept).
    #[arg(long)]
    pub to: String,
    /// The source object store: a directory, file:///DIR or s3://BUCKET/PREFIX (default: the
    /// configured object store, else the objects/ directory beside the source SQLite file, or
    /// DATA_DIR/objects for a PostgreSQL source).
    #[arg(long)]
    pub from_objects: Option<String>,
    /// The target object store: s3://BUCKET/PREFIX (AWS_* variables) or a directory. Without it
    /// objects are not copied: the target is meant to keep using the source's object store.
    #[arg(long)]
    pub to_objects: Option<String>,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs a `store` subcommand.
pub async fn run(config: Config, cmd: StoreCommand) -> Result<()> {
    match cmd {
        StoreCommand::Migrate(args) => migrate(config, args).await,
        StoreCommand::Check(args) => check(config, args).await,
    }
}

/// The source's database as the user named it (or the configured default).
enum Database {
    /// A SQLite file (from `sqlite://PATH` or the data directory).
    Sqlite(PathBuf),
    /// A PostgreSQL URL.
    Postgres(String),
}

impl Database {
    /// Parses `sqlite://PATH`, `sqlite:PATH` or `postgres(ql)://…`, saying which forms work otherwise.
    fn parse(url: &str, which: &str) -> Result<Database> {
        if let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            let path = rest.split('?').next().unwrap_or_default();
            if path.is_empty() || path == ":memory:" {
                bail!("{which} database {url:?} names no file: use sqlite:///ABSOLUTE/PATH/infergate.db");
            }
            return Ok(Database::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Database::Postgres(url.to_string()));
        }
        bail!(
            "unsupported {which} database URL {}: use sqlite://PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE",
            redact_url(url)
        )
    }

    /// The URL `Store::open_at` takes.
    fn url(&self) -> String {
        match self {
            Database::Sqlite(path) => format!("sqlite://{}", resolve(path).display()),
            Database::Postgres(url) => url.clone(),
        }
    }

    /// For messages, without a password.
    fn describe(&self) -> String {
        match self {
            Database::Sqlite(path) => format!("sqlite {}", path.display()),
            Database::Postgres(url) => redact_url(url),
        }
    }

    /// The same database, for the same-store check (SQLite paths compared once resolved).
    fn same_as(&self, other: &Database) -> bool {
        match (self, other) {
            (Database::Sqlite(a), Database::Sqlite(b)) => resolve(a) == resolve(b),
            (Database::Postgres(a), Database::Postgres(b)) => a.trim_end_matches('/') == b.trim_end_matches('/'),
            _ => false,
        }
    }
}

/// `path` with its directory made absolute and symlinks resolved, when it exists.
fn resolve(path: &Path) -> PathBuf {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    match std::fs::canonicalize(dir) {
        Ok(dir) => dir.join(path.file_name().unwrap_or_default()),
        Err(_) => path.to_path_buf(),
    }
}

/// The local directory an object store URL names (`None` for S3).
fn local_objects_dir(url: &str) -> Option<PathBuf> {
    if url.starts_with("s3://") {
        return None;
    }
    let path = url.strip_prefix("file://").map(|p| p.strip_prefix("localhost").unwrap_or(p)).unwrap_or(url);
    Some(PathBuf::from(path))
}

/// Whether two object store URLs name the same place.
fn same_objects(a: &str, b: &str) -> bool {
    match (local_objects_dir(a), local_objects_dir(b)) {
        (Some(a), Some(b)) => match (std::fs::canonicalize(&a), std::fs::canonicalize(&b)) {
            (Ok(a), Ok(b)) => a == b,
            _ => a == b,
        },
        (None, None) => a.trim_end_matches('/') == b.trim_end_matches('/'),
        _ => false,
    }
}

async fn migrate(config: Config, args: MigrateArgs) -> Result<()> {
    // Everything is checked before anything is opened, so a mistake creates nothing.
    let target = Database::parse(&args.to, "target")?;
    let source = match args.from.as_deref().or(config.server.database_url.as_deref()) {
        Some(url) => Database::parse(url, "source")?,
        None => Database::Sqlite(config.server.data_dir.join("infergate.db")),
    };
    if let Database::Sqlite(path) = &source {
        if !path.is_file() {
            bail!("the source database {} does not exist (give --from sqlite://PATH or --data-dir)", path.display());
        }
    }
    if source.same_as(&target) {
        bail!("the source and the target are the same database ({})", source.describe());
    }
    // Where the source's local files are: its model files, and its objects by default.
    let source_dir = match &source {
        Database::Sqlite(path) => resolve(path).parent().map(Path::to_path_buf).unwrap_or_default(),
        Database::Postgres(_) => config.server.data_dir.clone(),
    };
    let from_objects = match args.from_objects.clone().or(config.server.object_store.clone()) {
        Some(url) => url,
        None => source_dir.join("objects").display().to_string(),
    };
    if let Some(dir) = local_objects_dir(&from_objects) {
        if !dir.is_dir() {
            bail!(
                "the source object store {} does not exist (give --from-objects DIR|s3://BUCKET/PREFIX)",
                dir.display()
            );
        }
    }
    if let Some(to) = &args.to_objects {
        if to.contains("://") && !to.starts_with("s3://") && !to.starts_with("file://") {
            bail!("unsupported target object store {to:?}: use s3://BUCKET/PREFIX, file:///DIR or a directory");
        }
    }
    let copy_objects = args.to_objects.as_deref().is_some_and(|to| !same_objects(to, &from_objects));
    let to_objects = args.to_objects.clone().unwrap_or_else(|| from_objects.clone());

    // Both stores are opened with scratch data directories: only their URLs are used.
    let scratch = tempfile::tempdir().context("cannot create a temporary directory")?;
    let open = |database: &Database, objects: &str, which: &str| {
        let location = StoreLocation {
            data_dir: scratch.path().join(which),
            database_url: Some(database.url()),
            object_store: Some(objects.to_string()),
        };
        let what = format!("cannot open the {which} store (database {}, objects {objects})", database.describe());
        async move { Store::open_at(&location).await.context(what) }
    };
    let from = open(&source, &from_objects, "source").await?;
    let to = open(&target, &to_objects, "target").await?;
    if !args.json {
        eprintln!("copying {} → {} …", source.describe(), target.describe());
    }
    let report = copy_store(&from, &to, copy_objects).await.context("the copy failed")?;

    // Model files registered before the object store held them live only in the source's data
    // directory; they go to the target's object store too, as `serve` would publish them.
    let mut published = 0;
    let mut unloadable = Vec::new();
    if copy_objects {
        let models = to.list_models().await?;
        if source_dir.join("models").is_dir() {
            published = infergate_gateway::registry::publish_local_artifacts(&to, &source_dir, &models).await?;
        }
        for m in &models {
            if !to.objects().exists(&m.artifact_path).await? {
                unloadable.push(format!("{} v{} ({})", m.name, m.version, m.artifact_path));
            }
        }
    }

    if args.json {
        let doc = serde_json::json!({
            "from": source.describe(),
            "to": target.describe(),
            "from_objects": from.objects().describe(),
            "to_objects": to.objects().describe(),
            "objects_copied": copy_objects,
            "tables": report.tables,
            "not_copied": report.not_copied,
            "objects": report.objects,
            "rows_inserted": report.rows_inserted(),
            "model_files_published": published,
            "models_without_file": unloadable,
            "verified": true,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    println!("from: {}, objects {}", source.describe(), from.objects());
    println!("to:   {}, objects {}", target.describe(), to.objects());
    print_table(&report);
    match &report.objects {
        Some(o) => println!(
            "objects: {} in the source ({} bytes), {} copied ({} bytes), {} verified by SHA-256",
            o.objects, o.bytes, o.copied, o.copied_bytes, o.verified
        ),
        None if args.to_objects.is_some() => {
            println!("objects: not copied: --to-objects is the source's object store")
        }
        None => println!(
            "objects: not copied (no --to-objects): the target must keep using {}; give --to-objects to copy them",
            from.objects()
        ),
    }
    if published > 0 {
        println!(
            "model files: {published} from {} put into the target's object store",
            source_dir.join("models").display()
        );
    }
    for m in &unloadable {
        println!("warning: model {m}: its file is in neither object store nor {}", source_dir.display());
    }
    let objects_copied = report.objects.as_ref().map_or(0, |o| o.copied);
    let nothing =
        if report.rows_inserted() == 0 && objects_copied == 0 { " (everything was there already)" } else { "" };
    println!(
        "done: {} rows inserted, {objects_copied} objects copied{nothing}; every row{} verified",
        report.rows_inserted(),
        if report.objects.is_some() { " and object" } else { "" }
    );
    Ok(())
}

async fn check(config: Config, args: CheckArgs) -> Result<()> {
    if !args.grace_s.is_finite() || args.grace_s < 0.0 {
        bail!("--grace-s must be a number of seconds, 0 or more (got {})", args.grace_s);
    }
    let store = config.server.open_store().await?;
    let options = CheckOptions { repair: args.repair, grace: std::time::Duration::from_secs_f64(args.grace_s) };
    let report = check_store_with(&store, &options).await.context("the check failed")?;
    if args.json {
        let mut doc = serde_json::to_value(&report)?;
        doc["database"] = config.server.store_location().database_display().into();
        doc["objects_store"] = store.objects().describe().into();
        doc["rows_intact"] = report.rows_intact().into();
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print_check(&config, &store, &report);
    }
    if !report.rows_intact() {
        bail!(
            "{} row(s) point at {} missing object(s); they cannot be repaired (restore the objects from a backup)",
            report.missing.iter().map(|m| m.rows.len()).sum::<usize>(),
            report.missing.len()
        );
    }
    Ok(())
}

fn print_check(config: &Config, store: &Store, report: &CheckReport) {
    println!("database: {}, objects {}", config.server.store_location().database_display(), store.objects());
    println!(
        "checked: {} inferences, {} model versions, {} cache rows, {} objects",
        report.inferences, report.models, report.cache_rows, report.objects
    );
    for m in &report.missing {
        let shown: Vec<&str> = m.rows.iter().take(5).map(String::as_str).collect();
        let more = if m.rows.len() > shown.len() {
            format!(" and {} more", m.rows.len() - shown.len())
        } else {
            String::new()
        };
        println!("MISSING {} (needed by {} {}{more})", m.key, m.table, shown.join(", "));
    }
    for o in &report.orphan_objects {
        println!("orphan object {} ({} bytes, written {})", o.key, o.size, o.modified);
    }
    for c in &report.orphan_cache_rows {
        println!("orphan cache row {} {} v{} ({})", c.image_sha256, c.model, c.version, c.reason);
    }
    if report.recent_unreferenced > 0 {
        println!(
            "{} unreferenced object(s) younger than {} s left alone (a request may be storing them; --grace-s 0 counts them)",
            report.recent_unreferenced, report.grace_s
        );
    }
    let orphans = report.orphan_objects.len() + report.orphan_cache_rows.len();
    if report.repaired {
        println!(
            "repaired: {} orphan object(s) and {} cache row(s) deleted{}",
            report.objects_deleted,
            report.cache_rows_deleted,
            if report.kept_in_use > 0 {
                format!(", {} kept (referenced meanwhile)", report.kept_in_use)
            } else {
                String::new()
            }
        );
    } else if orphans > 0 {
        println!("{orphans} orphan(s): `infergate store check --repair` deletes them");
    }
    if report.missing.is_empty() {
        println!("ok: every row has its object");
    }
}

fn print_table(report: &TransferReport) {
    println!(
        "{:<20} {:>10} {:>14} {:>10} {:>13}  CONTENT",
        "TABLE", "SOURCE", "TARGET BEFORE", "INSERTED", "TARGET AFTER"
    );
    for t in &report.tables {
        println!(
            "{:<20} {:>10} {:>14} {:>10} {:>13}  sha256 {}… {}",
            t.table,
            t.source_rows,
            t.target_rows_before,
            t.inserted,
            t.target_rows,
            &t.source_sha256[..12],
            if t.verified { "same" } else { "DIFFERENT" }
        );
    }
    let sum = |f: fn(&infergate_store::transfer::TableReport) -> u64| report.tables.iter().map(f).sum::<u64>();
    println!(
        "{:<20} {:>10} {:>14} {:>10} {:>13}",
        "total",
        sum(|t| t.source_rows),
        sum(|t| t.target_rows_before),
        sum(|t| t.inserted),
        sum(|t| t.target_rows)
    );
    for skipped in &report.not_copied {
        println!("not copied: {} ({})", skipped.table, skipped.reason);
    }
}

//! Copying a whole store into another one (`infergate store migrate`): every row of every
//! table and every object, e.g. from the embedded SQLite file and object directory to a
//! PostgreSQL database and an S3 bucket shared by several replicas.
//!
//! [`copy_store`] walks [`TABLES`] in dependency order (devices before deployments before
//! their events, …), reads each table in pages ordered by its primary key and inserts them
//! into the target with `INSERT … ON CONFLICT DO NOTHING`, binding every value with the type
//! its column has in [`TABLES`] (a NULL bound with the wrong type fails on PostgreSQL). Then
//! it reads the same rows back from the target and compares a SHA-256 of their content with
//! the source's, table by table; objects are compared by the SHA-256 of their bytes. Running
//! it again copies nothing and verifies again.
//!
//! The copy is only as consistent as the source is still: stop the servers that write to the
//! source first.

mod rows;
mod schema;
mod tables;
#[cfg(test)]
mod tests;

pub use schema::check_schema;
pub use tables::{ColumnType, Table, NOT_COPIED, TABLES};

use crate::Dialect;
use crate::{Store, StoreError};
use futures::{StreamExt, TryStreamExt};
use rows::{Plan, Value};
use schema::schema_tables;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Rows read from the source per query.
pub(crate) const PAGE_ROWS: usize = 1000;

/// Rows per `INSERT` statement and per key lookup (bounded so that the number of bound
/// values stays far below both engines' limits).
pub(crate) const CHUNK_ROWS: usize = 100;

/// Objects copied or hashed at once.
const OBJECT_CONCURRENCY: usize = 8;

/// What [`copy_store`] did to one table.
#[derive(Debug, Clone, Serialize)]
pub struct TableReport {
    /// The table.
    pub table: String,
    /// Rows in the source.
    pub source_rows: u64,
    /// Rows in the target before the copy.
    pub target_rows_before: u64,
    /// Rows inserted into the target (0 when everything was there already).
    pub inserted: u64,
    /// Rows in the target after the copy (at least `source_rows`).
    pub target_rows: u64,
    /// SHA-256 (hex) of the source's rows, in primary-key order.
    pub source_sha256: String,
    /// SHA-256 (hex) of the target's rows with the same primary keys, in the same order.
    pub target_sha256: String,
    /// Source rows whose primary key the target lacks after the copy.
    pub missing: u64,
    /// Whether every source row is in the target with the same content.
    pub verified: bool,
}

/// What [`copy_store`] did to the objects.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ObjectReport {
    /// Objects in the source.
    pub objects: u64,
    /// Their total size in bytes.
    pub bytes: u64,
    /// Objects copied (the others were in the target already).
    pub copied: u64,
    /// Bytes copied.
    pub copied_bytes: u64,
    /// Objects whose target bytes have the source's SHA-256.
    pub verified: u64,
}

/// A table [`copy_store`] left behind on purpose.
#[derive(Debug, Clone, Serialize)]
pub struct SkippedTable {
    /// The table.
    pub table: String,
    /// Why it is not copied.
    pub reason: String,
}

/// Everything [`copy_store`] did, table by table, then the objects.
#[derive(Debug, Clone, Serialize)]
pub struct TransferReport {
    /// One entry per table of [`TABLES`], in copy order.
    pub tables: Vec<TableReport>,
    /// The tables of [`NOT_COPIED`] that the source has.
    pub not_copied: Vec<SkippedTable>,
    /// The objects; `None` when they were not copied.
    pub objects: Option<ObjectReport>,
}

impl TransferReport {
    /// Rows inserted into the target, all tables together.
    pub fn rows_inserted(&self) -> u64 {
        self.tables.iter().map(|t| t.inserted).sum()
    }

    /// Rows in the source, all tables together.
    pub fn source_rows(&self) -> u64 {
        self.tables.iter().map(|t| t.source_rows).sum()
    }
}

/// Copies every row of [`TABLES`] (and, with `copy_objects`, every object) from `from` into
/// `to`, skipping what `to` already has, then checks that the target holds each source row
/// and object with the same content. A difference is a [`StoreError::Corrupt`] that names the
/// tables and objects concerned; a schema that [`TABLES`] does not cover is refused before
/// anything is written.
pub async fn copy_store(from: &Store, to: &Store, copy_objects: bool) -> Result<TransferReport, StoreError> {
    check_schema(from).await?;
    check_schema(to).await?;
    let present = schema_tables(from).await?;
    let mut report = TransferReport {
        tables: Vec::with_capacity(TABLES.len()),
        not_copied: NOT_COPIED
            .iter()
            .filter(|(t, _)| present.iter().any(|p| p == t))
            .map(|(t, why)| SkippedTable { table: t.to_string(), reason: why.to_string() })
            .collect(),
        objects: None,
    };
    let mut problems = Vec::new();
    for table in TABLES {
        let t = copy_table(from, to, table).await?;
        if !t.verified {
            let mut problem = format!(
                "table {}: {} source rows, {} of them missing in the target, content SHA-256 {} in the source but {} in \
                 the target",
                t.table, t.source_rows, t.missing, t.source_sha256, t.target_sha256
            );
            if t.target_rows_before > 0 {
                problem.push_str(&format!(
                    " (the target already had {} rows: different rows under the same keys are not replaced)",
                    t.target_rows_before
                ));
            }
            problems.push(problem);
        }
        report.tables.push(t);
    }
    if copy_objects {
        let (objects, mismatched) = copy_all_objects(from, to).await?;
        if !mismatched.is_empty() {
            let shown: Vec<&str> = mismatched.iter().take(10).map(String::as_str).collect();
            let more = mismatched.len().saturating_sub(shown.len());
            problems.push(format!(
                "{} objects differ in the target: {}{}",
                mismatched.len(),
                shown.join("; "),
                if more > 0 { format!("; and {more} more") } else { String::new() }
            ));
        }
        report.objects = Some(objects);
    }
    if !problems.is_empty() {
        return Err(StoreError::Corrupt(format!("the copy does not match its source: {}", problems.join("; "))));
    }
    Ok(report)
}

/// `SELECT COUNT(*)` of a table.
async fn count(store: &Store, table: &str) -> Result<u64, StoreError> {
    let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM \"{table}\"")).fetch_one(store.db()).await?;
    Ok(n as u64)
}

/// Copies and verifies one table.
async fn copy_table(from: &Store, to: &Store, table: &'static Table) -> Result<TableReport, StoreError> {
    let plan = Plan::new(table);
    let source_rows = count(from, table.name).await?;
    let target_rows_before = count(to, table.name).await?;
    let (mut source_hash, mut target_hash) = (Sha256::new(), Sha256::new());
    let (mut inserted, mut missing) = (0u64, 0u64);
    let mut last: Option<Vec<Value>> = None;
    loop {
        let rows = plan.page(from, last.as_deref()).await?;
        if rows.is_empty() {
            break;
        }
        inserted += plan.insert(to, &rows).await?;
        let copies = plan.lookup(to, &rows).await?;
        let mut buf = Vec::new();
        for row in &rows {
            buf.clear();
            row.iter().for_each(|v| v.encode(&mut buf));
            source_hash.update(&buf);
            match copies.get(&plan.key_of(row)) {
                Some(copy) => {
                    buf.clear();
                    copy.iter().for_each(|v| v.encode(&mut buf));
                    target_hash.update(&buf);
                }
                None => {
                    missing += 1;
                    target_hash.update(b"M");
                }
            }
        }
        let done = rows.len() < PAGE_ROWS;
        last = rows.into_iter().last();
        if done {
            break;
        }
    }
    if let (Dialect::Postgres, Some(id)) = (to.dialect(), table.identity) {
        // Rows inserted with explicit ids leave the identity's sequence behind: move it past them.
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence('{name}', '{id}'), COALESCE(MAX(\"{id}\"), 1), MAX(\"{id}\") IS NOT NULL) \
             FROM \"{name}\"",
            name = table.name
        );
        sqlx::query(&sql).execute(to.db()).await?;
    }
    let (source_sha256, target_sha256) = (hex::encode(source_hash.finalize()), hex::encode(target_hash.finalize()));
    Ok(TableReport {
        table: table.name.to_string(),
        source_rows,
        target_rows_before,
        inserted,
        target_rows: count(to, table.name).await?,
        verified: missing == 0 && source_sha256 == target_sha256,
        source_sha256,
        target_sha256,
        missing,
    })
}

/// Copies the objects `to` lacks and compares every object's SHA-256 on both sides; returns
/// the counts and a line per object that differs.
async fn copy_all_objects(from: &Store, to: &Store) -> Result<(ObjectReport, Vec<String>), StoreError> {
    let (source, target) = (from.objects(), to.objects());
    let listed = source.list("").await?;
    let results: Vec<(u64, Option<u64>, Option<String>)> = futures::stream::iter(listed)
        .map(|info| async move {
            let (size, sha, copied) = if target.exists(&info.key).await? {
                let (size, sha) = source.sha256(&info.key).await?;
                (size, sha, None)
            } else {
                let (size, sha) = source.copy_to(&info.key, target).await?;
                (size, sha, Some(size))
            };
            let (target_size, target_sha) = target.sha256(&info.key).await?;
            let problem = (target_sha != sha).then(|| {
                format!(
                    "{}: {size} bytes, SHA-256 {sha} in the source; {target_size} bytes, {target_sha} in the target",
                    info.key
                )
            });
            Ok::<_, StoreError>((size, copied, problem))
        })
        .buffer_unordered(OBJECT_CONCURRENCY)
        .try_collect()
        .await?;
    let mut report = ObjectReport::default();
    let mut problems = Vec::new();
    for (size, copied, problem) in results {
        report.objects += 1;
        report.bytes += size;
        if let Some(bytes) = copied {
            report.copied += 1;
            report.copied_bytes += bytes;
        }
        match problem {
            Some(p) => problems.push(p),
            None => report.verified += 1,
        }
    }
    problems.sort();
    Ok((report, problems))
}

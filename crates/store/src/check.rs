//! Consistency check of a store (`infergate store check`): every row that points at an object
//! has it, and nothing is left over that no row points at.
//!
//! - **Missing objects**: an `inferences` row whose image (`object_key`) or a `models` row whose
//!   file (`artifact_path`, `models/<sha256>.onnx`) is not in the object store. These cannot be
//!   repaired (the bytes are gone): the rows are listed, never deleted.
//! - **Orphaned objects**: an object under `images/` that no inference row references, or
//!   under `models/` that no model version references (e.g. written just before a crash that
//!   lost its row). `repair` deletes them.
//! - **Orphaned cache rows**: an `output_cache` row whose image has no inference row any more,
//!   or whose image object is missing. `repair` deletes them (they are only a cache).
//!
//! The gateway stores an image before the row that points at it, so a fresh object without a
//! row may be a request in flight: objects and cache rows younger than the grace period
//! ([`CheckOptions::grace`], a minute by default) are counted but never called orphans.

use crate::{Store, StoreError};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

/// How [`check_store_with`] runs.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Delete orphaned objects and orphaned cache rows.
    pub repair: bool,
    /// Objects and cache rows younger than this are left alone (they may belong to a request in flight).
    pub grace: Duration,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions { repair: false, grace: DEFAULT_GRACE }
    }
}

/// The default grace period of [`CheckOptions`].
pub const DEFAULT_GRACE: Duration = Duration::from_secs(60);

/// An object that rows point at but the object store does not have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissingObject {
    /// `inferences` or `models`.
    pub table: &'static str,
    /// The object key.
    pub key: String,
    /// The rows that point at it: inference ids, or `name vN` for models.
    pub rows: Vec<String>,
}

/// An object that no row points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrphanObject {
    /// The object key.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was last written (RFC 3339 UTC).
    pub modified: String,
}

/// An `output_cache` row that no longer serves a purpose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrphanCacheRow {
    /// The image's SHA-256.
    pub image_sha256: String,
    /// The model.
    pub model: String,
    /// The model version.
    pub version: i64,
    /// `no_inference` (no history row has this image) or `image_missing` (its object is gone).
    pub reason: &'static str,
}

/// What [`check_store`] found (and, with `repair`, removed).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CheckReport {
    /// Inference rows checked.
    pub inferences: u64,
    /// Model versions checked.
    pub models: u64,
    /// Output cache rows checked.
    pub cache_rows: u64,
    /// Objects listed under `images/` and `models/`.
    pub objects: u64,
    /// The grace period, in seconds.
    pub grace_s: f64,
    /// Objects younger than the grace period that no row references (yet): left alone.
    pub recent_unreferenced: u64,
    /// Rows whose object is missing (not repairable).
    pub missing: Vec<MissingObject>,
    /// Objects no row references, older than the grace period.
    pub orphan_objects: Vec<OrphanObject>,
    /// Cache rows without a purpose, older than the grace period.
    pub orphan_cache_rows: Vec<OrphanCacheRow>,
    /// Whether the orphans were deleted.
    pub repaired: bool,
    /// Orphaned objects deleted.
    pub objects_deleted: u64,
    /// Orphaned cache rows deleted.
    pub cache_rows_deleted: u64,
    /// Orphans not deleted because a row started to reference them during the check.
    pub kept_in_use: u64,
}

impl CheckReport {
    /// No row misses its object (orphans do not count: they waste space, nothing more).
    pub fn rows_intact(&self) -> bool {
        self.missing.is_empty()
    }

    /// Nothing at all to report.
    pub fn clean(&self) -> bool {
        self.missing.is_empty() && self.orphan_objects.is_empty() && self.orphan_cache_rows.is_empty()
    }

    /// Inference rows whose image is missing.
    pub fn rows_missing_objects(&self) -> usize {
        self.missing.iter().map(|m| m.rows.len()).sum()
    }
}

/// Checks `store` with the default grace period; with `repair`, deletes the orphans.
pub async fn check_store(store: &Store, repair: bool) -> Result<CheckReport, StoreError> {
    check_store_with(store, &CheckOptions { repair, ..CheckOptions::default() }).await
}

/// Checks `store` (see the module docs).
pub async fn check_store_with(store: &Store, options: &CheckOptions) -> Result<CheckReport, StoreError> {
    let now = chrono::Utc::now();
    let grace = chrono::Duration::from_std(options.grace).unwrap_or(chrono::Duration::MAX);
    let cutoff = now.checked_sub_signed(grace).unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
    let mut report = CheckReport { grace_s: options.grace.as_secs_f64(), ..CheckReport::default() };

    // Rows first, objects second: a row is written after its object, so every object a row
    // read here points at is already there when the objects are listed.
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT id, object_key FROM inferences ORDER BY id").fetch_all(store.db()).await?;
    report.inferences = rows.len() as u64;
    let mut images: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (id, key) in rows {
        images.entry(key).or_default().push(id);
    }
    let models: Vec<(String, i64, String)> =
        sqlx::query_as("SELECT name, version, artifact_path FROM models ORDER BY name, version")
            .fetch_all(store.db())
            .await?;
    report.models = models.len() as u64;
    let mut artifacts: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, version, path) in models {
        artifacts.entry(path).or_default().push(format!("{name} v{version}"));
    }
    let cache: Vec<(String, String, i64, String)> =
        sqlx::query_as("SELECT image_sha256, model, version, created_at FROM output_cache ORDER BY image_sha256")
            .fetch_all(store.db())
            .await?;
    report.cache_rows = cache.len() as u64;

    let objects = store.objects();
    let mut listed = objects.list_with_modified("images").await?;
    listed.extend(objects.list_with_modified("models").await?);
    report.objects = listed.len() as u64;
    let present: HashSet<&str> = listed.iter().map(|(info, _)| info.key.as_str()).collect();

    for (table, referenced) in [("inferences", &images), ("models", &artifacts)] {
        for key in referenced.keys() {
            // Not listed: asked once more (a listing may lag behind on some S3 servers), and the
            // rows read again (history deleted meanwhile takes its images with it).
            if present.contains(key.as_str()) || objects.exists(key).await? {
                continue;
            }
            let rows: Vec<String> = match table {
                "inferences" => {
                    sqlx::query_scalar("SELECT id FROM inferences WHERE object_key = $1 ORDER BY id")
                        .bind(key)
                        .fetch_all(store.db())
                        .await?
                }
                _ => sqlx::query_as::<_, (String, i64)>(
                    "SELECT name, version FROM models WHERE artifact_path = $1 ORDER BY name, version",
                )
                .bind(key)
                .fetch_all(store.db())
                .await?
                .into_iter()
                .map(|(name, version)| format!("{name} v{version}"))
                .collect(),
            };
            if !rows.is_empty() {
                report.missing.push(MissingObject { table, key: key.clone(), rows });
            }
        }
    }
    for (info, modified) in &listed {
        let referenced = match info.key.split('/').next() {
            Some("images") => images.contains_key(&info.key),
            _ => artifacts.contains_key(&info.key),
        };
        if referenced {
            continue;
        }
        if *modified > cutoff {
            report.recent_unreferenced += 1;
            continue;
        }
        report.orphan_objects.push(OrphanObject {
            key: info.key.clone(),
            size: info.size,
            modified: modified.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        });
    }

    let cutoff_text = cutoff.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let shas: HashSet<&str> = images.keys().filter_map(|k| k.rsplit('/').next()).collect();
    for (sha, model, version, created_at) in cache {
        let key = Store::image_key(&sha);
        let reason = if !present.contains(key.as_str()) && !objects.exists(&key).await? {
            "image_missing"
        } else if !shas.contains(sha.as_str()) {
            "no_inference"
        } else {
            continue;
        };
        // RFC 3339 UTC with the same precision everywhere: the strings sort as the times do.
        if created_at.as_str() > cutoff_text.as_str() && reason == "no_inference" {
            continue;
        }
        report.orphan_cache_rows.push(OrphanCacheRow { image_sha256: sha, model, version, reason });
    }

    if options.repair {
        repair(store, &mut report).await?;
    }
    Ok(report)
}

/// Deletes what `report` found orphaned: cache rows first (so that no cached answer can point
/// at an image about to go), then the objects, each batch checked once more for rows that
/// started to reference it since the check began, with reference writes paused from that
/// check to the last delete ([`Store::pause_reference_writes`]).
async fn repair(store: &Store, report: &mut CheckReport) -> Result<(), StoreError> {
    report.repaired = true;
    for row in &report.orphan_cache_rows {
        let deleted = sqlx::query("DELETE FROM output_cache WHERE image_sha256 = $1 AND model = $2 AND version = $3")
            .bind(&row.image_sha256)
            .bind(&row.model)
            .bind(row.version)
            .execute(store.db())
            .await?;
        report.cache_rows_deleted += deleted.rows_affected();
    }
    // Small batches: writers wait while one is checked and deleted.
    for batch in report.orphan_objects.chunks(50) {
        let mut tx = store.pause_reference_writes().await?;
        let (images, models): (Vec<&OrphanObject>, Vec<&OrphanObject>) =
            batch.iter().partition(|o| o.key.starts_with("images/"));
        let mut in_use: HashSet<String> = HashSet::new();
        for (sql, keys) in [
            ("SELECT object_key FROM inferences WHERE object_key IN", &images),
            ("SELECT artifact_path FROM models WHERE artifact_path IN", &models),
        ] {
            if keys.is_empty() {
                continue;
            }
            let sql = format!("{sql} ({})", crate::numbered_params(1, keys.len()));
            let mut query = sqlx::query_scalar::<_, String>(&sql);
            for o in keys {
                query = query.bind(&o.key);
            }
            in_use.extend(query.fetch_all(&mut *tx).await?);
        }
        for o in batch {
            if in_use.contains(&o.key) {
                report.kept_in_use += 1;
                continue;
            }
            store.objects().delete(&o.key).await?;
            report.objects_deleted += 1;
        }
        tx.commit().await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inferences::InferenceRecord;
    use bytes::Bytes;

    fn record(id: &str, sha: &str) -> InferenceRecord {
        crate::inferences::tests::record(id, &crate::now_rfc3339(), sha)
    }

    const NO_GRACE: CheckOptions = CheckOptions { repair: false, grace: Duration::ZERO };

    #[tokio::test]
    async fn check_finds_missing_and_orphans_and_repair_removes_only_orphans() {
        for backend in crate::testing::each_backend().await {
            let label = backend.label;
            let store = &backend.store;
            let objects = store.objects();
            // A consistent store is clean.
            let report = check_store_with(store, &NO_GRACE).await.unwrap();
            assert!(report.clean(), "{label}: {report:?}");

            // "aa…": a row with its image; "bb…": a row whose image is gone; "cc…": an image
            // without a row; "dd…": a cache row for an image without any history row.
            let (aa, bb, cc, dd) = ("aa".repeat(32), "bb".repeat(32), "cc".repeat(32), "dd".repeat(32));
            for sha in [&aa, &bb, &cc, &dd] {
                objects.put_if_absent(&Store::image_key(sha), Bytes::from_static(b"img")).await.unwrap();
            }
            store.insert_inference(&record("r-a", &aa), Some(&[1.0, 2.0])).await.unwrap();
            store.insert_inference(&record("r-b", &bb), None).await.unwrap();
            sqlx::query("INSERT INTO output_cache (image_sha256, model, version, logits, created_at) VALUES ($1, 'm', 1, $2, $3)")
                .bind(&dd)
                .bind(vec![0u8; 8])
                .bind("2020-01-01T00:00:00.000Z")
                .execute(store.db())
                .await
                .unwrap();
            objects.delete(&Store::image_key(&bb)).await.unwrap();
            // A model file nobody registered.
            objects.put("models/ee.onnx", Bytes::from_static(b"onnx")).await.unwrap();

            // With the default grace everything just written is too young to be an orphan.
            let report = check_store(store, false).await.unwrap();
            assert!(report.orphan_objects.is_empty(), "{label}: {report:?}");
            assert_eq!(report.recent_unreferenced, 3, "{label}: {report:?}");
            assert_eq!(report.orphan_cache_rows.len(), 1, "{label}: old cache rows have no grace: {report:?}");
            assert_eq!(report.missing.len(), 1, "{label}");

            let report = check_store_with(store, &NO_GRACE).await.unwrap();
            assert_eq!((report.inferences, report.models, report.cache_rows), (2, 0, 2), "{label}");
            assert_eq!(
                report.missing,
                vec![MissingObject { table: "inferences", key: Store::image_key(&bb), rows: vec!["r-b".into()] }],
                "{label}"
            );
            let orphans: Vec<&str> = report.orphan_objects.iter().map(|o| o.key.as_str()).collect();
            let (cc_key, dd_key) = (Store::image_key(&cc), Store::image_key(&dd));
            assert_eq!(orphans, [cc_key.as_str(), dd_key.as_str(), "models/ee.onnx"], "{label}");
            assert_eq!(report.orphan_cache_rows.len(), 1, "{label}");
            assert_eq!(report.orphan_cache_rows[0].image_sha256, dd, "{label}");
            assert_eq!(report.orphan_cache_rows[0].reason, "no_inference", "{label}");
            assert!(!report.rows_intact() && !report.repaired, "{label}");

            let report = check_store_with(store, &CheckOptions { repair: true, grace: Duration::ZERO }).await.unwrap();
            assert!(report.repaired, "{label}");
            assert_eq!((report.objects_deleted, report.cache_rows_deleted), (3, 1), "{label}");
            assert!(!objects.exists(&cc_key).await.unwrap(), "{label}");
            assert!(!objects.exists("models/ee.onnx").await.unwrap(), "{label}");
            assert!(objects.exists(&Store::image_key(&aa)).await.unwrap(), "{label}");
            // The row with the missing image is reported again, never deleted.
            assert!(store.get_inference("r-b").await.unwrap().is_some(), "{label}");
            assert!(store.cached_output(&aa, "m", 1).await.unwrap().is_some(), "{label}");

            let report = check_store_with(store, &NO_GRACE).await.unwrap();
            assert!(report.orphan_objects.is_empty() && report.orphan_cache_rows.is_empty(), "{label}: {report:?}");
            assert_eq!(report.rows_missing_objects(), 1, "{label}");
        }
    }

    #[tokio::test]
    async fn a_cleanup_and_a_writer_reusing_the_same_object_never_leave_a_row_without_it() {
        for backend in crate::testing::each_backend().await {
            let label = backend.label;
            let store = &backend.store;
            let objects = store.objects();
            let (first, second) = ("ab".repeat(32), "cd".repeat(32));
            let img = Bytes::from_static(b"img");
            // While a cleanup holds the pause, a history row cannot be written.
            let paused = store.pause_reference_writes().await.unwrap();
            let writer = tokio::spawn({
                let (store, first) = (store.clone(), first.clone());
                async move { store.insert_inference(&record("r-1", &first), None).await }
            });
            tokio::time::sleep(Duration::from_millis(300)).await;
            assert!(!writer.is_finished(), "{label}: a row was written while reference writes were paused");
            paused.rollback().await.unwrap();
            writer.await.unwrap().unwrap();
            assert!(store.get_inference("r-1").await.unwrap().is_some(), "{label}");

            // The writer's side: an orphan from earlier is reused by a request (put_if_absent
            // says it did not create it), a repair deletes it before the request's row is in,
            // then the row goes in and the writer confirms the object, storing it again.
            let key = Store::image_key(&second);
            assert!(objects.put_if_absent(&key, img.clone()).await.unwrap(), "{label}: created");
            assert!(!objects.put_if_absent(&key, img.clone()).await.unwrap(), "{label}: reused");
            let report = check_store_with(store, &CheckOptions { repair: true, grace: Duration::ZERO }).await.unwrap();
            assert!(report.orphan_objects.iter().any(|o| o.key == key), "{label}: {report:?}");
            assert!(!objects.exists(&key).await.unwrap(), "{label}");
            store.insert_inference(&record("r-2", &second), None).await.unwrap();
            assert!(objects.restore_if_missing(&key, img.clone()).await.unwrap(), "{label}: restored");
            assert!(!objects.restore_if_missing(&key, img.clone()).await.unwrap(), "{label}: already there");
            let report = check_store_with(store, &NO_GRACE).await.unwrap();
            assert!(report.missing.iter().all(|m| m.key != key), "{label}: {report:?}");
        }
    }

    #[tokio::test]
    async fn a_model_row_without_its_file_is_missing_and_its_file_is_not_an_orphan() {
        for backend in crate::testing::each_backend().await {
            let label = backend.label;
            let store = &backend.store;
            for (name, path) in [("present", "models/11.onnx"), ("gone", "models/22.onnx")] {
                sqlx::query(
                    "INSERT INTO models (name, version, sha256, artifact_path, size_bytes, task, preprocess, labels, \
                     signature, source, active, created_at) VALUES ($1, 1, 'x', $2, 4, 'imagenet', '{}', '[]', '{}', \
                     'test', 0, '2020-01-01T00:00:00.000Z')",
                )
                .bind(name)
                .bind(path)
                .execute(store.db())
                .await
                .unwrap();
            }
            store.objects().put("models/11.onnx", Bytes::from_static(b"onnx")).await.unwrap();
            let report = check_store_with(store, &CheckOptions { repair: true, grace: Duration::ZERO }).await.unwrap();
            assert_eq!(
                report.missing,
                vec![MissingObject { table: "models", key: "models/22.onnx".into(), rows: vec!["gone v1".into()] }],
                "{label}"
            );
            assert!(report.orphan_objects.is_empty(), "{label}: {report:?}");
            assert!(store.objects().exists("models/11.onnx").await.unwrap(), "{label}");
        }
    }
}

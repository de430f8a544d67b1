//! The classification history and the output cache.

use crate::objects::ObjectStoreHandle;
use crate::{Store, StoreError};
use infergate_core::{ClassifyResponse, ModelRef, Timings};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

/// The stored image behind a history record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredImage {
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
    /// Key in the object store.
    pub object_key: String,
    /// MIME type as detected.
    pub content_type: String,
    /// Size in bytes.
    pub size_bytes: i64,
}

/// One answered classification, as stored and as listed by `GET /v1/inferences`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InferenceRecord {
    /// Same as the answer's `request_id`.
    pub id: String,
    /// When it was answered (RFC 3339 UTC).
    pub created_at: String,
    /// Model version that answered.
    pub model: ModelRef,
    /// The answer's label.
    pub label: String,
    /// The answer's confidence.
    pub confidence: f32,
    /// The answer's `in_domain`.
    pub in_domain: bool,
    /// Whether it came from the cache.
    pub cached: bool,
    /// Time per stage.
    pub timings_ms: Timings,
    /// The image.
    pub image: StoredImage,
    /// Who asked (an API key id or client-supplied id), if known.
    pub client_id: Option<String>,
    /// The full answer as sent.
    pub answer: ClassifyResponse,
}

/// Filters and paging for the history list.
#[derive(Debug, Clone, Default)]
pub struct InferenceFilter {
    /// Only this label.
    pub label: Option<String>,
    /// Only records at or after this RFC 3339 UTC time (`YYYY-MM-DDTHH:MM:SS.mmmZ`).
    pub since: Option<String>,
    /// Only this model.
    pub model: Option<String>,
    /// Only records of this client (an API key id).
    pub client_id: Option<String>,
    /// Page size.
    pub limit: u32,
    /// Continue after this record id (the previous page's `next_cursor`).
    pub cursor: Option<String>,
}

/// One page of history, newest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InferencePage {
    /// The records.
    pub items: Vec<InferenceRecord>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// The answers of a time window, for `/v1/stats`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WindowStats {
    /// Answers in the window.
    pub requests: u64,
    /// How many came from the cache.
    pub cached: u64,
    /// Server-side latency of each (milliseconds, unordered).
    pub latencies_ms: Vec<f64>,
    /// Sum of their `cost_usd`.
    pub cost_usd: f64,
    /// How many had a cost.
    pub priced: u64,
}

/// A cached model output for an image under a model version.
#[derive(Debug, Clone)]
pub struct CachedOutput {
    /// The logits, as the model produced them.
    pub logits: Vec<f32>,
}

fn decode(row: &AnyRow) -> Result<InferenceRecord, StoreError> {
    let timings: String = row.try_get("timings")?;
    let answer: String = row.try_get("answer")?;
    let bad = |e: serde_json::Error| StoreError::Corrupt(format!("inference record: {e}"));
    Ok(InferenceRecord {
        id: row.try_get("id")?,
        created_at: row.try_get("created_at")?,
        model: ModelRef { name: row.try_get("model")?, version: row.try_get("version")? },
        label: row.try_get("label")?,
        confidence: row.try_get::<f64, _>("confidence")? as f32,
        in_domain: row.try_get::<i64, _>("in_domain")? != 0,
        cached: row.try_get::<i64, _>("cached")? != 0,
        timings_ms: serde_json::from_str(&timings).map_err(bad)?,
        image: StoredImage {
            sha256: row.try_get("image_sha256")?,
            object_key: row.try_get("object_key")?,
            content_type: row.try_get("content_type")?,
            size_bytes: row.try_get("size_bytes")?,
        },
        client_id: row.try_get("client_id")?,
        answer: serde_json::from_str(&answer).map_err(bad)?,
    })
}

impl Store {
    /// Inserts the record (and, for a fresh inference, its logits for the cache). The caller
    /// must have stored the image at `record.image.object_key` first
    /// ([`ObjectStoreHandle::put_if_absent`]), so that no row points at a missing image.
    ///
    /// Both rows go to the database in one round trip. On SQLite (one command to its
    /// connection thread) they are two autocommit statements, cache row first: if the history
    /// row then fails, what remains is a correct cache entry for an image that is stored,
    /// never a history row without its image. On PostgreSQL they are one statement (the
    /// cache insert in a `WITH`), so both land or neither.
    pub async fn insert_inference(&self, record: &InferenceRecord, logits: Option<&[f32]>) -> Result<(), StoreError> {
        const CACHE_COLUMNS: &str = "output_cache (image_sha256, model, version, logits, created_at)";
        const RECORD_COLUMNS: &str = "inferences (id, created_at, model, version, label, confidence, in_domain, \
             cached, timings, answer, image_sha256, object_key, content_type, size_bytes, client_id, total_ms, cost_usd)";
        let cache =
            format!("INSERT INTO {CACHE_COLUMNS} VALUES ({}) ON CONFLICT DO NOTHING", crate::numbered_params(1, 5));
        let sql = match (logits, self.dialect) {
            (None, _) => format!("INSERT INTO {RECORD_COLUMNS} VALUES ({})", crate::numbered_params(1, 17)),
            (Some(_), crate::Dialect::Sqlite) => {
                format!("{cache};\nINSERT INTO {RECORD_COLUMNS} VALUES ({})", crate::numbered_params(6, 17))
            }
            (Some(_), crate::Dialect::Postgres) => {
                format!(
                    "WITH cache AS ({cache}) INSERT INTO {RECORD_COLUMNS} VALUES ({})",
                    crate::numbered_params(6, 17)
                )
            }
        };
        let mut query = sqlx::query(&sql);
        if let Some(logits) = logits {
            let blob: Vec<u8> = logits.iter().flat_map(|v| v.to_le_bytes()).collect();
            query = query
                .bind(&record.image.sha256)
                .bind(&record.model.name)
                .bind(record.model.version)
                .bind(blob)
                .bind(&record.created_at);
        }
        query
            .bind(&record.id)
            .bind(&record.created_at)
            .bind(&record.model.name)
            .bind(record.model.version)
            .bind(&record.label)
            .bind(record.confidence as f64)
            .bind(record.in_domain as i64)
            .bind(record.cached as i64)
            .bind(crate::to_json(&record.timings_ms))
            .bind(crate::to_json(&record.answer))
            .bind(&record.image.sha256)
            .bind(&record.image.object_key)
            .bind(&record.image.content_type)
            .bind(record.image.size_bytes)
            .bind(&record.client_id)
            .bind(record.timings_ms.total)
            .bind(record.answer.cost_usd)
            .execute(&self.db)
            .await?;
        Ok(())
    }

    /// The cached output of `model`/`version` for the image with this SHA-256, if any.
    pub async fn cached_output(
        &self,
        image_sha256: &str,
        model: &str,
        version: i64,
    ) -> Result<Option<CachedOutput>, StoreError> {
        let blob: Option<Vec<u8>> = sqlx::query_scalar(
            "SELECT logits FROM output_cache WHERE image_sha256 = $1 AND model = $2 AND version = $3",
        )
        .bind(image_sha256)
        .bind(model)
        .bind(version)
        .fetch_optional(&self.db)
        .await?;
        match blob {
            None => Ok(None),
            Some(b) if b.len() % 4 == 0 => Ok(Some(CachedOutput {
                logits: b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
            })),
            Some(_) => Err(StoreError::Corrupt("cached logits are not a whole number of f32".into())),
        }
    }

    /// A page of history, newest first.
    pub async fn list_inferences(&self, filter: &InferenceFilter) -> Result<InferencePage, StoreError> {
        let mut sql = String::from("SELECT * FROM inferences WHERE 1 = 1");
        let mut binds: Vec<&str> = Vec::new();
        for (column, op, value) in [
            ("label", "=", &filter.label),
            ("model", "=", &filter.model),
            ("client_id", "=", &filter.client_id),
            ("created_at", ">=", &filter.since),
            ("id", "<", &filter.cursor),
        ] {
            if let Some(v) = value {
                sql.push_str(&format!(" AND {column} {op} ${}", binds.len() + 1));
                binds.push(v);
            }
        }
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", binds.len() + 1));
        let mut query = sqlx::query(&sql);
        for b in binds {
            query = query.bind(b);
        }
        let limit = filter.limit.max(1) as i64;
        let rows = query.bind(limit + 1).fetch_all(&self.db).await?;
        let mut items = rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
        let next_cursor = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items.last().map(|r| r.id.clone())
        } else {
            None
        };
        Ok(InferencePage { items, next_cursor })
    }

    /// One history record.
    pub async fn get_inference(&self, id: &str) -> Result<Option<InferenceRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM inferences WHERE id = $1").bind(id).fetch_optional(&self.db).await?;
        row.as_ref().map(decode).transpose()
    }

    /// Requests, cache hits, latencies and cost of the answers since `since` (RFC 3339).
    pub async fn inference_stats(&self, since: &str) -> Result<WindowStats, StoreError> {
        let rows: Vec<(i64, Option<f64>, Option<f64>)> =
            sqlx::query_as("SELECT cached, total_ms, cost_usd FROM inferences WHERE created_at >= $1")
                .bind(since)
                .fetch_all(&self.db)
                .await?;
        let mut stats = WindowStats { requests: rows.len() as u64, ..WindowStats::default() };
        for (cached, total_ms, cost) in rows {
            stats.cached += (cached != 0) as u64;
            stats.latencies_ms.extend(total_ms);
            if let Some(c) = cost {
                stats.cost_usd += c;
                stats.priced += 1;
            }
        }
        Ok(stats)
    }

    /// Deletes one history record; when no other record shows the same image, the image
    /// object and its cached outputs go too. Returns whether the record existed.
    pub async fn delete_inference(&self, id: &str) -> Result<bool, StoreError> {
        let sha: Option<String> = sqlx::query_scalar("DELETE FROM inferences WHERE id = $1 RETURNING image_sha256")
            .bind(id)
            .fetch_optional(&self.db)
            .await?;
        let Some(sha) = sha else { return Ok(false) };
        self.drop_unreferenced_images(&[sha]).await?;
        Ok(true)
    }

    /// Deletes the history older than `before` (RFC 3339) and the images no record shows
    /// any more; returns how many records went.
    pub async fn delete_inferences_before(&self, before: &str) -> Result<u64, StoreError> {
        let shas: Vec<String> =
            sqlx::query_scalar("DELETE FROM inferences WHERE created_at < $1 RETURNING image_sha256")
                .bind(before)
                .fetch_all(&self.db)
                .await?;
        let deleted = shas.len() as u64;
        let mut unique = shas;
        unique.sort();
        unique.dedup();
        self.drop_unreferenced_images(&unique).await?;
        Ok(deleted)
    }

    /// For each image no record shows any more: drops its cached outputs (a cache hit must
    /// never point at a missing image) and then its object.
    async fn drop_unreferenced_images(&self, shas: &[String]) -> Result<(), StoreError> {
        for sha in shas {
            // Checked and deleted with reference writes paused: a request storing the same
            // image cannot add its row in between (see `pause_reference_writes`).
            let mut tx = self.pause_reference_writes().await?;
            let still: Option<i64> = sqlx::query_scalar("SELECT 1 FROM inferences WHERE image_sha256 = $1 LIMIT 1")
                .bind(sha)
                .fetch_optional(&mut *tx)
                .await?;
            if still.is_none() {
                sqlx::query("DELETE FROM output_cache WHERE image_sha256 = $1").bind(sha).execute(&mut *tx).await?;
                self.objects.delete(&Self::image_key(sha)).await?;
            }
            tx.commit().await?;
        }
        Ok(())
    }

    /// The object key an image with this hash is stored under.
    pub fn image_key(sha256_hex: &str) -> String {
        ObjectStoreHandle::image_key(sha256_hex)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use bytes::Bytes;

    /// A history record of image `sha` answered "cat" (for this crate's tests).
    pub(crate) fn record(id: &str, created_at: &str, sha: &str) -> InferenceRecord {
        let model = ModelRef { name: "m".into(), version: 1 };
        let answer = ClassifyResponse {
            request_id: id.into(),
            model: model.clone(),
            label: "cat".into(),
            confidence: 0.9,
            group_scores: None,
            in_domain: true,
            top_k: Vec::new(),
            cached: false,
            cold_start: false,
            load_ms: None,
            batch_size: Some(1),
            timings_ms: Timings::default(),
            cost_usd: Some(1e-6),
        };
        InferenceRecord {
            id: id.into(),
            created_at: created_at.into(),
            model,
            label: "cat".into(),
            confidence: 0.9,
            in_domain: true,
            cached: false,
            timings_ms: Timings::default(),
            image: StoredImage {
                sha256: sha.into(),
                object_key: Store::image_key(sha),
                content_type: "image/jpeg".into(),
                size_bytes: 3,
            },
            client_id: None,
            answer,
        }
    }

    #[tokio::test]
    async fn images_go_with_the_last_record_that_shows_them() {
        for backend in crate::testing::each_backend().await {
            eprintln!("backend: {}", backend.label);
            let store = &backend.store;
            let (a, b) = ("aa".repeat(32), "bb".repeat(32));
            for sha in [&a, &b] {
                store.objects().put_if_absent(&Store::image_key(sha), Bytes::from_static(b"img")).await.unwrap();
            }
            let old = "2020-01-01T00:00:00.000Z";
            let new = "2026-01-01T00:00:00.000Z";
            store.insert_inference(&record("r1", old, &a), Some(&[1.0, 2.0])).await.unwrap();
            store.insert_inference(&record("r2", new, &a), None).await.unwrap();
            store.insert_inference(&record("r3", old, &b), Some(&[3.0])).await.unwrap();

            // r1 goes, but r2 still shows image a: it and its cached output stay.
            assert!(store.delete_inference("r1").await.unwrap());
            assert!(!store.delete_inference("r1").await.unwrap(), "already gone");
            assert!(store.objects().exists(&Store::image_key(&a)).await.unwrap());
            assert!(store.cached_output(&a, "m", 1).await.unwrap().is_some());

            // Retention: everything before 2025 goes; image b with it, image a stays for r2.
            assert_eq!(store.delete_inferences_before("2025-01-01T00:00:00.000Z").await.unwrap(), 1);
            assert!(!store.objects().exists(&Store::image_key(&b)).await.unwrap());
            assert!(
                store.cached_output(&b, "m", 1).await.unwrap().is_none(),
                "no cache hit may point at a missing image"
            );
            assert!(store.get_inference("r2").await.unwrap().is_some());

            // The last record of image a goes: so do the image and its cache entry.
            assert!(store.delete_inference("r2").await.unwrap());
            assert!(!store.objects().exists(&Store::image_key(&a)).await.unwrap());
            assert!(store.cached_output(&a, "m", 1).await.unwrap().is_none());
        }
    }
}

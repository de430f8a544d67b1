//! Telemetry samples the agents pushed. A sample is keyed by its device and the agent's own
//! sequence number, so a batch sent again (its answer lost) is stored once.

use crate::{now_rfc3339, Store, StoreError};
use serde::{Deserialize, Serialize};
use sqlx::Row;

/// One sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TelemetrySample {
    /// The agent's sequence number (increasing per device).
    pub seq: i64,
    /// When the agent took it (RFC 3339 UTC).
    pub at: String,
    /// The sample (CPU, memory, disk, temperature, power, latency, energy so far, …).
    pub sample: serde_json::Value,
}

impl Store {
    /// Stores the samples not stored yet; returns how many were new.
    pub async fn insert_telemetry(&self, device_id: &str, samples: &[TelemetrySample]) -> Result<u64, StoreError> {
        let mut tx = self.write_tx().await?;
        let received = now_rfc3339();
        let mut new = 0;
        for s in samples {
            let done = sqlx::query(
                "INSERT INTO device_telemetry (device_id, seq, at, received_at, sample) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(device_id)
            .bind(s.seq)
            .bind(&s.at)
            .bind(&received)
            .bind(crate::to_json(&s.sample))
            .execute(&mut *tx)
            .await?;
            new += done.rows_affected();
        }
        tx.commit().await?;
        Ok(new)
    }

    /// A device's samples taken at or after `since` (all without), oldest first, at most `limit`.
    pub async fn telemetry(
        &self,
        device_id: &str,
        since: Option<&str>,
        limit: u32,
    ) -> Result<Vec<TelemetrySample>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, at, sample FROM device_telemetry WHERE device_id = $1 AND at >= $2 ORDER BY at, seq LIMIT $3",
        )
        .bind(device_id)
        .bind(since.unwrap_or(""))
        .bind(limit as i64)
        .fetch_all(&self.db)
        .await?;
        rows.iter()
            .map(|r| {
                let text: String = r.try_get("sample")?;
                Ok(TelemetrySample {
                    seq: r.try_get("seq")?,
                    at: r.try_get("at")?,
                    sample: serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("telemetry: {e}")))?,
                })
            })
            .collect()
    }

    /// Deletes samples taken before `before` (retention); returns how many went.
    pub async fn delete_telemetry_before(&self, before: &str) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM device_telemetry WHERE at < $1")
            .bind(before)
            .execute(&self.db)
            .await?
            .rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn samples_are_stored_once_and_expire() {
        for backend in crate::testing::each_backend().await {
            eprintln!("backend: {}", backend.label);
            let store = &backend.store;
            let s = |seq: i64, at: &str| TelemetrySample {
                seq,
                at: at.into(),
                sample: serde_json::json!({"cpu_percent": seq}),
            };
            let batch = [s(1, "2026-01-01T00:00:00.000Z"), s(2, "2026-01-01T00:00:05.000Z")];
            assert_eq!(store.insert_telemetry("d", &batch).await.unwrap(), 2);
            assert_eq!(
                store.insert_telemetry("d", &[batch[1].clone(), s(3, "2026-01-01T00:00:10.000Z")]).await.unwrap(),
                1
            );
            assert_eq!(store.telemetry("d", None, 100).await.unwrap().len(), 3);
            let since = store.telemetry("d", Some("2026-01-01T00:00:05.000Z"), 100).await.unwrap();
            assert_eq!(since.iter().map(|s| s.seq).collect::<Vec<_>>(), [2, 3]);
            assert_eq!(since[0].sample["cpu_percent"], 2);
            assert_eq!(store.delete_telemetry_before("2026-01-01T00:00:05.000Z").await.unwrap(), 1);
            assert!(store.telemetry("other", None, 100).await.unwrap().is_empty());
        }
    }
}

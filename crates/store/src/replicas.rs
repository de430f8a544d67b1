//! Gateway replicas sharing one database: who is alive, so that per-replica shares of
//! shared limits (the per-key rates) add up to the configured total.

use crate::{Store, StoreError};
use serde::{Deserialize, Serialize};
use sqlx::Row;

/// A gateway replica as last seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Replica {
    /// Chosen by the replica at start (UUIDv7).
    pub id: String,
    /// Where it listens, as it sees it.
    pub address: String,
    /// When it started (RFC 3339 UTC).
    pub started_at: String,
    /// Its last heartbeat (RFC 3339 UTC).
    pub last_seen_at: String,
}

impl Store {
    /// Records that replica `id` is alive at `now` (RFC 3339 UTC), and returns how many
    /// replicas (itself included) were seen at or after `since`.
    pub async fn replica_heartbeat(&self, id: &str, address: &str, now: &str, since: &str) -> Result<u64, StoreError> {
        sqlx::query(
            "INSERT INTO gateway_replicas (id, address, started_at, last_seen_at) VALUES ($1, $2, $3, $3) \
             ON CONFLICT (id) DO UPDATE SET last_seen_at = $3, address = $2",
        )
        .bind(id)
        .bind(address)
        .bind(now)
        .execute(&self.db)
        .await?;
        let live: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM gateway_replicas WHERE last_seen_at >= $1")
            .bind(since)
            .fetch_one(&self.db)
            .await?;
        Ok(live.max(1) as u64)
    }

    /// Forgets replica `id` (on a clean shutdown) and the ones not seen since `stale_before`.
    pub async fn remove_replica(&self, id: &str, stale_before: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM gateway_replicas WHERE id = $1 OR last_seen_at < $2")
            .bind(id)
            .bind(stale_before)
            .execute(&self.db)
            .await?;
        Ok(())
    }

    /// The replicas seen at or after `since`, oldest first.
    pub async fn live_replicas(&self, since: &str) -> Result<Vec<Replica>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, address, started_at, last_seen_at FROM gateway_replicas WHERE last_seen_at >= $1 \
             ORDER BY started_at, id",
        )
        .bind(since)
        .fetch_all(&self.db)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Replica {
                    id: r.try_get("id")?,
                    address: r.try_get("address")?,
                    started_at: r.try_get("started_at")?,
                    last_seen_at: r.try_get("last_seen_at")?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn replicas_count_while_they_beat_and_go_when_removed() {
        for backend in crate::testing::each_backend().await {
            eprintln!("backend: {}", backend.label);
            let store = &backend.store;
            let (t0, t1, t2) = ("2026-01-01T00:00:00.000Z", "2026-01-01T00:00:05.000Z", "2026-01-01T00:00:20.000Z");
            assert_eq!(store.replica_heartbeat("a", "10.0.0.1:8080", t0, t0).await.unwrap(), 1);
            assert_eq!(store.replica_heartbeat("b", "10.0.0.2:8080", t1, t0).await.unwrap(), 2);
            // a beats again: still two, and a keeps its start time.
            assert_eq!(store.replica_heartbeat("a", "10.0.0.1:8080", t1, t0).await.unwrap(), 2);
            let live = store.live_replicas(t0).await.unwrap();
            assert_eq!(
                live.iter().map(|r| (r.id.as_str(), r.started_at.as_str())).collect::<Vec<_>>(),
                [("a", t0), ("b", t1)]
            );
            // Much later only a beats: b is not counted any more.
            assert_eq!(store.replica_heartbeat("a", "10.0.0.1:8080", t2, "2026-01-01T00:00:10.000Z").await.unwrap(), 1);
            store.remove_replica("a", t0).await.unwrap();
            assert_eq!(store.live_replicas(t0).await.unwrap().len(), 1, "b stays until it is stale");
            store.remove_replica("x", t2).await.unwrap();
            assert!(store.live_replicas("").await.unwrap().is_empty());
        }
    }
}

//! Invocations the router forwarded (`POST /v1/invoke/{function}`): one row each, written in
//! batches (one transaction per batch), read back for reports and for retraining.

use crate::{Store, StoreError};
use serde::{Deserialize, Serialize};
use sqlx::Row;

/// One recorded invocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invocation {
    /// Id (UUIDv7).
    pub id: String,
    /// The function's name.
    pub function: String,
    /// Wire name of the platform that answered (or was last tried): `lambda` or `ecs`.
    pub platform: String,
    /// The backend's kind: `local-function`, `local-container` or `http`.
    pub backend: String,
    /// HTTP status returned to the client.
    pub status: u16,
    /// `ok`, or why it failed: `backend_error`, `timeout`, `bad_reply`, `unavailable`, `throttled`.
    pub outcome: String,
    /// Arrival at the router to the answer, milliseconds.
    pub latency_ms: f64,
    /// The backend's own run time, when it reported one.
    pub exec_ms: Option<f64>,
    /// Whether answering needed a new worker (a cold start).
    pub cold_start: bool,
    /// Cost from the pricing table and the measured duration, USD.
    pub cost_usd: f64,
    /// Whether the first platform failed and the other one answered.
    pub fallback: bool,
    /// Request payload size.
    pub payload_bytes: u64,
    /// Why it failed (on a fallback, why the first attempt did).
    pub error: Option<String>,
    /// When it arrived (RFC 3339 UTC).
    pub created_at: String,
}

/// Invocations of one function on one platform, by outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvocationCount {
    /// The function.
    pub function: String,
    /// The platform.
    pub platform: String,
    /// All of them.
    pub total: u64,
    /// Answered with `ok`.
    pub ok: u64,
    /// Cold starts.
    pub cold_starts: u64,
    /// Served after a fallback.
    pub fallbacks: u64,
    /// Summed cost, USD.
    pub cost_usd: f64,
}

const COLUMNS: &str = "id, function, platform, backend, status, outcome, latency_ms, exec_ms, cold_start, cost_usd, \
                       fallback, payload_bytes, error, created_at";

impl Store {
    /// Records invocations in one transaction (all or none).
    pub async fn record_invocations(&self, batch: &[Invocation]) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut tx = self.write_tx().await?;
        for i in batch {
            sqlx::query(&format!(
                "INSERT INTO invocations ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
            ))
            .bind(&i.id)
            .bind(&i.function)
            .bind(&i.platform)
            .bind(&i.backend)
            .bind(i.status as i64)
            .bind(&i.outcome)
            .bind(i.latency_ms)
            .bind(i.exec_ms)
            .bind(i.cold_start as i64)
            .bind(i.cost_usd)
            .bind(i.fallback as i64)
            .bind(i.payload_bytes as i64)
            .bind(&i.error)
            .bind(&i.created_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Invocations, oldest first, of one function or all; at most `limit`, after `offset`.
    pub async fn list_invocations(
        &self,
        function: Option<&str>,
        limit: u32,
        offset: u64,
    ) -> Result<Vec<Invocation>, StoreError> {
        let filter = if function.is_some() { "WHERE function = $1" } else { "" };
        let (limit_at, offset_at) = if function.is_some() { (2, 3) } else { (1, 2) };
        let sql = format!(
            "SELECT {COLUMNS} FROM invocations {filter} ORDER BY created_at, id LIMIT ${limit_at} OFFSET ${offset_at}"
        );
        let mut q = sqlx::query(&sql);
        if let Some(f) = function {
            q = q.bind(f);
        }
        let rows = q.bind(limit as i64).bind(offset as i64).fetch_all(&self.db).await?;
        rows.iter()
            .map(|r| {
                Ok(Invocation {
                    id: r.try_get("id")?,
                    function: r.try_get("function")?,
                    platform: r.try_get("platform")?,
                    backend: r.try_get("backend")?,
                    status: u16::try_from(r.try_get::<i64, _>("status")?)
                        .map_err(|_| StoreError::Corrupt("invocation status out of range".into()))?,
                    outcome: r.try_get("outcome")?,
                    latency_ms: r.try_get("latency_ms")?,
                    exec_ms: r.try_get("exec_ms")?,
                    cold_start: r.try_get::<i64, _>("cold_start")? != 0,
                    cost_usd: r.try_get("cost_usd")?,
                    fallback: r.try_get::<i64, _>("fallback")? != 0,
                    payload_bytes: r.try_get::<i64, _>("payload_bytes")?.max(0) as u64,
                    error: r.try_get("error")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Counts per function and platform, of invocations since `since` (RFC 3339; all without).
    pub async fn invocation_counts(&self, since: Option<&str>) -> Result<Vec<InvocationCount>, StoreError> {
        let rows = sqlx::query(
            "SELECT function, platform, COUNT(*) AS total, CAST(SUM(CASE WHEN outcome = 'ok' THEN 1 ELSE 0 END) AS BIGINT) AS ok, \
             CAST(SUM(cold_start) AS BIGINT) AS cold, CAST(SUM(fallback) AS BIGINT) AS fallbacks, \
             COALESCE(SUM(cost_usd), 0.0) AS cost FROM invocations WHERE created_at >= $1 \
             GROUP BY function, platform ORDER BY function, platform",
        )
        .bind(since.unwrap_or(""))
        .fetch_all(&self.db)
        .await?;
        let count = |r: &sqlx::any::AnyRow, c: &str| -> Result<u64, StoreError> {
            Ok(r.try_get::<Option<i64>, _>(c)?.unwrap_or(0).max(0) as u64)
        };
        rows.iter()
            .map(|r| {
                Ok(InvocationCount {
                    function: r.try_get("function")?,
                    platform: r.try_get("platform")?,
                    total: count(r, "total")?,
                    ok: count(r, "ok")?,
                    cold_starts: count(r, "cold")?,
                    fallbacks: count(r, "fallbacks")?,
                    cost_usd: r.try_get("cost")?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invocation(n: u32, platform: &str, outcome: &str) -> Invocation {
        Invocation {
            id: uuid::Uuid::now_v7().to_string(),
            function: "thumbs".into(),
            platform: platform.into(),
            backend: if platform == "lambda" { "local-function" } else { "local-container" }.into(),
            status: if outcome == "ok" { 200 } else { 502 },
            outcome: outcome.into(),
            latency_ms: 10.0 + n as f64,
            exec_ms: Some(5.0),
            cold_start: n == 0,
            cost_usd: 0.001,
            fallback: false,
            payload_bytes: 100,
            error: (outcome != "ok").then(|| "refused".into()),
            created_at: format!("2026-11-22T10:00:0{n}.000Z"),
        }
    }

    #[tokio::test]
    async fn record_list_count() {
        for backend in crate::testing::each_backend().await {
            eprintln!("backend: {}", backend.label);
            let store = &backend.store;
            let batch =
                vec![invocation(0, "lambda", "ok"), invocation(1, "ecs", "ok"), invocation(2, "lambda", "timeout")];
            store.record_invocations(&batch).await.unwrap();
            assert_eq!(store.list_invocations(Some("thumbs"), 10, 0).await.unwrap(), batch);
            assert!(store.list_invocations(Some("other"), 10, 0).await.unwrap().is_empty());
            assert_eq!(store.list_invocations(None, 1, 1).await.unwrap(), vec![batch[1].clone()]);
            let counts = store.invocation_counts(None).await.unwrap();
            assert_eq!(counts.len(), 2);
            let lambda = &counts[1];
            assert_eq!((lambda.platform.as_str(), lambda.total, lambda.ok, lambda.cold_starts), ("lambda", 2, 1, 1));
            assert!((lambda.cost_usd - 0.002).abs() < 1e-12);
            assert_eq!(store.invocation_counts(Some("2026-11-22T10:00:02")).await.unwrap()[0].total, 1);
        }
    }
}

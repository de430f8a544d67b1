//! Alarms: raised when a watched measurement crosses its threshold, cleared when it recovers.

use crate::{now_rfc3339, Store, StoreError};
use serde::{Deserialize, Serialize};
use sqlx::Row;

/// One alarm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alarm {
    /// Id (UUIDv7).
    pub id: String,
    /// What is watched, e.g. `latency_p95`.
    pub kind: String,
    /// When it was raised (RFC 3339 UTC).
    pub raised_at: String,
    /// When it was cleared; `null` while open.
    pub cleared_at: Option<String>,
    /// The measurement that raised it.
    pub value: f64,
    /// The threshold it crossed.
    pub threshold: f64,
    /// A sentence for people.
    pub message: String,
}

impl Store {
    /// Records a new open alarm and returns it.
    pub async fn raise_alarm(
        &self,
        kind: &str,
        value: f64,
        threshold: f64,
        message: &str,
    ) -> Result<Alarm, StoreError> {
        let alarm = Alarm {
            id: uuid::Uuid::now_v7().to_string(),
            kind: kind.to_string(),
            raised_at: now_rfc3339(),
            cleared_at: None,
            value,
            threshold,
            message: message.to_string(),
        };
        sqlx::query(
            "INSERT INTO alarms (id, kind, raised_at, value, threshold, message) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&alarm.id)
        .bind(&alarm.kind)
        .bind(&alarm.raised_at)
        .bind(alarm.value)
        .bind(alarm.threshold)
        .bind(&alarm.message)
        .execute(&self.db)
        .await?;
        Ok(alarm)
    }

    /// Clears every open alarm of `kind`; returns them as cleared.
    pub async fn clear_alarms(&self, kind: &str) -> Result<Vec<Alarm>, StoreError> {
        let open = self.list_alarms(true).await?;
        let now = now_rfc3339();
        sqlx::query("UPDATE alarms SET cleared_at = $1 WHERE kind = $2 AND cleared_at IS NULL")
            .bind(&now)
            .bind(kind)
            .execute(&self.db)
            .await?;
        Ok(open.into_iter().filter(|a| a.kind == kind).map(|a| Alarm { cleared_at: Some(now.clone()), ..a }).collect())
    }

    /// Alarms, newest first (only open ones if `open_only`), at most 500.
    pub async fn list_alarms(&self, open_only: bool) -> Result<Vec<Alarm>, StoreError> {
        let filter = if open_only { "WHERE cleared_at IS NULL" } else { "" };
        let rows = sqlx::query(&format!(
            "SELECT id, kind, raised_at, cleared_at, value, threshold, message FROM alarms {filter} \
             ORDER BY raised_at DESC, id DESC LIMIT 500"
        ))
        .fetch_all(&self.db)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Alarm {
                    id: r.try_get("id")?,
                    kind: r.try_get("kind")?,
                    raised_at: r.try_get("raised_at")?,
                    cleared_at: r.try_get("cleared_at")?,
                    value: r.try_get("value")?,
                    threshold: r.try_get("threshold")?,
                    message: r.try_get("message")?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn raise_list_clear() {
        for backend in crate::testing::each_backend().await {
            eprintln!("backend: {}", backend.label);
            let store = &backend.store;
            let a = store.raise_alarm("latency_p95", 812.0, 500.0, "slow").await.unwrap();
            assert_eq!(store.list_alarms(true).await.unwrap(), vec![a.clone()]);
            let cleared = store.clear_alarms("latency_p95").await.unwrap();
            assert_eq!(cleared.len(), 1);
            assert!(cleared[0].cleared_at.is_some());
            assert!(store.list_alarms(true).await.unwrap().is_empty());
            assert_eq!(store.list_alarms(false).await.unwrap()[0].cleared_at, cleared[0].cleared_at);
        }
    }
}

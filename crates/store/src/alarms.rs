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
    /// The gateway replica whose measurement raised it (`null` for alarms from before replicas).
    pub replica: Option<String>,
}

/// Whose alarms [`Store::clear_alarms`] clears.
#[derive(Debug, Clone, Copy)]
pub enum AlarmOwners<'a> {
    /// The alarms this replica raised.
    Replica(&'a str),
    /// The alarms raised by none of these replicas (or before replicas were recorded).
    NoneOf(&'a [String]),
}

impl Store {
    /// Records a new open alarm raised by `replica` and returns it.
    pub async fn raise_alarm(
        &self,
        kind: &str,
        value: f64,
        threshold: f64,
        message: &str,
        replica: Option<&str>,
    ) -> Result<Alarm, StoreError> {
        let alarm = Alarm {
            id: uuid::Uuid::now_v7().to_string(),
            kind: kind.to_string(),
            raised_at: now_rfc3339(),
            cleared_at: None,
            value,
            threshold,
            message: message.to_string(),
            replica: replica.map(str::to_string),
        };
        sqlx::query(
            "INSERT INTO alarms (id, kind, raised_at, value, threshold, message, replica) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&alarm.id)
        .bind(&alarm.kind)
        .bind(&alarm.raised_at)
        .bind(alarm.value)
        .bind(alarm.threshold)
        .bind(&alarm.message)
        .bind(&alarm.replica)
        .execute(&self.db)
        .await?;
        Ok(alarm)
    }

    /// Clears the open alarms of `kind` that `raised_by` raised, or, with `keep_raised_by`,
    /// those that none of these (live) replicas raised: a replica that is gone cannot clear its
    /// own. Returns them as cleared.
    pub async fn clear_alarms(&self, kind: &str, raised_by: AlarmOwners<'_>) -> Result<Vec<Alarm>, StoreError> {
        let now = now_rfc3339();
        let mut cleared = Vec::new();
        for alarm in self.list_alarms(true).await? {
            let owner = alarm.replica.as_deref();
            let chosen = match raised_by {
                AlarmOwners::Replica(id) => owner == Some(id),
                AlarmOwners::NoneOf(live) => owner.is_none_or(|o| !live.iter().any(|l| l == o)),
            };
            if alarm.kind != kind || !chosen {
                continue;
            }
            let done = sqlx::query("UPDATE alarms SET cleared_at = $1 WHERE id = $2 AND cleared_at IS NULL")
                .bind(&now)
                .bind(&alarm.id)
                .execute(&self.db)
                .await?;
            if done.rows_affected() == 1 {
                cleared.push(Alarm { cleared_at: Some(now.clone()), ..alarm });
            }
        }
        Ok(cleared)
    }

    /// Alarms, newest first (only open ones if `open_only`), at most 500.
    pub async fn list_alarms(&self, open_only: bool) -> Result<Vec<Alarm>, StoreError> {
        let filter = if open_only { "WHERE cleared_at IS NULL" } else { "" };
        let rows = sqlx::query(&format!(
            "SELECT id, kind, raised_at, cleared_at, value, threshold, message, replica FROM alarms {filter} \
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
                    replica: r.try_get("replica")?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::AlarmOwners;

    #[tokio::test]
    async fn raise_list_clear() {
        for backend in crate::testing::each_backend().await {
            eprintln!("backend: {}", backend.label);
            let store = &backend.store;
            let a = store.raise_alarm("latency_p95", 812.0, 500.0, "slow", Some("r1")).await.unwrap();
            let b = store.raise_alarm("latency_p95", 900.0, 500.0, "slow too", Some("r2")).await.unwrap();
            let old = store.raise_alarm("latency_p95", 700.0, 500.0, "from before replicas", None).await.unwrap();
            assert_eq!(store.list_alarms(true).await.unwrap(), vec![old.clone(), b.clone(), a.clone()]);
            // Each replica clears its own only.
            let cleared = store.clear_alarms("other_kind", AlarmOwners::Replica("r1")).await.unwrap();
            assert!(cleared.is_empty());
            let cleared = store.clear_alarms("latency_p95", AlarmOwners::Replica("r1")).await.unwrap();
            assert_eq!(cleared.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), [a.id.as_str()]);
            assert!(cleared[0].cleared_at.is_some());
            // The survivors clear those of replicas that are gone (and the ownerless one).
            let cleared = store.clear_alarms("latency_p95", AlarmOwners::NoneOf(&["r2".to_string()])).await.unwrap();
            assert_eq!(cleared.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), [old.id.as_str()]);
            assert_eq!(store.list_alarms(true).await.unwrap(), vec![b.clone()]);
            let cleared = store.clear_alarms("latency_p95", AlarmOwners::Replica("r2")).await.unwrap();
            assert!(store.list_alarms(true).await.unwrap().is_empty());
            let all = store.list_alarms(false).await.unwrap();
            assert_eq!(all.len(), 3);
            assert_eq!(all.iter().find(|x| x.id == b.id).unwrap().cleared_at, cleared[0].cleared_at);
        }
    }
}

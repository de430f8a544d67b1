//! Deployments of models to devices, and the log of what happened to each (never truncated,
//! read a page at a time).

use crate::{now_rfc3339, Store, StoreError};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

/// One deployment asked for (accepted or refused).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    /// Id (UUIDv7).
    pub id: String,
    /// The device.
    pub device_id: String,
    /// The registered model.
    pub model: String,
    /// Its version.
    pub version: i64,
    /// SHA-256 of the model file, lowercase hex.
    pub sha256: String,
    /// The energy budget per inference it was asked for, mWh.
    pub energy_budget_mwh: f64,
    /// The energy per inference predicted for the device, mWh.
    pub predicted_energy_mwh: Option<f64>,
    /// What predicted it: `model` or `prior`.
    pub prediction_source: Option<String>,
    /// `refused`, `pending`, `delivered`, `ready`, `failed`, `rolled_back` or `superseded`.
    pub state: String,
    /// Why it is in that state, when there is more to say.
    pub message: Option<String>,
    /// When it was asked for (RFC 3339 UTC).
    pub created_at: String,
    /// When its state last changed.
    pub updated_at: String,
}

/// One line of the deployment log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentEvent {
    /// Increasing id (the log's cursor).
    pub id: i64,
    /// The deployment.
    pub deployment_id: String,
    /// Its device.
    pub device_id: String,
    /// What happened (`requested`, `refused`, `delivered`, `ready`, `failed`, …).
    pub event: String,
    /// Details.
    pub detail: Option<String>,
    /// When (RFC 3339 UTC).
    pub at: String,
}

const COLUMNS: &str = "id, device_id, model, version, sha256, energy_budget_mwh, predicted_energy_mwh, \
                       prediction_source, state, message, created_at, updated_at";

fn decode(r: &AnyRow) -> Result<Deployment, StoreError> {
    Ok(Deployment {
        id: r.try_get("id")?,
        device_id: r.try_get("device_id")?,
        model: r.try_get("model")?,
        version: r.try_get("version")?,
        sha256: r.try_get("sha256")?,
        energy_budget_mwh: r.try_get("energy_budget_mwh")?,
        predicted_energy_mwh: r.try_get("predicted_energy_mwh")?,
        prediction_source: r.try_get("prediction_source")?,
        state: r.try_get("state")?,
        message: r.try_get("message")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// States a deployment no longer leaves.
const FINAL: &str = "('refused', 'failed', 'rolled_back', 'superseded')";

impl Store {
    /// Records a deployment and its first log line (`requested`, or `refused` with the message).
    /// An accepted one supersedes the device's earlier deployments that are not final.
    pub async fn insert_deployment(&self, d: &Deployment) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        if d.state != "refused" {
            let superseded = sqlx::query_scalar::<_, String>(&format!(
                "UPDATE deployments SET state = 'superseded', updated_at = $1 \
                 WHERE device_id = $2 AND state NOT IN {FINAL} AND state != 'ready' RETURNING id"
            ))
            .bind(&d.created_at)
            .bind(&d.device_id)
            .fetch_all(&mut *tx)
            .await?;
            for id in superseded {
                insert_event(&mut tx, &id, &d.device_id, "superseded", Some(&format!("by {}", d.id)), &d.created_at)
                    .await?;
            }
        }
        sqlx::query(&format!(
            "INSERT INTO deployments ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(&d.id)
        .bind(&d.device_id)
        .bind(&d.model)
        .bind(d.version)
        .bind(&d.sha256)
        .bind(d.energy_budget_mwh)
        .bind(d.predicted_energy_mwh)
        .bind(&d.prediction_source)
        .bind(&d.state)
        .bind(&d.message)
        .bind(&d.created_at)
        .bind(&d.updated_at)
        .execute(&mut *tx)
        .await?;
        let event = if d.state == "refused" { "refused" } else { "requested" };
        insert_event(&mut tx, &d.id, &d.device_id, event, d.message.as_deref(), &d.created_at).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Moves a deployment to `state` and logs it; a deployment in a final state stays there
    /// (`Ok(false)`). An unknown id is not found.
    pub async fn set_deployment_state(&self, id: &str, state: &str, message: Option<&str>) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let at = now_rfc3339();
        let device: Option<String> = sqlx::query_scalar("SELECT device_id FROM deployments WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(device) = device else { return Err(StoreError::NotFound(format!("no deployment {id}"))) };
        let done = sqlx::query(&format!(
            "UPDATE deployments SET state = $1, message = COALESCE($2, message), updated_at = $3 \
             WHERE id = $4 AND state NOT IN {FINAL} AND state != $5"
        ))
        .bind(state)
        .bind(message)
        .bind(&at)
        .bind(id)
        .bind(state)
        .execute(&mut *tx)
        .await?;
        let changed = done.rows_affected() > 0;
        if changed {
            insert_event(&mut tx, id, &device, state, message, &at).await?;
        }
        if changed && state == "ready" {
            // The device runs this one now: the previous last-good deployment is history.
            let previous = sqlx::query_scalar::<_, String>(
                "UPDATE deployments SET state = 'superseded', updated_at = $1 \
                 WHERE device_id = $2 AND state = 'ready' AND id != $3 RETURNING id",
            )
            .bind(&at)
            .bind(&device)
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
            for old in previous {
                insert_event(&mut tx, &old, &device, "superseded", Some(&format!("by {id}")), &at).await?;
            }
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// A deployment by id.
    pub async fn deployment(&self, id: &str) -> Result<Option<Deployment>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM deployments WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.db)
            .await?;
        row.as_ref().map(decode).transpose()
    }

    /// The device's desired model: its latest deployment that is pending, delivered or ready (a
    /// failed or rolled-back one is not asked for again; the last good one stays desired).
    pub async fn desired_deployment(&self, device_id: &str) -> Result<Option<Deployment>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM deployments WHERE device_id = $1 AND state IN ('pending', 'delivered', 'ready') \
             ORDER BY created_at DESC, id DESC LIMIT 1"
        ))
        .bind(device_id)
        .fetch_optional(&self.db)
        .await?;
        row.as_ref().map(decode).transpose()
    }

    /// Deployments, newest first, of one device or all; at most `limit` after `offset`.
    pub async fn list_deployments(
        &self,
        device_id: Option<&str>,
        limit: u32,
        offset: u64,
    ) -> Result<Vec<Deployment>, StoreError> {
        let filter = if device_id.is_some() { "WHERE device_id = $1" } else { "" };
        let (limit_at, offset_at) = if device_id.is_some() { (2, 3) } else { (1, 2) };
        let sql =
            format!("SELECT {COLUMNS} FROM deployments {filter} ORDER BY created_at DESC, id DESC LIMIT ${limit_at} OFFSET ${offset_at}");
        let mut q = sqlx::query(&sql);
        if let Some(d) = device_id {
            q = q.bind(d);
        }
        let rows = q.bind(limit as i64).bind(offset.min(i64::MAX as u64) as i64).fetch_all(&self.db).await?;
        rows.iter().map(decode).collect()
    }

    /// Log lines after `after` (an event id; 0 for the start), oldest first, of one device or all.
    pub async fn deployment_events(
        &self,
        device_id: Option<&str>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<DeploymentEvent>, StoreError> {
        let (filter, limit_at) = if device_id.is_some() { ("AND device_id = $2", 3) } else { ("", 2) };
        let sql = format!(
            "SELECT id, deployment_id, device_id, event, detail, at FROM deployment_events WHERE id > $1 {filter} \
             ORDER BY id LIMIT ${limit_at}"
        );
        let mut q = sqlx::query(&sql).bind(after);
        if let Some(d) = device_id {
            q = q.bind(d);
        }
        let rows = q.bind(limit as i64).fetch_all(&self.db).await?;
        rows.iter()
            .map(|r| {
                Ok(DeploymentEvent {
                    id: r.try_get("id")?,
                    deployment_id: r.try_get("deployment_id")?,
                    device_id: r.try_get("device_id")?,
                    event: r.try_get("event")?,
                    detail: r.try_get("detail")?,
                    at: r.try_get("at")?,
                })
            })
            .collect()
    }
}

async fn insert_event(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    deployment: &str,
    device: &str,
    event: &str,
    detail: Option<&str>,
    at: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO deployment_events (deployment_id, device_id, event, detail, at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(deployment)
    .bind(device)
    .bind(event)
    .bind(detail)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::NewDevice;

    fn deployment(id: &str, state: &str, at: &str) -> Deployment {
        Deployment {
            id: id.into(),
            device_id: "d1".into(),
            model: "m".into(),
            version: 1,
            sha256: "0".repeat(64),
            energy_budget_mwh: 1.0,
            predicted_energy_mwh: Some(0.5),
            prediction_source: Some("model".into()),
            state: state.into(),
            message: None,
            created_at: at.into(),
            updated_at: at.into(),
        }
    }

    #[tokio::test]
    async fn desired_state_supersedes_and_the_log_pages() {
        for backend in crate::testing::each_backend().await {
            eprintln!("backend: {}", backend.label);
            let store = &backend.store;
            let new = NewDevice { id: "d1".into(), device_type: "t".into(), token_sha256: "a".repeat(64) };
            store.insert_device(&new).await.unwrap();
            store.insert_deployment(&deployment("a", "pending", "2026-01-01T00:00:01.000Z")).await.unwrap();
            store.insert_deployment(&deployment("b", "refused", "2026-01-01T00:00:02.000Z")).await.unwrap();
            assert_eq!(store.desired_deployment("d1").await.unwrap().unwrap().id, "a", "a refusal changes nothing");
            assert!(store.set_deployment_state("a", "ready", None).await.unwrap());
            assert!(!store.set_deployment_state("a", "ready", None).await.unwrap(), "no change, no log line");
            store.insert_deployment(&deployment("c", "pending", "2026-01-01T00:00:03.000Z")).await.unwrap();
            assert_eq!(store.desired_deployment("d1").await.unwrap().unwrap().id, "c");
            // A ready deployment stays ready (it is the last good one) until the next one is ready.
            assert_eq!(store.deployment("a").await.unwrap().unwrap().state, "ready");
            store.insert_deployment(&deployment("d", "pending", "2026-01-01T00:00:04.000Z")).await.unwrap();
            assert!(store.set_deployment_state("d", "ready", None).await.unwrap());
            assert_eq!(store.deployment("c").await.unwrap().unwrap().state, "superseded");
            assert!(!store.set_deployment_state("c", "ready", None).await.unwrap(), "final states stay");
            store.insert_deployment(&deployment("e", "pending", "2026-01-01T00:00:05.000Z")).await.unwrap();
            assert!(store.set_deployment_state("e", "failed", Some("hash mismatch")).await.unwrap());
            assert_eq!(store.desired_deployment("d1").await.unwrap().unwrap().id, "d", "a failed one is not retried");
            assert!(matches!(store.set_deployment_state("zz", "ready", None).await, Err(StoreError::NotFound(_))));

            assert_eq!(store.deployment("a").await.unwrap().unwrap().state, "superseded", "d is the last good one now");

            let all = store.deployment_events(Some("d1"), 0, 100).await.unwrap();
            let events: Vec<&str> = all.iter().map(|e| e.event.as_str()).collect();
            assert_eq!(
                events,
                [
                    "requested",
                    "refused",
                    "ready",
                    "requested",
                    "superseded",
                    "requested",
                    "ready",
                    "superseded",
                    "requested",
                    "failed"
                ]
            );
            let page = store.deployment_events(None, all[1].id, 2).await.unwrap();
            assert_eq!(page.iter().map(|e| e.event.as_str()).collect::<Vec<_>>(), ["ready", "requested"]);
            let listed = store.list_deployments(Some("d1"), 2, 2).await.unwrap();
            assert_eq!(listed.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), ["c", "b"]);
        }
    }
}

//! Registered edge devices. Only the SHA-256 of a device's token is stored.

use crate::{now_rfc3339, Store, StoreError};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

/// A device as listed: everything but its token hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Device {
    /// Its id (chosen by the operator).
    pub id: String,
    /// Its type, the energy predictor's device name (`jetson_nano_2gb`, `raspberry_pi5`, …).
    pub device_type: String,
    /// Where its agent listens, as its last heartbeat said.
    pub agent_url: Option<String>,
    /// When it was added (RFC 3339 UTC).
    pub created_at: String,
    /// Its last heartbeat (RFC 3339 UTC).
    pub last_heartbeat_at: Option<String>,
    /// The status document its agent last reported.
    pub last_status: Option<serde_json::Value>,
    /// Whether inference should be running on it.
    pub inference_running: bool,
    /// Bumped by every start, so that an agent pulling its desired state starts each run once.
    pub inference_run: i64,
    /// Iterations of the current run, when one was asked for.
    pub inference_iterations: Option<u64>,
    /// When it was revoked; `None` while it may connect.
    pub revoked_at: Option<String>,
}

/// A device to add.
#[derive(Debug, Clone)]
pub struct NewDevice {
    /// Its id.
    pub id: String,
    /// Its type.
    pub device_type: String,
    /// SHA-256 of its token, lowercase hex.
    pub token_sha256: String,
}

const COLUMNS: &str = "id, device_type, agent_url, created_at, last_heartbeat_at, last_status, inference_desired, \
                       inference_run, inference_iterations, revoked_at";

fn decode(row: &AnyRow) -> Result<Device, StoreError> {
    let status: Option<String> = row.try_get("last_status")?;
    let desired: String = row.try_get("inference_desired")?;
    let iterations: Option<i64> = row.try_get("inference_iterations")?;
    Ok(Device {
        id: row.try_get("id")?,
        device_type: row.try_get("device_type")?,
        agent_url: row.try_get("agent_url")?,
        created_at: row.try_get("created_at")?,
        last_heartbeat_at: row.try_get("last_heartbeat_at")?,
        last_status: status
            .map(|s| serde_json::from_str(&s))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("device status: {e}")))?,
        inference_running: desired == "running",
        inference_run: row.try_get("inference_run")?,
        inference_iterations: iterations.map(|i| i.max(0) as u64),
        revoked_at: row.try_get("revoked_at")?,
    })
}

impl Store {
    /// Adds a device; an id already taken is a conflict.
    pub async fn insert_device(&self, new: &NewDevice) -> Result<Device, StoreError> {
        let done = sqlx::query(
            "INSERT INTO devices (id, device_type, token_sha256, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&new.id)
        .bind(&new.device_type)
        .bind(&new.token_sha256)
        .bind(now_rfc3339())
        .execute(&self.db)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!(
                "device {} already exists; rotate its token with `infergate devices rotate {}`",
                new.id, new.id
            )));
        }
        self.device_or_not_found(&new.id).await
    }

    /// A device by id.
    pub async fn device(&self, id: &str) -> Result<Option<Device>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM devices WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.db)
            .await?;
        row.as_ref().map(decode).transpose()
    }

    async fn device_or_not_found(&self, id: &str) -> Result<Device, StoreError> {
        self.device(id).await?.ok_or_else(|| StoreError::NotFound(format!("no device {id}")))
    }

    /// A device and its stored token hash (for the caller's constant-time check).
    pub async fn device_with_token(&self, id: &str) -> Result<Option<(Device, String)>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS}, token_sha256 FROM devices WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.db)
            .await?;
        row.map(|r| Ok((decode(&r)?, r.try_get("token_sha256")?))).transpose()
    }

    /// Every device, by id.
    pub async fn list_devices(&self) -> Result<Vec<Device>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM devices ORDER BY id")).fetch_all(&self.db).await?;
        rows.iter().map(decode).collect()
    }

    /// Replaces a device's token hash (and un-revokes it).
    pub async fn rotate_device_token(&self, id: &str, token_sha256: &str) -> Result<Device, StoreError> {
        let done = sqlx::query("UPDATE devices SET token_sha256 = $1, revoked_at = NULL WHERE id = $2")
            .bind(token_sha256)
            .bind(id)
            .execute(&self.db)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("no device {id}")));
        }
        self.device_or_not_found(id).await
    }

    /// Revokes a device: its token stops working. Revoking twice keeps the first time.
    pub async fn revoke_device(&self, id: &str) -> Result<Device, StoreError> {
        sqlx::query("UPDATE devices SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2")
            .bind(now_rfc3339())
            .bind(id)
            .execute(&self.db)
            .await?;
        self.device_or_not_found(id).await
    }

    /// Records a heartbeat: the time, where the agent listens and its status document.
    pub async fn record_heartbeat(
        &self,
        id: &str,
        agent_url: Option<&str>,
        status: &serde_json::Value,
        at: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE devices SET last_heartbeat_at = $1, agent_url = COALESCE($2, agent_url), last_status = $3 WHERE id = $4",
        )
        .bind(at)
        .bind(agent_url)
        .bind(crate::to_json(status))
        .bind(id)
        .execute(&self.db)
        .await?;
        Ok(())
    }

    /// Asks for inference to run (`Some(iterations)`, a new run) or to stop (`None`).
    pub async fn set_inference(&self, id: &str, start: Option<u64>) -> Result<Device, StoreError> {
        let sql = match start {
            Some(_) => {
                "UPDATE devices SET inference_desired = 'running', inference_run = inference_run + 1, \
                 inference_iterations = $1 WHERE id = $2"
            }
            None => "UPDATE devices SET inference_desired = 'stopped', inference_iterations = $1 WHERE id = $2",
        };
        let done =
            sqlx::query(sql).bind(start.map(|n| n.min(i64::MAX as u64) as i64)).bind(id).execute(&self.db).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("no device {id}")));
        }
        self.device_or_not_found(id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn add_rotate_revoke_heartbeat() {
        for backend in crate::testing::each_backend().await {
            eprintln!("backend: {}", backend.label);
            let store = &backend.store;
            let new =
                NewDevice { id: "nano-1".into(), device_type: "jetson_nano_2gb".into(), token_sha256: "a".repeat(64) };
            let d = store.insert_device(&new).await.unwrap();
            assert_eq!(
                (d.device_type.as_str(), d.inference_running, d.revoked_at.as_deref()),
                ("jetson_nano_2gb", false, None)
            );
            assert!(matches!(store.insert_device(&new).await, Err(StoreError::Conflict(_))));
            let (_, hash) = store.device_with_token("nano-1").await.unwrap().unwrap();
            assert_eq!(hash, "a".repeat(64));
            store.rotate_device_token("nano-1", &"b".repeat(64)).await.unwrap();
            assert_eq!(store.device_with_token("nano-1").await.unwrap().unwrap().1, "b".repeat(64));
            let revoked = store.revoke_device("nano-1").await.unwrap();
            assert!(revoked.revoked_at.is_some());
            assert!(matches!(store.rotate_device_token("nope", "c").await, Err(StoreError::NotFound(_))));

            let status = serde_json::json!({"status": "ready"});
            store
                .record_heartbeat("nano-1", Some("http://127.0.0.1:9"), &status, "2026-01-01T00:00:00.000Z")
                .await
                .unwrap();
            let d = store.set_inference("nano-1", Some(50)).await.unwrap();
            assert_eq!((d.inference_running, d.inference_run, d.inference_iterations), (true, 1, Some(50)));
            assert_eq!((d.agent_url.as_deref(), d.last_status), (Some("http://127.0.0.1:9"), Some(status)));
            let d = store.set_inference("nano-1", None).await.unwrap();
            assert_eq!((d.inference_running, d.inference_run), (false, 1));
            assert_eq!(store.list_devices().await.unwrap().len(), 1);
        }
    }
}

//! The model registry: versions of each model and which one is active.

use crate::{now_rfc3339, to_json, Store, StoreError};
use infergate_core::{ModelSignature, ModelSpec, PreprocessSpec, Task};
use sqlx::any::AnyRow;
use sqlx::Row;

/// A model version to register.
#[derive(Debug, Clone)]
pub struct NewModelVersion {
    /// Model name (validated by the caller).
    pub name: String,
    /// Explicit version; `None` = one more than the highest so far.
    pub version: Option<i64>,
    /// SHA-256 of the artifact, hex.
    pub sha256: String,
    /// Where the artifact lives (inside the data directory).
    pub artifact_path: String,
    /// Artifact size.
    pub size_bytes: i64,
    /// What the output means.
    pub task: Task,
    /// Preprocessing.
    pub preprocess: PreprocessSpec,
    /// Class names.
    pub labels: Vec<String>,
    /// Input/output names and shapes read from the artifact.
    pub signature: ModelSignature,
    /// The file path or URL it came from.
    pub source: String,
    /// Make it the active version (the first version of a model is always activated).
    pub activate: bool,
}

const COLUMNS: &str =
    "name, version, sha256, artifact_path, size_bytes, task, preprocess, labels, signature, active, created_at";

fn decode(row: &AnyRow) -> Result<ModelSpec, StoreError> {
    let corrupt = |what: &str, e: &dyn std::fmt::Display| StoreError::Corrupt(format!("model {what}: {e}"));
    let task: String = row.try_get("task")?;
    let preprocess: String = row.try_get("preprocess")?;
    let labels: String = row.try_get("labels")?;
    let signature: String = row.try_get("signature")?;
    Ok(ModelSpec {
        name: row.try_get("name")?,
        version: row.try_get("version")?,
        sha256: row.try_get("sha256")?,
        artifact_path: row.try_get("artifact_path")?,
        size_bytes: row.try_get("size_bytes")?,
        task: task.parse().map_err(|e| corrupt("task", &e))?,
        preprocess: serde_json::from_str(&preprocess).map_err(|e| corrupt("preprocess", &e))?,
        labels: serde_json::from_str(&labels).map_err(|e| corrupt("labels", &e))?,
        signature: serde_json::from_str(&signature).map_err(|e| corrupt("signature", &e))?,
        active: row.try_get::<i64, _>("active")? != 0,
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
    /// Registers a model version and returns it as stored.
    pub async fn add_model_version(&self, new: NewModelVersion) -> Result<ModelSpec, StoreError> {
        let mut tx = self.write_tx().await?;
        let (max, count): (Option<i64>, i64) =
            sqlx::query_as("SELECT MAX(version), COUNT(*) FROM models WHERE name = $1")
                .bind(&new.name)
                .fetch_one(&mut *tx)
                .await?;
        let version = new.version.unwrap_or(max.unwrap_or(0) + 1);
        if version < 1 {
            return Err(StoreError::Conflict(format!("version {version} is invalid: versions start at 1")));
        }
        let exists: Option<i64> = sqlx::query_scalar("SELECT version FROM models WHERE name = $1 AND version = $2")
            .bind(&new.name)
            .bind(version)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_some() {
            return Err(StoreError::Conflict(format!(
                "model {} already has a version {version}; omit --version to add the next one",
                new.name
            )));
        }
        let active = new.activate || count == 0;
        if active {
            sqlx::query("UPDATE models SET active = 0 WHERE name = $1").bind(&new.name).execute(&mut *tx).await?;
        }
        sqlx::query(
            "INSERT INTO models (name, version, sha256, artifact_path, size_bytes, task, preprocess, labels, signature, \
             source, active, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&new.name)
        .bind(version)
        .bind(&new.sha256)
        .bind(&new.artifact_path)
        .bind(new.size_bytes)
        .bind(new.task.to_string())
        .bind(to_json(&new.preprocess))
        .bind(to_json(&new.labels))
        .bind(to_json(&new.signature))
        .bind(&new.source)
        .bind(active as i64)
        .bind(now_rfc3339())
        .execute(&mut *tx)
        .await?;
        if active {
            record_activation(&mut tx, &new.name, version).await?;
        }
        tx.commit().await?;
        self.model_version(&new.name, version)
            .await?
            .ok_or_else(|| StoreError::Corrupt("model version vanished after insert".into()))
    }

    /// Makes `version` the active version of `name` (recorded for [`Store::rollback_model`]);
    /// returns it and the version that was active before, if any.
    pub async fn activate_model_version(
        &self,
        name: &str,
        version: i64,
    ) -> Result<(ModelSpec, Option<i64>), StoreError> {
        let mut tx = self.write_tx().await?;
        let before = active_version(&mut tx, name).await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT version FROM models WHERE name = $1 AND version = $2")
            .bind(name)
            .bind(version)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound(format!("model {name:?} has no version {version}")));
        }
        if before != Some(version) {
            set_active(&mut tx, name, version).await?;
            record_activation(&mut tx, name, version).await?;
        }
        tx.commit().await?;
        let spec = self.model_version(name, version).await?.ok_or_else(|| vanished(name, version))?;
        Ok((spec, before))
    }

    /// The version `rollback` would return to: the one active before the current version's
    /// activation (skipping activations already rolled back). `None` when there is none.
    pub async fn rollback_target(&self, name: &str) -> Result<Option<(i64, i64)>, StoreError> {
        let mut conn = self.db.acquire().await?;
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT id, version FROM model_activations WHERE name = $1 AND rolled_back = 0 ORDER BY id DESC LIMIT 64",
        )
        .bind(name)
        .fetch_all(&mut *conn)
        .await?;
        let Some(&(_, current)) = rows.first() else { return Ok(None) };
        Ok(rows.iter().find(|(_, v)| *v != current).map(|&(_, v)| (current, v)))
    }

    /// Rolls `name` back from `from` to `to` (as found by [`Store::rollback_target`]): `to`
    /// becomes active and the activations of `from` since `to` are marked rolled back. Fails
    /// with a conflict if the active version changed in between.
    pub async fn rollback_model(&self, name: &str, from: i64, to: i64) -> Result<ModelSpec, StoreError> {
        let mut tx = self.write_tx().await?;
        if active_version(&mut tx, name).await? != Some(from) {
            return Err(StoreError::Conflict(format!(
                "the active version of {name:?} changed while rolling back; look again with `models list`"
            )));
        }
        let last_to: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(id) FROM model_activations WHERE name = $1 AND version = $2 AND rolled_back = 0",
        )
        .bind(name)
        .bind(to)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE model_activations SET rolled_back = 1 WHERE name = $1 AND id > $2")
            .bind(name)
            .bind(last_to.unwrap_or(0))
            .execute(&mut *tx)
            .await?;
        set_active(&mut tx, name, to).await?;
        tx.commit().await?;
        self.model_version(name, to).await?.ok_or_else(|| vanished(name, to))
    }

    /// All versions of all models, by name then version.
    pub async fn list_models(&self) -> Result<Vec<ModelSpec>, StoreError> {
        let rows =
            sqlx::query(&format!("SELECT {COLUMNS} FROM models ORDER BY name, version")).fetch_all(&self.db).await?;
        rows.iter().map(decode).collect()
    }

    /// The active version of `name`, if the model exists.
    pub async fn active_model(&self, name: &str) -> Result<Option<ModelSpec>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM models WHERE name = $1 AND active = 1"))
            .bind(name)
            .fetch_optional(&self.db)
            .await?;
        row.as_ref().map(decode).transpose()
    }

    /// A specific version of `name`.
    pub async fn model_version(&self, name: &str, version: i64) -> Result<Option<ModelSpec>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM models WHERE name = $1 AND version = $2"))
            .bind(name)
            .bind(version)
            .fetch_optional(&self.db)
            .await?;
        row.as_ref().map(decode).transpose()
    }
}

type Tx<'a> = sqlx::Transaction<'a, sqlx::Any>;

async fn active_version(tx: &mut Tx<'_>, name: &str) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query_scalar("SELECT version FROM models WHERE name = $1 AND active = 1")
        .bind(name)
        .fetch_optional(&mut **tx)
        .await?)
}

async fn set_active(tx: &mut Tx<'_>, name: &str, version: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE models SET active = CASE WHEN version = $1 THEN 1 ELSE 0 END WHERE name = $2")
        .bind(version)
        .bind(name)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn record_activation(tx: &mut Tx<'_>, name: &str, version: i64) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO model_activations (name, version, activated_at) VALUES ($1, $2, $3)")
        .bind(name)
        .bind(version)
        .bind(now_rfc3339())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn vanished(name: &str, version: i64) -> StoreError {
    StoreError::Corrupt(format!("model {name:?} version {version} vanished"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(name: &str, activate: bool) -> NewModelVersion {
        NewModelVersion {
            name: name.into(),
            version: None,
            sha256: "ab".repeat(32),
            artifact_path: "models/x.onnx".into(),
            size_bytes: 10,
            task: Task::CatDog,
            preprocess: PreprocessSpec::default(),
            labels: vec!["a".into(), "b".into()],
            signature: ModelSignature::default(),
            source: "test".into(),
            activate,
        }
    }

    #[tokio::test]
    async fn versions_increment_and_first_is_active() {
        for backend in crate::testing::each_backend().await {
            eprintln!("backend: {}", backend.label);
            let store = &backend.store;
            let v1 = store.add_model_version(new("m", false)).await.unwrap();
            assert_eq!((v1.version, v1.active), (1, true));
            let v2 = store.add_model_version(new("m", false)).await.unwrap();
            assert_eq!((v2.version, v2.active), (2, false));
            assert_eq!(store.active_model("m").await.unwrap().unwrap().version, 1);
            let v3 = store.add_model_version(new("m", true)).await.unwrap();
            assert!(v3.active);
            assert_eq!(store.active_model("m").await.unwrap().unwrap().version, 3);
            assert_eq!(store.list_models().await.unwrap().iter().filter(|m| m.active).count(), 1);
            let dup = NewModelVersion { version: Some(2), ..new("m", false) };
            assert!(matches!(store.add_model_version(dup).await, Err(StoreError::Conflict(_))));
            assert!(store.active_model("other").await.unwrap().is_none());
            let loaded = store.model_version("m", 2).await.unwrap().unwrap();
            assert_eq!(loaded.labels, vec!["a", "b"]);
            assert_eq!(loaded.task, Task::CatDog);
        }
    }

    #[tokio::test]
    async fn activate_and_roll_back_step_by_step() {
        for backend in crate::testing::each_backend().await {
            eprintln!("backend: {}", backend.label);
            let store = &backend.store;
            for _ in 0..3 {
                store.add_model_version(new("m", false)).await.unwrap();
            }
            let active = || async { store.active_model("m").await.unwrap().unwrap().version };
            assert_eq!(store.rollback_target("m").await.unwrap(), None, "nothing to roll back to yet");
            let (v2, before) = store.activate_model_version("m", 2).await.unwrap();
            assert_eq!((v2.version, v2.active, before), (2, true, Some(1)));
            store.activate_model_version("m", 3).await.unwrap();
            assert_eq!(active().await, 3);
            assert!(matches!(store.activate_model_version("m", 9).await, Err(StoreError::NotFound(_))));
            assert_eq!(active().await, 3, "a failed activation changes nothing");

            // 3 -> 2 -> 1, then nothing further back.
            assert_eq!(store.rollback_target("m").await.unwrap(), Some((3, 2)));
            store.rollback_model("m", 3, 2).await.unwrap();
            assert_eq!(active().await, 2);
            assert_eq!(store.rollback_target("m").await.unwrap(), Some((2, 1)));
            assert!(matches!(store.rollback_model("m", 3, 1).await, Err(StoreError::Conflict(_))), "stale rollback");
            store.rollback_model("m", 2, 1).await.unwrap();
            assert_eq!(active().await, 1);
            assert_eq!(store.rollback_target("m").await.unwrap(), None);
            assert_eq!(store.list_models().await.unwrap().iter().filter(|m| m.active).count(), 1);

            // Activating again starts a new step: 1 -> 3, rollback -> 1.
            store.activate_model_version("m", 3).await.unwrap();
            assert_eq!(store.rollback_target("m").await.unwrap(), Some((3, 1)));
        }
    }
}

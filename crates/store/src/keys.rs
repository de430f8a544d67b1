//! API keys: who may call the gateway, in which role, at what rate.
//!
//! Only the SHA-256 of a token is stored; the token itself is shown once by whoever created
//! the key and never kept.

use crate::{now_rfc3339, Store, StoreError};
use infergate_core::Role;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

/// An API key as listed: everything but the token and its hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    /// Stable id (also the `client_id` of the history this key creates).
    pub id: String,
    /// A name for people, if one was given.
    pub name: Option<String>,
    /// What the key may do.
    pub role: Role,
    /// Requests per second this key may make; `None` = the role's rate, 0 = unlimited.
    pub rate_per_s: Option<f64>,
    /// Requests this key may make at once after being idle; `None` = the default for its rate.
    pub burst: Option<u32>,
    /// When it was created (RFC 3339 UTC).
    pub created_at: String,
    /// When it was last used (RFC 3339 UTC, to within a minute), if ever.
    pub last_used_at: Option<String>,
    /// When it was revoked (RFC 3339 UTC); `None` while it is valid.
    pub revoked_at: Option<String>,
}

impl ApiKey {
    /// Whether the key has been revoked.
    pub fn is_revoked(&self) -> bool {
        self.revoked_at.is_some()
    }
}

/// A key to store.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// Its id (unique).
    pub id: String,
    /// Optional name.
    pub name: Option<String>,
    /// Its role.
    pub role: Role,
    /// SHA-256 of the token, lowercase hex.
    pub token_sha256: String,
    /// Per-key rate override.
    pub rate_per_s: Option<f64>,
    /// Per-key burst override.
    pub burst: Option<u32>,
}

/// A key found by its token hash, with the stored hash for the caller's constant-time check.
#[derive(Debug, Clone)]
pub struct KeyMatch {
    /// The key.
    pub key: ApiKey,
    /// The stored SHA-256 of its token, lowercase hex.
    pub token_sha256: String,
}

const COLUMNS: &str = "id, name, role, rate_per_s, burst, created_at, last_used_at, revoked_at";

fn decode(row: &AnyRow) -> Result<ApiKey, StoreError> {
    let role: String = row.try_get("role")?;
    let burst: Option<i64> = row.try_get("burst")?;
    Ok(ApiKey {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: role.parse().map_err(|e| StoreError::Corrupt(format!("api key role: {e}")))?,
        rate_per_s: row.try_get("rate_per_s")?,
        burst: burst
            .map(u32::try_from)
            .transpose()
            .map_err(|_| StoreError::Corrupt(format!("api key burst {burst:?} is out of range")))?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

impl Store {
    /// Stores a new key and returns it as listed.
    pub async fn insert_api_key(&self, new: &NewApiKey) -> Result<ApiKey, StoreError> {
        self.insert_key_where(new, "").await?.ok_or_else(|| StoreError::Corrupt("api key vanished after insert".into()))
    }

    /// Stores `new` only if no key exists at all (revoked ones count), atomically: the first
    /// start of a server creates its admin key this way. `None` when keys already exist.
    pub async fn insert_first_api_key(&self, new: &NewApiKey) -> Result<Option<ApiKey>, StoreError> {
        self.insert_key_where(new, "WHERE NOT EXISTS (SELECT 1 FROM api_keys)").await
    }

    async fn insert_key_where(&self, new: &NewApiKey, condition: &str) -> Result<Option<ApiKey>, StoreError> {
        let sql = format!(
            "INSERT INTO api_keys (id, name, role, token_sha256, rate_per_s, burst, created_at) \
             SELECT $1, $2, $3, $4, $5, $6, $7 {condition}"
        );
        let inserted = sqlx::query(&sql)
            .bind(&new.id)
            .bind(&new.name)
            .bind(new.role.to_string())
            .bind(&new.token_sha256)
            .bind(new.rate_per_s)
            .bind(new.burst.map(i64::from))
            .bind(now_rfc3339())
            .execute(&self.db)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(d) if d.is_unique_violation() => {
                    StoreError::Conflict(format!("an API key with id {} or the same token exists already", new.id))
                }
                _ => StoreError::Db(e),
            })?;
        if inserted.rows_affected() == 0 {
            return Ok(None);
        }
        self.api_key(&new.id).await
    }

    /// Every key, oldest first.
    pub async fn list_api_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        let rows =
            sqlx::query(&format!("SELECT {COLUMNS} FROM api_keys ORDER BY created_at, id")).fetch_all(&self.db).await?;
        rows.iter().map(decode).collect()
    }

    /// One key by id.
    pub async fn api_key(&self, id: &str) -> Result<Option<ApiKey>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM api_keys WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.db)
            .await?;
        row.as_ref().map(decode).transpose()
    }

    /// The key whose token has this SHA-256 (lowercase hex), revoked or not.
    pub async fn api_key_by_token_hash(&self, token_sha256: &str) -> Result<Option<KeyMatch>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS}, token_sha256 FROM api_keys WHERE token_sha256 = $1"))
            .bind(token_sha256)
            .fetch_optional(&self.db)
            .await?;
        row.map(|r| Ok(KeyMatch { key: decode(&r)?, token_sha256: r.try_get("token_sha256")? })).transpose()
    }

    /// Revokes a key (keeping the first revocation time if it was revoked already) and
    /// returns it; `None` if there is no such key.
    pub async fn revoke_api_key(&self, id: &str) -> Result<Option<ApiKey>, StoreError> {
        sqlx::query("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2")
            .bind(now_rfc3339())
            .bind(id)
            .execute(&self.db)
            .await?;
        self.api_key(id).await
    }

    /// Records that the key was used at `at` (RFC 3339 UTC).
    pub async fn touch_api_key(&self, id: &str, at: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2").bind(at).bind(id).execute(&self.db).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(id: &str, hash: &str, role: Role) -> NewApiKey {
        NewApiKey {
            id: id.into(),
            name: Some(format!("{id} name")),
            role,
            token_sha256: hash.into(),
            rate_per_s: None,
            burst: None,
        }
    }

    #[tokio::test]
    async fn keys_are_created_found_by_hash_listed_and_revoked() {
        for backend in crate::testing::each_backend().await {
            eprintln!("backend: {}", backend.label);
            let store = &backend.store;
            let first = store.insert_first_api_key(&new("k1", &"a".repeat(64), Role::Admin)).await.unwrap().unwrap();
            assert_eq!((first.role, first.revoked_at.as_deref()), (Role::Admin, None));
            assert!(
                store.insert_first_api_key(&new("k2", &"b".repeat(64), Role::Admin)).await.unwrap().is_none(),
                "only the very first key is created that way"
            );
            let client =
                NewApiKey { rate_per_s: Some(2.5), burst: Some(4), ..new("k2", &"b".repeat(64), Role::Client) };
            let stored = store.insert_api_key(&client).await.unwrap();
            assert_eq!((stored.rate_per_s, stored.burst), (Some(2.5), Some(4)));
            let dup = store.insert_api_key(&new("k3", &"b".repeat(64), Role::Client)).await;
            assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");

            let found = store.api_key_by_token_hash(&"b".repeat(64)).await.unwrap().unwrap();
            assert_eq!((found.key.id.as_str(), found.token_sha256.len()), ("k2", 64));
            assert!(store.api_key_by_token_hash(&"c".repeat(64)).await.unwrap().is_none());

            store.touch_api_key("k2", "2026-01-01T00:00:00.000Z").await.unwrap();
            let revoked = store.revoke_api_key("k2").await.unwrap().unwrap();
            assert!(revoked.is_revoked());
            assert_eq!(revoked.last_used_at.as_deref(), Some("2026-01-01T00:00:00.000Z"));
            let again = store.revoke_api_key("k2").await.unwrap().unwrap();
            assert_eq!(again.revoked_at, revoked.revoked_at, "the first revocation time is kept");
            assert!(store.revoke_api_key("nope").await.unwrap().is_none());
            let ids: Vec<String> = store.list_api_keys().await.unwrap().into_iter().map(|k| k.id).collect();
            assert_eq!(ids, ["k1", "k2"]);
        }
    }
}

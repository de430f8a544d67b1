//! The SQL migrations, embedded in the binary and applied at start-up.
//!
//! One list of versions, written twice: `migrations/*.sql` for SQLite and
//! `migrations/postgres/*.sql` for PostgreSQL, with the same tables, columns and indexes (the
//! store's tests compare the two schemas). Only the dialect differs: `BIGINT` and `DOUBLE
//! PRECISION` for SQLite's `INTEGER` and `REAL`, `BYTEA` for `BLOB`, identity columns for
//! `AUTOINCREMENT`, and `COLLATE "C"` on text so that ids and timestamps sort byte-wise as in
//! SQLite whatever the server's locale.

use crate::Dialect;
use futures::future::BoxFuture;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::AnyPool;
use std::borrow::Cow;

/// `(version, description, SQLite, PostgreSQL)` of every migration, in order.
const MIGRATIONS: &[(i64, &str, &str, &str)] = &[
    (1, "init", include_str!("../migrations/0001_init.sql"), include_str!("../migrations/postgres/0001_init.sql")),
    (
        2,
        "model activations",
        include_str!("../migrations/0002_model_activations.sql"),
        include_str!("../migrations/postgres/0002_model_activations.sql"),
    ),
    (
        3,
        "inference cost",
        include_str!("../migrations/0003_inference_cost.sql"),
        include_str!("../migrations/postgres/0003_inference_cost.sql"),
    ),
    (
        4,
        "alarms",
        include_str!("../migrations/0004_alarms.sql"),
        include_str!("../migrations/postgres/0004_alarms.sql"),
    ),
    (
        5,
        "api keys",
        include_str!("../migrations/0005_api_keys.sql"),
        include_str!("../migrations/postgres/0005_api_keys.sql"),
    ),
    (
        6,
        "invocations",
        include_str!("../migrations/0006_invocations.sql"),
        include_str!("../migrations/postgres/0006_invocations.sql"),
    ),
    (7, "fleet", include_str!("../migrations/0007_fleet.sql"), include_str!("../migrations/postgres/0007_fleet.sql")),
    (
        8,
        "replicas",
        include_str!("../migrations/0008_replicas.sql"),
        include_str!("../migrations/postgres/0008_replicas.sql"),
    ),
];

#[derive(Debug)]
struct Embedded(Dialect);

impl<'s> MigrationSource<'s> for Embedded {
    fn resolve(self) -> BoxFuture<'s, Result<Vec<Migration>, BoxDynError>> {
        Box::pin(async move {
            Ok(MIGRATIONS
                .iter()
                .map(|&(v, d, sqlite, postgres)| {
                    let sql = match self.0 {
                        Dialect::Sqlite => sqlite,
                        Dialect::Postgres => postgres,
                    };
                    Migration::new(v, Cow::Borrowed(d), MigrationType::Simple, Cow::Borrowed(sql), false)
                })
                .collect())
        })
    }
}

/// Applies the migrations `pool` has not seen yet.
pub(crate) async fn run(pool: &AnyPool, dialect: Dialect) -> Result<(), sqlx::migrate::MigrateError> {
    Migrator::new(Embedded(dialect)).await?.run(pool).await
}

#[cfg(test)]
mod tests {
    use sqlx::Row;

    /// `table.column` of every column, and every index name, sorted.
    async fn schema(store: &crate::Store) -> (Vec<String>, Vec<String>) {
        let (columns, indexes) = match store.dialect() {
            crate::Dialect::Sqlite => (
                "SELECT m.name || '.' || p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%'",
                "SELECT name AS c FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'",
            ),
            crate::Dialect::Postgres => (
                "SELECT CAST(table_name || '.' || column_name AS TEXT) AS c FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name NOT LIKE '_sqlx%'",
                "SELECT CAST(indexname AS TEXT) AS c FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey' \
                 AND indexname NOT LIKE '%_key'",
            ),
        };
        let mut out = Vec::new();
        for sql in [columns, indexes] {
            let rows = sqlx::query(sql).fetch_all(store.db()).await.unwrap();
            let mut names: Vec<String> = rows.iter().map(|r| r.try_get::<String, _>("c").unwrap()).collect();
            names.sort();
            out.push(names);
        }
        (out.remove(0), out.remove(0))
    }

    #[tokio::test]
    async fn both_engines_get_the_same_tables_columns_and_indexes() {
        let backends = crate::testing::each_backend().await;
        let sqlite = schema(&backends[0].store).await;
        assert!(sqlite.0.contains(&"inferences.cost_usd".to_string()), "{sqlite:?}");
        for other in &backends[1..] {
            assert_eq!(schema(&other.store).await, sqlite, "{} schema differs from SQLite's", other.label);
        }
    }
}

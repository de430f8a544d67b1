//! The SQL migrations, embedded in the binary and applied at start-up.

use futures::future::BoxFuture;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::SqlitePool;
use std::borrow::Cow;

/// `(version, description, sql)` of every migration, in order.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../migrations/0001_init.sql")),
    (2, "model activations", include_str!("../migrations/0002_model_activations.sql")),
    (3, "inference cost", include_str!("../migrations/0003_inference_cost.sql")),
    (4, "alarms", include_str!("../migrations/0004_alarms.sql")),
    (5, "api keys", include_str!("../migrations/0005_api_keys.sql")),
    (6, "invocations", include_str!("../migrations/0006_invocations.sql")),
    (7, "fleet", include_str!("../migrations/0007_fleet.sql")),
];

#[derive(Debug)]
struct Embedded;

impl<'s> MigrationSource<'s> for Embedded {
    fn resolve(self) -> BoxFuture<'s, Result<Vec<Migration>, BoxDynError>> {
        Box::pin(async {
            Ok(MIGRATIONS
                .iter()
                .map(|&(v, d, sql)| {
                    Migration::new(v, Cow::Borrowed(d), MigrationType::Simple, Cow::Borrowed(sql), false)
                })
                .collect())
        })
    }
}

pub(crate) async fn run(pool: &SqlitePool) -> Result<(), sqlx::migrate::MigrateError> {
    Migrator::new(Embedded).await?.run(pool).await
}

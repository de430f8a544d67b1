//! Round trips between SQLite and PostgreSQL with every table filled.

use super::*;
use crate::testing::TestDatabase;
use crate::StoreLocation;
use bytes::Bytes;
use sqlx::Executor;

/// Rows in every table (NULLs, a blob, floats such as 0.1, extreme integers, text that is
/// not ASCII) and more telemetry rows than a page, written with plain SQLite SQL.
const FILL: &str = r#"
    INSERT INTO models VALUES ('mobilenet', 1, 'aa', 'models/aa.onnx', 14000000, 'cat-dog', '{"size":224}',
        '["cat","dog"]', '{}', '/tmp/m.onnx', 0, '2026-01-01T00:00:00.000Z');
    INSERT INTO models VALUES ('mobilenet', 2, 'bb', 'models/bb.onnx', 9223372036854775807, 'cat-dog', '{}',
        '[]', '{}', 'https://example/m.onnx', 1, '2026-01-02T00:00:00.000Z');
    INSERT INTO model_activations (id, name, version, activated_at, rolled_back) VALUES
        (1, 'mobilenet', 1, '2026-01-01T00:00:00.000Z', 1), (2, 'mobilenet', 2, '2026-01-02T00:00:00.000Z', 0),
        (7, 'mobilenet', 2, '2026-01-03T00:00:00.000Z', 0);
    INSERT INTO inferences VALUES ('0190-a', '2026-01-01T00:00:00.001Z', 'mobilenet', 1, 'cat', 0.1, 1, 0,
        '{"total":1.5}', '{"label":"cat"}', 'ab12', 'images/ab/ab12', 'image/jpeg', 1234, NULL, 1.5, 0.30000000000000004);
    INSERT INTO inferences VALUES ('0190-b', '2026-01-01T00:00:00.002Z', 'mobilenet', 2, 'chien ☃', 1e-300, 0, 1,
        '{}', '{}', 'cd34', 'images/cd/cd34', 'image/png', 0, 'k_1', NULL, NULL);
    INSERT INTO output_cache VALUES ('ab12', 'mobilenet', 1, X'00FF10CDCDCDCD3D', '2026-01-01T00:00:00.000Z');
    INSERT INTO output_cache VALUES ('cd34', 'mobilenet', 2, X'', '2026-01-01T00:00:00.000Z');
    INSERT INTO alarms VALUES ('al-1', 'latency_p95', '2026-01-01T00:00:00.000Z', NULL, 0.1, 500.0, 'slow', NULL);
    INSERT INTO alarms VALUES ('al-2', 'latency_p95', '2026-01-01T00:00:00.000Z', '2026-01-01T00:01:00.000Z',
        -2.5e10, 0.0, 'cleared', 'replica-1');
    INSERT INTO api_keys VALUES ('k_1', NULL, 'client', 'h1', NULL, NULL, '2026-01-01T00:00:00.000Z', NULL, NULL);
    INSERT INTO api_keys VALUES ('k_2', 'ops', 'admin', 'h2', 0.1, 3, '2026-01-01T00:00:00.000Z',
        '2026-01-02T00:00:00.000Z', '2026-01-03T00:00:00.000Z');
    INSERT INTO invocations VALUES ('inv-1', 'resize', 'lambda', 'http', 200, 'ok', 12.25, NULL, 1, 0.0000002,
        0, 512, NULL, '2026-01-01T00:00:00.000Z');
    INSERT INTO invocations VALUES ('inv-2', 'resize', 'ecs', 'local-container', 502, 'backend_error', 0.1, 3.0,
        0, 0.0, 1, 0, 'boom', '2026-01-01T00:00:01.000Z');
    INSERT INTO devices VALUES ('nano-1', 'jetson_nano_2gb', 'dh1', NULL, '2026-01-01T00:00:00.000Z', NULL, NULL,
        'stopped', 0, NULL, NULL);
    INSERT INTO devices VALUES ('pi-1', 'raspberry_pi5', 'dh2', 'http://10.0.0.2:8000', '2026-01-01T00:00:00.000Z',
        '2026-01-01T00:00:05.000Z', '{"ok":true}', 'running', 3, 100, NULL);
    INSERT INTO deployments VALUES ('dep-1', 'pi-1', 'mobilenet', 2, 'bb', 0.25, NULL, NULL, 'refused', 'over budget',
        '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z');
    INSERT INTO deployments VALUES ('dep-2', 'pi-1', 'mobilenet', 1, 'aa', 1.0, 0.1, 'model', 'ready', NULL,
        '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:02.000Z');
    INSERT INTO deployment_events (id, deployment_id, device_id, event, detail, at) VALUES
        (1, 'dep-2', 'pi-1', 'pending', NULL, '2026-01-01T00:00:00.000Z'),
        (4, 'dep-2', 'pi-1', 'ready', 'took 2 s', '2026-01-01T00:00:02.000Z');
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2345)
        INSERT INTO device_telemetry SELECT CASE WHEN i % 2 = 0 THEN 'pi-1' ELSE 'nano-1' END, i,
        '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:01.000Z', '{"watts":' || (i * 0.1) || '}' FROM n;
    INSERT INTO gateway_replicas VALUES ('replica-1', '127.0.0.1:8080', '2026-01-01T00:00:00.000Z',
        '2026-01-01T00:00:00.000Z');
"#;

async fn filled_sqlite(dir: &std::path::Path) -> Store {
    let store = Store::open(dir).await.unwrap();
    store.db().execute(FILL).await.unwrap();
    store.objects().put("images/ab/ab12", Bytes::from_static(b"\xff\xd8 a jpeg")).await.unwrap();
    store.objects().put("images/cd/cd34", Bytes::new()).await.unwrap();
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    store.objects().put("models/aa.onnx", Bytes::from(big)).await.unwrap();
    store
}

fn hashes(report: &TransferReport) -> Vec<(String, String, String)> {
    report.tables.iter().map(|t| (t.table.clone(), t.source_sha256.clone(), t.target_sha256.clone())).collect()
}

/// Every table copied, verified, and the counts what they should be.
fn assert_first_copy(report: &TransferReport, label: &str) {
    assert_eq!(report.tables.len(), TABLES.len());
    for t in &report.tables {
        assert!(t.source_rows > 0, "{label}: the test leaves {} empty", t.table);
        assert!(t.verified, "{label}: {t:?}");
        assert_eq!((t.target_rows_before, t.inserted, t.target_rows), (0, t.source_rows, t.source_rows), "{label}");
        assert_eq!(t.source_sha256, t.target_sha256, "{label}");
    }
    let telemetry = report.tables.iter().find(|t| t.table == "device_telemetry").unwrap();
    assert_eq!(telemetry.source_rows, 2345, "{label}");
    assert_eq!(report.not_copied.len(), 1, "{label}");
}

/// A second run: nothing inserted, nothing copied, still verified.
fn assert_nothing_copied(report: &TransferReport, label: &str) {
    assert_eq!(report.rows_inserted(), 0, "{label}");
    assert!(report.tables.iter().all(|t| t.verified && t.target_rows_before == t.source_rows), "{label}");
    if let Some(objects) = &report.objects {
        assert_eq!((objects.copied, objects.verified), (0, objects.objects), "{label}");
    }
}

/// Values read back exactly, and new rows of identity tables get fresh ids.
async fn assert_values(store: &Store, label: &str) {
    let (value, blob): (f64, Vec<u8>) = (
        sqlx::query_scalar("SELECT value FROM alarms WHERE id = 'al-1'").fetch_one(store.db()).await.unwrap(),
        sqlx::query_scalar("SELECT logits FROM output_cache WHERE image_sha256 = 'ab12'")
            .fetch_one(store.db())
            .await
            .unwrap(),
    );
    assert_eq!((value, blob), (0.1, vec![0x00, 0xff, 0x10, 0xcd, 0xcd, 0xcd, 0xcd, 0x3d]), "{label}");
    let rate: Option<f64> =
        sqlx::query_scalar("SELECT rate_per_s FROM api_keys WHERE id = 'k_1'").fetch_one(store.db()).await.unwrap();
    assert_eq!(rate, None, "{label}");
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO model_activations (name, version, activated_at) VALUES ('x', 1, 'now') RETURNING id",
    )
    .fetch_one(store.db())
    .await
    .unwrap();
    assert_eq!(id, 8, "{label}: a new activation collides with the copied ids");
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO deployment_events (deployment_id, device_id, event, at) VALUES ('dep-1', 'pi-1', 'x', 'now') \
         RETURNING id",
    )
    .fetch_one(store.db())
    .await
    .unwrap();
    assert_eq!(id, 5, "{label}");
}

#[tokio::test]
async fn sqlite_to_sqlite_to_postgres_and_back() {
    let (src_dir, dst_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let source = filled_sqlite(src_dir.path()).await;
    let target = Store::open(dst_dir.path()).await.unwrap();

    let first = copy_store(&source, &target, true).await.unwrap();
    assert_first_copy(&first, "sqlite");
    let objects = first.objects.as_ref().unwrap();
    assert_eq!((objects.objects, objects.copied, objects.verified), (3, 3, 3));
    assert_eq!(objects.bytes, 3_000_000 + 9);
    assert_eq!(target.objects().get("models/aa.onnx").await.unwrap().len(), 3_000_000);
    let again = copy_store(&source, &target, true).await.unwrap();
    assert_nothing_copied(&again, "sqlite again");
    assert_eq!(hashes(&again), hashes(&first));
    let replicas: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM gateway_replicas").fetch_one(target.db()).await.unwrap();
    assert_eq!(replicas, 0, "gateway_replicas is not copied");
    assert_values(&target, "sqlite").await;

    let Some(db) = TestDatabase::create().await else { return };
    let pg_dir = tempfile::tempdir().unwrap();
    let location = StoreLocation {
        data_dir: pg_dir.path().to_path_buf(),
        database_url: Some(db.url().to_string()),
        object_store: None,
    };
    let postgres = Store::open_at(&location).await.unwrap();
    let to_pg = copy_store(&source, &postgres, false).await.unwrap();
    assert_first_copy(&to_pg, "postgres");
    assert!(to_pg.objects.is_none());
    assert_eq!(hashes(&to_pg), hashes(&first), "PostgreSQL holds other content than SQLite");
    assert_nothing_copied(&copy_store(&source, &postgres, false).await.unwrap(), "postgres again");

    // Back from PostgreSQL into a fresh SQLite file: the same content, read from PostgreSQL.
    let back_dir = tempfile::tempdir().unwrap();
    let back = Store::open(back_dir.path()).await.unwrap();
    let from_pg = copy_store(&postgres, &back, false).await.unwrap();
    assert_first_copy(&from_pg, "back from postgres");
    assert_eq!(hashes(&from_pg), hashes(&first));
    assert_values(&postgres, "postgres").await;
    assert_values(&back, "back from postgres").await;
}

#[tokio::test]
async fn a_target_row_that_differs_is_an_error_naming_its_table() {
    let (src_dir, dst_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let source = filled_sqlite(src_dir.path()).await;
    let target = Store::open(dst_dir.path()).await.unwrap();
    target
        .db()
        .execute("INSERT INTO alarms VALUES ('al-1', 'latency_p95', 'then', NULL, 0.1, 500.0, 'other', NULL)")
        .await
        .unwrap();
    target.objects().put("images/ab/ab12", Bytes::from_static(b"other bytes")).await.unwrap();
    let err = copy_store(&source, &target, true).await.unwrap_err().to_string();
    assert!(err.contains("table alarms") && err.contains("already had 1 rows"), "{err}");
    assert!(!err.contains("table inferences"), "{err}");
    assert!(err.contains("1 objects differ") && err.contains("images/ab/ab12"), "{err}");
}

#[tokio::test]
async fn every_table_and_column_of_the_schema_is_covered() {
    for backend in crate::testing::each_backend().await {
        check_schema(&backend.store).await.unwrap_or_else(|e| panic!("{}: {e}", backend.label));
        let tables = schema_tables(&backend.store).await.unwrap();
        for (name, _) in NOT_COPIED {
            assert!(tables.iter().any(|t| t == name), "{}: NOT_COPIED names {name}, not in the schema", backend.label);
        }
        // A table or a column that a later migration adds is noticed.
        backend.store.db().execute("CREATE TABLE extra_table (id TEXT PRIMARY KEY)").await.unwrap();
        backend.store.db().execute("ALTER TABLE devices ADD COLUMN extra_column TEXT").await.unwrap();
        let err = check_schema(&backend.store).await.unwrap_err().to_string();
        assert!(err.contains("table extra_table") && err.contains("devices.extra_column"), "{err}");
    }
    // Parents are copied before the tables that refer to them.
    let position = |name: &str| TABLES.iter().position(|t| t.name == name).unwrap();
    assert!(position("devices") < position("deployments") && position("deployments") < position("deployment_events"));
    let mut names: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), TABLES.len());
}

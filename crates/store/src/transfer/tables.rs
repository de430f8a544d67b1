//! What is copied: every table, its columns with their types, and its primary key.

use serde::Serialize;

/// How a column stores its values, which decides how they are read, bound and hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    /// `TEXT`: a `String`.
    Text,
    /// `INTEGER` (SQLite) / `BIGINT` (PostgreSQL): an `i64`.
    Integer,
    /// `REAL` (SQLite) / `DOUBLE PRECISION` (PostgreSQL): an `f64`.
    Real,
    /// `BLOB` (SQLite) / `BYTEA` (PostgreSQL): bytes.
    Blob,
}

/// One table [`copy_store`] copies: its columns with their types and its primary key.
#[derive(Debug)]
pub struct Table {
    /// The table's name.
    pub name: &'static str,
    /// Every column, with its type.
    pub columns: &'static [(&'static str, ColumnType)],
    /// The primary key's columns (the order rows are read in).
    pub key: &'static [&'static str],
    /// The identity (`AUTOINCREMENT`) column, whose PostgreSQL sequence is moved past the copied ids.
    pub identity: Option<&'static str>,
}

use ColumnType::{Blob, Integer, Real, Text};

/// Every table that is copied, parents before the tables that refer to them. A table added
/// by a migration goes here (or in [`NOT_COPIED`]); [`check_schema`] refuses to copy a store
/// whose schema has a table or column this list does not know.
pub const TABLES: &[Table] = &[
    Table {
        name: "models",
        columns: &[
            ("name", Text),
            ("version", Integer),
            ("sha256", Text),
            ("artifact_path", Text),
            ("size_bytes", Integer),
            ("task", Text),
            ("preprocess", Text),
            ("labels", Text),
            ("signature", Text),
            ("source", Text),
            ("active", Integer),
            ("created_at", Text),
        ],
        key: &["name", "version"],
        identity: None,
    },
    Table {
        name: "model_activations",
        columns: &[
            ("id", Integer),
            ("name", Text),
            ("version", Integer),
            ("activated_at", Text),
            ("rolled_back", Integer),
        ],
        key: &["id"],
        identity: Some("id"),
    },
    Table {
        name: "inferences",
        columns: &[
            ("id", Text),
            ("created_at", Text),
            ("model", Text),
            ("version", Integer),
            ("label", Text),
            ("confidence", Real),
            ("in_domain", Integer),
            ("cached", Integer),
            ("timings", Text),
            ("answer", Text),
            ("image_sha256", Text),
            ("object_key", Text),
            ("content_type", Text),
            ("size_bytes", Integer),
            ("client_id", Text),
            ("total_ms", Real),
            ("cost_usd", Real),
        ],
        key: &["id"],
        identity: None,
    },
    Table {
        name: "output_cache",
        columns: &[
            ("image_sha256", Text),
            ("model", Text),
            ("version", Integer),
            ("logits", Blob),
            ("created_at", Text),
        ],
        key: &["image_sha256", "model", "version"],
        identity: None,
    },
    Table {
        name: "alarms",
        columns: &[
            ("id", Text),
            ("kind", Text),
            ("raised_at", Text),
            ("cleared_at", Text),
            ("value", Real),
            ("threshold", Real),
            ("message", Text),
            ("replica", Text),
        ],
        key: &["id"],
        identity: None,
    },
    Table {
        name: "api_keys",
        columns: &[
            ("id", Text),
            ("name", Text),
            ("role", Text),
            ("token_sha256", Text),
            ("rate_per_s", Real),
            ("burst", Integer),
            ("created_at", Text),
            ("last_used_at", Text),
            ("revoked_at", Text),
        ],
        key: &["id"],
        identity: None,
    },
    Table {
        name: "invocations",
        columns: &[
            ("id", Text),
            ("function", Text),
            ("platform", Text),
            ("backend", Text),
            ("status", Integer),
            ("outcome", Text),
            ("latency_ms", Real),
            ("exec_ms", Real),
            ("cold_start", Integer),
            ("cost_usd", Real),
            ("fallback", Integer),
            ("payload_bytes", Integer),
            ("error", Text),
            ("created_at", Text),
        ],
        key: &["id"],
        identity: None,
    },
    Table {
        name: "devices",
        columns: &[
            ("id", Text),
            ("device_type", Text),
            ("token_sha256", Text),
            ("agent_url", Text),
            ("created_at", Text),
            ("last_heartbeat_at", Text),
            ("last_status", Text),
            ("inference_desired", Text),
            ("inference_run", Integer),
            ("inference_iterations", Integer),
            ("revoked_at", Text),
        ],
        key: &["id"],
        identity: None,
    },
    Table {
        name: "deployments",
        columns: &[
            ("id", Text),
            ("device_id", Text),
            ("model", Text),
            ("version", Integer),
            ("sha256", Text),
            ("energy_budget_mwh", Real),
            ("predicted_energy_mwh", Real),
            ("prediction_source", Text),
            ("state", Text),
            ("message", Text),
            ("created_at", Text),
            ("updated_at", Text),
        ],
        key: &["id"],
        identity: None,
    },
    Table {
        name: "deployment_events",
        columns: &[
            ("id", Integer),
            ("deployment_id", Text),
            ("device_id", Text),
            ("event", Text),
            ("detail", Text),
            ("at", Text),
        ],
        key: &["id"],
        identity: Some("id"),
    },
    Table {
        name: "device_telemetry",
        columns: &[("device_id", Text), ("seq", Integer), ("at", Text), ("received_at", Text), ("sample", Text)],
        key: &["device_id", "seq"],
        identity: None,
    },
];

/// Tables deliberately left behind, with why (they describe the source's running processes,
/// not data).
pub const NOT_COPIED: &[(&str, &str)] =
    &[("gateway_replicas", "which gateway replicas are alive now; the target's replicas register themselves")];

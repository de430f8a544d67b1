//! The check that [`super::TABLES`] covers every table and column of the live schema.

use super::tables::{ColumnType, NOT_COPIED, TABLES};
use crate::{Dialect, Store, StoreError};
use sqlx::Row;
use std::collections::HashMap;

/// Fails unless every table of `store`'s schema is in [`TABLES`] or [`NOT_COPIED`] with the
/// same columns and column types, so that nothing a newer migration added is left behind silently.
pub async fn check_schema(store: &Store) -> Result<(), StoreError> {
    let columns = schema_columns(store).await?;
    let mut problems = Vec::new();
    let mut by_table: HashMap<&str, Vec<(&str, &str)>> = HashMap::new();
    for (table, column, ty) in &columns {
        by_table.entry(table.as_str()).or_default().push((column.as_str(), ty.as_str()));
    }
    let mut names: Vec<&str> = by_table.keys().copied().collect();
    names.sort();
    for name in names {
        if NOT_COPIED.iter().any(|(t, _)| *t == name) {
            continue;
        }
        let Some(spec) = TABLES.iter().find(|t| t.name == name) else {
            problems.push(format!("table {name} is not in transfer::TABLES"));
            continue;
        };
        for (column, ty) in &by_table[name] {
            match spec.columns.iter().find(|(c, _)| c == column) {
                None => problems.push(format!("column {name}.{column} ({ty}) is not in transfer::TABLES")),
                Some((_, want)) if column_type(ty) != Some(*want) => {
                    problems.push(format!("column {name}.{column} is {ty} but transfer::TABLES says {want:?}"))
                }
                Some(_) => {}
            }
        }
        for (column, _) in spec.columns {
            if !by_table[name].iter().any(|(c, _)| c == column) {
                problems.push(format!("transfer::TABLES lists {name}.{column}, which the schema does not have"));
            }
        }
    }
    for spec in TABLES {
        if !by_table.contains_key(spec.name) {
            problems.push(format!("transfer::TABLES lists table {}, which the schema does not have", spec.name));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Config(format!(
            "this build cannot copy the store's schema ({}); update infergate_store::transfer::TABLES",
            problems.join("; ")
        )))
    }
}

/// `(table, column, declared type)` of every column of every table in `store`'s schema
/// (sqlx's own bookkeeping excepted).
async fn schema_columns(store: &Store) -> Result<Vec<(String, String, String)>, StoreError> {
    let sql = match store.dialect() {
        Dialect::Sqlite => {
            "SELECT m.name AS t, p.name AS c, p.type AS ty FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND m.name <> '_sqlx_migrations' \
             ORDER BY m.name, p.cid"
        }
        Dialect::Postgres => {
            "SELECT CAST(table_name AS TEXT) AS t, CAST(column_name AS TEXT) AS c, CAST(data_type AS TEXT) AS ty \
             FROM information_schema.columns WHERE table_schema = current_schema() \
             AND table_name <> '_sqlx_migrations' ORDER BY table_name, ordinal_position"
        }
    };
    let rows = sqlx::query(sql).fetch_all(store.db()).await?;
    rows.iter().map(|r| Ok((r.try_get("t")?, r.try_get("c")?, r.try_get("ty")?))).collect()
}

/// The names of the tables in `store`'s schema.
pub(super) async fn schema_tables(store: &Store) -> Result<Vec<String>, StoreError> {
    let mut names: Vec<String> = schema_columns(store).await?.into_iter().map(|(t, _, _)| t).collect();
    names.dedup();
    Ok(names)
}

/// The [`ColumnType`] of a declared SQLite or PostgreSQL column type, if it is one of them.
fn column_type(declared: &str) -> Option<ColumnType> {
    match declared.to_ascii_lowercase().as_str() {
        "text" => Some(ColumnType::Text),
        "integer" | "bigint" => Some(ColumnType::Integer),
        "real" | "double precision" => Some(ColumnType::Real),
        "blob" | "bytea" => Some(ColumnType::Blob),
        _ => None,
    }
}

//! Rows as typed values: reading them, binding them in batched inserts, hashing them.

use super::tables::{ColumnType, Table};
use super::{CHUNK_ROWS, PAGE_ROWS};
use crate::{Store, StoreError};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, Row};
use std::collections::HashMap;
use ColumnType::{Blob, Integer, Real, Text};

/// One value read from a row, typed by its column.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Value {
    Null,
    Text(String),
    Integer(i64),
    Real(f64),
    Blob(Vec<u8>),
}

impl Value {
    /// Appends an unambiguous encoding of the value (a tag, then a length where needed, then
    /// the bytes; floats by their bits, so that 0.1 compares exactly) to `out`.
    pub(super) fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Value::Null => out.push(b'N'),
            Value::Text(s) => {
                out.push(b'T');
                out.extend_from_slice(&(s.len() as u64).to_le_bytes());
                out.extend_from_slice(s.as_bytes());
            }
            Value::Integer(i) => {
                out.push(b'I');
                out.extend_from_slice(&i.to_le_bytes());
            }
            Value::Real(f) => {
                out.push(b'R');
                out.extend_from_slice(&f.to_bits().to_le_bytes());
            }
            Value::Blob(b) => {
                out.push(b'B');
                out.extend_from_slice(&(b.len() as u64).to_le_bytes());
                out.extend_from_slice(b);
            }
        }
    }
}

/// Reads column `i` of `row` as `ty`.
pub(super) fn read_value(row: &AnyRow, i: usize, ty: ColumnType) -> Result<Value, sqlx::Error> {
    Ok(match ty {
        Text => row.try_get::<Option<String>, _>(i)?.map_or(Value::Null, Value::Text),
        Integer => row.try_get::<Option<i64>, _>(i)?.map_or(Value::Null, Value::Integer),
        Real => match row.try_get::<Option<f64>, _>(i) {
            Ok(v) => v.map_or(Value::Null, Value::Real),
            // A SQLite value stored without REAL affinity comes back as an integer.
            Err(e) => match row.try_get::<Option<i64>, _>(i) {
                Ok(v) => v.map_or(Value::Null, |v| Value::Real(v as f64)),
                Err(_) => return Err(e),
            },
        },
        Blob => row.try_get::<Option<Vec<u8>>, _>(i)?.map_or(Value::Null, Value::Blob),
    })
}

/// Binds `value` as a `ty` column (a NULL with that column's type).
pub(super) fn bind<'q>(
    query: sqlx::query::Query<'q, Any, AnyArguments<'q>>,
    value: &'q Value,
    ty: ColumnType,
) -> sqlx::query::Query<'q, Any, AnyArguments<'q>> {
    match (value, ty) {
        (Value::Null, Text) => query.bind(None::<String>),
        (Value::Null, Integer) => query.bind(None::<i64>),
        (Value::Null, Real) => query.bind(None::<f64>),
        (Value::Null, Blob) => query.bind(None::<Vec<u8>>),
        (Value::Text(s), _) => query.bind(s.as_str()),
        (Value::Integer(i), _) => query.bind(*i),
        (Value::Real(f), _) => query.bind(*f),
        (Value::Blob(b), _) => query.bind(b.as_slice()),
    }
}

/// `"a", "b"`: quoted identifiers.
pub(super) fn idents(names: impl IntoIterator<Item = &'static str>) -> String {
    names.into_iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ")
}

/// `($1, $2), ($3, $4)`: `rows` groups of `width` numbered parameters.
pub(super) fn placeholders(rows: usize, width: usize) -> String {
    (0..rows).map(|r| format!("({})", crate::numbered_params(r * width + 1, width))).collect::<Vec<_>>().join(", ")
}

/// A table's SQL and where its key columns are among its columns.
pub(super) struct Plan {
    table: &'static Table,
    columns: String,
    keys: String,
    key_index: Vec<usize>,
}

impl Plan {
    pub(super) fn new(table: &'static Table) -> Plan {
        let key_index = table
            .key
            .iter()
            .map(|k| table.columns.iter().position(|(c, _)| c == k).expect("a key column is a column"))
            .collect();
        Plan {
            table,
            columns: idents(table.columns.iter().map(|(c, _)| *c)),
            keys: idents(table.key.iter().copied()),
            key_index,
        }
    }

    pub(super) fn key_types(&self) -> impl Iterator<Item = ColumnType> + '_ {
        self.key_index.iter().map(|&i| self.table.columns[i].1)
    }

    /// The encoded primary key of `row`.
    pub(super) fn key_of(&self, row: &[Value]) -> Vec<u8> {
        let mut out = Vec::new();
        for &i in &self.key_index {
            row[i].encode(&mut out);
        }
        out
    }

    /// `(a, b)` or `a`: the key as one SQL expression.
    pub(super) fn key_expr(&self) -> String {
        if self.key_index.len() == 1 {
            self.keys.clone()
        } else {
            format!("({})", self.keys)
        }
    }

    pub(super) fn decode(&self, row: &AnyRow) -> Result<Vec<Value>, StoreError> {
        self.table
            .columns
            .iter()
            .enumerate()
            .map(|(i, (column, ty))| {
                read_value(row, i, *ty)
                    .map_err(|e| StoreError::Corrupt(format!("cannot read {}.{column}: {e}", self.table.name)))
            })
            .collect()
    }

    /// The next page of `store`'s rows after the key of `after` (from the start without one).
    pub(super) async fn page(&self, store: &Store, after: Option<&[Value]>) -> Result<Vec<Vec<Value>>, StoreError> {
        let name = self.table.name;
        let rows = match after {
            None => {
                let sql = format!("SELECT {} FROM \"{name}\" ORDER BY {} LIMIT {PAGE_ROWS}", self.columns, self.keys);
                sqlx::query(&sql).fetch_all(store.db()).await?
            }
            Some(last) => {
                let width = self.key_index.len();
                let bound = if width == 1 { "$1".to_string() } else { placeholders(1, width) };
                let sql = format!(
                    "SELECT {} FROM \"{name}\" WHERE {} > {bound} ORDER BY {} LIMIT {PAGE_ROWS}",
                    self.columns,
                    self.key_expr(),
                    self.keys
                );
                let mut query = sqlx::query(&sql);
                for (&i, ty) in self.key_index.iter().zip(self.key_types()) {
                    query = bind(query, &last[i], ty);
                }
                query.fetch_all(store.db()).await?
            }
        };
        rows.iter().map(|r| self.decode(r)).collect()
    }

    /// Inserts `rows` into `store`, skipping those whose key (or another unique column) is
    /// there already; returns how many went in.
    pub(super) async fn insert(&self, store: &Store, rows: &[Vec<Value>]) -> Result<u64, StoreError> {
        let width = self.table.columns.len();
        let mut inserted = 0;
        let mut tx = store.write_tx().await?;
        for chunk in rows.chunks(CHUNK_ROWS) {
            let sql = format!(
                "INSERT INTO \"{}\" ({}) VALUES {} ON CONFLICT DO NOTHING",
                self.table.name,
                self.columns,
                placeholders(chunk.len(), width)
            );
            let mut query = sqlx::query(&sql);
            for row in chunk {
                for (value, (_, ty)) in row.iter().zip(self.table.columns) {
                    query = bind(query, value, *ty);
                }
            }
            inserted += query.execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(inserted)
    }

    /// The rows of `store` with the keys of `rows`, by encoded key.
    pub(super) async fn lookup(
        &self,
        store: &Store,
        rows: &[Vec<Value>],
    ) -> Result<HashMap<Vec<u8>, Vec<Value>>, StoreError> {
        let width = self.key_index.len();
        let mut found = HashMap::with_capacity(rows.len());
        for chunk in rows.chunks(CHUNK_ROWS) {
            let list = if width == 1 {
                (1..=chunk.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
            } else {
                format!("VALUES {}", placeholders(chunk.len(), width))
            };
            let sql =
                format!("SELECT {} FROM \"{}\" WHERE {} IN ({list})", self.columns, self.table.name, self.key_expr());
            let mut query = sqlx::query(&sql);
            for row in chunk {
                for (&i, ty) in self.key_index.iter().zip(self.key_types()) {
                    query = bind(query, &row[i], ty);
                }
            }
            for row in query.fetch_all(store.db()).await? {
                let values = self.decode(&row)?;
                found.insert(self.key_of(&values), values);
            }
        }
        Ok(found)
    }
}

//! Trace readers. Every reader returns what it could read plus a [`ReadReport`] saying how
//! many rows it skipped and why — a malformed row is never dropped silently.
//!
//! - [`azure2019`]: Azure Functions 2019 — per-minute invocation counts per function, and
//!   per-function duration and per-app memory percentiles.
//! - [`azure2021`]: Azure Functions 2021 — one row per invocation.
//! - [`coldstart`]: measured AWS Lambda cold starts per runtime.

pub mod azure2019;
pub mod azure2021;
pub mod coldstart;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Why a whole trace file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A column every row needs is missing from the header.
    #[error("{path}: the header has no {column:?} column (is this the right file?)")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
    },
    /// The file is not in the expected format at all.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// How many rows a reader read and skipped, and why.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadReport {
    /// Rows turned into records.
    pub read: usize,
    /// Rows skipped, by reason.
    pub skipped: BTreeMap<String, usize>,
    /// The first few skipped rows: line number and reason.
    pub examples: Vec<(u64, String)>,
}

impl ReadReport {
    /// Total rows skipped.
    pub fn skipped_total(&self) -> usize {
        self.skipped.values().sum()
    }

    /// Records that row `line` was skipped because of `reason`.
    pub fn skip(&mut self, line: u64, reason: impl Into<String>) {
        let reason = reason.into();
        if self.examples.len() < 5 {
            self.examples.push((line, reason.clone()));
        }
        *self.skipped.entry(reason).or_default() += 1;
    }
}

impl fmt::Display for ReadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} rows read, {} skipped", self.read, self.skipped_total())?;
        for (reason, n) in &self.skipped {
            write!(f, "; {n} × {reason}")?;
        }
        Ok(())
    }
}

/// A CSV file opened with its header, columns found by name.
pub(crate) struct Table {
    pub path: PathBuf,
    pub header: Vec<String>,
    pub reader: csv::Reader<std::fs::File>,
}

impl Table {
    pub fn open(path: &Path) -> Result<Table, TraceError> {
        let io = |e: &dyn fmt::Display| TraceError::Io { path: path.to_path_buf(), message: e.to_string() };
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_path(path).map_err(|e| io(&e))?;
        let header = reader.headers().map_err(|e| io(&e))?.iter().map(|h| h.trim().to_string()).collect();
        Ok(Table { path: path.to_path_buf(), header, reader })
    }

    /// The index of `column`, which every row needs.
    pub fn column(&self, column: &str) -> Result<usize, TraceError> {
        self.find(column)
            .ok_or_else(|| TraceError::MissingColumn { path: self.path.clone(), column: column.to_string() })
    }

    /// The index of `column`, if present.
    pub fn find(&self, column: &str) -> Option<usize> {
        self.header.iter().position(|h| h == column)
    }

    /// Every row turned into a record by `parse`; rows the CSV parser rejects or `parse`
    /// refuses (its `Err` is the reason) are skipped and counted.
    pub fn read_all<T>(&mut self, parse: impl Fn(&csv::StringRecord) -> Result<T, String>) -> (Vec<T>, ReadReport) {
        let mut report = ReadReport::default();
        let mut out = Vec::new();
        for (i, row) in self.reader.records().enumerate() {
            let line = i as u64 + 2;
            let parsed = match row {
                Ok(r) => parse(&r).map_err(|reason| (r.position().map_or(line, |p| p.line()), reason)),
                Err(e) => Err((line, format!("unreadable row ({})", first_words(&e.to_string())))),
            };
            match parsed {
                Ok(record) => {
                    report.read += 1;
                    out.push(record);
                }
                Err((line, reason)) => report.skip(line, reason),
            }
        }
        (out, report)
    }
}

fn first_words(s: &str) -> String {
    s.split_whitespace().take(6).collect::<Vec<_>>().join(" ")
}

/// A field that must be present and non-empty.
pub(crate) fn text<'r>(row: &'r csv::StringRecord, index: usize, name: &str) -> Result<&'r str, String> {
    match row.get(index).map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(format!("missing {name}")),
    }
}

/// A field that must be a finite, non-negative number.
pub(crate) fn number(row: &csv::StringRecord, index: usize, name: &str) -> Result<f64, String> {
    let raw = text(row, index, name)?;
    match raw.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        Ok(_) => Err(format!("negative or infinite {name}")),
        Err(_) => Err(format!("non-numeric {name}")),
    }
}
